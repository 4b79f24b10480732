/*
 * evstream.h - AWS event-stream frames (application/vnd.amazon.eventstream,
 * spec/eventstream.md): an encoder that appends one complete frame to a
 * struct buf, and an incremental decoder that takes a byte stream in
 * pieces of any size and hands each verified frame to a callback.
 *
 * A frame is: total length, headers length (both uint32 big-endian),
 * prelude CRC, headers, payload, message CRC (CRC-32 as zlib computes it,
 * over everything before it). Limits are the strictest the SDKs apply
 * (spec section 2): a frame this encoder writes is read by botocore, the
 * JS SDK v3 and aws-c-event-stream alike.
 */
#ifndef KAERI_EVSTREAM_H
#define KAERI_EVSTREAM_H

#include "buf.h"
#include "kaeri.h"

#include <stddef.h>
#include <stdint.h>

#define EVSTREAM_CONTENT_TYPE  "application/vnd.amazon.eventstream"
#define EVSTREAM_PRELUDE_LEN   12 /* two lengths and the prelude CRC */
#define EVSTREAM_MIN_FRAME_LEN 16 /* prelude + message CRC, nothing else */
#define EVSTREAM_MAX_NAME_LEN  255
/* aws-c-event-stream and Java cap byte arrays and strings at INT16_MAX */
#define EVSTREAM_MAX_VALUE_LEN   32767
#define EVSTREAM_MAX_HEADERS_LEN (128 * 1024)       /* botocore */
#define EVSTREAM_MAX_PAYLOAD_LEN (16 * 1024 * 1024) /* botocore */
#define EVSTREAM_MAX_FRAME_LEN                           \
    (EVSTREAM_MIN_FRAME_LEN + EVSTREAM_MAX_HEADERS_LEN + \
     EVSTREAM_MAX_PAYLOAD_LEN)
#define EVSTREAM_MAX_HEADERS 1024 /* per frame, aws-c-event-stream */
#define EVSTREAM_UUID_LEN    16

/* Header value types; the numbers are the type byte on the wire. */
enum evstream_type {
    EVSTREAM_BOOL_TRUE = 0, /* no value bytes: the type is the value */
    EVSTREAM_BOOL_FALSE = 1,
    EVSTREAM_BYTE = 2,      /* v.i8 */
    EVSTREAM_INT16 = 3,     /* v.i16 */
    EVSTREAM_INT32 = 4,     /* v.i32 */
    EVSTREAM_INT64 = 5,     /* v.i64 */
    EVSTREAM_BYTE_BUF = 6,  /* v.str: raw bytes */
    EVSTREAM_STRING = 7,    /* v.str: UTF-8 (not checked by this module) */
    EVSTREAM_TIMESTAMP = 8, /* v.i64: milliseconds since the Unix epoch */
    EVSTREAM_UUID = 9,      /* v.uuid */
};

/*
 * One header. The encoder reads 'name_len' bytes of 'name' and
 * 'v.str.len' bytes of 'v.str.p' (neither needs a NUL); it borrows them
 * for the call only. Headers the decoder fills point into the decoder:
 * 'name' and, for BYTE_BUF and STRING, 'v.str.p' are NUL-terminated
 * copies (the wire bytes may hold a NUL too, so trust the lengths), valid
 * until the frame callback returns.
 */
struct evstream_header {
    const char *name;
    size_t name_len; /* 1..EVSTREAM_MAX_NAME_LEN */
    enum evstream_type type;
    union {
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64; /* INT64 and TIMESTAMP */
        struct {
            const char *p;
            size_t len;
        } str; /* BYTE_BUF and STRING */
        uint8_t uuid[EVSTREAM_UUID_LEN];
    } v;
};

/*
 * A STRING header from two NUL-terminated strings (borrowed, not copied),
 * for the common case: evstream_header_string(":event-type", "chunk").
 */
struct evstream_header evstream_header_string(const char *name,
                                              const char *value);

/*
 * Append one complete frame to 'out': prelude, prelude CRC, the 'nh'
 * headers in the order given, 'len' bytes of 'payload' (NULL when 0),
 * message CRC. Nothing is borrowed past the call.
 *
 * KAERI_ERR_INVALID: a NULL name, a name of length 0, a type outside
 * enum evstream_type, a NULL value or payload with a non-zero length, or
 * a name given twice (botocore refuses duplicates). KAERI_ERR_LIMIT: a
 * name over EVSTREAM_MAX_NAME_LEN, a value over EVSTREAM_MAX_VALUE_LEN,
 * more than EVSTREAM_MAX_HEADERS headers, a headers section over
 * EVSTREAM_MAX_HEADERS_LEN, a payload over EVSTREAM_MAX_PAYLOAD_LEN, or
 * no room for the frame under out's ceiling. On failure 'out' is left as
 * it was.
 */
KAERI_MUST_CHECK enum kaeri_err evstream_encode(const struct evstream_header *h,
                                                size_t nh, const void *payload,
                                                size_t len, struct buf *out);

/*
 * The AWS event frame (spec section 3): headers ":event-type" =
 * 'event_type', ":content-type" = 'content_type' (left out when NULL;
 * AWS sends "application/json" with JSON payloads), ":message-type" =
 * "event", in that order, then the payload. Errors as evstream_encode().
 */
KAERI_MUST_CHECK enum kaeri_err
evstream_encode_event(const char *event_type, const char *content_type,
                      const void *payload, size_t len, struct buf *out);

/*
 * A modeled exception frame: ":exception-type" = 'exception_type' (the
 * union member name, e.g. "throttlingException"), ":content-type" =
 * "application/json", ":message-type" = "exception"; the payload is
 * 'json_body', the exception shape as JSON text, e.g.
 * {"message":"Rate exceeded"} (NUL-terminated, sent as is, not checked).
 * Errors as evstream_encode().
 */
KAERI_MUST_CHECK enum kaeri_err
evstream_encode_exception(const char *exception_type, const char *json_body,
                          struct buf *out);

/*
 * An unmodeled error frame: ":error-code", ":error-message" (the JS SDK
 * reads both unconditionally, so both are always sent), ":message-type" =
 * "error", empty payload. Errors as evstream_encode().
 */
KAERI_MUST_CHECK enum kaeri_err evstream_encode_error(const char *error_code,
                                                      const char *error_message,
                                                      struct buf *out);

/*
 * A decoded frame, lent to the callback: everything points into the
 * decoder or into the piece being decoded and is valid until the callback
 * returns. 'raw' is the whole frame as it came (prelude to message CRC),
 * for recording or relaying it unchanged.
 */
struct evstream_frame {
    const struct evstream_header *headers; /* in wire order */
    size_t nheaders;
    const void *payload;
    size_t payload_len;
    const void *raw;
    size_t raw_len;
};

/* Find the header called 'name' (NUL-terminated) in 'f'; NULL if absent. */
const struct evstream_header *
evstream_frame_header(const struct evstream_frame *f, const char *name);

/*
 * The value of STRING header 'name' in 'f' (NUL-terminated, borrowed as
 * the frame is), or NULL when it is absent or of another type.
 */
const char *evstream_frame_string(const struct evstream_frame *f,
                                  const char *name);

/*
 * Called once for each complete, verified frame. A non-zero return stops
 * the decoding: evstream_decode() returns that code and the decoder fails
 * for good. It must not call evstream_decode() on the same decoder.
 */
typedef enum kaeri_err evstream_frame_fn(const struct evstream_frame *f,
                                         void *ctx);

/*
 * Where the decoder stands in the byte stream: between frames or inside
 * one's prelude, inside its headers/payload/CRC once the prelude checked
 * out, or failed (a stream cannot resync after a bad frame).
 */
enum evstream_state {
    EVSTREAM_PRELUDE,
    EVSTREAM_BODY,
    EVSTREAM_FAILED,
};

/*
 * The incremental decoder; lives on the stack or inside a connection.
 * Memory is bounded by the frame limits: one frame (at most
 * EVSTREAM_MAX_FRAME_LEN) and its headers. 'state', 'frames' and 'offset'
 * may be read; the other fields are private.
 */
struct evstream_decoder {
    enum evstream_state state;
    uint8_t *frame;     /* the frame being gathered, owned */
    size_t frame_cap;   /* bytes allocated at 'frame' */
    size_t have;        /* bytes of it gathered so far */
    uint32_t total_len; /* its total length, once the prelude checked out */
    struct evstream_header *headers; /* headers of the frame lent out, owned */
    size_t headers_cap;
    char *text; /* their NUL-terminated names and values, owned */
    size_t text_cap;
    uint64_t frames;          /* frames delivered */
    uint64_t offset;          /* stream offset of the frame being gathered */
    enum kaeri_err rc;        /* the failure, once EVSTREAM_FAILED */
    struct kaeri_error error; /* its text, repeated on later calls */
};

void evstream_decoder_init(struct evstream_decoder *d);
/* Free what the decoder holds; init makes it usable again. */
void evstream_decoder_release(struct evstream_decoder *d);

/*
 * Feed the next 'len' bytes of the stream. Each frame completed by them
 * (a frame may span any number of calls, a call may end any number of
 * frames) is checked and given to 'cb' (which may be NULL, to check
 * only), in order. Returns KAERI_OK when every byte was taken, the bytes
 * of an unfinished frame being kept for the next call.
 *
 * KAERI_ERR_INVALID, with 'err' (may be NULL) naming the frame, its byte
 * offset in the stream and the fault: prelude CRC mismatch, total length
 * under 16 or over the maximum, headers length over total - 16 or over
 * EVSTREAM_MAX_HEADERS_LEN, payload over EVSTREAM_MAX_PAYLOAD_LEN,
 * message CRC mismatch, and in the headers section: name length 0,
 * unknown value type, a header truncated by the section's end, a
 * duplicate name, more than EVSTREAM_MAX_HEADERS headers. String and byte
 * values up to 65535 bytes (the wire's limit) are accepted. The CRCs are
 * checked before anything they cover is trusted. After any failure,
 * including a callback's, the decoder stays failed: every later call
 * returns KAERI_ERR_INVALID (or the callback's code) with the same text.
 */
KAERI_MUST_CHECK enum kaeri_err
evstream_decode(struct evstream_decoder *d, const void *p, size_t len,
                evstream_frame_fn *cb, void *ctx, struct kaeri_error *err);

/*
 * The stream has ended: KAERI_OK when it ended between frames,
 * KAERI_ERR_INVALID "truncated frame" when part of a frame is pending,
 * or the earlier failure. 'err' may be NULL.
 */
KAERI_MUST_CHECK enum kaeri_err
evstream_decoder_finish(const struct evstream_decoder *d,
                        struct kaeri_error *err);

#endif

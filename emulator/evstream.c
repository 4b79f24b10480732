/*
 * evstream.c - AWS event-stream frames (spec/eventstream.md): the encoder
 * Bedrock's streaming answers are written with, and the incremental
 * decoder the tests and tools/evdump read them back with.
 *
 * A pure codec: bytes in, bytes or callbacks out; no sockets, no logging,
 * no globals. CRC-32 is zlib's crc32() (CRC-32/ISO-HDLC, spec section 1,
 * not CRC-32C). Left out on purpose: checking that STRING values are
 * UTF-8 (no SDK does), and any attempt to resync a stream after a bad
 * frame (a length cannot be trusted once a CRC failed).
 */
#include "evstream.h"
#include "alloc.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/*
 * spec/eventstream.md section 2: bytes of each value type on the wire, by
 * type byte; -1 for a uint16 length followed by that many bytes.
 */
static const int value_size[] = {
    [EVSTREAM_BOOL_TRUE] = 0, [EVSTREAM_BOOL_FALSE] = 0,
    [EVSTREAM_BYTE] = 1,      [EVSTREAM_INT16] = 2,
    [EVSTREAM_INT32] = 4,     [EVSTREAM_INT64] = 8,
    [EVSTREAM_BYTE_BUF] = -1, [EVSTREAM_STRING] = -1,
    [EVSTREAM_TIMESTAMP] = 8, [EVSTREAM_UUID] = EVSTREAM_UUID_LEN,
};

/* A frame buffer bigger than this is given back after its frame. */
#define KEEP_FRAME_CAP (1024 * 1024)

static uint32_t crc(const uint8_t *p, size_t n)
{
    /* n <= EVSTREAM_MAX_FRAME_LEN, well inside zlib's uInt */
    return (uint32_t)crc32(0L, p, (uInt)n);
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    while (n--) {
        p[n] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The two's complement value of an n-byte big-endian field, portably. */
static int64_t get_signed(const uint8_t *p, size_t n)
{
    uint64_t u = get_be(p, n), sign = (uint64_t)1 << (8 * n - 1);

    if (!(u & sign))
        return (int64_t)u;
    if (n == 8)
        return (int64_t)(u - sign) + INT64_MIN;
    return (int64_t)(u - sign) - (int64_t)sign;
}

/* ---- encoder ------------------------------------------------------------ */

struct evstream_header evstream_header_string(const char *name,
                                              const char *value)
{
    struct evstream_header h;

    memset(&h, 0, sizeof(h));
    h.name = name;
    h.name_len = strlen(name);
    h.type = EVSTREAM_STRING;
    h.v.str.p = value;
    h.v.str.len = strlen(value);
    return h;
}

static enum kaeri_err check_header(const struct evstream_header *h)
{
    if (!h->name || !h->name_len)
        return KAERI_ERR_INVALID;
    if (h->name_len > EVSTREAM_MAX_NAME_LEN)
        return KAERI_ERR_LIMIT;
    if ((unsigned)h->type >= ARRAY_SIZE(value_size))
        return KAERI_ERR_INVALID;
    if (value_size[h->type] < 0) {
        if (h->v.str.len > EVSTREAM_MAX_VALUE_LEN)
            return KAERI_ERR_LIMIT;
        if (h->v.str.len && !h->v.str.p)
            return KAERI_ERR_INVALID;
    }
    return KAERI_OK;
}

/* Bytes 'h' takes on the wire; 'h' has passed check_header(). */
static size_t header_size(const struct evstream_header *h)
{
    int vs = value_size[h->type];

    return 1 + h->name_len + 1 + (vs < 0 ? 2 + h->v.str.len : (size_t)vs);
}

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && !memcmp(a, b, alen);
}

/* Append to a buffer whose room evstream_encode() has already checked. */
static void add(struct buf *out, const void *p, size_t n)
{
    enum kaeri_err rc = buf_add(out, p, n);

    assert(rc == KAERI_OK);
    (void)rc;
}

static void add_header(struct buf *out, const struct evstream_header *h)
{
    uint8_t b[2 + EVSTREAM_UUID_LEN];

    b[0] = (uint8_t)h->name_len;
    add(out, b, 1);
    add(out, h->name, h->name_len);
    b[0] = (uint8_t)h->type;
    add(out, b, 1);
    switch (h->type) {
    case EVSTREAM_BOOL_TRUE:
    case EVSTREAM_BOOL_FALSE:
        break;
    case EVSTREAM_BYTE:
        b[0] = (uint8_t)h->v.i8;
        add(out, b, 1);
        break;
    case EVSTREAM_INT16:
        put_be(b, (uint16_t)h->v.i16, 2);
        add(out, b, 2);
        break;
    case EVSTREAM_INT32:
        put_be(b, (uint32_t)h->v.i32, 4);
        add(out, b, 4);
        break;
    case EVSTREAM_INT64:
    case EVSTREAM_TIMESTAMP:
        put_be(b, (uint64_t)h->v.i64, 8);
        add(out, b, 8);
        break;
    case EVSTREAM_BYTE_BUF:
    case EVSTREAM_STRING:
        put_be(b, h->v.str.len, 2);
        add(out, b, 2);
        add(out, h->v.str.p, h->v.str.len);
        break;
    case EVSTREAM_UUID:
        add(out, h->v.uuid, EVSTREAM_UUID_LEN);
        break;
    }
}

/*
 * Check everything first, then append: the frame goes in whole or not at
 * all, and the CRCs are computed over the bytes as they lie in 'out'.
 */
enum kaeri_err evstream_encode(const struct evstream_header *h, size_t nh,
                               const void *payload, size_t len, struct buf *out)
{
    uint8_t b[EVSTREAM_PRELUDE_LEN];
    size_t hlen = 0, total, start;
    enum kaeri_err rc;

    if (nh > EVSTREAM_MAX_HEADERS)
        return KAERI_ERR_LIMIT;
    if (nh && !h)
        return KAERI_ERR_INVALID;
    for (size_t i = 0; i < nh; i++) {
        rc = check_header(&h[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (same_name(h[i].name, h[i].name_len, h[j].name, h[j].name_len))
                return KAERI_ERR_INVALID;
        hlen += header_size(&h[i]);
    }
    if (hlen > EVSTREAM_MAX_HEADERS_LEN || len > EVSTREAM_MAX_PAYLOAD_LEN)
        return KAERI_ERR_LIMIT;
    if (len && !payload)
        return KAERI_ERR_INVALID;
    total = EVSTREAM_MIN_FRAME_LEN + hlen + len;
    if (total > out->max - out->len)
        return KAERI_ERR_LIMIT;

    /* spec/eventstream.md section 6: prelude, headers, payload, CRC */
    start = out->len;
    put_be(b, total, 4);
    put_be(b + 4, hlen, 4);
    put_be(b + 8, crc(b, 8), 4);
    add(out, b, EVSTREAM_PRELUDE_LEN);
    for (size_t i = 0; i < nh; i++)
        add_header(out, &h[i]);
    add(out, payload, len);
    put_be(b, crc((const uint8_t *)out->data + start, total - 4), 4);
    add(out, b, 4);
    assert(out->len - start == total);
    return KAERI_OK;
}

enum kaeri_err evstream_encode_event(const char *event_type,
                                     const char *content_type,
                                     const void *payload, size_t len,
                                     struct buf *out)
{
    struct evstream_header h[3];
    size_t n = 0;

    h[n++] = evstream_header_string(":event-type", event_type);
    if (content_type)
        h[n++] = evstream_header_string(":content-type", content_type);
    h[n++] = evstream_header_string(":message-type", "event");
    return evstream_encode(h, n, payload, len, out);
}

enum kaeri_err evstream_encode_exception(const char *exception_type,
                                         const char *json_body, struct buf *out)
{
    struct evstream_header h[3];

    h[0] = evstream_header_string(":exception-type", exception_type);
    h[1] = evstream_header_string(":content-type", "application/json");
    h[2] = evstream_header_string(":message-type", "exception");
    return evstream_encode(h, ARRAY_SIZE(h), json_body, strlen(json_body), out);
}

enum kaeri_err evstream_encode_error(const char *error_code,
                                     const char *error_message, struct buf *out)
{
    struct evstream_header h[3];

    h[0] = evstream_header_string(":error-code", error_code);
    h[1] = evstream_header_string(":error-message", error_message);
    h[2] = evstream_header_string(":message-type", "error");
    return evstream_encode(h, ARRAY_SIZE(h), NULL, 0, out);
}

/* ---- frames ------------------------------------------------------------- */

const struct evstream_header *
evstream_frame_header(const struct evstream_frame *f, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < f->nheaders; i++)
        if (same_name(f->headers[i].name, f->headers[i].name_len, name, n))
            return &f->headers[i];
    return NULL;
}

const char *evstream_frame_string(const struct evstream_frame *f,
                                  const char *name)
{
    const struct evstream_header *h = evstream_frame_header(f, name);

    return h && h->type == EVSTREAM_STRING ? h->v.str.p : NULL;
}

/* ---- decoder ------------------------------------------------------------ */

void evstream_decoder_init(struct evstream_decoder *d)
{
    memset(d, 0, sizeof(*d));
    d->state = EVSTREAM_PRELUDE;
}

void evstream_decoder_release(struct evstream_decoder *d)
{
    free(d->frame);
    free(d->headers);
    free(d->text);
    evstream_decoder_init(d);
}

/* Name the frame being gathered (counted from 1) and where it starts. */
static void where(const struct evstream_decoder *d, char *out, size_t size)
{
    snprintf(out, size, "frame %llu at byte %llu",
             (unsigned long long)d->frames + 1, (unsigned long long)d->offset);
}

/* Fail the decoder for good: remember 'rc' and the text. */
static enum kaeri_err fail(struct evstream_decoder *d, enum kaeri_err rc,
                           const char *fmt, ...) KAERI_PRINTF(3, 4);
static enum kaeri_err fail(struct evstream_decoder *d, enum kaeri_err rc,
                           const char *fmt, ...)
{
    va_list ap;

    where(d, d->error.where, sizeof(d->error.where));
    va_start(ap, fmt);
    vsnprintf(d->error.text, sizeof(d->error.text), fmt, ap);
    va_end(ap);
    d->state = EVSTREAM_FAILED;
    d->rc = rc;
    return rc;
}

/* A header name fit for an error text: printable ASCII, cut short. */
static const char *printable(char *out, size_t size, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && i + 4 < size; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (i < n) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/*
 * Check a prelude (spec section 1): its CRC before the lengths it covers,
 * then the lengths against the limits. Sets *total on success.
 */
static enum kaeri_err check_prelude(struct evstream_decoder *d,
                                    const uint8_t *pre, uint32_t *total)
{
    uint32_t t = (uint32_t)get_be(pre, 4), hlen = (uint32_t)get_be(pre + 4, 4);
    uint32_t want = (uint32_t)get_be(pre + 8, 4), got = crc(pre, 8);

    if (got != want)
        return fail(d, KAERI_ERR_INVALID,
                    "prelude crc mismatch: frame says 0x%08x, bytes give "
                    "0x%08x",
                    want, got);
    if (t < EVSTREAM_MIN_FRAME_LEN)
        return fail(d, KAERI_ERR_INVALID,
                    "total length %u under the minimum of %d", t,
                    EVSTREAM_MIN_FRAME_LEN);
    if (t > EVSTREAM_MAX_FRAME_LEN)
        return fail(d, KAERI_ERR_INVALID,
                    "total length %u over the maximum of %d", t,
                    EVSTREAM_MAX_FRAME_LEN);
    if (hlen > t - EVSTREAM_MIN_FRAME_LEN)
        return fail(d, KAERI_ERR_INVALID,
                    "headers length %u over total length %u - 16", hlen, t);
    if (hlen > EVSTREAM_MAX_HEADERS_LEN)
        return fail(d, KAERI_ERR_INVALID,
                    "headers length %u over the maximum of %d", hlen,
                    EVSTREAM_MAX_HEADERS_LEN);
    if (t - EVSTREAM_MIN_FRAME_LEN - hlen > EVSTREAM_MAX_PAYLOAD_LEN)
        return fail(
            d, KAERI_ERR_INVALID, "payload length %u over the maximum of %d",
            t - EVSTREAM_MIN_FRAME_LEN - hlen, EVSTREAM_MAX_PAYLOAD_LEN);
    *total = t;
    return KAERI_OK;
}

static void *grow_to(void *p, size_t *cap, size_t want, size_t size)
{
    if (*cap >= want)
        return p;
    *cap = want;
    return xrealloc(p, want * size);
}

/*
 * Parse the headers section 'p' ('hlen' bytes, already covered by a good
 * message CRC) into d->headers, names and string values copied with a NUL
 * into d->text. Each header's copies take no more bytes than the header
 * does on the wire, so 'hlen' bytes of text always suffice and no pointer
 * moves once set. Sets *n to the number of headers.
 */
static enum kaeri_err parse_headers(struct evstream_decoder *d,
                                    const uint8_t *p, size_t hlen, size_t *n)
{
    size_t pos = 0, used = 0, i = 0;
    char shown[48];

    d->text = grow_to(d->text, &d->text_cap, hlen + 1, 1);
    while (pos < hlen) {
        struct evstream_header *h;
        const char *name;
        size_t nlen, vlen;
        uint8_t type;

        if (i == EVSTREAM_MAX_HEADERS)
            return fail(d, KAERI_ERR_INVALID, "more than %d headers",
                        EVSTREAM_MAX_HEADERS);
        nlen = p[pos++];
        if (!nlen)
            return fail(d, KAERI_ERR_INVALID, "header %zu: name length 0",
                        i + 1);
        if (nlen + 1 > hlen - pos)
            return fail(d, KAERI_ERR_INVALID,
                        "header %zu: truncated by the end of the headers "
                        "section",
                        i + 1);
        name = (const char *)p + pos;
        pos += nlen;
        type = p[pos++];
        if (type >= ARRAY_SIZE(value_size))
            return fail(d, KAERI_ERR_INVALID,
                        "header %zu '%s': unknown value type %u", i + 1,
                        printable(shown, sizeof(shown), name, nlen), type);
        if (value_size[type] >= 0) {
            vlen = (size_t)value_size[type];
        } else if (hlen - pos < 2) {
            vlen = 2; /* the length itself is cut off */
        } else {
            vlen = (size_t)get_be(p + pos, 2);
            pos += 2;
        }
        if (vlen > hlen - pos)
            return fail(d, KAERI_ERR_INVALID,
                        "header %zu '%s': truncated by the end of the "
                        "headers section",
                        i + 1, printable(shown, sizeof(shown), name, nlen));
        for (size_t j = 0; j < i; j++)
            if (same_name(d->headers[j].name, d->headers[j].name_len, name,
                          nlen))
                return fail(d, KAERI_ERR_INVALID, "duplicate header '%s'",
                            printable(shown, sizeof(shown), name, nlen));

        if (i == d->headers_cap) {
            size_t cap = d->headers_cap ? 2 * d->headers_cap : 8;

            d->headers =
                grow_to(d->headers, &d->headers_cap, cap, sizeof(*d->headers));
        }
        h = &d->headers[i++];
        memset(h, 0, sizeof(*h));
        memcpy(d->text + used, name, nlen);
        d->text[used + nlen] = '\0';
        h->name = d->text + used;
        h->name_len = nlen;
        used += nlen + 1;
        h->type = (enum evstream_type)type;
        switch (h->type) {
        case EVSTREAM_BOOL_TRUE:
        case EVSTREAM_BOOL_FALSE:
            break;
        case EVSTREAM_BYTE:
            h->v.i8 = (int8_t)get_signed(p + pos, 1);
            break;
        case EVSTREAM_INT16:
            h->v.i16 = (int16_t)get_signed(p + pos, 2);
            break;
        case EVSTREAM_INT32:
            h->v.i32 = (int32_t)get_signed(p + pos, 4);
            break;
        case EVSTREAM_INT64:
        case EVSTREAM_TIMESTAMP:
            h->v.i64 = get_signed(p + pos, 8);
            break;
        case EVSTREAM_BYTE_BUF:
        case EVSTREAM_STRING:
            memcpy(d->text + used, p + pos, vlen);
            d->text[used + vlen] = '\0';
            h->v.str.p = d->text + used;
            h->v.str.len = vlen;
            used += vlen + 1;
            break;
        case EVSTREAM_UUID:
            memcpy(h->v.uuid, p + pos, EVSTREAM_UUID_LEN);
            break;
        }
        pos += vlen;
        assert(used <= pos);
    }
    *n = i;
    return KAERI_OK;
}

/*
 * Check the message CRC of the complete frame 'f' ('total' bytes, prelude
 * already checked), parse its headers and lend it to 'cb'.
 */
static enum kaeri_err deliver(struct evstream_decoder *d, const uint8_t *f,
                              uint32_t total, evstream_frame_fn *cb, void *ctx)
{
    uint32_t hlen = (uint32_t)get_be(f + 4, 4);
    uint32_t want = (uint32_t)get_be(f + total - 4, 4);
    uint32_t got = crc(f, total - 4);
    struct evstream_frame frame;
    enum kaeri_err rc;

    if (got != want)
        return fail(d, KAERI_ERR_INVALID,
                    "message crc mismatch: frame says 0x%08x, bytes give "
                    "0x%08x",
                    want, got);
    memset(&frame, 0, sizeof(frame));
    rc = parse_headers(d, f + EVSTREAM_PRELUDE_LEN, hlen, &frame.nheaders);
    if (rc)
        return rc;
    frame.headers = d->headers;
    frame.payload = f + EVSTREAM_PRELUDE_LEN + hlen;
    frame.payload_len = total - EVSTREAM_MIN_FRAME_LEN - hlen;
    frame.raw = f;
    frame.raw_len = total;
    if (cb) {
        rc = cb(&frame, ctx);
        if (rc)
            return fail(d, rc, "the frame callback stopped the stream (%s)",
                        kaeri_err_name(rc));
    }
    d->frames++;
    d->offset += total;
    return KAERI_OK;
}

/* Copy up to 'want' - d->have bytes of the input into the frame buffer. */
static void take(struct evstream_decoder *d, const uint8_t **p, size_t *len,
                 size_t want)
{
    size_t n = want - d->have < *len ? want - d->have : *len;

    memcpy(d->frame + d->have, *p, n);
    d->have += n;
    *p += n;
    *len -= n;
}

/*
 * One step of the state machine: consume what the current state needs
 * from the input. KAERI_ERR_AGAIN when the input ran out first.
 */
static enum kaeri_err step(struct evstream_decoder *d, const uint8_t **p,
                           size_t *len, evstream_frame_fn *cb, void *ctx)
{
    enum kaeri_err rc;
    uint32_t total;

    switch (d->state) {
    case EVSTREAM_PRELUDE:
        if (!d->have && *len >= EVSTREAM_PRELUDE_LEN) {
            /* the common case: a whole frame in the piece, used in place */
            rc = check_prelude(d, *p, &total);
            if (rc)
                return rc;
            if (*len >= total) {
                rc = deliver(d, *p, total, cb, ctx);
                *p += total;
                *len -= total;
                return rc;
            }
        }
        d->frame = grow_to(d->frame, &d->frame_cap, EVSTREAM_PRELUDE_LEN, 1);
        take(d, p, len, EVSTREAM_PRELUDE_LEN);
        if (d->have < EVSTREAM_PRELUDE_LEN)
            return KAERI_ERR_AGAIN;
        rc = check_prelude(d, d->frame, &d->total_len);
        if (rc)
            return rc;
        d->frame = grow_to(d->frame, &d->frame_cap, d->total_len, 1);
        d->state = EVSTREAM_BODY;
        return KAERI_OK;
    case EVSTREAM_BODY:
        take(d, p, len, d->total_len);
        if (d->have < d->total_len)
            return KAERI_ERR_AGAIN;
        d->state = EVSTREAM_PRELUDE;
        d->have = 0;
        rc = deliver(d, d->frame, d->total_len, cb, ctx);
        if (!rc && d->frame_cap > KEEP_FRAME_CAP) {
            FREE_AND_NULL(d->frame);
            d->frame_cap = 0;
        }
        return rc;
    case EVSTREAM_FAILED:
        return d->rc;
    }
    return KAERI_ERR_INTERNAL;
}

static enum kaeri_err repeat_failure(const struct evstream_decoder *d,
                                     struct kaeri_error *err)
{
    if (err)
        *err = d->error;
    return d->rc;
}

enum kaeri_err evstream_decode(struct evstream_decoder *d, const void *p,
                               size_t len, evstream_frame_fn *cb, void *ctx,
                               struct kaeri_error *err)
{
    const uint8_t *in = p;

    while (len && d->state != EVSTREAM_FAILED) {
        enum kaeri_err rc = step(d, &in, &len, cb, ctx);

        if (rc == KAERI_ERR_AGAIN)
            assert(!len);
        else if (rc)
            assert(d->state == EVSTREAM_FAILED);
    }
    if (d->state == EVSTREAM_FAILED)
        return repeat_failure(d, err);
    return KAERI_OK;
}

enum kaeri_err evstream_decoder_finish(const struct evstream_decoder *d,
                                       struct kaeri_error *err)
{
    char at[64];

    if (d->state == EVSTREAM_FAILED)
        return repeat_failure(d, err);
    where(d, at, sizeof(at));
    if (d->state == EVSTREAM_BODY)
        return kaeri_fail(err, KAERI_ERR_INVALID, at,
                          "truncated frame: %zu of %u bytes", d->have,
                          d->total_len);
    if (d->have)
        return kaeri_fail(err, KAERI_ERR_INVALID, at,
                          "truncated frame: %zu of the %d prelude bytes",
                          d->have, EVSTREAM_PRELUDE_LEN);
    return KAERI_OK;
}

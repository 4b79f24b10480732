/*
 * test_evstream.c - the event-stream codec: the worked examples of
 * spec/eventstream.md section 4 and bedrock-runtime.md section 8.1 and
 * AWS's public vectors (section 5) byte for byte both ways, round trips of
 * every header type at its edges, frames split at every byte boundary and
 * fed one byte at a time, every refusal of the decoder and the encoder's
 * limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "alloc.h"
#include "evstream.h"

#define H(n, t) .name = n, .name_len = sizeof(n) - 1, .type = t
#define STR(n, s)                                            \
    {                                                        \
        H(n, EVSTREAM_STRING), .v.str = { s, sizeof(s) - 1 } \
    }
#define HS(a) a, ARRAY_SIZE(a)

/* ---- vectors ------------------------------------------------------------ */

static const struct evstream_header delta_headers[] = {
    STR(":event-type", "contentBlockDelta"),
    STR(":content-type", "application/json"),
    STR(":message-type", "event"),
};
static const struct evstream_header exception_headers[] = {
    STR(":exception-type", "throttlingException"),
    STR(":content-type", "application/json"),
    STR(":message-type", "exception"),
};
static const struct evstream_header error_headers[] = {
    STR(":error-code", "InternalFailure"),
    STR(":error-message", "boom"),
    STR(":message-type", "error"),
};
static const struct evstream_header one_str_headers[] = {
    STR("content-type", "application/json"),
};
static const struct evstream_header int32_headers[] = {
    {H("event-type", EVSTREAM_INT32), .v.i32 = 40972},
};
static const struct evstream_header all_headers[] = {
    {H("event-type", EVSTREAM_INT32), .v.i32 = 40972},
    STR("content-type", "application/json"),
    {H("bool false", EVSTREAM_BOOL_FALSE)},
    {H("bool true", EVSTREAM_BOOL_TRUE)},
    {H("byte", EVSTREAM_BYTE), .v.i8 = -49},
    {H("byte buf", EVSTREAM_BYTE_BUF), .v.str = {"I'm a little teapot!", 20}},
    {H("timestamp", EVSTREAM_TIMESTAMP), .v.i64 = 8675309},
    {H("int16", EVSTREAM_INT16), .v.i16 = 42},
    {H("int64", EVSTREAM_INT64), .v.i64 = 42424242},
    {H("uuid", EVSTREAM_UUID),
     .v.uuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
};

struct vector {
    const char *name;
    const struct evstream_header *headers;
    size_t nheaders;
    const char *payload;
    size_t payload_len;
    const char *hex; /* the whole frame */
};

#define FOO "{'foo':'bar'}"

static const struct vector vectors[] = {
    /* spec/eventstream.md section 4 */
    {"worked example", HS(delta_headers),
     "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}", 45,
     "0000009400000057b4ab9aee0b3a6576656e742d74797065070011636f6e74656e74"
     "426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c696361"
     "74696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b2263"
     "6f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874"
     "223a224869227d7d1f944657"},
    /* spec/bedrock-runtime.md section 8.1 */
    {"exception", HS(exception_headers), "{\"message\":\"Rate exceeded\"}", 27,
     "0000008c000000612b81d3340f3a657863657074696f6e2d74797065070013746872"
     "6f74746c696e67457863657074696f6e0d3a636f6e74656e742d7479706507001061"
     "70706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700096578"
     "63657074696f6e7b226d657373616765223a2252617465206578636565646564227d"
     "b95ad7de"},
    {"error", HS(error_headers), "", 0,
     "0000005a0000004a8188a08d0b3a6572726f722d636f646507000f496e7465726e61"
     "6c4661696c7572650e3a6572726f722d6d657373616765070004626f6f6d0d3a6d65"
     "73736167652d747970650700056572726f72f8d6999d"},
    /* spec/eventstream.md section 5: aws-c-event-stream's vectors */
    {"empty_message", NULL, 0, "", 0, "000000100000000005c248eb7d98c8ff"},
    {"payload_no_headers", NULL, 0, FOO, 13,
     "0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936"},
    {"payload_one_str_header", HS(one_str_headers), FOO, 13,
     "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c6963"
     "6174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1"},
    {"int32_header", HS(int32_headers), FOO, 13,
     "0000002d0000001041c424b80a6576656e742d74797065040000a00c7b27666f6f27"
     "3a27626172277d36f480a0"},
    {"all_headers", HS(all_headers), FOO, 13,
     "000000cc000000af0fae64ca0a6576656e742d74797065040000a00c0c636f6e7465"
     "6e742d747970650700106170706c69636174696f6e2f6a736f6e0a626f6f6c206661"
     "6c73650109626f6f6c207472756500046279746502cf086279746520627566060014"
     "49276d2061206c6974746c6520746561706f74210974696d657374616d7008000000"
     "0000845fed05696e74313603002a05696e7436340500000000028757b20475756964"
     "090102030405060708090a0b0c0d0e0f107b27666f6f273a27626172277daba5f10c"},
};

/* Append the bytes spelled by 'hex' to 'out'. */
static void unhex(const char *hex, struct buf *out)
{
    size_t n = strlen(hex);

    assert_int_equal(n % 2, 0);
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;

        assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
        assert_int_equal(buf_addch(out, (char)v), KAERI_OK);
    }
}

static void check_header(const struct evstream_header *want,
                         const struct evstream_header *got)
{
    assert_int_equal(got->name_len, want->name_len);
    assert_memory_equal(got->name, want->name, want->name_len);
    assert_int_equal(got->name[got->name_len], '\0');
    assert_int_equal(got->type, want->type);
    switch (want->type) {
    case EVSTREAM_BOOL_TRUE:
    case EVSTREAM_BOOL_FALSE:
        break;
    case EVSTREAM_BYTE:
        assert_int_equal(got->v.i8, want->v.i8);
        break;
    case EVSTREAM_INT16:
        assert_int_equal(got->v.i16, want->v.i16);
        break;
    case EVSTREAM_INT32:
        assert_int_equal(got->v.i32, want->v.i32);
        break;
    case EVSTREAM_INT64:
    case EVSTREAM_TIMESTAMP:
        assert_true(got->v.i64 == want->v.i64);
        break;
    case EVSTREAM_BYTE_BUF:
    case EVSTREAM_STRING:
        assert_int_equal(got->v.str.len, want->v.str.len);
        assert_memory_equal(got->v.str.p, want->v.str.p, want->v.str.len);
        assert_int_equal(got->v.str.p[got->v.str.len], '\0');
        break;
    case EVSTREAM_UUID:
        assert_memory_equal(got->v.uuid, want->v.uuid, EVSTREAM_UUID_LEN);
        break;
    }
}

/* Frames a decode must deliver, in order; the callback checks each. */
struct expect {
    const struct vector *const *want;
    size_t n;
    size_t seen;
};

static enum kaeri_err expect_frame(const struct evstream_frame *f, void *ctx)
{
    struct expect *e = ctx;
    const struct vector *v;
    struct buf raw;

    assert_true(e->seen < e->n);
    v = e->want[e->seen++];
    assert_int_equal(f->nheaders, v->nheaders);
    for (size_t i = 0; i < v->nheaders; i++)
        check_header(&v->headers[i], &f->headers[i]);
    assert_int_equal(f->payload_len, v->payload_len);
    assert_memory_equal(f->payload, v->payload, v->payload_len);
    buf_init(&raw, BUF_UNLIMITED);
    unhex(v->hex, &raw);
    assert_int_equal(f->raw_len, raw.len);
    assert_memory_equal(f->raw, raw.data, raw.len);
    buf_release(&raw);
    return KAERI_OK;
}

/*
 * Decode 'p' cut at the 'ncuts' ascending offsets in 'cuts' and check the
 * frames against 'want' and a clean end.
 */
static void decode_cut(const char *p, size_t len, const size_t *cuts,
                       size_t ncuts, const struct vector *const *want,
                       size_t nwant)
{
    struct expect e = {want, nwant, 0};
    struct evstream_decoder d;
    struct kaeri_error err;
    size_t at = 0;

    evstream_decoder_init(&d);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        assert_int_equal(
            evstream_decode(&d, p + at, end - at, expect_frame, &e, &err),
            KAERI_OK);
        at = end;
    }
    assert_int_equal(evstream_decoder_finish(&d, &err), KAERI_OK);
    assert_int_equal(e.seen, nwant);
    assert_int_equal(d.frames, nwant);
    assert_int_equal(d.offset, len);
    evstream_decoder_release(&d);
}

/* Every vector, in table order, for the several-frames tests. */
static const struct vector *all_vectors[ARRAY_SIZE(vectors)];

static void concat_all(struct buf *b)
{
    buf_init(b, BUF_UNLIMITED);
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        all_vectors[i] = &vectors[i];
        unhex(vectors[i].hex, b);
    }
}

/* ---- tests: vectors ----------------------------------------------------- */

static void test_crc_is_zlib_crc32(void **state)
{
    (void)state;
    /* spec section 1: CRC-32/ISO-HDLC check value, not CRC-32C */
    assert_int_equal(crc32(0L, (const Bytef *)"123456789", 9), 0xCBF43926);
}

static void test_encode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        const struct vector *v = &vectors[i];
        struct buf out, want;

        buf_init(&out, BUF_UNLIMITED);
        buf_init(&want, BUF_UNLIMITED);
        unhex(v->hex, &want);
        assert_int_equal(evstream_encode(v->headers, v->nheaders, v->payload,
                                         v->payload_len, &out),
                         KAERI_OK);
        assert_int_equal(out.len, want.len);
        assert_memory_equal(out.data, want.data, want.len);
        buf_release(&out);
        buf_release(&want);
    }
}

static void test_encode_helpers(void **state)
{
    struct buf out, want;

    (void)state;
    buf_init(&out, BUF_UNLIMITED);
    buf_init(&want, BUF_UNLIMITED);
    unhex(vectors[0].hex, &want);
    unhex(vectors[1].hex, &want);
    unhex(vectors[2].hex, &want);
    assert_int_equal(
        evstream_encode_event("contentBlockDelta", "application/json",
                              vectors[0].payload, vectors[0].payload_len, &out),
        KAERI_OK);
    assert_int_equal(evstream_encode_exception("throttlingException",
                                               "{\"message\":\"Rate "
                                               "exceeded\"}",
                                               &out),
                     KAERI_OK);
    assert_int_equal(evstream_encode_error("InternalFailure", "boom", &out),
                     KAERI_OK);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);

    /* no content type: two headers only */
    buf_reset(&out);
    assert_int_equal(evstream_encode_event("chunk", NULL, "x", 1, &out),
                     KAERI_OK);
    assert_int_equal(out.len, 16 + (1 + 11 + 3 + 5) + (1 + 13 + 3 + 5) + 1);
    buf_release(&out);
    buf_release(&want);
}

static void test_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        const struct vector *v = &vectors[i];
        struct buf in;

        buf_init(&in, BUF_UNLIMITED);
        unhex(v->hex, &in);
        decode_cut(in.data, in.len, NULL, 0, &v, 1);
        buf_release(&in);
    }
}

static enum kaeri_err find_headers(const struct evstream_frame *f, void *ctx)
{
    const struct evstream_header *h = evstream_frame_header(f, "int16");

    (void)ctx;
    assert_non_null(h);
    assert_int_equal(h->v.i16, 42);
    assert_null(evstream_frame_header(f, "int"));
    assert_null(evstream_frame_header(f, "int160"));
    assert_string_equal(evstream_frame_string(f, "content-type"),
                        "application/json");
    assert_null(evstream_frame_string(f, "byte buf")); /* not a STRING */
    assert_null(evstream_frame_string(f, ":message-type"));
    return KAERI_OK;
}

static void test_frame_lookup(void **state)
{
    struct evstream_decoder d;
    struct buf in;

    (void)state;
    buf_init(&in, BUF_UNLIMITED);
    unhex(vectors[ARRAY_SIZE(vectors) - 1].hex, &in); /* all_headers */
    evstream_decoder_init(&d);
    assert_int_equal(
        evstream_decode(&d, in.data, in.len, find_headers, NULL, NULL),
        KAERI_OK);
    assert_int_equal(d.frames, 1);
    evstream_decoder_release(&d);
    buf_release(&in);
}

/* ---- tests: round trips ------------------------------------------------- */

static const char long_value[EVSTREAM_MAX_VALUE_LEN + 1] = "edge";

static const struct evstream_header edge_headers[] = {
    {H("t", EVSTREAM_BOOL_TRUE)},
    {H("f", EVSTREAM_BOOL_FALSE)},
    {H("b0", EVSTREAM_BYTE), .v.i8 = 0},
    {H("bmin", EVSTREAM_BYTE), .v.i8 = INT8_MIN},
    {H("bmax", EVSTREAM_BYTE), .v.i8 = INT8_MAX},
    {H("bneg", EVSTREAM_BYTE), .v.i8 = -1},
    {H("smin", EVSTREAM_INT16), .v.i16 = INT16_MIN},
    {H("smax", EVSTREAM_INT16), .v.i16 = INT16_MAX},
    {H("sneg", EVSTREAM_INT16), .v.i16 = -2},
    {H("imin", EVSTREAM_INT32), .v.i32 = INT32_MIN},
    {H("imax", EVSTREAM_INT32), .v.i32 = INT32_MAX},
    {H("ineg", EVSTREAM_INT32), .v.i32 = -40972},
    {H("lmin", EVSTREAM_INT64), .v.i64 = INT64_MIN},
    {H("lmax", EVSTREAM_INT64), .v.i64 = INT64_MAX},
    {H("lneg", EVSTREAM_INT64), .v.i64 = -42424242},
    {H("buf0", EVSTREAM_BYTE_BUF), .v.str = {NULL, 0}},
    {H("bufnul", EVSTREAM_BYTE_BUF), .v.str = {"\0\xff\x80\0", 4}},
    {H("bufmax", EVSTREAM_BYTE_BUF), .v.str = {long_value, 32767}},
    {H("str0", EVSTREAM_STRING), .v.str = {"", 0}},
    {H("strutf8", EVSTREAM_STRING), .v.str = {"caf\xc3\xa9 \xe2\x9c\x93", 9}},
    {H("strmax", EVSTREAM_STRING), .v.str = {long_value, 32767}},
    {H("ts0", EVSTREAM_TIMESTAMP), .v.i64 = 0},
    {H("tsneg", EVSTREAM_TIMESTAMP), .v.i64 = -86400000},
    {H("tsnow", EVSTREAM_TIMESTAMP), .v.i64 = 1767225600123},
    {H("uuid0", EVSTREAM_UUID)},
    {H("uuidff", EVSTREAM_UUID),
     .v.uuid = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {H("n\0ul", EVSTREAM_STRING), .v.str = {"v", 1}},
    {H(":a-name-of-eighty-characters-------------------------------------"
       "--------------",
       EVSTREAM_INT32),
     .v.i32 = 7},
};

/* Expect the one frame encoded from 'want'. */
struct expect_one {
    const struct evstream_header *want;
    size_t n;
    const void *payload;
    size_t payload_len;
    int seen;
};

static enum kaeri_err expect_one(const struct evstream_frame *f, void *ctx)
{
    struct expect_one *e = ctx;

    assert_int_equal(f->nheaders, e->n);
    for (size_t i = 0; i < e->n; i++)
        check_header(&e->want[i], &f->headers[i]);
    assert_int_equal(f->payload_len, e->payload_len);
    assert_memory_equal(f->payload, e->payload, e->payload_len);
    e->seen++;
    return KAERI_OK;
}

static void round_trip(const struct evstream_header *h, size_t n,
                       const void *payload, size_t len)
{
    struct expect_one e = {h, n, payload, len, 0};
    struct evstream_decoder d;
    struct kaeri_error err;
    struct buf out;

    buf_init(&out, BUF_UNLIMITED);
    assert_int_equal(evstream_encode(h, n, payload, len, &out), KAERI_OK);
    evstream_decoder_init(&d);
    assert_int_equal(
        evstream_decode(&d, out.data, out.len, expect_one, &e, &err), KAERI_OK);
    assert_int_equal(evstream_decoder_finish(&d, &err), KAERI_OK);
    assert_int_equal(e.seen, 1);
    evstream_decoder_release(&d);
    buf_release(&out);
}

static void test_round_trip_each_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(edge_headers); i++) {
        round_trip(&edge_headers[i], 1, "p", 1);
        round_trip(&edge_headers[i], 1, NULL, 0);
    }
}

static void test_round_trip_all_at_once(void **state)
{
    (void)state;
    round_trip(edge_headers, ARRAY_SIZE(edge_headers), long_value,
               sizeof(long_value));
    round_trip(NULL, 0, NULL, 0);
}

/* ---- tests: pieces ------------------------------------------------------ */

static void test_split_worked_example(void **state)
{
    const struct vector *want = &vectors[0];
    struct buf in;

    (void)state;
    buf_init(&in, BUF_UNLIMITED);
    unhex(want->hex, &in);
    /* one cut anywhere, empty pieces at either end included */
    for (size_t i = 0; i <= in.len; i++)
        decode_cut(in.data, in.len, &i, 1, &want, 1);
    /* two cuts anywhere: three pieces */
    for (size_t i = 0; i <= in.len; i++) {
        for (size_t j = i; j <= in.len; j++) {
            size_t cuts[2] = {i, j};

            decode_cut(in.data, in.len, cuts, 2, &want, 1);
        }
    }
    buf_release(&in);
}

static void test_one_byte_at_a_time(void **state)
{
    struct buf in;
    size_t *cuts;

    (void)state;
    concat_all(&in);
    cuts = xcalloc(in.len, sizeof(*cuts));
    for (size_t i = 0; i < in.len; i++)
        cuts[i] = i;
    decode_cut(in.data, in.len, cuts, in.len, all_vectors,
               ARRAY_SIZE(all_vectors));
    free(cuts);
    buf_release(&in);
}

static void test_several_frames_one_piece(void **state)
{
    struct buf in;

    (void)state;
    concat_all(&in);
    decode_cut(in.data, in.len, NULL, 0, all_vectors, ARRAY_SIZE(all_vectors));
    /* and split once at every boundary of the whole stream */
    for (size_t i = 0; i <= in.len; i++)
        decode_cut(in.data, in.len, &i, 1, all_vectors,
                   ARRAY_SIZE(all_vectors));
    buf_release(&in);
}

static void test_random_pieces(void **state)
{
    uint32_t seed = 12345;
    size_t cuts[64];
    struct buf in;

    (void)state;
    concat_all(&in);
    for (int round = 0; round < 2000; round++) {
        size_t n = 0, at = 0;

        while (n < ARRAY_SIZE(cuts)) {
            seed = seed * 1103515245 + 12345;
            at += (seed >> 16) % 90;
            if (at > in.len)
                break;
            cuts[n++] = at;
        }
        decode_cut(in.data, in.len, cuts, n, all_vectors,
                   ARRAY_SIZE(all_vectors));
    }
    buf_release(&in);
}

/* ---- tests: refusals ---------------------------------------------------- */

static int calls;

static enum kaeri_err count_frame(const struct evstream_frame *f, void *ctx)
{
    (void)f;
    (void)ctx;
    calls++;
    return KAERI_OK;
}

/*
 * Decode 'in' whole and expect KAERI_ERR_INVALID with 'text' in the
 * error, after 'frames' good frames. Then check the decoder stays failed:
 * a good frame after it is refused with the same text, and so is the end.
 */
static void expect_refusal(const char *name, const char *in, size_t len,
                           int frames, const char *text)
{
    struct evstream_decoder d;
    struct kaeri_error err, again;
    struct buf good;

    calls = 0;
    memset(&err, 0, sizeof(err));
    evstream_decoder_init(&d);
    assert_int_equal(evstream_decode(&d, in, len, count_frame, NULL, &err),
                     KAERI_ERR_INVALID);
    if (!strstr(err.text, text))
        fail_msg("%s: '%s' lacks '%s'", name, err.text, text);
    assert_int_equal(calls, frames);
    assert_int_equal(d.state, EVSTREAM_FAILED);
    assert_non_null(strstr(err.where, "frame "));

    buf_init(&good, BUF_UNLIMITED);
    unhex(vectors[3].hex, &good);
    assert_int_equal(
        evstream_decode(&d, good.data, good.len, count_frame, NULL, &again),
        KAERI_ERR_INVALID);
    assert_string_equal(again.text, err.text);
    assert_int_equal(evstream_decode(&d, NULL, 0, count_frame, NULL, &again),
                     KAERI_ERR_INVALID);
    assert_int_equal(evstream_decoder_finish(&d, &again), KAERI_ERR_INVALID);
    assert_string_equal(again.text, err.text);
    assert_int_equal(calls, frames);
    buf_release(&good);
    evstream_decoder_release(&d);
}

struct flip {
    const char *name;
    size_t vector; /* index into vectors[] */
    size_t at;     /* byte to change */
    uint8_t xor ;
    const char *text;
};

static const struct flip flips[] = {
    {"total length", 0, 3, 0x01, "prelude crc mismatch"},
    {"total length high byte", 0, 0, 0x80, "prelude crc mismatch"},
    {"headers length", 0, 7, 0x01, "prelude crc mismatch"},
    {"prelude crc", 0, 8, 0x01, "prelude crc mismatch"},
    {"prelude crc last bit", 0, 11, 0x80, "prelude crc mismatch"},
    {"header name length", 0, 0x0c, 0x01, "message crc mismatch"},
    {"header name", 0, 0x0d, 0x20, "message crc mismatch"},
    {"header type", 0, 0x18, 0x0f, "message crc mismatch"},
    {"header value length", 0, 0x19, 0x40, "message crc mismatch"},
    {"header value", 0, 0x1b, 0x01, "message crc mismatch"},
    {"payload first byte", 0, 0x63, 0x01, "message crc mismatch"},
    {"payload last byte", 0, 0x8f, 0x80, "message crc mismatch"},
    {"message crc", 0, 0x90, 0x01, "message crc mismatch"},
    {"message crc last byte", 0, 0x93, 0x80, "message crc mismatch"},
    /* spec section 5: the negative vectors of aws-c-event-stream */
    {"corrupted_length", 5, 3, 61 ^ 62, "prelude crc mismatch"},
    {"corrupted_header_len", 5, 7, 32 ^ 33, "prelude crc mismatch"},
    {"corrupted_headers", 5, 45, '\'' ^ 'a', "message crc mismatch"},
    {"corrupted_payload", 4, 12, '{' ^ '[', "message crc mismatch"},
    {"error frame message crc", 2, 0x59, 0x04, "message crc mismatch"},
};

static void test_flipped_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
        const struct flip *f = &flips[i];
        struct buf in;

        buf_init(&in, BUF_UNLIMITED);
        unhex(vectors[f->vector].hex, &in);
        in.data[f->at] ^= (char)f->xor ;
        expect_refusal(f->name, in.data, in.len, 0, f->text);
        /* the same after a good frame, which is delivered first */
        buf_reset(&in);
        unhex(vectors[3].hex, &in);
        unhex(vectors[f->vector].hex, &in);
        in.data[16 + f->at] ^= (char)f->xor ;
        expect_refusal(f->name, in.data, in.len, 1, f->text);
        buf_release(&in);
    }
}

static void test_every_bit_flip(void **state)
{
    struct buf in;

    (void)state;
    buf_init(&in, BUF_UNLIMITED);
    unhex(vectors[0].hex, &in);
    for (size_t i = 0; i < in.len * 8; i++) {
        struct evstream_decoder d;
        struct kaeri_error err;

        in.data[i / 8] ^= (char)(1 << i % 8);
        evstream_decoder_init(&d);
        calls = 0;
        assert_int_equal(
            evstream_decode(&d, in.data, in.len, count_frame, NULL, &err),
            KAERI_ERR_INVALID);
        assert_int_equal(calls, 0);
        assert_non_null(strstr(err.text, i / 8 < EVSTREAM_PRELUDE_LEN
                                             ? "prelude crc mismatch"
                                             : "message crc mismatch"));
        evstream_decoder_release(&d);
        in.data[i / 8] ^= (char)(1 << i % 8);
    }
    buf_release(&in);
}

/*
 * A frame with correct CRCs around whatever lengths and body are given,
 * so the checks behind the CRCs are reached: total 0 means "the real
 * one", and a frame whose prelude is refused gets no body at all.
 */
struct forged {
    const char *name;
    uint32_t total;
    uint32_t hlen;
    const char *body_hex; /* headers then payload */
    const char *text;
};

static void forge(const struct forged *f, struct buf *out)
{
    uint8_t pre[12];
    struct buf body;
    uint32_t total, c;

    buf_init(&body, BUF_UNLIMITED);
    unhex(f->body_hex, &body);
    total = f->total ? f->total : (uint32_t)(16 + body.len);
    for (int i = 0; i < 4; i++) {
        pre[i] = (uint8_t)(total >> (24 - 8 * i));
        pre[4 + i] = (uint8_t)(f->hlen >> (24 - 8 * i));
    }
    c = (uint32_t)crc32(0L, pre, 8);
    for (int i = 0; i < 4; i++)
        pre[8 + i] = (uint8_t)(c >> (24 - 8 * i));
    assert_int_equal(buf_add(out, pre, 12), KAERI_OK);
    if (!f->total) {
        assert_int_equal(buf_add(out, body.data, body.len), KAERI_OK);
        c = (uint32_t)crc32(0L, (const Bytef *)out->data, (uInt)out->len);
        for (int i = 0; i < 4; i++)
            pre[i] = (uint8_t)(c >> (24 - 8 * i));
        assert_int_equal(buf_add(out, pre, 4), KAERI_OK);
    }
    buf_release(&body);
}

static const struct forged forgeries[] = {
    {"total under 16", 15, 0, "", "total length 15 under the minimum of 16"},
    {"total 1", 1, 0, "", "total length 1 under the minimum"},
    {"total 12", 12, 0, "", "total length 12 under the minimum"},
    {"total over the maximum", EVSTREAM_MAX_FRAME_LEN + 1, 0, "",
     "total length 16908305 over the maximum of 16908304"},
    {"total 4 GiB", 0xffffffff, 0, "", "total length 4294967295 over"},
    {"headers past the frame", 20, 5, "",
     "headers length 5 over total "
     "length 20 - 16"},
    {"headers length huge", 100, 0xffffffff, "",
     "headers length 4294967295 "
     "over total length 100"},
    {"headers over 128 KiB", 16 + 131073, 131073, "",
     "headers length 131073 over the maximum of 131072"},
    {"payload over 16 MiB", 16 + 16777217, 0, "",
     "payload length 16777217 over the maximum of 16777216"},
    {"unknown type 10", 0, 3, "01610a", "header 1 'a': unknown value type 10"},
    {"unknown type 255", 0, 3, "0161ff", "unknown value type 255"},
    {"unknown type after a good one", 0, 6, "01610001620c",
     "header 2 'b': unknown value type 12"},
    {"name length 0", 0, 4, "00070000", "header 1: name length 0"},
    {"name length 0 second", 0, 5, "016100000700", "header 2: name length 0"},
    {"name past the section", 0, 3, "056162", "header 1: truncated"},
    {"name past into payload", 0, 1, "0161007b7d", "header 1: truncated"},
    {"type byte missing", 0, 2, "0161", "header 1: truncated"},
    {"byte value missing", 0, 3, "016102", "header 1 'a': truncated"},
    {"int16 cut", 0, 4, "01610300", "header 1 'a': truncated"},
    {"int32 cut", 0, 5, "0161040000", "header 1 'a': truncated"},
    {"int64 cut", 0, 10, "01610500000000000000", "header 1 'a': truncated"},
    {"timestamp cut into payload", 0, 4, "016108007b227d7d7d7d7d7d",
     "header 1 'a': truncated"},
    {"uuid cut", 0, 18, "016109000102030405060708090a0b0c0d0e0f",
     "header 1 'a': truncated"},
    {"string length cut", 0, 4, "01610700", "header 1 'a': truncated"},
    {"string length missing", 0, 3, "016107", "header 1 'a': truncated"},
    {"string past the section", 0, 7, "016107000561626364",
     "header 1 'a': truncated"},
    {"string past into payload", 0, 7, "01610700056162636465",
     "header 1 'a': truncated"},
    {"byte buf past the section", 0, 5, "016106ffff", "truncated"},
    {"duplicate name", 0, 6, "016100016101", "duplicate header 'a'"},
    {"duplicate later", 0, 9, "016100016201016100", "duplicate header 'a'"},
    {"unprintable name", 0, 4, "02010a0a",
     "header 1 '?\?': unknown value "
     "type 10"},
};

static void test_forged_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(forgeries); i++) {
        struct buf in;

        buf_init(&in, BUF_UNLIMITED);
        forge(&forgeries[i], &in);
        expect_refusal(forgeries[i].name, in.data, in.len, 0,
                       forgeries[i].text);
        /* fed one byte at a time, the verdict is the same */
        {
            struct evstream_decoder d;
            struct kaeri_error err;
            enum kaeri_err rc = KAERI_OK;

            evstream_decoder_init(&d);
            for (size_t j = 0; j < in.len && !rc; j++)
                rc = evstream_decode(&d, in.data + j, 1, NULL, NULL, &err);
            assert_int_equal(rc, KAERI_ERR_INVALID);
            assert_non_null(strstr(err.text, forgeries[i].text));
            evstream_decoder_release(&d);
        }
        buf_release(&in);
    }
}

static void test_header_count_limit(void **state)
{
    struct evstream_header *h;
    struct evstream_decoder d;
    struct kaeri_error err;
    char(*names)[8];
    struct buf out;

    (void)state;
    h = xcalloc(EVSTREAM_MAX_HEADERS + 1, sizeof(*h));
    names = xcalloc(EVSTREAM_MAX_HEADERS + 1, sizeof(*names));
    for (size_t i = 0; i <= EVSTREAM_MAX_HEADERS; i++) {
        snprintf(names[i], sizeof(names[i]), "h%04zu", i);
        h[i].name = names[i];
        h[i].name_len = 5;
        h[i].type = EVSTREAM_BOOL_TRUE;
    }
    buf_init(&out, BUF_UNLIMITED);
    assert_int_equal(
        evstream_encode(h, EVSTREAM_MAX_HEADERS + 1, NULL, 0, &out),
        KAERI_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    round_trip(h, EVSTREAM_MAX_HEADERS, NULL, 0);

    /* 1025 headers on the wire, CRCs right: the decoder refuses them */
    {
        struct forged f = {"1025 headers", 0, 0, NULL, NULL};
        struct buf hex;

        buf_init(&hex, BUF_UNLIMITED);
        for (size_t i = 0; i <= EVSTREAM_MAX_HEADERS; i++)
            assert_int_equal(buf_printf(&hex, "05%02x%02x%02x%02x%02x00",
                                        names[i][0], names[i][1], names[i][2],
                                        names[i][3], names[i][4]),
                             KAERI_OK);
        f.hlen = (uint32_t)hex.len / 2;
        f.body_hex = hex.data;
        forge(&f, &out);
        evstream_decoder_init(&d);
        assert_int_equal(
            evstream_decode(&d, out.data, out.len, NULL, NULL, &err),
            KAERI_ERR_INVALID);
        assert_string_equal(err.text, "more than 1024 headers");
        evstream_decoder_release(&d);
        buf_release(&hex);
    }
    buf_release(&out);
    free(names);
    free(h);
}

/* The decoder takes what the wire allows, more than the encoder writes. */
static void test_decoder_takes_wire_max_value(void **state)
{
    static const struct evstream_header want = {H("s", EVSTREAM_STRING)};
    struct forged f = {"65535-byte string", 0, 1 + 1 + 1 + 2 + 65535, NULL,
                       NULL};
    struct evstream_header h = want;
    struct expect_one e = {&h, 1, "", 0, 0};
    struct evstream_decoder d;
    struct kaeri_error err;
    struct buf hex, in;
    char *value;

    (void)state;
    value = xmalloc(65535);
    memset(value, 'z', 65535);
    h.v.str.p = value;
    h.v.str.len = 65535;
    buf_init(&hex, BUF_UNLIMITED);
    assert_int_equal(buf_adds(&hex, "017307ffff"), KAERI_OK);
    for (size_t i = 0; i < 65535; i++)
        assert_int_equal(buf_adds(&hex, "7a"), KAERI_OK);
    f.body_hex = hex.data;
    buf_init(&in, BUF_UNLIMITED);
    forge(&f, &in);
    evstream_decoder_init(&d);
    assert_int_equal(evstream_decode(&d, in.data, in.len, expect_one, &e, &err),
                     KAERI_OK);
    assert_int_equal(e.seen, 1);
    evstream_decoder_release(&d);
    /* and the encoder refuses to write it */
    buf_reset(&in);
    assert_int_equal(evstream_encode(&h, 1, NULL, 0, &in), KAERI_ERR_LIMIT);
    free(value);
    buf_release(&hex);
    buf_release(&in);
}

static enum kaeri_err stop_at_second(const struct evstream_frame *f, void *ctx)
{
    (void)f;
    (void)ctx;
    return ++calls == 2 ? KAERI_ERR_LIMIT : KAERI_OK;
}

static void test_callback_stops(void **state)
{
    struct evstream_decoder d;
    struct kaeri_error err;
    struct buf in;

    (void)state;
    concat_all(&in);
    calls = 0;
    evstream_decoder_init(&d);
    assert_int_equal(
        evstream_decode(&d, in.data, in.len, stop_at_second, NULL, &err),
        KAERI_ERR_LIMIT);
    assert_int_equal(calls, 2);
    assert_int_equal(d.frames, 1);
    assert_non_null(strstr(err.text, "callback"));
    assert_string_equal(err.where, "frame 2 at byte 148");
    assert_int_equal(
        evstream_decode(&d, in.data, in.len, stop_at_second, NULL, &err),
        KAERI_ERR_LIMIT);
    assert_int_equal(calls, 2);
    evstream_decoder_release(&d);
    buf_release(&in);
}

/* Stream ends inside a frame: finish() says so; at a boundary it is fine. */
static void test_truncated_stream(void **state)
{
    struct buf in;

    (void)state;
    concat_all(&in);
    for (size_t cut = 0; cut <= in.len; cut++) {
        struct evstream_decoder d;
        struct kaeri_error err;
        size_t end = 0, frames = 0;
        enum kaeri_err rc;

        /* where does the frame holding byte 'cut' start? */
        while (frames < ARRAY_SIZE(vectors) &&
               end + strlen(vectors[frames].hex) / 2 <= cut)
            end += strlen(vectors[frames++].hex) / 2;
        evstream_decoder_init(&d);
        calls = 0;
        assert_int_equal(
            evstream_decode(&d, in.data, cut, count_frame, NULL, &err),
            KAERI_OK);
        assert_int_equal(calls, frames);
        rc = evstream_decoder_finish(&d, &err);
        if (cut == end) {
            assert_int_equal(rc, KAERI_OK);
        } else {
            char where[64];

            assert_int_equal(rc, KAERI_ERR_INVALID);
            assert_non_null(strstr(err.text, "truncated frame"));
            snprintf(where, sizeof(where), "frame %zu at byte %zu", frames + 1,
                     end);
            assert_string_equal(err.where, where);
        }
        evstream_decoder_release(&d);
    }
    buf_release(&in);
}

/* ---- tests: encoder limits ---------------------------------------------- */

static char big[40000];

struct limit_case {
    const char *name;
    struct evstream_header h;
    enum kaeri_err rc;
};

static const struct limit_case limit_cases[] = {
    {"name length 0", {.name = "x", .name_len = 0}, KAERI_ERR_INVALID},
    {"name NULL", {.name = NULL, .name_len = 3}, KAERI_ERR_INVALID},
    {"name 255", {.name = big, .name_len = 255}, KAERI_OK},
    {"name 256", {.name = big, .name_len = 256}, KAERI_ERR_LIMIT},
    {"type 10", {.name = "x", .name_len = 1, .type = 10}, KAERI_ERR_INVALID},
    {"type -1", {.name = "x", .name_len = 1, .type = -1}, KAERI_ERR_INVALID},
    {"string 32767",
     {H("s", EVSTREAM_STRING), .v.str = {big, 32767}},
     KAERI_OK},
    {"string 32768",
     {H("s", EVSTREAM_STRING), .v.str = {big, 32768}},
     KAERI_ERR_LIMIT},
    {"byte buf 32768",
     {H("s", EVSTREAM_BYTE_BUF), .v.str = {big, 32768}},
     KAERI_ERR_LIMIT},
    {"string NULL with a length",
     {H("s", EVSTREAM_STRING), .v.str = {NULL, 1}},
     KAERI_ERR_INVALID},
    {"byte buf NULL empty",
     {H("s", EVSTREAM_BYTE_BUF), .v.str = {NULL, 0}},
     KAERI_OK},
};

static void test_encoder_limits(void **state)
{
    struct buf out;

    (void)state;
    memset(big, 'n', sizeof(big));
    buf_init(&out, BUF_UNLIMITED);
    assert_int_equal(buf_adds(&out, "kept"), KAERI_OK);
    for (size_t i = 0; i < ARRAY_SIZE(limit_cases); i++) {
        const struct limit_case *c = &limit_cases[i];

        if (evstream_encode(&c->h, 1, NULL, 0, &out) != c->rc)
            fail_msg("%s: not %s", c->name, kaeri_err_name(c->rc));
        if (c->rc) {
            assert_int_equal(out.len, 4);
            assert_string_equal(out.data, "kept");
        } else {
            round_trip(&c->h, 1, NULL, 0);
            buf_reset(&out);
            assert_int_equal(buf_adds(&out, "kept"), KAERI_OK);
        }
    }
    buf_release(&out);
}

static void test_encoder_section_limits(void **state)
{
    struct evstream_header h[5];
    static const char *const names[] = {"a", "b", "c", "d", "e"};
    struct buf out;
    char *payload;

    (void)state;
    memset(big, 'v', sizeof(big));
    buf_init(&out, BUF_UNLIMITED);
    /* four 32 KiB strings: a headers section over 128 KiB */
    for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
        memset(&h[i], 0, sizeof(h[i]));
        h[i].name = names[i];
        h[i].name_len = 1;
        h[i].type = EVSTREAM_STRING;
        h[i].v.str.p = big;
        h[i].v.str.len = EVSTREAM_MAX_VALUE_LEN;
    }
    assert_int_equal(evstream_encode(h, 5, NULL, 0, &out), KAERI_ERR_LIMIT);
    assert_int_equal(evstream_encode(h, 4, NULL, 0, &out), KAERI_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    round_trip(h, 3, NULL, 0); /* 3 * 32772 bytes fit, 4 do not */

    /* a name given twice */
    h[1].name = "a";
    assert_int_equal(evstream_encode(h, 2, NULL, 0, &out), KAERI_ERR_INVALID);
    assert_int_equal(out.len, 0);
    h[1].name = "b";

    /* NULL payload with a length, NULL headers with a count */
    assert_int_equal(evstream_encode(NULL, 0, NULL, 1, &out),
                     KAERI_ERR_INVALID);
    assert_int_equal(evstream_encode(NULL, 1, NULL, 0, &out),
                     KAERI_ERR_INVALID);

    /* the payload ceiling, and a frame at it decoded in pieces */
    payload = xmalloc(EVSTREAM_MAX_PAYLOAD_LEN + 1);
    memset(payload, 'p', EVSTREAM_MAX_PAYLOAD_LEN + 1);
    assert_int_equal(
        evstream_encode(NULL, 0, payload, EVSTREAM_MAX_PAYLOAD_LEN + 1, &out),
        KAERI_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    round_trip(h, 3, payload, EVSTREAM_MAX_PAYLOAD_LEN);
    {
        struct expect_one e = {h, 1, payload, EVSTREAM_MAX_PAYLOAD_LEN, 0};
        struct evstream_decoder d;
        struct kaeri_error err;

        assert_int_equal(
            evstream_encode(h, 1, payload, EVSTREAM_MAX_PAYLOAD_LEN, &out),
            KAERI_OK);
        evstream_decoder_init(&d);
        for (size_t at = 0; at < out.len; at += 65536) {
            size_t n = out.len - at < 65536 ? out.len - at : 65536;

            assert_int_equal(
                evstream_decode(&d, out.data + at, n, expect_one, &e, &err),
                KAERI_OK);
        }
        assert_int_equal(e.seen, 1);
        assert_int_equal(evstream_decoder_finish(&d, &err), KAERI_OK);
        evstream_decoder_release(&d);
    }
    free(payload);
    buf_release(&out);
}

static void test_encoder_buffer_ceiling(void **state)
{
    const struct vector *v = &vectors[0];
    struct buf out;

    (void)state;
    buf_init(&out, 148 + 3);
    assert_int_equal(buf_adds(&out, "abcd"), KAERI_OK);
    assert_int_equal(evstream_encode(v->headers, v->nheaders, v->payload,
                                     v->payload_len, &out),
                     KAERI_ERR_LIMIT);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "abcd");
    buf_consume(&out, 1);
    assert_int_equal(evstream_encode_event("contentBlockDelta",
                                           "application/json", v->payload,
                                           v->payload_len, &out),
                     KAERI_OK);
    assert_int_equal(out.len, 151);
    assert_int_equal(evstream_encode_error("e", "m", &out), KAERI_ERR_LIMIT);
    assert_int_equal(out.len, 151);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_is_zlib_crc32),
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_encode_helpers),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_frame_lookup),
        cmocka_unit_test(test_round_trip_each_type),
        cmocka_unit_test(test_round_trip_all_at_once),
        cmocka_unit_test(test_split_worked_example),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_several_frames_one_piece),
        cmocka_unit_test(test_random_pieces),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_forged_frames),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_decoder_takes_wire_max_value),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_encoder_limits),
        cmocka_unit_test(test_encoder_section_limits),
        cmocka_unit_test(test_encoder_buffer_ceiling),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

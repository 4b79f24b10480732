/*
 * fuzz_evstream.c - libFuzzer target for evstream.c: the input is an
 * event stream. It is decoded twice, in one piece and in pieces of sizes
 * drawn from a generator seeded by the input, and both must agree on the
 * frames, the verdict and its text. Each decoded frame is re-encoded:
 * the encoder must give back exactly the bytes received (the format has
 * one encoding per frame), and decoding those must give the same fields.
 *
 * Random bytes rarely carry two right CRCs, so the same is done once
 * more on a copy whose CRCs are recomputed frame by frame: that way the
 * headers parser sees the fuzzer's bytes, not only the CRC checks. The
 * corpus holds raw streams (the spec's worked example among them).
 */
#include "evstream.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one decode of the whole input saw. */
struct run {
    struct buf raw; /* every frame's bytes, in order */
    size_t frames;
};

static void same_header(const struct evstream_header *a,
                        const struct evstream_header *b)
{
    assert(a->name_len == b->name_len);
    assert(!memcmp(a->name, b->name, a->name_len));
    assert(a->type == b->type);
    switch (a->type) {
    case EVSTREAM_BOOL_TRUE:
    case EVSTREAM_BOOL_FALSE:
        break;
    case EVSTREAM_BYTE:
        assert(a->v.i8 == b->v.i8);
        break;
    case EVSTREAM_INT16:
        assert(a->v.i16 == b->v.i16);
        break;
    case EVSTREAM_INT32:
        assert(a->v.i32 == b->v.i32);
        break;
    case EVSTREAM_INT64:
    case EVSTREAM_TIMESTAMP:
        assert(a->v.i64 == b->v.i64);
        break;
    case EVSTREAM_BYTE_BUF:
    case EVSTREAM_STRING:
        assert(a->v.str.len == b->v.str.len);
        assert(!memcmp(a->v.str.p, b->v.str.p, a->v.str.len));
        assert(a->v.str.p[a->v.str.len] == '\0');
        break;
    case EVSTREAM_UUID:
        assert(!memcmp(a->v.uuid, b->v.uuid, EVSTREAM_UUID_LEN));
        break;
    }
}

/* The second decode, of the re-encoded frame: same fields as the first. */
static enum kaeri_err same_frame(const struct evstream_frame *f, void *ctx)
{
    const struct evstream_frame *first = ctx;

    assert(f->nheaders == first->nheaders);
    for (size_t i = 0; i < f->nheaders; i++)
        same_header(&first->headers[i], &f->headers[i]);
    assert(f->payload_len == first->payload_len);
    assert(!memcmp(f->payload, first->payload, f->payload_len));
    return KAERI_OK;
}

static enum kaeri_err check_frame(const struct evstream_frame *f, void *ctx)
{
    struct run *r = ctx;
    struct evstream_decoder d;
    struct buf again;
    enum kaeri_err rc;

    assert(f->raw_len >= EVSTREAM_MIN_FRAME_LEN);
    assert(f->payload_len <= EVSTREAM_MAX_PAYLOAD_LEN);
    buf_init(&again, BUF_UNLIMITED);
    rc = evstream_encode(f->headers, f->nheaders, f->payload, f->payload_len,
                         &again);
    if (rc) {
        int long_value = 0;

        /* only a value the wire allows and the encoder does not */
        assert(rc == KAERI_ERR_LIMIT);
        for (size_t i = 0; i < f->nheaders; i++)
            if ((f->headers[i].type == EVSTREAM_STRING ||
                 f->headers[i].type == EVSTREAM_BYTE_BUF) &&
                f->headers[i].v.str.len > EVSTREAM_MAX_VALUE_LEN)
                long_value = 1;
        assert(long_value);
    } else {
        assert(again.len == f->raw_len);
        assert(!memcmp(again.data, f->raw, f->raw_len));
        evstream_decoder_init(&d);
        rc = evstream_decode(&d, again.data, again.len, same_frame, (void *)f,
                             NULL);
        assert(rc == KAERI_OK && d.frames == 1);
        evstream_decoder_release(&d);
    }
    buf_release(&again);
    assert(buf_add(&r->raw, f->raw, f->raw_len) == KAERI_OK);
    r->frames++;
    return KAERI_OK;
}

/*
 * Decode 'data' in pieces whose sizes come from 'seed' (0: in one piece)
 * and return the verdict of decode, then finish, with its text.
 */
static enum kaeri_err decode(const uint8_t *data, size_t size, uint32_t seed,
                             struct run *r, struct kaeri_error *err)
{
    struct evstream_decoder d;
    enum kaeri_err rc = KAERI_OK;
    size_t at = 0;

    buf_init(&r->raw, BUF_UNLIMITED);
    r->frames = 0;
    memset(err, 0, sizeof(*err));
    evstream_decoder_init(&d);
    while (!rc && at < size) {
        size_t n = size - at;

        if (seed) {
            /* mostly small pieces, now and then a large one */
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 16) & 0x10 ? (seed >> 8) % 4096 : (seed >> 8) % 17;
            if (n > size - at)
                n = size - at;
        }
        rc = evstream_decode(&d, data + at, n, check_frame, r, err);
        at += n;
    }
    if (!rc)
        rc = evstream_decoder_finish(&d, err);
    evstream_decoder_release(&d);
    return rc;
}

static void decode_both_ways(const uint8_t *data, size_t size)
{
    struct kaeri_error err1, err2;
    struct run r1, r2;
    enum kaeri_err rc1, rc2;
    uint32_t seed = (uint32_t)crc32(0L, data, (uInt)size) | 1;

    rc1 = decode(data, size, 0, &r1, &err1);
    rc2 = decode(data, size, seed, &r2, &err2);
    assert(rc1 == KAERI_OK || rc1 == KAERI_ERR_INVALID);
    assert(rc1 == rc2);
    assert(!strcmp(err1.text, err2.text));
    assert(!strcmp(err1.where, err2.where));
    assert(r1.frames == r2.frames);
    assert(r1.raw.len == r2.raw.len);
    assert(!memcmp(r1.raw.data, r2.raw.data, r1.raw.len));
    /* the frames delivered are a prefix of the input */
    assert(r1.raw.len <= size && !memcmp(r1.raw.data, data, r1.raw.len));
    if (rc1 == KAERI_OK)
        assert(r1.raw.len == size);
    buf_release(&r1.raw);
    buf_release(&r2.raw);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Recompute the prelude and message CRCs of each frame 'p' holds, as far
 * as their total lengths lead; stop at the first one that does not fit.
 * Returns whether anything changed.
 */
static int fix_crcs(uint8_t *p, size_t size)
{
    size_t at = 0;
    int changed = 0;

    while (size - at >= EVSTREAM_PRELUDE_LEN) {
        uint8_t *f = p + at, old[4];
        uint32_t total = (uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 |
                         (uint32_t)f[2] << 8 | f[3];

        memcpy(old, f + 8, 4);
        put_be32(f + 8, (uint32_t)crc32(0L, f, 8));
        changed |= memcmp(old, f + 8, 4) != 0;
        if (total < EVSTREAM_MIN_FRAME_LEN || total > size - at)
            break;
        memcpy(old, f + total - 4, 4);
        put_be32(f + total - 4, (uint32_t)crc32(0L, f, total - 4));
        changed |= memcmp(old, f + total - 4, 4) != 0;
        at += total;
    }
    return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    decode_both_ways(data, size);
    copy = malloc(size ? size : 1);
    assert(copy);
    memcpy(copy, data, size);
    if (fix_crcs(copy, size))
        decode_both_ways(copy, size);
    free(copy);
    return 0;
}

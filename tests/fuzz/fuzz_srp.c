/*
 * fuzz_srp.c - libFuzzer target for srp.c's two parsers: the input is fed
 * as the client's SRP_A hex to srp_begin() (V1's pool, user, salt and a
 * fixed b, so a run replays) and as a TIMESTAMP to srp_timestamp_parse(),
 * which must round-trip through srp_timestamp_format() when it accepts.
 */
#include "srp.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* spec/cognito-srp.md section 10, V1 */
static const unsigned char salt[SRP_SALT_LEN] = {
    0x8f, 0x3a, 0x5c, 0x7e, 0x1b, 0x2d, 0x4f, 0x60,
    0x81, 0xa3, 0xc5, 0xe7, 0x09, 0x2b, 0x4d, 0x6f,
};
static const unsigned char fixed_b[32] = {
    0x6b, 0x1d, 0x3f, 0x5a, 0x7c, 0x9e, 0x0b, 0x2d, 0x4f, 0x6a, 0x8c,
    0x0e, 0x1b, 0x3d, 0x5f, 0x7a, 0x9c, 0x0e, 0x2b, 0x4d, 0x6f, 0x8a,
    0x1c, 0x3e, 0x5b, 0x7d, 0x9f, 0x0a, 0x2c, 0x4e, 0x6b, 0x8d,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char block[32];
    struct srp_session *s = NULL;
    struct kaeri_error err;
    char out[SRP_TIMESTAMP_MAX];
    int64_t epoch;
    char *text;

    if (size > 4096)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    if (srp_begin("TestPool1", "alice", "Passw0rd!", salt, sizeof(salt), text,
                  fixed_b, sizeof(fixed_b), &s, &err) == KAERI_OK) {
        assert(srp_b_hex(s)[0] != '\0');
        /* the input doubles as a signature: it must never crash verify */
        /* a random input is never the proof */
        if (srp_verify(s, block, sizeof(block), text, text) == KAERI_OK)
            abort();
        srp_session_free(s);
    } else {
        assert(!s);
    }

    if (srp_timestamp_parse(text, &epoch) == KAERI_OK) {
        srp_timestamp_format(epoch, out);
        assert(strcmp(out, text) == 0);
    }
    free(text);
    return 0;
}

/*
 * b64.c - base64 (RFC 4648 section 4) and base64url (section 5).
 *
 * Decoding is strict, because what we decode is mostly what attackers
 * send (JWT parts, SECRET_HASH, SRP blocks): no whitespace, no characters
 * outside the alphabet, '=' only as the final padding, and the unused bits
 * of the last character must be zero (RFC 4648 section 3.5), so that every
 * byte string has exactly one encoding. Line-wrapped (MIME) input is left
 * out on purpose.
 */
#include "b64.h"
#include "alloc.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#define XX 0xff /* not in the alphabet */

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Character -> 6-bit value for the 7-bit range; bytes >= 0x80 are invalid. */
/* clang-format off */
static const unsigned char std_values[128] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX,
    XX, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
    XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
};

static const unsigned char url_values[128] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX,
    XX, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, 63,
    XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
};
/* clang-format on */

/*
 * Encode 'n' bytes with 'alphabet'; 'pad' adds '=' up to a multiple of
 * four characters. Returns a new string.
 */
static char *encode(const void *p, size_t n, const char *alphabet, int pad)
{
    const unsigned char *in = p;
    char *out, *o;
    size_t i;

    /* An object this large cannot exist; the check keeps the sum honest. */
    assert(n <= (SIZE_MAX - 1) / 4 * 3 - 3);
    o = out = xmalloc((n + 2) / 3 * 4 + 1);
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        if (pad) {
            *o++ = '=';
            *o++ = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return out;
}

char *b64_encode(const void *p, size_t n)
{
    return encode(p, n, std_alphabet, 1);
}

char *b64url_encode(const void *p, size_t n)
{
    return encode(p, n, url_alphabet, 0);
}

/*
 * Decode 's' with 'values' and append to 'out'. 'need_pad' says whether
 * the '=' padding is required (base64) or optional (base64url). The
 * result goes to 'out' in one append, so a failure leaves 'out' as it was.
 */
static enum kaeri_err decode(const char *s, size_t n,
                             const unsigned char values[128], int need_pad,
                             struct buf *out)
{
    enum kaeri_err rc;
    unsigned char *bytes = NULL, *o;
    size_t pad, data_len, i;
    uint32_t v = 0;
    unsigned int bits = 0;

    /*
     * '=' may only end the input, at most two of them, and only to fill
     * the last quantum to four characters; a '=' further in is caught
     * below as a character outside the alphabet.
     */
    data_len = n;
    while (data_len && n - data_len < 3 && s[data_len - 1] == '=')
        data_len--;
    pad = n - data_len;
    if (pad > 2 || (pad && n % 4) || (need_pad && n % 4) || data_len % 4 == 1)
        return KAERI_ERR_INVALID;

    o = bytes = xmalloc(data_len / 4 * 3 + 3);
    for (i = 0; i < data_len; i++) {
        unsigned char c = (unsigned char)s[i], d;

        if (c & 0x80 || (d = values[c]) == XX) {
            rc = KAERI_ERR_INVALID;
            goto out;
        }
        v = v << 6 | d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (unsigned char)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    /* Leftover bits (2 or 4) must be zero for a canonical encoding. */
    if (v) {
        rc = KAERI_ERR_INVALID;
        goto out;
    }
    rc = buf_add(out, bytes, (size_t)(o - bytes));
out:
    free(bytes);
    return rc;
}

enum kaeri_err b64_decode(const char *s, size_t n, struct buf *out)
{
    return decode(s, n, std_values, 1, out);
}

enum kaeri_err b64url_decode(const char *s, size_t n, struct buf *out)
{
    return decode(s, n, url_values, 0, out);
}

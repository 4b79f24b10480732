/*
 * srp.c - the server maths of Cognito's SRP-6a sign-in (spec/cognito-srp.md).
 *
 * srp_begin() parses the client's A, derives v from the password and salt,
 * draws b, computes B and, since A and B are then both known, also u, S and
 * the 16-byte key K; the session keeps only K, B's hex and the two strings
 * the signature covers, so srp_verify() is one HMAC. b, x, v and S are
 * wiped as soon as K exists.
 *
 * Left out on purpose: the TIMESTAMP skew window (the service reads the
 * clock), the SECRET_BLOCK state table and device SRP's verifier storage.
 * This file and crypto.c are the only users of OpenSSL's bignums.
 */
#include "srp.h"

#include "alloc.h"

#include <assert.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SRP_HASH_LEN    32  /* SHA-256 */
#define SRP_KEY_LEN     16  /* K, spec section 3 */
#define SRP_A_HEX_MAX   800 /* spec section 4: "longer than ~800 digits" */
#define SRP_B_BITS      256 /* spec section 3: 256 random bits is plenty */
#define SRP_B_DRAWS_MAX 64  /* a second unusable b is already absurd */
/* pad() of the largest value we see: an 800-digit A, plus the sign byte. */
#define SRP_PAD_MAX (SRP_A_HEX_MAX / 2 + 1)

/* spec section 2: RFC 3526 / RFC 5054 3072-bit MODP prime, g = 2. */
static const char srp_n_hex[] =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33"
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7"
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864"
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff";

static const char srp_info[] = "Caldera Derived Key";

struct srp_session {
    char *pool_name;                /* owned; signed into M */
    char *user_id;                  /* owned; signed into M */
    char *b_hex;                    /* owned; B, lower case */
    unsigned char key[SRP_KEY_LEN]; /* K; wiped by srp_session_free */
};

/* One piece of a hashed concatenation. */
struct part {
    const void *p;
    size_t n;
};

/*
 * spec section 2: pad(n) = the minimal big-endian bytes of n, with one 0x00
 * in front when the top bit is set; pad(0) = 00. Returns the length.
 */
static size_t pad(const BIGNUM *n, unsigned char out[SRP_PAD_MAX])
{
    int len = BN_num_bytes(n);

    assert(len >= 0 && (size_t)len < SRP_PAD_MAX);
    if (len == 0) {
        out[0] = 0;
        return 1;
    }
    BN_bn2bin(n, out + 1);
    if (out[1] & 0x80) {
        out[0] = 0;
        return (size_t)len + 1;
    }
    memmove(out, out + 1, (size_t)len);
    return (size_t)len;
}

/* SHA-256 of the concatenated parts. False only if OpenSSL fails. */
static bool hash_parts(const struct part *parts, size_t count,
                       unsigned char out[SRP_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

    for (size_t i = 0; ok && i < count; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].n);
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* H(pad(a) || pad(b)) as an integer into 'r': k and u (spec section 3). */
static bool hash_pads(const BIGNUM *a, const BIGNUM *b, BIGNUM *r)
{
    unsigned char pa[SRP_PAD_MAX], pb[SRP_PAD_MAX], h[SRP_HASH_LEN];
    struct part parts[2];

    parts[0] = (struct part){pa, pad(a, pa)};
    parts[1] = (struct part){pb, pad(b, pb)};
    return hash_parts(parts, ARRAY_SIZE(parts), h) &&
           BN_bin2bn(h, sizeof(h), r);
}

/*
 * The client's A: 1..SRP_A_HEX_MAX hex digits of either case, nothing else.
 * BN_hex2bn would take a '-' and stop quietly at a non-digit, so the digit
 * set is checked first.
 */
static enum kaeri_err parse_a(const char *hex, const BIGNUM *n, BIGNUM **a,
                              BN_CTX *ctx, struct kaeri_error *err)
{
    size_t len = hex ? strnlen(hex, SRP_A_HEX_MAX + 1) : 0;
    BIGNUM *rem;
    bool zero;

    if (len == 0)
        return kaeri_fail(err, KAERI_ERR_INVALID, "SRP_A", "empty");
    if (len > SRP_A_HEX_MAX)
        return kaeri_fail(err, KAERI_ERR_INVALID, "SRP_A",
                          "longer than %d hex digits", SRP_A_HEX_MAX);
    for (size_t i = 0; i < len; i++) {
        if (!strchr("0123456789abcdefABCDEF", hex[i]))
            return kaeri_fail(err, KAERI_ERR_INVALID, "SRP_A",
                              "not a hex digit at %zu", i);
    }
    if (BN_hex2bn(a, hex) != (int)len)
        return kaeri_fail(err, KAERI_ERR_INTERNAL, "SRP_A", "BN_hex2bn");
    /* spec section 3: A mod N = 0 would make S = 0 whatever the password */
    rem = BN_new();
    if (!rem || !BN_nnmod(rem, *a, n, ctx)) {
        BN_free(rem);
        return kaeri_fail(err, KAERI_ERR_INTERNAL, "SRP_A", "BN_nnmod");
    }
    zero = BN_is_zero(rem);
    BN_free(rem);
    if (zero)
        return kaeri_fail(err, KAERI_ERR_INVALID, "SRP_A", "A mod N is 0");
    return KAERI_OK;
}

/*
 * v = g^x with x = H(pad(salt) || H(poolName || userId || ":" || password))
 * (spec section 3). 'v' must be a fresh BIGNUM.
 */
static bool derive_v(const char *pool_name, const char *user_id,
                     const char *password, const unsigned char *salt,
                     size_t salt_len, const BIGNUM *g, const BIGNUM *n,
                     BIGNUM *v, BN_CTX *ctx)
{
    unsigned char inner[SRP_HASH_LEN], outer[SRP_HASH_LEN];
    unsigned char psalt[SRP_PAD_MAX];
    struct part parts[4];
    BIGNUM *s = NULL, *x = NULL;
    bool ok = false;

    parts[0] = (struct part){pool_name, strlen(pool_name)};
    parts[1] = (struct part){user_id, strlen(user_id)};
    parts[2] = (struct part){":", 1};
    parts[3] = (struct part){password, strlen(password)};
    if (!hash_parts(parts, 4, inner))
        goto out;
    s = BN_bin2bn(salt, (int)salt_len, NULL);
    if (!s)
        goto out;
    parts[0] = (struct part){psalt, pad(s, psalt)};
    parts[1] = (struct part){inner, sizeof(inner)};
    if (!hash_parts(parts, 2, outer))
        goto out;
    x = BN_secure_new();
    if (!x || !BN_bin2bn(outer, sizeof(outer), x))
        goto out;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    ok = BN_mod_exp(v, g, x, n, ctx);
out:
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(outer, sizeof(outer));
    BN_free(s);
    BN_clear_free(x);
    return ok;
}

/*
 * B = (k*v + g^b) mod N for 'b' (already flagged constant-time). Returns
 * false only if OpenSSL fails; B = 0 is for the caller to judge.
 */
static bool compute_b(const BIGNUM *k, const BIGNUM *v, const BIGNUM *g,
                      const BIGNUM *b, const BIGNUM *n, BIGNUM *out,
                      BN_CTX *ctx)
{
    BIGNUM *kv = BN_new(), *gb = BN_new();
    bool ok = kv && gb && BN_mod_mul(kv, k, v, n, ctx) &&
              BN_mod_exp(gb, g, b, n, ctx) && BN_mod_add(out, kv, gb, n, ctx);

    BN_free(kv);
    BN_clear_free(gb);
    return ok;
}

/*
 * K = HKDF-SHA256(salt = pad(u), ikm = pad(S), info, L = 16), RFC 5869
 * written out as its two HMACs (spec section 3).
 */
static bool derive_key(const BIGNUM *u, const BIGNUM *s,
                       unsigned char key[SRP_KEY_LEN])
{
    unsigned char pu[SRP_PAD_MAX], ps[SRP_PAD_MAX];
    unsigned char prk[SRP_HASH_LEN], okm[SRP_HASH_LEN];
    unsigned char info[sizeof(srp_info)]; /* info || 0x01 */
    size_t pu_len = pad(u, pu), ps_len = pad(s, ps);
    bool ok;

    memcpy(info, srp_info, sizeof(srp_info) - 1);
    info[sizeof(srp_info) - 1] = 0x01;
    ok = HMAC(EVP_sha256(), pu, (int)pu_len, ps, ps_len, prk, NULL) &&
         HMAC(EVP_sha256(), prk, sizeof(prk), info, sizeof(info), okm, NULL);
    if (ok)
        memcpy(key, okm, SRP_KEY_LEN);
    OPENSSL_cleanse(ps, sizeof(ps));
    OPENSSL_cleanse(prk, sizeof(prk));
    OPENSSL_cleanse(okm, sizeof(okm));
    return ok;
}

/* Lower-case hex of a positive 'n' without leading zeros; xmalloc'ed. */
static char *bn_hex_lower(const BIGNUM *n)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char bytes[SRP_PAD_MAX];
    size_t len = pad(n, bytes);
    char *hex = xmalloc(2 * len + 1), *p = hex;

    for (size_t i = 0; i < len; i++) {
        *p++ = digits[bytes[i] >> 4];
        *p++ = digits[bytes[i] & 0xf];
    }
    *p = '\0';
    p = hex;
    while (p[0] == '0' && p[1])
        p++;
    memmove(hex, p, strlen(p) + 1);
    return hex;
}

enum kaeri_err srp_begin(const char *pool_name, const char *user_id,
                         const char *password, const unsigned char *salt,
                         size_t salt_len, const char *srp_a_hex,
                         const unsigned char *fixed_b, size_t fixed_b_len,
                         struct srp_session **out, struct kaeri_error *err)
{
    enum kaeri_err rc = KAERI_ERR_INTERNAL;
    struct srp_session *s = NULL;
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *n = NULL, *g = BN_new(), *k = BN_new(), *a = NULL;
    BIGNUM *v = BN_secure_new(), *b = BN_secure_new(), *bb = BN_new();
    BIGNUM *u = BN_new(), *avu = BN_secure_new(), *sk = BN_secure_new();
    int draws = 0;

    *out = NULL;
    assert(pool_name && user_id && password && (salt || !salt_len));
    if (!ctx || !g || !k || !v || !b || !bb || !u || !avu || !sk ||
        !BN_hex2bn(&n, srp_n_hex) || !BN_set_word(g, 2)) {
        kaeri_fail(err, rc, "", "openssl bignum setup");
        goto out;
    }
    if (salt_len > SRP_PAD_MAX - 1 || fixed_b_len > SRP_PAD_MAX - 1) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID,
                        salt_len > SRP_PAD_MAX - 1 ? "SALT" : "b", "too long");
        goto out;
    }
    rc = parse_a(srp_a_hex, n, &a, ctx, err);
    if (rc)
        goto out;
    rc = KAERI_ERR_INTERNAL;
    if (!hash_pads(n, g, k) ||
        !derive_v(pool_name, user_id, password, salt, salt_len, g, n, v, ctx)) {
        kaeri_fail(err, rc, "", "openssl: deriving v");
        goto out;
    }

    /* spec section 3: b in (1, N), and redraw b while B = 0 */
    for (;;) {
        if (draws++ == SRP_B_DRAWS_MAX) {
            kaeri_fail(err, rc, "b", "no usable b in %d draws", draws - 1);
            goto out;
        }
        if (fixed_b) {
            if (!BN_bin2bn(fixed_b, (int)fixed_b_len, b))
                goto bn_fail;
        } else if (!BN_priv_rand_ex(b, SRP_B_BITS, BN_RAND_TOP_ANY,
                                    BN_RAND_BOTTOM_ANY, 0, ctx)) {
            goto bn_fail;
        }
        BN_set_flags(b, BN_FLG_CONSTTIME);
        if (BN_is_zero(b) || BN_is_one(b) || BN_cmp(b, n) >= 0) {
            if (fixed_b) {
                rc = kaeri_fail(err, KAERI_ERR_INVALID, "b", "not in (1, N)");
                goto out;
            }
            continue; /* 2^-255 chance, but b = 1 would expose v */
        }
        if (!compute_b(k, v, g, b, n, bb, ctx))
            goto bn_fail;
        if (!BN_is_zero(bb))
            break;
        if (fixed_b) {
            rc = kaeri_fail(err, KAERI_ERR_INVALID, "b", "B is 0");
            goto out;
        }
    }

    /* u = H(pad(A) || pad(B)); u = 0 would let A alone decide S */
    if (!hash_pads(a, bb, u))
        goto bn_fail;
    if (BN_is_zero(u)) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, "SRP_A", "u is 0");
        goto out;
    }
    /* S = (A * v^u)^b mod N */
    if (!BN_mod_exp(avu, v, u, n, ctx) || !BN_mod_mul(avu, a, avu, n, ctx) ||
        !BN_mod_exp(sk, avu, b, n, ctx))
        goto bn_fail;

    s = xcalloc(1, sizeof(*s));
    if (!derive_key(u, sk, s->key))
        goto bn_fail;
    s->pool_name = xstrdup(pool_name);
    s->user_id = xstrdup(user_id);
    s->b_hex = bn_hex_lower(bb);
    *out = s;
    s = NULL;
    rc = KAERI_OK;
    goto out;
bn_fail:
    kaeri_fail(err, rc, "", "openssl bignum operation failed");
out:
    srp_session_free(s);
    BN_free(n);
    BN_free(g);
    BN_free(k);
    BN_free(a);
    BN_clear_free(v);
    BN_clear_free(b);
    BN_free(bb);
    BN_free(u);
    BN_clear_free(avu);
    BN_clear_free(sk);
    BN_CTX_free(ctx);
    return rc;
}

const char *srp_b_hex(const struct srp_session *s)
{
    return s->b_hex;
}

/* Value of one base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Decode standard, '='-padded base64 into at most 'cap' bytes. Returns the
 * decoded length, or -1 for anything else (bad length, character or
 * padding, or more than 'cap' bytes).
 */
static long b64_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t len = strlen(in), pads = 0, n = 0;

    if (len % 4)
        return -1;
    while (pads < 2 && pads < len && in[len - 1 - pads] == '=')
        pads++;
    if (len / 4 * 3 - pads > cap)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        unsigned long quad = 0;
        size_t chars = i + 4 == len ? 4 - pads : 4;

        for (size_t j = 0; j < 4; j++) {
            int d = j < chars ? b64_value((unsigned char)in[i + j]) : 0;

            if (d < 0)
                return -1;
            quad = quad << 6 | (unsigned long)d;
        }
        out[n++] = (unsigned char)(quad >> 16);
        if (chars > 2)
            out[n++] = (unsigned char)(quad >> 8);
        if (chars > 3)
            out[n++] = (unsigned char)quad;
    }
    return (long)n;
}

enum kaeri_err srp_verify(const struct srp_session *s,
                          const unsigned char *secret_block, size_t block_len,
                          const char *timestamp, const char *signature_b64)
{
    unsigned char got[SRP_HASH_LEN + 1], want[SRP_HASH_LEN];
    size_t pool_len, user_len, ts_len, m_len;
    unsigned char *m, *p;
    enum kaeri_err rc = KAERI_ERR_AUTH;

    if (!s || !timestamp || !signature_b64 || (!secret_block && block_len))
        return KAERI_ERR_AUTH;
    /* one spare byte: a 33-byte decode must not pass as 32 */
    if (b64_decode(signature_b64, got, sizeof(got)) != SRP_HASH_LEN)
        return KAERI_ERR_AUTH;

    /* spec section 3: M = poolName || userId || block || TIMESTAMP */
    pool_len = strlen(s->pool_name);
    user_len = strlen(s->user_id);
    ts_len = strlen(timestamp);
    if (block_len > SIZE_MAX - pool_len - user_len - ts_len)
        return KAERI_ERR_AUTH;
    m_len = pool_len + user_len + block_len + ts_len;
    p = m = xmalloc(m_len ? m_len : 1);
    memcpy(p, s->pool_name, pool_len);
    p += pool_len;
    memcpy(p, s->user_id, user_len);
    p += user_len;
    if (block_len)
        memcpy(p, secret_block, block_len);
    p += block_len;
    memcpy(p, timestamp, ts_len);

    if (HMAC(EVP_sha256(), s->key, sizeof(s->key), m, m_len, want, NULL) &&
        CRYPTO_memcmp(got, want, sizeof(want)) == 0)
        rc = KAERI_OK;
    free(m);
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}

void srp_session_free(struct srp_session *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s->key, sizeof(s->key));
    free(s->pool_name);
    free(s->user_id);
    free(s->b_hex);
    free(s);
}

void srp_make_salt(unsigned char salt[SRP_SALT_LEN])
{
    /* no salt is no sign-in: an emulator whose RNG fails has nothing to do */
    if (RAND_bytes(salt, SRP_SALT_LEN) != 1)
        abort();
    /* spec section 2: first byte in 0x01..0x7f, so no client pads or trims */
    salt[0] = (unsigned char)(salt[0] % 0x7f + 1);
}

/* spec section 7: English names, never the locale's. */
static const char *const srp_wdays[] = {"Sun", "Mon", "Tue", "Wed",
                                        "Thu", "Fri", "Sat"};
static const char *const srp_months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};

void srp_timestamp_format(int64_t epoch, char out[SRP_TIMESTAMP_MAX])
{
    time_t t = (time_t)epoch;
    struct tm tm;

    /* years past 9999 are no TIMESTAMP; the day is not padded (section 7) */
    if ((int64_t)t != epoch || !gmtime_r(&t, &tm) || tm.tm_year < -1900 ||
        tm.tm_year > 9999 - 1900) {
        out[0] = '\0';
        return;
    }
    snprintf(out, SRP_TIMESTAMP_MAX, "%s %s %d %02d:%02d:%02d UTC %04d",
             srp_wdays[tm.tm_wday], srp_months[tm.tm_mon], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* Index of the 3-letter name at 'p' in 'names', or -1. */
static int lookup_name(const char *p, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        if (!strncmp(p, names[i], 3))
            return i;
    }
    return -1;
}

/*
 * Read exactly 'min'..'max' decimal digits at '*p' into '*val' and move
 * past them. False when there are fewer or more.
 */
static bool read_digits(const char **p, int min, int max, int *val)
{
    int n = 0, v = 0;

    while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
        v = v * 10 + ((*p)[n] - '0');
        n++;
    }
    if (n < min || ((*p)[n] >= '0' && (*p)[n] <= '9'))
        return false;
    *p += n;
    *val = v;
    return true;
}

/* Expect the literal 'lit' at '*p' and move past it. */
static bool read_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(*p, lit, n))
        return false;
    *p += n;
    return true;
}

/*
 * spec section 7: read the fields, let timegm() compute the time, then
 * format it again and demand the same bytes. The round trip rejects a
 * wrong weekday, "Sep 05", "Feb 30" and anything after the year.
 */
enum kaeri_err srp_timestamp_parse(const char *s, int64_t *epoch)
{
    char again[SRP_TIMESTAMP_MAX];
    const char *p = s;
    struct tm tm;
    int year;
    time_t t;

    if (!s || strnlen(s, SRP_TIMESTAMP_MAX) >= SRP_TIMESTAMP_MAX)
        return KAERI_ERR_INVALID;
    memset(&tm, 0, sizeof(tm));
    /* the weekday is only checked by the round trip below */
    if (lookup_name(p, srp_wdays, (int)ARRAY_SIZE(srp_wdays)) < 0)
        return KAERI_ERR_INVALID;
    p += 3;
    if (!read_lit(&p, " "))
        return KAERI_ERR_INVALID;
    tm.tm_mon = lookup_name(p, srp_months, (int)ARRAY_SIZE(srp_months));
    if (tm.tm_mon < 0)
        return KAERI_ERR_INVALID;
    p += 3;
    if (!read_lit(&p, " ") || !read_digits(&p, 1, 2, &tm.tm_mday) ||
        !read_lit(&p, " ") || !read_digits(&p, 2, 2, &tm.tm_hour) ||
        !read_lit(&p, ":") || !read_digits(&p, 2, 2, &tm.tm_min) ||
        !read_lit(&p, ":") || !read_digits(&p, 2, 2, &tm.tm_sec) ||
        !read_lit(&p, " UTC ") || !read_digits(&p, 4, 4, &year) || *p)
        return KAERI_ERR_INVALID;
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59)
        return KAERI_ERR_INVALID;
    tm.tm_year = year - 1900;
    /* a failed timegm() gives -1, whose form differs from any other input */
    t = timegm(&tm);
    srp_timestamp_format((int64_t)t, again);
    if (strcmp(again, s))
        return KAERI_ERR_INVALID;
    *epoch = (int64_t)t;
    return KAERI_OK;
}

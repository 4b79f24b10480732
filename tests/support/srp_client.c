/*
 * srp_client.c - Cognito SRP-6a, client side, for the wire tests.
 *
 * The maths of spec/cognito-srp.md sections 2, 3 and 7, seen from the
 * client (amazon-cognito-identity-js AuthenticationHelper does the same):
 *
 *   A = g^a mod N          u = H(pad(A) || pad(B))
 *   x = H(pad(salt) || H(poolName || userId || ":" || password))
 *   S = (B - k * g^x)^(a + u * x) mod N
 *   K = HKDF-SHA256(salt = pad(u), IKM = pad(S), "Caldera Derived Key", 16)
 *   signature = base64(HMAC(K, poolName || userId || block || TIMESTAMP))
 *
 * It shares no code with emulator/srp.c on purpose: a test that signs in
 * with this client proves the server against a second implementation. It
 * uses OpenSSL directly and no emulator module, and it leaves out the
 * device (DEVICE_SRP_AUTH) verifier generation.
 */
#include "srp_client.h"

#include "kaeri.h" /* ARRAY_SIZE only */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* spec section 2: the 3072-bit MODP prime of RFC 3526, g = 2 */
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

#define SRP_HEX_MAX   1024 /* digits accepted for a, SALT and SRP_B */
#define SRP_PAD_MAX   (SRP_HEX_MAX / 2 + 1) /* bytes of pad() of such a value */
#define SRP_HASH_LEN  32
#define SRP_KEY_LEN   16
#define SRP_BLOCK_MAX 4096 /* decoded SECRET_BLOCK bytes */
#define SRP_HKDF_INFO "Caldera Derived Key"

struct srp_client {
    BIGNUM *n;   /* the group prime */
    BIGNUM *g;   /* 2 */
    BIGNUM *a;   /* secret exponent, wiped on free */
    BIGNUM *A;   /* g^a mod N */
    char *a_hex; /* A as lowercase hex, no leading zeros */
};

/* One piece of a hashed or MACed message. */
struct part {
    const void *p;
    size_t len;
};

/*
 * Parse 'hex' (at most SRP_HEX_MAX digits of [0-9a-fA-F], nothing else)
 * into a new BIGNUM in '*out'. Returns 0 or -1.
 */
static int parse_hex(const char *hex, BIGNUM **out)
{
    size_t i, len;

    *out = NULL;
    if (!hex)
        return -1;
    len = strlen(hex);
    if (len == 0 || len > SRP_HEX_MAX)
        return -1;
    for (i = 0; i < len; i++)
        if (!isxdigit((unsigned char)hex[i]))
            return -1;
    if (BN_hex2bn(out, hex) != (int)len) {
        BN_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/*
 * spec section 2: pad(n) is Java's BigInteger.toByteArray() for n >= 0, the
 * minimal big-endian bytes with one 0x00 in front when the top bit is set,
 * and a single 0x00 for zero. Writes to 'out' (SRP_PAD_MAX bytes) and returns
 * the length, or 0 if 'n' is too large.
 */
static size_t pad(const BIGNUM *n, unsigned char out[SRP_PAD_MAX])
{
    int nbytes = BN_num_bytes(n);

    if (nbytes == 0) {
        out[0] = 0;
        return 1;
    }
    if ((size_t)nbytes + 1 > SRP_PAD_MAX)
        return 0;
    out[0] = 0;
    BN_bn2bin(n, out + 1);
    if (out[1] & 0x80)
        return (size_t)nbytes + 1;
    memmove(out, out + 1, (size_t)nbytes);
    return (size_t)nbytes;
}

/* SHA-256 of the concatenated 'parts'. Returns 0 or -1. */
static int sha256_parts(const struct part *parts, size_t nparts,
                        unsigned char out[SRP_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    size_t i;

    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        goto out;
    for (i = 0; i < nparts; i++)
        if (!EVP_DigestUpdate(ctx, parts[i].p, parts[i].len))
            goto out;
    if (!EVP_DigestFinal_ex(ctx, out, NULL))
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* HMAC-SHA256 of the concatenated 'parts' under 'key'. Returns 0 or -1. */
static int hmac_parts(const void *key, size_t key_len, const struct part *parts,
                      size_t nparts, unsigned char out[SRP_HASH_LEN])
{
    unsigned char *msg = NULL;
    size_t i, len = 0, off = 0;
    unsigned int out_len = 0;
    int rc = -1;

    for (i = 0; i < nparts; i++)
        len += parts[i].len;
    msg = malloc(len ? len : 1);
    if (!msg)
        goto out;
    for (i = 0; i < nparts; i++) {
        if (parts[i].len)
            memcpy(msg + off, parts[i].p, parts[i].len);
        off += parts[i].len;
    }
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &out_len) ||
        out_len != SRP_HASH_LEN)
        goto out;
    rc = 0;
out:
    free(msg);
    return rc;
}

/* The value of one base64 digit, or -1. */
static int b64_digit(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/*
 * Decode standard base64 with '=' padding, strictly (length a multiple of
 * 4, '=' only at the end), into 'out' of 'cap' bytes. Returns the length,
 * or -1.
 */
static long b64_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t len = strlen(in), i, n = 0;

    if (len % 4)
        return -1;
    for (i = 0; i < len; i += 4) {
        int d[4], k, pads = 0;
        uint32_t v = 0;

        for (k = 0; k < 4; k++) {
            char ch = in[i + k];

            if (ch == '=' && i + 4 == len && k >= 2) {
                d[k] = 0;
                pads++;
                continue;
            }
            if (pads) /* "A=B=" */
                return -1;
            d[k] = b64_digit(ch);
            if (d[k] < 0)
                return -1;
        }
        v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 |
            (uint32_t)d[3];
        if (n + 3 - (size_t)pads > cap)
            return -1;
        out[n++] = (unsigned char)(v >> 16);
        if (pads < 2)
            out[n++] = (unsigned char)(v >> 8);
        if (pads < 1)
            out[n++] = (unsigned char)v;
    }
    return (long)n;
}

/* Standard base64 of a 32-byte MAC, with padding: 44 chars and a NUL. */
static void b64_mac(const unsigned char mac[SRP_HASH_LEN],
                    char out[SRP_CLIENT_SIG_MAX])
{
    EVP_EncodeBlock((unsigned char *)out, mac, SRP_HASH_LEN);
}

struct srp_client *srp_client_new(const char *a_hex)
{
    struct srp_client *c = calloc(1, sizeof(*c));
    BN_CTX *ctx = BN_CTX_new();
    char *hex = NULL, *p;

    if (!c || !ctx)
        goto fail;
    if (!BN_hex2bn(&c->n, srp_n_hex) || !(c->g = BN_new()) ||
        !BN_set_word(c->g, 2))
        goto fail;
    if (a_hex) {
        if (parse_hex(a_hex, &c->a))
            goto fail;
    } else {
        unsigned char rnd[32];

        c->a = BN_secure_new();
        do {
            if (!c->a || RAND_bytes(rnd, sizeof(rnd)) != 1 ||
                !BN_bin2bn(rnd, sizeof(rnd), c->a))
                goto fail;
        } while (BN_is_zero(c->a));
        OPENSSL_cleanse(rnd, sizeof(rnd));
    }
    if (BN_is_zero(c->a))
        goto fail;
    c->A = BN_new();
    if (!c->A || !BN_mod_exp(c->A, c->g, c->a, c->n, ctx))
        goto fail;
    hex = BN_bn2hex(c->A); /* upper case, whole bytes: "0A..." */
    if (!hex)
        goto fail;
    for (p = hex; *p == '0' && p[1]; p++)
        ;
    c->a_hex = strdup(p);
    if (!c->a_hex)
        goto fail;
    for (p = c->a_hex; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    OPENSSL_free(hex);
    BN_CTX_free(ctx);
    return c;
fail:
    OPENSSL_free(hex);
    BN_CTX_free(ctx);
    srp_client_free(c);
    return NULL;
}

const char *srp_client_a_hex(const struct srp_client *c)
{
    return c->a_hex;
}

/*
 * K of spec section 3: HKDF-SHA256 extract and expand with the salt pad(u),
 * IKM pad(S), info "Caldera Derived Key" and L = 16, as two HMACs.
 */
static int derive_key(const unsigned char *pad_u, size_t pad_u_len,
                      const unsigned char *pad_s, size_t pad_s_len,
                      unsigned char key[SRP_KEY_LEN])
{
    static const unsigned char one = 0x01;
    unsigned char prk[SRP_HASH_LEN], okm[SRP_HASH_LEN];
    struct part ikm[] = {{pad_s, pad_s_len}};
    struct part info[] = {{SRP_HKDF_INFO, sizeof(SRP_HKDF_INFO) - 1},
                          {&one, 1}};
    int rc = -1;

    if (hmac_parts(pad_u, pad_u_len, ikm, 1, prk) ||
        hmac_parts(prk, sizeof(prk), info, 2, okm))
        goto out;
    memcpy(key, okm, SRP_KEY_LEN);
    rc = 0;
out:
    OPENSSL_cleanse(prk, sizeof(prk));
    OPENSSL_cleanse(okm, sizeof(okm));
    return rc;
}

int srp_client_signature(struct srp_client *c, const char *pool_name,
                         const char *user_id, const char *password,
                         const char *salt_hex, const char *srp_b_hex,
                         const char *secret_block_b64, const char *timestamp,
                         char out_b64[SRP_CLIENT_SIG_MAX])
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *salt = NULL, *B = NULL, *k = NULL, *u = NULL, *x = NULL;
    BIGNUM *t = NULL, *base = NULL, *e = NULL, *S = NULL;
    unsigned char buf1[SRP_PAD_MAX], buf2[SRP_PAD_MAX];
    unsigned char h[SRP_HASH_LEN], inner[SRP_HASH_LEN], mac[SRP_HASH_LEN];
    unsigned char key[SRP_KEY_LEN], *block = NULL;
    size_t len1, len2;
    long block_len;
    int rc = -1;

    out_b64[0] = '\0';
    if (!ctx || !pool_name || !user_id || !password || !secret_block_b64 ||
        !timestamp)
        goto out;
    if (parse_hex(salt_hex, &salt) || parse_hex(srp_b_hex, &B))
        goto out;
    block = malloc(SRP_BLOCK_MAX);
    if (!block)
        goto out;
    block_len = b64_decode(secret_block_b64, block, SRP_BLOCK_MAX);
    if (block_len < 0)
        goto out;
    k = BN_new();
    u = BN_new();
    x = BN_new();
    t = BN_new();
    base = BN_new();
    e = BN_new();
    S = BN_new();
    if (!k || !u || !x || !t || !base || !e || !S)
        goto out;

    /* clients abort on B = 0 mod N: the key would not depend on a */
    if (!BN_nnmod(t, B, c->n, ctx) || BN_is_zero(t))
        goto out;

    /* k = H(pad(N) || pad(g)) */
    len1 = pad(c->n, buf1);
    len2 = pad(c->g, buf2);
    {
        struct part parts[] = {{buf1, len1}, {buf2, len2}};

        if (!len1 || !len2 || sha256_parts(parts, 2, h) ||
            !BN_bin2bn(h, SRP_HASH_LEN, k))
            goto out;
    }

    /* u = H(pad(A) || pad(B)), refused if 0 */
    len1 = pad(c->A, buf1);
    len2 = pad(B, buf2);
    {
        struct part parts[] = {{buf1, len1}, {buf2, len2}};

        if (!len1 || !len2 || sha256_parts(parts, 2, h) ||
            !BN_bin2bn(h, SRP_HASH_LEN, u) || BN_is_zero(u))
            goto out;
    }

    /* x = H(pad(salt) || H(poolName || userId || ":" || password)) */
    {
        struct part parts[] = {{pool_name, strlen(pool_name)},
                               {user_id, strlen(user_id)},
                               {":", 1},
                               {password, strlen(password)}};

        if (sha256_parts(parts, ARRAY_SIZE(parts), inner))
            goto out;
    }
    len1 = pad(salt, buf1);
    {
        struct part parts[] = {{buf1, len1}, {inner, sizeof(inner)}};

        if (!len1 || sha256_parts(parts, 2, h) ||
            !BN_bin2bn(h, SRP_HASH_LEN, x))
            goto out;
    }

    /*
     * S = (B - k * g^x)^(a + u * x) mod N; BN_mod_sub() reduces into
     * [0, N), so a B below k * g^x gives no negative base.
     */
    if (!BN_mod_exp(t, c->g, x, c->n, ctx) || !BN_mod_mul(t, k, t, c->n, ctx) ||
        !BN_mod_sub(base, B, t, c->n, ctx) || !BN_mul(e, u, x, ctx) ||
        !BN_add(e, e, c->a) || !BN_mod_exp(S, base, e, c->n, ctx))
        goto out;

    /* K = HKDF(salt = pad(u), IKM = pad(S)) */
    len1 = pad(u, buf1);
    len2 = pad(S, buf2);
    if (!len1 || !len2 || derive_key(buf1, len1, buf2, len2, key))
        goto out;

    /* signature = HMAC(K, poolName || userId || block || TIMESTAMP) */
    {
        struct part parts[] = {{pool_name, strlen(pool_name)},
                               {user_id, strlen(user_id)},
                               {block, (size_t)block_len},
                               {timestamp, strlen(timestamp)}};

        if (hmac_parts(key, sizeof(key), parts, ARRAY_SIZE(parts), mac))
            goto out;
    }
    b64_mac(mac, out_b64);
    rc = 0;
out:
    OPENSSL_cleanse(buf1, sizeof(buf1));
    OPENSSL_cleanse(buf2, sizeof(buf2));
    OPENSSL_cleanse(h, sizeof(h));
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(key, sizeof(key));
    free(block);
    BN_free(salt);
    BN_free(B);
    BN_free(k);
    BN_free(u);
    BN_clear_free(x);
    BN_clear_free(t);
    BN_clear_free(base);
    BN_clear_free(e);
    BN_clear_free(S);
    BN_CTX_free(ctx);
    return rc;
}

/*
 * spec section 7. Fixed English tables and no strftime(): %d and %e pad the
 * day, %a and %b follow the locale.
 */
void srp_client_timestamp(time_t t, char out[SRP_CLIENT_TIMESTAMP_MAX])
{
    static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;

    out[0] = '\0';
    if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11)
        return;
    snprintf(out, SRP_CLIENT_TIMESTAMP_MAX, "%s %s %d %02d:%02d:%02d UTC %d",
             wday[tm.tm_wday], mon[tm.tm_mon], tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

int srp_client_secret_hash(const char *client_secret, const char *username,
                           const char *client_id,
                           char out_b64[SRP_CLIENT_SIG_MAX])
{
    unsigned char mac[SRP_HASH_LEN];

    out_b64[0] = '\0';
    if (!client_secret || !username || !client_id)
        return -1;
    {
        struct part parts[] = {{username, strlen(username)},
                               {client_id, strlen(client_id)}};

        if (hmac_parts(client_secret, strlen(client_secret), parts, 2, mac))
            return -1;
    }
    b64_mac(mac, out_b64);
    return 0;
}

void srp_client_free(struct srp_client *c)
{
    if (!c)
        return;
    BN_free(c->n);
    BN_free(c->g);
    BN_clear_free(c->a);
    BN_free(c->A);
    free(c->a_hex);
    free(c);
}

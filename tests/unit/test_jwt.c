/*
 * test_jwt.c - jwt.c: sign and verify round trips, every way a token can
 * be forged or broken (tampering, wrong key, alg "none", HS256 keyed with
 * the public key, unknown kid, malformed parts), and the claim checks of
 * spec/cognito.md section 6.
 *
 * Two RSA keys, made once in the group setup; every token is built from
 * them or by hand, so runs are deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "b64.h"
#include "crypto.h"
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW    INT64_C(1500009400) /* spec/cognito.md section 4 sample iat */
#define ISSUER "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
#define CLIENT "1example23456789"

struct fixture {
    char dir[64];
    char *path_a, *path_b;
    struct crypto_key *a, *b; /* private */
    char kid_a[CRYPTO_KID_MAX], kid_b[CRYPTO_KID_MAX];
};

/* What a lookup knows: kid -> key, a small JWKS. */
struct keyring {
    const char *kid[2];
    const struct crypto_key *key[2];
};

static const struct crypto_key *keyring_lookup(const char *kid, void *ctx)
{
    const struct keyring *ring = ctx;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(ring->kid); i++)
        if (ring->kid[i] && !strcmp(ring->kid[i], kid))
            return ring->key[i];
    return NULL;
}

static struct keyring ring_of(const struct fixture *f)
{
    struct keyring ring = {{f->kid_a, f->kid_b}, {f->a, f->b}};

    return ring;
}

static int setup_keys(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct kaeri_error err = {{0}, {0}};

    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/kaeri-test-jwt.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->path_a = xasprintf("%s/a.pem", f->dir);
    f->path_b = xasprintf("%s/b.pem", f->dir);
    if (crypto_key_load_or_create(f->path_a, &f->a, &err) ||
        crypto_key_load_or_create(f->path_b, &f->b, &err)) {
        print_error("key setup: %s: %s\n", err.where, err.text);
        return -1;
    }
    crypto_key_id(f->a, f->kid_a);
    crypto_key_id(f->b, f->kid_b);
    *state = f;
    return 0;
}

static int teardown_keys(void **state)
{
    struct fixture *f = *state;

    if (!f)
        return 0;
    unlink(f->path_a);
    unlink(f->path_b);
    rmdir(f->dir);
    crypto_key_free(f->a);
    crypto_key_free(f->b);
    free(f->path_a);
    free(f->path_b);
    free(f);
    return 0;
}

/*
 * A token by hand: base64url of 'header' and 'payload' as given, signed
 * with RS256 under 'key', or with HS256 under 'hmac_key' when 'key' is
 * NULL, or unsigned (empty signature) when both are NULL. New string.
 */
static char *forge(const char *header, const char *payload,
                   const struct crypto_key *key, const char *hmac_key)
{
    char *h = b64url_encode(header, strlen(header));
    char *p = b64url_encode(payload, strlen(payload));
    char *input = xasprintf("%s.%s", h, p);
    unsigned char sig[CRYPTO_RS256_SIG_MAX];
    size_t sig_len = 0;
    char *s, *token;

    if (key) {
        assert_int_equal(
            crypto_rs256_sign(key, input, strlen(input), sig, &sig_len),
            KAERI_OK);
    } else if (hmac_key) {
        crypto_hmac_sha256(hmac_key, strlen(hmac_key), input, strlen(input),
                           sig);
        sig_len = CRYPTO_SHA256_LEN;
    }
    s = b64url_encode(sig, sig_len);
    token = xasprintf("%s.%s", input, s);
    free(s);
    free(input);
    free(p);
    free(h);
    return token;
}

static char *header_for(const char *alg_member, const char *kid)
{
    return xasprintf("{\"kid\":\"%s\"%s%s}", kid, alg_member[0] ? "," : "",
                     alg_member);
}

/* Verify 'token' against the fixture's keyring; 'out' empty on failure. */
static enum kaeri_err verify(const struct fixture *f, const char *token,
                             struct jwt *out, struct kaeri_error *err)
{
    struct keyring ring = ring_of(f);
    enum kaeri_err rc;

    rc = jwt_verify(token, strlen(token), keyring_lookup, &ring, out, err);
    if (rc) {
        assert_null(out->header);
        assert_null(out->claims);
    }
    return rc;
}

/* --- sign and verify -------------------------------------------------- */

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    json_t *claims;
    char *token = NULL, *dot, *want_header, *want_h64, *want_c64;
    struct jwt jwt, dec;
    struct kaeri_error err = {{0}, {0}};

    /* Out of alphabetical order on purpose: the order must survive. */
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "sub", "u-1", "iss",
                       ISSUER, "token_use", "id", "aud", CLIENT, "exp",
                       (json_int_t)(NOW + 3600), "iat", (json_int_t)NOW);
    assert_int_equal(jwt_sign(claims, f->a, f->kid_a, &token), KAERI_OK);

    /* spec/cognito.md section 4: header {"kid":..,"alg":"RS256"}, compact */
    want_header = xasprintf("{\"kid\":\"%s\",\"alg\":\"RS256\"}", f->kid_a);
    want_h64 = b64url_encode(want_header, strlen(want_header));
    want_c64 = b64url_encode(
        "{\"sub\":\"u-1\",\"iss\":\"" ISSUER "\",\"token_use\":\"id\","
        "\"aud\":\"" CLIENT "\",\"exp\":1500013000,\"iat\":1500009400}",
        strlen("{\"sub\":\"u-1\",\"iss\":\"" ISSUER "\",\"token_use\":\"id\","
               "\"aud\":\"" CLIENT
               "\",\"exp\":1500013000,\"iat\":1500009400}"));
    dot = strchr(token, '.');
    assert_non_null(dot);
    assert_int_equal((size_t)(dot - token), strlen(want_h64));
    assert_memory_equal(token, want_h64, strlen(want_h64));
    assert_memory_equal(dot + 1, want_c64, strlen(want_c64));
    assert_int_equal(dot[1 + strlen(want_c64)], '.');
    assert_null(strchr(token, '='));

    assert_int_equal(verify(f, token, &jwt, &err), KAERI_OK);
    assert_true(json_equal(jwt.claims, claims));
    assert_string_equal(json_string_value(json_object_get(jwt.header, "alg")),
                        "RS256");
    assert_string_equal(json_string_value(json_object_get(jwt.header, "kid")),
                        f->kid_a);

    /* decode agrees, without a key */
    assert_int_equal(jwt_decode(token, strlen(token), &dec, NULL), KAERI_OK);
    assert_true(json_equal(dec.claims, jwt.claims));
    assert_true(json_equal(dec.header, jwt.header));

    jwt_release(&dec);
    jwt_release(&jwt);
    jwt_release(&jwt); /* twice is harmless */
    free(want_c64);
    free(want_h64);
    free(want_header);
    free(token);
    json_decref(claims);
}

static void test_sign_refuses(void **state)
{
    struct fixture *f = *state;
    struct crypto_key *pub = NULL;
    json_t *jwk = crypto_key_jwk(f->a, NULL);
    json_t *claims = json_pack("{s:s}", "sub", "u");
    json_t *array = json_array();
    json_t *huge;
    char *token = (char *)"untouched", *big;

    /* a public key cannot sign */
    assert_int_equal(
        crypto_key_from_jwk(json_string_value(json_object_get(jwk, "n")),
                            json_string_value(json_object_get(jwk, "e")), &pub,
                            NULL),
        KAERI_OK);
    assert_int_equal(jwt_sign(claims, pub, f->kid_a, &token),
                     KAERI_ERR_INVALID);
    assert_null(token);
    /* claims must be an object; a kid is required */
    assert_int_equal(jwt_sign(array, f->a, f->kid_a, &token),
                     KAERI_ERR_INVALID);
    assert_int_equal(jwt_sign(claims, f->a, NULL, &token), KAERI_ERR_INVALID);
    /* a token jwt_verify() would refuse for its length is not made */
    big = xmalloc(JWT_MAX_LEN);
    memset(big, 'x', JWT_MAX_LEN - 1);
    big[JWT_MAX_LEN - 1] = '\0';
    huge = json_pack("{s:s}", "pad", big);
    assert_int_equal(jwt_sign(huge, f->a, f->kid_a, &token), KAERI_ERR_LIMIT);
    assert_null(token);

    json_decref(huge);
    free(big);
    json_decref(array);
    json_decref(claims);
    json_decref(jwk);
    crypto_key_free(pub);
}

/* --- forgeries -------------------------------------------------------- */

static void test_tampered(void **state)
{
    struct fixture *f = *state;
    json_t *claims = json_pack("{s:s, s:b}", "sub", "u", "admin", 0);
    json_t *evil = json_pack("{s:s, s:b}", "sub", "u", "admin", 1);
    char *token = NULL, *other = NULL, *forged;
    char *evil_json = json_dumps(evil, JSON_COMPACT);
    char *evil64 = b64url_encode(evil_json, strlen(evil_json));
    const char *d1, *d2;
    struct jwt jwt;
    struct kaeri_error err = {{0}, {0}};
    size_t mid;

    assert_int_equal(jwt_sign(claims, f->a, f->kid_a, &token), KAERI_OK);
    assert_int_equal(jwt_sign(evil, f->a, f->kid_a, &other), KAERI_OK);
    d1 = strchr(token, '.');
    d2 = strchr(d1 + 1, '.');

    /* payload swapped for another, signature kept */
    forged = xasprintf("%.*s.%s%s", (int)(d1 - token), token, evil64, d2);
    assert_int_equal(verify(f, forged, &jwt, &err), KAERI_ERR_AUTH);
    assert_string_equal(err.text, "bad signature");
    free(forged);

    /* one signature character changed (not the last: its low bits count) */
    forged = xstrdup(token);
    mid = (size_t)(d2 - token) + 1 + strlen(d2 + 1) / 2;
    forged[mid] = forged[mid] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(f, forged, &jwt, &err), KAERI_ERR_AUTH);
    free(forged);

    /* the signature of another token of the same key */
    forged = xasprintf("%.*s%s", (int)(d2 - token), token, strrchr(other, '.'));
    assert_int_equal(verify(f, forged, &jwt, &err), KAERI_ERR_AUTH);
    free(forged);

    /* the signature dropped */
    forged = xasprintf("%.*s.", (int)(d2 - token), token);
    assert_int_equal(verify(f, forged, &jwt, &err), KAERI_ERR_AUTH);
    free(forged);

    /* a signature longer than any RS256 signature */
    {
        char *longsig = xmalloc(800);

        memset(longsig, 'A', 799);
        longsig[799] = '\0';
        forged = xasprintf("%.*s.%s", (int)(d2 - token), token, longsig);
        assert_int_equal(verify(f, forged, &jwt, &err), KAERI_ERR_AUTH);
        free(forged);
        free(longsig);
    }

    /* and the untouched token still verifies */
    assert_int_equal(verify(f, token, &jwt, &err), KAERI_OK);
    jwt_release(&jwt);

    free(evil64);
    free(evil_json);
    free(other);
    free(token);
    json_decref(evil);
    json_decref(claims);
}

/* The kid names key a, the lookup answers key b: the signature fails. */
static void test_wrong_key(void **state)
{
    struct fixture *f = *state;
    struct keyring swapped = {{f->kid_a, f->kid_b}, {f->b, f->a}};
    json_t *claims = json_pack("{s:s}", "sub", "u");
    char *token = NULL;
    struct jwt jwt;
    struct kaeri_error err = {{0}, {0}};

    assert_int_equal(jwt_sign(claims, f->a, f->kid_a, &token), KAERI_OK);
    assert_int_equal(
        jwt_verify(token, strlen(token), keyring_lookup, &swapped, &jwt, &err),
        KAERI_ERR_AUTH);
    assert_null(jwt.claims);
    assert_string_equal(err.text, "bad signature");
    free(token);
    json_decref(claims);
}

/*
 * Every alg but "RS256" is refused, even with a valid RS256 signature
 * over the token, so the check does not hang on the signature failing.
 */
static void test_alg_refused(void **state)
{
    static const char *const algs[] = {
        "\"alg\":\"none\"",  "\"alg\":\"None\"",
        "\"alg\":\"HS256\"", "\"alg\":\"RS512\"",
        "\"alg\":\"PS256\"", "\"alg\":\"ES256\"",
        "\"alg\":\"rs256\"", "\"alg\":\"RS256 \"",
        "\"alg\":\"\"",      "\"alg\":null",
        "\"alg\":256",       "\"alg\":[\"RS256\"]",
        "\"alg\":{}",        "", /* no alg at all */
    };
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(algs); i++) {
        char *header = header_for(algs[i], f->kid_a);
        char *signed_rs = forge(header, "{\"sub\":\"u\"}", f->a, NULL);
        char *unsigned_tok = forge(header, "{\"sub\":\"u\"}", NULL, NULL);
        struct kaeri_error err = {{0}, {0}};
        struct jwt jwt;

        if (verify(f, signed_rs, &jwt, &err) != KAERI_ERR_AUTH ||
            strcmp(err.text, "alg is not RS256") != 0)
            fail_msg("header %s: accepted or wrong reason '%s'", header,
                     err.text);
        assert_int_equal(verify(f, unsigned_tok, &jwt, &err), KAERI_ERR_AUTH);
        free(unsigned_tok);
        free(signed_rs);
        free(header);
    }
}

/*
 * The classic confusion: an HS256 token whose HMAC key is the public key
 * as the verifier publishes it. RS256-only verification must not care.
 */
static void test_hs256_with_public_key(void **state)
{
    struct fixture *f = *state;
    json_t *jwk = crypto_key_jwk(f->a, f->kid_a);
    char *jwk_text = json_dumps(jwk, JSON_COMPACT);
    char *jwk_pretty = json_dumps(jwk, JSON_INDENT(2));
    char *jwks_text = xasprintf("{\"keys\":[%s]}", jwk_text);
    const char *n = json_string_value(json_object_get(jwk, "n"));
    struct crypto_key *pub = NULL;
    const char *hmac_keys[4];
    struct keyring public_ring;
    size_t i;

    hmac_keys[0] = jwk_text;
    hmac_keys[1] = jwk_pretty;
    hmac_keys[2] = jwks_text;
    hmac_keys[3] = n;
    assert_int_equal(
        crypto_key_from_jwk(n, json_string_value(json_object_get(jwk, "e")),
                            &pub, NULL),
        KAERI_OK);
    public_ring = (struct keyring){{f->kid_a, NULL}, {pub, NULL}};
    for (i = 0; i < ARRAY_SIZE(hmac_keys); i++) {
        char *header = header_for("\"alg\":\"HS256\"", f->kid_a);
        char *token = forge(header, "{\"sub\":\"admin\"}", NULL, hmac_keys[i]);
        struct kaeri_error err = {{0}, {0}};
        struct jwt jwt;

        assert_int_equal(verify(f, token, &jwt, &err), KAERI_ERR_AUTH);
        assert_int_equal(jwt_verify(token, strlen(token), keyring_lookup,
                                    &public_ring, &jwt, &err),
                         KAERI_ERR_AUTH);
        assert_null(jwt.header);
        free(token);
        free(header);
    }
    crypto_key_free(pub);
    free(jwks_text);
    free(jwk_pretty);
    free(jwk_text);
    json_decref(jwk);
}

/*
 * The same with a public key known only as PEM text (no private half in
 * this test): HS256 keyed with that very PEM is still refused.
 */
static void test_hs256_with_public_pem(void **state)
{
    static const char pem[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz0SCUMiJ48emFqr+zKhO\n"
        "DFlTOchVm0IPz+sV05/ZTjodTdytgx3JORey1k61LK9+GLmMXNyWlTLZ78TV55Qp\n"
        "VKK879CHc4Rlt8ZFyIVk4RwiKIBIbiGR4yGE8kbN4CLpTj+h7KzPvFw/u+NuGfV4\n"
        "aRH6k8ILfPopUFZYq823UIuqsgvzZ1ldb4OWOv92qQGW1IqKGuX9uT0Ge44j61dK\n"
        "VQBJl+AfUr9HtNeVKblr5qfV8EyFYnVVwXlCpS9AxJDgwFrKlyB7Gqu8/xechV3M\n"
        "Du+ecSk4adIFU7XKHu4Hd+nq2xqLTqh9LH3Ko9c9mmmILnXiVHljMh+FHa1WgQwh\n"
        "HwIDAQAB\n"
        "-----END PUBLIC KEY-----\n";
    struct crypto_key *pub = NULL;
    struct keyring ring;
    char *header, *token;
    struct kaeri_error err = {{0}, {0}};
    struct jwt jwt;

    (void)state;
    assert_int_equal(crypto_key_from_pem(pem, strlen(pem), &pub, NULL),
                     KAERI_OK);
    ring = (struct keyring){{"pem", NULL}, {pub, NULL}};
    header = header_for("\"alg\":\"HS256\"", "pem");
    token = forge(header, "{\"sub\":\"admin\"}", NULL, pem);
    assert_int_equal(
        jwt_verify(token, strlen(token), keyring_lookup, &ring, &jwt, &err),
        KAERI_ERR_AUTH);
    assert_string_equal(err.text, "alg is not RS256");
    assert_null(jwt.claims);
    free(token);
    free(header);
    crypto_key_free(pub);
}

static void test_kid_refused(void **state)
{
    static const char *const headers[] = {
        "{\"kid\":\"unknown=\",\"alg\":\"RS256\"}",
        "{\"kid\":\"\",\"alg\":\"RS256\"}",
        "{\"alg\":\"RS256\"}",
        "{\"kid\":42,\"alg\":\"RS256\"}",
        "{\"kid\":null,\"alg\":\"RS256\"}",
        "{\"kid\":[\"x\"],\"alg\":\"RS256\"}",
    };
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(headers); i++) {
        char *token = forge(headers[i], "{}", f->a, NULL);
        struct jwt jwt;

        assert_int_equal(verify(f, token, &jwt, NULL), KAERI_ERR_AUTH);
        free(token);
    }
}

/* "crit" names extensions we do not implement: refused (RFC 7515 4.1.11). */
static void test_crit_refused(void **state)
{
    struct fixture *f = *state;
    char *header = xasprintf(
        "{\"kid\":\"%s\",\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}",
        f->kid_a);
    char *token = forge(header, "{}", f->a, NULL);
    struct jwt jwt;

    assert_int_equal(verify(f, token, &jwt, NULL), KAERI_ERR_AUTH);
    free(token);
    free(header);
}

/* --- malformed -------------------------------------------------------- */

/* {"alg":"RS256","kid":"k"}: a well-formed header with an unknown kid */
#define H "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ"

static void test_malformed(void **state)
{
    static const struct {
        const char *token;
        size_t len;
        enum kaeri_err decode_rc, verify_rc;
    } cases[] = {
#define T(tok, d, v) {tok, sizeof(tok) - 1, KAERI_##d, KAERI_##v}
        T("", ERR_INVALID, ERR_INVALID),
        T("e30", ERR_INVALID, ERR_INVALID),
        T("e30.e30", ERR_INVALID, ERR_INVALID),
        T("e30.e30.e30.e30", ERR_INVALID, ERR_INVALID),
        T("..", ERR_INVALID, ERR_INVALID),
        T("...", ERR_INVALID, ERR_INVALID),
        T("!!!.e30.e30", ERR_INVALID, ERR_INVALID),
        T("W10.e30.e30", ERR_INVALID, ERR_INVALID),    /* [] */
        T("ImEi.e30.e30", ERR_INVALID, ERR_INVALID),   /* "a" */
        T("MQ.e30.e30", ERR_INVALID, ERR_INVALID),     /* 1 */
        T("ew.e30.e30", ERR_INVALID, ERR_INVALID),     /* { */
        T("bnVsbA.e30.e30", ERR_INVALID, ERR_INVALID), /* null */
        /* {"a":1,"a":2}: duplicate names */
        T("eyJhIjoxLCJhIjoyfQ.e30.e30", ERR_INVALID, ERR_INVALID),
        /* padding, whitespace, stray bytes in any part */
        T("e30=.e30.e30", ERR_INVALID, ERR_INVALID),
        T(H ".e30=.e30", ERR_INVALID, ERR_INVALID),
        T(H ".e30.e30=", ERR_INVALID, ERR_INVALID),
        T(H ". e30.e30", ERR_INVALID, ERR_INVALID),
        T(H ".e30.e30\n", ERR_INVALID, ERR_INVALID),
        T(H ".!!.e30", ERR_INVALID, ERR_INVALID),
        T(H ".e30.+/+/", ERR_INVALID, ERR_INVALID),
        T(H ".e30.e3", ERR_INVALID, ERR_INVALID), /* non-zero last bits */
        T(H ".e30.e30\0", ERR_INVALID, ERR_INVALID),
        T(H "\0.e30.e30", ERR_INVALID, ERR_INVALID),
        /*
         * Payload problems: decode sees them; verify refuses the
         * signature first, never parsing unsigned JSON.
         */
        T(H ".W10.e30", ERR_INVALID, ERR_AUTH),
        T(H "..e30", ERR_INVALID, ERR_AUTH),
        T(H ".ew.e30", ERR_INVALID, ERR_AUTH),
        /* well formed: decode takes them, verify does not */
        T(H ".e30.e30", OK, ERR_AUTH),
        T(H ".e30.", OK, ERR_AUTH),
        T("e30.e30.e30", OK, ERR_AUTH),
#undef T
    };
    struct fixture *f = *state;
    struct keyring ring = ring_of(f);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct jwt jwt = {(json_t *)&err, (json_t *)&err}; /* not NULL */
        enum kaeri_err rc;

        rc = jwt_decode(cases[i].token, cases[i].len, &jwt, &err);
        if (rc != cases[i].decode_rc)
            fail_msg("decode '%s': rc %d, want %d (%s)", cases[i].token,
                     (int)rc, (int)cases[i].decode_rc, err.text);
        if (rc) {
            assert_null(jwt.header);
            assert_null(jwt.claims);
            assert_true(err.text[0] != '\0');
        }
        jwt_release(&jwt);
        rc = jwt_verify(cases[i].token, cases[i].len, keyring_lookup, &ring,
                        &jwt, &err);
        if (rc != cases[i].verify_rc)
            fail_msg("verify '%s': rc %d, want %d (%s)", cases[i].token,
                     (int)rc, (int)cases[i].verify_rc, err.text);
        assert_null(jwt.header);
        assert_null(jwt.claims);
    }
}

/* A validly signed token whose payload is not an object is still malformed. */
static void test_signed_payload_not_object(void **state)
{
    static const char *const payloads[] = {"[]", "\"x\"", "1", "{",
                                           "{\"a\":1,\"a\":2}"};
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(payloads); i++) {
        char *header = header_for("\"alg\":\"RS256\"", f->kid_a);
        char *token = forge(header, payloads[i], f->a, NULL);
        struct jwt jwt;

        assert_int_equal(verify(f, token, &jwt, NULL), KAERI_ERR_INVALID);
        free(token);
        free(header);
    }
}

static void test_too_long(void **state)
{
    struct fixture *f = *state;
    char *token = xmalloc(JWT_MAX_LEN + 2);
    struct jwt jwt;

    /* a well-formed shape, one byte over the limit */
    memset(token, 'A', JWT_MAX_LEN + 1);
    memcpy(token, H ".", strlen(H "."));
    token[JWT_MAX_LEN - 10] = '.';
    token[JWT_MAX_LEN + 1] = '\0';
    assert_int_equal(jwt_decode(token, JWT_MAX_LEN + 1, &jwt, NULL),
                     KAERI_ERR_INVALID);
    assert_int_equal(verify(f, token, &jwt, NULL), KAERI_ERR_INVALID);
    free(token);
}

/* --- claims ----------------------------------------------------------- */

/* An ID and an access token as Cognito issues them (section 4). */
#define ID_CLAIMS(extra)                                          \
    "{\"sub\":\"u\",\"iss\":\"" ISSUER "\",\"token_use\":\"id\"," \
    "\"aud\":\"" CLIENT "\",\"auth_time\":1500009400,"            \
    "\"exp\":1500013000,\"iat\":1500009400" extra "}"
#define ACCESS_CLAIMS(extra)                                                \
    "{\"sub\":\"u\",\"iss\":\"" ISSUER "\",\"client_id\":\"" CLIENT "\","   \
    "\"token_use\":\"access\",\"scope\":\"aws.cognito.signin.user.admin\"," \
    "\"exp\":1500013000,\"iat\":1500009400" extra "}"

static const struct jwt_expect want_id = {ISSUER, "id", CLIENT, NOW, 60};
static const struct jwt_expect want_access = {ISSUER, "access", CLIENT, NOW,
                                              60};

struct claim_case {
    const char *why;
    const char *claims;
    const struct jwt_expect *want;
    int64_t now; /* overrides want->now when not 0 */
    enum kaeri_err rc;
    const char *text; /* err.text, when rc is not OK */
};

static const struct jwt_expect want_nothing = {NULL, NULL, NULL, 0, 0};
static const struct jwt_expect want_client = {NULL, NULL, CLIENT, 0, 0};
static const struct jwt_expect want_use_id = {NULL, "id", NULL, 0, 0};

static const struct claim_case claim_cases[] = {
    {"id token, all right", ID_CLAIMS(""), &want_id, 0, KAERI_OK, NULL},
    {"access token, all right", ACCESS_CLAIMS(""), &want_access, 0, KAERI_OK,
     NULL},
    {"one second before exp", ID_CLAIMS(""), &want_id, 1500012999, KAERI_OK,
     NULL},
    {"expired: exp == now", ID_CLAIMS(""), &want_id, 1500013000,
     KAERI_ERR_EXPIRED, "token expired"},
    {"expired: exp < now", ACCESS_CLAIMS(""), &want_access, 1600000000,
     KAERI_ERR_EXPIRED, "token expired"},
    {"exp missing", "{\"iss\":\"" ISSUER "\"}", &want_id, 0, KAERI_ERR_AUTH,
     "exp missing"},
    {"exp a string", "{\"exp\":\"1500013000\"}", &want_id, 0, KAERI_ERR_AUTH,
     "exp is not a number"},
    {"exp a fraction past now", "{\"exp\":1500009400.5}", &want_nothing, NOW,
     KAERI_OK, NULL},
    {"exp a fraction before now", "{\"exp\":1500009399.5}", &want_nothing, NOW,
     KAERI_ERR_EXPIRED, "token expired"},
    {"nbf in the future", ID_CLAIMS(",\"nbf\":1500009461"), &want_id, 0,
     KAERI_ERR_AUTH, "token not valid yet (nbf in the future)"},
    {"nbf within the skew", ID_CLAIMS(",\"nbf\":1500009460"), &want_id, 0,
     KAERI_OK, NULL},
    {"nbf not a number", ID_CLAIMS(",\"nbf\":true"), &want_id, 0,
     KAERI_ERR_AUTH, "nbf is not a number"},
    {"iat in the future", "{\"exp\":1600000000,\"iat\":1500009500}",
     &want_nothing, NOW, KAERI_ERR_AUTH, "token issued in the future (iat)"},
    {"times unchecked without now",
     "{\"iss\":\"" ISSUER "\",\"token_use\":\"id\",\"aud\":\"" CLIENT "\","
     "\"exp\":1,\"iat\":9999999999}",
     &want_id, -1, KAERI_OK, NULL},
    {"aud of another client",
     "{\"iss\":\"" ISSUER "\",\"token_use\":\"id\",\"aud\":\"other\","
     "\"exp\":1500013000}",
     &want_id, 0, KAERI_ERR_AUTH, "aud mismatch"},
    {"aud missing",
     "{\"iss\":\"" ISSUER "\",\"token_use\":\"id\",\"exp\":1500013000}",
     &want_id, 0, KAERI_ERR_AUTH, "aud missing"},
    {"aud a number", "{\"aud\":1,\"exp\":1500013000}", &want_id, 0,
     KAERI_ERR_AUTH, "aud is not a string"},
    {"aud an array holding the client",
     "{\"iss\":\"" ISSUER "\",\"token_use\":\"id\","
     "\"aud\":[\"x\",\"" CLIENT "\"],\"exp\":1500013000}",
     &want_id, 0, KAERI_OK, NULL},
    {"aud an array without the client",
     "{\"aud\":[\"x\",1,\"" CLIENT "x\"],\"exp\":1500013000}", &want_id, 0,
     KAERI_ERR_AUTH, "aud mismatch"},
    {"client_id of another client",
     "{\"iss\":\"" ISSUER "\",\"token_use\":\"access\","
     "\"client_id\":\"other\",\"exp\":1500013000}",
     &want_access, 0, KAERI_ERR_AUTH, "client_id mismatch"},
    {"client_id a prefix",
     "{\"client_id\":\"" CLIENT "\\u0000x\",\"exp\":1500013000}", &want_access,
     0, KAERI_ERR_AUTH, "client_id mismatch"},
    {"access token where an id token is wanted", ACCESS_CLAIMS(""), &want_id, 0,
     KAERI_ERR_AUTH, "aud missing"},
    {"id token where an access token is wanted", ID_CLAIMS(""), &want_access, 0,
     KAERI_ERR_AUTH, "client_id missing"},
    {"wrong token_use", ACCESS_CLAIMS(""), &want_use_id, 0, KAERI_ERR_AUTH,
     "token_use mismatch"},
    {"token_use missing", "{\"sub\":\"u\"}", &want_use_id, 0, KAERI_ERR_AUTH,
     "token_use missing"},
    {"wrong iss",
     "{\"iss\":\"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other\","
     "\"token_use\":\"id\",\"aud\":\"" CLIENT "\",\"exp\":1500013000}",
     &want_id, 0, KAERI_ERR_AUTH, "iss mismatch"},
    {"iss missing",
     "{\"token_use\":\"id\",\"aud\":\"" CLIENT "\",\"exp\":1500013000}",
     &want_id, 0, KAERI_ERR_AUTH, "iss missing"},
    {"iss not a string",
     "{\"iss\":{},\"aud\":\"" CLIENT "\",\"exp\":1500013000}", &want_id, 0,
     KAERI_ERR_AUTH, "iss is not a string"},
    /* no token_use wanted: aud when present, else client_id */
    {"either token, aud", ID_CLAIMS(""), &want_client, 0, KAERI_OK, NULL},
    {"either token, client_id", ACCESS_CLAIMS(""), &want_client, 0, KAERI_OK,
     NULL},
    {"either token, wrong aud wins over right client_id",
     "{\"aud\":\"other\",\"client_id\":\"" CLIENT "\"}", &want_client, 0,
     KAERI_ERR_AUTH, "aud mismatch"},
    {"nothing wanted", "{}", &want_nothing, 0, KAERI_OK, NULL},
};

static void test_check_claims(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(claim_cases); i++) {
        const struct claim_case *c = &claim_cases[i];
        struct jwt_expect want = *c->want;
        struct kaeri_error err = {{0}, {0}};
        struct jwt jwt = {NULL, NULL};
        json_error_t jerr;
        enum kaeri_err rc;

        jwt.claims = json_loads(c->claims, JSON_ALLOW_NUL, &jerr);
        if (!jwt.claims)
            fail_msg("%s: bad test JSON: %s", c->why, jerr.text);
        if (c->now)
            want.now = c->now < 0 ? 0 : c->now;
        rc = jwt_check_claims(&jwt, &want, &err);
        if (rc != c->rc || (c->text && strcmp(err.text, c->text) != 0))
            fail_msg("%s: rc %d '%s', want %d '%s'", c->why, (int)rc, err.text,
                     (int)c->rc, c->text ? c->text : "");
        jwt_release(&jwt);
    }
}

static void test_check_claims_no_claims(void **state)
{
    struct jwt jwt = {NULL, NULL};

    (void)state;
    assert_int_equal(jwt_check_claims(&jwt, &want_id, NULL), KAERI_ERR_INVALID);
}

/* The whole path a consumer takes: verify, then check. */
static void test_verify_then_check(void **state)
{
    struct fixture *f = *state;
    json_error_t jerr;
    json_t *id = json_loads(ID_CLAIMS(""), 0, &jerr);
    json_t *access = json_loads(ACCESS_CLAIMS(""), 0, &jerr);
    char *id_token = NULL, *access_token = NULL;
    struct kaeri_error err = {{0}, {0}};
    struct jwt jwt;

    /* spec/cognito.md section 4: the two token kinds use different keys */
    assert_int_equal(jwt_sign(id, f->a, f->kid_a, &id_token), KAERI_OK);
    assert_int_equal(jwt_sign(access, f->b, f->kid_b, &access_token), KAERI_OK);

    assert_int_equal(verify(f, id_token, &jwt, &err), KAERI_OK);
    assert_int_equal(jwt_check_claims(&jwt, &want_id, &err), KAERI_OK);
    assert_int_equal(jwt_check_claims(&jwt, &want_access, &err),
                     KAERI_ERR_AUTH);
    jwt_release(&jwt);

    assert_int_equal(verify(f, access_token, &jwt, &err), KAERI_OK);
    assert_int_equal(jwt_check_claims(&jwt, &want_access, &err), KAERI_OK);
    jwt_release(&jwt);

    free(access_token);
    free(id_token);
    json_decref(access);
    json_decref(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_alg_refused),
        cmocka_unit_test(test_hs256_with_public_key),
        cmocka_unit_test(test_hs256_with_public_pem),
        cmocka_unit_test(test_kid_refused),
        cmocka_unit_test(test_crit_refused),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_signed_payload_not_object),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_check_claims),
        cmocka_unit_test(test_check_claims_no_claims),
        cmocka_unit_test(test_verify_then_check),
    };

    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}

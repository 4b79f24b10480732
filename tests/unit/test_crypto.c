/*
 * test_crypto.c - crypto.c: SHA-256 and HMAC known answers (FIPS 180-2,
 * RFC 4231, the SECRET_HASH example of spec/cognito.md section 3), UUIDs,
 * constant-time compare, and RSA keys: load or create in a temporary
 * directory, PEM and JWK import, JWKS export, RS256.
 *
 * RSA generation costs ~50-100 ms, so the group setup makes the only two
 * keys and every test shares them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "b64.h"
#include "crypto.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];             /* mkdtemp() */
    char *path_a, *path_b;    /* PEM files inside 'dir' */
    struct crypto_key *a, *b; /* private keys */
};

/* --- known answers ---------------------------------------------------- */

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    crypto_hex(p, n, out);
}

static void test_sha256(void **state)
{
    static const struct {
        const char *msg;
        const char *hex;
    } vectors[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    unsigned char digest[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(vectors); i++) {
        crypto_sha256(vectors[i].msg, strlen(vectors[i].msg), digest);
        hex_of(digest, sizeof(digest), hex);
        assert_string_equal(hex, vectors[i].hex);
    }
}

static void test_hmac_sha256(void **state)
{
    static const struct {
        const char *key;
        size_t key_len;
        const char *msg;
        const char *hex;
    } vectors[] = {
        /* RFC 4231 test case 1 */
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
         "\x0b\x0b\x0b\x0b",
         20, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        /* RFC 4231 test case 2 */
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        /* empty key and message: still HMAC, not an error */
        {"", 0, "",
         "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
    };
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(vectors); i++) {
        crypto_hmac_sha256(vectors[i].key, vectors[i].key_len, vectors[i].msg,
                           strlen(vectors[i].msg), mac);
        hex_of(mac, sizeof(mac), hex);
        assert_string_equal(hex, vectors[i].hex);
    }
}

/* spec/cognito.md section 3 */
static void test_secret_hash(void **state)
{
    static const char secret[] =
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop";
    static const char msg[] = "janedoe"
                              "1example23456789";
    unsigned char mac[CRYPTO_SHA256_LEN];
    char *b64;

    (void)state;
    crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    b64 = b64_encode(mac, sizeof(mac));
    assert_string_equal(b64, "hvfK2Tb28A+0smK6eYncNRw7IDA6nI26er1YyFM6l98=");
    free(b64);
}

static void test_hex(void **state)
{
    char out[9];

    (void)state;
    crypto_hex("\x00\x01\xab\xff", 4, out);
    assert_string_equal(out, "0001abff");
    crypto_hex("", 0, out);
    assert_string_equal(out, "");
}

static void assert_uuid_v4(const char *u)
{
    size_t i;

    assert_int_equal(strlen(u), CRYPTO_UUID_LEN);
    for (i = 0; i < CRYPTO_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '4');           /* version */
    assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
}

static void test_uuid(void **state)
{
    char u1[CRYPTO_UUID_LEN + 1], u2[CRYPTO_UUID_LEN + 1];
    int i;

    (void)state;
    /* Enough draws that fixed version bits would be seen to be forced. */
    for (i = 0; i < 64; i++) {
        crypto_uuid(u1);
        assert_uuid_v4(u1);
    }
    crypto_uuid(u2);
    assert_string_not_equal(u1, u2);
}

static void test_memeq(void **state)
{
    static const struct {
        const char *a, *b;
        size_t n;
        bool eq;
    } cases[] = {
        {"", "", 0, true},          {"abc", "abc", 3, true},
        {"abc", "abd", 3, false},   {"xbc", "abc", 3, false},
        {"abc", "abd", 2, true}, /* only 'n' bytes count */
        {"a\0b", "a\0c", 3, false},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(crypto_memeq(cases[i].a, cases[i].b, cases[i].n),
                         cases[i].eq);
}

static void test_random_and_wipe(void **state)
{
    static const unsigned char zero[32];
    unsigned char r1[32], r2[32];

    (void)state;
    crypto_random(r1, sizeof(r1));
    crypto_random(r2, sizeof(r2));
    assert_memory_not_equal(r1, r2, sizeof(r1));
    crypto_wipe(r1, sizeof(r1));
    assert_memory_equal(r1, zero, sizeof(r1));
}

/* --- keys ------------------------------------------------------------- */

static int setup_keys(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct kaeri_error err = {{0}, {0}};

    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/kaeri-test-crypto.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->path_a = xasprintf("%s/a.pem", f->dir);
    f->path_b = xasprintf("%s/b.pem", f->dir);
    if (crypto_key_load_or_create(f->path_a, &f->a, &err) ||
        crypto_key_load_or_create(f->path_b, &f->b, &err)) {
        print_error("key setup: %s: %s\n", err.where, err.text);
        return -1;
    }
    *state = f;
    return 0;
}

/* Remove every file in the temporary directory, then the directory. */
static int teardown_keys(void **state)
{
    struct fixture *f = *state;
    struct dirent *de;
    DIR *d;

    if (!f)
        return 0;
    d = opendir(f->dir);
    while (d && (de = readdir(d))) {
        char *p;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        p = xasprintf("%s/%s", f->dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    crypto_key_free(f->a);
    crypto_key_free(f->b);
    free(f->path_a);
    free(f->path_b);
    free(f);
    return 0;
}

static size_t count_files(const char *dir)
{
    struct dirent *de;
    size_t n = 0;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* The second call loads what the first wrote: same key, same kid. */
static void test_load_or_create(void **state)
{
    struct fixture *f = *state;
    struct crypto_key *again = NULL;
    char kid_a[CRYPTO_KID_MAX], kid_again[CRYPTO_KID_MAX];
    char kid_b[CRYPTO_KID_MAX];
    struct stat st;

    assert_true(crypto_key_is_private(f->a));
    assert_int_equal(crypto_key_load_or_create(f->path_a, &again, NULL),
                     KAERI_OK);
    assert_true(crypto_key_is_private(again));
    crypto_key_id(f->a, kid_a);
    crypto_key_id(again, kid_again);
    crypto_key_id(f->b, kid_b);
    assert_string_equal(kid_a, kid_again);
    assert_string_not_equal(kid_a, kid_b);
    crypto_key_free(again);

    assert_int_equal(stat(f->path_a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* a.pem and b.pem, and no temporary file left behind */
    assert_int_equal(count_files(f->dir), 2);
}

/* An existing file that is not a private key is an error, never replaced. */
static void test_load_refuses(void **state)
{
    static const char public_pem[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz0SCUMiJ48emFqr+zKhO\n"
        "DFlTOchVm0IPz+sV05/ZTjodTdytgx3JORey1k61LK9+GLmMXNyWlTLZ78TV55Qp\n"
        "VKK879CHc4Rlt8ZFyIVk4RwiKIBIbiGR4yGE8kbN4CLpTj+h7KzPvFw/u+NuGfV4\n"
        "aRH6k8ILfPopUFZYq823UIuqsgvzZ1ldb4OWOv92qQGW1IqKGuX9uT0Ge44j61dK\n"
        "VQBJl+AfUr9HtNeVKblr5qfV8EyFYnVVwXlCpS9AxJDgwFrKlyB7Gqu8/xechV3M\n"
        "Du+ecSk4adIFU7XKHu4Hd+nq2xqLTqh9LH3Ko9c9mmmILnXiVHljMh+FHa1WgQwh\n"
        "HwIDAQAB\n"
        "-----END PUBLIC KEY-----\n";
    static const struct {
        const char *name;
        const char *content; /* NULL: do not create */
        enum kaeri_err rc;
    } cases[] = {
        {"garbage.pem", "not a key\n", KAERI_ERR_INVALID},
        {"empty.pem", "", KAERI_ERR_INVALID},
        {"public.pem", public_pem, KAERI_ERR_INVALID},
        {"no-such-dir/key.pem", NULL, KAERI_ERR_IO},
    };
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct crypto_key *key = (struct crypto_key *)&err; /* not NULL */
        char *path = xasprintf("%s/%s", f->dir, cases[i].name);

        if (cases[i].content)
            write_file(path, cases[i].content);
        assert_int_equal(crypto_key_load_or_create(path, &key, &err),
                         cases[i].rc);
        assert_null(key);
        assert_string_equal(err.where, path);
        assert_true(err.text[0] != '\0');
        if (cases[i].content) {
            FILE *fp = fopen(path, "r");
            char back[2048] = "";
            size_t n;

            assert_non_null(fp);
            n = fread(back, 1, sizeof(back) - 1, fp);
            back[n] = '\0';
            assert_int_equal(fclose(fp), 0);
            assert_string_equal(back, cases[i].content);
            unlink(path);
        }
        free(path);
    }
    /*
     * Only a missing file means "create": a path that cannot be opened
     * for another reason (here a symbolic link to itself) is an error, and
     * the link is still there afterwards.
     */
    {
        char *loop = xasprintf("%s/loop.pem", f->dir);
        struct crypto_key *key = NULL;
        struct stat st;

        assert_int_equal(symlink("loop.pem", loop), 0);
        assert_int_equal(crypto_key_load_or_create(loop, &key, NULL),
                         KAERI_ERR_IO);
        assert_null(key);
        assert_int_equal(lstat(loop, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        unlink(loop);
        free(loop);
    }
    /* A directory is not a key file either. */
    {
        struct crypto_key *key = NULL;

        assert_int_equal(crypto_key_load_or_create(f->dir, &key, NULL),
                         KAERI_ERR_IO);
        assert_null(key);
    }
}

static void test_from_pem_refused(void **state)
{
    static const struct {
        const char *why;
        const char *pem;
    } cases[] = {
        {"empty", ""},
        {"text", "garbage"},
        {"armour around junk", "-----BEGIN PRIVATE KEY-----\n"
                               "AAAAAAAA\n"
                               "-----END PRIVATE KEY-----\n"},
        {"truncated",
         "-----BEGIN PRIVATE KEY-----\n"
         "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0yGMzS9CFkpYfy1z\n"},
        {"EC key",
         "-----BEGIN PRIVATE KEY-----\n"
         "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0yGMzS9CFkpYfy1z\n"
         "dPP+pWBc78Em75A1ayZDrX3KqXuhRANCAATfJtsZjZw9jAT7EYpET7aRkZL9LifU\n"
         "eTgSolKOejI110qWJpoSQg5yPbTPpjDAmFPq0KsBY4pmiomLqNiASsI7\n"
         "-----END PRIVATE KEY-----\n"},
        {"1024-bit RSA",
         "-----BEGIN PUBLIC KEY-----\n"
         "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDalXsE4KCXEqM+GP5DsWvLv1Mz\n"
         "EZy/bzmTyNpV1wvrLiEJqwB1rUBwDEvqNmY0rWyzqY/HZ54NwUR50k7PkUjMD/rJ\n"
         "NYjUYNPvIst3t5Z1/9q+A0FVJc1k+MlDg6yx9IVUlp3UfV2v1R7vkVfZqz/IShUt\n"
         "vOOCB0BMPPUhzA15gwIDAQAB\n"
         "-----END PUBLIC KEY-----\n"},
        /* must fail at once, not prompt for a passphrase */
        {"encrypted",
         "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
         "MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIxEXI3JGOcawCAggA\n"
         "MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAECBBBh7Fm4NyFWw44gfaW1nlrgBIIB\n"
         "YEpGhc5HOroi9K3jDSb8LPlUQddKi4ANjpGRnIxtyn7AoWkL/K2KzszhMEqzwuJN\n"
         "W6E6QuqelLWbZJ9OYgkavR0c7ljE4x1GJJX9Ua8H87uZ0+bbY6TEKNbcgjELB3KC\n"
         "eMgbpDzmMEBvo5RGKtjafxtvplpBD7X9G6plzp0Buc2gezRXbZiDaOXh/SRinHQF\n"
         "jilrvHFSq1sV8sKJW5BeGdLB5E8LfeXpykhbSMXmCy26rFLxA4WSIUs6v6OJgcpV\n"
         "aaWFYo1OGVbVy+iJmyKmYfJbvXlP5t/4VmYT/CCfcuZW/OOcAdDNVrcYj+M9Sk4h\n"
         "KUgJPiBMwc2T3BV7o2xZ8h0CGr6jUFP0/lwqa07/WZNjArB0bgJuCWcjNHkgJ4pk\n"
         "T6yzhOdC0jArFaWm1zzLrVtvbduJRAOxJPsBCW3zdxhqBvvVZp0LhnQnaII81M+c\n"
         "F60MFlKm9uWH5LMRUXNC9Bg=\n"
         "-----END ENCRYPTED PRIVATE KEY-----\n"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct crypto_key *key = NULL;
        enum kaeri_err rc =
            crypto_key_from_pem(cases[i].pem, strlen(cases[i].pem), &key, &err);

        if (rc != KAERI_ERR_INVALID || key)
            fail_msg("%s: accepted (rc %d)", cases[i].why, (int)rc);
        assert_true(err.text[0] != '\0');
    }
}

/* A public PEM verifies what the private key signed, and cannot sign. */
static void test_from_pem_public(void **state)
{
    static const char public_pem[] =
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
    unsigned char sig[CRYPTO_RS256_SIG_MAX];
    size_t sig_len = 1;
    json_t *jwk;

    (void)state;
    assert_int_equal(
        crypto_key_from_pem(public_pem, strlen(public_pem), &pub, NULL),
        KAERI_OK);
    assert_false(crypto_key_is_private(pub));
    assert_int_equal(crypto_rs256_sign(pub, "m", 1, sig, &sig_len),
                     KAERI_ERR_INVALID);
    assert_int_equal(sig_len, 0);
    jwk = crypto_key_jwk(pub, "k1");
    assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "k1");
    json_decref(jwk);
    crypto_key_free(pub);
    crypto_key_free(NULL); /* a no-op */
}

static void test_key_id(void **state)
{
    struct fixture *f = *state;
    char kid[CRYPTO_KID_MAX];
    struct buf raw;

    crypto_key_id(f->a, kid);
    /* base64 of 32 bytes: 43 characters and one '=' */
    assert_int_equal(strlen(kid), 44);
    assert_int_equal(kid[43], '=');
    buf_init(&raw, BUF_UNLIMITED);
    assert_int_equal(b64_decode(kid, strlen(kid), &raw), KAERI_OK);
    assert_int_equal(raw.len, CRYPTO_SHA256_LEN);
    buf_release(&raw);
}

/* The JWKS entry: fields as spec/cognito.md section 5, n and e minimal. */
static void test_jwk_fields(void **state)
{
    static const char *const names[] = {"alg", "e", "kid", "kty", "n", "use"};
    struct fixture *f = *state;
    char kid[CRYPTO_KID_MAX];
    json_t *jwk = crypto_key_jwk(f->a, "kid-1");
    const char *n;
    struct buf raw;
    size_t i;

    assert_non_null(jwk);
    assert_int_equal(json_object_size(jwk), ARRAY_SIZE(names));
    for (i = 0; i < ARRAY_SIZE(names); i++)
        assert_true(json_is_string(json_object_get(jwk, names[i])));
    assert_string_equal(json_string_value(json_object_get(jwk, "alg")),
                        "RS256");
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")),
                        "kid-1");
    assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
    n = json_string_value(json_object_get(jwk, "n"));
    assert_null(strchr(n, '='));
    buf_init(&raw, BUF_UNLIMITED);
    assert_int_equal(b64url_decode(n, strlen(n), &raw), KAERI_OK);
    assert_int_equal(raw.len, CRYPTO_RSA_BITS / 8);
    assert_int_not_equal((unsigned char)raw.data[0], 0); /* no zero prefix */
    buf_release(&raw);
    json_decref(jwk);

    /* NULL kid: the key's own id */
    jwk = crypto_key_jwk(f->a, NULL);
    crypto_key_id(f->a, kid);
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")), kid);
    json_decref(jwk);
}

/* from_jwk(jwk(a)) is a's public half: it verifies a's signatures. */
static void test_jwk_round_trip(void **state)
{
    struct fixture *f = *state;
    struct crypto_key *pub = NULL;
    unsigned char sig[CRYPTO_RS256_SIG_MAX];
    char kid_a[CRYPTO_KID_MAX], kid_pub[CRYPTO_KID_MAX];
    size_t sig_len;
    json_t *jwk = crypto_key_jwk(f->a, "k");

    assert_int_equal(
        crypto_key_from_jwk(json_string_value(json_object_get(jwk, "n")),
                            json_string_value(json_object_get(jwk, "e")), &pub,
                            NULL),
        KAERI_OK);
    json_decref(jwk);
    assert_false(crypto_key_is_private(pub));
    crypto_key_id(f->a, kid_a);
    crypto_key_id(pub, kid_pub);
    assert_string_equal(kid_a, kid_pub);

    assert_int_equal(crypto_rs256_sign(f->a, "hello", 5, sig, &sig_len),
                     KAERI_OK);
    assert_int_equal(crypto_rs256_verify(pub, "hello", 5, sig, sig_len),
                     KAERI_OK);
    assert_int_equal(crypto_rs256_verify(pub, "hellO", 5, sig, sig_len),
                     KAERI_ERR_AUTH);
    assert_int_equal(crypto_rs256_sign(f->b, "hello", 5, sig, &sig_len),
                     KAERI_OK);
    assert_int_equal(crypto_rs256_verify(pub, "hello", 5, sig, sig_len),
                     KAERI_ERR_AUTH);
    crypto_key_free(pub);
}

static void test_from_jwk_refused(void **state)
{
    unsigned char big[CRYPTO_RS256_SIG_MAX + 2];
    char *odd_n, *even_n, *huge_n;
    struct crypto_key *key = NULL;

    (void)state;
    memset(big, 0xc3, sizeof(big));
    odd_n = b64url_encode(big, CRYPTO_RSA_BITS / 8);
    big[CRYPTO_RSA_BITS / 8 - 1] = 0xc2;
    even_n = b64url_encode(big, CRYPTO_RSA_BITS / 8);
    huge_n = b64url_encode(big, sizeof(big));
    {
        const struct {
            const char *why, *n, *e;
        } cases[] = {
            {"no n", NULL, "AQAB"},
            {"no e", odd_n, NULL},
            {"empty n", "", "AQAB"},
            {"empty e", odd_n, ""},
            {"n not base64url", "n+/=", "AQAB"},
            {"e not base64url", odd_n, "AQ AB"},
            {"n too short (24 bits)", "AQAB", "AQAB"},
            {"n too long", huge_n, "AQAB"},
            {"n even", even_n, "AQAB"},
            {"e even", odd_n, "AQAA"},
            {"e one", odd_n, "AQ"},
            {"e too long", odd_n, "AQABAQABAQABAQAB"},
        };
        size_t i;

        for (i = 0; i < ARRAY_SIZE(cases); i++) {
            struct kaeri_error err = {{0}, {0}};
            enum kaeri_err rc =
                crypto_key_from_jwk(cases[i].n, cases[i].e, &key, &err);

            if (rc != KAERI_ERR_INVALID || key)
                fail_msg("%s: accepted (rc %d)", cases[i].why, (int)rc);
            assert_true(err.text[0] != '\0');
        }
    }
    /* The odd modulus itself is a well-formed (if useless) public key. */
    assert_int_equal(crypto_key_from_jwk(odd_n, "AQAB", &key, NULL), KAERI_OK);
    crypto_key_free(key);
    free(odd_n);
    free(even_n);
    free(huge_n);
}

static void test_rs256(void **state)
{
    static const char msg[] = "header.payload";
    struct fixture *f = *state;
    unsigned char sig[CRYPTO_RS256_SIG_MAX], sig2[CRYPTO_RS256_SIG_MAX];
    size_t sig_len, sig2_len;

    assert_int_equal(crypto_rs256_sign(f->a, msg, strlen(msg), sig, &sig_len),
                     KAERI_OK);
    assert_int_equal(sig_len, CRYPTO_RSA_BITS / 8);
    assert_int_equal(crypto_rs256_verify(f->a, msg, strlen(msg), sig, sig_len),
                     KAERI_OK);
    /* PKCS#1 v1.5 is deterministic */
    assert_int_equal(crypto_rs256_sign(f->a, msg, strlen(msg), sig2, &sig2_len),
                     KAERI_OK);
    assert_int_equal(sig2_len, sig_len);
    assert_memory_equal(sig, sig2, sig_len);

    /* other message, other key, shorter or longer signature */
    assert_int_equal(
        crypto_rs256_verify(f->a, msg, strlen(msg) - 1, sig, sig_len),
        KAERI_ERR_AUTH);
    assert_int_equal(crypto_rs256_verify(f->b, msg, strlen(msg), sig, sig_len),
                     KAERI_ERR_AUTH);
    assert_int_equal(
        crypto_rs256_verify(f->a, msg, strlen(msg), sig, sig_len - 1),
        KAERI_ERR_AUTH);
    assert_int_equal(crypto_rs256_verify(f->a, msg, strlen(msg), sig, 0),
                     KAERI_ERR_AUTH);
    sig[sig_len] = 0;
    assert_int_equal(
        crypto_rs256_verify(f->a, msg, strlen(msg), sig, sig_len + 1),
        KAERI_ERR_AUTH);
    /* one flipped bit */
    sig[sig_len / 2] ^= 0x01;
    assert_int_equal(crypto_rs256_verify(f->a, msg, strlen(msg), sig, sig_len),
                     KAERI_ERR_AUTH);

    /* the empty message is a message */
    assert_int_equal(crypto_rs256_sign(f->b, "", 0, sig, &sig_len), KAERI_OK);
    assert_int_equal(crypto_rs256_verify(f->b, "", 0, sig, sig_len), KAERI_OK);
    assert_int_equal(crypto_rs256_verify(f->b, "x", 1, sig, sig_len),
                     KAERI_ERR_AUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_secret_hash),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_memeq),
        cmocka_unit_test(test_random_and_wipe),
        cmocka_unit_test(test_load_or_create),
        cmocka_unit_test(test_load_refuses),
        cmocka_unit_test(test_from_pem_refused),
        cmocka_unit_test(test_from_pem_public),
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_jwk_fields),
        cmocka_unit_test(test_jwk_round_trip),
        cmocka_unit_test(test_from_jwk_refused),
        cmocka_unit_test(test_rs256),
    };

    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}

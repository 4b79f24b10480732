/*
 * test_srp_client.c - the tests' own SRP client (tests/support/srp_client.c)
 * against the worked examples of spec/cognito-srp.md: vector V1, the edge
 * vectors EDGE-u and EDGE-S (B is rebuilt here from their b with the
 * server's formula, checked first on V1), the TIMESTAMP examples of
 * section 7, and the inputs a client must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>

#include "kaeri.h"
#include "srp_client.h"

#define V1_POOL      "TestPool1"
#define V1_USER      "alice"
#define V1_PASSWORD  "Passw0rd!"
#define V1_SALT      "8f3a5c7e1b2d4f6081a3c5e7092b4d6f"
#define V1_BLOCK     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define V1_TIMESTAMP "Mon Jan 2 15:04:05 UTC 2006"
#define V1_A_SECRET \
    "3c5e7a9b1d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c"
#define V1_B_SECRET \
    "6b1d3f5a7c9e0b2d4f6a8c0e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d"
#define V1_X "631aceefcb8ae99b12475634553945233858d021924ebb982fc3e1cb43d3dbfd"
#define V1_K "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"

static const char v1_srp_a[] =
    "73f566a66e9d9b6f89472393035e70e7bed8ed3eab221f9671d632b25241e56c"
    "43a8f672ce32703dde1b362a1af7dff078683edbccd6b7c35afaeca2debe0b03"
    "6bd6c77abfa0bb5e7dda4c4f8f33e679fbc7fb980207a1af4ef15367cd95ef9f"
    "a3260d44016df98dd15d4041afbcbf500a253bba7333aed332ddcf59ce11366f"
    "308ebe457000e5ec0101fa55516b4b87f4bc63282f9c77f966d8573c99c61e2b"
    "c062f17ef8c4959421ac9762d31fdb690eeb9e0279828219626ffc4fabdfeac3"
    "936da5a7feaf12c4715ca2961a8b5db3a7e5020dc3368a05c5b70107d6a6dad5"
    "57f4d564543cf60494e0b3fe492e3ea0baaded03229b899d7486563673022df6"
    "63a564d3413a24d894be5dd6586b51e1f444e936bd67df75ed8b8f8dc496873a"
    "f2e8da6a2df7f0b5a991f10f7cebf01f059546d7182f1416844059d10368b922"
    "48892a1b753b1ec730f9ae12b42623525117848f9f371a77838bcd0fe0f5ea6e"
    "cf0e02018acc1ddbb4fa55f3cb90b423009ee9812d647618ec3e5be543f865b2";

static const char v1_srp_b[] =
    "a4128a862ed7c1726801fd5fbc393a905d3784003879abd44c4d7092ef244fc4"
    "24923d144cf23e5258ea514d40f19525912a5a28fc00c313973d0541bc5ac2db"
    "ebf33e7781c69652ed7f554b1400142f559fdf22289b9984334db7c989b6b6f5"
    "a8fab93a1c5749eb5b48a0e54f565d461aaf2ae471a02788b2a04f6f9d392b2c"
    "2c238d941f687595758365a840e1324f78237a14a999ed5eb0408fe5f482d244"
    "8b6188b7b84d7e457eaec82bc2bc57c341003afbc71acfa51e681aaee8434d2a"
    "196e1d5169f23a3f63a4bf4f58d824ad1e9fa34d6bf8f1f6f3e3ecc0ab9c3293"
    "30a0381521595051bbe632ba682efb377a310c023c866835e1923a85723e4e11"
    "9c4275c355d0f9268b74e2ac6d8ed8e95973c245d29696f05a0ce17e2500edc0"
    "fa6dbd5cf3e984d956f478f6c6698f8f889d749e352573ecf2fb0a95422693e7"
    "9439d80b136d5ec4a98c5bd253b3249b1feddf4d939ddc8400e5ab5cd09e20c9"
    "9ff79d0d659423b61b295a9ca9077f34905afc5527418434112df988b07dcdc2";

/* A hex string in lower case, without leading zeros; the caller frees it. */
static char *bn_to_lower_hex(const BIGNUM *n)
{
    char *hex = BN_bn2hex(n), *p, *out;

    assert_non_null(hex);
    for (p = hex; *p == '0' && p[1]; p++)
        ;
    out = strdup(p);
    assert_non_null(out);
    for (p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    OPENSSL_free(hex);
    return out;
}

/*
 * SRP_B for the server secret 'b_hex' and V1's password, by the server's
 * formula B = (k * g^x + g^b) mod N with the spec's k and x; RFC 3526's
 * prime from OpenSSL, so the client's copy of N is checked as well.
 */
static char *server_b_hex(const char *b_hex)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *n = BN_get_rfc3526_prime_3072(NULL), *g = BN_new();
    BIGNUM *b = NULL, *x = NULL, *k = NULL, *v = BN_new(), *gb = BN_new();
    char *out;

    assert_non_null(ctx);
    assert_non_null(n);
    assert_non_null(g);
    assert_non_null(v);
    assert_non_null(gb);
    assert_true(BN_set_word(g, 2));
    assert_true(BN_hex2bn(&b, b_hex));
    assert_true(BN_hex2bn(&x, V1_X));
    assert_true(BN_hex2bn(&k, V1_K));
    assert_true(BN_mod_exp(v, g, x, n, ctx));
    assert_true(BN_mod_mul(v, k, v, n, ctx));
    assert_true(BN_mod_exp(gb, g, b, n, ctx));
    assert_true(BN_mod_add(v, v, gb, n, ctx));
    out = bn_to_lower_hex(v);
    BN_free(n);
    BN_free(g);
    BN_free(b);
    BN_free(x);
    BN_free(k);
    BN_free(v);
    BN_free(gb);
    BN_CTX_free(ctx);
    return out;
}

static void test_v1_a(void **state)
{
    struct srp_client *c = srp_client_new(V1_A_SECRET);

    (void)state;
    assert_non_null(c);
    assert_string_equal(srp_client_a_hex(c), v1_srp_a);
    srp_client_free(c);
}

/* The secret's case does not matter. */
static void test_v1_a_upper_case(void **state)
{
    struct srp_client *c = srp_client_new("3C5E7A9B1D2F4A6C8E0B1D3F5A7C9E2B"
                                          "4D6F8A0C1E3B5D7F9A2C4E6B8D0F1A3C");

    (void)state;
    assert_non_null(c);
    assert_string_equal(srp_client_a_hex(c), v1_srp_a);
    srp_client_free(c);
}

static void test_v1_server_b(void **state)
{
    char *b = server_b_hex(V1_B_SECRET);

    (void)state;
    assert_string_equal(b, v1_srp_b);
    free(b);
}

/* V1 and the edge vectors: another b, so another B, same other inputs. */
static void test_vectors(void **state)
{
    static const struct {
        const char *name, *b_secret, *signature;
    } cases[] = {
        {"V1", V1_B_SECRET, "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw="},
        /* u hashes to 00 76..., so pad(u) is 31 bytes */
        {"EDGE-u",
         "899b9cc4cd4e1e9aad12ad2c4283a130ae882eb3288be4502bdf432aa5c6c4e6",
         "H8z3HcbS0utCOtKYJhGm3pdeF3A+LFb73RM4bDIMOfo="},
        /* S has 766 hex digits, so pad(S) is 383 bytes */
        {"EDGE-S",
         "abbe721f4eaf8e0ae1c34bd2a66eea883819d78508efe6fee9f8dc45c73ec466",
         "ZHkbvG+bWgvb5FiI/p2XFyMfQlksa53CZ6q1KXN0d+0="},
    };
    struct srp_client *c = srp_client_new(V1_A_SECRET);
    size_t i;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        char sig[SRP_CLIENT_SIG_MAX];
        char *b = server_b_hex(cases[i].b_secret);
        int rc = srp_client_signature(c, V1_POOL, V1_USER, V1_PASSWORD, V1_SALT,
                                      b, V1_BLOCK, V1_TIMESTAMP, sig);

        print_message("%s\n", cases[i].name);
        assert_int_equal(rc, 0);
        assert_string_equal(sig, cases[i].signature);
        free(b);
    }
    srp_client_free(c);
}

/* A wrong password, user or timestamp gives another signature. */
static void test_v1_inputs_matter(void **state)
{
    static const struct {
        const char *user, *password, *timestamp;
    } cases[] = {
        {V1_USER, "Passw0rd?", V1_TIMESTAMP},
        {"alicf", V1_PASSWORD, V1_TIMESTAMP},
        {V1_USER, V1_PASSWORD, "Mon Jan 2 15:04:06 UTC 2006"},
    };
    struct srp_client *c = srp_client_new(V1_A_SECRET);
    size_t i;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        char sig[SRP_CLIENT_SIG_MAX];

        assert_int_equal(srp_client_signature(c, V1_POOL, cases[i].user,
                                              cases[i].password, V1_SALT,
                                              v1_srp_b, V1_BLOCK,
                                              cases[i].timestamp, sig),
                         0);
        assert_string_not_equal(sig,
                                "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw=");
    }
    srp_client_free(c);
}

static void test_refused_inputs(void **state)
{
    static const struct {
        const char *name, *salt, *b, *block;
    } cases[] = {
        {"B = 0", V1_SALT, "0", V1_BLOCK},
        {"B = 00", V1_SALT, "00", V1_BLOCK},
        {"B = N", V1_SALT,
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
         "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff",
         V1_BLOCK},
        {"B not hex", V1_SALT, "12g4", V1_BLOCK},
        {"B empty", V1_SALT, "", V1_BLOCK},
        {"B with prefix", V1_SALT, "0x1234", V1_BLOCK},
        {"salt not hex", "8f3a-5c", v1_srp_b, V1_BLOCK},
        {"salt empty", "", v1_srp_b, V1_BLOCK},
        {"block not base64", V1_SALT, v1_srp_b, "AAEC*wQF"},
        {"block unpadded", V1_SALT, v1_srp_b, "AAECAw"},
        {"block '=' inside", V1_SALT, v1_srp_b, "AA==AAAA"},
        {"block url-safe", V1_SALT, v1_srp_b, "AA-_"},
    };
    struct srp_client *c = srp_client_new(V1_A_SECRET);
    size_t i;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        char sig[SRP_CLIENT_SIG_MAX];

        print_message("%s\n", cases[i].name);
        assert_int_equal(srp_client_signature(
                             c, V1_POOL, V1_USER, V1_PASSWORD, cases[i].salt,
                             cases[i].b, cases[i].block, V1_TIMESTAMP, sig),
                         -1);
        assert_string_equal(sig, "");
    }
    assert_int_equal(srp_client_signature(c, V1_POOL, V1_USER, NULL, V1_SALT,
                                          v1_srp_b, V1_BLOCK, V1_TIMESTAMP,
                                          (char[SRP_CLIENT_SIG_MAX]){0}),
                     -1);
    srp_client_free(c);
}

static void test_bad_secret(void **state)
{
    static const char *const cases[] = {"", "0", "000", "xyz", "0x12", " 12"};
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++)
        assert_null(srp_client_new(cases[i]));
    srp_client_free(NULL);
}

/* A random a: A is lower-case hex without a leading zero, and it signs. */
static void test_random_secret(void **state)
{
    struct srp_client *c1 = srp_client_new(NULL);
    struct srp_client *c2 = srp_client_new(NULL);
    char sig[SRP_CLIENT_SIG_MAX];
    const char *p;

    (void)state;
    assert_non_null(c1);
    assert_non_null(c2);
    assert_string_not_equal(srp_client_a_hex(c1), srp_client_a_hex(c2));
    assert_true(srp_client_a_hex(c1)[0] != '0');
    for (p = srp_client_a_hex(c1); *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    assert_int_equal(srp_client_signature(c1, V1_POOL, V1_USER, V1_PASSWORD,
                                          V1_SALT, v1_srp_b, V1_BLOCK,
                                          V1_TIMESTAMP, sig),
                     0);
    assert_int_equal(strlen(sig), 44);
    srp_client_free(c1);
    srp_client_free(c2);
}

/* spec section 7's examples, and the single-digit day and the epoch. */
static void test_timestamp(void **state)
{
    static const struct {
        int year, mon, mday, hour, min, sec;
        const char *expect;
    } cases[] = {
        {2006, 1, 2, 15, 4, 5, "Mon Jan 2 15:04:05 UTC 2006"},
        {2024, 2, 29, 0, 0, 9, "Thu Feb 29 00:00:09 UTC 2024"},
        {2025, 11, 30, 23, 59, 59, "Sun Nov 30 23:59:59 UTC 2025"},
        {2026, 9, 5, 9, 3, 7, "Sat Sep 5 09:03:07 UTC 2026"},
        {1970, 1, 1, 0, 0, 0, "Thu Jan 1 00:00:00 UTC 1970"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct tm tm = {0};
        char out[SRP_CLIENT_TIMESTAMP_MAX];

        tm.tm_year = cases[i].year - 1900;
        tm.tm_mon = cases[i].mon - 1;
        tm.tm_mday = cases[i].mday;
        tm.tm_hour = cases[i].hour;
        tm.tm_min = cases[i].min;
        tm.tm_sec = cases[i].sec;
        srp_client_timestamp(timegm(&tm), out);
        assert_string_equal(out, cases[i].expect);
    }
    {
        char out[SRP_CLIENT_TIMESTAMP_MAX];

        srp_client_timestamp((time_t)1136214245, out);
        assert_string_equal(out, V1_TIMESTAMP);
    }
}

/* SECRET_HASH, checked against Python's hmac module. */
static void test_secret_hash(void **state)
{
    char out[SRP_CLIENT_SIG_MAX];

    (void)state;
    assert_int_equal(srp_client_secret_hash("s3cr3t-client-secret", "alice",
                                            "5ma1lc1ient1d", out),
                     0);
    assert_string_equal(out, "vFlVAqTMytaAKSF7cK+DQo3wLJaiaSAgl1Q1I3pidw4=");
    assert_int_equal(srp_client_secret_hash(NULL, "alice", "id", out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_a),
        cmocka_unit_test(test_v1_a_upper_case),
        cmocka_unit_test(test_v1_server_b),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_v1_inputs_matter),
        cmocka_unit_test(test_refused_inputs),
        cmocka_unit_test(test_bad_secret),
        cmocka_unit_test(test_random_secret),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_secret_hash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_srp.c - srp.c against spec/cognito-srp.md section 10 (V1, EDGE-u,
 * EDGE-S, checked there against identity-js, Amplify and pycognito), the
 * failure cases of sections 3, 4 and 6, and the TIMESTAMP form of
 * section 7. Only the public API of srp.h is used: V1's SRP_B pins k, x and
 * v, and each accepted signature pins u, S and K.
 */
#include "srp.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* V1 inputs, spec section 10 */
#define V1_POOL     "TestPool1"
#define V1_USER     "alice"
#define V1_PASSWORD "Passw0rd!"
#define V1_SALT     "8f3a5c7e1b2d4f6081a3c5e7092b4d6f"
#define V1_B        "6b1d3f5a7c9e0b2d4f6a8c0e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d"
#define V1_TIME     "Mon Jan 2 15:04:05 UTC 2006"
#define V1_SIG      "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw="
#define EDGE_U_SIG  "H8z3HcbS0utCOtKYJhGm3pdeF3A+LFb73RM4bDIMOfo="

static const char v1_a[] =
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

/* spec section 2 */
static const char n_hex[] =
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

/* 2N: A mod N = 0 although A != N */
static const char two_n_hex[] =
    "1ffffffffffffffff921fb54442d18469898cc51701b839a252049c1114cf98e"
    "804177d4c76273644a29410f31c6809bbdf2a33679a748636605614dbe4be286"
    "e9fc26adadaa3848bc90b6aecc4bcfd8de89885d34c6fdad617feb96de80d6fd"
    "bdc70d7f6b5133f4b5d3e4822f8963fcc9250cca3d9c8b67b8400f97142c77e0"
    "b31b4906c38aba734d22c7f51fa499ebf06caba47b9475b2c38c5e6ac410aa57"
    "73daa520ee12d2cdace186a9c95793009e2e8d811943042f86520bc8c5c6d9c7"
    "7c73cee58301d0c07364f0745d80f451f6b8abbe0de98a593bc5797ed2ab02e3"
    "0732a92f9d52ad5ca2ba44c3131f40a202ae51cb51555885b5a662e1a08a0f46"
    "750aa4357be3974c9d9f70a08b1b7de1515d4e2aeba0c18fb672e1f0b4dc3c98"
    "f57eb5d19b61267ae3d1929c0944ac33b9dc7a44c35a5dcd7e25ff40db31410c"
    "9b0ec04e67d90d4c8a43e56302ef6401977c22eaef4c2bad8ee13118175b28dc"
    "411c49f40e9cb566287b6b7f9c1fa211c9705a2415275a595fffffffffffffff"
    "e";

/* Decode an even-length lower-case hex string; returns the byte count. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;

    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char two[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

        out[i] = (unsigned char)strtoul(two, NULL, 16);
    }
    return n;
}

static void v1_block(unsigned char block[32])
{
    for (int i = 0; i < 32; i++)
        block[i] = (unsigned char)i;
}

/* srp_begin() with V1's pool, user, salt; 'b_hex' NULL draws b. */
static enum kaeri_err begin(const char *password, const char *a_hex,
                            const char *b_hex, struct srp_session **s,
                            struct kaeri_error *err)
{
    unsigned char salt[16], b[64];
    size_t salt_len = unhex(V1_SALT, salt, sizeof(salt));
    size_t b_len = b_hex ? unhex(b_hex, b, sizeof(b)) : 0;

    return srp_begin(V1_POOL, V1_USER, password, salt, salt_len, a_hex,
                     b_hex ? b : NULL, b_len, s, err);
}

/* spec section 10: the three vectors, each with the clients' signature */
static void test_vectors(void **state)
{
    static const struct {
        const char *name;
        const char *b;
        const char *srp_b; /* NULL: not given in the spec */
        const char *signature;
    } cases[] = {
        {"V1", V1_B, v1_srp_b, V1_SIG},
        {"EDGE-u",
         "899b9cc4cd4e1e9aad12ad2c4283a130ae882eb3288be4502bdf432aa5c6c4e6",
         NULL, EDGE_U_SIG},
        {"EDGE-S",
         "abbe721f4eaf8e0ae1c34bd2a66eea883819d78508efe6fee9f8dc45c73ec466",
         NULL, "ZHkbvG+bWgvb5FiI/p2XFyMfQlksa53CZ6q1KXN0d+0="},
    };
    unsigned char block[32];

    (void)state;
    v1_block(block);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct srp_session *s = NULL;

        print_message("%s\n", cases[i].name);
        assert_int_equal(begin(V1_PASSWORD, v1_a, cases[i].b, &s, NULL),
                         KAERI_OK);
        if (cases[i].srp_b)
            assert_string_equal(srp_b_hex(s), cases[i].srp_b);
        assert_int_equal(
            srp_verify(s, block, sizeof(block), V1_TIME, cases[i].signature),
            KAERI_OK);
        srp_session_free(s);
    }
}

/* spec section 2: SRP_A is read case-insensitively */
static void test_upper_case_a(void **state)
{
    char upper[sizeof(v1_a)];
    unsigned char block[32];
    struct srp_session *s = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(v1_a); i++)
        upper[i] = (char)toupper((unsigned char)v1_a[i]);
    v1_block(block);
    assert_int_equal(begin(V1_PASSWORD, upper, V1_B, &s, NULL), KAERI_OK);
    assert_string_equal(srp_b_hex(s), v1_srp_b);
    assert_int_equal(srp_verify(s, block, sizeof(block), V1_TIME, V1_SIG),
                     KAERI_OK);
    srp_session_free(s);
}

static void test_wrong_password(void **state)
{
    static const char *const passwords[] = {"Passw0rd", "passw0rd!",
                                            "Passw0rd!!", ""};
    unsigned char block[32];

    (void)state;
    v1_block(block);
    for (size_t i = 0; i < ARRAY_SIZE(passwords); i++) {
        struct srp_session *s = NULL;

        assert_int_equal(begin(passwords[i], v1_a, V1_B, &s, NULL), KAERI_OK);
        assert_string_not_equal(srp_b_hex(s), v1_srp_b);
        assert_int_equal(srp_verify(s, block, sizeof(block), V1_TIME, V1_SIG),
                         KAERI_ERR_AUTH);
        srp_session_free(s);
    }
}

/* spec section 6: any change to M or the signature fails with AUTH */
static void test_tampered(void **state)
{
    enum { KEEP = -1 };
    static const struct {
        const char *name;
        int flip; /* index of a block byte to change, or KEEP */
        size_t block_len;
        const char *timestamp;
        const char *signature;
    } cases[] = {
        {"timestamp +1s", KEEP, 32, "Mon Jan 2 15:04:06 UTC 2006", V1_SIG},
        {"timestamp padded", KEEP, 32, "Mon Jan 02 15:04:05 UTC 2006", V1_SIG},
        {"timestamp empty", KEEP, 32, "", V1_SIG},
        {"block byte 0", 0, 32, V1_TIME, V1_SIG},
        {"block byte 31", 31, 32, V1_TIME, V1_SIG},
        {"block short", KEEP, 31, V1_TIME, V1_SIG},
        {"block empty", KEEP, 0, V1_TIME, V1_SIG},
        {"other signature", KEEP, 32, V1_TIME, EDGE_U_SIG},
        {"31 bytes", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInA=="},
        {"33 bytes", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCwA"},
        {"no padding", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw"},
        {"extra padding", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw=="},
        {"url-safe", KEEP, 32, V1_TIME,
         "i-E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43_gaSInCw="},
        {"newline", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5JFzUOgRGtFRAh43/gaSInCw=\n"},
        {"inner space", KEEP, 32, V1_TIME,
         "i+E1NPXUYvCkEK1hc1m5 JFzUOgRGtFRAh43/gaSInCw="},
        {"not base64", KEEP, 32, V1_TIME, "!!!!"},
        {"only padding", KEEP, 32, V1_TIME, "===="},
        {"empty", KEEP, 32, V1_TIME, ""},
        {"hex", KEEP, 32, V1_TIME,
         "8be13534f5d462f0a410ad6173599a245cd43a0446b454408"},
        {"no timestamp", KEEP, 32, NULL, V1_SIG},
        {"no signature", KEEP, 32, V1_TIME, NULL},
    };
    struct srp_session *s = NULL;

    (void)state;
    assert_int_equal(begin(V1_PASSWORD, v1_a, V1_B, &s, NULL), KAERI_OK);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        unsigned char block[32];

        print_message("%s\n", cases[i].name);
        v1_block(block);
        if (cases[i].flip != KEEP)
            block[cases[i].flip] ^= 0x01;
        assert_int_equal(srp_verify(s, block, cases[i].block_len,
                                    cases[i].timestamp, cases[i].signature),
                         KAERI_ERR_AUTH);
    }
    srp_session_free(s);
}

/* spec section 4: malformed SRP_A is INVALID, and no session comes back */
static void test_malformed_a(void **state)
{
    char too_long[802], longest[801];
    const struct {
        const char *name;
        const char *a;
    } cases[] = {
        {"empty", ""},
        {"null", NULL},
        {"non-hex", "xyz"},
        {"hex then g", "12g4"},
        {"minus", "-1"},
        {"leading space", " 1"},
        {"trailing newline", "1\n"},
        {"0x prefix", "0x12"},
        {"801 digits", too_long},
        {"zero", "0"},
        {"zeros", "000"},
        {"N", n_hex},
        {"2N", two_n_hex},
    };

    (void)state;
    memset(too_long, '1', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct srp_session *s = (struct srp_session *)&s; /* not NULL */
        struct kaeri_error err = {{0}, {0}};

        print_message("%s\n", cases[i].name);
        assert_int_equal(begin(V1_PASSWORD, cases[i].a, V1_B, &s, &err),
                         KAERI_ERR_INVALID);
        assert_null(s);
        assert_string_equal(err.where, "SRP_A");
        assert_true(err.text[0] != '\0');
    }

    /* 800 digits is still allowed */
    memset(longest, '1', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    {
        struct srp_session *s = NULL;

        assert_int_equal(begin(V1_PASSWORD, longest, V1_B, &s, NULL), KAERI_OK);
        srp_session_free(s);
    }
}

/* A fixed b outside (1, N) is refused rather than used. */
static void test_fixed_b_range(void **state)
{
    static const char *const bad[] = {"00", "01", "0000", n_hex};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct srp_session *s = NULL;
        unsigned char b[400], salt[16];
        size_t b_len = unhex(bad[i], b, sizeof(b));
        size_t salt_len = unhex(V1_SALT, salt, sizeof(salt));

        assert_int_equal(srp_begin(V1_POOL, V1_USER, V1_PASSWORD, salt,
                                   salt_len, v1_a, b, b_len, &s, NULL),
                         KAERI_ERR_INVALID);
        assert_null(s);
    }
}

/* spec section 2: B on the wire is lower-case hex without leading zeros */
static void test_random_b(void **state)
{
    struct srp_session *s1 = NULL, *s2 = NULL;
    const char *hex;

    (void)state;
    assert_int_equal(begin(V1_PASSWORD, v1_a, NULL, &s1, NULL), KAERI_OK);
    assert_int_equal(begin(V1_PASSWORD, v1_a, NULL, &s2, NULL), KAERI_OK);
    assert_string_not_equal(srp_b_hex(s1), srp_b_hex(s2));
    hex = srp_b_hex(s1);
    assert_true(strlen(hex) >= 1 && strlen(hex) <= 768);
    assert_true(hex[0] != '0');
    assert_true(strspn(hex, "0123456789abcdef") == strlen(hex));
    if (strlen(hex) == 768)
        assert_true(strcmp(hex, n_hex) < 0);
    srp_session_free(s1);
    srp_session_free(s2);
    srp_session_free(NULL);
}

/* spec section 7: the four examples, and both directions */
static void test_timestamp_ok(void **state)
{
    static const struct {
        const char *text;
        int64_t epoch;
    } cases[] = {
        {"Mon Jan 2 15:04:05 UTC 2006", 1136214245},
        {"Thu Feb 29 00:00:09 UTC 2024", 1709164809},
        {"Sun Nov 30 23:59:59 UTC 2025", 1764547199},
        {"Sat Sep 5 09:03:07 UTC 2026", 1788598987},
        {"Thu Jan 1 00:00:00 UTC 1970", 0},
        {"Wed Dec 31 23:59:59 UTC 1969", -1},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[SRP_TIMESTAMP_MAX];
        int64_t epoch = 42;

        print_message("%s\n", cases[i].text);
        assert_int_equal(srp_timestamp_parse(cases[i].text, &epoch), KAERI_OK);
        assert_int_equal(epoch, cases[i].epoch);
        srp_timestamp_format(cases[i].epoch, out);
        assert_string_equal(out, cases[i].text);
    }
}

static void test_timestamp_bad(void **state)
{
    static const char *const cases[] = {
        "Sat Sep 05 09:03:07 UTC 2026", /* zero-padded day */
        "Sat Sep  5 09:03:07 UTC 2026", /* space-padded day */
        "Fri Sep 5 09:03:07 UTC 2026",  /* wrong weekday */
        "Sat Spt 5 09:03:07 UTC 2026",  /* bad month */
        "Sat Sept 5 09:03:07 UTC 2026",
        "Sat sep 5 09:03:07 UTC 2026",
        "sat Sep 5 09:03:07 UTC 2026",
        "Saturday Sep 5 09:03:07 UTC 2026",
        "Sat Sep 5 09:03:07 UTC 2026 ", /* trailing junk */
        "Sat Sep 5 09:03:07 UTC 2026x",
        "Sat Sep 5 09:03:07 UTC 20260",
        " Sat Sep 5 09:03:07 UTC 2026",
        "Sat Sep 5 09:03:07 GMT 2026", /* "UTC" replaced */
        "Sat Sep 5 09:03:07 utc 2026",
        "Sat Sep 5 09:03:07 2026",
        "Sat Sep 5 09:03:07 +0000 2026",
        "Sat Sep 5 9:03:07 UTC 2026", /* unpadded time */
        "Sat Sep 5 09:3:07 UTC 2026",
        "Sat Sep 5 09:03:60 UTC 2026", /* out of range */
        "Sat Sep 5 24:00:00 UTC 2026",
        "Sat Sep 5 09:60:07 UTC 2026",
        "Tue Sep 31 09:03:07 UTC 2026",
        "Sun Feb 29 09:03:07 UTC 2026", /* 2026 is no leap year */
        "Sat Sep 0 09:03:07 UTC 2026",
        "Sat Sep 123 09:03:07 UTC 2026",
        "Sat Sep 5 09:03:07 UTC 26",
        "Sat Sep 5 09-03-07 UTC 2026",
        "Sat, Sep 5 09:03:07 UTC 2026",
        "2026-09-05T09:03:07Z",
        "Sat",
        "",
        NULL,
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t epoch = 42;

        print_message("'%s'\n", cases[i] ? cases[i] : "(null)");
        assert_int_equal(srp_timestamp_parse(cases[i], &epoch),
                         KAERI_ERR_INVALID);
        assert_int_equal(epoch, 42);
    }
}

/* spec section 2: the salt's first byte is 0x01..0x7f */
static void test_salt(void **state)
{
    unsigned char first[SRP_SALT_LEN], salt[SRP_SALT_LEN];
    int differ = 0;

    (void)state;
    srp_make_salt(first);
    for (int i = 0; i < 4096; i++) {
        srp_make_salt(salt);
        assert_true(salt[0] >= 0x01 && salt[0] <= 0x7f);
        differ += memcmp(salt, first, sizeof(salt)) != 0;
    }
    assert_int_equal(differ, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_upper_case_a),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_malformed_a),
        cmocka_unit_test(test_fixed_b_range),
        cmocka_unit_test(test_random_b),
        cmocka_unit_test(test_timestamp_ok),
        cmocka_unit_test(test_timestamp_bad),
        cmocka_unit_test(test_salt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

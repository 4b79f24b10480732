/*
 * test_b64.c - base64 and base64url: RFC 4648 section 10 vectors both
 * ways, the URL alphabet, round trips of every short length, and strict
 * refusal of malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"

struct vector {
    const char *raw;
    size_t raw_len;
    const char *std; /* base64 with padding */
    const char *url; /* base64url without padding */
};

#define V(raw, std, url)               \
    {                                  \
        raw, sizeof(raw) - 1, std, url \
    }

static const struct vector vectors[] = {
    /* RFC 4648 section 10 */
    V("", "", ""),
    V("f", "Zg==", "Zg"),
    V("fo", "Zm8=", "Zm8"),
    V("foo", "Zm9v", "Zm9v"),
    V("foob", "Zm9vYg==", "Zm9vYg"),
    V("fooba", "Zm9vYmE=", "Zm9vYmE"),
    V("foobar", "Zm9vYmFy", "Zm9vYmFy"),
    /* the two alphabets differ in 62 and 63 only */
    V("\xfb\xff", "+/8=", "-_8"),
    V("\xfb\xef\xbe", "++++", "----"),
    V("\xff\xff\xff", "////", "____"),
    V("\x00\x00\x00\x00", "AAAAAA==", "AAAAAA"),
    V("\x00", "AA==", "AA"),
};

static void test_encode(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(vectors); i++) {
        char *std = b64_encode(vectors[i].raw, vectors[i].raw_len);
        char *url = b64url_encode(vectors[i].raw, vectors[i].raw_len);

        assert_string_equal(std, vectors[i].std);
        assert_string_equal(url, vectors[i].url);
        free(std);
        free(url);
    }
}

static void check_decoded(enum kaeri_err rc, struct buf *b,
                          const struct vector *v)
{
    assert_int_equal(rc, KAERI_OK);
    assert_int_equal(b->len, v->raw_len);
    assert_memory_equal(b->data, v->raw, v->raw_len);
    assert_int_equal(b->data[b->len], '\0');
}

static void test_decode(void **state)
{
    struct buf b;
    size_t i;

    (void)state;
    buf_init(&b, BUF_UNLIMITED);
    for (i = 0; i < ARRAY_SIZE(vectors); i++) {
        const struct vector *v = &vectors[i];

        buf_reset(&b);
        check_decoded(b64_decode(v->std, strlen(v->std), &b), &b, v);
        buf_reset(&b);
        check_decoded(b64url_decode(v->url, strlen(v->url), &b), &b, v);
    }
    buf_release(&b);
}

/* base64url takes '=' padding when it is present and correct. */
static void test_url_accepts_padding(void **state)
{
    static const struct vector padded[] = {
        V("f", "", "Zg=="),
        V("fo", "", "Zm8="),
        V("\xfb\xff", "", "-_8="),
    };
    struct buf b;
    size_t i;

    (void)state;
    buf_init(&b, BUF_UNLIMITED);
    for (i = 0; i < ARRAY_SIZE(padded); i++) {
        buf_reset(&b);
        check_decoded(b64url_decode(padded[i].url, strlen(padded[i].url), &b),
                      &b, &padded[i]);
    }
    buf_release(&b);
}

/* Decoding appends, and reads exactly 'n' bytes of 's'. */
static void test_decode_appends(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, BUF_UNLIMITED);
    assert_int_equal(buf_adds(&b, "x:"), KAERI_OK);
    assert_int_equal(b64_decode("Zm9vYmFyZZZZ", 8, &b), KAERI_OK);
    assert_string_equal(b.data, "x:foobar");
    assert_int_equal(b64url_decode("Zm8.trailing", 3, &b), KAERI_OK);
    assert_string_equal(b.data, "x:foobarfo");
    buf_release(&b);
}

/* Past the buffer's ceiling: LIMIT, and the buffer is left as it was. */
static void test_decode_limit(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 5);
    assert_int_equal(buf_adds(&b, "ab"), KAERI_OK);
    assert_int_equal(b64_decode("Zm9vYg==", 8, &b), KAERI_ERR_LIMIT);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    assert_int_equal(b64url_decode("Zm9v", 4, &b), KAERI_OK);
    assert_string_equal(b.data, "abfoo");
    buf_release(&b);
}

/* Every length 0..96 of every byte value comes back unchanged. */
static void test_round_trip(void **state)
{
    unsigned char raw[96];
    struct buf b;
    size_t n, i;

    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(i * 167 + 13); /* all residues mod 64 */
    buf_init(&b, BUF_UNLIMITED);
    for (n = 0; n <= sizeof(raw); n++) {
        char *std = b64_encode(raw, n);
        char *url = b64url_encode(raw, n);

        assert_int_equal(strlen(std), (n + 2) / 3 * 4);
        assert_int_equal(strlen(url), (n * 4 + 2) / 3);
        buf_reset(&b);
        assert_int_equal(b64_decode(std, strlen(std), &b), KAERI_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, raw, n);
        buf_reset(&b);
        assert_int_equal(b64url_decode(url, strlen(url), &b), KAERI_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, raw, n);
        free(std);
        free(url);
    }
    buf_release(&b);
}

struct bad {
    const char *s;
    size_t len;
    const char *why;
};

#define B(s, why)             \
    {                         \
        s, sizeof(s) - 1, why \
    }

/* Refused by both decoders. */
static const struct bad bad_both[] = {
    B("Z", "one character"),
    B("Zm9vY", "length 1 mod 4"),
    B("=", "padding only"),
    B("==", "padding only"),
    B("====", "padding only"),
    B("Z===", "three padding characters"),
    B("Zm9v====", "four padding characters"),
    B("Zg=a", "padding in the middle"),
    B("Zg==Zg==", "padding in the middle"),
    B("Zm=v", "padding in the middle"),
    B("Zm8==", "too much padding"),
    B("Zg=", "padding short of four"),
    B("Zm9v=", "padding after a full quantum"),
    B("Zh==", "non-zero trailing bits"),
    B("Zm9=", "non-zero trailing bits"),
    B("Zm9v\n", "newline"),
    B("Zm9v\r\n", "crlf"),
    B(" Zm9v", "leading space"),
    B("Zm9v ", "trailing space"),
    B("Zm9v YmFy", "inner space"),
    B("Zm9v\tYmFy", "tab"),
    B("Zm9v\0YmFy", "NUL"),
    B("Zm9v\xc3\xa9", "non-ASCII"),
    B("Zm9v\x80\x80", "high bytes"),
    B("Zm9v!!!!", "punctuation"),
    B("Zm9v....", "dots"),
    B("Zm9v%2B==", "percent escape"),
};

/* Decoding 'bad' must fail with INVALID and leave 'b' empty. */
static void
expect_invalid(enum kaeri_err (*decode)(const char *, size_t, struct buf *),
               const char *name, const struct bad *bad, struct buf *b)
{
    enum kaeri_err rc = decode(bad->s, bad->len, b);

    if (rc != KAERI_ERR_INVALID || b->len)
        fail_msg("%s accepted '%s' (%s): rc %d", name, bad->s, bad->why,
                 (int)rc);
}

static void test_decode_malformed(void **state)
{
    /* Each alphabet's own 62 and 63 are foreign to the other. */
    static const struct bad bad_std[] = {
        B("Zm9-", "url character in base64"),
        B("Zm9_", "url character in base64"),
        B("Zg", "missing padding"),
        B("Zm8", "missing padding"),
    };
    static const struct bad bad_url[] = {
        B("Zm9+", "base64 character in base64url"),
        B("Zm9/", "base64 character in base64url"),
    };
    struct buf b;
    size_t i;

    (void)state;
    buf_init(&b, BUF_UNLIMITED);
    for (i = 0; i < ARRAY_SIZE(bad_both); i++) {
        expect_invalid(b64_decode, "b64_decode", &bad_both[i], &b);
        expect_invalid(b64url_decode, "b64url_decode", &bad_both[i], &b);
    }
    for (i = 0; i < ARRAY_SIZE(bad_std); i++)
        expect_invalid(b64_decode, "b64_decode", &bad_std[i], &b);
    for (i = 0; i < ARRAY_SIZE(bad_url); i++)
        expect_invalid(b64url_decode, "b64url_decode", &bad_url[i], &b);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_url_accepts_padding),
        cmocka_unit_test(test_decode_appends),
        cmocka_unit_test(test_decode_limit),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

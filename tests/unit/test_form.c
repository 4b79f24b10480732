/*
 * test_form.c - form-encoded parsing: decoding, empty pairs, bad escapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "form.h"

#include <stdio.h>
#include <string.h>

static void test_decoding(void **state)
{
    static const char body[] =
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1"
        "23456789012%3Arole%2Fdemo&RoleSessionName=a+b&&Flag&Empty=";
    struct form f = {0};

    (void)state;
    assert_int_equal(form_parse(body, strlen(body), &f, NULL), KAERI_OK);
    assert_int_equal(f.count, 6);
    assert_string_equal(form_get(&f, "Action"), "AssumeRole");
    assert_string_equal(form_get(&f, "RoleArn"),
                        "arn:aws:iam::123456789012:role/demo");
    assert_string_equal(form_get(&f, "RoleSessionName"), "a b");
    assert_string_equal(form_get(&f, "Flag"), "");
    assert_string_equal(form_get(&f, "Empty"), "");
    assert_null(form_get(&f, "action")); /* case-sensitive */
    form_release(&f);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {"a=%", "a=%4", "a=%zz", "%G1=x",
                                      "a=%00", "a=1&b=%2"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct form f = {0};
        struct kaeri_error err = {0};

        assert_int_equal(form_parse(bad[i], strlen(bad[i]), &f, &err),
                         KAERI_ERR_INVALID);
        assert_int_equal(f.count, 0);
        assert_null(f.fields);
    }
}

static void test_limits(void **state)
{
    char body[FORM_MAX_FIELDS * 4 + 16];
    struct form f = {0};
    size_t n = 0;

    (void)state;
    for (int i = 0; i <= FORM_MAX_FIELDS; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "a=%d&", i % 10);
    assert_int_equal(form_parse(body, n, &f, NULL), KAERI_ERR_LIMIT);
    assert_int_equal(form_parse("", 0, &f, NULL), KAERI_OK);
    assert_int_equal(f.count, 0);
    form_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

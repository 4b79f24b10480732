/*
 * test_buf.c - growable buffers: appends, the ceiling, detach, consume.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"

#include <stdlib.h>
#include <string.h>

static void test_empty_is_terminated(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 16);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_release(&b);
}

static void test_append_and_printf(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, BUF_UNLIMITED);
    assert_int_equal(buf_adds(&b, "hello"), KAERI_OK);
    assert_int_equal(buf_addch(&b, ' '), KAERI_OK);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), KAERI_OK);
    assert_string_equal(b.data, "hello 42-x");
    assert_int_equal(b.len, 10);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_adds(&b, "0123456789"), KAERI_OK);
    assert_int_equal(b.len, 10010);
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_ceiling_leaves_buffer_unchanged(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "12345678"), KAERI_OK);
    assert_int_equal(buf_addch(&b, '9'), KAERI_ERR_LIMIT);
    assert_int_equal(buf_printf(&b, "%s", "x"), KAERI_ERR_LIMIT);
    assert_string_equal(b.data, "12345678");
    buf_reset(&b);
    assert_int_equal(buf_add(&b, "abcdefghi", 9), KAERI_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_detach_and_consume(void **state)
{
    struct buf b;
    size_t len;
    char *p;

    (void)state;
    buf_init(&b, 64);
    p = buf_detach(&b, &len); /* empty: still a string to free */
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);
    assert_int_equal(buf_adds(&b, "abcdef"), KAERI_OK);
    buf_consume(&b, 2);
    assert_string_equal(b.data, "cdef");
    buf_consume(&b, 10);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_adds(&b, "xyz"), KAERI_OK);
    p = buf_detach(&b, &len);
    assert_string_equal(p, "xyz");
    assert_int_equal(len, 3);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 64);
    free(p);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_terminated),
        cmocka_unit_test(test_append_and_printf),
        cmocka_unit_test(test_ceiling_leaves_buffer_unchanged),
        cmocka_unit_test(test_detach_and_consume),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

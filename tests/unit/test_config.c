/*
 * test_config.c - loading the config and the typed reads: every error
 * names the JSON path and the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const no_sections[] = {"cognito", NULL};

/* Write 'text' to a temporary file; the caller unlinks and frees it. */
static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/kaeri-config-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

struct core_case {
    const char *json;
    const char *where; /* NULL: loads */
    const char *text;  /* a substring of the reason */
};

static const struct core_case core_cases[] = {
    {"{}", NULL, NULL},
    {"{\"region\": \"us-east-1\", \"account\": \"000000000000\"}", NULL, NULL},
    {"[1, 2]", "$", "expected a JSON object"},
    {"{\"region\": 7}", "$.region", "expected a string"},
    {"{\"account\": \"12345\"}", "$.account", "12 digits"},
    {"{\"acount\": \"123456789012\"}", "$.acount", "unknown setting"},
    {"{\"limits\": {\"maxBodyBytes\": 10}}", "$.limits.maxBodyBytes",
     "expected 1024 to"},
    {"{\"limits\": {\"maxBody\": 4096}}", "$.limits.maxBody",
     "unknown setting"},
    {"{\"admin\": {\"allowRemote\": \"yes\"}}", "$.admin.allowRemote",
     "expected true or false"},
    {"{\"region\": \"a\", \"region\": \"b\"}", "line 1", "duplicate"},
    {"{\"region\": ", "line 1", ""},
};

static void test_core_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(core_cases); i++) {
        const struct core_case *c = &core_cases[i];
        struct kaeri_error err = {0};
        struct config_core core;
        char *path = temp_file(c->json);
        json_t *root = NULL;
        enum kaeri_err rc;

        rc = config_load(path, &root, &err);
        if (!rc)
            rc = config_core_read(root, no_sections, &core, &err);
        if (!c->where) {
            assert_int_equal(rc, KAERI_OK);
        } else {
            printf("case %zu: %s: %s\n", i, err.where, err.text);
            assert_int_not_equal(rc, KAERI_OK);
            assert_non_null(strstr(err.where, c->where));
            assert_non_null(strstr(err.text, c->text));
        }
        json_decref(root);
        unlink(path);
        free(path);
    }
}

static void test_core_defaults(void **state)
{
    struct kaeri_error err = {0};
    struct config_core core;
    json_t *root = json_object();

    (void)state;
    assert_int_equal(config_core_read(root, no_sections, &core, &err), 0);
    assert_string_equal(core.region, "ap-northeast-1");
    assert_string_equal(core.account, "123456789012");
    assert_int_equal(core.max_body_bytes, 10 << 20);
    assert_false(core.admin_allow_remote);
    json_decref(root);
}

static void test_missing_file(void **state)
{
    struct kaeri_error err = {0};
    json_t *root = NULL;

    (void)state;
    assert_int_equal(config_load("/nonexistent/kaeri.json", &root, &err),
                     KAERI_ERR_INVALID);
    assert_null(root);
    assert_true(strlen(err.text) > 0);
}

static void test_typed_reads(void **state)
{
    json_t *obj = json_pack("{s:s, s:i, s:b, s:[], s:{}}", "s", "text", "i",
                            5, "b", 1, "a", "o");
    struct kaeri_error err = {0};
    const json_t *a = NULL, *o = NULL;
    const char *s = "default";
    json_int_t i = -1;
    bool b = false;

    (void)state;
    assert_int_equal(cfg_string(obj, "$.x", "s", true, &s, &err), 0);
    assert_string_equal(s, "text");
    assert_int_equal(cfg_int(obj, "$.x", "i", true, 0, 10, &i, &err), 0);
    assert_int_equal(i, 5);
    assert_int_equal(cfg_bool(obj, "$.x", "b", true, &b, &err), 0);
    assert_true(b);
    assert_int_equal(cfg_array(obj, "$.x", "a", true, &a, &err), 0);
    assert_non_null(a);
    assert_int_equal(cfg_object(obj, "$.x", "o", true, &o, &err), 0);
    assert_non_null(o);

    /* absent and optional: the default stays */
    s = "default";
    assert_int_equal(cfg_string(obj, "$.x", "none", false, &s, &err), 0);
    assert_string_equal(s, "default");
    assert_int_equal(cfg_array(obj, "$.x", "none", false, &a, &err), 0);
    assert_null(a);

    /* absent and required, wrong type, out of range */
    assert_int_equal(cfg_string(obj, "$.x", "none", true, &s, &err),
                     KAERI_ERR_INVALID);
    assert_string_equal(err.where, "$.x.none");
    assert_string_equal(err.text, "required");
    assert_int_equal(cfg_int(obj, "$.x", "s", true, 0, 10, &i, &err),
                     KAERI_ERR_INVALID);
    assert_string_equal(err.where, "$.x.s");
    assert_int_equal(cfg_int(obj, "$.x", "i", true, 6, 10, &i, &err),
                     KAERI_ERR_INVALID);
    assert_int_equal(cfg_object(obj, "$.x", "a", true, &o, &err),
                     KAERI_ERR_INVALID);
    assert_string_equal(err.text, "expected an object");
    json_decref(obj);
}

static void test_keys(void **state)
{
    static const char *const allowed[] = {"a", "b", NULL};
    json_t *obj = json_pack("{s:i, s:i}", "a", 1, "c", 2);
    struct kaeri_error err = {0};

    (void)state;
    assert_int_equal(cfg_keys(obj, "$.p", allowed, &err), KAERI_ERR_INVALID);
    assert_string_equal(err.where, "$.p.c");
    json_object_del(obj, "c");
    assert_int_equal(cfg_keys(obj, "$.p", allowed, &err), KAERI_OK);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_cases),
        cmocka_unit_test(test_core_defaults),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_iam.c - the IAM config section and the first check of SigV4
 * Authorization headers: each malformed form gets AWS's error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iam.h"
#include "stub_transport.h"

#include <stdio.h>
#include <string.h>

#define KEY    "AKIAKAERITESTKEY0001"
#define SECRET "secret0000000000000000000000000000000000"

static int setup(void **state)
{
    json_t *iam = json_pack("{s:s, s:[{s:s, s:[{s:s, s:s}]}]}", "adminUser",
                            "admin", "users", "name", "admin", "accessKeys",
                            "accessKeyId", KEY, "secretAccessKey", SECRET);
    struct kaeri_error err = {0};
    enum kaeri_err rc = iam_init(iam, "123456789012", &err);

    (void)state;
    json_decref(iam);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    iam_release();
    return 0;
}

struct auth_case {
    const char *authorization; /* NULL: no header */
    const char *error_type;    /* NULL: accepted */
};

#define SCOPE "/20260101/ap-northeast-1/cognito-idp/aws4_request"
#define REST  ", SignedHeaders=host;x-amz-date, Signature=abcdef"

static const struct auth_case cases[] = {
    {"AWS4-HMAC-SHA256 Credential=" KEY SCOPE REST, NULL},
    {NULL, "MissingAuthenticationTokenException"},
    {"", "MissingAuthenticationTokenException"},
    {"Basic dXNlcjpwYXNz", "IncompleteSignatureException"},
    {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab",
     "IncompleteSignatureException"},
    {"AWS4-HMAC-SHA256 Credential=" KEY SCOPE ", Signature=ab",
     "IncompleteSignatureException"},
    {"AWS4-HMAC-SHA256 Credential=" KEY "/20260101/ap-northeast-1/cognito-idp"
     REST,
     "IncompleteSignatureException"},
    {"AWS4-HMAC-SHA256 Credential=" KEY
     "/20260101/ap-northeast-1/cognito-idp/aws4_request/x" REST,
     "IncompleteSignatureException"},
    {"AWS4-HMAC-SHA256 Credential=" KEY
     "/20260101/ap-northeast-1/sts/aws4_request" REST,
     "InvalidSignatureException"},
    {"AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY000001" SCOPE REST,
     "UnrecognizedClientException"},
};

static void test_authenticate(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char header[512];
        const char *headers[] = {header, NULL};
        struct iam_principal who;
        struct stub_reply stub;
        struct http_req *req;
        enum kaeri_err rc;

        snprintf(header, sizeof(header), "Authorization: %s",
                 cases[i].authorization ? cases[i].authorization : "");
        req = stub_req(&stub, "POST", "/",
                       cases[i].authorization ? headers : NULL, "{}");
        rc = iam_authenticate_json(req, "cognito-idp", &who);
        printf("case %zu: rc %d status %d %s\n", i, rc, req->status,
               req->error_code);
        if (!cases[i].error_type) {
            assert_int_equal(rc, KAERI_OK);
            assert_int_equal(stub.replies, 0);
            assert_string_equal(who.arn,
                                "arn:aws:iam::123456789012:user/admin");
            assert_string_equal(who.region, "ap-northeast-1");
        } else {
            assert_int_equal(rc, KAERI_ERR_AUTH);
            assert_int_equal(stub.replies, 1);
            assert_int_equal(req->status, 400);
            assert_string_equal(req->error_code, cases[i].error_type);
        }
        http_req_free(req);
    }
}

static void test_admin_key(void **state)
{
    (void)state;
    assert_non_null(iam_admin_key());
    assert_string_equal(iam_admin_key()->access_key_id, KEY);
    assert_string_equal(iam_admin_key()->secret_access_key, SECRET);
}

static void test_config_errors(void **state)
{
    static const char *const bad[] = {
        "{\"users\": {}}",
        "{\"users\": [{\"accessKeys\": []}]}",
        "{\"users\": [{\"name\": \"x\", \"accessKeys\": [{\"accessKeyId\": "
        "\"short\", \"secretAccessKey\": \"s\"}]}]}",
        "{\"adminUser\": \"ghost\", \"users\": []}",
        "{\"usrs\": []}",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_t *section = json_loads(bad[i], 0, NULL);
        struct kaeri_error err = {0};

        assert_non_null(section);
        assert_int_equal(iam_init(section, "123456789012", &err),
                         KAERI_ERR_INVALID);
        assert_int_equal(strncmp(err.where, "$.iam", 5), 0);
        json_decref(section);
    }
    assert_int_equal(setup(NULL), 0); /* restore for other tests */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate),
        cmocka_unit_test(test_admin_key),
        cmocka_unit_test(test_config_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_iam.c - the IAM section of the config, SigV4 authentication of
 * requests signed the way clients sign them (each failure with AWS's code
 * in each protocol), policy decisions, roles, trust and temporary
 * credentials, including their expiry by kaeri's clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "iam.h"
#include "sigv4.h"
#include "stub_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT "123456789012"
#define REGION  "ap-northeast-1"
#define ADMIN_KEY    "AKIAKAERITESTADMIN01"
#define ADMIN_SECRET "adminsecret00000000000000000000000000000"
#define DEV_KEY      "AKIAKAERITESTDEVKEY1"
#define DEV_SECRET   "devsecret0000000000000000000000000000000"
#define ROLE_ARN     "arn:aws:iam::" ACCOUNT ":role/reader"

static const char config[] =
    "{\"adminUser\": \"admin\","
    " \"users\": ["
    "  {\"name\": \"admin\", \"accessKeys\": [{\"accessKeyId\": \"" ADMIN_KEY
    "\", \"secretAccessKey\": \"" ADMIN_SECRET "\"}],"
    "   \"policies\": {\"all\": {\"Statement\": [{\"Effect\": \"Allow\","
    "     \"Action\": \"*\", \"Resource\": \"*\"}]}}},"
    "  {\"name\": \"dev\", \"accessKeys\": [{\"accessKeyId\": \"" DEV_KEY
    "\", \"secretAccessKey\": \"" DEV_SECRET "\"}],"
    "   \"policies\": {\"some\": {\"Statement\": ["
    "     {\"Effect\": \"Allow\", \"Action\": \"bedrock:Invoke*\","
    "      \"Resource\": \"*\"},"
    "     {\"Effect\": \"Deny\", \"Action\": \"bedrock:InvokeModel\","
    "      \"Resource\": \"arn:aws:bedrock:*::foundation-model/secret*\"}]}}}],"
    " \"roles\": ["
    "  {\"name\": \"reader\", \"maxSessionDuration\": 7200,"
    "   \"trustPolicy\": {\"Statement\": [{\"Effect\": \"Allow\","
    "     \"Principal\": {\"AWS\": \"arn:aws:iam::" ACCOUNT ":user/admin\"},"
    "     \"Action\": \"sts:AssumeRole\"}]},"
    "   \"policies\": {\"read\": {\"Statement\": [{\"Effect\": \"Allow\","
    "     \"Action\": \"cognito-idp:AdminGetUser\", \"Resource\": \"*\"}]}}}]}";

static int setup(void **state)
{
    json_t *section = json_loads(config, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    (void)state;
    rc = iam_init(section, ACCOUNT, REGION, &err);
    if (rc)
        printf("iam_init: %s: %s\n", err.where, err.text);
    json_decref(section);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    iam_release();
    clock_reset();
    return 0;
}

/* What to do to a well-signed request before it is checked. */
struct tamper {
    const char *secret;      /* sign with this instead */
    const char *region;      /* sign for this region */
    int64_t clock_skew;      /* sign this many seconds off kaeri's clock */
    bool change_body;        /* change the body after signing */
    bool no_auth;            /* send no Authorization at all */
    const char *key;         /* sign with this access key */
    const char *token;       /* X-Amz-Security-Token */
};

/* A signed Cognito-style POST, as an SDK sends it, through 'proto'. */
static struct http_req *signed_req(struct stub_reply *stub,
                                   const struct tamper *t)
{
    static const char body[] = "{\"UserPoolId\":\"p\"}";
    char amz_date[SIGV4_AMZ_DATE_LEN + 1], date_header[64], token_header[400];
    const char *headers[6] = {"Host: 127.0.0.1:4580",
                              "Content-Type: application/x-amz-json-1.1",
                              date_header, NULL, NULL, NULL};
    struct kaeri_error err = {0};
    struct http_req *req;
    struct sigv4_request sreq;
    char *auth = NULL, auth_header[1024];

    assert_int_equal(sigv4_format_amz_date(clock_now_s() + t->clock_skew,
                                           amz_date),
                     KAERI_OK);
    snprintf(date_header, sizeof(date_header), "X-Amz-Date: %s", amz_date);
    if (t->token) {
        snprintf(token_header, sizeof(token_header),
                 "X-Amz-Security-Token: %s", t->token);
        headers[3] = token_header;
    }
    req = stub_req(stub, "POST", "/", headers, body);
    sreq = (struct sigv4_request){
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers.items,
        .header_count = req->headers.count,
        .body = req->body.data,
        .body_len = req->body.len,
    };
    assert_int_equal(sigv4_sign(&sreq, t->key ? t->key : ADMIN_KEY,
                                t->secret ? t->secret : ADMIN_SECRET, t->token,
                                t->region ? t->region : REGION, "cognito-idp",
                                amz_date, &auth, &err),
                     KAERI_OK);
    if (!t->no_auth) {
        snprintf(auth_header, sizeof(auth_header), "%s", auth);
        http_req_add_header(req, "authorization", 13, auth_header,
                            strlen(auth_header));
    }
    free(auth);
    if (t->change_body)
        req->body.data[2] = 'X';
    return req;
}

struct auth_case {
    const char *name;
    struct tamper tamper;
    const char *json_code; /* NULL: accepted */
    const char *query_code;
    const char *message;   /* substring */
};

static const struct auth_case auth_cases[] = {
    {"good", {0}, NULL, NULL, NULL},
    {"missing", {.no_auth = true}, "MissingAuthenticationTokenException",
     "MissingAuthenticationToken", "Missing Authentication Token"},
    {"wrong secret", {.secret = "nope0000000000000000000000000000000000000"},
     "InvalidSignatureException", "SignatureDoesNotMatch",
     "The request signature we calculated does not match"},
    {"body changed", {.change_body = true}, "InvalidSignatureException",
     "SignatureDoesNotMatch", "does not match"},
    {"20 minutes old", {.clock_skew = -1200}, "InvalidSignatureException",
     "SignatureDoesNotMatch", "Signature expired"},
    {"20 minutes ahead", {.clock_skew = 1200}, "InvalidSignatureException",
     "SignatureDoesNotMatch", "Signature not yet current"},
    {"14 minutes old", {.clock_skew = -840}, NULL, NULL, NULL},
    {"wrong region", {.region = "us-east-1"}, "InvalidSignatureException",
     "SignatureDoesNotMatch", "us-east-1"},
    {"unknown key", {.key = "AKIAUNKNOWNKEY000001"},
     "UnrecognizedClientException", "InvalidClientTokenId",
     "security token included in the request is invalid"},
};

static void test_authenticate(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
        const struct auth_case *c = &auth_cases[i];

        for (int proto = IAM_PROTO_JSON; proto <= IAM_PROTO_QUERY;
             proto += IAM_PROTO_QUERY - IAM_PROTO_JSON) {
            struct stub_reply stub;
            struct http_req *req = signed_req(&stub, &c->tamper);
            struct iam_principal who;
            enum kaeri_err rc;

            rc = iam_authenticate(req, "cognito-idp", (enum iam_protocol)proto,
                                  &who);
            printf("%s/%d: rc %d %d %s %s\n", c->name, proto, rc, req->status,
                   req->error_code, req->reply_body.data);
            if (!c->json_code) {
                assert_int_equal(rc, KAERI_OK);
                assert_int_equal(stub.replies, 0);
                assert_string_equal(who.arn,
                                    "arn:aws:iam::" ACCOUNT ":user/admin");
                assert_int_equal(strncmp(who.user_id, "AIDA", 4), 0);
            } else {
                assert_int_equal(rc, KAERI_ERR_AUTH);
                assert_int_equal(stub.replies, 1);
                assert_string_equal(req->error_code,
                                    proto == IAM_PROTO_JSON ? c->json_code
                                                            : c->query_code);
                assert_non_null(strstr(req->reply_body.data, c->message));
            }
            http_req_free(req);
        }
    }
}

static void test_authorize(void **state)
{
    struct stub_reply stub;
    struct http_req *req = signed_req(&stub, &(struct tamper){.key = DEV_KEY,
                                                              .secret =
                                                                  DEV_SECRET});
    struct iam_principal dev;

    (void)state;
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &dev),
                     KAERI_OK);
    assert_true(iam_allowed(&dev, "bedrock:InvokeModel",
                            "arn:aws:bedrock:ap-northeast-1::foundation-model/"
                            "amazon.nova-micro-v1:0"));
    assert_true(iam_allowed(&dev, "BEDROCK:invokemodelwithresponsestream",
                            "arn:aws:bedrock:x::foundation-model/y"));
    assert_false(iam_allowed(&dev, "bedrock:InvokeModel",
                             "arn:aws:bedrock:x::foundation-model/secret-1"));
    assert_false(iam_allowed(&dev, "cognito-idp:AdminGetUser", "*"));

    assert_int_equal(iam_authorize(req, &dev, "cognito-idp:AdminGetUser",
                                   "arn:aws:cognito-idp:" REGION ":" ACCOUNT
                                   ":userpool/p",
                                   IAM_PROTO_JSON),
                     KAERI_ERR_DENIED);
    assert_string_equal(req->error_code, "AccessDeniedException");
    assert_non_null(strstr(req->reply_body.data,
                           "User: arn:aws:iam::" ACCOUNT ":user/dev is not "
                           "authorized to perform: cognito-idp:AdminGetUser "
                           "on resource: arn:aws:cognito-idp:"));
    assert_non_null(strstr(req->reply_body.data, "no identity-based policy"));
    http_req_free(req);

    req = signed_req(&stub, &(struct tamper){0});
    assert_int_equal(iam_authorize(req, &dev, "bedrock:InvokeModel",
                                   "arn:aws:bedrock:x::foundation-model/"
                                   "secret-2",
                                   IAM_PROTO_REST),
                     KAERI_ERR_DENIED);
    assert_int_equal(req->status, 403);
    assert_non_null(strstr(req->reply_body.data, "explicit deny"));
    http_req_free(req);
}

static void test_roles_and_sessions(void **state)
{
    const struct iam_entity *role = iam_role_find(ROLE_ARN);
    struct iam_session s;
    struct iam_principal who;
    struct stub_reply stub;
    struct http_req *req;

    (void)state;
    assert_non_null(role);
    assert_null(iam_role_find("arn:aws:iam::" ACCOUNT ":role/none"));
    assert_int_equal(iam_role_max_session(role), 7200);
    assert_true(iam_role_trusts(
        role, &(struct iam_trust_request){
                  .action = "sts:AssumeRole",
                  .aws_arn = "arn:aws:iam::" ACCOUNT ":user/admin"}));
    assert_false(iam_role_trusts(
        role, &(struct iam_trust_request){
                  .action = "sts:AssumeRole",
                  .aws_arn = "arn:aws:iam::" ACCOUNT ":user/dev"}));

    iam_assume(role, "s1", 900, &s);
    assert_int_equal(strncmp(s.access_key_id, "ASIA", 4), 0);
    assert_int_equal(strlen(s.access_key_id), 20);
    assert_string_equal(s.arn, "arn:aws:sts::" ACCOUNT ":assumed-role/reader/s1");
    assert_int_equal(strncmp(s.assumed_role_id, "AROA", 4), 0);

    /* the temporary credentials sign like any others, token included */
    req = signed_req(&stub, &(struct tamper){.key = s.access_key_id,
                                             .secret = s.secret_access_key,
                                             .token = s.session_token});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_OK);
    assert_string_equal(who.arn, s.arn);
    assert_true(iam_allowed(&who, "cognito-idp:AdminGetUser", "x"));
    assert_false(iam_allowed(&who, "bedrock:InvokeModel", "x"));
    http_req_free(req);

    /* without the token they are unknown */
    req = signed_req(&stub, &(struct tamper){.key = s.access_key_id,
                                             .secret = s.secret_access_key});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_ERR_AUTH);
    assert_string_equal(req->error_code, "UnrecognizedClientException");
    http_req_free(req);

    /* past their expiry by kaeri's clock, signed at kaeri's time */
    clock_advance(901);
    req = signed_req(&stub, &(struct tamper){.key = s.access_key_id,
                                             .secret = s.secret_access_key,
                                             .token = s.session_token});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_QUERY, &who),
                     KAERI_ERR_AUTH);
    assert_string_equal(req->error_code, "ExpiredToken");
    http_req_free(req);
    req = signed_req(&stub, &(struct tamper){.key = s.access_key_id,
                                             .secret = s.secret_access_key,
                                             .token = s.session_token});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_ERR_AUTH);
    assert_string_equal(req->error_code, "ExpiredTokenException");
    http_req_free(req);
    clock_reset();
}

static void test_admin_key(void **state)
{
    (void)state;
    assert_non_null(iam_admin_key());
    assert_string_equal(iam_admin_key()->access_key_id, ADMIN_KEY);
    assert_string_equal(iam_admin_key()->secret_access_key, ADMIN_SECRET);
}

struct bad_config {
    const char *json;
    const char *where;
};

static const struct bad_config bad_configs[] = {
    {"{\"users\": {}}", "$.iam.users"},
    {"{\"users\": [{\"accessKeys\": []}]}", "$.iam.users[0].name"},
    {"{\"users\": [{\"name\": \"x\", \"accessKeys\": [{\"accessKeyId\": "
     "\"short\", \"secretAccessKey\": \"s\"}]}]}",
     "$.iam.users[0].accessKeys[0]"},
    {"{\"adminUser\": \"ghost\", \"users\": []}", "$.iam.adminUser"},
    {"{\"usrs\": []}", "$.iam.usrs"},
    {"{\"sigv4\": \"sometimes\"}", "$.iam.sigv4"},
    {"{\"roles\": [{\"name\": \"r\"}]}", "$.iam.roles[0].trustPolicy"},
    {"{\"users\": [{\"name\": \"u\", \"policies\": {\"p\": {\"Statement\": "
     "[{\"Effect\": \"Allow\", \"NotAction\": \"s3:*\", \"Resource\": "
     "\"*\"}]}}}]}",
     "$.iam.users[0].policies.p.Statement[0].NotAction"},
    {"{\"roles\": [{\"name\": \"r\", \"trustPolicy\": {\"Statement\": "
     "[{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": "
     "\"sts:AssumeRole\", \"Condition\": {\"DateGreaterThan\": {\"a\": "
     "\"b\"}}}]}}]}",
     "$.iam.roles[0].trustPolicy.Statement[0].Condition"},
    {"{\"roles\": [{\"name\": \"r\", \"trustPolicy\": {\"Statement\": []}},"
     " {\"name\": \"r\", \"trustPolicy\": {\"Statement\": []}}]}",
     "$.iam"},
    {"{\"users\": [{\"name\": \"bad name!\"}]}", "$.iam.users[0]"},
};

static void test_config_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++) {
        json_t *section = json_loads(bad_configs[i].json, 0, NULL);
        struct kaeri_error err = {0};

        assert_non_null(section);
        assert_int_equal(iam_init(section, ACCOUNT, REGION, &err),
                         KAERI_ERR_INVALID);
        printf("config %zu: %s: %s\n", i, err.where, err.text);
        assert_int_equal(strncmp(err.where, bad_configs[i].where,
                                 strlen(bad_configs[i].where)),
                         0);
        json_decref(section);
    }
    assert_int_equal(setup(NULL), 0); /* restore for the other tests */
}

static void test_warn_mode_lets_bad_signatures_through(void **state)
{
    json_t *section = json_loads(config, 0, NULL);
    struct iam_principal who;
    struct stub_reply stub;
    struct http_req *req;

    (void)state;
    json_object_set_new(section, "sigv4", json_string("warn"));
    assert_int_equal(iam_init(section, ACCOUNT, REGION, NULL), KAERI_OK);
    json_decref(section);
    req = signed_req(&stub, &(struct tamper){.change_body = true});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_OK);
    assert_int_equal(stub.replies, 0);
    http_req_free(req);
    /* an unknown key is still refused: there is nobody to act as */
    req = signed_req(&stub, &(struct tamper){.key = "AKIAUNKNOWNKEY000001"});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_ERR_AUTH);
    http_req_free(req);
    assert_int_equal(setup(NULL), 0);
}

static void test_off_mode_checks_keys_only(void **state)
{
    json_t *section = json_loads(config, 0, NULL);
    struct iam_principal who;
    struct stub_reply stub;
    struct http_req *req;

    (void)state;
    json_object_set_new(section, "sigv4", json_string("off"));
    assert_int_equal(iam_init(section, ACCOUNT, REGION, NULL), KAERI_OK);
    json_decref(section);
    req = signed_req(&stub, &(struct tamper){.clock_skew = -3600,
                                             .change_body = true});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_OK);
    assert_string_equal(who.arn, "arn:aws:iam::" ACCOUNT ":user/admin");
    http_req_free(req);
    req = signed_req(&stub, &(struct tamper){.no_auth = true});
    assert_int_equal(iam_authenticate(req, "cognito-idp", IAM_PROTO_JSON, &who),
                     KAERI_ERR_AUTH);
    http_req_free(req);
    assert_int_equal(setup(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate),
        cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_roles_and_sessions),
        cmocka_unit_test(test_admin_key),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_warn_mode_lets_bad_signatures_through),
        cmocka_unit_test(test_off_mode_checks_keys_only),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

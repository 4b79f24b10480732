/*
 * test_svc_identity.c - Cognito identity pools through the router with
 * hand-built requests and a stub transport: users sign in to a user pool
 * (svc_cognito), then GetId and GetCredentialsForIdentity answer as
 * spec/cognito.md section 7 says: stable identity ids for both provider
 * name forms, the Token role mapping (CustomRoleArn, preferred role,
 * ambiguous resolution), the trust policy check, unauthenticated
 * identities, every token refusal, the validation messages, an identity
 * recognised again after a restart, and the config's errors. The signed
 * operations are covered over the wire; here only their refusal without
 * a signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "iam.h"
#include "router.h"
#include "services.h"
#include "stub_transport.h"
#include "svc_cognito.h"
#include "svc_identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCOUNT   "123456789012"
#define POOL      "ap-northeast-1_UnitIdp1"
#define POOL2     "ap-northeast-1_UnitIdp2" /* keys made in the state dir */
#define CLIENT    "unitidpclient0000000001"
#define OTHER     "unitotherclient00000001" /* not a provider of any pool */
#define CLIENT2   "unitidp2client000000001"
#define PW        "Unit#Passw0rd"
#define IP1       "ap-northeast-1:11111111-1111-4111-8111-111111111111"
#define IP2       "ap-northeast-1:22222222-2222-4222-8222-222222222222"
#define IP3       "ap-northeast-1:33333333-3333-4333-8333-333333333333"
#define NO_IP     "ap-northeast-1:00000000-0000-4000-8000-000000000000"
#define ARN       "arn:aws:iam::" ACCOUNT ":role/"
#define R_ADMINS  ARN "admins"
#define R_USERS   ARN "users"
#define R_X       ARN "x"
#define R_Y       ARN "y"
#define R_GUEST   ARN "guest"
#define R_NONE    ARN "nosuchrole"
#define AWS_KEY   "cognito-idp.ap-northeast-1.amazonaws.com/" POOL
#define LOCAL_KEY "127.0.0.1:4580/" POOL

/* Groups give alice a preferred role, tina two roles and no preference. */
static const char cognito_text[] =
    "{\"userPools\": [{"
    " \"id\": \"" POOL "\", \"name\": \"unit\","
    " \"keys\": {\"id\": \"keys/pool1-id.pem\","
    "            \"access\": \"keys/pool1-access.pem\"},"
    " \"clients\": ["
    "  {\"id\": \"" CLIENT "\","
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]},"
    "  {\"id\": \"" OTHER "\","
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]}],"
    " \"groups\": ["
    "  {\"name\": \"admins\", \"roleArn\": \"" R_ADMINS "\","
    "   \"precedence\": 0},"
    "  {\"name\": \"users\", \"roleArn\": \"" R_USERS "\","
    "   \"precedence\": 10},"
    "  {\"name\": \"x1\", \"roleArn\": \"" R_X "\", \"precedence\": 1},"
    "  {\"name\": \"y1\", \"roleArn\": \"" R_Y "\", \"precedence\": 1}],"
    " \"users\": ["
    "  {\"username\": \"alice\", \"password\": \"" PW "\","
    "   \"groups\": [\"admins\", \"users\"]},"
    "  {\"username\": \"bob\", \"password\": \"" PW "\","
    "   \"groups\": [\"users\"]},"
    "  {\"username\": \"carol\", \"password\": \"" PW "\"},"
    "  {\"username\": \"tina\", \"password\": \"" PW "\","
    "   \"groups\": [\"x1\", \"y1\"]}]"
    "}, {"
    " \"id\": \"" POOL2 "\","
    " \"clients\": [{\"id\": \"" CLIENT2 "\","
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]}],"
    " \"users\": [{\"username\": \"dave\", \"password\": \"" PW "\"}]"
    "}]}";

/* Trusts the identity pools 1 and 2 for authenticated identities. */
#define AUTH_TRUST                                                         \
    "{\"Version\": \"2012-10-17\", \"Statement\": [{"                      \
    " \"Effect\": \"Allow\","                                              \
    " \"Principal\": {\"Federated\": \"cognito-identity.amazonaws.com\"}," \
    " \"Action\": \"sts:AssumeRoleWithWebIdentity\","                      \
    " \"Condition\": {"                                                    \
    "  \"StringEquals\": {\"cognito-identity.amazonaws.com:aud\":"         \
    "                     [\"" IP1 "\", \"" IP2 "\"]},"                    \
    "  \"ForAnyValue:StringLike\": {"                                      \
    "   \"cognito-identity.amazonaws.com:amr\": \"authenticated\"}}}]}"

#define GUEST_TRUST                                                        \
    "{\"Version\": \"2012-10-17\", \"Statement\": [{"                      \
    " \"Effect\": \"Allow\","                                              \
    " \"Principal\": {\"Federated\": \"cognito-identity.amazonaws.com\"}," \
    " \"Action\": \"sts:AssumeRoleWithWebIdentity\","                      \
    " \"Condition\": {"                                                    \
    "  \"StringEquals\": {\"cognito-identity.amazonaws.com:aud\": \"" IP2  \
    "\"},"                                                                 \
    "  \"ForAnyValue:StringLike\": {"                                      \
    "   \"cognito-identity.amazonaws.com:amr\": \"unauthenticated\"}}}]}"

#define LAMBDA_TRUST                                           \
    "{\"Version\": \"2012-10-17\", \"Statement\": [{"          \
    " \"Effect\": \"Allow\","                                  \
    " \"Principal\": {\"Service\": \"lambda.amazonaws.com\"}," \
    " \"Action\": \"sts:AssumeRole\"}]}"

static const char iam_text[] =
    "{\"roles\": ["
    " {\"name\": \"admins\", \"trustPolicy\": " AUTH_TRUST "},"
    " {\"name\": \"users\", \"trustPolicy\": " AUTH_TRUST "},"
    " {\"name\": \"x\", \"trustPolicy\": " AUTH_TRUST "},"
    " {\"name\": \"y\", \"trustPolicy\": " LAMBDA_TRUST "},"
    " {\"name\": \"guest\", \"trustPolicy\": " GUEST_TRUST "}]}";

/* 1: Token mapping; 2: Deny and guests; 3: a role that does not trust. */
static const char identity_text[] =
    "[{\"id\": \"" IP1 "\", \"name\": \"unit-one\","
    "  \"providers\": [{\"userPool\": \"" POOL "\", \"clientId\": \"" CLIENT
    "\"}],"
    "  \"roles\": {\"authenticated\": \"" R_USERS "\"},"
    "  \"roleMapping\": {\"type\": \"Token\","
    "                    \"ambiguousRoleResolution\": \"AuthenticatedRole\"}},"
    " {\"id\": \"" IP2 "\", \"allowUnauthenticated\": true,"
    "  \"providers\": [{\"userPool\": \"" POOL "\", \"clientId\": \"" CLIENT
    "\"},"
    "                {\"userPool\": \"" POOL2 "\", \"clientId\": \"" CLIENT2
    "\"}],"
    "  \"roles\": {\"authenticated\": \"" R_USERS "\","
    "             \"unauthenticated\": \"" R_GUEST "\"},"
    "  \"roleMapping\": {\"type\": \"Token\","
    "                    \"ambiguousRoleResolution\": \"Deny\"}},"
    " {\"id\": \"" IP3 "\","
    "  \"providers\": [{\"userPool\": \"" POOL "\", \"clientId\": \"" CLIENT
    "\"}],"
    "  \"roles\": {\"authenticated\": \"" R_Y "\"}}]";

static char state_dir[] = "/tmp/kaeri-unit-identity-XXXXXX";
static json_t *root; /* {"cognito": ...}, for the provider references */

static struct kaeri_env env = {
    .region = "ap-northeast-1",
    .account = ACCOUNT,
    .http_url = "http://127.0.0.1:4580",
    .state_dir = state_dir,
    .config_dir = "fixtures",
};

static int init_identity(void)
{
    json_t *section = json_loads(identity_text, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    assert_non_null(section);
    rc = svc_identity.init(section, &env, &err);
    if (rc)
        fprintf(stderr, "identity init: %s: %s\n", err.where, err.text);
    json_decref(section);
    return rc ? -1 : 0;
}

static int setup(void **state)
{
    json_t *iam = json_loads(iam_text, 0, NULL);
    json_t *cognito = json_loads(cognito_text, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    (void)state;
    assert_non_null(iam);
    assert_non_null(cognito);
    root = json_pack("{s:O}", "cognito", cognito);
    env.root = root;
    rc = iam_init(iam, ACCOUNT, "ap-northeast-1", &err);
    if (!rc)
        rc = svc_cognito.init(cognito, &env, &err);
    if (rc)
        fprintf(stderr, "init: %s: %s\n", err.where, err.text);
    json_decref(iam);
    json_decref(cognito);
    return rc ? -1 : init_identity();
}

static int teardown(void **state)
{
    (void)state;
    svc_identity.release();
    svc_cognito.release();
    iam_release();
    json_decref(root);
    clock_reset();
    return 0;
}

/* ---- calls ------------------------------------------------------------ */

/*
 * POST 'body' (raw text, so malformed JSON can be sent) with X-Amz-Target
 * 'target' through the router. Returns the reply body (new ref) and
 * *status; an error has the same code in the body and the header.
 */
static json_t *call_target(const char *target, const char *body, int *status)
{
    char header[160];
    const char *headers[] = {header, "Content-Type: application/x-amz-json-1.1",
                             NULL};
    struct stub_reply stub;
    struct http_req *req;
    json_t *out;

    snprintf(header, sizeof(header), "X-Amz-Target: %s", target);
    req = stub_req(&stub, "POST", "/", headers, body);
    router_dispatch(req);
    assert_int_equal(stub.replies, 1);
    *status = req->status;
    out = stub_reply_json(req);
    assert_non_null(out);
    if (req->status != 200)
        assert_string_equal(stub_reply_header(req, "x-amzn-ErrorType"),
                            json_string_value(json_object_get(out, "__type")));
    http_req_free(req);
    return out;
}

static json_t *call(const char *op, const char *body, int *status)
{
    char target[128];

    snprintf(target, sizeof(target), "AWSCognitoIdentityService.%s", op);
    return call_target(target, body, status);
}

/* call() with a json_pack() body. */
static json_t *callf(const char *op, int *status, const char *fmt, ...)
{
    va_list ap;
    json_t *body;
    char *text;
    json_t *out;

    va_start(ap, fmt);
    body = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    assert_non_null(body);
    text = json_dumps(body, JSON_COMPACT);
    out = call(op, text, status);
    free(text);
    json_decref(body);
    return out;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/*
 * 'out' is the error 'code' with 'message' (NULL: not compared); freed.
 * 'status' is a pointer: it is read after the call that fills it.
 */
static void expect_error(json_t *out, const int *status, const char *code,
                         const char *message)
{
    if (!str(out, "__type") || strcmp(str(out, "__type"), code) ||
        (message && strcmp(str(out, "message"), message)))
        fail_msg("expected %s '%s', got %d %s '%s'", code,
                 message ? message : "", *status,
                 str(out, "__type") ? str(out, "__type") : "-",
                 str(out, "message") ? str(out, "message") : "-");
    assert_int_equal(*status, 400);
    json_decref(out);
}

/* The ID token (or access token) of 'user' signed in with 'client'. */
static char *sign_in(const char *client, const char *user, bool access)
{
    json_t *body = json_pack(
        "{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
        "ClientId", client, "AuthParameters", "USERNAME", user, "PASSWORD", PW);
    char *text = json_dumps(body, JSON_COMPACT);
    int status;
    json_t *out = call_target("AWSCognitoIdentityProviderService.InitiateAuth",
                              text, &status);
    char *token;

    assert_int_equal(status, 200);
    token = strdup(json_string_value(
        json_object_get(json_object_get(out, "AuthenticationResult"),
                        access ? "AccessToken" : "IdToken")));
    assert_non_null(token);
    free(text);
    json_decref(body);
    json_decref(out);
    return token;
}

/* GetId in 'pool' with one login; the identity id (caller frees). */
static char *get_id(const char *pool, const char *key, const char *token)
{
    int status;
    json_t *out = callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId",
                        pool, "Logins", key, token);
    char *id;

    if (status != 200)
        fail_msg("GetId: %s: %s", str(out, "__type"), str(out, "message"));
    id = strdup(str(out, "IdentityId"));
    json_decref(out);
    return id;
}

/* "<region>:" and a lower-case version-4 UUID. */
static void assert_identity_id(const char *id)
{
    const char *u = id + strlen("ap-northeast-1:");

    assert_int_equal(strncmp(id, "ap-northeast-1:", 15), 0);
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
}

/* GetCredentialsForIdentity with one login (key NULL: none). */
static json_t *get_credentials(const char *id, const char *key,
                               const char *token, const char *custom_role,
                               int *status)
{
    json_t *body = json_pack("{s:s}", "IdentityId", id);
    char *text;
    json_t *out;

    if (key)
        json_object_set_new(body, "Logins", json_pack("{s:s}", key, token));
    if (custom_role)
        json_object_set_new(body, "CustomRoleArn", json_string(custom_role));
    text = json_dumps(body, JSON_COMPACT);
    out = call("GetCredentialsForIdentity", text, status);
    free(text);
    json_decref(body);
    return out;
}

/* The answer holds temporary credentials for 'id', valid one hour. */
static void assert_credentials(json_t *out, int status, const char *id)
{
    const json_t *creds = json_object_get(out, "Credentials");
    json_int_t expiration =
        json_integer_value(json_object_get(creds, "Expiration"));

    if (status != 200)
        fail_msg("GetCredentialsForIdentity: %s: %s", str(out, "__type"),
                 str(out, "message"));
    assert_string_equal(str(out, "IdentityId"), id);
    assert_int_equal(strncmp(str(creds, "AccessKeyId"), "ASIA", 4), 0);
    assert_true(strlen(str(creds, "SecretKey")) >= 20);
    assert_true(strlen(str(creds, "SessionToken")) >= 20);
    assert_null(json_object_get(creds, "SecretAccessKey"));
    assert_true(expiration >= clock_now_s() + 3590 &&
                expiration <= clock_now_s() + 3600);
    json_decref(out);
}

/* ---- tests ------------------------------------------------------------ */

struct error_case {
    const char *op;
    const char *body;
    const char *code;
    const char *message; /* NULL: not compared */
};

static const struct error_case error_cases[] = {
    {"NoSuchOp", "{}", "UnknownOperationException", NULL},
    {"GetId", "{", "SerializationException", NULL},
    {"GetId", "[1]", "SerializationException", NULL},
    {"GetId", "", "InvalidParameterException",
     "1 validation error detected: Value null at 'identityPoolId' failed to "
     "satisfy constraint: Member must not be null"},
    {"GetId", "{\"IdentityPoolId\": \"nope\"}", "InvalidParameterException",
     "1 validation error detected: Value 'nope' at 'identityPoolId' failed "
     "to satisfy constraint: Member must satisfy regular expression pattern: "
     "[\\w-]+:[0-9a-f-]+"},
    {"GetId", "{\"IdentityPoolId\": 5, \"AccountId\": \"12x\"}",
     "InvalidParameterException",
     "2 validation errors detected: Value '12x' at 'accountId' failed to "
     "satisfy constraint: Member must satisfy regular expression pattern: "
     "\\d+; Value at 'identityPoolId' failed to satisfy constraint: Member "
     "must be a string"},
    {"GetId", "{\"IdentityPoolId\": \"" IP1 "\", \"Logins\": {\"a\": 1}}",
     "InvalidParameterException",
     "1 validation error detected: Value at 'logins' failed to satisfy "
     "constraint: Member must be a map of strings"},
    {"GetId", "{\"IdentityPoolId\": \"" IP1 "\", \"Logins\": {\"a\": \"\"}}",
     "InvalidParameterException",
     "1 validation error detected: Value at 'logins' failed to satisfy "
     "constraint: Map value must satisfy constraint: [Member must have "
     "length less than or equal to 50000, Member must have length greater "
     "than or equal to 1]"},
    {"GetId", "{\"IdentityPoolId\": \"" NO_IP "\"}",
     "ResourceNotFoundException", "IdentityPool '" NO_IP "' not found."},
    {"GetId", "{\"IdentityPoolId\": \"" IP1 "\"}", "NotAuthorizedException",
     "Unauthenticated access is not supported for this identity pool."},
    {"GetId", "{\"IdentityPoolId\": \"" IP1 "\", \"Logins\": {}}",
     "NotAuthorizedException",
     "Unauthenticated access is not supported for this identity pool."},
    {"GetId",
     "{\"IdentityPoolId\": \"" IP1 "\","
     " \"Logins\": {\"graph.facebook.com\": \"x\"}}",
     "NotAuthorizedException",
     "Token is not from a supported provider of this identity pool."},
    /* the second user pool is a provider of pool 2 only */
    {"GetId",
     "{\"IdentityPoolId\": \"" IP1 "\", \"Logins\": "
     "{\"cognito-idp.ap-northeast-1.amazonaws.com/" POOL2 "\": \"x\"}}",
     "NotAuthorizedException",
     "Token is not from a supported provider of this identity pool."},
    {"GetId",
     "{\"IdentityPoolId\": \"" IP1 "\", \"Logins\": {\"" AWS_KEY
     "\": \"not.a.jwt\"}}",
     "NotAuthorizedException",
     "Invalid login token. Couldn't verify signed token."},
    {"GetCredentialsForIdentity", "{}", "InvalidParameterException",
     "1 validation error detected: Value null at 'identityId' failed to "
     "satisfy constraint: Member must not be null"},
    {"GetCredentialsForIdentity",
     "{\"IdentityId\": \"" NO_IP "\", \"CustomRoleArn\": \"arn:short\"}",
     "InvalidParameterException",
     "1 validation error detected: Value 'arn:short' at 'customRoleArn' "
     "failed to satisfy constraint: Member must have length greater than or "
     "equal to 20"},
    {"GetCredentialsForIdentity", "{\"IdentityId\": \"" NO_IP "\"}",
     "ResourceNotFoundException", "Identity '" NO_IP "' not found."},
    /* signed operations refuse a request without Authorization */
    {"DescribeIdentityPool", "{\"IdentityPoolId\": \"" IP1 "\"}",
     "MissingAuthenticationTokenException", NULL},
    {"ListIdentityPools", "{\"MaxResults\": 10}",
     "MissingAuthenticationTokenException", NULL},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
        const struct error_case *c = &error_cases[i];
        int status;
        json_t *out = call(c->op, c->body, &status);
        const char *code = str(out, "__type"), *msg = str(out, "message");

        if (!code || strcmp(code, c->code) ||
            (c->message && (!msg || strcmp(msg, c->message))))
            fail_msg("case %zu (%s %s): got %s: %s", i, c->op, c->body,
                     code ? code : "-", msg ? msg : "-");
        assert_true(status >= 400 && status < 500);
        json_decref(out);
    }
}

/* Too many Logins: the model allows 10. */
static void test_too_many_logins(void **state)
{
    json_t *logins = json_object();
    int status;

    (void)state;
    for (int i = 0; i < 11; i++) {
        char key[32];

        snprintf(key, sizeof(key), "provider%d", i);
        json_object_set_new(logins, key, json_string("token"));
    }
    expect_error(callf("GetId", &status, "{s:s, s:o}", "IdentityPoolId", IP1,
                       "Logins", logins),
                 &status, "InvalidParameterException",
                 "1 validation error detected: Value at 'logins' failed to "
                 "satisfy constraint: Member must have length less than or "
                 "equal to 10");
}

/* Both provider name forms, and every sign-in, give one identity id. */
static void test_stable_identity_id(void **state)
{
    char *alice = sign_in(CLIENT, "alice", false);
    char *alice2 = sign_in(CLIENT, "alice", false);
    char *bob = sign_in(CLIENT, "bob", false);
    char *a1 = get_id(IP1, AWS_KEY, alice);
    char *a2 = get_id(IP1, LOCAL_KEY, alice);
    char *a3 = get_id(IP1, AWS_KEY, alice2);
    char *b1 = get_id(IP1, LOCAL_KEY, bob);
    char *other_pool = get_id(IP2, AWS_KEY, alice);

    (void)state;
    assert_identity_id(a1);
    assert_identity_id(b1);
    assert_string_equal(a1, a2);
    assert_string_equal(a1, a3);
    assert_string_not_equal(a1, b1);
    assert_string_not_equal(a1, other_pool);
    free(alice);
    free(alice2);
    free(bob);
    free(a1);
    free(a2);
    free(a3);
    free(b1);
    free(other_pool);
}

/* Tokens that are not good ID tokens of a provider of the pool. */
static void test_token_refusals(void **state)
{
    char *access = sign_in(CLIENT, "alice", true);
    char *other_client = sign_in(OTHER, "alice", false);
    char *dave = sign_in(CLIENT2, "dave", false);
    char *tampered = sign_in(CLIENT, "alice", false);
    char *fresh = sign_in(CLIENT, "alice", false);
    char *id = get_id(IP1, AWS_KEY, fresh);
    char expected[128];
    int status;
    json_t *out;

    (void)state;
    /* flip one character in the middle of the signature */
    tampered[strlen(tampered) - 40] ^= 0x01;
    expect_error(callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId",
                       IP1, "Logins", AWS_KEY, tampered),
                 &status, "NotAuthorizedException",
                 "Invalid login token. Couldn't verify signed token.");
    expect_error(callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId",
                       IP1, "Logins", AWS_KEY, access),
                 &status, "NotAuthorizedException",
                 "Invalid login token. Missing a required claim: aud");
    expect_error(callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId",
                       IP1, "Logins", LOCAL_KEY, other_client),
                 &status, "NotAuthorizedException",
                 "Token is not from a supported provider of this identity "
                 "pool.");
    /* a token of user pool 2 under user pool 1's name */
    expect_error(callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId",
                       IP2, "Logins", AWS_KEY, dave),
                 &status, "NotAuthorizedException",
                 "Invalid login token. Issuer doesn't match providerName");
    /* the same refusals on GetCredentialsForIdentity */
    expect_error(get_credentials(id, AWS_KEY, tampered, NULL, &status), &status,
                 "NotAuthorizedException",
                 "Invalid login token. Couldn't verify signed token.");
    expect_error(
        get_credentials(id, "graph.facebook.com", fresh, NULL, &status),
        &status, "NotAuthorizedException",
        "Token is not from a supported provider of this identity "
        "pool.");

    /* expired: kaeri's clock two hours on; the message names both times */
    clock_advance(7200);
    out = callf("GetId", &status, "{s:s, s:{s:s}}", "IdentityPoolId", IP1,
                "Logins", AWS_KEY, fresh);
    snprintf(expected, sizeof(expected),
             "Invalid login token. Token expired: %lld >= ",
             (long long)clock_now_s());
    assert_int_equal(strncmp(str(out, "message"), expected, strlen(expected)),
                     0);
    expect_error(out, &status, "NotAuthorizedException", NULL);
    expect_error(get_credentials(id, AWS_KEY, fresh, NULL, &status), &status,
                 "NotAuthorizedException", NULL);
    clock_reset();

    free(access);
    free(other_client);
    free(dave);
    free(tampered);
    free(fresh);
    free(id);
}

/* The Token role mapping and the trust policy decide who gets what. */
static void test_credentials_and_roles(void **state)
{
    char *alice = sign_in(CLIENT, "alice", false);
    char *bob = sign_in(CLIENT, "bob", false);
    char *carol = sign_in(CLIENT, "carol", false);
    char *tina = sign_in(CLIENT, "tina", false);
    char *alice_id = get_id(IP1, AWS_KEY, alice);
    char *bob_id = get_id(IP1, LOCAL_KEY, bob);
    char *carol_id = get_id(IP1, AWS_KEY, carol);
    char *tina_id = get_id(IP1, AWS_KEY, tina);
    char *tina_deny = get_id(IP2, AWS_KEY, tina);
    char *carol_untrusted = get_id(IP3, AWS_KEY, carol);
    int status;
    json_t *out;

    (void)state;
    /* preferred role (admins), and by either provider name */
    out = get_credentials(alice_id, AWS_KEY, alice, NULL, &status);
    assert_credentials(out, status, alice_id);
    out = get_credentials(alice_id, LOCAL_KEY, alice, NULL, &status);
    assert_credentials(out, status, alice_id);
    out = get_credentials(bob_id, AWS_KEY, bob, NULL, &status);
    assert_credentials(out, status, bob_id);
    /* no groups: the authenticated role (ambiguous -> AuthenticatedRole) */
    out = get_credentials(carol_id, AWS_KEY, carol, NULL, &status);
    assert_credentials(out, status, carol_id);
    /* two roles, no preference: AuthenticatedRole in pool 1 ... */
    out = get_credentials(tina_id, AWS_KEY, tina, NULL, &status);
    assert_credentials(out, status, tina_id);
    /* ... Deny in pool 2, unless CustomRoleArn picks one of hers */
    expect_error(get_credentials(tina_deny, AWS_KEY, tina, NULL, &status),
                 &status, "NotAuthorizedException",
                 "The ambiguous role mapping rules denied this request.");
    out = get_credentials(tina_deny, AWS_KEY, tina, R_X, &status);
    assert_credentials(out, status, tina_deny);
    /* one of hers whose trust policy does not trust identity pools */
    expect_error(get_credentials(tina_deny, AWS_KEY, tina, R_Y, &status),
                 &status, "InvalidIdentityPoolConfigurationException",
                 "Invalid identity pool configuration. Check assigned IAM "
                 "roles for this pool.");
    /* CustomRoleArn: one of alice's roles, or refused */
    out = get_credentials(alice_id, AWS_KEY, alice, R_USERS, &status);
    assert_credentials(out, status, alice_id);
    expect_error(get_credentials(alice_id, AWS_KEY, alice, R_X, &status),
                 &status, "NotAuthorizedException", NULL);
    /* pool 3's authenticated role trusts only Lambda */
    expect_error(
        get_credentials(carol_untrusted, AWS_KEY, carol, NULL, &status),
        &status, "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for "
        "this pool.");
    /* someone else's login, or none, for alice's identity */
    expect_error(get_credentials(alice_id, AWS_KEY, bob, NULL, &status),
                 &status, "NotAuthorizedException",
                 "Logins don't match. Please include at least one valid login "
                 "for this identity or identity pool.");
    expect_error(get_credentials(alice_id, NULL, NULL, NULL, &status), &status,
                 "NotAuthorizedException",
                 "Logins don't match. Please include at least one valid login "
                 "for this identity or identity pool.");

    free(alice);
    free(bob);
    free(carol);
    free(tina);
    free(alice_id);
    free(bob_id);
    free(carol_id);
    free(tina_id);
    free(tina_deny);
    free(carol_untrusted);
}

/* Pool 2 lets guests in: a new identity each time, the guest role. */
static void test_unauthenticated(void **state)
{
    char *alice = sign_in(CLIENT, "alice", false);
    char *g1, *g2;
    int status;
    json_t *out;

    (void)state;
    out = callf("GetId", &status, "{s:s}", "IdentityPoolId", IP2);
    assert_int_equal(status, 200);
    g1 = strdup(str(out, "IdentityId"));
    json_decref(out);
    out =
        callf("GetId", &status, "{s:s, s:{}}", "IdentityPoolId", IP2, "Logins");
    assert_int_equal(status, 200);
    g2 = strdup(str(out, "IdentityId"));
    json_decref(out);
    assert_identity_id(g1);
    assert_string_not_equal(g1, g2);
    out = get_credentials(g1, NULL, NULL, NULL, &status);
    assert_credentials(out, status, g1);
    expect_error(get_credentials(g2, AWS_KEY, alice, NULL, &status), &status,
                 "NotAuthorizedException", NULL);
    free(alice);
    free(g1);
    free(g2);
}

/* After a restart the table is empty; the Logins bring the identity back. */
static void test_identity_after_restart(void **state)
{
    char *alice = sign_in(CLIENT, "alice", false);
    char *id = get_id(IP1, AWS_KEY, alice);
    int status;
    json_t *out;

    (void)state;
    svc_identity.release();
    assert_int_equal(init_identity(), 0);
    out = get_credentials(id, LOCAL_KEY, alice, NULL, &status);
    assert_credentials(out, status, id);
    /* an id that is not alice's stays unknown, Logins or not */
    id[strlen(id) - 1] = id[strlen(id) - 1] == '0' ? '1' : '0';
    expect_error(get_credentials(id, AWS_KEY, alice, NULL, &status), &status,
                 "ResourceNotFoundException", NULL);
    free(alice);
    free(id);
}

static void test_describe(void **state)
{
    json_t *endpoints = json_object();
    const json_t *pools, *first, *provider;

    (void)state;
    svc_identity.describe(endpoints);
    pools = json_object_get(endpoints, "identityPools");
    assert_int_equal(json_array_size(pools), 3);
    first = json_array_get(pools, 0);
    assert_string_equal(str(first, "id"), IP1);
    assert_string_equal(str(first, "name"), "unit-one");
    assert_string_equal(str(json_array_get(pools, 1), "name"), IP2);
    provider = json_array_get(json_object_get(first, "providers"), 0);
    assert_string_equal(str(provider, "providerName"), AWS_KEY);
    assert_string_equal(str(provider, "localProviderName"), LOCAL_KEY);
    assert_string_equal(str(provider, "clientId"), CLIENT);
    json_decref(endpoints);
}

struct config_case {
    const char *config;
    const char *where;
};

#define GOOD_PROVIDER                                                      \
    "\"providers\": [{\"userPool\": \"" POOL "\", \"clientId\": \"" CLIENT \
    "\"}]"
#define GOOD_ROLES "\"roles\": {\"authenticated\": \"" R_USERS "\"}"

static const struct config_case config_cases[] = {
    {"{}", "$.identityPools"},
    {"[5]", "$.identityPools[0]"},
    {"[{\"name\": \"x\", " GOOD_ROLES "}]", "$.identityPools[0].id"},
    {"[{\"id\": \"eu-west-1:1234\", " GOOD_ROLES "}]", "$.identityPools[0].id"},
    {"[{\"id\": \"ap-northeast-1:XYZ\", " GOOD_ROLES "}]",
     "$.identityPools[0].id"},
    {"[{\"id\": \"" IP1 "\", " GOOD_ROLES ", \"extra\": 1}]",
     "$.identityPools[0].extra"},
    {"[{\"id\": \"" IP1 "\", \"allowUnauthenticated\": \"yes\", " GOOD_ROLES
     "}]",
     "$.identityPools[0].allowUnauthenticated"},
    {"[{\"id\": \"" IP1 "\"}]", "$.identityPools[0].roles"},
    {"[{\"id\": \"" IP1 "\", \"providers\": [{\"userPool\": \"nope_x\","
     " \"clientId\": \"" CLIENT "\"}], " GOOD_ROLES "}]",
     "$.identityPools[0].providers[0].userPool"},
    {"[{\"id\": \"" IP1 "\", \"providers\": [{\"userPool\": \"" POOL "\","
     " \"clientId\": \"nosuchclient\"}], " GOOD_ROLES "}]",
     "$.identityPools[0].providers[0].clientId"},
    {"[{\"id\": \"" IP1 "\", \"providers\": [{\"userPool\": \"" POOL
     "\"}], " GOOD_ROLES "}]",
     "$.identityPools[0].providers[0].clientId"},
    {"[{\"id\": \"" IP1 "\", " GOOD_PROVIDER ","
     " \"roles\": {\"authenticated\": \"users\"}}]",
     "$.identityPools[0].roles.authenticated"},
    {"[{\"id\": \"" IP1 "\", " GOOD_PROVIDER ","
     " \"roles\": {\"authenticated\": \"" R_NONE "\"}}]",
     "$.identityPools[0].roles.authenticated"},
    {"[{\"id\": \"" IP1 "\", " GOOD_PROVIDER ","
     " \"roles\": {\"authenticated\": \"" R_USERS "\","
     " \"unauthenticated\": \"" R_NONE "\"}}]",
     "$.identityPools[0].roles.unauthenticated"},
    {"[{\"id\": \"" IP1 "\", " GOOD_PROVIDER ", " GOOD_ROLES ","
     " \"roleMapping\": {\"type\": \"Rules\","
     " \"ambiguousRoleResolution\": \"Deny\"}}]",
     "$.identityPools[0].roleMapping.type"},
    {"[{\"id\": \"" IP1 "\", " GOOD_PROVIDER ", " GOOD_ROLES ","
     " \"roleMapping\": {\"type\": \"Token\"}}]",
     "$.identityPools[0].roleMapping.ambiguousRoleResolution"},
    {"[{\"id\": \"" IP1 "\", " GOOD_ROLES "},"
     " {\"id\": \"" IP1 "\", " GOOD_ROLES "}]",
     "$.identityPools[1].id"},
};

static void test_config_errors(void **state)
{
    (void)state;
    svc_identity.release(); /* the fixture's state, restored below */
    for (size_t i = 0; i < ARRAY_SIZE(config_cases); i++) {
        json_t *section = json_loads(config_cases[i].config, 0, NULL);
        struct kaeri_error err = {0};

        assert_non_null(section);
        assert_int_not_equal(svc_identity.init(section, &env, &err), KAERI_OK);
        if (strcmp(err.where, config_cases[i].where))
            fail_msg("case %zu: error at '%s': %s", i, err.where, err.text);
        json_decref(section);
    }
    /* no section at all is fine: no pools */
    assert_int_equal(svc_identity.init(NULL, &env, NULL), KAERI_OK);
    svc_identity.release();
    assert_int_equal(init_identity(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many_logins),
        cmocka_unit_test(test_stable_identity_id),
        cmocka_unit_test(test_token_refusals),
        cmocka_unit_test(test_credentials_and_roles),
        cmocka_unit_test(test_unauthenticated),
        cmocka_unit_test(test_identity_after_restart),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_config_errors),
    };
    char path[128];
    int rc;

    if (!mkdtemp(state_dir))
        return 1;
    rc = cmocka_run_group_tests_name("svc_identity", tests, setup, teardown);
    snprintf(path, sizeof(path), "%s/keys/" POOL2 "-id.pem", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys/" POOL2 "-access.pem", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys", state_dir);
    rmdir(path);
    rmdir(state_dir);
    return rc;
}

/*
 * test_svc_cognito.c - the Cognito service through the router with
 * hand-built requests and a stub transport (tests/support/stub_transport):
 * validation errors, SECRET_HASH, the password policy, preferred_role by
 * precedence in minted tokens, SRP TIMESTAMP checks, cognito_verify_token,
 * the config's errors, JWKS and the codes route. Admin (signed) calls are
 * covered over the wire; here only their refusal without a signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "iam.h"
#include "jwt.h"
#include "router.h"
#include "services.h"
#include "srp_client.h"
#include "stub_transport.h"
#include "svc_cognito.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL          "ap-northeast-1_UnitPool1"
#define PUBLIC        "unitpublicclient0000000001"
#define SECRET_CLIENT "unitsecretclient0000000001"
#define SECRET        "unit0secret0000000000000000000000000000000000000001"
#define ROLE(x)       "arn:aws:iam::123456789012:role/" x
#define AWS_POOL      "ap-northeast-1_UnitAws1"

/* Groups and users for the preferred_role rules (spec/cognito.md s. 4). */
static const char config_text[] =
    "{\"userPools\": [{"
    " \"id\": \"" POOL "\", \"name\": \"unit\","
    " \"keys\": {\"id\": \"keys/pool1-id.pem\","
    "            \"access\": \"keys/pool1-access.pem\"},"
    " \"srpTimestampSkewSeconds\": 300,"
    " \"clients\": ["
    "  {\"id\": \"" PUBLIC "\", \"name\": \"public\","
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\","
    "     \"ALLOW_USER_SRP_AUTH\", \"ALLOW_REFRESH_TOKEN_AUTH\"]},"
    "  {\"id\": \"" SECRET_CLIENT "\", \"secret\": \"" SECRET "\","
    "   \"preventUserExistenceErrors\": \"LEGACY\","
    "   \"accessTokenValiditySeconds\": 900,"
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]}],"
    " \"groups\": ["
    "  {\"name\": \"a1\", \"roleArn\": \"" ROLE(
        "a") "\", \"precedence\": 1},"
             "  {\"name\": \"b1\", \"roleArn\": \"" ROLE(
                 "b") "\", \"precedence\": 1},"
                      "  {\"name\": \"a5\", \"roleArn\": \"" ROLE(
                          "a") "\", \"precedence\": 5},"
                               "  {\"name\": \"c\", \"roleArn\": \"" ROLE(
                                   "c") "\"},"
                                        "  {\"name\": \"d\", \"roleArn\": \"" ROLE(
                                            "d") "\"},"
                                                 "  {\"name\": \"norole\", \"precedence\": 0}],"
                                                 " \"users\": ["
                                                 "  {\"username\": \"tie\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"groups\": [\"a1\", \"b1\"]},"
                                                 "  {\"username\": \"sametie\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"groups\": [\"a1\", \"a5\", \"d\"]},"
                                                 "  {\"username\": \"noprec\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"groups\": [\"c\", \"d\"]},"
                                                 "  {\"username\": \"single\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"groups\": [\"c\", \"norole\"]},"
                                                 "  {\"username\": \"mixed\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"groups\": [\"d\", \"a5\"]},"
                                                 "  {\"username\": \"lonely\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"attributes\": {\"email\": \"l@example.com\","
                                                 "                    \"email_verified\": \"false\"}},"
                                                 "  {\"username\": \"off\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"enabled\": false},"
                                                 "  {\"username\": \"pending\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"status\": \"UNCONFIRMED\"},"
                                                 "  {\"username\": \"reset\", \"password\": \"Unit#Passw0rd\","
                                                 "   \"status\": \"RESET_REQUIRED\"}]"
                                                 "}, {"
                                                 /* AWS's issuer form; keys made
                                                    once in the state dir */
                                                 " \"id\": \"" AWS_POOL
                                                 "\", \"issuer\": \"aws\","
                                                 " \"clients\": [{\"id\": \"unitawsclient1\","
                                                 "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]}],"
                                                 " \"users\": [{\"username\": \"awsuser\", \"password\": \"Unit#Passw0rd\"}]"
                                                 "}]}";

static char state_dir[] = "/tmp/kaeri-unit-cognito-XXXXXX";

static struct kaeri_env env = {
    .region = "ap-northeast-1",
    .account = "123456789012",
    .http_url = "http://127.0.0.1:4580",
    .state_dir = state_dir,
    .config_dir = "fixtures",
};

static int setup(void **state)
{
    json_t *section = json_loads(config_text, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    (void)state;
    assert_non_null(section);
    assert_int_equal(iam_init(NULL, "123456789012", "ap-northeast-1", NULL),
                     KAERI_OK);
    rc = svc_cognito.init(section, &env, &err);
    if (rc)
        fprintf(stderr, "init: %s: %s\n", err.where, err.text);
    json_decref(section);
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    svc_cognito.release();
    iam_release();
    clock_reset();
    return 0;
}

/*
 * Send 'body' to operation 'op' (raw text, so malformed JSON can be sent)
 * through the router. Returns the reply body (new ref) and *status.
 */
static json_t *call(const char *op, const char *body, int *status)
{
    char target[128];
    const char *headers[] = {target, "Content-Type: application/x-amz-json-1.1",
                             NULL};
    struct stub_reply stub;
    struct http_req *req;
    json_t *out;

    snprintf(target, sizeof(target),
             "X-Amz-Target: AWSCognitoIdentityProviderService.%s", op);
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

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);

    return json_string_value(b ? json_object_get(v, b) : v);
}

struct error_case {
    const char *op;
    const char *body;
    const char *code;
    const char *message; /* NULL: not compared */
};

static const struct error_case error_cases[] = {
    {"NoSuchOp", "{}", "UnknownOperationException", NULL},
    {"InitiateAuth", "{", "SerializationException", NULL},
    {"InitiateAuth", "[1]", "SerializationException", NULL},
    {"InitiateAuth", "\"text\"", "SerializationException", NULL},
    {"InitiateAuth", "", "InvalidParameterException",
     "2 validation errors detected: Value null at 'authFlow' failed to "
     "satisfy constraint: Member must not be null; Value null at 'clientId' "
     "failed to satisfy constraint: Member must not be null"},
    {"InitiateAuth", "{\"AuthFlow\": null, \"ClientId\": \"" PUBLIC "\"}",
     "InvalidParameterException",
     "1 validation error detected: Value null at 'authFlow' failed to "
     "satisfy constraint: Member must not be null"},
    {"InitiateAuth", "{\"AuthFlow\": \"NOPE\", \"ClientId\": \"" PUBLIC "\"}",
     "InvalidParameterException",
     "1 validation error detected: Value 'NOPE' at 'authFlow' failed to "
     "satisfy constraint: Member must satisfy enum value set: "
     "[USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, "
     "ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, "
     "USER_AUTH]"},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_PASSWORD_AUTH\", \"ClientId\": \"bad id\"}",
     "InvalidParameterException",
     "1 validation error detected: Value at 'clientId' failed to satisfy "
     "constraint: Member must satisfy regular expression pattern: [\\w+]+"},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_PASSWORD_AUTH\", \"ClientId\": \"" PUBLIC "\","
     " \"AuthParameters\": {\"USERNAME\": 5}}",
     "InvalidParameterException",
     "1 validation error detected: Value at 'authParameters' failed to "
     "satisfy constraint: Member must be a map of strings"},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_PASSWORD_AUTH\", \"ClientId\": \"" PUBLIC "\"}",
     "InvalidParameterException", "Missing required parameter USERNAME"},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_PASSWORD_AUTH\", \"ClientId\": \"nosuch\","
     " \"AuthParameters\": {\"USERNAME\": \"x\", \"PASSWORD\": \"y\"}}",
     "ResourceNotFoundException", "User pool client nosuch does not exist."},
    {"InitiateAuth",
     "{\"AuthFlow\": \"CUSTOM_AUTH\", \"ClientId\": \"" PUBLIC "\"}",
     "InvalidParameterException", "Initiate Auth method not supported."},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_SRP_AUTH\", \"ClientId\": \"" SECRET_CLIENT "\","
     " \"AuthParameters\": {\"USERNAME\": \"x\", \"SRP_A\": \"01\"}}",
     "InvalidParameterException",
     "USER_SRP_AUTH flow not enabled for this client"},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_SRP_AUTH\", \"ClientId\": \"" PUBLIC "\","
     " \"AuthParameters\": {\"USERNAME\": \"tie\", \"SRP_A\": \"xyz\"}}",
     "InvalidParameterException", NULL},
    {"InitiateAuth",
     "{\"AuthFlow\": \"USER_SRP_AUTH\", \"ClientId\": \"" PUBLIC "\","
     " \"AuthParameters\": {\"USERNAME\": \"tie\", \"SRP_A\": \"00\"}}",
     "InvalidParameterException", NULL},
    {"GetUser", "{}", "InvalidParameterException",
     "1 validation error detected: Value null at 'accessToken' failed to "
     "satisfy constraint: Member must not be null"},
    {"GetUser", "{\"AccessToken\": \"not.a.jwt\"}", "NotAuthorizedException",
     "Invalid Access Token"},
    {"GlobalSignOut", "{\"AccessToken\": \"x\"}", "NotAuthorizedException",
     "Invalid Access Token"},
    {"SignUp",
     "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"u\","
     " \"Password\": \" Leading#Passw0rd\"}",
     "InvalidParameterException",
     "1 validation error detected: Value at 'password' failed to satisfy "
     "constraint: Member must satisfy regular expression pattern: "
     "^[\\S]+.*[\\S]+$"},
    {"SignUp",
     "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"tie\","
     " \"Password\": \"Unit#Passw0rd\"}",
     "UsernameExistsException", "User already exists"},
    {"ConfirmSignUp",
     "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"ghost\","
     " \"ConfirmationCode\": \"123456\"}",
     "UserNotFoundException", "User does not exist."},
    {"ConfirmSignUp",
     "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"tie\","
     " \"ConfirmationCode\": \"123456\"}",
     "NotAuthorizedException",
     "User cannot be confirmed. Current status is CONFIRMED"},
    {"RespondToAuthChallenge",
     "{\"ClientId\": \"" PUBLIC "\", \"ChallengeName\": \"SMS_MFA\"}",
     "InvalidParameterException", NULL},
    {"RespondToAuthChallenge",
     "{\"ClientId\": \"" PUBLIC "\", \"ChallengeName\":"
     " \"NEW_PASSWORD_REQUIRED\", \"Session\": \"0123456789012345678901234\","
     " \"ChallengeResponses\": {\"USERNAME\": \"tie\","
     " \"NEW_PASSWORD\": \"New#Passw0rd\"}}",
     "NotAuthorizedException",
     "Invalid session for the user, session is expired."},
    {"RespondToAuthChallenge",
     "{\"ClientId\": \"" PUBLIC "\", \"ChallengeName\": \"PASSWORD_VERIFIER\","
     " \"ChallengeResponses\": {\"USERNAME\": \"tie\","
     " \"PASSWORD_CLAIM_SECRET_BLOCK\": \"AAAA\", \"TIMESTAMP\": \"x\","
     " \"PASSWORD_CLAIM_SIGNATURE\": \"AAAA\"}}",
     "NotAuthorizedException", "Incorrect username or password."},
    /* signed operations refuse a request without Authorization */
    {"AdminGetUser", "{\"UserPoolId\": \"" POOL "\", \"Username\": \"tie\"}",
     "MissingAuthenticationTokenException", NULL},
    {"CreateUserPool", "{\"PoolName\": \"x\"}",
     "MissingAuthenticationTokenException", NULL},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
        const struct error_case *c = &error_cases[i];
        int status;
        json_t *out = call(c->op, c->body, &status);
        const char *code = str_at(out, "__type", NULL);
        const char *msg = str_at(out, "message", NULL);

        if (!code || strcmp(code, c->code) ||
            (c->message && (!msg || strcmp(msg, c->message))))
            fail_msg("case %zu (%s %s): got %s: %s", i, c->op, c->body,
                     code ? code : "-", msg ? msg : "-");
        assert_true(status >= 400 && status < 500);
        json_decref(out);
    }
}

static json_t *sign_in(const char *client, const char *user,
                       const char *password, const char *secret_hash,
                       int *status)
{
    json_t *body =
        json_pack("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                  "ClientId", client, "AuthParameters", "USERNAME", user,
                  "PASSWORD", password);
    char *text;
    json_t *out;

    if (secret_hash)
        json_object_set_new(json_object_get(body, "AuthParameters"),
                            "SECRET_HASH", json_string(secret_hash));
    text = json_dumps(body, JSON_COMPACT);
    out = call("InitiateAuth", text, status);
    free(text);
    json_decref(body);
    return out;
}

struct sign_in_case {
    const char *client;
    const char *user;
    const char *password;
    const char *hash_user; /* compute SECRET_HASH over it; NULL: none */
    const char *hash_raw;  /* or send this literally */
    const char *code;      /* NULL: tokens */
    const char *message;
};

static const struct sign_in_case sign_in_cases[] = {
    {PUBLIC, "tie", "Unit#Passw0rd", NULL, NULL, NULL, NULL},
    {PUBLIC, "tie", "wrong", NULL, NULL, "NotAuthorizedException",
     "Incorrect username or password."},
    /* ENABLED: an unknown user looks like a wrong password */
    {PUBLIC, "ghost", "Unit#Passw0rd", NULL, NULL, "NotAuthorizedException",
     "Incorrect username or password."},
    {PUBLIC, "off", "Unit#Passw0rd", NULL, NULL, "NotAuthorizedException",
     "User is disabled."},
    /* before the password is looked at */
    {PUBLIC, "pending", "wrong", NULL, NULL, "UserNotConfirmedException",
     "User is not confirmed."},
    {PUBLIC, "reset", "Unit#Passw0rd", NULL, NULL,
     "PasswordResetRequiredException", "Password reset required for the user"},
    /* a secret client */
    {SECRET_CLIENT, "tie", "Unit#Passw0rd", "tie", NULL, NULL, NULL},
    {SECRET_CLIENT, "tie", "Unit#Passw0rd", NULL, NULL,
     "NotAuthorizedException",
     "Client " SECRET_CLIENT " is configured with secret but SECRET_HASH was "
     "not received"},
    {SECRET_CLIENT, "tie", "Unit#Passw0rd", "other", NULL,
     "NotAuthorizedException",
     "Unable to verify secret hash for client " SECRET_CLIENT},
    {SECRET_CLIENT, "tie", "Unit#Passw0rd", NULL, "short",
     "NotAuthorizedException",
     "Unable to verify secret hash for client " SECRET_CLIENT},
    /* LEGACY: the unknown user is named */
    {SECRET_CLIENT, "ghost", "Unit#Passw0rd", "ghost", NULL,
     "UserNotFoundException", "User does not exist."},
};

static void test_sign_in_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(sign_in_cases); i++) {
        const struct sign_in_case *c = &sign_in_cases[i];
        char hash[SRP_CLIENT_SIG_MAX];
        const char *send = c->hash_raw;
        int status;
        json_t *out;

        if (c->hash_user) {
            assert_int_equal(
                srp_client_secret_hash(SECRET, c->hash_user, c->client, hash),
                0);
            send = hash;
        }
        out = sign_in(c->client, c->user, c->password, send, &status);
        if (!c->code) {
            if (status != 200)
                fail_msg("case %zu: %s", i, str_at(out, "message", NULL));
            assert_non_null(str_at(out, "AuthenticationResult", "IdToken"));
        } else {
            const char *code = str_at(out, "__type", NULL);
            const char *msg = str_at(out, "message", NULL);

            if (strcmp(code, c->code) || strcmp(msg, c->message))
                fail_msg("case %zu: got %s: %s", i, code, msg);
        }
        json_decref(out);
    }
}

struct role_case {
    const char *user;
    const char *preferred; /* NULL: no claim */
    size_t roles;
};

static const struct role_case role_cases[] = {
    {"tie", NULL, 2},          /* a1 and b1 tie at 1, different roles */
    {"sametie", ROLE("a"), 2}, /* a1 and a5 share role a; a1 best */
    {"noprec", NULL, 2},       /* c and d, no precedence */
    {"single", ROLE("c"), 1},  /* one role; norole has none */
    {"mixed", ROLE("a"), 2},   /* a5 has precedence, d has none */
    {"lonely", NULL, 0},
};

static void test_preferred_role_claims(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(role_cases); i++) {
        const struct role_case *c = &role_cases[i];
        const char *token, *got;
        struct jwt jwt;
        int status;
        json_t *out = sign_in(PUBLIC, c->user, "Unit#Passw0rd", NULL, &status);

        assert_int_equal(status, 200);
        token = str_at(out, "AuthenticationResult", "IdToken");
        assert_int_equal(cognito_verify_token(token, "id", PUBLIC, &jwt, NULL),
                         KAERI_OK);
        got = json_string_value(
            json_object_get(jwt.claims, "cognito:preferred_role"));
        if (c->preferred ? !got || strcmp(got, c->preferred) : got != NULL)
            fail_msg("%s: preferred_role %s", c->user, got ? got : "(none)");
        assert_int_equal(
            json_array_size(json_object_get(jwt.claims, "cognito:roles")),
            c->roles);
        if (!strcmp(c->user, "lonely")) {
            assert_null(json_object_get(jwt.claims, "cognito:groups"));
            assert_true(
                json_is_false(json_object_get(jwt.claims, "email_verified")));
        }
        jwt_release(&jwt);
        json_decref(out);
    }
}

static void test_verify_token(void **state)
{
    struct jwt jwt;
    int status;
    json_t *out = sign_in(PUBLIC, "tie", "Unit#Passw0rd", NULL, &status);
    const char *id = str_at(out, "AuthenticationResult", "IdToken");
    const char *access = str_at(out, "AuthenticationResult", "AccessToken");

    (void)state;
    assert_int_equal(cognito_verify_token(id, NULL, NULL, &jwt, NULL),
                     KAERI_OK);
    assert_string_equal(json_string_value(json_object_get(jwt.claims, "iss")),
                        "http://127.0.0.1:4580/" POOL);
    jwt_release(&jwt);
    assert_int_equal(cognito_verify_token(access, "access", PUBLIC, &jwt, NULL),
                     KAERI_OK);
    jwt_release(&jwt);
    assert_int_not_equal(cognito_verify_token(access, "id", NULL, &jwt, NULL),
                         KAERI_OK);
    assert_int_not_equal(
        cognito_verify_token(id, "id", "otherclient", &jwt, NULL), KAERI_OK);
    clock_advance(3601);
    assert_int_equal(cognito_verify_token(id, "id", PUBLIC, &jwt, NULL),
                     KAERI_ERR_EXPIRED);
    clock_reset();
    json_decref(out);

    /* per-client lifetime: 900 s on the secret client */
    {
        char hash[SRP_CLIENT_SIG_MAX];

        assert_int_equal(
            srp_client_secret_hash(SECRET, "tie", SECRET_CLIENT, hash), 0);
        out = sign_in(SECRET_CLIENT, "tie", "Unit#Passw0rd", hash, &status);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(out, "AuthenticationResult"), "ExpiresIn")),
            900);
        json_decref(out);
    }
}

/* One SRP round with the TIMESTAMP 'shift' seconds away from kaeri's now. */
static int srp_round(long shift, const char *password)
{
    struct srp_client *srp = srp_client_new(NULL);
    char sig[SRP_CLIENT_SIG_MAX], ts[SRP_CLIENT_TIMESTAMP_MAX];
    json_t *ch, *out, *body;
    char *text;
    int status;

    text = NULL;
    body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_SRP_AUTH",
                     "ClientId", PUBLIC, "AuthParameters", "USERNAME", "tie",
                     "SRP_A", srp_client_a_hex(srp));
    text = json_dumps(body, JSON_COMPACT);
    ch = call("InitiateAuth", text, &status);
    assert_int_equal(status, 200);
    free(text);
    json_decref(body);
    srp_client_timestamp((time_t)(clock_now_s() + shift), ts);
    assert_int_equal(srp_client_signature(
                         srp, "UnitPool1",
                         str_at(ch, "ChallengeParameters", "USER_ID_FOR_SRP"),
                         password, str_at(ch, "ChallengeParameters", "SALT"),
                         str_at(ch, "ChallengeParameters", "SRP_B"),
                         str_at(ch, "ChallengeParameters", "SECRET_BLOCK"), ts,
                         sig),
                     0);
    body =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "ChallengeName",
                  "PASSWORD_VERIFIER", "ClientId", PUBLIC, "ChallengeResponses",
                  "USERNAME", "tie", "PASSWORD_CLAIM_SECRET_BLOCK",
                  str_at(ch, "ChallengeParameters", "SECRET_BLOCK"),
                  "TIMESTAMP", ts, "PASSWORD_CLAIM_SIGNATURE", sig);
    text = json_dumps(body, JSON_COMPACT);
    out = call("RespondToAuthChallenge", text, &status);
    if (status != 200)
        assert_string_equal(str_at(out, "message", NULL),
                            "Incorrect username or password.");
    free(text);
    json_decref(body);
    json_decref(out);
    json_decref(ch);
    srp_client_free(srp);
    return status;
}

static void test_srp_timestamp_window(void **state)
{
    (void)state;
    assert_int_equal(srp_round(0, "Unit#Passw0rd"), 200);
    assert_int_equal(srp_round(-290, "Unit#Passw0rd"), 200);
    assert_int_equal(srp_round(600, "Unit#Passw0rd"), 400);
    assert_int_equal(srp_round(-600, "Unit#Passw0rd"), 400);
    assert_int_equal(srp_round(0, "Wrong#Passw0rd"), 400);
    /* the clock moves SRP's "now" too */
    clock_advance(3600);
    assert_int_equal(srp_round(0, "Unit#Passw0rd"), 200);
    clock_reset();
}

struct password_case {
    const char *password;
    const char *message;
};

static const struct password_case password_cases[] = {
    {"Ab1#", "Password did not conform with policy: Password not long enough"},
    {"Abcdefg#", "Password did not conform with policy: Password must have "
                 "numeric characters"},
    {"Abcdefg1", "Password did not conform with policy: Password must have "
                 "symbol characters"},
    {"abcdef1#", "Password did not conform with policy: Password must have "
                 "uppercase characters"},
    {"ABCDEF1#", "Password did not conform with policy: Password must have "
                 "lowercase characters"},
};

static void test_sign_up_policy_and_codes(void **state)
{
    struct stub_reply stub;
    struct http_req *req;
    const char *code = NULL;
    json_t *out, *codes, *item;
    char body[512];
    int status;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(password_cases); i++) {
        snprintf(body, sizeof(body),
                 "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"newbie\","
                 " \"Password\": \"%s\"}",
                 password_cases[i].password);
        out = call("SignUp", body, &status);
        assert_int_equal(status, 400);
        assert_string_equal(str_at(out, "__type", NULL),
                            "InvalidPasswordException");
        assert_string_equal(str_at(out, "message", NULL),
                            password_cases[i].message);
        json_decref(out);
    }
    out = call("SignUp",
               "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"newbie\","
               " \"Password\": \"Newbie#Passw0rd\", \"UserAttributes\":"
               " [{\"Name\": \"email\", \"Value\": \"newbie@example.com\"}]}",
               &status);
    assert_int_equal(status, 200);
    assert_true(json_is_false(json_object_get(out, "UserConfirmed")));
    assert_string_equal(str_at(out, "CodeDeliveryDetails", "DeliveryMedium"),
                        "EMAIL");
    json_decref(out);

    req = stub_req(&stub, "GET",
                   "/_kaeri/cognito/codes?userPoolId=" POOL "&username=newbie",
                   NULL, NULL);
    router_dispatch(req);
    assert_int_equal(req->status, 200);
    codes = stub_reply_json(req);
    http_req_free(req);
    assert_int_equal(json_array_size(json_object_get(codes, "codes")), 1);
    json_array_foreach(json_object_get(codes, "codes"), i, item)
    {
        assert_string_equal(str_at(item, "kind", NULL), "SIGN_UP");
        assert_string_equal(str_at(item, "userPoolId", NULL), POOL);
        code = str_at(item, "code", NULL);
    }
    snprintf(body, sizeof(body),
             "{\"ClientId\": \"" PUBLIC "\", \"Username\": \"newbie\","
             " \"ConfirmationCode\": \"%s\"}",
             code);
    json_decref(codes);
    /* an expired code */
    clock_advance(86400 + 1);
    out = call("ConfirmSignUp", body, &status);
    assert_string_equal(str_at(out, "__type", NULL), "ExpiredCodeException");
    json_decref(out);
    clock_reset();
    out = call("ConfirmSignUp", body, &status);
    assert_int_equal(status, 200);
    json_decref(out);
    out = sign_in(PUBLIC, "newbie", "Newbie#Passw0rd", NULL, &status);
    assert_int_equal(status, 200);
    json_decref(out);
}

static void test_jwks_and_describe(void **state)
{
    struct stub_reply stub;
    struct http_req *req;
    json_t *keys, *endpoints, *pool;

    (void)state;
    req = stub_req(&stub, "GET", "/" POOL "/.well-known/jwks.json", NULL, NULL);
    router_dispatch(req);
    assert_int_equal(req->status, 200);
    keys = stub_reply_json(req);
    http_req_free(req);
    assert_int_equal(json_array_size(json_object_get(keys, "keys")), 2);
    json_decref(keys);

    req =
        stub_req(&stub, "GET", "/" POOL "x/.well-known/jwks.json", NULL, NULL);
    router_dispatch(req);
    assert_int_equal(req->status, 404);
    http_req_free(req);

    endpoints = json_object();
    svc_cognito.describe(endpoints);
    pool = json_array_get(json_object_get(endpoints, "userPools"), 0);
    assert_string_equal(str_at(pool, "id", NULL), POOL);
    assert_string_equal(str_at(pool, "issuer", NULL),
                        "http://127.0.0.1:4580/" POOL);
    assert_int_equal(json_array_size(json_object_get(pool, "clients")), 2);
    assert_true(json_is_true(json_object_get(
        json_array_get(json_object_get(pool, "clients"), 1), "hasSecret")));
    json_decref(endpoints);
}

static void test_aws_issuer(void **state)
{
    struct jwt jwt;
    int status;
    json_t *out =
        sign_in("unitawsclient1", "awsuser", "Unit#Passw0rd", NULL, &status);
    json_t *endpoints = json_object(), *pool;

    (void)state;
    assert_int_equal(status, 200);
    assert_int_equal(
        cognito_verify_token(str_at(out, "AuthenticationResult", "IdToken"),
                             "id", "unitawsclient1", &jwt, NULL),
        KAERI_OK);
    assert_string_equal(
        json_string_value(json_object_get(jwt.claims, "iss")),
        "https://cognito-idp.ap-northeast-1.amazonaws.com/" AWS_POOL);
    jwt_release(&jwt);
    json_decref(out);
    /* the keys are still served at the local path */
    svc_cognito.describe(endpoints);
    pool = json_array_get(json_object_get(endpoints, "userPools"), 1);
    assert_string_equal(str_at(pool, "jwksUri", NULL),
                        "http://127.0.0.1:4580/" AWS_POOL
                        "/.well-known/jwks.json");
    json_decref(endpoints);
}

struct config_case {
    const char *config;
    const char *where;
};

static const struct config_case config_cases[] = {
    {"{\"pools\": []}", "$.cognito.pools"},
    {"{\"userPools\": [{\"id\": \"nounderscore\"}]}",
     "$.cognito.userPools[0].id"},
    {"{\"userPools\": [{\"id\": \"r_P1\", \"issuer\": \"elsewhere\"}]}",
     "$.cognito.userPools[0].issuer"},
    {"{\"userPools\": [{\"id\": \"r_P1\", \"keys\": {\"id\": \"keys/nope.pem\","
     " \"access\": \"keys/nope.pem\"}}]}",
     "$.cognito.userPools[0].keys.id"},
    {"{\"userPools\": [{\"id\": \"r_P1\", \"keys\": {\"id\": "
     "\"keys/pool1-id.pem\", \"access\": \"keys/pool1-access.pem\"},"
     " \"clients\": [{\"id\": \"c1\", \"explicitAuthFlows\": [\"NOPE\"]}]}]}",
     "$.cognito.userPools[0].clients[0].explicitAuthFlows[0]"},
    {"{\"userPools\": [{\"id\": \"r_P1\", \"keys\": {\"id\": "
     "\"keys/pool1-id.pem\", \"access\": \"keys/pool1-access.pem\"},"
     " \"users\": [{\"username\": \"u\", \"password\": \"p\","
     " \"groups\": [\"missing\"]}]}]}",
     "$.cognito.userPools[0].users[0].groups[0]"},
};

static void test_config_errors(void **state)
{
    (void)state;
    svc_cognito.release(); /* the fixture's state, restored below */
    for (size_t i = 0; i < ARRAY_SIZE(config_cases); i++) {
        json_t *section = json_loads(config_cases[i].config, 0, NULL);
        struct kaeri_error err = {0};

        assert_non_null(section);
        assert_int_not_equal(svc_cognito.init(section, &env, &err), KAERI_OK);
        if (strcmp(err.where, config_cases[i].where))
            fail_msg("case %zu: error at '%s': %s", i, err.where, err.text);
        json_decref(section);
    }
    assert_int_equal(setup(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sign_in_rules),
        cmocka_unit_test(test_preferred_role_claims),
        cmocka_unit_test(test_verify_token),
        cmocka_unit_test(test_srp_timestamp_window),
        cmocka_unit_test(test_sign_up_policy_and_codes),
        cmocka_unit_test(test_jwks_and_describe),
        cmocka_unit_test(test_aws_issuer),
        cmocka_unit_test(test_config_errors),
    };
    char path[128];
    int rc;

    if (!mkdtemp(state_dir))
        return 1;
    rc = cmocka_run_group_tests_name("svc_cognito", tests, setup, teardown);
    snprintf(path, sizeof(path), "%s/keys/" AWS_POOL "-id.pem", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys/" AWS_POOL "-access.pem", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys", state_dir);
    rmdir(path);
    rmdir(state_dir);
    return rc;
}

/*
 * test_identity.c - Cognito identity pools over the wire: a real kaeri on
 * port 0 with the default fixture, libcurl for HTTP. Users sign in to the
 * fixture's user pool, trade their ID token for an identity id (both
 * provider name forms) and temporary credentials, and those credentials
 * sign an STS GetCallerIdentity (libcurl's own SigV4) that names the
 * assumed role. The refusals get AWS's errors and kaeri keeps serving.
 *
 * The tests share one kaeri and run in order; the expiry test moves the
 * clock and puts it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kaeri_proc.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL     "ap-northeast-1_KaeriPool1"
#define WEB      "kaeriwebclientnosecret0001"
#define IPOOL    "ap-northeast-1:4a3e1c7d-6b5f-4e2a-9d8c-0f1e2d3c4b5a"
#define NO_IPOOL "ap-northeast-1:00000000-0000-4000-8000-000000000000"
#define AWS_KEY  "cognito-idp.ap-northeast-1.amazonaws.com/" POOL
#define ADMIN_KEYS \
    "AKIAKAERIADMINKEY001:kaeriAdminSecretKey0000000000000000000001"
#define WIRE_IDENTITY "aws:amz:ap-northeast-1:cognito-identity"
#define WIRE_STS      "aws:amz:ap-northeast-1:sts"
#define ALICE_PW      "Alice#Passw0rd"
#define BOB_PW        "Bob#Passw0rd1"
#define ASSUMED       "arn:aws:sts::123456789012:assumed-role/"
#define MSG_PROVIDER \
    "Token is not from a supported provider of this identity pool."

static struct kaeri_proc proc;
static char local_key[256]; /* "127.0.0.1:PORT/<pool>", from the ready URL */

static int group_setup(void **state)
{
    const char *host;

    if (wire_global_init(state) || kaeri_proc_start(&proc, NULL, NULL))
        return -1;
    host = strstr(proc.http, "://") + 3;
    snprintf(local_key, sizeof(local_key), "%s/%s", host, POOL);
    return 0;
}

static int group_teardown(void **state)
{
    int rc = kaeri_proc_stop(&proc);

    wire_global_cleanup(state);
    return rc == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------ */

static char *dump(const char *fmt, ...)
{
    va_list ap;
    json_error_t jerr;
    json_t *v;
    char *s;

    va_start(ap, fmt);
    v = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    assert_non_null(v);
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

/*
 * 'target' ("AWSCognitoIdentityService.GetId") with 'body', signed with
 * the admin keys for 'sign_as' unless NULL. Returns the parsed body (new
 * reference) and the status; an error carries its code in both forms.
 */
static json_t *call(const char *target, const char *body, const char *sign_as,
                    long *status)
{
    struct wire_resp resp;
    json_t *out = NULL;

    assert_int_equal(wire_json_call(proc.http, target, body,
                                    sign_as ? ADMIN_KEYS : NULL, sign_as, &resp,
                                    &out),
                     0);
    *status = resp.status;
    if (resp.status != 200) {
        const char *type = wire_resp_header(&resp, "x-amzn-ErrorType");

        assert_non_null(type);
        assert_non_null(out);
        assert_string_equal(type, wire_json_str(out, "__type"));
    }
    wire_resp_free(&resp);
    return out;
}

static json_t *identity_ok(const char *op, const char *body)
{
    char target[128];
    long status;
    json_t *out;

    snprintf(target, sizeof(target), "AWSCognitoIdentityService.%s", op);
    out = call(target, body, NULL, &status);
    if (status != 200)
        fprintf(stderr, "%s: %ld %s: %s\n", op, status,
                out ? wire_json_str(out, "__type") : "-",
                out ? wire_json_str(out, "message") : "(no body)");
    assert_int_equal(status, 200);
    return out;
}

/* An identity call that must fail with 'code' and 'message' (NULL: any). */
static void identity_fails(const char *op, const char *body, const char *code,
                           const char *message)
{
    char target[128];
    long status;
    json_t *out;

    snprintf(target, sizeof(target), "AWSCognitoIdentityService.%s", op);
    out = call(target, body, NULL, &status);
    assert_non_null(out);
    if (strcmp(wire_json_str(out, "__type"), code) ||
        (message && strcmp(wire_json_str(out, "message"), message)))
        fprintf(stderr, "%s: got %s: %s\n", op, wire_json_str(out, "__type"),
                wire_json_str(out, "message"));
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "__type"), code);
    if (message)
        assert_string_equal(wire_json_str(out, "message"), message);
    json_decref(out);
}

/* The ID token of 'user' (USER_PASSWORD_AUTH); the caller frees it. */
static char *sign_in(const char *user, const char *password)
{
    char *body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                      "USER_PASSWORD_AUTH", "ClientId", WEB, "AuthParameters",
                      "USERNAME", user, "PASSWORD", password);
    long status;
    json_t *out = call("AWSCognitoIdentityProviderService.InitiateAuth", body,
                       NULL, &status);
    char *token;

    assert_int_equal(status, 200);
    token = strdup(wire_json_str(out, "AuthenticationResult.IdToken"));
    assert_non_null(token);
    json_decref(out);
    free(body);
    return token;
}

/* GetId with one login under 'key'; the identity id (caller frees). */
static char *get_id(const char *key, const char *token)
{
    char *body =
        dump("{s:s, s:{s:s}}", "IdentityPoolId", IPOOL, "Logins", key, token);
    json_t *out = identity_ok("GetId", body);
    char *id = strdup(wire_json_str(out, "IdentityId"));

    assert_int_equal(strncmp(id, "ap-northeast-1:", 15), 0);
    assert_int_equal(strlen(id), 15 + 36);
    json_decref(out);
    free(body);
    return id;
}

/* Temporary credentials, as GetCredentialsForIdentity hands them out. */
struct creds {
    char keys[256]; /* "AKID:SECRET" for libcurl */
    char token_header[1200];
};

static void get_credentials(const char *id, const char *key, const char *token,
                            struct creds *out)
{
    char *body = dump("{s:s, s:{s:s}}", "IdentityId", id, "Logins", key, token);
    json_t *reply = identity_ok("GetCredentialsForIdentity", body);
    const json_t *c = json_object_get(reply, "Credentials");
    const char *akid = wire_json_str(reply, "Credentials.AccessKeyId");
    const char *secret = wire_json_str(reply, "Credentials.SecretKey");
    const char *session = wire_json_str(reply, "Credentials.SessionToken");

    assert_string_equal(wire_json_str(reply, "IdentityId"), id);
    assert_non_null(akid);
    assert_non_null(secret);
    assert_non_null(session);
    assert_int_equal(strncmp(akid, "ASIA", 4), 0);
    assert_true(json_is_number(json_object_get(c, "Expiration")));
    snprintf(out->keys, sizeof(out->keys), "%s:%s", akid, secret);
    snprintf(out->token_header, sizeof(out->token_header),
             "X-Amz-Security-Token: %s", session);
    json_decref(reply);
    free(body);
}

/* STS GetCallerIdentity signed with 'c'; the caller's ARN must be 'arn'. */
static void expect_caller(const struct creds *c, const char *arn)
{
    static const char form[] = "Action=GetCallerIdentity&Version=2011-06-15";
    const char *headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        c->token_header, NULL};
    char url[256], want[400];
    struct wire_resp resp;

    snprintf(url, sizeof(url), "%s/", proc.http);
    snprintf(want, sizeof(want), "<Arn>%s</Arn>", arn);
    assert_int_equal(wire_request("POST", url, headers, form, strlen(form),
                                  WIRE_STS, c->keys, &resp),
                     0);
    if (resp.status != 200 || !strstr(resp.body, want))
        fprintf(stderr, "GetCallerIdentity: %ld %s\n", resp.status, resp.body);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body, want));
    wire_resp_free(&resp);
}

/* ---- tests ------------------------------------------------------------ */

static void test_endpoints(void **state)
{
    char url[256];
    struct wire_resp resp;
    json_t *body;
    const json_t *pool, *provider;

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/endpoints", proc.http);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &resp),
                     0);
    assert_int_equal(resp.status, 200);
    body = json_loadb(resp.body, resp.len, 0, NULL);
    assert_non_null(body);
    pool = json_array_get(json_object_get(body, "identityPools"), 0);
    assert_string_equal(json_string_value(json_object_get(pool, "id")), IPOOL);
    provider = json_array_get(json_object_get(pool, "providers"), 0);
    assert_string_equal(
        json_string_value(json_object_get(provider, "localProviderName")),
        local_key);
    assert_string_equal(
        json_string_value(json_object_get(provider, "providerName")), AWS_KEY);
    json_decref(body);
    wire_resp_free(&resp);
}

/*
 * Alice and Bob: one identity id each whichever provider name and
 * sign-in, credentials that STS knows as their group's role.
 */
static void test_sign_in_to_credentials(void **state)
{
    char *alice = sign_in("alice", ALICE_PW);
    char *alice_again = sign_in("alice", ALICE_PW);
    char *bob = sign_in("bob", BOB_PW);
    char *a1 = get_id(AWS_KEY, alice);
    char *a2 = get_id(local_key, alice);
    char *a3 = get_id(AWS_KEY, alice_again);
    char *b1 = get_id(local_key, bob);
    struct creds ca, cb;

    (void)state;
    assert_string_equal(a1, a2);
    assert_string_equal(a1, a3);
    assert_string_not_equal(a1, b1);
    get_credentials(a1, local_key, alice_again, &ca);
    get_credentials(b1, AWS_KEY, bob, &cb);
    assert_string_not_equal(ca.keys, cb.keys);
    /* alice's preferred role is the admins' (precedence 0) */
    expect_caller(&ca, ASSUMED "kaeri-chat-admins/CognitoIdentityCredentials");
    expect_caller(&cb, ASSUMED "kaeri-chat-users/CognitoIdentityCredentials");
    free(alice);
    free(alice_again);
    free(bob);
    free(a1);
    free(a2);
    free(a3);
    free(b1);
}

static void test_refusals(void **state)
{
    char *alice = sign_in("alice", ALICE_PW);
    char *tampered = strdup(alice);
    char *id = get_id(AWS_KEY, alice);
    char *body;

    (void)state;
    tampered[strlen(tampered) - 40] ^= 0x01; /* inside the signature */
    body = dump("{s:s, s:{s:s}}", "IdentityPoolId", IPOOL, "Logins", AWS_KEY,
                tampered);
    identity_fails("GetId", body, "NotAuthorizedException",
                   "Invalid login token. Couldn't verify signed token.");
    free(body);

    body = dump("{s:s, s:{s:s}}", "IdentityPoolId", NO_IPOOL, "Logins", AWS_KEY,
                alice);
    identity_fails("GetId", body, "ResourceNotFoundException",
                   "IdentityPool '" NO_IPOOL "' not found.");
    free(body);

    /* the pool id where the provider name belongs, and a foreign name */
    body = dump("{s:s, s:{s:s}}", "IdentityPoolId", IPOOL, "Logins",
                "cognito-idp.ap-northeast-1.amazonaws.com/"
                "ap-northeast-1_Other",
                alice);
    identity_fails("GetId", body, "NotAuthorizedException", MSG_PROVIDER);
    free(body);
    body = dump("{s:s, s:{s:s}}", "IdentityPoolId", IPOOL, "Logins",
                "accounts.google.com", alice);
    identity_fails("GetId", body, "NotAuthorizedException", MSG_PROVIDER);
    free(body);

    body = dump("{s:s}", "IdentityPoolId", IPOOL);
    identity_fails("GetId", body, "NotAuthorizedException",
                   "Unauthenticated access is not supported for this "
                   "identity pool.");
    free(body);

    body = dump("{s:s}", "IdentityId", id);
    identity_fails("GetCredentialsForIdentity", body, "NotAuthorizedException",
                   "Logins don't match. Please include at least one valid "
                   "login for this identity or identity pool.");
    free(body);
    body = dump("{s:s, s:{s:s}}", "IdentityId", NO_IPOOL, "Logins", AWS_KEY,
                alice);
    identity_fails("GetCredentialsForIdentity", body,
                   "ResourceNotFoundException",
                   "Identity '" NO_IPOOL "' not found.");
    free(body);
    free(alice);
    free(tampered);
    free(id);
}

/* Two hours on kaeri's clock: the ID token is refused, then back. */
static void test_expired_token(void **state)
{
    char url[256];
    char *alice = sign_in("alice", ALICE_PW);
    char *id = get_id(AWS_KEY, alice);
    char *body = dump("{s:s, s:{s:s}}", "IdentityPoolId", IPOOL, "Logins",
                      AWS_KEY, alice);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct wire_resp resp;
    long status;
    json_t *out;
    struct creds c;

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/clock", proc.http);
    assert_int_equal(wire_request("POST", url, headers,
                                  "{\"advanceSeconds\": 7200}", 24, NULL, NULL,
                                  &resp),
                     0);
    assert_int_equal(resp.status, 200);
    wire_resp_free(&resp);
    out = call("AWSCognitoIdentityService.GetId", body, NULL, &status);
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "__type"), "NotAuthorizedException");
    assert_non_null(strstr(wire_json_str(out, "message"),
                           "Invalid login token. Token expired: "));
    assert_non_null(strstr(wire_json_str(out, "message"), " >= "));
    json_decref(out);
    assert_int_equal(wire_request("POST", url, headers,
                                  "{\"advanceSeconds\": -7200}", 25, NULL, NULL,
                                  &resp),
                     0);
    assert_int_equal(resp.status, 200);
    wire_resp_free(&resp);
    get_credentials(id, AWS_KEY, alice, &c);
    free(body);
    free(alice);
    free(id);
}

static void test_bad_request_then_good(void **state)
{
    const char *headers[] = {"Content-Type: application/x-amz-json-1.1",
                             "X-Amz-Target: AWSCognitoIdentityService.GetId",
                             NULL};
    char url[256];
    struct wire_resp resp;
    char *bob = sign_in("bob", BOB_PW);
    char *id;

    (void)state;
    snprintf(url, sizeof(url), "%s/", proc.http);
    assert_int_equal(wire_request("POST", url, headers, "{\"IdentityPoolId\":",
                                  18, NULL, NULL, &resp),
                     0);
    assert_int_equal(resp.status, 400);
    assert_string_equal(wire_resp_header(&resp, "x-amzn-ErrorType"),
                        "SerializationException");
    wire_resp_free(&resp);
    identity_fails("GetId", "{\"IdentityPoolId\": 7}",
                   "InvalidParameterException",
                   "1 validation error detected: Value at 'identityPoolId' "
                   "failed to satisfy constraint: Member must be a string");
    identity_fails("NoSuchOperation", "{}", "UnknownOperationException", NULL);
    id = get_id(AWS_KEY, bob); /* still serving */
    free(id);
    free(bob);
}

/* The SigV4-signed control-plane reads. */
static void test_signed_operations(void **state)
{
    long status;
    json_t *out;

    (void)state;
    out = call("AWSCognitoIdentityService.DescribeIdentityPool",
               "{\"IdentityPoolId\": \"" IPOOL "\"}", WIRE_IDENTITY, &status);
    assert_int_equal(status, 200);
    assert_string_equal(wire_json_str(out, "IdentityPoolName"),
                        "kaeri-chat-identities");
    assert_true(
        json_is_false(json_object_get(out, "AllowUnauthenticatedIdentities")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(out, "CognitoIdentityProviders"), 0),
            "ProviderName")),
        AWS_KEY);
    json_decref(out);

    out = call("AWSCognitoIdentityService.ListIdentityPools",
               "{\"MaxResults\": 10}", WIRE_IDENTITY, &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(out, "IdentityPools")), 1);
    json_decref(out);

    out =
        call("AWSCognitoIdentityService.DescribeIdentityPool",
             "{\"IdentityPoolId\": \"" NO_IPOOL "\"}", WIRE_IDENTITY, &status);
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "__type"),
                        "ResourceNotFoundException");
    json_decref(out);

    identity_fails("ListIdentityPools", "{\"MaxResults\": 10}",
                   "MissingAuthenticationTokenException", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_sign_in_to_credentials),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expired_token),
        cmocka_unit_test(test_bad_request_then_good),
        cmocka_unit_test(test_signed_operations),
    };

    return cmocka_run_group_tests_name("identity pools over the wire", tests,
                                       group_setup, group_teardown);
}

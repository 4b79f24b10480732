/*
 * test_cognito.c - Cognito user pools over the wire: a real kaeri on port
 * 0, libcurl for HTTP (admin calls signed by libcurl's own SigV4), the
 * client side of SRP from tests/support/srp_client.c (not the server's
 * srp.c), and tokens checked against the keys fetched from the pool's
 * JWKS URL, never from kaeri's memory.
 *
 * The tests share one kaeri and run in order; each uses its own users so
 * the order matters only for the clock test, which puts the clock back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "jwt.h"
#include "kaeri.h"
#include "kaeri_proc.h"
#include "srp_client.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL           "ap-northeast-1_KaeriPool1"
#define WEB            "kaeriwebclientnosecret0001"
#define BACKEND        "kaerisecretclient000000001"
#define BACKEND_SECRET "kaeri0backend0client0secret0000000000000000000000001"
#define ADMIN_KEYS \
    "AKIAKAERIADMINKEY001:kaeriAdminSecretKey0000000000000000000001"
#define ALICE_PW    "Alice#Passw0rd"
#define BOB_PW      "Bob#Passw0rd1"
#define ROLE_ADMINS "arn:aws:iam::123456789012:role/kaeri-chat-admins"
#define ROLE_USERS  "arn:aws:iam::123456789012:role/kaeri-chat-users"

static struct kaeri_proc proc;

static int group_setup(void **state)
{
    if (wire_global_init(state))
        return -1;
    return kaeri_proc_start(&proc, NULL, NULL);
}

static int group_teardown(void **state)
{
    int rc = kaeri_proc_stop(&proc);

    wire_global_cleanup(state);
    return rc == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------ */

/*
 * Call operation 'op' with the body 'body' (NULL: {}), signed with the
 * admin keys when 'sign'. Returns the parsed body (new reference; the
 * caller frees it) and the status in *status.
 */
static json_t *call(const char *op, const char *body, int sign, long *status)
{
    char target[128];
    struct wire_resp resp;
    json_t *out = NULL;

    snprintf(target, sizeof(target), "AWSCognitoIdentityProviderService.%s",
             op);
    assert_int_equal(wire_json_call(proc.http, target, body,
                                    sign ? ADMIN_KEYS : NULL, WIRE_COGNITO,
                                    &resp, &out),
                     0);
    *status = resp.status;
    if (resp.status != 200) {
        const char *type = wire_resp_header(&resp, "x-amzn-ErrorType");

        /* both error forms, as spec/cognito.md section 1 asks */
        assert_non_null(type);
        assert_non_null(out);
        assert_string_equal(type, wire_json_str(out, "__type"));
    }
    wire_resp_free(&resp);
    return out;
}

/* call() that must succeed with 200. */
static json_t *call_ok(const char *op, const char *body, int sign)
{
    long status;
    json_t *out = call(op, body, sign, &status);

    if (status != 200)
        fprintf(stderr, "%s: %ld %s\n", op, status,
                out ? wire_json_str(out, "message") : "(no body)");
    assert_int_equal(status, 200);
    assert_non_null(out);
    return out;
}

/* call() that must fail with 'code' and, unless NULL, 'message'. */
static void call_fails(const char *op, const char *body, int sign,
                       const char *code, const char *message)
{
    long status;
    json_t *out = call(op, body, sign, &status);

    assert_non_null(out);
    if (strcmp(wire_json_str(out, "__type"), code))
        fprintf(stderr, "%s: got %s: %s\n", op, wire_json_str(out, "__type"),
                wire_json_str(out, "message"));
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "__type"), code);
    if (message)
        assert_string_equal(wire_json_str(out, "message"), message);
    json_decref(out);
}

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

static json_t *password_sign_in(const char *client, const char *user,
                                const char *password)
{
    char *body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                      "USER_PASSWORD_AUTH", "ClientId", client,
                      "AuthParameters", "USERNAME", user, "PASSWORD", password);
    json_t *out = call_ok("InitiateAuth", body, 0);

    free(body);
    return out;
}

static void http_get(const char *path, long *status, json_t **body)
{
    char url[512];
    struct wire_resp resp;

    snprintf(url, sizeof(url), "%s%s", proc.http, path);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &resp),
                     0);
    *status = resp.status;
    *body = json_loadb(resp.body, resp.len, 0, NULL);
    wire_resp_free(&resp);
}

static void http_post(const char *path, const char *body, long *status)
{
    char url[512];
    struct wire_resp resp;
    const char *headers[] = {"Content-Type: application/json", NULL};

    snprintf(url, sizeof(url), "%s%s", proc.http, path);
    assert_int_equal(wire_request("POST", url, headers, body, strlen(body),
                                  NULL, NULL, &resp),
                     0);
    *status = resp.status;
    wire_resp_free(&resp);
}

/* ---- tokens, checked with the keys from the JWKS URL ------------------ */

struct jwks {
    struct crypto_key *keys[4];
    char kids[4][CRYPTO_KID_MAX];
    size_t n;
};

static const struct crypto_key *jwks_lookup(const char *kid, void *ctx)
{
    const struct jwks *j = ctx;

    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->kids[i], kid))
            return j->keys[i];
    return NULL;
}

static void jwks_fetch(const char *pool, struct jwks *j)
{
    char path[256];
    long status;
    json_t *body, *key;
    size_t i;

    memset(j, 0, sizeof(*j));
    snprintf(path, sizeof(path), "/%s/.well-known/jwks.json", pool);
    http_get(path, &status, &body);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(body, "keys")), 2);
    json_array_foreach(json_object_get(body, "keys"), i, key)
    {
        assert_string_equal(json_string_value(json_object_get(key, "alg")),
                            "RS256");
        assert_string_equal(json_string_value(json_object_get(key, "kty")),
                            "RSA");
        assert_string_equal(json_string_value(json_object_get(key, "use")),
                            "sig");
        assert_int_equal(
            crypto_key_from_jwk(json_string_value(json_object_get(key, "n")),
                                json_string_value(json_object_get(key, "e")),
                                &j->keys[j->n], NULL),
            KAERI_OK);
        snprintf(j->kids[j->n], CRYPTO_KID_MAX, "%s",
                 json_string_value(json_object_get(key, "kid")));
        j->n++;
    }
    json_decref(body);
}

static void jwks_release(struct jwks *j)
{
    for (size_t i = 0; i < j->n; i++)
        crypto_key_free(j->keys[i]);
}

/* Verify 'token' with 'pool''s published keys; claims as a new ref. */
static json_t *verify(const char *pool, const char *token, const char *use,
                      const char **kid_out)
{
    static char kid[CRYPTO_KID_MAX];
    struct jwks j;
    struct jwt jwt;
    char issuer[256];
    json_t *claims;

    assert_non_null(token);
    jwks_fetch(pool, &j);
    assert_int_equal(
        jwt_verify(token, strlen(token), jwks_lookup, &j, &jwt, NULL),
        KAERI_OK);
    snprintf(issuer, sizeof(issuer), "%s/%s", proc.http, pool);
    claims = json_incref(jwt.claims);
    snprintf(kid, sizeof(kid), "%s",
             json_string_value(json_object_get(jwt.header, "kid")));
    if (kid_out)
        *kid_out = kid;
    jwt_release(&jwt);
    jwks_release(&j);
    assert_string_equal(wire_json_str(claims, "iss"), issuer);
    assert_string_equal(wire_json_str(claims, "token_use"), use);
    return claims;
}

static const char *claim_str(const json_t *claims, const char *name)
{
    return json_string_value(json_object_get(claims, name));
}

static bool array_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i,
                       v) if (json_is_string(v) &&
                              !strcmp(json_string_value(v), s)) return true;
    return false;
}

static void check_three_tokens(const json_t *out)
{
    assert_non_null(wire_json_str(out, "AuthenticationResult.AccessToken"));
    assert_non_null(wire_json_str(out, "AuthenticationResult.IdToken"));
    assert_non_null(wire_json_str(out, "AuthenticationResult.RefreshToken"));
    assert_string_equal(wire_json_str(out, "AuthenticationResult.TokenType"),
                        "Bearer");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(out, "AuthenticationResult"), "ExpiresIn")),
        3600);
}

/* ---- the tests -------------------------------------------------------- */

static void test_password_auth_tokens_jwks(void **state)
{
    json_t *out, *id, *access, *oidc;
    const char *id_kid, *access_kid;
    char id_kid_copy[CRYPTO_KID_MAX], path[256], want[256];
    long status;

    (void)state;
    out = password_sign_in(WEB, "alice", ALICE_PW);
    check_three_tokens(out);
    id = verify(POOL, wire_json_str(out, "AuthenticationResult.IdToken"), "id",
                &id_kid);
    snprintf(id_kid_copy, sizeof(id_kid_copy), "%s", id_kid);
    access =
        verify(POOL, wire_json_str(out, "AuthenticationResult.AccessToken"),
               "access", &access_kid);
    /* two keys, one per token kind (spec/cognito.md section 4) */
    assert_string_not_equal(id_kid_copy, access_kid);

    assert_string_equal(claim_str(id, "sub"),
                        "a11ce000-0000-4000-8000-000000000001");
    assert_string_equal(claim_str(id, "aud"), WEB);
    assert_string_equal(claim_str(id, "cognito:username"), "alice");
    assert_string_equal(claim_str(id, "email"), "alice@example.com");
    assert_true(json_is_true(json_object_get(id, "email_verified")));
    assert_true(array_has(json_object_get(id, "cognito:groups"), "admins"));
    assert_true(array_has(json_object_get(id, "cognito:groups"), "users"));
    assert_true(array_has(json_object_get(id, "cognito:roles"), ROLE_ADMINS));
    assert_true(array_has(json_object_get(id, "cognito:roles"), ROLE_USERS));
    /* admins has precedence 0, users 10 */
    assert_string_equal(claim_str(id, "cognito:preferred_role"), ROLE_ADMINS);
    assert_non_null(claim_str(id, "jti"));
    assert_non_null(claim_str(id, "event_id"));
    assert_string_equal(claim_str(id, "origin_jti"),
                        claim_str(access, "origin_jti"));
    assert_int_equal(json_integer_value(json_object_get(id, "exp")) -
                         json_integer_value(json_object_get(id, "iat")),
                     3600);

    assert_string_equal(claim_str(access, "client_id"), WEB);
    assert_string_equal(claim_str(access, "username"), "alice");
    assert_string_equal(claim_str(access, "scope"),
                        "aws.cognito.signin.user.admin");
    assert_null(json_object_get(access, "aud"));
    assert_null(json_object_get(access, "cognito:roles"));
    assert_true(array_has(json_object_get(access, "cognito:groups"), "admins"));

    snprintf(path, sizeof(path), "/%s/.well-known/openid-configuration", POOL);
    http_get(path, &status, &oidc);
    assert_int_equal(status, 200);
    snprintf(want, sizeof(want), "%s/%s", proc.http, POOL);
    assert_string_equal(wire_json_str(oidc, "issuer"), want);
    snprintf(want, sizeof(want), "%s/%s/.well-known/jwks.json", proc.http,
             POOL);
    assert_string_equal(wire_json_str(oidc, "jwks_uri"), want);
    json_decref(oidc);

    http_get("/no-such-pool_x/.well-known/jwks.json", &status, &oidc);
    assert_int_equal(status, 404);
    json_decref(oidc);
    json_decref(id);
    json_decref(access);
    json_decref(out);
}

static void test_password_auth_errors(void **state)
{
    char *body;

    (void)state;
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", WEB, "AuthParameters", "USERNAME", "alice",
                "PASSWORD", "wrong");
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Incorrect username or password.");
    free(body);
    /* PreventUserExistenceErrors is ENABLED on the fixture's clients */
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", WEB, "AuthParameters", "USERNAME", "nobody",
                "PASSWORD", "Whatever#1");
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Incorrect username or password.");
    free(body);
    body = dump("{s:s, s:s, s:{s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", WEB, "AuthParameters", "USERNAME", "alice");
    call_fails("InitiateAuth", body, 0, "InvalidParameterException",
               "Missing required parameter PASSWORD");
    free(body);
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", "nosuchclient", "AuthParameters", "USERNAME",
                "alice", "PASSWORD", ALICE_PW);
    call_fails("InitiateAuth", body, 0, "ResourceNotFoundException",
               "User pool client nosuchclient does not exist.");
    free(body);
    /* the admin flow is not an InitiateAuth flow */
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                "ADMIN_USER_PASSWORD_AUTH", "ClientId", WEB, "AuthParameters",
                "USERNAME", "alice", "PASSWORD", ALICE_PW);
    call_fails("InitiateAuth", body, 0, "InvalidParameterException", NULL);
    free(body);
}

static void test_admin_initiate_auth(void **state)
{
    char *body;
    long status;
    json_t *out, *id;

    (void)state;
    body = dump("{s:s, s:s, s:s, s:{s:s, s:s}}", "UserPoolId", POOL, "ClientId",
                WEB, "AuthFlow", "ADMIN_USER_PASSWORD_AUTH", "AuthParameters",
                "USERNAME", "bob", "PASSWORD", BOB_PW);
    out = call_ok("AdminInitiateAuth", body, 1);
    check_three_tokens(out);
    id = verify(POOL, wire_json_str(out, "AuthenticationResult.IdToken"), "id",
                NULL);
    assert_string_equal(claim_str(id, "cognito:username"), "bob");
    /* one group, one role: that role is preferred */
    assert_string_equal(claim_str(id, "cognito:preferred_role"), ROLE_USERS);
    json_decref(id);
    json_decref(out);

    /* without Authorization: refused, no tokens */
    out = call("AdminInitiateAuth", body, 0, &status);
    assert_true(status >= 400 && status < 500);
    assert_null(wire_json_str(out, "AuthenticationResult.IdToken"));
    json_decref(out);
    free(body);

    body = dump("{s:s, s:s, s:s, s:{s:s, s:s}}", "UserPoolId",
                "ap-northeast-1_Nope", "ClientId", WEB, "AuthFlow",
                "ADMIN_USER_PASSWORD_AUTH", "AuthParameters", "USERNAME", "bob",
                "PASSWORD", BOB_PW);
    call_fails("AdminInitiateAuth", body, 1, "ResourceNotFoundException",
               "User pool ap-northeast-1_Nope does not exist.");
    free(body);
}

static void test_secret_hash(void **state)
{
    char hash[SRP_CLIENT_SIG_MAX];
    char *body;
    json_t *out;

    (void)state;
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", BACKEND, "AuthParameters", "USERNAME", "alice",
                "PASSWORD", ALICE_PW);
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Client " BACKEND " is configured with secret but SECRET_HASH "
               "was not received");
    free(body);
    body = dump("{s:s, s:s, s:{s:s, s:s, s:s}}", "AuthFlow",
                "USER_PASSWORD_AUTH", "ClientId", BACKEND, "AuthParameters",
                "USERNAME", "alice", "PASSWORD", ALICE_PW, "SECRET_HASH",
                "hvfK2Tb28A+0smK6eYncNRw7IDA6nI26er1YyFM6l98=");
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Unable to verify secret hash for client " BACKEND);
    free(body);
    assert_int_equal(
        srp_client_secret_hash(BACKEND_SECRET, "alice", BACKEND, hash), 0);
    body = dump("{s:s, s:s, s:{s:s, s:s, s:s}}", "AuthFlow",
                "USER_PASSWORD_AUTH", "ClientId", BACKEND, "AuthParameters",
                "USERNAME", "alice", "PASSWORD", ALICE_PW, "SECRET_HASH", hash);
    out = call_ok("InitiateAuth", body, 0);
    check_three_tokens(out);
    json_decref(out);
    free(body);
}

/* kaeri's "now" (its clock may be shifted), for SRP's TIMESTAMP. */
static time_t kaeri_now(void)
{
    long status;
    json_t *clock;
    time_t now;

    http_get("/_kaeri/clock", &status, &clock);
    assert_int_equal(status, 200);
    now = time(NULL) +
          (time_t)json_integer_value(json_object_get(clock, "offsetSeconds"));
    json_decref(clock);
    return now;
}

/*
 * Run USER_SRP_AUTH for 'user' with 'password' on 'client' ('secret' for a
 * secret client, else NULL). Returns the RespondToAuthChallenge answer and
 * its status; the challenge's SECRET_BLOCK and the respond body go to
 * *block_out / *respond_out when not NULL (callers free them).
 */
static json_t *srp_sign_in(const char *client, const char *secret,
                           const char *user, const char *password, long *status,
                           char **respond_out)
{
    struct srp_client *srp = srp_client_new(NULL);
    char sig[SRP_CLIENT_SIG_MAX], ts[SRP_CLIENT_TIMESTAMP_MAX];
    char hash[SRP_CLIENT_SIG_MAX] = "";
    char *body;
    json_t *challenge, *out;
    const char *uid;

    assert_non_null(srp);
    if (secret)
        assert_int_equal(srp_client_secret_hash(secret, user, client, hash), 0);
    body = secret ? dump("{s:s, s:s, s:{s:s, s:s, s:s}}", "AuthFlow",
                         "USER_SRP_AUTH", "ClientId", client, "AuthParameters",
                         "USERNAME", user, "SRP_A", srp_client_a_hex(srp),
                         "SECRET_HASH", hash)
                  : dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                         "USER_SRP_AUTH", "ClientId", client, "AuthParameters",
                         "USERNAME", user, "SRP_A", srp_client_a_hex(srp));
    challenge = call_ok("InitiateAuth", body, 0);
    free(body);
    assert_string_equal(wire_json_str(challenge, "ChallengeName"),
                        "PASSWORD_VERIFIER");
    uid = wire_json_str(challenge, "ChallengeParameters.USER_ID_FOR_SRP");
    assert_non_null(uid);
    assert_string_equal(
        uid, wire_json_str(challenge, "ChallengeParameters.USERNAME"));
    srp_client_timestamp(kaeri_now(), ts);
    assert_int_equal(
        srp_client_signature(
            srp, strchr(POOL, '_') + 1, uid, password,
            wire_json_str(challenge, "ChallengeParameters.SALT"),
            wire_json_str(challenge, "ChallengeParameters.SRP_B"),
            wire_json_str(challenge, "ChallengeParameters.SECRET_BLOCK"), ts,
            sig),
        0);
    if (secret)
        assert_int_equal(srp_client_secret_hash(secret, uid, client, hash), 0);
    body =
        secret
            ? dump("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "ChallengeName",
                   "PASSWORD_VERIFIER", "ClientId", client,
                   "ChallengeResponses", "USERNAME", uid,
                   "PASSWORD_CLAIM_SECRET_BLOCK",
                   wire_json_str(challenge, "ChallengeParameters.SECRET_BLOCK"),
                   "TIMESTAMP", ts, "PASSWORD_CLAIM_SIGNATURE", sig,
                   "SECRET_HASH", hash)
            : dump("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "ChallengeName",
                   "PASSWORD_VERIFIER", "ClientId", client,
                   "ChallengeResponses", "USERNAME", uid,
                   "PASSWORD_CLAIM_SECRET_BLOCK",
                   wire_json_str(challenge, "ChallengeParameters.SECRET_BLOCK"),
                   "TIMESTAMP", ts, "PASSWORD_CLAIM_SIGNATURE", sig);
    out = call("RespondToAuthChallenge", body, 0, status);
    if (respond_out)
        *respond_out = body;
    else
        free(body);
    json_decref(challenge);
    srp_client_free(srp);
    return out;
}

static void test_srp(void **state)
{
    long status;
    json_t *out, *id;
    char *replay;

    (void)state;
    out = srp_sign_in(WEB, NULL, "alice", ALICE_PW, &status, &replay);
    assert_int_equal(status, 200);
    check_three_tokens(out);
    id = verify(POOL, wire_json_str(out, "AuthenticationResult.IdToken"), "id",
                NULL);
    assert_string_equal(claim_str(id, "cognito:username"), "alice");
    json_decref(id);
    json_decref(out);

    /* the SECRET_BLOCK is single-use */
    call_fails("RespondToAuthChallenge", replay, 0, "NotAuthorizedException",
               "Incorrect username or password.");
    free(replay);

    out = srp_sign_in(WEB, NULL, "alice", "Wrong#Passw0rd", &status, NULL);
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "__type"), "NotAuthorizedException");
    assert_string_equal(wire_json_str(out, "message"),
                        "Incorrect username or password.");
    json_decref(out);

    /* an unknown user gets a normal-looking challenge, then the same error */
    out = srp_sign_in(WEB, NULL, "nobody", "Whatever#1", &status, NULL);
    assert_int_equal(status, 400);
    assert_string_equal(wire_json_str(out, "message"),
                        "Incorrect username or password.");
    json_decref(out);

    /* with a client secret */
    out = srp_sign_in(BACKEND, BACKEND_SECRET, "bob", BOB_PW, &status, NULL);
    assert_int_equal(status, 200);
    check_three_tokens(out);
    json_decref(out);
}

static void test_refresh(void **state)
{
    json_t *out, *again, *id1, *id2;
    char hash[SRP_CLIENT_SIG_MAX];
    char *body;

    (void)state;
    out = password_sign_in(WEB, "alice", ALICE_PW);
    body = dump("{s:s, s:s, s:{s:s}}", "AuthFlow", "REFRESH_TOKEN_AUTH",
                "ClientId", WEB, "AuthParameters", "REFRESH_TOKEN",
                wire_json_str(out, "AuthenticationResult.RefreshToken"));
    again = call_ok("InitiateAuth", body, 0);
    free(body);
    assert_null(wire_json_str(again, "AuthenticationResult.RefreshToken"));
    id1 = verify(POOL, wire_json_str(out, "AuthenticationResult.IdToken"), "id",
                 NULL);
    id2 = verify(POOL, wire_json_str(again, "AuthenticationResult.IdToken"),
                 "id", NULL);
    assert_string_equal(claim_str(id1, "origin_jti"),
                        claim_str(id2, "origin_jti"));
    assert_string_not_equal(claim_str(id1, "jti"), claim_str(id2, "jti"));
    assert_int_equal(json_integer_value(json_object_get(id1, "auth_time")),
                     json_integer_value(json_object_get(id2, "auth_time")));
    json_decref(id1);
    json_decref(id2);
    json_decref(again);

    /* the refresh token belongs to its client */
    assert_int_equal(
        srp_client_secret_hash(BACKEND_SECRET, "alice", BACKEND, hash), 0);
    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "REFRESH_TOKEN",
                "ClientId", BACKEND, "AuthParameters", "REFRESH_TOKEN",
                wire_json_str(out, "AuthenticationResult.RefreshToken"),
                "SECRET_HASH", hash);
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Invalid Refresh Token");
    free(body);
    body = dump("{s:s, s:s, s:{s:s}}", "AuthFlow", "REFRESH_TOKEN_AUTH",
                "ClientId", WEB, "AuthParameters", "REFRESH_TOKEN", "garbage");
    call_fails("InitiateAuth", body, 0, "NotAuthorizedException",
               "Invalid Refresh Token");
    free(body);
    json_decref(out);
}

static void test_new_password_required(void **state)
{
    char *body;
    json_t *out;

    (void)state;
    body = dump("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}",
                "UserPoolId", POOL, "Username", "carol", "TemporaryPassword",
                "Tmp#Passw0rd", "MessageAction", "SUPPRESS", "UserAttributes",
                "Name", "email", "Value", "carol@example.com", "Name",
                "email_verified", "Value", "true");
    out = call_ok("AdminCreateUser", body, 1);
    assert_string_equal(wire_json_str(out, "User.UserStatus"),
                        "FORCE_CHANGE_PASSWORD");
    assert_string_equal(wire_json_str(out, "User.Username"), "carol");
    assert_true(json_is_number(
        json_object_get(json_object_get(out, "User"), "UserCreateDate")));
    json_decref(out);
    call_fails("AdminCreateUser", body, 1, "UsernameExistsException", NULL);
    free(body);

    out = password_sign_in(WEB, "carol", "Tmp#Passw0rd");
    assert_string_equal(wire_json_str(out, "ChallengeName"),
                        "NEW_PASSWORD_REQUIRED");
    assert_non_null(wire_json_str(out, "Session"));
    assert_string_equal(
        wire_json_str(out, "ChallengeParameters.requiredAttributes"), "[]");
    assert_non_null(wire_json_str(out, "ChallengeParameters.userAttributes"));

    body = dump("{s:s, s:s, s:s, s:{s:s, s:s}}", "ChallengeName",
                "NEW_PASSWORD_REQUIRED", "ClientId", WEB, "Session",
                wire_json_str(out, "Session"), "ChallengeResponses", "USERNAME",
                "carol", "NEW_PASSWORD", "weakpassword");
    call_fails("RespondToAuthChallenge", body, 0, "InvalidPasswordException",
               "Password did not conform with policy: Password must have "
               "numeric characters");
    free(body);
    body = dump("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "ChallengeName",
                "NEW_PASSWORD_REQUIRED", "ClientId", WEB, "Session",
                wire_json_str(out, "Session"), "ChallengeResponses", "USERNAME",
                "carol", "NEW_PASSWORD", "Carol#Passw0rd",
                "userAttributes.name", "Carol");
    json_decref(out);
    out = call_ok("RespondToAuthChallenge", body, 0);
    check_three_tokens(out);
    json_decref(out);
    /* the session is spent */
    call_fails("RespondToAuthChallenge", body, 0, "NotAuthorizedException",
               NULL);
    free(body);

    body = dump("{s:s, s:s}", "UserPoolId", POOL, "Username", "carol");
    out = call_ok("AdminGetUser", body, 1);
    assert_string_equal(wire_json_str(out, "UserStatus"), "CONFIRMED");
    json_decref(out);
    free(body);

    /* Permanent false: a temporary password again */
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", POOL, "Username", "carol",
                "Password", "Other#Passw0rd", "Permanent", 0);
    json_decref(call_ok("AdminSetUserPassword", body, 1));
    free(body);
    out = password_sign_in(WEB, "carol", "Other#Passw0rd");
    assert_string_equal(wire_json_str(out, "ChallengeName"),
                        "NEW_PASSWORD_REQUIRED");
    json_decref(out);
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", POOL, "Username", "carol",
                "Password", "Final#Passw0rd", "Permanent", 1);
    json_decref(call_ok("AdminSetUserPassword", body, 1));
    free(body);
    out = password_sign_in(WEB, "carol", "Final#Passw0rd");
    check_three_tokens(out);
    json_decref(out);
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", POOL, "Username", "carol",
                "Password", "short", "Permanent", 1);
    call_fails("AdminSetUserPassword", body, 1, "InvalidPasswordException",
               "Password did not conform with policy: Password not long "
               "enough");
    free(body);
}

static void test_get_user_delete_user(void **state)
{
    char *body, *get;
    json_t *out, *user;

    (void)state;
    body =
        dump("{s:s, s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "dave",
             "TemporaryPassword", "Tmp#Passw0rd", "MessageAction", "SUPPRESS");
    json_decref(call_ok("AdminCreateUser", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", POOL, "Username", "dave",
                "Password", "Dave#Passw0rd", "Permanent", 1);
    json_decref(call_ok("AdminSetUserPassword", body, 1));
    free(body);
    out = password_sign_in(WEB, "dave", "Dave#Passw0rd");
    get = dump("{s:s}", "AccessToken",
               wire_json_str(out, "AuthenticationResult.AccessToken"));
    user = call_ok("GetUser", get, 0);
    assert_string_equal(wire_json_str(user, "Username"), "dave");
    assert_true(json_is_array(json_object_get(user, "UserAttributes")));
    json_decref(user);

    /* an ID token is not an access token */
    body = dump("{s:s}", "AccessToken",
                wire_json_str(out, "AuthenticationResult.IdToken"));
    call_fails("GetUser", body, 0, "NotAuthorizedException",
               "Invalid Access Token");
    free(body);

    body = dump("{s:s, s:s}", "UserPoolId", POOL, "Username", "dave");
    json_decref(call_ok("AdminDeleteUser", body, 1));
    call_fails("AdminGetUser", body, 1, "UserNotFoundException",
               "User does not exist.");
    call_fails("AdminDeleteUser", body, 1, "UserNotFoundException", NULL);
    free(body);
    call_fails("GetUser", get, 0, "UserNotFoundException",
               "User does not exist.");
    free(get);
    json_decref(out);
}

static void test_groups(void **state)
{
    char *body;
    json_t *out, *id;

    (void)state;
    body = dump("{s:s, s:s, s:s, s:s, s:i}", "UserPoolId", POOL, "GroupName",
                "editors", "Description", "edit things", "RoleArn",
                "arn:aws:iam::123456789012:role/editors", "Precedence", 0);
    out = call_ok("CreateGroup", body, 1);
    assert_string_equal(wire_json_str(out, "Group.GroupName"), "editors");
    assert_string_equal(wire_json_str(out, "Group.RoleArn"),
                        "arn:aws:iam::123456789012:role/editors");
    json_decref(out);
    call_fails("CreateGroup", body, 1, "GroupExistsException", NULL);
    free(body);

    body = dump("{s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g",
                "TemporaryPassword", "Tmp#Passw0rd");
    json_decref(call_ok("AdminCreateUser", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", POOL, "Username",
                "erin-g", "Password", "Erin#Passw0rd", "Permanent", 1);
    json_decref(call_ok("AdminSetUserPassword", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g",
                "GroupName", "editors");
    json_decref(call_ok("AdminAddUserToGroup", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g",
                "GroupName", "admins");
    json_decref(call_ok("AdminAddUserToGroup", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g",
                "GroupName", "nosuchgroup");
    call_fails("AdminAddUserToGroup", body, 1, "ResourceNotFoundException",
               NULL);
    free(body);

    body = dump("{s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g");
    out = call_ok("AdminListGroupsForUser", body, 1);
    assert_int_equal(json_array_size(json_object_get(out, "Groups")), 2);
    json_decref(out);

    /* editors and admins both have precedence 0 with different roles */
    out = password_sign_in(WEB, "erin-g", "Erin#Passw0rd");
    id = verify(POOL, wire_json_str(out, "AuthenticationResult.IdToken"), "id",
                NULL);
    assert_true(array_has(json_object_get(id, "cognito:groups"), "editors"));
    assert_int_equal(json_array_size(json_object_get(id, "cognito:roles")), 2);
    assert_null(json_object_get(id, "cognito:preferred_role"));
    json_decref(id);
    json_decref(out);

    free(body);
    body = dump("{s:s, s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g",
                "GroupName", "admins");
    json_decref(call_ok("AdminRemoveUserFromGroup", body, 1));
    free(body);
    body = dump("{s:s, s:s}", "UserPoolId", POOL, "Username", "erin-g");
    out = call_ok("AdminListGroupsForUser", body, 1);
    assert_int_equal(json_array_size(json_object_get(out, "Groups")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(out, "Groups"), 0), "GroupName")),
        "editors");
    json_decref(out);
    free(body);
}

static void test_sign_up_confirm(void **state)
{
    char *body, path[256];
    const char *code = NULL;
    json_t *out, *codes, *item;
    long status;
    size_t i;

    (void)state;
    body = dump("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "ClientId", WEB, "Username",
                "frank", "Password", "weak", "UserAttributes", "Name", "email",
                "Value", "frank@example.com");
    call_fails("SignUp", body, 0, "InvalidPasswordException", NULL);
    free(body);
    body = dump("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "ClientId", WEB, "Username",
                "frank", "Password", "Frank#Passw0rd", "UserAttributes", "Name",
                "email", "Value", "frank@example.com");
    out = call_ok("SignUp", body, 0);
    assert_true(json_is_false(json_object_get(out, "UserConfirmed")));
    assert_non_null(wire_json_str(out, "UserSub"));
    assert_string_equal(wire_json_str(out, "CodeDeliveryDetails.Destination"),
                        "f***@e***");
    json_decref(out);
    call_fails("SignUp", body, 0, "UsernameExistsException", NULL);
    free(body);

    body = dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
                "ClientId", WEB, "AuthParameters", "USERNAME", "frank",
                "PASSWORD", "Frank#Passw0rd");
    call_fails("InitiateAuth", body, 0, "UserNotConfirmedException",
               "User is not confirmed.");
    free(body);

    snprintf(path, sizeof(path),
             "/_kaeri/cognito/codes?userPoolId=%s"
             "&username=frank",
             POOL);
    http_get(path, &status, &codes);
    assert_int_equal(status, 200);
    json_array_foreach(json_object_get(codes, "codes"), i, item)
    {
        if (!strcmp(wire_json_str(item, "kind"), "SIGN_UP"))
            code = wire_json_str(item, "code");
    }
    assert_non_null(code);
    assert_int_equal(strlen(code), 6);
    assert_true(kaeri_proc_log_contains(&proc, code));

    body =
        dump("{s:s, s:s, s:s}", "ClientId", WEB, "Username", "frank",
             "ConfirmationCode", strcmp(code, "000000") ? "000000" : "111111");
    call_fails("ConfirmSignUp", body, 0, "CodeMismatchException", NULL);
    free(body);
    body = dump("{s:s, s:s, s:s}", "ClientId", WEB, "Username", "frank",
                "ConfirmationCode", code);
    json_decref(call_ok("ConfirmSignUp", body, 0));
    call_fails("ConfirmSignUp", body, 0, "NotAuthorizedException",
               "User cannot be confirmed. Current status is CONFIRMED");
    free(body);
    json_decref(codes);

    out = password_sign_in(WEB, "frank", "Frank#Passw0rd");
    check_three_tokens(out);
    json_decref(out);
}

static void test_pools_and_clients(void **state)
{
    char *body, hash[SRP_CLIENT_SIG_MAX], pool_id[64], client_id[64],
        secret[64];
    json_t *out, *id;
    size_t i;
    json_t *item;
    bool found = false;

    (void)state;
    body = dump("{s:s, s:{s:{s:i, s:b, s:b, s:b, s:b}}}", "PoolName",
                "made-on-the-wire", "Policies", "PasswordPolicy",
                "MinimumLength", 10, "RequireUppercase", 1, "RequireLowercase",
                1, "RequireNumbers", 1, "RequireSymbols", 0);
    out = call_ok("CreateUserPool", body, 1);
    free(body);
    snprintf(pool_id, sizeof(pool_id), "%s", wire_json_str(out, "UserPool.Id"));
    assert_true(!strncmp(pool_id, "ap-northeast-1_", 15));
    assert_string_equal(wire_json_str(out, "UserPool.Name"),
                        "made-on-the-wire");
    json_decref(out);

    body = dump("{s:s}", "UserPoolId", pool_id);
    out = call_ok("DescribeUserPool", body, 1);
    assert_string_equal(wire_json_str(out, "UserPool.Id"), pool_id);
    json_decref(out);
    free(body);

    out = call_ok("ListUserPools", "{\"MaxResults\": 60}", 1);
    json_array_foreach(json_object_get(out, "UserPools"), i, item) found |=
        !strcmp(wire_json_str(item, "Id"), pool_id);
    assert_true(found);
    json_decref(out);
    call_fails("ListUserPools", "{}", 1, "InvalidParameterException",
               "1 validation error detected: Value null at 'maxResults' "
               "failed to satisfy constraint: Member must not be null");

    body =
        dump("{s:s, s:s, s:b, s:[s, s]}", "UserPoolId", pool_id, "ClientName",
             "wire-client", "GenerateSecret", 1, "ExplicitAuthFlows",
             "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH");
    out = call_ok("CreateUserPoolClient", body, 1);
    free(body);
    snprintf(client_id, sizeof(client_id), "%s",
             wire_json_str(out, "UserPoolClient.ClientId"));
    snprintf(secret, sizeof(secret), "%s",
             wire_json_str(out, "UserPoolClient.ClientSecret"));
    assert_int_equal(strlen(client_id), 26);
    assert_true(strlen(secret) > 40);
    json_decref(out);

    body = dump("{s:s, s:s}", "UserPoolId", pool_id, "ClientId", client_id);
    out = call_ok("DescribeUserPoolClient", body, 1);
    assert_string_equal(wire_json_str(out, "UserPoolClient.ClientSecret"),
                        secret);
    json_decref(out);
    free(body);
    body = dump("{s:s, s:i}", "UserPoolId", pool_id, "MaxResults", 10);
    out = call_ok("ListUserPoolClients", body, 1);
    assert_int_equal(json_array_size(json_object_get(out, "UserPoolClients")),
                     1);
    assert_string_equal(
        wire_json_str(
            json_array_get(json_object_get(out, "UserPoolClients"), 0),
            "ClientId"),
        client_id);
    json_decref(out);
    free(body);

    /* this pool's policy: 10 characters, no symbol needed */
    body =
        dump("{s:s, s:s, s:s, s:s}", "UserPoolId", pool_id, "Username", "gina",
             "TemporaryPassword", "Short1Aa", "MessageAction", "SUPPRESS");
    call_fails("AdminCreateUser", body, 1, "InvalidPasswordException",
               "Password did not conform with policy: Password not long "
               "enough");
    free(body);
    body =
        dump("{s:s, s:s, s:s, s:s}", "UserPoolId", pool_id, "Username", "gina",
             "TemporaryPassword", "LongEnough1", "MessageAction", "SUPPRESS");
    json_decref(call_ok("AdminCreateUser", body, 1));
    free(body);
    body = dump("{s:s, s:s, s:s, s:b}", "UserPoolId", pool_id, "Username",
                "gina", "Password", "GinaPassw0rd", "Permanent", 1);
    json_decref(call_ok("AdminSetUserPassword", body, 1));
    free(body);
    assert_int_equal(srp_client_secret_hash(secret, "gina", client_id, hash),
                     0);
    body =
        dump("{s:s, s:s, s:{s:s, s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
             "ClientId", client_id, "AuthParameters", "USERNAME", "gina",
             "PASSWORD", "GinaPassw0rd", "SECRET_HASH", hash);
    out = call_ok("InitiateAuth", body, 0);
    free(body);
    id = verify(pool_id, wire_json_str(out, "AuthenticationResult.IdToken"),
                "id", NULL);
    assert_string_equal(claim_str(id, "aud"), client_id);
    json_decref(id);
    json_decref(out);

    /* USER_SRP_AUTH is not among this client's flows */
    body = dump("{s:s, s:s, s:{s:s, s:s, s:s}}", "AuthFlow", "USER_SRP_AUTH",
                "ClientId", client_id, "AuthParameters", "USERNAME", "gina",
                "SRP_A", "abcdef", "SECRET_HASH", hash);
    call_fails("InitiateAuth", body, 0, "InvalidParameterException",
               "USER_SRP_AUTH flow not enabled for this client");
    free(body);
}

static void test_global_sign_out(void **state)
{
    char *refresh, *get, *body;
    json_t *out;

    (void)state;
    out = password_sign_in(WEB, "bob", BOB_PW);
    refresh = dump("{s:s, s:s, s:{s:s}}", "AuthFlow", "REFRESH_TOKEN_AUTH",
                   "ClientId", WEB, "AuthParameters", "REFRESH_TOKEN",
                   wire_json_str(out, "AuthenticationResult.RefreshToken"));
    get = dump("{s:s}", "AccessToken",
               wire_json_str(out, "AuthenticationResult.AccessToken"));
    json_decref(call_ok("GetUser", get, 0));
    json_decref(call_ok("GlobalSignOut", get, 0));
    call_fails("InitiateAuth", refresh, 0, "NotAuthorizedException",
               "Refresh Token has been revoked");
    call_fails("GetUser", get, 0, "NotAuthorizedException",
               "Access Token has been revoked");
    free(refresh);
    free(get);
    json_decref(out);

    /* a new sign-in works again */
    out = password_sign_in(WEB, "bob", BOB_PW);
    body = dump("{s:s}", "AccessToken",
                wire_json_str(out, "AuthenticationResult.AccessToken"));
    json_decref(call_ok("GetUser", body, 0));
    free(body);
    json_decref(out);
}

static void test_bad_requests(void **state)
{
    struct wire_resp resp;
    json_t *out;
    const char *headers[] = {
        "Content-Type: application/x-amz-json-1.1",
        "X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth", NULL};
    char url[256];
    size_t big = 11u << 20; /* over the fixture's 10 MiB limit */
    char *huge;

    (void)state;
    snprintf(url, sizeof(url), "%s/", proc.http);
    assert_int_equal(wire_request("POST", url, headers, "{\"AuthFlow\":", 12,
                                  NULL, NULL, &resp),
                     0);
    assert_int_equal(resp.status, 400);
    assert_string_equal(wire_resp_header(&resp, "x-amzn-ErrorType"),
                        "SerializationException");
    wire_resp_free(&resp);
    assert_int_equal(
        wire_request("POST", url, headers, "[1,2]", 5, NULL, NULL, &resp), 0);
    assert_int_equal(resp.status, 400);
    wire_resp_free(&resp);

    huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    assert_int_equal(
        wire_request("POST", url, headers, huge, big, NULL, NULL, &resp), 0);
    assert_int_equal(resp.status, 413);
    wire_resp_free(&resp);
    free(huge);

    call_fails("InitiateAuth",
               "{\"ClientId\": 7, \"AuthFlow\": \"USER_PASSWORD_AUTH\"}", 0,
               "InvalidParameterException",
               "1 validation error detected: Value at 'clientId' failed to "
               "satisfy constraint: Member must be a string");
    call_fails("AdminGetUser", "{\"Username\": \"alice\"}", 1,
               "InvalidParameterException",
               "1 validation error detected: Value null at 'userPoolId' "
               "failed to satisfy constraint: Member must not be null");
    call_fails("NoSuchOperation", "{}", 0, "UnknownOperationException", NULL);

    /* still serving */
    out = password_sign_in(WEB, "alice", ALICE_PW);
    check_three_tokens(out);
    json_decref(out);
}

static void test_clock_expiry(void **state)
{
    char *get;
    json_t *out;
    long status;

    (void)state;
    out = password_sign_in(WEB, "alice", ALICE_PW);
    get = dump("{s:s}", "AccessToken",
               wire_json_str(out, "AuthenticationResult.AccessToken"));
    json_decref(call_ok("GetUser", get, 0));
    http_post("/_kaeri/clock", "{\"advanceSeconds\": 7200}", &status);
    assert_int_equal(status, 200);
    call_fails("GetUser", get, 0, "NotAuthorizedException",
               "Access Token has expired");
    /* SRP signs with kaeri's shifted time and still works */
    {
        json_t *srp = srp_sign_in(WEB, NULL, "alice", ALICE_PW, &status, NULL);

        assert_int_equal(status, 200);
        json_decref(srp);
    }
    http_post("/_kaeri/clock", "{\"advanceSeconds\": -7200}", &status);
    assert_int_equal(status, 200);
    json_decref(call_ok("GetUser", get, 0));
    free(get);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_auth_tokens_jwks),
        cmocka_unit_test(test_password_auth_errors),
        cmocka_unit_test(test_admin_initiate_auth),
        cmocka_unit_test(test_secret_hash),
        cmocka_unit_test(test_srp),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_new_password_required),
        cmocka_unit_test(test_get_user_delete_user),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_sign_up_confirm),
        cmocka_unit_test(test_pools_and_clients),
        cmocka_unit_test(test_global_sign_out),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_clock_expiry),
    };

    return cmocka_run_group_tests_name("cognito over the wire", tests,
                                       group_setup, group_teardown);
}

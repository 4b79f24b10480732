/*
 * test_sts.c - SigV4 and STS over the wire, signed by an independent
 * signer (libcurl's CURLOPT_AWS_SIGV4, conformant for these paths: no
 * percent-encoding, no query). A good request is accepted; one byte of
 * body changed, a wrong secret, a date 20 minutes off or a wrong region
 * each get AWS's error. AssumeRole and AssumeRoleWithWebIdentity give
 * temporary credentials whose calls pass or fail as the role's policy
 * says, and stop working when kaeri's clock passes their expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jwt.h"
#include "kaeri_proc.h"
#include "sigv4.h"
#include "wire.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_KEY    "AKIAKAERIADMINKEY001"
#define ADMIN_SECRET "kaeriAdminSecretKey0000000000000000000001"
#define POOL         "ap-northeast-1_KaeriPool1"
#define WEB          "kaeriwebclientnosecret0001"
#define ROLE_ADMINS  "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkaeri-chat-admins"
#define ROLE_USERS   "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkaeri-chat-users"
#define STS_SIGV4    "aws:amz:ap-northeast-1:sts"
#define ADMIN_GET_ALICE                                                       \
    "{\"UserPoolId\":\"" POOL "\",\"Username\":\"alice\"}"

static struct kaeri_proc proc;

static int setup(void **state)
{
    wire_global_init(state);
    return kaeri_proc_start(&proc, NULL, NULL);
}

static int teardown(void **state)
{
    int rc = kaeri_proc_stop(&proc);

    wire_global_cleanup(state);
    return rc;
}

/* Credentials to sign with, and an optional clock to sign at. */
struct signer {
    const char *key;
    const char *secret;
    const char *token;  /* X-Amz-Security-Token, or NULL */
    int64_t skew;       /* seconds added to kaeri's clock for X-Amz-Date */
    const char *region; /* NULL: ap-northeast-1 */
};

/* kaeri's "now" (its clock may be shifted), from GET /_kaeri/clock. */
static time_t kaeri_now(void)
{
    struct wire_resp r = {0};
    char url[256];
    json_t *j;
    struct tm tm = {0};
    const char *now;

    snprintf(url, sizeof(url), "%s/_kaeri/clock", proc.http);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &r),
                     0);
    j = json_loads(r.body, 0, NULL);
    now = json_string_value(json_object_get(j, "now"));
    assert_int_equal(sscanf(now, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
                            &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                            &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    json_decref(j);
    wire_resp_free(&r);
    return timegm(&tm);
}

static bool clock_shifted; /* kaeri's clock was moved by this test */

/*
 * POST a signed request; 'service' is the SigV4 signing name. libcurl
 * signs (an independent signer) unless the request must carry another
 * time than the machine's: curl 7.88 then sends X-Amz-Date twice
 * (curl/curl#11738), so kaeri's own signer (sigv4_sign) signs instead.
 */
static void signed_post(const struct signer *s, const char *service,
                        const char *const extra_headers[], const char *body,
                        struct wire_resp *out)
{
    char sigv4[128], userpwd[512], date[64], token[512], url[256];
    char host[160], amz_date[SIGV4_AMZ_DATE_LEN + 1], auth[1024];
    const char *headers[10];
    struct http_header signed_headers[10];
    size_t n = 0, m = 0;
    const char *region = s->region ? s->region : "ap-northeast-1";

    snprintf(url, sizeof(url), "%s/", proc.http);
    if (s->token) {
        snprintf(token, sizeof(token), "X-Amz-Security-Token: %s", s->token);
        headers[n++] = token;
    }
    for (size_t i = 0; extra_headers && extra_headers[i]; i++)
        headers[n++] = extra_headers[i];
    if (!s->skew && !clock_shifted) {
        headers[n] = NULL;
        snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:%s", region, service);
        snprintf(userpwd, sizeof(userpwd), "%s:%s", s->key, s->secret);
        assert_int_equal(wire_request("POST", url, headers, body,
                                      strlen(body), sigv4, userpwd, out),
                         0);
        return;
    }
    assert_int_equal(sigv4_format_amz_date(kaeri_now() + s->skew, amz_date),
                     KAERI_OK);
    snprintf(date, sizeof(date), "X-Amz-Date: %s", amz_date);
    headers[n++] = date;
    snprintf(host, sizeof(host), "%s", strstr(proc.http, "://") + 3);
    signed_headers[m++] = (struct http_header){strdup("host"), host};
    for (size_t i = 0; i < n; i++) {
        char *colon = strchr(headers[i], ':');
        char *name = strndup(headers[i], (size_t)(colon - headers[i]));

        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        signed_headers[m++] =
            (struct http_header){name, (char *)colon + 1 + (colon[1] == ' ')};
    }
    {
        struct sigv4_request req = {
            .method = "POST", .path = "/", .query = "",
            .headers = signed_headers, .header_count = m,
            .body = body, .body_len = strlen(body),
        };
        char *value = NULL;

        assert_int_equal(sigv4_sign(&req, s->key, s->secret, s->token, region,
                                    service, amz_date, &value, NULL),
                         KAERI_OK);
        snprintf(auth, sizeof(auth), "Authorization: %s", value);
        free(value);
    }
    for (size_t i = 0; i < m; i++)
        free(signed_headers[i].name);
    headers[n++] = auth;
    headers[n] = NULL;
    assert_int_equal(wire_request("POST", url, headers, body, strlen(body),
                                  NULL, NULL, out),
                     0);
}

static void sts_call(const struct signer *s, const char *form,
                     struct wire_resp *out)
{
    const char *ct[] = {"Content-Type: application/x-www-form-urlencoded",
                        NULL};

    signed_post(s, "sts", ct, form, out);
}

static void cognito_call(const struct signer *s, const char *op,
                         const char *json, struct wire_resp *out)
{
    char target[128];
    const char *headers[] = {"Content-Type: application/x-amz-json-1.1",
                             target, NULL};

    snprintf(target, sizeof(target),
             "X-Amz-Target: AWSCognitoIdentityProviderService.%s", op);
    signed_post(s, "cognito-idp", headers, json, out);
}

/* The text of <name>...</name> in 'xml', copied into 'out'. */
static const char *xml_value(const char *xml, const char *name, char *out,
                             size_t n)
{
    char open[64], close[64];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    a = strstr(xml, open);
    b = a ? strstr(a, close) : NULL;
    if (!a || !b)
        return NULL;
    a += strlen(open);
    snprintf(out, n, "%.*s", (int)(b - a), a);
    return out;
}

static const struct signer admin = {ADMIN_KEY, ADMIN_SECRET, NULL, 0, NULL};

static void test_signed_request_accepted(void **state)
{
    struct wire_resp r = {0};
    char arn[256];

    (void)state;
    sts_call(&admin, "Action=GetCallerIdentity&Version=2011-06-15", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(xml_value(r.body, "Arn", arn, sizeof(arn)));
    assert_string_equal(arn, "arn:aws:iam::123456789012:user/kaeri-admin");
    assert_non_null(strstr(r.body, "<Account>123456789012</Account>"));
    wire_resp_free(&r);
}

struct refusal {
    const char *name;
    struct signer signer;
    bool change_body;
    const char *code;
    const char *message;
};

static const struct refusal refusals[] = {
    {"wrong secret",
     {ADMIN_KEY, "wrongSecret00000000000000000000000000000", NULL, 0, NULL},
     false, "InvalidSignatureException", "does not match"},
    {"body changed", {ADMIN_KEY, ADMIN_SECRET, NULL, 0, NULL}, true,
     "InvalidSignatureException", "does not match"},
    {"20 minutes old", {ADMIN_KEY, ADMIN_SECRET, NULL, -1200, NULL}, false,
     "InvalidSignatureException", "Signature expired"},
    {"wrong region", {ADMIN_KEY, ADMIN_SECRET, NULL, 0, "us-west-2"}, false,
     "InvalidSignatureException", "us-west-2"},
    {"unknown key",
     {"AKIAUNKNOWNKEY000001", ADMIN_SECRET, NULL, 0, NULL}, false,
     "UnrecognizedClientException", "security token"},
};

/*
 * Each refusal, then a good request that still works. curl signs the
 * body it sends, so "one byte of body changed" is a body whose declared
 * x-amz-content-sha256 is another body's.
 */
static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refusal *f = &refusals[i];
        struct wire_resp r = {0};
        json_t *body;

        if (f->change_body) {
            const char *headers[] = {
                "Content-Type: application/x-amz-json-1.1",
                "X-Amz-Target: AWSCognitoIdentityProviderService.AdminGetUser",
                "X-Amz-Content-Sha256: "
                "0000000000000000000000000000000000000000000000000000000000000000",
                NULL};

            signed_post(&f->signer, "cognito-idp", headers, ADMIN_GET_ALICE,
                        &r);
        } else {
            cognito_call(&f->signer, "AdminGetUser", ADMIN_GET_ALICE, &r);
        }
        printf("%s: %ld %s\n", f->name, r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"), f->code);
        body = json_loads(r.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(body, "__type")),
                            f->code);
        assert_non_null(
            strstr(json_string_value(json_object_get(body, "message")),
                   f->message));
        json_decref(body);
        wire_resp_free(&r);
    }
    /* and the log shows kaeri's canonical request for the mismatch */
    assert_true(kaeri_proc_log_contains(&proc, "kaeri's canonical request"));
    /* a good request still works */
    test_signed_request_accepted(NULL);
}

/* AssumeRole for 'role_arn' (encoded) with 'seconds'; fills 'out'. */
static void assume(const char *role_arn, int seconds, struct signer *out,
                   char store[3][512])
{
    struct wire_resp r = {0};
    char form[512];

    snprintf(form, sizeof(form),
             "Action=AssumeRole&Version=2011-06-15&RoleArn=%s"
             "&RoleSessionName=wire-test&DurationSeconds=%d",
             role_arn, seconds);
    sts_call(&admin, form, &r);
    printf("AssumeRole: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    assert_non_null(xml_value(r.body, "AccessKeyId", store[0], 512));
    assert_non_null(xml_value(r.body, "SecretAccessKey", store[1], 512));
    assert_non_null(xml_value(r.body, "SessionToken", store[2], 512));
    assert_int_equal(strncmp(store[0], "ASIA", 4), 0);
    *out = (struct signer){store[0], store[1], store[2], 0, NULL};
    wire_resp_free(&r);
}

static void test_assume_role_then_call(void **state)
{
    char store[3][512], arn[256];
    struct signer admins, users;
    char store2[3][512];
    struct wire_resp r = {0};

    (void)state;
    assume(ROLE_ADMINS, 900, &admins, store);
    sts_call(&admins, "Action=GetCallerIdentity&Version=2011-06-15", &r);
    assert_int_equal(r.status, 200);
    xml_value(r.body, "Arn", arn, sizeof(arn));
    assert_string_equal(
        arn, "arn:aws:sts::123456789012:assumed-role/kaeri-chat-admins/"
             "wire-test");
    wire_resp_free(&r);

    /* the admins role may read users; the users role is denied */
    cognito_call(&admins, "AdminGetUser", ADMIN_GET_ALICE, &r);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
    assume(ROLE_USERS, 900, &users, store2);
    cognito_call(&users, "AdminGetUser", ADMIN_GET_ALICE, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "AccessDeniedException");
    assert_non_null(strstr(r.body, "assumed-role/kaeri-chat-users/wire-test"));
    assert_non_null(strstr(r.body, "explicit deny"));
    wire_resp_free(&r);

    /* a wrong session token is unknown */
    cognito_call(&(struct signer){store[0], store[1], "bm9wZQ==", 0, NULL},
                 "AdminGetUser", ADMIN_GET_ALICE, &r);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "UnrecognizedClientException");
    wire_resp_free(&r);

    /* past the expiry by kaeri's clock, signed at kaeri's time */
    {
        const char advance[] = "{\"advanceSeconds\": 901}";
        const char *json[] = {"Content-Type: application/json", NULL};
        char url[256];

        snprintf(url, sizeof(url), "%s/_kaeri/clock", proc.http);
        assert_int_equal(wire_request("POST", url, json, advance,
                                      strlen(advance), NULL, NULL, &r),
                         0);
        wire_resp_free(&r);
        clock_shifted = true;
    }
    cognito_call(&admins, "AdminGetUser", ADMIN_GET_ALICE, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "ExpiredTokenException");
    wire_resp_free(&r);
    sts_call(&admins, "Action=GetCallerIdentity&Version=2011-06-15", &r);
    assert_non_null(strstr(r.body, "<Code>ExpiredToken</Code>"));
    wire_resp_free(&r);
    /* long-term keys still work at the shifted time */
    sts_call(&admin, "Action=GetCallerIdentity&Version=2011-06-15", &r);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
}

static void test_assume_role_refusals(void **state)
{
    static const struct {
        const char *form;
        int status;
        const char *code;
    } cases[] = {
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1"
         "23456789012%3Arole%2Fno-such-role&RoleSessionName=s1",
         403, "AccessDenied"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1"
         "23456789012%3Arole%2Fbedrock-stream-response-role"
         "&RoleSessionName=s1",
         403, "AccessDenied"}, /* trusts lambda.amazonaws.com only */
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE_ADMINS
         "&RoleSessionName=s1&DurationSeconds=7200",
         400, "ValidationError"}, /* over MaxSessionDuration */
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE_ADMINS
         "&RoleSessionName=bad%20name",
         400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleSessionName=s1", 400,
         "ValidationError"},
        {"Action=NoSuchAction&Version=2011-06-15", 400, "InvalidAction"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wire_resp r = {0};
        char code[128];

        sts_call(&admin, cases[i].form, &r);
        printf("case %zu: %ld %s\n", i, r.status, r.body);
        assert_int_equal(r.status, cases[i].status);
        assert_non_null(xml_value(r.body, "Code", code, sizeof(code)));
        assert_string_equal(code, cases[i].code);
        assert_non_null(strstr(r.body, "<RequestId>"));
        wire_resp_free(&r);
    }
}

/* USER_PASSWORD_AUTH; the ID token, newly allocated. */
static char *sign_in(const char *user, const char *password)
{
    struct wire_resp r = {0};
    json_t *auth = NULL;
    char *body, *token;

    body = wire_json_dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                          "USER_PASSWORD_AUTH", "ClientId", WEB,
                          "AuthParameters", "USERNAME", user, "PASSWORD",
                          password);
    assert_int_equal(wire_json_call(proc.http,
                                    "AWSCognitoIdentityProviderService."
                                    "InitiateAuth",
                                    body, NULL, NULL, &r, &auth),
                     0);
    assert_int_equal(r.status, 200);
    token = strdup(wire_json_str(auth, "AuthenticationResult.IdToken"));
    free(body);
    wire_resp_free(&r);
    json_decref(auth);
    return token;
}

/* Percent-encode everything but unreserved characters. */
static void form_encode(const char *s, char *out, size_t n)
{
    size_t o = 0;

    for (; *s && o + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || strchr("-_.~", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
    }
    out[o] = '\0';
}

/*
 * The seed case: a user of a Cognito group reads cognito:preferred_role
 * from the ID token, assumes it with that token, and the credentials pass
 * or fail as the role's policy says (admins may read users, users may not).
 */
static void test_group_role_from_the_token(void **state)
{
    static const struct {
        const char *user, *password;
        long admin_get_user_status;
    } users[] = {
        {"alice", "Alice#Passw0rd", 200}, /* admins: precedence 0 */
        {"bob", "Bob#Passw0rd1", 400},    /* users only */
    };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        char *token = sign_in(users[i].user, users[i].password);
        struct jwt jwt = {0};
        const char *role;
        char role_enc[512], form[8192], store[3][512], url[256];
        const char *ct[] = {"Content-Type: application/x-www-form-urlencoded",
                            NULL};
        struct wire_resp r = {0};
        struct signer creds;

        assert_int_equal(jwt_decode(token, strlen(token), &jwt, NULL),
                         KAERI_OK);
        role = json_string_value(
            json_object_get(jwt.claims, "cognito:preferred_role"));
        assert_non_null(role);
        form_encode(role, role_enc, sizeof(role_enc));
        snprintf(form, sizeof(form),
                 "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                 "&RoleArn=%s&RoleSessionName=%s&WebIdentityToken=%s",
                 role_enc, users[i].user, token);
        snprintf(url, sizeof(url), "%s/", proc.http);
        assert_int_equal(wire_request("POST", url, ct, form, strlen(form),
                                      NULL, NULL, &r),
                         0);
        assert_int_equal(r.status, 200);
        xml_value(r.body, "AccessKeyId", store[0], 512);
        xml_value(r.body, "SecretAccessKey", store[1], 512);
        xml_value(r.body, "SessionToken", store[2], 512);
        wire_resp_free(&r);
        creds = (struct signer){store[0], store[1], store[2], 0, NULL};
        cognito_call(&creds, "AdminGetUser", ADMIN_GET_ALICE, &r);
        printf("%s as %s: %ld\n", users[i].user, role, r.status);
        assert_int_equal(r.status, users[i].admin_get_user_status);
        wire_resp_free(&r);
        jwt_release(&jwt);
        free(token);
    }
}

static void test_web_identity(void **state)
{
    struct wire_resp r = {0};
    json_t *auth = NULL;
    char *body, form[8192], store[3][512], arn[256];
    const char *id_token;
    struct signer creds;

    (void)state;
    body = wire_json_dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                          "USER_PASSWORD_AUTH", "ClientId", WEB,
                          "AuthParameters", "USERNAME", "alice", "PASSWORD",
                          "Alice#Passw0rd");
    assert_int_equal(wire_json_call(proc.http,
                                    "AWSCognitoIdentityProviderService."
                                    "InitiateAuth",
                                    body, NULL, NULL, &r, &auth),
                     0);
    free(body);
    wire_resp_free(&r);
    id_token = wire_json_str(auth, "AuthenticationResult.IdToken");
    assert_non_null(id_token);

    /* unsigned, as the SDKs send it */
    snprintf(form, sizeof(form), "%s%s",
             "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
             ROLE_ADMINS "&RoleSessionName=alice&WebIdentityToken=",
             id_token);
    {
        const char *ct[] = {"Content-Type: application/x-www-form-urlencoded",
                            NULL};
        char url[256];

        snprintf(url, sizeof(url), "%s/", proc.http);
        assert_int_equal(wire_request("POST", url, ct, form, strlen(form),
                                      NULL, NULL, &r),
                         0);
    }
    printf("web identity: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<SubjectFromWebIdentityToken>a11ce000-"));
    assert_non_null(strstr(r.body, "<Audience>" WEB "</Audience>"));
    xml_value(r.body, "AccessKeyId", store[0], 512);
    xml_value(r.body, "SecretAccessKey", store[1], 512);
    xml_value(r.body, "SessionToken", store[2], 512);
    wire_resp_free(&r);
    creds = (struct signer){store[0], store[1], store[2], 0, NULL};
    sts_call(&creds, "Action=GetCallerIdentity&Version=2011-06-15", &r);
    assert_int_equal(r.status, 200);
    xml_value(r.body, "Arn", arn, sizeof(arn));
    assert_string_equal(arn, "arn:aws:sts::123456789012:assumed-role/"
                             "kaeri-chat-admins/alice");
    wire_resp_free(&r);

    /* a tampered token is refused */
    form[strlen(form) - 5] ^= 1;
    {
        const char *ct[] = {"Content-Type: application/x-www-form-urlencoded",
                            NULL};
        char url[256];

        snprintf(url, sizeof(url), "%s/", proc.http);
        assert_int_equal(wire_request("POST", url, ct, form, strlen(form),
                                      NULL, NULL, &r),
                         0);
    }
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<Code>InvalidIdentityToken</Code>"));
    wire_resp_free(&r);
    json_decref(auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_request_accepted),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_assume_role_refusals),
        cmocka_unit_test(test_web_identity),
        cmocka_unit_test(test_group_role_from_the_token),
        /* last: it moves kaeri's clock */
        cmocka_unit_test(test_assume_role_then_call),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

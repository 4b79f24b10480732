/*
 * test_svc_events.c - AppSync Events through the router (POST /event with
 * hand-built requests and the stub HTTP transport) and through the stub
 * WebSocket transport (the realtime protocol): every validation error of
 * an HTTP publish, each auth mode (API key with expiry, Cognito ID and
 * access tokens, SigV4 with IAM policies), the onPublish rules, several
 * APIs told apart by Host; on the WebSocket, connect with each mode
 * (header- subprotocol and plain headers), the seed's onSubscribe rule
 * (alice may subscribe to her own channel only), wildcards, publish over
 * the socket, IAM-signed subscribe messages, ka, the limits, every error
 * message; the config's errors; /_kaeri/endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "b64.h"
#include "clock.h"
#include "iam.h"
#include "loop.h"
#include "router.h"
#include "services.h"
#include "sigv4.h"
#include "stub_transport.h"
#include "stub_ws.h"
#include "svc_cognito.h"
#include "svc_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT   "123456789012"
#define REGION    "ap-northeast-1"
#define POOL      "ap-northeast-1_UnitEvents1"
#define CLIENT    "unitevclient0000000000001"
#define PW        "Unit#Passw0rd"
#define ALICE_SUB "a11ce000-0000-4000-8000-000000000001"
#define BOB_SUB   "b0b00000-0000-4000-8000-000000000002"
#define KEY1      "da2-unitkey1000000000000000001"
#define KEY2      "da2-unitkey2000000000000000002"
#define EXPIRED   "da2-unitexpired000000000000001"
#define API1      "unitapi1"
#define API2      "unitapi2"
#define HOST1     "Host: 127.0.0.1:4581"
#define HOST2     "Host: " API2 ".appsync-api.localhost:4581"
#define PUB_KEY   "AKIAUNITPUBLISHER001"
#define PUB_SEC   "unitPublisherSecret000000000000000000001"
#define ADM_KEY   "AKIAUNITADMIN0000001"
#define ADM_SEC   "unitAdminSecret0000000000000000000000001"
#define NS_ARN    "arn:aws:appsync:" REGION ":" ACCOUNT ":apis/*/channelNamespace/"

static const char cognito_text[] =
    "{\"userPools\": [{"
    " \"id\": \"" POOL "\", \"name\": \"unit\","
    " \"keys\": {\"id\": \"keys/pool1-id.pem\","
    "            \"access\": \"keys/pool1-access.pem\"},"
    " \"clients\": [{\"id\": \"" CLIENT "\","
    "   \"explicitAuthFlows\": [\"ALLOW_USER_PASSWORD_AUTH\"]}],"
    " \"users\": ["
    "  {\"username\": \"alice\", \"password\": \"" PW "\","
    "   \"sub\": \"" ALICE_SUB "\"},"
    "  {\"username\": \"bob\", \"password\": \"" PW "\","
    "   \"sub\": \"" BOB_SUB "\"}]}]}";

/* The seed's Lambda role, as a user; and an administrator. */
static const char iam_text[] =
    "{\"users\": ["
    " {\"name\": \"publisher\", \"accessKeys\": [{\"accessKeyId\": \"" PUB_KEY
    "\", \"secretAccessKey\": \"" PUB_SEC "\"}],"
    "  \"policies\": {\"p\": {\"Version\": \"2012-10-17\", \"Statement\": ["
    "   {\"Effect\": \"Allow\", \"Action\": \"appsync:EventPublish\","
    "    \"Resource\": \"" NS_ARN "bedrock-stream-response\"},"
    "   {\"Effect\": \"Allow\", \"Action\": \"appsync:EventConnect\","
    "    \"Resource\": \"arn:aws:appsync:" REGION ":" ACCOUNT ":apis/*\"}]}}},"
    " {\"name\": \"admin\", \"accessKeys\": [{\"accessKeyId\": \"" ADM_KEY
    "\", \"secretAccessKey\": \"" ADM_SEC "\"}],"
    "  \"policies\": {\"a\": {\"Version\": \"2012-10-17\", \"Statement\": ["
    "   {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]}}}]}";

static const char events_text[] =
    "{\"keepAliveSeconds\": 1, \"apis\": ["
    " {\"id\": \"" API1 "\", \"name\": \"one\","
    "  \"apiKeys\": [{\"key\": \"" KEY1
    "\", \"expires\": \"2099-12-31T00:00:00Z\"},"
    "               {\"key\": \"" EXPIRED
    "\", \"expires\": \"2001-01-01T00:00:00Z\"}],"
    "  \"authProviders\": {\"cognito\": {\"userPool\": \"" POOL "\"}},"
    "  \"connectionAuthModes\": [\"AMAZON_COGNITO_USER_POOLS\", \"AWS_IAM\","
    "                           {\"authType\": \"API_KEY\"}],"
    "  \"defaultPublishAuthModes\": [\"AWS_IAM\"],"
    "  \"defaultSubscribeAuthModes\": [\"AMAZON_COGNITO_USER_POOLS\"],"
    "  \"limits\": {\"eventBytes\": 1000},"
    "  \"namespaces\": ["
    "   {\"name\": \"bedrock-stream-response\","
    "    \"onSubscribe\": [{\"unless\": {\"pathStartsWith\":"
    "      \"/bedrock-stream-response/${identity.sub}\"},"
    "      \"then\": \"unauthorized\"}]},"
    "   {\"name\": \"default\", \"publishAuthModes\": [\"API_KEY\"],"
    "    \"subscribeAuthModes\": [\"API_KEY\"]},"
    "   {\"name\": \"mixed\","
    "    \"publishAuthModes\": [\"API_KEY\", \"AMAZON_COGNITO_USER_POOLS\"],"
    "    \"subscribeAuthModes\": [\"AWS_IAM\", \"API_KEY\"]},"
    "   {\"name\": \"iamonly\"},"
    "   {\"name\": \"rules\", \"publishAuthModes\": [\"API_KEY\"],"
    "    \"subscribeAuthModes\": [\"API_KEY\"],"
    "    \"onPublish\": ["
    "     {\"when\": {\"payload\": \"secret\", \"exists\": true},"
    "      \"then\": \"drop\"},"
    "     {\"when\": {\"payload\": \"bad\", \"exists\": true},"
    "      \"then\": {\"eventError\": \"bad event\"}},"
    "     {\"when\": {\"payload\": \"deny\", \"exists\": true},"
    "      \"then\": \"unauthorized\"},"
    "     {\"when\": {\"payload\": \"fail\", \"exists\": true},"
    "      \"then\": {\"error\": \"handler says no\"}}]}]},"
    " {\"id\": \"" API2 "\","
    "  \"apiKeys\": [{\"key\": \"" KEY2 "\"}],"
    "  \"connectionAuthModes\": [\"API_KEY\"],"
    "  \"defaultPublishAuthModes\": [\"API_KEY\"],"
    "  \"defaultSubscribeAuthModes\": [\"API_KEY\"],"
    "  \"limits\": {\"subscriptionsPerConnection\": 2,"
    "             \"connectionMaxSeconds\": 2},"
    "  \"namespaces\": [{\"name\": \"default\"}]}]}";

static char state_dir[] = "/tmp/kaeri-unit-events-XXXXXX";
static struct loop *loop;
static char *alice_access, *alice_id, *bob_access;

static struct kaeri_env env = {
    .region = REGION,
    .account = ACCOUNT,
    .http_url = "http://127.0.0.1:4580",
    .events_url = "https://127.0.0.1:4581",
    .state_dir = state_dir,
    .config_dir = "fixtures",
};

static char *sign_in(const char *user, bool access);

static int setup(void **state)
{
    json_t *iam = json_loads(iam_text, 0, NULL);
    json_t *cognito = json_loads(cognito_text, 0, NULL);
    json_t *events = json_loads(events_text, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    (void)state;
    assert_non_null(iam);
    assert_non_null(cognito);
    assert_non_null(events);
    assert_non_null(mkdtemp(state_dir));
    loop = loop_new();
    env.loop = loop;
    rc = iam_init(iam, ACCOUNT, REGION, &err);
    if (!rc)
        rc = svc_cognito.init(cognito, &env, &err);
    if (!rc)
        rc = svc_events.init(events, &env, &err);
    if (rc)
        fprintf(stderr, "init: %s: %s\n", err.where, err.text);
    json_decref(iam);
    json_decref(cognito);
    json_decref(events);
    if (rc)
        return -1;
    alice_access = sign_in("alice", true);
    alice_id = sign_in("alice", false);
    bob_access = sign_in("bob", true);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    svc_events.release();
    svc_cognito.release();
    iam_release();
    loop_free(loop);
    free(alice_access);
    free(alice_id);
    free(bob_access);
    clock_reset();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- HTTP --------------------------------------------------------------- */

/* Send a request through the router; the reply body (new ref). */
static json_t *http_call(const char *method, const char *path,
                         const char *const headers[], const char *body,
                         int *status)
{
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, method, path, headers, body);
    json_t *out;

    router_dispatch(req);
    assert_int_equal(stub.replies, 1);
    *status = req->status;
    out = stub_reply_json(req);
    if (!out)
        out = json_object();
    if (req->status != 200) {
        const json_t *e = json_array_get(json_object_get(out, "errors"), 0);

        assert_non_null(e);
        assert_string_equal(stub_reply_header(req, "x-amzn-ErrorType"),
                            json_string_value(json_object_get(e, "errorType")));
    }
    assert_string_equal(stub_reply_header(req, "Access-Control-Allow-Origin"),
                        "*");
    http_req_free(req);
    return out;
}

static char *sign_in(const char *user, bool access)
{
    json_t *body = json_pack(
        "{s:s, s:s, s:{s:s, s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
        "ClientId", CLIENT, "AuthParameters", "USERNAME", user, "PASSWORD", PW);
    char *text = json_dumps(body, JSON_COMPACT);
    const char *headers[] = {
        "X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth",
        "Content-Type: application/x-amz-json-1.1", NULL};
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "POST", "/", headers, text);
    json_t *out;
    char *token;

    router_dispatch(req);
    assert_int_equal(req->status, 200);
    out = stub_reply_json(req);
    token = strdup(json_string_value(
        json_object_get(json_object_get(out, "AuthenticationResult"),
                        access ? "AccessToken" : "IdToken")));
    http_req_free(req);
    json_decref(out);
    json_decref(body);
    free(text);
    return token;
}

static const char *error_type(const json_t *reply)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(reply, "errors"), 0), "errorType"));
}

static const char *error_message(const json_t *reply)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(reply, "errors"), 0), "message"));
}

struct publish_case {
    const char *name;
    const char *host;
    const char *auth; /* a header line, or NULL */
    const char *body;
    int status;
    const char *error_type;    /* NULL for 200 */
    const char *message;       /* NULL: not checked; "": absent */
    size_t successful, failed; /* for 200 */
};

#define XKEY1 "x-api-key: " KEY1
#define EV1   "\"events\": [\"{\\\"a\\\":1}\"]"
#define DEF   "{\"channel\": \"/default/x\", " EV1 "}"

static const struct publish_case publish_cases[] = {
    {"api key", HOST1, XKEY1, DEF, 200, NULL, NULL, 1, 0},
    {"no leading slash", HOST1, XKEY1, "{\"channel\": \"default/x\", " EV1 "}",
     200, NULL, NULL, 1, 0},
    {"five events of each JSON kind", HOST1, XKEY1,
     "{\"channel\": \"/default/x/y/z\", \"events\": [\"{}\", \"[1]\", "
     "\"\\\"s\\\"\", \"42\", \"null\"]}",
     200, NULL, NULL, 5, 0},
    {"extra members ignored", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", " EV1 ", \"other\": 1}", 200, NULL, NULL, 1,
     0},
    {"no credentials", HOST1, NULL, DEF, 401, "UnauthorizedException",
     "You are not authorized to make this call.", 0, 0},
    {"bad api key", HOST1, "x-api-key: da2-nope", DEF, 401,
     "UnauthorizedException", "You are not authorized to make this call.", 0,
     0},
    {"expired api key", HOST1, "x-api-key: " EXPIRED, DEF, 401,
     "UnauthorizedException", NULL, 0, 0},
    {"key of another api", HOST2, XKEY1, DEF, 401, "UnauthorizedException",
     NULL, 0, 0},
    {"api by host", HOST2, "x-api-key: " KEY2, DEF, 200, NULL, NULL, 1, 0},
    {"api key where IAM is wanted", HOST1, XKEY1,
     "{\"channel\": \"/bedrock-stream-response/a/b\", " EV1 "}", 401,
     "UnauthorizedException", NULL, 0, 0},
    {"unknown namespace", HOST1, XKEY1, "{\"channel\": \"/nosuch/x\", " EV1 "}",
     401, "UnauthorizedException", "", 0, 0},
    {"wildcard channel", HOST1, XKEY1, "{\"channel\": \"/default/*\", " EV1 "}",
     400, "BadRequestException", "Invalid Channel Format", 0, 0},
    {"empty segment", HOST1, XKEY1, "{\"channel\": \"/default//x\", " EV1 "}",
     400, "BadRequestException", "Invalid Channel Format", 0, 0},
    {"six segments", HOST1, XKEY1,
     "{\"channel\": \"/default/a/b/c/d/e\", " EV1 "}", 400,
     "BadRequestException", "Invalid Channel Format", 0, 0},
    {"bad characters", HOST1, XKEY1, "{\"channel\": \"/default/a_b\", " EV1 "}",
     400, "BadRequestException", "Invalid Channel Format", 0, 0},
    {"channel not a string", HOST1, XKEY1, "{\"channel\": 5, " EV1 "}", 400,
     "BadRequestException", "Invalid Channel Format", 0, 0},
    {"no channel", HOST1, XKEY1, "{" EV1 "}", 400, "BadRequestException",
     "Invalid Channel Format", 0, 0},
    {"not JSON", HOST1, XKEY1, "{\"channel\": ", 400, "BadRequestException",
     NULL, 0, 0},
    {"JSON array", HOST1, XKEY1, "[]", 400, "BadRequestException", NULL, 0, 0},
    {"no events", HOST1, XKEY1, "{\"channel\": \"/default/x\"}", 400,
     "BadRequestException", NULL, 0, 0},
    {"zero events", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", \"events\": []}", 400,
     "BadRequestException", NULL, 0, 0},
    {"six events", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", \"events\": [\"1\", \"2\", \"3\", \"4\","
     " \"5\", \"6\"]}",
     400, "BadRequestException", "Input exceeded 5 event limit", 0, 0},
    {"event not a string", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", \"events\": [{\"a\": 1}]}", 400,
     "BadRequestException", NULL, 0, 0},
    {"event not JSON", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", \"events\": [\"hello\"]}", 400,
     "BadRequestException", NULL, 0, 0},
    {"one event too big", HOST1, XKEY1,
     "{\"channel\": \"/default/x\", \"events\": [\"1\", \"\\\""
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "\\\"\"]}",
     200, NULL, NULL, 1, 1},
    {"onPublish keeps", HOST1, XKEY1,
     "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"ok\\\":1}\"]}", 200, NULL,
     NULL, 1, 0},
    {"onPublish drops: still successful", HOST1, XKEY1,
     "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"secret\\\":1}\"]}", 200,
     NULL, NULL, 1, 0},
    {"onPublish eventError", HOST1, XKEY1,
     "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"ok\\\":1}\","
     " \"{\\\"bad\\\":1}\"]}",
     200, NULL, NULL, 1, 1},
    {"onPublish unauthorized", HOST1, XKEY1,
     "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"ok\\\":1}\","
     " \"{\\\"deny\\\":1}\"]}",
     401, "UnauthorizedException", NULL, 0, 0},
    {"onPublish error", HOST1, XKEY1,
     "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"fail\\\":1}\"]}", 400,
     "BadRequestException", "handler says no", 0, 0},
};

static void test_publish_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(publish_cases) / sizeof(publish_cases[0]);
         i++) {
        const struct publish_case *c = &publish_cases[i];
        const char *headers[] = {c->host, "Content-Type: application/json",
                                 c->auth, NULL};
        int status;
        json_t *out = http_call("POST", "/event", headers, c->body, &status);

        if (status != c->status)
            fail_msg("%s: status %d, want %d", c->name, status, c->status);
        if (c->error_type) {
            assert_string_equal(error_type(out), c->error_type);
            if (c->message && !*c->message)
                assert_null(error_message(out));
            else if (c->message)
                assert_string_equal(error_message(out), c->message);
        } else {
            json_t *ok = json_object_get(out, "successful");

            if (json_array_size(ok) != c->successful ||
                json_array_size(json_object_get(out, "failed")) != c->failed)
                fail_msg("%s: %zu successful, %zu failed", c->name,
                         json_array_size(ok),
                         json_array_size(json_object_get(out, "failed")));
            for (size_t k = 0; k < json_array_size(ok); k++) {
                const json_t *e = json_array_get(ok, k);

                assert_int_equal(
                    strlen(json_string_value(json_object_get(e, "identifier"))),
                    36);
                assert_true(json_is_integer(json_object_get(e, "index")));
            }
        }
        json_decref(out);
    }
}

/* The failed entry names the index, a code and the handler's message. */
static void test_publish_failed_entry(void **state)
{
    const char *headers[] = {HOST1, XKEY1, NULL};
    int status;
    json_t *out = http_call(
        "POST", "/event", headers,
        "{\"channel\": \"/rules/x\", \"events\": [\"{\\\"bad\\\":1}\","
        " \"{\\\"ok\\\":1}\"]}",
        &status);
    const json_t *f = json_array_get(json_object_get(out, "failed"), 0);
    const json_t *s = json_array_get(json_object_get(out, "successful"), 0);

    (void)state;
    assert_int_equal(status, 200);
    assert_int_equal(json_integer_value(json_object_get(f, "index")), 0);
    assert_int_equal(json_integer_value(json_object_get(f, "code")), 400);
    assert_string_equal(json_string_value(json_object_get(f, "message")),
                        "bad event");
    assert_int_equal(json_integer_value(json_object_get(s, "index")), 1);
    json_decref(out);
}

/* Cognito tokens, ID or access, on a namespace that takes them. */
static void test_publish_cognito(void **state)
{
    char auth[4096];
    const char *headers[] = {HOST1, auth, NULL};
    int status;
    json_t *out;

    (void)state;
    snprintf(auth, sizeof(auth), "Authorization: %s", alice_access);
    out = http_call("POST", "/event", headers,
                    "{\"channel\": \"/mixed/x\", " EV1 "}", &status);
    assert_int_equal(status, 200);
    json_decref(out);
    snprintf(auth, sizeof(auth), "Authorization: %s", alice_id);
    out = http_call("POST", "/event", headers,
                    "{\"channel\": \"/mixed/x\", " EV1 "}", &status);
    assert_int_equal(status, 200);
    json_decref(out);
    /* not where only IAM may publish */
    out = http_call("POST", "/event", headers,
                    "{\"channel\": \"/bedrock-stream-response/x\", " EV1 "}",
                    &status);
    assert_int_equal(status, 401);
    json_decref(out);
    /* a forged token */
    snprintf(auth, sizeof(auth), "Authorization: eyJhbGciOiJub25lIn0.e30.");
    out = http_call("POST", "/event", headers,
                    "{\"channel\": \"/mixed/x\", " EV1 "}", &status);
    assert_int_equal(status, 401);
    assert_string_equal(error_type(out), "UnauthorizedException");
    json_decref(out);
    /* expired, by kaeri's clock */
    snprintf(auth, sizeof(auth), "Authorization: %s", alice_access);
    clock_advance(2 * 3600);
    out = http_call("POST", "/event", headers,
                    "{\"channel\": \"/mixed/x\", " EV1 "}", &status);
    clock_reset();
    assert_int_equal(status, 401);
    assert_string_equal(error_message(out), "Token has expired.");
    json_decref(out);
}

/* ---- SigV4 -------------------------------------------------------------- */

/*
 * Sign a POST /event for 'host' and 'body' with the given key; fills
 * 'lines' with "Name: value" header lines (NULL-ended) for stub_req().
 * Returns the Authorization value (caller frees).
 */
static char *sign_post(const char *host, const char *path, const char *body,
                       const char *akid, const char *secret, char amz_date[17])
{
    struct http_header h[3] = {
        {(char *)"content-type", (char *)"application/json"},
        {(char *)"host", (char *)host},
        {(char *)"x-amz-date", amz_date},
    };
    struct sigv4_request sreq = {
        .method = "POST",
        .path = path,
        .query = "",
        .headers = h,
        .header_count = 3,
        .body = body,
        .body_len = strlen(body),
    };
    char *authz = NULL;

    assert_int_equal(sigv4_format_amz_date(clock_now_s(), amz_date), KAERI_OK);
    assert_int_equal(sigv4_sign(&sreq, akid, secret, NULL, REGION, "appsync",
                                amz_date, &authz, NULL),
                     KAERI_OK);
    return authz;
}

static json_t *iam_publish(const char *akid, const char *secret,
                           const char *body, bool tamper, int *status)
{
    char amz_date[17], date_line[64], auth_line[1024];
    char *authz =
        sign_post("127.0.0.1:4581", "/event", body, akid, secret, amz_date);
    const char *headers[] = {HOST1, "Content-Type: application/json", date_line,
                             auth_line, NULL};
    json_t *out;
    char *sent = strdup(body);

    snprintf(date_line, sizeof(date_line), "X-Amz-Date: %s", amz_date);
    snprintf(auth_line, sizeof(auth_line), "Authorization: %s", authz);
    if (tamper) /* still valid JSON, another channel */
        strstr(sent, "/s1")[2] = '2';
    out = http_call("POST", "/event", headers, sent, status);
    free(authz);
    free(sent);
    return out;
}

static void test_publish_iam(void **state)
{
    static const char seed_body[] =
        "{\"channel\": \"bedrock-stream-response/" ALICE_SUB "/s1\", "
        "\"events\": [\"{\\\"message\\\": \\\"hi\\\"}\"]}";
    int status;
    json_t *out;

    (void)state;
    out = iam_publish(PUB_KEY, PUB_SEC, seed_body, false, &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(out, "successful")), 1);
    json_decref(out);
    /* the role may publish to its namespace only */
    out = iam_publish(PUB_KEY, PUB_SEC,
                      "{\"channel\": \"/iamonly/x\", " EV1 "}", false, &status);
    assert_int_equal(status, 401);
    assert_non_null(strstr(error_message(out), "appsync:EventPublish"));
    json_decref(out);
    out = iam_publish(ADM_KEY, ADM_SEC,
                      "{\"channel\": \"/iamonly/x\", " EV1 "}", false, &status);
    assert_int_equal(status, 200);
    json_decref(out);
    /* a body changed after signing */
    out = iam_publish(PUB_KEY, PUB_SEC, seed_body, true, &status);
    assert_int_equal(status, 403);
    assert_string_equal(error_type(out), "InvalidSignatureException");
    json_decref(out);
    /* an unknown key */
    out =
        iam_publish("AKIANOSUCHKEY0000001", PUB_SEC, seed_body, false, &status);
    assert_int_equal(status, 403);
    assert_string_equal(error_type(out), "UnrecognizedClientException");
    json_decref(out);
}

/* CORS preflight; other methods on /event are not claimed. */
static void test_preflight(void **state)
{
    const char *headers[] = {HOST1, "Origin: http://localhost:3000",
                             "Access-Control-Request-Method: POST",
                             "Access-Control-Request-Headers: x-api-key", NULL};
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "OPTIONS", "/event", headers, NULL);

    (void)state;
    router_dispatch(req);
    assert_int_equal(req->status, 200);
    assert_string_equal(stub_reply_header(req, "Access-Control-Allow-Headers"),
                        "x-api-key");
    http_req_free(req);
    req = stub_req(&stub, "GET", "/event", headers, NULL);
    router_dispatch(req);
    assert_int_equal(req->status, 403);
    http_req_free(req);
}

/* ---- WebSocket ---------------------------------------------------------- */

static const struct ws_service *ws(void)
{
    return svc_events.websocket;
}

static uint64_t next_conn_id = 100;

/* Open a connection whose header- subprotocol carries 'map'. */
static void ws_open_map(struct stub_ws *s, const char *host_line, json_t *map)
{
    char *text = json_dumps(map, JSON_COMPACT);
    char *b64 = b64url_encode(text, strlen(text));
    char *proto = malloc(strlen(b64) + 80);
    const char *headers[] = {host_line, proto, NULL};

    sprintf(proto, "Sec-WebSocket-Protocol: aws-appsync-event-ws, header-%s",
            b64);
    stub_ws_open(s, ws(), next_conn_id++, headers);
    free(text);
    free(b64);
    free(proto);
    json_decref(map);
}

static json_t *key_map(const char *key)
{
    return json_pack("{s:s, s:s, s:s}", "host", "127.0.0.1:4581", "x-amz-date",
                     "20250101T000000Z", "x-api-key", key);
}

static json_t *token_map(const char *token)
{
    return json_pack("{s:s, s:s}", "Authorization", token, "host",
                     "127.0.0.1:4581");
}

/* The next frame must be of 'type' (returned, new ref). */
static json_t *expect(struct stub_ws *s, const char *type)
{
    json_t *f = stub_ws_next(s);

    if (!f)
        fail_msg("no frame, expected %s", type);
    if (strcmp(json_string_value(json_object_get(f, "type")), type)) {
        char *text = json_dumps(f, JSON_COMPACT);

        fail_msg("got %s, expected %s", text, type);
    }
    return f;
}

static void expect_type(struct stub_ws *s, const char *type)
{
    json_decref(expect(s, type));
}

/* 'type' with errors[0].errorType 'error'. */
static void expect_error(struct stub_ws *s, const char *type, const char *error)
{
    json_t *f = expect(s, type);

    assert_string_equal(error_type(f), error);
    json_decref(f);
}

static void init(struct stub_ws *s)
{
    json_t *ack;

    stub_ws_send(s, "{\"type\":\"connection_init\"}");
    ack = expect(s, "connection_ack");
    assert_int_equal(
        json_integer_value(json_object_get(ack, "connectionTimeoutMs")),
        300000);
    json_decref(ack);
}

static void ws_subscribe(struct stub_ws *s, const char *id, const char *channel,
                         json_t *auth)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "type", "subscribe", "id", id,
                          "channel", channel);
    char *text;

    if (auth)
        json_object_set_new(m, "authorization", auth);
    text = json_dumps(m, JSON_COMPACT);
    stub_ws_send(s, text);
    free(text);
    json_decref(m);
}

static void close_ws(struct stub_ws *s)
{
    stub_ws_finish(s);
}

/* Connect with each mode: API key, Cognito access and ID tokens. */
static void test_ws_connect_modes(void **state)
{
    struct stub_ws s;
    const char *plain[] = {HOST1, "x-api-key: " KEY1,
                           "Sec-WebSocket-Protocol: aws-appsync-event-ws",
                           NULL};

    (void)state;
    ws_open_map(&s, HOST1, key_map(KEY1));
    init(&s);
    close_ws(&s);
    ws_open_map(&s, HOST1, token_map(alice_access));
    init(&s);
    close_ws(&s);
    ws_open_map(&s, HOST1, token_map(alice_id));
    init(&s);
    close_ws(&s);
    /* the Kotlin client's form: plain upgrade headers */
    stub_ws_open(&s, ws(), next_conn_id++, plain);
    init(&s);
    close_ws(&s);
}

/* A refused connection answers its first message with connection_error
 * and is closed; nothing else happens on it. */
static void test_ws_connect_refused(void **state)
{
    static const char *const bad_protos[] = {
        "Sec-WebSocket-Protocol: aws-appsync-event-ws, header-!!!",
        "Sec-WebSocket-Protocol: aws-appsync-event-ws",
    };
    struct stub_ws s;

    (void)state;
    ws_open_map(&s, HOST1, key_map("da2-wrong"));
    stub_ws_send(&s, "{\"type\":\"connection_init\"}");
    expect_error(&s, "connection_error", "UnauthorizedException");
    assert_true(s.closing);
    stub_ws_send(&s, "{\"type\":\"connection_init\"}");
    assert_int_equal(stub_ws_pending(&s), 0);
    close_ws(&s);
    ws_open_map(&s, HOST1, key_map(EXPIRED));
    stub_ws_send(
        &s, "{\"type\":\"subscribe\",\"id\":\"x\",\"channel\":\"/default/a\"}");
    expect_error(&s, "connection_error", "UnauthorizedException");
    close_ws(&s);
    for (size_t i = 0; i < 2; i++) {
        const char *headers[] = {HOST1, bad_protos[i], NULL};

        stub_ws_open(&s, ws(), next_conn_id++, headers);
        stub_ws_send(&s, "{\"type\":\"connection_init\"}");
        expect_error(&s, "connection_error", "UnauthorizedException");
        close_ws(&s);
    }
    /* api2 takes API keys only, and only its own */
    ws_open_map(&s, HOST2, key_map(KEY1));
    stub_ws_send(&s, "{\"type\":\"connection_init\"}");
    expect_error(&s, "connection_error", "UnauthorizedException");
    close_ws(&s);
}

/*
 * The seed: alice may subscribe to her own channel, not to bob's; the
 * Lambda's IAM publish reaches her as a data frame carrying the event
 * string as it was published.
 */
static void test_ws_seed_rule(void **state)
{
    static const char body[] =
        "{\"channel\": \"bedrock-stream-response/" ALICE_SUB "/s1\", "
        "\"events\": [\"{\\\"message\\\":\\\"Hello\\\",\\\"seq\\\":0}\"]}";
    struct stub_ws s;
    json_t *f;
    int status;

    (void)state;
    ws_open_map(&s, HOST1, token_map(alice_access));
    init(&s);
    ws_subscribe(&s, "own", "/bedrock-stream-response/" ALICE_SUB "/s1",
                 token_map(alice_access));
    f = expect(&s, "subscribe_success");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "own");
    json_decref(f);
    ws_subscribe(&s, "bobs", "/bedrock-stream-response/" BOB_SUB "/s1",
                 token_map(alice_access));
    f = expect(&s, "subscribe_error");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "bobs");
    assert_string_equal(error_type(f), "UnauthorizedException");
    json_decref(f);
    /* an API key is not a Cognito identity */
    ws_subscribe(&s, "key", "/bedrock-stream-response/" ALICE_SUB "/s1",
                 key_map(KEY1));
    expect_error(&s, "subscribe_error", "UnauthorizedException");
    /* the whole namespace is not hers either */
    ws_subscribe(&s, "all", "/bedrock-stream-response/*",
                 token_map(alice_access));
    expect_error(&s, "subscribe_error", "UnauthorizedException");
    json_decref(iam_publish(PUB_KEY, PUB_SEC, body, false, &status));
    assert_int_equal(status, 200);
    f = expect(&s, "data");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "own");
    assert_string_equal(json_string_value(json_object_get(f, "event")),
                        "{\"message\":\"Hello\",\"seq\":0}");
    json_decref(f);
    assert_int_equal(stub_ws_pending(&s), 0);
    close_ws(&s);
}

/* Wildcards, publish over the socket, unsubscribe. */
static void test_ws_wildcard_and_publish(void **state)
{
    struct stub_ws s, other;
    json_t *f;
    int status;
    const char *headers[] = {HOST1, XKEY1, NULL};

    (void)state;
    ws_open_map(&s, HOST1, key_map(KEY1));
    ws_open_map(&other, HOST1, key_map(KEY1));
    init(&s);
    ws_subscribe(&s, "w", "default/*", key_map(KEY1));
    expect_type(&s, "subscribe_success");
    ws_subscribe(&s, "e", "/default/a", NULL); /* the connection's key */
    expect_type(&s, "subscribe_success");
    ws_subscribe(&other, "o", "/default/a/b/*", key_map(KEY1));
    expect_type(&other, "subscribe_success");
    /* HTTP publish, deep channel: the wildcards only */
    json_decref(http_call("POST", "/event", headers,
                          "{\"channel\": \"/default/a/b/c\", " EV1 "}",
                          &status));
    assert_int_equal(status, 200);
    f = expect(&s, "data");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "w");
    json_decref(f);
    expect_type(&other, "data");
    /* WebSocket publish: two events, each to both of s's subscriptions */
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p1\","
                     "\"channel\":\"/default/a\","
                     "\"events\":[\"1\",\"2\"],"
                     "\"authorization\":{\"x-api-key\":\"" KEY1 "\"}}");
    f = expect(&s, "data");
    assert_string_equal(json_string_value(json_object_get(f, "event")), "1");
    json_decref(f);
    expect_type(&s, "data");
    f = expect(&s, "data");
    assert_string_equal(json_string_value(json_object_get(f, "event")), "2");
    json_decref(f);
    expect_type(&s, "data");
    f = expect(&s, "publish_success");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "p1");
    assert_int_equal(json_array_size(json_object_get(f, "successful")), 2);
    assert_int_equal(json_array_size(json_object_get(f, "failed")), 0);
    json_decref(f);
    assert_int_equal(stub_ws_pending(&other), 0);
    /* unsubscribe, then only the other subscription gets data */
    stub_ws_send(&s, "{\"type\":\"unsubscribe\",\"id\":\"w\"}");
    expect_type(&s, "unsubscribe_success");
    stub_ws_send(&s, "{\"type\":\"unsubscribe\",\"id\":\"w\"}");
    expect_error(&s, "unsubscribe_error", "BadRequestException");
    json_decref(http_call("POST", "/event", headers,
                          "{\"channel\": \"/default/a\", " EV1 "}", &status));
    f = expect(&s, "data");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "e");
    json_decref(f);
    assert_int_equal(stub_ws_pending(&s), 0);
    close_ws(&s);
    close_ws(&other);
}

/* Every refusal of a message, and the socket stays open. */
static void test_ws_errors(void **state)
{
    struct stub_ws s;
    json_t *f;

    (void)state;
    ws_open_map(&s, HOST1, key_map(KEY1));
    init(&s);
    stub_ws_send(&s, "not json");
    expect_error(&s, "error", "BadRequestException");
    stub_ws_send(&s, "{\"type\":\"start\",\"id\":\"g\"}");
    f = expect(&s, "error");
    assert_string_equal(error_type(f), "UnsupportedOperation");
    assert_string_equal(json_string_value(json_object_get(f, "id")), "g");
    json_decref(f);
    ws_subscribe(&s, "bad", "/default/a/*/b", NULL);
    expect_error(&s, "subscribe_error", "BadRequestException");
    ws_subscribe(&s, "nons", "/nosuch/a", NULL);
    f = expect(&s, "subscribe_error");
    assert_string_equal(error_type(f), "UnauthorizedException");
    assert_null(error_message(f));
    json_decref(f);
    ws_subscribe(&s, "dup", "/default/a", NULL);
    expect_type(&s, "subscribe_success");
    ws_subscribe(&s, "dup", "/default/b", NULL);
    expect_error(&s, "subscribe_error", "BadRequestException");
    /* Cognito-only namespace with the connection's API key */
    ws_subscribe(&s, "cog", "/bedrock-stream-response/x", NULL);
    expect_error(&s, "subscribe_error", "UnauthorizedException");
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p\","
                     "\"channel\":\"/default/a\","
                     "\"events\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]}");
    f = expect(&s, "publish_error");
    assert_string_equal(error_type(f), "InvalidInputError");
    assert_string_equal(error_message(f), "input exceeded 5 event limit");
    json_decref(f);
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p\","
                     "\"channel\":\"/default/*\",\"events\":[\"1\"]}");
    expect_error(&s, "publish_error", "BadRequestException");
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p\","
                     "\"channel\":\"/nosuch/a\",\"events\":[\"1\"]}");
    expect_error(&s, "publish_error", "UnauthorizedException");
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p\","
                     "\"channel\":\"/default/a\",\"events\":[\"1\"],"
                     "\"authorization\":{\"x-api-key\":\"da2-bad\"}}");
    f = expect(&s, "publish_error");
    assert_string_equal(error_message(f),
                        "You are not authorized to make this call.");
    json_decref(f);
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"p\","
                     "\"channel\":\"/default/a\",\"events\":[\"nope\"]}");
    expect_type(&s, "publish_error");
    assert_false(s.closing);
    /* still working: the dup subscription gets a valid publish */
    stub_ws_send(&s, "{\"type\":\"publish\",\"id\":\"q\","
                     "\"channel\":\"/default/a\",\"events\":[\"7\"]}");
    expect_type(&s, "data");
    expect_type(&s, "publish_success");
    close_ws(&s);
}

/*
 * IAM on the socket: a connect map and a subscribe message signed as
 * section 5.3 says (POST /event, bodies "{}" and {"channel":...}).
 */
static json_t *iam_map_at(const char *path, const char *body, const char *akid,
                          const char *secret)
{
    char amz_date[17];
    char *authz =
        sign_post("127.0.0.1:4581", path, body, akid, secret, amz_date);
    /* Amplify adds x-amz-user-agent after signing */
    json_t *map = json_pack("{s:s, s:s, s:s, s:s, s:s}", "content-type",
                            "application/json", "host", "127.0.0.1:4581",
                            "x-amz-date", amz_date, "authorization", authz,
                            "x-amz-user-agent", "aws-amplify/6.0 api/1");

    free(authz);
    return map;
}

static json_t *iam_map(const char *body, const char *akid, const char *secret)
{
    return iam_map_at("/event", body, akid, secret);
}

/* A publish message on 'channel' with events ["1"] signed over 'body'. */
static void ws_publish_iam(struct stub_ws *s, const char *channel,
                           const char *body)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:[s], s:o}", "type", "publish",
                          "id", "pi", "channel", channel, "events", "1",
                          "authorization", iam_map(body, ADM_KEY, ADM_SEC));
    char *text = json_dumps(m, JSON_COMPACT);

    stub_ws_send(s, text);
    free(text);
    json_decref(m);
}

static void test_ws_iam(void **state)
{
    struct stub_ws s;

    (void)state;
    ws_open_map(&s, HOST1, iam_map("{}", PUB_KEY, PUB_SEC));
    init(&s);
    /* subscribe modes of "mixed": IAM or API key; the publisher role has
     * no EventSubscribe, the admin has */
    ws_subscribe(&s, "r", "/mixed/a",
                 iam_map("{\"channel\":\"/mixed/a\"}", PUB_KEY, PUB_SEC));
    expect_error(&s, "subscribe_error", "UnauthorizedException");
    ws_subscribe(&s, "a", "/mixed/a",
                 iam_map("{\"channel\":\"/mixed/a\"}", ADM_KEY, ADM_SEC));
    expect_type(&s, "subscribe_success");
    /* signed for another channel */
    ws_subscribe(&s, "b", "/mixed/b",
                 iam_map("{\"channel\":\"/mixed/a\"}", ADM_KEY, ADM_SEC));
    expect_error(&s, "subscribe_error", "InvalidSignatureException");
    close_ws(&s);
    /* older Amplify: connect signed for /event/connect, publish signed
     * over {"channel"} only; current clients sign the events too */
    ws_open_map(&s, HOST1,
                iam_map_at("/event/connect", "{}", PUB_KEY, PUB_SEC));
    init(&s);
    ws_publish_iam(&s, "/iamonly/a", "{\"channel\":\"/iamonly/a\"}");
    expect_type(&s, "publish_success");
    ws_publish_iam(&s, "/iamonly/a",
                   "{\"channel\":\"/iamonly/a\",\"events\":[\"1\"]}");
    expect_type(&s, "publish_success");
    ws_publish_iam(&s, "/iamonly/a",
                   "{\"channel\":\"/iamonly/b\",\"events\":[\"1\"]}");
    expect_error(&s, "publish_error", "InvalidSignatureException");
    close_ws(&s);
    /* a connect map signed over the wrong body */
    ws_open_map(&s, HOST1, iam_map("{\"x\":1}", PUB_KEY, PUB_SEC));
    stub_ws_send(&s, "{\"type\":\"connection_init\"}");
    expect_error(&s, "connection_error", "InvalidSignatureException");
    close_ws(&s);
}

static void run_ms(int ms)
{
    int64_t end = clock_mono_us() + (int64_t)ms * 1000;

    while (clock_mono_us() < end)
        loop_run_once(loop, 10);
}

/*
 * ka every keepAliveSeconds after the ack; api2's limits: two
 * subscriptions per connection, two seconds of life.
 */
static void test_ws_keepalive_and_limits(void **state)
{
    struct stub_ws s, quiet;
    int ka = 0;
    json_t *f;

    (void)state;
    ws_open_map(&s, HOST2, key_map(KEY2));
    ws_open_map(&quiet, HOST1, key_map(KEY1)); /* no connection_init */
    init(&s);
    ws_subscribe(&s, "1", "/default/a", NULL);
    expect_type(&s, "subscribe_success");
    ws_subscribe(&s, "2", "/default/b", NULL);
    expect_type(&s, "subscribe_success");
    ws_subscribe(&s, "3", "/default/c", NULL);
    f = expect(&s, "subscribe_error");
    assert_string_equal(error_type(f), "MaxSubscriptionsReachedError");
    json_decref(f);
    run_ms(1400);
    while ((f = stub_ws_next(&s))) {
        ka += !strcmp(json_string_value(json_object_get(f, "type")), "ka");
        json_decref(f);
    }
    assert_int_equal(ka, 1);
    assert_false(s.closing);
    run_ms(800);
    assert_true(s.closing); /* connectionMaxSeconds 2 */
    assert_int_equal(s.close_code, 1001);
    assert_int_equal(stub_ws_pending(&quiet), 0); /* no ka before the ack */
    assert_false(quiet.closing);
    close_ws(&s);
    close_ws(&quiet);
}

/* A subscriber that stops reading is closed; the publisher is not slowed. */
static void test_ws_slow_subscriber(void **state)
{
    struct stub_ws slow, fast;
    const char *headers[] = {HOST1, XKEY1, NULL};
    int status;

    (void)state;
    ws_open_map(&slow, HOST1, key_map(KEY1));
    ws_open_map(&fast, HOST1, key_map(KEY1));
    ws_subscribe(&slow, "s", "/default/*", NULL);
    ws_subscribe(&fast, "f", "/default/*", NULL);
    stub_ws_drain(&slow);
    stub_ws_drain(&fast);
    slow.queue_max = 1500;
    for (int i = 0; i < 60; i++) {
        json_decref(http_call("POST", "/event", headers,
                              "{\"channel\": \"/default/x\", " EV1 "}",
                              &status));
        assert_int_equal(status, 200);
        stub_ws_drain(&fast);
    }
    assert_true(slow.closing);
    assert_int_equal(slow.close_code, 1008);
    assert_false(fast.closing);
    assert_int_equal(fast.sent, 61);
    close_ws(&slow);
    close_ws(&fast);
}

/* ---- config and endpoints ----------------------------------------------- */

struct config_case {
    const char *name;
    const char *text;
    const char *where; /* substring of err.where */
};

#define NS_OK "\"namespaces\": [{\"name\": \"default\"}]"
#define MODES                                      \
    "\"connectionAuthModes\": [\"API_KEY\"], "     \
    "\"defaultPublishAuthModes\": [\"API_KEY\"], " \
    "\"defaultSubscribeAuthModes\": [\"API_KEY\"], "
#define KEYS "\"apiKeys\": [{\"key\": \"k\"}], "

static const struct config_case config_cases[] = {
    {"unknown top key", "{\"apiz\": []}", "$.events"},
    {"api not an object", "{\"apis\": [1]}", "$.events.apis[0]"},
    {"no id", "{\"apis\": [{" MODES KEYS NS_OK "}]}", "$.events.apis[0]"},
    {"bad id", "{\"apis\": [{\"id\": \"a-b\", " MODES KEYS NS_OK "}]}",
     "$.events.apis[0]"},
    {"unknown api key",
     "{\"apis\": [{\"id\": \"a\", \"x\": 1, " MODES KEYS NS_OK "}]}",
     "$.events.apis[0].x"},
    {"unknown mode",
     "{\"apis\": [{\"id\": \"a\", " KEYS "\"connectionAuthModes\": [\"KEY\"], "
     "\"defaultPublishAuthModes\": [\"API_KEY\"], "
     "\"defaultSubscribeAuthModes\": [\"API_KEY\"], " NS_OK "}]}",
     "connectionAuthModes[0]"},
    {"lambda mode",
     "{\"apis\": [{\"id\": \"a\", " KEYS
     "\"connectionAuthModes\": [\"AWS_LAMBDA\"], "
     "\"defaultPublishAuthModes\": [\"API_KEY\"], "
     "\"defaultSubscribeAuthModes\": [\"API_KEY\"], " NS_OK "}]}",
     "connectionAuthModes[0]"},
    {"cognito without provider",
     "{\"apis\": [{\"id\": \"a\", " KEYS
     "\"connectionAuthModes\": [\"AMAZON_COGNITO_USER_POOLS\"], "
     "\"defaultPublishAuthModes\": [\"API_KEY\"], "
     "\"defaultSubscribeAuthModes\": [\"API_KEY\"], " NS_OK "}]}",
     "$.events.apis[0]"},
    {"api key mode without keys",
     "{\"apis\": [{\"id\": \"a\", " MODES NS_OK "}]}", "$.events.apis[0]"},
    {"bad expiry",
     "{\"apis\": [{\"id\": \"a\", " MODES
     "\"apiKeys\": [{\"key\": \"k\", \"expires\": \"tomorrow\"}], " NS_OK "}]}",
     "apiKeys[0]"},
    {"bad namespace name",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS
     "\"namespaces\": [{\"name\": \"-x\"}]}]}",
     "namespaces[0]"},
    {"namespace twice",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS
     "\"namespaces\": [{\"name\": \"x\"}, {\"name\": \"x\"}]}]}",
     "namespaces[1]"},
    {"bad rule",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS
     "\"namespaces\": [{\"name\": \"x\", \"onSubscribe\": [{\"then\": "
     "\"keep\"}]}]}]}",
     "onSubscribe"},
    {"bad limit",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS NS_OK
     ", \"limits\": {\"subscriptionsPerConnection\": 0}}]}",
     "limits.subscriptionsPerConnection"},
    {"bad regex",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS NS_OK
     ", \"authProviders\": {\"cognito\": {\"userPool\": \"p\","
     " \"clientIdRegex\": \"(\"}}}]}",
     "authProviders.cognito"},
    {"api twice",
     "{\"apis\": [{\"id\": \"a\", " MODES KEYS NS_OK "}, "
     "{\"id\": \"A\", " MODES KEYS NS_OK "}]}",
     "$.events.apis[1]"},
};

/* Bad configs are refused with the JSON path; the service stays usable. */
static void test_config_errors(void **state)
{
    (void)state;
    svc_events.release();
    for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]);
         i++) {
        const struct config_case *c = &config_cases[i];
        json_t *j = json_loads(c->text, 0, NULL);
        struct kaeri_error err = {0};

        if (!j)
            fail_msg("%s: test config is not JSON", c->name);
        if (svc_events.init(j, &env, &err) == KAERI_OK)
            fail_msg("%s: accepted", c->name);
        if (!strstr(err.where, c->where))
            fail_msg("%s: error at '%s' (%s), want '%s'", c->name, err.where,
                     err.text, c->where);
        json_decref(j);
    }
    {
        json_t *j = json_loads(events_text, 0, NULL);

        assert_int_equal(svc_events.init(j, &env, NULL), KAERI_OK);
        json_decref(j);
    }
}

static void test_describe(void **state)
{
    json_t *e = json_object();
    const json_t *apis, *a, *b;

    (void)state;
    svc_events.describe(e);
    apis = json_object_get(e, "eventApis");
    assert_int_equal(json_array_size(apis), 2);
    a = json_array_get(apis, 0);
    b = json_array_get(apis, 1);
    assert_string_equal(json_string_value(json_object_get(a, "id")), API1);
    assert_string_equal(json_string_value(json_object_get(a, "http")),
                        "https://127.0.0.1:4581/event");
    assert_string_equal(json_string_value(json_object_get(a, "realtime")),
                        "wss://127.0.0.1:4581/event/realtime");
    assert_string_equal(json_string_value(json_object_get(a, "apiKey")), KEY1);
    assert_int_equal(json_array_size(json_object_get(a, "namespaces")), 5);
    assert_string_equal(json_string_value(json_object_get(b, "http")),
                        "https://" API2 ".appsync-api.localhost:4581/event");
    assert_string_equal(json_string_value(json_object_get(b, "realtime")),
                        "wss://" API2
                        ".appsync-realtime-api.localhost:4581/event/realtime");
    json_decref(e);
}

/* The default fixture loads, with the seed's namespace and rule. */
static void test_default_fixture(void **state)
{
    json_t *root = json_load_file("fixtures/default.json", 0, NULL);
    json_t *e = json_object();
    struct kaeri_error err = {0};
    const json_t *api;

    (void)state;
    assert_non_null(root);
    svc_events.release();
    if (svc_events.init(json_object_get(root, "events"), &env, &err))
        fail_msg("default fixture: %s: %s", err.where, err.text);
    svc_events.describe(e);
    api = json_array_get(json_object_get(e, "eventApis"), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(api, "namespaces"), 0)),
                        "bedrock-stream-response");
    json_decref(e);
    json_decref(root);
    svc_events.release();
    root = json_loads(events_text, 0, NULL);
    assert_int_equal(svc_events.init(root, &env, NULL), KAERI_OK);
    json_decref(root);
}

/* Released with connections still open (the transport closes them
 * later): their messages and close are ignored, nothing leaks. */
static void test_release_with_open_connections(void **state)
{
    struct stub_ws s;
    json_t *j;

    (void)state;
    ws_open_map(&s, HOST1, key_map(KEY1));
    init(&s);
    ws_subscribe(&s, "x", "/default/a", NULL);
    expect_type(&s, "subscribe_success");
    svc_events.release();
    stub_ws_send(&s, "{\"type\":\"connection_init\"}");
    assert_int_equal(stub_ws_pending(&s), 0);
    close_ws(&s);
    j = json_loads(events_text, 0, NULL);
    assert_int_equal(svc_events.init(j, &env, NULL), KAERI_OK);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_table),
        cmocka_unit_test(test_publish_failed_entry),
        cmocka_unit_test(test_publish_cognito),
        cmocka_unit_test(test_publish_iam),
        cmocka_unit_test(test_preflight),
        cmocka_unit_test(test_ws_connect_modes),
        cmocka_unit_test(test_ws_connect_refused),
        cmocka_unit_test(test_ws_seed_rule),
        cmocka_unit_test(test_ws_wildcard_and_publish),
        cmocka_unit_test(test_ws_errors),
        cmocka_unit_test(test_ws_iam),
        cmocka_unit_test(test_ws_keepalive_and_limits),
        cmocka_unit_test(test_ws_slow_subscriber),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_default_fixture),
        cmocka_unit_test(test_release_with_open_connections),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

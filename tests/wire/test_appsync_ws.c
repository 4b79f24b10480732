/*
 * test_realtime.c - AppSync Events over the wire, as Amplify does it:
 * WebSocket connect (wss:// trusting kaeri's CA, and ws://) with the
 * auth map in a "header-" subprotocol of several KB, the seed's rule
 * (alice may subscribe to her own channel, not to bob's), wildcards,
 * publish over HTTP (API key; SigV4 signed by libcurl for service
 * appsync) and over the WebSocket, validation errors, keep-alives, many
 * subscribers with nothing lost, and seeded faults that replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kaeri_proc.h"
#include "wire.h"
#include "ws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define API_KEY   "da2-kaeriapikey000000000000001"
#define ALICE_SUB "a11ce000-0000-4000-8000-000000000001"
#define BOB_SUB   "b0b00000-0000-4000-8000-000000000002"
#define ADMIN     "AKIAKAERIADMINKEY001:kaeriAdminSecretKey0000000000000000000001"

static struct kaeri_proc proc;
static struct ws_clients *clients;
static char http_base[160], host[128], ws_plain[200];
static char *alice_token, *bob_token;

/* The access token of 'user' (Amplify sends the access token). */
static char *access_token(const char *user, const char *password)
{
    struct wire_resp r = {0};
    json_t *out = NULL;
    char *body, *token;

    body = wire_json_dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                          "USER_PASSWORD_AUTH", "ClientId",
                          "kaeriwebclientnosecret0001", "AuthParameters",
                          "USERNAME", user, "PASSWORD", password);
    assert_int_equal(wire_json_call(proc.http,
                                    "AWSCognitoIdentityProviderService."
                                    "InitiateAuth",
                                    body, NULL, NULL, &r, &out),
                     0);
    token = strdup(wire_json_str(out, "AuthenticationResult.AccessToken"));
    json_decref(out);
    wire_resp_free(&r);
    free(body);
    return token;
}

static int start(const char *config)
{
    const char *events_host;

    if (kaeri_proc_start(&proc, config, NULL))
        return -1;
    snprintf(http_base, sizeof(http_base), "%.*s",
             (int)(strlen(proc.events) - strlen("/event")), proc.events);
    events_host = strstr(http_base, "://") + 3;
    snprintf(host, sizeof(host), "%s", events_host);
    snprintf(ws_plain, sizeof(ws_plain), "ws://%s/event/realtime", host);
    clients = ws_clients_new(proc.ca);
    alice_token = access_token("alice", "Alice#Passw0rd");
    bob_token = access_token("bob", "Bob#Passw0rd1");
    return clients ? 0 : -1;
}

static int setup(void **state)
{
    wire_global_init(state);
    return start(NULL);
}

static void stop(void)
{
    ws_clients_free(clients);
    clients = NULL;
    free(alice_token);
    free(bob_token);
    assert_int_equal(kaeri_proc_stop(&proc), 0);
}

static int teardown(void **state)
{
    stop();
    wire_global_cleanup(state);
    return 0;
}

/* The subprotocol list for an auth map, as Amplify builds it. */
static char *protocols_for(const char *auth_json)
{
    char *header = ws_client_header_protocol(auth_json);
    size_t n = strlen(header) + 32;
    char *list = malloc(n);

    snprintf(list, n, "aws-appsync-event-ws,%s", header);
    free(header);
    return list;
}

static char *cognito_map(const char *token)
{
    return wire_json_dump("{s:s, s:s}", "Authorization", token, "host",
                          host);
}

static char *api_key_map(void)
{
    return wire_json_dump("{s:s, s:s}", "x-api-key", API_KEY, "host", host);
}

/* Connect with 'auth_json', send connection_init, expect the ack. */
static struct ws_client *connect_with(const char *url, const char *auth_json)
{
    char *list = protocols_for(auth_json);
    struct ws_client *c =
        ws_client_connect(clients, url, list, NULL, WS_CLIENT_WAIT_MS);
    char *msg;
    json_t *j;

    free(list);
    assert_non_null(c);
    assert_int_equal(ws_client_send(c, "{\"type\":\"connection_init\"}"), 0);
    msg = ws_client_recv(c, WS_CLIENT_WAIT_MS);
    assert_non_null(msg);
    j = json_loads(msg, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "connection_ack");
    assert_true(json_integer_value(json_object_get(j, "connectionTimeoutMs")) >
                0);
    json_decref(j);
    free(msg);
    return c;
}

/* The next message that is not a keep-alive, parsed. */
static json_t *next_message(struct ws_client *c)
{
    for (;;) {
        char *msg = ws_client_recv(c, WS_CLIENT_WAIT_MS);
        json_t *j;

        if (!msg)
            return NULL;
        j = json_loads(msg, 0, NULL);
        free(msg);
        assert_non_null(j);
        if (strcmp(json_string_value(json_object_get(j, "type")), "ka"))
            return j;
        json_decref(j);
    }
}

static void expect_type(struct ws_client *c, const char *type, const char *id)
{
    json_t *j = next_message(c);

    assert_non_null(j);
    if (strcmp(json_string_value(json_object_get(j, "type")), type)) {
        char *s = json_dumps(j, 0);

        fprintf(stderr, "expected %s, got %s\n", type, s);
        free(s);
        fail();
    }
    if (id)
        assert_string_equal(json_string_value(json_object_get(j, "id")), id);
    json_decref(j);
}

static void subscribe(struct ws_client *c, const char *id, const char *channel,
                      const char *auth_json)
{
    json_t *auth = json_loads(auth_json, 0, NULL);
    char *msg = wire_json_dump("{s:s, s:s, s:s, s:o}", "type", "subscribe",
                               "id", id, "channel", channel,
                               "authorization", auth);

    assert_int_equal(ws_client_send(c, msg), 0);
    free(msg);
}

/* POST /event with an API key: the HTTP status and parsed body. */
static long publish_http(const char *channel, const char *events_json,
                         const char *const extra[], const char *sigv4,
                         json_t **body)
{
    char url[256], *payload;
    const char *headers[6] = {"Content-Type: application/json"};
    struct wire_resp r = {0};
    long status;
    size_t n = 1;

    for (size_t i = 0; extra && extra[i]; i++)
        headers[n++] = extra[i];
    headers[n] = NULL;
    payload = malloc(strlen(events_json) + strlen(channel) + 64);
    sprintf(payload, "{\"channel\":\"%s\",\"events\":%s}", channel,
            events_json);
    snprintf(url, sizeof(url), "%s/event", http_base);
    assert_int_equal(wire_send(&(struct wire_req){.method = "POST",
                                                  .url = url,
                                                  .headers = headers,
                                                  .body = payload,
                                                  .len = strlen(payload),
                                                  .sigv4 = sigv4,
                                                  .userpwd =
                                                      sigv4 ? ADMIN : NULL,
                                                  .ca = proc.ca},
                               &r),
                     0);
    status = r.status;
    if (body)
        *body = json_loads(r.body, 0, NULL);
    wire_resp_free(&r);
    free(payload);
    return status;
}

static void test_seed_rule_over_wss(void **state)
{
    char agent[2048], *alice;
    struct ws_client *c;
    char own[200], other[200];

    (void)state;
    /*
     * The auth map travels base64url-encoded in the subprotocol header;
     * with a long user agent it passes 4 KB, far over the 127 bytes stock
     * libwebsockets 4.1.6 accepts (emulator/lws_hdr_wrap.c).
     */
    memset(agent, 'a', sizeof(agent) - 1);
    agent[sizeof(agent) - 1] = '\0';
    alice = wire_json_dump("{s:s, s:s, s:s}", "Authorization", alice_token,
                           "host", host, "x-amz-user-agent", agent);
    assert_true(strlen(alice) * 4 / 3 > 4096);
    c = connect_with(proc.realtime, alice);
    snprintf(own, sizeof(own), "/bedrock-stream-response/%s/session-1",
             ALICE_SUB);
    snprintf(other, sizeof(other), "/bedrock-stream-response/%s/session-1",
             BOB_SUB);
    subscribe(c, "own", own, alice);
    expect_type(c, "subscribe_success", "own");
    subscribe(c, "other", other, alice);
    {
        json_t *j = next_message(c);

        assert_string_equal(json_string_value(json_object_get(j, "type")),
                            "subscribe_error");
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(j, "errors"), 0),
                "errorType")),
            "UnauthorizedException");
        json_decref(j);
    }
    ws_client_free(c);
    free(alice);
}

static void test_iam_publish_reaches_the_subscriber(void **state)
{
    char *alice = cognito_map(alice_token);
    struct ws_client *c = connect_with(ws_plain, alice);
    char channel[200], events[128];
    json_t *body = NULL, *data;

    (void)state;
    snprintf(channel, sizeof(channel), "/bedrock-stream-response/%s/s2",
             ALICE_SUB);
    subscribe(c, "sub-1", channel, alice);
    expect_type(c, "subscribe_success", "sub-1");
    /* the Lambda's way: SigV4 for service appsync (signed by libcurl) */
    snprintf(events, sizeof(events), "[\"{\\\"message\\\":\\\"hi\\\",\\\"seq\\\":0}\"]");
    assert_int_equal(publish_http(channel, events, NULL,
                                  "aws:amz:ap-northeast-1:appsync", &body),
                     200);
    assert_int_equal(json_array_size(json_object_get(body, "successful")), 1);
    assert_int_equal(json_array_size(json_object_get(body, "failed")), 0);
    json_decref(body);
    data = next_message(c);
    assert_string_equal(json_string_value(json_object_get(data, "type")),
                        "data");
    assert_string_equal(json_string_value(json_object_get(data, "id")),
                        "sub-1");
    assert_string_equal(json_string_value(json_object_get(data, "event")),
                        "{\"message\":\"hi\",\"seq\":0}");
    json_decref(data);

    /* Cognito may not publish there; an API key neither */
    {
        char auth[4096];
        const char *h[] = {auth, NULL};

        snprintf(auth, sizeof(auth), "Authorization: %s", alice_token);
        assert_int_equal(publish_http(channel, events, h, NULL, NULL), 401);
    }
    ws_client_free(c);
    free(alice);
}

static void test_api_key_wildcard_and_ws_publish(void **state)
{
    char *key = api_key_map();
    struct ws_client *sub = connect_with(proc.realtime, key);
    struct ws_client *pub = connect_with(ws_plain, key);
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    json_t *j;
    char *msg;

    (void)state;
    subscribe(sub, "all", "/default/*", key);
    expect_type(sub, "subscribe_success", "all");
    assert_int_equal(publish_http("/default/room/1", "[\"1\",\"\\\"two\\\"\"]",
                                  h, NULL, NULL),
                     200);
    for (int i = 0; i < 2; i++) {
        j = next_message(sub);
        assert_string_equal(json_string_value(json_object_get(j, "type")),
                            "data");
        assert_string_equal(json_string_value(json_object_get(j, "event")),
                            i == 0 ? "1" : "\"two\"");
        json_decref(j);
    }
    /* publish over the WebSocket */
    msg = wire_json_dump("{s:s, s:s, s:s, s:[s], s:o}", "type", "publish",
                         "id", "p1", "channel", "default/room/2", "events",
                         "{\"k\":3}", "authorization", json_loads(key, 0, NULL));
    assert_int_equal(ws_client_send(pub, msg), 0);
    free(msg);
    expect_type(pub, "publish_success", "p1");
    j = next_message(sub);
    assert_string_equal(json_string_value(json_object_get(j, "event")),
                        "{\"k\":3}");
    json_decref(j);
    ws_client_free(sub);
    ws_client_free(pub);
    free(key);
}

static void test_bad_connections_refused(void **state)
{
    char *bad = cognito_map("not.a.token");
    char *list = protocols_for(bad);
    struct ws_client *c;
    json_t *j;

    (void)state;
    c = ws_client_connect(clients, proc.realtime, list, NULL,
                          WS_CLIENT_WAIT_MS);
    if (c) { /* refused after the upgrade: connection_error, then close */
        ws_client_send(c, "{\"type\":\"connection_init\"}");
        j = next_message(c);
        if (j) {
            assert_string_equal(json_string_value(json_object_get(j, "type")),
                                "connection_error");
            json_decref(j);
        }
        ws_clients_serve(clients, 200);
        ws_client_free(c);
    }
    free(list);
    free(bad);
    /* no auth at all */
    c = ws_client_connect(clients, proc.realtime, "aws-appsync-event-ws",
                          NULL, WS_CLIENT_WAIT_MS);
    if (c) {
        ws_client_send(c, "{\"type\":\"connection_init\"}");
        j = next_message(c);
        if (j) {
            assert_string_equal(json_string_value(json_object_get(j, "type")),
                                "connection_error");
            json_decref(j);
        }
        ws_client_free(c);
    }
    /* and kaeri still serves */
    {
        char *key = api_key_map();
        struct ws_client *ok = connect_with(proc.realtime, key);

        ws_client_free(ok);
        free(key);
    }
}

static void test_http_validation_errors(void **state)
{
    static const struct {
        const char *channel, *events;
        long status;
    } cases[] = {
        {"/default/a", "[]", 400},                             /* no events */
        {"/default/a", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]", 400}, /* six */
        {"/default/a", "[1]", 400},              /* not a JSON-encoded string */
        {"/default/a", "[\"{not json\"]", 400},
        {"/default/*", "[\"1\"]", 400},          /* wildcard on publish */
        {"/nosuchns/a", "[\"1\"]", 404},
        {"/default/a/b/c/d/e", "[\"1\"]", 400},  /* six segments */
        {"/default/bad_chars!", "[\"1\"]", 400},
    };
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    const char *wrong_key[] = {"x-api-key: da2-wrong", NULL};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = NULL;
        long status = publish_http(cases[i].channel, cases[i].events, h,
                                   NULL, &body);

        printf("case %zu: %ld\n", i, status);
        if (status == 200) /* refused per event rather than per request */
            assert_true(json_array_size(json_object_get(body, "failed")) > 0);
        else
            assert_non_null(json_object_get(body, "errors"));
        json_decref(body);
    }
    assert_int_equal(publish_http("/default/a", "[\"1\"]", wrong_key, NULL,
                                  NULL),
                     401);
    assert_int_equal(publish_http("/default/a", "[\"1\"]", h, NULL, NULL),
                     200);
}

/* 200 subscribers, 200 events: every one gets all, once, in order. */
static void test_fan_out_nothing_lost(void **state)
{
    enum { SUBSCRIBERS = 200, EVENTS = 200, BATCH = 5 };
    struct ws_client **subs = calloc(SUBSCRIBERS, sizeof(*subs));
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    char *key = api_key_map();
    int *next = calloc(SUBSCRIBERS, sizeof(int));

    (void)state;
    for (int i = 0; i < SUBSCRIBERS; i++) {
        subs[i] = connect_with(ws_plain, key);
        subscribe(subs[i], "fan", "/default/fan", key);
        expect_type(subs[i], "subscribe_success", "fan");
    }
    for (int e = 0; e < EVENTS; e += BATCH) {
        char events[256];
        size_t n = 0;

        n += (size_t)snprintf(events + n, sizeof(events) - n, "[");
        for (int k = 0; k < BATCH; k++)
            n += (size_t)snprintf(events + n, sizeof(events) - n, "%s\"%d\"",
                                  k ? "," : "", e + k);
        snprintf(events + n, sizeof(events) - n, "]");
        assert_int_equal(publish_http("/default/fan", events, h, NULL, NULL),
                         200);
    }
    for (int i = 0; i < SUBSCRIBERS; i++) {
        while (next[i] < EVENTS) {
            json_t *j = next_message(subs[i]);

            assert_non_null(j);
            assert_int_equal(atoi(json_string_value(json_object_get(j, "event"))),
                             next[i]);
            next[i]++;
            json_decref(j);
        }
    }
    /* and nothing more: no duplicates */
    ws_clients_serve(clients, 100);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        size_t extra = 0;

        while (ws_client_pending(subs[i])) {
            char *m = ws_client_recv(subs[i], 0);

            if (m && !strstr(m, "\"ka\""))
                extra++;
            free(m);
        }
        assert_int_equal(extra, 0);
        ws_client_free(subs[i]);
    }
    free(subs);
    free(next);
    free(key);
}

/* PUT /_kaeri/faults with 'json'. */
static void put_faults(const char *json)
{
    const char *ct[] = {"Content-Type: application/json", NULL};
    struct wire_resp r = {0};
    char url[256];

    snprintf(url, sizeof(url), "%s/_kaeri/faults", proc.http);
    assert_int_equal(wire_request("PUT", url, ct, json, strlen(json), NULL,
                                  NULL, &r),
                     0);
    printf("faults: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
}

/*
 * Publish 0..n-1 to /default/faulty and return the order one subscriber
 * saw (as a string "3,1,2,..."), read until 'expect' events arrived or a
 * short quiet spell after the last one.
 */
static char *delivered_order(int n, int expect)
{
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    char *key = api_key_map();
    struct ws_client *sub = connect_with(ws_plain, key);
    char *order = calloc(1, (size_t)expect * 8 + 16);
    int got = 0;

    subscribe(sub, "f", "/default/faulty", key);
    expect_type(sub, "subscribe_success", "f");
    for (int e = 0; e < n; e++) {
        char events[32];

        snprintf(events, sizeof(events), "[\"%d\"]", e);
        assert_int_equal(publish_http("/default/faulty", events, h, NULL,
                                      NULL),
                         200);
    }
    while (got < expect) {
        char *msg = ws_client_recv(sub, 2000);
        json_t *j;

        if (!msg)
            break;
        j = json_loads(msg, 0, NULL);
        if (!strcmp(json_string_value(json_object_get(j, "type")), "data")) {
            sprintf(order + strlen(order), "%s%s", got ? "," : "",
                    json_string_value(json_object_get(j, "event")));
            got++;
        }
        json_decref(j);
        free(msg);
    }
    ws_client_free(sub);
    free(key);
    return order;
}

/*
 * Reordering within a window and duplication, seeded: every event still
 * arrives (duplicates on top), not in publish order, and a restart with the
 * same seed gives exactly the same order. The log names each fault.
 */
static void test_faults_replay_with_the_seed(void **state)
{
    static const char faults[] =
        "{\"seed\": 7, \"events\": [{\"channel\": \"/default/faulty\","
        " \"reorderWindow\": 4, \"duplicate\": 0.25}]}";
    char *first, *second, *sorted;
    int count = 0, seen[20] = {0};

    (void)state;
    /* each run in a fresh kaeri, so both see exactly the same traffic */
    stop();
    assert_int_equal(start(NULL), 0);
    put_faults(faults);
    first = delivered_order(16, 40);
    printf("order with seed 7: %s\n", first);
    for (char *p = first; *p; p++)
        if (*p == ',')
            count++;
    count++;
    assert_true(count >= 16); /* duplicates add, nothing is lost */
    for (char *tok = strtok(sorted = strdup(first), ","); tok;
         tok = strtok(NULL, ","))
        seen[atoi(tok)]++;
    for (int e = 0; e < 16; e++)
        assert_true(seen[e] >= 1);
    free(sorted);
    assert_true(kaeri_proc_log_contains(&proc, "fault"));

    /* a fresh kaeri, the same seed and traffic: the same order */
    stop();
    assert_int_equal(start(NULL), 0);
    put_faults(faults);
    second = delivered_order(16, count);
    printf("again:             %s\n", second);
    assert_string_equal(first, second);
    assert_string_not_equal(first, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15");
    free(first);
    free(second);

    /* cleared: publish order again */
    {
        const char *ct[] = {"Content-Type: application/json", NULL};
        struct wire_resp r = {0};
        char url[256];

        snprintf(url, sizeof(url), "%s/_kaeri/faults", proc.http);
        assert_int_equal(wire_request("DELETE", url, ct, NULL, 0, NULL, NULL,
                                      &r),
                         0);
        assert_int_equal(r.status, 200);
        wire_resp_free(&r);
    }
    first = delivered_order(5, 5);
    assert_string_equal(first, "0,1,2,3,4");
    free(first);
}

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Drop, delay and disconnectAfter, each on its own channel. */
static void test_drop_delay_disconnect(void **state)
{
    static const char faults[] =
        "{\"seed\": 3, \"events\": ["
        "{\"channel\": \"/default/dropped\", \"drop\": 1.0},"
        "{\"channel\": \"/default/slow\", \"delayMs\": 300},"
        "{\"channel\": \"/default/cut\", \"disconnectAfter\": 2}]}";
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    char *key = api_key_map();
    struct ws_client *c = connect_with(ws_plain, key);
    struct ws_client *cut = connect_with(ws_plain, key);
    json_t *j;
    double t0;
    char *msg;
    int got = 0;

    (void)state;
    put_faults(faults);
    subscribe(c, "d", "/default/dropped", key);
    expect_type(c, "subscribe_success", "d");
    subscribe(c, "s", "/default/slow", key);
    expect_type(c, "subscribe_success", "s");
    subscribe(cut, "x", "/default/cut", key);
    expect_type(cut, "subscribe_success", "x");

    /* dropped: nothing comes; then delayed: it comes, not before 300 ms */
    assert_int_equal(publish_http("/default/dropped", "[\"1\",\"2\"]", h,
                                  NULL, NULL),
                     200);
    t0 = mono_ms();
    assert_int_equal(publish_http("/default/slow", "[\"42\"]", h, NULL, NULL),
                     200);
    j = next_message(c);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "s");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "42");
    assert_true(mono_ms() - t0 >= 300.0);
    json_decref(j);
    assert_true(kaeri_proc_log_contains(&proc, "drop"));

    /* disconnectAfter 2: two events, then the connection is closed */
    assert_int_equal(publish_http("/default/cut", "[\"1\",\"2\",\"3\"]", h,
                                  NULL, NULL),
                     200);
    while ((msg = ws_client_recv(cut, WS_CLIENT_WAIT_MS))) {
        if (strstr(msg, "\"data\""))
            got++;
        free(msg);
    }
    assert_int_equal(got, 2);
    assert_true(ws_client_closed(cut));
    ws_client_free(c);
    ws_client_free(cut);
    free(key);
    {
        const char *ct[] = {"Content-Type: application/json", NULL};
        struct wire_resp r = {0};
        char url[256];

        snprintf(url, sizeof(url), "%s/_kaeri/faults", proc.http);
        assert_int_equal(wire_request("DELETE", url, ct, NULL, 0, NULL, NULL,
                                      &r),
                         0);
        wire_resp_free(&r);
    }
}

/* keep-alives come on kaeri's timer ("keepAliveSeconds": 1 here). */
static void test_keep_alive(void **state)
{
    json_t *config = json_load_file(kaeri_proc_path("fixtures/default.json"),
                                    0, NULL);
    char path[] = "/tmp/kaeri-ka-XXXXXX";
    int fd = mkstemp(path);
    char *key, *msg = NULL;
    struct ws_client *c;
    int kas = 0;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    json_object_set_new(json_object_get(config, "events"), "keepAliveSeconds",
                        json_integer(1));
    /* keys are relative to the config's folder: point them back */
    {
        json_t *keys = json_object_get(
            json_array_get(json_object_get(json_object_get(config, "cognito"),
                                           "userPools"),
                           0),
            "keys");

        json_object_set_new(keys, "id", json_string(kaeri_proc_path(
                                            "fixtures/keys/pool1-id.pem")));
        json_object_set_new(keys, "access",
                            json_string(kaeri_proc_path(
                                "fixtures/keys/pool1-access.pem")));
    }
    assert_int_equal(json_dump_file(config, path, 0), 0);
    json_decref(config);
    stop();
    assert_int_equal(start(path), 0);
    key = api_key_map();
    c = connect_with(ws_plain, key);
    while (kas < 2 && (msg = ws_client_recv(c, 3000))) {
        if (strstr(msg, "\"ka\""))
            kas++;
        free(msg);
    }
    assert_int_equal(kas, 2);
    ws_client_free(c);
    free(key);
    unlink(path);
}

/* A masked client text frame (mask key 0: RFC 6455 allows any key). */
static void raw_send_frame(int fd, const char *text)
{
    size_t n = strlen(text), h = 0;
    unsigned char head[14];

    head[h++] = 0x81;
    if (n < 126) {
        head[h++] = (unsigned char)(0x80 | n);
    } else {
        head[h++] = 0x80 | 126;
        head[h++] = (unsigned char)(n >> 8);
        head[h++] = (unsigned char)n;
    }
    memset(head + h, 0, 4);
    h += 4;
    assert_int_equal(send(fd, head, h, MSG_NOSIGNAL), (ssize_t)h);
    assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * A subscriber that never reads: a raw WebSocket with a tiny receive
 * buffer. kaeri must close it (and say so in the log) while another
 * subscriber of the same channel gets every event without waiting.
 */
static void test_stalled_subscriber_does_not_slow_the_rest(void **state)
{
    enum { PUBLISHES = 200, PER = 5, SIZE = 20000 };
    const char *h[] = {"x-api-key: " API_KEY, NULL};
    char *key = api_key_map(), *proto = protocols_for(key), *request;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct ws_client *fast;
    char reply[1024], *events, *sub;
    int fd, small = 4096, got = 0;
    ssize_t n;

    (void)state;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)atoi(strrchr(host, ':') + 1));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    request = malloc(strlen(proto) + 512);
    sprintf(request,
            "GET /event/realtime HTTP/1.1\r\nHost: %s\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
            host, proto);
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL),
                     (ssize_t)strlen(request));
    n = recv(fd, reply, sizeof(reply) - 1, 0);
    assert_true(n > 12);
    reply[n] = '\0';
    assert_non_null(strstr(reply, " 101 "));
    raw_send_frame(fd, "{\"type\":\"connection_init\"}");
    sub = wire_json_dump("{s:s, s:s, s:s, s:o}", "type", "subscribe", "id",
                         "slow", "channel", "/default/stall", "authorization",
                         json_loads(key, 0, NULL));
    raw_send_frame(fd, sub);
    free(sub);

    fast = connect_with(ws_plain, key);
    subscribe(fast, "fast", "/default/stall", key);
    expect_type(fast, "subscribe_success", "fast");
    ws_clients_serve(clients, 200); /* let the slow subscribe land too */

    events = malloc((size_t)PER * (SIZE + 8) + 8);
    for (int p = 0; p < PUBLISHES; p++) {
        size_t off = 0;

        events[off++] = '[';
        for (int k = 0; k < PER; k++) {
            off += (size_t)sprintf(events + off, "%s\"\\\"", k ? "," : "");
            memset(events + off, 'a' + (p % 26), SIZE);
            off += SIZE;
            off += (size_t)sprintf(events + off, "\\\"\"");
        }
        events[off++] = ']';
        events[off] = '\0';
        assert_int_equal(publish_http("/default/stall", events, h, NULL, NULL),
                         200);
        /* the fast subscriber keeps up while the slow one stalls */
        while (ws_client_pending(fast) || got < (p + 1) * PER) {
            json_t *j = next_message(fast);

            assert_non_null(j);
            assert_string_equal(json_string_value(json_object_get(j, "id")),
                                "fast");
            got++;
            json_decref(j);
            if (got >= (p + 1) * PER)
                break;
        }
    }
    assert_int_equal(got, PUBLISHES * PER);
    assert_int_equal(kaeri_proc_log_wait(&proc, "reads too slowly", 5000), 1);
    close(fd);
    free(events);
    free(request);
    free(proto);
    free(key);
    ws_client_free(fast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_rule_over_wss),
        cmocka_unit_test(test_iam_publish_reaches_the_subscriber),
        cmocka_unit_test(test_api_key_wildcard_and_ws_publish),
        cmocka_unit_test(test_bad_connections_refused),
        cmocka_unit_test(test_http_validation_errors),
        cmocka_unit_test(test_fan_out_nothing_lost),
        cmocka_unit_test(test_stalled_subscriber_does_not_slow_the_rest),
        cmocka_unit_test(test_drop_delay_disconnect),
        cmocka_unit_test(test_faults_replay_with_the_seed),
        cmocka_unit_test(test_keep_alive),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

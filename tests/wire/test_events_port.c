/*
 * test_events_port.c - the events port as a transport: HTTPS (trusting
 * only kaeri's CA) and plain HTTP on one port, every router route served
 * there too, the same Cognito call answered on every listener, 411 for a
 * chunked body (libwebsockets would hang on it), oversized bodies, and a
 * good request after each bad one.
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

#define SIGN_IN                                                               \
    "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":"                       \
    "\"kaeriwebclientnosecret0001\",\"AuthParameters\":{\"USERNAME\":"         \
    "\"alice\",\"PASSWORD\":\"Alice#Passw0rd\"}}"

static struct kaeri_proc proc;
static char https_base[160], http_base[160];

static int setup(void **state)
{
    const char *port;

    wire_global_init(state);
    if (kaeri_proc_start(&proc, NULL, NULL))
        return -1;
    /* "https://127.0.0.1:PORT/event" -> the base URLs of both schemes */
    snprintf(https_base, sizeof(https_base), "%.*s",
             (int)(strlen(proc.events) - strlen("/event")), proc.events);
    port = strrchr(https_base, ':');
    snprintf(http_base, sizeof(http_base), "http://127.0.0.1%s", port);
    return 0;
}

static int teardown(void **state)
{
    int rc = kaeri_proc_stop(&proc);

    wire_global_cleanup(state);
    return rc;
}

static void test_ready_line_names_the_listeners(void **state)
{
    (void)state;
    assert_int_equal(strncmp(proc.events, "https://127.0.0.1:", 18), 0);
    assert_non_null(strstr(proc.events, "/event"));
    assert_int_equal(strncmp(proc.realtime, "wss://127.0.0.1:", 16), 0);
    assert_non_null(strstr(proc.realtime, "/event/realtime"));
    assert_true(strlen(proc.ca) > 0);
}

static void sign_in_at(const char *base, const char *ca, json_t **out)
{
    const char *headers[] = {
        "Content-Type: application/x-amz-json-1.1",
        "X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth", NULL};
    struct wire_req req = {.method = "POST", .headers = headers,
                           .body = SIGN_IN, .len = strlen(SIGN_IN),
                           .ca = ca};
    struct wire_resp r = {0};
    char url[256];

    snprintf(url, sizeof(url), "%s/", base);
    req.url = url;
    assert_int_equal(wire_send(&req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(wire_resp_header(&r, "x-amzn-RequestId"));
    *out = json_loads(r.body, 0, NULL);
    assert_non_null(*out);
    wire_resp_free(&r);
}

/* The same call on HTTP/1.1 (main port), HTTPS and plain HTTP (events). */
static void test_same_answer_on_every_listener(void **state)
{
    const char *bases[] = {proc.http, https_base, http_base};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        json_t *r;

        sign_in_at(bases[i], i == 1 ? proc.ca : NULL, &r);
        assert_non_null(wire_json_str(r, "AuthenticationResult.IdToken"));
        assert_non_null(wire_json_str(r, "AuthenticationResult.AccessToken"));
        json_decref(r);
    }
}

static void test_https_needs_kaeri_ca(void **state)
{
    struct wire_req req = {.method = "GET", .ca = NULL}; /* system CAs */
    struct wire_resp r = {0};
    char url[256];

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/health", https_base);
    req.url = url;
    /* a client that does not trust kaeri's CA fails the handshake */
    assert_int_not_equal(wire_send(&req, &r), 0);
    wire_resp_free(&r);
    req.ca = proc.ca;
    assert_int_equal(wire_send(&req, &r), 0);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
}

static void test_bad_requests_then_good(void **state)
{
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    struct wire_resp r = {0};
    char url[256], *big;
    size_t big_len = 11u << 20;

    (void)state;
    snprintf(url, sizeof(url), "%s/anything", https_base);
    assert_int_equal(wire_send(&(struct wire_req){.method = "POST", .url = url,
                                                  .headers = chunked,
                                                  .body = "abc", .len = 3,
                                                  .ca = proc.ca},
                               &r),
                     0);
    assert_int_equal(r.status, 411);
    wire_resp_free(&r);

    big = calloc(1, big_len);
    memset(big, 'x', big_len);
    assert_int_equal(wire_send(&(struct wire_req){.method = "POST", .url = url,
                                                  .body = big, .len = big_len,
                                                  .ca = proc.ca},
                               &r),
                     0);
    assert_int_equal(r.status, 413);
    wire_resp_free(&r);
    free(big);

    snprintf(url, sizeof(url), "%s/no/such/route", http_base);
    assert_int_equal(wire_send(&(struct wire_req){.method = "GET", .url = url},
                               &r),
                     0);
    assert_int_equal(r.status, 403);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "MissingAuthenticationTokenException");
    wire_resp_free(&r);

    snprintf(url, sizeof(url), "%s/_kaeri/health", https_base);
    assert_int_equal(wire_send(&(struct wire_req){.method = "GET", .url = url,
                                                  .ca = proc.ca},
                               &r),
                     0);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
}

static void test_signed_call_on_events_port(void **state)
{
    static const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
    const char *ct[] = {"Content-Type: application/x-www-form-urlencoded",
                        NULL};
    struct wire_resp r = {0};
    char url[256];

    (void)state;
    snprintf(url, sizeof(url), "%s/", https_base);
    assert_int_equal(
        wire_send(&(struct wire_req){
                      .method = "POST", .url = url, .headers = ct,
                      .body = body, .len = strlen(body),
                      .sigv4 = "aws:amz:ap-northeast-1:sts",
                      .userpwd = "AKIAKAERIADMINKEY001:"
                                 "kaeriAdminSecretKey0000000000000000000001",
                      .ca = proc.ca},
                  &r),
        0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "user/kaeri-admin"));
    wire_resp_free(&r);
}

static void test_endpoints_name_the_ca(void **state)
{
    struct wire_resp r = {0};
    char url[256];
    json_t *j;

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/endpoints", proc.http);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &r),
                     0);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "ca")), proc.ca);
    assert_string_equal(json_string_value(json_object_get(j, "events")),
                        proc.events);
    assert_string_equal(json_string_value(json_object_get(j, "realtime")),
                        proc.realtime);
    {
        json_t *api = json_array_get(json_object_get(j, "eventApis"), 0);

        assert_string_equal(json_string_value(json_object_get(api, "apiKey")),
                            "da2-kaeriapikey000000000000001");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(api, "namespaces"),
                                             0)),
            "bedrock-stream-response");
        assert_string_equal(json_string_value(json_object_get(api, "http")),
                            proc.events);
    }
    json_decref(j);
    wire_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_line_names_the_listeners),
        cmocka_unit_test(test_same_answer_on_every_listener),
        cmocka_unit_test(test_https_needs_kaeri_ca),
        cmocka_unit_test(test_bad_requests_then_good),
        cmocka_unit_test(test_signed_call_on_events_port),
        cmocka_unit_test(test_endpoints_name_the_ca),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_router.c - routing and the reply helpers of http.c: admin routes,
 * AWS's answers for unknown routes, error shapes, header handling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "router.h"
#include "services.h"
#include "stub_transport.h"
#include "svc_admin.h"

#include <string.h>

static int setup(void **state)
{
    static const struct kaeri_env env = {
        .region = "ap-northeast-1",
        .account = "123456789012",
        .http_url = "http://127.0.0.1:4580",
        .state_dir = "/tmp",
        .config_dir = "/tmp",
    };
    (void)state;
    return svc_admin.init(NULL, &env, NULL);
}

static int teardown(void **state)
{
    (void)state;
    svc_admin.release();
    clock_reset();
    return 0;
}

struct route_case {
    const char *method;
    const char *path;
    const char *target; /* X-Amz-Target or NULL */
    int status;
    const char *error_type; /* x-amzn-ErrorType or NULL */
};

static const struct route_case cases[] = {
    {"GET", "/_kaeri/health", NULL, 200, NULL},
    {"GET", "/_kaeri/endpoints", NULL, 200, NULL},
    {"GET", "/_kaeri/nothing-here", NULL, 404, "NotFoundException"},
    {"GET", "/no/such/path", NULL, 403, "MissingAuthenticationTokenException"},
    {"POST", "/", "NoSuchService_20240101.Op", 400,
     "UnknownOperationException"},
    {"DELETE", "/_kaeri/clock", NULL, 405, "MethodNotAllowedException"},
};

static void test_routes(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct route_case *c = &cases[i];
        char target[128];
        const char *headers[] = {target, NULL};
        struct stub_reply stub;
        struct http_req *req;

        snprintf(target, sizeof(target), "X-Amz-Target: %s",
                 c->target ? c->target : "");
        req = stub_req(&stub, c->method, c->path, c->target ? headers : NULL,
                       "");
        router_dispatch(req);
        assert_int_equal(stub.replies, 1);
        assert_int_equal(req->status, c->status);
        assert_non_null(stub_reply_header(req, "x-amzn-RequestId"));
        if (c->error_type)
            assert_string_equal(stub_reply_header(req, "x-amzn-ErrorType"),
                                c->error_type);
        http_req_free(req);
    }
}

static void test_json_error_shape(void **state)
{
    const char *headers[] = {"X-Amz-Target: Nope.Op", NULL};
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "POST", "/", headers, "{}");
    json_t *body;

    (void)state;
    router_dispatch(req);
    body = stub_reply_json(req);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "__type")),
                        "UnknownOperationException");
    assert_non_null(json_object_get(body, "message"));
    assert_string_equal(stub_reply_header(req, "content-type"),
                        "application/x-amz-json-1.1");
    assert_string_equal(req->error_code, "UnknownOperationException");
    json_decref(body);
    http_req_free(req);
}

static json_t *clock_call(const char *body, int status)
{
    struct stub_reply stub;
    struct http_req *req =
        stub_req(&stub, body ? "POST" : "GET", "/_kaeri/clock", NULL, body);
    json_t *reply;

    router_dispatch(req);
    assert_int_equal(req->status, status);
    reply = stub_reply_json(req);
    http_req_free(req);
    return reply;
}

static void test_clock(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{}", "{\"advanceSeconds\": \"10\"}",
        "{\"advanceSeconds\": 1, \"set\": \"2030-01-01T00:00:00Z\"}",
        "{\"set\": \"2030-01-01\"}", "{\"set\": \"2030-13-01T00:00:00Z\"}",
        "{\"set\": \"2030-01-01T00:00:00\"}",
    };
    json_t *r;

    (void)state;
    r = clock_call("{\"advanceSeconds\": 7200}", 200);
    assert_int_equal(json_integer_value(json_object_get(r, "offsetSeconds")),
                     7200);
    json_decref(r);
    r = clock_call("{\"set\": \"2030-01-02T03:04:05Z\"}", 200);
    assert_int_equal(strncmp(json_string_value(json_object_get(r, "now")),
                             "2030-01-02T03:04:0", 18),
                     0);
    json_decref(r);
    r = clock_call("{\"set\": \"2030-01-02T12:04:05+09:00\"}", 200);
    assert_int_equal(strncmp(json_string_value(json_object_get(r, "now")),
                             "2030-01-02T03:04:0", 18),
                     0);
    json_decref(r);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        json_decref(clock_call(bad[i], 400));
    r = clock_call(NULL, 200); /* GET still answers */
    assert_non_null(json_object_get(r, "now"));
    json_decref(r);
}

static void test_admin_refuses_remote_peer(void **state)
{
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "GET", "/_kaeri/endpoints", NULL, "");

    (void)state;
    req->peer_loopback = false;
    router_dispatch(req);
    assert_int_equal(req->status, 403);
    http_req_free(req);
}

static void test_headers(void **state)
{
    const char *headers[] = {"Content-Type: application/json",
                             "X-Custom:   spaced", NULL};
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "GET", "/x?a=1", headers, "");

    (void)state;
    assert_string_equal(http_req_header(req, "CONTENT-TYPE"),
                        "application/json");
    assert_string_equal(http_req_header(req, "x-custom"), "spaced");
    assert_null(http_req_header(req, "missing"));
    assert_true(http_req_is_json(req));
    assert_string_equal(req->query, "a=1");
    http_reply_header(req, "X-A", "1");
    http_reply_header(req, "x-a", "2");
    assert_int_equal(req->reply_headers.count, 1);
    assert_string_equal(stub_reply_header(req, "X-A"), "2");
    http_req_free(req);
}

static int aborted;

static void on_abort(struct http_req *req, void *ctx)
{
    (void)req;
    aborted += *(int *)ctx;
}

static void test_abort_runs_once_for_pending(void **state)
{
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "GET", "/x", NULL, "");
    int one = 1;

    (void)state;
    aborted = 0;
    req->state = HTTP_REQ_DISPATCHED;
    http_req_on_abort(req, on_abort, &one);
    http_req_free(req); /* the client went away first */
    assert_int_equal(aborted, 1);

    req = stub_req(&stub, "GET", "/x", NULL, "");
    http_req_on_abort(req, on_abort, &one);
    http_reply(req, 200, "text/plain", "ok", 2); /* answered: no abort */
    http_req_free(req);
    assert_int_equal(aborted, 1);
}

static void test_stream(void **state)
{
    struct stub_reply stub;
    struct http_req *req = stub_req(&stub, "POST", "/s", NULL, "");

    (void)state;
    http_stream_start(req, 200, "application/vnd.amazon.eventstream");
    http_stream_write(req, "abc", 3);
    http_stream_write(req, "def", 3);
    assert_int_equal(stub.stream_starts, 1);
    assert_int_equal(stub.pushes, 2);
    assert_string_equal(req->stream_out.data, "abcdef");
    http_stream_end(req);
    assert_int_equal(req->state, HTTP_REQ_STREAM_END);
    http_stream_write(req, "late", 4); /* ignored after the end */
    assert_string_equal(req->stream_out.data, "abcdef");
    http_req_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_json_error_shape),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_admin_refuses_remote_peer),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_abort_runs_once_for_pending),
        cmocka_unit_test(test_stream),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

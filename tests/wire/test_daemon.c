/*
 * test_daemon.c - `kaeri serve` as a user meets it, over the wire: help,
 * config errors, the ready line, admin routes, AWS's answers to bad
 * requests (each followed by a good one that still works), --env-file,
 * JSON logs and a clean SIGTERM (every kaeri_proc_stop() checks exit 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kaeri_proc.h"
#include "wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Write a temporary config; the caller unlinks and frees the path. */
static char *temp_config(const char *json)
{
    char *path = strdup("/tmp/kaeri-test-config-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    return path;
}

static void get(const struct kaeri_proc *p, const char *path,
                struct wire_resp *r)
{
    char url[512];

    snprintf(url, sizeof(url), "%s%s", p->http, path);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, r),
                     0);
}

static void assert_healthy(const struct kaeri_proc *p)
{
    struct wire_resp r = {0};

    get(p, "/_kaeri/health", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    wire_resp_free(&r);
}

static void test_help(void **state)
{
    const char *top[] = {"--help", NULL};
    const char *serve[] = {"serve", "--help", NULL};
    const char *bad_flag[] = {"serve", "--no-such-flag", NULL};
    const char *bad_port[] = {"serve", "--port", "70000", NULL};
    char *out = NULL, *err = NULL;
    int code = -1;

    (void)state;
    assert_int_equal(kaeri_proc_run(top, &code, &out, &err), 0);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "usage: kaeri"));
    free(out);
    free(err);
    assert_int_equal(kaeri_proc_run(serve, &code, &out, &err), 0);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "--events-port"));
    assert_non_null(strstr(out, "--env-file"));
    free(out);
    free(err);
    assert_int_equal(kaeri_proc_run_expect_exit(bad_flag, &code, &err), 0);
    assert_int_equal(code, 2);
    assert_non_null(strstr(err, "--no-such-flag"));
    free(err);
    assert_int_equal(kaeri_proc_run_expect_exit(bad_port, &code, &err), 0);
    assert_int_equal(code, 2);
    free(err);
}

struct bad_config {
    const char *json;
    const char *where;
};

static const struct bad_config bad_configs[] = {
    {"{\"account\": \"12\"}", "$.account"},
    {"{\"cognito\": {\"userPools\": [{\"name\": \"no id\"}]}}",
     "$.cognito.userPools[0]"},
    {"{\"iam\": {\"users\": [{\"name\": 5}]}}", "$.iam.users[0].name"},
    {"{\"limits\": {\"maxBodyBytes\": true}}", "$.limits.maxBodyBytes"},
    {"{\"unknownSection\": {}}", "$.unknownSection"},
    {"{not json", "line 1"},
};

static void test_bad_config_exits_2(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]);
         i++) {
        char *path = temp_config(bad_configs[i].json);
        const char *argv[] = {"serve", "--config", path, "--port", "0",
                              "--state-dir", "/tmp", NULL};
        char *out = NULL, *err = NULL;
        int code = -1;

        assert_int_equal(kaeri_proc_run(argv, &code, &out, &err), 0);
        printf("config %zu: %s", i, err);
        assert_int_equal(code, 2);
        assert_string_equal(out, ""); /* no ready line: nothing started */
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, bad_configs[i].where));
        assert_non_null(strchr(err, '\n'));
        assert_string_equal(strchr(err, '\n'), "\n"); /* one line */
        free(out);
        free(err);
        unlink(path);
        free(path);
    }
}

static void test_ready_and_admin_routes(void **state)
{
    struct kaeri_proc p;
    struct wire_resp r = {0};
    json_t *body;

    (void)state;
    assert_int_equal(kaeri_proc_start(&p, NULL, NULL), 0);
    assert_true(json_is_true(json_object_get(p.ready, "ready")));
    assert_int_equal(strncmp(p.http, "http://127.0.0.1:", 17), 0);
    assert_healthy(&p);

    get(&p, "/_kaeri/endpoints", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(wire_resp_header(&r, "x-amzn-RequestId"));
    body = json_loads(r.body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "region")),
                        "ap-northeast-1");
    assert_string_equal(json_string_value(json_object_get(body, "account")),
                        "123456789012");
    assert_string_equal(json_string_value(json_object_get(body, "http")),
                        p.http);
    json_decref(body);
    wire_resp_free(&r);

    get(&p, "/_kaeri/no-such-route", &r);
    assert_int_equal(r.status, 404);
    wire_resp_free(&r);
    assert_int_equal(kaeri_proc_stop(&p), 0);
}

static void test_clock(void **state)
{
    static const char advance[] = "{\"advanceSeconds\": 86400}";
    const char *json[] = {"Content-Type: application/json", NULL};
    struct kaeri_proc p;
    struct wire_resp r = {0};
    char url[256];
    json_t *body;

    (void)state;
    assert_int_equal(kaeri_proc_start(&p, NULL, NULL), 0);
    snprintf(url, sizeof(url), "%s/_kaeri/clock", p.http);
    assert_int_equal(wire_request("POST", url, json, advance,
                                  strlen(advance), NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
    get(&p, "/_kaeri/clock", &r);
    body = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(body, "offsetSeconds")),
                     86400);
    assert_non_null(json_string_value(json_object_get(body, "now")));
    json_decref(body);
    wire_resp_free(&r);
    assert_int_equal(wire_request("POST", url, json, "{\"set\": 5}", 10, NULL,
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 400);
    wire_resp_free(&r);
    assert_int_equal(kaeri_proc_stop(&p), 0);
}

/* Send raw bytes on a new connection and read what comes back. */
static void raw_exchange(const char *http_url, const void *bytes, size_t len,
                         char *reply, size_t reply_max)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const char *port = strrchr(http_url, ':') + 1;
    struct pollfd pfd;
    size_t got = 0;
    int fd;

    sa.sin_port = htons((uint16_t)atoi(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
    shutdown(fd, SHUT_WR);
    pfd = (struct pollfd){.fd = fd, .events = POLLIN};
    while (got + 1 < reply_max && poll(&pfd, 1, 5000) == 1) {
        ssize_t n = recv(fd, reply + got, reply_max - 1 - got, 0);

        if (n <= 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    close(fd);
}

static void test_bad_requests_then_good(void **state)
{
    static const char small_limit[] =
        "{\"limits\": {\"maxBodyBytes\": 1024}}";
    const char *target[] = {"X-Amz-Target: NoSuch_20200101.Nope",
                            "Content-Type: application/x-amz-json-1.1", NULL};
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    char *path = temp_config(small_limit);
    char big[4096], url[256], reply[4096];
    struct kaeri_proc p;
    struct wire_resp r = {0};
    json_t *body;

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(kaeri_proc_start(&p, path, NULL), 0);
    snprintf(url, sizeof(url), "%s/", p.http);

    /* unknown route: API Gateway's 403 */
    get(&p, "/nothing/here", &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "MissingAuthenticationTokenException");
    assert_string_equal(r.body, "{\"message\":\"Missing Authentication Token\"}");
    wire_resp_free(&r);
    assert_healthy(&p);

    /* unknown X-Amz-Target: JSON 1.1 error with __type and the header */
    assert_int_equal(wire_request("POST", url, target, "{}", 2, NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 400);
    body = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "__type")),
                        "UnknownOperationException");
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "UnknownOperationException");
    json_decref(body);
    wire_resp_free(&r);
    assert_healthy(&p);

    /* a declared body over the limit: 413 at once */
    assert_int_equal(wire_request("POST", url, NULL, big, sizeof(big), NULL,
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 413);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "RequestEntityTooLargeException");
    wire_resp_free(&r);
    assert_healthy(&p);

    /* a chunked body over the limit: 413 when it ends, nothing kept */
    assert_int_equal(wire_request("POST", url, chunked, big, sizeof(big), NULL,
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 413);
    wire_resp_free(&r);
    assert_healthy(&p);

    /* garbage instead of HTTP, then a truncated request */
    raw_exchange(p.http, "\x16\x03\x01garbage\r\n\r\n", 13, reply,
                 sizeof(reply));
    assert_healthy(&p);
    raw_exchange(p.http, "POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n{",
                 41, reply, sizeof(reply));
    assert_healthy(&p);

    /* the process logged every request with its id */
    assert_true(kaeri_proc_log_contains(&p, "MissingAuthenticationTokenException"));
    assert_true(kaeri_proc_log_contains(&p, "413"));
    assert_int_equal(kaeri_proc_stop(&p), 0);
    unlink(path);
    free(path);
}

static void test_env_file_and_json_logs(void **state)
{
    char env_path[] = "/tmp/kaeri-test-env-XXXXXX";
    const char *args[] = {"--env-file", env_path, "--log-format", "json",
                          NULL};
    struct kaeri_proc p;
    char text[4096], expect[300];
    char *log;
    FILE *f;
    size_t n;
    int fd = mkstemp(env_path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(kaeri_proc_start(&p, NULL, args), 0);
    f = fopen(env_path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    snprintf(expect, sizeof(expect), "AWS_ENDPOINT_URL=%s\n", p.http);
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, "AWS_REGION=ap-northeast-1\n"));
    assert_non_null(strstr(text, "AWS_ACCESS_KEY_ID=AKIAKAERIADMINKEY001\n"));
    assert_non_null(strstr(text, "AWS_SECRET_ACCESS_KEY="));
    assert_non_null(strstr(text, "KAERI_USER_POOL_ID=ap-northeast-1_KaeriPool1\n"));

    assert_healthy(&p);
    assert_int_equal(kaeri_proc_log_wait(&p, "\"operation\":\"Health\"", 5000),
                     1);
    log = kaeri_proc_log_read(&p);
    /* every line is a JSON object */
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);

        assert_non_null(j);
        assert_non_null(json_object_get(j, "level"));
        json_decref(j);
    }
    free(log);
    assert_int_equal(kaeri_proc_stop(&p), 0);
    unlink(env_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bad_config_exits_2),
        cmocka_unit_test(test_ready_and_admin_routes),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_bad_requests_then_good),
        cmocka_unit_test(test_env_file_and_json_logs),
    };

    return cmocka_run_group_tests(tests, wire_global_init, wire_global_cleanup);
}

/*
 * test_bedrock.c - Bedrock Runtime over the wire against a real kaeri on
 * the default fixture, over HTTP/1.1 and h2c (libcurl,
 * CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE): Converse and InvokeModel answers,
 * the unknown-model and unsigned refusals, ConverseStream and
 * InvokeModelWithResponseStream decoded frame by frame with evstream.h as
 * the bytes arrive, an ordering check that the client holds the first
 * frame before kaeri has sent the last (kaeri logs "stream sent last
 * frame" when it writes the last one: the log must not hold it yet when
 * the first frame is decoded), and the fault set through /_kaeri/faults:
 * throttleFirst, unavailable, errorAfterDeltas and stallMs, plus the
 * fixture's fault-demo model.
 *
 * Requests are signed with the project's own signer (sigv4_sign()):
 * model ids hold ':' and curl's SigV4 signs a percent-encoded path
 * wrongly (spec/sigv4.md section 10).
 *
 * Streams are read over h2c and HTTP/1.1 alike, each to the body's end
 * (net_mhd.c's prepare hook runs MHD while it has work, so bytes pushed
 * after the first ones and the final chunk go out at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "b64.h"
#include "buf.h"
#include "clock.h"
#include "evstream.h"
#include "http.h"
#include "kaeri_proc.h"
#include "sigv4.h"
#include "wire.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ADMIN_KEY    "AKIAKAERIADMINKEY001"
#define ADMIN_SECRET "kaeriAdminSecretKey0000000000000000000001"
#define REGION       "ap-northeast-1"
#define NOVA         "apac.amazon.nova-micro-v1%3A0"
#define CLAUDE       "anthropic.claude-3-haiku-20240307-v1%3A0"
#define FAULT_DEMO   "kaeri.fault-demo-v1%3A0"

static struct kaeri_proc proc; /* default config, shared by the group */

/* The protocols streams are read over: h2c, then HTTP/1.1. */
static int stream_protocols(int h2c[2])
{
    h2c[0] = 1;
    h2c[1] = 0;
    return 2; /* HTTP/1.1 and h2c alike */
}

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

/* ---- signing -------------------------------------------------------------- */

struct signed_headers {
    char date[64];
    char auth[1024];
    const char *list[5];
};

/*
 * Sign POST 'base' + 'path' with 'body' as the admin; fills 'sh->list'
 * for curl.
 */
static void sign_at(const char *base, const char *path, const char *body,
                    struct signed_headers *sh)
{
    char amz_date[SIGV4_AMZ_DATE_LEN + 1], host[160];
    struct http_header h[3];
    struct sigv4_request req = {0};
    char *value = NULL;

    snprintf(host, sizeof(host), "%.*s", (int)strcspn(strstr(base, "://") + 3,
                                                      "/"),
             strstr(base, "://") + 3);
    assert_int_equal(sigv4_format_amz_date((int64_t)time(NULL), amz_date),
                     KAERI_OK);
    h[0] = (struct http_header){(char *)"content-type",
                                (char *)"application/json"};
    h[1] = (struct http_header){(char *)"host", host};
    h[2] = (struct http_header){(char *)"x-amz-date", amz_date};
    req.method = "POST";
    req.path = path;
    req.query = "";
    req.headers = h;
    req.header_count = 3;
    req.body = body;
    req.body_len = strlen(body);
    assert_int_equal(sigv4_sign(&req, ADMIN_KEY, ADMIN_SECRET, NULL, REGION,
                                "bedrock", amz_date, &value, NULL),
                     KAERI_OK);
    snprintf(sh->date, sizeof(sh->date), "X-Amz-Date: %s", amz_date);
    snprintf(sh->auth, sizeof(sh->auth), "Authorization: %s", value);
    free(value);
    sh->list[0] = "Content-Type: application/json";
    sh->list[1] = sh->date;
    sh->list[2] = sh->auth;
    sh->list[3] = NULL;
}

static void sign(const char *path, const char *body, struct signed_headers *sh)
{
    sign_at(proc.http, path, body, sh);
}

/* A whole-reply call; the body parsed into '*json' (new ref, or NULL). */
static void call(const char *path, const char *body, int h2c,
                 struct wire_resp *r, json_t **json)
{
    struct signed_headers sh;
    char url[512];
    struct wire_req req = {0};

    sign(path, body, &sh);
    snprintf(url, sizeof(url), "%s%s", proc.http, path);
    req.method = "POST";
    req.url = url;
    req.headers = sh.list;
    req.body = body;
    req.len = strlen(body);
    req.h2c = h2c;
    assert_int_equal(wire_send(&req, r), 0);
    *json = json_loadb(r->body, r->len, 0, NULL);
}

static char *user_body(const char *text)
{
    json_t *j = json_pack("{s:[{s:s, s:[{s:s}]}]}", "messages", "role",
                          "user", "content", "text", text);
    char *s = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    return s;
}

static void put_faults(const char *json)
{
    const char *ct[] = {"Content-Type: application/json", NULL};
    struct wire_resp r = {0};
    char url[256];

    snprintf(url, sizeof(url), "%s/_kaeri/faults", proc.http);
    assert_int_equal(wire_request(json ? "PUT" : "DELETE", url, ct, json,
                                  json ? strlen(json) : 0, NULL, NULL, &r),
                     0);
    if (r.status != 200)
        fprintf(stderr, "faults: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    wire_resp_free(&r);
}

/* ---- whole replies -------------------------------------------------------- */

static void test_converse(void **state)
{
    (void)state;
    for (int h2c = 0; h2c <= 1; h2c++) {
        char *body = user_body("hello kaeri");
        struct wire_resp r = {0};
        json_t *j = NULL;

        call("/model/" NOVA "/converse", body, h2c, &r, &j);
        assert_int_equal(r.status, 200);
        assert_non_null(j);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(
                                   json_object_get(
                                       json_object_get(j, "output"),
                                       "message"),
                                   "content"),
                               0),
                "text")),
            "Hello! I am kaeri's scripted Nova Micro. Ask me how this chat "
            "works.");
        assert_string_equal(wire_json_str(j, "stopReason"), "end_turn");
        assert_non_null(wire_resp_header(&r, "x-amzn-RequestId"));
        json_decref(j);
        wire_resp_free(&r);
        free(body);
    }
}

static void test_invoke_anthropic(void **state)
{
    const char *body =
        "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"tell me the "
        "architecture\"}]}";
    struct wire_resp r = {0};
    json_t *j = NULL;

    (void)state;
    call("/model/" CLAUDE "/invoke", body, 1, &r, &j);
    assert_int_equal(r.status, 200);
    assert_string_equal(wire_json_str(j, "type"), "message");
    assert_string_equal(wire_json_str(j, "stop_reason"), "end_turn");
    json_decref(j);
    wire_resp_free(&r);
}

static void test_refusals(void **state)
{
    char *body = user_body("hi");
    struct wire_resp r = {0};
    json_t *j = NULL;
    char url[256];

    (void)state;
    call("/model/nope.unknown-v1%3A0/converse", body, 0, &r, &j);
    assert_int_equal(r.status, 400);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "ValidationException");
    assert_string_equal(wire_json_str(j, "message"),
                        "The provided model identifier is invalid.");
    json_decref(j);
    wire_resp_free(&r);

    snprintf(url, sizeof(url), "%s%s", proc.http,
             "/model/" NOVA "/converse-stream");
    assert_int_equal(wire_request("POST", url, NULL, body, strlen(body), NULL,
                                  NULL, &r),
                     0);
    assert_int_equal(r.status, 403);
    wire_resp_free(&r);
    free(body);
}

/* ---- streams -------------------------------------------------------------- */

struct stream_read {
    struct evstream_decoder dec;
    char request_id[HTTP_REQUEST_ID_LEN + 1];
    json_t *frames;      /* [{"kind", "type", "p", "chunk"?}] */
    int first_before_last; /* -1 unknown, 1 yes, 0 no */
    int done;            /* saw what ends the stream (HTTP/1.1 workaround) */
    int h2c;
    int stop_early;      /* HTTP/1.1 on the main port: see the top */
    double t_ms[64];     /* arrival of each frame, monotonic */
};

static enum kaeri_err on_frame(const struct evstream_frame *f, void *ctx)
{
    struct stream_read *s = ctx;
    const char *mt = evstream_frame_string(f, ":message-type");
    const char *type = evstream_frame_string(f, ":event-type");
    json_t *p = json_loadb(f->payload, f->payload_len, 0, NULL);
    json_t *entry;
    size_t n = json_array_size(s->frames);

    if (!type)
        type = evstream_frame_string(f, ":exception-type");
    if (!mt || !type || !p)
        return KAERI_ERR_INVALID;
    if (n == 0) {
        char needle[128];

        snprintf(needle, sizeof(needle), "[%s] bedrock: stream sent last",
                 s->request_id);
        s->first_before_last = !kaeri_proc_log_contains(&proc, needle);
    }
    if (n < 64)
        s->t_ms[n] = (double)clock_mono_us() / 1000.0;
    entry = json_pack("{s:s, s:s, s:O}", "kind", mt, "type", type, "p", p);
    if (!strcmp(type, "chunk")) {
        const char *b = json_string_value(json_object_get(p, "bytes"));
        struct buf raw;
        json_t *inner;

        buf_init(&raw, 1u << 20);
        if (!b || b64_decode(b, strlen(b), &raw)) {
            buf_release(&raw);
            json_decref(p);
            json_decref(entry);
            return KAERI_ERR_INVALID;
        }
        inner = json_loadb(raw.data, raw.len, 0, NULL);
        buf_release(&raw);
        json_object_set_new(entry, "chunk", inner ? inner : json_null());
        if (inner && (json_object_get(inner, "metadata") ||
                      !strcmp(json_string_value(json_object_get(inner,
                                                                "type"))
                                  ? json_string_value(
                                        json_object_get(inner, "type"))
                                  : "",
                              "message_stop")))
            s->done = 1;
    }
    if (!strcmp(mt, "exception") || !strcmp(type, "metadata"))
        s->done = 1;
    json_array_append_new(s->frames, entry);
    json_decref(p);
    return KAERI_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct stream_read *s = ctx;

    if (evstream_decode(&s->dec, p, size * n, on_frame, s, NULL))
        return 0;
    if (s->done && s->stop_early)
        return 0; /* HTTP/1.1: net_mhd.c never ends the body (see top) */
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct stream_read *s = ctx;
    size_t len = size * n;

    if (len > 17 && !strncasecmp(p, "x-amzn-RequestId:", 17)) {
        const char *v = p + 17;

        while (*v == ' ')
            v++;
        snprintf(s->request_id, sizeof(s->request_id), "%.*s",
                 (int)strcspn(v, "\r\n"), v);
    }
    return len;
}

/*
 * POST a streamed call and decode it as it arrives. Returns the frames
 * (new reference); '*status' gets the HTTP status.
 */
static json_t *stream_call_at(const char *base, const char *path,
                              const char *body, int h2c, long *status,
                              struct stream_read *s)
{
    struct signed_headers sh;
    struct curl_slist *hl = NULL;
    char url[512];
    CURL *curl = curl_easy_init();
    CURLcode rc;

    memset(s, 0, sizeof(*s));
    s->frames = json_array();
    s->first_before_last = -1;
    s->h2c = h2c;
    s->stop_early = 0;
    evstream_decoder_init(&s->dec);
    sign_at(base, path, body, &sh);
    for (size_t i = 0; sh.list[i]; i++)
        hl = curl_slist_append(hl, sh.list[i]);
    snprintf(url, sizeof(url), "%s%s", base, path);
    if (proc.ca[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, proc.ca);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, WIRE_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     h2c ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                         : CURL_HTTP_VERSION_1_1);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (!(rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && s->done && s->stop_early)))
        fail_msg("%s over %s: curl %d (%s), %zu frames", path,
                 h2c ? "h2c" : "HTTP/1.1", (int)rc, curl_easy_strerror(rc),
                 json_array_size(s->frames));
    if (rc == CURLE_OK)
        assert_int_equal(evstream_decoder_finish(&s->dec, NULL), KAERI_OK);
    evstream_decoder_release(&s->dec);
    curl_slist_free_all(hl);
    curl_easy_cleanup(curl);
    return s->frames;
}

static json_t *stream_call(const char *path, const char *body, int h2c,
                           long *status, struct stream_read *s)
{
    return stream_call_at(proc.http, path, body, h2c, status, s);
}

static const char *fstr(const json_t *frames, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(frames, i), key));
}

static void test_converse_stream(void **state)
{
    int protos[2], np = stream_protocols(protos);

    (void)state;
    for (int k = 0; k < np; k++) {
        int h2c = protos[k];
        char *body = user_body("what is the architecture?");
        struct stream_read s;
        long status = 0;
        json_t *frames =
            stream_call("/model/" NOVA "/converse-stream", body, h2c, &status,
                        &s);
        size_t n = json_array_size(frames);
        struct buf text;

        assert_int_equal(status, 200);
        assert_true(n > 5);
        assert_string_equal(fstr(frames, 0, "type"), "messageStart");
        buf_init(&text, 1u << 16);
        for (size_t i = 1; i < n - 3; i++) {
            const json_t *p = json_object_get(json_array_get(frames, i), "p");

            assert_string_equal(fstr(frames, i, "type"), "contentBlockDelta");
            assert_int_equal(
                buf_adds(&text, json_string_value(json_object_get(
                                    json_object_get(p, "delta"), "text"))),
                KAERI_OK);
        }
        assert_non_null(strstr(text.data, "AppSync Events"));
        buf_release(&text);
        assert_string_equal(fstr(frames, n - 3, "type"), "contentBlockStop");
        assert_string_equal(fstr(frames, n - 2, "type"), "messageStop");
        assert_string_equal(fstr(frames, n - 1, "type"), "metadata");
        /* the ordering check: first frame in hand before the last left */
        assert_int_equal(s.first_before_last, 1);
        json_decref(frames);
        free(body);
    }
}

static void test_invoke_stream_anthropic(void **state)
{
    const char *body =
        "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    int protos[2], np = stream_protocols(protos);

    (void)state;
    for (int k = 0; k < np; k++) {
        int h2c = protos[k];
        struct stream_read s;
        long status = 0;
        json_t *frames =
            stream_call("/model/" CLAUDE "/invoke-with-response-stream", body,
                        h2c, &status, &s);
        size_t n = json_array_size(frames);

        assert_int_equal(status, 200);
        /* start, block start, 6 deltas, block stop, delta, stop */
        assert_int_equal(n, 11);
        assert_string_equal(
            wire_json_str(json_array_get(frames, 0), "chunk.type"),
            "message_start");
        assert_string_equal(
            wire_json_str(json_array_get(frames, 2), "chunk.delta.text"),
            "Hello");
        assert_string_equal(
            wire_json_str(json_array_get(frames, n - 1), "chunk.type"),
            "message_stop");
        assert_int_equal(s.first_before_last, 1);
        json_decref(frames);
    }
}

/* ---- faults --------------------------------------------------------------- */

static void test_fault_demo_model(void **state)
{
    char *body = user_body("anything");
    int protos[2], np = stream_protocols(protos);

    (void)state;
    for (int k = 0; k < np; k++) {
        int h2c = protos[k];
        struct stream_read s;
        long status = 0;
        json_t *frames = stream_call("/model/" FAULT_DEMO "/converse-stream",
                                     body, h2c, &status, &s);
        size_t n = json_array_size(frames);

        assert_int_equal(status, 200);
        assert_int_equal(n, 1 + 3 + 1);
        assert_string_equal(fstr(frames, n - 1, "kind"), "exception");
        assert_string_equal(fstr(frames, n - 1, "type"),
                            "modelStreamErrorException");
        json_decref(frames);
    }
    free(body);
}

static void test_fault_set(void **state)
{
    char *body = user_body("hello");
    struct wire_resp r = {0};
    json_t *j = NULL, *frames;
    struct stream_read s;
    long status = 0;

    (void)state;
    /* throttleFirst: the first call per model id, then normal */
    put_faults("{\"bedrock\": [{\"model\": \"apac.*\", \"throttleFirst\": 1}]}");
    call("/model/" NOVA "/converse-stream", body, 1, &r, &j);
    assert_int_equal(r.status, 429);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "ThrottlingException");
    json_decref(j);
    wire_resp_free(&r);
    call("/model/" NOVA "/converse", body, 0, &r, &j);
    assert_int_equal(r.status, 200);
    json_decref(j);
    wire_resp_free(&r);

    put_faults("{\"bedrock\": [{\"model\": \"*\", \"unavailable\": true}]}");
    call("/model/" CLAUDE "/invoke", "{}", 0, &r, &j);
    /* validation comes first; a valid body meets the fault */
    json_decref(j);
    wire_resp_free(&r);
    call("/model/" NOVA "/converse", body, 1, &r, &j);
    assert_int_equal(r.status, 503);
    assert_string_equal(wire_resp_header(&r, "x-amzn-ErrorType"),
                        "ServiceUnavailableException");
    json_decref(j);
    wire_resp_free(&r);

    /* a throttling exception frame after two deltas, after a stall */
    put_faults("{\"bedrock\": [{\"model\": \"*\", \"errorAfterDeltas\": 2,"
               " \"error\": \"throttlingException\", \"stallMs\": 300,"
               " \"stallAfterDeltas\": 1}]}");
    frames = stream_call("/model/" NOVA "/converse-stream", body, 1, &status,
                         &s);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(frames), 1 + 2 + 1);
    assert_string_equal(fstr(frames, 3, "kind"), "exception");
    assert_string_equal(fstr(frames, 3, "type"), "throttlingException");
    assert_non_null(wire_json_str(json_array_get(frames, 3), "p.message"));
    /* the stall sits between the first and second delta (timers never
     * fire early, so this lower bound holds on any machine) */
    assert_true(s.t_ms[2] - s.t_ms[1] >= 300.0);
    json_decref(frames);

    put_faults(NULL);
    free(body);
}

/* The events port (libwebsockets, HTTPS) streams the same frames. */
static void test_stream_events_port(void **state)
{
    char base[160], *slash;
    char *body = user_body("hello");
    struct stream_read s;
    long status = 0;
    json_t *frames;

    (void)state;
    snprintf(base, sizeof(base), "%s", proc.events);
    slash = strstr(base + strlen("https://"), "/");
    if (slash)
        *slash = '\0';
    frames = stream_call_at(base, "/model/" NOVA "/converse-stream", body, 0,
                            &status, &s);
    assert_int_equal(status, 200);
    assert_true(json_array_size(frames) > 5);
    assert_string_equal(fstr(frames, 0, "type"), "messageStart");
    assert_string_equal(fstr(frames, json_array_size(frames) - 1, "type"),
                        "metadata");
    assert_int_equal(s.first_before_last, 1);
    json_decref(frames);
    free(body);
}

static void test_endpoints(void **state)
{
    struct wire_resp r = {0};
    char url[256];
    json_t *j;

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/endpoints", proc.http);
    assert_int_equal(wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    j = json_loadb(r.body, r.len, 0, NULL);
    assert_true(json_array_size(json_object_get(j, "models")) >= 3);
    assert_string_equal(wire_json_str(json_array_get(json_object_get(j,
                                                                     "models"),
                                                     0),
                                      "id"),
                        "apac.amazon.nova-micro-v1:0");
    json_decref(j);
    wire_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_converse),
        cmocka_unit_test(test_invoke_anthropic),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_converse_stream),
        cmocka_unit_test(test_invoke_stream_anthropic),
        cmocka_unit_test(test_fault_demo_model),
        cmocka_unit_test(test_fault_set),
        cmocka_unit_test(test_stream_events_port),
        cmocka_unit_test(test_endpoints),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_svc_bedrock.c - Bedrock Runtime through the router with hand-built,
 * SigV4-signed requests and the stub HTTP transport: Converse and
 * InvokeModel answers in both families, ConverseStream and
 * InvokeModelWithResponseStream frames (decoded with evstream.h) in order
 * with their payload shapes, rule matching (exact, contains, regex, the
 * default and the built-in echo), chunking, usage, maxTokens, model ids
 * (percent-encoded, ARNs, inference profiles), ValidationException
 * messages, IAM refusals, a rule's faults (throttle, mid-stream
 * exception), a client going away mid-stream, config errors and
 * /_kaeri/endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "b64.h"
#include "clock.h"
#include "evstream.h"
#include "iam.h"
#include "loop.h"
#include "router.h"
#include "services.h"
#include "sigv4.h"
#include "stub_transport.h"
#include "svc_bedrock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT "123456789012"
#define REGION  "ap-northeast-1"
#define ADM_KEY "AKIAUNITADMIN0000001"
#define ADM_SEC "unitAdminSecret0000000000000000000000001"
#define LIM_KEY "AKIAUNITLIMITED00001"
#define LIM_SEC "unitLimitedSecret00000000000000000000001"
#define NOVA    "apac.amazon.nova-micro-v1%3A0"
#define CLAUDE  "anthropic.claude-3-haiku-20240307-v1%3A0"

static const char iam_text[] =
    "{\"users\": ["
    " {\"name\": \"admin\", \"accessKeys\": [{\"accessKeyId\": \"" ADM_KEY
    "\", \"secretAccessKey\": \"" ADM_SEC "\"}],"
    "  \"policies\": {\"p\": {\"Version\": \"2012-10-17\", \"Statement\": ["
    "   {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]}}},"
    " {\"name\": \"limited\", \"accessKeys\": [{\"accessKeyId\": \"" LIM_KEY
    "\", \"secretAccessKey\": \"" LIM_SEC "\"}],"
    "  \"policies\": {\"p\": {\"Version\": \"2012-10-17\", \"Statement\": ["
    "   {\"Effect\": \"Allow\", \"Action\": \"bedrock:InvokeModel\","
    "    \"Resource\": \"arn:aws:bedrock:*::foundation-model/anthropic.*\"}"
    "]}}}]}";

static const char bedrock_text[] =
    "{\"models\": ["
    " {\"id\": \"apac.amazon.nova-micro-v1:0\", \"family\": \"nova\","
    "  \"rules\": ["
    "   {\"match\": {\"exact\": \"ping\"}, \"answer\": \"pong\"},"
    "   {\"match\": {\"contains\": \"weather\"},"
    "    \"answer\": \"It is sunny in Tokyo today\", \"chunking\": \"words\","
    "    \"firstDelayMs\": 2, \"delayMs\": 1,"
    "    \"usage\": {\"inputTokens\": 11, \"outputTokens\": 7}},"
    "   {\"match\": {\"regex\": \"^count [0-9]+$\"},"
    "    \"chunking\": [\"one\", \", two\", \", three\"],"
    "    \"stopReason\": \"stop_sequence\"},"
    "   {\"match\": {\"contains\": \"chars\"}, \"answer\": \"h\\u00e9!\","
    "    \"chunking\": \"chars\"},"
    "   {\"match\": {\"contains\": \"sized\"}, \"answer\": \"abcdefg\","
    "    \"chunking\": {\"size\": 3}},"
    "   {\"match\": {\"contains\": \"break\"}, \"answer\": \"a b c d e\","
    "    \"fault\": {\"errorAfterDeltas\": 2,"
    "               \"error\": \"internalServerException\"}}],"
    "  \"default\": {\"answer\": \"echo: {prompt}\"}},"
    " {\"id\": \"anthropic.claude-3-haiku-20240307-v1:0\","
    "  \"family\": \"anthropic\"},"
    " {\"id\": \"kaeri.throttled-v1:0\","
    "  \"default\": {\"answer\": \"ok\", \"fault\": {\"throttleFirst\": 1}}}"
    "]}";

static struct loop *loop;

static struct kaeri_env env = {
    .region = REGION,
    .account = ACCOUNT,
    .http_url = "http://127.0.0.1:4580",
    .state_dir = "/tmp",
    .config_dir = "fixtures",
    .seed = 7,
};

static int setup(void **state)
{
    json_t *iam = json_loads(iam_text, 0, NULL);
    json_t *bedrock = json_loads(bedrock_text, 0, NULL);
    struct kaeri_error err = {0};
    enum kaeri_err rc;

    (void)state;
    assert_non_null(iam);
    assert_non_null(bedrock);
    loop = loop_new();
    env.loop = loop;
    rc = iam_init(iam, ACCOUNT, REGION, &err);
    if (!rc)
        rc = svc_bedrock.init(bedrock, &env, &err);
    if (rc)
        fprintf(stderr, "init: %s: %s\n", err.where, err.text);
    json_decref(iam);
    json_decref(bedrock);
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    svc_bedrock.release();
    iam_release();
    loop_free(loop);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

struct call {
    struct stub_reply stub;
    struct http_req *req;
};

/* Build a request for 'path' signed with 'key', and dispatch it. */
static void start(struct call *c, const char *akid, const char *secret,
                  const char *path, const char *body)
{
    char amz_date[SIGV4_AMZ_DATE_LEN + 1], date_line[64], auth_line[1024];
    struct http_header h[3] = {
        {(char *)"content-type", (char *)"application/json"},
        {(char *)"host", (char *)"127.0.0.1:4580"},
        {(char *)"x-amz-date", amz_date},
    };
    struct sigv4_request sreq = {
        .method = "POST", .path = path, .query = "", .headers = h,
        .header_count = 3, .body = body, .body_len = strlen(body),
    };
    const char *headers[] = {"Host: 127.0.0.1:4580",
                             "Content-Type: application/json", date_line,
                             auth_line, NULL};
    char *authz = NULL;

    assert_int_equal(sigv4_format_amz_date(clock_now_s(), amz_date), KAERI_OK);
    assert_int_equal(sigv4_sign(&sreq, akid, secret, NULL, REGION, "bedrock",
                                amz_date, &authz, NULL),
                     KAERI_OK);
    snprintf(date_line, sizeof(date_line), "X-Amz-Date: %s", amz_date);
    snprintf(auth_line, sizeof(auth_line), "Authorization: %s", authz);
    free(authz);
    c->req = stub_req(&c->stub, "POST", path, headers, body);
    router_dispatch(c->req);
}

/* Run the loop until the call has answered (whole or stream ended). */
static void finish(struct call *c)
{
    for (int i = 0; i < 2000; i++) {
        if (c->stub.replies || c->req->state == HTTP_REQ_STREAM_END)
            return;
        loop_run_once(loop, 10);
    }
    fail_msg("no answer");
}

/* A whole-reply call: status, body as JSON (new reference). */
static json_t *call_json(const char *akid, const char *secret,
                         const char *path, const char *body, int *status)
{
    struct call c;
    json_t *out;

    start(&c, akid, secret, path, body);
    finish(&c);
    assert_int_equal(c.stub.replies, 1);
    *status = c.req->status;
    out = stub_reply_json(c.req);
    assert_non_null(out);
    if (c.req->status != 200)
        assert_non_null(stub_reply_header(c.req, "x-amzn-ErrorType"));
    http_req_free(c.req);
    return out;
}

static json_t *admin_json(const char *path, const char *body, int *status)
{
    return call_json(ADM_KEY, ADM_SEC, path, body, status);
}

/* Frames as [{"kind": message-type, "type": event or exception, "p": payload}] */
static enum kaeri_err on_frame(const struct evstream_frame *f, void *ctx)
{
    json_t *list = ctx;
    const char *mt = evstream_frame_string(f, ":message-type");
    const char *type = evstream_frame_string(f, ":event-type");
    json_t *payload = json_loadb(f->payload, f->payload_len, 0, NULL);

    if (!type)
        type = evstream_frame_string(f, ":exception-type");
    assert_non_null(mt);
    assert_non_null(type);
    assert_non_null(payload);
    assert_string_equal(evstream_frame_string(f, ":content-type"),
                        "application/json");
    json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "kind", mt,
                                          "type", type, "p", payload));
    return KAERI_OK;
}

static json_t *decode_all(const void *p, size_t n)
{
    struct evstream_decoder d;
    json_t *list = json_array();

    evstream_decoder_init(&d);
    assert_int_equal(evstream_decode(&d, p, n, on_frame, list, NULL),
                     KAERI_OK);
    assert_int_equal(evstream_decoder_finish(&d, NULL), KAERI_OK);
    evstream_decoder_release(&d);
    return list;
}

/* A streamed call by the admin: the decoded frames (new reference). */
static json_t *call_stream(const char *path, const char *body)
{
    struct call c;
    json_t *frames;

    start(&c, ADM_KEY, ADM_SEC, path, body);
    assert_int_equal(c.stub.replies, 0);
    assert_int_equal(c.stub.stream_starts, 1);
    assert_int_equal(c.req->status, 200);
    assert_string_equal(stub_reply_header(c.req, "Content-Type"),
                        "application/vnd.amazon.eventstream");
    finish(&c);
    frames = decode_all(c.req->stream_out.data, c.req->stream_out.len);
    http_req_free(c.req);
    return frames;
}

static char *user_body(const char *text)
{
    json_t *j = json_pack("{s:[{s:s, s:[{s:s}]}]}", "messages", "role",
                          "user", "content", "text", text);
    char *s = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    return s;
}

static const char *jstr(const json_t *j, const char *path)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && j;
         k = strtok_r(NULL, ".", &save))
        j = (*k >= '0' && *k <= '9') ? json_array_get(j, (size_t)atoi(k))
                                     : json_object_get(j, k);
    return json_string_value(j);
}

static json_int_t jint(const json_t *j, const char *path)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && j;
         k = strtok_r(NULL, ".", &save))
        j = (*k >= '0' && *k <= '9') ? json_array_get(j, (size_t)atoi(k))
                                     : json_object_get(j, k);
    assert_true(json_is_integer(j));
    return json_integer_value(j);
}

/* ---- Converse ------------------------------------------------------------- */

static void test_converse_rules(void **state)
{
    static const struct {
        const char *prompt, *answer, *stop;
    } cases[] = {
        {"ping", "pong", "end_turn"},
        {"what is the weather", "It is sunny in Tokyo today", "end_turn"},
        {"count 3", "one, two, three", "stop_sequence"},
        {"count 3 please", "echo: count 3 please", "end_turn"},
        {"sized", "abcdefg", "end_turn"},
    };
    int status;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *body = user_body(cases[i].prompt);
        json_t *out = admin_json("/model/" NOVA "/converse", body, &status);

        assert_int_equal(status, 200);
        assert_string_equal(jstr(out, "output.message.role"), "assistant");
        assert_string_equal(jstr(out, "output.message.content.0.text"),
                            cases[i].answer);
        assert_string_equal(jstr(out, "stopReason"), cases[i].stop);
        assert_int_equal(jint(out, "usage.totalTokens"),
                         jint(out, "usage.inputTokens") +
                             jint(out, "usage.outputTokens"));
        assert_true(json_is_integer(
            json_object_get(json_object_get(out, "metrics"), "latencyMs")));
        json_decref(out);
        free(body);
    }
}

static void test_converse_usage_and_max_tokens(void **state)
{
    char *body = user_body("weather?");
    const char *long_body =
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": "
        "\"tell me a long echo please\"}]}], "
        "\"inferenceConfig\": {\"maxTokens\": 2}}";
    int status;
    json_t *out = admin_json("/model/" NOVA "/converse", body, &status);

    (void)state;
    assert_int_equal(status, 200);
    assert_int_equal(jint(out, "usage.inputTokens"), 11);
    assert_int_equal(jint(out, "usage.outputTokens"), 7);
    json_decref(out);
    free(body);
    out = admin_json("/model/" NOVA "/converse", long_body, &status);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(out, "stopReason"), "max_tokens");
    assert_string_equal(jstr(out, "output.message.content.0.text"),
                        "echo: te"); /* 2 tokens of 4 characters */
    assert_int_equal(jint(out, "usage.outputTokens"), 2);
    assert_int_equal(jint(out, "usage.inputTokens"), 7);
    json_decref(out);
}

static void test_model_ids(void **state)
{
    static const char *const paths[] = {
        "/model/" NOVA "/converse",
        /* an inference profile ARN, '/' encoded inside the segment */
        "/model/arn%3Aaws%3Abedrock%3Aap-northeast-1%3A123456789012%3A"
        "inference-profile%2Fapac.amazon.nova-micro-v1%3A0/converse",
    };
    char *body = user_body("ping");
    int status;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        json_t *out = admin_json(paths[i], body, &status);

        assert_int_equal(status, 200);
        assert_string_equal(jstr(out, "output.message.content.0.text"),
                            "pong");
        json_decref(out);
    }
    free(body);
}

static void test_validation(void **state)
{
    static const struct {
        const char *path, *body, *code, *message;
    } cases[] = {
        {"/model/" NOVA "/converse", "{}", "ValidationException",
         "1 validation error detected: Value null at 'messages' failed to "
         "satisfy constraint: Member must not be null"},
        {"/model/" NOVA "/converse", "{\"messages\": []}",
         "ValidationException",
         "A conversation must start with a user message. Try again with a "
         "conversation that starts with a user message."},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"assistant\", \"content\": "
         "[{\"text\": \"x\"}]}]}",
         "ValidationException",
         "A conversation must start with a user message. Try again with a "
         "conversation that starts with a user message."},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": "
         "\"x\"}]}, {\"role\": \"user\", \"content\": [{\"text\": \"y\"}]}]}",
         "ValidationException",
         "A conversation must alternate between user and assistant roles. "
         "Make sure the conversation alternates between user and assistant "
         "roles and try again."},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"robot\", \"content\": []}]}",
         "ValidationException",
         "1 validation error detected: Value 'robot' at "
         "'messages.1.member.role' failed to satisfy constraint: Member "
         "must satisfy enum value set: [user, assistant]"},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": "
         "\"  \"}]}]}",
         "ValidationException",
         "The text field in the ContentBlock object at messages.0.content.0 "
         "is blank. Add text to the text field, and try again."},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"user\", \"content\": []}]}",
         "ValidationException",
         "The content field in the Message object at messages.0 is empty. "
         "Add a ContentBlock object to the content field and try again."},
        {"/model/" NOVA "/converse",
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": "
         "\"x\"}]}], \"inferenceConfig\": {\"maxTokens\": 0}}",
         "ValidationException",
         "1 validation error detected: Value '0' at "
         "'inferenceConfig.maxTokens' failed to satisfy constraint: Member "
         "must have value greater than or equal to 1"},
        {"/model/" NOVA "/converse-stream",
         "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": "
         "\"x\"}]}], \"inferenceConfig\": {\"temperature\": 1.5}}",
         "ValidationException",
         "1 validation error detected: Value '1.5' at "
         "'inferenceConfig.temperature' failed to satisfy constraint: "
         "Member must have value less than or equal to 1"},
        {"/model/nope.model-v1%3A0/converse", "{}", "ValidationException",
         "The provided model identifier is invalid."},
        {"/model/bad%ZZ/converse", "{}", "ValidationException",
         "The provided model identifier is invalid."},
        {"/model/" CLAUDE "/invoke",
         "{\"anthropic_version\": \"bedrock-2023-05-31\", \"messages\": []}",
         "ValidationException",
         "Malformed input request: #: required key [max_tokens] not found, "
         "please reformat your input and try again."},
        {"/model/" NOVA "/invoke-with-response-stream", "{}",
         "ValidationException",
         "Malformed input request: #: required key [messages] not found, "
         "please reformat your input and try again."},
    };
    int status;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *out = admin_json(cases[i].path, cases[i].body, &status);

        assert_int_equal(status, 400);
        assert_string_equal(jstr(out, "message"), cases[i].message);
        json_decref(out);
    }
}

static void test_iam(void **state)
{
    char *body = user_body("ping");
    const char *claude =
        "{\"anthropic_version\": \"bedrock-2023-05-31\", \"max_tokens\": 50,"
        " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    int status;
    json_t *out;

    (void)state;
    /* allowed on anthropic foundation models only */
    out = call_json(LIM_KEY, LIM_SEC, "/model/" NOVA "/converse", body,
                    &status);
    assert_int_equal(status, 403);
    assert_non_null(strstr(jstr(out, "message"),
                           "arn:aws:bedrock:" REGION ":" ACCOUNT
                           ":inference-profile/apac.amazon.nova-micro-v1:0"));
    json_decref(out);
    out = call_json(LIM_KEY, LIM_SEC, "/model/" CLAUDE "/invoke", claude,
                    &status);
    assert_int_equal(status, 200);
    json_decref(out);
    /* but not streamed: another action */
    out = call_json(LIM_KEY, LIM_SEC,
                    "/model/" CLAUDE "/invoke-with-response-stream", claude,
                    &status);
    assert_int_equal(status, 403);
    json_decref(out);
    /* a wrong secret */
    out = call_json(ADM_KEY, LIM_SEC, "/model/" NOVA "/converse", body,
                    &status);
    assert_int_equal(status, 403);
    json_decref(out);
    free(body);
}

/* ---- InvokeModel ---------------------------------------------------------- */

static void test_invoke(void **state)
{
    const char *claude =
        "{\"anthropic_version\": \"bedrock-2023-05-31\", \"max_tokens\": 50,"
        " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    const char *nova = "{\"messages\": [{\"role\": \"user\", \"content\": "
                       "[{\"text\": \"ping\"}]}]}";
    int status;
    json_t *out = admin_json("/model/" CLAUDE "/invoke", claude, &status);

    (void)state;
    assert_int_equal(status, 200);
    assert_string_equal(jstr(out, "type"), "message");
    assert_string_equal(jstr(out, "role"), "assistant");
    assert_string_equal(jstr(out, "content.0.type"), "text");
    assert_non_null(strstr(jstr(out, "content.0.text"), "hi"));
    assert_string_equal(jstr(out, "stop_reason"), "end_turn");
    assert_true(jint(out, "usage.input_tokens") >= 1);
    assert_true(jint(out, "usage.output_tokens") >= 1);
    json_decref(out);
    out = admin_json("/model/" NOVA "/invoke", nova, &status);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(out, "output.message.content.0.text"), "pong");
    assert_string_equal(jstr(out, "stopReason"), "end_turn");
    json_decref(out);
}

/* ---- streams -------------------------------------------------------------- */

/* Check the ConverseStream order and return the deltas' text joined. */
static char *check_converse_frames(const json_t *frames, const char *stop)
{
    size_t n = json_array_size(frames), i;
    char text[512] = "";

    assert_true(n >= 5);
    assert_string_equal(jstr(frames, "0.type"), "messageStart");
    assert_string_equal(jstr(frames, "0.p.role"), "assistant");
    for (i = 1; i < n - 3; i++) {
        const json_t *f = json_array_get(frames, i);

        assert_string_equal(jstr(f, "kind"), "event");
        assert_string_equal(jstr(f, "type"), "contentBlockDelta");
        assert_int_equal(jint(f, "p.contentBlockIndex"), 0);
        strcat(text, jstr(f, "p.delta.text"));
    }
    assert_string_equal(jstr(json_array_get(frames, n - 3), "type"),
                        "contentBlockStop");
    assert_string_equal(jstr(json_array_get(frames, n - 2), "type"),
                        "messageStop");
    assert_string_equal(jstr(json_array_get(frames, n - 2), "p.stopReason"),
                        stop);
    assert_string_equal(jstr(json_array_get(frames, n - 1), "type"),
                        "metadata");
    return strdup(text);
}

static void test_converse_stream(void **state)
{
    char *body = user_body("weather today?");
    json_t *frames = call_stream("/model/" NOVA "/converse-stream", body);
    char *text = check_converse_frames(frames, "end_turn");
    const json_t *meta = json_array_get(frames, json_array_size(frames) - 1);

    (void)state;
    assert_string_equal(text, "It is sunny in Tokyo today");
    /* words keep their blanks: "It", " is", ... */
    assert_int_equal(json_array_size(frames), 1 + 6 + 3);
    assert_string_equal(jstr(frames, "2.p.delta.text"), " is");
    assert_int_equal(jint(meta, "p.usage.inputTokens"), 11);
    assert_int_equal(jint(meta, "p.usage.outputTokens"), 7);
    assert_int_equal(jint(meta, "p.usage.totalTokens"), 18);
    assert_true(jint(meta, "p.metrics.latencyMs") >= 0);
    free(text);
    json_decref(frames);
    free(body);

    body = user_body("count 42");
    frames = call_stream("/model/" NOVA "/converse-stream", body);
    text = check_converse_frames(frames, "stop_sequence");
    assert_string_equal(text, "one, two, three");
    assert_string_equal(jstr(frames, "2.p.delta.text"), ", two");
    free(text);
    json_decref(frames);
    free(body);

    body = user_body("chars");
    frames = call_stream("/model/" NOVA "/converse-stream", body);
    text = check_converse_frames(frames, "end_turn");
    assert_string_equal(text, "h\xc3\xa9!");
    assert_string_equal(jstr(frames, "2.p.delta.text"), "\xc3\xa9");
    free(text);
    json_decref(frames);
    free(body);
}

/* The decoded JSON inside a "chunk" frame (new reference). */
static json_t *chunk_of(const json_t *frame)
{
    const char *b = jstr(frame, "p.bytes");
    struct buf raw;
    json_t *j;

    assert_string_equal(jstr(frame, "type"), "chunk");
    assert_non_null(b);
    buf_init(&raw, 1u << 20);
    assert_int_equal(b64_decode(b, strlen(b), &raw), KAERI_OK);
    j = json_loadb(raw.data, raw.len, 0, NULL);
    buf_release(&raw);
    assert_non_null(j);
    return j;
}

static void test_invoke_stream_anthropic(void **state)
{
    static const char *const order[] = {
        "message_start", "content_block_start", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop"};
    const char *body =
        "{\"anthropic_version\": \"bedrock-2023-05-31\", \"max_tokens\": 50,"
        " \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": "
        "\"text\", \"text\": \"hello there\"}]}]}";
    json_t *frames =
        call_stream("/model/" CLAUDE "/invoke-with-response-stream", body);
    size_t n = json_array_size(frames), k = 0;
    char text[256] = "";

    (void)state;
    for (size_t i = 0; i < n; i++) {
        json_t *c = chunk_of(json_array_get(frames, i));
        const char *type = jstr(c, "type");

        if (k < ARRAY_SIZE(order) && strcmp(type, order[k]))
            k++;
        assert_true(k < ARRAY_SIZE(order));
        assert_string_equal(type, order[k]);
        if (!strcmp(type, "content_block_delta")) {
            assert_string_equal(jstr(c, "delta.type"), "text_delta");
            strcat(text, jstr(c, "delta.text"));
        }
        if (!strcmp(type, "message_delta"))
            assert_string_equal(jstr(c, "delta.stop_reason"), "end_turn");
        if (!strcmp(type, "message_stop"))
            assert_true(jint(c, "amazon-bedrock-invocationMetrics."
                                "outputTokenCount") >= 1);
        if (!strcmp(type, "message_start"))
            assert_string_equal(jstr(c, "message.role"), "assistant");
        json_decref(c);
    }
    assert_int_equal(k, ARRAY_SIZE(order) - 1);
    assert_non_null(strstr(text, "hello there"));
    json_decref(frames);
}

static void test_invoke_stream_nova(void **state)
{
    const char *body = "{\"messages\": [{\"role\": \"user\", \"content\": "
                       "[{\"text\": \"sized\"}]}]}";
    json_t *frames =
        call_stream("/model/" NOVA "/invoke-with-response-stream", body);
    json_t *c;

    (void)state;
    /* messageStart, 3 deltas (abc, def, g), stop, messageStop, metadata */
    assert_int_equal(json_array_size(frames), 7);
    c = chunk_of(json_array_get(frames, 0));
    assert_string_equal(jstr(c, "messageStart.role"), "assistant");
    json_decref(c);
    c = chunk_of(json_array_get(frames, 2));
    assert_string_equal(jstr(c, "contentBlockDelta.delta.text"), "def");
    json_decref(c);
    c = chunk_of(json_array_get(frames, 5));
    assert_string_equal(jstr(c, "messageStop.stopReason"), "end_turn");
    json_decref(c);
    c = chunk_of(json_array_get(frames, 6));
    assert_true(jint(c, "metadata.usage.outputTokens") >= 1);
    json_decref(c);
    json_decref(frames);
}

/* ---- faults --------------------------------------------------------------- */

static void test_rule_faults(void **state)
{
    char *body = user_body("break it");
    json_t *frames = call_stream("/model/" NOVA "/converse-stream", body);
    const json_t *last;
    int status;
    json_t *out;

    (void)state;
    /* messageStart, two deltas, the exception */
    assert_int_equal(json_array_size(frames), 4);
    assert_string_equal(jstr(frames, "1.type"), "contentBlockDelta");
    last = json_array_get(frames, 3);
    assert_string_equal(jstr(last, "kind"), "exception");
    assert_string_equal(jstr(last, "type"), "internalServerException");
    assert_non_null(jstr(last, "p.message"));
    json_decref(frames);
    /* the same fault on Converse: the HTTP error */
    out = admin_json("/model/" NOVA "/converse", body, &status);
    assert_int_equal(status, 500);
    json_decref(out);
    free(body);

    body = user_body("anything");
    out = admin_json("/model/kaeri.throttled-v1%3A0/converse", body, &status);
    assert_int_equal(status, 429);
    assert_string_equal(jstr(out, "message"),
                        "Too many requests, please wait before trying again.");
    json_decref(out);
    out = admin_json("/model/kaeri.throttled-v1%3A0/converse", body, &status);
    assert_int_equal(status, 200);
    json_decref(out);
    free(body);
}

static void test_client_goes_away(void **state)
{
    char *body = user_body("weather now");
    struct call c;

    (void)state;
    start(&c, ADM_KEY, ADM_SEC, "/model/" NOVA "/converse-stream", body);
    assert_int_equal(c.stub.stream_starts, 1);
    loop_run_once(loop, 3);
    /* the transport frees the request: the timer must be cancelled */
    http_req_free(c.req);
    for (int i = 0; i < 5; i++)
        loop_run_once(loop, 3);
    free(body);
}

/* ---- config and describe -------------------------------------------------- */

static void test_config_errors(void **state)
{
    static const struct {
        const char *text, *where;
    } cases[] = {
        {"{\"models\": [{\"family\": \"nova\"}]}", "$.bedrock.models[0].id"},
        {"{\"models\": [{\"id\": \"a\", \"family\": \"gpt\"}]}",
         "$.bedrock.models[0].family"},
        {"{\"models\": [{\"id\": \"a\", \"rules\": [{\"match\": "
         "{\"regex\": \"(\"}}]}]}",
         "$.bedrock.models[0].rules[0].match.regex"},
        {"{\"models\": [{\"id\": \"a\", \"rules\": [{\"match\": "
         "{\"exact\": \"x\"}, \"chunking\": \"lines\"}]}]}",
         "$.bedrock.models[0].rules[0].chunking"},
        {"{\"models\": [{\"id\": \"a\", \"default\": {\"delayMs\": -1}}]}",
         "$.bedrock.models[0].default.delayMs"},
        {"{\"models\": [{\"id\": \"a\", \"default\": {\"match\": {}}}]}",
         "$.bedrock.models[0].default"},
        {"{\"models\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}",
         "$.bedrock.models[1]"},
        {"{\"modles\": []}", "$.bedrock"},
    };

    (void)state;
    svc_bedrock.release();
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].text, 0, NULL);
        struct kaeri_error err = {0};

        assert_non_null(j);
        assert_int_not_equal(svc_bedrock.init(j, &env, &err), KAERI_OK);
        if (!strstr(err.where, cases[i].where))
            fail_msg("case %zu: where '%s', want '%s' (%s)", i, err.where,
                     cases[i].where, err.text);
        json_decref(j);
    }
    {
        json_t *j = json_loads(bedrock_text, 0, NULL);
        struct kaeri_error err = {0};

        assert_int_equal(svc_bedrock.init(j, &env, &err), KAERI_OK);
        json_decref(j);
    }
}

static void test_describe(void **state)
{
    json_t *e = json_object();

    (void)state;
    svc_bedrock.describe(e);
    assert_int_equal(json_array_size(json_object_get(e, "models")), 3);
    assert_string_equal(jstr(e, "models.0.id"), "apac.amazon.nova-micro-v1:0");
    assert_string_equal(jstr(e, "models.0.family"), "nova");
    assert_string_equal(jstr(e, "models.1.family"), "anthropic");
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_converse_rules),
        cmocka_unit_test(test_converse_usage_and_max_tokens),
        cmocka_unit_test(test_model_ids),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_iam),
        cmocka_unit_test(test_invoke),
        cmocka_unit_test(test_converse_stream),
        cmocka_unit_test(test_invoke_stream_anthropic),
        cmocka_unit_test(test_invoke_stream_nova),
        cmocka_unit_test(test_rule_faults),
        cmocka_unit_test(test_client_goes_away),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_describe),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

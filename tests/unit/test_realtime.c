/*
 * test_realtime.c - the AppSync Events realtime messages: a table of
 * client messages (every type, the members Amplify and the Kotlin client
 * add, and malformed input) with what the parser makes of them; the
 * server messages as the spec's section 5.2 shows them; the header-
 * subprotocol of section 5.1 (the spec's own worked example); and the
 * bodies section 5.3 says clients sign.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "b64.h"
#include "realtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_case {
    const char *name;
    const char *input;
    enum kaeri_err rc;
    enum realtime_type type; /* when OK */
    const char *id;          /* OK: the id; refused: the echoed id */
    const char *channel;     /* OK */
    bool has_auth;           /* OK */
    const char *reply_type;  /* refused */
    const char *error_type;  /* refused */
};

static const struct parse_case parse_cases[] = {
    {"connection_init", "{\"type\":\"connection_init\"}", KAERI_OK,
     REALTIME_CONNECTION_INIT, NULL, NULL, false, NULL, NULL},
    {"connection_init with payload",
     "{\"type\":\"connection_init\",\"payload\":{}}", KAERI_OK,
     REALTIME_CONNECTION_INIT, NULL, NULL, false, NULL, NULL},
    {"subscribe",
     "{\"type\":\"subscribe\",\"id\":\"s1\","
     "\"channel\":\"/default/*\","
     "\"authorization\":{\"x-api-key\":\"k\",\"host\":\"h\"}}",
     KAERI_OK, REALTIME_SUBSCRIBE, "s1", "/default/*", true, NULL, NULL},
    {"subscribe without authorization",
     "{\"type\":\"subscribe\",\"id\":\"s1\",\"channel\":\"default/a\"}",
     KAERI_OK, REALTIME_SUBSCRIBE, "s1", "default/a", false, NULL, NULL},
    {"subscribe, Amplify's extra members",
     "{\"type\":\"subscribe\",\"id\":\"s2\",\"channel\":\"/a/b\","
     "\"payload\":{\"channel\":\"/a/b\",\"extensions\":{}},"
     "\"authorization\":{\"Authorization\":\"jwt\",\"host\":\"h\","
     "\"x-amz-user-agent\":\"aws-amplify\"}}",
     KAERI_OK, REALTIME_SUBSCRIBE, "s2", "/a/b", true, NULL, NULL},
    {"subscribe, authorization null",
     "{\"type\":\"subscribe\",\"id\":\"s1\",\"channel\":\"/a/b\","
     "\"authorization\":null}",
     KAERI_OK, REALTIME_SUBSCRIBE, "s1", "/a/b", false, NULL, NULL},
    {"unsubscribe", "{\"type\":\"unsubscribe\",\"id\":\"s1\"}", KAERI_OK,
     REALTIME_UNSUBSCRIBE, "s1", NULL, false, NULL, NULL},
    {"publish",
     "{\"type\":\"publish\",\"id\":\"p1\",\"channel\":\"/d/x\","
     "\"events\":[\"{\\\"a\\\":1}\"],"
     "\"authorization\":{\"x-api-key\":\"k\"}}",
     KAERI_OK, REALTIME_PUBLISH, "p1", "/d/x", true, NULL, NULL},
    {"duplicate keys, last wins",
     "{\"type\":\"subscribe\",\"type\":\"unsubscribe\",\"id\":\"u\"}", KAERI_OK,
     REALTIME_UNSUBSCRIBE, "u", NULL, false, NULL, NULL},

    {"not JSON", "{\"type\":", KAERI_ERR_INVALID, 0, "", NULL, false, "error",
     "BadRequestException"},
    {"empty", "", KAERI_ERR_INVALID, 0, "", NULL, false, "error",
     "BadRequestException"},
    {"an array", "[1,2]", KAERI_ERR_INVALID, 0, "", NULL, false, "error",
     "BadRequestException"},
    {"a string", "\"connection_init\"", KAERI_ERR_INVALID, 0, "", NULL, false,
     "error", "BadRequestException"},
    {"no type", "{\"id\":\"x\"}", KAERI_ERR_INVALID, 0, "", NULL, false,
     "error", "BadRequestException"},
    {"type not a string", "{\"type\":7}", KAERI_ERR_INVALID, 0, "", NULL, false,
     "error", "BadRequestException"},
    {"unknown type", "{\"type\":\"start\",\"id\":\"g1\"}", KAERI_ERR_INVALID, 0,
     "g1", NULL, false, "error", "UnsupportedOperation"},
    {"GraphQL's stop", "{\"type\":\"stop\"}", KAERI_ERR_INVALID, 0, "", NULL,
     false, "error", "UnsupportedOperation"},
    {"subscribe without id", "{\"type\":\"subscribe\",\"channel\":\"/a/b\"}",
     KAERI_ERR_INVALID, 0, "", NULL, false, "error", "BadRequestException"},
    {"subscribe, empty id",
     "{\"type\":\"subscribe\",\"id\":\"\",\"channel\":\"/a/b\"}",
     KAERI_ERR_INVALID, 0, "", NULL, false, "error", "BadRequestException"},
    {"subscribe, numeric id",
     "{\"type\":\"subscribe\",\"id\":5,\"channel\":\"/a/b\"}",
     KAERI_ERR_INVALID, 0, "", NULL, false, "error", "BadRequestException"},
    {"subscribe, id too long",
     "{\"type\":\"subscribe\",\"id\":\"x123456789x123456789x123456789"
     "x123456789x123456789x123456789x123456789x123456789x123456789"
     "x123456789x123456789x123456789x123456789\",\"channel\":\"/a/b\"}",
     KAERI_ERR_INVALID, 0, "", NULL, false, "error", "BadRequestException"},
    {"subscribe without channel", "{\"type\":\"subscribe\",\"id\":\"s9\"}",
     KAERI_ERR_INVALID, 0, "s9", NULL, false, "subscribe_error",
     "BadRequestException"},
    {"subscribe, channel not a string",
     "{\"type\":\"subscribe\",\"id\":\"s9\",\"channel\":[\"a\"]}",
     KAERI_ERR_INVALID, 0, "s9", NULL, false, "subscribe_error",
     "BadRequestException"},
    {"subscribe, authorization not an object",
     "{\"type\":\"subscribe\",\"id\":\"s9\",\"channel\":\"/a/b\","
     "\"authorization\":\"k\"}",
     KAERI_ERR_INVALID, 0, "s9", NULL, false, "subscribe_error",
     "BadRequestException"},
    {"subscribe, authorization with a number",
     "{\"type\":\"subscribe\",\"id\":\"s9\",\"channel\":\"/a/b\","
     "\"authorization\":{\"x-api-key\":1}}",
     KAERI_ERR_INVALID, 0, "s9", NULL, false, "subscribe_error",
     "BadRequestException"},
    {"unsubscribe without id", "{\"type\":\"unsubscribe\"}", KAERI_ERR_INVALID,
     0, "", NULL, false, "error", "BadRequestException"},
    {"publish without id",
     "{\"type\":\"publish\",\"channel\":\"/a/b\","
     "\"events\":[]}",
     KAERI_ERR_INVALID, 0, "", NULL, false, "error", "BadRequestException"},
    {"publish without events",
     "{\"type\":\"publish\",\"id\":\"p2\",\"channel\":\"/a/b\"}",
     KAERI_ERR_INVALID, 0, "p2", NULL, false, "publish_error",
     "BadRequestException"},
    {"publish, events an object",
     "{\"type\":\"publish\",\"id\":\"p2\",\"channel\":\"/a/b\","
     "\"events\":{}}",
     KAERI_ERR_INVALID, 0, "p2", NULL, false, "publish_error",
     "BadRequestException"},
    {"publish without channel",
     "{\"type\":\"publish\",\"id\":\"p3\",\"events\":[\"1\"]}",
     KAERI_ERR_INVALID, 0, "p3", NULL, false, "publish_error",
     "BadRequestException"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct realtime_msg m;
        struct realtime_refusal why;
        enum kaeri_err rc;

        rc = realtime_parse(c->input, strlen(c->input), &m, &why);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc,
                     why.message);
        if (rc == KAERI_OK) {
            assert_int_equal(m.type, c->type);
            if (c->id)
                assert_string_equal(m.id, c->id);
            else
                assert_null(m.id);
            if (c->channel)
                assert_string_equal(m.channel, c->channel);
            assert_int_equal(m.authorization != NULL, c->has_auth);
            if (c->type == REALTIME_PUBLISH)
                assert_true(json_is_array(m.events));
            realtime_msg_release(&m);
        } else {
            assert_null(m.json);
            if (strcmp(why.reply_type, c->reply_type) ||
                strcmp(why.error_type, c->error_type) || strcmp(why.id, c->id))
                fail_msg("%s: %s/%s id '%s', want %s/%s id '%s'", c->name,
                         why.reply_type, why.error_type, why.id, c->reply_type,
                         c->error_type, c->id);
            assert_true(why.message[0] != '\0');
        }
    }
}

/* A message with a NUL inside and a type name cut in a UTF-8 sequence. */
static void test_parse_odd_bytes(void **state)
{
    static const char nul[] = "{\"type\":\"connection_init\"}\0junk";
    char longtype[400];
    struct realtime_msg m;
    struct realtime_refusal why;
    char *text;

    (void)state;
    assert_int_equal(realtime_parse(nul, sizeof(nul) - 1, &m, &why),
                     KAERI_ERR_INVALID);
    /* 130 two-byte characters: the message cuts at 120 bytes */
    strcpy(longtype, "{\"type\":\"");
    for (int i = 0; i < 130; i++)
        strcat(longtype, "\xc3\xa9");
    strcat(longtype, "\"}");
    assert_int_equal(realtime_parse(longtype, strlen(longtype), &m, &why),
                     KAERI_ERR_INVALID);
    assert_string_equal(why.error_type, "UnsupportedOperation");
    text = realtime_refusal_text(&why);
    assert_non_null(strstr(text, "Unsupported operation"));
    free(text);
}

struct build_case {
    const char *name;
    char *(*build)(void);
    const char *want;
};

static char *b_ack(void)
{
    return realtime_connection_ack(REALTIME_CONNECTION_TIMEOUT_MS);
}
static char *b_ka(void)
{
    return realtime_ka();
}
static char *b_sub_ok(void)
{
    return realtime_success("subscribe_success", "s1");
}
static char *b_unsub_ok(void)
{
    return realtime_success("unsubscribe_success", "s1");
}
static char *b_conn_error(void)
{
    return realtime_error("connection_error", NULL, "UnauthorizedException",
                          "You are not authorized to make this call.");
}
static char *b_sub_error(void)
{
    return realtime_error("subscribe_error", "s1", "BadRequestException",
                          "Invalid Channel Format");
}
static char *b_no_message(void)
{
    return realtime_error("publish_error", "p1", "UnauthorizedException", NULL);
}
static char *b_data(void)
{
    static const char event[] = "{\"a\":1,\"s\":\"x\\\"y\"}";

    return realtime_data("s1", event, strlen(event));
}
static char *b_publish_ok(void)
{
    json_t *ok = json_pack("[{s:s, s:i}]", "identifier", "u1", "index", 0);
    json_t *failed = json_array();
    char *s = realtime_publish_success("p1", ok, failed);

    json_decref(ok);
    json_decref(failed);
    return s;
}
static char *b_body_connect(void)
{
    return realtime_signed_body(REALTIME_CONNECTION_INIT, NULL, NULL);
}
static char *b_body_subscribe(void)
{
    return realtime_signed_body(REALTIME_SUBSCRIBE, "/default/*", NULL);
}
static char *b_body_publish(void)
{
    json_t *events = json_pack("[s, s]", "{\"a\":1}", "\"hi/there\"");
    char *s = realtime_signed_body(REALTIME_PUBLISH, "default/x", events);

    json_decref(events);
    return s;
}

static const struct build_case build_cases[] = {
    {"connection_ack", b_ack,
     "{\"type\":\"connection_ack\",\"connectionTimeoutMs\":300000}"},
    {"ka", b_ka, "{\"type\":\"ka\"}"},
    {"subscribe_success", b_sub_ok,
     "{\"type\":\"subscribe_success\",\"id\":\"s1\"}"},
    {"unsubscribe_success", b_unsub_ok,
     "{\"type\":\"unsubscribe_success\",\"id\":\"s1\"}"},
    {"connection_error", b_conn_error,
     "{\"type\":\"connection_error\",\"errors\":[{\"errorType\":"
     "\"UnauthorizedException\",\"message\":\"You are not authorized to make "
     "this call.\"}]}"},
    {"subscribe_error", b_sub_error,
     "{\"type\":\"subscribe_error\",\"id\":\"s1\",\"errors\":[{\"errorType\":"
     "\"BadRequestException\",\"message\":\"Invalid Channel Format\"}]}"},
    {"error without message", b_no_message,
     "{\"type\":\"publish_error\",\"id\":\"p1\",\"errors\":[{\"errorType\":"
     "\"UnauthorizedException\"}]}"},
    {"data", b_data,
     "{\"type\":\"data\",\"id\":\"s1\",\"event\":\"{\\\"a\\\":1,\\\"s\\\":"
     "\\\"x\\\\\\\"y\\\"}\"}"},
    {"publish_success", b_publish_ok,
     "{\"type\":\"publish_success\",\"id\":\"p1\",\"successful\":[{"
     "\"identifier\":\"u1\",\"index\":0}],\"failed\":[]}"},
    {"signed body, connect", b_body_connect, "{}"},
    {"signed body, subscribe", b_body_subscribe,
     "{\"channel\":\"/default/*\"}"},
    /* JSON.stringify leaves '/' alone, and so must kaeri */
    {"signed body, publish", b_body_publish,
     "{\"channel\":\"default/x\",\"events\":[\"{\\\"a\\\":1}\","
     "\"\\\"hi/there\\\"\"]}"},
};

static void test_build_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++) {
        char *got = build_cases[i].build();

        if (strcmp(got, build_cases[i].want))
            fail_msg("%s:\n got  %s\n want %s", build_cases[i].name, got,
                     build_cases[i].want);
        free(got);
    }
}

struct header_case {
    const char *name;
    const char *protocols;
    enum kaeri_err rc;
    const char *key; /* a member to find in the map */
    const char *value;
};

/* Section 5.1's worked example. */
#define SPEC_HEADER                                                          \
    "header-eyJob3N0IjoiYWJjMTIzLmFwcHN5bmMtYXBpLnVzLWVhc3QtMS5hbWF6b25hd3M" \
    "uY29tIiwieC1hbXotZGF0ZSI6IjIwMjUwMTAxVDAwMDAwMFoiLCJ4LWFwaS1rZXkiOiJkY" \
    "TItZXhhbXBsZWFwaWtleSJ9"

static const struct header_case header_cases[] = {
    {"spec example", "aws-appsync-event-ws, " SPEC_HEADER, KAERI_OK,
     "x-api-key", "da2-exampleapikey"},
    {"header first, no spaces", SPEC_HEADER ",aws-appsync-event-ws", KAERI_OK,
     "host", "abc123.appsync-api.us-east-1.amazonaws.com"},
    {"trailing space", "aws-appsync-event-ws, " SPEC_HEADER " ", KAERI_OK,
     "x-amz-date", "20250101T000000Z"},
    {"no header entry", "aws-appsync-event-ws", KAERI_ERR_NOT_FOUND, NULL,
     NULL},
    {"no protocols", NULL, KAERI_ERR_NOT_FOUND, NULL, NULL},
    {"empty header-", "aws-appsync-event-ws, header-", KAERI_ERR_NOT_FOUND,
     NULL, NULL},
    {"not base64url", "aws-appsync-event-ws, header-!!!!", KAERI_ERR_INVALID,
     NULL, NULL},
    {"base64url of not JSON", "header-bm90IGpzb24", KAERI_ERR_INVALID, NULL,
     NULL},
    {"base64url of an array", "header-WzFd", KAERI_ERR_INVALID, NULL, NULL},
    {"a number value", "header-eyJhIjoxfQ", KAERI_ERR_INVALID, NULL, NULL},
};

static void test_auth_header_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
         i++) {
        const struct header_case *c = &header_cases[i];
        struct kaeri_error err = {0};
        json_t *map = NULL;
        enum kaeri_err rc = realtime_auth_header(c->protocols, &map, &err);

        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
        if (c->key)
            assert_string_equal(json_string_value(json_object_get(map, c->key)),
                                c->value);
        else
            assert_null(map);
        json_decref(map);
    }
}

/* A 3 KB map, as real clients send: decoded whole. */
static void test_auth_header_large(void **state)
{
    json_t *map = json_object(), *back = NULL;
    char token[3000], *text, *b64, *protocols;

    (void)state;
    memset(token, 'a', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    json_object_set_new(map, "Authorization", json_string(token));
    json_object_set_new(map, "host", json_string("localhost:4581"));
    text = json_dumps(map, JSON_COMPACT);
    b64 = b64url_encode(text, strlen(text));
    protocols = malloc(strlen(b64) + 64);
    sprintf(protocols, "aws-appsync-event-ws, header-%s", b64);
    assert_int_equal(realtime_auth_header(protocols, &back, NULL), KAERI_OK);
    assert_true(json_equal(map, back));
    json_decref(back);
    json_decref(map);
    free(text);
    free(b64);
    free(protocols);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_odd_bytes),
        cmocka_unit_test(test_build_table),
        cmocka_unit_test(test_auth_header_table),
        cmocka_unit_test(test_auth_header_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_chanrule.c - chanrule.c: channel paths (a table of valid and
 * invalid ones with the column of the error), matching (exact and
 * wildcard), namespace names, the seed's onSubscribe rule with alice's,
 * bob's, an IAM and a null identity, the other conditions (segment,
 * identity fields, identityIs, not/any/all, exists, templates with
 * integers), onPublish keep / drop / eventError / error / unauthorized per
 * event, parse errors with their JSON paths, the identity builders and the
 * ctx object a JS handler would see.
 *
 * JSON is written with single quotes for readability; doc() turns them
 * into double quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chanrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PATH "$.events.apis[0].namespaces[0]"
#define ALICE   "6b8f1c2e-1111-4a4a-9c9c-a11ce0000001"
#define BOB     "0d3e7a55-2222-4b4b-8d8d-b0b000000002"
#define ISSUER  "http://127.0.0.1:4580/ap-northeast-1_KaeriPool1"

static json_t *doc(const char *sq)
{
    char *s = strdup(sq);
    json_error_t jerr;
    json_t *j;

    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    j = json_loads(s, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("bad test JSON at %d: %s\n%s", jerr.column, jerr.text, s);
    free(s);
    return j;
}

/* ---- channels ---- */

struct chan_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    enum chanrule_op op;
    const char *path; /* normalised; NULL: invalid */
    size_t nseg;
    int column; /* invalid: the error's column */
};

#define SEG50 "abcdefghijABCDEFGHIJ0123456789abcdefghij-123456789"
#define SEG51 SEG50 "x"
#define PUB   CHANRULE_PUBLISH
#define SUB   CHANRULE_SUBSCRIBE

static const struct chan_case chan_cases[] = {
    {"/default/channel", 0, PUB, "/default/channel", 2, 0},
    {"default/channel", 0, PUB, "/default/channel", 2, 0},
    {"/default", 0, PUB, "/default", 1, 0},
    {"default", 0, SUB, "/default", 1, 0},
    {"/a/b/c/d/e", 0, PUB, "/a/b/c/d/e", 5, 0},
    {"/a-b/C9/x-y-z", 0, PUB, "/a-b/C9/x-y-z", 3, 0},
    {"/ns/" SEG50, 0, PUB, "/ns/" SEG50, 2, 0},
    {"/bedrock-stream-response/" ALICE "/s1", 0, PUB,
     "/bedrock-stream-response/" ALICE "/s1", 3, 0},
    {"/default/*", 0, SUB, "/default/*", 2, 0},
    {"default/*", 0, SUB, "/default/*", 2, 0},
    {"/a/b/c/d/*", 0, SUB, "/a/b/c/d/*", 5, 0},
    /* invalid */
    {"", 0, PUB, NULL, 0, 1},
    {"/", 0, PUB, NULL, 0, 2},
    {"//", 0, PUB, NULL, 0, 2},
    {"/a//b", 0, PUB, NULL, 0, 4},
    {"/a/b/", 0, PUB, NULL, 0, 5},
    {"a/", 0, PUB, NULL, 0, 2},
    {"/a/b/c/d/e/f", 0, PUB, NULL, 0, 12},
    {"/ns/" SEG51, 0, PUB, NULL, 0, 55},
    {"/a_b", 0, PUB, NULL, 0, 3},
    {"/a b", 0, PUB, NULL, 0, 3},
    {"/a/\xc3\xa4", 0, PUB, NULL, 0, 4},
    {"/a.b", 0, PUB, NULL, 0, 3},
    {"/-a", 0, PUB, NULL, 0, 2},
    {"/a-", 0, PUB, NULL, 0, 3},
    {"/a/-", 0, PUB, NULL, 0, 4},
    {"/a\0b", 4, PUB, NULL, 0, 3},
    {"/a/*/b", 0, SUB, NULL, 0, 4},
    {"/a/*", 0, PUB, NULL, 0, 4},
    {"/*", 0, SUB, NULL, 0, 2},
    {"*", 0, SUB, NULL, 0, 1},
    {"/a/b*", 0, SUB, NULL, 0, 5},
    {"/a/**", 0, SUB, NULL, 0, 4},
    {"/a/b/c/d/e/*", 0, SUB, NULL, 0, 12},
    {"/a/*/", 0, SUB, NULL, 0, 4},
};

static void test_channel_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(chan_cases); i++) {
        const struct chan_case *c = &chan_cases[i];
        struct kaeri_error err = {{0}, {0}};
        struct chanrule_channel ch;
        size_t len = c->len ? c->len : strlen(c->in);
        enum kaeri_err rc =
            chanrule_channel_parse(c->in, len, c->op, &ch, &err);
        char col[32];

        if (c->path) {
            if (rc)
                fail_msg("case %zu '%s': %s %s", i, c->in, err.where, err.text);
            assert_string_equal(ch.path, c->path);
            assert_int_equal(ch.nseg, c->nseg);
            assert_int_equal(ch.wildcard, c->path[strlen(c->path) - 1] == '*');
            continue;
        }
        if (rc != KAERI_ERR_INVALID)
            fail_msg("case %zu '%s': accepted", i, c->in);
        assert_string_equal(err.text, "Invalid Channel Format");
        snprintf(col, sizeof(col), "column %d", c->column);
        if (strcmp(err.where, col))
            fail_msg("case %zu '%s': %s, expected %s", i, c->in, err.where,
                     col);
    }
}

static void test_channel_segments(void **state)
{
    struct chanrule_channel ch;
    struct kaeri_error err;

    (void)state;
    assert_int_equal(chanrule_channel_parse("ns/a/*", 6, SUB, &ch, &err), 0);
    assert_string_equal(ch.seg[0], "ns");
    assert_string_equal(ch.seg[1], "a");
    assert_string_equal(ch.seg[2], "*");
    assert_true(ch.wildcard);
    /* the length bounds the input: no NUL needed */
    assert_int_equal(chanrule_channel_parse("/ns/abc", 5, PUB, &ch, NULL), 0);
    assert_string_equal(ch.path, "/ns/a");
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(chanrule_name_valid("default"));
    assert_true(chanrule_name_valid("bedrock-stream-response"));
    assert_true(chanrule_name_valid("a"));
    assert_true(chanrule_name_valid(SEG50));
    assert_false(chanrule_name_valid(SEG51));
    assert_false(chanrule_name_valid(""));
    assert_false(chanrule_name_valid(NULL));
    assert_false(chanrule_name_valid("a/b"));
    assert_false(chanrule_name_valid("-a"));
    assert_false(chanrule_name_valid("*"));
}

static const struct {
    const char *sub, *ch;
    bool match;
} match_cases[] = {
    {"/ns/a/*", "/ns/a/b", true},     {"/ns/a/*", "/ns/a/b/c", true},
    {"/ns/a/*", "/ns/a/b/c/d", true}, {"/ns/a/*", "/ns/a", false},
    {"/ns/a/*", "/ns/ab/c", false},   {"/ns/a/*", "/ns/b/a", false},
    {"/ns/a/*", "/other/a/b", false}, {"/ns/*", "/ns/x", true},
    {"/ns/*", "/ns", false},          {"ns/a", "/ns/a", true},
    {"/ns/a", "/ns/a/b", false},      {"/ns/a", "/ns", false},
    {"/ns/a", "/ns/A", false},        {"/ns/a/b/c/*", "/ns/a/b/c/d", true},
};

static void test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
        struct chanrule_channel sub, ch;

        assert_int_equal(chanrule_channel_parse(match_cases[i].sub,
                                                strlen(match_cases[i].sub), SUB,
                                                &sub, NULL),
                         0);
        assert_int_equal(chanrule_channel_parse(match_cases[i].ch,
                                                strlen(match_cases[i].ch), PUB,
                                                &ch, NULL),
                         0);
        if (chanrule_channel_match(&sub, &ch) != match_cases[i].match)
            fail_msg("case %zu: %s vs %s", i, match_cases[i].sub,
                     match_cases[i].ch);
    }
    /* a wildcard is never a published channel */
    {
        struct chanrule_channel a, b;

        assert_int_equal(chanrule_channel_parse("/ns/*", 5, SUB, &a, NULL), 0);
        assert_int_equal(chanrule_channel_parse("/ns/*", 5, SUB, &b, NULL), 0);
        assert_false(chanrule_channel_match(&a, &b));
    }
}

/* ---- rules ---- */

static struct chanrule_rules *rules_ok(const char *sq, enum chanrule_op op)
{
    struct kaeri_error err = {{0}, {0}};
    struct chanrule_rules *r = NULL;
    json_t *j = doc(sq);

    if (chanrule_rules_parse(j, NS_PATH ".onSubscribe", op, &r, &err))
        fail_msg("parse failed: %s: %s\n%s", err.where, err.text, sq);
    json_decref(j);
    return r;
}

/* The Cognito identity of a user with 'sub', as svc_events would build it. */
static json_t *cognito(const char *sub, const char *username)
{
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:s, s:[s], s:I, s:s}", "sub", sub, "iss",
                  ISSUER, "cognito:username", username, "token_use", "id",
                  "cognito:groups", "readers", "auth_time",
                  (json_int_t)1700000000, "email", "x@example.com");
    json_t *id = chanrule_identity_cognito(claims, "127.0.0.1");

    json_decref(claims);
    return id;
}

static json_t *iam(void)
{
    struct chanrule_iam i = {
        "123456789012", "arn:aws:iam::123456789012:user/admin",
        "AIDAEXAMPLE",  "127.0.0.1",
        NULL,           NULL,
        NULL,           NULL};

    return chanrule_identity_iam(&i);
}

static enum chanrule_verdict subscribe(const struct chanrule_rules *r,
                                       const char *channel,
                                       const json_t *identity, char **message)
{
    struct chanrule_channel ch;
    struct chanrule_ctx ctx = {SUB, &ch, identity, NULL, NULL};
    struct chanrule_result res;
    enum chanrule_verdict v;

    assert_int_equal(
        chanrule_channel_parse(channel, strlen(channel), SUB, &ch, NULL), 0);
    assert_int_equal(chanrule_eval(r, &ctx, &res), 0);
    assert_null(res.events);
    assert_null(res.failed);
    v = res.verdict;
    if (message)
        *message = res.message ? strdup(res.message) : NULL;
    chanrule_result_release(&res);
    return v;
}

/* The rule quoted at the top of chanrule.h, exactly. */
#define SEED_RULE                     \
    "[{'unless': {'pathStartsWith': " \
    "'/bedrock-stream-response/${identity.sub}'}, 'then': 'unauthorized'}]"

static void test_seed_rule(void **state)
{
    struct chanrule_rules *r = rules_ok(SEED_RULE, SUB);
    json_t *alice = cognito(ALICE, "alice"), *bob = cognito(BOB, "bob");
    json_t *admin = iam(), *null = json_null();
    const char *own = "/bedrock-stream-response/" ALICE "/session-1";
    const char *bobs = "/bedrock-stream-response/" BOB "/session-1";

    (void)state;
    assert_int_equal(subscribe(r, own, alice, NULL), CHANRULE_ALLOW);
    assert_int_equal(
        subscribe(r, "bedrock-stream-response/" ALICE "/*", alice, NULL),
        CHANRULE_ALLOW);
    assert_int_equal(subscribe(r, bobs, alice, NULL), CHANRULE_UNAUTHORIZED);
    assert_int_equal(subscribe(r, bobs, bob, NULL), CHANRULE_ALLOW);
    assert_int_equal(subscribe(r, "/bedrock-stream-response/*", alice, NULL),
                     CHANRULE_UNAUTHORIZED);
    /* API key (null identity, either form) and IAM have no sub */
    assert_int_equal(subscribe(r, own, null, NULL), CHANRULE_UNAUTHORIZED);
    assert_int_equal(subscribe(r, own, NULL, NULL), CHANRULE_UNAUTHORIZED);
    assert_int_equal(subscribe(r, own, admin, NULL), CHANRULE_UNAUTHORIZED);
    /* no handler allows everyone */
    assert_int_equal(subscribe(NULL, bobs, null, NULL), CHANRULE_ALLOW);
    chanrule_rules_free(r);
    json_decref(alice);
    json_decref(bob);
    json_decref(admin);
    json_decref(null);
}

struct rule_case {
    const char *rules;
    const char *channel;
    int who; /* 0 alice, 1 null, 2 iam */
    enum chanrule_verdict verdict;
    const char *message;
};

static const struct rule_case rule_cases[] = {
    /* segment equality: a stricter form of the seed rule */
    {"[{'when': {'segment': 1, 'equals': '${identity.sub}'}, 'then': "
     "'allow'}, {'then': 'unauthorized'}]",
     "/ns/" ALICE, 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'segment': 1, 'equals': '${identity.sub}'}, 'then': "
     "'allow'}, {'then': 'unauthorized'}]",
     "/ns/" ALICE "x", 0, CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': {'segment': 1, 'equals': '${identity.sub}'}, 'then': "
     "'allow'}, {'then': 'unauthorized'}]",
     "/ns/" ALICE, 1, CHANRULE_UNAUTHORIZED, NULL},
    /* a segment the channel lacks never equals anything */
    {"[{'when': {'segment': 3, 'equals': ''}, 'then': 'unauthorized'}]",
     "/ns/a", 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'segment': 2, 'exists': false}, 'then': {'error': 'need a "
     "session'}}]",
     "/ns/a", 0, CHANRULE_ERROR, "need a session"},
    {"[{'when': {'segment': 2, 'exists': false}, 'then': {'error': 'x'}}]",
     "/ns/a/b", 0, CHANRULE_ALLOW, NULL},
    /* identityIs */
    {"[{'when': {'identityIs': 'null'}, 'then': 'unauthorized'}]", "/ns/a", 1,
     CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': {'identityIs': 'null'}, 'then': 'unauthorized'}]", "/ns/a", 0,
     CHANRULE_ALLOW, NULL},
    {"[{'when': {'identityIs': 'iam'}, 'then': 'allow'}, {'then': "
     "'unauthorized'}]",
     "/ns/a", 2, CHANRULE_ALLOW, NULL},
    {"[{'when': {'identityIs': 'cognito'}, 'then': 'allow'}, {'then': "
     "'unauthorized'}]",
     "/ns/a", 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'identityIs': 'cognito'}, 'then': 'allow'}, {'then': "
     "'unauthorized'}]",
     "/ns/a", 2, CHANRULE_UNAUTHORIZED, NULL},
    /* identity fields, claims, groups arrays are not strings */
    {"[{'when': {'identity': 'claims.email', 'equals': 'x@example.com'}, "
     "'then': {'error': 'mail'}}]",
     "/ns/a", 0, CHANRULE_ERROR, "mail"},
    {"[{'when': {'identity': 'username', 'startsWith': 'ali'}, 'then': "
     "'unauthorized'}]",
     "/ns/a", 0, CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': {'identity': 'groups', 'exists': true}, 'then': "
     "'unauthorized'}]",
     "/ns/a", 0, CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': {'identity': 'groups', 'equals': 'readers'}, 'then': "
     "'unauthorized'}]",
     "/ns/a", 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'identity': 'sub', 'exists': false}, 'then': "
     "'unauthorized'}]",
     "/ns/a", 1, CHANRULE_UNAUTHORIZED, NULL},
    /* integers render as their text */
    {"[{'when': {'segment': 1, 'equals': '${identity.claims.auth_time}'}, "
     "'then': 'unauthorized'}]",
     "/ns/1700000000", 0, CHANRULE_UNAUTHORIZED, NULL},
    /* not / any / all; a missing field under "not" holds (documented) */
    {"[{'when': {'not': {'pathEquals': '/ns/a'}}, 'then': 'unauthorized'}]",
     "/ns/a", 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'not': {'pathEquals': '/ns/${identity.sub}'}}, 'then': "
     "'unauthorized'}]",
     "/ns/a", 1, CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': {'any': [{'pathEquals': '/ns/b'}, {'pathStartsWith': "
     "'/ns/a'}]}, 'then': 'unauthorized'}]",
     "/ns/ab", 0, CHANRULE_UNAUTHORIZED, NULL},
    {"[{'when': [{'pathStartsWith': '/ns'}, {'segment': 1, 'equals': "
     "'b'}], 'then': 'unauthorized'}]",
     "/ns/a", 0, CHANRULE_ALLOW, NULL},
    {"[{'when': {'all': [{'pathStartsWith': '/ns'}, {'segment': 1, "
     "'equals': 'a'}]}, 'then': 'unauthorized'}]",
     "/ns/a", 0, CHANRULE_UNAUTHORIZED, NULL},
    /* when and unless together; order decides */
    {"[{'when': {'segment': 0, 'equals': 'ns'}, 'unless': {'segment': 1, "
     "'equals': 'open'}, 'then': 'unauthorized'}]",
     "/ns/open", 0, CHANRULE_ALLOW, NULL},
    {"[{'then': 'allow'}, {'then': 'unauthorized'}]", "/ns/a", 1,
     CHANRULE_ALLOW, NULL},
    {"[]", "/ns/a", 1, CHANRULE_ALLOW, NULL},
    /* "$" not followed by "{" is literal text */
    {"[{'when': {'pathEquals': '/ns/a$b'}, 'then': 'unauthorized'}]", "/ns/a",
     0, CHANRULE_ALLOW, NULL},
};

static void test_rule_table(void **state)
{
    json_t *who[3];

    (void)state;
    who[0] = cognito(ALICE, "alice");
    who[1] = json_null();
    who[2] = iam();
    for (size_t i = 0; i < ARRAY_SIZE(rule_cases); i++) {
        const struct rule_case *c = &rule_cases[i];
        struct chanrule_rules *r = rules_ok(c->rules, SUB);
        char *msg = NULL;
        enum chanrule_verdict v = subscribe(r, c->channel, who[c->who], &msg);

        if (v != c->verdict)
            fail_msg("case %zu: verdict %d, expected %d\n%s", i, v, c->verdict,
                     c->rules);
        if (c->message)
            assert_string_equal(msg, c->message);
        else
            assert_null(msg);
        free(msg);
        chanrule_rules_free(r);
    }
    for (size_t i = 0; i < 3; i++)
        json_decref(who[i]);
}

#define PUBLISH_RULES                                                         \
    "[{'when': {'payload': 'secret', 'exists': true}, 'then': 'drop'},"       \
    " {'when': {'payload': 'bad', 'exists': true}, 'then': {'eventError': "   \
    "'bad event'}},"                                                          \
    " {'when': {'payload': 'boom', 'equals': 'yes'}, 'then': {'error': "      \
    "'boom'}},"                                                               \
    " {'when': {'payload': 'deny', 'exists': true}, 'then': 'unauthorized'}," \
    " {'when': {'payload': 'seq', 'equals': '3'}, 'then': 'drop'},"           \
    " {'when': {'payload': '', 'equals': 'skip me'}, 'then': 'drop'},"        \
    " {'when': {'payload': 'to', 'equals': '${identity.sub}'}, 'then': "      \
    "'keep'},"                                                                \
    " {'when': {'payload': 'to', 'exists': true}, 'then': {'eventError': "    \
    "'not yours'}}]"

static void publish(const struct chanrule_rules *r, const char *events,
                    const json_t *identity, struct chanrule_result *res)
{
    struct chanrule_channel ch;
    json_t *ev = doc(events);
    struct chanrule_ctx ctx = {PUB, &ch, identity, ev, NULL};

    assert_int_equal(chanrule_channel_parse("/ns/a", 5, PUB, &ch, NULL), 0);
    assert_int_equal(chanrule_eval(r, &ctx, res), 0);
    json_decref(ev);
}

/* The ids of an {id, ...} array, joined with ','. */
static void ids(const json_t *arr, char *out, size_t n)
{
    size_t i;
    const json_t *v;

    out[0] = '\0';
    json_array_foreach (arr, i, v) {
        size_t len = strlen(out);

        snprintf(out + len, n - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(v, "id")));
    }
}

static void test_on_publish(void **state)
{
    struct chanrule_rules *r = rules_ok(PUBLISH_RULES, PUB);
    json_t *alice = cognito(ALICE, "alice");
    struct chanrule_result res;
    char got[256];

    (void)state;
    publish(r,
            "[{'id': 'e1', 'payload': {'message': 'hi'}},"
            " {'id': 'e2', 'payload': {'secret': 1}},"
            " {'id': 'e3', 'payload': {'bad': true}},"
            " {'id': 'e4', 'payload': 'hello'},"
            " {'id': 'e5', 'payload': {'seq': 3}},"
            " {'id': 'e6', 'payload': {'seq': 4}},"
            " {'id': 'e7', 'payload': 'skip me'},"
            " {'id': 'e8', 'payload': {'to': '" ALICE "'}},"
            " {'id': 'e9', 'payload': {'to': '" BOB "'}},"
            " {'id': 'e10'}]",
            alice, &res);
    assert_int_equal(res.verdict, CHANRULE_ALLOW);
    ids(res.events, got, sizeof(got));
    assert_string_equal(got, "e1,e4,e6,e8,e10");
    ids(res.failed, got, sizeof(got));
    assert_string_equal(got, "e3,e9");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(res.failed, 0), "error")),
                        "bad event");
    /* kept events are the same {id, payload} objects */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(res.events, 1), "payload")),
                        "hello");
    chanrule_result_release(&res);

    /* one event failing the whole handler fails the request */
    publish(r,
            "[{'id': 'e1', 'payload': 1}, {'id': 'e2', 'payload': {'boom': "
            "'yes'}}]",
            alice, &res);
    assert_int_equal(res.verdict, CHANRULE_ERROR);
    assert_string_equal(res.message, "boom");
    assert_null(res.events);
    assert_null(res.failed);
    chanrule_result_release(&res);

    publish(r, "[{'id': 'e1', 'payload': {'deny': null, 'bad': 1}}]", alice,
            &res);
    assert_int_equal(res.verdict, CHANRULE_ALLOW); /* null does not exist */
    ids(res.failed, got, sizeof(got));
    assert_string_equal(got, "e1");
    chanrule_result_release(&res);

    publish(r, "[{'id': 'e1', 'payload': {'deny': 0}}]", alice, &res);
    assert_int_equal(res.verdict, CHANRULE_UNAUTHORIZED);
    chanrule_result_release(&res);

    /* no handler forwards everything; a null identity fails 'to' checks */
    publish(NULL, "[{'id': 'a', 'payload': 1}, {'id': 'b', 'payload': 2}]",
            NULL, &res);
    ids(res.events, got, sizeof(got));
    assert_string_equal(got, "a,b");
    assert_int_equal(json_array_size(res.failed), 0);
    chanrule_result_release(&res);
    publish(r, "[{'id': 'a', 'payload': {'to': '" ALICE "'}}]", NULL, &res);
    ids(res.failed, got, sizeof(got));
    assert_string_equal(got, "a");
    chanrule_result_release(&res);

    chanrule_rules_free(r);
    json_decref(alice);
}

static void test_eval_bad_ctx(void **state)
{
    struct chanrule_channel ch;
    struct chanrule_result res;
    struct chanrule_ctx ctx = {PUB, NULL, NULL, NULL, NULL};
    json_t *bad = doc("[{'payload': 1}]");

    (void)state;
    assert_int_equal(chanrule_eval(NULL, &ctx, &res), KAERI_ERR_INVALID);
    assert_int_equal(chanrule_channel_parse("/ns/a", 5, PUB, &ch, NULL), 0);
    ctx.channel = &ch;
    assert_int_equal(chanrule_eval(NULL, &ctx, &res), KAERI_ERR_INVALID);
    ctx.events = bad;
    assert_int_equal(chanrule_eval(NULL, &ctx, &res), KAERI_ERR_INVALID);
    assert_null(res.events);
    json_decref(bad);
}

struct err_case {
    const char *rules;
    enum chanrule_op op;
    const char *where; /* after NS_PATH ".onSubscribe" */
    const char *text;  /* a part of the message */
};

static const struct err_case err_cases[] = {
    {"{'then': 'allow'}", SUB, "", "expected an array"},
    {"[1]", SUB, "[0]", "expected an object"},
    {"[{'then': 'allow', 'extra': 1}]", SUB, "[0].extra", "unknown"},
    {"[{'when': {'pathStartsWith': '/x'}}]", SUB, "[0].then", "required"},
    {"[{'then': 'keep'}]", SUB, "[0].then", "expected \"allow\""},
    {"[{'then': 'allow'}]", PUB, "[0].then", "expected \"keep\""},
    {"[{'then': {'eventError': 'x'}}]", SUB, "[0].then", "expected"},
    {"[{'then': {'error': 1}}]", SUB, "[0].then.error", "expected a string"},
    {"[{'then': {'error': 'a', 'x': 1}}]", SUB, "[0].then", "expected"},
    {"[{'then': 'allow'}, {'when': {'segment': 1}, 'then': 'allow'}]", SUB,
     "[1].when", "exactly one of"},
    {"[{'when': {'segment': 5, 'equals': 'x'}, 'then': 'allow'}]", SUB,
     "[0].when.segment", "expected 0 to 4"},
    {"[{'when': {'segment': 1, 'equals': 'x', 'exists': true}, 'then': "
     "'allow'}]",
     SUB, "[0].when", "exactly one of"},
    {"[{'then': 'allow'}, {'when': {'payload': 'a', 'exists': true}, 'then': "
     "'allow'}]",
     SUB, "[1].when.payload", "onPublish"},
    {"[{'when': {'pathStartsWith': '/x/${ctx.sub}'}, 'then': 'allow'}]", SUB,
     "[0].when.pathStartsWith", "unknown variable '${ctx.sub}'"},
    {"[{'when': {'pathStartsWith': '/x/${identity.sub'}, 'then': 'allow'}]",
     SUB, "[0].when.pathStartsWith", "without '}'"},
    {"[{'when': {'pathStartsWith': '/x/${identity.}'}, 'then': 'allow'}]", SUB,
     "[0].when.pathStartsWith", "bad field path"},
    {"[{'when': {'pathStartsWith': 7}, 'then': 'allow'}]", SUB,
     "[0].when.pathStartsWith", "expected a string"},
    {"[{'when': {'identityIs': 'apikey'}, 'then': 'allow'}]", SUB,
     "[0].when.identityIs", "expected null, cognito"},
    {"[{'when': {'bogus': 1}, 'then': 'allow'}]", SUB, "[0].when.bogus",
     "unknown condition"},
    {"[{'when': {}, 'then': 'allow'}]", SUB, "[0].when", "empty condition"},
    {"[{'when': {'pathEquals': '/a', 'segment': 0}, 'then': 'allow'}]", SUB,
     "[0].when", "one condition per object"},
    {"[{'when': {'pathStartsWith': '/x', 'extra': 1}, 'then': 'allow'}]", SUB,
     "[0].when.extra", "unknown"},
    {"[{'when': {'any': []}, 'then': 'allow'}]", SUB, "[0].when.any",
     "at least one"},
    {"[{'when': [], 'then': 'allow'}]", SUB, "[0].when", "at least one"},
    {"[{'when': {'all': {}}, 'then': 'allow'}]", SUB, "[0].when.all",
     "expected an array"},
    {"[{'when': {'not': {'any': [{'identity': 'sub', 'equals': 1}]}}, "
     "'then': 'allow'}]",
     SUB, "[0].when.not.any[0].equals", "expected a string"},
    {"[{'when': [{'pathEquals': '/a'}, {'identity': 'a..b', 'exists': "
     "true}], 'then': 'allow'}]",
     SUB, "[0].when[1].identity", "field path"},
    {"[{'when': {'identity': '', 'exists': true}, 'then': 'allow'}]", SUB,
     "[0].when.identity", "field path"},
    {"[{'unless': 'x', 'then': 'allow'}]", SUB, "[0].unless",
     "expected a condition"},
    {"[{'when': {'payload': 'a', 'exists': 'yes'}, 'then': 'keep'}]", PUB,
     "[0].when.exists", "expected true or false"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
        const struct err_case *c = &err_cases[i];
        struct kaeri_error err = {{0}, {0}};
        struct chanrule_rules *r = (struct chanrule_rules *)1;
        json_t *j = doc(c->rules);
        char where[256];

        if (chanrule_rules_parse(j, NS_PATH ".onSubscribe", c->op, &r, &err) ==
            KAERI_OK)
            fail_msg("case %zu accepted: %s", i, c->rules);
        assert_null(r);
        snprintf(where, sizeof(where), "%s%s", NS_PATH ".onSubscribe",
                 c->where);
        if (strcmp(err.where, where) || !strstr(err.text, c->text))
            fail_msg("case %zu: got %s: %s\nexpected %s: ...%s...", i,
                     err.where, err.text, where, c->text);
        json_decref(j);
    }
}

static void test_parse_limits(void **state)
{
    struct kaeri_error err = {{0}, {0}};
    struct chanrule_rules *r = NULL;
    json_t *cond = json_pack("{s:s}", "pathEquals", "/a");
    json_t *rules, *big;

    (void)state;
    for (int i = 0; i < CHANRULE_MAX_DEPTH + 2; i++)
        cond = json_pack("{s:o}", "not", cond);
    rules = json_pack("[{s:o, s:s}]", "when", cond, "then", "allow");
    assert_int_equal(chanrule_rules_parse(rules, "$.r", SUB, &r, &err),
                     KAERI_ERR_LIMIT);
    assert_non_null(strstr(err.text, "nested"));
    json_decref(rules);

    rules = json_array();
    for (int i = 0; i <= CHANRULE_MAX_RULES; i++)
        json_array_append_new(rules, json_pack("{s:s}", "then", "allow"));
    assert_int_equal(chanrule_rules_parse(rules, "$.r", SUB, &r, &err),
                     KAERI_ERR_LIMIT);
    assert_string_equal(err.where, "$.r");
    json_decref(rules);

    big = json_string_nocheck("");
    {
        char *s = malloc(CHANRULE_TEMPLATE_MAX + 2);

        memset(s, 'a', CHANRULE_TEMPLATE_MAX + 1);
        s[CHANRULE_TEMPLATE_MAX + 1] = '\0';
        json_string_set(big, s);
        free(s);
    }
    rules = json_pack("[{s:{s:o}, s:s}]", "when", "pathStartsWith", big, "then",
                      "allow");
    assert_int_equal(chanrule_rules_parse(rules, "$.r", SUB, &r, &err),
                     KAERI_ERR_INVALID);
    assert_string_equal(err.where, "$.r[0].when.pathStartsWith");
    json_decref(rules);

    /* null and absent mean "no handler" */
    assert_int_equal(chanrule_rules_parse(NULL, "$.r", SUB, &r, &err), 0);
    assert_null(r);
    rules = json_null();
    assert_int_equal(chanrule_rules_parse(rules, "$.r", SUB, &r, &err), 0);
    assert_null(r);
    json_decref(rules);
}

static void test_rules_json(void **state)
{
    struct chanrule_rules *r = rules_ok(SEED_RULE, SUB);
    json_t *want = doc(SEED_RULE), *got = chanrule_rules_json(r);

    (void)state;
    assert_true(json_equal(want, got));
    assert_null(chanrule_rules_json(NULL));
    json_decref(want);
    json_decref(got);
    chanrule_rules_free(r);
    chanrule_rules_free(NULL);
}

static void test_identity_shapes(void **state)
{
    json_t *c = cognito(ALICE, "alice"), *i = iam(), *a;
    json_t *claims = json_pack("{s:s, s:s}", "sub", BOB, "username", "bob");

    (void)state;
    assert_string_equal(json_string_value(json_object_get(c, "sub")), ALICE);
    assert_string_equal(json_string_value(json_object_get(c, "issuer")),
                        ISSUER);
    assert_string_equal(json_string_value(json_object_get(c, "username")),
                        "alice");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(c, "groups"), 0)),
        "readers");
    assert_true(json_is_null(json_object_get(c, "defaultAuthStrategy")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(c, "sourceIp"), 0)),
        "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(c, "claims"), "email")),
                        "x@example.com");

    /* an access token names the user in "username"; no groups: null */
    a = chanrule_identity_cognito(claims, NULL);
    assert_string_equal(json_string_value(json_object_get(a, "username")),
                        "bob");
    assert_true(json_is_null(json_object_get(a, "groups")));
    assert_int_equal(json_array_size(json_object_get(a, "sourceIp")), 0);

    assert_string_equal(json_string_value(json_object_get(i, "accountId")),
                        "123456789012");
    assert_string_equal(json_string_value(json_object_get(i, "userArn")),
                        "arn:aws:iam::123456789012:user/admin");
    assert_true(json_is_null(json_object_get(i, "cognitoIdentityPoolId")));
    assert_int_equal(json_object_size(i), 8);
    json_decref(a);
    json_decref(c);
    json_decref(i);
    json_decref(claims);
}

static void test_ctx_json(void **state)
{
    struct chanrule_channel ch;
    json_t *events = doc("[{'id': 'e1', 'payload': {'a': 1}}]");
    json_t *alice = cognito(ALICE, "alice");
    struct chanrule_ctx ctx = {PUB, &ch, alice, events, NULL};
    json_t *j, *info;

    (void)state;
    assert_int_equal(chanrule_channel_parse("ns/a/b", 6, PUB, &ch, NULL), 0);
    j = chanrule_ctx_json(&ctx);
    info = json_object_get(j, "info");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(info, "channel"), "path")),
                        "/ns/a/b");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(info, "channel"), "segments")),
                     3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(info, "channelNamespace"), "name")),
                        "ns");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "channelNamespace"), "name")),
                        "ns");
    assert_string_equal(json_string_value(json_object_get(info, "operation")),
                        "PUBLISH");
    assert_true(json_equal(json_object_get(j, "events"), events));
    assert_true(json_equal(json_object_get(j, "identity"), alice));
    assert_true(json_is_object(json_object_get(j, "stash")));
    assert_true(json_is_array(json_object_get(j, "outErrors")));
    json_decref(j);

    ctx.op = SUB;
    ctx.identity = NULL;
    j = chanrule_ctx_json(&ctx);
    assert_true(json_is_null(json_object_get(j, "events")));
    assert_true(json_is_null(json_object_get(j, "identity")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "info"), "operation")),
                        "SUBSCRIBE");
    json_decref(j);
    json_decref(events);
    json_decref(alice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_parse_table),
        cmocka_unit_test(test_channel_segments),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_seed_rule),
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_on_publish),
        cmocka_unit_test(test_eval_bad_ctx),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_rules_json),
        cmocka_unit_test(test_identity_shapes),
        cmocka_unit_test(test_ctx_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_fault.c - fault.c: parsing the CONTRACT's example and every invalid
 * field with its JSON path, the round trip to JSON, determinism of the
 * delivery plans (same seed, key and traffic: the same plan; another seed
 * or key: another; unrelated traffic: no change), each fault's effect
 * (reorder within the window delivers each event exactly once, duplicate
 * 1.0 doubles, drop 1.0 drops, delays within bounds and never running
 * backwards, disconnectAfter), rule selection by channel, and the Bedrock
 * decisions.
 *
 * Events are opaque pointers to the planner; the tests use the integers
 * 1..n cast to pointers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRACT_EXAMPLE                                                      \
    "{'seed': 7, 'events': [{'channel': '/bedrock-stream-response/*', "       \
    "'reorderWindow': 4, 'duplicate': 0.2, 'drop': 0.0, 'delayMs': [0, 30], " \
    "'disconnectAfter': 0}], 'bedrock': [{'model': '*', 'throttleFirst': 1, " \
    "'throttleRate': 0.0, 'errorAfterDeltas': 3, 'error': "                   \
    "'modelStreamErrorException', 'unavailable': false, 'stallMs': 0}]}"

#define EV(i)  ((void *)(uintptr_t)(i))
#define NUM(p) ((int)(uintptr_t)(p))

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

static struct fault_set *set_ok(const char *sq, uint64_t default_seed)
{
    struct kaeri_error err = {{0}, {0}};
    struct fault_set *fs = NULL;
    json_t *j = doc(sq);

    if (fault_set_parse(j, "$.faults", default_seed, &fs, &err))
        fail_msg("parse failed: %s: %s\n%s", err.where, err.text, sq);
    json_decref(j);
    return fs;
}

static struct chanrule_channel channel(const char *s)
{
    struct chanrule_channel ch;

    assert_int_equal(
        chanrule_channel_parse(s, strlen(s), CHANRULE_PUBLISH, &ch, NULL), 0);
    return ch;
}

/* ---- parsing ---- */

static void test_parse_contract_example(void **state)
{
    struct fault_set *fs = set_ok(CONTRACT_EXAMPLE, 99);
    json_t *want = doc(CONTRACT_EXAMPLE), *got = fault_set_json(fs);

    (void)state;
    assert_true(fault_set_seed(fs) == 7);
    assert_true(fault_set_has_events(fs));
    if (!json_equal(want, got)) {
        char *s = json_dumps(got, JSON_SORT_KEYS);

        fail_msg("round trip differs: %s", s);
    }
    json_decref(want);
    json_decref(got);
    fault_set_free(fs);
}

static void test_parse_defaults(void **state)
{
    struct fault_set *fs = set_ok("{}", 1234);
    json_t *got = fault_set_json(fs), *want;
    struct kaeri_error err;

    (void)state;
    assert_true(fault_set_seed(fs) == 1234);
    assert_false(fault_set_has_events(fs));
    want = doc("{'seed': 1234, 'events': [], 'bedrock': []}");
    assert_true(json_equal(want, got));
    json_decref(got);
    json_decref(want);
    fault_set_free(fs);

    /* NULL is an empty set too, and a NULL set serialises without a seed */
    assert_int_equal(fault_set_parse(NULL, "$", 5, &fs, &err), 0);
    assert_true(fault_set_seed(fs) == 5);
    fault_set_free(fs);
    got = fault_set_json(NULL);
    want = doc("{'events': [], 'bedrock': []}");
    assert_true(json_equal(want, got));
    json_decref(got);
    json_decref(want);
    fault_set_free(NULL);
}

/* parse(json(parse(x))) == parse(x), including fields given as integers. */
static void test_round_trip(void **state)
{
    static const char *const docs[] = {
        "{'events': [{'duplicate': 1, 'delayMs': 5}, {'channel': 'ns/a', "
        "'drop': 0.5, 'reorderWindow': 1}], 'bedrock': [{'model': "
        "'apac.*', 'throttleRate': 1, 'stallMs': 100, 'stallAfterDeltas': "
        "2}, {'errorAfterDeltas': 0}, {'unavailable': true}]}",
        "{'seed': -1}",
        "{'seed': 0, 'events': [{}], 'bedrock': [{}]}",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        struct fault_set *a = set_ok(docs[i], 3), *b = NULL;
        json_t *ja = fault_set_json(a), *jb;
        struct kaeri_error err;

        assert_int_equal(fault_set_parse(ja, "$", 4, &b, &err), 0);
        jb = fault_set_json(b);
        assert_true(json_equal(ja, jb));
        assert_true(fault_set_seed(a) == fault_set_seed(b));
        json_decref(ja);
        json_decref(jb);
        fault_set_free(a);
        fault_set_free(b);
    }
}

struct err_case {
    const char *doc;
    const char *where;
    const char *text; /* a part of the message */
};

static const struct err_case err_cases[] = {
    {"[]", "$.faults", "expected an object"},
    {"{'sead': 1}", "$.faults.sead", "unknown"},
    {"{'seed': 'x'}", "$.faults.seed", "expected an integer"},
    {"{'events': {}}", "$.faults.events", "expected an array"},
    {"{'bedrock': 1}", "$.faults.bedrock", "expected an array"},
    {"{'events': [1]}", "$.faults.events[0]", "expected an object"},
    {"{'events': [{'chanel': '/a/*'}]}", "$.faults.events[0].chanel",
     "unknown"},
    {"{'events': [{}, {'channel': '/a/*/b'}]}", "$.faults.events[1].channel",
     "invalid channel pattern '/a/*/b' at column 4"},
    {"{'events': [{'channel': 5}]}", "$.faults.events[0].channel",
     "expected a string"},
    {"{'events': [{'reorderWindow': 0}]}", "$.faults.events[0].reorderWindow",
     "expected 1 to 1024"},
    {"{'events': [{'reorderWindow': 1025}]}",
     "$.faults.events[0].reorderWindow", "expected 1 to 1024"},
    {"{'events': [{'reorderWindow': 2.5}]}", "$.faults.events[0].reorderWindow",
     "expected an integer"},
    {"{'events': [{'duplicate': 1.5}]}", "$.faults.events[0].duplicate",
     "from 0 to 1"},
    {"{'events': [{'duplicate': -0.1}]}", "$.faults.events[0].duplicate",
     "from 0 to 1"},
    {"{'events': [{'drop': '0.1'}]}", "$.faults.events[0].drop", "from 0 to 1"},
    {"{'events': [{'delayMs': -1}]}", "$.faults.events[0].delayMs",
     "min <= max"},
    {"{'events': [{'delayMs': [30, 0]}]}", "$.faults.events[0].delayMs",
     "min <= max"},
    {"{'events': [{'delayMs': [0, 600001]}]}", "$.faults.events[0].delayMs",
     "max <= 600000"},
    {"{'events': [{'delayMs': [0]}]}", "$.faults.events[0].delayMs",
     "[min, max]"},
    {"{'events': [{'delayMs': [0, 1, 2]}]}", "$.faults.events[0].delayMs",
     "[min, max]"},
    {"{'events': [{'delayMs': [0, 1.5]}]}", "$.faults.events[0].delayMs",
     "[min, max]"},
    {"{'events': [{'disconnectAfter': -1}]}",
     "$.faults.events[0].disconnectAfter", "expected 0 to"},
    {"{'bedrock': [{'model': ''}]}", "$.faults.bedrock[0].model",
     "model id pattern"},
    {"{'bedrock': [{'model': 1}]}", "$.faults.bedrock[0].model",
     "expected a string"},
    {"{'bedrock': [{'mdoel': '*'}]}", "$.faults.bedrock[0].mdoel", "unknown"},
    {"{'bedrock': [{'throttleFirst': -1}]}",
     "$.faults.bedrock[0].throttleFirst", "expected 0 to"},
    {"{'bedrock': [{'throttleRate': 2}]}", "$.faults.bedrock[0].throttleRate",
     "from 0 to 1"},
    {"{'bedrock': [{'unavailable': 1}]}", "$.faults.bedrock[0].unavailable",
     "true or false"},
    {"{'bedrock': [{'errorAfterDeltas': 1, 'error': 'boom'}]}",
     "$.faults.bedrock[0].error", "expected modelStreamErrorException"},
    {"{'bedrock': [{'error': 'throttlingException'}]}",
     "$.faults.bedrock[0].error", "needs errorAfterDeltas"},
    {"{'bedrock': [{'stallMs': 600001}]}", "$.faults.bedrock[0].stallMs",
     "expected 0 to 600000"},
    {"{'bedrock': [{'stallAfterDeltas': 2}]}",
     "$.faults.bedrock[0].stallAfterDeltas", "needs stallMs"},
    {"{'bedrock': [{}, {}, 'x']}", "$.faults.bedrock[2]", "expected an object"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
        const struct err_case *c = &err_cases[i];
        struct kaeri_error err = {{0}, {0}};
        struct fault_set *fs = (struct fault_set *)1;
        json_t *j = doc(c->doc);

        if (fault_set_parse(j, "$.faults", 0, &fs, &err) == KAERI_OK)
            fail_msg("case %zu accepted: %s", i, c->doc);
        assert_null(fs);
        if (strcmp(err.where, c->where) || !strstr(err.text, c->text))
            fail_msg("case %zu: got %s: %s\nexpected %s: ...%s...", i,
                     err.where, err.text, c->where, c->text);
        json_decref(j);
    }
}

static void test_parse_limits(void **state)
{
    json_t *j = json_pack("{s:[]}", "events");
    struct fault_set *fs = NULL;
    struct kaeri_error err;

    (void)state;
    for (int i = 0; i <= FAULT_MAX_RULES; i++)
        json_array_append_new(json_object_get(j, "events"), json_object());
    assert_int_equal(fault_set_parse(j, "$", 0, &fs, &err), KAERI_ERR_LIMIT);
    assert_string_equal(err.where, "$.events");
    json_decref(j);
}

/* ---- delivery plans ---- */

/*
 * Feed events 1..n on 'ch' (every 'step_ms' ms), flush at the end, and
 * write the plan as text: "3+10 1 2d+4 x5 ..." (event, delay, flags:
 * r reorder, d duplicate, ! disconnect; x = dropped, X = disconnected).
 */
static void trace(struct fault_stream *st, const char *ch, int n,
                  uint64_t step_ms, char *out, size_t size)
{
    struct chanrule_channel c = channel(ch);
    struct fault_plan plan;
    size_t len = 0;

    fault_plan_init(&plan);
    for (int i = 1; i <= n; i++)
        fault_stream_feed(st, &c, EV(i), (uint64_t)i * step_ms, &plan);
    fault_stream_flush(st, (uint64_t)(n + 1) * step_ms, &plan);
    out[0] = '\0';
    for (size_t i = 0; i < plan.n && len < size; i++) {
        const struct fault_delivery *d = &plan.deliveries[i];

        len += (size_t)snprintf(
            out + len, size - len, "%d%s%s%s+%u ", NUM(d->event),
            d->faults & FAULT_REORDER ? "r" : "",
            d->faults & FAULT_DUPLICATE ? "d" : "",
            d->faults & FAULT_DISCONNECT ? "!" : "", d->delay_ms);
    }
    for (size_t i = 0; i < plan.ndropped && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%c%d ",
                                plan.dropped[i].faults & FAULT_DROP ? 'x' : 'X',
                                NUM(plan.dropped[i].event));
    fault_plan_release(&plan);
}

#define MIXED                                                           \
    "{'seed': %d, 'events': [{'channel': '/ns/*', 'reorderWindow': 4, " \
    "'duplicate': 0.2, 'drop': 0.1, 'delayMs': [0, 30]}]}"

static char *plan_for(int seed, const char *key)
{
    char sq[512], *out = malloc(8192);
    struct fault_set *fs;
    struct fault_stream *st;

    snprintf(sq, sizeof(sq), MIXED, seed);
    fs = set_ok(sq, 0);
    st = fault_stream_new(fs, key);
    fault_set_free(fs); /* the stream keeps what it needs */
    trace(st, "/ns/a", 100, 1, out, 8192);
    fault_stream_free(st);
    return out;
}

static void test_determinism(void **state)
{
    char *a = plan_for(7, "1/sub-a"), *b = plan_for(7, "1/sub-a");
    char *c = plan_for(8, "1/sub-a"), *d = plan_for(7, "2/sub-a");

    (void)state;
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    /* the mix did something of each kind */
    assert_non_null(strchr(a, 'r'));
    assert_non_null(strchr(a, 'd'));
    assert_non_null(strchr(a, 'x'));
    free(a);
    free(b);
    free(c);
    free(d);
}

/* Events of channels no rule covers do not disturb the covered ones. */
static void test_unrelated_traffic(void **state)
{
    struct fault_set *fs = set_ok(
        "{'seed': 7, 'events': [{'channel': '/ns/a', 'reorderWindow': 3, "
        "'duplicate': 0.5, 'delayMs': [0, 9]}]}",
        0);
    struct fault_stream *quiet = fault_stream_new(fs, "k");
    struct fault_stream *busy = fault_stream_new(fs, "k");
    struct chanrule_channel a = channel("/ns/a"), b = channel("/ns/b");
    struct fault_plan p1, p2;
    size_t k = 0;

    (void)state;
    fault_plan_init(&p1);
    fault_plan_init(&p2);
    for (int i = 1; i <= 60; i++) {
        fault_stream_feed(quiet, &a, EV(i), 0, &p1);
        fault_stream_feed(busy, &b, EV(1000 + i), 0, &p2);
        fault_stream_feed(busy, &a, EV(i), 0, &p2);
    }
    for (size_t i = 0; i < p2.n; i++) {
        const struct fault_delivery *d = &p2.deliveries[i];

        if (NUM(d->event) >= 1000) {
            assert_int_equal(d->rule, -1); /* passed through */
            assert_false(d->faults & ~(unsigned)FAULT_DELAY);
            continue;
        }
        assert_true(k < p1.n);
        assert_ptr_equal(d->event, p1.deliveries[k].event);
        assert_int_equal(d->faults & ~(unsigned)FAULT_DELAY,
                         p1.deliveries[k].faults & ~(unsigned)FAULT_DELAY);
        k++;
    }
    assert_int_equal(k, p1.n);
    fault_plan_release(&p1);
    fault_plan_release(&p2);
    fault_stream_free(quiet);
    fault_stream_free(busy);
    fault_set_free(fs);
}

static void test_reorder_exactly_once(void **state)
{
    struct fault_set *fs =
        set_ok("{'events': [{'channel': '/ns/*', 'reorderWindow': 4}]}", 11);
    struct fault_stream *st = fault_stream_new(fs, "c/s");
    struct chanrule_channel ch = channel("/ns/x/y");
    struct fault_plan plan;
    int seen[103] = {0};
    bool moved = false;

    (void)state;
    fault_plan_init(&plan);
    for (int i = 1; i <= 102; i++) {
        size_t before = plan.n;

        fault_stream_feed(st, &ch, EV(i), 0, &plan);
        /* a window releases all it holds once full, and nothing before */
        assert_int_equal(plan.n - before, i % 4 == 0 ? 4 : 0);
        if (i % 4 == 0) {
            for (size_t k = before; k < plan.n; k++) {
                int e = NUM(plan.deliveries[k].event);

                assert_in_range(e, i - 3, i); /* within its window */
                moved |= (plan.deliveries[k].faults & FAULT_REORDER) != 0;
                assert_int_equal((plan.deliveries[k].faults & FAULT_REORDER) !=
                                     0,
                                 e != i - 3 + (int)(k - before));
            }
        }
    }
    assert_true(moved);
    assert_int_equal(fault_stream_held(st), 2);
    fault_stream_flush(st, 0, &plan);
    assert_int_equal(fault_stream_held(st), 0);
    assert_int_equal(plan.n, 102);
    assert_int_equal(plan.ndropped, 0);
    for (size_t k = 0; k < plan.n; k++) {
        seen[NUM(plan.deliveries[k].event)]++;
        assert_int_equal(plan.deliveries[k].delay_ms, 0);
        assert_int_equal(plan.deliveries[k].rule, 0);
    }
    for (int i = 1; i <= 102; i++)
        assert_int_equal(seen[i], 1);
    /* a second flush has nothing left */
    fault_stream_flush(st, 0, &plan);
    assert_int_equal(plan.n, 102);
    fault_plan_release(&plan);
    fault_stream_free(st);
    fault_set_free(fs);
}

static void test_duplicate_and_drop(void **state)
{
    struct fault_set *dup = set_ok("{'events': [{'duplicate': 1.0}]}", 1);
    struct fault_set *drop = set_ok("{'events': [{'drop': 1}]}", 1);
    struct fault_stream *a = fault_stream_new(dup, "k");
    struct fault_stream *b = fault_stream_new(drop, "k");
    struct chanrule_channel ch = channel("/any/where");
    struct fault_plan pa, pb;

    (void)state;
    fault_plan_init(&pa);
    fault_plan_init(&pb);
    for (int i = 1; i <= 20; i++) {
        fault_stream_feed(a, &ch, EV(i), 0, &pa);
        fault_stream_feed(b, &ch, EV(i), 0, &pb);
    }
    assert_int_equal(pa.n, 40);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(NUM(pa.deliveries[2 * i].event), i + 1);
        assert_int_equal(pa.deliveries[2 * i].faults, 0);
        assert_int_equal(NUM(pa.deliveries[2 * i + 1].event), i + 1);
        assert_int_equal(pa.deliveries[2 * i + 1].faults, FAULT_DUPLICATE);
    }
    assert_int_equal(pb.n, 0);
    assert_int_equal(pb.ndropped, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(NUM(pb.dropped[i].event), i + 1);
        assert_int_equal(pb.dropped[i].faults, FAULT_DROP);
        assert_int_equal(pb.dropped[i].rule, 0);
    }
    /* reset keeps the memory and empties both lists */
    fault_plan_reset(&pb);
    assert_int_equal(pb.ndropped, 0);
    fault_plan_release(&pa);
    fault_plan_release(&pb);
    fault_stream_free(a);
    fault_stream_free(b);
    fault_set_free(dup);
    fault_set_free(drop);
}

static void test_delay_bounds(void **state)
{
    struct fault_set *fs = set_ok("{'events': [{'delayMs': [10, 20]}]}", 5);
    struct fault_set *fixed = set_ok("{'events': [{'delayMs': 5}]}", 5);
    struct fault_stream *st = fault_stream_new(fs, "k");
    struct fault_stream *f = fault_stream_new(fixed, "k");
    struct chanrule_channel ch = channel("/ns/a");
    struct fault_plan plan;
    uint64_t last_due = 0;
    bool varied = false;

    (void)state;
    fault_plan_init(&plan);
    /* a burst at one instant: delays stay in bounds and never decrease */
    for (int i = 1; i <= 200; i++)
        fault_stream_feed(st, &ch, EV(i), 1000, &plan);
    for (size_t k = 0; k < plan.n; k++) {
        uint32_t d = plan.deliveries[k].delay_ms;

        assert_in_range(d, 10, 20);
        assert_true(1000 + d >= last_due);
        last_due = 1000 + d;
        assert_int_equal(plan.deliveries[k].faults, FAULT_DELAY);
        varied |= d != plan.deliveries[0].delay_ms;
    }
    fault_plan_reset(&plan);
    /* spaced out: each delay is its own draw within bounds */
    for (int i = 1; i <= 200; i++)
        fault_stream_feed(st, &ch, EV(i), 2000 + (uint64_t)i * 100, &plan);
    for (size_t k = 0; k < plan.n; k++) {
        assert_in_range(plan.deliveries[k].delay_ms, 10, 20);
        varied |= plan.deliveries[k].delay_ms != plan.deliveries[0].delay_ms;
    }
    assert_true(varied);
    fault_plan_reset(&plan);
    for (int i = 1; i <= 10; i++)
        fault_stream_feed(f, &ch, EV(i), (uint64_t)i * 50, &plan);
    for (size_t k = 0; k < plan.n; k++)
        assert_int_equal(plan.deliveries[k].delay_ms, 5);
    fault_plan_release(&plan);
    fault_stream_free(st);
    fault_stream_free(f);
    fault_set_free(fs);
    fault_set_free(fixed);
}

static void test_disconnect_after(void **state)
{
    struct fault_set *fs =
        set_ok("{'events': [{'channel': '/ns/*', 'disconnectAfter': 3}]}", 5);
    struct fault_stream *st = fault_stream_new(fs, "k");
    char out[512];

    (void)state;
    trace(st, "/ns/a", 6, 1, out, sizeof(out));
    assert_string_equal(out, "1+0 2+0 3!+0 X4 X5 X6 ");
    assert_true(fault_stream_disconnected(st));
    fault_stream_free(st);

    /* with a window, events held when the limit hits are not delivered */
    fault_set_free(fs);
    fs = set_ok("{'seed': 1, 'events': [{'disconnectAfter': 2, "
                "'reorderWindow': 4}]}",
                0);
    st = fault_stream_new(fs, "k");
    trace(st, "/ns/a", 5, 1, out, sizeof(out));
    {
        int delivered = 0, gone = 0;

        for (char *p = out; *p; p++) {
            delivered += *p == '+';
            gone += *p == 'X';
        }
        assert_int_equal(delivered, 2);
        assert_int_equal(gone, 3);
        assert_non_null(strchr(out, '!'));
    }
    fault_stream_free(st);
    fault_set_free(fs);
}

/* A fresh stream for each trace: trace() restarts its clock at 1 ms. */
static void trace_new(const struct fault_set *fs, const char *ch, int n,
                      char *out, size_t size)
{
    struct fault_stream *st = fault_stream_new(fs, "k");

    trace(st, ch, n, 1, out, size);
    fault_stream_free(st);
}

static void test_rule_selection(void **state)
{
    struct fault_set *fs = set_ok(
        "{'events': [{'channel': '/ns/a', 'drop': 1}, {'channel': '/ns/*', "
        "'duplicate': 1}]}",
        5);
    struct fault_stream *none = fault_stream_new(NULL, "k");
    char out[512];

    (void)state;
    trace_new(fs, "/ns/a", 2, out, sizeof(out));
    assert_string_equal(out, "x1 x2 ");
    trace_new(fs, "/ns/b/c", 2, out, sizeof(out));
    assert_string_equal(out, "1+0 1d+0 2+0 2d+0 ");
    trace_new(fs, "/other/a", 2, out, sizeof(out));
    assert_string_equal(out, "1+0 2+0 ");
    trace(none, "/ns/a", 3, 1, out, sizeof(out));
    assert_string_equal(out, "1+0 2+0 3+0 ");
    assert_int_equal(fault_stream_held(none), 0);
    assert_false(fault_stream_disconnected(none));
    fault_stream_free(none);
    fault_stream_free(NULL);
    fault_set_free(fs);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fault_kind_name(FAULT_DROP), "drop");
    assert_string_equal(fault_kind_name(FAULT_DUPLICATE), "duplicate");
    assert_string_equal(fault_kind_name(FAULT_DELAY), "delay");
    assert_string_equal(fault_kind_name(FAULT_REORDER), "reorder");
    assert_string_equal(fault_kind_name(FAULT_DISCONNECT), "disconnect");
    assert_null(fault_model_error_name(FAULT_MODEL_ERROR_NONE));
    assert_string_equal(fault_model_error_name(FAULT_MODEL_STREAM_ERROR),
                        "modelStreamErrorException");
    assert_string_equal(fault_model_error_name(FAULT_VALIDATION),
                        "validationException");
}

/* ---- Bedrock ---- */

static void test_bedrock(void **state)
{
    struct fault_set *fs = set_ok(
        "{'seed': 7, 'bedrock': ["
        "{'model': 'apac.amazon.nova-micro-v1:0', 'throttleFirst': 2},"
        "{'model': 'anthropic.*', 'errorAfterDeltas': 3, 'stallMs': 250,"
        " 'stallAfterDeltas': 1},"
        "{'model': 'broken-?', 'unavailable': true, 'errorAfterDeltas': 0,"
        " 'error': 'internalServerException'},"
        "{'model': 'flaky', 'throttleRate': 0.5},"
        "{'model': 'always', 'throttleFirst': 1, 'throttleRate': 1.0}]}",
        0);
    struct fault_bedrock b;
    int throttled = 0;

    (void)state;
    fault_bedrock_decide(fs, "apac.amazon.nova-micro-v1:0", 0, &b);
    assert_int_equal(b.rule, 0);
    assert_true(b.throttle);
    fault_bedrock_decide(fs, "apac.amazon.nova-micro-v1:0", 1, &b);
    assert_true(b.throttle);
    fault_bedrock_decide(fs, "apac.amazon.nova-micro-v1:0", 2, &b);
    assert_false(b.throttle);
    assert_false(b.unavailable);
    assert_int_equal(b.error, FAULT_MODEL_ERROR_NONE);
    assert_int_equal(b.stall_ms, 0);

    fault_bedrock_decide(fs, "anthropic.claude-3-haiku-20240307-v1:0", 0, &b);
    assert_int_equal(b.rule, 1);
    assert_false(b.throttle);
    assert_int_equal(b.error, FAULT_MODEL_STREAM_ERROR); /* the default */
    assert_true(b.error_after_deltas == 3);
    assert_int_equal(b.stall_ms, 250);
    assert_true(b.stall_after_deltas == 1);

    fault_bedrock_decide(fs, "broken-1", 0, &b);
    assert_int_equal(b.rule, 2);
    assert_true(b.unavailable);
    assert_int_equal(b.error, FAULT_INTERNAL_SERVER);
    assert_true(b.error_after_deltas == 0);
    fault_bedrock_decide(fs, "broken-12", 0, &b);
    assert_int_equal(b.rule, -1);

    for (uint64_t i = 0; i < 400; i++) {
        struct fault_bedrock again;

        fault_bedrock_decide(fs, "flaky", i, &b);
        fault_bedrock_decide(fs, "flaky", i, &again);
        assert_int_equal(b.throttle, again.throttle); /* stateless */
        throttled += b.throttle;
    }
    assert_in_range(throttled, 140, 260);
    for (uint64_t i = 0; i < 10; i++) {
        fault_bedrock_decide(fs, "always", i, &b);
        assert_true(b.throttle);
    }

    fault_bedrock_decide(fs, "unknown-model", 0, &b);
    assert_int_equal(b.rule, -1);
    assert_false(b.throttle || b.unavailable);
    fault_bedrock_decide(NULL, "apac.amazon.nova-micro-v1:0", 0, &b);
    assert_int_equal(b.rule, -1);
    fault_set_free(fs);

    /* the CONTRACT's example: first call throttled, error after 3 deltas */
    fs = set_ok(CONTRACT_EXAMPLE, 0);
    fault_bedrock_decide(fs, "apac.amazon.nova-micro-v1:0", 0, &b);
    assert_true(b.throttle);
    fault_bedrock_decide(fs, "apac.amazon.nova-micro-v1:0", 1, &b);
    assert_false(b.throttle);
    assert_int_equal(b.error, FAULT_MODEL_STREAM_ERROR);
    assert_true(b.error_after_deltas == 3);
    fault_set_free(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_contract_example),
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_unrelated_traffic),
        cmocka_unit_test(test_reorder_exactly_once),
        cmocka_unit_test(test_duplicate_and_drop),
        cmocka_unit_test(test_delay_bounds),
        cmocka_unit_test(test_disconnect_after),
        cmocka_unit_test(test_rule_selection),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bedrock),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

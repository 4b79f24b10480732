/*
 * test_hub.c - delivery of AppSync Events to subscriptions: which
 * patterns match which channels (a table), fan-out exactly once and in
 * publish order to many subscribers, a slow subscriber closed without
 * slowing the others, and the seeded faults (drop, duplicate, delay,
 * reorder, disconnectAfter) giving the same plan on every run. Timers run
 * on a real struct loop driven by loop_run_once(); connections are
 * stub_ws transports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "fault.h"
#include "hub.h"
#include "loop.h"
#include "stub_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct loop *loop;

static int setup(void **state)
{
    (void)state;
    loop = loop_new();
    return loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    loop_free(loop);
    return 0;
}

static struct chanrule_channel chan(const char *s, enum chanrule_op op)
{
    struct chanrule_channel c;

    assert_int_equal(chanrule_channel_parse(s, strlen(s), op, &c, NULL),
                     KAERI_OK);
    return c;
}

static void subscribe(struct hub *h, uint64_t conn, const char *id,
                      const char *pattern)
{
    struct chanrule_channel p = chan(pattern, CHANRULE_SUBSCRIBE);

    assert_int_equal(hub_subscribe(h, conn, id, &p), KAERI_OK);
}

static size_t publish(struct hub *h, const char *channel, const char *event)
{
    struct chanrule_channel c = chan(channel, CHANRULE_PUBLISH);

    return hub_publish(h, &c, event, strlen(event));
}

/*
 * Read every data frame 's' holds: appends "<sub id>:<event>" to 'out'
 * (an array of strings) and fails on anything else.
 */
static void collect(struct stub_ws *s, json_t *out)
{
    json_t *f;

    while ((f = stub_ws_next(s))) {
        char line[512];

        assert_string_equal(json_string_value(json_object_get(f, "type")),
                            "data");
        snprintf(line, sizeof(line), "%s:%s",
                 json_string_value(json_object_get(f, "id")),
                 json_string_value(json_object_get(f, "event")));
        json_array_append_new(out, json_string(line));
        json_decref(f);
    }
}

/* Run the loop until 'h' has nothing queued or held for 'ms' ms. */
static void run_for(int ms)
{
    int64_t end = clock_mono_us() + (int64_t)ms * 1000;

    while (clock_mono_us() < end)
        loop_run_once(loop, 5);
}

/* ---- matching ----------------------------------------------------------- */

struct match_case {
    const char *pattern;
    const char *channel;
    bool match;
};

static const struct match_case match_cases[] = {
    {"/default/a", "/default/a", true},
    {"default/a", "/default/a", true}, /* leading '/' optional */
    {"/default/a", "/default/b", false},
    {"/default/a", "/default/a/b", false},
    {"/default/*", "/default/a", true},
    {"/default/*", "/default/a/b/c", true},
    {"/default/*", "/other/a", false},
    {"/default/a/*", "/default/a/b", true},
    {"/default/a/*", "/default/a", false},
    {"/default/a/*", "/default/ab/c", false},
    {"/Default/a", "/default/a", false}, /* case-sensitive */
    {"/bedrock-stream-response/a11ce/*", "/bedrock-stream-response/a11ce/s1",
     true},
    {"/bedrock-stream-response/a11ce/*", "/bedrock-stream-response/b0b/s1",
     false},
};

static void test_match_table(void **state)
{
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws s;

    (void)state;
    stub_ws_open(&s, NULL, 1, NULL);
    hub_conn_add(h, &s.conn);
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        char id[16];
        size_t n;

        snprintf(id, sizeof(id), "m%zu", i);
        subscribe(h, 1, id, c->pattern);
        n = publish(h, c->channel, "1");
        if (n != (c->match ? 1u : 0u))
            fail_msg("'%s' vs '%s': %zu matches", c->pattern, c->channel, n);
        assert_int_equal(stub_ws_pending(&s), n);
        stub_ws_drain(&s);
        assert_int_equal(hub_unsubscribe(h, 1, id), KAERI_OK);
    }
    hub_free(h);
    stub_ws_finish(&s);
}

/* Subscription ids are per connection; unknown ones are refused. */
static void test_subscription_ids(void **state)
{
    struct hub *h = hub_new(loop, "unit");
    struct chanrule_channel p = chan("/d/*", CHANRULE_SUBSCRIBE);
    struct stub_ws a, b;

    (void)state;
    stub_ws_open(&a, NULL, 1, NULL);
    stub_ws_open(&b, NULL, 2, NULL);
    hub_conn_add(h, &a.conn);
    hub_conn_add(h, &b.conn);
    assert_int_equal(hub_subscribe(h, 1, "s", &p), KAERI_OK);
    assert_int_equal(hub_subscribe(h, 1, "s", &p), KAERI_ERR_EXISTS);
    assert_int_equal(hub_subscribe(h, 2, "s", &p), KAERI_OK);
    assert_int_equal(hub_subscribe(h, 3, "s", &p), KAERI_ERR_NOT_FOUND);
    assert_int_equal(hub_subscription_count(h, 1), 1);
    assert_int_equal(hub_unsubscribe(h, 1, "t"), KAERI_ERR_NOT_FOUND);
    assert_int_equal(hub_unsubscribe(h, 1, "s"), KAERI_OK);
    assert_int_equal(hub_unsubscribe(h, 1, "s"), KAERI_ERR_NOT_FOUND);
    assert_int_equal(publish(h, "/d/x", "2"), 1);
    assert_int_equal(stub_ws_pending(&a), 0);
    assert_int_equal(stub_ws_pending(&b), 1);
    hub_conn_remove(h, 2);
    assert_int_equal(publish(h, "/d/x", "3"), 0);
    hub_conn_remove(h, 99); /* unknown: nothing */
    hub_free(h);
    stub_ws_finish(&a);
    stub_ws_finish(&b);
}

/* ---- fan-out ------------------------------------------------------------ */

#define FAN_CONNS  50
#define FAN_EVENTS 200

/*
 * Every subscriber gets every matching event once, in publish order; a
 * connection with two matching subscriptions gets one frame per
 * subscription; a subscriber of another channel gets nothing.
 */
static void test_fanout_exactly_once_in_order(void **state)
{
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws *conns = calloc(FAN_CONNS, sizeof(*conns));
    struct hub_stats st;

    (void)state;
    for (int i = 0; i < FAN_CONNS; i++) {
        stub_ws_open(&conns[i], NULL, (uint64_t)i + 1, NULL);
        hub_conn_add(h, &conns[i].conn);
        subscribe(h, (uint64_t)i + 1, "exact", "/chat/room1");
        if (i % 5 == 0)
            subscribe(h, (uint64_t)i + 1, "wild", "/chat/*");
        if (i % 7 == 0)
            subscribe(h, (uint64_t)i + 1, "other", "/chat/room2");
    }
    for (int e = 0; e < FAN_EVENTS; e++) {
        char event[32];

        snprintf(event, sizeof(event), "{\"seq\":%d}", e);
        publish(h, "/chat/room1", event);
    }
    for (int i = 0; i < FAN_CONNS; i++) {
        json_t *got = json_array();
        int exact = 0, wild = 0;

        collect(&conns[i], got);
        assert_int_equal(json_array_size(got),
                         FAN_EVENTS * (i % 5 == 0 ? 2 : 1));
        for (size_t k = 0; k < json_array_size(got); k++) {
            const char *line = json_string_value(json_array_get(got, k));
            char want[64];
            int *n = !strncmp(line, "exact:", 6) ? &exact : &wild;

            snprintf(want, sizeof(want), "%s:{\"seq\":%d}",
                     n == &exact ? "exact" : "wild", *n);
            assert_string_equal(line, want);
            (*n)++;
        }
        json_decref(got);
    }
    hub_stats(h, &st);
    assert_int_equal(st.published, FAN_EVENTS);
    assert_int_equal(st.sent, FAN_EVENTS * (FAN_CONNS + FAN_CONNS / 5));
    assert_int_equal(st.dropped + st.duplicated + st.overflows, 0);
    hub_free(h);
    for (int i = 0; i < FAN_CONNS; i++)
        stub_ws_finish(&conns[i]);
    free(conns);
}

/*
 * A subscriber that does not read fills its queue: it alone is closed
 * (policy violation), the others get every event, and it gets nothing
 * after the overflow.
 */
static void test_slow_subscriber(void **state)
{
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws fast, slow;
    struct hub_stats st;
    size_t slow_got;
    json_t *got = json_array();

    (void)state;
    stub_ws_open(&fast, NULL, 1, NULL);
    stub_ws_open(&slow, NULL, 2, NULL);
    slow.queue_max = 2000; /* about 40 frames */
    hub_conn_add(h, &fast.conn);
    hub_conn_add(h, &slow.conn);
    subscribe(h, 1, "f", "/d/*");
    subscribe(h, 2, "s", "/d/*");
    for (int e = 0; e < 100; e++) {
        char event[32];

        snprintf(event, sizeof(event), "%d", e);
        assert_true(publish(h, "/d/x", event) >= 1);
        collect(&fast, got); /* the fast one reads as it goes */
    }
    assert_int_equal(json_array_size(got), 100);
    assert_true(slow.closing);
    assert_int_equal(slow.close_code, 1008);
    slow_got = slow.sent;
    assert_true(slow_got > 10 && slow_got < 100);
    hub_stats(h, &st);
    assert_int_equal(st.overflows, 1);
    /* the slow one reads its backlog now: still nothing new */
    stub_ws_drain(&slow);
    publish(h, "/d/x", "late");
    assert_int_equal(slow.sent, slow_got);
    assert_int_equal(stub_ws_pending(&fast), 1);
    hub_conn_remove(h, 2);
    stub_ws_finish(&slow);
    hub_free(h);
    stub_ws_finish(&fast);
    json_decref(got);
}

/* ---- faults -------------------------------------------------------------- */

static struct fault_set *faults(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    struct fault_set *fs = NULL;
    struct kaeri_error err = {0};

    assert_non_null(j);
    if (fault_set_parse(j, "$", 1, &fs, &err))
        fail_msg("faults: %s: %s", err.where, err.text);
    json_decref(j);
    return fs;
}

/*
 * Publish 'n' events to "/chat/a" with the fault set 'fs' on two
 * subscribers, run the loop until everything is out, and return what
 * subscriber 1 received (array of "sub:event").
 */
static json_t *run_faulted_as(const struct fault_set *fs, int n,
                              uint64_t first_conn, const char *sub_id,
                              struct hub_stats *st)
{
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws a, b;
    json_t *got = json_array(), *other = json_array();

    stub_ws_open(&a, NULL, first_conn, NULL);
    stub_ws_open(&b, NULL, first_conn + 1, NULL);
    hub_conn_add(h, &a.conn);
    hub_conn_add(h, &b.conn);
    hub_set_faults(h, fs, 1);
    subscribe(h, first_conn, sub_id, "/chat/*");
    subscribe(h, first_conn + 1, sub_id, "/chat/a");
    for (int e = 0; e < n; e++) {
        char event[16];

        snprintf(event, sizeof(event), "%d", e);
        publish(h, "/chat/a", event);
        publish(h, "/other/a", "x"); /* matches nothing */
    }
    run_for(FAULT_FLUSH_IDLE_MS + 150);
    collect(&a, got);
    collect(&b, other);
    hub_stats(h, st);
    hub_free(h);
    stub_ws_finish(&a);
    stub_ws_finish(&b);
    json_decref(other);
    return got;
}

static json_t *run_faulted(const struct fault_set *fs, int n,
                           struct hub_stats *st)
{
    return run_faulted_as(fs, n, 1, "s", st);
}

/* Lines "sub:event" without the subscription id. */
static void strip_ids(json_t *lines)
{
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const char *line = json_string_value(json_array_get(lines, i));

        json_array_set_new(lines, i, json_string(strchr(line, ':') + 1));
    }
}

/*
 * The same seed and traffic give the same deliveries, faults and all,
 * whatever the connection and subscription ids (they depend on the
 * process's past; Amplify's subscription ids are random).
 */
static void test_faults_repeatable(void **state)
{
    struct fault_set *fs =
        faults("{\"seed\": 7, \"events\": [{\"channel\": \"/chat/*\","
               " \"reorderWindow\": 4, \"duplicate\": 0.2, \"drop\": 0.1,"
               " \"delayMs\": [0, 20]}]}");
    struct hub_stats s1, s2;
    json_t *r1, *r2;
    bool in_order = true;
    int n = 0;

    (void)state;
    r1 = run_faulted(fs, 40, &s1);
    r2 = run_faulted_as(fs, 40, 77, "9e1c-uuid", &s2);
    strip_ids(r1);
    strip_ids(r2);
    assert_true(json_equal(r1, r2));
    assert_true(s1.dropped > 0 && s1.duplicated > 0 && s1.reordered > 0 &&
                s1.delayed > 0);
    assert_int_equal(s1.dropped, s2.dropped);
    assert_int_equal(s1.duplicated, s2.duplicated);
    /* nothing lost that the plan did not drop (two subscribers) */
    assert_int_equal(s1.sent, 2 * 40 - s1.dropped + s1.duplicated);
    for (size_t i = 0; i < json_array_size(r1); i++) {
        int seq = atoi(json_string_value(json_array_get(r1, i)));

        if (seq < n)
            in_order = false;
        n = seq;
    }
    assert_false(in_order);
    json_decref(r1);
    json_decref(r2);
    fault_set_free(fs);
}

/*
 * Putting the same set again (a new generation) replays the same plan
 * for a new subscription of the same pattern in the same hub.
 */
static void test_faults_replay_after_put(void **state)
{
    struct fault_set *fs =
        faults("{\"seed\": 7, \"events\": [{\"reorderWindow\": 4,"
               " \"duplicate\": 0.25}]}");
    struct hub *h = hub_new(loop, "unit");
    json_t *runs[2];

    (void)state;
    for (int r = 0; r < 2; r++) {
        struct stub_ws a;
        char id[16];

        stub_ws_open(&a, NULL, 10 + (uint64_t)r, NULL);
        hub_conn_add(h, &a.conn);
        snprintf(id, sizeof(id), "r%d", r);
        subscribe(h, 10 + (uint64_t)r, id, "/default/faulty");
        hub_set_faults(h, fs, 1 + (uint64_t)r);
        for (int e = 0; e < 16; e++) {
            char event[16];

            snprintf(event, sizeof(event), "%d", e);
            publish(h, "/default/faulty", event);
        }
        runs[r] = json_array();
        collect(&a, runs[r]);
        strip_ids(runs[r]);
        hub_conn_remove(h, 10 + (uint64_t)r);
        stub_ws_finish(&a);
    }
    assert_true(json_array_size(runs[0]) >= 16);
    assert_true(json_equal(runs[0], runs[1]));
    json_decref(runs[0]);
    json_decref(runs[1]);
    hub_free(h);
    fault_set_free(fs);
}

/* A delay alone never reorders; events wait on the loop's timers. */
static void test_delay_keeps_order(void **state)
{
    struct fault_set *fs =
        faults("{\"seed\": 3, \"events\": [{\"delayMs\": [0, 30]}]}");
    struct hub_stats st;
    json_t *got;

    (void)state;
    got = run_faulted(fs, 30, &st);
    assert_int_equal(json_array_size(got), 30);
    for (size_t i = 0; i < 30; i++) {
        char want[16];

        snprintf(want, sizeof(want), "s:%zu", i);
        assert_string_equal(json_string_value(json_array_get(got, i)), want);
    }
    assert_true(st.delayed > 0);
    json_decref(got);
    fault_set_free(fs);
}

/* disconnectAfter: N frames, then the connection is closed (going away). */
static void test_disconnect_after(void **state)
{
    struct fault_set *fs = faults(
        "{\"events\": [{\"channel\": \"/chat/*\", \"disconnectAfter\": 3}]}");
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws a, b;
    struct hub_stats st;

    (void)state;
    stub_ws_open(&a, NULL, 1, NULL);
    stub_ws_open(&b, NULL, 2, NULL);
    hub_conn_add(h, &a.conn);
    hub_conn_add(h, &b.conn);
    hub_set_faults(h, fs, 1);
    subscribe(h, 1, "s", "/chat/*");
    subscribe(h, 2, "s", "/other/*");
    for (int e = 0; e < 10; e++) {
        publish(h, "/chat/a", "1");
        publish(h, "/other/a", "2");
    }
    assert_int_equal(a.sent, 3);
    assert_true(a.closing);
    assert_int_equal(a.close_code, 1001);
    assert_int_equal(b.sent, 10); /* no rule for its channel */
    assert_false(b.closing);
    hub_stats(h, &st);
    assert_int_equal(st.disconnects, 1);
    hub_free(h);
    stub_ws_finish(&a);
    stub_ws_finish(&b);
    fault_set_free(fs);
}

/*
 * A partly filled reorder window is released after the idle flush; a new
 * fault generation releases it at once; closing a connection with events
 * still queued or held frees them (ASan checks).
 */
static void test_reorder_flush_and_cleanup(void **state)
{
    struct fault_set *fs =
        faults("{\"seed\": 1, \"events\": [{\"reorderWindow\": 8}]}");
    struct fault_set *slow =
        faults("{\"seed\": 1, \"events\": [{\"delayMs\": 5000}]}");
    struct hub *h = hub_new(loop, "unit");
    struct stub_ws a;

    (void)state;
    stub_ws_open(&a, NULL, 1, NULL);
    hub_conn_add(h, &a.conn);
    hub_set_faults(h, fs, 1);
    subscribe(h, 1, "s", "/d/*");
    publish(h, "/d/x", "1");
    publish(h, "/d/x", "2");
    publish(h, "/d/x", "3");
    assert_int_equal(stub_ws_pending(&a), 0); /* held in the window */
    run_for(FAULT_FLUSH_IDLE_MS + 50);
    assert_int_equal(stub_ws_pending(&a), 3);
    stub_ws_drain(&a);
    publish(h, "/d/x", "4");
    assert_int_equal(stub_ws_pending(&a), 0);
    hub_set_faults(h, slow, 2); /* generation change: released now */
    assert_int_equal(stub_ws_pending(&a), 1);
    stub_ws_drain(&a);
    publish(h, "/d/x", "5"); /* due in 5 s */
    publish(h, "/d/x", "6");
    assert_int_equal(stub_ws_pending(&a), 0);
    hub_conn_remove(h, 1); /* frees the queued pair and stops the timer */
    run_for(20);
    hub_free(h);
    stub_ws_finish(&a);
    fault_set_free(fs);
    fault_set_free(slow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_subscription_ids),
        cmocka_unit_test(test_fanout_exactly_once_in_order),
        cmocka_unit_test(test_slow_subscriber),
        cmocka_unit_test(test_faults_repeatable),
        cmocka_unit_test(test_faults_replay_after_put),
        cmocka_unit_test(test_delay_keeps_order),
        cmocka_unit_test(test_disconnect_after),
        cmocka_unit_test(test_reorder_flush_and_cleanup),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

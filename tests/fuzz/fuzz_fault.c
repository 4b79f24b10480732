/*
 * fuzz_fault.c - libFuzzer target for fault.c. The input is a fault set
 * (JSON); a failure must say where and why and own nothing. A set that
 * parses must round-trip through fault_set_json(), and drives two
 * identical delivery streams over a fixed traffic pattern on three
 * channels: their plans must agree (determinism), every fed event must be
 * delivered once or twice (a duplicate) or be dropped, nothing may stay
 * held after a flush, and no delivery follows a disconnect. Bedrock
 * decisions for a few model ids must be stateless.
 */
#include "fault.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EVENTS 64

static void run(const struct fault_set *fs, struct fault_plan *plan)
{
    static const char *const names[] = {"/ns/a", "/ns/a/b",
                                        "/bedrock-stream-response/u/s"};
    struct chanrule_channel ch[3];
    struct fault_stream *st = fault_stream_new(fs, "7/sub-1");

    for (size_t i = 0; i < 3; i++)
        if (chanrule_channel_parse(names[i], strlen(names[i]), CHANRULE_PUBLISH,
                                   &ch[i], NULL))
            abort();
    for (uintptr_t i = 1; i <= EVENTS; i++)
        fault_stream_feed(st, &ch[i % 3], (void *)i, i * 3, plan);
    fault_stream_flush(st, EVENTS * 3 + 100, plan);
    if (fault_stream_held(st))
        abort();
    fault_stream_free(st);
}

static bool same(const struct fault_delivery *x, const struct fault_delivery *y)
{
    return x->event == y->event && x->delay_ms == y->delay_ms &&
           x->faults == y->faults && x->rule == y->rule;
}

static void check_plan(const struct fault_plan *p)
{
    int delivered[EVENTS + 1] = {0}, dropped[EVENTS + 1] = {0};
    bool gone = false;

    for (size_t i = 0; i < p->n; i++) {
        uintptr_t e = (uintptr_t)p->deliveries[i].event;

        if (e < 1 || e > EVENTS || gone)
            abort();
        delivered[e]++;
        gone = (p->deliveries[i].faults & FAULT_DISCONNECT) != 0;
    }
    for (size_t i = 0; i < p->ndropped; i++) {
        uintptr_t e = (uintptr_t)p->dropped[i].event;

        if (e < 1 || e > EVENTS ||
            !(p->dropped[i].faults & (FAULT_DROP | FAULT_DISCONNECT)))
            abort();
        dropped[e]++;
    }
    for (int e = 1; e <= EVENTS; e++) {
        if (delivered[e] > 2 || dropped[e] > 1)
            abort();
        /* each event delivered, or dropped, or (a duplicate cut short by
           a disconnect) both */
        if (!delivered[e] && !dropped[e])
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const models[] = {"apac.amazon.nova-micro-v1:0",
                                         "anthropic.claude-3", "", "*"};
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    struct kaeri_error err = {{0}, {0}};
    struct fault_set *fs = NULL, *again = NULL;
    struct fault_plan a, b;
    json_t *j1, *j2;

    if (!doc)
        return 0;
    if (fault_set_parse(doc, "$", 42, &fs, &err)) {
        if (fs || !err.where[0] || !err.text[0])
            abort();
        json_decref(doc);
        return 0;
    }
    j1 = fault_set_json(fs);
    if (fault_set_parse(j1, "$", 0, &again, &err))
        abort();
    j2 = fault_set_json(again);
    if (!json_equal(j1, j2))
        abort();

    fault_plan_init(&a);
    fault_plan_init(&b);
    run(fs, &a);
    run(again, &b);
    if (a.n != b.n || a.ndropped != b.ndropped)
        abort();
    for (size_t i = 0; i < a.n; i++)
        if (!same(&a.deliveries[i], &b.deliveries[i]))
            abort();
    for (size_t i = 0; i < a.ndropped; i++)
        if (!same(&a.dropped[i], &b.dropped[i]))
            abort();
    check_plan(&a);
    fault_plan_release(&a);
    fault_plan_release(&b);

    for (size_t m = 0; m < 4; m++) {
        for (uint64_t call = 0; call < 4; call++) {
            struct fault_bedrock x, y;

            fault_bedrock_decide(fs, models[m], call, &x);
            fault_bedrock_decide(again, models[m], call, &y);
            if (x.rule != y.rule || x.throttle != y.throttle ||
                x.unavailable != y.unavailable || x.error != y.error ||
                x.error_after_deltas != y.error_after_deltas ||
                x.stall_ms != y.stall_ms ||
                x.stall_after_deltas != y.stall_after_deltas)
                abort();
        }
    }
    json_decref(j1);
    json_decref(j2);
    fault_set_free(fs);
    fault_set_free(again);
    json_decref(doc);
    return 0;
}

/*
 * hub.c - channels to subscriptions, and delivery with faults (hub.h).
 *
 * An accepted event becomes one refcounted struct hub_event, shared by
 * every subscription it matches. Each subscription feeds it to its fault
 * planner (fault.h; none when no events fault is set) and queues what
 * the plan says in its own FIFO, each entry due at a monotonic time that
 * never runs backwards, so delays do not reorder and one late subscriber
 * does not hold up another. A subscription's send timer empties its FIFO;
 * its flush timer releases a reorder window that has sat idle.
 *
 * Left out on purpose: authorization and channel rules (svc_events.c),
 * the WebSocket itself (ws.h), and any bound of its own on queued bytes:
 * the transport's queue is the one bound, and ws_send_text() says when it
 * is full.
 */
#include "hub.h"
#include "alloc.h"
#include "clock.h"
#include "fault.h"
#include "log.h"
#include "realtime.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUB_BUCKETS 1024 /* connection hash buckets */

/* Close codes (RFC 6455 section 7.4.1). */
#define HUB_CLOSE_GOING_AWAY 1001 /* disconnectAfter: as a server restart */
#define HUB_CLOSE_POLICY     1008 /* the subscriber read too slowly */

struct hub_event {
    unsigned refs;
    size_t len;
    char *text;                       /* the event's JSON text, NUL ended */
    char path[CHANRULE_PATH_MAX + 1]; /* the channel, for logs */
};

struct pending {
    struct hub_event *ev; /* one reference */
    int64_t due_us;       /* monotonic */
    unsigned faults;      /* enum fault_kind, for the log line */
};

struct hub_conn;

struct hub_sub {
    struct hub *hub;
    struct hub_conn *conn;
    char *id;
    struct chanrule_channel pattern;
    size_t index;                /* in hub->subs */
    uint64_t serial;             /* creation order in the hub */
    uint64_t ordinal;            /* among same-pattern subscriptions */
    struct fault_stream *stream; /* NULL: no events fault in force */
    struct pending *q;           /* FIFO: q[head .. head+len) */
    size_t head, len, cap;
    struct loop_timer send_timer;
    struct loop_timer flush_timer;
};

struct hub_conn {
    uint64_t id;
    struct ws_conn *ws;
    bool dead; /* closed by the hub (overflow, fault) or send failed */
    struct hub_sub **subs;
    size_t nsubs, cap;
    struct hub_conn *next; /* hash chain */
};

/* How many subscriptions of one pattern were numbered for the faults. */
struct pattern_count {
    char path[CHANRULE_PATH_MAX + 1];
    uint64_t next;
};

struct hub {
    struct loop *loop;
    char *name;
    struct hub_sub **subs; /* every subscription, in no useful order */
    size_t nsubs, cap;
    struct hub_conn *buckets[HUB_BUCKETS];
    const struct fault_set *faults;
    uint64_t faults_gen;
    bool faults_given;
    uint64_t next_serial;
    struct pattern_count *counts; /* per pattern, since the fault set */
    size_t ncounts, counts_cap;
    struct hub_stats stats;
};

static void sub_send_due(void *ctx);
static void sub_flush_idle(void *ctx);
static void plan_unref_left(struct fault_plan *plan);

/* --- events ----------------------------------------------------------- */

static struct hub_event *event_new(const struct chanrule_channel *ch,
                                   const char *text, size_t len)
{
    struct hub_event *ev = xcalloc(1, sizeof(*ev));

    ev->refs = 1;
    ev->len = len;
    ev->text = xstrndup(text, len);
    snprintf(ev->path, sizeof(ev->path), "%s", ch->path);
    return ev;
}

static void event_ref(struct hub_event *ev)
{
    ev->refs++;
}

static void event_unref(struct hub_event *ev)
{
    if (ev && --ev->refs == 0) {
        free(ev->text);
        free(ev);
    }
}

/* --- connections ------------------------------------------------------ */

static struct hub_conn **bucket(struct hub *h, uint64_t id)
{
    return &h->buckets[(id * 0x9e3779b97f4a7c15ULL) >> 54 & (HUB_BUCKETS - 1)];
}

static struct hub_conn *conn_find(const struct hub *h, uint64_t id)
{
    struct hub_conn *c = *bucket((struct hub *)h, id);

    while (c && c->id != id)
        c = c->next;
    return c;
}

struct hub *hub_new(struct loop *loop, const char *name)
{
    struct hub *h = xcalloc(1, sizeof(*h));

    h->loop = loop;
    h->name = xstrdup(name ? name : "hub");
    return h;
}

void hub_conn_add(struct hub *h, struct ws_conn *c)
{
    struct hub_conn *hc = xcalloc(1, sizeof(*hc));
    struct hub_conn **b = bucket(h, c->id);

    assert(!conn_find(h, c->id));
    hc->id = c->id;
    hc->ws = c;
    hc->next = *b;
    *b = hc;
}

/* Empty the FIFO and stop the timers; the subscription stays listed. */
static void sub_quiesce(struct hub_sub *s)
{
    loop_timer_stop(s->hub->loop, &s->send_timer);
    loop_timer_stop(s->hub->loop, &s->flush_timer);
    for (size_t i = 0; i < s->len; i++)
        event_unref(s->q[(s->head + i) % s->cap].ev);
    s->head = s->len = 0;
    /* held events are the stream's references: give them back */
    if (s->stream) {
        struct fault_plan plan;

        fault_plan_init(&plan);
        fault_stream_flush(s->stream, 0, &plan);
        plan_unref_left(&plan);
        fault_plan_release(&plan);
    }
}

static void sub_free(struct hub_sub *s)
{
    if (!s)
        return;
    sub_quiesce(s);
    fault_stream_free(s->stream);
    free(s->q);
    free(s->id);
    free(s);
}

/* Take 's' out of the hub's list (swap with the last). */
static void sub_unlist(struct hub *h, struct hub_sub *s)
{
    struct hub_sub *last = h->subs[--h->nsubs];

    h->subs[s->index] = last;
    last->index = s->index;
}

/*
 * The connection is unusable: close it (unless the transport already
 * is), stop every delivery to it. Its subscriptions stay until
 * hub_conn_remove(), so nothing the caller iterates is freed under it.
 */
static void conn_kill(struct hub *h, struct hub_conn *c, int code,
                      const char *reason)
{
    if (c->dead)
        return;
    c->dead = true;
    for (size_t i = 0; i < c->nsubs; i++)
        sub_quiesce(c->subs[i]);
    if (code)
        ws_close(c->ws, code, reason);
    (void)h;
}

void hub_conn_remove(struct hub *h, uint64_t id)
{
    struct hub_conn **p = bucket(h, id);
    struct hub_conn *c;

    while (*p && (*p)->id != id)
        p = &(*p)->next;
    c = *p;
    if (!c)
        return;
    *p = c->next;
    for (size_t i = 0; i < c->nsubs; i++) {
        sub_unlist(h, c->subs[i]);
        sub_free(c->subs[i]);
    }
    free(c->subs);
    free(c);
}

void hub_free(struct hub *h)
{
    if (!h)
        return;
    for (size_t b = 0; b < HUB_BUCKETS; b++)
        while (h->buckets[b])
            hub_conn_remove(h, h->buckets[b]->id);
    free(h->subs);
    free(h->counts);
    free(h->name);
    free(h);
}

/* --- subscriptions ---------------------------------------------------- */

static struct hub_sub *conn_sub(const struct hub_conn *c, const char *sub_id,
                                size_t *pos)
{
    for (size_t i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i]->id, sub_id)) {
            if (pos)
                *pos = i;
            return c->subs[i];
        }
    return NULL;
}

/* The next rank for a subscription of 'path' (see sub_feed()). */
static uint64_t next_ordinal(struct hub *h, const char *path)
{
    struct pattern_count *pc;

    for (size_t i = 0; i < h->ncounts; i++)
        if (!strcmp(h->counts[i].path, path))
            return h->counts[i].next++;
    if (h->ncounts == h->counts_cap) {
        h->counts_cap = h->counts_cap ? h->counts_cap * 2 : 8;
        h->counts = xrealloc(h->counts, h->counts_cap * sizeof(*h->counts));
    }
    pc = &h->counts[h->ncounts++];
    snprintf(pc->path, sizeof(pc->path), "%s", path);
    pc->next = 1;
    return 0;
}

enum kaeri_err hub_subscribe(struct hub *h, uint64_t conn_id,
                             const char *sub_id,
                             const struct chanrule_channel *pattern)
{
    struct hub_conn *c = conn_find(h, conn_id);
    struct hub_sub *s;

    if (!c || c->dead)
        return KAERI_ERR_NOT_FOUND;
    if (conn_sub(c, sub_id, NULL))
        return KAERI_ERR_EXISTS;
    s = xcalloc(1, sizeof(*s));
    s->hub = h;
    s->conn = c;
    s->id = xstrdup(sub_id);
    s->pattern = *pattern;
    loop_timer_init(&s->send_timer, sub_send_due, s);
    loop_timer_init(&s->flush_timer, sub_flush_idle, s);
    if (c->nsubs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->subs = xrealloc(c->subs, c->cap * sizeof(*c->subs));
    }
    c->subs[c->nsubs++] = s;
    if (h->nsubs == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->subs = xrealloc(h->subs, h->cap * sizeof(*h->subs));
    }
    s->serial = h->next_serial++;
    s->ordinal = next_ordinal(h, pattern->path);
    s->index = h->nsubs;
    h->subs[h->nsubs++] = s;
    return KAERI_OK;
}

enum kaeri_err hub_unsubscribe(struct hub *h, uint64_t conn_id,
                               const char *sub_id)
{
    struct hub_conn *c = conn_find(h, conn_id);
    struct hub_sub *s;
    size_t pos;

    if (!c || !(s = conn_sub(c, sub_id, &pos)))
        return KAERI_ERR_NOT_FOUND;
    c->subs[pos] = c->subs[--c->nsubs];
    sub_unlist(h, s);
    sub_free(s);
    return KAERI_OK;
}

size_t hub_subscription_count(const struct hub *h, uint64_t conn_id)
{
    const struct hub_conn *c = conn_find(h, conn_id);

    return c ? c->nsubs : 0;
}

void hub_stats(const struct hub *h, struct hub_stats *out)
{
    *out = h->stats;
}

/* --- sending ---------------------------------------------------------- */

static void log_fault(const struct hub_sub *s, const struct hub_event *ev,
                      unsigned faults, uint32_t delay_ms, int rule)
{
    /* FAULT_DISCONNECT is logged where the connection is closed */
    static const enum fault_kind kinds[] = {FAULT_DROP, FAULT_DUPLICATE,
                                            FAULT_DELAY, FAULT_REORDER};

    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!(faults & kinds[i]))
            continue;
        if (kinds[i] == FAULT_DELAY)
            log_info("%s: fault delay %" PRIu32 " ms (rule %d): event on "
                     "'%s' for subscription '%s' of connection %" PRIu64,
                     s->hub->name, delay_ms, rule, ev->path, s->id,
                     s->conn->id);
        else
            log_info("%s: fault %s (rule %d): event on '%s' for "
                     "subscription '%s' of connection %" PRIu64,
                     s->hub->name, fault_kind_name(kinds[i]), rule, ev->path,
                     s->id, s->conn->id);
    }
}

/*
 * Queue one data frame on the connection. A full queue closes the
 * connection (with an error frame if it still fits, and a close frame
 * that names the reason), logged; a connection already closing just
 * gets nothing more. Returns false when the connection is gone.
 */
static bool sub_send(struct hub_sub *s, struct hub_event *ev, unsigned faults)
{
    struct hub *h = s->hub;
    struct hub_conn *c = s->conn;
    char *frame;
    enum kaeri_err rc;

    if (c->dead)
        return false;
    frame = realtime_data(s->id, ev->text, ev->len);
    rc = ws_send_text(c->ws, frame, strlen(frame));
    free(frame);
    if (rc == KAERI_ERR_LIMIT) {
        char *error = realtime_error(
            "error", NULL, "LimitExceededError",
            "Subscriber too slow: the connection's send queue is full");

        log_warn("%s: connection %" PRIu64 " reads too slowly (%zu bytes "
                 "queued), closing it; event on '%s' for subscription '%s' "
                 "not sent",
                 h->name, c->id, c->ws->queued_bytes, ev->path, s->id);
        h->stats.overflows++;
        if (ws_send_text(c->ws, error, strlen(error)))
            log_debug("%s: connection %" PRIu64 ": no room for the error "
                      "frame either",
                      h->name, c->id);
        free(error);
        conn_kill(h, c, HUB_CLOSE_POLICY, "subscriber too slow: queue full");
        return false;
    }
    if (rc) {
        log_debug("%s: connection %" PRIu64 " is closing (%s); no more "
                  "deliveries",
                  h->name, c->id, kaeri_err_name(rc));
        conn_kill(h, c, 0, NULL);
        return false;
    }
    h->stats.sent++;
    if (faults & FAULT_DISCONNECT) {
        log_info("%s: fault disconnect: closing connection %" PRIu64
                 " after subscription '%s' got its event on '%s'",
                 h->name, c->id, s->id, ev->path);
        h->stats.disconnects++;
        conn_kill(h, c, HUB_CLOSE_GOING_AWAY, "disconnectAfter fault");
        return false;
    }
    return true;
}

static void sub_arm(struct hub_sub *s)
{
    int64_t now = clock_mono_us();
    int64_t due = s->q[s->head].due_us;

    loop_timer_start(s->hub->loop, &s->send_timer, due > now ? due - now : 0);
}

/* Send every queued entry that is due; re-arm for the next one. */
static void sub_send_due(void *ctx)
{
    struct hub_sub *s = ctx;
    int64_t now = clock_mono_us();

    while (s->len && s->q[s->head].due_us <= now) {
        struct pending p = s->q[s->head];

        s->head = (s->head + 1) % s->cap;
        s->len--;
        if (!sub_send(s, p.ev, p.faults)) {
            event_unref(p.ev); /* the connection is gone: queue emptied */
            return;
        }
        event_unref(p.ev);
    }
    if (s->len)
        sub_arm(s);
}

/*
 * Deliver 'ev' (taking a reference) after 'delay_ms': at once when
 * nothing is queued before it, else behind the queue, never before its
 * predecessor.
 */
static void sub_deliver(struct hub_sub *s, struct hub_event *ev,
                        uint32_t delay_ms, unsigned faults)
{
    int64_t due = clock_mono_us() + (int64_t)delay_ms * 1000;
    struct pending *p;

    if (s->conn->dead)
        return;
    if (!s->len && !delay_ms) {
        sub_send(s, ev, faults);
        return;
    }
    if (s->len == s->cap) { /* grow the ring, unwrapping it */
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct pending *q = xmalloc(cap * sizeof(*q));

        for (size_t i = 0; i < s->len; i++)
            q[i] = s->q[(s->head + i) % s->cap];
        free(s->q);
        s->q = q;
        s->cap = cap;
        s->head = 0;
    }
    if (s->len) {
        int64_t tail = s->q[(s->head + s->len - 1) % s->cap].due_us;

        if (due < tail)
            due = tail;
    }
    p = &s->q[(s->head + s->len) % s->cap];
    event_ref(ev);
    p->ev = ev;
    p->due_us = due;
    p->faults = faults;
    if (s->len++ == 0)
        sub_arm(s);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;

    return x < y ? -1 : x > y;
}

/*
 * Give back the stream's reference of every event that left the stream in
 * 'plan': each appears there at least once (a duplicate twice, delivered
 * or dropped), and the stream took one reference when it was fed.
 */
static void plan_unref_left(struct fault_plan *plan)
{
    size_t n = plan->n + plan->ndropped, k = 0;
    void **left;

    if (!n)
        return;
    left = xmalloc(n * sizeof(*left));
    for (size_t i = 0; i < plan->n; i++)
        left[k++] = plan->deliveries[i].event;
    for (size_t i = 0; i < plan->ndropped; i++)
        left[k++] = plan->dropped[i].event;
    qsort(left, k, sizeof(*left), cmp_ptr);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || left[i] != left[i - 1])
            event_unref(left[i]);
    free(left);
}

/*
 * Carry out a plan: log and count its faults, queue its deliveries (each
 * queued one takes its own reference), then let go of the stream's.
 */
static void sub_run_plan(struct hub_sub *s, struct fault_plan *plan)
{
    struct hub *h = s->hub;

    for (size_t i = 0; i < plan->n; i++) {
        struct fault_delivery *d = &plan->deliveries[i];

        if (d->faults)
            log_fault(s, d->event, d->faults, d->delay_ms, d->rule);
        h->stats.duplicated += !!(d->faults & FAULT_DUPLICATE);
        h->stats.delayed += !!(d->faults & FAULT_DELAY);
        h->stats.reordered += !!(d->faults & FAULT_REORDER);
        sub_deliver(s, d->event, d->delay_ms, d->faults);
    }
    for (size_t i = 0; i < plan->ndropped; i++) {
        struct fault_delivery *d = &plan->dropped[i];

        log_fault(s, d->event, d->faults & FAULT_DISCONNECT ? 0 : FAULT_DROP, 0,
                  d->rule);
        if (d->faults & FAULT_DISCONNECT)
            log_info("%s: event on '%s' not delivered to subscription '%s': "
                     "connection %" PRIu64 " was disconnected by a fault",
                     h->name, ((struct hub_event *)d->event)->path, s->id,
                     s->conn->id);
        h->stats.dropped++;
    }
    plan_unref_left(plan);
    fault_plan_reset(plan);
}

static uint64_t mono_ms(void)
{
    return (uint64_t)(clock_mono_us() / 1000);
}

static void sub_flush_idle(void *ctx)
{
    struct hub_sub *s = ctx;
    struct fault_plan plan;

    if (!s->stream || s->conn->dead)
        return;
    fault_plan_init(&plan);
    fault_stream_flush(s->stream, mono_ms(), &plan);
    sub_run_plan(s, &plan);
    fault_plan_release(&plan);
}

/* Release what the old planner holds and drop it (the fault set changed). */
static void sub_drop_stream(struct hub_sub *s)
{
    struct fault_plan plan;

    if (!s->stream)
        return;
    loop_timer_stop(s->hub->loop, &s->flush_timer);
    fault_plan_init(&plan);
    fault_stream_flush(s->stream, mono_ms(), &plan);
    sub_run_plan(s, &plan);
    fault_plan_release(&plan);
    fault_stream_free(s->stream);
    s->stream = NULL;
}

static int cmp_serial(const void *a, const void *b)
{
    const struct hub_sub *x = *(struct hub_sub *const *)a;
    const struct hub_sub *y = *(struct hub_sub *const *)b;

    return x->serial < y->serial ? -1 : x->serial > y->serial;
}

void hub_set_faults(struct hub *h, const struct fault_set *fs,
                    uint64_t generation)
{
    struct hub_sub **by_age;

    if (h->faults_given && generation == h->faults_gen && fs == h->faults)
        return;
    for (size_t i = 0; i < h->nsubs; i++)
        sub_drop_stream(h->subs[i]);
    h->faults = fs;
    h->faults_gen = generation;
    h->faults_given = true;
    /* number the live subscriptions afresh, oldest first */
    h->ncounts = 0;
    if (!h->nsubs)
        return;
    by_age = xmalloc(h->nsubs * sizeof(*by_age));
    memcpy(by_age, h->subs, h->nsubs * sizeof(*by_age));
    qsort(by_age, h->nsubs, sizeof(*by_age), cmp_serial);
    for (size_t i = 0; i < h->nsubs; i++)
        by_age[i]->ordinal = next_ordinal(h, by_age[i]->pattern.path);
    free(by_age);
}

/*
 * The planner's key: the subscription's pattern and its rank among the
 * subscriptions of that pattern since the fault set was installed, not
 * connection or subscription ids (which depend on the process's past,
 * and Amplify's are random), so the same seed and traffic replay the
 * same plan in a fresh kaeri or after the set is put again.
 */
static bool has_event_faults(const struct hub *h)
{
    return h->faults && fault_set_has_events(h->faults);
}

static void sub_feed(struct hub_sub *s, const struct chanrule_channel *ch,
                     struct hub_event *ev)
{
    struct fault_plan plan;
    char key[REALTIME_ID_MAX + CHANRULE_PATH_MAX + 2];

    if (!s->stream) {
        if (!has_event_faults(s->hub)) {
            sub_deliver(s, ev, 0, 0);
            return;
        }
        snprintf(key, sizeof(key), "%s#%" PRIu64, s->pattern.path, s->ordinal);
        s->stream = fault_stream_new(s->hub->faults, key);
    }
    fault_plan_init(&plan);
    event_ref(ev); /* the stream's, until the event leaves it */
    fault_stream_feed(s->stream, ch, ev, mono_ms(), &plan);
    sub_run_plan(s, &plan);
    fault_plan_release(&plan);
    if (s->stream && !s->conn->dead && fault_stream_held(s->stream))
        loop_timer_start(s->hub->loop, &s->flush_timer,
                         (int64_t)FAULT_FLUSH_IDLE_MS * 1000);
}

size_t hub_publish(struct hub *h, const struct chanrule_channel *ch,
                   const char *event, size_t len)
{
    struct hub_event *ev = event_new(ch, event, len);
    size_t matched = 0;

    h->stats.published++;
    for (size_t i = 0; i < h->nsubs; i++) {
        struct hub_sub *s = h->subs[i];

        if (s->conn->dead || !chanrule_channel_match(&s->pattern, ch))
            continue;
        matched++;
        sub_feed(s, ch, ev);
    }
    event_unref(ev);
    return matched;
}

/*
 * fault.c - the fault set (CONTRACT.md "Behaviour every part shares",
 * issue 4 "Delivery" and issue 5 "Faults"): parse and serialise it, plan
 * one subscriber's deliveries under reorder, duplicate, drop, delay and
 * disconnect faults, and decide a Bedrock call's throttle, unavailability,
 * stall and mid-stream error.
 *
 * Repeatability: every random choice comes from a stream of rng.c named
 * by the set's seed, the rule index, the subscriber's stable key and the
 * kind of choice ("events/0/7/sub-1/duplicate"), so one subscriber's plan
 * depends only on its own traffic, and turning one fault on does not
 * change the choices of another. Bedrock decisions are stateless: each
 * call's draw comes from a stream named by the model id and call number.
 *
 * Left out on purpose: the clock and timers (the caller passes "now" and
 * sends each delivery after its delay), logging (every applied fault is
 * reported in the plan for the caller to log), and anything about how the
 * events themselves look (they are opaque pointers).
 */
#include "fault.h"
#include "alloc.h"
#include "config.h"
#include "policy.h"
#include "rng.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 256 /* a JSON path in an error */

/* Which members an events rule was given, so GET shows what PUT said. */
enum ev_field {
    EV_CHANNEL = 1 << 0,
    EV_WINDOW = 1 << 1,
    EV_DUPLICATE = 1 << 2,
    EV_DROP = 1 << 3,
    EV_DELAY = 1 << 4,
    EV_DISCONNECT = 1 << 5,
};

struct events_rule {
    unsigned present;                /* enum ev_field */
    struct chanrule_channel channel; /* EV_CHANNEL; else every channel */
    uint32_t window;                 /* 1 = no reordering */
    double duplicate, drop;
    uint32_t delay_min, delay_max;
    bool delay_fixed;          /* given as one number */
    uint64_t disconnect_after; /* 0 = never */
};

enum br_field {
    BR_MODEL = 1 << 0,
    BR_THROTTLE_FIRST = 1 << 1,
    BR_THROTTLE_RATE = 1 << 2,
    BR_UNAVAILABLE = 1 << 3,
    BR_ERROR_AFTER = 1 << 4,
    BR_ERROR = 1 << 5,
    BR_STALL = 1 << 6,
    BR_STALL_AFTER = 1 << 7,
};

struct bedrock_rule {
    unsigned present; /* enum br_field */
    char *model;      /* pattern, "*" when not given */
    uint64_t throttle_first;
    double throttle_rate;
    bool unavailable;
    uint64_t error_after;
    enum fault_model_error error;
    uint32_t stall_ms;
    uint64_t stall_after;
};

struct fault_set {
    uint64_t seed;
    struct events_rule *ev;
    size_t nev;
    struct bedrock_rule *br;
    size_t nbr;
};

static const char *const model_error_names[] = {
    [FAULT_MODEL_ERROR_NONE] = NULL,
    [FAULT_MODEL_STREAM_ERROR] = "modelStreamErrorException",
    [FAULT_INTERNAL_SERVER] = "internalServerException",
    [FAULT_THROTTLING] = "throttlingException",
    [FAULT_SERVICE_UNAVAILABLE] = "serviceUnavailableException",
    [FAULT_VALIDATION] = "validationException",
};

const char *fault_model_error_name(enum fault_model_error e)
{
    if ((size_t)e < ARRAY_SIZE(model_error_names))
        return model_error_names[e];
    return NULL;
}

const char *fault_kind_name(enum fault_kind k)
{
    switch (k) {
    case FAULT_DROP:
        return "drop";
    case FAULT_DUPLICATE:
        return "duplicate";
    case FAULT_DELAY:
        return "delay";
    case FAULT_REORDER:
        return "reorder";
    case FAULT_DISCONNECT:
        return "disconnect";
    }
    return "unknown";
}

/* ---- parsing ---- */

static void KAERI_PRINTF(2, 3) path_fmt(char *where, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(where, PATH_LEN, fmt, ap);
    va_end(ap);
}

/* A probability member: a number from 0 to 1. */
static enum kaeri_err read_prob(const json_t *obj, const char *path,
                                const char *key, double *out, bool *given,
                                struct kaeri_error *err)
{
    const json_t *v = json_object_get(obj, key);
    char where[PATH_LEN];
    double p;

    *given = v != NULL;
    if (!v)
        return KAERI_OK;
    path_fmt(where, "%s.%s", path, key);
    p = json_number_value(v);
    if (!json_is_number(v) || !(p >= 0.0 && p <= 1.0))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected a number from 0 to 1");
    *out = p;
    return KAERI_OK;
}

/* A count member: an integer from 'min' to 'max'. */
static enum kaeri_err read_count(const json_t *obj, const char *path,
                                 const char *key, json_int_t min,
                                 json_int_t max, uint64_t *out, bool *given,
                                 struct kaeri_error *err)
{
    json_int_t n = 0;
    enum kaeri_err rc;

    *given = json_object_get(obj, key) != NULL;
    if ((rc = cfg_int(obj, path, key, false, min, max, &n, err)))
        return rc;
    if (*given)
        *out = (uint64_t)n;
    return KAERI_OK;
}

/* "delayMs": N or [min, max]. */
static enum kaeri_err read_delay(const json_t *obj, const char *path,
                                 struct events_rule *r, struct kaeri_error *err)
{
    const json_t *v = json_object_get(obj, "delayMs");
    char where[PATH_LEN];
    json_int_t lo, hi;

    if (!v)
        return KAERI_OK;
    r->present |= EV_DELAY;
    path_fmt(where, "%s.delayMs", path);
    if (json_is_integer(v)) {
        lo = hi = json_integer_value(v);
        r->delay_fixed = true;
    } else if (json_is_array(v) && json_array_size(v) == 2 &&
               json_is_integer(json_array_get(v, 0)) &&
               json_is_integer(json_array_get(v, 1))) {
        lo = json_integer_value(json_array_get(v, 0));
        hi = json_integer_value(json_array_get(v, 1));
    } else {
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected an integer or [min, max]");
    }
    if (lo < 0 || hi > FAULT_MAX_DELAY_MS || lo > hi)
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected 0 <= min <= max <= %d", FAULT_MAX_DELAY_MS);
    r->delay_min = (uint32_t)lo;
    r->delay_max = (uint32_t)hi;
    return KAERI_OK;
}

static enum kaeri_err parse_events_rule(const json_t *j, const char *path,
                                        struct events_rule *r,
                                        struct kaeri_error *err)
{
    static const char *const keys[] = {
        "channel", "reorderWindow",   "duplicate", "drop",
        "delayMs", "disconnectAfter", NULL};
    const char *channel = NULL;
    uint64_t n = 1;
    bool given;
    enum kaeri_err rc;

    memset(r, 0, sizeof(*r));
    r->window = 1;
    if (!json_is_object(j))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(j, path, keys, err)) ||
        (rc = cfg_string(j, path, "channel", false, &channel, err)))
        return rc;
    if (channel) {
        char where[PATH_LEN];
        struct kaeri_error cerr;

        path_fmt(where, "%s.channel", path);
        if (chanrule_channel_parse(channel, strlen(channel), CHANRULE_SUBSCRIBE,
                                   &r->channel, &cerr))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "invalid channel pattern '%.64s' at %s", channel,
                              cerr.where);
        r->present |= EV_CHANNEL;
    }
    if ((rc = read_count(j, path, "reorderWindow", 1, FAULT_MAX_WINDOW, &n,
                         &given, err)))
        return rc;
    r->window = (uint32_t)n;
    r->present |= given ? EV_WINDOW : 0;
    if ((rc = read_prob(j, path, "duplicate", &r->duplicate, &given, err)))
        return rc;
    r->present |= given ? EV_DUPLICATE : 0;
    if ((rc = read_prob(j, path, "drop", &r->drop, &given, err)))
        return rc;
    r->present |= given ? EV_DROP : 0;
    if ((rc = read_delay(j, path, r, err)))
        return rc;
    if ((rc = read_count(j, path, "disconnectAfter", 0, FAULT_MAX_COUNT,
                         &r->disconnect_after, &given, err)))
        return rc;
    r->present |= given ? EV_DISCONNECT : 0;
    return KAERI_OK;
}

static enum kaeri_err parse_bedrock_rule(const json_t *j, const char *path,
                                         struct bedrock_rule *r,
                                         struct kaeri_error *err)
{
    static const char *const keys[] = {
        "model",       "throttleFirst",    "throttleRate",
        "unavailable", "errorAfterDeltas", "error",
        "stallMs",     "stallAfterDeltas", NULL};
    const char *model = NULL, *error = NULL;
    char where[PATH_LEN];
    uint64_t stall = 0;
    bool given;
    enum kaeri_err rc;

    if (!json_is_object(j))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(j, path, keys, err)) ||
        (rc = cfg_string(j, path, "model", false, &model, err)))
        return rc;
    if (model && (!model[0] || strlen(model) > 2048)) {
        path_fmt(where, "%s.model", path);
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected a model id pattern");
    }
    r->present |= model ? BR_MODEL : 0;
    r->model = xstrdup(model ? model : "*");
    if ((rc = read_count(j, path, "throttleFirst", 0, FAULT_MAX_COUNT,
                         &r->throttle_first, &given, err)))
        return rc;
    r->present |= given ? BR_THROTTLE_FIRST : 0;
    if ((rc = read_prob(j, path, "throttleRate", &r->throttle_rate, &given,
                        err)))
        return rc;
    r->present |= given ? BR_THROTTLE_RATE : 0;
    given = json_object_get(j, "unavailable") != NULL;
    if ((rc = cfg_bool(j, path, "unavailable", false, &r->unavailable, err)))
        return rc;
    r->present |= given ? BR_UNAVAILABLE : 0;
    if ((rc = read_count(j, path, "errorAfterDeltas", 0, FAULT_MAX_COUNT,
                         &r->error_after, &given, err)))
        return rc;
    r->present |= given ? BR_ERROR_AFTER : 0;
    if ((rc = cfg_string(j, path, "error", false, &error, err)))
        return rc;
    if (error) {
        path_fmt(where, "%s.error", path);
        for (size_t i = 1; i < ARRAY_SIZE(model_error_names); i++)
            if (!strcmp(error, model_error_names[i]))
                r->error = (enum fault_model_error)i;
        if (!r->error)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "expected modelStreamErrorException, "
                              "internalServerException, throttlingException, "
                              "serviceUnavailableException or "
                              "validationException");
        if (!(r->present & BR_ERROR_AFTER))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "needs errorAfterDeltas");
        r->present |= BR_ERROR;
    } else if (r->present & BR_ERROR_AFTER) {
        r->error = FAULT_MODEL_STREAM_ERROR;
    }
    if ((rc = read_count(j, path, "stallMs", 0, FAULT_MAX_DELAY_MS, &stall,
                         &given, err)))
        return rc;
    r->stall_ms = (uint32_t)stall;
    r->present |= given ? BR_STALL : 0;
    if ((rc = read_count(j, path, "stallAfterDeltas", 0, FAULT_MAX_COUNT,
                         &r->stall_after, &given, err)))
        return rc;
    if (given && !(r->present & BR_STALL)) {
        path_fmt(where, "%s.stallAfterDeltas", path);
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "needs stallMs");
    }
    r->present |= given ? BR_STALL_AFTER : 0;
    return KAERI_OK;
}

void fault_set_free(struct fault_set *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->nbr; i++)
        free(fs->br[i].model);
    free(fs->br);
    free(fs->ev);
    free(fs);
}

/* An optional array member with at most FAULT_MAX_RULES entries. */
static enum kaeri_err read_rules(const json_t *j, const char *path,
                                 const char *key, const json_t **out,
                                 struct kaeri_error *err)
{
    enum kaeri_err rc;

    if ((rc = cfg_array(j, path, key, false, out, err)))
        return rc;
    if (*out && json_array_size(*out) > FAULT_MAX_RULES) {
        char where[PATH_LEN];

        path_fmt(where, "%s.%s", path, key);
        return kaeri_fail(err, KAERI_ERR_LIMIT, where, "more than %d rules",
                          FAULT_MAX_RULES);
    }
    return KAERI_OK;
}

enum kaeri_err fault_set_parse(const json_t *j, const char *path,
                               uint64_t default_seed, struct fault_set **out,
                               struct kaeri_error *err)
{
    static const char *const keys[] = {"seed", "events", "bedrock", NULL};
    struct fault_set *fs = xcalloc(1, sizeof(*fs));
    const json_t *events = NULL, *bedrock = NULL;
    json_int_t seed = (json_int_t)default_seed;
    enum kaeri_err rc = KAERI_OK;

    *out = NULL;
    if (j && !json_is_object(j)) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
        goto out;
    }
    if (j && ((rc = cfg_keys(j, path, keys, err)) ||
              (rc = cfg_int(j, path, "seed", false, LLONG_MIN, LLONG_MAX, &seed,
                            err)) ||
              (rc = read_rules(j, path, "events", &events, err)) ||
              (rc = read_rules(j, path, "bedrock", &bedrock, err))))
        goto out;
    fs->seed = (uint64_t)seed;
    fs->nev = json_array_size(events);
    fs->ev = xcalloc(fs->nev ? fs->nev : 1, sizeof(*fs->ev));
    for (size_t i = 0; i < fs->nev; i++) {
        char where[PATH_LEN];

        path_fmt(where, "%s.events[%zu]", path, i);
        if ((rc = parse_events_rule(json_array_get(events, i), where,
                                    &fs->ev[i], err)))
            goto out;
    }
    fs->br = xcalloc(json_array_size(bedrock) ? json_array_size(bedrock) : 1,
                     sizeof(*fs->br));
    for (size_t i = 0; i < json_array_size(bedrock); i++) {
        char where[PATH_LEN];

        path_fmt(where, "%s.bedrock[%zu]", path, i);
        fs->nbr = i + 1; /* so a failure frees what was filled */
        if ((rc = parse_bedrock_rule(json_array_get(bedrock, i), where,
                                     &fs->br[i], err)))
            goto out;
    }
    *out = fs;
    fs = NULL;
out:
    fault_set_free(fs);
    return rc;
}

/* ---- serialising ---- */

static json_t *events_rule_json(const struct events_rule *r)
{
    json_t *o = json_object();

    if (r->present & EV_CHANNEL)
        json_object_set_new(o, "channel", json_string(r->channel.path));
    if (r->present & EV_WINDOW)
        json_object_set_new(o, "reorderWindow", json_integer(r->window));
    if (r->present & EV_DUPLICATE)
        json_object_set_new(o, "duplicate", json_real(r->duplicate));
    if (r->present & EV_DROP)
        json_object_set_new(o, "drop", json_real(r->drop));
    if (r->present & EV_DELAY)
        json_object_set_new(o, "delayMs",
                            r->delay_fixed
                                ? json_integer(r->delay_min)
                                : json_pack("[I, I]", (json_int_t)r->delay_min,
                                            (json_int_t)r->delay_max));
    if (r->present & EV_DISCONNECT)
        json_object_set_new(o, "disconnectAfter",
                            json_integer((json_int_t)r->disconnect_after));
    return o;
}

static json_t *bedrock_rule_json(const struct bedrock_rule *r)
{
    json_t *o = json_object();

    if (r->present & BR_MODEL)
        json_object_set_new(o, "model", json_string(r->model));
    if (r->present & BR_THROTTLE_FIRST)
        json_object_set_new(o, "throttleFirst",
                            json_integer((json_int_t)r->throttle_first));
    if (r->present & BR_THROTTLE_RATE)
        json_object_set_new(o, "throttleRate", json_real(r->throttle_rate));
    if (r->present & BR_UNAVAILABLE)
        json_object_set_new(o, "unavailable", json_boolean(r->unavailable));
    if (r->present & BR_ERROR_AFTER)
        json_object_set_new(o, "errorAfterDeltas",
                            json_integer((json_int_t)r->error_after));
    if (r->present & BR_ERROR)
        json_object_set_new(o, "error",
                            json_string(fault_model_error_name(r->error)));
    if (r->present & BR_STALL)
        json_object_set_new(o, "stallMs", json_integer(r->stall_ms));
    if (r->present & BR_STALL_AFTER)
        json_object_set_new(o, "stallAfterDeltas",
                            json_integer((json_int_t)r->stall_after));
    return o;
}

json_t *fault_set_json(const struct fault_set *fs)
{
    json_t *o = json_pack("{s:[], s:[]}", "events", "bedrock");

    if (!fs)
        return o;
    json_object_set_new(o, "seed", json_integer((json_int_t)fs->seed));
    for (size_t i = 0; i < fs->nev; i++)
        json_array_append_new(json_object_get(o, "events"),
                              events_rule_json(&fs->ev[i]));
    for (size_t i = 0; i < fs->nbr; i++)
        json_array_append_new(json_object_get(o, "bedrock"),
                              bedrock_rule_json(&fs->br[i]));
    return o;
}

uint64_t fault_set_seed(const struct fault_set *fs)
{
    return fs ? fs->seed : 0;
}

bool fault_set_has_events(const struct fault_set *fs)
{
    return fs && fs->nev > 0;
}

/* ---- plans ---- */

void fault_plan_init(struct fault_plan *p)
{
    memset(p, 0, sizeof(*p));
}

void fault_plan_reset(struct fault_plan *p)
{
    p->n = 0;
    p->ndropped = 0;
}

void fault_plan_release(struct fault_plan *p)
{
    free(p->deliveries);
    free(p->dropped);
    fault_plan_init(p);
}

static void push(struct fault_delivery **v, size_t *n, size_t *cap,
                 const struct fault_delivery *d)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = *d;
}

static void plan_drop(struct fault_plan *p, void *event, unsigned why, int rule)
{
    struct fault_delivery d = {event, 0, why, rule};

    push(&p->dropped, &p->ndropped, &p->dropped_cap, &d);
}

/* ---- one subscriber's stream ---- */

/* One (subscription, events rule) pair: its random streams and window. */
struct lane {
    struct rng drop, duplicate, delay, order;
    void **held; /* in feed order, up to the rule's window */
    size_t nheld;
    uint64_t delivered; /* deliveries made, duplicates included */
};

struct fault_stream {
    char *key;
    uint64_t seed;
    struct events_rule *rules; /* a copy of the set's events rules */
    size_t nrules;
    struct lane **lanes; /* [nrules], made on first use */
    uint64_t last_due;   /* when the latest delivery is due, in ms */
    bool disconnected;
};

struct fault_stream *fault_stream_new(const struct fault_set *fs,
                                      const char *key)
{
    struct fault_stream *st = xcalloc(1, sizeof(*st));

    st->key = xstrdup(key ? key : "");
    if (fs && fs->nev) {
        st->seed = fs->seed;
        st->nrules = fs->nev;
        st->rules = xmalloc(fs->nev * sizeof(*st->rules));
        memcpy(st->rules, fs->ev, fs->nev * sizeof(*st->rules));
        st->lanes = xcalloc(fs->nev, sizeof(*st->lanes));
    }
    return st;
}

void fault_stream_free(struct fault_stream *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nrules; i++) {
        if (st->lanes[i])
            free(st->lanes[i]->held);
        free(st->lanes[i]);
    }
    free(st->lanes);
    free(st->rules);
    free(st->key);
    free(st);
}

static void lane_rng(struct rng *r, const struct fault_stream *st, size_t rule,
                     const char *what)
{
    char *name = xasprintf("events/%zu/%s/%s", rule, st->key, what);

    rng_init(r, st->seed, name);
    free(name);
}

static struct lane *get_lane(struct fault_stream *st, size_t rule)
{
    struct lane *l = st->lanes[rule];

    if (l)
        return l;
    l = xcalloc(1, sizeof(*l));
    lane_rng(&l->drop, st, rule, "drop");
    lane_rng(&l->duplicate, st, rule, "duplicate");
    lane_rng(&l->delay, st, rule, "delay");
    lane_rng(&l->order, st, rule, "reorder");
    l->held = xcalloc(st->rules[rule].window, sizeof(*l->held));
    st->lanes[rule] = l;
    return l;
}

/*
 * Append one delivery of 'event' with 'faults' already applied: draw its
 * delay, keep delays from running backwards along the stream, count it
 * toward disconnectAfter. 'l' and 'r' are NULL for an event no rule
 * matched.
 */
static void deliver(struct fault_stream *st, struct lane *l,
                    const struct events_rule *r, int rule, void *event,
                    unsigned faults, uint64_t now_ms, struct fault_plan *p)
{
    struct fault_delivery d = {event, 0, faults, rule};
    uint64_t due = now_ms;

    if (st->disconnected) {
        plan_drop(p, event, FAULT_DISCONNECT, rule);
        return;
    }
    if (r && (r->present & EV_DELAY))
        due += rng_range(&l->delay, r->delay_min, r->delay_max);
    if (due < st->last_due)
        due = st->last_due; /* a delay alone never reorders */
    st->last_due = due;
    /* only a clock that ran backwards could make this exceed the cap */
    d.delay_ms = due - now_ms > FAULT_MAX_DELAY_MS ? FAULT_MAX_DELAY_MS
                                                   : (uint32_t)(due - now_ms);
    if (d.delay_ms)
        d.faults |= FAULT_DELAY;
    if (l && r->disconnect_after && ++l->delivered == r->disconnect_after) {
        d.faults |= FAULT_DISCONNECT;
        st->disconnected = true;
    }
    push(&p->deliveries, &p->n, &p->cap, &d);
}

/* Deliver an event released from a lane, maybe twice. */
static void emit(struct fault_stream *st, size_t rule, void *event,
                 unsigned faults, uint64_t now_ms, struct fault_plan *p)
{
    struct lane *l = st->lanes[rule];
    const struct events_rule *r = &st->rules[rule];
    bool twice;

    if (st->disconnected) {
        plan_drop(p, event, FAULT_DISCONNECT, (int)rule);
        return;
    }
    twice =
        (r->present & EV_DUPLICATE) && rng_chance(&l->duplicate, r->duplicate);
    deliver(st, l, r, (int)rule, event, faults, now_ms, p);
    if (twice)
        deliver(st, l, r, (int)rule, event, faults | FAULT_DUPLICATE, now_ms,
                p);
}

/* Release every held event of lane 'rule' in a shuffled order. */
static void release(struct fault_stream *st, size_t rule, uint64_t now_ms,
                    struct fault_plan *p)
{
    struct lane *l = st->lanes[rule];
    size_t n = l->nheld;
    size_t *order;

    if (!n)
        return;
    order = xmalloc(n * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t k = (size_t)rng_range(&l->order, 0, i);
        size_t t = order[i];

        order[i] = order[k];
        order[k] = t;
    }
    l->nheld = 0;
    for (size_t i = 0; i < n; i++)
        emit(st, rule, l->held[order[i]], order[i] != i ? FAULT_REORDER : 0,
             now_ms, p);
    free(order);
}

void fault_stream_feed(struct fault_stream *st,
                       const struct chanrule_channel *channel, void *event,
                       uint64_t now_ms, struct fault_plan *plan)
{
    const struct events_rule *r = NULL;
    struct lane *l;
    size_t rule;

    if (st->disconnected) {
        plan_drop(plan, event, FAULT_DISCONNECT, -1);
        return;
    }
    for (rule = 0; rule < st->nrules; rule++) {
        r = &st->rules[rule];
        if (!(r->present & EV_CHANNEL) ||
            chanrule_channel_match(&r->channel, channel))
            break;
    }
    if (rule == st->nrules) {
        deliver(st, NULL, NULL, -1, event, 0, now_ms, plan);
        return;
    }
    l = get_lane(st, rule);
    if ((r->present & EV_DROP) && rng_chance(&l->drop, r->drop)) {
        plan_drop(plan, event, FAULT_DROP, (int)rule);
        return;
    }
    l->held[l->nheld++] = event;
    if (l->nheld >= r->window)
        release(st, rule, now_ms, plan);
}

void fault_stream_flush(struct fault_stream *st, uint64_t now_ms,
                        struct fault_plan *plan)
{
    for (size_t i = 0; i < st->nrules; i++)
        if (st->lanes[i])
            release(st, i, now_ms, plan);
}

size_t fault_stream_held(const struct fault_stream *st)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nrules; i++)
        if (st->lanes[i])
            n += st->lanes[i]->nheld;
    return n;
}

bool fault_stream_disconnected(const struct fault_stream *st)
{
    return st->disconnected;
}

/* ---- Bedrock ---- */

void fault_bedrock_decide(const struct fault_set *fs, const char *model_id,
                          uint64_t call_index, struct fault_bedrock *out)
{
    const struct bedrock_rule *r = NULL;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->rule = -1;
    if (!fs || !model_id)
        return;
    for (i = 0; i < fs->nbr; i++) {
        if (policy_wildcard_match(fs->br[i].model, model_id, false)) {
            r = &fs->br[i];
            break;
        }
    }
    if (!r)
        return;
    out->rule = (int)i;
    if (call_index < r->throttle_first) {
        out->throttle = true;
    } else if (r->present & BR_THROTTLE_RATE) {
        char *name = xasprintf("bedrock/%zu/%s/%" PRIu64 "/throttle", i,
                               model_id, call_index);
        struct rng rng;

        rng_init(&rng, fs->seed, name);
        free(name);
        out->throttle = rng_chance(&rng, r->throttle_rate);
    }
    out->unavailable = r->unavailable;
    if (r->present & BR_ERROR_AFTER) {
        out->error = r->error;
        out->error_after_deltas = r->error_after;
    }
    out->stall_ms = r->stall_ms;
    out->stall_after_deltas = r->stall_after;
}

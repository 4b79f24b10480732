/*
 * fault.h - the fault set of CONTRACT.md ("Behaviour every part shares"):
 * seeded, repeatable delivery faults for AppSync Events subscribers and
 * failure decisions for Bedrock calls. Set in the config or through
 * PUT /_kaeri/faults, read back by GET (fault_set_json()).
 *
 *   {"seed": 7,
 *    "events": [{"channel": "/bedrock-stream-response/ *",
 *                "reorderWindow": 4, "duplicate": 0.2, "drop": 0.0,
 *                "delayMs": [0, 30], "disconnectAfter": 0}],
 *    "bedrock": [{"model": "*", "throttleFirst": 1, "throttleRate": 0.0,
 *                 "errorAfterDeltas": 3, "error": "modelStreamErrorException",
 *                 "unavailable": false, "stallMs": 0, "stallAfterDeltas": 0}]}
 *
 * ("/ *" stands for slash-star, which a C comment cannot hold.)
 *
 * Every member is optional; a field left out means no such fault.
 *   seed               an integer (read as uint64_t); default: kaeri's
 *                      --seed
 *   events[].channel   a channel pattern as a subscription would write it
 *                      (chanrule.h: exact, or ending in "/ *"); default:
 *                      every channel. For each event the first rule whose
 *                      pattern matches the event's channel applies.
 *   reorderWindow      1..FAULT_MAX_WINDOW events held and released in a
 *                      seeded shuffled order (1 = no reordering)
 *   duplicate, drop    probabilities 0..1 per event
 *   delayMs            N, or [min, max] (0..FAULT_MAX_DELAY_MS) per delivery
 *   disconnectAfter    N >= 1: the subscriber is disconnected after its Nth
 *                      delivery under this rule, duplicates counted
 *                      (0 = never)
 *   bedrock[].model    a model id pattern, '*' and '?' wildcards
 *                      (policy_wildcard_match(), case-sensitive); default
 *                      "*". The first matching rule applies.
 *   throttleFirst      the first N calls per model id get ThrottlingException
 *   throttleRate       then each call with this probability
 *   unavailable        true: every call gets ServiceUnavailableException
 *                      before the stream starts
 *   errorAfterDeltas   K: after K text deltas the stream ends with 'error'
 *                      (default modelStreamErrorException); 0 = before the
 *                      first delta
 *   error              modelStreamErrorException | internalServerException
 *                      | throttlingException | serviceUnavailableException
 *                      | validationException (needs errorAfterDeltas)
 *   stallMs            T: no frame for T ms, once, after stallAfterDeltas
 *                      deltas (default 0: before the first delta)
 *
 * Pure: no I/O, globals, logging or clock (the caller passes "now"). A
 * parsed set is read-only; streams copy what they need from it, so a set
 * may be replaced and freed while old streams still flush.
 */
#ifndef KAERI_FAULT_H
#define KAERI_FAULT_H

#include "chanrule.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAULT_MAX_RULES    64     /* per list (events, bedrock) */
#define FAULT_MAX_WINDOW   1024   /* reorderWindow */
#define FAULT_MAX_DELAY_MS 600000 /* delayMs, stallMs: ten minutes */
#define FAULT_MAX_COUNT \
    1000000000 /* disconnectAfter, throttleFirst, ...AfterDeltas */
/* How long a caller should let a partly filled reorder window sit idle. */
#define FAULT_FLUSH_IDLE_MS 250

struct fault_set; /* opaque, read-only once parsed */

/*
 * Parse the fault set 'j' (the config's "faults" section or a PUT body)
 * whose JSON path is 'path' ("$.faults", "$"). 'default_seed' is used
 * when "seed" is absent. Errors name the member ("$.events[0].duplicate:
 * expected a number from 0 to 1"); unknown keys are refused. *out is new,
 * NULL on failure. A NULL or empty object gives a set with no faults.
 */
KAERI_MUST_CHECK enum kaeri_err
fault_set_parse(const json_t *j, const char *path, uint64_t default_seed,
                struct fault_set **out, struct kaeri_error *err);
void fault_set_free(struct fault_set *fs);
/*
 * The set as JSON for GET /_kaeri/faults (new reference): "seed" (the one
 * in effect), "events" and "bedrock" always, each rule with the fields it
 * was given. fault_set_parse() of it gives the same set. NULL gives
 * {"events": [], "bedrock": []}.
 */
json_t *fault_set_json(const struct fault_set *fs);
uint64_t fault_set_seed(const struct fault_set *fs);
/* Does the set have any events rule (else streams only pass through)? */
bool fault_set_has_events(const struct fault_set *fs);

/* What was done to a delivery; flags, so one delivery can carry several. */
enum fault_kind {
    FAULT_DROP = 1 << 0,       /* dropped (in fault_plan.dropped only) */
    FAULT_DUPLICATE = 1 << 1,  /* this delivery is the extra copy */
    FAULT_DELAY = 1 << 2,      /* delay_ms > 0 */
    FAULT_REORDER = 1 << 3,    /* released out of its feed order */
    FAULT_DISCONNECT = 1 << 4, /* deliveries: disconnect after sending this;
                                  dropped: not sent, the subscriber is gone */
};
/* "drop", "duplicate", "delay", "reorder", "disconnect"; one flag only. */
const char *fault_kind_name(enum fault_kind k);

struct fault_delivery {
    void *event;       /* as given to fault_stream_feed(); caller-owned */
    uint32_t delay_ms; /* send this long after 'now' */
    unsigned faults;   /* enum fault_kind flags applied; 0 = none */
    int rule;          /* index in "events" that applied, -1 = none */
};

/*
 * The output of feed and flush: deliveries to make, in this order, each
 * after its delay (delays never decrease along a stream's deliveries, so
 * sending each at now + delay_ms keeps this order), and events that will
 * never be delivered (faults FAULT_DROP or FAULT_DISCONNECT), so the
 * caller can log them and let them go. Calls append; the caller empties.
 * Fields readable; change them through fault_plan_*.
 */
struct fault_plan {
    struct fault_delivery *deliveries;
    size_t n, cap;
    struct fault_delivery *dropped; /* delay_ms 0 */
    size_t ndropped, dropped_cap;
};

void fault_plan_init(struct fault_plan *p);
/* Empty both lists and keep the memory. */
void fault_plan_reset(struct fault_plan *p);
void fault_plan_release(struct fault_plan *p);

/*
 * One subscriber's delivery planner: one per subscription, heap-owned by
 * the caller. For every events rule that an event of this subscription
 * matches it keeps a lane with its own random streams, named from the set's
 * seed, the rule index and 'key' (e.g. "<connection serial>/<subscription
 * id>", copied): the same seed and the same traffic give the same plan,
 * and other subscriptions' traffic does not change it. 'fs' may be NULL
 * (pass everything through); the stream copies the rules it needs.
 */
struct fault_stream;

struct fault_stream *fault_stream_new(const struct fault_set *fs,
                                      const char *key);
/*
 * Free the stream (NULL is a no-op). Held events are forgotten, not
 * given back: call fault_stream_flush() first when they still matter.
 */
void fault_stream_free(struct fault_stream *st);

/*
 * Feed one event published on 'channel' (a concrete channel, as parsed)
 * at 'now_ms' (any millisecond clock that never runs backwards; the
 * value only places delays, so 0 is fine when the plan is just to be
 * emptied). Appends to 'plan' zero or
 * more deliveries (the event itself, maybe a duplicate, maybe held events
 * released by a full reorder window) and maybe dropped entries. An event
 * no rule matches is delivered at once, untouched. After a delivery
 * carrying FAULT_DISCONNECT, every event fed or held ends in 'dropped'
 * with FAULT_DISCONNECT.
 */
void fault_stream_feed(struct fault_stream *st,
                       const struct chanrule_channel *channel, void *event,
                       uint64_t now_ms, struct fault_plan *plan);
/*
 * Release every held event (each lane's partial reorder window, still
 * shuffled) into 'plan'. Call when the stream has been idle for about
 * FAULT_FLUSH_IDLE_MS while fault_stream_held() > 0, and before freeing
 * a stream whose events matter.
 */
void fault_stream_flush(struct fault_stream *st, uint64_t now_ms,
                        struct fault_plan *plan);
/* Events held in reorder windows, waiting for more or for a flush. */
size_t fault_stream_held(const struct fault_stream *st);
/* Has a disconnectAfter fault fired on this stream? */
bool fault_stream_disconnected(const struct fault_stream *st);

/* Errors a Bedrock stream can be made to end with. */
enum fault_model_error {
    FAULT_MODEL_ERROR_NONE = 0,
    FAULT_MODEL_STREAM_ERROR,  /* modelStreamErrorException */
    FAULT_INTERNAL_SERVER,     /* internalServerException */
    FAULT_THROTTLING,          /* throttlingException */
    FAULT_SERVICE_UNAVAILABLE, /* serviceUnavailableException */
    FAULT_VALIDATION,          /* validationException */
};
/* The config's (and the event stream's :exception-type) name; NULL for NONE. */
const char *fault_model_error_name(enum fault_model_error e);

/*
 * What to do to one Bedrock call. Checked in this order by the caller:
 * throttle (ThrottlingException, before anything), unavailable
 * (ServiceUnavailableException, before anything), then while streaming a
 * stall and the mid-stream error at their delta counts.
 */
struct fault_bedrock {
    int rule; /* index in "bedrock" that applied, -1 = none */
    bool throttle;
    bool unavailable;
    enum fault_model_error error; /* NONE: no mid-stream error */
    uint64_t error_after_deltas;
    uint32_t stall_ms; /* 0: no stall */
    uint64_t stall_after_deltas;
};

/*
 * Decide for the call number 'call_index' (0 for the first call, counted
 * by the caller per model id) to 'model_id'. Stateless and repeatable:
 * throttleRate's draw comes from a stream named by the seed, the rule, the
 * model id and the call index. 'fs' NULL gives no faults.
 */
void fault_bedrock_decide(const struct fault_set *fs, const char *model_id,
                          uint64_t call_index, struct fault_bedrock *out);

#endif

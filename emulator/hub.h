/*
 * hub.h - AppSync Events delivery: which WebSocket subscriptions a
 * published event reaches, and getting it there (CONTRACT.md "Nothing
 * published is lost"; spec/appsync-events.md section 5.2, data frames).
 *
 * One hub per Event API. The service registers each WebSocket connection
 * (hub_conn_add() at open, hub_conn_remove() at close) and its
 * subscriptions; hub_publish() hands an accepted event to every
 * subscription whose channel pattern matches, once per subscription, in
 * publish order. Each subscription has its own FIFO, so a late one never
 * holds up another, and a delay never reorders.
 *
 * Faults (fault.h) are applied per subscription by a seeded planner:
 * drop, duplicate, delay (loop timers), reorder (held events are flushed
 * after FAULT_FLUSH_IDLE_MS idle), disconnectAfter (the connection is
 * closed after its Nth delivery). Every applied fault is logged. A
 * planner is named by its subscription's pattern and rank among that
 * pattern's subscriptions since the fault set was installed, never by
 * connection or subscription ids, so a fresh kaeri (or the same set put
 * again) with the same seed and traffic replays the same plan.
 *
 * A connection whose outgoing queue is full (ws_send_text() says
 * KAERI_ERR_LIMIT) is closed with an error, logged, and gets nothing
 * more; the others are not slowed. Never a silent drop.
 *
 * Ownership: the hub owns its subscriptions and queued events; the
 * connections belong to the transport, and the hub holds a pointer to
 * one only between hub_conn_add() and hub_conn_remove(), which the
 * service must call from its 'closed' callback. Timers live in the hub's
 * own structures and are stopped when those go.
 */
#ifndef KAERI_HUB_H
#define KAERI_HUB_H

#include "chanrule.h"
#include "kaeri.h"
#include "loop.h"
#include "ws.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hub;
struct fault_set;

/* A new hub whose timers run on 'loop'; 'name' (copied) is for logs. */
struct hub *hub_new(struct loop *loop, const char *name);
/* Free the hub, its subscriptions and anything still queued. NULL ok. */
void hub_free(struct hub *h);

/*
 * The fault set in force (borrowed; it must outlive its use, as
 * svc_admin's faults_active() promises). When 'generation' differs from
 * the last one given, every subscription's planner is rebuilt: events its
 * reorder window still holds are delivered first.
 */
void hub_set_faults(struct hub *h, const struct fault_set *fs,
                    uint64_t generation);

/* Start delivering to 'c' (its id must be new to this hub). */
void hub_conn_add(struct hub *h, struct ws_conn *c);
/* Forget connection 'id', its subscriptions and its queued events. */
void hub_conn_remove(struct hub *h, uint64_t id);

/*
 * Subscribe connection 'conn_id' under 'sub_id' (copied) to 'pattern' (a
 * channel or a "/ *" wildcard, chanrule.h; copied). KAERI_ERR_NOT_FOUND
 * for an unknown or closed connection, KAERI_ERR_EXISTS when the
 * connection already has 'sub_id'.
 */
KAERI_MUST_CHECK enum kaeri_err
hub_subscribe(struct hub *h, uint64_t conn_id, const char *sub_id,
              const struct chanrule_channel *pattern);
/* KAERI_ERR_NOT_FOUND when the connection has no 'sub_id'. */
KAERI_MUST_CHECK enum kaeri_err hub_unsubscribe(struct hub *h, uint64_t conn_id,
                                                const char *sub_id);
/* Subscriptions the connection holds (0 for an unknown one). */
size_t hub_subscription_count(const struct hub *h, uint64_t conn_id);

/*
 * Deliver one event ('event', 'len' bytes of JSON text: what the data
 * frame's "event" carries) published on the concrete channel 'ch'.
 * Returns the number of subscriptions it matched.
 */
size_t hub_publish(struct hub *h, const struct chanrule_channel *ch,
                   const char *event, size_t len);

/* Counters, for tests and logs. */
struct hub_stats {
    uint64_t published;   /* hub_publish() calls */
    uint64_t sent;        /* data frames queued on a connection */
    uint64_t dropped;     /* deliveries a fault dropped */
    uint64_t duplicated;  /* extra copies a fault made */
    uint64_t delayed;     /* deliveries sent later by a fault */
    uint64_t reordered;   /* deliveries released out of order */
    uint64_t disconnects; /* connections closed by disconnectAfter */
    uint64_t overflows;   /* connections closed for a full queue */
};
void hub_stats(const struct hub *h, struct hub_stats *out);

#endif

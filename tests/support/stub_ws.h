/*
 * stub_ws.h - a struct ws_transport for unit tests, as stub_transport.h
 * is for HTTP: a connection whose sent frames are kept (parsed) for the
 * test to read, with a queue ceiling so a slow reader can be simulated,
 * and whose close is recorded. Like net_lws.c, closing does not call the
 * service's 'closed' at once: the test does, with stub_ws_finish().
 */
#ifndef KAERI_STUB_WS_H
#define KAERI_STUB_WS_H

#include "ws.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stub_ws {
    struct ws_conn conn;
    json_t *frames;   /* parsed frames not yet read, oldest first */
    size_t queue_max; /* bytes; 0 = WS_QUEUE_MAX_BYTES */
    size_t sent;      /* frames accepted, ever */
    size_t refused;   /* sends refused (queue full or closing) */
    bool closing;     /* ws_close() was called */
    int close_code;
    char close_reason[128];
    bool finished; /* stub_ws_finish() ran */
};

/*
 * Set up 's' as connection 'id' with the upgrade headers 'headers'
 * ("Name: value" strings, NULL-ended; may be NULL). With 'svc' not NULL,
 * call its open callback as the transport would.
 */
void stub_ws_open(struct stub_ws *s, const struct ws_service *svc, uint64_t id,
                  const char *const headers[]);
/* Deliver one text message to the service. */
void stub_ws_send(struct stub_ws *s, const char *text);
/* The oldest unread frame (new reference; its bytes leave the queue), or
 * NULL when none. */
json_t *stub_ws_next(struct stub_ws *s);
/* Frames not yet read. */
size_t stub_ws_pending(const struct stub_ws *s);
/* Read and drop every pending frame. */
void stub_ws_drain(struct stub_ws *s);
/* The connection is gone: call the service's 'closed' (if any) and free
 * what the stub holds. Safe to call twice. */
void stub_ws_finish(struct stub_ws *s);

#endif

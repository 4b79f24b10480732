/*
 * ws.h - transport-neutral WebSocket connections, as http.h is for
 * requests. The events port's transport (net_lws.c) upgrades a request,
 * fills a struct ws_conn and hands it to the service whose websocket path
 * matches; the service then gets every text message and the close, and
 * sends through ws_send_text()/ws_close(). Everything runs on the loop
 * thread.
 *
 * Ownership: the transport owns the connection. After the service's
 * 'closed' callback the connection is gone; anything that outlives a
 * callback (a timer, a queued delivery) refers to it by 'id', never by
 * pointer, and looks it up again (spec/transport.md section 3).
 */
#ifndef KAERI_WS_H
#define KAERI_WS_H

#include "http.h"
#include "kaeri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A connection's outgoing queue is capped; past it, ws_send_text fails. */
#define WS_QUEUE_MAX_BYTES (4u << 20)
#define WS_MESSAGE_MAX     (256u * 1024) /* inbound message size limit */

struct ws_conn;

struct ws_transport {
    /* Queue one text frame; KAERI_ERR_LIMIT when the queue is full. */
    enum kaeri_err (*send_text)(struct ws_conn *c, const char *text,
                                size_t len);
    /* Close with 'code' and 'reason' once what is queued has gone. */
    void (*close)(struct ws_conn *c, int code, const char *reason);
};

struct ws_service;

struct ws_conn {
    /* Filled by the transport at the upgrade. */
    uint64_t id;          /* unique for the process's life, never reused */
    const char *listener; /* "events" */
    bool tls;
    char *path;           /* as sent, without the query */
    char *query;          /* as sent, "" when none */
    struct http_headers headers; /* the upgrade's headers, names lower case,
                                    sec-websocket-protocol whole */
    bool peer_loopback;
    char peer_ip[64];
    size_t queued_bytes;  /* kept by the transport */
    const struct ws_transport *transport;
    void *transport_ctx;

    /* The service's. */
    const struct ws_service *service;
    void *service_ctx;
};

/* What a service that takes WebSockets provides. */
struct ws_service {
    const char *path;        /* "/event/realtime" */
    const char *subprotocol; /* echoed to the client: "aws-appsync-event-ws" */
    /* A new connection; the service may answer, or close it at once. */
    void (*open)(struct ws_conn *c);
    /* One complete text message (binary ones are refused by the transport). */
    void (*message)(struct ws_conn *c, const char *text, size_t len);
    /* The connection is gone (either side closed it); forget it. */
    void (*closed)(struct ws_conn *c);
};

/* The header of the upgrade request, or NULL. */
const char *ws_conn_header(const struct ws_conn *c, const char *name);

/* Send a text frame; KAERI_ERR_LIMIT when the peer reads too slowly. */
KAERI_MUST_CHECK enum kaeri_err ws_send_text(struct ws_conn *c,
                                             const char *text, size_t len);
/* Close after what is queued (1000 normal, 1008 policy, 1011 error...). */
void ws_close(struct ws_conn *c, int code, const char *reason);

/* The service for an upgrade to 'path', or NULL (router.c). */
const struct ws_service *ws_route(const char *path);

#endif

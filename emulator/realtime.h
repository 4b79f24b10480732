/*
 * realtime.h - the AppSync Events realtime WebSocket protocol as messages
 * (spec/appsync-events.md section 5): parse what a client sends, build
 * what the server sends, decode the "header-<base64url JSON>" subprotocol
 * that carries the connection's authorization, and rebuild the body a
 * client signed for an IAM-authorized connect, subscribe or publish
 * (section 5.3).
 *
 * Pure: no sockets, no clock, no globals, no logging; svc_events.c holds
 * the per-connection state and decides what to answer. Every builder
 * returns a new NUL-terminated compact JSON string the caller frees.
 */
#ifndef KAERI_REALTIME_H
#define KAERI_REALTIME_H

#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define REALTIME_SUBPROTOCOL   "aws-appsync-event-ws"
#define REALTIME_HEADER_PREFIX "header-"
/* connectionTimeoutMs of connection_ack, section 5.2 */
#define REALTIME_CONNECTION_TIMEOUT_MS 300000
#define REALTIME_ID_MAX                128   /* characters in a message id */
#define REALTIME_AUTH_HEADER_MAX       16384 /* decoded header map, bytes */
#define REALTIME_AUTH_FIELDS_MAX       64    /* entries in a header map */

/* What a client may send. */
enum realtime_type {
    REALTIME_CONNECTION_INIT,
    REALTIME_SUBSCRIBE,
    REALTIME_UNSUBSCRIBE,
    REALTIME_PUBLISH,
};

/*
 * A parsed client message. Every pointer is borrowed from 'json', which
 * the message owns: release with realtime_msg_release(). Unknown members
 * (Amplify's "payload", "events": undefined...) are ignored.
 */
struct realtime_msg {
    enum realtime_type type;
    const char *id;              /* NULL for connection_init */
    const char *channel;         /* subscribe, publish: as sent */
    const json_t *events;        /* publish: an array, items unchecked */
    const json_t *authorization; /* subscribe, publish: object or NULL */
    json_t *json;                /* the whole message, owned */
};

/*
 * Why a message was refused, and how to say so: the server message type
 * to answer with ("error", "subscribe_error", "unsubscribe_error",
 * "publish_error"), the id to echo ("" when the message had none usable)
 * and the error. Static strings except id and message.
 */
struct realtime_refusal {
    const char *reply_type;
    char id[REALTIME_ID_MAX + 1];
    const char *error_type;
    char message[256];
};

/*
 * Parse one text message. Refused with KAERI_ERR_INVALID and 'why' filled:
 * bytes that are not a JSON object, a missing or non-string "type" (error,
 * BadRequestException), an unknown type (error, UnsupportedOperation), a
 * subscribe, unsubscribe or publish without a usable "id" (1 to
 * REALTIME_ID_MAX characters; error), without a string "channel"
 * (subscribe_error / publish_error, "Invalid Channel Format"), a publish
 * whose "events" is not an array, an "authorization" that is not an object
 * of strings. On failure 'out' holds nothing.
 */
KAERI_MUST_CHECK enum kaeri_err realtime_parse(const char *text, size_t len,
                                               struct realtime_msg *out,
                                               struct realtime_refusal *why);
void realtime_msg_release(struct realtime_msg *m);

/* The name of a client message type ("subscribe"), for logs. */
const char *realtime_type_name(enum realtime_type t);

/* {"type":"connection_ack","connectionTimeoutMs":N} */
char *realtime_connection_ack(long timeout_ms);
/* {"type":"ka"} */
char *realtime_ka(void);
/* {"type":<type>,"id":<id>}: subscribe_success, unsubscribe_success. */
char *realtime_success(const char *type, const char *id);
/*
 * {"type":<type>,"id":<id>,"errors":[{"errorType":..,"message":..}]}, for
 * connection_error, error, subscribe_error, unsubscribe_error,
 * publish_error and broadcast_error. 'id' NULL or "" leaves "id" out;
 * 'message' NULL leaves "message" out (AWS sends some errors without one).
 */
char *realtime_error(const char *type, const char *id, const char *error_type,
                     const char *message);
/* realtime_error() for a refused message. */
char *realtime_refusal_text(const struct realtime_refusal *why);
/* {"type":"data","id":<subscription id>,"event":<the event's JSON text>} */
char *realtime_data(const char *sub_id, const char *event, size_t len);
/*
 * {"type":"publish_success","id":..,"successful":[..],"failed":[..]}; the
 * arrays are borrowed.
 */
char *realtime_publish_success(const char *id, const json_t *successful,
                               const json_t *failed);

/*
 * Find the "header-<base64url>" entry in a Sec-WebSocket-Protocol value
 * ('protocols', comma separated, spaces allowed) and decode it to the
 * header map it carries: a JSON object whose values are all strings.
 * KAERI_ERR_NOT_FOUND when there is no such entry; KAERI_ERR_INVALID (with
 * 'err') when its base64url, JSON or shape is wrong. *out is new.
 */
KAERI_MUST_CHECK enum kaeri_err realtime_auth_header(const char *protocols,
                                                     json_t **out,
                                                     struct kaeri_error *err);

/*
 * The body a client signed for 'type' (section 5.3): "{}" for the
 * connection (REALTIME_CONNECTION_INIT), {"channel":<channel>} for a
 * subscribe, {"channel":<channel>,"events":<events>} for a publish,
 * compact as JSON.stringify writes it. New string.
 */
char *realtime_signed_body(enum realtime_type type, const char *channel,
                           const json_t *events);

#endif

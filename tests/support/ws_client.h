/*
 * ws_client.h - a WebSocket client for tests, on libwebsockets' client
 * (the issue asks for it): connect to ws:// or wss:// with the AppSync
 * subprotocols, send text, wait for the next message with a bounded wait.
 * Many connections share one context, so a test can hold hundreds.
 */
#ifndef KAERI_WS_CLIENT_H
#define KAERI_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define WS_CLIENT_WAIT_MS 10000

struct ws_clients; /* one lws client context */
struct ws_client;  /* one connection */

/* A client context; 'ca' is the CA file for wss:// (NULL: plain only). */
struct ws_clients *ws_clients_new(const char *ca);
void ws_clients_free(struct ws_clients *all);

/*
 * Connect to 'url' ("wss://127.0.0.1:PORT/event/realtime") offering
 * 'subprotocols' ("aws-appsync-event-ws,header-..."; may be 4 KB) and the
 * extra upgrade headers 'headers' ("Name: value", NULL-ended, or NULL).
 * Waits for the handshake; NULL when it fails (or 'timeout_ms' passes).
 */
struct ws_client *ws_client_connect(struct ws_clients *all, const char *url,
                                    const char *subprotocols,
                                    const char *const headers[],
                                    int timeout_ms);
/* Queue a text message (sent by the service loop). 0 or -1. */
int ws_client_send(struct ws_client *c, const char *text);
/*
 * The next message received on 'c' (new string, caller frees), waiting at
 * most 'timeout_ms' while serving every connection. NULL on timeout or
 * when the connection closed (ws_client_closed() tells).
 */
char *ws_client_recv(struct ws_client *c, int timeout_ms);
/* Messages already received and not yet taken. */
size_t ws_client_pending(const struct ws_client *c);
bool ws_client_closed(const struct ws_client *c);
/* The close code the server sent, 0 if none yet. */
int ws_client_close_code(const struct ws_client *c);
/* Serve all connections for up to 'timeout_ms' (to let messages arrive). */
void ws_clients_serve(struct ws_clients *all, int timeout_ms);
/* Close (if open) and free; the context frees anything left. */
void ws_client_free(struct ws_client *c);

/* "header-" + base64url(JSON) of 'json', for the subprotocol list. */
char *ws_client_header_protocol(const char *json);

#endif

/*
 * net_lws.h - the events port (--events-port): HTTP/1.1 and WebSocket, TLS
 * and plain on one port, served by libwebsockets (CONTRACT.md "Ports and
 * routing"). Every HTTP request goes to the same router as the main port;
 * WebSocket upgrades go to the service whose ws_service path matches.
 *
 * libwebsockets' own event loop hosts kaeri's loop (loop.h guest mode):
 * the loop's epoll fd, readable for its fds and its timers alike, is
 * adopted as a raw file, so everything still runs on one thread.
 */
#ifndef KAERI_NET_LWS_H
#define KAERI_NET_LWS_H

#include "kaeri.h"
#include "loop.h"

#include <stdint.h>

struct net_lws;

struct net_lws_options {
    const char *host;      /* listen address */
    uint16_t port;         /* 0 picks one */
    const char *cert_path; /* leaf certificate (PEM); NULL: plain only */
    const char *key_path;  /* its private key */
    size_t max_body;       /* request bodies over it get 413 */
};

/*
 * Create the lws context and listen. *bound_port says which port. The
 * loop is hosted from here on: run it with net_lws_run().
 */
struct net_lws *net_lws_start(struct loop *loop,
                              const struct net_lws_options *opt,
                              uint16_t *bound_port, struct kaeri_error *err);
/* Serve until loop_stop() (a signal). */
void net_lws_run(struct net_lws *n);
/* Close WebSockets with a close frame, stop listening, free. NULL ok. */
void net_lws_stop(struct net_lws *n);

#endif

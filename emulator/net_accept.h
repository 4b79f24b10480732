/*
 * net_accept.h - the main port's own listening socket (--port). Each new
 * connection is held until its first bytes arrive: "PRI " starts an HTTP/2
 * prior-knowledge connection (nghttp2, net_h2.c), anything else goes
 * to libmicrohttpd. The bytes are only peeked, so the adopter reads all.
 */
#ifndef KAERI_NET_ACCEPT_H
#define KAERI_NET_ACCEPT_H

#include "kaeri.h"
#include "loop.h"
#include "net_h2.h"
#include "net_mhd.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_accept;

/* Bind and listen on host:port (port 0 picks one); *bound_port says which. */
struct net_accept *net_accept_start(struct loop *loop, const char *host,
                                    uint16_t port, struct net_mhd *http1,
                                    struct net_h2 *http2, uint16_t *bound_port,
                                    struct kaeri_error *err);
/*
 * A listening, non-blocking socket on host:port (port 0 picks one, and
 * *bound_port says which), or -1 with 'err' set. Shared by the events port.
 */
int net_listen(const char *host, uint16_t port, uint16_t *bound_port,
               struct kaeri_error *err);

/* Is 'sa' a loopback peer (127.0.0.0/8, ::1, or ::ffff:127.x.y.z)? */
bool net_is_loopback(const struct sockaddr *sa);

/* Stop accepting and close connections not yet handed over. NULL ok. */
void net_accept_stop(struct net_accept *a);

#endif

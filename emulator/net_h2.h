/*
 * net_h2.h - the main port's HTTP/2 prior-knowledge (h2c) connections,
 * served by nghttp2 on the loop: net_accept.c hands over each connection
 * whose first bytes are "PRI ", still unread, and every stream on it
 * becomes a struct http_req for the router (CONTRACT.md "Ports and
 * routing"; spec/transport.md section 2).
 */
#ifndef KAERI_NET_H2_H
#define KAERI_NET_H2_H

#include "kaeri.h"
#include "loop.h"

#include <stddef.h>
#include <sys/socket.h>

struct net_h2;

/*
 * A new HTTP/2 server on 'loop'; 'max_body' caps request bodies (413
 * beyond it). NULL with 'err' set if nghttp2 cannot be set up.
 */
struct net_h2 *net_h2_start(struct loop *loop, size_t max_body,
                            struct kaeri_error *err);

/*
 * Take over an accepted, non-blocking connection whose client preface is
 * still unread; it is closed on failure. 'addr' tells loopback peers.
 */
void net_h2_adopt(struct net_h2 *h2, int fd, const struct sockaddr *addr,
                  socklen_t addr_len);

/*
 * Send GOAWAY on every connection, close them (requests still with a
 * service are aborted and logged) and free everything. NULL is a no-op.
 * Call it before the services are released; the loop must not run after.
 */
void net_h2_stop(struct net_h2 *h2);

#endif

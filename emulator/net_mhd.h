/*
 * net_mhd.h - the main port's HTTP/1.1 connections, served by
 * libmicrohttpd without a thread or listening socket of its own: kaeri's
 * accept code hands it each connection, and the loop runs it.
 */
#ifndef KAERI_NET_MHD_H
#define KAERI_NET_MHD_H

#include "kaeri.h"
#include "loop.h"

#include <stddef.h>
#include <sys/socket.h>

struct net_mhd;

/* 'max_body' caps request bodies (413 beyond it). */
struct net_mhd *net_mhd_start(struct loop *loop, size_t max_body,
                              struct kaeri_error *err);
/* Take over an accepted, non-blocking connection (closed on failure). */
void net_mhd_adopt(struct net_mhd *m, int fd, const struct sockaddr *addr,
                   socklen_t addr_len);
/* Close every connection (pending requests are aborted) and free. */
void net_mhd_stop(struct net_mhd *m);

#endif

/*
 * loop.h - the one event loop (STYLE.md section 6): file descriptors on
 * epoll, timers on a min-heap, and "prepare" hooks that run before every
 * wait (libmicrohttpd uses one to run and to say when it next needs time).
 * Everything kaeri does happens in a callback from loop_run(), on one
 * thread, so service code needs no locks.
 */
#ifndef KAERI_LOOP_H
#define KAERI_LOOP_H

#include "kaeri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h> /* EPOLLIN, EPOLLOUT for loop_watch() */

struct loop;

typedef void loop_fd_fn(int fd, uint32_t events, void *ctx);
typedef void loop_timer_fn(void *ctx);
/* Runs before each wait; returns the longest it may wait in ms, or -1. */
typedef int loop_prepare_fn(void *ctx);

/* A timer, embedded in its owner's struct; fields private to loop.c. */
struct loop_timer {
    int64_t due_us;
    size_t heap_index; /* position in the heap, or LOOP_TIMER_IDLE */
    loop_timer_fn *fn;
    void *ctx;
};

#define LOOP_TIMER_IDLE ((size_t)-1)

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watch 'fd' for 'events' (EPOLLIN, EPOLLOUT); one watcher per fd. */
KAERI_MUST_CHECK enum kaeri_err loop_watch(struct loop *loop, int fd,
                                           uint32_t events, loop_fd_fn *fn,
                                           void *ctx);
KAERI_MUST_CHECK enum kaeri_err loop_rewatch(struct loop *loop, int fd,
                                             uint32_t events);
/* Stop watching 'fd' (before closing it). Unknown fds are ignored. */
void loop_unwatch(struct loop *loop, int fd);

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *ctx);
/* (Re)arm 't' to fire once, 'delay_us' from now (monotonic). */
void loop_timer_start(struct loop *loop, struct loop_timer *t,
                      int64_t delay_us);
/* Disarm; a no-op for an idle timer. */
void loop_timer_stop(struct loop *loop, struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);

KAERI_MUST_CHECK enum kaeri_err loop_add_prepare(struct loop *loop,
                                                 loop_prepare_fn *fn,
                                                 void *ctx);

/*
 * Guest mode, for a host loop that owns the process (libwebsockets' event
 * loop, net_lws.c): loop_fd() becomes readable whenever a watched fd is
 * ready or a timer (or a prepare hook's deadline) is due, through a timerfd
 * in the epoll set, so the host only polls one fd and calls
 * loop_run_guest() when it reads. No host timer is needed: libwebsockets
 * 4.1.6 does not always cut its poll short for a timer scheduled from
 * outside a callback, and a kaeri timer must not wait for it.
 */
KAERI_MUST_CHECK enum kaeri_err loop_guest_mode(struct loop *loop);
int loop_fd(const struct loop *loop);
void loop_run_guest(struct loop *loop);
bool loop_stopping(const struct loop *loop);

/* Run until loop_stop(). */
void loop_run(struct loop *loop);
void loop_stop(struct loop *loop);
/* Run one iteration, waiting at most 'max_wait_ms' (-1: as long as needed). */
void loop_run_once(struct loop *loop, int max_wait_ms);

#endif

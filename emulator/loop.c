/*
 * loop.c - epoll, a timer min-heap and prepare hooks: the one loop every
 * socket, timer and child process of kaeri is served from.
 *
 * Watchers are found by fd in a table rather than through epoll's data
 * pointer, so a callback that unwatches another fd in the same batch
 * leaves no dangling pointer behind: the later event finds no watcher.
 */
#include "loop.h"
#include "alloc.h"
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_BATCH 64

struct watcher {
    loop_fd_fn *fn;
    void *ctx;
};

struct prepare {
    loop_prepare_fn *fn;
    void *ctx;
};

struct loop {
    int epfd;
    bool stopping;
    struct watcher **by_fd; /* indexed by fd */
    size_t fd_cap;
    struct loop_timer **heap;
    size_t heap_len, heap_cap;
    struct prepare *prepares;
    size_t prepare_count;
    int timer_fd; /* guest mode: makes epfd readable when a timer is due */
};

struct loop *loop_new(void)
{
    struct loop *loop = xcalloc(1, sizeof(*loop));

    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->timer_fd = -1;
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    for (size_t i = 0; i < loop->fd_cap; i++)
        free(loop->by_fd[i]);
    free(loop->by_fd);
    free(loop->heap);
    free(loop->prepares);
    if (loop->timer_fd >= 0)
        close(loop->timer_fd);
    close(loop->epfd);
    free(loop);
}

enum kaeri_err loop_watch(struct loop *loop, int fd, uint32_t events,
                          loop_fd_fn *fn, void *ctx)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    if (fd < 0)
        return KAERI_ERR_INVALID;
    if ((size_t)fd >= loop->fd_cap) {
        size_t cap = loop->fd_cap ? loop->fd_cap : 64;

        while (cap <= (size_t)fd)
            cap *= 2;
        loop->by_fd = xrealloc(loop->by_fd, cap * sizeof(*loop->by_fd));
        memset(loop->by_fd + loop->fd_cap, 0,
               (cap - loop->fd_cap) * sizeof(*loop->by_fd));
        loop->fd_cap = cap;
    }
    if (loop->by_fd[fd])
        return KAERI_ERR_EXISTS;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev))
        return KAERI_ERR_IO;
    loop->by_fd[fd] = xmalloc(sizeof(struct watcher));
    loop->by_fd[fd]->fn = fn;
    loop->by_fd[fd]->ctx = ctx;
    return KAERI_OK;
}

enum kaeri_err loop_rewatch(struct loop *loop, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    if (fd < 0 || (size_t)fd >= loop->fd_cap || !loop->by_fd[fd])
        return KAERI_ERR_NOT_FOUND;
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) ? KAERI_ERR_IO
                                                         : KAERI_OK;
}

void loop_unwatch(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->fd_cap || !loop->by_fd[fd])
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    FREE_AND_NULL(loop->by_fd[fd]);
}

/* --- timers: a binary min-heap on due time ------------------------------ */

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (loop->heap[parent]->due_us <= t->due_us)
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len &&
            loop->heap[child + 1]->due_us < loop->heap[child]->due_us)
            child++;
        if (t->due_us <= loop->heap[child]->due_us)
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

/*
 * Guest mode: make the epoll fd readable in 'delay_us' (at once for 0; never
 * for a negative delay), so a host loop that polls it wakes for the timer.
 */
static void arm_timer_fd(struct loop *loop, int64_t delay_us)
{
    struct itimerspec its = {0};

    if (delay_us >= 0) {
        if (delay_us == 0)
            delay_us = 1; /* a zero it_value would disarm */
        its.it_value.tv_sec = delay_us / 1000000;
        its.it_value.tv_nsec = (long)(delay_us % 1000000) * 1000;
    }
    timerfd_settime(loop->timer_fd, 0, &its, NULL);
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *ctx)
{
    t->due_us = 0;
    t->heap_index = LOOP_TIMER_IDLE;
    t->fn = fn;
    t->ctx = ctx;
}

bool loop_timer_armed(const struct loop_timer *t)
{
    return t->heap_index != LOOP_TIMER_IDLE;
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->heap_index;
    struct loop_timer *last;

    if (i == LOOP_TIMER_IDLE)
        return;
    t->heap_index = LOOP_TIMER_IDLE;
    last = loop->heap[--loop->heap_len];
    if (last == t)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_index);
}

void loop_timer_start(struct loop *loop, struct loop_timer *t,
                      int64_t delay_us)
{
    loop_timer_stop(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = xrealloc(loop->heap, loop->heap_cap * sizeof(*loop->heap));
    }
    t->due_us = clock_mono_us() + (delay_us > 0 ? delay_us : 0);
    heap_set(loop, loop->heap_len++, t);
    heap_up(loop, t->heap_index);
    if (loop->timer_fd >= 0 && t->heap_index == 0)
        arm_timer_fd(loop, delay_us > 0 ? delay_us : 0);
}

/* Fire every timer that is due; a callback may re-arm its own timer. */
static void run_timers(struct loop *loop)
{
    int64_t now = clock_mono_us();

    while (loop->heap_len && loop->heap[0]->due_us <= now) {
        struct loop_timer *t = loop->heap[0];

        loop_timer_stop(loop, t);
        t->fn(t->ctx);
    }
}

enum kaeri_err loop_add_prepare(struct loop *loop, loop_prepare_fn *fn,
                                void *ctx)
{
    loop->prepares = xrealloc(loop->prepares, (loop->prepare_count + 1) *
                                                  sizeof(*loop->prepares));
    loop->prepares[loop->prepare_count].fn = fn;
    loop->prepares[loop->prepare_count].ctx = ctx;
    loop->prepare_count++;
    return KAERI_OK;
}

static int min_wait(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* Run the prepare hooks; how long the loop may wait, at most 'max_ms'. */
static int next_wait(struct loop *loop, int max_ms)
{
    int wait_ms = max_ms;

    for (size_t i = 0; i < loop->prepare_count; i++)
        wait_ms = min_wait(wait_ms,
                           loop->prepares[i].fn(loop->prepares[i].ctx));
    if (loop->heap_len) {
        int64_t left = loop->heap[0]->due_us - clock_mono_us();
        /* Round up so a timer is never polled for before it is due. */
        int timer_ms = left <= 0 ? 0 : (int)((left + 999) / 1000);

        wait_ms = min_wait(wait_ms, timer_ms);
    }
    return wait_ms;
}

void loop_run_once(struct loop *loop, int max_wait_ms)
{
    struct epoll_event events[LOOP_BATCH];
    int wait_ms, n;

    run_timers(loop);
    wait_ms = next_wait(loop, max_wait_ms);
    if (loop->stopping)
        wait_ms = 0;
    n = epoll_wait(loop->epfd, events, LOOP_BATCH, wait_ms);
    if (n < 0 && errno != EINTR)
        return;
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        struct watcher *w;

        if ((size_t)fd >= loop->fd_cap || !(w = loop->by_fd[fd]))
            continue;
        w->fn(fd, events[i].events, w->ctx);
    }
    run_timers(loop);
}

int loop_fd(const struct loop *loop)
{
    return loop->epfd;
}

static void on_timer_fd(int fd, uint32_t events, void *ctx)
{
    uint64_t expirations;

    (void)events;
    (void)ctx;
    if (read(fd, &expirations, sizeof(expirations)) < 0)
        return; /* EAGAIN: already read */
}

enum kaeri_err loop_guest_mode(struct loop *loop)
{
    if (loop->timer_fd >= 0)
        return KAERI_OK;
    loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->timer_fd < 0)
        return KAERI_ERR_IO;
    if (loop_watch(loop, loop->timer_fd, EPOLLIN, on_timer_fd, loop)) {
        close(loop->timer_fd);
        loop->timer_fd = -1;
        return KAERI_ERR_IO;
    }
    return KAERI_OK;
}

void loop_run_guest(struct loop *loop)
{
    int wait_ms;

    loop_run_once(loop, 0);
    wait_ms = next_wait(loop, -1);
    arm_timer_fd(loop, wait_ms < 0 ? -1 : (int64_t)wait_ms * 1000);
}

bool loop_stopping(const struct loop *loop)
{
    return loop->stopping;
}

void loop_run(struct loop *loop)
{
    loop->stopping = false;
    while (!loop->stopping)
        loop_run_once(loop, -1);
}

void loop_stop(struct loop *loop)
{
    loop->stopping = true;
}

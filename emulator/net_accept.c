/*
 * net_accept.c - accept on the main port and sort connections by their
 * first bytes (spec/transport.md section 2, "single-port design"): no
 * thread, the listening socket and the undecided connections are loop fds.
 */
#define _GNU_SOURCE /* accept4 */
#include "net_accept.h"
#include "alloc.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client that connects and sends nothing is closed after this long. */
#define SNIFF_TIMEOUT_US (10 * 1000000)
#define H2_PREFACE_START "PRI "

struct pending {
    struct net_accept *owner;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct loop_timer timeout;
    struct pending *prev, *next;
};

struct net_accept {
    struct loop *loop;
    struct net_mhd *http1;
    struct net_h2 *http2;
    int listen_fd;
    struct pending *pending; /* undecided connections */
};

bool net_is_loopback(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};

        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return !memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) &&
               in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void pending_close(struct pending *p, bool close_fd)
{
    struct net_accept *a = p->owner;

    loop_timer_stop(a->loop, &p->timeout);
    loop_unwatch(a->loop, p->fd);
    if (close_fd)
        close(p->fd);
    if (p->prev)
        p->prev->next = p->next;
    else
        a->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p);
}

static void on_sniff_timeout(void *ctx)
{
    pending_close(ctx, true);
}

static void on_first_bytes(int fd, uint32_t events, void *ctx)
{
    struct pending *p = ctx;
    char head[4];
    ssize_t n;

    (void)events;
    n = recv(fd, head, sizeof(head), MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        pending_close(p, true);
        return;
    }
    if ((size_t)n < sizeof(head) && !memcmp(head, H2_PREFACE_START, (size_t)n))
        return; /* could still be the HTTP/2 preface: wait for more */
    {
        struct net_mhd *http1 = p->owner->http1;
        struct net_h2 *http2 = p->owner->http2;
        struct sockaddr_storage addr = p->addr;
        socklen_t addr_len = p->addr_len;
        bool h2 = (size_t)n == sizeof(head) &&
                  !memcmp(head, H2_PREFACE_START, sizeof(head));

        pending_close(p, false);
        if (h2)
            net_h2_adopt(http2, fd, (struct sockaddr *)&addr, addr_len);
        else
            net_mhd_adopt(http1, fd, (struct sockaddr *)&addr, addr_len);
    }
}

static void on_listen_ready(int fd, uint32_t events, void *ctx)
{
    struct net_accept *a = ctx;

    (void)events;
    for (;;) {
        struct pending *p = xcalloc(1, sizeof(*p));
        int one = 1;

        p->addr_len = sizeof(p->addr);
        p->fd = accept4(fd, (struct sockaddr *)&p->addr, &p->addr_len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept: %s", strerror(errno));
            free(p);
            return;
        }
        setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        p->owner = a;
        loop_timer_init(&p->timeout, on_sniff_timeout, p);
        if (loop_watch(a->loop, p->fd, EPOLLIN, on_first_bytes, p)) {
            close(p->fd);
            free(p);
            continue;
        }
        p->next = a->pending;
        if (p->next)
            p->next->prev = p;
        a->pending = p;
        loop_timer_start(a->loop, &p->timeout, SNIFF_TIMEOUT_US);
    }
}

int net_listen(const char *host, uint16_t port, uint16_t *bound_port,
               struct kaeri_error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    struct sockaddr_storage sa;
    socklen_t sa_len = sizeof(sa);
    char service[8];
    int fd = -1, one = 1, rc;

    snprintf(service, sizeof(service), "%u", port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc) {
        kaeri_fail(err, KAERI_ERR_INVALID, "--host", "cannot resolve '%s': %s",
                   host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024) ||
        getsockname(fd, (struct sockaddr *)&sa, &sa_len)) {
        kaeri_fail(err, KAERI_ERR_IO, "--port", "cannot listen on %s:%u: %s",
                   host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    if (sa.ss_family == AF_INET6)
        *bound_port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    else
        *bound_port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

struct net_accept *net_accept_start(struct loop *loop, const char *host,
                                    uint16_t port, struct net_mhd *http1,
                                    struct net_h2 *http2, uint16_t *bound_port,
                                    struct kaeri_error *err)
{
    struct net_accept *a;
    int fd = net_listen(host, port, bound_port, err);

    if (fd < 0)
        return NULL;
    a = xcalloc(1, sizeof(*a));
    a->loop = loop;
    a->http1 = http1;
    a->http2 = http2;
    a->listen_fd = fd;
    if (loop_watch(loop, fd, EPOLLIN, on_listen_ready, a)) {
        kaeri_fail(err, KAERI_ERR_IO, "--port", "cannot watch the listener");
        close(fd);
        free(a);
        return NULL;
    }
    return a;
}

void net_accept_stop(struct net_accept *a)
{
    if (!a)
        return;
    loop_unwatch(a->loop, a->listen_fd);
    close(a->listen_fd);
    while (a->pending)
        pending_close(a->pending, true);
    free(a);
}

/*
 * net_mhd.c - HTTP/1.1 on the main port through libmicrohttpd, run by the
 * loop: no listening socket (net_accept.c adopts connections into it), no
 * thread (MHD_USE_EPOLL without internal polling; the loop watches MHD's
 * epoll fd and asks MHD_get_timeout() how long it may sleep).
 *
 * A request waiting for its service, and a stream waiting for its next
 * piece, is a suspended connection (MHD_suspend_connection); the answer
 * resumes it (spec/transport.md section 5). The access handler follows the
 * three phases of STYLE.md section 6; the reply is queued on the call after
 * the headers at the earliest, never the first, which would cost
 * keep-alive (spec/transport.md section 6).
 */
#include "net_mhd.h"
#include "alloc.h"
#include "http.h"
#include "log.h"
#include "net_accept.h"
#include "router.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MHD_STREAM_BLOCK      (16 * 1024)
#define MHD_CONNECTION_MEMORY (128 * 1024)
#define MHD_IDLE_TIMEOUT_S    120

struct net_mhd {
    struct MHD_Daemon *daemon;
    struct loop *loop;
    int epoll_fd;
    size_t max_body;
    bool run_pending;  /* a connection was added or resumed */
    bool stopping;
    struct conn_req *suspended; /* list of suspended requests */
};

/* One request on one connection: kaeri's request plus MHD's handles. */
struct conn_req {
    struct net_mhd *m;
    struct MHD_Connection *conn;
    struct http_req *req;
    bool headers_read;
    bool in_dispatch;  /* inside router_dispatch(): queue after it returns */
    bool suspended;
    bool queued;       /* a response is queued with MHD */
    struct conn_req *prev, *next; /* on m->suspended while suspended */
};

static void suspend(struct conn_req *c)
{
    struct net_mhd *m = c->m;

    if (c->suspended)
        return;
    MHD_suspend_connection(c->conn);
    c->suspended = true;
    c->prev = NULL;
    c->next = m->suspended;
    if (c->next)
        c->next->prev = c;
    m->suspended = c;
}

static void unlink_suspended(struct conn_req *c)
{
    struct net_mhd *m = c->m;

    if (c->prev)
        c->prev->next = c->next;
    else
        m->suspended = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->suspended = false;
}

static void resume(struct conn_req *c)
{
    if (!c->suspended)
        return;
    unlink_suspended(c);
    MHD_resume_connection(c->conn);
    c->m->run_pending = true;
}

static void add_reply_headers(struct MHD_Response *resp,
                              const struct http_req *req)
{
    for (size_t i = 0; i < req->reply_headers.count; i++)
        MHD_add_response_header(resp, req->reply_headers.items[i].name,
                                req->reply_headers.items[i].value);
}

/* Body bytes for a streamed reply; suspends when there are none yet. */
static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    struct conn_req *c = cls;
    struct http_req *req = c->req;
    size_t n;

    (void)pos;
    if (req->stream_failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (req->stream_out.len) {
        n = req->stream_out.len < max ? req->stream_out.len : max;
        memcpy(out, req->stream_out.data, n);
        buf_consume(&req->stream_out, n);
        return (ssize_t)n;
    }
    if (req->state == HTTP_REQ_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    /* Returning 0 without suspending would make MHD spin on us. */
    suspend(c);
    return 0;
}

/* Queue whatever the service has produced; MHD_YES unless it failed. */
static enum MHD_Result queue_reply(struct conn_req *c)
{
    struct http_req *req = c->req;
    struct MHD_Response *resp;
    enum MHD_Result rc;

    if (req->state == HTTP_REQ_REPLIED) {
        size_t len;
        char *body = buf_detach(&req->reply_body, &len);

        resp = MHD_create_response_from_buffer(len, body,
                                               MHD_RESPMEM_MUST_FREE);
    } else {
        resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, MHD_STREAM_BLOCK, read_stream, c, NULL);
    }
    if (!resp)
        return MHD_NO;
    add_reply_headers(resp, req);
    rc = MHD_queue_response(c->conn, (unsigned int)req->status, resp);
    MHD_destroy_response(resp);
    c->queued = rc == MHD_YES;
    return rc;
}

static void transport_reply(struct http_req *req)
{
    struct conn_req *c = req->transport_ctx;

    if (!c->in_dispatch)
        resume(c); /* the handler is called again and queues it */
}

static void transport_stream_push(struct http_req *req)
{
    struct conn_req *c = req->transport_ctx;

    if (c->queued || !c->in_dispatch)
        resume(c);
}

static const struct http_transport mhd_transport = {
    .reply = transport_reply,
    .stream_start = transport_reply,
    .stream_push = transport_stream_push,
};


/* MHD_OPTION_URI_LOG_CALLBACK: the raw request target, before parsing. */
static void *on_request_start(void *cls, const char *uri,
                              struct MHD_Connection *conn)
{
    struct net_mhd *m = cls;
    struct conn_req *c = xcalloc(1, sizeof(*c));
    const union MHD_ConnectionInfo *info;
    const char *q = strchr(uri, '?');

    c->m = m;
    c->conn = conn;
    c->req = http_req_new("http", &mhd_transport, c, m->max_body);
    c->req->path = q ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
    c->req->query = xstrdup(q ? q + 1 : "");
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    c->req->peer_loopback = info && net_is_loopback(info->client_addr);
    return c;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct http_req *req = cls;

    (void)kind;
    http_req_add_header(req, key, strlen(key), value ? value : "",
                        value ? strlen(value) : 0);
    return MHD_YES;
}


static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct net_mhd *m = cls;
    struct conn_req *c = *req_cls;
    struct http_req *req;

    (void)url;
    (void)version;
    if (!c)
        return MHD_NO; /* the URI callback always runs first */
    req = c->req;
    if (m->stopping && !c->queued)
        return MHD_NO;
    if (!c->headers_read) { /* 1: headers only */
        c->headers_read = true;
        req->method = xstrdup(method);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, req);
        if (http_req_declared_too_large(req)) {
            http_reply_too_large(req);
            return queue_reply(c); /* MHD closes without reading the body */
        }
        return MHD_YES;
    }
    if (*upload_size) { /* 2: a piece of the body */
        if (req->state == HTTP_REQ_RECEIVING &&
            buf_add(&req->body, upload, *upload_size))
            http_reply_too_large(req); /* queued when the body ends */
        *upload_size = 0;
        return MHD_YES;
    }
    /* 3: the body is complete (or this is a resumed call) */
    if (c->queued)
        return MHD_YES;
    if (req->state == HTTP_REQ_RECEIVING) {
        c->in_dispatch = true;
        router_dispatch(req);
        c->in_dispatch = false;
    }
    if (req->state == HTTP_REQ_DISPATCHED) {
        suspend(c); /* the service answers later */
        return MHD_YES;
    }
    return queue_reply(c);
}

static void on_request_done(void *cls, struct MHD_Connection *conn,
                            void **req_cls,
                            enum MHD_RequestTerminationCode toe)
{
    struct conn_req *c = *req_cls;

    (void)cls;
    (void)conn;
    if (!c)
        return;
    if (c->req->method) {
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !c->req->status)
            c->req->status = 499; /* the client went away first */
        http_req_log(c->req);
    }
    if (c->suspended)
        unlink_suspended(c);
    http_req_free(c->req);
    free(c);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    KAERI_PRINTF(2, 0);

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[n - 1] = '\0';
    log_debug("libmicrohttpd: %s", line);
}

static void on_mhd_ready(int fd, uint32_t events, void *ctx)
{
    struct net_mhd *m = ctx;

    (void)fd;
    (void)events;
    MHD_run(m->daemon);
}

/* Before each wait: run MHD if something changed, then ask for its timeout. */
static int mhd_prepare(void *ctx)
{
    struct net_mhd *m = ctx;
    MHD_UNSIGNED_LONG_LONG timeout;

    while (m->run_pending) {
        m->run_pending = false;
        MHD_run(m->daemon);
    }
    /*
     * A timeout of 0 means MHD has work now (a content reader just gave it
     * stream bytes, a queued reply): run it here, bounded, rather than wait
     * for a socket event that may never come.
     */
    for (int i = 0; i < 16; i++) {
        if (MHD_get_timeout(m->daemon, &timeout) != MHD_YES)
            return -1;
        if (timeout > 0)
            break;
        MHD_run(m->daemon);
    }
    return timeout > 60000 ? 60000 : (int)timeout;
}

struct net_mhd *net_mhd_start(struct loop *loop, size_t max_body,
                              struct kaeri_error *err)
{
    struct net_mhd *m = xcalloc(1, sizeof(*m));
    const union MHD_DaemonInfo *info;

    m->loop = loop;
    m->max_body = max_body;
    m->daemon = MHD_start_daemon(
        MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        m, MHD_OPTION_URI_LOG_CALLBACK, on_request_start, m,
        MHD_OPTION_NOTIFY_COMPLETED, on_request_done, m,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MHD_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MHD_CONNECTION_MEMORY,
        MHD_OPTION_END);
    if (!m->daemon) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "", "libmicrohttpd did not start");
        free(m);
        return NULL;
    }
    info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    m->epoll_fd = info ? info->epoll_fd : -1;
    if (m->epoll_fd < 0 ||
        loop_watch(loop, m->epoll_fd, EPOLLIN, on_mhd_ready, m) ||
        loop_add_prepare(loop, mhd_prepare, m)) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "",
                   "cannot poll libmicrohttpd's epoll fd");
        MHD_stop_daemon(m->daemon);
        free(m);
        return NULL;
    }
    return m;
}

void net_mhd_adopt(struct net_mhd *m, int fd, const struct sockaddr *addr,
                   socklen_t addr_len)
{
    /* MHD closes the socket itself when it cannot take it. */
    if (MHD_add_connection(m->daemon, fd, addr, addr_len) != MHD_YES)
        log_warn("libmicrohttpd refused a connection");
    m->run_pending = true;
}

void net_mhd_stop(struct net_mhd *m)
{
    if (!m)
        return;
    m->stopping = true;
    /* MHD_stop_daemon must not meet a suspended connection. */
    while (m->suspended)
        resume(m->suspended);
    MHD_run(m->daemon);
    loop_unwatch(m->loop, m->epoll_fd);
    MHD_stop_daemon(m->daemon);
    free(m);
}

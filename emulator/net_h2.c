/*
 * net_h2.c - HTTP/2 with prior knowledge (h2c) on the main port, served by
 * nghttp2 on the loop (spec/transport.md section 2). nghttp2 does no I/O:
 * each connection is a non-blocking socket the loop watches; what is read
 * goes to nghttp2_session_mem_recv(), and nghttp2's send callback writes
 * to the socket until it would block, after which the loop waits for
 * EPOLLOUT.
 *
 * One stream is one struct http_req: the header callbacks fill it
 * (":path" split into path and query as sent, ":authority" as "host" for
 * SigV4), DATA goes to its body up to the configured cap, and END_STREAM
 * hands it to the router. A refused request (413 body, 431 headers, 400)
 * is read to its end, dropped, and answered then. Memory is bounded per
 * stream (header list, body cap), per connection (100 concurrent streams)
 * and overall (live streams). The answer becomes a response whose DATA
 * frames are pulled from req->reply_body (whole replies) or from
 * req->stream_out (streams: the data provider is deferred while it is
 * empty, resumed by stream_push).
 *
 * A client's GOAWAY stops new streams, never the ones in flight: the AWS
 * SDK for JavaScript's Bedrock client sends one as soon as the response
 * headers arrive, then reads the stream. The connection closes once
 * nghttp2 wants neither to read nor to write.
 *
 * Frames are sent only at safe points (after a read, when writable, from
 * a zero-delay loop timer), never from a transport callback: a service
 * that answers may still be on the stack with the request in hand, and a
 * send can close streams and free requests (STYLE.md section 4). A timer
 * rather than a prepare hook, because a timer also wakes the loop when it
 * is a guest of libwebsockets (loop.h) and the answer came from there.
 *
 * Left out on purpose: TLS (the events port's job), the h2c upgrade from
 * HTTP/1.1, server push, priorities, request trailers (read, ignored).
 */
#include "net_h2.h"
#include "alloc.h"
#include "http.h"
#include "log.h"
#include "net_accept.h"
#include "router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define H2_MAX_CONCURRENT_STREAMS 100  /* per connection, SETTINGS */
#define H2_MAX_LIVE_STREAMS       4096 /* all connections: REFUSED_STREAM */
#define H2_MAX_HEADER_LIST        (64 * 1024) /* RFC 7541 sizes: 431 */
#define H2_STREAM_WINDOW          (1 << 20)   /* bytes a client may send */
#define H2_CONN_WINDOW            (16 << 20)
#define H2_READ_CHUNK             (16 * 1024)
#define H2_READS_PER_EVENT        8 /* then let other fds have a turn */
#define H2_IDLE_TIMEOUT_US        (120 * (int64_t)1000000)

struct h2_conn;

/* Why a request is refused, once it has ended (see stream_request_done). */
enum h2_refusal {
    H2_ACCEPTED,
    H2_HEADERS_TOO_LARGE, /* 431 */
    H2_NO_REQUEST_LINE,   /* 400: no :method or :path */
    H2_BODY_TOO_LARGE,    /* 413, declared or found on the way */
};

/* One request stream; its memory is bounded by the caps above. */
struct h2_stream {
    struct h2_conn *conn;
    int32_t id;
    struct http_req *req;    /* owned */
    size_t header_bytes;     /* name + value + 32 per field (RFC 7541 4.1) */
    size_t reply_off;        /* bytes of req->reply_body handed to nghttp2 */
    enum h2_refusal refusal; /* set: the rest of the request is dropped */
    bool has_host;
    bool headers_too_large; /* later fields dropped */
    bool deferred;          /* the data provider waits for stream bytes */
    bool eof_sent;          /* the last DATA frame was produced */
    struct h2_stream *prev, *next;
};

struct h2_conn {
    struct net_h2 *h2;
    nghttp2_session *session; /* NULL while the connection is torn down */
    int fd;
    uint32_t watching; /* events the loop watches for */
    bool peer_loopback;
    bool write_blocked; /* the socket said EAGAIN: wait for EPOLLOUT */
    bool read_eof;      /* the client shut down its side */
    bool failed;        /* socket or protocol error: close now */
    bool dirty;         /* frames were submitted: send at the next chance */
    struct loop_timer idle;
    struct h2_stream *streams; /* live streams, owned */
    struct h2_conn *prev, *next;
};

struct net_h2 {
    struct loop *loop;
    size_t max_body;
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *option;
    struct h2_conn *conns;   /* owned */
    size_t live_streams;     /* over all connections */
    struct loop_timer flush; /* armed while some connection is dirty */
};

/* Frames were submitted on 'c': have them sent at the next safe point. */
static void conn_mark(struct h2_conn *c)
{
    struct net_h2 *h2 = c->h2;

    c->dirty = true;
    if (!loop_timer_armed(&h2->flush))
        loop_timer_start(h2->loop, &h2->flush, 0);
}

/* --- streams ------------------------------------------------------------ */

static void h2_reply(struct http_req *req);
static void h2_stream_push(struct http_req *req);

static const struct http_transport h2_transport = {
    .reply = h2_reply,
    .stream_start = h2_reply,
    .stream_push = h2_stream_push,
};

static struct h2_stream *stream_new(struct h2_conn *c, int32_t id)
{
    struct h2_stream *st = xcalloc(1, sizeof(*st));

    st->conn = c;
    st->id = id;
    st->req = http_req_new("h2", &h2_transport, st, c->h2->max_body);
    st->req->peer_loopback = c->peer_loopback;
    st->next = c->streams;
    if (st->next)
        st->next->prev = st;
    c->streams = st;
    c->h2->live_streams++;
    return st;
}

/*
 * The stream is gone: log its request once (499 when it ended before any
 * answer), abort it if a service still holds it, and free both.
 */
static void stream_free(struct h2_stream *st)
{
    struct h2_conn *c = st->conn;
    struct http_req *req = st->req;

    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    c->h2->live_streams--;
    if (req->method || req->path) {
        if (!st->eof_sent && !req->status)
            req->status = 499; /* the client went away first */
        http_req_log(req);
    }
    http_req_free(req);
    free(st);
}

static struct h2_stream *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

/* Keep one request header; pseudo-headers fill the request line. */
static void stream_add_header(struct h2_stream *st, const char *name,
                              size_t name_len, const char *value,
                              size_t value_len)
{
    struct http_req *req = st->req;

    if (name_len && name[0] == ':') {
        if (!strcmp(name, ":method") && !req->method) {
            req->method = xstrndup(value, value_len);
        } else if (!strcmp(name, ":path") && !req->path) {
            const char *q = memchr(value, '?', value_len);
            size_t path_len = q ? (size_t)(q - value) : value_len;

            req->path = xstrndup(value, path_len);
            req->query =
                q ? xstrndup(q + 1, value_len - path_len - 1) : xstrdup("");
        } else if (!strcmp(name, ":authority") && !st->has_host) {
            /* spec/sigv4.md section 4: SigV4 signs it as "host" */
            http_req_add_header(req, "host", 4, value, value_len);
            st->has_host = true;
        }
        return; /* :scheme, and :protocol if nghttp2 ever lets it in */
    }
    if (!strcmp(name, "host")) {
        if (st->has_host)
            return; /* :authority came first and wins (RFC 9113 8.3.1) */
        st->has_host = true;
    }
    http_req_add_header(req, name, name_len, value, value_len);
}


/*
 * The request's header block is complete: decide whether it can be served
 * (not too many header bytes, a request line, no declared body over the
 * cap). A refused request's body is read and dropped.
 */
static void stream_headers_done(struct h2_stream *st)
{
    struct http_req *req = st->req;

    if (st->headers_too_large)
        st->refusal = H2_HEADERS_TOO_LARGE;
    else if (!req->method || !req->path)
        st->refusal = H2_NO_REQUEST_LINE;
    else if (http_req_declared_too_large(req))
        st->refusal = H2_BODY_TOO_LARGE;
}

/*
 * END_STREAM: route the request, or send its refusal. A refusal waits for
 * the end too: answering while the client still sends means RST_STREAM
 * (NO_ERROR) after the answer, which RFC 9113 8.1 allows but curl 7.88
 * reports as an error when it lands mid-upload.
 */
static void stream_request_done(struct h2_stream *st)
{
    struct http_req *req = st->req;

    if (req->state != HTTP_REQ_RECEIVING)
        return;
    switch (st->refusal) {
    case H2_ACCEPTED:
        router_dispatch(req);
        break;
    case H2_HEADERS_TOO_LARGE:
        http_reply_aws_rest_error(req, 431, "RequestHeaderFieldsTooLarge",
                                  "Request header fields are larger than "
                                  "%d bytes",
                                  H2_MAX_HEADER_LIST);
        break;
    case H2_NO_REQUEST_LINE:
        http_reply_aws_rest_error(req, 400, "BadRequest",
                                  "Request without :method or :path");
        break;
    case H2_BODY_TOO_LARGE:
        http_reply_too_large(req);
        break;
    }
}

/* --- replies ------------------------------------------------------------ */

/* Headers HTTP/2 forbids (RFC 9113 8.2.2); a client would reject them. */
static bool connection_specific(const char *name)
{
    static const char *const names[] = {"connection", "keep-alive",
                                        "proxy-connection", "transfer-encoding",
                                        "upgrade"};

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (!strcasecmp(name, names[i]))
            return true;
    return false;
}

static nghttp2_nv make_nv(const char *name, const char *value)
{
    nghttp2_nv nv = {
        .name = (uint8_t *)name,
        .value = (uint8_t *)value,
        .namelen = strlen(name),
        .valuelen = strlen(value),
        .flags = NGHTTP2_NV_FLAG_NONE, /* nghttp2 copies both */
    };

    return nv;
}

/* The body has all been handed to nghttp2: mark the frame as the last. */
static void stream_eof(struct h2_stream *st, uint32_t *flags)
{
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->eof_sent = true;
}

/*
 * nghttp2 wants up to 'max' body bytes of stream 'id'. Whole replies come
 * from req->reply_body; streams from req->stream_out, deferred while it is
 * empty and not yet ended. A failed stream is reset (INTERNAL_ERROR).
 */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *out,
                         size_t max, uint32_t *flags,
                         nghttp2_data_source *source, void *user)
{
    struct h2_stream *st = source->ptr;
    struct http_req *req = st->req;
    size_t n;

    (void)s;
    (void)id;
    (void)user;
    if (req->state == HTTP_REQ_REPLIED) {
        n = req->reply_body.len - st->reply_off;
        if (n > max)
            n = max;
        if (n)
            memcpy(out, req->reply_body.data + st->reply_off, n);
        st->reply_off += n;
        if (st->reply_off == req->reply_body.len)
            stream_eof(st, flags);
        return (ssize_t)n;
    }
    if (req->stream_failed)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
    n = req->stream_out.len < max ? req->stream_out.len : max;
    if (n) {
        memcpy(out, req->stream_out.data, n);
        buf_consume(&req->stream_out, n);
    }
    if (req->state == HTTP_REQ_STREAM_END && !req->stream_out.len) {
        stream_eof(st, flags);
    } else if (!n) {
        st->deferred = true; /* h2_stream_push() resumes it */
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* A response has no body for HEAD, 1xx, 204 and 304 (RFC 9110 6.4.1). */
static bool reply_has_body(const struct http_req *req)
{
    return strcmp(req->method ? req->method : "", "HEAD") &&
           req->status >= 200 && req->status != 204 && req->status != 304;
}

/*
 * transport->reply and ->stream_start: submit the status and headers, with
 * a data provider for the body. Sent at the next safe point.
 */
static void h2_reply(struct http_req *req)
{
    struct h2_stream *st = req->transport_ctx;
    struct h2_conn *c = st->conn;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    bool whole = req->state == HTTP_REQ_REPLIED;
    bool body = !whole || reply_has_body(req);
    char status[16], length[32];
    nghttp2_nv *nva;
    size_t n = 0;
    int rv;

    if (!c->session)
        return; /* the connection is being torn down */
    if (req->status < 100 || req->status > 999)
        req->status = 500;
    snprintf(status, sizeof(status), "%d", req->status);
    snprintf(length, sizeof(length), "%zu", req->reply_body.len);
    nva = xcalloc(req->reply_headers.count + 2, sizeof(*nva));
    nva[n++] = make_nv(":status", status);
    for (size_t i = 0; i < req->reply_headers.count; i++) {
        const struct http_header *h = &req->reply_headers.items[i];

        if (connection_specific(h->name) ||
            (whole && !strcasecmp(h->name, "content-length")))
            continue;
        nva[n++] = make_nv(h->name, h->value);
    }
    if (whole)
        nva[n++] = make_nv("content-length", length);
    if (!body)
        st->eof_sent = true; /* END_STREAM rides on the HEADERS frame */
    rv =
        nghttp2_submit_response(c->session, st->id, nva, n, body ? &prd : NULL);
    free(nva);
    if (rv) {
        log_msg(LOG_WARN, req->request_id, "h2: stream %d: %s", st->id,
                nghttp2_strerror(rv));
        if (nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, st->id,
                                      NGHTTP2_INTERNAL_ERROR))
            c->failed = true;
    }
    conn_mark(c);
}

/* transport->stream_push: new stream bytes, the end, or a failure. */
static void h2_stream_push(struct http_req *req)
{
    struct h2_stream *st = req->transport_ctx;
    struct h2_conn *c = st->conn;

    if (!c->session)
        return;
    if (st->deferred) {
        st->deferred = false;
        if (nghttp2_session_resume_data(c->session, st->id))
            log_debug("h2: stream %d: cannot resume", st->id);
    }
    conn_mark(c);
}

/* --- nghttp2 callbacks -------------------------------------------------- */

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len,
                       int flags, void *user)
{
    struct h2_conn *c = user;
    ssize_t n;

    (void)s;
    (void)flags;
    for (;;) {
        n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->write_blocked = true;
            return NGHTTP2_ERR_WOULDBLOCK;
        }
        log_debug("h2: send: %s", strerror(errno));
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame,
                            void *user)
{
    struct h2_conn *c = user;
    int32_t id = frame->hd.stream_id;

    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (c->h2->live_streams >= H2_MAX_LIVE_STREAMS) {
        /* No user data: the rest of this stream's frames are ignored. */
        log_debug("h2: refusing stream %d: %d streams live", id,
                  H2_MAX_LIVE_STREAMS);
        return nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id,
                                         NGHTTP2_REFUSED_STREAM)
                   ? NGHTTP2_ERR_CALLBACK_FAILURE
                   : 0;
    }
    if (nghttp2_session_set_stream_user_data(s, id, stream_new(c, id)))
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* cannot happen: it is open */
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t name_len, const uint8_t *value,
                     size_t value_len, uint8_t flags, void *user)
{
    struct h2_stream *st;

    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers */
    st = stream_of(s, frame->hd.stream_id);
    if (!st || st->headers_too_large)
        return 0;
    st->header_bytes += name_len + value_len + 32;
    if (st->header_bytes > H2_MAX_HEADER_LIST) {
        st->headers_too_large = true;
        return 0;
    }
    /* nghttp2 checked the field (no NUL, CR, LF; lower-case name). */
    stream_add_header(st, (const char *)name, name_len, (const char *)value,
                      value_len);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id,
                         const uint8_t *data, size_t len, void *user)
{
    struct h2_stream *st = stream_of(s, id);

    (void)flags;
    (void)user;
    if (!st || st->refusal != H2_ACCEPTED)
        return 0; /* refused: dropped */
    if (buf_add(&st->req->body, data, len)) {
        size_t max = st->req->body.max;

        /* keep none of it: the 413 is sent when the request ends */
        buf_release(&st->req->body);
        buf_init(&st->req->body, max);
        st->refusal = H2_BODY_TOO_LARGE;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
                         void *user)
{
    struct h2_stream *st;

    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    st = stream_of(s, frame->hd.stream_id);
    if (!st)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        stream_headers_done(st);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        stream_request_done(st);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error,
                           void *user)
{
    struct h2_stream *st = stream_of(s, id);

    (void)user;
    if (!st)
        return 0;
    if (error != NGHTTP2_NO_ERROR)
        log_msg(LOG_DEBUG, st->req->request_id, "h2: stream %d reset: %s", id,
                nghttp2_http2_strerror(error));
    stream_free(st);
    return 0;
}

static int on_error(nghttp2_session *s, int code, const char *msg, size_t len,
                    void *user)
{
    (void)s;
    (void)code;
    (void)user;
    log_debug("h2: %.*s", (int)len, msg);
    return 0;
}

/* --- connections -------------------------------------------------------- */

/* Tear down: abort every live request, then free the connection. */
static void conn_close(struct h2_conn *c)
{
    struct net_h2 *h2 = c->h2;
    struct h2_stream *st;

    loop_timer_stop(h2->loop, &c->idle);
    loop_unwatch(h2->loop, c->fd);
    close(c->fd);
    /* nghttp2_session_del() runs no callbacks; be sure it cannot free ours */
    for (st = c->streams; st; st = st->next)
        (void)nghttp2_session_set_stream_user_data(c->session, st->id, NULL);
    nghttp2_session_del(c->session);
    c->session = NULL; /* transport callbacks from aborts become no-ops */
    while (c->streams)
        stream_free(c->streams);
    if (c->prev)
        c->prev->next = c->next;
    else
        h2->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    log_debug("h2: connection closed");
    free(c);
}

/*
 * Nothing left to do: nghttp2 wants neither to read nor to write (after a
 * GOAWAY, once the streams in flight are done), or the client shut down
 * its side and every stream is answered and sent.
 */
static bool conn_done(struct h2_conn *c)
{
    if (nghttp2_session_want_write(c->session))
        return false;
    if (!nghttp2_session_want_read(c->session))
        return true;
    return c->read_eof && !c->streams;
}

/* Read what the socket has and feed it to nghttp2. */
static void conn_read(struct h2_conn *c)
{
    uint8_t buf[H2_READ_CHUNK];

    for (int i = 0; i < H2_READS_PER_EVENT && !c->failed; i++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        ssize_t used;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            log_debug("h2: recv: %s", strerror(errno));
            c->failed = true;
            return;
        }
        if (n == 0) {
            c->read_eof = true;
            /* A request still arriving never will: nothing to finish. */
            for (struct h2_stream *st = c->streams; st; st = st->next)
                if (st->req->state == HTTP_REQ_RECEIVING)
                    c->failed = true;
            return;
        }
        loop_timer_start(c->h2->loop, &c->idle, H2_IDLE_TIMEOUT_US);
        used = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
        if (used < 0) {
            log_debug("h2: closing the connection: %s",
                      nghttp2_strerror((int)used));
            /* Best effort: a GOAWAY nghttp2 may have queued goes first. */
            if (!c->write_blocked)
                (void)nghttp2_session_send(c->session);
            c->failed = true;
        }
    }
}

/* Watch for what the connection waits for: input, and room to write. */
static void conn_update_watch(struct h2_conn *c)
{
    uint32_t want = (c->read_eof ? 0u : (uint32_t)EPOLLIN) |
                    (c->write_blocked ? (uint32_t)EPOLLOUT : 0u);

    if (want == c->watching)
        return;
    if (loop_rewatch(c->h2->loop, c->fd, want)) {
        c->failed = true;
        return;
    }
    c->watching = want;
}

/*
 * Send what nghttp2 has queued, then close the connection if it failed or
 * is done. Only at safe points: this may free streams and requests.
 */
static void conn_service(struct h2_conn *c)
{
    int rv;

    c->dirty = false;
    if (!c->failed && !c->write_blocked) {
        rv = nghttp2_session_send(c->session);
        if (rv) {
            log_debug("h2: closing the connection: %s", nghttp2_strerror(rv));
            c->failed = true;
        }
    }
    if (!c->failed)
        conn_update_watch(c);
    if (c->failed || conn_done(c))
        conn_close(c);
}

static void on_conn_event(int fd, uint32_t events, void *ctx)
{
    struct h2_conn *c = ctx;

    (void)fd;
    if (events & EPOLLERR) {
        c->failed = true;
    } else {
        if (events & EPOLLOUT)
            c->write_blocked = false;
        if ((events & (EPOLLIN | EPOLLHUP)) && !c->read_eof)
            conn_read(c);
        else if (events & EPOLLHUP)
            c->failed = true; /* both directions are gone */
    }
    conn_service(c);
}

/* No traffic for a while: say GOAWAY if no stream is still in flight. */
static void on_idle(void *ctx)
{
    struct h2_conn *c = ctx;

    if (c->streams) {
        loop_timer_start(c->h2->loop, &c->idle, H2_IDLE_TIMEOUT_US);
        return;
    }
    log_debug("h2: closing an idle connection");
    if (nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR))
        c->failed = true;
    conn_service(c);
}

/*
 * The flush timer: send for every connection with new frames. An abort
 * run by a close may mark another one; that re-arms the timer.
 */
static void on_flush(void *ctx)
{
    struct net_h2 *h2 = ctx;
    struct h2_conn *c, *next;

    for (c = h2->conns; c; c = next) {
        next = c->next;
        if (c->dirty)
            conn_service(c);
    }
}

/* The same test as net_mhd.c's: loopback peers may call admin routes. */

void net_h2_adopt(struct net_h2 *h2, int fd, const struct sockaddr *addr,
                  socklen_t addr_len)
{
    static const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_CONCURRENT_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST},
    };
    struct h2_conn *c = xcalloc(1, sizeof(*c));

    (void)addr_len;
    c->h2 = h2;
    c->fd = fd;
    c->peer_loopback = net_is_loopback(addr);
    loop_timer_init(&c->idle, on_idle, c);
    if (nghttp2_session_server_new2(&c->session, h2->callbacks, c,
                                    h2->option) ||
        nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
                                ARRAY_SIZE(settings)) ||
        nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                              H2_CONN_WINDOW) ||
        loop_watch(h2->loop, fd, EPOLLIN, on_conn_event, c)) {
        log_warn("h2: cannot take a connection");
        nghttp2_session_del(c->session);
        close(fd);
        free(c);
        return;
    }
    c->watching = EPOLLIN;
    c->next = h2->conns;
    if (c->next)
        c->next->prev = c;
    h2->conns = c;
    loop_timer_start(h2->loop, &c->idle, H2_IDLE_TIMEOUT_US);
    conn_mark(c); /* our SETTINGS go out without waiting for the client */
    log_debug("h2: connection adopted");
}

struct net_h2 *net_h2_start(struct loop *loop, size_t max_body,
                            struct kaeri_error *err)
{
    struct net_h2 *h2 = xcalloc(1, sizeof(*h2));
    nghttp2_session_callbacks *cb;

    h2->loop = loop;
    h2->max_body = max_body;
    if (nghttp2_session_callbacks_new(&h2->callbacks) ||
        nghttp2_option_new(&h2->option)) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "", "nghttp2 did not start");
        goto fail;
    }
    cb = h2->callbacks;
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
                                                            on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
                                                              on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, on_error);
    /* Closed streams are kept only for priorities, which kaeri ignores. */
    nghttp2_option_set_no_closed_streams(h2->option, 1);
    loop_timer_init(&h2->flush, on_flush, h2);
    return h2;
fail:
    nghttp2_session_callbacks_del(h2->callbacks);
    nghttp2_option_del(h2->option);
    free(h2);
    return NULL;
}

void net_h2_stop(struct net_h2 *h2)
{
    if (!h2)
        return;
    while (h2->conns) {
        struct h2_conn *c = h2->conns;

        /* GOAWAY, sent if the socket takes it now; the loop is done. */
        if (!nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR) &&
            !c->write_blocked && !c->failed)
            (void)nghttp2_session_send(c->session);
        conn_close(c);
    }
    loop_timer_stop(h2->loop, &h2->flush);
    nghttp2_session_callbacks_del(h2->callbacks);
    nghttp2_option_del(h2->option);
    free(h2);
}

/*
 * net_lws.c - the events port on libwebsockets 4.1.6: TLS and plain on one
 * port (ALPN http/1.1 only: lws drops a whole HTTP/2 connection on a
 * client's GOAWAY, spec/transport.md section 2), HTTP/1.1 requests into
 * the router, and WebSocket connections into ws.h services.
 *
 * Three things shape this file, all from spec/transport.md:
 * - lws has no external-poll build here, so lws's loop is the host and
 *   kaeri's epoll loop its guest: the loop's fd (readable when one of its
 *   fds is ready or a timer is due) is adopted as a raw file.
 * - lws copies request headers into its own tokens and percent-decodes the
 *   path; kaeri rebuilds the request from the tokens, the custom headers
 *   it knows and the ones SignedHeaders names (section 3 of sigv4.md needs
 *   them all), and re-encodes the path (see rebuild_path()).
 * - on keep-alive lws frees and reallocates the per-session data for every
 *   transaction (HTTP_DROP_PROTOCOL), so the request is freed there and in
 *   CLOSED_HTTP, and anything async refers to it only through http_req.
 * A chunked request body gets 411: lws 4.1.6 hangs on one (section 4).
 */
#define _GNU_SOURCE /* accept4 */
#include "net_lws.h"
#include "alloc.h"
#include "buf.h"
#include "http.h"
#include "log.h"
#include "net_accept.h"
#include "router.h"
#include "ws.h"

#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LWS_HEADER_SPACE   32768 /* context max_http_header_data */
#define LWS_BIG_VALUE      16384 /* one header value */
#define LWS_CHUNK          4096  /* one lws_write on HTTP */
#define LWS_HEADERS_OUT    8192  /* reply status line and headers */
#define LWS_SHUTDOWN_TURNS 200   /* bounded service turns to send closes */

/* Custom (non-token) headers kaeri's services read; lws only finds them
 * by name. Names in a SigV4 SignedHeaders list are fetched too. */
static const char *const custom_headers[] = {
    "x-api-key",          "x-amz-date",           "x-amz-security-token",
    "x-amz-content-sha256", "x-amz-target",       "x-amz-user-agent",
    "x-amz-invocation-type", "x-amz-client-context", "x-amz-log-type",
    "amz-sdk-invocation-id", "amz-sdk-request",   "content-encoding",
};

struct net_lws {
    struct loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    int listen_fd;
    bool tls;
    size_t max_body;
    uint64_t next_ws_id;
    struct ws_pss *ws_list; /* live WebSockets, for shutdown */
    bool stopping;
};

static struct net_lws *the_net; /* lws callbacks reach it from here */

/* --- HTTP ----------------------------------------------------------------- */

struct http_pss {
    struct lws *wsi;
    struct http_req *req;
    bool dispatched;
    bool headers_sent;
    bool chunked;        /* streamed reply: chunked by hand (lws does not) */
    bool finished;       /* last bytes written */
    size_t body_off;     /* bytes of reply_body written */
    bool too_large;
};

static void http_pss_release(struct http_pss *pss)
{
    struct http_req *req = pss->req;

    if (!req)
        return;
    pss->req = NULL;
    if (!pss->finished && req->method && !req->status)
        req->status = 499; /* the client went away first */
    if (req->method)
        http_req_log(req);
    http_req_free(req);
}

static void lws_transport_wake(struct http_req *req)
{
    struct http_pss *pss = req->transport_ctx;

    lws_callback_on_writable(pss->wsi);
}

static const struct http_transport lws_http_transport = {
    .reply = lws_transport_wake,
    .stream_start = lws_transport_wake,
    .stream_push = lws_transport_wake,
};

static void add_header(struct http_headers *h, const char *name,
                       const char *value)
{
    if (h->count == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = xrealloc(h->items, h->cap * sizeof(*h->items));
    }
    h->items[h->count].name = xstrdup(name);
    h->items[h->count].value = xstrdup(value);
    h->count++;
}

static bool has_header(const struct http_headers *h, const char *name)
{
    for (size_t i = 0; i < h->count; i++)
        if (!strcmp(h->items[i].name, name))
            return true;
    return false;
}

static void fetch_custom(struct lws *wsi, struct http_headers *h,
                         const char *name, char *value)
{
    char key[128];
    int n, len;

    if (has_header(h, name) || strlen(name) + 2 > sizeof(key))
        return;
    n = snprintf(key, sizeof(key), "%s:", name);
    len = lws_hdr_custom_length(wsi, key, n);
    if (len <= 0 || len >= LWS_BIG_VALUE)
        return;
    if (lws_hdr_custom_copy(wsi, value, LWS_BIG_VALUE, key, n) >= 0)
        add_header(h, name, value);
}

/*
 * Every header lws parsed: its token headers by index, then the custom
 * headers kaeri knows, then any other header the SigV4 SignedHeaders list
 * names (lws 4.1.6 cannot list custom headers).
 */
static void collect_headers(struct lws *wsi, struct http_headers *h)
{
    char *value = xmalloc(LWS_BIG_VALUE);
    const char *auth;

    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *name = (const char *)lws_token_to_string(
            (enum lws_token_indexes)t);
        char lower[64];
        size_t nl;

        if (!name || name[0] == ':' || !(nl = strlen(name)) ||
            name[nl - 1] != ':' || nl >= sizeof(lower))
            continue;
        if (lws_hdr_total_length(wsi, (enum lws_token_indexes)t) <= 0)
            continue;
        if (lws_hdr_copy(wsi, value, LWS_BIG_VALUE,
                         (enum lws_token_indexes)t) < 0)
            continue;
        for (size_t i = 0; i + 1 < nl; i++)
            lower[i] = (char)tolower((unsigned char)name[i]);
        lower[nl - 1] = '\0';
        add_header(h, lower, value);
    }
    for (size_t i = 0; i < ARRAY_SIZE(custom_headers); i++)
        fetch_custom(wsi, h, custom_headers[i], value);
    auth = NULL;
    for (size_t i = 0; i < h->count; i++)
        if (!strcmp(h->items[i].name, "authorization"))
            auth = h->items[i].value;
    if (auth && (auth = strstr(auth, "SignedHeaders="))) {
        char names[2048], *tok, *save = NULL;

        snprintf(names, sizeof(names), "%.*s", (int)strcspn(auth + 14, ", "),
                 auth + 14);
        for (tok = strtok_r(names, ";", &save); tok;
             tok = strtok_r(NULL, ";", &save))
            fetch_custom(wsi, h, tok, value);
    }
    free(value);
}

/*
 * lws hands over the path percent-decoded. Encode it again the way SDKs
 * encode paths (everything but unreserved characters and '/'), so that
 * "/model/x%3A0/converse" comes back as sent. A client that sent a
 * character raw which SDKs encode would be re-encoded differently: a
 * known difference of the events port (README).
 */
static char *rebuild_path(const char *decoded)
{
    struct buf b;

    buf_init(&b, BUF_UNLIMITED);
    for (const unsigned char *p = (const unsigned char *)decoded; *p; p++) {
        if (isalnum(*p) || strchr("-_.~/", *p))
            (void)buf_addch(&b, (char)*p);
        else
            (void)buf_printf(&b, "%%%02X", *p);
    }
    return buf_detach(&b, NULL);
}

/* The query, from lws's URI-argument fragments joined with '&'. */
static char *rebuild_query(struct lws *wsi)
{
    char frag[4096];
    struct buf b;

    buf_init(&b, BUF_UNLIMITED);
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
                                          WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
         i++) {
        if (i)
            (void)buf_addch(&b, '&');
        (void)buf_adds(&b, frag);
    }
    return buf_detach(&b, NULL);
}

static const struct {
    enum lws_token_indexes token;
    const char *method;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},         {WSI_TOKEN_PATCH_URI, "PATCH"},
    {WSI_TOKEN_DELETE_URI, "DELETE"},   {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static struct http_req *request_from_wsi(struct lws *wsi, const char *path,
                                         struct http_pss *pss)
{
    struct http_req *req = http_req_new("events", &lws_http_transport, pss,
                                        the_net->max_body);
    char peer[64] = "";

    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0) {
            req->method = xstrdup(methods[i].method);
            break;
        }
    }
    if (!req->method)
        req->method = xstrdup("GET");
    req->path = rebuild_path(path);
    req->query = rebuild_query(wsi);
    collect_headers(wsi, &req->headers);
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    req->peer_loopback = !strncmp(peer, "127.", 4) || !strcmp(peer, "::1") ||
                         !strncmp(peer, "::ffff:127.", 11);
    return req;
}

static void dispatch(struct http_pss *pss)
{
    struct http_req *req = pss->req;

    pss->dispatched = true;
    if (req->state == HTTP_REQ_RECEIVING)
        router_dispatch(req);
    if (req->state == HTTP_REQ_DISPATCHED)
        /* answered later: lws must not time the connection out meanwhile */
        lws_set_timeout(pss->wsi, NO_PENDING_TIMEOUT, 0);
}

static bool declared_chunked(struct lws *wsi)
{
    char te[64];

    if (lws_hdr_copy(wsi, te, sizeof(te), WSI_TOKEN_HTTP_TRANSFER_ENCODING) <
        0)
        return false;
    return strstr(te, "chunked") != NULL;
}

static long long declared_length(struct lws *wsi)
{
    char cl[32];

    if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    return atoll(cl);
}

static int on_http(struct lws *wsi, struct http_pss *pss, const char *path)
{
    struct http_req *req;
    long long length;

    memset(pss, 0, sizeof(*pss));
    pss->wsi = wsi;
    pss->req = req = request_from_wsi(wsi, path, pss);
    if (declared_chunked(wsi)) {
        /* lws 4.1.6 would wait forever for this body (transport.md 4) */
        http_reply_aws_rest_error(req, 411, "LengthRequiredException",
                                  "A chunked request body is not accepted "
                                  "on this port; send Content-Length");
        pss->dispatched = true;
        return 0;
    }
    length = declared_length(wsi);
    if (length > (long long)the_net->max_body) {
        http_reply_too_large(req);
        pss->dispatched = true;
        return 0;
    }
    if (length <= 0)
        dispatch(pss); /* no body to wait for */
    return 0;
}

static void on_body(struct http_pss *pss, const void *in, size_t len)
{
    if (!pss->req || pss->dispatched)
        return;
    if (!pss->too_large && buf_add(&pss->req->body, in, len))
        pss->too_large = true;
}

static void on_body_complete(struct http_pss *pss)
{
    if (!pss->req || pss->dispatched)
        return;
    if (pss->too_large) {
        http_reply_too_large(pss->req);
        pss->dispatched = true;
        return;
    }
    dispatch(pss);
}

/* Write status and headers; for a stream, ask for chunked framing. */
static int write_headers(struct lws *wsi, struct http_pss *pss)
{
    static unsigned char buf[LWS_PRE + LWS_HEADERS_OUT];
    unsigned char *start = buf + LWS_PRE, *p = start,
                  *end = buf + sizeof(buf) - 1;
    struct http_req *req = pss->req;

    if (lws_add_http_header_status(wsi, (unsigned int)req->status, &p, end))
        return -1;
    for (size_t i = 0; i < req->reply_headers.count; i++) {
        char name[128];
        size_t nl = strlen(req->reply_headers.items[i].name);
        const char *value = req->reply_headers.items[i].value;

        if (nl + 2 > sizeof(name))
            continue;
        for (size_t k = 0; k < nl; k++)
            name[k] = (char)tolower(
                (unsigned char)req->reply_headers.items[i].name[k]);
        name[nl] = ':';
        name[nl + 1] = '\0';
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)value,
                                        (int)strlen(value), &p, end))
            return -1;
    }
    if (req->state == HTTP_REQ_REPLIED) {
        if (lws_add_http_header_content_length(
                wsi, (lws_filepos_t)req->reply_body.len, &p, end))
            return -1;
    } else {
        pss->chunked = true;
        if (lws_add_http_header_by_token(
                wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                (const unsigned char *)"chunked", 7, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    pss->headers_sent = true;
    return 0;
}

/* After the last byte: free the request, then let lws reuse or close. */
static int finish(struct lws *wsi, struct http_pss *pss)
{
    pss->finished = true;
    http_pss_release(pss);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int write_whole(struct lws *wsi, struct http_pss *pss)
{
    static unsigned char buf[LWS_PRE + LWS_CHUNK];
    struct http_req *req = pss->req;
    size_t left = req->reply_body.len - pss->body_off;
    size_t n = left < LWS_CHUNK ? left : LWS_CHUNK;

    if (left == 0)
        return finish(wsi, pss);
    memcpy(buf + LWS_PRE, req->reply_body.data + pss->body_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n,
                  n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    pss->body_off += n;
    if (pss->body_off == req->reply_body.len)
        return finish(wsi, pss);
    lws_callback_on_writable(wsi);
    return 0;
}

/* One chunk of a streamed reply, framed "%zx\r\n<data>\r\n" by hand. */
static int write_stream(struct lws *wsi, struct http_pss *pss)
{
    static unsigned char buf[LWS_PRE + LWS_CHUNK + 32];
    struct http_req *req = pss->req;
    size_t n = req->stream_out.len < LWS_CHUNK ? req->stream_out.len
                                               : LWS_CHUNK;
    unsigned char *p = buf + LWS_PRE;
    int head;

    if (req->stream_failed)
        return -1;
    if (n) {
        head = sprintf((char *)p, "%zx\r\n", n);
        memcpy(p + head, req->stream_out.data, n);
        memcpy(p + head + n, "\r\n", 2);
        if (lws_write(wsi, p, (size_t)head + n + 2, LWS_WRITE_HTTP) <
            head + (int)n + 2)
            return -1;
        buf_consume(&req->stream_out, n);
        /* a long gap between pieces must not look like a stalled client */
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        if (req->stream_out.len || req->state == HTTP_REQ_STREAM_END)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (req->state == HTTP_REQ_STREAM_END) {
        memcpy(p, "0\r\n\r\n", 5);
        if (lws_write(wsi, p, 5, LWS_WRITE_HTTP_FINAL) < 5)
            return -1;
        return finish(wsi, pss);
    }
    return 0;
}

static int on_http_writeable(struct lws *wsi, struct http_pss *pss)
{
    struct http_req *req = pss->req;

    if (!req || pss->finished)
        return 0;
    if (req->state != HTTP_REQ_REPLIED && req->state != HTTP_REQ_STREAMING &&
        req->state != HTTP_REQ_STREAM_END)
        return 0; /* nothing to say yet */
    if (!pss->headers_sent) {
        if (write_headers(wsi, pss))
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->chunked)
        return write_stream(wsi, pss);
    return write_whole(wsi, pss);
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len)
{
    struct http_pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        on_body(pss, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        on_body_complete(pss);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_http_writeable(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            http_pss_release(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* --- WebSocket ------------------------------------------------------------ */

struct ws_frame {
    struct ws_frame *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes, then the text */
};

struct ws_pss {
    struct lws *wsi;
    struct ws_conn *conn;
    struct ws_frame *head, *tail; /* outgoing */
    struct buf rx;                /* a message in fragments */
    bool closing;
    int close_code;
    char close_reason[124];
    struct ws_pss *prev, *next;   /* on the_net->ws_list */
};

static enum kaeri_err ws_lws_send(struct ws_conn *c, const char *text,
                                  size_t len)
{
    struct ws_pss *pss = c->transport_ctx;
    struct ws_frame *f;

    if (!pss || pss->closing)
        return KAERI_ERR_IO;
    if (c->queued_bytes + len > WS_QUEUE_MAX_BYTES)
        return KAERI_ERR_LIMIT;
    f = xmalloc(sizeof(*f) + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->data + LWS_PRE, text, len);
    if (pss->tail)
        pss->tail->next = f;
    else
        pss->head = f;
    pss->tail = f;
    c->queued_bytes += len;
    lws_callback_on_writable(pss->wsi);
    return KAERI_OK;
}

static void ws_lws_close(struct ws_conn *c, int code, const char *reason)
{
    struct ws_pss *pss = c->transport_ctx;

    if (!pss || pss->closing)
        return;
    pss->closing = true;
    pss->close_code = code;
    snprintf(pss->close_reason, sizeof(pss->close_reason), "%s",
             reason ? reason : "");
    lws_callback_on_writable(pss->wsi);
}

static const struct ws_transport lws_ws_transport = {
    .send_text = ws_lws_send,
    .close = ws_lws_close,
};

static int on_ws_filter(struct lws *wsi)
{
    char path[256];

    if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
        !ws_route(path))
        return -1; /* no service takes WebSockets here */
    return 0;
}

static void ws_list_remove(struct ws_pss *pss)
{
    if (pss->prev)
        pss->prev->next = pss->next;
    else if (the_net->ws_list == pss)
        the_net->ws_list = pss->next;
    if (pss->next)
        pss->next->prev = pss->prev;
    pss->prev = pss->next = NULL;
}

static void on_ws_established(struct lws *wsi, struct ws_pss *pss)
{
    struct ws_conn *c = xcalloc(1, sizeof(*c));
    char path[256] = "/";

    memset(pss, 0, sizeof(*pss));
    pss->wsi = wsi;
    pss->conn = c;
    buf_init(&pss->rx, WS_MESSAGE_MAX);
    if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
        snprintf(path, sizeof(path), "/");
    c->id = ++the_net->next_ws_id;
    c->listener = "events";
    c->tls = lws_is_ssl(wsi) != 0;
    c->path = xstrdup(path);
    c->query = rebuild_query(wsi);
    collect_headers(wsi, &c->headers);
    lws_get_peer_simple(wsi, c->peer_ip, sizeof(c->peer_ip));
    c->peer_loopback = !strncmp(c->peer_ip, "127.", 4) ||
                       !strcmp(c->peer_ip, "::1");
    c->transport = &lws_ws_transport;
    c->transport_ctx = pss;
    c->service = ws_route(path);
    pss->next = the_net->ws_list;
    if (pss->next)
        pss->next->prev = pss;
    the_net->ws_list = pss;
    log_debug("websocket %llu open on %s from %s%s",
              (unsigned long long)c->id, path, c->peer_ip,
              c->tls ? " (tls)" : "");
    c->service->open(c);
}

static void on_ws_receive(struct lws *wsi, struct ws_pss *pss, const void *in,
                          size_t len)
{
    struct ws_conn *c = pss->conn;

    if (!c || pss->closing)
        return;
    if (lws_frame_is_binary(wsi)) {
        ws_lws_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                     "binary frames are not accepted");
        return;
    }
    if (buf_add(&pss->rx, in, len)) {
        log_warn("websocket %llu: message over %u bytes, closing",
                 (unsigned long long)c->id, WS_MESSAGE_MAX);
        ws_lws_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                     "message too large");
        return;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    c->service->message(c, pss->rx.data, pss->rx.len);
    buf_reset(&pss->rx);
}

static int on_ws_writeable(struct lws *wsi, struct ws_pss *pss)
{
    struct ws_frame *f = pss->head;

    if (f) {
        int n = lws_write(wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);

        pss->head = f->next;
        if (!pss->head)
            pss->tail = NULL;
        pss->conn->queued_bytes -= f->len;
        free(f);
        if (n < 0)
            return -1;
        if (pss->head || pss->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->closing) {
        lws_close_reason(wsi, (enum lws_close_status)pss->close_code,
                         (unsigned char *)pss->close_reason,
                         strlen(pss->close_reason));
        return -1;
    }
    return 0;
}

static void on_ws_closed(struct ws_pss *pss)
{
    struct ws_conn *c = pss->conn;

    if (!c)
        return;
    ws_list_remove(pss);
    c->service->closed(c);
    while (pss->head) {
        struct ws_frame *f = pss->head;

        pss->head = f->next;
        free(f);
    }
    buf_release(&pss->rx);
    log_debug("websocket %llu closed", (unsigned long long)c->id);
    free(c->path);
    free(c->query);
    http_headers_release(&c->headers);
    free(c);
    pss->conn = NULL;
}

static int callback_ws(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len)
{
    struct ws_pss *pss = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_ws_filter(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        on_ws_established(wsi, pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        on_ws_receive(wsi, pss, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_ws_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED:
        on_ws_closed(pss);
        return 0;
    default:
        return 0;
    }
}

/* --- the guest loop ------------------------------------------------------- */

static void run_guest(struct net_lws *n)
{
    loop_run_guest(n->loop);
    if (loop_stopping(n->loop))
        lws_cancel_service(n->ctx); /* return from lws_service() */
}

static int callback_loop(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len)
{
    (void)wsi;
    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE && the_net)
        run_guest(the_net);
    return 0;
}

/* --- accepting ------------------------------------------------------------ */

static void on_accept(int fd, uint32_t events, void *ctx)
{
    struct net_lws *n = ctx;

    (void)events;
    for (;;) {
        lws_sock_file_fd_type sock;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int one = 1;

        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("events port accept: %s", strerror(errno));
            return;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sock.sockfd = cfd;
        if (!lws_adopt_descriptor_vhost(n->vhost,
                                        LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP |
                                            (n->tls ? LWS_ADOPT_ALLOW_SSL : 0),
                                        sock, "http", NULL))
            log_warn("libwebsockets did not adopt a connection");
    }
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct http_pss), 0, 0, NULL, 0},
    {"aws-appsync-event-ws", callback_ws, sizeof(struct ws_pss),
     WS_MESSAGE_MAX, 0, NULL, 0},
    {"kaeri-loop", callback_loop, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_lws_log(int level, const char *line)
{
    char text[512];
    size_t n;

    snprintf(text, sizeof(text), "%s", line);
    n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (level & LLL_ERR)
        log_warn("libwebsockets: %s", text);
    else
        log_debug("libwebsockets: %s", text);
}

struct net_lws *net_lws_start(struct loop *loop,
                              const struct net_lws_options *opt,
                              uint16_t *bound_port, struct kaeri_error *err)
{
    struct lws_context_creation_info info;
    struct net_lws *n = xcalloc(1, sizeof(*n));
    lws_sock_file_fd_type loop_sock;

    n->loop = loop;
    n->max_body = opt->max_body;
    n->tls = opt->cert_path && opt->key_path;
    n->listen_fd = -1;
    the_net = n;
    lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);

    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.max_http_header_data = LWS_HEADER_SPACE;
    info.port = CONTEXT_PORT_NO_LISTEN;
    n->ctx = lws_create_context(&info);
    if (!n->ctx) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "--events-port",
                   "libwebsockets did not start");
        goto fail;
    }

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.vhost_name = "events";
    info.alpn = "http/1.1";
    /*
     * A server that asks for no client certificate needs no trust store:
     * loading the OS's CA bundle cost 40 ms of kaeri's ~10 ms start.
     */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    if (n->tls) {
        info.ssl_cert_filepath = opt->cert_path;
        info.ssl_private_key_filepath = opt->key_path;
        info.options |= LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                        LWS_SERVER_OPTION_ALLOW_HTTP_ON_HTTPS_LISTENER;
    }
    n->vhost = lws_create_vhost(n->ctx, &info);
    if (!n->vhost) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "--events-port",
                   "libwebsockets refused the events vhost (certificate?)");
        goto fail;
    }

    if (loop_guest_mode(loop)) {
        kaeri_fail(err, KAERI_ERR_IO, "", "cannot make the loop a guest");
        goto fail;
    }
    loop_sock.filefd = loop_fd(loop);
    if (!lws_adopt_descriptor_vhost(n->vhost, LWS_ADOPT_RAW_FILE_DESC,
                                    loop_sock, "kaeri-loop", NULL)) {
        kaeri_fail(err, KAERI_ERR_INTERNAL, "", "cannot host the loop");
        goto fail;
    }

    n->listen_fd = net_listen(opt->host, opt->port, bound_port, err);
    if (n->listen_fd < 0)
        goto fail;
    if (loop_watch(loop, n->listen_fd, EPOLLIN, on_accept, n)) {
        kaeri_fail(err, KAERI_ERR_IO, "--events-port",
                   "cannot watch the listener");
        goto fail;
    }
    run_guest(n);
    return n;
fail:
    net_lws_stop(n);
    return NULL;
}

void net_lws_run(struct net_lws *n)
{
    while (!loop_stopping(n->loop))
        if (lws_service(n->ctx, 0) < 0)
            break;
}

void net_lws_stop(struct net_lws *n)
{
    if (!n)
        return;
    if (n->listen_fd >= 0) {
        loop_unwatch(n->loop, n->listen_fd);
        close(n->listen_fd);
    }
    if (n->ctx) {
        /* Close frames first, in a bounded number of service turns. */
        for (struct ws_pss *p = n->ws_list; p; p = p->next)
            if (p->conn)
                ws_lws_close(p->conn, LWS_CLOSE_STATUS_GOINGAWAY,
                             "kaeri is shutting down");
        for (int i = 0; i < LWS_SHUTDOWN_TURNS && n->ws_list; i++)
            lws_service(n->ctx, -1);
        lws_context_destroy(n->ctx);
    }
    the_net = NULL;
    free(n);
}

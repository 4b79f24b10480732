/*
 * ws_client.c - see ws_client.h. The lws client runs its own loop here,
 * in the test process; bounded waits use an lws timer (sul), never sleep.
 */
#include "ws_client.h"
#include "b64.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define WS_CLIENT_HEADER_SPACE 32768
#define WS_CLIENT_MSG_MAX      (1 << 20)

struct msg {
    struct msg *next;
    char *text;
};

struct ws_client {
    struct ws_clients *all;
    struct lws *wsi;
    bool connected, failed, closed;
    int close_code;
    struct msg *in_head, *in_tail;  /* received */
    size_t in_count;
    struct msg *out_head, *out_tail; /* to send */
    char *rx;                        /* a message in fragments */
    size_t rx_len;
    char *subprotocols;
    const char *const *headers;
    struct ws_client *next;          /* on all->list */
};

struct ws_clients {
    struct lws_context *ctx;
    struct ws_client *list;
    int tick_fd; /* a periodic timerfd: lws_service() returns at least this
                    often, so waits are bounded (lws 4.1.6 does not always
                    wake for a scheduled timer) */
};

#define WS_CLIENT_TICK_MS 10

static void push(struct msg **head, struct msg **tail, char *text)
{
    struct msg *m = calloc(1, sizeof(*m));

    m->text = text;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

static char *pop(struct msg **head, struct msg **tail)
{
    struct msg *m = *head;
    char *text;

    if (!m)
        return NULL;
    *head = m->next;
    if (!*head)
        *tail = NULL;
    text = m->text;
    free(m);
    return text;
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct ws_client *c = (struct ws_client *)lws_get_opaque_user_data(wsi);

    (void)user;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = (unsigned char **)in, *end = (*p) + len;

        for (size_t i = 0; c->headers && c->headers[i]; i++) {
            const char *colon = strchr(c->headers[i], ':');
            char name[128];
            const char *value;

            if (!colon || (size_t)(colon - c->headers[i]) + 2 > sizeof(name))
                continue;
            snprintf(name, sizeof(name), "%.*s:",
                     (int)(colon - c->headers[i]), c->headers[i]);
            value = colon + 1;
            while (*value == ' ')
                value++;
            if (lws_add_http_header_by_name(wsi, (unsigned char *)name,
                                            (const unsigned char *)value,
                                            (int)strlen(value), p, end))
                return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->connected = true;
        if (c->out_head)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "ws_client: connection error: %s\n",
                in ? (const char *)in : "?");
        c->failed = true;
        c->wsi = NULL;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c->rx_len + len > WS_CLIENT_MSG_MAX)
            return -1;
        c->rx = realloc(c->rx, c->rx_len + len + 1);
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        c->rx[c->rx_len] = '\0';
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            push(&c->in_head, &c->in_tail, c->rx);
            c->in_count++;
            c->rx = NULL;
            c->rx_len = 0;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        char *text = pop(&c->out_head, &c->out_tail);
        size_t n;
        unsigned char *buf;
        int rc;

        if (!text)
            return 0;
        n = strlen(text);
        buf = malloc(LWS_PRE + n);
        memcpy(buf + LWS_PRE, text, n);
        rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
        free(buf);
        free(text);
        if (rc < (int)n)
            return -1;
        if (c->out_head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->close_code = ((unsigned char *)in)[0] << 8 |
                            ((unsigned char *)in)[1];
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->closed = true;
        c->wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

static int on_tick(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    uint64_t n;

    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE &&
        read(lws_get_socket_fd(wsi), &n, sizeof(n)) < 0)
        return 0;
    return 0;
}

static const struct lws_protocols client_protocols[] = {
    {"aws-appsync-event-ws", on_event, 0, WS_CLIENT_MSG_MAX, 0, NULL, 0},
    {"tick", on_tick, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct ws_clients *ws_clients_new(const char *ca)
{
    struct lws_context_creation_info info;
    struct ws_clients *all = calloc(1, sizeof(*all));

    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* a 4 KB Sec-WebSocket-Protocol needs room (transport.md 1) */
    info.max_http_header_data = WS_CLIENT_HEADER_SPACE;
    info.client_ssl_ca_filepath = ca;
    info.fd_limit_per_thread = 2048;
    all->ctx = lws_create_context(&info);
    if (!all->ctx) {
        free(all);
        return NULL;
    }
    {
        struct itimerspec its = {
            .it_interval = {0, WS_CLIENT_TICK_MS * 1000000L},
            .it_value = {0, WS_CLIENT_TICK_MS * 1000000L},
        };
        lws_sock_file_fd_type fd;

        all->tick_fd = timerfd_create(CLOCK_MONOTONIC,
                                      TFD_NONBLOCK | TFD_CLOEXEC);
        timerfd_settime(all->tick_fd, 0, &its, NULL);
        fd.filefd = all->tick_fd;
        lws_adopt_descriptor_vhost(lws_get_vhost_by_name(all->ctx, "default"),
                                   LWS_ADOPT_RAW_FILE_DESC, fd, "tick", NULL);
    }
    return all;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Serve until 'done' says so or 'timeout_ms' passes. */
static void serve_until(struct ws_clients *all, int timeout_ms,
                        bool (*done)(void *), void *arg)
{
    double deadline = now_ms() + timeout_ms;

    while (!(done && done(arg)) && now_ms() < deadline)
        if (lws_service(all->ctx, 0) < 0)
            break;
}

void ws_clients_serve(struct ws_clients *all, int timeout_ms)
{
    serve_until(all, timeout_ms, NULL, NULL);
}

static bool handshake_done(void *arg)
{
    struct ws_client *c = arg;

    return c->connected || c->failed || c->closed;
}

struct ws_client *ws_client_connect(struct ws_clients *all, const char *url,
                                    const char *subprotocols,
                                    const char *const headers[],
                                    int timeout_ms)
{
    struct lws_client_connect_info ci;
    struct ws_client *c = calloc(1, sizeof(*c));
    char copy[512], *scheme_end, *host, *path, *port_s;
    const char *prot;
    bool tls;

    snprintf(copy, sizeof(copy), "%s", url);
    scheme_end = strstr(copy, "://");
    if (!scheme_end) {
        free(c);
        return NULL;
    }
    *scheme_end = '\0';
    tls = !strcmp(copy, "wss");
    host = scheme_end + 3;
    path = strchr(host, '/');
    if (path)
        *path++ = '\0';
    port_s = strrchr(host, ':');
    if (port_s)
        *port_s++ = '\0';
    c->all = all;
    c->headers = headers;
    c->subprotocols = strdup(subprotocols ? subprotocols : "");
    memset(&ci, 0, sizeof(ci));
    ci.context = all->ctx;
    ci.address = host;
    ci.port = port_s ? atoi(port_s) : (tls ? 443 : 80);
    {
        static char full_path[512];

        snprintf(full_path, sizeof(full_path), "/%s", path ? path : "");
        ci.path = full_path;
    }
    ci.host = host;
    ci.origin = host;
    prot = c->subprotocols;
    ci.protocol = prot;
    ci.local_protocol_name = "aws-appsync-event-ws";
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->next = all->list;
    all->list = c;
    if (!lws_client_connect_via_info(&ci))
        c->failed = true;
    else
        serve_until(all, timeout_ms, handshake_done, c);
    if (!c->connected) {
        ws_client_free(c);
        return NULL;
    }
    return c;
}

int ws_client_send(struct ws_client *c, const char *text)
{
    if (!c->wsi || c->closed)
        return -1;
    push(&c->out_head, &c->out_tail, strdup(text));
    lws_callback_on_writable(c->wsi);
    return 0;
}

static bool has_message(void *arg)
{
    struct ws_client *c = arg;

    return c->in_head || c->closed;
}

char *ws_client_recv(struct ws_client *c, int timeout_ms)
{
    if (!c->in_head && !c->closed)
        serve_until(c->all, timeout_ms, has_message, c);
    if (c->in_head)
        c->in_count--;
    return pop(&c->in_head, &c->in_tail);
}

size_t ws_client_pending(const struct ws_client *c)
{
    return c->in_count;
}

bool ws_client_closed(const struct ws_client *c)
{
    return c->closed;
}

int ws_client_close_code(const struct ws_client *c)
{
    return c->close_code;
}

void ws_client_free(struct ws_client *c)
{
    struct ws_client **pp;
    char *t;

    if (!c)
        return;
    if (c->wsi && !c->closed) {
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        c->wsi = NULL;
    }
    for (pp = &c->all->list; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    while ((t = pop(&c->in_head, &c->in_tail)))
        free(t);
    while ((t = pop(&c->out_head, &c->out_tail)))
        free(t);
    free(c->rx);
    free(c->subprotocols);
    free(c);
}

void ws_clients_free(struct ws_clients *all)
{
    if (!all)
        return;
    while (all->list)
        ws_client_free(all->list);
    lws_context_destroy(all->ctx);
    close(all->tick_fd);
    free(all);
}

char *ws_client_header_protocol(const char *json)
{
    char *b = b64url_encode(json, strlen(json));
    size_t n = strlen(b) + 8;
    char *out = malloc(n);

    snprintf(out, n, "header-%s", b);
    free(b);
    return out;
}

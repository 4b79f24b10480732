/*
 * test_h2.c - HTTP/2 with prior knowledge (h2c) on the main port, over the
 * wire: libcurl (CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) for single calls, raw
 * sockets for garbage, and a small nghttp2 client of the test's own for
 * several streams on one connection, and for what curl cannot be made to
 * do: send GOAWAY while its request is in flight (as the AWS SDK for
 * JavaScript's Bedrock client does, spec/transport.md section 2), send a
 * body without content-length in pieces, watch the GOAWAY at shutdown.
 *
 * Why not curl for reuse and multiplexing: Debian 12's curl 7.88.1 cannot
 * reuse a prior-knowledge connection at all (its second request fails
 * with CURLE_HTTP2 against any server, Node's http2 too; curl issue 10634,
 * fixed in 8.0), so one curl handle or multi handle sees every later
 * request fail.
 *
 * Streamed replies are not covered here: no route streams yet, and the
 * product gets no test-only route (Bedrock's streaming brings the case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kaeri_proc.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POOL "ap-northeast-1_KaeriPool1"
#define WEB  "kaeriwebclientnosecret0001"
#define ADMIN_KEYS \
    "AKIAKAERIADMINKEY001:kaeriAdminSecretKey0000000000000000000001"
#define TARGET  "AWSCognitoIdentityProviderService."
#define JSON11  "application/x-amz-json-1.1"
#define WAIT_MS 5000
#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static const char initiate_auth[] =
    "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"" WEB "\","
    "\"AuthParameters\":{\"USERNAME\":\"alice\","
    "\"PASSWORD\":\"Alice#Passw0rd\"}}";

static struct kaeri_proc proc; /* default config, shared by the group */

static int group_setup(void **state)
{
    if (wire_global_init(state))
        return -1;
    return kaeri_proc_start(&proc, NULL, NULL);
}

static int group_teardown(void **state)
{
    int rc = kaeri_proc_stop(&proc);

    wire_global_cleanup(state);
    return rc == 0 ? 0 : -1;
}

static int port_of(const struct kaeri_proc *p)
{
    return atoi(strrchr(p->http, ':') + 1);
}

/* ---- libcurl ----------------------------------------------------------- */

/* A Cognito JSON call over HTTP/1.1 or h2c; the parsed body, or NULL. */
static json_t *cognito(const struct kaeri_proc *p, int h2c, const char *op,
                       const char *body, int sign, long *status)
{
    char target[128], url[200];
    const char *headers[] = {"Content-Type: " JSON11, target, NULL};
    struct wire_req req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = body,
        .len = strlen(body),
        .sigv4 = sign ? WIRE_COGNITO : NULL,
        .userpwd = sign ? ADMIN_KEYS : NULL,
        .h2c = h2c,
    };
    struct wire_resp resp;
    json_t *out;

    snprintf(target, sizeof(target), "X-Amz-Target: " TARGET "%s", op);
    snprintf(url, sizeof(url), "%s/", p->http);
    assert_int_equal(wire_send(&req, &resp), 0);
    *status = resp.status;
    assert_non_null(wire_resp_header(&resp, "x-amzn-RequestId"));
    out = json_loadb(resp.body, resp.len, 0, NULL);
    wire_resp_free(&resp);
    return out;
}

/* Same keys and value types all the way down; strings may differ. */
static void assert_same_shape(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *va;

    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(json_typeof(a), json_typeof(b));
    if (json_is_object(a)) {
        assert_int_equal(json_object_size(a), json_object_size(b));
        json_object_foreach ((json_t *)a, key, va)
            assert_same_shape(va, json_object_get(b, key));
    } else if (json_is_array(a)) {
        assert_int_equal(json_array_size(a), json_array_size(b));
        for (size_t i = 0; i < json_array_size(a); i++)
            assert_same_shape(json_array_get(a, i), json_array_get(b, i));
    }
}

static void test_same_answer_over_h1_and_h2c(void **state)
{
    long st1 = 0, st2 = 0;
    json_t *h1, *h2;

    (void)state;
    h1 = cognito(&proc, 0, "InitiateAuth", initiate_auth, 0, &st1);
    h2 = cognito(&proc, 1, "InitiateAuth", initiate_auth, 0, &st2);
    assert_int_equal(st1, 200);
    assert_int_equal(st2, 200);
    assert_same_shape(h1, h2);
    assert_non_null(json_string_value(json_object_get(
        json_object_get(h2, "AuthenticationResult"), "AccessToken")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(h2, "AuthenticationResult"), "TokenType")),
        "Bearer");
    json_decref(h1);
    json_decref(h2);
    /* Both went through their own transport, by the access log. */
    assert_true(kaeri_proc_log_wait(&proc, "] h2 POST / ", WAIT_MS));
    assert_true(kaeri_proc_log_contains(&proc, "] http POST / "));
}

static const char admin_get_alice[] =
    "{\"UserPoolId\":\"" POOL "\",\"Username\":\"alice\"}";

/* AdminGetUser signed with a wrong secret: the status, the error type. */
static long bad_signature(int h2c, char *type, size_t type_max)
{
    char url[200];
    const char *headers[] = {"Content-Type: " JSON11,
                             "X-Amz-Target: " TARGET "AdminGetUser", NULL};
    struct wire_req req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = admin_get_alice,
        .len = strlen(admin_get_alice),
        .sigv4 = WIRE_COGNITO,
        .userpwd = "AKIAKAERIADMINKEY001:wrong",
        .h2c = h2c,
    };
    struct wire_resp resp;
    long status;

    snprintf(url, sizeof(url), "%s/", proc.http);
    assert_int_equal(wire_send(&req, &resp), 0);
    assert_non_null(wire_resp_header(&resp, "x-amzn-ErrorType"));
    snprintf(type, type_max, "%s", wire_resp_header(&resp, "x-amzn-ErrorType"));
    status = resp.status;
    wire_resp_free(&resp);
    return status;
}

static void test_sigv4_admin_call_over_h2c(void **state)
{
    const char *body = admin_get_alice;
    char t1[128], t2[128];
    long status = 0;
    json_t *out;

    (void)state;
    /* :authority must reach SigV4 as "host", or this is 403 */
    out = cognito(&proc, 1, "AdminGetUser", body, 1, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(out, "Username")),
                        "alice");
    json_decref(out);
    /* and a wrong signature is refused the same way over both */
    assert_int_equal(bad_signature(0, t1, sizeof(t1)),
                     bad_signature(1, t2, sizeof(t2)));
    assert_string_equal(t1, t2);
    assert_string_equal(t1, "InvalidSignatureException");
}

static void test_health_over_h2c(void **state)
{
    char url[200];
    struct wire_req req = {.url = url, .h2c = 1};
    struct wire_resp resp;
    long status;

    (void)state;
    snprintf(url, sizeof(url), "%s/_kaeri/health?x=%%41", proc.http);
    assert_int_equal(wire_send(&req, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "{\"status\":\"ok\"}");
    assert_non_null(wire_resp_header(&resp, "content-length"));
    wire_resp_free(&resp);
    /* HEAD: the same status as over HTTP/1.1, and no body */
    req.method = "HEAD";
    assert_int_equal(wire_send(&req, &resp), 0);
    status = resp.status;
    assert_int_equal(resp.len, 0);
    wire_resp_free(&resp);
    req.h2c = 0;
    assert_int_equal(wire_send(&req, &resp), 0);
    assert_int_equal(resp.status, status);
    wire_resp_free(&resp);
}

/* ---- raw sockets -------------------------------------------------------- */

static int connect_to(const struct kaeri_proc *p)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    assert_true(fd >= 0);
    /* one write per frame: without this Nagle holds the second for 40 ms */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sa.sin_port = htons((uint16_t)port_of(p));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t len)
{
    assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read until kaeri closes the connection; 1 if it did within WAIT_MS. */
static int wait_closed(int fd)
{
    char buf[4096];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    for (;;) {
        ssize_t n;

        if (poll(&pfd, 1, WAIT_MS) != 1)
            return 0;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0)
            return 0;
    }
}

struct garbage {
    const char *name;
    const char *bytes;
    size_t len;
    int shut_wr; /* then half-close, for inputs nghttp2 waits on */
};

#define G(name, s, shut)             \
    {                                \
        name, s, sizeof(s) - 1, shut \
    }
static const struct garbage garbage[] = {
    G("junk after the preface", PREFACE "\x17\x03\x01junkjunkjunkjunk", 0),
    G("bad client magic", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\0\0\0\4\0\0\0\0\0",
      0),
    G("settings of bad length", PREFACE "\0\0\5\4\0\0\0\0\0abcde", 0),
    G("data on stream 0",
      PREFACE "\0\0\0\4\0\0\0\0\0"
              "\0\0\2\0\0\0\0\0\0hi",
      0),
    G("broken hpack",
      PREFACE "\0\0\0\4\0\0\0\0\0"
              "\0\0\4\1\5\0\0\0\1\xff\xff\xff\xff",
      0),
    G("frame too large",
      PREFACE "\0\0\0\4\0\0\0\0\0"
              "\xff\xff\xff\0\0\0\0\0\1",
      0),
    G("only the start of the preface", "PRI ", 1),
    G("half a preface", "PRI * HTTP/2.0\r\n", 1),
    G("preface then nothing", PREFACE, 1),
};
#undef G

static void assert_h2c_health(const struct kaeri_proc *p)
{
    char url[200];
    struct wire_req req = {.url = url, .h2c = 1};
    struct wire_resp resp;

    snprintf(url, sizeof(url), "%s/_kaeri/health", p->http);
    assert_int_equal(wire_send(&req, &resp), 0);
    assert_int_equal(resp.status, 200);
    wire_resp_free(&resp);
    req.h2c = 0;
    assert_int_equal(wire_send(&req, &resp), 0);
    assert_int_equal(resp.status, 200);
    wire_resp_free(&resp);
}

static void test_garbage_closes_only_that_connection(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        int fd = connect_to(&proc);

        printf("garbage %zu: %s\n", i, garbage[i].name);
        send_all(fd, garbage[i].bytes, garbage[i].len);
        if (garbage[i].shut_wr)
            shutdown(fd, SHUT_WR);
        assert_true(wait_closed(fd));
        close(fd);
        assert_h2c_health(&proc);
    }
    /* and a client that vanishes mid-request does no harm either */
    {
        int fd = connect_to(&proc);

        send_all(fd, PREFACE "\0\0\0\4\0\0\0\0\0", sizeof(PREFACE) + 8);
        close(fd);
        assert_h2c_health(&proc);
    }
}

/* ---- a small nghttp2 client -------------------------------------------- */

#define CLIENT_STREAMS 128
#define CLIENT_BODY    (64 * 1024)

enum goaway_when {
    GOAWAY_NEVER,
    GOAWAY_AFTER_REQUEST, /* in the same write as the request's end */
    GOAWAY_AFTER_HEADERS, /* on the response headers, as the JS SDK */
};

struct cstream {
    int32_t id;
    int status;
    char body[CLIENT_BODY];
    size_t len;
    int closed;
    uint32_t error;
    const char *req_body;
    size_t req_len, req_off;
    size_t piece;  /* at most this many body bytes per DATA frame; 0: any */
    int hold_body; /* send HEADERS only; the body never comes */
};

struct client {
    int fd;
    nghttp2_session *s;
    enum goaway_when when;
    struct cstream st[CLIENT_STREAMS];
    int n;
    size_t len_at_goaway; /* body bytes of stream 0 when GOAWAY went out */
    int goaway_sent;
    int goaway_recv;
    int ping_ack;
    int eof;
};

static ssize_t c_send(nghttp2_session *s, const uint8_t *data, size_t len,
                      int flags, void *user)
{
    struct client *c = user;
    ssize_t n;

    (void)s;
    (void)flags;
    n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *frame,
                    const uint8_t *name, size_t namelen, const uint8_t *value,
                    size_t valuelen, uint8_t flags, void *user)
{
    struct cstream *st =
        nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);

    (void)flags;
    (void)user;
    (void)valuelen;
    if (st && namelen == 7 && !memcmp(name, ":status", 7))
        st->status = atoi((const char *)value);
    return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id,
                  const uint8_t *data, size_t len, void *user)
{
    struct cstream *st = nghttp2_session_get_stream_user_data(s, id);

    (void)flags;
    (void)user;
    if (!st || len > sizeof(st->body) - 1 - st->len)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(st->body + st->len, data, len);
    st->len += len;
    st->body[st->len] = '\0';
    return 0;
}

static void c_goaway(struct client *c)
{
    if (c->goaway_sent)
        return;
    assert_int_equal(nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, 0,
                                           NGHTTP2_NO_ERROR, NULL, 0),
                     0);
    c->goaway_sent = 1;
    c->len_at_goaway = c->st[0].len;
}

static int c_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
                        void *user)
{
    struct client *c = user;

    (void)s;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        c->goaway_recv = 1;
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
        c->ping_ack = 1;
    if (frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_RESPONSE &&
        c->when == GOAWAY_AFTER_HEADERS)
        c_goaway(c);
    return 0;
}

static int c_frame_send(nghttp2_session *s, const nghttp2_frame *frame,
                        void *user)
{
    struct client *c = user;

    (void)s;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        c->when == GOAWAY_AFTER_REQUEST)
        c_goaway(c);
    return 0;
}

static int c_stream_close(nghttp2_session *s, int32_t id, uint32_t error,
                          void *user)
{
    struct cstream *st = nghttp2_session_get_stream_user_data(s, id);

    (void)user;
    if (st) {
        st->closed = 1;
        st->error = error;
    }
    return 0;
}

static ssize_t c_read_body(nghttp2_session *s, int32_t id, uint8_t *buf,
                           size_t max, uint32_t *flags,
                           nghttp2_data_source *src, void *user)
{
    struct cstream *st = src->ptr;
    size_t n = st->req_len - st->req_off;

    (void)s;
    (void)id;
    (void)user;
    if (st->hold_body)
        return NGHTTP2_ERR_DEFERRED;
    if (n > max)
        n = max;
    if (st->piece && n > st->piece)
        n = st->piece;
    memcpy(buf, st->req_body + st->req_off, n);
    st->req_off += n;
    if (st->req_off == st->req_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Connect and say SETTINGS; 'window' is the stream window we grant. */
static struct client *client_open(const struct kaeri_proc *p, uint32_t window,
                                  enum goaway_when when)
{
    struct client *c = calloc(1, sizeof(*c));
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };

    assert_non_null(c);
    c->when = when;
    c->fd = connect_to(p);
    assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_send_callback(cb, c_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, c_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_stream_close);
    /* nghttp2 refuses to send over 64 KB of headers unless told */
    assert_int_equal(nghttp2_option_new(&opt), 0);
    nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
    assert_int_equal(nghttp2_session_client_new2(&c->s, cb, c, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    assert_int_equal(
        nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, settings, 2), 0);
    return c;
}

static nghttp2_nv nv(const char *name, const char *value)
{
    nghttp2_nv v = {(uint8_t *)name, (uint8_t *)value, strlen(name),
                    strlen(value), NGHTTP2_NV_FLAG_NONE};

    return v;
}

/*
 * Submit a request: 'extra' is NULL or name, value, ... NULL. A POST
 * 'body' goes with a content-length unless 'piece' (then in frames of at
 * most 'piece' bytes, without one).
 */
static struct cstream *client_request(struct client *c,
                                      const struct kaeri_proc *p,
                                      const char *method, const char *path,
                                      const char *const *extra,
                                      const char *body, size_t piece)
{
    struct cstream *st = &c->st[c->n++];
    nghttp2_data_provider prd = {.source.ptr = st,
                                 .read_callback = c_read_body};
    char authority[64], length[24];
    nghttp2_nv hdrs[16];
    size_t n = 0;

    assert_true(c->n <= CLIENT_STREAMS);
    snprintf(authority, sizeof(authority), "127.0.0.1:%d", port_of(p));
    hdrs[n++] = nv(":method", method);
    hdrs[n++] = nv(":scheme", "http");
    hdrs[n++] = nv(":authority", authority);
    hdrs[n++] = nv(":path", path);
    for (size_t i = 0; extra && extra[i]; i += 2)
        hdrs[n++] = nv(extra[i], extra[i + 1]);
    if (body && !piece) {
        snprintf(length, sizeof(length), "%zu", strlen(body));
        hdrs[n++] = nv("content-length", length);
    }
    st->req_body = body;
    st->req_len = body ? strlen(body) : 0;
    st->piece = piece;
    st->id =
        nghttp2_submit_request(c->s, NULL, hdrs, n, body ? &prd : NULL, st);
    assert_true(st->id > 0);
    return st;
}

static const char *const auth_headers[] = {
    "content-type", JSON11, "x-amz-target", TARGET "InitiateAuth", NULL};

static struct cstream *client_initiate_auth(struct client *c,
                                            const struct kaeri_proc *p)
{
    return client_request(c, p, "POST", "/", auth_headers, initiate_auth, 0);
}

/* Send and receive until 'done' says so, the peer closes, or WAIT_MS. */
static void client_run(struct client *c, int (*done)(const struct client *))
{
    uint8_t buf[16384];
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

    for (;;) {
        ssize_t n;

        assert_int_equal(nghttp2_session_send(c->s), 0);
        if (done(c) || c->eof)
            return;
        assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            c->eof = 1;
            return;
        }
        assert_int_equal(nghttp2_session_mem_recv(c->s, buf, (size_t)n), n);
    }
}

static int all_closed(const struct client *c)
{
    for (int i = 0; i < c->n; i++)
        if (!c->st[i].closed)
            return 0;
    return 1;
}

static int pinged(const struct client *c)
{
    return c->ping_ack;
}

static int never(const struct client *c)
{
    (void)c;
    return 0;
}

static void client_close(struct client *c)
{
    nghttp2_session_del(c->s);
    close(c->fd);
    free(c);
}

/* Every stream so far closed cleanly; the body of stream 'i' as JSON. */
static json_t *client_json(const struct client *c, int i)
{
    const struct cstream *st = &c->st[i];

    assert_true(st->closed);
    assert_int_equal(st->error, NGHTTP2_NO_ERROR);
    return json_loadb(st->body, st->len, 0, NULL);
}

/* ---- over one connection ------------------------------------------------ */

#define MUX_N 120 /* more than the 100 concurrent streams kaeri allows */

static void test_multiplexed_streams_on_one_connection(void **state)
{
    struct client *c = client_open(&proc, 65535, GOAWAY_NEVER);

    (void)state;
    /* all submitted before any answer is read: they are in flight together */
    for (int i = 0; i < MUX_N; i++) {
        if (i % 3 == 1)
            client_initiate_auth(c, &proc);
        else
            client_request(c, &proc, "GET", "/_kaeri/health", NULL, NULL, 0);
    }
    client_run(c, all_closed);
    for (int i = 0; i < MUX_N; i++) {
        json_t *body = client_json(c, i);

        assert_int_equal(c->st[i].status, 200);
        if (i % 3 == 1)
            assert_non_null(
                wire_json_str(body, "AuthenticationResult.IdToken"));
        else
            assert_string_equal(wire_json_str(body, "status"), "ok");
        json_decref(body);
    }
    /* and the connection takes more, one after the other */
    for (int i = 0; i < 3; i++) {
        struct cstream *st =
            client_request(c, &proc, "GET", "/_kaeri/health", NULL, NULL, 0);

        client_run(c, all_closed);
        assert_int_equal(st->status, 200);
    }
    assert_false(c->eof);
    client_close(c);
}

static void test_header_list_over_the_limit(void **state)
{
    struct client *c = client_open(&proc, 65535, GOAWAY_NEVER);
    char *a = malloc(40001), *b = malloc(40001);
    const char *big[] = {"x-big-a", a, "x-big-b", b, NULL};
    struct cstream *st;

    (void)state;
    /* two fields under nghttp2's cap per field, 80 KB together */
    memset(a, 'a', 40000);
    memset(b, 'b', 40000);
    a[40000] = b[40000] = '\0';
    st = client_request(c, &proc, "GET", "/_kaeri/health", big, NULL, 0);
    client_run(c, all_closed);
    assert_int_equal(st->status, 431);
    st = client_request(c, &proc, "GET", "/_kaeri/health", NULL, NULL, 0);
    client_run(c, all_closed);
    assert_int_equal(st->status, 200);
    client_close(c);
    free(a);
    free(b);
}

static char *temp_config(const char *json)
{
    char *path = strdup("/tmp/kaeri-test-h2-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    return path;
}

static void test_body_over_the_limit(void **state)
{
    char *config = temp_config("{\"limits\":{\"maxBodyBytes\":1024}}");
    static const char *const rest[] = {"content-type", "application/json",
                                       NULL};
    struct kaeri_proc p;
    struct client *c;
    struct cstream *st;
    char big[2001], url[200];
    const char *headers[] = {"Content-Type: " JSON11,
                             "X-Amz-Target: " TARGET "InitiateAuth", NULL};
    struct wire_req req = {.method = "POST",
                           .url = url,
                           .headers = headers,
                           .body = big,
                           .len = 2000,
                           .h2c = 1};
    struct wire_resp resp;
    json_t *body;
    char *huge;

    (void)state;
    assert_int_equal(kaeri_proc_start(&p, config, NULL), 0);
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';

    /* curl: declared too large, the JSON 1.1 shape; the upload (larger
     * than curl sends at once) is read to its end first */
    snprintf(url, sizeof(url), "%s/", p.http);
    huge = calloc(1, 300000);
    assert_non_null(huge);
    memset(huge, ' ', 300000);
    req.body = huge;
    req.len = 300000;
    assert_int_equal(wire_send(&req, &resp), 0);
    free(huge);
    assert_int_equal(resp.status, 413);
    assert_string_equal(wire_resp_header(&resp, "x-amzn-ErrorType"),
                        "RequestEntityTooLargeException");
    wire_resp_free(&resp);
    assert_h2c_health(&p);

    c = client_open(&p, 65535, GOAWAY_NEVER);
    /* 1: with content-length: refused on the headers */
    st = client_request(c, &p, "POST", "/", auth_headers, big, 0);
    client_run(c, all_closed);
    assert_int_equal(st->status, 413);
    body = client_json(c, 0);
    assert_string_equal(wire_json_str(body, "__type"),
                        "RequestEntityTooLargeException");
    json_decref(body);
    /* 2: without: the body outgrows the cap on the way; REST shape */
    st = client_request(c, &p, "POST", "/anything", rest, big, 100);
    client_run(c, all_closed);
    assert_int_equal(st->status, 413);
    body = client_json(c, 1);
    assert_non_null(wire_json_str(body, "message"));
    assert_null(json_object_get(body, "__type"));
    json_decref(body);
    /* 3: the same connection still serves, and a body at the cap passes */
    st = client_request(c, &p, "GET", "/_kaeri/health", NULL, NULL, 0);
    client_run(c, all_closed);
    assert_int_equal(st->status, 200);
    big[1024] = '\0';
    st = client_request(c, &p, "POST", "/", auth_headers, big, 100);
    client_run(c, all_closed);
    assert_int_not_equal(st->status, 413);
    assert_int_not_equal(st->status, 0);
    assert_false(c->eof);
    client_close(c);

    assert_int_equal(kaeri_proc_stop(&p), 0);
    unlink(config);
    free(config);
}

static void test_client_goaway_keeps_the_stream(void **state)
{
    static const struct {
        enum goaway_when when;
        uint32_t window;
    } cases[] = {
        {GOAWAY_AFTER_REQUEST, 65535},
        /* 64-byte window: the answer trickles out after the GOAWAY */
        {GOAWAY_AFTER_HEADERS, 64},
        {GOAWAY_NEVER, 65535},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct client *c = client_open(&proc, cases[i].window, cases[i].when);
        json_t *body;

        printf("goaway case %zu\n", i);
        client_initiate_auth(c, &proc);
        client_run(c, all_closed);
        assert_int_equal(c->st[0].status, 200);
        body = client_json(c, 0);
        assert_non_null(wire_json_str(body, "AuthenticationResult.IdToken"));
        json_decref(body);
        if (cases[i].when == GOAWAY_AFTER_HEADERS)
            assert_true(c->len_at_goaway < c->st[0].len); /* in flight */
        if (cases[i].when != GOAWAY_NEVER) {
            assert_true(c->goaway_sent);
            /* then kaeri closes: nothing is left on the connection */
            client_run(c, never);
            assert_true(c->eof);
        }
        client_close(c);
    }
}

/*
 * SIGTERM with h2 connections open: one idle, one with a request whose
 * body never comes. kaeri says GOAWAY, aborts the request, exits 0 (ASan's
 * leak check runs at that exit).
 */
static void test_shutdown_says_goaway(void **state)
{
    struct kaeri_proc p;
    struct client *idle, *busy;
    struct cstream *held;

    (void)state;
    assert_int_equal(kaeri_proc_start(&p, NULL, NULL), 0);
    idle = client_open(&p, 65535, GOAWAY_NEVER);
    client_initiate_auth(idle, &p);
    client_run(idle, all_closed);
    assert_int_equal(idle->st[0].status, 200);
    busy = client_open(&p, 65535, GOAWAY_NEVER);
    held = client_initiate_auth(busy, &p);
    held->hold_body = 1;
    /* the PING's answer shows kaeri has read the HEADERS before it */
    assert_int_equal(nghttp2_submit_ping(busy->s, NGHTTP2_FLAG_NONE, NULL), 0);
    client_run(busy, pinged);
    assert_true(busy->ping_ack);

    assert_int_equal(kaeri_proc_stop(&p), 0);
    client_run(idle, never);
    assert_true(idle->goaway_recv);
    client_run(busy, never);
    assert_true(busy->goaway_recv);
    assert_int_equal(held->status, 0); /* never answered: aborted */
    client_close(idle);
    client_close(busy);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_same_answer_over_h1_and_h2c),
        cmocka_unit_test(test_sigv4_admin_call_over_h2c),
        cmocka_unit_test(test_health_over_h2c),
        cmocka_unit_test(test_multiplexed_streams_on_one_connection),
        cmocka_unit_test(test_header_list_over_the_limit),
        cmocka_unit_test(test_garbage_closes_only_that_connection),
        cmocka_unit_test(test_client_goaway_keeps_the_stream),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_body_over_the_limit),
        cmocka_unit_test(test_shutdown_says_goaway),
    };
    int rc = cmocka_run_group_tests_name("h2c, one kaeri", shared, group_setup,
                                         group_teardown);

    rc |= cmocka_run_group_tests_name("h2c, own kaeri", own, wire_global_init,
                                      wire_global_cleanup);
    return rc;
}

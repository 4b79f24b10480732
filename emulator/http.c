/*
 * http.c - the transport-neutral request: headers, reply helpers, AWS
 * error shapes, streaming, and the one access-log line per request.
 * Everything here runs on the loop thread.
 */
#include "http.h"
#include "alloc.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_REPLY_MAX  ((size_t)64 << 20)
#define HTTP_STREAM_MAX ((size_t)16 << 20)

struct http_req *http_req_new(const char *listener,
                              const struct http_transport *transport,
                              void *transport_ctx, size_t body_max)
{
    struct http_req *req = xcalloc(1, sizeof(*req));

    req->listener = listener;
    req->transport = transport;
    req->transport_ctx = transport_ctx;
    req->service = "-";
    snprintf(req->operation, sizeof(req->operation), "-");
    buf_init(&req->body, body_max);
    buf_init(&req->reply_body, HTTP_REPLY_MAX);
    buf_init(&req->stream_out, HTTP_STREAM_MAX);
    crypto_uuid(req->request_id);
    req->start_us = clock_mono_us();
    req->state = HTTP_REQ_RECEIVING;
    return req;
}

void http_headers_release(struct http_headers *h)
{
    for (size_t i = 0; i < h->count; i++) {
        free(h->items[i].name);
        free(h->items[i].value);
    }
    free(h->items);
    memset(h, 0, sizeof(*h));
}

void http_req_free(struct http_req *req)
{
    if (!req)
        return;
    if (req->on_abort) {
        http_abort_fn *fn = req->on_abort;

        req->on_abort = NULL;
        fn(req, req->abort_ctx);
    }
    free(req->method);
    free(req->path);
    free(req->query);
    http_headers_release(&req->headers);
    http_headers_release(&req->reply_headers);
    buf_release(&req->body);
    buf_release(&req->reply_body);
    buf_release(&req->stream_out);
    free(req);
}

void http_req_log(const struct http_req *req)
{
    struct log_access a = {
        .request_id = req->request_id,
        .listener = req->listener,
        .method = req->method ? req->method : "-",
        .path = req->path ? req->path : "-",
        .service = req->service,
        .operation = req->operation,
        .status = req->status,
        .duration_us = clock_mono_us() - req->start_us,
        .error_code = req->error_code[0] ? req->error_code : NULL,
    };

    log_access(&a);
}

static const char *headers_get(const struct http_headers *h, const char *name)
{
    for (size_t i = 0; i < h->count; i++)
        if (!strcasecmp(h->items[i].name, name))
            return h->items[i].value;
    return NULL;
}

static void headers_add(struct http_headers *h, char *name, char *value)
{
    if (h->count == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = xrealloc(h->items, h->cap * sizeof(*h->items));
    }
    h->items[h->count].name = name;
    h->items[h->count].value = value;
    h->count++;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return headers_get(&req->headers, name);
}

void http_req_add_header(struct http_req *req, const char *name,
                         size_t name_len, const char *value, size_t value_len)
{
    char *n = xstrndup(name, name_len);

    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    headers_add(&req->headers, n, xstrndup(value, value_len));
}

bool http_req_is_json(const struct http_req *req)
{
    const char *ct = http_req_header(req, "content-type");

    return ct && (strstr(ct, "json") != NULL);
}

void http_req_on_abort(struct http_req *req, http_abort_fn *fn, void *ctx)
{
    req->on_abort = fn;
    req->abort_ctx = ctx;
}

void http_reply_header(struct http_req *req, const char *name,
                       const char *value)
{
    struct http_headers *h = &req->reply_headers;

    for (size_t i = 0; i < h->count; i++) {
        if (!strcasecmp(h->items[i].name, name)) {
            free(h->items[i].value);
            h->items[i].value = xstrdup(value);
            return;
        }
    }
    headers_add(h, xstrdup(name), xstrdup(value));
}

/* Headers every answer carries, whatever the service. */
static void add_common_headers(struct http_req *req)
{
    if (!headers_get(&req->reply_headers, "x-amzn-RequestId"))
        http_reply_header(req, "x-amzn-RequestId", req->request_id);
}

void http_reply(struct http_req *req, int status, const char *content_type,
                const void *body, size_t len)
{
    assert(req->state == HTTP_REQ_RECEIVING ||
           req->state == HTTP_REQ_DISPATCHED);
    req->on_abort = NULL;
    req->status = status;
    if (content_type)
        http_reply_header(req, "Content-Type", content_type);
    add_common_headers(req);
    buf_reset(&req->reply_body);
    if (buf_add(&req->reply_body, body, len)) {
        /* Nothing kaeri builds is this large; answer rather than truncate. */
        static const char too_big[] = "{\"message\":\"reply too large\"}";

        req->status = 500;
        buf_reset(&req->reply_body);
        (void)buf_add(&req->reply_body, too_big, sizeof(too_big) - 1);
    }
    req->state = HTTP_REQ_REPLIED;
    req->transport->reply(req);
}

void http_reply_json(struct http_req *req, int status,
                     const char *content_type, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(body);
    if (!text) {
        http_reply_aws_rest_error(req, 500, "InternalFailure",
                                  "could not serialise the reply");
        return;
    }
    http_reply(req, status, content_type, text, strlen(text));
    free(text);
}

static void reply_error(struct http_req *req, int status, const char *code,
                        bool with_type, const char *fmt, va_list ap)
    KAERI_PRINTF(5, 0);

static void reply_error(struct http_req *req, int status, const char *code,
                        bool with_type, const char *fmt, va_list ap)
{
    char message[1024];
    json_t *body;

    vsnprintf(message, sizeof(message), fmt, ap);
    snprintf(req->error_code, sizeof(req->error_code), "%s", code);
    http_reply_header(req, "x-amzn-ErrorType", code);
    body = json_object();
    if (with_type)
        json_object_set_new(body, "__type", json_string(code));
    json_object_set_new(body, "message", json_string(message));
    http_reply_json(req, status,
                    with_type ? "application/x-amz-json-1.1"
                              : "application/json",
                    body);
}

void http_reply_aws_json_error(struct http_req *req, int status,
                               const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_error(req, status, code, true, fmt, ap);
    va_end(ap);
}

void http_reply_aws_rest_error(struct http_req *req, int status,
                               const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_error(req, status, code, false, fmt, ap);
    va_end(ap);
}

#define TOO_LARGE_MESSAGE                                                      \
    "Request body is larger than the configured limit of %zu bytes"

void http_reply_too_large(struct http_req *req)
{
    if (http_req_header(req, "x-amz-target"))
        http_reply_aws_json_error(req, 413, "RequestEntityTooLargeException",
                                  TOO_LARGE_MESSAGE, req->body.max);
    else
        http_reply_aws_rest_error(req, 413, "RequestEntityTooLargeException",
                                  TOO_LARGE_MESSAGE, req->body.max);
}

bool http_req_declared_too_large(const struct http_req *req)
{
    const char *cl = http_req_header(req, "content-length");
    char *end;
    unsigned long long n;

    if (!cl)
        return false;
    n = strtoull(cl, &end, 10);
    return *end == '\0' && n > req->body.max;
}

void http_xml_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            (void)buf_adds(out, "&lt;");
            break;
        case '>':
            (void)buf_adds(out, "&gt;");
            break;
        case '&':
            (void)buf_adds(out, "&amp;");
            break;
        case '"':
            (void)buf_adds(out, "&quot;");
            break;
        case '\'':
            (void)buf_adds(out, "&apos;");
            break;
        default:
            (void)buf_addch(out, *s);
        }
    }
}

void http_reply_aws_query_error(struct http_req *req, int status,
                                const char *code, const char *fmt, ...)
{
    char message[1024];
    struct buf xml;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    snprintf(req->error_code, sizeof(req->error_code), "%s", code);
    buf_init(&xml, BUF_UNLIMITED);
    (void)buf_printf(&xml,
                     "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
                     "2011-06-15/\"><Error><Type>%s</Type><Code>",
                     status >= 500 ? "Receiver" : "Sender");
    http_xml_escape(&xml, code);
    (void)buf_adds(&xml, "</Code><Message>");
    http_xml_escape(&xml, message);
    (void)buf_printf(&xml, "</Message></Error><RequestId>%s</RequestId>"
                           "</ErrorResponse>",
                     req->request_id);
    http_reply_header(req, "x-amzn-ErrorType", code);
    http_reply(req, status, "text/xml", xml.data, xml.len);
    buf_release(&xml);
}

void http_stream_start(struct http_req *req, int status,
                       const char *content_type)
{
    assert(req->state == HTTP_REQ_RECEIVING ||
           req->state == HTTP_REQ_DISPATCHED);
    req->status = status;
    if (content_type)
        http_reply_header(req, "Content-Type", content_type);
    add_common_headers(req);
    req->state = HTTP_REQ_STREAMING;
    req->transport->stream_start(req);
}

void http_stream_write(struct http_req *req, const void *p, size_t n)
{
    if (req->state != HTTP_REQ_STREAMING || req->stream_failed)
        return;
    if (buf_add(&req->stream_out, p, n)) {
        /*
         * The client reads slower than the script writes. Cut the
         * connection (the transport then frees the request and the abort
         * callback stops the service) rather than grow without bound.
         */
        log_msg(LOG_WARN, req->request_id,
                "client left over %zu stream bytes unread, closing",
                req->stream_out.max);
        req->stream_failed = true;
    }
    req->transport->stream_push(req);
}

void http_stream_end(struct http_req *req)
{
    if (req->state != HTTP_REQ_STREAMING)
        return;
    req->on_abort = NULL;
    req->state = HTTP_REQ_STREAM_END;
    req->transport->stream_push(req);
}

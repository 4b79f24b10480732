/*
 * http.h - the transport-neutral request and reply every service sees.
 *
 * A transport (net_mhd.c for HTTP/1.1 today; nghttp2 and libwebsockets
 * later) fills a struct http_req, hands it to router_dispatch() on the loop
 * thread, and is told through its struct http_transport when the service
 * has answered. A service answers at once or later (after a timer, a child
 * process, another request), whole (http_reply_*) or as a stream
 * (http_stream_*). Either way it answers exactly once.
 *
 * Ownership: the transport owns the request and frees it with
 * http_req_free() when the connection is done with it. If that happens
 * before a pending service has answered (the client went away), the
 * service's abort callback runs first and the service must forget 'req'.
 */
#ifndef KAERI_HTTP_H
#define KAERI_HTTP_H

#include "buf.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define HTTP_REQUEST_ID_LEN 36

struct http_header {
    char *name; /* lower case for requests; as given for replies */
    char *value;
};

struct http_headers {
    struct http_header *items;
    size_t count;
    size_t cap;
};

enum http_req_state {
    HTTP_REQ_RECEIVING,  /* headers and body still arriving */
    HTTP_REQ_DISPATCHED, /* with a service, no answer yet */
    HTTP_REQ_REPLIED,    /* whole reply ready for the transport */
    HTTP_REQ_STREAMING,  /* status and headers sent, body flowing */
    HTTP_REQ_STREAM_END, /* the last stream bytes are queued */
};

struct http_req;

/* What a transport provides; every function runs on the loop thread. */
struct http_transport {
    /* The reply (status, headers, body) is complete: send it. */
    void (*reply)(struct http_req *req);
    /* Status and headers are set: send them; body pieces follow. */
    void (*stream_start)(struct http_req *req);
    /* req->stream_out has new bytes (or the stream ended): write them. */
    void (*stream_push)(struct http_req *req);
};

typedef void http_abort_fn(struct http_req *req, void *ctx);

struct http_req {
    /* Filled by the transport. */
    const char *listener; /* "http", "h2", "events" (static) */
    char *method;
    char *path;  /* as sent, still percent-encoded, without the query */
    char *query; /* as sent, after '?'; "" when there is none */
    struct http_headers headers;
    struct buf body;
    bool peer_loopback;
    char request_id[HTTP_REQUEST_ID_LEN + 1];
    int64_t start_us; /* monotonic */

    /* Filled by the router and the service, for the access log. */
    const char *service;   /* static string, "-" until routed */
    char operation[64];
    char error_code[96];

    /* The reply, filled by the service through http_reply_* below. */
    int status;
    struct http_headers reply_headers;
    struct buf reply_body;
    struct buf stream_out; /* stream bytes not yet taken by the transport */
    bool stream_failed;    /* the transport must drop the connection */

    /* Transport glue. */
    enum http_req_state state;
    const struct http_transport *transport;
    void *transport_ctx;
    http_abort_fn *on_abort;
    void *abort_ctx;
};

/* A new request for 'listener', with a fresh request id. */
struct http_req *http_req_new(const char *listener,
                              const struct http_transport *transport,
                              void *transport_ctx, size_t body_max);
/* Run the abort callback if a service still holds it, then free. NULL ok. */
void http_req_free(struct http_req *req);
/* Write the request's access log line (called by the transport once). */
void http_req_log(const struct http_req *req);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Append a request header (the transport's job); the name is lowercased. */
void http_req_add_header(struct http_req *req, const char *name,
                         size_t name_len, const char *value,
                         size_t value_len);
/* True when the body is JSON by Content-Type (application/json, x-amz-json). */
bool http_req_is_json(const struct http_req *req);

/* Register what to do if the client goes away before the answer. */
void http_req_on_abort(struct http_req *req, http_abort_fn *fn, void *ctx);

/* Add a reply header; replaces an earlier one of the same name. */
void http_reply_header(struct http_req *req, const char *name,
                       const char *value);
/* Answer with 'len' bytes of 'body' (copied). */
void http_reply(struct http_req *req, int status, const char *content_type,
                const void *body, size_t len);
/* Answer with 'body' serialised compactly; the reference is stolen. */
void http_reply_json(struct http_req *req, int status,
                     const char *content_type, json_t *body);

/*
 * AWS error shapes. The JSON 1.1 protocol (Cognito, STS-less JSON services):
 * body {"__type": code, "message": text} and x-amzn-ErrorType: code, since
 * botocore reads only the body and the JS SDK the header first
 * (spec/cognito.md section 1). The REST-JSON form sends {"message": text}
 * with the same header. Both record 'code' for the access log.
 */
void http_reply_aws_json_error(struct http_req *req, int status,
                               const char *code, const char *fmt, ...)
    KAERI_PRINTF(4, 5);
void http_reply_aws_rest_error(struct http_req *req, int status,
                               const char *code, const char *fmt, ...)
    KAERI_PRINTF(4, 5);

/*
 * The query protocol's error (STS): an XML <ErrorResponse> with Type
 * Sender (4xx) or Receiver (5xx), Code, Message and RequestId
 * (spec/apigateway-lambda.md section 8).
 */
void http_reply_aws_query_error(struct http_req *req, int status,
                                const char *code, const char *fmt, ...)
    KAERI_PRINTF(4, 5);

/*
 * 413 for a body over the request's cap, in the shape the client's
 * protocol expects (JSON 1.1 when it sent X-Amz-Target, else rest-json),
 * for every transport alike.
 */
void http_reply_too_large(struct http_req *req);
/* Does the request declare a Content-Length over its body cap? */
bool http_req_declared_too_large(const struct http_req *req);

/* Append 's' to 'out' with XML's five special characters escaped. */
void http_xml_escape(struct buf *out, const char *s);

/* Streaming: start with status and headers, push pieces, end once. */
void http_stream_start(struct http_req *req, int status,
                       const char *content_type);
void http_stream_write(struct http_req *req, const void *p, size_t n);
void http_stream_end(struct http_req *req);

/* Headers lists, for transports. */
void http_headers_release(struct http_headers *h);

#endif

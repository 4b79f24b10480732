/*
 * stub_transport.c - see stub_transport.h.
 */
#include "stub_transport.h"
#include "alloc.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

static void stub_reply_done(struct http_req *req)
{
    ((struct stub_reply *)req->transport_ctx)->replies++;
}

static void stub_stream_start(struct http_req *req)
{
    ((struct stub_reply *)req->transport_ctx)->stream_starts++;
}

static void stub_stream_push(struct http_req *req)
{
    ((struct stub_reply *)req->transport_ctx)->pushes++;
}

static const struct http_transport stub = {
    .reply = stub_reply_done,
    .stream_start = stub_stream_start,
    .stream_push = stub_stream_push,
};

struct http_req *stub_req(struct stub_reply *out, const char *method,
                          const char *path, const char *const headers[],
                          const char *body)
{
    struct http_req *req = http_req_new("http", &stub, out, 1 << 20);
    const char *q = strchr(path, '?');

    memset(out, 0, sizeof(*out));
    req->method = xstrdup(method);
    req->path = q ? xstrndup(path, (size_t)(q - path)) : xstrdup(path);
    req->query = xstrdup(q ? q + 1 : "");
    req->peer_loopback = true;
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *value = colon + 1;

        while (*value == ' ')
            value++;
        http_req_add_header(req, headers[i], (size_t)(colon - headers[i]),
                            value, strlen(value));
    }
    if (body)
        assert(buf_adds(&req->body, body) == KAERI_OK);
    return req;
}

json_t *stub_reply_json(const struct http_req *req)
{
    return json_loadb(req->reply_body.data, req->reply_body.len, 0, NULL);
}

const char *stub_reply_header(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->reply_headers.count; i++)
        if (!strcasecmp(req->reply_headers.items[i].name, name))
            return req->reply_headers.items[i].value;
    return NULL;
}

/*
 * stub_transport.h - a struct http_transport that records what a service
 * answered, so unit tests can call routes with a hand-built request.
 */
#ifndef KAERI_STUB_TRANSPORT_H
#define KAERI_STUB_TRANSPORT_H

#include "http.h"

#include <jansson.h>

struct stub_reply {
    int replies;       /* complete replies sent */
    int stream_starts; /* streams started */
    int pushes;        /* stream pushes */
};

/* A request as a client would send it; free it with http_req_free(). */
struct http_req *stub_req(struct stub_reply *out, const char *method,
                          const char *path, const char *const headers[],
                          const char *body);
/* The reply body parsed as JSON (new reference), or NULL. */
json_t *stub_reply_json(const struct http_req *req);
/* A reply header, or NULL. */
const char *stub_reply_header(const struct http_req *req, const char *name);

#endif

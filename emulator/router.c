/*
 * router.c - one request, one service: walk the service table's routes in
 * order and hand the request to the first that claims it.
 */
#include "router.h"
#include "services.h"
#include "ws.h"

#include <stdbool.h>
#include <string.h>

static bool starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !memcmp(s + n - m, suffix, m);
}

static bool route_matches(const struct route *r, const struct http_req *req)
{
    if (!r->method && !r->target_prefix && !r->path_prefix &&
        !r->path_suffix && !r->match)
        return false;
    if (r->method && strcmp(r->method, req->method))
        return false;
    if (r->target_prefix &&
        !starts_with(http_req_header(req, "x-amz-target"), r->target_prefix))
        return false;
    if (r->path_prefix && !starts_with(req->path, r->path_prefix))
        return false;
    if (r->path_suffix && !ends_with(req->path, r->path_suffix))
        return false;
    if (r->match && !r->match(req))
        return false;
    return true;
}

static bool route_is_end(const struct route *r)
{
    return !r->handle;
}

void router_dispatch(struct http_req *req)
{
    req->state = HTTP_REQ_DISPATCHED;
    for (size_t i = 0; services[i]; i++) {
        const struct route *r = services[i]->routes;

        for (; r && !route_is_end(r); r++) {
            if (route_matches(r, req)) {
                req->service = services[i]->name;
                r->handle(req);
                return;
            }
        }
    }
    router_reply_unknown(req);
}

const struct ws_service *ws_route(const char *path)
{
    for (size_t i = 0; services[i]; i++) {
        const struct ws_service *ws = services[i]->websocket;

        if (ws && path && !strcmp(ws->path, path))
            return ws;
    }
    return NULL;
}

/*
 * What AWS answers when nothing is there: a JSON 1.1 client (it sent
 * X-Amz-Target) gets UnknownOperationException; anything else gets the
 * 403 "Missing Authentication Token" that AWS endpoints and API Gateway
 * give for unknown paths (spec/apigateway-lambda.md, gateway responses).
 */
void router_reply_unknown(struct http_req *req)
{
    if (http_req_header(req, "x-amz-target")) {
        http_reply_aws_json_error(req, 400, "UnknownOperationException", "%s",
                                  "");
        return;
    }
    http_reply_aws_rest_error(req, 403, "MissingAuthenticationTokenException",
                              "Missing Authentication Token");
}

/*
 * router.h - from a request to the service that answers it, the same for
 * every listener (CONTRACT.md "Ports and routing"). Services declare their
 * routes as tables; the router walks them in service order and sends the
 * AWS error for requests nothing claims.
 */
#ifndef KAERI_ROUTER_H
#define KAERI_ROUTER_H

#include "http.h"

#include <stdbool.h>

typedef void route_fn(struct http_req *req);

/*
 * One route. Every non-NULL criterion must hold: 'method' equals,
 * 'target_prefix' starts the X-Amz-Target header, 'path_prefix' starts the
 * path, 'path_suffix' ends it, 'match' says yes. A route with no criterion
 * at all matches nothing. Tables end with an all-NULL entry.
 */
struct route {
    const char *method;
    const char *target_prefix;
    const char *path_prefix;
    const char *path_suffix;
    bool (*match)(const struct http_req *req);
    route_fn *handle;
};

/* Route 'req' (filled, body complete) and let a service answer it. */
void router_dispatch(struct http_req *req);

/* The answer for requests no route claims (also used by services). */
void router_reply_unknown(struct http_req *req);

#endif

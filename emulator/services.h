/*
 * services.h - the service table: each service's name, the top-level
 * config section it owns, its routes, and its lifecycle (STYLE.md "Tables
 * over if-chains"). Adding a service is one line in services.c.
 *
 * Services keep their state in their own module and run on the loop thread
 * only; init validates the service's config section and names the JSON path
 * of any problem, so a bad config starts nothing.
 */
#ifndef KAERI_SERVICES_H
#define KAERI_SERVICES_H

#include "kaeri.h"
#include "loop.h"
#include "router.h"
#include "ws.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What kaeri knows about itself once its listeners are bound. */
struct kaeri_env {
    const char *region;      /* "ap-northeast-1" */
    const char *account;     /* "123456789012" */
    const char *http_url;    /* "http://127.0.0.1:4580" */
    const char *events_url;  /* "https://127.0.0.1:4581", NULL until built */
    const char *state_dir;   /* exists and is writable */
    const char *config_dir;  /* for paths in the config, relative to it */
    const json_t *root;      /* the whole config, borrowed */
    struct loop *loop;       /* for timers; services never block it */
    const char *ca_file;     /* the local CA certificate, NULL until built */
    uint64_t seed;           /* --seed: faults replay with it */
    bool admin_allow_remote; /* $.admin.allowRemote */
};

struct service {
    const char *name;       /* signing name, "cognito-idp"; for logs */
    const char *config_key; /* top-level member it reads, or NULL */
    /* 'section' may be NULL when the config has none. */
    enum kaeri_err (*init)(const json_t *section, const struct kaeri_env *env,
                           struct kaeri_error *err);
    void (*release)(void);
    const struct route *routes;
    /* WebSocket upgrades this service takes (events port), or NULL. */
    const struct ws_service *websocket;
    /* Add this service's entries to GET /_kaeri/endpoints. */
    void (*describe)(json_t *endpoints);
};

/* The table, in routing order, ending with NULL. */
extern const struct service *const services[];

/* Init every service in order; on failure release those already up. */
KAERI_MUST_CHECK enum kaeri_err services_init(const struct kaeri_env *env,
                                              struct kaeri_error *err);
void services_release(void);
void services_describe(json_t *endpoints);

#endif

/*
 * services.c - the service table, in routing order, and its lifecycle.
 * kaeri's own /_kaeri/ routes come first so no service can shadow them,
 * and the catch-all for unknown /_kaeri/ paths comes last.
 */
#include "services.h"
#include "svc_admin.h"
#include "svc_bedrock.h"
#include "svc_cognito.h"
#include "svc_events.h"
#include "svc_identity.h"
#include "svc_sts.h"

#include <stdio.h>

const struct service *const services[] = {
    &svc_admin,
    &svc_cognito,
    &svc_identity,
    &svc_sts,
    &svc_events,
    &svc_bedrock,
    &svc_admin_fallback,
    NULL,
};

static size_t services_up;

enum kaeri_err services_init(const struct kaeri_env *env,
                             struct kaeri_error *err)
{
    for (services_up = 0; services[services_up]; services_up++) {
        const struct service *s = services[services_up];
        const json_t *section = NULL;
        enum kaeri_err rc;

        if (s->config_key)
            section = json_object_get(env->root, s->config_key);
        if (!s->init)
            continue;
        rc = s->init(section, env, err);
        if (rc) {
            services_release();
            return rc;
        }
    }
    return KAERI_OK;
}

void services_release(void)
{
    while (services_up > 0) {
        const struct service *s = services[--services_up];

        if (s->release)
            s->release();
    }
}

void services_describe(json_t *endpoints)
{
    for (size_t i = 0; services[i]; i++)
        if (services[i]->describe)
            services[i]->describe(endpoints);
}

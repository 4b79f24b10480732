/*
 * svc_admin.h - kaeri's own routes under /_kaeri/: health, endpoints, the
 * clock; other services add their admin routes (/_kaeri/cognito/codes) in
 * their own tables and guard them with admin_allowed().
 */
#ifndef KAERI_SVC_ADMIN_H
#define KAERI_SVC_ADMIN_H

#include "http.h"
#include "services.h"

#include <stdbool.h>
#include <stdint.h>

struct fault_set;

extern const struct service svc_admin;
/* Unknown /_kaeri/ paths: last in the table, after every service. */
extern const struct service svc_admin_fallback;

/*
 * True when 'req' may use an admin route: its peer is on loopback or the
 * config allows remote admin calls. Otherwise it answers 403 and returns
 * false; the caller just returns.
 */
bool admin_allowed(struct http_req *req);

/*
 * The fault set in force: the config's "faults" section at start, then
 * whatever PUT /_kaeri/faults installs (DELETE installs an empty one).
 * '*generation' (may be NULL) changes with every install, so a holder of
 * per-subscription fault streams knows to rebuild them. A replaced set
 * stays allocated until exit, so a stream still holding one is safe.
 */
const struct fault_set *faults_active(uint64_t *generation);

#endif

/*
 * config.h - kaeri's one JSON config file: loading it, and typed reads
 * that name the JSON path of whatever is wrong ("$.cognito.userPools[0].id:
 * expected a string"), so every error points at the spot.
 *
 * The top level ("region", "account", "limits", "admin") is checked here;
 * each service checks its own section in its init.
 */
#ifndef KAERI_CONFIG_H
#define KAERI_CONFIG_H

#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>

/* The top-level settings every part shares. */
struct config_core {
    const char *region;       /* borrowed from the JSON */
    const char *account;
    size_t max_body_bytes;    /* larger request bodies get 413 */
    bool admin_allow_remote;  /* /_kaeri/ answers non-loopback peers */
};

/* Parse 'path' (JSON objects only, duplicate keys refused). */
KAERI_MUST_CHECK enum kaeri_err config_load(const char *path, json_t **out,
                                            struct kaeri_error *err);
/*
 * Check and read the top-level settings of 'root'. 'sections' (NULL-ended)
 * names the other top-level members some module reads; any other member is
 * an error, so a misspelt section does not pass silently.
 */
KAERI_MUST_CHECK enum kaeri_err config_core_read(const json_t *root,
                                                 const char *const sections[],
                                                 struct config_core *out,
                                                 struct kaeri_error *err);

/*
 * Typed member reads. 'path' is the JSON path of 'obj' ("$.cognito");
 * errors name "<path>.<key>". When the member is absent, a non-required
 * read leaves the default in *out and succeeds.
 */
KAERI_MUST_CHECK enum kaeri_err cfg_keys(const json_t *obj, const char *path,
                                         const char *const allowed[],
                                         struct kaeri_error *err);
KAERI_MUST_CHECK enum kaeri_err cfg_string(const json_t *obj, const char *path,
                                           const char *key, bool required,
                                           const char **out,
                                           struct kaeri_error *err);
KAERI_MUST_CHECK enum kaeri_err cfg_int(const json_t *obj, const char *path,
                                        const char *key, bool required,
                                        json_int_t min, json_int_t max,
                                        json_int_t *out,
                                        struct kaeri_error *err);
KAERI_MUST_CHECK enum kaeri_err cfg_bool(const json_t *obj, const char *path,
                                         const char *key, bool required,
                                         bool *out, struct kaeri_error *err);
/* *out is borrowed; NULL when absent and not required. */
KAERI_MUST_CHECK enum kaeri_err cfg_array(const json_t *obj, const char *path,
                                          const char *key, bool required,
                                          const json_t **out,
                                          struct kaeri_error *err);
KAERI_MUST_CHECK enum kaeri_err cfg_object(const json_t *obj, const char *path,
                                           const char *key, bool required,
                                           const json_t **out,
                                           struct kaeri_error *err);

#endif

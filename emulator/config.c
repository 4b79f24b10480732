/*
 * config.c - load the JSON config and read typed members with errors that
 * name the JSON path. Loading refuses duplicate keys, so a setting written
 * twice is an error rather than a silent override.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#define CONFIG_DEFAULT_MAX_BODY ((json_int_t)10 << 20)

enum kaeri_err config_load(const char *path, json_t **out,
                           struct kaeri_error *err)
{
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char where[64];

        snprintf(where, sizeof(where), "line %d column %d", jerr.line,
                 jerr.column);
        return kaeri_fail(err, KAERI_ERR_INVALID, jerr.line > 0 ? where : "",
                          "%s", jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return kaeri_fail(err, KAERI_ERR_INVALID, "$",
                          "expected a JSON object");
    }
    *out = root;
    return KAERI_OK;
}

static void member_path(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s.%s", path, key);
}

enum kaeri_err cfg_keys(const json_t *obj, const char *path,
                        const char *const allowed[], struct kaeri_error *err)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)obj, key, value) {
        size_t i;

        (void)value;
        for (i = 0; allowed[i]; i++)
            if (!strcmp(allowed[i], key))
                break;
        if (!allowed[i]) {
            char where[256];

            member_path(where, sizeof(where), path, key);
            return kaeri_fail(err, KAERI_ERR_INVALID, where, "unknown setting");
        }
    }
    return KAERI_OK;
}

/* The member, or NULL; fails only when required and absent. */
static enum kaeri_err member(const json_t *obj, const char *path,
                             const char *key, bool required, json_t **out,
                             char *where, size_t where_len,
                             struct kaeri_error *err)
{
    member_path(where, where_len, path, key);
    *out = obj ? json_object_get(obj, key) : NULL;
    if (!*out && required)
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "required");
    return KAERI_OK;
}

enum kaeri_err cfg_string(const json_t *obj, const char *path, const char *key,
                          bool required, const char **out,
                          struct kaeri_error *err)
{
    char where[256];
    json_t *v;

    if (member(obj, path, key, required, &v, where, sizeof(where), err))
        return KAERI_ERR_INVALID;
    if (!v)
        return KAERI_OK;
    if (!json_is_string(v))
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "expected a string");
    *out = json_string_value(v);
    return KAERI_OK;
}

enum kaeri_err cfg_int(const json_t *obj, const char *path, const char *key,
                       bool required, json_int_t min, json_int_t max,
                       json_int_t *out, struct kaeri_error *err)
{
    char where[256];
    json_t *v;
    json_int_t n;

    if (member(obj, path, key, required, &v, where, sizeof(where), err))
        return KAERI_ERR_INVALID;
    if (!v)
        return KAERI_OK;
    if (!json_is_integer(v))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected an integer");
    n = json_integer_value(v);
    if (n < min || n > max)
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected %" JSON_INTEGER_FORMAT
                          " to %" JSON_INTEGER_FORMAT ", got %" JSON_INTEGER_FORMAT,
                          min, max, n);
    *out = n;
    return KAERI_OK;
}

enum kaeri_err cfg_bool(const json_t *obj, const char *path, const char *key,
                        bool required, bool *out, struct kaeri_error *err)
{
    char where[256];
    json_t *v;

    if (member(obj, path, key, required, &v, where, sizeof(where), err))
        return KAERI_ERR_INVALID;
    if (!v)
        return KAERI_OK;
    if (!json_is_boolean(v))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected true or false");
    *out = json_is_true(v);
    return KAERI_OK;
}

enum kaeri_err cfg_array(const json_t *obj, const char *path, const char *key,
                         bool required, const json_t **out,
                         struct kaeri_error *err)
{
    char where[256];
    json_t *v;

    *out = NULL;
    if (member(obj, path, key, required, &v, where, sizeof(where), err))
        return KAERI_ERR_INVALID;
    if (v && !json_is_array(v))
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "expected an array");
    *out = v;
    return KAERI_OK;
}

enum kaeri_err cfg_object(const json_t *obj, const char *path, const char *key,
                          bool required, const json_t **out,
                          struct kaeri_error *err)
{
    char where[256];
    json_t *v;

    *out = NULL;
    if (member(obj, path, key, required, &v, where, sizeof(where), err))
        return KAERI_ERR_INVALID;
    if (v && !json_is_object(v))
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "expected an object");
    *out = v;
    return KAERI_OK;
}

/* Is 'key' one of the core's own members or a section someone reads? */
static bool known_top_key(const char *key, const char *const sections[])
{
    static const char *const core[] = {"region", "account", "limits",
                                       "admin", NULL};

    for (size_t i = 0; core[i]; i++)
        if (!strcmp(core[i], key))
            return true;
    for (size_t i = 0; sections && sections[i]; i++)
        if (!strcmp(sections[i], key))
            return true;
    return false;
}

enum kaeri_err config_core_read(const json_t *root,
                                const char *const sections[],
                                struct config_core *out,
                                struct kaeri_error *err)
{
    static const char *const limits_keys[] = {"maxBodyBytes", NULL};
    static const char *const admin_keys[] = {"allowRemote", NULL};
    const json_t *limits = NULL, *admin = NULL;
    json_int_t max_body = CONFIG_DEFAULT_MAX_BODY;
    enum kaeri_err rc;

    memset(out, 0, sizeof(*out));
    out->region = "ap-northeast-1";
    out->account = "123456789012";
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)root, key, value) {
        char where[256];

        (void)value;
        if (known_top_key(key, sections))
            continue;
        snprintf(where, sizeof(where), "$.%s", key);
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "unknown setting");
    }
    if ((rc = cfg_string(root, "$", "region", false, &out->region, err)) ||
        (rc = cfg_string(root, "$", "account", false, &out->account, err)) ||
        (rc = cfg_object(root, "$", "limits", false, &limits, err)) ||
        (rc = cfg_object(root, "$", "admin", false, &admin, err)))
        return rc;
    if (strlen(out->account) != 12 ||
        strspn(out->account, "0123456789") != 12)
        return kaeri_fail(err, KAERI_ERR_INVALID, "$.account",
                          "expected 12 digits");
    if (!*out->region || strlen(out->region) > 32)
        return kaeri_fail(err, KAERI_ERR_INVALID, "$.region",
                          "expected a region name such as ap-northeast-1");
    if (limits && ((rc = cfg_keys(limits, "$.limits", limits_keys, err)) ||
                   (rc = cfg_int(limits, "$.limits", "maxBodyBytes", false,
                                 1024, (json_int_t)1 << 30, &max_body, err))))
        return rc;
    out->max_body_bytes = (size_t)max_body;
    if (admin && ((rc = cfg_keys(admin, "$.admin", admin_keys, err)) ||
                  (rc = cfg_bool(admin, "$.admin", "allowRemote", false,
                                 &out->admin_allow_remote, err))))
        return rc;
    return KAERI_OK;
}

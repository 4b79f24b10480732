/*
 * kaeri.c - the shared error helpers declared in kaeri.h.
 */
#include "kaeri.h"

#include <stdarg.h>
#include <stdio.h>

enum kaeri_err kaeri_fail(struct kaeri_error *err, enum kaeri_err rc,
                          const char *where, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return rc;
    snprintf(err->where, sizeof(err->where), "%s", where ? where : "");
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return rc;
}

const char *kaeri_err_name(enum kaeri_err rc)
{
    static const char *const names[] = {
        [KAERI_OK] = "ok",
        [KAERI_ERR_INVALID] = "invalid",
        [KAERI_ERR_AUTH] = "auth",
        [KAERI_ERR_DENIED] = "denied",
        [KAERI_ERR_NOT_FOUND] = "not-found",
        [KAERI_ERR_EXISTS] = "exists",
        [KAERI_ERR_EXPIRED] = "expired",
        [KAERI_ERR_LIMIT] = "limit",
        [KAERI_ERR_AGAIN] = "again",
        [KAERI_ERR_IO] = "io",
        [KAERI_ERR_INTERNAL] = "internal",
    };

    if ((size_t)rc < ARRAY_SIZE(names) && names[rc])
        return names[rc];
    return "unknown";
}

/*
 * form.h - application/x-www-form-urlencoded bodies and query strings, as
 * the AWS query protocol (STS) sends them: '&'-separated pairs, '+' for a
 * space, %XX escapes. Used for requests; SigV4 canonicalises queries by
 * its own rules (sigv4.c), which differ ('+' stays '+').
 */
#ifndef KAERI_FORM_H
#define KAERI_FORM_H

#include "kaeri.h"

#include <stddef.h>

#define FORM_MAX_FIELDS 256

struct form_field {
    char *name;  /* decoded, owned */
    char *value; /* decoded, owned; "" for a name without '=' */
};

struct form {
    struct form_field *fields;
    size_t count;
};

/*
 * Parse 'len' bytes of 's' into 'out' (which must be zeroed or released).
 * KAERI_ERR_INVALID for a bad %XX escape or a NUL in a decoded name or
 * value, KAERI_ERR_LIMIT past FORM_MAX_FIELDS; 'out' is empty on failure.
 */
KAERI_MUST_CHECK enum kaeri_err form_parse(const char *s, size_t len,
                                           struct form *out,
                                           struct kaeri_error *err);
void form_release(struct form *f);
/* The first value of 'name' (case-sensitive), or NULL. */
const char *form_get(const struct form *f, const char *name);

#endif

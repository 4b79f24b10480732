/*
 * form.c - parse form-encoded bodies (AWS query protocol).
 */
#include "form.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode 'n' bytes into a new string; NULL on a bad escape or a NUL. */
static char *decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= n) { /* "%" or "%A" at the end */
                free(out);
                return NULL;
            }
            hi = hex_digit(s[i + 1]);
            lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void form_release(struct form *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->fields[i].name);
        free(f->fields[i].value);
    }
    free(f->fields);
    f->fields = NULL;
    f->count = 0;
}

enum kaeri_err form_parse(const char *s, size_t len, struct form *out,
                          struct kaeri_error *err)
{
    const char *p = s, *end = s + len;

    out->fields = NULL;
    out->count = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        struct form_field *f;

        if (stop == p) { /* empty pair: "a=1&&b=2" */
            p = stop + 1;
            continue;
        }
        if (out->count == FORM_MAX_FIELDS) {
            form_release(out);
            return kaeri_fail(err, KAERI_ERR_LIMIT, "", "more than %d fields",
                              FORM_MAX_FIELDS);
        }
        out->fields = xrealloc(out->fields,
                               (out->count + 1) * sizeof(*out->fields));
        f = &out->fields[out->count];
        f->name = decode(p, (size_t)((eq ? eq : stop) - p));
        f->value = eq ? decode(eq + 1, (size_t)(stop - eq - 1)) : xstrdup("");
        if (!f->name || !f->value) {
            free(f->name);
            free(f->value);
            form_release(out);
            return kaeri_fail(err, KAERI_ERR_INVALID, "",
                              "malformed percent-encoding");
        }
        out->count++;
        p = stop + 1;
    }
    return KAERI_OK;
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->fields[i].name, name))
            return f->fields[i].value;
    return NULL;
}

/*
 * buf.h - a growable byte buffer with a ceiling (git strbuf, curl dynbuf).
 *
 * Invariants: 'data' is always NUL-terminated (an empty buffer points at a
 * static ""), 'len' never exceeds 'max', and a failed append leaves the
 * buffer as it was (KAERI_ERR_LIMIT). Callers that build with a ceiling far
 * above anything they write may ignore the result (log lines do); callers
 * that take outside input must check it. Fields are readable; change them
 * only through buf_*.
 */
#ifndef KAERI_BUF_H
#define KAERI_BUF_H

#include "kaeri.h"

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap; /* bytes allocated, 0 while data is the static "" */
    size_t max; /* ceiling on len; appends past it fail with LIMIT */
};

#define BUF_UNLIMITED ((size_t)-1)

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Empty the buffer but keep its memory. */
void buf_reset(struct buf *b);
/* Hand the contents to the caller (free() it) and re-init the buffer. */
char *buf_detach(struct buf *b, size_t *len);

enum kaeri_err buf_add(struct buf *b, const void *p, size_t n);
enum kaeri_err buf_adds(struct buf *b, const char *s);
enum kaeri_err buf_addch(struct buf *b, char c);
enum kaeri_err buf_printf(struct buf *b, const char *fmt, ...)
    KAERI_PRINTF(2, 3);
enum kaeri_err buf_vprintf(struct buf *b, const char *fmt,
                                            va_list ap) KAERI_PRINTF(2, 0);
/*
 * Append the file at 'path' to 'b'. KAERI_ERR_NOT_FOUND when it does not
 * exist (nothing else is: callers create files only then, never over one
 * they could not read); KAERI_ERR_IO, with 'err' filled, when it cannot be
 * opened or read; KAERI_ERR_LIMIT when it is larger than the ceiling, with
 * what was read wiped (files read this way hold keys) and 'b' emptied.
 */
KAERI_MUST_CHECK enum kaeri_err buf_read_file(struct buf *b, const char *path,
                                              struct kaeri_error *err);

/* Drop the first 'n' bytes (a consumed prefix of an output queue). */
void buf_consume(struct buf *b, size_t n);

#endif

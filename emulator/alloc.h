/*
 * alloc.h - allocation that aborts on out-of-memory. An emulator out of
 * memory has nothing useful left to do, and every caller loses a failure
 * path (git's xmalloc, redis' zmalloc_default_oom).
 */
#ifndef KAERI_ALLOC_H
#define KAERI_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Free a field and leave NULL behind, for fields that outlive the free. */
#define FREE_AND_NULL(p)                                                       \
    do {                                                                       \
        free(p);                                                               \
        (p) = NULL;                                                            \
    } while (0)

#endif

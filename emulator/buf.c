/*
 * buf.c - growable, size-capped, NUL-terminated byte buffers.
 */
#include "buf.h"
#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char empty[1];

void buf_init(struct buf *b, size_t max)
{
    b->data = empty;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    if (b->cap)
        free(b->data);
    buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->cap ? b->data : xstrdup("");

    if (len)
        *len = b->len;
    buf_init(b, b->max);
    return p;
}

/* Make room for 'extra' more bytes plus the NUL. */
static enum kaeri_err grow(struct buf *b, size_t extra)
{
    size_t want, cap;

    if (extra > b->max - b->len)
        return KAERI_ERR_LIMIT;
    want = b->len + extra + 1;
    if (want <= b->cap)
        return KAERI_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap = cap * 2 > cap ? cap * 2 : want;
    if (b->cap) {
        b->data = xrealloc(b->data, cap);
    } else {
        b->data = xmalloc(cap);
        b->data[0] = '\0';
    }
    b->cap = cap;
    return KAERI_OK;
}

enum kaeri_err buf_add(struct buf *b, const void *p, size_t n)
{
    if (grow(b, n))
        return KAERI_ERR_LIMIT;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KAERI_OK;
}

enum kaeri_err buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

enum kaeri_err buf_addch(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

enum kaeri_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return KAERI_ERR_INVALID;
    if (grow(b, (size_t)n))
        return KAERI_ERR_LIMIT;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return KAERI_OK;
}

enum kaeri_err buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    enum kaeri_err rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

enum kaeri_err buf_read_file(struct buf *b, const char *path,
                             struct kaeri_error *err)
{
    char chunk[4096];
    enum kaeri_err rc = KAERI_OK;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return KAERI_ERR_NOT_FOUND;
        return kaeri_fail(err, KAERI_ERR_IO, path, "cannot open: %s",
                          strerror(errno));
    }
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = kaeri_fail(err, KAERI_ERR_IO, path, "cannot read: %s",
                            strerror(errno));
            break;
        }
        if (got == 0)
            break;
        if (buf_add(b, chunk, (size_t)got)) {
            /* volatile stores, so the wipe is not optimised away */
            for (volatile char *v = b->data; v < b->data + b->len; v++)
                *v = 0;
            buf_reset(b);
            rc = KAERI_ERR_LIMIT;
            break;
        }
    }
    for (volatile char *v = chunk; v < chunk + sizeof(chunk); v++)
        *v = 0;
    close(fd);
    return rc;
}

/*
 * kaeri.h - what every module shares: the error enum, the error detail
 * struct that parsers and the config loader fill, and two macros.
 */
#ifndef KAERI_H
#define KAERI_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KAERI_MUST_CHECK __attribute__((warn_unused_result))
#define KAERI_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Functions that can fail return one of these; 0 is success, so 'if (rc)'. */
enum kaeri_err {
    KAERI_OK = 0,
    KAERI_ERR_INVALID,  /* malformed input */
    KAERI_ERR_AUTH,     /* signature, password or token does not check out */
    KAERI_ERR_DENIED,   /* authenticated, but not allowed */
    KAERI_ERR_NOT_FOUND,
    KAERI_ERR_EXISTS,
    KAERI_ERR_EXPIRED,
    KAERI_ERR_LIMIT,    /* a size or count ceiling was reached */
    KAERI_ERR_AGAIN,    /* an incremental parser needs more bytes */
    KAERI_ERR_IO,
    KAERI_ERR_INTERNAL,
};

/*
 * Where and why something failed, for messages that point at the spot:
 * 'where' is a JSON path ("$.cognito.userPools[0].id"), a line:column or
 * empty; 'text' is the reason in lower case, no full stop.
 */
struct kaeri_error {
    char where[256];
    char text[256];
};

/* Fill 'err' (which may be NULL) and return 'rc', for one-line error exits. */
enum kaeri_err kaeri_fail(struct kaeri_error *err, enum kaeri_err rc,
                          const char *where, const char *fmt, ...)
    KAERI_PRINTF(4, 5);

/* A short constant name for 'rc' ("invalid", "auth", ...), for logs. */
const char *kaeri_err_name(enum kaeri_err rc);

#endif

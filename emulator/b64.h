/*
 * b64.h - base64 (RFC 4648 section 4, with '=' padding) and base64url
 * (section 5, no padding), as JWTs, SECRET_HASH and SRP blocks need.
 */
#ifndef KAERI_B64_H
#define KAERI_B64_H

#include "buf.h"
#include "kaeri.h"

#include <stddef.h>

/* New NUL-terminated strings; the caller frees them. */
char *b64_encode(const void *p, size_t n);
char *b64url_encode(const void *p, size_t n);

/*
 * Decode into 'out' (appended). Standard base64 requires correct padding
 * and no characters outside the alphabet; base64url accepts the unpadded
 * form (and '=' padding if present). Both refuse whitespace and any
 * character outside their alphabet with KAERI_ERR_INVALID.
 */
KAERI_MUST_CHECK enum kaeri_err b64_decode(const char *s, size_t n,
                                           struct buf *out);
KAERI_MUST_CHECK enum kaeri_err b64url_decode(const char *s, size_t n,
                                              struct buf *out);

#endif

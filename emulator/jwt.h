/*
 * jwt.h - JWS compact serialisation with RS256 only (RFC 7515, 7519):
 * sign, parse, verify, and the claim checks Cognito's consumers make
 * (spec/cognito.md sections 4 and 6).
 *
 * Verification is by the key a lookup returns for the header's "kid"; the
 * token's "alg" must be "RS256" and the key an RSA key. "none", HS256 and
 * every other alg are refused, whatever the key.
 */
#ifndef KAERI_JWT_H
#define KAERI_JWT_H

#include "crypto.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdint.h>

#define JWT_MAX_LEN 16384

struct jwt {
    json_t *header; /* owned */
    json_t *claims; /* owned */
};

/* Find the public key for 'kid'; NULL when unknown. */
typedef const struct crypto_key *jwt_key_lookup_fn(const char *kid,
                                                   void *ctx);

/* Sign 'claims' (borrowed) as {"kid":kid,"alg":"RS256"}; *out is freed by the caller. */
KAERI_MUST_CHECK enum kaeri_err jwt_sign(const json_t *claims,
                                         const struct crypto_key *key,
                                         const char *kid, char **out);

/*
 * Split and decode without checking the signature (for logs and the
 * demo). KAERI_ERR_INVALID on anything that is not three base64url parts
 * of JSON objects.
 */
KAERI_MUST_CHECK enum kaeri_err jwt_decode(const char *token, size_t len,
                                           struct jwt *out,
                                           struct kaeri_error *err);

/*
 * Decode and check the signature: KAERI_ERR_INVALID (malformed),
 * KAERI_ERR_AUTH (alg not RS256, unknown kid, bad signature). On success
 * 'out' holds header and claims; on failure it is empty.
 */
KAERI_MUST_CHECK enum kaeri_err jwt_verify(const char *token, size_t len,
                                           jwt_key_lookup_fn *lookup,
                                           void *ctx, struct jwt *out,
                                           struct kaeri_error *err);

void jwt_release(struct jwt *jwt);

/* What jwt_check_claims() compares; NULL or 0 fields are not checked. */
struct jwt_expect {
    const char *issuer;    /* "iss" must equal it */
    const char *token_use; /* "id" or "access" */
    const char *client_id; /* "aud" (id token) or "client_id" (access) */
    int64_t now;           /* epoch seconds: exp, nbf and iat are checked */
    int64_t skew;          /* seconds of leeway for nbf and iat */
};

/*
 * KAERI_ERR_EXPIRED when exp <= now; KAERI_ERR_AUTH when a claim differs,
 * nbf or iat lie in the future beyond the skew, or a claim has the wrong
 * type. 'err->text' says which claim.
 */
KAERI_MUST_CHECK enum kaeri_err jwt_check_claims(const struct jwt *jwt,
                                                 const struct jwt_expect *want,
                                                 struct kaeri_error *err);

#endif

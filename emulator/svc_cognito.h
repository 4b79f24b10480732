/*
 * svc_cognito.h - Cognito user pools (cognito-idp, JSON 1.1): sign-in
 * flows including SRP, tokens, admin and group calls, JWKS and discovery
 * (spec/cognito.md, spec/cognito-srp.md).
 *
 * Other services verify tokens through cognito_verify_token(), which uses
 * the pools' keys only.
 */
#ifndef KAERI_SVC_COGNITO_H
#define KAERI_SVC_COGNITO_H

#include "jwt.h"
#include "kaeri.h"
#include "services.h"

extern const struct service svc_cognito;

/* The public key of any pool for 'kid' (a jwt_key_lookup_fn); ctx unused. */
const struct crypto_key *cognito_key_lookup(const char *kid, void *ctx);

/*
 * Verify a token issued by one of kaeri's pools: signature with the pools'
 * keys, issuer of the pool that owns the key, exp/nbf/iat against kaeri's
 * clock, token_use ('token_use' NULL accepts "id" or "access"), and the
 * client id when 'client_id' is not NULL. Like AWS's offline verifiers
 * (API Gateway authorizers), it does not see GlobalSignOut: a signed-out
 * token passes until it expires; Cognito's own calls check revocation
 * themselves (spec/cognito.md section 2, GlobalSignOut). On success 'out' holds the token; release it with jwt_release().
 * KAERI_ERR_INVALID, KAERI_ERR_AUTH or KAERI_ERR_EXPIRED otherwise.
 */
KAERI_MUST_CHECK enum kaeri_err cognito_verify_token(const char *token,
                                                     const char *token_use,
                                                     const char *client_id,
                                                     struct jwt *out,
                                                     struct kaeri_error *err);

#endif

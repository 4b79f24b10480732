/*
 * svc_identity.h - Cognito identity pools (cognito-identity, JSON 1.1,
 * X-Amz-Target "AWSCognitoIdentityService.<Op>"): GetId and
 * GetCredentialsForIdentity for users of kaeri's own user pools, plus
 * DescribeIdentityPool and ListIdentityPools (spec/cognito.md section 7).
 *
 * Its config section is the top-level "identityPools" array. Each pool
 * names its providers by user pool id and app client id; the provider
 * names clients send as Logins keys (AWS's and the local form) are
 * derived at start, so port 0 works (CONTRACT.md "Identities and
 * credentials"). It must come after svc_cognito in the service table:
 * tokens are verified with cognito_verify_token().
 */
#ifndef KAERI_SVC_IDENTITY_H
#define KAERI_SVC_IDENTITY_H

#include "services.h"

extern const struct service svc_identity;

#endif

/*
 * svc_sts.h - STS (query protocol, XML answers): AssumeRole,
 * AssumeRoleWithWebIdentity for tokens of kaeri's user pools, and
 * GetCallerIdentity (spec/apigateway-lambda.md section 8).
 */
#ifndef KAERI_SVC_STS_H
#define KAERI_SVC_STS_H

#include "services.h"

extern const struct service svc_sts;

#endif

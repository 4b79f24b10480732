/*
 * iam.h - who is calling, and may they. The config's IAM users, roles and
 * inline policies; temporary credentials issued by STS and identity pools;
 * SigV4 verification of every signed request (sigv4.c); and policy
 * evaluation (policy.c) behind one authorize call every service uses.
 *
 * Errors are answered here, in the caller's protocol (spec/sigv4.md
 * section 6): a refused request has its reply sent when these return
 * non-OK, and the caller just returns.
 */
#ifndef KAERI_IAM_H
#define KAERI_IAM_H

#include "http.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* How a service answers errors; it decides the codes and body shape. */
enum iam_protocol {
    IAM_PROTO_JSON,  /* awsJson 1.1: {"__type","message"} (Cognito) */
    IAM_PROTO_REST,  /* rest-json: {"message"} + x-amzn-ErrorType */
    IAM_PROTO_QUERY, /* query/XML: <ErrorResponse> (STS) */
};

/* $.iam.sigv4: what a bad signature does. */
enum iam_sigv4_mode {
    IAM_SIGV4_ENFORCE, /* refuse, as AWS does (default) */
    IAM_SIGV4_WARN,    /* log the refusal, let the request through */
    IAM_SIGV4_OFF,     /* accept any well-formed known key; logged at start */
};

struct iam_entity; /* a user or a role: whose policies apply */

/* An authenticated caller. */
struct iam_principal {
    char arn[320];        /* user ARN, or arn:aws:sts::ACCT:assumed-role/R/S */
    char account[16];
    char user_id[200];    /* "AIDA...", or "AROA...:session" */
    char access_key_id[136];
    char region[136];     /* from the credential scope */
    const struct iam_entity *entity; /* private to iam.c */
};

/* An access key pair from the config, for --env-file and the demo. */
struct iam_access_key {
    const char *user;
    const char *access_key_id;
    const char *secret_access_key;
};

/* Temporary credentials, as STS and identity pools hand them out. */
struct iam_session {
    char access_key_id[24];   /* "ASIA" + 16 */
    char secret_access_key[48];
    char session_token[256];
    int64_t expiration;       /* epoch seconds, by kaeri's clock */
    char assumed_role_id[160];/* "AROA...:session" */
    char arn[320];            /* arn:aws:sts::ACCT:assumed-role/ROLE/SESSION */
};

/* Who asks to assume a role, for the trust policy. */
struct iam_trust_request {
    const char *action;        /* "sts:AssumeRole", "...WithWebIdentity" */
    const char *aws_arn;       /* calling principal's ARN, or NULL */
    const char *account;       /* calling principal's account, or NULL */
    const char *federated;     /* "cognito-identity.amazonaws.com" or an
                                  OIDC provider ARN, or NULL */
    const char *service;       /* "lambda.amazonaws.com", or NULL */
    const char *const *context;/* NULL-ended key, value, key, value ... */
};

/* Load "iam" (may be NULL). Errors name the JSON path. */
KAERI_MUST_CHECK enum kaeri_err iam_init(const json_t *section,
                                         const char *account,
                                         const char *region,
                                         struct kaeri_error *err);
void iam_release(void);
/* Add "roles" to GET /_kaeri/endpoints. */
void iam_describe(json_t *endpoints);

/* The admin user's first key (the one --env-file writes), or NULL. */
const struct iam_access_key *iam_admin_key(void);

/*
 * Verify the SigV4 signature of 'req' for 'signing_service' (credential
 * scope region must be kaeri's) and fill 'out'. Long-term keys and
 * unexpired temporary credentials (with their session token) are known.
 * On refusal the AWS error is sent in 'proto' and KAERI_ERR_AUTH returned.
 */
KAERI_MUST_CHECK enum kaeri_err iam_authenticate(struct http_req *req,
                                                 const char *signing_service,
                                                 enum iam_protocol proto,
                                                 struct iam_principal *out);

/* Why a request was refused: the protocol's status, code and message. */
struct iam_refusal {
    int status;
    char code[64];
    char message[512];
};

struct sigv4_request;

/*
 * iam_authenticate() without a reply, for requests that are not HTTP
 * requests: the AppSync Events WebSocket rebuilds a signed POST /event
 * from its header map (spec/appsync-events.md section 5.3).
 * 'request_id' is for the log line and may be NULL.
 */
KAERI_MUST_CHECK enum kaeri_err iam_verify(const struct sigv4_request *req,
                                           const char *signing_service,
                                           enum iam_protocol proto,
                                           const char *request_id,
                                           struct iam_principal *out,
                                           struct iam_refusal *why);

/* iam_authenticate() for awsJson 1.1 services (Cognito). */
KAERI_MUST_CHECK enum kaeri_err
iam_authenticate_json(struct http_req *req, const char *signing_service,
                      struct iam_principal *out);

/* May 'who' do 'action' on 'resource'? No reply is sent. */
bool iam_allowed(const struct iam_principal *who, const char *action,
                 const char *resource);

/*
 * iam_allowed(), answering AccessDeniedException (AccessDenied for the
 * query protocol) with AWS's message naming principal, action and
 * resource when not.
 */
KAERI_MUST_CHECK enum kaeri_err iam_authorize(struct http_req *req,
                                              const struct iam_principal *who,
                                              const char *action,
                                              const char *resource,
                                              enum iam_protocol proto);

/* A role by ARN, or NULL. */
const struct iam_entity *iam_role_find(const char *arn);
/* The role's longest session in seconds (MaxSessionDuration). */
int64_t iam_role_max_session(const struct iam_entity *role);
/* Does the role's trust policy let 'who' assume it? */
bool iam_role_trusts(const struct iam_entity *role,
                     const struct iam_trust_request *who);

/*
 * Mint temporary credentials for 'role', valid 'duration_s' from kaeri's
 * now; they authenticate until then and act with the role's policies.
 */
void iam_assume(const struct iam_entity *role, const char *session_name,
                int64_t duration_s, struct iam_session *out);

#endif

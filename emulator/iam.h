/*
 * iam.h - who is calling. Today: the config's IAM users and their access
 * keys, and a first check of SigV4-signed requests: the Authorization
 * header must be there, well formed, and name a known access key. Full
 * signature verification and policy evaluation arrive with the SigV4 issue
 * behind this same interface, so callers do not change.
 */
#ifndef KAERI_IAM_H
#define KAERI_IAM_H

#include "http.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>

struct iam_principal {
    char arn[256];          /* "arn:aws:iam::123456789012:user/kaeri-admin" */
    char access_key_id[64];
    char region[32];        /* from the credential scope */
};

/* An access key pair from the config, for --env-file and the demo. */
struct iam_access_key {
    const char *user;
    const char *access_key_id;
    const char *secret_access_key;
};

/* Load "iam" (may be NULL). Errors name the JSON path. */
KAERI_MUST_CHECK enum kaeri_err iam_init(const json_t *section,
                                         const char *account,
                                         struct kaeri_error *err);
void iam_release(void);

/* The admin user's first key (the one --env-file writes), or NULL. */
const struct iam_access_key *iam_admin_key(void);

/*
 * Authenticate a request signed for 'signing_service' in the JSON 1.1
 * protocol. On refusal it has already answered with AWS's error
 * (MissingAuthenticationTokenException, IncompleteSignatureException,
 * UnrecognizedClientException) and returns KAERI_ERR_AUTH; the caller just
 * returns.
 */
KAERI_MUST_CHECK enum kaeri_err iam_authenticate_json(struct http_req *req,
                                                      const char *signing_service,
                                                      struct iam_principal *out);

#endif

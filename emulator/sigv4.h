/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) for non-S3 services
 * (spec/sigv4.md): parse the Authorization header or presigned query, check
 * the credential scope and the time, rebuild the canonical request and the
 * string to sign, verify in constant time; and sign, for kaeri's own
 * clients (the Lambda function, tools, tests).
 *
 * A server checks a request in three steps, so that the caller can look up
 * the secret (and session token) between the second and the third:
 *
 *     struct sigv4_auth auth;
 *     enum sigv4_failure why;
 *
 *     if (sigv4_parse(&sreq, &auth, &why, &err) ||
 *         sigv4_check(&auth, region, "bedrock", now, SIGV4_WINDOW_S, &why,
 *                     &err))
 *         goto refuse;                        (AWS error by 'why')
 *     secret = lookup(auth.access_key);       (unknown: UnrecognizedClient)
 *     if (sigv4_verify(&sreq, &auth, secret, &creq, &sts, &why, &err))
 *         goto refuse;                        (log creq and sts)
 *     sigv4_auth_release(&auth);
 *
 * Every refusal sets an enum sigv4_failure, which the service maps to its
 * protocol's error code (spec/sigv4.md section 6 table), and puts AWS's
 * own message in err->text: unlike other kaeri_error texts these are
 * capitalised sentences with a full stop, meant for the client. Texts
 * longer than the field (those quoting the Authorization header) are cut.
 *
 * Pure: no sockets, no clock (time is a parameter), no globals, no logs.
 */
#ifndef KAERI_SIGV4_H
#define KAERI_SIGV4_H

#include "buf.h"
#include "http.h" /* struct http_header only */
#include "kaeri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGV4_ALGORITHM    "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR   "aws4_request"
#define SIGV4_WINDOW_S     900 /* 15 minutes of skew, spec section 6 */
#define SIGV4_KEY_LEN      32  /* signing key, HMAC-SHA256 */
#define SIGV4_HEX_LEN      64  /* signature and payload hash, lower-case hex */
#define SIGV4_AMZ_DATE_LEN 16  /* YYYYMMDDTHHMMSSZ */
#define SIGV4_DATE_LEN     8   /* YYYYMMDD */
#define SIGV4_EXPIRES_MAX  604800 /* X-Amz-Expires: 7 days */

/* Limits on input; going past one refuses the request (INCOMPLETE). */
#define SIGV4_MAX_PATH         8192  /* raw path bytes */
#define SIGV4_MAX_QUERY        8192  /* raw query bytes */
#define SIGV4_MAX_AUTH_HEADER  8192  /* Authorization value */
#define SIGV4_MAX_HEADER_VALUE 16384 /* one signed header's value */
#define SIGV4_MAX_SIGNED       64    /* names in SignedHeaders */
#define SIGV4_MAX_SIGNED_LEN   2048  /* the SignedHeaders string */
#define SIGV4_MAX_FIELD        128   /* access key id, region, service... */
#define SIGV4_MAX_TOKEN        16384 /* security token */
#define SIGV4_CANONICAL_MAX    (256 * 1024) /* a canonical request */

/*
 * The request as it arrived on the wire, borrowed: nothing here is copied
 * or freed by this module. Header names are lower case, in arrival order,
 * duplicates allowed (the transport's struct http_req gives them so).
 */
struct sigv4_request {
    const char *method;
    const char *path;  /* raw as sent, percent-encoded, without the query */
    const char *query; /* raw, without '?'; "" or NULL when none */
    const struct http_header *headers;
    size_t header_count;
    const void *body;
    size_t body_len;
};

/*
 * Why a request was refused. Suggested codes (spec section 6):
 *   MISSING                      MissingAuthenticationToken(Exception)
 *   INCOMPLETE, NO_DATE          IncompleteSignature(Exception)
 *                                (S3: AuthorizationHeaderMalformed)
 *   BAD_TERMINATOR, WRONG_REGION,
 *   WRONG_SERVICE, DATE_MISMATCH,
 *   HOST_NOT_SIGNED, MISMATCH,
 *   PAYLOAD_HASH_MISMATCH        InvalidSignatureException /
 *                                SignatureDoesNotMatch
 *   EXPIRED, NOT_YET             InvalidSignatureException /
 *                                SignatureDoesNotMatch (STS may say
 *                                RequestExpired, S3 RequestTimeTooSkewed)
 *   PRESIGN_EXPIRED              AccessDenied (S3) / as EXPIRED
 */
enum sigv4_failure {
    SIGV4_OK = 0,
    SIGV4_FAIL_MISSING,         /* no Authorization header, no X-Amz-* query */
    SIGV4_FAIL_INCOMPLETE,      /* malformed header or query, over a limit */
    SIGV4_FAIL_BAD_TERMINATOR,  /* scope does not end in aws4_request */
    SIGV4_FAIL_WRONG_REGION,    /* scope region is not the endpoint's */
    SIGV4_FAIL_WRONG_SERVICE,   /* scope service is not the endpoint's */
    SIGV4_FAIL_DATE_MISMATCH,   /* scope date != first 8 chars of amz date */
    SIGV4_FAIL_NO_DATE,         /* no X-Amz-Date nor Date, or unparsable */
    SIGV4_FAIL_EXPIRED,         /* request time < now - window */
    SIGV4_FAIL_NOT_YET,         /* request time > now + window */
    SIGV4_FAIL_PRESIGN_EXPIRED, /* now > amz date + X-Amz-Expires */
    SIGV4_FAIL_HOST_NOT_SIGNED, /* host or a present x-amz-* not signed */
    SIGV4_FAIL_MISMATCH,        /* signature differs (or signed header gone) */
    SIGV4_FAIL_PAYLOAD_HASH_MISMATCH, /* x-amz-content-sha256 != body hash */
};

/*
 * What sigv4_parse() found. A value type: fixed fields on the stack plus
 * one owned string, so release it with sigv4_auth_release() once parsed.
 */
struct sigv4_auth {
    bool presigned;                       /* query form */
    char access_key[SIGV4_MAX_FIELD + 1]; /* AKID from the Credential */
    char scope_date[SIGV4_MAX_FIELD + 1]; /* YYYYMMDD from the Credential */
    char region[SIGV4_MAX_FIELD + 1];
    char service[SIGV4_MAX_FIELD + 1];
    char amz_date[SIGV4_AMZ_DATE_LEN + 1]; /* X-Amz-Date or converted Date */
    int64_t time;                          /* amz_date, epoch seconds */
    int64_t expires;                       /* X-Amz-Expires, presigned only */
    char signed_headers[SIGV4_MAX_SIGNED_LEN + 1]; /* "host;x-amz-date" */
    char signature[SIGV4_MAX_FIELD + 1]; /* as sent; 64 hex when valid */
    char *security_token; /* owned; NULL when none (header or query) */
};

/*
 * Extract the signature parameters from 'req': the Authorization header
 * (AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/aws4_request,
 * SignedHeaders=a;b, Signature=hex, keys in any order, split on ',' and
 * trimmed) or, when there is none, the presigned query (X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 * X-Amz-Signature, optional X-Amz-Security-Token; values percent-decoded).
 * The amz date is the X-Amz-Date header, else the Date header (RFC 1123,
 * converted); presigned requests take it from the query only. The security
 * token comes from the x-amz-security-token header (or the query).
 *
 * Also checks that 'host' and every x-amz-* header present are signed.
 * Does not check region, service, dates against each other or the clock
 * (sigv4_check()), nor the signature (sigv4_verify()).
 *
 * Returns KAERI_OK, KAERI_ERR_AUTH (MISSING) or KAERI_ERR_INVALID (any
 * other failure), with *why (may be NULL) and err (may be NULL) set. On
 * failure 'out' holds nothing; on success release it.
 */
KAERI_MUST_CHECK enum kaeri_err sigv4_parse(const struct sigv4_request *req,
                                            struct sigv4_auth *out,
                                            enum sigv4_failure *why,
                                            struct kaeri_error *err);

/* Free the security token and empty 'a'. Safe on an empty or failed parse. */
void sigv4_auth_release(struct sigv4_auth *a);

/*
 * The scope and time checks of spec section 9 steps 2 and 3: the scope's
 * region is 'expected_region' (NULL: any), its service 'expected_service'
 * (NULL: any), its date the amz date's first 8 characters. Then the time:
 * header form, the amz date may be at most 'window_s' before or after
 * 'now_epoch_s' (EXPIRED, NOT_YET); presigned, 'now_epoch_s' must not be
 * past amz date + X-Amz-Expires (PRESIGN_EXPIRED) and the amz date not
 * more than the window in the future (NOT_YET). 'now_epoch_s' must lie in
 * years 1..9999 and 'window_s' in 0..SIGV4_EXPIRES_MAX (caller's promise).
 *
 * Returns KAERI_OK, KAERI_ERR_AUTH (scope) or KAERI_ERR_EXPIRED (time),
 * with *why and err set as for sigv4_parse().
 */
KAERI_MUST_CHECK enum kaeri_err
sigv4_check(const struct sigv4_auth *a, const char *expected_region,
            const char *expected_service, int64_t now_epoch_s, int64_t window_s,
            enum sigv4_failure *why, struct kaeri_error *err);

/*
 * Rebuild the signature of 'req' with 'secret' (the secret access key for
 * a->access_key) and compare it with a->signature in constant time. First,
 * an x-amz-content-sha256 header, when present, must equal the body's
 * SHA-256 (PAYLOAD_HASH_MISMATCH). A name in SignedHeaders that the request
 * lacks is a MISMATCH, as in AWS.
 *
 * 'canonical_out' and 'sts_out' (each may be NULL) receive the canonical
 * request and string to sign kaeri computed, appended, for the log line
 * that lets a user diff them against their signer's; they are filled
 * whenever the computation got that far, match or not.
 *
 * Returns KAERI_OK or KAERI_ERR_AUTH (why: MISMATCH, PAYLOAD_HASH_MISMATCH,
 * INCOMPLETE when the request is over a limit).
 */
KAERI_MUST_CHECK enum kaeri_err
sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *a,
             const char *secret, struct buf *canonical_out, struct buf *sts_out,
             enum sigv4_failure *why, struct kaeri_error *err);

/*
 * Append the canonical request of 'req' to 'out' (spec sections 2-5):
 * method, URI (wire path normalised, then percent-encoded again: the
 * non-S3 double encoding), query (decoded, re-encoded, sorted by key then
 * value; without X-Amz-Signature when 'presigned'), the headers named in
 * 'signed_headers' ("a;b", in that order; values trimmed, whitespace runs
 * collapsed, duplicates joined with ','), the signed header list, and the
 * hex SHA-256 of the body. S3's rules are left out on purpose.
 *
 * Returns KAERI_OK; KAERI_ERR_NOT_FOUND when a signed header is missing
 * from 'req'; KAERI_ERR_INVALID for an empty name in 'signed_headers' or
 * more than SIGV4_MAX_SIGNED of them; KAERI_ERR_LIMIT when the path, query,
 * a header value or 'out' goes past its limit. 'err' (may be NULL) says
 * which. On failure 'out' may hold a partial request.
 */
KAERI_MUST_CHECK enum kaeri_err
sigv4_canonical_request(const struct sigv4_request *req,
                        const char *signed_headers, bool presigned,
                        struct buf *out, struct kaeri_error *err);

/*
 * Append "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical)>"
 * (no trailing newline) to 'out'; 'scope' is
 * "YYYYMMDD/region/service/aws4_request". KAERI_ERR_LIMIT when 'out' is full.
 */
KAERI_MUST_CHECK enum kaeri_err sigv4_string_to_sign(const char *amz_date,
                                                     const char *scope,
                                                     const char *canonical,
                                                     size_t canonical_len,
                                                     struct buf *out);

/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"); 'date' is YYYYMMDD. Intermediate keys are wiped; the
 * caller wipes 'out' when done.
 */
void sigv4_signing_key(const char *secret, const char *date, const char *region,
                       const char *service, unsigned char out[SIGV4_KEY_LEN]);

/* Lower-case hex HMAC(key, string_to_sign) into 'out' (65 bytes with NUL). */
void sigv4_signature(const unsigned char key[SIGV4_KEY_LEN],
                     const char *string_to_sign, size_t len,
                     char out[SIGV4_HEX_LEN + 1]);

/*
 * Sign 'req' for kaeri's own clients and return the Authorization value in
 * *authorization_out (new string, the caller frees it).
 *
 * Contract: 'req' carries every header the caller will send, names in
 * lower case, including 'host' (with ":port" when not the default) and
 * 'x-amz-date' equal to 'amz_date' (YYYYMMDDTHHMMSSZ, see
 * sigv4_format_amz_date()), and 'x-amz-security-token' equal to
 * 'session_token' when that is not NULL. The function signs host,
 * content-type and every x-amz-* header present (x-amz-date,
 * x-amz-security-token, x-amz-content-sha256, x-amz-target...), and the
 * path and query exactly as they will go on the wire. It adds no header:
 * the caller then adds Authorization and sends the request unchanged.
 *
 * Returns KAERI_OK, or KAERI_ERR_INVALID (with 'err') when the contract is
 * broken: host or x-amz-date missing or different, token header missing or
 * different, amz_date malformed, x-amz-content-sha256 not the body's hash,
 * too many headers; KAERI_ERR_LIMIT when the request is over a limit.
 */
KAERI_MUST_CHECK enum kaeri_err
sigv4_sign(const struct sigv4_request *req, const char *access_key,
           const char *secret, const char *session_token, const char *region,
           const char *service, const char *amz_date, char **authorization_out,
           struct kaeri_error *err);

/*
 * Format 'epoch_s' as YYYYMMDDTHHMMSSZ (UTC) into 'out'. KAERI_ERR_INVALID
 * when the year is outside 1..9999.
 */
KAERI_MUST_CHECK enum kaeri_err
sigv4_format_amz_date(int64_t epoch_s, char out[SIGV4_AMZ_DATE_LEN + 1]);

/* A short constant name for 'why' ("mismatch", "expired", ...), for logs. */
const char *sigv4_failure_name(enum sigv4_failure why);

#endif

/*
 * jwt.c - JWS compact serialisation, RS256 only (RFC 7515, RFC 7519):
 * sign, decode, verify, and the claim checks of spec/cognito.md section 6.
 *
 * The token never picks the algorithm: "alg" must be the string "RS256"
 * and the key comes from the caller's lookup by "kid", so "none", HS256
 * keyed with the public key and the like are refused before any
 * signature maths. Left out on purpose: JWE, JSON serialisation, header
 * keys ("jwk", "jku", "x5u" are ignored) and "crit" extensions (refused,
 * as RFC 7515 section 4.1.11 requires of a verifier that knows none).
 *
 * The payload is parsed only once the signature checks out, so unsigned
 * bytes never reach the JSON parser in jwt_verify().
 */
#include "jwt.h"
#include "alloc.h"
#include "b64.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compact form split at its two dots; pointers into the token. */
struct jwt_parts {
    const char *part[3]; /* header, payload, signature */
    size_t len[3];
};

enum { PART_HEADER, PART_PAYLOAD, PART_SIGNATURE };

static const char *const part_names[] = {"header", "payload", "signature"};

/* RFC 7515 section 7.1: exactly three parts, separated by two dots. */
static enum kaeri_err split_token(const char *token, size_t len,
                                  struct jwt_parts *parts,
                                  struct kaeri_error *err)
{
    const char *p, *end, *dot;
    int i;

    if (!token)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL, "no token");
    p = token;
    end = token + len;
    if (len > JWT_MAX_LEN)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "token longer than %d bytes", JWT_MAX_LEN);
    for (i = 0; i < 2; i++) {
        dot = memchr(p, '.', (size_t)(end - p));
        if (!dot)
            return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                              "token is not three dot-separated parts");
        parts->part[i] = p;
        parts->len[i] = (size_t)(dot - p);
        p = dot + 1;
    }
    if (memchr(p, '.', (size_t)(end - p)))
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "token is not three dot-separated parts");
    parts->part[2] = p;
    parts->len[2] = (size_t)(end - p);
    return KAERI_OK;
}

/*
 * Decode one part into 'out'. JWS drops the '=' padding (RFC 7515
 * section 2); refusing it here keeps one spelling per token, which
 * b64url_decode() alone would not.
 */
static enum kaeri_err decode_part(const struct jwt_parts *parts, int which,
                                  struct buf *out, struct kaeri_error *err)
{
    const char *s = parts->part[which];
    size_t n = parts->len[which];
    enum kaeri_err rc;

    if (n && memchr(s, '=', n))
        rc = KAERI_ERR_INVALID;
    else
        rc = b64url_decode(s, n, out);
    if (rc == KAERI_ERR_LIMIT)
        return kaeri_fail(err, KAERI_ERR_INVALID, part_names[which],
                          "too long");
    if (rc)
        return kaeri_fail(err, KAERI_ERR_INVALID, part_names[which],
                          "not base64url");
    return KAERI_OK;
}

/* Parse decoded bytes as a JSON object; new reference in *out. */
static enum kaeri_err parse_object(const struct buf *raw, int which,
                                   json_t **out, struct kaeri_error *err)
{
    json_error_t jerr;

    /*
     * Duplicate names are refused (RFC 7515 section 5.2 lets us choose):
     * two parsers taking different duplicates is how confusion starts.
     */
    *out = json_loadb(raw->data, raw->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        return kaeri_fail(err, KAERI_ERR_INVALID, part_names[which],
                          "not JSON: %s", jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return kaeri_fail(err, KAERI_ERR_INVALID, part_names[which],
                          "not a JSON object");
    }
    return KAERI_OK;
}

enum kaeri_err jwt_sign(const json_t *claims, const struct crypto_key *key,
                        const char *kid, char **out)
{
    enum kaeri_err rc;
    unsigned char sig[CRYPTO_RS256_SIG_MAX];
    size_t sig_len;
    json_t *header = NULL;
    char *header_json = NULL, *claims_json = NULL;
    char *header_b64 = NULL, *claims_b64 = NULL, *sig_b64 = NULL;
    struct buf token;

    *out = NULL;
    buf_init(&token, JWT_MAX_LEN);
    if (!json_is_object(claims) || !kid) {
        rc = KAERI_ERR_INVALID;
        goto out;
    }
    /* spec/cognito.md section 4: {"kid":"<key id>","alg":"RS256"} */
    header = json_pack("{s:s, s:s}", "kid", kid, "alg", "RS256");
    header_json = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    claims_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!header_json || !claims_json) {
        rc = KAERI_ERR_INVALID;
        goto out;
    }
    header_b64 = b64url_encode(header_json, strlen(header_json));
    claims_b64 = b64url_encode(claims_json, strlen(claims_json));
    /* A token too long for jwt_verify() is refused here, not there. */
    if ((rc = buf_adds(&token, header_b64)) || (rc = buf_addch(&token, '.')) ||
        (rc = buf_adds(&token, claims_b64)))
        goto out;
    rc = crypto_rs256_sign(key, token.data, token.len, sig, &sig_len);
    if (rc)
        goto out;
    sig_b64 = b64url_encode(sig, sig_len);
    if ((rc = buf_addch(&token, '.')) || (rc = buf_adds(&token, sig_b64)))
        goto out;
    *out = buf_detach(&token, NULL);
out:
    buf_release(&token);
    free(sig_b64);
    free(claims_b64);
    free(header_b64);
    free(claims_json);
    free(header_json);
    json_decref(header);
    return rc;
}

enum kaeri_err jwt_decode(const char *token, size_t len, struct jwt *out,
                          struct kaeri_error *err)
{
    enum kaeri_err rc;
    struct jwt_parts parts = {{NULL}, {0}};
    struct buf raw;
    json_t *header = NULL, *claims = NULL;

    out->header = NULL;
    out->claims = NULL;
    buf_init(&raw, JWT_MAX_LEN);
    if ((rc = split_token(token, len, &parts, err)) ||
        (rc = decode_part(&parts, PART_HEADER, &raw, err)) ||
        (rc = parse_object(&raw, PART_HEADER, &header, err)))
        goto out;
    buf_reset(&raw);
    if ((rc = decode_part(&parts, PART_PAYLOAD, &raw, err)) ||
        (rc = parse_object(&raw, PART_PAYLOAD, &claims, err)))
        goto out;
    buf_reset(&raw);
    if ((rc = decode_part(&parts, PART_SIGNATURE, &raw, err)))
        goto out;
    out->header = header;
    out->claims = claims;
    header = claims = NULL;
out:
    json_decref(header);
    json_decref(claims);
    buf_release(&raw);
    return rc;
}

/* The header must name RS256 and a kid, and carry nothing critical. */
static enum kaeri_err check_header(const json_t *header, const char **kid,
                                   struct kaeri_error *err)
{
    const json_t *alg = json_object_get(header, "alg");
    const json_t *jkid = json_object_get(header, "kid");

    if (!json_is_string(alg) || strcmp(json_string_value(alg), "RS256") != 0)
        return kaeri_fail(err, KAERI_ERR_AUTH, "header", "alg is not RS256");
    if (json_object_get(header, "crit"))
        return kaeri_fail(err, KAERI_ERR_AUTH, "header",
                          "crit extensions are not supported");
    if (!json_is_string(jkid))
        return kaeri_fail(err, KAERI_ERR_AUTH, "header",
                          "kid missing or not a string");
    *kid = json_string_value(jkid);
    return KAERI_OK;
}

enum kaeri_err jwt_verify(const char *token, size_t len,
                          jwt_key_lookup_fn *lookup, void *ctx, struct jwt *out,
                          struct kaeri_error *err)
{
    enum kaeri_err rc;
    struct jwt_parts parts = {{NULL}, {0}};
    struct buf header_raw, payload_raw, sig;
    json_t *header = NULL, *claims = NULL;
    const struct crypto_key *key;
    const char *kid = NULL;

    assert(lookup);
    out->header = NULL;
    out->claims = NULL;
    buf_init(&header_raw, JWT_MAX_LEN);
    buf_init(&payload_raw, JWT_MAX_LEN);
    /* A longer signature is no RS256 signature of ours: fails as LIMIT. */
    buf_init(&sig, CRYPTO_RS256_SIG_MAX);

    /* Shape first, so malformed input is INVALID whatever it claims. */
    if ((rc = split_token(token, len, &parts, err)) ||
        (rc = decode_part(&parts, PART_HEADER, &header_raw, err)) ||
        (rc = parse_object(&header_raw, PART_HEADER, &header, err)) ||
        (rc = decode_part(&parts, PART_PAYLOAD, &payload_raw, err)))
        goto out;
    /* Unpadded base64url of CRYPTO_RS256_SIG_MAX bytes: 4n/3 rounded up. */
    if (parts.len[PART_SIGNATURE] > (CRYPTO_RS256_SIG_MAX * 4 + 2) / 3) {
        rc = kaeri_fail(err, KAERI_ERR_AUTH, "signature",
                        "longer than any RS256 signature");
        goto out;
    }
    if ((rc = decode_part(&parts, PART_SIGNATURE, &sig, err)) ||
        (rc = check_header(header, &kid, err)))
        goto out;
    key = lookup(kid, ctx);
    if (!key) {
        /* The kid is attacker text: it stays out of the message. */
        rc = kaeri_fail(err, KAERI_ERR_AUTH, "header", "unknown kid");
        goto out;
    }
    /* The signing input is the token up to its second dot, as sent. */
    if (crypto_rs256_verify(
            key, token, parts.len[PART_HEADER] + 1 + parts.len[PART_PAYLOAD],
            (const unsigned char *)sig.data, sig.len)) {
        rc = kaeri_fail(err, KAERI_ERR_AUTH, "signature", "bad signature");
        goto out;
    }
    if ((rc = parse_object(&payload_raw, PART_PAYLOAD, &claims, err)))
        goto out;
    out->header = header;
    out->claims = claims;
    header = claims = NULL;
out:
    json_decref(header);
    json_decref(claims);
    buf_release(&sig);
    buf_release(&payload_raw);
    buf_release(&header_raw);
    return rc;
}

void jwt_release(struct jwt *jwt)
{
    json_decref(jwt->header);
    json_decref(jwt->claims);
    jwt->header = NULL;
    jwt->claims = NULL;
}

/* --- claims ----------------------------------------------------------- */

static bool string_is(const json_t *v, const char *want)
{
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           !memcmp(json_string_value(v), want, strlen(want));
}

/* Claim 'name' must be the string 'want'. */
static enum kaeri_err check_string(const json_t *claims, const char *name,
                                   const char *want, struct kaeri_error *err)
{
    const json_t *v = json_object_get(claims, name);
    char where[64];

    (void)snprintf(where, sizeof(where), "$.%s", name);
    if (!v)
        return kaeri_fail(err, KAERI_ERR_AUTH, where, "%s missing", name);
    if (!json_is_string(v))
        return kaeri_fail(err, KAERI_ERR_AUTH, where, "%s is not a string",
                          name);
    if (!string_is(v, want))
        return kaeri_fail(err, KAERI_ERR_AUTH, where, "%s mismatch", name);
    return KAERI_OK;
}

/*
 * "aud" must be 'want' or, as RFC 7519 section 4.1.3 allows, an array
 * holding it. Cognito sends a string.
 */
static enum kaeri_err check_aud(const json_t *claims, const char *want,
                                struct kaeri_error *err)
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t i;

    if (!json_is_array(aud))
        return check_string(claims, "aud", want, err);
    for (i = 0; i < json_array_size(aud); i++)
        if (string_is(json_array_get(aud, i), want))
            return KAERI_OK;
    return kaeri_fail(err, KAERI_ERR_AUTH, "$.aud", "aud mismatch");
}

/*
 * The client id lives in "aud" for ID tokens and in "client_id" for
 * access tokens. Without an expected token_use, do what API Gateway's JWT
 * authorizer does (spec/cognito.md section 6): "aud" when the token has
 * one, else "client_id".
 */
static enum kaeri_err check_client(const json_t *claims,
                                   const struct jwt_expect *want,
                                   struct kaeri_error *err)
{
    const char *use = want->token_use;

    if (use && !strcmp(use, "id"))
        return check_aud(claims, want->client_id, err);
    if (use && !strcmp(use, "access"))
        return check_string(claims, "client_id", want->client_id, err);
    if (json_object_get(claims, "aud"))
        return check_aud(claims, want->client_id, err);
    return check_string(claims, "client_id", want->client_id, err);
}

/*
 * Compare numeric claim 'v' with 't': <0, 0, >0. Integers compare
 * exactly; a real (RFC 7519 NumericDate may have a fraction) as a double.
 */
static int compare_time(const json_t *v, int64_t t)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        return (i > t) - (i < t);
    }
    return (json_real_value(v) > (double)t) - (json_real_value(v) < (double)t);
}

/* Claim 'name' as a number; 'required' says whether absence fails. */
static enum kaeri_err get_time(const json_t *claims, const char *name,
                               bool required, const json_t **out,
                               struct kaeri_error *err)
{
    const json_t *v = json_object_get(claims, name);
    char where[64];

    *out = NULL;
    (void)snprintf(where, sizeof(where), "$.%s", name);
    if (!v && required)
        return kaeri_fail(err, KAERI_ERR_AUTH, where, "%s missing", name);
    if (v && !json_is_number(v))
        return kaeri_fail(err, KAERI_ERR_AUTH, where, "%s is not a number",
                          name);
    *out = v;
    return KAERI_OK;
}

/* exp after now; nbf and iat, when present, not after now + skew. */
static enum kaeri_err check_times(const json_t *claims, int64_t now,
                                  int64_t skew, struct kaeri_error *err)
{
    enum kaeri_err rc;
    const json_t *v;
    int64_t latest;

    if ((rc = get_time(claims, "exp", true, &v, err)))
        return rc;
    if (compare_time(v, now) <= 0)
        return kaeri_fail(err, KAERI_ERR_EXPIRED, "$.exp", "token expired");
    if (skew < 0)
        skew = 0;
    if (__builtin_add_overflow(now, skew, &latest))
        latest = INT64_MAX;
    if ((rc = get_time(claims, "nbf", false, &v, err)))
        return rc;
    if (v && compare_time(v, latest) > 0)
        return kaeri_fail(err, KAERI_ERR_AUTH, "$.nbf",
                          "token not valid yet (nbf in the future)");
    if ((rc = get_time(claims, "iat", false, &v, err)))
        return rc;
    if (v && compare_time(v, latest) > 0)
        return kaeri_fail(err, KAERI_ERR_AUTH, "$.iat",
                          "token issued in the future (iat)");
    return KAERI_OK;
}

/*
 * In the order of AWS's verification steps (spec/cognito.md section 6):
 * expiry, audience or client, issuer, token use.
 */
enum kaeri_err jwt_check_claims(const struct jwt *jwt,
                                const struct jwt_expect *want,
                                struct kaeri_error *err)
{
    enum kaeri_err rc;
    const json_t *claims = jwt->claims;

    if (!json_is_object(claims))
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL, "no claims");
    if (want->now && (rc = check_times(claims, want->now, want->skew, err)))
        return rc;
    if (want->client_id && (rc = check_client(claims, want, err)))
        return rc;
    if (want->issuer && (rc = check_string(claims, "iss", want->issuer, err)))
        return rc;
    if (want->token_use &&
        (rc = check_string(claims, "token_use", want->token_use, err)))
        return rc;
    return KAERI_OK;
}

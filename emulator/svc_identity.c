/*
 * svc_identity.c - Cognito identity pools on the wire (spec/cognito.md
 * section 7): the JSON 1.1 operations behind X-Amz-Target
 * "AWSCognitoIdentityService.<Op>" for pools whose providers are kaeri's
 * own user pools, and the pools' entries in /_kaeri/endpoints.
 *
 * GetId and GetCredentialsForIdentity are unsigned (noAuth in the model);
 * DescribeIdentityPool and ListIdentityPools are SigV4-signed with the
 * signing name "cognito-identity" and authorized as
 * "cognito-identity:<Operation>" on the pool's ARN.
 *
 * Choices where AWS is silent or varies, each marked where it applies:
 * - An authenticated identity id is derived from the identity pool id and
 *   the token's "sub" (SHA-256, shaped as a version-4 UUID), so a user
 *   keeps it across sign-ins and across kaeri restarts; an identity the
 *   table has lost is recognised again by GetCredentialsForIdentity from
 *   its Logins. Unauthenticated identities are random and last as long as
 *   the process.
 * - Messages are the ones AWS is seen to send (GitHub issues of the
 *   SDKs): "Token is not from a supported provider of this identity
 *   pool." (unknown Logins key, or a token for another app client),
 *   "Invalid login token. Issuer doesn't match providerName", "Logins
 *   don't match. Please include at least one valid login for this
 *   identity or identity pool.", "Invalid identity pool configuration.
 *   Check assigned IAM roles for this pool." (no role, unknown role, or a
 *   trust policy that refuses: the model's InvalidIdentityPoolConfiguration
 *   "if the AssumeRole fails"), "The ambiguous role mapping rules denied
 *   this request." (Token mapping with Deny). The CustomRoleArn refusal's
 *   wording is UNVERIFIED.
 * - Logins on an unauthenticated identity (AWS would link them and make
 *   it authenticated) are refused with "Logins don't match": the app
 *   should call GetId with its Logins.
 * - A body that is not a JSON object answers SerializationException, a
 *   missing or mistyped member InvalidParameterException with AWS's
 *   "N validation error(s) detected:" text, as svc_cognito.c does.
 *
 * Left out on purpose: GetOpenIdToken, developer identities, other
 * providers (Google, SAML, OIDC), Rules role mappings, identity linking,
 * the control-plane calls that change pools.
 */
#include "svc_identity.h"
#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "iam.h"
#include "jwt.h"
#include "log.h"
#include "svc_cognito.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENTITY_TARGET  "AWSCognitoIdentityService."
#define IDENTITY_JSON    "application/x-amz-json-1.1"
#define IDENTITY_ID_MAX  64     /* "<region>:<uuid>", 55 by the model */
#define IDENTITIES_MAX   100000 /* unauthenticated ones could grow forever */
#define SESSION_NAME     "CognitoIdentityCredentials"
#define SESSION_SECONDS  3600 /* identity pool credentials last 1 hour */
#define COGNITO_IDENTITY "cognito-identity.amazonaws.com"

#define INVALID_PARAM  "InvalidParameterException"
#define NOT_AUTHORIZED "NotAuthorizedException"
#define NOT_FOUND      "ResourceNotFoundException"
#define BAD_CONFIG     "InvalidIdentityPoolConfigurationException"
#define MSG_BAD_CONFIG                                                        \
    "Invalid identity pool configuration. Check assigned IAM roles for this " \
    "pool."
#define MSG_LOGINS                                                          \
    "Logins don't match. Please include at least one valid login for this " \
    "identity or identity pool."
#define MSG_PROVIDER \
    "Token is not from a supported provider of this identity pool."

/* A user pool app client that may sign in to an identity pool. */
struct provider {
    char *user_pool; /* "ap-northeast-1_KaeriPool1" */
    char *client_id;
    char *aws_name;   /* "cognito-idp.<region>.amazonaws.com/<userPool>" */
    char *local_name; /* "127.0.0.1:4580/<userPool>": the issuer, no scheme */
};

struct ipool {
    char *id; /* "<region>:<uuid>" */
    char *name;
    bool allow_unauth;
    struct provider *providers;
    size_t nproviders;
    char *auth_role;     /* role ARN */
    char *unauth_role;   /* role ARN, or NULL */
    bool token_mapping;  /* roleMapping type "Token" */
    bool ambiguous_deny; /* ambiguousRoleResolution "Deny" */
};

/* An identity handed out by GetId. */
struct identity {
    char id[IDENTITY_ID_MAX];
    const struct ipool *pool;
    char *sub; /* the user's "sub"; NULL: unauthenticated */
};

static struct {
    struct ipool *pools;
    size_t npools;
    struct identity *ids;
    size_t nids, cap;
    char *region;
    char *account;
} ip;

/* ---- helpers: replies ------------------------------------------------ */

/* One operation call: the request and its parsed body. */
struct call {
    struct http_req *req;
    const json_t *in; /* the body object, borrowed */
};

static void fail(struct call *c, const char *code, const char *fmt, ...)
    KAERI_PRINTF(3, 4);

static void fail(struct call *c, const char *code, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    http_reply_aws_json_error(
        c->req, strcmp(code, "InternalErrorException") ? 400 : 500, code, "%s",
        text);
}

static const char *in_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- validation (the model's constraints, AWS's messages) -------------- */

enum field_type { F_STR, F_INT, F_MAP };

enum field_pattern {
    P_NONE,
    P_POOL_ID,  /* IdentityPoolId and IdentityId: [\w-]+:[0-9a-f-]+ */
    P_DIGITS,   /* AccountId: \d+ */
    P_NO_SPACE, /* PaginationKey: [\S]+ */
};

struct field {
    const char *name;
    enum field_type type;
    bool required;
    json_int_t min, max; /* string length, integer value or map size */
};

static const char *pattern_text(enum field_pattern p)
{
    switch (p) {
    case P_POOL_ID:
        return "[\\w-]+:[0-9a-f-]+";
    case P_DIGITS:
        return "\\d+";
    case P_NO_SPACE:
        return "[\\S]+";
    case P_NONE:
        break;
    }
    return "";
}

static bool is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

static bool pattern_ok(enum field_pattern p, const char *s)
{
    const char *colon;

    switch (p) {
    case P_NONE:
        return true;
    case P_POOL_ID:
        colon = strchr(s, ':');
        if (!colon || colon == s || !colon[1])
            return false;
        for (const char *q = s; q < colon; q++)
            if (!is_word(*q) && *q != '-')
                return false;
        for (const char *q = colon + 1; *q; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  *q == '-'))
                return false;
        return true;
    case P_DIGITS:
        for (const char *q = s; *q; q++)
            if (*q < '0' || *q > '9')
                return false;
        return *s != '\0';
    case P_NO_SPACE:
        for (const char *q = s; *q; q++)
            if (strchr(" \t\n\r\f\v", *q))
                return false;
        return *s != '\0';
    }
    return true;
}

/* The pattern each member of this service's inputs must match. */
static enum field_pattern field_pattern(const char *name)
{
    if (!strcmp(name, "IdentityPoolId") || !strcmp(name, "IdentityId"))
        return P_POOL_ID;
    if (!strcmp(name, "AccountId"))
        return P_DIGITS;
    if (!strcmp(name, "NextToken"))
        return P_NO_SPACE;
    return P_NONE;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * One failure, "; " separated. 'shown' is the value as AWS echoes it:
 * NULL for "Value null at", "" for "Value at" (wrong types, maps, whose
 * tokens are never echoed), else "Value '<shown>' at".
 */
static void add_violation(struct buf *msgs, int *count, const char *name,
                          const char *shown, const char *constraint, ...)
    KAERI_PRINTF(5, 6);

static void add_violation(struct buf *msgs, int *count, const char *name,
                          const char *shown, const char *constraint, ...)
{
    char member[64];
    va_list ap;

    /* AWS names members in lowerCamelCase in these messages */
    snprintf(member, sizeof(member), "%s", name);
    if (member[0] >= 'A' && member[0] <= 'Z')
        member[0] = (char)(member[0] - 'A' + 'a');
    if (*count)
        (void)buf_adds(msgs, "; ");
    if (!shown)
        (void)buf_printf(msgs, "Value null at '%s'", member);
    else if (!*shown)
        (void)buf_printf(msgs, "Value at '%s'", member);
    else
        (void)buf_printf(msgs, "Value '%s' at '%s'", shown, member);
    (void)buf_adds(msgs, " failed to satisfy constraint: ");
    va_start(ap, constraint);
    (void)buf_vprintf(msgs, constraint, ap);
    va_end(ap);
    (*count)++;
}

static void check_string(const struct field *f, const char *s, struct buf *msgs,
                         int *count)
{
    json_int_t len = (json_int_t)utf8_len(s);
    enum field_pattern p = field_pattern(f->name);

    if (len < f->min)
        add_violation(msgs, count, f->name, s,
                      "Member must have length greater than or equal to %lld",
                      (long long)f->min);
    else if (f->max && len > f->max)
        add_violation(msgs, count, f->name, s,
                      "Member must have length less than or equal to %lld",
                      (long long)f->max);
    else if (!pattern_ok(p, s))
        add_violation(msgs, count, f->name, s,
                      "Member must satisfy regular expression pattern: %s",
                      pattern_text(p));
}

/* LoginsMap: at most 'max' entries, keys 1..128, tokens 1..50000. */
static void check_map(const struct field *f, const json_t *v, struct buf *msgs,
                      int *count)
{
    bool bad_key = false, bad_value = false;
    const char *key;
    json_t *item;

    json_object_foreach ((json_t *)v, key, item) {
        size_t klen = utf8_len(key), vlen;

        if (!json_is_string(item)) {
            add_violation(msgs, count, f->name, "",
                          "Member must be a map of strings");
            return;
        }
        vlen = utf8_len(json_string_value(item));
        bad_key |= klen < 1 || klen > 128;
        bad_value |= vlen < 1 || vlen > 50000;
    }
    if (f->max && (json_int_t)json_object_size(v) > f->max)
        add_violation(msgs, count, f->name, "",
                      "Member must have length less than or equal to %lld",
                      (long long)f->max);
    if (bad_key)
        add_violation(msgs, count, f->name, "",
                      "Map keys must satisfy constraint: [Member must have "
                      "length less than or equal to 128, Member must have "
                      "length greater than or equal to 1]");
    if (bad_value)
        add_violation(msgs, count, f->name, "",
                      "Map value must satisfy constraint: [Member must have "
                      "length less than or equal to 50000, Member must have "
                      "length greater than or equal to 1]");
}

static void check_field(const struct field *f, const json_t *v,
                        struct buf *msgs, int *count)
{
    static const char *const type_names[] = {
        [F_STR] = "a string", [F_INT] = "an integer", [F_MAP] = "a map"};
    char number[32];
    json_int_t n;

    if (!v || json_is_null(v)) {
        if (f->required)
            add_violation(msgs, count, f->name, NULL,
                          "Member must not be null");
        return;
    }
    if ((f->type == F_STR && !json_is_string(v)) ||
        (f->type == F_INT && !json_is_integer(v)) ||
        (f->type == F_MAP && !json_is_object(v))) {
        add_violation(msgs, count, f->name, "", "Member must be %s",
                      type_names[f->type]);
        return;
    }
    if (f->type == F_STR) {
        check_string(f, json_string_value(v), msgs, count);
        return;
    }
    if (f->type == F_MAP) {
        check_map(f, v, msgs, count);
        return;
    }
    n = json_integer_value(v);
    snprintf(number, sizeof(number), "%lld", (long long)n);
    if (n < f->min)
        add_violation(msgs, count, f->name, number,
                      "Member must have value greater than or equal to %lld",
                      (long long)f->min);
    else if (f->max && n > f->max)
        add_violation(msgs, count, f->name, number,
                      "Member must have value less than or equal to %lld",
                      (long long)f->max);
}

/* Check the body against 'fields'; false after answering with the errors. */
static bool validate(struct call *c, const struct field *fields)
{
    struct buf msgs;
    int count = 0;

    buf_init(&msgs, 8192);
    for (const struct field *f = fields; f->name; f++)
        check_field(f, json_object_get(c->in, f->name), &msgs, &count);
    if (count)
        fail(c, INVALID_PARAM, "%d validation error%s detected: %s", count,
             count == 1 ? "" : "s", msgs.data);
    buf_release(&msgs);
    return count == 0;
}

/* ---- pools and identities --------------------------------------------- */

static struct ipool *find_pool(const char *id)
{
    /* a pool being loaded has no id yet */
    for (size_t i = 0; i < ip.npools; i++)
        if (ip.pools[i].id && !strcmp(ip.pools[i].id, id))
            return &ip.pools[i];
    return NULL;
}

/* The pool named by IdentityPoolId, or NULL after answering. */
static struct ipool *call_pool(struct call *c)
{
    const char *id = in_str(c->in, "IdentityPoolId");
    struct ipool *pool = find_pool(id);

    if (!pool)
        fail(c, NOT_FOUND, "IdentityPool '%s' not found.", id);
    return pool;
}

static struct identity *find_identity(const char *id)
{
    for (size_t i = 0; i < ip.nids; i++)
        if (!strcmp(ip.ids[i].id, id))
            return &ip.ids[i];
    return NULL;
}

/*
 * The identity id of 'sub' in 'pool': "<region>:" and a version-4 UUID
 * made of the SHA-256 of the pool id and the sub, so the same user gets
 * the same id after every sign-in and every restart.
 */
static void derive_identity_id(const struct ipool *pool, const char *sub,
                               char out[IDENTITY_ID_MAX])
{
    unsigned char md[CRYPTO_SHA256_LEN];
    char hex[2 * 16 + 1];
    const char *colon = strchr(pool->id, ':');
    struct buf b;

    buf_init(&b, 4096);
    (void)buf_printf(&b, "kaeri identity\n%s\n%s", pool->id, sub);
    crypto_sha256(b.data, b.len, md);
    buf_release(&b);
    md[6] = (unsigned char)((md[6] & 0x0F) | 0x40); /* version 4 */
    md[8] = (unsigned char)((md[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    crypto_hex(md, 16, hex);
    snprintf(out, IDENTITY_ID_MAX, "%.*s:%.8s-%.4s-%.4s-%.4s-%.12s",
             (int)(colon - pool->id), pool->id, hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}

/* Record an identity (once); NULL when the table is full. */
static struct identity *remember(const struct ipool *pool, const char *id,
                                 const char *sub)
{
    struct identity *ident = find_identity(id);

    if (ident)
        return ident;
    if (ip.nids == IDENTITIES_MAX)
        return NULL;
    if (ip.nids == ip.cap) {
        ip.cap = ip.cap ? 2 * ip.cap : 16;
        ip.ids = xrealloc(ip.ids, ip.cap * sizeof(*ip.ids));
    }
    ident = &ip.ids[ip.nids++];
    snprintf(ident->id, sizeof(ident->id), "%s", id);
    ident->pool = pool;
    ident->sub = sub ? xstrdup(sub) : NULL;
    return ident;
}

/* ---- Logins ------------------------------------------------------------ */

/* A verified login: the provider it names and its ID token. */
struct login {
    const struct provider *provider;
    struct jwt jwt;  /* verified; released by login_release() */
    const char *sub; /* borrowed from jwt.claims */
};

static void login_release(struct login *l)
{
    jwt_release(&l->jwt);
    memset(l, 0, sizeof(*l));
}

static bool has_logins(const json_t *logins)
{
    return json_is_object(logins) && json_object_size(logins) > 0;
}

/* The provider of 'pool' that 'name' names, in AWS's or the local form. */
static const struct provider *find_provider(const struct ipool *pool,
                                            const char *name)
{
    for (size_t i = 0; i < pool->nproviders; i++)
        if (!strcmp(pool->providers[i].aws_name, name) ||
            !strcmp(pool->providers[i].local_name, name))
            return &pool->providers[i];
    return NULL;
}

/* Does the token's issuer end in "/<user pool id>"? */
static bool issuer_is(const json_t *claims, const char *user_pool)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    size_t n = iss ? strlen(iss) : 0, m = strlen(user_pool);

    return n > m && iss[n - m - 1] == '/' && !strcmp(iss + n - m, user_pool);
}

/*
 * Check one Logins entry: the key names a provider of 'pool', the value
 * is an unexpired ID token of that user pool, signed by it, for that app
 * client. On success 'out' holds the token; otherwise the error is
 * answered (spec/cognito.md section 7 for the messages).
 */
static bool verify_login(struct call *c, const struct ipool *pool,
                         const char *key, const char *token, struct login *out)
{
    const struct provider *prov = find_provider(pool, key);
    struct kaeri_error err = {0};
    const char *use, *aud, *sub;
    struct jwt jwt = {0};
    enum kaeri_err rc;

    if (!prov) {
        fail(c, NOT_AUTHORIZED, MSG_PROVIDER);
        return false;
    }
    rc = cognito_verify_token(token, NULL, NULL, &jwt, &err);
    if (rc == KAERI_ERR_EXPIRED) {
        struct jwt raw = {0};
        json_int_t exp = 0;

        /* the verified token is gone; the message wants its exp */
        if (!jwt_decode(token, strlen(token), &raw, NULL))
            exp = json_integer_value(json_object_get(raw.claims, "exp"));
        jwt_release(&raw);
        fail(c, NOT_AUTHORIZED,
             "Invalid login token. Token expired: %" PRId64 " >= %lld",
             clock_now_s(), (long long)exp);
        return false;
    }
    if (rc) {
        log_msg(LOG_DEBUG, c->req->request_id,
                "identity pool '%s': login '%s' refused: %s: %s", pool->id, key,
                err.where, err.text);
        fail(c, NOT_AUTHORIZED,
             "Invalid login token. Couldn't verify signed token.");
        return false;
    }
    use = json_string_value(json_object_get(jwt.claims, "token_use"));
    aud = json_string_value(json_object_get(jwt.claims, "aud"));
    sub = json_string_value(json_object_get(jwt.claims, "sub"));
    if (!use || strcmp(use, "id") || !aud) /* an access token has no aud */
        fail(c, NOT_AUTHORIZED,
             "Invalid login token. Missing a required claim: aud");
    else if (!issuer_is(jwt.claims, prov->user_pool))
        fail(c, NOT_AUTHORIZED,
             "Invalid login token. Issuer doesn't match providerName");
    else if (strcmp(aud, prov->client_id))
        fail(c, NOT_AUTHORIZED, MSG_PROVIDER);
    else if (!sub || !*sub)
        fail(c, NOT_AUTHORIZED,
             "Invalid login token. Missing a required claim: sub");
    else {
        out->provider = prov;
        out->jwt = jwt;
        out->sub = sub;
        return true;
    }
    jwt_release(&jwt);
    return false;
}

/*
 * Check every Logins entry against 'pool'. They must all be good and name
 * one user; 'out' gets the first. False after answering.
 */
static bool verify_logins(struct call *c, const struct ipool *pool,
                          const json_t *logins, struct login *out)
{
    const char *key;
    json_t *value;

    memset(out, 0, sizeof(*out));
    json_object_foreach ((json_t *)logins, key, value) {
        struct login l;

        if (!verify_login(c, pool, key, json_string_value(value), &l)) {
            login_release(out);
            return false;
        }
        if (!out->provider) {
            *out = l;
        } else {
            bool same = !strcmp(l.sub, out->sub);

            login_release(&l);
            if (!same) {
                login_release(out);
                fail(c, NOT_AUTHORIZED, MSG_LOGINS);
                return false;
            }
        }
    }
    return true;
}

/*
 * An authenticated identity that the table does not hold (kaeri was
 * restarted): the pool whose provider the Logins name and whose derived
 * id for the token's sub is 'id'. Nothing is answered; the caller
 * verifies the Logins again with replies.
 */
static struct identity *recall(const char *id, const json_t *logins)
{
    const char *key;
    json_t *value;

    json_object_foreach ((json_t *)logins, key, value) {
        for (size_t i = 0; i < ip.npools; i++) {
            const struct ipool *pool = &ip.pools[i];
            const struct provider *prov = find_provider(pool, key);
            struct identity *ident = NULL;
            char derived[IDENTITY_ID_MAX];
            struct jwt jwt = {0};
            const char *sub;

            if (!prov || cognito_verify_token(json_string_value(value), "id",
                                              prov->client_id, &jwt, NULL))
                continue;
            sub = json_string_value(json_object_get(jwt.claims, "sub"));
            if (sub) {
                derive_identity_id(pool, sub, derived);
                if (!strcmp(derived, id))
                    ident = remember(pool, id, sub);
            }
            jwt_release(&jwt);
            if (ident)
                return ident;
        }
    }
    return NULL;
}

/* ---- operations -------------------------------------------------------- */

static const struct field get_id_fields[] = {
    {"AccountId", F_STR, false, 1, 15},
    {"IdentityPoolId", F_STR, true, 1, 55},
    {"Logins", F_MAP, false, 0, 10},
    {0},
};

static void op_get_id(struct call *c)
{
    const json_t *logins = json_object_get(c->in, "Logins");
    struct ipool *pool = call_pool(c);
    char id[IDENTITY_ID_MAX];
    struct login login;
    const struct identity *ident;

    if (!pool)
        return;
    if (!has_logins(logins)) {
        char uuid[CRYPTO_UUID_LEN + 1];
        const char *colon = strchr(pool->id, ':');

        if (!pool->allow_unauth) {
            fail(c, NOT_AUTHORIZED,
                 "Unauthenticated access is not supported for this identity "
                 "pool.");
            return;
        }
        crypto_uuid(uuid);
        snprintf(id, sizeof(id), "%.*s:%s", (int)(colon - pool->id), pool->id,
                 uuid);
        ident = remember(pool, id, NULL);
    } else {
        if (!verify_logins(c, pool, logins, &login))
            return;
        derive_identity_id(pool, login.sub, id);
        ident = remember(pool, id, login.sub);
        login_release(&login);
    }
    if (!ident) {
        fail(c, "LimitExceededException",
             "Too many identities in this kaeri process.");
        return;
    }
    http_reply_json(c->req, 200, IDENTITY_JSON,
                    json_pack("{s:s}", "IdentityId", ident->id));
}

static bool array_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach (a, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return true;
    }
    return false;
}

/*
 * The role an authenticated user gets (spec/cognito.md section 7): with
 * Token mapping, CustomRoleArn if the token lists it in cognito:roles,
 * else cognito:preferred_role, else the pool's AmbiguousRoleResolution;
 * without, the authenticated role. NULL after answering.
 */
static const char *choose_role(struct call *c, const struct ipool *pool,
                               const json_t *claims)
{
    const char *custom = in_str(c->in, "CustomRoleArn");
    const char *preferred;

    if (!pool->token_mapping)
        return pool->auth_role;
    if (custom) {
        if (array_has(json_object_get(claims, "cognito:roles"), custom))
            return custom;
        fail(c, NOT_AUTHORIZED,
             "Invalid CustomRoleArn: the token does not grant role '%s'.",
             custom);
        return NULL;
    }
    preferred =
        json_string_value(json_object_get(claims, "cognito:preferred_role"));
    if (preferred)
        return preferred;
    if (pool->ambiguous_deny) {
        fail(c, NOT_AUTHORIZED,
             "The ambiguous role mapping rules denied this request.");
        return NULL;
    }
    return pool->auth_role;
}

/*
 * Assume 'role_arn' for 'ident' as sts:AssumeRoleWithWebIdentity from
 * cognito-identity.amazonaws.com would, with the context keys a trust
 * policy tests (aud, amr, sub), and answer the credentials.
 */
static void issue_credentials(struct call *c, const struct identity *ident,
                              const char *role_arn, const struct login *login)
{
    const struct iam_entity *role = role_arn ? iam_role_find(role_arn) : NULL;
    char sign_in[512];
    /* clang-format off: key, value pairs */
    const char *auth_ctx[] = {COGNITO_IDENTITY ":aud",
                              ident->pool->id,
                              COGNITO_IDENTITY ":amr",
                              "authenticated",
                              COGNITO_IDENTITY ":amr",
                              login ? login->provider->aws_name : "",
                              COGNITO_IDENTITY ":amr",
                              sign_in,
                              COGNITO_IDENTITY ":sub",
                              ident->id,
                              NULL};
    const char *unauth_ctx[] = {COGNITO_IDENTITY ":aud",
                                ident->pool->id,
                                COGNITO_IDENTITY ":amr",
                                "unauthenticated",
                                COGNITO_IDENTITY ":sub",
                                ident->id,
                                NULL};
    /* clang-format on */
    struct iam_trust_request who = {
        .action = "sts:AssumeRoleWithWebIdentity",
        .federated = COGNITO_IDENTITY,
        .context = login ? auth_ctx : unauth_ctx,
    };
    struct iam_session s;

    if (login)
        snprintf(sign_in, sizeof(sign_in), "%s:CognitoSignIn:%s",
                 login->provider->aws_name, login->sub);
    if (!role || !iam_role_trusts(role, &who)) {
        log_msg(LOG_INFO, c->req->request_id,
                "identity pool '%s': role '%s' %s", ident->pool->id,
                role_arn ? role_arn : "(none)",
                role ? "does not trust the identity pool"
                     : "is not in the IAM config");
        fail(c, BAD_CONFIG, MSG_BAD_CONFIG);
        return;
    }
    iam_assume(role, SESSION_NAME, SESSION_SECONDS, &s);
    http_reply_json(c->req, 200, IDENTITY_JSON,
                    json_pack("{s:s, s:{s:s, s:s, s:s, s:I}}", "IdentityId",
                              ident->id, "Credentials", "AccessKeyId",
                              s.access_key_id, "SecretKey", s.secret_access_key,
                              "SessionToken", s.session_token, "Expiration",
                              (json_int_t)s.expiration));
    crypto_wipe(&s, sizeof(s));
}

static const struct field get_credentials_fields[] = {
    {"IdentityId", F_STR, true, 1, 55},
    {"Logins", F_MAP, false, 0, 10},
    {"CustomRoleArn", F_STR, false, 20, 2048},
    {0},
};

static void op_get_credentials(struct call *c)
{
    const char *id = in_str(c->in, "IdentityId");
    const json_t *logins = json_object_get(c->in, "Logins");
    struct identity *ident = find_identity(id);
    struct login login;
    const char *role;

    if (!ident && has_logins(logins))
        ident = recall(id, logins);
    if (!ident) {
        fail(c, NOT_FOUND, "Identity '%s' not found.", id);
        return;
    }
    if (!ident->sub) { /* see the top of this file */
        if (has_logins(logins)) {
            fail(c, NOT_AUTHORIZED, MSG_LOGINS);
            return;
        }
        if (!ident->pool->unauth_role) {
            fail(c, BAD_CONFIG, MSG_BAD_CONFIG);
            return;
        }
        issue_credentials(c, ident, ident->pool->unauth_role, NULL);
        return;
    }
    if (!has_logins(logins)) {
        fail(c, NOT_AUTHORIZED, MSG_LOGINS);
        return;
    }
    if (!verify_logins(c, ident->pool, logins, &login))
        return;
    if (strcmp(login.sub, ident->sub))
        fail(c, NOT_AUTHORIZED, MSG_LOGINS);
    else if ((role = choose_role(c, ident->pool, login.jwt.claims)))
        issue_credentials(c, ident, role, &login);
    login_release(&login);
}

static json_t *pool_json(const struct ipool *pool)
{
    json_t *providers = json_array();

    for (size_t i = 0; i < pool->nproviders; i++)
        json_array_append_new(providers,
                              json_pack("{s:s, s:s, s:b}", "ProviderName",
                                        pool->providers[i].aws_name, "ClientId",
                                        pool->providers[i].client_id,
                                        "ServerSideTokenCheck", 0));
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:{}}", "IdentityPoolId",
                     pool->id, "IdentityPoolName", pool->name,
                     "AllowUnauthenticatedIdentities", pool->allow_unauth,
                     "AllowClassicFlow", 0, "CognitoIdentityProviders",
                     providers, "IdentityPoolTags");
}

static const struct field describe_fields[] = {
    {"IdentityPoolId", F_STR, true, 1, 55},
    {0},
};

static void op_describe_identity_pool(struct call *c)
{
    struct ipool *pool = call_pool(c);

    if (pool)
        http_reply_json(c->req, 200, IDENTITY_JSON, pool_json(pool));
}

static const struct field list_fields[] = {
    {"MaxResults", F_INT, true, 1, 60},
    {"NextToken", F_STR, false, 1, 65535},
    {0},
};

/* NextToken is the index of the next pool, as text. */
static void op_list_identity_pools(struct call *c)
{
    const char *token = in_str(c->in, "NextToken");
    size_t max =
        (size_t)json_integer_value(json_object_get(c->in, "MaxResults"));
    size_t start = 0, end;
    json_t *list, *out;

    if (token) {
        char *stop;
        unsigned long long n = strtoull(token, &stop, 10);

        if (*stop || n > ip.npools || token[0] < '0' || token[0] > '9') {
            fail(c, INVALID_PARAM, "Invalid pagination token");
            return;
        }
        start = (size_t)n;
    }
    end = start + max < ip.npools ? start + max : ip.npools;
    list = json_array();
    for (size_t i = start; i < end; i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s}", "IdentityPoolId", ip.pools[i].id,
                            "IdentityPoolName", ip.pools[i].name));
    out = json_pack("{s:o}", "IdentityPools", list);
    if (end < ip.npools)
        json_object_set_new(out, "NextToken", json_sprintf("%zu", end));
    http_reply_json(c->req, 200, IDENTITY_JSON, out);
}

/* ---- dispatch ----------------------------------------------------------- */

struct op {
    const char *name;
    bool is_signed; /* SigV4; GetId, GetCredentialsForIdentity are noAuth */
    const struct field *fields;
    void (*handle)(struct call *c);
};

static const struct op ops[] = {
    {"GetId", false, get_id_fields, op_get_id},
    {"GetCredentialsForIdentity", false, get_credentials_fields,
     op_get_credentials},
    {"DescribeIdentityPool", true, describe_fields, op_describe_identity_pool},
    {"ListIdentityPools", true, list_fields, op_list_identity_pools},
};

/* cognito-identity:<Operation> on the pool's ARN ("*" for a list). */
static bool authorized(struct call *c, const char *op_name,
                       const struct iam_principal *who)
{
    const char *pool_id = in_str(c->in, "IdentityPoolId");
    char action[128], resource[256];

    snprintf(action, sizeof(action), "cognito-identity:%s", op_name);
    if (pool_id)
        snprintf(resource, sizeof(resource),
                 "arn:aws:cognito-identity:%s:%s:identitypool/%s", ip.region,
                 ip.account, pool_id);
    else
        snprintf(resource, sizeof(resource), "*");
    return iam_authorize(c->req, who, action, resource, IAM_PROTO_JSON) ==
           KAERI_OK;
}

static void handle_json(struct http_req *req)
{
    const char *target = http_req_header(req, "x-amz-target");
    const char *name = target + strlen(IDENTITY_TARGET);
    const struct op *op = NULL;
    struct iam_principal principal;
    struct call c = {.req = req};
    json_t *in = NULL;
    json_error_t jerr;

    snprintf(req->operation, sizeof(req->operation), "%s", name);
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (!strcmp(ops[i].name, name))
            op = &ops[i];
    if (!op) {
        http_reply_aws_json_error(req, 400, "UnknownOperationException", "%s",
                                  "");
        return;
    }
    if (op->is_signed &&
        iam_authenticate_json(req, "cognito-identity", &principal))
        return; /* already answered */
    /* an empty body reads as {} (AWS JSON 1.1 does the same) */
    if (req->body.len)
        in = json_loadb(req->body.data, req->body.len, 0, &jerr);
    else
        in = json_object();
    if (!json_is_object(in)) {
        http_reply_aws_json_error(req, 400, "SerializationException", "%s",
                                  in ? "Start of structure or map expected"
                                     : "Malformed JSON request body");
        goto out;
    }
    c.in = in;
    if (validate(&c, op->fields) &&
        (!op->is_signed || authorized(&c, op->name, &principal)))
        op->handle(&c);
out:
    json_decref(in);
}

static const struct route identity_routes[] = {
    {.method = "POST", .target_prefix = IDENTITY_TARGET, .handle = handle_json},
    {0},
};

/* ---- config, lifecycle -------------------------------------------------- */

/* The member 'key' of 'obj' equals 's'. */
static bool member_is(const json_t *obj, const char *key, const char *s)
{
    const char *v = json_string_value(json_object_get(obj, key));

    return v && !strcmp(v, s);
}

/* The user pool 'id' in $.cognito.userPools of 'root', or NULL. */
static const json_t *config_user_pool(const json_t *root, const char *id)
{
    const json_t *pools =
        json_object_get(json_object_get(root, "cognito"), "userPools");
    size_t i;
    json_t *p;

    json_array_foreach (pools, i, p) {
        if (member_is(p, "id", id))
            return p;
    }
    return NULL;
}

static bool config_has_client(const json_t *user_pool, const char *id)
{
    const json_t *clients = json_object_get(user_pool, "clients");
    size_t i;
    json_t *cl;

    json_array_foreach (clients, i, cl) {
        if (member_is(cl, "id", id))
            return true;
    }
    return false;
}

static enum kaeri_err load_provider(struct provider *prov, const json_t *obj,
                                    const char *path,
                                    const struct kaeri_env *env,
                                    struct kaeri_error *err)
{
    static const char *const keys[] = {"userPool", "clientId", NULL};
    const char *user_pool, *client_id, *host;
    const json_t *up = NULL;
    enum kaeri_err rc;
    char where[400]; /* path (< 300) and a member */

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "userPool", true, &user_pool, err)) ||
        (rc = cfg_string(obj, path, "clientId", true, &client_id, err)))
        return rc;
    /* with a whole config, the references must resolve */
    if (env->root) {
        up = config_user_pool(env->root, user_pool);
        snprintf(where, sizeof(where), "%s.userPool", path);
        if (!up)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "no user pool '%s' in $.cognito.userPools",
                              user_pool);
        snprintf(where, sizeof(where), "%s.clientId", path);
        if (!config_has_client(up, client_id))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "user pool '%s' has no client '%s'", user_pool,
                              client_id);
    }
    host = strstr(env->http_url, "://");
    host = host ? host + 3 : env->http_url;
    prov->user_pool = xstrdup(user_pool);
    prov->client_id = xstrdup(client_id);
    prov->aws_name =
        xasprintf("cognito-idp.%s.amazonaws.com/%s", env->region, user_pool);
    prov->local_name = xasprintf("%s/%s", host, user_pool);
    return KAERI_OK;
}

/* A role ARN of this account that the IAM config declares. */
static enum kaeri_err check_role(const char *arn, const char *where,
                                 const struct kaeri_env *env,
                                 struct kaeri_error *err)
{
    char prefix[64];

    snprintf(prefix, sizeof(prefix), "arn:aws:iam::%s:role/", env->account);
    if (strncmp(arn, prefix, strlen(prefix)) || !arn[strlen(prefix)])
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected a role ARN '%s<name>'", prefix);
    if (!iam_role_find(arn))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "no role '%s' in $.iam.roles", arn);
    return KAERI_OK;
}

static enum kaeri_err load_roles(struct ipool *pool, const json_t *obj,
                                 const char *path, const struct kaeri_env *env,
                                 struct kaeri_error *err)
{
    static const char *const keys[] = {"authenticated", "unauthenticated",
                                       NULL};
    const char *auth, *unauth = NULL;
    enum kaeri_err rc;
    char where[400]; /* path (< 300) and a member */

    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "authenticated", true, &auth, err)) ||
        (rc = cfg_string(obj, path, "unauthenticated", false, &unauth, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.authenticated", path);
    if ((rc = check_role(auth, where, env, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.unauthenticated", path);
    if (unauth && (rc = check_role(unauth, where, env, err)))
        return rc;
    pool->auth_role = xstrdup(auth);
    pool->unauth_role = unauth ? xstrdup(unauth) : NULL;
    return KAERI_OK;
}

static enum kaeri_err load_mapping(struct ipool *pool, const json_t *obj,
                                   const char *path, struct kaeri_error *err)
{
    static const char *const keys[] = {"type", "ambiguousRoleResolution", NULL};
    const char *type, *ambiguous;
    enum kaeri_err rc;
    char where[400]; /* path (< 300) and a member */

    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "type", true, &type, err)) ||
        (rc = cfg_string(obj, path, "ambiguousRoleResolution", true, &ambiguous,
                         err)))
        return rc;
    snprintf(where, sizeof(where), "%s.type", path);
    if (strcmp(type, "Token"))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "only \"Token\" is supported");
    snprintf(where, sizeof(where), "%s.ambiguousRoleResolution", path);
    if (strcmp(ambiguous, "AuthenticatedRole") && strcmp(ambiguous, "Deny"))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected \"AuthenticatedRole\" or \"Deny\"");
    pool->token_mapping = true;
    pool->ambiguous_deny = !strcmp(ambiguous, "Deny");
    return KAERI_OK;
}

static enum kaeri_err load_pool(struct ipool *pool, const json_t *obj,
                                const char *path, const struct kaeri_env *env,
                                struct kaeri_error *err)
{
    static const char *const keys[] = {
        "id",          "name", "allowUnauthenticated", "providers", "roles",
        "roleMapping", NULL};
    const char *id, *name = NULL;
    const json_t *providers = NULL, *roles, *mapping = NULL;
    size_t i, rlen = strlen(env->region);
    enum kaeri_err rc;
    char where[300];
    json_t *v;

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "id", true, &id, err)) ||
        (rc = cfg_string(obj, path, "name", false, &name, err)) ||
        (rc = cfg_bool(obj, path, "allowUnauthenticated", false,
                       &pool->allow_unauth, err)) ||
        (rc = cfg_array(obj, path, "providers", false, &providers, err)) ||
        (rc = cfg_object(obj, path, "roles", true, &roles, err)) ||
        (rc = cfg_object(obj, path, "roleMapping", false, &mapping, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.id", path);
    if (strlen(id) > 55 || !pattern_ok(P_POOL_ID, id) ||
        strncmp(id, env->region, rlen) || id[rlen] != ':')
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "identity pool ids look like '%s:<uuid>'",
                          env->region);
    if (find_pool(id))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "identity pool '%s' is defined twice", id);
    snprintf(where, sizeof(where), "%s.name", path);
    if (name && (!*name || strlen(name) > 128))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected 1 to 128 characters");
    pool->id = xstrdup(id);
    pool->name = xstrdup(name ? name : id);
    pool->providers =
        xcalloc(json_array_size(providers) + 1, sizeof(*pool->providers));
    json_array_foreach (providers, i, v) {
        snprintf(where, sizeof(where), "%s.providers[%zu]", path, i);
        if ((rc = load_provider(&pool->providers[i], v, where, env, err)))
            return rc;
        pool->nproviders++;
    }
    snprintf(where, sizeof(where), "%s.roles", path);
    if ((rc = load_roles(pool, roles, where, env, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.roleMapping", path);
    if (mapping && (rc = load_mapping(pool, mapping, where, err)))
        return rc;
    return KAERI_OK;
}

static void identity_release(void)
{
    for (size_t i = 0; i < ip.npools; i++) {
        struct ipool *p = &ip.pools[i];

        for (size_t j = 0; j < p->nproviders; j++) {
            free(p->providers[j].user_pool);
            free(p->providers[j].client_id);
            free(p->providers[j].aws_name);
            free(p->providers[j].local_name);
        }
        free(p->providers);
        free(p->id);
        free(p->name);
        free(p->auth_role);
        free(p->unauth_role);
    }
    free(ip.pools);
    for (size_t i = 0; i < ip.nids; i++)
        free(ip.ids[i].sub);
    free(ip.ids);
    free(ip.region);
    free(ip.account);
    memset(&ip, 0, sizeof(ip));
}

static enum kaeri_err identity_init(const json_t *section,
                                    const struct kaeri_env *env,
                                    struct kaeri_error *err)
{
    enum kaeri_err rc = KAERI_OK;
    char where[64];
    size_t i;
    json_t *v;

    ip.region = xstrdup(env->region);
    ip.account = xstrdup(env->account);
    if (section && !json_is_array(section)) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, "$.identityPools",
                        "expected an array");
        goto out;
    }
    ip.pools = xcalloc(json_array_size(section) + 1, sizeof(*ip.pools));
    json_array_foreach (section, i, v) {
        snprintf(where, sizeof(where), "$.identityPools[%zu]", i);
        /* counted first, so release frees a half-loaded pool too */
        ip.npools++;
        if ((rc = load_pool(&ip.pools[i], v, where, env, err)))
            goto out;
    }
out:
    if (rc)
        identity_release();
    return rc;
}

static void identity_describe(json_t *endpoints)
{
    json_t *list = json_object_get(endpoints, "identityPools");

    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(endpoints, "identityPools", list);
    }
    for (size_t i = 0; i < ip.npools; i++) {
        const struct ipool *p = &ip.pools[i];
        json_t *providers = json_array();

        for (size_t j = 0; j < p->nproviders; j++)
            json_array_append_new(
                providers,
                json_pack("{s:s, s:s, s:s, s:s}", "userPool",
                          p->providers[j].user_pool, "clientId",
                          p->providers[j].client_id, "providerName",
                          p->providers[j].aws_name, "localProviderName",
                          p->providers[j].local_name));
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:o}", "id", p->id, "name",
                                        p->name, "providers", providers));
    }
}

const struct service svc_identity = {
    .name = "cognito-identity",
    .config_key = "identityPools",
    .init = identity_init,
    .release = identity_release,
    .routes = identity_routes,
    .describe = identity_describe,
};

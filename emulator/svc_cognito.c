/*
 * svc_cognito.c - Cognito user pools on the wire (spec/cognito.md,
 * spec/cognito-srp.md): the JSON 1.1 operations behind X-Amz-Target
 * "AWSCognitoIdentityProviderService.<Op>", the pools' JWKS and
 * openid-configuration, GET /_kaeri/cognito/codes, and the pools' entries
 * in /_kaeri/endpoints. The data model and token minting live in
 * userpool.c; this file validates input, applies AWS's rules and picks
 * AWS's errors.
 *
 * Choices where AWS is silent or varies, each marked where it applies:
 * - A body that is not a JSON object answers 400 SerializationException:
 *   what AWS's JSON 1.1 front end sends, and botocore surfaces its body
 *   "__type" as the error code (spec/cognito.md section 1).
 * - A missing required member or one of the wrong JSON type answers
 *   InvalidParameterException with AWS's "N validation error(s) detected:"
 *   text; JSON null counts as absent.
 * - PreventUserExistenceErrors: clients from the config default to
 *   ENABLED (the console's default), clients made by CreateUserPoolClient
 *   to LEGACY (the API's documented default).
 * - Usernames are case sensitive; aliases (sign-in by email) are not
 *   emulated.
 *
 * Left out on purpose: MFA, devices, custom auth, hosted UI / OAuth,
 * Lambda triggers, forgotten passwords.
 */
#include "svc_cognito.h"
#include "alloc.h"
#include "b64.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "iam.h"
#include "log.h"
#include "srp.h"
#include "svc_admin.h"
#include "userpool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COGNITO_TARGET "AWSCognitoIdentityProviderService."
#define COGNITO_JSON   "application/x-amz-json-1.1"
#define JWKS_SUFFIX    "/.well-known/jwks.json"
#define OPENID_SUFFIX  "/.well-known/openid-configuration"
#define CODES_PATH     "/_kaeri/cognito/codes"
#define TOKEN_SKEW_S   60 /* leeway for nbf/iat in cognito_verify_token */
#define KEY_FILE_MAX   65536

static struct {
    struct userpool **pools;
    size_t npools;
    char *region;
    char *account;
    char *http_url;
    char *keys_dir; /* <state_dir>/keys */
} cg;

/* ---- helpers: replies ------------------------------------------------ */

/* One operation call: the request, its parsed body, kaeri's "now". */
struct call {
    struct http_req *req;
    const json_t *in; /* the body object, borrowed */
    int64_t now;
};

static void reply_ok(struct call *c, json_t *out)
{
    http_reply_json(c->req, 200, COGNITO_JSON, out);
}

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

#define INVALID_PARAM   "InvalidParameterException"
#define NOT_AUTHORIZED  "NotAuthorizedException"
#define BAD_CREDENTIALS "Incorrect username or password."

/* ---- helpers: pools and lookups ------------------------------------- */

static struct userpool *find_pool(const char *id)
{
    for (size_t i = 0; i < cg.npools; i++)
        if (!strcmp(cg.pools[i]->id, id))
            return cg.pools[i];
    return NULL;
}

static struct userpool_client *find_client_any(const char *id)
{
    for (size_t i = 0; i < cg.npools; i++) {
        struct userpool_client *cl = userpool_find_client(cg.pools[i], id);

        if (cl)
            return cl;
    }
    return NULL;
}

static struct userpool *pool_by_kid(const char *kid, bool *is_id_key)
{
    for (size_t i = 0; i < cg.npools; i++) {
        struct userpool *p = cg.pools[i];

        if (!strcmp(p->id_kid, kid) || !strcmp(p->access_kid, kid)) {
            if (is_id_key)
                *is_id_key = !strcmp(p->id_kid, kid);
            return p;
        }
    }
    return NULL;
}

static const char *in_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The pool named by UserPoolId, or NULL after answering. */
static struct userpool *call_pool(struct call *c)
{
    const char *id = in_str(c->in, "UserPoolId");
    struct userpool *pool = find_pool(id);

    if (!pool)
        fail(c, "ResourceNotFoundException", "User pool %s does not exist.",
             id);
    return pool;
}

static struct userpool_client *call_client(struct call *c,
                                           struct userpool *pool)
{
    const char *id = in_str(c->in, "ClientId");
    struct userpool_client *cl =
        pool ? userpool_find_client(pool, id) : find_client_any(id);

    if (!cl)
        fail(c, "ResourceNotFoundException",
             "User pool client %s does not exist.", id);
    return cl;
}

static struct userpool_user *call_user(struct call *c, struct userpool *pool)
{
    struct userpool_user *u =
        userpool_find_user(pool, in_str(c->in, "Username"));

    if (!u)
        fail(c, "UserNotFoundException", "User does not exist.");
    return u;
}

/* ---- validation --------------------------------------------------------- */

enum field_type { F_STR, F_BOOL, F_INT, F_OBJ, F_MAP, F_ARR };

/* String patterns of the model that clients trip over. */
enum field_pattern {
    P_NONE,
    P_POOL_ID,   /* [\w-]+_[0-9a-zA-Z]+ */
    P_CLIENT_ID, /* [\w+]+ */
    P_NO_SPACE,  /* [\p{L}\p{M}\p{S}\p{N}\p{P}]+ and [\S]+ */
    P_PASSWORD,  /* ^[\S]+.*[\S]+$ */
};

struct field {
    const char *name;
    enum field_type type;
    bool required;
    json_int_t min, max; /* string length or integer value; max 0: none */
    enum field_pattern pattern;
    bool sensitive;            /* value never echoed in messages */
    const char *const *values; /* enum, NULL-terminated */
};

static const char *const auth_flows[] = {"USER_SRP_AUTH",
                                         "REFRESH_TOKEN_AUTH",
                                         "REFRESH_TOKEN",
                                         "CUSTOM_AUTH",
                                         "ADMIN_NO_SRP_AUTH",
                                         "USER_PASSWORD_AUTH",
                                         "ADMIN_USER_PASSWORD_AUTH",
                                         "USER_AUTH",
                                         NULL};
static const char *const challenge_names[] = {"SMS_MFA",
                                              "EMAIL_OTP",
                                              "SOFTWARE_TOKEN_MFA",
                                              "SELECT_MFA_TYPE",
                                              "MFA_SETUP",
                                              "PASSWORD_VERIFIER",
                                              "CUSTOM_CHALLENGE",
                                              "SELECT_CHALLENGE",
                                              "DEVICE_SRP_AUTH",
                                              "DEVICE_PASSWORD_VERIFIER",
                                              "ADMIN_NO_SRP_AUTH",
                                              "NEW_PASSWORD_REQUIRED",
                                              "SMS_OTP",
                                              "PASSWORD",
                                              "WEB_AUTHN",
                                              "PASSWORD_SRP",
                                              NULL};
static const char *const message_actions[] = {"RESEND", "SUPPRESS", NULL};
static const char *const prevent_values[] = {"LEGACY", "ENABLED", NULL};

static const char *pattern_text(enum field_pattern p)
{
    switch (p) {
    case P_POOL_ID:
        return "[\\w-]+_[0-9a-zA-Z]+";
    case P_CLIENT_ID:
        return "[\\w+]+";
    case P_NO_SPACE:
        return "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+";
    case P_PASSWORD:
        return "^[\\S]+.*[\\S]+$";
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

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
           ch == '\v';
}

static bool pattern_ok(enum field_pattern p, const char *s)
{
    size_t n = strlen(s);
    const char *us;

    switch (p) {
    case P_NONE:
        return true;
    case P_POOL_ID:
        us = strrchr(s, '_');
        if (!us || us == s || !us[1])
            return false;
        for (const char *q = s; q < us; q++)
            if (!is_word(*q) && *q != '-')
                return false;
        for (const char *q = us + 1; *q; q++)
            if (!is_word(*q) || *q == '_')
                return false;
        return true;
    case P_CLIENT_ID:
        for (const char *q = s; *q; q++)
            if (!is_word(*q) && *q != '+')
                return false;
        return n > 0;
    case P_NO_SPACE:
        for (const char *q = s; *q; q++)
            if (is_space(*q) || (unsigned char)*q < 0x20)
                return false;
        return n > 0;
    case P_PASSWORD:
        return n >= 2 && !is_space(s[0]) && !is_space(s[n - 1]);
    }
    return true;
}

/* AWS names members in lowerCamelCase in its validation messages. */
static void member_name(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s", name);
    if (out[0] >= 'A' && out[0] <= 'Z')
        out[0] = (char)(out[0] - 'A' + 'a');
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static bool type_ok(enum field_type t, const json_t *v);

/* Add one constraint failure to 'msgs' ("; " separated). */
static void add_violation(struct buf *msgs, int *count, const struct field *f,
                          const json_t *v, const char *constraint, ...)
    KAERI_PRINTF(5, 6);

static void add_violation(struct buf *msgs, int *count, const struct field *f,
                          const json_t *v, const char *constraint, ...)
{
    char member[64];
    va_list ap;

    member_name(f->name, member, sizeof(member));
    if (*count)
        (void)buf_adds(msgs, "; ");
    if (!v)
        (void)buf_printf(msgs, "Value null at '%s'", member);
    else if (!type_ok(f->type, v))
        (void)buf_printf(msgs, "Value at '%s'", member);
    else if (json_is_string(v) && !f->sensitive)
        (void)buf_printf(msgs, "Value '%s' at '%s'", json_string_value(v),
                         member);
    else if (json_is_integer(v))
        (void)buf_printf(msgs, "Value '%lld' at '%s'",
                         (long long)json_integer_value(v), member);
    else
        (void)buf_printf(msgs, "Value at '%s'", member);
    (void)buf_adds(msgs, " failed to satisfy constraint: ");
    va_start(ap, constraint);
    (void)buf_vprintf(msgs, constraint, ap);
    va_end(ap);
    (*count)++;
}

static const char *type_text(enum field_type t)
{
    static const char *const names[] = {
        [F_STR] = "a string",         [F_BOOL] = "a boolean",
        [F_INT] = "an integer",       [F_OBJ] = "an object",
        [F_MAP] = "a map of strings", [F_ARR] = "a list"};

    return names[t];
}

static bool type_ok(enum field_type t, const json_t *v)
{
    const char *key;
    json_t *item;

    switch (t) {
    case F_STR:
        return json_is_string(v);
    case F_BOOL:
        return json_is_boolean(v);
    case F_INT:
        return json_is_integer(v);
    case F_OBJ:
        return json_is_object(v);
    case F_MAP:
        if (!json_is_object(v))
            return false;
        json_object_foreach((json_t *)v, key,
                            item) if (!json_is_string(item)) return false;
        return true;
    case F_ARR:
        return json_is_array(v);
    }
    return false;
}

static void check_field(const struct field *f, const json_t *v,
                        struct buf *msgs, int *count)
{
    if (!v || json_is_null(v)) {
        if (f->required)
            add_violation(msgs, count, f, NULL, "Member must not be null");
        return;
    }
    if (!type_ok(f->type, v)) {
        add_violation(msgs, count, f, v, "Member must be %s",
                      type_text(f->type));
        return;
    }
    if (f->type == F_STR) {
        const char *s = json_string_value(v);
        json_int_t len = (json_int_t)utf8_len(s);

        if (len < f->min)
            add_violation(msgs, count, f, v,
                          "Member must have length greater than or equal to "
                          "%lld",
                          (long long)f->min);
        else if (f->max && len > f->max)
            add_violation(msgs, count, f, v,
                          "Member must have length less than or equal to %lld",
                          (long long)f->max);
        else if (!pattern_ok(f->pattern, s))
            add_violation(msgs, count, f, v,
                          "Member must satisfy regular expression pattern: %s",
                          pattern_text(f->pattern));
        if (f->values) {
            size_t i;
            struct buf set;

            for (i = 0; f->values[i]; i++)
                if (!strcmp(f->values[i], s))
                    break;
            if (f->values[i])
                return;
            buf_init(&set, 4096);
            for (i = 0; f->values[i]; i++)
                (void)buf_printf(&set, "%s%s", i ? ", " : "", f->values[i]);
            add_violation(msgs, count, f, v,
                          "Member must satisfy enum value set: [%s]", set.data);
            buf_release(&set);
        }
    } else if (f->type == F_INT) {
        json_int_t n = json_integer_value(v);

        if (n < f->min)
            add_violation(msgs, count, f, v,
                          "Member must have value greater than or equal to "
                          "%lld",
                          (long long)f->min);
        else if (f->max && n > f->max)
            add_violation(msgs, count, f, v,
                          "Member must have value less than or equal to %lld",
                          (long long)f->max);
    }
}

/* Check 'in' against 'fields'; false after answering with the errors. */
static bool validate(struct call *c, const struct field *fields)
{
    struct buf msgs;
    int count = 0;

    buf_init(&msgs, 8192);
    for (const struct field *f = fields; f && f->name; f++)
        check_field(f, json_object_get(c->in, f->name), &msgs, &count);
    if (count)
        fail(c, INVALID_PARAM, "%d validation error%s detected: %s", count,
             count == 1 ? "" : "s", msgs.data);
    buf_release(&msgs);
    return count == 0;
}

/* ---- sign-in ------------------------------------------------------------ */

static const char *param(const json_t *params, const char *key)
{
    return params ? json_string_value(json_object_get(params, key)) : NULL;
}

/* A required auth or challenge parameter, or NULL after answering. */
static const char *need_param(struct call *c, const json_t *params,
                              const char *key)
{
    const char *v = param(params, key);

    if (!v)
        fail(c, INVALID_PARAM, "Missing required parameter %s", key);
    return v;
}

/* spec/cognito.md section 3: SECRET_HASH on every call of a secret client. */
static bool secret_ok(struct call *c, const struct userpool_client *cl,
                      const char *username, const char *given)
{
    if (!cl->secret)
        return true;
    if (!given) {
        fail(c, NOT_AUTHORIZED,
             "Client %s is configured with secret but SECRET_HASH was not "
             "received",
             cl->id);
        return false;
    }
    if (!userpool_secret_hash_ok(cl, username, given)) {
        fail(c, NOT_AUTHORIZED, "Unable to verify secret hash for client %s",
             cl->id);
        return false;
    }
    return true;
}

static bool flow_ok(struct call *c, const struct userpool_client *cl,
                    unsigned mask, const char *flow)
{
    if (cl->flows & mask)
        return true;
    fail(c, INVALID_PARAM, "%s flow not enabled for this client", flow);
    return false;
}

static void fail_unknown_user(struct call *c, const struct userpool_client *cl)
{
    if (cl->prevent_user_existence_errors)
        fail(c, NOT_AUTHORIZED, BAD_CREDENTIALS);
    else
        fail(c, "UserNotFoundException", "User does not exist.");
}

/*
 * The status checks Cognito makes before it looks at the password
 * (spec/cognito.md section 2.1: UserNotConfirmedException comes first).
 */
static bool user_may_sign_in(struct call *c, const struct userpool_user *u)
{
    if (!u->enabled) {
        fail(c, NOT_AUTHORIZED, "User is disabled.");
        return false;
    }
    if (u->status == USERPOOL_UNCONFIRMED) {
        fail(c, "UserNotConfirmedException", "User is not confirmed.");
        return false;
    }
    if (u->status == USERPOOL_RESET_REQUIRED) {
        fail(c, "PasswordResetRequiredException",
             "Password reset required for the user");
        return false;
    }
    return true;
}

static bool password_matches(const struct userpool_user *u, const char *pw)
{
    size_t n = strlen(pw);

    return u->password && strlen(u->password) == n &&
           crypto_memeq(u->password, pw, n);
}

/*
 * The password is proven: answer NEW_PASSWORD_REQUIRED for a user whose
 * password is temporary, else tokens with a new refresh token.
 */
static void finish_sign_in(struct call *c, struct userpool *pool,
                           const struct userpool_client *cl,
                           struct userpool_user *u)
{
    struct userpool_session *s;
    json_t *result = NULL;

    if (u->status == USERPOOL_FORCE_CHANGE_PASSWORD) {
        struct userpool_challenge *ch;
        char *attrs;

        if (u->temp_password_expires && c->now > u->temp_password_expires) {
            fail(c, NOT_AUTHORIZED,
                 "Temporary password has expired and must be reset by an "
                 "administrator.");
            return;
        }
        ch = userpool_challenge_new(pool, USERPOOL_CHALLENGE_NEW_PASSWORD, cl,
                                    u, u->username, NULL, c->now);
        /* spec/cognito-srp.md section 8: both parameters as JSON text */
        attrs = json_dumps(u->attributes, JSON_COMPACT | JSON_PRESERVE_ORDER);
        reply_ok(c, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "ChallengeName",
                              "NEW_PASSWORD_REQUIRED", "Session", ch->handle,
                              "ChallengeParameters", "USER_ID_FOR_SRP",
                              u->username, "requiredAttributes", "[]",
                              "userAttributes", attrs ? attrs : "{}"));
        free(attrs);
        return;
    }
    s = userpool_session_new(pool, cl, u, c->now);
    if (userpool_mint(pool, s, c->now, true, &result)) {
        fail(c, "InternalErrorException", "could not sign the tokens");
        return;
    }
    reply_ok(c, json_pack("{s:{}, s:o}", "ChallengeParameters",
                          "AuthenticationResult", result));
}

/* USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, ADMIN_NO_SRP_AUTH. */
static void password_auth(struct call *c, struct userpool_client *cl,
                          const json_t *params, unsigned mask, const char *flow)
{
    const char *username, *password;
    struct userpool_user *u;

    if (!flow_ok(c, cl, mask, flow) ||
        !(username = need_param(c, params, "USERNAME")) ||
        !(password = need_param(c, params, "PASSWORD")) ||
        !secret_ok(c, cl, username, param(params, "SECRET_HASH")))
        return;
    u = userpool_find_user(cl->pool, username);
    if (!u) {
        fail_unknown_user(c, cl);
        return;
    }
    if (!user_may_sign_in(c, u))
        return;
    if (!password_matches(u, password)) {
        fail(c, NOT_AUTHORIZED, BAD_CREDENTIALS);
        return;
    }
    finish_sign_in(c, cl->pool, cl, u);
}

/* spec/cognito-srp.md section 4: InitiateAuth with USER_SRP_AUTH. */
static void srp_auth(struct call *c, struct userpool_client *cl,
                     const json_t *params)
{
    struct userpool *pool = cl->pool;
    const char *username, *srp_a;
    const char *password;
    struct userpool_user *u;
    struct srp_session *srp = NULL;
    struct userpool_challenge *ch;
    struct kaeri_error err = {0};
    unsigned char salt[SRP_SALT_LEN];
    char user_id[CRYPTO_UUID_LEN + 1];
    char decoy_pw[33];
    char salt_hex[2 * SRP_SALT_LEN + 1];
    const char *uid;

    if (!flow_ok(c, cl, USERPOOL_ALLOW_USER_SRP_AUTH, "USER_SRP_AUTH") ||
        !(username = need_param(c, params, "USERNAME")) ||
        !(srp_a = need_param(c, params, "SRP_A")) ||
        !secret_ok(c, cl, username, param(params, "SECRET_HASH")))
        return;
    u = userpool_find_user(pool, username);
    if (u) {
        if (!user_may_sign_in(c, u))
            return;
        memcpy(salt, u->salt, sizeof(salt));
        password = u->password ? u->password : "";
        uid = u->username;
    } else if (cl->prevent_user_existence_errors) {
        /* a challenge like any other that no password can answer */
        unsigned char r[16];

        userpool_decoy(pool, username, salt, user_id);
        crypto_random(r, sizeof(r));
        crypto_hex(r, sizeof(r), decoy_pw);
        password = decoy_pw;
        uid = user_id;
    } else {
        fail(c, "UserNotFoundException", "User does not exist.");
        return;
    }
    if (srp_begin(userpool_srp_name(pool), uid, password, salt, sizeof(salt),
                  srp_a, NULL, 0, &srp, &err)) {
        fail(c, INVALID_PARAM, "SRP_A is not valid: %s", err.text);
        return;
    }
    ch = userpool_challenge_new(pool, USERPOOL_CHALLENGE_PASSWORD_VERIFIER, cl,
                                u, uid, srp, c->now);
    crypto_hex(salt, sizeof(salt), salt_hex);
    reply_ok(c, json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "ChallengeName",
                          "PASSWORD_VERIFIER", "ChallengeParameters", "SALT",
                          salt_hex, "SRP_B", srp_b_hex(srp), "SECRET_BLOCK",
                          ch->handle, "USERNAME", uid, "USER_ID_FOR_SRP", uid));
}

/* REFRESH_TOKEN_AUTH: new ID and access tokens, the same refresh token. */
static void refresh_auth(struct call *c, struct userpool_client *cl,
                         const json_t *params)
{
    struct userpool_session *s;
    const char *token, *given;
    json_t *result = NULL;

    if (!flow_ok(c, cl, USERPOOL_ALLOW_REFRESH_TOKEN_AUTH,
                 "REFRESH_TOKEN_AUTH") ||
        !(token = need_param(c, params, "REFRESH_TOKEN")))
        return;
    s = userpool_session_by_token(cl->pool, token);
    if (!s || s->client != cl) {
        fail(c, NOT_AUTHORIZED, "Invalid Refresh Token");
        return;
    }
    /* spec section 3: the username, or for alias pools the sub */
    given = param(params, "SECRET_HASH");
    if (cl->secret && given && userpool_secret_hash_ok(cl, s->user->sub, given))
        ; /* computed over the sub: accepted */
    else if (!secret_ok(c, cl, s->user->username, given))
        return;
    if (s->revoked) {
        fail(c, NOT_AUTHORIZED, "Refresh Token has been revoked");
        return;
    }
    if (c->now >= s->expires) {
        fail(c, NOT_AUTHORIZED, "Refresh Token has expired");
        return;
    }
    if (!s->user->enabled) {
        fail(c, NOT_AUTHORIZED, "User is disabled.");
        return;
    }
    if (userpool_mint(cl->pool, s, c->now, false, &result)) {
        fail(c, "InternalErrorException", "could not sign the tokens");
        return;
    }
    reply_ok(c, json_pack("{s:{}, s:o}", "ChallengeParameters",
                          "AuthenticationResult", result));
}

static void initiate(struct call *c, struct userpool_client *cl, bool admin)
{
    const char *flow = in_str(c->in, "AuthFlow");
    const json_t *params = json_object_get(c->in, "AuthParameters");

    if (!strcmp(flow, "REFRESH_TOKEN_AUTH") || !strcmp(flow, "REFRESH_TOKEN"))
        refresh_auth(c, cl, params);
    else if (!strcmp(flow, "USER_SRP_AUTH"))
        srp_auth(c, cl, params);
    else if (!admin && !strcmp(flow, "USER_PASSWORD_AUTH"))
        password_auth(c, cl, params,
                      USERPOOL_ALLOW_USER_PASSWORD_AUTH |
                          USERPOOL_USER_PASSWORD_AUTH,
                      flow);
    else if (admin && (!strcmp(flow, "ADMIN_USER_PASSWORD_AUTH") ||
                       !strcmp(flow, "ADMIN_NO_SRP_AUTH")))
        password_auth(c, cl, params,
                      USERPOOL_ALLOW_ADMIN_USER_PASSWORD_AUTH |
                          USERPOOL_ADMIN_NO_SRP_AUTH,
                      flow);
    else
        fail(c, INVALID_PARAM, "Initiate Auth method not supported.");
}

static const struct field initiate_fields[] = {
    {"AuthFlow", F_STR, true, 0, 0, P_NONE, false, auth_flows},
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"AuthParameters", F_MAP, false, 0, 0, P_NONE, true, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"UserContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"Session", F_STR, false, 20, 2048, P_NONE, true, NULL},
    {0},
};

static void op_initiate_auth(struct call *c)
{
    struct userpool_client *cl = call_client(c, NULL);

    if (cl)
        initiate(c, cl, false);
}

static const struct field admin_initiate_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"AuthFlow", F_STR, true, 0, 0, P_NONE, false, auth_flows},
    {"AuthParameters", F_MAP, false, 0, 0, P_NONE, true, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"ContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_admin_initiate_auth(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_client *cl = pool ? call_client(c, pool) : NULL;

    if (cl)
        initiate(c, cl, true);
}

/* spec/cognito-srp.md section 6: the PASSWORD_VERIFIER answer. */
static void respond_password_verifier(struct call *c,
                                      struct userpool_client *cl,
                                      const json_t *resp)
{
    struct userpool *pool = cl->pool;
    const char *username, *block, *timestamp, *signature;
    struct userpool_challenge *ch;
    struct userpool_user *u;
    int64_t ts;
    bool ok;

    if (!(username = need_param(c, resp, "USERNAME")) ||
        !(block = need_param(c, resp, "PASSWORD_CLAIM_SECRET_BLOCK")) ||
        !(timestamp = need_param(c, resp, "TIMESTAMP")) ||
        !(signature = need_param(c, resp, "PASSWORD_CLAIM_SIGNATURE")))
        return;
    ch = userpool_challenge_find(pool, USERPOOL_CHALLENGE_PASSWORD_VERIFIER, cl,
                                 block, c->now);
    if (!ch) {
        fail(c, NOT_AUTHORIZED, BAD_CREDENTIALS);
        return;
    }
    if (!secret_ok(c, cl, username, param(resp, "SECRET_HASH")))
        return;
    u = ch->user;
    ok =
        u && (!strcmp(username, ch->user_id) || !strcmp(username, u->username));
    ok = ok && !srp_timestamp_parse(timestamp, &ts) &&
         llabs((long long)(ts - c->now)) <= pool->srp_skew_s;
    ok = ok &&
         !srp_verify(ch->srp, ch->raw, sizeof(ch->raw), timestamp, signature);
    /* single use, whatever the outcome */
    userpool_challenge_drop(pool, ch);
    if (!ok) {
        fail(c, NOT_AUTHORIZED, BAD_CREDENTIALS);
        return;
    }
    if (!u->enabled) {
        fail(c, NOT_AUTHORIZED, "User is disabled.");
        return;
    }
    finish_sign_in(c, pool, cl, u);
}

/* NEW_PASSWORD_REQUIRED after AdminCreateUser or a temporary password. */
static void respond_new_password(struct call *c, struct userpool_client *cl,
                                 const json_t *resp)
{
    struct userpool *pool = cl->pool;
    const char *session = in_str(c->in, "Session");
    const char *username, *password, *problem, *key;
    struct userpool_challenge *ch;
    struct userpool_user *u;
    json_t *value;

    if (!session) {
        fail(c, INVALID_PARAM, "Missing required parameter Session");
        return;
    }
    if (!(username = need_param(c, resp, "USERNAME")) ||
        !(password = need_param(c, resp, "NEW_PASSWORD")))
        return;
    ch = userpool_challenge_find(pool, USERPOOL_CHALLENGE_NEW_PASSWORD, cl,
                                 session, c->now);
    if (!ch) {
        fail(c, NOT_AUTHORIZED,
             "Invalid session for the user, session is expired.");
        return;
    }
    u = ch->user;
    if (strcmp(username, u->username) && strcmp(username, u->sub)) {
        fail(c, NOT_AUTHORIZED, "Invalid session for the user.");
        return;
    }
    if (!secret_ok(c, cl, username, param(resp, "SECRET_HASH")))
        return;
    if (strlen(password) > 256 || !pattern_ok(P_PASSWORD, password)) {
        fail(c, INVALID_PARAM,
             "1 validation error detected: Value at 'password' failed to "
             "satisfy constraint: Member must satisfy regular expression "
             "pattern: %s",
             pattern_text(P_PASSWORD));
        return;
    }
    problem = userpool_password_problem(&pool->policy, password);
    if (problem) {
        /* the session stays, so the user may try another password */
        fail(c, "InvalidPasswordException",
             "Password did not conform with policy: %s", problem);
        return;
    }
    json_object_foreach((json_t *)resp, key, value)
    {
        if (!strncmp(key, "userAttributes.", 15) && key[15] &&
            strcmp(key + 15, "sub"))
            (void)userpool_set_attribute(u, key + 15, json_string_value(value));
    }
    userpool_challenge_drop(pool, ch);
    userpool_set_password(pool, u, password, USERPOOL_CONFIRMED);
    u->modified = clock_now_epoch();
    finish_sign_in(c, pool, cl, u);
}

static void respond(struct call *c, struct userpool_client *cl)
{
    const char *name = in_str(c->in, "ChallengeName");
    const json_t *resp = json_object_get(c->in, "ChallengeResponses");

    if (!strcmp(name, "PASSWORD_VERIFIER"))
        respond_password_verifier(c, cl, resp);
    else if (!strcmp(name, "NEW_PASSWORD_REQUIRED"))
        respond_new_password(c, cl, resp);
    else
        fail(c, INVALID_PARAM, "Challenge %s is not supported.", name);
}

static const struct field respond_fields[] = {
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"ChallengeName", F_STR, true, 0, 0, P_NONE, false, challenge_names},
    {"Session", F_STR, false, 20, 2048, P_NONE, true, NULL},
    {"ChallengeResponses", F_MAP, false, 0, 0, P_NONE, true, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"UserContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_respond_to_auth_challenge(struct call *c)
{
    struct userpool_client *cl = call_client(c, NULL);

    if (cl)
        respond(c, cl);
}

static const struct field admin_respond_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"ChallengeName", F_STR, true, 0, 0, P_NONE, false, challenge_names},
    {"Session", F_STR, false, 20, 2048, P_NONE, true, NULL},
    {"ChallengeResponses", F_MAP, false, 0, 0, P_NONE, true, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"ContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_admin_respond_to_auth_challenge(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_client *cl = pool ? call_client(c, pool) : NULL;

    if (cl)
        respond(c, cl);
}

/* ---- access tokens --------------------------------------------------------
 */

/*
 * The user an access token (GetUser, GlobalSignOut) belongs to, checked as
 * Cognito checks its own tokens: signature by an access key, issuer,
 * expiry, then revocation (spec/cognito.md section 2, GlobalSignOut).
 * NULL after answering.
 */
static struct userpool_user *token_user(struct call *c, struct userpool **pp)
{
    const char *token = in_str(c->in, "AccessToken");
    struct jwt jwt = {0};
    struct userpool *pool;
    struct userpool_user *u = NULL;
    struct userpool_session *s;
    const char *kid, *use, *iss, *jti, *username, *sub;
    json_t *exp;
    bool is_id_key = false;

    if (jwt_verify(token, strlen(token), cognito_key_lookup, NULL, &jwt,
                   NULL)) {
        fail(c, NOT_AUTHORIZED, "Invalid Access Token");
        return NULL;
    }
    kid = json_string_value(json_object_get(jwt.header, "kid"));
    pool = kid ? pool_by_kid(kid, &is_id_key) : NULL;
    use = json_string_value(json_object_get(jwt.claims, "token_use"));
    iss = json_string_value(json_object_get(jwt.claims, "iss"));
    exp = json_object_get(jwt.claims, "exp");
    jti = json_string_value(json_object_get(jwt.claims, "origin_jti"));
    username = json_string_value(json_object_get(jwt.claims, "username"));
    sub = json_string_value(json_object_get(jwt.claims, "sub"));
    if (!pool || is_id_key || !use || strcmp(use, "access") || !iss ||
        strcmp(iss, pool->issuer) || !json_is_integer(exp) || !username ||
        !sub) {
        fail(c, NOT_AUTHORIZED, "Invalid Access Token");
        goto out;
    }
    if (json_integer_value(exp) <= c->now) {
        fail(c, NOT_AUTHORIZED, "Access Token has expired");
        goto out;
    }
    s = jti ? userpool_session_by_jti(pool, jti) : NULL;
    if (s && s->revoked) {
        fail(c, NOT_AUTHORIZED, "Access Token has been revoked");
        goto out;
    }
    u = userpool_find_user(pool, username);
    if (!u || strcmp(u->sub, sub)) {
        u = NULL;
        fail(c, "UserNotFoundException", "User does not exist.");
        goto out;
    }
    if (!u->enabled) {
        u = NULL;
        fail(c, NOT_AUTHORIZED, "User is disabled.");
        goto out;
    }
    *pp = pool;
out:
    jwt_release(&jwt);
    return u;
}

static const struct field access_token_fields[] = {
    {"AccessToken", F_STR, true, 1, 0, P_NONE, true, NULL},
    {0},
};

static void op_get_user(struct call *c)
{
    struct userpool *pool = NULL;
    struct userpool_user *u = token_user(c, &pool);

    if (!u)
        return;
    reply_ok(c, json_pack("{s:s, s:o}", "Username", u->username,
                          "UserAttributes", userpool_user_attributes_json(u)));
}

static void op_global_sign_out(struct call *c)
{
    struct userpool *pool = NULL;
    struct userpool_user *u = token_user(c, &pool);

    if (!u)
        return;
    userpool_sign_out(pool, u);
    log_info("cognito: pool '%s': user '%s' signed out globally", pool->id,
             u->username);
    reply_ok(c, json_object());
}

/* ---- sign-up ---------------------------------------------------------- */

/*
 * Read a UserAttributes list into a temporary object (name -> value).
 * false after answering. "sub" is refused as AWS refuses it.
 */
static bool read_attributes(struct call *c, const json_t *list, json_t **out)
{
    size_t i;
    json_t *item;

    *out = json_object();
    json_array_foreach(list, i, item)
    {
        const char *name = in_str(item, "Name");
        json_t *value = json_object_get(item, "Value");

        if (!json_is_object(item) || !name || !*name || strlen(name) > 32 ||
            (value && !json_is_null(value) && !json_is_string(value))) {
            fail(c, INVALID_PARAM,
                 "1 validation error detected: Value at "
                 "'userAttributes.%zu.member.name' failed to satisfy "
                 "constraint: Member must not be null",
                 i + 1);
            goto bad;
        }
        if (!strcmp(name, "sub")) {
            fail(c, INVALID_PARAM,
                 "Cannot modify the non-mutable attribute sub");
            goto bad;
        }
        json_object_set_new(
            *out, name,
            json_string(json_is_string(value) ? json_string_value(value) : ""));
    }
    return true;
bad:
    json_decref(*out);
    *out = NULL;
    return false;
}

static void set_attributes(struct userpool_user *u, const json_t *attrs)
{
    const char *name;
    json_t *value;

    json_object_foreach((json_t *)attrs, name, value)(void)
        userpool_set_attribute(u, name, json_string_value(value));
}

/* "a***@e***" as Cognito masks a delivery address. */
static json_t *delivery_details(const struct userpool_user *u)
{
    const char *email = in_str(u->attributes, "email");
    const char *at;
    char masked[160];

    if (!email || !(at = strchr(email, '@')) || at == email)
        return NULL;
    snprintf(masked, sizeof(masked), "%c***@%c***", email[0],
             at[1] ? at[1] : '*');
    return json_pack("{s:s, s:s, s:s}", "Destination", masked, "DeliveryMedium",
                     "EMAIL", "AttributeName", "email");
}

static bool password_ok(struct call *c, const struct userpool *pool,
                        const char *password)
{
    const char *problem = userpool_password_problem(&pool->policy, password);

    if (problem)
        fail(c, "InvalidPasswordException",
             "Password did not conform with policy: %s", problem);
    return !problem;
}

static const struct field sign_up_fields[] = {
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"SecretHash", F_STR, false, 1, 128, P_NONE, true, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"Password", F_STR, true, 1, 256, P_PASSWORD, true, NULL},
    {"UserAttributes", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"ValidationData", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"UserContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_sign_up(struct call *c)
{
    struct userpool_client *cl = call_client(c, NULL);
    const char *username = in_str(c->in, "Username");
    const char *password = in_str(c->in, "Password");
    struct userpool_user *u;
    struct userpool_code *code;
    json_t *attrs = NULL, *out, *details;

    if (!cl || !secret_ok(c, cl, username, in_str(c->in, "SecretHash")))
        return;
    if (!read_attributes(c, json_object_get(c->in, "UserAttributes"), &attrs))
        return;
    if (userpool_find_user(cl->pool, username)) {
        fail(c, "UsernameExistsException", "User already exists");
        goto out;
    }
    if (!password_ok(c, cl->pool, password))
        goto out;
    u = userpool_add_user(cl->pool, username, NULL);
    set_attributes(u, attrs);
    userpool_set_password(cl->pool, u, password, USERPOOL_UNCONFIRMED);
    u->created = u->modified = clock_now_epoch();
    code = userpool_code_new(cl->pool, username, "SIGN_UP", NULL, c->now,
                             USERPOOL_CODE_TTL);
    log_info("cognito: pool '%s': sign-up code for '%s' is %s (also at "
             "GET " CODES_PATH ")",
             cl->pool->id, username, code->code);
    out = json_pack("{s:b, s:s}", "UserConfirmed", 0, "UserSub", u->sub);
    details = delivery_details(u);
    if (details)
        json_object_set_new(out, "CodeDeliveryDetails", details);
    reply_ok(c, out);
out:
    json_decref(attrs);
}

static const struct field confirm_sign_up_fields[] = {
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {"SecretHash", F_STR, false, 1, 128, P_NONE, true, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"ConfirmationCode", F_STR, true, 1, 2048, P_NO_SPACE, false, NULL},
    {"ForceAliasCreation", F_BOOL, false, 0, 0, P_NONE, false, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"AnalyticsMetadata", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"UserContextData", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {"Session", F_STR, false, 20, 2048, P_NONE, true, NULL},
    {0},
};

/* Confirm 'u' with 'given'; false after answering. */
static bool confirm_with_code(struct call *c, struct userpool *pool,
                              struct userpool_user *u, const char *given)
{
    struct userpool_code *code;

    if (u->status != USERPOOL_UNCONFIRMED) {
        fail(c, NOT_AUTHORIZED,
             "User cannot be confirmed. Current status is %s",
             userpool_status_name(u->status));
        return false;
    }
    code = userpool_code_find(pool, u->username, "SIGN_UP");
    if (!code || code->used || strlen(code->code) != strlen(given) ||
        !crypto_memeq(code->code, given, strlen(given))) {
        fail(c, "CodeMismatchException",
             "Invalid verification code provided, please try again.");
        return false;
    }
    if (c->now >= code->expires) {
        fail(c, "ExpiredCodeException",
             "Invalid code provided, please request a code again.");
        return false;
    }
    code->used = true;
    return true;
}

static void mark_confirmed(struct userpool_user *u)
{
    u->status = USERPOOL_CONFIRMED;
    if (json_object_get(u->attributes, "email"))
        (void)userpool_set_attribute(u, "email_verified", "true");
    u->modified = clock_now_epoch();
}

static void op_confirm_sign_up(struct call *c)
{
    struct userpool_client *cl = call_client(c, NULL);
    const char *username = in_str(c->in, "Username");
    struct userpool_user *u;

    if (!cl || !secret_ok(c, cl, username, in_str(c->in, "SecretHash")))
        return;
    u = userpool_find_user(cl->pool, username);
    if (!u) {
        fail(c, "UserNotFoundException", "User does not exist.");
        return;
    }
    if (!confirm_with_code(c, cl->pool, u, in_str(c->in, "ConfirmationCode")))
        return;
    mark_confirmed(u);
    reply_ok(c, json_object());
}

/* ---- admin: users ------------------------------------------------------- */

static json_t *user_json(const struct userpool_user *u, const char *attr_key)
{
    return json_pack("{s:s, s:o, s:f, s:f, s:b, s:s}", "Username", u->username,
                     attr_key, userpool_user_attributes_json(u),
                     "UserCreateDate", u->created, "UserLastModifiedDate",
                     u->modified, "Enabled", u->enabled, "UserStatus",
                     userpool_status_name(u->status));
}

/*
 * A random password that any policy accepts: every character class, and
 * at least 16 characters or the pool's minimum length.
 */
static void make_temp_password(const struct userpool_policy *policy,
                               char out[100])
{
    static const char *const sets[] = {"ABCDEFGHJKLMNPQRSTUVWXYZ",
                                       "abcdefghijkmnopqrstuvwxyz", "23456789",
                                       "!#%&*+-=?@^_"};
    size_t n = policy->min_length > 16 ? (size_t)policy->min_length : 16;
    unsigned char r[99];

    crypto_random(r, n);
    for (size_t i = 0; i < n; i++) {
        const char *set = sets[i % ARRAY_SIZE(sets)];

        out[i] = set[r[i] % strlen(set)];
    }
    out[n] = '\0';
}

static const struct field admin_create_user_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"UserAttributes", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"ValidationData", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"TemporaryPassword", F_STR, false, 1, 256, P_PASSWORD, true, NULL},
    {"ForceAliasCreation", F_BOOL, false, 0, 0, P_NONE, false, NULL},
    {"MessageAction", F_STR, false, 0, 0, P_NONE, false, message_actions},
    {"DesiredDeliveryMediums", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"ClientMetadata", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_admin_create_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    const char *username = in_str(c->in, "Username");
    const char *temp = in_str(c->in, "TemporaryPassword");
    const char *action = in_str(c->in, "MessageAction");
    bool resend = action && !strcmp(action, "RESEND");
    struct userpool_user *u;
    json_t *attrs = NULL;
    char generated[100];

    if (!pool)
        return;
    if (!read_attributes(c, json_object_get(c->in, "UserAttributes"), &attrs))
        return;
    u = userpool_find_user(pool, username);
    if (resend && !u) {
        fail(c, "UserNotFoundException", "User does not exist.");
        goto out;
    }
    if (!resend && u) {
        fail(c, "UsernameExistsException", "User account already exists");
        goto out;
    }
    if (resend && u->status != USERPOOL_FORCE_CHANGE_PASSWORD) {
        fail(c, "UnsupportedUserStateException",
             "Resend not possible. %s status is not FORCE_CHANGE_PASSWORD",
             username);
        goto out;
    }
    if (temp && !password_ok(c, pool, temp))
        goto out;
    if (!temp) {
        /* AWS mails one; kaeri lists it at GET /_kaeri/cognito/codes */
        make_temp_password(&pool->policy, generated);
        temp = generated;
        (void)userpool_code_new(
            pool, username, "TEMPORARY_PASSWORD", temp, c->now,
            (int64_t)pool->policy.temp_validity_days * 86400);
        log_info("cognito: pool '%s': temporary password for '%s' listed at "
                 "GET " CODES_PATH,
                 pool->id, username);
    }
    if (!u) {
        u = userpool_add_user(pool, username, NULL);
        u->created = clock_now_epoch();
    }
    set_attributes(u, attrs);
    userpool_set_password(pool, u, temp, USERPOOL_FORCE_CHANGE_PASSWORD);
    if (pool->policy.temp_validity_days)
        u->temp_password_expires =
            c->now + (int64_t)pool->policy.temp_validity_days * 86400;
    u->modified = clock_now_epoch();
    reply_ok(c, json_pack("{s:o}", "User", user_json(u, "Attributes")));
out:
    json_decref(attrs);
}

static const struct field admin_set_password_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"Password", F_STR, true, 1, 256, P_PASSWORD, true, NULL},
    {"Permanent", F_BOOL, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_admin_set_user_password(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;
    const char *password = in_str(c->in, "Password");
    bool permanent = json_is_true(json_object_get(c->in, "Permanent"));

    if (!u || !password_ok(c, pool, password))
        return;
    userpool_set_password(pool, u, password,
                          permanent ? USERPOOL_CONFIRMED
                                    : USERPOOL_FORCE_CHANGE_PASSWORD);
    if (!permanent && pool->policy.temp_validity_days)
        u->temp_password_expires =
            c->now + (int64_t)pool->policy.temp_validity_days * 86400;
    u->modified = clock_now_epoch();
    reply_ok(c, json_object());
}

static const struct field pool_user_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {0},
};

static void op_admin_get_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (u)
        reply_ok(c, user_json(u, "UserAttributes"));
}

static void op_admin_delete_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (!u)
        return;
    userpool_delete_user(pool, u);
    reply_ok(c, json_object());
}

static void op_admin_disable_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (!u)
        return;
    u->enabled = false;
    u->modified = clock_now_epoch();
    reply_ok(c, json_object());
}

static void op_admin_enable_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (!u)
        return;
    u->enabled = true;
    u->modified = clock_now_epoch();
    reply_ok(c, json_object());
}

static void op_admin_confirm_sign_up(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (!u)
        return;
    if (u->status != USERPOOL_UNCONFIRMED) {
        fail(c, NOT_AUTHORIZED,
             "User cannot be confirmed. Current status is %s",
             userpool_status_name(u->status));
        return;
    }
    mark_confirmed(u);
    reply_ok(c, json_object());
}

static void op_admin_user_global_sign_out(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;

    if (!u)
        return;
    userpool_sign_out(pool, u);
    reply_ok(c, json_object());
}

/* ---- admin: groups ---------------------------------------------------- */

static json_t *group_json(const struct userpool *pool,
                          const struct userpool_group *g)
{
    json_t *o =
        json_pack("{s:s, s:s}", "GroupName", g->name, "UserPoolId", pool->id);

    if (g->description)
        json_object_set_new(o, "Description", json_string(g->description));
    if (g->role_arn)
        json_object_set_new(o, "RoleArn", json_string(g->role_arn));
    if (g->has_precedence)
        json_object_set_new(o, "Precedence", json_integer(g->precedence));
    json_object_set_new(o, "LastModifiedDate", json_real(g->modified));
    json_object_set_new(o, "CreationDate", json_real(g->created));
    return o;
}

static const struct field create_group_fields[] = {
    {"GroupName", F_STR, true, 1, 128, P_NO_SPACE, false, NULL},
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Description", F_STR, false, 0, 2048, P_NONE, false, NULL},
    {"RoleArn", F_STR, false, 20, 2048, P_NONE, false, NULL},
    {"Precedence", F_INT, false, 0, 2147483647, P_NONE, false, NULL},
    {0},
};

static void op_create_group(struct call *c)
{
    struct userpool *pool = call_pool(c);
    const char *name = in_str(c->in, "GroupName");
    const char *desc = in_str(c->in, "Description");
    const char *role = in_str(c->in, "RoleArn");
    json_t *prec = json_object_get(c->in, "Precedence");
    struct userpool_group *g;

    if (!pool)
        return;
    g = userpool_add_group(pool, name);
    if (!g) {
        fail(c, "GroupExistsException",
             "A group with the name %s already exists.", name);
        return;
    }
    g->description = desc ? xstrdup(desc) : NULL;
    g->role_arn = role ? xstrdup(role) : NULL;
    g->has_precedence = json_is_integer(prec);
    g->precedence = g->has_precedence ? json_integer_value(prec) : 0;
    g->created = g->modified = clock_now_epoch();
    reply_ok(c, json_pack("{s:o}", "Group", group_json(pool, g)));
}

static const struct field user_group_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"GroupName", F_STR, true, 1, 128, P_NO_SPACE, false, NULL},
    {0},
};

static struct userpool_group *call_group(struct call *c, struct userpool *pool)
{
    struct userpool_group *g =
        userpool_find_group(pool, in_str(c->in, "GroupName"));

    if (!g)
        fail(c, "ResourceNotFoundException", "Group not found.");
    return g;
}

static void op_admin_add_user_to_group(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;
    struct userpool_group *g = u ? call_group(c, pool) : NULL;

    if (!g)
        return;
    userpool_join(u, g);
    reply_ok(c, json_object());
}

static void op_admin_remove_user_from_group(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;
    struct userpool_group *g = u ? call_group(c, pool) : NULL;

    if (!g)
        return;
    userpool_leave(u, g);
    reply_ok(c, json_object());
}

/*
 * Pagination: NextToken is the decimal index of the next item. 'start' and
 * 'end' bound the page; false after answering a bad token.
 */
static bool page(struct call *c, const char *limit_key, size_t total,
                 size_t *start, size_t *end)
{
    const char *token = in_str(c->in, "NextToken");
    json_t *limit = json_object_get(c->in, limit_key);
    size_t max = json_is_integer(limit) && json_integer_value(limit) > 0
                     ? (size_t)json_integer_value(limit)
                     : 60;
    char *endp;
    unsigned long long at = 0;

    if (token) {
        errno = 0;
        at = strtoull(token, &endp, 10);
        if (!*token || *endp || errno || at > total) {
            fail(c, INVALID_PARAM, "Invalid pagination token");
            return false;
        }
    }
    *start = (size_t)at;
    *end = *start + max < total ? *start + max : total;
    return true;
}

static void add_next_token(json_t *out, size_t end, size_t total)
{
    char token[32];

    if (end >= total)
        return;
    snprintf(token, sizeof(token), "%zu", end);
    json_object_set_new(out, "NextToken", json_string(token));
}

static const struct field list_groups_for_user_fields[] = {
    {"Username", F_STR, true, 1, 128, P_NO_SPACE, true, NULL},
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Limit", F_INT, false, 0, 60, P_NONE, false, NULL},
    {"NextToken", F_STR, false, 1, 0, P_NONE, false, NULL},
    {0},
};

static void op_admin_list_groups_for_user(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_user *u = pool ? call_user(c, pool) : NULL;
    size_t start, end;
    json_t *out, *list;

    if (!u || !page(c, "Limit", u->ngroups, &start, &end))
        return;
    list = json_array();
    for (size_t i = start; i < end; i++)
        json_array_append_new(list, group_json(pool, u->groups[i]));
    out = json_pack("{s:o}", "Groups", list);
    add_next_token(out, end, u->ngroups);
    reply_ok(c, out);
}

static const struct field list_groups_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"Limit", F_INT, false, 0, 60, P_NONE, false, NULL},
    {"NextToken", F_STR, false, 1, 0, P_NONE, false, NULL},
    {0},
};

static void op_list_groups(struct call *c)
{
    struct userpool *pool = call_pool(c);
    size_t start, end;
    json_t *out, *list;

    if (!pool || !page(c, "Limit", pool->ngroups, &start, &end))
        return;
    list = json_array();
    for (size_t i = start; i < end; i++)
        json_array_append_new(list, group_json(pool, pool->groups[i]));
    out = json_pack("{s:o}", "Groups", list);
    add_next_token(out, end, pool->ngroups);
    reply_ok(c, out);
}

/* ---- pools and clients -------------------------------------------------- */

static json_t *policy_json(const struct userpool_policy *p)
{
    return json_pack("{s:{s:i, s:b, s:b, s:b, s:b, s:i}}", "PasswordPolicy",
                     "MinimumLength", p->min_length, "RequireUppercase",
                     p->require_uppercase, "RequireLowercase",
                     p->require_lowercase, "RequireNumbers", p->require_numbers,
                     "RequireSymbols", p->require_symbols,
                     "TemporaryPasswordValidityDays", p->temp_validity_days);
}

static json_t *pool_json(const struct userpool *pool)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:{}, s:f, s:f, s:I, s:s, s:[], "
                     "s:{s:b, s:i}}",
                     "Id", pool->id, "Name", pool->name, "Arn", pool->arn,
                     "Policies", policy_json(&pool->policy), "LambdaConfig",
                     "LastModifiedDate", pool->modified, "CreationDate",
                     pool->created, "EstimatedNumberOfUsers",
                     (json_int_t)pool->nusers, "MfaConfiguration", "OFF",
                     "AutoVerifiedAttributes", "AdminCreateUserConfig",
                     "AllowAdminCreateUserOnly", 0, "UnusedAccountValidityDays",
                     pool->policy.temp_validity_days);
}

/*
 * Read Policies.PasswordPolicy of CreateUserPool into 'p'; false after
 * answering. Members AWS checks: MinimumLength 6..99, validity 0..365.
 */
static bool read_policy(struct call *c, struct userpool_policy *p)
{
    const json_t *pp =
        json_object_get(json_object_get(c->in, "Policies"), "PasswordPolicy");
    static const struct {
        const char *name;
        size_t offset;
    } bools[] = {
        {"RequireUppercase",
         offsetof(struct userpool_policy, require_uppercase)},
        {"RequireLowercase",
         offsetof(struct userpool_policy, require_lowercase)},
        {"RequireNumbers", offsetof(struct userpool_policy, require_numbers)},
        {"RequireSymbols", offsetof(struct userpool_policy, require_symbols)},
    };
    json_t *v;

    userpool_policy_default(p);
    if (!pp)
        return true;
    if (!json_is_object(pp))
        goto bad;
    /* an explicit policy starts from "nothing required", as on AWS */
    p->require_uppercase = p->require_lowercase = false;
    p->require_numbers = p->require_symbols = false;
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
        v = json_object_get(pp, bools[i].name);
        if (v && !json_is_boolean(v))
            goto bad;
        *(bool *)((char *)p + bools[i].offset) = json_is_true(v);
    }
    v = json_object_get(pp, "MinimumLength");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 6 ||
              json_integer_value(v) > 99))
        goto bad;
    if (v)
        p->min_length = (int)json_integer_value(v);
    v = json_object_get(pp, "TemporaryPasswordValidityDays");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
              json_integer_value(v) > 365))
        goto bad;
    if (v)
        p->temp_validity_days = (int)json_integer_value(v);
    return true;
bad:
    fail(c, INVALID_PARAM,
         "1 validation error detected: Value at 'policies.passwordPolicy' "
         "failed to satisfy constraint: MinimumLength 6..99, Require* "
         "booleans, TemporaryPasswordValidityDays 0..365");
    return false;
}

static enum kaeri_err pool_keys(const char *id, struct crypto_key **id_key,
                                struct crypto_key **access_key,
                                struct kaeri_error *err);
static struct userpool *pool_create(const char *id, const char *name,
                                    bool issuer_aws, struct crypto_key *idk,
                                    struct crypto_key *ack);

static const struct field create_pool_fields[] = {
    {"PoolName", F_STR, true, 1, 128, P_NO_SPACE, false, NULL},
    {"Policies", F_OBJ, false, 0, 0, P_NONE, false, NULL},
    {0},
};

static void op_create_user_pool(struct call *c)
{
    struct userpool_policy policy;
    struct crypto_key *idk = NULL, *ack = NULL;
    struct kaeri_error err = {0};
    struct userpool *pool;
    char id[64], suffix[10];

    if (!read_policy(c, &policy))
        return;
    do {
        static const char alnum[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char r[9];

        crypto_random(r, sizeof(r));
        for (size_t i = 0; i < 9; i++)
            suffix[i] = alnum[r[i] % (sizeof(alnum) - 1)];
        suffix[9] = '\0';
        snprintf(id, sizeof(id), "%s_%s", cg.region, suffix);
    } while (find_pool(id));
    if (pool_keys(id, &idk, &ack, &err)) {
        log_error("cognito: keys for pool '%s': %s: %s", id, err.where,
                  err.text);
        fail(c, "InternalErrorException", "could not create the pool's keys");
        return;
    }
    pool = pool_create(id, in_str(c->in, "PoolName"), false, idk, ack);
    pool->policy = policy;
    reply_ok(c, json_pack("{s:o}", "UserPool", pool_json(pool)));
}

static const struct field pool_id_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {0},
};

static void op_describe_user_pool(struct call *c)
{
    struct userpool *pool = call_pool(c);

    if (pool)
        reply_ok(c, json_pack("{s:o}", "UserPool", pool_json(pool)));
}

static const struct field list_pools_fields[] = {
    {"NextToken", F_STR, false, 1, 0, P_NONE, false, NULL},
    {"MaxResults", F_INT, true, 1, 60, P_NONE, false, NULL},
    {0},
};

static void op_list_user_pools(struct call *c)
{
    size_t start, end;
    json_t *list, *out;

    if (!page(c, "MaxResults", cg.npools, &start, &end))
        return;
    list = json_array();
    for (size_t i = start; i < end; i++) {
        const struct userpool *p = cg.pools[i];

        json_array_append_new(
            list, json_pack("{s:s, s:s, s:{}, s:f, s:f}", "Id", p->id, "Name",
                            p->name, "LambdaConfig", "LastModifiedDate",
                            p->modified, "CreationDate", p->created));
    }
    out = json_pack("{s:o}", "UserPools", list);
    add_next_token(out, end, cg.npools);
    reply_ok(c, out);
}

static json_t *client_json(const struct userpool_client *cl)
{
    const struct userpool_validity *v = &cl->validity;
    json_t *o = json_pack("{s:s, s:s, s:s}", "UserPoolId", cl->pool->id,
                          "ClientName", cl->name, "ClientId", cl->id);

    if (cl->secret)
        json_object_set_new(o, "ClientSecret", json_string(cl->secret));
    json_object_set_new(o, "LastModifiedDate", json_real(cl->modified));
    json_object_set_new(o, "CreationDate", json_real(cl->created));
    json_object_set_new(o, "RefreshTokenValidity",
                        json_integer(v->refresh_value));
    json_object_set_new(o, "AccessTokenValidity",
                        json_integer(v->access_value));
    json_object_set_new(o, "IdTokenValidity", json_integer(v->id_value));
    json_object_set_new(o, "TokenValidityUnits",
                        json_pack("{s:s, s:s, s:s}", "AccessToken",
                                  v->access_unit, "IdToken", v->id_unit,
                                  "RefreshToken", v->refresh_unit));
    json_object_set_new(o, "ExplicitAuthFlows", userpool_flows_json(cl->flows));
    json_object_set_new(
        o, "PreventUserExistenceErrors",
        json_string(cl->prevent_user_existence_errors ? "ENABLED" : "LEGACY"));
    json_object_set_new(o, "AllowedOAuthFlowsUserPoolClient", json_false());
    json_object_set_new(o, "EnableTokenRevocation", json_true());
    json_object_set_new(o, "AuthSessionValidity", json_integer(3));
    return o;
}

/*
 * One lifetime of CreateUserPoolClient: 'value' in 'unit' (default unit
 * 'def_unit'), within [min_s, max_s] seconds. false after answering.
 */
static bool read_validity(struct call *c, const char *value_key,
                          const char *unit_key, const char *def_unit,
                          int64_t min_s, int64_t max_s, int64_t *value,
                          const char **unit, int64_t *seconds)
{
    static const char *const unit_names[] = {"seconds", "minutes", "hours",
                                             "days"};
    json_t *units = json_object_get(c->in, "TokenValidityUnits");
    json_t *v = json_object_get(c->in, value_key);
    const char *u = in_str(units, unit_key);
    int64_t per;

    if (!v)
        return true;
    if (!u)
        u = def_unit;
    per = userpool_unit_seconds(u);
    if (!per) {
        fail(c, INVALID_PARAM,
             "1 validation error detected: Value '%s' at "
             "'tokenValidityUnits.%s' failed to satisfy constraint: Member "
             "must satisfy enum value set: [seconds, minutes, hours, days]",
             u, unit_key);
        return false;
    }
    if (json_integer_value(v) * per < min_s ||
        json_integer_value(v) * per > max_s) {
        fail(c, INVALID_PARAM,
             "Invalid range for token validity: %s must be between %lld and "
             "%lld seconds",
             value_key, (long long)min_s, (long long)max_s);
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(unit_names); i++)
        if (!strcmp(u, unit_names[i]))
            *unit = unit_names[i];
    *value = json_integer_value(v);
    *seconds = *value * per;
    return true;
}

static const struct field create_client_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"ClientName", F_STR, true, 1, 128, P_NONE, false, NULL},
    {"GenerateSecret", F_BOOL, false, 0, 0, P_NONE, false, NULL},
    {"RefreshTokenValidity", F_INT, false, 0, 315360000, P_NONE, false, NULL},
    {"AccessTokenValidity", F_INT, false, 1, 86400, P_NONE, false, NULL},
    {"IdTokenValidity", F_INT, false, 1, 86400, P_NONE, false, NULL},
    {"TokenValidityUnits", F_MAP, false, 0, 0, P_NONE, false, NULL},
    {"ExplicitAuthFlows", F_ARR, false, 0, 0, P_NONE, false, NULL},
    {"PreventUserExistenceErrors", F_STR, false, 0, 0, P_NONE, false,
     prevent_values},
    {0},
};

static void op_create_user_pool_client(struct call *c)
{
    struct userpool *pool = call_pool(c);
    const json_t *flows = json_object_get(c->in, "ExplicitAuthFlows");
    const char *prevent = in_str(c->in, "PreventUserExistenceErrors");
    struct userpool_validity v;
    struct userpool_client *cl;
    char id[27], secret[52];
    unsigned mask = 0;
    size_t i;
    json_t *f;

    if (!pool)
        return;
    userpool_validity_default(&v);
    if (!read_validity(c, "IdTokenValidity", "IdToken", "hours", 300, 86400,
                       &v.id_value, &v.id_unit, &v.id_s) ||
        !read_validity(c, "AccessTokenValidity", "AccessToken", "hours", 300,
                       86400, &v.access_value, &v.access_unit, &v.access_s) ||
        !read_validity(c, "RefreshTokenValidity", "RefreshToken", "days", 3600,
                       315360000, &v.refresh_value, &v.refresh_unit,
                       &v.refresh_s))
        return;
    if (flows) {
        json_array_foreach(flows, i, f)
        {
            unsigned flag = json_is_string(f)
                                ? userpool_flow_parse(json_string_value(f))
                                : 0;

            if (!flag) {
                fail(c, INVALID_PARAM,
                     "1 validation error detected: Value at "
                     "'explicitAuthFlows' failed to satisfy constraint: "
                     "Member must satisfy enum value set");
                return;
            }
            mask |= flag;
        }
    } else {
        /* the API's default when ExplicitAuthFlows is left out */
        mask = USERPOOL_ALLOW_USER_SRP_AUTH | USERPOOL_ALLOW_CUSTOM_AUTH |
               USERPOOL_ALLOW_REFRESH_TOKEN_AUTH;
    }
    do
        userpool_make_client_id(id);
    while (find_client_any(id));
    if (json_is_true(json_object_get(c->in, "GenerateSecret")))
        userpool_make_client_secret(secret);
    cl = userpool_add_client(
        pool, id, in_str(c->in, "ClientName"),
        json_is_true(json_object_get(c->in, "GenerateSecret")) ? secret : NULL);
    cl->flows = mask;
    cl->validity = v;
    /* the API's default is LEGACY (see the top of this file) */
    cl->prevent_user_existence_errors = prevent && !strcmp(prevent, "ENABLED");
    cl->created = cl->modified = clock_now_epoch();
    reply_ok(c, json_pack("{s:o}", "UserPoolClient", client_json(cl)));
}

static const struct field pool_client_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"ClientId", F_STR, true, 1, 128, P_CLIENT_ID, true, NULL},
    {0},
};

static void op_describe_user_pool_client(struct call *c)
{
    struct userpool *pool = call_pool(c);
    struct userpool_client *cl = pool ? call_client(c, pool) : NULL;

    if (cl)
        reply_ok(c, json_pack("{s:o}", "UserPoolClient", client_json(cl)));
}

static const struct field list_clients_fields[] = {
    {"UserPoolId", F_STR, true, 1, 55, P_POOL_ID, false, NULL},
    {"MaxResults", F_INT, false, 1, 60, P_NONE, false, NULL},
    {"NextToken", F_STR, false, 1, 0, P_NONE, false, NULL},
    {0},
};

static void op_list_user_pool_clients(struct call *c)
{
    struct userpool *pool = call_pool(c);
    size_t start, end;
    json_t *list, *out;

    if (!pool || !page(c, "MaxResults", pool->nclients, &start, &end))
        return;
    list = json_array();
    for (size_t i = start; i < end; i++) {
        const struct userpool_client *cl = pool->clients[i];

        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "ClientId",
                                              cl->id, "UserPoolId", pool->id,
                                              "ClientName", cl->name));
    }
    out = json_pack("{s:o}", "UserPoolClients", list);
    add_next_token(out, end, pool->nclients);
    reply_ok(c, out);
}

/* ---- dispatch ----------------------------------------------------------- */

struct op {
    const char *name;
    bool is_signed; /* SigV4 (spec/cognito.md section 1: the rest are noAuth) */
    const struct field *fields;
    void (*handle)(struct call *c);
};

static const struct op ops[] = {
    {"InitiateAuth", false, initiate_fields, op_initiate_auth},
    {"RespondToAuthChallenge", false, respond_fields,
     op_respond_to_auth_challenge},
    {"SignUp", false, sign_up_fields, op_sign_up},
    {"ConfirmSignUp", false, confirm_sign_up_fields, op_confirm_sign_up},
    {"GetUser", false, access_token_fields, op_get_user},
    {"GlobalSignOut", false, access_token_fields, op_global_sign_out},
    {"AdminInitiateAuth", true, admin_initiate_fields, op_admin_initiate_auth},
    {"AdminRespondToAuthChallenge", true, admin_respond_fields,
     op_admin_respond_to_auth_challenge},
    {"AdminCreateUser", true, admin_create_user_fields, op_admin_create_user},
    {"AdminSetUserPassword", true, admin_set_password_fields,
     op_admin_set_user_password},
    {"AdminGetUser", true, pool_user_fields, op_admin_get_user},
    {"AdminDeleteUser", true, pool_user_fields, op_admin_delete_user},
    {"AdminDisableUser", true, pool_user_fields, op_admin_disable_user},
    {"AdminEnableUser", true, pool_user_fields, op_admin_enable_user},
    {"AdminConfirmSignUp", true, pool_user_fields, op_admin_confirm_sign_up},
    {"AdminUserGlobalSignOut", true, pool_user_fields,
     op_admin_user_global_sign_out},
    {"CreateGroup", true, create_group_fields, op_create_group},
    {"ListGroups", true, list_groups_fields, op_list_groups},
    {"AdminAddUserToGroup", true, user_group_fields,
     op_admin_add_user_to_group},
    {"AdminRemoveUserFromGroup", true, user_group_fields,
     op_admin_remove_user_from_group},
    {"AdminListGroupsForUser", true, list_groups_for_user_fields,
     op_admin_list_groups_for_user},
    {"CreateUserPool", true, create_pool_fields, op_create_user_pool},
    {"DescribeUserPool", true, pool_id_fields, op_describe_user_pool},
    {"ListUserPools", true, list_pools_fields, op_list_user_pools},
    {"CreateUserPoolClient", true, create_client_fields,
     op_create_user_pool_client},
    {"DescribeUserPoolClient", true, pool_client_fields,
     op_describe_user_pool_client},
    {"ListUserPoolClients", true, list_clients_fields,
     op_list_user_pool_clients},
};


/*
 * IAM for signed operations: action "cognito-idp:<Operation>" on the
 * pool's ARN (or "*" for calls that name no pool, such as ListUserPools).
 */
static bool authorized(struct call *c, const char *op_name,
                       const struct iam_principal *who)
{
    const char *pool_id =
        json_string_value(json_object_get(c->in, "UserPoolId"));
    char action[128], resource[256];

    snprintf(action, sizeof(action), "cognito-idp:%s", op_name);
    if (pool_id)
        snprintf(resource, sizeof(resource),
                 "arn:aws:cognito-idp:%s:%s:userpool/%s", cg.region,
                 cg.account, pool_id);
    else
        snprintf(resource, sizeof(resource), "*");
    return iam_authorize(c->req, who, action, resource, IAM_PROTO_JSON) ==
           KAERI_OK;
}

static void handle_json(struct http_req *req)
{
    const char *target = http_req_header(req, "x-amz-target");
    const char *name = target + strlen(COGNITO_TARGET);
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
    if (op->is_signed && iam_authenticate_json(req, "cognito-idp", &principal))
        return; /* already answered */
    /* an empty body reads as {} (AWS JSON 1.1 does the same) */
    if (req->body.len)
        in = json_loadb(req->body.data, req->body.len, 0, &jerr);
    else
        in = json_object();
    if (!json_is_object(in)) {
        /* see the top of this file: SerializationException */
        http_reply_aws_json_error(req, 400, "SerializationException", "%s",
                                  in ? "Start of structure or map expected"
                                     : "Malformed JSON request body");
        goto out;
    }
    c.in = in;
    c.now = clock_now_s();
    if (validate(&c, op->fields) &&
        (!op->is_signed || authorized(&c, op->name, &principal)))
        op->handle(&c);
out:
    json_decref(in);
}

/* ---- JWKS, discovery, codes --------------------------------------------- */

/* The pool of "/<poolId><suffix>", or NULL. */
static struct userpool *pool_of_path(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    char id[128];

    if (path[0] != '/' || n <= m + 1 || n - m - 1 >= sizeof(id))
        return NULL;
    memcpy(id, path + 1, n - m - 1);
    id[n - m - 1] = '\0';
    if (strchr(id, '/'))
        return NULL;
    return find_pool(id);
}

static void reply_no_pool(struct http_req *req)
{
    http_reply_aws_rest_error(req, 404, "ResourceNotFoundException",
                              "User pool not found");
}

/* spec/cognito.md section 5. */
static void handle_jwks(struct http_req *req)
{
    struct userpool *pool = pool_of_path(req->path, JWKS_SUFFIX);

    snprintf(req->operation, sizeof(req->operation), "jwks");
    if (!pool) {
        reply_no_pool(req);
        return;
    }
    http_reply_json(
        req, 200, "application/json",
        json_pack("{s:[o, o]}", "keys",
                  crypto_key_jwk(pool->id_key, pool->id_kid),
                  crypto_key_jwk(pool->access_key, pool->access_kid)));
}

static void handle_openid(struct http_req *req)
{
    struct userpool *pool = pool_of_path(req->path, OPENID_SUFFIX);
    char *authorize;

    snprintf(req->operation, sizeof(req->operation), "openid-configuration");
    if (!pool) {
        reply_no_pool(req);
        return;
    }
    authorize = xasprintf("%s/%s/oauth2/authorize", cg.http_url, pool->id);
    http_reply_json(
        req, 200, "application/json",
        json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[s, s], s:[s, s, s, s], "
                  "s:[s, s]}",
                  "issuer", pool->issuer, "jwks_uri", pool->jwks_uri,
                  "authorization_endpoint", authorize,
                  "id_token_signing_alg_values_supported", "RS256",
                  "subject_types_supported", "public",
                  "response_types_supported", "code", "token",
                  "scopes_supported", "openid", "email", "phone", "profile",
                  "token_endpoint_auth_methods_supported",
                  "client_secret_basic", "client_secret_post"));
    free(authorize);
}

/* The value of 'key' in a query string, percent-decoded; NULL if absent. */
static char *query_value(const char *query, const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);

        if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
            char *out = xstrndup(p + klen + 1, len - klen - 1), *w = out;

            for (const char *r = out; *r; r++) {
                unsigned v;

                if (*r == '%' && r[1] && r[2] &&
                    sscanf(r + 1, "%2x", &v) == 1) {
                    *w++ = (char)v;
                    r += 2;
                } else {
                    *w++ = *r == '+' ? ' ' : *r;
                }
            }
            *w = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/*
 * GET /_kaeri/cognito/codes[?userPoolId=..&username=..]: the latest code
 * of each kind per pool and user, where AWS would have sent a mail:
 * {"codes":[{"userPoolId","username","kind":"SIGN_UP"|"TEMPORARY_PASSWORD",
 * "code","createdAt","expiresAt","used"}]} (epoch seconds).
 */
static void handle_codes(struct http_req *req)
{
    char *want_pool, *want_user;
    json_t *list;

    snprintf(req->operation, sizeof(req->operation), "ListCodes");
    if (!admin_allowed(req))
        return;
    want_pool = query_value(req->query, "userPoolId");
    want_user = query_value(req->query, "username");
    list = json_array();
    for (size_t i = 0; i < cg.npools; i++) {
        const struct userpool *p = cg.pools[i];

        if (want_pool && strcmp(want_pool, p->id))
            continue;
        for (size_t j = 0; j < p->ncodes; j++) {
            const struct userpool_code *code = p->codes[j];

            if (want_user && strcmp(want_user, code->username))
                continue;
            json_array_append_new(
                list,
                json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "userPoolId",
                          p->id, "username", code->username, "kind", code->kind,
                          "code", code->code, "createdAt",
                          (json_int_t)code->created, "expiresAt",
                          (json_int_t)code->expires, "used", code->used));
        }
    }
    http_reply_json(req, 200, "application/json",
                    json_pack("{s:o}", "codes", list));
    free(want_pool);
    free(want_user);
}

static bool is_codes_path(const struct http_req *req)
{
    return !strcmp(req->path, CODES_PATH);
}

static const struct route cognito_routes[] = {
    {.method = "POST", .target_prefix = COGNITO_TARGET, .handle = handle_json},
    {.method = "GET", .path_suffix = JWKS_SUFFIX, .handle = handle_jwks},
    {.method = "GET", .path_suffix = OPENID_SUFFIX, .handle = handle_openid},
    {.method = "GET", .match = is_codes_path, .handle = handle_codes},
    {0},
};

/* ---- keys, tokens for other services ------------------------------------ */

const struct crypto_key *cognito_key_lookup(const char *kid, void *ctx)
{
    bool is_id_key;
    struct userpool *pool = pool_by_kid(kid, &is_id_key);

    (void)ctx;
    if (!pool)
        return NULL;
    return is_id_key ? pool->id_key : pool->access_key;
}

enum kaeri_err cognito_verify_token(const char *token, const char *token_use,
                                    const char *client_id, struct jwt *out,
                                    struct kaeri_error *err)
{
    struct jwt_expect want = {0};
    const char *kid, *use;
    struct userpool *pool;
    enum kaeri_err rc;
    bool is_id_key;

    rc = jwt_verify(token, strlen(token), cognito_key_lookup, NULL, out, err);
    if (rc)
        return rc;
    kid = json_string_value(json_object_get(out->header, "kid"));
    pool = pool_by_kid(kid, &is_id_key);
    use = json_string_value(json_object_get(out->claims, "token_use"));
    /* each key signs one kind of token */
    if (!pool || !use || strcmp(use, is_id_key ? "id" : "access") ||
        (token_use && strcmp(use, token_use))) {
        rc = kaeri_fail(err, KAERI_ERR_AUTH, "token_use",
                        "token_use does not match the signing key");
        goto out;
    }
    want.issuer = pool->issuer;
    want.token_use = use;
    want.client_id = client_id;
    want.now = clock_now_s();
    want.skew = TOKEN_SKEW_S;
    rc = jwt_check_claims(out, &want, err);
out:
    if (rc)
        jwt_release(out);
    return rc;
}

/* ---- config, lifecycle -------------------------------------------------- */

static char *config_path(const struct kaeri_env *env, const char *path)
{
    if (path[0] == '/' || !env->config_dir)
        return xstrdup(path);
    return xasprintf("%s/%s", env->config_dir, path);
}

static enum kaeri_err load_key_file(const char *file, const char *where,
                                    struct crypto_key **out,
                                    struct kaeri_error *err)
{
    FILE *f = fopen(file, "rb");
    char *pem;
    size_t n;
    enum kaeri_err rc;

    if (!f)
        return kaeri_fail(err, KAERI_ERR_IO, where, "cannot open '%s': %s",
                          file, strerror(errno));
    pem = xmalloc(KEY_FILE_MAX);
    n = fread(pem, 1, KEY_FILE_MAX - 1, f);
    fclose(f);
    pem[n] = '\0';
    rc = crypto_key_from_pem(pem, n, out, NULL);
    crypto_wipe(pem, n);
    free(pem);
    if (!rc && !crypto_key_is_private(*out)) {
        crypto_key_free(*out);
        *out = NULL;
        rc = KAERI_ERR_INVALID;
    }
    if (rc)
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "'%s' is not an RSA private key in PEM", file);
    return KAERI_OK;
}

/* A pool's keys from <state_dir>/keys/<id>-{id,access}.pem, made once. */
static enum kaeri_err pool_keys(const char *id, struct crypto_key **id_key,
                                struct crypto_key **access_key,
                                struct kaeri_error *err)
{
    char *path;
    enum kaeri_err rc;

    if (mkdir(cg.keys_dir, 0700) && errno != EEXIST)
        return kaeri_fail(err, KAERI_ERR_IO, cg.keys_dir, "mkdir: %s",
                          strerror(errno));
    path = xasprintf("%s/%s-id.pem", cg.keys_dir, id);
    rc = crypto_key_load_or_create(path, id_key, err);
    free(path);
    if (rc)
        return rc;
    path = xasprintf("%s/%s-access.pem", cg.keys_dir, id);
    rc = crypto_key_load_or_create(path, access_key, err);
    free(path);
    if (rc) {
        crypto_key_free(*id_key);
        *id_key = NULL;
    }
    return rc;
}

static struct userpool *pool_create(const char *id, const char *name,
                                    bool issuer_aws, struct crypto_key *idk,
                                    struct crypto_key *ack)
{
    char *arn = xasprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", cg.region,
                          cg.account, id);
    char *issuer = issuer_aws
                       ? xasprintf("https://cognito-idp.%s.amazonaws.com/%s",
                                   cg.region, id)
                       : xasprintf("%s/%s", cg.http_url, id);
    char *jwks = xasprintf("%s/%s" JWKS_SUFFIX, cg.http_url, id);
    struct userpool *pool = userpool_new(id, name, arn, issuer, jwks, idk, ack);

    pool->issuer_aws = issuer_aws;
    pool->created = pool->modified = clock_now_epoch();
    cg.pools = xrealloc(cg.pools, (cg.npools + 1) * sizeof(*cg.pools));
    cg.pools[cg.npools++] = pool;
    free(arn);
    free(issuer);
    free(jwks);
    return pool;
}

static enum kaeri_err load_policy(const json_t *obj, const char *path,
                                  struct userpool_policy *p,
                                  struct kaeri_error *err)
{
    static const char *const keys[] = {"minimumLength",
                                       "requireUppercase",
                                       "requireLowercase",
                                       "requireNumbers",
                                       "requireSymbols",
                                       "temporaryPasswordValidityDays",
                                       NULL};
    json_int_t len = p->min_length, days = p->temp_validity_days;
    enum kaeri_err rc;

    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_int(obj, path, "minimumLength", false, 6, 99, &len, err)) ||
        (rc = cfg_bool(obj, path, "requireUppercase", false,
                       &p->require_uppercase, err)) ||
        (rc = cfg_bool(obj, path, "requireLowercase", false,
                       &p->require_lowercase, err)) ||
        (rc = cfg_bool(obj, path, "requireNumbers", false, &p->require_numbers,
                       err)) ||
        (rc = cfg_bool(obj, path, "requireSymbols", false, &p->require_symbols,
                       err)) ||
        (rc = cfg_int(obj, path, "temporaryPasswordValidityDays", false, 0, 365,
                      &days, err)))
        return rc;
    p->min_length = (int)len;
    p->temp_validity_days = (int)days;
    return KAERI_OK;
}

static enum kaeri_err load_client(struct userpool *pool, const json_t *obj,
                                  const char *path, struct kaeri_error *err)
{
    static const char *const keys[] = {"id",
                                       "name",
                                       "secret",
                                       "explicitAuthFlows",
                                       "preventUserExistenceErrors",
                                       "idTokenValiditySeconds",
                                       "accessTokenValiditySeconds",
                                       "refreshTokenValiditySeconds",
                                       NULL};
    const char *id, *name = NULL, *secret = NULL, *prevent = "ENABLED";
    const json_t *flows = NULL;
    struct userpool_client *cl;
    json_int_t id_s = 3600, access_s = 3600, refresh_s = 30 * 86400;
    enum kaeri_err rc;
    char where[512];
    size_t i;
    json_t *f;

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "id", true, &id, err)) ||
        (rc = cfg_string(obj, path, "name", false, &name, err)) ||
        (rc = cfg_string(obj, path, "secret", false, &secret, err)) ||
        (rc = cfg_array(obj, path, "explicitAuthFlows", false, &flows, err)) ||
        (rc = cfg_string(obj, path, "preventUserExistenceErrors", false,
                         &prevent, err)) ||
        (rc = cfg_int(obj, path, "idTokenValiditySeconds", false, 300, 86400,
                      &id_s, err)) ||
        (rc = cfg_int(obj, path, "accessTokenValiditySeconds", false, 300,
                      86400, &access_s, err)) ||
        (rc = cfg_int(obj, path, "refreshTokenValiditySeconds", false, 3600,
                      315360000, &refresh_s, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.id", path);
    if (!*id || strlen(id) > 128 || !pattern_ok(P_CLIENT_ID, id))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "client ids are 1-128 characters of [A-Za-z0-9_+]");
    if (find_client_any(id))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "client id '%s' is used twice", id);
    snprintf(where, sizeof(where), "%s.preventUserExistenceErrors", path);
    if (strcmp(prevent, "ENABLED") && strcmp(prevent, "LEGACY"))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected \"ENABLED\" or \"LEGACY\"");
    cl = userpool_add_client(pool, id, name ? name : id, secret);
    if (!cl)
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "duplicate client");
    cl->prevent_user_existence_errors = !strcmp(prevent, "ENABLED");
    cl->created = cl->modified = clock_now_epoch();
    cl->validity.id_s = cl->validity.id_value = id_s;
    cl->validity.access_s = cl->validity.access_value = access_s;
    cl->validity.refresh_s = cl->validity.refresh_value = refresh_s;
    cl->validity.id_unit = cl->validity.access_unit = "seconds";
    cl->validity.refresh_unit = "seconds";
    if (!flows) {
        cl->flows = USERPOOL_ALLOW_USER_SRP_AUTH |
                    USERPOOL_ALLOW_REFRESH_TOKEN_AUTH |
                    USERPOOL_ALLOW_CUSTOM_AUTH;
        return KAERI_OK;
    }
    json_array_foreach(flows, i, f)
    {
        unsigned flag =
            json_is_string(f) ? userpool_flow_parse(json_string_value(f)) : 0;

        snprintf(where, sizeof(where), "%s.explicitAuthFlows[%zu]", path, i);
        if (!flag)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "unknown auth flow (ALLOW_USER_SRP_AUTH, "
                              "ALLOW_USER_PASSWORD_AUTH, "
                              "ALLOW_ADMIN_USER_PASSWORD_AUTH, "
                              "ALLOW_REFRESH_TOKEN_AUTH, ...)");
        cl->flows |= flag;
    }
    return KAERI_OK;
}

static enum kaeri_err load_group(struct userpool *pool, const json_t *obj,
                                 const char *path, struct kaeri_error *err)
{
    static const char *const keys[] = {"name", "description", "roleArn",
                                       "precedence", NULL};
    const char *name, *desc = NULL, *role = NULL;
    json_int_t prec = -1;
    struct userpool_group *g;
    enum kaeri_err rc;

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "name", true, &name, err)) ||
        (rc = cfg_string(obj, path, "description", false, &desc, err)) ||
        (rc = cfg_string(obj, path, "roleArn", false, &role, err)) ||
        (rc = cfg_int(obj, path, "precedence", false, 0, 2147483647, &prec,
                      err)))
        return rc;
    g = userpool_add_group(pool, name);
    if (!g)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "group '%s' is defined twice", name);
    g->description = desc ? xstrdup(desc) : NULL;
    g->role_arn = role ? xstrdup(role) : NULL;
    g->has_precedence = prec >= 0;
    g->precedence = prec >= 0 ? prec : 0;
    g->created = g->modified = clock_now_epoch();
    return KAERI_OK;
}

static enum kaeri_err load_user(struct userpool *pool, const json_t *obj,
                                const char *path, struct kaeri_error *err)
{
    static const char *const keys[] = {"username",   "password", "sub",
                                       "attributes", "groups",   "status",
                                       "enabled",    NULL};
    const char *username, *password, *sub = NULL, *status = "CONFIRMED";
    const json_t *attrs = NULL, *groups = NULL;
    enum userpool_status st;
    struct userpool_user *u;
    bool enabled = true;
    enum kaeri_err rc;
    char where[512];
    const char *key;
    json_t *v;
    size_t i;

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "username", true, &username, err)) ||
        (rc = cfg_string(obj, path, "password", true, &password, err)) ||
        (rc = cfg_string(obj, path, "sub", false, &sub, err)) ||
        (rc = cfg_object(obj, path, "attributes", false, &attrs, err)) ||
        (rc = cfg_array(obj, path, "groups", false, &groups, err)) ||
        (rc = cfg_string(obj, path, "status", false, &status, err)) ||
        (rc = cfg_bool(obj, path, "enabled", false, &enabled, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.status", path);
    if (!userpool_status_parse(status, &st))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected CONFIRMED, UNCONFIRMED, "
                          "FORCE_CHANGE_PASSWORD or RESET_REQUIRED");
    u = userpool_add_user(pool, username, sub);
    if (!u)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "user '%s' is defined twice", username);
    userpool_set_password(pool, u, password, st);
    u->enabled = enabled;
    u->created = u->modified = clock_now_epoch();
    json_object_foreach((json_t *)attrs, key, v)
    {
        snprintf(where, sizeof(where), "%s.attributes.%s", path, key);
        if (!json_is_string(v) && !json_is_boolean(v))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "expected a string");
        if (!userpool_set_attribute(u, key,
                                    json_is_string(v) ? json_string_value(v)
                                    : json_is_true(v) ? "true"
                                                      : "false"))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "set the sub with \"sub\", not as an attribute");
    }
    json_array_foreach(groups, i, v)
    {
        struct userpool_group *g =
            json_is_string(v) ? userpool_find_group(pool, json_string_value(v))
                              : NULL;

        snprintf(where, sizeof(where), "%s.groups[%zu]", path, i);
        if (!g)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "no such group in this pool's \"groups\"");
        userpool_join(u, g);
    }
    return KAERI_OK;
}

static enum kaeri_err load_pool(const json_t *obj, const char *path,
                                const struct kaeri_env *env,
                                struct kaeri_error *err)
{
    static const char *const keys[] = {
        "id",      "name",           "issuer",
        "keys",    "passwordPolicy", "srpTimestampSkewSeconds",
        "clients", "groups",         "users",
        NULL};
    static const char *const key_keys[] = {"id", "access", NULL};
    const char *id, *name = NULL, *issuer = "local", *id_path = NULL,
                    *access_path = NULL;
    const json_t *keys_obj = NULL, *policy = NULL, *clients = NULL,
                 *groups = NULL, *users = NULL;
    struct crypto_key *idk = NULL, *ack = NULL;
    struct userpool *pool;
    json_int_t skew = 300;
    enum kaeri_err rc;
    char where[256];
    size_t i;
    json_t *v;

    if (!json_is_object(obj))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "id", true, &id, err)) ||
        (rc = cfg_string(obj, path, "name", false, &name, err)) ||
        (rc = cfg_string(obj, path, "issuer", false, &issuer, err)) ||
        (rc = cfg_object(obj, path, "keys", false, &keys_obj, err)) ||
        (rc = cfg_object(obj, path, "passwordPolicy", false, &policy, err)) ||
        (rc = cfg_int(obj, path, "srpTimestampSkewSeconds", false, 0, 315360000,
                      &skew, err)) ||
        (rc = cfg_array(obj, path, "clients", false, &clients, err)) ||
        (rc = cfg_array(obj, path, "groups", false, &groups, err)) ||
        (rc = cfg_array(obj, path, "users", false, &users, err)))
        return rc;
    snprintf(where, sizeof(where), "%s.id", path);
    if (strlen(id) > 55 || !pattern_ok(P_POOL_ID, id))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "pool ids look like '<region>_<letters and digits>'");
    if (find_pool(id))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "pool '%s' is defined twice", id);
    snprintf(where, sizeof(where), "%s.issuer", path);
    if (strcmp(issuer, "local") && strcmp(issuer, "aws"))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected \"local\" or \"aws\"");
    if (keys_obj) {
        char *file;

        snprintf(where, sizeof(where), "%s.keys", path);
        if ((rc = cfg_keys(keys_obj, where, key_keys, err)) ||
            (rc = cfg_string(keys_obj, where, "id", true, &id_path, err)) ||
            (rc = cfg_string(keys_obj, where, "access", true, &access_path,
                             err)))
            return rc;
        file = config_path(env, id_path);
        snprintf(where, sizeof(where), "%s.keys.id", path);
        rc = load_key_file(file, where, &idk, err);
        free(file);
        if (rc)
            return rc;
        file = config_path(env, access_path);
        snprintf(where, sizeof(where), "%s.keys.access", path);
        rc = load_key_file(file, where, &ack, err);
        free(file);
        if (rc) {
            crypto_key_free(idk);
            return rc;
        }
    } else if ((rc = pool_keys(id, &idk, &ack, err))) {
        return rc;
    }
    pool = pool_create(id, name ? name : id, !strcmp(issuer, "aws"), idk, ack);
    pool->srp_skew_s = skew;
    if (policy) {
        snprintf(where, sizeof(where), "%s.passwordPolicy", path);
        if ((rc = load_policy(policy, where, &pool->policy, err)))
            return rc;
    }
    json_array_foreach(clients, i, v)
    {
        snprintf(where, sizeof(where), "%s.clients[%zu]", path, i);
        if ((rc = load_client(pool, v, where, err)))
            return rc;
    }
    json_array_foreach(groups, i, v)
    {
        snprintf(where, sizeof(where), "%s.groups[%zu]", path, i);
        if ((rc = load_group(pool, v, where, err)))
            return rc;
    }
    json_array_foreach(users, i, v)
    {
        snprintf(where, sizeof(where), "%s.users[%zu]", path, i);
        if ((rc = load_user(pool, v, where, err)))
            return rc;
    }
    return KAERI_OK;
}

static void cognito_release(void)
{
    for (size_t i = 0; i < cg.npools; i++)
        userpool_free(cg.pools[i]);
    free(cg.pools);
    free(cg.region);
    free(cg.account);
    free(cg.http_url);
    free(cg.keys_dir);
    memset(&cg, 0, sizeof(cg));
}

static enum kaeri_err cognito_init(const json_t *section,
                                   const struct kaeri_env *env,
                                   struct kaeri_error *err)
{
    static const char *const keys[] = {"userPools", NULL};
    const json_t *pools = NULL;
    enum kaeri_err rc;
    char where[64];
    size_t i;
    json_t *v;

    cg.region = xstrdup(env->region);
    cg.account = xstrdup(env->account);
    cg.http_url = xstrdup(env->http_url);
    cg.keys_dir = xasprintf("%s/keys", env->state_dir);
    if (section) {
        if (!json_is_object(section)) {
            rc = kaeri_fail(err, KAERI_ERR_INVALID, "$.cognito",
                            "expected an object");
            goto out;
        }
        if ((rc = cfg_keys(section, "$.cognito", keys, err)) ||
            (rc = cfg_array(section, "$.cognito", "userPools", false, &pools,
                            err)))
            goto out;
    }
    json_array_foreach(pools, i, v)
    {
        snprintf(where, sizeof(where), "$.cognito.userPools[%zu]", i);
        if ((rc = load_pool(v, where, env, err)))
            goto out;
    }
    rc = KAERI_OK;
out:
    if (rc)
        cognito_release();
    return rc;
}

static void cognito_describe(json_t *endpoints)
{
    json_t *list = json_object_get(endpoints, "userPools");

    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(endpoints, "userPools", list);
    }
    for (size_t i = 0; i < cg.npools; i++) {
        const struct userpool *p = cg.pools[i];
        json_t *clients = json_array();

        for (size_t j = 0; j < p->nclients; j++)
            json_array_append_new(clients,
                                  json_pack("{s:s, s:s, s:b}", "clientId",
                                            p->clients[j]->id, "name",
                                            p->clients[j]->name, "hasSecret",
                                            p->clients[j]->secret != NULL));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id",
                                              p->id, "name", p->name, "issuer",
                                              p->issuer, "jwksUri", p->jwks_uri,
                                              "clients", clients));
    }
}

const struct service svc_cognito = {
    .name = "cognito-idp",
    .config_key = "cognito",
    .init = cognito_init,
    .release = cognito_release,
    .routes = cognito_routes,
    .describe = cognito_describe,
};

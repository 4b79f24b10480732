/*
 * userpool.c - one Cognito user pool's data: clients, users, groups,
 * sessions, challenges, codes, and the ID and access tokens it mints
 * (spec/cognito.md sections 2-4, spec/cognito-srp.md section 5).
 *
 * Left out on purpose: aliases (sign-in by email), MFA, devices, custom
 * attributes' schema. Collections are small arrays of pointers searched
 * linearly: a test pool holds a handful of users. Passwords are kept as
 * given, never logged (this module does not log at all).
 */
#include "userpool.h"
#include "alloc.h"
#include "b64.h"
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append 'item' to a pointer array of 'n' items. */
#define PUSH(arr, n, item)                                   \
    do {                                                     \
        (arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))); \
        (arr)[(n)++] = (item);                               \
    } while (0)

/* Remove index 'i' keeping the order (lists show creation order). */
#define REMOVE_AT(arr, n, i)                                                   \
    do {                                                                       \
        memmove(&(arr)[(i)], &(arr)[(i) + 1], ((n) - (i)-1) * sizeof(*(arr))); \
        (n)--;                                                                 \
    } while (0)

static const char *const status_names[] = {
    [USERPOOL_UNCONFIRMED] = "UNCONFIRMED",
    [USERPOOL_CONFIRMED] = "CONFIRMED",
    [USERPOOL_FORCE_CHANGE_PASSWORD] = "FORCE_CHANGE_PASSWORD",
    [USERPOOL_RESET_REQUIRED] = "RESET_REQUIRED",
};

const char *userpool_status_name(enum userpool_status s)
{
    return status_names[s];
}

bool userpool_status_parse(const char *s, enum userpool_status *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_names); i++) {
        if (!strcmp(s, status_names[i])) {
            *out = (enum userpool_status)i;
            return true;
        }
    }
    return false;
}

static const struct {
    const char *name;
    unsigned flag;
} flow_names[] = {
    {"ALLOW_USER_SRP_AUTH", USERPOOL_ALLOW_USER_SRP_AUTH},
    {"ALLOW_USER_PASSWORD_AUTH", USERPOOL_ALLOW_USER_PASSWORD_AUTH},
    {"ALLOW_ADMIN_USER_PASSWORD_AUTH", USERPOOL_ALLOW_ADMIN_USER_PASSWORD_AUTH},
    {"ALLOW_REFRESH_TOKEN_AUTH", USERPOOL_ALLOW_REFRESH_TOKEN_AUTH},
    {"ALLOW_CUSTOM_AUTH", USERPOOL_ALLOW_CUSTOM_AUTH},
    {"ALLOW_USER_AUTH", USERPOOL_ALLOW_USER_AUTH},
    {"ADMIN_NO_SRP_AUTH", USERPOOL_ADMIN_NO_SRP_AUTH},
    {"USER_PASSWORD_AUTH", USERPOOL_USER_PASSWORD_AUTH},
    {"CUSTOM_AUTH_FLOW_ONLY", USERPOOL_CUSTOM_AUTH_FLOW_ONLY},
};

unsigned userpool_flow_parse(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(flow_names); i++)
        if (!strcmp(name, flow_names[i].name))
            return flow_names[i].flag;
    return 0;
}

json_t *userpool_flows_json(unsigned flows)
{
    json_t *a = json_array();

    for (size_t i = 0; i < ARRAY_SIZE(flow_names); i++)
        if (flows & flow_names[i].flag)
            json_array_append_new(a, json_string(flow_names[i].name));
    return a;
}

void userpool_policy_default(struct userpool_policy *p)
{
    p->min_length = 8;
    p->require_uppercase = true;
    p->require_lowercase = true;
    p->require_numbers = true;
    p->require_symbols = true;
    p->temp_validity_days = 7;
}

/* spec/cognito.md section 2.2: the special characters Cognito counts. */
static bool is_symbol(char c)
{
    return c && strchr("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-", c);
}

const char *userpool_password_problem(const struct userpool_policy *policy,
                                      const char *password)
{
    bool digit = false, symbol = false, upper = false, lower = false;
    size_t len = strlen(password);

    for (size_t i = 0; i < len; i++) {
        char c = password[i];

        if (c >= '0' && c <= '9')
            digit = true;
        else if (c >= 'A' && c <= 'Z')
            upper = true;
        else if (c >= 'a' && c <= 'z')
            lower = true;
        else if (is_symbol(c) || (c == ' ' && i > 0 && i + 1 < len))
            symbol = true;
    }
    /* Length counts characters; count UTF-8 lead bytes only. */
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)password[i] & 0xC0) != 0x80)
            chars++;
    if (chars < (size_t)policy->min_length)
        return "Password not long enough";
    if (policy->require_numbers && !digit)
        return "Password must have numeric characters";
    if (policy->require_symbols && !symbol)
        return "Password must have symbol characters";
    if (policy->require_uppercase && !upper)
        return "Password must have uppercase characters";
    if (policy->require_lowercase && !lower)
        return "Password must have lowercase characters";
    return NULL;
}

void userpool_validity_default(struct userpool_validity *v)
{
    /* spec/cognito.md section 4: 60 minutes, 60 minutes, 30 days */
    v->id_value = 60;
    v->id_unit = "minutes";
    v->id_s = 3600;
    v->access_value = 60;
    v->access_unit = "minutes";
    v->access_s = 3600;
    v->refresh_value = 30;
    v->refresh_unit = "days";
    v->refresh_s = 30 * 86400;
}

int64_t userpool_unit_seconds(const char *unit)
{
    static const struct {
        const char *name;
        int64_t seconds;
    } units[] = {
        {"seconds", 1}, {"minutes", 60}, {"hours", 3600}, {"days", 86400}};

    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (!strcmp(unit, units[i].name))
            return units[i].seconds;
    return 0;
}

struct userpool *userpool_new(const char *id, const char *name, const char *arn,
                              const char *issuer, const char *jwks_uri,
                              struct crypto_key *id_key,
                              struct crypto_key *access_key)
{
    struct userpool *pool = xcalloc(1, sizeof(*pool));

    pool->id = xstrdup(id);
    pool->name = xstrdup(name);
    pool->arn = xstrdup(arn);
    pool->issuer = xstrdup(issuer);
    pool->jwks_uri = xstrdup(jwks_uri);
    pool->id_key = id_key;
    pool->access_key = access_key;
    crypto_key_id(id_key, pool->id_kid);
    crypto_key_id(access_key, pool->access_kid);
    userpool_policy_default(&pool->policy);
    pool->srp_skew_s = 300;
    crypto_random(pool->decoy_key, sizeof(pool->decoy_key));
    return pool;
}

static void session_free(struct userpool_session *s)
{
    if (!s)
        return;
    free(s->refresh_token);
    free(s);
}

static void challenge_free(struct userpool_challenge *ch)
{
    if (!ch)
        return;
    srp_session_free(ch->srp);
    free(ch->user_id);
    crypto_wipe(ch->raw, sizeof(ch->raw));
    free(ch);
}

static void code_free(struct userpool_code *c)
{
    if (!c)
        return;
    free(c->username);
    free(c->kind);
    if (c->code)
        crypto_wipe(c->code, strlen(c->code));
    free(c->code);
    free(c);
}

static void user_free(struct userpool_user *u)
{
    if (!u)
        return;
    free(u->username);
    free(u->sub);
    if (u->password)
        crypto_wipe(u->password, strlen(u->password));
    free(u->password);
    json_decref(u->attributes);
    free(u->groups);
    free(u);
}

static void group_free(struct userpool_group *g)
{
    if (!g)
        return;
    free(g->name);
    free(g->description);
    free(g->role_arn);
    free(g);
}

static void client_free(struct userpool_client *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->name);
    free(c->secret);
    free(c);
}

void userpool_free(struct userpool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->nsessions; i++)
        session_free(pool->sessions[i]);
    for (size_t i = 0; i < pool->nchallenges; i++)
        challenge_free(pool->challenges[i]);
    for (size_t i = 0; i < pool->ncodes; i++)
        code_free(pool->codes[i]);
    for (size_t i = 0; i < pool->nusers; i++)
        user_free(pool->users[i]);
    for (size_t i = 0; i < pool->ngroups; i++)
        group_free(pool->groups[i]);
    for (size_t i = 0; i < pool->nclients; i++)
        client_free(pool->clients[i]);
    free(pool->sessions);
    free(pool->challenges);
    free(pool->codes);
    free(pool->users);
    free(pool->groups);
    free(pool->clients);
    crypto_key_free(pool->id_key);
    crypto_key_free(pool->access_key);
    free(pool->id);
    free(pool->name);
    free(pool->arn);
    free(pool->issuer);
    free(pool->jwks_uri);
    free(pool);
}

const char *userpool_srp_name(const struct userpool *pool)
{
    const char *us = strchr(pool->id, '_');

    return us ? us + 1 : pool->id;
}

struct userpool_client *userpool_add_client(struct userpool *pool,
                                            const char *id, const char *name,
                                            const char *secret)
{
    struct userpool_client *c;

    if (userpool_find_client(pool, id))
        return NULL;
    c = xcalloc(1, sizeof(*c));
    c->pool = pool;
    c->id = xstrdup(id);
    c->name = xstrdup(name);
    c->secret = secret ? xstrdup(secret) : NULL;
    userpool_validity_default(&c->validity);
    PUSH(pool->clients, pool->nclients, c);
    return c;
}

struct userpool_client *userpool_find_client(const struct userpool *pool,
                                             const char *id)
{
    for (size_t i = 0; i < pool->nclients; i++)
        if (!strcmp(pool->clients[i]->id, id))
            return pool->clients[i];
    return NULL;
}

/* 'n' random characters from 'alphabet' (rejection sampling, no bias). */
static void random_chars(char *out, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    size_t limit = 256 - 256 % k;

    for (size_t i = 0; i < n;) {
        unsigned char r;

        crypto_random(&r, 1);
        if (r < limit)
            out[i++] = alphabet[r % k];
    }
    out[n] = '\0';
}

void userpool_make_client_id(char out[27])
{
    random_chars(out, 26, "abcdefghijklmnopqrstuvwxyz0123456789");
}

void userpool_make_client_secret(char out[52])
{
    random_chars(out, 51, "abcdefghijklmnopqrstuvwxyz0123456789");
}

struct userpool_group *userpool_add_group(struct userpool *pool,
                                          const char *name)
{
    struct userpool_group *g;

    if (userpool_find_group(pool, name))
        return NULL;
    g = xcalloc(1, sizeof(*g));
    g->name = xstrdup(name);
    PUSH(pool->groups, pool->ngroups, g);
    return g;
}

struct userpool_group *userpool_find_group(const struct userpool *pool,
                                           const char *name)
{
    for (size_t i = 0; i < pool->ngroups; i++)
        if (!strcmp(pool->groups[i]->name, name))
            return pool->groups[i];
    return NULL;
}

struct userpool_user *userpool_add_user(struct userpool *pool,
                                        const char *username, const char *sub)
{
    struct userpool_user *u;
    char uuid[CRYPTO_UUID_LEN + 1];

    if (userpool_find_user(pool, username))
        return NULL;
    if (!sub) {
        crypto_uuid(uuid);
        sub = uuid;
    }
    u = xcalloc(1, sizeof(*u));
    u->username = xstrdup(username);
    u->sub = xstrdup(sub);
    u->attributes = json_object();
    u->status = USERPOOL_UNCONFIRMED;
    u->enabled = true;
    PUSH(pool->users, pool->nusers, u);
    return u;
}

struct userpool_user *userpool_find_user(const struct userpool *pool,
                                         const char *username)
{
    for (size_t i = 0; i < pool->nusers; i++)
        if (!strcmp(pool->users[i]->username, username))
            return pool->users[i];
    return NULL;
}

void userpool_delete_user(struct userpool *pool, struct userpool_user *user)
{
    for (size_t i = pool->nsessions; i-- > 0;) {
        if (pool->sessions[i]->user == user) {
            session_free(pool->sessions[i]);
            REMOVE_AT(pool->sessions, pool->nsessions, i);
        }
    }
    for (size_t i = pool->nchallenges; i-- > 0;) {
        if (pool->challenges[i]->user == user) {
            challenge_free(pool->challenges[i]);
            REMOVE_AT(pool->challenges, pool->nchallenges, i);
        }
    }
    for (size_t i = pool->ncodes; i-- > 0;) {
        if (!strcmp(pool->codes[i]->username, user->username)) {
            code_free(pool->codes[i]);
            REMOVE_AT(pool->codes, pool->ncodes, i);
        }
    }
    for (size_t i = 0; i < pool->nusers; i++) {
        if (pool->users[i] == user) {
            REMOVE_AT(pool->users, pool->nusers, i);
            break;
        }
    }
    user_free(user);
}

void userpool_set_password(struct userpool *pool, struct userpool_user *user,
                           const char *password, enum userpool_status status)
{
    (void)pool;
    if (user->password)
        crypto_wipe(user->password, strlen(user->password));
    free(user->password);
    user->password = xstrdup(password);
    srp_make_salt(user->salt);
    user->status = status;
    user->temp_password_expires = 0;
}

bool userpool_set_attribute(struct userpool_user *user, const char *name,
                            const char *value)
{
    if (!strcmp(name, "sub"))
        return false;
    json_object_set_new(user->attributes, name, json_string(value));
    return true;
}

json_t *userpool_user_attributes_json(const struct userpool_user *user)
{
    json_t *a = json_array();
    const char *name;
    json_t *value;

    json_array_append_new(
        a, json_pack("{s:s, s:s}", "Name", "sub", "Value", user->sub));
    json_object_foreach(user->attributes, name, value) json_array_append_new(
        a, json_pack("{s:s, s:O}", "Name", name, "Value", value));
    return a;
}

void userpool_join(struct userpool_user *user, struct userpool_group *group)
{
    for (size_t i = 0; i < user->ngroups; i++)
        if (user->groups[i] == group)
            return;
    PUSH(user->groups, user->ngroups, group);
}

void userpool_leave(struct userpool_user *user, struct userpool_group *group)
{
    for (size_t i = 0; i < user->ngroups; i++) {
        if (user->groups[i] == group) {
            REMOVE_AT(user->groups, user->ngroups, i);
            return;
        }
    }
}

const char *userpool_preferred_role(struct userpool_group *const *groups,
                                    size_t n)
{
    const struct userpool_group *best = NULL; /* lowest precedence so far */
    const char *only = NULL; /* the one distinct role, if one */
    bool several = false;    /* more than one distinct role */
    bool tie = false;        /* best's precedence has different roles */

    for (size_t i = 0; i < n; i++) {
        const struct userpool_group *g = groups[i];

        if (!g->role_arn)
            continue;
        if (!only)
            only = g->role_arn;
        else if (strcmp(only, g->role_arn))
            several = true;
        if (!g->has_precedence)
            continue;
        if (!best || g->precedence < best->precedence) {
            best = g;
            tie = false;
        } else if (g->precedence == best->precedence &&
                   strcmp(g->role_arn, best->role_arn)) {
            tie = true;
        }
    }
    if (!several)
        return only;
    if (best && !tie)
        return best->role_arn;
    return NULL;
}

void userpool_secret_hash(const char *secret, const char *username,
                          const char *client_id,
                          char out[USERPOOL_SECRET_HASH_LEN + 1])
{
    unsigned char mac[CRYPTO_SHA256_LEN];
    char *msg = xasprintf("%s%s", username, client_id);
    char *b64;

    crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    b64 = b64_encode(mac, sizeof(mac));
    snprintf(out, USERPOOL_SECRET_HASH_LEN + 1, "%s", b64);
    free(b64);
    free(msg);
}

bool userpool_secret_hash_ok(const struct userpool_client *client,
                             const char *username, const char *given)
{
    char want[USERPOOL_SECRET_HASH_LEN + 1];

    if (!client->secret)
        return true;
    if (!given || strlen(given) != USERPOOL_SECRET_HASH_LEN)
        return false;
    userpool_secret_hash(client->secret, username, client->id, want);
    return crypto_memeq(want, given, USERPOOL_SECRET_HASH_LEN);
}

/* Drop sessions nobody can use any more (refresh and last access over). */
static void sweep_sessions(struct userpool *pool, int64_t now)
{
    for (size_t i = pool->nsessions; i-- > 0;) {
        if (pool->sessions[i]->keep_until < now) {
            session_free(pool->sessions[i]);
            REMOVE_AT(pool->sessions, pool->nsessions, i);
        }
    }
}

struct userpool_session *userpool_session_new(struct userpool *pool,
                                              const struct userpool_client *c,
                                              struct userpool_user *user,
                                              int64_t now)
{
    struct userpool_session *s;
    unsigned char raw[64];

    sweep_sessions(pool, now);
    s = xcalloc(1, sizeof(*s));
    crypto_random(raw, sizeof(raw));
    s->refresh_token = b64url_encode(raw, sizeof(raw));
    crypto_uuid(s->origin_jti);
    crypto_uuid(s->event_id);
    s->client = c;
    s->user = user;
    s->auth_time = now;
    s->expires = now + c->validity.refresh_s;
    /* a token minted just before the refresh token ends lives this long */
    s->keep_until = s->expires + c->validity.access_s + c->validity.id_s;
    PUSH(pool->sessions, pool->nsessions, s);
    return s;
}

struct userpool_session *userpool_session_by_token(const struct userpool *pool,
                                                   const char *refresh_token)
{
    size_t n = strlen(refresh_token);

    for (size_t i = 0; i < pool->nsessions; i++) {
        struct userpool_session *s = pool->sessions[i];

        if (strlen(s->refresh_token) == n &&
            crypto_memeq(s->refresh_token, refresh_token, n))
            return s;
    }
    return NULL;
}

struct userpool_session *userpool_session_by_jti(const struct userpool *pool,
                                                 const char *origin_jti)
{
    for (size_t i = 0; i < pool->nsessions; i++)
        if (!strcmp(pool->sessions[i]->origin_jti, origin_jti))
            return pool->sessions[i];
    return NULL;
}

void userpool_sign_out(struct userpool *pool, const struct userpool_user *user)
{
    for (size_t i = 0; i < pool->nsessions; i++)
        if (pool->sessions[i]->user == user)
            pool->sessions[i]->revoked = true;
}

/* The claims both tokens share, in the order real tokens show them. */
static void add_group_claims(json_t *claims, const struct userpool_user *u,
                             bool with_roles)
{
    json_t *names, *roles;
    const char *preferred;

    if (!u->ngroups)
        return;
    names = json_array();
    for (size_t i = 0; i < u->ngroups; i++)
        json_array_append_new(names, json_string(u->groups[i]->name));
    json_object_set_new(claims, "cognito:groups", names);
    if (!with_roles)
        return;
    roles = json_array();
    for (size_t i = 0; i < u->ngroups; i++) {
        const char *arn = u->groups[i]->role_arn;
        bool seen = false;

        if (!arn)
            continue;
        for (size_t j = 0; j < json_array_size(roles); j++)
            if (!strcmp(json_string_value(json_array_get(roles, j)), arn))
                seen = true;
        if (!seen)
            json_array_append_new(roles, json_string(arn));
    }
    if (!json_array_size(roles)) {
        json_decref(roles);
        return;
    }
    json_object_set_new(claims, "cognito:roles", roles);
    preferred = userpool_preferred_role(u->groups, u->ngroups);
    if (preferred)
        json_object_set_new(claims, "cognito:preferred_role",
                            json_string(preferred));
}

static void add_times(json_t *claims, const struct userpool_session *s,
                      int64_t now, int64_t lifetime)
{
    char jti[CRYPTO_UUID_LEN + 1];

    crypto_uuid(jti);
    json_object_set_new(claims, "auth_time", json_integer(s->auth_time));
    json_object_set_new(claims, "exp", json_integer(now + lifetime));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "jti", json_string(jti));
}

json_t *userpool_id_claims(const struct userpool *pool,
                           const struct userpool_session *s, int64_t now)
{
    const struct userpool_user *u = s->user;
    json_t *claims = json_object();
    const char *name;
    json_t *value;

    json_object_set_new(claims, "sub", json_string(u->sub));
    add_group_claims(claims, u, true);
    json_object_set_new(claims, "iss", json_string(pool->issuer));
    json_object_set_new(claims, "cognito:username", json_string(u->username));
    json_object_set_new(claims, "origin_jti", json_string(s->origin_jti));
    json_object_set_new(claims, "aud", json_string(s->client->id));
    json_object_set_new(claims, "event_id", json_string(s->event_id));
    json_object_set_new(claims, "token_use", json_string("id"));
    add_times(claims, s, now, s->client->validity.id_s);
    /* attributes as claims; the *_verified ones are booleans (section 4) */
    json_object_foreach(u->attributes, name, value)
    {
        if (!strcmp(name, "email_verified") ||
            !strcmp(name, "phone_number_verified"))
            json_object_set_new(
                claims, name,
                json_boolean(!strcmp(json_string_value(value), "true")));
        else
            json_object_set(claims, name, value);
    }
    return claims;
}

json_t *userpool_access_claims(const struct userpool *pool,
                               const struct userpool_session *s, int64_t now)
{
    const struct userpool_user *u = s->user;
    json_t *claims = json_object();

    json_object_set_new(claims, "sub", json_string(u->sub));
    add_group_claims(claims, u, false);
    json_object_set_new(claims, "iss", json_string(pool->issuer));
    json_object_set_new(claims, "client_id", json_string(s->client->id));
    json_object_set_new(claims, "origin_jti", json_string(s->origin_jti));
    json_object_set_new(claims, "event_id", json_string(s->event_id));
    json_object_set_new(claims, "token_use", json_string("access"));
    json_object_set_new(claims, "scope",
                        json_string("aws.cognito.signin.user.admin"));
    add_times(claims, s, now, s->client->validity.access_s);
    json_object_set_new(claims, "username", json_string(u->username));
    return claims;
}

enum kaeri_err userpool_mint(const struct userpool *pool,
                             const struct userpool_session *s, int64_t now,
                             bool with_refresh, json_t **out)
{
    enum kaeri_err rc;
    json_t *id_claims = NULL, *access_claims = NULL, *result = NULL;
    char *id_token = NULL, *access_token = NULL;

    *out = NULL;
    id_claims = userpool_id_claims(pool, s, now);
    access_claims = userpool_access_claims(pool, s, now);
    rc = jwt_sign(id_claims, pool->id_key, pool->id_kid, &id_token);
    if (rc)
        goto out;
    rc = jwt_sign(access_claims, pool->access_key, pool->access_kid,
                  &access_token);
    if (rc)
        goto out;
    result = json_object();
    json_object_set_new(result, "AccessToken", json_string(access_token));
    json_object_set_new(result, "ExpiresIn",
                        json_integer(s->client->validity.access_s));
    json_object_set_new(result, "TokenType", json_string("Bearer"));
    if (with_refresh)
        json_object_set_new(result, "RefreshToken",
                            json_string(s->refresh_token));
    json_object_set_new(result, "IdToken", json_string(id_token));
    *out = result;
out:
    json_decref(id_claims);
    json_decref(access_claims);
    free(id_token);
    free(access_token);
    return rc ? KAERI_ERR_INTERNAL : KAERI_OK;
}

static void sweep_challenges(struct userpool *pool, int64_t now)
{
    for (size_t i = pool->nchallenges; i-- > 0;) {
        if (pool->challenges[i]->expires <= now) {
            challenge_free(pool->challenges[i]);
            REMOVE_AT(pool->challenges, pool->nchallenges, i);
        }
    }
}

struct userpool_challenge *
userpool_challenge_new(struct userpool *pool, enum userpool_challenge_kind kind,
                       const struct userpool_client *client,
                       struct userpool_user *user, const char *user_id,
                       struct srp_session *srp, int64_t now)
{
    struct userpool_challenge *ch;
    char *b64;

    sweep_challenges(pool, now);
    ch = xcalloc(1, sizeof(*ch));
    ch->kind = kind;
    crypto_random(ch->raw, sizeof(ch->raw));
    b64 = b64_encode(ch->raw, sizeof(ch->raw));
    snprintf(ch->handle, sizeof(ch->handle), "%s", b64);
    free(b64);
    ch->client = client;
    ch->user = user;
    ch->user_id = xstrdup(user_id);
    ch->srp = srp;
    ch->expires = now + USERPOOL_CHALLENGE_TTL;
    PUSH(pool->challenges, pool->nchallenges, ch);
    return ch;
}

struct userpool_challenge *userpool_challenge_find(
    const struct userpool *pool, enum userpool_challenge_kind kind,
    const struct userpool_client *client, const char *handle, int64_t now)
{
    if (strlen(handle) != USERPOOL_HANDLE_LEN)
        return NULL;
    for (size_t i = 0; i < pool->nchallenges; i++) {
        struct userpool_challenge *ch = pool->challenges[i];

        if (!crypto_memeq(ch->handle, handle, USERPOOL_HANDLE_LEN))
            continue;
        if (ch->kind != kind || ch->client != client || ch->expires <= now)
            return NULL;
        return ch;
    }
    return NULL;
}

void userpool_challenge_drop(struct userpool *pool,
                             struct userpool_challenge *ch)
{
    for (size_t i = 0; i < pool->nchallenges; i++) {
        if (pool->challenges[i] == ch) {
            REMOVE_AT(pool->challenges, pool->nchallenges, i);
            break;
        }
    }
    challenge_free(ch);
}

void userpool_decoy(const struct userpool *pool, const char *username,
                    unsigned char salt[SRP_SALT_LEN],
                    char user_id[CRYPTO_UUID_LEN + 1])
{
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * 16 + 1];
    char *msg = xasprintf("salt:%s", username);

    crypto_hmac_sha256(pool->decoy_key, sizeof(pool->decoy_key), msg,
                       strlen(msg), mac);
    memcpy(salt, mac, SRP_SALT_LEN);
    /* spec/cognito-srp.md section 2: first byte in 0x01..0x7f */
    salt[0] = (unsigned char)(1 + salt[0] % 0x7f);
    free(msg);
    msg = xasprintf("id:%s", username);
    crypto_hmac_sha256(pool->decoy_key, sizeof(pool->decoy_key), msg,
                       strlen(msg), mac);
    free(msg);
    mac[6] = (unsigned char)((mac[6] & 0x0f) | 0x40);
    mac[8] = (unsigned char)((mac[8] & 0x3f) | 0x80);
    crypto_hex(mac, 16, hex);
    snprintf(user_id, CRYPTO_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
             hex + 8, hex + 12, hex + 16, hex + 20);
}

struct userpool_code *userpool_code_new(struct userpool *pool,
                                        const char *username, const char *kind,
                                        const char *value, int64_t now,
                                        int64_t ttl)
{
    struct userpool_code *c;
    char digits[7];

    for (size_t i = pool->ncodes; i-- > 0;) {
        if (!strcmp(pool->codes[i]->username, username) &&
            !strcmp(pool->codes[i]->kind, kind)) {
            code_free(pool->codes[i]);
            REMOVE_AT(pool->codes, pool->ncodes, i);
        }
    }
    if (!value) {
        random_chars(digits, 6, "0123456789");
        value = digits;
    }
    c = xcalloc(1, sizeof(*c));
    c->username = xstrdup(username);
    c->kind = xstrdup(kind);
    c->code = xstrdup(value);
    c->created = now;
    c->expires = now + ttl;
    PUSH(pool->codes, pool->ncodes, c);
    return c;
}

struct userpool_code *userpool_code_find(const struct userpool *pool,
                                         const char *username, const char *kind)
{
    for (size_t i = 0; i < pool->ncodes; i++)
        if (!strcmp(pool->codes[i]->username, username) &&
            !strcmp(pool->codes[i]->kind, kind))
            return pool->codes[i];
    return NULL;
}

/*
 * iam.c - IAM users, roles and their inline policies from the config;
 * temporary credentials minted for STS and identity pools; and the two
 * questions every signed request meets: who is it (SigV4, sigv4.c), and
 * may it (policy evaluation, policy.c).
 *
 * Left out on purpose: managed policies, groups of IAM users, permission
 * boundaries, session policies and SCPs. Each would change a decision,
 * so the config refuses them rather than ignore them.
 */
#include "iam.h"
#include "alloc.h"
#include "b64.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "policy.h"
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_SIGV4_WINDOW_S     (15 * 60) /* spec/sigv4.md section 6 */
#define IAM_DEFAULT_SESSION_S  3600
#define IAM_MAX_SESSION_S      43200
/* Expired sessions are kept this long to answer ExpiredToken, then dropped. */
#define IAM_SESSION_GRACE_S    (24 * 3600)

enum entity_kind { ENTITY_USER, ENTITY_ROLE };

struct iam_entity {
    enum entity_kind kind;
    char *name;
    char *arn;
    char *id;                   /* "AIDA..." or "AROA...", stable by ARN */
    struct policy **policies;   /* inline identity policies */
    size_t policy_count;
    struct policy *trust;       /* roles only */
    int64_t max_session;        /* roles only */
};

struct long_term_key {
    struct iam_access_key pub; /* strings owned here */
    const struct iam_entity *user;
};

/* Temporary credentials: the role they act as, and until when. */
struct session {
    struct iam_session creds;
    const struct iam_entity *role;
};

static struct {
    char *account;
    char *region;
    enum iam_sigv4_mode mode;
    struct iam_entity **entities;
    size_t entity_count;
    struct long_term_key *keys;
    size_t key_count;
    const struct iam_access_key *admin_key;
    struct session *sessions;
    size_t session_count, session_cap;
} iam;

static void entity_free(struct iam_entity *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->policy_count; i++)
        policy_free(e->policies[i]);
    free(e->policies);
    policy_free(e->trust);
    free(e->name);
    free(e->arn);
    free(e->id);
    free(e);
}

void iam_release(void)
{
    for (size_t i = 0; i < iam.entity_count; i++)
        entity_free(iam.entities[i]);
    for (size_t i = 0; i < iam.key_count; i++) {
        free((char *)iam.keys[i].pub.access_key_id);
        crypto_wipe((char *)iam.keys[i].pub.secret_access_key,
                    strlen(iam.keys[i].pub.secret_access_key));
        free((char *)iam.keys[i].pub.secret_access_key);
    }
    free(iam.entities);
    free(iam.keys);
    free(iam.sessions);
    free(iam.account);
    free(iam.region);
    memset(&iam, 0, sizeof(iam));
}

/* "AIDA"/"AROA" + 17 characters of [A-Z2-7] from the ARN's hash. */
static char *entity_id(const char *prefix, const char *arn)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char h[CRYPTO_SHA256_LEN];
    char id[32];

    crypto_sha256(arn, strlen(arn), h);
    snprintf(id, sizeof(id), "%s", prefix);
    for (size_t i = 0; i < 17; i++)
        id[4 + i] = alphabet[h[i] & 31];
    id[21] = '\0';
    return xstrdup(id);
}

static struct iam_entity *entity_add(enum entity_kind kind, const char *name)
{
    struct iam_entity *e = xcalloc(1, sizeof(*e));

    e->kind = kind;
    e->name = xstrdup(name);
    e->arn = xasprintf("arn:aws:iam::%s:%s/%s", iam.account,
                       kind == ENTITY_USER ? "user" : "role", name);
    e->id = entity_id(kind == ENTITY_USER ? "AIDA" : "AROA", e->arn);
    iam.entities = xrealloc(iam.entities,
                            (iam.entity_count + 1) * sizeof(*iam.entities));
    iam.entities[iam.entity_count++] = e;
    return e;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("+=,.@_-", *s)))
            return false;
    return true;
}

/* "policies": {"name": {document}, ...} */
static enum kaeri_err load_policies(struct iam_entity *e, const json_t *obj,
                                    const char *path, struct kaeri_error *err)
{
    const json_t *map = NULL;
    const char *name;
    json_t *doc;
    enum kaeri_err rc;

    if ((rc = cfg_object(obj, path, "policies", false, &map, err)))
        return rc;
    json_object_foreach((json_t *)map, name, doc) {
        char ppath[512];

        snprintf(ppath, sizeof(ppath), "%s.policies.%s", path, name);
        e->policies = xrealloc(e->policies,
                               (e->policy_count + 1) * sizeof(*e->policies));
        e->policies[e->policy_count] = NULL;
        if ((rc = policy_parse(doc, ppath, POLICY_IDENTITY,
                               &e->policies[e->policy_count], err)))
            return rc;
        e->policy_count++;
    }
    return KAERI_OK;
}

static enum kaeri_err load_user(const json_t *u, const char *path,
                                struct kaeri_error *err)
{
    static const char *const user_keys[] = {"name", "accessKeys", "policies",
                                            NULL};
    static const char *const key_keys[] = {"accessKeyId", "secretAccessKey",
                                           NULL};
    const json_t *list = NULL;
    const char *name = NULL, *id = NULL, *secret = NULL;
    struct iam_entity *user;
    enum kaeri_err rc;
    size_t i;
    json_t *k;

    if (!json_is_object(u))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(u, path, user_keys, err)) ||
        (rc = cfg_string(u, path, "name", true, &name, err)) ||
        (rc = cfg_array(u, path, "accessKeys", false, &list, err)))
        return rc;
    if (!valid_name(name))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "user name '%s' is not 1-64 of [A-Za-z0-9+=,.@_-]",
                          name);
    user = entity_add(ENTITY_USER, name);
    if ((rc = load_policies(user, u, path, err)))
        return rc;
    json_array_foreach(list, i, k) {
        struct long_term_key *key;
        char kpath[256];

        snprintf(kpath, sizeof(kpath), "%s.accessKeys[%zu]", path, i);
        if (!json_is_object(k))
            return kaeri_fail(err, KAERI_ERR_INVALID, kpath,
                              "expected an object");
        if ((rc = cfg_keys(k, kpath, key_keys, err)) ||
            (rc = cfg_string(k, kpath, "accessKeyId", true, &id, err)) ||
            (rc = cfg_string(k, kpath, "secretAccessKey", true, &secret,
                             err)))
            return rc;
        if (strlen(id) < 16 || strlen(id) > 128 || !strncmp(id, "ASIA", 4))
            return kaeri_fail(err, KAERI_ERR_INVALID, kpath,
                              "accessKeyId must be 16 to 128 characters and "
                              "not start with ASIA (temporary keys)");
        iam.keys = xrealloc(iam.keys, (iam.key_count + 1) * sizeof(*iam.keys));
        key = &iam.keys[iam.key_count++];
        key->pub.user = user->name;
        key->pub.access_key_id = xstrdup(id);
        key->pub.secret_access_key = xstrdup(secret);
        key->user = user;
    }
    return KAERI_OK;
}

static enum kaeri_err load_role(const json_t *r, const char *path,
                                struct kaeri_error *err)
{
    static const char *const role_keys[] = {"name", "trustPolicy", "policies",
                                            "maxSessionDuration", NULL};
    const json_t *trust = NULL;
    const char *name = NULL;
    json_int_t max = IAM_DEFAULT_SESSION_S;
    struct iam_entity *role;
    char tpath[300];
    enum kaeri_err rc;

    if (!json_is_object(r))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(r, path, role_keys, err)) ||
        (rc = cfg_string(r, path, "name", true, &name, err)) ||
        (rc = cfg_object(r, path, "trustPolicy", true, &trust, err)) ||
        (rc = cfg_int(r, path, "maxSessionDuration", false, 3600,
                      IAM_MAX_SESSION_S, &max, err)))
        return rc;
    if (!valid_name(name))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "role name '%s' is not 1-64 of [A-Za-z0-9+=,.@_-]",
                          name);
    role = entity_add(ENTITY_ROLE, name);
    role->max_session = max;
    snprintf(tpath, sizeof(tpath), "%s.trustPolicy", path);
    if ((rc = policy_parse(trust, tpath, POLICY_TRUST, &role->trust, err)))
        return rc;
    return load_policies(role, r, path, err);
}

static enum kaeri_err read_mode(const json_t *section, struct kaeri_error *err)
{
    static const char *const names[] = {"enforce", "warn", "off"};
    const char *mode = "enforce";
    enum kaeri_err rc;

    if ((rc = cfg_string(section, "$.iam", "sigv4", false, &mode, err)))
        return rc;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!strcmp(mode, names[i])) {
            iam.mode = (enum iam_sigv4_mode)i;
            return KAERI_OK;
        }
    }
    return kaeri_fail(err, KAERI_ERR_INVALID, "$.iam.sigv4",
                      "expected \"enforce\", \"warn\" or \"off\"");
}

enum kaeri_err iam_init(const json_t *section, const char *account,
                        const char *region, struct kaeri_error *err)
{
    static const char *const iam_keys[] = {"adminUser", "users", "roles",
                                           "sigv4", NULL};
    const json_t *users = NULL, *roles = NULL;
    const char *admin_user = NULL;
    enum kaeri_err rc = KAERI_OK;
    size_t i;
    json_t *v;

    iam_release();
    iam.account = xstrdup(account);
    iam.region = xstrdup(region);
    if (!section)
        return KAERI_OK;
    if (!json_is_object(section))
        return kaeri_fail(err, KAERI_ERR_INVALID, "$.iam",
                          "expected an object");
    if ((rc = cfg_keys(section, "$.iam", iam_keys, err)) ||
        (rc = read_mode(section, err)) ||
        (rc = cfg_string(section, "$.iam", "adminUser", false, &admin_user,
                         err)) ||
        (rc = cfg_array(section, "$.iam", "users", false, &users, err)) ||
        (rc = cfg_array(section, "$.iam", "roles", false, &roles, err)))
        goto out;
    json_array_foreach(users, i, v) {
        char path[64];

        snprintf(path, sizeof(path), "$.iam.users[%zu]", i);
        if ((rc = load_user(v, path, err)))
            goto out;
    }
    json_array_foreach(roles, i, v) {
        char path[64];

        snprintf(path, sizeof(path), "$.iam.roles[%zu]", i);
        if ((rc = load_role(v, path, err)))
            goto out;
    }
    for (i = 0; i < iam.entity_count; i++) {
        for (size_t j = i + 1; j < iam.entity_count; j++) {
            if (!strcmp(iam.entities[i]->arn, iam.entities[j]->arn)) {
                rc = kaeri_fail(err, KAERI_ERR_INVALID, "$.iam",
                                "'%s' is declared twice",
                                iam.entities[i]->arn);
                goto out;
            }
        }
    }
    for (i = 0; admin_user && i < iam.key_count; i++) {
        if (!strcmp(iam.keys[i].pub.user, admin_user)) {
            iam.admin_key = &iam.keys[i].pub;
            break;
        }
    }
    if (admin_user && !iam.admin_key) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, "$.iam.adminUser",
                        "no user '%s' with an access key", admin_user);
        goto out;
    }
    if (iam.mode == IAM_SIGV4_OFF)
        log_warn("iam: $.iam.sigv4 is \"off\": signatures are not checked");
    else if (iam.mode == IAM_SIGV4_WARN)
        log_warn("iam: $.iam.sigv4 is \"warn\": bad signatures are logged "
                 "and let through");
out:
    if (rc)
        iam_release();
    return rc;
}

void iam_describe(json_t *endpoints)
{
    json_t *roles = json_array();

    for (size_t i = 0; i < iam.entity_count; i++)
        if (iam.entities[i]->kind == ENTITY_ROLE)
            json_array_append_new(
                roles, json_pack("{s:s, s:s}", "name", iam.entities[i]->name,
                                 "arn", iam.entities[i]->arn));
    json_object_set_new(endpoints, "roles", roles);
}

const struct iam_access_key *iam_admin_key(void)
{
    return iam.admin_key;
}

/* --- temporary credentials ----------------------------------------------- */

static void random_chars(char *out, size_t n, const char *alphabet)
{
    unsigned char r[64];
    size_t len = strlen(alphabet);

    while (n) {
        size_t chunk = n < sizeof(r) ? n : sizeof(r);

        crypto_random(r, chunk);
        for (size_t i = 0; i < chunk; i++)
            *out++ = alphabet[r[i] % len];
        n -= chunk;
    }
    *out = '\0';
}

/* Forget sessions long past their expiry. */
static void prune_sessions(int64_t now)
{
    size_t kept = 0;

    for (size_t i = 0; i < iam.session_count; i++)
        if (iam.sessions[i].creds.expiration + IAM_SESSION_GRACE_S > now)
            iam.sessions[kept++] = iam.sessions[i];
    iam.session_count = kept;
}

void iam_assume(const struct iam_entity *role, const char *session_name,
                int64_t duration_s, struct iam_session *out)
{
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    static const char secret_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char token[96];
    char *token_b64;
    int64_t now = clock_now_s();
    struct session *s;

    prune_sessions(now);
    memset(out, 0, sizeof(*out));
    memcpy(out->access_key_id, "ASIA", 4);
    random_chars(out->access_key_id + 4, 16, upper);
    random_chars(out->secret_access_key, 40, secret_chars);
    crypto_random(token, sizeof(token));
    token_b64 = b64_encode(token, sizeof(token));
    snprintf(out->session_token, sizeof(out->session_token), "%s", token_b64);
    free(token_b64);
    out->expiration = now + duration_s;
    snprintf(out->assumed_role_id, sizeof(out->assumed_role_id), "%s:%s",
             role->id, session_name);
    snprintf(out->arn, sizeof(out->arn), "arn:aws:sts::%s:assumed-role/%s/%s",
             iam.account, role->name, session_name);
    if (iam.session_count == iam.session_cap) {
        iam.session_cap = iam.session_cap ? iam.session_cap * 2 : 16;
        iam.sessions = xrealloc(iam.sessions,
                                iam.session_cap * sizeof(*iam.sessions));
    }
    s = &iam.sessions[iam.session_count++];
    s->creds = *out;
    s->role = role;
}

static const struct session *find_session(const char *access_key_id)
{
    for (size_t i = 0; i < iam.session_count; i++)
        if (!strcmp(iam.sessions[i].creds.access_key_id, access_key_id))
            return &iam.sessions[i];
    return NULL;
}

static const struct long_term_key *find_key(const char *access_key_id)
{
    for (size_t i = 0; i < iam.key_count; i++)
        if (!strcmp(iam.keys[i].pub.access_key_id, access_key_id))
            return &iam.keys[i];
    return NULL;
}

const struct iam_entity *iam_role_find(const char *arn)
{
    for (size_t i = 0; arn && i < iam.entity_count; i++)
        if (iam.entities[i]->kind == ENTITY_ROLE &&
            !strcmp(iam.entities[i]->arn, arn))
            return iam.entities[i];
    return NULL;
}

int64_t iam_role_max_session(const struct iam_entity *role)
{
    return role->max_session;
}

bool iam_role_trusts(const struct iam_entity *role,
                     const struct iam_trust_request *who)
{
    struct policy_principal principal = {
        .aws_arn = who->aws_arn,
        .account = who->account,
        .federated = who->federated,
        .service = who->service,
    };
    struct policy_context *ctx = policy_context_new();
    struct policy_request request = {
        .action = who->action,
        .context = ctx,
        .principal = &principal,
    };
    const struct policy *trust = role->trust;
    enum policy_decision d;

    for (size_t i = 0; who->context && who->context[i] && who->context[i + 1];
         i += 2)
        policy_context_add(ctx, who->context[i], who->context[i + 1]);
    d = policy_evaluate(&trust, 1, &request);
    policy_context_free(ctx);
    return d == POLICY_ALLOW;
}

/* --- authentication ------------------------------------------------------ */

/* The error codes of each protocol (spec/sigv4.md section 6). */
enum auth_error {
    AUTH_MISSING,
    AUTH_INCOMPLETE,
    AUTH_SIGNATURE,
    AUTH_UNKNOWN_KEY,
    AUTH_EXPIRED_TOKEN,
};

static const struct {
    int status;
    const char *code;
} auth_errors[3][5] = {
    [IAM_PROTO_JSON] = {{400, "MissingAuthenticationTokenException"},
                        {400, "IncompleteSignatureException"},
                        {400, "InvalidSignatureException"},
                        {400, "UnrecognizedClientException"},
                        {400, "ExpiredTokenException"}},
    [IAM_PROTO_REST] = {{403, "MissingAuthenticationTokenException"},
                        {403, "IncompleteSignatureException"},
                        {403, "InvalidSignatureException"},
                        {403, "UnrecognizedClientException"},
                        {403, "ExpiredTokenException"}},
    [IAM_PROTO_QUERY] = {{403, "MissingAuthenticationToken"},
                         {400, "IncompleteSignature"},
                         {403, "SignatureDoesNotMatch"},
                         {403, "InvalidClientTokenId"},
                         {400, "ExpiredToken"}},
};

static void set_refusal(struct iam_refusal *why, enum iam_protocol proto,
                        enum auth_error e, const char *message)
{
    why->status = auth_errors[proto][e].status;
    snprintf(why->code, sizeof(why->code), "%s", auth_errors[proto][e].code);
    snprintf(why->message, sizeof(why->message), "%s", message);
}

static enum auth_error auth_error_of(enum sigv4_failure why)
{
    switch (why) {
    case SIGV4_FAIL_MISSING:
        return AUTH_MISSING;
    case SIGV4_FAIL_INCOMPLETE:
    case SIGV4_FAIL_NO_DATE:
        return AUTH_INCOMPLETE;
    default:
        return AUTH_SIGNATURE;
    }
}

static void fill_principal(struct iam_principal *out,
                           const struct sigv4_auth *a,
                           const struct iam_entity *entity, const char *arn,
                           const char *user_id)
{
    snprintf(out->arn, sizeof(out->arn), "%s", arn);
    snprintf(out->account, sizeof(out->account), "%s", iam.account);
    snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
    snprintf(out->access_key_id, sizeof(out->access_key_id), "%s",
             a->access_key);
    snprintf(out->region, sizeof(out->region), "%s", a->region);
    out->entity = entity;
}

/*
 * Refuse, or in warn mode log and let through. Returns true when the
 * request must stop here ('why' is filled).
 */
static bool refuse(const char *request_id, enum iam_protocol proto,
                   enum auth_error e, const char *message,
                   struct iam_refusal *why)
{
    if (iam.mode == IAM_SIGV4_WARN) {
        log_msg(LOG_WARN, request_id,
                "sigv4 (warn mode): would refuse with %s: %s",
                auth_errors[proto][e].code, message);
        return false;
    }
    set_refusal(why, proto, e, message);
    return true;
}

enum kaeri_err iam_verify(const struct sigv4_request *sreq,
                          const char *signing_service,
                          enum iam_protocol proto, const char *request_id,
                          struct iam_principal *out,
                          struct iam_refusal *refusal)
{
    struct sigv4_auth a = {0};
    struct kaeri_error err = {0};
    enum sigv4_failure why = SIGV4_OK;
    const struct long_term_key *key;
    const struct session *session = NULL;
    const char *secret;
    struct buf creq, sts;
    enum kaeri_err rc = KAERI_ERR_AUTH;
    int64_t now = clock_now_s();

    memset(out, 0, sizeof(*out));
    memset(refusal, 0, sizeof(*refusal));
    if (sigv4_parse(sreq, &a, &why, &err)) {
        set_refusal(refusal, proto, auth_error_of(why),
                    why == SIGV4_FAIL_MISSING ? "Missing Authentication Token"
                                              : err.text);
        return KAERI_ERR_AUTH;
    }
    key = find_key(a.access_key);
    if (!key)
        session = find_session(a.access_key);
    if ((!key && !session) ||
        (session && (!a.security_token ||
                     strcmp(a.security_token, session->creds.session_token)))) {
        set_refusal(refusal, proto, AUTH_UNKNOWN_KEY,
                    "The security token included in the request is invalid.");
        goto out;
    }
    if (session && now >= session->creds.expiration) {
        set_refusal(refusal, proto, AUTH_EXPIRED_TOKEN,
                    "The security token included in the request is expired");
        goto out;
    }
    if (iam.mode != IAM_SIGV4_OFF &&
        sigv4_check(&a, iam.region, signing_service, now, IAM_SIGV4_WINDOW_S,
                    &why, &err) &&
        refuse(request_id, proto, auth_error_of(why), err.text, refusal))
        goto out;
    secret = key ? key->pub.secret_access_key
                 : session->creds.secret_access_key;
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    buf_init(&sts, SIGV4_CANONICAL_MAX);
    if (iam.mode != IAM_SIGV4_OFF &&
        sigv4_verify(sreq, &a, secret, &creq, &sts, &why, &err)) {
        /* What people debugging SigV4 need most: diff these with yours. */
        log_msg(LOG_WARN, request_id,
                "sigv4: %s for %s; kaeri's canonical request:\n%s\n"
                "kaeri's string to sign:\n%s",
                sigv4_failure_name(why), a.access_key, creq.data, sts.data);
        if (refuse(request_id, proto, auth_error_of(why), err.text,
                   refusal)) {
            buf_release(&creq);
            buf_release(&sts);
            goto out;
        }
    }
    buf_release(&creq);
    buf_release(&sts);
    if (key)
        fill_principal(out, &a, key->user, key->user->arn, key->user->id);
    else
        fill_principal(out, &a, session->role, session->creds.arn,
                       session->creds.assumed_role_id);
    rc = KAERI_OK;
out:
    sigv4_auth_release(&a);
    return rc;
}

/* Send 'why' in the protocol's shape. */
static void reply_refusal(struct http_req *req, enum iam_protocol proto,
                          const struct iam_refusal *why)
{
    switch (proto) {
    case IAM_PROTO_JSON:
        http_reply_aws_json_error(req, why->status, why->code, "%s",
                                  why->message);
        break;
    case IAM_PROTO_REST:
        http_reply_aws_rest_error(req, why->status, why->code, "%s",
                                  why->message);
        break;
    case IAM_PROTO_QUERY:
        http_reply_aws_query_error(req, why->status, why->code, "%s",
                                   why->message);
        break;
    }
}

enum kaeri_err iam_authenticate(struct http_req *req,
                                const char *signing_service,
                                enum iam_protocol proto,
                                struct iam_principal *out)
{
    struct sigv4_request sreq = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers.items,
        .header_count = req->headers.count,
        .body = req->body.data,
        .body_len = req->body.len,
    };
    struct iam_refusal why;

    if (!iam_verify(&sreq, signing_service, proto, req->request_id, out,
                    &why))
        return KAERI_OK;
    reply_refusal(req, proto, &why);
    return KAERI_ERR_AUTH;
}

enum kaeri_err iam_authenticate_json(struct http_req *req,
                                     const char *signing_service,
                                     struct iam_principal *out)
{
    return iam_authenticate(req, signing_service, IAM_PROTO_JSON, out);
}

/* --- authorization ------------------------------------------------------- */

static enum policy_decision decide(const struct iam_principal *who,
                                   const char *action, const char *resource)
{
    const struct iam_entity *e = who->entity;
    struct policy_request request = {.action = action, .resource = resource};

    if (!e)
        return POLICY_IMPLICIT_DENY;
    return policy_evaluate((const struct policy *const *)e->policies,
                           e->policy_count, &request);
}

bool iam_allowed(const struct iam_principal *who, const char *action,
                 const char *resource)
{
    return decide(who, action, resource) == POLICY_ALLOW;
}

enum kaeri_err iam_authorize(struct http_req *req,
                             const struct iam_principal *who,
                             const char *action, const char *resource,
                             enum iam_protocol proto)
{
    enum policy_decision d = decide(who, action, resource);
    char message[1024];

    if (d == POLICY_ALLOW)
        return KAERI_OK;
    /* AWS's wording, naming the principal, action and resource. */
    if (d == POLICY_EXPLICIT_DENY)
        snprintf(message, sizeof(message),
                 "User: %s is not authorized to perform: %s on resource: %s "
                 "with an explicit deny in an identity-based policy",
                 who->arn, action, resource);
    else
        snprintf(message, sizeof(message),
                 "User: %s is not authorized to perform: %s on resource: %s "
                 "because no identity-based policy allows the %s action",
                 who->arn, action, resource, action);
    log_msg(LOG_INFO, req->request_id, "iam: %s: %s",
            policy_decision_name(d), message);
    switch (proto) {
    case IAM_PROTO_JSON:
        http_reply_aws_json_error(req, 400, "AccessDeniedException", "%s",
                                  message);
        break;
    case IAM_PROTO_REST:
        http_reply_aws_rest_error(req, 403, "AccessDeniedException", "%s",
                                  message);
        break;
    case IAM_PROTO_QUERY:
        http_reply_aws_query_error(req, 403, "AccessDenied", "%s", message);
        break;
    }
    return KAERI_ERR_DENIED;
}

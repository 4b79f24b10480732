/*
 * svc_events.c - AppSync Events: POST /event (HTTP publish, spec section
 * 3) and the realtime WebSocket (section 5), on the router and ws.h, for
 * one or more Event APIs told apart by Host (<apiId>.appsync-api.* or
 * <apiId>.appsync-realtime-api.*; the first API answers any other host).
 *
 * Config, section "events":
 *
 *   {"keepAliveSeconds": 60,
 *    "apis": [{
 *      "id": "kaerieventsapi000000000001", "name": "kaeri-chat-events",
 *      "apiKeys": [{"key": "da2-...", "expires": "2099-12-31T00:00:00Z"}],
 *      "authProviders": {"cognito": {"userPool": "<pool id>",
 *                                    "clientIdRegex": "^kaeri.*"}},
 *      "connectionAuthModes": ["AMAZON_COGNITO_USER_POOLS", "AWS_IAM"],
 *      "defaultPublishAuthModes": ["AWS_IAM"],
 *      "defaultSubscribeAuthModes": ["AMAZON_COGNITO_USER_POOLS"],
 *      "namespaces": [{"name": "bedrock-stream-response",
 *                      "publishAuthModes": [..], "subscribeAuthModes": [..],
 *                      "onSubscribe": [rules], "onPublish": [rules]}],
 *      "limits": {"subscriptionsPerConnection": 100,
 *                 "connectionMaxSeconds": 86400, "eventBytes": 245760}}]}
 *
 * An auth mode is "API_KEY", "AWS_IAM" or "AMAZON_COGNITO_USER_POOLS", or
 * AWS's {"authType": ...} object; OPENID_CONNECT and AWS_LAMBDA are
 * refused (not emulated). Rules are chanrule.h's. An API key without
 * "expires" never expires; expiry is judged by kaeri's clock.
 *
 * What the client sees, and what is UNVERIFIED against AWS (README,
 * known differences):
 *   - malformed body, bad channel, events not 1..5 JSON strings: 400
 *     BadRequestException; the texts "Invalid Channel Format" and "Input
 *     exceeded 5 event limit" (HTTP) / InvalidInputError "input exceeded
 *     5 event limit" (WebSocket) are AWS's, the others kaeri's. The status
 *     400 itself is UNVERIFIED.
 *   - unknown namespace: UnauthorizedException without a message (the
 *     official Kotlin client's tests then show its fallback text); 401.
 *   - no credential a mode accepts, bad API key, expired key, bad token:
 *     401 UnauthorizedException "You are not authorized to make this
 *     call." (AWS's text for a bad key; for tokens UNVERIFIED, expired
 *     tokens say "Token has expired.").
 *   - SigV4 refusals: 403 with IAM's codes (InvalidSignatureException,
 *     UnrecognizedClientException, ...) as errorType: UNVERIFIED.
 *   - IAM policy denial: 401 UnauthorizedException naming principal,
 *     action and resource: UNVERIFIED.
 *   - onSubscribe/onPublish util.unauthorized(): UnauthorizedException;
 *     util.error(msg): BadRequestException with msg: UNVERIFIED.
 *   - an event over the size limit is listed in "failed" with code 400:
 *     UNVERIFIED (AWS may refuse the whole request).
 *   - WebSocket: the connection's authorization is checked at the
 *     upgrade, and a refusal answered with connection_error on the first
 *     message, then the socket closed; duplicate subscription id:
 *     subscribe_error BadRequestException; unknown subscription id on
 *     unsubscribe: unsubscribe_error BadRequestException; a subscribe or
 *     publish without "authorization" is checked with the connection's
 *     own header map (AWS may refuse it): all UNVERIFIED.
 *   - IAM connect needs appsync:EventConnect on the API's ARN or on one
 *     of its namespaces' ARNs (AWS's exact resource is UNVERIFIED).
 *
 * Left out on purpose: OIDC and Lambda authorizers, handler integrations
 * (data sources), custom domains, and real APPSYNC_JS code.
 */
#include "svc_events.h"
#include "alloc.h"
#include "buf.h"
#include "chanrule.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "fault.h"
#include "hub.h"
#include "iam.h"
#include "jwt.h"
#include "log.h"
#include "realtime.h"
#include "sigv4.h"
#include "svc_admin.h"
#include "svc_cognito.h"

#include <ctype.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EVENTS_MAX_EVENTS        5
#define EVENTS_DEFAULT_KA_S      60
#define EVENTS_DEFAULT_SUBS      100
#define EVENTS_DEFAULT_LIFETIME  86400
#define EVENTS_DEFAULT_EVENT_MAX 245760 /* 240 KB, spec section 3 */
#define EVENTS_BODY_MAX          (2u << 20)

#define NOT_AUTHORIZED "You are not authorized to make this call."
#define REFUSED_GRACE_S                            \
    10 /* a refused connection waits this long for \
          a message to answer with connection_error */

/* Close codes (RFC 6455 section 7.4.1). */
#define CLOSE_GOING_AWAY 1001
#define CLOSE_POLICY     1008

enum auth_mode {
    AUTH_API_KEY = 1 << 0,
    AUTH_IAM = 1 << 1,
    AUTH_COGNITO = 1 << 2,
};

static const struct {
    const char *name;
    enum auth_mode mode;
} auth_modes[] = {
    {"API_KEY", AUTH_API_KEY},
    {"AWS_IAM", AUTH_IAM},
    {"AMAZON_COGNITO_USER_POOLS", AUTH_COGNITO},
};

struct events_ns {
    char *name;
    char *arn;
    unsigned publish_modes; /* enum auth_mode */
    unsigned subscribe_modes;
    struct chanrule_rules *on_subscribe; /* NULL: allow */
    struct chanrule_rules *on_publish;   /* NULL: forward every event */
};

struct events_key {
    char *key;
    int64_t expires; /* epoch seconds; 0 = never */
};

struct events_api {
    char *id;
    char *name;
    char *arn;
    struct events_key *keys;
    size_t nkeys;
    char *user_pool; /* Cognito provider, NULL when none */
    regex_t client_re;
    bool has_client_re;
    unsigned connection_modes;
    struct events_ns *ns;
    size_t nns;
    size_t max_subs;
    int64_t max_lifetime_s;
    size_t event_max;
    struct hub *hub;
};

struct events_conn;

static struct {
    struct events_api *apis;
    size_t napis;
    struct loop *loop;
    char *region;
    char *account;
    char *http_base; /* "https://127.0.0.1:4581" or the main port's URL */
    char *ws_base;   /* "wss://127.0.0.1:4581" */
    int64_t keepalive_s;
    struct events_conn *conns; /* open WebSockets, for release() */
} ev;

/* --- small helpers ---------------------------------------------------- */

/* The header 'name' of a lower-cased list (ASCII case-insensitive). */
static const char *header_get(const struct http_header *h, size_t n,
                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, name))
            return h[i].value;
    return NULL;
}

static bool parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, n = 0;
    const char *p;
    time_t t;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
               &n) != 6 ||
        n != 19)
        return false;
    p = s + n;
    if (*p == '.') /* fractional seconds, ignored */
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (strcmp(p, "Z") && strcmp(p, "+00:00"))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

/* The API a Host header names, else the first one. */
static struct events_api *api_for_host(const char *host)
{
    static const char *const markers[] = {".appsync-api.",
                                          ".appsync-realtime-api."};

    for (size_t m = 0; host && m < ARRAY_SIZE(markers); m++) {
        const char *dot = strstr(host, markers[m]);

        if (!dot)
            continue;
        for (size_t i = 0; i < ev.napis; i++)
            if (strlen(ev.apis[i].id) == (size_t)(dot - host) &&
                !strncasecmp(ev.apis[i].id, host, (size_t)(dot - host)))
                return &ev.apis[i];
    }
    return ev.napis ? &ev.apis[0] : NULL;
}

static const struct events_ns *ns_find(const struct events_api *api,
                                       const char *name)
{
    for (size_t i = 0; i < api->nns; i++)
        if (!strcmp(api->ns[i].name, name))
            return &api->ns[i];
    return NULL;
}

/* --- authorization ---------------------------------------------------- */

/* A request to authorize: headers (lower-case names) and, for SigV4, the
 * request they signed. */
struct auth_req {
    const struct http_header *headers;
    size_t nheaders;
    const char *method;
    const char *path;
    const char *query;
    const char *body;
    size_t body_len;
    const char *request_id; /* may be NULL */
    const char *source_ip;  /* may be NULL */
    /* a second form the client may have signed (WebSocket only): path
     * and body, each NULL when the same as above */
    const char *alt_path;
    const char *alt_body;
    /* a header map rather than real headers: members the signature does
     * not name (Amplify adds x-amz-user-agent after signing) are left
     * out before SigV4 sees them */
    bool signed_only;
};

struct auth_ok {
    enum auth_mode mode;
    json_t *identity; /* ctx.identity, owned; NULL for API_KEY */
    char who[320];    /* for logs: key prefix, sub or ARN */
};

struct auth_fail {
    int status;
    char type[64];
    char message[512];
    bool no_message; /* send the error without "message" */
};

static enum kaeri_err fail(struct auth_fail *why, int status, const char *type,
                           const char *fmt, ...) KAERI_PRINTF(4, 5);

static enum kaeri_err fail(struct auth_fail *why, int status, const char *type,
                           const char *fmt, ...)
{
    va_list ap;

    why->status = status;
    snprintf(why->type, sizeof(why->type), "%s", type);
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
    why->no_message = false;
    return status == 401 || status == 403 ? KAERI_ERR_AUTH : KAERI_ERR_INVALID;
}

static enum kaeri_err auth_api_key(const struct events_api *api,
                                   const char *key, struct auth_ok *ok,
                                   struct auth_fail *why)
{
    int64_t now = clock_now_s();

    for (size_t i = 0; i < api->nkeys; i++) {
        const struct events_key *k = &api->keys[i];

        if (strlen(k->key) != strlen(key) ||
            !crypto_memeq(k->key, key, strlen(key)))
            continue;
        if (k->expires && now >= k->expires) {
            log_info("events: api '%s': api key %.8s... expired", api->id, key);
            return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
        }
        ok->mode = AUTH_API_KEY;
        ok->identity = NULL;
        snprintf(ok->who, sizeof(ok->who), "api key %.8s...", key);
        return KAERI_OK;
    }
    return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
}

static enum kaeri_err auth_cognito(const struct events_api *api,
                                   const char *token, const char *source_ip,
                                   struct auth_ok *ok, struct auth_fail *why)
{
    struct jwt jwt = {0};
    struct kaeri_error err = {0};
    enum kaeri_err rc;
    const char *iss, *client, *sub;
    size_t n, m;

    if (!strncasecmp(token, "Bearer ", 7)) /* tolerated, AWS wants it raw */
        token += 7;
    rc = cognito_verify_token(token, NULL, NULL, &jwt, &err);
    if (rc == KAERI_ERR_EXPIRED)
        return fail(why, 401, "UnauthorizedException", "Token has expired.");
    if (rc) {
        log_info("events: api '%s': token refused: %s", api->id, err.text);
        return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
    }
    iss = json_string_value(json_object_get(jwt.claims, "iss"));
    n = iss ? strlen(iss) : 0;
    m = strlen(api->user_pool);
    if (!iss || n <= m || iss[n - m - 1] != '/' ||
        strcmp(iss + n - m, api->user_pool)) {
        log_info("events: api '%s': token of issuer '%s', not of pool '%s'",
                 api->id, iss ? iss : "", api->user_pool);
        jwt_release(&jwt);
        return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
    }
    client = json_string_value(json_object_get(jwt.claims, "client_id"));
    if (!client)
        client = json_string_value(json_object_get(jwt.claims, "aud"));
    if (api->has_client_re &&
        (!client || regexec(&api->client_re, client, 0, NULL, 0))) {
        log_info("events: api '%s': client id '%s' does not match "
                 "clientIdRegex",
                 api->id, client ? client : "");
        jwt_release(&jwt);
        return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
    }
    sub = json_string_value(json_object_get(jwt.claims, "sub"));
    ok->mode = AUTH_COGNITO;
    ok->identity = chanrule_identity_cognito(jwt.claims, source_ip);
    snprintf(ok->who, sizeof(ok->who), "sub %s", sub ? sub : "?");
    jwt_release(&jwt);
    return KAERI_OK;
}

/*
 * SigV4 over the request, then the IAM action on one of 'resources'
 * (NULL-ended).
 */
/*
 * The headers a map's signature covers: "authorization" and the names in
 * its SignedHeaders (a new array of borrowed strings; free() it).
 */
static struct http_header *signed_headers(const struct http_header *h, size_t n,
                                          size_t *count)
{
    struct http_header *out = xcalloc(n ? n : 1, sizeof(*out));
    const char *authz = header_get(h, n, "authorization");
    const char *list = authz ? strstr(authz, "SignedHeaders=") : NULL;
    size_t len = 0;

    *count = 0;
    if (list) {
        list += strlen("SignedHeaders=");
        len = strcspn(list, ", ");
    }
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(h[i].name);
        bool named = !strcasecmp(h[i].name, "authorization");

        for (const char *p = list; !named && p && p < list + len;) {
            size_t w = strcspn(p, ";, ");

            if (w == nl && !strncasecmp(p, h[i].name, nl))
                named = true;
            p += w + (p[w] == ';');
            if (!w)
                break;
        }
        if (named)
            out[(*count)++] = h[i];
    }
    return out;
}

static enum kaeri_err auth_iam(const struct auth_req *ar, const char *action,
                               const char *const resources[],
                               struct auth_ok *ok, struct auth_fail *why)
{
    struct sigv4_request sreq = {
        .method = ar->method,
        .path = ar->path,
        .query = ar->query,
        .headers = ar->headers,
        .header_count = ar->nheaders,
        .body = ar->body,
        .body_len = ar->body_len,
    };
    struct iam_principal who;
    struct iam_refusal refusal;
    struct chanrule_iam id = {0};
    struct http_header *kept = NULL;
    enum kaeri_err rc;

    if (ar->signed_only) {
        kept = signed_headers(ar->headers, ar->nheaders, &sreq.header_count);
        sreq.headers = kept;
    }
    if (iam_verify(&sreq, "appsync", IAM_PROTO_REST, ar->request_id, &who,
                   &refusal)) {
        if (strcmp(refusal.code, "InvalidSignatureException") ||
            (!ar->alt_path && !ar->alt_body)) {
            rc = fail(why, refusal.status, refusal.code, "%s", refusal.message);
            goto out;
        }
        /* an older client's form: try it before refusing */
        if (ar->alt_path)
            sreq.path = ar->alt_path;
        if (ar->alt_body) {
            sreq.body = ar->alt_body;
            sreq.body_len = strlen(ar->alt_body);
        }
        if (iam_verify(&sreq, "appsync", IAM_PROTO_REST, ar->request_id, &who,
                       &refusal)) {
            rc = fail(why, refusal.status, refusal.code, "%s", refusal.message);
            goto out;
        }
        log_msg(LOG_INFO, ar->request_id,
                "events: the signature matches the older client form (POST "
                "%s, body %s); the mismatch above is harmless",
                sreq.path, (const char *)sreq.body);
    }
    for (size_t i = 0; resources[i]; i++) {
        if (!iam_allowed(&who, action, resources[i]))
            continue;
        id.account_id = who.account;
        id.user_arn = who.arn;
        id.username = who.user_id;
        id.source_ip = ar->source_ip;
        ok->mode = AUTH_IAM;
        ok->identity = chanrule_identity_iam(&id);
        snprintf(ok->who, sizeof(ok->who), "%s", who.arn);
        rc = KAERI_OK;
        goto out;
    }
    log_msg(LOG_INFO, ar->request_id, "events: %s may not %s on '%s'", who.arn,
            action, resources[0]);
    rc = fail(why, 401, "UnauthorizedException",
              "User: %s is not authorized to perform: %s on resource: %s",
              who.arn, action, resources[0]);
out:
    free(kept);
    return rc;
}

/*
 * Accept 'ar' if it carries a credential one of 'modes' takes and that
 * credential checks out: SigV4 (Authorization: AWS4-HMAC-SHA256 ...), a
 * Cognito token (any other Authorization) or an API key (x-api-key).
 * When several are present, the first that passes wins; when all fail,
 * the first failure is the answer.
 */
static enum kaeri_err authorize(const struct events_api *api, unsigned modes,
                                const struct auth_req *ar, const char *action,
                                const char *const resources[],
                                struct auth_ok *ok, struct auth_fail *why)
{
    const char *authz = header_get(ar->headers, ar->nheaders, "authorization");
    const char *key = header_get(ar->headers, ar->nheaders, "x-api-key");
    bool sigv4 = authz && !strncmp(authz, SIGV4_ALGORITHM, 16);
    struct auth_fail first = {0};
    bool tried = false;

    memset(ok, 0, sizeof(*ok));
    if (sigv4 && (modes & AUTH_IAM)) {
        if (!auth_iam(ar, action, resources, ok, why))
            return KAERI_OK;
        first = *why;
        tried = true;
    }
    if (authz && *authz && !sigv4 && (modes & AUTH_COGNITO) && api->user_pool) {
        if (!auth_cognito(api, authz, ar->source_ip, ok, why))
            return KAERI_OK;
        if (!tried)
            first = *why;
        tried = true;
    }
    if (key && (modes & AUTH_API_KEY)) {
        if (!auth_api_key(api, key, ok, why))
            return KAERI_OK;
        if (!tried)
            first = *why;
        tried = true;
    }
    if (tried) {
        *why = first;
        return KAERI_ERR_AUTH;
    }
    return fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
}

/* --- publish (HTTP and WebSocket) --------------------------------------- */

struct publish_out {
    json_t *successful; /* [{identifier, index}] */
    json_t *failed;     /* [{identifier, index, code, message}] */
    size_t delivered;   /* subscriptions reached, summed over events */
};

static void publish_out_release(struct publish_out *out)
{
    json_decref(out->successful);
    json_decref(out->failed);
    memset(out, 0, sizeof(*out));
}

/* Index of the event whose identifier is 'id' in 'ids', or -1. */
static long id_index(char (*ids)[CRYPTO_UUID_LEN + 1], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (id && !strcmp(ids[i], id))
            return (long)i;
    return -1;
}

/*
 * Validate 'events' (1..5 strings of JSON), run the namespace's onPublish
 * rules and hand what they keep to the hub, in order. 'ws' picks the
 * WebSocket's error texts. On failure 'why' holds the answer.
 */
static enum kaeri_err publish(struct events_api *api,
                              const struct events_ns *ns,
                              const struct chanrule_channel *ch,
                              const json_t *events, const json_t *identity,
                              bool ws, const char *request_id,
                              struct publish_out *out, struct auth_fail *why)
{
    char(*ids)[CRYPTO_UUID_LEN + 1] = NULL;
    bool *too_big = NULL;
    json_t *ctx_events = NULL;
    struct chanrule_result res = {0};
    struct chanrule_ctx ctx = {0};
    enum kaeri_err rc = KAERI_OK;
    uint64_t gen = 0;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (!json_is_array(events))
        return fail(why, 400, "BadRequestException",
                    "Invalid events: expected an array of strings");
    n = json_array_size(events);
    if (n == 0)
        return ws ? fail(why, 400, "InvalidInputError",
                         "input requires at least 1 event")
                  : fail(why, 400, "BadRequestException",
                         "Input requires at least 1 event");
    if (n > EVENTS_MAX_EVENTS)
        return ws ? fail(why, 400, "InvalidInputError",
                         "input exceeded 5 event limit")
                  : fail(why, 400, "BadRequestException",
                         "Input exceeded 5 event limit");
    ids = xcalloc(n, sizeof(*ids));
    too_big = xcalloc(n, sizeof(*too_big));
    ctx_events = json_array();
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(events, i);
        json_t *payload;

        if (!json_is_string(item) ||
            !(payload =
                  json_loadb(json_string_value(item), json_string_length(item),
                             JSON_DECODE_ANY, NULL))) {
            rc =
                fail(why, 400, ws ? "InvalidInputError" : "BadRequestException",
                     "Invalid event at index %zu: expected a string "
                     "holding JSON",
                     i);
            goto out;
        }
        crypto_uuid(ids[i]);
        too_big[i] = json_string_length(item) > api->event_max;
        if (too_big[i])
            json_decref(payload);
        else
            json_array_append_new(
                ctx_events,
                json_pack("{s:s, s:o}", "id", ids[i], "payload", payload));
    }
    ctx.op = CHANRULE_PUBLISH;
    ctx.channel = ch;
    ctx.identity = identity;
    ctx.events = ctx_events;
    if (chanrule_eval(ns->on_publish, &ctx, &res)) {
        rc = fail(why, 500, "InternalFailure", "onPublish handler failed");
        goto out;
    }
    if (res.verdict == CHANRULE_UNAUTHORIZED) {
        log_msg(LOG_INFO, request_id,
                "events: onPublish of '%s' refused the publish to '%s'",
                ns->name, ch->path);
        rc = fail(why, 401, "UnauthorizedException", NOT_AUTHORIZED);
        goto out;
    }
    if (res.verdict == CHANRULE_ERROR) {
        rc = fail(why, 400, "BadRequestException", "%s",
                  res.message ? res.message : "Error");
        goto out;
    }
    out->successful = json_array();
    out->failed = json_array();
    hub_set_faults(api->hub, faults_active(&gen), gen);
    for (size_t i = 0; i < json_array_size(res.events); i++) {
        const json_t *e = json_array_get(res.events, i);
        long k = id_index(ids, n, json_string_value(json_object_get(e, "id")));
        const json_t *item;

        if (k < 0)
            continue;
        item = json_array_get(events, (size_t)k);
        out->delivered += hub_publish(api->hub, ch, json_string_value(item),
                                      json_string_length(item));
    }
    for (size_t i = 0; i < n; i++) {
        const char *error = NULL;

        for (size_t f = 0; f < json_array_size(res.failed); f++) {
            const json_t *e = json_array_get(res.failed, f);

            if (id_index(ids, n, json_string_value(json_object_get(e, "id"))) ==
                (long)i)
                error = json_string_value(json_object_get(e, "error"));
        }
        if (too_big[i])
            error = "Event exceeds the 240 KB size limit";
        if (error)
            json_array_append_new(
                out->failed,
                json_pack("{s:s, s:I, s:i, s:s}", "identifier", ids[i], "index",
                          (json_int_t)i, "code", 400, "message", error));
        else
            json_array_append_new(out->successful,
                                  json_pack("{s:s, s:I}", "identifier", ids[i],
                                            "index", (json_int_t)i));
    }
out:
    chanrule_result_release(&res);
    json_decref(ctx_events);
    free(ids);
    free(too_big);
    return rc;
}

/* --- HTTP: POST /event -------------------------------------------------- */

static void reply_cors(struct http_req *req)
{
    http_reply_header(req, "Access-Control-Allow-Origin", "*");
}

static void reply_error(struct http_req *req, const struct auth_fail *why)
{
    json_t *e = json_pack("{s:s}", "errorType", why->type);

    if (!why->no_message)
        json_object_set_new(e, "message", json_string(why->message));
    snprintf(req->error_code, sizeof(req->error_code), "%s", why->type);
    reply_cors(req);
    http_reply_header(req, "x-amzn-ErrorType", why->type);
    http_reply_json(req, why->status, "application/json",
                    json_pack("{s:[o]}", "errors", e));
}

static void handle_publish(struct http_req *req)
{
    struct events_api *api = api_for_host(http_req_header(req, "host"));
    struct auth_req ar = {
        .headers = req->headers.items,
        .nheaders = req->headers.count,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .body = req->body.data,
        .body_len = req->body.len,
        .request_id = req->request_id,
    };
    struct auth_fail why = {0};
    struct auth_ok ok = {0};
    struct publish_out out = {0};
    struct chanrule_channel ch;
    struct kaeri_error err;
    const struct events_ns *ns;
    const char *resources[2] = {NULL, NULL};
    json_t *body = NULL;
    const json_t *channel;

    snprintf(req->operation, sizeof(req->operation), "Publish");
    if (!api) {
        fail(&why, 404, "NotFoundException", "No Event API is configured");
        goto refuse;
    }
    body = json_loadb(req->body.data, req->body.len, 0, NULL);
    if (!json_is_object(body)) {
        fail(&why, 400, "BadRequestException",
             "Invalid request body: expected a JSON object");
        goto refuse;
    }
    channel = json_object_get(body, "channel");
    if (!json_is_string(channel) ||
        chanrule_channel_parse(json_string_value(channel),
                               json_string_length(channel), CHANRULE_PUBLISH,
                               &ch, &err)) {
        fail(&why, 400, "BadRequestException", CHANRULE_INVALID_CHANNEL);
        goto refuse;
    }
    ns = ns_find(api, ch.seg[0]);
    if (!ns) {
        log_msg(LOG_INFO, req->request_id,
                "events: api '%s' has no namespace '%s'", api->id, ch.seg[0]);
        fail(&why, 401, "UnauthorizedException", "%s", "");
        why.no_message = true;
        goto refuse;
    }
    resources[0] = ns->arn;
    if (authorize(api, ns->publish_modes, &ar, "appsync:EventPublish",
                  resources, &ok, &why))
        goto refuse;
    if (publish(api, ns, &ch, json_object_get(body, "events"), ok.identity,
                false, req->request_id, &out, &why))
        goto refuse;
    log_msg(LOG_INFO, req->request_id,
            "events: %s published %zu event(s) to '%s' (%zu failed), "
            "%zu deliveries",
            ok.who, json_array_size(out.successful), ch.path,
            json_array_size(out.failed), out.delivered);
    reply_cors(req);
    http_reply_json(req, 200, "application/json",
                    json_pack("{s:O, s:O}", "failed", out.failed, "successful",
                              out.successful));
    goto done;
refuse:
    reply_error(req, &why);
done:
    publish_out_release(&out);
    json_decref(ok.identity);
    json_decref(body);
}

/* CORS preflight for browser apps that post from another origin. */
static void handle_preflight(struct http_req *req)
{
    const char *asked = http_req_header(req, "access-control-request-headers");

    snprintf(req->operation, sizeof(req->operation), "Preflight");
    reply_cors(req);
    http_reply_header(req, "Access-Control-Allow-Methods", "POST, OPTIONS");
    http_reply_header(req, "Access-Control-Allow-Headers",
                      asked ? asked
                            : "content-type, x-api-key, authorization, "
                              "x-amz-date, x-amz-security-token, "
                              "x-amz-user-agent");
    http_reply_header(req, "Access-Control-Max-Age", "86400");
    http_reply(req, 200, "text/plain", "", 0);
}

/* Exactly /event, and not an API Gateway host's path. */
static bool is_event_path(const struct http_req *req)
{
    const char *host = http_req_header(req, "host");

    return !strcmp(req->path, "/event") &&
           !(host && strstr(host, ".execute-api."));
}

static const struct route events_routes[] = {
    {.method = "POST", .match = is_event_path, .handle = handle_publish},
    {.method = "OPTIONS", .match = is_event_path, .handle = handle_preflight},
    {0},
};

/* --- the realtime WebSocket --------------------------------------------- */

struct events_conn {
    struct ws_conn *ws;
    struct events_api *api;
    struct http_headers auth; /* connection's header map, lower case */
    bool authorized;          /* connect auth passed; in the hub */
    struct auth_fail refused; /* why not */
    bool acked;
    bool closing;
    struct loop_timer ka; /* stopped in 'closed' */
    struct loop_timer lifetime;
    struct events_conn *prev, *next; /* on ev.conns */
};

/* Queue one frame (freed here); a full queue closes the connection. */
static void conn_send(struct events_conn *ec, char *frame)
{
    enum kaeri_err rc;

    if (ec->closing) {
        free(frame);
        return;
    }
    rc = ws_send_text(ec->ws, frame, strlen(frame));
    free(frame);
    if (rc == KAERI_ERR_LIMIT) {
        log_warn("events: connection %" PRIu64 " reads too slowly (%zu "
                 "bytes queued), closing it",
                 ec->ws->id, ec->ws->queued_bytes);
        frame = realtime_error("error", NULL, "LimitExceededError",
                               "Subscriber too slow: the connection's send "
                               "queue is full");
        if (ws_send_text(ec->ws, frame, strlen(frame)))
            log_debug("events: connection %" PRIu64 ": no room for the "
                      "error frame either",
                      ec->ws->id);
        free(frame);
        ec->closing = true;
        ws_close(ec->ws, CLOSE_POLICY, "subscriber too slow: queue full");
    } else if (rc) {
        ec->closing = true;
    }
}

static void conn_close(struct events_conn *ec, int code, const char *reason)
{
    if (ec->closing)
        return;
    ec->closing = true;
    ws_close(ec->ws, code, reason);
}

static void send_error(struct events_conn *ec, const char *type, const char *id,
                       const struct auth_fail *why)
{
    conn_send(ec, realtime_error(type, id, why->type,
                                 why->no_message ? NULL : why->message));
}

static void on_keepalive(void *ctx)
{
    struct events_conn *ec = ctx;

    conn_send(ec, realtime_ka());
    if (!ec->closing)
        loop_timer_start(ev.loop, &ec->ka, ev.keepalive_s * 1000000);
}

static void on_lifetime(void *ctx)
{
    struct events_conn *ec = ctx;

    if (!ec->authorized) {
        log_info("events: refused connection %" PRIu64 " sent nothing, "
                 "closing it",
                 ec->ws->id);
        send_error(ec, "connection_error", NULL, &ec->refused);
        conn_close(ec, CLOSE_POLICY, ec->refused.type);
        return;
    }
    log_info("events: connection %" PRIu64 " reached its maximum duration "
             "(%" PRId64 " s), closing it",
             ec->ws->id, ec->api->max_lifetime_s);
    conn_close(ec, CLOSE_GOING_AWAY, "connection reached its maximum duration");
}

/* Lower-case copies of a header map's members, for SigV4 and lookups. */
static void headers_from_map(const json_t *map, struct http_headers *out)
{
    const char *key;
    const json_t *value;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(map) || !json_object_size(map))
        return;
    out->items = xcalloc(json_object_size(map), sizeof(*out->items));
    out->cap = json_object_size(map);
    json_object_foreach ((json_t *)map, key, value) {
        struct http_header *h = &out->items[out->count++];

        h->name = xstrdup(key);
        for (char *p = h->name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        h->value = xstrdup(json_string_value(value));
    }
}

/* The upgrade's own headers, for clients that send auth as headers. */
static void headers_copy(const struct http_headers *in,
                         struct http_headers *out)
{
    memset(out, 0, sizeof(*out));
    if (!in->count)
        return;
    out->items = xcalloc(in->count, sizeof(*out->items));
    out->cap = in->count;
    for (size_t i = 0; i < in->count; i++) {
        out->items[i].name = xstrdup(in->items[i].name);
        out->items[i].value = xstrdup(in->items[i].value);
    }
    out->count = in->count;
}

/* The signed POST /event an IAM header map stands for (section 5.3). */
static void auth_req_ws(struct auth_req *ar, const struct http_headers *h,
                        const char *body, const struct events_conn *ec)
{
    memset(ar, 0, sizeof(*ar));
    ar->headers = h->items;
    ar->nheaders = h->count;
    ar->method = "POST";
    ar->path = "/event";
    ar->query = "";
    ar->body = body;
    ar->body_len = strlen(body);
    ar->source_ip = ec->ws->peer_ip;
    ar->signed_only = true;
}

static void events_open(struct ws_conn *c)
{
    struct events_conn *ec = xcalloc(1, sizeof(*ec));
    struct events_api *api = api_for_host(ws_conn_header(c, "host"));
    struct kaeri_error err = {0};
    struct auth_req ar;
    struct auth_ok ok = {0};
    const char *resources[64 + 2];
    size_t nres = 0;
    json_t *map = NULL;
    enum kaeri_err rc;

    ec->ws = c;
    ec->api = api;
    c->service_ctx = ec;
    ec->next = ev.conns;
    if (ev.conns)
        ev.conns->prev = ec;
    ev.conns = ec;
    loop_timer_init(&ec->ka, on_keepalive, ec);
    loop_timer_init(&ec->lifetime, on_lifetime, ec);
    /* a refused connection is answered on its first message, or after
     * a grace period; an accepted one gets its real lifetime below */
    if (ev.loop)
        loop_timer_start(ev.loop, &ec->lifetime, REFUSED_GRACE_S * 1000000);
    if (!api) {
        fail(&ec->refused, 404, "NotFoundException",
             "No Event API is configured");
        return;
    }
    rc = realtime_auth_header(ws_conn_header(c, "sec-websocket-protocol"), &map,
                              &err);
    if (rc == KAERI_ERR_NOT_FOUND) {
        headers_copy(&c->headers, &ec->auth);
    } else if (rc) {
        log_info("events: connection %" PRIu64 ": bad header subprotocol: "
                 "%s",
                 c->id, err.text);
        fail(&ec->refused, 401, "UnauthorizedException", NOT_AUTHORIZED);
        return;
    } else {
        headers_from_map(map, &ec->auth);
        json_decref(map);
    }
    resources[nres++] = api->arn;
    for (size_t i = 0; i < api->nns && nres < ARRAY_SIZE(resources) - 1; i++)
        resources[nres++] = api->ns[i].arn;
    resources[nres] = NULL;
    auth_req_ws(&ar, &ec->auth, "{}", ec);
    ar.alt_path = "/event/connect"; /* Amplify JS before CONNECT_URI '' */
    if (authorize(api, api->connection_modes, &ar, "appsync:EventConnect",
                  resources, &ok, &ec->refused)) {
        log_info("events: connection %" PRIu64 " to api '%s' refused: %s %s",
                 c->id, api->id, ec->refused.type, ec->refused.message);
        return;
    }
    ec->authorized = true;
    hub_conn_add(api->hub, c);
    loop_timer_start(ev.loop, &ec->lifetime, api->max_lifetime_s * 1000000);
    log_info("events: connection %" PRIu64 " to api '%s' open (%s%s)", c->id,
             api->id, ok.who, c->tls ? ", tls" : "");
    json_decref(ok.identity);
}

/* The header map a subscribe or publish message is checked with. */
static void message_auth(const struct events_conn *ec,
                         const struct realtime_msg *m, struct http_headers *out)
{
    if (m->authorization)
        headers_from_map(m->authorization, out);
    else
        headers_copy(&ec->auth, out);
}

static void on_subscribe(struct events_conn *ec, const struct realtime_msg *m)
{
    struct events_api *api = ec->api;
    struct chanrule_channel ch;
    struct kaeri_error err;
    struct http_headers hdrs = {0};
    struct auth_req ar;
    struct auth_ok ok = {0};
    struct auth_fail why = {0};
    struct chanrule_ctx ctx = {0};
    struct chanrule_result res = {0};
    const struct events_ns *ns;
    const char *resources[2] = {NULL, NULL};
    char *body = NULL;

    if (chanrule_channel_parse(m->channel, strlen(m->channel),
                               CHANRULE_SUBSCRIBE, &ch, &err)) {
        fail(&why, 400, "BadRequestException", CHANRULE_INVALID_CHANNEL);
        goto refuse;
    }
    ns = ns_find(api, ch.seg[0]);
    if (!ns) {
        fail(&why, 401, "UnauthorizedException", "%s", "");
        why.no_message = true;
        goto refuse;
    }
    if (hub_subscription_count(api->hub, ec->ws->id) >= api->max_subs) {
        fail(&why, 400, "MaxSubscriptionsReachedError",
             "Max number of %zu subscriptions reached", api->max_subs);
        goto refuse;
    }
    message_auth(ec, m, &hdrs);
    body = realtime_signed_body(REALTIME_SUBSCRIBE, m->channel, NULL);
    auth_req_ws(&ar, &hdrs, body, ec);
    resources[0] = ns->arn;
    if (authorize(api, ns->subscribe_modes, &ar, "appsync:EventSubscribe",
                  resources, &ok, &why))
        goto refuse;
    ctx.op = CHANRULE_SUBSCRIBE;
    ctx.channel = &ch;
    ctx.identity = ok.identity;
    if (chanrule_eval(ns->on_subscribe, &ctx, &res)) {
        fail(&why, 500, "InternalFailure", "onSubscribe handler failed");
        goto refuse;
    }
    if (res.verdict == CHANRULE_UNAUTHORIZED) {
        fail(&why, 401, "UnauthorizedException", NOT_AUTHORIZED);
        goto refuse;
    }
    if (res.verdict == CHANRULE_ERROR) {
        fail(&why, 400, "BadRequestException", "%s",
             res.message ? res.message : "Error");
        goto refuse;
    }
    switch (hub_subscribe(api->hub, ec->ws->id, m->id, &ch)) {
    case KAERI_OK:
        break;
    case KAERI_ERR_EXISTS:
        fail(&why, 400, "BadRequestException",
             "Subscription id '%s' is already in use on this connection",
             m->id);
        goto refuse;
    default:
        fail(&why, 500, "InternalFailure", "Connection is closing");
        goto refuse;
    }
    log_info("events: connection %" PRIu64 ": %s subscribed '%s' to '%s'",
             ec->ws->id, ok.who, m->id, ch.path);
    conn_send(ec, realtime_success("subscribe_success", m->id));
    goto out;
refuse:
    log_info("events: connection %" PRIu64 ": subscribe '%s' to '%s' "
             "refused: %s %s",
             ec->ws->id, m->id, m->channel, why.type, why.message);
    send_error(ec, "subscribe_error", m->id, &why);
out:
    chanrule_result_release(&res);
    json_decref(ok.identity);
    http_headers_release(&hdrs);
    free(body);
}

static void on_unsubscribe(struct events_conn *ec, const struct realtime_msg *m)
{
    struct auth_fail why = {0};

    if (hub_unsubscribe(ec->api->hub, ec->ws->id, m->id)) {
        fail(&why, 400, "BadRequestException", "Subscription id '%s' not found",
             m->id);
        send_error(ec, "unsubscribe_error", m->id, &why);
        return;
    }
    log_info("events: connection %" PRIu64 ": unsubscribed '%s'", ec->ws->id,
             m->id);
    conn_send(ec, realtime_success("unsubscribe_success", m->id));
}

static void on_publish(struct events_conn *ec, const struct realtime_msg *m)
{
    struct events_api *api = ec->api;
    struct chanrule_channel ch;
    struct kaeri_error err;
    struct http_headers hdrs = {0};
    struct auth_req ar;
    struct auth_ok ok = {0};
    struct auth_fail why = {0};
    struct publish_out out = {0};
    const struct events_ns *ns;
    const char *resources[2] = {NULL, NULL};
    char *body = NULL, *alt = NULL;

    if (chanrule_channel_parse(m->channel, strlen(m->channel), CHANRULE_PUBLISH,
                               &ch, &err)) {
        fail(&why, 400, "BadRequestException", CHANRULE_INVALID_CHANNEL);
        goto refuse;
    }
    ns = ns_find(api, ch.seg[0]);
    if (!ns) {
        fail(&why, 401, "UnauthorizedException", "%s", "");
        why.no_message = true;
        goto refuse;
    }
    message_auth(ec, m, &hdrs);
    body = realtime_signed_body(REALTIME_PUBLISH, m->channel, m->events);
    alt = realtime_signed_body(REALTIME_SUBSCRIBE, m->channel, NULL);
    auth_req_ws(&ar, &hdrs, body, ec);
    ar.alt_body = alt; /* Amplify JS 6 before it signed the events */
    resources[0] = ns->arn;
    if (authorize(api, ns->publish_modes, &ar, "appsync:EventPublish",
                  resources, &ok, &why))
        goto refuse;
    if (publish(api, ns, &ch, m->events, ok.identity, true, NULL, &out, &why))
        goto refuse;
    log_info("events: connection %" PRIu64 ": %s published %zu event(s) to "
             "'%s' (%zu failed), %zu deliveries",
             ec->ws->id, ok.who, json_array_size(out.successful), ch.path,
             json_array_size(out.failed), out.delivered);
    conn_send(ec, realtime_publish_success(m->id, out.successful, out.failed));
    goto out;
refuse:
    log_info("events: connection %" PRIu64 ": publish '%s' to '%s' refused: "
             "%s %s",
             ec->ws->id, m->id, m->channel, why.type, why.message);
    send_error(ec, "publish_error", m->id, &why);
out:
    publish_out_release(&out);
    json_decref(ok.identity);
    http_headers_release(&hdrs);
    free(body);
    free(alt);
}

static void events_message(struct ws_conn *c, const char *text, size_t len)
{
    struct events_conn *ec = c->service_ctx;
    struct realtime_msg m;
    struct realtime_refusal why;

    if (!ec || ec->closing)
        return;
    if (!ec->authorized) {
        send_error(ec, "connection_error", NULL, &ec->refused);
        conn_close(ec, CLOSE_POLICY, ec->refused.type);
        return;
    }
    if (realtime_parse(text, len, &m, &why)) {
        log_info("events: connection %" PRIu64 ": message refused: %s %s",
                 c->id, why.error_type, why.message);
        conn_send(ec, realtime_refusal_text(&why));
        return;
    }
    switch (m.type) {
    case REALTIME_CONNECTION_INIT:
        conn_send(ec, realtime_connection_ack(REALTIME_CONNECTION_TIMEOUT_MS));
        if (!ec->acked && !ec->closing)
            loop_timer_start(ev.loop, &ec->ka, ev.keepalive_s * 1000000);
        ec->acked = true;
        break;
    case REALTIME_SUBSCRIBE:
        on_subscribe(ec, &m);
        break;
    case REALTIME_UNSUBSCRIBE:
        on_unsubscribe(ec, &m);
        break;
    case REALTIME_PUBLISH:
        on_publish(ec, &m);
        break;
    }
    realtime_msg_release(&m);
}

/* Forget 'ec': timers, hub entry, list; the connection lives on. */
static void conn_free(struct events_conn *ec)
{
    loop_timer_stop(ev.loop, &ec->ka);
    loop_timer_stop(ev.loop, &ec->lifetime);
    if (ec->authorized)
        hub_conn_remove(ec->api->hub, ec->ws->id);
    if (ec->prev)
        ec->prev->next = ec->next;
    else
        ev.conns = ec->next;
    if (ec->next)
        ec->next->prev = ec->prev;
    ec->ws->service_ctx = NULL;
    http_headers_release(&ec->auth);
    free(ec);
}

static void events_closed(struct ws_conn *c)
{
    struct events_conn *ec = c->service_ctx;

    if (!ec)
        return;
    log_info("events: connection %" PRIu64 " closed", c->id);
    conn_free(ec);
}

static const struct ws_service events_ws = {
    .path = "/event/realtime",
    .subprotocol = REALTIME_SUBPROTOCOL,
    .open = events_open,
    .message = events_message,
    .closed = events_closed,
};

/* --- config ------------------------------------------------------------- */

static enum kaeri_err read_modes(const json_t *obj, const char *path,
                                 const char *key, bool required,
                                 unsigned fallback, unsigned *out,
                                 struct kaeri_error *err)
{
    const json_t *arr, *item;
    enum kaeri_err rc;
    size_t i;

    *out = fallback;
    if ((rc = cfg_array(obj, path, key, required, &arr, err)) || !arr)
        return rc;
    if (!json_array_size(arr))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "%s: expected at least one auth mode", key);
    *out = 0;
    json_array_foreach (arr, i, item) {
        const char *name = json_string_value(item);
        size_t m;

        if (json_is_object(item)) {
            static const char *const keys[] = {"authType", NULL};
            char where[256];

            snprintf(where, sizeof(where), "%s.%s[%zu]", path, key, i);
            if ((rc = cfg_keys(item, where, keys, err)) ||
                (rc = cfg_string(item, where, "authType", true, &name, err)))
                return rc;
        }
        if (!name)
            return kaeri_fail(err, KAERI_ERR_INVALID, path,
                              "%s[%zu]: expected an auth mode", key, i);
        for (m = 0; m < ARRAY_SIZE(auth_modes); m++)
            if (!strcmp(auth_modes[m].name, name))
                break;
        if (m == ARRAY_SIZE(auth_modes)) {
            char where[256];

            snprintf(where, sizeof(where), "%s.%s[%zu]", path, key, i);
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              !strcmp(name, "OPENID_CONNECT") ||
                                      !strcmp(name, "AWS_LAMBDA")
                                  ? "auth mode '%s' is not emulated by kaeri"
                                  : "unknown auth mode '%s' (API_KEY, AWS_IAM, "
                                    "AMAZON_COGNITO_USER_POOLS)",
                              name);
        }
        *out |= auth_modes[m].mode;
    }
    return KAERI_OK;
}

static enum kaeri_err read_keys(const json_t *obj, const char *path,
                                struct events_api *api, struct kaeri_error *err)
{
    static const char *const keys[] = {"key", "expires", "description", NULL};
    const json_t *arr, *item;
    enum kaeri_err rc;
    size_t i;

    if ((rc = cfg_array(obj, path, "apiKeys", false, &arr, err)) || !arr)
        return rc;
    api->keys = xcalloc(json_array_size(arr) + 1, sizeof(*api->keys));
    json_array_foreach (arr, i, item) {
        char where[256];
        const char *key, *expires = NULL, *desc;
        struct events_key *k = &api->keys[i];

        snprintf(where, sizeof(where), "%s.apiKeys[%zu]", path, i);
        if ((rc = cfg_keys(item, where, keys, err)) ||
            (rc = cfg_string(item, where, "key", true, &key, err)) ||
            (rc = cfg_string(item, where, "expires", false, &expires, err)) ||
            (rc = cfg_string(item, where, "description", false, &desc, err)))
            return rc;
        if (!*key)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "key: expected a non-empty string");
        if (expires && !parse_rfc3339(expires, &k->expires))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "expires: expected an RFC 3339 UTC time "
                              "(2099-12-31T00:00:00Z)");
        k->key = xstrdup(key);
        api->nkeys++;
    }
    return KAERI_OK;
}

static enum kaeri_err read_providers(const json_t *obj, const char *path,
                                     struct events_api *api,
                                     struct kaeri_error *err)
{
    static const char *const keys[] = {"cognito", NULL};
    static const char *const ckeys[] = {"userPool", "clientIdRegex", NULL};
    const json_t *prov, *cog;
    const char *pool, *re = NULL;
    char where[128], cwhere[160];
    enum kaeri_err rc;

    snprintf(where, sizeof(where), "%s.authProviders", path);
    if ((rc = cfg_object(obj, path, "authProviders", false, &prov, err)) ||
        !prov)
        return rc;
    snprintf(cwhere, sizeof(cwhere), "%s.cognito", where);
    if ((rc = cfg_keys(prov, where, keys, err)) ||
        (rc = cfg_object(prov, where, "cognito", false, &cog, err)) || !cog)
        return rc;
    if ((rc = cfg_keys(cog, cwhere, ckeys, err)) ||
        (rc = cfg_string(cog, cwhere, "userPool", true, &pool, err)) ||
        (rc = cfg_string(cog, cwhere, "clientIdRegex", false, &re, err)))
        return rc;
    api->user_pool = xstrdup(pool);
    if (re) {
        if (regcomp(&api->client_re, re, REG_EXTENDED | REG_NOSUB))
            return kaeri_fail(err, KAERI_ERR_INVALID, cwhere,
                              "clientIdRegex: not a POSIX extended regex");
        api->has_client_re = true;
    }
    return KAERI_OK;
}

static enum kaeri_err read_ns(const json_t *item, const char *where,
                              struct events_api *api, unsigned pub_default,
                              unsigned sub_default, struct kaeri_error *err)
{
    static const char *const keys[] = {
        "name",        "publishAuthModes", "subscribeAuthModes",
        "onSubscribe", "onPublish",        NULL};
    struct events_ns *ns = &api->ns[api->nns];
    char rpath[320];
    const char *name;
    enum kaeri_err rc;

    if ((rc = cfg_keys(item, where, keys, err)) ||
        (rc = cfg_string(item, where, "name", true, &name, err)))
        return rc;
    if (!chanrule_name_valid(name))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "name: '%s' is not a valid namespace name (1-50 "
                          "letters, digits and inner '-')",
                          name);
    if (ns_find(api, name))
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "name: namespace '%s' is defined twice", name);
    api->nns++; /* counted now, so release() frees what is parsed below */
    ns->name = xstrdup(name);
    ns->arn = xasprintf("%s/channelNamespace/%s", api->arn, name);
    if ((rc = read_modes(item, where, "publishAuthModes", false, pub_default,
                         &ns->publish_modes, err)) ||
        (rc = read_modes(item, where, "subscribeAuthModes", false, sub_default,
                         &ns->subscribe_modes, err)))
        return rc;
    snprintf(rpath, sizeof(rpath), "%s.onSubscribe", where);
    if ((rc = chanrule_rules_parse(json_object_get(item, "onSubscribe"), rpath,
                                   CHANRULE_SUBSCRIBE, &ns->on_subscribe, err)))
        return rc;
    snprintf(rpath, sizeof(rpath), "%s.onPublish", where);
    return chanrule_rules_parse(json_object_get(item, "onPublish"), rpath,
                                CHANRULE_PUBLISH, &ns->on_publish, err);
}

static enum kaeri_err read_limits(const json_t *obj, const char *path,
                                  struct events_api *api,
                                  struct kaeri_error *err)
{
    static const char *const keys[] = {"subscriptionsPerConnection",
                                       "connectionMaxSeconds", "eventBytes",
                                       NULL};
    json_int_t subs = EVENTS_DEFAULT_SUBS, life = EVENTS_DEFAULT_LIFETIME;
    json_int_t bytes = EVENTS_DEFAULT_EVENT_MAX;
    const json_t *lim;
    char where[256];
    enum kaeri_err rc;

    snprintf(where, sizeof(where), "%s.limits", path);
    if ((rc = cfg_object(obj, path, "limits", false, &lim, err)))
        return rc;
    if (lim && ((rc = cfg_keys(lim, where, keys, err)) ||
                (rc = cfg_int(lim, where, "subscriptionsPerConnection", false,
                              1, 100000, &subs, err)) ||
                (rc = cfg_int(lim, where, "connectionMaxSeconds", false, 1,
                              7 * 86400, &life, err)) ||
                (rc = cfg_int(lim, where, "eventBytes", false, 1, 1 << 20,
                              &bytes, err))))
        return rc;
    api->max_subs = (size_t)subs;
    api->max_lifetime_s = life;
    api->event_max = (size_t)bytes;
    return KAERI_OK;
}

static bool valid_api_id(const char *id)
{
    size_t n = strlen(id);

    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return true;
}

static enum kaeri_err read_api(const json_t *obj, const char *path,
                               struct events_api *api, struct kaeri_error *err)
{
    static const char *const keys[] = {"id",
                                       "name",
                                       "apiKeys",
                                       "authProviders",
                                       "connectionAuthModes",
                                       "defaultPublishAuthModes",
                                       "defaultSubscribeAuthModes",
                                       "namespaces",
                                       "limits",
                                       NULL};
    const char *id, *name = NULL;
    const json_t *nss, *item;
    unsigned pub, sub, all;
    enum kaeri_err rc;
    size_t i;

    if ((rc = cfg_keys(obj, path, keys, err)) ||
        (rc = cfg_string(obj, path, "id", true, &id, err)) ||
        (rc = cfg_string(obj, path, "name", false, &name, err)))
        return rc;
    if (!valid_api_id(id))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "id: expected 1-64 letters and digits");
    for (i = 0; i < ev.napis; i++)
        if (&ev.apis[i] != api && !strcasecmp(ev.apis[i].id, id))
            return kaeri_fail(err, KAERI_ERR_INVALID, path,
                              "id: api '%s' is defined twice", id);
    api->id = xstrdup(id);
    api->name = xstrdup(name ? name : id);
    api->arn =
        xasprintf("arn:aws:appsync:%s:%s:apis/%s", ev.region, ev.account, id);
    if ((rc = read_keys(obj, path, api, err)) ||
        (rc = read_providers(obj, path, api, err)) ||
        (rc = read_limits(obj, path, api, err)) ||
        (rc = read_modes(obj, path, "connectionAuthModes", true, 0,
                         &api->connection_modes, err)) ||
        (rc = read_modes(obj, path, "defaultPublishAuthModes", true, 0, &pub,
                         err)) ||
        (rc = read_modes(obj, path, "defaultSubscribeAuthModes", true, 0, &sub,
                         err)) ||
        (rc = cfg_array(obj, path, "namespaces", true, &nss, err)))
        return rc;
    api->ns = xcalloc(json_array_size(nss) + 1, sizeof(*api->ns));
    all = api->connection_modes | pub | sub;
    json_array_foreach (nss, i, item) {
        char where[256];

        snprintf(where, sizeof(where), "%s.namespaces[%zu]", path, i);
        if (!json_is_object(item))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "expected an object");
        if ((rc = read_ns(item, where, api, pub, sub, err)))
            return rc;
        all |= api->ns[api->nns - 1].publish_modes |
               api->ns[api->nns - 1].subscribe_modes;
    }
    if ((all & AUTH_COGNITO) && !api->user_pool)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "AMAZON_COGNITO_USER_POOLS is used but "
                          "authProviders.cognito is not set");
    if ((all & AUTH_API_KEY) && !api->nkeys)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "API_KEY is used but apiKeys is empty");
    api->hub = hub_new(ev.loop, api->id);
    return KAERI_OK;
}

static void api_release(struct events_api *api)
{
    hub_free(api->hub);
    for (size_t i = 0; i < api->nns; i++) {
        free(api->ns[i].name);
        free(api->ns[i].arn);
        chanrule_rules_free(api->ns[i].on_subscribe);
        chanrule_rules_free(api->ns[i].on_publish);
    }
    free(api->ns);
    for (size_t i = 0; i < api->nkeys; i++)
        free(api->keys[i].key);
    free(api->keys);
    if (api->has_client_re)
        regfree(&api->client_re);
    free(api->user_pool);
    free(api->id);
    free(api->name);
    free(api->arn);
}

/*
 * Connections still open (the transport normally closes them first) are
 * detached: later messages and the close find no state and are ignored.
 */
static void events_release(void)
{
    while (ev.conns)
        conn_free(ev.conns);
    for (size_t i = 0; i < ev.napis; i++)
        api_release(&ev.apis[i]);
    free(ev.apis);
    free(ev.region);
    free(ev.account);
    free(ev.http_base);
    free(ev.ws_base);
    memset(&ev, 0, sizeof(ev));
}

static enum kaeri_err events_init(const json_t *section,
                                  const struct kaeri_env *env,
                                  struct kaeri_error *err)
{
    static const char *const keys[] = {"keepAliveSeconds", "apis", NULL};
    const json_t *apis = NULL, *item;
    json_int_t ka = EVENTS_DEFAULT_KA_S;
    enum kaeri_err rc;
    size_t i;

    memset(&ev, 0, sizeof(ev));
    ev.loop = env->loop;
    ev.region = xstrdup(env->region);
    ev.account = xstrdup(env->account);
    if (env->events_url) {
        const char *rest = strstr(env->events_url, "://");

        ev.http_base = xstrdup(env->events_url);
        ev.ws_base = xasprintf(
            "%s://%s", !strncmp(env->events_url, "https", 5) ? "wss" : "ws",
            rest ? rest + 3 : env->events_url);
    } else if (env->http_url) {
        const char *rest = strstr(env->http_url, "://");

        ev.http_base = xstrdup(env->http_url);
        ev.ws_base = xasprintf("ws://%s", rest ? rest + 3 : env->http_url);
    }
    if (!section)
        return KAERI_OK;
    if (!json_is_object(section))
        return kaeri_fail(err, KAERI_ERR_INVALID, "$.events",
                          "expected an object");
    if ((rc = cfg_keys(section, "$.events", keys, err)) ||
        (rc = cfg_int(section, "$.events", "keepAliveSeconds", false, 1, 3600,
                      &ka, err)) ||
        (rc = cfg_array(section, "$.events", "apis", false, &apis, err)))
        goto fail;
    ev.keepalive_s = ka;
    if (apis && json_array_size(apis) && !ev.loop) {
        rc = kaeri_fail(err, KAERI_ERR_INTERNAL, "$.events",
                        "no event loop to run the Event APIs on");
        goto fail;
    }
    ev.apis = xcalloc(json_array_size(apis) + 1, sizeof(*ev.apis));
    json_array_foreach (apis, i, item) {
        char where[64];

        snprintf(where, sizeof(where), "$.events.apis[%zu]", i);
        if (!json_is_object(item)) {
            rc =
                kaeri_fail(err, KAERI_ERR_INVALID, where, "expected an object");
            goto fail;
        }
        ev.napis++; /* so a failure below frees what was read */
        if ((rc = read_api(item, where, &ev.apis[i], err)))
            goto fail;
    }
    return KAERI_OK;
fail:
    events_release();
    return rc;
}

/* --- describe ----------------------------------------------------------- */

/* "scheme://<api>.<label>.localhost:port" for APIs after the first. */
static char *api_url(const char *base, const struct events_api *api,
                     const char *label, const char *path)
{
    const char *rest = strstr(base, "://");
    const char *colon;

    if (api == &ev.apis[0] || !rest)
        return xasprintf("%s%s", base, path);
    rest += 3;
    colon = strrchr(rest, ':');
    return xasprintf("%.*s%s.%s.localhost%s%s", (int)(rest - base), base,
                     api->id, label, colon ? colon : "", path);
}

static void events_describe(json_t *endpoints)
{
    json_t *list = json_array();

    for (size_t i = 0; i < ev.napis; i++) {
        const struct events_api *api = &ev.apis[i];
        json_t *names = json_array();
        json_t *entry;
        char *http = api_url(ev.http_base ? ev.http_base : "", api,
                             "appsync-api", "/event");
        char *ws = api_url(ev.ws_base ? ev.ws_base : "", api,
                           "appsync-realtime-api", "/event/realtime");

        for (size_t n = 0; n < api->nns; n++)
            json_array_append_new(names, json_string(api->ns[n].name));
        entry = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", api->id, "name",
                          api->name, "http", http, "realtime", ws, "namespaces",
                          names);
        json_object_set_new(entry, "apiKey",
                            api->nkeys ? json_string(api->keys[0].key)
                                       : json_null());
        json_array_append_new(list, entry);
        free(http);
        free(ws);
    }
    json_object_set_new(endpoints, "eventApis", list);
}

const struct service svc_events = {
    .name = "appsync",
    .config_key = "events",
    .init = events_init,
    .release = events_release,
    .routes = events_routes,
    .websocket = &events_ws,
    .describe = events_describe,
};

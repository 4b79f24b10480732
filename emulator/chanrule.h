/*
 * chanrule.h - AppSync Events channel paths and the declarative namespace
 * handlers that stand in for APPSYNC_JS onSubscribe / onPublish
 * (spec/appsync-events.md sections 2 and 7). In these comments "/ *"
 * stands for slash-star, which a C comment cannot hold.
 *
 * The seed's rule (onSubscribe: util.unauthorized() unless
 * ctx.info.channel.path starts with /bedrock-stream-response/<caller's sub>)
 * is, in a namespace's config:
 *
 *   "onSubscribe": [
 *     {"unless": {
 *        "pathStartsWith": "/bedrock-stream-response/${identity.sub}"},
 *      "then": "unauthorized"}
 *   ]
 *
 * Rule lists (one for onSubscribe, one for onPublish):
 *
 *   [ {"when": COND, "unless": COND, "then": ACTION}, ... ]
 *
 * Rules are tried in order; the first that applies decides. A rule applies
 * when its "when" holds (or it has none) and its "unless" does not hold (or
 * it has none); a rule with neither always applies, which makes a
 * catch-all. When no rule applies, onSubscribe allows and onPublish keeps
 * the event (AWS's default handlers: subscribe allowed, events forwarded).
 * onPublish rules run once per event, in publish order.
 *
 * COND is one object, or an array of them (all must hold):
 *   {"pathStartsWith": T}  {"pathEquals": T}   ctx.info.channel.path
 *   {SUBJECT, COMPARISON} where SUBJECT is one of
 *       "segment": N      ctx.info.channel.segments[N], 0 = the namespace
 *       "identity": "a.b" a field of ctx.identity ("sub", "claims.email")
 *       "payload": "a.b"  a field of the event's payload, onPublish only
 *                         ("" = the payload itself)
 *     and COMPARISON one of "equals": T, "startsWith": T, "exists": bool
 *   {"identityIs": "null"|"cognito"|"iam"|"oidc"|"lambda"}  the auth kind,
 *                  told from the identity's shape as AWS builds it
 *   {"not": COND}  {"any": [COND, ...]}  {"all": [COND, ...]}
 *
 * T is a string template: "${identity.a.b}" is replaced by that field of
 * ctx.identity (a string, or an integer or boolean in its JSON text).
 * A comparison whose subject or template names a missing field (or a
 * field of a null identity, or an object or array) does not hold, so an
 * API-key caller (identity null) never satisfies a rule that needs a sub,
 * and the seed's "unless" rule refuses it. Note that "not" then turns that
 * into "holds": write rules as "allow-list, then a catch-all refusal", or
 * with "unless", so a missing field fails closed.
 *
 * ACTION:
 *   "allow"                       onSubscribe: subscription accepted
 *   "keep" | "drop"               onPublish: the event is broadcast, or
 *                                 silently filtered out (still in the
 *                                 publisher's "successful")
 *   {"eventError": "message"}     onPublish: the event is not broadcast and
 *                                 is listed as failed {id, error}
 *   "unauthorized"                util.unauthorized(): UnauthorizedException;
 *                                 on publish the whole request fails
 *   {"error": "message"}          util.error(message): the whole request
 *                                 fails with that message
 *
 * The evaluator takes what a JS handler sees (struct chanrule_ctx, or
 * chanrule_ctx_json() for the whole ctx object) and gives back what a JS
 * handler decides (struct chanrule_result), so a later JS runtime can take
 * the place of chanrule_eval() without changing its callers.
 *
 * Pure: no I/O, globals, logging or clock. A parsed rule list is read-only
 * and may be shared.
 */
#ifndef KAERI_CHANRULE_H
#define KAERI_CHANRULE_H

#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CHANRULE_MAX_SEGMENTS 5  /* per path, namespace and "*" included */
#define CHANRULE_SEGMENT_MAX  50 /* characters in one segment */
#define CHANRULE_PATH_MAX \
    (1 + CHANRULE_MAX_SEGMENTS * (CHANRULE_SEGMENT_MAX + 1))
#define CHANRULE_MAX_RULES    256  /* rules in one list */
#define CHANRULE_MAX_DEPTH    8    /* nesting of not / any / all */
#define CHANRULE_TEMPLATE_MAX 1024 /* bytes in one template or field path */

/* The error text AWS gives for any malformed channel. */
#define CHANRULE_INVALID_CHANNEL "Invalid Channel Format"

enum chanrule_op {
    CHANRULE_SUBSCRIBE, /* ctx.info.operation "SUBSCRIBE"; '/ *' allowed */
    CHANRULE_PUBLISH,   /* ctx.info.operation "PUBLISH" */
};

/*
 * A parsed channel path, a small value type (fields readable, set only by
 * chanrule_channel_parse()). 'path' is normalised to a leading '/'
 * ("default/a" -> "/default/a"); a wildcard subscription keeps its "/ *"
 * ("/default/ *") and its last segment is "*". seg[0] is the namespace.
 */
struct chanrule_channel {
    char path[CHANRULE_PATH_MAX + 1];
    char seg[CHANRULE_MAX_SEGMENTS][CHANRULE_SEGMENT_MAX + 1];
    size_t nseg;   /* 1..CHANRULE_MAX_SEGMENTS, the "*" counted */
    bool wildcard; /* ends in "/ *" (subscriptions only) */
};

/*
 * Parse the channel 's' ('len' bytes, no NUL needed) as used by 'op'.
 * Valid: an optional leading '/', then 1 to 5 segments separated by '/';
 * each segment 1-50 characters of [A-Za-z0-9-], neither starting nor
 * ending with '-' (spec section 2: the namespace rule of the API reference,
 * applied to every segment: UNVERIFIED for segments after the namespace);
 * for CHANRULE_SUBSCRIBE the last segment may be "*" (after at least the
 * namespace; it counts toward the 5). Anything else - empty, "//", a
 * trailing '/', 6 segments, a long segment, other characters, a "*"
 * elsewhere or on publish - fails with KAERI_ERR_INVALID, err->text
 * CHANRULE_INVALID_CHANNEL (AWS's message, to send as it is) and
 * err->where "column N" (1-based, the first offending byte of 's').
 * Whether the namespace exists is the caller's question.
 */
KAERI_MUST_CHECK enum kaeri_err
chanrule_channel_parse(const char *s, size_t len, enum chanrule_op op,
                       struct chanrule_channel *out, struct kaeri_error *err);

/* Is 's' a valid namespace name (one segment, section 2's regex)? */
bool chanrule_name_valid(const char *s);

/*
 * Does the subscription (or fault) pattern 'sub' match the published
 * channel 'ch'? An exact pattern matches only the same path (case-
 * sensitive). A wildcard "/ns/a/ *" matches every channel strictly below
 * "/ns/a", at any depth ("/ns/a/b", "/ns/a/b/c"), but not "/ns/a" itself
 * (spec section 2, depth rule UNVERIFIED). 'ch' must not be a wildcard.
 */
bool chanrule_channel_match(const struct chanrule_channel *sub,
                            const struct chanrule_channel *ch);

/* A parsed rule list (onSubscribe or onPublish); opaque, read-only. */
struct chanrule_rules;

/*
 * Parse the rule array 'rules' for handler 'op' (CHANRULE_SUBSCRIBE:
 * onSubscribe, CHANRULE_PUBLISH: onPublish). 'path' is its JSON path
 * ("$.events.apis[0].namespaces[0].onSubscribe"); errors name the spot
 * ("...onSubscribe[1].when.segment") and unknown keys, wrong types,
 * unknown "${...}" variables, actions that do not belong to 'op' and
 * payload conditions in onSubscribe are refused. *out is new (free with
 * chanrule_rules_free()), NULL on failure. 'rules' NULL or json null gives
 * *out NULL, which chanrule_eval() treats as "no handler".
 */
KAERI_MUST_CHECK enum kaeri_err
chanrule_rules_parse(const json_t *rules, const char *path, enum chanrule_op op,
                     struct chanrule_rules **out, struct kaeri_error *err);
void chanrule_rules_free(struct chanrule_rules *r);
/* The rule list back as JSON, as parsed (new reference); NULL for NULL. */
json_t *chanrule_rules_json(const struct chanrule_rules *r);

/*
 * What a handler sees. All borrowed. 'identity' is ctx.identity in AWS's
 * shape (chanrule_identity_cognito(), chanrule_identity_iam()); NULL or a
 * json null for API_KEY. 'events' is ctx.events for CHANRULE_PUBLISH: an
 * array of {"id": "<identifier>", "payload": <parsed JSON>}; ignored on
 * subscribe. 'request' is ctx.request ({"headers": {...}, "domainName":
 * ...}) or NULL; the declarative rules do not read it, a JS handler may.
 */
struct chanrule_ctx {
    enum chanrule_op op;
    const struct chanrule_channel *channel;
    const json_t *identity;
    const json_t *events;
    const json_t *request;
};

enum chanrule_verdict {
    CHANRULE_ALLOW,        /* subscribe accepted / publish goes ahead */
    CHANRULE_UNAUTHORIZED, /* util.unauthorized(): UnauthorizedException */
    CHANRULE_ERROR,        /* util.error(message): the request fails */
};

/*
 * What a handler decided. Owned by the caller: chanrule_result_release().
 * For a CHANRULE_PUBLISH that is allowed, 'events' is the array of
 * {id, payload} to broadcast (a subset of ctx.events, in publish order,
 * the same objects) and 'failed' the array of {"id", "error"} for events
 * that failed one by one; both are empty arrays, never NULL. An event in
 * neither was dropped on purpose. Otherwise both are NULL.
 */
struct chanrule_result {
    enum chanrule_verdict verdict;
    char *message; /* CHANRULE_ERROR: the message, owned; else NULL */
    json_t *events;
    json_t *failed;
};

/*
 * Run the handler 'rules' (NULL = no handler: allow, forward every event;
 * else parsed for ctx->op, which is asserted) on 'ctx' and fill 'out'
 * (initialised here). Fails only with
 * KAERI_ERR_INVALID when ctx is malformed (no channel; on publish, events
 * not an array of objects with a string "id"), leaving 'out' released.
 */
KAERI_MUST_CHECK enum kaeri_err
chanrule_eval(const struct chanrule_rules *rules,
              const struct chanrule_ctx *ctx, struct chanrule_result *out);
void chanrule_result_release(struct chanrule_result *res);

/*
 * ctx.identity for a Cognito user pool token, as AppSync builds it:
 * {"sub", "issuer", "username", "claims", "sourceIp": [ip],
 *  "defaultAuthStrategy": null, "groups": [..] or null}. 'claims' are the
 * verified token's claims (borrowed; copied); username comes from
 * "cognito:username" (ID token) or "username" (access token), groups from
 * "cognito:groups". 'source_ip' may be NULL. New reference.
 */
json_t *chanrule_identity_cognito(const json_t *claims, const char *source_ip);

/* The fields of an IAM ctx.identity; any may be NULL (JSON null). */
struct chanrule_iam {
    const char *account_id;
    const char *user_arn;
    const char *username; /* AppSync: the principal id, "AIDA..." or
                             "AROA...:session" */
    const char *source_ip;
    const char *cognito_identity_pool_id;
    const char *cognito_identity_id;
    const char *cognito_identity_auth_type; /* "authenticated" | ... */
    const char *cognito_identity_auth_provider;
};

/*
 * ctx.identity for a SigV4 caller: {"accountId", "cognitoIdentityPoolId",
 * "cognitoIdentityId", "sourceIp": [ip], "username", "userArn",
 * "cognitoIdentityAuthType", "cognitoIdentityAuthProvider"}. New reference.
 */
json_t *chanrule_identity_iam(const struct chanrule_iam *iam);

/*
 * The whole ctx object a JS handler receives (spec section 7): {"events"
 * (publish) or null, "info": {"channel": {"path", "segments"},
 * "channelNamespace": {"name"}, "operation"}, "identity", "request",
 * "stash": {}, "prev": null, "result": null, "error": null,
 * "outErrors": []}, "channelNamespace" mirrored at the top. New reference.
 */
json_t *chanrule_ctx_json(const struct chanrule_ctx *ctx);

#endif

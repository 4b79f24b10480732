/*
 * policy.h - IAM policy documents: parse once (jansson in, an opaque
 * struct out, errors naming the JSON path), evaluate many times.
 *
 * Two kinds of document: identity policies (a user's or role's inline
 * policies: Action + Resource) and trust policies (a role's
 * AssumeRolePolicyDocument: Action + Principal). Evaluation follows AWS:
 * an explicit Deny in any given policy beats any Allow, an Allow beats the
 * implicit deny of "nothing matched".
 *
 * Supported: Version "2012-10-17" / "2008-10-17" (optional), Id, Statement
 * (object or array), Sid, Effect, Action, Resource, Principal ("*" or
 * {"AWS"|"Service"|"Federated": string or array}), Condition with
 * StringEquals, StringNotEquals, StringEqualsIgnoreCase,
 * StringNotEqualsIgnoreCase, StringLike, StringNotLike and Bool; the set
 * qualifiers "ForAnyValue:" and "ForAllValues:" on the String operators;
 * the "IfExists" suffix on all of them. Everything else AWS knows
 * (NotAction, NotResource, NotPrincipal, other operators, policy variables
 * "${...}" under Version 2012-10-17) is refused by policy_parse() with a
 * clear message, never silently misread.
 *
 * Pure: no I/O, globals, logging or clock. Everything here is safe to call
 * from any thread on distinct objects; a parsed policy is read-only and may
 * be evaluated concurrently.
 */
#ifndef KAERI_POLICY_H
#define KAERI_POLICY_H

#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Ceilings on a document, so a hostile config cannot make us work hard. */
#define POLICY_MAX_STATEMENTS 512  /* statements in one document */
#define POLICY_MAX_VALUES     1024 /* entries in one Action/Resource/... list */
#define POLICY_MAX_CONDITIONS 256  /* operator x key pairs in one statement */
#define POLICY_MAX_STRING     2048 /* bytes in one string (ARNs top at 2048) */

enum policy_kind {
    POLICY_IDENTITY, /* Action + Resource; Principal refused */
    POLICY_TRUST,    /* Action + Principal; Resource refused */
};

enum policy_decision {
    POLICY_IMPLICIT_DENY, /* no statement allowed it */
    POLICY_ALLOW,
    POLICY_EXPLICIT_DENY, /* a Deny statement matched */
};

struct policy;         /* a parsed document; opaque, read-only once made */
struct policy_context; /* condition keys -> one or more string values */

/*
 * Who asks, for trust policies. Any field may be NULL.
 * 'aws_arn' is the caller's ARN: "arn:aws:iam::123456789012:user/alice",
 * "arn:aws:iam::123456789012:root" or a role session
 * "arn:aws:sts::123456789012:assumed-role/R/s". 'account' is its account
 * id; when NULL it is taken from 'aws_arn'. 'service' is a service
 * principal ("lambda.amazonaws.com"); 'federated' is the identity provider
 * of AssumeRoleWithWebIdentity ("cognito-identity.amazonaws.com", or an
 * OIDC provider ARN).
 */
struct policy_principal {
    const char *aws_arn;
    const char *account;
    const char *service;
    const char *federated;
};

/*
 * One question: may 'principal' do 'action' on 'resource' given 'context'.
 * 'action' is "service:Operation" ("bedrock:InvokeModel"); NULL matches
 * nothing. 'resource' is an ARN, used by identity policies only (NULL
 * matches nothing there). 'context' may be NULL (no keys). 'principal' is
 * used by trust policies only (NULL matches only Principal "*"). All
 * borrowed for the call.
 */
struct policy_request {
    const char *action;
    const char *resource;
    const struct policy_context *context;
    const struct policy_principal *principal;
};

/*
 * Parse the policy document 'doc' (borrowed) as 'kind' and return it in
 * *out, which the caller frees with policy_free(). 'json_path' is where
 * 'doc' sits in the config ("$.iam.roles[0].inlinePolicies.bedrock"), used
 * as the prefix of err->where; NULL means "$". On failure *out is NULL,
 * KAERI_ERR_INVALID is returned (KAERI_ERR_LIMIT past a POLICY_MAX_*) and
 * 'err' (may be NULL) names the offending element, e.g. where
 * "$.p.Statement[0].NotAction", text "NotAction is not supported".
 */
KAERI_MUST_CHECK enum kaeri_err
policy_parse(const json_t *doc, const char *json_path, enum policy_kind kind,
             struct policy **out, struct kaeri_error *err);

/* Free a parsed policy; NULL is a no-op. */
void policy_free(struct policy *p);

/* The kind 'p' was parsed as. */
enum policy_kind policy_kind_of(const struct policy *p);

/*
 * Decide 'req' against 'count' policies (NULL entries are skipped; each
 * is read as the kind it was parsed as). A statement applies when its
 * Action matches (case-insensitive, '*' and '?' wildcards), its Resource
 * matches (identity: case-sensitive, see policy_arn_match()) or its
 * Principal matches (trust), and every Condition holds. Any applying Deny
 * gives POLICY_EXPLICIT_DENY; else any applying Allow gives POLICY_ALLOW;
 * else POLICY_IMPLICIT_DENY (so no policies at all deny).
 *
 * Conditions, as AWS: every operator in a block and every key under an
 * operator must hold (AND); the values listed for one key are
 * alternatives (OR). A negated operator (StringNot...) holds when no
 * listed value matches. Context keys are case-insensitive, values
 * case-sensitive except for ...IgnoreCase and Bool.
 * Without a qualifier, a positive operator holds when any context value
 * of the key matches, a negated one when none does. "ForAnyValue:" holds
 * when at least one context value passes the (possibly negated) test,
 * "ForAllValues:" when every one does.
 * A key missing from the context (or with no values): a positive operator
 * does not hold, a negated one does (AWS: "If the key that you specify in
 * a policy condition is not present in the request context ... the
 * condition is false. If the policy condition requires that the key is
 * not matched, such as StringNotLike ... the condition is true");
 * "ForAllValues:" holds, "ForAnyValue:" does not; an ...IfExists operator
 * always holds.
 *
 * Trust principals: "*" and {"AWS": "*"} match anyone (AWS documents them
 * as equal). An account id or "arn:aws:iam::ACCT:root" matches every
 * AWS principal of that account. A role ARN matches the role and every
 * session of it ("arn:aws:sts::ACCT:assumed-role/NAME/any", the role's
 * path dropped as AWS drops it). Other ARNs (users, a given session) match
 * exactly. "Service" and "Federated" match their request field exactly.
 */
enum policy_decision policy_evaluate(const struct policy *const *policies,
                                     size_t count,
                                     const struct policy_request *req);

/* "implicit-deny", "allow" or "explicit-deny", for logs. */
const char *policy_decision_name(enum policy_decision d);

/*
 * Does 'text' match 'pattern', where '*' matches any run of bytes (empty
 * included, '/' and ':' too) and '?' exactly one byte? Case-folds ASCII
 * when 'ignore_case'. No escapes. Iterative with one backtrack point, so
 * O(len(pattern) * len(text)) at worst and linear on usual patterns;
 * nothing like "a*a*a*...b" can blow up. NULL never matches.
 */
bool policy_wildcard_match(const char *pattern, const char *text,
                           bool ignore_case);

/*
 * Resource matching as IAM does it: when both strings have the six ARN
 * components (five ':' at least), the first five (arn, partition,
 * service, region, account) are matched one by one, so a '*' there does
 * not run into the next one, and the resource part (the rest, which may
 * hold ':' and '/') is matched as a whole. Otherwise ("*", or a pattern
 * or text that is no full ARN) the whole strings are matched. Case-
 * sensitive. NULL never matches.
 */
bool policy_arn_match(const char *pattern, const char *arn);

/* An empty context; the caller frees it with policy_context_free(). */
struct policy_context *policy_context_new(void);

/*
 * Add 'value' to the values of 'key' (both copied). Keys compare
 * case-insensitively ("aws:UserName" and "aws:username" are one key);
 * adding to an existing key makes it multi-valued, as
 * "cognito-identity.amazonaws.com:amr" is.
 */
void policy_context_add(struct policy_context *ctx, const char *key,
                        const char *value);

/* Free a context; NULL is a no-op. */
void policy_context_free(struct policy_context *ctx);

#endif

/*
 * policy.c - IAM policy documents: parse a JSON document into statements,
 * then answer "allow, implicit deny or explicit deny" for a request.
 *
 * What AWS does and this follows (IAM User Guide, "Policy evaluation
 * logic", "IAM JSON policy element reference", "Condition operators"):
 * explicit Deny > Allow > implicit deny; Action matched case-insensitively
 * with '*' and '?'; Resource ARNs case-sensitively, component by
 * component; a Condition block is an AND of operators, an AND of keys, an
 * OR of values.
 *
 * Left out on purpose, and refused at parse time so a config never means
 * something else than it says: NotAction, NotResource, NotPrincipal,
 * condition operators other than the String family and Bool (Date*,
 * Numeric*, Arn*, IpAddress, Null, ...), set qualifiers on Bool, policy
 * variables ("${aws:username}") in 2012-10-17 documents, principal types
 * other than AWS, Service and Federated. Under Version 2008-10-17 (or
 * none) "${" is literal text, as in AWS. Permission boundaries, SCPs,
 * session policies and resource-based policies are the caller's business.
 */
#include "policy.h"
#include "alloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 512 /* a JSON path in an error; longer ones truncate */

/* A list of owned strings. */
struct strlist {
    char **v;
    size_t n;
};

/* How a condition operator compares one policy value with one context value. */
enum cond_match {
    COND_MATCH_EXACT, /* strcmp, or strcasecmp for ...IgnoreCase */
    COND_MATCH_LIKE,  /* policy_wildcard_match(), case-sensitive */
    COND_MATCH_BOOL,  /* "true"/"false", case-insensitive */
};

struct cond_op {
    const char *name;
    enum cond_match match;
    bool negated;
    bool ignore_case;
};

/* The supported operators; a new one is a line here plus its matcher. */
static const struct cond_op cond_ops[] = {
    {"StringEquals", COND_MATCH_EXACT, false, false},
    {"StringNotEquals", COND_MATCH_EXACT, true, false},
    {"StringEqualsIgnoreCase", COND_MATCH_EXACT, false, true},
    {"StringNotEqualsIgnoreCase", COND_MATCH_EXACT, true, true},
    {"StringLike", COND_MATCH_LIKE, false, false},
    {"StringNotLike", COND_MATCH_LIKE, true, false},
    {"Bool", COND_MATCH_BOOL, false, true},
};

enum cond_set {
    COND_SET_NONE,
    COND_SET_ANY, /* ForAnyValue: */
    COND_SET_ALL, /* ForAllValues: */
};

/* One operator applied to one key: "StringEquals": {"key": [values]}. */
struct cond {
    const struct cond_op *op;
    enum cond_set set;
    bool if_exists;
    char *key;
    struct strlist values;
};

struct principal_set {
    bool anyone; /* "*" or {"AWS": "*"} */
    struct strlist aws;
    struct strlist service;
    struct strlist federated;
};

struct stmt {
    bool deny;
    struct strlist actions;
    struct strlist resources;       /* identity policies */
    struct principal_set principal; /* trust policies */
    struct cond *conds;
    size_t nconds;
};

struct policy {
    enum policy_kind kind;
    struct stmt *stmts;
    size_t nstmts;
};

struct ctx_entry {
    char *key;
    struct strlist values;
};

struct policy_context {
    struct ctx_entry *v;
    size_t n;
    size_t cap;
};

/* What the parser carries from element to element. */
struct parser {
    enum policy_kind kind;
    bool variables; /* Version 2012-10-17: "${" would be a policy variable */
    struct kaeri_error *err;
};

/* ---- small helpers ---- */

static void strlist_release(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    FREE_AND_NULL(l->v);
    l->n = 0;
}

static void strlist_push(struct strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrdup(s);
}

static KAERI_PRINTF(3, 4) void path_fmt(char *out, size_t n, const char *fmt,
                                        ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/*
 * 'base' + member 'key': ".Key" when the key is a plain name, else
 * ["key"], since condition keys hold ':' and '.'.
 */
static void path_member(char *out, size_t n, const char *base, const char *key)
{
    bool plain = *key != '\0';

    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            plain = false;
    if (plain)
        path_fmt(out, n, "%s.%s", base, key);
    else
        path_fmt(out, n, "%s[\"%s\"]", base, key);
}

static void path_index(char *out, size_t n, const char *base, size_t i)
{
    path_fmt(out, n, "%s[%zu]", base, i);
}

static bool is_account_id(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return i == 12;
}

/* ---- wildcard and ARN matching ---- */

static bool byte_eq(char a, char b, bool ignore_case)
{
    if (ignore_case)
        return tolower((unsigned char)a) == tolower((unsigned char)b);
    return a == b;
}

/*
 * The classic glob loop: on a mismatch after a '*', let that star eat one
 * more byte and retry from just after it. Only the latest star matters (an
 * earlier one could only eat what the latest can), so no recursion and no
 * exponential blow-up.
 */
static bool wildcard_matchn(const char *p, size_t pn, const char *t, size_t tn,
                            bool ignore_case)
{
    size_t pi = 0, ti = 0;
    size_t star = SIZE_MAX, mark = 0;

    while (ti < tn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = ti;
        } else if (pi < pn &&
                   (p[pi] == '?' || byte_eq(p[pi], t[ti], ignore_case))) {
            pi++;
            ti++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            ti = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

bool policy_wildcard_match(const char *pattern, const char *text,
                           bool ignore_case)
{
    if (!pattern || !text)
        return false;
    return wildcard_matchn(pattern, strlen(pattern), text, strlen(text),
                           ignore_case);
}

/* Where the five ARN component separators are; false if fewer than five. */
static bool arn_split(const char *s, const char *colon[5])
{
    const char *p = s;

    for (int i = 0; i < 5; i++) {
        p = strchr(p, ':');
        if (!p)
            return false;
        colon[i] = p++;
    }
    return true;
}

bool policy_arn_match(const char *pattern, const char *arn)
{
    const char *pc[5], *tc[5];
    const char *ps, *ts;

    if (!pattern || !arn)
        return false;
    if (!arn_split(pattern, pc) || !arn_split(arn, tc))
        return policy_wildcard_match(pattern, arn, false);
    ps = pattern;
    ts = arn;
    for (int i = 0; i < 5; i++) {
        if (!wildcard_matchn(ps, (size_t)(pc[i] - ps), ts, (size_t)(tc[i] - ts),
                             false))
            return false;
        ps = pc[i] + 1;
        ts = tc[i] + 1;
    }
    return policy_wildcard_match(ps, ts, false);
}

/* ---- context ---- */

struct policy_context *policy_context_new(void)
{
    return xcalloc(1, sizeof(struct policy_context));
}

static const struct ctx_entry *context_find(const struct policy_context *ctx,
                                            const char *key)
{
    if (!ctx)
        return NULL;
    for (size_t i = 0; i < ctx->n; i++)
        if (!strcasecmp(ctx->v[i].key, key))
            return &ctx->v[i];
    return NULL;
}

void policy_context_add(struct policy_context *ctx, const char *key,
                        const char *value)
{
    struct ctx_entry *e = (struct ctx_entry *)context_find(ctx, key);

    if (!e) {
        if (ctx->n == ctx->cap) {
            ctx->cap = ctx->cap ? ctx->cap * 2 : 8;
            ctx->v = xrealloc(ctx->v, ctx->cap * sizeof(*ctx->v));
        }
        e = &ctx->v[ctx->n++];
        e->key = xstrdup(key);
        e->values.v = NULL;
        e->values.n = 0;
    }
    strlist_push(&e->values, value);
}

void policy_context_free(struct policy_context *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->n; i++) {
        free(ctx->v[i].key);
        strlist_release(&ctx->v[i].values);
    }
    free(ctx->v);
    free(ctx);
}

/* ---- parsing ---- */

static enum kaeri_err fail(struct parser *ps, enum kaeri_err rc,
                           const char *where, const char *fmt, ...)
    KAERI_PRINTF(4, 5);

static enum kaeri_err fail(struct parser *ps, enum kaeri_err rc,
                           const char *where, const char *fmt, ...)
{
    va_list ap;

    if (!ps->err)
        return rc;
    snprintf(ps->err->where, sizeof(ps->err->where), "%s", where);
    va_start(ap, fmt);
    vsnprintf(ps->err->text, sizeof(ps->err->text), fmt, ap);
    va_end(ap);
    return rc;
}

/* Checks every string of the document shares: length, NUL, variables. */
static enum kaeri_err check_string(struct parser *ps, const json_t *v,
                                   const char *where)
{
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);

    if (len > POLICY_MAX_STRING)
        return fail(ps, KAERI_ERR_LIMIT, where, "longer than %d bytes",
                    POLICY_MAX_STRING);
    if (strlen(s) != len)
        return fail(ps, KAERI_ERR_INVALID, where, "contains a NUL byte");
    if (ps->variables && strstr(s, "${"))
        return fail(ps, KAERI_ERR_INVALID, where,
                    "policy variables ('${...}') are not supported");
    return KAERI_OK;
}

/* A string or a non-empty array of strings, appended to 'out'. */
static enum kaeri_err parse_strings(struct parser *ps, const json_t *v,
                                    const char *where, struct strlist *out)
{
    char at[PATH_MAX_LEN];
    enum kaeri_err rc;
    size_t i;
    json_t *item;

    if (json_is_string(v)) {
        if ((rc = check_string(ps, v, where)))
            return rc;
        strlist_push(out, json_string_value(v));
        return KAERI_OK;
    }
    if (!json_is_array(v))
        return fail(ps, KAERI_ERR_INVALID, where,
                    "expected a string or an array of strings");
    if (json_array_size(v) == 0)
        return fail(ps, KAERI_ERR_INVALID, where, "must not be empty");
    if (json_array_size(v) > POLICY_MAX_VALUES)
        return fail(ps, KAERI_ERR_LIMIT, where, "more than %d entries",
                    POLICY_MAX_VALUES);
    json_array_foreach(v, i, item)
    {
        path_index(at, sizeof(at), where, i);
        if (!json_is_string(item))
            return fail(ps, KAERI_ERR_INVALID, at, "expected a string");
        if ((rc = check_string(ps, item, at)))
            return rc;
        strlist_push(out, json_string_value(item));
    }
    return KAERI_OK;
}

/* Action: "*" or "service:Operation" (wildcards allowed in both parts). */
static enum kaeri_err parse_actions(struct parser *ps, const json_t *v,
                                    const char *where, struct strlist *out)
{
    enum kaeri_err rc = parse_strings(ps, v, where, out);
    char at[PATH_MAX_LEN];

    if (rc)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        const char *a = out->v[i];
        const char *colon = strchr(a, ':');

        if (!strcmp(a, "*"))
            continue;
        if (!colon || colon == a || colon[1] == '\0') {
            if (json_is_array(v))
                path_index(at, sizeof(at), where, i);
            else
                path_fmt(at, sizeof(at), "%s", where);
            return fail(ps, KAERI_ERR_INVALID, at,
                        "action '%s' is not \"*\" or \"service:action\"", a);
        }
    }
    return KAERI_OK;
}

/* Resource: "*" or an ARN pattern. */
static enum kaeri_err parse_resources(struct parser *ps, const json_t *v,
                                      const char *where, struct strlist *out)
{
    enum kaeri_err rc = parse_strings(ps, v, where, out);
    char at[PATH_MAX_LEN];

    if (rc)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        const char *r = out->v[i];

        if (!strcmp(r, "*") || !strncmp(r, "arn:", 4))
            continue;
        if (json_is_array(v))
            path_index(at, sizeof(at), where, i);
        else
            path_fmt(at, sizeof(at), "%s", where);
        return fail(ps, KAERI_ERR_INVALID, at,
                    "resource '%s' is not \"*\" or an ARN", r);
    }
    return KAERI_OK;
}

/*
 * An AWS principal: "*", an account id, or an IAM ARN of the root, a user,
 * a role, or an STS role session. Wildcards elsewhere are refused, as AWS
 * refuses them ("Invalid principal in policy").
 */
static bool aws_principal_ok(const char *s)
{
    const char *colon[5];
    const char *res;

    if (!strcmp(s, "*") || is_account_id(s))
        return true;
    if (strchr(s, '*') || strchr(s, '?') || strncmp(s, "arn:", 4) ||
        !arn_split(s, colon))
        return false;
    res = colon[4] + 1;
    for (const char *a = colon[3] + 1; a < colon[4]; a++)
        if (!isdigit((unsigned char)*a))
            return false;
    if (colon[4] - colon[3] - 1 != 12) /* the account */
        return false;
    if (!strncmp(colon[1] + 1, "iam:", 4))
        return !strcmp(res, "root") || (!strncmp(res, "user/", 5) && res[5]) ||
               (!strncmp(res, "role/", 5) && res[5]);
    if (!strncmp(colon[1] + 1, "sts:", 4))
        return !strncmp(res, "assumed-role/", 13) && strchr(res + 13, '/');
    return false;
}

static enum kaeri_err parse_principal(struct parser *ps, const json_t *v,
                                      const char *where,
                                      struct principal_set *out)
{
    char at[PATH_MAX_LEN], item_at[PATH_MAX_LEN];
    const char *type;
    json_t *list;

    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*"))
            return fail(ps, KAERI_ERR_INVALID, where,
                        "expected \"*\" or an object");
        out->anyone = true;
        return KAERI_OK;
    }
    if (!json_is_object(v))
        return fail(ps, KAERI_ERR_INVALID, where,
                    "expected \"*\" or an object");
    if (json_object_size(v) == 0)
        return fail(ps, KAERI_ERR_INVALID, where, "must not be empty");
    json_object_foreach((json_t *)v, type, list)
    {
        struct strlist *dst;
        enum kaeri_err rc;

        path_member(at, sizeof(at), where, type);
        if (!strcmp(type, "AWS"))
            dst = &out->aws;
        else if (!strcmp(type, "Service"))
            dst = &out->service;
        else if (!strcmp(type, "Federated"))
            dst = &out->federated;
        else
            return fail(ps, KAERI_ERR_INVALID, at,
                        "principal type '%s' is not supported", type);
        rc = parse_strings(ps, list, at, dst);
        if (rc)
            return rc;
        for (size_t i = 0; i < dst->n; i++) {
            const char *s = dst->v[i];
            bool ok = dst == &out->aws
                          ? aws_principal_ok(s)
                          : *s && !strchr(s, '*') && !strchr(s, '?');

            if (!ok) {
                if (json_is_array(list))
                    path_index(item_at, sizeof(item_at), at, i);
                else
                    path_fmt(item_at, sizeof(item_at), "%s", at);
                return fail(ps, KAERI_ERR_INVALID, item_at,
                            "invalid %s principal '%s'", type, s);
            }
            if (dst == &out->aws && !strcmp(s, "*"))
                out->anyone = true;
        }
    }
    return KAERI_OK;
}

/*
 * Split "ForAnyValue:StringLikeIfExists" into set, operator and IfExists;
 * NULL when the operator is not one we implement.
 */
static const struct cond_op *lookup_op(const char *name, enum cond_set *set,
                                       bool *if_exists)
{
    static const char any[] = "ForAnyValue:", all[] = "ForAllValues:";
    static const char ifx[] = "IfExists";
    size_t len;

    *set = COND_SET_NONE;
    *if_exists = false;
    if (!strncmp(name, any, sizeof(any) - 1)) {
        *set = COND_SET_ANY;
        name += sizeof(any) - 1;
    } else if (!strncmp(name, all, sizeof(all) - 1)) {
        *set = COND_SET_ALL;
        name += sizeof(all) - 1;
    }
    len = strlen(name);
    if (len > sizeof(ifx) - 1 && !strcmp(name + len - (sizeof(ifx) - 1), ifx)) {
        *if_exists = true;
        len -= sizeof(ifx) - 1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(cond_ops); i++)
        if (strlen(cond_ops[i].name) == len &&
            !strncmp(cond_ops[i].name, name, len))
            return &cond_ops[i];
    return NULL;
}

/* One condition value as a string: JSON strings, booleans and integers. */
static enum kaeri_err cond_value(struct parser *ps, const json_t *v,
                                 const char *where, const struct cond_op *op,
                                 struct strlist *out)
{
    char num[32];

    if (json_is_string(v)) {
        enum kaeri_err rc = check_string(ps, v, where);

        if (rc)
            return rc;
        strlist_push(out, json_string_value(v));
    } else if (json_is_boolean(v)) {
        strlist_push(out, json_is_true(v) ? "true" : "false");
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        strlist_push(out, num);
    } else {
        return fail(ps, KAERI_ERR_INVALID, where,
                    "expected a string, a boolean or an integer");
    }
    if (op->match == COND_MATCH_BOOL &&
        strcasecmp(out->v[out->n - 1], "true") &&
        strcasecmp(out->v[out->n - 1], "false"))
        return fail(ps, KAERI_ERR_INVALID, where,
                    "Bool expects \"true\" or \"false\"");
    return KAERI_OK;
}

static enum kaeri_err parse_cond_key(struct parser *ps, struct cond *c,
                                     const json_t *v, const char *where)
{
    char at[PATH_MAX_LEN];
    size_t i;
    json_t *item;

    if (!json_is_array(v))
        return cond_value(ps, v, where, c->op, &c->values);
    if (json_array_size(v) == 0)
        return fail(ps, KAERI_ERR_INVALID, where, "must not be empty");
    if (json_array_size(v) > POLICY_MAX_VALUES)
        return fail(ps, KAERI_ERR_LIMIT, where, "more than %d entries",
                    POLICY_MAX_VALUES);
    json_array_foreach(v, i, item)
    {
        path_index(at, sizeof(at), where, i);
        enum kaeri_err rc = cond_value(ps, item, at, c->op, &c->values);

        if (rc)
            return rc;
    }
    return KAERI_OK;
}

/* "Condition": {"Operator": {"key": value(s), ...}, ...} */
static enum kaeri_err parse_condition(struct parser *ps, const json_t *v,
                                      const char *where, struct stmt *st)
{
    char op_at[PATH_MAX_LEN], key_at[PATH_MAX_LEN];
    const char *op_name, *key;
    json_t *keys, *vals;
    enum kaeri_err rc;

    if (!json_is_object(v))
        return fail(ps, KAERI_ERR_INVALID, where, "expected an object");
    json_object_foreach((json_t *)v, op_name, keys)
    {
        const struct cond_op *op;
        enum cond_set set;
        bool if_exists;

        path_member(op_at, sizeof(op_at), where, op_name);
        op = lookup_op(op_name, &set, &if_exists);
        if (!op)
            return fail(ps, KAERI_ERR_INVALID, op_at,
                        "condition operator '%s' is not supported", op_name);
        if (set != COND_SET_NONE && op->match == COND_MATCH_BOOL)
            return fail(ps, KAERI_ERR_INVALID, op_at,
                        "set qualifier '%s' is not supported with '%s'",
                        set == COND_SET_ANY ? "ForAnyValue:" : "ForAllValues:",
                        op->name);
        if (!json_is_object(keys))
            return fail(ps, KAERI_ERR_INVALID, op_at, "expected an object");
        if (json_object_size(keys) == 0)
            return fail(ps, KAERI_ERR_INVALID, op_at, "must not be empty");
        json_object_foreach(keys, key, vals)
        {
            struct cond *c;

            path_member(key_at, sizeof(key_at), op_at, key);
            if (!*key)
                return fail(ps, KAERI_ERR_INVALID, key_at,
                            "empty condition key");
            if (strlen(key) > POLICY_MAX_STRING)
                return fail(ps, KAERI_ERR_LIMIT, key_at, "longer than %d bytes",
                            POLICY_MAX_STRING);
            if (st->nconds == POLICY_MAX_CONDITIONS)
                return fail(ps, KAERI_ERR_LIMIT, key_at,
                            "more than %d conditions in one statement",
                            POLICY_MAX_CONDITIONS);
            st->conds =
                xrealloc(st->conds, (st->nconds + 1) * sizeof(*st->conds));
            c = &st->conds[st->nconds++];
            memset(c, 0, sizeof(*c));
            c->op = op;
            c->set = set;
            c->if_exists = if_exists;
            c->key = xstrdup(key);
            if ((rc = parse_cond_key(ps, c, vals, key_at)))
                return rc;
        }
    }
    return KAERI_OK;
}

/* The statement elements we know, and the ones we refuse by name. */
static const char *const stmt_keys[] = {"Sid",      "Effect",    "Action",
                                        "Resource", "Principal", "Condition"};
static const char *const stmt_refused[] = {"NotAction", "NotResource",
                                           "NotPrincipal"};

static enum kaeri_err parse_stmt(struct parser *ps, const json_t *v,
                                 const char *where, struct stmt *st)
{
    char at[PATH_MAX_LEN];
    const char *key, *effect;
    enum kaeri_err rc;
    json_t *m;

    if (!json_is_object(v))
        return fail(ps, KAERI_ERR_INVALID, where, "expected an object");
    json_object_foreach((json_t *)v, key, m)
    {
        bool known = false;

        path_member(at, sizeof(at), where, key);
        for (size_t i = 0; i < ARRAY_SIZE(stmt_refused); i++)
            if (!strcmp(key, stmt_refused[i]))
                return fail(ps, KAERI_ERR_INVALID, at, "%s is not supported",
                            key);
        for (size_t i = 0; i < ARRAY_SIZE(stmt_keys); i++)
            if (!strcmp(key, stmt_keys[i]))
                known = true;
        if (!known)
            return fail(ps, KAERI_ERR_INVALID, at,
                        "unknown policy element '%s'", key);
    }

    path_member(at, sizeof(at), where, "Sid");
    m = json_object_get(v, "Sid");
    if (m && !json_is_string(m))
        return fail(ps, KAERI_ERR_INVALID, at, "expected a string");

    path_member(at, sizeof(at), where, "Effect");
    m = json_object_get(v, "Effect");
    if (!m)
        return fail(ps, KAERI_ERR_INVALID, at, "required");
    effect = json_string_value(m);
    if (!effect || (strcmp(effect, "Allow") && strcmp(effect, "Deny")))
        return fail(ps, KAERI_ERR_INVALID, at,
                    "expected \"Allow\" or \"Deny\"");
    st->deny = !strcmp(effect, "Deny");

    /* AWS requires Action in every statement, trust policies included */
    path_member(at, sizeof(at), where, "Action");
    m = json_object_get(v, "Action");
    if (!m)
        return fail(ps, KAERI_ERR_INVALID, at, "required");
    if ((rc = parse_actions(ps, m, at, &st->actions)))
        return rc;

    path_member(at, sizeof(at), where, "Resource");
    m = json_object_get(v, "Resource");
    if (ps->kind == POLICY_TRUST && m)
        return fail(ps, KAERI_ERR_INVALID, at,
                    "a trust policy must not have a Resource");
    if (ps->kind == POLICY_IDENTITY) {
        if (!m)
            return fail(ps, KAERI_ERR_INVALID, at, "required");
        if ((rc = parse_resources(ps, m, at, &st->resources)))
            return rc;
    }

    path_member(at, sizeof(at), where, "Principal");
    m = json_object_get(v, "Principal");
    if (ps->kind == POLICY_IDENTITY && m)
        return fail(ps, KAERI_ERR_INVALID, at,
                    "an identity policy must not have a Principal");
    if (ps->kind == POLICY_TRUST) {
        if (!m)
            return fail(ps, KAERI_ERR_INVALID, at, "required");
        if ((rc = parse_principal(ps, m, at, &st->principal)))
            return rc;
    }

    path_member(at, sizeof(at), where, "Condition");
    m = json_object_get(v, "Condition");
    if (m && (rc = parse_condition(ps, m, at, st)))
        return rc;
    return KAERI_OK;
}

static enum kaeri_err parse_doc(struct parser *ps, const json_t *doc,
                                const char *root, struct policy *p)
{
    char at[PATH_MAX_LEN];
    const char *key, *version = NULL;
    json_t *m, *stmts;

    if (!json_is_object(doc))
        return fail(ps, KAERI_ERR_INVALID, root,
                    "expected a policy document (an object)");
    json_object_foreach((json_t *)doc, key, m)
    {
        if (strcmp(key, "Version") && strcmp(key, "Id") &&
            strcmp(key, "Statement")) {
            path_member(at, sizeof(at), root, key);
            return fail(ps, KAERI_ERR_INVALID, at,
                        "unknown policy element '%s'", key);
        }
    }

    path_member(at, sizeof(at), root, "Version");
    m = json_object_get(doc, "Version");
    if (m) {
        version = json_string_value(m);
        if (!version)
            return fail(ps, KAERI_ERR_INVALID, at, "expected a string");
        if (strcmp(version, "2012-10-17") && strcmp(version, "2008-10-17"))
            return fail(ps, KAERI_ERR_INVALID, at,
                        "unsupported policy version '%s' (expected "
                        "\"2012-10-17\" or \"2008-10-17\")",
                        version);
    }
    /* AWS: policy variables exist only in 2012-10-17 documents */
    ps->variables = version && !strcmp(version, "2012-10-17");

    path_member(at, sizeof(at), root, "Id");
    m = json_object_get(doc, "Id");
    if (m && !json_is_string(m))
        return fail(ps, KAERI_ERR_INVALID, at, "expected a string");

    path_member(at, sizeof(at), root, "Statement");
    stmts = json_object_get(doc, "Statement");
    if (!stmts)
        return fail(ps, KAERI_ERR_INVALID, at, "required");
    if (json_is_object(stmts)) {
        p->stmts = xcalloc(1, sizeof(*p->stmts));
        p->nstmts = 1;
        return parse_stmt(ps, stmts, at, &p->stmts[0]);
    }
    if (!json_is_array(stmts))
        return fail(ps, KAERI_ERR_INVALID, at,
                    "expected an object or an array of objects");
    if (json_array_size(stmts) == 0)
        return fail(ps, KAERI_ERR_INVALID, at, "must not be empty");
    if (json_array_size(stmts) > POLICY_MAX_STATEMENTS)
        return fail(ps, KAERI_ERR_LIMIT, at, "more than %d statements",
                    POLICY_MAX_STATEMENTS);
    p->stmts = xcalloc(json_array_size(stmts), sizeof(*p->stmts));
    for (size_t i = 0; i < json_array_size(stmts); i++) {
        char st_at[PATH_MAX_LEN];
        enum kaeri_err rc;

        p->nstmts = i + 1; /* so policy_free() sees what was filled */
        path_index(st_at, sizeof(st_at), at, i);
        rc = parse_stmt(ps, json_array_get(stmts, i), st_at, &p->stmts[i]);
        if (rc)
            return rc;
    }
    return KAERI_OK;
}

enum kaeri_err policy_parse(const json_t *doc, const char *json_path,
                            enum policy_kind kind, struct policy **out,
                            struct kaeri_error *err)
{
    struct parser ps = {kind, false, err};
    struct policy *p = xcalloc(1, sizeof(*p));
    enum kaeri_err rc;

    *out = NULL;
    p->kind = kind;
    if (kind != POLICY_IDENTITY && kind != POLICY_TRUST)
        rc = fail(&ps, KAERI_ERR_INVALID, json_path ? json_path : "$",
                  "unknown policy kind");
    else
        rc = parse_doc(&ps, doc, json_path ? json_path : "$", p);
    if (rc) {
        policy_free(p);
        return rc;
    }
    *out = p;
    return KAERI_OK;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nstmts; i++) {
        struct stmt *st = &p->stmts[i];

        strlist_release(&st->actions);
        strlist_release(&st->resources);
        strlist_release(&st->principal.aws);
        strlist_release(&st->principal.service);
        strlist_release(&st->principal.federated);
        for (size_t j = 0; j < st->nconds; j++) {
            free(st->conds[j].key);
            strlist_release(&st->conds[j].values);
        }
        free(st->conds);
    }
    free(p->stmts);
    free(p);
}

enum policy_kind policy_kind_of(const struct policy *p)
{
    return p->kind;
}

/* ---- evaluation ---- */

static bool any_action(const struct strlist *l, const char *action)
{
    for (size_t i = 0; i < l->n; i++)
        if (policy_wildcard_match(l->v[i], action, true))
            return true;
    return false;
}

static bool any_resource(const struct strlist *l, const char *resource)
{
    for (size_t i = 0; i < l->n; i++)
        if (policy_arn_match(l->v[i], resource))
            return true;
    return false;
}

static bool any_exact(const struct strlist *l, const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

/* The caller's account: its own field, else the ARN's fifth component. */
static bool caller_account(const struct policy_principal *who, char out[16])
{
    const char *colon[5];
    size_t len;

    if (who->account && *who->account) {
        snprintf(out, 16, "%s", who->account);
        return true;
    }
    if (!who->aws_arn || !arn_split(who->aws_arn, colon))
        return false;
    len = (size_t)(colon[4] - colon[3] - 1);
    if (len == 0 || len >= 16)
        return false;
    memcpy(out, colon[3] + 1, len);
    out[len] = '\0';
    return true;
}

/*
 * Does the trust entry 'role_arn' ("arn:P:iam::A:role/path/N") name the
 * role whose session 'arn' ("arn:P:sts::A:assumed-role/N/session") is?
 */
static bool is_session_of(const char *role_arn, const char *arn)
{
    const char *rc[5], *sc[5];
    const char *name, *sess_name, *slash;

    if (!arn_split(role_arn, rc) || !arn_split(arn, sc))
        return false;
    /* "arn:partition" equal, services iam and sts, accounts equal */
    if (rc[1] - role_arn != sc[1] - arn ||
        strncmp(role_arn, arn, (size_t)(rc[1] - role_arn)))
        return false;
    if (strncmp(rc[1], ":iam:", 5) || strncmp(sc[1], ":sts:", 5))
        return false;
    if (rc[4] - rc[3] != sc[4] - sc[3] ||
        strncmp(rc[3], sc[3], (size_t)(rc[4] - rc[3])))
        return false;
    if (strncmp(rc[4] + 1, "role/", 5) ||
        strncmp(sc[4] + 1, "assumed-role/", 13))
        return false;
    name = strrchr(rc[4] + 1, '/') + 1; /* the path is not in the session */
    sess_name = sc[4] + 1 + 13;
    slash = strchr(sess_name, '/');
    return slash && slash[1] && (size_t)(slash - sess_name) == strlen(name) &&
           !strncmp(sess_name, name, strlen(name));
}

static bool aws_principal_matches(const char *entry,
                                  const struct policy_principal *who)
{
    const char *colon[5];
    char account[16];

    if (!strcmp(entry, "*"))
        return true;
    if (is_account_id(entry))
        return caller_account(who, account) && !strcmp(entry, account);
    if (!arn_split(entry, colon))
        return false;
    if (!strcmp(colon[4] + 1, "root") && !strncmp(colon[1], ":iam:", 5)) {
        size_t len = (size_t)(colon[4] - colon[3] - 1);

        return caller_account(who, account) && strlen(account) == len &&
               !strncmp(colon[3] + 1, account, len);
    }
    if (!who->aws_arn)
        return false;
    if (!strcmp(entry, who->aws_arn))
        return true;
    return !strncmp(colon[4] + 1, "role/", 5) &&
           is_session_of(entry, who->aws_arn);
}

static bool principal_matches(const struct principal_set *ps,
                              const struct policy_principal *who)
{
    if (ps->anyone)
        return true;
    if (!who)
        return false;
    for (size_t i = 0; i < ps->aws.n; i++)
        if (aws_principal_matches(ps->aws.v[i], who))
            return true;
    return any_exact(&ps->service, who->service) ||
           any_exact(&ps->federated, who->federated);
}

/* Does one policy value match one context value under 'op'? */
static bool value_matches(const struct cond_op *op, const char *want,
                          const char *have)
{
    switch (op->match) {
    case COND_MATCH_EXACT:
        return op->ignore_case ? !strcasecmp(want, have) : !strcmp(want, have);
    case COND_MATCH_LIKE:
        return policy_wildcard_match(want, have, false);
    case COND_MATCH_BOOL:
        return !strcasecmp(want, have);
    }
    return false;
}

/* Does 'have' pass the operator's test: any listed value, or none if negated?
 */
static bool context_value_passes(const struct cond *c, const char *have)
{
    bool hit = false;

    for (size_t i = 0; i < c->values.n && !hit; i++)
        hit = value_matches(c->op, c->values.v[i], have);
    return c->op->negated ? !hit : hit;
}

static bool cond_holds(const struct cond *c, const struct policy_context *ctx)
{
    const struct ctx_entry *e = context_find(ctx, c->key);
    const struct strlist *have = e ? &e->values : NULL;
    bool any = false, all = true;

    if (!have || have->n == 0) {
        if (c->if_exists || c->set == COND_SET_ALL)
            return true;
        if (c->set == COND_SET_ANY)
            return false;
        return c->op->negated;
    }
    for (size_t i = 0; i < have->n; i++) {
        if (context_value_passes(c, have->v[i]))
            any = true;
        else
            all = false;
    }
    switch (c->set) {
    case COND_SET_ANY:
        return any;
    case COND_SET_ALL:
        return all;
    case COND_SET_NONE:
        /*
         * A single-valued operator on a multi-valued key: positive holds
         * if any value matches, negated only if none does ('all' here).
         */
        return c->op->negated ? all : any;
    }
    return false;
}

static bool stmt_applies(enum policy_kind kind, const struct stmt *st,
                         const struct policy_request *req)
{
    if (!req->action || !any_action(&st->actions, req->action))
        return false;
    if (kind == POLICY_IDENTITY && !any_resource(&st->resources, req->resource))
        return false;
    if (kind == POLICY_TRUST &&
        !principal_matches(&st->principal, req->principal))
        return false;
    for (size_t i = 0; i < st->nconds; i++)
        if (!cond_holds(&st->conds[i], req->context))
            return false;
    return true;
}

enum policy_decision policy_evaluate(const struct policy *const *policies,
                                     size_t count,
                                     const struct policy_request *req)
{
    enum policy_decision d = POLICY_IMPLICIT_DENY;

    for (size_t i = 0; i < count; i++) {
        const struct policy *p = policies[i];

        if (!p)
            continue;
        for (size_t j = 0; j < p->nstmts; j++) {
            if (!stmt_applies(p->kind, &p->stmts[j], req))
                continue;
            if (p->stmts[j].deny)
                return POLICY_EXPLICIT_DENY;
            d = POLICY_ALLOW;
        }
    }
    return d;
}

const char *policy_decision_name(enum policy_decision d)
{
    switch (d) {
    case POLICY_IMPLICIT_DENY:
        return "implicit-deny";
    case POLICY_ALLOW:
        return "allow";
    case POLICY_EXPLICIT_DENY:
        return "explicit-deny";
    }
    return "unknown";
}

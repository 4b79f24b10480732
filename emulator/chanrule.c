/*
 * chanrule.c - AppSync Events channel paths (parse, normalise, match) and
 * the declarative onSubscribe / onPublish rules that stand in for a
 * namespace's APPSYNC_JS handlers (spec/appsync-events.md sections 2 and
 * 7). The rule language is described in chanrule.h.
 *
 * The evaluator's inputs and outputs are those of a JS handler (ctx.info,
 * ctx.identity, ctx.events in; allow, util.unauthorized(), util.error(),
 * the events to broadcast and per-event errors out), so a JS runtime can
 * replace chanrule_eval() later.
 *
 * Left out on purpose: data-source integrations ({request, response}
 * handlers), payload transformation (rules keep or drop events, never
 * rewrite them), ctx.stash, array indexes in field paths.
 */
#include "chanrule.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN  256        /* a JSON path in an error */
#define VALUE_MAX (64 << 10) /* a substituted template, in bytes */

/*
 * Format a JSON path into where[PATH_LEN]; a path that does not fit is
 * cut, which only shortens an error message.
 */
static void KAERI_PRINTF(2, 3) path_fmt(char *where, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(where, PATH_LEN, fmt, ap);
    va_end(ap);
}

/* ---- channel paths ---- */

static bool seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

static enum kaeri_err bad_channel(struct kaeri_error *err, size_t offset)
{
    char where[PATH_LEN];

    path_fmt(where, "column %zu", offset + 1);
    return kaeri_fail(err, KAERI_ERR_INVALID, where, "%s",
                      CHANRULE_INVALID_CHANNEL);
}

/*
 * Check one segment s[0..n) that starts at 'offset' in the input; the
 * offset of its first bad byte on failure, else (size_t)-1.
 */
static size_t check_segment(const char *s, size_t n, size_t offset)
{
    if (n == 0)
        return offset;
    for (size_t i = 0; i < n; i++) {
        if (i == CHANRULE_SEGMENT_MAX || !seg_char(s[i]))
            return offset + i;
    }
    if (s[0] == '-')
        return offset;
    if (s[n - 1] == '-')
        return offset + n - 1;
    return (size_t)-1;
}

enum kaeri_err chanrule_channel_parse(const char *s, size_t len,
                                      enum chanrule_op op,
                                      struct chanrule_channel *out,
                                      struct kaeri_error *err)
{
    size_t i = 0, plen = 0;

    memset(out, 0, sizeof(*out));
    if (len > 0 && s[0] == '/')
        i = 1;
    if (i >= len)
        return bad_channel(err, i);
    for (;;) {
        size_t start = i, n, bad;

        while (i < len && s[i] != '/')
            i++;
        n = i - start;
        if (out->nseg == CHANRULE_MAX_SEGMENTS)
            return bad_channel(err, start);
        if (n == 1 && s[start] == '*') {
            /* a wildcard: subscriptions only, last, after the namespace */
            if (op != CHANRULE_SUBSCRIBE || out->nseg == 0 || i != len)
                return bad_channel(err, start);
            out->wildcard = true;
        } else if ((bad = check_segment(s + start, n, start)) != (size_t)-1) {
            return bad_channel(err, bad);
        }
        memcpy(out->seg[out->nseg], s + start, n);
        out->seg[out->nseg][n] = '\0';
        out->path[plen++] = '/';
        memcpy(out->path + plen, s + start, n);
        plen += n;
        out->nseg++;
        if (i == len)
            break;
        i++; /* the '/' */
        if (i == len)
            return bad_channel(err, i - 1); /* a trailing '/' */
    }
    out->path[plen] = '\0';
    return KAERI_OK;
}

bool chanrule_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && check_segment(s, n, 0) == (size_t)-1;
}

bool chanrule_channel_match(const struct chanrule_channel *sub,
                            const struct chanrule_channel *ch)
{
    size_t k;

    if (ch->wildcard)
        return false;
    if (!sub->wildcard)
        return !strcmp(sub->path, ch->path);
    k = sub->nseg - 1; /* the segments before the "*" */
    if (ch->nseg <= k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (strcmp(sub->seg[i], ch->seg[i]))
            return false;
    return true;
}

/* ---- rules: the parsed form ---- */

enum cond_kind {
    COND_PATH,        /* ctx.info.channel.path */
    COND_SEGMENT,     /* ctx.info.channel.segments[n] */
    COND_IDENTITY,    /* a field of ctx.identity */
    COND_PAYLOAD,     /* a field of the event's payload */
    COND_IDENTITY_IS, /* the identity's kind */
    COND_NOT,
    COND_ANY,
    COND_ALL,
};

enum cond_cmp {
    CMP_EQUALS,
    CMP_STARTS_WITH,
    CMP_EXISTS,
};

enum ident_kind {
    IDENT_NULL,
    IDENT_COGNITO,
    IDENT_IAM,
    IDENT_OIDC,
    IDENT_LAMBDA,
};

static const char *const ident_names[] = {
    [IDENT_NULL] = "null", [IDENT_COGNITO] = "cognito", [IDENT_IAM] = "iam",
    [IDENT_OIDC] = "oidc", [IDENT_LAMBDA] = "lambda",
};

struct cond {
    enum cond_kind kind;
    enum cond_cmp cmp;
    size_t segment;        /* COND_SEGMENT */
    char *field;           /* COND_IDENTITY, COND_PAYLOAD: "a.b", may be "" */
    char *tmpl;            /* CMP_EQUALS, CMP_STARTS_WITH */
    bool exists;           /* CMP_EXISTS: the wanted answer */
    enum ident_kind ident; /* COND_IDENTITY_IS */
    struct cond *sub;      /* COND_NOT (1), COND_ANY, COND_ALL */
    size_t nsub;
};

enum action {
    ACT_ALLOW,
    ACT_KEEP,
    ACT_DROP,
    ACT_EVENT_ERROR,
    ACT_UNAUTHORIZED,
    ACT_ERROR,
};

struct rule {
    struct cond *when;   /* NULL: always */
    struct cond *unless; /* NULL: never */
    enum action act;
    char *message; /* ACT_ERROR, ACT_EVENT_ERROR */
};

struct chanrule_rules {
    enum chanrule_op op;
    struct rule *v;
    size_t n;
    json_t *src; /* a copy of what was parsed, for chanrule_rules_json() */
};

static void cond_release(struct cond *c)
{
    for (size_t i = 0; i < c->nsub; i++)
        cond_release(&c->sub[i]);
    free(c->sub);
    free(c->field);
    free(c->tmpl);
}

static void cond_free(struct cond *c)
{
    if (!c)
        return;
    cond_release(c);
    free(c);
}

void chanrule_rules_free(struct chanrule_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        cond_free(r->v[i].when);
        cond_free(r->v[i].unless);
        free(r->v[i].message);
    }
    free(r->v);
    json_decref(r->src);
    free(r);
}

json_t *chanrule_rules_json(const struct chanrule_rules *r)
{
    return r ? json_deep_copy(r->src) : NULL;
}

/* ---- rules: parsing ---- */

/* A field path "a.b.c": non-empty components, or "" when 'empty_ok'. */
static bool field_valid(const char *f, bool empty_ok)
{
    size_t n = strlen(f);

    if (n == 0)
        return empty_ok;
    if (n > CHANRULE_TEMPLATE_MAX || f[0] == '.' || f[n - 1] == '.' ||
        strstr(f, ".."))
        return false;
    return true;
}

/*
 * Check a template: every "${" opens "${identity.<field>}". The only
 * variable source is ctx.identity; anything else is refused so a typo
 * does not quietly never match.
 */
static enum kaeri_err template_check(const char *t, const char *where,
                                     struct kaeri_error *err)
{
    const char *p = t;

    if (strlen(t) > CHANRULE_TEMPLATE_MAX)
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "longer than %d bytes",
                          CHANRULE_TEMPLATE_MAX);
    while ((p = strstr(p, "${"))) {
        const char *end = strchr(p, '}');
        char field[CHANRULE_TEMPLATE_MAX + 1];
        size_t n;

        if (!end)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "'${' without '}'");
        if (strncmp(p + 2, "identity.", 9))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "unknown variable '%.*s': expected "
                              "${identity.<field>}",
                              (int)(end - p + 1), p);
        n = (size_t)(end - (p + 11));
        memcpy(field, p + 11, n);
        field[n] = '\0';
        if (!field_valid(field, false))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "bad field path in '%.*s'", (int)(end - p + 1),
                              p);
        p = end + 1;
    }
    return KAERI_OK;
}

/* Read the string template member 'key' of 'obj' into *out (owned). */
static enum kaeri_err read_template(const json_t *obj, const char *path,
                                    const char *key, char **out,
                                    struct kaeri_error *err)
{
    char where[PATH_LEN];
    const char *s = NULL;
    enum kaeri_err rc;

    if ((rc = cfg_string(obj, path, key, true, &s, err)))
        return rc;
    path_fmt(where, "%s.%s", path, key);
    if ((rc = template_check(s, where, err)))
        return rc;
    *out = xstrdup(s);
    return KAERI_OK;
}

static enum kaeri_err parse_cond(const json_t *j, const char *path,
                                 enum chanrule_op op, int depth, struct cond *c,
                                 struct kaeri_error *err);

/* "any" / "all" / a top-level array: a list of conditions, not empty. */
static enum kaeri_err parse_cond_list(const json_t *arr, const char *path,
                                      enum chanrule_op op, int depth,
                                      struct cond *c, struct kaeri_error *err)
{
    size_t n = json_array_size(arr);

    if (!json_is_array(arr))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an array");
    if (n == 0)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "expected at least one condition");
    if (n > CHANRULE_MAX_RULES)
        return kaeri_fail(err, KAERI_ERR_LIMIT, path, "more than %d conditions",
                          CHANRULE_MAX_RULES);
    c->sub = xcalloc(n, sizeof(*c->sub));
    for (size_t i = 0; i < n; i++) {
        char where[PATH_LEN];
        enum kaeri_err rc;

        path_fmt(where, "%s[%zu]", path, i);
        c->nsub = i + 1; /* so a failure frees what was filled */
        if ((rc = parse_cond(json_array_get(arr, i), where, op, depth + 1,
                             &c->sub[i], err)))
            return rc;
    }
    return KAERI_OK;
}

/* The condition forms, told apart by the one key that opens them. */
static const char *const cond_openers[] = {
    "pathStartsWith", "pathEquals", "segment", "identity", "payload",
    "identityIs",     "not",        "any",     "all",      NULL,
};

/* A subject with one comparison: segment / identity / payload. */
static enum kaeri_err parse_comparison(const json_t *j, const char *path,
                                       const char *subject, struct cond *c,
                                       struct kaeri_error *err)
{
    const char *allowed[] = {subject, "equals", "startsWith", "exists", NULL};
    int ncmp = 0;
    enum kaeri_err rc;

    if ((rc = cfg_keys(j, path, allowed, err)))
        return rc;
    for (size_t i = 1; i < 4; i++)
        ncmp += json_object_get(j, allowed[i]) != NULL;
    if (ncmp != 1)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "'%s' needs exactly one of equals, startsWith, "
                          "exists",
                          subject);
    if (json_object_get(j, "equals")) {
        c->cmp = CMP_EQUALS;
        return read_template(j, path, "equals", &c->tmpl, err);
    }
    if (json_object_get(j, "startsWith")) {
        c->cmp = CMP_STARTS_WITH;
        return read_template(j, path, "startsWith", &c->tmpl, err);
    }
    c->cmp = CMP_EXISTS;
    return cfg_bool(j, path, "exists", true, &c->exists, err);
}

/* Parse one condition (object or array) at 'path' into 'c' (zeroed). */
static enum kaeri_err parse_cond(const json_t *j, const char *path,
                                 enum chanrule_op op, int depth, struct cond *c,
                                 struct kaeri_error *err)
{
    const char *opener = NULL, *s = NULL;
    char where[PATH_LEN];
    enum kaeri_err rc;
    int nopen = 0;

    memset(c, 0, sizeof(*c));
    if (depth > CHANRULE_MAX_DEPTH)
        return kaeri_fail(err, KAERI_ERR_LIMIT, path,
                          "conditions nested deeper than %d",
                          CHANRULE_MAX_DEPTH);
    if (json_is_array(j)) {
        c->kind = COND_ALL;
        return parse_cond_list(j, path, op, depth, c, err);
    }
    if (!json_is_object(j))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "expected a condition object or an array of them");
    for (size_t i = 0; cond_openers[i]; i++) {
        if (json_object_get(j, cond_openers[i])) {
            if (!opener)
                opener = cond_openers[i];
            nopen++;
        }
    }
    if (nopen == 0) {
        const char *key = json_object_iter_key(json_object_iter((json_t *)j));

        if (!key)
            return kaeri_fail(err, KAERI_ERR_INVALID, path, "empty condition");
        path_fmt(where, "%s.%s", path, key);
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "unknown condition");
    }
    if (nopen > 1)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "one condition per object (use \"all\" to combine)");
    path_fmt(where, "%s.%s", path, opener);

    if (!strcmp(opener, "segment") || !strcmp(opener, "identity") ||
        !strcmp(opener, "payload")) {
        if ((rc = parse_comparison(j, path, opener, c, err)))
            return rc;
        if (!strcmp(opener, "segment")) {
            json_int_t n = 0;

            c->kind = COND_SEGMENT;
            if ((rc = cfg_int(j, path, "segment", true, 0,
                              CHANRULE_MAX_SEGMENTS - 1, &n, err)))
                return rc;
            c->segment = (size_t)n;
            return KAERI_OK;
        }
        c->kind = !strcmp(opener, "identity") ? COND_IDENTITY : COND_PAYLOAD;
        if (c->kind == COND_PAYLOAD && op != CHANRULE_PUBLISH)
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "payload conditions belong to onPublish");
        if ((rc = cfg_string(j, path, opener, true, &s, err)))
            return rc;
        if (!field_valid(s, c->kind == COND_PAYLOAD))
            return kaeri_fail(err, KAERI_ERR_INVALID, where,
                              "expected a field path such as \"a.b\"");
        c->field = xstrdup(s);
        return KAERI_OK;
    }

    /* the other forms stand alone */
    {
        const char *alone[] = {opener, NULL};

        if ((rc = cfg_keys(j, path, alone, err)))
            return rc;
    }
    if (!strcmp(opener, "pathStartsWith") || !strcmp(opener, "pathEquals")) {
        c->kind = COND_PATH;
        c->cmp = opener[4] == 'S' ? CMP_STARTS_WITH : CMP_EQUALS;
        return read_template(j, path, opener, &c->tmpl, err);
    }
    if (!strcmp(opener, "identityIs")) {
        c->kind = COND_IDENTITY_IS;
        if ((rc = cfg_string(j, path, opener, true, &s, err)))
            return rc;
        for (size_t i = 0; i < ARRAY_SIZE(ident_names); i++) {
            if (!strcmp(s, ident_names[i])) {
                c->ident = (enum ident_kind)i;
                return KAERI_OK;
            }
        }
        return kaeri_fail(err, KAERI_ERR_INVALID, where,
                          "expected null, cognito, iam, oidc or lambda");
    }
    if (!strcmp(opener, "not")) {
        c->kind = COND_NOT;
        c->sub = xcalloc(1, sizeof(*c->sub));
        c->nsub = 1;
        return parse_cond(json_object_get(j, "not"), where, op, depth + 1,
                          c->sub, err);
    }
    c->kind = !strcmp(opener, "any") ? COND_ANY : COND_ALL;
    return parse_cond_list(json_object_get(j, opener), where, op, depth, c,
                           err);
}

struct action_name {
    const char *name;
    enum action act;
    bool subscribe, publish; /* where it may appear */
};

static const struct action_name action_names[] = {
    {"allow", ACT_ALLOW, true, false},
    {"keep", ACT_KEEP, false, true},
    {"drop", ACT_DROP, false, true},
    {"unauthorized", ACT_UNAUTHORIZED, true, true},
};

static enum kaeri_err parse_action(const json_t *j, const char *path,
                                   enum chanrule_op op, struct rule *r,
                                   struct kaeri_error *err)
{
    const char *sub_list = "\"allow\", \"unauthorized\" or {\"error\": ...}";
    const char *pub_list = "\"keep\", \"drop\", \"unauthorized\", "
                           "{\"eventError\": ...} or {\"error\": ...}";
    const char *expected = op == CHANRULE_SUBSCRIBE ? sub_list : pub_list;
    if (json_is_string(j)) {
        const char *s = json_string_value(j);

        for (size_t i = 0; i < ARRAY_SIZE(action_names); i++) {
            const struct action_name *a = &action_names[i];

            if (strcmp(s, a->name))
                continue;
            if (op == CHANRULE_SUBSCRIBE ? !a->subscribe : !a->publish)
                break;
            r->act = a->act;
            return KAERI_OK;
        }
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected %s",
                          expected);
    }
    if (json_is_object(j) && json_object_size(j) == 1) {
        const char *key = json_object_iter_key(json_object_iter((json_t *)j));

        if (!strcmp(key, "error") ||
            (!strcmp(key, "eventError") && op == CHANRULE_PUBLISH)) {
            const char *msg = NULL;
            enum kaeri_err rc;

            if ((rc = cfg_string(j, path, key, true, &msg, err)))
                return rc;
            r->act = !strcmp(key, "error") ? ACT_ERROR : ACT_EVENT_ERROR;
            r->message = xstrdup(msg);
            return KAERI_OK;
        }
    }
    return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected %s", expected);
}

static enum kaeri_err parse_rule(const json_t *j, const char *path,
                                 enum chanrule_op op, struct rule *r,
                                 struct kaeri_error *err)
{
    static const char *const keys[] = {"when", "unless", "then", NULL};
    char where[PATH_LEN];
    enum kaeri_err rc;
    const json_t *v;

    if (!json_is_object(j))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(j, path, keys, err)))
        return rc;
    if ((v = json_object_get(j, "when"))) {
        path_fmt(where, "%s.when", path);
        r->when = xcalloc(1, sizeof(*r->when));
        if ((rc = parse_cond(v, where, op, 0, r->when, err)))
            return rc;
    }
    if ((v = json_object_get(j, "unless"))) {
        path_fmt(where, "%s.unless", path);
        r->unless = xcalloc(1, sizeof(*r->unless));
        if ((rc = parse_cond(v, where, op, 0, r->unless, err)))
            return rc;
    }
    path_fmt(where, "%s.then", path);
    if (!(v = json_object_get(j, "then")))
        return kaeri_fail(err, KAERI_ERR_INVALID, where, "required");
    return parse_action(v, where, op, r, err);
}

enum kaeri_err chanrule_rules_parse(const json_t *rules, const char *path,
                                    enum chanrule_op op,
                                    struct chanrule_rules **out,
                                    struct kaeri_error *err)
{
    struct chanrule_rules *r = NULL;
    enum kaeri_err rc = KAERI_OK;
    size_t n;

    *out = NULL;
    if (!rules || json_is_null(rules))
        return KAERI_OK;
    if (!json_is_array(rules))
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "expected an array of rules");
    n = json_array_size(rules);
    if (n > CHANRULE_MAX_RULES)
        return kaeri_fail(err, KAERI_ERR_LIMIT, path, "more than %d rules",
                          CHANRULE_MAX_RULES);
    r = xcalloc(1, sizeof(*r));
    r->op = op;
    r->v = xcalloc(n ? n : 1, sizeof(*r->v));
    for (size_t i = 0; i < n; i++) {
        char where[PATH_LEN];

        path_fmt(where, "%s[%zu]", path, i);
        r->n = i + 1;
        if ((rc = parse_rule(json_array_get(rules, i), where, op, &r->v[i],
                             err)))
            goto out;
    }
    r->src = json_deep_copy(rules);
    *out = r;
    r = NULL;
out:
    chanrule_rules_free(r);
    return rc;
}

/* ---- rules: evaluation ---- */

/* The value at field path 'f' ("a.b", "" = root) under 'root', or NULL. */
static const json_t *lookup(const json_t *root, const char *f, size_t flen)
{
    const json_t *v = root;
    size_t i = 0;

    if (!root || json_is_null(root))
        return NULL;
    while (i < flen) {
        const char *dot = memchr(f + i, '.', flen - i);
        size_t n = dot ? (size_t)(dot - (f + i)) : flen - i;

        if (!json_is_object(v))
            return NULL;
        v = json_object_getn(v, f + i, n);
        if (!v)
            return NULL;
        i += n + (dot ? 1 : 0);
    }
    return json_is_null(v) ? NULL : v;
}

/*
 * Append a scalar's text to 'b': strings as they are, integers in
 * decimal, booleans as true/false. False for anything else (objects,
 * arrays, reals) or when 'b' is full: the caller treats it as missing.
 */
static bool add_scalar(struct buf *b, const json_t *v)
{
    if (json_is_string(v))
        return !buf_add(b, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return !buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_boolean(v))
        return !buf_adds(b, json_is_true(v) ? "true" : "false");
    return false;
}

/* Render template 't' into 'b'; false when a variable is missing. */
static bool render(const char *t, const json_t *identity, struct buf *b)
{
    const char *p = t, *var;

    buf_reset(b);
    while ((var = strstr(p, "${"))) {
        const char *end = strchr(var, '}');
        const char *f = var + 11; /* past "${identity." (checked at parse) */

        assert(end);
        if (buf_add(b, p, (size_t)(var - p)) ||
            !add_scalar(b, lookup(identity, f, (size_t)(end - f))))
            return false;
        p = end + 1;
    }
    return !buf_adds(b, p);
}

static enum ident_kind identity_kind(const json_t *id)
{
    if (!id || !json_is_object(id))
        return IDENT_NULL;
    if (json_object_get(id, "handlerContext"))
        return IDENT_LAMBDA;
    if (json_object_get(id, "accountId") || json_object_get(id, "userArn"))
        return IDENT_IAM;
    if (json_object_get(id, "username") || json_object_get(id, "groups"))
        return IDENT_COGNITO;
    return IDENT_OIDC;
}

/* What a comparison compares: the subject as text, or nothing. */
static bool subject_text(const struct cond *c, const struct chanrule_ctx *ctx,
                         const json_t *payload, struct buf *b)
{
    const json_t *v;

    buf_reset(b);
    switch (c->kind) {
    case COND_PATH:
        return !buf_adds(b, ctx->channel->path);
    case COND_SEGMENT:
        return c->segment < ctx->channel->nseg &&
               !buf_adds(b, ctx->channel->seg[c->segment]);
    case COND_IDENTITY:
        v = lookup(ctx->identity, c->field, strlen(c->field));
        return v && add_scalar(b, v);
    case COND_PAYLOAD:
        v = lookup(payload, c->field, strlen(c->field));
        return v && add_scalar(b, v);
    default:
        return false;
    }
}

static bool subject_exists(const struct cond *c, const struct chanrule_ctx *ctx,
                           const json_t *payload)
{
    switch (c->kind) {
    case COND_SEGMENT:
        return c->segment < ctx->channel->nseg;
    case COND_IDENTITY:
        return lookup(ctx->identity, c->field, strlen(c->field)) != NULL;
    case COND_PAYLOAD:
        return lookup(payload, c->field, strlen(c->field)) != NULL;
    default:
        return true;
    }
}

struct scratch {
    struct buf subject, value;
};

static bool eval_cond(const struct cond *c, const struct chanrule_ctx *ctx,
                      const json_t *payload, struct scratch *s)
{
    switch (c->kind) {
    case COND_NOT:
        return !eval_cond(c->sub, ctx, payload, s);
    case COND_ANY:
        for (size_t i = 0; i < c->nsub; i++)
            if (eval_cond(&c->sub[i], ctx, payload, s))
                return true;
        return false;
    case COND_ALL:
        for (size_t i = 0; i < c->nsub; i++)
            if (!eval_cond(&c->sub[i], ctx, payload, s))
                return false;
        return true;
    case COND_IDENTITY_IS:
        return identity_kind(ctx->identity) == c->ident;
    case COND_PATH:
    case COND_SEGMENT:
    case COND_IDENTITY:
    case COND_PAYLOAD:
        break;
    }
    if (c->cmp == CMP_EXISTS)
        return subject_exists(c, ctx, payload) == c->exists;
    if (!subject_text(c, ctx, payload, &s->subject) ||
        !render(c->tmpl, ctx->identity, &s->value))
        return false; /* a missing field never matches */
    if (c->cmp == CMP_EQUALS)
        return s->subject.len == s->value.len &&
               !memcmp(s->subject.data, s->value.data, s->value.len);
    return s->subject.len >= s->value.len &&
           !memcmp(s->subject.data, s->value.data, s->value.len);
}

/* The first rule that applies, or NULL. */
static const struct rule *first_rule(const struct chanrule_rules *rules,
                                     const struct chanrule_ctx *ctx,
                                     const json_t *payload, struct scratch *s)
{
    for (size_t i = 0; rules && i < rules->n; i++) {
        const struct rule *r = &rules->v[i];

        if (r->when && !eval_cond(r->when, ctx, payload, s))
            continue;
        if (r->unless && eval_cond(r->unless, ctx, payload, s))
            continue;
        return r;
    }
    return NULL;
}

void chanrule_result_release(struct chanrule_result *res)
{
    FREE_AND_NULL(res->message);
    json_decref(res->events);
    json_decref(res->failed);
    res->events = res->failed = NULL;
    res->verdict = CHANRULE_ALLOW;
}

/* Set a refusing verdict from rule 'r' and drop the event lists. */
static void refuse(struct chanrule_result *out, const struct rule *r)
{
    chanrule_result_release(out);
    if (r->act == ACT_UNAUTHORIZED) {
        out->verdict = CHANRULE_UNAUTHORIZED;
        return;
    }
    out->verdict = CHANRULE_ERROR;
    out->message = xstrdup(r->message);
}

static bool events_valid(const json_t *events)
{
    size_t i;
    const json_t *ev;

    if (!json_is_array(events))
        return false;
    json_array_foreach (events, i, ev) {
        if (!json_is_object(ev) || !json_is_string(json_object_get(ev, "id")))
            return false;
    }
    return true;
}

enum kaeri_err chanrule_eval(const struct chanrule_rules *rules,
                             const struct chanrule_ctx *ctx,
                             struct chanrule_result *out)
{
    struct scratch s;
    const struct rule *r;
    size_t i;
    json_t *ev;

    memset(out, 0, sizeof(*out));
    if (!ctx->channel ||
        (ctx->op == CHANRULE_PUBLISH && !events_valid(ctx->events)))
        return KAERI_ERR_INVALID;
    /* onSubscribe rules on a publish (or the reverse) is the caller's bug */
    assert(!rules || rules->op == ctx->op);
    buf_init(&s.subject, VALUE_MAX);
    buf_init(&s.value, VALUE_MAX);
    out->verdict = CHANRULE_ALLOW;
    if (ctx->op == CHANRULE_SUBSCRIBE) {
        r = first_rule(rules, ctx, NULL, &s);
        if (r && r->act != ACT_ALLOW)
            refuse(out, r);
        goto out;
    }
    out->events = json_array();
    out->failed = json_array();
    json_array_foreach (ctx->events, i, ev) {
        r = first_rule(rules, ctx, json_object_get(ev, "payload"), &s);
        if (!r || r->act == ACT_KEEP) {
            json_array_append(out->events, ev);
        } else if (r->act == ACT_EVENT_ERROR) {
            json_array_append_new(out->failed,
                                  json_pack("{s:O, s:s}", "id",
                                            json_object_get(ev, "id"), "error",
                                            r->message));
        } else if (r->act != ACT_DROP) {
            refuse(out, r); /* the handler stops at the first refusal */
            break;
        }
    }
out:
    buf_release(&s.subject);
    buf_release(&s.value);
    return KAERI_OK;
}

/* ---- what a JS handler sees ---- */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *source_ips(const char *ip)
{
    json_t *a = json_array();

    if (ip)
        json_array_append_new(a, json_string(ip));
    return a;
}

static json_t *claim_or_null(const json_t *claims, const char *key)
{
    const json_t *v = json_object_get(claims, key);

    return v ? json_deep_copy(v) : json_null();
}

json_t *chanrule_identity_cognito(const json_t *claims, const char *source_ip)
{
    const json_t *username = json_object_get(claims, "cognito:username");

    if (!username)
        username = json_object_get(claims, "username");
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:n, s:o}", "sub",
                     claim_or_null(claims, "sub"), "issuer",
                     claim_or_null(claims, "iss"), "username",
                     username ? json_deep_copy(username) : json_null(),
                     "claims", claims ? json_deep_copy(claims) : json_object(),
                     "sourceIp", source_ips(source_ip), "defaultAuthStrategy",
                     "groups", claim_or_null(claims, "cognito:groups"));
}

json_t *chanrule_identity_iam(const struct chanrule_iam *iam)
{
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "accountId",
        string_or_null(iam->account_id), "cognitoIdentityPoolId",
        string_or_null(iam->cognito_identity_pool_id), "cognitoIdentityId",
        string_or_null(iam->cognito_identity_id), "sourceIp",
        source_ips(iam->source_ip), "username", string_or_null(iam->username),
        "userArn", string_or_null(iam->user_arn), "cognitoIdentityAuthType",
        string_or_null(iam->cognito_identity_auth_type),
        "cognitoIdentityAuthProvider",
        string_or_null(iam->cognito_identity_auth_provider));
}

json_t *chanrule_ctx_json(const struct chanrule_ctx *ctx)
{
    const struct chanrule_channel *ch = ctx->channel;
    json_t *segments = json_array();
    json_t *ns;

    for (size_t i = 0; i < ch->nseg; i++)
        json_array_append_new(segments, json_string(ch->seg[i]));
    ns = json_pack("{s:s}", "name", ch->seg[0]);
    return json_pack(
        "{s:o, s:{s:{s:s, s:o}, s:O, s:s}, s:o, s:o, s:{}, s:n, s:n, s:n, "
        "s:[], s:o}",
        "events",
        ctx->op == CHANRULE_PUBLISH && ctx->events ? json_deep_copy(ctx->events)
                                                   : json_null(),
        "info", "channel", "path", ch->path, "segments", segments,
        "channelNamespace", ns, "operation",
        ctx->op == CHANRULE_PUBLISH ? "PUBLISH" : "SUBSCRIBE", "identity",
        ctx->identity ? json_deep_copy(ctx->identity) : json_null(), "request",
        ctx->request ? json_deep_copy(ctx->request)
                     : json_pack("{s:{}, s:n}", "headers", "domainName"),
        "stash", "prev", "result", "error", "outErrors", "channelNamespace",
        ns);
}

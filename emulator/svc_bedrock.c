/*
 * svc_bedrock.c - Bedrock Runtime with scripted answers
 * (spec/bedrock-runtime.md): Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream on POST /model/{modelId}/...
 *
 * A call is authenticated (SigV4, signing name "bedrock"), authorised
 * (bedrock:InvokeModel or bedrock:InvokeModelWithResponseStream on the
 * model's ARN), validated as AWS validates it, matched against the model's
 * rules, and then answered on loop timers: a streamed answer writes each
 * frame (evstream.h) when the script produces it, with the script's delays
 * between them, and never builds the whole answer first; a whole answer is
 * sent after the time the stream would have taken. The fault set
 * (faults_active()) can throttle a call, refuse it as unavailable, stall a
 * stream or end it with an exception frame.
 *
 * Left out on purpose: tool use, images, guardrails and reasoning content
 * in answers (requests carrying them are accepted, their text ignored);
 * Bearer API keys; recorded transcripts.
 */
#include "svc_bedrock.h"

#include "alloc.h"
#include "b64.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "evstream.h"
#include "fault.h"
#include "iam.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "svc_admin.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEDROCK_MAX_MODELS   256
#define BEDROCK_MAX_RULES    256
#define BEDROCK_MAX_PIECES   100000
#define BEDROCK_MAX_DELAY_MS 600000
#define BEDROCK_MODEL_ID_MAX 2048
#define BEDROCK_STREAM_MAX   (8u << 20) /* unread stream bytes per call */

enum bd_family { BD_NOVA, BD_ANTHROPIC };

enum bd_match { BD_MATCH_ANY, BD_MATCH_EXACT, BD_MATCH_CONTAINS,
                BD_MATCH_REGEX };

enum bd_chunking { BD_CHUNK_WORDS, BD_CHUNK_CHARS, BD_CHUNK_SIZE,
                   BD_CHUNK_LIST };

struct bd_rule {
    enum bd_match match;
    const char *pattern; /* borrowed from the config */
    regex_t re;          /* BD_MATCH_REGEX only */
    const char *answer;  /* NULL: the built-in echo */
    enum bd_chunking chunking;
    size_t chunk_size;         /* BD_CHUNK_SIZE: characters per delta */
    const json_t *pieces;      /* BD_CHUNK_LIST: array of strings */
    uint32_t first_delay_ms;
    uint32_t delay_ms;
    const char *stop_reason;
    json_int_t usage_in, usage_out; /* -1: computed */
    struct fault_set *fault;        /* the rule's own faults, or NULL */
};

struct bd_model {
    const char *id;
    enum bd_family family;
    struct bd_rule *rules;
    size_t nrules;
    struct bd_rule def; /* "default", or the built-in echo */
    uint64_t calls;     /* for the fault set's throttleFirst */
};

enum bd_op {
    BD_CONVERSE,
    BD_CONVERSE_STREAM,
    BD_INVOKE,
    BD_INVOKE_STREAM,
};

/* One call being answered; lives until its reply or stream ends. */
struct bd_call {
    struct bd_call *next, *prev; /* bd.calls */
    struct http_req *req;        /* NULL once answered or aborted */
    struct loop_timer timer;
    enum bd_op op;
    enum bd_family family;
    char *model;       /* the configured model id */
    char **pieces;     /* the answer, cut into deltas */
    size_t npieces;
    size_t sent;       /* deltas written */
    uint32_t first_delay_ms, delay_ms;
    char *stop_reason;
    json_int_t in_tokens, out_tokens;
    struct fault_bedrock fault;
    bool stalled;
    int64_t start_us;
    char msg_id[40];
};

static struct {
    json_t *section; /* our reference to the config section */
    struct bd_model *models;
    size_t nmodels;
    struct loop *loop;
    const char *region;
    const char *account;
    struct bd_call *calls;
    uint64_t fault_generation; /* of the set the call counts belong to */
} bd;

static const char *const echo_forms[] = {
    "You said: \"{prompt}\". This is kaeri's scripted echo.",
    "Echo from kaeri: {prompt}",
    "kaeri heard \"{prompt}\" and is answering from its script.",
};

/* ---- text helpers ------------------------------------------------------- */

/* Characters in UTF-8 'p' (continuation bytes not counted). */
static size_t utf8_chars(const char *p, size_t n)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* Length of the UTF-8 character starting at 'p' (at least 1, at most n). */
static size_t utf8_len(const char *p, size_t n)
{
    size_t i = 1;

    while (i < n && ((unsigned char)p[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* A rough token count, as a tokenizer gives for English: 4 chars each. */
static json_int_t tokens_of(const char *p, size_t n)
{
    size_t c = utf8_chars(p, n);

    return c ? (json_int_t)((c + 3) / 4) : 0;
}

/* 'answer' with every "{prompt}" replaced by 'prompt'; new string. */
static char *render_answer(const char *answer, const char *prompt)
{
    struct buf b;
    const char *p = answer, *hit;

    buf_init(&b, 4u << 20);
    while ((hit = strstr(p, "{prompt}"))) {
        if (buf_add(&b, p, (size_t)(hit - p)) || buf_adds(&b, prompt))
            break;
        p = hit + strlen("{prompt}");
    }
    if (buf_adds(&b, p)) {
        /* over the cap: keep what fits */
    }
    return buf_detach(&b, NULL);
}

static void add_piece(char ***pieces, size_t *n, size_t *cap, const char *p,
                      size_t len)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *pieces = xrealloc(*pieces, *cap * sizeof(**pieces));
    }
    (*pieces)[(*n)++] = xstrndup(p, len);
}

/*
 * Cut 'text' into deltas as 'rule' says. Words keep their leading blanks
 * ("Hello", " world"), so the pieces concatenate to the text.
 */
static void cut_answer(const struct bd_rule *rule, const char *text,
                       char ***out, size_t *nout)
{
    char **pieces = NULL;
    size_t n = 0, cap = 0, len = strlen(text);

    if (rule->chunking == BD_CHUNK_LIST && rule->answer == NULL &&
        rule->pieces) {
        size_t i;
        const json_t *v;

        json_array_foreach(rule->pieces, i, v)
            add_piece(&pieces, &n, &cap, json_string_value(v),
                      json_string_length(v));
    } else if (rule->chunking == BD_CHUNK_WORDS) {
        size_t i = 0;

        while (i < len && n < BEDROCK_MAX_PIECES) {
            size_t start = i;

            while (i < len && (text[i] == ' ' || text[i] == '\n' ||
                               text[i] == '\t'))
                i++;
            while (i < len && text[i] != ' ' && text[i] != '\n' &&
                   text[i] != '\t')
                i++;
            add_piece(&pieces, &n, &cap, text + start, i - start);
        }
    } else {
        size_t per = rule->chunking == BD_CHUNK_SIZE ? rule->chunk_size : 1;
        size_t i = 0;

        while (i < len && n < BEDROCK_MAX_PIECES) {
            size_t start = i;

            for (size_t c = 0; c < per && i < len; c++)
                i += utf8_len(text + i, len - i);
            add_piece(&pieces, &n, &cap, text + start, i - start);
        }
    }
    *out = pieces;
    *nout = n;
}

/* ---- config ------------------------------------------------------------- */

static enum kaeri_err fail(struct kaeri_error *err, const char *where,
                           const char *text)
{
    if (err) {
        snprintf(err->where, sizeof(err->where), "%s", where);
        snprintf(err->text, sizeof(err->text), "%s", text);
    }
    return KAERI_ERR_INVALID;
}

/*
 * A rule's "fault": one Bedrock rule of the fault set (fault.h, without
 * "model"), parsed by fault.c so both read the same way; it applies to
 * calls this rule answers when the active fault set has none for them.
 */
static enum kaeri_err read_rule_fault(const json_t *f, const char *path,
                                      uint64_t seed, struct bd_rule *r,
                                      struct kaeri_error *err)
{
    char where[256];
    json_t *set;
    enum kaeri_err rc;

    snprintf(where, sizeof(where), "%s.fault", path);
    if (!json_is_object(f))
        return fail(err, where, "expected an object");
    if (json_object_get(f, "model"))
        return fail(err, where, "\"model\" is the rule's model here");
    set = json_pack("{s:[O]}", "bedrock", f);
    rc = fault_set_parse(set, where, seed, &r->fault, err);
    json_decref(set);
    if (rc && err) { /* "<where>.bedrock[0].x" reads "<where>.x" */
        char *inner = strstr(err->where, ".bedrock[0]");

        if (inner)
            memmove(inner, inner + strlen(".bedrock[0]"),
                    strlen(inner + strlen(".bedrock[0]")) + 1);
    }
    return rc;
}

static enum kaeri_err read_rule(const json_t *obj, const char *path,
                                bool with_match, uint64_t seed,
                                struct bd_rule *r, struct kaeri_error *err)
{
    static const char *const keys[] = {"match",   "answer",     "chunking",
                                       "firstDelayMs", "delayMs",
                                       "stopReason", "usage", "fault",
                                       NULL};
    static const char *const stop_reasons[] = {
        "end_turn", "tool_use", "max_tokens", "stop_sequence",
        "guardrail_intervened", "content_filtered", NULL};
    char where[256];
    const json_t *match = NULL, *chunking, *usage = NULL;
    json_int_t v;
    enum kaeri_err rc;

    memset(r, 0, sizeof(*r));
    r->usage_in = r->usage_out = -1;
    r->stop_reason = "end_turn";
    if (!json_is_object(obj))
        return fail(err, path, "expected an object");
    rc = cfg_keys(obj, path, keys + (with_match ? 0 : 1), err);
    if (!rc && with_match)
        rc = cfg_object(obj, path, "match", true, &match, err);
    if (!rc && match) {
        static const char *const mkeys[] = {"exact", "contains", "regex",
                                            NULL};
        static const enum bd_match kinds[] = {BD_MATCH_EXACT,
                                              BD_MATCH_CONTAINS,
                                              BD_MATCH_REGEX};

        snprintf(where, sizeof(where), "%s.match", path);
        rc = cfg_keys(match, where, mkeys, err);
        if (!rc && json_object_size(match) != 1)
            return fail(err, where,
                        "expected exactly one of exact, contains, regex");
        for (size_t i = 0; !rc && mkeys[i]; i++) {
            const char *s = NULL;

            rc = cfg_string(match, where, mkeys[i], false, &s, err);
            if (!rc && s) {
                r->match = kinds[i];
                r->pattern = s;
            }
        }
        if (!rc && r->match == BD_MATCH_REGEX) {
            int e = regcomp(&r->re, r->pattern, REG_EXTENDED | REG_NOSUB);

            if (e) {
                char msg[160], text[200];

                regerror(e, NULL, msg, sizeof(msg));
                snprintf(where, sizeof(where), "%s.match.regex", path);
                snprintf(text, sizeof(text), "bad regular expression: %s",
                         msg);
                r->match = BD_MATCH_ANY;
                return fail(err, where, text);
            }
        }
    }
    if (!rc)
        rc = cfg_string(obj, path, "answer", false, &r->answer, err);
    chunking = json_object_get(obj, "chunking");
    snprintf(where, sizeof(where), "%s.chunking", path);
    if (!rc && chunking) {
        if (json_is_string(chunking) &&
            !strcmp(json_string_value(chunking), "words")) {
            r->chunking = BD_CHUNK_WORDS;
        } else if (json_is_string(chunking) &&
                   !strcmp(json_string_value(chunking), "chars")) {
            r->chunking = BD_CHUNK_CHARS;
        } else if (json_is_object(chunking)) {
            static const char *const ckeys[] = {"size", NULL};

            rc = cfg_keys(chunking, where, ckeys, err);
            if (!rc)
                rc = cfg_int(chunking, where, "size", true, 1, 1000000, &v,
                             err);
            r->chunking = BD_CHUNK_SIZE;
            r->chunk_size = rc ? 1 : (size_t)v;
        } else if (json_is_array(chunking) && json_array_size(chunking) &&
                   json_array_size(chunking) <= BEDROCK_MAX_PIECES) {
            size_t i;
            const json_t *p;

            json_array_foreach(chunking, i, p)
                if (!json_is_string(p))
                    return fail(err, where, "expected strings only");
            if (r->answer)
                return fail(err, where,
                            "explicit pieces are the answer: drop \"answer\"");
            r->chunking = BD_CHUNK_LIST;
            r->pieces = chunking;
        } else {
            return fail(err, where,
                        "expected \"words\", \"chars\", {\"size\": N} or "
                        "a non-empty list of strings");
        }
    }
    if (!rc) {
        v = 0;
        rc = cfg_int(obj, path, "firstDelayMs", false, 0,
                     BEDROCK_MAX_DELAY_MS, &v, err);
        r->first_delay_ms = (uint32_t)v;
    }
    if (!rc) {
        v = 0;
        rc = cfg_int(obj, path, "delayMs", false, 0, BEDROCK_MAX_DELAY_MS, &v,
                     err);
        r->delay_ms = (uint32_t)v;
    }
    if (!rc)
        rc = cfg_string(obj, path, "stopReason", false, &r->stop_reason, err);
    if (!rc) {
        bool ok = false;

        for (size_t i = 0; stop_reasons[i]; i++)
            ok |= !strcmp(stop_reasons[i], r->stop_reason);
        snprintf(where, sizeof(where), "%s.stopReason", path);
        if (!ok)
            return fail(err, where, "not a stopReason Bedrock sends");
    }
    if (!rc)
        rc = cfg_object(obj, path, "usage", false, &usage, err);
    if (!rc && usage) {
        static const char *const ukeys[] = {"inputTokens", "outputTokens",
                                            NULL};

        snprintf(where, sizeof(where), "%s.usage", path);
        rc = cfg_keys(usage, where, ukeys, err);
        if (!rc)
            rc = cfg_int(usage, where, "inputTokens", false, 0, 1000000000,
                         &r->usage_in, err);
        if (!rc)
            rc = cfg_int(usage, where, "outputTokens", false, 0, 1000000000,
                         &r->usage_out, err);
    }
    if (!rc && json_object_get(obj, "fault"))
        rc = read_rule_fault(json_object_get(obj, "fault"), path, seed, r,
                             err);
    return rc;
}

static void rule_release(struct bd_rule *r)
{
    if (r->match == BD_MATCH_REGEX)
        regfree(&r->re);
    r->match = BD_MATCH_ANY;
    fault_set_free(r->fault);
    r->fault = NULL;
}

static enum kaeri_err read_model(const json_t *obj, const char *path,
                                 uint64_t seed, struct bd_model *m,
                                 struct kaeri_error *err)
{
    static const char *const keys[] = {"id", "family", "rules", "default",
                                       NULL};
    const char *family = NULL;
    const json_t *rules = NULL, *def = NULL;
    char where[256];
    enum kaeri_err rc;

    if (!json_is_object(obj))
        return fail(err, path, "expected an object");
    rc = cfg_keys(obj, path, keys, err);
    if (!rc)
        rc = cfg_string(obj, path, "id", true, &m->id, err);
    if (!rc && (!m->id[0] || strlen(m->id) > BEDROCK_MODEL_ID_MAX)) {
        snprintf(where, sizeof(where), "%s.id", path);
        return fail(err, where, "expected 1 to 2048 characters");
    }
    if (!rc)
        rc = cfg_string(obj, path, "family", false, &family, err);
    if (!rc && family) {
        snprintf(where, sizeof(where), "%s.family", path);
        if (!strcmp(family, "nova"))
            m->family = BD_NOVA;
        else if (!strcmp(family, "anthropic"))
            m->family = BD_ANTHROPIC;
        else
            return fail(err, where, "expected \"nova\" or \"anthropic\"");
    } else if (!rc) {
        m->family = strstr(m->id, "anthropic.") ? BD_ANTHROPIC : BD_NOVA;
    }
    if (!rc)
        rc = cfg_array(obj, path, "rules", false, &rules, err);
    if (!rc && rules && json_array_size(rules) > BEDROCK_MAX_RULES) {
        snprintf(where, sizeof(where), "%s.rules", path);
        return fail(err, where, "too many rules (at most 256)");
    }
    if (!rc && rules) {
        m->rules = xcalloc(json_array_size(rules) + 1, sizeof(*m->rules));
        for (size_t i = 0; !rc && i < json_array_size(rules); i++) {
            snprintf(where, sizeof(where), "%s.rules[%zu]", path, i);
            rc = read_rule(json_array_get(rules, i), where, true, seed,
                           &m->rules[i], err);
            m->nrules = i + 1;
        }
    }
    if (!rc)
        rc = cfg_object(obj, path, "default", false, &def, err);
    if (!rc && def) {
        snprintf(where, sizeof(where), "%s.default", path);
        rc = read_rule(def, where, false, seed, &m->def, err);
    } else if (!rc) {
        memset(&m->def, 0, sizeof(m->def));
        m->def.usage_in = m->def.usage_out = -1;
        m->def.stop_reason = "end_turn";
        m->def.delay_ms = 20;
    }
    return rc;
}

static void bedrock_release(void)
{
    while (bd.calls) {
        struct bd_call *c = bd.calls;

        bd.calls = c->next;
        loop_timer_stop(bd.loop, &c->timer);
        if (c->req)
            http_req_on_abort(c->req, NULL, NULL);
        for (size_t i = 0; i < c->npieces; i++)
            free(c->pieces[i]);
        free(c->pieces);
        free(c->model);
        free(c->stop_reason);
        free(c);
    }
    for (size_t i = 0; i < bd.nmodels; i++) {
        for (size_t r = 0; r < bd.models[i].nrules; r++)
            rule_release(&bd.models[i].rules[r]);
        free(bd.models[i].rules);
        rule_release(&bd.models[i].def);
    }
    free(bd.models);
    json_decref(bd.section);
    memset(&bd, 0, sizeof(bd));
}

static enum kaeri_err bedrock_init(const json_t *section,
                                   const struct kaeri_env *env,
                                   struct kaeri_error *err)
{
    static const char *const keys[] = {"models", NULL};
    const json_t *models = NULL;
    enum kaeri_err rc = KAERI_OK;

    memset(&bd, 0, sizeof(bd));
    bd.loop = env->loop;
    bd.region = env->region;
    bd.account = env->account;
    if (!section)
        return KAERI_OK;
    if (!json_is_object(section))
        return fail(err, "$.bedrock", "expected an object");
    bd.section = json_incref((json_t *)section);
    rc = cfg_keys(section, "$.bedrock", keys, err);
    if (!rc)
        rc = cfg_array(section, "$.bedrock", "models", false, &models, err);
    if (!rc && models && json_array_size(models) > BEDROCK_MAX_MODELS)
        rc = fail(err, "$.bedrock.models", "too many models (at most 256)");
    if (!rc && models) {
        bd.models = xcalloc(json_array_size(models) + 1, sizeof(*bd.models));
        for (size_t i = 0; !rc && i < json_array_size(models); i++) {
            char where[64];

            snprintf(where, sizeof(where), "$.bedrock.models[%zu]", i);
            rc = read_model(json_array_get(models, i), where, env->seed,
                            &bd.models[i], err);
            bd.nmodels = i + 1;
            for (size_t j = 0; !rc && j < i; j++)
                if (!strcmp(bd.models[j].id, bd.models[i].id))
                    rc = fail(err, where, "duplicate model id");
        }
    }
    if (rc)
        bedrock_release();
    return rc;
}

static void bedrock_describe(json_t *endpoints)
{
    json_t *list = json_array();

    for (size_t i = 0; i < bd.nmodels; i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s}", "id", bd.models[i].id, "family",
                            bd.models[i].family == BD_ANTHROPIC ? "anthropic"
                                                                 : "nova"));
    json_object_set_new(endpoints, "models", list);
}

/* ---- model ids ---------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * The modelId of "/model/{modelId}/<op>": split the raw path on '/'
 * first, then percent-decode the one segment (spec section 2). NULL when
 * the path has another shape or a bad escape.
 */
static char *model_id_from_path(const char *path, const char *op)
{
    const char *seg = path + strlen("/model/");
    const char *slash = strchr(seg, '/');
    char *out, *o;

    if (!slash || slash == seg || strcmp(slash + 1, op))
        return NULL;
    out = o = xmalloc((size_t)(slash - seg) + 1);
    for (const char *p = seg; p < slash; p++) {
        if (*p == '%') {
            int hi = p + 2 < slash ? hexval(p[1]) : -1;
            int lo = hi >= 0 ? hexval(p[2]) : -1;

            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* Does 'id' start with an inference profile's geography ("apac.")? */
static bool has_geo_prefix(const char *id)
{
    static const char *const geos[] = {"us.", "eu.", "apac.", "global.",
                                       "us-gov.", "ca.", "jp.", "au.", NULL};

    for (size_t i = 0; geos[i]; i++)
        if (!strncmp(id, geos[i], strlen(geos[i])))
            return true;
    return false;
}

/* The ARN IAM checks for 'id' (spec: foundation model, profile, or as is). */
static void model_arn(const char *id, char *out, size_t n)
{
    if (!strncmp(id, "arn:", 4))
        snprintf(out, n, "%s", id);
    else if (has_geo_prefix(id))
        snprintf(out, n, "arn:aws:bedrock:%s:%s:inference-profile/%s",
                 bd.region, bd.account, id);
    else
        snprintf(out, n, "arn:aws:bedrock:%s::foundation-model/%s", bd.region,
                 id);
}

/* The configured model 'id' names: by id, or an ARN ending in "/<id>". */
static struct bd_model *model_find(const char *id)
{
    const char *tail = id;

    if (!strncmp(id, "arn:", 4) && strrchr(id, '/'))
        tail = strrchr(id, '/') + 1;
    for (size_t i = 0; i < bd.nmodels; i++)
        if (!strcmp(bd.models[i].id, id) || !strcmp(bd.models[i].id, tail))
            return &bd.models[i];
    return NULL;
}

/* ---- request validation ------------------------------------------------- */

#define VALIDATION(req, ...) \
    http_reply_aws_rest_error(req, 400, "ValidationException", __VA_ARGS__)

/* Append the text blocks of Converse/Nova 'content' to 'out'. */
static void content_text(const json_t *content, struct buf *out)
{
    size_t i;
    const json_t *block;

    if (json_is_string(content)) { /* Anthropic's shorthand */
        if (buf_adds(out, json_string_value(content))) {
            /* capped: a prompt this long still matches on its start */
        }
        return;
    }
    json_array_foreach(content, i, block) {
        const json_t *text = json_object_get(block, "text");

        if (json_is_string(text)) {
            if (out->len && buf_addch(out, ' ')) {
                /* capped */
            }
            if (buf_adds(out, json_string_value(text))) {
                /* capped */
            }
        }
    }
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r')
            return false;
    return true;
}

/*
 * Check a Converse body as Bedrock does and fill 'prompt' with the last
 * user message's text, 'all' with every text for the input token count,
 * '*max_tokens' (0 when not given). On failure the 400 is sent.
 */
static enum kaeri_err check_converse(struct http_req *req, const json_t *body,
                                     struct buf *prompt, struct buf *all,
                                     json_int_t *max_tokens)
{
    const json_t *messages = json_object_get(body, "messages");
    const json_t *system = json_object_get(body, "system");
    const json_t *ic = json_object_get(body, "inferenceConfig");
    const json_t *msg;
    const char *prev = NULL;
    size_t i;

    *max_tokens = 0;
    if (!messages || json_is_null(messages)) {
        VALIDATION(req, "1 validation error detected: Value null at "
                        "'messages' failed to satisfy constraint: Member "
                        "must not be null");
        return KAERI_ERR_INVALID;
    }
    if (!json_is_array(messages) ||
        (system && !json_is_array(system)) ||
        (ic && !json_is_object(ic))) {
        VALIDATION(req, "Malformed input request, please reformat your "
                        "input and try again.");
        return KAERI_ERR_INVALID;
    }
    if (json_array_size(messages) == 0) {
        VALIDATION(req, "A conversation must start with a user message. Try "
                        "again with a conversation that starts with a user "
                        "message.");
        return KAERI_ERR_INVALID;
    }
    json_array_foreach(messages, i, msg) {
        const json_t *role = json_object_get(msg, "role");
        const json_t *content = json_object_get(msg, "content");
        const char *r = json_string_value(role);
        size_t b;
        const json_t *block;

        if (!json_is_object(msg) || (role && !r) ||
            (content && !json_is_null(content) && !json_is_array(content))) {
            VALIDATION(req, "Malformed input request, please reformat your "
                            "input and try again.");
            return KAERI_ERR_INVALID;
        }
        if (!r) {
            VALIDATION(req, "1 validation error detected: Value null at "
                            "'messages.%zu.member.role' failed to satisfy "
                            "constraint: Member must not be null", i + 1);
            return KAERI_ERR_INVALID;
        }
        if (strcmp(r, "user") && strcmp(r, "assistant")) {
            VALIDATION(req, "1 validation error detected: Value '%s' at "
                            "'messages.%zu.member.role' failed to satisfy "
                            "constraint: Member must satisfy enum value set: "
                            "[user, assistant]", r, i + 1);
            return KAERI_ERR_INVALID;
        }
        if (!content || json_is_null(content)) {
            VALIDATION(req, "1 validation error detected: Value null at "
                            "'messages.%zu.member.content' failed to satisfy "
                            "constraint: Member must not be null", i + 1);
            return KAERI_ERR_INVALID;
        }
        if (i == 0 && strcmp(r, "user")) {
            VALIDATION(req, "A conversation must start with a user message. "
                            "Try again with a conversation that starts with "
                            "a user message.");
            return KAERI_ERR_INVALID;
        }
        if (prev && !strcmp(prev, r)) {
            VALIDATION(req, "A conversation must alternate between user and "
                            "assistant roles. Make sure the conversation "
                            "alternates between user and assistant roles and "
                            "try again.");
            return KAERI_ERR_INVALID;
        }
        prev = r;
        if (json_array_size(content) == 0) {
            VALIDATION(req, "The content field in the Message object at "
                            "messages.%zu is empty. Add a ContentBlock object "
                            "to the content field and try again.", i);
            return KAERI_ERR_INVALID;
        }
        json_array_foreach(content, b, block) {
            const json_t *text = json_object_get(block, "text");

            if (!json_is_object(block) || json_object_size(block) != 1 ||
                (text && !json_is_string(text))) {
                VALIDATION(req, "Malformed input request, please reformat "
                                "your input and try again.");
                return KAERI_ERR_INVALID;
            }
            if (text && blank(json_string_value(text))) {
                VALIDATION(req, "The text field in the ContentBlock object "
                                "at messages.%zu.content.%zu is blank. Add "
                                "text to the text field, and try again.", i,
                           b);
                return KAERI_ERR_INVALID;
            }
        }
        content_text(content, all);
        if (!strcmp(r, "user")) {
            buf_reset(prompt);
            content_text(content, prompt);
        }
    }
    if (system)
        content_text(system, all);
    if (ic) {
        const json_t *mt = json_object_get(ic, "maxTokens");
        const json_t *stop = json_object_get(ic, "stopSequences");
        static const char *const unit[] = {"temperature", "topP", NULL};

        if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1)) {
            VALIDATION(req, "1 validation error detected: Value '%s' at "
                            "'inferenceConfig.maxTokens' failed to satisfy "
                            "constraint: Member must have value greater than "
                            "or equal to 1",
                       json_is_integer(mt) ? "0" : "null");
            return KAERI_ERR_INVALID;
        }
        if (mt)
            *max_tokens = json_integer_value(mt);
        for (size_t u = 0; unit[u]; u++) {
            const json_t *v = json_object_get(ic, unit[u]);

            if (v && !json_is_number(v)) {
                VALIDATION(req, "Malformed input request, please reformat "
                                "your input and try again.");
                return KAERI_ERR_INVALID;
            }
            if (v && (json_number_value(v) < 0 || json_number_value(v) > 1)) {
                VALIDATION(req, "1 validation error detected: Value '%g' at "
                                "'inferenceConfig.%s' failed to satisfy "
                                "constraint: Member must have value %s",
                           json_number_value(v), unit[u],
                           json_number_value(v) < 0
                               ? "greater than or equal to 0"
                               : "less than or equal to 1");
                return KAERI_ERR_INVALID;
            }
        }
        if (stop && (!json_is_array(stop) || json_array_size(stop) > 2500)) {
            VALIDATION(req, "1 validation error detected: Value at "
                            "'inferenceConfig.stopSequences' failed to "
                            "satisfy constraint: Member must have length "
                            "less than or equal to 2500");
            return KAERI_ERR_INVALID;
        }
    }
    return KAERI_OK;
}

/*
 * Check an InvokeModel body in the model family's own shape (spec 7.1,
 * 7.2) and fill as check_converse() does.
 */
static enum kaeri_err check_native(struct http_req *req, enum bd_family fam,
                                   const json_t *body, struct buf *prompt,
                                   struct buf *all, json_int_t *max_tokens)
{
    const json_t *messages = json_object_get(body, "messages");
    const json_t *msg;
    size_t i;

    *max_tokens = 0;
    if (fam == BD_ANTHROPIC) {
        static const char *const required[] = {"anthropic_version",
                                               "max_tokens", "messages",
                                               NULL};
        const json_t *mt;

        for (size_t r = 0; required[r]; r++)
            if (!json_object_get(body, required[r])) {
                VALIDATION(req, "Malformed input request: #: required key "
                                "[%s] not found, please reformat your input "
                                "and try again.", required[r]);
                return KAERI_ERR_INVALID;
            }
        mt = json_object_get(body, "max_tokens");
        if (!json_is_integer(mt) || json_integer_value(mt) < 1) {
            VALIDATION(req, "Malformed input request: #/max_tokens: "
                            "expected minimum: 1, please reformat your input "
                            "and try again.");
            return KAERI_ERR_INVALID;
        }
        *max_tokens = json_integer_value(mt);
        if (json_is_string(json_object_get(body, "system")) &&
            buf_adds(all, json_string_value(json_object_get(body, "system")))) {
            /* capped */
        }
    } else {
        const json_t *ic = json_object_get(body, "inferenceConfig");
        const json_t *mt = json_object_get(ic, "maxTokens");

        if (!messages) {
            VALIDATION(req, "Malformed input request: #: required key "
                            "[messages] not found, please reformat your "
                            "input and try again.");
            return KAERI_ERR_INVALID;
        }
        if (mt && json_is_integer(mt))
            *max_tokens = json_integer_value(mt);
        content_text(json_object_get(body, "system"), all);
    }
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        VALIDATION(req, "Malformed input request: #/messages: expected "
                        "minimum item count: 1, please reformat your input "
                        "and try again.");
        return KAERI_ERR_INVALID;
    }
    json_array_foreach(messages, i, msg) {
        const char *r = json_string_value(json_object_get(msg, "role"));
        const json_t *content = json_object_get(msg, "content");

        if (!r || (strcmp(r, "user") && strcmp(r, "assistant")) ||
            !(json_is_array(content) ||
              (fam == BD_ANTHROPIC && json_is_string(content)))) {
            VALIDATION(req, "Malformed input request: #/messages/%zu: "
                            "expected a role (user or assistant) and "
                            "content, please reformat your input and try "
                            "again.", i);
            return KAERI_ERR_INVALID;
        }
        content_text(content, all);
        if (!strcmp(r, "user")) {
            buf_reset(prompt);
            content_text(content, prompt);
        }
    }
    return KAERI_OK;
}

static const struct bd_rule *rule_for(const struct bd_model *m,
                                      const char *prompt)
{
    for (size_t i = 0; i < m->nrules; i++) {
        const struct bd_rule *r = &m->rules[i];

        switch (r->match) {
        case BD_MATCH_EXACT:
            if (!strcmp(prompt, r->pattern))
                return r;
            break;
        case BD_MATCH_CONTAINS:
            if (strstr(prompt, r->pattern))
                return r;
            break;
        case BD_MATCH_REGEX:
            if (!regexec(&r->re, prompt, 0, NULL, 0))
                return r;
            break;
        case BD_MATCH_ANY:
            return r;
        }
    }
    return &m->def;
}

/* ---- answering ---------------------------------------------------------- */

static void call_free(struct bd_call *c)
{
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else if (bd.calls == c)
        bd.calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop_timer_stop(bd.loop, &c->timer);
    for (size_t i = 0; i < c->npieces; i++)
        free(c->pieces[i]);
    free(c->pieces);
    free(c->model);
    free(c->stop_reason);
    free(c);
}

static void on_abort(struct http_req *req, void *ctx)
{
    struct bd_call *c = ctx;

    (void)req;
    log_msg(LOG_DEBUG, c->req ? c->req->request_id : NULL,
            "bedrock: client went away after %zu of %zu deltas", c->sent,
            c->npieces);
    c->req = NULL;
    call_free(c);
}

static int64_t latency_ms(const struct bd_call *c)
{
    return (clock_mono_us() - c->start_us) / 1000;
}

/* Write one encoded frame, or log why it could not be encoded. */
static void write_frame(struct bd_call *c, enum kaeri_err rc, struct buf *out)
{
    if (rc == KAERI_OK)
        http_stream_write(c->req, out->data, out->len);
    else
        log_msg(LOG_ERROR, c->req->request_id,
                "bedrock: frame not encoded (%d)", (int)rc);
    buf_release(out);
}

/* An event frame whose payload is 'payload' (stolen). */
static void send_event(struct bd_call *c, const char *type, json_t *payload)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    struct buf out;

    buf_init(&out, EVSTREAM_MAX_FRAME_LEN);
    write_frame(c,
                evstream_encode_event(type, "application/json", text,
                                      strlen(text), &out),
                &out);
    free(text);
    json_decref(payload);
}

/*
 * InvokeModelWithResponseStream's "chunk": the family's own event,
 * base64 in {"bytes": ...} (spec section 7). 'event' is stolen.
 */
static void send_chunk(struct bd_call *c, json_t *event)
{
    char *text = json_dumps(event, JSON_COMPACT);
    size_t len = strlen(text);
    char *b64 = b64_encode(text, len);

    send_event(c, "chunk", json_pack("{s:s}", "bytes", b64));
    free(b64);
    free(text);
    json_decref(event);
}

/* A Converse-shaped event: a ConverseStream frame or a Nova chunk. */
static void send_converse_event(struct bd_call *c, const char *type,
                                json_t *payload)
{
    if (c->op == BD_CONVERSE_STREAM)
        send_event(c, type, payload);
    else
        send_chunk(c, json_pack("{s:o}", type, payload));
}

static void send_head(struct bd_call *c)
{
    if (c->op == BD_INVOKE_STREAM && c->family == BD_ANTHROPIC) {
        send_chunk(c, json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:[], s:n, "
                                "s:n, s:{s:I, s:i}}}",
                                "type", "message_start", "message", "id",
                                c->msg_id, "type", "message", "role",
                                "assistant", "model", c->model, "content",
                                "stop_reason", "stop_sequence", "usage",
                                "input_tokens", (json_int_t)c->in_tokens,
                                "output_tokens", 1));
        send_chunk(c, json_pack("{s:s, s:i, s:{s:s, s:s}}", "type",
                                "content_block_start", "index", 0,
                                "content_block", "type", "text", "text", ""));
        return;
    }
    send_converse_event(c, "messageStart",
                        json_pack("{s:s}", "role", "assistant"));
}

static void send_delta(struct bd_call *c, const char *piece)
{
    if (c->op == BD_INVOKE_STREAM && c->family == BD_ANTHROPIC)
        send_chunk(c, json_pack("{s:s, s:i, s:{s:s, s:s}}", "type",
                                "content_block_delta", "index", 0, "delta",
                                "type", "text_delta", "text", piece));
    else
        send_converse_event(c, "contentBlockDelta",
                            json_pack("{s:{s:s}, s:i}", "delta", "text",
                                      piece, "contentBlockIndex", 0));
}

static json_t *usage_json(const struct bd_call *c)
{
    return json_pack("{s:I, s:I, s:I}", "inputTokens", c->in_tokens,
                     "outputTokens", c->out_tokens, "totalTokens",
                     c->in_tokens + c->out_tokens);
}

static void send_tail(struct bd_call *c)
{
    if (c->op == BD_INVOKE_STREAM && c->family == BD_ANTHROPIC) {
        send_chunk(c, json_pack("{s:s, s:i}", "type", "content_block_stop",
                                "index", 0));
        send_chunk(c, json_pack("{s:s, s:{s:s, s:n}, s:{s:I}}", "type",
                                "message_delta", "delta", "stop_reason",
                                c->stop_reason, "stop_sequence", "usage",
                                "output_tokens", c->out_tokens));
        send_chunk(c, json_pack("{s:s, s:{s:I, s:I, s:I, s:I}}", "type",
                                "message_stop",
                                "amazon-bedrock-invocationMetrics",
                                "inputTokenCount", c->in_tokens,
                                "outputTokenCount", c->out_tokens,
                                "invocationLatency",
                                (json_int_t)latency_ms(c), "firstByteLatency",
                                (json_int_t)c->first_delay_ms));
        return;
    }
    send_converse_event(c, "contentBlockStop",
                        json_pack("{s:i}", "contentBlockIndex", 0));
    send_converse_event(c, "messageStop",
                        json_pack("{s:s}", "stopReason", c->stop_reason));
    send_converse_event(c, "metadata",
                        json_pack("{s:o, s:{s:I}}", "usage", usage_json(c),
                                  "metrics", "latencyMs",
                                  (json_int_t)latency_ms(c)));
}

static const char *error_message(enum fault_model_error e)
{
    switch (e) {
    case FAULT_THROTTLING:
        return "Too many requests, please wait before trying again.";
    case FAULT_SERVICE_UNAVAILABLE:
        return "The service is temporarily unavailable. Please try again.";
    case FAULT_VALIDATION:
        return "The model rejected the request (kaeri fault).";
    case FAULT_INTERNAL_SERVER:
        return "The server encountered an internal error (kaeri fault).";
    default:
        return "The model stream ended with an error (kaeri fault).";
    }
}

/* spec section 5.1: an exception frame, then the body ends. */
static void send_exception(struct bd_call *c)
{
    const char *name = fault_model_error_name(c->fault.error);
    struct buf out;
    json_t *body = json_pack("{s:s}", "message",
                             error_message(c->fault.error));
    char *text;

    if (c->fault.error == FAULT_MODEL_STREAM_ERROR) {
        json_object_set_new(body, "originalStatusCode", json_integer(500));
        json_object_set_new(body, "originalMessage",
                            json_string("Model stream failed (kaeri fault)"));
    }
    text = json_dumps(body, JSON_COMPACT);
    buf_init(&out, EVSTREAM_MAX_FRAME_LEN);
    write_frame(c, evstream_encode_exception(name, text, &out), &out);
    free(text);
    json_decref(body);
    log_msg(LOG_INFO, c->req->request_id,
            "bedrock: fault '%s' after %zu deltas", name, c->sent);
}

static void finish_stream(struct bd_call *c)
{
    struct http_req *req = c->req;

    log_msg(LOG_DEBUG, req->request_id,
            "bedrock: stream sent last frame (%zu deltas)", c->sent);
    c->req = NULL;
    http_stream_end(req);
    call_free(c);
}

static void arm(struct bd_call *c, uint32_t ms)
{
    loop_timer_start(bd.loop, &c->timer, (int64_t)ms * 1000);
}

/*
 * One step of a stream: the next delta, a stall, the fault's exception or
 * the closing frames. Runs from the call's timer; each delta but the last
 * arms it again, so the frames leave one loop turn (at least) apart.
 */
static void stream_step(void *ctx)
{
    struct bd_call *c = ctx;

    for (;;) {
        size_t error_at = c->fault.error_after_deltas < c->npieces
                              ? (size_t)c->fault.error_after_deltas
                              : c->npieces;
        size_t stall_at = c->fault.stall_after_deltas < c->npieces
                              ? (size_t)c->fault.stall_after_deltas
                              : c->npieces;

        if (c->req->stream_failed) { /* the transport will abort us */
            return;
        }
        if (c->fault.stall_ms && !c->stalled && c->sent == stall_at) {
            c->stalled = true;
            log_msg(LOG_INFO, c->req->request_id,
                    "bedrock: fault stall %u ms after %zu deltas",
                    c->fault.stall_ms, c->sent);
            arm(c, c->fault.stall_ms);
            return;
        }
        if (c->fault.error && c->sent == error_at) {
            send_exception(c);
            finish_stream(c);
            return;
        }
        if (c->sent == c->npieces) {
            send_tail(c);
            finish_stream(c);
            return;
        }
        send_delta(c, c->pieces[c->sent++]);
        if (c->sent < c->npieces) {
            arm(c, c->delay_ms);
            return;
        }
    }
}

/* The whole answer of Converse or InvokeModel, once its time has come. */
static void reply_whole(void *ctx)
{
    struct bd_call *c = ctx;
    struct http_req *req = c->req;
    struct buf text;
    json_t *body;

    c->req = NULL;
    switch (c->fault.error) {
    case FAULT_MODEL_ERROR_NONE:
        break;
    case FAULT_THROTTLING:
        http_reply_aws_rest_error(req, 429, "ThrottlingException", "%s",
                                  error_message(c->fault.error));
        goto out;
    case FAULT_SERVICE_UNAVAILABLE:
        http_reply_aws_rest_error(req, 503, "ServiceUnavailableException",
                                  "%s", error_message(c->fault.error));
        goto out;
    case FAULT_VALIDATION:
        http_reply_aws_rest_error(req, 400, "ValidationException", "%s",
                                  error_message(c->fault.error));
        goto out;
    case FAULT_INTERNAL_SERVER:
        http_reply_aws_rest_error(req, 500, "InternalServerException", "%s",
                                  error_message(c->fault.error));
        goto out;
    case FAULT_MODEL_STREAM_ERROR:
        http_reply_aws_rest_error(req, 424, "ModelErrorException", "%s",
                                  error_message(c->fault.error));
        goto out;
    }
    buf_init(&text, 64u << 20);
    for (size_t i = 0; i < c->npieces; i++)
        if (buf_adds(&text, c->pieces[i])) {
            /* capped far above any script */
        }
    if (c->op == BD_INVOKE && c->family == BD_ANTHROPIC)
        body = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:n, "
                         "s:{s:I, s:I}}",
                         "id", c->msg_id, "type", "message", "role",
                         "assistant", "model", c->model, "content", "type",
                         "text", "text", text.data, "stop_reason",
                         c->stop_reason, "stop_sequence", "usage",
                         "input_tokens", c->in_tokens, "output_tokens",
                         c->out_tokens);
    else
        body = json_pack("{s:{s:{s:s, s:[{s:s}]}}, s:s, s:o, s:{s:I}}",
                         "output", "message", "role", "assistant", "content",
                         "text", text.data, "stopReason", c->stop_reason,
                         "usage", usage_json(c), "metrics", "latencyMs",
                         (json_int_t)latency_ms(c));
    buf_release(&text);
    http_reply_json(req, 200, "application/json", body);
out:
    call_free(c);
}

/* Cut the answer so its tokens fit 'max_tokens'; true if it was cut. */
static bool fit_max_tokens(char *answer, json_int_t max_tokens)
{
    size_t len = strlen(answer), i = 0, chars = 0;

    if (max_tokens <= 0 || tokens_of(answer, len) <= max_tokens)
        return false;
    while (i < len && chars < (size_t)max_tokens * 4) {
        i += utf8_len(answer + i, len - i);
        chars++;
    }
    answer[i] = '\0';
    return true;
}

static const struct {
    const char *suffix;
    enum bd_op op;
    const char *name;
    const char *action;
} ops[] = {
    {"converse", BD_CONVERSE, "Converse", "bedrock:InvokeModel"},
    {"converse-stream", BD_CONVERSE_STREAM, "ConverseStream",
     "bedrock:InvokeModelWithResponseStream"},
    {"invoke", BD_INVOKE, "InvokeModel", "bedrock:InvokeModel"},
    {"invoke-with-response-stream", BD_INVOKE_STREAM,
     "InvokeModelWithResponseStream", "bedrock:InvokeModelWithResponseStream"},
};

static void handle(struct http_req *req, enum bd_op op)
{
    struct iam_principal who;
    struct bd_model *model;
    const struct bd_rule *rule;
    struct bd_call *c = NULL;
    struct buf prompt, all;
    json_t *body = NULL;
    json_int_t max_tokens = 0;
    char *id = NULL, *answer = NULL;
    const struct fault_set *faults;
    uint64_t generation = 0;
    char arn[BEDROCK_MODEL_ID_MAX + 128];
    bool cut;

    buf_init(&prompt, 1u << 20);
    buf_init(&all, 64u << 20);
    snprintf(req->operation, sizeof(req->operation), "%s", ops[op].name);
    if (iam_authenticate(req, "bedrock", IAM_PROTO_REST, &who))
        goto out;
    id = model_id_from_path(req->path, ops[op].suffix);
    if (!id || !id[0] || strlen(id) > BEDROCK_MODEL_ID_MAX) {
        VALIDATION(req, "The provided model identifier is invalid.");
        goto out;
    }
    model_arn(id, arn, sizeof(arn));
    if (iam_authorize(req, &who, ops[op].action, arn, IAM_PROTO_REST))
        goto out;
    model = model_find(id);
    if (!model) {
        VALIDATION(req, "The provided model identifier is invalid.");
        goto out;
    }
    body = json_loadb(req->body.data ? req->body.data : "", req->body.len, 0,
                      NULL);
    if (!json_is_object(body)) {
        if (op == BD_INVOKE || op == BD_INVOKE_STREAM)
            VALIDATION(req, "Malformed input request: expected a JSON "
                            "object, please reformat your input and try "
                            "again.");
        else
            http_reply_aws_rest_error(req, 400, "SerializationException",
                                      "Unexpected content in the request "
                                      "body");
        goto out;
    }
    if (op == BD_CONVERSE || op == BD_CONVERSE_STREAM
            ? check_converse(req, body, &prompt, &all, &max_tokens)
            : check_native(req, model->family, body, &prompt, &all,
                           &max_tokens))
        goto out;

    rule = rule_for(model, prompt.data ? prompt.data : "");
    faults = faults_active(&generation);
    if (generation != bd.fault_generation) {
        /* a new fault set counts throttleFirst from its install */
        for (size_t i = 0; i < bd.nmodels; i++)
            bd.models[i].calls = 0;
        bd.fault_generation = generation;
    }
    c = xcalloc(1, sizeof(*c));
    loop_timer_init(&c->timer, stream_step, c);
    c->op = op;
    c->family = model->family;
    c->model = xstrdup(model->id);
    c->start_us = clock_mono_us();
    fault_bedrock_decide(faults, model->id, model->calls,
                         &c->fault);
    if (c->fault.rule < 0 && rule->fault)
        fault_bedrock_decide(rule->fault, model->id, model->calls,
                             &c->fault);
    model->calls++;
    if (c->fault.throttle) {
        log_msg(LOG_INFO, req->request_id, "bedrock: fault throttle");
        http_reply_aws_rest_error(req, 429, "ThrottlingException",
                                  "Too many requests, please wait before "
                                  "trying again.");
        goto out;
    }
    if (c->fault.unavailable) {
        log_msg(LOG_INFO, req->request_id, "bedrock: fault unavailable");
        http_reply_aws_rest_error(req, 503, "ServiceUnavailableException",
                                  "The service is temporarily unavailable. "
                                  "Please try again.");
        goto out;
    }

    if (rule->answer) {
        answer = render_answer(rule->answer, prompt.data ? prompt.data : "");
    } else if (rule->chunking == BD_CHUNK_LIST) {
        answer = NULL;
    } else {
        uint32_t h = 2166136261u; /* FNV-1a picks the echo's wording */

        for (const char *p = prompt.data ? prompt.data : ""; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        answer = render_answer(echo_forms[h % ARRAY_SIZE(echo_forms)],
                               prompt.data ? prompt.data : "");
    }
    cut = answer && fit_max_tokens(answer, max_tokens);
    cut_answer(rule, answer ? answer : "", &c->pieces, &c->npieces);
    if (!answer) {
        struct buf b;

        buf_init(&b, 64u << 20);
        for (size_t i = 0; i < c->npieces; i++)
            if (buf_adds(&b, c->pieces[i])) {
                /* capped */
            }
        answer = buf_detach(&b, NULL);
    }
    c->first_delay_ms = rule->first_delay_ms;
    c->delay_ms = rule->delay_ms;
    c->stop_reason = xstrdup(cut ? "max_tokens" : rule->stop_reason);
    c->in_tokens = rule->usage_in >= 0
                       ? rule->usage_in
                       : tokens_of(all.data ? all.data : "", all.len);
    c->out_tokens = rule->usage_out >= 0 ? rule->usage_out
                                         : tokens_of(answer, strlen(answer));
    if (c->in_tokens == 0)
        c->in_tokens = 1;
    snprintf(c->msg_id, sizeof(c->msg_id), "msg_bdrk_%.8s%.4s%.4s",
             req->request_id, req->request_id + 9, req->request_id + 14);

    c->req = req;
    c->next = bd.calls;
    if (bd.calls)
        bd.calls->prev = c;
    bd.calls = c;
    http_req_on_abort(req, on_abort, c);
    if (op == BD_CONVERSE || op == BD_INVOKE) {
        uint64_t total = c->first_delay_ms +
                         (uint64_t)c->delay_ms *
                             (c->npieces ? c->npieces - 1 : 0) +
                         c->fault.stall_ms;

        if (total > BEDROCK_MAX_DELAY_MS)
            total = BEDROCK_MAX_DELAY_MS;
        loop_timer_init(&c->timer, reply_whole, c);
        arm(c, (uint32_t)total);
    } else {
        if (op == BD_INVOKE_STREAM)
            http_reply_header(req, "X-Amzn-Bedrock-Content-Type",
                              "application/json");
        http_stream_start(req, 200, EVSTREAM_CONTENT_TYPE);
        req->stream_out.max = BEDROCK_STREAM_MAX;
        send_head(c);
        arm(c, c->first_delay_ms);
    }
    c = NULL; /* the timer owns it now */
out:
    if (c)
        call_free(c);
    free(answer);
    free(id);
    json_decref(body);
    buf_release(&prompt);
    buf_release(&all);
}

static void handle_converse(struct http_req *req)
{
    handle(req, BD_CONVERSE);
}

static void handle_converse_stream(struct http_req *req)
{
    handle(req, BD_CONVERSE_STREAM);
}

static void handle_invoke(struct http_req *req)
{
    handle(req, BD_INVOKE);
}

static void handle_invoke_stream(struct http_req *req)
{
    handle(req, BD_INVOKE_STREAM);
}

static const struct route bedrock_routes[] = {
    {"POST", NULL, "/model/", "/converse", NULL, handle_converse},
    {"POST", NULL, "/model/", "/converse-stream", NULL,
     handle_converse_stream},
    {"POST", NULL, "/model/", "/invoke", NULL, handle_invoke},
    {"POST", NULL, "/model/", "/invoke-with-response-stream", NULL,
     handle_invoke_stream},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct service svc_bedrock = {
    .name = "bedrock",
    .config_key = "bedrock",
    .init = bedrock_init,
    .release = bedrock_release,
    .routes = bedrock_routes,
    .describe = bedrock_describe,
};

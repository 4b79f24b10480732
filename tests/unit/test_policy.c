/*
 * test_policy.c - policy.c: the wildcard matcher (a table, pathological
 * patterns, and a differential check against a plain dynamic-programming
 * matcher), ARN component matching, identity policies (action case,
 * resource case, lists, Deny over Allow across policies, implicit deny,
 * the seed's Lambda role policy, conditions), trust policies (account
 * root, bare account, role and its sessions, user, "*", Service,
 * Federated with the identity pool's aud and amr conditions) and every
 * parse error with its JSON path.
 *
 * Documents are written with single quotes for readability; doc() turns
 * them into JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT    "123456789012"
#define REGION  "ap-northeast-1"
#define API_ID  "x7k2m9p4q1r8s5t6u3v0w2y4z6"
#define API_ARN "arn:aws:appsync:" REGION ":" ACCT ":apis/" API_ID
#define NS_ARN  API_ARN "/channelNamespace/bedrock-stream-response"
#define POOL_ID REGION ":4a3e1c7d-6b5f-4e2a-9d8c-0f1e2d3c4b5a"

/* Parse a single-quoted document into JSON; the caller decrefs. */
static json_t *doc(const char *sq)
{
    char *s = strdup(sq);
    json_error_t jerr;
    json_t *j;

    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    j = json_loads(s, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON at %d: %s\n%s", jerr.column, jerr.text, s);
    free(s);
    return j;
}

static struct policy *parse_ok(const char *sq, enum policy_kind kind)
{
    struct kaeri_error err = {{0}, {0}};
    struct policy *p = NULL;
    json_t *j = doc(sq);

    if (policy_parse(j, "$.p", kind, &p, &err))
        fail_msg("parse failed: %s: %s\n%s", err.where, err.text, sq);
    json_decref(j);
    assert_non_null(p);
    return p;
}

/* ---- wildcards ---- */

struct wild_case {
    const char *pattern;
    const char *text;
    bool ignore_case;
    bool want;
};

static const struct wild_case wild_cases[] = {
    {"", "", false, true},
    {"", "a", false, false},
    {"a", "", false, false},
    {"*", "", false, true},
    {"*", "anything:with/slashes:and:colons", false, true},
    {"**", "x", false, true},
    {"?", "", false, false},
    {"?", "a", false, true},
    {"?", "ab", false, false},
    {"a?c", "abc", false, true},
    {"a?c", "ac", false, false},
    {"a*c", "ac", false, true},
    {"a*c", "abbbc", false, true},
    {"a*c", "abbbd", false, false},
    {"*c", "abc", false, true},
    {"*c", "abcd", false, false},
    {"a*", "a", false, true},
    {"a*b*c", "aXbYc", false, true},
    {"a*b*c", "aXcYb", false, false},
    {"*?", "", false, false},
    {"*?", "a", false, true},
    {"a*?b", "ab", false, false},
    {"a*?b", "axb", false, true},
    {"*ab*ab*", "xxabyyab", false, true},
    {"*aab", "aaaab", false, true},
    {"ABC", "abc", true, true},
    {"ABC", "abc", false, false},
    {"a?C", "Abc", true, true},
    {"\xc3\x84", "\xc3\xa4", true, false}, /* ASCII folding only */
    {"bedrock:Invoke*", "bedrock:InvokeModelWithResponseStream", true, true},
    {"bedrock:Invoke*", "bedrock:Converse", true, false},
    {"s3:*Object", "s3:GetObject", true, true},
    {"s3:*Object", "s3:GetObjectAcl", true, false},
    {"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z", false, true},
    {"a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
    {"*a*a*a*a*a*a*a*a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, true},
    {"?*?*?*?*", "abc", false, false},
    {"?*?*?*?*", "abcd", false, true},
};

static void test_wildcard_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(wild_cases); i++) {
        const struct wild_case *c = &wild_cases[i];

        if (policy_wildcard_match(c->pattern, c->text, c->ignore_case) !=
            c->want)
            fail_msg("case %zu: '%s' vs '%s' (ignore_case %d): want %d", i,
                     c->pattern, c->text, c->ignore_case, c->want);
    }
    assert_false(policy_wildcard_match(NULL, "a", false));
    assert_false(policy_wildcard_match("a", NULL, false));
}

/* Fill 'out' with 'n' copies of 'unit' (a short string). */
static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * n + tl + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * n, tail, tl + 1);
    return s;
}

/*
 * Patterns that make a recursive matcher exponential. Each must finish
 * at once; a regression shows as a hung test, not a wrong answer.
 */
static void test_wildcard_pathological(void **state)
{
    char *pat = repeat("a*", 1000, "b");
    char *text = repeat("a", 20000, "");
    char *pat2 = repeat("*a", 1000, "");
    char *pat3 = repeat("*?", 1000, "x");

    (void)state;
    assert_false(policy_wildcard_match(pat, text, false));
    assert_true(policy_wildcard_match(pat2, text, false));
    assert_false(policy_wildcard_match(pat3, text, true));
    text[19999] = 'b';
    assert_true(policy_wildcard_match(pat, text, false));
    free(pat);
    free(text);
    free(pat2);
    free(pat3);
}

/* The obvious O(n*m) table, to check the fast matcher against. */
static bool dp_match(const char *p, const char *t)
{
    size_t pn = strlen(p), tn = strlen(t);
    bool m[16][16] = {{false}};

    assert_true(pn < 16 && tn < 16);
    m[0][0] = true;
    for (size_t i = 1; i <= pn; i++)
        m[i][0] = m[i - 1][0] && p[i - 1] == '*';
    for (size_t i = 1; i <= pn; i++)
        for (size_t j = 1; j <= tn; j++) {
            if (p[i - 1] == '*')
                m[i][j] = m[i - 1][j] || m[i][j - 1];
            else
                m[i][j] = m[i - 1][j - 1] &&
                          (p[i - 1] == '?' || p[i - 1] == t[j - 1]);
        }
    return m[pn][tn];
}

static void test_wildcard_differential(void **state)
{
    static const char pat_alpha[] = "ab*?";
    uint32_t seed = 12345;
    char p[12], t[12];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t pn, tn;

        seed = seed * 1103515245u + 12345u;
        pn = (seed >> 16) % 9;
        seed = seed * 1103515245u + 12345u;
        tn = (seed >> 16) % 11;
        for (size_t i = 0; i < pn; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = pat_alpha[(seed >> 16) % 4];
        }
        p[pn] = '\0';
        for (size_t i = 0; i < tn; i++) {
            seed = seed * 1103515245u + 12345u;
            t[i] = "ab"[(seed >> 16) % 2];
        }
        t[tn] = '\0';
        if (policy_wildcard_match(p, t, false) != dp_match(p, t))
            fail_msg("'%s' vs '%s': fast %d, reference %d", p, t,
                     policy_wildcard_match(p, t, false), dp_match(p, t));
    }
}

/* ---- ARN matching ---- */

static const struct wild_case arn_cases[] = {
    {"*", "arn:aws:s3:::b", false, true},
    {"arn:aws:bedrock:*::foundation-model/*",
     "arn:aws:bedrock:" REGION "::foundation-model/amazon.nova-micro-v1:0",
     false, true},
    {"arn:aws:bedrock:*::foundation-model/*",
     "arn:aws:bedrock:" REGION ":" ACCT ":foundation-model/x", false, false},
    /* a '*' in the region does not reach into the account */
    {"arn:aws:bedrock:*:" ACCT ":inference-profile/*",
     "arn:aws:bedrock:us-east-1:" ACCT ":inference-profile/apac.x:0", false,
     true},
    {"arn:aws:bedrock:*:" ACCT ":inference-profile/*",
     "arn:aws:bedrock:us-east-1:999999999999:inference-profile/x", false,
     false},
    {"arn:aws:bedrock:*",
     "arn:aws:bedrock:us-east-1:999999999999:inference-profile/x", false, true},
    {"arn:aws:execute-api:" REGION ":" ACCT ":*/*/GET/hello",
     "arn:aws:execute-api:" REGION ":" ACCT ":abc123/prod/GET/hello", false,
     true},
    {"arn:aws:execute-api:" REGION ":" ACCT ":*/*/GET/hello",
     "arn:aws:execute-api:" REGION ":" ACCT ":abc123/prod/POST/hello", false,
     false},
    {"arn:aws:logs:*:*:*", "arn:aws:logs:r:1:log-group:g:log-stream:s", false,
     true},
    {"arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x", false, false},
    {"arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/x", false, true},
    {"arn:aws:s3:::bucket", "arn:aws:s3:::bucket/x", false, false},
    {"arn:aws:s?::*", "arn:aws:s3:::bucket", false, true},
};

static void test_arn_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(arn_cases); i++) {
        const struct wild_case *c = &arn_cases[i];

        if (policy_arn_match(c->pattern, c->text) != c->want)
            fail_msg("case %zu: '%s' vs '%s': want %d", i, c->pattern, c->text,
                     c->want);
    }
    assert_false(policy_arn_match(NULL, "arn:aws:s3:::b"));
    assert_false(policy_arn_match("*", NULL));
}

/* ---- evaluation ---- */

#define ALLOW    POLICY_ALLOW
#define IMPLICIT POLICY_IMPLICIT_DENY
#define EXPLICIT POLICY_EXPLICIT_DENY

/* The seed's Lambda execution role policy, with a concrete API id. */
static const char lambda_role[] =
    "{'Version': '2012-10-17', 'Statement': ["
    " {'Effect': 'Allow',"
    "  'Action': ['bedrock:InvokeModel',"
    "             'bedrock:InvokeModelWithResponseStream'],"
    "  'Resource': ['arn:aws:bedrock:*::foundation-model/*',"
    "               'arn:aws:bedrock:*:" ACCT ":inference-profile/*']},"
    " {'Effect': 'Allow', 'Action': 'appsync:EventPublish',"
    "  'Resource': '" NS_ARN "'},"
    " {'Effect': 'Allow', 'Action': 'appsync:connect',"
    "  'Resource': '" API_ARN "'}]}";

static const char allow_all[] =
    "{'Version': '2012-10-17', 'Statement': "
    "{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}";

static const char deny_bedrock[] =
    "{'Version': '2012-10-17', 'Statement': [{'Sid': 'NoModels',"
    " 'Effect': 'Deny', 'Action': 'bedrock:*', 'Resource': '*'}]}";

/* Identity pool role trust, as the default fixture writes it. */
static const char pool_trust[] =
    "{'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow',"
    " 'Principal': {'Federated': 'cognito-identity.amazonaws.com'},"
    " 'Action': 'sts:AssumeRoleWithWebIdentity',"
    " 'Condition': {"
    "  'StringEquals': {'cognito-identity.amazonaws.com:aud': '" POOL_ID "'},"
    "  'ForAnyValue:StringLike': "
    "   {'cognito-identity.amazonaws.com:amr': 'authenticated'}}},"
    " {'Effect': 'Allow', 'Principal': {'Federated': "
    "   'arn:aws:iam::" ACCT ":oidc-provider/cognito-idp." REGION
    ".amazonaws.com/" REGION "_KaeriPool1'},"
    " 'Action': 'sts:AssumeRoleWithWebIdentity',"
    " 'Condition': {'StringEquals': {'cognito-idp." REGION
    ".amazonaws.com/" REGION "_KaeriPool1:aud': 'webclient'}}}]}";

struct eval_case {
    const char *what;
    enum policy_kind kind;
    const char *docs[3];
    const char *action;
    const char *resource;
    const char *ctx[9]; /* key, value, key, value, ..., NULL */
    struct policy_principal who;
    enum policy_decision want;
};

#define NOBODY                 \
    {                          \
        NULL, NULL, NULL, NULL \
    }

static const struct eval_case identity_cases[] = {
    {"no policies",
     POLICY_IDENTITY,
     {NULL},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"allow all",
     POLICY_IDENTITY,
     {allow_all},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     ALLOW},
    {"no action",
     POLICY_IDENTITY,
     {allow_all},
     NULL,
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"no resource",
     POLICY_IDENTITY,
     {allow_all},
     "s3:GetObject",
     NULL,
     {NULL},
     NOBODY,
     IMPLICIT},
    {"deny beats allow",
     POLICY_IDENTITY,
     {allow_all, deny_bedrock},
     "bedrock:InvokeModel",
     "arn:aws:bedrock:us-east-1::foundation-model/m",
     {NULL},
     NOBODY,
     EXPLICIT},
    {"deny beats allow, either order",
     POLICY_IDENTITY,
     {deny_bedrock, allow_all},
     "bedrock:InvokeModel",
     "arn:aws:bedrock:us-east-1::foundation-model/m",
     {NULL},
     NOBODY,
     EXPLICIT},
    {"deny elsewhere leaves allow",
     POLICY_IDENTITY,
     {allow_all, deny_bedrock},
     "appsync:connect",
     API_ARN,
     {NULL},
     NOBODY,
     ALLOW},
    {"deny alone is still a deny",
     POLICY_IDENTITY,
     {deny_bedrock},
     "BEDROCK:invokemodel",
     "arn:aws:bedrock:x::y",
     {NULL},
     NOBODY,
     EXPLICIT},
    {"action case-insensitive",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 'BEDROCK:invokemodel',"
      " 'Resource': '*'}}"},
     "bedrock:InvokeModel",
     "arn:aws:bedrock:x::y",
     {NULL},
     NOBODY,
     ALLOW},
    {"action wildcard",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 'bedrock:invoke*',"
      " 'Resource': '*'}}"},
     "bedrock:InvokeModelWithResponseStream",
     "arn:aws:bedrock:x::y",
     {NULL},
     NOBODY,
     ALLOW},
    {"action ?",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 'sts:?ssumeRole',"
      " 'Resource': '*'}}"},
     "sts:AssumeRole",
     "arn:aws:iam::" ACCT ":role/r",
     {NULL},
     NOBODY,
     ALLOW},
    {"action mismatch",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 'bedrock:invoke*',"
      " 'Resource': '*'}}"},
     "bedrock:Converse",
     "arn:aws:bedrock:x::y",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"action list, second",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': ['s3:GetObject',"
      " 'lambda:InvokeFunction'], 'Resource': '*'}}"},
     "lambda:InvokeFunction",
     "arn:aws:lambda:r:1:function:f",
     {NULL},
     NOBODY,
     ALLOW},
    {"action list, neither",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': ['s3:GetObject',"
      " 'lambda:InvokeFunction'], 'Resource': '*'}}"},
     "lambda:GetFunction",
     "arn:aws:lambda:r:1:function:f",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"resource case-sensitive",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 's3:*',"
      " 'Resource': 'arn:aws:s3:::Bucket/*'}}"},
     "s3:GetObject",
     "arn:aws:s3:::bucket/k",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"resource exact case",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 's3:*',"
      " 'Resource': 'arn:aws:s3:::Bucket/*'}}"},
     "s3:GetObject",
     "arn:aws:s3:::Bucket/k",
     {NULL},
     NOBODY,
     ALLOW},
    {"resource list, second",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 's3:*', 'Resource':"
      " ['arn:aws:s3:::a/*', 'arn:aws:s3:::b/*']}}"},
     "s3:GetObject",
     "arn:aws:s3:::b/k",
     {NULL},
     NOBODY,
     ALLOW},
    {"resource list, neither",
     POLICY_IDENTITY,
     {"{'Statement': {'Effect': 'Allow', 'Action': 's3:*', 'Resource':"
      " ['arn:aws:s3:::a/*', 'arn:aws:s3:::b/*']}}"},
     "s3:GetObject",
     "arn:aws:s3:::c/k",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"2008 version: ${...} is literal",
     POLICY_IDENTITY,
     {"{'Version': '2008-10-17', 'Statement': {'Effect': 'Allow', 'Action':"
      " 's3:*', 'Resource': 'arn:aws:s3:::b/${aws:username}'}}"},
     "s3:GetObject",
     "arn:aws:s3:::b/${aws:username}",
     {NULL},
     NOBODY,
     ALLOW},

    /* the seed's Lambda role */
    {"lambda: model",
     POLICY_IDENTITY,
     {lambda_role},
     "bedrock:InvokeModel",
     "arn:aws:bedrock:" REGION "::foundation-model/amazon.nova-micro-v1:0",
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: model, other region",
     POLICY_IDENTITY,
     {lambda_role},
     "bedrock:InvokeModelWithResponseStream",
     "arn:aws:bedrock:us-east-1::foundation-model/"
     "anthropic.claude-3-5-sonnet-20240620-v1:0",
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: inference profile",
     POLICY_IDENTITY,
     {lambda_role},
     "bedrock:InvokeModelWithResponseStream",
     "arn:aws:bedrock:" REGION ":" ACCT
     ":inference-profile/apac.amazon.nova-micro-v1:0",
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: other account's profile",
     POLICY_IDENTITY,
     {lambda_role},
     "bedrock:InvokeModel",
     "arn:aws:bedrock:" REGION ":999999999999:inference-profile/apac.x:0",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: other bedrock action",
     POLICY_IDENTITY,
     {lambda_role},
     "bedrock:ListFoundationModels",
     "arn:aws:bedrock:" REGION "::foundation-model/amazon.nova-micro-v1:0",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: publish",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:EventPublish",
     NS_ARN,
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: publish, action case",
     POLICY_IDENTITY,
     {lambda_role},
     "AppSync:eventpublish",
     NS_ARN,
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: publish, other namespace",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:EventPublish",
     API_ARN "/channelNamespace/other",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: publish, other api",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:EventPublish",
     "arn:aws:appsync:" REGION ":" ACCT
     ":apis/otherapi/channelNamespace/bedrock-stream-response",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: publish on the api",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:EventPublish",
     API_ARN,
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: subscribe",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:EventSubscribe",
     NS_ARN,
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: connect",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:connect",
     API_ARN,
     {NULL},
     NOBODY,
     ALLOW},
    {"lambda: connect, other api",
     POLICY_IDENTITY,
     {lambda_role},
     "appsync:connect",
     "arn:aws:appsync:" REGION ":" ACCT ":apis/other",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"lambda: invoke function",
     POLICY_IDENTITY,
     {lambda_role},
     "lambda:InvokeFunction",
     "arn:aws:lambda:" REGION ":" ACCT ":function:f",
     {NULL},
     NOBODY,
     IMPLICIT},

/* conditions */
#define COND(c)                                                             \
    "{'Version': '2012-10-17', 'Statement': {'Effect': 'Allow', 'Action': " \
    "'s3:*', 'Resource': '*', 'Condition': " c "}}"
    {"StringEquals holds",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'alice'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     ALLOW},
    {"StringEquals, key case-insensitive",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'AWS:UserName': 'alice'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     ALLOW},
    {"StringEquals, value case-sensitive",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'Alice'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     IMPLICIT},
    {"StringEquals, missing key",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'alice'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"StringEquals, values are OR",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': ['bob', 'alice']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     ALLOW},
    {"StringEquals, keys are AND",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'alice', 'k2': 'v2'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", "k2", "other", NULL},
     NOBODY,
     IMPLICIT},
    {"operators are AND",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'alice'},"
           " 'Bool': {'aws:SecureTransport': 'true'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", "aws:SecureTransport", "false", NULL},
     NOBODY,
     IMPLICIT},
    {"operators are AND, both hold",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:username': 'alice'},"
           " 'Bool': {'aws:SecureTransport': true}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", "aws:SecureTransport", "TRUE", NULL},
     NOBODY,
     ALLOW},
    {"StringNotEquals holds",
     POLICY_IDENTITY,
     {COND("{'StringNotEquals': {'aws:username': ['bob', 'carol']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     ALLOW},
    {"StringNotEquals fails",
     POLICY_IDENTITY,
     {COND("{'StringNotEquals': {'aws:username': ['bob', 'carol']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "carol", NULL},
     NOBODY,
     IMPLICIT},
    {"StringNotEquals, missing key holds",
     POLICY_IDENTITY,
     {COND("{'StringNotEquals': {'aws:username': 'bob'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     ALLOW},
    {"StringEqualsIfExists, missing key holds",
     POLICY_IDENTITY,
     {COND("{'StringEqualsIfExists': {'aws:username': 'bob'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     ALLOW},
    {"StringEqualsIfExists, present key checked",
     POLICY_IDENTITY,
     {COND("{'StringEqualsIfExists': {'aws:username': 'bob'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     IMPLICIT},
    {"StringEqualsIgnoreCase",
     POLICY_IDENTITY,
     {COND("{'StringEqualsIgnoreCase': {'aws:username': 'ALICE'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     ALLOW},
    {"StringNotEqualsIgnoreCase",
     POLICY_IDENTITY,
     {COND("{'StringNotEqualsIgnoreCase': {'aws:username': 'ALICE'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:username", "alice", NULL},
     NOBODY,
     IMPLICIT},
    {"StringLike",
     POLICY_IDENTITY,
     {COND("{'StringLike': {'aws:userid': 'AROA*:alice-?'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:userid", "AROAXYZ:alice-1", NULL},
     NOBODY,
     ALLOW},
    {"StringLike, case-sensitive",
     POLICY_IDENTITY,
     {COND("{'StringLike': {'aws:userid': 'aroa*'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:userid", "AROAXYZ:alice", NULL},
     NOBODY,
     IMPLICIT},
    {"StringNotLike",
     POLICY_IDENTITY,
     {COND("{'StringNotLike': {'aws:userid': 'AIDA*'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:userid", "AROAXYZ:alice", NULL},
     NOBODY,
     ALLOW},
    {"Bool false",
     POLICY_IDENTITY,
     {COND("{'Bool': {'aws:SecureTransport': 'false'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:SecureTransport", "true", NULL},
     NOBODY,
     IMPLICIT},
    {"Bool, missing key",
     POLICY_IDENTITY,
     {COND("{'Bool': {'aws:SecureTransport': 'true'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"integer value as a string",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'k': 42}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"k", "42", NULL},
     NOBODY,
     ALLOW},
    {"ForAnyValue, one matches",
     POLICY_IDENTITY,
     {COND("{'ForAnyValue:StringEquals': {'aws:TagKeys': ['a', 'b']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "x", "aws:TagKeys", "b", NULL},
     NOBODY,
     ALLOW},
    {"ForAnyValue, none matches",
     POLICY_IDENTITY,
     {COND("{'ForAnyValue:StringEquals': {'aws:TagKeys': ['a', 'b']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "x", "aws:TagKeys", "y", NULL},
     NOBODY,
     IMPLICIT},
    {"ForAnyValue, missing key fails",
     POLICY_IDENTITY,
     {COND("{'ForAnyValue:StringEquals': {'aws:TagKeys': 'a'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     IMPLICIT},
    {"ForAnyValue:StringNotEquals, one differs",
     POLICY_IDENTITY,
     {COND("{'ForAnyValue:StringNotEquals': {'aws:TagKeys': 'a'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a", "aws:TagKeys", "z", NULL},
     NOBODY,
     ALLOW},
    {"ForAllValues, all match",
     POLICY_IDENTITY,
     {COND("{'ForAllValues:StringLike': {'aws:TagKeys': ['a*', 'b']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a1", "aws:TagKeys", "b", NULL},
     NOBODY,
     ALLOW},
    {"ForAllValues, one does not",
     POLICY_IDENTITY,
     {COND("{'ForAllValues:StringLike': {'aws:TagKeys': ['a*', 'b']}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a1", "aws:TagKeys", "c", NULL},
     NOBODY,
     IMPLICIT},
    {"ForAllValues, missing key holds",
     POLICY_IDENTITY,
     {COND("{'ForAllValues:StringEquals': {'aws:TagKeys': 'a'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     ALLOW},
    {"ForAllValues:StringNotEquals",
     POLICY_IDENTITY,
     {COND("{'ForAllValues:StringNotEquals': {'aws:TagKeys': 'secret'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a", "aws:TagKeys", "secret", NULL},
     NOBODY,
     IMPLICIT},
    {"no qualifier, multi-valued key, positive",
     POLICY_IDENTITY,
     {COND("{'StringEquals': {'aws:TagKeys': 'b'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a", "aws:TagKeys", "b", NULL},
     NOBODY,
     ALLOW},
    {"no qualifier, multi-valued key, negated",
     POLICY_IDENTITY,
     {COND("{'StringNotEquals': {'aws:TagKeys': 'b'}}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:TagKeys", "a", "aws:TagKeys", "b", NULL},
     NOBODY,
     IMPLICIT},
    {"conditional deny",
     POLICY_IDENTITY,
     {allow_all,
      "{'Statement': {'Effect': 'Deny', 'Action': '*', 'Resource': '*',"
      " 'Condition': {'Bool': {'aws:SecureTransport': 'false'}}}}"},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:SecureTransport", "false", NULL},
     NOBODY,
     EXPLICIT},
    {"conditional deny, not met",
     POLICY_IDENTITY,
     {allow_all,
      "{'Statement': {'Effect': 'Deny', 'Action': '*', 'Resource': '*',"
      " 'Condition': {'Bool': {'aws:SecureTransport': 'false'}}}}"},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {"aws:SecureTransport", "true", NULL},
     NOBODY,
     ALLOW},
    {"empty Condition block",
     POLICY_IDENTITY,
     {COND("{}")},
     "s3:GetObject",
     "arn:aws:s3:::b",
     {NULL},
     NOBODY,
     ALLOW},
};

#define P(arn, acct, svc, fed) \
    {                          \
        arn, acct, svc, fed    \
    }
#define TRUST(principal, extra)                                    \
    "{'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', " \
    "'Principal': " principal ", 'Action': 'sts:AssumeRole'}" extra "]}"
#define ALICE      "arn:aws:iam::" ACCT ":user/alice"
#define SESSION(r) "arn:aws:sts::" ACCT ":assumed-role/" r "/s1"

static const struct eval_case trust_cases[] = {
    {"root: user of the account",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     ALLOW},
    {"root: account from the ARN",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(SESSION("other"), NULL, NULL, NULL),
     ALLOW},
    {"root: the root itself",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::" ACCT ":root", NULL, NULL, NULL),
     ALLOW},
    {"root: other account",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::999999999999:user/alice", "999999999999", NULL, NULL),
     IMPLICIT},
    {"root: wrong action",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     IMPLICIT},
    {"root: a service is no AWS principal",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":root'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(NULL, NULL, "lambda.amazonaws.com", NULL),
     IMPLICIT},
    {"bare account id",
     POLICY_TRUST,
     {TRUST("{'AWS': '" ACCT "'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, NULL, NULL, NULL),
     ALLOW},
    {"bare account id, other account",
     POLICY_TRUST,
     {TRUST("{'AWS': '999999999999'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     IMPLICIT},
    {"role: its session",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/service-role/R'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(SESSION("R"), ACCT, NULL, NULL),
     ALLOW},
    {"role: the role itself",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/R'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::" ACCT ":role/R", ACCT, NULL, NULL),
     ALLOW},
    {"role: another role's session",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/R'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(SESSION("R2"), ACCT, NULL, NULL),
     IMPLICIT},
    {"role: prefix is not the role",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/R2'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(SESSION("R"), ACCT, NULL, NULL),
     IMPLICIT},
    {"role: same name, other account",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/R'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:sts::999999999999:assumed-role/R/s1", NULL, NULL, NULL),
     IMPLICIT},
    {"role: a user of the account",
     POLICY_TRUST,
     {TRUST("{'AWS': 'arn:aws:iam::" ACCT ":role/R'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     IMPLICIT},
    {"session principal: exact",
     POLICY_TRUST,
     {TRUST("{'AWS': '" SESSION("R") "'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(SESSION("R"), ACCT, NULL, NULL),
     ALLOW},
    {"user: that user",
     POLICY_TRUST,
     {TRUST("{'AWS': ['" ALICE "']}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     ALLOW},
    {"user: another user",
     POLICY_TRUST,
     {TRUST("{'AWS': '" ALICE "'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::" ACCT ":user/alice2", ACCT, NULL, NULL),
     IMPLICIT},
    {"user: list",
     POLICY_TRUST,
     {TRUST("{'AWS': ['arn:aws:iam::" ACCT ":user/bob', '" ALICE "']}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     ALLOW},
    {"'*' matches anyone",
     POLICY_TRUST,
     {TRUST("'*'", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     NOBODY,
     ALLOW},
    {"{AWS: *} matches anyone",
     POLICY_TRUST,
     {TRUST("{'AWS': '*'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::999999999999:user/x", NULL, NULL, NULL),
     ALLOW},
    {"service",
     POLICY_TRUST,
     {TRUST("{'Service': 'lambda.amazonaws.com'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(NULL, NULL, "lambda.amazonaws.com", NULL),
     ALLOW},
    {"service, list",
     POLICY_TRUST,
     {TRUST("{'Service': ['edgelambda.amazonaws.com',"
            " 'lambda.amazonaws.com']}",
            "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(NULL, NULL, "lambda.amazonaws.com", NULL),
     ALLOW},
    {"service, other",
     POLICY_TRUST,
     {TRUST("{'Service': 'lambda.amazonaws.com'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(NULL, NULL, "ec2.amazonaws.com", NULL),
     IMPLICIT},
    {"service, an AWS principal",
     POLICY_TRUST,
     {TRUST("{'Service': 'lambda.amazonaws.com'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     IMPLICIT},
    {"no principal given",
     POLICY_TRUST,
     {TRUST("{'Service': 'lambda.amazonaws.com'}", "")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     NOBODY,
     IMPLICIT},
    {"deny a user, allow the account",
     POLICY_TRUST,
     {TRUST("{'AWS': '" ACCT "'}",
            ", {'Effect': 'Deny', 'Principal': {'AWS': '" ALICE "'},"
            " 'Action': 'sts:*'}")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P(ALICE, ACCT, NULL, NULL),
     EXPLICIT},
    {"deny a user, allow the account: other user",
     POLICY_TRUST,
     {TRUST("{'AWS': '" ACCT "'}",
            ", {'Effect': 'Deny', 'Principal': {'AWS': '" ALICE "'},"
            " 'Action': 'sts:*'}")},
     "sts:AssumeRole",
     NULL,
     {NULL},
     P("arn:aws:iam::" ACCT ":user/bob", ACCT, NULL, NULL),
     ALLOW},

/* the identity pool's roles */
#define AUD    "cognito-identity.amazonaws.com:aud"
#define AMR    "cognito-identity.amazonaws.com:amr"
#define FED(f) P(NULL, NULL, NULL, f)
    {"pool: authenticated",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AUD, POOL_ID, AMR, "authenticated", AMR,
      "cognito-idp." REGION ".amazonaws.com/" REGION "_KaeriPool1", AMR,
      "cognito-idp." REGION ".amazonaws.com/" REGION
      "_KaeriPool1:CognitoSignIn:0b1c2d3e",
      NULL},
     FED("cognito-identity.amazonaws.com"),
     ALLOW},
    {"pool: unauthenticated",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AUD, POOL_ID, AMR, "unauthenticated", NULL},
     FED("cognito-identity.amazonaws.com"),
     IMPLICIT},
    {"pool: other pool",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AUD, REGION ":00000000-0000-0000-0000-000000000000", AMR, "authenticated",
      NULL},
     FED("cognito-identity.amazonaws.com"),
     IMPLICIT},
    {"pool: no amr",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AUD, POOL_ID, NULL},
     FED("cognito-identity.amazonaws.com"),
     IMPLICIT},
    {"pool: no aud",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AMR, "authenticated", NULL},
     FED("cognito-identity.amazonaws.com"),
     IMPLICIT},
    {"pool: other provider",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {AUD, POOL_ID, AMR, "authenticated", NULL},
     FED("accounts.google.com"),
     IMPLICIT},
    {"pool: plain AssumeRole",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRole",
     NULL,
     {AUD, POOL_ID, AMR, "authenticated", NULL},
     FED("cognito-identity.amazonaws.com"),
     IMPLICIT},
    {"user pool token via OIDC provider",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {"cognito-idp." REGION ".amazonaws.com/" REGION "_KaeriPool1:aud",
      "webclient", NULL},
     FED("arn:aws:iam::" ACCT ":oidc-provider/cognito-idp." REGION
         ".amazonaws.com/" REGION "_KaeriPool1"),
     ALLOW},
    {"user pool token, wrong client",
     POLICY_TRUST,
     {pool_trust},
     "sts:AssumeRoleWithWebIdentity",
     NULL,
     {"cognito-idp." REGION ".amazonaws.com/" REGION "_KaeriPool1:aud",
      "otherclient", NULL},
     FED("arn:aws:iam::" ACCT ":oidc-provider/cognito-idp." REGION
         ".amazonaws.com/" REGION "_KaeriPool1"),
     IMPLICIT},
};

static void run_eval_cases(const struct eval_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct eval_case *c = &cases[i];
        struct policy *ps[3] = {NULL, NULL, NULL};
        struct policy_context *ctx = policy_context_new();
        struct policy_request req;
        size_t count = 0;
        enum policy_decision got;

        for (; count < 3 && c->docs[count]; count++) {
            ps[count] = parse_ok(c->docs[count], c->kind);
            assert_int_equal(policy_kind_of(ps[count]), c->kind);
        }
        for (size_t k = 0; c->ctx[k]; k += 2)
            policy_context_add(ctx, c->ctx[k], c->ctx[k + 1]);
        req.action = c->action;
        req.resource = c->resource;
        req.context = ctx;
        req.principal = &c->who;
        got = policy_evaluate((const struct policy *const *)ps, count, &req);
        if (got != c->want)
            fail_msg("'%s': got %s, want %s", c->what,
                     policy_decision_name(got), policy_decision_name(c->want));
        for (size_t k = 0; k < count; k++)
            policy_free(ps[k]);
        policy_context_free(ctx);
    }
}

static void test_identity(void **state)
{
    (void)state;
    run_eval_cases(identity_cases, ARRAY_SIZE(identity_cases));
}

static void test_trust(void **state)
{
    (void)state;
    run_eval_cases(trust_cases, ARRAY_SIZE(trust_cases));
}

/* NULL entries are skipped, a NULL context is empty, a NULL principal is
 * nobody. */
static void test_evaluate_nulls(void **state)
{
    struct policy *p = parse_ok(allow_all, POLICY_IDENTITY);
    struct policy *t = parse_ok(TRUST("'*'", ""), POLICY_TRUST);
    struct policy *r = parse_ok(TRUST("{'AWS': '" ACCT "'}", ""), POLICY_TRUST);
    const struct policy *list[] = {NULL, p, NULL};
    struct policy_request req = {"s3:GetObject", "arn:aws:s3:::b", NULL, NULL};

    (void)state;
    assert_int_equal(policy_evaluate(list, ARRAY_SIZE(list), &req), ALLOW);
    assert_int_equal(policy_evaluate(list, 0, &req), IMPLICIT);
    req.action = "sts:AssumeRole";
    list[0] = t;
    assert_int_equal(policy_evaluate(list, 1, &req), ALLOW);
    list[0] = r;
    assert_int_equal(policy_evaluate(list, 1, &req), IMPLICIT);
    assert_string_equal(policy_decision_name(EXPLICIT), "explicit-deny");
    policy_free(p);
    policy_free(t);
    policy_free(r);
    policy_free(NULL);
}

static void test_context(void **state)
{
    struct policy_context *ctx = policy_context_new();
    struct policy *p = parse_ok(
        COND("{'ForAllValues:StringEquals': {'Multi': ['a', 'b', 'c']}}"),
        POLICY_IDENTITY);
    const struct policy *list[] = {p};
    struct policy_request req = {"s3:GetObject", "arn:aws:s3:::b", ctx, NULL};

    (void)state;
    policy_context_add(ctx, "multi", "a");
    policy_context_add(ctx, "MULTI", "b");
    assert_int_equal(policy_evaluate(list, 1, &req), ALLOW);
    policy_context_add(ctx, "mUlTi", "d"); /* the same key, a third value */
    assert_int_equal(policy_evaluate(list, 1, &req), IMPLICIT);
    policy_free(p);
    policy_context_free(ctx);
    policy_context_free(NULL);
}

/* ---- parse errors ---- */

struct error_case {
    enum policy_kind kind;
    const char *doc;
    enum kaeri_err rc;
    const char *where;
    const char *text; /* a substring of err.text */
};

#define ID       POLICY_IDENTITY
#define TR       POLICY_TRUST
#define INVAL    KAERI_ERR_INVALID
#define STMT(s)  "{'Version': '2012-10-17', 'Statement': [" s "]}"
#define ALLOW_S3 "'Effect': 'Allow', 'Action': 's3:*'"
#define TRUST_S  "'Effect': 'Allow', 'Action': 'sts:AssumeRole'"

static const struct error_case error_cases[] = {
    {ID, "[]", INVAL, "$.p", "expected a policy document"},
    {ID, "{'Version': '2012-10-17'}", INVAL, "$.p.Statement", "required"},
    {ID, "{'Version': '2012-10-18', 'Statement': []}", INVAL, "$.p.Version",
     "unsupported policy version '2012-10-18'"},
    {ID, "{'Version': 2012, 'Statement': []}", INVAL, "$.p.Version",
     "expected a string"},
    {ID, "{'Statements': []}", INVAL, "$.p.Statements",
     "unknown policy element 'Statements'"},
    {ID, "{'Id': 1, 'Statement': []}", INVAL, "$.p.Id", "expected a string"},
    {ID, "{'Statement': []}", INVAL, "$.p.Statement", "must not be empty"},
    {ID, "{'Statement': 'x'}", INVAL, "$.p.Statement",
     "expected an object or an array of objects"},
    {ID, "{'Statement': [1]}", INVAL, "$.p.Statement[0]", "expected an object"},
    {ID,
     "{'Statement': {'Effect': 'Allow', 'NotAction': 's3:*',"
     " 'Resource': '*'}}",
     INVAL, "$.p.Statement.NotAction", "NotAction is not supported"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*'}, {'Effect': 'Allow',"
          " 'Action': 's3:*', 'NotResource': 'arn:aws:s3:::b'}"),
     INVAL, "$.p.Statement[1].NotResource", "NotResource is not supported"},
    {TR, STMT("{" TRUST_S ", 'NotPrincipal': {'AWS': '" ACCT "'}}"), INVAL,
     "$.p.Statement[0].NotPrincipal", "NotPrincipal is not supported"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': '*', 'Foo': 1}"), INVAL,
     "$.p.Statement[0].Foo", "unknown policy element 'Foo'"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': '*', 'Sid': 3}"), INVAL,
     "$.p.Statement[0].Sid", "expected a string"},
    {ID, STMT("{'Action': 's3:*', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Effect", "required"},
    {ID, STMT("{'Effect': 'allow', 'Action': 's3:*', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Effect", "expected \"Allow\" or \"Deny\""},
    {ID, STMT("{'Effect': true, 'Action': 's3:*', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Effect", "expected \"Allow\" or \"Deny\""},
    {ID, STMT("{'Effect': 'Allow', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Action", "required"},
    {TR, STMT("{'Effect': 'Allow', 'Principal': '*'}"), INVAL,
     "$.p.Statement[0].Action", "required"},
    {ID, STMT("{'Effect': 'Allow', 'Action': 5, 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Action", "expected a string or an array of strings"},
    {ID, STMT("{'Effect': 'Allow', 'Action': {}, 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Action", "expected a string or an array of strings"},
    {ID, STMT("{'Effect': 'Allow', 'Action': [], 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Action", "must not be empty"},
    {ID, STMT("{'Effect': 'Allow', 'Action': ['s3:Get*', 7], 'Resource': '*'}"),
     INVAL, "$.p.Statement[0].Action[1]", "expected a string"},
    {ID,
     STMT("{'Effect': 'Allow', 'Action': ['s3:Get*', 's3'],"
          " 'Resource': '*'}"),
     INVAL, "$.p.Statement[0].Action[1]", "action 's3' is not"},
    {ID, STMT("{'Effect': 'Allow', 'Action': ':x', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Action", "action ':x' is not"},
    {ID, STMT("{" ALLOW_S3 "}"), INVAL, "$.p.Statement[0].Resource",
     "required"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': []}"), INVAL,
     "$.p.Statement[0].Resource", "must not be empty"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': null}"), INVAL,
     "$.p.Statement[0].Resource", "expected a string or an array"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': ['*', 'bucket']}"), INVAL,
     "$.p.Statement[0].Resource[1]", "resource 'bucket' is not"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': 'arn:aws:s3:::b/${aws:username}'}"),
     INVAL, "$.p.Statement[0].Resource",
     "policy variables ('${...}') are not supported"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': '*', 'Principal': '*'}"), INVAL,
     "$.p.Statement[0].Principal",
     "an identity policy must not have a Principal"},
    {TR, STMT("{" TRUST_S ", 'Principal': '*', 'Resource': '*'}"), INVAL,
     "$.p.Statement[0].Resource", "a trust policy must not have a Resource"},
    {TR, STMT("{" TRUST_S "}"), INVAL, "$.p.Statement[0].Principal",
     "required"},
    {TR, STMT("{" TRUST_S ", 'Principal': 'alice'}"), INVAL,
     "$.p.Statement[0].Principal", "expected \"*\" or an object"},
    {TR, STMT("{" TRUST_S ", 'Principal': ['*']}"), INVAL,
     "$.p.Statement[0].Principal", "expected \"*\" or an object"},
    {TR, STMT("{" TRUST_S ", 'Principal': {}}"), INVAL,
     "$.p.Statement[0].Principal", "must not be empty"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'CanonicalUser': 'abc'}}"), INVAL,
     "$.p.Statement[0].Principal.CanonicalUser",
     "principal type 'CanonicalUser' is not supported"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'AWS': []}}"), INVAL,
     "$.p.Statement[0].Principal.AWS", "must not be empty"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'AWS': 12}}"), INVAL,
     "$.p.Statement[0].Principal.AWS", "expected a string or an array"},
    {TR,
     STMT("{" TRUST_S ", 'Principal': {'AWS': ['" ACCT "',"
          " 'arn:aws:iam::*:root']}}"),
     INVAL, "$.p.Statement[0].Principal.AWS[1]",
     "invalid AWS principal 'arn:aws:iam::*:root'"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'AWS': '12345'}}"), INVAL,
     "$.p.Statement[0].Principal.AWS", "invalid AWS principal '12345'"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'AWS': 'arn:aws:s3:::bucket'}}"),
     INVAL, "$.p.Statement[0].Principal.AWS", "invalid AWS principal"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'Service': '*'}}"), INVAL,
     "$.p.Statement[0].Principal.Service", "invalid Service principal '*'"},
    {TR, STMT("{" TRUST_S ", 'Principal': {'Federated': ''}}"), INVAL,
     "$.p.Statement[0].Principal.Federated", "invalid Federated principal"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition': []}"), INVAL,
     "$.p.Statement[0].Condition", "expected an object"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'DateGreaterThan': {'aws:CurrentTime': '2020-01-01T00:00:00Z'}}}"),
     INVAL, "$.p.Statement[0].Condition.DateGreaterThan",
     "condition operator 'DateGreaterThan' is not supported"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'ForAnyValue:NumericEquals': {'k': 1}}}"),
     INVAL, "$.p.Statement[0].Condition[\"ForAnyValue:NumericEquals\"]",
     "condition operator 'ForAnyValue:NumericEquals' is not supported"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'Null': {'k': 'true'}}}"),
     INVAL, "$.p.Statement[0].Condition.Null",
     "condition operator 'Null' is not supported"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'stringequals': {'k': 'v'}}}"),
     INVAL, "$.p.Statement[0].Condition.stringequals",
     "condition operator 'stringequals' is not supported"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'ForAllValues:Bool': {'k': 'true'}}}"),
     INVAL, "$.p.Statement[0].Condition[\"ForAllValues:Bool\"]",
     "set qualifier 'ForAllValues:' is not supported with 'Bool'"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': 'v'}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals", "expected an object"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': {}}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals", "must not be empty"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': {'aws:username': []}}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals[\"aws:username\"]",
     "must not be empty"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': {'aws:username': ['a', {}]}}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals[\"aws:username\"][1]",
     "expected a string, a boolean or an integer"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': {'aws:username': '${aws:username}'}}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals[\"aws:username\"]",
     "policy variables"},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'Bool': {'aws:SecureTransport': 'yes'}}}"),
     INVAL, "$.p.Statement[0].Condition.Bool[\"aws:SecureTransport\"]",
     "Bool expects \"true\" or \"false\""},
    {ID,
     STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition':"
          " {'StringEquals': {'': 'v'}}}"),
     INVAL, "$.p.Statement[0].Condition.StringEquals[\"\"]",
     "empty condition key"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
        const struct error_case *c = &error_cases[i];
        struct kaeri_error err = {{0}, {0}};
        struct policy *p = (struct policy *)&err; /* must come back NULL */
        json_t *j = doc(c->doc);
        enum kaeri_err rc = policy_parse(j, "$.p", c->kind, &p, &err);

        if (rc != c->rc || strcmp(err.where, c->where) ||
            !strstr(err.text, c->text))
            fail_msg("case %zu (%s):\n got rc %d where '%s' text '%s'\n"
                     " want rc %d where '%s' text '%s'",
                     i, c->doc, rc, err.where, err.text, c->rc, c->where,
                     c->text);
        assert_null(p);
        json_decref(j);
        /* a NULL 'err' must be fine too */
        j = doc(c->doc);
        assert_int_equal(policy_parse(j, NULL, c->kind, &p, NULL), c->rc);
        json_decref(j);
    }
}

struct ok_case {
    enum policy_kind kind;
    const char *doc;
};

/* Documents that must parse, in the shapes AWS accepts. */
static const struct ok_case ok_cases[] = {
    {ID, "{'Statement': {'Effect': 'Deny', 'Action': '*', 'Resource': '*'}}"},
    {ID, "{'Version': '2008-10-17', 'Id': 'x', 'Statement': [{'Sid': 's',"
         " 'Effect': 'Allow', 'Action': ['a:b'], 'Resource': ['*']}]}"},
    {ID, "{'Version': '2008-10-17', 'Statement': {'Effect': 'Allow',"
         " 'Action': 's3:*', 'Resource': 'arn:aws:s3:::b/${x}'}}"},
    {TR, "{'Statement': {'Effect': 'Allow', 'Action': 'sts:AssumeRole',"
         " 'Principal': {'AWS': ['*', '" ACCT "', 'arn:aws:iam::" ACCT
         ":root', 'arn:aws:iam::" ACCT ":user/u', 'arn:aws:iam::" ACCT
         ":role/p/r', '" SESSION(
             "r") "'], 'Service': 'a.amazonaws.com',"
                  " 'Federated': ['cognito-identity.amazonaws.com']}}}"},
    {ID, STMT("{" ALLOW_S3 ", 'Resource': '*', 'Condition': {"
              "'StringLikeIfExists': {'k': ['a*', 'b?']},"
              "'ForAnyValue:StringNotLikeIfExists': {'k': 'x'},"
              "'ForAllValues:StringEqualsIgnoreCase': {'k': ['A', 1]},"
              "'Bool': {'k': false, 'l': 'TRUE'}}}")},
};

static void test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++)
        policy_free(parse_ok(ok_cases[i].doc, ok_cases[i].kind));
}

/* The ceilings give KAERI_ERR_LIMIT and name the spot. */
static void test_parse_limits(void **state)
{
    json_t *actions = json_array();
    json_t *j;
    struct kaeri_error err = {{0}, {0}};
    struct policy *p = NULL;
    char *big = repeat("a", POLICY_MAX_STRING + 1, "");

    (void)state;
    for (int i = 0; i <= POLICY_MAX_VALUES; i++)
        json_array_append_new(actions, json_string("s3:GetObject"));
    j = json_pack("{s:{s:s, s:o, s:s}}", "Statement", "Effect", "Allow",
                  "Action", actions, "Resource", "*");
    assert_non_null(j);
    assert_int_equal(policy_parse(j, "$.p", ID, &p, &err), KAERI_ERR_LIMIT);
    assert_string_equal(err.where, "$.p.Statement.Action");
    assert_null(p);
    json_decref(j);

    j = json_pack("{s:{s:s, s:s, s:s}}", "Statement", "Effect", "Allow",
                  "Action", "s3:GetObject", "Resource", big);
    assert_non_null(j);
    assert_int_equal(policy_parse(j, "$.p", ID, &p, &err), KAERI_ERR_LIMIT);
    assert_string_equal(err.where, "$.p.Statement.Resource");
    json_decref(j);
    free(big);

    /* an embedded NUL cannot sneak a shorter string past a check */
    j = json_pack("{s:{s:s, s:s#, s:s}}", "Statement", "Effect", "Allow",
                  "Action", "s3:Get\0x", (size_t)8, "Resource", "*");
    assert_non_null(j);
    assert_int_equal(policy_parse(j, "$.p", ID, &p, &err), KAERI_ERR_INVALID);
    assert_string_equal(err.where, "$.p.Statement.Action");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard_table),
        cmocka_unit_test(test_wildcard_pathological),
        cmocka_unit_test(test_wildcard_differential),
        cmocka_unit_test(test_arn_match),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_trust),
        cmocka_unit_test(test_evaluate_nulls),
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

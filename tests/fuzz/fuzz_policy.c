/*
 * fuzz_policy.c - libFuzzer target for policy.c. An input that parses as
 * JSON is given to policy_parse() as an identity and as a trust policy,
 * and whatever parses is evaluated against a fixed request (context keys
 * and a principal that the corpus documents name, so conditions and
 * principal matching run). Any other input is split at its first newline
 * into a pattern and a text for policy_wildcard_match(), checked against
 * a plain dynamic-programming matcher, and given to policy_arn_match().
 * Nothing may crash, leak, or disagree with the reference.
 */
#include "policy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX 64 /* the reference matcher's longest pattern and text */

/* The obvious O(n*m) table; only for short strings. */
static bool ref_match(const char *p, size_t pn, const char *t, size_t tn)
{
    static bool m[REF_MAX + 1][REF_MAX + 1];

    m[0][0] = true;
    for (size_t j = 1; j <= tn; j++)
        m[0][j] = false;
    for (size_t i = 1; i <= pn; i++) {
        m[i][0] = m[i - 1][0] && p[i - 1] == '*';
        for (size_t j = 1; j <= tn; j++) {
            if (p[i - 1] == '*')
                m[i][j] = m[i - 1][j] || m[i][j - 1];
            else
                m[i][j] = m[i - 1][j - 1] &&
                          (p[i - 1] == '?' || p[i - 1] == t[j - 1]);
        }
    }
    return m[pn][tn];
}

static void check_wildcards(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char *nl, *text;

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    nl = strchr(s, '\n');
    text = nl ? nl + 1 : s;
    if (nl)
        *nl = '\0';
    if (strlen(s) <= REF_MAX && strlen(text) <= REF_MAX &&
        policy_wildcard_match(s, text, false) !=
            ref_match(s, strlen(s), text, strlen(text)))
        abort(); /* the fast matcher disagrees with the reference */
    (void)policy_wildcard_match(s, text, true);
    (void)policy_arn_match(s, text);
    free(s);
}

static void check_policy(const json_t *doc, struct policy_context *ctx)
{
    static const struct policy_principal who = {
        "arn:aws:sts::123456789012:assumed-role/R/s1", NULL,
        "lambda.amazonaws.com", "cognito-identity.amazonaws.com"};
    static const enum policy_kind kinds[] = {POLICY_IDENTITY, POLICY_TRUST};

    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct policy *p = NULL;
        const struct policy *list[1];
        struct policy_request req = {
            "bedrock:InvokeModel",
            "arn:aws:bedrock:ap-northeast-1::foundation-model/m:0", ctx, &who};
        enum policy_decision d;

        if (policy_parse(doc, "$.fuzz", kinds[i], &p, &err)) {
            if (p || !err.where[0] || !err.text[0])
                abort(); /* a failure must say where and why, and own nothing */
            continue;
        }
        list[0] = p;
        d = policy_evaluate(list, 1, &req);
        if (d != POLICY_ALLOW && d != POLICY_IMPLICIT_DENY &&
            d != POLICY_EXPLICIT_DENY)
            abort();
        req.action = "sts:AssumeRoleWithWebIdentity";
        req.context = NULL;
        (void)policy_evaluate(list, 1, &req);
        policy_free(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    struct policy_context *ctx;

    if (!doc) {
        check_wildcards(data, size);
        return 0;
    }
    ctx = policy_context_new();
    policy_context_add(ctx, "aws:username", "alice");
    policy_context_add(ctx, "aws:SecureTransport", "true");
    policy_context_add(ctx, "cognito-identity.amazonaws.com:aud",
                       "ap-northeast-1:4a3e1c7d-6b5f-4e2a-9d8c-0f1e2d3c4b5a");
    policy_context_add(ctx, "cognito-identity.amazonaws.com:amr",
                       "authenticated");
    policy_context_add(ctx, "cognito-identity.amazonaws.com:amr",
                       "cognito-idp.ap-northeast-1.amazonaws.com/"
                       "ap-northeast-1_KaeriPool1");
    check_policy(doc, ctx);
    policy_context_free(ctx);
    json_decref(doc);
    return 0;
}

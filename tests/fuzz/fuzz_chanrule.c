/*
 * fuzz_chanrule.c - libFuzzer target for chanrule.c. An input that parses
 * as a JSON array or object is given to chanrule_rules_parse() for
 * onSubscribe and onPublish; whatever parses must serialise back to the
 * same JSON and is evaluated for a Cognito, an IAM and a null identity on
 * a few channels, with a fixed list of events for onPublish.
 * Any other input is split at its first newline into a subscription
 * pattern and a channel: each is parsed both ways, must re-parse from its
 * normalised path to the same thing, and their match is checked against
 * a plain string comparison of the normalised paths.
 * Nothing may crash, leak, or disagree with the reference.
 */
#include "chanrule.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_channel(const char *s, size_t n, struct chanrule_channel *sub,
                          bool *sub_ok, struct chanrule_channel *pub,
                          bool *pub_ok)
{
    struct kaeri_error err = {{0}, {0}};
    struct chanrule_channel again;

    *sub_ok = !chanrule_channel_parse(s, n, CHANRULE_SUBSCRIBE, sub, &err);
    if (!*sub_ok && (strcmp(err.text, CHANRULE_INVALID_CHANNEL) ||
                     strncmp(err.where, "column ", 7)))
        abort();
    *pub_ok = !chanrule_channel_parse(s, n, CHANRULE_PUBLISH, pub, NULL);
    if (*pub_ok && (!*sub_ok || strcmp(pub->path, sub->path) || pub->wildcard))
        abort(); /* what publishes also subscribes, the same way */
    if (!*sub_ok)
        return;
    if (sub->nseg < 1 || sub->nseg > CHANRULE_MAX_SEGMENTS ||
        sub->path[0] != '/' || strlen(sub->path) > CHANRULE_PATH_MAX)
        abort();
    if (chanrule_channel_parse(sub->path, strlen(sub->path), CHANRULE_SUBSCRIBE,
                               &again, NULL) ||
        memcmp(&again, sub, sizeof(again)))
        abort(); /* the normalised form is a fixed point */
    if (!sub->wildcard && !chanrule_channel_match(sub, sub))
        abort();
    if (!chanrule_name_valid(sub->seg[0]))
        abort();
}

/* The reference: compare normalised paths as strings. */
static bool ref_match(const struct chanrule_channel *sub,
                      const struct chanrule_channel *ch)
{
    size_t k;

    if (!sub->wildcard)
        return !strcmp(sub->path, ch->path);
    k = strlen(sub->path) - 1; /* keep the '/' before the '*' */
    return strlen(ch->path) > k && !strncmp(sub->path, ch->path, k);
}

static void check_pair(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t n1 = nl ? (size_t)(nl - s) : size;
    const char *t = nl ? nl + 1 : s;
    size_t n2 = nl ? size - n1 - 1 : size;
    struct chanrule_channel sub, sub_pub, ch_sub, ch;
    bool sub_ok, sub_pub_ok, ch_sub_ok, ch_ok;

    check_channel(s, n1, &sub, &sub_ok, &sub_pub, &sub_pub_ok);
    check_channel(t, n2, &ch_sub, &ch_sub_ok, &ch, &ch_ok);
    if (sub_ok && ch_ok &&
        chanrule_channel_match(&sub, &ch) != ref_match(&sub, &ch))
        abort();
}

static void check_rules(const json_t *doc)
{
    static const char *const channels[] = {"/bedrock-stream-response/u-1/s",
                                           "/ns/a", "/ns/a/*", "ns"};
    static const enum chanrule_op ops[] = {CHANRULE_SUBSCRIBE,
                                           CHANRULE_PUBLISH};
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:[s]}", "sub", "u-1",
                               "iss", "http://x/p", "cognito:username", "u",
                               "n", (json_int_t)3, "cognito:groups", "g");
    struct chanrule_iam iam_fields = {"123456789012", "arn:aws:iam::1:user/a",
                                      "AIDA",         NULL,
                                      NULL,           NULL,
                                      NULL,           NULL};
    json_t *who[3];
    json_t *events =
        json_pack("[{s:s, s:{s:s, s:I}}, {s:s, s:s}, {s:s, s:[i]}, {s:s}]",
                  "id", "a", "payload", "to", "u-1", "seq", (json_int_t)3, "id",
                  "b", "payload", "x", "id", "c", "payload", 1, "id", "d");

    who[0] = chanrule_identity_cognito(claims, "127.0.0.1");
    who[1] = chanrule_identity_iam(&iam_fields);
    who[2] = NULL;
    for (size_t o = 0; o < 2; o++) {
        struct kaeri_error err = {{0}, {0}};
        struct chanrule_rules *r = NULL;
        json_t *back;

        if (chanrule_rules_parse(doc, "$.r", ops[o], &r, &err)) {
            if (r || !err.where[0] || !err.text[0])
                abort();
            continue;
        }
        back = chanrule_rules_json(r);
        if (r && !json_equal(back, (json_t *)doc))
            abort();
        json_decref(back);
        for (size_t c = 0; c < 4; c++) {
            struct chanrule_channel ch;

            if (chanrule_channel_parse(channels[c], strlen(channels[c]), ops[o],
                                       &ch, NULL))
                continue;
            for (size_t w = 0; w < 3; w++) {
                struct chanrule_ctx ctx = {ops[o], &ch, who[w], events, NULL};
                struct chanrule_result res;
                json_t *js;

                if (chanrule_eval(r, &ctx, &res))
                    abort();
                if (res.verdict == CHANRULE_ALLOW &&
                    ops[o] == CHANRULE_PUBLISH &&
                    json_array_size(res.events) + json_array_size(res.failed) >
                        json_array_size(events))
                    abort();
                if ((res.verdict == CHANRULE_ERROR) != (res.message != NULL))
                    abort();
                chanrule_result_release(&res);
                js = chanrule_ctx_json(&ctx);
                json_decref(js);
            }
        }
        chanrule_rules_free(r);
    }
    for (size_t w = 0; w < 3; w++)
        json_decref(who[w]);
    json_decref(claims);
    json_decref(events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);

    if (!doc) {
        check_pair(data, size);
        return 0;
    }
    check_rules(doc);
    json_decref(doc);
    return 0;
}

/*
 * iam.c - IAM users and access keys from the config, and the first check
 * of SigV4-signed requests.
 *
 * Left out on purpose, until the SigV4 issue lands behind this interface:
 * the signature itself is not recomputed, and no policy is evaluated. The
 * header is parsed as AWS parses it and the access key must be known, so
 * clients and tests already sign every call; a log line at the first
 * signed request says that signatures are not verified yet.
 */
#include "iam.h"
#include "alloc.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies of the config's strings: iam outlives no JSON it was given. */
struct iam_user {
    char *name;
    char *arn;
};

static struct iam_user *users;
static size_t user_count;
static struct iam_access_key *keys;
static size_t key_count;
static const struct iam_access_key *admin_key;
static bool warned_unverified;

void iam_release(void)
{
    for (size_t i = 0; i < user_count; i++) {
        free(users[i].name);
        free(users[i].arn);
    }
    for (size_t i = 0; i < key_count; i++) {
        free((char *)keys[i].access_key_id);
        free((char *)keys[i].secret_access_key);
    }
    FREE_AND_NULL(users);
    FREE_AND_NULL(keys);
    user_count = key_count = 0;
    admin_key = NULL;
    warned_unverified = false;
}

static enum kaeri_err load_user(const json_t *u, const char *path,
                                const char *account, struct kaeri_error *err)
{
    static const char *const user_keys[] = {"name", "accessKeys", NULL};
    static const char *const key_keys[] = {"accessKeyId", "secretAccessKey",
                                           NULL};
    struct iam_user *user = &users[user_count];
    const json_t *list = NULL;
    const char *name = NULL, *id = NULL, *secret = NULL;
    enum kaeri_err rc;
    size_t i;
    json_t *k;

    if (!json_is_object(u))
        return kaeri_fail(err, KAERI_ERR_INVALID, path, "expected an object");
    if ((rc = cfg_keys(u, path, user_keys, err)) ||
        (rc = cfg_string(u, path, "name", true, &name, err)) ||
        (rc = cfg_array(u, path, "accessKeys", false, &list, err)))
        return rc;
    user->name = xstrdup(name);
    user->arn = xasprintf("arn:aws:iam::%s:user/%s", account, user->name);
    user_count++;
    json_array_foreach(list, i, k) {
        struct iam_access_key *key;
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
        if (strlen(id) < 16 || strlen(id) > 128)
            return kaeri_fail(err, KAERI_ERR_INVALID, kpath,
                              "accessKeyId must be 16 to 128 characters");
        keys = xrealloc(keys, (key_count + 1) * sizeof(*keys));
        key = &keys[key_count++];
        key->user = user->name;
        key->access_key_id = xstrdup(id);
        key->secret_access_key = xstrdup(secret);
    }
    return KAERI_OK;
}

enum kaeri_err iam_init(const json_t *section, const char *account,
                        struct kaeri_error *err)
{
    static const char *const iam_keys[] = {"adminUser", "users", NULL};
    const json_t *list = NULL;
    const char *admin_user = NULL;
    enum kaeri_err rc;
    size_t i;
    json_t *u;

    iam_release();
    if (!section)
        return KAERI_OK;
    if (!json_is_object(section))
        return kaeri_fail(err, KAERI_ERR_INVALID, "$.iam",
                          "expected an object");
    if ((rc = cfg_keys(section, "$.iam", iam_keys, err)) ||
        (rc = cfg_string(section, "$.iam", "adminUser", false, &admin_user,
                         err)) ||
        (rc = cfg_array(section, "$.iam", "users", false, &list, err)))
        goto out;
    users = xcalloc(json_array_size(list) + 1, sizeof(*users));
    json_array_foreach(list, i, u) {
        char path[64];

        snprintf(path, sizeof(path), "$.iam.users[%zu]", i);
        if ((rc = load_user(u, path, account, err)))
            goto out;
    }
    for (i = 0; admin_user && i < key_count; i++) {
        if (!strcmp(keys[i].user, admin_user)) {
            admin_key = &keys[i];
            break;
        }
    }
    if (admin_user && !admin_key) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, "$.iam.adminUser",
                        "no user '%s' with an access key", admin_user);
        goto out;
    }
    rc = KAERI_OK;
out:
    if (rc)
        iam_release();
    return rc;
}

const struct iam_access_key *iam_admin_key(void)
{
    return admin_key;
}

static const struct iam_access_key *find_key(const char *id, size_t len)
{
    for (size_t i = 0; i < key_count; i++)
        if (strlen(keys[i].access_key_id) == len &&
            !memcmp(keys[i].access_key_id, id, len))
            return &keys[i];
    return NULL;
}

static const char *user_arn(const char *name)
{
    for (size_t i = 0; i < user_count; i++)
        if (!strcmp(users[i].name, name))
            return users[i].arn;
    return "";
}

/* The value of "Name=" in a SigV4 Authorization header, up to ',' or end. */
static const char *auth_param(const char *header, const char *name,
                              size_t *len)
{
    size_t n = strlen(name);
    const char *p = header;

    while ((p = strstr(p, name))) {
        if ((p == header || p[-1] == ' ' || p[-1] == ',') && p[n] == '=') {
            p += n + 1;
            *len = strcspn(p, ", ");
            return p;
        }
        p += n;
    }
    return NULL;
}

enum kaeri_err iam_authenticate_json(struct http_req *req,
                                     const char *signing_service,
                                     struct iam_principal *out)
{
    static const char algorithm[] = "AWS4-HMAC-SHA256 ";
    const char *auth = http_req_header(req, "authorization");
    const char *cred, *signed_headers, *signature, *parts[5];
    size_t cred_len, sh_len, sig_len, part_len[5], n = 0;
    const struct iam_access_key *key;

    memset(out, 0, sizeof(*out));
    if (!auth || !*auth) {
        http_reply_aws_json_error(req, 400,
                                  "MissingAuthenticationTokenException",
                                  "Missing Authentication Token");
        return KAERI_ERR_AUTH;
    }
    cred = auth_param(auth, "Credential", &cred_len);
    signed_headers = auth_param(auth, "SignedHeaders", &sh_len);
    signature = auth_param(auth, "Signature", &sig_len);
    if (strncmp(auth, algorithm, sizeof(algorithm) - 1) || !cred ||
        !signed_headers || !signature || !sig_len) {
        http_reply_aws_json_error(
            req, 400, "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' "
            "and 'Signature' parameters. Authorization=%s",
            auth);
        return KAERI_ERR_AUTH;
    }
    /* spec/sigv4.md section 9 step 2: AKID/date/region/service/aws4_request */
    {
        const char *p = cred, *end = cred + cred_len;

        while (n < 5) {
            const char *slash = memchr(p, '/', (size_t)(end - p));

            parts[n] = p;
            part_len[n++] = (size_t)((slash ? slash : end) - p);
            if (!slash)
                break;
            p = slash + 1;
        }
        if (n == 5 && parts[4] + part_len[4] != end)
            n = 6; /* more parts than a scope has */
    }
    if (n != 5 || part_len[4] != 12 || memcmp(parts[4], "aws4_request", 12)) {
        http_reply_aws_json_error(req, 400, "IncompleteSignatureException",
                                  "Credential should be scoped with a valid "
                                  "terminator: 'aws4_request'.");
        return KAERI_ERR_AUTH;
    }
    if (part_len[3] != strlen(signing_service) ||
        memcmp(parts[3], signing_service, part_len[3])) {
        http_reply_aws_json_error(req, 400, "InvalidSignatureException",
                                  "Credential should be scoped to correct "
                                  "service: '%s'.",
                                  signing_service);
        return KAERI_ERR_AUTH;
    }
    key = find_key(parts[0], part_len[0]);
    if (!key) {
        http_reply_aws_json_error(req, 400, "UnrecognizedClientException",
                                  "The security token included in the "
                                  "request is invalid.");
        return KAERI_ERR_AUTH;
    }
    if (!warned_unverified) {
        warned_unverified = true;
        log_msg(LOG_WARN, req->request_id,
                "sigv4: access keys are checked, signatures are not verified "
                "yet");
    }
    snprintf(out->arn, sizeof(out->arn), "%s", user_arn(key->user));
    snprintf(out->access_key_id, sizeof(out->access_key_id), "%s",
             key->access_key_id);
    snprintf(out->region, sizeof(out->region), "%.*s", (int)part_len[2],
             parts[2]);
    return KAERI_OK;
}

/*
 * svc_sts.c - STS on kaeri's one router: a form-encoded POST (or GET with
 * a query) whose Action is an STS action. Answers are XML, errors the
 * query protocol's <ErrorResponse>.
 *
 * Left out on purpose: session policies (Policy, PolicyArns), tags,
 * ExternalId and MFA; a request that sets them is refused rather than
 * half-honoured, so a test cannot pass here and fail on AWS.
 */
#include "svc_sts.h"
#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "form.h"
#include "iam.h"
#include "jwt.h"
#include "log.h"
#include "svc_cognito.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define STS_XMLNS         "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_MIN_DURATION  900
#define STS_MAX_DURATION  43200
#define STS_DEFAULT_DURATION 3600

static struct {
    char *region;
    char *account;
} sts;

struct sts_call {
    struct http_req *req;
    struct form form;
    const char *action;
};

typedef void sts_action_fn(struct sts_call *c);

static void reply_xml(struct http_req *req, const char *action,
                      const struct buf *result)
{
    struct buf xml;

    buf_init(&xml, BUF_UNLIMITED);
    (void)buf_printf(&xml,
                     "<%sResponse xmlns=\"" STS_XMLNS "\"><%sResult>",
                     action, action);
    (void)buf_add(&xml, result->data, result->len);
    (void)buf_printf(&xml,
                     "</%sResult><ResponseMetadata><RequestId>%s</RequestId>"
                     "</ResponseMetadata></%sResponse>",
                     action, req->request_id, action);
    http_reply(req, 200, "text/xml", xml.data, xml.len);
    buf_release(&xml);
}

static void add_element(struct buf *b, const char *name, const char *value)
{
    (void)buf_printf(b, "<%s>", name);
    http_xml_escape(b, value);
    (void)buf_printf(b, "</%s>", name);
}

static void format_iso8601(int64_t epoch, char out[32])
{
    time_t t = (time_t)epoch;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_credentials(struct buf *b, const struct iam_session *s)
{
    char expiration[32];

    format_iso8601(s->expiration, expiration);
    (void)buf_adds(b, "<Credentials>");
    add_element(b, "AccessKeyId", s->access_key_id);
    add_element(b, "SecretAccessKey", s->secret_access_key);
    add_element(b, "SessionToken", s->session_token);
    add_element(b, "Expiration", expiration);
    (void)buf_adds(b, "</Credentials><AssumedRoleUser>");
    add_element(b, "AssumedRoleId", s->assumed_role_id);
    add_element(b, "Arn", s->arn);
    (void)buf_adds(b, "</AssumedRoleUser>");
}

static void validation_error(struct http_req *req, const char *fmt, ...)
    KAERI_PRINTF(2, 3);

/* AWS's "1 validation error detected: ..." in the query protocol. */
static void validation_error(struct http_req *req, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    http_reply_aws_query_error(req, 400, "ValidationError", "%s", message);
}

/* RoleSessionName: 2-64 characters of [\w+=,.@-] (the STS model). */
static bool valid_session_name(const char *s)
{
    size_t n = strlen(s);

    if (n < 2 || n > 64)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr("_+=,.@-", ch)))
            return false;
    }
    return true;
}

/*
 * The parameters every Assume* call shares: RoleArn, RoleSessionName,
 * DurationSeconds, and no session policy. Answers and returns false when
 * one is wrong.
 */
static bool read_assume_params(struct sts_call *c, const char **role_arn,
                               const char **session, int64_t *duration)
{
    static const char *const unsupported[] = {
        "Policy", "PolicyArns.member.1.arn", "Tags.member.1.Key",
        "ExternalId", "SerialNumber", "TokenCode",
    };
    const char *d = form_get(&c->form, "DurationSeconds");
    char *end;
    long long n;

    *role_arn = form_get(&c->form, "RoleArn");
    *session = form_get(&c->form, "RoleSessionName");
    if (!*role_arn || !**role_arn) {
        validation_error(c->req,
                         "1 validation error detected: Value null at "
                         "'roleArn' failed to satisfy constraint: Member must "
                         "not be null");
        return false;
    }
    if (!*session) {
        validation_error(c->req,
                         "1 validation error detected: Value null at "
                         "'roleSessionName' failed to satisfy constraint: "
                         "Member must not be null");
        return false;
    }
    if (!valid_session_name(*session)) {
        validation_error(c->req,
                         "1 validation error detected: Value '%s' at "
                         "'roleSessionName' failed to satisfy constraint: "
                         "Member must satisfy regular expression pattern: "
                         "[\\w+=,.@-]*",
                         *session);
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
        if (form_get(&c->form, unsupported[i])) {
            http_reply_aws_query_error(
                c->req, 400, "ValidationError",
                "kaeri does not emulate the STS parameter '%s' yet",
                unsupported[i]);
            return false;
        }
    }
    *duration = STS_DEFAULT_DURATION;
    if (d) {
        n = strtoll(d, &end, 10);
        if (!*d || *end || n < STS_MIN_DURATION || n > STS_MAX_DURATION) {
            validation_error(c->req,
                             "1 validation error detected: Value '%s' at "
                             "'durationSeconds' failed to satisfy "
                             "constraint: Member must have value greater "
                             "than or equal to 900",
                             d);
            return false;
        }
        *duration = n;
    }
    return true;
}

static bool duration_within_role(struct sts_call *c,
                                 const struct iam_entity *role,
                                 int64_t duration)
{
    if (duration <= iam_role_max_session(role))
        return true;
    http_reply_aws_query_error(c->req, 400, "ValidationError",
                               "The requested DurationSeconds exceeds the "
                               "MaxSessionDuration set for this role.");
    return false;
}

static void assume_role(struct sts_call *c)
{
    const char *role_arn, *session;
    const struct iam_entity *role;
    struct iam_principal who;
    struct iam_session creds;
    int64_t duration;
    struct buf result;

    if (iam_authenticate(c->req, "sts", IAM_PROTO_QUERY, &who) ||
        !read_assume_params(c, &role_arn, &session, &duration))
        return;
    role = iam_role_find(role_arn);
    /*
     * AWS answers an unknown role exactly like an untrusted one, so the
     * caller learns nothing about which roles exist.
     */
    if (!role || !iam_allowed(&who, "sts:AssumeRole", role_arn) ||
        !iam_role_trusts(role, &(struct iam_trust_request){
                                   .action = "sts:AssumeRole",
                                   .aws_arn = who.arn,
                                   .account = who.account,
                               })) {
        http_reply_aws_query_error(c->req, 403, "AccessDenied",
                                   "User: %s is not authorized to perform: "
                                   "sts:AssumeRole on resource: %s",
                                   who.arn, role_arn);
        return;
    }
    if (!duration_within_role(c, role, duration))
        return;
    iam_assume(role, session, duration, &creds);
    log_msg(LOG_INFO, c->req->request_id, "sts: %s assumed %s", who.arn,
            creds.arn);
    buf_init(&result, BUF_UNLIMITED);
    add_credentials(&result, &creds);
    (void)buf_adds(&result, "<PackedPolicySize>0</PackedPolicySize>");
    reply_xml(c->req, "AssumeRole", &result);
    buf_release(&result);
}

/* "https://host/poolId" or "http://..." -> "host/poolId" without the scheme. */
static const char *without_scheme(const char *iss)
{
    const char *p = strstr(iss, "://");

    return p ? p + 3 : iss;
}

static void assume_role_with_web_identity(struct sts_call *c)
{
    const char *role_arn, *session, *token, *iss, *sub, *aud, *pool_id;
    const struct iam_entity *role;
    struct kaeri_error err = {0};
    struct iam_session creds;
    struct jwt jwt = {0};
    char provider[256], federated[320], aud_key[300], sub_key[300];
    int64_t duration;
    struct buf result;
    enum kaeri_err rc;

    if (!read_assume_params(c, &role_arn, &session, &duration))
        return;
    token = form_get(&c->form, "WebIdentityToken");
    if (!token || strlen(token) < 4) {
        validation_error(c->req,
                         "1 validation error detected: Value null at "
                         "'webIdentityToken' failed to satisfy constraint: "
                         "Member must not be null");
        return;
    }
    rc = cognito_verify_token(token, NULL, NULL, &jwt, &err);
    if (rc == KAERI_ERR_EXPIRED) {
        http_reply_aws_query_error(c->req, 400, "ExpiredTokenException",
                                   "Token expired: current date/time must be "
                                   "before the expiration date/time.");
        goto out;
    }
    if (rc) {
        http_reply_aws_query_error(c->req, 400, "InvalidIdentityToken",
                                   "Couldn't verify signed token.");
        goto out;
    }
    iss = json_string_value(json_object_get(jwt.claims, "iss"));
    sub = json_string_value(json_object_get(jwt.claims, "sub"));
    aud = json_string_value(json_object_get(jwt.claims, "aud"));
    if (!aud)
        aud = json_string_value(json_object_get(jwt.claims, "client_id"));
    pool_id = iss ? strrchr(iss, '/') : NULL;
    if (!sub || !aud || !pool_id) {
        http_reply_aws_query_error(c->req, 400, "InvalidIdentityToken",
                                   "Couldn't verify signed token.");
        goto out;
    }
    /*
     * The IAM OIDC provider a trust policy names for a Cognito user pool
     * is AWS's issuer form, whatever issuer kaeri's pool uses, so the
     * same trust policy works on any port (CONTRACT.md).
     */
    snprintf(provider, sizeof(provider), "cognito-idp.%s.amazonaws.com%s",
             sts.region, pool_id);
    snprintf(federated, sizeof(federated), "arn:aws:iam::%s:oidc-provider/%s",
             sts.account, provider);
    snprintf(aud_key, sizeof(aud_key), "%s:aud", provider);
    snprintf(sub_key, sizeof(sub_key), "%s:sub", provider);
    role = iam_role_find(role_arn);
    if (!role ||
        !iam_role_trusts(role,
                         &(struct iam_trust_request){
                             .action = "sts:AssumeRoleWithWebIdentity",
                             .federated = federated,
                             .context = (const char *const[]){aud_key, aud,
                                                              sub_key, sub,
                                                              NULL},
                         })) {
        http_reply_aws_query_error(c->req, 403, "AccessDenied",
                                   "Not authorized to perform "
                                   "sts:AssumeRoleWithWebIdentity");
        goto out;
    }
    if (!duration_within_role(c, role, duration))
        goto out;
    iam_assume(role, session, duration, &creds);
    log_msg(LOG_INFO, c->req->request_id, "sts: web identity %s assumed %s",
            sub, creds.arn);
    buf_init(&result, BUF_UNLIMITED);
    add_credentials(&result, &creds);
    add_element(&result, "SubjectFromWebIdentityToken", sub);
    add_element(&result, "Audience", aud);
    add_element(&result, "Provider", without_scheme(iss));
    (void)buf_adds(&result, "<PackedPolicySize>0</PackedPolicySize>");
    reply_xml(c->req, "AssumeRoleWithWebIdentity", &result);
    buf_release(&result);
out:
    jwt_release(&jwt);
}

static void get_caller_identity(struct sts_call *c)
{
    struct iam_principal who;
    struct buf result;

    if (iam_authenticate(c->req, "sts", IAM_PROTO_QUERY, &who))
        return;
    buf_init(&result, BUF_UNLIMITED);
    add_element(&result, "UserId", who.user_id);
    add_element(&result, "Account", who.account);
    add_element(&result, "Arn", who.arn);
    reply_xml(c->req, "GetCallerIdentity", &result);
    buf_release(&result);
}

static const struct {
    const char *name;
    sts_action_fn *fn;
} actions[] = {
    {"AssumeRole", assume_role},
    {"AssumeRoleWithWebIdentity", assume_role_with_web_identity},
    {"GetCallerIdentity", get_caller_identity},
};

/* The parameters: the body for a POST, the query for a GET. */
static enum kaeri_err read_form(struct http_req *req, struct form *out)
{
    if (!strcmp(req->method, "GET"))
        return form_parse(req->query, strlen(req->query), out, NULL);
    return form_parse(req->body.data, req->body.len, out, NULL);
}

static void handle_sts(struct http_req *req)
{
    struct sts_call c = {.req = req};
    const char *version;

    if (read_form(req, &c.form)) {
        http_reply_aws_query_error(req, 400, "MalformedQueryString",
                                   "The request's parameters are not "
                                   "valid form encoding.");
        return;
    }
    c.action = form_get(&c.form, "Action");
    version = form_get(&c.form, "Version");
    snprintf(req->operation, sizeof(req->operation), "%s",
             c.action ? c.action : "-");
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
        if (c.action && !strcmp(actions[i].name, c.action)) {
            if (!version || strcmp(version, "2011-06-15")) {
                http_reply_aws_query_error(
                    req, 400, "InvalidAction",
                    "Could not find operation %s for version %s", c.action,
                    version ? version : "NO_VERSION_SPECIFIED");
                break;
            }
            actions[i].fn(&c);
            break;
        }
        if (i + 1 == ARRAY_SIZE(actions))
            http_reply_aws_query_error(
                req, 400, "InvalidAction",
                "Could not find operation %s for version %s",
                c.action ? c.action : "", version ? version : "2011-06-15");
    }
    form_release(&c.form);
}

/*
 * A query-protocol call: a form-encoded POST (or a GET) to "/" with an
 * Action parameter. STS is kaeri's only query-protocol service, so every
 * such call is STS's, and an unknown Action gets its InvalidAction.
 */
static bool is_sts_request(const struct http_req *req)
{
    const char *ct = http_req_header(req, "content-type");
    const char *params = NULL, *hit;

    if (!req->path || strcmp(req->path, "/"))
        return false;
    if (!strcmp(req->method, "POST") && ct &&
        !strncasecmp(ct, "application/x-www-form-urlencoded", 33))
        params = req->body.data;
    else if (!strcmp(req->method, "GET"))
        params = req->query;
    for (hit = params; hit && (hit = strstr(hit, "Action=")); hit++)
        if (hit == params || hit[-1] == '&')
            return true;
    return false;
}

static const struct route sts_routes[] = {
    {.match = is_sts_request, .handle = handle_sts},
    {0},
};

static enum kaeri_err sts_init(const json_t *section,
                               const struct kaeri_env *env,
                               struct kaeri_error *err)
{
    (void)section;
    (void)err;
    sts.region = xstrdup(env->region);
    sts.account = xstrdup(env->account);
    return KAERI_OK;
}

static void sts_release(void)
{
    FREE_AND_NULL(sts.region);
    FREE_AND_NULL(sts.account);
}

const struct service svc_sts = {
    .name = "sts",
    .init = sts_init,
    .release = sts_release,
    .routes = sts_routes,
};

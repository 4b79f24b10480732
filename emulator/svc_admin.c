/*
 * svc_admin.c - kaeri's own routes: GET /_kaeri/health, GET
 * /_kaeri/endpoints (what a test or tool needs to find every service), and
 * the controllable clock, GET and POST /_kaeri/clock (CONTRACT.md, "Tests
 * change faults and time at run time").
 *
 * Admin routes answer loopback peers only unless $.admin.allowRemote.
 */
#include "svc_admin.h"
#include "alloc.h"
#include "clock.h"
#include "fault.h"
#include "iam.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct admin_state {
    char *region;
    char *account;
    char *http_url;
    char *events_url;   /* "https://HOST:EPORT/event" */
    char *realtime_url; /* "wss://HOST:EPORT/event/realtime" */
    char *ca_file;
    bool allow_remote;
    uint64_t seed;                /* --seed, for sets that name none */
    struct fault_set *faults;     /* in force */
    struct fault_set **retired;   /* replaced sets, freed at exit */
    size_t retired_count;
    uint64_t generation;
};

static struct admin_state admin;

bool admin_allowed(struct http_req *req)
{
    if (req->peer_loopback || admin.allow_remote)
        return true;
    http_reply_aws_rest_error(req, 403, "AccessDeniedException",
                              "kaeri admin calls answer on loopback only "
                              "($.admin.allowRemote)");
    return false;
}

static void reply_json(struct http_req *req, json_t *body)
{
    http_reply_json(req, 200, "application/json", body);
}

static void handle_health(struct http_req *req)
{
    snprintf(req->operation, sizeof(req->operation), "Health");
    reply_json(req, json_pack("{s:s}", "status", "ok"));
}

static void handle_endpoints(struct http_req *req)
{
    json_t *body;

    snprintf(req->operation, sizeof(req->operation), "Endpoints");
    if (!admin_allowed(req))
        return;
    body = json_pack("{s:s, s:s, s:s}", "region", admin.region, "account",
                     admin.account, "http", admin.http_url);
    if (admin.events_url) {
        json_object_set_new(body, "events", json_string(admin.events_url));
        json_object_set_new(body, "realtime",
                            json_string(admin.realtime_url));
    }
    if (admin.ca_file)
        json_object_set_new(body, "ca", json_string(admin.ca_file));
    services_describe(body);
    iam_describe(body);
    reply_json(req, body);
}

/* RFC 3339 in UTC with milliseconds: "2026-11-22T04:51:04.123Z". */
static void format_rfc3339(int64_t epoch_us, char *out, size_t n)
{
    time_t s = (time_t)(epoch_us / 1000000);
    struct tm tm;
    char date[32];

    gmtime_r(&s, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", date, (int)((epoch_us / 1000) % 1000));
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)". Returns false on
 * anything else; the clock is a test tool, strict beats surprising.
 */
static bool parse_rfc3339(const char *s, int64_t *epoch_us)
{
    struct tm tm = {0};
    int frac_us = 0, digits = 0, consumed = 0, off_h = 0, off_m = 0;
    const char *p;
    char sign;
    time_t t;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
               &consumed) != 6 ||
        consumed != 19)
        return false;
    p = s + consumed;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 6)
                frac_us = frac_us * 10 + (*p - '0');
        if (!digits)
            return false;
        for (; digits < 6; digits++)
            frac_us *= 10;
    }
    sign = *p;
    if (sign == 'Z' || sign == 'z') {
        p++;
    } else if (sign == '+' || sign == '-') {
        if (sscanf(p + 1, "%2d:%2d%n", &off_h, &off_m, &consumed) != 2 ||
            consumed != 5)
            return false;
        p += 6;
    } else {
        return false;
    }
    if (*p || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    if (sign == '+')
        t -= off_h * 3600 + off_m * 60;
    else if (sign == '-')
        t += off_h * 3600 + off_m * 60;
    *epoch_us = (int64_t)t * 1000000 + frac_us;
    return true;
}

static void reply_clock(struct http_req *req)
{
    char now[40];

    format_rfc3339(clock_now_us(), now, sizeof(now));
    reply_json(req, json_pack("{s:s, s:I}", "now", now, "offsetSeconds",
                              (json_int_t)clock_offset_s()));
}

static void handle_clock(struct http_req *req)
{
    json_error_t jerr;
    json_t *body, *advance, *set;
    int64_t epoch_us = 0;

    snprintf(req->operation, sizeof(req->operation), "Clock");
    if (!admin_allowed(req))
        return;
    if (!strcmp(req->method, "GET")) {
        reply_clock(req);
        return;
    }
    if (strcmp(req->method, "POST")) {
        http_reply_aws_rest_error(req, 405, "MethodNotAllowedException",
                                  "use GET or POST");
        return;
    }
    body = json_loadb(req->body.data, req->body.len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        http_reply_aws_rest_error(req, 400, "ValidationException",
                                  "expected {\"advanceSeconds\": N} or "
                                  "{\"set\": \"<RFC 3339>\"}");
        return;
    }
    advance = json_object_get(body, "advanceSeconds");
    set = json_object_get(body, "set");
    if ((advance && set) || (!advance && !set) ||
        (advance && !json_is_integer(advance)) ||
        (set && (!json_is_string(set) ||
                 !parse_rfc3339(json_string_value(set), &epoch_us)))) {
        json_decref(body);
        http_reply_aws_rest_error(req, 400, "ValidationException",
                                  "expected {\"advanceSeconds\": N} or "
                                  "{\"set\": \"<RFC 3339>\"}");
        return;
    }
    if (advance)
        clock_advance(json_integer_value(advance));
    else
        clock_set(epoch_us);
    json_decref(body);
    log_msg(LOG_INFO, req->request_id, "clock: now offset by %lld s",
            (long long)clock_offset_s());
    reply_clock(req);
}

const struct fault_set *faults_active(uint64_t *generation)
{
    if (generation)
        *generation = admin.generation;
    return admin.faults;
}

static void install_faults(struct fault_set *fs)
{
    if (admin.faults) {
        admin.retired = xrealloc(admin.retired, (admin.retired_count + 1) *
                                                    sizeof(*admin.retired));
        admin.retired[admin.retired_count++] = admin.faults;
    }
    admin.faults = fs;
    admin.generation++;
}

/* GET, PUT and DELETE /_kaeri/faults (CONTRACT.md, "Tests change faults"). */
static void handle_faults(struct http_req *req)
{
    struct kaeri_error err = {0};
    struct fault_set *fs = NULL;
    json_error_t jerr;
    json_t *body;
    char *text;

    snprintf(req->operation, sizeof(req->operation), "Faults");
    if (!admin_allowed(req))
        return;
    if (!strcmp(req->method, "PUT")) {
        body = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES,
                          &jerr);
        if (!body || fault_set_parse(body, "$", admin.seed, &fs, &err)) {
            json_decref(body);
            http_reply_aws_rest_error(req, 400, "ValidationException", "%s%s%s",
                                      body ? err.where : jerr.text,
                                      body ? ": " : "", body ? err.text : "");
            return;
        }
        json_decref(body);
        install_faults(fs);
    } else if (!strcmp(req->method, "DELETE")) {
        if (fault_set_parse(NULL, "$", admin.seed, &fs, &err)) {
            http_reply_aws_rest_error(req, 500, "InternalFailure", "%s",
                                      err.text);
            return;
        }
        install_faults(fs);
    } else if (strcmp(req->method, "GET")) {
        http_reply_aws_rest_error(req, 405, "MethodNotAllowedException",
                                  "use GET, PUT or DELETE");
        return;
    }
    body = fault_set_json(admin.faults);
    text = json_dumps(body, JSON_COMPACT);
    if (strcmp(req->method, "GET"))
        log_msg(LOG_INFO, req->request_id, "faults: now %s", text);
    free(text);
    reply_json(req, body);
}

static void handle_unknown_admin(struct http_req *req)
{
    if (!admin_allowed(req))
        return;
    http_reply_aws_rest_error(req, 404, "NotFoundException",
                              "no kaeri admin route '%s %s'", req->method,
                              req->path);
}

static const struct route admin_routes[] = {
    {.method = "GET", .path_prefix = "/_kaeri/health", .handle = handle_health},
    {.method = "GET",
     .path_prefix = "/_kaeri/endpoints",
     .handle = handle_endpoints},
    {.path_prefix = "/_kaeri/clock", .handle = handle_clock},
    {.path_prefix = "/_kaeri/faults", .handle = handle_faults},
    {0},
};

/* Registered last in the table so services' /_kaeri/ routes win. */
static const struct route admin_fallback_routes[] = {
    {.path_prefix = "/_kaeri/", .handle = handle_unknown_admin},
    {0},
};

static enum kaeri_err admin_init(const json_t *section,
                                 const struct kaeri_env *env,
                                 struct kaeri_error *err)
{
    admin.seed = env->seed;
    if (fault_set_parse(section, "$.faults", env->seed, &admin.faults, err))
        return KAERI_ERR_INVALID;
    admin.region = xstrdup(env->region);
    admin.account = xstrdup(env->account);
    admin.http_url = xstrdup(env->http_url);
    if (env->events_url) {
        admin.events_url = xasprintf("%s/event", env->events_url);
        admin.realtime_url = xasprintf(
            "wss://%s/event/realtime", strstr(env->events_url, "://") + 3);
    }
    admin.ca_file = env->ca_file ? xstrdup(env->ca_file) : NULL;
    admin.allow_remote = env->admin_allow_remote;
    return KAERI_OK;
}

static void admin_release(void)
{
    free(admin.region);
    free(admin.account);
    free(admin.http_url);
    free(admin.events_url);
    free(admin.realtime_url);
    free(admin.ca_file);
    fault_set_free(admin.faults);
    for (size_t i = 0; i < admin.retired_count; i++)
        fault_set_free(admin.retired[i]);
    free(admin.retired);
    memset(&admin, 0, sizeof(admin));
}

const struct service svc_admin = {
    .name = "kaeri",
    .config_key = "faults",
    .init = admin_init,
    .release = admin_release,
    .routes = admin_routes,
};

const struct service svc_admin_fallback = {
    .name = "kaeri",
    .routes = admin_fallback_routes,
};

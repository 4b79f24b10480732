/*
 * wire.c - blocking libcurl calls for the wire tests (see wire.h).
 *
 * Each call makes its own easy handle, so tests share no connection state;
 * it collects the final response's headers (a new status line, after a
 * 100 Continue, starts the list again) and the body, capped at
 * WIRE_BODY_MAX. Streaming consumption, WebSockets and retries are left out
 * on purpose: a test that needs them drives its own client.
 */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Collected while the transfer runs. */
struct collect {
    struct wire_resp *resp;
    size_t cap;   /* bytes allocated for resp->body */
    int overflow; /* the body passed WIRE_BODY_MAX */
    int oom;
};

int wire_global_init(void **state)
{
    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "wire: curl_global_init failed\n");
        return -1;
    }
    return 0;
}

int wire_global_cleanup(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct collect *col = arg;
    struct wire_resp *r = col->resp;
    size_t n = size * nmemb;

    if (n > WIRE_BODY_MAX - r->len) {
        col->overflow = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > col->cap) {
        size_t cap = col->cap < 4096 ? 4096 : col->cap;
        char *p;

        while (cap < r->len + n + 1)
            cap *= 2;
        p = realloc(r->body, cap);
        if (!p) {
            col->oom = 1;
            return 0;
        }
        r->body = p;
        col->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* One header line; the status line of each response empties the list. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct collect *col = arg;
    struct wire_resp *r = col->resp;
    size_t n = size * nmemb, len = n;
    struct curl_slist *list;
    char *line;

    while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
        curl_slist_free_all(r->headers);
        r->headers = NULL;
        return n;
    }
    if (!len)
        return n;
    line = malloc(len + 1);
    if (!line) {
        col->oom = 1;
        return 0;
    }
    memcpy(line, data, len);
    line[len] = '\0';
    list = curl_slist_append(r->headers, line);
    free(line);
    if (!list) {
        col->oom = 1;
        return 0;
    }
    r->headers = list;
    return n;
}

/* Set the method and body: curl's POSTFIELDS carry a body for any method. */
static CURLcode set_method(CURL *h, const char *method, const void *body,
                           size_t len)
{
    CURLcode rc = CURLE_OK;

    if (body) {
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (!rc)
            rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        if (!rc && strcmp(method, "POST"))
            rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        return rc;
    }
    if (!strcmp(method, "GET"))
        return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (!strcmp(method, "HEAD"))
        return curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (!strcmp(method, "POST")) {
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        if (!rc)
            rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        return rc;
    }
    return curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

/*
 * The header list for curl: the caller's lines, plus "Expect:" so a large
 * body goes at once instead of after a 100 Continue round trip. Not when
 * signing: curl 7.88 drops the empty header from the request but still
 * lists "expect" in SignedHeaders, so the signature could not verify.
 */
static struct curl_slist *build_headers(const char *const *headers, int signing)
{
    struct curl_slist *list = NULL, *next;
    int has_expect = 0;
    size_t i;

    for (i = 0; headers && headers[i]; i++) {
        if (!strncasecmp(headers[i], "Expect:", 7))
            has_expect = 1;
        next = curl_slist_append(list, headers[i]);
        if (!next)
            goto fail;
        list = next;
    }
    if (!has_expect && !signing) {
        next = curl_slist_append(list, "Expect:");
        if (!next)
            goto fail;
        list = next;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

int wire_send(const struct wire_req *req, struct wire_resp *out)
{
    const char *method = req->method ? req->method : "GET";
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    struct collect col = {out, 0, 0, 0};
    CURL *h = NULL;
    CURLcode rc = CURLE_FAILED_INIT;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    out->body = calloc(1, 1);
    if (!out->body || !req->url)
        goto out;
    col.cap = 1;
    if (req->sigv4 && !req->userpwd) {
        fprintf(stderr, "wire: %s %s: sigv4 without keys\n", method, req->url);
        goto out;
    }
    h = curl_easy_init();
    headers = build_headers(req->headers, req->sigv4 != NULL);
    if (!h || !headers)
        goto out;
#define SET(opt, val)                       \
    do {                                    \
        rc = curl_easy_setopt(h, opt, val); \
        if (rc)                             \
            goto out;                       \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS,
        req->timeout_ms ? req->timeout_ms : WIRE_TIMEOUT_MS);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &col);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, &col);
    if (req->ca)
        SET(CURLOPT_CAINFO, req->ca);
    if (req->h2c)
        SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    if (req->sigv4) {
        SET(CURLOPT_AWS_SIGV4, req->sigv4);
        SET(CURLOPT_USERPWD, req->userpwd);
    }
#undef SET
    rc = set_method(h, method, req->body, req->len);
    if (rc)
        goto out;
    rc = curl_easy_perform(h);
    if (rc)
        goto out;
    rc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (rc)
        goto out;
    ret = 0;
out:
    if (ret) {
        if (col.overflow)
            fprintf(stderr, "wire: %s %s: body over %u bytes\n", method,
                    req->url ? req->url : "(null)", WIRE_BODY_MAX);
        else
            fprintf(stderr, "wire: %s %s: %s\n", method,
                    req->url ? req->url : "(null)",
                    col.oom     ? "out of memory"
                    : errbuf[0] ? errbuf
                                : curl_easy_strerror(rc));
        out->status = 0;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return ret;
}

int wire_request(const char *method, const char *url,
                 const char *const headers[], const void *body, size_t len,
                 const char *sigv4, const char *userpwd, struct wire_resp *out)
{
    struct wire_req req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = body,
        .len = len,
        .sigv4 = sigv4,
        .userpwd = userpwd,
    };

    return wire_send(&req, out);
}

/* 'base' with the path "/" added when it has none; the caller frees it. */
static char *url_with_path(const char *base)
{
    const char *auth = strstr(base, "://");
    size_t len = strlen(base);
    char *url = malloc(len + 2);

    if (!url)
        return NULL;
    memcpy(url, base, len + 1);
    auth = auth ? auth + 3 : base;
    if (!strchr(auth, '/')) {
        url[len] = '/';
        url[len + 1] = '\0';
    }
    return url;
}

int wire_json_call(const char *base_url, const char *target,
                   const char *json_body, const char *sigv4_keys,
                   const char *region_service, struct wire_resp *out,
                   json_t **json_out)
{
    char target_hdr[256];
    const char *headers[] = {"Content-Type: application/x-amz-json-1.1",
                             target_hdr, NULL};
    struct wire_req req = {0};
    char *url = url_with_path(base_url);
    int rc = -1;

    if (json_out)
        *json_out = NULL;
    if (!url) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    snprintf(target_hdr, sizeof(target_hdr), "X-Amz-Target: %s", target);
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = json_body ? json_body : "{}";
    req.len = strlen(req.body);
    if (sigv4_keys) {
        req.sigv4 = region_service ? region_service : WIRE_COGNITO;
        req.userpwd = sigv4_keys;
    }
    rc = wire_send(&req, out);
    if (!rc && json_out && out->len)
        *json_out = json_loadb(out->body, out->len, 0, NULL);
    free(url);
    return rc;
}

const char *wire_resp_header(const struct wire_resp *r, const char *name)
{
    size_t n = strlen(name);
    const struct curl_slist *l;

    for (l = r->headers; l; l = l->next) {
        const char *v;

        if (strncasecmp(l->data, name, n) || l->data[n] != ':')
            continue;
        for (v = l->data + n + 1; *v == ' ' || *v == '\t'; v++)
            ;
        return v; /* trailing CR LF were cut in on_header() */
    }
    return NULL;
}

void wire_resp_free(struct wire_resp *r)
{
    if (!r)
        return;
    free(r->body);
    curl_slist_free_all(r->headers);
    memset(r, 0, sizeof(*r));
}

char *wire_json_dump(const char *fmt, ...)
{
    json_error_t err;
    json_t *v;
    char *s;
    va_list ap;

    va_start(ap, fmt);
    v = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!v) {
        fprintf(stderr, "wire: json_pack \"%s\": %s\n", fmt, err.text);
        return NULL;
    }
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

const char *wire_json_str(const json_t *root, const char *path)
{
    const char *p = path, *dot;
    const json_t *v = root;

    while (v && *p) {
        char key[256];
        size_t n;

        dot = strchr(p, '.');
        n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_is_object(v) ? json_object_get(v, key) : NULL;
        p = dot ? dot + 1 : p + n;
    }
    return json_is_string(v) ? json_string_value(v) : NULL;
}

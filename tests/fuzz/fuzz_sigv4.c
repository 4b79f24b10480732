/*
 * fuzz_sigv4.c - libFuzzer target for sigv4.c. The input (cut at its
 * first NUL, as a C string would be) is used five ways:
 *   1. as the Authorization header value: sigv4_parse(), then sigv4_check()
 *      and sigv4_verify() on whatever parses;
 *   2. as a raw "path?query": sigv4_canonical_request() in both forms, and
 *      sigv4_parse() of the query as a presigned request;
 *   3. as the x-amz-date and as the Date header of a well-formed request;
 *   4. as a SignedHeaders list given to sigv4_canonical_request();
 *   5. as path, query and a header value signed by sigv4_sign(): what it
 *      signs must then parse, check and verify (a round trip).
 * Nothing may crash or leak, and the round trip must always hold.
 */
#include "alloc.h"
#include "sigv4.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0       INT64_C(1440938160) /* 20150830T123600Z */
#define AMZ_DATE "20150830T123600Z"
#define SECRET   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* parse, check and verify; the verdict does not matter, only the run */
static void server_path(const struct sigv4_request *req)
{
    struct kaeri_error err;
    struct sigv4_auth auth;
    enum sigv4_failure why;
    struct buf creq, sts;

    if (sigv4_parse(req, &auth, &why, &err))
        return;
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    buf_init(&sts, SIGV4_CANONICAL_MAX);
    if (!sigv4_check(&auth, NULL, NULL, T0, SIGV4_WINDOW_S, &why, &err) &&
        sigv4_verify(req, &auth, SECRET, &creq, &sts, &why, &err) &&
        why == SIGV4_OK)
        abort(); /* a refusal always says why */
    buf_release(&creq);
    buf_release(&sts);
    sigv4_auth_release(&auth);
}

static void canonical(const struct sigv4_request *req, const char *signed_h,
                      bool presigned)
{
    struct kaeri_error err;
    struct buf creq;

    buf_init(&creq, SIGV4_CANONICAL_MAX);
    if (sigv4_canonical_request(req, signed_h, presigned, &creq, &err)) {
        /* a refusal is fine */
    }
    buf_release(&creq);
}

static void round_trip(const char *path, const char *query, const char *s)
{
    struct http_header h[4] = {
        {(char *)"host", (char *)"example.amazonaws.com"},
        {(char *)"x-amz-date", (char *)AMZ_DATE},
        {(char *)"x-amz-meta-fuzz", (char *)s},
        {(char *)"authorization", NULL},
    };
    struct sigv4_request req = {"POST", path, query, h, 3, s, strlen(s)};
    struct kaeri_error err;
    struct sigv4_auth auth;
    enum sigv4_failure why;
    char *authz = NULL;

    if (sigv4_sign(&req, "AKIDEXAMPLE", SECRET, NULL, "us-east-1", "service",
                   AMZ_DATE, &authz, &err))
        return; /* over a limit */
    h[3].value = authz;
    req.header_count = 4;
    if (sigv4_parse(&req, &auth, &why, &err)) {
        /* only a query that itself looks presigned may refuse it */
        if (why != SIGV4_FAIL_INCOMPLETE ||
            strncmp(err.text, "Only one auth mechanism", 23))
            abort();
        free(authz);
        return;
    }
    if (sigv4_check(&auth, "us-east-1", "service", T0, SIGV4_WINDOW_S, &why,
                    &err) ||
        sigv4_verify(&req, &auth, SECRET, NULL, NULL, &why, &err))
        abort();
    sigv4_auth_release(&auth);
    free(authz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    char *path = xstrdup(s), *query = strchr(path, '?');
    struct http_header h[4] = {
        {(char *)"host", (char *)"example.amazonaws.com"},
        {(char *)"x-amz-date", (char *)AMZ_DATE},
        {(char *)"authorization", s},
        {(char *)"my-header", s},
    };
    struct sigv4_request req = {"GET", "/", "", h, 3, NULL, 0};

    if (query)
        *query++ = '\0';

    /* 1 */
    server_path(&req);

    /* 2 */
    req.path = path;
    req.query = query ? query : "";
    h[2] = h[3];
    req.header_count = 3;
    canonical(&req, "host;my-header;x-amz-date", false);
    canonical(&req, "host;my-header;x-amz-date", true);
    req.header_count = 1;
    server_path(&req);

    /* 3 */
    req.path = "/";
    req.query = "";
    h[1].value = s;
    h[2].name = (char *)"authorization";
    h[2].value = (char *)"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
                         "us-east-1/service/aws4_request, SignedHeaders="
                         "host;x-amz-date, Signature=5fa00fa31553b73ebf194267"
                         "6e86291e8372ff2a2260956d9b8aae1d763fbf31";
    req.header_count = 3;
    server_path(&req);
    h[1].name = (char *)"date";
    server_path(&req);

    /* 4 */
    h[1].name = (char *)"x-amz-date";
    h[1].value = (char *)AMZ_DATE;
    canonical(&req, s, false);

    /* 5 */
    round_trip(path, query ? query : "", s);

    free(path);
    free(s);
    return 0;
}

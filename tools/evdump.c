/*
 * evdump.c - print an AWS event stream (application/vnd.amazon.eventstream)
 * as JSON lines, one per frame, as the frames arrive:
 *
 *   {"headers":{":event-type":"chunk",...},"payload":"{\"bytes\":...}"}
 *
 * The stream is read from stdin, or fetched from a URL with libcurl:
 *
 *   evdump < capture.bin
 *   evdump [-d BODY] [-H 'Name: value']... [--http2] [--cacert FILE]
 *          [--aws-sigv4 aws:amz:REGION:SERVICE -u KEY:SECRET] URL
 *
 * -d sends BODY with POST; --http2 asks for HTTP/2 (prior knowledge on
 * http://, as the JS SDK's Bedrock client speaks); --aws-sigv4 and -u
 * sign the request as curl's options of the same names do.
 *
 * Header values: strings as strings, booleans and integers as JSON
 * ones, timestamps as milliseconds, uuids in their 8-4-4-4-12 form, byte
 * arrays in base64. The payload is its text when it is UTF-8, base64
 * otherwise. Frames are decoded piece by piece (emulator/evstream.c), so
 * a live stream prints as it goes. A bad or truncated frame, an HTTP
 * error or a transfer failure goes to stderr with exit status 1.
 */
#include "alloc.h"
#include "b64.h"
#include "buf.h"
#include "evstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK     65536
#define ERROR_BODY_MAX 4096 /* bytes of an HTTP error body shown */

struct dump {
    struct evstream_decoder d;
    struct kaeri_error err;
    enum kaeri_err rc;     /* the decoder's verdict so far */
    CURL *curl;            /* NULL when reading stdin */
    long status;           /* HTTP status, once known */
    struct buf error_body; /* body of an HTTP error, capped */
};

static void usage(void)
{
    fprintf(stderr,
            "usage: evdump [URL]\n"
            "       evdump [-d BODY] [-H 'Name: value']... [--http2] "
            "[--cacert FILE]\n"
            "              [--aws-sigv4 PROVIDER -u KEY:SECRET] URL\n"
            "reads an event stream from stdin or URL, prints one JSON line "
            "per frame\n");
}

/* A new JSON string of 'p', or of its base64 when it is not UTF-8. */
static json_t *text_or_b64(const char *p, size_t len)
{
    json_t *j = json_stringn(p, len);
    char *b;

    if (j)
        return j;
    b = b64_encode(p, len);
    j = json_string(b);
    free(b);
    return j;
}

static json_t *header_value(const struct evstream_header *h)
{
    const uint8_t *u = h->v.uuid;
    char uuid[40];
    char *b;
    json_t *j;

    switch (h->type) {
    case EVSTREAM_BOOL_TRUE:
        return json_true();
    case EVSTREAM_BOOL_FALSE:
        return json_false();
    case EVSTREAM_BYTE:
        return json_integer(h->v.i8);
    case EVSTREAM_INT16:
        return json_integer(h->v.i16);
    case EVSTREAM_INT32:
        return json_integer(h->v.i32);
    case EVSTREAM_INT64:
    case EVSTREAM_TIMESTAMP:
        return json_integer((json_int_t)h->v.i64);
    case EVSTREAM_STRING:
        return text_or_b64(h->v.str.p, h->v.str.len);
    case EVSTREAM_BYTE_BUF:
        b = b64_encode(h->v.str.p, h->v.str.len);
        j = json_string(b);
        free(b);
        return j;
    case EVSTREAM_UUID:
        snprintf(uuid, sizeof(uuid),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                 "%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
                 u[10], u[11], u[12], u[13], u[14], u[15]);
        return json_string(uuid);
    }
    return json_null();
}

/* Print one frame as a JSON line, at once, so a live stream shows live. */
static enum kaeri_err print_frame(const struct evstream_frame *f, void *ctx)
{
    json_t *line = json_object(), *headers = json_object();
    enum kaeri_err rc = KAERI_OK;
    char *s;

    (void)ctx;
    for (size_t i = 0; i < f->nheaders; i++) {
        const struct evstream_header *h = &f->headers[i];

        /* a name that is not UTF-8 (never seen from AWS) shows in base64 */
        if (json_object_setn_new(headers, h->name, h->name_len,
                                 header_value(h))) {
            char *b = b64_encode(h->name, h->name_len);
            char *key = xasprintf("base64:%s", b);

            json_object_set_new(headers, key, header_value(h));
            free(key);
            free(b);
        }
    }
    json_object_set_new(line, "headers", headers);
    json_object_set_new(line, "payload",
                        text_or_b64(f->payload, f->payload_len));
    s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s || puts(s) == EOF || fflush(stdout))
        rc = KAERI_ERR_IO;
    free(s);
    json_decref(line);
    return rc;
}

static int feed(struct dump *dp, const void *p, size_t len)
{
    if (!dp->rc)
        dp->rc = evstream_decode(&dp->d, p, len, print_frame, NULL, &dp->err);
    return dp->rc ? -1 : 0;
}

static int read_stdin(struct dump *dp)
{
    static char chunk[READ_CHUNK];

    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "evdump: reading stdin: %s\n", strerror(errno));
            return -1;
        }
        if (n == 0 || feed(dp, chunk, (size_t)n))
            return 0;
    }
}

/* libcurl hands the body over as it arrives: decode it at once. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct dump *dp = ctx;
    size_t n = size * nmemb; /* size is 1, as libcurl documents */

    if (!dp->status)
        curl_easy_getinfo(dp->curl, CURLINFO_RESPONSE_CODE, &dp->status);
    if (dp->status >= 400) {
        size_t room = ERROR_BODY_MAX - dp->error_body.len;

        if (buf_add(&dp->error_body, p, n < room ? n : room))
            return 0;
        return n;
    }
    return feed(dp, p, n) ? 0 : n;
}

struct options {
    const char *url, *body, *cacert, *sigv4, *userpwd;
    int http2;
    struct curl_slist *headers;
};

static int fetch(struct dump *dp, const struct options *o)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_OK;

#define SET(opt, val)                                  \
    do {                                               \
        if (!cc)                                       \
            cc = curl_easy_setopt(dp->curl, opt, val); \
    } while (0)

    dp->curl = curl_easy_init();
    if (!dp->curl) {
        fprintf(stderr, "evdump: curl_easy_init failed\n");
        return -1;
    }
    SET(CURLOPT_URL, o->url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, dp);
    SET(CURLOPT_HTTPHEADER, o->headers);
    if (o->body)
        SET(CURLOPT_POSTFIELDS, o->body);
    if (o->cacert)
        SET(CURLOPT_CAINFO, o->cacert);
    if (o->http2)
        SET(CURLOPT_HTTP_VERSION,
            strncmp(o->url, "https:", 6)
                ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                : (long)CURL_HTTP_VERSION_2TLS);
    if (o->sigv4)
        SET(CURLOPT_AWS_SIGV4, o->sigv4);
    if (o->userpwd)
        SET(CURLOPT_USERPWD, o->userpwd);
#undef SET
    if (cc) {
        fprintf(stderr, "evdump: %s\n", curl_easy_strerror(cc));
        return -1;
    }
    cc = curl_easy_perform(dp->curl);
    curl_easy_getinfo(dp->curl, CURLINFO_RESPONSE_CODE, &dp->status);
    if (dp->status >= 400) {
        fprintf(stderr, "evdump: HTTP %ld: %s\n", dp->status,
                dp->error_body.data);
        return -1;
    }
    if (cc && !dp->rc) {
        fprintf(stderr, "evdump: %s: %s\n", o->url,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return -1;
    }
    return 0;
}

/* Take the value of option argv[*i] into *out; -1 when it is missing. */
static int take_value(int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "evdump: %s needs a value\n", argv[*i]);
        return -1;
    }
    *out = argv[++*i];
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *header;

        if (!strcmp(a, "--http2")) {
            o->http2 = 1;
        } else if (!strcmp(a, "-d")) {
            if (take_value(argc, argv, &i, &o->body))
                return -1;
        } else if (!strcmp(a, "-H")) {
            if (take_value(argc, argv, &i, &header))
                return -1;
            o->headers = curl_slist_append(o->headers, header);
        } else if (!strcmp(a, "--cacert")) {
            if (take_value(argc, argv, &i, &o->cacert))
                return -1;
        } else if (!strcmp(a, "--aws-sigv4")) {
            if (take_value(argc, argv, &i, &o->sigv4))
                return -1;
        } else if (!strcmp(a, "-u")) {
            if (take_value(argc, argv, &i, &o->userpwd))
                return -1;
        } else if (a[0] == '-' && a[1]) {
            if (strcmp(a, "-h") && strcmp(a, "--help"))
                fprintf(stderr, "evdump: unknown option '%s'\n", a);
            return -1;
        } else if (!o->url) {
            o->url = a;
        } else {
            fprintf(stderr, "evdump: one URL only\n");
            return -1;
        }
    }
    if (o->url && !strcmp(o->url, "-"))
        o->url = NULL; /* stdin, said explicitly */
    if (!o->url && (o->body || o->headers || o->http2 || o->sigv4)) {
        fprintf(stderr, "evdump: request options need a URL\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    struct dump dp = {0};
    int failed;

    if (parse_args(argc, argv, &o)) {
        usage();
        curl_slist_free_all(o.headers);
        return 1;
    }
    evstream_decoder_init(&dp.d);
    buf_init(&dp.error_body, ERROR_BODY_MAX);
    if (o.url) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        failed = fetch(&dp, &o);
    } else {
        failed = read_stdin(&dp);
    }
    if (!failed && !dp.rc)
        dp.rc = evstream_decoder_finish(&dp.d, &dp.err);
    if (!failed && dp.rc) {
        if (dp.rc == KAERI_ERR_IO)
            fprintf(stderr, "evdump: writing stdout failed\n");
        else
            fprintf(stderr, "evdump: %s: %s\n", dp.err.where, dp.err.text);
        failed = 1;
    }
    if (dp.curl) {
        curl_easy_cleanup(dp.curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(o.headers);
    buf_release(&dp.error_body);
    evstream_decoder_release(&dp.d);
    return failed ? 1 : 0;
}

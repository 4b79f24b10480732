/*
 * wire.h - blocking HTTP calls for the wire tests, on libcurl.
 *
 * One call, one easy handle, one complete response in memory: status,
 * headers of the final response and the whole body. Requests may be signed
 * by libcurl's own SigV4 (CURLOPT_AWS_SIGV4), a signer independent of
 * emulator/sigv4.c. Every call is bounded (WIRE_TIMEOUT_MS unless told).
 */
#ifndef KAERI_WIRE_H
#define KAERI_WIRE_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#define WIRE_TIMEOUT_MS 10000L
#define WIRE_BODY_MAX   (64u << 20) /* a longer body fails the call */
#define WIRE_COGNITO    "aws:amz:ap-northeast-1:cognito-idp"

/*
 * A response. All owned; wire_resp_free() releases them. 'body' is always
 * NUL-terminated (also when empty) and may hold binary data up to 'len'.
 */
struct wire_resp {
    long status;                /* HTTP status, 0 before a response */
    char *body;                 /* owned */
    size_t len;                 /* bytes in body, without the NUL */
    struct curl_slist *headers; /* "Name: value", final response only */
};

/* Everything one request needs; fields left 0 or NULL take the default. */
struct wire_req {
    const char *method;         /* "GET", "POST", ...; NULL: GET */
    const char *url;            /* required */
    const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
    const void *body;           /* NULL: no body (POST sends length 0) */
    size_t len;                 /* bytes of body */
    const char *sigv4;          /* "aws:amz:REGION:SERVICE" to sign */
    const char *userpwd;        /* "AKID:SECRET", required with sigv4 */
    const char *ca;             /* CA file for https, or NULL: system's */
    long timeout_ms;            /* 0: WIRE_TIMEOUT_MS */
    int h2c;                    /* 1: HTTP/2 with prior knowledge */
};

/* curl_global_init() and its cleanup, for a test group's setup and teardown;
 * the int is 0 or -1, and the void ** makes them CMocka group fixtures. */
int wire_global_init(void **state);
int wire_global_cleanup(void **state);

/*
 * Send 'req' and wait for the whole response, filling 'out' (which need not
 * be initialised; free it with wire_resp_free() whatever the result).
 * Returns 0 when an HTTP response arrived, whatever its status, or -1 with
 * the reason on stderr (connection, timeout, body over WIRE_BODY_MAX).
 * With 'sigv4', the headers given are signed too (X-Amz-Security-Token,
 * X-Amz-Date if one is given to sign at another time).
 */
int wire_send(const struct wire_req *req, struct wire_resp *out);

/* wire_send() with the common fields. */
int wire_request(const char *method, const char *url,
                 const char *const headers[], const void *body, size_t len,
                 const char *sigv4, const char *userpwd, struct wire_resp *out);

/*
 * An AWS JSON 1.1 call: POST 'base_url' (with path "/" when it has none),
 * Content-Type application/x-amz-json-1.1, X-Amz-Target 'target', body
 * 'json_body' (NULL: "{}"). Signed with 'sigv4_keys' ("AKID:SECRET") for
 * 'region_service' (NULL: WIRE_COGNITO) unless 'sigv4_keys' is NULL.
 * '*json_out' (if 'json_out' is not NULL) gets the parsed body, a new
 * reference, or NULL when the body is not JSON. Returns as wire_send().
 */
int wire_json_call(const char *base_url, const char *target,
                   const char *json_body, const char *sigv4_keys,
                   const char *region_service, struct wire_resp *out,
                   json_t **json_out);

/*
 * The value of the first header 'name' (any case) in 'r', without the
 * surrounding blanks, or NULL. Borrowed from 'r'.
 */
const char *wire_resp_header(const struct wire_resp *r, const char *name);

/* Release what 'r' holds and zero it; NULL is a no-op. */
void wire_resp_free(struct wire_resp *r);

/*
 * json_pack() 'fmt' and dump it compact: a new string the caller frees, or
 * NULL (with jansson's reason on stderr) when the format does not match.
 */
char *wire_json_dump(const char *fmt, ...);

/*
 * The string at the dotted 'path' ("AuthenticationResult.IdToken") of
 * 'root', or NULL if a step is missing or the value is not a string.
 * Borrowed from 'root'.
 */
const char *wire_json_str(const json_t *root, const char *path);

#endif

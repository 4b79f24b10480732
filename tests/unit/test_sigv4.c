/*
 * test_sigv4.c - sigv4.c against spec/sigv4.md section 8: every suite case
 * (hash of the canonical request, signature, and a full parse, check and
 * verify), get-vanilla's canonical request and string to sign byte for
 * byte, the signing-key chain, Bedrock's double encoding, the presigned
 * GET; then sign-and-verify round trips, every refusal with AWS's message,
 * Authorization parsing, canonical query and path edge cases, limits.
 *
 * Time is a parameter of the module, so every test passes T0 (the suite's
 * 20150830T123600Z) or an offset from it; nothing reads the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "crypto.h"
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0       INT64_C(1440938160) /* 20150830T123600Z */
#define AMZ_DATE "20150830T123600Z"
#define AKID     "AKIDEXAMPLE"
#define SECRET   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define HOST     "example.amazonaws.com"
#define EMPTY_SHA \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CRED "Credential=" AKID "/20150830/us-east-1/service/aws4_request"
#define VANILLA_SIG \
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
#define VANILLA_AUTH         \
    "AWS4-HMAC-SHA256 " CRED \
    ", SignedHeaders=host;x-amz-date, Signature=" VANILLA_SIG
#define TOKEN       "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define MAX_HEADERS 8

#define MISMATCH_TEXT                                                         \
    "The request signature we calculated does not match the signature you "   \
    "provided. Check your AWS Secret Access Key and signing method. Consult " \
    "the service documentation for details."

/* A request as the tables write it: constant strings, NULL-terminated. */
struct req_spec {
    const char *method, *path, *query;
    const char *headers[MAX_HEADERS][2]; /* lower-case name, value */
    const char *body;
};

/* The same, built: owned copies, since struct http_header is not const. */
struct built {
    struct http_header headers[MAX_HEADERS + 1]; /* + an Authorization */
    struct sigv4_request req;
};

static void build(const struct req_spec *spec, struct built *b)
{
    size_t n = 0;

    memset(b, 0, sizeof(*b));
    while (n < MAX_HEADERS && spec->headers[n][0]) {
        b->headers[n].name = xstrdup(spec->headers[n][0]);
        b->headers[n].value = xstrdup(spec->headers[n][1]);
        n++;
    }
    b->req.method = spec->method ? spec->method : "GET";
    b->req.path = spec->path ? spec->path : "/";
    b->req.query = spec->query ? spec->query : "";
    b->req.headers = b->headers;
    b->req.header_count = n;
    b->req.body = spec->body;
    b->req.body_len = spec->body ? strlen(spec->body) : 0;
}

/* Append a header (names lower case, as the transport gives them). */
static void add_header(struct built *b, const char *name, const char *value)
{
    size_t n = b->req.header_count;

    assert_true(n < ARRAY_SIZE(b->headers));
    b->headers[n].name = xstrdup(name);
    b->headers[n].value = xstrdup(value);
    b->req.header_count++;
}

static void unbuild(struct built *b)
{
    size_t i;

    for (i = 0; i < b->req.header_count; i++) {
        free(b->headers[i].name);
        free(b->headers[i].value);
    }
}

/* hex(SHA256(s)) */
static void sha_hex(const char *s, size_t n, char out[SIGV4_HEX_LEN + 1])
{
    unsigned char md[CRYPTO_SHA256_LEN];

    crypto_sha256(s, n, md);
    crypto_hex(md, sizeof(md), out);
}

/*
 * Parse, check (us-east-1/service unless told) and verify with SECRET;
 * the failure of the first step that fails, SIGV4_OK if none.
 */
static enum sigv4_failure run_all(const struct sigv4_request *req,
                                  const char *region, const char *service,
                                  int64_t now, struct kaeri_error *err)
{
    struct sigv4_auth auth;
    enum sigv4_failure why = SIGV4_OK;
    enum kaeri_err rc;

    memset(err, 0, sizeof(*err));
    rc = sigv4_parse(req, &auth, &why, err);
    if (rc) {
        assert_int_not_equal(why, SIGV4_OK);
        assert_int_equal(rc, why == SIGV4_FAIL_MISSING ? KAERI_ERR_AUTH
                                                       : KAERI_ERR_INVALID);
        return why;
    }
    assert_int_equal(why, SIGV4_OK);
    rc = sigv4_check(&auth, region, service, now, SIGV4_WINDOW_S, &why, err);
    if (!rc)
        rc = sigv4_verify(req, &auth, SECRET, NULL, NULL, &why, err);
    assert_true(rc ? why != SIGV4_OK : why == SIGV4_OK);
    sigv4_auth_release(&auth);
    return why;
}

/* spec section 8.1: the suite table. */
struct suite_case {
    const char *name;
    struct req_spec req;
    const char *signed_headers;
    const char *creq_hash;
    const char *signature;
};

#define BASE_HEADERS           \
    {"host", HOST},            \
    {                          \
        "x-amz-date", AMZ_DATE \
    }

static const struct suite_case suite[] = {
    {"get-vanilla",
     {"GET", "/", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     VANILLA_SIG},
    {"get-vanilla-query-order-key-case",
     {"GET", "/", "Param2=value2&Param1=value1", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-encoded",
     {"GET",
      "/",
      "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
      {BASE_HEADERS},
      NULL},
     "host;x-amz-date",
     "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
     "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
    {"post-x-www-form-urlencoded",
     {"POST",
      "/",
      "",
      {{"content-type", "application/x-www-form-urlencoded"}, BASE_HEADERS},
      "Param1=value1"},
     "content-type;host;x-amz-date",
     "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-vanilla",
     {"POST", "/", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"get-header-value-trim",
     {"GET",
      "/",
      "",
      {{"host", HOST},
       {"my-header1", " value1"},
       {"my-header2", "\"a   b   c\""},
       {"x-amz-date", AMZ_DATE}},
      NULL},
     "host;my-header1;my-header2;x-amz-date",
     "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-header-key-duplicate",
     {"GET",
      "/",
      "",
      {{"host", HOST},
       {"my-header1", "value2"},
       {"my-header1", "value2"},
       {"my-header1", "value1"},
       {"x-amz-date", AMZ_DATE}},
      NULL},
     "host;my-header1;x-amz-date",
     "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"normalize-path/get-slash-dot-slash",
     {"GET", "/./", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     VANILLA_SIG},
    {"normalize-path/get-relative-relative",
     {"GET", "/example1/example2/../..", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     VANILLA_SIG},
    {"normalize-path/get-slashes",
     {"GET", "//example//", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"normalize-path/get-space",
     {"GET", "/example space/", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-utf8",
     {"GET", "/\xe1\x88\xb4", "", {BASE_HEADERS}, NULL},
     "host;x-amz-date",
     "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-vanilla-with-session-token",
     {"GET", "/", "", {BASE_HEADERS, {"x-amz-security-token", TOKEN}}, NULL},
     "host;x-amz-date;x-amz-security-token",
     "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
};

static void test_suite(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(suite); i++) {
        const struct suite_case *c = &suite[i];
        struct kaeri_error err = {{0}, {0}};
        unsigned char key[SIGV4_KEY_LEN];
        char hash[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
        struct buf creq, sts;
        struct built b;
        char *authz;

        print_message("suite case %s\n", c->name);
        build(&c->req, &b);
        buf_init(&creq, SIGV4_CANONICAL_MAX);
        buf_init(&sts, SIGV4_CANONICAL_MAX);
        assert_int_equal(sigv4_canonical_request(&b.req, c->signed_headers,
                                                 false, &creq, &err),
                         KAERI_OK);
        sha_hex(creq.data, creq.len, hash);
        assert_string_equal(hash, c->creq_hash);
        assert_int_equal(
            sigv4_string_to_sign(AMZ_DATE,
                                 "20150830/us-east-1/service/aws4_request",
                                 creq.data, creq.len, &sts),
            KAERI_OK);
        sigv4_signing_key(SECRET, "20150830", "us-east-1", "service", key);
        sigv4_signature(key, sts.data, sts.len, sig);
        assert_string_equal(sig, c->signature);

        /* the whole server path accepts the suite's Authorization */
        authz = xasprintf("AWS4-HMAC-SHA256 " CRED
                          ", SignedHeaders=%s, Signature=%s",
                          c->signed_headers, c->signature);
        add_header(&b, "authorization", authz);
        assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                         SIGV4_OK);
        free(authz);
        buf_release(&creq);
        buf_release(&sts);
        unbuild(&b);
    }
}

static void test_get_vanilla_bytes(void **state)
{
    static const struct req_spec spec = {"GET", "/", "", {BASE_HEADERS}, NULL};
    static const char want_creq[] = "GET\n"
                                    "/\n"
                                    "\n"
                                    "host:example.amazonaws.com\n"
                                    "x-amz-date:20150830T123600Z\n"
                                    "\n"
                                    "host;x-amz-date\n" EMPTY_SHA;
    static const char want_sts[] =
        "AWS4-HMAC-SHA256\n"
        "20150830T123600Z\n"
        "20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
    struct kaeri_error err = {{0}, {0}};
    struct sigv4_auth auth;
    struct buf creq, sts;
    struct built b;
    enum sigv4_failure why;

    (void)state;
    build(&spec, &b);
    add_header(&b, "authorization", VANILLA_AUTH);
    buf_init(&creq, BUF_UNLIMITED);
    buf_init(&sts, BUF_UNLIMITED);
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_string_equal(auth.access_key, AKID);
    assert_string_equal(auth.scope_date, "20150830");
    assert_string_equal(auth.region, "us-east-1");
    assert_string_equal(auth.service, "service");
    assert_string_equal(auth.amz_date, AMZ_DATE);
    assert_true(auth.time == T0);
    assert_string_equal(auth.signed_headers, "host;x-amz-date");
    assert_string_equal(auth.signature, VANILLA_SIG);
    assert_null(auth.security_token);
    assert_false(auth.presigned);
    assert_int_equal(
        sigv4_verify(&b.req, &auth, SECRET, &creq, &sts, &why, &err), KAERI_OK);
    assert_int_equal(why, SIGV4_OK);
    assert_string_equal(creq.data, want_creq);
    assert_string_equal(sts.data, want_sts);

    /* a wrong secret still fills both for the log line */
    buf_reset(&creq);
    buf_reset(&sts);
    assert_int_equal(
        sigv4_verify(&b.req, &auth, "not the secret", &creq, &sts, &why, &err),
        KAERI_ERR_AUTH);
    assert_int_equal(why, SIGV4_FAIL_MISMATCH);
    assert_string_equal(err.text, MISMATCH_TEXT);
    assert_string_equal(creq.data, want_creq);
    assert_string_equal(sts.data, want_sts);

    sigv4_auth_release(&auth);
    buf_release(&creq);
    buf_release(&sts);
    unbuild(&b);
}

static void test_signing_key_chain(void **state)
{
    static const char *const want[] = {
        "0138c7a6cbd60aa727b2f653a522567439dfb9f3e72b21f9b25941a42f04a7cd",
        "f33d5808504bf34812e5fade63308b424b244c59189be2a591dd2282c7cb563f",
        "f7fd819348e53789a8474fb1aebea778f5af85c40612e0f064eecd5642c81bc1",
        "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75",
    };
    static const char *const msg[] = {"20150830", "us-east-1", "service",
                                      "aws4_request"};
    unsigned char k[SIGV4_KEY_LEN], next[SIGV4_KEY_LEN];
    char hex[SIGV4_HEX_LEN + 1];
    const char *first = "AWS4" SECRET;
    size_t i;

    (void)state;
    /* the spec's chain, step by step ... */
    crypto_hmac_sha256(first, strlen(first), msg[0], strlen(msg[0]), k);
    for (i = 0; i < ARRAY_SIZE(want); i++) {
        if (i) {
            crypto_hmac_sha256(k, sizeof(k), msg[i], strlen(msg[i]), next);
            memcpy(k, next, sizeof(k));
        }
        crypto_hex(k, sizeof(k), hex);
        assert_string_equal(hex, want[i]);
    }
    /* ... and the module's kSigning */
    sigv4_signing_key(SECRET, "20150830", "us-east-1", "service", k);
    crypto_hex(k, sizeof(k), hex);
    assert_string_equal(hex, want[3]);
}

/* spec section 8.2 */
static const struct req_spec bedrock = {
    "POST",
    "/model/apac.amazon.nova-micro-v1%3A0/converse",
    "",
    {{"content-type", "application/json"},
     {"host", "bedrock-runtime.ap-southeast-2.amazonaws.com"},
     {"x-amz-date", AMZ_DATE}},
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}"};
#define BEDROCK_SIG \
    "b685f51938321c4f88471b8e5244223e9e1108ad4a89369f02876fbec654e6de"

static void test_bedrock_double_encoding(void **state)
{
    static const char want_creq[] =
        "POST\n"
        "/model/apac.amazon.nova-micro-v1%253A0/converse\n"
        "\n"
        "content-type:application/json\n"
        "host:bedrock-runtime.ap-southeast-2.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n"
        "\n"
        "content-type;host;x-amz-date\n"
        "c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0";
    struct kaeri_error err = {{0}, {0}};
    char hash[SIGV4_HEX_LEN + 1];
    struct buf creq;
    struct built b;
    char *authz = NULL;

    (void)state;
    build(&bedrock, &b);
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    assert_int_equal(sigv4_canonical_request(&b.req,
                                             "content-type;host;x-amz-date",
                                             false, &creq, &err),
                     KAERI_OK);
    assert_string_equal(creq.data, want_creq);
    sha_hex(creq.data, creq.len, hash);
    assert_string_equal(
        hash,
        "03aabd176b9ae3ec110071f71c16f43fa8c1f8619092df5160e9af24721ec1cc");

    /* the signer gives botocore's signature for the same request */
    assert_int_equal(sigv4_sign(&b.req, AKID, SECRET, NULL, "ap-southeast-2",
                                "bedrock", AMZ_DATE, &authz, &err),
                     KAERI_OK);
    assert_string_equal(authz, "AWS4-HMAC-SHA256 Credential=" AKID
                               "/20150830/ap-southeast-2/bedrock/aws4_request, "
                               "SignedHeaders=content-type;host;x-amz-date, "
                               "Signature=" BEDROCK_SIG);
    add_header(&b, "authorization", authz);
    assert_int_equal(run_all(&b.req, "ap-southeast-2", "bedrock", T0, &err),
                     SIGV4_OK);
    assert_int_equal(run_all(&b.req, "us-east-1", "bedrock", T0, &err),
                     SIGV4_FAIL_WRONG_REGION);
    assert_string_equal(err.text, "Credential should be scoped to a valid "
                                  "region, not 'ap-southeast-2'.");
    free(authz);
    buf_release(&creq);
    unbuild(&b);
}

/* spec section 8.3 */
#define PRESIGN_QUERY                                                         \
    "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&"   \
    "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_"   \
    "request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-"            \
    "SignedHeaders=host&X-Amz-Signature=b1484074bac39e05fdc57be3c8d65ca356ef" \
    "77850f8c3e3eee5476500bc7c15c"

static void test_presigned(void **state)
{
    static const struct req_spec spec = {
        "GET", "/", PRESIGN_QUERY, {{"host", HOST}}, NULL};
    struct kaeri_error err = {{0}, {0}};
    char hash[SIGV4_HEX_LEN + 1];
    struct sigv4_auth auth;
    enum sigv4_failure why;
    struct buf creq;
    struct built b;

    (void)state;
    build(&spec, &b);
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_true(auth.presigned);
    assert_string_equal(auth.access_key, AKID);
    assert_string_equal(auth.region, "us-east-1");
    assert_string_equal(auth.service, "service");
    assert_string_equal(auth.amz_date, AMZ_DATE);
    assert_true(auth.expires == 300);
    assert_string_equal(auth.signed_headers, "host");
    assert_int_equal(sigv4_check(&auth, "us-east-1", "service", T0 + 300,
                                 SIGV4_WINDOW_S, &why, &err),
                     KAERI_OK);
    assert_int_equal(
        sigv4_verify(&b.req, &auth, SECRET, &creq, NULL, &why, &err), KAERI_OK);
    sha_hex(creq.data, creq.len, hash);
    assert_string_equal(
        hash,
        "ef743d75c88ea6203cfde74ce1717005ca8ab831b5d649a4bc5dd1193c3ebaad");

    /* expiry, and the future beyond the window */
    assert_int_equal(sigv4_check(&auth, "us-east-1", "service", T0 + 301,
                                 SIGV4_WINDOW_S, &why, &err),
                     KAERI_ERR_EXPIRED);
    assert_int_equal(why, SIGV4_FAIL_PRESIGN_EXPIRED);
    assert_string_equal(err.text, "Request has expired");
    assert_int_equal(sigv4_check(&auth, "us-east-1", "service", T0 - 900,
                                 SIGV4_WINDOW_S, &why, &err),
                     KAERI_OK);
    assert_int_equal(sigv4_check(&auth, "us-east-1", "service", T0 - 901,
                                 SIGV4_WINDOW_S, &why, &err),
                     KAERI_ERR_EXPIRED);
    assert_int_equal(why, SIGV4_FAIL_NOT_YET);
    sigv4_auth_release(&auth);
    buf_release(&creq);
    unbuild(&b);
}

/* Changing any signed part of the presigned URL breaks it. */
static void test_presigned_tampered(void **state)
{
    static const char *const queries[] = {
        /* Version changed */
        "Action=ListUsers&Version=2010-05-09&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_"
        "request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-"
        "SignedHeaders=host&X-Amz-Signature=b1484074bac39e05fdc57be3c8d65ca356"
        "ef77850f8c3e3eee5476500bc7c15c",
        /* expiry stretched */
        "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_"
        "request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3000&X-Amz-"
        "SignedHeaders=host&X-Amz-Signature=b1484074bac39e05fdc57be3c8d65ca356"
        "ef77850f8c3e3eee5476500bc7c15c",
        /* a parameter added */
        PRESIGN_QUERY "&extra=1",
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(queries); i++) {
        struct req_spec spec = {"GET", "/", queries[i], {{"host", HOST}}, NULL};
        struct kaeri_error err;
        struct built b;

        build(&spec, &b);
        assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                         SIGV4_FAIL_MISMATCH);
        assert_string_equal(err.text, MISMATCH_TEXT);
        unbuild(&b);
    }
}

/* sigv4_sign() then the server path, and what breaks the signature. */
static void test_sign_round_trip(void **state)
{
    static const char body[] = "{\"Name\":\"x\"}";
    char hash[SIGV4_HEX_LEN + 1];
    struct req_spec spec = {
        "POST",
        "/functions/my%3Afn/invocations",
        "b=2&a=1&a=0",
        {{"host", "127.0.0.1:4566"},
         {"content-type", "application/x-amz-json-1.1"},
         {"x-amz-target", "AWSCognitoIdentityService.GetId"},
         {"x-amz-date", AMZ_DATE},
         {"x-amz-security-token", "tok/en+=="},
         {"user-agent", "kaeri-test/1"},
         {"x-amz-content-sha256", NULL}},
        body};
    struct kaeri_error err = {{0}, {0}};
    struct sigv4_auth auth;
    enum sigv4_failure why;
    struct built b;
    char *authz = NULL;

    (void)state;
    sha_hex(body, strlen(body), hash);
    spec.headers[6][1] = hash;
    build(&spec, &b);
    assert_int_equal(sigv4_sign(&b.req, "ASIAEXAMPLE", SECRET, "tok/en+==",
                                "us-east-1", "lambda", AMZ_DATE, &authz, &err),
                     KAERI_OK);
    add_header(&b, "authorization", authz);
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_string_equal(auth.access_key, "ASIAEXAMPLE");
    assert_string_equal(auth.signed_headers,
                        "content-type;host;x-amz-content-sha256;x-amz-date;"
                        "x-amz-security-token;x-amz-target");
    assert_string_equal(auth.security_token, "tok/en+==");
    sigv4_auth_release(&auth);
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0 + 899, &err),
                     SIGV4_OK);

    /* one byte of body: the content hash header no longer matches */
    b.req.body = "{\"Name\":\"y\"}";
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_FAIL_PAYLOAD_HASH_MISMATCH);
    assert_string_equal(err.text, "The provided 'x-amz-content-sha256' header "
                                  "does not match what was computed.");
    b.req.body = body;

    /* a signed header's value changed */
    free(b.headers[2].value);
    b.headers[2].value = xstrdup("AWSCognitoIdentityService.GetOpenIdToken");
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_FAIL_MISMATCH);
    unbuild(&b);
    free(authz);

    /* without x-amz-content-sha256 a body change is a plain mismatch */
    spec.headers[6][0] = NULL;
    build(&spec, &b);
    assert_int_equal(sigv4_sign(&b.req, "ASIAEXAMPLE", SECRET, "tok/en+==",
                                "us-east-1", "lambda", AMZ_DATE, &authz, &err),
                     KAERI_OK);
    add_header(&b, "authorization", authz);
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_OK);
    b.req.body_len--;
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_FAIL_MISMATCH);
    b.req.body_len++;
    b.req.query = "a=0&a=1&b=2"; /* same canonical query */
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_OK);
    b.req.path = "/functions/my:fn/invocations"; /* not what was signed */
    assert_int_equal(run_all(&b.req, "us-east-1", "lambda", T0, &err),
                     SIGV4_FAIL_MISMATCH);
    unbuild(&b);
    free(authz);
}

/* The signer reproduces the suite's get-vanilla Authorization exactly. */
static void test_sign_suite(void **state)
{
    static const struct req_spec vanilla = {
        "GET", "/", "", {BASE_HEADERS}, NULL};
    static const struct req_spec token = {
        "GET", "/", "", {BASE_HEADERS, {"x-amz-security-token", TOKEN}}, NULL};
    struct kaeri_error err = {{0}, {0}};
    struct built b;
    char *authz = NULL;

    (void)state;
    build(&vanilla, &b);
    assert_int_equal(sigv4_sign(&b.req, AKID, SECRET, NULL, "us-east-1",
                                "service", AMZ_DATE, &authz, &err),
                     KAERI_OK);
    assert_string_equal(authz, VANILLA_AUTH);
    free(authz);
    unbuild(&b);

    build(&token, &b);
    assert_int_equal(sigv4_sign(&b.req, AKID, SECRET, TOKEN, "us-east-1",
                                "service", AMZ_DATE, &authz, &err),
                     KAERI_OK);
    assert_string_equal(
        authz,
        "AWS4-HMAC-SHA256 " CRED
        ", SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    free(authz);
    unbuild(&b);
}

/* sigv4_sign() refuses a request that breaks its contract. */
static void test_sign_contract(void **state)
{
    static const struct {
        struct req_spec req;
        const char *token;
        const char *amz_date;
    } cases[] = {
        {{"GET", "/", "", {{"x-amz-date", AMZ_DATE}}, NULL}, NULL, AMZ_DATE},
        {{"GET", "/", "", {{"host", HOST}}, NULL}, NULL, AMZ_DATE},
        {{"GET", "/", "", {BASE_HEADERS}, NULL}, NULL, "20150830T123601Z"},
        {{"GET", "/", "", {BASE_HEADERS}, NULL}, NULL, "2015-08-30"},
        {{"GET", "/", "", {BASE_HEADERS}, NULL}, TOKEN, AMZ_DATE},
        {{"GET", "/", "", {BASE_HEADERS, {"x-amz-security-token", "a"}}, NULL},
         NULL,
         AMZ_DATE},
        {{"GET", "/", "", {BASE_HEADERS, {"x-amz-security-token", "a"}}, NULL},
         "b",
         AMZ_DATE},
        {{"GET",
          "/",
          "",
          {BASE_HEADERS, {"x-amz-content-sha256", "abc"}},
          NULL},
         NULL,
         AMZ_DATE},
        {{"GET", "/", "", {BASE_HEADERS, {"host", HOST}}, NULL},
         NULL,
         AMZ_DATE},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct built b;
        char *authz = (char *)"untouched";

        build(&cases[i].req, &b);
        assert_int_equal(sigv4_sign(&b.req, AKID, SECRET, cases[i].token,
                                    "us-east-1", "service", cases[i].amz_date,
                                    &authz, &err),
                         KAERI_ERR_INVALID);
        assert_null(authz);
        assert_true(err.text[0] != '\0');
        unbuild(&b);
    }
}

/* Every refusal, with its class and AWS's text. */
struct fail_case {
    const char *name;
    struct req_spec req;
    const char *region, *service; /* NULL: us-east-1 and service */
    int64_t now_delta;            /* from T0 */
    enum sigv4_failure why;
    const char *text;
    bool prefix; /* the text is longer than struct kaeri_error's */
};

#define AUTH(x)            \
    {                      \
        "authorization", x \
    }
#define VANILLA_HEADERS BASE_HEADERS, AUTH(VANILLA_AUTH)
/* the first 96 characters of an Authorization value, as messages quote */
#define SHOWN_VANILLA                                                          \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_" \
    "request, SignedHeaders=h"
#define NOT_KV(k, v) k ", " v

static const struct fail_case fails[] = {
    {"no authorization",
     {"GET", "/", "", {BASE_HEADERS}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISSING,
     "Missing Authentication Token",
     false},
    {"no credential",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc")},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Authorization header requires 'Credential' parameter. "
     "Authorization=AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, "
     "Signature=abc",
     false},
    {"nothing but the algorithm, no date",
     {"GET", "/", "", {{"host", HOST}, AUTH("AWS4-HMAC-SHA256")}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Authorization header requires 'Credential' parameter. Authorization "
     "header requires 'Signature' parameter. Authorization header requires "
     "'SignedHeaders' parameter. Authorization header requires existence of "
     "either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256",
     true},
    {"empty signature",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, "
            "Signature=")},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Authorization header requires 'Signature' parameter. "
     "Authorization=" SHOWN_VANILLA,
     false},
    {"key without equal sign",
     {"GET",
      "/",
      "",
      {BASE_HEADERS, AUTH("AWS4-HMAC-SHA256 " CRED
                          ", SignedHeaders, Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "'SignedHeaders' not a valid key=value pair (missing equal-sign) in "
     "Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
     "us-east-1/service/aws4_request, SignedHeaders, '.",
     false},
    {"duplicate key",
     {"GET",
      "/",
      "",
      {BASE_HEADERS, AUTH(VANILLA_AUTH ", Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Authorization header has 'Signature' more than once: '" SHOWN_VANILLA
     "'.",
     false},
    {"4-part credential",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH(
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
           "aws4_request, SignedHeaders=host;x-amz-date, Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Credential should have the form <access key id>/<YYYYMMDD>/<region>/"
     "<service>/aws4_request, not 'AKIDEXAMPLE/20150830/us-east-1/"
     "aws4_request' in Authorization header.",
     false},
    {"6-part credential",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED "/x, SignedHeaders=host;x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Credential should have the form <access key id>/<YYYYMMDD>/<region>/"
     "<service>/aws4_request, not 'AKIDEXAMPLE/20150830/us-east-1/service/"
     "aws4_request/x' in Authorization header.",
     false},
    {"unsupported algorithm",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA512 " CRED ", SignedHeaders=host;x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
     false},
    {"two Authorization headers",
     {"GET", "/", "", {VANILLA_HEADERS, AUTH(VANILLA_AUTH)}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "The request has more than one Authorization header.",
     false},
    {"header and query both",
     {"GET", "/", PRESIGN_QUERY, {VANILLA_HEADERS}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
     "parameter, Signature query string parameter or the Authorization header "
     "should be specified",
     false},
    {"bad terminator",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
            "service/aws4_requests, SignedHeaders=host;x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_BAD_TERMINATOR,
     "Credential should be scoped with a valid terminator: 'aws4_request', "
     "not 'aws4_requests'.",
     false},
    {"wrong region",
     {"GET", "/", "", {VANILLA_HEADERS}, NULL},
     "eu-west-1",
     NULL,
     0,
     SIGV4_FAIL_WRONG_REGION,
     "Credential should be scoped to a valid region, not 'us-east-1'.",
     false},
    {"wrong service",
     {"GET", "/", "", {VANILLA_HEADERS}, NULL},
     NULL,
     "bedrock",
     0,
     SIGV4_FAIL_WRONG_SERVICE,
     "Credential should be scoped to correct service: 'bedrock'.",
     false},
    {"scope date is not the request date",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/"
            "service/aws4_request, SignedHeaders=host;x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_DATE_MISMATCH,
     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
     "of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
     false},
    {"no date",
     {"GET", "/", "", {{"host", HOST}, AUTH(VANILLA_AUTH)}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_NO_DATE,
     "Authorization header requires existence of either a 'X-Amz-Date' or a "
     "'Date' header. Authorization=" SHOWN_VANILLA,
     false},
    {"date not ISO-8601 basic",
     {"GET",
      "/",
      "",
      {{"host", HOST},
       {"x-amz-date", "2015-08-30T12:36:00Z"},
       AUTH(VANILLA_AUTH)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_NO_DATE,
     "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. "
     "See http://en.wikipedia.org/wiki/ISO_8601",
     false},
    {"date out of range",
     {"GET",
      "/",
      "",
      {{"host", HOST}, {"x-amz-date", "20150230T123600Z"}, AUTH(VANILLA_AUTH)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_NO_DATE,
     "Date must be in ISO-8601 'basic format'. Got '20150230T123600Z'. "
     "See http://en.wikipedia.org/wiki/ISO_8601",
     false},
    {"bad Date header",
     {"GET",
      "/",
      "",
      {{"host", HOST}, {"date", "yesterday"}, AUTH(VANILLA_AUTH)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_NO_DATE,
     "Date header is not an RFC 1123 date: 'yesterday'.",
     false},
    {"expired (spec section 6 example)",
     {"GET", "/", "", {VANILLA_HEADERS}, NULL},
     NULL,
     NULL,
     1500,
     SIGV4_FAIL_EXPIRED,
     "Signature expired: 20150830T123600Z is now earlier than "
     "20150830T124600Z (20150830T130100Z - 15 min.)",
     false},
    {"one second past the window",
     {"GET", "/", "", {VANILLA_HEADERS}, NULL},
     NULL,
     NULL,
     901,
     SIGV4_FAIL_EXPIRED,
     "Signature expired: 20150830T123600Z is now earlier than "
     "20150830T123601Z (20150830T125101Z - 15 min.)",
     false},
    {"not yet current (spec section 6 example)",
     {"GET",
      "/",
      "",
      {{"host", HOST}, {"x-amz-date", "20150830T130100Z"}, AUTH(VANILLA_AUTH)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_NOT_YET,
     "Signature not yet current: 20150830T130100Z is still later than "
     "20150830T125100Z (20150830T123600Z + 15 min.)",
     false},
    {"host not signed",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_HOST_NOT_SIGNED,
     "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
     "Authorization.",
     false},
    {"x-amz-* header not signed",
     {"GET", "/", "", {VANILLA_HEADERS, {"x-amz-target", "Foo.Bar"}}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_HOST_NOT_SIGNED,
     "There were headers present in the request which were not signed: "
     "'x-amz-target'.",
     false},
    {"token header not signed",
     {"GET", "/", "", {VANILLA_HEADERS, {"x-amz-security-token", TOKEN}}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_HOST_NOT_SIGNED,
     "There were headers present in the request which were not signed: "
     "'x-amz-security-token'.",
     false},
    {"signature one digit off",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH(
           "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, "
           "Signature="
           "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf32")},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISMATCH,
     MISMATCH_TEXT,
     false},
    {"signature in upper case",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH(
           "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, "
           "Signature="
           "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31")},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISMATCH,
     MISMATCH_TEXT,
     false},
    {"short signature",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, "
            "Signature=5fa00f")},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISMATCH,
     MISMATCH_TEXT,
     false},
    {"signed header not in the request",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;my-header;"
            "x-amz-date, Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISMATCH,
     MISMATCH_TEXT,
     false},
    {"a byte of path changed",
     {"GET", "/x", "", {VANILLA_HEADERS}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_MISMATCH,
     MISMATCH_TEXT,
     false},
    {"content hash is not the body's",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       {"x-amz-content-sha256",
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;"
            "x-amz-content-sha256;x-amz-date, Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_PAYLOAD_HASH_MISMATCH,
     "The provided 'x-amz-content-sha256' header does not match what was "
     "computed.",
     false},
    {"presigned without X-Amz-Expires",
     {"GET",
      "/",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
      "20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
      "20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "AWS query-string parameters must include 'X-Amz-Algorithm', "
     "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', "
     "'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the "
     "query-string parameters.",
     false},
    {"presigned for more than a week",
     {"GET",
      "/",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
      "20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
      "20150830T123600Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=00",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "X-Amz-Expires must be less than a week (in seconds) that is 604800",
     false},
    {"presigned expiry not a number",
     {"GET",
      "/",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
      "20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
      "20150830T123600Z&X-Amz-Expires=5m&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=00",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "X-Amz-Expires should be a number",
     false},
    {"presigned with another algorithm",
     {"GET",
      "/",
      "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKIDEXAMPLE%2F"
      "20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
      "20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=00",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
     false},
    {"presigned with a repeated parameter",
     {"GET",
      "/",
      PRESIGN_QUERY "&X-Amz-Date=20150830T123600Z",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "The query string has 'X-Amz-Date' more than once.",
     false},
    {"presigned with a bad terminator",
     {"GET",
      "/",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"
      "20150830%2Fus-east-1%2Fservice%2Faws5_request&X-Amz-Date="
      "20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&"
      "X-Amz-Signature=00",
      {{"host", HOST}},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_BAD_TERMINATOR,
     "Credential should be scoped with a valid terminator: 'aws4_request', "
     "not 'aws5_request'.",
     false},
    {"presigned, header not signed",
     {"GET", "/", PRESIGN_QUERY, {{"host", HOST}, {"x-amz-meta-a", "1"}}, NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_HOST_NOT_SIGNED,
     "There were headers present in the request which were not signed: "
     "'x-amz-meta-a'.",
     false},
    {"empty name in SignedHeaders",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-date, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "SignedHeaders is not a list of header names separated by ';': "
     "'host;;x-amz-date'.",
     false},
    {"SignedHeaders ends in ';'",
     {"GET",
      "/",
      "",
      {BASE_HEADERS,
       AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date;, "
            "Signature=" VANILLA_SIG)},
      NULL},
     NULL,
     NULL,
     0,
     SIGV4_FAIL_INCOMPLETE,
     "SignedHeaders is not a list of header names separated by ';': "
     "'host;x-amz-date;'.",
     false},
};

static void test_failures(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(fails); i++) {
        const struct fail_case *c = &fails[i];
        struct kaeri_error err;
        struct built b;
        enum sigv4_failure why;

        print_message("failure case %s\n", c->name);
        build(&c->req, &b);
        why = run_all(&b.req, c->region ? c->region : "us-east-1",
                      c->service ? c->service : "service", T0 + c->now_delta,
                      &err);
        if (why != c->why)
            print_error("got %s: %s\n", sigv4_failure_name(why), err.text);
        assert_int_equal(why, c->why);
        if (c->prefix) {
            assert_int_equal(strlen(err.text), sizeof(err.text) - 1);
            assert_memory_equal(err.text, c->text, sizeof(err.text) - 1);
        } else {
            assert_string_equal(err.text, c->text);
        }
        unbuild(&b);
    }
}

/* Authorization values that parse and verify despite their looks. */
static void test_header_variants(void **state)
{
    static const char *const ok[] = {
        VANILLA_AUTH,
        /* keys in any order */
        "AWS4-HMAC-SHA256 Signature=" VANILLA_SIG
        ", SignedHeaders=host;x-amz-date, " CRED,
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date," CRED
        ",Signature=" VANILLA_SIG,
        /* extra spaces and tabs, around the value and the '=' */
        "  AWS4-HMAC-SHA256 \t " CRED " ,  SignedHeaders = host;x-amz-date"
        "\t,Signature=  " VANILLA_SIG "  ",
        /* an empty part and an unknown key are ignored */
        VANILLA_AUTH ",, Foo=bar",
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(ok); i++) {
        struct req_spec spec = {
            "GET", "/", "", {BASE_HEADERS, AUTH(ok[i])}, NULL};
        struct kaeri_error err;
        struct built b;

        print_message("variant %zu\n", i);
        build(&spec, &b);
        assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                         SIGV4_OK);
        unbuild(&b);
    }
}

/* Date fallback, token sources, region and service left open. */
static void test_parse_details(void **state)
{
    static const struct req_spec date_hdr = {
        "GET",
        "/",
        "",
        {{"host", HOST},
         {"date", "Sun, 30 Aug 2015 12:36:00 GMT"},
         AUTH("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=date;host, "
              "Signature=" VANILLA_SIG)},
        NULL};
    static const struct req_spec both = {
        "GET",
        "/",
        "",
        {{"host", HOST},
         {"date", "Mon, 31 Aug 2015 00:00:00 GMT"},
         {"x-amz-date", AMZ_DATE},
         AUTH(VANILLA_AUTH)},
        NULL};
    static const struct req_spec query_token = {
        "GET",
        "/",
        PRESIGN_QUERY "&X-Amz-Security-Token=a%2Fb%2Bc%3D",
        {{"host", HOST}},
        NULL};
    struct kaeri_error err = {{0}, {0}};
    struct sigv4_auth auth;
    enum sigv4_failure why;
    struct built b;

    (void)state;
    build(&date_hdr, &b);
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_string_equal(auth.amz_date, AMZ_DATE);
    assert_true(auth.time == T0);
    assert_int_equal(
        sigv4_check(&auth, NULL, NULL, T0, SIGV4_WINDOW_S, &why, &err),
        KAERI_OK);
    sigv4_auth_release(&auth);
    unbuild(&b);

    build(&both, &b); /* X-Amz-Date wins over Date */
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_string_equal(auth.amz_date, AMZ_DATE);
    sigv4_auth_release(&auth);
    unbuild(&b);

    build(&query_token, &b);
    assert_int_equal(sigv4_parse(&b.req, &auth, &why, &err), KAERI_OK);
    assert_string_equal(auth.security_token, "a/b+c=");
    sigv4_auth_release(&auth);
    sigv4_auth_release(&auth); /* twice is harmless */
    unbuild(&b);
}

/* spec section 3 */
static void test_canonical_query(void **state)
{
    static const struct {
        const char *query;
        bool presigned;
        const char *want;
    } cases[] = {
        {"", false, ""},
        {"a", false, "a="},
        {"a=", false, "a="},
        {"=v", false, "=v"},
        {"a=1+2", false, "a=1%2B2"},
        {"b=2&a=3&a=1&a=2", false, "a=1&a=2&a=3&b=2"},
        {"b=1&B=2&a=3&A=4", false, "A=4&B=2&a=3&b=1"},
        {"Param-3=Value3&Param=Value2", false, "Param=Value2&Param-3=Value3"},
        {"k=a%20b&k2=a/b=c", false, "k=a%20b&k2=a%2Fb%3Dc"},
        {"%7e=%7E&%41=%4a", false, "A=J&~=~"},
        {"a=%zz&b=%4&c=%", false, "a=%25zz&b=%254&c=%25"},
        {"&&a=1&", false, "a=1"},
        {"a=%00", false, "a=%00"},
        {"a=%e1%88%b4", false, "a=%E1%88%B4"},
        {"X-Amz-Signature=abc&b=1", true, "b=1"},
        {"X-Amz-Signature=abc&b=1", false, "X-Amz-Signature=abc&b=1"},
        {"X-Amz-Date=1&X-Amz-Signature=abc", true, "X-Amz-Date=1"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct req_spec spec = {
            "GET", "/", cases[i].query, {{"host", "h"}}, NULL};
        struct kaeri_error err;
        struct buf creq;
        struct built b;
        char *want;

        build(&spec, &b);
        buf_init(&creq, SIGV4_CANONICAL_MAX);
        want =
            xasprintf("GET\n/\n%s\nhost:h\n\nhost\n" EMPTY_SHA, cases[i].want);
        assert_int_equal(sigv4_canonical_request(
                             &b.req, "host", cases[i].presigned, &creq, &err),
                         KAERI_OK);
        assert_string_equal(creq.data, want);
        free(want);
        buf_release(&creq);
        unbuild(&b);
    }
}

/* spec section 2, non-S3 */
static void test_canonical_uri(void **state)
{
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"", "/"},
        {"/", "/"},
        {"//", "/"},
        {"//example//", "/example/"},
        {"/./", "/"},
        {"/example1/example2/../..", "/"},
        {"/a/b/../c", "/a/c"},
        {"/a/./b/", "/a/b/"},
        {"/../a", "/a"},
        {"/a/b/..", "/a"},
        {"/a/b/../", "/a/"},
        {"/a/..b/.c", "/a/..b/.c"},
        {"/a%3Ab", "/a%253Ab"},
        {"/model/x%2Fy/converse", "/model/x%252Fy/converse"},
        {"/example space/", "/example%20space/"},
        {"/\xe1\x88\xb4", "/%E1%88%B4"},
        {"/a~b-c_d.e", "/a~b-c_d.e"},
        {"/a/%2E%2E/b", "/a/%252E%252E/b"},
        {"/a+b=c;d", "/a%2Bb%3Dc%3Bd"},
        {"relative/path", "/relative/path"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct req_spec spec = {
            "GET", cases[i].path, "", {{"host", "h"}}, NULL};
        struct kaeri_error err;
        struct buf creq;
        struct built b;
        char *want;

        build(&spec, &b);
        buf_init(&creq, SIGV4_CANONICAL_MAX);
        want =
            xasprintf("GET\n%s\n\nhost:h\n\nhost\n" EMPTY_SHA, cases[i].want);
        assert_int_equal(
            sigv4_canonical_request(&b.req, "host", false, &creq, &err),
            KAERI_OK);
        assert_string_equal(creq.data, want);
        free(want);
        buf_release(&creq);
        unbuild(&b);
    }
}

/* spec section 4: trim, collapse, join duplicates, the list's order. */
static void test_canonical_headers(void **state)
{
    static const struct req_spec spec = {"GET",
                                         "/",
                                         "",
                                         {{"host", "h"},
                                          {"x-a", "  one \t two\r\n  three  "},
                                          {"x-b", "b1"},
                                          {"x-a", "four"},
                                          {"x-b", ""},
                                          {"x-c", "   "}},
                                         NULL};
    struct kaeri_error err;
    struct buf creq;
    struct built b;

    (void)state;
    build(&spec, &b);
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host;x-a;x-b;x-c", false, &creq, &err),
        KAERI_OK);
    assert_string_equal(creq.data,
                        "GET\n/\n\nhost:h\nx-a:one two three,four\n"
                        "x-b:b1,\nx-c:\n\nhost;x-a;x-b;x-c\n" EMPTY_SHA);
    buf_release(&creq);
    unbuild(&b);
}

static void test_canonical_errors(void **state)
{
    struct req_spec spec = {"GET", "/", "", {{"host", "h"}}, NULL};
    struct kaeri_error err;
    struct buf creq, names;
    struct built b;
    char *long_s;
    int i;

    (void)state;
    build(&spec, &b);
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host;x-missing", false, &creq, &err),
        KAERI_ERR_NOT_FOUND);
    assert_string_equal(err.text,
                        "signed header 'x-missing' is not in the request");
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host;;x", false, &creq, &err),
        KAERI_ERR_INVALID);
    buf_reset(&creq);
    assert_int_equal(sigv4_canonical_request(&b.req, "", false, &creq, &err),
                     KAERI_ERR_INVALID);

    /* 65 names */
    buf_init(&names, BUF_UNLIMITED);
    for (i = 0; i <= SIGV4_MAX_SIGNED; i++)
        assert_int_equal(buf_adds(&names, i ? ";host" : "host"), KAERI_OK);
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, names.data, false, &creq, &err),
        KAERI_ERR_INVALID);
    buf_release(&names);

    /* path and query over their limit */
    long_s = xmalloc(SIGV4_MAX_PATH + 2);
    memset(long_s, 'a', SIGV4_MAX_PATH + 1);
    long_s[0] = '/';
    long_s[SIGV4_MAX_PATH + 1] = '\0';
    b.req.path = long_s;
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host", false, &creq, &err),
        KAERI_ERR_LIMIT);
    long_s[SIGV4_MAX_PATH] = '\0'; /* exactly at the limit */
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host", false, &creq, &err), KAERI_OK);
    b.req.path = "/";
    long_s[SIGV4_MAX_PATH] = 'a';
    b.req.query = long_s + 1; /* 8192 x 'a' then NUL: at the limit */
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host", false, &creq, &err), KAERI_OK);
    b.req.query = long_s;
    long_s[0] = 'q';
    buf_reset(&creq);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host", false, &creq, &err),
        KAERI_ERR_LIMIT);
    b.req.query = "";

    /* the caller's buffer ceiling */
    buf_release(&creq);
    buf_init(&creq, 10);
    assert_int_equal(
        sigv4_canonical_request(&b.req, "host", false, &creq, &err),
        KAERI_ERR_LIMIT);
    buf_release(&creq);
    free(long_s);
    unbuild(&b);
}

/* Oversized input refuses the request instead of growing without end. */
static void test_parse_limits(void **state)
{
    struct req_spec spec = {"GET", "/", "", {BASE_HEADERS}, NULL};
    struct kaeri_error err;
    struct buf s;
    struct built b;
    int i;

    (void)state;
    /* an Authorization value over SIGV4_MAX_AUTH_HEADER */
    buf_init(&s, BUF_UNLIMITED);
    assert_int_equal(buf_adds(&s, VANILLA_AUTH ", Pad="), KAERI_OK);
    while (s.len <= SIGV4_MAX_AUTH_HEADER)
        assert_int_equal(buf_addch(&s, 'x'), KAERI_OK);
    build(&spec, &b);
    add_header(&b, "authorization", s.data);
    assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                     SIGV4_FAIL_INCOMPLETE);
    assert_string_equal(err.text, "Authorization header is longer than 8192 "
                                  "characters.");
    unbuild(&b);

    /* 65 signed header names */
    buf_reset(&s);
    assert_int_equal(buf_adds(&s, "AWS4-HMAC-SHA256 " CRED
                                  ", Signature=" VANILLA_SIG
                                  ", SignedHeaders=host"),
                     KAERI_OK);
    for (i = 0; i < SIGV4_MAX_SIGNED; i++)
        assert_int_equal(buf_printf(&s, ";x-h%d", i), KAERI_OK);
    build(&spec, &b);
    add_header(&b, "authorization", s.data);
    assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                     SIGV4_FAIL_INCOMPLETE);
    assert_string_equal(err.text, "SignedHeaders names more than 64 headers.");
    unbuild(&b);

    /* a security token over SIGV4_MAX_TOKEN */
    buf_reset(&s);
    while (s.len <= SIGV4_MAX_TOKEN)
        assert_int_equal(buf_addch(&s, 't'), KAERI_OK);
    build(&spec, &b);
    add_header(&b, "authorization", VANILLA_AUTH);
    add_header(&b, "x-amz-security-token", s.data);
    assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                     SIGV4_FAIL_INCOMPLETE);
    unbuild(&b);

    /* a path over SIGV4_MAX_PATH: verify refuses, does not crash */
    buf_reset(&s);
    while (s.len <= SIGV4_MAX_PATH)
        assert_int_equal(buf_adds(&s, "/a"), KAERI_OK);
    build(&spec, &b);
    b.req.path = s.data;
    add_header(&b, "authorization", VANILLA_AUTH);
    assert_int_equal(run_all(&b.req, "us-east-1", "service", T0, &err),
                     SIGV4_FAIL_INCOMPLETE);
    unbuild(&b);
    buf_release(&s);
}

static void test_dates(void **state)
{
    static const struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {T0, AMZ_DATE},
        {0, "19700101T000000Z"},
        {-1, "19691231T235959Z"},
        {951782400, "20000229T000000Z"},
        {INT64_C(253402300799), "99991231T235959Z"},
        {INT64_C(-62135596800), "00010101T000000Z"},
    };
    char out[SIGV4_AMZ_DATE_LEN + 1];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_int_equal(sigv4_format_amz_date(cases[i].t, out), KAERI_OK);
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(sigv4_format_amz_date(INT64_C(253402300800), out),
                     KAERI_ERR_INVALID);
    assert_int_equal(sigv4_format_amz_date(INT64_C(-62135596801), out),
                     KAERI_ERR_INVALID);
    assert_string_equal(sigv4_failure_name(SIGV4_FAIL_MISMATCH), "mismatch");
    assert_string_equal(sigv4_failure_name((enum sigv4_failure)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite),
        cmocka_unit_test(test_get_vanilla_bytes),
        cmocka_unit_test(test_signing_key_chain),
        cmocka_unit_test(test_bedrock_double_encoding),
        cmocka_unit_test(test_presigned),
        cmocka_unit_test(test_presigned_tampered),
        cmocka_unit_test(test_sign_round_trip),
        cmocka_unit_test(test_sign_suite),
        cmocka_unit_test(test_sign_contract),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_parse_details),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_canonical_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_dates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

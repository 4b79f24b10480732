/*
 * demo.c - `make demo`: start kaeri, do what the chat app does, print what
 * comes back, stop kaeri. Today that is the sign-in: alice signs in with
 * USER_SRP_AUTH exactly as Amplify does (the password never travels), her
 * ID token is checked against the pool's JWKS fetched over HTTP, and her
 * decoded tokens are printed. Then she subscribes to her own AppSync
 * Events channel over wss:// and an answer is published to it piece by
 * piece with SigV4, as the seed's Lambda does. Later issues add the prompt
 * through API Gateway and the Bedrock stream in between.
 *
 * Nothing is hard-coded but the fixture's first user: ids and URLs come
 * from GET /_kaeri/endpoints, as any client of kaeri would find them.
 */
#include "crypto.h"
#include "jwt.h"
#include "kaeri_proc.h"
#include "srp_client.h"
#include "wire.h"
#include "ws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET "AWSCognitoIdentityProviderService."

static struct kaeri_proc proc;
/* The fixture admin's keys sign the publish until the Lambda issue. */
static char admin_keys[256];
static json_t *endpoints, *fixture;

static int fail(const char *what, const struct wire_resp *r)
{
    fprintf(stderr, "demo: %s failed", what);
    if (r && r->body)
        fprintf(stderr, ": HTTP %ld %s", r->status, r->body);
    fprintf(stderr, "\n");
    return 1;
}

static void step(const char *text)
{
    printf("\n\033[1m== %s\033[0m\n", text);
}

static void print_json(const char *label, const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    printf("%s %s\n", label, s);
    free(s);
}

static json_t *get_json(const char *path)
{
    struct wire_resp r = {0};
    char url[512];
    json_t *j = NULL;

    snprintf(url, sizeof(url), "%s%s", proc.http, path);
    if (!wire_request("GET", url, NULL, NULL, 0, NULL, NULL, &r) &&
        r.status == 200)
        j = json_loadb(r.body, r.len, 0, NULL);
    wire_resp_free(&r);
    return j;
}

/* InitiateAuth USER_SRP_AUTH, then RespondToAuthChallenge PASSWORD_VERIFIER. */
static json_t *sign_in_srp(const char *pool_id, const char *client_id,
                           const char *username, const char *password)
{
    struct srp_client *srp = srp_client_new(NULL);
    struct wire_resp r = {0};
    json_t *challenge = NULL, *result = NULL;
    char signature[SRP_CLIENT_SIG_MAX], timestamp[SRP_CLIENT_TIMESTAMP_MAX];
    const char *pool_name = strchr(pool_id, '_') + 1;
    const char *user_id;
    char *body;

    body = wire_json_dump("{s:s, s:s, s:{s:s, s:s}}", "AuthFlow",
                          "USER_SRP_AUTH", "ClientId", client_id,
                          "AuthParameters", "USERNAME", username, "SRP_A",
                          srp_client_a_hex(srp));
    if (wire_json_call(proc.http, TARGET "InitiateAuth", body, NULL, NULL, &r,
                       &challenge) ||
        r.status != 200) {
        fail("InitiateAuth", &r);
        goto out;
    }
    printf("InitiateAuth -> %s (SRP_B, SALT, SECRET_BLOCK)\n",
           wire_json_str(challenge, "ChallengeName"));
    user_id = wire_json_str(challenge, "ChallengeParameters.USER_ID_FOR_SRP");
    srp_client_timestamp(time(NULL), timestamp);
    if (srp_client_signature(
            srp, pool_name, user_id, password,
            wire_json_str(challenge, "ChallengeParameters.SALT"),
            wire_json_str(challenge, "ChallengeParameters.SRP_B"),
            wire_json_str(challenge, "ChallengeParameters.SECRET_BLOCK"),
            timestamp, signature)) {
        fail("computing the SRP proof", NULL);
        goto out;
    }
    free(body);
    wire_resp_free(&r);
    body = wire_json_dump(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "ChallengeName",
        "PASSWORD_VERIFIER", "ClientId", client_id, "ChallengeResponses",
        "USERNAME", user_id, "PASSWORD_CLAIM_SECRET_BLOCK",
        wire_json_str(challenge, "ChallengeParameters.SECRET_BLOCK"),
        "TIMESTAMP", timestamp, "PASSWORD_CLAIM_SIGNATURE", signature);
    if (wire_json_call(proc.http, TARGET "RespondToAuthChallenge", body, NULL,
                       NULL, &r, &result) ||
        r.status != 200) {
        fail("RespondToAuthChallenge", &r);
        json_decref(result);
        result = NULL;
        goto out;
    }
    printf("RespondToAuthChallenge -> ID, access and refresh tokens\n");
out:
    free(body);
    wire_resp_free(&r);
    json_decref(challenge);
    srp_client_free(srp);
    return result;
}

/* The pool's public keys, as fetched from its JWKS endpoint. */
struct jwks {
    struct crypto_key *keys[8];
    char kids[8][CRYPTO_KID_MAX];
    size_t count;
};

static int jwks_load(struct jwks *set, const json_t *doc)
{
    const json_t *key;
    size_t i;

    json_array_foreach(json_object_get(doc, "keys"), i, key) {
        const char *kid = wire_json_str(key, "kid");

        if (set->count == 8 || !kid ||
            crypto_key_from_jwk(wire_json_str(key, "n"),
                                wire_json_str(key, "e"),
                                &set->keys[set->count], NULL))
            return -1;
        snprintf(set->kids[set->count++], CRYPTO_KID_MAX, "%s", kid);
    }
    return set->count ? 0 : -1;
}

static void jwks_release(struct jwks *set)
{
    for (size_t i = 0; i < set->count; i++)
        crypto_key_free(set->keys[i]);
    set->count = 0;
}

static const struct crypto_key *jwks_lookup(const char *kid, void *ctx)
{
    struct jwks *set = ctx;

    for (size_t i = 0; i < set->count; i++)
        if (!strcmp(set->kids[i], kid))
            return set->keys[i];
    return NULL;
}

static int show_token(const char *label, const char *token,
                      struct jwks *jwks)
{
    struct kaeri_error err = {0};
    struct jwt jwt = {0};

    if (!token) {
        fprintf(stderr, "demo: no %s in the answer\n", label);
        return 1;
    }
    if (jwt_verify(token, strlen(token), jwks_lookup, jwks, &jwt, &err)) {
        fprintf(stderr, "demo: %s does not verify: %s\n", label, err.text);
        return 1;
    }
    printf("\n%s (RS256, verified with the JWKS key %s):\n", label,
           json_string_value(json_object_get(jwt.header, "kid")));
    print_json("  header", jwt.header);
    print_json("  claims", jwt.claims);
    jwt_release(&jwt);
    return 0;
}

/* The first data frame's event, or NULL; keep-alives are skipped. */
static json_t *next_event(struct ws_client *c, const char *expect_type)
{
    for (;;) {
        char *msg = ws_client_recv(c, WS_CLIENT_WAIT_MS);
        json_t *j;

        if (!msg)
            return NULL;
        j = json_loads(msg, 0, NULL);
        free(msg);
        if (j && !strcmp(wire_json_str(j, "type"), expect_type))
            return j;
        if (j && strcmp(wire_json_str(j, "type"), "ka")) {
            char *text = json_dumps(j, JSON_COMPACT);

            fprintf(stderr, "demo: expected %s, got %s\n", expect_type, text);
            free(text);
            json_decref(j);
            return NULL;
        }
        json_decref(j);
    }
}

/*
 * The way back: alice subscribes to her own channel over wss:// with her
 * access token (as Amplify does), and the answer is published to it with
 * SigV4 for service appsync (as the seed's Lambda does; until the Lambda
 * issue, kaeri's admin keys sign in its place). Each piece is printed as
 * it arrives.
 */
static int answer_path(const json_t *tokens)
{
    static const char *const pieces[] = {"Hello", " from", " kaeri", "!"};
    const json_t *pool = json_array_get(json_object_get(endpoints, "userPools"), 0);
    const json_t *api = json_array_get(json_object_get(endpoints, "eventApis"), 0);
    const char *access = wire_json_str(tokens, "AuthenticationResult.AccessToken");
    char host[160], channel[256], url[256], sub_id[64] = "", *auth, *header, *list, *msg;
    struct ws_clients *clients = NULL;
    struct ws_client *ws = NULL;
    struct jwt jwt = {0};
    int rc = 1;

    (void)pool;
    step("subscribe to her channel (AppSync Events, wss://)");
    if (!api || jwt_decode(access, strlen(access), &jwt, NULL))
        goto out;
    snprintf(sub_id, sizeof(sub_id), "%s",
             wire_json_str(jwt.claims, "sub") ? wire_json_str(jwt.claims, "sub")
                                               : "");
    snprintf(host, sizeof(host), "%s", strstr(proc.events, "://") + 3);
    *strchr(host, '/') = '\0';
    snprintf(channel, sizeof(channel), "/bedrock-stream-response/%s/demo-session",
             sub_id);
    auth = wire_json_dump("{s:s, s:s}", "Authorization", access, "host", host);
    header = ws_client_header_protocol(auth);
    list = malloc(strlen(header) + 32);
    sprintf(list, "aws-appsync-event-ws,%s", header);
    clients = ws_clients_new(proc.ca);
    ws = clients ? ws_client_connect(clients, proc.realtime, list, NULL,
                                     WS_CLIENT_WAIT_MS)
                 : NULL;
    free(header);
    free(list);
    if (!ws || ws_client_send(ws, "{\"type\":\"connection_init\"}")) {
        free(auth);
        goto out;
    }
    json_decref(next_event(ws, "connection_ack"));
    msg = wire_json_dump("{s:s, s:s, s:s, s:o}", "type", "subscribe", "id", "1",
                         "channel", channel, "authorization",
                         json_loads(auth, 0, NULL));
    free(auth);
    ws_client_send(ws, msg);
    free(msg);
    {
        json_t *ok = next_event(ws, "subscribe_success");

        if (!ok)
            goto out;
        json_decref(ok);
    }
    printf("subscribed to %s over %s\n", channel, proc.realtime);

    step("the answer comes back, piece by piece");
    snprintf(url, sizeof(url), "%s", proc.events);
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        const char *h[] = {"Content-Type: application/json", NULL};
        char event[128], *body;
        struct wire_resp r = {0};
        json_t *data, *ev;
        snprintf(event, sizeof(event), "{\"message\":\"%s\",\"seq\":%zu}",
                 pieces[i], i);
        body = wire_json_dump("{s:s, s:[s]}", "channel", channel, "events",
                              event);
        if (wire_send(&(struct wire_req){.method = "POST", .url = url,
                                         .headers = h, .body = body,
                                         .len = strlen(body),
                                         .sigv4 = "aws:amz:ap-northeast-1:appsync",
                                         .userpwd = admin_keys,
                                         .ca = proc.ca},
                      &r) ||
            r.status != 200) {
            fail("POST /event", &r);
            free(body);
            wire_resp_free(&r);
            goto out;
        }
        free(body);
        wire_resp_free(&r);
        data = next_event(ws, "data");
        if (!data)
            goto out;
        ev = json_loads(wire_json_str(data, "event"), 0, NULL);
        printf("  seq %lld: \"%s\"\n",
               (long long)json_integer_value(json_object_get(ev, "seq")),
               wire_json_str(ev, "message"));
        json_decref(ev);
        json_decref(data);
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "demo: the events leg failed\n");
    jwt_release(&jwt);
    ws_client_free(ws);
    ws_clients_free(clients);
    return rc;
}

int main(void)
{
    const json_t *pool, *user;
    json_t *tokens = NULL, *jwks_doc = NULL;
    struct jwks jwks = {0};
    char jwks_path[256];
    int rc = 1;

    wire_global_init(NULL);
    fixture = json_load_file(kaeri_proc_path("fixtures/default.json"), 0, NULL);
    user = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(
                                           fixture, "cognito"),
                                                       "userPools"),
                                       0),
                        "users"),
        0);
    {
        const json_t *key = json_array_get(
            json_object_get(
                json_array_get(json_object_get(json_object_get(fixture, "iam"),
                                               "users"),
                               0),
                "accessKeys"),
            0);

        snprintf(admin_keys, sizeof(admin_keys), "%s:%s",
                 wire_json_str(key, "accessKeyId") ? wire_json_str(key, "accessKeyId") : "",
                 wire_json_str(key, "secretAccessKey") ? wire_json_str(key, "secretAccessKey") : "");
    }
    step("start kaeri");
    if (kaeri_proc_start(&proc, NULL, NULL)) {
        fprintf(stderr, "demo: kaeri did not start\n");
        goto out;
    }
    printf("ready: %s\n", proc.http);

    endpoints = get_json("/_kaeri/endpoints");
    pool = json_array_get(json_object_get(endpoints, "userPools"), 0);
    if (!pool || !user) {
        fprintf(stderr, "demo: no user pool or user in the fixture\n");
        goto out;
    }
    printf("user pool %s, app client %s, issuer %s\n",
           wire_json_str(pool, "id"),
           wire_json_str(json_array_get(json_object_get(pool, "clients"), 0),
                         "clientId"),
           wire_json_str(pool, "issuer"));

    step("sign in (USER_SRP_AUTH, as Amplify does)");
    printf("user %s\n", wire_json_str(user, "username"));
    tokens = sign_in_srp(
        wire_json_str(pool, "id"),
        wire_json_str(json_array_get(json_object_get(pool, "clients"), 0),
                      "clientId"),
        wire_json_str(user, "username"), wire_json_str(user, "password"));
    if (!tokens)
        goto out;

    step("her tokens");
    snprintf(jwks_path, sizeof(jwks_path), "/%s/.well-known/jwks.json",
             wire_json_str(pool, "id"));
    jwks_doc = get_json(jwks_path);
    if (!jwks_doc || jwks_load(&jwks, jwks_doc)) {
        fprintf(stderr, "demo: no usable JWKS at %s\n", jwks_path);
        goto out;
    }
    if (show_token("ID token",
                   wire_json_str(tokens, "AuthenticationResult.IdToken"),
                   &jwks) ||
        show_token("access token",
                   wire_json_str(tokens, "AuthenticationResult.AccessToken"),
                   &jwks))
        goto out;
    if (wire_json_str(tokens, "AuthenticationResult.RefreshToken"))
        printf("\nrefresh token: opaque, %zu characters\n",
               strlen(wire_json_str(tokens,
                                    "AuthenticationResult.RefreshToken")));
    if (answer_path(tokens))
        goto out;
    rc = 0;
out:
    step("stop kaeri");
    if (proc.pid && kaeri_proc_stop(&proc) != 0)
        rc = 1;
    printf("%s\n", rc ? "demo failed" : "done");
    jwks_release(&jwks);
    json_decref(jwks_doc);
    json_decref(tokens);
    json_decref(endpoints);
    json_decref(fixture);
    wire_global_cleanup(NULL);
    return rc;
}

/*
 * realtime.c - the AppSync Events realtime protocol's messages
 * (spec/appsync-events.md section 5.2): a table of client message types
 * with the members each needs, builders for the server's messages, and
 * the subprotocol header map of section 5.1.
 *
 * Left out on purpose: connection state (svc_events.c), the WebSocket
 * framing (net_lws.c) and any authorization decision.
 */
#include "realtime.h"
#include "alloc.h"
#include "b64.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What each client message must carry; the reply type for its errors. */
static const struct {
    const char *name;
    enum realtime_type type;
    bool needs_id;
    bool needs_channel;
    bool needs_events;
    const char *error_reply;
} types[] = {
    {"connection_init", REALTIME_CONNECTION_INIT, false, false, false, "error"},
    {"subscribe", REALTIME_SUBSCRIBE, true, true, false, "subscribe_error"},
    {"unsubscribe", REALTIME_UNSUBSCRIBE, true, false, false,
     "unsubscribe_error"},
    {"publish", REALTIME_PUBLISH, true, true, true, "publish_error"},
};

const char *realtime_type_name(enum realtime_type t)
{
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if (types[i].type == t)
            return types[i].name;
    return "?";
}

/* Cut a trailing partial UTF-8 sequence left by a truncating snprintf. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), start = n;

    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && ((unsigned char)s[start - 1] & 0x80)) {
        unsigned char lead = (unsigned char)s[start - 1];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;

        if (n - (start - 1) < want)
            s[start - 1] = '\0';
    }
}

static enum kaeri_err refuse(struct realtime_refusal *why,
                             const char *reply_type, const char *id,
                             const char *error_type, const char *message)
{
    why->reply_type = reply_type;
    snprintf(why->id, sizeof(why->id), "%s", id ? id : "");
    why->error_type = error_type;
    snprintf(why->message, sizeof(why->message), "%s", message);
    return KAERI_ERR_INVALID;
}

static bool usable_id(const json_t *id)
{
    size_t n;

    if (!json_is_string(id))
        return false;
    n = json_string_length(id);
    return n >= 1 && n <= REALTIME_ID_MAX &&
           strlen(json_string_value(id)) == n; /* no NUL inside */
}

static bool object_of_strings(const json_t *obj)
{
    const char *key;
    const json_t *value;

    if (!json_is_object(obj) ||
        json_object_size(obj) > REALTIME_AUTH_FIELDS_MAX)
        return false;
    json_object_foreach ((json_t *)obj, key, value)
        if (!json_is_string(value))
            return false;
    return true;
}

enum kaeri_err realtime_parse(const char *text, size_t len,
                              struct realtime_msg *out,
                              struct realtime_refusal *why)
{
    json_t *j, *type, *id, *channel, *auth;
    const char *name;
    size_t t;

    memset(out, 0, sizeof(*out));
    memset(why, 0, sizeof(*why));
    j = json_loadb(text, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return refuse(why, "error", NULL, "BadRequestException",
                      "Message is not a JSON object");
    }
    type = json_object_get(j, "type");
    id = json_object_get(j, "id");
    if (!json_is_string(type)) {
        json_decref(j);
        return refuse(why, "error", NULL, "BadRequestException",
                      "Message has no type");
    }
    name = json_string_value(type);
    for (t = 0; t < ARRAY_SIZE(types); t++)
        if (!strcmp(types[t].name, name))
            break;
    if (t == ARRAY_SIZE(types)) {
        char message[200];

        snprintf(message, sizeof(message), "Unsupported operation: %.120s",
                 name);
        utf8_trim(message);
        refuse(why, "error", usable_id(id) ? json_string_value(id) : NULL,
               "UnsupportedOperation", message);
        json_decref(j);
        return KAERI_ERR_INVALID;
    }
    if (types[t].needs_id && !usable_id(id)) {
        json_decref(j);
        return refuse(why, "error", NULL, "BadRequestException",
                      "Message has no valid id");
    }
    out->type = types[t].type;
    out->id = types[t].needs_id ? json_string_value(id) : NULL;
    out->json = j;
    channel = json_object_get(j, "channel");
    if (types[t].needs_channel) {
        if (!json_is_string(channel)) {
            refuse(why, types[t].error_reply, out->id, "BadRequestException",
                   "Invalid Channel Format");
            goto fail;
        }
        out->channel = json_string_value(channel);
    }
    if (types[t].needs_events) {
        out->events = json_object_get(j, "events");
        if (!json_is_array(out->events)) {
            refuse(why, types[t].error_reply, out->id, "BadRequestException",
                   "Invalid events: expected an array of strings");
            goto fail;
        }
    }
    auth = json_object_get(j, "authorization");
    if (types[t].needs_channel && auth && !json_is_null(auth)) {
        if (!object_of_strings(auth)) {
            refuse(why, types[t].error_reply, out->id, "BadRequestException",
                   "Invalid authorization: expected an object of strings");
            goto fail;
        }
        out->authorization = auth;
    }
    return KAERI_OK;
fail:
    realtime_msg_release(out);
    return KAERI_ERR_INVALID;
}

void realtime_msg_release(struct realtime_msg *m)
{
    json_decref(m->json);
    memset(m, 0, sizeof(*m));
}

/*
 * Serialise and free 'j'. json_pack() fails only on a string that is not
 * UTF-8, which nothing decoded by jansson is; should one slip through,
 * the client gets an error frame rather than kaeri a crash.
 */
static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (!s)
        return xstrdup("{\"type\":\"error\",\"errors\":[{\"errorType\":"
                       "\"InternalFailure\",\"message\":\"Message could "
                       "not be encoded\"}]}");
    return s;
}

char *realtime_connection_ack(long timeout_ms)
{
    return dump(json_pack("{s:s, s:I}", "type", "connection_ack",
                          "connectionTimeoutMs", (json_int_t)timeout_ms));
}

char *realtime_ka(void)
{
    return xstrdup("{\"type\":\"ka\"}");
}

char *realtime_success(const char *type, const char *id)
{
    return dump(json_pack("{s:s, s:s}", "type", type, "id", id));
}

char *realtime_error(const char *type, const char *id, const char *error_type,
                     const char *message)
{
    json_t *error = json_pack("{s:s}", "errorType", error_type);
    json_t *j = json_pack("{s:s}", "type", type);

    if (message)
        json_object_set_new(error, "message", json_string(message));
    if (id && *id)
        json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "errors", json_pack("[o]", error));
    return dump(j);
}

char *realtime_refusal_text(const struct realtime_refusal *why)
{
    return realtime_error(why->reply_type, why->id, why->error_type,
                          why->message);
}

char *realtime_data(const char *sub_id, const char *event, size_t len)
{
    return dump(json_pack("{s:s, s:s, s:s%}", "type", "data", "id", sub_id,
                          "event", event, len));
}

char *realtime_publish_success(const char *id, const json_t *successful,
                               const json_t *failed)
{
    return dump(json_pack("{s:s, s:s, s:O, s:O}", "type", "publish_success",
                          "id", id, "successful", successful, "failed",
                          failed));
}

enum kaeri_err realtime_auth_header(const char *protocols, json_t **out,
                                    struct kaeri_error *err)
{
    const char *p = protocols;
    struct buf decoded;
    json_t *map;
    json_error_t jerr;

    *out = NULL;
    while (p && *p) {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        if (n > strlen(REALTIME_HEADER_PREFIX) &&
            !strncmp(p, REALTIME_HEADER_PREFIX,
                     strlen(REALTIME_HEADER_PREFIX))) {
            const char *b64 = p + strlen(REALTIME_HEADER_PREFIX);
            size_t b64_len = n - strlen(REALTIME_HEADER_PREFIX);

            while (b64_len &&
                   (b64[b64_len - 1] == ' ' || b64[b64_len - 1] == '\t'))
                b64_len--;
            buf_init(&decoded, REALTIME_AUTH_HEADER_MAX);
            if (b64url_decode(b64, b64_len, &decoded)) {
                buf_release(&decoded);
                return kaeri_fail(err, KAERI_ERR_INVALID, "header",
                                  "not base64url, or over %d bytes",
                                  REALTIME_AUTH_HEADER_MAX);
            }
            map = json_loadb(decoded.data, decoded.len, JSON_REJECT_DUPLICATES,
                             &jerr);
            buf_release(&decoded);
            if (!object_of_strings(map)) {
                json_decref(map);
                return kaeri_fail(err, KAERI_ERR_INVALID, "header",
                                  "not a JSON object of strings");
            }
            *out = map;
            return KAERI_OK;
        }
        p += n;
    }
    return kaeri_fail(err, KAERI_ERR_NOT_FOUND, "header",
                      "no header- subprotocol");
}

char *realtime_signed_body(enum realtime_type type, const char *channel,
                           const json_t *events)
{
    switch (type) {
    case REALTIME_SUBSCRIBE:
        return dump(json_pack("{s:s}", "channel", channel));
    case REALTIME_PUBLISH:
        return dump(
            json_pack("{s:s, s:O}", "channel", channel, "events", events));
    default:
        return xstrdup("{}");
    }
}

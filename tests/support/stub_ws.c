/*
 * stub_ws.c - see stub_ws.h.
 */
#include "stub_ws.h"
#include "alloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum kaeri_err stub_send_text(struct ws_conn *c, const char *text,
                                     size_t len)
{
    struct stub_ws *s = c->transport_ctx;
    size_t max = s->queue_max ? s->queue_max : WS_QUEUE_MAX_BYTES;
    json_t *j;

    if (s->closing || s->finished) {
        s->refused++;
        return KAERI_ERR_IO;
    }
    if (c->queued_bytes + len > max) {
        s->refused++;
        return KAERI_ERR_LIMIT;
    }
    j = json_loadb(text, len, 0, NULL);
    assert(j); /* every frame kaeri sends is JSON */
    json_object_set_new(j, "_bytes", json_integer((json_int_t)len));
    json_array_append_new(s->frames, j);
    c->queued_bytes += len;
    s->sent++;
    return KAERI_OK;
}

static void stub_close(struct ws_conn *c, int code, const char *reason)
{
    struct stub_ws *s = c->transport_ctx;

    if (s->closing)
        return;
    s->closing = true;
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s",
             reason ? reason : "");
}

static const struct ws_transport stub_ws_transport = {
    .send_text = stub_send_text,
    .close = stub_close,
};

void stub_ws_open(struct stub_ws *s, const struct ws_service *svc, uint64_t id,
                  const char *const headers[])
{
    memset(s, 0, sizeof(*s));
    s->frames = json_array();
    s->conn.id = id;
    s->conn.listener = "events";
    s->conn.path = xstrdup(svc ? svc->path : "/event/realtime");
    s->conn.query = xstrdup("");
    snprintf(s->conn.peer_ip, sizeof(s->conn.peer_ip), "127.0.0.1");
    s->conn.peer_loopback = true;
    s->conn.transport = &stub_ws_transport;
    s->conn.transport_ctx = s;
    s->conn.service = svc;
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *value = colon + 1;
        struct http_headers *h = &s->conn.headers;
        char *name = xstrndup(headers[i], (size_t)(colon - headers[i]));

        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        while (*value == ' ')
            value++;
        if (h->count == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 8;
            h->items = xrealloc(h->items, h->cap * sizeof(*h->items));
        }
        h->items[h->count].name = name;
        h->items[h->count].value = xstrdup(value);
        h->count++;
    }
    if (svc)
        svc->open(&s->conn);
}

void stub_ws_send(struct stub_ws *s, const char *text)
{
    assert(s->conn.service);
    s->conn.service->message(&s->conn, text, strlen(text));
}

json_t *stub_ws_next(struct stub_ws *s)
{
    json_t *j;

    if (!json_array_size(s->frames))
        return NULL;
    j = json_incref(json_array_get(s->frames, 0));
    json_array_remove(s->frames, 0);
    s->conn.queued_bytes -=
        (size_t)json_integer_value(json_object_get(j, "_bytes"));
    json_object_del(j, "_bytes");
    return j;
}

size_t stub_ws_pending(const struct stub_ws *s)
{
    return json_array_size(s->frames);
}

void stub_ws_drain(struct stub_ws *s)
{
    json_t *j;

    while ((j = stub_ws_next(s)))
        json_decref(j);
}

void stub_ws_finish(struct stub_ws *s)
{
    if (s->finished)
        return;
    if (s->conn.service)
        s->conn.service->closed(&s->conn);
    s->finished = true;
    json_decref(s->frames);
    s->frames = NULL;
    free(s->conn.path);
    free(s->conn.query);
    http_headers_release(&s->conn.headers);
}

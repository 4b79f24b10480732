/*
 * ws.c - the small shared part of ws.h: header lookup and the calls that
 * go through the connection's transport.
 */
#include "ws.h"

#include <strings.h>

const char *ws_conn_header(const struct ws_conn *c, const char *name)
{
    for (size_t i = 0; i < c->headers.count; i++)
        if (!strcasecmp(c->headers.items[i].name, name))
            return c->headers.items[i].value;
    return NULL;
}

enum kaeri_err ws_send_text(struct ws_conn *c, const char *text, size_t len)
{
    return c->transport->send_text(c, text, len);
}

void ws_close(struct ws_conn *c, int code, const char *reason)
{
    c->transport->close(c, code, reason);
}

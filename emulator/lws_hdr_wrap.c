/*
 * lws_hdr_wrap.c - lift libwebsockets 4.1.6's 127-byte limit on the
 * Sec-WebSocket-Protocol header (spec/transport.md section 1).
 *
 * lws copies the offered subprotocols into a 128-byte stack buffer and
 * drops the connection when they do not fit; every real AppSync client
 * sends 1-3 KB there ("header-<base64url auth map>"). kaeri links lws
 * statically with -Wl,--wrap=lws_hdr_copy, so lws's own call lands here:
 * for that one header and a buffer of 128 bytes or less, read the whole
 * value into a large buffer and hand lws only the tokens it can use
 * (names shorter than 64 characters, "aws-appsync-event-ws"), dropping
 * the long "header-..." token that kaeri reads itself. Every other call
 * passes through. tests/wire/test_events.c connects with a 4 KB header,
 * so a libwebsockets build that binds this call internally fails CI.
 */
#include <libwebsockets.h>
#include <string.h>

#define WRAP_BIG_HEADER   16384
#define WRAP_LWS_BUF_MAX  128 /* lws_process_ws_upgrade's buffer */
#define WRAP_NAME_MAX     64  /* its per-token name buffer */

int __real_lws_hdr_copy(struct lws *wsi, char *dest, int len,
                        enum lws_token_indexes h);
int __wrap_lws_hdr_copy(struct lws *wsi, char *dest, int len,
                        enum lws_token_indexes h);

int __wrap_lws_hdr_copy(struct lws *wsi, char *dest, int len,
                        enum lws_token_indexes h)
{
    static char big[WRAP_BIG_HEADER];
    int n, out = 0;
    char *tok, *save = NULL;

    if (h != WSI_TOKEN_PROTOCOL || len > WRAP_LWS_BUF_MAX || len <= 0)
        return __real_lws_hdr_copy(wsi, dest, len, h);
    n = __real_lws_hdr_copy(wsi, big, sizeof(big), h);
    if (n < 0)
        return n;
    for (tok = strtok_r(big, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t tl;

        while (*tok == ' ')
            tok++;
        tl = strlen(tok);
        if (tl == 0 || tl >= WRAP_NAME_MAX)
            continue;
        if (out + (out ? 1 : 0) + (int)tl >= len)
            break;
        if (out)
            dest[out++] = ',';
        memcpy(dest + out, tok, tl);
        out += (int)tl;
    }
    dest[out] = '\0';
    return out;
}

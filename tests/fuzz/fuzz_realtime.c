/*
 * fuzz_realtime.c - libFuzzer target for realtime.c: the input is one
 * client message, parsed; what parses is answered the way svc_events.c
 * would (the refusal text, or a success / publish_success / data frame
 * with its id and events), and every frame built must be JSON again. The
 * same bytes are also tried as a Sec-WebSocket-Protocol value. Nothing
 * may crash, leak, or build a frame that does not parse.
 */
#include "realtime.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(char *frame)
{
    json_t *j = json_loads(frame, 0, NULL);

    assert(json_is_object(j));
    assert(json_is_string(json_object_get(j, "type")));
    json_decref(j);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct realtime_msg m;
    struct realtime_refusal why;
    char *text;
    json_t *map = NULL;

    if (realtime_parse((const char *)data, size, &m, &why)) {
        check_frame(realtime_refusal_text(&why));
    } else {
        switch (m.type) {
        case REALTIME_CONNECTION_INIT:
            check_frame(
                realtime_connection_ack(REALTIME_CONNECTION_TIMEOUT_MS));
            break;
        case REALTIME_SUBSCRIBE:
            check_frame(realtime_success("subscribe_success", m.id));
            free(realtime_signed_body(m.type, m.channel, NULL));
            break;
        case REALTIME_UNSUBSCRIBE:
            check_frame(realtime_success("unsubscribe_success", m.id));
            break;
        case REALTIME_PUBLISH:
            for (size_t i = 0; i < json_array_size(m.events); i++) {
                const json_t *e = json_array_get(m.events, i);

                if (json_is_string(e))
                    check_frame(realtime_data(m.id, json_string_value(e),
                                              json_string_length(e)));
            }
            check_frame(realtime_publish_success(m.id, m.events, m.events));
            free(realtime_signed_body(m.type, m.channel, m.events));
            break;
        }
        realtime_msg_release(&m);
    }
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    if (!realtime_auth_header(text, &map, NULL))
        assert(json_is_object(map));
    json_decref(map);
    free(text);
    return 0;
}

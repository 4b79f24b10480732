/*
 * log.c - stderr logging, text or JSON lines. Each line is written with
 * one write() so lines from kaeri and its child handlers do not interleave.
 */
#include "log.h"
#include "buf.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 16384

static enum log_level min_level = LOG_INFO;
static enum log_format line_format = LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format format)
{
    min_level = level;
    line_format = format;
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (!strcmp(s, level_names[i])) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level;
}

/* Wall time, not kaeri's shifted "now": logs are for the person reading. */
static void add_timestamp(struct buf *b)
{
    struct timespec ts;
    struct tm tm;
    char s[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    (void)buf_printf(b, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

static void add_json_string(struct buf *b, const char *s)
{
    (void)buf_addch(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            (void)buf_printf(b, "\\%c", c);
        else if (c == '\n')
            (void)buf_adds(b, "\\n");
        else if (c < 0x20)
            (void)buf_printf(b, "\\u%04x", c);
        else
            (void)buf_addch(b, (char)c);
    }
    (void)buf_addch(b, '"');
}

static void emit(struct buf *b)
{
    const char *p;
    size_t left;

    if (b->len && b->data[b->len - 1] != '\n')
        (void)buf_addch(b, '\n'); /* may move the data: read it after */
    p = b->data;
    left = b->len;
    while (left) {
        ssize_t n = write(STDERR_FILENO, p, left);

        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
}

void log_msg(enum log_level level, const char *request_id, const char *fmt,
             ...)
{
    struct buf b, msg;
    va_list ap;

    if (level < min_level)
        return;
    buf_init(&b, LOG_LINE_MAX);
    buf_init(&msg, LOG_LINE_MAX);
    va_start(ap, fmt);
    (void)buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (line_format == LOG_JSON) {
        (void)buf_adds(&b, "{\"time\":\"");
        add_timestamp(&b);
        (void)buf_printf(&b, "\",\"level\":\"%s\"", level_names[level]);
        if (request_id) {
            (void)buf_adds(&b, ",\"requestId\":");
            add_json_string(&b, request_id);
        }
        (void)buf_adds(&b, ",\"msg\":");
        add_json_string(&b, msg.data);
        (void)buf_adds(&b, "}");
    } else {
        add_timestamp(&b);
        (void)buf_printf(&b, " %-5s ", level_names[level]);
        if (request_id)
            (void)buf_printf(&b, "[%s] ", request_id);
        (void)buf_add(&b, msg.data, msg.len);
    }
    emit(&b);
    buf_release(&msg);
    buf_release(&b);
}

void log_access(const struct log_access *a)
{
    struct buf b;

    if (LOG_INFO < min_level)
        return;
    buf_init(&b, LOG_LINE_MAX);
    if (line_format == LOG_JSON) {
        (void)buf_adds(&b, "{\"time\":\"");
        add_timestamp(&b);
        (void)buf_adds(&b, "\",\"level\":\"info\",\"requestId\":");
        add_json_string(&b, a->request_id);
        (void)buf_adds(&b, ",\"listener\":");
        add_json_string(&b, a->listener);
        (void)buf_adds(&b, ",\"method\":");
        add_json_string(&b, a->method);
        (void)buf_adds(&b, ",\"path\":");
        add_json_string(&b, a->path);
        (void)buf_adds(&b, ",\"service\":");
        add_json_string(&b, a->service);
        (void)buf_adds(&b, ",\"operation\":");
        add_json_string(&b, a->operation);
        (void)buf_printf(&b, ",\"status\":%d,\"durationMs\":%.3f", a->status,
                         (double)a->duration_us / 1000.0);
        if (a->error_code) {
            (void)buf_adds(&b, ",\"error\":");
            add_json_string(&b, a->error_code);
        }
        (void)buf_adds(&b, "}");
    } else {
        add_timestamp(&b);
        (void)buf_printf(&b, " info  [%s] %s %s %s %s %s %d %.3fms",
                         a->request_id, a->listener, a->method, a->path,
                         a->service, a->operation, a->status,
                         (double)a->duration_us / 1000.0);
        if (a->error_code)
            (void)buf_printf(&b, " %s", a->error_code);
    }
    emit(&b);
    buf_release(&b);
}

/*
 * log.h - one line per event on stderr, as text or JSON (--log-format).
 * Stdout carries only the ready line, so nothing here writes to it.
 */
#ifndef KAERI_LOG_H
#define KAERI_LOG_H

#include "kaeri.h"

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

void log_setup(enum log_level level, enum log_format format);
/* Parse "debug", "info", "warn", "error"; false if unknown. */
bool log_level_parse(const char *s, enum log_level *out);
bool log_enabled(enum log_level level);

/*
 * Log a message; 'request_id' may be NULL. Messages are lower case with
 * no full stop, names quoted (git's style).
 */
void log_msg(enum log_level level, const char *request_id, const char *fmt,
             ...) KAERI_PRINTF(3, 4);

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

/* The fields of the one line every HTTP request gets. */
struct log_access {
    const char *request_id;
    const char *listener; /* "http", "h2", "events" */
    const char *method;
    const char *path;
    const char *service;   /* "cognito-idp", ... or "-" */
    const char *operation; /* "InitiateAuth", ... or "-" */
    int status;
    int64_t duration_us;
    const char *error_code; /* AWS error code when the answer is an error */
};

void log_access(const struct log_access *a);

#endif

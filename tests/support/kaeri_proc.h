/*
 * kaeri_proc.h - run a real kaeri for the wire tests.
 *
 * kaeri_proc_start() runs `kaeri serve` on free ports (--port 0
 * --events-port 0) with its own temporary --state-dir, reads the one ready
 * line (CONTRACT.md) from its stdout and fills the URLs; its stderr goes to
 * a log file in that directory, which tests may search. kaeri_proc_stop()
 * sends SIGTERM and returns the exit status, which must be 0. Every wait is
 * bounded (KAERI_PROC_WAIT_MS); nothing sleeps.
 *
 * Environment: KAERI_BIN, the binary (default: emulator/kaeri under the
 * root); KAERI_ROOT, the source tree (default: the current directory), where
 * kaeri runs and fixtures are found; KAERI_KEEP_TMP, if set, keeps the
 * temporary directory (and its log) after the test.
 */
#ifndef KAERI_KAERI_PROC_H
#define KAERI_KAERI_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define KAERI_PROC_WAIT_MS    10000 /* ready line, exit after SIGTERM, run */
#define KAERI_PROC_OUTPUT_MAX (1u << 20) /* kept of a run's stdout, stderr */

/*
 * A running kaeri. Fill it with kaeri_proc_start(); the fields below the
 * URLs are private.
 */
struct kaeri_proc {
    pid_t pid;           /* 0: not running */
    char http[128];      /* "http://127.0.0.1:PORT" */
    char events[160];    /* "https://127.0.0.1:EPORT/event", or "" */
    char realtime[160];  /* "wss://127.0.0.1:EPORT/event/realtime", or "" */
    char ca[512];        /* the CA file, or "" */
    char state_dir[256]; /* temporary, removed by kaeri_proc_stop() */
    char log_path[300];  /* kaeri's stderr, in state_dir */
    json_t *ready;       /* the whole ready line, owned */
    /* private */
    int pidfd;           /* -1 where pidfd_open() is refused */
    int out_fd;          /* read end of kaeri's stdout */
    size_t stdout_extra; /* bytes kaeri wrote to stdout after the line */
};

/*
 * Start `KAERI_BIN serve --config CFG --port 0 --events-port 0 --state-dir
 * DIR --log-level debug EXTRA...` in the directory KAERI_ROOT and wait up to
 * KAERI_PROC_WAIT_MS for its ready line. 'config_path' NULL means
 * fixtures/default.json; a relative path is taken under KAERI_ROOT.
 * 'extra_args' is NULL or NULL-terminated. Returns 0 with 'p' filled, or -1
 * with the reason and the tail of kaeri's log on stderr, kaeri killed and
 * 'p' released.
 */
int kaeri_proc_start(struct kaeri_proc *p, const char *config_path,
                     const char *const extra_args[]);

/*
 * SIGTERM, then wait up to KAERI_PROC_WAIT_MS. Returns the exit status
 * (0 expected; 128 + N if killed by signal N), or -1 if kaeri was still
 * running (it is then killed with its process group) or 'p' held none.
 * Warns on stderr when kaeri wrote to stdout after the ready line or left
 * processes behind in its group (killed), and shows the log tail when the
 * status is not 0. Removes the temporary directory and releases 'p'.
 */
int kaeri_proc_stop(struct kaeri_proc *p);

/* 1 if kaeri's log holds 'needle' now, else 0. */
int kaeri_proc_log_contains(const struct kaeri_proc *p, const char *needle);

/*
 * Wait until kaeri's log holds 'needle', up to 'timeout_ms' (inotify, no
 * polling loop). Returns 1 when found, 0 on timeout.
 */
int kaeri_proc_log_wait(const struct kaeri_proc *p, const char *needle,
                        int timeout_ms);

/* The whole log as a new NUL-terminated string (free()), or NULL. */
char *kaeri_proc_log_read(const struct kaeri_proc *p);

/*
 * Run `KAERI_BIN ARGV_TAIL...` in KAERI_ROOT to completion, waiting up to
 * KAERI_PROC_WAIT_MS. Fills '*exit_code' (128 + N if killed by signal N) and,
 * when not NULL, '*stdout_text' and '*stderr_text' with new strings the
 * caller frees (the first KAERI_PROC_OUTPUT_MAX bytes). Returns 0 when the
 * process ended, or -1 (reason on stderr; killed if it was still running,
 * texts NULL).
 */
int kaeri_proc_run(const char *const argv_tail[], int *exit_code,
                   char **stdout_text, char **stderr_text);

/* kaeri_proc_run() without stdout: config errors, usage. */
int kaeri_proc_run_expect_exit(const char *const argv_tail[], int *exit_code,
                               char **stderr_text);

/*
 * The absolute path of 'rel' under KAERI_ROOT ('rel' itself when it is
 * absolute). The result lives in one of 8 rotating static buffers (as git's
 * oid_to_hex()), so up to 8 may be used at once; copy it to keep it.
 */
const char *kaeri_proc_path(const char *rel);

#endif

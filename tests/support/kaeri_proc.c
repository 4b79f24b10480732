/*
 * kaeri_proc.c - start, watch and stop a real kaeri for the wire tests.
 *
 * The child runs in its own process group (so a kill takes its Lambda
 * handlers too) with PR_SET_PDEATHSIG, so a test that crashes leaves no
 * server behind. Exits are awaited on a pidfd where the kernel allows one,
 * else by waitpid(WNOHANG) in short steps; either way bounded by
 * KAERI_PROC_WAIT_MS. Linux only, like kaeri. Left out on purpose: Windows,
 * restarting a server, more than one ready line.
 */
#include "kaeri_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_LINE_MAX 4096
#define LOG_TAIL_BYTES 4096
#define LOG_READ_MAX   (64u << 20)
#define RM_DEPTH_MAX   16
#define PATH_SLOTS     8

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until 'deadline', for poll(): never negative. */
static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();

    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

const char *kaeri_proc_path(const char *rel)
{
    static char bufs[PATH_SLOTS][PATH_MAX];
    static unsigned next;
    char *out = bufs[next++ % PATH_SLOTS];
    const char *root = getenv("KAERI_ROOT");
    char abs_root[PATH_MAX];

    if (rel[0] == '/') {
        snprintf(out, PATH_MAX, "%s", rel);
        return out;
    }
    if (!root || !*root)
        root = ".";
    if (!realpath(root, abs_root))
        snprintf(abs_root, sizeof(abs_root), "%s", root);
    if (snprintf(out, PATH_MAX, "%s/%s", abs_root, rel) >= PATH_MAX)
        fprintf(stderr, "kaeri_proc: path too long: %s/%s\n", abs_root, rel);
    return out;
}

/*
 * The binary to run, as an absolute path in 'out': KAERI_BIN (relative to
 * the current directory, since kaeri runs in KAERI_ROOT), else
 * emulator/kaeri under KAERI_ROOT. Returns 0, or -1 if it is not executable.
 */
static int find_binary(char out[PATH_MAX])
{
    const char *bin = getenv("KAERI_BIN");

    if (bin && *bin) {
        if (!realpath(bin, out)) {
            fprintf(stderr, "kaeri_proc: KAERI_BIN '%s': %s\n", bin,
                    strerror(errno));
            return -1;
        }
    } else {
        snprintf(out, PATH_MAX, "%s", kaeri_proc_path("emulator/kaeri"));
    }
    if (access(out, X_OK)) {
        fprintf(stderr, "kaeri_proc: '%s': %s (set KAERI_BIN)\n", out,
                strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * fork() and exec 'argv' in KAERI_ROOT with stdin from /dev/null and
 * stdout, stderr on 'out_fd', 'err_fd'. The child gets its own process
 * group, an empty signal mask and SIGTERM when this process dies. Returns
 * the pid, or -1.
 */
static pid_t spawn(char *const argv[], int out_fd, int err_fd)
{
    const char *root = kaeri_proc_path(".");
    pid_t parent = getpid(), pid;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct sigaction dfl;
    sigset_t none;

    if (devnull < 0) {
        fprintf(stderr, "kaeri_proc: /dev/null: %s\n", strerror(errno));
        return -1;
    }
    sigemptyset(&none);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL; /* a test's SIG_IGN would survive exec */
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kaeri_proc: fork: %s\n", strerror(errno));
        close(devnull);
        return -1;
    }
    if (pid == 0) { /* async-signal-safe calls only from here */
        static const char msg[] = "kaeri_proc: exec failed\n";

        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        sigprocmask(SIG_SETMASK, &none, NULL);
        sigaction(SIGPIPE, &dfl, NULL);
        if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 ||
            dup2(err_fd, 2) < 0 || chdir(root))
            _exit(127);
        execv(argv[0], argv);
        if (write(2, msg, sizeof(msg) - 1) < 0)
            _exit(127);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with the child's own call */
    close(devnull);
    return pid;
}

/*
 * pipe() with both ends close-on-exec (pipe2() needs _GNU_SOURCE; tests do
 * not fork from two threads at once). Returns 0 or -1.
 */
static int cloexec_pipe(int fds[2])
{
    if (pipe(fds))
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC)) {
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

/* A pidfd for 'pid', or -1 where the kernel or a seccomp filter refuses. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/*
 * Reap 'pid' if it exits before 'deadline': on 'pidfd' when there is one,
 * else by waitpid(WNOHANG) every 10 ms. Returns 0 with '*status' filled, or
 * -1 on timeout.
 */
static int wait_until(pid_t pid, int pidfd, long long deadline, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "kaeri_proc: waitpid %d: %s\n", (int)pid,
                    strerror(errno));
            return -1;
        }
        if (!left_ms(deadline))
            return -1;
        if (pidfd >= 0) {
            struct pollfd pfd = {pidfd, POLLIN, 0};

            if (poll(&pfd, 1, left_ms(deadline)) < 0 && errno != EINTR)
                return -1;
        } else {
            struct timespec step = {0, 10 * 1000 * 1000};

            nanosleep(&step, NULL);
        }
    }
}

/* Kill 'pid' and its process group for good and reap it. */
static void kill_group(pid_t pid, int *status)
{
    int st;

    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status ? status : &st, 0) < 0 && errno == EINTR)
        ;
}

/* The exit code as a shell reports it: 128 + N for signal N. */
static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* Print the last LOG_TAIL_BYTES of the log to stderr. */
static void print_log_tail(const char *path)
{
    char buf[LOG_TAIL_BYTES + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t end;
    ssize_t n;

    if (fd < 0)
        return;
    end = lseek(fd, 0, SEEK_END);
    if (end > LOG_TAIL_BYTES)
        lseek(fd, end - LOG_TAIL_BYTES, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, LOG_TAIL_BYTES);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    fprintf(stderr, "---- tail of %s ----\n%s%s---- end of log ----\n", path,
            buf, n && buf[n - 1] != '\n' ? "\n" : "");
}

/* Remove the directory 'dirfd' holds, 'depth' levels down at most. */
static void rm_tree_at(int dirfd, int depth)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *e;

    if (!d) {
        close(dirfd);
        return;
    }
    while ((e = readdir(d))) {
        struct stat st;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        if (S_ISDIR(st.st_mode) && depth < RM_DEPTH_MAX) {
            int sub = openat(dirfd, e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub >= 0)
                rm_tree_at(sub, depth + 1);
            unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd, e->d_name, 0);
        }
    }
    closedir(d); /* closes dirfd */
}

/* rm -rf 'path', unless KAERI_KEEP_TMP asks to keep it. */
static void remove_tree(const char *path)
{
    int fd;

    if (!path[0])
        return;
    if (getenv("KAERI_KEEP_TMP")) {
        fprintf(stderr, "kaeri_proc: kept %s\n", path);
        return;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        rm_tree_at(fd, 0);
    if (rmdir(path) && errno != ENOENT)
        fprintf(stderr, "kaeri_proc: rmdir %s: %s\n", path, strerror(errno));
}

/* Close, free and remove what 'p' holds; the process is already gone. */
static void release(struct kaeri_proc *p)
{
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->pidfd >= 0)
        close(p->pidfd);
    json_decref(p->ready);
    remove_tree(p->state_dir);
    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    p->out_fd = -1;
}

/* Copy the string member 'key' of 'ready' to 'out'; absent gives "". */
static int copy_field(const json_t *ready, const char *key, char *out,
                      size_t size, int required)
{
    const json_t *v = json_object_get(ready, key);

    out[0] = '\0';
    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v) || json_string_length(v) >= size)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Parse the ready line (CONTRACT.md) into 'p'. Returns 0 or -1. */
static int parse_ready(struct kaeri_proc *p, const char *line, size_t len)
{
    json_error_t err;

    p->ready = json_loadb(line, len, 0, &err);
    if (!p->ready) {
        fprintf(stderr, "kaeri_proc: ready line is not JSON (%s): %.*s\n",
                err.text, (int)len, line);
        return -1;
    }
    if (!json_is_object(p->ready) ||
        !json_is_true(json_object_get(p->ready, "ready")) ||
        copy_field(p->ready, "http", p->http, sizeof(p->http), 1) ||
        copy_field(p->ready, "events", p->events, sizeof(p->events), 0) ||
        copy_field(p->ready, "realtime", p->realtime, sizeof(p->realtime), 0) ||
        copy_field(p->ready, "ca", p->ca, sizeof(p->ca), 0)) {
        fprintf(stderr, "kaeri_proc: bad ready line: %.*s\n", (int)len, line);
        return -1;
    }
    return 0;
}

/*
 * Read stdout until the first newline, at most READY_LINE_MAX bytes, by
 * 'deadline'. Bytes after the newline count as stdout_extra. Returns 0, or
 * -1 with the reason printed (exit, closed stdout, timeout).
 */
static int read_ready(struct kaeri_proc *p, long long deadline)
{
    char buf[READY_LINE_MAX + 1];
    size_t len = 0;
    char *nl;

    for (;;) {
        struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->pidfd, POLLIN, 0}};
        int nfds = p->pidfd >= 0 ? 2 : 1, left = left_ms(deadline), rc, st;

        if (!left) {
            fprintf(stderr, "kaeri_proc: no ready line after %d ms\n",
                    KAERI_PROC_WAIT_MS);
            return -1;
        }
        rc = poll(fds, (nfds_t)nfds, nfds == 2 || left < 100 ? left : 100);
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, "kaeri_proc: poll: %s\n", strerror(errno));
            return -1;
        }
        if (rc > 0 && fds[0].revents) {
            ssize_t n = read(p->out_fd, buf + len, READY_LINE_MAX - len);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                fprintf(stderr, "kaeri_proc: stdout closed before the "
                                "ready line\n");
                return -1;
            }
            len += (size_t)n;
            buf[len] = '\0';
            nl = memchr(buf, '\n', len);
            if (nl) {
                p->stdout_extra = len - (size_t)(nl + 1 - buf);
                return parse_ready(p, buf, (size_t)(nl - buf));
            }
            if (len == READY_LINE_MAX) {
                fprintf(stderr, "kaeri_proc: ready line over %d bytes\n",
                        READY_LINE_MAX);
                return -1;
            }
            continue;
        }
        /* nothing to read: did it exit? */
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            fprintf(stderr,
                    "kaeri_proc: kaeri exited (status %d) before the ready "
                    "line\n",
                    status_code(st));
            p->pid = 0;
            return -1;
        }
    }
}

/*
 * argv for `BIN serve ...` with 'extra' appended, as a new array of borrowed
 * strings (free() the array only), or NULL.
 */
static char **serve_argv(const char *bin, const char *config,
                         const char *state_dir, const char *const extra[])
{
    const char *const fixed[] = {
        bin,           "serve",   "--config",      config,
        "--port",      "0",       "--events-port", "0",
        "--state-dir", state_dir, "--log-level",   "debug"};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nextra = 0, i;
    char **argv;

    while (extra && extra[nextra])
        nextra++;
    argv = calloc(nfixed + nextra + 1, sizeof(*argv));
    if (!argv)
        return NULL;
    /* exec takes char *const[]; the strings are not written to */
    for (i = 0; i < nfixed; i++)
        argv[i] = (char *)(uintptr_t)fixed[i];
    for (i = 0; i < nextra; i++)
        argv[nfixed + i] = (char *)(uintptr_t)extra[i];
    return argv;
}

int kaeri_proc_start(struct kaeri_proc *p, const char *config_path,
                     const char *const extra_args[])
{
    char bin[PATH_MAX], config[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    char **argv = NULL;
    int pipefd[2] = {-1, -1}, log_fd = -1, st;

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    p->out_fd = -1;
    if (find_binary(bin))
        goto fail;
    snprintf(
        config, sizeof(config), "%s",
        kaeri_proc_path(config_path ? config_path : "fixtures/default.json"));
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(p->state_dir, sizeof(p->state_dir), "%s/kaeri-test-XXXXXX",
                 tmp) >= (int)sizeof(p->state_dir) ||
        !mkdtemp(p->state_dir)) {
        fprintf(stderr, "kaeri_proc: mkdtemp in %s: %s\n", tmp,
                strerror(errno));
        p->state_dir[0] = '\0';
        goto fail;
    }
    snprintf(p->log_path, sizeof(p->log_path), "%s/kaeri.log", p->state_dir);
    log_fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0 || cloexec_pipe(pipefd)) {
        fprintf(stderr, "kaeri_proc: %s: %s\n", p->log_path, strerror(errno));
        goto fail;
    }
    argv = serve_argv(bin, config, p->state_dir, extra_args);
    if (!argv)
        goto fail;
    p->pid = spawn(argv, pipefd[1], log_fd);
    if (p->pid < 0) {
        p->pid = 0;
        goto fail;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    p->out_fd = pipefd[0];
    pipefd[0] = -1;
    p->pidfd = open_pidfd(p->pid);
    if (read_ready(p, now_ms() + KAERI_PROC_WAIT_MS))
        goto fail;
    close(log_fd);
    free(argv);
    return 0;
fail:
    fprintf(stderr, "kaeri_proc: could not start %s with %s\n", bin, config);
    if (p->pid > 0)
        kill_group(p->pid, &st);
    if (p->log_path[0])
        print_log_tail(p->log_path);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (log_fd >= 0)
        close(log_fd);
    free(argv);
    release(p);
    return -1;
}

/* Read what is left on stdout without blocking; count it as extra. */
static void drain_stdout(struct kaeri_proc *p)
{
    char buf[4096];
    struct pollfd pfd = {p->out_fd, POLLIN, 0};

    while (p->out_fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
        ssize_t n = read(p->out_fd, buf, sizeof(buf));

        if (n <= 0)
            break;
        p->stdout_extra += (size_t)n;
    }
}

int kaeri_proc_stop(struct kaeri_proc *p)
{
    int status = 0, rc;

    if (p->pid <= 0) /* never started, or already stopped */
        return -1;
    if (kill(p->pid, SIGTERM))
        fprintf(stderr, "kaeri_proc: kill %d: %s\n", (int)p->pid,
                strerror(errno));
    if (wait_until(p->pid, p->pidfd, now_ms() + KAERI_PROC_WAIT_MS, &status)) {
        fprintf(stderr,
                "kaeri_proc: kaeri %d still running %d ms after "
                "SIGTERM, killed\n",
                (int)p->pid, KAERI_PROC_WAIT_MS);
        kill_group(p->pid, NULL);
        rc = -1;
    } else {
        rc = status_code(status);
        if (kill(-p->pid, 0) == 0) {
            fprintf(stderr, "kaeri_proc: kaeri left processes in its group, "
                            "killed\n");
            kill(-p->pid, SIGKILL);
        }
    }
    drain_stdout(p);
    if (p->stdout_extra)
        fprintf(stderr,
                "kaeri_proc: kaeri wrote %zu bytes to stdout after "
                "the ready line\n",
                p->stdout_extra);
    if (rc) {
        fprintf(stderr, "kaeri_proc: kaeri exit status %d\n", rc);
        print_log_tail(p->log_path);
    }
    release(p);
    return rc;
}

char *kaeri_proc_log_read(const struct kaeri_proc *p)
{
    FILE *f = fopen(p->log_path, "re");
    char *buf = NULL, *next;
    size_t len = 0, cap = 0, n = 0;

    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 65536;
            if (cap > LOG_READ_MAX + 1)
                break;
            next = realloc(buf, cap);
            if (!next)
                break;
            buf = next;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int kaeri_proc_log_contains(const struct kaeri_proc *p, const char *needle)
{
    char *log = kaeri_proc_log_read(p);
    int found = log && strstr(log, needle);

    free(log);
    return found;
}

int kaeri_proc_log_wait(const struct kaeri_proc *p, const char *needle,
                        int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), found = 0;

    /* watch first, then look: a line written in between still wakes us */
    if (fd >= 0 && inotify_add_watch(fd, p->log_path, IN_MODIFY) < 0) {
        close(fd);
        fd = -1;
    }
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        char ev[4096];
        int left;

        found = kaeri_proc_log_contains(p, needle);
        left = left_ms(deadline);
        if (found || !left)
            break;
        /* without inotify, look again every 50 ms */
        if (poll(&pfd, fd >= 0 ? 1 : 0, fd >= 0 || left < 50 ? left : 50) > 0)
            while (read(fd, ev, sizeof(ev)) > 0)
                ;
    }
    if (fd >= 0)
        close(fd);
    return found;
}

/* Append what 'fd' has to 'text' (capped); returns 0 at EOF, 1 otherwise. */
static int collect_fd(int fd, char **text, size_t *len)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    size_t keep;

    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return 0;
    keep = (size_t)n;
    if (*len + keep > KAERI_PROC_OUTPUT_MAX)
        keep = KAERI_PROC_OUTPUT_MAX - *len;
    if (keep) {
        char *next = realloc(*text, *len + keep + 1);

        if (!next)
            return 1; /* drop it; the test will see less */
        *text = next;
        memcpy(*text + *len, buf, keep);
        *len += keep;
        (*text)[*len] = '\0';
    }
    return 1;
}

int kaeri_proc_run(const char *const argv_tail[], int *exit_code_out,
                   char **stdout_text, char **stderr_text)
{
    long long deadline = now_ms() + KAERI_PROC_WAIT_MS;
    char bin[PATH_MAX], *texts[2] = {NULL, NULL}, **argv = NULL;
    size_t lens[2] = {0, 0}, n = 0, i;
    int out[2] = {-1, -1}, err[2] = {-1, -1}, open_fds, st = 0, rc = -1;
    int pidfd = -1;
    pid_t pid = 0;

    *exit_code_out = -1;
    if (stdout_text)
        *stdout_text = NULL;
    if (stderr_text)
        *stderr_text = NULL;
    if (find_binary(bin))
        goto out;
    while (argv_tail && argv_tail[n])
        n++;
    argv = calloc(n + 2, sizeof(*argv));
    if (!argv || cloexec_pipe(out) || cloexec_pipe(err))
        goto out;
    argv[0] = bin;
    for (i = 0; i < n; i++)
        argv[i + 1] = (char *)(uintptr_t)argv_tail[i];
    pid = spawn(argv, out[1], err[1]);
    if (pid < 0) {
        pid = 0;
        goto out;
    }
    pidfd = open_pidfd(pid);
    close(out[1]);
    close(err[1]);
    out[1] = err[1] = -1;
    open_fds = 2;
    while (open_fds) {
        struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        int left = left_ms(deadline);

        if (!left)
            break;
        if (poll(fds, 2, left) < 0 && errno != EINTR)
            break;
        for (i = 0; i < 2; i++) {
            int *fd = i ? &err[0] : &out[0];

            if (*fd >= 0 && fds[i].revents &&
                !collect_fd(*fd, &texts[i], &lens[i])) {
                close(*fd);
                *fd = -1;
                open_fds--;
            }
        }
    }
    if (open_fds || wait_until(pid, pidfd, deadline, &st)) {
        fprintf(stderr,
                "kaeri_proc: %s %s still running after %d ms, "
                "killed\n",
                bin, n ? argv_tail[0] : "", KAERI_PROC_WAIT_MS);
        kill_group(pid, NULL);
        goto out;
    }
    *exit_code_out = status_code(st);
    for (i = 0; i < 2; i++) {
        char **dst = i ? stderr_text : stdout_text;

        if (!dst)
            continue;
        *dst = texts[i] ? texts[i] : calloc(1, 1);
        texts[i] = NULL;
    }
    rc = 0;
out:
    for (i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
        free(texts[i]);
    }
    if (pidfd >= 0)
        close(pidfd);
    free(argv);
    return rc;
}

int kaeri_proc_run_expect_exit(const char *const argv_tail[], int *exit_code,
                               char **stderr_text)
{
    return kaeri_proc_run(argv_tail, exit_code, NULL, stderr_text);
}

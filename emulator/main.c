/*
 * main.c - `kaeri serve`: flags, config, listeners, the ready line,
 * signals, and an orderly shutdown. The only place that exits on error:
 * everything after the ready line keeps serving whatever arrives.
 */
#include "alloc.h"
#include "config.h"
#include "iam.h"
#include "log.h"
#include "loop.h"
#include "net_accept.h"
#include "net_h2.h"
#include "net_lws.h"
#include "net_mhd.h"
#include "services.h"
#include "tlsca.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

struct options {
    const char *config_path;
    const char *host;
    long port;
    long events_port;
    const char *state_dir;
    unsigned long long seed;
    const char *env_file;
    enum log_level log_level;
    enum log_format log_format;
};

static const char usage_top[] =
    "usage: kaeri <command> [options]\n"
    "\n"
    "kaeri emulates, offline and in one process, a streaming generative-AI\n"
    "chat on AWS: Cognito, API Gateway, Lambda, Bedrock and AppSync Events.\n"
    "\n"
    "commands:\n"
    "  serve     start the emulator (kaeri serve --help)\n"
    "  help      show this text\n";

static const char usage_serve[] =
    "usage: kaeri serve [options]\n"
    "\n"
    "  --config FILE        JSON config (default fixtures/default.json)\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             main port: HTTP/1.1 (default 4580; 0 picks one)\n"
    "  --events-port N      events port: AppSync Events (default 4581)\n"
    "  --state-dir DIR      keys and certificates kept across runs\n"
    "                       (default .kaeri)\n"
    "  --seed N             seed for configured faults (default 1)\n"
    "  --log-level LEVEL    debug, info, warn or error (default info)\n"
    "  --log-format FORMAT  text or json (default text)\n"
    "  --env-file FILE      write AWS_ENDPOINT_URL, credentials and KAERI_*\n"
    "                       variables for SDKs and the CLI\n"
    "\n"
    "When ready, kaeri prints one JSON line on stdout, for example\n"
    "  {\"ready\":true,\"http\":\"http://127.0.0.1:4580\"}\n"
    "and logs to stderr. SIGINT or SIGTERM stops it cleanly.\n";

static void die_usage(const char *what, const char *arg)
{
    fprintf(stderr, "kaeri: %s '%s'\n%s", what, arg, usage_serve);
    exit(EXIT_USAGE);
}

static long parse_port(const char *s, const char *flag)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || end == s || n < 0 || n > 65535)
        die_usage("expected a port from 0 to 65535 for", flag);
    return n;
}

/* The default config: in the working directory, else beside the binary. */
static const char *default_config(const char *argv0, char *buf, size_t n)
{
    static const char *const tries[] = {"/../fixtures/default.json",
                                        "/../../fixtures/default.json"};
    char exe[PATH_MAX / 2];
    ssize_t len;

    if (!access("fixtures/default.json", R_OK))
        return "fixtures/default.json";
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        *strrchr(exe, '/') = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
            if (snprintf(buf, n, "%s%s", exe, tries[i]) >= (int)n)
                continue;
            if (!access(buf, R_OK))
                return buf;
        }
    }
    (void)argv0;
    return "fixtures/default.json";
}

static void parse_serve(int argc, char **argv, struct options *o)
{
    enum { OPT_CONFIG = 256, OPT_HOST, OPT_PORT, OPT_EVENTS_PORT,
           OPT_STATE_DIR, OPT_SEED, OPT_LOG_LEVEL, OPT_LOG_FORMAT,
           OPT_ENV_FILE, OPT_HELP };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"events-port", required_argument, NULL, OPT_EVENTS_PORT},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"seed", required_argument, NULL, OPT_SEED},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"env-file", required_argument, NULL, OPT_ENV_FILE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            o->config_path = optarg;
            break;
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_PORT:
            o->port = parse_port(optarg, "--port");
            break;
        case OPT_EVENTS_PORT:
            o->events_port = parse_port(optarg, "--events-port");
            break;
        case OPT_STATE_DIR:
            o->state_dir = optarg;
            break;
        case OPT_SEED:
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg)
                die_usage("--seed expects a non-negative integer, not", optarg);
            break;
        case OPT_LOG_LEVEL:
            if (!log_level_parse(optarg, &o->log_level))
                die_usage("unknown --log-level", optarg);
            break;
        case OPT_LOG_FORMAT:
            if (!strcmp(optarg, "text"))
                o->log_format = LOG_TEXT;
            else if (!strcmp(optarg, "json"))
                o->log_format = LOG_JSON;
            else
                die_usage("unknown --log-format", optarg);
            break;
        case OPT_ENV_FILE:
            o->env_file = optarg;
            break;
        case OPT_HELP:
            fputs(usage_serve, stdout);
            exit(0);
        default:
            die_usage("unknown or incomplete option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument", argv[optind]);
}

/* mkdir -p with mode 0700: the state directory holds private keys. */
static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

static char *dir_of(const char *path)
{
    char resolved[PATH_MAX];
    char *slash;

    if (!realpath(path, resolved))
        snprintf(resolved, sizeof(resolved), "%s", path);
    slash = strrchr(resolved, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == resolved)
        return xstrdup("/");
    return xstrndup(resolved, (size_t)(slash - resolved));
}

static void die_config(const char *file, const struct kaeri_error *err)
{
    if (err->where[0])
        fprintf(stderr, "kaeri: %s: %s: %s\n", file, err->where, err->text);
    else
        fprintf(stderr, "kaeri: %s: %s\n", file, err->text);
    exit(EXIT_USAGE);
}

static const char *json_str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

/* Write the variables an AWS SDK or CLI needs, atomically. */
static int write_env_file(const char *path, const char *region,
                          const char *http_url, const char *events_url,
                          const char *ca_file, const json_t *endpoints)
{
    const struct iam_access_key *key = iam_admin_key();
    const json_t *pool = json_array_get(json_object_get(endpoints, "userPools"), 0);
    const json_t *client = json_array_get(json_object_get(pool, "clients"), 0);
    char tmp[PATH_MAX];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "AWS_ENDPOINT_URL=%s\n", http_url);
    fprintf(f, "AWS_REGION=%s\nAWS_DEFAULT_REGION=%s\n", region, region);
    if (key)
        fprintf(f, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n",
                key->access_key_id, key->secret_access_key);
    fprintf(f, "KAERI_HTTP=%s\n", http_url);
    fprintf(f, "KAERI_EVENTS=%s/event\n", events_url);
    fprintf(f, "KAERI_REALTIME=wss://%s/event/realtime\n",
            strstr(events_url, "://") + 3);
    if (ca_file)
        fprintf(f,
                "KAERI_CA=%s\nNODE_EXTRA_CA_CERTS=%s\nAWS_CA_BUNDLE=%s\n"
                "SSL_CERT_FILE=%s\n",
                ca_file, ca_file, ca_file, ca_file);
    if (pool) {
        fprintf(f, "KAERI_USER_POOL_ID=%s\n", json_str_at(pool, "id"));
        fprintf(f, "KAERI_ISSUER=%s\n", json_str_at(pool, "issuer"));
    }
    if (client)
        fprintf(f, "KAERI_CLIENT_ID=%s\n", json_str_at(client, "clientId"));
    if (fclose(f) || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The one line on stdout (CONTRACT.md "Commands"). */
static void print_ready(const char *http_url, const char *events_base,
                        const char *ws_scheme, const char *ca_file)
{
    json_t *ready = json_pack("{s:b, s:s}", "ready", 1, "http", http_url);
    const char *host = strstr(events_base, "://") + 3;
    char *line;

    json_object_set_new(ready, "events",
                        json_sprintf("%s/event", events_base));
    json_object_set_new(ready, "realtime",
                        json_sprintf("%s://%s/event/realtime", ws_scheme,
                                     host));
    if (ca_file)
        json_object_set_new(ready, "ca", json_string(ca_file));
    line = json_dumps(ready, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(ready);
}

static void on_signal(int fd, uint32_t events, void *ctx)
{
    struct signalfd_siginfo si;

    (void)events;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        log_info("signal %u: shutting down", si.ssi_signo);
        loop_stop(ctx);
    }
}

static int serve(int argc, char **argv)
{
    struct options o = {
        .host = "127.0.0.1",
        .port = 4580,
        .events_port = 4581,
        .state_dir = ".kaeri",
        .seed = 1,
        .log_level = LOG_INFO,
        .log_format = LOG_TEXT,
    };
    const char *sections[32] = {"iam"};
    char config_buf[PATH_MAX], http_url[300];
    struct kaeri_error err = {0};
    struct config_core core;
    struct kaeri_env env;
    json_t *root = NULL, *endpoints;
    struct loop *loop;
    struct net_mhd *mhd;
    struct net_h2 *h2;
    struct net_accept *acceptor;
    struct net_lws *events = NULL;
    struct net_lws_options events_opt;
    struct tlsca ca = {0};
    char *config_dir;
    char events_url[300];
    uint16_t port, events_port = 0;
    sigset_t mask;
    int sfd;
    size_t n = 1;

    parse_serve(argc, argv, &o);
    if (!o.config_path)
        o.config_path = default_config(argv[0], config_buf, sizeof(config_buf));
    log_setup(o.log_level, o.log_format);

    if (config_load(o.config_path, &root, &err))
        die_config(o.config_path, &err);
    for (size_t i = 0; services[i] && n + 1 < ARRAY_SIZE(sections); i++)
        if (services[i]->config_key)
            sections[n++] = services[i]->config_key;
    if (config_core_read(root, sections, &core, &err) ||
        iam_init(json_object_get(root, "iam"), core.account, core.region,
                 &err))
        die_config(o.config_path, &err);
    if (make_dirs(o.state_dir)) {
        fprintf(stderr, "kaeri: cannot create state directory '%s': %s\n",
                o.state_dir, strerror(errno));
        return EXIT_USAGE;
    }

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    loop = loop_new();
    if (!loop || sfd < 0 || loop_watch(loop, sfd, EPOLLIN, on_signal, loop)) {
        fprintf(stderr, "kaeri: cannot set up the event loop\n");
        return 1;
    }
    mhd = net_mhd_start(loop, core.max_body_bytes, &err);
    h2 = mhd ? net_h2_start(loop, core.max_body_bytes, &err) : NULL;
    acceptor = h2 ? net_accept_start(loop, o.host, (uint16_t)o.port, mhd, h2,
                                     &port, &err)
                  : NULL;
    if (!acceptor) {
        fprintf(stderr, "kaeri: %s%s%s\n", err.where, err.where[0] ? ": " : "",
                err.text);
        return 1;
    }
    snprintf(http_url, sizeof(http_url),
             strchr(o.host, ':') ? "http://[%s]:%u" : "http://%s:%u", o.host,
             port);
    if (tlsca_load_or_create(o.state_dir, &ca, &err)) {
        fprintf(stderr, "kaeri: TLS certificates in '%s': %s\n", o.state_dir,
                err.text);
        return 1;
    }
    events_opt = (struct net_lws_options){
        .host = o.host,
        .port = (uint16_t)o.events_port,
        .cert_path = ca.leaf_cert_path,
        .key_path = ca.leaf_key_path,
        .max_body = core.max_body_bytes,
    };
    events = net_lws_start(loop, &events_opt, &events_port, &err);
    if (!events) {
        fprintf(stderr, "kaeri: %s%s%s\n", err.where,
                err.where[0] ? ": " : "", err.text);
        return 1;
    }
    snprintf(events_url, sizeof(events_url),
             strchr(o.host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
             events_opt.cert_path ? "https" : "http", o.host, events_port);

    config_dir = dir_of(o.config_path);
    env = (struct kaeri_env){
        .region = core.region,
        .account = core.account,
        .http_url = http_url,
        .events_url = events_url,
        .ca_file = ca.ca_cert_path,
        .state_dir = o.state_dir,
        .config_dir = config_dir,
        .root = root,
        .loop = loop,
        .seed = o.seed,
        .admin_allow_remote = core.admin_allow_remote,
    };
    if (services_init(&env, &err))
        die_config(o.config_path, &err);

    /* The env file first: whoever waits for the ready line may source it. */
    if (o.env_file) {
        endpoints = json_object();
        services_describe(endpoints);
        if (write_env_file(o.env_file, core.region, http_url, events_url,
                           ca.ca_cert_path, endpoints))
            log_error("cannot write --env-file '%s': %s", o.env_file,
                      strerror(errno));
        json_decref(endpoints);
    }
    print_ready(http_url, events_url, "wss", ca.ca_cert_path);
    if (ca.ca_created)
        log_info("created a local certificate authority: trust %s "
                 "(NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE; see README)",
                 ca.ca_cert_path);
    log_info("kaeri ready on %s (config %s, seed %llu)", http_url,
             o.config_path, o.seed);

    net_lws_run(events);

    net_accept_stop(acceptor);
    net_mhd_stop(mhd);
    net_h2_stop(h2);
    net_lws_stop(events);
    services_release();
    iam_release();
    loop_unwatch(loop, sfd);
    close(sfd);
    loop_free(loop);
    free(config_dir);
    tlsca_release(&ca);
    json_decref(root);
    log_info("kaeri stopped");
    return 0;
}

int main(int argc, char **argv)
{
    json_set_alloc_funcs(xmalloc, free);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage_top, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "serve"))
        return serve(argc - 1, argv + 1);
    fprintf(stderr, "kaeri: unknown command '%s'\n\n%s", argv[1], usage_top);
    return EXIT_USAGE;
}

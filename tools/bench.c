/*
 * bench.c - `make bench`: the numbers kaeri promises, measured from the
 * outside on an optimised build, never asserted inside tests.
 *
 *   startup   fork to the ready line, over several starts (aim: ~10 ms)
 *   sign-in   InitiateAuth USER_PASSWORD_AUTH per second over keep-alive
 *             connections, against OpenSSL's RS256 signing rate with the
 *             same key in this process (each sign-in signs two tokens)
 *
 * Later issues add WebSocket fan-out and prompt-to-first-delta latency.
 */
#include "crypto.h"
#include "kaeri_proc.h"
#include "wire.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STARTS         20
#define SIGNIN_SECONDS 3.0

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * Starts share one state directory, as a developer's runs do: the first
 * creates the local CA (and is left out), the rest reuse it.
 */
static void bench_startup(void)
{
    char state[] = "/tmp/kaeri-bench-XXXXXX";
    const char *args[] = {"--state-dir", state, NULL};
    double ms[STARTS];
    int n = 0;

    if (!mkdtemp(state))
        return;
    for (int i = 0; i <= STARTS; i++) {
        struct kaeri_proc p;
        double t0 = now_s();

        if (kaeri_proc_start(&p, NULL, args))
            continue;
        if (i == 0) {
            kaeri_proc_stop(&p);
            continue;
        }
        ms[n++] = (now_s() - t0) * 1000.0;
        kaeri_proc_stop(&p);
    }
    if (!n) {
        printf("startup: kaeri did not start\n");
        return;
    }
    qsort(ms, (size_t)n, sizeof(ms[0]), cmp_double);
    printf("startup (fork to ready line, %d runs, state reused): min %.1f "
           "ms, median %.1f ms, max %.1f ms\n",
           n, ms[0], ms[n / 2], ms[n - 1]);
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", state);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", state);
    }
}

static double bench_rsa(void)
{
    struct crypto_key *key = NULL;
    unsigned char sig[CRYPTO_RS256_SIG_MAX];
    const char msg[] = "eyJraWQiOiJhIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiJ4In0";
    double t0, elapsed;
    size_t len;
    long count = 0;

    if (crypto_key_load_or_create(kaeri_proc_path("fixtures/keys/pool1-id.pem"),
                                  &key, NULL))
        return 0;
    t0 = now_s();
    do {
        for (int i = 0; i < 50; i++)
            if (crypto_rs256_sign(key, msg, sizeof(msg) - 1, sig, &len))
                abort();
        count += 50;
        elapsed = now_s() - t0;
    } while (elapsed < 1.0);
    crypto_key_free(key);
    return (double)count / elapsed;
}

struct signer {
    const char *url;
    long ok, failed;
};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void *sign_in_loop(void *arg)
{
    static const char body[] =
        "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":"
        "\"kaeriwebclientnosecret0001\",\"AuthParameters\":{\"USERNAME\":"
        "\"alice\",\"PASSWORD\":\"Alice#Passw0rd\"}}";
    struct signer *s = arg;
    struct curl_slist *h = NULL;
    CURL *curl = curl_easy_init();
    double end = now_s() + SIGNIN_SECONDS;

    h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.1");
    h = curl_slist_append(
        h, "X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, s->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    while (now_s() < end) {
        long status = 0;

        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) ==
                CURLE_OK &&
            status == 200)
            s->ok++;
        else
            s->failed++;
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    return NULL;
}

static void bench_sign_in(double rsa_per_s)
{
    const char *args[] = {"--log-level", "warn", NULL};
    struct kaeri_proc p;

    if (kaeri_proc_start(&p, NULL, args)) {
        printf("sign-in: kaeri did not start\n");
        return;
    }
    for (int clients = 1; clients <= 4; clients *= 2) {
        struct signer s[4] = {{0}};
        pthread_t t[4];
        char url[256];
        long ok = 0, failed = 0;

        snprintf(url, sizeof(url), "%s/", p.http);
        for (int i = 0; i < clients; i++) {
            s[i].url = url;
            pthread_create(&t[i], NULL, sign_in_loop, &s[i]);
        }
        for (int i = 0; i < clients; i++) {
            pthread_join(t[i], NULL);
            ok += s[i].ok;
            failed += s[i].failed;
        }
        printf("sign-in, %d client%s: %.0f/s (%ld failed); OpenSSL's rate "
               "for two RS256 signatures on one core: %.0f/s\n",
               clients, clients > 1 ? "s" : "", (double)ok / SIGNIN_SECONDS,
               failed, rsa_per_s / 2);
    }
    kaeri_proc_stop(&p);
}

int main(void)
{
    double rsa;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    bench_startup();
    rsa = bench_rsa();
    printf("OpenSSL RS256 (RSA-2048) signing: %.0f/s on one core\n", rsa);
    bench_sign_in(rsa);
    curl_global_cleanup();
    return 0;
}

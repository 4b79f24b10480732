/*
 * sigv4.c - AWS Signature Version 4 for non-S3 services, as spec/sigv4.md
 * lays it out: the Authorization header and presigned query parsers, the
 * scope and clock checks (section 6, 7, 9), the canonical request
 * (sections 2-5), string to sign and signing key (section 1), the
 * constant-time verify, and a signer for kaeri's own clients.
 *
 * Left out on purpose: S3's rules (wire path verbatim, x-amz-content-sha256
 * as the payload hash, UNSIGNED-PAYLOAD, streaming chunk signatures),
 * SigV4a, and everything that needs state: secrets, session tokens and the
 * clock belong to the caller. No sockets, globals or logging; refusals come
 * back as enum sigv4_failure plus AWS's message text.
 *
 * AWS's message texts are quoted from spec section 6 where it has them.
 * The others (marked UNVERIFIED below) follow the same wording style and
 * are best guesses.
 */
#include "sigv4.h"
#include "alloc.h"
#include "crypto.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MISMATCH_TEXT                                                         \
    "The request signature we calculated does not match the signature you "   \
    "provided. Check your AWS Secret Access Key and signing method. Consult " \
    "the service documentation for details."
#define NO_DATE_TEXT                                                         \
    "Authorization header requires existence of either a 'X-Amz-Date' or a " \
    "'Date' header."
#define SECONDS_PER_DAY INT64_C(86400)

/* A borrowed {pointer, length} view into the request. */
struct span {
    const char *p;
    size_t n;
};

/* One query parameter, encoded, during the canonical query sort. */
struct qparam {
    size_t k_off, k_len, v_off, v_len; /* into the arena while building */
    const char *k, *v;                 /* into the arena once it is final */
};

/* Fill *why and err->text and return 'rc': every refusal goes through here. */
static enum kaeri_err refuse(enum sigv4_failure f, enum kaeri_err rc,
                             enum sigv4_failure *why, struct kaeri_error *err,
                             const char *fmt, ...) KAERI_PRINTF(5, 6);

static enum kaeri_err refuse(enum sigv4_failure f, enum kaeri_err rc,
                             enum sigv4_failure *why, struct kaeri_error *err,
                             const char *fmt, ...)
{
    va_list ap;

    if (why)
        *why = f;
    if (!err)
        return rc;
    err->where[0] = '\0';
    va_start(ap, fmt);
    (void)vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return rc;
}

static struct span span_of(const char *s)
{
    struct span sp = {s ? s : "", s ? strlen(s) : 0};

    return sp;
}

static bool span_is(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && !memcmp(s.p, lit, n);
}

/* JS's \s, as the SDK's trim and collapse use it, minus Unicode. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static struct span span_trim(struct span s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

/*
 * Cut 's' at the first 'sep': *head gets what is before, 's' what is
 * after. Returns false (head = all of 's', rest empty) when 'sep' is absent.
 */
static bool span_cut(struct span *s, char sep, struct span *head)
{
    const char *hit = s->n ? memchr(s->p, sep, s->n) : NULL;

    if (!hit) {
        *head = *s;
        s->p += s->n;
        s->n = 0;
        return false;
    }
    head->p = s->p;
    head->n = (size_t)(hit - s->p);
    s->n -= head->n + 1;
    s->p = hit + 1;
    return true;
}

/* Copy 's' into 'dst' of 'cap' bytes with the NUL; false when too long. */
static bool span_copy(struct span s, char *dst, size_t cap)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~';
}

/*
 * spec section 2 step 3 and section 3: keep A-Z a-z 0-9 - _ . ~, every
 * other byte becomes %XX with upper-case hex.
 */
static enum kaeri_err uri_encode(struct buf *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, run;

    for (i = 0; i < n; i += run) {
        unsigned char c = (unsigned char)p[i];
        char esc[3];

        for (run = 0; i + run < n && is_unreserved((unsigned char)p[i + run]);
             run++)
            ;
        if (run) {
            if (buf_add(out, p + i, run))
                return KAERI_ERR_LIMIT;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (buf_add(out, esc, sizeof(esc)))
            return KAERI_ERR_LIMIT;
        run = 1;
    }
    return KAERI_OK;
}

/*
 * Percent-decode %XX; '+' stays '+' (spec section 3), and a '%' not
 * followed by two hex digits is kept as it is.
 */
static enum kaeri_err uri_decode(struct buf *out, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int hi, lo;

        if (p[i] == '%' && i + 2 < n && (hi = hex_value(p[i + 1])) >= 0 &&
            (lo = hex_value(p[i + 2])) >= 0) {
            if (buf_addch(out, (char)(hi << 4 | lo)))
                return KAERI_ERR_LIMIT;
            i += 2;
        } else if (buf_addch(out, p[i])) {
            return KAERI_ERR_LIMIT;
        }
    }
    return KAERI_OK;
}

static void hex_sha256(const void *p, size_t n, char out[SIGV4_HEX_LEN + 1])
{
    unsigned char md[CRYPTO_SHA256_LEN];

    crypto_sha256(p, n, md);
    crypto_hex(md, sizeof(md), out);
}

/* Dates: proleptic Gregorian, no libc time functions (they read the TZ). */

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* 'n' decimal digits at 'p' into *v; false when one is not a digit. */
static bool digits(const char *p, size_t n, int *v)
{
    size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        *v = *v * 10 + (p[i] - '0');
    }
    return true;
}

static bool make_time(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || s > 59)
        return false;
    *out = days_from_civil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + s;
    return true;
}

/* YYYYMMDDTHHMMSSZ, exactly, into epoch seconds. */
static bool parse_amz_date(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec;

    if (strlen(s) != SIGV4_AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) ||
        !digits(s + 9, 2, &h) || !digits(s + 11, 2, &mi) ||
        !digits(s + 13, 2, &sec))
        return false;
    return make_time(y, mo, d, h, mi, sec, out);
}

/* RFC 1123, "Sun, 30 Aug 2015 12:36:00 GMT", into epoch seconds. */
static bool parse_http_date(const char *s, int64_t *out)
{
    static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu",
                                        "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    struct span t = span_trim(span_of(s));
    int y, mo = 0, d, h, mi, sec;
    size_t i;
    bool wday_ok = false;

    /* "Www, DD Mmm YYYY HH:MM:SS GMT" is 29 characters */
    if (t.n != 29 || memcmp(t.p + 3, ", ", 2) || t.p[7] != ' ' ||
        t.p[11] != ' ' || t.p[16] != ' ' || t.p[19] != ':' || t.p[22] != ':' ||
        memcmp(t.p + 25, " GMT", 4))
        return false;
    for (i = 0; i < ARRAY_SIZE(wdays); i++)
        wday_ok |= !memcmp(t.p, wdays[i], 3);
    for (i = 0; i < ARRAY_SIZE(months); i++)
        if (!memcmp(t.p + 8, months[i], 3))
            mo = (int)i + 1;
    if (!wday_ok || !mo || !digits(t.p + 5, 2, &d) ||
        !digits(t.p + 12, 4, &y) || !digits(t.p + 17, 2, &h) ||
        !digits(t.p + 20, 2, &mi) || !digits(t.p + 23, 2, &sec))
        return false;
    return make_time(y, mo, d, h, mi, sec, out);
}

enum kaeri_err sigv4_format_amz_date(int64_t epoch_s,
                                     char out[SIGV4_AMZ_DATE_LEN + 1])
{
    int64_t days, rem, y;
    int mo, d;
    char tmp[48];

    /* years 1..9999, so the day count below cannot overflow */
    if (epoch_s < INT64_C(-62135596800) || epoch_s > INT64_C(253402300799))
        return KAERI_ERR_INVALID;
    days = epoch_s / SECONDS_PER_DAY;
    rem = epoch_s % SECONDS_PER_DAY;
    if (rem < 0) {
        rem += SECONDS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &mo, &d);
    (void)snprintf(tmp, sizeof(tmp), "%04d%02d%02dT%02d%02d%02dZ", (int)y, mo,
                   d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    memcpy(out, tmp, SIGV4_AMZ_DATE_LEN);
    out[SIGV4_AMZ_DATE_LEN] = '\0';
    return KAERI_OK;
}

/* For messages: the date, or "?" for a time outside years 1..9999. */
static void time_text(int64_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
    if (sigv4_format_amz_date(t, out))
        (void)snprintf(out, SIGV4_AMZ_DATE_LEN + 1, "?");
}

/* Request headers. */

/* The first header called 'name' and how many there are. */
static const char *find_header(const struct sigv4_request *req,
                               const char *name, size_t *count)
{
    const char *first = NULL;
    size_t i;

    *count = 0;
    for (i = 0; i < req->header_count; i++) {
        if (strcmp(req->headers[i].name, name))
            continue;
        if (!*count)
            first = req->headers[i].value ? req->headers[i].value : "";
        (*count)++;
    }
    return first;
}

/* True when 'name' is one of the ';'-separated names of 'list'. */
static bool list_has(const char *list, const char *name)
{
    struct span rest = span_of(list), item;

    while (rest.n) {
        (void)span_cut(&rest, ';', &item);
        if (span_is(item, name))
            return true;
    }
    return false;
}

/*
 * spec section 4: the value trimmed, each whitespace run (obs-fold line
 * breaks included) collapsed to one space.
 */
static enum kaeri_err add_header_value(struct buf *out, const char *value)
{
    struct span v = span_trim(span_of(value));
    size_t i = 0, run;

    if (v.n > SIGV4_MAX_HEADER_VALUE)
        return KAERI_ERR_LIMIT;
    while (i < v.n) {
        for (run = 0; i + run < v.n && !is_space(v.p[i + run]); run++)
            ;
        if (buf_add(out, v.p + i, run))
            return KAERI_ERR_LIMIT;
        i += run;
        if (i == v.n)
            break;
        while (i < v.n && is_space(v.p[i]))
            i++;
        if (buf_addch(out, ' '))
            return KAERI_ERR_LIMIT;
    }
    return KAERI_OK;
}

/* Canonical request pieces. */

/*
 * spec section 2, non-S3: drop empty and '.' segments, '..' pops one,
 * leading '/' always, trailing '/' kept when a segment remains, then each
 * segment encoded again (so "%3A" becomes "%253A"). The segment stack is
 * an array of views, no recursion.
 */
static enum kaeri_err canonical_uri(const char *path, struct buf *out)
{
    struct span rest = span_of(path), seg, *stack;
    size_t depth = 0, i;
    bool trailing = rest.n && rest.p[rest.n - 1] == '/';
    enum kaeri_err rc = KAERI_OK;

    if (rest.n > SIGV4_MAX_PATH)
        return KAERI_ERR_LIMIT;
    stack = xmalloc((rest.n / 2 + 1) * sizeof(*stack));
    while (rest.n) {
        (void)span_cut(&rest, '/', &seg);
        if (!seg.n || span_is(seg, "."))
            continue;
        if (span_is(seg, "..")) {
            if (depth)
                depth--;
            continue;
        }
        stack[depth++] = seg;
    }
    for (i = 0; i < depth && !rc; i++)
        if (buf_addch(out, '/') || uri_encode(out, stack[i].p, stack[i].n))
            rc = KAERI_ERR_LIMIT;
    if (!rc && (!depth || trailing) && buf_addch(out, '/'))
        rc = KAERI_ERR_LIMIT;
    free(stack);
    return rc;
}

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    size_t n = x->k_len < y->k_len ? x->k_len : y->k_len;
    int c = memcmp(x->k, y->k, n);

    if (c || x->k_len != y->k_len)
        return c ? c : (x->k_len < y->k_len ? -1 : 1);
    n = x->v_len < y->v_len ? x->v_len : y->v_len;
    c = memcmp(x->v, y->v, n);
    if (c || x->v_len == y->v_len)
        return c;
    return x->v_len < y->v_len ? -1 : 1;
}

/* Decode then encode 'raw' into 'arena'; its offset and length to *off, *len.
 */
static enum kaeri_err requote(struct span raw, struct buf *tmp,
                              struct buf *arena, size_t *off, size_t *len)
{
    buf_reset(tmp);
    *off = arena->len;
    if (uri_decode(tmp, raw.p, raw.n) || uri_encode(arena, tmp->data, tmp->len))
        return KAERI_ERR_LIMIT;
    *len = arena->len - *off;
    return KAERI_OK;
}

/*
 * spec section 3: split on '&' (empty items dropped), each on the first
 * '=' (none: empty value), decode, re-encode, sort by key then value in
 * byte order, join. Presigned: X-Amz-Signature is left out.
 */
static enum kaeri_err canonical_query(const char *query, bool presigned,
                                      struct buf *out)
{
    struct span rest = span_of(query), item, key;
    struct qparam *items = NULL;
    struct buf arena, tmp;
    size_t count = 0, i;
    enum kaeri_err rc = KAERI_OK;

    if (rest.n > SIGV4_MAX_QUERY)
        return KAERI_ERR_LIMIT;
    buf_init(&arena, BUF_UNLIMITED); /* at most 3 x the query */
    buf_init(&tmp, BUF_UNLIMITED);
    items = xcalloc(rest.n / 2 + 1, sizeof(*items));
    while (rest.n && !rc) {
        struct qparam *q = &items[count];

        (void)span_cut(&rest, '&', &item);
        if (!item.n)
            continue;
        (void)span_cut(&item, '=', &key); /* 'item' is now the value */
        rc = requote(key, &tmp, &arena, &q->k_off, &q->k_len);
        if (!rc)
            rc = requote(item, &tmp, &arena, &q->v_off, &q->v_len);
        if (rc)
            break;
        if (presigned && q->k_len == strlen("X-Amz-Signature") &&
            !memcmp(arena.data + q->k_off, "X-Amz-Signature", q->k_len))
            continue;
        count++;
    }
    for (i = 0; i < count; i++) {
        items[i].k = arena.data + items[i].k_off;
        items[i].v = arena.data + items[i].v_off;
    }
    if (!rc && count)
        qsort(items, count, sizeof(*items), qparam_cmp);
    for (i = 0; i < count && !rc; i++)
        if ((i && buf_addch(out, '&')) ||
            buf_add(out, items[i].k, items[i].k_len) || buf_addch(out, '=') ||
            buf_add(out, items[i].v, items[i].v_len))
            rc = KAERI_ERR_LIMIT;
    free(items);
    buf_release(&tmp);
    buf_release(&arena);
    return rc;
}

/*
 * spec section 4: for each name of 'signed_headers', in its order,
 * "name:v1,v2\n" from every request header of that name in arrival order.
 */
static enum kaeri_err canonical_headers(const struct sigv4_request *req,
                                        const char *signed_headers,
                                        struct buf *out,
                                        struct kaeri_error *err)
{
    struct span rest = span_of(signed_headers), name;
    size_t names = 0, i;
    bool more;

    do {
        bool found = false;

        more = span_cut(&rest, ';', &name);
        if (!name.n)
            return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                              "empty name in signed headers");
        if (++names > SIGV4_MAX_SIGNED)
            return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                              "more than %d signed headers", SIGV4_MAX_SIGNED);
        if (buf_add(out, name.p, name.n) || buf_addch(out, ':'))
            return kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                              "canonical request too long");
        for (i = 0; i < req->header_count; i++) {
            const struct http_header *h = &req->headers[i];
            enum kaeri_err rc;

            if (!span_is(name, h->name))
                continue;
            if (found && buf_addch(out, ','))
                return kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                                  "canonical request too long");
            rc = add_header_value(out, h->value ? h->value : "");
            if (rc)
                return kaeri_fail(err, rc, NULL, "header '%s' too long",
                                  h->name);
            found = true;
        }
        if (!found)
            return kaeri_fail(err, KAERI_ERR_NOT_FOUND, NULL,
                              "signed header '%.*s' is not in the request",
                              (int)(name.n > 64 ? 64 : name.n), name.p);
        if (buf_addch(out, '\n'))
            return kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                              "canonical request too long");
    } while (more);
    return KAERI_OK;
}

enum kaeri_err sigv4_canonical_request(const struct sigv4_request *req,
                                       const char *signed_headers,
                                       bool presigned, struct buf *out,
                                       struct kaeri_error *err)
{
    char payload[SIGV4_HEX_LEN + 1];
    enum kaeri_err rc;

    /* spec section 1: Method \n URI \n Query \n Headers \n Signed \n Hash */
    if (buf_adds(out, req->method ? req->method : "") || buf_addch(out, '\n'))
        return kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                          "canonical request too long");
    rc = canonical_uri(req->path ? req->path : "", out);
    if (!rc && buf_addch(out, '\n'))
        rc = KAERI_ERR_LIMIT;
    if (rc)
        return kaeri_fail(err, rc, NULL, "path too long");
    rc = canonical_query(req->query ? req->query : "", presigned, out);
    if (!rc && buf_addch(out, '\n'))
        rc = KAERI_ERR_LIMIT;
    if (rc)
        return kaeri_fail(err, rc, NULL, "query too long");
    rc = canonical_headers(req, signed_headers, out, err);
    if (rc)
        return rc;
    hex_sha256(req->body, req->body ? req->body_len : 0, payload);
    if (buf_addch(out, '\n') || buf_adds(out, signed_headers) ||
        buf_addch(out, '\n') || buf_adds(out, payload))
        return kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                          "canonical request too long");
    return KAERI_OK;
}

enum kaeri_err sigv4_string_to_sign(const char *amz_date, const char *scope,
                                    const char *canonical, size_t canonical_len,
                                    struct buf *out)
{
    char hash[SIGV4_HEX_LEN + 1];

    hex_sha256(canonical, canonical_len, hash);
    return buf_printf(out, SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope,
                      hash);
}

void sigv4_signing_key(const char *secret, const char *date, const char *region,
                       const char *service, unsigned char out[SIGV4_KEY_LEN])
{
    size_t n = strlen(secret) + 4;
    char *k_secret = xmalloc(n + 1);
    unsigned char k1[SIGV4_KEY_LEN], k2[SIGV4_KEY_LEN];

    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, n - 4 + 1);
    crypto_hmac_sha256(k_secret, n, date, strlen(date), k1);
    crypto_hmac_sha256(k1, sizeof(k1), region, strlen(region), k2);
    crypto_hmac_sha256(k2, sizeof(k2), service, strlen(service), k1);
    crypto_hmac_sha256(k1, sizeof(k1), SIGV4_TERMINATOR,
                       strlen(SIGV4_TERMINATOR), out);
    crypto_wipe(k_secret, n);
    crypto_wipe(k1, sizeof(k1));
    crypto_wipe(k2, sizeof(k2));
    free(k_secret);
}

void sigv4_signature(const unsigned char key[SIGV4_KEY_LEN],
                     const char *string_to_sign, size_t len,
                     char out[SIGV4_HEX_LEN + 1])
{
    unsigned char mac[CRYPTO_SHA256_LEN];

    crypto_hmac_sha256(key, SIGV4_KEY_LEN, string_to_sign, len, mac);
    crypto_hex(mac, sizeof(mac), out);
}

/*
 * Canonical request, string to sign and signature in one go, for both
 * verify and sign. 'creq' and 'sts' are the caller's, so verify can hand
 * them to its log line. Fails as sigv4_canonical_request() does.
 */
static enum kaeri_err compute(const struct sigv4_request *req,
                              const char *signed_headers, bool presigned,
                              const char *secret, const char *amz_date,
                              const char *date, const char *region,
                              const char *service, struct buf *creq,
                              struct buf *sts, char sig[SIGV4_HEX_LEN + 1],
                              struct kaeri_error *err)
{
    unsigned char key[SIGV4_KEY_LEN];
    char *scope;
    enum kaeri_err rc;

    rc = sigv4_canonical_request(req, signed_headers, presigned, creq, err);
    if (rc)
        return rc;
    scope = xasprintf("%s/%s/%s/" SIGV4_TERMINATOR, date, region, service);
    rc = sigv4_string_to_sign(amz_date, scope, creq->data, creq->len, sts);
    free(scope);
    if (rc)
        return kaeri_fail(err, rc, NULL, "string to sign too long");
    sigv4_signing_key(secret, date, region, service, key);
    sigv4_signature(key, sts->data, sts->len, sig);
    crypto_wipe(key, sizeof(key));
    return KAERI_OK;
}

/* Parsing. */

/*
 * "AKID/YYYYMMDD/region/service/aws4_request" into 'out': exactly five
 * non-empty parts, each within SIGV4_MAX_FIELD, and the right terminator.
 * 'what' names the source in messages ("Authorization header",
 * "X-Amz-Credential").
 */
static enum kaeri_err parse_credential(struct span cred, struct sigv4_auth *out,
                                       const char *what,
                                       enum sigv4_failure *why,
                                       struct kaeri_error *err)
{
    struct span rest = cred, part[5];
    char terminator[SIGV4_MAX_FIELD + 1];
    size_t n = 0;
    bool more = true;

    while (more && n < ARRAY_SIZE(part))
        more = span_cut(&rest, '/', &part[n++]);
    /* UNVERIFIED text */
    if (n != ARRAY_SIZE(part) || more ||
        !span_copy(part[0], out->access_key, sizeof(out->access_key)) ||
        !span_copy(part[1], out->scope_date, sizeof(out->scope_date)) ||
        !span_copy(part[2], out->region, sizeof(out->region)) ||
        !span_copy(part[3], out->service, sizeof(out->service)) ||
        !span_copy(part[4], terminator, sizeof(terminator)) || !part[0].n ||
        !part[1].n || !part[2].n || !part[3].n)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "Credential should have the form <access key "
                      "id>/<YYYYMMDD>/<region>/<service>/aws4_request, not "
                      "'%.*s' in %s.",
                      (int)(cred.n > 128 ? 128 : cred.n), cred.p, what);
    if (strcmp(terminator, SIGV4_TERMINATOR))
        return refuse(SIGV4_FAIL_BAD_TERMINATOR, KAERI_ERR_INVALID, why, err,
                      "Credential should be scoped with a valid terminator: "
                      "'aws4_request', not '%s'.",
                      terminator);
    return KAERI_OK;
}

/*
 * SignedHeaders: 1..SIGV4_MAX_SIGNED non-empty names without whitespace or
 * control characters, stored as sent.
 */
static enum kaeri_err parse_signed_headers(struct span list,
                                           struct sigv4_auth *out,
                                           enum sigv4_failure *why,
                                           struct kaeri_error *err)
{
    struct span rest = list, name;
    size_t names = 0, i;
    bool more;

    if (!span_copy(list, out->signed_headers, sizeof(out->signed_headers)))
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "SignedHeaders is longer than %d characters.",
                      SIGV4_MAX_SIGNED_LEN);
    do {
        more = span_cut(&rest, ';', &name);
        for (i = 0; i < name.n; i++)
            if ((unsigned char)name.p[i] <= ' ' || name.p[i] == 0x7f)
                break;
        /* UNVERIFIED text */
        if (!name.n || i < name.n)
            return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                          "SignedHeaders is not a list of header names "
                          "separated by ';': '%.*s'.",
                          (int)(list.n > 128 ? 128 : list.n), list.p);
        if (++names > SIGV4_MAX_SIGNED)
            return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                          "SignedHeaders names more than %d headers.",
                          SIGV4_MAX_SIGNED);
    } while (more);
    return KAERI_OK;
}

/* The Authorization value "AWS4-HMAC-SHA256 k=v, k=v, k=v" (spec section 1). */
static enum kaeri_err parse_header_form(const struct sigv4_request *req,
                                        const char *value,
                                        struct sigv4_auth *out,
                                        enum sigv4_failure *why,
                                        struct kaeri_error *err)
{
    static const char *const keys[] = {"Credential", "Signature",
                                       "SignedHeaders"};
    struct span all = span_trim(span_of(value)), rest, alg, part, key;
    struct span found[ARRAY_SIZE(keys)] = {{NULL, 0}};
    struct buf msg;
    const char *date;
    size_t i, count;
    enum kaeri_err rc;
    int shown = (int)(all.n > 96 ? 96 : all.n); /* header quoted in texts */

    if (all.n > SIGV4_MAX_AUTH_HEADER)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "Authorization header is longer than %d characters.",
                      SIGV4_MAX_AUTH_HEADER);
    /* the algorithm, then comma-separated key=value parameters */
    for (i = 0; i < all.n && !is_space(all.p[i]); i++)
        ;
    alg.p = all.p;
    alg.n = i;
    rest.p = all.p + i;
    rest.n = all.n - i;
    while (rest.n) {
        (void)span_cut(&rest, ',', &part);
        part = span_trim(part);
        if (!part.n)
            continue;
        if (!span_cut(&part, '=', &key))
            return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                          "'%.*s' not a valid key=value pair (missing "
                          "equal-sign) in Authorization header: '%.*s'.",
                          (int)(key.n > 64 ? 64 : key.n), key.p, shown, all.p);
        key = span_trim(key);
        part = span_trim(part); /* the value */
        for (i = 0; i < ARRAY_SIZE(keys); i++) {
            if (!span_is(key, keys[i]))
                continue;
            if (found[i].p) /* UNVERIFIED text */
                return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why,
                              err,
                              "Authorization header has '%s' more than "
                              "once: '%.*s'.",
                              keys[i], shown, all.p);
            found[i] = part;
        }
    }
    if (!span_is(alg, SIGV4_ALGORITHM)) /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "Unsupported AWS 'algorithm': '%.*s'.",
                      (int)(alg.n > 64 ? 64 : alg.n), alg.p);

    /* AWS names everything missing in one message, the date included */
    date = find_header(req, "x-amz-date", &count);
    if (!date)
        date = find_header(req, "date", &count);
    buf_init(&msg, sizeof(err->text));
    for (i = 0; i < ARRAY_SIZE(keys); i++)
        if (!found[i].n)
            (void)buf_printf(&msg,
                             "Authorization header requires '%s' "
                             "parameter. ",
                             keys[i]);
    if (msg.len) {
        if (!date)
            (void)buf_adds(&msg, NO_DATE_TEXT " ");
        rc = refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                    "%sAuthorization=%.*s", msg.data, shown, all.p);
        buf_release(&msg);
        return rc;
    }
    buf_release(&msg);

    rc = parse_credential(found[0], out, "Authorization header", why, err);
    if (rc)
        return rc;
    if (!span_copy(found[1], out->signature, sizeof(out->signature)))
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "Signature is longer than %d characters.",
                      SIGV4_MAX_FIELD);
    rc = parse_signed_headers(found[2], out, why, err);
    if (rc)
        return rc;

    /* spec section 1: X-Amz-Date, else the Date header */
    date = find_header(req, "x-amz-date", &count);
    if (count > 1) /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "The request has more than one 'X-Amz-Date' header.");
    if (date) {
        if (!parse_amz_date(date, &out->time)) /* UNVERIFIED text */
            return refuse(SIGV4_FAIL_NO_DATE, KAERI_ERR_INVALID, why, err,
                          "Date must be in ISO-8601 'basic format'. Got "
                          "'%.64s'. See http://en.wikipedia.org/wiki/ISO_8601",
                          date);
    } else {
        date = find_header(req, "date", &count);
        if (!date)
            return refuse(SIGV4_FAIL_NO_DATE, KAERI_ERR_INVALID, why, err,
                          NO_DATE_TEXT " Authorization=%.*s", shown, all.p);
        if (!parse_http_date(date, &out->time)) /* UNVERIFIED text */
            return refuse(SIGV4_FAIL_NO_DATE, KAERI_ERR_INVALID, why, err,
                          "Date header is not an RFC 1123 date: '%.64s'.",
                          date);
    }
    time_text(out->time, out->amz_date);
    return KAERI_OK;
}

/* The presigned form's parameters, spec section 7, in message order. */
enum qp {
    QP_ALGORITHM,
    QP_CREDENTIAL,
    QP_SIGNATURE,
    QP_DATE,
    QP_SIGNED_HEADERS,
    QP_EXPIRES,
    QP_TOKEN,
    QP_COUNT
};

static const char *const qp_names[QP_COUNT] = {
    [QP_ALGORITHM] = "X-Amz-Algorithm",
    [QP_CREDENTIAL] = "X-Amz-Credential",
    [QP_SIGNATURE] = "X-Amz-Signature",
    [QP_DATE] = "X-Amz-Date",
    [QP_SIGNED_HEADERS] = "X-Amz-SignedHeaders",
    [QP_EXPIRES] = "X-Amz-Expires",
    [QP_TOKEN] = "X-Amz-Security-Token",
};

/*
 * Which presign parameter the raw query name 'name' is (decoded first, so
 * "X-Amz-Date" and "X%2DAmz%2DDate" are one name); QP_COUNT for others.
 */
static enum qp qp_lookup(struct span name, struct buf *tmp)
{
    size_t i;

    buf_reset(tmp);
    if (name.n > 64 || uri_decode(tmp, name.p, name.n))
        return QP_COUNT;
    for (i = 0; i < QP_COUNT; i++)
        if (span_is((struct span){tmp->data, tmp->len}, qp_names[i]))
            return (enum qp)i;
    return QP_COUNT;
}

/* True when the query carries the presigned form's key parameters. */
static bool query_is_presigned(const char *query)
{
    struct span rest = span_of(query), item, name;
    struct buf tmp;
    bool hit = false;

    if (rest.n > SIGV4_MAX_QUERY)
        return false;
    buf_init(&tmp, BUF_UNLIMITED);
    while (rest.n && !hit) {
        enum qp q;

        (void)span_cut(&rest, '&', &item);
        (void)span_cut(&item, '=', &name);
        q = qp_lookup(name, &tmp);
        hit = q == QP_ALGORITHM || q == QP_CREDENTIAL || q == QP_SIGNATURE;
    }
    buf_release(&tmp);
    return hit;
}

/* X-Amz-Expires: decimal seconds, 0..SIGV4_EXPIRES_MAX (S3's texts). */
static enum kaeri_err parse_expires(const char *s, int64_t *out,
                                    enum sigv4_failure *why,
                                    struct kaeri_error *err)
{
    size_t i, n = strlen(s);

    *out = 0;
    if (s[0] == '-')
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "X-Amz-Expires must be non-negative");
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                          "X-Amz-Expires should be a number");
        if (*out <= SIGV4_EXPIRES_MAX)
            *out = *out * 10 + (s[i] - '0');
    }
    if (!n)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "X-Amz-Expires should be a number");
    if (*out > SIGV4_EXPIRES_MAX)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "X-Amz-Expires must be less than a week (in seconds) "
                      "that is 604800");
    return KAERI_OK;
}

/* The presigned query form (spec section 7). */
static enum kaeri_err parse_query_form(const char *query,
                                       struct sigv4_auth *out,
                                       enum sigv4_failure *why,
                                       struct kaeri_error *err)
{
    struct span rest = span_of(query), item, name;
    struct buf tmp, val[QP_COUNT];
    bool seen[QP_COUNT] = {false};
    enum kaeri_err rc = KAERI_OK;
    size_t i;

    if (rest.n > SIGV4_MAX_QUERY)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "The query string is longer than %d characters.",
                      SIGV4_MAX_QUERY);
    buf_init(&tmp, BUF_UNLIMITED);
    for (i = 0; i < QP_COUNT; i++)
        buf_init(&val[i], SIGV4_MAX_FIELD);
    buf_init(&val[QP_CREDENTIAL], SIGV4_MAX_SIGNED_LEN); /* five fields */
    buf_init(&val[QP_SIGNED_HEADERS], SIGV4_MAX_SIGNED_LEN);
    buf_init(&val[QP_TOKEN], SIGV4_MAX_TOKEN);
    while (rest.n) {
        enum qp q;

        (void)span_cut(&rest, '&', &item);
        (void)span_cut(&item, '=', &name);
        q = qp_lookup(name, &tmp);
        if (q == QP_COUNT)
            continue;
        if (seen[q]) { /* UNVERIFIED text */
            rc = refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                        "The query string has '%s' more than once.",
                        qp_names[q]);
            goto out;
        }
        seen[q] = true;
        if (uri_decode(&val[q], item.p, item.n)) {
            rc = refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                        "%s is too long.", qp_names[q]);
            goto out;
        }
    }
    for (i = 0; i < QP_TOKEN; i++) {
        if (!val[i].len) {
            rc = refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                        "AWS query-string parameters must include "
                        "'X-Amz-Algorithm', 'X-Amz-Credential', "
                        "'X-Amz-Signature', 'X-Amz-Date', "
                        "'X-Amz-SignedHeaders', and 'X-Amz-Expires'. "
                        "Re-examine the query-string parameters.");
            goto out;
        }
    }
    if (strcmp(val[QP_ALGORITHM].data, SIGV4_ALGORITHM)) {
        rc = refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                    "X-Amz-Algorithm only supports \"" SIGV4_ALGORITHM "\"");
        goto out;
    }
    rc = parse_credential(
        (struct span){val[QP_CREDENTIAL].data, val[QP_CREDENTIAL].len}, out,
        "X-Amz-Credential", why, err);
    if (!rc)
        rc = parse_signed_headers((struct span){val[QP_SIGNED_HEADERS].data,
                                                val[QP_SIGNED_HEADERS].len},
                                  out, why, err);
    if (!rc)
        rc = parse_expires(val[QP_EXPIRES].data, &out->expires, why, err);
    if (rc)
        goto out;
    if (!parse_amz_date(val[QP_DATE].data, &out->time)) { /* UNVERIFIED */
        rc = refuse(SIGV4_FAIL_NO_DATE, KAERI_ERR_INVALID, why, err,
                    "X-Amz-Date must be in the ISO8601 Long Format "
                    "\"yyyyMMdd'T'HHmmss'Z'\"");
        goto out;
    }
    memcpy(out->amz_date, val[QP_DATE].data, SIGV4_AMZ_DATE_LEN + 1);
    memcpy(out->signature, val[QP_SIGNATURE].data, val[QP_SIGNATURE].len + 1);
    if (seen[QP_TOKEN])
        out->security_token = xstrdup(val[QP_TOKEN].data);
    out->presigned = true;
out:
    for (i = 0; i < QP_COUNT; i++)
        buf_release(&val[i]);
    buf_release(&tmp);
    return rc;
}

/*
 * spec section 4: AWS requires 'host' and every x-amz-* header present to
 * be signed.
 */
static enum kaeri_err check_signed_set(const struct sigv4_request *req,
                                       const struct sigv4_auth *a,
                                       enum sigv4_failure *why,
                                       struct kaeri_error *err)
{
    size_t i;

    if (!list_has(a->signed_headers, "host")) /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_HOST_NOT_SIGNED, KAERI_ERR_INVALID, why, err,
                      "'Host' or ':authority' must be a 'SignedHeader' in "
                      "the AWS Authorization.");
    for (i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name;

        if (strncmp(name, "x-amz-", 6) || list_has(a->signed_headers, name))
            continue;
        /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_HOST_NOT_SIGNED, KAERI_ERR_INVALID, why, err,
                      "There were headers present in the request which "
                      "were not signed: '%.64s'.",
                      name);
    }
    return KAERI_OK;
}

enum kaeri_err sigv4_parse(const struct sigv4_request *req,
                           struct sigv4_auth *out, enum sigv4_failure *why,
                           struct kaeri_error *err)
{
    const char *auth, *token;
    size_t count, token_count;
    enum kaeri_err rc;

    memset(out, 0, sizeof(*out));
    if (why)
        *why = SIGV4_OK;
    auth = find_header(req, "authorization", &count);
    if (count > 1) /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "The request has more than one Authorization header.");
    if (auth && query_is_presigned(req->query ? req->query : ""))
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "Only one auth mechanism allowed; only the "
                      "X-Amz-Algorithm query parameter, Signature query "
                      "string parameter or the Authorization header should "
                      "be specified");
    token = find_header(req, "x-amz-security-token", &token_count);
    if (token_count > 1) /* UNVERIFIED text */
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "The request has more than one 'X-Amz-Security-Token' "
                      "header.");
    if (token && strlen(token) > SIGV4_MAX_TOKEN)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_INVALID, why, err,
                      "X-Amz-Security-Token is longer than %d characters.",
                      SIGV4_MAX_TOKEN);
    if (auth)
        rc = parse_header_form(req, auth, out, why, err);
    else if (query_is_presigned(req->query ? req->query : ""))
        rc = parse_query_form(req->query, out, why, err);
    else
        rc = refuse(SIGV4_FAIL_MISSING, KAERI_ERR_AUTH, why, err,
                    "Missing Authentication Token");
    if (!rc)
        rc = check_signed_set(req, out, why, err);
    if (!rc && token && !out->security_token)
        out->security_token = xstrdup(token);
    if (rc)
        sigv4_auth_release(out);
    return rc;
}

void sigv4_auth_release(struct sigv4_auth *a)
{
    free(a->security_token);
    memset(a, 0, sizeof(*a));
}

enum kaeri_err sigv4_check(const struct sigv4_auth *a,
                           const char *expected_region,
                           const char *expected_service, int64_t now_epoch_s,
                           int64_t window_s, enum sigv4_failure *why,
                           struct kaeri_error *err)
{
    char t[SIGV4_AMZ_DATE_LEN + 1], bound[SIGV4_AMZ_DATE_LEN + 1],
        now[SIGV4_AMZ_DATE_LEN + 1];

    /* the caller's promises; these are not input */
    assert(now_epoch_s >= INT64_C(-62135596800) &&
           now_epoch_s <= INT64_C(253402300799));
    assert(window_s >= 0 && window_s <= SIGV4_EXPIRES_MAX);
    if (why)
        *why = SIGV4_OK;
    if (expected_region && strcmp(a->region, expected_region))
        return refuse(SIGV4_FAIL_WRONG_REGION, KAERI_ERR_AUTH, why, err,
                      "Credential should be scoped to a valid region, not "
                      "'%.64s'.",
                      a->region);
    if (expected_service && strcmp(a->service, expected_service))
        return refuse(SIGV4_FAIL_WRONG_SERVICE, KAERI_ERR_AUTH, why, err,
                      "Credential should be scoped to correct service: "
                      "'%.64s'.",
                      expected_service);
    if (strlen(a->scope_date) != SIGV4_DATE_LEN ||
        memcmp(a->scope_date, a->amz_date, SIGV4_DATE_LEN))
        return refuse(SIGV4_FAIL_DATE_MISMATCH, KAERI_ERR_AUTH, why, err,
                      "Date in Credential scope does not match YYYYMMDD "
                      "from ISO-8601 version of date from HTTP: '%.64s' != "
                      "'%.8s', from '%s'.",
                      a->scope_date, a->amz_date, a->amz_date);

    /* spec sections 6 and 7 */
    time_text(now_epoch_s, now);
    memcpy(t, a->amz_date, sizeof(t));
    if (a->presigned && now_epoch_s > a->time + a->expires)
        return refuse(SIGV4_FAIL_PRESIGN_EXPIRED, KAERI_ERR_EXPIRED, why, err,
                      "Request has expired");
    if (!a->presigned && a->time < now_epoch_s - window_s) {
        time_text(now_epoch_s - window_s, bound);
        return refuse(SIGV4_FAIL_EXPIRED, KAERI_ERR_EXPIRED, why, err,
                      "Signature expired: %s is now earlier than %s (%s - "
                      "%d min.)",
                      t, bound, now, (int)(window_s / 60));
    }
    if (a->time > now_epoch_s + window_s) {
        time_text(now_epoch_s + window_s, bound);
        return refuse(SIGV4_FAIL_NOT_YET, KAERI_ERR_EXPIRED, why, err,
                      "Signature not yet current: %s is still later than %s "
                      "(%s + %d min.)",
                      t, bound, now, (int)(window_s / 60));
    }
    return KAERI_OK;
}

enum kaeri_err sigv4_verify(const struct sigv4_request *req,
                            const struct sigv4_auth *a, const char *secret,
                            struct buf *canonical_out, struct buf *sts_out,
                            enum sigv4_failure *why, struct kaeri_error *err)
{
    const char *sent;
    char body_hash[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
    struct buf creq, sts;
    size_t count;
    enum kaeri_err rc;
    bool same;

    if (why)
        *why = SIGV4_OK;
    /* spec section 5, non-S3: the header, when sent, is the body's hash */
    sent = find_header(req, "x-amz-content-sha256", &count);
    hex_sha256(req->body, req->body ? req->body_len : 0, body_hash);
    if (sent && (count > 1 || strcmp(sent, body_hash)))
        return refuse(SIGV4_FAIL_PAYLOAD_HASH_MISMATCH, KAERI_ERR_AUTH, why,
                      err,
                      "The provided 'x-amz-content-sha256' header does not "
                      "match what was computed.");

    buf_init(&creq, SIGV4_CANONICAL_MAX);
    buf_init(&sts, SIGV4_CANONICAL_MAX);
    rc = compute(req, a->signed_headers, a->presigned, secret, a->amz_date,
                 a->scope_date, a->region, a->service, &creq, &sts, sig, err);
    /* for the log line, whatever happened; a full log buffer is no error */
    if (canonical_out && buf_add(canonical_out, creq.data, creq.len))
        (void)buf_adds(canonical_out, "(canonical request too long)");
    if (sts_out && buf_add(sts_out, sts.data, sts.len))
        (void)buf_adds(sts_out, "(string to sign too long)");
    buf_release(&creq);
    buf_release(&sts);
    if (rc == KAERI_ERR_LIMIT)
        return refuse(SIGV4_FAIL_INCOMPLETE, KAERI_ERR_AUTH, why, err,
                      "The request is too large to verify its signature.");
    if (rc) /* a signed header is missing: what AWS calls a mismatch */
        return refuse(SIGV4_FAIL_MISMATCH, KAERI_ERR_AUTH, why, err,
                      MISMATCH_TEXT);
    same = strlen(a->signature) == SIGV4_HEX_LEN &&
           crypto_memeq(sig, a->signature, SIGV4_HEX_LEN);
    if (!same)
        return refuse(SIGV4_FAIL_MISMATCH, KAERI_ERR_AUTH, why, err,
                      MISMATCH_TEXT);
    return KAERI_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum kaeri_err sigv4_sign(const struct sigv4_request *req,
                          const char *access_key, const char *secret,
                          const char *session_token, const char *region,
                          const char *service, const char *amz_date,
                          char **authorization_out, struct kaeri_error *err)
{
    const char *names[SIGV4_MAX_SIGNED], *v;
    char sig[SIGV4_HEX_LEN + 1], date[SIGV4_DATE_LEN + 1],
        hash[SIGV4_HEX_LEN + 1];
    struct buf list, creq, sts;
    size_t n = 0, i, j, count;
    int64_t t;
    enum kaeri_err rc;

    *authorization_out = NULL;
    if (!parse_amz_date(amz_date, &t))
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "amz date '%.32s' is not YYYYMMDDTHHMMSSZ", amz_date);
    v = find_header(req, "host", &count);
    if (!v || count > 1)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "request needs exactly one host header");
    v = find_header(req, "x-amz-date", &count);
    if (!v || count > 1 || strcmp(v, amz_date))
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "request needs one x-amz-date header equal to '%s'",
                          amz_date);
    v = find_header(req, "x-amz-security-token", &count);
    if (session_token ? !v || count > 1 || strcmp(v, session_token) : !!v)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "x-amz-security-token header and session token "
                          "differ");
    v = find_header(req, "x-amz-content-sha256", &count);
    hex_sha256(req->body, req->body ? req->body_len : 0, hash);
    if (v && (count > 1 || strcmp(v, hash)))
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "x-amz-content-sha256 is not the body's hash");

    /* host, content-type and every x-amz-*, sorted, each once */
    for (i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name;
        bool dup = false;

        if (strcmp(name, "host") && strcmp(name, "content-type") &&
            strncmp(name, "x-amz-", 6))
            continue;
        for (j = 0; j < n && !dup; j++)
            dup = !strcmp(names[j], name);
        if (dup)
            continue;
        if (n == SIGV4_MAX_SIGNED)
            return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                              "more than %d headers to sign", SIGV4_MAX_SIGNED);
        names[n++] = name;
    }
    qsort(names, n, sizeof(names[0]), name_cmp);
    buf_init(&list, SIGV4_MAX_SIGNED_LEN);
    buf_init(&creq, SIGV4_CANONICAL_MAX);
    buf_init(&sts, SIGV4_CANONICAL_MAX);
    rc = KAERI_OK;
    for (i = 0; i < n && !rc; i++)
        if ((i && buf_addch(&list, ';')) || buf_adds(&list, names[i]))
            rc = kaeri_fail(err, KAERI_ERR_LIMIT, NULL,
                            "signed header list too long");
    memcpy(date, amz_date, SIGV4_DATE_LEN);
    date[SIGV4_DATE_LEN] = '\0';
    if (!rc)
        rc = compute(req, list.data, false, secret, amz_date, date, region,
                     service, &creq, &sts, sig, err);
    if (!rc)
        *authorization_out = xasprintf(
            SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/" SIGV4_TERMINATOR
                            ", SignedHeaders=%s, Signature=%s",
            access_key, date, region, service, list.data, sig);
    buf_release(&sts);
    buf_release(&creq);
    buf_release(&list);
    return rc;
}

const char *sigv4_failure_name(enum sigv4_failure why)
{
    static const char *const names[] = {
        [SIGV4_OK] = "ok",
        [SIGV4_FAIL_MISSING] = "missing",
        [SIGV4_FAIL_INCOMPLETE] = "incomplete",
        [SIGV4_FAIL_BAD_TERMINATOR] = "bad-terminator",
        [SIGV4_FAIL_WRONG_REGION] = "wrong-region",
        [SIGV4_FAIL_WRONG_SERVICE] = "wrong-service",
        [SIGV4_FAIL_DATE_MISMATCH] = "date-mismatch",
        [SIGV4_FAIL_NO_DATE] = "no-date",
        [SIGV4_FAIL_EXPIRED] = "expired",
        [SIGV4_FAIL_NOT_YET] = "not-yet",
        [SIGV4_FAIL_PRESIGN_EXPIRED] = "presign-expired",
        [SIGV4_FAIL_HOST_NOT_SIGNED] = "host-not-signed",
        [SIGV4_FAIL_MISMATCH] = "mismatch",
        [SIGV4_FAIL_PAYLOAD_HASH_MISMATCH] = "payload-hash-mismatch",
    };

    if ((size_t)why < ARRAY_SIZE(names) && names[why])
        return names[why];
    return "unknown";
}

/*
 * tlsca.c - the local certificate authority in --state-dir: check the CA
 * and leaf kept in <state_dir>/tls/ and reuse them, or issue what is
 * missing or unusable (CONTRACT.md, "Ports and routing"; tlsca.h lists
 * the files and the checks).
 *
 * Profile, as mkcert and the CA/Browser Forum baseline shape it:
 *   CA    CN=kaeri local CA; basicConstraints critical CA:TRUE, pathlen 0;
 *         keyUsage critical keyCertSign, cRLSign; subjectKeyIdentifier;
 *         TLSCA_CA_DAYS days.
 *   leaf  CN=localhost; basicConstraints CA:FALSE; keyUsage critical
 *         digitalSignature; extendedKeyUsage serverAuth; subjectAltName
 *         from leaf_sans[]; authorityKeyIdentifier; TLSCA_LEAF_DAYS days
 *         from notBefore, cut to the CA's own end.
 * Both ECDSA P-256 (named curve) with SHA-256, 128-bit random serials,
 * notBefore an hour back for clocks that disagree a little (a VM's and its
 * host's). keyEncipherment is left out: RFC 5480 section 3 does not allow
 * it with an EC key, whose TLS use is signing only.
 *
 * Why the extra names: OpenSSL (so curl and libwebsockets' clients) and
 * Node match a wildcard only when two labels follow it, so
 * "*.localhost" covers no name for them; "<apiId>.appsync-api.localhost"
 * and "<apiId>.execute-api.localhost" (CONTRACT.md's Host routing) need
 * their own wildcards. Adding a name to leaf_sans[] re-issues old leaves.
 *
 * Reuse is the common case and must cost little, but OpenSSL 3.0 takes
 * about a millisecond to parse and verify two certificates and two keys
 * (its decoders, and first fetches in a new process). So a full check
 * leaves tls/checked behind: a hash of the four files as it saw them, the
 * leaf profile it checked for, and the times between which both
 * certificates are valid. When the files still hash the same, the next
 * start checks only those times, with no OpenSSL call. Any other change
 * to a file, or to leaf_sans[], means a full check; a missing or damaged
 * stamp costs one, never a new certificate. FNV-1a, not a cryptographic
 * hash: it catches accidents, and whoever can write the files can write
 * the stamp too.
 *
 * Left out on purpose: any key type or profile choice for the user, CRLs,
 * OCSP, intermediate CAs. A CA put into tls/ by hand (mkcert's root, say)
 * is used as it is when it passes the checks. Time is the wall clock,
 * not clock.h's "now": clients check the certificates against real time.
 * No logging; main.c says what was created.
 */
#include "tlsca.h"
#include "alloc.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define PEM_FILE_MAX ((size_t)64 * 1024) /* ours are under 1 KiB */
#define SERIAL_BITS  128
#define BACKDATE_S   3600
#define DAY_S        86400
#define STAMP_NAME   "checked" /* what the last full check saw */

/*
 * The files, in the order they are renamed into place: each key before
 * its certificate, the CA before the leaf. A crash after any rename
 * leaves a key that does not match its certificate, or a leaf that the
 * CA did not sign, and both are found and replaced by the next start.
 */
enum tls_file { F_CA_KEY, F_CA_CERT, F_LEAF_KEY, F_LEAF_CERT, F_COUNT };

static const struct {
    const char *name;
    mode_t mode;
    bool is_key; /* else a certificate */
    bool is_ca;  /* else the leaf */
} files[F_COUNT] = {
    [F_CA_KEY] = {"ca-key.pem", 0600, true, true},
    [F_CA_CERT] = {"ca.pem", 0644, false, true},
    [F_LEAF_KEY] = {"leaf-key.pem", 0600, true, false},
    [F_LEAF_CERT] = {"leaf.pem", 0644, false, false},
};

/* The leaf's subjectAltName: every entry must be there for reuse. */
static const struct {
    int type; /* GEN_DNS or GEN_IPADD */
    const char *text;
} leaf_sans[] = {
    {GEN_DNS, "localhost"},
    {GEN_DNS, "*.localhost"},
    {GEN_DNS, "*.execute-api.localhost"},
    {GEN_DNS, "*.appsync-api.localhost"},
    {GEN_IPADD, "127.0.0.1"},
    {GEN_IPADD, "::1"},
};

/* A certificate and its private key, both owned. */
struct pair {
    X509 *cert;
    EVP_PKEY *key;
};

static void pair_release(struct pair *p)
{
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    p->cert = NULL;
    p->key = NULL;
}

/* Fill 'err' with 'what' and OpenSSL's reason, and empty its queue. */
static enum kaeri_err ossl_fail(struct kaeri_error *err, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return kaeri_fail(err, KAERI_ERR_INTERNAL, NULL, "openssl: %s: %s", what,
                      reason ? reason : "unknown error");
}

/* --- reading ---------------------------------------------------------- */

/*
 * Refuse a passphrase: without this, an encrypted PEM would make OpenSSL
 * prompt on the terminal and block the start.
 */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/*
 * Read the file at 'path' into 'b', which is left empty when the file
 * does not exist or is too big to be ours: both mean "replace it".
 * KAERI_ERR_IO, with 'err' filled, for any other failure, which must
 * never lead to a new file over this one (a key owned by root after a
 * sudo run, say).
 */
static enum kaeri_err read_file(const char *path, struct buf *b,
                                struct kaeri_error *err)
{
    enum kaeri_err rc = buf_read_file(b, path, err);

    return rc == KAERI_ERR_NOT_FOUND || rc == KAERI_ERR_LIMIT ? KAERI_OK : rc;
}

/*
 * Parse a certificate and its key from their PEM files' bytes. True when
 * both parse and the key is the certificate's; false (with 'p' empty)
 * means the pair is to be issued again.
 */
static bool parse_pair(const struct buf *cert_pem, const struct buf *key_pem,
                       struct pair *p)
{
    BIO *bio;

    bio = BIO_new_mem_buf(cert_pem->data, (int)cert_pem->len);
    if (bio)
        p->cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    bio = BIO_new_mem_buf(key_pem->data, (int)key_pem->len);
    if (bio)
        p->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    /* Failed parses leave "no start line" and the like on the queue. */
    ERR_clear_error();
    if (p->cert && p->key && X509_check_private_key(p->cert, p->key) == 1)
        return true;
    ERR_clear_error();
    pair_release(p);
    return false;
}

/* --- checks ----------------------------------------------------------- */

/* Valid at 'now' and still TLSCA_MIN_DAYS_LEFT days after it. */
static bool valid_long_enough(const X509 *x, time_t now)
{
    time_t later = now + (time_t)TLSCA_MIN_DAYS_LEFT * DAY_S;

    /* X509_cmp_time(): -1 earlier, 1 later, 0 on a malformed time. */
    return X509_cmp_time(X509_get0_notBefore(x), &now) < 0 &&
           X509_cmp_time(X509_get0_notAfter(x), &later) > 0;
}

static bool ca_usable(const struct pair *ca, time_t now)
{
    /* 0 means "not a CA": CA:FALSE, or keyUsage without keyCertSign. */
    return X509_check_ca(ca->cert) != 0 && valid_long_enough(ca->cert, now);
}

/* Does the leaf's subjectAltName hold every entry of leaf_sans[]? */
static bool has_sans(const X509 *leaf)
{
    GENERAL_NAMES *names;
    bool all = true;

    names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    if (!names)
        return false;
    for (size_t i = 0; all && i < ARRAY_SIZE(leaf_sans); i++) {
        size_t want_len = strlen(leaf_sans[i].text);
        ASN1_OCTET_STRING *ip = NULL;
        bool found = false;

        if (leaf_sans[i].type == GEN_IPADD)
            ip = a2i_IPADDRESS(leaf_sans[i].text);
        for (int j = 0; !found && j < sk_GENERAL_NAME_num(names); j++) {
            const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);

            if (gn->type != leaf_sans[i].type)
                continue;
            if (gn->type == GEN_IPADD)
                found = ip && ASN1_OCTET_STRING_cmp(gn->d.iPAddress, ip) == 0;
            else
                found = (size_t)ASN1_STRING_length(gn->d.dNSName) == want_len &&
                        memcmp(ASN1_STRING_get0_data(gn->d.dNSName),
                               leaf_sans[i].text, want_len) == 0;
        }
        ASN1_OCTET_STRING_free(ip);
        all = found;
    }
    GENERAL_NAMES_free(names);
    return all;
}

static bool leaf_usable(const struct pair *leaf, const struct pair *ca,
                        time_t now)
{
    /* X509_check_issued(): names, key identifiers, the CA's keyUsage. */
    return X509_check_issued(ca->cert, leaf->cert) == X509_V_OK &&
           X509_verify(leaf->cert, X509_get0_pubkey(ca->cert)) == 1 &&
           valid_long_enough(leaf->cert, now) && has_sans(leaf->cert);
}

/* --- issuing ---------------------------------------------------------- */

static bool set_random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    bool ok = bn != NULL;

    /* RFC 5280 section 4.1.2.2: positive, at most 20 octets. */
    do {
        ok =
            ok && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
    } while (ok && BN_is_zero(bn));
    ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static bool set_cn(X509_NAME *name, const char *cn)
{
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                      (const unsigned char *)cn, -1, -1, 0);
}

/* Add one extension written as in openssl.cnf ("critical,CA:TRUE"). */
static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

/* subjectAltName from leaf_sans[], built directly, not parsed from text. */
static bool add_sans(X509 *x)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    bool ok = names != NULL;

    for (size_t i = 0; ok && i < ARRAY_SIZE(leaf_sans); i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_STRING *value;

        if (leaf_sans[i].type == GEN_IPADD) {
            value = a2i_IPADDRESS(leaf_sans[i].text);
        } else {
            value = ASN1_IA5STRING_new();
            if (value && !ASN1_STRING_set(value, leaf_sans[i].text, -1)) {
                ASN1_IA5STRING_free(value);
                value = NULL;
            }
        }
        if (!gn || !value) {
            GENERAL_NAME_free(gn);
            ASN1_STRING_free(value);
            ok = false;
            break;
        }
        GENERAL_NAME_set0_value(gn, leaf_sans[i].type, value);
        if (!sk_GENERAL_NAME_push(names, gn)) {
            GENERAL_NAME_free(gn);
            ok = false;
        }
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0,
                                 X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(names);
    return ok;
}

/*
 * A new certificate for a new P-256 key: version 3, random serial,
 * subject CN=cn, notBefore BACKDATE_S before 'now', notAfter 'days' after
 * notBefore. Issuer, extensions and signature are the caller's.
 */
static bool new_cert(struct pair *p, const char *cn, long days, time_t now)
{
    p->key = EVP_EC_gen("P-256");
    p->cert = X509_new();
    return p->key && p->cert && X509_set_version(p->cert, X509_VERSION_3) &&
           set_random_serial(p->cert) &&
           set_cn(X509_get_subject_name(p->cert), cn) &&
           X509_set_pubkey(p->cert, p->key) &&
           X509_time_adj_ex(X509_getm_notBefore(p->cert), 0, -BACKDATE_S,
                            &now) &&
           X509_time_adj_ex(X509_getm_notAfter(p->cert), (int)days, -BACKDATE_S,
                            &now);
}

static enum kaeri_err issue_ca(struct pair *ca, time_t now,
                               struct kaeri_error *err)
{
    X509V3_CTX ctx;
    bool ok;

    ok = new_cert(ca, "kaeri local CA", TLSCA_CA_DAYS, now) &&
         X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert));
    if (ok) {
        X509V3_set_ctx(&ctx, ca->cert, ca->cert, NULL, NULL, 0);
        ok = add_ext(ca->cert, &ctx, NID_basic_constraints,
                     "critical,CA:TRUE,pathlen:0") &&
             add_ext(ca->cert, &ctx, NID_key_usage,
                     "critical,keyCertSign,cRLSign") &&
             add_ext(ca->cert, &ctx, NID_subject_key_identifier, "hash") &&
             X509_sign(ca->cert, ca->key, EVP_sha256()) > 0;
    }
    if (!ok) {
        pair_release(ca);
        return ossl_fail(err, "cannot issue the CA certificate");
    }
    return KAERI_OK;
}

static enum kaeri_err issue_leaf(struct pair *leaf, const struct pair *ca,
                                 time_t now, struct kaeri_error *err)
{
    X509V3_CTX ctx;
    bool ok;

    ok = new_cert(leaf, "localhost", TLSCA_LEAF_DAYS, now) &&
         X509_set_issuer_name(leaf->cert, X509_get_subject_name(ca->cert));
    /* A leaf that outlives its CA would fail at the CA's end anyway. */
    if (ok && ASN1_TIME_compare(X509_get0_notAfter(leaf->cert),
                                X509_get0_notAfter(ca->cert)) > 0)
        ok = X509_set1_notAfter(leaf->cert, X509_get0_notAfter(ca->cert));
    if (ok) {
        X509V3_set_ctx(&ctx, ca->cert, leaf->cert, NULL, NULL, 0);
        ok = add_ext(leaf->cert, &ctx, NID_basic_constraints, "CA:FALSE") &&
             add_ext(leaf->cert, &ctx, NID_key_usage,
                     "critical,digitalSignature") &&
             add_ext(leaf->cert, &ctx, NID_ext_key_usage, "serverAuth") &&
             add_sans(leaf->cert) &&
             add_ext(leaf->cert, &ctx, NID_subject_key_identifier, "hash") &&
             /* keyid from the CA's; issuer and serial only without one */
             add_ext(leaf->cert, &ctx, NID_authority_key_identifier,
                     "keyid,issuer") &&
             X509_sign(leaf->cert, ca->key, EVP_sha256()) > 0;
    }
    if (!ok) {
        pair_release(leaf);
        return ossl_fail(err, "cannot issue the leaf certificate");
    }
    return KAERI_OK;
}

/* --- writing ---------------------------------------------------------- */

/* File 'f' of 'pair' (its key or its certificate) as PEM into 'out'. */
static enum kaeri_err pem_of(enum tls_file f, const struct pair *pair,
                             struct buf *out, struct kaeri_error *err)
{
    /* A secure-heap BIO for keys: the PEM is wiped when freed. */
    BIO *bio = BIO_new(files[f].is_key ? BIO_s_secmem() : BIO_s_mem());
    char *data = NULL;
    long len = 0;
    int ok;

    if (!bio)
        return ossl_fail(err, "BIO_new");
    ok = files[f].is_key ? PEM_write_bio_PrivateKey(bio, pair->key, NULL, NULL,
                                                    0, NULL, NULL)
                         : PEM_write_bio_X509(bio, pair->cert);
    if (ok)
        len = BIO_get_mem_data(bio, &data);
    OPENSSL_cleanse(out->data, out->len);
    buf_reset(out);
    ok = ok && len > 0 && data && !buf_add(out, data, (size_t)len);
    BIO_free(bio);
    return ok ? KAERI_OK : ossl_fail(err, "cannot write PEM");
}

/* Write all of 'data' to 'fd'; false with errno set on failure. */
static bool write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t put = write(fd, data, len);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return false;
        data += put;
        len -= (size_t)put;
    }
    return true;
}

/*
 * Write 'b' to a new temporary file next to 'path', with 'mode', synced
 * to disk. Its name goes to '*tmp', for the caller to rename or remove.
 */
static enum kaeri_err write_temp(const char *path, const struct buf *b,
                                 mode_t mode, char **tmp,
                                 struct kaeri_error *err)
{
    enum kaeri_err rc = KAERI_OK;
    int fd;

    *tmp = xasprintf("%s.tmp.XXXXXX", path);
    fd = mkstemp(*tmp);
    if (fd < 0) {
        rc = kaeri_fail(err, KAERI_ERR_IO, path, "cannot create: %s",
                        strerror(errno));
        FREE_AND_NULL(*tmp);
    } else if (fchmod(fd, mode) < 0 || !write_all(fd, b->data, b->len) ||
               fsync(fd) < 0) {
        rc = kaeri_fail(err, KAERI_ERR_IO, *tmp, "cannot write: %s",
                        strerror(errno));
        close(fd);
    } else if (close(fd) < 0) {
        rc = kaeri_fail(err, KAERI_ERR_IO, *tmp, "cannot write: %s",
                        strerror(errno));
    }
    return rc;
}

/* --- the stamp ---------------------------------------------------------- */

/* 64-bit FNV-1a. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    while (n--) {
        h ^= (unsigned char)*p++;
        h *= 0x100000001b3u;
    }
    return h;
}

/*
 * The stamp's first line: what a full check looked at. Anything in it
 * that differs, a file's bytes or the leaf profile, means "check again".
 */
static void stamp_key(struct buf *out, const struct buf content[F_COUNT])
{
    (void)buf_printf(out,
                     "kaeri-tlsca 1 min-days=%d sans=", TLSCA_MIN_DAYS_LEFT);
    for (size_t i = 0; i < ARRAY_SIZE(leaf_sans); i++)
        (void)buf_printf(out, "%s%s", i ? "," : "", leaf_sans[i].text);
    (void)buf_adds(out, " fnv=");
    for (int f = 0; f < F_COUNT; f++)
        (void)buf_printf(out, "%s%016" PRIx64, f ? "," : "",
                         fnv1a(content[f].data, content[f].len));
    (void)buf_addch(out, '\n');
}

/*
 * Is the stamp at 'path' for exactly these files, and do its times say
 * both certificates are valid now and TLSCA_MIN_DAYS_LEFT days on? The
 * same answer valid_long_enough() would give, without parsing anything.
 */
static bool stamp_fresh(const char *path, const struct buf content[F_COUNT],
                        time_t now)
{
    struct buf stamp, key;
    long long from, until;
    bool fresh = false;

    buf_init(&stamp, 4096);
    buf_init(&key, BUF_UNLIMITED);
    stamp_key(&key, content);
    if (!read_file(path, &stamp, NULL) && stamp.len > key.len &&
        memcmp(stamp.data, key.data, key.len) == 0 &&
        sscanf(stamp.data + key.len, "valid %lld %lld", &from, &until) == 2)
        fresh = from < (long long)now &&
                until > (long long)now + (long long)TLSCA_MIN_DAYS_LEFT * DAY_S;
    buf_release(&stamp);
    buf_release(&key);
    return fresh;
}

static bool epoch_of(const ASN1_TIME *t, long long *out)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(t, &tm))
        return false;
    *out = (long long)timegm(&tm);
    return true;
}

/*
 * Leave the stamp for files just checked or written: their hashes, and
 * the latest notBefore and the earliest notAfter of the two certificates.
 * Best effort: without a stamp the next start checks in full.
 */
static void stamp_write(const char *path, const struct buf content[F_COUNT],
                        const struct pair *ca, const struct pair *leaf)
{
    long long nb[2], na[2];
    struct buf stamp;
    char *tmp = NULL;

    if (!epoch_of(X509_get0_notBefore(ca->cert), &nb[0]) ||
        !epoch_of(X509_get0_notBefore(leaf->cert), &nb[1]) ||
        !epoch_of(X509_get0_notAfter(ca->cert), &na[0]) ||
        !epoch_of(X509_get0_notAfter(leaf->cert), &na[1]))
        return;
    buf_init(&stamp, BUF_UNLIMITED);
    stamp_key(&stamp, content);
    (void)buf_printf(&stamp, "valid %lld %lld\n", nb[0] > nb[1] ? nb[0] : nb[1],
                     na[0] < na[1] ? na[0] : na[1]);
    if (!write_temp(path, &stamp, 0600, &tmp, NULL) && tmp &&
        rename(tmp, path) < 0)
        (void)unlink(tmp);
    free(tmp);
    buf_release(&stamp);
}

/* --- the directory ---------------------------------------------------- */

static enum kaeri_err make_dir(const char *path, struct kaeri_error *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return kaeri_fail(err, KAERI_ERR_IO, path,
                          "cannot create directory: %s", strerror(errno));
    return KAERI_OK;
}

/*
 * Open the tls directory and take an exclusive flock() on it, so two
 * kaeris starting together on one state dir do not mix their files: the
 * second waits and reuses the first one's. Locking is best effort (a file
 * system without locks still works, unserialised); the fd goes to 'fd'.
 */
static enum kaeri_err lock_dir(const char *dir, int *fd,
                               struct kaeri_error *err)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return kaeri_fail(err, KAERI_ERR_IO, dir, "cannot open: %s",
                          strerror(errno));
    while (flock(*fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    return KAERI_OK;
}

/* fsync a directory so renames in it survive a crash; best effort. */
static void sync_dir(int fd)
{
    /* Some file systems refuse fsync on a directory. */
    (void)fsync(fd);
}

/* --- the API ---------------------------------------------------------- */

enum kaeri_err tlsca_load_or_create(const char *state_dir, struct tlsca *out,
                                    struct kaeri_error *err)
{
    enum kaeri_err rc;
    char *dir = xasprintf("%s/tls", state_dir);
    char real[PATH_MAX];
    char *path[F_COUNT] = {NULL}, *stamp = NULL;
    char *tmp[F_COUNT] = {NULL};
    struct buf content[F_COUNT];
    struct pair ca = {NULL, NULL}, leaf = {NULL, NULL};
    time_t now = time(NULL);
    bool used_openssl = false;
    int dir_fd = -1;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < F_COUNT; i++)
        buf_init(&content[i], PEM_FILE_MAX);
    rc = make_dir(state_dir, err);
    if (!rc)
        rc = make_dir(dir, err);
    if (!rc && !realpath(dir, real))
        rc = kaeri_fail(err, KAERI_ERR_IO, dir, "cannot resolve: %s",
                        strerror(errno));
    if (!rc)
        rc = lock_dir(real, &dir_fd, err);
    if (rc)
        goto out;
    for (int i = 0; i < F_COUNT; i++) {
        path[i] = xasprintf("%s/%s", real, files[i].name);
        if (!rc)
            rc = read_file(path[i], &content[i], err);
    }
    stamp = xasprintf("%s/%s", real, STAMP_NAME);
    if (rc)
        goto out;
    if (stamp_fresh(stamp, content, now))
        goto reuse;

    /* The full check: keep what passes, issue what does not. */
    used_openssl = true;
    if (!parse_pair(&content[F_CA_CERT], &content[F_CA_KEY], &ca) ||
        !ca_usable(&ca, now)) {
        pair_release(&ca);
        out->ca_created = true;
        rc = issue_ca(&ca, now, err);
        if (rc)
            goto out;
    }
    if (out->ca_created ||
        !parse_pair(&content[F_LEAF_CERT], &content[F_LEAF_KEY], &leaf) ||
        !leaf_usable(&leaf, &ca, now)) {
        pair_release(&leaf);
        out->leaf_created = true;
        rc = issue_leaf(&leaf, &ca, now, err);
        if (rc)
            goto out;
    }

    /* Every new file is complete on disk before the first rename. */
    for (int i = 0; !rc && i < F_COUNT; i++) {
        if (!(files[i].is_ca ? out->ca_created : out->leaf_created))
            continue;
        rc = pem_of(i, files[i].is_ca ? &ca : &leaf, &content[i], err);
        if (!rc)
            rc = write_temp(path[i], &content[i], files[i].mode, &tmp[i], err);
    }
    for (int i = 0; !rc && i < F_COUNT; i++) {
        if (!tmp[i])
            continue;
        if (rename(tmp[i], path[i]) < 0)
            rc = kaeri_fail(err, KAERI_ERR_IO, path[i], "cannot rename: %s",
                            strerror(errno));
        else
            FREE_AND_NULL(tmp[i]);
    }
    if (rc)
        goto out;
    if (out->ca_created || out->leaf_created)
        sync_dir(dir_fd);
    stamp_write(stamp, content, &ca, &leaf);

reuse:
    out->ca_cert_path = path[F_CA_CERT];
    out->leaf_cert_path = path[F_LEAF_CERT];
    out->leaf_key_path = path[F_LEAF_KEY];
    path[F_CA_CERT] = path[F_LEAF_CERT] = path[F_LEAF_KEY] = NULL;

out:
    for (int i = 0; i < F_COUNT; i++) {
        if (tmp[i])
            (void)unlink(tmp[i]);
        free(tmp[i]);
        free(path[i]);
        OPENSSL_cleanse(content[i].data, content[i].len);
        buf_release(&content[i]);
    }
    free(stamp);
    if (dir_fd >= 0)
        close(dir_fd); /* and with it the lock */
    pair_release(&ca);
    pair_release(&leaf);
    free(dir);
    /*
     * Only after OpenSSL ran: the first ERR call of a process sets the
     * library up, 150 us the fast path has no use for.
     */
    if (used_openssl)
        ERR_clear_error();
    if (rc)
        tlsca_release(out);
    return rc;
}

void tlsca_release(struct tlsca *ca)
{
    free(ca->ca_cert_path);
    free(ca->leaf_cert_path);
    free(ca->leaf_key_path);
    memset(ca, 0, sizeof(*ca));
}

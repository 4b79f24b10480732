/*
 * test_tlsca.c - tlsca.c: the local CA and leaf in a temporary state dir.
 * First start creates four files and the 'checked' stamp with the right
 * modes, the next reuses them untouched (stamp included: no full check);
 * a lost or stale stamp costs a full check, never a new certificate; two
 * processes starting together make one CA; the certificates carry the
 * profile tlsca.c describes and
 * verify against ca.pem alone, for the names and addresses the contract
 * promises; a damaged leaf is re-issued under the same CA, a damaged CA
 * replaces both, an unreadable file or an impossible directory fails
 * cleanly; and a real TLS 1.2 and 1.3 handshake, server on leaf.pem and
 * client trusting only ca.pem, completes through an in-memory BIO pair.
 *
 * Damage to the leaf is made with OpenSSL here, signed with the CA's key,
 * so the tests need no clock of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc.h"
#include "tlsca.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY 86400L

/* The files, as tlsca.h names them. */
enum { CA_CERT, CA_KEY, LEAF_CERT, LEAF_KEY, STAMP, NFILES };
static const char *const names[NFILES] = {
    [CA_CERT] = "ca.pem",     [CA_KEY] = "ca-key.pem",
    [LEAF_CERT] = "leaf.pem", [LEAF_KEY] = "leaf-key.pem",
    [STAMP] = "checked",
};

struct fixture {
    char dir[64];       /* mkdtemp(): the state dir */
    char *tls;          /* <dir>/tls */
    char *path[NFILES]; /* <dir>/tls/<name> */
};

/*
 * What a file looked like: a rename or rewrite changes inode or bytes.
 * tlsca renames a new file over the old, and the old one is still there
 * when the new one is made, so a rewrite always has a new inode.
 */
struct snap {
    ino_t ino;
    char *data;
    size_t len;
};

/* --- helpers ------------------------------------------------------------ */

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    data = xmalloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    (void)fclose(f);
    *len = (size_t)n;
    return data;
}

static void write_whole(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void snap_take(const struct fixture *f, struct snap s[NFILES])
{
    for (int i = 0; i < NFILES; i++) {
        struct stat st;

        assert_int_equal(stat(f->path[i], &st), 0);
        s[i].ino = st.st_ino;
        s[i].data = read_whole(f->path[i], &s[i].len);
    }
}

static bool snap_same(const struct snap *a, const struct snap *b)
{
    return a->ino == b->ino && a->len == b->len &&
           memcmp(a->data, b->data, a->len) == 0;
}

static void snap_release(struct snap s[NFILES])
{
    for (int i = 0; i < NFILES; i++)
        FREE_AND_NULL(s[i].data);
}

static X509 *load_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    X509 *x;

    assert_non_null(fp);
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    (void)fclose(fp);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    EVP_PKEY *k;

    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    (void)fclose(fp);
    assert_non_null(k);
    return k;
}

/*
 * Verify 'leaf_path' with an X509_STORE that holds ca.pem and nothing
 * else, for DNS name 'host' or IP address 'ip'. The X509_V_* result.
 */
static int verify_leaf(const char *ca_path, const char *leaf_path,
                       const char *host, const char *ip)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509 *leaf = load_cert(leaf_path);
    X509_VERIFY_PARAM *param;
    int rc;

    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_load_file(store, ca_path), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    param = X509_STORE_CTX_get0_param(ctx);
    if (host)
        assert_int_equal(X509_VERIFY_PARAM_set1_host(param, host, 0), 1);
    if (ip)
        assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(param, ip), 1);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    ERR_clear_error();
    return rc;
}

static void assert_mode(const char *path, mode_t want)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, want);
}

/* Call tlsca_load_or_create() on the fixture's dir and check its output. */
static void load_ok(struct fixture *f, bool want_ca, bool want_leaf)
{
    struct kaeri_error err = {{0}, {0}};
    struct tlsca ca;

    if (tlsca_load_or_create(f->dir, &ca, &err) != KAERI_OK)
        fail_msg("tlsca_load_or_create: %s: %s", err.where, err.text);
    assert_int_equal(ca.ca_created, want_ca);
    assert_int_equal(ca.leaf_created, want_leaf);
    assert_string_equal(ca.ca_cert_path, f->path[CA_CERT]);
    assert_string_equal(ca.leaf_cert_path, f->path[LEAF_CERT]);
    assert_string_equal(ca.leaf_key_path, f->path[LEAF_KEY]);
    /* Failed parses along the way leave nothing for the next caller. */
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(
        verify_leaf(f->path[CA_CERT], f->path[LEAF_CERT], "localhost", NULL),
        X509_V_OK);
    tlsca_release(&ca);
    assert_null(ca.ca_cert_path);
}

/* Remove a directory's entries (files only) and the directory. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *p;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xasprintf("%s/%s", dir, e->d_name);
        if (unlink(p) < 0 && errno == EISDIR)
            remove_dir(p);
        free(p);
    }
    (void)closedir(d);
    (void)rmdir(dir);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char real[4096];

    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/kaeri-test-tlsca.XXXXXX");
    if (!mkdtemp(f->dir) || !realpath(f->dir, real))
        return -1;
    /* tlsca gives absolute, resolved paths: compare with those. */
    f->tls = xasprintf("%s/tls", real);
    for (int i = 0; i < NFILES; i++)
        f->path[i] = xasprintf("%s/%s", f->tls, names[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    remove_dir(f->dir);
    free(f->tls);
    for (int i = 0; i < NFILES; i++)
        free(f->path[i]);
    free(f);
    return 0;
}

/* --- making certificates to damage the state dir with ------------------ */

enum leaf_flags {
    LEAF_NO_IPV6 = 1 << 0, /* leave IP:::1 out of the SANs */
    LEAF_FOREIGN = 1 << 1, /* signed by another key, same issuer name */
    LEAF_AS_CA = 1 << 2,   /* CA:TRUE, self-signed with the CA's key */
};

/*
 * Write a certificate valid from 'from' to 'to' days around now over
 * leaf.pem (or ca.pem for LEAF_AS_CA), with its key; the default is a
 * leaf like tlsca's, signed by the state dir's CA.
 */
static void write_cert(const struct fixture *f, long from, long to,
                       unsigned flags)
{
    EVP_PKEY *ca_key = load_key(f->path[CA_KEY]);
    X509 *ca = load_cert(f->path[CA_CERT]);
    EVP_PKEY *key = flags & LEAF_AS_CA ? ca_key : EVP_EC_gen("P-256");
    EVP_PKEY *signer = ca_key;
    X509 *x = X509_new();
    X509V3_CTX ctx;
    const char *sans = flags & LEAF_NO_IPV6
                           ? "DNS:localhost,DNS:*.localhost,"
                             "DNS:*.execute-api.localhost,"
                             "DNS:*.appsync-api.localhost,IP:127.0.0.1"
                           : "DNS:localhost,DNS:*.localhost,"
                             "DNS:*.execute-api.localhost,"
                             "DNS:*.appsync-api.localhost,IP:127.0.0.1,"
                             "IP:::1";
    const char *ext[][2] = {
        {"basicConstraints",
         flags & LEAF_AS_CA ? "critical,CA:TRUE" : "CA:FALSE"},
        {"keyUsage", flags & LEAF_AS_CA ? "critical,keyCertSign,cRLSign"
                                        : "critical,digitalSignature"},
        {"subjectAltName", sans},
    };
    FILE *fp;

    if (flags & LEAF_FOREIGN)
        signer = EVP_EC_gen("P-256");
    assert_non_null(key);
    assert_non_null(signer);
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
    if (flags & LEAF_AS_CA)
        assert_int_equal(X509_set_subject_name(x, X509_get_subject_name(ca)),
                         1);
    else
        assert_int_equal(X509_NAME_add_entry_by_txt(
                             X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const unsigned char *)"localhost", -1, -1, 0),
                         1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_non_null(
        X509_time_adj_ex(X509_getm_notBefore(x), (int)from, 0, NULL));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int)to, 0, NULL));
    X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
    for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, ext[i][0], ext[i][1]);

        assert_non_null(e);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);

    fp = fopen(f->path[flags & LEAF_AS_CA ? CA_CERT : LEAF_CERT], "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    assert_int_equal(fclose(fp), 0);
    if (!(flags & LEAF_AS_CA)) {
        fp = fopen(f->path[LEAF_KEY], "w");
        assert_non_null(fp);
        assert_int_equal(
            PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
        assert_int_equal(fclose(fp), 0);
        EVP_PKEY_free(key);
    }
    if (signer != ca_key)
        EVP_PKEY_free(signer);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

/* Overwrite 'path' with a fresh P-256 key: a pair cut in half by a crash. */
static void write_other_key(const char *path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    FILE *fp = fopen(path, "w");

    assert_non_null(key);
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL),
                     1);
    assert_int_equal(fclose(fp), 0);
    EVP_PKEY_free(key);
}

/* --- create and reuse --------------------------------------------------- */

static void test_create_then_reuse(void **state)
{
    struct fixture *f = *state;
    struct snap before[NFILES], after[NFILES];

    load_ok(f, true, true);
    assert_mode(f->tls, 0700);
    assert_mode(f->path[CA_CERT], 0644);
    assert_mode(f->path[CA_KEY], 0600);
    assert_mode(f->path[LEAF_CERT], 0644);
    assert_mode(f->path[LEAF_KEY], 0600);
    assert_mode(f->path[STAMP], 0600);
    snap_take(f, before);

    /* Reused, and by the stamp alone: the stamp too is untouched. */
    load_ok(f, false, false);
    snap_take(f, after);
    for (int i = 0; i < NFILES; i++)
        assert_true(snap_same(&before[i], &after[i]));
    snap_release(before);
    snap_release(after);
}

static void stamp_missing(const char *path)
{
    assert_int_equal(unlink(path), 0);
}

static void stamp_garbage(const char *path)
{
    write_whole(path, "kaeri-tlsca 1\n", 14);
}

/* Say the certificates run out tomorrow: the stamp's times are read. */
static void stamp_short(const char *path)
{
    size_t len;
    char *data = read_whole(path, &len);
    char *valid = strstr(data, "\nvalid ");
    FILE *fp;

    assert_non_null(valid);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fprintf(fp, "%.*svalid %lld %lld\n", (int)(valid + 1 - data),
                        data, (long long)time(NULL) - DAY,
                        (long long)time(NULL) + DAY) > 0);
    assert_int_equal(fclose(fp), 0);
    free(data);
}

/*
 * A stamp that is missing, damaged or stale costs a full check, never a
 * new certificate, and the check writes the same stamp again.
 */
static void test_stamp_repaired(void **state)
{
    static void (*const damage[])(const char *) = {
        stamp_missing,
        stamp_garbage,
        stamp_short,
    };
    struct fixture *f = *state;

    for (size_t d = 0; d < ARRAY_SIZE(damage); d++) {
        struct snap before[NFILES], after[NFILES];

        remove_dir(f->tls);
        load_ok(f, true, true);
        snap_take(f, before);
        damage[d](f->path[STAMP]);
        load_ok(f, false, false);
        snap_take(f, after);
        for (int i = 0; i < STAMP; i++)
            assert_true(snap_same(&before[i], &after[i]));
        assert_int_equal(before[STAMP].len, after[STAMP].len);
        assert_memory_equal(before[STAMP].data, after[STAMP].data,
                            before[STAMP].len);
        snap_release(before);
        snap_release(after);
    }
}

/* No temporary file is left behind: tls/ holds the four files and the stamp. */
static void test_no_leftovers(void **state)
{
    struct fixture *f = *state;
    DIR *d;
    struct dirent *e;
    int n = 0;

    load_ok(f, true, true);
    load_ok(f, false, false);
    d = opendir(f->tls);
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        assert_true(strstr(e->d_name, ".tmp.") == NULL);
    }
    (void)closedir(d);
    assert_int_equal(n, NFILES);
}

/* A state dir that exists already, from main.c's mkdir -p, is fine too. */
static void test_state_dir_created(void **state)
{
    struct fixture *f = *state;
    struct kaeri_error err = {{0}, {0}};
    char *sub = xasprintf("%s/state", f->dir);
    char *ca_pem = xasprintf("%s/tls/ca.pem", sub);
    struct tlsca ca;

    assert_int_equal(tlsca_load_or_create(sub, &ca, &err), KAERI_OK);
    assert_mode(sub, 0700);
    assert_true(ca.ca_cert_path[0] == '/');
    assert_non_null(strstr(ca.ca_cert_path, "/state/tls/ca.pem"));
    assert_int_equal(access(ca_pem, R_OK), 0);
    tlsca_release(&ca);
    remove_dir(sub);
    free(ca_pem);
    free(sub);
}

/* --- the certificates --------------------------------------------------- */

static void test_verify_names(void **state)
{
    static const struct {
        const char *host, *ip;
        int want;
    } cases[] = {
        {"localhost", NULL, X509_V_OK},
        {"LocalHost", NULL, X509_V_OK},
        {"api1.appsync-api.localhost", NULL, X509_V_OK},
        {"abc123.execute-api.localhost", NULL, X509_V_OK},
        {NULL, "127.0.0.1", X509_V_OK},
        {NULL, "::1", X509_V_OK},
        {NULL, "0:0:0:0:0:0:0:1", X509_V_OK},
        /*
         * "api1.localhost" is not here: the leaf holds DNS:*.localhost as
         * the contract says, but OpenSSL and Node match no wildcard with a
         * single label after it, so neither accepts it (tlsca.c).
         */
        {"example.com", NULL, X509_V_ERR_HOSTNAME_MISMATCH},
        {"a.b.appsync-api.localhost", NULL, X509_V_ERR_HOSTNAME_MISMATCH},
        {"localhost.example", NULL, X509_V_ERR_HOSTNAME_MISMATCH},
        {NULL, "127.0.0.2", X509_V_ERR_IP_ADDRESS_MISMATCH},
        {NULL, "::2", X509_V_ERR_IP_ADDRESS_MISMATCH},
    };
    struct fixture *f = *state;

    load_ok(f, true, true);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int got = verify_leaf(f->path[CA_CERT], f->path[LEAF_CERT],
                              cases[i].host, cases[i].ip);

        if (got != cases[i].want)
            fail_msg("%s: got %s, want %s",
                     cases[i].host ? cases[i].host : cases[i].ip,
                     X509_verify_cert_error_string(got),
                     X509_verify_cert_error_string(cases[i].want));
    }
    /* And a leaf is no CA: nothing verifies against leaf.pem as a root. */
    assert_int_not_equal(
        verify_leaf(f->path[LEAF_CERT], f->path[LEAF_CERT], "localhost", NULL),
        X509_V_OK);
}

static char *name_of(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    char *s;

    assert_non_null(bio);
    assert_true(X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0);
    len = BIO_get_mem_data(bio, &data);
    s = xstrndup(data, (size_t)len);
    BIO_free(bio);
    return s;
}

static bool ext_critical(const X509 *x, int nid)
{
    int at = X509_get_ext_by_NID(x, nid, -1);

    assert_true(at >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, at)) == 1;
}

/* Whole days from notBefore to notAfter. */
static int lifetime_days(const X509 *x)
{
    int days, secs;

    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
                                    X509_get0_notAfter(x)),
                     1);
    assert_int_equal(secs, 0);
    return days;
}

static int serial_bits(const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    int bits;

    assert_non_null(bn);
    assert_false(BN_is_negative(bn));
    bits = BN_num_bits(bn);
    BN_free(bn);
    return bits;
}

/* P-256 with a named curve: Go and others refuse explicit parameters. */
static void assert_p256(EVP_PKEY *key)
{
    char group[64], enc[64];

    assert_true(EVP_PKEY_is_a(key, "EC"));
    assert_int_equal(EVP_PKEY_get_utf8_string_param(key,
                                                    OSSL_PKEY_PARAM_GROUP_NAME,
                                                    group, sizeof(group), NULL),
                     1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(EVP_PKEY_get_utf8_string_param(key,
                                                    OSSL_PKEY_PARAM_EC_ENCODING,
                                                    enc, sizeof(enc), NULL),
                     1);
    assert_string_equal(enc, OSSL_PKEY_EC_ENCODING_GROUP);
}

static void test_profile(void **state)
{
    struct fixture *f = *state;
    X509 *ca, *leaf;
    EVP_PKEY *leaf_key;
    char *s;

    load_ok(f, true, true);
    ca = load_cert(f->path[CA_CERT]);
    leaf = load_cert(f->path[LEAF_CERT]);
    leaf_key = load_key(f->path[LEAF_KEY]);

    s = name_of(X509_get_subject_name(ca));
    assert_string_equal(s, "CN=kaeri local CA");
    free(s);
    s = name_of(X509_get_issuer_name(ca));
    assert_string_equal(s, "CN=kaeri local CA");
    free(s);
    assert_int_equal(X509_get_version(ca), X509_VERSION_3);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_true(ext_critical(ca, NID_basic_constraints));
    assert_int_equal(X509_get_pathlen(ca), 0);
    assert_true(ext_critical(ca, NID_key_usage));
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_int_equal(lifetime_days(ca), TLSCA_CA_DAYS);
    assert_true(serial_bits(ca) > 64 && serial_bits(ca) <= 128);
    assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
    assert_p256(X509_get0_pubkey(ca));

    s = name_of(X509_get_subject_name(leaf));
    assert_string_equal(s, "CN=localhost");
    free(s);
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_false(X509_get_extension_flags(leaf) & EXFLAG_CA);
    assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
                                           X509_get0_subject_key_id(ca)),
                     0);
    assert_int_equal(lifetime_days(leaf), TLSCA_LEAF_DAYS);
    assert_true(serial_bits(leaf) > 64 && serial_bits(leaf) <= 128);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
                                          X509_get0_serialNumber(leaf)),
                         0);
    assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
    assert_p256(leaf_key);
    assert_int_equal(X509_check_private_key(leaf, leaf_key), 1);
    /* Valid now, an hour back for skewed clocks. */
    assert_true(X509_cmp_current_time(X509_get0_notBefore(leaf)) < 0);
    assert_true(X509_cmp_time(X509_get0_notBefore(leaf),
                              &(time_t){time(NULL) - 3000}) < 0);

    EVP_PKEY_free(leaf_key);
    X509_free(leaf);
    X509_free(ca);
}

/* --- damage and repair -------------------------------------------------- */

static void damage_garbage(const char *path)
{
    write_whole(path, "not a certificate\n", 18);
}

static void damage_empty(const char *path)
{
    write_whole(path, "", 0);
}

static void damage_truncate(const char *path)
{
    size_t len;
    char *data = read_whole(path, &len);

    write_whole(path, data, len / 2);
    free(data);
}

static void damage_oversize(const char *path)
{
    size_t len = (size_t)70 * 1024;
    char *data = xmalloc(len);

    memset(data, 'A', len);
    write_whole(path, data, len);
    free(data);
}

static void damage_remove(const char *path)
{
    assert_int_equal(unlink(path), 0);
}

/* Copy the leaf pair over the CA pair ('path' is ca.pem): no CA at all. */
static void damage_ca_is_leaf(const char *path)
{
    static const char *const from[] = {"leaf.pem", "leaf-key.pem"};
    static const char *const to[] = {"ca.pem", "ca-key.pem"};
    size_t dir_len = strlen(path) - strlen("ca.pem");

    for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
        char *src = xasprintf("%.*s%s", (int)dir_len, path, from[i]);
        char *dst = xasprintf("%.*s%s", (int)dir_len, path, to[i]);
        size_t len;
        char *data = read_whole(src, &len);

        write_whole(dst, data, len);
        free(data);
        free(src);
        free(dst);
    }
}

enum which { LEAF_ONLY, BOTH };

static const struct damage {
    const char *name;
    int file;                     /* for 'fn' */
    void (*fn)(const char *path); /* or NULL for 'cert' */
    long from, to;                /* write_cert() validity, in days */
    unsigned flags;               /* write_cert() flags */
    enum which replaced;
} damages[] = {
    {"leaf garbage", LEAF_CERT, damage_garbage, 0, 0, 0, LEAF_ONLY},
    {"leaf empty", LEAF_CERT, damage_empty, 0, 0, 0, LEAF_ONLY},
    {"leaf truncated", LEAF_CERT, damage_truncate, 0, 0, 0, LEAF_ONLY},
    {"leaf over 64 KiB", LEAF_CERT, damage_oversize, 0, 0, 0, LEAF_ONLY},
    {"leaf missing", LEAF_CERT, damage_remove, 0, 0, 0, LEAF_ONLY},
    {"leaf key missing", LEAF_KEY, damage_remove, 0, 0, 0, LEAF_ONLY},
    {"leaf key garbage", LEAF_KEY, damage_garbage, 0, 0, 0, LEAF_ONLY},
    {"leaf key of another pair", LEAF_KEY, write_other_key, 0, 0, 0, LEAF_ONLY},
    {"leaf expires in 3 days", 0, NULL, -30, 3, 0, LEAF_ONLY},
    {"leaf expired", 0, NULL, -30, -1, 0, LEAF_ONLY},
    {"leaf not valid yet", 0, NULL, 1, 300, 0, LEAF_ONLY},
    {"leaf without IP ::1", 0, NULL, -1, 300, LEAF_NO_IPV6, LEAF_ONLY},
    {"leaf signed by another key", 0, NULL, -1, 300, LEAF_FOREIGN, LEAF_ONLY},
    {"CA garbage", CA_CERT, damage_garbage, 0, 0, 0, BOTH},
    {"CA truncated", CA_CERT, damage_truncate, 0, 0, 0, BOTH},
    {"CA missing", CA_CERT, damage_remove, 0, 0, 0, BOTH},
    {"CA key missing", CA_KEY, damage_remove, 0, 0, 0, BOTH},
    {"CA key of another pair", CA_KEY, write_other_key, 0, 0, 0, BOTH},
    {"CA expires in 3 days", 0, NULL, -30, 3, LEAF_AS_CA, BOTH},
    {"CA pair is the leaf pair", CA_CERT, damage_ca_is_leaf, 0, 0, 0, BOTH},
};

/*
 * Still good: a leaf with 30 days left, put there by hand, is checked in
 * full and reused, not re-issued; the new stamp then spares the next
 * start the full check.
 */
static void test_good_enough_is_kept(void **state)
{
    struct fixture *f = *state;
    struct snap before[NFILES], after[NFILES], again[NFILES];

    load_ok(f, true, true);
    write_cert(f, -800, 30, 0);
    snap_take(f, before);
    load_ok(f, false, false);
    snap_take(f, after);
    for (int i = 0; i < STAMP; i++)
        assert_true(snap_same(&before[i], &after[i]));
    assert_false(snap_same(&before[STAMP], &after[STAMP]));
    load_ok(f, false, false);
    snap_take(f, again);
    for (int i = 0; i < NFILES; i++)
        assert_true(snap_same(&after[i], &again[i]));
    snap_release(before);
    snap_release(after);
    snap_release(again);
}

static void test_damage_repaired(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(damages); i++) {
        const struct damage *d = &damages[i];
        struct snap before[NFILES], after[NFILES];

        print_message("  %s\n", d->name);
        remove_dir(f->tls);
        load_ok(f, true, true);
        snap_take(f, before);
        if (d->fn)
            d->fn(f->path[d->file]);
        else
            write_cert(f, d->from, d->to, d->flags);

        load_ok(f, d->replaced == BOTH, true);
        snap_take(f, after);
        assert_int_equal(snap_same(&before[CA_CERT], &after[CA_CERT]),
                         d->replaced == LEAF_ONLY);
        assert_int_equal(snap_same(&before[CA_KEY], &after[CA_KEY]),
                         d->replaced == LEAF_ONLY);
        assert_false(snap_same(&before[LEAF_CERT], &after[LEAF_CERT]));
        assert_false(snap_same(&before[LEAF_KEY], &after[LEAF_KEY]));
        assert_mode(f->path[CA_KEY], 0600);
        assert_mode(f->path[LEAF_KEY], 0600);
        /* Repaired for good: the next start reuses it all. */
        load_ok(f, false, false);
        snap_release(before);
        snap_release(after);
    }
}

/* --- failures ----------------------------------------------------------- */

/* A state dir under a regular file, or a tls/ that is a file. */
static void test_bad_dir(void **state)
{
    struct fixture *f = *state;
    char *file = xasprintf("%s/file", f->dir);
    char *under = xasprintf("%s/file/state", f->dir);
    char *plain = xasprintf("%s/plain", f->dir);
    char *plain_tls = xasprintf("%s/plain/tls", f->dir);
    const char *dirs[] = {under, plain};

    write_whole(file, "x", 1);
    assert_int_equal(mkdir(plain, 0700), 0);
    write_whole(plain_tls, "x", 1);
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct tlsca ca;

        assert_int_equal(tlsca_load_or_create(dirs[i], &ca, &err),
                         KAERI_ERR_IO);
        assert_true(err.text[0] != '\0');
        assert_true(strstr(err.where, dirs[i]) == err.where);
        assert_null(ca.ca_cert_path);
        assert_null(ca.leaf_cert_path);
        assert_null(ca.leaf_key_path);
        assert_false(ca.ca_created);
        assert_int_equal(ERR_peek_error(), 0);
        tlsca_release(&ca);
    }
    /* 'err' may be NULL. */
    {
        struct tlsca ca;

        assert_int_equal(tlsca_load_or_create(under, &ca, NULL), KAERI_ERR_IO);
    }
    free(file);
    free(under);
    free(plain);
    free(plain_tls);
}

/*
 * A file that exists but cannot be read (a directory in its place here;
 * a root-owned key after a sudo run, in life) stops the start and is not
 * replaced: a new CA would silently drop the one the user trusts.
 */
static void test_unreadable_kept(void **state)
{
    static const int which[] = {CA_KEY, LEAF_CERT};
    struct fixture *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(which); i++) {
        struct kaeri_error err = {{0}, {0}};
        struct tlsca ca;
        struct stat st;

        remove_dir(f->tls);
        load_ok(f, true, true);
        assert_int_equal(unlink(f->path[which[i]]), 0);
        assert_int_equal(mkdir(f->path[which[i]], 0700), 0);
        assert_int_equal(tlsca_load_or_create(f->dir, &ca, &err), KAERI_ERR_IO);
        assert_string_equal(err.where, f->path[which[i]]);
        assert_null(ca.ca_cert_path);
        assert_int_equal(stat(f->path[which[i]], &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(rmdir(f->path[which[i]]), 0);
    }
}

/* Two processes starting at once on a fresh dir: one creates, one reuses. */
static void test_concurrent_start(void **state)
{
    struct fixture *f = *state;
    int created = 0;
    pid_t pid[2];

    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            struct tlsca ca;
            int code;

            if (tlsca_load_or_create(f->dir, &ca, NULL))
                _exit(2);
            code = ca.ca_created ? 1 : 0;
            tlsca_release(&ca);
            _exit(code);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;

        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) <= 1);
        created += WEXITSTATUS(status);
    }
    assert_int_equal(created, 1);
    load_ok(f, false, false);
}

/* --- a real handshake --------------------------------------------------- */

/*
 * Run the handshake on both ends until both finish or one fails. True
 * when both completed; the client's verify result goes to 'verify'.
 */
static bool handshake(SSL *client, SSL *server, long *verify)
{
    bool c_done = false, s_done = false;

    for (int round = 0; round < 64 && !(c_done && s_done); round++) {
        SSL *ends[2] = {client, server};
        bool *done[2] = {&c_done, &s_done};

        for (int i = 0; i < 2; i++) {
            int r, e;

            if (*done[i])
                continue;
            r = SSL_do_handshake(ends[i]);
            if (r == 1) {
                *done[i] = true;
                continue;
            }
            e = SSL_get_error(ends[i], r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                *verify = SSL_get_verify_result(client);
                return false;
            }
        }
    }
    *verify = SSL_get_verify_result(client);
    return c_done && s_done;
}

static void test_tls_handshake(void **state)
{
    static const struct {
        const char *host, *ip;
        int version;
        bool want;
    } cases[] = {
        {"localhost", NULL, TLS1_3_VERSION, true},
        {"localhost", NULL, TLS1_2_VERSION, true},
        {"x1.appsync-api.localhost", NULL, TLS1_3_VERSION, true},
        {NULL, "127.0.0.1", TLS1_3_VERSION, true},
        {NULL, "::1", TLS1_2_VERSION, true},
        {"example.com", NULL, TLS1_3_VERSION, false},
    };
    struct fixture *f = *state;
    SSL_CTX *sctx, *cctx;

    load_ok(f, true, true);
    sctx = SSL_CTX_new(TLS_server_method());
    cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(sctx);
    assert_non_null(cctx);
    /* The server loads the files as libwebsockets does. */
    assert_int_equal(
        SSL_CTX_use_certificate_chain_file(sctx, f->path[LEAF_CERT]), 1);
    assert_int_equal(
        SSL_CTX_use_PrivateKey_file(sctx, f->path[LEAF_KEY], SSL_FILETYPE_PEM),
        1);
    assert_int_equal(SSL_CTX_check_private_key(sctx), 1);
    /* The client trusts ca.pem and nothing else. */
    assert_int_equal(
        SSL_CTX_load_verify_locations(cctx, f->path[CA_CERT], NULL), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        SSL *client = SSL_new(cctx), *server = SSL_new(sctx);
        BIO *cbio = NULL, *sbio = NULL;
        long verify = -1;
        bool ok;

        assert_non_null(client);
        assert_non_null(server);
        assert_int_equal(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
        SSL_set_bio(client, cbio, cbio);
        SSL_set_bio(server, sbio, sbio);
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);
        assert_int_equal(SSL_set_min_proto_version(client, cases[i].version),
                         1);
        assert_int_equal(SSL_set_max_proto_version(client, cases[i].version),
                         1);
        if (cases[i].host) {
            assert_int_equal(SSL_set_tlsext_host_name(client, cases[i].host),
                             1);
            assert_int_equal(SSL_set1_host(client, cases[i].host), 1);
        } else {
            assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(
                                 SSL_get0_param(client), cases[i].ip),
                             1);
        }

        ok = handshake(client, server, &verify);
        if (ok != cases[i].want)
            fail_msg("case %zu (%s): handshake %s, verify: %s", i,
                     cases[i].host ? cases[i].host : cases[i].ip,
                     ok ? "succeeded" : "failed",
                     X509_verify_cert_error_string(verify));
        if (ok) {
            char msg[8] = {0};

            assert_int_equal(verify, X509_V_OK);
            assert_int_equal(SSL_version(client), cases[i].version);
            assert_int_equal(SSL_write(client, "ping", 4), 4);
            assert_int_equal(SSL_read(server, msg, sizeof(msg)), 4);
            assert_memory_equal(msg, "ping", 4);
        } else {
            assert_int_equal(verify, X509_V_ERR_HOSTNAME_MISMATCH);
        }
        SSL_free(client);
        SSL_free(server);
        ERR_clear_error();
    }
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_then_reuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stamp_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_enough_is_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damage_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * crypto.c - the OpenSSL 3 primitives behind crypto.h: SHA-256, HMAC,
 * randomness, constant-time compare, and RSA keys for RS256 (load or
 * create the PEM in --state-dir, import a JWK, export the JWKS entry,
 * sign, verify).
 *
 * Only EVP and provider APIs: nothing from the deprecated RSA_* family.
 * RSA keys are all kaeri signs with (spec/cognito.md section 4), so the
 * struct holds an RSA key and nothing else; keys outside 2048 to 4096 bits
 * are refused, the range RFC 7518 section 3.3 and CRYPTO_RS256_SIG_MAX
 * allow. SRP bignums live in srp.c.
 */
#include "crypto.h"
#include "alloc.h"
#include "b64.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS (CRYPTO_RS256_SIG_MAX * 8)
#define PEM_FILE_MAX ((size_t)64 * 1024) /* 4096-bit PEM: about 3.3 KiB */
#define JWK_E_MAX    8                   /* bytes; real exponents are 65537 */

struct crypto_key {
    EVP_PKEY *pkey; /* owned; always RSA */
    bool is_private;
};

/*
 * OpenSSL failed where only a lack of memory or a broken library can make
 * it fail. Like xmalloc(), stop rather than thread an impossible error
 * through every caller.
 */
static void ossl_fatal(const char *what)
{
    (void)fprintf(stderr, "kaeri: openssl: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    abort();
}

void crypto_sha256(const void *p, size_t n,
                   unsigned char out[CRYPTO_SHA256_LEN])
{
    if (!EVP_Digest(n ? p : "", n, out, NULL, EVP_sha256(), NULL))
        ossl_fatal("EVP_Digest");
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
    static const unsigned char no_key[1];
    size_t out_len = 0;

    /*
     * An empty key is legal HMAC (zero-padded to the block size); give
     * OpenSSL a real pointer so it does not read "no key set".
     */
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key_len ? key : no_key,
                   key_len, n ? msg : "", n, out, CRYPTO_SHA256_LEN,
                   &out_len) ||
        out_len != CRYPTO_SHA256_LEN)
        ossl_fatal("EVP_Q_mac");
}

void crypto_random(void *p, size_t n)
{
    unsigned char *o = p;

    /* RAND_bytes() takes an int; large requests go in chunks. */
    while (n) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;

        if (RAND_bytes(o, chunk) != 1)
            ossl_fatal("RAND_bytes");
        o += chunk;
        n -= (size_t)chunk;
    }
}

void crypto_uuid(char out[CRYPTO_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t i, o = 0;

    crypto_random(b, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40; /* RFC 4122 section 4.4: version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* variant 10x */
    for (i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

void crypto_hex(const void *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *in = p;
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool crypto_memeq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void crypto_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

/* --- keys ------------------------------------------------------------- */

/*
 * Refuse a passphrase: without this, reading an encrypted PEM would make
 * OpenSSL prompt on the terminal and block the daemon.
 */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Take 'pkey' (owned) into a new key when it is RSA of a usable size. */
static enum kaeri_err wrap_key(EVP_PKEY *pkey, bool is_private,
                               struct crypto_key **out, struct kaeri_error *err)
{
    struct crypto_key *key;
    int bits;

    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL, "not an RSA key");
    }
    bits = EVP_PKEY_get_bits(pkey);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        EVP_PKEY_free(pkey);
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "RSA key of %d bits, want %d to %d", bits,
                          RSA_MIN_BITS, RSA_MAX_BITS);
    }
    key = xmalloc(sizeof(*key));
    key->pkey = pkey;
    key->is_private = is_private;
    *out = key;
    return KAERI_OK;
}

enum kaeri_err crypto_key_from_pem(const char *pem, size_t len,
                                   struct crypto_key **out,
                                   struct kaeri_error *err)
{
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    bool is_private = true;

    *out = NULL;
    if (!pem || len == 0)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL, "empty PEM");
    if (len > PEM_FILE_MAX)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL, "PEM too long");
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        ossl_fatal("BIO_new_mem_buf");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (!pkey) {
        /* Not a private key: start over and look for a public one. */
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
            ossl_fatal("BIO_new_mem_buf");
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        is_private = false;
    }
    BIO_free(bio);
    /* Failed reads leave "no start line" and the like on the queue. */
    ERR_clear_error();
    if (!pkey)
        return kaeri_fail(err, KAERI_ERR_INVALID, NULL,
                          "no PEM RSA key (unencrypted private or public)");
    return wrap_key(pkey, is_private, out, err);
}

/*
 * Read the file at 'path' into 'pem'. KAERI_ERR_NOT_FOUND when it does not
 * exist, so the caller knows to create it, and only then: any other
 * failure must not lead to a new key over an existing one.
 */
static enum kaeri_err read_pem_file(const char *path, struct buf *pem,
                                    struct kaeri_error *err)
{
    enum kaeri_err rc = buf_read_file(pem, path, err);

    if (rc == KAERI_ERR_LIMIT)
        return kaeri_fail(err, KAERI_ERR_INVALID, path,
                          "larger than %zu bytes, not a PEM key",
                          PEM_FILE_MAX);
    return rc;
}

/* fsync the directory holding 'path', so the rename survives a crash. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (!slash)
        dir = xstrdup(".");
    else if (slash == path)
        dir = xstrdup("/");
    else
        dir = xstrndup(path, (size_t)(slash - path));
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        /* Best effort: some file systems refuse fsync on a directory. */
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
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
 * Generate a key and store it at 'path' as unencrypted PKCS#8 PEM,
 * through a temporary file in the same directory and rename(), so readers
 * see no file or the whole key. The temporary file comes first: a
 * directory we cannot write fails before the costly generation. Two kaeris
 * creating the same key at once would each keep their own key; one kaeri
 * per state dir is the rule.
 */
static enum kaeri_err create_key(const char *path, struct crypto_key **out,
                                 struct kaeri_error *err)
{
    enum kaeri_err rc;
    char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *data = NULL;
    long len;
    int fd, closed;

    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = kaeri_fail(err, KAERI_ERR_IO, path, "cannot create '%s': %s", tmp,
                        strerror(errno));
        free(tmp);
        return rc;
    }
    pkey = EVP_RSA_gen(CRYPTO_RSA_BITS);
    if (!pkey)
        ossl_fatal("EVP_RSA_gen");
    /* A secure-heap BIO: its buffer is wiped when freed. */
    bio = BIO_new(BIO_s_secmem());
    if (!bio)
        ossl_fatal("BIO_new");
    if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
        ossl_fatal("PEM_write_bio_PrivateKey");
    len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || !data)
        ossl_fatal("BIO_get_mem_data");
    /* mkstemp() makes 0600 already; say it, whatever the libc. */
    if (fchmod(fd, S_IRUSR | S_IWUSR) < 0 ||
        !write_all(fd, data, (size_t)len) || fsync(fd) < 0)
        goto io_error;
    closed = close(fd);
    fd = -1;
    if (closed < 0 || rename(tmp, path) < 0)
        goto io_error;
    sync_parent_dir(path);
    rc = wrap_key(pkey, true, out, err);
    pkey = NULL;
    goto out;

io_error:
    rc = kaeri_fail(err, KAERI_ERR_IO, path, "cannot write '%s': %s", tmp,
                    strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    free(tmp);
    return rc;
}

enum kaeri_err crypto_key_load_or_create(const char *path,
                                         struct crypto_key **out,
                                         struct kaeri_error *err)
{
    enum kaeri_err rc;
    struct buf pem;

    *out = NULL;
    buf_init(&pem, PEM_FILE_MAX);
    rc = read_pem_file(path, &pem, err);
    if (rc == KAERI_ERR_NOT_FOUND) {
        rc = create_key(path, out, err);
        goto out;
    }
    if (rc)
        goto out;
    rc = crypto_key_from_pem(pem.data, pem.len, out, err);
    if (rc) {
        /* Keep the reason, point at the file. */
        if (err)
            (void)snprintf(err->where, sizeof(err->where), "%s", path);
        goto out;
    }
    assert(*out); /* from_pem() fills it whenever it returns KAERI_OK */
    if (!(*out)->is_private) {
        crypto_key_free(*out);
        *out = NULL;
        rc = kaeri_fail(err, KAERI_ERR_INVALID, path,
                        "holds a public key, a private key is needed");
    }
out:
    crypto_wipe(pem.data, pem.len);
    buf_release(&pem);
    return rc;
}

/*
 * Decode a JWK member into a positive bignum of at most 'max' bytes.
 * RFC 7518 section 6.3.1.1 forbids leading zero octets; some issuers send
 * them anyway, and BN_bin2bn() ignores them, so they are let through.
 */
static enum kaeri_err jwk_bignum(const char *b64url, size_t max,
                                 const char *name, BIGNUM **out,
                                 struct kaeri_error *err)
{
    enum kaeri_err rc = KAERI_OK;
    struct buf raw;

    *out = NULL;
    if (!b64url)
        return kaeri_fail(err, KAERI_ERR_INVALID, name, "missing");
    buf_init(&raw, max);
    if (b64url_decode(b64url, strlen(b64url), &raw) || raw.len == 0) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, name,
                        "not a base64url number of at most %zu bytes", max);
        goto out;
    }
    *out = BN_bin2bn((const unsigned char *)raw.data, (int)raw.len, NULL);
    if (!*out)
        ossl_fatal("BN_bin2bn");
out:
    buf_release(&raw);
    return rc;
}

enum kaeri_err crypto_key_from_jwk(const char *n_b64url, const char *e_b64url,
                                   struct crypto_key **out,
                                   struct kaeri_error *err)
{
    enum kaeri_err rc;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    /* One spare byte for a leading zero. */
    rc = jwk_bignum(n_b64url, CRYPTO_RS256_SIG_MAX + 1, "n", &n, err);
    if (rc)
        goto out;
    rc = jwk_bignum(e_b64url, JWK_E_MAX, "e", &e, err);
    if (rc)
        goto out;
    /* Even moduli and exponents below 3 are not RSA keys. */
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e)) {
        rc = kaeri_fail(err, KAERI_ERR_INVALID, NULL, "not an RSA public key");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        ossl_fatal("OSSL_PARAM_BLD_push_BN");
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
        ossl_fatal("EVP_PKEY_fromdata_init");
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        ERR_clear_error();
        rc = kaeri_fail(err, KAERI_ERR_INVALID, NULL, "not an RSA public key");
        goto out;
    }
    rc = wrap_key(pkey, false, out, err);
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

void crypto_key_free(struct crypto_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

bool crypto_key_is_private(const struct crypto_key *key)
{
    return key->is_private;
}

void crypto_key_id(const struct crypto_key *key, char out[CRYPTO_KID_MAX])
{
    unsigned char digest[CRYPTO_SHA256_LEN];
    unsigned char *der = NULL;
    char *b64;
    int len;

    /* DER SubjectPublicKeyInfo: the same for the private and public key. */
    len = i2d_PUBKEY(key->pkey, &der);
    if (len <= 0)
        ossl_fatal("i2d_PUBKEY");
    crypto_sha256(der, (size_t)len, digest);
    OPENSSL_free(der);
    b64 = b64_encode(digest, sizeof(digest));
    (void)snprintf(out, CRYPTO_KID_MAX, "%s", b64); /* 44 characters */
    free(b64);
}

/* A key parameter as base64url of its minimal big-endian bytes; new. */
static char *param_b64url(const EVP_PKEY *pkey, const char *name)
{
    BIGNUM *bn = NULL;
    unsigned char *bytes;
    char *s;
    int len;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        ossl_fatal("EVP_PKEY_get_bn_param");
    len = BN_num_bytes(bn);
    bytes = xmalloc(len > 0 ? (size_t)len : 1);
    BN_bn2bin(bn, bytes);
    s = b64url_encode(bytes, (size_t)len);
    free(bytes);
    BN_free(bn);
    return s;
}

/*
 * The JWKS entry for 'key' (spec/cognito.md section 5). A NULL 'kid'
 * means the key's own crypto_key_id().
 */
json_t *crypto_key_jwk(const struct crypto_key *key, const char *kid)
{
    char own_kid[CRYPTO_KID_MAX];
    char *n, *e;
    json_t *jwk;

    if (!kid) {
        crypto_key_id(key, own_kid);
        kid = own_kid;
    }
    n = param_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_N);
    e = param_b64url(key->pkey, OSSL_PKEY_PARAM_RSA_E);
    jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "alg", "RS256", "e", e,
                    "kid", kid, "kty", "RSA", "n", n, "use", "sig");
    free(n);
    free(e);
    return jwk;
}

/* --- RS256 ------------------------------------------------------------ */

/* A digest context for RSASSA-PKCS1-v1_5 with SHA-256 on 'key'. */
static EVP_MD_CTX *rs256_ctx(const struct crypto_key *key, bool sign)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    if (!ctx)
        ossl_fatal("EVP_MD_CTX_new");
    if (sign)
        ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey);
    else
        ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey);
    /* PKCS#1 v1.5 is OpenSSL's default for RSA; RS256 depends on it. */
    if (ok <= 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        ossl_fatal("EVP_DigestSignInit");
    return ctx;
}

enum kaeri_err crypto_rs256_sign(const struct crypto_key *key, const void *msg,
                                 size_t n, unsigned char *sig, size_t *sig_len)
{
    EVP_MD_CTX *ctx;
    size_t len = CRYPTO_RS256_SIG_MAX;

    *sig_len = 0;
    if (!key->is_private)
        return KAERI_ERR_INVALID;
    ctx = rs256_ctx(key, true);
    if (EVP_DigestSign(ctx, sig, &len, n ? msg : "", n) <= 0)
        ossl_fatal("EVP_DigestSign");
    EVP_MD_CTX_free(ctx);
    *sig_len = len;
    return KAERI_OK;
}

enum kaeri_err crypto_rs256_verify(const struct crypto_key *key,
                                   const void *msg, size_t n,
                                   const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx;
    int ok;

    /* RFC 8017 section 8.2.2: the signature is exactly k bytes long. */
    if (sig_len == 0 || sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
        return KAERI_ERR_AUTH;
    ctx = rs256_ctx(key, false);
    ok = EVP_DigestVerify(ctx, sig, sig_len, n ? msg : "", n);
    EVP_MD_CTX_free(ctx);
    if (ok != 1) {
        ERR_clear_error();
        return KAERI_ERR_AUTH;
    }
    return KAERI_OK;
}

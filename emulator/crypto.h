/*
 * crypto.h - the OpenSSL primitives kaeri uses, shaped like libsodium:
 * one function per primitive, caller-provided fixed-size outputs, verify
 * functions that must be checked. The key chooses the algorithm; a token
 * never does. Only crypto.c (and tlsca.c, srp.c for bignums) include
 * OpenSSL headers.
 */
#ifndef KAERI_CRYPTO_H
#define KAERI_CRYPTO_H

#include "buf.h"
#include "kaeri.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN    32
#define CRYPTO_UUID_LEN      36 /* without the NUL */
#define CRYPTO_RSA_BITS      2048
#define CRYPTO_RS256_SIG_MAX 512
#define CRYPTO_KID_MAX       64

void crypto_sha256(const void *p, size_t n,
                   unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t n, unsigned char out[CRYPTO_SHA256_LEN]);

/* Cryptographic randomness (RAND_bytes); aborts if the RNG fails. */
void crypto_random(void *p, size_t n);
/* A random version-4 UUID, lower case: "xxxxxxxx-xxxx-4xxx-yxxx-xxxx...". */
void crypto_uuid(char out[CRYPTO_UUID_LEN + 1]);
/* Lower-case hex of 'n' bytes into 'out' (2n + 1 bytes with the NUL). */
void crypto_hex(const void *p, size_t n, char *out);

/* Constant-time comparison (CRYPTO_memcmp): true when equal. */
KAERI_MUST_CHECK bool crypto_memeq(const void *a, const void *b, size_t n);
/* Wipe a secret (OPENSSL_cleanse). */
void crypto_wipe(void *p, size_t n);

/* An RSA key, private (can sign) or public only. */
struct crypto_key;

/*
 * Load the RSA private key in PEM at 'path', or, when the file does not
 * exist, generate a CRYPTO_RSA_BITS key and write it there (mode 0600,
 * through a temporary file and rename, so a crash leaves no half key).
 * Generation costs tens of milliseconds; loading well under one.
 */
KAERI_MUST_CHECK enum kaeri_err
crypto_key_load_or_create(const char *path, struct crypto_key **out,
                          struct kaeri_error *err);
/* Parse a PEM private or public RSA key from memory. */
KAERI_MUST_CHECK enum kaeri_err crypto_key_from_pem(const char *pem,
                                                    size_t len,
                                                    struct crypto_key **out,
                                                    struct kaeri_error *err);
/* A public key from a JWK's base64url "n" and "e". */
KAERI_MUST_CHECK enum kaeri_err crypto_key_from_jwk(const char *n_b64url,
                                                    const char *e_b64url,
                                                    struct crypto_key **out,
                                                    struct kaeri_error *err);
void crypto_key_free(struct crypto_key *key);
bool crypto_key_is_private(const struct crypto_key *key);

/*
 * The key's id: standard base64 of the SHA-256 of its DER public key,
 * which looks like AWS's kids ("abcd...=") and is stable across restarts.
 */
void crypto_key_id(const struct crypto_key *key, char out[CRYPTO_KID_MAX]);
/* {"alg":"RS256","e":..,"kid":kid,"kty":"RSA","n":..,"use":"sig"}; new ref. */
json_t *crypto_key_jwk(const struct crypto_key *key, const char *kid);

/* RSASSA-PKCS1-v1_5 with SHA-256; 'sig' holds CRYPTO_RS256_SIG_MAX bytes. */
KAERI_MUST_CHECK enum kaeri_err crypto_rs256_sign(const struct crypto_key *key,
                                                  const void *msg, size_t n,
                                                  unsigned char *sig,
                                                  size_t *sig_len);
/* KAERI_OK when 'sig' is key's signature of 'msg', else KAERI_ERR_AUTH. */
KAERI_MUST_CHECK enum kaeri_err
crypto_rs256_verify(const struct crypto_key *key, const void *msg, size_t n,
                    const unsigned char *sig, size_t sig_len);

#endif

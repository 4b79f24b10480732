/*
 * fuzz_jwt.c - libFuzzer target for jwt.c: the input is a token, given to
 * jwt_decode() and to jwt_verify() twice, once with a lookup that knows
 * no kid and once with one that answers every kid with a fixed public
 * key, so the signature path runs too. The claim checks run on whatever
 * decodes. Nothing may crash, leak or be accepted by verify: no one holds
 * the private half of the key below.
 */
#include "crypto.h"
#include "jwt.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A 2048-bit RSA public key whose private half was thrown away. */
static const char fixed_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz0SCUMiJ48emFqr+zKhO\n"
    "DFlTOchVm0IPz+sV05/ZTjodTdytgx3JORey1k61LK9+GLmMXNyWlTLZ78TV55Qp\n"
    "VKK879CHc4Rlt8ZFyIVk4RwiKIBIbiGR4yGE8kbN4CLpTj+h7KzPvFw/u+NuGfV4\n"
    "aRH6k8ILfPopUFZYq823UIuqsgvzZ1ldb4OWOv92qQGW1IqKGuX9uT0Ge44j61dK\n"
    "VQBJl+AfUr9HtNeVKblr5qfV8EyFYnVVwXlCpS9AxJDgwFrKlyB7Gqu8/xechV3M\n"
    "Du+ecSk4adIFU7XKHu4Hd+nq2xqLTqh9LH3Ko9c9mmmILnXiVHljMh+FHa1WgQwh\n"
    "HwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const struct crypto_key *lookup_none(const char *kid, void *ctx)
{
    (void)kid;
    (void)ctx;
    return NULL;
}

static const struct crypto_key *lookup_fixed(const char *kid, void *ctx)
{
    (void)kid;
    return ctx;
}

/* Loaded once and kept for the process: reachable, so not a leak. */
static struct crypto_key *fixed_key(void)
{
    static struct crypto_key *key;

    if (!key && crypto_key_from_pem(fixed_pem, strlen(fixed_pem), &key, NULL))
        abort();
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct jwt_expect want = {"iss", NULL, "client", 1500000000,
                                           60};
    const char *token = (const char *)data;
    struct kaeri_error err;
    struct jwt jwt;

    if (!jwt_decode(token, size, &jwt, &err)) {
        enum kaeri_err rc = jwt_check_claims(&jwt, &want, &err);

        /* any verdict is fine; reaching it without a crash is the test */
        assert(rc == KAERI_OK || rc == KAERI_ERR_AUTH ||
               rc == KAERI_ERR_EXPIRED || rc == KAERI_ERR_INVALID);
        jwt_release(&jwt);
    }
    if (!jwt_verify(token, size, lookup_none, NULL, &jwt, &err))
        abort(); /* no key, yet verified */
    if (!jwt_verify(token, size, lookup_fixed, fixed_key(), &jwt, &err))
        abort(); /* a forgery of a key nobody can sign with */
    return 0;
}

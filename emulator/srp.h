/*
 * srp.h - the server side of Cognito's SRP-6a sign-in (USER_SRP_AUTH),
 * exactly as spec/cognito-srp.md describes: 3072-bit group, SHA-256, the
 * minimal two's-complement 'pad', HKDF "Caldera Derived Key", and the
 * PASSWORD_CLAIM_SIGNATURE check. No I/O, no state outside the session.
 */
#ifndef KAERI_SRP_H
#define KAERI_SRP_H

#include "kaeri.h"

#include <stddef.h>
#include <stdint.h>

#define SRP_SALT_LEN      16
#define SRP_TIMESTAMP_MAX 40

/* One sign-in attempt between InitiateAuth and RespondToAuthChallenge. */
struct srp_session;

/*
 * Start a sign-in for 'user_id' of pool 'pool_name' (the pool id after its
 * first '_'): compute v from the password and salt, draw b (or use
 * 'fixed_b', big-endian, for test vectors; NULL for random), compute B.
 * 'srp_a_hex' is the client's A: empty, non-hex, longer than 800 digits,
 * or A mod N = 0 give KAERI_ERR_INVALID.
 */
KAERI_MUST_CHECK enum kaeri_err
srp_begin(const char *pool_name, const char *user_id, const char *password,
          const unsigned char *salt, size_t salt_len, const char *srp_a_hex,
          const unsigned char *fixed_b, size_t fixed_b_len,
          struct srp_session **out, struct kaeri_error *err);

/* B as lower-case hex without leading zeros (owned by the session). */
const char *srp_b_hex(const struct srp_session *s);

/*
 * Check the client's proof: 'signature_b64' must be base64 of
 * HMAC-SHA256(K, poolName || userId || secret_block || timestamp), 32 bytes,
 * compared in constant time. KAERI_OK or KAERI_ERR_AUTH.
 */
KAERI_MUST_CHECK enum kaeri_err
srp_verify(const struct srp_session *s, const unsigned char *secret_block,
           size_t block_len, const char *timestamp, const char *signature_b64);

/* Free the session and wipe b, v and the derived key. NULL is fine. */
void srp_session_free(struct srp_session *s);

/*
 * The salt's wire form: lower-case hex of the bytes as drawn. Callers draw
 * SRP_SALT_LEN random bytes with the first byte in 0x01..0x7f so that every
 * client's reading of it agrees (spec section 2).
 */
void srp_make_salt(unsigned char salt[SRP_SALT_LEN]);

/*
 * TIMESTAMP "Www Mmm D HH:MM:SS UTC YYYY" (spec section 7). Parsing accepts
 * only the canonical form (no zero-padded day, the right weekday):
 * KAERI_ERR_INVALID otherwise.
 */
KAERI_MUST_CHECK enum kaeri_err srp_timestamp_parse(const char *s,
                                                    int64_t *epoch);
void srp_timestamp_format(int64_t epoch, char out[SRP_TIMESTAMP_MAX]);

#endif

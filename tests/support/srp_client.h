/*
 * srp_client.h - the client side of Cognito's USER_SRP_AUTH, for tests.
 *
 * Written from spec/cognito-srp.md alone, apart from emulator/srp.c, so the
 * wire tests check the server against a second, independent implementation
 * (as amazon-cognito-identity-js, Amplify and pycognito are). One object
 * holds one ephemeral secret 'a' and its public value A = g^a mod N; it may
 * answer several challenges (pycognito reuses its A, too).
 */
#ifndef KAERI_SRP_CLIENT_H
#define KAERI_SRP_CLIENT_H

#include <time.h>

/* base64 of an HMAC-SHA256 is 44 chars; room for the NUL and to spare */
#define SRP_CLIENT_SIG_MAX       64
#define SRP_CLIENT_TIMESTAMP_MAX 40

struct srp_client;

/*
 * A new client. 'a_hex' is the secret exponent as hex (any case, no prefix),
 * or NULL for 256 random bits from RAND_bytes(). Returns NULL when 'a_hex'
 * is empty, not hex, over 1024 digits, or zero. Free with srp_client_free().
 */
struct srp_client *srp_client_new(const char *a_hex);

/* A, the value to send as SRP_A: lowercase hex, no leading zeros. Borrowed. */
const char *srp_client_a_hex(const struct srp_client *c);

/*
 * PASSWORD_CLAIM_SIGNATURE for one PASSWORD_VERIFIER challenge
 * (spec section 3): 'pool_name' is the pool id after its first '_',
 * 'user_id' the challenge's USER_ID_FOR_SRP, 'salt_hex', 'srp_b_hex' and
 * 'secret_block_b64' the challenge's SALT, SRP_B and SECRET_BLOCK as
 * received, 'timestamp' the TIMESTAMP string that will be sent. Writes the
 * 44-character base64 signature and a NUL to 'out_b64'. Returns 0, or -1 on
 * bad input (non-hex SALT or SRP_B, invalid base64), B mod N = 0 or u = 0.
 */
int srp_client_signature(struct srp_client *c, const char *pool_name,
                         const char *user_id, const char *password,
                         const char *salt_hex, const char *srp_b_hex,
                         const char *secret_block_b64, const char *timestamp,
                         char out_b64[SRP_CLIENT_SIG_MAX]);

/*
 * TIMESTAMP for time 't' in the form of spec section 7,
 * "Mon Jan 2 15:04:05 UTC 2006": UTC, English names, day not zero-padded.
 * 'out' gets "" if 't' cannot be represented.
 */
void srp_client_timestamp(time_t t, char out[SRP_CLIENT_TIMESTAMP_MAX]);

/*
 * SECRET_HASH for an app client with a secret (spec section 4):
 * base64(HMAC-SHA256(key = client secret, username || client id)).
 * Returns 0, or -1 if an argument is NULL.
 */
int srp_client_secret_hash(const char *client_secret, const char *username,
                           const char *client_id,
                           char out_b64[SRP_CLIENT_SIG_MAX]);

/* Wipe and free 'c'; NULL is a no-op. */
void srp_client_free(struct srp_client *c);

#endif

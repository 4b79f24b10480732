/*
 * userpool.h - the data model of one Cognito user pool: its app clients,
 * users, groups, server-side sign-in sessions (refresh tokens), pending
 * challenges (SRP and NEW_PASSWORD_REQUIRED), confirmation codes, and the
 * minting of its ID and access tokens (spec/cognito.md sections 2-4).
 *
 * svc_cognito.c owns the pools and speaks the wire protocol; this module
 * knows nothing of HTTP. The structs stay visible so the service can read
 * their fields; change them only through userpool_* so the invariants
 * (unique names, memberships, sessions of deleted users) hold. Everything
 * runs on the loop thread.
 */
#ifndef KAERI_USERPOOL_H
#define KAERI_USERPOOL_H

#include "crypto.h"
#include "kaeri.h"
#include "srp.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define USERPOOL_HANDLE_BYTES    48    /* SECRET_BLOCK and Session entropy */
#define USERPOOL_HANDLE_LEN      64    /* its standard base64 */
#define USERPOOL_CHALLENGE_TTL   180   /* AuthSessionValidity default: 3 min */
#define USERPOOL_CODE_TTL        86400 /* sign-up codes: 24 hours */
#define USERPOOL_SECRET_HASH_LEN 44    /* base64 of a SHA-256 HMAC */

enum userpool_status {
    USERPOOL_UNCONFIRMED,
    USERPOOL_CONFIRMED,
    USERPOOL_FORCE_CHANGE_PASSWORD,
    USERPOOL_RESET_REQUIRED,
};

/* "CONFIRMED", ...; and back (false when unknown). */
const char *userpool_status_name(enum userpool_status s);
bool userpool_status_parse(const char *s, enum userpool_status *out);

/* ExplicitAuthFlows of an app client, as a flag set. */
enum userpool_flow {
    USERPOOL_ALLOW_USER_SRP_AUTH = 1 << 0,
    USERPOOL_ALLOW_USER_PASSWORD_AUTH = 1 << 1,
    USERPOOL_ALLOW_ADMIN_USER_PASSWORD_AUTH = 1 << 2,
    USERPOOL_ALLOW_REFRESH_TOKEN_AUTH = 1 << 3,
    USERPOOL_ALLOW_CUSTOM_AUTH = 1 << 4,
    USERPOOL_ALLOW_USER_AUTH = 1 << 5,
    /* the legacy names, accepted and listed back as given */
    USERPOOL_ADMIN_NO_SRP_AUTH = 1 << 6,
    USERPOOL_USER_PASSWORD_AUTH = 1 << 7,
    USERPOOL_CUSTOM_AUTH_FLOW_ONLY = 1 << 8,
};

/* "ALLOW_USER_SRP_AUTH" -> flag; 0 when unknown. */
unsigned userpool_flow_parse(const char *name);
/* The names of the flags in 'flows', in table order; new reference. */
json_t *userpool_flows_json(unsigned flows);

/* spec/cognito.md section 2.2; defaults are AWS's. */
struct userpool_policy {
    int min_length; /* 6..99, default 8 */
    bool require_uppercase;
    bool require_lowercase;
    bool require_numbers;
    bool require_symbols;
    int temp_validity_days; /* 0..365, default 7 */
};

void userpool_policy_default(struct userpool_policy *p);

/*
 * The reason 'password' fails 'policy' ("Password not long enough"), or
 * NULL when it conforms. One reason, checked in the spec's order.
 */
const char *userpool_password_problem(const struct userpool_policy *policy,
                                      const char *password);

/* Token lifetimes, in seconds, and how DescribeUserPoolClient shows them. */
struct userpool_validity {
    int64_t id_s, access_s, refresh_s;
    int64_t id_value, access_value, refresh_value;    /* in their units */
    const char *id_unit, *access_unit, *refresh_unit; /* static strings */
};

void userpool_validity_default(struct userpool_validity *v);
/* "seconds" "minutes" "hours" "days" -> seconds per unit; 0 if unknown. */
int64_t userpool_unit_seconds(const char *unit);

struct userpool;

struct userpool_client {
    struct userpool *pool; /* the owner */
    char *id;
    char *name;
    char *secret;                       /* NULL: a client without a secret */
    unsigned flows;                     /* enum userpool_flow */
    bool prevent_user_existence_errors; /* ENABLED rather than LEGACY */
    struct userpool_validity validity;
    double created, modified; /* epoch seconds */
};

struct userpool_group {
    char *name;
    char *description; /* may be NULL */
    char *role_arn;    /* may be NULL */
    bool has_precedence;
    int64_t precedence;
    double created, modified;
};

struct userpool_user {
    char *username;
    char *sub;      /* uuid */
    char *password; /* kept as given (an emulator); NULL: none yet */
    unsigned char salt[SRP_SALT_LEN]; /* drawn whenever the password is set */
    json_t *attributes; /* object name -> string, without "sub"; owned */
    enum userpool_status status;
    bool enabled;
    int64_t temp_password_expires;  /* epoch s; 0 when not temporary */
    struct userpool_group **groups; /* borrowed from the pool */
    size_t ngroups;
    double created, modified;
};

/* A sign-in: one refresh token and the tokens minted from it. */
struct userpool_session {
    char *refresh_token;
    char origin_jti[CRYPTO_UUID_LEN + 1];
    char event_id[CRYPTO_UUID_LEN + 1];
    const struct userpool_client *client;
    struct userpool_user *user;
    int64_t auth_time;  /* epoch s of the authentication */
    int64_t expires;    /* refresh token's end */
    int64_t keep_until; /* forget the record (revoked or not) after */
    bool revoked;       /* GlobalSignOut */
};

enum userpool_challenge_kind {
    USERPOOL_CHALLENGE_PASSWORD_VERIFIER,
    USERPOOL_CHALLENGE_NEW_PASSWORD,
};

/* A pending challenge, found by its handle (SECRET_BLOCK or Session). */
struct userpool_challenge {
    enum userpool_challenge_kind kind;
    char handle[USERPOOL_HANDLE_LEN + 1];     /* standard base64 */
    unsigned char raw[USERPOOL_HANDLE_BYTES]; /* its bytes, for SRP's M */
    const struct userpool_client *client;
    struct userpool_user *user; /* NULL: the decoy for an unknown user */
    char *user_id;              /* USER_ID_FOR_SRP */
    struct srp_session *srp;    /* PASSWORD_VERIFIER only; owned */
    int64_t expires;
};

/* A confirmation code or generated temporary password, for /_kaeri/. */
struct userpool_code {
    char *username;
    char *kind; /* "SIGN_UP", "TEMPORARY_PASSWORD" */
    char *code;
    int64_t created, expires;
    bool used;
};

struct userpool {
    char *id; /* "ap-northeast-1_KaeriPool1" */
    char *name;
    char *arn;
    char *issuer;    /* iss of its tokens */
    char *jwks_uri;  /* always the local URL */
    bool issuer_aws; /* issuer in AWS's form */
    struct userpool_policy policy;
    int64_t srp_skew_s;                     /* TIMESTAMP window, default 300 */
    struct crypto_key *id_key, *access_key; /* owned */
    char id_kid[CRYPTO_KID_MAX], access_kid[CRYPTO_KID_MAX];
    unsigned char decoy_key[32]; /* PreventUserExistenceErrors decoys */
    double created, modified;

    struct userpool_client **clients;
    size_t nclients;
    struct userpool_group **groups;
    size_t ngroups;
    struct userpool_user **users;
    size_t nusers;
    struct userpool_session **sessions;
    size_t nsessions;
    struct userpool_challenge **challenges;
    size_t nchallenges;
    struct userpool_code **codes;
    size_t ncodes;
};

/*
 * A new empty pool. 'issuer' and 'jwks_uri' are copied; the keys are
 * taken (freed with the pool). The pool's name is its id after the first
 * '_' for SRP, which the caller checks exists.
 */
struct userpool *userpool_new(const char *id, const char *name, const char *arn,
                              const char *issuer, const char *jwks_uri,
                              struct crypto_key *id_key,
                              struct crypto_key *access_key);
void userpool_free(struct userpool *pool);
/* The part of the id after its first '_' (SRP's poolName). */
const char *userpool_srp_name(const struct userpool *pool);

/* Clients. 'secret' may be NULL. Returns the new client (owned by pool). */
struct userpool_client *userpool_add_client(struct userpool *pool,
                                            const char *id, const char *name,
                                            const char *secret);
struct userpool_client *userpool_find_client(const struct userpool *pool,
                                             const char *id);
/* Random ids and secrets in AWS's shapes (26 and 51 characters). */
void userpool_make_client_id(char out[27]);
void userpool_make_client_secret(char out[52]);

/* Groups. NULL when the name is taken (add) or unknown (find). */
struct userpool_group *userpool_add_group(struct userpool *pool,
                                          const char *name);
struct userpool_group *userpool_find_group(const struct userpool *pool,
                                           const char *name);

/*
 * Users. 'sub' NULL draws a uuid. NULL when the username is taken. The
 * user starts UNCONFIRMED, enabled, without password or attributes.
 */
struct userpool_user *userpool_add_user(struct userpool *pool,
                                        const char *username, const char *sub);
struct userpool_user *userpool_find_user(const struct userpool *pool,
                                         const char *username);
/* Remove the user with its sessions, challenges and codes. */
void userpool_delete_user(struct userpool *pool, struct userpool_user *user);
/* Set the password (copied), draw a new salt, set the status. */
void userpool_set_password(struct userpool *pool, struct userpool_user *user,
                           const char *password, enum userpool_status status);
/* Set one attribute (string value); "sub" is refused with false. */
bool userpool_set_attribute(struct userpool_user *user, const char *name,
                            const char *value);
/* [{"Name":"sub","Value":..}, ...] as the API lists them; new reference. */
json_t *userpool_user_attributes_json(const struct userpool_user *user);
/* Membership; both idempotent. */
void userpool_join(struct userpool_user *user, struct userpool_group *group);
void userpool_leave(struct userpool_user *user, struct userpool_group *group);

/*
 * cognito:preferred_role for a user in 'groups' (spec/cognito.md section
 * 4): the role of the group with the lowest precedence; groups without
 * precedence rank after those with one; several different roles at the
 * top (or all without precedence) give NULL; a single role is used.
 * Groups without a role do not count. The string is borrowed.
 */
const char *userpool_preferred_role(struct userpool_group *const *groups,
                                    size_t n);

/*
 * SECRET_HASH = base64(HMAC-SHA256(secret, username || client_id)) into
 * 'out' (spec/cognito.md section 3); and its check in constant time.
 */
void userpool_secret_hash(const char *secret, const char *username,
                          const char *client_id,
                          char out[USERPOOL_SECRET_HASH_LEN + 1]);
bool userpool_secret_hash_ok(const struct userpool_client *client,
                             const char *username, const char *given);

/*
 * Sessions. A new session for a successful sign-in at 'now', with a fresh
 * refresh token; expired records are swept first.
 */
struct userpool_session *userpool_session_new(struct userpool *pool,
                                              const struct userpool_client *c,
                                              struct userpool_user *user,
                                              int64_t now);
struct userpool_session *userpool_session_by_token(const struct userpool *pool,
                                                   const char *refresh_token);
struct userpool_session *userpool_session_by_jti(const struct userpool *pool,
                                                 const char *origin_jti);
/* GlobalSignOut: revoke every session of 'user'. */
void userpool_sign_out(struct userpool *pool, const struct userpool_user *user);

/*
 * Mint an ID and an access token for 'session' at 'now' and build the
 * AuthenticationResult object (with the refresh token when
 * 'with_refresh'). New reference in *out. KAERI_ERR_INTERNAL if signing
 * fails.
 */
KAERI_MUST_CHECK enum kaeri_err userpool_mint(const struct userpool *pool,
                                              const struct userpool_session *s,
                                              int64_t now, bool with_refresh,
                                              json_t **out);
/* The claims of each token, for tests and the minting above; new refs. */
json_t *userpool_id_claims(const struct userpool *pool,
                           const struct userpool_session *s, int64_t now);
json_t *userpool_access_claims(const struct userpool *pool,
                               const struct userpool_session *s, int64_t now);

/*
 * Challenges. userpool_challenge_new() draws the handle and takes
 * 'user_id' (copied) and 'srp' (owned). Find by handle, checking the
 * client and expiry: NULL when unknown, expired or of another client.
 */
struct userpool_challenge *
userpool_challenge_new(struct userpool *pool, enum userpool_challenge_kind kind,
                       const struct userpool_client *client,
                       struct userpool_user *user, const char *user_id,
                       struct srp_session *srp, int64_t now);
struct userpool_challenge *userpool_challenge_find(
    const struct userpool *pool, enum userpool_challenge_kind kind,
    const struct userpool_client *client, const char *handle, int64_t now);
void userpool_challenge_drop(struct userpool *pool,
                             struct userpool_challenge *ch);

/*
 * For PreventUserExistenceErrors: the same salt and UUID-shaped
 * USER_ID_FOR_SRP for the same unknown name every time (spec/cognito-srp.md
 * section 8), derived from the pool's decoy key.
 */
void userpool_decoy(const struct userpool *pool, const char *username,
                    unsigned char salt[SRP_SALT_LEN],
                    char user_id[CRYPTO_UUID_LEN + 1]);

/*
 * Codes: a new 6-digit code of 'kind' for 'username' (replacing an older
 * unused one of the same kind), or a caller-given value (temporary
 * passwords). The latest of a kind is found with userpool_code_find().
 */
struct userpool_code *userpool_code_new(struct userpool *pool,
                                        const char *username, const char *kind,
                                        const char *value, int64_t now,
                                        int64_t ttl);
struct userpool_code *userpool_code_find(const struct userpool *pool,
                                         const char *username,
                                         const char *kind);

#endif

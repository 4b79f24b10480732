/*
 * test_userpool.c - the user pool data model without HTTP: password
 * policy, cognito:preferred_role by precedence, SECRET_HASH (the spec's
 * vector), decoys for unknown users, codes, sessions, membership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "userpool.h"

#include <string.h>

struct policy_case {
    int min_length;
    bool upper, lower, numbers, symbols;
    const char *password;
    const char *problem; /* NULL: conforms */
};

static const struct policy_case policy_cases[] = {
    /* AWS's default policy */
    {8, true, true, true, true, "Alice#Passw0rd", NULL},
    {8, true, true, true, true, "Ab1#", "Password not long enough"},
    {8, true, true, true, true, "Abcdefg#",
     "Password must have numeric characters"},
    {8, true, true, true, true, "Abcdefg1",
     "Password must have symbol characters"},
    {8, true, true, true, true, "abcdef1#",
     "Password must have uppercase characters"},
    {8, true, true, true, true, "ABCDEF1#",
     "Password must have lowercase characters"},
    /* a space inside counts as a symbol, at either end it does not */
    {8, true, true, true, true, "Abc def1", NULL},
    {8, true, true, true, true, "Abcdef1 ",
     "Password must have symbol characters"},
    /* every special character of spec/cognito.md section 2.2 */
    {8, true, true, true, true, "Abcdef1^", NULL},
    {8, true, true, true, true, "Abcdef1`", NULL},
    {8, true, true, true, true, "Abcdef1\\", NULL},
    {8, true, true, true, true, "Abcdef1=", NULL},
    /* a relaxed pool */
    {6, false, false, false, false, "abcdef", NULL},
    {6, false, false, false, false, "abcde", "Password not long enough"},
    {10, true, true, true, false, "LongEnough1", NULL},
    /* length counts characters, not bytes */
    {8, false, false, false, false, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
     "Password not long enough"},
};

static void test_password_policy(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(policy_cases); i++) {
        const struct policy_case *c = &policy_cases[i];
        struct userpool_policy p = {c->min_length, c->upper,   c->lower,
                                    c->numbers,    c->symbols, 7};
        const char *got = userpool_password_problem(&p, c->password);

        if (!c->problem)
            assert_null(got);
        else
            assert_string_equal(got, c->problem);
    }
}

static void test_policy_default(void **state)
{
    struct userpool_policy p;

    (void)state;
    userpool_policy_default(&p);
    assert_int_equal(p.min_length, 8);
    assert_true(p.require_uppercase && p.require_lowercase &&
                p.require_numbers && p.require_symbols);
    assert_int_equal(p.temp_validity_days, 7);
}

/* A group for the preferred-role table: precedence -1 means unset. */
struct group_spec {
    const char *role;
    int precedence;
};

struct role_case {
    const char *what;
    struct group_spec groups[4];
    size_t n;
    const char *want;
};

#define RA "arn:aws:iam::123456789012:role/a"
#define RB "arn:aws:iam::123456789012:role/b"
#define RC "arn:aws:iam::123456789012:role/c"

static const struct role_case role_cases[] = {
    {"no groups", {{0}}, 0, NULL},
    {"no roles", {{NULL, 1}, {NULL, 2}}, 2, NULL},
    {"single role, no precedence", {{RA, -1}}, 1, RA},
    {"single role among groups without roles", {{NULL, 0}, {RA, 9}}, 2, RA},
    {"lowest precedence wins", {{RB, 10}, {RA, 0}}, 2, RA},
    {"tie with different roles", {{RA, 1}, {RB, 1}, {RC, 5}}, 3, NULL},
    {"tie with the same role", {{RA, 1}, {RA, 1}, {RB, 5}}, 3, RA},
    {"tie above a better group", {{RA, 3}, {RB, 3}, {RC, 1}}, 3, RC},
    {"no precedence, several roles", {{RA, -1}, {RB, -1}}, 2, NULL},
    {"precedence beats none", {{RA, -1}, {RB, 7}}, 2, RB},
    {"same role twice, no precedence", {{RA, -1}, {RA, -1}}, 2, RA},
    {"precedence 0 counts", {{RB, 0}, {RA, 1}}, 2, RB},
};

static void test_preferred_role(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(role_cases); i++) {
        const struct role_case *c = &role_cases[i];
        struct userpool_group g[4];
        struct userpool_group *gp[4];
        const char *got;

        memset(g, 0, sizeof(g));
        for (size_t j = 0; j < c->n; j++) {
            g[j].name = (char *)"g";
            g[j].role_arn = (char *)c->groups[j].role;
            g[j].has_precedence = c->groups[j].precedence >= 0;
            g[j].precedence = c->groups[j].precedence;
            gp[j] = &g[j];
        }
        got = userpool_preferred_role(gp, c->n);
        if (!c->want) {
            if (got)
                fail_msg("%s: got %s", c->what, got);
        } else {
            if (!got || strcmp(got, c->want))
                fail_msg("%s: got %s", c->what, got ? got : "(none)");
        }
    }
}

static void test_secret_hash_vector(void **state)
{
    char out[USERPOOL_SECRET_HASH_LEN + 1];

    (void)state;
    /* spec/cognito.md section 3 */
    userpool_secret_hash("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop",
                         "janedoe", "1example23456789", out);
    assert_string_equal(out, "hvfK2Tb28A+0smK6eYncNRw7IDA6nI26er1YyFM6l98=");
}

static void test_flows(void **state)
{
    json_t *names;

    (void)state;
    assert_int_equal(userpool_flow_parse("ALLOW_USER_SRP_AUTH"),
                     USERPOOL_ALLOW_USER_SRP_AUTH);
    assert_int_equal(userpool_flow_parse("ADMIN_NO_SRP_AUTH"),
                     USERPOOL_ADMIN_NO_SRP_AUTH);
    assert_int_equal(userpool_flow_parse("NOPE"), 0);
    names = userpool_flows_json(USERPOOL_ALLOW_USER_PASSWORD_AUTH |
                                USERPOOL_ALLOW_REFRESH_TOKEN_AUTH);
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)),
                        "ALLOW_USER_PASSWORD_AUTH");
    json_decref(names);
    assert_int_equal(userpool_unit_seconds("hours"), 3600);
    assert_int_equal(userpool_unit_seconds("weeks"), 0);
}

/* A pool with the fixture's keys (no key generation in unit tests). */
static struct userpool *fixture_pool(void)
{
    struct crypto_key *idk = NULL, *ack = NULL;

    assert_int_equal(
        crypto_key_load_or_create("fixtures/keys/pool1-id.pem", &idk, NULL),
        KAERI_OK);
    assert_int_equal(
        crypto_key_load_or_create("fixtures/keys/pool1-access.pem", &ack, NULL),
        KAERI_OK);
    return userpool_new("ap-northeast-1_Test1", "t", "arn", "http://x/p",
                        "http://x/p/.well-known/jwks.json", idk, ack);
}

static void test_model(void **state)
{
    struct userpool *pool = fixture_pool();
    struct userpool_client *cl;
    struct userpool_user *u;
    struct userpool_group *g;
    struct userpool_session *s;
    json_t *claims, *attrs;

    (void)state;
    assert_string_equal(userpool_srp_name(pool), "Test1");
    assert_string_not_equal(pool->id_kid, pool->access_kid);
    cl = userpool_add_client(pool, "client1", "c", NULL);
    assert_non_null(cl);
    assert_null(userpool_add_client(pool, "client1", "again", NULL));
    u = userpool_add_user(pool, "zoe", NULL);
    assert_non_null(u);
    assert_null(userpool_add_user(pool, "zoe", NULL));
    assert_int_equal(strlen(u->sub), CRYPTO_UUID_LEN);
    assert_int_equal(u->status, USERPOOL_UNCONFIRMED);
    assert_false(userpool_set_attribute(u, "sub", "x"));
    assert_true(userpool_set_attribute(u, "email", "zoe@example.com"));
    assert_true(userpool_set_attribute(u, "email_verified", "true"));
    attrs = userpool_user_attributes_json(u);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(attrs, 0), "Name")),
        "sub");
    assert_int_equal(json_array_size(attrs), 3);
    json_decref(attrs);

    g = userpool_add_group(pool, "team");
    g->role_arn = strdup(RA);
    assert_null(userpool_add_group(pool, "team"));
    userpool_join(u, g);
    userpool_join(u, g);
    assert_int_equal(u->ngroups, 1);

    userpool_set_password(pool, u, "Zoe#Passw0rd", USERPOOL_CONFIRMED);
    assert_true(u->salt[0] >= 1 && u->salt[0] <= 0x7f);
    s = userpool_session_new(pool, cl, u, 1000);
    assert_ptr_equal(userpool_session_by_token(pool, s->refresh_token), s);
    assert_ptr_equal(userpool_session_by_jti(pool, s->origin_jti), s);
    assert_null(userpool_session_by_token(pool, "nope"));
    assert_int_equal(s->expires, 1000 + 30 * 86400);

    claims = userpool_id_claims(pool, s, 2000);
    assert_string_equal(json_string_value(json_object_get(claims, "aud")),
                        "client1");
    assert_true(json_is_true(json_object_get(claims, "email_verified")));
    assert_string_equal(
        json_string_value(json_object_get(claims, "cognito:preferred_role")),
        RA);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
                     2000 + 3600);
    assert_int_equal(json_integer_value(json_object_get(claims, "auth_time")),
                     1000);
    json_decref(claims);
    claims = userpool_access_claims(pool, s, 2000);
    assert_null(json_object_get(claims, "aud"));
    assert_null(json_object_get(claims, "cognito:roles"));
    assert_string_equal(json_string_value(json_object_get(claims, "scope")),
                        "aws.cognito.signin.user.admin");
    json_decref(claims);

    userpool_sign_out(pool, u);
    assert_true(s->revoked);
    userpool_leave(u, g);
    assert_int_equal(u->ngroups, 0);
    userpool_delete_user(pool, u);
    assert_null(userpool_find_user(pool, "zoe"));
    assert_int_equal(pool->nsessions, 0);
    userpool_free(pool);
}

static void test_challenges_and_codes(void **state)
{
    struct userpool *pool = fixture_pool();
    struct userpool_client *a = userpool_add_client(pool, "a", "a", NULL);
    struct userpool_client *b = userpool_add_client(pool, "b", "b", NULL);
    struct userpool_challenge *ch;
    struct userpool_code *code;
    unsigned char s1[SRP_SALT_LEN], s2[SRP_SALT_LEN];
    char u1[CRYPTO_UUID_LEN + 1], u2[CRYPTO_UUID_LEN + 1];
    char handle[USERPOOL_HANDLE_LEN + 1];

    (void)state;
    ch = userpool_challenge_new(pool, USERPOOL_CHALLENGE_NEW_PASSWORD, a, NULL,
                                "x", NULL, 100);
    assert_int_equal(strlen(ch->handle), USERPOOL_HANDLE_LEN);
    memcpy(handle, ch->handle, sizeof(handle));
    /* bound to its client and kind, and expires after 3 minutes */
    assert_ptr_equal(userpool_challenge_find(pool,
                                             USERPOOL_CHALLENGE_NEW_PASSWORD, a,
                                             handle, 100 + 179),
                     ch);
    assert_null(userpool_challenge_find(pool, USERPOOL_CHALLENGE_NEW_PASSWORD,
                                        b, handle, 100));
    assert_null(userpool_challenge_find(
        pool, USERPOOL_CHALLENGE_PASSWORD_VERIFIER, a, handle, 100));
    assert_null(userpool_challenge_find(pool, USERPOOL_CHALLENGE_NEW_PASSWORD,
                                        a, handle, 100 + 180));
    userpool_challenge_drop(pool, ch);
    assert_null(userpool_challenge_find(pool, USERPOOL_CHALLENGE_NEW_PASSWORD,
                                        a, handle, 100));

    userpool_decoy(pool, "ghost", s1, u1);
    userpool_decoy(pool, "ghost", s2, u2);
    assert_memory_equal(s1, s2, sizeof(s1));
    assert_string_equal(u1, u2);
    assert_int_equal(u1[14], '4');
    userpool_decoy(pool, "other", s2, u2);
    assert_string_not_equal(u1, u2);

    code = userpool_code_new(pool, "zoe", "SIGN_UP", NULL, 10, 86400);
    assert_int_equal(strlen(code->code), 6);
    assert_int_equal(strspn(code->code, "0123456789"), 6);
    code = userpool_code_new(pool, "zoe", "SIGN_UP", "123456", 20, 86400);
    assert_int_equal(pool->ncodes, 1);
    assert_ptr_equal(userpool_code_find(pool, "zoe", "SIGN_UP"), code);
    assert_null(userpool_code_find(pool, "zoe", "TEMPORARY_PASSWORD"));
    userpool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_policy_default),
        cmocka_unit_test(test_preferred_role),
        cmocka_unit_test(test_secret_hash_vector),
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_challenges_and_codes),
    };

    return cmocka_run_group_tests_name("userpool", tests, NULL, NULL);
}

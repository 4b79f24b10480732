/*
 * test_aws_cli.c - the AWS CLI (botocore) against kaeri, typed as the
 * README tells a new user to type it. Skipped when `aws` is not on PATH:
 * the CLI is not one of kaeri's build dependencies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kaeri_proc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL   "ap-northeast-1_KaeriPool1"
#define CLIENT "kaeriwebclientnosecret0001"

static struct kaeri_proc proc;

static int setup(void **state)
{
    (void)state;
    if (system("command -v aws >/dev/null 2>&1") != 0)
        return 0; /* each test skips */
    setenv("AWS_ACCESS_KEY_ID", "AKIAKAERIADMINKEY001", 1);
    setenv("AWS_SECRET_ACCESS_KEY",
           "kaeriAdminSecretKey0000000000000000000001", 1);
    setenv("AWS_DEFAULT_REGION", "ap-northeast-1", 1);
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_PROFILE");
    return kaeri_proc_start(&proc, NULL, NULL);
}

static int teardown(void **state)
{
    (void)state;
    if (!proc.pid)
        return 0;
    return kaeri_proc_stop(&proc);
}

/* Run `aws <args> --endpoint-url <kaeri>`; its stdout as JSON, or NULL. */
static json_t *aws(const char *args, int *exit_code)
{
    char cmd[2048];
    char out[65536];
    size_t n;
    FILE *f;
    int status;

    snprintf(cmd, sizeof(cmd),
             "timeout 30 aws %s --endpoint-url %s --output json 2>/dev/null",
             args, proc.http);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    status = pclose(f);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return json_loads(out, 0, NULL);
}

static void test_admin_initiate_auth_returns_three_tokens(void **state)
{
    json_t *r, *result;
    int code;

    (void)state;
    if (!proc.pid)
        skip();
    r = aws("cognito-idp admin-initiate-auth --user-pool-id " POOL
            " --client-id " CLIENT " --auth-flow ADMIN_USER_PASSWORD_AUTH"
            " --auth-parameters 'USERNAME=alice,PASSWORD=Alice#Passw0rd'",
            &code);
    assert_int_equal(code, 0);
    result = json_object_get(r, "AuthenticationResult");
    assert_non_null(json_string_value(json_object_get(result, "IdToken")));
    assert_non_null(json_string_value(json_object_get(result, "AccessToken")));
    assert_non_null(json_string_value(json_object_get(result, "RefreshToken")));
    assert_int_equal(json_integer_value(json_object_get(result, "ExpiresIn")),
                     3600);
    json_decref(r);
}

static void test_errors_reach_the_cli(void **state)
{
    json_t *r;
    int code;

    (void)state;
    if (!proc.pid)
        skip();
    /* botocore turns the __type into a failed command (exit 254/255) */
    r = aws("cognito-idp initiate-auth --client-id " CLIENT
            " --auth-flow USER_PASSWORD_AUTH"
            " --auth-parameters 'USERNAME=alice,PASSWORD=wrong'",
            &code);
    assert_int_not_equal(code, 0);
    json_decref(r);
    assert_true(kaeri_proc_log_contains(&proc, "NotAuthorizedException"));
}

static void test_list_user_pools(void **state)
{
    json_t *r;
    int code;

    (void)state;
    if (!proc.pid)
        skip();
    r = aws("cognito-idp list-user-pools --max-results 10", &code);
    assert_int_equal(code, 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(r, "UserPools"), 0), "Id")),
        POOL);
    json_decref(r);
}

static void test_sts(void **state)
{
    json_t *r;
    int code;

    (void)state;
    if (!proc.pid)
        skip();
    r = aws("sts get-caller-identity", &code);
    assert_int_equal(code, 0);
    assert_string_equal(json_string_value(json_object_get(r, "Arn")),
                        "arn:aws:iam::123456789012:user/kaeri-admin");
    json_decref(r);
    r = aws("sts assume-role --role-arn "
            "arn:aws:iam::123456789012:role/kaeri-chat-admins "
            "--role-session-name cli",
            &code);
    assert_int_equal(code, 0);
    assert_int_equal(
        strncmp(json_string_value(json_object_get(
                    json_object_get(r, "Credentials"), "AccessKeyId")),
                "ASIA", 4),
        0);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(r, "AssumedRoleUser"), "Arn")),
        "arn:aws:sts::123456789012:assumed-role/kaeri-chat-admins/cli");
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_initiate_auth_returns_three_tokens),
        cmocka_unit_test(test_errors_reach_the_cli),
        cmocka_unit_test(test_list_user_pools),
        cmocka_unit_test(test_sts),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

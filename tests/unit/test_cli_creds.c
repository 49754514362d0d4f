/* test_cli_creds.c — the client side of the CLI (src/cli/creds.c): the strict
 * configuration chain of `cloister worker` (a variable set but empty is named;
 * no default region; the region of a profile from the config file; one key
 * of the pair missing; a profile that does not exist), the permissive chain of
 * the other commands unchanged, the endpoint scheme check, and the XML text
 * extraction used for STS answers and S3 errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], cred_path[96], conf_path[96];

static const char *const vars[] = {
    "CLOISTER_ENDPOINT",     "AWS_REGION",        "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",        "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME", "AWS_CA_BUNDLE"};

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **st) {
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/cl-creds-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);
    snprintf(conf_path, sizeof conf_path, "%s/config", dir);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    write_file(cred_path, "[default]\naws_access_key_id = AKIDDEFAULT\n"
                          "aws_secret_access_key = sdefault\n"
                          "[prover]\naws_access_key_id = AKIDPROVER\r\n"
                          "aws_secret_access_key = sprover\r\n");
    write_file(conf_path, "[default]\nregion = eu-west-1\n[profile prover]\nregion = eu-north-1\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_CONFIG_FILE", conf_path, 1);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    unlink(cred_path);
    unlink(conf_path);
    rmdir(dir);
    return 0;
}

static void expect_refusal(const char *needle) {
    cli_creds c;
    char err[512] = "";
    assert_int_not_equal(cli_creds_load_strict(&c, err, sizeof err), CL_OK);
    if (!strstr(err, needle)) fail_msg("'%s' does not name %s", err, needle);
    assert_null(c.access_key);
}

static void test_strict_env(void **st) {
    (void)st;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    setenv("AWS_REGION", "us-west-2", 1);
    cli_creds c;
    char err[512];
    assert_int_equal(cli_creds_load_strict(&c, err, sizeof err), CL_OK);
    assert_string_equal(c.access_key, "AKIDENV");
    assert_string_equal(c.region, "us-west-2");
    assert_null(c.session_token);
    cli_creds_free(&c);
    const char *empties[] = {"AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "CLOISTER_ENDPOINT",
                             "AWS_PROFILE"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        char *old = getenv(empties[i]) ? strdup(getenv(empties[i])) : NULL;
        setenv(empties[i], "", 1);
        assert_string_equal(cli_env_empty(), empties[i]);
        expect_refusal(empties[i]);
        if (old)
            setenv(empties[i], old, 1);
        else
            unsetenv(empties[i]);
        free(old);
    }
    unsetenv("AWS_SECRET_ACCESS_KEY");
    expect_refusal("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    expect_refusal("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_REGION");
}

static void test_strict_profiles(void **st) {
    (void)st;
    cli_creds c;
    char err[512];
    assert_int_equal(cli_creds_load_strict(&c, err, sizeof err), CL_OK);
    assert_string_equal(c.access_key, "AKIDDEFAULT");
    assert_string_equal(c.region, "eu-west-1");
    cli_creds_free(&c);
    setenv("AWS_PROFILE", "prover", 1);
    assert_int_equal(cli_creds_load_strict(&c, err, sizeof err), CL_OK);
    assert_string_equal(c.access_key, "AKIDPROVER");
    assert_string_equal(c.secret, "sprover");
    assert_string_equal(c.region, "eu-north-1");
    cli_creds_free(&c);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1); /* the environment wins */
    assert_int_equal(cli_creds_load_strict(&c, err, sizeof err), CL_OK);
    assert_string_equal(c.region, "ap-south-1");
    cli_creds_free(&c);
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_PROFILE", "nosuch", 1);
    expect_refusal("AWS_REGION"); /* no region in [profile nosuch] either */
    setenv("AWS_REGION", "us-east-2", 1);
    expect_refusal("AWS_PROFILE=nosuch");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    expect_refusal("AWS_ACCESS_KEY_ID");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    unsetenv("AWS_REGION");
    write_file(conf_path, "[default]\n");
    expect_refusal("AWS_REGION");
}

static void test_permissive_chain_unchanged(void **st) {
    (void)st;
    setenv("AWS_REGION", "", 1); /* the other commands: empty means unset, us-east-1 */
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    cli_creds c;
    char err[512];
    assert_int_equal(cli_creds_load(&c, err, sizeof err), CL_OK);
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.access_key, "AKIDDEFAULT");
    cli_creds_free(&c);
    unsetenv("AWS_REGION");
    setenv("AWS_CONFIG_FILE", conf_path, 1);
}

static void test_endpoint_check(void **st) {
    (void)st;
    char err[256];
    assert_int_equal(cli_endpoint_check("http://127.0.0.1:9000", err, sizeof err), CL_OK);
    assert_int_equal(cli_endpoint_check("https://node.example", err, sizeof err), CL_OK);
    const char *bad[] = {"127.0.0.1:9000", "ftp://h", "http://", "HTTP:/x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cli_endpoint_check(bad[i], err, sizeof err), CL_ERR_INVALID);
        char want[128];
        snprintf(want, sizeof want,
                 "CLOISTER_ENDPOINT must start with http:// or https:// (got %s)", bad[i]);
        assert_string_equal(err, want);
    }
    char *h = cli_url_host("https://node.example:9443/b/k?x=1");
    assert_string_equal(h, "node.example:9443");
    free(h);
}

static void test_xml_text(void **st) {
    (void)st;
    const char *x = "<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type>"
                    "<Code>AccessDenied</Code><Message>User: a&amp;b &lt;c&gt; is not "
                    "&quot;authorized&apos;</Message></Error></ErrorResponse>";
    char *code = cli_xml_text(slice_cstr(x), "Code"), *msg = cli_xml_text(slice_cstr(x), "Message");
    assert_string_equal(code, "AccessDenied");
    assert_string_equal(msg, "User: a&b <c> is not \"authorized'");
    assert_null(cli_xml_text(slice_cstr(x), "RequestId"));
    assert_null(cli_xml_text(slice_cstr("<Code>open"), "Code"));
    char *empty = cli_xml_text(slice_cstr("<Code></Code>"), "Code");
    assert_string_equal(empty, "");
    free(code);
    free(msg);
    free(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_env),
        cmocka_unit_test(test_strict_profiles),
        cmocka_unit_test(test_permissive_chain_unchanged),
        cmocka_unit_test(test_endpoint_check),
        cmocka_unit_test(test_xml_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

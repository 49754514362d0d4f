/* test_iam.c — identity storage below the API: the first-start bootstrap
 * (account, admin user, key, credentials file) and its idempotence, account
 * creation and name uniqueness, and the garbage collection of expired sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/sigv4.h"
#include "iam/iam.h"
#include "iam/iam_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_bootstrap_once(void **s) {
    (void)s;
    store *st = NULL;
    iam *m = NULL;
    assert_int_equal(store_open(":memory:", &st), CL_OK);
    assert_int_equal(iam_open(st, &m), CL_OK);
    assert_null(iam_root_account(m));
    char path[64];
    snprintf(path, sizeof path, "/tmp/cl-test-creds-%d", (int)getpid());
    bool created = false;
    assert_int_equal(iam_bootstrap(m, path, &created), CL_OK);
    assert_true(created);
    const char *acct = iam_root_account(m);
    assert_non_null(acct);
    assert_int_equal(strlen(acct), 12);
    cl_buf b = CL_BUF_INIT;
    assert_int_equal(file_read_all(path, &b, 4096), CL_OK);
    assert_non_null(strstr(buf_cstr(&b), "[cloister]\naws_access_key_id = AKIA"));
    assert_non_null(strstr(buf_cstr(&b), "aws_secret_access_key = "));
    assert_true(access(path, R_OK) == 0);
    buf_free(&b);
    assert_int_equal(iam_bootstrap(m, path, &created), CL_OK); /* second start: nothing new */
    assert_false(created);
    iam_new_account a;
    aws_fault f = {0};
    assert_int_equal(iam_create_account(m, "prover", &a, &f), CL_OK);
    assert_string_not_equal(a.account_id, acct);
    assert_int_equal(strlen(a.access_key_id), 20);
    assert_int_equal(strlen(a.secret), 40);
    cl_free_secret(a.secret);
    memset(&f, 0, sizeof f);
    assert_int_equal(iam_create_account(m, "PROVER", &a, &f),
                     CL_ERR_EXISTS); /* names are case-insensitive */
    assert_string_equal(f.code, "EntityAlreadyExists");
    unlink(path);
    iam_close(m);
    store_close(st);
}

static void test_gc_sessions(void **s) {
    (void)s;
    store *st = NULL;
    iam *m = NULL;
    assert_int_equal(store_open(":memory:", &st), CL_OK);
    assert_int_equal(iam_open(st, &m), CL_OK);
    char old[21], fresh[21];
    time_format_iso8601(time_now() - 2 * 86400, old);
    time_format_iso8601(time_now() + 3600, fresh);
    char *d1 = cl_sprintf("{\"Expiration\":\"%s\"}", old),
         *d2 = cl_sprintf("{\"Expiration\":\"%s\"}", fresh);
    assert_int_equal(store_put(st, "session", "", "ASIAOLD", d1), CL_OK);
    assert_int_equal(store_put(st, "session", "", "ASIAFRESH", d2), CL_OK);
    size_t n = 0;
    assert_int_equal(iam_gc_sessions(m, time_now() - 86400, &n), CL_OK);
    assert_int_equal(n, 1);
    char *doc = NULL;
    assert_int_equal(store_get(st, "session", "", "ASIAOLD", &doc), CL_ERR_NOT_FOUND);
    assert_int_equal(store_get(st, "session", "", "ASIAFRESH", &doc), CL_OK);
    free(doc);
    free(d1);
    free(d2);
    iam_close(m);
    store_close(st);
}

/* Issue 10 items 1 and 6: iam_authenticate refuses unsigned x-amz-* headers
 * (listing them for HeadersNotSigned) and takes the auth type and request time
 * from the verified signature: X-Amz-%53ignature is still a presigned request. */
static void test_auth_facts(void **s) {
    (void)s;
    store *st = NULL;
    iam *m = NULL;
    assert_int_equal(store_open(":memory:", &st), CL_OK);
    assert_int_equal(iam_open(st, &m), CL_OK);
    iam_new_account a;
    aws_fault f = {0};
    assert_int_equal(iam_create_account(m, "facts", &a, &f), CL_OK);
    time_t now = time_now();
    http_request req = {.method = "GET", .path = "/b/k", .query = ""};
    kvlist_add(&req.headers, "host", "localhost");
    sigv4_request sr = {"GET", "/b/k", "", &req.headers, NULL, true};
    char *q = sigv4_presign(&sr, a.access_key_id, a.secret, NULL, "us-east-1", "s3", now, 60);
    char *sig = strstr(q, "&X-Amz-Signature=");
    assert_non_null(sig);
    char *spoof = cl_sprintf("%.*s&X-Amz-%%53ignature=%s", (int)(sig - q), q, sig + 17);
    req.query = spoof;
    iam_caller c;
    assert_int_equal(iam_authenticate(m, &req, NULL, true, &c, &f), IAM_AUTH_OK);
    assert_int_equal(c.auth_type, IAM_AUTHTYPE_QUERY);
    assert_string_equal(iam_auth_type_name(c.auth_type), "REST-QUERY-STRING");
    assert_int_equal(c.request_time, now);
    assert_false(c.temporary);
    assert_int_equal(c.token_issue_time, 0);
    iam_caller_free(&c);
    /* the same URL with an unsigned header added */
    kvlist_add(&req.headers, "X-Amz-Copy-Source", "/other/secret");
    memset(&f, 0, sizeof f);
    assert_int_equal(iam_authenticate(m, &req, NULL, true, &c, &f), IAM_AUTH_FAILED);
    assert_int_equal(f.status, 403);
    assert_string_equal(f.code, "AccessDenied");
    assert_string_equal(f.message,
                        "There were headers present in the request which were not signed");
    assert_string_equal(c.headers_not_signed, "x-amz-copy-source");
    iam_caller_free(&c);
    /* anonymous: no signature, no facts */
    req.query = "";
    assert_int_equal(iam_authenticate(m, &req, NULL, true, &c, &f), IAM_AUTH_ANONYMOUS);
    assert_int_equal(c.auth_type, IAM_AUTHTYPE_NONE);
    assert_null(iam_auth_type_name(c.auth_type));
    iam_caller_free(&c);
    free(spoof);
    free(q);
    kvlist_free(&req.headers);
    cl_free_secret(a.secret);
    iam_close(m);
    store_close(st);
}

/* A filtered List* page: MaxItems items taken, the next one marks it truncated;
 * the Marker is the last item taken. */
static void test_page_take(void **state) {
    (void)state;
    iam_page pg = {2, false, NULL};
    assert_true(iam_page_take(&pg, "alice"));
    assert_true(iam_page_take(&pg, "bob"));
    assert_false(pg.more);
    assert_false(iam_page_take(&pg, "carol"));
    assert_true(pg.more);
    assert_string_equal(pg.last, "bob");
    free(pg.last);
    iam_page one = {1, false, NULL};
    assert_true(iam_page_take(&one, "only"));
    assert_false(one.more); /* the list ended: not truncated */
    assert_string_equal(one.last, "only");
    free(one.last);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_take),
        cmocka_unit_test(test_bootstrap_once),
        cmocka_unit_test(test_gc_sessions),
        cmocka_unit_test(test_auth_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

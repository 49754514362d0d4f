/* test_apps.c — src/tasks bundle.c: the canonical bundle is byte-identical for
 * the same folder (whatever the mtimes), differs for a changed byte, name or
 * exec bit; symlinks and fifos are refused; the server-side check accepts
 * packed bundles and refuses altered ones; app names; manifest validation; the
 * measurement's known answer (docs/apps.md) and the address's determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tasks/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static char root[64];

static void put(const char *rel, const char *text, mode_t mode) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
}

static int setup(void **st) {
    (void)st;
    snprintf(root, sizeof root, "/tmp/cl-apps-XXXXXX");
    assert_non_null(mkdtemp(root));
    char p[256];
    snprintf(p, sizeof p, "%s/src", root);
    mkdir(p, 0700);
    put("run", "#!/bin/sh\necho hi\n", 0755);
    put("src/app.js", "console.log(1)\n", 0600);
    put("src/b-c.txt", "x", 0644);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd);
}

static cl_buf pack(cl_err want) {
    cl_buf b = {0};
    char err[256] = "";
    assert_int_equal(tasks_bundle_pack(root, TASKS_BUNDLE_MAX, &b, err, sizeof err), want);
    if (want == CL_OK) assert_int_equal(tasks_bundle_check(buf_slice(&b), err, sizeof err), CL_OK);
    return b;
}

static void measure(const cl_buf *b, uint8_t m[TASKS_MEASUREMENT_LEN]) {
    tasks_app_measure(buf_slice(b), "/app/run", "{}", m);
}

static void test_deterministic_and_sensitive(void **st) {
    (void)st;
    cl_buf a = pack(CL_OK);
    /* the layout: sorted paths, dirs with a slash, ustar magic, mode by exec bit */
    assert_string_equal((const char *)a.ptr, "run");
    assert_memory_equal(a.ptr + 100, "0000755", 7);
    assert_memory_equal(a.ptr + 257,
                        "ustar\0"
                        "00",
                        8);
    char p[256];
    snprintf(p, sizeof p, "%s/run", root);
    struct utimbuf t = {1, 1};
    utime(p, &t);
    cl_buf b = pack(CL_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    uint8_t m0[TASKS_MEASUREMENT_LEN], m1[TASKS_MEASUREMENT_LEN];
    measure(&a, m0);
    put("src/app.js", "console.log(2)\n", 0600); /* one byte */
    cl_buf c = pack(CL_OK);
    measure(&c, m1);
    assert_memory_not_equal(m0, m1, sizeof m0);
    put("src/app.js", "console.log(1)\n", 0700); /* exec bit only */
    cl_buf d = pack(CL_OK);
    assert_memory_not_equal(a.ptr, d.ptr, a.len);
    chmod(p, 0755);
    put("src/app.js", "console.log(1)\n", 0600);
    cl_buf e = pack(CL_OK);
    assert_memory_equal(a.ptr, e.ptr, a.len); /* back to the same bytes */
    char q[256];
    snprintf(q, sizeof q, "%s/src/b-d.txt", root); /* a name */
    snprintf(p, sizeof p, "%s/src/b-c.txt", root);
    rename(p, q);
    cl_buf f = pack(CL_OK);
    assert_memory_not_equal(a.ptr, f.ptr, a.len);
    rename(q, p);
    /* entrypoint and manifest are measured too */
    uint8_t m2[TASKS_MEASUREMENT_LEN], m3[TASKS_MEASUREMENT_LEN];
    tasks_app_measure(buf_slice(&a), "/app/run2", "{}", m2);
    tasks_app_measure(buf_slice(&a), "/app/run", "{\"network\":true}", m3);
    assert_memory_not_equal(m0, m2, sizeof m0);
    assert_memory_not_equal(m0, m3, sizeof m0);
    cl_buf *all[] = {&a, &b, &c, &d, &e, &f};
    for (size_t i = 0; i < 6; i++)
        buf_free(all[i]);
}

static void test_refused_entries(void **st) {
    (void)st;
    char p[256];
    snprintf(p, sizeof p, "%s/link", root);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    cl_buf b = pack(CL_ERR_INVALID);
    buf_free(&b);
    unlink(p);
    snprintf(p, sizeof p, "%s/src/fifo", root);
    assert_int_equal(mkfifo(p, 0600), 0);
    b = pack(CL_ERR_INVALID);
    buf_free(&b);
    unlink(p);
    cl_buf small = {0};
    char err[256];
    assert_int_equal(tasks_bundle_pack(root, 1024, &small, err, sizeof err), CL_ERR_TOO_LARGE);
    buf_free(&small);
}

static void test_check_refuses_altered(void **st) {
    (void)st;
    cl_buf a = pack(CL_OK);
    char err[256];
    a.ptr[136 + 10] = '1'; /* mtime */
    assert_int_equal(tasks_bundle_check(buf_slice(&a), err, sizeof err), CL_ERR_INVALID);
    a.ptr[136 + 10] = '0';
    assert_int_equal(tasks_bundle_check(buf_slice(&a), err, sizeof err), CL_OK);
    assert_int_equal(tasks_bundle_check(slice_of(a.ptr, a.len - 512), err, sizeof err),
                     CL_ERR_INVALID); /* one end block */
    buf_append(&a, a.ptr, 512);       /* data after the end */
    assert_int_equal(tasks_bundle_check(buf_slice(&a), err, sizeof err), CL_ERR_INVALID);
    uint8_t zero[1024] = {0};
    assert_int_equal(tasks_bundle_check(slice_of(zero, sizeof zero), err, sizeof err), CL_OK);
    assert_int_equal(tasks_bundle_check(slice_of(zero, 512), err, sizeof err), CL_ERR_INVALID);
    buf_free(&a);
}

static void test_names_manifest_address(void **st) {
    (void)st;
    assert_true(tasks_app_name_valid("my_app-1"));
    char long64[65];
    memset(long64, 'a', 64);
    long64[64] = 0;
    assert_true(tasks_app_name_valid(long64));
    const char *bad[] = {"", "a/b", "a.b", "a b", "ü", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_false(tasks_app_name_valid(bad[i]));
    char long65[66];
    memset(long65, 'a', 65);
    long65[65] = 0;
    assert_false(tasks_app_name_valid(long65));
    char err[200];
    char *m = tasks_manifest_canonical(NULL, err, sizeof err);
    assert_string_equal(m, "{}");
    free(m);
    m = tasks_manifest_canonical("{ \"network\" : false }", err, sizeof err);
    assert_string_equal(m, "{\"network\":false}");
    free(m);
    assert_null(tasks_manifest_canonical("{\"gpu\":1}", err, sizeof err));
    assert_null(tasks_manifest_canonical("{\"network\":1}", err, sizeof err));
    assert_null(tasks_manifest_canonical("[]", err, sizeof err));
    uint8_t a1[20], a2[20], a3[20];
    tasks_app_address("000000000001", "app", a1);
    tasks_app_address("000000000001", "app", a2);
    tasks_app_address("000000000002", "app", a3);
    assert_memory_equal(a1, a2, 20);
    assert_memory_not_equal(a1, a3, 20);
}

/* "public_outputs": relative paths in /iexec_out, kept in the canonical text. */
static void test_manifest_public_outputs(void **st) {
    (void)st;
    char err[400];
    char *m = tasks_manifest_canonical(
        "{\"public_outputs\": [\"proofs.zip\", \"a/b.json\"], \"memory_mb\": 2048}", err,
        sizeof err);
    assert_non_null(m);
    assert_string_equal(m, "{\"memory_mb\":2048,\"public_outputs\":[\"proofs.zip\",\"a/b.json\"]}");
    json_t *p = tasks_manifest_public_outputs(m);
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "proofs.zip");
    json_decref(p);
    free(m);
    assert_null(tasks_manifest_public_outputs("{}"));
    assert_null(tasks_manifest_public_outputs(NULL));
    m = tasks_manifest_canonical("{\"public_outputs\":[]}", err, sizeof err);
    assert_string_equal(m, "{\"public_outputs\":[]}");
    p = tasks_manifest_public_outputs(m);
    assert_int_equal(json_array_size(p), 0);
    json_decref(p);
    free(m);
    /* 16 paths of 255 bytes: the most there may be */
    char name[256];
    memset(name, 'x', 255);
    name[255] = 0;
    json_t *arr = json_array();
    for (int i = 0; i < 16; i++)
        json_array_append_new(arr, json_string(name));
    json_t *doc = json_pack("{s:O}", "public_outputs", arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    m = tasks_manifest_canonical(text, err, sizeof err);
    assert_non_null(m);
    free(m);
    free(text);
    json_array_append_new(arr, json_string("one-more")); /* 17 */
    text = json_dumps(doc, JSON_COMPACT);
    assert_null(tasks_manifest_canonical(text, err, sizeof err));
    assert_non_null(strstr(err, "public_outputs"));
    free(text);
    json_decref(doc);
    json_decref(arr);
    char long256[300];
    snprintf(long256, sizeof long256, "{\"public_outputs\":[\"%sy\"]}", name);
    assert_null(tasks_manifest_canonical(long256, err, sizeof err));
    const char *bad[] = {
        "{\"public_outputs\":\"proofs.zip\"}", "{\"public_outputs\":[1]}",
        "{\"public_outputs\":[\"\"]}",         "{\"public_outputs\":[\"/iexec_out/proofs.zip\"]}",
        "{\"public_outputs\":[\"../x\"]}",     "{\"public_outputs\":[\"a/../b\"]}",
        "{\"public_outputs\":[\"a//b\"]}",     "{\"public_outputs\":[\"a/\"]}",
        "{\"public_outputs\":[\"./a\"]}",      "{\"public_outputs\":[\"a\\u0000b\"]}",
        "{\"public_outputs\":{\"a\":1}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(tasks_manifest_canonical(bad[i], err, sizeof err));
}

/* docs/apps.md: the measurement of the empty bundle (two zero blocks) with
 * entrypoint "/app/run" and manifest {} (computed independently with Python's
 * hashlib). */
static void test_measurement_known_answer(void **st) {
    (void)st;
    uint8_t zero[1024] = {0}, m[TASKS_MEASUREMENT_LEN];
    tasks_app_measure(slice_of(zero, sizeof zero), "/app/run", "{}", m);
    char hex[2 * TASKS_MEASUREMENT_LEN + 1];
    hex_encode_to(hex, m, sizeof m);
    assert_string_equal(hex,
                        "c5035ac350ca9efd1928f1c8e68e58dc702dc298af65c8546698e1efbb7ed4fac4bdcb3"
                        "f6b37ecb2c9eb2eb8493fbfaf");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deterministic_and_sensitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_refuses_altered, setup, teardown),
        cmocka_unit_test(test_manifest_public_outputs),
        cmocka_unit_test(test_names_manifest_address),
        cmocka_unit_test(test_measurement_known_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_computed.c — iExec results (src/tasks/computed.c): computed.json parsing
 * and the result digest of a file, a folder (Java's UTF-16 name order,
 * subdirectories adding nothing, the empty folder, /iexec_out itself) and
 * callback-data; and every refusal: computed.json missing, a directory, a
 * symlink, malformed, over 64 KiB; paths outside /iexec_out, with "..",
 * through a symlink (final component, directory component, entry of a result
 * folder), missing, a fifo; bad callback-data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "tasks/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **st) {
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/cl-computed-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    char *cmd = cl_sprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0) return -1;
    return mkdir(dir, 0700); /* empty again for the next test */
}

static int teardown_last(void **st) {
    (void)st;
    char *cmd = cl_sprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void put(const char *rel, const char *content) {
    char *p = cl_sprintf("%s/%s", dir, rel);
    assert_int_equal(file_write_atomic(p, slice_cstr(content), 0644), CL_OK);
    free(p);
}

static void mkd(const char *rel) {
    char *p = cl_sprintf("%s/%s", dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void lnk(const char *target, const char *rel) {
    char *p = cl_sprintf("%s/%s", dir, rel);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

/* "0x" + keccak256 of the concatenated SHA-256 of the given contents. */
static void tree_hex(const char *const *contents, size_t n, char out[67]) {
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        crypto_sha256(slice_cstr(contents[i]), h);
        crypto_keccak256_update(&c, slice_of(h, 32));
    }
    uint8_t d[32];
    crypto_keccak256_final(&c, d);
    out[0] = '0', out[1] = 'x';
    hex_encode_to(out + 2, d, 32);
}

static void expect_ok(const char *digest, const char *det) {
    tasks_result r;
    char err[256] = "";
    cl_err e = tasks_result_compute(dir, &r, err, sizeof err);
    if (e != CL_OK) fail_msg("unexpected refusal: %s", err);
    assert_string_equal(r.digest, digest);
    if (det)
        assert_string_equal(r.det_path, det);
    else
        assert_null(r.det_path);
    tasks_result_free(&r);
}

static void expect_refused(const char *why) {
    tasks_result r;
    char err[256] = "";
    assert_int_equal(tasks_result_compute(dir, &r, err, sizeof err), CL_ERR_INVALID);
    if (!strstr(err, why)) fail_msg("err \"%s\" does not say \"%s\"", err, why);
    assert_null(r.det_path);
    tasks_result_free(&r);
}

/* ---- digests ---- */

static void test_file(void **st) {
    (void)st;
    put("result.txt", "{\"x\":2,\"result\":15}");
    put("computed.json", "{\"deterministic-output-path\": \"/iexec_out/result.txt\"}");
    /* sha256sum of the seed app's result.txt */
    expect_ok("0x387afc7a9dd6cf26c18fbf92ff5e9b48e41f08fe8d01dbb4f597c2753f07b793",
              "/iexec_out/result.txt");
}

static void test_folder(void **st) {
    (void)st;
    mkd("res");
    put("res/b", "bee");
    put("res/a", "ay");
    put("res/B", "big bee");
    mkd("res/sub"); /* a subdirectory adds nothing (iExec: readAllBytes fails -> "") */
    put("res/sub/x", "ignored");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/res/\"}");
    const char *order[] = {"big bee", "ay", "bee"}; /* "B" < "a" < "b" */
    char want[67];
    tree_hex(order, 3, want);
    /* the same from ethers 6 (keccak256(concat(sha256 of each))), independently */
    assert_string_equal(want, "0x55f2ac552e4b0370bb11a8e6a596c4e262b3d4719baeffbf9813348e05753750");
    expect_ok(want, "/iexec_out/res/");
}

/* Java sorts Files by UTF-16 code units: U+1F600 (surrogates D83D DE00) comes
 * before U+FB01, although its UTF-8 (F0 ...) sorts after U+FB01's (EF ...). */
static void test_folder_utf16_order(void **st) {
    (void)st;
    mkd("res");
    put("res/\xef\xac\x81", "ligature");
    put("res/\xf0\x9f\x98\x80", "emoji");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/res\"}");
    const char *order[] = {"emoji", "ligature"};
    char want[67];
    tree_hex(order, 2, want);
    assert_string_equal(want, "0x8fe4691fbabc1a2a6d48e5be80234771b41dd7e9c23f7473a6be5296af463641");
    expect_ok(want, "/iexec_out/res");
}

static void test_empty_folder(void **st) {
    (void)st;
    mkd("empty");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/empty\"}");
    expect_ok("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
              "/iexec_out/empty");
}

static void test_whole_out(void **st) {
    (void)st;
    const char *cj = "{\"deterministic-output-path\":\"/iexec_out\"}";
    put("computed.json", cj);
    put("result.txt", "r");
    const char *order[] = {cj, "r"}; /* computed.json is an entry like any other */
    char want[67];
    tree_hex(order, 2, want);
    expect_ok(want, "/iexec_out");
}

static void test_callback(void **st) {
    (void)st;
    put("computed.json", "{\"callback-data\":\"0x01020304aBcD\"}");
    uint8_t raw[] = {1, 2, 3, 4, 0xab, 0xcd}, d[32];
    crypto_keccak256(slice_of(raw, sizeof raw), d);
    char want[67] = "0x";
    hex_encode_to(want + 2, d, 32);
    assert_string_equal(want, "0xaeb10daff85e8b1d1b2458163a53d81d92ef3889e012dbb6b81b1d392f5d9bd5");
    tasks_result r;
    char err[256];
    assert_int_equal(tasks_result_compute(dir, &r, err, sizeof err), CL_OK);
    assert_string_equal(r.digest, want);
    assert_true(r.callback);
    assert_null(r.det_path);
    tasks_result_free(&r);
    /* with a det path too: the callback decides, the path must still resolve */
    put("result.txt", "x");
    put("computed.json", "{\"callback-data\":\"0x01020304abcd\","
                         "\"deterministic-output-path\":\"/iexec_out/result.txt\"}");
    expect_ok(want, "/iexec_out/result.txt");
    put("computed.json", "{\"callback-data\":\"0x01020304abcd\","
                         "\"deterministic-output-path\":\"/iexec_out/nosuch\"}");
    expect_refused("does not exist");
}

/* ---- refusals ---- */

static void test_missing(void **st) {
    (void)st;
    put("result.txt", "x");
    expect_refused("computed.json is missing from /iexec_out");
}

static void test_computed_not_regular(void **st) {
    (void)st;
    mkd("computed.json");
    expect_refused("computed.json is not a regular file");
}

static void test_computed_symlink(void **st) {
    (void)st;
    put("real.json", "{\"deterministic-output-path\":\"/iexec_out/real.json\"}");
    lnk("real.json", "computed.json");
    expect_refused("computed.json is a symbolic link");
}

static void test_malformed(void **st) {
    (void)st;
    const char *bad[][2] = {
        {"{\"deterministic-output-path\": ", "not a JSON object"},
        {"[\"/iexec_out/x\"]", "not a JSON object"},
        {"{}", "\"deterministic-output-path\" is missing"},
        {"{\"deterministic-output-path\": 7}", "is not a string"},
        {"{\"deterministic-output-path\":\"/iexec_out/a\",\"deterministic-output-path\":\"/b\"}",
         "not a JSON object"},
        {"{\"deterministic-output-path\":\"/iexec_out/a\\u0000b\"}", "not a JSON object"},
        {"{\"callback-data\":\"0x123\"}", "callback-data"},
        {"{\"callback-data\":\"0x\"}", "callback-data"},
        {"{\"callback-data\":\"1234\"}", "callback-data"},
        {"{\"callback-data\":\"0xzz\"}", "callback-data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put("computed.json", bad[i][0]);
        expect_refused(bad[i][1]);
    }
}

static void test_too_big(void **st) {
    (void)st;
    size_t n = TASKS_COMPUTED_MAX + 10;
    char *big = cl_malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"deterministic-output-path\":\"/iexec_out\"}",
           strlen("{\"deterministic-output-path\":\"/iexec_out\"}"));
    big[n] = 0;
    put("computed.json", big);
    free(big);
    expect_refused("larger than 65536 bytes");
}

static void test_outside(void **st) {
    (void)st;
    const char *paths[] = {
        "/etc/passwd",
        "/iexec_outx/result.txt",
        "iexec_out/result.txt",
        "/iexec_out/../etc/passwd",
        "/iexec_out/a/../../x",
        "/iexec_in/file",
        "",
    };
    mkd("a");
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *cj = cl_sprintf("{\"deterministic-output-path\":\"%s\"}", paths[i]);
        put("computed.json", cj);
        free(cj);
        expect_refused("must be /iexec_out or a path under it");
    }
}

static void test_symlink_escapes(void **st) {
    (void)st;
    /* the final component */
    lnk("/etc/passwd", "result.txt");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/result.txt\"}");
    expect_refused("symbolic link");
    /* a directory on the way */
    lnk("/etc", "d");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/d/passwd\"}");
    expect_refused("symbolic link");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/d\"}");
    expect_refused("symbolic link");
    /* a link among the entries of a result folder, even one pointing inside */
    mkd("res");
    put("res/ok", "ok");
    lnk("/etc/passwd", "res/leak");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/res\"}");
    expect_refused("res/leak is a symbolic link");
    mkd("res2");
    put("res2/ok", "ok");
    lnk("ok", "res2/inside");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/res2\"}");
    expect_refused("res2/inside is a symbolic link");
}

static void test_missing_and_special(void **st) {
    (void)st;
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/nosuch.txt\"}");
    expect_refused("/iexec_out/nosuch.txt does not exist");
    put("file", "x");
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/file/below\"}");
    expect_refused("does not exist");
    char *fifo = cl_sprintf("%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    free(fifo);
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/pipe\"}");
    expect_refused("not a regular file or directory");
    mkd("res");
    fifo = cl_sprintf("%s/res/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    free(fifo);
    put("computed.json", "{\"deterministic-output-path\":\"/iexec_out/res\"}");
    expect_refused("not a regular file or directory");
}

static void test_parse(void **st) {
    (void)st;
    char *det = NULL, *cb = NULL, err[200];
    assert_int_equal(tasks_computed_parse(slice_cstr("{\"deterministic-output-path\":"
                                                     "\"/iexec_out/r\",\"task-id\":\"0x1\"}"),
                                          &det, &cb, err, sizeof err),
                     CL_OK);
    assert_string_equal(det, "/iexec_out/r");
    assert_null(cb);
    free(det);
    assert_int_equal(tasks_computed_parse(slice_cstr("{\"callback-data\":\"0xAA\","
                                                     "\"deterministic-output-path\":null}"),
                                          &det, &cb, err, sizeof err),
                     CL_OK);
    assert_null(det);
    assert_string_equal(cb, "0xAA");
    free(cb);
    assert_int_equal(tasks_computed_parse(CL_SLICE_NULL, &det, &cb, err, sizeof err),
                     CL_ERR_INVALID);
    assert_null(det);
    assert_null(cb);
    tasks_result_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_file, teardown),
        cmocka_unit_test_teardown(test_folder, teardown),
        cmocka_unit_test_teardown(test_folder_utf16_order, teardown),
        cmocka_unit_test_teardown(test_empty_folder, teardown),
        cmocka_unit_test_teardown(test_whole_out, teardown),
        cmocka_unit_test_teardown(test_callback, teardown),
        cmocka_unit_test_teardown(test_missing, teardown),
        cmocka_unit_test_teardown(test_computed_not_regular, teardown),
        cmocka_unit_test_teardown(test_computed_symlink, teardown),
        cmocka_unit_test_teardown(test_malformed, teardown),
        cmocka_unit_test_teardown(test_too_big, teardown),
        cmocka_unit_test_teardown(test_outside, teardown),
        cmocka_unit_test_teardown(test_symlink_escapes, teardown),
        cmocka_unit_test_teardown(test_missing_and_special, teardown),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown_last);
}

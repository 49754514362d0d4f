/* test_runs.c — the pieces of src/tasks' run engine that need no sandbox:
 * unpacking a bundle gives back the packed tree byte for byte (contents, exec
 * bits, nested dirs) and refuses anything that is not canonical; a non-empty
 * target is refused; the manifest's run limits are parsed and bounded; the
 * control channel's frames round-trip and reject bad lengths. The sandboxed
 * runs themselves are tested end to end (tests/e2e/test_runs*.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tasks/run_internal.h"

#include "crypto/crypto.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char src[64], dst[64];

static void put(const char *dir, const char *rel, const char *text, mode_t mode) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **st) {
    (void)st;
    snprintf(src, sizeof src, "/tmp/cl-runs-src-XXXXXX");
    snprintf(dst, sizeof dst, "/tmp/cl-runs-dst-XXXXXX");
    assert_non_null(mkdtemp(src));
    assert_non_null(mkdtemp(dst));
    char p[256];
    snprintf(p, sizeof p, "%s/lib", src);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/lib/deep", src);
    mkdir(p, 0700);
    put(src, "run", "#!/bin/sh\necho hi\n", 0755);
    put(src, "lib/deep/data.txt", "payload", 0600);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    nftw(src, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    nftw(dst, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void test_unpack_round_trip(void **st) {
    (void)st;
    cl_buf a = CL_BUF_INIT, b = CL_BUF_INIT;
    char err[256];
    assert_int_equal(tasks_bundle_pack(src, 1 << 20, &a, err, sizeof err), CL_OK);
    assert_int_equal(tasks_bundle_unpack(buf_slice(&a), dst, err, sizeof err), CL_OK);
    struct stat s;
    char p[256];
    snprintf(p, sizeof p, "%s/run", dst);
    assert_int_equal(stat(p, &s), 0);
    assert_true(s.st_mode & S_IXUSR);
    snprintf(p, sizeof p, "%s/lib/deep/data.txt", dst);
    assert_int_equal(stat(p, &s), 0);
    assert_false(s.st_mode & S_IXUSR);
    assert_int_equal(tasks_bundle_pack(dst, 1 << 20, &b, err, sizeof err), CL_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* unpacking again into the same (now full) dir fails: files are created exclusively */
    assert_int_not_equal(tasks_bundle_unpack(buf_slice(&a), dst, err, sizeof err), CL_OK);
    buf_free(&a);
    buf_free(&b);
}

static void test_unpack_refuses_non_canonical(void **st) {
    (void)st;
    cl_buf a = CL_BUF_INIT;
    char err[256];
    assert_int_equal(tasks_bundle_pack(src, 1 << 20, &a, err, sizeof err), CL_OK);
    ((uint8_t *)a.ptr)[0] = '/'; /* an absolute path */
    assert_int_equal(tasks_bundle_unpack(buf_slice(&a), dst, err, sizeof err), CL_ERR_INVALID);
    memcpy(a.ptr, "../x", 4);
    assert_int_equal(tasks_bundle_unpack(buf_slice(&a), dst, err, sizeof err), CL_ERR_INVALID);
    assert_int_equal(tasks_bundle_unpack(slice_of("short", 5), dst, err, sizeof err),
                     CL_ERR_INVALID);
    buf_free(&a);
}

static void test_manifest_limits(void **st) {
    (void)st;
    char err[256];
    char *m = tasks_manifest_canonical("{\"pids\":32,\"memory_mb\":64,\"timeout_seconds\":5,"
                                       "\"network\":true}",
                                       err, sizeof err);
    assert_non_null(m);
    tasks_manifest_limits l;
    tasks_manifest_limits_of(m, &l);
    assert_true(l.network);
    assert_int_equal(l.pids, 32);
    assert_int_equal(l.memory_mb, 64);
    assert_int_equal(l.timeout_seconds, 5);
    free(m);
    tasks_manifest_limits_of("{}", &l);
    assert_false(l.network);
    assert_int_equal(l.pids + l.memory_mb + l.timeout_seconds, 0);
    const char *bad[] = {"{\"pids\":1}",
                         "{\"pids\":\"8\"}",
                         "{\"memory_mb\":1000000}",
                         "{\"timeout_seconds\":0}",
                         "{\"timeout_seconds\":1.5}",
                         "{\"cpu\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(tasks_manifest_canonical(bad[i], err, sizeof err));
}

static void test_frames(void **st) {
    (void)st;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    json_t *j = json_pack("{s:s, s:i}", "public_key", "abc", "n", 7), *got = NULL;
    assert_int_equal(run_frame_write_json(sv[0], j), CL_OK);
    assert_int_equal(run_frame_read_json(sv[1], 1000, &got), CL_OK);
    assert_true(json_equal(j, got));
    json_decref(got);
    /* a zero length, an oversized length, a non-object, a timeout, EOF */
    uint8_t zero[4] = {0, 0, 0, 0}, huge[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(write(sv[0], zero, 4), 4);
    assert_int_equal(run_frame_read_json(sv[1], 1000, &got), CL_ERR_INVALID);
    assert_int_equal(write(sv[0], huge, 4), 4);
    assert_int_equal(run_frame_read_json(sv[1], 1000, &got), CL_ERR_INVALID);
    uint8_t arr[6] = {0, 0, 0, 2, '[', ']'};
    assert_int_equal(write(sv[0], arr, 6), 6);
    assert_int_equal(run_frame_read_json(sv[1], 1000, &got), CL_ERR_INVALID);
    assert_int_equal(run_frame_read_json(sv[1], 50, &got), CL_ERR_EXPIRED);
    close(sv[0]);
    assert_int_equal(run_frame_read_json(sv[1], 1000, &got), CL_ERR_NOT_FOUND);
    close(sv[1]);
    json_decref(j);
}

/* The receipt's "outputs": top-level files one by one, a folder as one digest
 * over "REL\tSHA256\n" lines of its files, sorted; a changed byte changes it. */
static void test_outputs_digest(void **state) {
    (void)state;
    char p[256], a[65], x[65], z[65], want[65];
    mkdir(src, 0700);
    snprintf(p, sizeof p, "%s/sub", src);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sub/y", src);
    mkdir(p, 0700);
    put(src, "a.txt", "A", 0644);
    put(src, "sub/x", "X", 0644);
    put(src, "sub/y/z", "Z", 0644);
    crypto_sha256_hex(slice_cstr("A"), a);
    crypto_sha256_hex(slice_cstr("X"), x);
    crypto_sha256_hex(slice_cstr("Z"), z);
    char *lines = cl_sprintf("sub/x\t%s\nsub/y/z\t%s\n", x, z);
    crypto_sha256_hex(slice_cstr(lines), want);
    free(lines);
    json_t *o = tasks_outputs_digest(src);
    assert_non_null(o);
    size_t n = json_array_size(o);
    json_t *f = NULL, *d = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *path = json_string_value(json_object_get(json_array_get(o, i), "path"));
        if (strcmp(path, "a.txt") == 0) f = json_array_get(o, i);
        if (strcmp(path, "sub/") == 0) d = json_array_get(o, i);
    }
    assert_non_null(f);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(f, "sha256")), a);
    assert_string_equal(json_string_value(json_object_get(d, "sha256")), want);
    assert_int_equal(json_integer_value(json_object_get(d, "files")), 2);
    put(src, "sub/y/z", "z", 0644);
    json_t *o2 = tasks_outputs_digest(src);
    assert_false(json_equal(o, o2));
    json_decref(o);
    json_decref(o2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unpack_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refuses_non_canonical, setup, teardown),
        cmocka_unit_test(test_manifest_limits),
        cmocka_unit_test(test_frames),
        cmocka_unit_test_setup_teardown(test_outputs_digest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

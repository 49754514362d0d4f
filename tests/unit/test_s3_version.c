/* test_s3_version.c — the naming of object versions (s3_version.c): one range
 * scan of the store, in its byte order, gives keys in key order (keys holding
 * the bytes 0x01 and 0x02 around the separator too) and each key's versions
 * newest first; item names give their key back; prefixes and "after this key"
 * names bound scans exactly; version ids are validated ("null" or 32
 * characters of the id alphabet). */
#include "s3/s3_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    char *keys[64], *vids[64];
    size_t n;
} seen;

static bool collect(void *arg, const char *name, const char *text) {
    seen *s = arg;
    json_t *d = json_loads(text, 0, NULL);
    s->keys[s->n] = s3_ver_key_of(name);
    s->vids[s->n] = cl_strdup(json_string_value(json_object_get(d, "VersionId")));
    s->n++;
    json_decref(d);
    return s->n < 64;
}

static void seen_free(seen *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->vids[i]);
    }
    s->n = 0;
}

static void test_scan_order(void **state) {
    (void)state;
    char dir[] = "/tmp/cl-ver-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *url = cl_sprintf("sqlite:%s/meta.db", dir);
    store *st = NULL;
    assert_int_equal(store_open(url, &st), CL_OK);
    json_t *bucket = json_pack("{s:s}", "Versioning", "Enabled");
    /* keys in byte order: the escaping and separator must keep it */
    const char *keys[] = {"x", "x\x01", "x\x01\x01", "x\x01y", "x\x02", "x y", "xa"};
    size_t nk = sizeof keys / sizeof keys[0];
    char *ids[8][2];
    for (int round = 0; round < 2; round++)
        for (size_t i = nk; i-- > 0;) { /* written in reverse key order */
            json_t *doc = json_pack("{s:s}", "ETag", "\"e\""), *old = NULL;
            assert_int_equal(s3_ver_put_txn(st, bucket, "B1", keys[i], doc, &old), CL_OK);
            assert_null(old);
            ids[i][round] = cl_strdup(json_string_value(json_object_get(doc, "VersionId")));
            assert_true(s3_ver_id_valid(ids[i][round]));
            assert_int_equal(strlen(ids[i][round]), 32);
            json_decref(doc);
        }
    seen s = {0};
    assert_int_equal(store_list(st, "objver", "B1", NULL, NULL, 0, collect, &s, NULL), CL_OK);
    assert_int_equal(s.n, 2 * nk);
    for (size_t i = 0; i < nk; i++) {
        assert_string_equal(s.keys[2 * i], keys[i]);
        assert_string_equal(s.keys[2 * i + 1], keys[i]);
        assert_string_equal(s.vids[2 * i], ids[i][1]); /* newest first */
        assert_string_equal(s.vids[2 * i + 1], ids[i][0]);
    }
    seen_free(&s);
    /* a key prefix selects exactly the keys that start with it */
    char *pre = s3_ver_prefix("x\x01");
    assert_int_equal(store_list(st, "objver", "B1", pre, NULL, 0, collect, &s, NULL), CL_OK);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.keys[5], "x\x01y");
    seen_free(&s);
    free(pre);
    /* after every version of "x\x01": its longer keys follow */
    char *after = s3_ver_after_key("x\x01");
    assert_int_equal(store_list(st, "objver", "B1", NULL, after, 0, collect, &s, NULL), CL_OK);
    assert_int_equal(s.n, 2 * (nk - 2));
    assert_string_equal(s.keys[0], "x\x01\x01");
    seen_free(&s);
    free(after);
    /* found by id, and the newest */
    json_t *d = NULL;
    assert_int_equal(s3_ver_find(st, bucket, "B1", "x y", ids[5][0], &d, NULL), CL_OK);
    json_decref(d);
    assert_int_equal(s3_ver_find(st, bucket, "B1", "x", ids[5][0], &d, NULL), CL_ERR_NOT_FOUND);
    assert_int_equal(s3_ver_latest(st, "B1", "xa", &d), CL_OK);
    assert_string_equal(json_string_value(json_object_get(d, "VersionId")), ids[6][1]);
    json_decref(d);
    for (size_t i = 0; i < nk; i++) {
        free(ids[i][0]);
        free(ids[i][1]);
    }
    json_decref(bucket);
    store_close(st);
    char *rm = cl_sprintf("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    free(rm);
    free(url);
}

static void test_version_ids(void **state) {
    (void)state;
    assert_true(s3_ver_id_valid("null"));
    assert_true(s3_ver_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_true(s3_ver_id_valid("Pzzzzzzzzzz._0123456789abcdefghi"));
    assert_false(s3_ver_id_valid(""));
    assert_false(s3_ver_id_valid("Null"));
    assert_false(s3_ver_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));   /* 31 */
    assert_false(s3_ver_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 33 */
    assert_false(s3_ver_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-A"));  /* not the alphabet */
    assert_false(s3_ver_id_valid("zAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));  /* > 64-bit sequence */
    assert_null(s3_ver_key_of("short"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_order),
        cmocka_unit_test(test_version_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

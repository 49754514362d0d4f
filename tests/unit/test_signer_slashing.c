/* test_signer_slashing.c — slashing protection (src/signer/slashing.c,
 * interchange.c): the EIP-3076 interchange conformance suite in
 * $CLOISTER_VECTORS/eip3076-interchange/, the rules one by one, pruning, the
 * high watermark, export/import round trips, malformed interchanges, and
 * concurrent conflicting requests. Each test uses its own SQLite store in a
 * temporary directory. */
#include "signer/signer.h"
#include "signer/slashing_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    store *st;
    signer_slashing *sp;
} fixture;

/* the *_keyed tests: each check its own keyed transaction (as on PostgreSQL) */
static bool g_keyed;

static void fx_open(fixture *f, const signer_slashing_opts *o) {
    snprintf(f->dir, sizeof f->dir, "/tmp/cl_slashing_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char *url = cl_sprintf("sqlite:%s/signer.db", f->dir);
    assert_int_equal(store_open(url, &f->st), CL_OK);
    free(url);
    signer_slashing_opts oo = o ? *o : (signer_slashing_opts){0};
    oo.keyed_checks = g_keyed;
    assert_int_equal(signer_slashing_open(f->st, &oo, &f->sp), CL_OK);
}

static void fx_close(fixture *f) {
    signer_slashing_close(f->sp);
    store_close(f->st);
    const char *files[] = {"signer.db", "signer.db-wal", "signer.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = cl_sprintf("%s/%s", f->dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
}

static const uint8_t GVR[32] = {1, 2, 3};
static const uint8_t GVR2[32] = {9, 9, 9};

static void pk_of(uint8_t pk[48], unsigned i) {
    memset(pk, 0, 48);
    pk[0] = 0xa0;
    pk[46] = (uint8_t)(i >> 8);
    pk[47] = (uint8_t)i;
}

static void root_of(uint8_t r[32], unsigned i) {
    memset(r, 0, 32);
    r[30] = (uint8_t)(i >> 8);
    r[31] = (uint8_t)i;
}

static cl_err blk(fixture *f, unsigned v, uint64_t slot, unsigned r) {
    uint8_t pk[48], root[32];
    char why[256];
    pk_of(pk, v);
    root_of(root, r);
    return signer_slashing_check_block(f->sp, pk, GVR, slot, root, why, sizeof why);
}

static cl_err att(fixture *f, unsigned v, uint64_t s, uint64_t t, unsigned r) {
    uint8_t pk[48], root[32];
    char why[256];
    pk_of(pk, v);
    root_of(root, r);
    return signer_slashing_check_attestation(f->sp, pk, GVR, s, t, root, why, sizeof why);
}

static cl_err import_str(fixture *f, const char *s, char *err, size_t errlen) {
    return signer_slashing_import(f->sp, slice_cstr(s), err, errlen);
}

/* ---------- the EIP-3076 conformance suite ---------- */

static bool hex_arg(json_t *o, const char *key, uint8_t *out, size_t n) {
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) != 2 + 2 * n) return false;
    cl_buf b = CL_BUF_INIT;
    bool ok = hex_decode(&b, slice_cstr(s + 2)) == CL_OK && b.len == n;
    if (ok) memcpy(out, b.ptr, n);
    free(b.ptr);
    return ok;
}

static uint64_t u64_arg(json_t *o, const char *key) {
    uint64_t v = 0;
    assert_int_equal(slice_to_u64(slice_cstr(json_string_value(json_object_get(o, key))), &v),
                     CL_OK);
    return v;
}

/* Returns the number of expectations not met (printed). */
static int run_step(fixture *f, const char *name, size_t si, json_t *step, const uint8_t gvr[32]) {
    int bad = 0;
    char err[512] = "";
    char *ic = json_dumps(json_object_get(step, "interchange"), JSON_COMPACT);
    bool want = json_is_true(json_object_get(step, "should_succeed"));
    cl_err e = import_str(f, ic, err, sizeof err);
    free(ic);
    if ((e == CL_OK) != want) {
        fprintf(stderr, "%s step %zu: import %s (%s)\n", name, si, cl_err_str(e), err);
        bad++;
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(step, "blocks"), i, x) {
        uint8_t pk[48], root[32] = {0};
        char why[256] = "";
        assert_true(hex_arg(x, "pubkey", pk, 48));
        hex_arg(x, "signing_root", root, 32);
        e = signer_slashing_check_block(f->sp, pk, gvr, u64_arg(x, "slot"), root, why, sizeof why);
        if ((e == CL_OK) != json_is_true(json_object_get(x, "should_succeed"))) {
            fprintf(stderr, "%s step %zu block %zu: %s (%s)\n", name, si, i, cl_err_str(e), why);
            bad++;
        }
    }
    json_array_foreach(json_object_get(step, "attestations"), i, x) {
        uint8_t pk[48], root[32] = {0};
        char why[256] = "";
        assert_true(hex_arg(x, "pubkey", pk, 48));
        hex_arg(x, "signing_root", root, 32);
        e = signer_slashing_check_attestation(f->sp, pk, gvr, u64_arg(x, "source_epoch"),
                                              u64_arg(x, "target_epoch"), root, why, sizeof why);
        if ((e == CL_OK) != json_is_true(json_object_get(x, "should_succeed"))) {
            fprintf(stderr, "%s step %zu attestation %zu: %s (%s)\n", name, si, i, cl_err_str(e),
                    why);
            bad++;
        }
    }
    return bad;
}

static int run_file(const char *path) {
    json_error_t je;
    json_t *t = json_load_file(path, 0, &je);
    assert_non_null(t);
    const char *name = json_string_value(json_object_get(t, "name"));
    uint8_t gvr[32];
    assert_true(hex_arg(t, "genesis_validators_root", gvr, 32));
    fixture f;
    fx_open(&f, NULL);
    char err[256];
    /* as Web3Signer's runner: the database is for this network from the start */
    assert_int_equal(signer_slashing_pin_genesis_root(f.sp, gvr, err, sizeof err), CL_OK);
    int bad = 0;
    size_t si;
    json_t *step;
    json_array_foreach(json_object_get(t, "steps"), si, step) bad +=
        run_step(&f, name, si, step, gvr);
    fx_close(&f);
    json_decref(t);
    return bad;
}

static void test_eip3076_suite(void **state) {
    (void)state;
    const char *vd = getenv("CLOISTER_VECTORS");
    char *dir = cl_sprintf("%s/eip3076-interchange", vd ? vd : "../shared/vectors");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0, bad = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
        char *p = cl_sprintf("%s/%s", dir, de->d_name);
        bad += run_file(p);
        free(p);
        files++;
    }
    closedir(d);
    free(dir);
    assert_true(files >= 38);
    assert_int_equal(bad, 0);
}

/* ---------- the rules ---------- */

static void test_blocks(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    assert_int_equal(blk(&f, 1, 100, 1), CL_OK);
    assert_int_equal(blk(&f, 1, 100, 1), CL_OK);         /* identical re-sign */
    assert_int_equal(blk(&f, 1, 100, 2), CL_ERR_DENIED); /* double proposal */
    assert_int_equal(blk(&f, 1, 99, 3), CL_ERR_DENIED);  /* below the low watermark */
    assert_int_equal(blk(&f, 1, 101, 3), CL_OK);
    assert_int_equal(blk(&f, 2, 100, 2), CL_OK); /* another validator */
    fx_close(&f);
}

static void test_attestations(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    assert_int_equal(att(&f, 1, 10, 20, 1), CL_OK);
    assert_int_equal(att(&f, 1, 10, 20, 1), CL_OK);         /* identical re-sign */
    assert_int_equal(att(&f, 1, 10, 20, 2), CL_ERR_DENIED); /* double vote */
    assert_int_equal(att(&f, 1, 11, 20, 2), CL_ERR_DENIED); /* double vote, other source */
    assert_int_equal(att(&f, 1, 12, 11, 3), CL_ERR_DENIED); /* source > target */
    assert_int_equal(att(&f, 1, 15, 30, 4), CL_OK);
    assert_int_equal(att(&f, 1, 16, 29, 5), CL_ERR_DENIED); /* surrounded by 15->30 */
    assert_int_equal(att(&f, 1, 14, 31, 6), CL_ERR_DENIED); /* surrounds 15->30 */
    assert_int_equal(att(&f, 1, 9, 25, 7), CL_ERR_DENIED);  /* below the source watermark */
    assert_int_equal(att(&f, 1, 10, 19, 7), CL_ERR_DENIED); /* below the target watermark */
    assert_int_equal(att(&f, 1, 30, 31, 8), CL_OK);
    assert_int_equal(att(&f, 1, 31, 31, 9), CL_ERR_DENIED); /* double vote */
    assert_int_equal(att(&f, 2, 1, 5, 1), CL_OK);           /* another validator */
    fx_close(&f);
}

static void test_import_watermarks(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    uint8_t pk[48];
    char pkhex[97], gvrhex[65], err[256];
    pk_of(pk, 7);
    hex_encode_to(pkhex, pk, 48);
    hex_encode_to(gvrhex, GVR, 32);
    char *ic = cl_sprintf("{\"metadata\":{\"interchange_format_version\":\"5\","
                          "\"genesis_validators_root\":\"0x%s\"},\"data\":[{\"pubkey\":\"0x%s\","
                          "\"signed_blocks\":[{\"slot\":\"40\"},{\"slot\":\"50\"}],"
                          "\"signed_attestations\":[{\"source_epoch\":\"5\",\"target_epoch\":"
                          "\"10\"},{\"source_epoch\":\"8\",\"target_epoch\":\"12\"}]}]}",
                          gvrhex, pkhex);
    assert_int_equal(import_str(&f, ic, err, sizeof err), CL_OK);
    assert_int_equal(blk(&f, 7, 45, 1), CL_ERR_DENIED);
    assert_int_equal(blk(&f, 7, 50, 1), CL_ERR_DENIED);
    assert_int_equal(blk(&f, 7, 51, 1), CL_OK);
    assert_int_equal(att(&f, 7, 7, 13, 1), CL_ERR_DENIED); /* source < 8 */
    assert_int_equal(att(&f, 7, 8, 12, 1), CL_ERR_DENIED); /* target <= 12 */
    assert_int_equal(att(&f, 7, 8, 13, 1), CL_OK);
    signer_watermark w;
    assert_int_equal(signer_slashing_high_watermark(f.sp, pk, &w), CL_OK);
    assert_true(w.has_block && w.has_attestation);
    assert_int_equal(w.slot, 51);
    assert_int_equal(w.source_epoch, 8);
    assert_int_equal(w.target_epoch, 13);
    /* import is idempotent and watermarks only move up */
    assert_int_equal(import_str(&f, ic, err, sizeof err), CL_OK);
    assert_int_equal(blk(&f, 7, 52, 1), CL_OK);
    free(ic);
    fx_close(&f);
}

static void test_genesis_root(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    uint8_t pk[48], root[32] = {0}, got[32];
    char why[256], err[512];
    pk_of(pk, 1);
    assert_int_equal(signer_slashing_genesis_root(f.sp, got), CL_ERR_NOT_FOUND);
    /* a refused first request still pins the root */
    assert_int_equal(signer_slashing_check_attestation(f.sp, pk, GVR, 5, 4, root, why, sizeof why),
                     CL_ERR_DENIED);
    assert_int_equal(signer_slashing_genesis_root(f.sp, got), CL_OK);
    assert_memory_equal(got, GVR, 32);
    assert_int_equal(signer_slashing_check_block(f.sp, pk, GVR2, 1, root, why, sizeof why),
                     CL_ERR_CONFLICT);
    assert_non_null(strstr(why, "0x0909090000"));
    assert_non_null(strstr(why, "0x0102030000"));
    assert_int_equal(signer_slashing_check_attestation(f.sp, pk, GVR2, 1, 2, root, why, sizeof why),
                     CL_ERR_CONFLICT);
    char gvrhex[65];
    hex_encode_to(gvrhex, GVR2, 32);
    char *ic = cl_sprintf("{\"metadata\":{\"interchange_format_version\":\"5\","
                          "\"genesis_validators_root\":\"0x%s\"},\"data\":[]}",
                          gvrhex);
    assert_int_equal(import_str(&f, ic, err, sizeof err), CL_ERR_CONFLICT);
    assert_non_null(strstr(err, "does not match"));
    free(ic);
    /* a fresh handle on the same database reads the pinned root */
    signer_slashing *sp2;
    assert_int_equal(signer_slashing_open(f.st, NULL, &sp2), CL_OK);
    assert_int_equal(signer_slashing_check_block(sp2, pk, GVR2, 1, root, why, sizeof why),
                     CL_ERR_CONFLICT);
    assert_int_equal(signer_slashing_check_block(sp2, pk, GVR, 1, root, why, sizeof why), CL_OK);
    signer_slashing_close(sp2);
    assert_true(signer_slashing_healthy(f.sp));
    fx_close(&f);
}

static void test_high_watermark(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    uint64_t s, e;
    assert_int_equal(signer_slashing_get_high_watermark(f.sp, &s, &e), CL_ERR_NOT_FOUND);
    assert_int_equal(signer_slashing_set_high_watermark(f.sp, 1000, 30), CL_OK);
    assert_int_equal(signer_slashing_get_high_watermark(f.sp, &s, &e), CL_OK);
    assert_int_equal(s, 1000);
    assert_int_equal(e, 30);
    assert_int_equal(blk(&f, 1, 999, 1), CL_OK);
    assert_int_equal(blk(&f, 1, 1000, 1), CL_ERR_DENIED);
    assert_int_equal(blk(&f, 2, 5000, 1), CL_ERR_DENIED);
    assert_int_equal(att(&f, 1, 28, 29, 1), CL_OK);
    assert_int_equal(att(&f, 1, 29, 30, 1), CL_ERR_DENIED);
    assert_int_equal(att(&f, 1, 30, 31, 1), CL_ERR_DENIED);
    assert_int_equal(signer_slashing_remove_high_watermark(f.sp), CL_OK);
    assert_int_equal(blk(&f, 1, 1000, 1), CL_OK);
    assert_int_equal(att(&f, 1, 29, 30, 1), CL_OK);
    /* watermark-repair: every validator's low watermarks move up, never down */
    assert_int_equal(blk(&f, 2, 10, 1), CL_OK);
    size_t n = 0;
    assert_int_equal(signer_slashing_raise_low_watermarks(f.sp, 2000, 50, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(blk(&f, 2, 1999, 2), CL_ERR_DENIED);
    assert_int_equal(att(&f, 2, 49, 60, 2), CL_ERR_DENIED);
    assert_int_equal(att(&f, 1, 50, 50, 2), CL_OK);
    assert_int_equal(blk(&f, 2, 2000, 2), CL_OK);
    assert_int_equal(signer_slashing_raise_low_watermarks(f.sp, 5, 5, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(blk(&f, 1, 1500, 2), CL_ERR_DENIED);
    fx_close(&f);
}

static void test_pruning(void **state) {
    (void)state;
    fixture f;
    signer_slashing_opts o = {.prune_epochs = 10, .slots_per_epoch = 4};
    fx_open(&f, &o);
    for (unsigned t = 1; t <= 30; t++)
        assert_int_equal(att(&f, 1, t - 1, t, t), CL_OK);
    for (unsigned s = 0; s < 100; s++)
        assert_int_equal(blk(&f, 1, s * 2, s), CL_OK);
    /* pruned history still protects: the watermarks moved up */
    assert_int_equal(att(&f, 1, 0, 1, 99), CL_ERR_DENIED);  /* double vote, pruned */
    assert_int_equal(att(&f, 1, 0, 31, 99), CL_ERR_DENIED); /* surrounds, pruned */
    assert_int_equal(blk(&f, 1, 0, 99), CL_ERR_DENIED);     /* double proposal, pruned */
    assert_int_equal(blk(&f, 1, 3, 99), CL_ERR_DENIED);
    assert_int_equal(att(&f, 1, 25, 26, 26), CL_OK); /* identical, in the window */
    assert_int_equal(blk(&f, 1, 198, 99), CL_OK);    /* identical, in the window */
    /* the export holds the window only, and re-imported it still protects */
    cl_buf out = CL_BUF_INIT;
    assert_int_equal(signer_slashing_export(f.sp, NULL, 0, &out), CL_OK);
    json_t *j = json_loadb((const char *)out.ptr, out.len, 0, NULL);
    json_t *v = json_array_get(json_object_get(j, "data"), 0);
    assert_int_equal(json_array_size(json_object_get(v, "signed_attestations")), 10);
    assert_true(json_array_size(json_object_get(v, "signed_blocks")) <= 20);
    json_decref(j);
    fixture g;
    fx_open(&g, NULL);
    char err[256];
    assert_int_equal(signer_slashing_import(g.sp, buf_slice(&out), err, sizeof err), CL_OK);
    assert_int_equal(att(&g, 1, 0, 31, 99), CL_ERR_DENIED);
    assert_int_equal(att(&g, 1, 5, 6, 99), CL_ERR_DENIED);
    assert_int_equal(blk(&g, 1, 3, 99), CL_ERR_DENIED);
    fx_close(&g);
    free(out.ptr);
    /* the sweep (nothing left to prune after inline pruning) */
    size_t pruned = 99;
    assert_int_equal(signer_slashing_prune(f.sp, &pruned), CL_OK);
    assert_int_equal(pruned, 0);
    fx_close(&f);
}

static void test_round_trip(void **state) {
    (void)state;
    fixture f, g;
    fx_open(&f, NULL);
    for (unsigned v = 0; v < 5; v++) {
        assert_int_equal(blk(&f, v, 100 + v, v), CL_OK);
        assert_int_equal(att(&f, v, 3, 4 + v, v), CL_OK);
    }
    cl_buf all = CL_BUF_INIT, some = CL_BUF_INIT;
    assert_int_equal(signer_slashing_export(f.sp, NULL, 0, &all), CL_OK);
    uint8_t pks[2][48];
    pk_of(pks[0], 1);
    pk_of(pks[1], 4);
    assert_int_equal(signer_slashing_export(f.sp, (const uint8_t(*)[48])pks, 2, &some), CL_OK);
    json_t *j = json_loadb((const char *)some.ptr, some.len, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 2);
    json_decref(j);
    fx_open(&g, NULL);
    char err[256];
    assert_int_equal(signer_slashing_import(g.sp, buf_slice(&all), err, sizeof err), CL_OK);
    for (unsigned v = 0; v < 5; v++) {
        assert_int_equal(blk(&g, v, 100 + v, v + 1), CL_ERR_DENIED);
        assert_int_equal(att(&g, v, 3, 4 + v, v + 1), CL_ERR_DENIED);
        assert_int_equal(att(&g, v, 2, 10, v + 1), CL_ERR_DENIED);
        assert_int_equal(blk(&g, v, 200, 1), CL_OK);
    }
    /* a filtered import merges only the given validators */
    fixture h;
    fx_open(&h, NULL);
    assert_int_equal(signer_slashing_import_for(h.sp, buf_slice(&all), (const uint8_t(*)[48])pks, 1,
                                                err, sizeof err),
                     CL_OK);
    assert_int_equal(blk(&h, 1, 101, 9), CL_ERR_DENIED);
    assert_int_equal(blk(&h, 4, 104, 9), CL_OK);
    fx_close(&h);
    /* exporting again gives an interchange the first database accepts */
    cl_buf again = CL_BUF_INIT;
    assert_int_equal(signer_slashing_export(g.sp, NULL, 0, &again), CL_OK);
    assert_int_equal(signer_slashing_import(f.sp, buf_slice(&again), err, sizeof err), CL_OK);
    free(all.ptr);
    free(some.ptr);
    free(again.ptr);
    fx_close(&g);
    /* an empty database exports an empty interchange, which imports as a no-op */
    fx_open(&g, NULL);
    cl_buf empty = CL_BUF_INIT;
    assert_int_equal(signer_slashing_export(g.sp, NULL, 0, &empty), CL_OK);
    assert_int_equal(signer_slashing_import(g.sp, buf_slice(&empty), err, sizeof err), CL_OK);
    uint8_t got[32];
    assert_int_equal(signer_slashing_genesis_root(g.sp, got), CL_ERR_NOT_FOUND);
    free(empty.ptr);
    fx_close(&g);
    fx_close(&f);
}

static void test_malformed(void **state) {
    (void)state;
    const char *P = "0xa0000000000000000000000000000000000000000000000000000000000000000000000000"
                    "000000000000000000000001";
    const char *G = "0x0102030000000000000000000000000000000000000000000000000000000000";
    const char *bad[] = {
        "",
        "[]",
        "{\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"4\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":5,\"genesis_validators_root\":\"%G\"},"
        "\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"0x12\"},"
        "\"data\":[]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\"},\"data\":[{\"pubkey\":\"%P\"}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"}}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_blocks\":[{\"slot\":\"1\"}]},{\"pubkey\":\"0x12\"}]"
        "}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_blocks\":[{\"slot\":\"1\"},{\"slot\":2}]}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_blocks\":[{\"slot\":\"-1\"}]}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_blocks\":[{\"slot\":\"18446744073709551616\"}]}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_attestations\":[{\"source_epoch\":\"1\"}]}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_attestations\":[{\"source_epoch\":\"1\","
        "\"target_epoch\":\"2\",\"signing_root\":\"0xzz\"}]}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\"},"
        "\"data\":[{\"pubkey\":\"%P\",\"signed_blocks\":{}}]}",
        "{\"metadata\":{\"interchange_format_version\":\"5\",\"genesis_validators_root\":\"%G\","
        "\"genesis_validators_root\":\"%G\"},\"data\":[]}",
    };
    fixture f;
    fx_open(&f, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cl_buf b = CL_BUF_INIT;
        for (const char *p = bad[i]; *p; p++) {
            if (p[0] == '%' && (p[1] == 'P' || p[1] == 'G')) {
                buf_append_cstr(&b, p[1] == 'P' ? P : G);
                p++;
            } else {
                buf_append_byte(&b, (uint8_t)*p);
            }
        }
        char err[256] = "";
        cl_err e = signer_slashing_import(f.sp, buf_slice(&b), err, sizeof err);
        if (e != CL_ERR_INVALID) fprintf(stderr, "case %zu: %s\n", i, cl_err_str(e));
        assert_int_equal(e, CL_ERR_INVALID);
        assert_true(err[0] != 0);
        free(b.ptr);
    }
    /* refused whole: the good first validator of case 8 was not imported */
    uint8_t got[32];
    assert_int_equal(signer_slashing_genesis_root(f.sp, got), CL_ERR_NOT_FOUND);
    assert_int_equal(blk(&f, 1, 1, 1), CL_OK);
    fx_close(&f);
}

/* ---------- concurrency ---------- */

typedef struct {
    fixture *f;
    unsigned v, r;
    cl_err e;
} worker;

static void *conflicting(void *arg) {
    worker *w = arg;
    w->e = att(w->f, w->v, 10, 11, w->r);
    return NULL;
}

static void run_threads(fixture *f, bool same_validator, int *ok, int *denied) {
    enum { N = 64 };
    pthread_t th[N];
    worker w[N];
    for (unsigned i = 0; i < N; i++) {
        w[i] = (worker){f, same_validator ? 1 : 100 + i, i + 1, CL_ERR_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, conflicting, &w[i]), 0);
    }
    *ok = *denied = 0;
    for (unsigned i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        *ok += w[i].e == CL_OK;
        *denied += w[i].e == CL_ERR_DENIED;
    }
}

static void test_concurrency(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    int ok, denied;
    run_threads(&f, true, &ok, &denied);
    assert_int_equal(ok, 1);
    assert_int_equal(denied, 63);
    run_threads(&f, false, &ok, &denied);
    assert_int_equal(ok, 64);
    assert_int_equal(denied, 0);
    fx_close(&f);
}

/* two handles (two "instances") on one database file */
static void test_two_handles(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    store *st2;
    signer_slashing *sp2;
    char *url = cl_sprintf("sqlite:%s/signer.db", f.dir);
    assert_int_equal(store_open(url, &st2), CL_OK);
    free(url);
    assert_int_equal(
        signer_slashing_open(st2, &(signer_slashing_opts){.keyed_checks = g_keyed}, &sp2), CL_OK);
    uint8_t pk[48], r1[32], r2[32];
    char why[256];
    pk_of(pk, 1);
    root_of(r1, 1);
    root_of(r2, 2);
    assert_int_equal(signer_slashing_check_attestation(f.sp, pk, GVR, 1, 2, r1, why, sizeof why),
                     CL_OK);
    assert_int_equal(signer_slashing_check_attestation(sp2, pk, GVR, 1, 2, r2, why, sizeof why),
                     CL_ERR_DENIED);
    signer_slashing_close(sp2);
    store_close(st2);
    fx_close(&f);
}

/* ---------- the stored document ---------- */

static char *reparse(const char *doc) {
    slp_hist h;
    if (slp_hist_parse(doc, &h) != CL_OK) return NULL;
    char *out = slp_hist_dump(&h);
    slp_hist_free(&h);
    return out;
}

static void test_document(void **state) {
    (void)state;
    slp_hist h = {0};
    uint8_t r[32];
    root_of(r, 7);
    slp_hist_add_att(&h, 3, 9, r);
    slp_hist_add_att(&h, 1, 2, NULL);
    slp_hist_add_block(&h, 18446744073709551615ull, r);
    slp_hist_add_block(&h, 4, NULL);
    h.has_ls = true, h.ls = 4;
    h.has_le = true, h.lsrc = 1, h.ltgt = 2;
    char *doc = slp_hist_dump(&h);
    slp_hist_free(&h);
    char *again = reparse(doc);
    assert_string_equal(again, doc);
    free(again);
    /* what another backend's re-serialisation may do: spaces, order, escapes, extra keys */
    const char *same[] = {
        "{ \"a\" : [ \"1:2\" , \"3:9:0x00000000000000000000000000000000000000000000000000000000"
        "00000007\" ] ,\n \"b\":[\"4\",\"18446744073709551615:0x0000000000000000000000000000000"
        "000000000000000000000000000000007\"], \"ltgt\":\"2\",\"lsrc\":\"1\",\"ls\":\"4\"}",
        "{\"v\":1,\"ls\":\"\\u0034\",\"lsrc\":\"1\",\"ltgt\":\"2\",\"b\":[\"4\",\"184467440737"
        "09551615:0x0000000000000000000000000000000000000000000000000000000000000007\"],\"a\":[\"1:"
        "2\",\"3:9:0x0000000000000000000000000000000000000000000000000000000000000007\"]}",
    };
    for (size_t i = 0; i < 2; i++) {
        char *got = reparse(same[i]);
        assert_non_null(got);
        assert_string_equal(got, doc);
        free(got);
    }
    free(doc);
    const char *bad[] = {"",
                         "{",
                         "[]",
                         "{\"b\":[\"5:\"]}",
                         "{\"b\":[\"x\"]}",
                         "{\"a\":[\"5\"]}",
                         "{\"a\":[\"1:2:0x12\"]}",
                         "{\"lsrc\":\"1\"}",
                         "{\"ls\":\"-1\"}",
                         "{\"b\":[5]}",
                         "{\"b\":[\"1\"]} x",
                         "{\"b\":[\"1\",]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        slp_hist x;
        if (slp_hist_parse(bad[i], &x) == CL_OK) fail_msg("accepted %s", bad[i]);
    }
}

/* review: a long history (one validator's unpruned Web3Signer export has one
 * attestation an epoch, ~300,000 since genesis), listed newest first, imports
 * in near-linear time; the merge was O(n^2) (49 s for 100,000 of each here,
 * 1.5 s after; 2.4 s under ASan). */
static void test_import_long_history(void **state) {
    (void)state;
    enum { N = 100000 };
    cl_buf in = CL_BUF_INIT;
    buf_append_cstr(&in, "{\"metadata\":{\"interchange_format_version\":\"5\","
                         "\"genesis_validators_root\":\"0x0102030000000000000000000000000000000"
                         "000000000000000000000000000\"},\"data\":[{\"pubkey\":\"0xa0");
    for (int i = 0; i < 46; i++)
        buf_append_cstr(&in, "00");
    buf_append_cstr(&in, "00\",\"signed_blocks\":[");
    for (unsigned i = 0; i < N; i++)
        buf_appendf(&in, "%s{\"slot\":\"%u\"}", i ? "," : "", 10 * (N - i));
    buf_append_cstr(&in, "],\"signed_attestations\":[");
    for (unsigned i = 0; i < N; i++)
        buf_appendf(&in, "%s{\"source_epoch\":\"%u\",\"target_epoch\":\"%u\"}", i ? "," : "",
                    N - i - 1, N - i);
    buf_append_cstr(&in, "]}]}");
    fixture f;
    fx_open(&f, NULL);
    char err[256];
    uint64_t t0 = time_mono_ns();
    assert_int_equal(signer_slashing_import(f.sp, buf_slice(&in), err, sizeof err), CL_OK);
    uint64_t ms = (time_mono_ns() - t0) / 1000000;
    fprintf(stderr, "import of %d blocks and attestations: %llu ms\n", N, (unsigned long long)ms);
    /* quadratic import took ~49 s here; linearithmic ~1.5 s (ASan ~2.4 s): a bound
     * far from both, so a loaded CI machine does not fail it */
    if (ms > 25000)
        fail_msg("importing %d blocks and attestations took %llu ms", N, (unsigned long long)ms);
    assert_int_equal(blk(&f, 0, 10 * N, 1), CL_ERR_DENIED);
    assert_int_equal(blk(&f, 0, 10 * N + 1, 1), CL_OK);
    assert_int_equal(att(&f, 0, N - 1, N, 1), CL_ERR_DENIED);
    assert_int_equal(att(&f, 0, N, N + 1, 1), CL_OK);
    free(in.ptr);
    fx_close(&f);
}

/* review: a randomized model check of the safety property. Random attestations
 * and blocks for one validator (near 0 and near 2^64-1), interleaved with
 * pruning (small windows), high watermark changes, re-importing its own export
 * and moving to a second database by export/import; every pair of messages
 * that got through must be non-slashable (no double vote, no surround, no
 * source > target, no double proposal). Each attestation has its own root. */
typedef struct {
    uint64_t s, t;
    unsigned r;
} model_att;

static void model_round(int round) {
    uint64_t base = round % 3 == 0 ? UINT64_MAX - 70 : 0;
    fixture f, g;
    signer_slashing_opts o = {.prune_epochs = 1 + (unsigned)(rand() % 6), .slots_per_epoch = 2};
    fx_open(&f, &o);
    fixture *cur = &f;
    bool moved = false;
    model_att ok[300];
    uint64_t bslot[300];
    unsigned broot[300];
    size_t na = 0, nb = 0;
    char err[256];
    for (int step = 0; step < 300; step++) {
        int op = rand() % 100;
        if (op < 45) {
            uint64_t s = (uint64_t)(rand() % 30), t = (uint64_t)(rand() % 30);
            unsigned r = (unsigned)(rand() % 3) + 3u * (unsigned)(s * 32 + t);
            if (att(cur, 0, base + s, base + t, r) == CL_OK)
                ok[na++] = (model_att){base + s, base + t, r};
        } else if (op < 90) {
            uint64_t sl = base + (uint64_t)(rand() % 60);
            unsigned r = (unsigned)(rand() % 3);
            if (blk(cur, 0, sl, r) == CL_OK) bslot[nb] = sl, broot[nb++] = r;
        } else if (op < 92) {
            if (rand() % 2)
                signer_slashing_set_high_watermark(cur->sp, base + (uint64_t)(rand() % 60),
                                                   base + (uint64_t)(rand() % 30));
            else
                signer_slashing_remove_high_watermark(cur->sp);
        } else if (op < 97) {
            size_t pruned;
            assert_int_equal(signer_slashing_prune(cur->sp, &pruned), CL_OK);
        } else {
            cl_buf ex = CL_BUF_INIT;
            assert_int_equal(signer_slashing_export(cur->sp, NULL, 0, &ex), CL_OK);
            if (!moved && rand() % 2) {
                signer_slashing_opts o2 = {.prune_epochs = 1 + (unsigned)(rand() % 6),
                                           .slots_per_epoch = 2};
                fx_open(&g, &o2);
                cur = &g;
                moved = true;
            }
            assert_int_equal(signer_slashing_import(cur->sp, buf_slice(&ex), err, sizeof err),
                             CL_OK);
            free(ex.ptr);
        }
    }
    for (size_t i = 0; i < na; i++) {
        if (ok[i].s > ok[i].t) fail_msg("round %d: source > target signed", round);
        for (size_t j = 0; j < na; j++) {
            if (ok[i].t == ok[j].t && ok[i].r != ok[j].r) fail_msg("round %d: double vote", round);
            if (ok[i].s < ok[j].s && ok[i].t > ok[j].t) fail_msg("round %d: surround", round);
        }
    }
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < nb; j++)
            if (bslot[i] == bslot[j] && broot[i] != broot[j])
                fail_msg("round %d: double proposal", round);
    if (moved) fx_close(&g);
    fx_close(&f);
}

static void test_model(void **state) {
    (void)state;
    srand(13);
    for (int round = 0; round < 150; round++)
        model_round(round);
}

/* review: a batch of the group commit in which some checks fail (a corrupt
 * record, another genesis root) still decides the others exactly once. */
static void *mixed(void *arg) {
    worker *w = arg;
    uint8_t pk[48], root[32];
    char why[256];
    pk_of(pk, w->v);
    root_of(root, w->r);
    w->e = signer_slashing_check_attestation(w->f->sp, pk, w->r % 5 == 0 ? GVR2 : GVR, 10, 11, root,
                                             why, sizeof why);
    return NULL;
}

static void test_batch_failures(void **state) {
    (void)state;
    fixture f;
    fx_open(&f, NULL);
    assert_int_equal(blk(&f, 1, 1, 1), CL_OK); /* pins GVR */
    uint8_t pk[48];
    char name[97];
    pk_of(pk, 7);
    slp_pk_hex(pk, name);
    assert_int_equal(store_put(f.st, SLP_KIND, "", name, "{\"b\":[\"x\"]}"), CL_OK);
    enum { N = 64 };
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[N];
        worker w[N];
        for (unsigned i = 0; i < N; i++) {
            w[i] = (worker){&f, i % 2 ? 7 : 20 + (unsigned)rep, i + 1, CL_ERR_INVALID};
            assert_int_equal(pthread_create(&th[i], NULL, mixed, &w[i]), 0);
        }
        int ok = 0;
        for (unsigned i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            if ((i + 1) % 5 == 0) {
                assert_int_equal(w[i].e, CL_ERR_CONFLICT);
            } else if (i % 2) {
                assert_true(w[i].e != CL_OK && w[i].e != CL_ERR_DENIED);
            } else {
                assert_true(w[i].e == CL_OK || w[i].e == CL_ERR_DENIED);
                ok += w[i].e == CL_OK;
            }
        }
        assert_int_equal(ok, 1);
    }
    fx_close(&f);
}

/* The same checks on the keyed path (store_txn_keyed per validator, no group
 * commit), which a shared database uses. */
static void test_concurrency_keyed(void **state) {
    g_keyed = true;
    test_concurrency(state);
    g_keyed = false;
}

static void test_model_keyed(void **state) {
    (void)state;
    g_keyed = true;
    srand(14);
    for (int round = 0; round < 40; round++)
        model_round(round);
    g_keyed = false;
}

static void test_batch_failures_keyed(void **state) {
    g_keyed = true;
    test_batch_failures(state);
    g_keyed = false;
}

static void test_two_handles_keyed(void **state) {
    g_keyed = true;
    test_two_handles(state);
    g_keyed = false;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip3076_suite),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_attestations),
        cmocka_unit_test(test_import_watermarks),
        cmocka_unit_test(test_genesis_root),
        cmocka_unit_test(test_high_watermark),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_two_handles),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_import_long_history),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_batch_failures),
        cmocka_unit_test(test_concurrency_keyed),
        cmocka_unit_test(test_model_keyed),
        cmocka_unit_test(test_batch_failures_keyed),
        cmocka_unit_test(test_two_handles_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

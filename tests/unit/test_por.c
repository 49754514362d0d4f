/* test_por.c — the proof-of-reserves protocol layer (src/por/protocol.h,
 * por.h): hashes and the statement digest against golden values computed by
 * the independent JS implementation of docs/por.md (web/por/verify.js), the
 * exact 256-bit equity arithmetic, strict decimals, the equity link proof
 * (accepts honest proofs; rejects a wrong equity, a tampered proof, another
 * statement, reordered leaves), and v1's verify → verify-inclusion on a tiny
 * tree (fixtures/por_v1, made by the v1 prover: the prover now makes v2 only,
 * test_por_prove2.c) with the path, leaf and user binding tampered in memory,
 * the streaming merkle_tree.json reader on good and broken input, the v2
 * prover's refusal of negative net equity, and a v1 proof the v1 prover's test
 * hook forced past that refusal failing verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "por/por.h"
#include "por/protocol.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void unhex(uint8_t *out, const char *hex) {
    size_t n = strlen(hex) / 2;
    assert_true(por_hex_decode_exact(hex, 2 * n, out, n));
}

static void assert_hex(const uint8_t *b, size_t n, const char *want) {
    char *h = malloc(2 * n + 1);
    hex_encode_to(h, b, n);
    assert_string_equal(h, want);
    free(h);
}

/* ---- golden values (web/por/verify.js on the same inputs) ---- */

static void test_golden(void **st) {
    (void)st;
    uint8_t nonce[32], out[32], pt[48];
    memset(nonce, 7, sizeof nonce);
    const uint8_t uh[2] = {0xab, 0xcd};
    por_leaf_id(uh, 2, nonce, out);
    assert_hex(out, 32, "cb2997f675a2f378f43323fe79f0449d29cb157000f8a4697c59b5070a7cc59c");
    por_scalar eta;
    por_leaf_blindings(nonce, &eta, NULL);
    por_scalar_to_bytes(out, &eta);
    assert_hex(out, 32, "257024fe7d2e6c19cf726e231bf2ced96d7490cbfcb0e15b4a3ff221820569ed");
    por_affine_to_bytes(pt, por_asset_generator("BTC"));
    assert_hex(
        pt, 48,
        "80034e85b81be2c25ce291949edd58a8e0b26a703fbb021cd473741087aa27d293d4c2b2e99bcc09f61fa"
        "74dc00223ff");

    /* the statement digest: fixed fields, including a negative total and one > 2^64 */
    por_stmt_asset as[2] = {{"BTC", 2, 8, 3500000, 3500000, -5},
                            {"ETH", 2, 4, 200040, 2000400000, 0}};
    as[1].total = (por_i128)123456789012345678ll * 1000000 + 901234;
    por_statement s = {.timestamp = 1700000000000ull,
                       .depth = 3,
                       .padded = 8,
                       .range_bits = 64,
                       .batch = 4,
                       .nassets = 2,
                       .assets = as};
    for (int i = 0; i < 32; i++)
        s.total_blinding[i] = (uint8_t)(i + 1);
    memset(s.root_hash, 0xaa, 32);
    por_affine_to_bytes(s.root_commitment, por_pedersen_g());
    por_statement_digest(&s, out);
    assert_hex(out, 32, "b986368e7070352e96f65120747d6a32569ecaf3c39de683787a08d9263d192c");
    /* stable: the same statement twice, any change moves it */
    uint8_t again[32];
    por_statement_digest(&s, again);
    assert_memory_equal(out, again, 32);
    as[0].total = -4;
    por_statement_digest(&s, again);
    assert_memory_not_equal(out, again, 32);
}

/* ---- integers ---- */

static void test_integers(void **st) {
    (void)st;
    por_i256 a;
    char txt[80];
    por_i128 w = (por_i128)INT64_MAX * 1000000000000000000ll;
    por_i256_zero(&a);
    por_i256_add_mul(&a, w, INT64_MIN);
    por_i256_format(&a, txt);
    assert_string_equal(txt, "-85070591730234615856620279821087277056000000000000000000");
    for (int i = 1; i < 1024; i++)
        por_i256_add_mul(&a, w, INT64_MIN);
    por_i256_format(&a, txt);
    assert_string_equal(txt, "-87112285931760246637179166536793371705344000000000000000000");
    assert_true(por_i256_is_negative(&a));

    por_i128 wts[2] = {3500000, 2000400000};
    int64_t b[2] = {534054, -476};
    uint64_t e = 0;
    assert_int_equal(por_equity(wts, b, 2, &e, txt), POR_EQUITY_OK);
    assert_int_equal(e, 916998600000ull);
    assert_string_equal(txt, "916998600000");
    b[1] = -4761;
    assert_int_equal(por_equity(wts, b, 2, &e, txt), POR_EQUITY_NEGATIVE);
    /* a large product cancelled by another: exact, not an overflow */
    por_i128 big[2] = {w, w};
    int64_t c[2] = {INT64_MAX, -INT64_MAX};
    assert_int_equal(por_equity(big, c, 2, &e, txt), POR_EQUITY_OK);
    assert_int_equal(e, 0);
    c[1] = 0;
    assert_int_equal(por_equity(big, c, 2, &e, txt), POR_EQUITY_TOO_LARGE);
    int64_t d[2] = {0, 0};
    por_i128 one[2] = {1, 1};
    d[0] = INT64_MAX;
    d[1] = INT64_MAX;
    assert_int_equal(por_equity(one, d, 2, &e, txt), POR_EQUITY_OK); /* 2^64 - 2 */
    assert_int_equal(e, UINT64_MAX - 1);

    por_i128 v;
    const por_i128 max = (por_i128)(((unsigned __int128)1 << 127) - 1);
    assert_true(por_dec_parse_i128("0", -max, max, &v) && v == 0);
    assert_true(por_dec_parse_i128("-42", -max, max, &v) && v == -42);
    assert_true(por_dec_parse_i128("170141183460469231731687303715884105727", -max, max, &v));
    assert_true(v == max);
    const char *badv[] = {"-0",  "01",  "+1", "1.0", "",
                          "-",   "1e3", " 1", "1 ",  "170141183460469231731687303715884105728",
                          "0x10"};
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++)
        assert_false(por_dec_parse_i128(badv[i], -max, max, &v));
    assert_false(por_dec_parse_i128("11", 0, 10, &v));
}

/* ---- the equity link proof ---- */

#define LN 8
#define LA 3

typedef struct {
    por_stmt_asset assets[LA];
    int64_t b[LN][LA];
    uint8_t nonce[LN][32];
    por_affine L[LN], V[LN];
    uint8_t stmt[32];
    uint8_t proof[2 * 48 + 32 * (LA + 2)];
} link_case;

static void link_setup(link_case *c, int64_t equity_offset_leaf3) {
    memset(c, 0, sizeof *c);
    const char *sym[LA] = {"BTC", "ETH", "USDT"};
    const por_i128 w[LA] = {3500000, 2000400000, 100};
    for (int a = 0; a < LA; a++) {
        snprintf(c->assets[a].symbol, sizeof c->assets[a].symbol, "%s", sym[a]);
        c->assets[a].weight = w[a];
    }
    crypto_random(c->stmt, 32);
    por_scalar x[LA + 2], rho, rp, t;
    for (int a = 0; a < LA + 2; a++)
        por_scalar_zero(&x[a]);
    por_link_rho(c->stmt, &rho);
    rp = rho;
    for (int i = 0; i < LN; i++) {
        c->b[i][0] = 1000 + i;
        c->b[i][1] = i % 3 == 0 ? -1 : 7 * i; /* debts allowed */
        c->b[i][2] = 50000 * i;
        crypto_random(c->nonce[i], 32);
        por_scalar eta, gamma, sc[LA + 1];
        por_leaf_blindings(c->nonce[i], &eta, &gamma);
        const por_affine *pts[LA + 1];
        int64_t e = 0;
        for (int a = 0; a < LA; a++) {
            pts[a] = por_asset_generator(sym[a]);
            por_scalar_from_i64(&sc[a], c->b[i][a]);
            e += (int64_t)w[a] * c->b[i][a];
        }
        pts[LA] = por_pedersen_h();
        sc[LA] = eta;
        por_point P;
        por_msm_ptrs(&P, pts, sc, LA + 1);
        por_point_to_affine(&c->L[i], &P);
        if (i == 3) e += equity_offset_leaf3;
        assert_true(e >= 0);
        por_commit_u64(&P, (uint64_t)e, &gamma);
        por_point_to_affine(&c->V[i], &P);
        for (int a = 0; a < LA; a++) {
            por_scalar_from_i64(&t, c->b[i][a]);
            por_scalar_mul(&t, &t, &rp);
            por_scalar_add(&x[a], &x[a], &t);
        }
        por_scalar_mul(&t, &rp, &eta);
        por_scalar_add(&x[LA], &x[LA], &t);
        por_scalar_mul(&t, &rp, &gamma);
        por_scalar_add(&x[LA + 1], &x[LA + 1], &t);
        por_scalar_mul(&rp, &rp, &rho);
    }
    por_link_prove(c->stmt, c->assets, LA, x, &x[LA], &x[LA + 1], c->proof);
}

static cl_err link_check(link_case *c) {
    return por_link_verify(c->stmt, c->assets, LA, c->L, c->V, LN,
                           slice_of(c->proof, sizeof c->proof), 2);
}

static void test_link_proof(void **st) {
    (void)st;
    link_case *c = malloc(sizeof *c);
    link_setup(c, 0);
    assert_int_equal(sizeof c->proof, por_link_proof_size(LA));
    assert_int_equal(link_check(c), CL_OK);
    /* every byte of the scalars and points matters */
    for (size_t i = 0; i < sizeof c->proof; i += 7) {
        c->proof[i] ^= 0x01;
        assert_int_not_equal(link_check(c), CL_OK);
        c->proof[i] ^= 0x01;
    }
    assert_int_equal(por_link_verify(c->stmt, c->assets, LA, c->L, c->V, LN,
                                     slice_of(c->proof, sizeof c->proof - 1), 1),
                     CL_ERR_INVALID);
    /* another statement */
    c->stmt[0] ^= 1;
    assert_int_equal(link_check(c), CL_ERR_CRYPTO);
    c->stmt[0] ^= 1;
    /* leaves in another order */
    por_affine tmp = c->L[1];
    c->L[1] = c->L[2];
    c->L[2] = tmp;
    assert_int_equal(link_check(c), CL_ERR_CRYPTO);
    c->L[2] = c->L[1];
    c->L[1] = tmp;
    assert_int_equal(link_check(c), CL_OK);
    /* a weight the prover did not use */
    c->assets[1].weight += 1;
    assert_int_equal(link_check(c), CL_ERR_CRYPTO);
    /* V_3 commits to an equity one unit off Σ w·b: an honest-looking proof fails */
    link_setup(c, 1);
    assert_int_equal(link_check(c), CL_ERR_CRYPTO);
    free(c);
}

/* ---- a whole round trip on a tiny tree ---- */

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w) {
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

static char *tmpdir(void) {
    char *d = strdup("/tmp/test_por_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static char *write_ledger(const char *dir, const char *text) {
    char *p = cl_sprintf("%s/ledger.json", dir);
    assert_int_equal(file_write_atomic(p, slice_cstr(text), 0600), CL_OK);
    return p;
}

static const char LEDGER[] =
    "{\"timestamp\": 1700000000000, \"assets\": {"
    "\"ETH\": {\"usdt_decimals\": 2, \"balance_decimals\": 4, \"price\": 200040},"
    "\"BTC\": {\"usdt_decimals\": 2, \"balance_decimals\": 8, \"price\": 3500000}},"
    "\"accounts\": {\"aa01\": {\"BTC\": 534054, \"ETH\": -476},"
    "\"bb02\": {\"BTC\": 0, \"ETH\": 100}, \"cc03\": {\"BTC\": 1, \"ETH\": 0}}}";

static void load(const char *path, cl_buf *b) {
    buf_clear(b);
    assert_int_equal(file_read_all(path, b, 1 << 26), CL_OK);
    buf_cstr(b); /* NUL-terminated for the text edits below */
}

static cl_err tree_read_mem(cl_slice data, uint32_t depth, uint32_t batch, por_tree_file *t,
                            char err[POR_ERR_LEN]) {
    por_source src;
    por_source_mem(&src, data);
    cl_err e = por_tree_read(&src, depth, batch, 0, t, NULL, err);
    if (src.close) src.close(src.ctx);
    return e;
}

/* DIR/NAME in a static buffer (one at a time). */
static const char *cl_sprintf_tmp(const char *dir, const char *name) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* fixtures/por_v1/NAME: v1 proofs made by the v1 prover (`cloister por prove`
 * of LEDGER, --padded-accounts 4 --batch 2; "negative": the ledger of
 * test_negative_equity with CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE=1). They live
 * next to this file; run from elsewhere, the build directory is two levels
 * above the executable. */
static char *v1_fixture(const char *name) {
    const char *here = __FILE__, *slash = strrchr(here, '/');
    int dirlen = slash ? (int)(slash - here) : 1;
    char *path = cl_sprintf("%.*s/fixtures/por_v1/%s", dirlen, slash ? here : ".", name);
    char *probe = cl_sprintf("%s/final_proof.json", path);
    struct stat sb;
    bool ok = stat(probe, &sb) == 0;
    free(probe);
    if (ok || here[0] == '/') return path;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    for (int up = 0; up < 3; up++)
        *strrchr(exe, '/') = 0;
    free(path);
    return cl_sprintf("%s/%.*s/fixtures/por_v1/%s", exe, dirlen, here, name);
}

static void test_roundtrip(void **st) {
    (void)st;
    char err[POR_ERR_LEN];
    char *out = v1_fixture("ok");
    por_verify_result vr;
    por_verify_options vo = {.threads = 2};
    assert_int_equal(por_verify_dir(out, &vo, &vr, err), CL_OK);
    assert_string_equal(vr.total_equity, "1117042100000");

    char *fp = cl_sprintf("%s/final_proof.json", out);
    cl_buf b = CL_BUF_INIT;
    load(fp, &b);
    por_statement s;
    assert_int_equal(por_final_proof_parse(buf_slice(&b), &s, err), CL_OK);
    const char *users[3] = {"aa01", "bb02", "cc03"};
    por_user_proof u[3];
    for (int k = 0; k < 3; k++) {
        char *up = cl_sprintf("%s/user_proofs/%s.json", out, users[k]);
        por_inclusion_result ir;
        assert_int_equal(por_verify_inclusion(up, fp, &ir, err), CL_OK);
        assert_string_equal(ir.user_hash, users[k]);
        load(up, &b);
        assert_int_equal(por_user_proof_parse(buf_slice(&b), &s, &u[k], err), CL_OK);
        assert_int_equal(por_user_proof_check(&s, &u[k], err), CL_OK);
        free(up);
    }
    /* path: a swapped sibling, the other side, a sibling from another level */
    por_user_proof *x = &u[0];
    uint8_t save[48];
    memcpy(save, x->path_hash[0], 32);
    memcpy(x->path_hash[0], x->path_hash[1], 32);
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    memcpy(x->path_hash[0], save, 32);
    x->leaf_index ^= 1;
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    x->leaf_index ^= 1;
    memcpy(save, x->path_C[1], 48);
    memcpy(x->path_C[1], x->path_C[0], 48);
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    memcpy(x->path_C[1], save, 48);
    assert_int_equal(por_user_proof_check(&s, x, err), CL_OK);
    /* balances, the user hash, the nonce are bound to the leaf */
    x->balances[0] += 1;
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    x->balances[0] -= 1;
    x->user_hash[1] = 0x02;
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    assert_non_null(strstr(err, "not bound"));
    x->user_hash[1] = 0x01;
    x->nonce[5] ^= 4;
    assert_int_not_equal(por_user_proof_check(&s, x, err), CL_OK);
    x->nonce[5] ^= 4;
    /* one user claiming another's leaf: u[1]'s data with u[0]'s leaf and path */
    por_user_proof *y = &u[1];
    y->leaf_index = x->leaf_index;
    memcpy(y->leaf_id, x->leaf_id, 32);
    memcpy(y->leaf_hash, x->leaf_hash, 32);
    memcpy(y->leaf_L, x->leaf_L, 48);
    memcpy(y->leaf_V, x->leaf_V, 48);
    for (uint32_t j = 0; j < s.depth; j++) {
        memcpy(y->path_hash[j], x->path_hash[j], 32);
        memcpy(y->path_C[j], x->path_C[j], 48);
    }
    assert_int_not_equal(por_user_proof_check(&s, y, err), CL_OK);
    /* a total off by one fails the opening */
    s.assets[0].total += 1;
    assert_int_not_equal(por_statement_check_opening(&s, err), CL_OK);
    s.assets[0].total -= 1;
    assert_int_equal(por_statement_check_opening(&s, err), CL_OK);

    /* merkle_tree.json through the streaming reader, then broken variants */
    char *tp = cl_sprintf("%s/merkle_tree.json", out);
    load(tp, &b);
    por_tree_file t;
    assert_int_equal(tree_read_mem(buf_slice(&b), s.depth, s.batch, &t, err), CL_OK);
    assert_int_equal(t.bytes, s.tree_bytes);
    assert_memory_equal(t.sha256, s.tree_sha256, 32);
    assert_memory_equal(t.node_hash[por_level_offset(4, 2)], s.root_hash, 32);
    por_tree_free(&t);
    for (size_t cut = 0; cut < b.len - 2; cut += 97) {
        assert_int_not_equal(tree_read_mem(slice_of(b.ptr, cut), s.depth, s.batch, &t, err), CL_OK);
    }
    assert_int_not_equal(tree_read_mem(buf_slice(&b), s.depth + 1, s.batch, &t, err), CL_OK);
    char *alt = cl_sprintf(" {\"extra\": [1, {\"a\": null}, \"x\\u00e9\"], %s", (char *)b.ptr + 1);
    assert_int_equal(tree_read_mem(slice_cstr(alt), s.depth, s.batch, &t, err), CL_OK);
    por_tree_free(&t);
    free(alt);
    alt = cl_sprintf("{\"tree_depth\": 2, %s", (char *)b.ptr + 1);
    assert_int_not_equal(tree_read_mem(slice_cstr(alt), s.depth, s.batch, &t, err), CL_OK);
    free(alt);

    /* the same ledger through today's prover (v2); a second prove into the
     * same --out is refused and writes nothing */
    char *dir = tmpdir(), *ledger = write_ledger(dir, LEDGER), *out2 = cl_sprintf("%s/out", dir);
    por_prove_options o = {
        .ledger_path = ledger, .out_dir = out2, .threads = 2, .min_padded = 4, .batch = 2};
    por_prove_result r;
    assert_int_equal(por_prove(&o, &r, err), CL_OK);
    assert_int_equal(r.accounts, 3);
    assert_int_equal(r.padded, 4);
    assert_string_equal(r.version, "cloister-por-v2");
    por_prove_result_free(&r);
    load(cl_sprintf_tmp(out2, "final_proof.json"), &b);
    size_t before = b.len;
    assert_int_equal(por_prove(&o, &r, err), CL_ERR_EXISTS);
    por_prove_result_free(&r);
    load(cl_sprintf_tmp(out2, "final_proof.json"), &b);
    assert_int_equal(b.len, before);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(ledger);
    free(out2);
    free(dir);

    for (int k = 0; k < 3; k++)
        por_user_proof_free(&u[k]);
    por_statement_free(&s);
    buf_free(&b);
    free(tp);
    free(fp);
    free(out);
}

static void test_negative_equity(void **st) {
    (void)st;
    char *dir = tmpdir(), err[POR_ERR_LEN];
    char *ledger =
        write_ledger(dir, "{\"timestamp\": 1, \"assets\": {\"BTC\": {\"usdt_decimals\": 2,"
                          " \"balance_decimals\": 8, \"price\": 3500000}},"
                          " \"accounts\": {\"aa01\": {\"BTC\": 5}, \"bb02\": {\"BTC\": "
                          "-3}, \"cc03\": {\"BTC\": 9}}}");
    char *out = cl_sprintf("%s/out", dir);
    por_prove_options o = {
        .ledger_path = ledger, .out_dir = out, .threads = 1, .min_padded = 4, .batch = 4};
    por_prove_result r;
    assert_int_equal(por_prove(&o, &r, err), CL_ERR_INVALID);
    por_prove_result_free(&r);
    assert_non_null(strstr(err, "account bb02"));
    assert_non_null(strstr(err, "negative"));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0); /* nothing written, not even --out */
    free(out);
    out = v1_fixture("negative"); /* v1, forced through by v1's test hook */
    {
        por_verify_result vr;
        assert_int_equal(por_verify_dir(out, NULL, &vr, err), CL_ERR_CRYPTO);
        assert_non_null(strstr(err, "range proof"));
        char *fp = cl_sprintf("%s/final_proof.json", out);
        char *up = cl_sprintf("%s/user_proofs/bb02.json", out);
        por_inclusion_result ir;
        assert_int_not_equal(por_verify_inclusion(up, fp, &ir, err), CL_OK);
        assert_non_null(strstr(err, "negative"));
        free(fp);
        free(up);
    }
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(ledger);
    free(out);
    free(dir);
}

static void test_final_proof_reader(void **st) {
    (void)st;
    char err[POR_ERR_LEN];
    por_statement s;
    const char *bad[] = {"",     "{",
                         "[]",   "{\"version\": \"cloister-por-v1\"}",
                         "null", "{\"version\": \"cloister-por-v0\", \"timestamp\": 1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(por_final_proof_parse(slice_cstr(bad[i]), &s, err), CL_ERR_INVALID);
        assert_non_null(strstr(err, "final_proof.json"));
    }
    uint8_t b[4];
    unhex(b, "00ff10ab");
    assert_int_equal(b[1], 0xff);
    assert_false(por_hex_decode_exact("00FF", 4, b, 2)); /* lower case only */
    assert_false(por_hex_decode_exact("00f", 3, b, 2));
}

static int teardown(void **st) {
    (void)st;
    por_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_golden),          cmocka_unit_test(test_integers),
        cmocka_unit_test(test_link_proof),      cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_negative_equity), cmocka_unit_test(test_final_proof_reader),
    };
    return cmocka_run_group_tests(t, NULL, teardown);
}

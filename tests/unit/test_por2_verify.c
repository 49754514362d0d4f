/* test_por2_verify.c — the cloister-por-v2 verifiers (verify2.c,
 * treefile2.c, userproof2.c) against proofs made here by a small test
 * prover written from the spec (POR2SPEC §2–§6), independent of prove*.c:
 * an honest proof verifies (`verify DIR`, `verify-inclusion` with and without
 * --uid, the warnings); forged ones fail with a message naming what is wrong:
 * a negative equity part (the hidden-debt attack of issue 14: −150 BTC put in
 * the equity column instead of the debt column), a part ≥ 2^k, a negative net
 * equity, published totals that are not the leaves' sums, a tampered leaf, an
 * unknown field in merkle_tree.json, a wrong uid. Widths here are ≤ 64 bits
 * (k_a 16, k_eq 32) so the test runs with any range-proof width support. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "por/por.h"
#include "por/rangeproof.h"
#include "por/verify2.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NA 2

typedef struct {
    const char *uid; /* NULL: a dummy leaf */
    por_i128 bal[NA];
    /* forging: parts as committed (default e = max(b,0), d = max(−b,0)) */
    bool forge;
    por_i128 e[NA], d[NA];
} tacct;

typedef struct {
    /* published totals: add these to the true sums (forgery) */
    por_i128 equity_delta[NA];
} tforge;

static char tmpdir[64];
static uint32_t g_bits[NA] = {16, 16}; /* range_bits of BTC, JUNK */

static void hexs(cl_buf *b, const uint8_t *p, size_t n) {
    char *h = malloc(2 * n + 1);
    hex_encode_to(h, p, n);
    buf_append_byte(b, '"');
    buf_append_cstr(b, h);
    buf_append_byte(b, '"');
    free(h);
}

static void scalar_of(por_i128 v, por_scalar *out) {
    por_scalar_from_i128(out, v);
}

typedef struct {
    uint8_t nonce[32];
    uint8_t uh[32];
    size_t uhl;
    por_i128 e[NA], d[NA];
    por_scalar pi[NA][2];
    uint8_t cm[2 * NA * POR_POINT_LEN];
    uint8_t id[32], hash[32];
} tleaf;

static void make_leaf(tleaf *L, const tacct *a, uint64_t i) {
    memset(L, 0, sizeof *L);
    uint8_t seed[8];
    for (int k = 0; k < 8; k++)
        seed[k] = (uint8_t)(i >> (8 * k));
    crypto_sha256(slice_of(seed, 8), L->nonce);
    if (a && a->uid) {
        por2_user_hash(a->uid, strlen(a->uid), L->uh);
        L->uhl = 32;
    }
    for (int s = 0; s < NA; s++) {
        por_i128 b = a ? a->bal[s] : 0;
        L->e[s] = a && a->forge ? a->e[s] : (b > 0 ? b : 0);
        L->d[s] = a && a->forge ? a->d[s] : (b < 0 ? -b : 0);
        for (uint8_t p = 0; p < 2; p++) {
            por2_blinding(L->nonce, (uint32_t)s, p, &L->pi[s][p]);
            por_scalar v;
            scalar_of(p ? L->d[s] : L->e[s], &v);
            por_point P;
            por_commit(&P, &v, &L->pi[s][p]);
            por_point_to_bytes(L->cm + (2 * s + p) * POR_POINT_LEN, &P);
        }
    }
    por2_leaf_id(L->uh, L->uhl, L->nonce, L->id);
    por2_leaf_hash(L->id, L->cm, NA, L->hash);
}

static void set_assets(por2_statement *s) {
    s->nassets = NA;
    s->assets = calloc(NA, sizeof *s->assets);
    const char *sym[NA] = {"BTC", "JUNK"};
    int64_t price[NA] = {1000, 3000};
    for (int a = 0; a < NA; a++) {
        snprintf(s->assets[a].symbol, sizeof s->assets[a].symbol, "%s", sym[a]);
        s->assets[a].usdt_decimals = 2;
        s->assets[a].price = price[a];
        s->assets[a].weight = price[a];
        s->assets[a].range_bits = g_bits[a];
    }
    s->equity_decimals = 2;
    s->net_bits = por2_net_equity_bits(s->assets, NA, NULL);
    assert_true(s->net_bits >= 8);
}

/* Column c's value and blinding for leaf L. */
static void column_value(const por2_statement *s, const tleaf *L, size_t c, por_scalar *v,
                         por_scalar *g) {
    if (c == 0) {
        por_i256 x;
        por_i256_zero(&x);
        por_scalar_zero(g);
        for (int a = 0; a < NA; a++) {
            por_i256_add_mul(&x, s->assets[a].weight, L->e[a]);
            por_i256_add_mul(&x, -s->assets[a].weight, L->d[a]);
            por_scalar w, t;
            scalar_of(s->assets[a].weight, &w);
            por_scalar_sub(&t, &L->pi[a][0], &L->pi[a][1]);
            por_scalar_mul(&t, &t, &w);
            por_scalar_add(g, g, &t);
        }
        por_i256_to_scalar(&x, v);
    } else {
        size_t a = (c - 1) / 2, p = (c - 1) % 2;
        scalar_of(p ? L->d[a] : L->e[a], v);
        *g = L->pi[a][p];
    }
}

static void prove_ranges(const por2_statement *s, const tleaf *leaves, cl_buf *rp) {
    for (size_t c = 0; c < por2_columns(NA); c++) {
        uint32_t bits = por2_column_bits(s, c);
        uint64_t B = por2_column_batch(s->padded, s->batch, bits);
        for (uint64_t j = 0; j < por2_column_batches(s->padded, s->batch, bits); j++) {
            uint32_t m = por2_range_len(s, c, j);
            por_scalar *v = calloc(m, sizeof *v), *g = calloc(m, sizeof *g);
            for (uint32_t k = 0; k < m; k++)
                column_value(s, &leaves[j * B + k], c, &v[k], &g[k]);
            por_transcript t;
            por2_range_transcript(&t, s->digest, c, j);
            assert_int_equal(por_rangeproof_prove_unchecked_wide(&t, v, g, m, bits, rp, NULL),
                             CL_OK);
            free(v);
            free(g);
        }
    }
}

static void write_file(const char *name, const char *text, size_t len) {
    char *p = cl_sprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    free(p);
}

static void write_tree(por2_statement *s, const tleaf *leaves, uint8_t (*levels)[32],
                       const cl_buf *rp, const char *extra) {
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "{\"version\": \"cloister-por-v2\", \"tree_depth\": ");
    char num[32];
    snprintf(num, sizeof num, "%u", s->depth);
    buf_append_cstr(&b, num);
    buf_append_cstr(&b, ",\n \"leaves\": [");
    for (uint64_t i = 0; i < s->padded; i++) {
        buf_append_cstr(&b, i ? ",\n  {\"id\": " : "\n  {\"id\": ");
        hexs(&b, leaves[i].id, 32);
        buf_append_cstr(&b, ", \"commitments\": ");
        hexs(&b, leaves[i].cm, sizeof leaves[i].cm);
        buf_append_cstr(&b, ", \"hash\": ");
        hexs(&b, leaves[i].hash, 32);
        buf_append_cstr(&b, extra && i == 1 ? ", \"extra\": 1}" : "}");
    }
    buf_append_cstr(&b, "],\n \"levels\": [");
    for (uint32_t j = 1; j <= s->depth; j++) {
        buf_append_cstr(&b, j > 1 ? ", [" : "[");
        for (uint64_t k = 0; k < (s->padded >> j); k++) {
            if (k) buf_append_cstr(&b, ", ");
            hexs(&b, levels[por_level_offset(s->padded, j) + k], 32);
        }
        buf_append_cstr(&b, "]");
    }
    buf_append_cstr(&b, "],\n \"range_proofs\": [");
    cl_slice all = buf_slice(rp);
    uint64_t off = 0, idx = 0;
    for (size_t c = 0; c < por2_columns(NA); c++) {
        uint32_t bits = por2_column_bits(s, c);
        for (uint64_t j = 0; j < por2_column_batches(s->padded, s->batch, bits); j++) {
            size_t len = por_rangeproof_size(por2_range_len(s, c, j), bits);
            buf_append_cstr(&b, idx++ ? ",\n  " : "\n  ");
            hexs(&b, all.ptr + off, len);
            off += len;
        }
    }
    assert_int_equal(off, all.len);
    buf_append_cstr(&b, "]}\n");
    cl_slice t = buf_slice(&b);
    write_file("merkle_tree.json", (const char *)t.ptr, t.len);
    s->tree_bytes = t.len;
    crypto_sha256(t, s->tree_sha256);
    buf_free(&b);
}

static void write_user(const por2_statement *s, const tleaf *L, const tacct *a, uint64_t i,
                       uint8_t (*levels)[32], const uint8_t (*leafh)[32]) {
    json_t *r = json_object();
    char h[129];
    json_object_set_new(r, "version", json_string("cloister-por-v2"));
    hex_encode_to(h, L->uh, 32);
    json_object_set_new(r, "user_hash", json_string(h));
    hex_encode_to(h, L->nonce, 32);
    json_object_set_new(r, "nonce", json_string(h));
    json_object_set_new(r, "leaf_index", json_integer((json_int_t)i));
    json_t *bal = json_object();
    por_i256 v;
    por_i256_zero(&v);
    for (int k = 0; k < NA; k++) {
        char t[41];
        json_object_set_new(bal, s->assets[k].symbol, json_string(por_i128_format(a->bal[k], t)));
        por_i256_add_mul(&v, s->assets[k].weight, a->bal[k]);
    }
    json_object_set_new(r, "balances", bal);
    char t[80];
    por_i256_format(&v, t);
    json_object_set_new(r, "net_equity", json_string(t));
    json_t *leaf = json_object();
    hex_encode_to(h, L->id, 32);
    json_object_set_new(leaf, "id", json_string(h));
    hex_encode_to(h, L->hash, 32);
    json_object_set_new(leaf, "hash", json_string(h));
    json_object_set_new(r, "leaf", leaf);
    json_t *path = json_array();
    uint64_t k = i;
    for (uint32_t j = 0; j < s->depth; j++, k >>= 1) {
        const uint8_t *sib =
            j == 0 ? leafh[k ^ 1] : levels[por_level_offset(s->padded, j) + (k ^ 1)];
        hex_encode_to(h, sib, 32);
        json_array_append_new(path, json_string(h));
    }
    json_object_set_new(r, "path", path);
    json_t *root = json_object();
    hex_encode_to(h, s->root_hash, 32);
    json_object_set_new(root, "hash", json_string(h));
    json_object_set_new(r, "root", root);
    hex_encode_to(h, s->digest, 32);
    json_object_set_new(r, "statement_digest", json_string(h));
    char *text = json_dumps(r, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    char *name = cl_sprintf("user_%s.json", a->uid);
    write_file(name, text, strlen(text));
    free(name);
    free(text);
    json_decref(r);
}

/* Writes a whole v2 proof of accts (padded to 2^depth) into tmpdir. */
static void make_proof(const tacct *accts, size_t count, uint32_t depth, uint32_t B,
                       const tforge *fg, const char *tree_extra) {
    por2_statement s;
    memset(&s, 0, sizeof s);
    s.timestamp = 1700000000000ull;
    s.depth = depth;
    s.padded = (uint64_t)1 << depth;
    s.batch = B;
    set_assets(&s);
    tleaf *leaves = calloc(s.padded, sizeof *leaves);
    uint8_t(*leafh)[32] = calloc(s.padded, 32);
    for (uint64_t i = 0; i < s.padded; i++) {
        make_leaf(&leaves[i], i < count ? &accts[i] : NULL, i);
        memcpy(leafh[i], leaves[i].hash, 32);
    }
    uint8_t(*levels)[32] = calloc(s.padded, 32);
    for (uint32_t j = 1; j <= depth; j++)
        for (uint64_t k = 0; k < (s.padded >> j); k++) {
            const uint8_t *l =
                j == 1 ? leafh[2 * k] : levels[por_level_offset(s.padded, j - 1) + 2 * k];
            const uint8_t *r =
                j == 1 ? leafh[2 * k + 1] : levels[por_level_offset(s.padded, j - 1) + 2 * k + 1];
            por2_node_hash(l, r, levels[por_level_offset(s.padded, j) + k]);
        }
    memcpy(s.root_hash, levels[por_level_offset(s.padded, depth)], 32);
    for (int a = 0; a < NA; a++) {
        por_i128 E = fg ? fg->equity_delta[a] : 0, D = 0;
        por_scalar RE, RD;
        por_scalar_zero(&RE);
        por_scalar_zero(&RD);
        for (uint64_t i = 0; i < s.padded; i++) {
            E += leaves[i].e[a];
            D += leaves[i].d[a];
            por_scalar_add(&RE, &RE, &leaves[i].pi[a][0]);
            por_scalar_add(&RD, &RD, &leaves[i].pi[a][1]);
        }
        por_i256_from_i128(&s.assets[a].equity, E);
        por_i256_from_i128(&s.assets[a].debt, D);
        por_scalar_to_bytes(s.assets[a].equity_blinding, &RE);
        por_scalar_to_bytes(s.assets[a].debt_blinding, &RD);
    }
    s.range_count = por2_range_count(&s);
    por2_statement_digest(&s, s.digest);
    cl_buf rp = CL_BUF_INIT;
    prove_ranges(&s, leaves, &rp);
    crypto_sha256(buf_slice(&rp), s.range_sha256);
    write_tree(&s, leaves, levels, &rp, tree_extra);
    char *fp = por2_final_proof_format(&s);
    write_file("final_proof.json", fp, strlen(fp));
    free(fp);
    for (uint64_t i = 0; i < count; i++)
        if (accts[i].uid)
            write_user(&s, &leaves[i], &accts[i], i, levels, (const uint8_t(*)[32])leafh);
    buf_free(&rp);
    free(leaves);
    free(leafh);
    free(levels);
    por2_statement_free(&s);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **st) {
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/por2v-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    if (getenv("POR2_TEST_KEEP")) /* the fuzz seeds come from here */
        fprintf(stderr, "kept %s\n", tmpdir);
    else
        nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    por_cleanup();
    return 0;
}

static cl_err verify(char err[POR_ERR_LEN], por_verify_result *r) {
    por_verify_options o = {.threads = 2};
    return por_verify_dir(tmpdir, &o, r, err);
}

static void expect_verify_fails(const char *want) {
    por_verify_result r;
    char err[POR_ERR_LEN];
    assert_int_not_equal(verify(err, &r), CL_OK);
    if (!strstr(err, want)) fail_msg("wanted \"%s\" in \"%s\"", want, err);
    por_verify_result_free(&r);
}

static cl_err inclusion(const char *uid, const char *as_uid, por_inclusion_result *r,
                        char err[POR_ERR_LEN]) {
    char *p = cl_sprintf("%s/user_%s.json", tmpdir, uid);
    char *f = cl_sprintf("%s/final_proof.json", tmpdir);
    cl_err e = por_verify_inclusion_uid(p, f, as_uid, r, err);
    free(p);
    free(f);
    return e;
}

/* alice 100 BTC; bob 50 BTC; carol −150 BTC and 60 JUNK (net 1000·−150 +
 * 3000·60 = 30000 ≥ 0): honest, BTC's net total is 0 (a warning). */
static const tacct honest[] = {
    {"alice", {100, 0}, false, {0}, {0}},
    {"bob", {50, 0}, false, {0}, {0}},
    {"carol", {-150, 60}, false, {0}, {0}},
};

static void test_honest(void **st) {
    (void)st;
    make_proof(honest, 3, 3, 2, NULL, NULL);
    por_verify_result r;
    char err[POR_ERR_LEN];
    if (verify(err, &r) != CL_OK) fail_msg("%s", err);
    assert_string_equal(r.version, "cloister-por-v2");
    assert_int_equal(r.assets, 2);
    assert_string_equal(r.totals[0].symbol, "BTC");
    assert_string_equal(r.totals[0].equity, "150");
    assert_string_equal(r.totals[0].debt, "150");
    assert_string_equal(r.totals[0].net, "0");
    assert_string_equal(r.totals[1].net, "60");
    assert_string_equal(r.total_equity, "180000");
    assert_int_equal(r.nwarnings, 1);
    assert_string_equal(r.warnings[0], "asset BTC: customers owe the exchange as much BTC as it "
                                       "owes them or more (equity 150, debt 150, net 0)");
    por_verify_result_free(&r);
    por_inclusion_result ir;
    for (int k = 0; k < 3; k++) {
        if (inclusion(honest[k].uid, honest[k].uid, &ir, err) != CL_OK) fail_msg("%s", err);
        assert_true(ir.uid_checked);
        assert_int_equal(ir.leaf_index, k);
        assert_non_null(strstr(ir.claim, "committed in leaf"));
        por_inclusion_result_free(&ir);
    }
    assert_int_equal(inclusion("carol", NULL, &ir, err), CL_OK);
    assert_string_equal(ir.equity, "30000");
    assert_false(ir.uid_checked);
    por_inclusion_result_free(&ir);
    assert_int_not_equal(inclusion("carol", "alice", &ir, err), CL_OK);
    assert_non_null(strstr(err, "this proof is not for account alice"));
    por_inclusion_result_free(&ir);
}

/* Issue 14's attack in v2 form: carol's −150 BTC goes into her equity part
 * (e = −150, d = 0), so no debt is published; the range proof of BTC's
 * equity column must fail. */
static void test_hidden_debt(void **st) {
    (void)st;
    tacct a[3] = {honest[0], honest[1], {"carol", {-150, 60}, true, {-150, 60}, {0, 0}}};
    make_proof(a, 3, 2, 2, NULL, NULL);
    expect_verify_fails("column 1 (BTC equity parts, 16 bits), batch 0, leaves 0..3");
}

static void test_part_too_wide(void **st) {
    (void)st;
    tacct a[3] = {honest[0], honest[1], {"carol", {0, 65536}, false, {0}, {0}}};
    make_proof(a, 3, 2, 2, NULL, NULL);
    expect_verify_fails("column 3 (JUNK equity parts, 16 bits)");
    /* the user's own check refuses the width before anything else */
    por_inclusion_result ir;
    char err[POR_ERR_LEN];
    assert_int_not_equal(inclusion("carol", NULL, &ir, err), CL_OK);
    assert_non_null(strstr(err, "balance of JUNK does not fit the published 16-bit range"));
}

static void test_negative_net(void **st) {
    (void)st;
    tacct a[3] = {honest[0], honest[1], {"carol", {-150, 10}, false, {0}, {0}}};
    make_proof(a, 3, 2, 1, NULL, NULL); /* B 1: column 0 has B_0 = 2 */
    expect_verify_fails("column 0 (net equity, 32 bits), batch 1, leaves 2..3");
    por_inclusion_result ir;
    char err[POR_ERR_LEN];
    assert_int_not_equal(inclusion("carol", NULL, &ir, err), CL_OK);
    assert_non_null(strstr(err, "is negative"));
}

static void test_wrong_totals(void **st) {
    (void)st;
    tforge f = {{-150, 0}};
    /* an equity total 150 lower than the leaves hold: the column sum fails */
    make_proof(honest, 3, 2, 2, &f, NULL);
    expect_verify_fails("asset BTC: the equity parts of the 4 leaves do not sum");
}

static void test_tree_tampered(void **st) {
    (void)st;
    make_proof(honest, 3, 2, 2, NULL, "extra");
    expect_verify_fails("leaf 1: unknown field \"extra\"");
    make_proof(honest, 3, 2, 2, NULL, NULL);
    /* flip one hex digit of a commitment: the size is unchanged, the digest not */
    char *p = cl_sprintf("%s/merkle_tree.json", tmpdir);
    cl_buf b = CL_BUF_INIT;
    assert_int_equal(file_read_all(p, &b, 1 << 24), CL_OK);
    buf_append_byte(&b, 0);
    char *text = (char *)buf_slice(&b).ptr;
    char *c = strstr(text, "\"commitments\": \"") + 20;
    *c = *c == '0' ? '1' : '0';
    write_file("merkle_tree.json", text, buf_slice(&b).len - 1);
    expect_verify_fails("a SHA-256 other than final_proof.json states");
    buf_free(&b);
    free(p);
}

static void test_v2_user_proof_strict(void **st) {
    (void)st;
    make_proof(honest, 3, 2, 2, NULL, NULL);
    char *p = cl_sprintf("%s/user_alice.json", tmpdir);
    cl_buf b = CL_BUF_INIT;
    assert_int_equal(file_read_all(p, &b, 1 << 20), CL_OK);
    json_t *r = json_loadb((const char *)buf_slice(&b).ptr, buf_slice(&b).len, 0, NULL);
    buf_free(&b);
    json_object_set_new(r, "equity_link_proof", json_string("00"));
    char *text = json_dumps(r, 0);
    write_file("user_alice.json", text, strlen(text));
    free(text);
    por_inclusion_result ir;
    char err[POR_ERR_LEN];
    assert_int_not_equal(inclusion("alice", NULL, &ir, err), CL_OK);
    assert_non_null(strstr(err, "unknown field \"equity_link_proof\""));
    json_object_del(r, "equity_link_proof");
    json_object_set_new(json_object_get(r, "balances"), "BTC", json_string("101"));
    text = json_dumps(r, 0);
    write_file("user_alice.json", text, strlen(text));
    free(text);
    assert_int_not_equal(inclusion("alice", NULL, &ir, err), CL_OK);
    assert_non_null(strstr(err, "net_equity"));
    json_decref(r);
    free(p);
}

/* Real widths: BTC at 128 bits holding 2^127 − 1 (an 18-decimal asset at its
 * maximum), JUNK at 64 bits; k_eq = 144. Then a JUNK part of 2^64 forced in. */
static void test_wide(void **st) {
    (void)st;
    por_i128 max = (por_i128)(((unsigned __int128)1 << 127) - 1);
    tacct a[3] = {{"alice", {max, 5}, false, {0}, {0}},
                  {"bob", {-1, (por_i128)UINT64_MAX}, false, {0}, {0}},
                  {"carol", {0, 1}, false, {0}, {0}}};
    g_bits[0] = 128;
    g_bits[1] = 64;
    make_proof(a, 3, 2, 2, NULL, NULL);
    por_verify_result r;
    char err[POR_ERR_LEN];
    if (verify(err, &r) != CL_OK) fail_msg("%s", err);
    assert_int_equal(r.net_equity_bits, 144);
    assert_string_equal(r.totals[0].equity, "170141183460469231731687303715884105727");
    assert_string_equal(r.totals[0].net, "170141183460469231731687303715884105726");
    assert_int_equal(r.nwarnings, 0);
    por_verify_result_free(&r);
    por_inclusion_result ir;
    if (inclusion("alice", "alice", &ir, err) != CL_OK) fail_msg("%s", err);
    assert_string_equal(ir.equity, "170141183460469231731687303715884105742000");
    por_inclusion_result_free(&ir);
    a[2].bal[1] = (por_i128)1 << 64;
    make_proof(a, 3, 2, 2, NULL, NULL);
    expect_verify_fails("column 3 (JUNK equity parts, 64 bits), batch 1, leaves 2..3");
    g_bits[0] = g_bits[1] = 16;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest),
        cmocka_unit_test(test_hidden_debt),
        cmocka_unit_test(test_part_too_wide),
        cmocka_unit_test(test_negative_net),
        cmocka_unit_test(test_wrong_totals),
        cmocka_unit_test(test_tree_tampered),
        cmocka_unit_test(test_v2_user_proof_strict),
        cmocka_unit_test(test_wide),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* verify2.c — the cloister-por-v2 verifiers (spec §7).
 *
 * `verify DIR`: final_proof.json (statement2.c: every check it alone allows,
 * the digest included), merkle_tree.json (size and SHA-256 as stated, read
 * by treefile2.c), then on all threads: every leaf's 2n part commitments
 * decoded (subgroup-checked, not the identity), its hash recomputed, its net
 * equity commitment V_i = Σ_a w_a·(P_{i,a} − Q_{i,a}) computed, and per
 * worker the running sums of every part column; then the ids distinct, every
 * node hash, the root, the per-asset openings Σ_i P_{i,a} = E_a·G + R^E_a·H
 * (and Q, D, R^D), the range proofs' count and digest, and every batch of
 * every column with por_rangeproof_verify_batch (column 0 against the
 * computed V_i, the part columns against their bytes). Cheapest first; the
 * verdict does not depend on the order. Failures name the leaf, the column
 * (asset and part) and the batch.
 *
 * `verify-inclusion` (v2) is userproof2.c's checks on two small files. */
#include "crypto/crypto.h"
#include "por/json2.h"
#include "por/rangeproof.h"
#include "por/verify2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SMALL_FILE_MAX (64u << 20)
#define LEAF_CHUNK 128
#define RANGE_GROUP 64

static cl_err read_small(const char *path, const char *what, cl_buf *out, char err[POR_ERR_LEN]) {
    cl_err e = file_read_all(path, out, SMALL_FILE_MAX);
    if (e == CL_ERR_NOT_FOUND) return por_fail(err, e, "%s: no such file (%s)", what, path);
    if (e == CL_ERR_TOO_LARGE) return por_fail(err, e, "%s: larger than 64 MiB (%s)", what, path);
    if (e != CL_OK) return por_fail(err, e, "%s: cannot read %s: %s", what, path, strerror(errno));
    return CL_OK;
}

bool por2_file_is_v2(const char *path) {
    cl_buf b = CL_BUF_INIT;
    bool v2 = false;
    if (file_read_all(path, &b, SMALL_FILE_MAX) == CL_OK) {
        json_t *r = json_loadb((const char *)buf_slice(&b).ptr, buf_slice(&b).len, 0, NULL);
        json_t *v = json_object_get(r, "version");
        v2 = json_is_string(v) && strcmp(json_string_value(v), POR2_VERSION) == 0;
        json_decref(r);
    }
    buf_free_secret(&b);
    return v2;
}

static cl_err load_final(const char *path, por2_statement *st, char err[POR_ERR_LEN]) {
    cl_buf b = CL_BUF_INIT;
    cl_err e = read_small(path, "final_proof.json", &b, err);
    if (e == CL_OK) e = por2_final_proof_parse(buf_slice(&b), st, err);
    buf_free(&b);
    return e;
}

static const char *part_name(uint8_t s) {
    return s == POR2_PART_EQUITY ? "equity" : "debt";
}

/* ---- the leaves: points, hashes, V_i, column sums ---- */

typedef struct {
    const por2_statement *st;
    const por2_tree_file *t;
    uint8_t *wdig; /* n × nwin 4-bit digits of w_a, most significant first */
    unsigned nwin;
    por_affine *V;   /* N computed net-equity commitments */
    por_point *sums; /* threads × 2n partial column sums */
    unsigned threads;
    uint32_t level;
    uint64_t *rp_col, *rp_batch, *rp_off, *rp_index; /* per proof, in checking order */
    por_first_error ferr;
} v2job;

static bool leaf_points(v2job *J, uint64_t i, uint8_t *bytes, por_affine *pts) {
    const por2_tree_file *t = J->t;
    size_t k2 = 2 * t->nassets;
    for (size_t k = 0; k < k2; k++) {
        memcpy(bytes + k * POR_POINT_LEN, por2_tree_part(t, k, i), POR_POINT_LEN);
        if (por_affine_from_bytes(&pts[k], bytes + k * POR_POINT_LEN) != CL_OK ||
            por_affine_is_identity(&pts[k])) {
            por_first_error_set(&J->ferr, i,
                                "merkle_tree.json: leaf %llu: the %s part commitment of asset %s "
                                "is not a valid compressed G1 point of the prime-order subgroup "
                                "(or is the identity)",
                                (unsigned long long)i, part_name((uint8_t)(k % 2)),
                                J->st->assets[k / 2].symbol);
            return false;
        }
    }
    return true;
}

/* V = Σ_a w_a·(P_a − Q_a) by 4-bit windows shared across the assets
 * (Straus): the weights are public and below 2^123, so this is several times
 * cheaper than a general multi-scalar multiplication with full-size scalars.
 * tab holds n × 16 points. */
static void net_commitment(const v2job *J, const por_affine *pts, por_point *tab, por_point *out) {
    size_t n = J->t->nassets;
    for (size_t a = 0; a < n; a++) {
        por_point *T = tab + 16 * a, q;
        por_point_identity(&T[0]);
        por_point_from_affine(&q, &pts[2 * a + 1]);
        por_point_neg(&q, &q);
        por_point_add_affine(&T[1], &q, &pts[2 * a]);
        for (int k = 2; k < 16; k++)
            por_point_add(&T[k], &T[k - 1], &T[1]);
    }
    por_point_identity(out);
    for (unsigned win = 0; win < J->nwin; win++) {
        if (win)
            for (int d = 0; d < 4; d++)
                por_point_double(out, out);
        for (size_t a = 0; a < n; a++) {
            uint8_t dig = J->wdig[a * J->nwin + win];
            if (dig) por_point_add(out, out, &tab[16 * a + dig]);
        }
    }
}

static void leaves_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    v2job *J = ctx;
    const por2_tree_file *t = J->t;
    size_t k2 = 2 * t->nassets;
    uint8_t *bytes = cl_malloc(k2 * POR_POINT_LEN);
    por_affine *pts = cl_malloc(k2 * sizeof *pts);
    por_point *tab = cl_malloc(16 * t->nassets * sizeof *tab);
    por_point *Vp = cl_malloc((e - b) * sizeof *Vp);
    por_point *sums = J->sums + (size_t)w * k2;
    size_t i;
    for (i = b; i < e && !J->ferr.failed; i++) {
        if (!leaf_points(J, i, bytes, pts)) break;
        uint8_t h[POR_HASH_LEN];
        por2_leaf_hash(t->leaf_id[i], bytes, t->nassets, h);
        if (memcmp(h, t->leaf_hash[i], POR_HASH_LEN) != 0) {
            por_first_error_set(&J->ferr, i,
                                "merkle_tree.json: leaf %zu: hash is not Ht(leaf, id ‖ P_0 ‖ Q_0 ‖ "
                                "…)",
                                i);
            break;
        }
        for (size_t k = 0; k < k2; k++)
            por_point_add_affine(&sums[k], &sums[k], &pts[k]);
        net_commitment(J, pts, tab, &Vp[i - b]);
    }
    if (i == e) por_points_to_affine(&J->V[b], Vp, e - b);
    free(bytes);
    free(pts);
    free(tab);
    free(Vp);
}

/* The weights' 4-bit digits for net_commitment (w_a >= 0, below 2^123). */
static void weight_digits(v2job *J) {
    const por2_statement *st = J->st;
    unsigned bits = 1;
    for (size_t a = 0; a < st->nassets; a++) {
        unsigned __int128 w = (unsigned __int128)st->assets[a].weight;
        unsigned l = 0;
        while (w >> l && l < 128)
            l++;
        if (l > bits) bits = l;
    }
    J->nwin = (bits + 3) / 4;
    J->wdig = cl_malloc(st->nassets * J->nwin);
    for (size_t a = 0; a < st->nassets; a++) {
        unsigned __int128 w = (unsigned __int128)st->assets[a].weight;
        for (unsigned win = 0; win < J->nwin; win++)
            J->wdig[a * J->nwin + win] = (uint8_t)((w >> (4 * (J->nwin - 1 - win))) & 15);
    }
}

static int cmp_id(const void *a, const void *b) {
    return memcmp(a, b, POR_HASH_LEN);
}

static cl_err check_ids(const por2_tree_file *t, char err[POR_ERR_LEN]) {
    uint8_t(*ids)[POR_HASH_LEN] = cl_malloc(t->N * sizeof *ids);
    memcpy(ids, t->leaf_id, t->N * sizeof *ids);
    qsort(ids, t->N, sizeof *ids, cmp_id);
    cl_err e = CL_OK;
    for (uint64_t i = 1; i < t->N && e == CL_OK; i++)
        if (memcmp(ids[i - 1], ids[i], POR_HASH_LEN) == 0) {
            char hex[2 * POR_HASH_LEN + 1];
            hex_encode_to(hex, ids[i], POR_HASH_LEN);
            e = por_fail(err, CL_ERR_CRYPTO,
                         "merkle_tree.json: leaf ids are not distinct (id %s appears more than "
                         "once): a leaf is reused",
                         hex);
        }
    free(ids);
    return e;
}

static const uint8_t *node_h(const por2_tree_file *t, uint32_t j, uint64_t k) {
    return j == 0 ? t->leaf_hash[k] : t->node_hash[por_level_offset(t->N, j) + k];
}

static void level_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    v2job *J = ctx;
    const por2_tree_file *t = J->t;
    uint32_t j = J->level;
    uint64_t off = por_level_offset(t->N, j);
    for (size_t k = b; k < e && !J->ferr.failed; k++) {
        uint8_t h[POR_HASH_LEN];
        por2_node_hash(node_h(t, j - 1, 2 * k), node_h(t, j - 1, 2 * k + 1), h);
        if (memcmp(h, t->node_hash[off + k], POR_HASH_LEN) != 0) {
            por_first_error_set(&J->ferr, off + k,
                                "merkle_tree.json: level %u node %zu: hash is not Ht(node, h_l ‖ "
                                "h_r)",
                                j, k);
            return;
        }
    }
}

static cl_err check_tree(v2job *J, const por_progress *pg, char err[POR_ERR_LEN]) {
    const por2_tree_file *t = J->t;
    por_parallel(J->threads, t->N, LEAF_CHUNK, leaves_chunk, J, pg, "checking leaves");
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    CL_TRY(check_ids(t, err));
    for (uint32_t j = 1; j <= t->depth && !J->ferr.failed; j++) {
        J->level = j;
        por_parallel(J->threads, t->N >> j, 1024, level_chunk, J, NULL, "checking nodes");
    }
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    if (memcmp(t->node_hash[por_level_offset(t->N, t->depth)], J->st->root_hash, POR_HASH_LEN))
        return por_fail(err, CL_ERR_CRYPTO,
                        "merkle_tree.json: the tree's root is not final_proof.json's root");
    return CL_OK;
}

/* Σ_i P_{i,a} == E_a·G + R^E_a·H and Σ_i Q_{i,a} == D_a·G + R^D_a·H. */
static cl_err check_sums(v2job *J, char err[POR_ERR_LEN]) {
    const por2_statement *st = J->st;
    size_t k2 = 2 * st->nassets;
    for (size_t k = 0; k < k2; k++) {
        por_point S;
        por_point_identity(&S);
        for (unsigned w = 0; w < J->threads; w++)
            por_point_add(&S, &S, &J->sums[(size_t)w * k2 + k]);
        const por2_asset *a = &st->assets[k / 2];
        por_scalar v, r;
        por_i256_to_scalar(k % 2 ? &a->debt : &a->equity, &v);
        (void)por_scalar_from_bytes(&r, k % 2 ? a->debt_blinding : a->equity_blinding);
        por_point C;
        por_commit(&C, &v, &r);
        if (!por_point_eq(&C, &S))
            return por_fail(err, CL_ERR_CRYPTO,
                            "asset %s: the %s parts of the %llu leaves do not sum to %s·G + "
                            "%s_blinding·H: the published %s total is not what the tree holds",
                            a->symbol, part_name((uint8_t)(k % 2)), (unsigned long long)st->padded,
                            part_name((uint8_t)(k % 2)), part_name((uint8_t)(k % 2)),
                            part_name((uint8_t)(k % 2)));
    }
    return CL_OK;
}

/* ---- range proofs ---- */

static void column_name(const por2_statement *st, size_t c, char *out, size_t len) {
    if (c == 0)
        snprintf(out, len, "column 0 (net equity, %u bits)", st->net_bits);
    else
        snprintf(out, len, "column %zu (%s %s parts, %u bits)", c, st->assets[(c - 1) / 2].symbol,
                 part_name((uint8_t)((c - 1) % 2)), por2_column_bits(st, c));
}

static por_rangeproof_item range_item(v2job *J, uint64_t k, por_transcript *tr) {
    const por2_statement *st = J->st;
    uint64_t c = J->rp_col[k], j = J->rp_batch[k];
    uint32_t bits = por2_column_bits(st, c), len = por2_range_len(st, c, j);
    uint64_t first = j * por2_column_batch(st->padded, st->batch, bits);
    por2_range_transcript(tr, st->digest, c, j);
    por_rangeproof_item it = {
        .transcript = tr,
        .m = len,
        .n = bits,
        .proof = slice_of(J->t->range_proofs + J->rp_off[k], por_rangeproof_size(len, bits)),
        .wide = true};
    if (c == 0)
        it.commitment_points = &J->V[first];
    else
        it.commitments = por2_tree_part(J->t, c - 1, first);
    return it;
}

static void range_fail(v2job *J, uint64_t k) {
    const por2_statement *st = J->st;
    uint64_t c = J->rp_col[k], j = J->rp_batch[k];
    uint32_t bits = por2_column_bits(st, c);
    uint64_t first = j * por2_column_batch(st->padded, st->batch, bits);
    char col[96];
    column_name(st, c, col, sizeof col);
    por_first_error_set(&J->ferr, k,
                        "range proof %llu (%s, batch %llu, leaves %llu..%llu) does not verify: "
                        "some %s there is not in [0, 2^%u)",
                        (unsigned long long)J->rp_index[k], col, (unsigned long long)j,
                        (unsigned long long)first,
                        (unsigned long long)(first + por2_range_len(st, c, j) - 1),
                        c == 0        ? "net equity"
                        : (c - 1) % 2 ? "debt part"
                                      : "equity part",
                        bits);
}

static void range_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    v2job *J = ctx;
    if (J->ferr.failed) return;
    size_t cnt = e - b;
    por_transcript *ts = cl_malloc(cnt * sizeof *ts);
    por_rangeproof_item *items = cl_malloc(cnt * sizeof *items);
    for (size_t k = b; k < e; k++)
        items[k - b] = range_item(J, k, &ts[k - b]);
    if (por_rangeproof_verify_batch(items, cnt) != CL_OK) {
        size_t bad = b; /* the first failing proof, for the message */
        for (size_t k = b; k < e; k++) {
            por_transcript tr;
            por_rangeproof_item one = range_item(J, k, &tr);
            if (por_rangeproof_verify_batch(&one, 1) != CL_OK) {
                bad = k;
                break;
            }
        }
        range_fail(J, bad);
    }
    free(ts);
    free(items);
}

/* The order proofs are checked in: the part columns first, then column 0,
 * so a proof whose parts are out of range (which also breaks its leaves' net
 * equity) is reported in the part column, the cause. */
static void range_layout(v2job *J) {
    const por2_statement *st = J->st;
    size_t cols = por2_columns(st->nassets);
    uint64_t n = J->t->rp_count, k = 0;
    J->rp_col = cl_malloc(n * sizeof *J->rp_col);
    J->rp_batch = cl_malloc(n * sizeof *J->rp_batch);
    J->rp_off = cl_malloc(n * sizeof *J->rp_off);
    J->rp_index = cl_malloc(n * sizeof *J->rp_index);
    for (size_t o = 1; o <= cols; o++) {
        size_t c = o % cols; /* 1, 2, ..., 2n, 0 */
        uint32_t bits = por2_column_bits(st, c);
        uint64_t nb = por2_column_batches(st->padded, st->batch, bits);
        uint64_t first = por2_range_first(st, c);
        for (uint64_t j = 0; j < nb && k < n; j++, k++) {
            J->rp_col[k] = c;
            J->rp_batch[k] = j;
            J->rp_off[k] = por2_range_offset(st, c, j);
            J->rp_index[k] = first + j;
        }
    }
}

static cl_err check_range(v2job *J, const por_progress *pg, char err[POR_ERR_LEN]) {
    const por2_tree_file *t = J->t;
    uint8_t d[POR_HASH_LEN];
    crypto_sha256(slice_of(t->range_proofs, t->rp_total), d);
    if (memcmp(d, J->st->range_sha256, POR_HASH_LEN) != 0)
        return por_fail(err, CL_ERR_CRYPTO,
                        "the range proofs in merkle_tree.json do not match range_proofs.sha256");
    range_layout(J);
    size_t group = t->rp_count / J->threads / 4;
    if (group > RANGE_GROUP) group = RANGE_GROUP;
    if (group < 1) group = 1;
    por_parallel(J->threads, t->rp_count, group, range_chunk, J, pg, "range proofs");
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    return CL_OK;
}

/* ---- verify DIR ---- */

static cl_err read_tree(const char *dir, const por2_statement *st, por2_tree_file *t,
                        const por_progress *pg, char err[POR_ERR_LEN]) {
    char *path = cl_sprintf("%s/merkle_tree.json", dir);
    /* The arrays are sized by N before reading: the file must be as big as
     * stated and big enough for N leaves, so a forged tree_depth cannot make
     * the verifier allocate more than a small multiple of the file's size. */
    struct stat sb;
    cl_err e = CL_OK;
    if (stat(path, &sb) != 0) {
        e = por_fail(err, CL_ERR_NOT_FOUND, "merkle_tree.json: cannot open %s: %s", path,
                     strerror(errno));
    } else if ((uint64_t)sb.st_size != st->tree_bytes || st->tree_bytes < por2_tree_min_bytes(st)) {
        e = por_fail(err, CL_ERR_CRYPTO,
                     "merkle_tree.json has %llu bytes, but final_proof.json states %llu (for "
                     "%llu leaves): the file was changed or does not belong to this proof",
                     (unsigned long long)sb.st_size, (unsigned long long)st->tree_bytes,
                     (unsigned long long)st->padded);
    }
    por_source src;
    if (e == CL_OK && (e = por_source_file(&src, path)) != CL_OK)
        por_fail(err, e, "merkle_tree.json: cannot open %s: %s", path, strerror(errno));
    free(path);
    if (e != CL_OK) return e;
    e = por2_tree_read(&src, st, st->tree_bytes, t, pg, err);
    if (src.close) src.close(src.ctx);
    if (e != CL_OK) return e;
    if (t->bytes != st->tree_bytes || memcmp(t->sha256, st->tree_sha256, POR_HASH_LEN) != 0)
        return por_fail(err, CL_ERR_CRYPTO,
                        "merkle_tree.json has %llu bytes and a SHA-256 other than final_proof.json "
                        "states (merkle_tree.bytes %llu): the file was changed",
                        (unsigned long long)t->bytes, (unsigned long long)st->tree_bytes);
    return CL_OK;
}

static void fill_totals(const por2_statement *st, por_asset_total **out) {
    *out = cl_calloc(st->nassets, sizeof **out);
    for (size_t a = 0; a < st->nassets; a++) {
        const por2_asset *x = &st->assets[a];
        por_asset_total *o = &(*out)[a];
        snprintf(o->symbol, sizeof o->symbol, "%s", x->symbol);
        por_i256_format(&x->equity, o->equity);
        por_i256_format(&x->debt, o->debt);
        por_i256 net = x->equity;
        por_i256_sub(&net, &x->debt);
        por_i256_format(&net, o->net);
    }
}

static void fill_warnings(const por2_statement *st, char (**out)[POR_ERR_LEN], size_t *n) {
    size_t max = 2 * st->nassets;
    *out = cl_calloc(max, sizeof **out);
    *n = por2_warnings(st, *out, max);
}

static void fill_result(const por2_statement *st, por_verify_result *res) {
    res->padded = st->padded;
    res->assets = st->nassets;
    res->depth = st->depth;
    res->batch = st->batch;
    res->equity_decimals = st->equity_decimals;
    res->net_equity_bits = st->net_bits;
    hex_encode_to(res->root_hash, st->root_hash, POR_HASH_LEN);
    por_i256 total;
    por2_total_net_equity(st, &total);
    por_i256_format(&total, res->total_equity);
    fill_totals(st, &res->totals);
    fill_warnings(st, &res->warnings, &res->nwarnings);
}

static cl_err verify_loaded(const char *dir, const por2_statement *st, const por_verify_options *o,
                            por_verify_result *res, char err[POR_ERR_LEN]) {
    uint64_t t0 = time_mono_ns();
    const por_progress *pg = o->progress.fn ? &o->progress : NULL;
    por2_tree_file t;
    memset(&t, 0, sizeof t);
    cl_err e = read_tree(dir, st, &t, pg, err);
    res->t_read = por_secs_since(t0);
    v2job J = {.st = st, .t = &t};
    J.threads = o->threads ? o->threads : por_default_threads();
    por_first_error_init(&J.ferr);
    uint64_t t1 = time_mono_ns();
    if (e == CL_OK) {
        size_t n = st->nassets;
        weight_digits(&J);
        J.V = cl_malloc(t.N * sizeof *J.V);
        J.sums = cl_malloc((size_t)J.threads * 2 * n * sizeof *J.sums);
        for (size_t k = 0; k < (size_t)J.threads * 2 * n; k++)
            por_point_identity(&J.sums[k]);
        e = check_tree(&J, pg, err);
    }
    res->t_tree = por_secs_since(t1);
    t1 = time_mono_ns();
    if (e == CL_OK) e = check_sums(&J, err);
    res->t_link = por_secs_since(t1);
    t1 = time_mono_ns();
    if (e == CL_OK) e = check_range(&J, pg, err);
    res->t_range = por_secs_since(t1);
    free(J.wdig);
    free(J.V);
    free(J.sums);
    free(J.rp_col);
    free(J.rp_batch);
    free(J.rp_off);
    free(J.rp_index);
    por_first_error_free(&J.ferr);
    por2_tree_free(&t);
    return e;
}

cl_err por2_verify_dir(const char *dir, const por_verify_options *o, por_verify_result *res,
                       char err[POR_ERR_LEN]) {
    uint64_t t0 = time_mono_ns();
    memset(res, 0, sizeof *res);
    err[0] = 0;
    static const por_verify_options defaults = {0};
    if (!o) o = &defaults;
    snprintf(res->version, sizeof res->version, "%s", POR2_VERSION);
    por2_statement st;
    char *fp = cl_sprintf("%s/final_proof.json", dir);
    cl_err e = load_final(fp, &st, err);
    free(fp);
    if (e != CL_OK) return e;
    e = verify_loaded(dir, &st, o, res, err);
    if (e == CL_OK) fill_result(&st, res);
    por2_statement_free(&st);
    res->t_total = por_secs_since(t0);
    return e;
}

/* ---- verify-inclusion ---- */

cl_err por2_verify_inclusion(const char *proof_path, const char *final_proof_path, const char *uid,
                             por_inclusion_result *res, char err[POR_ERR_LEN]) {
    memset(res, 0, sizeof *res);
    err[0] = 0;
    por2_statement st;
    CL_TRY(load_final(final_proof_path, &st, err));
    cl_buf b = CL_BUF_INIT;
    por2_user_proof u;
    memset(&u, 0, sizeof u);
    cl_err e = read_small(proof_path, "user proof", &b, err);
    if (e == CL_OK) e = por2_user_proof_parse(buf_slice(&b), &st, &u, err);
    buf_free_secret(&b);
    if (e == CL_OK) e = por2_user_proof_check(&st, &u, uid, err);
    if (e == CL_OK) {
        snprintf(res->version, sizeof res->version, "%s", POR2_VERSION);
        hex_encode_to(res->user_hash, u.user_hash, u.user_hash_len);
        res->leaf_index = u.leaf_index;
        snprintf(res->equity, sizeof res->equity, "%s", u.net_text);
        res->equity_decimals = st.equity_decimals;
        hex_encode_to(res->root_hash, st.root_hash, POR_HASH_LEN);
        hex_encode_to(res->statement_digest, st.digest, POR_HASH_LEN);
        res->timestamp = st.timestamp;
        res->uid_checked = uid != NULL;
        por2_inclusion_claim(u.leaf_index, res->claim, sizeof res->claim);
        res->assets = st.nassets;
        fill_totals(&st, &res->totals);
        fill_warnings(&st, &res->warnings, &res->nwarnings);
    }
    por2_user_proof_free(&u);
    por2_statement_free(&st);
    return e;
}

void por_user_hash_hex(const char *uid, char out[65]) {
    uint8_t h[POR_HASH_LEN];
    por2_user_hash(uid, strlen(uid), h);
    hex_encode_to(out, h, POR_HASH_LEN);
}

void por_verify_result_free(por_verify_result *r) {
    if (!r) return;
    free(r->totals);
    free(r->warnings);
    r->totals = NULL;
    r->warnings = NULL;
    r->nwarnings = 0;
}

void por_inclusion_result_free(por_inclusion_result *r) {
    if (!r) return;
    free(r->totals);
    free(r->warnings);
    r->totals = NULL;
    r->warnings = NULL;
    r->nwarnings = 0;
}

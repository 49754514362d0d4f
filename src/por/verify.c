/* verify.c — the two verifiers of docs/por.md §9.
 *
 * `verify DIR` checks the whole published proof: final_proof.json (jansson,
 * small) and merkle_tree.json (streamed by treefile.c into flat arrays), then
 * the expensive parts on all threads: decoding every leaf point with the
 * subgroup check, leaf and node hashes, node sums (computed, compressed and
 * compared bytewise with the published ones, so inner nodes never need a
 * decode), the link proof's two N-point MSMs, and the range proofs, verified
 * in groups with por_rangeproof_verify_batch (one MSM per group) on parallel
 * threads. Steps run cheapest first so a broken file fails fast; acceptance
 * does not depend on the order.
 *
 * `verify-inclusion` is the user's check (steps 1–5), on two small files.
 *
 * Both entry points read final_proof.json's "version" first: cloister-por-v2
 * files go to verify2.c; v1 files are checked here, unchanged. */
#include "por/protocol.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"
#include "por/verify2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SMALL_FILE_MAX (64u << 20)
#define DECODE_CHUNK 256
#define RANGE_GROUP 64 /* range proofs per batch-verification MSM */

static cl_err read_small(const char *path, const char *what, cl_buf *out, char err[POR_ERR_LEN]) {
    cl_err e = file_read_all(path, out, SMALL_FILE_MAX);
    if (e == CL_ERR_NOT_FOUND) return por_fail(err, e, "%s: no such file (%s)", what, path);
    if (e == CL_ERR_TOO_LARGE) return por_fail(err, e, "%s: larger than 64 MiB (%s)", what, path);
    if (e != CL_OK) return por_fail(err, e, "%s: cannot read %s: %s", what, path, strerror(errno));
    return CL_OK;
}

static cl_err load_final(const char *path, por_statement *st, char err[POR_ERR_LEN]) {
    cl_buf b = CL_BUF_INIT;
    cl_err e = read_small(path, "final_proof.json", &b, err);
    if (e == CL_OK) e = por_final_proof_parse(buf_slice(&b), st, err);
    buf_free(&b);
    return e;
}

/* ---- verify DIR ---- */

typedef struct {
    const por_statement *st;
    const por_tree_file *t;
    por_affine *L, *V;      /* decoded leaves */
    por_affine *prev, *cur; /* node sums, one level at a time */
    uint32_t j;
    por_first_error ferr;
} vjob;

static void leaves_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    vjob *J = ctx;
    const por_tree_file *t = J->t;
    for (size_t i = b; i < e && !J->ferr.failed; i++) {
        if (por_affine_from_bytes(&J->L[i], t->leaf_L[i]) != CL_OK) {
            por_first_error_set(&J->ferr, i,
                                "merkle_tree.json: leaf %zu: commitment is not a "
                                "valid compressed G1 point of the prime-order subgroup",
                                i);
            return;
        }
        if (por_affine_from_bytes(&J->V[i], t->leaf_V[i]) != CL_OK) {
            por_first_error_set(&J->ferr, i,
                                "merkle_tree.json: leaf %zu: equity_commitment is "
                                "not a valid compressed G1 point of the prime-order subgroup",
                                i);
            return;
        }
        uint8_t h[POR_HASH_LEN];
        por_leaf_hash(t->leaf_id[i], t->leaf_L[i], t->leaf_V[i], h);
        if (memcmp(h, t->leaf_hash[i], POR_HASH_LEN) != 0) {
            por_first_error_set(&J->ferr, i,
                                "merkle_tree.json: leaf %zu: hash is not "
                                "Ht(leaf, id ‖ L ‖ V)",
                                i);
            return;
        }
    }
}

static const uint8_t *node_h(const por_tree_file *t, uint32_t j, uint64_t k) {
    return j == 0 ? t->leaf_hash[k] : t->node_hash[por_level_offset(t->N, j) + k];
}
static const uint8_t *node_c(const por_tree_file *t, uint32_t j, uint64_t k) {
    return j == 0 ? t->leaf_L[k] : t->node_C[por_level_offset(t->N, j) + k];
}

static void level_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    vjob *J = ctx;
    const por_tree_file *t = J->t;
    por_point *P = cl_malloc((e - b) * sizeof *P);
    for (size_t k = b; k < e; k++) {
        por_point_from_affine(&P[k - b], &J->prev[2 * k]);
        por_point_add_affine(&P[k - b], &P[k - b], &J->prev[2 * k + 1]);
    }
    por_points_to_affine(&J->cur[b], P, e - b);
    free(P);
    uint64_t off = por_level_offset(t->N, J->j);
    for (size_t k = b; k < e; k++) {
        uint8_t c[POR_POINT_LEN], h[POR_HASH_LEN];
        por_affine_to_bytes(c, &J->cur[k]);
        if (memcmp(c, t->node_C[off + k], POR_POINT_LEN) != 0) {
            por_first_error_set(&J->ferr, off + k,
                                "merkle_tree.json: level %u node %zu: "
                                "commitment is not the sum of its children's",
                                J->j, k);
            return;
        }
        por_node_hash(node_h(t, J->j - 1, 2 * k), node_c(t, J->j - 1, 2 * k),
                      node_h(t, J->j - 1, 2 * k + 1), node_c(t, J->j - 1, 2 * k + 1), h);
        if (memcmp(h, t->node_hash[off + k], POR_HASH_LEN) != 0) {
            por_first_error_set(&J->ferr, off + k,
                                "merkle_tree.json: level %u node %zu: hash "
                                "is not Ht(node, h_l ‖ C_l ‖ h_r ‖ C_r)",
                                J->j, k);
            return;
        }
    }
}

static int cmp_id(const void *a, const void *b) {
    return memcmp(a, b, POR_HASH_LEN);
}

static cl_err check_ids(const por_tree_file *t, char err[POR_ERR_LEN]) {
    uint8_t(*ids)[POR_HASH_LEN] = cl_malloc(t->N * sizeof *ids);
    memcpy(ids, t->leaf_id, t->N * sizeof *ids);
    qsort(ids, t->N, sizeof *ids, cmp_id);
    cl_err e = CL_OK;
    for (uint64_t i = 1; i < t->N && e == CL_OK; i++)
        if (memcmp(ids[i - 1], ids[i], POR_HASH_LEN) == 0) {
            char hex[2 * POR_HASH_LEN + 1];
            hex_encode_to(hex, ids[i], POR_HASH_LEN);
            e = por_fail(
                err, CL_ERR_CRYPTO,
                "merkle_tree.json: leaf ids are not distinct (id %s appears more than once): "
                "a leaf is reused",
                hex);
        }
    free(ids);
    return e;
}

static cl_err check_tree(vjob *J, unsigned threads, const por_progress *pg, char err[POR_ERR_LEN]) {
    const por_tree_file *t = J->t;
    por_parallel(threads, t->N, DECODE_CHUNK, leaves_chunk, J, pg, "checking leaves");
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    CL_TRY(check_ids(t, err));
    J->prev = J->L;
    for (uint32_t j = 1; j <= t->depth; j++) {
        J->j = j;
        J->cur = cl_malloc((t->N >> j) * sizeof *J->cur);
        por_parallel(threads, t->N >> j, 512, level_chunk, J, j == 1 ? pg : NULL, "checking nodes");
        if (J->prev != J->L) free(J->prev);
        J->prev = J->cur;
        J->cur = NULL;
        if (J->ferr.failed) break;
    }
    if (J->prev != J->L) free(J->prev);
    J->prev = NULL;
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    uint64_t root = por_level_offset(t->N, t->depth);
    if (memcmp(t->node_hash[root], J->st->root_hash, POR_HASH_LEN) != 0 ||
        memcmp(t->node_C[root], J->st->root_commitment, POR_POINT_LEN) != 0)
        return por_fail(err, CL_ERR_CRYPTO,
                        "merkle_tree.json: the tree's root is not final_proof.json's root");
    return CL_OK;
}

static void range_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    vjob *J = ctx;
    const por_tree_file *t = J->t;
    if (J->ferr.failed) return;
    size_t cnt = e - b;
    por_transcript *ts = cl_malloc(cnt * sizeof *ts);
    por_rangeproof_item *items = cl_malloc(cnt * sizeof *items);
    for (size_t j = b; j < e; j++) {
        por_range_transcript(&ts[j - b], J->st->digest, j);
        const uint8_t *proof = t->range_proofs + por_range_offset(t->N, t->batch, j);
        items[j - b] = (por_rangeproof_item){&ts[j - b],
                                             NULL,
                                             por_range_len(t->N, t->batch, j),
                                             POR_RANGE_BITS,
                                             slice_of(proof, por_range_size(t->N, t->batch, j)),
                                             &J->V[j * t->batch]};
    }
    cl_err e2 = por_rangeproof_verify_batch(items, cnt);
    if (e2 != CL_OK) {
        /* find the first failing batch for the message */
        size_t bad = b;
        for (size_t j = b; j < e; j++) {
            por_transcript tr;
            por_range_transcript(&tr, J->st->digest, j);
            if (por_rangeproof_verify_points(&tr, &J->V[j * t->batch], items[j - b].m,
                                             POR_RANGE_BITS, items[j - b].proof) != CL_OK) {
                bad = j;
                break;
            }
        }
        por_first_error_set(&J->ferr, bad,
                            "range proof %zu (leaves %zu..%zu) does not verify: some equity there "
                            "is not in [0, 2^64)",
                            bad, bad * t->batch, bad * t->batch + items[bad - b].m - 1);
    }
    free(ts);
    free(items);
}

static cl_err check_range(vjob *J, unsigned threads, const por_progress *pg,
                          char err[POR_ERR_LEN]) {
    const por_tree_file *t = J->t;
    uint8_t d[POR_HASH_LEN];
    crypto_sha256(slice_of(t->range_proofs, t->rp_total), d);
    if (memcmp(d, J->st->range_sha256, POR_HASH_LEN) != 0)
        return por_fail(err, CL_ERR_CRYPTO,
                        "the range proofs in merkle_tree.json do not match range_proofs.sha256");
    size_t group = t->rp_count / threads / 4;
    if (group > RANGE_GROUP) group = RANGE_GROUP;
    if (group < 1) group = 1;
    por_parallel(threads, t->rp_count, group, range_chunk, J, pg, "range proofs");
    if (J->ferr.failed) return por_fail(err, CL_ERR_CRYPTO, "%s", J->ferr.msg);
    return CL_OK;
}

static cl_err verify_tree_file(const char *dir, const por_statement *st, por_tree_file *t,
                               const por_progress *pg, char err[POR_ERR_LEN]) {
    char *path = cl_sprintf("%s/merkle_tree.json", dir);
    /* The arrays are sized by N before reading: first make sure the file is as
     * big as stated, and that a tree of N leaves fits in that (every leaf takes
     * at least its 320 hex digits), so a forged tree_depth cannot make the
     * verifier allocate more than a small multiple of the file's size. */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        por_fail(err, CL_ERR_NOT_FOUND, "merkle_tree.json: cannot open %s: %s", path,
                 strerror(errno));
        free(path);
        return CL_ERR_NOT_FOUND;
    }
    if ((uint64_t)sb.st_size != st->tree_bytes || st->tree_bytes / 320 < st->padded) {
        por_fail(err, CL_ERR_CRYPTO,
                 "merkle_tree.json has %llu bytes, but final_proof.json states %llu (for %llu "
                 "leaves): the file was changed or does not belong to this proof",
                 (unsigned long long)sb.st_size, (unsigned long long)st->tree_bytes,
                 (unsigned long long)st->padded);
        free(path);
        return CL_ERR_CRYPTO;
    }
    por_source src;
    cl_err e = por_source_file(&src, path);
    if (e != CL_OK) {
        por_fail(err, e, "merkle_tree.json: cannot open %s: %s", path, strerror(errno));
        free(path);
        return e;
    }
    free(path);
    e = por_tree_read(&src, st->depth, st->batch, st->tree_bytes, t, pg, err);
    if (src.close) src.close(src.ctx);
    if (e != CL_OK) return e;
    if (t->bytes != st->tree_bytes || memcmp(t->sha256, st->tree_sha256, POR_HASH_LEN) != 0)
        return por_fail(err, CL_ERR_CRYPTO,
                        "merkle_tree.json has %llu bytes and a SHA-256 other than final_proof.json "
                        "states (merkle_tree.bytes %llu): the file was changed",
                        (unsigned long long)t->bytes, (unsigned long long)st->tree_bytes);
    return CL_OK;
}

cl_err por_verify_dir(const char *dir, const por_verify_options *o, por_verify_result *res,
                      char err[POR_ERR_LEN]) {
    uint64_t t0 = time_mono_ns();
    memset(res, 0, sizeof *res);
    err[0] = 0;
    char *fp = cl_sprintf("%s/final_proof.json", dir);
    bool v2 = por2_file_is_v2(fp);
    free(fp);
    if (v2) return por2_verify_dir(dir, o, res, err);
    snprintf(res->version, sizeof res->version, "%s", POR_VERSION);
    static const por_verify_options defaults = {0};
    if (!o) o = &defaults;
    const por_progress *pg = o->progress.fn ? &o->progress : NULL;
    unsigned threads = o->threads ? o->threads : por_default_threads();
    por_statement st;
    fp = cl_sprintf("%s/final_proof.json", dir);
    cl_err e = load_final(fp, &st, err); /* steps 1 and 5 */
    free(fp);
    if (e != CL_OK) return e;
    por_tree_file t;
    memset(&t, 0, sizeof t);
    e = verify_tree_file(dir, &st, &t, pg, err); /* step 2: shape, size, digest */
    res->t_read = por_secs_since(t0);
    vjob J = {.st = &st, .t = &t};
    por_first_error_init(&J.ferr);
    if (e == CL_OK) e = por_statement_check_opening(&st, err); /* step 4 */
    uint64_t t1 = time_mono_ns();
    if (e == CL_OK) {
        J.L = cl_malloc(t.N * sizeof *J.L);
        J.V = cl_malloc(t.N * sizeof *J.V);
        e = check_tree(&J, threads, pg, err); /* steps 2 (points, ids) and 3 */
    }
    res->t_tree = por_secs_since(t1);
    t1 = time_mono_ns();
    if (e == CL_OK) { /* step 6 */
        por_report(pg, "link proof", 0, 1);
        e = por_link_verify(st.digest, st.assets, st.nassets, J.L, J.V, t.N,
                            slice_of(st.link_proof, st.link_proof_len), threads);
        por_report(pg, "link proof", 1, 1);
        if (e != CL_OK)
            por_fail(err, e,
                     "the equity link proof does not verify: some leaf's equity commitment V "
                     "is not Σ weight·balance of its balance commitment L");
    }
    res->t_link = por_secs_since(t1);
    t1 = time_mono_ns();
    if (e == CL_OK) e = check_range(&J, threads, pg, err); /* step 7 */
    res->t_range = por_secs_since(t1);
    if (e == CL_OK) {
        res->padded = st.padded;
        res->assets = st.nassets;
        res->depth = st.depth;
        res->batch = st.batch;
        res->equity_decimals = st.equity_decimals;
        hex_encode_to(res->root_hash, st.root_hash, POR_HASH_LEN);
        snprintf(res->total_equity, sizeof res->total_equity, "%s", st.total_equity);
    }
    free(J.L);
    free(J.V);
    por_first_error_free(&J.ferr);
    por_tree_free(&t);
    por_statement_free(&st);
    res->t_total = por_secs_since(t0);
    return e;
}

/* ---- verify-inclusion ---- */

cl_err por_verify_inclusion(const char *proof_path, const char *final_proof_path,
                            por_inclusion_result *res, char err[POR_ERR_LEN]) {
    return por_verify_inclusion_uid(proof_path, final_proof_path, NULL, res, err);
}

cl_err por_verify_inclusion_uid(const char *proof_path, const char *final_proof_path,
                                const char *uid, por_inclusion_result *res, char err[POR_ERR_LEN]) {
    if (por2_file_is_v2(final_proof_path))
        return por2_verify_inclusion(proof_path, final_proof_path, uid, res, err);
    memset(res, 0, sizeof *res);
    err[0] = 0;
    por_statement st;
    CL_TRY(load_final(final_proof_path, &st, err));
    if (uid) {
        por_statement_free(&st);
        return por_fail(err, CL_ERR_INVALID,
                        "--uid: %s is a cloister-por-v1 proof, whose user hashes follow no "
                        "published rule; only cloister-por-v2 proofs can be checked against an "
                        "account identifier",
                        final_proof_path);
    }
    cl_buf b = CL_BUF_INIT;
    por_user_proof u;
    memset(&u, 0, sizeof u);
    cl_err e = read_small(proof_path, "user proof", &b, err);
    if (e == CL_OK) e = por_user_proof_parse(buf_slice(&b), &st, &u, err);
    buf_free_secret(&b);
    if (e == CL_OK) e = por_user_proof_check(&st, &u, err);
    if (e == CL_OK) {
        hex_encode_to(res->user_hash, u.user_hash, u.user_hash_len);
        res->leaf_index = u.leaf_index;
        snprintf(res->equity, sizeof res->equity, "%s", u.equity);
        res->equity_decimals = st.equity_decimals;
        hex_encode_to(res->root_hash, st.root_hash, POR_HASH_LEN);
        res->timestamp = st.timestamp;
    }
    por_user_proof_free(&u);
    por_statement_free(&st);
    return e;
}

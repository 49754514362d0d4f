/* fuzz_por2_proof.c — libFuzzer target for cloister-por-v2's parsers of
 * untrusted input: final_proof.json (statement2.c), merkle_tree.json
 * (treefile2.c over jreader.c) and user proofs (userproof2.c).
 *
 * Byte 0 chooses what the rest is:
 *   0  final_proof.json -> por2_final_proof_parse; if it parses, formatting
 *      it and parsing again must give the same statement, and the warnings
 *      must be well-formed
 *   1  "FINAL_PROOF \0 USER_PROOF" -> both parsed, then por2_user_proof_check
 *      without and with a uid; the seeds are a real pair (made by
 *      tests/unit/test_por2_verify.c's test prover), so mutations reach
 *      every check
 *   2  "FINAL_PROOF \0 chunk byte, MERKLE_TREE" -> the tree read for that
 *      statement (up to 64 leaves and 8 assets), in chunks of varying size
 * Beyond not crashing, leaking or tripping a sanitizer: a failure leaves a
 * message; a user proof that passes has the net equity it claims. */
#include "por/verify2.h"

#include <stdlib.h>
#include <string.h>

static void check_final(cl_slice d) {
    por2_statement s, again;
    char err[POR_ERR_LEN];
    if (por2_final_proof_parse(d, &s, err) != CL_OK) {
        if (!err[0]) abort();
        return;
    }
    char *text = por2_final_proof_format(&s);
    if (por2_final_proof_parse(slice_cstr(text), &again, err) != CL_OK) abort();
    if (again.nassets != s.nassets || memcmp(again.digest, s.digest, POR_HASH_LEN) != 0 ||
        memcmp(again.assets, s.assets, s.nassets * sizeof *s.assets) != 0)
        abort();
    char w[8][POR_ERR_LEN];
    size_t n = por2_warnings(&s, w, 8);
    for (size_t i = 0; i < n; i++)
        if (strncmp(w[i], "asset ", 6) != 0) abort();
    free(text);
    por2_statement_free(&again);
    por2_statement_free(&s);
}

static bool split(cl_slice d, cl_slice *a, cl_slice *b) {
    const uint8_t *nul = memchr(d.ptr, 0, d.len);
    if (!nul) return false;
    size_t fl = (size_t)(nul - d.ptr);
    *a = slice_of(d.ptr, fl);
    *b = slice_of(nul + 1, d.len - fl - 1);
    return true;
}

static void check_user(cl_slice d) {
    cl_slice f, up;
    if (!split(d, &f, &up)) return;
    por2_statement s;
    char err[POR_ERR_LEN];
    if (por2_final_proof_parse(f, &s, err) != CL_OK) return;
    por2_user_proof u;
    if (por2_user_proof_parse(up, &s, &u, err) == CL_OK) {
        if (por2_user_proof_check(&s, &u, NULL, err) == CL_OK) {
            por_i128 *w = malloc(s.nassets * sizeof *w);
            for (size_t a = 0; a < s.nassets; a++)
                w[a] = s.assets[a].weight;
            por_i256 v;
            if (por2_net_equity(w, u.balances, s.nassets, s.net_bits, &v, NULL) != POR_EQUITY_OK)
                abort();
            if (por_i256_cmp(&v, &u.net_equity) != 0) abort();
            free(w);
        } else if (!err[0]) {
            abort();
        }
        (void)por2_user_proof_check(&s, &u, "alice", err);
        por2_user_proof_free(&u);
    } else if (!err[0]) {
        abort();
    }
    por2_statement_free(&s);
}

typedef struct {
    cl_slice data;
    size_t pos, chunk;
} chunk_src;

static cl_err chunk_read(void *ctx, uint8_t *dst, size_t cap, size_t *got) {
    chunk_src *c = ctx;
    size_t n = c->data.len - c->pos;
    if (n > cap) n = cap;
    if (n > c->chunk) n = c->chunk;
    memcpy(dst, c->data.ptr + c->pos, n);
    c->pos += n;
    *got = n;
    return CL_OK;
}

static void check_tree(cl_slice d) {
    cl_slice f, t;
    if (!split(d, &f, &t) || t.len < 1) return;
    por2_statement s;
    char err[POR_ERR_LEN];
    if (por2_final_proof_parse(f, &s, err) != CL_OK) return;
    if (s.padded <= 64 && s.nassets <= 8) {
        chunk_src c = {slice_of(t.ptr + 1, t.len - 1), 0, 1 + (size_t)t.ptr[0] * 97};
        por_source src = {chunk_read, NULL, NULL, &c};
        por2_tree_file tf;
        if (por2_tree_read(&src, &s, 0, &tf, NULL, err) == CL_OK) {
            if (tf.bytes != t.len - 1) abort();
            por2_tree_free(&tf);
        } else if (!err[0]) {
            abort();
        }
    }
    por2_statement_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    cl_slice d = slice_of(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        check_final(d);
        break;
    case 1:
        check_user(d);
        break;
    case 2:
        check_tree(d);
        break;
    }
    return 0;
}

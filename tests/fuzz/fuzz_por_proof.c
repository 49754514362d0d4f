/* fuzz_por_proof.c — libFuzzer target for the proof-of-reserves verifiers'
 * parsers of untrusted input (src/por/statement.c, treefile.c) and the range
 * proof / point decoders under them (src/por/rangeproof.c, curve.c).
 *
 * Byte 0 chooses what the rest is:
 *   0  final_proof.json -> por_final_proof_parse (§9 step 1 and 5), then the
 *      opening check if it parses
 *   1  "FINAL_PROOF \0 USER_PROOF" -> both parsed, then por_user_proof_check
 *      (steps 1–5); the seeds are a real pair, so mutations reach every step
 *   2  merkle_tree.json for the tree shape in byte 1 (depth 1 + (b & 3),
 *      batch 1 + ((b >> 2) & 3) capped at N) -> por_tree_read, read in chunks
 *   3  m = 1 + (byte 1 & 3) commitments (48 bytes each) then a proof ->
 *      por_rangeproof_verify with n = 64
 *   4  48-byte windows -> por_affine_from_bytes; a decoded point is encoded
 *      again and must give the same bytes
 *   5  link proof bytes over 4 fixed leaves -> por_link_verify
 * Beyond not crashing, leaking or tripping a sanitizer: a failed parse leaves
 * a message; a user proof that passes has the equity it claims. */
#include "por/protocol.h"
#include "por/rangeproof.h"

#include <stdlib.h>
#include <string.h>

static void check_final(cl_slice d) {
    por_statement s;
    char err[POR_ERR_LEN];
    if (por_final_proof_parse(d, &s, err) != CL_OK) {
        if (!err[0]) abort();
        return;
    }
    (void)por_statement_check_opening(&s, err);
    por_statement_free(&s);
}

static void check_user(cl_slice d) {
    const uint8_t *nul = memchr(d.ptr, 0, d.len);
    if (!nul) return;
    size_t fl = (size_t)(nul - d.ptr);
    por_statement s;
    char err[POR_ERR_LEN];
    if (por_final_proof_parse(slice_of(d.ptr, fl), &s, err) != CL_OK) return;
    por_user_proof u;
    if (por_user_proof_parse(slice_of(nul + 1, d.len - fl - 1), &s, &u, err) == CL_OK) {
        if (por_user_proof_check(&s, &u, err) == CL_OK) {
            char e[80];
            por_i128 *w = malloc(s.nassets * sizeof *w);
            for (size_t a = 0; a < s.nassets; a++)
                w[a] = s.assets[a].weight;
            if (por_equity(w, u.balances, s.nassets, NULL, e) != POR_EQUITY_OK) abort();
            if (strcmp(e, u.equity) != 0) abort();
            free(w);
        }
        por_user_proof_free(&u);
    } else if (!err[0]) {
        abort();
    }
    por_statement_free(&s);
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

static void check_tree(uint8_t shape, cl_slice d) {
    uint32_t depth = 1 + (shape & 3), batch = 1u + ((shape >> 2) & 3);
    if (batch > (1u << depth)) batch = 1u << depth;
    chunk_src c = {d, 0, 1 + (shape >> 4) * 97};
    por_source src = {chunk_read, NULL, NULL, &c};
    por_tree_file t;
    char err[POR_ERR_LEN];
    if (por_tree_read(&src, depth, batch, 0, &t, NULL, err) == CL_OK) {
        if (t.bytes != d.len) abort();
        por_tree_free(&t);
    } else if (!err[0]) {
        abort();
    }
}

static void check_range(uint8_t shape, cl_slice d) {
    size_t m = 1 + (size_t)(shape & 3);
    if (d.len < m * POR_POINT_LEN) return;
    por_transcript t;
    por_transcript_init(&t, "fuzz");
    (void)por_rangeproof_verify(&t, d.ptr, m, 64,
                                slice_of(d.ptr + m * POR_POINT_LEN, d.len - m * POR_POINT_LEN));
}

static void check_points(cl_slice d) {
    for (size_t off = 0; off + POR_POINT_LEN <= d.len && off < 48 * 16; off += POR_POINT_LEN) {
        por_affine a;
        if (por_affine_from_bytes(&a, d.ptr + off) != CL_OK) continue;
        uint8_t again[POR_POINT_LEN];
        por_affine_to_bytes(again, &a);
        if (memcmp(again, d.ptr + off, POR_POINT_LEN) != 0) abort();
    }
}

static void check_link(cl_slice d) {
    static por_stmt_asset assets[2] = {{"BTC", 2, 8, 3500000, 3500000, 0},
                                       {"ETH", 2, 4, 200040, 2000400000, 0}};
    por_affine L[4], V[4];
    for (int i = 0; i < 4; i++) {
        L[i] = *por_asset_generator(i & 1 ? "ETH" : "BTC");
        V[i] = *por_pedersen_g();
    }
    uint8_t stmt[32] = {1};
    (void)por_link_verify(stmt, assets, 2, L, V, 4, d, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    cl_slice d = slice_of(data + 1, size - 1);
    switch (data[0] % 6) {
    case 0:
        check_final(d);
        break;
    case 1:
        check_user(d);
        break;
    case 2:
        check_tree(data[1], slice_of(data + 2, size - 2));
        break;
    case 3:
        check_range(data[1], slice_of(data + 2, size - 2));
        break;
    case 4:
        check_points(d);
        break;
    case 5:
        check_link(d);
        break;
    }
    return 0;
}

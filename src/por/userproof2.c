/* userproof2.c — a cloister-por-v2 user proof (user_proofs/<hash>.json, spec
 * §6): reading it strictly against a parsed final_proof.json, and the checks
 * of `verify-inclusion` (§7): same root and statement digest, every balance
 * part within its asset's published width, the net equity recomputed and in
 * range, the leaf recomputed from the balances and nonce (blindings, P, Q,
 * id, hash), the path to the root, and optionally the user-hash rule (§9). */
#include "por/json2.h"
#include "por/verify2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I128_MAX ((por_i128)(((unsigned __int128)1 << 127) - 1))
#define I128_MIN (-I128_MAX - 1)

static const char *const user_fields[] = {
    "version",    "user_hash", "nonce", "leaf_index", "balances",
    "net_equity", "leaf",      "path",  "root",       "statement_digest",
};
static const char *const leaf_fields[] = {"id", "hash"};
static const char *const root_fields[] = {"hash"};

static cl_err parse_balances(por2j *p, json_t *r, const por2_statement *st, por2_user_proof *u) {
    json_t *bal = json_object_get(r, "balances");
    if (!json_is_object(bal)) return por2j_bad(p, "balances is missing or not an object");
    u->nassets = st->nassets;
    u->balances = cl_calloc(st->nassets, sizeof *u->balances);
    for (size_t a = 0; a < st->nassets; a++) {
        if (!json_object_get(bal, st->assets[a].symbol))
            return por2j_bad(p, "balances do not name exactly the published assets (missing %s)",
                             st->assets[a].symbol);
        char k[80];
        snprintf(k, sizeof k, "balances.%s", st->assets[a].symbol);
        json_t *one = json_pack("{sO}", k, json_object_get(bal, st->assets[a].symbol));
        cl_err e = por2j_dec128(p, one, k, I128_MIN, I128_MAX, &u->balances[a]);
        json_decref(one);
        CL_TRY(e);
    }
    if (json_object_size(bal) != st->nassets)
        return por2j_bad(p,
                         "balances do not name exactly the published assets (%zu names, %zu "
                         "published)",
                         json_object_size(bal), st->nassets);
    return CL_OK;
}

static cl_err parse_user(por2j *p, json_t *r, const por2_statement *st, por2_user_proof *u) {
    CL_TRY(
        por2j_only(p, r, "the user proof", user_fields, sizeof user_fields / sizeof *user_fields));
    CL_TRY(por2j_version(p, r));
    json_t *uh = json_object_get(r, "user_hash");
    size_t ul = json_is_string(uh) ? json_string_length(uh) : 0;
    if (ul < 2 || ul > 2 * POR_LEDGER_MAX_USER_HASH || ul % 2 ||
        !por_hex_decode_exact(json_string_value(uh), ul, u->user_hash, ul / 2))
        return por2j_bad(p, "user_hash must be 1..64 bytes of lower-case hex");
    u->user_hash_len = ul / 2;
    CL_TRY(por2j_hex(p, r, "nonce", u->nonce, POR_NONCE_LEN));
    long long v;
    CL_TRY(por2j_int(p, r, "leaf_index", 0, (long long)st->padded - 1, &v));
    u->leaf_index = (uint64_t)v;
    CL_TRY(parse_balances(p, r, st, u));
    CL_TRY(por2j_dec256(p, r, "net_equity", &u->net_equity));
    por_i256_format(&u->net_equity, u->net_text);
    json_t *o;
    CL_TRY(por2j_obj(p, r, "leaf", &o));
    CL_TRY(por2j_only(p, o, "leaf", leaf_fields, 2));
    CL_TRY(por2j_hex(p, o, "id", u->leaf_id, POR_HASH_LEN));
    CL_TRY(por2j_hex(p, o, "hash", u->leaf_hash, POR_HASH_LEN));
    json_t *path = json_object_get(r, "path");
    if (!json_is_array(path)) return por2j_bad(p, "path is missing or not an array");
    if (json_array_size(path) != st->depth)
        return por2j_bad(p, "path has %zu entries, but the published tree_depth is %u",
                         json_array_size(path), st->depth);
    u->depth = st->depth;
    u->path = cl_calloc(st->depth, sizeof *u->path);
    for (uint32_t j = 0; j < st->depth; j++) {
        json_t *e = json_array_get(path, j);
        char k[24];
        snprintf(k, sizeof k, "path[%u]", j);
        json_t *one = json_pack("{sO}", k, e);
        cl_err err = por2j_hex(p, one, k, u->path[j], POR_HASH_LEN);
        json_decref(one);
        CL_TRY(err);
    }
    CL_TRY(por2j_obj(p, r, "root", &o));
    CL_TRY(por2j_only(p, o, "root", root_fields, 1));
    CL_TRY(por2j_hex(p, o, "hash", u->root_hash, POR_HASH_LEN));
    CL_TRY(por2j_hex(p, r, "statement_digest", u->digest, POR_HASH_LEN));
    return CL_OK;
}

cl_err por2_user_proof_parse(cl_slice json, const por2_statement *st, por2_user_proof *out,
                             char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    por2j p = {err, "user proof"};
    json_t *root = por2j_load(&p, json);
    if (!root) return CL_ERR_INVALID;
    cl_err e = parse_user(&p, root, st, out);
    json_decref(root);
    if (e != CL_OK) por2_user_proof_free(out);
    return e;
}

void por2_user_proof_free(por2_user_proof *u) {
    if (!u) return;
    if (u->balances) cl_cleanse(u->balances, u->nassets * sizeof *u->balances);
    free(u->balances);
    free(u->path);
    cl_cleanse(u, sizeof *u);
}

/* Each part e = max(b, 0), d = max(−b, 0) must be < 2^k_a. */
static cl_err check_widths(por2j *p, const por2_statement *st, const por2_user_proof *u) {
    for (size_t a = 0; a < st->nassets; a++) {
        por_i128 b = u->balances[a];
        unsigned __int128 mag = b < 0 ? -(unsigned __int128)b : (unsigned __int128)b;
        uint32_t k = st->assets[a].range_bits;
        if (k < 128 && (mag >> k) != 0) /* at 128 bits every balance fits */
            return por2j_bad(p, "balance of %s does not fit the published %u-bit range",
                             st->assets[a].symbol, k);
    }
    return CL_OK;
}

static cl_err check_net(por2j *p, const por2_statement *st, const por2_user_proof *u) {
    por_i128 *w = cl_malloc(st->nassets * sizeof *w);
    for (size_t a = 0; a < st->nassets; a++)
        w[a] = st->assets[a].weight;
    por_i256 v;
    char text[80];
    por_equity_class cls = por2_net_equity(w, u->balances, st->nassets, st->net_bits, &v, text);
    free(w);
    if (cls == POR_EQUITY_NEGATIVE)
        return por2j_bad(p,
                         "the net equity Σ weight·balance = %s is negative: a proof of reserves "
                         "must never contain such an account",
                         text);
    if (cls == POR_EQUITY_TOO_LARGE)
        return por2j_bad(p, "the net equity %s is not below 2^%u, the range-proved bound", text,
                         st->net_bits);
    if (por_i256_cmp(&v, &u->net_equity) != 0)
        return por2j_bad(p, "the proof states net_equity \"%s\", but the balances give %s",
                         u->net_text, text);
    return CL_OK;
}

/* P = e·G + π_0·H and Q = d·G + π_1·H for every asset, in leaf order. */
static void leaf_commitments(const por2_user_proof *u, uint8_t *out) {
    for (size_t a = 0; a < u->nassets; a++) {
        por_i128 b = u->balances[a];
        for (uint8_t s = 0; s < 2; s++) {
            unsigned __int128 x =
                s == 0 ? (b > 0 ? (unsigned __int128)b : 0) : (b < 0 ? -(unsigned __int128)b : 0);
            uint8_t be[32] = {0};
            for (int i = 0; i < 16; i++)
                be[31 - i] = (uint8_t)(x >> (8 * i));
            por_scalar xs, pi;
            (void)por_scalar_from_bytes(&xs, be); /* < 2^128 < r */
            por2_blinding(u->nonce, (uint32_t)a, s, &pi);
            por_point P;
            por_commit(&P, &xs, &pi);
            por_point_to_bytes(out + (2 * a + s) * POR_POINT_LEN, &P);
            por_scalars_cleanse(&pi, 1);
        }
    }
}

static cl_err check_leaf(por2j *p, const por2_user_proof *u) {
    uint8_t id[POR_HASH_LEN], h[POR_HASH_LEN];
    por2_leaf_id(u->user_hash, u->user_hash_len, u->nonce, id);
    if (memcmp(id, u->leaf_id, POR_HASH_LEN) != 0)
        return por2j_bad(p, "the leaf id is not Ht(leaf-id, user_hash ‖ nonce): this leaf is not "
                            "bound to this user hash");
    uint8_t *cm = cl_malloc(2 * u->nassets * POR_POINT_LEN);
    leaf_commitments(u, cm);
    por2_leaf_hash(id, cm, u->nassets, h);
    free(cm);
    if (memcmp(h, u->leaf_hash, POR_HASH_LEN) != 0)
        return por2j_bad(p, "the leaf hash recomputed from the balances and nonce (Ht(leaf, id ‖ "
                            "P_0 ‖ Q_0 ‖ …)) does not match the leaf");
    return CL_OK;
}

static cl_err check_path(por2j *p, const por2_statement *st, const por2_user_proof *u) {
    uint8_t h[POR_HASH_LEN];
    memcpy(h, u->leaf_hash, POR_HASH_LEN);
    for (uint32_t j = 0; j < u->depth; j++) {
        uint8_t nh[POR_HASH_LEN];
        if ((u->leaf_index >> j) & 1)
            por2_node_hash(u->path[j], h, nh);
        else
            por2_node_hash(h, u->path[j], nh);
        memcpy(h, nh, POR_HASH_LEN);
    }
    if (memcmp(h, st->root_hash, POR_HASH_LEN) != 0)
        return por2j_bad(p, "the path from leaf %llu does not reach the published root hash",
                         (unsigned long long)u->leaf_index);
    return CL_OK;
}

cl_err por2_user_proof_check(const por2_statement *st, const por2_user_proof *u, const char *uid,
                             char err[POR_ERR_LEN]) {
    por2j p = {err, "user proof"};
    if (memcmp(u->root_hash, st->root_hash, POR_HASH_LEN) != 0)
        return por2j_bad(&p, "names a different root than final_proof.json: they are not from "
                             "the same proof");
    if (memcmp(u->digest, st->digest, POR_HASH_LEN) != 0)
        return por2j_bad(&p, "names a different statement_digest than final_proof.json");
    if (uid) {
        uint8_t want[POR_HASH_LEN];
        por2_user_hash(uid, strlen(uid), want);
        if (u->user_hash_len != POR_HASH_LEN || memcmp(want, u->user_hash, POR_HASH_LEN) != 0)
            return por2j_bad(&p,
                             "this proof is not for account %.64s (its user_hash is not "
                             "Ht(cloister-por-v2/user, UID))",
                             uid);
    }
    CL_TRY(check_widths(&p, st, u));
    CL_TRY(check_net(&p, st, u));
    CL_TRY(check_leaf(&p, u));
    return check_path(&p, st, u);
}

void por2_inclusion_claim(uint64_t leaf_index, char *out, size_t len) {
    snprintf(out, len,
             "your balances, as listed, are committed in leaf %llu of the tree whose root and "
             "per-asset totals are shown; that those totals are the sums of all leaves, with "
             "every balance part and every account's net equity non-negative, is what "
             "`cloister por verify` checks on the public files.",
             (unsigned long long)leaf_index);
}

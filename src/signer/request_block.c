/* request_block.c — hash_tree_root of the big consensus types a sign request
 * can carry in full: the phase0/altair BeaconBlock with its whole body
 * (proposer and attester slashings, attestations, deposits, voluntary exits,
 * altair's sync_aggregate) and AggregateAndProof in its phase0 and Electra
 * shapes (EIP-7549 Attestation: a longer aggregation_bits and committee_bits).
 * Limits are the mainnet preset's (the gnosis preset has the same ones for
 * these types); a list longer than its limit is refused. */
#include "signer/request_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_PROPOSER_SLASHINGS 16
#define MAX_ATTESTER_SLASHINGS 2
#define MAX_ATTESTATIONS 128
#define MAX_DEPOSITS 16
#define MAX_VOLUNTARY_EXITS 16
#define MAX_VALIDATORS_PER_COMMITTEE 2048
#define MAX_COMMITTEES_PER_SLOT 64
#define DEPOSIT_PROOF_LEN 33 /* DEPOSIT_CONTRACT_TREE_DEPTH + 1 */
#define SYNC_COMMITTEE_SIZE 512

static cl_err need_obj(rq_ctx *c, json_t *v, const char *path) {
    if (!json_is_object(v)) return rq_fail(c, CL_ERR_INVALID, "%s must be an object", path);
    return CL_OK;
}

/* A Bitlist/Bitvector field from its 0x-hex SSZ bytes. */
static cl_err f_bits(rq_ctx *c, json_t *o, const char *path, const char *key, bool list,
                     uint64_t nbits, rq_cont *k) {
    cl_buf b = {0};
    cl_err e = rq_hex_var(c, o, path, key, list ? nbits / 8 + 1 : (nbits + 7) / 8, &b);
    if (e == CL_OK) {
        e = list ? ssz_root_bitlist(b.ptr, b.len, nbits, RQ_NEXT(k))
                 : ssz_root_bitvector(b.ptr, b.len, nbits, RQ_NEXT(k));
        if (e != CL_OK) {
            char p[RQ_PATH];
            rq_path(p, path, key);
            e = rq_fail(c, CL_ERR_INVALID,
                        list ? "%s is not a valid bitlist of at most %llu bits"
                             : "%s is not a valid bitvector of %llu bits",
                        p, (unsigned long long)nbits);
        }
    }
    buf_free(&b);
    return e;
}

static cl_err header_fn(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    return rq_block_header(c, v, path, out, NULL);
}

/* SignedBeaconBlockHeader{message, signature}. */
static cl_err signed_header(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_obj(c, v, path, "message", header_fn, &k));
    CL_TRY(rq_f_bytes(c, v, path, "signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err proposer_slashing(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_obj(c, v, path, "signed_header_1", signed_header, &k));
    CL_TRY(rq_f_obj(c, v, path, "signed_header_2", signed_header, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

/* List[ValidatorIndex, MAX_VALIDATORS_PER_COMMITTEE]. */
static cl_err f_indices(rq_ctx *c, json_t *o, const char *path, const char *key, rq_cont *k) {
    json_t *arr;
    CL_TRY(rq_arr(c, o, path, key, MAX_VALIDATORS_PER_COMMITTEE, &arr));
    size_t n = json_array_size(arr);
    uint64_t *v = cl_calloc(n ? n : 1, sizeof *v);
    char p[RQ_PATH], ep[RQ_PATH];
    rq_path(p, path, key);
    for (size_t i = 0; i < n; i++) {
        rq_path_idx(ep, p, i);
        cl_err e = rq_u64_value(c, json_array_get(arr, i), ep, &v[i]);
        if (e != CL_OK) {
            free(v);
            return e;
        }
    }
    ssz_root_u64_list(v, n, MAX_VALIDATORS_PER_COMMITTEE, RQ_NEXT(k));
    free(v);
    return CL_OK;
}

/* IndexedAttestation{attesting_indices, data, signature}. */
static cl_err indexed_attestation(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(f_indices(c, v, path, "attesting_indices", &k));
    CL_TRY(rq_f_obj(c, v, path, "data", rq_attestation_data_fn, &k));
    CL_TRY(rq_f_bytes(c, v, path, "signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err attester_slashing(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_obj(c, v, path, "attestation_1", indexed_attestation, &k));
    CL_TRY(rq_f_obj(c, v, path, "attestation_2", indexed_attestation, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

/* Attestation: phase0 {aggregation_bits, data, signature}; Electra adds
 * committee_bits and allows a bitlist over every committee of the slot. */
static cl_err attestation(rq_ctx *c, json_t *v, const char *path, bool electra, uint8_t out[32],
                          uint64_t *slot) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    uint64_t bits = MAX_VALIDATORS_PER_COMMITTEE * (electra ? MAX_COMMITTEES_PER_SLOT : 1);
    CL_TRY(f_bits(c, v, path, "aggregation_bits", true, bits, &k));
    json_t *data;
    CL_TRY(rq_obj(c, v, path, "data", &data));
    char p[RQ_PATH];
    rq_path(p, path, "data");
    CL_TRY(rq_attestation_data(c, data, p, RQ_NEXT(&k), slot, NULL, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "signature", 96, &k));
    if (electra) CL_TRY(f_bits(c, v, path, "committee_bits", false, MAX_COMMITTEES_PER_SLOT, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err attestation_phase0(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    return attestation(c, v, path, false, out, NULL);
}

static cl_err deposit_data(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_bytes(c, v, path, "pubkey", 48, &k));
    CL_TRY(rq_f_bytes(c, v, path, "withdrawal_credentials", 32, &k));
    CL_TRY(rq_f_u64(c, v, path, "amount", &k, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

/* Deposit{proof: Vector[Bytes32, 33], data}. */
static cl_err deposit(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    json_t *proof;
    CL_TRY(rq_arr(c, v, path, "proof", DEPOSIT_PROOF_LEN, &proof));
    char p[RQ_PATH], ep[RQ_PATH];
    rq_path(p, path, "proof");
    if (json_array_size(proof) != DEPOSIT_PROOF_LEN)
        return rq_fail(c, CL_ERR_INVALID, "%s must have exactly %d elements", p, DEPOSIT_PROOF_LEN);
    uint8_t chunks[DEPOSIT_PROOF_LEN][32];
    for (size_t i = 0; i < DEPOSIT_PROOF_LEN; i++) {
        rq_path_idx(ep, p, i);
        CL_TRY(rq_hex_value(c, json_array_get(proof, i), ep, chunks[i], 32));
    }
    ssz_merkleize(chunks[0], DEPOSIT_PROOF_LEN, DEPOSIT_PROOF_LEN, RQ_NEXT(&k));
    CL_TRY(rq_f_obj(c, v, path, "data", deposit_data, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err voluntary_exit(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, path, "epoch", &k, NULL));
    CL_TRY(rq_f_u64(c, v, path, "validator_index", &k, NULL));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err signed_voluntary_exit(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_obj(c, v, path, "message", voluntary_exit, &k));
    CL_TRY(rq_f_bytes(c, v, path, "signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err eth1_data(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_bytes(c, v, path, "deposit_root", 32, &k));
    CL_TRY(rq_f_u64(c, v, path, "deposit_count", &k, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "block_hash", 32, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err sync_aggregate(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(f_bits(c, v, path, "sync_committee_bits", false, SYNC_COMMITTEE_SIZE, &k));
    CL_TRY(rq_f_bytes(c, v, path, "sync_committee_signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

static cl_err body(rq_ctx *c, json_t *v, const char *path, bool altair, uint8_t out[32]) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_bytes(c, v, path, "randao_reveal", 96, &k));
    CL_TRY(rq_f_obj(c, v, path, "eth1_data", eth1_data, &k));
    CL_TRY(rq_f_bytes(c, v, path, "graffiti", 32, &k));
    CL_TRY(
        rq_f_list(c, v, path, "proposer_slashings", MAX_PROPOSER_SLASHINGS, proposer_slashing, &k));
    CL_TRY(
        rq_f_list(c, v, path, "attester_slashings", MAX_ATTESTER_SLASHINGS, attester_slashing, &k));
    CL_TRY(rq_f_list(c, v, path, "attestations", MAX_ATTESTATIONS, attestation_phase0, &k));
    CL_TRY(rq_f_list(c, v, path, "deposits", MAX_DEPOSITS, deposit, &k));
    CL_TRY(
        rq_f_list(c, v, path, "voluntary_exits", MAX_VOLUNTARY_EXITS, signed_voluntary_exit, &k));
    if (altair) CL_TRY(rq_f_obj(c, v, path, "sync_aggregate", sync_aggregate, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

cl_err rq_beacon_block(rq_ctx *c, json_t *v, const char *path, bool altair, uint8_t out[32],
                       uint64_t *slot) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, path, "slot", &k, slot));
    CL_TRY(rq_f_u64(c, v, path, "proposer_index", &k, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "parent_root", 32, &k));
    CL_TRY(rq_f_bytes(c, v, path, "state_root", 32, &k));
    json_t *b;
    CL_TRY(rq_obj(c, v, path, "body", &b));
    char p[RQ_PATH];
    rq_path(p, path, "body");
    CL_TRY(body(c, b, p, altair, RQ_NEXT(&k)));
    rq_cont_root(&k, out);
    return CL_OK;
}

/* AggregateAndProof{aggregator_index, aggregate, selection_proof}. */
cl_err rq_aggregate_and_proof(rq_ctx *c, json_t *v, const char *path, bool electra, uint8_t out[32],
                              uint64_t *slot) {
    CL_TRY(need_obj(c, v, path));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, path, "aggregator_index", &k, NULL));
    json_t *agg;
    CL_TRY(rq_obj(c, v, path, "aggregate", &agg));
    char p[RQ_PATH];
    rq_path(p, path, "aggregate");
    CL_TRY(attestation(c, agg, p, electra, RQ_NEXT(&k), slot));
    CL_TRY(rq_f_bytes(c, v, path, "selection_proof", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

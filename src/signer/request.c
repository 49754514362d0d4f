/* request.c — signer_request_parse: a Web3Signer `POST /api/v1/eth2/sign/{pubkey}`
 * body (openapi-specs/eth2/signing/schemas.yaml, Web3Signer at 3522fc87) to the
 * signing root the consensus specs define, plus the facts slashing protection
 * needs. Which domain and fork version each type signs under (as Web3Signer's
 * Eth2SignForIdentifierHandler and Teku's SigningRootUtil compute it):
 *   BLOCK, BLOCK_V2        DOMAIN_BEACON_PROPOSER at the block's slot's epoch;
 *                          PHASE0/ALTAIR hash the whole block, later forks the
 *                          BeaconBlockHeader (same root: body_root is given)
 *   ATTESTATION            DOMAIN_BEACON_ATTESTER at target.epoch
 *   AGGREGATION_SLOT       DOMAIN_SELECTION_PROOF, the slot as uint64, its epoch
 *   AGGREGATE_AND_PROOF(_V2) DOMAIN_AGGREGATE_AND_PROOF at aggregate.data.slot's
 *                          epoch; {version, data} or the legacy bare object
 *                          (Web3Signer's AggregateAndProofV2Deserializer takes
 *                          both, for both types); ELECTRA/FULU, or a legacy
 *                          aggregate carrying committee_bits, use the EIP-7549
 *                          Attestation shape
 *   RANDAO_REVEAL          DOMAIN_RANDAO, the epoch as uint64
 *   DEPOSIT                DOMAIN_DEPOSIT with the request's genesis_fork_version
 *                          and a zero genesis root (DepositMessage)
 *   VOLUNTARY_EXIT         DOMAIN_VOLUNTARY_EXIT at exit.epoch; from the
 *                          network's Deneb epoch on, the Capella fork version
 *                          (EIP-7044; Teku's getVoluntaryExitDomain for the
 *                          milestone at exit.epoch, which Web3Signer calls)
 *   SYNC_COMMITTEE_MESSAGE DOMAIN_SYNC_COMMITTEE, the beacon_block_root itself
 *   SYNC_COMMITTEE_SELECTION_PROOF  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF
 *   SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF  DOMAIN_CONTRIBUTION_AND_PROOF at
 *                          contribution.slot's epoch
 *   VALIDATOR_REGISTRATION DOMAIN_APPLICATION_BUILDER with the network's genesis
 *                          fork version and a zero root (builder-specs)
 *   BLS_TO_EXECUTION_CHANGE (Lodestar's extension, its body under the key
 *                          "BLS_TO_EXECUTION_CHANGE") DOMAIN_BLS_TO_EXECUTION_CHANGE
 *                          with the network's genesis fork version and
 *                          fork_info's genesis root (capella/beacon-chain.md)
 * "At epoch e" means fork_info.fork: previous_version if e < fork.epoch, else
 * current_version, with fork_info.genesis_validators_root. */
#include "signer/request_internal.h"

#include "base/base.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RQ_MAX_BODY (4u << 20)     /* a full phase0 block at every limit is ~1.5 MiB */
#define SYNC_SUBCOMMITTEE_BITS 128 /* SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_COUNT */

enum {
    D_PROPOSER = 0x00,
    D_ATTESTER = 0x01,
    D_RANDAO = 0x02,
    D_DEPOSIT = 0x03,
    D_EXIT = 0x04,
    D_SELECTION = 0x05,
    D_AGGREGATE = 0x06,
    D_SYNC = 0x07,
    D_SYNC_SELECTION = 0x08,
    D_CONTRIBUTION = 0x09,
    D_BLS_CHANGE = 0x0A,
};
static const uint8_t DOMAIN_APPLICATION_BUILDER[4] = {0x00, 0x00, 0x00, 0x01};
static const uint8_t ZERO_ROOT[32];

typedef struct {
    rq_ctx c;
    const signer_network *net;
    json_t *j;
    const char *tname;
    bool has_fork;
    uint8_t prev[4], cur[4];
    uint64_t fork_epoch;
    signer_request *out;
    uint8_t object_root[32], domain[32];
} rq_req;

static const char *const fork_names[] = {"PHASE0", "ALTAIR",  "BELLATRIX", "CAPELLA",
                                         "DENEB",  "ELECTRA", "FULU"};
enum { F_PHASE0, F_ALTAIR, F_BELLATRIX, F_CAPELLA, F_DENEB, F_ELECTRA, F_FULU, F_COUNT };

static cl_err fork_name(rq_req *r, json_t *o, const char *path, int *out) {
    char p[RQ_PATH];
    rq_path(p, path, "version");
    json_t *v = json_object_get(o, "version");
    if (!v || json_is_null(v)) return rq_fail(&r->c, CL_ERR_INVALID, "%s is required", p);
    for (int i = 0; json_is_string(v) && i < F_COUNT; i++)
        if (strcasecmp(json_string_value(v), fork_names[i]) == 0) {
            *out = i;
            return CL_OK;
        }
    return rq_fail(&r->c, CL_ERR_INVALID,
                   "%s must be one of PHASE0, ALTAIR, BELLATRIX, CAPELLA, DENEB, ELECTRA, FULU", p);
}

static uint64_t epoch_of(const rq_req *r, uint64_t slot) {
    uint64_t spe = r->net->slots_per_epoch ? r->net->slots_per_epoch : 32;
    return slot / spe;
}

/* The domain of `type` at epoch, by fork_info. */
static void domain_at(rq_req *r, uint8_t type, uint64_t epoch) {
    const uint8_t dt[4] = {type, 0, 0, 0};
    signer_compute_domain(dt, epoch < r->fork_epoch ? r->prev : r->cur,
                          r->out->genesis_validators_root, r->domain);
}

static void domain_plain(rq_req *r, uint8_t type, const uint8_t version[4], const uint8_t gvr[32]) {
    const uint8_t dt[4] = {type, 0, 0, 0};
    signer_compute_domain(dt, version, gvr, r->domain);
}

static cl_err parse_fork_info(rq_req *r) {
    json_t *fi = json_object_get(r->j, "fork_info");
    if (!fi || json_is_null(fi)) return CL_OK;
    json_t *fork;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "fork_info", &fi));
    CL_TRY(rq_obj(&r->c, fi, "fork_info", "fork", &fork));
    CL_TRY(rq_hex(&r->c, fork, "fork_info.fork", "previous_version", r->prev, 4));
    CL_TRY(rq_hex(&r->c, fork, "fork_info.fork", "current_version", r->cur, 4));
    CL_TRY(rq_u64(&r->c, fork, "fork_info.fork", "epoch", &r->fork_epoch));
    CL_TRY(rq_hex(&r->c, fi, "fork_info", "genesis_validators_root",
                  r->out->genesis_validators_root, 32));
    r->has_fork = r->out->has_genesis_root = true;
    return CL_OK;
}

/* ---- one function a type: object root and domain ---- */

static cl_err t_block(rq_req *r, json_t *blk, const char *path, bool altair) {
    uint64_t slot;
    CL_TRY(rq_beacon_block(&r->c, blk, path, altair, r->object_root, &slot));
    r->out->is_block = true;
    r->out->slot = slot;
    domain_at(r, D_PROPOSER, epoch_of(r, slot));
    return CL_OK;
}

static cl_err t_block_v1(rq_req *r) {
    json_t *blk;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "block", &blk));
    return t_block(r, blk, "block", false);
}

static cl_err t_block_v2(rq_req *r) {
    json_t *bb, *x;
    int f;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "beacon_block", &bb));
    CL_TRY(fork_name(r, bb, "beacon_block", &f));
    if (f <= F_ALTAIR) {
        CL_TRY(rq_obj(&r->c, bb, "beacon_block", "block", &x));
        return t_block(r, x, "beacon_block.block", f == F_ALTAIR);
    }
    CL_TRY(rq_obj(&r->c, bb, "beacon_block", "block_header", &x));
    uint64_t slot;
    CL_TRY(rq_block_header(&r->c, x, "beacon_block.block_header", r->object_root, &slot));
    r->out->is_block = true;
    r->out->slot = slot;
    domain_at(r, D_PROPOSER, epoch_of(r, slot));
    return CL_OK;
}

static cl_err t_attestation(rq_req *r) {
    json_t *a;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "attestation", &a));
    signer_request *o = r->out;
    CL_TRY(rq_attestation_data(&r->c, a, "attestation", r->object_root, &o->slot, &o->source_epoch,
                               &o->target_epoch));
    o->is_attestation = true;
    domain_at(r, D_ATTESTER, o->target_epoch);
    return CL_OK;
}

/* A message that is one uint64 (the slot or epoch) under o[key]. */
static cl_err t_u64_message(rq_req *r, const char *obj, const char *key, uint64_t *val) {
    json_t *o;
    CL_TRY(rq_obj(&r->c, r->j, NULL, obj, &o));
    CL_TRY(rq_u64(&r->c, o, obj, key, val));
    ssz_root_u64(*val, r->object_root);
    return CL_OK;
}

static cl_err t_aggregation_slot(rq_req *r) {
    uint64_t slot;
    CL_TRY(t_u64_message(r, "aggregation_slot", "slot", &slot));
    domain_at(r, D_SELECTION, epoch_of(r, slot));
    return CL_OK;
}

static cl_err t_randao(rq_req *r) {
    uint64_t epoch;
    CL_TRY(t_u64_message(r, "randao_reveal", "epoch", &epoch));
    domain_at(r, D_RANDAO, epoch);
    return CL_OK;
}

static cl_err t_aggregate(rq_req *r) {
    json_t *o, *data;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "aggregate_and_proof", &o));
    const char *path = "aggregate_and_proof";
    bool electra;
    if (json_object_get(o, "version") && json_object_get(o, "data")) {
        int f;
        CL_TRY(fork_name(r, o, path, &f));
        CL_TRY(rq_obj(&r->c, o, path, "data", &data));
        path = "aggregate_and_proof.data";
        electra = f >= F_ELECTRA;
    } else {
        data = o;
        json_t *agg = json_object_get(o, "aggregate");
        json_t *cb = json_is_object(agg) ? json_object_get(agg, "committee_bits") : NULL;
        electra = cb && !json_is_null(cb);
    }
    uint64_t slot;
    CL_TRY(rq_aggregate_and_proof(&r->c, data, path, electra, r->object_root, &slot));
    domain_at(r, D_AGGREGATE, epoch_of(r, slot));
    return CL_OK;
}

/* DepositMessage{pubkey, withdrawal_credentials, amount}. */
static cl_err t_deposit(rq_req *r) {
    json_t *d;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "deposit", &d));
    rq_cont k = {.n = 0};
    uint8_t gfv[4];
    CL_TRY(rq_f_bytes(&r->c, d, "deposit", "pubkey", 48, &k));
    CL_TRY(rq_f_bytes(&r->c, d, "deposit", "withdrawal_credentials", 32, &k));
    CL_TRY(rq_f_u64(&r->c, d, "deposit", "amount", &k, NULL));
    CL_TRY(rq_hex(&r->c, d, "deposit", "genesis_fork_version", gfv, 4));
    rq_cont_root(&k, r->object_root);
    domain_plain(r, D_DEPOSIT, gfv, ZERO_ROOT);
    return CL_OK;
}

static cl_err t_exit(rq_req *r) {
    json_t *x;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "voluntary_exit", &x));
    rq_cont k = {.n = 0};
    uint64_t epoch;
    CL_TRY(rq_f_u64(&r->c, x, "voluntary_exit", "epoch", &k, &epoch));
    CL_TRY(rq_f_u64(&r->c, x, "voluntary_exit", "validator_index", &k, NULL));
    rq_cont_root(&k, r->object_root);
    if (epoch >= r->net->deneb_epoch)
        domain_plain(r, D_EXIT, r->net->capella_fork_version, r->out->genesis_validators_root);
    else
        domain_at(r, D_EXIT, epoch);
    return CL_OK;
}

static cl_err t_sync_message(rq_req *r) {
    json_t *m;
    uint64_t slot;
    CL_TRY(rq_obj(&r->c, r->j, NULL, "sync_committee_message", &m));
    CL_TRY(rq_hex(&r->c, m, "sync_committee_message", "beacon_block_root", r->object_root, 32));
    CL_TRY(rq_u64(&r->c, m, "sync_committee_message", "slot", &slot));
    domain_at(r, D_SYNC, epoch_of(r, slot));
    return CL_OK;
}

/* SyncAggregatorSelectionData{slot, subcommittee_index}. */
static cl_err t_sync_selection(rq_req *r) {
    json_t *m;
    const char *p = "sync_aggregator_selection_data";
    CL_TRY(rq_obj(&r->c, r->j, NULL, p, &m));
    rq_cont k = {.n = 0};
    uint64_t slot;
    CL_TRY(rq_f_u64(&r->c, m, p, "slot", &k, &slot));
    CL_TRY(rq_f_u64(&r->c, m, p, "subcommittee_index", &k, NULL));
    rq_cont_root(&k, r->object_root);
    domain_at(r, D_SYNC_SELECTION, epoch_of(r, slot));
    return CL_OK;
}

/* SyncCommitteeContribution{slot, beacon_block_root, subcommittee_index,
 * aggregation_bits: Bitvector[128], signature}. */
static cl_err contribution(rq_ctx *c, json_t *v, const char *p, uint8_t out[32], uint64_t *slot) {
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, p, "slot", &k, slot));
    CL_TRY(rq_f_bytes(c, v, p, "beacon_block_root", 32, &k));
    CL_TRY(rq_f_u64(c, v, p, "subcommittee_index", &k, NULL));
    cl_buf b = {0};
    cl_err e = rq_hex_var(c, v, p, "aggregation_bits", SYNC_SUBCOMMITTEE_BITS / 8, &b);
    if (e == CL_OK &&
        ssz_root_bitvector(b.ptr, b.len, SYNC_SUBCOMMITTEE_BITS, RQ_NEXT(&k)) != CL_OK)
        e = rq_fail(c, CL_ERR_INVALID, "%s.aggregation_bits is not a valid bitvector of %d bits", p,
                    SYNC_SUBCOMMITTEE_BITS);
    buf_free(&b);
    CL_TRY(e);
    CL_TRY(rq_f_bytes(c, v, p, "signature", 96, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}

/* ContributionAndProof{aggregator_index, contribution, selection_proof}. */
static cl_err t_contribution(rq_req *r) {
    json_t *m, *ct;
    const char *p = "contribution_and_proof";
    CL_TRY(rq_obj(&r->c, r->j, NULL, p, &m));
    rq_cont k = {.n = 0};
    uint64_t slot;
    CL_TRY(rq_f_u64(&r->c, m, p, "aggregator_index", &k, NULL));
    CL_TRY(rq_obj(&r->c, m, p, "contribution", &ct));
    CL_TRY(contribution(&r->c, ct, "contribution_and_proof.contribution", RQ_NEXT(&k), &slot));
    CL_TRY(rq_f_bytes(&r->c, m, p, "selection_proof", 96, &k));
    rq_cont_root(&k, r->object_root);
    domain_at(r, D_CONTRIBUTION, epoch_of(r, slot));
    return CL_OK;
}

/* ValidatorRegistrationV1{fee_recipient, gas_limit, timestamp, pubkey}. */
static cl_err t_registration(rq_req *r) {
    json_t *m;
    const char *p = "validator_registration";
    CL_TRY(rq_obj(&r->c, r->j, NULL, p, &m));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_bytes(&r->c, m, p, "fee_recipient", 20, &k));
    CL_TRY(rq_f_u64(&r->c, m, p, "gas_limit", &k, NULL));
    CL_TRY(rq_f_u64(&r->c, m, p, "timestamp", &k, NULL));
    CL_TRY(rq_f_bytes(&r->c, m, p, "pubkey", 48, &k));
    rq_cont_root(&k, r->object_root);
    signer_compute_domain(DOMAIN_APPLICATION_BUILDER, r->net->genesis_fork_version, ZERO_ROOT,
                          r->domain);
    return CL_OK;
}

/* BLSToExecutionChange{validator_index, from_bls_pubkey, to_execution_address},
 * under the key Lodestar sends (its externalSignerClient.ts: the upper-case
 * "BLS_TO_EXECUTION_CHANGE"), or the snake_case key of the other types. */
static cl_err t_bls_change(rq_req *r) {
    json_t *m;
    const char *p = "BLS_TO_EXECUTION_CHANGE";
    if (!json_object_get(r->j, p) && json_object_get(r->j, "bls_to_execution_change"))
        p = "bls_to_execution_change";
    CL_TRY(rq_obj(&r->c, r->j, NULL, p, &m));
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(&r->c, m, p, "validator_index", &k, NULL));
    CL_TRY(rq_f_bytes(&r->c, m, p, "from_bls_pubkey", 48, &k));
    CL_TRY(rq_f_bytes(&r->c, m, p, "to_execution_address", 20, &k));
    rq_cont_root(&k, r->object_root);
    domain_plain(r, D_BLS_CHANGE, r->net->genesis_fork_version, r->out->genesis_validators_root);
    return CL_OK;
}

typedef cl_err (*rq_type_fn)(rq_req *r);
static const rq_type_fn type_fns[SIGNER_TYPE_COUNT] = {
    [SIGNER_BLOCK] = t_block_v1,
    [SIGNER_BLOCK_V2] = t_block_v2,
    [SIGNER_ATTESTATION] = t_attestation,
    [SIGNER_AGGREGATION_SLOT] = t_aggregation_slot,
    [SIGNER_AGGREGATE_AND_PROOF] = t_aggregate,
    [SIGNER_AGGREGATE_AND_PROOF_V2] = t_aggregate,
    [SIGNER_RANDAO_REVEAL] = t_randao,
    [SIGNER_DEPOSIT] = t_deposit,
    [SIGNER_VOLUNTARY_EXIT] = t_exit,
    [SIGNER_SYNC_COMMITTEE_MESSAGE] = t_sync_message,
    [SIGNER_SYNC_COMMITTEE_SELECTION_PROOF] = t_sync_selection,
    [SIGNER_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF] = t_contribution,
    [SIGNER_VALIDATOR_REGISTRATION] = t_registration,
    [SIGNER_BLS_TO_EXECUTION_CHANGE] = t_bls_change,
};

/* ---- the top level ---- */

/* The type, case-insensitively as Web3Signer reads it (Jackson's
 * ACCEPT_CASE_INSENSITIVE_ENUMS); messages use the canonical name. */
static cl_err parse_type(rq_req *r) {
    json_t *t = json_object_get(r->j, "type");
    if (!t || json_is_null(t)) return rq_fail(&r->c, CL_ERR_INVALID, "type is required");
    if (!json_is_string(t)) return rq_fail(&r->c, CL_ERR_INVALID, "type must be a string");
    for (int i = 0; i < SIGNER_TYPE_COUNT; i++)
        if (strcasecmp(json_string_value(t), signer_type_name((signer_type)i)) == 0) {
            r->out->type = (signer_type)i;
            r->tname = signer_type_name((signer_type)i);
            return CL_OK;
        }
    return rq_fail(&r->c, CL_ERR_NOT_FOUND, "unknown type '%.64s'", json_string_value(t));
}

/* The optional signing root the client computed: must equal ours. */
static cl_err check_given_root(rq_req *r) {
    static const char *const keys[] = {"signingRoot", "signing_root"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(r->j, keys[i]);
        if (!v || json_is_null(v)) continue;
        uint8_t given[32];
        CL_TRY(rq_hex(&r->c, r->j, NULL, keys[i], given, 32));
        if (memcmp(given, r->out->signing_root, 32) != 0) {
            char hex[65];
            hex_encode_to(hex, r->out->signing_root, 32);
            return rq_fail(&r->c, CL_ERR_INVALID, "%s does not match the computed root 0x%s",
                           keys[i], hex);
        }
    }
    return CL_OK;
}

static cl_err parse_json(rq_req *r) {
    CL_TRY(parse_type(r));
    CL_TRY(parse_fork_info(r));
    signer_type t = r->out->type;
    if (!r->has_fork && t != SIGNER_DEPOSIT && t != SIGNER_VALIDATOR_REGISTRATION)
        return rq_fail(&r->c, CL_ERR_INVALID, "fork_info is required for %s", r->tname);
    CL_TRY(type_fns[t](r));
    signer_compute_signing_root(r->object_root, r->domain, r->out->signing_root);
    return check_given_root(r);
}

cl_err signer_request_parse(const signer_network *net, cl_slice body, signer_request *out,
                            char *err, size_t errlen) {
    rq_req r = {.c = {err, errlen}, .net = net ? net : signer_network_find("mainnet"), .out = out};
    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = 0;
    if (body.len > RQ_MAX_BODY)
        return rq_fail(&r.c, CL_ERR_INVALID, "request body larger than %u bytes", RQ_MAX_BODY);
    json_error_t je;
    r.j = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &je);
    if (!r.j) return rq_fail(&r.c, CL_ERR_INVALID, "invalid JSON: %s", je.text);
    cl_err e = json_is_object(r.j)
                   ? parse_json(&r)
                   : rq_fail(&r.c, CL_ERR_INVALID, "the body must be a JSON object");
    json_decref(r.j);
    if (e != CL_OK) {
        signer_type t = out->type;
        memset(out, 0, sizeof *out);
        out->type = t;
    }
    return e;
}

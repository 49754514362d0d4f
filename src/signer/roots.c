/* roots.c — the consensus specs' domain and signing-root helpers
 * (phase0/beacon-chain.md: compute_fork_data_root, compute_domain,
 * compute_signing_root), the sign request type names (Web3Signer's), and the
 * constants of the networks `--network` can name.
 *
 * Network constants are the published configs: consensus-specs
 * configs/mainnet.yaml and presets/mainnet (SLOTS_PER_EPOCH 32);
 * eth-clients/sepolia, eth-clients/holesky and eth-clients/hoodi
 * metadata/config.yaml; gnosischain/configs mainnet/config.yaml and the gnosis
 * preset (SLOTS_PER_EPOCH 16). The same values are in @lodestar/config's
 * chainConfig/networks (checked for mainnet, sepolia, hoodi and gnosis). */
#include "signer/signer.h"
#include "signer/ssz_internal.h"

#include <string.h>

static const char *const type_names[SIGNER_TYPE_COUNT] = {
    [SIGNER_BLOCK] = "BLOCK",
    [SIGNER_BLOCK_V2] = "BLOCK_V2",
    [SIGNER_ATTESTATION] = "ATTESTATION",
    [SIGNER_AGGREGATION_SLOT] = "AGGREGATION_SLOT",
    [SIGNER_AGGREGATE_AND_PROOF] = "AGGREGATE_AND_PROOF",
    [SIGNER_AGGREGATE_AND_PROOF_V2] = "AGGREGATE_AND_PROOF_V2",
    [SIGNER_RANDAO_REVEAL] = "RANDAO_REVEAL",
    [SIGNER_DEPOSIT] = "DEPOSIT",
    [SIGNER_VOLUNTARY_EXIT] = "VOLUNTARY_EXIT",
    [SIGNER_SYNC_COMMITTEE_MESSAGE] = "SYNC_COMMITTEE_MESSAGE",
    [SIGNER_SYNC_COMMITTEE_SELECTION_PROOF] = "SYNC_COMMITTEE_SELECTION_PROOF",
    [SIGNER_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF] = "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
    [SIGNER_VALIDATOR_REGISTRATION] = "VALIDATOR_REGISTRATION",
    [SIGNER_BLS_TO_EXECUTION_CHANGE] = "BLS_TO_EXECUTION_CHANGE",
};

const char *signer_type_name(signer_type t) {
    if ((int)t < 0 || t >= SIGNER_TYPE_COUNT) return NULL;
    return type_names[t];
}

cl_err signer_type_parse(const char *name, signer_type *out) {
    if (!name) return CL_ERR_NOT_FOUND;
    for (int i = 0; i < SIGNER_TYPE_COUNT; i++)
        if (strcmp(name, type_names[i]) == 0) {
            *out = (signer_type)i;
            return CL_OK;
        }
    return CL_ERR_NOT_FOUND;
}

static const signer_network networks[] = {
    {"mainnet", {0x00, 0x00, 0x00, 0x00}, {0x03, 0x00, 0x00, 0x00}, 269568, 32},
    {"sepolia", {0x90, 0x00, 0x00, 0x69}, {0x90, 0x00, 0x00, 0x72}, 132608, 32},
    {"holesky", {0x01, 0x01, 0x70, 0x00}, {0x04, 0x01, 0x70, 0x00}, 29696, 32},
    {"hoodi", {0x10, 0x00, 0x09, 0x10}, {0x40, 0x00, 0x09, 0x10}, 0, 32},
    {"gnosis", {0x00, 0x00, 0x00, 0x64}, {0x03, 0x00, 0x00, 0x64}, 889856, 16},
};

const signer_network *signer_network_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof networks / sizeof networks[0]; i++)
        if (strcmp(name, networks[i].name) == 0) return &networks[i];
    return NULL;
}

/* compute_domain: domain_type || fork_data_root[:28], where fork_data_root =
 * hash_tree_root(ForkData{current_version, genesis_validators_root}). */
void signer_compute_domain(const uint8_t domain_type[4], const uint8_t fork_version[4],
                           const uint8_t genesis_validators_root[32], uint8_t domain[32]) {
    uint8_t version_chunk[32] = {0}, fork_data_root[32];
    memcpy(version_chunk, fork_version, 4);
    ssz_hash_pair(version_chunk, genesis_validators_root, fork_data_root);
    memcpy(domain, domain_type, 4);
    memcpy(domain + 4, fork_data_root, 28);
}

/* compute_signing_root: hash_tree_root(SigningData{object_root, domain}). */
void signer_compute_signing_root(const uint8_t object_root[32], const uint8_t domain[32],
                                 uint8_t signing_root[32]) {
    ssz_hash_pair(object_root, domain, signing_root);
}

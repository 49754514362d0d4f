/* signer.h — the one public header of src/signer: an Ethereum consensus-layer
 * remote signer with Web3Signer's HTTP API (docs/signer.md).
 *
 * Layers, bottom up (each its own files; the CLI and the tests use this header):
 *   roots      SSZ hash_tree_root, compute_domain, compute_signing_root, and the
 *              parser of Web3Signer sign requests (roots.c, ssz.c, request*.c)
 *   keys       BLS through blst, EIP-2335 keystores, EIP-2333/2334 derivation,
 *              the in-memory keyring, parallel loading and the sealed cache
 *              (bls.c, keystore.c, derive.c, keyring.c, keycache.c)
 *   slashing   EIP-3076 slashing protection in the meta store, interchange v5
 *              import/export, pruning (slashing.c, interchange.c)
 *   server     the HTTP API (eth2 signing, keymanager, health, reload, metrics)
 *              and `cloister signer serve` (api*.c, keymanager.c)
 *   kms keys   keys sealed under a KMS key whose policy names the signer app's
 *              measurement, unwrapped inside the sandbox by KMS Decrypt with
 *              Recipient (kmskeys.c)
 *
 * Builds and tests without the server: depends on store, crypto, base, blst,
 * jansson, OpenSSL, libmicrohttpd (through src/http).
 * Ownership: the owner frees; secret keys are zeroised (cl_cleanse) on free. */
#ifndef CLOISTER_SIGNER_H
#define CLOISTER_SIGNER_H

#include "base/base.h"
#include "store/store.h"

#define SIGNER_SK_LEN 32
#define SIGNER_PK_LEN 48
#define SIGNER_SIG_LEN 96
#define SIGNER_ROOT_LEN 32

/* ================= roots: sign requests and signing roots ================= */

typedef enum {
    SIGNER_BLOCK,
    SIGNER_BLOCK_V2,
    SIGNER_ATTESTATION,
    SIGNER_AGGREGATION_SLOT,
    SIGNER_AGGREGATE_AND_PROOF,
    SIGNER_AGGREGATE_AND_PROOF_V2,
    SIGNER_RANDAO_REVEAL,
    SIGNER_DEPOSIT,
    SIGNER_VOLUNTARY_EXIT,
    SIGNER_SYNC_COMMITTEE_MESSAGE,
    SIGNER_SYNC_COMMITTEE_SELECTION_PROOF,
    SIGNER_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF,
    SIGNER_VALIDATOR_REGISTRATION,
    SIGNER_BLS_TO_EXECUTION_CHANGE,
    SIGNER_TYPE_COUNT
} signer_type;

/* "BLOCK_V2" etc. (Web3Signer's names); NULL for an out-of-range value. */
const char *signer_type_name(signer_type t);
/* CL_ERR_NOT_FOUND for a name that is not a type. */
cl_err signer_type_parse(const char *name, signer_type *out);

/* What a sign request asks, once parsed and its root computed. */
typedef struct {
    signer_type type;
    uint8_t signing_root[SIGNER_ROOT_LEN]; /* compute_signing_root(object, domain) */
    bool has_genesis_root;                 /* fork_info was given */
    uint8_t genesis_validators_root[SIGNER_ROOT_LEN];
    /* the facts slashing protection needs */
    bool is_block; /* BLOCK, BLOCK_V2 */
    uint64_t slot;
    bool is_attestation; /* ATTESTATION */
    uint64_t source_epoch, target_epoch;
} signer_request;

/* The network constants a signing root depends on beyond the request itself
 * (VALIDATOR_REGISTRATION and DEPOSIT use the genesis fork version; EIP-7044
 * pins VOLUNTARY_EXIT to the Capella fork from Deneb on), as `--network NAME`
 * selects them. Known names: mainnet (default), sepolia, holesky, hoodi,
 * gnosis — see signer_network_find (roots.c). */
typedef struct {
    const char *name;
    uint8_t genesis_fork_version[4];
    uint8_t capella_fork_version[4];
    uint64_t deneb_epoch;
    uint64_t slots_per_epoch;
} signer_network;
/* NULL for an unknown name. */
const signer_network *signer_network_find(const char *name);

/* Parses a `POST /api/v1/eth2/sign/{pubkey}` JSON body (Web3Signer's OpenAPI
 * field names; uint64 as decimal strings; both `signing_root` and
 * `signingRoot` accepted) and computes its signing root per the consensus
 * specs. If the body carries a signing root it must equal the computed one.
 * CL_ERR_INVALID with a message in err (what is wrong and where, e.g.
 * "fork_info is required for ATTESTATION", "signingRoot does not match the
 * computed root 0x…") for anything malformed; CL_ERR_NOT_FOUND for an unknown
 * `type`. Never reads past body. */
cl_err signer_request_parse(const signer_network *net, cl_slice body, signer_request *out,
                            char *err, size_t errlen);

/* The consensus specs' helpers, exposed for tests and tools. */
void signer_compute_domain(const uint8_t domain_type[4], const uint8_t fork_version[4],
                           const uint8_t genesis_validators_root[32], uint8_t domain[32]);
void signer_compute_signing_root(const uint8_t object_root[32], const uint8_t domain[32],
                                 uint8_t signing_root[32]);

/* ================= keys: BLS, keystores, derivation, keyring ================= */

/* BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ through blst. sk is big-endian,
 * must be in [1, r-1] (CL_ERR_INVALID otherwise). pk/sig are compressed. */
cl_err signer_bls_pubkey(const uint8_t sk[SIGNER_SK_LEN], uint8_t pk[SIGNER_PK_LEN]);
cl_err signer_bls_sign(const uint8_t sk[SIGNER_SK_LEN], cl_slice msg, uint8_t sig[SIGNER_SIG_LEN]);
/* true only for a valid pk, a valid sig, and a signature of msg by pk. */
bool signer_bls_verify(const uint8_t pk[SIGNER_PK_LEN], cl_slice msg,
                       const uint8_t sig[SIGNER_SIG_LEN]);

/* EIP-2335. password: UTF-8 as given; NFKD-normalised and C0/C1/DEL control
 * codes stripped as the EIP says. CL_ERR_DENIED for a wrong password (checksum
 * mismatch), CL_ERR_INVALID (message in err) for a malformed keystore. */
cl_err signer_keystore_decrypt(cl_slice keystore_json, cl_slice password, uint8_t sk[SIGNER_SK_LEN],
                               char *err, size_t errlen);
typedef enum { SIGNER_KDF_SCRYPT, SIGNER_KDF_PBKDF2 } signer_kdf;
/* Writes a version-4 keystore JSON (random salt/iv/uuid, path as given, may be ""). */
cl_err signer_keystore_encrypt(const uint8_t sk[SIGNER_SK_LEN], cl_slice password, signer_kdf kdf,
                               const char *path, cl_buf *json_out);

/* EIP-2333 (seed >= 32 bytes) and EIP-2334 paths ("m/12381/3600/0/0/0"). */
cl_err signer_derive_master(cl_slice seed, uint8_t sk[SIGNER_SK_LEN]);
cl_err signer_derive_child(const uint8_t parent[SIGNER_SK_LEN], uint32_t index,
                           uint8_t child[SIGNER_SK_LEN]);
cl_err signer_derive_path(cl_slice seed, const char *path, uint8_t sk[SIGNER_SK_LEN]);

/* The in-memory keyring: pubkey -> secret key, thread-safe (a reader lock for
 * lookups on the signing path). A key may be disabled (keymanager DELETE):
 * it stays known (sign requests get 412, not 404) but is never used again. */
typedef struct signer_keyring signer_keyring;
typedef enum { SIGNER_SRC_KEYSTORE, SIGNER_SRC_KMS, SIGNER_SRC_IMPORTED } signer_key_source;
signer_keyring *signer_keyring_new(void);
void signer_keyring_free(signer_keyring *k); /* zeroises every secret */
/* Adds (or re-enables with a new secret) a key; CL_ERR_INVALID for a bad sk.
 * origin: a file path or "kms", kept for listings (never the secret). */
cl_err signer_keyring_add(signer_keyring *k, const uint8_t sk[SIGNER_SK_LEN], signer_key_source src,
                          const char *origin, uint8_t pk_out[SIGNER_PK_LEN]);
typedef enum { SIGNER_KEY_UNKNOWN, SIGNER_KEY_ACTIVE, SIGNER_KEY_DISABLED } signer_key_state;
signer_key_state signer_keyring_state(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]);
/* Signs msg with pk's key: CL_ERR_NOT_FOUND unknown, CL_ERR_DENIED disabled. */
cl_err signer_keyring_sign(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN], cl_slice msg,
                           uint8_t sig[SIGNER_SIG_LEN]);
/* Disables (zeroising the secret); CL_ERR_NOT_FOUND if unknown. */
cl_err signer_keyring_disable(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]);
/* Removes keys of source src not in keep (reload); NULL keep = remove all of src. */
typedef bool (*signer_key_fn)(void *arg, const uint8_t pk[SIGNER_PK_LEN], signer_key_state st,
                              signer_key_source src, const char *origin);
void signer_keyring_each(signer_keyring *k, signer_key_fn fn, void *arg); /* pk order */
size_t signer_keyring_count(signer_keyring *k, bool active_only);
/* (keys) The removal the comment above describes: removes the active keys of
 * source src whose pk is not among keep[0..nkeep) (keep NULL: all of src);
 * disabled keys stay remembered. Returns how many were removed. fn of
 * signer_keyring_each runs under the reader lock: it must not call any
 * signer_keyring_* function (the lock prefers writers, so even a nested read
 * could deadlock); returning false stops the walk. */
size_t signer_keyring_retain(signer_keyring *k, signer_key_source src,
                             const uint8_t (*keep)[SIGNER_PK_LEN], size_t nkeep);

/* (keys) A reload: a key the keyring got from keystores_dir/NAME.json (its
 * origin is that path) whose file is gone is removed (report.removed); a
 * disabled key is never revived by a load. */
/* Loads every EIP-2335 keystore (*.json) of keystores_dir with the password in
 * passwords_dir/<same name without .json>.txt (Web3Signer's layout: trailing
 * newline stripped), decrypting on `threads` threads (0 = all cores). With
 * cache_path and cache_key, a keystore whose file bytes are unchanged is taken
 * from the sealed cache (AES-256-GCM under cache_key) instead of re-running
 * scrypt, and the cache is rewritten atomically afterwards. Keys already in the
 * keyring from the same file are kept. One unreadable keystore does not stop
 * the others: it is counted in *failed and logged by file name (never the
 * password). */
typedef struct {
    size_t loaded, from_cache, failed;
    size_t removed; /* (keys) active keys of files gone from keystores_dir since the last load */
} signer_load_report;
cl_err signer_keyring_load_dir(signer_keyring *k, const char *keystores_dir,
                               const char *passwords_dir, const char *cache_path,
                               const uint8_t cache_key[32], unsigned threads,
                               signer_load_report *report);

/* ================= slashing protection (EIP-3076) ================= */

/* Per validator, in the meta store (kind "signer_slashing", one document per
 * validator; slashing.c), checked and recorded in one store transaction, so two
 * requests (or two instances sharing one database) never both get a
 * conflicting message signed. Semantics as Web3Signer implements EIP-3076: a
 * block is refused at a slot already signed with another (or an unknown)
 * signing root, or below the low watermark; an attestation is refused for
 * source > target, a double vote (same target, other root), a surround either
 * way, or source/target below the low watermarks; both are refused at or above
 * the global high watermark; identical re-signs are allowed. Low watermarks:
 * set by the first signature, raised by an import to just above everything the
 * validator holds (EIP-3076's conservative rule) and by pruning. The
 * genesis_validators_root is pinned at first use (import or sign): a different
 * one is refused. Records older than the pruning window are pruned inside each
 * write (watermarks keep protecting). docs/signer.md, "Slashing protection". */
typedef struct signer_slashing signer_slashing;
typedef struct {
    uint64_t prune_epochs;    /* keep this many epochs of history; 0 = 250 (Web3Signer) */
    uint64_t slots_per_epoch; /* 0 = 32 */
    /* each check its own store_txn_keyed on its validator instead of the group
     * commit: always on a shared database (PostgreSQL); tests set it on SQLite */
    bool keyed_checks;
} signer_slashing_opts;
cl_err signer_slashing_open(store *st, const signer_slashing_opts *o, signer_slashing **out);
void signer_slashing_close(signer_slashing *sp);
/* CL_OK: may sign (recorded); CL_ERR_DENIED: refused (reason in why);
 * CL_ERR_CONFLICT: genesis_validators_root mismatch (reason in why). */
cl_err signer_slashing_check_block(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                   const uint8_t gvr[32], uint64_t slot,
                                   const uint8_t signing_root[32], char *why, size_t whylen);
cl_err signer_slashing_check_attestation(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                         const uint8_t gvr[32], uint64_t source, uint64_t target,
                                         const uint8_t signing_root[32], char *why, size_t whylen);
/* EIP-3076 interchange v5. Import merges (watermarks only move up, records
 * are added); an interchange whose genesis root differs from the pinned one,
 * or malformed, is refused whole (CL_ERR_INVALID / CL_ERR_CONFLICT, err says why). */
cl_err signer_slashing_import(signer_slashing *sp, cl_slice interchange, char *err, size_t errlen);
/* pks == NULL: every validator. */
cl_err signer_slashing_export(signer_slashing *sp, const uint8_t (*pks)[SIGNER_PK_LEN], size_t n,
                              cl_buf *out);
typedef struct {
    bool has_block, has_attestation;
    uint64_t slot, source_epoch, target_epoch; /* highest recorded */
} signer_watermark;
cl_err signer_slashing_high_watermark(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                      signer_watermark *out);
/* Prunes every validator's history older than the window; *pruned records. */
cl_err signer_slashing_prune(signer_slashing *sp, size_t *pruned);
/* true if the database answers (for /healthcheck). */
bool signer_slashing_healthy(signer_slashing *sp);
/* Web3Signer's global high watermark (`watermark-repair --set-high-watermark`,
 * `GET /api/v1/eth2/highWatermark`): while set, every validator is refused a
 * block at slot >= slot and an attestation whose source or target epoch is
 * >= epoch. Setting replaces the previous one. */
cl_err signer_slashing_set_high_watermark(signer_slashing *sp, uint64_t slot, uint64_t epoch);
/* CL_ERR_NOT_FOUND when none is set. */
cl_err signer_slashing_get_high_watermark(signer_slashing *sp, uint64_t *slot, uint64_t *epoch);
cl_err signer_slashing_remove_high_watermark(signer_slashing *sp);
/* Web3Signer's `watermark-repair --slot S --epoch E` (without
 * --set-high-watermark): raises every validator's low watermarks to slot S and
 * source/target epoch E (never lowers them); *updated validators (may be NULL). */
cl_err signer_slashing_raise_low_watermarks(signer_slashing *sp, uint64_t slot, uint64_t epoch,
                                            size_t *updated);
/* The pinned genesis_validators_root; CL_ERR_NOT_FOUND before the first
 * import or signature. */
cl_err signer_slashing_genesis_root(signer_slashing *sp, uint8_t gvr[32]);
/* As signer_slashing_import, merging only the data of the given validators
 * (the keymanager's POST imports the slashing data of the keys it imports,
 * as Web3Signer's importDataWithFilter); the whole file is still checked. */
cl_err signer_slashing_import_for(signer_slashing *sp, cl_slice interchange,
                                  const uint8_t (*pks)[SIGNER_PK_LEN], size_t n, char *err,
                                  size_t errlen);
/* Pins gvr as the slashing database's genesis_validators_root (e.g. from the
 * network configuration at start); CL_OK if it already is, CL_ERR_CONFLICT
 * (err names both) if another one is. */
cl_err signer_slashing_pin_genesis_root(signer_slashing *sp, const uint8_t gvr[32], char *err,
                                        size_t errlen);

/* ================= server: the HTTP API and `cloister signer serve` ================= */

typedef struct signer_server signer_server;
/* An extra key source, called at start and on every reload (the KMS-sealed
 * keys, kmskeys.c): adds keys to k; returns an error with a message in err
 * (never secrets) when it cannot. */
typedef cl_err (*signer_key_loader)(void *arg, signer_keyring *k, char *err, size_t errlen);
typedef struct {
    const char *listen;   /* "127.0.0.1:9000" */
    const char *data_dir; /* the signer's own state: meta store, key cache, API token */
    const char *meta_url; /* NULL: sqlite:<data_dir>/signer.db; "postgres://…" later */
    const char *keystores_path, *passwords_path; /* NULL: no EIP-2335 keystores */
    const signer_network *network;               /* NULL: mainnet */
    const char *tls_cert_pem, *tls_key_pem;      /* both or neither: HTTPS */
    unsigned http_threads, load_threads;         /* 0: defaults (cores) */
    bool production; /* refuse plain keystores: only attestation-gated keys */
    signer_slashing_opts slashing;
    signer_key_loader extra_keys; /* optional */
    void *extra_keys_arg;
} signer_server_opts;
/* Opens the store, starts listening at once (/upcheck answers, /healthcheck
 * says "loading"), then loads keys in the background. */
cl_err signer_server_start(const signer_server_opts *o, signer_server **out, char *err,
                           size_t errlen);
uint16_t signer_server_port(const signer_server *s);
void signer_server_stop(signer_server *s); /* zeroises and frees every key */

/* ================= kms keys: sealed under a KMS data key (the enclave path) =================
 * A key set (docs/signer.md, "Keys sealed by KMS"): a 32-byte data key from KMS
 * GenerateDataKey (encryption context {"cloister:signer-keys": NAME}), kept only
 * as its KMS ciphertext, and per validator key its pubkey and
 *   sealed = iv (12) || AES-256-GCM(data key, iv, aad = pubkey (48), sk) (32) || tag (16).
 * Sealing happens on the operator's machine; the node stores ciphertexts only;
 * inside the signer app's sandbox the data key comes back from KMS Decrypt with a
 * Recipient (CMS to an RSA key made there) and the keys are unsealed into the
 * keyring. kmskeys.c (no I/O but the attestation descriptor; the KMS and
 * Cloister calls are the CLI's, src/cli/signer_kms.c). */
#define SIGNER_KMS_DATA_KEY_LEN 32
#define SIGNER_KMS_SEALED_LEN (12 + SIGNER_SK_LEN + 16)
#define SIGNER_KMS_MAX_KEYS 20000
/* The encryption context key GenerateDataKey and Decrypt are called with. */
#define SIGNER_KMS_CONTEXT_KEY "cloister:signer-keys"

cl_err signer_kms_seal(const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                       const uint8_t pk[SIGNER_PK_LEN], const uint8_t sk[SIGNER_SK_LEN],
                       uint8_t sealed[SIGNER_KMS_SEALED_LEN]);
/* CL_ERR_CRYPTO if it does not open (other data key, other pubkey, any changed
 * byte); sk is zeroed then. */
cl_err signer_kms_unseal(const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                         const uint8_t pk[SIGNER_PK_LEN],
                         const uint8_t sealed[SIGNER_KMS_SEALED_LEN], uint8_t sk[SIGNER_SK_LEN]);

typedef struct {
    uint8_t pk[SIGNER_PK_LEN];
    uint8_t sealed[SIGNER_KMS_SEALED_LEN];
} signer_kms_entry;
/* A key set as the Cloister API carries it (PutSignerKeys' request, GetSignerKeys'
 * SignerKeys): {"Name", "KmsKeyId", "EncryptedDataKey": base64, "Keys":
 * [{"Pubkey": "0x" + 96 hex, "Sealed": base64 of 60 bytes}]}; other members
 * are ignored. Owned; signer_kms_set_free frees. */
typedef struct {
    char *name, *kms_key_id;
    cl_buf encrypted_data_key;
    signer_kms_entry *keys;
    size_t n;
} signer_kms_set;
/* Checks everything (name [A-Za-z0-9_-]{1,64}, KmsKeyId 1..2048 bytes, data key
 * ciphertext 1..6144 bytes, 0..SIGNER_KMS_MAX_KEYS keys, no pubkey twice);
 * CL_ERR_INVALID with what is wrong in err. */
cl_err signer_kms_set_parse(cl_slice json, signer_kms_set *out, char *err, size_t errlen);
void signer_kms_set_free(signer_kms_set *s);
bool signer_kms_name_valid(const char *name);
/* The set as that JSON object (no trailing newline). */
void signer_kms_set_json(const signer_kms_set *s, cl_buf *out);
/* Unseals every key into k (source SIGNER_SRC_KMS, origin "kms:NAME"). All or
 * nothing: a key that does not open (err names its pubkey) adds none. Every
 * intermediate secret is zeroised. kmskeys_load.c. */
cl_err signer_kms_set_load(const signer_kms_set *s, const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                           signer_keyring *k, size_t *loaded, char *err, size_t errlen);

/* The sandbox side of KMS Decrypt with Recipient: an RSA-2048 key made in this
 * process (never written anywhere), its DER SubjectPublicKeyInfo for the
 * attestation document, and the opening of CiphertextForRecipient (CMS
 * EnvelopedData, RSAES-OAEP-SHA-256) with it. */
typedef struct signer_kms_recipient signer_kms_recipient;
cl_err signer_kms_recipient_new(signer_kms_recipient **out);
void signer_kms_recipient_free(signer_kms_recipient *r); /* NULL is fine */
void signer_kms_recipient_spki(const signer_kms_recipient *r, cl_buf *der_out);
/* Appends the plaintext to out (free it with buf_free_secret); CL_ERR_CRYPTO if
 * cms is not an envelope this key opens. */
cl_err signer_kms_recipient_open(const signer_kms_recipient *r, cl_slice cms_der, cl_buf *out);
/* Asks the run's init for an attestation document over spki_der (DER SPKI) on
 * the descriptor CLOISTER_ATTESTATION_FD names (docs/runs.md, "KMS from inside a
 * run": one frame, u32 big-endian length then JSON, each way). CL_ERR_NOT_FOUND
 * outside a run (the variable is unset); CL_ERR_DENIED / CL_ERR_IO with err. */
cl_err signer_kms_attest(cl_slice spki_der, cl_buf *doc_out, char *err, size_t errlen);

#endif

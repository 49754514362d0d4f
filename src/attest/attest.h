/* attest.h — the one public header of src/attest: attestation documents in the
 * format of AWS Nitro Enclaves (COSE_Sign1, ES384, over a CBOR payload), the
 * node's attestation root that signs them, and their verification.
 *
 * Trust model (../shared/DESIGN.md, docs/security/trust-model.md): the node's
 * enclave runtime holds the attestation root key and plays the role of the
 * Nitro hypervisor: it signs what it measured. A hardware backend can be put
 * behind the same interface. Verification is the real one: signature, chain,
 * validity times, freshness.
 *
 * Document (RFC 8152 COSE_Sign1, CBOR tag 18 optional on input, not written):
 *   [ protected: bstr(CBOR {1: -35})   ; alg ES384
 *     unprotected: {}
 *     payload: bstr(CBOR map, keys are text strings:
 *        module_id  tstr       (the sandbox/app run id)
 *        digest     "SHA384"
 *        timestamp  uint       (ms since the Unix epoch, when signed)
 *        pcrs       {uint => bstr(48)}  (0..15; PCR0 = image SHA-384)
 *        certificate bstr      (DER X.509 of the signing key, ECDSA P-384)
 *        cabundle   [bstr...]  (DER; cabundle[0] is the root, then down to the
 *                               issuer of certificate)
 *        public_key bstr / nil (DER SubjectPublicKeyInfo of the enclave's key;
 *                               KMS Recipient encrypts to it, RSA 2048..4096)
 *        user_data  bstr / nil
 *        nonce      bstr / nil)
 *     signature: bstr(96) = r || s, ECDSA P-384 over the COSE Sig_structure
 *        ["Signature1", protected, h'', payload] ]
 *
 * Node attestation root, in DATA/keys/ (dir 0700):
 *   attest-root.key  PEM PKCS#8 ECDSA P-384 private key, 0600, made on first use
 *   attest-root.pem  self-signed CA certificate (CN=Cloister attestation root,
 *                    10 years), kept across restarts
 *   Documents are signed by a per-signer leaf key: attest_root_open makes a fresh
 *   P-384 leaf certificate (valid 3 hours, issued by the root) each time it opens,
 *   held in memory only, and attest_sign replaces it when less than an hour of
 *   it is left (so a long-running holder keeps signing verifiable documents).
 *
 * Ownership: the caller owns everything it passes in; attest_doc fields are
 * owned by the doc and released by attest_doc_free. */
#ifndef CLOISTER_ATTEST_H
#define CLOISTER_ATTEST_H

#include "base/base.h"

#define ATTEST_PCR_COUNT 16
#define ATTEST_PCR_LEN 48 /* SHA-384 */
/* PCR4 marks a document signed for a run on a REMOTE worker (`cloister
 * worker`): SHA-384 of the worker principal's ARN. Such a host is not this
 * node's enclave runtime, so KMS refuses these documents as a Recipient
 * (docs/tasks.md, "What a worker host is trusted with"); receipts carry it. */
#define ATTEST_PCR_REMOTE_WORKER 4
/* Documents older than this (by their timestamp) are not fresh. */
#define ATTEST_MAX_AGE_SECONDS 300

typedef struct attest_root attest_root;

/* Loads (or on first use creates) the attestation root in `keys_dir`
 * (created 0700 if missing) and makes a fresh leaf signer. */
cl_err attest_root_open(const char *keys_dir, attest_root **out);
void attest_root_close(attest_root *r);
/* The root certificate (DER) that verifiers trust. Owned by r. */
cl_slice attest_root_cert_der(const attest_root *r);

/* What a document says. */
typedef struct {
    char module_id[128];
    uint64_t timestamp_ms;
    uint16_t pcr_present;                           /* bit i: pcrs[i] given */
    uint8_t pcrs[ATTEST_PCR_COUNT][ATTEST_PCR_LEN]; /* PCR0 = image SHA-384 */
    cl_buf public_key;                              /* DER SPKI; empty if nil */
    cl_buf user_data;                               /* empty if nil */
    cl_buf nonce;                                   /* empty if nil */
} attest_doc;

void attest_doc_free(attest_doc *d);

/* Signs a document with the node's leaf key. d->timestamp_ms = 0 means "now".
 * out receives the COSE_Sign1 bytes (appended). */
cl_err attest_sign(const attest_root *r, const attest_doc *d, cl_buf *out);

/* Verifies a document against the trusted root certificate `root_der`:
 * COSE structure and algorithm (ES384 only), payload fields and their types,
 * the leaf signature over the Sig_structure, the chain leaf <- cabundle <- root
 * (cabundle[0] must equal root_der byte for byte), certificate validity at
 * `now`, and freshness: now - ATTEST_MAX_AGE_SECONDS <= timestamp <= now + 60.
 * On success fills *out (the caller frees it with attest_doc_free). On failure
 * returns CL_ERR_INVALID (malformed) or CL_ERR_CRYPTO (signature/chain) or
 * CL_ERR_EXPIRED (stale or not yet valid), with a one-line reason in err. */
cl_err attest_verify(cl_slice doc, cl_slice root_der, time_t now, attest_doc *out, char *err,
                     size_t errlen);

/* attest_verify for records checked long after the fact (run receipts): every
 * gate is the same except time. Certificate validity is judged at the
 * document's own timestamp instead of `now`, and there is no maximum age; a
 * timestamp later than now + 60 s is still refused (CL_ERR_EXPIRED). What this
 * proves: the node's root certified, at that time, a signer that signed this
 * document. attest_verify is unchanged (KMS and secret release keep using it). */
cl_err attest_verify_at_doc_time(cl_slice doc, cl_slice root_der, time_t now, attest_doc *out,
                                 char *err, size_t errlen);

/* Lower-case hex of PCR i into out (97 bytes); false if the document has none. */
bool attest_pcr_hex(const attest_doc *d, int i, char out[ATTEST_PCR_LEN * 2 + 1]);

#endif

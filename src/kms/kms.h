/* kms.h — the one public header of src/kms: the KMS service (JSON 1.1
 * protocol, X-Amz-Target "TrentService.<Operation>", SigV4 service "kms") and
 * the two calls other services make on a caller's behalf (S3 SSE-KMS).
 *
 * Keys, aliases and grants live in the meta store (kinds "kms_key",
 * "kms_alias", "kms_grant"); key material is stored wrapped by the node root
 * key (kms_crypto.h). Every operation is authorized by iam_authorize with the
 * key policy as the resource policy, KMS's rule (the key policy must allow,
 * directly or by delegating to the account root), and grants.
 *
 * Ownership: kms_open's caller keeps st, m and the root certificate bytes alive
 * until kms_close. Data keys handed out are the caller's to cl_cleanse. */
#ifndef CLOISTER_KMS_H
#define CLOISTER_KMS_H

#include "iam/iam.h"

#include <jansson.h>

typedef struct kms kms;

typedef struct {
    const char *data_dir;        /* root key in DATA/keys */
    const char *passphrase_file; /* NULL: root key file; else scrypt-derived */
    cl_slice attest_root_der;    /* the attestation root Recipient documents chain to */
} kms_options;

cl_err kms_open(store *st, iam *m, const kms_options *o, kms **out, char *err, size_t errlen);
void kms_close(kms *k);

/* A 32-byte key for another part of the node, derived from the root key:
 * HKDF-SHA256(root, salt "cloister/node-key", info "cloister/node-key/v1/" purpose). IAM seals its
 * secrets with kms_node_key(k, "iam-secrets"). */
void kms_node_key(const kms *k, const char *purpose, uint8_t out[32]);

void kms_api_handle(kms *k, const iam_caller *c, http_request *req, http_response *resp);

/* Housekeeping: deletes keys whose deletion date has passed and rotates keys
 * whose rotation is due. */
cl_err kms_housekeeping(kms *k, size_t *deleted, size_t *rotated);

/* ---- for services acting for a caller (S3 SSE-KMS) ----
 * Both authorize the *caller* (kms:GenerateDataKey / kms:Decrypt, with
 * kms:ViaService = via_service and the encryption context as condition keys)
 * and fail with fault = the KMS error (code "KMS.<Exception>" style is left to
 * the calling service; fault->code is the KMS exception name). */
/* key_id NULL: the account's AWS managed key alias/aws/<service>, created on
 * first use (service = the word before the first dot of via_service). */
cl_err kms_data_key_for(kms *k, const iam_caller *c, const http_request *req, const char *key_id,
                        const char *via_service, const json_t *ctx, uint8_t key[32], cl_buf *blob,
                        char **key_arn, aws_fault *f);
cl_err kms_decrypt_for(kms *k, const iam_caller *c, const http_request *req,
                       const char *via_service, const json_t *ctx, cl_slice blob, uint8_t key[32],
                       char **key_arn, aws_fault *f);

#endif

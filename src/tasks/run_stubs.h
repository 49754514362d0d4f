/* TEMPORARY (removed at merge): declarations the helpers' branches provide. */
#ifndef RUN_STUBS_H
#define RUN_STUBS_H
#include "attest/attest.h"
#include "base/base.h"
#include "iam/iam.h"
#include <jansson.h>
#include <openssl/types.h>
struct secrets_store;
typedef struct {
    char digest[67];
    char *det_path;
    bool callback;
} tasks_result;
cl_err tasks_result_compute(const char *out_dir, tasks_result *r, char *err, size_t errlen);
void tasks_result_free(tasks_result *r);
char *tasks_receipt_seal(const json_t *body, cl_slice attestation_doc, EVP_PKEY *enclave_key);
cl_err tasks_receipt_verify(cl_slice receipt, cl_slice root_der, json_t **body_out,
                            attest_doc *doc_out, char *err, size_t errlen);
cl_err crypto_ecies_seal(cl_slice spki, cl_slice aad, cl_slice pt, cl_buf *out);
cl_err crypto_ecies_open(EVP_PKEY *priv, cl_slice aad, cl_slice sealed, cl_buf *out);
char *secrets_principal_id(const iam_caller *c);

#include "secrets/secrets.h"
cl_err secrets_for_run(secrets_store *s, const char *account, const char *principal_id,
                       const char *name, bool debug, cl_buf *out);
cl_err secrets_app_for_run(secrets_store *s, const secrets_addr *app, bool debug, cl_buf *out);
#endif

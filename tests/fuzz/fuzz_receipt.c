/* fuzz_receipt.c — libFuzzer target for tasks_receipt_verify, the offline check
 * of a run's receipt (src/tasks/receipt.c) that anyone may hand a verifier.
 * The trusted root is a fixed certificate (below), that of the throwaway data
 * dir the seeds in tests/fuzz/seeds/fuzz_receipt were made with (its root key
 * was thrown away): `cloister attest sign --public-key` made the document,
 * Python's cryptography sealed the receipts as tests/e2e/test_result_verify.py
 * does. So the seeds verify completely and mutations reach every check: JSON,
 * version, base64, the attestation document (at its own time), the ES384
 * signature over the canonical JSON, module_id = task, PCR0 = measurement.
 * A receipt that verifies must give back a body and document that agree.
 * Nothing may crash, leak or trip a sanitizer.
 *
 * To remake the seeds: see the comment above; paste the new root.pem below. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

static const char ROOT_PEM[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIB6TCCAW+gAwIBAgIQSVvKV7bdZI4rtxKKVXA4eDAKBggqhkjOPQQDAzAkMSIw\n"
                               "IAYDVQQDDBlDbG9pc3RlciBhdHRlc3RhdGlvbiByb290MB4XDTI2MTIwNTIyMzMw\n"
                               "MVoXDTM2MTIwMjIyMzQwMVowJDEiMCAGA1UEAwwZQ2xvaXN0ZXIgYXR0ZXN0YXRp\n"
                               "b24gcm9vdDB2MBAGByqGSM49AgEGBSuBBAAiA2IABIQonSHSEeaHhn25LqXEuyLY\n"
                               "BeEFOPlSki716ZEyeYn6MVqQhOECaEuC+Mk4/lbhhYb2aWGUP0Fd1d/QBpVhbMNk\n"
                               "3jcvpTc8FSEu32vksJ7xpmhzokNKB2TxgtpQn1I1sqNmMGQwEgYDVR0TAQH/BAgw\n"
                               "BgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFON7sNNcnftOdbNKpueN\n"
                               "vJDCKZmJMB8GA1UdIwQYMBaAFON7sNNcnftOdbNKpueNvJDCKZmJMAoGCCqGSM49\n"
                               "BAMDA2gAMGUCMQDCSbSd0oacdVxralz+MuWmnpcKpofuMXOisAnKCMsAUx0vF7Qx\n"
                               "saOq+uSnAzXEnAsCMAL8yJ89LxNuvqT2CXptDmc9h+z4BBLhl8TNOFIaJkvFOWxL\n"
                               "iDhjnO/Fr6tMQ1d3Kw==\n"
                               "-----END CERTIFICATE-----\n";

/* The root as DER, made once. */
static cl_slice root_der(void) {
    static unsigned char *der = NULL;
    static int len = 0;
    if (!der) {
        BIO *bio = BIO_new_mem_buf(ROOT_PEM, -1);
        X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        len = x ? i2d_X509(x, &der) : 0;
        X509_free(x);
        BIO_free(bio);
        if (len <= 0) abort();
    }
    return slice_of(der, (size_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *body = NULL;
    attest_doc d;
    char err[256];
    if (tasks_receipt_verify(slice_of(data, size), root_der(), &body, &d, err, sizeof err) ==
        CL_OK) {
        const char *task = json_string_value(json_object_get(body, "task"));
        if (!task || strcmp(task, d.module_id) != 0) abort();
    } else if (body || !err[0]) {
        abort();
    }
    json_decref(body);
    attest_doc_free(&d);
    return 0;
}

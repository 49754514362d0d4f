/* fuzz_attest.c — libFuzzer target for attest_verify, the parser of attestation
 * documents that KMS Recipient calls take from anyone. The trusted root is a
 * fixed certificate (below) and `now` a fixed time, both taken from the data
 * dir and the moment the seeds in tests/fuzz/seeds/fuzz_attest were made with
 * `cloister attest sign` (their root key was thrown away): so the seeds verify
 * completely, and mutations of them reach every gate — CBOR, COSE, payload
 * fields, X.509 chain, ES384 signature, freshness — instead of stopping at
 * "not our root". Inputs that verify are also checked later in time (stale,
 * then certificates expired) and their PCRs printed to hex; every input also
 * goes through attest_verify_at_doc_time a year later. Nothing may crash,
 * leak or trip a sanitizer.
 *
 * To remake the seeds: `cloister attest root --data D > root.pem`, sign the
 * documents with --data D, paste root.pem below and set NOW to the signing
 * time (seconds) plus a few. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "attest/attest.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#define NOW ((time_t)1795245420) /* 2026-11-21T07:17:00Z, just after the seeds */

static const char ROOT_PEM[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIB6TCCAW+gAwIBAgIQY99ZLdgEjMDWfmz8E3AYYTAKBggqhkjOPQQDAzAkMSIw\n"
                               "IAYDVQQDDBlDbG9pc3RlciBhdHRlc3RhdGlvbiByb290MB4XDTI2MTEyMTA3MTU0\n"
                               "OVoXDTM2MTExODA3MTY0OVowJDEiMCAGA1UEAwwZQ2xvaXN0ZXIgYXR0ZXN0YXRp\n"
                               "b24gcm9vdDB2MBAGByqGSM49AgEGBSuBBAAiA2IABOn0gowmBGDDZcETwhE8fgoH\n"
                               "/ElZfbdVFhBLJlu/VDw6U5I2KT0CY5AYdA4W8K9HXAk2ZDcrf48Lk9rgJ4hJMqM3\n"
                               "G2PMkRNL/WvDUwY/6N0v0XzHg8evbOOMA5lSxUrQ/KNmMGQwEgYDVR0TAQH/BAgw\n"
                               "BgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFOrhKnkMkigbqIV/sVzC\n"
                               "iyBgXiacMB8GA1UdIwQYMBaAFOrhKnkMkigbqIV/sVzCiyBgXiacMAoGCCqGSM49\n"
                               "BAMDA2gAMGUCMGdYcsElRZu9CbQI/ez4TDtpIUNxgI8fC8yakQ2PTKj0StPV86Dc\n"
                               "eHR6Zf8++6f8owIxAMAXUbpqG/Wl7t9JqoUq8oU1jv4Rx92/J0nKX2PRuZcBBpSJ\n"
                               "TXilkgkkNk+PGQFhzg==\n"
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

static void check_at(cl_slice doc, time_t now) {
    attest_doc d;
    char err[256];
    if (attest_verify(doc, root_der(), now, &d, err, sizeof err) != CL_OK) return;
    char hex[ATTEST_PCR_LEN * 2 + 1];
    for (int i = -1; i <= ATTEST_PCR_COUNT; i++)
        (void)attest_pcr_hex(&d, i, hex);
    attest_doc_free(&d);
    if (now == NOW) {
        check_at(doc, NOW + ATTEST_MAX_AGE_SECONDS + 1); /* stale */
        check_at(doc, NOW + 86400);                      /* leaf expired */
    }
}

/* The receipts' variant judges the chain at the document's own time: whatever
 * it accepts is signed under the root, whenever it is checked. */
static void check_at_doc_time(cl_slice doc) {
    attest_doc d;
    char err[256];
    if (attest_verify_at_doc_time(doc, root_der(), NOW + 86400 * 365, &d, err, sizeof err) ==
        CL_OK) {
        if (d.timestamp_ms / 1000 > (uint64_t)NOW + 86400 * 365 + 60) abort();
        attest_doc_free(&d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_at(slice_of(data, size), NOW);
    check_at_doc_time(slice_of(data, size));
    return 0;
}

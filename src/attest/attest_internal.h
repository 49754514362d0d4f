/* attest_internal.h — what attest.c (the document format) needs from
 * attest_root.c (the keys): the current leaf signer. Not for other modules. */
#ifndef CLOISTER_ATTEST_INTERNAL_H
#define CLOISTER_ATTEST_INTERNAL_H

#include "attest/attest.h"

#include <openssl/evp.h>

/* The leaf that signs documents now: *key gets a reference the caller releases
 * with EVP_PKEY_free, cert_der gets a copy of its certificate (appended). A leaf
 * close to expiry is replaced first, so a long-running holder of r keeps
 * signing documents whose chain verifies. Thread-safe. */
cl_err attest_root_leaf(const attest_root *r, EVP_PKEY **key, cl_buf *cert_der);

#endif

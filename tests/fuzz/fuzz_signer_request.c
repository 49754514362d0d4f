/* fuzz_signer_request.c — signer_request_parse (src/signer/request*.c) on
 * arbitrary bytes, as the signer's HTTP API hands it a sign request body. The
 * first byte picks the network (the rest is the body). Any input must give
 * CL_OK with a root, or an error with a message — never a crash, a read past
 * the body, a leak, or an error without a message. */
#include "signer/signer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const nets[] = {"mainnet", "sepolia", "holesky", "hoodi", "gnosis"};
    if (size < 1) return 0;
    const signer_network *net = signer_network_find(nets[data[0] % 5]);
    /* a private copy, so ASan sees any read past the body */
    uint8_t *body = malloc(size - 1 ? size - 1 : 1);
    memcpy(body, data + 1, size - 1);
    signer_request r;
    char err[256];
    cl_err e = signer_request_parse(net, slice_of(body, size - 1), &r, err, sizeof err);
    if (e != CL_OK && (e != CL_ERR_INVALID && e != CL_ERR_NOT_FOUND)) abort();
    if (e != CL_OK && (!memchr(err, 0, sizeof err) || !err[0])) abort();
    if (e == CL_OK && !signer_type_name(r.type)) abort();
    free(body);
    return 0;
}

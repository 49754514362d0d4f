/* signer_root_cmd.c — `cloister signer root [--network NAME] FILE|-`: parses a
 * sign request as the signer would (signer_request_parse) and prints
 * {"type":"…","signing_root":"0x…"}, or the parser's message and exit 1. The
 * debugging tool for a client whose requests are refused, and what the
 * cross-implementation test (tests/e2e/test_signer_roots.py) drives. */
#include "cli/cli.h"
#include "signer/signer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ROOT_MAX_INPUT (8u << 20)

static int root_usage(void) {
    fprintf(stderr, "usage: cloister signer root [--network NAME] FILE|-\n"
                    "networks: mainnet (default), sepolia, holesky, hoodi, gnosis\n");
    return 2;
}

static cl_err read_stdin(cl_buf *out) {
    char chunk[65536];
    ssize_t n;
    while ((n = read(0, chunk, sizeof chunk)) > 0) {
        if (out->len + (size_t)n > ROOT_MAX_INPUT) return CL_ERR_TOO_LARGE;
        buf_append(out, chunk, (size_t)n);
    }
    return n < 0 ? CL_ERR_IO : CL_OK;
}

int cmd_signer_root(int argc, char **argv) {
    const char *network = "mainnet", *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--network") == 0 && i + 1 < argc)
            network = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return root_usage();
        else if (!file && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            file = argv[i];
        else
            return root_usage();
    }
    if (!file) return root_usage();
    const signer_network *net = signer_network_find(network);
    if (!net) {
        fprintf(stderr, "cloister signer root: unknown network '%s'\n", network);
        return 2;
    }
    cl_buf in = {0};
    cl_err e = strcmp(file, "-") == 0 ? read_stdin(&in) : file_read_all(file, &in, ROOT_MAX_INPUT);
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer root: cannot read %s: %s\n", file, cl_err_str(e));
        buf_free(&in);
        return 1;
    }
    signer_request req;
    char err[512];
    e = signer_request_parse(net, buf_slice(&in), &req, err, sizeof err);
    buf_free(&in);
    if (e != CL_OK) {
        fprintf(stderr, "%s\n", err[0] ? err : cl_err_str(e));
        return 1;
    }
    char hex[65];
    hex_encode_to(hex, req.signing_root, 32);
    printf("{\"type\":\"%s\",\"signing_root\":\"0x%s\"}\n", signer_type_name(req.type), hex);
    return 0;
}

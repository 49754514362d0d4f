/* signer_root_cmd.c — `cloister signer root [--network NAME] FILE...|-`: parses
 * a sign request as the signer would (signer_request_parse) and prints
 * {"type":"…","signing_root":"0x…"}, or the parser's message and exit 1. With
 * several files, one line each, in order (a refused one prints
 * {"file":"…","error":"…"} on stdout too, and the exit status is 1). The
 * debugging tool for a client whose requests are refused, and what the
 * cross-implementation test (tests/e2e/test_signer_roots.py) drives. */
#include "cli/cli.h"
#include "signer/signer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT_MAX_INPUT (8u << 20)

static int root_usage(void) {
    fprintf(stderr, "usage: cloister signer root [--network NAME] FILE...|-\n"
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

/* One request: 0 printed its root, 1 refused (message on stderr, and on
 * stdout as JSON when `many`). */
static int root_one(const signer_network *net, const char *file, bool many) {
    cl_buf in = {0};
    cl_err e = strcmp(file, "-") == 0 ? read_stdin(&in) : file_read_all(file, &in, ROOT_MAX_INPUT);
    char err[512] = "";
    signer_request req;
    if (e != CL_OK)
        snprintf(err, sizeof err, "cannot read %s: %s", file, cl_err_str(e));
    else if ((e = signer_request_parse(net, buf_slice(&in), &req, err, sizeof err)) != CL_OK &&
             !err[0])
        snprintf(err, sizeof err, "%s", cl_err_str(e));
    buf_free(&in);
    if (e != CL_OK) {
        fprintf(stderr, many ? "%s: %s\n" : "%s%s\n", many ? file : "", err);
        if (many) {
            json_t *o = json_pack("{ssss}", "file", file, "error", err);
            char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (s) printf("%s\n", s);
            free(s);
            json_decref(o);
        }
        return 1;
    }
    char hex[65];
    hex_encode_to(hex, req.signing_root, 32);
    printf("{\"type\":\"%s\",\"signing_root\":\"0x%s\"}\n", signer_type_name(req.type), hex);
    return 0;
}

int cmd_signer_root(int argc, char **argv) {
    const char *network = "mainnet";
    const char **files = cl_calloc((size_t)argc, sizeof *files);
    size_t nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--network") == 0 && i + 1 < argc)
            network = argv[++i];
        else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
            files[nfiles++] = argv[i];
        else {
            free(files);
            return root_usage();
        }
    }
    const signer_network *net = signer_network_find(network);
    int rc = 0;
    if (!nfiles)
        rc = root_usage();
    else if (!net) {
        fprintf(stderr, "cloister signer root: unknown network '%s'\n", network);
        rc = 2;
    }
    for (size_t i = 0; rc != 2 && i < nfiles; i++)
        if (root_one(net, files[i], nfiles > 1) != 0) rc = 1;
    free(files);
    return rc;
}

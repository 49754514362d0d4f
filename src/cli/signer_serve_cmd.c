/* signer_serve_cmd.c — `cloister signer serve` (to be written; see signer_cmd.c). */
#include "cli/cli.h"

#include <stdio.h>

int cmd_signer_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloister signer serve: not built yet\n");
    return 2;
}

/* signer_root_cmd.c — `cloister signer root` (to be written; see signer_cmd.c). */
#include "cli/cli.h"

#include <stdio.h>

int cmd_signer_root(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloister signer root: not built yet\n");
    return 2;
}

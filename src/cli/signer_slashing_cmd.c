/* signer_slashing_cmd.c — `cloister signer slashing` (to be written; see signer_cmd.c). */
#include "cli/cli.h"

#include <stdio.h>

int cmd_signer_slashing(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloister signer slashing: not built yet\n");
    return 2;
}

/* signer_keys_cmd.c — `cloister signer keys` (to be written; see signer_cmd.c). */
#include "cli/cli.h"

#include <stdio.h>

int cmd_signer_keys(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloister signer keys: not built yet\n");
    return 2;
}

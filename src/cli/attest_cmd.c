/* placeholder: attest_cmd.c is written by the attest work */
#include "cli/cli.h"
#include <stdio.h>
int cmd_attest(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloister attest: not built yet\n");
    return 2;
}

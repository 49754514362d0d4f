/* init_main.c — cloister-init: the first program in a run's sandbox, bound
 * read-only at /.cloister/init (src/tasks/run_init.c does the work). A binary
 * of its own so that it links only libcrypto, jansson and libcbor and starts
 * fast; its SHA-384 is the run's PCR1 (docs/attestation.md). */
#include "tasks/tasks.h"

int main(void) {
    return tasks_init_main();
}

/* init_main.c — cloister-init: the first program in a run's sandbox, bound
 * read-only at /.cloister/init (src/tasks/run_init.c does the work). A binary
 * of its own so that it links only libcrypto, jansson and libcbor and starts
 * fast; its SHA-384 is the run's PCR1 (docs/attestation.md). Inside a run,
 * `/.cloister/init attest ...` asks for an attestation document over the
 * app's own key (run_attest.c). */
#include "tasks/tasks.h"

#include <string.h>

/* Under AddressSanitizer builds: LeakSanitizer stops the world with ptrace,
 * which the sandbox's seccomp program refuses, so it would fail every exit of
 * the init (and of `attest` run by an app, whose environment is its own). */
const char *__asan_default_options(void) __attribute__((used));
const char *__asan_default_options(void) {
    return "detect_leaks=0";
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "attest") == 0) return tasks_attest_tool(argc, argv);
    return tasks_init_main();
}

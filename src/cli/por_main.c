/* por_main.c — cloister-por: the proof of reserves on its own (the commands of
 * `cloister por`, por_cmd.c), built to be shipped as an app: `cloister-por
 * prove-app` (por_app.c) is its entrypoint in a run's sandbox. It links the
 * por library and what that needs, nothing of the server, so the app bundle
 * stays small and its measurement changes only with the prover. */
#include "cli/por_cli.h"

/* Under AddressSanitizer builds: LeakSanitizer stops the world with ptrace,
 * which the sandbox's seccomp program refuses (as for cloister-init). An
 * ASAN_OPTIONS in the environment still overrides this. */
const char *__asan_default_options(void) __attribute__((used));
const char *__asan_default_options(void) {
    return "detect_leaks=0";
}

int main(int argc, char **argv) {
    return cmd_por(argc, argv);
}

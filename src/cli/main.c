/* main.c — the cloister binary: picks the subcommand. Also makes jansson zeroise
 * what it frees, since JSON documents here carry secrets (keys, tokens). */
#include "cli/cli.h"

#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *json_alloc(size_t n) {
    return cl_malloc(n);
}

static void json_release(void *p) {
    if (!p) return;
    cl_cleanse(p, malloc_usable_size(p));
    free(p);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: cloister <command> [options]\n\n"
            "commands:\n"
            "  serve [--data DIR] [--listen HOST:PORT] [--tls-listen HOST:PORT] [--threads N]\n"
            "        [--root-key-passphrase-file FILE] [--s3-domain DOMAIN] [--web-dir DIR]\n"
            "        [--metrics-listen HOST:PORT]\n"
            "                          run the server (defaults: ./var, 127.0.0.1:9000;\n"
            "                          --web-dir: the pages at /por/, default the source web/;\n"
            "                          --metrics-listen: serve /metrics only on this address,\n"
            "                          not on --listen, e.g. 127.0.0.1:9100)\n"
            "                          resource limits and every option: cloister serve --help\n"
            "  account create NAME [--endpoint URL]\n"
            "                          create an account (an admin of the first account only)\n"
            "  account root-key ACCOUNT [--data DIR] [--delete KEY_ID]\n"
            "                          an access key of the account's root user, from the\n"
            "                          data directory (see docs/iam.md)\n"
            "  app deploy|show|list|delete|owner ...\n"
            "                          confidential apps (see docs/apps.md)\n"
            "  run APP [--secret K=NAME]... [--input FILE|s3://B/K]... [--arg A]... [--watch]\n"
            "                          run an app in the sandbox (see docs/runs.md)\n"
            "  task show|logs|result ID, task list [--state S] [--app A], task cancel|retry ID,\n"
            "  task logs ID --follow   a task's state, output and receipt; the queue\n"
            "  trigger add --bucket B [--prefix P] [--suffix S] --app APP [--arg A]...\n"
            "              [--secret K=NAME]...   run APP when an object lands (docs/tasks.md)\n"
            "  trigger list --bucket B\n"
            "  request submit --app APP --input URL... [--require-role ARN] [--watch] ...\n"
            "                          ask for a task whose inputs workers fetch\n"
            "                          (see docs/tasks.md)\n"
            "  worker [--endpoint URL] [--work-dir DIR] [--once] [--max-tasks N]\n"
            "                          a remote worker: runs the node's tasks here with\n"
            "                          its own AWS credentials (see docs/tasks.md)\n"
            "  secret push|check, app secret push|check, wallet ...\n"
            "                          secrets and wallet link (see docs/secrets.md)\n"
            "  attest sign|verify ...  mint / check attestation documents (see docs/kms.md)\n"
            "  result verify RECEIPT (--root ROOT.pem | --data DIR)\n"
            "                          check a run's receipt offline (see docs/attestation.md)\n"
            "  por prove|verify|verify-inclusion|prove-app|app ...\n"
            "                          proof of reserves (see docs/por.md)\n"
            "  signer serve|keys|slashing|root ...\n"
            "                          the Web3Signer-compatible remote signer (docs/signer.md)\n"
            "  migrate --from DATA/meta.db --to postgres://... [--force]\n"
            "                          copy a single node's metadata into PostgreSQL\n"
            "                          (see docs/operations.md)\n"
            "  version                 print the version\n");
}

int main(int argc, char **argv) {
    json_set_alloc_funcs(json_alloc, json_release);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "account") == 0) return cmd_account(argc - 1, argv + 1);
    if (strcmp(cmd, "attest") == 0) return cmd_attest(argc - 1, argv + 1);
    if (strcmp(cmd, "por") == 0) return cmd_por(argc - 1, argv + 1);
    if (strcmp(cmd, "app") == 0) return cmd_app(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "task") == 0) return cmd_task(argc - 1, argv + 1);
    if (strcmp(cmd, "trigger") == 0) return cmd_trigger(argc - 1, argv + 1);
    if (strcmp(cmd, "__enclave-init") == 0) return tasks_init_main(); /* inside a run's sandbox */
    if (strcmp(cmd, "result") == 0) return cmd_result(argc - 1, argv + 1);
    if (strcmp(cmd, "secret") == 0) return cmd_secret(argc - 1, argv + 1);
    if (strcmp(cmd, "wallet") == 0) return cmd_wallet(argc - 1, argv + 1);
    if (strcmp(cmd, "request") == 0) return cmd_request(argc - 1, argv + 1);
    if (strcmp(cmd, "worker") == 0) return cmd_worker(argc - 1, argv + 1);
    if (strcmp(cmd, "signer") == 0) return cmd_signer(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0) return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("cloister 0.1.0\n");
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "cloister: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

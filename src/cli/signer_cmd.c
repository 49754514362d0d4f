/* signer_cmd.c — `cloister signer …`: dispatches to the remote signer's
 * subcommands (serve, keys, slashing, root), each in its own file, and owns
 * what they share: where the signer keeps its state (signer_cli_store). */
#include "cli/cli.h"
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void signer_usage(FILE *f) {
    fprintf(f, "usage: cloister signer <command> [options]\n\n"
               "commands:\n"
               "  serve --listen HOST:PORT --data DIR [--keystores-path DIR\n"
               "        --keystores-passwords-path DIR] ...\n"
               "                          the Web3Signer-compatible remote signer\n"
               "  keys generate --count N ...\n"
               "                          EIP-2333/2334 keys as EIP-2335 keystores\n"
               "  slashing import|export FILE [--data DIR | --meta URL]\n"
               "                          EIP-3076 interchange (format v5)\n"
               "  root [--network NAME] REQUEST.json\n"
               "                          the signing root of a sign request\n"
               "  keys seal --name NAME --kms-key-id KEY --keystores-path DIR\n"
               "        --keystores-passwords-path DIR [--endpoint URL]\n"
               "                          seal keys under a KMS data key, store them on the node\n"
               "  serve --kms-keys NAME [--endpoint URL] ...\n"
               "                          (inside the signer app) unwrap that key set by KMS\n"
               "                          Decrypt with Recipient\n"
               "  app --out DIR           the signer packaged as a Cloister app\n"
               "  serve --supervise --app NAME [--endpoint URL] [--secret K=NAME...] -- ARGS\n"
               "                          run the signer app and restart it when it ends\n"
               "  status --app NAME [--endpoint URL] [--signer URL]\n"
               "                          the supervised signer's runs and health\n"
               "see docs/signer.md\n");
}

cl_err signer_cli_store(const char *data_dir, const char *meta_url, store **out) {
    if (meta_url) return store_open(meta_url, out);
    CL_TRY(dir_ensure(data_dir, 0700));
    char *url = cl_sprintf("sqlite:%s/signer.db", data_dir);
    cl_err e = store_open(url, out);
    free(url);
    return e;
}

int cmd_signer(int argc, char **argv) {
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        signer_usage(sub ? stdout : stderr);
        return sub ? 0 : 2;
    }
    if (strcmp(sub, "serve") == 0) {
        for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
            if (strcmp(argv[i], "--supervise") == 0)
                return cli_signer_supervise(argc - 1, argv + 1);
        return cmd_signer_serve(cli_signer_kms_take(argc - 1, argv + 1), argv + 1);
    }
    if (strcmp(sub, "keys") == 0 && argc > 2 && strcmp(argv[2], "seal") == 0)
        return cli_signer_keys_seal(argc - 1, argv + 1);
    if (strcmp(sub, "app") == 0) return cli_signer_app(argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0) return cli_signer_status(argc - 1, argv + 1);
    if (strcmp(sub, "keys") == 0) return cmd_signer_keys(argc - 1, argv + 1);
    if (strcmp(sub, "slashing") == 0) return cmd_signer_slashing(argc - 1, argv + 1);
    if (strcmp(sub, "root") == 0) return cmd_signer_root(argc - 1, argv + 1);
    fprintf(stderr, "cloister signer: unknown command '%s'\n", sub);
    signer_usage(stderr);
    return 2;
}

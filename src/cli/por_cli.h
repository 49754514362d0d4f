/* por_cli.h — what `cloister por` (por_cmd.c) and the proof of reserves as an
 * app (por_app.c: `prove-app`, `app`) share. Both files are built into the
 * cloister binary and into cloister-por (por_main.c), which links the por
 * library and nothing of the server. */
#ifndef CLOISTER_POR_CLI_H
#define CLOISTER_POR_CLI_H

#include "base/base.h"
#include "por/por.h"

#include <jansson.h>
#include <stdio.h>

int cmd_por(int argc, char **argv);

/* One prover option at argv[*i] (--assets, --threads, --padded-accounts,
 * --batch, --nonces-out, --range-bits) into o: POR_OPT_NONE if argv[*i] is none of them,
 * POR_OPT_OK with *i moved onto its value, POR_OPT_BAD with *why saying what
 * it takes ("--batch takes 1..1024"). */
typedef enum { POR_OPT_NONE, POR_OPT_OK, POR_OPT_BAD } por_opt;
por_opt por_cli_prove_option(int argc, char **argv, int *i, por_prove_options *o, const char **why);
/* The test hooks from the environment (CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE=1,
 * CLOISTER_POR_UNSAFE_HOOK=list; honoured only by debug builds). */
void por_cli_prove_hooks(por_prove_options *o);
/* The JSON summary of a proof both commands print: status, accounts, padded,
 * tree_depth, assets, batch, threads, root, range_bits {SYM: k}, net_equity_bits,
 * range_proofs, files (private_nonces.json only
 * when it went to the output directory), user_proofs, elapsed_ms. */
json_t *por_cli_prove_summary(const por_prove_options *o, const por_prove_result *r);
/* Prints o as one compact line on stdout and releases it. */
void por_cli_print_json(json_t *o);

/* cloister-por-v2 output (por_cmd_v2.c): verify's and verify-inclusion's
 * JSON line (and human lines on stderr), and `user-hash UID`. */
void por_cli_verify2_print(const char *dir, const por_verify_result *r);
void por_cli_inclusion2_print(const char *proof, const por_inclusion_result *r, bool human);
int por_user_hash_cmd(int argc, char **argv);

/* `prove-app`: the prover as a Cloister/iExec app (por_app.c). */
int por_prove_app(int argc, char **argv);
/* `app --out DIR`: writes the ready-to-deploy app folder (por_app.c). */
int por_app_package(int argc, char **argv);

#endif

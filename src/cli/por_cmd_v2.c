/* por_cmd_v2.c — what `cloister por` prints for cloister-por-v2 proofs
 * (docs/por.md v2 §7, §8): `verify`'s per-asset equity, debt and net and its
 * warnings; `verify-inclusion`'s statement of exactly what the check
 * establishes; and `user-hash UID`. The v1 output stays in por_cmd.c. */
#include "cli/por_cli.h"

#include <string.h>

static json_t *totals_json(const por_asset_total *t, size_t n) {
    json_t *arr = json_array();
    for (size_t a = 0; a < n; a++) {
        json_t *o = json_object();
        json_object_set_new(o, "symbol", json_string(t[a].symbol));
        json_object_set_new(o, "equity", json_string(t[a].equity));
        json_object_set_new(o, "debt", json_string(t[a].debt));
        json_object_set_new(o, "net", json_string(t[a].net));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *warnings_json(char (*w)[POR_ERR_LEN], size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(w[i]));
    return arr;
}

static void human_totals(const por_asset_total *t, size_t n, char (*w)[POR_ERR_LEN], size_t nw) {
    for (size_t a = 0; a < n; a++)
        fprintf(stderr, "  %-12s equity %s, debt %s, net %s\n", t[a].symbol, t[a].equity, t[a].debt,
                t[a].net);
    for (size_t i = 0; i < nw; i++)
        fprintf(stderr, "  WARNING: %s\n", w[i]);
}

void por_cli_verify2_print(const char *dir, const por_verify_result *r) {
    json_t *j = json_object();
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "version", json_string(r->version));
    json_object_set_new(j, "dir", json_string(dir));
    json_object_set_new(j, "padded", json_integer((json_int_t)r->padded));
    json_object_set_new(j, "tree_depth", json_integer(r->depth));
    json_object_set_new(j, "assets", totals_json(r->totals, r->assets));
    json_object_set_new(j, "batch", json_integer(r->batch));
    json_object_set_new(j, "root", json_string(r->root_hash));
    json_object_set_new(j, "total_net_equity", json_string(r->total_equity));
    json_object_set_new(j, "equity_decimals", json_integer(r->equity_decimals));
    json_object_set_new(j, "net_equity_bits", json_integer(r->net_equity_bits));
    json_object_set_new(j, "warnings", warnings_json(r->warnings, r->nwarnings));
    json_object_set_new(j, "seconds", json_real(r->t_total));
    json_t *ph = json_object();
    json_object_set_new(ph, "read", json_real(r->t_read));
    json_object_set_new(ph, "tree", json_real(r->t_tree));
    json_object_set_new(ph, "sums", json_real(r->t_link));
    json_object_set_new(ph, "range_proofs", json_real(r->t_range));
    json_object_set_new(j, "phases", ph);
    por_cli_print_json(j);
    fprintf(stderr,
            "cloister por verify: OK (%s): %llu leaves, %zu assets, root %.16s…, total net "
            "equity %s (units of 10^-%u USDT), %.2f s; per asset (units of the asset's "
            "balance_decimals):\n",
            r->version, (unsigned long long)r->padded, r->assets, r->root_hash, r->total_equity,
            r->equity_decimals, r->t_total);
    human_totals(r->totals, r->assets, r->warnings, r->nwarnings);
}

void por_cli_inclusion2_print(const char *proof, const por_inclusion_result *r, bool human) {
    json_t *j = json_object();
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "version", json_string(r->version));
    json_object_set_new(j, "proof", json_string(proof));
    json_object_set_new(j, "user_hash", json_string(r->user_hash));
    json_object_set_new(j, "uid_checked", json_boolean(r->uid_checked));
    json_object_set_new(j, "leaf_index", json_integer((json_int_t)r->leaf_index));
    json_object_set_new(j, "net_equity", json_string(r->equity));
    json_object_set_new(j, "equity_decimals", json_integer(r->equity_decimals));
    json_object_set_new(j, "root", json_string(r->root_hash));
    json_object_set_new(j, "statement_digest", json_string(r->statement_digest));
    json_object_set_new(j, "timestamp", json_integer((json_int_t)r->timestamp));
    json_object_set_new(j, "assets", totals_json(r->totals, r->assets));
    json_object_set_new(j, "warnings", warnings_json(r->warnings, r->nwarnings));
    json_object_set_new(j, "established", json_string(r->claim));
    por_cli_print_json(j);
    if (!human) return;
    fprintf(stderr,
            "cloister por verify-inclusion: OK%s: %s\n"
            "  root %s, statement digest %s (compare it with the one the exchange published "
            "on an append-only channel); published totals:\n",
            r->uid_checked ? " (the user hash is this account's)" : "", r->claim, r->root_hash,
            r->statement_digest);
    human_totals(r->totals, r->assets, r->warnings, r->nwarnings);
}

int por_user_hash_cmd(int argc, char **argv) {
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
        fprintf(stderr, "usage: cloister por user-hash UID\n");
        return 2;
    }
    char hex[65];
    por_user_hash_hex(argv[1], hex);
    printf("%s\n", hex);
    return 0;
}

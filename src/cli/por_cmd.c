/* por_cmd.c — `cloister por prove|verify|verify-inclusion`: the proof of
 * reserves (src/por, docs/por.md) as a command; `prove-app` and `app` (the
 * prover as a Cloister app) are in por_app.c. Built into cloister and into
 * cloister-por (por_main.c).
 *
 * Shaped for unattended use (a sandboxed app, a pipeline step): stdout gets
 * exactly one line of JSON per result ({"status":"ok",...} or
 * {"status":"error","message":...}), stderr a human line, and the exit code
 * says it all: 0 ok, 1 failed, 2 usage. Progress bars go to stderr only when
 * stderr is a terminal. */
#include "cli/por_cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int por_usage(FILE *f) {
    fprintf(f,
            "usage: cloister por prove LEDGER --out DIR [--threads N] [--assets ASSETS.json]\n"
            "                          [--padded-accounts N] [--batch B] [--nonces-out FILE]\n"
            "                          [--range-bits BITS] [--range-bits SYM=BITS ...]\n"
            "       cloister por prove-app [--ledger LEDGER] [the options of prove but --out]\n"
            "       cloister por app --out DIR\n"
            "       cloister por verify DIR [--threads N]\n"
            "       cloister por verify-inclusion PROOF [PROOF...] --root DIR/final_proof.json\n"
            "                                     [--uid UID]\n"
            "       cloister por user-hash UID\n"
            "  prove             LEDGER is JSON, or CSV (by extension) with --assets for prices\n"
            "                    and decimals; writes final_proof.json, merkle_tree.json,\n"
            "                    proofs.zip, private_nonces.json and user_proofs/ into DIR.\n"
            "                    N = smallest power of two >= max(accounts, --padded-accounts\n"
            "                    (default 1024)); B = values per range proof at 64 bits\n"
            "                    (1..1024, default 480); --threads defaults to the online CPUs\n"
            "                    --range-bits: the range width of every asset, or of SYM\n"
            "                    (a multiple of 8, 8..128; default 64, or 128 when a balance\n"
            "                    needs it; repeatable)\n"
            "                    --nonces-out FILE: private_nonces.json goes there instead\n"
            "  prove-app         the prover as an app (docs/por.md, \"As a Cloister app\"):\n"
            "                    the ledger is the first input file in IEXEC_IN, the proof\n"
            "                    goes to IEXEC_OUT without private_nonces.json\n"
            "  app               writes DIR/cloister-por and DIR/manifest.json and prints the\n"
            "                    `cloister app deploy` command for them\n"
            "  verify            checks the whole published proof in DIR (docs/por.md §9)\n"
            "  verify-inclusion  checks one user's proof against the published root; --uid UID\n"
            "                    (v2) also that the proof's user hash is this account's\n"
            "  user-hash         prints the v2 user hash of an account identifier\n"
            "Prints one line of JSON per result on stdout; exit 0 ok, 1 failed, 2 usage.\n");
    return 2;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "cloister por: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return por_usage(stderr);
}

static bool parse_u64(const char *s, uint64_t *out) {
    return s && slice_to_u64(slice_cstr(s), out) == CL_OK;
}

/* ---- progress bar (stderr, terminals only) ---- */

typedef struct {
    char phase[48];
    uint64_t last_ns;
    bool open;
} bar;

static void bar_draw(void *ctx, const char *phase, uint64_t done, uint64_t total) {
    bar *b = ctx;
    uint64_t now = time_mono_ns();
    bool end = total && done >= total;
    if (strcmp(b->phase, phase) != 0) {
        if (b->open) fputc('\n', stderr);
        snprintf(b->phase, sizeof b->phase, "%s", phase);
        b->last_ns = 0;
    } else if (!end && now - b->last_ns < 100000000ull) {
        return;
    }
    b->last_ns = now;
    if (total) {
        int width = 30, fill = (int)((double)done / (double)total * width);
        char bars[31];
        for (int i = 0; i < width; i++)
            bars[i] = i < fill ? '#' : '.';
        bars[width] = 0;
        fprintf(stderr, "\r%-22s [%s] %3d%%  %llu/%llu", phase, bars,
                (int)((double)done * 100 / (double)total), (unsigned long long)done,
                (unsigned long long)total);
    } else {
        fprintf(stderr, "\r%-22s %llu", phase, (unsigned long long)done);
    }
    b->open = !end;
    if (end) fputc('\n', stderr);
    fflush(stderr);
}

static por_progress progress_for(bar *b) {
    memset(b, 0, sizeof *b);
    por_progress p = {0};
    if (isatty(STDERR_FILENO)) p = (por_progress){bar_draw, b};
    return p;
}

static void bar_close(bar *b) {
    if (b->open) fputc('\n', stderr);
    b->open = false;
}

void por_cli_print_json(json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

static int print_error(const char *cmd, const char *msg, const char *proof) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("error"));
    if (proof) json_object_set_new(o, "proof", json_string(proof));
    json_object_set_new(o, "message", json_string(msg));
    por_cli_print_json(o);
    fprintf(stderr, "cloister por %s: %s\n", cmd, msg);
    return 1;
}

/* ---- prove ---- */

/* --range-bits BITS | SYM=BITS. */
static bool parse_range_bits(const char *v, por_prove_options *o) {
    if (!v) return false;
    const char *eq = strchr(v, '=');
    uint64_t x;
    if (!parse_u64(eq ? eq + 1 : v, &x) || x < 8 || x > 128 || x % 8) return false;
    if (!eq) {
        o->range_bits_all = (uint32_t)x;
        return true;
    }
    size_t len = (size_t)(eq - v);
    if (len == 0 || len >= sizeof o->range_force[0].symbol ||
        o->nrange_force >= POR_MAX_RANGE_FORCE)
        return false;
    for (size_t f = 0; f < o->nrange_force; f++)
        if (strlen(o->range_force[f].symbol) == len &&
            memcmp(o->range_force[f].symbol, v, len) == 0) {
            o->range_force[f].bits = (uint32_t)x;
            return true;
        }
    memcpy(o->range_force[o->nrange_force].symbol, v, len);
    o->range_force[o->nrange_force].symbol[len] = 0;
    o->range_force[o->nrange_force++].bits = (uint32_t)x;
    return true;
}

void por_cli_prove_hooks(por_prove_options *o) {
    const char *neg = getenv("CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE");
    if (neg && strcmp(neg, "1") == 0) o->unsafe_allow_bad_equity = true;
    const char *hook = getenv("CLOISTER_POR_UNSAFE_HOOK");
    if (hook && hook[0]) o->unsafe_hook = hook;
}

por_opt por_cli_prove_option(int argc, char **argv, int *i, por_prove_options *o,
                             const char **why) {
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    uint64_t x;
    if (strcmp(a, "--assets") == 0 || strcmp(a, "--nonces-out") == 0) {
        *why = a[2] == 'a' ? "--assets takes a file" : "--nonces-out takes a file";
        if (!v) return POR_OPT_BAD;
        *(a[2] == 'a' ? &o->assets_path : &o->nonces_path) = v;
    } else if (strcmp(a, "--threads") == 0) {
        *why = "--threads takes 1..256";
        if (!parse_u64(v, &x) || x < 1 || x > 256) return POR_OPT_BAD;
        o->threads = (unsigned)x;
    } else if (strcmp(a, "--padded-accounts") == 0) {
        *why = "--padded-accounts takes 1..2^32";
        if (!parse_u64(v, &x) || x < 1 || x > ((uint64_t)1 << 32)) return POR_OPT_BAD;
        o->min_padded = x;
    } else if (strcmp(a, "--batch") == 0) {
        *why = "--batch takes 1..1024";
        if (!parse_u64(v, &x) || x < 1 || x > 1024) return POR_OPT_BAD;
        o->batch = (uint32_t)x;
    } else if (strcmp(a, "--range-bits") == 0) {
        *why = "--range-bits takes BITS or SYM=BITS (BITS a multiple of 8 in 8..128)";
        if (!parse_range_bits(v, o)) return POR_OPT_BAD;
    } else {
        return POR_OPT_NONE;
    }
    (*i)++;
    return POR_OPT_OK;
}

json_t *por_cli_prove_summary(const por_prove_options *o, const por_prove_result *r) {
    json_t *j = json_object();
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "version", json_string(r->version ? r->version : ""));
    json_object_set_new(j, "accounts", json_integer((json_int_t)r->accounts));
    json_object_set_new(j, "padded", json_integer((json_int_t)r->padded));
    json_object_set_new(j, "tree_depth", json_integer(r->depth));
    json_object_set_new(j, "assets", json_integer((json_int_t)r->assets));
    json_object_set_new(j, "batch", json_integer(r->batch));
    json_object_set_new(j, "threads", json_integer(r->threads));
    json_object_set_new(j, "root", json_string(r->root_hash));
    json_t *bits = json_object();
    for (size_t a = 0; r->symbols && a < r->assets; a++)
        json_object_set_new(bits, r->symbols[a], json_integer(r->range_bits[a]));
    json_object_set_new(j, "range_bits", bits);
    json_object_set_new(j, "net_equity_bits", json_integer(r->net_bits));
    json_object_set_new(j, "range_proofs", json_integer((json_int_t)r->range_proofs));
    json_t *files = json_array();
    static const char *const names[] = {"final_proof.json", "merkle_tree.json", "proofs.zip",
                                        "private_nonces.json", "user_proofs/"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (i != 3 || !o->nonces_path) json_array_append_new(files, json_string(names[i]));
    json_object_set_new(j, "files", files);
    json_object_set_new(j, "user_proofs", json_integer((json_int_t)r->user_proofs));
    if (o->unsafe_allow_bad_equity || o->unsafe_hook) {
        char *h = cl_sprintf("%s%s%s", o->unsafe_allow_bad_equity ? "negative-net" : "",
                             o->unsafe_allow_bad_equity && o->unsafe_hook ? "," : "",
                             o->unsafe_hook ? o->unsafe_hook : "");
        json_object_set_new(j, "unsafe_hook", json_string(h));
        free(h);
        json_object_set_new(j, "unsafe_bad_equity_accounts",
                            json_integer((json_int_t)r->bad_equity_accounts));
    }
    json_object_set_new(j, "elapsed_ms", json_integer((json_int_t)(r->t_total * 1000.0)));
    return j;
}

static int por_prove_cmd(int argc, char **argv) {
    por_prove_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *why = NULL;
        por_opt k = por_cli_prove_option(argc, argv, &i, &o, &why);
        if (k == POR_OPT_BAD) return usage_error(why, i + 1 < argc ? argv[i + 1] : NULL);
        if (k == POR_OPT_OK) continue;
        if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            o.out_dir = argv[++i];
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("unknown option or missing value", a);
        } else if (!o.ledger_path) {
            o.ledger_path = a;
        } else {
            return usage_error("more than one LEDGER", a);
        }
    }
    if (!o.ledger_path || !o.out_dir) return usage_error("prove needs LEDGER and --out DIR", NULL);
    por_cli_prove_hooks(&o);
    bar b;
    o.progress = progress_for(&b);
    por_prove_result r;
    char err[POR_ERR_LEN];
    cl_err e = por_prove(&o, &r, err);
    bar_close(&b);
    por_cleanup();
    if (e != CL_OK) {
        por_prove_result_free(&r);
        return print_error("prove", err, NULL);
    }
    json_t *j = por_cli_prove_summary(&o, &r);
    json_object_set_new(j, "out", json_string(o.out_dir));
    json_object_set_new(j, "seconds", json_real(r.t_total));
    json_t *ph = json_object();
    json_object_set_new(ph, "read", json_real(r.t_read));
    json_object_set_new(ph, "commitments", json_real(r.t_commit));
    json_object_set_new(ph, "tree", json_real(r.t_tree));
    json_object_set_new(ph, "range_proofs", json_real(r.t_range));
    json_object_set_new(ph, "write", json_real(r.t_write));
    json_object_set_new(j, "phases", ph);
    por_cli_print_json(j);
    fprintf(stderr,
            "cloister por prove: %llu accounts (padded to %llu), %zu assets: proof written to %s "
            "in %.2f s\n",
            (unsigned long long)r.accounts, (unsigned long long)r.padded, r.assets, o.out_dir,
            r.t_total);
    por_prove_result_free(&r);
    return 0;
}

/* ---- verify ---- */

static int por_verify_cmd(int argc, char **argv) {
    por_verify_options o = {0};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        uint64_t x;
        if (strcmp(argv[i], "--threads") == 0) {
            if (!parse_u64(i + 1 < argc ? argv[i + 1] : NULL, &x) || x < 1 || x > 256)
                return usage_error("--threads takes 1..256", i + 1 < argc ? argv[i + 1] : NULL);
            o.threads = (unsigned)x;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("unknown option", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return usage_error("more than one DIR", argv[i]);
        }
    }
    if (!dir) return usage_error("verify needs DIR", NULL);
    bar b;
    o.progress = progress_for(&b);
    por_verify_result r;
    char err[POR_ERR_LEN];
    cl_err e = por_verify_dir(dir, &o, &r, err);
    bar_close(&b);
    por_cleanup();
    if (e != CL_OK) {
        por_verify_result_free(&r);
        return print_error("verify", err, NULL);
    }
    if (r.totals) { /* cloister-por-v2 */
        por_cli_verify2_print(dir, &r);
        por_verify_result_free(&r);
        return 0;
    }
    json_t *j = json_object();
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "dir", json_string(dir));
    json_object_set_new(j, "padded", json_integer((json_int_t)r.padded));
    json_object_set_new(j, "tree_depth", json_integer(r.depth));
    json_object_set_new(j, "assets", json_integer((json_int_t)r.assets));
    json_object_set_new(j, "batch", json_integer(r.batch));
    json_object_set_new(j, "root", json_string(r.root_hash));
    json_object_set_new(j, "total_equity", json_string(r.total_equity));
    json_object_set_new(j, "equity_decimals", json_integer(r.equity_decimals));
    json_object_set_new(j, "seconds", json_real(r.t_total));
    json_t *ph = json_object();
    json_object_set_new(ph, "read", json_real(r.t_read));
    json_object_set_new(ph, "tree", json_real(r.t_tree));
    json_object_set_new(ph, "link_proof", json_real(r.t_link));
    json_object_set_new(ph, "range_proofs", json_real(r.t_range));
    json_object_set_new(j, "phases", ph);
    por_cli_print_json(j);
    fprintf(stderr,
            "cloister por verify: OK: %llu leaves, %zu assets, root %.16s…, total equity %s "
            "(units of 10^-%u USDT), %.2f s\n",
            (unsigned long long)r.padded, r.assets, r.root_hash, r.total_equity, r.equity_decimals,
            r.t_total);
    return 0;
}

/* ---- verify-inclusion ---- */

static int por_inclusion_cmd(int argc, char **argv) {
    const char *root = NULL, *uid = NULL;
    const char **proofs = cl_calloc((size_t)argc, sizeof *proofs);
    size_t nproofs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
            uid = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(proofs);
            return usage_error("unknown option or missing value", argv[i]);
        } else {
            proofs[nproofs++] = argv[i];
        }
    }
    if (!root || nproofs == 0) {
        free(proofs);
        return usage_error("verify-inclusion needs PROOF and --root final_proof.json", NULL);
    }
    int rc = 0;
    for (size_t k = 0; k < nproofs; k++) {
        por_inclusion_result r;
        char err[POR_ERR_LEN];
        if (por_verify_inclusion_uid(proofs[k], root, uid, &r, err) != CL_OK) {
            por_inclusion_result_free(&r);
            print_error("verify-inclusion", err, proofs[k]);
            rc = 1;
            continue;
        }
        if (r.totals) { /* cloister-por-v2 */
            por_cli_inclusion2_print(proofs[k], &r, nproofs == 1);
            por_inclusion_result_free(&r);
            continue;
        }
        json_t *j = json_object();
        json_object_set_new(j, "status", json_string("ok"));
        json_object_set_new(j, "proof", json_string(proofs[k]));
        json_object_set_new(j, "user_hash", json_string(r.user_hash));
        json_object_set_new(j, "leaf_index", json_integer((json_int_t)r.leaf_index));
        json_object_set_new(j, "equity", json_string(r.equity));
        json_object_set_new(j, "equity_decimals", json_integer(r.equity_decimals));
        json_object_set_new(j, "root", json_string(r.root_hash));
        json_object_set_new(j, "timestamp", json_integer((json_int_t)r.timestamp));
        por_cli_print_json(j);
        if (nproofs == 1)
            fprintf(stderr,
                    "cloister por verify-inclusion: OK: account %.16s… is leaf %llu of root "
                    "%.16s…, equity %s (units of 10^-%u USDT)\n",
                    r.user_hash, (unsigned long long)r.leaf_index, r.root_hash, r.equity,
                    r.equity_decimals);
    }
    if (nproofs > 1 && rc == 0)
        fprintf(stderr, "cloister por verify-inclusion: OK: %zu proofs\n", nproofs);
    free(proofs);
    por_cleanup();
    return rc;
}

int cmd_por(int argc, char **argv) {
    if (argc < 2) return por_usage(stderr);
    const char *sub = argv[1];
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            por_usage(stdout);
            return 0;
        }
    if (strcmp(sub, "prove") == 0) return por_prove_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0) return por_verify_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "prove-app") == 0) return por_prove_app(argc - 1, argv + 1);
    if (strcmp(sub, "app") == 0) return por_app_package(argc - 1, argv + 1);
    if (strcmp(sub, "verify-inclusion") == 0) return por_inclusion_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "user-hash") == 0) return por_user_hash_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        por_usage(stdout);
        return 0;
    }
    fprintf(stderr, "cloister por: unknown subcommand '%s'\n", sub);
    return por_usage(stderr);
}

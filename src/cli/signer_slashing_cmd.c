/* signer_slashing_cmd.c — `cloister signer slashing …`: the operator's side of
 * the signer's slashing protection (src/signer/slashing.c, interchange.c) on
 * the signer's meta store (signer_cli_store: --data DIR or --meta URL):
 *   import FILE                  EIP-3076 interchange v5, all or nothing
 *   export FILE [--pubkey 0x…]…  every validator, or the given ones ("-": stdout)
 *   prune [--epochs N]           drop history older than the window
 *   set-high-watermark --slot S --epoch E | remove-high-watermark | high-watermark
 *                                Web3Signer's watermark-repair high watermark
 *   watermark-repair --slot S --epoch E [--set-high-watermark|--remove-high-watermark]
 *                                Web3Signer's command as it is: raises every
 *                                validator's low watermarks (or the high one)
 * Refusals print why and exit 1; usage errors exit 2. */
#include "cli/cli.h"
#include "signer/signer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLASHING_MAX_FILE (1024u * 1024 * 1024) /* an interchange of ~10^6 validators */

static int usage(FILE *f, int rc) {
    fprintf(f,
            "usage: cloister signer slashing import FILE [--data DIR | --meta URL]\n"
            "       cloister signer slashing export FILE [--pubkey 0x...]... "
            "[--data DIR | --meta URL]\n"
            "       cloister signer slashing prune [--epochs N] [--slots-per-epoch N] ...\n"
            "       cloister signer slashing set-high-watermark --slot S --epoch E ...\n"
            "       cloister signer slashing remove-high-watermark | high-watermark ...\n"
            "       cloister signer slashing watermark-repair --slot S --epoch E\n"
            "             [--set-high-watermark | --remove-high-watermark] ...   (Web3Signer's)\n"
            "  FILE '-' is standard input/output; --data defaults to ./var/signer.\n"
            "  see docs/signer.md, \"Slashing protection\"\n");
    return rc;
}

typedef struct {
    const char *data, *meta, *file;
    uint8_t (*pks)[SIGNER_PK_LEN];
    size_t npks;
    bool has_slot, has_epoch, set_high, remove_high;
    uint64_t slot, epoch;
    signer_slashing_opts so;
} sl_opts;

static bool parse_hex_pk(const char *s, uint8_t pk[SIGNER_PK_LEN]) {
    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) != 2 + 2 * SIGNER_PK_LEN) return false;
    cl_buf b = CL_BUF_INIT;
    bool ok = hex_decode(&b, slice_cstr(s + 2)) == CL_OK && b.len == SIGNER_PK_LEN;
    if (ok) memcpy(pk, b.ptr, SIGNER_PK_LEN);
    free(b.ptr);
    return ok;
}

static bool parse_u64_opt(const char *v, uint64_t *out, const char *name) {
    if (v && slice_to_u64(slice_cstr(v), out) == CL_OK) return true;
    fprintf(stderr, "cloister signer slashing: %s needs a non-negative integer\n", name);
    return false;
}

static bool parse_opt(sl_opts *o, const char *a, const char *v) {
    if (strcmp(a, "--data") == 0 && v) return (o->data = v), true;
    if (strcmp(a, "--meta") == 0 && v) return (o->meta = v), true;
    if (strcmp(a, "--slot") == 0) return (o->has_slot = true), parse_u64_opt(v, &o->slot, a);
    if (strcmp(a, "--epoch") == 0) return (o->has_epoch = true), parse_u64_opt(v, &o->epoch, a);
    if (strcmp(a, "--epochs") == 0) return parse_u64_opt(v, &o->so.prune_epochs, a);
    if (strcmp(a, "--slots-per-epoch") == 0) return parse_u64_opt(v, &o->so.slots_per_epoch, a);
    if (strcmp(a, "--pubkey") == 0) {
        o->pks = cl_realloc(o->pks, (o->npks + 1) * sizeof *o->pks);
        if (parse_hex_pk(v, o->pks[o->npks])) return o->npks++, true;
        fprintf(stderr, "cloister signer slashing: --pubkey needs 0x and 96 hex digits\n");
        return false;
    }
    fprintf(stderr, "cloister signer slashing: unknown or incomplete option '%s'\n", a);
    return false;
}

static bool parse_flag(sl_opts *o, const char *a) {
    bool *flag = strncmp(a, "--set-high-watermark", 20) == 0      ? &o->set_high
                 : strncmp(a, "--remove-high-watermark", 23) == 0 ? &o->remove_high
                                                                  : NULL;
    const char *rest = flag ? a + (flag == &o->set_high ? 20 : 23) : NULL;
    if (!flag || (*rest && strcmp(rest, "=true") != 0 && strcmp(rest, "=false") != 0)) return false;
    *flag = strcmp(rest, "=false") != 0;
    return true;
}

static bool parse_args(int argc, char **argv, bool want_file, sl_opts *o) {
    for (int i = 2; i < argc; i++) {
        if (parse_flag(o, argv[i])) continue;
        if (strncmp(argv[i], "--", 2) != 0 || strcmp(argv[i], "-") == 0) {
            if (!want_file || o->file) return false;
            o->file = argv[i];
            continue;
        }
        if (!parse_opt(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) return false;
        i++;
    }
    return !want_file || o->file;
}

static int do_import(signer_slashing *sp, const sl_opts *o) {
    cl_buf in = CL_BUF_INIT;
    cl_err e;
    if (strcmp(o->file, "-") == 0) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0 && in.len <= SLASHING_MAX_FILE)
            buf_append(&in, chunk, n);
        e = in.len > SLASHING_MAX_FILE ? CL_ERR_TOO_LARGE : CL_OK;
    } else {
        e = file_read_all(o->file, &in, SLASHING_MAX_FILE);
    }
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer slashing: cannot read %s (%s)\n", o->file, cl_err_str(e));
        free(in.ptr);
        return 1;
    }
    char err[512];
    e = signer_slashing_import(sp, buf_slice(&in), err, sizeof err);
    free(in.ptr);
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer slashing: import of %s refused, nothing imported: %s\n",
                o->file, err);
        return 1;
    }
    printf("imported %s\n", o->file);
    return 0;
}

static int do_export(signer_slashing *sp, const sl_opts *o) {
    cl_buf out = CL_BUF_INIT;
    cl_err e = signer_slashing_export(sp, o->npks ? (const uint8_t(*)[SIGNER_PK_LEN])o->pks : NULL,
                                      o->npks, &out);
    if (e == CL_OK) {
        buf_append_cstr(&out, "\n");
        if (strcmp(o->file, "-") == 0)
            e = fwrite(out.ptr, 1, out.len, stdout) == out.len ? CL_OK : CL_ERR_IO;
        else
            e = file_write_atomic(o->file, buf_slice(&out), 0600);
    }
    free(out.ptr);
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer slashing: export to %s failed (%s)\n", o->file,
                cl_err_str(e));
        return 1;
    }
    if (strcmp(o->file, "-") != 0) printf("exported to %s\n", o->file);
    return 0;
}

static int do_high_watermark(signer_slashing *sp, const char *cmd, const sl_opts *o) {
    cl_err e;
    uint64_t slot = 0, epoch = 0;
    if (strcmp(cmd, "set-high-watermark") == 0) {
        if (!o->has_slot || !o->has_epoch) {
            fprintf(stderr, "cloister signer slashing: set-high-watermark needs --slot and "
                            "--epoch\n");
            return 2;
        }
        e = signer_slashing_set_high_watermark(sp, o->slot, o->epoch);
        slot = o->slot, epoch = o->epoch;
    } else if (strcmp(cmd, "remove-high-watermark") == 0) {
        e = signer_slashing_remove_high_watermark(sp);
        if (e == CL_OK) printf("high watermark removed\n");
        goto out;
    } else {
        e = signer_slashing_get_high_watermark(sp, &slot, &epoch);
        if (e == CL_ERR_NOT_FOUND) {
            printf("no high watermark\n");
            return 0;
        }
    }
    if (e == CL_OK) printf("high watermark: slot %" PRIu64 ", epoch %" PRIu64 "\n", slot, epoch);
out:
    if (e != CL_OK)
        fprintf(stderr, "cloister signer slashing: %s failed (%s)\n", cmd, cl_err_str(e));
    return e == CL_OK ? 0 : 1;
}

/* Web3Signer's eth2 watermark-repair: the low watermarks of every validator,
 * or with --set-high-watermark / --remove-high-watermark the global one. */
static int do_repair(signer_slashing *sp, const sl_opts *o) {
    if (o->remove_high) return do_high_watermark(sp, "remove-high-watermark", o);
    if (o->set_high) return do_high_watermark(sp, "set-high-watermark", o);
    if (!o->has_slot || !o->has_epoch) {
        fprintf(stderr, "cloister signer slashing: watermark-repair needs --slot and --epoch\n");
        return 2;
    }
    size_t n = 0;
    cl_err e = signer_slashing_raise_low_watermarks(sp, o->slot, o->epoch, &n);
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer slashing: watermark-repair failed (%s)\n", cl_err_str(e));
        return 1;
    }
    printf("low watermarks raised to slot %" PRIu64 ", epoch %" PRIu64 " for %zu validators\n",
           o->slot, o->epoch, n);
    return 0;
}

static int run(signer_slashing *sp, const char *cmd, const sl_opts *o) {
    if (strcmp(cmd, "watermark-repair") == 0) return do_repair(sp, o);
    if (strcmp(cmd, "import") == 0) return do_import(sp, o);
    if (strcmp(cmd, "export") == 0) return do_export(sp, o);
    if (strcmp(cmd, "prune") == 0) {
        size_t n = 0;
        cl_err e = signer_slashing_prune(sp, &n);
        if (e != CL_OK) {
            fprintf(stderr, "cloister signer slashing: prune failed (%s)\n", cl_err_str(e));
            return 1;
        }
        printf("pruned %zu records\n", n);
        return 0;
    }
    return do_high_watermark(sp, cmd, o);
}

int cmd_signer_slashing(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(cmd ? stdout : stderr, cmd ? 0 : 2);
    static const char *const cmds[] = {"import",          "export",
                                       "prune",           "set-high-watermark",
                                       "high-watermark",  "remove-high-watermark",
                                       "watermark-repair"};
    size_t k = 0;
    while (k < sizeof cmds / sizeof *cmds && strcmp(cmd, cmds[k]) != 0)
        k++;
    if (k == sizeof cmds / sizeof *cmds) {
        fprintf(stderr, "cloister signer slashing: unknown command '%s'\n", cmd);
        return usage(stderr, 2);
    }
    sl_opts o = {.data = "./var/signer"};
    if (!parse_args(argc, argv, k < 2, &o)) {
        free(o.pks);
        return usage(stderr, 2);
    }
    store *st = NULL;
    signer_slashing *sp = NULL;
    cl_err e = signer_cli_store(o.data, o.meta, &st);
    if (e == CL_OK) e = signer_slashing_open(st, &o.so, &sp);
    int rc;
    if (e != CL_OK) {
        fprintf(stderr, "cloister signer slashing: cannot open the slashing database at %s (%s)\n",
                o.meta ? o.meta : o.data, cl_err_str(e));
        rc = 1;
    } else {
        rc = run(sp, cmd, &o);
    }
    signer_slashing_close(sp);
    if (st) store_close(st);
    free(o.pks);
    return rc;
}

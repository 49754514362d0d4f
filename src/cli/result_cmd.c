/* result_cmd.c — `cloister result verify RECEIPT (--root ROOT.pem | --data DIR)`:
 * checks a run's receipt offline against a node's attestation root
 * (tasks_receipt_verify; docs/attestation.md, "Receipts") and prints what was
 * verified as one JSON line. The root is what `cloister attest root --data DIR`
 * prints, or DIR/keys/attest-root.pem of the node itself. Also holds the PEM
 * root loader `cloister attest verify --root` shares. */
#include "cli/cli.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_FILE_MAX (64 * 1024)

static int result_usage(FILE *f) {
    fprintf(f, "usage: cloister result verify RECEIPT_FILE (--root ROOT.pem | --data DIR)\n"
               "  verify  checks a run's receipt against a node's attestation root (the PEM\n"
               "          that `cloister attest root --data DIR` prints, or that node's\n"
               "          DIR/keys/attest-root.pem) and prints what it proves as JSON;\n"
               "          exit status 0 if it verifies, 1 if not, 2 for a usage error\n");
    return 2;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

bool cli_root_der_load(const char *pem_path, cl_buf *der) {
    cl_buf pem = CL_BUF_INIT;
    X509 *x = NULL;
    if (file_read_all(pem_path, &pem, PEM_FILE_MAX) == CL_OK && pem.len <= PEM_FILE_MAX) {
        BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
    }
    unsigned char *p = NULL;
    int n = x ? i2d_X509(x, &p) : 0;
    if (n > 0) buf_append(der, p, (size_t)n);
    OPENSSL_free(p);
    X509_free(x);
    buf_free(&pem);
    ERR_clear_error();
    return n > 0;
}

static json_t *member_or_null(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return v ? json_incref(v) : json_null();
}

static void print_verified(json_t *body, const attest_doc *d) {
    char when[21];
    time_format_iso8601((time_t)(d->timestamp_ms / 1000), when);
    json_t *app = json_object_get(body, "app");
    json_t *out = json_object();
    json_object_set_new(out, "verified", json_true());
    json_object_set_new(out, "task", member_or_null(body, "task"));
    json_object_set_new(out, "app_measurement", member_or_null(app, "measurement"));
    json_object_set_new(out, "app", member_or_null(body, "app"));
    json_object_set_new(out, "result_digest",
                        member_or_null(json_object_get(body, "result"), "digest"));
    json_object_set_new(out, "result", member_or_null(body, "result"));
    json_object_set_new(out, "inputs", member_or_null(body, "inputs"));
    json_object_set_new(out, "exit_code", member_or_null(body, "exit_code"));
    json_object_set_new(out, "attestation_timestamp_ms", json_integer((json_int_t)d->timestamp_ms));
    json_object_set_new(out, "attestation_time", json_string(when));
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(out);
}

static int cmd_verify(int argc, char **argv) {
    const char *root_pem = NULL, *data = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root_pem = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "cloister result: unexpected argument %s\n", argv[i]);
            return result_usage(stderr);
        }
    }
    if (!file || !!root_pem == !!data) {
        fprintf(stderr, "cloister result: verify wants RECEIPT_FILE and one of --root, --data\n");
        return result_usage(stderr);
    }
    char *path = root_pem ? cl_strdup(root_pem) : cl_sprintf("%s/keys/attest-root.pem", data);
    cl_buf root = CL_BUF_INIT, receipt = CL_BUF_INIT;
    int rc = 1;
    cl_err e;
    if (!cli_root_der_load(path, &root)) {
        fprintf(stderr, "cloister: %s: missing or not a PEM certificate\n", path);
    } else if ((e = file_read_all(file, &receipt, TASKS_RECEIPT_MAX + 1)) != CL_OK) {
        fprintf(stderr, "cloister: cannot read %s: %s\n", file, cl_err_str(e));
    } else {
        json_t *body = NULL;
        attest_doc d;
        char err[256] = "";
        e = tasks_receipt_verify(buf_slice(&receipt), buf_slice(&root), &body, &d, err, sizeof err);
        if (e == CL_OK) {
            print_verified(body, &d);
            rc = 0;
        } else {
            fprintf(stderr, "cloister: receipt does not verify: %s\n", err);
        }
        json_decref(body);
        attest_doc_free(&d);
    }
    buf_free(&root);
    buf_free(&receipt);
    free(path);
    return rc;
}

int cmd_result(int argc, char **argv) {
    if (argc < 2) return result_usage(stderr);
    const char *sub = argv[1];
    if (strcmp(sub, "verify") == 0) return cmd_verify(argc - 1, argv + 1);
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        result_usage(stdout);
        return 0;
    }
    fprintf(stderr, "cloister result: unknown subcommand %s\n", sub);
    return result_usage(stderr);
}

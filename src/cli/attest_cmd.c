/* attest_cmd.c — `cloister attest sign|verify|root`: mint and check attestation
 * documents with a data dir's attestation root (DATA/keys), offline.
 *
 * This is what the enclave runtime does for a sandbox, exposed so that tests and
 * operators can make documents on demand: a good one, one for another image
 * (--pcr 0=...), a stale one (--timestamp-ms in the past), or one from another
 * node's root (another --data), and feed them to KMS Recipient calls. verify
 * prints what a relying party would trust, as one JSON line. */
#include "cli/cli.h"

#include "attest/attest.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_FILE_MAX (64 * 1024)
#define DOC_FILE_MAX (1024 * 1024) /* attest_verify itself stops at 64 KiB */

static int attest_usage(FILE *f) {
    fprintf(f, "usage: cloister attest sign --data DIR --out FILE [--pcr N=HEX]...\n"
               "                            [--public-key PEMFILE] [--module-id ID]\n"
               "                            [--timestamp-ms MS] [--user-data-hex HEX]\n"
               "                            [--nonce-hex HEX]\n"
               "       cloister attest verify (--data DIR | --root ROOT.pem) FILE\n"
               "       cloister attest root --data DIR\n"
               "  sign    writes a document signed by DIR/keys (the root is made on first use);\n"
               "          --pcr N=HEX sets PCR N (0..15) to 48 bytes given as 96 hex digits;\n"
               "          --public-key takes a PEM public key (or private key: its public half)\n"
               "  verify  checks FILE against DIR/keys/attest-root.pem (or ROOT.pem, what\n"
               "          `attest root` prints) and prints it as JSON\n"
               "  root    prints the root certificate (PEM) that verifiers trust\n");
    return 2;
}

static int usage_error(const char *fmt, const char *arg) __attribute__((format(printf, 1, 0)));

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "cloister attest: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return attest_usage(stderr);
}

static char *keys_dir(const char *data) {
    return cl_sprintf("%s/keys", data);
}

/* ---- sign ---- */

typedef struct {
    const char *data, *out, *public_key;
    attest_doc doc;
} sign_args;

static bool parse_hex_arg(const char *hex, cl_buf *out) {
    buf_clear(out);
    return hex_decode(out, slice_cstr(hex)) == CL_OK;
}

/* "N=HEX": N in 0..15, HEX 96 digits. */
static bool parse_pcr(const char *arg, attest_doc *d) {
    const char *eq = strchr(arg, '=');
    uint64_t n = 0;
    if (!eq || slice_to_u64(slice_of(arg, (size_t)(eq - arg)), &n) != CL_OK ||
        n >= ATTEST_PCR_COUNT)
        return false;
    cl_buf v = CL_BUF_INIT;
    bool ok = hex_decode(&v, slice_cstr(eq + 1)) == CL_OK && v.len == ATTEST_PCR_LEN;
    if (ok) {
        memcpy(d->pcrs[n], v.ptr, ATTEST_PCR_LEN);
        d->pcr_present |= (uint16_t)(1u << n);
    }
    buf_free(&v);
    return ok;
}

/* Never prompts: an encrypted private key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* PEM public key, or PEM private key -> DER SubjectPublicKeyInfo. */
static bool load_public_key(const char *path, cl_buf *spki) {
    cl_buf pem = CL_BUF_INIT;
    EVP_PKEY *k = NULL;
    if (file_read_all(path, &pem, PEM_FILE_MAX) == CL_OK && pem.len <= PEM_FILE_MAX) {
        BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        k = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
        if (!k) {
            bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
            k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
            BIO_free(bio);
        }
    }
    buf_free_secret(&pem);
    unsigned char *der = NULL;
    int n = k ? i2d_PUBKEY(k, &der) : 0;
    if (n > 0) buf_append(spki, der, (size_t)n);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return n > 0;
}

/* Returns 0 when parsed, else the exit code. */
static int sign_parse(int argc, char **argv, sign_args *a) {
    snprintf(a->doc.module_id, sizeof a->doc.module_id, "%s", "cloister-cli");
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc) return usage_error("%s: missing value or unknown option", opt);
        const char *v = argv[++i];
        uint64_t ms = 0;
        if (strcmp(opt, "--data") == 0) {
            a->data = v;
        } else if (strcmp(opt, "--out") == 0) {
            a->out = v;
        } else if (strcmp(opt, "--public-key") == 0) {
            a->public_key = v;
        } else if (strcmp(opt, "--pcr") == 0) {
            if (!parse_pcr(v, &a->doc))
                return usage_error("--pcr %s: want N=HEX, N in 0..15, HEX 96 hex digits", v);
        } else if (strcmp(opt, "--module-id") == 0) {
            if (strlen(v) >= sizeof a->doc.module_id || !utf8_valid(slice_cstr(v)))
                return usage_error("--module-id %s: at most 127 bytes of UTF-8", v);
            snprintf(a->doc.module_id, sizeof a->doc.module_id, "%s", v);
        } else if (strcmp(opt, "--timestamp-ms") == 0) {
            if (slice_to_u64(slice_cstr(v), &ms) != CL_OK || ms == 0)
                return usage_error("--timestamp-ms %s: want milliseconds since 1970 (> 0)", v);
            a->doc.timestamp_ms = ms;
        } else if (strcmp(opt, "--user-data-hex") == 0) {
            if (!parse_hex_arg(v, &a->doc.user_data) || a->doc.user_data.len > 1024)
                return usage_error("--user-data-hex %s: want at most 1024 bytes in hex", v);
        } else if (strcmp(opt, "--nonce-hex") == 0) {
            if (!parse_hex_arg(v, &a->doc.nonce) || a->doc.nonce.len > 1024)
                return usage_error("--nonce-hex %s: want at most 1024 bytes in hex", v);
        } else {
            return usage_error("unknown option %s", opt);
        }
    }
    if (!a->data) return usage_error("%s", "sign: --data DIR is required");
    if (!a->out) return usage_error("%s", "sign: --out FILE is required");
    return 0;
}

static int cmd_sign(int argc, char **argv) {
    sign_args a = {0};
    int rc = sign_parse(argc, argv, &a);
    if (rc == 0 && a.public_key && !load_public_key(a.public_key, &a.doc.public_key)) {
        fprintf(stderr, "cloister attest: %s: not a PEM public key or unencrypted private key\n",
                a.public_key);
        rc = 1;
    }
    attest_root *root = NULL;
    cl_buf doc = CL_BUF_INIT;
    char *dir = a.data ? keys_dir(a.data) : NULL;
    if (rc == 0) {
        cl_err e = attest_root_open(dir, &root);
        if (e != CL_OK) {
            fprintf(stderr, "cloister attest: cannot open the attestation root in %s: %s\n", dir,
                    cl_err_str(e));
            rc = 1;
        }
    }
    if (rc == 0) {
        cl_err e = attest_sign(root, &a.doc, &doc);
        if (e == CL_OK) e = file_write_atomic(a.out, buf_slice(&doc), 0644);
        if (e != CL_OK) {
            fprintf(stderr, "cloister attest: cannot sign into %s: %s\n", a.out, cl_err_str(e));
            rc = 1;
        }
    }
    free(dir);
    buf_free(&doc);
    attest_root_close(root);
    attest_doc_free(&a.doc);
    return rc;
}

/* ---- verify ---- */

/* DATA/keys/attest-root.pem -> DER. Never creates a root. */
static bool load_root_der(const char *data, cl_buf *der) {
    char *path = cl_sprintf("%s/keys/attest-root.pem", data);
    cl_buf pem = CL_BUF_INIT;
    X509 *x = NULL;
    if (file_read_all(path, &pem, PEM_FILE_MAX) == CL_OK && pem.len <= PEM_FILE_MAX) {
        BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
    }
    unsigned char *p = NULL;
    int n = x ? i2d_X509(x, &p) : 0;
    if (n > 0)
        buf_append(der, p, (size_t)n);
    else
        fprintf(stderr, "cloister attest: %s: missing or not a PEM certificate\n", path);
    OPENSSL_free(p);
    X509_free(x);
    buf_free(&pem);
    free(path);
    ERR_clear_error();
    return n > 0;
}

static json_t *json_blob(const cl_buf *b) {
    if (!b->len) return json_null();
    cl_buf s = CL_BUF_INIT;
    base64_encode(&s, buf_slice(b));
    json_t *j = json_stringn((const char *)s.ptr, s.len);
    buf_free(&s);
    return j;
}

static void print_doc(const attest_doc *d) {
    json_t *pcrs = json_object();
    for (int i = 0; i < ATTEST_PCR_COUNT; i++) {
        char hex[ATTEST_PCR_LEN * 2 + 1], key[4];
        if (!attest_pcr_hex(d, i, hex)) continue;
        snprintf(key, sizeof key, "%d", i);
        json_object_set_new(pcrs, key, json_string(hex));
    }
    json_t *j = json_object();
    json_object_set_new(j, "module_id", json_string(d->module_id));
    json_object_set_new(j, "timestamp_ms", json_integer((json_int_t)d->timestamp_ms));
    json_object_set_new(j, "pcrs", pcrs);
    json_object_set_new(j, "public_key", json_blob(&d->public_key));
    json_object_set_new(j, "user_data", json_blob(&d->user_data));
    json_object_set_new(j, "nonce", json_blob(&d->nonce));
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(j);
}

static int cmd_verify(int argc, char **argv) {
    const char *data = NULL, *root_pem = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root_pem = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return usage_error("verify: unexpected argument %s", argv[i]);
    }
    if (!!data == !!root_pem || !file)
        return usage_error("%s",
                           "verify: FILE and one of --data DIR, --root ROOT.pem are required");
    cl_buf root = CL_BUF_INIT, doc = CL_BUF_INIT;
    int rc = 1;
    cl_err e = CL_OK;
    if (root_pem && !cli_root_der_load(root_pem, &root)) {
        fprintf(stderr, "cloister attest: %s: missing or not a PEM certificate\n", root_pem);
        goto out;
    }
    if (data && !load_root_der(data, &root)) goto out;
    if ((e = file_read_all(file, &doc, DOC_FILE_MAX)) != CL_OK) {
        fprintf(stderr, "cloister attest: cannot read %s: %s\n", file, cl_err_str(e));
        goto out;
    }
    attest_doc d;
    char err[256];
    e = attest_verify(buf_slice(&doc), buf_slice(&root), time_now(), &d, err, sizeof err);
    if (e != CL_OK) {
        fprintf(stderr, "cloister attest: %s: %s (%s)\n", file, err, cl_err_str(e));
        goto out;
    }
    print_doc(&d);
    attest_doc_free(&d);
    rc = 0;
out:
    buf_free(&root);
    buf_free(&doc);
    return rc;
}

/* ---- root ---- */

static int cmd_root(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--data") != 0)
        return usage_error("%s", "root: want --data DIR");
    char *dir = keys_dir(argv[2]);
    attest_root *r = NULL;
    cl_err e = attest_root_open(dir, &r);
    int rc = 1;
    if (e != CL_OK) {
        fprintf(stderr, "cloister attest: cannot open the attestation root in %s: %s\n", dir,
                cl_err_str(e));
    } else {
        cl_slice der = attest_root_cert_der(r);
        const unsigned char *p = der.ptr;
        X509 *x = d2i_X509(NULL, &p, (long)der.len);
        if (x && PEM_write_X509(stdout, x) == 1) rc = 0;
        X509_free(x);
        ERR_clear_error();
    }
    attest_root_close(r);
    free(dir);
    return rc;
}

int cmd_attest(int argc, char **argv) {
    if (argc < 2) return attest_usage(stderr);
    const char *sub = argv[1];
    if (strcmp(sub, "sign") == 0) return cmd_sign(argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0) return cmd_verify(argc - 1, argv + 1);
    if (strcmp(sub, "root") == 0) return cmd_root(argc - 1, argv + 1);
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        attest_usage(stdout);
        return 0;
    }
    return usage_error("unknown subcommand %s", sub);
}

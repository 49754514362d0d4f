/* run_attest.c — attestation documents for the app inside a run: what Nitro's
 * NSM GetAttestationDoc gives an enclave app. The init hands the app one end
 * of a socket (its descriptor in CLOISTER_ATTESTATION_FD); the app sends
 *   {"public_key": base64 DER SPKI, "user_data": base64?, "nonce": base64?}
 * as one frame (run_frame.c) and gets {"document": base64 COSE_Sign1} or
 * {"error": message}. The init forwards each request to the node over its
 * control channel; the node signs a document with this run's PCRs (PCR0 =
 * the app's measurement) over the app's key, so the app can call KMS Decrypt
 * with a Recipient and open CiphertextForRecipient with its private key, which
 * never leaves the sandbox. `/.cloister/init attest` is a small client of it,
 * for apps that would rather run a command (like Nitro's kmstool). */
#include "tasks/run_internal.h"

#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_blocking(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

/* One request of the app, forwarded to the node; the answer for the app. */
static json_t *forward(int ctl_fd, const json_t *req, unsigned *served) {
    if (++*served > RUN_ATTEST_MAX)
        return json_pack("{s:s}", "error", "at most 16 attestation documents per run");
    json_t *fwd = json_object();
    static const char *const keys[] = {"public_key", "user_data", "nonce"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(req, keys[i]);
        if (json_is_string(v)) json_object_set(fwd, keys[i], v);
    }
    json_t *m = json_pack("{s:o}", "attest", fwd), *ans = NULL;
    cl_err e = run_frame_write_json(ctl_fd, m);
    json_decref(m);
    if (e == CL_OK) e = run_frame_read_json(ctl_fd, 30000, &ans);
    if (e != CL_OK || (!json_object_get(ans, "document") && !json_object_get(ans, "error"))) {
        json_decref(ans);
        return json_pack("{s:s}", "error", "the node did not answer");
    }
    return ans;
}

int run_attest_serve(int ctl_fd, int app_fd, pid_t pid) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) { /* no pidfd: no attestation service, just wait */
        close(app_fd);
        return wait_blocking(pid);
    }
    unsigned served = 0;
    bool open_ = true;
    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = open_ ? app_fd : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[0].revents) break;
        if (!p[1].revents) continue;
        json_t *req = NULL, *ans = NULL;
        if (run_frame_read_json(app_fd, 5000, &req) == CL_OK) ans = forward(ctl_fd, req, &served);
        if (!ans || run_frame_write_json(app_fd, ans) != CL_OK) {
            open_ = false; /* the app closed it or sent garbage: no more service */
            close(app_fd);
        }
        json_decref(req);
        json_decref(ans);
    }
    close(pidfd);
    if (open_) close(app_fd);
    return wait_blocking(pid);
}

/* ---- the client: /.cloister/init attest ---- */
static int tool_usage(void) {
    fprintf(stderr, "usage: /.cloister/init attest --public-key FILE [--user-data-hex HEX]\n"
                    "                              [--nonce-hex HEX] --out FILE\n"
                    "  inside a run: writes an attestation document of this run over the\n"
                    "  public key in FILE (PEM or DER; RSA 2048..4096 for KMS Recipient)\n");
    return 2;
}

static bool spki_der(const char *path, cl_buf *out) {
    cl_buf f = CL_BUF_INIT;
    if (file_read_all(path, &f, 64 * 1024) != CL_OK) return false;
    BIO *bio = BIO_new_mem_buf(f.ptr, (int)f.len);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (!k) { /* a private key file gives its public half too */
        (void)BIO_reset(bio);
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    bool ok = true;
    if (k) {
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k, &der);
        ok = n > 0;
        if (ok) buf_append(out, der, (size_t)n);
        OPENSSL_free(der);
        EVP_PKEY_free(k);
    } else {
        buf_append_slice(out, buf_slice(&f)); /* DER as it is: the node checks it */
    }
    buf_free_secret(&f);
    return ok;
}

static void put_b64_hex(json_t *req, const char *key, const char *hex) {
    cl_buf raw = CL_BUF_INIT, b64 = CL_BUF_INIT;
    if (hex && hex_decode(&raw, slice_cstr(hex)) == CL_OK) {
        base64_encode(&b64, buf_slice(&raw));
        json_object_set_new(req, key, json_string(buf_cstr(&b64)));
    }
    buf_free(&raw);
    buf_free(&b64);
}

int run_attest_tool(int argc, char **argv) {
    const char *pub = NULL, *out = NULL, *ud = NULL, *nonce = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--public-key") == 0)
            pub = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--user-data-hex") == 0)
            ud = argv[i + 1];
        else if (strcmp(argv[i], "--nonce-hex") == 0)
            nonce = argv[i + 1];
        else
            return tool_usage();
    }
    const char *fds = getenv("CLOISTER_ATTESTATION_FD");
    int fd = fds ? atoi(fds) : -1;
    if (!pub || !out || argc % 2) return tool_usage();
    if (fd <= 2) {
        fprintf(stderr, "attest: CLOISTER_ATTESTATION_FD is not set: not inside a run\n");
        return 1;
    }
    cl_buf der = CL_BUF_INIT, b64 = CL_BUF_INIT, doc = CL_BUF_INIT;
    if (!spki_der(pub, &der)) {
        fprintf(stderr, "attest: cannot read a public key from %s\n", pub);
        return 1;
    }
    base64_encode(&b64, buf_slice(&der));
    json_t *req = json_pack("{s:s}", "public_key", buf_cstr(&b64)), *ans = NULL;
    put_b64_hex(req, "user_data", ud);
    put_b64_hex(req, "nonce", nonce);
    int rc = 1;
    if (run_frame_write_json(fd, req) != CL_OK || run_frame_read_json(fd, 60000, &ans) != CL_OK)
        fprintf(stderr, "attest: no answer from the run's init\n");
    else if (!json_is_string(json_object_get(ans, "document")))
        fprintf(stderr, "attest: refused: %s\n",
                json_string_value(json_object_get(ans, "error")) ?: "no document");
    else if (base64_decode(&doc, slice_cstr(json_string_value(json_object_get(ans, "document")))) !=
                 CL_OK ||
             file_write_atomic(out, buf_slice(&doc), 0644) != CL_OK)
        fprintf(stderr, "attest: cannot write %s\n", out);
    else
        rc = 0;
    json_decref(req);
    json_decref(ans);
    buf_free(&der);
    buf_free(&b64);
    buf_free(&doc);
    return rc;
}

int tasks_attest_tool(int argc, char **argv) {
    return run_attest_tool(argc, argv);
}

/* run_init.c — the init of a confidential run: the first program in the
 * sandbox (`/.cloister/init __enclave-init`, the Cloister binary itself, whose
 * SHA-384 is the run's PCR1). It plays the part of a Nitro enclave's init:
 *   1. makes the run's ephemeral P-384 key pair (it never leaves this process)
 *      and sends the public half to the host;
 *   2. receives the attestation document the node signed over that key and the
 *      app's environment sealed to it (secrets included), opens it;
 *   3. runs the app as its child with exactly that environment and argv (the
 *      descriptor to the host is closed first, the key and the plaintext are
 *      wiped from this process's memory as soon as they are not needed, and
 *      this process is not dumpable, so the app cannot read them through
 *      /proc/PID/mem);
 *   3b. while the app runs, serves its requests for attestation documents over
 *      its own keys (run_attest.c), so it can use KMS Recipient like a Nitro app;
 *   4. when the app has exited, checks /iexec_out/computed.json, computes the
 *      result digest and the input digests, and sends the receipt signed with
 *      the ephemeral key (receipt.c). Its exit status is the app's. */
#include "tasks/run_internal.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int init_fail(int fd, const char *why, int code) {
    json_t *j = json_pack("{s:s, s:i}", "failed", why, "exit_code", code);
    (void)run_frame_write_json(fd, j);
    json_decref(j);
    return code ? code : 1;
}

static EVP_PKEY *make_key(int fd) {
    EVP_PKEY *k = EVP_EC_gen("P-384");
    if (!k) return NULL;
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0) {
        EVP_PKEY_free(k);
        return NULL;
    }
    cl_buf b64 = CL_BUF_INIT;
    base64_encode(&b64, slice_of(der, (size_t)n));
    OPENSSL_free(der);
    json_t *j = json_pack("{s:s}", "public_key", buf_cstr(&b64));
    cl_err e = run_frame_write_json(fd, j);
    json_decref(j);
    buf_free(&b64);
    if (e != CL_OK) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static bool b64_field(const json_t *j, const char *k, cl_buf *out) {
    const char *s = json_string_value(json_object_get(j, k));
    return s && base64_decode(out, slice_cstr(s)) == CL_OK;
}

/* Opens the sealed environment. NULL if it does not open. */
static json_t *open_env(int fd, EVP_PKEY *key, cl_buf *doc, const char **why) {
    json_t *m = NULL, *env = NULL;
    cl_buf sealed = CL_BUF_INIT, plain = CL_BUF_INIT, aad = CL_BUF_INIT;
    *why = "no answer from the host";
    if (run_frame_read_json(fd, 30000, &m) != CL_OK) goto out;
    if (json_object_get(m, "error")) {
        *why = "the host refused the run";
        goto out;
    }
    *why = "the host's answer is malformed";
    if (!b64_field(m, "attestation", doc) || !b64_field(m, "sealed", &sealed)) goto out;
    buf_append_cstr(&aad, RUN_ENV_AAD);
    *why = "the sealed environment does not open with this run's key";
    if (crypto_ecies_open(key, buf_slice(&aad), buf_slice(&sealed), &plain) != CL_OK) goto out;
    env = json_loadb((const char *)plain.ptr, plain.len, 0, NULL);
    if (!json_is_object(env)) {
        json_decref(env);
        env = NULL;
    }
out:
    json_decref(m);
    buf_free(&sealed);
    buf_free(&aad);
    buf_free_secret(&plain);
    return env;
}

static char **str_array(const json_t *a) {
    size_t n = json_array_size(a);
    char **v = cl_calloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        v[i] = cl_strdup(s ? s : "");
    }
    return v;
}

static void str_array_free(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        cl_free_secret(v[i]);
    free(v);
}

/* Wipes every string of a JSON value (the opened environment) in place. */
static void json_wipe(json_t *j) {
    if (json_is_string(j)) {
        cl_cleanse((char *)json_string_value(j), json_string_length(j)); /* our copy */
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            json_wipe(json_array_get(j, i));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) json_wipe(v);
    }
}

/* Child: the app. execvpe searches PATH of the app's environment. Its end of
 * the attestation socket (app_fd) is the one descriptor it inherits. */
static void exec_app(int fd, int app_fd, char **argv, char **envp) {
    close(fd);
    if (app_fd > 2 && fcntl(app_fd, F_SETFD, 0) != 0) _exit(126);
    const char *path = NULL;
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    if (path) setenv("PATH", path, 1); /* execvpe searches the caller's PATH */
    if (chdir("/iexec_out") != 0) _exit(126);
    execvpe(argv[0], argv, envp);
    fprintf(stderr, "cloister: cannot start the app (%s): %s\n", argv[0], strerror(errno));
    _exit(127);
}

static json_t *input_digests(const json_t *names) {
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *n = json_string_value(json_array_get(names, i));
        char *p = cl_sprintf("/iexec_in/%s", n ? n : "");
        cl_buf b = CL_BUF_INIT;
        char hex[65] = "";
        if (file_read_all(p, &b, TASKS_FETCH_MAX) == CL_OK) crypto_sha256_hex(buf_slice(&b), hex);
        json_array_append_new(out, json_pack("{s:s, s:s}", "name", n ? n : "", "sha256", hex));
        buf_free(&b);
        free(p);
    }
    return out;
}

static int report(int fd, EVP_PKEY *key, const cl_buf *doc, const json_t *env, int code) {
    if (code != 0) {
        char why[80];
        snprintf(why, sizeof why, "the app exited with status %d", code);
        return init_fail(fd, why, code);
    }
    tasks_result r = {0};
    char err[256] = "";
    if (tasks_result_compute("/iexec_out", &r, err, sizeof err) != CL_OK)
        return init_fail(fd, err[0] ? err : "computed.json is invalid", 1);
    json_t *body = json_pack(
        "{s:s, s:s, s:O, s:o, s:{s:s, s:s?}, s:i}", "version", "cloister-receipt-v1", "task",
        json_string_value(json_object_get(env, "task")), "app", json_object_get(env, "app"),
        "inputs", input_digests(json_object_get(env, "inputs")), "result", "digest", r.digest,
        "path", r.det_path, "exit_code", code);
    json_t *outs = tasks_outputs_digest("/iexec_out");
    if (!outs) {
        json_decref(body);
        tasks_result_free(&r);
        return init_fail(fd, "cannot read /iexec_out to digest the outputs", 1);
    }
    json_object_set_new(body, "outputs", outs);
    char *receipt = body ? tasks_receipt_seal(body, buf_slice(doc), key) : NULL;
    json_decref(body);
    tasks_result_free(&r);
    if (!receipt) return init_fail(fd, "cannot sign the receipt", 1);
    json_t *m = json_pack("{s:s}", "receipt", receipt);
    free(receipt);
    cl_err e = run_frame_write_json(fd, m);
    json_decref(m);
    return e == CL_OK ? 0 : 1;
}

int tasks_init_main(void) {
    const char *fds = getenv("CLOISTER_CTL_FD");
    int fd = fds ? atoi(fds) : -1;
    if (fd <= 2) {
        fprintf(stderr, "cloister __enclave-init: started outside a run\n");
        return 2;
    }
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    EVP_PKEY *key = make_key(fd);
    if (!key) return init_fail(fd, "cannot make the run's key pair", 1);
    cl_buf doc = CL_BUF_INIT;
    const char *why = NULL;
    json_t *env = open_env(fd, key, &doc, &why);
    if (!env) {
        EVP_PKEY_free(key);
        buf_free(&doc);
        return init_fail(fd, why, 1);
    }
    int sv[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) sv[0] = sv[1] = -1;
    json_t *envj = json_object_get(env, "env");
    if (sv[1] > 2) {
        char *v = cl_sprintf("CLOISTER_ATTESTATION_FD=%d", sv[1]);
        json_array_append_new(envj, json_string(v));
        free(v);
    }
    char **argv = str_array(json_object_get(env, "argv"));
    char **envp = str_array(envj);
    json_wipe(envj);
    int code = 1;
    pid_t pid = argv[0] ? fork() : -1;
    if (pid == 0) exec_app(fd, sv[1], argv, envp);
    str_array_free(argv);
    str_array_free(envp);
    if (sv[1] >= 0) close(sv[1]);
    if (pid < 0) {
        if (sv[0] >= 0) close(sv[0]);
        code = init_fail(fd, "cannot start the app", 1);
    } else {
        int st = sv[0] >= 0 ? run_attest_serve(fd, sv[0], pid) : 0;
        if (sv[0] < 0)
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        int rc = report(fd, key, &doc, env, code);
        if (code == 0) code = rc;
    }
    json_decref(env);
    EVP_PKEY_free(key);
    buf_free(&doc);
    close(fd);
    return code;
}

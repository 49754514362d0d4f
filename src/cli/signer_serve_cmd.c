/* signer_serve_cmd.c — `cloister signer serve`: parses the options (the same
 * conventions as `cloister serve`), starts the remote signer (signer.h,
 * section "server"; it prunes slashing history itself) and stops cleanly on SIGTERM/SIGINT (every
 * key zeroised). A lock file keeps two signers off one data directory. */
#include "cli/cli.h"
#include "signer/signer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: cloister signer serve [options]\n"
    "  --listen HOST:PORT                 listen address (default 127.0.0.1:9000)\n"
    "  --data DIR                         the signer's state: slashing database, key cache,\n"
    "                                     node key, keymanager API token (default ./var/signer)\n"
    "  --keystores-path DIR               EIP-2335 keystores (*.json) to load\n"
    "  --keystores-passwords-path DIR     their passwords (<same name>.txt)\n"
    "  --network NAME                     mainnet (default), sepolia, holesky, hoodi, gnosis\n"
    "  --meta URL                         the meta store (default sqlite:DIR/signer.db)\n"
    "  --tls-cert FILE --tls-key FILE     serve HTTPS (PEM) instead of HTTP\n"
    "  --threads N                        request threads (default 4)\n"
    "  --load-threads N                   keystore decryption threads (default all cores)\n"
    "  --slashing-protection-pruning-epochs N\n"
    "                                     slashing history kept (default 250 epochs)\n"
    "  --kms-keys NAME [--endpoint URL]   KMS-sealed keys, unwrapped inside the signer app's\n"
    "                                     sandbox (--tls-key-kms FILE: the TLS key too)\n"
    "  --production                       refuse keys that are not attestation-gated\n"
    "  --verbose                          debug logging\n"
    "see docs/signer.md\n";

typedef struct {
    signer_server_opts so;
    const char *tls_cert_file, *tls_key_file;
    char *cert_pem, *key_pem; /* read from those files; owned here */
    bool verbose;
} serve_args;

static bool parse_uint(const char *v, uint64_t max, uint64_t *out) {
    return slice_to_u64(slice_cstr(v), out) == CL_OK && *out <= max;
}

/* One option with a value; 2 for a bad one. */
static int take_opt(serve_args *a, const char *k, const char *v) {
    signer_server_opts *o = &a->so;
    uint64_t n = 0;
    if (strcmp(k, "--listen") == 0)
        o->listen = v;
    else if (strcmp(k, "--data") == 0)
        o->data_dir = v;
    else if (strcmp(k, "--keystores-path") == 0)
        o->keystores_path = v;
    else if (strcmp(k, "--keystores-passwords-path") == 0)
        o->passwords_path = v;
    else if (strcmp(k, "--meta") == 0)
        o->meta_url = v;
    else if (strcmp(k, "--tls-cert") == 0)
        a->tls_cert_file = v;
    else if (strcmp(k, "--tls-key") == 0)
        a->tls_key_file = v;
    else if (strcmp(k, "--network") == 0) {
        if (!(o->network = signer_network_find(v))) {
            fprintf(stderr, "cloister signer serve: unknown network %s\n", v);
            return 2;
        }
    } else if (strcmp(k, "--threads") == 0 && parse_uint(v, 256, &n) && n > 0)
        o->http_threads = (unsigned)n;
    else if (strcmp(k, "--load-threads") == 0 && parse_uint(v, 1024, &n))
        o->load_threads = (unsigned)n;
    else if (strcmp(k, "--slashing-protection-pruning-epochs") == 0 &&
             parse_uint(v, UINT32_MAX, &n) && n > 0)
        o->slashing.prune_epochs = n;
    else {
        fprintf(stderr, "cloister signer serve: unknown option or bad value: %s %s\n%s", k, v,
                USAGE);
        return 2;
    }
    return 0;
}

static int parse_args(int argc, char **argv, serve_args *a) {
    memset(a, 0, sizeof *a);
    a->so.listen = "127.0.0.1:9000";
    a->so.data_dir = "./var/signer";
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            fputs(USAGE, stdout);
            return -1;
        }
        if (strcmp(k, "--production") == 0) {
            a->so.production = true;
            continue;
        }
        if (strcmp(k, "--verbose") == 0) {
            a->verbose = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "cloister signer serve: %s needs a value\n", k);
            return 2;
        }
        int rc = take_opt(a, k, v);
        if (rc) return rc;
        i++;
    }
    if (a->so.passwords_path && !a->so.keystores_path) {
        fprintf(stderr,
                "cloister signer serve: --keystores-passwords-path needs --keystores-path\n");
        return 2;
    }
    return 0;
}

static bool read_pem(const char *path, char **out) {
    cl_buf b = CL_BUF_INIT;
    if (file_read_all(path, &b, 1u << 20) != CL_OK) {
        fprintf(stderr, "cloister signer serve: cannot read %s\n", path);
        buf_free(&b);
        return false;
    }
    *out = buf_take_cstr(&b);
    return true;
}

static int lock_dir(const char *dir) {
    char *path = cl_sprintf("%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "cloister signer serve: %s is in use by another signer\n", dir);
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int wait_for_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) == 0) return sig;
    }
}

static void say_mode(const serve_args *a) {
    if (a->so.production) {
        log_info("signer: production mode: only attestation-gated keys are loaded");
        return;
    }
    if (a->so.extra_keys && !a->so.keystores_path) {
        log_info("signer: development mode: attestation-gated keys; keymanager imports of plain "
                 "keystores are allowed (--production refuses them)");
        return;
    }
    log_warn("signer: DEVELOPMENT MODE: keys come from plain EIP-2335 keystores and are NOT "
             "attestation-gated (a compromise of this host exposes them); use --production "
             "with KMS-sealed keys in a sandbox for real validators");
}

/* The KMS-sealed keys (`--kms-keys NAME`, `--tls-key-kms FILE`) are
 * src/cli/signer_kms.c's: cmd_signer took its options off the command line,
 * cli_signer_kms_apply sets o->extra_keys (and the TLS key) from them. */

/* TLS material from files, then the other key sources (KMS-sealed keys). */
static bool key_sources(serve_args *a, char *err, size_t errlen) {
    if ((a->tls_cert_file && !read_pem(a->tls_cert_file, &a->cert_pem)) ||
        (a->tls_key_file && !read_pem(a->tls_key_file, &a->key_pem)))
        return false;
    a->so.tls_cert_pem = a->cert_pem;
    a->so.tls_key_pem = a->key_pem;
    if (cli_signer_kms_apply(&a->so, err, errlen) != CL_OK) {
        if (!err[0]) snprintf(err, errlen, "the KMS-sealed key sources are not usable");
        return false;
    }
    if (!a->so.tls_cert_pem != !a->so.tls_key_pem) {
        snprintf(err, errlen,
                 "a TLS certificate needs its key and a key its certificate "
                 "(--tls-cert with --tls-key)");
        return false;
    }
    return true;
}

static int run(serve_args *a) {
    char err[512] = "";
    if (!key_sources(a, err, sizeof err)) {
        if (err[0]) fprintf(stderr, "cloister signer serve: %s\n", err);
        return 1;
    }
    say_mode(a);
    signer_server *srv = NULL;
    if (signer_server_start(&a->so, &srv, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister signer serve: %s\n", err[0] ? err : "cannot start");
        return 1;
    }
    const char *host = a->so.listen;
    const char *colon = strrchr(host, ':');
    printf("Cloister signer is listening on %s://%.*s:%u (data: %s)\n",
           a->so.tls_cert_pem ? "https" : "http", (int)(colon ? colon - host : 0), host,
           (unsigned)signer_server_port(srv), a->so.data_dir);
    fflush(stdout);
    int sig = wait_for_signal();
    log_info("signer: %s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    signer_server_stop(srv);
    return 0;
}

int cmd_signer_serve(int argc, char **argv) {
    serve_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) return 0; /* --help */
    if (rc) return rc;
    if (a.verbose) log_set_level(LOG_DEBUG);
    sigset_t set; /* the stop signals go to the main thread's sigwait only */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (dir_ensure(a.so.data_dir, 0700) != CL_OK) {
        fprintf(stderr, "cloister signer serve: cannot create data directory %s\n", a.so.data_dir);
        return 1;
    }
    int lock = lock_dir(a.so.data_dir);
    if (lock < 0) return 1;
    rc = run(&a);
    close(lock);
    cl_free_secret(a.key_pem);
    free(a.cert_pem);
    cli_signer_kms_done(); /* zeroises a KMS-unwrapped TLS key */
    return rc;
}

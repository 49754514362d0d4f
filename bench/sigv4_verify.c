/* sigv4_verify.c — how long the server spends checking one SigV4 signature.
 *
 * Builds a request shaped like the aws CLI's `sts get-caller-identity` (POST /,
 * form body, the headers the CLI sends), signs it with sigv4_sign, then times
 * sigv4_parse + sigv4_verify over many iterations in batches and prints the
 * median (and p10/p90) microseconds per verification, next to the parts it is
 * made of (parse alone, signing-key derivation alone) and the same with a
 * session token (temporary ASIA credentials). It never fails on time; it exits 1
 * only if a signature it made does not verify (a correctness bug, not a figure).
 *
 * usage: sigv4_verify [ITERATIONS [BATCH]]   (defaults 200000, 1000) */
#include "aws/sigv4.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACCESS_KEY "AKIAIOSFODNN7EXAMPLE"
#define TEMP_KEY "ASIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define BODY "Action=GetCallerIdentity&Version=2011-06-15"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    cl_kvlist headers;
    sigv4_request req;
    char hash[65];
    uint8_t key[32]; /* the signing key a server caches per access key and day */
} signed_req;

/* The headers aws-cli v2 sends for sts get-caller-identity, then the signature. */
static void build(signed_req *s, const char *key, const char *token, time_t now) {
    s->headers = CL_KVLIST_INIT;
    kvlist_add(&s->headers, "Host", "127.0.0.1:9000");
    kvlist_add(&s->headers, "Accept-Encoding", "identity");
    kvlist_add(&s->headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    kvlist_add(&s->headers, "User-Agent",
               "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 source/x86_64.debian.12 prompt/off "
               "command/sts.get-caller-identity");
    kvlist_add(&s->headers, "Content-Length", "43");
    crypto_sha256_hex(slice_cstr(BODY), s->hash);
    s->req = (sigv4_request){.method = "POST",
                             .path = "/",
                             .query = "",
                             .headers = &s->headers,
                             .payload_hash = s->hash,
                             .s3_paths = false};
    sigv4_sign(&s->req, &s->headers, key, SECRET, token, "us-east-1", "sts", now, false);
    sigv4_auth a = {0};
    if (sigv4_parse(&s->req, &a) == SIGV4_OK)
        sigv4_signing_key(SECRET, a.date, a.region, a.service, s->key);
    sigv4_auth_free(&a);
}

typedef enum { RUN_PARSE, RUN_PARSE_VERIFY, RUN_PARSE_VERIFY_KEY, RUN_SIGNING_KEY } run_kind;

/* Times `iters` operations in batches; fills per-op microseconds per batch. */
static int run(run_kind kind, const signed_req *s, time_t now, long iters, long batch,
               double *per_op, long *n_batches, unsigned *sink) {
    long nb = iters / batch;
    for (long b = 0; b < nb; b++) {
        double t0 = now_us();
        for (long i = 0; i < batch; i++) {
            if (kind == RUN_SIGNING_KEY) {
                uint8_t k[32];
                sigv4_signing_key(SECRET, "20250101", "us-east-1", "sts", k);
                *sink += k[i & 31];
                continue;
            }
            sigv4_auth a = {0};
            sigv4_status st = sigv4_parse(&s->req, &a);
            if (st == SIGV4_OK && kind == RUN_PARSE_VERIFY)
                st = sigv4_verify(&s->req, &a, SECRET, now);
            if (st == SIGV4_OK && kind == RUN_PARSE_VERIFY_KEY) /* the server's path: key cached */
                st = sigv4_verify_key(&s->req, &a, s->key, now);
            sigv4_auth_free(&a);
            if (st != SIGV4_OK) {
                fprintf(stderr,
                        "sigv4_verify: a signature made by sigv4_sign does not verify: %s\n",
                        sigv4_status_str(st));
                return 1;
            }
            *sink += (unsigned)st;
        }
        per_op[b] = (now_us() - t0) / (double)batch;
    }
    *n_batches = nb;
    return 0;
}

static void report(const char *what, double *per_op, long n) {
    qsort(per_op, (size_t)n, sizeof *per_op, cmp_double);
    double med = per_op[n / 2], p10 = per_op[n / 10], p90 = per_op[(n * 9) / 10];
    printf("%-34s %10.2f %9.2f %9.2f %12.0f\n", what, med, p10, p90, 1e6 / med);
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    long batch = argc > 2 ? atol(argv[2]) : 1000;
    if (iters < 1000) iters = 1000;
    if (batch < 1 || batch > iters) batch = 1000;
    time_t now = time(NULL);
    signed_req perm, temp;
    build(&perm, ACCESS_KEY, NULL, now);
    build(
        &temp, TEMP_KEY,
        "IQoJb3JpZ2luX2VjEBYaCXVzLWVhc3QtMSJHMEUCIQD6h0ExampleSessionTokenThatIsRatherLongAsAWSOnes"
        "AreXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
        "X"
        "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX="
        "=",
        now);

    const char *auth = kvlist_get_ci(&perm.headers, "Authorization");
    if (!auth) {
        fprintf(stderr, "sigv4_verify: sigv4_sign added no Authorization header\n");
        return 1;
    }
    long nb_max = iters / batch;
    double *per_op = cl_calloc((size_t)nb_max, sizeof *per_op);
    unsigned sink = 0;
    long nb = 0;

    /* warm-up (caches, CPU frequency) and a correctness check */
    if (run(RUN_PARSE_VERIFY, &perm, now, batch * 5 < iters ? batch * 5 : iters, batch, per_op, &nb,
            &sink))
        return 1;

    printf("SigV4 verification, sts GetCallerIdentity-shaped request (%ld iterations, batches of "
           "%ld)\n",
           iters, batch);
    printf("Authorization: %.60s...\n\n", auth);
    printf("%-34s %11s %10s %10s %12s\n", "what", "median µs", "p10 µs", "p90 µs", "per second");
    if (run(RUN_PARSE, &perm, now, iters, batch, per_op, &nb, &sink)) return 1;
    report("parse", per_op, nb);
    if (run(RUN_SIGNING_KEY, &perm, now, iters, batch, per_op, &nb, &sink)) return 1;
    report("signing key (4 HMACs)", per_op, nb);
    if (run(RUN_PARSE_VERIFY, &perm, now, iters, batch, per_op, &nb, &sink)) return 1;
    report("parse+verify, long-term key", per_op, nb);
    if (run(RUN_PARSE_VERIFY_KEY, &perm, now, iters, batch, per_op, &nb, &sink)) return 1;
    report("parse+verify, cached signing key", per_op, nb);
    if (run(RUN_PARSE_VERIFY, &temp, now, iters, batch, per_op, &nb, &sink)) return 1;
    report("parse+verify, session token", per_op, nb);
    printf("\n(one core; figures are per verification; sink %u)\n", sink & 1);

    free(per_op);
    kvlist_free(&perm.headers);
    kvlist_free(&temp.headers);
    return 0;
}

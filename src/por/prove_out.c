/* prove_out.c — the prover's files (cloister-por-v2, POR2SPEC §6), written
 * into the temporary directory prove.c publishes from.
 *
 * merkle_tree.json and private_nonces.json are streamed from the flat arrays
 * through a 1 MiB buffer (merkle_tree.json is hashed on the way: its size and
 * SHA-256 go into final_proof.json, so it is written first). User proofs are
 * written by all threads, one file per real account, each built in a small
 * per-thread buffer and written with one write(); nothing holds more than one
 * user proof per thread. proofs.zip (libzip) holds the two public files.
 *
 * Every JSON text here is produced by hand with fixed field order: values are
 * hex, decimal integers and asset symbols (1..32 of [A-Za-z0-9._-]), none of
 * which needs escaping. Public files have mode 0644; files with secrets
 * (user proofs, private_nonces.json) 0600. */
#include "por/prover.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define WBUF (1u << 20)

typedef struct {
    int fd;
    cl_buf b;
    crypto_sha256_ctx *sha; /* NULL: not hashed */
    uint64_t bytes;
    bool failed;
} writer;

static cl_err w_open(writer *w, const char *path, int mode, bool hash) {
    memset(w, 0, sizeof *w);
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (w->fd < 0) return CL_ERR_IO;
    buf_reserve(&w->b, WBUF + 4096);
    if (hash) w->sha = crypto_sha256_new();
    return CL_OK;
}

static bool write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void w_flush(writer *w) {
    if (!w->b.len) return;
    if (w->sha) crypto_sha256_update(w->sha, buf_slice(&w->b));
    if (!w->failed && !write_all(w->fd, w->b.ptr, w->b.len)) w->failed = true;
    w->bytes += w->b.len;
    buf_clear(&w->b);
}

static void w_str(writer *w, const char *s) {
    buf_append_cstr(&w->b, s);
    if (w->b.len >= WBUF) w_flush(w);
}

static void w_hex(writer *w, const uint8_t *p, size_t n) {
    buf_reserve(&w->b, 2 * n + 1);
    hex_encode_to((char *)w->b.ptr + w->b.len, p, n);
    w->b.len += 2 * n;
    if (w->b.len >= WBUF) w_flush(w);
}

/* Closes; out_sha (if hashing) gets the digest. secret: wipe the buffer. */
static cl_err w_close(writer *w, uint8_t out_sha[POR_HASH_LEN], bool secret) {
    w_flush(w);
    if (w->sha) {
        uint8_t d[POR_HASH_LEN];
        crypto_sha256_final(w->sha, out_sha ? out_sha : d);
    }
    if (close(w->fd) != 0) w->failed = true;
    if (secret)
        buf_free_secret(&w->b);
    else
        buf_free(&w->b);
    return w->failed ? CL_ERR_IO : CL_OK;
}

static cl_err write_tree(por_prover *P, const char *path) {
    writer w;
    CL_TRY(w_open(&w, path, 0644, true));
    char head[128];
    snprintf(head, sizeof head, "{\"version\":\"%s\",\"tree_depth\":%u,\n\"leaves\":[\n",
             POR2_VERSION, P->depth);
    w_str(&w, head);
    for (uint64_t i = 0; i < P->N; i++) {
        w_str(&w, "{\"id\":\"");
        w_hex(&w, P->id[i], POR_HASH_LEN);
        w_str(&w, "\",\"commitments\":\"");
        w_hex(&w, por_prover_pq(P, i), 2 * P->n * POR_POINT_LEN);
        w_str(&w, "\",\"hash\":\"");
        w_hex(&w, P->h[i], POR_HASH_LEN);
        w_str(&w, i + 1 < P->N ? "\"},\n" : "\"}\n");
        if ((i & 65535) == 65535) por_report(P->pg, "writing tree", i, P->N);
    }
    w_str(&w, "],\n\"levels\":[\n");
    for (uint32_t j = 1; j <= P->depth; j++) {
        uint64_t cnt = P->N >> j, off = por_level_offset(P->N, j);
        w_str(&w, "[");
        for (uint64_t k = 0; k < cnt; k++) {
            w_str(&w, k ? ",\"" : "\"");
            w_hex(&w, P->node_hash[off + k], POR_HASH_LEN);
            w_str(&w, (k & 3) == 3 && k + 1 < cnt ? "\"\n" : "\"");
        }
        w_str(&w, j < P->depth ? "],\n" : "]\n");
    }
    w_str(&w, "],\n\"range_proofs\":[\n");
    size_t cols = por2_columns(P->n);
    uint64_t done = 0;
    for (size_t c = 0; c < cols; c++) {
        uint32_t bits = por2_column_bits(&P->st, c);
        uint64_t nb = por2_column_batches(P->N, P->batch, bits);
        for (uint64_t j = 0; j < nb; j++, done++) {
            w_str(&w, "\"");
            w_hex(&w, P->rp + por2_range_offset(&P->st, c, j),
                  por_rangeproof_size(por2_range_len(&P->st, c, j), bits));
            w_str(&w, done + 1 < P->st.range_count ? "\",\n" : "\"\n");
        }
    }
    w_str(&w, "]}\n");
    cl_err e = w_close(&w, P->st.tree_sha256, false);
    P->st.tree_bytes = w.bytes;
    por_report(P->pg, "writing tree", P->N, P->N);
    return e;
}

static cl_err write_nonces(por_prover *P, const char *path) {
    writer w;
    CL_TRY(w_open(&w, path, 0600, false));
    w_str(&w, "{\"version\":\"" POR2_VERSION "\",\n\"leaves\":[\n");
    char idx[48];
    for (uint64_t i = 0; i < P->N; i++) {
        uint32_t acc = P->acc_of_leaf[i];
        snprintf(idx, sizeof idx, "{\"leaf_index\":%llu,", (unsigned long long)i);
        w_str(&w, idx);
        w_str(&w, "\"user_hash\":\"");
        if (acc != POR_DUMMY)
            w_hex(&w, P->uh.ptr + P->uh_off[acc], P->uh_off[acc + 1] - P->uh_off[acc]);
        w_str(&w, "\",\"nonce\":\"");
        w_hex(&w, P->nonce[i], POR_NONCE_LEN);
        w_str(&w, i + 1 < P->N ? "\"},\n" : "\"}\n");
    }
    w_str(&w, "]}\n");
    return w_close(&w, NULL, true);
}

cl_err por_prover_write_nonces(por_prover *P, const char *path, char err[POR_ERR_LEN]) {
    char *tmp = cl_sprintf("%s.tmp-%ld", path, (long)getpid());
    cl_err e = write_nonces(P, tmp);
    int fd = e == CL_OK ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
    if (e == CL_OK && (fd < 0 || fsync(fd) != 0 || rename(tmp, path) != 0)) e = CL_ERR_IO;
    if (fd >= 0) close(fd);
    if (e != CL_OK) {
        snprintf(err, POR_ERR_LEN, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return e;
}

static void hexa(cl_buf *b, const uint8_t *p, size_t n) {
    buf_reserve(b, 2 * n + 1);
    hex_encode_to((char *)b->ptr + b->len, p, n);
    b->len += 2 * n;
}

/* One user proof into b (§6). */
static void user_proof_json(const por_prover *P, uint64_t acc, cl_buf *b) {
    uint64_t leaf = P->leaf_of_acc[acc];
    const uint8_t *uh = P->uh.ptr + P->uh_off[acc];
    size_t ul = P->uh_off[acc + 1] - P->uh_off[acc];
    const por_i128 *bal = &P->balances[acc * P->n];
    buf_append_cstr(b, "{\n  \"version\": \"" POR2_VERSION "\",\n  \"user_hash\": \"");
    hexa(b, uh, ul);
    buf_append_cstr(b, "\",\n  \"nonce\": \"");
    hexa(b, P->nonce[leaf], POR_NONCE_LEN);
    buf_appendf(b, "\",\n  \"leaf_index\": %llu,\n  \"balances\": {", (unsigned long long)leaf);
    char num[80];
    for (size_t a = 0; a < P->n; a++)
        buf_appendf(b, "%s\"%s\": \"%s\"", a ? ", " : "", P->st.assets[a].symbol,
                    por_i128_format(bal[a], num));
    por_i256 v;
    por2_net_equity(P->weights, bal, P->n, P->st.net_bits, &v, num);
    buf_appendf(b, "},\n  \"net_equity\": \"%s\",\n  \"leaf\": {\"id\": \"", num);
    cl_cleanse(num, sizeof num);
    cl_cleanse(&v, sizeof v);
    hexa(b, P->id[leaf], POR_HASH_LEN);
    buf_append_cstr(b, "\", \"hash\": \"");
    hexa(b, P->h[leaf], POR_HASH_LEN);
    buf_append_cstr(b, "\"},\n  \"path\": [");
    for (uint32_t j = 0; j < P->depth; j++) {
        uint64_t sib = (leaf >> j) ^ 1;
        buf_append_cstr(b, j ? ",\n    \"" : "\n    \"");
        hexa(b, por_prover_node_hash(P, j, sib), POR_HASH_LEN);
        buf_append_cstr(b, "\"");
    }
    buf_append_cstr(b, "\n  ],\n  \"root\": {\"hash\": \"");
    hexa(b, P->st.root_hash, POR_HASH_LEN);
    buf_append_cstr(b, "\"},\n  \"statement_digest\": \"");
    hexa(b, P->st.digest, POR_HASH_LEN);
    buf_append_cstr(b, "\"\n}\n");
}

typedef struct {
    por_prover *P;
    const char *dir;
} users_job;

static void users_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    users_job *U = ctx;
    por_prover *P = U->P;
    cl_buf text = CL_BUF_INIT;
    char *path = cl_malloc(strlen(U->dir) + 2 * POR_LEDGER_MAX_USER_HASH + 16);
    size_t dl = strlen(U->dir);
    for (size_t acc = b; acc < e && !P->ferr.failed; acc++) {
        buf_clear(&text);
        user_proof_json(P, acc, &text);
        memcpy(path, U->dir, dl);
        path[dl] = '/';
        hex_encode_to(path + dl + 1, P->uh.ptr + P->uh_off[acc],
                      P->uh_off[acc + 1] - P->uh_off[acc]);
        strcat(path, ".json");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && write_all(fd, text.ptr, text.len);
        int en = errno;
        if (fd >= 0 && close(fd) != 0) ok = false;
        if (!ok) por_first_error_set(&P->ferr, acc, "cannot write %s: %s", path, strerror(en));
    }
    buf_free_secret(&text);
    free(path);
}

static cl_err write_zip(const char *dir, char err[POR_ERR_LEN]) {
    char *zpath = cl_sprintf("%s/proofs.zip", dir);
    int zerr = 0;
    zip_t *z = zip_open(zpath, ZIP_CREATE | ZIP_EXCL, &zerr);
    cl_err e = CL_OK;
    static const char *const names[] = {"final_proof.json", "merkle_tree.json"};
    for (size_t i = 0; z && i < 2 && e == CL_OK; i++) {
        char *p = cl_sprintf("%s/%s", dir, names[i]);
        zip_source_t *src = zip_source_file(z, p, 0, -1);
        zip_int64_t idx = src ? zip_file_add(z, names[i], src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            if (src) zip_source_free(src);
            snprintf(err, POR_ERR_LEN, "proofs.zip: cannot add %s: %s", names[i], zip_strerror(z));
            e = CL_ERR_IO;
        } else {
            zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 1);
            chmod(zpath, 0644);
        }
        free(p);
    }
    if (!z) {
        snprintf(err, POR_ERR_LEN, "cannot create %s (libzip error %d)", zpath, zerr);
        e = CL_ERR_IO;
    } else if (e != CL_OK) {
        zip_discard(z);
    } else if (zip_close(z) != 0) {
        snprintf(err, POR_ERR_LEN, "cannot write %s: %s", zpath, zip_strerror(z));
        zip_discard(z);
        e = CL_ERR_IO;
    } else {
        chmod(zpath, 0644);
    }
    free(zpath);
    return e;
}

cl_err por_prover_write(por_prover *P, const char *dir, char err[POR_ERR_LEN]) {
    char *p = cl_sprintf("%s/merkle_tree.json", dir);
    cl_err e = write_tree(P, p);
    if (e != CL_OK) snprintf(err, POR_ERR_LEN, "cannot write %s: %s", p, strerror(errno));
    free(p);
    CL_TRY(e);
    char *text = por2_final_proof_format(&P->st);
    p = cl_sprintf("%s/final_proof.json", dir);
    writer w;
    e = w_open(&w, p, 0644, false);
    if (e == CL_OK) {
        w_str(&w, text);
        e = w_close(&w, NULL, false);
    }
    if (e != CL_OK) snprintf(err, POR_ERR_LEN, "cannot write %s: %s", p, strerror(errno));
    free(p);
    free(text);
    CL_TRY(e);
    if (!P->opt->nonces_path) {
        p = cl_sprintf("%s/private_nonces.json", dir);
        e = write_nonces(P, p);
        if (e != CL_OK) snprintf(err, POR_ERR_LEN, "cannot write %s: %s", p, strerror(errno));
        free(p);
        CL_TRY(e);
    }
    p = cl_sprintf("%s/user_proofs", dir);
    if (mkdir(p, 0700) != 0) {
        snprintf(err, POR_ERR_LEN, "cannot create %s: %s", p, strerror(errno));
        free(p);
        return CL_ERR_IO;
    }
    users_job U = {P, p};
    por_parallel(P->threads, P->count, 64, users_chunk, &U, P->pg, "writing user proofs");
    free(p);
    if (P->ferr.failed) {
        snprintf(err, POR_ERR_LEN, "%s", P->ferr.msg);
        return CL_ERR_IO;
    }
    return write_zip(dir, err);
}

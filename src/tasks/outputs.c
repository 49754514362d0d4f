/* outputs.c — the digests of a run's outputs that its receipt carries
 * ("outputs", docs/attestation.md), so each published file can be checked
 * against a receipt: one entry per regular file directly in /iexec_out
 * {"path", "sha256", "size"}, and one per subdirectory {"path": "dir/",
 * "sha256", "files"} whose sha256 is over the lines "REL\tSHA256\n" of every
 * regular file below it (REL relative to /iexec_out, sorted bytewise), so a
 * folder of 100,000 user proofs costs one entry, not 100,000. Entries are
 * sorted by path. Links and other file types are skipped (the result packer
 * refuses them anyway). Shared by the init (which signs them) and the node
 * (which checks them before publishing). */
#include "tasks/tasks.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 16

static bool file_sha256(const char *path, char hex[65], uint64_t *size) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    uint8_t buf[65536], md[32];
    ssize_t n;
    *size = 0;
    while (ok && (n = read(fd, buf, sizeof buf)) > 0) {
        ok = EVP_DigestUpdate(c, buf, (size_t)n) == 1;
        *size += (uint64_t)n;
    }
    if (n < 0) ok = false;
    unsigned len = 0;
    if (ok) ok = EVP_DigestFinal_ex(c, md, &len) == 1 && len == 32;
    if (ok) hex_encode_to(hex, md, 32);
    EVP_MD_CTX_free(c);
    close(fd);
    return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Appends "REL\tSHA\n" for every regular file under dir/rel, in sorted order. */
static bool listing(const char *root, const char *rel, int depth, cl_buf *out, size_t *files) {
    if (depth > MAX_DEPTH) return false;
    char *path = cl_sprintf("%s/%s", root, rel);
    struct dirent **ents = NULL;
    int n = scandir(path, &ents, NULL, by_name);
    free(path);
    if (n < 0) return false;
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (ok && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char *r = cl_sprintf("%s/%s", rel, name), *p = cl_sprintf("%s/%s", root, r);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                char hex[65];
                uint64_t size;
                ok = file_sha256(p, hex, &size);
                buf_appendf(out, "%s\t%s\n", r, hex);
                (*files)++;
            } else if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                ok = listing(root, r, depth + 1, out, files);
            }
            free(r);
            free(p);
        }
        free(ents[i]);
    }
    free(ents);
    return ok;
}

json_t *tasks_outputs_digest(const char *dir) {
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, by_name);
    if (n < 0) return NULL;
    json_t *out = json_array();
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char *p = cl_sprintf("%s/%s", dir, name);
        struct stat st;
        if (out && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && lstat(p, &st) == 0) {
            char hex[65];
            if (S_ISREG(st.st_mode)) {
                uint64_t size;
                if (file_sha256(p, hex, &size))
                    json_array_append_new(out, json_pack("{s:s, s:s, s:I}", "path", name, "sha256",
                                                         hex, "size", (json_int_t)size));
                else
                    json_decref(out), out = NULL;
            } else if (S_ISDIR(st.st_mode)) {
                cl_buf l = CL_BUF_INIT;
                size_t files = 0;
                if (listing(dir, name, 1, &l, &files)) {
                    crypto_sha256_hex(buf_slice(&l), hex);
                    char *dpath = cl_sprintf("%s/", name);
                    json_array_append_new(out, json_pack("{s:s, s:s, s:I}", "path", dpath, "sha256",
                                                         hex, "files", (json_int_t)files));
                    free(dpath);
                } else {
                    json_decref(out);
                    out = NULL;
                }
                buf_free(&l);
            }
        }
        free(p);
        free(ents[i]);
    }
    free(ents);
    return out;
}

/* bundle.c — the canonical app bundle: a folder packed into a POSIX ustar
 * archive whose bytes depend only on the folder's paths, contents and exec
 * bits (docs/apps.md, "Bundle"); the check the server applies to uploaded
 * bundles; app names, the measurement and the app address. */
#include "tasks/tasks.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512

typedef struct {
    char *path; /* relative, no trailing slash */
    bool dir, exec;
} entry;

typedef struct {
    entry *v;
    size_t n, cap;
} entries;

static void entries_add(entries *es, char *path, bool dir, bool exec) {
    if (es->n == es->cap) {
        es->cap = es->cap ? es->cap * 2 : 16;
        es->v = cl_realloc(es->v, es->cap * sizeof *es->v);
    }
    es->v[es->n++] = (entry){path, dir, exec};
}

static void entries_free(entries *es) {
    for (size_t i = 0; i < es->n; i++)
        free(es->v[i].path);
    free(es->v);
}

static cl_err walk(const char *root, const char *rel, entries *es, char *err, size_t errlen) {
    char *abs = rel[0] ? cl_sprintf("%s/%s", root, rel) : cl_strdup(root);
    DIR *d = opendir(abs);
    if (!d) {
        snprintf(err, errlen, "cannot open directory %s: %s", abs, strerror(errno));
        free(abs);
        return CL_ERR_IO;
    }
    cl_err e = CL_OK;
    struct dirent *de;
    while (e == CL_OK && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *r = rel[0] ? cl_sprintf("%s/%s", rel, de->d_name) : cl_strdup(de->d_name);
        char *p = cl_sprintf("%s/%s", abs, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) {
            snprintf(err, errlen, "cannot stat %s: %s", p, strerror(errno));
            e = CL_ERR_IO;
        } else if (S_ISDIR(st.st_mode)) {
            entries_add(es, cl_strdup(r), true, true);
            e = walk(root, r, es, err, errlen);
        } else if (S_ISREG(st.st_mode)) {
            entries_add(es, cl_strdup(r), false, (st.st_mode & S_IXUSR) != 0);
        } else {
            snprintf(err, errlen, "%s: only regular files and directories can be bundled%s", r,
                     S_ISLNK(st.st_mode) ? " (symbolic links are refused)" : "");
            e = CL_ERR_INVALID;
        }
        free(r);
        free(p);
    }
    closedir(d);
    free(abs);
    return e;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* Splits name (with a trailing slash for directories) into ustar's prefix and
 * name fields; false if it does not fit. */
static bool split_name(const char *name, size_t *prefix_len) {
    size_t n = strlen(name);
    if (n <= 100) {
        *prefix_len = 0;
        return true;
    }
    for (size_t i = 0; i < n && i <= 155; i++)
        if (name[i] == '/' && n - i - 1 <= 100 && n - i - 1 > 0) {
            *prefix_len = i;
            return true;
        }
    return false;
}

static void octal(uint8_t *field, size_t width, uint64_t v) {
    snprintf((char *)field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/* The one canonical header for (path, dir, exec, size). */
static bool render_header(const char *path, bool dir, bool exec, uint64_t size, uint8_t h[BLOCK]) {
    memset(h, 0, BLOCK);
    char *name = dir ? cl_sprintf("%s/", path) : cl_strdup(path);
    size_t pl;
    bool ok = split_name(name, &pl);
    if (ok) {
        if (pl) {
            memcpy(h + 345, name, pl);
            memcpy(h, name + pl + 1, strlen(name) - pl - 1);
        } else {
            memcpy(h, name, strlen(name));
        }
        octal(h + 100, 8, dir || exec ? 0755 : 0644);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, dir ? 0 : size);
        octal(h + 136, 12, 0);
        h[156] = dir ? '5' : '0';
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < BLOCK; i++)
            sum += h[i];
        snprintf((char *)h + 148, 8, "%06o", sum);
        h[155] = ' ';
    }
    free(name);
    return ok;
}

static cl_err append_file(cl_buf *out, const char *root, const entry *en, size_t max, char *err,
                          size_t errlen) {
    char *p = cl_sprintf("%s/%s", root, en->path);
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(p);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read %s", en->path);
        if (fd >= 0) close(fd);
        return CL_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (out->len + BLOCK + size > max) {
        close(fd);
        snprintf(err, errlen, "the bundle exceeds %zu bytes (at %s)", max, en->path);
        return CL_ERR_TOO_LARGE;
    }
    uint8_t h[BLOCK];
    if (!render_header(en->path, false, en->exec, size, h)) {
        close(fd);
        snprintf(err, errlen, "path too long for a ustar bundle: %s", en->path);
        return CL_ERR_INVALID;
    }
    buf_append(out, h, BLOCK);
    buf_reserve(out, size + BLOCK);
    uint64_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, out->ptr + out->len, size - got);
        if (r <= 0) break;
        out->len += (size_t)r;
        got += (uint64_t)r;
    }
    close(fd);
    if (got != size) {
        snprintf(err, errlen, "%s changed while it was being packed", en->path);
        return CL_ERR_IO;
    }
    static const uint8_t zero[BLOCK];
    if (size % BLOCK) buf_append(out, zero, BLOCK - size % BLOCK);
    return CL_OK;
}

cl_err tasks_bundle_pack(const char *dir, size_t max, cl_buf *out, char *err, size_t errlen) {
    entries es = {0};
    cl_err e = walk(dir, "", &es, err, errlen);
    if (e == CL_OK) qsort(es.v, es.n, sizeof *es.v, entry_cmp);
    for (size_t i = 0; e == CL_OK && i < es.n; i++) {
        if (es.v[i].dir) {
            uint8_t h[BLOCK];
            if (!render_header(es.v[i].path, true, true, 0, h)) {
                snprintf(err, errlen, "path too long for a ustar bundle: %s", es.v[i].path);
                e = CL_ERR_INVALID;
            } else {
                buf_append(out, h, BLOCK);
            }
        } else {
            e = append_file(out, dir, &es.v[i], max, err, errlen);
        }
    }
    static const uint8_t zero[2 * BLOCK];
    if (e == CL_OK) buf_append(out, zero, sizeof zero);
    if (e == CL_OK && out->len > max) {
        snprintf(err, errlen, "the bundle exceeds %zu bytes", max);
        e = CL_ERR_TOO_LARGE;
    }
    entries_free(&es);
    return e;
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* A path as packing writes it: no leading slash, no empty, "." or ".." part. */
static bool path_clean(const char *p) {
    if (!p[0] || p[0] == '/') return false;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n + (e ? 1 : 0);
        if (e && !*s) return false;
    }
    return true;
}

static cl_err bad(char *err, size_t errlen, const char *why, size_t off) {
    snprintf(err, errlen, "not a canonical bundle: %s (at byte %zu)", why, off);
    return CL_ERR_INVALID;
}

/* One header at off: parses (path, dir, exec, size) and re-renders it; the
 * bytes must be exactly the canonical ones. */
static cl_err check_header(const uint8_t *h, size_t off, char **path, uint64_t *size, char *err,
                           size_t errlen) {
    char name[101] = "", prefix[156] = "", sz[13] = "", mode[9] = "";
    memcpy(name, h, 100);
    memcpy(prefix, h + 345, 155);
    memcpy(sz, h + 124, 12);
    memcpy(mode, h + 100, 8);
    bool dir = h[156] == '5';
    if (h[156] != '0' && !dir) return bad(err, errlen, "entry is not a file or directory", off);
    char *full = prefix[0] ? cl_sprintf("%s/%s", prefix, name) : cl_strdup(name);
    size_t n = strlen(full);
    if (dir && n && full[n - 1] == '/') full[--n] = 0;
    char *end = NULL;
    unsigned long long s = strtoull(sz, &end, 8);
    *size = dir ? 0 : s;
    uint8_t want[BLOCK];
    bool exec = strcmp(mode, "0000755") == 0;
    if (!path_clean(full) || !render_header(full, dir, exec, *size, want) ||
        memcmp(want, h, BLOCK) != 0) {
        free(full);
        return bad(err, errlen, "header is not in canonical form", off);
    }
    *path = full;
    return CL_OK;
}

cl_err tasks_bundle_check(cl_slice b, char *err, size_t errlen) {
    const uint8_t *p = (const uint8_t *)b.ptr;
    if (b.len % BLOCK || b.len < 2 * BLOCK) return bad(err, errlen, "size", b.len);
    size_t off = 0;
    char *prev = NULL;
    cl_err e = CL_OK;
    while (e == CL_OK && off + 2 * BLOCK < b.len + 0) {
        if (all_zero(p + off, BLOCK)) {
            e = bad(err, errlen, "data after the end blocks", off);
            break;
        }
        char *path = NULL;
        uint64_t size = 0;
        e = check_header(p + off, off, &path, &size, err, errlen);
        if (e != CL_OK) break;
        if (prev && strcmp(prev, path) >= 0)
            e = bad(err, errlen, "entries are not sorted by path", off);
        free(prev);
        prev = path;
        off += BLOCK;
        uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
        if (e == CL_OK && padded > b.len - 2 * BLOCK - off)
            e = bad(err, errlen, "entry runs past the end", off);
        else if (e == CL_OK && !all_zero(p + off + size, padded - size))
            e = bad(err, errlen, "padding is not zero", off + size);
        off += padded;
    }
    free(prev);
    if (e == CL_OK && (off + 2 * BLOCK != b.len || !all_zero(p + off, 2 * BLOCK)))
        e = bad(err, errlen, "missing end blocks", off);
    return e;
}

bool tasks_app_name_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void put_field(EVP_MD_CTX *x, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    uint8_t be[4] = {n >> 24, n >> 16, n >> 8, n};
    EVP_DigestUpdate(x, be, 4);
    EVP_DigestUpdate(x, s, n);
}

void tasks_app_measure(cl_slice bundle, const char *entrypoint, const char *manifest,
                       uint8_t out[TASKS_MEASUREMENT_LEN]) {
    uint8_t bd[TASKS_MEASUREMENT_LEN];
    unsigned len = 0;
    EVP_Digest(bundle.ptr, bundle.len, bd, &len, EVP_sha384(), NULL);
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    EVP_DigestInit_ex(x, EVP_sha384(), NULL);
    static const char domain[] = "cloister-app-measurement-v1";
    EVP_DigestUpdate(x, domain, sizeof domain); /* with its NUL */
    EVP_DigestUpdate(x, bd, sizeof bd);
    put_field(x, entrypoint);
    put_field(x, manifest);
    EVP_DigestFinal_ex(x, out, &len);
    EVP_MD_CTX_free(x);
}

void tasks_app_address(const char *account, const char *name, uint8_t out[TASKS_ADDRESS_LEN]) {
    crypto_keccak256_ctx c;
    uint8_t h[CRYPTO_KECCAK256_LEN];
    crypto_keccak256_init(&c);
    crypto_keccak256_update(&c, slice_cstr("cloister-app"));
    crypto_keccak256_update(&c, slice_cstr(account));
    crypto_keccak256_update(&c, slice_cstr(name));
    crypto_keccak256_final(&c, h);
    memcpy(out, h + CRYPTO_KECCAK256_LEN - TASKS_ADDRESS_LEN, TASKS_ADDRESS_LEN);
}

void tasks_owner_challenge(const uint8_t app[TASKS_ADDRESS_LEN],
                           const uint8_t owner[TASKS_ADDRESS_LEN], uint8_t out[32]) {
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    crypto_keccak256_update(&c, slice_cstr("cloister-app-owner"));
    crypto_keccak256_update(&c, slice_of(app, TASKS_ADDRESS_LEN));
    crypto_keccak256_update(&c, slice_of(owner, TASKS_ADDRESS_LEN));
    crypto_keccak256_final(&c, out);
}

/* The run limits a manifest may ask for, and their ranges. */
static const struct {
    const char *name;
    json_int_t lo, hi;
} MANIFEST_LIMITS[] = {
    {"timeout_seconds", 1, 3600},
    {"memory_mb", 16, 8192},
    {"pids", 8, 4096},
};

static bool manifest_limit_ok(const char *k, const json_t *v) {
    for (size_t i = 0; i < sizeof MANIFEST_LIMITS / sizeof MANIFEST_LIMITS[0]; i++)
        if (strcmp(k, MANIFEST_LIMITS[i].name) == 0)
            return json_is_integer(v) && json_integer_value(v) >= MANIFEST_LIMITS[i].lo &&
                   json_integer_value(v) <= MANIFEST_LIMITS[i].hi;
    return false;
}

void tasks_manifest_limits_of(const char *manifest, tasks_manifest_limits *out) {
    memset(out, 0, sizeof *out);
    json_t *j = manifest ? json_loads(manifest, 0, NULL) : NULL;
    out->network = json_is_true(json_object_get(j, "network"));
    out->state = json_is_true(json_object_get(j, "state"));
    out->timeout_seconds = (uint32_t)json_integer_value(json_object_get(j, "timeout_seconds"));
    out->memory_mb = (uint32_t)json_integer_value(json_object_get(j, "memory_mb"));
    out->pids = (uint32_t)json_integer_value(json_object_get(j, "pids"));
    json_decref(j);
}

#define PUBLIC_OUTPUTS_MAX 16
#define PUBLIC_OUTPUT_LEN_MAX 255

/* "public_outputs": at most 16 paths relative to /iexec_out, each 1..255
 * bytes, clean (path_clean: no leading "/", no empty, "." or ".." part). */
static bool public_outputs_ok(const json_t *v) {
    if (!json_is_array(v) || json_array_size(v) > PUBLIC_OUTPUTS_MAX) return false;
    size_t i;
    json_t *p;
    json_array_foreach(v, i, p) {
        const char *s = json_string_value(p);
        if (!s || json_string_length(p) > PUBLIC_OUTPUT_LEN_MAX ||
            strlen(s) != json_string_length(p) || !path_clean(s))
            return false;
    }
    return true;
}

json_t *tasks_manifest_public_outputs(const char *manifest) {
    json_t *j = manifest ? json_loads(manifest, 0, NULL) : NULL;
    json_t *v = json_object_get(j, "public_outputs");
    json_t *out = json_is_array(v) ? json_incref(v) : NULL;
    json_decref(j);
    return out;
}

char *tasks_manifest_canonical(const char *text, char *err, size_t errlen) {
    json_t *j = text && text[0] ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : json_object();
    if (!json_is_object(j)) {
        snprintf(err, errlen, "Manifest must be a JSON object");
        json_decref(j);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if ((strcmp(k, "network") == 0 || strcmp(k, "state") == 0) && json_is_boolean(v)) continue;
        if (manifest_limit_ok(k, v)) continue;
        if (strcmp(k, "public_outputs") == 0 && public_outputs_ok(v)) continue;
        snprintf(err, errlen,
                 "Manifest: unknown field or bad value: %.64s (known: network: bool, state: bool, "
                 "timeout_seconds: 1..3600, memory_mb: 16..8192, pids: 8..4096, "
                 "public_outputs: at most 16 relative paths in /iexec_out, 1..255 bytes, "
                 "no \"..\")",
                 k);
        json_decref(j);
        return NULL;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

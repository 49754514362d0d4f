/* computed.c — the result of a run as iExec defines it: the app's
 * /iexec_out/computed.json and the result digest computed from it
 * (docs/attestation.md, "Result digest").
 *
 * The digest follows iexec-common exactly (com.iexec.common.worker.result.
 * ResultUtils and com.iexec.common.utils.FileHashUtils, iexec-common 8.x):
 *   - computeWeb3ResultDigest: callback-data given -> web3j Hash.sha3(hex), i.e.
 *     keccak256 of the bytes the "0x" hex string encodes;
 *   - computeWeb2ResultDigest -> getFileTreeSha256(host path of
 *     deterministic-output-path):
 *       a file: SHA-256 of its bytes;
 *       a directory: File.listFiles() (direct entries only), Arrays.sort(files)
 *       (java.io.File order: the path strings compared as UTF-16 code units;
 *       the entries share a parent, so their names decide), then for each entry
 *       sha256(file) = SHA-256 of Files.readAllBytes, which is "" for a
 *       subdirectory (reading a directory fails), and concatenateAndHash: the
 *       hex digests decoded to bytes, concatenated ("" adds nothing) and hashed
 *       with keccak256 (web3j Hash.sha3). An empty directory gives keccak256("").
 *   Digests are written "0x" + 64 lower-case hex (web3j Numeric.toHexString).
 * The issue text says "sorted by path" and "SHA-256 digests of its direct
 * entries": the same, with iExec's two details kept (UTF-16 order; a
 * subdirectory contributes no bytes).
 *
 * Where Cloister is stricter than iExec's worker (which trusts the host
 * filesystem): computed.json must be a regular file, not a symbolic link; the
 * paths it names must be /iexec_out or under it, without "..", and are walked
 * component by component with openat(O_NOFOLLOW), so no symbolic link is ever
 * followed: a link anywhere in the path or among a result folder's entries is
 * refused, whether it points inside /iexec_out or not. */
#include "tasks/tasks.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMPUTED_FILE "computed.json"
#define OUT_ROOT "/iexec_out"
#define DET_KEY "deterministic-output-path"
#define CALLBACK_KEY "callback-data"
#define READ_CHUNK 65536

static cl_err refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cl_err refuse(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CL_ERR_INVALID;
}

/* ---- computed.json ---- */

static bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "0x" + an even, non-zero number of hex digits (iExec refuses empty data). */
static bool callback_valid(const char *s, size_t n) {
    if (n < 4 || n % 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
    for (size_t i = 2; i < n; i++)
        if (!is_hex_digit(s[i])) return false;
    return true;
}

/* The rest of a path after "/iexec_out": "" or "/..." with no ".." part. */
static const char *det_path_rest(const char *p) {
    size_t n = strlen(OUT_ROOT);
    if (strncmp(p, OUT_ROOT, n) != 0 || (p[n] != 0 && p[n] != '/')) return NULL;
    for (const char *s = p + n; *s;) {
        while (*s == '/')
            s++;
        size_t len = strcspn(s, "/");
        if (len == 2 && s[0] == '.' && s[1] == '.') return NULL;
        s += len;
    }
    return p + n;
}

static cl_err get_string(json_t *j, const char *key, const char **s, size_t *n, char *err,
                         size_t errlen) {
    json_t *v = json_object_get(j, key);
    *s = NULL;
    if (!v || json_is_null(v)) return CL_OK;
    if (!json_is_string(v))
        return refuse(err, errlen, "computed.json: \"%s\" is not a string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    if (strlen(*s) != *n) return refuse(err, errlen, "computed.json: \"%s\" contains NUL", key);
    return CL_OK;
}

cl_err tasks_computed_parse(cl_slice text, char **det_path, char **callback_hex, char *err,
                            size_t errlen) {
    *det_path = *callback_hex = NULL;
    if (err && errlen) err[0] = 0;
    if (text.len > TASKS_COMPUTED_MAX)
        return refuse(err, errlen, "computed.json is larger than %d bytes", TASKS_COMPUTED_MAX);
    json_error_t je;
    json_t *j =
        text.ptr ? json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        return refuse(err, errlen, "computed.json is not a JSON object%s%.100s",
                      text.ptr && !j ? ": " : "", text.ptr && !j ? je.text : "");
    }
    const char *det = NULL, *cb = NULL;
    size_t det_n = 0, cb_n = 0;
    cl_err e = get_string(j, DET_KEY, &det, &det_n, err, errlen);
    if (e == CL_OK) e = get_string(j, CALLBACK_KEY, &cb, &cb_n, err, errlen);
    if (e == CL_OK && cb && !callback_valid(cb, cb_n))
        e = refuse(err, errlen, "computed.json: \"%s\" is not \"0x\" followed by hex bytes",
                   CALLBACK_KEY);
    if (e == CL_OK && !det && !cb)
        e = refuse(err, errlen, "computed.json: \"%s\" is missing", DET_KEY);
    if (e == CL_OK && det && !det_path_rest(det))
        e = refuse(err, errlen,
                   "computed.json: \"%s\" must be /iexec_out or a path under it, without \"..\"",
                   DET_KEY);
    if (e == CL_OK) {
        *det_path = det ? cl_strdup(det) : NULL;
        *callback_hex = cb ? cl_strdup(cb) : NULL;
    }
    json_decref(j);
    return e;
}

/* ---- the digest ---- */

static void digest_hex(const uint8_t d[32], char out[TASKS_DIGEST_HEX_LEN + 1]) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode_to(out + 2, d, 32);
}

/* SHA-256 of what fd reads to its end. */
static cl_err sha256_fd(int fd, uint8_t out[CRYPTO_SHA256_LEN]) {
    crypto_sha256_ctx *c = crypto_sha256_new();
    uint8_t *chunk = cl_malloc(READ_CHUNK);
    ssize_t n;
    while ((n = read(fd, chunk, READ_CHUNK)) > 0)
        crypto_sha256_update(c, slice_of(chunk, (size_t)n));
    crypto_sha256_final(c, out);
    free(chunk);
    return n == 0 ? CL_OK : CL_ERR_IO;
}

/* One UTF-16 code unit of name at *i (java.lang.String order); a code point
 * above U+FFFF yields its high surrogate, then (*pending) its low one.
 * Invalid UTF-8 bytes read as U+FFFD, as Java decodes them. */
static int utf16_next(cl_slice s, size_t *i, int *pending) {
    if (*pending) {
        int u = *pending;
        *pending = 0;
        return u;
    }
    int32_t cp = utf8_next(s, i);
    if (cp < 0) return 0xFFFD;
    if (cp < 0x10000) return cp;
    cp -= 0x10000;
    *pending = 0xDC00 + (cp & 0x3FF);
    return 0xD800 + (cp >> 10);
}

static int java_name_cmp(const void *a, const void *b) {
    cl_slice x = slice_cstr(*(char *const *)a), y = slice_cstr(*(char *const *)b);
    size_t i = 0, j = 0;
    int px = 0, py = 0;
    while ((i < x.len || px) && (j < y.len || py)) {
        int u = utf16_next(x, &i, &px), v = utf16_next(y, &j, &py);
        if (u != v) return u - v;
    }
    return (i < x.len || px) - (j < y.len || py);
}

typedef struct {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *ns) {
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* Direct entries of the directory fd (consumed), sorted as Java sorts Files. */
static cl_err list_dir(int fd, names *ns, char *err, size_t errlen) {
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return refuse(err, errlen, "cannot read the result directory");
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (ns->n == ns->cap) {
            ns->cap = ns->cap ? ns->cap * 2 : 16;
            ns->v = cl_realloc(ns->v, ns->cap * sizeof *ns->v);
        }
        ns->v[ns->n++] = cl_strdup(de->d_name);
    }
    closedir(d);
    if (ns->n) qsort(ns->v, ns->n, sizeof *ns->v, java_name_cmp);
    return CL_OK;
}

/* keccak256 over the SHA-256 of each regular file among the sorted entries of
 * the directory dfd (consumed); a subdirectory adds nothing (see the top). */
static cl_err digest_dir(int dfd, const char *shown, uint8_t out[32], char *err, size_t errlen) {
    int keep = dup(dfd);
    names ns = {0};
    cl_err e = CL_OK;
    if (keep < 0) {
        close(dfd);
        e = refuse(err, errlen, "cannot read %s", shown);
    } else {
        e = list_dir(dfd, &ns, err, errlen);
    }
    crypto_keccak256_ctx kc;
    crypto_keccak256_init(&kc);
    for (size_t i = 0; e == CL_OK && i < ns.n; i++) {
        struct stat st;
        if (fstatat(keep, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            e = refuse(err, errlen, "cannot stat %s/%.200s", shown, ns.v[i]);
        } else if (S_ISLNK(st.st_mode)) {
            e = refuse(err, errlen, "%s/%.200s is a symbolic link (refused in results)", shown,
                       ns.v[i]);
        } else if (S_ISREG(st.st_mode)) {
            int fd = openat(keep, ns.v[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            uint8_t h[CRYPTO_SHA256_LEN];
            if (fd < 0 || sha256_fd(fd, h) != CL_OK)
                e = refuse(err, errlen, "cannot read %s/%.200s", shown, ns.v[i]);
            else
                crypto_keccak256_update(&kc, slice_of(h, sizeof h));
            if (fd >= 0) close(fd);
        } else if (!S_ISDIR(st.st_mode)) {
            e = refuse(err, errlen, "%s/%.200s is not a regular file or directory", shown, ns.v[i]);
        }
    }
    crypto_keccak256_final(&kc, out);
    if (keep >= 0) close(keep);
    names_free(&ns);
    return e;
}

/* Opens out_dir/rest component by component, never following a link.
 * Returns the fd of the last component (a file or directory), or -1 with err. */
static int open_beneath(int root, const char *det, const char *rest, char *err, size_t errlen) {
    int cur = dup(root);
    if (cur < 0) refuse(err, errlen, "cannot open %.200s: %s", det, strerror(errno));
    char *copy = cl_strdup(rest), *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); cur >= 0 && part;
         part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0) continue;
        int next = openat(cur, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (next < 0) {
            if (errno == ELOOP)
                refuse(err, errlen, "%.200s reaches through a symbolic link (refused)", det);
            else if (errno == ENOENT || errno == ENOTDIR)
                refuse(err, errlen, "%.200s does not exist", det);
            else
                refuse(err, errlen, "cannot open %.200s: %s", det, strerror(errno));
        }
        close(cur);
        cur = next;
    }
    free(copy);
    return cur;
}

static cl_err digest_path(const char *out_dir, const char *det,
                          char digest[TASKS_DIGEST_HEX_LEN + 1], char *err, size_t errlen) {
    int root = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return refuse(err, errlen, "cannot open the output directory");
    int fd = open_beneath(root, det, det_path_rest(det), err, errlen);
    close(root);
    if (fd < 0) return CL_ERR_INVALID;
    struct stat st;
    uint8_t h[32];
    cl_err e = CL_OK;
    if (fstat(fd, &st) != 0) {
        e = refuse(err, errlen, "cannot stat %.200s", det);
    } else if (S_ISREG(st.st_mode)) {
        if (sha256_fd(fd, h) != CL_OK) e = refuse(err, errlen, "cannot read %.200s", det);
    } else if (S_ISDIR(st.st_mode)) {
        e = digest_dir(fd, det, h, err, errlen);
        fd = -1; /* consumed */
    } else {
        e = refuse(err, errlen, "%.200s is not a regular file or directory", det);
    }
    if (fd >= 0) close(fd);
    if (e == CL_OK) digest_hex(h, digest);
    return e;
}

/* out_dir/computed.json: a regular file (not a link), at most TASKS_COMPUTED_MAX bytes. */
static cl_err read_computed(const char *out_dir, cl_buf *text, char *err, size_t errlen) {
    int root = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return refuse(err, errlen, "cannot open the output directory");
    int fd = openat(root, COMPUTED_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int saved = errno;
    close(root);
    struct stat st;
    if (fd < 0 && saved == ENOENT)
        return refuse(err, errlen, "computed.json is missing from /iexec_out");
    if (fd < 0 && saved == ELOOP)
        return refuse(err, errlen, "computed.json is a symbolic link (it must be a regular file)");
    if (fd < 0) return refuse(err, errlen, "cannot open computed.json: %s", strerror(saved));
    cl_err e = CL_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        e = refuse(err, errlen, "computed.json is not a regular file");
    } else if (st.st_size > TASKS_COMPUTED_MAX) {
        e = refuse(err, errlen, "computed.json is larger than %d bytes", TASKS_COMPUTED_MAX);
    } else {
        buf_reserve(text, TASKS_COMPUTED_MAX + 1);
        ssize_t n;
        while (text->len <= TASKS_COMPUTED_MAX &&
               (n = read(fd, text->ptr + text->len, TASKS_COMPUTED_MAX + 1 - text->len)) > 0)
            text->len += (size_t)n;
        if (text->len > TASKS_COMPUTED_MAX)
            e = refuse(err, errlen, "computed.json is larger than %d bytes", TASKS_COMPUTED_MAX);
    }
    close(fd);
    return e;
}

cl_err tasks_result_compute(const char *out_dir, tasks_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (err && errlen) err[0] = 0;
    cl_buf text = CL_BUF_INIT;
    char *det = NULL, *cb = NULL;
    cl_err e = read_computed(out_dir, &text, err, errlen);
    if (e == CL_OK) e = tasks_computed_parse(buf_slice(&text), &det, &cb, err, errlen);
    if (e == CL_OK && det) e = digest_path(out_dir, det, r->digest, err, errlen);
    if (e == CL_OK && cb) {
        cl_buf bytes = CL_BUF_INIT;
        uint8_t h[32];
        if (hex_decode(&bytes, slice_cstr(cb + 2)) != CL_OK)
            e = refuse(err, errlen, "computed.json: \"%s\" is not hex", CALLBACK_KEY);
        crypto_keccak256(buf_slice(&bytes), h);
        if (e == CL_OK) digest_hex(h, r->digest);
        buf_free(&bytes);
        r->callback = true;
    }
    if (e == CL_OK) {
        r->det_path = det;
        det = NULL;
    } else {
        memset(r, 0, sizeof *r);
    }
    free(det);
    free(cb);
    buf_free(&text);
    return e;
}

void tasks_result_free(tasks_result *r) {
    if (!r) return;
    free(r->det_path);
    memset(r, 0, sizeof *r);
}

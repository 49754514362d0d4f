/* kms_crypto.c — the symmetric half of the KMS core: the node root key (file
 * or passphrase mode), wrapping key material at rest under it, the version-1
 * ciphertext blob of Encrypt/Decrypt, and the canonical encryption context.
 * Key specs, material generation and the asymmetric operations live in
 * kms_asym.c. The formats are specified in kms_crypto.h.
 *
 * Why it is shaped this way:
 * - The root key file is created with a no-replace publish (write a staging
 *   file durably, then link() it to the final name): two processes starting on
 *   a fresh data dir must never each keep a different root key, which a plain
 *   rename would allow (the loser's wrapped material would be lost forever).
 * - In passphrase mode the root key is never stored; kms-root.json holds only
 *   the scrypt parameters, the salt and a Check (an HMAC keyed by the root)
 *   so a wrong passphrase is reported as such instead of as a storm of
 *   undecryptable keys later. Parameters read from the file are bounded, so a
 *   tampered file cannot make us allocate gigabytes.
 * - Each blob gets its own AES key, HKDF-derived from the key material and a
 *   random salt, so the GCM nonce space of one key material is never a limit,
 *   and the header plus the context hash are the AAD, so no header byte and no
 *   context pair can change without the tag failing.
 * - Every key, derived key and plaintext temporary is cleansed once used;
 *   failed opens zero what they wrote so unauthenticated plaintext never
 *   escapes. */
#include "kms/kms_crypto.h"

#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_FILE "kms-root.key"
#define ROOT_JSON "kms-root.json"
#define ROOT_CHECK_LABEL "cloister/kms/root-check/v1"
#define ROOT_SALT_LEN 16
#define ROOT_SCRYPT_N 32768
#define ROOT_SCRYPT_R 8
#define ROOT_SCRYPT_P 1
#define ROOT_MAX_SCRYPT_N (1u << 20) /* bounds for parameters read back from disk */
#define ROOT_MAX_SCRYPT_R 32
#define ROOT_MAX_SCRYPT_P 16
#define PASSPHRASE_MAX 4096

#define WRAP_LABEL "cloister/kms/material/v1"
#define WRAP_IV_LEN CRYPTO_GCM_IV_LEN
#define WRAP_OVERHEAD (WRAP_IV_LEN + CRYPTO_GCM_TAG_LEN)
#define WRAP_MAX_MATERIAL 65536

#define BLOB_VERSION 1
#define BLOB_INFO "cloister/kms/blob/v1"
#define BLOB_ID_OFF 1
#define BLOB_VER_OFF 37
#define BLOB_SALT_OFF 41
#define BLOB_SALT_LEN 16
#define BLOB_IV_OFF 57
#define BLOB_AAD_LEN (KMS_BLOB_HEADER_LEN + CRYPTO_SHA256_LEN)

void kms_set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- root key: files ---- */

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static cl_err fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return CL_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? CL_OK : CL_ERR_IO;
}

/* Publishes data at dir/name (0600) only if nothing is there yet: the bytes are
 * written durably to a staging name, then hard-linked to the final name, which
 * fails with EEXIST when another process got there first (CL_ERR_EXISTS). */
static cl_err publish_new_file(const char *dir, const char *name, cl_slice data) {
    char *path = cl_sprintf("%s/%s", dir, name);
    char *staging = cl_sprintf("%s.new.%ld", path, (long)getpid());
    cl_err e = file_write_atomic(staging, data, 0600);
    if (e == CL_OK && link(staging, path) != 0) e = errno == EEXIST ? CL_ERR_EXISTS : CL_ERR_IO;
    int saved = errno;
    unlink(staging);
    if (e == CL_OK) e = fsync_dir(dir), saved = errno;
    free(staging);
    free(path);
    errno = saved; /* for the caller's message */
    return e;
}

/* Reads a small file whole into a buffer reserved up front, so it is never
 * reallocated (a realloc would leave an uncleansed copy of a secret behind). */
static cl_err read_small(const char *path, cl_buf *out, size_t max) {
    buf_reserve(out, max + 8192);
    return file_read_all(path, out, max);
}

/* After another process published the file we were creating: read it on the
 * first round; a second loss means it keeps vanishing, which we do not chase. */
static cl_err lost_race(int round, const char *path, char *err, size_t errlen) {
    if (round == 0) return CL_OK;
    kms_set_err(err, errlen, "%s keeps appearing and disappearing: is another process removing it?",
                path);
    return CL_ERR_CONFLICT;
}

static cl_err keys_dir_ready(const char *dir, char *err, size_t errlen) {
    struct stat st;
    if (dir_ensure(dir, 0700) != CL_OK || stat(dir, &st) != 0) {
        kms_set_err(err, errlen, "cannot create the keys directory %s: %s", dir, strerror(errno));
        return CL_ERR_IO;
    }
    if ((st.st_mode & 077) && chmod(dir, 0700) != 0) {
        kms_set_err(err, errlen, "cannot make %s private (chmod 0700): %s", dir, strerror(errno));
        return CL_ERR_IO;
    }
    return CL_OK;
}

/* ---- root key: file mode ---- */

static cl_err root_file_read(const char *path, kms_root_key *out, char *err, size_t errlen) {
    cl_buf b = CL_BUF_INIT;
    cl_err e = read_small(path, &b, 64);
    if (e == CL_OK && b.len != KMS_ROOT_KEY_LEN) {
        kms_set_err(err, errlen, "%s is %zu bytes, not %d: the KMS root key file is damaged", path,
                    b.len, KMS_ROOT_KEY_LEN);
        e = CL_ERR_INVALID;
    } else if (e == CL_ERR_TOO_LARGE) {
        kms_set_err(err, errlen, "%s is too large: the KMS root key file is damaged", path);
        e = CL_ERR_INVALID;
    } else if (e != CL_OK && e != CL_ERR_NOT_FOUND) {
        kms_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    }
    if (e == CL_OK) memcpy(out->k, b.ptr, KMS_ROOT_KEY_LEN);
    buf_free_secret(&b);
    return e;
}

static cl_err root_file_mode(const char *dir, kms_root_key *out, char *err, size_t errlen) {
    char *path = cl_sprintf("%s/%s", dir, ROOT_FILE);
    char *json = cl_sprintf("%s/%s", dir, ROOT_JSON);
    cl_err e = CL_OK;
    if (file_exists(json)) {
        kms_set_err(err, errlen,
                    "the KMS root key in %s is passphrase-protected (%s exists): start with the "
                    "passphrase file",
                    dir, ROOT_JSON);
        e = CL_ERR_CONFLICT;
    }
    /* Two rounds: if another process publishes first, read its key. */
    for (int round = 0; e == CL_OK && round < 2; round++) {
        e = root_file_read(path, out, err, errlen);
        if (e != CL_ERR_NOT_FOUND) break;
        uint8_t k[KMS_ROOT_KEY_LEN];
        crypto_random(k, sizeof k);
        e = publish_new_file(dir, ROOT_FILE, slice_of(k, sizeof k));
        if (e == CL_OK) memcpy(out->k, k, sizeof k);
        cl_cleanse(k, sizeof k);
        if (e == CL_ERR_IO) kms_set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (e != CL_ERR_EXISTS) break;
        e = lost_race(round, path, err, errlen); /* read theirs */
    }
    free(json);
    free(path);
    return e;
}

/* ---- root key: passphrase mode ---- */

typedef struct {
    uint64_t n, r, p;
    uint8_t salt[ROOT_SALT_LEN];
    uint8_t check[CRYPTO_SHA256_LEN];
} root_params;

static cl_err root_derive(cl_slice pass, const root_params *pp, kms_root_key *out) {
    /* OpenSSL refuses to allocate more than maxmem; scrypt needs
     * 128 * r * (N + 2) bytes for V and 128 * r * p for B. */
    uint64_t maxmem = 128 * pp->r * (pp->n + 2) + 128 * pp->r * pp->p + 65536;
    int ok = EVP_PBE_scrypt((const char *)pass.ptr, pass.len, pp->salt, sizeof pp->salt, pp->n,
                            pp->r, pp->p, maxmem, out->k, KMS_ROOT_KEY_LEN);
    return ok == 1 ? CL_OK : CL_ERR_CRYPTO;
}

static void root_check(const kms_root_key *root, uint8_t out[CRYPTO_SHA256_LEN]) {
    crypto_hmac_sha256(slice_of(root->k, KMS_ROOT_KEY_LEN), slice_cstr(ROOT_CHECK_LABEL), out);
}

static bool json_u64(const json_t *o, const char *name, uint64_t lo, uint64_t hi, uint64_t *out) {
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v)) return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < lo || (uint64_t)i > hi) return false;
    *out = (uint64_t)i;
    return true;
}

static bool json_b64(const json_t *o, const char *name, uint8_t *out, size_t len) {
    cl_buf b = CL_BUF_INIT;
    const json_t *v = json_object_get(o, name);
    bool ok = json_is_string(v) &&
              base64_decode(&b, slice_of(json_string_value(v), json_string_length(v))) == CL_OK &&
              b.len == len;
    if (ok) memcpy(out, b.ptr, len);
    buf_free(&b);
    return ok;
}

static cl_err root_params_parse(cl_slice text, root_params *pp) {
    json_t *o = json_loadb((const char *)text.ptr, text.len, 0, NULL);
    const char *kdf = json_string_value(json_object_get(o, "Kdf"));
    uint64_t version = 0;
    bool ok = json_is_object(o) && json_u64(o, "Version", 1, 1, &version) && kdf &&
              strcmp(kdf, "scrypt") == 0 && json_u64(o, "N", 2, ROOT_MAX_SCRYPT_N, &pp->n) &&
              (pp->n & (pp->n - 1)) == 0 && json_u64(o, "r", 1, ROOT_MAX_SCRYPT_R, &pp->r) &&
              json_u64(o, "p", 1, ROOT_MAX_SCRYPT_P, &pp->p) &&
              json_b64(o, "Salt", pp->salt, sizeof pp->salt) &&
              json_b64(o, "Check", pp->check, sizeof pp->check);
    json_decref(o);
    return ok ? CL_OK : CL_ERR_INVALID;
}

static char *root_params_format(const root_params *pp) {
    cl_buf salt = CL_BUF_INIT, check = CL_BUF_INIT;
    base64_encode(&salt, slice_of(pp->salt, sizeof pp->salt));
    base64_encode(&check, slice_of(pp->check, sizeof pp->check));
    json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:s, s:s}", "Version", 1, "Kdf", "scrypt", "N",
                          (json_int_t)pp->n, "r", (json_int_t)pp->r, "p", (json_int_t)pp->p, "Salt",
                          buf_cstr(&salt), "Check", buf_cstr(&check));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    buf_free(&salt);
    buf_free(&check);
    if (!text) abort(); /* jansson only fails on allocation */
    char *withnl = cl_sprintf("%s\n", text);
    free(text);
    return withnl;
}

/* Loads the passphrase: the whole file minus one trailing newline. */
static cl_err passphrase_read(const char *path, cl_buf *pass, char *err, size_t errlen) {
    cl_err e = read_small(path, pass, PASSPHRASE_MAX);
    if (e == CL_ERR_TOO_LARGE) {
        kms_set_err(err, errlen, "the passphrase file %s is over %d bytes", path, PASSPHRASE_MAX);
        return CL_ERR_INVALID;
    }
    if (e != CL_OK) {
        kms_set_err(err, errlen, "cannot read the passphrase file %s: %s", path, strerror(errno));
        return e;
    }
    if (pass->len && pass->ptr[pass->len - 1] == '\n') pass->len--;
    if (pass->len == 0) {
        kms_set_err(err, errlen, "the passphrase file %s is empty", path);
        return CL_ERR_INVALID;
    }
    return CL_OK;
}

/* Reads kms-root.json and checks the passphrase against it. */
static cl_err root_json_load(const char *path, cl_slice pass, kms_root_key *out, char *err,
                             size_t errlen) {
    cl_buf text = CL_BUF_INIT;
    root_params pp;
    cl_err e = read_small(path, &text, 4096);
    if (e == CL_OK && root_params_parse(buf_slice(&text), &pp) != CL_OK) {
        kms_set_err(err, errlen, "%s is not a valid KMS root key description (Version 1, scrypt)",
                    path);
        e = CL_ERR_INVALID;
    } else if (e != CL_OK && e != CL_ERR_NOT_FOUND) {
        kms_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
    }
    buf_free(&text);
    if (e != CL_OK) return e;
    if (root_derive(pass, &pp, out) != CL_OK) {
        kms_set_err(err, errlen, "scrypt failed for the parameters in %s", path);
        return CL_ERR_CRYPTO;
    }
    uint8_t check[CRYPTO_SHA256_LEN];
    root_check(out, check);
    bool match = cl_ct_eq(check, pp.check, sizeof check);
    cl_cleanse(check, sizeof check);
    if (!match) {
        cl_cleanse(out->k, sizeof out->k);
        kms_set_err(err, errlen, "wrong KMS root passphrase: it does not match the Check in %s",
                    path);
        return CL_ERR_DENIED;
    }
    return CL_OK;
}

static cl_err root_json_create(const char *dir, cl_slice pass, kms_root_key *out, char *err,
                               size_t errlen) {
    root_params pp = {.n = ROOT_SCRYPT_N, .r = ROOT_SCRYPT_R, .p = ROOT_SCRYPT_P};
    crypto_random(pp.salt, sizeof pp.salt);
    if (root_derive(pass, &pp, out) != CL_OK) {
        kms_set_err(err, errlen, "scrypt failed while creating the KMS root key");
        return CL_ERR_CRYPTO;
    }
    root_check(out, pp.check);
    char *text = root_params_format(&pp);
    cl_err e = publish_new_file(dir, ROOT_JSON, slice_cstr(text));
    free(text);
    if (e != CL_OK) cl_cleanse(out->k, sizeof out->k);
    if (e == CL_ERR_IO)
        kms_set_err(err, errlen, "cannot write %s/%s: %s", dir, ROOT_JSON, strerror(errno));
    return e;
}

static cl_err root_passphrase_mode(const char *dir, const char *passfile, kms_root_key *out,
                                   char *err, size_t errlen) {
    char *path = cl_sprintf("%s/%s", dir, ROOT_JSON);
    char *keyfile = cl_sprintf("%s/%s", dir, ROOT_FILE);
    cl_buf pass = CL_BUF_INIT;
    cl_err e = CL_OK;
    if (file_exists(keyfile)) {
        kms_set_err(err, errlen,
                    "the KMS root key in %s is a plain key file (%s), not passphrase-protected: "
                    "start without the passphrase file",
                    dir, ROOT_FILE);
        e = CL_ERR_CONFLICT;
    }
    if (e == CL_OK) e = passphrase_read(passfile, &pass, err, errlen);
    /* Two rounds: if another process publishes first, check against its file. */
    for (int round = 0; e == CL_OK && round < 2; round++) {
        e = root_json_load(path, buf_slice(&pass), out, err, errlen);
        if (e != CL_ERR_NOT_FOUND) break;
        e = root_json_create(dir, buf_slice(&pass), out, err, errlen);
        if (e != CL_ERR_EXISTS) break;
        e = lost_race(round, path, err, errlen); /* check against theirs */
    }
    buf_free_secret(&pass);
    free(keyfile);
    free(path);
    return e;
}

cl_err kms_root_key_load(const char *keys_dir, const char *passphrase_file, kms_root_key *out,
                         char *err, size_t errlen) {
    kms_set_err(err, errlen, "%s", "");
    CL_TRY(keys_dir_ready(keys_dir, err, errlen));
    cl_err e = passphrase_file ? root_passphrase_mode(keys_dir, passphrase_file, out, err, errlen)
                               : root_file_mode(keys_dir, out, err, errlen);
    if (e != CL_OK) cl_cleanse(out->k, sizeof out->k);
    return e;
}

/* ---- material at rest ---- */

/* aad = "cloister/kms/material/v1" || 0x00 || key ARN || 0x00 || BE32(version) */
static void wrap_aad(const char *arn, uint32_t version, cl_buf *aad) {
    uint8_t v[4];
    put_be32(v, version);
    buf_append(aad, WRAP_LABEL, sizeof WRAP_LABEL - 1);
    buf_append_byte(aad, 0);
    buf_append_cstr(aad, arn);
    buf_append_byte(aad, 0);
    buf_append(aad, v, sizeof v);
}

cl_err kms_material_wrap(const kms_root_key *root, const char *key_arn, uint32_t version,
                         cl_slice material, cl_buf *out) {
    if (!key_arn || material.len == 0 || material.len > WRAP_MAX_MATERIAL) return CL_ERR_INVALID;
    cl_buf aad = CL_BUF_INIT;
    wrap_aad(key_arn, version, &aad);
    buf_reserve(out, WRAP_OVERHEAD + material.len);
    uint8_t *iv = out->ptr + out->len;
    crypto_random(iv, WRAP_IV_LEN);
    cl_err e = crypto_gcm_seal(root->k, iv, buf_slice(&aad), material, iv + WRAP_IV_LEN);
    if (e == CL_OK) out->len += WRAP_OVERHEAD + material.len;
    buf_free(&aad);
    return e;
}

cl_err kms_material_unwrap(const kms_root_key *root, const char *key_arn, uint32_t version,
                           cl_slice wrapped, cl_buf *out) {
    if (!key_arn) return CL_ERR_INVALID;
    if (wrapped.len <= WRAP_OVERHEAD || wrapped.len > WRAP_OVERHEAD + WRAP_MAX_MATERIAL)
        return CL_ERR_CRYPTO;
    cl_buf aad = CL_BUF_INIT;
    wrap_aad(key_arn, version, &aad);
    size_t n = wrapped.len - WRAP_OVERHEAD;
    buf_reserve(out, n);
    /* crypto_gcm_open zeroes what it wrote if the tag fails. */
    cl_err e = crypto_gcm_open(root->k, wrapped.ptr, buf_slice(&aad),
                               slice_sub(wrapped, WRAP_IV_LEN, wrapped.len - WRAP_IV_LEN),
                               out->ptr + out->len);
    if (e == CL_OK) out->len += n;
    buf_free(&aad);
    return e;
}

/* ---- encryption context ---- */

typedef struct {
    cl_slice key, value;
} ctx_pair;

static int ctx_pair_cmp(const void *a, const void *b) {
    cl_slice x = ((const ctx_pair *)a)->key, y = ((const ctx_pair *)b)->key;
    size_t n = x.len < y.len ? x.len : y.len;
    int c = n ? memcmp(x.ptr, y.ptr, n) : 0;
    if (c) return c;
    return x.len < y.len ? -1 : x.len > y.len;
}

static void append_lv(cl_buf *out, cl_slice s) {
    uint8_t len[4];
    put_be32(len, (uint32_t)s.len);
    buf_append(out, len, sizeof len);
    buf_append_slice(out, s);
}

cl_err kms_context_canonical(const json_t *ctx, cl_buf *out) {
    if (!ctx) return CL_OK;
    if (!json_is_object(ctx)) return CL_ERR_INVALID;
    size_t n = json_object_size(ctx), i = 0;
    ctx_pair *pairs = cl_calloc(n ? n : 1, sizeof *pairs);
    const char *key;
    size_t klen;
    json_t *value;
    cl_err e = CL_OK;
    /* jansson's iteration API takes a non-const object; it is only read here. */
    json_object_keylen_foreach((json_t *)ctx, key, klen, value) {
        if (!json_is_string(value) || i >= n) {
            e = CL_ERR_INVALID;
            break;
        }
        size_t vlen = json_string_length(value);
        if (klen > UINT32_MAX || vlen > UINT32_MAX) {
            e = CL_ERR_TOO_LARGE;
            break;
        }
        pairs[i].key = slice_of(key, klen);
        pairs[i].value = slice_of(json_string_value(value), vlen);
        i++;
    }
    if (e == CL_OK) {
        qsort(pairs, i, sizeof *pairs, ctx_pair_cmp);
        for (size_t j = 0; j < i; j++) {
            append_lv(out, pairs[j].key);
            append_lv(out, pairs[j].value);
        }
    }
    free(pairs);
    return e;
}

static cl_err context_hash(const json_t *ctx, uint8_t out[CRYPTO_SHA256_LEN]) {
    cl_buf canon = CL_BUF_INIT;
    cl_err e = kms_context_canonical(ctx, &canon);
    if (e == CL_OK) crypto_sha256(buf_slice(&canon), out);
    buf_free(&canon);
    return e;
}

/* ---- ciphertext blobs ---- */

static bool is_lower_uuid(const uint8_t *p) {
    for (size_t i = 0; i < KMS_KEY_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
        if (dash ? p[i] != '-' : !hex) return false;
    }
    return true;
}

/* k = HKDF-SHA256(ikm = material, salt = salt, info = "cloister/kms/blob/v1") */
static cl_err blob_key(const uint8_t material[32], const uint8_t *salt,
                       uint8_t out[CRYPTO_GCM_KEY_LEN]) {
    return crypto_hkdf_sha256(slice_of(material, 32), slice_of(salt, BLOB_SALT_LEN),
                              slice_of(BLOB_INFO, sizeof BLOB_INFO - 1), out, CRYPTO_GCM_KEY_LEN);
}

/* aad = header (69 bytes) || SHA-256(canonical context) */
static cl_err blob_aad(const uint8_t *header, const json_t *ctx, uint8_t aad[BLOB_AAD_LEN]) {
    memcpy(aad, header, KMS_BLOB_HEADER_LEN);
    return context_hash(ctx, aad + KMS_BLOB_HEADER_LEN);
}

cl_err kms_blob_parse(cl_slice blob, kms_blob *out) {
    if (blob.len < KMS_BLOB_OVERHEAD || blob.len > KMS_BLOB_OVERHEAD + KMS_MAX_PLAINTEXT)
        return CL_ERR_INVALID;
    const uint8_t *p = blob.ptr;
    if (p[0] != BLOB_VERSION || !is_lower_uuid(p + BLOB_ID_OFF)) return CL_ERR_INVALID;
    uint32_t version = get_be32(p + BLOB_VER_OFF);
    if (version == 0) return CL_ERR_INVALID;
    memcpy(out->key_id, p + BLOB_ID_OFF, KMS_KEY_ID_LEN);
    out->key_id[KMS_KEY_ID_LEN] = 0;
    out->version = version;
    out->whole = blob;
    return CL_OK;
}

cl_err kms_blob_seal(const char *key_id, uint32_t version, const uint8_t material[32],
                     const json_t *ctx, cl_slice plain, cl_buf *out) {
    if (!key_id || strlen(key_id) != KMS_KEY_ID_LEN || !is_lower_uuid((const uint8_t *)key_id) ||
        version == 0)
        return CL_ERR_INVALID;
    if (plain.len > KMS_MAX_PLAINTEXT) return CL_ERR_TOO_LARGE;
    uint8_t header[KMS_BLOB_HEADER_LEN], aad[BLOB_AAD_LEN], k[CRYPTO_GCM_KEY_LEN];
    header[0] = BLOB_VERSION;
    memcpy(header + BLOB_ID_OFF, key_id, KMS_KEY_ID_LEN);
    put_be32(header + BLOB_VER_OFF, version);
    crypto_random(header + BLOB_SALT_OFF, BLOB_SALT_LEN + CRYPTO_GCM_IV_LEN);
    CL_TRY(blob_aad(header, ctx, aad));
    cl_err e = blob_key(material, header + BLOB_SALT_OFF, k);
    if (e == CL_OK) {
        buf_reserve(out, KMS_BLOB_OVERHEAD + plain.len);
        uint8_t *dst = out->ptr + out->len;
        memcpy(dst, header, sizeof header);
        e = crypto_gcm_seal(k, header + BLOB_IV_OFF, slice_of(aad, sizeof aad), plain,
                            dst + KMS_BLOB_HEADER_LEN);
        if (e == CL_OK) out->len += KMS_BLOB_OVERHEAD + plain.len;
    }
    cl_cleanse(k, sizeof k);
    return e;
}

cl_err kms_blob_open(const kms_blob *b, const uint8_t material[32], const json_t *ctx,
                     cl_buf *plain) {
    cl_slice w = b->whole;
    if (!w.ptr || w.len < KMS_BLOB_OVERHEAD || w.len > KMS_BLOB_OVERHEAD + KMS_MAX_PLAINTEXT)
        return CL_ERR_INVALID;
    uint8_t aad[BLOB_AAD_LEN], k[CRYPTO_GCM_KEY_LEN];
    CL_TRY(blob_aad(w.ptr, ctx, aad));
    cl_err e = blob_key(material, w.ptr + BLOB_SALT_OFF, k);
    if (e == CL_OK) {
        size_t n = w.len - KMS_BLOB_OVERHEAD;
        buf_reserve(plain, n);
        /* crypto_gcm_open zeroes what it wrote if the tag fails; len moves only on success. */
        e = crypto_gcm_open(k, w.ptr + BLOB_IV_OFF, slice_of(aad, sizeof aad),
                            slice_sub(w, KMS_BLOB_HEADER_LEN, w.len - KMS_BLOB_HEADER_LEN),
                            plain->ptr + plain->len);
        if (e == CL_OK) plain->len += n;
    }
    cl_cleanse(k, sizeof k);
    return e;
}

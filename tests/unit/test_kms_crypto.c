/* test_kms_crypto.c — the KMS cryptographic core (src/kms/kms_crypto.h).
 * Root key: file mode (0600 key, 0700 dir, stable across reloads, damaged
 * file refused), passphrase mode (kms-root.json as specified, recomputed here
 * with OpenSSL scrypt + HMAC; same passphrase -> same key, wrong one -> a clear
 * error; mixing the modes -> a clear error). Material wrapping and blobs are
 * also opened here independently (HKDF + AES-GCM straight from the header's
 * spec), then attacked: other ARN/version/material/context, every single bit
 * flipped, every truncation. Asymmetric: every spec x every signing algorithm
 * in RAW and DIGEST mode, bad messages and signatures, unsupported algorithms,
 * the public key parsed and signatures checked with OpenSSL directly, and
 * RSA-OAEP both ways against OpenSSL. Asymmetric material is generated once
 * per run (RSA 4096 key generation is slow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "kms/kms_crypto.h"

#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_ID "1234abcd-12ab-34cd-56ef-1234567890ab"
#define KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/" KEY_ID

static char root[64];
static cl_buf materials[KMS_SPEC_COUNT]; /* asymmetric specs, generated once */

/* ---- helpers ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *path_in(const char *rel) {
    return cl_sprintf("%s/%s", root, rel);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static mode_t mode_of(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static size_t dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static json_t *ctx_of(const char *json) {
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    return j;
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 31);
}

static const uint8_t MATERIAL[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* ---- fixtures ---- */

static int setup(void **s) {
    (void)s;
    strcpy(root, "/tmp/cl-kmsc-XXXXXX");
    if (!mkdtemp(root)) return -1;
    double t0 = now_s();
    for (int i = KMS_SPEC_RSA_2048; i < KMS_SPEC_COUNT; i++) {
        materials[i] = CL_BUF_INIT;
        if (kms_material_generate((kms_key_spec)i, &materials[i]) != CL_OK) return -1;
    }
    printf("test_kms_crypto: generated RSA 2048/3072/4096 + P-256/P-384 in %.2f s\n", now_s() - t0);
    return 0;
}

static int teardown(void **s) {
    (void)s;
    for (int i = 0; i < KMS_SPEC_COUNT; i++)
        buf_free_secret(&materials[i]);
    char *cmd = cl_sprintf("rm -rf %s", root);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* ---- root key ---- */

static void test_root_file_mode(void **s) {
    (void)s;
    char *dir = path_in("file/keys"), *key = path_in("file/keys/kms-root.key");
    kms_root_key k1, k2;
    char err[256];
    assert_int_equal(kms_root_key_load(dir, NULL, &k1, err, sizeof err), CL_OK);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(key), 0600);
    assert_int_equal(dir_entries(dir), 1); /* no staging file left behind */
    cl_buf disk = CL_BUF_INIT;
    assert_int_equal(file_read_all(key, &disk, 100), CL_OK);
    assert_int_equal(disk.len, KMS_ROOT_KEY_LEN);
    assert_memory_equal(disk.ptr, k1.k, KMS_ROOT_KEY_LEN);
    buf_free_secret(&disk);
    uint8_t zero[KMS_ROOT_KEY_LEN] = {0};
    assert_memory_not_equal(k1.k, zero, sizeof zero);

    assert_int_equal(kms_root_key_load(dir, NULL, &k2, err, sizeof err), CL_OK);
    assert_memory_equal(k1.k, k2.k, KMS_ROOT_KEY_LEN);

    /* A loose keys dir is tightened to 0700. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(kms_root_key_load(dir, NULL, &k2, err, sizeof err), CL_OK);
    assert_int_equal(mode_of(dir), 0700);

    /* A damaged key file is refused, not replaced. */
    char *dir2 = path_in("damaged/keys"), *key2 = path_in("damaged/keys/kms-root.key");
    assert_int_equal(dir_ensure(dir2, 0700), CL_OK);
    write_file(key2, "short");
    assert_int_equal(kms_root_key_load(dir2, NULL, &k2, err, sizeof err), CL_ERR_INVALID);
    assert_non_null(strstr(err, "damaged"));
    assert_memory_equal(k2.k, zero, sizeof zero); /* cleansed on failure */
    free(dir2);
    free(key2);
    free(dir);
    free(key);
    cl_cleanse(&k1, sizeof k1);
    cl_cleanse(&k2, sizeof k2);
}

static void test_root_passphrase_mode(void **s) {
    (void)s;
    char *dir = path_in("pp/keys"), *json = path_in("pp/keys/kms-root.json");
    char *pass = path_in("pass"), *pass_nonl = path_in("pass-nonl"), *wrong = path_in("wrong");
    char *empty = path_in("empty"), *missing = path_in("missing");
    write_file(pass, "correct horse battery staple\n");
    write_file(pass_nonl, "correct horse battery staple");
    write_file(wrong, "correct horse battery stapler\n");
    write_file(empty, "\n");
    kms_root_key k1, k2;
    char err[256];

    double t0 = now_s();
    assert_int_equal(kms_root_key_load(dir, pass, &k1, err, sizeof err), CL_OK);
    double t_create = now_s() - t0;
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(json), 0600);
    assert_int_equal(dir_entries(dir), 1);

    /* The file is exactly as specified; recompute the key and Check from it. */
    json_t *j = json_load_file(json, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "Version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "Kdf")), "scrypt");
    assert_int_equal(json_integer_value(json_object_get(j, "N")), 32768);
    assert_int_equal(json_integer_value(json_object_get(j, "r")), 8);
    assert_int_equal(json_integer_value(json_object_get(j, "p")), 1);
    cl_buf salt = CL_BUF_INIT, check = CL_BUF_INIT;
    assert_int_equal(
        base64_decode(&salt, slice_cstr(json_string_value(json_object_get(j, "Salt")))), CL_OK);
    assert_int_equal(
        base64_decode(&check, slice_cstr(json_string_value(json_object_get(j, "Check")))), CL_OK);
    assert_int_equal(salt.len, 16);
    assert_int_equal(check.len, 32);
    uint8_t want[32], mac[32];
    const char *pw = "correct horse battery staple";
    assert_int_equal(EVP_PBE_scrypt(pw, strlen(pw), salt.ptr, salt.len, 32768, 8, 1,
                                    64 * 1024 * 1024, want, sizeof want),
                     1);
    assert_memory_equal(k1.k, want, 32);
    crypto_hmac_sha256(slice_of(want, 32), slice_cstr("cloister/kms/root-check/v1"), mac);
    assert_memory_equal(check.ptr, mac, 32);
    json_decref(j);
    buf_free(&salt);
    buf_free(&check);

    /* Reload: same key, with or without the trailing newline. */
    t0 = now_s();
    assert_int_equal(kms_root_key_load(dir, pass, &k2, err, sizeof err), CL_OK);
    double t_load = now_s() - t0;
    assert_memory_equal(k1.k, k2.k, KMS_ROOT_KEY_LEN);
    assert_int_equal(kms_root_key_load(dir, pass_nonl, &k2, err, sizeof err), CL_OK);
    assert_memory_equal(k1.k, k2.k, KMS_ROOT_KEY_LEN);
    printf("test_kms_crypto: passphrase root key: create %.3f s, load %.3f s (scrypt N=32768)\n",
           t_create, t_load);

    /* Wrong passphrase: a clear error, and no key handed out. */
    uint8_t zero[KMS_ROOT_KEY_LEN] = {0};
    assert_int_equal(kms_root_key_load(dir, wrong, &k2, err, sizeof err), CL_ERR_DENIED);
    assert_non_null(strstr(err, "wrong KMS root passphrase"));
    assert_memory_equal(k2.k, zero, sizeof zero);
    assert_int_not_equal(kms_root_key_load(dir, empty, &k2, err, sizeof err), CL_OK);
    assert_non_null(strstr(err, "empty"));
    assert_int_not_equal(kms_root_key_load(dir, missing, &k2, err, sizeof err), CL_OK);
    assert_non_null(strstr(err, "passphrase file"));

    /* Mixing modes, both ways. */
    assert_int_equal(kms_root_key_load(dir, NULL, &k2, err, sizeof err), CL_ERR_CONFLICT);
    assert_non_null(strstr(err, "passphrase-protected"));
    assert_int_equal(dir_entries(dir), 1); /* no key file was made next to the json */
    char *fdir = path_in("mix/keys");
    assert_int_equal(kms_root_key_load(fdir, NULL, &k2, err, sizeof err), CL_OK);
    assert_int_equal(kms_root_key_load(fdir, pass, &k2, err, sizeof err), CL_ERR_CONFLICT);
    assert_non_null(strstr(err, "not passphrase-protected"));
    assert_int_equal(dir_entries(fdir), 1);

    /* A tampered parameter file is refused before any scrypt runs. */
    char *tdir = path_in("tamper/keys"), *tjson = path_in("tamper/keys/kms-root.json");
    assert_int_equal(dir_ensure(tdir, 0700), CL_OK);
    write_file(tjson, "{\"Version\":1,\"Kdf\":\"scrypt\",\"N\":1073741824,\"r\":8,\"p\":1,"
                      "\"Salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"Check\":"
                      "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}");
    assert_int_equal(kms_root_key_load(tdir, pass, &k2, err, sizeof err), CL_ERR_INVALID);
    assert_non_null(strstr(err, "not a valid"));

    free(tdir);
    free(tjson);
    free(fdir);
    free(dir);
    free(json);
    free(pass);
    free(pass_nonl);
    free(wrong);
    free(empty);
    free(missing);
    cl_cleanse(&k1, sizeof k1);
    cl_cleanse(&k2, sizeof k2);
    cl_cleanse(want, sizeof want);
}

/* ---- material wrapping ---- */

static void wrap_aad(const char *arn, uint32_t version, cl_buf *aad) {
    buf_append_cstr(aad, "cloister/kms/material/v1");
    buf_append_byte(aad, 0);
    buf_append_cstr(aad, arn);
    buf_append_byte(aad, 0);
    uint8_t v[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                    (uint8_t)version};
    buf_append(aad, v, 4);
}

static void test_wrap_unwrap(void **s) {
    (void)s;
    kms_root_key rk, other;
    crypto_random(rk.k, sizeof rk.k);
    crypto_random(other.k, sizeof other.k);
    cl_slice material = buf_slice(&materials[KMS_SPEC_ECC_NIST_P256]);
    cl_buf w = CL_BUF_INIT, out = CL_BUF_INIT;
    assert_int_equal(kms_material_wrap(&rk, KEY_ARN, 3, material, &w), CL_OK);
    assert_int_equal(w.len, 12 + material.len + 16);
    assert_int_equal(kms_material_unwrap(&rk, KEY_ARN, 3, buf_slice(&w), &out), CL_OK);
    assert_int_equal(out.len, material.len);
    assert_memory_equal(out.ptr, material.ptr, material.len);
    buf_free_secret(&out);

    /* Independently, per the header: iv || GCM(root, iv, aad, material) || tag. */
    cl_buf aad = CL_BUF_INIT;
    wrap_aad(KEY_ARN, 3, &aad);
    uint8_t *plain = cl_malloc(w.len);
    assert_int_equal(
        crypto_gcm_open(rk.k, w.ptr, buf_slice(&aad), slice_sub(buf_slice(&w), 12, w.len), plain),
        CL_OK);
    assert_memory_equal(plain, material.ptr, material.len);
    cl_cleanse(plain, w.len);
    free(plain);
    buf_free(&aad);

    /* Another ARN, another version, another root key: not authentic. */
    assert_int_equal(kms_material_unwrap(&rk, KEY_ARN "x", 3, buf_slice(&w), &out), CL_ERR_CRYPTO);
    assert_int_equal(kms_material_unwrap(&rk, KEY_ARN, 2, buf_slice(&w), &out), CL_ERR_CRYPTO);
    assert_int_equal(kms_material_unwrap(&rk, KEY_ARN, 4, buf_slice(&w), &out), CL_ERR_CRYPTO);
    assert_int_equal(kms_material_unwrap(&other, KEY_ARN, 3, buf_slice(&w), &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);

    /* Every flipped byte (each of the 8 bits in turn) and every truncation. */
    for (size_t i = 0; i < w.len * 8; i++) {
        w.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(kms_material_unwrap(&rk, KEY_ARN, 3, buf_slice(&w), &out), CL_ERR_CRYPTO);
        w.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t n = 0; n < w.len; n++)
        assert_int_equal(kms_material_unwrap(&rk, KEY_ARN, 3, slice_of(w.ptr, n), &out),
                         CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);

    /* Two wraps of the same material differ (random iv). */
    cl_buf w2 = CL_BUF_INIT;
    assert_int_equal(kms_material_wrap(&rk, KEY_ARN, 3, material, &w2), CL_OK);
    assert_memory_not_equal(w.ptr, w2.ptr, w.len);
    assert_int_equal(kms_material_wrap(&rk, KEY_ARN, 3, slice_of(NULL, 0), &w2), CL_ERR_INVALID);
    buf_free(&w2);
    buf_free(&w);
    buf_free_secret(&out);
    cl_cleanse(&rk, sizeof rk);
}

/* ---- encryption context ---- */

static void test_context_canonical(void **s) {
    (void)s;
    cl_buf a = CL_BUF_INIT, b = CL_BUF_INIT;
    json_t *x = json_object(), *y = json_object();
    json_object_set_new(x, "a", json_string("1"));
    json_object_set_new(x, "b", json_string("2"));
    json_object_set_new(y, "b", json_string("2"));
    json_object_set_new(y, "a", json_string("1"));
    assert_int_equal(kms_context_canonical(x, &a), CL_OK);
    assert_int_equal(kms_context_canonical(y, &b), CL_OK);
    static const uint8_t want[] = {0, 0, 0, 1, 'a', 0, 0, 0, 1, '1',
                                   0, 0, 0, 1, 'b', 0, 0, 0, 1, '2'};
    assert_int_equal(a.len, sizeof want);
    assert_memory_equal(a.ptr, want, sizeof want);
    assert_true(slice_eq(buf_slice(&a), buf_slice(&b)));
    json_decref(x);
    json_decref(y);

    /* Length prefixes keep {"ab":"c"} and {"a":"bc"} apart. */
    buf_clear(&a);
    buf_clear(&b);
    x = ctx_of("{\"ab\":\"c\"}");
    y = ctx_of("{\"a\":\"bc\"}");
    assert_int_equal(kms_context_canonical(x, &a), CL_OK);
    assert_int_equal(kms_context_canonical(y, &b), CL_OK);
    assert_false(slice_eq(buf_slice(&a), buf_slice(&b)));
    json_decref(x);
    json_decref(y);

    /* Bytewise order: "B" < "a" < "aa"; NULL and {} are both empty. */
    buf_clear(&a);
    x = ctx_of("{\"aa\":\"3\",\"a\":\"2\",\"B\":\"1\"}");
    assert_int_equal(kms_context_canonical(x, &a), CL_OK);
    static const uint8_t want2[] = {0, 0, 0, 1,   'B', 0, 0, 0, 1,   '1', 0, 0, 0, 1, 'a', 0,
                                    0, 0, 1, '2', 0,   0, 0, 2, 'a', 'a', 0, 0, 0, 1, '3'};
    assert_int_equal(a.len, sizeof want2);
    assert_memory_equal(a.ptr, want2, sizeof want2);
    json_decref(x);
    buf_clear(&a);
    assert_int_equal(kms_context_canonical(NULL, &a), CL_OK);
    x = json_object();
    assert_int_equal(kms_context_canonical(x, &a), CL_OK);
    assert_int_equal(a.len, 0);
    json_decref(x);

    /* Not an object, or a value that is not a string. */
    x = ctx_of("{\"a\":\"1\",\"b\":2}");
    assert_int_equal(kms_context_canonical(x, &a), CL_ERR_INVALID);
    json_decref(x);
    x = ctx_of("[\"a\"]");
    assert_int_equal(kms_context_canonical(x, &a), CL_ERR_INVALID);
    json_decref(x);
    assert_int_equal(a.len, 0);
    buf_free(&a);
    buf_free(&b);
}

/* ---- ciphertext blobs ---- */

/* Opens a blob straight from the header's specification, without kms_blob_open. */
static bool independent_open(cl_slice blob, const uint8_t material[32], const json_t *ctx,
                             uint8_t *out) {
    cl_buf canon = CL_BUF_INIT;
    assert_int_equal(kms_context_canonical(ctx, &canon), CL_OK);
    uint8_t aad[69 + 32], k[32];
    memcpy(aad, blob.ptr, 69);
    crypto_sha256(buf_slice(&canon), aad + 69);
    buf_free(&canon);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)material, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(blob.ptr + 41), 16),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)"cloister/kms/blob/v1", 20),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
    assert_int_equal(EVP_KDF_derive(kc, k, sizeof k, params), 1);
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    bool ok = crypto_gcm_open(k, blob.ptr + 57, slice_of(aad, sizeof aad),
                              slice_sub(blob, 69, blob.len), out) == CL_OK;
    cl_cleanse(k, sizeof k);
    return ok;
}

static void test_blob_round_trip(void **s) {
    (void)s;
    static const size_t sizes[] = {0, 1, 4096};
    uint8_t *plain = cl_malloc(4097), *indep = cl_malloc(4096);
    json_t *ctx = ctx_of("{\"purpose\":\"test\",\"tenant\":\"acme\"}");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        fill_pattern(plain, n, (uint8_t)i);
        cl_buf blob = CL_BUF_INIT, out = CL_BUF_INIT, again = CL_BUF_INIT;
        assert_int_equal(kms_blob_seal(KEY_ID, 7, MATERIAL, ctx, slice_of(plain, n), &blob), CL_OK);
        assert_int_equal(blob.len, KMS_BLOB_OVERHEAD + n);
        assert_int_equal(blob.ptr[0], 1);
        assert_memory_equal(blob.ptr + 1, KEY_ID, 36);
        assert_int_equal(blob.ptr[37] | blob.ptr[38] | blob.ptr[39], 0);
        assert_int_equal(blob.ptr[40], 7);
        kms_blob b;
        assert_int_equal(kms_blob_parse(buf_slice(&blob), &b), CL_OK);
        assert_string_equal(b.key_id, KEY_ID);
        assert_int_equal(b.version, 7);
        assert_int_equal(kms_blob_open(&b, MATERIAL, ctx, &out), CL_OK);
        assert_int_equal(out.len, n);
        if (n) assert_memory_equal(out.ptr, plain, n);
        assert_true(independent_open(buf_slice(&blob), MATERIAL, ctx, indep));
        if (n) assert_memory_equal(indep, plain, n);
        /* Sealing again gives a different blob (fresh salt and iv). */
        assert_int_equal(kms_blob_seal(KEY_ID, 7, MATERIAL, ctx, slice_of(plain, n), &again),
                         CL_OK);
        assert_memory_not_equal(blob.ptr + 41, again.ptr + 41, 28);
        buf_free(&blob);
        buf_free(&again);
        buf_free_secret(&out);
    }
    /* NULL and {} are the same (empty) context. */
    cl_buf blob = CL_BUF_INIT, out = CL_BUF_INIT;
    json_t *empty = json_object();
    kms_blob b;
    assert_int_equal(kms_blob_seal(KEY_ID, 1, MATERIAL, NULL, slice_of("x", 1), &blob), CL_OK);
    assert_int_equal(kms_blob_parse(buf_slice(&blob), &b), CL_OK);
    assert_int_equal(kms_blob_open(&b, MATERIAL, empty, &out), CL_OK);
    assert_int_equal(out.len, 1);
    json_decref(empty);
    buf_free(&blob);
    buf_free_secret(&out);

    /* Seal refuses what it must not write. */
    assert_int_equal(kms_blob_seal(KEY_ID, 1, MATERIAL, ctx, slice_of(plain, 4097), &blob),
                     CL_ERR_TOO_LARGE);
    assert_int_equal(kms_blob_seal("1234ABCD-12ab-34cd-56ef-1234567890ab", 1, MATERIAL, ctx,
                                   slice_of(plain, 1), &blob),
                     CL_ERR_INVALID);
    assert_int_equal(kms_blob_seal(KEY_ID "0", 1, MATERIAL, ctx, slice_of(plain, 1), &blob),
                     CL_ERR_INVALID);
    assert_int_equal(kms_blob_seal(KEY_ID, 0, MATERIAL, ctx, slice_of(plain, 1), &blob),
                     CL_ERR_INVALID);
    json_t *bad = ctx_of("{\"a\":true}");
    assert_int_equal(kms_blob_seal(KEY_ID, 1, MATERIAL, bad, slice_of(plain, 1), &blob),
                     CL_ERR_INVALID);
    assert_int_equal(blob.len, 0);
    json_decref(bad);
    json_decref(ctx);
    free(plain);
    free(indep);
}

/* Open must fail and leave plain empty. */
static void expect_open_fails(cl_slice blob, const uint8_t material[32], const json_t *ctx) {
    kms_blob b;
    cl_buf out = CL_BUF_INIT;
    if (kms_blob_parse(blob, &b) != CL_OK) return;
    cl_err e = kms_blob_open(&b, material, ctx, &out);
    assert_int_not_equal(e, CL_OK);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void expect_ctx_fails(cl_slice blob, const char *json) {
    json_t *ctx = json ? ctx_of(json) : NULL;
    kms_blob b;
    cl_buf out = CL_BUF_INIT;
    assert_int_equal(kms_blob_parse(blob, &b), CL_OK);
    assert_int_equal(kms_blob_open(&b, MATERIAL, ctx, &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    json_decref(ctx);
}

static void test_blob_open_failures(void **s) {
    (void)s;
    json_t *ctx = ctx_of("{\"purpose\":\"test\",\"tenant\":\"acme\"}");
    cl_buf blob = CL_BUF_INIT, out = CL_BUF_INIT;
    assert_int_equal(kms_blob_seal(KEY_ID, 1, MATERIAL, ctx, slice_of("secret", 6), &blob), CL_OK);
    cl_slice bs = buf_slice(&blob);

    uint8_t other[32];
    memcpy(other, MATERIAL, 32);
    other[31] ^= 1;
    kms_blob b;
    assert_int_equal(kms_blob_parse(bs, &b), CL_OK);
    assert_int_equal(kms_blob_open(&b, other, ctx, &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);

    expect_ctx_fails(bs, "{\"purpose\":\"test\",\"tenant\":\"acme\",\"x\":\"y\"}"); /* extra */
    expect_ctx_fails(bs, "{\"purpose\":\"test\",\"tenant\":\"acmf\"}");             /* value */
    expect_ctx_fails(bs, "{\"purpose\":\"test\"}");                                 /* missing */
    expect_ctx_fails(bs, "{\"Purpose\":\"test\",\"tenant\":\"acme\"}");             /* key case */
    expect_ctx_fails(bs, "{\"purpose\":\"test\",\"tenant\":\"acme \"}");            /* space */
    expect_ctx_fails(bs, "{}");
    expect_ctx_fails(bs, NULL);

    /* Same pairs in another order: fine. */
    json_t *swapped = ctx_of("{\"tenant\":\"acme\",\"purpose\":\"test\"}");
    assert_int_equal(kms_blob_open(&b, MATERIAL, swapped, &out), CL_OK);
    assert_int_equal(out.len, 6);
    json_decref(swapped);
    buf_free_secret(&out);

    /* A context with a non-string value is an error, plain untouched. */
    json_t *bad = ctx_of("{\"purpose\":1}");
    assert_int_equal(kms_blob_open(&b, MATERIAL, bad, &out), CL_ERR_INVALID);
    assert_int_equal(out.len, 0);
    json_decref(bad);

    buf_free(&blob);
    json_decref(ctx);
}

static void test_blob_bit_flips_and_truncation(void **s) {
    (void)s;
    json_t *ctx = ctx_of("{\"k\":\"v\"}");
    cl_buf blob = CL_BUF_INIT;
    assert_int_equal(kms_blob_seal(KEY_ID, 2, MATERIAL, ctx, slice_of("tiny!", 5), &blob), CL_OK);
    size_t opened = 0;
    for (size_t i = 0; i < blob.len * 8; i++) {
        blob.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
        kms_blob b;
        if (kms_blob_parse(buf_slice(&blob), &b) == CL_OK) opened++;
        expect_open_fails(buf_slice(&blob), MATERIAL, ctx);
        blob.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* The flips that got past parse (salt, iv, ciphertext, tag, most of the
     * key id's hex and the version) were all caught by open. */
    assert_true(opened > blob.len * 4);
    for (size_t n = 0; n < blob.len; n++)
        expect_open_fails(slice_of(blob.ptr, n), MATERIAL, ctx);
    buf_append_byte(&blob, 0);
    expect_open_fails(buf_slice(&blob), MATERIAL, ctx);
    buf_free(&blob);
    json_decref(ctx);
}

static void test_blob_parse_rejects(void **s) {
    (void)s;
    cl_buf blob = CL_BUF_INIT;
    assert_int_equal(kms_blob_seal(KEY_ID, 5, MATERIAL, NULL, slice_of("abc", 3), &blob), CL_OK);
    kms_blob b;
    cl_buf t = CL_BUF_INIT;
#define MUTATE(off, val, expect)                                                                   \
    do {                                                                                           \
        buf_clear(&t);                                                                             \
        buf_append_slice(&t, buf_slice(&blob));                                                    \
        t.ptr[off] = (uint8_t)(val);                                                               \
        assert_int_equal(kms_blob_parse(buf_slice(&t), &b), expect);                               \
    } while (0)
    MUTATE(0, 0, CL_ERR_INVALID);
    MUTATE(0, 2, CL_ERR_INVALID);
    MUTATE(0, 0x81, CL_ERR_INVALID);
    MUTATE(1, 'A', CL_ERR_INVALID);  /* upper-case hex */
    MUTATE(1, 'g', CL_ERR_INVALID);  /* not hex */
    MUTATE(9, '0', CL_ERR_INVALID);  /* dash replaced */
    MUTATE(10, '-', CL_ERR_INVALID); /* dash in a hex spot */
    MUTATE(36, 0, CL_ERR_INVALID);
    MUTATE(40, 0, CL_ERR_INVALID); /* version 0 */
    MUTATE(1, 'f', CL_OK);         /* still a lower-case UUID: parse is header-only */
    MUTATE(37, 1, CL_OK);
    assert_int_equal(b.version, 0x01000005);
#undef MUTATE
    /* Lengths: 85 is the shortest blob (empty plaintext); 85 + 4096 the longest. */
    buf_clear(&t);
    buf_append_slice(&t, buf_slice(&blob));
    buf_reserve(&t, 8192);
    memset(t.ptr + t.len, 0, 8192 - t.len);
    assert_int_equal(kms_blob_parse(slice_of(t.ptr, 84), &b), CL_ERR_INVALID);
    assert_int_equal(kms_blob_parse(slice_of(t.ptr, 85), &b), CL_OK);
    assert_int_equal(kms_blob_parse(slice_of(t.ptr, 85 + 4096), &b), CL_OK);
    assert_int_equal(kms_blob_parse(slice_of(t.ptr, 85 + 4097), &b), CL_ERR_INVALID);
    assert_int_equal(kms_blob_parse(slice_of(NULL, 0), &b), CL_ERR_INVALID);
    buf_free(&t);
    buf_free(&blob);
}

/* ---- key specs ---- */

static size_t count(const char *const *list) {
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

static void test_specs(void **s) {
    (void)s;
    static const char *names[] = {"SYMMETRIC_DEFAULT", "RSA_2048",      "RSA_3072",
                                  "RSA_4096",          "ECC_NIST_P256", "ECC_NIST_P384"};
    for (int i = 0; i < KMS_SPEC_COUNT; i++) {
        kms_key_spec p;
        assert_string_equal(kms_spec_name((kms_key_spec)i), names[i]);
        assert_true(kms_spec_parse(names[i], &p));
        assert_int_equal(p, i);
    }
    kms_key_spec p;
    assert_false(kms_spec_parse("rsa_2048", &p));
    assert_false(kms_spec_parse("ECC_SECG_P256K1", &p));
    assert_false(kms_spec_parse(NULL, &p));
    assert_true(kms_spec_is_rsa(KMS_SPEC_RSA_3072));
    assert_false(kms_spec_is_rsa(KMS_SPEC_ECC_NIST_P256));
    assert_true(kms_spec_is_ecc(KMS_SPEC_ECC_NIST_P384));
    assert_false(kms_spec_is_ecc(KMS_SPEC_SYMMETRIC_DEFAULT));

    assert_int_equal(count(kms_spec_signing_algorithms(KMS_SPEC_SYMMETRIC_DEFAULT)), 0);
    assert_int_equal(count(kms_spec_signing_algorithms(KMS_SPEC_RSA_4096)), 6);
    assert_string_equal(kms_spec_signing_algorithms(KMS_SPEC_RSA_2048)[0], "RSASSA_PSS_SHA_256");
    assert_string_equal(kms_spec_signing_algorithms(KMS_SPEC_RSA_2048)[5],
                        "RSASSA_PKCS1_V1_5_SHA_512");
    assert_int_equal(count(kms_spec_signing_algorithms(KMS_SPEC_ECC_NIST_P256)), 1);
    assert_string_equal(kms_spec_signing_algorithms(KMS_SPEC_ECC_NIST_P256)[0], "ECDSA_SHA_256");
    assert_string_equal(kms_spec_signing_algorithms(KMS_SPEC_ECC_NIST_P384)[0], "ECDSA_SHA_384");
    assert_int_equal(count(kms_spec_encryption_algorithms(KMS_SPEC_SYMMETRIC_DEFAULT)), 1);
    assert_string_equal(kms_spec_encryption_algorithms(KMS_SPEC_SYMMETRIC_DEFAULT)[0],
                        "SYMMETRIC_DEFAULT");
    assert_int_equal(count(kms_spec_encryption_algorithms(KMS_SPEC_RSA_3072)), 2);
    assert_string_equal(kms_spec_encryption_algorithms(KMS_SPEC_RSA_3072)[0], "RSAES_OAEP_SHA_1");
    assert_string_equal(kms_spec_encryption_algorithms(KMS_SPEC_RSA_3072)[1], "RSAES_OAEP_SHA_256");
    assert_int_equal(count(kms_spec_encryption_algorithms(KMS_SPEC_ECC_NIST_P384)), 0);
    assert_int_equal(count(kms_spec_signing_algorithms(KMS_SPEC_COUNT)), 0);

    cl_buf a = CL_BUF_INIT, b = CL_BUF_INIT;
    assert_int_equal(kms_material_generate(KMS_SPEC_SYMMETRIC_DEFAULT, &a), CL_OK);
    assert_int_equal(kms_material_generate(KMS_SPEC_SYMMETRIC_DEFAULT, &b), CL_OK);
    assert_int_equal(a.len, 32);
    assert_memory_not_equal(a.ptr, b.ptr, 32);
    assert_int_equal(kms_material_generate(KMS_SPEC_COUNT, &a), CL_ERR_INVALID);
    buf_free_secret(&a);
    buf_free_secret(&b);
}

/* ---- asymmetric ---- */

static const EVP_MD *md_of(const char *alg) {
    if (strstr(alg, "SHA_256")) return EVP_sha256();
    if (strstr(alg, "SHA_384")) return EVP_sha384();
    if (strstr(alg, "SHA_512")) return EVP_sha512();
    return EVP_sha1();
}

static EVP_PKEY *public_of(kms_key_spec s) {
    cl_buf spki = CL_BUF_INIT;
    assert_int_equal(kms_asym_public_key(buf_slice(&materials[s]), &spki), CL_OK);
    const unsigned char *p = spki.ptr;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki.len);
    assert_non_null(pub);
    assert_ptr_equal(p, spki.ptr + spki.len);
    buf_free(&spki);
    return pub;
}

/* Verifies sig over msg with OpenSSL directly, from the SPKI GetPublicKey gives. */
static bool openssl_verify(kms_key_spec s, const char *alg, cl_slice msg, cl_slice sig) {
    EVP_PKEY *pub = public_of(s);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    const EVP_MD *md = md_of(alg);
    assert_int_equal(EVP_DigestVerifyInit(m, &pc, md, NULL, pub), 1);
    if (strstr(alg, "PSS")) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        /* Salt exactly the digest length, MGF1 with the same hash. */
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, EVP_MD_get_size(md)), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md), 1);
    } else if (strstr(alg, "PKCS1")) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
    }
    bool ok = EVP_DigestVerify(m, sig.ptr, sig.len, msg.ptr, msg.len) == 1;
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(pub);
    return ok;
}

static bool verify(kms_key_spec s, const char *alg, bool digest, cl_slice msg, cl_slice sig) {
    bool valid = true;
    char err[256];
    assert_int_equal(kms_asym_verify(s, buf_slice(&materials[s]), alg, digest, msg, sig, &valid,
                                     err, sizeof err),
                     CL_OK);
    return valid;
}

static void check_sign_verify(kms_key_spec s, const char *alg) {
    cl_slice mat = buf_slice(&materials[s]);
    const char *text = "the quick brown fox jumps over the lazy dog";
    cl_slice msg = slice_cstr(text);
    cl_buf sig = CL_BUF_INIT, dsig = CL_BUF_INIT;
    char err[256];
    assert_int_equal(kms_asym_sign(s, mat, alg, false, msg, &sig, err, sizeof err), CL_OK);
    assert_true(verify(s, alg, false, msg, buf_slice(&sig)));
    assert_true(openssl_verify(s, alg, msg, buf_slice(&sig)));

    /* DIGEST mode: the same signature checks against the digest, and back. */
    uint8_t dg[64];
    unsigned int dlen = 0;
    assert_int_equal(EVP_Digest(msg.ptr, msg.len, dg, &dlen, md_of(alg), NULL), 1);
    assert_true(verify(s, alg, true, slice_of(dg, dlen), buf_slice(&sig)));
    assert_int_equal(kms_asym_sign(s, mat, alg, true, slice_of(dg, dlen), &dsig, err, sizeof err),
                     CL_OK);
    assert_true(verify(s, alg, false, msg, buf_slice(&dsig)));
    assert_true(openssl_verify(s, alg, msg, buf_slice(&dsig)));

    /* A flipped message, a flipped signature, a cut or padded signature: false. */
    char *bad = cl_strdup(text);
    bad[7] ^= 1;
    assert_false(verify(s, alg, false, slice_cstr(bad), buf_slice(&sig)));
    free(bad);
    dg[0] ^= 1;
    assert_false(verify(s, alg, true, slice_of(dg, dlen), buf_slice(&sig)));
    for (size_t i = 0; i < sig.len; i += sig.len / 7 + 1) {
        sig.ptr[i] ^= 0x10;
        assert_false(verify(s, alg, false, msg, buf_slice(&sig)));
        sig.ptr[i] ^= 0x10;
    }
    assert_false(verify(s, alg, false, msg, slice_of(sig.ptr, sig.len - 1)));
    assert_false(verify(s, alg, false, msg, slice_of(sig.ptr, 0)));
    buf_append_byte(&sig, 0);
    assert_false(verify(s, alg, false, msg, buf_slice(&sig)));

    /* DIGEST of the wrong length: invalid for both. */
    bool valid = true;
    err[0] = 0;
    assert_int_equal(
        kms_asym_sign(s, mat, alg, true, slice_of(dg, dlen - 1), &dsig, err, sizeof err),
        CL_ERR_INVALID);
    assert_non_null(strstr(err, "digest"));
    assert_int_equal(kms_asym_verify(s, mat, alg, true, slice_of(dg, 20 + dlen % 20 + 1),
                                     buf_slice(&sig), &valid, err, sizeof err),
                     CL_ERR_INVALID);
    assert_false(valid);
    buf_free(&sig);
    buf_free(&dsig);
}

static void test_asym_sign_verify(void **s) {
    (void)s;
    size_t pairs = 0;
    for (int i = KMS_SPEC_RSA_2048; i < KMS_SPEC_COUNT; i++) {
        for (const char *const *a = kms_spec_signing_algorithms((kms_key_spec)i); *a; a++) {
            check_sign_verify((kms_key_spec)i, *a);
            pairs++;
        }
    }
    assert_int_equal(pairs, 3 * 6 + 2);
}

static void test_asym_unsupported(void **s) {
    (void)s;
    static const struct {
        kms_key_spec spec;
        const char *alg;
    } bad[] = {
        {KMS_SPEC_RSA_2048, "ECDSA_SHA_256"},
        {KMS_SPEC_RSA_2048, "RSASSA_PSS_SHA_1"},
        {KMS_SPEC_RSA_4096, "rsassa_pss_sha_256"},
        {KMS_SPEC_ECC_NIST_P256, "ECDSA_SHA_384"},
        {KMS_SPEC_ECC_NIST_P256, "RSASSA_PKCS1_V1_5_SHA_256"},
        {KMS_SPEC_ECC_NIST_P384, "ECDSA_SHA_256"},
        {KMS_SPEC_SYMMETRIC_DEFAULT, "RSASSA_PSS_SHA_256"},
        {KMS_SPEC_RSA_3072, NULL},
    };
    cl_slice msg = slice_cstr("hello");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cl_buf sig = CL_BUF_INIT;
        char err[256] = "";
        bool valid = true;
        cl_slice mat = buf_slice(&materials[bad[i].spec]);
        assert_int_equal(
            kms_asym_sign(bad[i].spec, mat, bad[i].alg, false, msg, &sig, err, sizeof err),
            CL_ERR_INVALID);
        assert_non_null(strstr(err, "not valid"));
        assert_int_equal(sig.len, 0);
        assert_int_equal(
            kms_asym_verify(bad[i].spec, mat, bad[i].alg, false, msg, msg, &valid, err, sizeof err),
            CL_ERR_INVALID);
        assert_false(valid);
    }
    /* Material that is not the spec's: another size, another curve, garbage. */
    cl_buf sig = CL_BUF_INIT;
    char err[256];
    assert_int_equal(kms_asym_sign(KMS_SPEC_RSA_3072, buf_slice(&materials[KMS_SPEC_RSA_2048]),
                                   "RSASSA_PSS_SHA_256", false, msg, &sig, err, sizeof err),
                     CL_ERR_INVALID);
    assert_int_equal(kms_asym_sign(KMS_SPEC_ECC_NIST_P384,
                                   buf_slice(&materials[KMS_SPEC_ECC_NIST_P256]), "ECDSA_SHA_384",
                                   false, msg, &sig, err, sizeof err),
                     CL_ERR_INVALID);
    assert_int_equal(kms_asym_sign(KMS_SPEC_ECC_NIST_P256, slice_cstr("not a key"), "ECDSA_SHA_256",
                                   false, msg, &sig, err, sizeof err),
                     CL_ERR_INVALID);
    cl_buf longer = CL_BUF_INIT;
    buf_append_slice(&longer, buf_slice(&materials[KMS_SPEC_ECC_NIST_P256]));
    buf_append_byte(&longer, 0);
    assert_int_equal(kms_asym_sign(KMS_SPEC_ECC_NIST_P256, buf_slice(&longer), "ECDSA_SHA_256",
                                   false, msg, &sig, err, sizeof err),
                     CL_ERR_INVALID);
    assert_int_equal(kms_asym_public_key(slice_of(MATERIAL, 32), &sig), CL_ERR_INVALID);
    assert_int_equal(sig.len, 0);
    buf_free_secret(&longer);
}

static void test_asym_public_key(void **s) {
    (void)s;
    static const int bits[KMS_SPEC_COUNT] = {0, 2048, 3072, 4096, 256, 384};
    for (int i = KMS_SPEC_RSA_2048; i < KMS_SPEC_COUNT; i++) {
        kms_key_spec spec = (kms_key_spec)i;
        EVP_PKEY *pub = public_of(spec);
        assert_int_equal(EVP_PKEY_get_bits(pub), bits[i]);
        assert_true(EVP_PKEY_is_a(pub, kms_spec_is_rsa(spec) ? "RSA" : "EC"));
        if (kms_spec_is_ecc(spec)) {
            char name[64];
            size_t n;
            assert_int_equal(EVP_PKEY_get_group_name(pub, name, sizeof name, &n), 1);
            assert_string_equal(name, spec == KMS_SPEC_ECC_NIST_P256 ? "prime256v1" : "secp384r1");
        }
        /* The public half of the material, and nothing more. */
        const unsigned char *p = materials[i].ptr;
        EVP_PKEY *priv = d2i_AutoPrivateKey(NULL, &p, (long)materials[i].len);
        assert_non_null(priv);
        assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);
    }
    /* An ECDSA signature checked with plain EVP_DigestVerify on the SPKI. */
    cl_buf sig = CL_BUF_INIT;
    char err[256];
    cl_slice msg = slice_cstr("attested payload");
    assert_int_equal(kms_asym_sign(KMS_SPEC_ECC_NIST_P384,
                                   buf_slice(&materials[KMS_SPEC_ECC_NIST_P384]), "ECDSA_SHA_384",
                                   false, msg, &sig, err, sizeof err),
                     CL_OK);
    EVP_PKEY *pub = public_of(KMS_SPEC_ECC_NIST_P384);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha384(), NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(m, sig.ptr, sig.len, msg.ptr, msg.len), 1);
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(pub);
    assert_int_equal(sig.ptr[0], 0x30); /* DER SEQUENCE */
    buf_free(&sig);
}

/* Encrypts with OpenSSL from the SPKI (OAEP, MGF1 with the same hash). */
static void openssl_oaep(kms_key_spec s, const EVP_MD *md, bool enc, cl_slice in, cl_buf *out) {
    EVP_PKEY *k;
    if (enc) {
        k = public_of(s);
    } else {
        const unsigned char *p = materials[s].ptr;
        k = d2i_AutoPrivateKey(NULL, &p, (long)materials[s].len);
    }
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    assert_int_equal(enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, md), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md), 1);
    size_t n = 1024;
    buf_reserve(out, n);
    int rc = enc ? EVP_PKEY_encrypt(pc, out->ptr, &n, in.ptr, in.len)
                 : EVP_PKEY_decrypt(pc, out->ptr, &n, in.ptr, in.len);
    assert_int_equal(rc, 1);
    out->len = n;
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(k);
}

static void test_asym_oaep(void **s) {
    (void)s;
    static const char *algs[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
    uint8_t plain[512];
    fill_pattern(plain, sizeof plain, 9);
    char err[256];
    for (int i = KMS_SPEC_RSA_2048; i <= KMS_SPEC_RSA_4096; i++) {
        cl_slice mat = buf_slice(&materials[i]);
        size_t k = (size_t)(i == KMS_SPEC_RSA_2048 ? 256 : i == KMS_SPEC_RSA_3072 ? 384 : 512);
        for (int a = 0; a < 2; a++) {
            const EVP_MD *md = a ? EVP_sha256() : EVP_sha1();
            size_t max = k - 2 * (size_t)EVP_MD_get_size(md) - 2;
            cl_buf ct = CL_BUF_INIT, out = CL_BUF_INIT, ext = CL_BUF_INIT;
            /* Round trip at 32 bytes and at the maximum; one more is refused. */
            size_t lens[] = {32, max};
            for (int l = 0; l < 2; l++) {
                buf_clear(&ct);
                buf_clear(&out);
                assert_int_equal(
                    kms_asym_encrypt(mat, algs[a], slice_of(plain, lens[l]), &ct, err, sizeof err),
                    CL_OK);
                assert_int_equal(ct.len, k);
                assert_int_equal(
                    kms_asym_decrypt(mat, algs[a], buf_slice(&ct), &out, err, sizeof err), CL_OK);
                assert_int_equal(out.len, lens[l]);
                assert_memory_equal(out.ptr, plain, lens[l]);
            }
            buf_clear(&out);
            assert_int_equal(
                kms_asym_encrypt(mat, algs[a], slice_of(plain, max + 1), &out, err, sizeof err),
                CL_ERR_INVALID);
            assert_non_null(strstr(err, "at most"));
            /* OpenSSL decrypts ours; we decrypt OpenSSL's. */
            openssl_oaep((kms_key_spec)i, md, false, buf_slice(&ct), &ext);
            assert_int_equal(ext.len, max);
            assert_memory_equal(ext.ptr, plain, max);
            openssl_oaep((kms_key_spec)i, md, true, slice_of(plain, 48), &ext);
            assert_int_equal(kms_asym_decrypt(mat, algs[a], buf_slice(&ext), &out, err, sizeof err),
                             CL_OK);
            assert_int_equal(out.len, 48);
            assert_memory_equal(out.ptr, plain, 48);
            /* The other hash, a flipped byte, a short ciphertext: CL_ERR_CRYPTO, nothing out. */
            buf_clear(&out);
            assert_int_equal(
                kms_asym_decrypt(mat, algs[1 - a], buf_slice(&ext), &out, err, sizeof err),
                CL_ERR_CRYPTO);
            ext.ptr[k / 2] ^= 1;
            assert_int_equal(kms_asym_decrypt(mat, algs[a], buf_slice(&ext), &out, err, sizeof err),
                             CL_ERR_CRYPTO);
            assert_int_equal(
                kms_asym_decrypt(mat, algs[a], slice_of(ext.ptr, k - 1), &out, err, sizeof err),
                CL_ERR_CRYPTO);
            assert_int_equal(out.len, 0);
            buf_free(&ct);
            buf_free(&ext);
            buf_free_secret(&out);
        }
    }
    /* Not an OAEP algorithm, not an RSA key. */
    cl_buf out = CL_BUF_INIT;
    cl_slice rsa = buf_slice(&materials[KMS_SPEC_RSA_2048]);
    assert_int_equal(
        kms_asym_encrypt(rsa, "SYMMETRIC_DEFAULT", slice_of(plain, 8), &out, err, sizeof err),
        CL_ERR_INVALID);
    assert_non_null(strstr(err, "not valid"));
    assert_int_equal(
        kms_asym_encrypt(rsa, "RSAES_PKCS1_V1_5", slice_of(plain, 8), &out, err, sizeof err),
        CL_ERR_INVALID);
    assert_int_equal(kms_asym_encrypt(buf_slice(&materials[KMS_SPEC_ECC_NIST_P256]),
                                      "RSAES_OAEP_SHA_256", slice_of(plain, 8), &out, err,
                                      sizeof err),
                     CL_ERR_INVALID);
    assert_int_equal(kms_asym_decrypt(buf_slice(&materials[KMS_SPEC_ECC_NIST_P256]),
                                      "RSAES_OAEP_SHA_256", slice_of(plain, 64), &out, err,
                                      sizeof err),
                     CL_ERR_INVALID);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_file_mode),
        cmocka_unit_test(test_root_passphrase_mode),
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_context_canonical),
        cmocka_unit_test(test_blob_round_trip),
        cmocka_unit_test(test_blob_open_failures),
        cmocka_unit_test(test_blob_bit_flips_and_truncation),
        cmocka_unit_test(test_blob_parse_rejects),
        cmocka_unit_test(test_specs),
        cmocka_unit_test(test_asym_sign_verify),
        cmocka_unit_test(test_asym_unsupported),
        cmocka_unit_test(test_asym_public_key),
        cmocka_unit_test(test_asym_oaep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

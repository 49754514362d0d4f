/* keystore.c — EIP-2335 keystores (version 4): parsing with bounds on the kdf
 * parameters (checked before any derivation, so a hostile keystore cannot
 * exhaust memory or CPU), password processing (NFKD via utf8proc, then C0,
 * DEL and C1 control codes stripped), decryption and encryption. The KDFs
 * (scrypt, pbkdf2-hmac-sha256) and AES-128-CTR come from OpenSSL's EVP; the
 * checksum is sha256(decryption_key[16:32] || cipher_message). */
#include "signer/keys_internal.h"

#include "crypto/crypto.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define KS_FAIL(...)                                                                               \
    do {                                                                                           \
        if (err && errlen) snprintf(err, errlen, __VA_ARGS__);                                     \
        return CL_ERR_INVALID;                                                                     \
    } while (0)

/* ---- password processing ---- */

static bool ks_is_control(int32_t cp) {
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F);
}

cl_err signer_keystore_password(cl_slice password, cl_buf *out) {
    if (!utf8_valid(password)) return CL_ERR_INVALID;
    utf8proc_uint8_t *nfkd = NULL;
    utf8proc_ssize_t n = utf8proc_map(password.len ? password.ptr : (const uint8_t *)"",
                                      (utf8proc_ssize_t)password.len, &nfkd,
                                      UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
    if (n < 0) return CL_ERR_INVALID;
    cl_slice s = slice_of(nfkd, (size_t)n);
    buf_reserve(out, s.len + 1); /* never regrown: no stale copy of the password */
    for (size_t i = 0; i < s.len;) {
        size_t start = i;
        int32_t cp = utf8_next(s, &i);
        if (cp < 0 || ks_is_control(cp)) continue;
        buf_append(out, s.ptr + start, i - start);
    }
    cl_cleanse(nfkd, (size_t)n);
    free(nfkd);
    return CL_OK;
}

/* ---- parsing ---- */

static cl_err ks_hex(json_t *v, uint8_t *out, size_t min, size_t max, size_t *len) {
    const char *s = json_string_value(v);
    if (!s) return CL_ERR_INVALID;
    cl_slice sl = slice_cstr(s);
    if (slice_starts_with(sl, "0x")) sl = slice_sub(sl, 2, sl.len - 2);
    if (sl.len % 2 || sl.len / 2 < min || sl.len / 2 > max) return CL_ERR_INVALID;
    cl_buf b = CL_BUF_INIT;
    cl_err e = hex_decode(&b, sl);
    if (e == CL_OK) {
        if (b.len) memcpy(out, b.ptr, b.len);
        if (len) *len = b.len;
    }
    buf_free(&b);
    return e;
}

static bool ks_uint(json_t *v, uint64_t min, uint64_t max, uint64_t *out) {
    if (!json_is_integer(v)) return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) return false;
    *out = (uint64_t)i;
    return true;
}

static cl_err ks_parse_kdf(json_t *kdf, signer_keystore_parsed *o, char *err, size_t errlen) {
    const char *fn = json_string_value(json_object_get(kdf, "function"));
    json_t *params = json_object_get(kdf, "params");
    if (!fn || !json_is_object(params)) KS_FAIL("crypto.kdf needs function and params");
    uint64_t dklen = 0;
    if (!ks_uint(json_object_get(params, "dklen"), 32, 32, &dklen))
        KS_FAIL("crypto.kdf.params.dklen must be 32");
    if (ks_hex(json_object_get(params, "salt"), o->salt, 0, sizeof o->salt, &o->salt_len) != CL_OK)
        KS_FAIL("crypto.kdf.params.salt must be hex of at most %zu bytes", sizeof o->salt);
    if (strcmp(fn, "scrypt") == 0) {
        o->kdf = SIGNER_KDF_SCRYPT;
        if (!ks_uint(json_object_get(params, "n"), 2, SIGNER_SCRYPT_MAX_N, &o->n) ||
            (o->n & (o->n - 1)))
            KS_FAIL("scrypt n must be a power of 2 in [2, %u]", SIGNER_SCRYPT_MAX_N);
        if (!ks_uint(json_object_get(params, "r"), 1, SIGNER_SCRYPT_MAX_NR, &o->r) ||
            !ks_uint(json_object_get(params, "p"), 1, SIGNER_SCRYPT_MAX_NRP, &o->p))
            KS_FAIL("scrypt r and p must be positive integers");
        if (o->n * o->r > SIGNER_SCRYPT_MAX_NR || o->n * o->r * o->p > SIGNER_SCRYPT_MAX_NRP)
            KS_FAIL("scrypt parameters too costly (n*r at most %u, n*r*p at most %u)",
                    SIGNER_SCRYPT_MAX_NR, SIGNER_SCRYPT_MAX_NRP);
    } else if (strcmp(fn, "pbkdf2") == 0) {
        o->kdf = SIGNER_KDF_PBKDF2;
        const char *prf = json_string_value(json_object_get(params, "prf"));
        if (!prf || strcmp(prf, "hmac-sha256") != 0) KS_FAIL("pbkdf2 prf must be hmac-sha256");
        if (!ks_uint(json_object_get(params, "c"), 1, SIGNER_PBKDF2_MAX_C, &o->c))
            KS_FAIL("pbkdf2 c must be in [1, %u]", SIGNER_PBKDF2_MAX_C);
    } else {
        KS_FAIL("unsupported kdf '%.32s' (scrypt or pbkdf2)", fn);
    }
    return CL_OK;
}

static cl_err ks_parse_crypto(json_t *crypto, signer_keystore_parsed *o, char *err, size_t errlen) {
    CL_TRY(ks_parse_kdf(json_object_get(crypto, "kdf"), o, err, errlen));
    json_t *ck = json_object_get(crypto, "checksum");
    const char *ckfn = json_string_value(json_object_get(ck, "function"));
    if (!ckfn || strcmp(ckfn, "sha256") != 0) KS_FAIL("crypto.checksum.function must be sha256");
    if (ks_hex(json_object_get(ck, "message"), o->checksum, 32, 32, NULL) != CL_OK)
        KS_FAIL("crypto.checksum.message must be 32 bytes of hex");
    json_t *ci = json_object_get(crypto, "cipher");
    const char *cifn = json_string_value(json_object_get(ci, "function"));
    if (!cifn || strcmp(cifn, "aes-128-ctr") != 0)
        KS_FAIL("crypto.cipher.function must be aes-128-ctr");
    if (ks_hex(json_object_get(json_object_get(ci, "params"), "iv"), o->iv, 16, 16, NULL) != CL_OK)
        KS_FAIL("crypto.cipher.params.iv must be 16 bytes of hex");
    if (ks_hex(json_object_get(ci, "message"), o->cipher, 32, 32, NULL) != CL_OK)
        KS_FAIL("crypto.cipher.message must be 32 bytes of hex (a BLS secret key)");
    return CL_OK;
}

cl_err signer_keystore_parse(cl_slice json, signer_keystore_parsed *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (json.len > SIGNER_KEYSTORE_MAX_BYTES)
        KS_FAIL("keystore larger than %d bytes", SIGNER_KEYSTORE_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) KS_FAIL("keystore is not JSON: %s (line %d)", je.text, je.line);
    cl_err e = CL_ERR_INVALID;
    uint64_t version = 0;
    json_t *crypto = json_object_get(root, "crypto");
    const char *pk = json_string_value(json_object_get(root, "pubkey"));
    if (!json_is_object(root) || !ks_uint(json_object_get(root, "version"), 4, 4, &version)) {
        if (err && errlen) snprintf(err, errlen, "keystore version must be 4 (EIP-2335)");
    } else if (!json_is_object(crypto)) {
        if (err && errlen) snprintf(err, errlen, "keystore has no crypto object");
    } else if ((e = ks_parse_crypto(crypto, o, err, errlen)) != CL_OK) {
        /* err set */
    } else if (pk && *pk) {
        o->has_pubkey = true;
        if (ks_hex(json_object_get(root, "pubkey"), o->pubkey, 48, 48, NULL) != CL_OK) {
            if (err && errlen) snprintf(err, errlen, "pubkey must be 48 bytes of hex");
            e = CL_ERR_INVALID;
        }
    }
    json_decref(root);
    return e;
}

/* ---- derivation and decryption ---- */

static cl_err ks_derive(const signer_keystore_parsed *o, cl_slice pw, uint8_t dk[32]) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, o->kdf == SIGNER_KDF_SCRYPT ? "SCRYPT" : "PBKDF2", NULL);
    if (!kdf) return CL_ERR_CRYPTO;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!ctx) return CL_ERR_CRYPTO;
    OSSL_PARAM params[7], *p = params;
    *p++ = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_PASSWORD, (void *)(pw.len ? pw.ptr : (const uint8_t *)""), pw.len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)o->salt, o->salt_len);
    uint64_t n = o->n, r = o->r, pp = o->p, c = o->c;
    uint64_t maxmem = 128 * r * (n + pp + 2) + (1u << 20);
    int pkcs5 = 1; /* 1 = no SP 800-132 minimums: EIP-2335 salts and counts are the keystore's */
    if (o->kdf == SIGNER_KDF_SCRYPT) {
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_R, &r);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_P, &pp);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    } else {
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
        *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &c);
        *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
    }
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, dk, 32, params);
    EVP_KDF_CTX_free(ctx);
    return ok == 1 ? CL_OK : CL_ERR_CRYPTO;
}

static cl_err ks_aes128ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                           uint8_t *out, size_t n) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return CL_ERR_CRYPTO;
    int l1 = 0, l2 = 0;
    int ok = EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
             EVP_EncryptUpdate(c, out, &l1, in, (int)n) == 1 &&
             EVP_EncryptFinal_ex(c, out + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok && (size_t)(l1 + l2) == n ? CL_OK : CL_ERR_CRYPTO;
}

static void ks_checksum(const uint8_t dk[32], const uint8_t cipher[32], uint8_t out[32]) {
    uint8_t pre[48];
    memcpy(pre, dk + 16, 16);
    memcpy(pre + 16, cipher, 32);
    crypto_sha256(slice_of(pre, sizeof pre), out);
    cl_cleanse(pre, sizeof pre);
}

static cl_err ks_open(const signer_keystore_parsed *o, cl_slice password, uint8_t sk[32], char *err,
                      size_t errlen) {
    cl_buf pw = CL_BUF_INIT;
    if (signer_keystore_password(password, &pw) != CL_OK) KS_FAIL("password is not UTF-8");
    uint8_t dk[32], sum[32];
    cl_err e = ks_derive(o, buf_slice(&pw), dk);
    buf_free_secret(&pw);
    if (e != CL_OK) {
        if (err && errlen) snprintf(err, errlen, "key derivation failed");
        return e;
    }
    ks_checksum(dk, o->cipher, sum);
    if (!cl_ct_eq(sum, o->checksum, 32)) {
        cl_cleanse(dk, sizeof dk);
        if (err && errlen) snprintf(err, errlen, "wrong password (checksum mismatch)");
        return CL_ERR_DENIED;
    }
    e = ks_aes128ctr(dk, o->iv, o->cipher, sk, 32);
    cl_cleanse(dk, sizeof dk);
    return e;
}

cl_err signer_keystore_decrypt(cl_slice keystore_json, cl_slice password, uint8_t sk[SIGNER_SK_LEN],
                               char *err, size_t errlen) {
    signer_keystore_parsed o;
    CL_TRY(signer_keystore_parse(keystore_json, &o, err, errlen));
    cl_err e = ks_open(&o, password, sk, err, errlen);
    uint8_t pk[SIGNER_PK_LEN];
    if (e == CL_OK && signer_bls_pubkey(sk, pk) != CL_OK) {
        if (err && errlen) snprintf(err, errlen, "the secret key is not a valid BLS key");
        e = CL_ERR_INVALID;
    } else if (e == CL_OK && o.has_pubkey && memcmp(pk, o.pubkey, sizeof pk) != 0) {
        if (err && errlen) snprintf(err, errlen, "the secret key does not match pubkey");
        e = CL_ERR_INVALID;
    }
    if (e != CL_OK) cl_cleanse(sk, SIGNER_SK_LEN);
    cl_cleanse(&o, sizeof o);
    return e;
}

/* ---- encryption ---- */

static void ks_uuid4(char out[37]) {
    uint8_t u[16];
    crypto_random(u, sizeof u);
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
    char h[33];
    hex_encode_to(h, u, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static json_t *ks_hexstr(const uint8_t *p, size_t n) {
    char h[2 * 256 + 1];
    hex_encode_to(h, p, n);
    return json_string(h);
}

static json_t *ks_crypto_json(const signer_keystore_parsed *o) {
    json_t *kp =
        o->kdf == SIGNER_KDF_SCRYPT
            ? json_pack("{s:i,s:I,s:I,s:I}", "dklen", 32, "n", (json_int_t)o->n, "r",
                        (json_int_t)o->r, "p", (json_int_t)o->p)
            : json_pack("{s:i,s:I,s:s}", "dklen", 32, "c", (json_int_t)o->c, "prf", "hmac-sha256");
    json_object_set_new(kp, "salt", ks_hexstr(o->salt, o->salt_len));
    return json_pack("{s:{s:s,s:o,s:s},s:{s:s,s:{},s:o},s:{s:s,s:{s:o},s:o}}", "kdf", "function",
                     o->kdf == SIGNER_KDF_SCRYPT ? "scrypt" : "pbkdf2", "params", kp, "message", "",
                     "checksum", "function", "sha256", "params", "message",
                     ks_hexstr(o->checksum, 32), "cipher", "function", "aes-128-ctr", "params",
                     "iv", ks_hexstr(o->iv, 16), "message", ks_hexstr(o->cipher, 32));
}

cl_err signer_keystore_encrypt(const uint8_t sk[SIGNER_SK_LEN], cl_slice password, signer_kdf kdf,
                               const char *path, cl_buf *json_out) {
    /* n = c = 2^18: EIP-2335's and staking-deposit-cli's */
    return signer_keystore_encrypt_cost(sk, password, kdf, 18, path, json_out);
}

cl_err signer_keystore_encrypt_cost(const uint8_t sk[SIGNER_SK_LEN], cl_slice password,
                                    signer_kdf kdf, unsigned log2_cost, const char *path,
                                    cl_buf *json_out) {
    if (log2_cost < 1 || log2_cost > 18) return CL_ERR_INVALID;
    uint8_t pk[SIGNER_PK_LEN];
    CL_TRY(signer_bls_pubkey(sk, pk));
    signer_keystore_parsed o;
    memset(&o, 0, sizeof o);
    o.kdf = kdf;
    o.n = o.c = (uint64_t)1 << log2_cost;
    o.r = 8, o.p = 1;
    o.salt_len = 32;
    crypto_random(o.salt, o.salt_len);
    crypto_random(o.iv, sizeof o.iv);
    cl_buf pw = CL_BUF_INIT;
    if (signer_keystore_password(password, &pw) != CL_OK) return CL_ERR_INVALID;
    uint8_t dk[32];
    cl_err e = ks_derive(&o, buf_slice(&pw), dk);
    buf_free_secret(&pw);
    if (e == CL_OK) e = ks_aes128ctr(dk, o.iv, sk, o.cipher, 32);
    if (e == CL_OK) ks_checksum(dk, o.cipher, o.checksum);
    cl_cleanse(dk, sizeof dk);
    if (e != CL_OK) return e;
    char uuid[37];
    ks_uuid4(uuid);
    json_t *root = json_pack("{s:o,s:s,s:o,s:s,s:s,s:i}", "crypto", ks_crypto_json(&o),
                             "description", "", "pubkey", ks_hexstr(pk, sizeof pk), "path",
                             path ? path : "", "uuid", uuid, "version", 4);
    char *s = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!s) return CL_ERR_NOMEM;
    buf_append_cstr(json_out, s);
    free(s);
    return CL_OK;
}

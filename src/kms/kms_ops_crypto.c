/* kms_ops_crypto.c — the cryptographic operations: Encrypt, Decrypt,
 * ReEncrypt, GenerateDataKey(+WithoutPlaintext), GenerateRandom, Sign, Verify,
 * GetPublicKey, the Recipient parameter (an attestation document whose
 * public_key receives the result as CMS EnvelopedData in
 * CiphertextForRecipient, never as Plaintext), and the same paths for
 * services acting for a caller (kms_data_key_for / kms_decrypt_for).
 *
 * Order of checks for a ciphertext, as KMS: blob header -> key -> permission
 * (kms:Decrypt with the request's encryption context) -> key state -> AEAD.
 * Any blob that is not authentic under its key and the given context is
 * InvalidCiphertextException; no partial plaintext is ever returned. */
#include "kms/kms_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYM "SYMMETRIC_DEFAULT"
#define MAX_ATTEST_DOC (64 * 1024)

static const char *usage_of(const kms_key *key) {
    return json_string_value(json_object_get(key->doc, "KeyUsage"));
}

static bool usage_is(kms_call *call, const kms_key *key, const char *usage, const char *op) {
    if (strcmp(usage_of(key), usage) == 0) return true;
    return kms_fail(call, 400, "InvalidKeyUsageException",
                    "%s key usage is %s which is not valid for %s.", key->arn, usage_of(key), op);
}

/* ---- Recipient ---- */
typedef struct {
    bool present;
    attest_doc doc;
} recipient;

static bool recipient_parse(kms_call *call, recipient *r) {
    memset(r, 0, sizeof *r);
    json_t *v = json_object_get(call->in, "Recipient");
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v))
        return kms_fail(call, 400, "SerializationException", "Recipient must be a structure");
    const char *alg = json_string_value(json_object_get(v, "KeyEncryptionAlgorithm"));
    const char *doc = json_string_value(json_object_get(v, "AttestationDocument"));
    if (alg && strcmp(alg, "RSAES_OAEP_SHA_256") != 0)
        return kms_invalid(call, "Recipient KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
    if (!doc) return kms_invalid(call, "Recipient AttestationDocument is required");
    cl_buf raw = CL_BUF_INIT;
    if (base64_decode(&raw, slice_cstr(doc)) != CL_OK || raw.len == 0 || raw.len > MAX_ATTEST_DOC) {
        buf_free(&raw);
        return kms_invalid(call, "Recipient AttestationDocument is not valid base64 or too large");
    }
    char err[200] = "";
    cl_err e = attest_verify(buf_slice(&raw), buf_slice(&call->k->attest_root), time_now(), &r->doc,
                             err, sizeof err);
    buf_free(&raw);
    if (e != CL_OK)
        return kms_fail(call, 400, "AccessDeniedException",
                        "The attestation document in Recipient was not accepted: %s", err);
    if (r->doc.public_key.len == 0) {
        attest_doc_free(&r->doc);
        return kms_invalid(call, "The attestation document in Recipient has no public_key");
    }
    if (r->doc.pcr_present & (1u << ATTEST_PCR_REMOTE_WORKER)) {
        attest_doc_free(&r->doc);
        return kms_fail(call, 400, "AccessDeniedException",
                        "The attestation document in Recipient is from a run on a remote worker "
                        "(PCR4), not an enclave of this node: it cannot receive key material");
    }
    r->present = true;
    return true;
}

static void recipient_free(recipient *r) {
    if (r->present) attest_doc_free(&r->doc);
}

/* Puts `plain` in the response: as Plaintext, or for a Recipient as
 * CiphertextForRecipient. */
static bool deliver(kms_call *call, const recipient *r, cl_slice plain) {
    if (!r->present) {
        kms_out_blob(call, "Plaintext", plain);
        return true;
    }
    cl_buf env = CL_BUF_INIT;
    if (crypto_cms_envelope(buf_slice(&r->doc.public_key), plain, &env) != CL_OK) {
        buf_free(&env);
        return kms_invalid(call,
                           "The Recipient public key must be an RSA key of 2048 to 4096 bits");
    }
    kms_out_blob(call, "CiphertextForRecipient", buf_slice(&env));
    buf_free(&env);
    return true;
}

/* ---- shared cores ---- */
bool kms_call_seal(kms_call *call, const kms_key *key, const json_t *ctx, cl_slice plain,
                   cl_buf *blob) {
    cl_buf m = CL_BUF_INIT;
    if (!kms_key_material(call, key, 0, &m)) return false;
    cl_err e = kms_blob_seal(key->key_id, kms_key_current_version(key), m.ptr, ctx, plain, blob);
    buf_free_secret(&m);
    if (e == CL_OK) return true;
    return kms_fail(call, 500, "KMSInternalException", "encryption failed");
}

/* Finds, authorizes and opens a symmetric ciphertext blob. key_param: the
 * request's KeyId (must match the blob's key), or NULL. */
bool kms_call_open_blob(kms_call *call, cl_slice bytes, const json_t *ctx, const char *key_param,
                        const char *action, const attest_doc *recip, kms_key *key, cl_buf *plain) {
    kms_blob b;
    char account[13];
    memset(key, 0, sizeof *key);
    if (kms_blob_parse(bytes, &b) != CL_OK || !kms_key_index_get(call->k, b.key_id, account) ||
        !kms_key_load(call->k, account, b.key_id, key))
        return kms_fail(call, 400, "InvalidCiphertextException",
                        "The ciphertext is invalid or refers to a key that does not exist.");
    if (key_param) {
        kms_key named;
        if (!kms_key_resolve(call, key_param, &named)) return false;
        bool same = strcmp(named.key_id, key->key_id) == 0;
        kms_key_free(&named);
        if (!same)
            return kms_fail(call, 400, "IncorrectKeyException",
                            "The key ID in the request does not identify a CMK that can perform "
                            "this operation.");
    }
    kms_authz_extra x = {.context = ctx, .recipient = recip, .grant_op = action + 4};
    if (!kms_authorize_key(call, key, action, &x) || !kms_key_usable(call, key)) return false;
    if (key->spec != KMS_SPEC_SYMMETRIC_DEFAULT)
        return kms_fail(call, 400, "InvalidCiphertextException", "The ciphertext is invalid.");
    cl_buf m = CL_BUF_INIT;
    if (!kms_key_material(call, key, b.version, &m)) return false;
    cl_err e = kms_blob_open(&b, m.ptr, ctx, plain);
    buf_free_secret(&m);
    if (e == CL_OK) return true;
    return kms_fail(call, 400, "InvalidCiphertextException",
                    "The ciphertext is invalid or its encryption context does not match.");
}

/* Resolves KeyId, authorizes action, checks state and usage. */
static bool usable_key(kms_call *call, const char *action, const char *usage, const char *op,
                       const json_t *ctx, const attest_doc *recip, kms_key *key) {
    bool bad = false;
    const char *id = kms_in_str(call, "KeyId", true, &bad);
    if (!id || !kms_key_resolve(call, id, key)) return false;
    kms_authz_extra x = {.context = ctx, .recipient = recip, .grant_op = action + 4};
    if (kms_authorize_key(call, key, action, &x) && kms_key_usable(call, key) &&
        usage_is(call, key, usage, op))
        return true;
    kms_key_free(key);
    return false;
}

static bool enc_alg(kms_call *call, const kms_key *key, const char **alg) {
    bool bad = false;
    *alg = kms_in_str(call, "EncryptionAlgorithm", false, &bad);
    if (bad) return false;
    if (key->spec == KMS_SPEC_SYMMETRIC_DEFAULT) {
        if (*alg && strcmp(*alg, SYM) != 0)
            return kms_fail(call, 400, "InvalidKeyUsageException",
                            "%s supports only the SYMMETRIC_DEFAULT encryption algorithm.",
                            key->arn);
        *alg = SYM;
        return true;
    }
    if (!*alg || strcmp(*alg, SYM) == 0)
        return kms_fail(call, 400, "InvalidKeyUsageException",
                        "%s is an asymmetric key: give EncryptionAlgorithm RSAES_OAEP_SHA_1 or "
                        "RSAES_OAEP_SHA_256.",
                        key->arn);
    return true;
}

/* ---- operations ---- */
bool kms_op_encrypt(kms_call *call) {
    cl_buf plain = CL_BUF_INIT, blob = CL_BUF_INIT;
    const json_t *ctx;
    const char *alg;
    kms_key key;
    if (!kms_in_context(call, "EncryptionContext", &ctx) ||
        !kms_in_blob(call, "Plaintext", KMS_MAX_PLAINTEXT, &plain))
        return false;
    bool ok = usable_key(call, "kms:Encrypt", "ENCRYPT_DECRYPT", "Encrypt", ctx, NULL, &key);
    if (ok) {
        ok = enc_alg(call, &key, &alg);
        char err[160] = "";
        if (ok && key.spec == KMS_SPEC_SYMMETRIC_DEFAULT) {
            ok = kms_call_seal(call, &key, ctx, buf_slice(&plain), &blob);
        } else if (ok) {
            cl_buf m = CL_BUF_INIT;
            ok = kms_key_material(call, &key, 0, &m);
            if (ok && kms_asym_encrypt(buf_slice(&m), alg, buf_slice(&plain), &blob, err,
                                       sizeof err) != CL_OK)
                ok = kms_invalid(call, "%s", err);
            buf_free_secret(&m);
        }
        if (ok) {
            call->out = json_pack("{s:s, s:s}", "KeyId", key.arn, "EncryptionAlgorithm", alg);
            kms_out_blob(call, "CiphertextBlob", buf_slice(&blob));
        }
        kms_key_free(&key);
    }
    buf_free_secret(&plain);
    buf_free(&blob);
    return ok;
}

static bool decrypt_asym(kms_call *call, cl_slice ct, const char *key_id, const recipient *r) {
    kms_key key;
    const char *alg;
    if (!key_id)
        return kms_fail(call, 400, "InvalidCiphertextException",
                        "The ciphertext is invalid (asymmetric ciphertexts need KeyId).");
    if (!usable_key(call, "kms:Decrypt", "ENCRYPT_DECRYPT", "Decrypt", NULL,
                    r->present ? &r->doc : NULL, &key))
        return false;
    cl_buf m = CL_BUF_INIT, plain = CL_BUF_INIT;
    char err[160];
    bool ok = enc_alg(call, &key, &alg) && kms_key_material(call, &key, 0, &m);
    if (ok && kms_asym_decrypt(buf_slice(&m), alg, ct, &plain, err, sizeof err) != CL_OK)
        ok = kms_fail(call, 400, "InvalidCiphertextException", "The ciphertext is invalid.");
    if (ok) {
        call->out = json_pack("{s:s, s:s}", "KeyId", key.arn, "EncryptionAlgorithm", alg);
        ok = deliver(call, r, buf_slice(&plain));
    }
    buf_free_secret(&m);
    buf_free_secret(&plain);
    kms_key_free(&key);
    return ok;
}

bool kms_op_decrypt(kms_call *call) {
    cl_buf ct = CL_BUF_INIT, plain = CL_BUF_INIT;
    const json_t *ctx;
    bool bad = false;
    const char *key_id = kms_in_str(call, "KeyId", false, &bad);
    const char *alg = kms_in_str(call, "EncryptionAlgorithm", false, &bad);
    recipient r;
    if (bad || !kms_in_context(call, "EncryptionContext", &ctx) ||
        !kms_in_blob(call, "CiphertextBlob", 6144, &ct))
        return false;
    if (!recipient_parse(call, &r)) {
        buf_free(&ct);
        return false;
    }
    bool ok;
    if (alg && strcmp(alg, SYM) != 0) {
        ok = decrypt_asym(call, buf_slice(&ct), key_id, &r);
    } else {
        kms_key key;
        ok = kms_call_open_blob(call, buf_slice(&ct), ctx, key_id, "kms:Decrypt",
                                r.present ? &r.doc : NULL, &key, &plain);
        if (ok) {
            call->out = json_pack("{s:s, s:s}", "KeyId", key.arn, "EncryptionAlgorithm", SYM);
            ok = deliver(call, &r, buf_slice(&plain));
        }
        kms_key_free(&key);
    }
    recipient_free(&r);
    buf_free(&ct);
    buf_free_secret(&plain);
    return ok;
}

bool kms_op_re_encrypt(kms_call *call) {
    cl_buf ct = CL_BUF_INIT, plain = CL_BUF_INIT, blob = CL_BUF_INIT;
    const json_t *src_ctx, *dst_ctx;
    bool bad = false;
    const char *src_id = kms_in_str(call, "SourceKeyId", false, &bad);
    const char *dst_id = kms_in_str(call, "DestinationKeyId", true, &bad);
    if (bad || !kms_in_context(call, "SourceEncryptionContext", &src_ctx) ||
        !kms_in_context(call, "DestinationEncryptionContext", &dst_ctx) ||
        !kms_in_blob(call, "CiphertextBlob", 6144, &ct))
        return false;
    kms_key src, dst = {0};
    bool ok = kms_call_open_blob(call, buf_slice(&ct), src_ctx, src_id, "kms:ReEncryptFrom", NULL,
                                 &src, &plain);
    if (ok && kms_key_resolve(call, dst_id, &dst)) {
        kms_authz_extra x = {.context = dst_ctx, .grant_op = "ReEncryptTo"};
        ok = kms_authorize_key(call, &dst, "kms:ReEncryptTo", &x) && kms_key_usable(call, &dst) &&
             usage_is(call, &dst, "ENCRYPT_DECRYPT", "ReEncrypt") &&
             (dst.spec == KMS_SPEC_SYMMETRIC_DEFAULT ||
              kms_fail(call, 400, "UnsupportedOperationException",
                       "ReEncrypt to an asymmetric key is not supported here.")) &&
             kms_call_seal(call, &dst, dst_ctx, buf_slice(&plain), &blob);
    } else {
        ok = false;
    }
    if (ok) {
        call->out =
            json_pack("{s:s, s:s, s:s, s:s}", "SourceKeyId", src.arn, "KeyId", dst.arn,
                      "SourceEncryptionAlgorithm", SYM, "DestinationEncryptionAlgorithm", SYM);
        kms_out_blob(call, "CiphertextBlob", buf_slice(&blob));
    }
    kms_key_free(&src);
    kms_key_free(&dst);
    buf_free(&ct);
    buf_free(&blob);
    buf_free_secret(&plain);
    return ok;
}

/* KeySpec AES_256 / AES_128, or NumberOfBytes 1..1024: exactly one. */
static bool data_key_len(kms_call *call, size_t *n) {
    bool bad = false;
    const char *spec = kms_in_str(call, "KeySpec", false, &bad);
    json_t *nb = json_object_get(call->in, "NumberOfBytes");
    if (bad) return false;
    if ((spec != NULL) == (nb != NULL))
        return kms_invalid(call, "Please specify either number of bytes or key spec.");
    if (spec) {
        if (strcmp(spec, "AES_256") == 0)
            *n = 32;
        else if (strcmp(spec, "AES_128") == 0)
            *n = 16;
        else
            return kms_invalid(call, "KeySpec must be AES_256 or AES_128");
        return true;
    }
    if (!json_is_integer(nb) || json_integer_value(nb) < 1 || json_integer_value(nb) > 1024)
        return kms_invalid(call, "NumberOfBytes must be between 1 and 1024");
    *n = (size_t)json_integer_value(nb);
    return true;
}

static bool data_key(kms_call *call, bool with_plaintext) {
    const json_t *ctx;
    size_t n = 0;
    recipient r = {0};
    if (!kms_in_context(call, "EncryptionContext", &ctx) || !data_key_len(call, &n) ||
        (with_plaintext && !recipient_parse(call, &r)))
        return false;
    const char *action =
        with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
    kms_key key;
    uint8_t dk[1024];
    cl_buf blob = CL_BUF_INIT;
    bool ok = usable_key(call, action, "ENCRYPT_DECRYPT", action + 4, ctx,
                         r.present ? &r.doc : NULL, &key);
    if (ok) {
        ok = (key.spec == KMS_SPEC_SYMMETRIC_DEFAULT ||
              kms_fail(call, 400, "InvalidKeyUsageException",
                       "%s is not a symmetric encryption key.", key.arn));
        crypto_random(dk, n);
        if (ok) ok = kms_call_seal(call, &key, ctx, slice_of(dk, n), &blob);
        if (ok) {
            call->out = json_pack("{s:s}", "KeyId", key.arn);
            kms_out_blob(call, "CiphertextBlob", buf_slice(&blob));
            if (with_plaintext) ok = deliver(call, &r, slice_of(dk, n));
        }
        cl_cleanse(dk, sizeof dk);
        kms_key_free(&key);
    }
    recipient_free(&r);
    buf_free(&blob);
    return ok;
}

bool kms_op_generate_data_key(kms_call *call) {
    return data_key(call, true);
}

bool kms_op_generate_data_key_without_plaintext(kms_call *call) {
    return data_key(call, false);
}

bool kms_op_generate_random(kms_call *call) {
    json_t *nb = json_object_get(call->in, "NumberOfBytes");
    if (!json_is_integer(nb) || json_integer_value(nb) < 1 || json_integer_value(nb) > 1024)
        return kms_invalid(call, "NumberOfBytes must be between 1 and 1024");
    recipient r;
    if (!recipient_parse(call, &r)) return false;
    kms_authz_extra x = {.recipient = r.present ? &r.doc : NULL};
    bool ok = kms_authorize_account(call, "kms:GenerateRandom", &x);
    if (ok) {
        size_t n = (size_t)json_integer_value(nb);
        uint8_t buf[1024];
        crypto_random(buf, n);
        call->out = json_object();
        ok = deliver(call, &r, slice_of(buf, n));
        cl_cleanse(buf, sizeof buf);
    }
    recipient_free(&r);
    return ok;
}

/* ---- Sign / Verify / GetPublicKey ---- */
static bool sign_params(kms_call *call, const char **alg, bool *digest, cl_buf *msg) {
    bool bad = false;
    *alg = kms_in_str(call, "SigningAlgorithm", true, &bad);
    const char *type = kms_in_str(call, "MessageType", false, &bad);
    if (bad) return false;
    if (type && strcmp(type, "RAW") != 0 && strcmp(type, "DIGEST") != 0)
        return kms_invalid(call, "MessageType must be RAW or DIGEST");
    *digest = type && strcmp(type, "DIGEST") == 0;
    return kms_in_blob(call, "Message", 4096, msg);
}

bool kms_op_sign(kms_call *call) {
    const char *alg;
    bool digest;
    cl_buf msg = CL_BUF_INIT, m = CL_BUF_INIT, sig = CL_BUF_INIT;
    kms_key key;
    if (!sign_params(call, &alg, &digest, &msg)) return false;
    bool ok = usable_key(call, "kms:Sign", "SIGN_VERIFY", "Sign", NULL, NULL, &key);
    if (ok) {
        char err[160] = "";
        ok = kms_key_material(call, &key, 0, &m);
        if (ok && kms_asym_sign(key.spec, buf_slice(&m), alg, digest, buf_slice(&msg), &sig, err,
                                sizeof err) != CL_OK)
            ok = kms_invalid(call, "%s", err);
        if (ok) {
            call->out = json_pack("{s:s, s:s}", "KeyId", key.arn, "SigningAlgorithm", alg);
            kms_out_blob(call, "Signature", buf_slice(&sig));
        }
        kms_key_free(&key);
    }
    buf_free(&msg);
    buf_free_secret(&m);
    buf_free(&sig);
    return ok;
}

bool kms_op_verify(kms_call *call) {
    const char *alg;
    bool digest, valid = false;
    cl_buf msg = CL_BUF_INIT, m = CL_BUF_INIT, sig = CL_BUF_INIT;
    kms_key key;
    if (!sign_params(call, &alg, &digest, &msg)) return false;
    if (!kms_in_blob(call, "Signature", 8192, &sig)) {
        buf_free(&msg);
        return false;
    }
    bool ok = usable_key(call, "kms:Verify", "SIGN_VERIFY", "Verify", NULL, NULL, &key);
    if (ok) {
        char err[160] = "";
        ok = kms_key_material(call, &key, 0, &m);
        if (ok && kms_asym_verify(key.spec, buf_slice(&m), alg, digest, buf_slice(&msg),
                                  buf_slice(&sig), &valid, err, sizeof err) != CL_OK)
            ok = kms_invalid(call, "%s", err);
        if (ok && !valid)
            ok = kms_fail(call, 400, "KMSInvalidSignatureException",
                          "The signature does not verify.");
        if (ok)
            call->out = json_pack("{s:s, s:b, s:s}", "KeyId", key.arn, "SignatureValid", 1,
                                  "SigningAlgorithm", alg);
        kms_key_free(&key);
    }
    buf_free(&msg);
    buf_free_secret(&m);
    buf_free(&sig);
    return ok;
}

bool kms_op_get_public_key(kms_call *call) {
    bool bad = false;
    const char *id = kms_in_str(call, "KeyId", true, &bad);
    kms_key key;
    if (!id || !kms_key_resolve(call, id, &key)) return false;
    cl_buf m = CL_BUF_INIT, pub = CL_BUF_INIT;
    bool ok = kms_authorize_key(call, &key, "kms:GetPublicKey", NULL) &&
              kms_key_usable(call, &key) &&
              (key.spec != KMS_SPEC_SYMMETRIC_DEFAULT ||
               kms_fail(call, 400, "UnsupportedOperationException",
                        "%s is a symmetric key; it has no public key.", key.arn)) &&
              kms_key_material(call, &key, 0, &m);
    if (ok && kms_asym_public_key(buf_slice(&m), &pub) != CL_OK)
        ok = kms_fail(call, 500, "KMSInternalException", "public key unavailable");
    if (ok) {
        json_t *meta = kms_key_metadata(&key);
        call->out = json_pack("{s:s, s:s, s:s, s:s}", "KeyId", key.arn, "CustomerMasterKeySpec",
                              kms_spec_name(key.spec), "KeySpec", kms_spec_name(key.spec),
                              "KeyUsage", usage_of(&key));
        kms_out_blob(call, "PublicKey", buf_slice(&pub));
        json_t *algs = json_object_get(meta, "SigningAlgorithms");
        if (algs) json_object_set(call->out, "SigningAlgorithms", algs);
        algs = json_object_get(meta, "EncryptionAlgorithms");
        if (algs) json_object_set(call->out, "EncryptionAlgorithms", algs);
        json_decref(meta);
    }
    buf_free_secret(&m);
    buf_free(&pub);
    kms_key_free(&key);
    return ok;
}

/* signer_kms.c — the client side of KMS-sealed signer keys (docs/signer.md,
 * "Keys sealed by KMS"), where the network calls live (src/signer must not
 * depend on the node):
 *
 * `cloister signer keys seal` on the operator's machine: KMS GenerateDataKey
 * (encryption context {"cloister:signer-keys": NAME}), every EIP-2335
 * keystore of a folder decrypted and sealed under the data key locally,
 * Cloister PutSignerKeys with ciphertexts only; the data key and the secret
 * keys are zeroised.
 *
 * `cloister signer serve --kms-keys NAME [--endpoint URL]` inside the signer
 * app's sandbox: a signer_key_loader that fetches the set (GetSignerKeys),
 * asks the run's init for an attestation document over an RSA key made here,
 * calls KMS Decrypt with that document as Recipient (so KMS answers only
 * CiphertextForRecipient, and only if the key policy's
 * kms:RecipientAttestation:ImageSha384 names this app's measurement), opens
 * it, and unseals the keys into the keyring. signer_cmd.c takes these options
 * off the command line before `serve` parses the rest (cli_signer_kms_take). */
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "signer/signer.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what `serve --kms-keys` was given ---- */
static struct {
    char *name, *endpoint, *tls_key_file;
    char *tls_key_pem; /* the unwrapped TLS key (cli_signer_kms_apply), zeroised at exit */
} kms_opts;

int cli_signer_kms_take(int argc, char **argv) {
    int out = 0;
    for (int i = 0; i < argc; i++) {
        bool ours = i + 1 < argc &&
                    (strcmp(argv[i], "--kms-keys") == 0 || strcmp(argv[i], "--endpoint") == 0 ||
                     strcmp(argv[i], "--tls-key-kms") == 0);
        if (!ours) {
            argv[out++] = argv[i];
            continue;
        }
        char **slot = strcmp(argv[i], "--kms-keys") == 0   ? &kms_opts.name
                      : strcmp(argv[i], "--endpoint") == 0 ? &kms_opts.endpoint
                                                           : &kms_opts.tls_key_file;
        free(*slot);
        *slot = cl_strdup(argv[++i]);
    }
    argv[out] = NULL;
    return out;
}

/* Credentials: the standard chain, else the run's requester secrets 1 and 2
 * (access key id, secret access key), as a Cloister app gets them. */
static cl_err sandbox_creds(cli_creds *c, char *err, size_t errlen) {
    if (cli_creds_load(c, err, errlen) == CL_OK) return CL_OK;
    const char *ak = getenv("IEXEC_REQUESTER_SECRET_1"), *sk = getenv("IEXEC_REQUESTER_SECRET_2");
    if (!ak || !ak[0] || !sk || !sk[0]) {
        snprintf(err, errlen,
                 "no AWS credentials to fetch the key set: set AWS_ACCESS_KEY_ID/"
                 "AWS_SECRET_ACCESS_KEY, or map them as the run's requester secrets 1 and 2");
        return CL_ERR_NOT_FOUND;
    }
    memset(c, 0, sizeof *c);
    if (errlen) err[0] = 0;
    c->access_key = cl_strdup(ak);
    c->secret = cl_strdup(sk);
    c->region = cl_strdup(getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1");
    return CL_OK;
}

/* One JSON call; *ans the answer object (200) or NULL with "Code: message" in err. */
static cl_err json_call(const char *endpoint, const cli_creds *c, const char *service,
                        const char *target, json_t *body, json_t **ans, char *err, size_t errlen) {
    char *text = json_dumps(body, JSON_COMPACT);
    http_client_response r = {0};
    cl_err e = cli_call_service_json(endpoint, c, service, target, text, &r);
    cl_free_secret(text);
    *ans = NULL;
    json_t *j = e == CL_OK ? json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL) : NULL;
    if (e != CL_OK) {
        snprintf(err, errlen, "cannot reach %s", endpoint);
        e = CL_ERR_IO;
    } else if (r.status != 200 || !json_is_object(j)) {
        const char *code = json_string_value(json_object_get(j, "__type"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        if (!msg) msg = json_string_value(json_object_get(j, "Message"));
        snprintf(err, errlen, "%s: %s", code ? code : "error", msg ? msg : "");
        e = code && strstr(code, "AccessDenied") ? CL_ERR_DENIED : CL_ERR_IO;
    } else {
        *ans = j;
        j = NULL;
    }
    json_decref(j);
    buf_free_secret(&r.body);
    return e;
}

/* ---- the loader, inside the sandbox ---- */

/* KMS Decrypt of blob with this sandbox's attestation as Recipient: what (for
 * messages) names it; context: the encryption context (NULL: none); plain gets
 * the plaintext (free with buf_free_secret). */
static cl_err recipient_decrypt(const char *endpoint, const cli_creds *c, const char *what,
                                cl_slice blob, const char *key_id, json_t *context, cl_buf *plain,
                                char *err, size_t errlen) {
    signer_kms_recipient *r = NULL;
    cl_buf spki = CL_BUF_INIT, doc = CL_BUF_INIT, b64doc = CL_BUF_INIT, b64blob = CL_BUF_INIT,
           cms = CL_BUF_INIT;
    json_t *ans = NULL;
    char why[400] = "";
    cl_err e = signer_kms_recipient_new(&r);
    if (e != CL_OK) snprintf(err, errlen, "cannot make the Recipient key");
    if (e == CL_OK) {
        signer_kms_recipient_spki(r, &spki);
        e = signer_kms_attest(buf_slice(&spki), &doc, err, errlen);
    }
    if (e == CL_OK) {
        base64_encode(&b64doc, buf_slice(&doc));
        base64_encode(&b64blob, blob);
        json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "CiphertextBlob", buf_cstr(&b64blob),
                                 "Recipient", "KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256",
                                 "AttestationDocument", buf_cstr(&b64doc));
        if (key_id) json_object_set_new(body, "KeyId", json_string(key_id));
        if (context) json_object_set(body, "EncryptionContext", context);
        e = json_call(endpoint, c, "kms", "TrentService.Decrypt", body, &ans, why, sizeof why);
        json_decref(body);
        if (e == CL_ERR_DENIED)
            snprintf(err, errlen,
                     "KMS refused to decrypt %s for this sandbox (%s): the key policy%s%s does "
                     "not let this app's measurement decrypt it (its condition "
                     "kms:RecipientAttestation:ImageSha384 must name the signer app's "
                     "measurement, `cloister app show`)",
                     what, why, key_id ? " of " : "", key_id ? key_id : "");
        else if (e != CL_OK)
            snprintf(err, errlen, "KMS Decrypt of %s failed: %s", what, why);
    }
    const char *cfr = json_string_value(json_object_get(ans, "CiphertextForRecipient"));
    if (e == CL_OK && (json_object_get(ans, "Plaintext") || !cfr ||
                       base64_decode(&cms, slice_cstr(cfr)) != CL_OK)) {
        snprintf(err, errlen, "KMS Decrypt of %s did not answer with CiphertextForRecipient only",
                 what);
        e = CL_ERR_CRYPTO;
    }
    if (e == CL_OK && signer_kms_recipient_open(r, buf_slice(&cms), plain) != CL_OK) {
        snprintf(err, errlen, "CiphertextForRecipient of %s does not open", what);
        e = CL_ERR_CRYPTO;
    }
    json_decref(ans);
    signer_kms_recipient_free(r);
    buf_free(&spki);
    buf_free(&doc);
    buf_free(&b64doc);
    buf_free(&b64blob);
    buf_free(&cms);
    return e;
}

static cl_err unwrap_data_key(const char *endpoint, const cli_creds *c, const signer_kms_set *s,
                              uint8_t dk[SIGNER_KMS_DATA_KEY_LEN], char *err, size_t errlen) {
    cl_buf plain = CL_BUF_INIT;
    json_t *ctx = json_pack("{s:s}", SIGNER_KMS_CONTEXT_KEY, s->name);
    char *what = cl_sprintf("key set %s's data key", s->name);
    cl_err e = recipient_decrypt(endpoint, c, what, buf_slice(&s->encrypted_data_key),
                                 s->kms_key_id, ctx, &plain, err, errlen);
    if (e == CL_OK && plain.len != SIGNER_KMS_DATA_KEY_LEN) {
        snprintf(err, errlen, "%s is not 32 bytes", what);
        e = CL_ERR_CRYPTO;
    }
    if (e == CL_OK) memcpy(dk, plain.ptr, SIGNER_KMS_DATA_KEY_LEN);
    buf_free_secret(&plain);
    json_decref(ctx);
    free(what);
    return e;
}

static cl_err fetch_set(const char *endpoint, const cli_creds *c, const char *name,
                        signer_kms_set *s, char *err, size_t errlen) {
    json_t *ans = NULL;
    char why[400];
    json_t *body = json_pack("{s:s}", "Name", name);
    cl_err e =
        json_call(endpoint, c, "cloister", "Cloister.GetSignerKeys", body, &ans, why, sizeof why);
    json_decref(body);
    if (e != CL_OK) {
        snprintf(err, errlen, "GetSignerKeys %s at %s: %s", name, endpoint, why);
        return e;
    }
    char *text = json_dumps(json_object_get(ans, "SignerKeys"), JSON_COMPACT);
    e = text ? signer_kms_set_parse(slice_cstr(text), s, why, sizeof why) : CL_ERR_INVALID;
    if (e != CL_OK) snprintf(err, errlen, "GetSignerKeys %s: malformed answer: %s", name, why);
    free(text);
    json_decref(ans);
    return e;
}

static cl_err kms_loader(void *arg, signer_keyring *k, char *err, size_t errlen) {
    (void)arg;
    const char *endpoint = cli_endpoint(kms_opts.endpoint);
    cli_creds c;
    signer_kms_set s = {0};
    uint8_t dk[SIGNER_KMS_DATA_KEY_LEN];
    size_t loaded = 0;
    const char *fd = getenv("CLOISTER_ATTESTATION_FD");
    if (!fd || !fd[0]) { /* no attestation to offer: do not even fetch the set */
        snprintf(err, errlen,
                 "not inside a Cloister run (CLOISTER_ATTESTATION_FD is not set): KMS-sealed "
                 "keys are unwrapped only inside the signer app's sandbox (cloister signer app)");
        log_error("signer: KMS-sealed key set %s: %s", kms_opts.name, err);
        return CL_ERR_NOT_FOUND;
    }
    cl_err e = sandbox_creds(&c, err, errlen);
    if (e != CL_OK) return e;
    e = fetch_set(endpoint, &c, kms_opts.name, &s, err, errlen);
    if (e == CL_OK) e = unwrap_data_key(endpoint, &c, &s, dk, err, errlen);
    if (e == CL_OK) e = signer_kms_set_load(&s, dk, k, &loaded, err, errlen);
    cl_cleanse(dk, sizeof dk);
    if (e == CL_OK)
        log_info("signer: %zu keys unwrapped from KMS-sealed key set %s (KMS Decrypt with "
                 "Recipient)",
                 loaded, s.name);
    else
        log_error("signer: KMS-sealed key set %s: %s", kms_opts.name, err);
    signer_kms_set_free(&s);
    cli_creds_free(&c);
    return e;
}

/* The TLS key: FILE holds a KMS ciphertext (CiphertextBlob, raw or base64 as `aws kms
 * encrypt --output text` prints it) of the PEM key, unwrapped like the data keys. */
static cl_err unwrap_tls_key(char *err, size_t errlen) {
    cl_buf text = CL_BUF_INIT, blob = CL_BUF_INIT, plain = CL_BUF_INIT;
    cli_creds c = {0};
    cl_err e = file_read_all(kms_opts.tls_key_file, &text, 64 * 1024);
    if (e != CL_OK) {
        snprintf(err, errlen, "--tls-key-kms: cannot read %s", kms_opts.tls_key_file);
        return e;
    }
    while (text.len && (text.ptr[text.len - 1] == '\n' || text.ptr[text.len - 1] == '\r'))
        text.len--;
    if (base64_decode(&blob, buf_slice(&text)) != CL_OK || blob.len == 0) {
        blob.len = 0;
        buf_append_slice(&blob, buf_slice(&text));
    }
    e = sandbox_creds(&c, err, errlen);
    if (e == CL_OK)
        e = recipient_decrypt(cli_endpoint(kms_opts.endpoint), &c, "the TLS key", buf_slice(&blob),
                              NULL, NULL, &plain, err, errlen);
    if (e == CL_OK && !memmem(plain.ptr, plain.len, "-----BEGIN", 10)) {
        snprintf(err, errlen, "--tls-key-kms: the plaintext is not a PEM key");
        e = CL_ERR_INVALID;
    }
    if (e == CL_OK) kms_opts.tls_key_pem = cl_strndup((const char *)plain.ptr, plain.len);
    buf_free_secret(&plain);
    buf_free(&text);
    buf_free(&blob);
    if (c.access_key) cli_creds_free(&c);
    return e;
}

cl_err cli_signer_kms_apply(signer_server_opts *o, char *err, size_t errlen) {
    if (kms_opts.name) {
        o->extra_keys = kms_loader;
        o->extra_keys_arg = NULL;
    }
    if (kms_opts.tls_key_file) {
        CL_TRY(unwrap_tls_key(err, errlen));
        o->tls_key_pem = kms_opts.tls_key_pem;
    }
    return CL_OK;
}

void cli_signer_kms_done(void) {
    cl_free_secret(kms_opts.tls_key_pem);
    free(kms_opts.name);
    free(kms_opts.endpoint);
    free(kms_opts.tls_key_file);
    memset(&kms_opts, 0, sizeof kms_opts);
}

bool cli_signer_kms_wanted(void) {
    return kms_opts.name != NULL;
}

/* ---- `cloister signer keys seal`, on the operator's machine ---- */

typedef struct {
    const char *name, *key_id, *ks_dir, *pw_dir, *endpoint;
} seal_opts;

static int seal_usage(void) {
    fprintf(stderr, "usage: cloister signer keys seal --name NAME --kms-key-id KEY\n"
                    "         --keystores-path DIR --keystores-passwords-path DIR "
                    "[--endpoint URL]\n"
                    "  seals every EIP-2335 keystore of DIR under a fresh KMS data key and\n"
                    "  stores the set on the node (docs/signer.md, \"Keys sealed by KMS\")\n");
    return 2;
}

/* The secret key of keystores_dir/file with the password of its .txt. */
static cl_err open_keystore(const seal_opts *o, const char *file, uint8_t sk[SIGNER_SK_LEN],
                            char *err, size_t errlen) {
    size_t n = strlen(file);
    char *ks = cl_sprintf("%s/%s", o->ks_dir, file);
    char *pw = cl_sprintf("%s/%.*s.txt", o->pw_dir, (int)(n - 5), file);
    cl_buf text = CL_BUF_INIT, pass = CL_BUF_INIT;
    cl_err e = file_read_all(ks, &text, 1 << 20);
    if (e != CL_OK) snprintf(err, errlen, "cannot read %s", ks);
    if (e == CL_OK && (e = file_read_all(pw, &pass, 1 << 16)) != CL_OK)
        snprintf(err, errlen, "cannot read the password file %s", pw);
    while (e == CL_OK && pass.len &&
           (pass.ptr[pass.len - 1] == '\n' || pass.ptr[pass.len - 1] == '\r'))
        pass.len--;
    if (e == CL_OK) {
        char why[200] = "";
        e = signer_keystore_decrypt(buf_slice(&text), buf_slice(&pass), sk, why, sizeof why);
        if (e != CL_OK)
            snprintf(err, errlen, "%s: %s", ks, e == CL_ERR_DENIED ? "wrong password" : why);
    }
    buf_free(&text);
    buf_free_secret(&pass);
    free(ks);
    free(pw);
    return e;
}

static bool is_keystore_name(const char *n) {
    size_t l = strlen(n);
    return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".json") == 0;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json of dir, sorted. */
static char **keystore_files(const char *dir, size_t *n) {
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!is_keystore_name(de->d_name)) continue;
        if (*n == cap) v = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
        v[(*n)++] = cl_strdup(de->d_name);
    }
    if (d) closedir(d);
    if (*n) qsort(v, *n, sizeof *v, name_cmp);
    return v;
}

/* Decrypts and seals every keystore into s (keys) under dk. */
static cl_err seal_all(const seal_opts *o, const uint8_t dk[32], signer_kms_set *s, char *err,
                       size_t errlen) {
    size_t n = 0;
    char **files = keystore_files(o->ks_dir, &n);
    cl_err e = n ? CL_OK : CL_ERR_NOT_FOUND;
    if (!n) snprintf(err, errlen, "no keystore (*.json) in %s", o->ks_dir);
    s->keys = calloc(n ? n : 1, sizeof *s->keys);
    for (size_t i = 0; i < n && e == CL_OK; i++) {
        uint8_t sk[SIGNER_SK_LEN];
        e = open_keystore(o, files[i], sk, err, errlen);
        if (e == CL_OK && (e = signer_bls_pubkey(sk, s->keys[i].pk)) != CL_OK)
            snprintf(err, errlen, "%s: not a valid BLS secret key", files[i]);
        if (e == CL_OK) e = signer_kms_seal(dk, s->keys[i].pk, sk, s->keys[i].sealed);
        cl_cleanse(sk, sizeof sk);
        if (e == CL_OK) s->n = i + 1;
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return e;
}

/* GenerateDataKey: dk (plaintext) and s->encrypted_data_key. */
static cl_err data_key(const seal_opts *o, const cli_creds *c, signer_kms_set *s, uint8_t dk[32],
                       char *err, size_t errlen) {
    json_t *ans = NULL;
    char why[400];
    json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "KeyId", o->key_id, "KeySpec", "AES_256",
                             "EncryptionContext", SIGNER_KMS_CONTEXT_KEY, o->name);
    cl_err e = json_call(cli_endpoint(o->endpoint), c, "kms", "TrentService.GenerateDataKey", body,
                         &ans, why, sizeof why);
    json_decref(body);
    if (e != CL_OK) {
        snprintf(err, errlen, "KMS GenerateDataKey with %s: %s", o->key_id, why);
        return e;
    }
    cl_buf plain = CL_BUF_INIT;
    const char *p = json_string_value(json_object_get(ans, "Plaintext"));
    const char *blob = json_string_value(json_object_get(ans, "CiphertextBlob"));
    const char *arn = json_string_value(json_object_get(ans, "KeyId"));
    if (!p || !blob || base64_decode(&plain, slice_cstr(p)) != CL_OK || plain.len != 32 ||
        base64_decode(&s->encrypted_data_key, slice_cstr(blob)) != CL_OK) {
        snprintf(err, errlen, "KMS GenerateDataKey: malformed answer");
        e = CL_ERR_IO;
    } else {
        memcpy(dk, plain.ptr, 32);
        s->kms_key_id = cl_strdup(arn ? arn : o->key_id);
    }
    cl_cleanse((void *)p, p ? strlen(p) : 0);
    buf_free_secret(&plain);
    json_decref(ans);
    return e;
}

static cl_err seal_and_put(const seal_opts *o, size_t *count, char *err, size_t errlen) {
    cli_creds c;
    CL_TRY(cli_creds_load(&c, err, errlen));
    signer_kms_set s = {.name = cl_strdup(o->name)};
    uint8_t dk[32];
    cl_err e = data_key(o, &c, &s, dk, err, errlen);
    if (e == CL_OK) e = seal_all(o, dk, &s, err, errlen);
    cl_cleanse(dk, sizeof dk);
    if (e == CL_OK) {
        cl_buf text = CL_BUF_INIT;
        signer_kms_set_json(&s, &text);
        json_t *body = json_loads(buf_cstr(&text), 0, NULL), *ans = NULL;
        char why[400];
        e = json_call(cli_endpoint(o->endpoint), &c, "cloister", "Cloister.PutSignerKeys", body,
                      &ans, why, sizeof why);
        if (e != CL_OK) snprintf(err, errlen, "PutSignerKeys %s: %s", o->name, why);
        json_decref(body);
        json_decref(ans);
        buf_free(&text);
        *count = s.n;
    }
    signer_kms_set_free(&s);
    cli_creds_free(&c);
    return e;
}

int cli_signer_keys_seal(int argc, char **argv) {
    seal_opts o = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = strcmp(a, "--name") == 0                       ? &o.name
                            : strcmp(a, "--kms-key-id") == 0               ? &o.key_id
                            : strcmp(a, "--keystores-path") == 0           ? &o.ks_dir
                            : strcmp(a, "--keystores-passwords-path") == 0 ? &o.pw_dir
                            : strcmp(a, "--endpoint") == 0                 ? &o.endpoint
                                                                           : NULL;
        if (!slot || !v) return seal_usage();
        *slot = v;
        i++;
    }
    if (!o.name || !o.key_id || !o.ks_dir || !o.pw_dir) return seal_usage();
    if (!signer_kms_name_valid(o.name)) {
        fprintf(stderr, "cloister signer keys seal: --name must match [A-Za-z0-9_-]{1,64}\n");
        return 2;
    }
    char err[600] = "";
    size_t n = 0;
    if (seal_and_put(&o, &n, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister signer keys seal: %s\n", err);
        return 1;
    }
    printf("{\"Name\": \"%s\", \"KeyCount\": %zu}\n", o.name, n);
    fprintf(stderr,
            "cloister signer keys seal: %zu keys sealed under a data key of %s and stored as "
            "key set %s (ciphertexts only)\n",
            n, o.key_id, o.name);
    return 0;
}

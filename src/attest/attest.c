/* attest.c — attestation documents: writing (attest_sign) and checking
 * (attest_verify) the COSE_Sign1 / ES384 / CBOR format of AWS Nitro Enclaves
 * that attest.h specifies.
 *
 * attest_verify reads untrusted bytes (a document comes from whoever calls KMS),
 * so it is built as a series of gates, cheapest first, each one bounding what
 * the next may see:
 *   1. size: at most 64 KiB;
 *   2. well-formedness: a pass of libcbor's streaming decoder over the headers
 *      alone, before anything is allocated, checks that the bytes are exactly
 *      one definite-length item nested at most CBOR_MAX_DEPTH deep whose
 *      declared counts fit in the bytes that remain. cbor_load trusts declared
 *      counts (an array "of 2^40 items" becomes a 2^40-slot allocation) and
 *      frees recursively, so it only ever sees input that passed this gate;
 *   3. shape and types: COSE_Sign1 array, protected header {1: -35}, every
 *      payload field with its type and size limit, no unknown or repeated keys;
 *   4. chain: cabundle[0] equals the trusted root byte for byte, then OpenSSL
 *      builds leaf <- cabundle <- root with the root as the only anchor and the
 *      caller's `now` as the time;
 *   5. signature: ES384 by the leaf over the Sig_structure; COSE carries r || s,
 *      OpenSSL wants DER, ECDSA_SIG converts;
 *   6. freshness of the timestamp.
 * attest_verify_at_doc_time runs the same gates with the chain judged at the
 * document's own timestamp and no age limit (for receipts, checked long after
 * the run): a stale document passes it, a forged or re-rooted one never does.
 * Nothing from the document reaches the caller before all six pass. */
#include "attest/attest_internal.h"

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_MAX (64 * 1024)
#define CBOR_MAX_DEPTH 8
#define CABUNDLE_MAX 8
#define CERT_MAX 4096 /* DER of one certificate */
#define BLOB_MAX 1024 /* public_key, user_data, nonce: the Nitro limits */
#define MODULE_ID_MAX (sizeof(((attest_doc *)0)->module_id) - 1)
#define SCALAR_LEN 48 /* P-384 r and s */
#define SIG_LEN (2 * SCALAR_LEN)
#define COSE_HDR_ALG 1
#define COSE_ALG_ES384 (-35)
#define COSE_SIGN1_TAG 18
#define COSE_SIGN1_TAG_BYTE 0xd2 /* major type 6, value 18 */
#define FUTURE_SKEW_SECONDS 60

static cl_err fail(char *err, size_t errlen, cl_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cl_err fail(char *err, size_t errlen, cl_err e, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return e;
}

/* ---- gate 2: well-formedness before allocation ---- */

enum { SCAN_NONE, SCAN_BAD, SCAN_LEAF, SCAN_ARRAY, SCAN_MAP, SCAN_TAG };

typedef struct {
    int kind;                   /* what the header just decoded was */
    size_t n;                   /* its declared count (arrays, maps) */
    int depth;                  /* open containers */
    size_t rem[CBOR_MAX_DEPTH]; /* items each open container still expects */
} cbor_scan;

static void scan_leaf(void *c) {
    ((cbor_scan *)c)->kind = SCAN_LEAF;
}
static void scan_bad(void *c) {
    ((cbor_scan *)c)->kind = SCAN_BAD;
}
static void scan_u8(void *c, uint8_t v) {
    (void)v;
    scan_leaf(c);
}
static void scan_u16(void *c, uint16_t v) {
    (void)v;
    scan_leaf(c);
}
static void scan_u32(void *c, uint32_t v) {
    (void)v;
    scan_leaf(c);
}
static void scan_u64(void *c, uint64_t v) {
    (void)v;
    scan_leaf(c);
}
static void scan_str(void *c, cbor_data p, size_t n) {
    (void)p, (void)n;
    scan_leaf(c);
}
static void scan_f(void *c, float v) {
    (void)v;
    scan_leaf(c);
}
static void scan_d(void *c, double v) {
    (void)v;
    scan_leaf(c);
}
static void scan_bool(void *c, bool v) {
    (void)v;
    scan_leaf(c);
}
static void scan_array(void *c, size_t n) {
    ((cbor_scan *)c)->kind = SCAN_ARRAY;
    ((cbor_scan *)c)->n = n;
}
static void scan_map(void *c, size_t n) {
    ((cbor_scan *)c)->kind = SCAN_MAP;
    ((cbor_scan *)c)->n = n;
}
static void scan_tag(void *c, uint64_t v) {
    (void)v;
    ((cbor_scan *)c)->kind = SCAN_TAG;
}

static struct cbor_callbacks scan_callbacks(void) {
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = cb.negint8 = scan_u8;
    cb.uint16 = cb.negint16 = scan_u16;
    cb.uint32 = cb.negint32 = scan_u32;
    cb.uint64 = cb.negint64 = scan_u64;
    cb.byte_string = cb.string = scan_str;
    cb.float2 = cb.float4 = scan_f;
    cb.float8 = scan_d;
    cb.null = cb.undefined = scan_leaf;
    cb.boolean = scan_bool;
    cb.array_start = scan_array;
    cb.map_start = scan_map;
    cb.tag = scan_tag;
    /* Indefinite lengths are not used by the format; refusing them keeps every
     * count declared up front. */
    cb.byte_string_start = cb.string_start = scan_bad;
    cb.indef_array_start = cb.indef_map_start = cb.indef_break = scan_bad;
    return cb;
}

/* True if s is exactly one definite-length CBOR item, nested at most
 * CBOR_MAX_DEPTH deep, whose declared counts fit in the bytes that follow. */
static bool cbor_well_formed(cl_slice s) {
    struct cbor_callbacks cb = scan_callbacks();
    cbor_scan sc = {0};
    size_t off = 0;
    while (off < s.len) {
        sc.kind = SCAN_NONE;
        struct cbor_decoder_result r = cbor_stream_decode(s.ptr + off, s.len - off, &cb, &sc);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0) return false;
        off += r.read;
        size_t left = s.len - off;
        switch (sc.kind) {
        case SCAN_LEAF:
            sc.n = 0;
            break;
        case SCAN_ARRAY:
            if (sc.n > left) return false;
            break;
        case SCAN_MAP:
            if (sc.n > left / 2) return false;
            sc.n *= 2;
            break;
        case SCAN_TAG:
            sc.n = 1;
            break;
        default:
            return false; /* SCAN_BAD, or a simple value nobody handled */
        }
        if (sc.n > 0) {
            if (sc.depth == CBOR_MAX_DEPTH) return false;
            sc.rem[sc.depth++] = sc.n;
            continue;
        }
        /* An item is complete: close every container it completes. */
        while (sc.depth > 0 && --sc.rem[sc.depth - 1] == 0)
            sc.depth--;
        if (sc.depth == 0) return off == s.len;
    }
    return false;
}

/* NULL unless s is one well-formed item (see above). */
static cbor_item_t *cbor_parse(cl_slice s) {
    if (!s.ptr || !cbor_well_formed(s)) return NULL;
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(s.ptr, s.len, &res);
    if (it && res.read != s.len) cbor_decref(&it);
    return it;
}

/* ---- reading items ---- */

static cl_slice item_bytes(const cbor_item_t *it) {
    return slice_of(cbor_bytestring_handle(it), cbor_bytestring_length(it));
}

static cl_slice item_text(const cbor_item_t *it) {
    return slice_of(cbor_string_handle(it), cbor_string_length(it));
}

static bool is_bytes(const cbor_item_t *it) {
    return cbor_isa_bytestring(it) && cbor_bytestring_is_definite(it);
}

static bool is_text(const cbor_item_t *it) {
    return cbor_isa_string(it) && cbor_string_is_definite(it);
}

static bool is_int(const cbor_item_t *it, int64_t v) {
    if (v >= 0) return cbor_isa_uint(it) && cbor_get_int(it) == (uint64_t)v;
    return cbor_isa_negint(it) && cbor_get_int(it) == (uint64_t)(-(v + 1));
}

/* ---- building items (libcbor returns NULL only when out of memory) ---- */

static cbor_item_t *must(cbor_item_t *it) {
    if (!it) abort();
    return it;
}

static cbor_item_t *new_bytes(cl_slice s) {
    return must(cbor_build_bytestring(s.ptr ? s.ptr : (const uint8_t *)"", s.len));
}

static void map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value) {
    if (!cbor_map_add(map, (struct cbor_pair){.key = cbor_move(key), .value = cbor_move(value)}))
        abort();
}

static void array_push(cbor_item_t *array, cbor_item_t *it) {
    if (!cbor_array_push(array, cbor_move(it))) abort();
}

/* Serializes it into out and releases it. */
static void emit(cbor_item_t *it, cl_buf *out) {
    unsigned char *p = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(it, &p, &cap);
    if (n == 0) abort();
    buf_append(out, p, n);
    free(p);
    cbor_decref(&it);
}

/* COSE protected header: {1: -35}. */
static void encode_protected(cl_buf *out) {
    cbor_item_t *m = must(cbor_new_definite_map(1));
    map_put(m, must(cbor_build_uint8(COSE_HDR_ALG)),
            must(cbor_build_negint8((uint8_t)(-COSE_ALG_ES384 - 1))));
    emit(m, out);
}

/* RFC 8152 section 4.4: ["Signature1", protected, external_aad = h'', payload]. */
static void sig_structure(cl_slice prot, cl_slice payload, cl_buf *out) {
    cbor_item_t *a = must(cbor_new_definite_array(4));
    array_push(a, must(cbor_build_string("Signature1")));
    array_push(a, new_bytes(prot));
    array_push(a, new_bytes(CL_SLICE_NULL));
    array_push(a, new_bytes(payload));
    emit(a, out);
}

/* ---- the payload fields ---- */

enum {
    F_MODULE_ID,
    F_DIGEST,
    F_TIMESTAMP,
    F_PCRS,
    F_CERTIFICATE,
    F_CABUNDLE,
    F_PUBLIC_KEY,
    F_USER_DATA,
    F_NONCE,
    F_COUNT
};
static const char *const FIELD_NAMES[F_COUNT] = {
    "module_id", "digest",     "timestamp", "pcrs",  "certificate",
    "cabundle",  "public_key", "user_data", "nonce",
};
#define F_REQUIRED ((1u << F_PUBLIC_KEY) - 1) /* all before public_key */

static bool spki_parses(cl_slice der) {
    const unsigned char *p = der.ptr;
    EVP_PKEY *k = der.len && der.len <= BLOB_MAX ? d2i_PUBKEY(NULL, &p, (long)der.len) : NULL;
    bool ok = k && p == der.ptr + der.len;
    EVP_PKEY_free(k);
    ERR_clear_error();
    return ok;
}

static bool module_id_ok(cl_slice id) {
    return id.len <= MODULE_ID_MAX &&
           (id.len == 0 || (!memchr(id.ptr, 0, id.len) && utf8_valid(id)));
}

/* What the checks after parsing need besides the attest_doc: slices into the
 * payload item, valid while it lives. */
typedef struct {
    cl_slice certificate;
    cl_slice cabundle[CABUNDLE_MAX];
    size_t n_cabundle;
} doc_certs;

static cl_err parse_pcrs(const cbor_item_t *m, attest_doc *d, char *err, size_t errlen) {
    if (!cbor_isa_map(m) || cbor_map_size(m) > ATTEST_PCR_COUNT)
        return fail(err, errlen, CL_ERR_INVALID, "pcrs: not a map of at most %d entries",
                    ATTEST_PCR_COUNT);
    struct cbor_pair *pairs = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        if (!cbor_isa_uint(pairs[i].key) || cbor_get_int(pairs[i].key) >= ATTEST_PCR_COUNT)
            return fail(err, errlen, CL_ERR_INVALID, "pcrs: index is not an integer 0..%d",
                        ATTEST_PCR_COUNT - 1);
        unsigned idx = (unsigned)cbor_get_int(pairs[i].key);
        if (d->pcr_present & (1u << idx))
            return fail(err, errlen, CL_ERR_INVALID, "pcrs: PCR%u given twice", idx);
        if (!is_bytes(pairs[i].value) || cbor_bytestring_length(pairs[i].value) != ATTEST_PCR_LEN)
            return fail(err, errlen, CL_ERR_INVALID, "pcrs: PCR%u is not %d bytes", idx,
                        ATTEST_PCR_LEN);
        memcpy(d->pcrs[idx], cbor_bytestring_handle(pairs[i].value), ATTEST_PCR_LEN);
        d->pcr_present |= (uint16_t)(1u << idx);
    }
    return CL_OK;
}

static bool is_cert_bytes(const cbor_item_t *it) {
    return is_bytes(it) && cbor_bytestring_length(it) >= 1 &&
           cbor_bytestring_length(it) <= CERT_MAX;
}

static cl_err parse_cabundle(const cbor_item_t *a, doc_certs *c, char *err, size_t errlen) {
    if (!cbor_isa_array(a) || cbor_array_size(a) < 1 || cbor_array_size(a) > CABUNDLE_MAX)
        return fail(err, errlen, CL_ERR_INVALID, "cabundle: not an array of 1..%d certificates",
                    CABUNDLE_MAX);
    cbor_item_t **items = cbor_array_handle(a);
    for (size_t i = 0; i < cbor_array_size(a); i++) {
        if (!is_cert_bytes(items[i]))
            return fail(err, errlen, CL_ERR_INVALID, "cabundle[%zu]: not a certificate", i);
        c->cabundle[i] = item_bytes(items[i]);
    }
    c->n_cabundle = cbor_array_size(a);
    return CL_OK;
}

/* nil, or a byte string of at most BLOB_MAX bytes (copied into out). */
static cl_err parse_blob(const cbor_item_t *v, int f, cl_buf *out, char *err, size_t errlen) {
    if (cbor_is_null(v)) return CL_OK;
    if (!is_bytes(v) || cbor_bytestring_length(v) > BLOB_MAX)
        return fail(err, errlen, CL_ERR_INVALID, "%s: not nil or a byte string of at most %d",
                    FIELD_NAMES[f], BLOB_MAX);
    buf_append_slice(out, item_bytes(v));
    if (f == F_PUBLIC_KEY && !spki_parses(buf_slice(out)))
        return fail(err, errlen, CL_ERR_INVALID, "public_key: not a DER SubjectPublicKeyInfo");
    return CL_OK;
}

static cl_err parse_field(int f, const cbor_item_t *v, attest_doc *d, doc_certs *c, char *err,
                          size_t errlen) {
    switch (f) {
    case F_MODULE_ID:
        if (!is_text(v) || !module_id_ok(item_text(v)))
            return fail(err, errlen, CL_ERR_INVALID, "module_id: not a text string of at most %zu",
                        MODULE_ID_MAX);
        if (cbor_string_length(v))
            memcpy(d->module_id, cbor_string_handle(v), cbor_string_length(v));
        d->module_id[cbor_string_length(v)] = 0;
        return CL_OK;
    case F_DIGEST:
        if (!is_text(v) || !slice_eq_cstr(item_text(v), "SHA384"))
            return fail(err, errlen, CL_ERR_INVALID, "digest: not \"SHA384\"");
        return CL_OK;
    case F_TIMESTAMP:
        if (!cbor_isa_uint(v))
            return fail(err, errlen, CL_ERR_INVALID, "timestamp: not an unsigned integer");
        d->timestamp_ms = cbor_get_int(v);
        return CL_OK;
    case F_PCRS:
        return parse_pcrs(v, d, err, errlen);
    case F_CERTIFICATE:
        if (!is_cert_bytes(v))
            return fail(err, errlen, CL_ERR_INVALID, "certificate: not a byte string of 1..%d",
                        CERT_MAX);
        c->certificate = item_bytes(v);
        return CL_OK;
    case F_CABUNDLE:
        return parse_cabundle(v, c, err, errlen);
    case F_PUBLIC_KEY:
        return parse_blob(v, f, &d->public_key, err, errlen);
    case F_USER_DATA:
        return parse_blob(v, f, &d->user_data, err, errlen);
    default:
        return parse_blob(v, f, &d->nonce, err, errlen);
    }
}

static int field_index(const cbor_item_t *key) {
    if (!is_text(key)) return -1;
    for (int f = 0; f < F_COUNT; f++)
        if (slice_eq_cstr(item_text(key), FIELD_NAMES[f])) return f;
    return -1;
}

static cl_err parse_payload(const cbor_item_t *m, attest_doc *d, doc_certs *c, char *err,
                            size_t errlen) {
    if (!cbor_isa_map(m)) return fail(err, errlen, CL_ERR_INVALID, "payload: not a map");
    unsigned seen = 0;
    struct cbor_pair *pairs = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        int f = field_index(pairs[i].key);
        if (f < 0) return fail(err, errlen, CL_ERR_INVALID, "payload: unknown field");
        if (seen & (1u << f))
            return fail(err, errlen, CL_ERR_INVALID, "payload: %s given twice", FIELD_NAMES[f]);
        seen |= 1u << f;
        CL_TRY(parse_field(f, pairs[i].value, d, c, err, errlen));
    }
    for (int f = 0; f < F_COUNT; f++)
        if ((F_REQUIRED & (1u << f)) && !(seen & (1u << f)))
            return fail(err, errlen, CL_ERR_INVALID, "payload: %s missing", FIELD_NAMES[f]);
    return CL_OK;
}

/* ---- gate 3: the COSE_Sign1 envelope ---- */

typedef struct {
    cl_slice prot, payload, signature;
} cose_parts;

static bool protected_is_es384(cl_slice prot) {
    cbor_item_t *h = cbor_parse(prot);
    bool ok = h && cbor_isa_map(h) && cbor_map_size(h) == 1 &&
              is_int(cbor_map_handle(h)[0].key, COSE_HDR_ALG) &&
              is_int(cbor_map_handle(h)[0].value, COSE_ALG_ES384);
    if (h) cbor_decref(&h);
    return ok;
}

/* Splits the top item (tag 18 optional, in the longer encodings that reach
 * here) into its parts; slices point into top. */
static cl_err cose_split(const cbor_item_t *top, cose_parts *p, char *err, size_t errlen) {
    const cbor_item_t *a = top;
    if (cbor_isa_tag(top)) {
        if (cbor_tag_value(top) != COSE_SIGN1_TAG)
            return fail(err, errlen, CL_ERR_INVALID, "COSE: unexpected tag %llu",
                        (unsigned long long)cbor_tag_value(top));
        a = top->metadata.tag_metadata.tagged_item; /* borrowed, no reference taken */
    }
    if (!cbor_isa_array(a) || cbor_array_size(a) != 4)
        return fail(err, errlen, CL_ERR_INVALID, "COSE: not a COSE_Sign1 array of 4");
    cbor_item_t **it = cbor_array_handle(a);
    if (!is_bytes(it[0]) || !is_bytes(it[2]) || !is_bytes(it[3]) || !cbor_isa_map(it[1]))
        return fail(err, errlen, CL_ERR_INVALID, "COSE: wrong item types");
    p->prot = item_bytes(it[0]);
    p->payload = item_bytes(it[2]);
    p->signature = item_bytes(it[3]);
    if (!protected_is_es384(p->prot))
        return fail(err, errlen, CL_ERR_INVALID, "COSE: protected header is not {1: -35} (ES384)");
    if (p->signature.len != SIG_LEN)
        return fail(err, errlen, CL_ERR_INVALID, "COSE: signature is not %d bytes", SIG_LEN);
    return CL_OK;
}

/* ---- gate 4: the chain ---- */

static X509 *x509_parse(cl_slice der) {
    const unsigned char *p = der.ptr;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    if (x && p != der.ptr + der.len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static cl_err chain_run(X509 *leaf, STACK_OF(X509) * untrusted, X509 *root, time_t now, char *err,
                        size_t errlen) {
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    cl_err e = CL_ERR_NOMEM;
    if (store && ctx && X509_STORE_add_cert(store, root) == 1 &&
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(param, now);
        X509_VERIFY_PARAM_set_depth(param, CABUNDLE_MAX);
        if (X509_verify_cert(ctx) == 1) {
            e = CL_OK;
        } else {
            int code = X509_STORE_CTX_get_error(ctx);
            e = code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID
                    ? CL_ERR_EXPIRED
                    : CL_ERR_CRYPTO;
            fail(err, errlen, e, "certificate chain: %s", X509_verify_cert_error_string(code));
        }
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return e;
}

/* On success *leaf_out is the parsed leaf certificate (the caller frees it). */
static cl_err check_chain(const doc_certs *c, cl_slice root_der, time_t now, X509 **leaf_out,
                          char *err, size_t errlen) {
    if (!slice_eq(c->cabundle[0], root_der))
        return fail(err, errlen, CL_ERR_CRYPTO, "cabundle[0] is not the trusted root");
    X509 *root = x509_parse(root_der);
    if (!root) return fail(err, errlen, CL_ERR_CRYPTO, "the trusted root does not parse");
    X509 *leaf = x509_parse(c->certificate);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    cl_err e =
        leaf && untrusted ? CL_OK : fail(err, errlen, CL_ERR_INVALID, "certificate: not DER X.509");
    for (size_t i = 1; e == CL_OK && i < c->n_cabundle; i++) {
        X509 *x = x509_parse(c->cabundle[i]);
        if (!x || !sk_X509_push(untrusted, x)) {
            X509_free(x);
            e = fail(err, errlen, CL_ERR_INVALID, "cabundle[%zu]: not DER X.509", i);
        }
    }
    if (e == CL_OK) e = chain_run(leaf, untrusted, root, now, err, errlen);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(root);
    if (e == CL_OK)
        *leaf_out = leaf;
    else
        X509_free(leaf);
    ERR_clear_error();
    return e;
}

/* ---- gate 5: the signature ---- */

static bool key_is_p384(EVP_PKEY *k) {
    char group[32];
    size_t n = 0;
    return k && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &n) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

/* r || s (COSE) -> DER ECDSA-Sig-Value (OpenSSL). */
static bool sig_raw_to_der(cl_slice raw, cl_buf *der) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw.ptr, SCALAR_LEN, NULL);
    BIGNUM *s = BN_bin2bn(raw.ptr + SCALAR_LEN, SCALAR_LEN, NULL);
    bool ok = sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1;
    if (!ok) {
        BN_free(r);
        BN_free(s);
    }
    unsigned char *p = NULL;
    int n = ok ? i2d_ECDSA_SIG(sig, &p) : 0;
    if (n > 0) buf_append(der, p, (size_t)n);
    OPENSSL_free(p);
    ECDSA_SIG_free(sig);
    return n > 0;
}

/* DER ECDSA-Sig-Value -> r || s, each left-padded to 48 bytes. */
static bool sig_der_to_raw(cl_slice der, uint8_t raw[SIG_LEN]) {
    const unsigned char *p = der.ptr;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der.len);
    bool ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, SCALAR_LEN) == SCALAR_LEN &&
              BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + SCALAR_LEN, SCALAR_LEN) == SCALAR_LEN;
    ECDSA_SIG_free(sig);
    return ok;
}

static cl_err check_signature(X509 *leaf, const cose_parts *p, char *err, size_t errlen) {
    EVP_PKEY *k = X509_get0_pubkey(leaf);
    if (!key_is_p384(k))
        return fail(err, errlen, CL_ERR_CRYPTO, "certificate: key is not ECDSA P-384");
    cl_buf tbs = CL_BUF_INIT, der = CL_BUF_INIT;
    sig_structure(p->prot, p->payload, &tbs);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && sig_raw_to_der(p->signature, &der) &&
              EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, k) == 1 &&
              EVP_DigestVerify(md, der.ptr, der.len, tbs.ptr, tbs.len) == 1;
    EVP_MD_CTX_free(md);
    buf_free(&tbs);
    buf_free(&der);
    ERR_clear_error();
    return ok ? CL_OK : fail(err, errlen, CL_ERR_CRYPTO, "signature does not verify");
}

/* ---- gate 6: freshness ---- */

static cl_err check_fresh(uint64_t ts_ms, time_t now, char *err, size_t errlen) {
    uint64_t now_ms = now > 0 ? (uint64_t)now * 1000 : 0;
    uint64_t oldest =
        now_ms > ATTEST_MAX_AGE_SECONDS * 1000ULL ? now_ms - ATTEST_MAX_AGE_SECONDS * 1000ULL : 0;
    if (ts_ms < oldest)
        return fail(err, errlen, CL_ERR_EXPIRED, "document is stale (signed %llu s ago)",
                    (unsigned long long)((now_ms - ts_ms) / 1000));
    if (ts_ms > now_ms + FUTURE_SKEW_SECONDS * 1000ULL)
        return fail(err, errlen, CL_ERR_EXPIRED, "document timestamp is in the future");
    return CL_OK;
}

/* ---- verify ---- */

/* at_doc_time: the chain is judged at the document's own timestamp and
 * freshness only refuses a timestamp after now (attest_verify_at_doc_time). */
static cl_err verify_payload(const cose_parts *p, cl_slice root_der, time_t now, bool at_doc_time,
                             attest_doc *d, char *err, size_t errlen) {
    cbor_item_t *m = cbor_parse(p->payload);
    if (!m) return fail(err, errlen, CL_ERR_INVALID, "payload: not well-formed CBOR");
    doc_certs c = {0};
    X509 *leaf = NULL;
    cl_err e = parse_payload(m, d, &c, err, errlen);
    time_t chain_time = at_doc_time ? (time_t)(d->timestamp_ms / 1000) : now;
    if (e == CL_OK) e = check_chain(&c, root_der, chain_time, &leaf, err, errlen);
    if (e == CL_OK) e = check_signature(leaf, p, err, errlen);
    if (e == CL_OK && !at_doc_time) e = check_fresh(d->timestamp_ms, now, err, errlen);
    if (e == CL_OK && at_doc_time && d->timestamp_ms / 1000 > (uint64_t)now + FUTURE_SKEW_SECONDS)
        e = fail(err, errlen, CL_ERR_EXPIRED, "document timestamp is in the future");
    X509_free(leaf);
    cbor_decref(&m);
    return e;
}

static cl_err verify_doc(cl_slice doc, cl_slice root_der, time_t now, bool at_doc_time,
                         attest_doc *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = 0;
    if (doc.len > DOC_MAX)
        return fail(err, errlen, CL_ERR_INVALID, "document larger than %d bytes", DOC_MAX);
    /* libcbor 0.8's decoder refuses the one-byte tags 6..20 (0xc6..0xd4) as
     * unassigned, COSE_Sign1's 18 among them: the tag is taken off here. */
    if (doc.len && doc.ptr[0] == COSE_SIGN1_TAG_BYTE) doc = slice_sub(doc, 1, doc.len - 1);
    cbor_item_t *top = cbor_parse(doc);
    if (!top) return fail(err, errlen, CL_ERR_INVALID, "document: not well-formed CBOR");
    cose_parts p = {0};
    attest_doc d = {0};
    cl_err e = cose_split(top, &p, err, errlen);
    if (e == CL_OK) e = verify_payload(&p, root_der, now, at_doc_time, &d, err, errlen);
    cbor_decref(&top);
    if (e != CL_OK) {
        attest_doc_free(&d);
        return e;
    }
    *out = d;
    return CL_OK;
}

cl_err attest_verify(cl_slice doc, cl_slice root_der, time_t now, attest_doc *out, char *err,
                     size_t errlen) {
    return verify_doc(doc, root_der, now, false, out, err, errlen);
}

cl_err attest_verify_at_doc_time(cl_slice doc, cl_slice root_der, time_t now, attest_doc *out,
                                 char *err, size_t errlen) {
    return verify_doc(doc, root_der, now, true, out, err, errlen);
}

/* ---- sign ---- */

/* Milliseconds on the clock time() and so time_now() read: the coarse one,
 * which may lag CLOCK_REALTIME by a tick (a document must not look later than
 * the time_now() of the same moment). */
static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    time_t offset = time_now() - time(NULL); /* CLOISTER_FAKE_NOW_OFFSET */
    return (uint64_t)(ts.tv_sec + offset) * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Refuses what attest_verify would refuse, so nothing unverifiable is signed. */
static cl_err sign_check(const attest_doc *d) {
    const char *end = memchr(d->module_id, 0, sizeof d->module_id);
    if (!end || !module_id_ok(slice_of(d->module_id, (size_t)(end - d->module_id))))
        return CL_ERR_INVALID;
    if (d->public_key.len && !spki_parses(buf_slice(&d->public_key))) return CL_ERR_INVALID;
    if (d->user_data.len > BLOB_MAX || d->nonce.len > BLOB_MAX) return CL_ERR_INVALID;
    return CL_OK;
}

static cbor_item_t *blob_or_nil(const cl_buf *b) {
    return b->len ? new_bytes(buf_slice(b)) : must(cbor_new_null());
}

static void encode_payload(const attest_doc *d, uint64_t ts, cl_slice cert, cl_slice root,
                           cl_buf *out) {
    cbor_item_t *m = must(cbor_new_definite_map(F_COUNT));
    cbor_item_t *pcrs = must(cbor_new_definite_map(ATTEST_PCR_COUNT));
    for (int i = 0; i < ATTEST_PCR_COUNT; i++)
        if (d->pcr_present & (1u << i))
            map_put(pcrs, must(cbor_build_uint8((uint8_t)i)),
                    new_bytes(slice_of(d->pcrs[i], ATTEST_PCR_LEN)));
    cbor_item_t *bundle = must(cbor_new_definite_array(1));
    array_push(bundle, new_bytes(root));
    cbor_item_t *values[F_COUNT] = {
        [F_MODULE_ID] = must(cbor_build_string(d->module_id)),
        [F_DIGEST] = must(cbor_build_string("SHA384")),
        [F_TIMESTAMP] = must(cbor_build_uint64(ts)),
        [F_PCRS] = pcrs,
        [F_CERTIFICATE] = new_bytes(cert),
        [F_CABUNDLE] = bundle,
        [F_PUBLIC_KEY] = blob_or_nil(&d->public_key),
        [F_USER_DATA] = blob_or_nil(&d->user_data),
        [F_NONCE] = blob_or_nil(&d->nonce),
    };
    for (int f = 0; f < F_COUNT; f++)
        map_put(m, must(cbor_build_string(FIELD_NAMES[f])), values[f]);
    emit(m, out);
}

static cl_err es384_sign(EVP_PKEY *key, cl_slice tbs, uint8_t raw[SIG_LEN]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    unsigned char *der = NULL;
    bool ok =
        md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
        EVP_DigestSign(md, NULL, &n, tbs.ptr, tbs.len) == 1 && (der = OPENSSL_malloc(n)) != NULL &&
        EVP_DigestSign(md, der, &n, tbs.ptr, tbs.len) == 1 && sig_der_to_raw(slice_of(der, n), raw);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok ? CL_OK : CL_ERR_CRYPTO;
}

cl_err attest_sign(const attest_root *r, const attest_doc *d, cl_buf *out) {
    CL_TRY(sign_check(d));
    EVP_PKEY *leaf = NULL;
    cl_buf cert = CL_BUF_INIT, prot = CL_BUF_INIT, payload = CL_BUF_INIT, tbs = CL_BUF_INIT;
    cl_err e = attest_root_leaf(r, &leaf, &cert);
    uint8_t sig[SIG_LEN];
    if (e == CL_OK) {
        encode_protected(&prot);
        encode_payload(d, d->timestamp_ms ? d->timestamp_ms : now_ms(), buf_slice(&cert),
                       attest_root_cert_der(r), &payload);
        sig_structure(buf_slice(&prot), buf_slice(&payload), &tbs);
        e = es384_sign(leaf, buf_slice(&tbs), sig);
    }
    if (e == CL_OK) {
        cbor_item_t *a = must(cbor_new_definite_array(4));
        array_push(a, new_bytes(buf_slice(&prot)));
        array_push(a, must(cbor_new_definite_map(0)));
        array_push(a, new_bytes(buf_slice(&payload)));
        array_push(a, new_bytes(slice_of(sig, SIG_LEN)));
        emit(a, out);
    }
    EVP_PKEY_free(leaf);
    buf_free(&cert);
    buf_free(&prot);
    buf_free(&payload);
    buf_free(&tbs);
    return e;
}

/* ---- the doc ---- */

void attest_doc_free(attest_doc *d) {
    if (!d) return;
    buf_free(&d->public_key);
    buf_free(&d->user_data);
    buf_free(&d->nonce);
    memset(d, 0, sizeof *d);
}

bool attest_pcr_hex(const attest_doc *d, int i, char out[ATTEST_PCR_LEN * 2 + 1]) {
    if (i < 0 || i >= ATTEST_PCR_COUNT || !(d->pcr_present & (1u << i))) return false;
    hex_encode_to(out, d->pcrs[i], ATTEST_PCR_LEN);
    return true;
}

/* s3_mpck.c — checksums of multipart uploads (AWS user guide, "Checking object
 * integrity"; API reference CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload).
 *
 * CreateMultipartUpload's x-amz-checksum-algorithm (CRC32, CRC32C, CRC64NVME,
 * SHA1, SHA256) and x-amz-checksum-type (COMPOSITE, FULL_OBJECT; the default is
 * FULL_OBJECT for CRC64NVME, COMPOSITE for the others; SHA only COMPOSITE,
 * CRC64NVME only FULL_OBJECT) are recorded in the upload document
 * ("ChecksumAlgorithm", "ChecksumType") and echoed. Every part of such an upload
 * gets that checksum: sent as a header or trailer (verified by the upload path:
 * BadDigest) or, when the client sent none, computed by the server; a part that
 * declares another algorithm is refused (400 InvalidRequest).
 * CompleteMultipartUpload compares each checksum its body gives for a part with
 * the recorded one (400 InvalidPart) and makes the object's checksum:
 *   COMPOSITE    base64(H(raw part checksums, concatenated in part order)) "-N"
 *   FULL_OBJECT  the CRC of the whole object, combined from the parts' CRCs
 *                and sizes (checksum_crc_combine)
 * An x-amz-checksum-<algo> header on Complete must equal it (400 BadDigest).
 * The object keeps "Checksum" {ALGO: value} and "ChecksumType"; HEAD/GET show
 * them with x-amz-checksum-mode: ENABLED (with ?partNumber=N, part N's own
 * checksum), GetObjectAttributes in Checksum and ObjectParts. Objects from a
 * single PUT have the FULL_OBJECT type.
 * S3's default (since December 2024): a PUT or part sent without a checksum gets
 * a CRC64NVME computed by the server (s3_object.c, s3_copy.c), and an upload
 * created without an algorithm completes with the FULL_OBJECT CRC64NVME of the
 * object (API reference, Checksum: "or if the object was uploaded without a
 * checksum (and Amazon S3 added the default checksum, CRC64NVME ...)"). */
#include "s3/s3_mpck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void lower(char *s) {
    for (; *s; s++)
        *s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
}

static bool invalid_request(s3_op *op, const char *msg) {
    aws_fault_set(&op->f, 400, "InvalidRequest", "%s", msg);
    return false;
}

checksum_algo s3_mpck_algo(json_t *upload) {
    const char *a = json_string_value(json_object_get(upload, "ChecksumAlgorithm"));
    return a ? checksum_algo_parse(slice_cstr(a)) : CHECKSUM_NONE;
}

bool s3_mpck_create(s3_op *op, json_t *upload) {
    const char *alg = kvlist_get_ci(&op->req->headers, "x-amz-checksum-algorithm");
    const char *type = kvlist_get_ci(&op->req->headers, "x-amz-checksum-type");
    if (!alg && !type) return true;
    if (!alg)
        return invalid_request(op, "The x-amz-checksum-type header can only be used with the "
                                   "x-amz-checksum-algorithm header.");
    checksum_algo a = checksum_algo_parse(slice_cstr(alg));
    if (a == CHECKSUM_NONE)
        return invalid_request(op, "Checksum algorithm provided is unsupported. Please try again "
                                   "with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, "
                                   "SHA256]");
    if (!type) type = a == CHECKSUM_CRC64NVME ? "FULL_OBJECT" : "COMPOSITE";
    bool full = strcmp(type, "FULL_OBJECT") == 0;
    if (!full && strcmp(type, "COMPOSITE") != 0)
        return invalid_request(op, "Value for x-amz-checksum-type header is invalid.");
    bool crc = a == CHECKSUM_CRC32 || a == CHECKSUM_CRC32C || a == CHECKSUM_CRC64NVME;
    if ((full && !crc) || (!full && a == CHECKSUM_CRC64NVME)) {
        char name[16];
        snprintf(name, sizeof name, "%s", checksum_algo_name(a));
        lower(name);
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "The %s checksum type cannot be used with the %s checksum algorithm.", type,
                      name);
        return false;
    }
    json_object_set_new(upload, "ChecksumAlgorithm", json_string(checksum_algo_name(a)));
    json_object_set_new(upload, "ChecksumType", json_string(type));
    return true;
}

void s3_mpck_headers(http_response *r, json_t *upload) {
    const char *a = json_string_value(json_object_get(upload, "ChecksumAlgorithm"));
    const char *t = json_string_value(json_object_get(upload, "ChecksumType"));
    if (a) http_set_header(r, "x-amz-checksum-algorithm", a);
    if (t) http_set_header(r, "x-amz-checksum-type", t);
}

/* The algorithm an UploadPart request declares: x-amz-checksum-<algo>,
 * x-amz-trailer or x-amz-sdk-checksum-algorithm. */
static checksum_algo declared(const s3_op *op) {
    for (size_t i = 0; i < op->req->headers.len; i++) {
        const cl_kv *h = &op->req->headers.items[i];
        checksum_algo a = checksum_algo_from_header(slice_cstr(h->key));
        if (a == CHECKSUM_NONE && strcasecmp(h->key, "x-amz-trailer") == 0)
            a = checksum_algo_from_header(slice_trim(slice_cstr(h->value)));
        if (a == CHECKSUM_NONE && strcasecmp(h->key, "x-amz-sdk-checksum-algorithm") == 0)
            a = checksum_algo_parse(slice_trim(slice_cstr(h->value)));
        if (a != CHECKSUM_NONE) return a;
    }
    return CHECKSUM_NONE;
}

bool s3_mpck_part_check(s3_op *op, json_t *upload, checksum_algo *compute) {
    checksum_algo want = s3_mpck_algo(upload), got = declared(op);
    *compute = want;
    if (want == CHECKSUM_NONE || got == CHECKSUM_NONE || got == want) return true;
    char w[16], g[16];
    snprintf(w, sizeof w, "%s", checksum_algo_name(want));
    snprintf(g, sizeof g, "%s", checksum_algo_name(got));
    lower(w);
    lower(g);
    aws_fault_set(&op->f, 400, "InvalidRequest",
                  "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum "
                  "Type: %s",
                  w, g);
    return false;
}

/* <ChecksumCRC32>..</ChecksumCRC32>... for each entry of a "Checksum" object. */
void s3_mpck_checksums_xml(cl_buf *o, json_t *checksum) {
    const char *k;
    json_t *v;
    json_object_foreach(checksum, k, v) {
        char tag[40];
        snprintf(tag, sizeof tag, "Checksum%s", k);
        xml_text(o, tag, json_string_value(v));
    }
}

void s3_mpck_list_parts_xml(cl_buf *o, json_t *upload) {
    const char *a = json_string_value(json_object_get(upload, "ChecksumAlgorithm"));
    const char *t = json_string_value(json_object_get(upload, "ChecksumType"));
    if (a) xml_text(o, "ChecksumAlgorithm", a);
    if (t) xml_text(o, "ChecksumType", t);
}

void s3_mpck_result_xml(cl_buf *o, json_t *doc) {
    json_t *ck = json_object_get(doc, "Checksum");
    if (!json_object_size(ck)) return;
    s3_mpck_checksums_xml(o, ck);
    xml_text(o, "ChecksumType", s3_mpck_type(doc));
}

const char *s3_mpck_type(json_t *doc) {
    const char *t = json_string_value(json_object_get(doc, "ChecksumType"));
    return t ? t : "FULL_OBJECT"; /* a single PUT's checksum covers the whole object */
}

/* ---- CompleteMultipartUpload ---- */

static json_t *find_part(json_t *parts, int number) {
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        if (json_integer_value(json_object_get(p, "PartNumber")) == number) return p;
    }
    return NULL;
}

static const char *given(const s3_checksums *c, checksum_algo a) {
    switch (a) {
    case CHECKSUM_CRC32:
        return c->crc32;
    case CHECKSUM_CRC32C:
        return c->crc32c;
    case CHECKSUM_CRC64NVME:
        return c->crc64nvme;
    case CHECKSUM_SHA1:
        return c->sha1;
    case CHECKSUM_SHA256:
        return c->sha256;
    default:
        return NULL;
    }
}

static bool invalid_part(s3_op *op) {
    aws_fault_set(&op->f, 400, "InvalidPart",
                  "One or more of the specified parts could not be found. The part may not have "
                  "been uploaded, or the specified entity tag may not match the part's entity "
                  "tag.");
    return false;
}

/* Each checksum the body gives for a part equals the part's recorded one. */
static bool check_given(s3_op *op, const s3_complete_upload *req, json_t *parts) {
    for (size_t i = 0; i < req->len; i++) {
        json_t *ck = json_object_get(find_part(parts, req->parts[i].part_number), "Checksum");
        for (checksum_algo a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
            const char *g = given(&req->parts[i].checksums, a);
            const char *have = json_string_value(json_object_get(ck, checksum_algo_name(a)));
            if (g && (!have || strcmp(g, have) != 0)) return invalid_part(op);
        }
    }
    return true;
}

/* The raw (big-endian) checksum of algorithm a recorded for part p. */
static bool part_raw(json_t *p, checksum_algo a, cl_buf *raw) {
    const char *v =
        json_string_value(json_object_get(json_object_get(p, "Checksum"), checksum_algo_name(a)));
    buf_clear(raw);
    return v && base64_decode(raw, slice_cstr(v)) == CL_OK && raw->len == checksum_len(a);
}

static uint64_t load_be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The object's checksum (base64, "-N" for COMPOSITE) into out; false (fault
 * set) if a part has no checksum of the upload's algorithm. */
static bool object_checksum(s3_op *op, const s3_complete_upload *req, json_t *parts,
                            checksum_algo a, bool full, char out[CHECKSUM_B64_MAX + 8]) {
    checksum_ctx c;
    checksum_init(&c, full ? CHECKSUM_NONE : a);
    cl_buf raw = CL_BUF_INIT;
    uint64_t crc = 0;
    size_t n = checksum_len(a);
    for (size_t i = 0; i < req->len; i++) {
        json_t *p = find_part(parts, req->parts[i].part_number);
        if (!part_raw(p, a, &raw)) {
            checksum_reset(&c);
            buf_free(&raw);
            aws_fault_set(&op->f, 400, "InvalidRequest",
                          "The upload was created using a %s checksum. Part %d has none.",
                          checksum_algo_name(a), req->parts[i].part_number);
            return false;
        }
        if (!full) {
            checksum_update(&c, buf_slice(&raw));
            continue;
        }
        uint64_t part_crc = load_be(raw.ptr, n);
        uint64_t size = (uint64_t)json_integer_value(json_object_get(p, "Size"));
        crc = i == 0 ? part_crc : checksum_crc_combine(a, crc, part_crc, size);
    }
    buf_free(&raw);
    if (!full) {
        char b64[CHECKSUM_B64_MAX];
        checksum_final_base64(&c, b64);
        snprintf(out, CHECKSUM_B64_MAX + 8, "%s-%zu", b64, req->len);
        return true;
    }
    uint8_t be[8];
    for (size_t i = 0; i < n; i++)
        be[i] = (uint8_t)(crc >> (8 * (n - 1 - i)));
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_of(be, n));
    snprintf(out, CHECKSUM_B64_MAX + 8, "%s", buf_cstr(&b));
    buf_free(&b);
    return true;
}

/* x-amz-checksum-<algo> on the Complete request: the object's checksum, with
 * or without its "-N". */
static bool check_header(s3_op *op, checksum_algo a, const char *value) {
    char name[40];
    snprintf(name, sizeof name, "x-amz-checksum-%s", checksum_algo_name(a));
    const char *h = kvlist_get_ci(&op->req->headers, name);
    if (!h) return true;
    const char *dash = strrchr(value, '-');
    size_t bare = dash ? (size_t)(dash - value) : strlen(value);
    if (strcmp(h, value) == 0 || (strlen(h) == bare && strncmp(h, value, bare) == 0)) return true;
    aws_fault_set(&op->f, 400, "BadDigest",
                  "The %s you specified did not match the calculated checksum.",
                  checksum_algo_name(a));
    return false;
}

/* An upload created without an algorithm: S3's default, the FULL_OBJECT
 * CRC64NVME combined from the parts' (each part gets one when the client sends
 * no checksum), if every part has one (parts that declared another algorithm,
 * or stored before Cloister computed the default, leave the object without). */
static bool has_default(json_t *parts, const s3_complete_upload *req) {
    cl_buf raw = CL_BUF_INIT;
    bool all = req->len > 0;
    for (size_t i = 0; all && i < req->len; i++)
        all = part_raw(find_part(parts, req->parts[i].part_number), CHECKSUM_CRC64NVME, &raw);
    buf_free(&raw);
    return all;
}

bool s3_mpck_complete(s3_op *op, json_t *upload, const s3_complete_upload *req, json_t *parts,
                      json_t *doc) {
    if (!check_given(op, req, parts)) return false;
    checksum_algo a = s3_mpck_algo(upload);
    if (a == CHECKSUM_NONE && !has_default(parts, req)) return true;
    if (a == CHECKSUM_NONE) a = CHECKSUM_CRC64NVME;
    const char *type = s3_mpck_algo(upload) == CHECKSUM_NONE ? "FULL_OBJECT" : s3_mpck_type(upload);
    char value[CHECKSUM_B64_MAX + 8];
    if (!object_checksum(op, req, parts, a, strcmp(type, "FULL_OBJECT") == 0, value) ||
        !check_header(op, a, value))
        return false;
    json_object_set_new(doc, "Checksum", json_pack("{s:s}", checksum_algo_name(a), value));
    json_object_set_new(doc, "ChecksumType", json_string(type));
    return true;
}

void s3_mpck_keep(json_t *to, json_t *from) {
    json_t *ck = json_object_get(from, "Checksum");
    if (!json_object_size(ck)) return;
    json_object_set(to, "Checksum", ck);
    json_t *type = json_object_get(from, "ChecksumType");
    if (type) json_object_set(to, "ChecksumType", type);
}

/* ---- reads ---- */

void s3_mpck_read_headers(s3_op *op, json_t *o) {
    const char *mode = kvlist_get_ci(&op->req->headers, "x-amz-checksum-mode");
    if (!mode || strcasecmp(mode, "ENABLED") != 0) return;
    json_t *ck = json_object_get(o, "Checksum");
    const char *pn = kvlist_get(&op->query, "partNumber");
    json_t *parts = json_object_get(o, "Parts");
    if (pn && parts) { /* part N's own checksum (part_range checked N) */
        long n = strtol(pn, NULL, 10);
        ck = n >= 1 ? json_object_get(json_array_get(parts, (size_t)n - 1), "Checksum") : NULL;
    }
    if (!json_object_size(ck)) return;
    const char *k;
    json_t *v;
    json_object_foreach(ck, k, v) {
        char *name = cl_sprintf("x-amz-checksum-%s", k);
        lower(name);
        http_set_header(op->resp, name, json_string_value(v));
        free(name);
    }
    http_set_header(op->resp, "x-amz-checksum-type", s3_mpck_type(o));
}

/* sigv2.c — S3 Signature Version 2: find and parse the signature (header or
 * query), build the StringToSign, check the clock and compare. The format and
 * its rules are in sigv2.h; the choices where AWS leaves room:
 *   - The signed sub-resources are the union of AWS's documented list and
 *     botocore's (HmacV1Auth.QSAOfInterest), so what either signs verifies.
 *   - Any other query parameter must be a known harmless one (UNSIGNED_OK):
 *     e.g. ?publicAccessBlock is not signable in SigV2, and a presigned
 *     CreateBucket URL must not turn into PutPublicAccessBlock by appending it.
 *   - Query form: x-amz-* query parameters other than x-amz-security-token are
 *     signed but would not reach the S3 handlers (which read headers): refused
 *     as UNSIGNABLE rather than silently ignored (x-amz-server-side-encryption).
 *   - Expires at most 7 days ahead, as SigV4 (AWS sets no limit for SigV2). */
#include "aws/sigv2.h"
#include "crypto/crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sub-resources the CanonicalizedResource includes. */
static const char *const SIGNED[] = {
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
};

/* Query parameters that select nothing (listing and paging parameters, the
 * authentication itself): allowed without being signed, as AWS does. */
static const char *const UNSIGNED_OK[] = {
    "AWSAccessKeyId",
    "Expires",
    "Signature",
    "allow-unordered",
    "content-md5",
    "content-type",
    "continuation-token",
    "delimiter",
    "encoding-type",
    "fetch-owner",
    "key-marker",
    "list-type",
    "marker",
    "max-keys",
    "max-parts",
    "max-uploads",
    "part-number-marker",
    "prefix",
    "start-after",
    "upload-id-marker",
    "version-id-marker",
    "x-amz-security-token",
    "x-id",
};

static bool in_set(const char *const *set, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], name) == 0) return true;
    return false;
}

static bool is_signed_subresource(const char *name) {
    return in_set(SIGNED, sizeof SIGNED / sizeof *SIGNED, name);
}

void sigv2_auth_free(sigv2_auth *a) {
    if (!a) return;
    free(a->access_key);
    free(a->signature);
    free(a->security_token);
    free(a->date_line);
    free(a->unsignable);
    memset(a, 0, sizeof *a);
}

char *sigv2_host_bucket(const char *host, const char *domain) {
    if (!host || !domain) return NULL;
    size_t n = strcspn(host, ":"), d = strlen(domain);
    if (n < d + 2 || host[n - d - 1] != '.' || strncasecmp(host + n - d, domain, d) != 0)
        return NULL;
    return cl_strndup(host, n - d - 1);
}

/* ---- the query as name/value pairs ---- */

typedef struct {
    char *name, *value; /* decoded; value NULL when the pair has no '=' */
} qparam;

typedef struct {
    qparam *p;
    size_t n;
} qlist;

static void qlist_free(qlist *q) {
    for (size_t i = 0; i < q->n; i++) {
        free(q->p[i].name);
        free(q->p[i].value);
    }
    free(q->p);
}

/* Decoded pairs; false if a name or value does not decode. */
static bool qlist_parse(const char *raw, qlist *out) {
    cl_slice q = slice_cstr(raw ? raw : ""), pair, name;
    cl_buf b = CL_BUF_INIT;
    bool ok = true;
    *out = (qlist){0};
    while (ok && slice_split(&q, '&', &pair)) {
        if (pair.len == 0) continue;
        bool has_eq = slice_find(pair, '=') >= 0;
        slice_split(&pair, '=', &name);
        cl_buf v = CL_BUF_INIT;
        buf_clear(&b);
        ok =
            url_decode(&b, name, true) == CL_OK && (!has_eq || url_decode(&v, pair, true) == CL_OK);
        if (ok) {
            out->p = cl_realloc(out->p, (out->n + 1) * sizeof *out->p);
            out->p[out->n++] = (qparam){cl_strdup(buf_cstr(&b)), has_eq ? buf_take_cstr(&v) : NULL};
        }
        buf_free(&v);
    }
    buf_free(&b);
    return ok;
}

static const char *qlist_get(const qlist *q, const char *name, size_t *count) {
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < q->n; i++)
        if (q->p[i].name && strcmp(q->p[i].name, name) == 0) {
            if (!v) v = q->p[i].value ? q->p[i].value : "";
            ++*count;
        }
    return v;
}

/* ---- parse ---- */

static const char *header_get(const cl_kvlist *h, const char *name) {
    return h ? kvlist_get_ci(h, name) : NULL;
}

static size_t header_count(const cl_kvlist *h, const char *name) {
    size_t n = 0;
    for (size_t i = 0; h && i < h->len; i++)
        n += strcasecmp(h->items[i].key, name) == 0;
    return n;
}

/* The one Authorization header if it is "AWS ..." (not "AWS4-..."). */
static const char *v2_header(const cl_kvlist *h) {
    const char *v = header_get(h, "authorization");
    return v && strncmp(v, "AWS ", 4) == 0 ? v : NULL;
}

/* A parameter, not a sub-resource, not harmless: the first such name. */
static const char *unsignable_param(const qlist *q, bool presigned) {
    for (size_t i = 0; i < q->n; i++) {
        const char *n = q->p[i].name;
        if (is_signed_subresource(n)) continue;
        if (strncmp(n, "response-", 9) == 0) return n; /* not one S3 defines */
        if (!presigned && (strcmp(n, "x-amz-security-token") == 0 || strcmp(n, "Expires") == 0 ||
                           strcmp(n, "Signature") == 0 || strcmp(n, "AWSAccessKeyId") == 0))
            return n;
        if (!in_set(UNSIGNED_OK, sizeof UNSIGNED_OK / sizeof *UNSIGNED_OK, n)) return n;
    }
    return NULL;
}

/* An HTTP date, also with a numeric zone ("Tue, 27 Mar 2007 19:36:42 +0000",
 * as AWS's own examples write it), or an ISO 8601 basic one. */
static bool parse_date(cl_slice w, time_t *t) {
    if (time_parse_http(w, t) == CL_OK || time_parse_amz(w, t) == CL_OK) return true;
    if (w.len < 7 || w.len > 64 || w.ptr[w.len - 6] != ' ') return false;
    const uint8_t *z = w.ptr + w.len - 5;
    if ((z[0] != '+' && z[0] != '-') || !isdigit(z[1]) || !isdigit(z[2]) || !isdigit(z[3]) ||
        !isdigit(z[4]))
        return false;
    char gmt[72];
    snprintf(gmt, sizeof gmt, "%.*s GMT", (int)(w.len - 6), (const char *)w.ptr);
    if (time_parse_http(slice_cstr(gmt), t) != CL_OK) return false;
    int off = ((z[1] - '0') * 10 + (z[2] - '0')) * 3600 + ((z[3] - '0') * 10 + (z[4] - '0')) * 60;
    *t += z[0] == '+' ? -off : off;
    return true;
}

/* "AKID:SIGNATURE" after "AWS ". */
static sigv2_status parse_header(const cl_kvlist *h, const char *value, sigv2_auth *out) {
    if (header_count(h, "authorization") != 1) return SIGV2_MALFORMED;
    cl_slice v = slice_trim(slice_cstr(value + 4)), akid;
    if (!slice_split(&v, ':', &akid) || akid.len == 0 || akid.len > 128 || v.len == 0 ||
        v.len > 128 || slice_find(akid, ' ') >= 0 || slice_find(v, ' ') >= 0)
        return SIGV2_MALFORMED;
    out->access_key = slice_dup(akid);
    out->signature = slice_dup(v);
    const char *tok = header_get(h, "x-amz-security-token");
    if (tok) out->security_token = cl_strdup(tok);
    const char *amz = header_get(h, "x-amz-date"), *date = header_get(h, "date");
    const char *when = amz ? amz : date;
    time_t t;
    cl_slice w = slice_trim(slice_cstr(when));
    out->date_line = amz ? cl_strdup("") : slice_dup(w);
    if (!when || header_count(h, amz ? "x-amz-date" : "date") > 1 || !parse_date(w, &t))
        return SIGV2_NO_DATE;
    out->request_time = t;
    return SIGV2_OK;
}

static sigv2_status parse_query(const sigv4_request *req, const qlist *q, sigv2_auth *out) {
    size_t na, ns, ne, nt;
    const char *akid = qlist_get(q, "AWSAccessKeyId", &na), *sig = qlist_get(q, "Signature", &ns);
    const char *exp = qlist_get(q, "Expires", &ne),
               *tok = qlist_get(q, "x-amz-security-token", &nt);
    if (na != 1 || ns != 1 || ne != 1 || !*akid || !*sig || !*exp) return SIGV2_QUERY_PARTS;
    if (nt > 1 || strlen(akid) > 128 || strlen(sig) > 128) return SIGV2_MALFORMED;
    out->presigned = true;
    out->access_key = cl_strdup(akid);
    out->signature = cl_strdup(sig);
    for (char *c = out->signature; *c; c++) /* a raw '+' decoded as a blank */
        if (*c == ' ') *c = '+';
    if (!tok) tok = header_get(req->headers, "x-amz-security-token");
    if (tok) out->security_token = cl_strdup(tok);
    out->date_line = cl_strdup(exp);
    uint64_t e;
    if (slice_to_u64(slice_cstr(exp), &e) != CL_OK || e > (uint64_t)INT64_MAX / 2)
        return SIGV2_MALFORMED;
    out->expires = (time_t)e;
    return SIGV2_OK;
}

/* Query form: an x-amz-* parameter the handlers would not see (see top). */
static const char *amz_query_param(const qlist *q) {
    for (size_t i = 0; i < q->n; i++)
        if (strncasecmp(q->p[i].name, "x-amz-", 6) == 0 &&
            strcmp(q->p[i].name, "x-amz-security-token") != 0)
            return q->p[i].name;
    return NULL;
}

sigv2_status sigv2_parse(const sigv4_request *req, sigv2_auth *out) {
    memset(out, 0, sizeof *out);
    qlist q;
    bool qok = qlist_parse(req->query, &q);
    size_t n;
    const char *hdr = v2_header(req->headers);
    bool query = qlist_get(&q, "AWSAccessKeyId", &n) || qlist_get(&q, "Signature", &n);
    query = query && !qlist_get(&q, "X-Amz-Algorithm", &n);
    sigv2_status st = SIGV2_MISSING;
    if (hdr && query)
        st = SIGV2_MALFORMED; /* one auth mechanism only */
    else if (hdr || query)
        st = !qok  ? SIGV2_MALFORMED
             : hdr ? parse_header(req->headers, hdr, out)
                   : parse_query(req, &q, out);
    const char *bad = NULL;
    if (st == SIGV2_OK) bad = unsignable_param(&q, out->presigned);
    if (st == SIGV2_OK && !bad && out->presigned) bad = amz_query_param(&q);
    if (bad) {
        out->unsignable = cl_strdup(bad);
        st = SIGV2_UNSIGNABLE;
    }
    qlist_free(&q);
    return st;
}

/* ---- StringToSign ---- */

typedef struct {
    char *name;  /* lower-case */
    char *value; /* trimmed */
} amz_header;

static int cmp_amz(const void *a, const void *b) {
    return strcmp(((const amz_header *)a)->name, ((const amz_header *)b)->name);
}

static void amz_add(amz_header **v, size_t *n, const char *name, const char *value) {
    char *k = cl_strdup(name);
    for (char *c = k; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    *v = cl_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (amz_header){k, slice_dup(slice_trim(slice_cstr(value ? value : "")))};
}

/* "name:v1,v2\n" per x-amz-* name, sorted (a stable merge keeps value order). */
static void amz_headers(const sigv4_request *req, const qlist *q, cl_buf *out) {
    amz_header *v = NULL;
    size_t n = 0;
    for (size_t i = 0; req->headers && i < req->headers->len; i++)
        if (strncasecmp(req->headers->items[i].key, "x-amz-", 6) == 0)
            amz_add(&v, &n, req->headers->items[i].key, req->headers->items[i].value);
    for (size_t i = 0; q && i < q->n; i++)
        if (strncasecmp(q->p[i].name, "x-amz-", 6) == 0)
            amz_add(&v, &n, q->p[i].name, q->p[i].value);
    for (size_t i = 1; i < n; i++) /* insertion sort: stable, n is small */
        for (size_t j = i; j > 0 && cmp_amz(&v[j - 1], &v[j]) > 0; j--) {
            amz_header t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0 && strcmp(v[i].name, v[i - 1].name) == 0;
        if (same)
            buf_appendf(out, ",%s", v[i].value);
        else
            buf_appendf(out, "%s%s:%s", i ? "\n" : "", v[i].name, v[i].value);
    }
    if (n) buf_append_byte(out, '\n');
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static int cmp_qparam(const void *a, const void *b) {
    return strcmp(((const qparam *)a)->name, ((const qparam *)b)->name);
}

/* /bucket + path + ?sub-resources (sorted; values decoded). */
static void canonical_resource(const sigv4_request *req, const qlist *q, const char *vhost_bucket,
                               cl_buf *out) {
    const char *path = req->path && *req->path ? req->path : "/";
    if (vhost_bucket) buf_appendf(out, "/%s", vhost_bucket);
    buf_append_cstr(out, path);
    /* a path-style bucket request "/bucket" signs "/bucket/", as a virtual-host
     * one does (what botocore signs: its auth_path) */
    if (!vhost_bucket && path[0] == '/' && path[1] && !strchr(path + 1, '/'))
        buf_append_byte(out, '/');
    qparam *sub = cl_calloc(q->n + 1, sizeof *sub);
    size_t m = 0;
    for (size_t i = 0; i < q->n; i++)
        if (is_signed_subresource(q->p[i].name)) sub[m++] = q->p[i];
    for (size_t i = 1; i < m; i++) /* stable */
        for (size_t j = i; j > 0 && cmp_qparam(&sub[j - 1], &sub[j]) > 0; j--) {
            qparam t = sub[j];
            sub[j] = sub[j - 1];
            sub[j - 1] = t;
        }
    for (size_t i = 0; i < m; i++) {
        buf_append_byte(out, i ? '&' : '?');
        buf_append_cstr(out, sub[i].name);
        if (sub[i].value) buf_appendf(out, "=%s", sub[i].value);
    }
    free(sub);
}

static void header_line(const cl_kvlist *h, const char *name, cl_buf *out) {
    buf_append_slice(out, slice_trim(slice_cstr(header_get(h, name))));
    buf_append_byte(out, '\n');
}

void sigv2_string_to_sign(const sigv4_request *req, const sigv2_auth *a, const char *vhost_bucket,
                          cl_buf *out) {
    qlist q;
    qlist_parse(req->query, &q); /* pairs that do not decode are left out */
    buf_appendf(out, "%s\n", req->method);
    header_line(req->headers, "content-md5", out);
    header_line(req->headers, "content-type", out);
    buf_appendf(out, "%s\n", a->date_line ? a->date_line : "");
    amz_headers(req, a->presigned ? &q : NULL, out);
    canonical_resource(req, &q, vhost_bucket, out);
    qlist_free(&q);
}

void sigv2_signature(const char *secret, cl_slice string_to_sign, cl_buf *out) {
    uint8_t mac[CRYPTO_SHA1_LEN];
    crypto_hmac_sha1(slice_cstr(secret), string_to_sign, mac);
    base64_encode(out, slice_of(mac, sizeof mac));
    cl_cleanse(mac, sizeof mac);
}

static sigv2_status check_time(const sigv2_auth *a, time_t now) {
    if (a->presigned) {
        if ((int64_t)now > (int64_t)a->expires) return SIGV2_EXPIRED;
        return (int64_t)a->expires - (int64_t)now > SIGV2_MAX_PRESIGN_EXPIRES
                   ? SIGV2_EXPIRES_TOO_LONG
                   : SIGV2_OK;
    }
    int64_t d = (int64_t)a->request_time - (int64_t)now;
    return d > SIGV2_MAX_SKEW || d < -SIGV2_MAX_SKEW ? SIGV2_SKEWED : SIGV2_OK;
}

sigv2_status sigv2_verify(const sigv4_request *req, const sigv2_auth *a, const char *vhost_bucket,
                          const char *secret, time_t now, cl_buf *sts) {
    if (!a || !a->signature || !a->date_line || !secret) return SIGV2_MALFORMED;
    sigv2_status st = check_time(a, now);
    if (st != SIGV2_OK) return st;
    cl_buf s = CL_BUF_INIT, got = CL_BUF_INIT;
    sigv2_string_to_sign(req, a, vhost_bucket, &s);
    uint8_t mac[CRYPTO_SHA1_LEN];
    crypto_hmac_sha1(slice_cstr(secret), buf_slice(&s), mac);
    bool ok = base64_decode(&got, slice_cstr(a->signature)) == CL_OK && got.len == sizeof mac &&
              cl_ct_eq(got.ptr, mac, sizeof mac);
    cl_cleanse(mac, sizeof mac);
    if (sts) buf_append_slice(sts, buf_slice(&s));
    buf_free(&s);
    buf_free(&got);
    return ok ? SIGV2_OK : SIGV2_SIGNATURE_MISMATCH;
}

/* sigv4_canon.c — the byte-exact strings SigV4 hashes: the canonical request
 * (URI, query, headers), the string to sign and the derived signing key.
 *
 * Kept apart from parsing and verification (sigv4.c) because both ends of the
 * protocol share it: the server recomputes what the client computed, the
 * cloister CLI signs with it, and the aws-chunked decoder reuses the key and
 * string-to-sign. The public test-suite vectors check each piece on its own.
 *
 * The canonical URI follows what botocore and the AWS JS SDK v3 compute on the
 * path they put on the wire:
 *   - other services: remove "." / ".." / empty segments (a trailing slash
 *     survives if a segment is left), then URI-encode the raw, still-encoded path
 *     once more ('/' kept). A client that sent "%20" thus signed "%2520".
 *   - S3: no normalisation; each segment is percent-decoded and re-encoded with
 *     the AWS rules, so "~" and "%7E", "$" and "%24" sign alike. A segment that
 *     does not decode is encoded byte for byte (and will not verify).
 * The canonical query decodes each name and value as a form does ('+' is a
 * space, the same reading kvlist_parse_form gives the handlers, so what is
 * signed is what is acted on), re-encodes them, and sorts by name then value. */
#include "aws/sigv4.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- canonical URI ---- */

static void uri_normalised(cl_slice path, cl_buf *out) {
    cl_slice *seg = cl_malloc((path.len + 1) * sizeof *seg);
    size_t n = 0;
    cl_slice rest = path, s;
    while (slice_split(&rest, '/', &s)) {
        if (s.len == 0 || slice_eq_cstr(s, ".")) continue;
        if (slice_eq_cstr(s, "..")) {
            if (n) n--;
            continue;
        }
        seg[n++] = s;
    }
    for (size_t i = 0; i < n; i++) {
        buf_append_byte(out, '/');
        url_encode_aws(out, seg[i], false);
    }
    if (n == 0 || path.ptr[path.len - 1] == '/') buf_append_byte(out, '/');
    free(seg);
}

/* Percent-decode then AWS-encode one component; encode the raw bytes if it
 * does not decode. `tmp` is scratch space. */
static void reencode(cl_slice in, bool plus_is_space, cl_buf *tmp, cl_buf *out) {
    buf_clear(tmp);
    if (url_decode(tmp, in, plus_is_space) == CL_OK)
        url_encode_aws(out, buf_slice(tmp), false);
    else
        url_encode_aws(out, in, false);
}

static void uri_s3(cl_slice path, cl_buf *out) {
    if (path.len == 0) {
        buf_append_byte(out, '/');
        return;
    }
    cl_buf tmp = CL_BUF_INIT;
    for (;;) {
        ptrdiff_t i = slice_find(path, '/');
        reencode(i < 0 ? path : slice_sub(path, 0, (size_t)i), false, &tmp, out);
        if (i < 0) break;
        buf_append_byte(out, '/');
        path = slice_sub(path, (size_t)i + 1, path.len);
    }
    buf_free(&tmp);
}

/* ---- canonical query ---- */

typedef struct {
    char *name, *value; /* both AWS-encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b) {
    const qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encoded(cl_slice in, cl_buf *tmp) {
    cl_buf out = CL_BUF_INIT;
    reencode(in, true, tmp, &out);
    return buf_take_cstr(&out);
}

static size_t query_pairs(cl_slice query, qpair **out) {
    size_t n = 0, cap = 1 + query.len / 2;
    qpair *p = cl_malloc(cap * sizeof *p);
    cl_buf tmp = CL_BUF_INIT;
    cl_slice pair;
    while (slice_split(&query, '&', &pair)) {
        if (pair.len == 0) continue;
        cl_slice name;
        bool has_value = slice_find(pair, '=') >= 0;
        slice_split(&pair, '=', &name);
        p[n].name = encoded(name, &tmp);
        p[n].value = encoded(has_value ? pair : CL_SLICE_NULL, &tmp);
        n++;
    }
    buf_free(&tmp);
    *out = p;
    return n;
}

static void query_canonical(const char *raw, cl_buf *out) {
    qpair *p;
    size_t n = query_pairs(slice_cstr(raw), &p);
    qsort(p, n, sizeof *p, qpair_cmp);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(out, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

/* ---- canonical headers ---- */

static bool is_blank(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* One physical line of a header value: trimmed, inner runs of blanks made one
 * space (what the SDKs' "trimall" does). */
static void line_trimall(cl_slice line, cl_buf *out) {
    bool gap = false, any = false;
    for (size_t i = 0; i < line.len; i++) {
        if (is_blank(line.ptr[i])) {
            gap = any;
            continue;
        }
        if (gap) buf_append_byte(out, ' ');
        gap = false;
        any = true;
        buf_append_byte(out, line.ptr[i]);
    }
}

static bool has_text(cl_slice line) {
    for (size_t i = 0; i < line.len; i++)
        if (!is_blank(line.ptr[i])) return true;
    return false;
}

/* A value folded over several lines (obs-fold) signs as its lines joined with
 * ',' (the test suite's get-header-value-multiline). */
static void value_trimall(const char *v, cl_buf *out) {
    cl_slice rest = slice_cstr(v);
    bool first = true;
    while (rest.len) {
        size_t n = strcspn((const char *)rest.ptr, "\r\n");
        cl_slice line = slice_sub(rest, 0, n);
        if (has_text(line)) {
            if (!first) buf_append_byte(out, ',');
            line_trimall(line, out);
            first = false;
        }
        rest = slice_sub(rest, n + 1, rest.len);
    }
}

static void header_values(const cl_kvlist *h, cl_slice name, cl_buf *out) {
    bool first = true;
    for (size_t i = 0; h && i < h->len; i++) {
        const char *k = h->items[i].key;
        if (strlen(k) != name.len || strncasecmp(k, (const char *)name.ptr, name.len) != 0)
            continue;
        if (!first) buf_append_byte(out, ',');
        value_trimall(h->items[i].value, out);
        first = false;
    }
}

static void headers_canonical(const cl_kvlist *h, const char *signed_headers, cl_buf *out) {
    cl_slice list = slice_cstr(signed_headers), name;
    while (slice_split(&list, ';', &name)) {
        buf_append_slice(out, name);
        buf_append_byte(out, ':');
        header_values(h, name, out);
        buf_append_byte(out, '\n');
    }
}

/* ---- the request, the string to sign, the key ---- */

void sigv4_canonical_request(const sigv4_request *req, const char *signed_headers, cl_buf *out) {
    buf_append_cstr(out, req->method ? req->method : "");
    buf_append_byte(out, '\n');
    cl_slice path = slice_cstr(req->path);
    if (req->s3_paths)
        uri_s3(path, out);
    else
        uri_normalised(path, out);
    buf_append_byte(out, '\n');
    query_canonical(req->query, out);
    buf_append_byte(out, '\n');
    headers_canonical(req->headers, signed_headers, out);
    buf_append_byte(out, '\n');
    buf_append_cstr(out, signed_headers ? signed_headers : "");
    buf_append_byte(out, '\n');
    buf_append_cstr(out, req->payload_hash ? req->payload_hash : "UNSIGNED-PAYLOAD");
}

void sigv4_string_to_sign(const char *amz_date, const char *scope, cl_slice canonical_request,
                          cl_buf *out) {
    char hash[65];
    crypto_sha256_hex(canonical_request, hash);
    buf_appendf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
}

void sigv4_signing_key(const char *secret, const char *date, const char *region,
                       const char *service, uint8_t out[32]) {
    cl_buf k = CL_BUF_INIT;
    buf_append_cstr(&k, "AWS4");
    buf_append_cstr(&k, secret ? secret : "");
    uint8_t a[32], b[32];
    crypto_hmac_sha256(buf_slice(&k), slice_cstr(date), a);
    buf_free_secret(&k);
    crypto_hmac_sha256(slice_of(a, 32), slice_cstr(region), b);
    crypto_hmac_sha256(slice_of(b, 32), slice_cstr(service), a);
    crypto_hmac_sha256(slice_of(a, 32), slice_cstr("aws4_request"), out);
    cl_cleanse(a, sizeof a);
    cl_cleanse(b, sizeof b);
}

/* sigv4.c — AWS Signature Version 4 on the wire: find and parse the signature
 * (Authorization header or presigned query), check the clock, recompute and
 * compare; and the client side (sign, presign). The canonical strings live in
 * sigv4_canon.c; this file owns the rules around them.
 *
 * Choices where AWS leaves room, all tested in tests/unit/test_sigv4.c:
 *   - Authorization components may come in any order, separated by commas
 *     and/or blanks; a duplicate, unknown or empty component is MALFORMED.
 *   - A request carrying both an Authorization header and X-Amz-Algorithm is
 *     MALFORMED (AWS: "Only one auth mechanism allowed"). A SigV2 presigned
 *     query (AWSAccessKeyId + Signature, what `aws s3 presign` of CLI v1 makes
 *     by default) is BAD_ALGORITHM, not anonymous, so the user learns why.
 *   - SignedHeaders: lower-case token names, no empty or repeated name, must
 *     include "host". A signed header absent from the request is reported by
 *     sigv4_verify as SIGNATURE_MISMATCH (what AWS answers), not as MALFORMED.
 *   - Presigned requests without an x-amz-content-sha256 header sign
 *     UNSIGNED-PAYLOAD (botocore, JS v3); the body hash the caller passes is
 *     also accepted (the CRT/Java presigners sign it for non-S3 services).
 *   - A NULL payload_hash means "UNSIGNED-PAYLOAD". */
#include "aws/sigv4.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED "UNSIGNED-PAYLOAD"

const char *sigv4_status_str(sigv4_status s) {
    switch (s) {
    case SIGV4_OK:
        return "signature is valid";
    case SIGV4_MISSING:
        return "request is not signed";
    case SIGV4_MALFORMED:
        return "signature is malformed: expected "
               "Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request, "
               "SignedHeaders including host, and a 64-hex-digit Signature";
    case SIGV4_BAD_ALGORITHM:
        return "unsupported signing algorithm: only AWS4-HMAC-SHA256 is accepted";
    case SIGV4_BAD_DATE:
        return "X-Amz-Date (or Date) is missing, unparseable, or not on the credential scope date";
    case SIGV4_SKEWED:
        return "request time is more than 15 minutes away from the server time";
    case SIGV4_EXPIRED:
        return "presigned request has expired";
    case SIGV4_EXPIRES_TOO_LONG:
        return "X-Amz-Expires must be at most 604800 seconds (7 days)";
    case SIGV4_SIGNATURE_MISMATCH:
        return "signature does not match";
    }
    return "unknown signature status";
}

void sigv4_auth_free(sigv4_auth *a) {
    if (!a) return;
    free(a->access_key);
    free(a->date);
    free(a->region);
    free(a->service);
    free(a->signed_headers);
    free(a->signature);
    free(a->amz_date);
    free(a->security_token);
    memset(a, 0, sizeof *a);
}

/* ---- small helpers ---- */

static size_t header_count(const cl_kvlist *h, const char *name) {
    size_t n = 0;
    for (size_t i = 0; h && i < h->len; i++)
        n += strcasecmp(h->items[i].key, name) == 0;
    return n;
}

static const char *header_get(const cl_kvlist *h, const char *name) {
    return h ? kvlist_get_ci(h, name) : NULL;
}

/* The query decoded as a form; pairs that do not decode are left out (they
 * still count in the canonical query, so the signature will not match). */
static void query_decode(const char *raw, cl_kvlist *out) {
    cl_slice q = slice_cstr(raw), pair, name;
    cl_buf k = CL_BUF_INIT, v = CL_BUF_INIT;
    while (slice_split(&q, '&', &pair)) {
        if (pair.len == 0 || pair.ptr[0] == '=') continue; /* no name: nothing to look up */
        slice_split(&pair, '=', &name);
        buf_clear(&k);
        buf_clear(&v);
        if (url_decode(&k, name, true) == CL_OK && url_decode(&v, pair, true) == CL_OK)
            kvlist_addn(out, buf_slice(&k), buf_slice(&v));
    }
    buf_free(&k);
    buf_free(&v);
}

static bool is_hex64_lower(const char *s) {
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return i == 64;
}

/* ---- the parts both forms share ---- */

/* Key ids, regions and services: letters, digits, '-', '_', '.'; nothing that
 * could smuggle a separator into the scope or a log line. */
static bool is_scope_word(cl_slice w) {
    if (w.len == 0 || w.len > 128) return false;
    for (size_t i = 0; i < w.len; i++) {
        uint8_t c = w.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* AKID/YYYYMMDD/REGION/SERVICE/aws4_request: exactly five parts. */
static bool parse_credential(cl_slice cred, sigv4_auth *out) {
    cl_slice part[5];
    size_t n = 0;
    for (;;) {
        ptrdiff_t i = slice_find(cred, '/');
        if (n == 5) return false;
        part[n++] = i < 0 ? cred : slice_sub(cred, 0, (size_t)i);
        if (i < 0) break;
        cred = slice_sub(cred, (size_t)i + 1, cred.len);
    }
    if (n != 5 || !slice_eq_cstr(part[4], "aws4_request") || part[1].len != 8) return false;
    /* S3 answers an empty region with AuthorizationHeaderMalformed naming the
     * region it expects (s3_check_region): parsed here so S3 can say which */
    bool empty_s3_region = part[2].len == 0 && slice_eq_cstr(part[3], "s3");
    if (!is_scope_word(part[0]) || !(is_scope_word(part[2]) || empty_s3_region) ||
        !is_scope_word(part[3]))
        return false;
    out->access_key = slice_dup(part[0]);
    out->date = slice_dup(part[1]);
    out->region = slice_dup(part[2]);
    out->service = slice_dup(part[3]);
    return true;
}

static bool is_tchar_lower(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

#define MAX_SIGNED_HEADERS 256 /* bounds the quadratic duplicate check */

/* "host;x-amz-date": lower-case header names, none empty or repeated, host among them. */
static bool signed_headers_valid(const char *list) {
    cl_slice all = slice_cstr(list), rest = all, name;
    bool host = false;
    size_t n = 0;
    if (all.len == 0 || all.ptr[0] == ';' || all.ptr[all.len - 1] == ';') return false;
    while (slice_split(&rest, ';', &name)) {
        if (name.len == 0 || ++n > MAX_SIGNED_HEADERS) return false;
        for (size_t i = 0; i < name.len; i++)
            if (!is_tchar_lower(name.ptr[i])) return false;
        host |= slice_eq_cstr(name, "host");
        cl_slice later = rest, other;
        while (slice_split(&later, ';', &other))
            if (slice_eq(other, name)) return false;
    }
    return host;
}

/* Credential, SignedHeaders and Signature, whichever form carried them. */
static sigv4_status parse_common(const char *cred, const char *signed_headers, const char *sig,
                                 sigv4_auth *out) {
    if (!cred || !signed_headers || !sig) return SIGV4_MALFORMED;
    if (!parse_credential(slice_cstr(cred), out)) return SIGV4_MALFORMED;
    if (!signed_headers_valid(signed_headers) || !is_hex64_lower(sig)) return SIGV4_MALFORMED;
    out->signed_headers = cl_strdup(signed_headers);
    out->signature = cl_strdup(sig);
    return SIGV4_OK;
}

/* The request time must parse and fall on the credential's scope date. */
static sigv4_status set_time(cl_slice amz, time_t t, sigv4_auth *out) {
    out->amz_date = slice_dup(amz);
    out->request_time = t;
    return strncmp(out->amz_date, out->date, 8) == 0 ? SIGV4_OK : SIGV4_BAD_DATE;
}

/* ---- Authorization header ---- */

typedef struct {
    char *cred, *signed_headers, *sig;
} header_parts;

static bool take_part(cl_slice tok, header_parts *p) {
    ptrdiff_t eq = slice_find(tok, '=');
    if (eq <= 0 || (size_t)eq + 1 == tok.len) return false;
    cl_slice name = slice_sub(tok, 0, (size_t)eq), val = slice_sub(tok, (size_t)eq + 1, tok.len);
    char **slot = slice_eq_cstr(name, "Credential")      ? &p->cred
                  : slice_eq_cstr(name, "SignedHeaders") ? &p->signed_headers
                  : slice_eq_cstr(name, "Signature")     ? &p->sig
                                                         : NULL;
    if (!slot || *slot) return false;
    *slot = slice_dup(val);
    return true;
}

static bool is_sep(uint8_t c) {
    return c == ',' || c == ' ' || c == '\t';
}

/* After the algorithm: components split by commas and/or blanks. */
static bool split_parts(cl_slice s, header_parts *p) {
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && is_sep(s.ptr[i]))
            i++;
        size_t start = i;
        while (i < s.len && !is_sep(s.ptr[i]))
            i++;
        if (i > start && !take_part(slice_sub(s, start, i - start), p)) return false;
    }
    return true;
}

static sigv4_status header_time(const cl_kvlist *h, sigv4_auth *out) {
    time_t t;
    if (header_count(h, "x-amz-date") > 0) {
        cl_slice v = slice_trim(slice_cstr(header_get(h, "x-amz-date")));
        if (header_count(h, "x-amz-date") > 1 || time_parse_amz(v, &t) != CL_OK)
            return SIGV4_BAD_DATE;
        return set_time(v, t, out);
    }
    cl_slice d = slice_trim(slice_cstr(header_get(h, "date")));
    if (time_parse_http(d, &t) != CL_OK && time_parse_amz(d, &t) != CL_OK) return SIGV4_BAD_DATE;
    char amz[17];
    time_format_amz(t, amz);
    return set_time(slice_cstr(amz), t, out);
}

static sigv4_status parse_header(const sigv4_request *req, const char *value, sigv4_auth *out) {
    cl_slice v = slice_trim(slice_cstr(value));
    size_t sp = 0;
    while (sp < v.len && v.ptr[sp] != ' ' && v.ptr[sp] != '\t')
        sp++;
    cl_slice alg = slice_sub(v, 0, sp);
    if (alg.len == 0) return SIGV4_MALFORMED;
    if (!slice_eq_cstr(alg, ALGORITHM)) return SIGV4_BAD_ALGORITHM;
    header_parts p = {0};
    sigv4_status st = SIGV4_MALFORMED;
    if (sp < v.len && split_parts(slice_sub(v, sp, v.len), &p))
        st = parse_common(p.cred, p.signed_headers, p.sig, out);
    free(p.cred);
    free(p.signed_headers);
    free(p.sig);
    if (st != SIGV4_OK) return st;
    const char *tok = header_get(req->headers, "x-amz-security-token");
    if (tok) out->security_token = cl_strdup(tok);
    return header_time(req->headers, out);
}

/* ---- presigned query ---- */

static const char *const QUERY_AUTH[] = {
    "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",          "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token"};

static sigv4_status query_expires(const char *s, sigv4_auth *out) {
    if (!s || slice_to_u64(slice_cstr(s), &out->expires) != CL_OK || out->expires == 0)
        return SIGV4_MALFORMED;
    return out->expires > SIGV4_MAX_PRESIGN_EXPIRES ? SIGV4_EXPIRES_TOO_LONG : SIGV4_OK;
}

static sigv4_status parse_query_params(const sigv4_request *req, const cl_kvlist *q,
                                       sigv4_auth *out) {
    for (size_t i = 0; i < sizeof QUERY_AUTH / sizeof *QUERY_AUTH; i++)
        if (kvlist_count(q, QUERY_AUTH[i]) > 1) return SIGV4_MALFORMED;
    if (strcmp(kvlist_get(q, "X-Amz-Algorithm"), ALGORITHM) != 0) return SIGV4_BAD_ALGORITHM;
    sigv4_status st =
        parse_common(kvlist_get(q, "X-Amz-Credential"), kvlist_get(q, "X-Amz-SignedHeaders"),
                     kvlist_get(q, "X-Amz-Signature"), out);
    if (st == SIGV4_OK) st = query_expires(kvlist_get(q, "X-Amz-Expires"), out);
    if (st != SIGV4_OK) return st;
    const char *tok = kvlist_get(q, "X-Amz-Security-Token");
    if (!tok) tok = header_get(req->headers, "x-amz-security-token");
    if (tok) out->security_token = cl_strdup(tok);
    cl_slice d = slice_cstr(kvlist_get(q, "X-Amz-Date"));
    time_t t;
    if (time_parse_amz(d, &t) != CL_OK) return SIGV4_BAD_DATE;
    return set_time(d, t, out);
}

sigv4_status sigv4_parse(const sigv4_request *req, sigv4_auth *out) {
    memset(out, 0, sizeof *out);
    cl_kvlist q = CL_KVLIST_INIT;
    query_decode(req->query, &q);
    size_t nauth = header_count(req->headers, "authorization");
    bool presigned = kvlist_get(&q, "X-Amz-Algorithm") != NULL;
    bool sigv2 = kvlist_get(&q, "AWSAccessKeyId") && kvlist_get(&q, "Signature");
    sigv4_status st;
    if (!nauth && !presigned)
        st = sigv2 ? SIGV4_BAD_ALGORITHM : SIGV4_MISSING;
    else if (nauth > 1 || (nauth && presigned))
        st = SIGV4_MALFORMED;
    else if (nauth)
        st = parse_header(req, header_get(req->headers, "authorization"), out);
    else {
        out->presigned = true;
        st = parse_query_params(req, &q, out);
    }
    kvlist_free(&q);
    return st;
}

/* ---- verification ---- */

typedef struct {
    const char *amz_date, *date, *region, *service;
} sig_scope;

/* Lower-case hex HMAC of the string to sign for req (65 bytes with the NUL). */
static void signature_hex(const sigv4_request *req, const char *signed_headers, const sig_scope *sc,
                          const uint8_t key[32], char out[65]) {
    cl_buf creq = CL_BUF_INIT, sts = CL_BUF_INIT;
    sigv4_canonical_request(req, signed_headers, &creq);
    char *scope = cl_sprintf("%s/%s/%s/aws4_request", sc->date, sc->region, sc->service);
    sigv4_string_to_sign(sc->amz_date, scope, buf_slice(&creq), &sts);
    uint8_t mac[32];
    crypto_hmac_sha256(slice_of(key, 32), buf_slice(&sts), mac);
    hex_encode_to(out, mac, sizeof mac);
    cl_cleanse(mac, sizeof mac);
    free(scope);
    buf_free(&creq);
    buf_free(&sts);
}

/* Client side: derive the signing key from the secret, sign, forget the key. */
static void signature_with_secret(const sigv4_request *req, const char *signed_headers,
                                  const sig_scope *sc, const char *secret, char out[65]) {
    uint8_t key[32];
    sigv4_signing_key(secret, sc->date, sc->region, sc->service, key);
    signature_hex(req, signed_headers, sc, key, out);
    cl_cleanse(key, sizeof key);
}

static sigv4_status check_time(const sigv4_auth *a, time_t now) {
    int64_t ahead = (int64_t)a->request_time - (int64_t)now;
    if (ahead > SIGV4_MAX_SKEW) return SIGV4_SKEWED;
    if (!a->presigned) return ahead < -SIGV4_MAX_SKEW ? SIGV4_SKEWED : SIGV4_OK;
    return -ahead > (int64_t)a->expires ? SIGV4_EXPIRED : SIGV4_OK;
}

static bool signed_headers_present(const cl_kvlist *h, const char *list) {
    cl_slice rest = slice_cstr(list), name;
    while (slice_split(&rest, ';', &name)) {
        char *n = slice_dup(name);
        bool found = header_get(h, n) != NULL;
        free(n);
        if (!found) return false;
    }
    return true;
}

/* The raw query minus X-Amz-Signature (compared on the decoded name). */
static char *query_without_signature(const char *raw) {
    cl_slice q = slice_cstr(raw), pair;
    cl_buf out = CL_BUF_INIT, name = CL_BUF_INIT;
    while (slice_split(&q, '&', &pair)) {
        ptrdiff_t eq = slice_find(pair, '=');
        buf_clear(&name);
        if (url_decode(&name, eq < 0 ? pair : slice_sub(pair, 0, (size_t)eq), true) == CL_OK &&
            slice_eq_cstr(buf_slice(&name), "X-Amz-Signature"))
            continue;
        if (out.len) buf_append_byte(&out, '&');
        buf_append_slice(&out, pair);
    }
    buf_free(&name);
    return buf_take_cstr(&out);
}

static bool auth_complete(const sigv4_auth *a) {
    return a && a->access_key && a->date && a->region && a->service && a->signed_headers &&
           a->signature && a->amz_date && strlen(a->signature) == 64;
}

sigv4_status sigv4_verify(const sigv4_request *req, const sigv4_auth *auth, const char *secret,
                          time_t now) {
    if (!auth_complete(auth) || !secret) return SIGV4_MALFORMED;
    uint8_t key[32];
    sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
    sigv4_status st = sigv4_verify_key(req, auth, key, now);
    cl_cleanse(key, sizeof key);
    return st;
}

sigv4_status sigv4_verify_key(const sigv4_request *req, const sigv4_auth *auth,
                              const uint8_t key[32], time_t now) {
    if (!auth_complete(auth) || !key) return SIGV4_MALFORMED;
    sigv4_status st = check_time(auth, now);
    if (st != SIGV4_OK) return st;
    if (!signed_headers_present(req->headers, auth->signed_headers))
        return SIGV4_SIGNATURE_MISMATCH;
    sigv4_request r = *req;
    char *query = NULL;
    const char *payload[2] = {req->payload_hash ? req->payload_hash : UNSIGNED, NULL};
    if (auth->presigned) {
        r.query = query = query_without_signature(req->query);
        if (!header_get(req->headers, "x-amz-content-sha256") &&
            strcmp(payload[0], UNSIGNED) != 0) {
            payload[1] = payload[0];
            payload[0] = UNSIGNED;
        }
    }
    sig_scope sc = {auth->amz_date, auth->date, auth->region, auth->service};
    bool ok = false;
    for (size_t i = 0; i < 2 && payload[i] && !ok; i++) {
        char sig[65];
        r.payload_hash = payload[i];
        signature_hex(&r, auth->signed_headers, &sc, key, sig);
        ok = cl_ct_eq(sig, auth->signature, 64);
    }
    free(query);
    return ok ? SIGV4_OK : SIGV4_SIGNATURE_MISMATCH;
}

/* ---- headers the signature does not cover ---- */

static bool in_list(const char *list, cl_slice name) {
    cl_slice rest = slice_cstr(list), item;
    while (slice_split(&rest, ';', &item))
        if (item.len == name.len &&
            strncasecmp((const char *)item.ptr, (const char *)name.ptr, name.len) == 0)
            return true;
    return false;
}

bool sigv4_unsigned_amz_headers(const cl_kvlist *headers, const char *signed_headers, cl_buf *out) {
    bool any = false;
    for (size_t i = 0; headers && i < headers->len; i++) {
        const char *k = headers->items[i].key;
        if (strncasecmp(k, "x-amz-", 6) != 0 || strcasecmp(k, "x-amz-content-sha256") == 0)
            continue;
        cl_slice name = slice_cstr(k);
        if (in_list(signed_headers ? signed_headers : "", name)) continue;
        bool seen = false; /* a repeated header is listed once */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcasecmp(headers->items[j].key, k) == 0;
        if (seen) continue;
        if (any) buf_append_byte(out, ',');
        for (size_t c = 0; c < name.len; c++) {
            uint8_t ch = name.ptr[c];
            buf_append_byte(out, ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch - 'A' + 'a') : ch);
        }
        any = true;
    }
    return any;
}

/* ---- client side ---- */

static void header_remove(cl_kvlist *h, const char *name) {
    size_t j = 0;
    for (size_t i = 0; i < h->len; i++) {
        if (strcasecmp(h->items[i].key, name) == 0) {
            free(h->items[i].key);
            free(h->items[i].value);
        } else {
            h->items[j++] = h->items[i];
        }
    }
    h->len = j;
}

static void header_set(cl_kvlist *h, const char *name, const char *value) {
    header_remove(h, name);
    kvlist_add(h, name, value);
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every header the caller will send, lower-cased, sorted, once each; minus the
 * ones proxies and HTTP stacks rewrite (the same list botocore leaves out). */
static char *signed_header_list(const cl_kvlist *h) {
    static const char *const SKIP[] = {"authorization", "user-agent", "expect", "x-amzn-trace-id"};
    size_t n = h ? h->len : 0, m = 0;
    char **names = cl_calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        char *k = cl_strdup(h->items[i].key);
        for (char *c = k; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        bool skip = false;
        for (size_t s = 0; s < sizeof SKIP / sizeof *SKIP; s++)
            skip |= strcmp(k, SKIP[s]) == 0;
        if (skip)
            free(k);
        else
            names[m++] = k;
    }
    qsort(names, m, sizeof *names, str_cmp);
    cl_buf out = CL_BUF_INIT;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            buf_appendf(&out, "%s%s", out.len ? ";" : "", names[i]);
    }
    for (size_t i = 0; i < m; i++)
        free(names[i]);
    free(names);
    return buf_take_cstr(&out);
}

void sigv4_sign(const sigv4_request *req, cl_kvlist *headers, const char *access_key,
                const char *secret, const char *session_token, const char *region,
                const char *service, time_t now, bool add_content_sha) {
    char amz[17], date[9];
    time_format_amz(now, amz);
    memcpy(date, amz, 8);
    date[8] = 0;
    header_remove(headers, "authorization");
    header_set(headers, "x-amz-date", amz);
    if (session_token && *session_token) header_set(headers, "x-amz-security-token", session_token);
    if (add_content_sha)
        header_set(headers, "x-amz-content-sha256",
                   req->payload_hash ? req->payload_hash : UNSIGNED);
    char *signed_headers = signed_header_list(headers);
    sigv4_request r = *req;
    r.headers = headers;
    sig_scope sc = {amz, date, region, service};
    char sig[65];
    signature_with_secret(&r, signed_headers, &sc, secret, sig);
    char *authz = cl_sprintf(ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                       "Signature=%s",
                             access_key, date, region, service, signed_headers, sig);
    kvlist_add(headers, "Authorization", authz);
    free(authz);
    free(signed_headers);
}

static void query_param(cl_buf *q, const char *name, const char *value) {
    buf_appendf(q, "%s%s=", q->len ? "&" : "", name);
    url_encode_aws(q, slice_cstr(value), false);
}

char *sigv4_presign(const sigv4_request *req, const char *access_key, const char *secret,
                    const char *session_token, const char *region, const char *service, time_t now,
                    uint64_t expires) {
    char amz[17], date[9], exp[24];
    time_format_amz(now, amz);
    memcpy(date, amz, 8);
    date[8] = 0;
    snprintf(exp, sizeof exp, "%llu", (unsigned long long)expires);
    char *signed_headers = signed_header_list(req->headers);
    char *cred = cl_sprintf("%s/%s/%s/%s/aws4_request", access_key, date, region, service);
    cl_buf q = CL_BUF_INIT;
    buf_append_cstr(&q, req->query ? req->query : "");
    query_param(&q, "X-Amz-Algorithm", ALGORITHM);
    query_param(&q, "X-Amz-Credential", cred);
    query_param(&q, "X-Amz-Date", amz);
    query_param(&q, "X-Amz-Expires", exp);
    query_param(&q, "X-Amz-SignedHeaders", signed_headers);
    if (session_token && *session_token) query_param(&q, "X-Amz-Security-Token", session_token);
    sigv4_request r = *req;
    r.query = buf_cstr(&q);
    r.payload_hash = req->payload_hash ? req->payload_hash : UNSIGNED;
    sig_scope sc = {amz, date, region, service};
    char sig[65];
    signature_with_secret(&r, signed_headers, &sc, secret, sig);
    query_param(&q, "X-Amz-Signature", sig);
    free(cred);
    free(signed_headers);
    return buf_take_cstr(&q);
}

/* auth.c — turns a signed request into a caller: parse the SigV4 signature
 * (or S3's SigV2, authenticate_v2 below),
 * find the access key (long-term AKIA in `access_key`, temporary ASIA in
 * `session`), check the session token and its expiry, then the clock and the
 * signature. Each failure maps to the code AWS returns for the service named in
 * the credential scope (S3 words some of them differently from IAM/STS). */
#include "iam/iam_internal.h"

#include "aws/sigv2.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_s3(const char *service) {
    return service && strcmp(service, "s3") == 0;
}

static void fault_malformed(aws_fault *f, const char *service, sigv4_status st) {
    if (is_s3(service)) {
        const char *code = st == SIGV4_EXPIRES_TOO_LONG ? "AuthorizationQueryParametersError"
                                                        : "AuthorizationHeaderMalformed";
        if (st == SIGV4_EXPIRES_TOO_LONG)
            aws_fault_set(f, 400, code,
                          "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
        else
            aws_fault_set(f, 400, code, "The authorization header is malformed: %s",
                          sigv4_status_str(st));
        return;
    }
    if (st == SIGV4_EXPIRES_TOO_LONG)
        aws_fault_set(f, 400, "AuthorizationQueryParametersError",
                      "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
    else
        aws_fault_set(f, 400, "IncompleteSignature", "The request signature is malformed: %s",
                      sigv4_status_str(st));
}

static void fault_unknown_key(aws_fault *f, const char *service) {
    if (is_s3(service))
        aws_fault_set(f, 403, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.");
    else
        aws_fault_set(f, 403, "InvalidClientTokenId",
                      "The security token included in the request is invalid.");
}

static void fault_bad_token(aws_fault *f, const char *service) {
    if (is_s3(service))
        aws_fault_set(f, 400, "InvalidToken",
                      "The provided token is malformed or otherwise invalid.");
    else
        aws_fault_set(f, 403, "InvalidClientTokenId",
                      "The security token included in the request is invalid.");
}

static void fault_verify(aws_fault *f, const char *service, sigv4_status st, const sigv4_auth *a) {
    if (st == SIGV4_SKEWED) {
        char now[17];
        time_format_amz(time_now(), now);
        if (is_s3(service))
            aws_fault_set(
                f, 403, "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.");
        else
            aws_fault_set(f, 403, "SignatureDoesNotMatch",
                          "Signature expired: %s is now earlier or later than the server time %s "
                          "by more than 15 minutes.",
                          a->amz_date ? a->amz_date : "?", now);
    } else if (st == SIGV4_EXPIRED) {
        aws_fault_set(f, 403, "AccessDenied", "Request has expired");
    } else {
        aws_fault_set(
            f, 403, "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");
    }
}

void iam_caller_free(iam_caller *c) {
    free(c->account);
    free(c->arn);
    free(c->userid);
    free(c->username);
    free(c->role_arn);
    free(c->role_name);
    free(c->session_name);
    free(c->access_key);
    free(c->session_policy);
    free(c->service);
    free(c->region);
    free(c->amz_date);
    free(c->scope);
    free(c->signature);
    free(c->headers_not_signed);
    free(c->string_to_sign);
    free(c->signature_provided);
    cl_cleanse(c->signing_key, sizeof c->signing_key);
    memset(c, 0, sizeof *c);
}

const char *iam_auth_type_name(iam_auth_type t) {
    return t == IAM_AUTHTYPE_HEADER  ? "REST-HEADER"
           : t == IAM_AUTHTYPE_QUERY ? "REST-QUERY-STRING"
           : t == IAM_AUTHTYPE_POST  ? "POST"
                                     : NULL;
}

static char *dup_or_null(const char *s) {
    return s && *s ? cl_strdup(s) : NULL;
}

/* Loads what authentication needs about a long-term key: the key and its user
 * (or, for a root key, its account). */
static bool load_long_term(iam *m, json_t *key, iam_key_info *k) {
    if (json_is_true(json_object_get(key, "Root"))) return iam_root_key_load(m, key, k);
    char *name = iam_lower(iam_str(key, "UserName"));
    json_t *user = iam_doc_get(m, "user", iam_str(key, "Account"), name);
    free(name);
    if (!user) return false;
    k->active = strcmp(iam_str(key, "Status"), "Active") == 0;
    k->secret = iam_secret_get(m, key, iam_str(key, "AccessKeyId"));
    if (!k->secret) { /* sealed under another node key: the key cannot be used */
        log_warn("iam: the secret of access key %s cannot be unsealed",
                 iam_str(key, "AccessKeyId"));
        k->secret = cl_strdup("");
        k->active = false;
    }
    k->type = PRINCIPAL_USER;
    k->account = cl_strdup(iam_str(key, "Account"));
    k->arn = cl_strdup(iam_str(user, "Arn"));
    k->userid = cl_strdup(iam_str(user, "UserId"));
    k->username = cl_strdup(iam_str(user, "UserName"));
    json_decref(user);
    return true;
}

/* When the session was issued (aws:TokenIssueTime): IssueTime, stored since
 * sts.c records it; for older sessions Expiration minus DurationSeconds if that
 * was stored; else 0 (unknown: the key is then not supplied). */
static time_t session_issued(json_t *s, time_t expiration) {
    time_t t;
    if (time_parse_iso8601(slice_cstr(iam_str(s, "IssueTime")), &t) == CL_OK) return t;
    json_t *d = json_object_get(s, "DurationSeconds");
    if (expiration && json_is_integer(d)) return expiration - (time_t)json_integer_value(d);
    return 0;
}

/* A session belongs to the role or user it was issued for by unique ID: the
 * role (user) of that name must still exist with the same RoleId (UserId), so
 * a session of a deleted role never acts as a later role of the same name.
 * Sessions store the role's ID as aws:userid "AROA...:SESSION". */
static bool session_owner_exists(iam *m, json_t *s, bool role) {
    const char *kind = role ? "role" : "user";
    char *key = iam_lower(iam_str(s, role ? "RoleName" : "UserName"));
    json_t *owner = iam_doc_get(m, kind, iam_str(s, "Account"), key);
    free(key);
    const char *id = iam_str(owner, role ? "RoleId" : "UserId"), *uid = iam_str(s, "UserId");
    size_t n = strlen(id);
    bool same = owner && n > 0 && strncmp(uid, id, n) == 0 && uid[n] == (role ? ':' : '\0');
    json_decref(owner);
    return same;
}

/* Loads a temporary session (assumed role or GetSessionToken). */
static bool load_session(iam *m, json_t *s, const char *akid, iam_key_info *k) {
    k->temporary = true;
    k->secret = iam_secret_get(m, s, akid);
    k->active = k->secret != NULL &&
                session_owner_exists(m, s, strcmp(iam_str(s, "Type"), "assumed-role") == 0);
    if (!k->secret) k->secret = cl_strdup("");
    k->token = cl_strdup(iam_str(s, "Token"));
    if (time_parse_iso8601(slice_cstr(iam_str(s, "Expiration")), &k->expiration) != CL_OK)
        k->expiration = 0;
    k->issued = session_issued(s, k->expiration);
    k->account = cl_strdup(iam_str(s, "Account"));
    k->arn = cl_strdup(iam_str(s, "Arn"));
    k->userid = cl_strdup(iam_str(s, "UserId"));
    if (strcmp(iam_str(s, "Type"), "assumed-role") == 0) {
        k->type = PRINCIPAL_ASSUMED_ROLE;
        k->role_arn = dup_or_null(iam_str(s, "RoleArn"));
        k->role_name = dup_or_null(iam_str(s, "RoleName"));
        k->session_name = dup_or_null(iam_str(s, "SessionName"));
        k->session_policy = dup_or_null(iam_str(s, "Policy"));
    } else {
        k->type = PRINCIPAL_USER;
        k->username = dup_or_null(iam_str(s, "UserName"));
    }
    return true;
}

/* From the cache, or from the store (then cached). False: no such key. */
static bool key_info_get(iam *m, const char *akid, const char *kscope, iam_key_info *k,
                         uint8_t key[32], bool *has_key) {
    uint64_t seq = store_write_seq(m->st);
    if (iam_auth_cache_get(m->auth_cache, akid, seq, kscope, k, key, has_key)) return true;
    *has_key = false;
    bool temporary = strncmp(akid, "ASIA", 4) == 0;
    json_t *doc = iam_doc_get(m, temporary ? "session" : "access_key", "", akid);
    bool ok = doc && (temporary ? load_session(m, doc, akid, k) : load_long_term(m, doc, k));
    json_decref(doc); /* jansson zeroises freed memory (see cli/main.c) */
    /* Root keys are minted and deleted by the operator's CLI in another
     * process, which this process's write sequence does not see: never cached,
     * so a deleted root key stops working at once. */
    if (!ok)
        iam_key_info_free(k);
    else if (k->type != PRINCIPAL_ROOT)
        iam_auth_cache_put(m->auth_cache, akid, seq, k);
    return ok;
}

static iam_auth_result check_key(const sigv4_auth *a, const iam_key_info *k, aws_fault *f) {
    if (!k->active) {
        fault_unknown_key(f, a->service);
        return IAM_AUTH_FAILED;
    }
    if (!k->temporary) {
        if (!a->security_token) return IAM_AUTH_OK;
        fault_bad_token(f, a->service); /* a token with long-term keys is not valid */
        return IAM_AUTH_FAILED;
    }
    size_t n = strlen(k->token);
    if (!a->security_token || strlen(a->security_token) != n ||
        !cl_ct_eq(k->token, a->security_token, n)) {
        fault_bad_token(f, a->service);
        return IAM_AUTH_FAILED;
    }
    if (time_now() >= k->expiration) {
        if (is_s3(a->service))
            aws_fault_set(f, 400, "ExpiredToken", "The provided token has expired.");
        else
            aws_fault_set(f, 403, "ExpiredToken",
                          "The security token included in the request is expired");
        return IAM_AUTH_FAILED;
    }
    return IAM_AUTH_OK;
}

/* Moves the key's identity into the caller (strings duplicated). */
static void fill_caller(iam_caller *c, const iam_key_info *k, const char *akid) {
    c->access_key = cl_strdup(akid);
    c->account = dup_or_null(k->account);
    c->arn = dup_or_null(k->arn);
    c->userid = dup_or_null(k->userid);
    c->username = dup_or_null(k->username);
    c->role_arn = dup_or_null(k->role_arn);
    c->role_name = dup_or_null(k->role_name);
    c->session_name = dup_or_null(k->session_name);
    c->session_policy = dup_or_null(k->session_policy);
    c->temporary = k->temporary;
    c->expiration = k->expiration;
    c->token_issue_time = k->temporary ? k->issued : 0;
    c->p.type = k->type;
    c->p.account = c->account;
    c->p.arn = c->arn;
    c->p.userid = c->userid;
    c->p.username = c->username;
    c->p.role_arn = c->role_arn;
}

/* Verifies the signature with the cached signing key, deriving and caching it if needed. */
static sigv4_status verify(iam *m, const sigv4_request *sr, const sigv4_auth *a, const char *kscope,
                           const iam_key_info *k, uint8_t key[32], bool has_key) {
    if (!has_key) {
        uint64_t seq = store_write_seq(m->st);
        sigv4_signing_key(k->secret, a->date, a->region, a->service, key);
        iam_auth_cache_put_key(m->auth_cache, a->access_key, seq, kscope, key);
    }
    return sigv4_verify_key(sr, a, key, time_now()); /* the caller zeroises key */
}

/* A verified request may carry only signed x-amz-* headers (see
 * sigv4_unsigned_amz_headers): this one check, in the one authentication path
 * every service and the streamed-upload path (frontdoor_on_headers) share, is
 * what lets routing and handlers trust every x-amz-* header they read. AWS
 * (S3) answers 403 AccessDenied with this message and a HeadersNotSigned
 * element; IAM, STS and KMS get the same code and message in their shape. */
static iam_auth_result check_signed_headers(const sigv4_request *sr, const sigv4_auth *a,
                                            iam_caller *out, aws_fault *f) {
    cl_buf names = CL_BUF_INIT;
    if (!sigv4_unsigned_amz_headers(sr->headers, a->signed_headers, &names)) {
        buf_free(&names);
        return IAM_AUTH_OK;
    }
    aws_fault_set(f, 403, "AccessDenied",
                  "There were headers present in the request which were not signed");
    out->headers_not_signed = buf_take_cstr(&names);
    return IAM_AUTH_FAILED;
}

/* ---- S3 Signature Version 2 ---- */

void iam_set_sigv2(iam *m, bool on) {
    m->sigv2_off = !on;
}

void iam_set_s3_domain(iam *m, const char *domain) {
    free(m->s3_domain);
    m->s3_domain = domain && *domain ? cl_strdup(domain) : NULL;
}

#define V2_NOT_HERE                                                                                \
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."

/* Faults of a SigV2 request that did not parse or whose time is off, in the
 * words S3 uses for them. */
static void fault_v2(aws_fault *f, sigv2_status st, const sigv2_auth *a) {
    if (st == SIGV2_MALFORMED && a->presigned && a->date_line)
        aws_fault_set(f, 403, "AccessDenied", "Invalid date (should be seconds since epoch): %.32s",
                      a->date_line);
    else if (st == SIGV2_MALFORMED)
        aws_fault_set(f, 400, "InvalidArgument",
                      "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
    else if (st == SIGV2_QUERY_PARTS)
        aws_fault_set(f, 403, "AccessDenied",
                      "Query-string authentication requires the Signature, Expires and "
                      "AWSAccessKeyId parameters");
    else if (st == SIGV2_NO_DATE)
        aws_fault_set(f, 403, "AccessDenied",
                      "AWS authentication requires a valid Date or x-amz-date header");
    else if (st == SIGV2_UNSIGNABLE)
        aws_fault_set(f, 400, "InvalidRequest",
                      "The authorization mechanism you have provided is not supported for this "
                      "request: Signature Version 2 cannot sign the query parameter '%.64s' (send "
                      "x-amz-* values as headers). Please use AWS4-HMAC-SHA256.",
                      a->unsignable ? a->unsignable : "?");
    else if (st == SIGV2_SKEWED)
        aws_fault_set(f, 403, "RequestTimeTooSkewed",
                      "The difference between the request time and the current time is too large.");
    else if (st == SIGV2_EXPIRED)
        aws_fault_set(f, 403, "AccessDenied", "Request has expired");
    else if (st == SIGV2_EXPIRES_TOO_LONG)
        aws_fault_set(f, 400, "AuthorizationQueryParametersError",
                      "Expires must be at most 604800 seconds (a week) from now");
    else
        aws_fault_set(f, 403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.");
}

/* Verifies a parsed SigV2 request; on mismatch keeps what S3's error shows. */
static iam_auth_result verify_v2(iam *m, const sigv4_request *sr, const sigv2_auth *a,
                                 const iam_key_info *k, iam_caller *out, aws_fault *f) {
    char *bucket = sigv2_host_bucket(kvlist_get_ci(sr->headers, "host"),
                                     m->s3_domain ? m->s3_domain : "localhost");
    cl_buf sts = CL_BUF_INIT;
    sigv2_status st = sigv2_verify(sr, a, bucket, k->secret, time_now(), &sts);
    free(bucket);
    if (st == SIGV2_SIGNATURE_MISMATCH) {
        out->string_to_sign = buf_take_cstr(&sts);
        out->signature_provided = cl_strdup(a->signature);
        out->access_key = cl_strdup(a->access_key);
    }
    buf_free(&sts);
    if (st == SIGV2_OK) return IAM_AUTH_OK;
    fault_v2(f, st, a);
    return IAM_AUTH_FAILED;
}

/* S3 only: the caller's service is "s3" and it has no region (us-east-1) and
 * no signing key (aws-chunked bodies need SigV4). Every x-amz-* header is in
 * the StringToSign (sigv2.h), so check_signed_headers has nothing to add. */
static iam_auth_result authenticate_v2(iam *m, const sigv4_request *sr, sigv2_status st,
                                       sigv2_auth a, iam_caller *out, aws_fault *f) {
    out->service = cl_strdup("s3");
    out->sigv2 = true;
    iam_auth_result r = IAM_AUTH_FAILED;
    iam_key_info k = {0};
    uint8_t key[32];
    bool has_key = false;
    if (m->sigv2_off)
        aws_fault_set(f, 400, "InvalidRequest", V2_NOT_HERE);
    else if (st != SIGV2_OK)
        fault_v2(f, st, &a);
    else if (!key_info_get(m, a.access_key, "sigv2", &k, key, &has_key))
        fault_unknown_key(f, "s3");
    else {
        sigv4_auth shim = {.service = (char *)"s3", .security_token = a.security_token};
        r = check_key(&shim, &k, f);
    }
    if (r == IAM_AUTH_OK) r = verify_v2(m, sr, &a, &k, out, f);
    if (r == IAM_AUTH_OK) {
        fill_caller(out, &k, a.access_key);
        out->auth_type = a.presigned ? IAM_AUTHTYPE_QUERY : IAM_AUTHTYPE_HEADER;
        out->request_time = a.presigned ? time_now() : a.request_time;
    }
    cl_cleanse(key, sizeof key);
    iam_key_info_free(&k);
    sigv2_auth_free(&a);
    return r;
}

iam_auth_result iam_authenticate(iam *m, const http_request *req, const char *payload_hash,
                                 bool s3_paths, iam_caller *out, aws_fault *f) {
    memset(out, 0, sizeof *out);
    sigv4_request sr = {req->method, req->path, req->query, &req->headers, payload_hash, s3_paths};
    sigv2_auth a2;
    sigv2_status st2 = sigv2_parse(&sr, &a2);
    if (st2 != SIGV2_MISSING) return authenticate_v2(m, &sr, st2, a2, out, f); /* frees a2 */
    sigv2_auth_free(&a2);
    sigv4_auth a = {0};
    sigv4_status st = sigv4_parse(&sr, &a);
    if (st == SIGV4_MISSING) {
        sigv4_auth_free(&a);
        out->p.type = PRINCIPAL_ANONYMOUS;
        return IAM_AUTH_ANONYMOUS;
    }
    sr.s3_paths = s3_paths || is_s3(a.service); /* S3 signs paths without normalising */
    out->service = dup_or_null(a.service);
    out->region = a.region ? cl_strdup(a.region) : NULL; /* "" for S3: s3_check_region */
    if (st != SIGV4_OK) {
        fault_malformed(f, a.service ? a.service : (s3_paths ? "s3" : NULL), st);
        sigv4_auth_free(&a);
        return IAM_AUTH_FAILED;
    }
    char kscope[96];
    snprintf(kscope, sizeof kscope, "%s/%s/%s", a.date, a.region, a.service);
    iam_key_info k = {0};
    uint8_t key[32];
    bool has_key = false;
    iam_auth_result r = IAM_AUTH_FAILED;
    if (!key_info_get(m, a.access_key, kscope, &k, key, &has_key))
        fault_unknown_key(f, a.service);
    else
        r = check_key(&a, &k, f);
    if (r == IAM_AUTH_OK) {
        st = verify(m, &sr, &a, kscope, &k, key, has_key);
        if (st != SIGV4_OK) {
            fault_verify(f, a.service, st, &a);
            r = IAM_AUTH_FAILED;
        }
    }
    if (r == IAM_AUTH_OK) r = check_signed_headers(&sr, &a, out, f);
    if (r == IAM_AUTH_OK) {
        fill_caller(out, &k, a.access_key);
        out->auth_type = a.presigned ? IAM_AUTHTYPE_QUERY : IAM_AUTHTYPE_HEADER;
        out->request_time = a.request_time;
        if (!a.presigned) { /* what an aws-chunked body's signatures chain from */
            memcpy(out->signing_key, key, sizeof key);
            out->has_signing_key = true;
            out->amz_date = cl_strdup(a.amz_date);
            out->scope = cl_sprintf("%s/%s/%s/aws4_request", a.date, a.region, a.service);
            out->signature = cl_strdup(a.signature);
        }
    }
    cl_cleanse(key, sizeof key);
    iam_key_info_free(&k);
    sigv4_auth_free(&a);
    return r;
}

const char *iam_caller_region(const iam_caller *c) {
    return c->region && c->region[0] ? c->region : "us-east-1";
}

/* ---- POST policy (S3 browser uploads) ---- */

/* KEY/YYYYMMDD/REGION/SERVICE/aws4_request into a (strings owned by a). */
static bool parse_credential(const char *cred, sigv4_auth *a) {
    char *parts[5] = {0};
    const char *p = cred;
    for (int i = 0; i < 5; i++) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (i < 4 && !slash) || (i == 4 && slash)) {
            for (int j = 0; j < i; j++)
                free(parts[j]);
            return false;
        }
        parts[i] = cl_strndup(p, n);
        p = slash ? slash + 1 : p + n;
    }
    bool ok = strcmp(parts[4], "aws4_request") == 0 && strlen(parts[1]) == 8;
    a->access_key = parts[0];
    a->date = parts[1];
    a->region = parts[2];
    a->service = parts[3];
    free(parts[4]);
    return ok;
}

iam_auth_result iam_authenticate_post(iam *m, const char *credential, const char *amz_date,
                                      const char *token, const char *policy_b64,
                                      const char *signature, iam_caller *out, aws_fault *f) {
    memset(out, 0, sizeof *out);
    sigv4_auth a = {0};
    time_t when = 0;
    if (!credential || !amz_date || !signature || !parse_credential(credential, &a) ||
        time_parse_amz(slice_cstr(amz_date), &when) != CL_OK || strncmp(amz_date, a.date, 8) != 0) {
        aws_fault_set(f, 400, "InvalidArgument",
                      "POST requires x-amz-credential, x-amz-date and x-amz-signature in the "
                      "form, the credential as KEY/DATE/REGION/SERVICE/aws4_request");
        sigv4_auth_free(&a);
        return IAM_AUTH_FAILED;
    }
    a.security_token = token ? cl_strdup(token) : NULL;
    char kscope[96];
    snprintf(kscope, sizeof kscope, "%s/%s/%s", a.date, a.region, a.service);
    iam_key_info k = {0};
    uint8_t key[32], mac[CRYPTO_SHA256_LEN];
    bool has_key = false;
    iam_auth_result r = IAM_AUTH_FAILED;
    if (!key_info_get(m, a.access_key, kscope, &k, key, &has_key))
        fault_unknown_key(f, "s3");
    else
        r = check_key(&a, &k, f);
    if (r == IAM_AUTH_OK) {
        if (!has_key) sigv4_signing_key(k.secret, a.date, a.region, a.service, key);
        crypto_hmac_sha256(slice_of(key, 32), slice_cstr(policy_b64), mac);
        char hex[65];
        hex_encode_to(hex, mac, sizeof mac);
        if (strlen(signature) != 64 || !cl_ct_eq(hex, signature, 64)) {
            aws_fault_set(f, 403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your key and signing method.");
            r = IAM_AUTH_FAILED;
        }
    }
    if (r == IAM_AUTH_OK) {
        fill_caller(out, &k, a.access_key);
        out->service = cl_strdup(a.service);
        out->region = cl_strdup(a.region);
        out->auth_type = IAM_AUTHTYPE_POST;
        out->request_time = when;
    }
    cl_cleanse(key, sizeof key);
    iam_key_info_free(&k);
    sigv4_auth_free(&a);
    return r;
}

/* The SigV2 form ("Browser-based uploads using POST (AWS Signature Version
 * 2)"): signature = base64(HMAC-SHA1(secret, base64 policy)). The same switch
 * (serve --sigv2 off), keys and faults as SigV2 elsewhere (authenticate_v2). */
iam_auth_result iam_authenticate_post_v2(iam *m, const char *access_key, const char *token,
                                         const char *policy_b64, const char *signature,
                                         iam_caller *out, aws_fault *f) {
    memset(out, 0, sizeof *out);
    out->service = cl_strdup("s3");
    out->sigv2 = true;
    iam_key_info k = {0};
    uint8_t key[32];
    bool has_key = false;
    iam_auth_result r = IAM_AUTH_FAILED;
    if (m->sigv2_off)
        aws_fault_set(f, 400, "InvalidRequest", V2_NOT_HERE);
    else if (!signature || !*signature)
        aws_fault_set(f, 400, "InvalidArgument",
                      "Bucket POST must contain a field named 'Signature'.  If it is specified, "
                      "please check the order of the fields.");
    else if (!key_info_get(m, access_key, "sigv2", &k, key, &has_key))
        fault_unknown_key(f, "s3");
    else {
        sigv4_auth shim = {.service = (char *)"s3", .security_token = (char *)token};
        r = check_key(&shim, &k, f);
    }
    if (r == IAM_AUTH_OK) {
        cl_buf want = CL_BUF_INIT;
        sigv2_signature(k.secret, slice_cstr(policy_b64), &want);
        if (strlen(signature) != want.len || !cl_ct_eq(want.ptr, signature, want.len)) {
            aws_fault_set(f, 403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your key and signing method.");
            r = IAM_AUTH_FAILED;
        }
        buf_free(&want);
    }
    if (r == IAM_AUTH_OK) {
        fill_caller(out, &k, access_key);
        out->auth_type = IAM_AUTHTYPE_POST;
        out->request_time = time_now();
    }
    cl_cleanse(key, sizeof key);
    iam_key_info_free(&k);
    return r;
}

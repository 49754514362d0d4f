/* auth.c — turns a signed request into a caller: parse the SigV4 signature,
 * find the access key (long-term AKIA in `access_key`, temporary ASIA in
 * `session`), check the session token and its expiry, then the clock and the
 * signature. Each failure maps to the code AWS returns for the service named in
 * the credential scope (S3 words some of them differently from IAM/STS). */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_s3(const char *service) { return service && strcmp(service, "s3") == 0; }

static void fault_malformed(aws_fault *f, const char *service, sigv4_status st) {
    if (is_s3(service)) {
        const char *code = st == SIGV4_EXPIRES_TOO_LONG ? "AuthorizationQueryParametersError"
                                                        : "AuthorizationHeaderMalformed";
        if (st == SIGV4_EXPIRES_TOO_LONG)
            aws_fault_set(f, 400, code, "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
        else
            aws_fault_set(f, 400, code, "The authorization header is malformed: %s", sigv4_status_str(st));
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
        aws_fault_set(f, 400, "InvalidToken", "The provided token is malformed or otherwise invalid.");
    else
        aws_fault_set(f, 403, "InvalidClientTokenId",
                      "The security token included in the request is invalid.");
}

static void fault_verify(aws_fault *f, const char *service, sigv4_status st, const sigv4_auth *a) {
    if (st == SIGV4_SKEWED) {
        char now[17];
        time_format_amz(time_now(), now);
        if (is_s3(service))
            aws_fault_set(f, 403, "RequestTimeTooSkewed",
                          "The difference between the request time and the current time is too large.");
        else
            aws_fault_set(f, 403, "SignatureDoesNotMatch",
                          "Signature expired: %s is now earlier or later than the server time %s by more than 15 minutes.",
                          a->amz_date ? a->amz_date : "?", now);
    } else if (st == SIGV4_EXPIRED) {
        aws_fault_set(f, 403, "AccessDenied", "Request has expired");
    } else {
        aws_fault_set(f, 403, "SignatureDoesNotMatch",
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
    memset(c, 0, sizeof *c);
}

static char *dup_or_null(const char *s) { return s && *s ? cl_strdup(s) : NULL; }

static void link_principal(iam_caller *c, principal_type t) {
    c->p.type = t;
    c->p.account = c->account;
    c->p.arn = c->arn;
    c->p.userid = c->userid;
    c->p.username = c->username;
    c->p.role_arn = c->role_arn;
}

/* Fills the caller from a long-term key: the user who owns it. */
static bool caller_from_key(iam *m, json_t *key, iam_caller *c) {
    char *k = iam_lower(iam_str(key, "UserName"));
    json_t *user = iam_doc_get(m, "user", iam_str(key, "Account"), k);
    free(k);
    if (!user) return false;
    c->account = cl_strdup(iam_str(key, "Account"));
    c->arn = cl_strdup(iam_str(user, "Arn"));
    c->userid = cl_strdup(iam_str(user, "UserId"));
    c->username = cl_strdup(iam_str(user, "UserName"));
    json_decref(user);
    link_principal(c, PRINCIPAL_USER);
    return true;
}

/* Fills the caller from a temporary session (assumed role or GetSessionToken). */
static void caller_from_session(json_t *s, iam_caller *c) {
    c->account = cl_strdup(iam_str(s, "Account"));
    c->arn = cl_strdup(iam_str(s, "Arn"));
    c->userid = cl_strdup(iam_str(s, "UserId"));
    c->temporary = true;
    if (strcmp(iam_str(s, "Type"), "assumed-role") == 0) {
        c->role_arn = dup_or_null(iam_str(s, "RoleArn"));
        c->role_name = dup_or_null(iam_str(s, "RoleName"));
        c->session_name = dup_or_null(iam_str(s, "SessionName"));
        c->session_policy = dup_or_null(iam_str(s, "Policy"));
        link_principal(c, PRINCIPAL_ASSUMED_ROLE);
    } else {
        c->username = dup_or_null(iam_str(s, "UserName"));
        link_principal(c, PRINCIPAL_USER);
    }
}

typedef struct {
    json_t *doc;      /* access_key or session document */
    bool temporary;
} key_lookup;

static iam_auth_result lookup_key(iam *m, const sigv4_auth *a, key_lookup *k, aws_fault *f) {
    k->temporary = strncmp(a->access_key, "ASIA", 4) == 0;
    k->doc = iam_doc_get(m, k->temporary ? "session" : "access_key", "", a->access_key);
    if (!k->doc || (!k->temporary && strcmp(iam_str(k->doc, "Status"), "Active") != 0)) {
        fault_unknown_key(f, a->service);
        return IAM_AUTH_FAILED;
    }
    if (!k->temporary) {
        if (a->security_token) { /* a token with long-term keys is not valid */
            fault_bad_token(f, a->service);
            return IAM_AUTH_FAILED;
        }
        return IAM_AUTH_OK;
    }
    const char *want = iam_str(k->doc, "Token");
    size_t n = strlen(want);
    if (!a->security_token || strlen(a->security_token) != n || !cl_ct_eq(want, a->security_token, n)) {
        fault_bad_token(f, a->service);
        return IAM_AUTH_FAILED;
    }
    time_t exp = 0;
    if (time_parse_iso8601(slice_cstr(iam_str(k->doc, "Expiration")), &exp) != CL_OK || time_now() >= exp) {
        if (is_s3(a->service))
            aws_fault_set(f, 400, "ExpiredToken", "The provided token has expired.");
        else
            aws_fault_set(f, 403, "ExpiredToken", "The security token included in the request is expired");
        return IAM_AUTH_FAILED;
    }
    return IAM_AUTH_OK;
}

iam_auth_result iam_authenticate(iam *m, const http_request *req, const char *payload_hash,
                                 bool s3_paths, iam_caller *out, aws_fault *f) {
    memset(out, 0, sizeof *out);
    sigv4_request sr = {req->method, req->path, req->query, &req->headers, payload_hash, s3_paths};
    sigv4_auth a = {0};
    sigv4_status st = sigv4_parse(&sr, &a);
    if (st == SIGV4_MISSING) {
        sigv4_auth_free(&a);
        out->p.type = PRINCIPAL_ANONYMOUS;
        return IAM_AUTH_ANONYMOUS;
    }
    sr.s3_paths = s3_paths || is_s3(a.service); /* S3 signs paths without normalising */
    out->service = dup_or_null(a.service);
    out->region = dup_or_null(a.region);
    if (st != SIGV4_OK) {
        fault_malformed(f, a.service ? a.service : (s3_paths ? "s3" : NULL), st);
        sigv4_auth_free(&a);
        return IAM_AUTH_FAILED;
    }
    key_lookup k = {0};
    iam_auth_result r = lookup_key(m, &a, &k, f);
    if (r == IAM_AUTH_OK) {
        st = sigv4_verify(&sr, &a, iam_str(k.doc, "Secret"), time_now());
        if (st != SIGV4_OK) {
            fault_verify(f, a.service, st, &a);
            r = IAM_AUTH_FAILED;
        }
    }
    if (r == IAM_AUTH_OK) {
        out->access_key = cl_strdup(a.access_key);
        if (k.temporary) caller_from_session(k.doc, out);
        else if (!caller_from_key(m, k.doc, out)) {
            fault_unknown_key(f, a.service);
            r = IAM_AUTH_FAILED;
        }
    }
    json_decref(k.doc); /* holds a secret: jansson frees it; the store copy was zeroised */
    sigv4_auth_free(&a);
    return r;
}

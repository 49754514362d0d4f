/* frontdoor.c — the one road every request walks: HTTP -> authenticate (SigV4,
 * presigned or anonymous) -> route by the credential scope's service -> the
 * service handler (which authorizes through iam_authorize). Errors before a
 * service is chosen are written in the shape of the service the client named.
 * Also serves the operator endpoints: /_cloister/health, /_cloister/empty (the
 * benchmark floor) and /metrics — unless `serve --metrics-listen` moved it to
 * its own listener (frontdoor_metrics_handle); then /metrics here is an
 * ordinary S3 path. The metrics carry service, operation and status labels
 * only: no account, principal, bucket or key names (docs/architecture.md).
 * A request during which the meta store was unreachable is answered 503
 * (unavailable() below; docs/operations.md). */
#include "cli/cli.h"

#include "cli/access_log.h"
#include "crypto/crypto.h"
#include "signer/kmskeys_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_form(const http_request *req) {
    const char *ct = kvlist_get_ci(&req->headers, "Content-Type");
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* The error shape for a service name (NULL: guess from the request's form). */
static aws_shape shape_of(const char *service, const http_request *req, const char **xmlns) {
    *xmlns = AWS_XMLNS_IAM;
    if (service && strcmp(service, "sts") == 0) *xmlns = AWS_XMLNS_STS;
    if (service && (strcmp(service, "iam") == 0 || strcmp(service, "sts") == 0))
        return AWS_SHAPE_QUERY;
    if (service && (strcmp(service, "kms") == 0 || strcmp(service, "cloister") == 0))
        return AWS_SHAPE_JSON;
    if (!service && is_form(req)) return AWS_SHAPE_QUERY;
    /* before the service is known (a body refused unread): the JSON protocols */
    if (!service && kvlist_get_ci(&req->headers, "X-Amz-Target")) return AWS_SHAPE_JSON;
    return AWS_SHAPE_S3;
}

static void fail(http_response *resp, const http_request *req, const char *service,
                 const aws_fault *f) {
    const char *xmlns;
    aws_shape shape = shape_of(service, req, &xmlns);
    aws_error(resp, shape, xmlns, f->status, f->code, f->message, req->request_id);
}

/* SigV2's SignatureDoesNotMatch shows what S3 shows: the key, the
 * StringToSign the server computed (also as hex bytes) and the signature. */
static void sigv2_mismatch_details(http_response *resp, const iam_caller *c) {
    cl_buf hex = CL_BUF_INIT;
    for (const char *p = c->string_to_sign; *p; p++)
        buf_appendf(&hex, "%s%02x", p == c->string_to_sign ? "" : " ", (unsigned char)*p);
    if (c->access_key) aws_error_detail(resp, "AWSAccessKeyId", c->access_key);
    aws_error_detail(resp, "StringToSign", c->string_to_sign);
    aws_error_detail(resp, "SignatureProvided", c->signature_provided ? c->signature_provided : "");
    aws_error_detail(resp, "StringToSignBytes", buf_cstr(&hex));
    buf_free(&hex);
}

/* An authentication failure; S3 lists unsigned x-amz-* headers in HeadersNotSigned. */
static void auth_fail(http_response *resp, http_request *req, const char *service,
                      const iam_caller *c, const aws_fault *f) {
    req->service = "auth";
    req->op = f->code;
    fail(resp, req, service, f);
    if (c->headers_not_signed) aws_error_detail(resp, "HeadersNotSigned", c->headers_not_signed);
    if (c->string_to_sign) sigv2_mismatch_details(resp, c);
}

/* The access key ID a request names (SigV4 or SigV2, header or query): the
 * characters after `tag` in `text` that can be part of a key ID, or NULL. */
static char *key_id_after(const char *text, const char *tag) {
    const char *p = text ? strstr(text, tag) : NULL;
    if (!p) return NULL;
    p += strlen(tag);
    size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    return n ? cl_strndup(p, n < 32 ? n : 32) : NULL;
}

/* Who the request authenticated as, for the access log (never a secret; for
 * a failed authentication, the access key ID it named). */
static void note_caller(http_request *req, iam_auth_result r, const iam_caller *c) {
    if (r == IAM_AUTH_OK && !req->principal) {
        req->principal = c->arn ? cl_strdup(c->arn) : NULL;
        req->account = c->account ? cl_strdup(c->account) : NULL;
    } else if (r == IAM_AUTH_FAILED && !req->access_key_id) {
        const char *auth = kvlist_get_ci(&req->headers, "Authorization");
        char *k = key_id_after(auth, "Credential=");
        if (!k) k = key_id_after(auth, "AWS ");
        if (!k) k = key_id_after(req->query, "X-Amz-Credential=");
        if (!k) k = key_id_after(req->query, "AWSAccessKeyId=");
        req->access_key_id = k;
    }
}

void frontdoor_done(void *ctx, const http_request *req, const http_response *resp,
                    uint64_t bytes_out, uint64_t nanos) {
    frontdoor *fd = ctx;
    const char *svc = req->service ? req->service : "";
    /* virtual-host style: the bucket is in the Host, s3_core.c's one rule (an S3
     * Control request's Host may name the account: not a bucket) */
    char *vbucket = strcmp(svc, "s3") == 0 && fd->s3 && !s3_is_control(req)
                        ? s3_host_bucket(fd->s3, req)
                        : NULL;
    access_log_request(fd->access_log, req, resp, vbucket, bytes_out, nanos);
    free(vbucket);
}

static bool operator_endpoint(const frontdoor *fd, http_request *req, http_response *resp) {
    if (cli_static_serve(fd->web_dir, req, resp)) return true; /* /por/: static.c */
    if (strcmp(req->method, "GET") != 0) return false;
    req->service = "cloister";
    if (strcmp(req->path, "/_cloister/health") == 0) {
        req->op = "Health";
        cli_health(fd->st, resp); /* cluster.c: 200, or 503 when the database is unreachable */
        return true;
    } else if (strcmp(req->path, "/_cloister/empty") == 0) {
        req->op = "Empty";
    } else if (strcmp(req->path, "/metrics") == 0 && !fd->metrics_elsewhere) {
        req->op = "Metrics";
        metrics_render(&resp->body);
        tasks_metrics_render(fd->tasks, &resp->body);
        http_set_header(resp, "Content-Type", "text/plain; version=0.0.4");
    } else {
        req->service = NULL;
        return false;
    }
    resp->status = 200;
    return true;
}

void frontdoor_metrics_handle(void *ctx, http_request *req, http_response *resp) {
    frontdoor *fd = ctx;
    req->service = "cloister";
    req->op = "Metrics";
    if (strcmp(req->path, "/metrics") != 0 ||
        (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)) {
        req->op = "NotFound";
        resp->status = 404;
        buf_append_cstr(&resp->body, "not found: this listener serves GET /metrics only\n");
        http_set_header(resp, "Content-Type", "text/plain");
        return;
    }
    if (strcmp(req->method, "GET") == 0) {
        metrics_render(&resp->body);
        tasks_metrics_render(fd->tasks, &resp->body);
    }
    http_set_header(resp, "Content-Type", "text/plain; version=0.0.4");
    resp->status = 200;
}

static bool is_hex64(const char *s) {
    if (strlen(s) != 64) return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s)) return false;
    return true;
}

/* The payload hash SigV4 signs: the client's x-amz-content-sha256 (checked
 * against the body when it is a digest) or the body's own SHA-256. */
static bool payload_hash(const http_request *req, char out[65], aws_fault *f) {
    const char *claimed = kvlist_get_ci(&req->headers, "x-amz-content-sha256");
    crypto_sha256_hex(buf_slice(&req->body), out);
    if (!claimed) return true;
    if (is_hex64(claimed)) {
        if (strcasecmp(claimed, out) == 0) return true;
        aws_fault_set(
            f, 400, "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
        return false;
    }
    if (strlen(claimed) > 64) {
        aws_fault_set(f, 400, "InvalidArgument",
                      "x-amz-content-sha256 must be a SHA-256 digest or a known placeholder");
        return false;
    }
    snprintf(out, 65, "%s", claimed); /* UNSIGNED-PAYLOAD, STREAMING-... */
    return true;
}

static bool query_params(const http_request *req, cl_kvlist *params, aws_fault *f) {
    if (kvlist_parse_form(params, slice_cstr(req->query)) == CL_OK &&
        (!is_form(req) || kvlist_parse_form(params, buf_slice(&req->body)) == CL_OK))
        return true;
    aws_fault_set(f, 400, "MalformedQueryString",
                  "The request has a malformed query string or form body.");
    return false;
}

static void route(frontdoor *fd, http_request *req, const iam_caller *c, http_response *resp) {
    const char *svc = c->service;
    aws_fault f = {0};
    cl_kvlist params = CL_KVLIST_INIT;
    /* req->service must outlive the caller (metrics read it after the handler) */
    req->service = strcmp(svc, "iam") == 0   ? "iam"
                   : strcmp(svc, "sts") == 0 ? "sts"
                   : strcmp(svc, "s3") == 0  ? "s3"
                   : strcmp(svc, "kms") == 0 ? "kms"
                                             : "cloister";
    if (strcmp(svc, "iam") == 0 || strcmp(svc, "sts") == 0) {
        if (!query_params(req, &params, &f))
            fail(resp, req, svc, &f);
        else if (strcmp(svc, "iam") == 0)
            iam_api_handle(fd->iam, c, req, &params, resp);
        else
            sts_api_handle(fd->iam, c, req, &params, resp);
    } else if (strcmp(svc, "cloister") == 0) {
        if (tasks_api_owns(kvlist_get_ci(&req->headers, "X-Amz-Target")))
            tasks_api_handle(fd->tasks, c, req, resp); /* the app operations */
        else if (secrets_api_owns(kvlist_get_ci(&req->headers, "X-Amz-Target")))
            secrets_api_handle(fd->secrets, fd->iam, c, req, resp); /* secrets, wallet */
        else if (signer_kmskeys_api_owns(kvlist_get_ci(&req->headers, "X-Amz-Target")))
            signer_kmskeys_api_handle(fd->st, fd->iam, c, req, resp); /* signer key sets */
        else
            cloister_api_handle(fd->iam, c, req, resp);
    } else if (strcmp(svc, "s3") == 0) {
        s3_handle(fd->s3, c, req, resp);
    } else if (strcmp(svc, "kms") == 0) {
        kms_api_handle(fd->kms, c, req, resp);
    } else {
        req->service = "unknown";
        aws_fault_set(&f, 501, "NotImplemented",
                      "The service '%.32s' is not available on this server yet.", svc);
        fail(resp, req, svc, &f);
    }
    kvlist_free(&params);
}

static void anonymous(frontdoor *fd, http_request *req, const iam_caller *c, http_response *resp) {
    aws_fault f = {0};
    if (is_form(req)) { /* Query protocol without a signature */
        req->service = "unknown";
        aws_fault_set(&f, 403, "MissingAuthenticationToken",
                      "Request is missing Authentication Token");
        fail(resp, req, NULL, &f);
        return;
    }
    if (kvlist_get_ci(&req->headers, "X-Amz-Target")) { /* JSON protocol (KMS, cloister) */
        req->service = "unknown";
        aws_fault_set(&f, 400, "MissingAuthenticationTokenException",
                      "Request is missing Authentication Token");
        fail(resp, req, "kms", &f);
        return;
    }
    s3_handle(fd->s3, c, req,
              resp); /* anonymous S3 access: only what a bucket policy makes public */
}

/* S3 requires x-amz-content-sha256 with header auth; presigned uploads are unsigned. */
static const char *declared_payload_hash(const http_request *req) {
    const char *h = kvlist_get_ci(&req->headers, "x-amz-content-sha256");
    return h ? h : "UNSIGNED-PAYLOAD";
}

static bool has_body(const http_request *req) {
    const char *cl = kvlist_get_ci(&req->headers, "Content-Length");
    return (cl && strcmp(cl, "0") != 0) || kvlist_get_ci(&req->headers, "Transfer-Encoding");
}

static bool is_signed(const http_request *req) {
    return kvlist_get_ci(&req->headers, "Authorization") ||
           strstr(req->query, "X-Amz-Signature=") ||
           strstr(req->query, "Signature="); /* SigV2 presigned */
}

/* Before a buffered body is read: a signature that covers the payload hash
 * the client declares (x-amz-content-sha256, or UNSIGNED-PAYLOAD for a
 * presigned URL) is verified now, so a forged request is refused without its
 * body and a genuine one may send up to max_body (the body is checked against
 * the declared hash, and the signature again, once read: frontdoor_handle).
 * Otherwise (anonymous; IAM, STS and KMS, whose signature covers the body's own
 * hash) the body stays "pre-auth", under the server's pre-auth limits. */
static void verify_early(frontdoor *fd, http_request *req, http_response *resp) {
    if (!has_body(req) || !is_signed(req)) return;
    const char *claimed = kvlist_get_ci(&req->headers, "x-amz-content-sha256");
    bool presigned = !kvlist_get_ci(&req->headers, "Authorization");
    if (claimed ? strlen(claimed) > 64 : !presigned) return;
    aws_fault f = {0};
    iam_caller c;
    iam_auth_result r = iam_authenticate(fd->iam, req, declared_payload_hash(req), false, &c, &f);
    if (r == IAM_AUTH_OK) {
        req->body_trusted = true;
    } else if (r == IAM_AUTH_FAILED && claimed) { /* a presigned URL may sign the body's hash */
        req->service = "auth";
        req->op = f.code;
        fail(resp, req, c.service, &f);
    }
    iam_caller_free(&c);
}

static void response_reset(http_response *r) {
    kvlist_free(&r->headers);
    buf_free_secret(&r->body);
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    if (r->reader && r->reader_free) r->reader_free(r->reader_arg);
    r->reader = NULL;
    r->reader_free = NULL;
    r->reader_arg = NULL;
    r->reader_length = 0;
    r->body_secret = false;
}

/* The meta store could not be reached while handling this request: whatever
 * the handler answered (an error it made of the failed lookup, e.g. "unknown
 * access key"), the client gets 503 and retries. AWS's documented 503 codes:
 * S3 "ServiceUnavailable" (Error Responses, "Service is unable to handle
 * request."); IAM, STS and KMS list "ServiceUnavailable" among their Common
 * Errors ("The request has failed due to a temporary failure of the server.",
 * HTTP 503). Nothing of a failed transaction was kept (store.h). */
static void unavailable(http_response *resp, http_request *req, const char *service) {
    aws_fault f = {0};
    const char *xmlns;
    bool s3 = shape_of(service, req, &xmlns) == AWS_SHAPE_S3;
    aws_fault_set(&f, 503, "ServiceUnavailable",
                  s3 ? "Service is unable to handle request."
                     : "The request has failed due to a temporary failure of the server.");
    response_reset(resp);
    fail(resp, req, service, &f);
    http_set_header(resp, "Retry-After", "1");
}

static void on_headers(void *ctx, http_request *req, http_response *resp);
static void handle(void *ctx, http_request *req, http_response *resp);

static const char *svc_of(const http_request *req) {
    const char *s = req->service;
    return s && (strcmp(s, "iam") == 0 || strcmp(s, "sts") == 0 || strcmp(s, "kms") == 0 ||
                 strcmp(s, "s3") == 0 || strcmp(s, "cloister") == 0)
               ? s
               : NULL;
}

void frontdoor_on_headers(void *ctx, http_request *req, http_response *resp) {
    if (req->bad_request) return; /* answered 400 without the body */
    store_unavailable_clear();
    on_headers(ctx, req, resp);
    if (store_unavailable_seen() && resp->status) unavailable(resp, req, svc_of(req));
}

void frontdoor_handle(void *ctx, http_request *req, http_response *resp) {
    store_unavailable_clear();
    handle(ctx, req, resp);
    if (store_unavailable_seen() && !(req->op && strcmp(req->op, "Health") == 0))
        unavailable(resp, req, svc_of(req));
}

static void on_headers(void *ctx, http_request *req, http_response *resp) {
    frontdoor *fd = ctx;
    if (!s3_is_upload(fd->s3, req)) {
        if (s3_is_post_form(req)) /* 0: no limit of its own, only the pre-auth pool's */
            req->body_limit = fd->post_body_limit ? fd->post_body_limit : SIZE_MAX;
        verify_early(fd, req, resp);
        return; /* read the whole body, then handle */
    }
    aws_fault f = {0};
    iam_caller c;
    iam_auth_result r = iam_authenticate(fd->iam, req, declared_payload_hash(req), true, &c, &f);
    note_caller(req, r, &c);
    if (r == IAM_AUTH_FAILED) {
        auth_fail(resp, req, "s3", &c, &f);
    } else if (r == IAM_AUTH_ANONYMOUS || strcmp(c.service, "s3") == 0) {
        s3_begin_upload(fd->s3, &c, req, resp);
    }
    iam_caller_free(&c);
}

static void handle(void *ctx, http_request *req, http_response *resp) {
    frontdoor *fd = ctx;
    if (req->body_sink) { /* a streamed upload, authenticated and authorized at its headers */
        iam_caller none = {.p = {.type = PRINCIPAL_ANONYMOUS}};
        s3_handle(fd->s3, &none, req, resp);
        return;
    }
    if (operator_endpoint(fd, req, resp)) return;
    aws_fault f = {0};
    if (req->bad_request) {
        req->service = "none";
        aws_fault_set(&f, 400, "BadRequest", "%s", req->bad_request);
        fail(resp, req, NULL, &f);
        http_set_header(resp, "Connection", "close");
        return;
    }
    if (req->body_too_large) {
        req->service = "none";
        aws_fault_set(&f, 413, "EntityTooLarge",
                      "Your request body is larger than this server accepts. A body over the "
                      "pre-authentication limit (serve --preauth-body-limit, default 1 MiB; "
                      "an S3 POST Object form: --post-body-limit, default 16 MiB) "
                      "is accepted when the request signs its x-amz-content-sha256 header.");
        fail(resp, req, NULL, &f);
        return;
    }
    if (req->server_busy) { /* the pool for bodies not yet authenticated is full */
        req->service = "none";
        aws_fault_set(&f, 503, "SlowDown", "Please reduce your request rate.");
        fail(resp, req, NULL, &f);
        http_set_header(resp, "Retry-After", "1");
        return;
    }
    char hash[65];
    if (!payload_hash(req, hash, &f)) {
        req->service = "none";
        fail(resp, req, NULL, &f);
        return;
    }
    iam_caller c;
    iam_auth_result r = iam_authenticate(fd->iam, req, hash, false, &c, &f);
    note_caller(req, r, &c);
    if (r == IAM_AUTH_FAILED) {
        auth_fail(resp, req, c.service, &c, &f);
    } else if (r == IAM_AUTH_ANONYMOUS) {
        anonymous(fd, req, &c, resp);
    } else {
        route(fd, req, &c, resp);
    }
    if (req->service && strcmp(req->service, "unknown") != 0 && !req->op) req->op = "Unknown";
    iam_caller_free(&c);
}

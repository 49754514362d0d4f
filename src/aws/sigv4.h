/* sigv4.h — AWS Signature Version 4: parse, verify (Authorization header and
 * presigned query string) and sign. Pure: it knows nothing of stores or
 * principals; the caller looks up the secret for the access key the parse step
 * returns and passes it to sigv4_verify.
 *
 * Canonical request as AWS specifies it: method, canonical URI (S3: the path as
 * sent, not normalised, each segment URI-encoded once; other services: path
 * normalised (remove "." and ".." segments and duplicate slashes) and encoded twice
 * — i.e. the already-encoded path is encoded again), canonical query string
 * (parameters sorted by encoded name then value, each URI-encoded; for presigned,
 * X-Amz-Signature excluded), canonical headers (lower-case names, values trimmed
 * and inner runs of spaces collapsed, multiple values joined with ','), signed
 * headers list, payload hash. */
#ifndef CLOISTER_AWS_SIGV4_H
#define CLOISTER_AWS_SIGV4_H

#include "base/base.h"

#define SIGV4_MAX_PRESIGN_EXPIRES 604800 /* 7 days */
#define SIGV4_MAX_SKEW 900               /* 15 minutes */

typedef enum {
    SIGV4_OK = 0,
    SIGV4_MISSING,          /* no Authorization header and no X-Amz-Algorithm: anonymous */
    SIGV4_MALFORMED,        /* header or query unparseable (AWS: IncompleteSignature /
                               AuthorizationHeaderMalformed / AuthorizationQueryParametersError) */
    SIGV4_BAD_ALGORITHM,    /* not AWS4-HMAC-SHA256 */
    SIGV4_BAD_DATE,         /* X-Amz-Date / Date missing or unparseable, or scope date differs */
    SIGV4_SKEWED,           /* header auth: request time more than 15 min from now */
    SIGV4_EXPIRED,          /* presigned: now > X-Amz-Date + X-Amz-Expires */
    SIGV4_EXPIRES_TOO_LONG, /* presigned: X-Amz-Expires > 604800 */
    SIGV4_SIGNATURE_MISMATCH,
} sigv4_status;

const char *sigv4_status_str(sigv4_status s);

/* The request as received. `path` is the raw request-target path (still
 * percent-encoded), `query` the raw query string without '?', or "" . */
typedef struct {
    const char *method;
    const char *path;
    const char *query;
    const cl_kvlist *headers; /* names as received; lookups are case-insensitive */
    /* Hex SHA-256 of the body, or the literal placeholder the client put in
     * x-amz-content-sha256 (UNSIGNED-PAYLOAD, STREAMING-...). For presigned
     * requests use "UNSIGNED-PAYLOAD" unless the client sent the header. */
    const char *payload_hash;
    bool s3_paths; /* S3: no path normalisation, single encoding */
} sigv4_request;

/* What the Authorization header or presigned query says. All strings owned. */
typedef struct {
    bool presigned;
    char *access_key;
    char *date; /* scope date YYYYMMDD */
    char *region;
    char *service;
    char *signed_headers; /* "host;x-amz-date" as sent */
    char *signature;      /* 64 lower-case hex */
    char *amz_date;       /* X-Amz-Date value (or Date header converted), YYYYMMDDTHHMMSSZ */
    time_t request_time;
    uint64_t expires;     /* presigned only */
    char *security_token; /* X-Amz-Security-Token if any */
} sigv4_auth;

void sigv4_auth_free(sigv4_auth *a);

/* Finds and parses the signature on a request (header first, else query).
 * SIGV4_MISSING if neither is present. Checks the algorithm, credential form
 * (AKID/DATE/REGION/SERVICE/aws4_request), that signed headers include host,
 * date formats, presign expiry range. Does not check time against now. */
sigv4_status sigv4_parse(const sigv4_request *req, sigv4_auth *out);

/* Checks time (skew for header auth, expiry for presigned) against `now`, then
 * recomputes the signature with `secret` and compares in constant time. */
sigv4_status sigv4_verify(const sigv4_request *req, const sigv4_auth *auth, const char *secret,
                          time_t now);

/* sigv4_verify with the signing key already derived (sigv4_signing_key for the
 * auth's date/region/service): servers cache it per key and day. */
sigv4_status sigv4_verify_key(const sigv4_request *req, const sigv4_auth *auth,
                              const uint8_t key[32], time_t now);

/* After a signature verifies: the x-amz-* headers of the request that are not
 * among auth->signed_headers, lower-cased, comma-separated, once each, appended
 * to `out`; true if there is any. S3 refuses such a request (AccessDenied "There
 * were headers present in the request which were not signed", HeadersNotSigned
 * listing them), header-signed and presigned alike, so that nothing an attacker
 * adds to a signed request can change its meaning (x-amz-copy-source turning a
 * PutObject into a CopyObject). One header is exempt: x-amz-content-sha256,
 * whose value is the payload-hash line of the canonical request and so is
 * covered by the signature whether or not it is listed (sigv4_verify signs the
 * header's value for presigned requests too). x-amzn-* (trace ids) do not have
 * the x-amz- prefix and are not concerned. */
bool sigv4_unsigned_amz_headers(const cl_kvlist *headers, const char *signed_headers, cl_buf *out);

/* Building blocks, exposed for tests (the public test-suite vectors check each)
 * and for the aws-chunked decoder in S3. All append to `out`. */
void sigv4_canonical_request(const sigv4_request *req, const char *signed_headers, cl_buf *out);
void sigv4_string_to_sign(const char *amz_date, const char *scope, cl_slice canonical_request,
                          cl_buf *out);
void sigv4_signing_key(const char *secret, const char *date, const char *region,
                       const char *service, uint8_t out[32]);

/* Client side: sign a request with header auth. Adds "x-amz-date", optional
 * "x-amz-security-token", "x-amz-content-sha256" (if add_content_sha) and
 * "Authorization" to headers (which must already hold "host"). */
void sigv4_sign(const sigv4_request *req, cl_kvlist *headers, const char *access_key,
                const char *secret, const char *session_token, const char *region,
                const char *service, time_t now, bool add_content_sha);

/* Client side: presign: returns the full query string (caller frees). */
char *sigv4_presign(const sigv4_request *req, const char *access_key, const char *secret,
                    const char *session_token, const char *region, const char *service, time_t now,
                    uint64_t expires);

#endif

/* sigv2.h — S3's legacy Signature Version 2 ("Signing and authenticating REST
 * requests", the S3 developer guide's RESTAuthentication page): what the aws
 * CLI v1 and boto3 still use by default for presigned URLs, and any S3 client
 * configured with signature_version 's3'. S3 only (IAM, STS and KMS take SigV4).
 * Pure like sigv4.h: the caller finds the secret of the access key that
 * sigv2_parse returns and passes it to sigv2_verify.
 *
 *   header form: Authorization: AWS AKID:base64(HMAC-SHA1(secret, StringToSign))
 *   query form:  ?AWSAccessKeyId=AKID&Expires=EPOCH&Signature=base64(...)
 *   StringToSign = VERB \n Content-MD5 \n Content-Type \n
 *                  Date (query: Expires; empty when x-amz-date is present) \n
 *                  CanonicalizedAmzHeaders CanonicalizedResource
 * CanonicalizedAmzHeaders: every x-amz-* header (and, query form, every
 * x-amz-* query parameter: botocore moves signed headers there), lower-cased,
 * sorted, values trimmed and repeated ones joined with ',', "name:value\n"
 * each. So every x-amz-* header of a SigV2 request is signed by construction:
 * one added to a signed request makes the signature not match.
 * CanonicalizedResource: "/BUCKET" for virtual-host requests, then the path
 * as sent ("/BUCKET" alone as "/BUCKET/", what botocore signs), then the signed sub-resources
 * present (sigv2.c SIGNED), sorted,
 * "?name[=decoded value]" joined by '&'. A query parameter that is neither
 * signed nor a known harmless one (listing parameters...) could change what a
 * signed request does without touching its signature: such a request is
 * SIGV2_UNSIGNABLE (the S3 operations it selects need SigV4). */
#ifndef CLOISTER_AWS_SIGV2_H
#define CLOISTER_AWS_SIGV2_H

#include "aws/sigv4.h"

#define SIGV2_MAX_SKEW SIGV4_MAX_SKEW /* header form: 15 minutes */
#define SIGV2_MAX_PRESIGN_EXPIRES                                                                  \
    SIGV4_MAX_PRESIGN_EXPIRES /* query form: Expires <= now + 7 days */

typedef enum {
    SIGV2_OK = 0,
    SIGV2_MISSING,          /* not a SigV2 request (SigV4 or anonymous) */
    SIGV2_MALFORMED,        /* "AWS" header not "AKID:SIGNATURE", or a query lacking a part */
    SIGV2_QUERY_PARTS,      /* query form without all of AWSAccessKeyId, Expires, Signature */
    SIGV2_NO_DATE,          /* header form without a parseable Date or x-amz-date */
    SIGV2_SKEWED,           /* header form: more than 15 minutes from now */
    SIGV2_EXPIRED,          /* query form: now is past Expires */
    SIGV2_EXPIRES_TOO_LONG, /* query form: Expires more than 7 days ahead */
    SIGV2_UNSIGNABLE,       /* a query parameter SigV2 cannot sign (see above) */
    SIGV2_SIGNATURE_MISMATCH,
} sigv2_status;

/* What the request carries. All strings owned; sigv2_auth_free. */
typedef struct {
    bool presigned;
    char *access_key;
    char *signature;      /* base64 as sent */
    char *security_token; /* x-amz-security-token (header or query), or NULL */
    char *date_line;      /* the StringToSign's date line: Expires, Date, or "" */
    time_t request_time;  /* header form: the Date / x-amz-date */
    time_t expires;       /* query form */
    char *unsignable;     /* SIGV2_UNSIGNABLE: the parameter's name */
} sigv2_auth;

void sigv2_auth_free(sigv2_auth *a);

/* Finds a SigV2 signature (header "AWS ..." or query AWSAccessKeyId /
 * Signature); SIGV2_MISSING if there is none. Fills out as far as it parsed. */
sigv2_status sigv2_parse(const sigv4_request *req, sigv2_auth *out);

/* Appends the StringToSign for req. vhost_bucket: the bucket a virtual-host
 * request names in its Host (sigv2_host_bucket), NULL for path style. */
void sigv2_string_to_sign(const sigv4_request *req, const sigv2_auth *a, const char *vhost_bucket,
                          cl_buf *out);

/* base64(HMAC-SHA1(secret, string_to_sign)) appended to out. */
void sigv2_signature(const char *secret, cl_slice string_to_sign, cl_buf *out);

/* Checks the clock (skew or expiry against now), then the signature in
 * constant time. sts (may be NULL) receives the StringToSign, for the
 * SignatureDoesNotMatch error that shows it. */
sigv2_status sigv2_verify(const sigv4_request *req, const sigv2_auth *a, const char *vhost_bucket,
                          const char *secret, time_t now, cl_buf *sts);

/* "my.bucket" from Host "my.bucket.DOMAIN[:port]", else NULL (malloc'd). */
char *sigv2_host_bucket(const char *host, const char *domain);

#endif

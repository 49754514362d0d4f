/* iam.h — the one public header of src/iam: identities (accounts, users, access
 * keys, roles, managed and inline policies, temporary sessions), request
 * authentication (SigV4 -> caller), the single authorization entry point every
 * service uses (iam_authorize -> policy_evaluate), and the IAM, STS and Cloister
 * account APIs. The policy language itself is in policy.h (included).
 *
 * Storage: all identity data lives in the meta store (store.h) as JSON documents,
 * see iam_store.c for the kinds. Ownership: iam_caller strings are owned by the
 * caller struct and freed by iam_caller_free. */
#ifndef CLOISTER_IAM_H
#define CLOISTER_IAM_H

#include "aws/aws.h"
#include "http/http.h"
#include "iam/policy.h"
#include "store/store.h"

typedef struct iam iam;

cl_err iam_open(store *st, iam **out);
/* From now on, secret access keys and session secrets are stored sealed
 * (AES-256-GCM) under this 32-byte key, derived by the caller from the node
 * root key (kms_node_key). Without it they are stored in the clear (unit tests,
 * fuzzers). Secrets stored in the clear before stay readable. */
void iam_set_secret_key(iam *m, const uint8_t key[32]);
void iam_close(iam *m);
/* The first account, created on first start; NULL before bootstrap. */
const char *iam_root_account(const iam *m);

/* First start: creates the first account with an admin user (AdministratorAccess)
 * and an access key, and writes the key to `credentials_path` in the AWS
 * shared-credentials format under profile `cloister`. Does nothing if an
 * account exists. *created tells which happened. */
cl_err iam_bootstrap(iam *m, const char *credentials_path, bool *created);

/* Deletes temporary sessions that expired before `before` (callers pass a day
 * ago: until then an expired session still answers ExpiredToken, as AWS does,
 * rather than InvalidClientTokenId). *removed counts them. */
cl_err iam_gc_sessions(iam *m, time_t before, size_t *removed);

/* A new account with an admin user and its first access key. The secret is
 * returned to the caller (malloc'd; zeroise with cl_free_secret). */
typedef struct {
    char account_id[13];
    char access_key_id[21];
    char *secret;
} iam_new_account;
cl_err iam_create_account(iam *m, const char *name, iam_new_account *out, aws_fault *fault);
/* Every account as [{AccountId, AccountName, AdminUser ("admin", or null if that
 * user was deleted), CreateDate}] (owned by the caller; iam_accounts.c). */
cl_err iam_list_accounts(iam *m, json_t **out);
/* A new access key for `account`'s admin user (re-created with
 * AdministratorAccess if it was deleted); every access key it had before is
 * deleted (*deleted counts them). out->secret as iam_create_account. */
cl_err iam_reset_admin_key(iam *m, const char *account, iam_new_account *out, size_t *deleted,
                           aws_fault *f);

/* ---- the root user of an account (iam_root.c) ---- */
/* An account by its 12-digit ID or its name; CL_ERR_NOT_FOUND if none. */
cl_err iam_account_resolve(iam *m, const char *id_or_name, char out[13]);
/* A new access key for arn:aws:iam::ACCOUNT:root (the operator's, from the data
 * directory: `cloister account root-key`). The secret is malloc'd: zeroise
 * with cl_free_secret. */
cl_err iam_root_key_create(iam *m, const char *account, char akid[21], char **secret);
/* Deletes a root access key of account; CL_ERR_NOT_FOUND if it is not one. */
cl_err iam_root_key_delete(iam *m, const char *account, const char *akid);

/* ---- who is calling ---- */
/* How the request was authenticated, from the parsed and verified signature
 * (never from raw request text: X-Amz-%53ignature is a presigned request). */
typedef enum {
    IAM_AUTHTYPE_NONE,   /* anonymous: no signature */
    IAM_AUTHTYPE_HEADER, /* Authorization header: s3:authType REST-HEADER */
    IAM_AUTHTYPE_QUERY,  /* presigned query string: s3:authType REST-QUERY-STRING */
    IAM_AUTHTYPE_POST,   /* a signed POST policy (S3 browser upload): s3:authType POST */
} iam_auth_type;

/* "REST-HEADER", "REST-QUERY-STRING", or NULL for anonymous requests. */
const char *iam_auth_type_name(iam_auth_type t);

typedef struct {
    policy_principal p; /* points into the fields below */
    char *account, *arn, *userid, *username;
    char *role_arn, *role_name, *session_name;
    char *access_key;
    char *session_policy; /* JSON, assumed-role sessions with a Policy */
    bool temporary;       /* ASIA credentials */
    time_t expiration;
    char *service, *region; /* from the credential scope */
    /* For verifying streamed (aws-chunked) bodies: the request's SigV4 signing
     * key, X-Amz-Date, scope and signature (the chunk-signature seed). The key
     * is zeroised by iam_caller_free. Set for signed (not presigned) requests. */
    bool has_signing_key;
    uint8_t signing_key[32];
    char *amz_date, *scope, *signature;
    /* Request facts for authorization, all from the verified signature. */
    iam_auth_type auth_type;
    time_t request_time;     /* the signed X-Amz-Date (0 for anonymous) */
    time_t token_issue_time; /* temporary credentials: when issued; 0 if unknown */
    /* Set when authentication failed because x-amz-* headers were not signed:
     * their names, comma-separated (S3's HeadersNotSigned error element). */
    char *headers_not_signed;
    /* S3 Signature Version 2 (aws/sigv2.h): the request was signed with it
     * (s3:signatureversion "AWS"). On SignatureDoesNotMatch, the StringToSign
     * the server computed and the signature provided, which S3 returns in its
     * error (with access_key set to the key the request named). */
    bool sigv2;
    char *string_to_sign, *signature_provided;
} iam_caller;

void iam_caller_free(iam_caller *c);
/* A caller that is `account`'s root user, for a service acting as the account
 * itself with no request behind it (s3 reading an object as its bucket owner,
 * e.g. through KMS): no credentials, no signature keys. iam_caller_free it. */
void iam_caller_root(iam_caller *c, const char *account);
/* The region of the caller's credential scope, "us-east-1" when it has none
 * (for the ARNs of regional resources it names). */
const char *iam_caller_region(const iam_caller *c);

typedef enum {
    IAM_AUTH_OK,
    IAM_AUTH_ANONYMOUS, /* no signature at all: caller->p is anonymous */
    IAM_AUTH_FAILED,    /* fault filled */
} iam_auth_result;

/* Authenticates a request: parses SigV4 (header or presigned), finds the key
 * (long-term or temporary), checks session expiry, clock skew and signature.
 * `service_hint` is used for error wording when the scope cannot be parsed
 * (e.g. "s3" for anonymous-capable endpoints). */
iam_auth_result iam_authenticate(iam *m, const http_request *req, const char *payload_hash,
                                 bool s3_paths, iam_caller *out, aws_fault *fault);

/* S3 Signature Version 2 is accepted (default) or refused server-wide with
 * 400 InvalidRequest "Please use AWS4-HMAC-SHA256." (`serve --sigv2 off`). */
void iam_set_sigv2(iam *m, bool on);
/* The S3 domain of virtual-host addressing (as s3_set_domain), which SigV2's
 * CanonicalizedResource needs: BUCKET.DOMAIN signs "/BUCKET/...". */
void iam_set_s3_domain(iam *m, const char *domain);

/* S3's browser-based upload (POST Object): the form's policy document
 * (base64, as sent: the string to sign), signed with SigV4's signing key of
 * x-amz-credential (KEY/DATE/REGION/SERVICE/aws4_request). Same keys, tokens,
 * expiry and faults as iam_authenticate; the caller's auth_type is
 * IAM_AUTHTYPE_POST. token may be NULL. */
iam_auth_result iam_authenticate_post(iam *m, const char *credential, const char *amz_date,
                                      const char *token, const char *policy_b64,
                                      const char *signature, iam_caller *out, aws_fault *f);
/* The same form signed with Signature Version 2 (AWSAccessKeyId, signature =
 * base64(HMAC-SHA1(secret, policy_b64))): refused like any SigV2 request when
 * SigV2 is off; the caller has sigv2 set (s3:signatureversion "AWS"). */
iam_auth_result iam_authenticate_post_v2(iam *m, const char *access_key, const char *token,
                                         const char *policy_b64, const char *signature,
                                         iam_caller *out, aws_fault *f);

/* ---- the one authorization entry point ---- */
typedef struct {
    const char *action;           /* "iam:CreateUser" */
    const char *resource;         /* ARN */
    const char *resource_account; /* NULL = caller's account */
    const policy *resource_policy;
    policy_ctx *ctx; /* extra condition keys (may be NULL); principal and request keys are added */
} iam_authz;

/* Loads the caller's identity and session policies, adds aws:SourceIp,
 * aws:SecureTransport, aws:CurrentTime, aws:EpochTime and principal keys, and
 * returns policy_evaluate's decision. On deny fills fault with AccessDenied and
 * AWS's message ("User: ARN is not authorized to perform: ACTION on resource: R"). */
policy_decision iam_authorize(iam *m, const iam_caller *c, const http_request *req,
                              const iam_authz *a, aws_fault *fault);

/* ---- users and roles in resource policies (principals.c) ----
 * Bucket policies, KMS key policies and role trust policies store the users and
 * roles they name by unique ID, as AWS does. On write, every
 * "arn:aws:iam::ACCT:user/..." or ".../role/..." AWS principal must exist (else
 * CL_ERR_INVALID, with *bad the first missing one, malloc'd: the caller answers
 * its service's "invalid principal" error) and *stored (malloc'd) is the text to
 * store. The evaluator matches a bound entry only against the principal with
 * that unique ID (users: UserId; assumed roles: the AROA... part of aws:userid),
 * so a deleted and re-created user or role never inherits a grant. */
cl_err iam_policy_bind_principals(iam *m, const char *doc, char **stored, char **bad);
/* The stored text as GetBucketPolicy/GetKeyPolicy/GetRole show it: a bound
 * principal as its ARN while it exists, as its bare unique ID once deleted
 * (malloc'd; NULL for NULL). */
char *iam_policy_render_principals(iam *m, const char *stored);

/* ---- APIs (Query protocol for iam and sts; JSON 1.1 for cloister) ---- */
void iam_api_handle(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                    http_response *resp);
void sts_api_handle(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                    http_response *resp);
void cloister_api_handle(iam *m, const iam_caller *c, http_request *req, http_response *resp);

#endif

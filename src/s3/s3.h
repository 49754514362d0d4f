/* s3.h — the one public header of src/s3: the S3 API over the meta store
 * (buckets, object metadata) and the blob store (object bytes).
 *
 * Every request is authorized through iam_authorize with S3's actions and ARNs
 * (arn:aws:s3:::bucket, arn:aws:s3:::bucket/key); the bucket policy is the
 * resource policy, the bucket owner's account the resource account, and Block
 * Public Access (the bucket's and its owner account's) is applied on top, as
 * AWS does. The one S3 Control operation served, the account-level Block
 * Public Access, arrives on the same endpoint (see s3_is_control).
 *
 * Uploads stream: the front door calls s3_begin_upload once a PutObject's
 * headers are in (after authenticating them); the body then flows through the
 * aws-chunked decoder (when used) into a temporary blob, and s3_handle commits
 * the object after the last byte. Other requests arrive fully read.
 *
 * Ownership: s3_open returns an s3 the caller closes after the server stops. */
#ifndef CLOISTER_S3_H
#define CLOISTER_S3_H

#include "http/http.h"
#include "iam/iam.h"
#include "store/blob.h"
#include "store/store.h"

#include <jansson.h>

typedef struct s3 s3;

/* seal_key (32 bytes, e.g. derived from the KMS root key) seals the SSE-S3 node
 * key at rest in DATA/keys/sse-s3.key; a plain key left by an earlier version is
 * sealed on open, keeping its value. NULL keeps the key file plain (tests). */
cl_err s3_open(store *st, iam *m, const char *data_dir, const uint8_t *seal_key, s3 **out);
/* As s3_open, with the object bytes under blob_root/blobs instead of
 * data_dir/blobs (`serve --blobs`: a directory every node shares). */
cl_err s3_open_at(store *st, iam *m, const char *data_dir, const char *blob_root,
                  const uint8_t *seal_key, s3 **out);
/* SHA-256 of HMAC-SHA256(SSE-S3 node key, "cloister-cluster-id"): the nodes of
 * one cluster must hold the same key; this compares them without the key. */
void s3_sse_key_fingerprint(const s3 *s, uint8_t out[32]);
void s3_close(s3 *s);

/* SSE-KMS: the key service S3 asks for data keys, on the caller's behalf (the
 * caller's own KMS permissions are checked, as AWS does). The CLI wires KMS in
 * (s3 does not depend on kms). Without one, SSE-KMS answers NotImplemented.
 * enc_ctx is the KMS encryption context (JSON object of strings). On refusal
 * the fault carries KMS's exception name as code. */
typedef struct {
    void *ctx;
    cl_err (*data_key)(void *ctx, const iam_caller *c, const http_request *req, const char *key_id,
                       const json_t *enc_ctx, uint8_t key[32], cl_buf *blob, char **key_arn,
                       aws_fault *f);
    cl_err (*decrypt)(void *ctx, const iam_caller *c, const http_request *req,
                      const json_t *enc_ctx, cl_slice blob, uint8_t key[32], char **key_arn,
                      aws_fault *f);
} s3_key_service;
void s3_set_key_service(s3 *s, const s3_key_service *k);

/* True if this request (headers only) uploads object bytes that should stream. */
bool s3_is_upload(const s3 *s, const http_request *req);
/* POST with a multipart/form-data body and no query: a browser upload (POST
 * Object) if it names a bucket, whose body may be larger than other pre-auth
 * bodies (serve --post-body-limit). */
bool s3_is_post_form(const http_request *req);
/* The domain of virtual-host style addressing (BUCKET.domain); "localhost"
 * unless set (cloister serve --s3-domain). */
void s3_set_domain(s3 *s, const char *domain);
/* The bucket a virtual-host style Host names, or NULL (malloc'd); the access log
 * uses it to log "bucket/key" for both addressing styles. */
char *s3_host_bucket(const s3 *s, const http_request *req);
/* A bucket name the node keeps for itself (e.g. "por": anonymous GETs of /por/
 * are the verification page): CreateBucket answers BucketAlreadyExists, as for
 * a name another account holds. Up to S3_MAX_RESERVED names. */
#define S3_MAX_RESERVED 4
void s3_reserve_bucket_name(s3 *s, const char *name);
/* True if this is an S3 Control request (path /v20180820/..., header
 * x-amz-account-id), whatever the Host: s3_handle serves it, and it is never
 * an upload even though it is a PUT with a path (the front door asks before
 * streaming). */
bool s3_is_control(const http_request *req);
/* Authorizes and prepares a streamed upload: sets req->body_sink and
 * req->state. On refusal fills resp (status != 0) and the body is not read. */
void s3_begin_upload(s3 *s, const iam_caller *c, http_request *req, http_response *resp);

/* Deletes blobs no metadata names that were finished before older_than (pass
 * an hour ago: writes whose metadata commit is in flight are spared). */
cl_err s3_gc(s3 *s, time_t older_than, size_t *removed);

/* Bucket notifications (s3_notify.c): the destinations of
 * PutBucketNotificationConfiguration are checked by a function the CLI
 * installs (s3 does not depend on tasks). type: "lambda" or "queue"; arn as
 * given; owner = the bucket owner's account. Returns CL_OK, or an error with
 * msg (one line) that the PUT answers as 400 InvalidArgument "Unable to
 * validate the following destination configurations" (ArgumentName: the ARN,
 * ArgumentValue: msg). Without a checker any well-formed ARN is accepted.
 * Events go to the meta store's outbox: kind "s3_event" (see s3_event.c). */
typedef cl_err (*s3_notify_check_fn)(void *ctx, const char *type, const char *arn,
                                     const char *owner, char *msg, size_t msglen);
void s3_set_notify_check(s3 *s, s3_notify_check_fn fn, void *ctx);

/* Publishing task outputs as objects, all or none (s3_publish.c). */
typedef struct {
    const char *key;          /* full object key */
    const char *path;         /* host file holding the bytes */
    const char *content_type; /* NULL: by extension (.json application/json, .zip
                                 application/zip), else binary/octet-stream */
    bool public_read; /* anyone may GET/HEAD it, unless Block Public Access says otherwise */
} s3_publish_item;
typedef struct s3_publish s3_publish;
/* Step 1, outside any transaction: checks that bucket exists and belongs to
 * account (CL_ERR_NOT_FOUND / CL_ERR_DENIED), that no public_read item is
 * refused by Block Public Access (the bucket's or account's BlockPublicAcls:
 * CL_ERR_DENIED, msg names the bucket, the setting and the key), and writes
 * every file to a new blob, encrypted as the bucket's default encryption says
 * (SSE-S3; SSE-KMS with the bucket owner account's root as the KMS caller).
 * origin (may be NULL) is copied into the "Origin" of every event these
 * objects emit. */
cl_err s3_publish_prepare(s3 *s, const char *account, const char *bucket,
                          const s3_publish_item *items, size_t n, const char *origin,
                          s3_publish **out, char *msg, size_t msglen);
/* Step 2, inside the caller's store_txn (joins it): commits every object
 * document (checking the bucket Id, emitting ObjectCreated:Put events to the
 * outbox like any PUT). All or none: an error is the transaction's to roll back. */
cl_err s3_publish_commit_txn(s3 *s, s3_publish *p);
/* Step 3, after the transaction: committed -> deletes the blobs of replaced
 * objects; not committed -> deletes the new blobs. Frees p (NULL is fine). */
void s3_publish_finish(s3 *s, s3_publish *p, bool committed);

/* Reads the whole object (at most max bytes: CL_ERR_TOO_LARGE) with the bucket
 * owner's rights: SSE-S3 decrypted; SSE-KMS through the key service as the
 * bucket owner account's root (iam_caller_root); SSE-C refused (CL_ERR_DENIED).
 * version_id NULL (or "null") = current; this server keeps no other version.
 * CL_ERR_NOT_FOUND (no bucket/key), CL_ERR_DENIED (key service refused), msg
 * says which. *etag (may be NULL) gets the ETag (malloc'd, quoted). */
cl_err s3_read_object_as_owner(s3 *s, const char *bucket, const char *key, const char *version_id,
                               size_t max, cl_buf *out, char **etag, char *msg, size_t msglen);
/* May this caller GetObject bucket/key (identity + bucket policy + BPA + public
 * objects, exactly what a GetObject request would be checked against; req may
 * be NULL = no request conditions)? CL_OK or CL_ERR_DENIED/CL_ERR_NOT_FOUND
 * (no such bucket) with msg. */
cl_err s3_check_read(s3 *s, const iam_caller *c, const http_request *req, const char *bucket,
                     const char *key, char *msg, size_t msglen);

/* Handles a request (c->p.type may be PRINCIPAL_ANONYMOUS). */
void s3_handle(s3 *s, const iam_caller *c, http_request *req, http_response *resp);

#endif

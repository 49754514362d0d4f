/* s3_internal.h — shared between the files of src/s3, not for other modules.
 * Meta store kinds (scope / name):
 *   bucket  ""      / bucket name  {Name, Id, Owner, CreationDate, Region, Policy?, PAB?,
 *                                   Ownership? (s3_acl.c)}
 *   object  bucket id / object key {Blob, Size, ETag, LastModified, ContentType, Meta{},
 *                                   Headers{}, Checksum{algo: b64}?, Tags{k: v}?, Owner}
 *   upload  bucket id / uploadId   (s3_multipart.c)
 *   part    bucket id "/" uploadId / %05d (s3_multipart.c)
 *   upload_done bucket id / uploadId {Key, ETag, Completed, SSE?}: a completed
 *                                   upload, so a retried Complete answers the same
 *   objver  bucket id / vname(key, seq)  every version of a versioned bucket's
 *                                   objects, delete markers included (s3_version.c)
 *   account_pab ""  / account id   {BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy,
 *                                   RestrictPublicBuckets} (S3 Control, s3_control.c)
 * Buckets are named globally but everything in them belongs to the bucket's
 * unique Id, never to its name: a deleted name re-created (by anyone) is a new
 * Id and sees nothing of the old bucket. New Ids are "B" + 32 upper-case hex
 * characters (random), which no bucket name can equal (names are lower case).
 * Buckets created before Ids existed get Id = their name when the server
 * starts (s3_bucket_ids_migrate), so their items stay where they are; a new
 * bucket of that name after a delete gets a random Id. A write of an object
 * checks, in the same meta-store transaction, that the bucket name still has
 * the Id the request started with (s3_bucket_txn_check).
 * Object bytes live in the blob store (store/blob.h); metadata is committed only
 * after the blob is durable, and removed before the blob is deleted. A blob is
 * deleted only after the commit that removed the last document naming it. */
#ifndef CLOISTER_S3_INTERNAL_H
#define CLOISTER_S3_INTERNAL_H

#include "s3/s3.h"
#include "s3/s3_xml.h"

#include <jansson.h>
#include <stdio.h>

/* Bucket documents and parsed bucket policies, cached (s3_bucket_cache.c). */
typedef struct s3_bucket_cache s3_bucket_cache;
typedef struct s3_bucket_entry s3_bucket_entry;

struct s3 {
    store *st;
    iam *m;
    blob_store *blobs;
    s3_bucket_cache *buckets;
    uint8_t sse_key[32]; /* the node key that wraps SSE-S3 data keys */
    s3_key_service kms;  /* SSE-KMS data keys (zeroed: none) */
    char *domain;        /* virtual-host addressing: BUCKET.domain (default localhost) */
    char *reserved[S3_MAX_RESERVED]; /* bucket names CreateBucket refuses */
    s3_notify_check_fn notify_check; /* notification destinations (NULL: any well-formed) */
    void *notify_ctx;
};

/* One S3 request in flight. */
typedef struct {
    s3 *s;
    const iam_caller *c;
    http_request *req;
    http_response *resp;
    char *bucket;       /* NULL for service-level requests (ListBuckets) */
    char *fault_region; /* AuthorizationHeaderMalformed: the <Region> S3 expects */
    char *key;          /* decoded object key, NULL for bucket-level requests */
    cl_kvlist query;
    json_t *bucket_doc;            /* loaded by s3_load_bucket: the op's own copy, free to edit */
    char *bucket_id;               /* the loaded bucket's unique Id: the scope of its items */
    s3_bucket_entry *bucket_entry; /* the cached entry it came from (policy parsed) */
    aws_fault f;
    /* headers an error answer carries (s3_respond_fault): a delete marker's */
    bool fault_delete_marker;
    char *fault_version_id;
    char *fault_last_modified; /* ISO 8601: a delete marker's, on a 405 by its id */
} s3_op;

s3_bucket_cache *s3_bucket_cache_new(void);
void s3_bucket_cache_free(s3_bucket_cache *c);
/* A reference to the bucket's cached entry, or NULL if there is no such bucket. */
s3_bucket_entry *s3_bucket_acquire(s3 *s, const char *name);
void s3_bucket_release(s3 *s, s3_bucket_entry *e);
json_t *s3_bucket_entry_doc_copy(const s3_bucket_entry *e);
const policy *s3_bucket_entry_policy(const s3_bucket_entry *e);
/* Sets (value != NULL; stolen) or deletes one field of op->bucket's stored
 * document in one read-modify-write (store_update), so concurrent changes of
 * other settings are never lost; op->bucket_doc follows. NoSuchBucket if the
 * bucket is gone or was re-created since the op loaded it; false with op->f set. */
bool s3_bucket_update(s3_op *op, const char *field, json_t *value);
/* The same, provided the stored `guard` field (one the op's checks read, e.g.
 * "PAB" for PutBucketPolicy's BlockPublicPolicy check) is still the one in
 * op->bucket_doc; else 409 OperationAborted and nothing is written. */
bool s3_bucket_update_guarded(s3_op *op, const char *field, json_t *value, const char *guard);

/* Parses addressing (path-style /bucket/key, or virtual-host bucket.localhost)
 * and the query. False (fault filled) if the request is malformed. */
bool s3_op_init(s3_op *op, s3 *s, const iam_caller *c, http_request *req, http_response *resp);
void s3_op_free(s3_op *op);
/* Writes op->f as S3's <Error> (with <Resource> naming the bucket/key). */
void s3_respond_fault(s3_op *op);
bool s3_has_query(const s3_op *op, const char *name);

/* Loads op->bucket's document; NoSuchBucket fault if absent, and
 * AuthorizationHeaderMalformed (s3_check_region) if the request was signed for
 * a region other than the bucket's. */
bool s3_load_bucket(s3_op *op);

/* The region a bucket has no record of, and the server's (Cloister serves one). */
#define S3_DEFAULT_REGION "us-east-1"
/* A bucket's region ("Region" of its document; S3_DEFAULT_REGION if none). */
const char *s3_bucket_region(json_t *bucket_doc);
/* True if the request's credential scope names `expected` (or it is anonymous);
 * else AuthorizationHeaderMalformed with <Region>expected</Region>, as S3. */
bool s3_check_region(s3_op *op, const char *expected);
bool s3_valid_bucket_name(const char *name);

/* Authorizes `action` (e.g. "s3:GetObject") on `resource` for the caller with
 * the bucket policy (respecting Block Public Access) as resource policy and
 * the bucket owner as resource account. `ctx` may carry extra condition keys
 * (s3:prefix, ...); it is consumed. AccessDenied fault on deny; for the
 * owner-only bucket settings (s3_core.c OWNER_ONLY), MethodNotAllowed (405)
 * when allowed but the caller is not of the bucket owner's account. */
bool s3_authorize(s3_op *op, const char *action, const char *resource, policy_ctx *ctx);
/* Adds the S3 condition keys AWS supplies for `action` (request headers, object
 * tags, s3:ResourceAccount; s3_condkeys.c). Called by s3_authorize. */
void s3_cond_keys(const s3_op *op, const char *action, policy_ctx *ctx);
/* s3:GetObject on op->key: s3_authorize, and for an object published public
 * ("Public": true, s3_publish.c) what no policy denies explicitly is allowed,
 * as a public-read ACL, unless Block Public Access has IgnorePublicAcls. */
bool s3_authorize_get_object(s3_op *op);
/* An s3_op for a call with no HTTP request behind it (s3_owner.c): req NULL
 * gives an empty request; bucket/key are copied. The op is ready for
 * s3_load_bucket. */
typedef struct {
    s3_op op;
    http_request req;
    http_response resp;
} s3_owner_op;
void s3_owner_op_init(s3_owner_op *o, s3 *s, const iam_caller *c, const http_request *req,
                      const char *bucket, const char *key);
void s3_owner_op_free(s3_owner_op *o);
char *s3_bucket_arn(const char *bucket);
char *s3_object_arn(const char *bucket, const char *key);

/* Block Public Access: four flags (all false when never set), at bucket level
 * (the bucket document's "PAB") and account level (kind account_pab). */
typedef s3_public_access_block s3_pab;
s3_pab s3_pab_from_json(json_t *flags); /* {BlockPublicAcls: true, ...}; NULL: all false */
json_t *s3_pab_to_json(s3_pab p);       /* new reference */
s3_pab s3_bucket_pab(json_t *bucket);   /* the bucket's own setting */
/* The setting in force for op's loaded bucket: the OR of the bucket's and its
 * owner account's, as AWS applies them (the most restrictive combination). */
s3_pab s3_effective_pab(const s3_op *op);
/* The owner account's setting, read with the bucket's document (so cached and
 * invalidated with it). */
s3_pab s3_bucket_entry_account_pab(const s3_bucket_entry *e);
/* An account's setting: CL_OK, CL_ERR_NOT_FOUND (none set: *out all false), or
 * another error (store or document unreadable: *out all true, failing closed). */
cl_err s3_account_pab_get(s3 *s, const char *account, s3_pab *out);
/* Answers 200 with <PublicAccessBlockConfiguration xmlns=ns> holding p. */
void s3_pab_respond(s3_op *op, s3_pab p, const char *ns);

/* max-keys / max-uploads: an integer, capped at 1000 (S3's page size), default 1000. */
bool s3_query_max(s3_op *op, const char *param, size_t *max);
/* Checks a Content-MD5 header (if any) against md5: InvalidDigest / BadDigest. */
bool s3_check_content_md5(s3_op *op, const uint8_t md5[16]);
/* If-Match style lists: "*" or comma-separated (weak or strong) ETags naming etag. */
bool s3_etag_listed(const char *list, const char *etag);

/* XML response helpers */
void s3_xml_begin(s3_op *op, const char *root); /* <?xml?><root xmlns=...> */
void s3_xml_begin_ns(s3_op *op, const char *root, const char *ns);
void s3_xml_end(s3_op *op, const char *root); /* </root>, 200, Content-Type */
/* <tag>key</tag>, URL-encoded when the request asked for encoding-type=url. */
void s3_xml_key(cl_buf *b, const char *tag, const char *key, bool url);

/* The part of a listing that ListObjects(V2) and ListObjectVersions share:
 * keys rolled up into CommonPrefixes at the first delimiter after the prefix
 * (each prefix emitted once, into `prefixes`), and counted against max-keys. */
typedef struct {
    const char *prefix, *delim;
    bool url;
    size_t max, count;
    char *last_cp; /* the last common prefix emitted (or resumed after) */
    bool truncated;
    cl_buf prefixes;
} s3_rollup;
typedef enum {
    S3_ROLLUP_KEY,    /* counted as itself */
    S3_ROLLUP_PREFIX, /* counted as a new common prefix (now last_cp) */
    S3_ROLLUP_SKIP,   /* inside a common prefix already emitted */
    S3_ROLLUP_FULL,   /* max-keys reached: truncated; stop listing */
} s3_rollup_step;
s3_rollup_step s3_rollup_take(s3_rollup *r, const char *key);
void s3_rollup_free(s3_rollup *r);
void s3_set_time_header(http_response *r, const char *name, const char *iso8601);

/* Operations (s3_bucket.c, s3_object.c, s3_list.c) */
void s3_list_buckets(s3_op *op);
/* Listing continuation tokens (s3_list.c), opaque to clients: the last name
 * listed, encoded; decoding a bad one is 400 InvalidArgument (NULL). */
char *s3_list_token_encode(const char *last);
char *s3_list_token_decode(s3_op *op, const char *token);
void s3_create_bucket(s3_op *op);
void s3_head_bucket(s3_op *op);
void s3_delete_bucket(s3_op *op);
void s3_get_bucket_location(s3_op *op);
void s3_bucket_policy(s3_op *op); /* PUT/GET/DELETE ?policy */
void s3_get_bucket_policy_status(s3_op *op);
void s3_bucket_public_access_block(s3_op *op); /* PUT/GET/DELETE ?publicAccessBlock */
void s3_list_objects(s3_op *op);               /* GET bucket (v1 and list-type=2) */
void s3_get_object(s3_op *op, bool head);
void s3_get_object_attributes(s3_op *op); /* GET /bucket/key?attributes (s3_attrs.c) */
/* op->key's document (the caller's), or NULL with the fault: 404 NoSuchKey to a
 * caller who may list the bucket, else 403 AccessDenied (as S3: keys cannot be
 * probed). */
json_t *s3_object_load(s3_op *op);
void s3_object_delete(s3_op *op);
void s3_finish_upload(s3_op *op); /* after a streamed PUT body */

/* Object ownership and ACLs (s3_acl.c): BucketOwnerEnforced, ACLs disabled. */
void s3_bucket_acl(s3_op *op);                /* GET/PUT /bucket?acl */
void s3_object_acl(s3_op *op);                /* GET/PUT /bucket/key?acl */
void s3_bucket_ownership_controls(s3_op *op); /* PUT/GET/DELETE ?ownershipControls */
/* x-amz-acl / x-amz-grant-* of a write into op's loaded bucket: true when they
 * grant nothing beyond the bucket owner's FULL_CONTROL (or are absent), else
 * 400 AccessControlListNotSupported. */
bool s3_check_acl_headers(s3_op *op);
/* The same for CreateBucket (the caller will own it), and x-amz-object-ownership:
 * InvalidBucketAclWithObjectOwnership / NotImplemented. */
bool s3_check_create_bucket_acl(s3_op *op);

/* S3 Control (s3_control.c): a request s3_is_control recognised. */
void s3_control_handle(s3 *s, const iam_caller *c, http_request *req, http_response *resp);

/* Server-side encryption (s3_sse.c) */
void s3_bucket_encryption(s3_op *op); /* PUT/GET/DELETE ?encryption */
bool s3_bucket_name_reserved(const s3 *s, const char *name);
cl_err s3_sse_load_node_key(s3 *s, const char *data_dir, const uint8_t *seal_key);
typedef struct {
    bool on;
    struct crypto_seg_enc *stream;
    json_t *record; /* goes into the object document as "SSE" */
} s3_enc;
/* From the PUT's headers or the bucket default; false with a fault if refused. */
bool s3_sse_begin_put(s3_op *op, s3_enc *e);
cl_err s3_sse_write(s3_enc *e, cl_slice plain, blob_writer *w);
cl_err s3_sse_finish(s3_enc *e, blob_writer *w);
void s3_enc_free(s3_enc *e);
void s3_sse_headers(http_response *r, json_t *record);
/* Checks an SSE-C request's key against the object (HEAD needs no reader). */
bool s3_sse_key_check(s3_op *op, json_t *object);
/* The data key of an encrypted object (record = its "SSE"): unwrapped (SSE-S3),
 * from KMS for this caller (SSE-KMS), or from the request's SSE-C headers named
 * by customer_prefix ("x-amz-server-side-encryption-customer", or
 * "x-amz-copy-source-server-side-encryption-customer" for a copy's source). */
bool s3_sse_object_key(s3_op *op, json_t *rec, const char *customer_prefix, uint8_t key[32]);
/* Multipart: CreateMultipartUpload decides the encryption and stores the
 * record in the upload document as "SSE"; each part is its own stream under the
 * upload's data key with context s3_sse_part_context (malloc'd). */
bool s3_sse_begin_upload(s3_op *op, json_t *upload);
bool s3_sse_begin_part(s3_op *op, json_t *upload, int part, s3_enc *e);
char *s3_sse_part_context(json_t *upload_rec, int part);

/* Reading an object's plaintext, any layout (s3_objio.c). */
typedef struct s3_obj_reader s3_obj_reader;
bool s3_obj_reader_open(s3_op *op, json_t *object, const char *customer_prefix,
                        s3_obj_reader **out);
cl_err s3_obj_reader_read(s3_obj_reader *r, uint64_t off, void *buf, size_t n);
void s3_obj_reader_free(s3_obj_reader *r);
/* Sets resp to stream plaintext [off, off+len) of the object. */
bool s3_obj_respond(s3_op *op, json_t *object, uint64_t off, uint64_t len);

/* Copy, batch delete, tagging, upload listing (s3_copy.c, s3_delete.c, s3_tagging.c,
 * s3_uploads.c) */
void s3_copy_object(s3_op *op);            /* PUT with x-amz-copy-source */
void s3_upload_part_copy(s3_op *op);       /* PUT ?partNumber&uploadId with x-amz-copy-source */
void s3_delete_objects(s3_op *op);         /* POST /bucket?delete */
void s3_object_tagging(s3_op *op);         /* PUT/GET/DELETE /bucket/key?tagging */
void s3_bucket_tagging(s3_op *op);         /* PUT/GET/DELETE /bucket?tagging */
void s3_list_multipart_uploads(s3_op *op); /* GET /bucket?uploads */
/* Checks a small request body against its Content-MD5 / x-amz-checksum-* headers
 * (InvalidDigest, BadDigest); with `required`, one of them must be present. */
bool s3_check_body_digest(s3_op *op, bool required);
/* Conditional deletes (s3_delcond.c): DeleteObject's If-Match,
 * x-amz-if-match-last-modified-time, x-amz-if-match-size, DeleteObjects'
 * <ETag>, <LastModifiedTime>, <Size>. */
typedef struct {
    const char *etag; /* NULL: none; "*": any current object */
    bool has_mtime, has_size;
    time_t mtime;
    uint64_t size;
} s3_del_cond;
bool s3_del_cond_any(const s3_del_cond *c);
/* DeleteObject's condition headers into c (pointing into the request); false
 * with op->f set (400 InvalidArgument) if one is malformed. */
bool s3_del_cond_parse(s3_op *op, s3_del_cond *c);
/* Conditional deletes also need read access (AWS: s3:GetObject, or
 * s3:GetObjectVersion with a versionId): the 412 tells about the object. */
bool s3_del_cond_authorize(s3_op *op, const s3_del_cond *c, const char *key, const char *vid);
/* Inside the delete's transaction, before it deletes anything: CL_OK to
 * delete; CL_ERR_CONFLICT (*failed set) when the object (version vid, else the
 * current one) does not match; CL_ERR_NOT_FOUND when there is nothing to
 * delete (the delete then does nothing and reports success, as AWS). */
cl_err s3_del_cond_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                       const char *vid, const s3_del_cond *c);
/* The x-amz-tagging header: valid (else the parser's fault) and, when it sets
 * tags, s3:PutObjectTagging allowed on op->key. Call before storing anything. */
bool s3_check_request_tags(s3_op *op);
/* The header's tags as {k: v}; NULL when absent, empty or invalid. Caller owns. */
json_t *s3_header_tags(const http_request *req);
/* Object Lock is not built, so no bucket has an Object Lock configuration: a
 * PutObject, CopyObject or CreateMultipartUpload with an x-amz-object-lock-*
 * header gets AWS's answer for such a bucket (400 InvalidRequest "Bucket is
 * missing Object Lock Configuration") instead of an object without the lock.
 * True when there is none. */
bool s3_check_no_object_lock(s3_op *op);
/* x-amz-tagging-count for an object document with tags. */
void s3_tagging_count_header(http_response *r, json_t *object);

/* {ContentType, Meta{x-amz-meta-*}, Headers{Cache-Control, ...}, Tags{}?} from a PUT/POST's
 * headers (Tags from x-amz-tagging, which the caller checked with s3_check_request_tags). */
json_t *s3_request_metadata(const http_request *req);

/* Multipart uploads (s3_multipart.c) */
void s3_create_multipart(s3_op *op);   /* POST ?uploads */
void s3_complete_multipart(s3_op *op); /* POST ?uploadId */
void s3_abort_multipart(s3_op *op);    /* DELETE ?uploadId */
void s3_list_parts(s3_op *op);         /* GET ?uploadId */
/* UploadPart's header-time checks: partNumber valid, upload exists for this
 * key. Returns the upload's document (the caller decrefs it) or NULL (fault). */
json_t *s3_check_part_target(s3_op *op, const char *upload_id, int *part_number);
/* Records a durable part blob (replacing an earlier upload of the same part).
 * context: the part's encryption context (NULL: not encrypted). */
bool s3_commit_part(s3_op *op, const char *upload_id, int part, const char *blob, uint64_t size,
                    const char *etag, const char *checksum_algo, const char *checksum,
                    const char *context);
/* Writes the bytes of f (or mem when f is NULL) to a new durable blob,
 * encrypted as the bucket's default says for op->key (s3_sse_begin_put on
 * op's request), and sets doc's Blob, Size, ETag, LastModified and SSE. On
 * failure msg says why (an encryption refusal is also in op->f). */
cl_err s3_blob_from(s3_op *op, FILE *f, cl_slice mem, json_t *doc, char *msg, size_t msglen);
/* POST /bucket with a multipart/form-data body: browser upload (s3_post.c). */
void s3_post_object(s3_op *op);
/* Deletes the blob(s) of an object document (single blob or parts). */
void s3_delete_object_blobs(s3 *s, json_t *object);
/* Deletes the blobs of `old` that `now` (may be NULL) does not name: what a
 * committed replacement of old by now freed. */
void s3_delete_replaced_blobs(s3 *s, json_t *old, json_t *now);

/* Bucket identity (s3_bucket.c). The Id of a bucket document (its name for a
 * document from before Ids). */
const char *s3_bucket_doc_id(json_t *bucket_doc, const char *name);
/* Inside a store_txn: CL_OK if bucket `name` exists with Id `id`, else
 * CL_ERR_NOT_FOUND (deleted, or re-created as another bucket). */
cl_err s3_bucket_txn_check(store *st, const char *name, const char *id);
/* The same, giving the bucket's document (*doc: the caller's) on CL_OK. */
cl_err s3_bucket_txn_load(store *st, const char *name, const char *id, json_t **doc);
/* A fresh random Id (malloc'd). */
char *s3_bucket_new_id(void);
/* DeleteBucket's transaction (s3_bucket_id.c): false with the fault set. */
bool s3_bucket_drop(s3_op *op);
/* Gives every bucket document without an Id the Id = its name (at start). */
cl_err s3_bucket_ids_migrate(s3 *s);
/* Commits an object document under (bucket_id, key) in one transaction that
 * first checks the bucket still has that Id; then deletes the replaced
 * object's blobs that doc does not name. On failure the fault is set
 * (NoSuchBucket, InternalError) and doc's own blobs are deleted. ev: the
 * event the commit emits (s3_op_event; NULL: none). */
typedef struct s3_event s3_event;
bool s3_commit_object_doc(s3_op *op, const char *bucket, const char *bucket_id, const char *key,
                          json_t *doc, s3_event *ev);
/* Conditional writes (PutObject, CopyObject, CompleteMultipartUpload): the
 * request's If-None-Match must be "*" (else 501 NotImplemented, as AWS), checked
 * before any byte is read. s3_write_cond_txn, inside the transaction that writes
 * the object (so two conditional writes never both succeed): If-None-Match: *
 * and the key exists, or If-Match names another ETag -> 412 PreconditionFailed;
 * If-Match and no such key -> 404 NoSuchKey (AWS User Guide, "Conditional
 * writes"). On refusal CL_ERR_CONFLICT with op->f set. s3_commit_object_doc
 * applies it. */
bool s3_write_cond_valid(s3_op *op);
cl_err s3_write_cond_txn(s3_op *op, store *st, const char *bucket_id, const char *key);
/* What an object event needs beyond the object (s3_event.c). */
struct s3_event {
    const char *name;      /* "ObjectCreated:Put", "ObjectRemoved:Delete" (no "s3:") */
    const char *principal; /* the caller's unique id (userIdentity is "AWS:" + it) */
    const char *source_ip, *request_id;
    const char *origin; /* s3_publish's, else NULL */
    size_t emitted;     /* out: outbox items the last transaction wrote */
};
/* The event of op's request and caller. */
s3_event s3_op_event(const s3_op *op, const char *name);
/* ev if op's loaded (cached) bucket document has a notification configuration,
 * else NULL: a delete then reads nothing more in its transaction. */
s3_event *s3_op_notifies(const s3_op *op, s3_event *ev);
/* The same as s3_commit_object_doc, for callers already inside a store_txn:
 * *old gets the replaced doc; the bucket's configurations matching ev (NULL:
 * none) write their outbox items in the same transaction. */
cl_err s3_object_put_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                         json_t *doc, s3_event *ev, json_t **old);
/* Inside a store_txn: deletes the object (if any: r->removed gets it; r is
 * reset first, so zero it before the first call), or in a bucket with
 * versioning set puts a delete marker on top, or with vid deletes that version
 * (s3_ver_delete_txn), and emits ev's events for it (ev->name is set:
 * ObjectRemoved:Delete or ObjectRemoved:DeleteMarkerCreated). */
typedef struct s3_ver_deletion s3_ver_deletion;
cl_err s3_object_delete_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                            const char *vid, s3_event *ev, s3_ver_deletion *r);
/* Inside a store_txn: the outbox items of bucket_doc's configurations that
 * match ev on key; object is the committed (or removed) document. */
cl_err s3_event_emit_txn(store *st, json_t *bucket_doc, const char *bucket, const char *bucket_id,
                         const char *key, json_t *object, s3_event *ev);
/* After a commit: the test crash point "event-after-commit" if ev wrote items. */
void s3_event_after_commit(const s3_event *ev);
/* PUT/GET ?notification (s3_notify.c). */
void s3_bucket_notification(s3_op *op);
/* Pins every blob of an object document (see blob_pin_id): false if one is
 * already gone (the document was replaced meanwhile: read it again). */
bool s3_object_pin(s3 *s, json_t *object);
void s3_object_unpin(s3 *s, json_t *object);
/* Test-only fault injection: true when CLOISTER_TEST_CRASH_AT names `point`
 * (the caller then _exit(9)s, as a kill -9 would). Never set in production. */
bool s3_test_crash_at(const char *point);

/* ---- Versioning (s3_version.c, s3_versions.c) ---- */
typedef enum { S3_VER_NONE, S3_VER_ENABLED, S3_VER_SUSPENDED } s3_ver_state;
/* The bucket document's "Versioning": never set, "Enabled" or "Suspended". */
s3_ver_state s3_ver_state_of(json_t *bucket_doc);
/* "null" or a version id of this server's form. */
bool s3_ver_id_valid(const char *vid);
/* The request's ?versionId (NULL: none); false with 400 InvalidArgument when
 * malformed. */
bool s3_ver_query(s3_op *op, const char **vid);
/* doc's VersionId; "null" for an object without one in a bucket that has
 * versioning set; NULL in a never-versioned bucket (no header, as AWS). */
const char *s3_ver_id_of(json_t *bucket_doc, json_t *doc);
/* x-amz-version-id of doc (op's loaded bucket), when it has one. */
void s3_ver_header(s3_op *op, json_t *doc);
/* x-amz-version-id of a version a write (PUT, copy, Complete) just made: only a
 * real id. AWS's PutObject "versioning suspended" sample answers without one,
 * though the object is stored (and read back) as the `null` version. */
void s3_ver_written_header(s3_op *op, json_t *doc);
/* Item names: the store prefix of the keys starting with a key prefix, and the
 * name just after every version of key (malloc'd); the key of an item name
 * (malloc'd; NULL if not a version name). */
char *s3_ver_prefix(const char *key_prefix);
char *s3_ver_after_key(const char *key);
char *s3_ver_key_of(const char *name);
/* The version vid of key (a delete marker is a version), and its item name
 * (name may be NULL). CL_ERR_NOT_FOUND if there is none. */
cl_err s3_ver_find(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                   const char *vid, json_t **doc, char **name);
/* The newest version of key (maybe a delete marker). */
cl_err s3_ver_latest(store *st, const char *bucket_id, const char *key, json_t **doc);
/* Inside the transaction that sets versioning on a never-versioned bucket:
 * every object becomes its own null version. */
cl_err s3_ver_migrate_txn(store *st, const char *bucket_id);
/* Inside a transaction, for a bucket with versioning set: doc becomes key's
 * newest version (its VersionId is set: a new id, or "null" when suspended)
 * and the current object; *old gets the null version it replaced (suspended),
 * whose blobs the caller deletes after the commit. */
cl_err s3_ver_put_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                      json_t *doc, json_t **old);
/* What a delete did. */
struct s3_ver_deletion {
    char *version_id;    /* the version deleted or the marker created (NULL: nothing) */
    bool marker;         /* that version is a delete marker */
    bool marker_created; /* a delete without versionId made it */
    json_t *removed;     /* a removed object version: its blobs go after the commit */
};
/* Inside a transaction, for a bucket with versioning set (or with vid, any
 * bucket): deletes version vid of key (a missing one is no error), or, vid
 * NULL, puts a delete marker on top (replacing the null version when suspended). */
cl_err s3_ver_delete_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                         const char *vid, const char *owner, s3_ver_deletion *r);
void s3_ver_deletion_free(s3_ver_deletion *r);
/* Inside a transaction: applies fn to version vid of key (NULL: the current
 * object) in every item holding it (the version and, if current, the object).
 * CL_ERR_NOT_FOUND: no such key/version; CL_ERR_CONFLICT: it is a delete marker. */
typedef void (*s3_ver_edit_fn)(void *arg, json_t *doc);
cl_err s3_ver_update_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                         const char *vid, s3_ver_edit_fn fn, void *arg);
/* PUT/GET ?versioning and GET ?versions (s3_versions.c). */
void s3_bucket_versioning(s3_op *op);
void s3_list_object_versions(s3_op *op);
/* The version a GET/HEAD/attributes request names (op->key, ?versionId vid):
 * its document, or NULL with the fault (NoSuchVersion, or 405 MethodNotAllowed
 * for a delete marker, with its headers). */
json_t *s3_object_load_version(s3_op *op, const char *vid);
/* 405 MethodNotAllowed for a request naming a delete marker's version id, with
 * the marker's x-amz-delete-marker, x-amz-version-id and Last-Modified. */
void s3_ver_marker_fault(s3_op *op, json_t *marker);

#endif

/* s3_internal.h — shared between the files of src/s3, not for other modules.
 * Meta store kinds (scope / name):
 *   bucket  ""      / bucket name  {Name, Owner, CreationDate, Region, Policy?, PAB?}
 *   object  bucket  / object key   {Blob, Size, ETag, LastModified, ContentType, Meta{},
 *                                   Headers{}, Checksum{algo: b64}?, Owner}
 * Object bytes live in the blob store (store/blob.h); metadata is committed only
 * after the blob is durable, and removed before the blob is deleted. */
#ifndef CLOISTER_S3_INTERNAL_H
#define CLOISTER_S3_INTERNAL_H

#include "s3/s3.h"

#include <jansson.h>

struct s3 {
    store *st;
    iam *m;
    blob_store *blobs;
};

/* One S3 request in flight. */
typedef struct {
    s3 *s;
    const iam_caller *c;
    http_request *req;
    http_response *resp;
    char *bucket; /* NULL for service-level requests (ListBuckets) */
    char *key;    /* decoded object key, NULL for bucket-level requests */
    cl_kvlist query;
    json_t *bucket_doc; /* loaded by s3_load_bucket */
    aws_fault f;
} s3_op;

/* Parses addressing (path-style /bucket/key, or virtual-host bucket.localhost)
 * and the query. False (fault filled) if the request is malformed. */
bool s3_op_init(s3_op *op, s3 *s, const iam_caller *c, http_request *req, http_response *resp);
void s3_op_free(s3_op *op);
/* Writes op->f as S3's <Error> (with <Resource> naming the bucket/key). */
void s3_respond_fault(s3_op *op);
bool s3_has_query(const s3_op *op, const char *name);

/* Loads op->bucket's document; NoSuchBucket fault if absent. */
bool s3_load_bucket(s3_op *op);
bool s3_valid_bucket_name(const char *name);

/* Authorizes `action` (e.g. "s3:GetObject") on `resource` for the caller with
 * the bucket policy (respecting Block Public Access) as resource policy and
 * the bucket owner as resource account. `ctx` may carry extra condition keys
 * (s3:prefix, ...); it is consumed. AccessDenied fault on deny. */
bool s3_authorize(s3_op *op, const char *action, const char *resource, policy_ctx *ctx);
char *s3_bucket_arn(const char *bucket);
char *s3_object_arn(const char *bucket, const char *key);

/* Block Public Access of a bucket: four flags (all false when never set). */
typedef struct {
    bool block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets;
} s3_pab;
s3_pab s3_bucket_pab(json_t *bucket);

/* XML response helpers */
void s3_xml_begin(s3_op *op, const char *root); /* <?xml?><root xmlns=...> */
void s3_xml_end(s3_op *op, const char *root);   /* </root>, 200, Content-Type */
void s3_set_time_header(http_response *r, const char *name, const char *iso8601);

/* Operations (s3_bucket.c, s3_object.c, s3_list.c) */
void s3_list_buckets(s3_op *op);
void s3_create_bucket(s3_op *op);
void s3_head_bucket(s3_op *op);
void s3_delete_bucket(s3_op *op);
void s3_get_bucket_location(s3_op *op);
void s3_bucket_policy(s3_op *op); /* PUT/GET/DELETE ?policy */
void s3_get_bucket_policy_status(s3_op *op);
void s3_bucket_public_access_block(s3_op *op); /* PUT/GET/DELETE ?publicAccessBlock */
void s3_list_objects(s3_op *op);               /* GET bucket (v1 and list-type=2) */
void s3_get_object(s3_op *op, bool head);
void s3_object_delete(s3_op *op);
void s3_finish_upload(s3_op *op); /* after a streamed PUT body */

#endif

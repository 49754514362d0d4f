/* s3_delete.c — DeleteObjects (POST /bucket?delete), and the check of the
 * digests a small XML request body carries (Content-MD5, x-amz-checksum-*),
 * which DeleteObjects requires and PutObjectTagging honours.
 *
 * Each key is authorized on its own (s3:DeleteObject on arn:aws:s3:::bucket/key),
 * as S3 does: a denied key is reported in the result and the others still go.
 * Every key is deleted as DeleteObject deletes one: the metadata goes first (in
 * a transaction that reads the document it removes), then the blobs, so a crash
 * in between leaves only unreferenced bytes. A key that did not exist is reported
 * deleted, as S3 reports it. A <VersionId> deletes that version
 * (s3:DeleteObjectVersion); without one, a bucket with versioning set gets a
 * delete marker. An object's <ETag>, <LastModifiedTime> and <Size> make its
 * delete conditional (s3_delcond.c): checked in the transaction that deletes
 * it; a mismatch is that key's PreconditionFailed <Error>. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_xml.h"

#include <stdlib.h>
#include <string.h>

static bool check_md5(s3_op *op) {
    uint8_t md5[CRYPTO_MD5_LEN];
    crypto_md5(buf_slice(&op->req->body), md5);
    return s3_check_content_md5(op, md5);
}

bool s3_check_body_digest(s3_op *op, bool required) {
    bool any = false;
    const char *md5 = kvlist_get_ci(&op->req->headers, "Content-MD5");
    if (md5) {
        any = true;
        if (!check_md5(op)) return false;
    }
    for (size_t i = 0; i < op->req->headers.len; i++) {
        const cl_kv *h = &op->req->headers.items[i];
        checksum_algo a = checksum_algo_from_header(slice_cstr(h->key));
        if (a == CHECKSUM_NONE) continue;
        any = true;
        char got[CHECKSUM_B64_MAX];
        checksum_base64(a, buf_slice(&op->req->body), got);
        if (strcmp(got, h->value) != 0) {
            aws_fault_set(&op->f, 400, "BadDigest",
                          "The %s you specified did not match the calculated checksum.",
                          checksum_algo_name(a));
            return false;
        }
    }
    if (required && !any)
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "Missing required header for this request: Content-MD5");
    return any || !required;
}

typedef struct {
    const char *bucket, *bucket_id, *key, *vid;
    s3_event ev;
    s3_ver_deletion r;
    bool notify; /* the bucket has a notification configuration */
    s3_del_cond cond;
    bool skipped; /* a condition found nothing to delete */
} delete_one;

static cl_err delete_meta(store *st, void *arg) {
    delete_one *d = arg;
    s3_ver_deletion_free(&d->r); /* a retried transaction starts over */
    cl_err e = s3_del_cond_txn(st, d->bucket, d->bucket_id, d->key, d->vid, &d->cond);
    d->skipped = e == CL_ERR_NOT_FOUND;
    if (e == CL_ERR_NOT_FOUND) return CL_OK;
    if (e != CL_OK) return e;
    return s3_object_delete_txn(st, d->bucket, d->bucket_id, d->key, d->vid,
                                d->notify ? &d->ev : NULL, &d->r);
}

static void report_error(cl_buf *b, const char *key, const char *vid, const char *code,
                         const char *message) {
    xml_open(b, "Error");
    xml_text(b, "Key", key);
    if (vid) xml_text(b, "VersionId", vid);
    xml_text(b, "Code", code);
    xml_text(b, "Message", message);
    xml_close(b, "Error");
}

/* <Deleted> as AWS words it: the version deleted (VersionId, and DeleteMarker
 * when it was one), or the delete marker made (DeleteMarker,
 * DeleteMarkerVersionId). */
static void report_deleted(cl_buf *b, const char *key, const char *vid, const s3_ver_deletion *r) {
    xml_open(b, "Deleted");
    xml_text(b, "Key", key);
    if (vid) xml_text(b, "VersionId", vid);
    if (r->marker) xml_text(b, "DeleteMarker", "true");
    if (r->marker_created && r->version_id)
        xml_text(b, "DeleteMarkerVersionId", r->version_id);
    else if (vid && r->marker && r->version_id)
        xml_text(b, "DeleteMarkerVersionId", r->version_id);
    xml_close(b, "Deleted");
}

static void delete_key(s3_op *op, const s3_delete_request *d, const s3_delete_object *o,
                       cl_buf *b) {
    const char *key = o->key, *vid = o->version_id;
    if (vid && !s3_ver_id_valid(vid)) {
        report_error(b, key, vid, "NoSuchVersion", "Invalid version id specified");
        return;
    }
    delete_one one = {op->bucket, op->bucket_id, key, vid, s3_op_event(op, "ObjectRemoved:Delete")};
    one.cond = (s3_del_cond){o->etag, o->has_last_modified, o->has_size, o->last_modified, o->size};
    char *arn = s3_object_arn(op->bucket, key);
    bool allowed =
        s3_authorize(op, vid ? "s3:DeleteObjectVersion" : "s3:DeleteObject", arn, NULL) &&
        s3_del_cond_authorize(op, &one.cond, key, vid);
    free(arn);
    op->f = (aws_fault){0}; /* a denial is this key's result, not the request's */
    if (!allowed) {
        report_error(b, key, vid, "AccessDenied", "Access Denied");
        return;
    }
    one.notify = s3_op_notifies(op, &one.ev) != NULL;
    cl_err e = store_txn(op->s->st, delete_meta, &one);
    if (e != CL_OK) {
        s3_ver_deletion_free(&one.r);
        if (e == CL_ERR_CONFLICT)
            report_error(b, key, vid, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold");
        else
            report_error(b, key, vid, "InternalError",
                         "We encountered an internal error. Please try again.");
        return;
    }
    s3_event_after_commit(&one.ev);
    if (one.r.removed) s3_delete_object_blobs(op->s, one.r.removed); /* metadata gone: bytes next */
    if (!d->quiet) report_deleted(b, key, vid, &one.r);
    s3_ver_deletion_free(&one.r);
}

void s3_delete_objects(s3_op *op) {
    op->req->op = "DeleteObjects";
    if (!s3_load_bucket(op) || !s3_check_body_digest(op, true)) return;
    s3_delete_request d = {0};
    s3_xml_error xe = {0};
    if (s3_xml_parse_delete(buf_slice(&op->req->body), &d, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    cl_buf results = CL_BUF_INIT;
    for (size_t i = 0; i < d.len; i++)
        delete_key(op, &d, &d.objects[i], &results);
    s3_xml_begin(op, "DeleteResult");
    buf_append_slice(&op->resp->body, buf_slice(&results));
    s3_xml_end(op, "DeleteResult");
    buf_free(&results);
    s3_delete_request_free(&d);
}

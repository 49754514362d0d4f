/* s3_publish.c — publishing a task's output files as objects, all or none
 * (s3.h: s3_publish_prepare / s3_publish_commit_txn / s3_publish_finish).
 *
 * The blob discipline of any PUT, spread over the caller's transaction:
 * prepare writes every file to a new durable blob (encrypted as the bucket's
 * default encryption says: SSE-S3 with the node key, SSE-KMS through the key
 * service as the bucket owner account's root) outside any transaction; commit
 * writes every object document inside the caller's store_txn (checking the
 * bucket Id and emitting ObjectCreated:Put events, with the publication's
 * Origin, like a PUT); finish deletes the replaced blobs after a commit, or the
 * new ones if the transaction rolled back. A crash before the commit leaves
 * only unreferenced blobs (s3_gc sweeps them).
 *
 * public_read marks the document "Public": true, which the read path honours
 * as AWS honours a public-read ACL (s3_authorize_get_object), and which Block
 * Public Access governs: BlockPublicAcls (bucket or account) refuses the
 * publication here, IgnorePublicAcls makes the mark ineffective. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    json_t *doc; /* the object document to commit (owns its blob) */
    json_t *old; /* the document it replaced, once committed */
} pub_item;

struct s3_publish {
    char *bucket, *bucket_id, *account, *origin;
    pub_item *items;
    size_t n;
};

static const char *content_type(const s3_publish_item *it) {
    if (it->content_type) return it->content_type;
    size_t n = strlen(it->key);
    if (n >= 5 && strcmp(it->key + n - 5, ".json") == 0) return "application/json";
    if (n >= 4 && strcmp(it->key + n - 4, ".zip") == 0) return "application/zip";
    return "binary/octet-stream";
}

static void publish_free(s3 *s, s3_publish *p, bool delete_new) {
    for (size_t i = 0; i < p->n; i++) {
        if (delete_new) s3_delete_object_blobs(s, p->items[i].doc);
        free(p->items[i].key);
        json_decref(p->items[i].doc);
        json_decref(p->items[i].old);
    }
    free(p->items);
    free(p->bucket);
    free(p->bucket_id);
    free(p->account);
    free(p->origin);
    free(p);
}

cl_err s3_blob_from(s3_op *op, FILE *f, cl_slice mem, json_t *doc, char *msg, size_t msglen) {
    s3_enc enc;
    if (!s3_sse_begin_put(op, &enc)) {
        snprintf(msg, msglen, "%s: cannot encrypt as the bucket's default says: %s (%s)", op->key,
                 op->f.code ? op->f.code : "Error", op->f.message);
        return op->f.status == 403 ? CL_ERR_DENIED : CL_ERR_INVALID;
    }
    blob_writer *w = NULL;
    cl_err e = blob_begin(op->s->blobs, &w);
    crypto_md5_ctx *md5 = crypto_md5_new();
    uint64_t size = 0;
    char buf[65536];
    size_t n;
    size_t at = 0;
    while (e == CL_OK) {
        cl_slice piece;
        if (f) {
            if ((n = fread(buf, 1, sizeof buf, f)) == 0) break;
            piece = slice_of(buf, n);
        } else {
            if (at == mem.len) break;
            n = mem.len - at < sizeof buf ? mem.len - at : sizeof buf;
            piece = slice_sub(mem, at, n);
            at += n;
        }
        crypto_md5_update(md5, piece);
        size += n;
        e = enc.on ? s3_sse_write(&enc, piece, w) : blob_append(w, piece);
    }
    if (e == CL_OK && f && ferror(f)) e = CL_ERR_IO;
    if (e == CL_OK && enc.on) e = s3_sse_finish(&enc, w);
    uint8_t d[CRYPTO_MD5_LEN];
    crypto_md5_final(md5, d);
    char id[BLOB_ID_LEN + 1], hex[33], ts[21];
    if (e == CL_OK) {
        e = blob_finish(w, id);
    } else {
        blob_abort(w);
    }
    if (e != CL_OK) {
        snprintf(msg, msglen, "%s: could not store the file: %s", op->key, cl_err_str(e));
        s3_enc_free(&enc);
        return e;
    }
    hex_encode_to(hex, d, sizeof d);
    time_format_iso8601(time_now(), ts);
    json_object_set_new(doc, "Blob", json_string(id));
    json_object_set_new(doc, "Size", json_integer((json_int_t)size));
    char *etag = cl_sprintf("\"%s\"", hex);
    json_object_set_new(doc, "ETag", json_string(etag));
    free(etag);
    json_object_set_new(doc, "LastModified", json_string(ts));
    if (enc.on) json_object_set(doc, "SSE", enc.record);
    s3_enc_free(&enc);
    return CL_OK;
}

static cl_err prepare_item(s3_op *op, s3_publish *p, const s3_publish_item *it, char *msg,
                           size_t msglen) {
    free(op->key);
    op->key = cl_strdup(it->key);
    if (!*it->key || strlen(it->key) > S3_MAX_KEY_BYTES) {
        snprintf(msg, msglen, "%s: not a valid object key", it->key);
        return CL_ERR_INVALID;
    }
    FILE *f = fopen(it->path, "rb");
    if (!f) {
        snprintf(msg, msglen, "%s: cannot open %s: %s", it->key, it->path, strerror(errno));
        return CL_ERR_IO;
    }
    json_t *doc = json_pack("{s:s, s:{}, s:{}, s:s}", "ContentType", content_type(it), "Meta",
                            "Headers", "Owner", p->account);
    if (it->public_read) json_object_set_new(doc, "Public", json_true());
    cl_err e = s3_blob_from(op, f, CL_SLICE_NULL, doc, msg, msglen);
    fclose(f);
    if (e != CL_OK) {
        json_decref(doc);
        return e;
    }
    p->items[p->n++] = (pub_item){cl_strdup(it->key), doc, NULL};
    return CL_OK;
}

/* The bucket exists, is the account's, and lets the public items be public. */
static cl_err prepare_checks(s3_op *op, const char *account, const s3_publish_item *items, size_t n,
                             char *msg, size_t msglen) {
    if (!s3_load_bucket(op)) {
        snprintf(msg, msglen, "bucket %s does not exist", op->bucket);
        return CL_ERR_NOT_FOUND;
    }
    const char *owner = json_string_value(json_object_get(op->bucket_doc, "Owner"));
    if (!owner || strcmp(owner, account) != 0) {
        snprintf(msg, msglen, "bucket %s belongs to another account", op->bucket);
        return CL_ERR_DENIED;
    }
    s3_pab own = s3_bucket_pab(op->bucket_doc), eff = s3_effective_pab(op);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].public_read || !eff.block_public_acls) continue;
        snprintf(msg, msglen,
                 "bucket %s blocks public access (BlockPublicAcls%s): %s cannot be made public; "
                 "turn BlockPublicAcls off or drop the public output",
                 op->bucket, own.block_public_acls ? "" : ", account setting", items[i].key);
        return CL_ERR_DENIED;
    }
    return CL_OK;
}

cl_err s3_publish_prepare(s3 *s, const char *account, const char *bucket,
                          const s3_publish_item *items, size_t n, const char *origin,
                          s3_publish **out, char *msg, size_t msglen) {
    *out = NULL;
    iam_caller root;
    iam_caller_root(&root, account);
    s3_owner_op o;
    s3_owner_op_init(&o, s, &root, NULL, bucket, NULL);
    o.req.method = "PUT";
    cl_err e = prepare_checks(&o.op, account, items, n, msg, msglen);
    s3_publish *p = NULL;
    if (e == CL_OK) {
        p = cl_calloc(1, sizeof *p);
        p->bucket = cl_strdup(bucket);
        p->bucket_id = cl_strdup(o.op.bucket_id);
        p->account = cl_strdup(account);
        p->origin = origin ? cl_strdup(origin) : NULL;
        p->items = cl_calloc(n ? n : 1, sizeof *p->items);
    }
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = prepare_item(&o.op, p, &items[i], msg, msglen);
    s3_owner_op_free(&o);
    iam_caller_free(&root);
    if (e != CL_OK) {
        if (p) publish_free(s, p, true); /* nothing committed names them */
        return e;
    }
    *out = p;
    return CL_OK;
}

cl_err s3_publish_commit_txn(s3 *s, s3_publish *p) {
    for (size_t i = 0; i < p->n; i++) {
        pub_item *it = &p->items[i];
        s3_event ev = {.name = "ObjectCreated:Put",
                       .principal = p->account,
                       .source_ip = "127.0.0.1",
                       .request_id = "",
                       .origin = p->origin};
        json_decref(it->old); /* a retried transaction starts over */
        it->old = NULL;
        CL_TRY(s3_object_put_txn(s->st, p->bucket, p->bucket_id, it->key, it->doc, &ev, &it->old));
    }
    return CL_OK;
}

void s3_publish_finish(s3 *s, s3_publish *p, bool committed) {
    if (!p) return;
    if (committed)
        for (size_t i = 0; i < p->n; i++)
            s3_delete_replaced_blobs(s, p->items[i].old, p->items[i].doc);
    publish_free(s, p, !committed);
}

/* test_s3_publish.c — S3 for the task runner, without HTTP clients: publishing
 * outputs (s3_publish_*: all objects and their events in the caller's one
 * transaction; nothing left behind when it rolls back; Block Public Access),
 * public objects on the read path (s3_check_read, anonymous GetObject), and
 * reading as the bucket owner (s3_read_object_as_owner, SSE-S3 and SSE-KMS
 * through a key service that checks it is called as the owner's root).
 * A store, IAM and S3 are opened in a temp dir; buckets and settings are made
 * through s3_handle with hand-built requests from the owner's root. */
#include "iam/iam.h"
#include "kms/kms.h"
#include "s3/s3.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    char dir[64];
    store *st;
    iam *m;
    s3 *s;
    char account[13];
    iam_caller root;
    int kms_calls;
} env;

/* ---- a fake key service: the data key is the wrapped blob XORed with 0x5a,
 * and every call must come from the bucket owner's root ---- */
static cl_err fake_data_key(void *ctx, const iam_caller *c, const http_request *req,
                            const char *key_id, const json_t *enc_ctx, uint8_t key[32],
                            cl_buf *blob, char **key_arn, aws_fault *f) {
    (void)req, (void)key_id, (void)enc_ctx;
    env *e = ctx;
    if (c->p.type != PRINCIPAL_ROOT || strcmp(c->account, e->account) != 0) {
        aws_fault_set(f, 400, "AccessDeniedException", "not the owner's root");
        return CL_ERR_DENIED;
    }
    e->kms_calls++;
    uint8_t w[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)(i * 7 + 1);
        w[i] = key[i] ^ 0x5a;
    }
    buf_append(blob, w, 32);
    *key_arn = cl_sprintf("arn:aws:kms:us-east-1:%s:key/fake", e->account);
    return CL_OK;
}

static cl_err fake_decrypt(void *ctx, const iam_caller *c, const http_request *req,
                           const json_t *enc_ctx, cl_slice blob, uint8_t key[32], char **key_arn,
                           aws_fault *f) {
    (void)req, (void)enc_ctx;
    env *e = ctx;
    if (c->p.type != PRINCIPAL_ROOT || strcmp(c->account, e->account) != 0 || blob.len != 32) {
        aws_fault_set(f, 400, "AccessDeniedException", "not the owner's root");
        return CL_ERR_DENIED;
    }
    e->kms_calls++;
    for (int i = 0; i < 32; i++)
        key[i] = blob.ptr[i] ^ 0x5a;
    *key_arn = cl_sprintf("arn:aws:kms:us-east-1:%s:key/fake", e->account);
    return CL_OK;
}

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/cl-s3pub-XXXXXX");
    if (!mkdtemp(e->dir)) return -1;
    char *db = cl_sprintf("%s/meta.db", e->dir), *creds = cl_sprintf("%s/credentials", e->dir);
    bool created = false;
    if (store_open(db, &e->st) != CL_OK || iam_open(e->st, &e->m) != CL_OK ||
        iam_bootstrap(e->m, creds, &created) != CL_OK ||
        s3_open(e->st, e->m, e->dir, NULL, &e->s) != CL_OK)
        return -1;
    free(db);
    free(creds);
    snprintf(e->account, sizeof e->account, "%s", iam_root_account(e->m));
    iam_caller_root(&e->root, e->account);
    s3_set_key_service(e->s, &(s3_key_service){e, fake_data_key, fake_decrypt});
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    iam_caller_free(&e->root);
    s3_close(e->s);
    iam_close(e->m);
    store_close(e->st);
    char *cmd = cl_sprintf("rm -rf '%s'", e->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", e->dir);
    free(cmd);
    free(e);
    return 0;
}

/* One request through s3_handle -> HTTP status; the answer's body into out
 * (may be NULL); header: one more "Name: value" request header (may be NULL). */
static int call_full(env *e, const iam_caller *c, const char *method, const char *path,
                     const char *query, const char *body, const char *header, cl_buf *out) {
    http_request req = {0};
    http_response resp = {0};
    req.method = method;
    req.path = (char *)path;
    req.query = (char *)query;
    snprintf(req.remote_ip, sizeof req.remote_ip, "127.0.0.1");
    snprintf(req.request_id, sizeof req.request_id, "TESTREQUEST");
    kvlist_add(&req.headers, "Host", "127.0.0.1");
    if (header) {
        const char *colon = strchr(header, ':');
        kvlist_addn(&req.headers, slice_of(header, (size_t)(colon - header)),
                    slice_cstr(colon + 2));
    }
    if (body) buf_append_cstr(&req.body, body);
    s3_handle(e->s, c, &req, &resp);
    int status = resp.status;
    if (out) buf_append_slice(out, buf_slice(&resp.body));
    if (resp.reader_free) resp.reader_free(resp.reader_arg);
    if (resp.fd > 0) close(resp.fd);
    kvlist_free(&req.headers);
    buf_free(&req.body);
    kvlist_free(&resp.headers);
    buf_free(&resp.body);
    return status;
}

static int call(env *e, const iam_caller *c, const char *method, const char *path,
                const char *query, const char *body) {
    return call_full(e, c, method, path, query, body, NULL, NULL);
}

static void make_bucket(env *e, const char *name) {
    char *path = cl_sprintf("/%s", name);
    assert_int_equal(call(e, &e->root, "PUT", path, "", NULL), 200);
    /* a new bucket blocks public access (AWS's default); these tests publish public outputs */
    assert_int_equal(call(e, &e->root, "GET", path, "publicAccessBlock", NULL), 200);
    assert_int_equal(call(e, &e->root, "DELETE", path, "publicAccessBlock", NULL), 204);
    assert_int_equal(
        call(e, &e->root, "PUT", path, "notification",
             "<NotificationConfiguration><CloudFunctionConfiguration><Id>out</Id>"
             "<CloudFunction>arn:aws:lambda:us-east-1:111122223333:function:f</CloudFunction>"
             "<Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name>"
             "<Value>runs/</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration>"
             "</NotificationConfiguration>"),
        200);
    free(path);
}

static char *write_tmp(env *e, const char *name, const char *content) {
    char *p = cl_sprintf("%s/%s", e->dir, name);
    assert_int_equal(file_write_atomic(p, slice_cstr(content), 0600), CL_OK);
    return p;
}

static size_t count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "tmp") == 0) continue;
        char *p = cl_sprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0) n += S_ISDIR(st.st_mode) ? count_files(p) : 1;
        free(p);
    }
    closedir(d);
    return n;
}

static size_t blob_count(env *e) {
    char *p = cl_sprintf("%s/blobs", e->dir);
    size_t n = count_files(p);
    free(p);
    return n;
}

static bool count_event(void *arg, const char *name, const char *doc) {
    (void)name;
    json_t *d = json_loads(doc, 0, NULL);
    const char *origin = json_string_value(json_object_get(d, "Origin"));
    if (origin && strcmp(origin, "run-42") == 0) (*(int *)arg)++;
    json_decref(d);
    return true;
}

static json_t *object(env *e, const char *bucket, const char *key) {
    char *text = NULL;
    assert_int_equal(store_get(e->st, "bucket", "", bucket, &text), CL_OK);
    json_t *b = json_loads(text, 0, NULL);
    free(text);
    text = NULL;
    json_t *o = NULL;
    if (store_get(e->st, "object", json_string_value(json_object_get(b, "Id")), key, &text) ==
        CL_OK)
        o = json_loads(text, 0, NULL);
    free(text);
    json_decref(b);
    return o;
}

static cl_err commit_fn(store *st, void *arg) {
    (void)st;
    void **a = arg;
    return s3_publish_commit_txn(a[0], a[1]);
}

static void test_publish_three_in_one_txn(void **state) {
    env *e = *state;
    make_bucket(e, "pub-one");
    char *p1 = write_tmp(e, "f1", "{\"root\":1}"), *p2 = write_tmp(e, "f2", "zipbytes"),
         *p3 = write_tmp(e, "f3", "user proof");
    s3_publish_item items[] = {
        {"runs/1/final_proof.json", p1, NULL, false},
        {"runs/1/proofs.zip", p2, NULL, true},
        {"runs/1/user_proofs/alice", p3, "text/plain", false},
    };
    s3_publish *p = NULL;
    char msg[256] = "";
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-one", items, 3, "run-42", &p, msg, sizeof msg),
        CL_OK);
    assert_null(object(e, "pub-one", "runs/1/proofs.zip")); /* nothing visible yet */
    void *args[] = {e->s, p};
    assert_int_equal(store_txn(e->st, commit_fn, args), CL_OK);
    s3_publish_finish(e->s, p, true);
    json_t *o = object(e, "pub-one", "runs/1/final_proof.json");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "ContentType")), "application/json");
    assert_int_equal(json_integer_value(json_object_get(o, "Size")), 10);
    assert_null(json_object_get(o, "Public"));
    json_decref(o);
    o = object(e, "pub-one", "runs/1/proofs.zip");
    assert_string_equal(json_string_value(json_object_get(o, "ContentType")), "application/zip");
    assert_true(json_is_true(json_object_get(o, "Public")));
    json_decref(o);
    o = object(e, "pub-one", "runs/1/user_proofs/alice");
    assert_string_equal(json_string_value(json_object_get(o, "ContentType")), "text/plain");
    json_decref(o);
    int events = 0;
    assert_int_equal(store_list(e->st, "s3_event", "", NULL, NULL, 0, count_event, &events, NULL),
                     CL_OK);
    assert_int_equal(events, 3);
    /* read back as the owner */
    cl_buf out = CL_BUF_INIT;
    char *etag = NULL;
    assert_int_equal(s3_read_object_as_owner(e->s, "pub-one", "runs/1/user_proofs/alice", NULL,
                                             1024, &out, &etag, msg, sizeof msg),
                     CL_OK);
    assert_string_equal(buf_cstr(&out), "user proof");
    assert_non_null(etag);
    assert_int_equal(etag[0], '"');
    free(etag);
    assert_int_equal(s3_read_object_as_owner(e->s, "pub-one", "runs/1/user_proofs/alice", NULL, 4,
                                             &out, NULL, msg, sizeof msg),
                     CL_ERR_TOO_LARGE);
    assert_int_equal(
        s3_read_object_as_owner(e->s, "pub-one", "nope", NULL, 4, &out, NULL, msg, sizeof msg),
        CL_ERR_NOT_FOUND);
    assert_int_equal(
        s3_read_object_as_owner(e->s, "no-such-bucket", "k", NULL, 4, &out, NULL, msg, sizeof msg),
        CL_ERR_NOT_FOUND);
    buf_free(&out);
    free(p1);
    free(p2);
    free(p3);
}

static cl_err failing_fn(store *st, void *arg) {
    (void)st;
    void **a = arg;
    cl_err e = s3_publish_commit_txn(a[0], a[1]);
    return e == CL_OK ? CL_ERR_CONFLICT : e; /* the caller's own step failed: roll back */
}

static void test_not_committed_leaves_nothing(void **state) {
    env *e = *state;
    make_bucket(e, "pub-two");
    size_t before = blob_count(e);
    char *p1 = write_tmp(e, "g1", "one"), *p2 = write_tmp(e, "g2", "two");
    s3_publish_item items[] = {{"runs/a", p1, NULL, false}, {"runs/b", p2, NULL, false}};
    s3_publish *p = NULL;
    char msg[256] = "";
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-two", items, 2, NULL, &p, msg, sizeof msg),
        CL_OK);
    assert_int_equal(blob_count(e), before + 2);
    void *args[] = {e->s, p};
    assert_int_equal(store_txn(e->st, failing_fn, args), CL_ERR_CONFLICT);
    s3_publish_finish(e->s, p, false);
    assert_int_equal(blob_count(e), before);
    assert_null(object(e, "pub-two", "runs/a"));
    /* prepare failing half way leaves nothing either */
    s3_publish_item bad[] = {{"runs/a", p1, NULL, false},
                             {"runs/b", "/nonexistent/x", NULL, false}};
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-two", bad, 2, NULL, &p, msg, sizeof msg),
        CL_ERR_IO);
    assert_null(p);
    assert_int_equal(blob_count(e), before);
    /* another account's bucket, or none */
    assert_int_equal(
        s3_publish_prepare(e->s, "999999999999", "pub-two", items, 2, NULL, &p, msg, sizeof msg),
        CL_ERR_DENIED);
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-none", items, 2, NULL, &p, msg, sizeof msg),
        CL_ERR_NOT_FOUND);
    free(p1);
    free(p2);
}

static void publish_one(env *e, const char *bucket, const char *key, const char *text,
                        bool public_read) {
    char *path = write_tmp(e, "pub-one-file", text);
    s3_publish_item it = {key, path, NULL, public_read};
    s3_publish *p = NULL;
    char msg[256] = "";
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, bucket, &it, 1, NULL, &p, msg, sizeof msg), CL_OK);
    void *args[] = {e->s, p};
    assert_int_equal(store_txn(e->st, commit_fn, args), CL_OK);
    s3_publish_finish(e->s, p, true);
    free(path);
}

static void test_public_objects_and_bpa(void **state) {
    env *e = *state;
    make_bucket(e, "pub-three");
    publish_one(e, "pub-three", "runs/proofs.zip", "zip", true);
    publish_one(e, "pub-three", "runs/private.json", "{}", false);
    iam_caller anon = {.p = {.type = PRINCIPAL_ANONYMOUS}};
    char msg[256] = "";
    assert_int_equal(
        s3_check_read(e->s, &anon, NULL, "pub-three", "runs/proofs.zip", msg, sizeof msg), CL_OK);
    assert_int_equal(
        s3_check_read(e->s, &anon, NULL, "pub-three", "runs/private.json", msg, sizeof msg),
        CL_ERR_DENIED);
    assert_int_equal(
        s3_check_read(e->s, &e->root, NULL, "pub-three", "runs/private.json", msg, sizeof msg),
        CL_OK);
    assert_int_equal(s3_check_read(e->s, &anon, NULL, "pub-none", "k", msg, sizeof msg),
                     CL_ERR_NOT_FOUND);
    assert_int_equal(call(e, &anon, "GET", "/pub-three/runs/proofs.zip", "", NULL), 200);
    assert_int_equal(call(e, &anon, "HEAD", "/pub-three/runs/proofs.zip", "", NULL), 200);
    assert_int_equal(call(e, &anon, "GET", "/pub-three/runs/private.json", "", NULL), 403);
    /* IgnorePublicAcls: the mark no longer counts */
    assert_int_equal(call(e, &e->root, "PUT", "/pub-three", "publicAccessBlock",
                          "<PublicAccessBlockConfiguration><IgnorePublicAcls>true"
                          "</IgnorePublicAcls></PublicAccessBlockConfiguration>"),
                     200);
    assert_int_equal(call(e, &anon, "GET", "/pub-three/runs/proofs.zip", "", NULL), 403);
    assert_int_equal(
        s3_check_read(e->s, &anon, NULL, "pub-three", "runs/proofs.zip", msg, sizeof msg),
        CL_ERR_DENIED);
    /* BlockPublicAcls: a public output is refused, saying why */
    assert_int_equal(call(e, &e->root, "PUT", "/pub-three", "publicAccessBlock",
                          "<PublicAccessBlockConfiguration><BlockPublicAcls>true"
                          "</BlockPublicAcls></PublicAccessBlockConfiguration>"),
                     200);
    char *path = write_tmp(e, "bpa", "zip");
    s3_publish_item it = {"runs/proofs2.zip", path, NULL, true};
    s3_publish *p = NULL;
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-three", &it, 1, NULL, &p, msg, sizeof msg),
        CL_ERR_DENIED);
    assert_non_null(strstr(msg, "BlockPublicAcls"));
    assert_non_null(strstr(msg, "runs/proofs2.zip"));
    it.public_read = false; /* the same output, private, is fine */
    assert_int_equal(
        s3_publish_prepare(e->s, e->account, "pub-three", &it, 1, NULL, &p, msg, sizeof msg),
        CL_OK);
    s3_publish_finish(e->s, p, false);
    free(path);
}

static void test_kms_default_read_as_owner(void **state) {
    env *e = *state;
    make_bucket(e, "pub-kms");
    assert_int_equal(call(e, &e->root, "PUT", "/pub-kms", "encryption",
                          "<ServerSideEncryptionConfiguration><Rule>"
                          "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms"
                          "</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                          "</ServerSideEncryptionConfiguration>"),
                     200);
    int calls = e->kms_calls;
    publish_one(e, "pub-kms", "runs/ledger.json", "{\"secret\":\"ledger\"}", false);
    assert_int_equal(e->kms_calls, calls + 1);
    json_t *o = object(e, "pub-kms", "runs/ledger.json");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "SSE"), "Kind")),
                        "KMS");
    json_decref(o);
    cl_buf out = CL_BUF_INIT;
    char msg[256] = "";
    assert_int_equal(s3_read_object_as_owner(e->s, "pub-kms", "runs/ledger.json", NULL, 1 << 20,
                                             &out, NULL, msg, sizeof msg),
                     CL_OK);
    assert_string_equal(buf_cstr(&out), "{\"secret\":\"ledger\"}");
    assert_int_equal(e->kms_calls, calls + 2);
    assert_int_equal(s3_read_object_as_owner(e->s, "pub-kms", "runs/ledger.json", "v2", 1 << 20,
                                             &out, NULL, msg, sizeof msg),
                     CL_ERR_NOT_FOUND);
    buf_free(&out);
}

static cl_err checker(void *ctx, const char *type, const char *arn, const char *owner, char *msg,
                      size_t msglen) {
    env *e = ctx;
    assert_string_equal(owner, e->account);
    if (strcmp(type, "lambda") == 0 && strstr(arn, ":function:missing")) {
        snprintf(msg, msglen, "no app named missing in account %s", owner);
        return CL_ERR_NOT_FOUND;
    }
    return CL_OK;
}

static void test_destination_checker(void **state) {
    env *e = *state;
    s3_set_notify_check(e->s, checker, e);
    assert_int_equal(call(e, &e->root, "PUT", "/pub-dest", "", NULL), 200);
    const char *doc =
        "<NotificationConfiguration><CloudFunctionConfiguration>"
        "<CloudFunction>arn:aws:lambda:us-east-1:111122223333:function:missing</CloudFunction>"
        "<Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration>"
        "</NotificationConfiguration>";
    cl_buf out = CL_BUF_INIT;
    assert_int_equal(call_full(e, &e->root, "PUT", "/pub-dest", "notification", doc, NULL, &out),
                     400);
    assert_non_null(strstr(buf_cstr(&out), "<Code>InvalidArgument</Code>"));
    assert_non_null(strstr(buf_cstr(&out), "Unable to validate the following destination "
                                           "configurations"));
    assert_non_null(strstr(buf_cstr(&out), "<ArgumentName>arn:aws:lambda:us-east-1:111122223333:"
                                           "function:missing</ArgumentName>"));
    assert_non_null(strstr(buf_cstr(&out), "<ArgumentValue>no app named missing"));
    buf_clear(&out);
    assert_int_equal(call_full(e, &e->root, "PUT", "/pub-dest", "notification", doc,
                               "x-amz-skip-destination-validation: true", NULL),
                     200);
    assert_int_equal(call_full(e, &e->root, "GET", "/pub-dest", "notification", NULL, NULL, &out),
                     200);
    assert_non_null(strstr(buf_cstr(&out), ":function:missing</CloudFunction>"));
    buf_free(&out);
    s3_set_notify_check(e->s, NULL, NULL);
}

/* ---- the real key service, wired as cloister serve wires it ---- */
static cl_err real_data_key(void *ctx, const iam_caller *c, const http_request *req,
                            const char *key_id, const json_t *enc_ctx, uint8_t key[32],
                            cl_buf *blob, char **key_arn, aws_fault *f) {
    return kms_data_key_for(ctx, c, req, key_id, "s3.us-east-1.amazonaws.com", enc_ctx, key, blob,
                            key_arn, f);
}

static cl_err real_decrypt(void *ctx, const iam_caller *c, const http_request *req,
                           const json_t *enc_ctx, cl_slice blob, uint8_t key[32], char **key_arn,
                           aws_fault *f) {
    return kms_decrypt_for(ctx, c, req, "s3.us-east-1.amazonaws.com", enc_ctx, blob, key, key_arn,
                           f);
}

/* CreateKey through the KMS API as the owner's root -> the key id (malloc'd). */
static char *create_key(env *e, kms *k) {
    http_request req = {0};
    http_response resp = {0};
    req.method = "POST";
    req.path = "/";
    req.query = "";
    kvlist_add(&req.headers, "X-Amz-Target", "TrentService.CreateKey");
    kvlist_add(&req.headers, "Content-Type", "application/x-amz-json-1.1");
    buf_append_cstr(&req.body, "{}");
    kms_api_handle(k, &e->root, &req, &resp);
    assert_int_equal(resp.status, 200);
    json_t *out = json_loadb((const char *)resp.body.ptr, resp.body.len, 0, NULL);
    char *id =
        cl_strdup(json_string_value(json_object_get(json_object_get(out, "KeyMetadata"), "KeyId")));
    json_decref(out);
    kvlist_free(&req.headers);
    buf_free(&req.body);
    kvlist_free(&resp.headers);
    buf_free(&resp.body);
    return id;
}

static void test_real_kms_read_as_owner(void **state) {
    env *e = *state;
    kms *k = NULL;
    char err[256] = "";
    kms_options ko = {.data_dir = e->dir};
    assert_int_equal(kms_open(e->st, e->m, &ko, &k, err, sizeof err), CL_OK);
    s3_set_key_service(e->s, &(s3_key_service){k, real_data_key, real_decrypt});
    char *key_id = create_key(e, k);
    const char *bodies[2] = {
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
        "</ServerSideEncryptionConfiguration>",
        NULL};
    char *custom = cl_sprintf(
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>%s</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
        key_id);
    bodies[1] = custom;
    const char *buckets[2] = {"pub-kms-managed", "pub-kms-custom"};
    for (int i = 0; i < 2; i++) {
        make_bucket(e, buckets[i]);
        char *path = cl_sprintf("/%s", buckets[i]);
        assert_int_equal(call(e, &e->root, "PUT", path, "encryption", bodies[i]), 200);
        free(path);
        publish_one(e, buckets[i], "runs/in.json", "{\"gated\":true}", false);
        json_t *o = object(e, buckets[i], "runs/in.json");
        const char *arn = json_string_value(json_object_get(json_object_get(o, "SSE"), "KeyId"));
        assert_non_null(arn);
        if (i == 1) assert_non_null(strstr(arn, key_id));
        json_decref(o);
        cl_buf out = CL_BUF_INIT;
        char msg[256] = "";
        assert_int_equal(s3_read_object_as_owner(e->s, buckets[i], "runs/in.json", NULL, 1 << 20,
                                                 &out, NULL, msg, sizeof msg),
                         CL_OK);
        assert_string_equal(buf_cstr(&out), "{\"gated\":true}");
        buf_free(&out);
    }
    free(custom);
    free(key_id);
    s3_set_key_service(e->s, &(s3_key_service){0});
    kms_close(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_three_in_one_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_committed_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_objects_and_bpa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kms_default_read_as_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destination_checker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_kms_read_as_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

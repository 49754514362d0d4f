/* s3_bucket.c — bucket-level operations: create, head, delete, list, location,
 * bucket policies (validated by the policy engine; BlockPublicPolicy, the
 * bucket's or its owner account's, refuses a public one) and their status, and
 * bucket-level Block Public Access (whose XML answer the account level shares).
 * Bucket names are global, as in S3; a bucket belongs to the creator's account.
 * As AWS today: a new bucket has all four Block Public Access settings on, and
 * remembers its region (LocationConstraint, else S3_DEFAULT_REGION), which a
 * request's credential scope must name (s3_check_region); re-creating a bucket
 * one already owns answers 200 in us-east-1 (AWS's legacy behaviour) and
 * BucketAlreadyOwnedByYou elsewhere. ListBuckets pages as AWS does (below). */
#include "s3/s3_internal.h"

#include "s3/s3_xml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- ListBuckets ----
 * Paged as AWS since 2024 (API reference ListBuckets): max-buckets (1..10000),
 * continuation-token (opaque: s3_list_token_*), prefix and bucket-region
 * filters. With any of them the page holds at most 10000 buckets, each with
 * its BucketRegion, and the answer echoes Prefix; a ContinuationToken is
 * returned only when more buckets follow. Without them: every bucket, as before. */

#define LIST_BUCKETS_MAX 10000

typedef struct {
    s3_op *op;
    const char *region; /* bucket-region filter, or NULL */
    bool paged;         /* any paging parameter: BucketRegion shown */
    size_t max, count;
    bool more;
    char *last;
} list_ctx;

static bool emit_bucket(void *arg, const char *name, const char *text) {
    list_ctx *l = arg;
    json_t *b = json_loads(text, 0, NULL);
    const char *owner = json_string_value(json_object_get(b, "Owner"));
    bool mine = b && owner && l->op->c->account && strcmp(owner, l->op->c->account) == 0;
    if (mine && l->region && strcmp(s3_bucket_region(b), l->region) != 0) mine = false;
    if (mine && l->max && l->count == l->max) {
        l->more = true; /* one more than the page: stop here */
        json_decref(b);
        return false;
    }
    if (mine) {
        cl_buf *o = &l->op->resp->body;
        xml_open(o, "Bucket");
        xml_text(o, "Name", name);
        xml_text(o, "CreationDate", json_string_value(json_object_get(b, "CreationDate")));
        if (l->paged) xml_text(o, "BucketRegion", s3_bucket_region(b));
        xml_close(o, "Bucket");
        l->count++;
        free(l->last);
        l->last = cl_strdup(name);
    }
    json_decref(b);
    return true;
}

/* max-buckets: absent (0: no limit unless paged), else 1..10000. */
static bool max_buckets(s3_op *op, size_t *max) {
    const char *v = kvlist_get(&op->query, "max-buckets");
    uint64_t n = 0;
    *max = 0;
    if (!v) return true;
    if (slice_to_u64(slice_cstr(v), &n) != CL_OK || n < 1 || n > LIST_BUCKETS_MAX) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Argument max-buckets must be an integer between 1 and %d", LIST_BUCKETS_MAX);
        return false;
    }
    *max = (size_t)n;
    return true;
}

void s3_list_buckets(s3_op *op) {
    if (op->c->p.type == PRINCIPAL_ANONYMOUS) {
        aws_fault_set(&op->f, 403, "AccessDenied", "Access Denied");
        return;
    }
    const char *prefix = kvlist_get(&op->query, "prefix");
    const char *token = kvlist_get(&op->query, "continuation-token");
    list_ctx l = {op, kvlist_get(&op->query, "bucket-region"), false, 0, 0, false, NULL};
    if (!max_buckets(op, &l.max)) return;
    l.paged = l.max || prefix || token || l.region;
    if (l.paged && !l.max) l.max = LIST_BUCKETS_MAX;
    if (!s3_authorize(op, "s3:ListAllMyBuckets", "*", NULL)) return;
    char *after = token ? s3_list_token_decode(op, token) : NULL;
    if (token && !after) return;
    if (after && *after && !s3_valid_bucket_name(after)) { /* not one of ours */
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "The continuation token provided is incorrect");
        free(after);
        return;
    }
    s3_xml_begin(op, "ListAllMyBucketsResult");
    cl_buf *o = &op->resp->body;
    xml_open(o, "Owner");
    xml_text(o, "ID", op->c->account);
    xml_text(o, "DisplayName", op->c->account);
    xml_close(o, "Owner");
    xml_open(o, "Buckets");
    store_list(op->s->st, "bucket", "", prefix && *prefix ? prefix : NULL,
               after && *after ? after : NULL, 0, emit_bucket, &l, NULL);
    xml_close(o, "Buckets");
    if (l.more && l.last) {
        char *next = s3_list_token_encode(l.last);
        xml_text(o, "ContinuationToken", next);
        free(next);
    }
    if (prefix) xml_text(o, "Prefix", prefix);
    s3_xml_end(op, "ListAllMyBucketsResult");
    free(l.last);
    free(after);
}

static bool parse_location(s3_op *op, char **region) {
    *region = NULL;
    cl_slice body = buf_slice(&op->req->body);
    if (slice_trim(body).len == 0) return true;
    s3_xml_error xe = {0};
    s3_create_bucket_config cfg = {0};
    if (s3_xml_parse_create_bucket(body, &cfg, &xe) == CL_OK) {
        *region = cfg.location_constraint ? cl_strdup(cfg.location_constraint) : NULL;
        s3_create_bucket_config_free(&cfg);
        return true;
    }
    aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
    return false;
}

/* Object Lock (WORM retention) is not built: a bucket asking for it is refused
 * rather than created without the guarantee its owner relies on. */
static bool refuse_object_lock(s3_op *op) {
    const char *v = kvlist_get_ci(&op->req->headers, "x-amz-bucket-object-lock-enabled");
    if (!v || strcasecmp(v, "true") != 0) return true;
    aws_fault_set(&op->f, 501, "NotImplemented",
                  "Object Lock is not supported by this server: a bucket with Object Lock "
                  "enabled cannot be created.");
    return false;
}

void s3_create_bucket(s3_op *op) {
    if (op->c->p.type == PRINCIPAL_ANONYMOUS) {
        aws_fault_set(&op->f, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (!s3_valid_bucket_name(op->bucket)) {
        aws_fault_set(&op->f, 400, "InvalidBucketName", "The specified bucket is not valid.");
        return;
    }
    char *region = NULL, *arn = s3_bucket_arn(op->bucket);
    bool ok = parse_location(op, &region) && s3_authorize(op, "s3:CreateBucket", arn, NULL) &&
              s3_check_create_bucket_acl(op) && refuse_object_lock(op);
    free(arn);
    if (!ok) {
        free(region);
        return;
    }
    char ts[21];
    time_format_iso8601(time_now(), ts);
    char *id = s3_bucket_new_id(); /* what its objects and uploads belong to */
    const char *want = region && *region ? region : S3_DEFAULT_REGION;
    /* AWS since April 2023: a new bucket has all four Block Public Access
     * settings on (buckets created before keep what they had) */
    s3_pab all = {true, true, true, true};
    json_t *b =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "Name", op->bucket, "Id", id, "Owner",
                  op->c->account, "CreationDate", ts, "Region", want, "PAB", s3_pab_to_json(all));
    bool us_east_1 = strcmp(want, "us-east-1") == 0;
    free(id);
    free(region);
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    cl_err e = s3_bucket_name_reserved(op->s, op->bucket)
                   ? CL_ERR_EXISTS
                   : store_insert(op->s->st, "bucket", "", op->bucket, text);
    free(text);
    if (e == CL_ERR_EXISTS) {
        char *existing = NULL;
        bool mine = false, legacy = false;
        if (store_get(op->s->st, "bucket", "", op->bucket, &existing) == CL_OK) {
            json_t *d = json_loads(existing, 0, NULL);
            mine = d && strcmp(json_string_value(json_object_get(d, "Owner")), op->c->account) == 0;
            legacy = mine && us_east_1 && strcmp(s3_bucket_region(d), "us-east-1") == 0;
            json_decref(d);
            free(existing);
        }
        if (legacy) { /* AWS's legacy us-east-1 answer: 200, the bucket unchanged */
            char *loc = cl_sprintf("/%s", op->bucket);
            http_set_header(op->resp, "Location", loc);
            free(loc);
            op->resp->status = 200;
        } else if (mine)
            aws_fault_set(&op->f, 409, "BucketAlreadyOwnedByYou",
                          "Your previous request to create the named bucket succeeded and you "
                          "already own it.");
        else
            aws_fault_set(
                &op->f, 409, "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all "
                "users of the system. Please select a different name and try again.");
        return;
    }
    if (e != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not store the bucket");
        return;
    }
    char *loc = cl_sprintf("/%s", op->bucket);
    http_set_header(op->resp, "Location", loc);
    free(loc);
    op->resp->status = 200;
}

void s3_head_bucket(s3_op *op) {
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, "s3:ListBucket", arn, NULL);
    free(arn);
    if (!ok) return;
    http_set_header(op->resp, "x-amz-bucket-region",
                    json_string_value(json_object_get(op->bucket_doc, "Region")));
    op->resp->status = 200;
}

void s3_delete_bucket(s3_op *op) {
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, "s3:DeleteBucket", arn, NULL);
    free(arn);
    if (!ok) return;
    /* one transaction: emptiness check, uploads discarded, bucket removed */
    if (s3_bucket_drop(op)) op->resp->status = 204;
}

void s3_get_bucket_location(s3_op *op) {
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, "s3:GetBucketLocation", arn, NULL);
    free(arn);
    if (!ok) return;
    const char *region = json_string_value(json_object_get(op->bucket_doc, "Region"));
    buf_append_cstr(&op->resp->body,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (region && strcmp(region, "us-east-1") != 0) xml_escape(&op->resp->body, region);
    buf_append_cstr(&op->resp->body, "</LocationConstraint>\n");
    op->resp->status = 200;
    http_set_header(op->resp, "Content-Type", "application/xml");
}

static void put_bucket_policy(s3_op *op) {
    char *text = slice_dup(buf_slice(&op->req->body)), err[384] = "";
    policy *p = NULL;
    if (policy_parse(slice_cstr(text), POLICY_RESOURCE, &p, err, sizeof err) != CL_OK) {
        aws_fault_set(&op->f, 400, "MalformedPolicy", "%s", err);
    } else if (policy_unsupported_key(p)) {
        aws_fault_set(&op->f, 400, "MalformedPolicy", "Policy has an invalid condition key: %s",
                      policy_unsupported_key(p));
    } else if (s3_effective_pab(op).block_public_policy && policy_is_public(p)) {
        aws_fault_set(
            &op->f, 403, "AccessDenied",
            "User is not authorized to perform: s3:PutBucketPolicy because public policies "
            "are blocked by the BlockPublicPolicy block public access setting.");
    } else {
        char *stored = NULL, *bad = NULL; /* users and roles stored by unique ID */
        if (iam_policy_bind_principals(op->s->m, text, &stored, &bad) != CL_OK)
            aws_fault_set(&op->f, 400, "MalformedPolicy", "Invalid principal in policy");
        else if (s3_bucket_update_guarded(op, "Policy", json_string(stored), "PAB"))
            op->resp->status = 204;
        free(stored);
        free(bad);
    }
    if (p) policy_free(p);
    free(text);
}

void s3_bucket_policy(s3_op *op) {
    const char *m = op->req->method;
    const char *action = strcmp(m, "PUT") == 0   ? "s3:PutBucketPolicy"
                         : strcmp(m, "GET") == 0 ? "s3:GetBucketPolicy"
                                                 : "s3:DeleteBucketPolicy";
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, action, arn, NULL);
    free(arn);
    if (!ok) return;
    const char *cur = json_string_value(json_object_get(op->bucket_doc, "Policy"));
    if (strcmp(m, "PUT") == 0) {
        put_bucket_policy(op);
    } else if (strcmp(m, "GET") == 0) {
        if (!cur) {
            aws_fault_set(&op->f, 404, "NoSuchBucketPolicy", "The bucket policy does not exist");
            return;
        }
        char *shown = iam_policy_render_principals(op->s->m, cur);
        buf_append_cstr(&op->resp->body, shown);
        free(shown);
        http_set_header(op->resp, "Content-Type", "application/json");
        op->resp->status = 200;
    } else if (strcmp(m, "DELETE") == 0) {
        if (s3_bucket_update(op, "Policy", NULL)) op->resp->status = 204;
    } else {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
}

/* IsPublic says whether the policy itself is public (AWS's definition),
 * whatever Block Public Access currently restricts. */
void s3_get_bucket_policy_status(s3_op *op) {
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, "s3:GetBucketPolicyStatus", arn, NULL);
    free(arn);
    if (!ok) return;
    const char *text = json_string_value(json_object_get(op->bucket_doc, "Policy"));
    policy *p = NULL;
    char err[64];
    bool pub = text &&
               policy_parse(slice_cstr(text), POLICY_RESOURCE, &p, err, sizeof err) == CL_OK &&
               policy_is_public(p);
    if (p) policy_free(p);
    s3_xml_begin(op, "PolicyStatus");
    xml_text(&op->resp->body, "IsPublic", pub ? "true" : "false");
    s3_xml_end(op, "PolicyStatus");
}

static void put_pab(s3_op *op) {
    s3_public_access_block pab;
    s3_xml_error xe = {0};
    if (s3_xml_parse_public_access_block(buf_slice(&op->req->body), &pab, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    if (s3_bucket_update(op, "PAB", s3_pab_to_json(pab))) op->resp->status = 200;
}

void s3_pab_respond(s3_op *op, s3_pab p, const char *ns) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin_ns(op, "PublicAccessBlockConfiguration", ns);
    xml_text(o, "BlockPublicAcls", p.block_public_acls ? "true" : "false");
    xml_text(o, "IgnorePublicAcls", p.ignore_public_acls ? "true" : "false");
    xml_text(o, "BlockPublicPolicy", p.block_public_policy ? "true" : "false");
    xml_text(o, "RestrictPublicBuckets", p.restrict_public_buckets ? "true" : "false");
    s3_xml_end(op, "PublicAccessBlockConfiguration");
}

/* The bucket's own setting, as AWS answers it (not the account's). */
static void get_pab(s3_op *op) {
    if (!json_object_get(op->bucket_doc, "PAB")) {
        aws_fault_set(&op->f, 404, "NoSuchPublicAccessBlockConfiguration",
                      "The public access block configuration was not found");
        return;
    }
    s3_pab_respond(op, s3_bucket_pab(op->bucket_doc), S3_XML_NS);
}

void s3_bucket_public_access_block(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0;
    const char *action = get ? "s3:GetBucketPublicAccessBlock" : "s3:PutBucketPublicAccessBlock";
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, action, arn, NULL);
    free(arn);
    if (!ok) return;
    if (get) {
        get_pab(op);
    } else if (strcmp(m, "PUT") == 0) {
        put_pab(op);
    } else if (strcmp(m, "DELETE") == 0) {
        if (s3_bucket_update(op, "PAB", NULL)) op->resp->status = 204;
    } else {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
}

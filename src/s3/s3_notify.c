/* s3_notify.c — bucket notification configurations:
 * PutBucketNotificationConfiguration / GetBucketNotificationConfiguration
 * (PUT/GET /bucket?notification), owner-only (s3_core.c OWNER_ONLY).
 *
 * The configuration lives in the bucket document as "Notification":
 *   {"Configurations": [{"Type": "lambda"|"queue", "Id", "Arn", "Events": [...],
 *                        "Prefix"?, "Suffix"?}], "EventBridge"?: true}
 * so the transaction that commits an object, which already reads the bucket
 * document to check its Id, sees the configuration at no extra cost
 * (s3_event.c), and DeleteBucket drops it with the bucket. An empty document
 * removes the member. The destination of each configuration is checked by the
 * checker the CLI installs (s3_set_notify_check: does the app or queue exist
 * and may the bucket owner use it?); x-amz-skip-destination-validation: true
 * skips it, as on AWS. EventBridgeConfiguration is stored and answered back
 * but delivers nothing. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3_set_notify_check(s3 *s, s3_notify_check_fn fn, void *ctx) {
    s->notify_check = fn;
    s->notify_ctx = ctx;
}

/* AWS assigns a random Id to a configuration without one (e.g.
 * "NGY0ZTM3ZDYtZjJkYi00..."): base64 of a random UUID's text. */
static json_t *generated_id(void) {
    uint8_t r[16];
    crypto_random(r, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    char hex[33], uuid[37];
    hex_encode_to(hex, r, sizeof r);
    snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_cstr(uuid));
    json_t *id = json_string(buf_cstr(&b));
    buf_free(&b);
    return id;
}

static const char *type_name(s3_notify_kind k) {
    return k == S3_NOTIFY_LAMBDA ? "lambda" : "queue";
}

/* AWS answers an unusable destination with InvalidArgument and the details
 * in ArgumentName (the ARN) and ArgumentValue (why). */
static void destination_refused(s3_op *op, const char *arn, const char *why) {
    aws_fault_set(&op->f, 400, "InvalidArgument",
                  "Unable to validate the following destination configurations");
    s3_respond_fault(op);
    aws_error_detail(op->resp, "ArgumentName", arn);
    aws_error_detail(op->resp, "ArgumentValue", why);
    op->f = (aws_fault){0}; /* answered */
}

static json_t *config_json(const s3_notify_config *c) {
    json_t *events = json_array();
    for (size_t i = 0; i < c->n_events; i++)
        json_array_append_new(events, json_string(c->events[i]));
    json_t *j =
        json_pack("{s:s, s:o, s:s, s:o}", "Type", type_name(c->kind), "Id",
                  c->id ? json_string(c->id) : generated_id(), "Arn", c->arn, "Events", events);
    if (c->prefix) json_object_set_new(j, "Prefix", json_string(c->prefix));
    if (c->suffix) json_object_set_new(j, "Suffix", json_string(c->suffix));
    return j;
}

/* The stored document for n, or NULL (nothing configured); NULL with the
 * response answered when a destination is refused. */
static bool notification_json(s3_op *op, const s3_notification *n, json_t **out) {
    *out = NULL;
    if (n->len == 0 && !n->eventbridge) return true;
    const char *owner = json_string_value(json_object_get(op->bucket_doc, "Owner"));
    const char *skip = kvlist_get_ci(&op->req->headers, "x-amz-skip-destination-validation");
    bool check = op->s->notify_check && !(skip && strcasecmp(skip, "true") == 0);
    json_t *configs = json_array();
    for (size_t i = 0; i < n->len; i++) {
        const s3_notify_config *c = &n->configs[i];
        char msg[256] = "";
        if (check && op->s->notify_check(op->s->notify_ctx, type_name(c->kind), c->arn,
                                         owner ? owner : "", msg, sizeof msg) != CL_OK) {
            destination_refused(op, c->arn, *msg ? msg : "the destination could not be used");
            json_decref(configs);
            return false;
        }
        json_array_append_new(configs, config_json(c));
    }
    *out = json_pack("{s:o}", "Configurations", configs);
    if (n->eventbridge) json_object_set_new(*out, "EventBridge", json_true());
    return true;
}

static void put_notification(s3_op *op) {
    s3_notification n;
    s3_xml_error xe = {0};
    if (s3_xml_parse_notification(buf_slice(&op->req->body), &n, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    json_t *doc = NULL;
    if (notification_json(op, &n, &doc) && s3_bucket_update(op, "Notification", doc))
        op->resp->status = 200;
    s3_notification_free(&n);
}

static void filter_rule(cl_buf *o, const char *name, json_t *value) {
    if (!json_is_string(value)) return;
    xml_open(o, "FilterRule");
    xml_text(o, "Name", name); /* AWS answers "Prefix"/"Suffix" (aws/aws-sdk#389) */
    xml_text(o, "Value", json_string_value(value));
    xml_close(o, "FilterRule");
}

static void config_xml(cl_buf *o, json_t *c) {
    const char *type = json_string_value(json_object_get(c, "Type"));
    bool lambda = type && strcmp(type, "lambda") == 0;
    const char *el = lambda ? "CloudFunctionConfiguration" : "QueueConfiguration";
    xml_open(o, el);
    xml_text(o, "Id", json_string_value(json_object_get(c, "Id")));
    xml_text(o, lambda ? "CloudFunction" : "Queue", json_string_value(json_object_get(c, "Arn")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c, "Events"), i, e)
        xml_text(o, "Event", json_string_value(e));
    json_t *prefix = json_object_get(c, "Prefix"), *suffix = json_object_get(c, "Suffix");
    if (prefix || suffix) {
        xml_open(o, "Filter");
        xml_open(o, "S3Key");
        filter_rule(o, "Prefix", prefix);
        filter_rule(o, "Suffix", suffix);
        xml_close(o, "S3Key");
        xml_close(o, "Filter");
    }
    xml_close(o, el);
}

static void get_notification(s3_op *op) {
    json_t *n = json_object_get(op->bucket_doc, "Notification");
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "NotificationConfiguration");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(n, "Configurations"), i, c) config_xml(o, c);
    if (json_is_true(json_object_get(n, "EventBridge")))
        buf_append_cstr(o, "<EventBridgeConfiguration></EventBridgeConfiguration>");
    s3_xml_end(op, "NotificationConfiguration");
}

void s3_bucket_notification(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0;
    if (!get && strcmp(m, "PUT") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = get ? "GetBucketNotificationConfiguration" : "PutBucketNotificationConfiguration";
    char *arn = s3_bucket_arn(op->bucket);
    bool ok =
        s3_load_bucket(op) &&
        s3_authorize(op, get ? "s3:GetBucketNotification" : "s3:PutBucketNotification", arn, NULL);
    free(arn);
    if (!ok) return;
    if (get)
        get_notification(op);
    else
        put_notification(op);
}

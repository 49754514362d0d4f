/* s3_notify_xml.c — the NotificationConfiguration body of
 * PutBucketNotificationConfiguration (PUT /bucket?notification): its schema on
 * the shared expat layer (s3_xs.h), then S3's semantic checks (events, filter
 * rules, destination ARNs, overlapping configurations). See s3_xml.h for the
 * document and the errors. */
#include "s3/s3_xs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char MSG_OVERLAP[] = "Configurations overlap. Configurations on the same bucket "
                                  "cannot share a common event type.";

/* The event types S3 accepts in a configuration (AWS, "Supported event types
 * for SQS, SNS, and Lambda"). Cloister emits the ObjectCreated and
 * ObjectRemoved ones; the others are stored and never fire. */
static const char *const EVENTS[] = {
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
};

/* ---- hooks ---- */

static cl_err config_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)text;
    s3_notification *n = x->out;
    n->configs = s3_xs_grow(x, n->configs, n->len, sizeof *n->configs);
    s3_notify_config *c = &n->configs[n->len++];
    memset(c, 0, sizeof *c);
    c->kind = (s3_notify_kind)el->arg;
    *target = c;
    return CL_OK;
}

static cl_err event_end(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)x, (void)el;
    s3_notify_config *c = *target;
    c->events = cl_realloc(c->events, (c->n_events + 1) * sizeof *c->events);
    c->events[c->n_events++] = slice_dup(text);
    return CL_OK;
}

static cl_err rule_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)x, (void)el, (void)text;
    s3_notify_config *c = *target;
    c->rules = cl_realloc(c->rules, (c->n_rules + 1) * sizeof *c->rules);
    s3_notify_rule *r = &c->rules[c->n_rules++];
    memset(r, 0, sizeof *r);
    *target = r;
    return CL_OK;
}

static cl_err eventbridge_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)target, (void)text;
    ((s3_notification *)x->out)->eventbridge = true;
    return CL_OK;
}

/* ---- schema ---- */

static const xs_elem RULE_KIDS[] = {
    LEAF("Name", XS_ONCE, s3_xs_set_str, s3_notify_rule, name),
    LEAF("Value", XS_ONCE, s3_xs_set_str, s3_notify_rule, value),
    END,
};
static const xs_elem S3KEY_KIDS[] = {{"FilterRule", RULE_KIDS, 0, rule_start, NULL, 0}, END};
static const xs_elem FILTER_KIDS[] = {{"S3Key", S3KEY_KIDS, XS_ONCE, NULL, NULL, 0}, END};

#define CONFIG_KIDS(dest)                                                                          \
    {                                                                                              \
        LEAF("Id", XS_ONCE, s3_xs_set_str, s3_notify_config, id),                                  \
            LEAF(dest, XS_ONCE | XS_REQUIRED, s3_xs_set_str, s3_notify_config, arn),               \
            {"Event", NULL, XS_REQUIRED, NULL, event_end, 0},                                      \
            {"Filter", FILTER_KIDS, XS_ONCE, NULL, NULL, 0}, END                                   \
    }

static const xs_elem QUEUE_KIDS[] = CONFIG_KIDS("Queue");
static const xs_elem LAMBDA_KIDS[] = CONFIG_KIDS("CloudFunction");
static const xs_elem TOPIC_KIDS[] = CONFIG_KIDS("Topic");
static const xs_elem NONE_KIDS[] = {END};

static const xs_elem NOTIFICATION_KIDS[] = {
    {"TopicConfiguration", TOPIC_KIDS, 0, config_start, NULL, S3_NOTIFY_TOPIC},
    {"QueueConfiguration", QUEUE_KIDS, 0, config_start, NULL, S3_NOTIFY_QUEUE},
    {"CloudFunctionConfiguration", LAMBDA_KIDS, 0, config_start, NULL, S3_NOTIFY_LAMBDA},
    {"EventBridgeConfiguration", NONE_KIDS, XS_ONCE, eventbridge_start, NULL, 0},
    END,
};
static const xs_elem NOTIFICATION_ROOT = {
    "NotificationConfiguration", NOTIFICATION_KIDS, 0, NULL, NULL, 0};

/* ---- semantic checks ---- */

static bool known_event(const char *e) {
    for (size_t i = 0; i < sizeof EVENTS / sizeof *EVENTS; i++)
        if (strcmp(EVENTS[i], e) == 0) return true;
    return false;
}

bool s3_notify_event_covers(const char *configured, const char *event) {
    size_t n = strlen(configured);
    if (n >= 2 && strcmp(configured + n - 2, ":*") == 0)
        return strncmp(configured, event, n - 1) == 0; /* "s3:ObjectCreated:" */
    return strcmp(configured, event) == 0;
}

static bool events_overlap(const char *a, const char *b) {
    return s3_notify_event_covers(a, b) || s3_notify_event_covers(b, a);
}

/* An ARN arn:aws:SERVICE:REGION:ACCOUNT:REST with non-empty parts, a 12-digit
 * account, and REST "function:NAME" for Lambda (an optional :QUALIFIER kept). */
static bool arn_ok(s3_notify_kind kind, const char *arn) {
    static const char *const SVC[] = {[S3_NOTIFY_QUEUE] = "arn:aws:sqs:",
                                      [S3_NOTIFY_LAMBDA] = "arn:aws:lambda:",
                                      [S3_NOTIFY_TOPIC] = "arn:aws:sns:"};
    size_t n = strlen(SVC[kind]);
    if (!arn || strncmp(arn, SVC[kind], n) != 0 || strlen(arn) > 2048) return false;
    const char *region = arn + n, *colon = strchr(region, ':');
    if (!colon || colon == region) return false;
    const char *account = colon + 1;
    colon = strchr(account, ':');
    if (!colon || colon - account != 12 || strspn(account, "0123456789") != 12) return false;
    const char *rest = colon + 1;
    if (kind == S3_NOTIFY_LAMBDA) {
        if (strncmp(rest, "function:", 9) != 0) return false;
        rest += 9;
    }
    return *rest && *rest != ':' && !strpbrk(rest, " \t\r\n/");
}

static cl_err rules_validate(s3_notify_config *c, s3_xml_error *err) {
    for (size_t i = 0; i < c->n_rules; i++) {
        const s3_notify_rule *r = &c->rules[i];
        const char *v = r->value ? r->value : "";
        if (strlen(v) > S3_MAX_KEY_BYTES)
            return s3_xs_fail(err, "InvalidArgument",
                              "The filter rule value is longer than the maximum key length.");
        bool prefix = r->name && strcasecmp(r->name, "prefix") == 0;
        if (!prefix && !(r->name && strcasecmp(r->name, "suffix") == 0))
            return s3_xs_fail(err, "InvalidArgument",
                              "filter rule name must be either prefix or suffix");
        const char **slot = prefix ? &c->prefix : &c->suffix;
        if (*slot)
            return s3_xs_fail(err, "InvalidArgument",
                              prefix ? "Cannot specify more than one prefix rule in a filter."
                                     : "Cannot specify more than one suffix rule in a filter.");
        *slot = v;
    }
    return CL_OK;
}

static bool affix_overlap(const char *a, const char *b, bool suffix) {
    a = a ? a : "";
    b = b ? b : "";
    size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;
    if (!suffix) return strncmp(a, b, n) == 0;
    return memcmp(a + na - n, b + nb - n, n) == 0;
}

/* AWS's rule: two configurations conflict if they share an event type and a
 * key could match both filters (one prefix a prefix of the other and one
 * suffix a suffix of the other; an absent rule matches everything). */
static bool configs_overlap(const s3_notify_config *a, const s3_notify_config *b) {
    if (!affix_overlap(a->prefix, b->prefix, false) || !affix_overlap(a->suffix, b->suffix, true))
        return false;
    for (size_t i = 0; i < a->n_events; i++)
        for (size_t j = 0; j < b->n_events; j++)
            if (events_overlap(a->events[i], b->events[j])) return true;
    return false;
}

static cl_err notification_validate(s3_notification *n, s3_xml_error *err) {
    for (size_t i = 0; i < n->len; i++) {
        s3_notify_config *c = &n->configs[i];
        for (size_t j = 0; j < c->n_events; j++)
            if (!known_event(c->events[j]))
                return s3_xs_fail(err, "InvalidArgument",
                                  "The event is not supported for notifications");
        CL_TRY(rules_validate(c, err));
        if (c->id && strlen(c->id) > 1024)
            return s3_xs_fail(err, "InvalidArgument", "The Id is longer than 1024 characters.");
        if (!arn_ok(c->kind, c->arn))
            return s3_xs_fail(err, "InvalidArgument", "The ARN is not well formed");
    }
    for (size_t i = 0; i < n->len; i++)
        if (n->configs[i].kind == S3_NOTIFY_TOPIC) /* no SNS here to deliver to */
            return s3_xs_fail(err, "InvalidArgument",
                              "Unable to validate the following destination configurations");
    for (size_t i = 0; i < n->len; i++)
        for (size_t j = i + 1; j < n->len; j++)
            if (configs_overlap(&n->configs[i], &n->configs[j]))
                return s3_xs_fail(err, "InvalidArgument", MSG_OVERLAP);
    return CL_OK;
}

void s3_notification_free(s3_notification *n) {
    for (size_t i = 0; i < n->len; i++) {
        s3_notify_config *c = &n->configs[i];
        free(c->id);
        free(c->arn);
        for (size_t j = 0; j < c->n_events; j++)
            free(c->events[j]);
        free(c->events);
        for (size_t j = 0; j < c->n_rules; j++) {
            free(c->rules[j].name);
            free(c->rules[j].value);
        }
        free(c->rules);
    }
    free(n->configs);
    memset(n, 0, sizeof *n);
}

cl_err s3_xml_parse_notification(cl_slice body, s3_notification *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = s3_xs_parse(body, S3_XML_MAX_NOTIFICATION_BODY, &NOTIFICATION_ROOT, out, err);
    if (e == CL_OK) e = notification_validate(out, err);
    if (e != CL_OK) s3_notification_free(out);
    return e;
}

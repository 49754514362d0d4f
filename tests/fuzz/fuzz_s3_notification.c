/* fuzz_s3_notification.c — libFuzzer target for the NotificationConfiguration
 * parser (src/s3/s3_notify_xml.c). Must never crash, read out of bounds or
 * leak; a failure names an S3 error code and leaves the result empty; a
 * success keeps s3_xml.h's promises: every configuration has a destination of
 * its kind, at least one known event, at most one prefix and one suffix rule,
 * no TopicConfiguration, and no two configurations overlap. */
#include "s3/s3_xml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static bool covers_both(const s3_notify_config *a, const s3_notify_config *b) {
    for (size_t i = 0; i < a->n_events; i++)
        for (size_t j = 0; j < b->n_events; j++)
            if (s3_notify_event_covers(a->events[i], b->events[j]) ||
                s3_notify_event_covers(b->events[j], a->events[i]))
                return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    s3_notification n;
    s3_xml_error err = {0};
    if (s3_xml_parse_notification(slice_of(data, size), &n, &err) != CL_OK) {
        CHECK(err.code && n.len == 0 && n.configs == NULL);
        return 0;
    }
    for (size_t i = 0; i < n.len; i++) {
        const s3_notify_config *c = &n.configs[i];
        CHECK(c->kind != S3_NOTIFY_TOPIC && c->arn && c->n_events >= 1);
        CHECK(strncmp(c->arn, c->kind == S3_NOTIFY_LAMBDA ? "arn:aws:lambda:" : "arn:aws:sqs:",
                      c->kind == S3_NOTIFY_LAMBDA ? 15 : 12) == 0);
        CHECK(c->n_rules <= 2);
        for (size_t j = 0; j < c->n_events; j++)
            CHECK(strncmp(c->events[j], "s3:", 3) == 0);
        for (size_t j = 0; j < i; j++) {
            const s3_notify_config *o = &n.configs[j];
            const char *pa = c->prefix ? c->prefix : "", *pb = o->prefix ? o->prefix : "";
            const char *sa = c->suffix ? c->suffix : "", *sb = o->suffix ? o->suffix : "";
            size_t lp = strlen(pa) < strlen(pb) ? strlen(pa) : strlen(pb);
            size_t ls = strlen(sa) < strlen(sb) ? strlen(sa) : strlen(sb);
            bool pfx = strncmp(pa, pb, lp) == 0;
            bool sfx = memcmp(sa + strlen(sa) - ls, sb + strlen(sb) - ls, ls) == 0;
            CHECK(!(pfx && sfx && covers_both(c, o)));
        }
    }
    s3_notification_free(&n);
    return 0;
}

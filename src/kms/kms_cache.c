/* kms_cache.c — parsed key documents and their parsed key policies, by key
 * id, so a busy key is not read from SQLite, parsed and its policy re-parsed
 * on every Encrypt/Decrypt. An entry is valid while the meta store's write
 * counter is unchanged (any write anywhere invalidates everything: simple and
 * never stale; a PostgreSQL scale-out needs its own invalidation, as the IAM
 * auth cache does).
 *
 * Sharing: a cached document is handed out with json_incref and marked shared;
 * whoever changes a key calls kms_key_own first (kms_key_set/kms_key_del do),
 * which swaps in a private deep copy, so the cached one is never modified. The
 * parsed policy is refcounted and released by kms_key_free. */
#include "kms/kms_internal.h"

#include <stdlib.h>
#include <string.h>

#define SLOTS 64

struct kms_policy_ref {
    int refs; /* under the cache lock */
    policy *p;
};

typedef struct {
    char uuid[KMS_KEY_ID_LEN + 1];
    uint64_t seq;
    json_t *doc;
    kms_policy_ref *pol;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *uuid) {
    size_t h = 5381;
    for (const char *c = uuid; *c; c++)
        h = h * 33 + (unsigned char)*c;
    return h % SLOTS;
}

static void ref_release_locked(kms_policy_ref *r) {
    if (r && --r->refs == 0) {
        policy_free(r->p);
        free(r);
    }
}

void kms_policy_ref_release(kms_policy_ref *r) {
    if (!r) return;
    pthread_mutex_lock(&lock);
    ref_release_locked(r);
    pthread_mutex_unlock(&lock);
}

const policy *kms_policy_ref_get(const kms_policy_ref *r) {
    return r ? r->p : NULL;
}

static kms_policy_ref *parse_policy(const json_t *doc) {
    const char *text = json_string_value(json_object_get(doc, "Policy"));
    policy *p = NULL;
    char err[256];
    if (!text || policy_parse(slice_cstr(text), POLICY_RESOURCE, &p, err, sizeof err) != CL_OK)
        return NULL; /* kms_authz reports it and grants nothing */
    kms_policy_ref *r = cl_calloc(1, sizeof *r);
    r->refs = 1;
    r->p = p;
    return r;
}

bool kms_cache_get(kms *k, const char *uuid, json_t **doc, kms_policy_ref **pol) {
    uint64_t seq = store_write_seq(k->st);
    bool hit = false;
    pthread_mutex_lock(&lock);
    slot *s = &slots[slot_of(uuid)];
    if (s->doc && s->seq == seq && strcmp(s->uuid, uuid) == 0) {
        *doc = json_incref(s->doc);
        *pol = s->pol;
        if (s->pol) s->pol->refs++;
        hit = true;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

/* Caches a freshly loaded document (read at write counter `seq`) and returns
 * its parsed policy (a reference for the caller). */
kms_policy_ref *kms_cache_put(kms *k, const char *uuid, json_t *doc, uint64_t seq) {
    kms_policy_ref *pol = parse_policy(doc);
    pthread_mutex_lock(&lock);
    if (pol) pol->refs++; /* the caller's */
    slot *s = &slots[slot_of(uuid)];
    json_decref(s->doc);
    ref_release_locked(s->pol);
    snprintf(s->uuid, sizeof s->uuid, "%s", uuid);
    s->seq = seq;
    s->doc = json_incref(doc);
    s->pol = pol;
    pthread_mutex_unlock(&lock);
    (void)k;
    return pol;
}

void kms_cache_clear(void) {
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SLOTS; i++) {
        json_decref(slots[i].doc);
        ref_release_locked(slots[i].pol);
        memset(&slots[i], 0, sizeof slots[i]);
    }
    pthread_mutex_unlock(&lock);
}

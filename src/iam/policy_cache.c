/* policy_cache.c — the parsed identity policies of a user or role, kept in
 * memory so authorizing a request costs no store listing and no JSON parse.
 * Like the authentication cache it is valid only while the meta store's write
 * sequence is unchanged, so any IAM change (a policy put, attached, detached or
 * edited) is seen by the next request. Entries are shared by reference count:
 * a request keeps using the set it got even if another thread replaces it. */
#include "iam/iam_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 256

struct iam_policy_ref {
    iam_policy_set set;
    int refs; /* under the cache lock */
};

typedef struct {
    char key[160];
    uint64_t seq;
    iam_policy_ref *ref;
} slot;

struct iam_policy_cache {
    pthread_mutex_t lock;
    slot slots[SLOTS];
};

iam_policy_cache *iam_policy_cache_new(void) {
    iam_policy_cache *c = cl_calloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void unref_locked(iam_policy_ref *r) {
    if (r && --r->refs == 0) {
        iam_policy_set_free(&r->set);
        free(r);
    }
}

void iam_policy_cache_free(iam_policy_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < SLOTS; i++)
        unref_locked(c->slots[i].ref);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void iam_policy_release(iam *m, iam_policy_ref *r) {
    if (!r) return;
    pthread_mutex_lock(&m->policy_cache->lock);
    unref_locked(r);
    pthread_mutex_unlock(&m->policy_cache->lock);
}

static slot *slot_for(iam_policy_cache *c, const char *key) {
    uint64_t h = 1469598103934665603u;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211u;
    return &c->slots[h % SLOTS];
}

iam_policy_ref *iam_policy_acquire(iam *m, const iam_caller *c) {
    char key[160];
    if (c->p.type == PRINCIPAL_USER && c->username)
        snprintf(key, sizeof key, "u/%s/%s", c->account, c->username);
    else if (c->p.type == PRINCIPAL_ASSUMED_ROLE && c->role_name)
        snprintf(key, sizeof key, "r/%s/%s", c->account, c->role_name);
    else
        return NULL;
    iam_policy_cache *pc = m->policy_cache;
    uint64_t seq = store_write_seq(m->st);
    pthread_mutex_lock(&pc->lock);
    slot *s = slot_for(pc, key);
    if (s->ref && s->seq == seq && strcmp(s->key, key) == 0) {
        s->ref->refs++;
        iam_policy_ref *hit = s->ref;
        pthread_mutex_unlock(&pc->lock);
        return hit;
    }
    pthread_mutex_unlock(&pc->lock);
    iam_policy_ref *r = cl_calloc(1, sizeof *r);
    iam_load_identity_policies(m, c, &r->set);
    r->refs = 2; /* the caller's and the slot's */
    pthread_mutex_lock(&pc->lock);
    unref_locked(s->ref);
    s->ref = r;
    s->seq = seq;
    snprintf(s->key, sizeof s->key, "%s", key);
    pthread_mutex_unlock(&pc->lock);
    return r;
}

const iam_policy_set *iam_policy_ref_set(const iam_policy_ref *r) {
    return r ? &r->set : NULL;
}

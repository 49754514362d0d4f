/* auth_cache.c — what authenticating a request needs to know about an access
 * key (its secret, status or session token and expiry, and who it belongs to),
 * plus the SigV4 signing key last derived for it, kept in memory so a signed
 * request costs no store lookup, no JSON parse and no HMAC chain for the key.
 *
 * Correctness over hit rate: an entry is used only while the meta store's write
 * sequence equals the one read before the entry was loaded, so any write (a key
 * deleted or deactivated, a user removed, a session created) invalidates every
 * entry at once. Direct-mapped slots under one short lock; secrets zeroised. */
#include "iam/iam_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024

typedef struct {
    char akid[24];
    uint64_t seq;
    bool used;
    iam_key_info info;
    char kscope[96]; /* date/region/service the cached signing key is for */
    uint8_t key[32];
    bool has_key;
} slot;

struct iam_auth_cache {
    pthread_mutex_t lock;
    slot slots[SLOTS];
};

static char *dup0(const char *s) {
    return s ? cl_strdup(s) : NULL;
}

void iam_key_info_free(iam_key_info *k) {
    cl_free_secret(k->secret);
    cl_free_secret(k->token);
    free(k->account);
    free(k->arn);
    free(k->userid);
    free(k->username);
    free(k->role_arn);
    free(k->role_name);
    free(k->session_name);
    free(k->session_policy);
    memset(k, 0, sizeof *k);
}

void iam_key_info_copy(iam_key_info *dst, const iam_key_info *src) {
    *dst = *src;
    dst->secret = dup0(src->secret);
    dst->token = dup0(src->token);
    dst->account = dup0(src->account);
    dst->arn = dup0(src->arn);
    dst->userid = dup0(src->userid);
    dst->username = dup0(src->username);
    dst->role_arn = dup0(src->role_arn);
    dst->role_name = dup0(src->role_name);
    dst->session_name = dup0(src->session_name);
    dst->session_policy = dup0(src->session_policy);
}

iam_auth_cache *iam_auth_cache_new(void) {
    iam_auth_cache *c = cl_calloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void slot_clear(slot *s) {
    iam_key_info_free(&s->info);
    cl_cleanse(s->key, sizeof s->key);
    memset(s, 0, sizeof *s);
}

void iam_auth_cache_free(iam_auth_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < SLOTS; i++)
        slot_clear(&c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static slot *slot_for(iam_auth_cache *c, const char *akid) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const char *p = akid; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211u;
    return &c->slots[h % SLOTS];
}

bool iam_auth_cache_get(iam_auth_cache *c, const char *akid, uint64_t seq, const char *kscope,
                        iam_key_info *out, uint8_t key[32], bool *has_key) {
    pthread_mutex_lock(&c->lock);
    slot *s = slot_for(c, akid);
    bool hit = s->used && s->seq == seq && strcmp(s->akid, akid) == 0;
    if (hit) {
        iam_key_info_copy(out, &s->info);
        *has_key = s->has_key && strcmp(s->kscope, kscope) == 0;
        if (*has_key) memcpy(key, s->key, 32);
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void iam_auth_cache_put(iam_auth_cache *c, const char *akid, uint64_t seq,
                        const iam_key_info *info) {
    if (strlen(akid) >= sizeof((slot *)0)->akid) return;
    pthread_mutex_lock(&c->lock);
    slot *s = slot_for(c, akid);
    slot_clear(s);
    snprintf(s->akid, sizeof s->akid, "%s", akid);
    s->seq = seq;
    s->used = true;
    iam_key_info_copy(&s->info, info);
    pthread_mutex_unlock(&c->lock);
}

void iam_auth_cache_put_key(iam_auth_cache *c, const char *akid, uint64_t seq, const char *kscope,
                            const uint8_t key[32]) {
    pthread_mutex_lock(&c->lock);
    slot *s = slot_for(c, akid);
    if (s->used && s->seq == seq && strcmp(s->akid, akid) == 0 &&
        strlen(kscope) < sizeof s->kscope) {
        snprintf(s->kscope, sizeof s->kscope, "%s", kscope);
        memcpy(s->key, key, 32);
        s->has_key = true;
    }
    pthread_mutex_unlock(&c->lock);
}

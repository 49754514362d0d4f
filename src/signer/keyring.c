/* keyring.c — the in-memory keyring: pubkey -> secret key, for 10,000+ keys.
 * Entries live in one array; an open-addressing hash table (linear probing,
 * load <= 1/2, hashed on the pubkey's bytes, which are uniformly random) maps
 * a pubkey to its entry in O(1). A pthread rwlock lets signers share the
 * keyring (reader lock, held while signing so a concurrent disable cannot
 * zeroise a key mid-signature) while add/disable take the writer lock.
 * When signer_keyring_disable returns, no signature with that key is in flight.
 * Disabled keys keep their entry (state, origin) with the secret zeroised, so
 * later requests get 412 rather than 404. Every secret is zeroised on free. */
#include "signer/keys_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t pk[SIGNER_PK_LEN];
    uint8_t sk[SIGNER_SK_LEN];
    signer_key_state state;
    signer_key_source src;
    char *origin;
} kr_entry;

struct signer_keyring {
    pthread_rwlock_t lock;
    kr_entry *e;
    size_t n, cap;
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t nslots;   /* power of 2 */
};

static uint64_t kr_hash(const uint8_t pk[SIGNER_PK_LEN]) {
    uint64_t h;
    memcpy(&h, pk + 8, sizeof h); /* past the flag bits of byte 0 */
    return h ^ (h >> 29);
}

static size_t kr_find_slot(const signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]) {
    size_t mask = k->nslots - 1, i = (size_t)kr_hash(pk) & mask;
    while (k->slots[i] && memcmp(k->e[k->slots[i] - 1].pk, pk, SIGNER_PK_LEN) != 0)
        i = (i + 1) & mask;
    return i;
}

static kr_entry *kr_get(const signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]) {
    uint32_t s = k->slots[kr_find_slot(k, pk)];
    return s ? &k->e[s - 1] : NULL;
}

static void kr_rehash(signer_keyring *k, size_t nslots) {
    free(k->slots);
    k->nslots = nslots;
    k->slots = cl_calloc(nslots, sizeof *k->slots);
    for (size_t i = 0; i < k->n; i++)
        k->slots[kr_find_slot(k, k->e[i].pk)] = (uint32_t)(i + 1);
}

signer_keyring *signer_keyring_new(void) {
    signer_keyring *k = cl_calloc(1, sizeof *k);
    /* writers first: a reload or a DELETE is not starved by a steady stream of
     * signers (glibc prefers readers by default) */
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#ifdef __GLIBC__
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&k->lock, &a);
    pthread_rwlockattr_destroy(&a);
    kr_rehash(k, 64);
    return k;
}

void signer_keyring_free(signer_keyring *k) {
    if (!k) return;
    for (size_t i = 0; i < k->n; i++)
        free(k->e[i].origin);
    if (k->e) cl_cleanse(k->e, k->cap * sizeof *k->e);
    free(k->e);
    free(k->slots);
    pthread_rwlock_destroy(&k->lock);
    free(k);
}

static cl_err kr_add(signer_keyring *k, const uint8_t sk[SIGNER_SK_LEN], signer_key_source src,
                     const char *origin, bool revive, uint8_t pk_out[SIGNER_PK_LEN]) {
    uint8_t pk[SIGNER_PK_LEN];
    CL_TRY(signer_bls_pubkey(sk, pk));
    if (pk_out) memcpy(pk_out, pk, sizeof pk);
    pthread_rwlock_wrlock(&k->lock);
    kr_entry *e = kr_get(k, pk);
    if (e && e->state == SIGNER_KEY_DISABLED && !revive) {
        pthread_rwlock_unlock(&k->lock);
        return CL_ERR_DENIED;
    }
    if (!e) {
        if (k->n == k->cap) { /* grow by copy so the old array is cleansed, never realloc'd */
            size_t cap = k->cap ? k->cap * 2 : 64;
            kr_entry *ne = cl_calloc(cap, sizeof *ne);
            if (k->n) memcpy(ne, k->e, k->n * sizeof *ne);
            if (k->e) cl_cleanse(k->e, k->cap * sizeof *k->e);
            free(k->e);
            k->e = ne, k->cap = cap;
        }
        e = &k->e[k->n++];
        memcpy(e->pk, pk, sizeof pk);
        if (k->n * 2 > k->nslots)
            kr_rehash(k, k->nslots * 2);
        else
            k->slots[kr_find_slot(k, pk)] = (uint32_t)k->n;
    }
    memcpy(e->sk, sk, SIGNER_SK_LEN);
    e->state = SIGNER_KEY_ACTIVE;
    e->src = src;
    free(e->origin);
    e->origin = cl_strdup(origin ? origin : "");
    pthread_rwlock_unlock(&k->lock);
    return CL_OK;
}

cl_err signer_keyring_add(signer_keyring *k, const uint8_t sk[SIGNER_SK_LEN], signer_key_source src,
                          const char *origin, uint8_t pk_out[SIGNER_PK_LEN]) {
    return kr_add(k, sk, src, origin, true, pk_out);
}

cl_err signer_keyring_add_active(signer_keyring *k, const uint8_t sk[SIGNER_SK_LEN],
                                 signer_key_source src, const char *origin,
                                 uint8_t pk_out[SIGNER_PK_LEN]) {
    return kr_add(k, sk, src, origin, false, pk_out);
}

cl_err signer_keyring_secret(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN],
                             uint8_t sk[SIGNER_SK_LEN]) {
    pthread_rwlock_rdlock(&k->lock);
    kr_entry *e = kr_get(k, pk);
    cl_err r = !e ? CL_ERR_NOT_FOUND : e->state != SIGNER_KEY_ACTIVE ? CL_ERR_DENIED : CL_OK;
    if (r == CL_OK) memcpy(sk, e->sk, SIGNER_SK_LEN);
    pthread_rwlock_unlock(&k->lock);
    return r;
}

signer_key_state signer_keyring_state(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]) {
    pthread_rwlock_rdlock(&k->lock);
    kr_entry *e = kr_get(k, pk);
    signer_key_state st = e ? e->state : SIGNER_KEY_UNKNOWN;
    pthread_rwlock_unlock(&k->lock);
    return st;
}

cl_err signer_keyring_sign(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN], cl_slice msg,
                           uint8_t sig[SIGNER_SIG_LEN]) {
    pthread_rwlock_rdlock(&k->lock);
    kr_entry *e = kr_get(k, pk);
    cl_err r = !e                              ? CL_ERR_NOT_FOUND
               : e->state != SIGNER_KEY_ACTIVE ? CL_ERR_DENIED
                                               : signer_bls_sign(e->sk, msg, sig);
    pthread_rwlock_unlock(&k->lock);
    return r;
}

cl_err signer_keyring_disable(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN]) {
    pthread_rwlock_wrlock(&k->lock);
    kr_entry *e = kr_get(k, pk);
    if (e) {
        cl_cleanse(e->sk, sizeof e->sk);
        e->state = SIGNER_KEY_DISABLED;
    }
    pthread_rwlock_unlock(&k->lock);
    return e ? CL_OK : CL_ERR_NOT_FOUND;
}

static int kr_pkcmp(const void *a, const void *b) {
    return memcmp(a, b, SIGNER_PK_LEN);
}

/* Removes, in one pass under the writer lock, the active keys for which
 * (src matches or any_src) and (pk in the sorted list) == listed. */
static size_t kr_remove(signer_keyring *k, bool any_src, signer_key_source src,
                        const uint8_t (*pks)[SIGNER_PK_LEN], size_t n, bool listed) {
    uint8_t(*sorted)[SIGNER_PK_LEN] = cl_malloc((n ? n : 1) * SIGNER_PK_LEN);
    if (!pks) n = 0;
    if (n) memcpy(sorted, pks, n * SIGNER_PK_LEN);
    qsort(sorted, n, SIGNER_PK_LEN, kr_pkcmp);
    pthread_rwlock_wrlock(&k->lock);
    size_t w = 0, removed = 0;
    for (size_t i = 0; i < k->n; i++) {
        kr_entry *e = &k->e[i];
        if (e->state == SIGNER_KEY_ACTIVE && (any_src || e->src == src) &&
            (bsearch(e->pk, sorted, n, SIGNER_PK_LEN, kr_pkcmp) != NULL) == listed) {
            free(e->origin);
            cl_cleanse(e, sizeof *e);
            removed++;
            continue;
        }
        if (w != i) {
            k->e[w] = *e;
            cl_cleanse(e, sizeof *e);
        }
        w++;
    }
    k->n = w;
    if (removed) kr_rehash(k, k->nslots);
    pthread_rwlock_unlock(&k->lock);
    free(sorted);
    return removed;
}

size_t signer_keyring_retain(signer_keyring *k, signer_key_source src,
                             const uint8_t (*keep)[SIGNER_PK_LEN], size_t nkeep) {
    return kr_remove(k, false, src, keep, nkeep, false);
}

size_t signer_keyring_drop(signer_keyring *k, const uint8_t (*pks)[SIGNER_PK_LEN], size_t n) {
    return kr_remove(k, true, SIGNER_SRC_KEYSTORE, pks, n, true);
}

static const signer_keyring *kr_sort_ctx;
static int kr_cmp(const void *a, const void *b) {
    return memcmp(kr_sort_ctx->e[*(const uint32_t *)a].pk, kr_sort_ctx->e[*(const uint32_t *)b].pk,
                  SIGNER_PK_LEN);
}

void signer_keyring_each(signer_keyring *k, signer_key_fn fn, void *arg) {
    static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_rdlock(&k->lock);
    uint32_t *ord = cl_malloc((k->n ? k->n : 1) * sizeof *ord);
    for (size_t i = 0; i < k->n; i++)
        ord[i] = (uint32_t)i;
    pthread_mutex_lock(&sort_mu); /* qsort has no context argument in C11 */
    kr_sort_ctx = k;
    qsort(ord, k->n, sizeof *ord, kr_cmp);
    pthread_mutex_unlock(&sort_mu);
    for (size_t i = 0; i < k->n; i++) {
        const kr_entry *e = &k->e[ord[i]];
        if (!fn(arg, e->pk, e->state, e->src, e->origin)) break;
    }
    free(ord);
    pthread_rwlock_unlock(&k->lock);
}

size_t signer_keyring_count(signer_keyring *k, bool active_only) {
    pthread_rwlock_rdlock(&k->lock);
    size_t c = 0;
    for (size_t i = 0; i < k->n; i++)
        if (!active_only || k->e[i].state == SIGNER_KEY_ACTIVE) c++;
    pthread_rwlock_unlock(&k->lock);
    return c;
}

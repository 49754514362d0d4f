/* slashing.c — EIP-3076 slashing protection as Web3Signer implements it
 * (DbSlashingProtection, BlockValidator, AttestationValidator, DbPruner), on
 * the meta store so it works on every backend.
 *
 * Shape: one small document per validator (slashing_internal.h) holding its
 * watermarks and its records within the pruning window. A check is one store
 * transaction: read the pinned genesis root and the high watermark, then one
 * store_update of the validator's document that applies the rules and records
 * the message; so two concurrent requests (or two instances on one database)
 * never both pass a conflicting check, and a sign never scans other validators
 * or pruned history. Pruning runs inside the same update, so a document never
 * grows beyond the window; the watermarks it raises keep protecting.
 *
 * Concurrency: on SQLite (one writer at a time) concurrent checks share one
 * store_txn (group commit, below). On a shared database (PostgreSQL, several
 * nodes) a check is a store_txn_keyed on its validator ("slashing/<pubkey>"):
 * checks of one validator serialise on every node, others run in parallel.
 * Every writer of a validator's document holds that key (checks, prune, low
 * watermarks) or the whole-store store_txn (first pin of the genesis root,
 * import, export, the high watermark), which excludes every keyed one.
 *
 * Rules, in Web3Signer's order. Block: at/above the high watermark, below the
 * low watermark, or at a slot already signed with another (or an unknown)
 * root: refused; the identical block again: allowed. Attestation: source >
 * target; source or target at/above the high watermark; source or target below
 * the low watermarks; a double vote (same target, other or unknown root); a
 * surround vote either way: refused; the identical one again: allowed. */
#include "signer/slashing_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLP_DEFAULT_PRUNE_EPOCHS                                                                   \
    250 /* Web3Signer's --slashing-protection-pruning-epochs-to-keep                               \
         */
#define SLP_DEFAULT_SLOTS_PER_EPOCH 32

/* ---------- meta documents: the pinned root, the high watermark ---------- */

cl_err slp_gvr_get(store *st, uint8_t gvr[32]) {
    char *doc = NULL;
    CL_TRY(store_get(st, SLP_META_KIND, "", SLP_META_GVR, &doc));
    json_t *o = json_loads(doc, 0, NULL);
    free(doc);
    bool ok = slp_hex_parse(json_string_value(json_object_get(o, "genesis_validators_root")), gvr,
                            SIGNER_ROOT_LEN);
    json_decref(o);
    return ok ? CL_OK : CL_ERR_INVALID;
}

cl_err slp_gvr_pin(signer_slashing *sp, store *st, const uint8_t gvr[32], char *why,
                   size_t whylen) {
    uint8_t pinned[SIGNER_ROOT_LEN];
    pthread_mutex_lock(&sp->lock);
    bool known = sp->gvr_known;
    memcpy(pinned, sp->gvr, sizeof pinned);
    pthread_mutex_unlock(&sp->lock);
    if (!known) {
        cl_err e = slp_gvr_get(st, pinned);
        if (e == CL_ERR_NOT_FOUND) {
            char hex[2 * SIGNER_ROOT_LEN + 1];
            hex_encode_to(hex, gvr, SIGNER_ROOT_LEN);
            char *doc = cl_sprintf("{\"genesis_validators_root\":\"0x%s\"}", hex);
            e = store_insert(st, SLP_META_KIND, "", SLP_META_GVR, doc);
            free(doc);
            return e; /* cached once committed (signer_slashing_genesis_root) */
        }
        if (e != CL_OK) {
            snprintf(why, whylen, "the slashing database cannot be read (%s)", cl_err_str(e));
            return e;
        }
    }
    if (memcmp(pinned, gvr, SIGNER_ROOT_LEN) != 0) {
        char a[2 * SIGNER_ROOT_LEN + 1], b[2 * SIGNER_ROOT_LEN + 1];
        hex_encode_to(a, gvr, SIGNER_ROOT_LEN);
        hex_encode_to(b, pinned, SIGNER_ROOT_LEN);
        snprintf(why, whylen,
                 "genesis_validators_root 0x%s does not match the slashing database's 0x%s", a, b);
        return CL_ERR_CONFLICT;
    }
    return CL_OK;
}

static cl_err hw_read(store *st, bool *has, uint64_t *slot, uint64_t *epoch) {
    char *doc = NULL;
    *has = false;
    cl_err e = store_get(st, SLP_META_KIND, "", SLP_META_HW, &doc);
    if (e == CL_ERR_NOT_FOUND) return CL_OK;
    CL_TRY(e);
    json_t *o = json_loads(doc, 0, NULL);
    free(doc);
    bool hs = false, he = false;
    bool ok = json_is_object(o) && slp_get_u64(o, "slot", &hs, slot) &&
              slp_get_u64(o, "epoch", &he, epoch);
    json_decref(o);
    if (!ok || !hs || !he) return CL_ERR_INVALID;
    *has = true;
    return CL_OK;
}

/* ---------- the checks ---------- */

typedef struct slp_check {
    signer_slashing *sp;
    const uint8_t *pk, *gvr, *root;
    bool is_block;
    uint64_t slot, src, tgt;
    bool has_hw;
    uint64_t hw_slot, hw_epoch;
    cl_err verdict;
    char *why;
    size_t whylen;
    struct slp_check *next; /* group commit: the batch it is in */
    cl_err txn_err;         /* the batch transaction's own failure */
    bool done;
} slp_check;

#define DENY(c, ...) (snprintf((c)->why, (c)->whylen, __VA_ARGS__), CL_ERR_DENIED)

/* CL_OK and *changed when it may be signed; CL_ERR_DENIED otherwise. */
static cl_err rule_block(slp_check *c, slp_hist *h, bool *changed) {
    if (c->has_hw && c->slot >= c->hw_slot)
        return DENY(c, "block slot %" PRIu64 " is at or beyond the high watermark slot %" PRIu64,
                    c->slot, c->hw_slot);
    if (h->has_ls && c->slot < h->ls)
        return DENY(c, "block slot %" PRIu64 " is below the low watermark slot %" PRIu64, c->slot,
                    h->ls);
    bool same = false;
    for (size_t i = slp_block_pos(h, c->slot); i < h->nb && h->b[i].slot == c->slot; i++) {
        if (!h->b[i].has_root || memcmp(h->b[i].root, c->root, SIGNER_ROOT_LEN) != 0)
            return DENY(c,
                        "a block with another signing root was already signed at slot %" PRIu64
                        " (double proposal)",
                        c->slot);
        same = true;
    }
    if (same) return CL_OK; /* the identical block again */
    slp_hist_add_block(h, c->slot, c->root);
    if (!h->has_ls) h->ls = c->slot, h->has_ls = true;
    *changed = true;
    return CL_OK;
}

static cl_err att_surround(slp_check *c, const slp_hist *h) {
    for (size_t i = 0; i < h->na; i++) {
        const slp_att *a = &h->a[i];
        if (a->src < c->src && a->tgt > c->tgt)
            return DENY(c,
                        "attestation %" PRIu64 "->%" PRIu64
                        " is surrounded by the signed attestation %" PRIu64 "->%" PRIu64,
                        c->src, c->tgt, a->src, a->tgt);
        if (a->src > c->src && a->tgt < c->tgt)
            return DENY(c,
                        "attestation %" PRIu64 "->%" PRIu64
                        " surrounds the signed attestation %" PRIu64 "->%" PRIu64,
                        c->src, c->tgt, a->src, a->tgt);
    }
    return CL_OK;
}

static cl_err rule_att(slp_check *c, slp_hist *h, bool *changed) {
    if (c->src > c->tgt)
        return DENY(c, "source epoch %" PRIu64 " is greater than target epoch %" PRIu64, c->src,
                    c->tgt);
    if (c->has_hw && (c->src >= c->hw_epoch || c->tgt >= c->hw_epoch))
        return DENY(c,
                    "attestation %" PRIu64 "->%" PRIu64
                    " is at or beyond the high watermark epoch %" PRIu64,
                    c->src, c->tgt, c->hw_epoch);
    if (h->has_le && c->src < h->lsrc)
        return DENY(c, "source epoch %" PRIu64 " is below the low watermark %" PRIu64, c->src,
                    h->lsrc);
    if (h->has_le && c->tgt < h->ltgt)
        return DENY(c, "target epoch %" PRIu64 " is below the low watermark %" PRIu64, c->tgt,
                    h->ltgt);
    bool same = false;
    for (size_t i = slp_att_pos(h, c->tgt); i > 0 && h->a[i - 1].tgt == c->tgt; i--) {
        const slp_att *a = &h->a[i - 1];
        if (!a->has_root || memcmp(a->root, c->root, SIGNER_ROOT_LEN) != 0)
            return DENY(c,
                        "an attestation with another signing root was already signed for target "
                        "epoch %" PRIu64 " (double vote)",
                        c->tgt);
        same = true;
    }
    CL_TRY(att_surround(c, h));
    if (same) return CL_OK;
    slp_hist_add_att(h, c->src, c->tgt, c->root);
    if (!h->has_le) h->lsrc = c->src, h->ltgt = c->tgt, h->has_le = true;
    *changed = true;
    return CL_OK;
}

static cl_err check_update(void *arg, const char *cur, char **next) {
    slp_check *c = arg;
    slp_hist h;
    if (slp_hist_parse(cur, &h) != CL_OK) {
        snprintf(c->why, c->whylen, "the validator's slashing record is corrupt");
        return CL_ERR_INTERNAL;
    }
    bool changed = false;
    cl_err e = c->is_block ? rule_block(c, &h, &changed) : rule_att(c, &h, &changed);
    if (e == CL_OK && changed) {
        slp_hist_prune(&h, c->sp->prune_epochs, c->sp->slots_per_epoch);
        *next = slp_hist_dump(&h);
    }
    slp_hist_free(&h);
    return e;
}

static cl_err check_txn(store *st, void *arg) {
    slp_check *c = arg;
    cl_err e = slp_gvr_pin(c->sp, st, c->gvr, c->why, c->whylen);
    if (e == CL_ERR_CONFLICT) { /* refused, nothing to write */
        c->verdict = e;
        return CL_OK;
    }
    CL_TRY(e);
    if ((e = hw_read(st, &c->has_hw, &c->hw_slot, &c->hw_epoch)) != CL_OK) {
        snprintf(c->why, c->whylen, "the high watermark cannot be read (%s)", cl_err_str(e));
        return e;
    }
    char name[2 * SIGNER_PK_LEN + 1];
    slp_pk_hex(c->pk, name);
    e = store_update(st, SLP_KIND, "", name, check_update, c);
    if (e == CL_ERR_DENIED) { /* refused: commit the pinned root all the same */
        c->verdict = e;
        return CL_OK;
    }
    return c->verdict = e;
}

/* Group commit. Every check must be durable before its signature is released,
 * and with SQLite each commit costs an fsync (milliseconds), which would cap
 * signing at a few hundred per second. So concurrent checks share one
 * transaction: the first waiting check becomes the leader, takes every check
 * queued so far, runs them one after another inside one store_txn (each sees
 * the writes of those before it, so two conflicting messages in one batch are
 * still decided in order), commits once, and wakes them. A check's own failure
 * writes nothing (store_update discards it) and does not undo the others; a
 * failed commit fails them all, so nothing is signed without its record. */
static cl_err batch_txn(store *st, void *arg) {
    for (slp_check *c = arg; c; c = c->next) {
        if (c->whylen) c->why[0] = 0;
        cl_err e = check_txn(st, c);
        if (e != CL_OK) c->verdict = e;
    }
    return CL_OK;
}

static void run_batch(signer_slashing *sp, slp_check *batch) {
    cl_err e = store_txn(sp->st, batch_txn, batch);
    for (slp_check *c = batch; c; c = c->next)
        c->txn_err = e;
}

static cl_err finish_check(slp_check *c) {
    cl_err e = c->txn_err != CL_OK ? c->txn_err : c->verdict;
    if (c->txn_err != CL_OK || (e != CL_OK && e != CL_ERR_DENIED && e != CL_ERR_CONFLICT)) {
        if (c->whylen && !c->why[0])
            snprintf(c->why, c->whylen, "the slashing database failed (%s)", cl_err_str(e));
        return e;
    }
    if (e == CL_OK || e == CL_ERR_DENIED) { /* the root is pinned now */
        pthread_mutex_lock(&c->sp->lock);
        memcpy(c->sp->gvr, c->gvr, SIGNER_ROOT_LEN);
        c->sp->gvr_known = true;
        pthread_mutex_unlock(&c->sp->lock);
    }
    return e;
}

char *slp_validator_key(const char *name) {
    return cl_sprintf("slashing/%s", name);
}

static cl_err keyed_txn(store *st, void *arg) {
    slp_check *c = arg;
    cl_err e = check_txn(st, c);
    if (e != CL_OK) c->verdict = e;
    return e;
}

/* One check, one transaction serialised on its validator only. */
static cl_err run_keyed(slp_check *c) {
    char name[2 * SIGNER_PK_LEN + 1];
    slp_pk_hex(c->pk, name);
    char *key = slp_validator_key(name);
    c->txn_err = store_txn_keyed(c->sp->st, key, keyed_txn, c);
    free(key);
    return finish_check(c);
}

static bool gvr_cached(signer_slashing *sp) {
    pthread_mutex_lock(&sp->lock);
    bool known = sp->gvr_known;
    pthread_mutex_unlock(&sp->lock);
    return known;
}

static cl_err run_check(slp_check *c) {
    signer_slashing *sp = c->sp;
    if (c->whylen) c->why[0] = 0;
    c->verdict = CL_OK;
    /* keyed once the genesis root is pinned (pinning writes a shared item) */
    if (sp->keyed && gvr_cached(sp)) return run_keyed(c);
    pthread_mutex_lock(&sp->gc_lock);
    c->next = sp->gc_queue; /* order within a batch: any (each is decided in turn) */
    sp->gc_queue = c;
    while (!c->done) {
        if (sp->gc_leader) {
            pthread_cond_wait(&sp->gc_done, &sp->gc_lock);
            continue;
        }
        sp->gc_leader = true;
        slp_check *batch = sp->gc_queue;
        sp->gc_queue = NULL;
        pthread_mutex_unlock(&sp->gc_lock);
        run_batch(sp, batch);
        pthread_mutex_lock(&sp->gc_lock);
        for (slp_check *b = batch; b; b = b->next)
            b->done = true;
        sp->gc_leader = false;
        pthread_cond_broadcast(&sp->gc_done);
    }
    pthread_mutex_unlock(&sp->gc_lock);
    return finish_check(c);
}

cl_err signer_slashing_check_block(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                   const uint8_t gvr[32], uint64_t slot,
                                   const uint8_t signing_root[32], char *why, size_t whylen) {
    slp_check c = {.sp = sp,
                   .pk = pk,
                   .gvr = gvr,
                   .root = signing_root,
                   .is_block = true,
                   .slot = slot,
                   .why = why,
                   .whylen = whylen};
    return run_check(&c);
}

cl_err signer_slashing_check_attestation(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                         const uint8_t gvr[32], uint64_t source, uint64_t target,
                                         const uint8_t signing_root[32], char *why, size_t whylen) {
    slp_check c = {.sp = sp,
                   .pk = pk,
                   .gvr = gvr,
                   .root = signing_root,
                   .src = source,
                   .tgt = target,
                   .why = why,
                   .whylen = whylen};
    return run_check(&c);
}

/* ---------- open, close, watermarks, prune, health ---------- */

cl_err signer_slashing_open(store *st, const signer_slashing_opts *o, signer_slashing **out) {
    if (!st || !out) return CL_ERR_INVALID;
    signer_slashing *sp = cl_calloc(1, sizeof *sp);
    sp->st = st;
    sp->prune_epochs = o && o->prune_epochs ? o->prune_epochs : SLP_DEFAULT_PRUNE_EPOCHS;
    sp->slots_per_epoch =
        o && o->slots_per_epoch ? o->slots_per_epoch : SLP_DEFAULT_SLOTS_PER_EPOCH;
    sp->keyed = (o && o->keyed_checks) || strcmp(store_backend_name(st), "sqlite") != 0;
    pthread_mutex_init(&sp->lock, NULL);
    pthread_mutex_init(&sp->gc_lock, NULL);
    pthread_cond_init(&sp->gc_done, NULL);
    *out = sp;
    return CL_OK;
}

void signer_slashing_close(signer_slashing *sp) {
    if (!sp) return;
    pthread_mutex_destroy(&sp->lock);
    pthread_mutex_destroy(&sp->gc_lock);
    pthread_cond_destroy(&sp->gc_done);
    free(sp);
}

cl_err signer_slashing_genesis_root(signer_slashing *sp, uint8_t gvr[32]) {
    return slp_gvr_get(sp->st, gvr);
}

cl_err signer_slashing_high_watermark(signer_slashing *sp, const uint8_t pk[SIGNER_PK_LEN],
                                      signer_watermark *out) {
    char name[2 * SIGNER_PK_LEN + 1], *doc = NULL;
    slp_pk_hex(pk, name);
    memset(out, 0, sizeof *out);
    cl_err e = store_get(sp->st, SLP_KIND, "", name, &doc);
    if (e == CL_ERR_NOT_FOUND) return CL_OK;
    CL_TRY(e);
    slp_hist h;
    e = slp_hist_parse(doc, &h);
    free(doc);
    CL_TRY(e);
    if ((out->has_block = h.nb > 0)) out->slot = h.b[h.nb - 1].slot;
    for (size_t i = 0; i < h.na; i++) {
        out->has_attestation = true;
        if (h.a[i].src > out->source_epoch) out->source_epoch = h.a[i].src;
        if (h.a[i].tgt > out->target_epoch) out->target_epoch = h.a[i].tgt;
    }
    slp_hist_free(&h);
    return CL_OK;
}

/* The high watermark is read by every check: set and removed in a whole-store
 * transaction, so once it returns no check (on any node) still decides
 * without it. */
static cl_err hw_put_txn(store *st, void *doc) {
    return store_put(st, SLP_META_KIND, "", SLP_META_HW, doc);
}

static cl_err hw_del_txn(store *st, void *arg) {
    (void)arg;
    cl_err e = store_delete(st, SLP_META_KIND, "", SLP_META_HW);
    return e == CL_ERR_NOT_FOUND ? CL_OK : e;
}

cl_err signer_slashing_set_high_watermark(signer_slashing *sp, uint64_t slot, uint64_t epoch) {
    char *doc = cl_sprintf("{\"slot\":\"%" PRIu64 "\",\"epoch\":\"%" PRIu64 "\"}", slot, epoch);
    cl_err e = store_txn(sp->st, hw_put_txn, doc);
    free(doc);
    return e;
}

cl_err signer_slashing_get_high_watermark(signer_slashing *sp, uint64_t *slot, uint64_t *epoch) {
    bool has;
    uint64_t s = 0, ep = 0;
    CL_TRY(hw_read(sp->st, &has, &s, &ep));
    if (!has) return CL_ERR_NOT_FOUND;
    *slot = s;
    *epoch = ep;
    return CL_OK;
}

cl_err signer_slashing_remove_high_watermark(signer_slashing *sp) {
    return store_txn(sp->st, hw_del_txn, NULL);
}

typedef struct {
    char **names;
    size_t n, cap;
} name_list;

static bool collect_name(void *arg, const char *name, const char *doc) {
    (void)doc;
    name_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->names = cl_realloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->n++] = cl_strdup(name);
    return true;
}

typedef struct {
    signer_slashing *sp;
    size_t pruned;
} prune_call;

static cl_err prune_update(void *arg, const char *cur, char **next) {
    prune_call *p = arg;
    slp_hist h;
    p->pruned = 0;
    CL_TRY(slp_hist_parse(cur, &h));
    p->pruned = slp_hist_prune(&h, p->sp->prune_epochs, p->sp->slots_per_epoch);
    if (p->pruned) *next = slp_hist_dump(&h);
    slp_hist_free(&h);
    return CL_OK;
}

typedef struct {
    uint64_t slot, epoch;
    bool changed;
} raise_call;

static cl_err raise_update(void *arg, const char *cur, char **next) {
    raise_call *r = arg;
    slp_hist h;
    CL_TRY(slp_hist_parse(cur, &h));
    r->changed = !h.has_ls || h.ls < r->slot || !h.has_le || h.lsrc < r->epoch || h.ltgt < r->epoch;
    if (!h.has_ls || h.ls < r->slot) h.ls = r->slot;
    if (!h.has_le || h.lsrc < r->epoch) h.lsrc = r->epoch;
    if (!h.has_le || h.ltgt < r->epoch) h.ltgt = r->epoch;
    h.has_ls = h.has_le = true;
    if (r->changed) *next = slp_hist_dump(&h);
    slp_hist_free(&h);
    return CL_OK;
}

typedef struct {
    const char *name;
    store_update_fn fn;
    void *arg;
} v_update;

static cl_err v_update_txn(store *st, void *arg) {
    v_update *u = arg;
    return store_update(st, SLP_KIND, "", u->name, u->fn, u->arg);
}

/* store_update of one validator's document under its key (slp_validator_key) */
static cl_err validator_update(signer_slashing *sp, const char *name, store_update_fn fn,
                               void *arg) {
    v_update u = {name, fn, arg};
    char *key = slp_validator_key(name);
    cl_err e = store_txn_keyed(sp->st, key, v_update_txn, &u);
    free(key);
    return e;
}

/* every validator's document through fn, one short transaction each */
static cl_err each_validator(signer_slashing *sp, store_update_fn fn, void *arg, bool *changed,
                             size_t *count) {
    name_list l = {0};
    cl_err e = store_list(sp->st, SLP_KIND, "", NULL, NULL, 0, collect_name, &l, NULL);
    for (size_t i = 0; i < l.n; i++) {
        if (e == CL_OK && (e = validator_update(sp, l.names[i], fn, arg)) == CL_OK && *changed)
            (*count)++;
        free(l.names[i]);
    }
    free(l.names);
    return e;
}

cl_err signer_slashing_raise_low_watermarks(signer_slashing *sp, uint64_t slot, uint64_t epoch,
                                            size_t *updated) {
    raise_call r = {slot, epoch, false};
    size_t n = 0;
    cl_err e = each_validator(sp, raise_update, &r, &r.changed, &n);
    if (updated) *updated = n;
    return e;
}

/* Off the hot path: one short transaction per validator, so signing is never
 * blocked behind the whole sweep. */
cl_err signer_slashing_prune(signer_slashing *sp, size_t *pruned) {
    name_list l = {0};
    size_t total = 0;
    cl_err e = store_list(sp->st, SLP_KIND, "", NULL, NULL, 0, collect_name, &l, NULL);
    for (size_t i = 0; i < l.n; i++) {
        prune_call p = {sp, 0};
        if (e == CL_OK && (e = validator_update(sp, l.names[i], prune_update, &p)) == CL_OK)
            total += p.pruned;
        free(l.names[i]);
    }
    free(l.names);
    if (pruned) *pruned = total;
    return e;
}

bool signer_slashing_healthy(signer_slashing *sp) {
    if (!sp) return false;
    char *doc = NULL;
    cl_err e = store_get(sp->st, SLP_META_KIND, "", SLP_META_GVR, &doc);
    free(doc);
    return e == CL_OK || e == CL_ERR_NOT_FOUND;
}

typedef struct {
    signer_slashing *sp;
    const uint8_t *gvr;
    char *err;
    size_t errlen;
} pin_call;

static cl_err pin_txn(store *st, void *arg) {
    pin_call *p = arg;
    return slp_gvr_pin(p->sp, st, p->gvr, p->err, p->errlen);
}

cl_err signer_slashing_pin_genesis_root(signer_slashing *sp, const uint8_t gvr[32], char *err,
                                        size_t errlen) {
    pin_call p = {sp, gvr, err, errlen};
    if (errlen) err[0] = 0;
    CL_TRY(store_txn(sp->st, pin_txn, &p));
    pthread_mutex_lock(&sp->lock);
    memcpy(sp->gvr, gvr, SIGNER_ROOT_LEN);
    sp->gvr_known = true;
    pthread_mutex_unlock(&sp->lock);
    return CL_OK;
}

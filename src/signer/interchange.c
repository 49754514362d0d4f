/* interchange.c — EIP-3076 slashing-protection interchange, format v5:
 * import (merge) and export of the per-validator histories of slashing.c.
 *
 * Import is two passes: the whole file is parsed and checked first (a
 * malformed file is refused whole, with the path of the first bad field), then
 * one store transaction pins the genesis root and merges every validator, so
 * an import lands entirely or not at all. The merge follows Web3Signer's
 * importer (records that conflict with stored ones are skipped, identical ones
 * not repeated) with EIP-3076's conservative watermarks: after an import a
 * validator is refused any block at or below the highest slot it holds
 * (imported or signed) and any attestation with a source below the highest
 * source or a target at or below the highest target it holds (for the kinds
 * the import carried). (Web3Signer keeps only the lowest
 * imported values as its low watermark, which signs messages between imported
 * ones that the interchange tests require refused; see docs/signer.md.)
 *
 * Export writes every record kept (the pruning window) and, where the
 * watermarks were raised past the records (pruning, imports), one record
 * without signing root at the watermark, so importing the export elsewhere
 * protects at least as much. */
#include "signer/slashing_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t pk[SIGNER_PK_LEN];
    slp_hist in; /* the imported records (watermarks unused) */
} ic_validator;

typedef struct {
    bool has_gvr;
    uint8_t gvr[SIGNER_ROOT_LEN];
    ic_validator *v;
    size_t n;
} ic_file;

static void ic_free(ic_file *f) {
    for (size_t i = 0; i < f->n; i++)
        slp_hist_free(&f->v[i].in);
    free(f->v);
    memset(f, 0, sizeof *f);
}

static bool bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool bad(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}
#define BAD(...) bad(err, errlen, __VA_ARGS__)

static bool ic_u64(json_t *o, const char *key, uint64_t *v, const char *where, char *err,
                   size_t errlen) {
    json_t *x = json_object_get(o, key);
    if (!x) return BAD("%s: %s is missing", where, key);
    if (!json_is_string(x) || slice_to_u64(slice_cstr(json_string_value(x)), v) != CL_OK)
        return BAD("%s.%s: not a uint64 as a decimal string", where, key);
    return true;
}

/* signing_root: absent or null = unknown */
static bool ic_root(json_t *o, bool *has, uint8_t root[32], const char *where, char *err,
                    size_t errlen) {
    json_t *x = json_object_get(o, "signing_root");
    *has = x && !json_is_null(x);
    if (*has && !slp_hex_parse(json_string_value(x), root, SIGNER_ROOT_LEN))
        return BAD("%s.signing_root: not a 0x-prefixed 32-byte hex string", where);
    return true;
}

/* Records are appended as read and sorted once (slashing_internal.h keeps
 * them sorted): inserting each in order would cost O(n^2) for a long history
 * (a validator's unpruned Web3Signer export holds one attestation an epoch). */
static void ic_push_block(slp_hist *h, uint64_t slot, const uint8_t *root) {
    if (h->nb == h->capb) {
        h->capb = h->capb ? 2 * h->capb : 8;
        h->b = cl_realloc(h->b, h->capb * sizeof *h->b);
    }
    h->b[h->nb] = (slp_block){.slot = slot, .has_root = root != NULL};
    if (root) memcpy(h->b[h->nb].root, root, SIGNER_ROOT_LEN);
    h->nb++;
}

static void ic_push_att(slp_hist *h, uint64_t src, uint64_t tgt, const uint8_t *root) {
    if (h->na == h->capa) {
        h->capa = h->capa ? 2 * h->capa : 8;
        h->a = cl_realloc(h->a, h->capa * sizeof *h->a);
    }
    h->a[h->na] = (slp_att){.src = src, .tgt = tgt, .has_root = root != NULL};
    if (root) memcpy(h->a[h->na].root, root, SIGNER_ROOT_LEN);
    h->na++;
}

static int ic_block_cmp(const void *x, const void *y) {
    uint64_t a = ((const slp_block *)x)->slot, b = ((const slp_block *)y)->slot;
    return a < b ? -1 : a > b;
}

static int ic_att_cmp(const void *x, const void *y) {
    uint64_t a = ((const slp_att *)x)->tgt, b = ((const slp_att *)y)->tgt;
    return a < b ? -1 : a > b;
}

static bool ic_blocks(json_t *arr, size_t vi, slp_hist *h, char *err, size_t errlen) {
    size_t i;
    json_t *x;
    if (!arr) return true;
    if (!json_is_array(arr)) return BAD("data[%zu].signed_blocks: not an array", vi);
    json_array_foreach(arr, i, x) {
        char where[96];
        snprintf(where, sizeof where, "data[%zu].signed_blocks[%zu]", vi, i);
        uint64_t slot;
        bool has;
        uint8_t root[SIGNER_ROOT_LEN];
        if (!json_is_object(x)) return BAD("%s: not an object", where);
        if (!ic_u64(x, "slot", &slot, where, err, errlen) ||
            !ic_root(x, &has, root, where, err, errlen))
            return false;
        ic_push_block(h, slot, has ? root : NULL);
    }
    if (h->nb) qsort(h->b, h->nb, sizeof *h->b, ic_block_cmp);
    return true;
}

static bool ic_atts(json_t *arr, size_t vi, slp_hist *h, char *err, size_t errlen) {
    size_t i;
    json_t *x;
    if (!arr) return true;
    if (!json_is_array(arr)) return BAD("data[%zu].signed_attestations: not an array", vi);
    json_array_foreach(arr, i, x) {
        char where[96];
        snprintf(where, sizeof where, "data[%zu].signed_attestations[%zu]", vi, i);
        uint64_t src, tgt;
        bool has;
        uint8_t root[SIGNER_ROOT_LEN];
        if (!json_is_object(x)) return BAD("%s: not an object", where);
        if (!ic_u64(x, "source_epoch", &src, where, err, errlen) ||
            !ic_u64(x, "target_epoch", &tgt, where, err, errlen) ||
            !ic_root(x, &has, root, where, err, errlen))
            return false;
        ic_push_att(h, src, tgt, has ? root : NULL);
    }
    if (h->na) qsort(h->a, h->na, sizeof *h->a, ic_att_cmp);
    return true;
}

static bool ic_metadata(json_t *root, ic_file *f, char *err, size_t errlen) {
    json_t *md = json_object_get(root, "metadata");
    if (!json_is_object(md)) return BAD("metadata: missing or not an object");
    json_t *ver = json_object_get(md, "interchange_format_version");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "5") != 0)
        return BAD("metadata.interchange_format_version: must be \"5\"");
    json_t *g = json_object_get(md, "genesis_validators_root");
    f->has_gvr = g && !json_is_null(g);
    if (f->has_gvr && !slp_hex_parse(json_string_value(g), f->gvr, SIGNER_ROOT_LEN))
        return BAD("metadata.genesis_validators_root: not a 0x-prefixed 32-byte hex string");
    return true;
}

static bool ic_parse(cl_slice in, ic_file *f, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_loadb((const char *)in.ptr, in.len, JSON_REJECT_DUPLICATES, &je);
    bool ok = false;
    if (!root) {
        BAD("not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        goto out;
    }
    if (!json_is_object(root)) {
        BAD("the interchange is not a JSON object");
        goto out;
    }
    if (!ic_metadata(root, f, err, errlen)) goto out;
    json_t *data = json_object_get(root, "data"), *x;
    if (!json_is_array(data)) {
        BAD("data: missing or not an array");
        goto out;
    }
    if (!f->has_gvr && json_array_size(data) > 0) {
        BAD("metadata.genesis_validators_root: required when data is not empty");
        goto out;
    }
    f->v = cl_calloc(json_array_size(data) + 1, sizeof *f->v);
    size_t i;
    json_array_foreach(data, i, x) {
        ic_validator *v = &f->v[f->n++];
        if (!json_is_object(x)) {
            BAD("data[%zu]: not an object", i);
            goto out;
        }
        if (!slp_hex_parse(json_string_value(json_object_get(x, "pubkey")), v->pk, SIGNER_PK_LEN)) {
            BAD("data[%zu].pubkey: not a 0x-prefixed 48-byte hex string", i);
            goto out;
        }
        if (!ic_blocks(json_object_get(x, "signed_blocks"), i, &v->in, err, errlen) ||
            !ic_atts(json_object_get(x, "signed_attestations"), i, &v->in, err, errlen))
            goto out;
    }
    ok = true;
out:
    json_decref(root);
    return ok;
}

/* ---------- merge ---------- */

static bool has_block(const slp_hist *h, uint64_t slot, bool *conflict, const slp_block *b) {
    bool same = false;
    for (size_t i = slp_block_pos(h, slot); i < h->nb && h->b[i].slot == slot; i++) {
        if (b->has_root ? h->b[i].has_root && !memcmp(h->b[i].root, b->root, SIGNER_ROOT_LEN)
                        : !h->b[i].has_root)
            same = true;
        else if (b->has_root)
            *conflict = true;
    }
    return same;
}

static bool has_att(const slp_hist *h, bool *conflict, const slp_att *a) {
    bool same = false;
    for (size_t i = slp_att_pos(h, a->tgt); i > 0 && h->a[i - 1].tgt == a->tgt; i--) {
        const slp_att *x = &h->a[i - 1];
        if (a->has_root ? x->has_root && !memcmp(x->root, a->root, SIGNER_ROOT_LEN) : !x->has_root)
            same = true;
        else if (a->has_root)
            *conflict = true;
    }
    return same;
}

static uint64_t plus1(uint64_t v) {
    return v == UINT64_MAX ? v : v + 1;
}

static void merge_blocks(slp_hist *h, const slp_hist *in) {
    if (in->nb == 0) return;
    for (size_t i = 0; i < in->nb; i++) {
        const slp_block *b = &in->b[i];
        bool conflict = false;
        if (!has_block(h, b->slot, &conflict, b) && !conflict)
            slp_hist_add_block(h, b->slot, b->has_root ? b->root : NULL);
    }
    uint64_t top = in->b[in->nb - 1].slot;
    if (h->nb && h->b[h->nb - 1].slot > top) top = h->b[h->nb - 1].slot; /* with what it signed */
    uint64_t ls = plus1(top);
    if (!h->has_ls || h->ls < ls) h->ls = ls;
    h->has_ls = true;
}

static void merge_atts(slp_hist *h, const slp_hist *in) {
    if (in->na == 0) return;
    uint64_t src = 0, tgt = 0;
    for (size_t i = 0; i < h->na; i++) { /* with what it signed */
        if (h->a[i].src > src) src = h->a[i].src;
        if (h->a[i].tgt > tgt) tgt = h->a[i].tgt;
    }
    for (size_t i = 0; i < in->na; i++) {
        const slp_att *a = &in->a[i];
        bool conflict = false;
        if (!has_att(h, &conflict, a) && !conflict)
            slp_hist_add_att(h, a->src, a->tgt, a->has_root ? a->root : NULL);
        if (a->src > src) src = a->src;
        if (a->tgt > tgt) tgt = a->tgt;
    }
    tgt = plus1(tgt);
    if (!h->has_le || h->lsrc < src) h->lsrc = src;
    if (!h->has_le || h->ltgt < tgt) h->ltgt = tgt;
    h->has_le = true;
}

typedef struct {
    signer_slashing *sp;
    const ic_validator *v;
    ic_file *f;
    const uint8_t (*pks)[SIGNER_PK_LEN]; /* NULL: every validator */
    size_t npks;
    char *err;
    size_t errlen;
} ic_call;

static bool wanted(const ic_call *c, const uint8_t pk[SIGNER_PK_LEN]) {
    if (!c->pks) return true;
    for (size_t i = 0; i < c->npks; i++)
        if (memcmp(c->pks[i], pk, SIGNER_PK_LEN) == 0) return true;
    return false;
}

static cl_err merge_update(void *arg, const char *cur, char **next) {
    ic_call *c = arg;
    slp_hist h;
    if (slp_hist_parse(cur, &h) != CL_OK) return CL_ERR_INTERNAL;
    merge_blocks(&h, &c->v->in);
    merge_atts(&h, &c->v->in);
    slp_hist_prune(&h, c->sp->prune_epochs, c->sp->slots_per_epoch);
    *next = slp_hist_dump(&h);
    slp_hist_free(&h);
    return CL_OK;
}

static cl_err import_txn(store *st, void *arg) {
    ic_call *c = arg;
    if (c->f->n == 0 && !c->f->has_gvr) return CL_OK; /* an empty export: nothing to do */
    cl_err e = slp_gvr_pin(c->sp, st, c->f->gvr, c->err, c->errlen);
    if (e == CL_ERR_CONFLICT && c->errlen) {
        char detail[320];
        snprintf(detail, sizeof detail, "%s", c->err);
        snprintf(c->err, c->errlen, "interchange refused: %s", detail);
    }
    CL_TRY(e);
    for (size_t i = 0; i < c->f->n; i++) {
        char name[2 * SIGNER_PK_LEN + 1];
        if (!wanted(c, c->f->v[i].pk)) continue;
        slp_pk_hex(c->f->v[i].pk, name);
        c->v = &c->f->v[i];
        if ((e = store_update(st, SLP_KIND, "", name, merge_update, c)) != CL_OK) {
            snprintf(c->err, c->errlen, "importing data[%zu] failed (%s)", i, cl_err_str(e));
            return e;
        }
    }
    return CL_OK;
}

cl_err signer_slashing_import(signer_slashing *sp, cl_slice interchange, char *err, size_t errlen) {
    return signer_slashing_import_for(sp, interchange, NULL, 0, err, errlen);
}

cl_err signer_slashing_import_for(signer_slashing *sp, cl_slice interchange,
                                  const uint8_t (*pks)[SIGNER_PK_LEN], size_t n, char *err,
                                  size_t errlen) {
    ic_file f = {0};
    if (errlen) err[0] = 0;
    if (!ic_parse(interchange, &f, err, errlen)) {
        ic_free(&f);
        return CL_ERR_INVALID;
    }
    ic_call c = {sp, NULL, &f, pks, n, err, errlen};
    cl_err e = store_txn(sp->st, import_txn, &c);
    if (e == CL_OK && f.has_gvr) {
        pthread_mutex_lock(&sp->lock);
        memcpy(sp->gvr, f.gvr, SIGNER_ROOT_LEN);
        sp->gvr_known = true;
        pthread_mutex_unlock(&sp->lock);
    }
    if (e != CL_OK && errlen && !err[0])
        snprintf(err, errlen, "the slashing database failed (%s)", cl_err_str(e));
    ic_free(&f);
    return e;
}

/* ---------- export ---------- */

static void put_root(cl_buf *b, bool has, const uint8_t *root) {
    if (!has) return;
    char hex[2 * SIGNER_ROOT_LEN + 1];
    hex_encode_to(hex, root, SIGNER_ROOT_LEN);
    buf_appendf(b, ",\"signing_root\":\"0x%s\"", hex);
}

static void export_blocks(cl_buf *b, const slp_hist *h) {
    bool first = true, covered = !h->has_ls || h->ls == 0;
    buf_append_cstr(b, "\"signed_blocks\":[");
    for (size_t i = 0; i < h->nb; i++) {
        buf_appendf(b, "%s{\"slot\":\"%" PRIu64 "\"", first ? "" : ",", h->b[i].slot);
        put_root(b, h->b[i].has_root, h->b[i].root);
        buf_append_cstr(b, "}");
        first = false;
        covered |= h->b[i].slot >= h->ls - 1; /* the importer's watermark will be above */
    }
    if (!covered) buf_appendf(b, "%s{\"slot\":\"%" PRIu64 "\"}", first ? "" : ",", h->ls - 1);
    buf_append_cstr(b, "]");
}

static void export_atts(cl_buf *b, const slp_hist *h) {
    bool first = true;
    uint64_t maxs = 0, maxt = 0;
    size_t n = 0;
    buf_append_cstr(b, "\"signed_attestations\":[");
    for (size_t i = 0; i < h->na; i++) {
        const slp_att *a = &h->a[i];
        buf_appendf(b, "%s{\"source_epoch\":\"%" PRIu64 "\",\"target_epoch\":\"%" PRIu64 "\"",
                    first ? "" : ",", a->src, a->tgt);
        put_root(b, a->has_root, a->root);
        buf_append_cstr(b, "}");
        first = false;
        n++;
        if (a->src > maxs) maxs = a->src;
        if (a->tgt > maxt) maxt = a->tgt;
    }
    if (h->has_le && (n == 0 || maxs < h->lsrc || plus1(maxt) < h->ltgt)) {
        uint64_t t = h->ltgt ? h->ltgt - 1 : 0;
        if (t < h->lsrc) t = h->lsrc;
        for (size_t i = 0; i < h->na; i++) /* never a second vote for a stored target */
            if (h->a[i].tgt == t) t = plus1(maxt);
        buf_appendf(b, "%s{\"source_epoch\":\"%" PRIu64 "\",\"target_epoch\":\"%" PRIu64 "\"}",
                    first ? "" : ",", h->lsrc, t);
    }
    buf_append_cstr(b, "]");
}

typedef struct {
    cl_buf *out;
    size_t n;
    cl_err e;
} ex_call;

static bool export_one(void *arg, const char *name, const char *doc) {
    ex_call *x = arg;
    slp_hist h;
    if ((x->e = slp_hist_parse(doc, &h)) != CL_OK) return false;
    buf_appendf(x->out, "%s{\"pubkey\":\"0x%s\",", x->n++ ? "," : "", name);
    export_blocks(x->out, &h);
    buf_append_cstr(x->out, ",");
    export_atts(x->out, &h);
    buf_append_cstr(x->out, "}");
    slp_hist_free(&h);
    return true;
}

static cl_err export_given(signer_slashing *sp, const uint8_t (*pks)[SIGNER_PK_LEN], size_t n,
                           ex_call *x) {
    for (size_t i = 0; i < n; i++) {
        char name[2 * SIGNER_PK_LEN + 1], *doc = NULL;
        slp_pk_hex(pks[i], name);
        cl_err e = store_get(sp->st, SLP_KIND, "", name, &doc);
        if (e == CL_ERR_NOT_FOUND) continue;
        CL_TRY(e);
        export_one(x, name, doc);
        free(doc);
        CL_TRY(x->e);
    }
    return CL_OK;
}

typedef struct {
    signer_slashing *sp;
    const uint8_t (*pks)[SIGNER_PK_LEN];
    size_t n;
    cl_buf *out;
} ex_args;

/* One read transaction, so the export is a consistent snapshot. */
static cl_err export_txn(store *st, void *arg) {
    ex_args *a = arg;
    uint8_t gvr[SIGNER_ROOT_LEN];
    cl_err e = slp_gvr_get(st, gvr);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) return e;
    if (e == CL_ERR_NOT_FOUND) { /* nothing signed or imported yet (Web3Signer: a null root) */
        buf_append_cstr(a->out, "{\"metadata\":{\"interchange_format_version\":\"5\","
                                "\"genesis_validators_root\":null},\"data\":[]}");
        return CL_OK;
    }
    char hex[2 * SIGNER_ROOT_LEN + 1];
    hex_encode_to(hex, gvr, SIGNER_ROOT_LEN);
    buf_appendf(a->out,
                "{\"metadata\":{\"interchange_format_version\":\"5\","
                "\"genesis_validators_root\":\"0x%s\"},\"data\":[",
                hex);
    ex_call x = {a->out, 0, CL_OK};
    if (a->pks)
        e = export_given(a->sp, a->pks, a->n, &x);
    else if ((e = store_list(st, SLP_KIND, "", NULL, NULL, 0, export_one, &x, NULL)) == CL_OK)
        e = x.e;
    CL_TRY(e);
    buf_append_cstr(a->out, "]}");
    return CL_OK;
}

cl_err signer_slashing_export(signer_slashing *sp, const uint8_t (*pks)[SIGNER_PK_LEN], size_t n,
                              cl_buf *out) {
    cl_buf tmp = CL_BUF_INIT;
    ex_args a = {sp, pks, n, &tmp};
    cl_err e = store_txn(sp->st, export_txn, &a);
    if (e == CL_OK) buf_append(out, tmp.ptr, tmp.len);
    free(tmp.ptr);
    return e;
}

/* slashing_doc.c — one validator's slashing-protection history as stored
 * (slashing_internal.h): parse, serialise, add records in order, prune.
 *
 * The document is JSON: {"ls":"N","lsrc":"N","ltgt":"N","b":["slot[:0xroot]"...],
 * "a":["source:target[:0xroot]"...]}, numbers as decimal strings (uint64), one
 * string a record so a window of 250 attestations is ~19 KB. It is read on
 * every check, so it has a fast reader for that shape (whitespace and key order
 * free, as a backend that re-serialises JSON may change them); anything else
 * (escapes, other value types) goes through jansson. */
#include "signer/slashing_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- hex ---------- */

void slp_pk_hex(const uint8_t pk[SIGNER_PK_LEN], char out[2 * SIGNER_PK_LEN + 1]) {
    hex_encode_to(out, pk, SIGNER_PK_LEN);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool slp_hex_parse(const char *s, uint8_t *out, size_t n) {
    if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
    s += 2;
    if (strlen(s) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---------- the stored history ---------- */

void slp_hist_free(slp_hist *h) {
    free(h->b);
    free(h->a);
    memset(h, 0, sizeof *h);
}

size_t slp_block_pos(const slp_hist *h, uint64_t slot) { /* first index with slot >= */
    size_t lo = 0, hi = h->nb;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->b[mid].slot < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t slp_att_pos(const slp_hist *h, uint64_t tgt) { /* first index with tgt > */
    size_t lo = 0, hi = h->na;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->a[mid].tgt <= tgt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void slp_hist_add_block(slp_hist *h, uint64_t slot, const uint8_t *root) {
    if (h->nb == h->capb) {
        h->capb = h->capb ? 2 * h->capb : 8;
        h->b = cl_realloc(h->b, h->capb * sizeof *h->b);
    }
    size_t i = slp_block_pos(h, slot);
    while (i < h->nb && h->b[i].slot == slot)
        i++;
    memmove(h->b + i + 1, h->b + i, (h->nb - i) * sizeof *h->b);
    h->b[i] = (slp_block){.slot = slot, .has_root = root != NULL};
    if (root) memcpy(h->b[i].root, root, SIGNER_ROOT_LEN);
    h->nb++;
}

void slp_hist_add_att(slp_hist *h, uint64_t src, uint64_t tgt, const uint8_t *root) {
    if (h->na == h->capa) {
        h->capa = h->capa ? 2 * h->capa : 8;
        h->a = cl_realloc(h->a, h->capa * sizeof *h->a);
    }
    size_t i = slp_att_pos(h, tgt);
    memmove(h->a + i + 1, h->a + i, (h->na - i) * sizeof *h->a);
    h->a[i] = (slp_att){.src = src, .tgt = tgt, .has_root = root != NULL};
    if (root) memcpy(h->a[i].root, root, SIGNER_ROOT_LEN);
    h->na++;
}

/* "N" -> N */
static bool get_u64(json_t *o, const char *key, bool *has, uint64_t *v) {
    json_t *x = json_object_get(o, key);
    if (!x) return true;
    if (!json_is_string(x) || slice_to_u64(slice_cstr(json_string_value(x)), v) != CL_OK)
        return false;
    if (has) *has = true;
    return true;
}

/* "a:b:…[:0xroot]" with nnum numbers */
static bool parse_rec(cl_slice in, uint64_t *nums, size_t nnum, bool *has_root, uint8_t *root) {
    cl_slice part;
    for (size_t i = 0; i < nnum; i++) {
        bool last = i + 1 == nnum;
        ptrdiff_t colon = slice_find(in, ':');
        part = colon < 0 ? in : slice_sub(in, 0, (size_t)colon);
        if (slice_to_u64(part, &nums[i]) != CL_OK || (!last && colon < 0)) return false;
        in = colon < 0 ? slice_sub(in, in.len, 0) : slice_sub(in, (size_t)colon + 1, in.len);
        if (last && colon >= 0 && in.len == 0) return false; /* "5:" */
    }
    *has_root = in.len > 0;
    if (!*has_root) return true;
    char hex[2 * SIGNER_ROOT_LEN + 3];
    if (in.len != sizeof hex - 1) return false;
    memcpy(hex, in.ptr, in.len);
    hex[in.len] = 0;
    return slp_hex_parse(hex, root, SIGNER_ROOT_LEN);
}

static bool add_rec(slp_hist *h, bool is_block, cl_slice s) {
    uint64_t n[2];
    bool has;
    uint8_t root[SIGNER_ROOT_LEN];
    if (!parse_rec(s, n, is_block ? 1 : 2, &has, root)) return false;
    if (is_block)
        slp_hist_add_block(h, n[0], has ? root : NULL);
    else
        slp_hist_add_att(h, n[0], n[1], has ? root : NULL);
    return true;
}

/* ---- the fast reader: 1 = parsed, 0 = malformed, -1 = not the usual shape ---- */

typedef struct {
    const char *p, *end;
} rd;

static void rd_ws(rd *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static bool rd_ch(rd *r, char c) {
    rd_ws(r);
    if (r->p < r->end && *r->p == c) return r->p++, true;
    return false;
}

/* a string without escapes */
static int rd_str(rd *r, cl_slice *out) {
    if (!rd_ch(r, '"')) return -1; /* another type: the general parser */
    const char *s = r->p;
    while (r->p < r->end && *r->p != '"' && *r->p != '\\')
        r->p++;
    if (r->p == r->end || *r->p == '\\') return -1;
    *out = slice_of(s, (size_t)(r->p++ - s));
    return 1;
}

static int rd_records(rd *r, slp_hist *h, int kind) { /* kind: 1 blocks, 2 atts, 0 skip */
    cl_slice s;
    if (!rd_ch(r, '[')) return -1;
    if (rd_ch(r, ']')) return 1;
    do {
        int k = rd_str(r, &s);
        if (k <= 0) return k;
        if (kind && !add_rec(h, kind == 1, s)) return 0;
    } while (rd_ch(r, ','));
    return rd_ch(r, ']') ? 1 : 0;
}

static int rd_member(rd *r, slp_hist *h, bool *has_src, bool *has_tgt) {
    cl_slice key, v;
    int k = rd_str(r, &key);
    if (k <= 0) return k;
    if (!rd_ch(r, ':')) return 0;
    bool is_b = slice_eq_cstr(key, "b"), is_a = slice_eq_cstr(key, "a");
    rd_ws(r);
    if (is_b || is_a || (r->p < r->end && *r->p == '['))
        return rd_records(r, h, is_b ? 1 : is_a ? 2 : 0);
    if ((k = rd_str(r, &v)) <= 0) return k;
    uint64_t *dst = slice_eq_cstr(key, "ls")     ? &h->ls
                    : slice_eq_cstr(key, "lsrc") ? &h->lsrc
                    : slice_eq_cstr(key, "ltgt") ? &h->ltgt
                                                 : NULL;
    if (!dst) return 1;
    if (slice_to_u64(v, dst) != CL_OK) return 0;
    bool *has = dst == &h->ls ? &h->has_ls : dst == &h->lsrc ? has_src : has_tgt;
    *has = true;
    return 1;
}

static int parse_fast(const char *doc, slp_hist *h) {
    rd r = {doc, doc + strlen(doc)};
    bool has_src = false, has_tgt = false;
    int k = 1;
    if (!rd_ch(&r, '{')) return -1;
    if (!rd_ch(&r, '}')) {
        do {
            if ((k = rd_member(&r, h, &has_src, &has_tgt)) <= 0) return k;
        } while (rd_ch(&r, ','));
        if (!rd_ch(&r, '}')) return 0;
    }
    rd_ws(&r);
    if (r.p != r.end || has_src != has_tgt) return 0;
    h->has_le = has_src;
    return 1;
}

static bool parse_records(json_t *o, slp_hist *h) {
    json_t *bs = json_object_get(o, "b"), *as = json_object_get(o, "a"), *x;
    size_t i;
    if ((bs && !json_is_array(bs)) || (as && !json_is_array(as))) return false;
    json_array_foreach(bs, i, x) {
        if (!json_is_string(x) || !add_rec(h, true, slice_cstr(json_string_value(x)))) return false;
    }
    json_array_foreach(as, i, x) {
        if (!json_is_string(x) || !add_rec(h, false, slice_cstr(json_string_value(x))))
            return false;
    }
    return true;
}

static cl_err parse_jansson(const char *doc, slp_hist *h) {
    json_t *o = json_loads(doc, 0, NULL);
    bool has_src = false, has_tgt = false;
    bool ok = json_is_object(o) && get_u64(o, "ls", &h->has_ls, &h->ls) &&
              get_u64(o, "lsrc", &has_src, &h->lsrc) && get_u64(o, "ltgt", &has_tgt, &h->ltgt) &&
              has_src == has_tgt && parse_records(o, h);
    h->has_le = has_src;
    json_decref(o);
    return ok ? CL_OK : CL_ERR_INVALID;
}

cl_err slp_hist_parse(const char *doc, slp_hist *h) {
    memset(h, 0, sizeof *h);
    if (!doc) return CL_OK;
    int k = parse_fast(doc, h);
    cl_err e = k > 0 ? CL_OK : CL_ERR_INVALID;
    if (k < 0) { /* not the usual shape: the general parser decides */
        slp_hist_free(h);
        e = parse_jansson(doc, h);
    }
    if (e != CL_OK) slp_hist_free(h);
    return e;
}

/* one record: "n[:n][:0xroot]", formatted by hand (it runs 250 times a check) */
static void dump_rec(cl_buf *b, bool comma, const uint64_t *nums, size_t nnum, bool has,
                     const uint8_t *root) {
    char out[2 * 21 + 3 * SIGNER_ROOT_LEN + 8], *p = out;
    if (comma) *p++ = ',';
    *p++ = '"';
    for (size_t i = 0; i < nnum; i++) {
        char digits[21];
        int k = 0;
        uint64_t v = nums[i];
        do
            digits[k++] = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        if (i) *p++ = ':';
        while (k > 0)
            *p++ = digits[--k];
    }
    if (has) {
        memcpy(p, ":0x", 3);
        hex_encode_to(p + 3, root, SIGNER_ROOT_LEN);
        p += 3 + 2 * SIGNER_ROOT_LEN;
    }
    *p++ = '"';
    buf_append(b, out, (size_t)(p - out));
}

char *slp_hist_dump(const slp_hist *h) {
    cl_buf b = CL_BUF_INIT;
    buf_reserve(&b, 96 + (h->nb + h->na) * 96);
    buf_append_cstr(&b, "{");
    if (h->has_ls) buf_appendf(&b, "\"ls\":\"%" PRIu64 "\",", h->ls);
    if (h->has_le)
        buf_appendf(&b, "\"lsrc\":\"%" PRIu64 "\",\"ltgt\":\"%" PRIu64 "\",", h->lsrc, h->ltgt);
    buf_append_cstr(&b, "\"b\":[");
    for (size_t i = 0; i < h->nb; i++)
        dump_rec(&b, i > 0, &h->b[i].slot, 1, h->b[i].has_root, h->b[i].root);
    buf_append_cstr(&b, "],\"a\":[");
    for (size_t i = 0; i < h->na; i++) {
        uint64_t n[2] = {h->a[i].src, h->a[i].tgt};
        dump_rec(&b, i > 0, n, 2, h->a[i].has_root, h->a[i].root);
    }
    buf_append_cstr(&b, "]}");
    buf_cstr(&b);
    return (char *)b.ptr; /* NUL-terminated, owned by the caller */
}

/* ---------- pruning (DbPruner): keep the window behind the newest record ---------- */

static size_t prune_blocks(slp_hist *h, uint64_t keep) {
    if (h->nb == 0 || h->b[h->nb - 1].slot < keep) return 0;
    uint64_t point = h->b[h->nb - 1].slot - keep + 1;
    size_t drop = slp_block_pos(h, point);
    if (drop == 0) return 0;
    memmove(h->b, h->b + drop, (h->nb - drop) * sizeof *h->b);
    h->nb -= drop;
    /* Web3Signer: the watermark moves to the nearest remaining block */
    if (!h->has_ls || h->ls < h->b[0].slot) h->ls = h->b[0].slot;
    h->has_ls = true;
    return drop;
}

static size_t prune_atts(slp_hist *h, uint64_t keep) {
    if (h->na == 0 || h->a[h->na - 1].tgt < keep) return 0;
    uint64_t point = h->a[h->na - 1].tgt - keep + 1;
    size_t drop = slp_att_pos(h, point - 1);
    if (drop == 0) return 0;
    /* Web3Signer moves both epoch watermarks to the nearest remaining
     * attestation. The source watermark also covers every pruned source, so
     * no new vote can surround a pruned one (a surround needs a lower source
     * and, being above the target watermark, a higher target). */
    uint64_t src = h->a[drop].src, tgt = h->a[drop].tgt;
    for (size_t i = 0; i < drop; i++)
        if (h->a[i].src > src) src = h->a[i].src;
    memmove(h->a, h->a + drop, (h->na - drop) * sizeof *h->a);
    h->na -= drop;
    if (!h->has_le || h->lsrc < src) h->lsrc = src;
    if (!h->has_le || h->ltgt < tgt) h->ltgt = tgt;
    h->has_le = true;
    return drop;
}

size_t slp_hist_prune(slp_hist *h, uint64_t prune_epochs, uint64_t slots_per_epoch) {
    if (prune_epochs == 0) return 0;
    uint64_t keep_slots =
        prune_epochs > UINT64_MAX / slots_per_epoch ? UINT64_MAX : prune_epochs * slots_per_epoch;
    return prune_blocks(h, keep_slots) + prune_atts(h, prune_epochs);
}

/* kvlist.c — ordered key/value lists: HTTP headers, query strings, form bodies.
 * Kept as a flat array: requests carry tens of entries, not thousands. */
#include "base.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void kvlist_addn(cl_kvlist *l, cl_slice key, cl_slice value) {
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = cl_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len].key = slice_dup(key);
    l->items[l->len].value = slice_dup(value);
    l->len++;
}

void kvlist_add(cl_kvlist *l, const char *key, const char *value) {
    kvlist_addn(l, slice_cstr(key), slice_cstr(value));
}

const char *kvlist_get(const cl_kvlist *l, const char *key) {
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].key, key) == 0) return l->items[i].value;
    return NULL;
}

const char *kvlist_get_ci(const cl_kvlist *l, const char *key) {
    for (size_t i = 0; i < l->len; i++)
        if (strcasecmp(l->items[i].key, key) == 0) return l->items[i].value;
    return NULL;
}

size_t kvlist_count(const cl_kvlist *l, const char *key) {
    size_t n = 0;
    for (size_t i = 0; i < l->len; i++)
        n += strcmp(l->items[i].key, key) == 0;
    return n;
}

void kvlist_free(cl_kvlist *l) {
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    *l = CL_KVLIST_INIT;
}

cl_err kvlist_parse_form(cl_kvlist *l, cl_slice form) {
    cl_slice pair;
    cl_buf k = CL_BUF_INIT, v = CL_BUF_INIT;
    cl_err e = CL_OK;
    while (slice_split(&form, '&', &pair)) {
        if (pair.len == 0) continue;
        cl_slice key;
        slice_split(&pair, '=', &key);
        buf_clear(&k);
        buf_clear(&v);
        if ((e = url_decode(&k, key, true)) != CL_OK) break;
        if ((e = url_decode(&v, pair, true)) != CL_OK) break;
        if (slice_find(buf_slice(&k), 0) >= 0 || slice_find(buf_slice(&v), 0) >= 0) {
            e = CL_ERR_INVALID;
            break;
        }
        kvlist_addn(l, buf_slice(&k), buf_slice(&v));
    }
    buf_free(&k);
    buf_free(&v);
    return e;
}

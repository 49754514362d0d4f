/* store_cases.h — the meta store cases every backend must pass, shared by
 * test_store.c (SQLite) and test_store_pg.c (PostgreSQL). The including file
 * defines `static store *cases_open(const char *name)`: a store where the items
 * of kinds used by case `name` do not exist yet (a fresh file, or one shared
 * database: every case uses kinds of its own). */
#ifndef CLOISTER_TEST_STORE_CASES_H
#define CLOISTER_TEST_STORE_CASES_H

#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static store *cases_open(const char *name);

static double cases_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_crud(void **s) {
    (void)s;
    store *st = cases_open("crud");
    assert_int_equal(store_schema_version(st), 1);
    assert_int_equal(store_ping(st), CL_OK);
    char *doc = NULL;
    assert_int_equal(store_get(st, "user", "1", "alice", &doc), CL_ERR_NOT_FOUND);
    assert_int_equal(store_insert(st, "user", "1", "alice", "{\"a\":1}"), CL_OK);
    assert_int_equal(store_insert(st, "user", "1", "alice", "{}"), CL_ERR_EXISTS);
    assert_int_equal(store_insert(st, "user", "2", "alice", "{}"), CL_OK); /* other scope */
    assert_int_equal(store_get(st, "user", "1", "alice", &doc), CL_OK);
    assert_string_equal(doc, "{\"a\":1}");
    free(doc);
    assert_int_equal(store_put(st, "user", "1", "alice", "{\"a\":2}"), CL_OK);
    assert_int_equal(store_get(st, "user", "1", "alice", &doc), CL_OK);
    assert_string_equal(doc, "{\"a\":2}");
    free(doc);
    assert_int_equal(store_delete(st, "user", "1", "alice"), CL_OK);
    assert_int_equal(store_delete(st, "user", "1", "alice"), CL_ERR_NOT_FOUND);
    size_t n = 9;
    assert_int_equal(store_count(st, "user", "2", &n), CL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_put(st, "user", "2", "bob", "{}"), CL_OK);
    assert_int_equal(store_delete_scope(st, "user", "2"), CL_OK);
    assert_int_equal(store_count(st, "user", "2", &n), CL_OK);
    assert_int_equal(n, 0);
    store_close(st);
}

typedef struct {
    char names[16][16];
    int n;
} collected;

static bool collect(void *arg, const char *name, const char *doc) {
    (void)doc;
    collected *c = arg;
    snprintf(c->names[c->n++], 16, "%s", name);
    return true;
}

static void test_list(void **s) {
    (void)s;
    store *st = cases_open("list");
    /* byte order: "B" < "a" < "b/..." < "b0" < "c" < "\xc3\xa9" (UTF-8 é) */
    const char *names[] = {"b/2", "a", "b/1", "c", "b/3", "b0", "B", "\xc3\xa9", "b%_"};
    for (int i = 0; i < 9; i++)
        assert_int_equal(store_put(st, "k", "s", names[i], "{}"), CL_OK);
    collected c = {0};
    bool more = false;
    assert_int_equal(store_list(st, "k", "s", NULL, NULL, 0, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 9);
    assert_string_equal(c.names[0], "B");
    assert_string_equal(c.names[1], "a");
    assert_string_equal(c.names[2], "b%_");
    assert_string_equal(c.names[7], "c");
    assert_string_equal(c.names[8], "\xc3\xa9");
    memset(&c, 0, sizeof c);
    assert_int_equal(store_list(st, "k", "s", "b/", NULL, 2, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 2);
    assert_true(more);
    assert_string_equal(c.names[1], "b/2");
    memset(&c, 0, sizeof c);
    assert_int_equal(store_list(st, "k", "s", "b/", "b/2", 2, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 1);
    assert_false(more);
    assert_string_equal(c.names[0], "b/3");
    memset(&c, 0, sizeof c); /* LIKE metacharacters in a prefix are literal */
    assert_int_equal(store_list(st, "k", "s", "b%", NULL, 0, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "b%_");
    memset(&c, 0, sizeof c);
    assert_int_equal(store_list(st, "k", "s", "b", "b/3", 0, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 1); /* "b%_" < "b/3" < "b0" */
    assert_string_equal(c.names[0], "b0");
    store_close(st);
}

static cl_err txn_fail(store *st, void *arg) {
    (void)arg;
    assert_int_equal(store_put(st, "txk", "t", "x", "{}"), CL_OK);
    return CL_ERR_CONFLICT;
}

static cl_err txn_ok(store *st, void *arg) {
    (void)arg;
    return store_put(st, "txk", "t", "y", "{}");
}

static void test_txn(void **s) {
    (void)s;
    store *st = cases_open("txn");
    assert_int_equal(store_txn(st, txn_fail, NULL), CL_ERR_CONFLICT);
    char *doc = NULL;
    assert_int_equal(store_get(st, "txk", "t", "x", &doc), CL_ERR_NOT_FOUND);
    uint64_t seq = store_write_seq(st);
    assert_int_equal(store_txn(st, txn_ok, NULL), CL_OK);
    assert_true(store_write_seq(st) > seq);
    assert_int_equal(store_get(st, "txk", "t", "y", &doc), CL_OK);
    free(doc);
    assert_int_equal(store_txn_keyed(st, "some-key", txn_fail, NULL), CL_ERR_CONFLICT);
    assert_int_equal(store_get(st, "txk", "t", "x", &doc), CL_ERR_NOT_FOUND);
    store_close(st);
}

/* Increments the counter document {"n":N}; an absent item counts as 0. */
static cl_err incr(void *arg, const char *cur, char **next) {
    (void)arg;
    long n = 0;
    if (cur && sscanf(cur, "{\"n\":%ld}", &n) != 1) return CL_ERR_INVALID;
    *next = cl_sprintf("{\"n\":%ld}", n + 1);
    return CL_OK;
}

static cl_err refuse(void *arg, const char *cur, char **next) {
    (void)arg, (void)cur;
    *next = cl_strdup("{\"n\":-1}"); /* must not be written */
    return CL_ERR_CONFLICT;
}

static cl_err keep(void *arg, const char *cur, char **next) {
    (void)next;
    *(bool *)arg = cur == NULL;
    return CL_OK;
}

#define UPD_THREADS 8
#define UPD_ROUNDS 100

typedef struct {
    store *st[2];
    int which;
} incr_arg;

static void *incr_thread(void *arg) {
    incr_arg *a = arg;
    for (int i = 0; i < UPD_ROUNDS; i++)
        if (store_update(a->st[(a->which + i) % 2], "upk", "t", "counter", incr, NULL) != CL_OK)
            return (void *)1;
    return NULL;
}

/* 8 threads increment one counter, alternating between two handles (two
 * nodes on a shared backend; two pools on one file with SQLite). */
static void test_update(void **s) {
    (void)s;
    store *st = cases_open("update"), *st2 = cases_open("update");
    bool absent = false;
    assert_int_equal(store_update(st, "upk", "t", "none", keep, &absent), CL_OK);
    assert_true(absent); /* absent item: cur is NULL, and nothing is created */
    char *doc = NULL;
    assert_int_equal(store_get(st, "upk", "t", "none", &doc), CL_ERR_NOT_FOUND);
    pthread_t th[UPD_THREADS];
    incr_arg args[UPD_THREADS];
    for (int i = 0; i < UPD_THREADS; i++) {
        args[i] = (incr_arg){{st, st2}, i};
        assert_int_equal(pthread_create(&th[i], NULL, incr_thread, &args[i]), 0);
    }
    for (int i = 0; i < UPD_THREADS; i++) {
        void *rc = NULL;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    assert_int_equal(store_get(st, "upk", "t", "counter", &doc), CL_OK);
    char *want = cl_sprintf("{\"n\":%d}", UPD_THREADS * UPD_ROUNDS);
    assert_string_equal(doc, want); /* every increment survived */
    free(want);
    free(doc);
    assert_int_equal(store_update(st, "upk", "t", "counter", refuse, NULL), CL_ERR_CONFLICT);
    assert_int_equal(store_get(st, "upk", "t", "counter", &doc), CL_OK);
    assert_null(strstr(doc, "-1"));
    free(doc);
    store_close(st2);
    store_close(st);
}

/* ---- nested calls: a list callback and a transaction body call the store ---- */
typedef struct {
    store *st;
    int seen;
    cl_err e;
} nest_arg;

static bool nest_cb(void *arg, const char *name, const char *doc) {
    nest_arg *a = arg;
    char *copy = NULL;
    a->seen++;
    /* read, write and update from inside the callback: same connection */
    if ((a->e = store_get(a->st, "nest", "s", name, &copy)) != CL_OK) return false;
    a->e = strcmp(copy, doc) == 0 ? CL_OK : CL_ERR_INTERNAL;
    free(copy);
    if (a->e == CL_OK) a->e = store_put(a->st, "nest-copy", "s", name, doc);
    if (a->e == CL_OK) a->e = store_update(a->st, "nest", "s", "counter", incr, NULL);
    return a->e == CL_OK;
}

static cl_err nest_inner(store *st, void *arg) {
    (void)arg;
    return store_put(st, "nest", "s", "inner", "{}");
}

static cl_err nest_body(store *st, void *arg) {
    nest_arg *a = arg;
    CL_TRY(store_list(st, "nest", "s", "item", NULL, 0, nest_cb, a, NULL));
    CL_TRY(a->e);
    CL_TRY(store_txn(st, nest_inner, NULL));                      /* joins */
    CL_TRY(store_txn_keyed(st, "k", nest_inner, NULL));           /* joins */
    CL_TRY(store_update(st, "nest", "s", "counter", incr, NULL)); /* joins */
    return CL_ERR_CONFLICT;                                       /* roll it all back */
}

static void test_nested(void **s) {
    (void)s;
    store *st = cases_open("nested");
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "item%d", i);
        assert_int_equal(store_put(st, "nest", "s", name, "{\"v\":1}"), CL_OK);
    }
    nest_arg a = {st, 0, CL_OK};
    assert_int_equal(store_list(st, "nest", "s", "item", NULL, 0, nest_cb, &a, NULL), CL_OK);
    assert_int_equal(a.e, CL_OK);
    assert_int_equal(a.seen, 5);
    size_t n = 0;
    assert_int_equal(store_count(st, "nest-copy", "s", &n), CL_OK);
    assert_int_equal(n, 5);
    char *doc = NULL;
    assert_int_equal(store_get(st, "nest", "s", "counter", &doc), CL_OK);
    assert_string_equal(doc, "{\"n\":5}");
    free(doc);
    /* the same inside a transaction that rolls back: nothing of it stays */
    a = (nest_arg){st, 0, CL_OK};
    assert_int_equal(store_txn(st, nest_body, &a), CL_ERR_CONFLICT);
    assert_int_equal(a.seen, 5);
    assert_int_equal(store_get(st, "nest", "s", "counter", &doc), CL_OK);
    assert_string_equal(doc, "{\"n\":5}");
    free(doc);
    assert_int_equal(store_get(st, "nest", "s", "inner", &doc), CL_ERR_NOT_FOUND);
    store_close(st);
}

/* ---- readers do not wait for a long transaction ---- */
typedef struct {
    store *st;
    volatile int inside, release;
} long_txn;

static cl_err long_body(store *st, void *arg) {
    long_txn *l = arg;
    CL_TRY(store_put(st, "rd", "s", "x", "{\"v\":2}"));
    __atomic_store_n(&l->inside, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 500 && !__atomic_load_n(&l->release, __ATOMIC_ACQUIRE); i++)
        usleep(10000); /* at most 5 s */
    return CL_OK;
}

static void *long_thread(void *arg) {
    long_txn *l = arg;
    return (void *)(intptr_t)store_txn(l->st, long_body, l);
}

static void test_readers_concurrent(void **s) {
    (void)s;
    store *st = cases_open("readers");
    assert_int_equal(store_put(st, "rd", "s", "x", "{\"v\":1}"), CL_OK);
    long_txn l = {st, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, long_thread, &l), 0);
    while (!__atomic_load_n(&l.inside, __ATOMIC_ACQUIRE))
        usleep(1000);
    double t0 = cases_now();
    char *doc = NULL;
    collected c = {0};
    assert_int_equal(store_get(st, "rd", "s", "x", &doc), CL_OK);
    assert_string_equal(doc, "{\"v\":1}"); /* the last commit, not the open txn */
    free(doc);
    assert_int_equal(store_list(st, "rd", "s", NULL, NULL, 0, collect, &c, NULL), CL_OK);
    double took = cases_now() - t0;
    assert_true(__atomic_load_n(&l.inside, __ATOMIC_ACQUIRE)); /* still in the txn */
    __atomic_store_n(&l.release, 1, __ATOMIC_RELEASE);
    void *rc;
    pthread_join(th, &rc);
    assert_int_equal((intptr_t)rc, CL_OK);
    printf("# reads during a transaction took %.1f ms\n", took * 1000);
    assert_true(took < 1.0);
    assert_int_equal(store_get(st, "rd", "s", "x", &doc), CL_OK);
    assert_string_equal(doc, "{\"v\":2}");
    free(doc);
    store_close(st);
}

/* ---- leases ---- */
static void test_lease(void **s) {
    (void)s;
    store *st = cases_open("lease");
    bool held = false;
    assert_int_equal(store_lease(st, "gc", "node-a", 60, &held), CL_OK);
    assert_true(held);
    assert_int_equal(store_lease(st, "gc", "node-b", 60, &held), CL_OK);
    assert_false(held); /* node-a has it */
    assert_int_equal(store_lease(st, "gc", "node-a", 60, &held), CL_OK);
    assert_true(held); /* renewed */
    /* an expired lease goes to whoever asks */
    assert_int_equal(store_put(st, "lease", "", "gc", "{\"holder\":\"node-a\",\"expires\":1}"),
                     CL_OK);
    assert_int_equal(store_lease(st, "gc", "node-b", 60, &held), CL_OK);
    assert_true(held);
    assert_int_equal(store_lease(st, "gc", "node-a", 60, &held), CL_OK);
    assert_false(held);
    assert_int_equal(store_lease(st, "other", "node-a", 60, &held), CL_OK);
    assert_true(held); /* leases are independent */
    store_close(st);
}

/* ---- scan_all: every item in (kind, scope, name) byte order ---- */
typedef struct {
    char last[3][64];
    int n, mine, bad;
    store *st;
} scan_arg;

static bool scan_cb(void *arg, const char *kind, const char *scope, const char *name,
                    const char *doc) {
    scan_arg *a = arg;
    (void)doc;
    const char *cur[3] = {kind, scope, name};
    if (a->n > 0) {
        int c = 0;
        for (int i = 0; i < 3 && c == 0; i++)
            c = strcmp(a->last[i], cur[i]);
        if (c >= 0) a->bad++;
    }
    for (int i = 0; i < 3; i++)
        snprintf(a->last[i], sizeof a->last[i], "%s", cur[i]);
    a->n++;
    if (strncmp(kind, "scan", 4) == 0) a->mine++;
    return true;
}

static void test_scan_all(void **s) {
    (void)s;
    store *st = cases_open("scan");
    const char *items[][3] = {{"scanb", "1", "x"}, {"scana", "2", "a"}, {"scana", "10", "z"},
                              {"scana", "1", "b"}, {"scanb", "", "y"},  {"scana", "1", "a"}};
    for (int i = 0; i < 6; i++)
        assert_int_equal(store_put(st, items[i][0], items[i][1], items[i][2], "{}"), CL_OK);
    for (int i = 0; i < 1200; i++) { /* more than one batch */
        char name[16];
        snprintf(name, sizeof name, "n%05d", i);
        assert_int_equal(store_put(st, "scanc", "s", name, "{}"), CL_OK);
    }
    scan_arg a = {.st = st};
    assert_int_equal(store_scan_all(st, scan_cb, &a), CL_OK);
    assert_int_equal(a.bad, 0);
    assert_int_equal(a.mine, 1206);
    store_close(st);
}

#define STORE_CASES                                                                                \
    cmocka_unit_test(test_crud), cmocka_unit_test(test_list), cmocka_unit_test(test_txn),          \
        cmocka_unit_test(test_update), cmocka_unit_test(test_nested),                              \
        cmocka_unit_test(test_readers_concurrent), cmocka_unit_test(test_lease),                   \
        cmocka_unit_test(test_scan_all)

#endif

/* test_store_pg.c — the meta store over PostgreSQL, on a throwaway cluster
 * started by tests/pgtmp.py (skipped when PostgreSQL is not installed): the
 * shared backend cases (store_cases.h), then what only a shared database has:
 * two handles are two nodes (a write on one reaches the other's write_seq
 * through LISTEN/NOTIFY, measured), a killed listener makes write_seq change on
 * every call until it is back, claims from 4 threads take each item once,
 * keyed transactions on different keys overlap while the same key serialises,
 * a blocked statement and a stopped cluster give CL_ERR_UNAVAILABLE within
 * timeout_ms and the same handle works once the cluster is back, and two
 * handles migrating an empty database at once apply the migration once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

#include <glob.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char url[256];
static const char *srcdir;

static int pgtmp(const char *args, char *out, size_t n) {
    char *cmd = cl_sprintf("python3 %s/tests/pgtmp.py %s 2>&1", srcdir, args);
    FILE *f = popen(cmd, "r");
    free(cmd);
    if (!f) return -1;
    char buf[512] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = 0;
    int rc = pclose(f);
    if (out) {
        buf[strcspn(buf, "\n")] = 0;
        snprintf(out, n, "%s", buf);
    }
    return rc;
}

/* Restarts the stopped cluster without recreating its database. */
static int cluster_start(void) {
    char *cmd = cl_sprintf("python3 -c 'import sys; sys.path.insert(0, \"%s/tests\"); import "
                           "pgtmp; pgtmp.PgCluster(\"%s\").start()'",
                           srcdir, dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static int setup(void **s) {
    (void)s;
    srcdir = getenv("CLOISTER_SRCDIR");
    if (!srcdir) srcdir = ".";
    glob_t g;
    bool have = glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0;
    globfree(&g);
    if (!have) return 0; /* every test skips */
    strcpy(dir, "/tmp/cl-pgtest-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char *args = cl_sprintf("start %s", dir);
    int rc = pgtmp(args, url, sizeof url);
    free(args);
    if (rc != 0 || strncmp(url, "postgres://", 11) != 0) {
        fprintf(stderr, "pgtmp.py start failed: %s\n", url);
        return -1;
    }
    return 0;
}

static int teardown(void **s) {
    (void)s;
    if (!*dir) return 0;
    char *args = cl_sprintf("destroy %s", dir);
    int rc = pgtmp(args, NULL, 0);
    free(args);
    return rc;
}

#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!*url) skip();                                                                         \
    } while (0)

static store *open_pg(unsigned timeout_ms) {
    store *st = NULL;
    store_options o = {.pool_size = 8, .timeout_ms = timeout_ms};
    assert_int_equal(store_open_opts(url, &o, &st), CL_OK);
    assert_string_equal(store_backend_name(st), "postgres");
    return st;
}

/* One database for every case: the cases use kinds of their own. */
static store *cases_open(const char *name) {
    (void)name;
    if (!*url) skip();
    return open_pg(5000);
}

#include "store_cases.h"

/* Runs one SQL statement on a connection of its own; the first value. */
static char *sql1(const char *sql) {
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = cl_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* ---- two nodes: a commit on one reaches the other's write_seq ---- */
static void test_notify(void **s) {
    (void)s;
    NEED_PG();
    store *a = open_pg(5000), *b = open_pg(5000);
    usleep(200 * 1000); /* both feeds listening */
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t seq = store_write_seq(b);
        double t0 = cases_now();
        assert_int_equal(store_put(a, "nf", "s", "x", "{}"), CL_OK);
        while (store_write_seq(b) == seq && cases_now() - t0 < 2)
            usleep(500);
        double took = cases_now() - t0;
        assert_true(store_write_seq(b) != seq);
        if (took > worst) worst = took;
    }
    printf("# cross-handle invalidation: worst of 5 %.2f ms\n", worst * 1000);
    assert_true(worst < 1.0);
    store_close(b);
    store_close(a);
}

/* ---- the listener killed: every call is a new value until it is back ---- */
static void test_feed_lost(void **s) {
    (void)s;
    NEED_PG();
    store *st = open_pg(5000);
    usleep(200 * 1000);
    uint64_t s1 = store_write_seq(st);
    assert_int_equal(store_write_seq(st), s1); /* stable while up and idle */
    free(sql1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
              " WHERE query = 'LISTEN cloister_meta' AND pid <> pg_backend_pid()"));
    double t0 = cases_now();
    bool down = false, up_again = false;
    while (cases_now() - t0 < 3 && !up_again) {
        uint64_t x = store_write_seq(st), y = store_write_seq(st);
        if (x != y)
            down = true;
        else if (down)
            up_again = true;
        usleep(2000);
    }
    printf("# feed lost and back after %.0f ms\n", (cases_now() - t0) * 1000);
    assert_true(down);
    assert_true(up_again);
    store_close(st);
}

/* ---- claims: 4 threads over 200 items, each taken once ---- */
#define CLAIM_ITEMS 200
static int claimed[CLAIM_ITEMS];
static pthread_mutex_t claimed_mu = PTHREAD_MUTEX_INITIALIZER;

static bool pick_any(void *arg, const char *name, const char *doc) {
    (void)arg, (void)name, (void)doc;
    return true;
}

static void *claim_thread(void *arg) {
    for (;;) {
        char *name = NULL, *doc = NULL;
        cl_err e = store_claim(arg, "q", "s", 16, pick_any, NULL, &name, &doc);
        if (e == CL_ERR_NOT_FOUND) return NULL;
        if (e != CL_OK) return (void *)1;
        int i = atoi(name + 1);
        pthread_mutex_lock(&claimed_mu);
        claimed[i]++;
        pthread_mutex_unlock(&claimed_mu);
        free(name);
        free(doc);
    }
}

static void test_claims(void **s) {
    (void)s;
    NEED_PG();
    store *a = open_pg(5000), *b = open_pg(5000);
    for (int i = 0; i < CLAIM_ITEMS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%03d", i);
        assert_int_equal(store_put(a, "q", "s", name, "{}"), CL_OK);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, claim_thread, i % 2 ? a : b), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    for (int i = 0; i < CLAIM_ITEMS; i++)
        assert_int_equal(claimed[i], 1);
    size_t n = 9;
    assert_int_equal(store_count(a, "q", "s", &n), CL_OK);
    assert_int_equal(n, 0);
    store_close(b);
    store_close(a);
}

/* ---- keyed transactions: different keys overlap, the same key serialises ---- */
typedef struct {
    store *st;
    const char *key;
    double t0, t1;
} keyed_arg;

static cl_err keyed_body(store *st, void *arg) {
    keyed_arg *k = arg;
    k->t0 = cases_now();
    CL_TRY(store_put(st, "kt", "s", k->key, "{}"));
    usleep(300 * 1000);
    k->t1 = cases_now();
    return CL_OK;
}

static void *keyed_thread(void *arg) {
    keyed_arg *k = arg;
    return (void *)(intptr_t)store_txn_keyed(k->st, k->key, keyed_body, k);
}

static bool overlap(const char *k1, const char *k2, store *a, store *b) {
    keyed_arg x = {a, k1, 0, 0}, y = {b, k2, 0, 0};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, keyed_thread, &x), 0);
    assert_int_equal(pthread_create(&t2, NULL, keyed_thread, &y), 0);
    void *r1, *r2;
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    assert_int_equal((intptr_t)r1, CL_OK);
    assert_int_equal((intptr_t)r2, CL_OK);
    return x.t0 < y.t1 && y.t0 < x.t1;
}

static void test_keyed(void **s) {
    (void)s;
    NEED_PG();
    store *a = open_pg(5000), *b = open_pg(5000);
    assert_true(overlap("key-1", "key-2", a, b));
    assert_false(overlap("key-3", "key-3", a, b));
    store_close(b);
    store_close(a);
}

/* ---- deadlines: a blocked statement, a stopped cluster ---- */
static void test_blocked_statement(void **s) {
    (void)s;
    NEED_PG();
    store *st = open_pg(1000);
    PGconn *c = PQconnectdb(url); /* holds the global writer lock */
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SELECT pg_advisory_lock(1131179881, 0)"));
    store_unavailable_clear();
    double t0 = cases_now();
    assert_int_equal(store_put(st, "bl", "s", "x", "{}"), CL_ERR_UNAVAILABLE);
    double took = cases_now() - t0;
    printf("# blocked write gave up after %.0f ms\n", took * 1000);
    assert_true(took < 2.0);
    assert_true(store_unavailable_seen());
    char *doc = NULL; /* reads do not take the lock */
    assert_int_equal(store_get(st, "bl", "s", "x", &doc), CL_ERR_NOT_FOUND);
    PQfinish(c);
    assert_int_equal(store_put(st, "bl", "s", "x", "{}"), CL_OK);
    store_close(st);
}

static void test_cluster_stopped(void **s) {
    (void)s;
    NEED_PG();
    store *st = open_pg(2000);
    assert_int_equal(store_put(st, "down", "s", "x", "{\"v\":1}"), CL_OK);
    char *args = cl_sprintf("stop %s", dir);
    assert_int_equal(pgtmp(args, NULL, 0), 0);
    free(args);
    for (int i = 0; i < 3; i++) {
        char *doc = NULL;
        store_unavailable_clear();
        double t0 = cases_now();
        cl_err e =
            i == 1 ? store_put(st, "down", "s", "y", "{}") : store_get(st, "down", "s", "x", &doc);
        double took = cases_now() - t0;
        assert_int_equal(e, CL_ERR_UNAVAILABLE);
        assert_true(store_unavailable_seen());
        assert_true(took < 3.0); /* timeout_ms + 1 s */
        uint64_t w = store_write_seq(st);
        assert_true(store_write_seq(st) != w); /* the feed is down too */
    }
    assert_int_equal(store_ping(st), CL_ERR_UNAVAILABLE);
    assert_int_equal(cluster_start(), 0);
    cl_err e = CL_ERR_UNAVAILABLE;
    char *doc = NULL;
    double t0 = cases_now();
    while (e != CL_OK && cases_now() - t0 < 5) {
        e = store_get(st, "down", "s", "x", &doc);
        if (e != CL_OK) usleep(50 * 1000);
    }
    printf("# back %.0f ms after the cluster started\n", (cases_now() - t0) * 1000);
    assert_int_equal(e, CL_OK);
    assert_string_equal(doc, "{\"v\":1}");
    free(doc);
    assert_int_equal(store_put(st, "down", "s", "y", "{}"), CL_OK);
    store_close(st);
}

/* ---- two handles open an empty database at once: one migration ---- */
static void *open_thread(void *arg) {
    store *st = NULL;
    store_options o = {.pool_size = 2};
    if (store_open_opts(arg, &o, &st) != CL_OK) return (void *)1;
    int v = store_schema_version(st);
    store_close(st);
    return v == 1 ? NULL : (void *)2;
}

static void test_one_migration(void **s) {
    (void)s;
    NEED_PG();
    char murl[256];
    char *args = cl_sprintf("createdb %s mig", dir);
    assert_int_equal(pgtmp(args, murl, sizeof murl), 0);
    free(args);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, open_thread, murl), 0);
    for (int i = 0; i < 2; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    char *save = cl_strdup(url);
    snprintf(url, sizeof url, "%s", murl);
    char *n = sql1("SELECT count(*) FROM schema_version");
    snprintf(url, sizeof url, "%s", save);
    free(save);
    assert_non_null(n);
    assert_string_equal(n, "1");
    free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        STORE_CASES,
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_feed_lost),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_keyed),
        cmocka_unit_test(test_blocked_statement),
        cmocka_unit_test(test_one_migration),
        cmocka_unit_test(test_cluster_stopped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_store.c — the meta store over SQLite: CRUD, ordered listing with prefix,
 * start-after and limits, transactions that roll back, migrations recorded, and
 * durability: writes acknowledged by a child process survive its SIGKILL, and
 * store_update: concurrent read-modify-writes lose no update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int setup(void **s) {
    (void)s;
    strcpy(dir, "/tmp/cl-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s) {
    (void)s;
    char *cmd = cl_sprintf("rm -rf %s", dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static store *open_db(const char *name) {
    char *p = cl_sprintf("sqlite:%s/%s", dir, name);
    store *st = NULL;
    assert_int_equal(store_open(p, &st), CL_OK);
    free(p);
    return st;
}

static void test_crud(void **s) {
    (void)s;
    store *st = open_db("crud.db");
    assert_int_equal(store_schema_version(st), 1);
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
    store *st = open_db("list.db");
    const char *names[] = {"b/2", "a", "b/1", "c", "b/3", "b0"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(store_put(st, "k", "s", names[i], "{}"), CL_OK);
    collected c = {0};
    bool more = false;
    assert_int_equal(store_list(st, "k", "s", NULL, NULL, 0, collect, &c, &more), CL_OK);
    assert_int_equal(c.n, 6);
    assert_string_equal(c.names[0], "a");
    assert_string_equal(c.names[5], "c");
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
    store_close(st);
}

static cl_err txn_fail(store *st, void *arg) {
    (void)arg;
    assert_int_equal(store_put(st, "k", "t", "x", "{}"), CL_OK);
    return CL_ERR_CONFLICT;
}

static cl_err txn_ok(store *st, void *arg) {
    (void)arg;
    return store_put(st, "k", "t", "y", "{}");
}

static void test_txn(void **s) {
    (void)s;
    store *st = open_db("txn.db");
    assert_int_equal(store_txn(st, txn_fail, NULL), CL_ERR_CONFLICT);
    char *doc = NULL;
    assert_int_equal(store_get(st, "k", "t", "x", &doc), CL_ERR_NOT_FOUND);
    assert_int_equal(store_txn(st, txn_ok, NULL), CL_OK);
    assert_int_equal(store_get(st, "k", "t", "y", &doc), CL_OK);
    free(doc);
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
#define UPD_ROUNDS 150

static void *incr_thread(void *arg) {
    for (int i = 0; i < UPD_ROUNDS; i++)
        if (store_update(arg, "k", "t", "counter", incr, NULL) != CL_OK) return (void *)1;
    return NULL;
}

static void test_update(void **s) {
    (void)s;
    store *st = open_db("update.db");
    bool absent = false;
    assert_int_equal(store_update(st, "k", "t", "none", keep, &absent), CL_OK);
    assert_true(absent); /* absent item: cur is NULL, and nothing is created */
    char *doc = NULL;
    assert_int_equal(store_get(st, "k", "t", "none", &doc), CL_ERR_NOT_FOUND);
    pthread_t th[UPD_THREADS];
    for (int i = 0; i < UPD_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, incr_thread, st), 0);
    for (int i = 0; i < UPD_THREADS; i++) {
        void *rc = NULL;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    assert_int_equal(store_get(st, "k", "t", "counter", &doc), CL_OK);
    char *want = cl_sprintf("{\"n\":%d}", UPD_THREADS * UPD_ROUNDS);
    assert_string_equal(doc, want); /* every increment survived */
    free(want);
    free(doc);
    assert_int_equal(store_update(st, "k", "t", "counter", refuse, NULL), CL_ERR_CONFLICT);
    assert_int_equal(store_get(st, "k", "t", "counter", &doc), CL_OK);
    assert_null(strstr(doc, "-1"));
    free(doc);
    store_close(st);
}

/* A child writes items and reports each acknowledged one on a pipe; the parent
 * kills it mid-stream with SIGKILL, then every reported item must be there. */
static void test_kill9_durability(void **s) {
    (void)s;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        store *st = NULL;
        char *p = cl_sprintf("%s/kill.db", dir);
        if (store_open(p, &st) != CL_OK) _exit(3);
        for (int i = 0;; i++) {
            char name[32];
            snprintf(name, sizeof name, "item-%08d", i);
            if (store_put(st, "obj", "b", name, "{\"v\":1}") != CL_OK) _exit(4);
            if (write(fds[1], &i, sizeof i) != sizeof i) _exit(5);
        }
    }
    close(fds[1]);
    int last = -1, v;
    while (last < 200 && read(fds[0], &v, sizeof v) == sizeof v)
        last = v;
    kill(pid, SIGKILL);
    while (read(fds[0], &v, sizeof v) == sizeof v)
        last = v; /* acks sent before death */
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    store *st = open_db("kill.db");
    for (int i = 0; i <= last; i++) {
        char name[32], *doc = NULL;
        snprintf(name, sizeof name, "item-%08d", i);
        assert_int_equal(store_get(st, "obj", "b", name, &doc), CL_OK);
        free(doc);
    }
    store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_txn),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_kill9_durability),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

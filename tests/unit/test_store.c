/* test_store.c — the meta store over SQLite: the shared backend cases
 * (store_cases.h: CRUD, ordered listing with prefix, start-after and limits,
 * transactions that roll back, nested calls, concurrent readers during a
 * transaction, store_update losing no update, leases, scan_all order), plus
 * SQLite's own: durability (writes acknowledged by a child process survive its
 * SIGKILL), a database newer than the binary is refused, and URLs. */
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

/* The same name opens the same file (two handles = two pools on one file). */
static store *cases_open(const char *name) {
    char *p = cl_sprintf("sqlite:%s/%s.db", dir, name);
    store *st = NULL;
    assert_int_equal(store_open(p, &st), CL_OK);
    free(p);
    assert_string_equal(store_backend_name(st), "sqlite");
    return st;
}

#include "store_cases.h"

static store *open_db(const char *name) {
    char *p = cl_sprintf("%s/%s", dir, name);
    store *st = NULL;
    assert_int_equal(store_open(p, &st), CL_OK); /* a plain path is SQLite too */
    free(p);
    return st;
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

/* A database whose schema is newer than this binary is refused; a URL of an
 * unknown scheme too. */
static void test_refuse(void **s) {
    (void)s;
    store *st = open_db("newer.db");
    store_close(st);
    char *cmd =
        cl_sprintf("sqlite3 %s/newer.db 'INSERT INTO schema_version(version) VALUES (99)'", dir);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0) skip(); /* no sqlite3 shell */
    char *p = cl_sprintf("%s/newer.db", dir);
    st = NULL;
    assert_int_equal(store_open(p, &st), CL_ERR_INVALID);
    assert_null(st);
    free(p);
    assert_int_equal(store_open("mysql://x/y", &st), CL_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        STORE_CASES,
        cmocka_unit_test(test_kill9_durability),
        cmocka_unit_test(test_refuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

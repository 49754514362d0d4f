/* test_queue.c — the durable task queue (src/tasks/queue.c) on a real SQLite
 * meta store: two threads leasing fifty tasks get each exactly once; priority
 * then FIFO order; a lease that expires puts the task back (attempt 2) and a
 * stale worker's outcome is refused; max attempts fail it; roles, LocalOnly
 * and the per-account limit decide who leases what; a failed publication
 * (the commit hook) leaves the task leased and unpublished; cancel and retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tasks/tasks_internal.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static store *st;
static tasks *t;

static int rm_one(const char *p, const struct stat *s, int flag, struct FTW *f) {
    (void)s;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cl-queue-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *db = cl_sprintf("%s/meta.db", dir);
    assert_int_equal(store_open(db, &st), CL_OK);
    free(db);
    assert_int_equal(tasks_open(st, NULL, dir, &t), CL_OK);
    t->qcfg = (queue_limits_cfg){30, 3, 0};
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tasks_close(t);
    store_close(st);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static unsigned seq;

static void add(const char *account, int prio, const char *role, bool local_only, char id[67]) {
    snprintf(id, 67, "0x%064x", ++seq);
    json_t *doc = json_pack("{s:s, s:s, s:i, s:i, s:b, s:s, s:[]}", "TaskId", id, "Account",
                            account, "Priority", prio, "Attempt", 0, "LocalOnly", local_only,
                            "State", "queued", "States");
    if (role) json_object_set_new(doc, "RequireRole", json_string(role));
    assert_int_equal(queue_add(t, doc), CL_OK);
    json_decref(doc);
}

static const char *S(const json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

static json_t *lease(const queue_worker *w) {
    json_t *doc = NULL;
    cl_err e = queue_lease(t, w, &doc);
    if (e == CL_ERR_NOT_FOUND) return NULL;
    assert_int_equal(e, CL_OK);
    return doc;
}

static const queue_worker LOCAL = {.local = true, .name = "local-1"};

static json_t *get(const char *account, const char *id) {
    char *text = NULL;
    assert_int_equal(store_get(st, TASK_KIND, account, id, &text), CL_OK);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static cl_err finish(const json_t *leased, bool ok) {
    json_t *set = json_pack("{s:s}", "Note", "x");
    cl_err e = queue_finish(t, S(leased, "TaskId"), S(json_object_get(leased, "Lease"), "Id"), NULL,
                            ok, set, NULL, NULL, NULL);
    json_decref(set);
    return e;
}

/* ---- fifty tasks, two workers: each task once ---- */
static void *drain(void *arg) {
    unsigned *n = arg;
    json_t *d;
    while ((d = lease(&LOCAL)) != NULL) {
        assert_int_equal(finish(d, true), CL_OK);
        json_decref(d);
        (*n)++;
    }
    return NULL;
}

static void test_two_workers_fifty_tasks(void **state) {
    (void)state;
    char id[67];
    for (int i = 0; i < 50; i++)
        add("111122223333", 5, NULL, false, id);
    unsigned a = 0, b = 0;
    pthread_t ta, tb;
    pthread_create(&ta, NULL, drain, &a);
    pthread_create(&tb, NULL, drain, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a + b, 50);
    for (unsigned i = seq - 49; i <= seq; i++) {
        snprintf(id, sizeof id, "0x%064x", i);
        json_t *d = get("111122223333", id);
        assert_string_equal(S(d, "State"), "done");
        assert_int_equal(json_integer_value(json_object_get(d, "Attempt")), 1);
        json_decref(d);
    }
}

static void test_priority_then_fifo(void **state) {
    (void)state;
    char low[67], first[67], high[67], second[67];
    add("111122223333", 1, NULL, false, low);
    add("111122223333", 5, NULL, false, first);
    add("111122223333", 9, NULL, false, high);
    add("111122223333", 5, NULL, false, second);
    const char *want[] = {high, first, second, low};
    for (int i = 0; i < 4; i++) {
        json_t *d = lease(&LOCAL);
        assert_non_null(d);
        assert_string_equal(S(d, "TaskId"), want[i]);
        assert_int_equal(finish(d, true), CL_OK);
        json_decref(d);
    }
    assert_null(lease(&LOCAL));
}

static void test_expired_lease_is_retried_then_fails(void **state) {
    (void)state;
    t->qcfg = (queue_limits_cfg){1, 2, 0};
    char id[67];
    add("111122223333", 5, NULL, false, id);
    json_t *first = lease(&LOCAL);
    assert_non_null(first);
    assert_null(lease(&LOCAL)); /* leased: nobody else gets it */
    sleep(2);
    assert_int_equal(queue_reap(t), 1);
    json_t *second = lease(&LOCAL);
    assert_non_null(second);
    assert_int_equal(json_integer_value(json_object_get(second, "Attempt")), 2);
    assert_int_equal(finish(first, true), CL_ERR_DENIED); /* the stale worker */
    sleep(2);
    assert_int_equal(queue_reap(t), 1);
    json_t *d = get("111122223333", id);
    assert_string_equal(S(d, "State"), "failed");
    assert_non_null(strstr(S(d, "Error"), "lease expired"));
    assert_null(lease(&LOCAL));
    assert_int_equal(finish(second, true), CL_ERR_DENIED);
    json_decref(d);
    json_decref(first);
    json_decref(second);
    t->qcfg = (queue_limits_cfg){30, 3, 0};
}

static void test_who_leases_what(void **state) {
    (void)state;
    const char *role = "arn:aws:iam::111122223333:role/prover";
    queue_worker plain = {.principal_id = "AIDAPLAIN", .name = "plain"};
    queue_worker prover = {.principal_id = "AROAPROVER:s", .role_arn = role, .name = "prover"};
    char needs_role[67], local_only[67];
    add("111122223333", 5, role, false, needs_role);
    add("111122223333", 5, NULL, true, local_only);
    assert_null(lease(&plain)); /* neither: a role it lacks, and a node-only task */
    json_t *d = lease(&prover);
    assert_non_null(d);
    assert_string_equal(S(d, "TaskId"), needs_role);
    /* only the holder may act on the lease */
    const char *lid = S(json_object_get(d, "Lease"), "Id");
    assert_int_equal(queue_heartbeat(t, needs_role, lid, "AIDAPLAIN", "running", NULL, NULL),
                     CL_ERR_DENIED);
    assert_int_equal(queue_heartbeat(t, needs_role, lid, "AROAPROVER:s", "running", NULL, NULL),
                     CL_OK);
    assert_int_equal(queue_finish(t, needs_role, lid, "AROAPROVER:s", true, NULL, NULL, NULL, NULL),
                     CL_OK);
    json_decref(d);
    d = lease(&LOCAL);
    assert_non_null(d);
    assert_string_equal(S(d, "TaskId"), local_only);
    assert_int_equal(finish(d, true), CL_OK);
    json_decref(d);
}

static cl_err refuse(void *arg, store *s, json_t *doc) {
    (void)arg;
    (void)s;
    (void)doc;
    return CL_ERR_DENIED;
}

static void test_failed_publication_changes_nothing(void **state) {
    (void)state;
    char id[67];
    add("111122223333", 5, NULL, false, id);
    json_t *d = lease(&LOCAL);
    const char *lid = S(json_object_get(d, "Lease"), "Id");
    assert_int_equal(queue_finish(t, id, lid, NULL, true, NULL, refuse, NULL, NULL), CL_ERR_DENIED);
    json_t *now = get("111122223333", id);
    assert_string_equal(S(now, "State"), "leased");
    json_decref(now);
    assert_int_equal(queue_finish(t, id, lid, NULL, true, NULL, NULL, NULL, NULL), CL_OK);
    assert_int_equal(queue_finish(t, id, lid, NULL, true, NULL, NULL, NULL, NULL), CL_ERR_DENIED);
    json_decref(d);
}

static void test_cancel_and_retry(void **state) {
    (void)state;
    char id[67], msg[200];
    add("111122223333", 5, NULL, false, id);
    json_t *d = NULL;
    assert_int_equal(queue_owner_change(t, "111122223333", id, true, msg, sizeof msg, &d),
                     CL_ERR_EXISTS); /* a queued task is not retried */
    assert_int_equal(queue_owner_change(t, "111122223333", id, false, msg, sizeof msg, &d), CL_OK);
    assert_string_equal(S(d, "State"), "cancelled");
    json_decref(d);
    assert_null(lease(&LOCAL));
    assert_int_equal(queue_owner_change(t, "111122223333", id, true, msg, sizeof msg, &d), CL_OK);
    assert_string_equal(S(d, "State"), "queued");
    json_decref(d);
    d = lease(&LOCAL);
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "Attempt")), 1);
    /* cancelled while leased: the worker's heartbeat says so, its outcome
     * does not change the state */
    json_t *c = NULL;
    assert_int_equal(queue_owner_change(t, "111122223333", id, false, msg, sizeof msg, &c), CL_OK);
    json_decref(c);
    bool cancelled = false;
    assert_int_equal(queue_heartbeat(t, id, S(json_object_get(d, "Lease"), "Id"), NULL, "running",
                                     NULL, &cancelled),
                     CL_OK);
    assert_true(cancelled);
    assert_int_equal(finish(d, true), CL_OK);
    json_t *now = get("111122223333", id);
    assert_string_equal(S(now, "State"), "cancelled");
    json_decref(now);
    json_decref(d);
}

static void test_account_limit(void **state) {
    (void)state;
    t->qcfg.account_max = 1;
    char a1[67], a2[67], b1[67];
    add("111111111111", 5, NULL, false, a1);
    add("111111111111", 5, NULL, false, a2);
    add("222222222222", 5, NULL, false, b1);
    json_t *x = lease(&LOCAL), *y = lease(&LOCAL);
    assert_string_equal(S(x, "TaskId"), a1);
    assert_string_equal(S(y, "TaskId"), b1); /* a2 waits for a1 */
    assert_null(lease(&LOCAL));
    assert_int_equal(finish(x, true), CL_OK);
    json_t *z = lease(&LOCAL);
    assert_string_equal(S(z, "TaskId"), a2);
    assert_int_equal(finish(y, true), CL_OK);
    assert_int_equal(finish(z, true), CL_OK);
    json_decref(x);
    json_decref(y);
    json_decref(z);
    t->qcfg.account_max = 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers_fifty_tasks),
        cmocka_unit_test(test_priority_then_fifo),
        cmocka_unit_test(test_expired_lease_is_retried_then_fails),
        cmocka_unit_test(test_who_leases_what),
        cmocka_unit_test(test_failed_publication_changes_nothing),
        cmocka_unit_test(test_cancel_and_retry),
        cmocka_unit_test(test_account_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

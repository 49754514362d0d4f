/* test_secrets_store.c — the store of requester secrets (secrets_store.c):
 * round trip, write-once, bad names and sizes refused, values sealed at rest
 * (the raw meta-store document does not hold them), write-once under
 * concurrent pushes, and a store opened with
 * another key (or an item moved to another owner or name) cannot open them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets/secrets.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static store *st;
static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const char VALUE[] = "zq-unit-distinctive-secret-value";

static int setup(void **s) {
    (void)s;
    strcpy(dir, "/tmp/cl-secrets-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char *p = cl_sprintf("sqlite:%s/meta.db", dir);
    cl_err e = store_open(p, &st);
    free(p);
    return e == CL_OK ? 0 : -1;
}

static int teardown(void **s) {
    (void)s;
    store_close(st);
    char *cmd = cl_sprintf("rm -rf %s", dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static secrets_addr addr(uint8_t fill) {
    secrets_addr a;
    memset(a.b, fill, sizeof a.b);
    return a;
}

static void test_round_trip_write_once(void **s) {
    (void)s;
    secrets_store *ss = NULL;
    assert_int_equal(secrets_store_open(st, KEY, &ss), CL_OK);
    secrets_addr a = addr(0xab), b = addr(0xcd);
    assert_int_equal(secrets_store_exists(ss, &a, "x1"), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_store_put(ss, &a, "x1", slice_cstr(VALUE)), CL_OK);
    assert_int_equal(secrets_store_exists(ss, &a, "x1"), CL_OK);
    assert_int_equal(secrets_store_exists(ss, &b, "x1"), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_store_put(ss, &a, "x1", slice_cstr("other")), CL_ERR_EXISTS);
    cl_buf v = CL_BUF_INIT;
    assert_int_equal(secrets_store_get(ss, &a, "x1", &v), CL_OK);
    assert_int_equal(v.len, strlen(VALUE));
    assert_memory_equal(v.ptr, VALUE, v.len); /* the first value stays */
    buf_free_secret(&v);
    assert_int_equal(secrets_store_get(ss, &b, "x1", &v), CL_ERR_NOT_FOUND);
    /* an empty value and one of exactly 4096 bytes are values too */
    assert_int_equal(secrets_store_put(ss, &b, "empty", slice_cstr("")), CL_OK);
    assert_int_equal(secrets_store_get(ss, &b, "empty", &v), CL_OK);
    assert_int_equal(v.len, 0);
    char big[4097];
    memset(big, 'v', sizeof big);
    assert_int_equal(secrets_store_put(ss, &b, "big", slice_of(big, 4096)), CL_OK);
    assert_int_equal(secrets_store_put(ss, &b, "big2", slice_of(big, 4097)), CL_ERR_TOO_LARGE);
    assert_int_equal(secrets_store_put(ss, &b, "bad.name", slice_cstr("1")), CL_ERR_INVALID);
    assert_int_equal(secrets_store_put(ss, &b, "", slice_cstr("1")), CL_ERR_INVALID);
    assert_int_equal(secrets_store_exists(ss, &b, "bad/name"), CL_ERR_INVALID);
    buf_free_secret(&v);
    secrets_store_close(ss);
}

static void test_sealed_at_rest(void **s) {
    (void)s;
    secrets_store *ss = NULL;
    secrets_store_open(st, KEY, &ss);
    secrets_addr a = addr(0x11);
    assert_int_equal(secrets_store_put(ss, &a, "rest", slice_cstr(VALUE)), CL_OK);
    char scope[SECRETS_ADDR_STR_LEN + 1], *doc = NULL;
    secrets_addr_format(&a, scope);
    assert_int_equal(store_get(st, "sms_secret", scope, "rest", &doc), CL_OK);
    assert_null(strstr(doc, VALUE));
    assert_non_null(strstr(doc, "Sealed"));
    /* the same document under another name or owner does not open (AAD) */
    secrets_addr o = addr(0x12);
    char oscope[SECRETS_ADDR_STR_LEN + 1];
    secrets_addr_format(&o, oscope);
    assert_int_equal(store_insert(st, "sms_secret", scope, "moved", doc), CL_OK);
    assert_int_equal(store_insert(st, "sms_secret", oscope, "rest", doc), CL_OK);
    cl_buf v = CL_BUF_INIT;
    assert_int_equal(secrets_store_get(ss, &a, "moved", &v), CL_ERR_CRYPTO);
    assert_int_equal(secrets_store_get(ss, &o, "rest", &v), CL_ERR_CRYPTO);
    assert_int_equal(v.len, 0);
    free(doc);
    secrets_store_close(ss);
    /* another key cannot open it */
    uint8_t other[32] = {9};
    secrets_store_open(st, other, &ss);
    assert_int_equal(secrets_store_exists(ss, &a, "rest"), CL_OK);
    assert_int_equal(secrets_store_get(ss, &a, "rest", &v), CL_ERR_CRYPTO);
    assert_int_equal(v.len, 0);
    secrets_store_close(ss);
    buf_free_secret(&v);
}

typedef struct {
    secrets_store *ss;
    char value[16];
    cl_err e;
} racer;

static void *race_put(void *arg) {
    racer *r = arg;
    secrets_addr a = addr(0x77);
    r->e = secrets_store_put(r->ss, &a, "race", slice_cstr(r->value));
    return NULL;
}

/* Write-once holds under concurrent pushes: exactly one wins, and its value stays. */
static void test_concurrent_write_once(void **s) {
    (void)s;
    secrets_store *ss = NULL;
    secrets_store_open(st, KEY, &ss);
    enum { N = 8 };
    racer r[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        r[i].ss = ss;
        snprintf(r[i].value, sizeof r[i].value, "value-%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, race_put, &r[i]), 0);
    }
    int won = -1, wins = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (r[i].e == CL_OK)
            won = i, wins++;
        else
            assert_int_equal(r[i].e, CL_ERR_EXISTS);
    }
    assert_int_equal(wins, 1);
    secrets_addr a = addr(0x77);
    cl_buf v = CL_BUF_INIT;
    assert_int_equal(secrets_store_get(ss, &a, "race", &v), CL_OK);
    assert_int_equal(v.len, strlen(r[won].value));
    assert_memory_equal(v.ptr, r[won].value, v.len);
    buf_free_secret(&v);
    secrets_store_close(ss);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_write_once),
        cmocka_unit_test(test_sealed_at_rest),
        cmocka_unit_test(test_concurrent_write_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_secrets_store.c — the store of requester secrets (secrets_store.c):
 * round trip, write-once, bad names and sizes refused, values sealed at rest
 * (the raw meta-store document does not hold them), write-once under
 * concurrent pushes, and a store opened with
 * another key (or an item moved to another owner or name) cannot open them.
 * Owners that are Cloister principals, the separate debug namespace (an item
 * moved across modes does not open), items in the first layout stay readable,
 * wallet links and the run engine's look-ups (secrets_for_run: own secret
 * first, then the linked address's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets/secrets.h"
#include "crypto/crypto.h"
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

static const secrets_owner PRINCIPAL = {.account = "123456789012", .principal = "AIDAEXAMPLE"};

static void test_principal_and_debug_namespaces(void **s) {
    (void)s;
    secrets_store *ss = NULL;
    secrets_store_open(st, KEY, &ss);
    secrets_addr a = addr(0x21);
    secrets_owner byaddr = {.addr = &a};
    char created[32] = "x";
    cl_buf v = CL_BUF_INIT;
    assert_int_equal(secrets_owner_put(ss, &PRINCIPAL, "k", false, slice_cstr("prod")), CL_OK);
    assert_int_equal(secrets_owner_exists(ss, &PRINCIPAL, "k", true, NULL), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_owner_get(ss, &PRINCIPAL, "k", true, &v), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_owner_put(ss, &PRINCIPAL, "k", true, slice_cstr("dbg")), CL_OK);
    assert_int_equal(secrets_owner_put(ss, &PRINCIPAL, "k", true, slice_cstr("2")), CL_ERR_EXISTS);
    assert_int_equal(secrets_owner_put(ss, &PRINCIPAL, "k", false, slice_cstr("2")), CL_ERR_EXISTS);
    assert_int_equal(secrets_owner_exists(ss, &PRINCIPAL, "k", false, created), CL_OK);
    assert_int_equal(strlen(created), 20); /* 2026-01-01T00:00:00Z */
    assert_int_equal(secrets_owner_get(ss, &PRINCIPAL, "k", false, &v), CL_OK);
    assert_int_equal(v.len, 4);
    assert_memory_equal(v.ptr, "prod", 4);
    v.len = 0;
    assert_int_equal(secrets_owner_get(ss, &PRINCIPAL, "k", true, &v), CL_OK);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.ptr, "dbg", 3);
    v.len = 0;
    /* another principal, the same name: another secret */
    secrets_owner other = {.account = "123456789012", .principal = "AIDAOTHER"};
    assert_int_equal(secrets_owner_exists(ss, &other, "k", false, NULL), CL_ERR_NOT_FOUND);
    /* address owners have a debug namespace too; the SMS shorthand is production */
    assert_int_equal(secrets_owner_put(ss, &byaddr, "1", true, slice_cstr("d")), CL_OK);
    assert_int_equal(secrets_store_exists(ss, &a, "1"), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_store_put(ss, &a, "1", slice_cstr("p")), CL_OK);
    assert_int_equal(secrets_owner_exists(ss, &byaddr, "1", false, NULL), CL_OK);
    /* bad owners */
    secrets_owner bad = {.account = "12345", .principal = "AIDA"};
    assert_int_equal(secrets_owner_put(ss, &bad, "k", false, slice_cstr("1")), CL_ERR_INVALID);
    bad = (secrets_owner){.account = "123456789012", .principal = "AROA:session"};
    assert_int_equal(secrets_owner_put(ss, &bad, "k", false, slice_cstr("1")), CL_ERR_INVALID);
    /* a debug item moved into the production namespace (and back) does not open */
    char *doc = NULL;
    assert_int_equal(store_get(st, "secret_debug", "123456789012/AIDAEXAMPLE", "k", &doc), CL_OK);
    assert_null(strstr(doc, "dbg"));
    assert_int_equal(store_insert(st, "secret", "123456789012/AIDAEXAMPLE", "moved", doc), CL_OK);
    assert_int_equal(secrets_owner_get(ss, &PRINCIPAL, "moved", false, &v), CL_ERR_CRYPTO);
    free(doc);
    assert_int_equal(
        store_get(st, "sms_secret", "0x2121212121212121212121212121212121212121", "1", &doc),
        CL_OK);
    assert_int_equal(store_insert(st, "sms_secret_debug",
                                  "0x2121212121212121212121212121212121212121", "m", doc),
                     CL_OK);
    assert_int_equal(secrets_owner_get(ss, &byaddr, "m", true, &v), CL_ERR_CRYPTO);
    assert_int_equal(v.len, 0);
    free(doc);
    buf_free_secret(&v);
    secrets_store_close(ss);
}

/* An item written by the first layout (AAD label v1 || owner || name, no
 * Created) opens. */
static void test_first_layout_readable(void **s) {
    (void)s;
    static const char label[] = "cloister/secrets/sms/v1";
    secrets_addr a = addr(0x31);
    uint8_t sealed[CRYPTO_GCM_IV_LEN + 5 + CRYPTO_GCM_TAG_LEN];
    cl_buf aad = CL_BUF_INIT, b64 = CL_BUF_INIT;
    buf_append(&aad, label, sizeof label);
    buf_append(&aad, a.b, sizeof a.b);
    buf_append_cstr(&aad, "old");
    crypto_random(sealed, CRYPTO_GCM_IV_LEN);
    assert_int_equal(crypto_gcm_seal(KEY, sealed, buf_slice(&aad), slice_cstr("hello"),
                                     sealed + CRYPTO_GCM_IV_LEN),
                     CL_OK);
    base64_encode(&b64, slice_of(sealed, sizeof sealed));
    char *doc = cl_sprintf("{\"Sealed\":\"%s\",\"Version\":1}", buf_cstr(&b64));
    assert_int_equal(
        store_insert(st, "sms_secret", "0x3131313131313131313131313131313131313131", "old", doc),
        CL_OK);
    secrets_store *ss = NULL;
    secrets_store_open(st, KEY, &ss);
    cl_buf v = CL_BUF_INIT;
    char created[32] = "x";
    assert_int_equal(secrets_owner_exists(ss, &(secrets_owner){.addr = &a}, "old", false, created),
                     CL_OK);
    assert_string_equal(created, "");
    assert_int_equal(secrets_store_get(ss, &a, "old", &v), CL_OK);
    assert_int_equal(v.len, 5);
    assert_memory_equal(v.ptr, "hello", 5);
    buf_free_secret(&v);
    secrets_store_close(ss);
    free(doc);
    buf_free(&aad);
    buf_free(&b64);
}

static void test_wallet_and_for_run(void **s) {
    (void)s;
    secrets_store *ss = NULL;
    secrets_store_open(st, KEY, &ss);
    const char *acct = "210987654321", *pid = "AROARUNNER";
    secrets_addr w = addr(0xac), ab = addr(0xab), got, app = addr(0x41);
    uint8_t ch[32];
    char hex[65];
    secrets_wallet_challenge("123456789012", "AIDAEXAMPLE", &ab, ch);
    hex_encode_to(hex, ch, sizeof ch);
    assert_string_equal(hex, "c15d45a5c876df06695bb09547cea4b8170c7d5c2d4c475fb3583985435e5aad");
    cl_buf v = CL_BUF_INIT;
    assert_int_equal(secrets_wallet_get(ss, acct, pid, &got), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_for_run(ss, acct, pid, "x1", false, &v), CL_ERR_NOT_FOUND);
    /* pushed through the SMS by w: visible once the principal links w */
    assert_int_equal(secrets_store_put(ss, &w, "x1", slice_cstr("2")), CL_OK);
    assert_int_equal(secrets_for_run(ss, acct, pid, "x1", false, &v), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_wallet_link(ss, acct, pid, &w), CL_OK);
    assert_int_equal(secrets_wallet_get(ss, acct, pid, &got), CL_OK);
    assert_true(secrets_addr_eq(&got, &w));
    assert_int_equal(secrets_for_run(ss, acct, pid, "x1", false, &v), CL_OK);
    assert_int_equal(v.len, 1);
    assert_memory_equal(v.ptr, "2", 1);
    v.len = 0;
    /* a debug run does not get the production secret */
    assert_int_equal(secrets_for_run(ss, acct, pid, "x1", true, &v), CL_ERR_NOT_FOUND);
    /* the principal's own secret comes first */
    secrets_owner me = {.account = acct, .principal = pid};
    assert_int_equal(secrets_owner_put(ss, &me, "x1", false, slice_cstr("own")), CL_OK);
    assert_int_equal(secrets_for_run(ss, acct, pid, "x1", false, &v), CL_OK);
    assert_int_equal(v.len, 3);
    v.len = 0;
    /* unlinked: only its own secrets */
    assert_int_equal(secrets_store_put(ss, &w, "x2", slice_cstr("3")), CL_OK);
    assert_int_equal(secrets_for_run(ss, acct, pid, "x2", false, &v), CL_OK);
    v.len = 0;
    assert_int_equal(secrets_wallet_unlink(ss, acct, pid), CL_OK);
    assert_int_equal(secrets_wallet_unlink(ss, acct, pid), CL_OK);
    assert_int_equal(secrets_for_run(ss, acct, pid, "x2", false, &v), CL_ERR_NOT_FOUND);
    /* another principal of the same account does not see them */
    assert_int_equal(secrets_for_run(ss, acct, "AIDASOMEONE", "x1", false, &v), CL_ERR_NOT_FOUND);
    /* the app developer secret */
    assert_int_equal(secrets_app_for_run(ss, &app, false, &v), CL_ERR_NOT_FOUND);
    assert_int_equal(
        secrets_owner_put(ss, &(secrets_owner){.addr = &app}, "1", true, slice_cstr("1;1;1;1")),
        CL_OK);
    assert_int_equal(secrets_app_for_run(ss, &app, false, &v), CL_ERR_NOT_FOUND);
    assert_int_equal(secrets_app_for_run(ss, &app, true, &v), CL_OK);
    assert_int_equal(v.len, 7);
    v.len = 0;
    secrets_owner appo = {.addr = &app};
    assert_int_equal(secrets_owner_delete(ss, &appo, "1", true), CL_OK);
    assert_int_equal(secrets_owner_delete(ss, &appo, "1", true), CL_OK);
    assert_int_equal(secrets_app_for_run(ss, &app, true, &v), CL_ERR_NOT_FOUND);
    buf_free_secret(&v);
    secrets_store_close(ss);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_write_once),
        cmocka_unit_test(test_sealed_at_rest),
        cmocka_unit_test(test_concurrent_write_once),
        cmocka_unit_test(test_principal_and_debug_namespaces),
        cmocka_unit_test(test_first_layout_readable),
        cmocka_unit_test(test_wallet_and_for_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

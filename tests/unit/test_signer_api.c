/* test_signer_api.c — the remote signer server's pure pieces
 * (src/signer/keymanager_parse.c): the keymanager import and delete body
 * parsers (well-formed bodies, each malformed shape refused with a message,
 * nothing kept on failure) and the 0x-hex public key parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/api_internal.h"
#include "signer/keymanager_internal.h"

#include <string.h>

#define PK_HEX                                                                                     \
    "0x989d34725a2bfc3f15105f3f5fc8741f436c25ee1ee4f948e425d6bcb8c56bce6e06c269635b7e985a7ffa639e" \
    "2409bf"

static void test_pubkey(void **st) {
    (void)st;
    uint8_t pk[SIGNER_PK_LEN];
    assert_true(api_parse_pubkey(slice_cstr(PK_HEX), pk));
    char back[2 + 2 * SIGNER_PK_LEN + 1];
    api_pubkey_hex(pk, back);
    assert_string_equal(back, PK_HEX);
    assert_true(api_parse_pubkey(slice_cstr("0X989D34725A2BFC3F15105F3F5FC8741F436C25EE1EE4F948E42"
                                            "5D6BCB8C56BCE6E06C269635B7E985A7FFA639E2409BF"),
                                 pk));
    assert_false(api_parse_pubkey(slice_cstr(PK_HEX "00"), pk));
    assert_false(api_parse_pubkey(slice_cstr(PK_HEX + 2), pk));
    assert_false(api_parse_pubkey(slice_cstr("0x1234"), pk));
    char bad[] = PK_HEX;
    bad[10] = 'g';
    assert_false(api_parse_pubkey(slice_cstr(bad), pk));
    assert_false(api_parse_pubkey(CL_SLICE_NULL, pk));
}

static void test_import_ok(void **st) {
    (void)st;
    keymanager_import im;
    char err[256] = "";
    const char *body = "{\"keystores\":[\"{\\\"a\\\":1}\",\"k2\"],\"passwords\":[\"p1\",\"\"],"
                       "\"slashing_protection\":\"{}\"}";
    assert_int_equal(keymanager_parse_import(slice_cstr(body), &im, err, sizeof err), CL_OK);
    assert_int_equal(im.n, 2);
    assert_string_equal(im.keystores[0], "{\"a\":1}");
    assert_string_equal(im.passwords[1], "");
    assert_string_equal(im.slashing_protection, "{}");
    keymanager_import_free(&im);
    assert_int_equal(keymanager_parse_import(slice_cstr("{\"keystores\":[],\"passwords\":[]}"), &im,
                                             err, sizeof err),
                     CL_OK);
    assert_int_equal(im.n, 0);
    assert_null(im.slashing_protection);
    keymanager_import_free(&im);
}

static void test_import_bad(void **st) {
    (void)st;
    static const char *BAD[] = {
        "",
        "{",
        "[]",
        "{\"keystores\":[\"a\"]}",
        "{\"keystores\":[\"a\"],\"passwords\":[]}",
        "{\"keystores\":[1],\"passwords\":[\"p\"]}",
        "{\"keystores\":[\"a\"],\"passwords\":[null]}",
        "{\"keystores\":\"a\",\"passwords\":\"p\"}",
        "{\"keystores\":[],\"passwords\":[],\"slashing_protection\":{}}",
        "{\"keystores\":[],\"keystores\":[],\"passwords\":[]}",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        keymanager_import im;
        char err[256] = "";
        assert_int_equal(keymanager_parse_import(slice_cstr(BAD[i]), &im, err, sizeof err),
                         CL_ERR_INVALID);
        assert_true(err[0] != 0);
        assert_null(im.keystores);
    }
}

static void test_delete(void **st) {
    (void)st;
    uint8_t(*pks)[SIGNER_PK_LEN] = NULL;
    size_t n = 0;
    char err[256] = "";
    const char *body = "{\"pubkeys\":[\"" PK_HEX "\",\"" PK_HEX "\"]}";
    assert_int_equal(keymanager_parse_delete(slice_cstr(body), &pks, &n, err, sizeof err), CL_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(pks[0], pks[1], SIGNER_PK_LEN);
    free(pks);
    assert_int_equal(
        keymanager_parse_delete(slice_cstr("{\"pubkeys\":[]}"), &pks, &n, err, sizeof err), CL_OK);
    assert_int_equal(n, 0);
    free(pks);
    static const char *BAD[] = {"",
                                "{}",
                                "{\"pubkeys\":\"x\"}",
                                "{\"pubkeys\":[\"0x12\"]}",
                                "{\"pubkeys\":[1]}",
                                "[\"" PK_HEX "\"]"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err[0] = 0;
        assert_int_equal(keymanager_parse_delete(slice_cstr(BAD[i]), &pks, &n, err, sizeof err),
                         CL_ERR_INVALID);
        assert_null(pks);
        assert_int_equal(n, 0);
        assert_true(err[0] != 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pubkey),
        cmocka_unit_test(test_import_ok),
        cmocka_unit_test(test_import_bad),
        cmocka_unit_test(test_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

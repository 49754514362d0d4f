/* test_base.c — base and crypto: slices, buffers, form parsing, encodings,
 * time formats, durable file writes; SHA-256/HMAC against FIPS/RFC 4231 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/base.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_slice_split(void **s) {
    (void)s;
    cl_slice in = slice_cstr("a,b,,c"), part;
    const char *want[] = {"a", "b", "", "c"};
    int n = 0;
    while (slice_split(&in, ',', &part))
        assert_true(slice_eq_cstr(part, want[n++]));
    assert_int_equal(n, 4);
    assert_true(slice_eq_cstr(slice_trim(slice_cstr("  x y \t")), "x y"));
    uint64_t v;
    assert_int_equal(slice_to_u64(slice_cstr("18446744073709551615"), &v), CL_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(slice_to_u64(slice_cstr("18446744073709551616"), &v), CL_ERR_INVALID);
    assert_int_equal(slice_to_u64(slice_cstr("-1"), &v), CL_ERR_INVALID);
    assert_int_equal(slice_to_u64(slice_cstr(""), &v), CL_ERR_INVALID);
}

static void test_buf(void **s) {
    (void)s;
    cl_buf b = CL_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_appendf(&b, "%d,", i);
    assert_true(strncmp(buf_cstr(&b), "0,1,2,", 6) == 0);
    assert_int_equal(b.len, strlen(buf_cstr(&b)));
    char *t = buf_take_cstr(&b);
    assert_null(b.ptr);
    free(t);
}

static void test_form(void **s) {
    (void)s;
    cl_kvlist l = CL_KVLIST_INIT;
    assert_int_equal(
        kvlist_parse_form(&l,
                          slice_cstr("Action=ListUsers&Version=2010-05-08&A=b%20c+d&empty=&flag")),
        CL_OK);
    assert_string_equal(kvlist_get(&l, "Action"), "ListUsers");
    assert_string_equal(kvlist_get(&l, "A"), "b c d");
    assert_string_equal(kvlist_get(&l, "empty"), "");
    assert_string_equal(kvlist_get(&l, "flag"), "");
    kvlist_free(&l);
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "%=1"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(kvlist_parse_form(&l, slice_cstr(bad[i])), CL_ERR_INVALID);
        kvlist_free(&l);
    }
}

static void test_encodings(void **s) {
    (void)s;
    cl_buf b = CL_BUF_INIT;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) { /* RFC 4648 section 10 */
        buf_clear(&b);
        base64_encode(&b, slice_cstr(plain[i]));
        assert_true(slice_eq_cstr(buf_slice(&b), b64[i]));
        buf_clear(&b);
        assert_int_equal(base64_decode(&b, slice_cstr(b64[i])), CL_OK);
        assert_true(slice_eq_cstr(buf_slice(&b), plain[i]));
    }
    assert_int_equal(base64_decode(&b, slice_cstr("Zm9=v")), CL_ERR_INVALID);
    assert_int_equal(base64_decode(&b, slice_cstr("Zg=a")), CL_ERR_INVALID);
    buf_clear(&b);
    url_encode_aws(&b, slice_cstr("a b/~*é"), false);
    assert_string_equal(buf_cstr(&b), "a%20b%2F~%2A%C3%A9");
    buf_clear(&b);
    url_encode_aws(&b, slice_cstr("a b/c"), true);
    assert_string_equal(buf_cstr(&b), "a%20b/c");
    buf_clear(&b);
    assert_int_equal(hex_decode(&b, slice_cstr("00ff10")), CL_OK);
    assert_int_equal(b.len, 3);
    assert_int_equal(hex_decode(&b, slice_cstr("0g")), CL_ERR_INVALID);
    buf_free(&b);
}

static void test_time(void **s) {
    (void)s;
    time_t t, u;
    assert_int_equal(time_parse_amz(slice_cstr("20150830T123600Z"), &t), CL_OK);
    assert_true(t == 1440938160);
    char out[30];
    time_format_amz(t, out);
    assert_string_equal(out, "20150830T123600Z");
    time_format_iso8601(t, out);
    assert_string_equal(out, "2015-08-30T12:36:00Z");
    assert_int_equal(time_parse_iso8601(slice_cstr("2015-08-30T12:36:00.123Z"), &u), CL_OK);
    assert_true(u == t);
    time_format_http(t, out);
    assert_string_equal(out, "Sun, 30 Aug 2015 12:36:00 GMT");
    assert_int_equal(time_parse_http(slice_cstr(out), &u), CL_OK);
    assert_true(u == t);
    const char *bad[] = {"20150830T123600",  "20151330T123600Z", "20150230T123600Z",
                         "2015083OT123600Z", "20150830T246000Z", "",
                         "20230229T000000Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(time_parse_amz(slice_cstr(bad[i]), &u), CL_ERR_INVALID);
    assert_int_equal(time_parse_amz(slice_cstr("20240229T000000Z"), &u), CL_OK);
}

static void test_crypto_vectors(void **s) {
    (void)s;
    char hex[65];
    crypto_sha256_hex(slice_cstr("abc"), hex); /* FIPS 180-2 */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256_hex(slice_cstr(""), hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    uint8_t key[20], mac[32];
    memset(key, 0x0b, sizeof key); /* RFC 4231 test case 1 */
    crypto_hmac_sha256(slice_of(key, sizeof key), slice_cstr("Hi There"), mac);
    hex_encode_to(hex, mac, 32);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    char r1[41], r2[41];
    crypto_random_string(r1, 40, "AB");
    crypto_random_string(r2, 40, "AB");
    assert_int_equal(strlen(r1), 40);
    assert_string_not_equal(r1, r2); /* 2^-40 chance of a false failure */
    assert_true(cl_ct_eq("abc", "abc", 3));
    assert_false(cl_ct_eq("abc", "abd", 3));
}

static void test_file_atomic(void **s) {
    (void)s;
    char dir[] = "/tmp/cl-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = cl_sprintf("%s/a/b/f", dir);
    char *sub = cl_sprintf("%s/a/b", dir);
    assert_int_equal(dir_ensure(sub, 0700), CL_OK);
    assert_int_equal(file_write_atomic(path, slice_cstr("one"), 0600), CL_OK);
    assert_int_equal(file_write_atomic(path, slice_cstr("two"), 0600), CL_OK);
    cl_buf b = CL_BUF_INIT;
    assert_int_equal(file_read_all(path, &b, 100), CL_OK);
    assert_true(slice_eq_cstr(buf_slice(&b), "two"));
    buf_clear(&b);
    assert_int_equal(file_read_all(path, &b, 2), CL_ERR_TOO_LARGE);
    buf_free(&b);
    char *cmd = cl_sprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(path);
    free(sub);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_split), cmocka_unit_test(test_buf),
        cmocka_unit_test(test_form),        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_time),        cmocka_unit_test(test_crypto_vectors),
        cmocka_unit_test(test_file_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

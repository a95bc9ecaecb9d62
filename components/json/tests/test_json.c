/* JSON reader: real token responses (glewlwyd's, RFC 8628's and RFC 6749's examples), then every
 * kind of bad input with the error it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/json.h"

static char at[64], rt[32], tt[16], err[32], uri[64];
static uint32_t exp_in, interval;
static biff_json_field F[] = {
    { "access_token", BIFF_JSON_STRING, 0, at, sizeof at, NULL },
    { "refresh_token", BIFF_JSON_STRING, 0, rt, sizeof rt, NULL },
    { "token_type", BIFF_JSON_STRING, 0, tt, sizeof tt, NULL },
    { "error", BIFF_JSON_STRING, 0, err, sizeof err, NULL },
    { "verification_uri", BIFF_JSON_STRING, 0, uri, sizeof uri, NULL },
    { "expires_in", BIFF_JSON_UINT, 0, NULL, 0, &exp_in },
    { "interval", BIFF_JSON_UINT, 0, NULL, 0, &interval },
};
#define NF (sizeof F / sizeof F[0])

static biff_json_status rd(const char *s)
{
    return biff_json_read(s, strlen(s), F, NF, NULL, NULL);
}

static void test_token_response(void **state)
{
    (void)state;
    /* RFC 6749 section 5.1, with a nested member and an array that must be read over. */
    assert_int_equal(rd(" {\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\r\n\"token_type\":\"example\","
                        "\"expires_in\":3600,\"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\",\"example_parameter\":"
                        "{\"a\":[1,2.5e-3,true,false,null,{\"b\":\"\\u00e9\"}]},\"scope\":null} "),
                     BIFF_JSON_OK);
    assert_string_equal(at, "2YotnFZFEjr1zCsicMWpAA");
    assert_string_equal(rt, "tGzv3JOkF0XG5Qx2TlKWIA");
    assert_string_equal(tt, "example");
    assert_int_equal(exp_in, 3600);
    assert_true(F[0].found && F[1].found && F[2].found && F[5].found);
    assert_false(F[3].found || F[4].found || F[6].found);
    assert_string_equal(err, "");
    /* A member that is absent leaves its buffer as it was. */
    assert_int_equal(rd("{\"access_token\":\"new\",\"refresh_token\":null}"), BIFF_JSON_OK);
    assert_string_equal(at, "new");
    assert_string_equal(rt, "tGzv3JOkF0XG5Qx2TlKWIA");
    assert_false(F[1].found);
}

static void test_device_response(void **state)
{
    (void)state;
    /* RFC 8628 section 3.2; escaped slashes as some servers write them; expires_in as a string
     * as Azure AD's v1 endpoints send it. */
    assert_int_equal(rd("{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\",\"user_code\":\"WDJB-MJHT\","
                        "\"verification_uri\":\"https:\\/\\/example.com\\/device\",\"expires_in\":\"1800\","
                        "\"interval\":5}"),
                     BIFF_JSON_OK);
    assert_string_equal(uri, "https://example.com/device");
    assert_int_equal(exp_in, 1800);
    assert_int_equal(interval, 5);
}

static void test_escapes(void **state)
{
    (void)state;
    assert_int_equal(rd("{\"error\":\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}"), BIFF_JSON_OK);
    assert_string_equal(err, "a\"\\\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

typedef struct {
    const char *in;
    biff_json_status want;
    const char *member;
} bad;

static void test_errors(void **state)
{
    (void)state;
    static const bad v[] = {
        { "", BIFF_JSON_E_SYNTAX, NULL },
        { "<html><body>Bad Gateway</body></html>", BIFF_JSON_E_SYNTAX, NULL },
        { "[1,2]", BIFF_JSON_E_NOT_OBJECT, NULL },
        { "\"s\"", BIFF_JSON_E_NOT_OBJECT, NULL },
        { "{", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1,}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\" 1}", BIFF_JSON_E_SYNTAX, NULL },
        { "{a:1}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":01}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1.}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":-}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1e}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":tru}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"x\ny\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"\\x\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"\\u12\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"\\ud800\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"\\udc00\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":\"\\u0000\"}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1} x", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":1}{}", BIFF_JSON_E_SYNTAX, NULL },
        { "{\"a\":[[[[[[[[1]]]]]]]]}", BIFF_JSON_E_DEPTH, NULL },
        { "{\"access_token\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
          BIFF_JSON_E_TOO_LONG, "access_token" },
        { "{\"expires_in\":-1}", BIFF_JSON_E_TYPE, "expires_in" },
        { "{\"expires_in\":1.5}", BIFF_JSON_E_TYPE, "expires_in" },
        { "{\"expires_in\":4294967296}", BIFF_JSON_E_TYPE, "expires_in" },
        { "{\"expires_in\":\"12a\"}", BIFF_JSON_E_TYPE, "expires_in" },
        { "{\"expires_in\":true}", BIFF_JSON_E_TYPE, "expires_in" },
        { "{\"access_token\":5}", BIFF_JSON_E_TYPE, "access_token" },
        { "{\"access_token\":{\"x\":1}}", BIFF_JSON_E_TYPE, "access_token" },
        { "{\"access_token\":\"a\",\"access_token\":\"b\"}", BIFF_JSON_E_DUPLICATE, "access_token" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t where = 99;
        const char *m = "x";
        biff_json_status s;
        strcpy(at, "old");
        s = biff_json_read(v[i].in, strlen(v[i].in), F, NF, &where, &m);
        if (s != v[i].want) {
            print_error("%s: got %s, want %s\n", v[i].in, biff_json_strerror(s), biff_json_strerror(v[i].want));
            fail();
        }
        assert_true(where <= strlen(v[i].in));
        if (v[i].member)
            assert_string_equal(m, v[i].member);
        else
            assert_null(m);
        /* Nothing half-read is left; what was not touched stays. */
        int wrote = v[i].member && !strcmp(v[i].member, "access_token") && v[i].want != BIFF_JSON_E_TYPE;
        assert_string_equal(at, wrote ? "" : "old");
        for (size_t k = 0; k < NF; k++) assert_false(F[k].found);
    }
    /* The depth bound is exactly BIFF_JSON_DEPTH_MAX levels. */
    char deep[64] = "{\"a\":";
    size_t n = strlen(deep);
    for (int d = 1; d < BIFF_JSON_DEPTH_MAX; d++) deep[n++] = '[';
    for (int d = 1; d < BIFF_JSON_DEPTH_MAX; d++) deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = 0;
    assert_int_equal(rd(deep), BIFF_JSON_OK);
    /* A megabyte of nesting stops at the bound without recursing into it. */
    static char huge[1 << 20];
    memset(huge, '[', sizeof huge);
    huge[0] = '{';
    memcpy(huge + 1, "\"a\":", 4);
    assert_int_equal(biff_json_read(huge, sizeof huge, F, NF, NULL, NULL), BIFF_JSON_E_DEPTH);
    /* A string without its end quote and a NUL byte inside. */
    assert_int_equal(biff_json_read("{\"a\":\"x\0y\"}", 11, F, NF, NULL, NULL), BIFF_JSON_E_SYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_response),
        cmocka_unit_test(test_device_response),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

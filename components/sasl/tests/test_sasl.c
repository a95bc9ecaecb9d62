/* Known-answer vectors: expected strings computed with python3 base64 when the test was written
 * (the XOAUTH2 one is also the example in Google's XOAUTH2 documentation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "biff/sasl.h"
#include "mbedtls/base64.h"

static void expect_ir(biff_sasl_mech m, const char *user, const char *secret, const char *host, unsigned port,
                      const char *want)
{
    char out[512];
    size_t n = 99;
    memset(out, 'x', sizeof out);
    assert_int_equal(biff_sasl_initial_response(m, user, secret, host, port, out, sizeof out, &n), BIFF_SASL_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_plain(void **state)
{
    (void)state;
    /* RFC 4616 section 4 example credentials, empty authzid. */
    expect_ir(BIFF_SASL_PLAIN, "tim", "tanstaaftanstaaf", NULL, 0, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    /* Every padding length. */
    expect_ir(BIFF_SASL_PLAIN, "u", "p", NULL, 0, "AHUAcA==");
    expect_ir(BIFF_SASL_PLAIN, "us", "p", NULL, 0, "AHVzAHA=");
    expect_ir(BIFF_SASL_PLAIN, "use", "p", NULL, 0, "AHVzZQBw");
    /* UTF-8 passes through untouched. */
    expect_ir(BIFF_SASL_PLAIN, "j\xc3\xb6rg", "p\xc3\xa4sswort", "ignored", 993, "AGrDtnJnAHDDpHNzd29ydA==");
}

static void test_xoauth2(void **state)
{
    (void)state;
    expect_ir(BIFF_SASL_XOAUTH2, "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", NULL, 0,
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1sem"
              "RHRXVZMjl0Q2cBAQ==");
}

static void test_oauthbearer(void **state)
{
    (void)state;
    /* RFC 7628 section 4.1 example message. */
    expect_ir(BIFF_SASL_OAUTHBEARER, "user@example.com",
              "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==", "server.example.com", 143,
              "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRx"
              "bVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    /* saslname escaping (',' -> =2C, '=' -> =3D); host and port omitted. */
    expect_ir(BIFF_SASL_OAUTHBEARER, "a,b=c", "tok", "", 0, "bixhPWE9MkNiPTNEYywBYXV0aD1CZWFyZXIgdG9rAQE=");
}

static void test_rejects(void **state)
{
    (void)state;
    char out[256];
    size_t n = 7;
    strcpy(out, "junk");
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "", "p", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "u", "", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, NULL, "p", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_XOAUTH2, "u\x01x", "t", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_XOAUTH2, "u", "t\x01", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_OAUTHBEARER, "u", "t\r\n", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_OAUTHBEARER, "u", "t", "h\x01", 1, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_OAUTHBEARER, "u", "t", "h", 65536, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_initial_response((biff_sasl_mech)42, "u", "t", NULL, 0, out, sizeof out, &n),
                     BIFF_SASL_E_ARG);
}

static void test_space(void **state)
{
    (void)state;
    /* "AHVzAHA=" needs 8 + NUL: 9 fits exactly, 8 does not and must leave nothing behind. */
    char out[16];
    size_t n = 5;
    memset(out, 'x', sizeof out);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "us", "p", NULL, 0, out, 9, &n), BIFF_SASL_OK);
    assert_string_equal(out, "AHVzAHA=");
    memset(out, 'x', sizeof out);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "us", "p", NULL, 0, out, 8, &n), BIFF_SASL_E_SPACE);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(out[i], 0);
    }
    assert_int_equal(out[8], 'x');
    /* Long token into a small buffer: no overrun (ASan), clean failure. */
    char tok[300];
    memset(tok, 'a', sizeof tok - 1);
    tok[sizeof tok - 1] = '\0';
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_XOAUTH2, "u", tok, NULL, 0, out, 13, &n), BIFF_SASL_E_SPACE);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "u", "p", NULL, 0, out, 0, &n), BIFF_SASL_E_SPACE);
    assert_int_equal(biff_sasl_initial_response(BIFF_SASL_PLAIN, "u", "p", NULL, 0, NULL, 10, NULL), BIFF_SASL_E_SPACE);
}

static void test_names(void **state)
{
    (void)state;
    biff_sasl_mech m = BIFF_SASL_PLAIN;
    assert_string_equal(biff_sasl_mech_name(BIFF_SASL_PLAIN), "PLAIN");
    assert_string_equal(biff_sasl_mech_name(BIFF_SASL_XOAUTH2), "XOAUTH2");
    assert_string_equal(biff_sasl_mech_name(BIFF_SASL_OAUTHBEARER), "OAUTHBEARER");
    assert_string_equal(biff_sasl_mech_name((biff_sasl_mech)9), "");
    assert_int_equal(biff_sasl_mech_parse("xoauth2", 7, &m), 0);
    assert_int_equal(m, BIFF_SASL_XOAUTH2);
    assert_int_equal(biff_sasl_mech_parse("OAuthBearer", 11, &m), 0);
    assert_int_equal(m, BIFF_SASL_OAUTHBEARER);
    assert_int_equal(biff_sasl_mech_parse("PLAINX", 6, &m), -1);
    assert_int_equal(biff_sasl_mech_parse("PLAI", 4, &m), -1);
    assert_int_equal(biff_sasl_mech_parse("", 0, &m), -1);
    const char *l = "  CRAM-MD5 plain\tXOAUTH2 GSSAPI ";
    assert_int_equal(biff_sasl_mech_mask(l, strlen(l)),
                     BIFF_SASL_BIT(BIFF_SASL_PLAIN) | BIFF_SASL_BIT(BIFF_SASL_XOAUTH2));
    /* Length bound respected: "OAUTHBEARER" cut to "OAUTH" is not a mechanism. */
    assert_int_equal(biff_sasl_mech_mask("OAUTHBEARER", 5), 0);
    assert_int_equal(biff_sasl_mech_mask("OAUTHBEARER", 11), BIFF_SASL_BIT(BIFF_SASL_OAUTHBEARER));
}

static void test_decode(void **state)
{
    (void)state;
    const char *in = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";
    const char *want = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
    char out[128];
    size_t n = 0;
    assert_int_equal(biff_sasl_b64_decode(in, strlen(in), out, sizeof out, &n), BIFF_SASL_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(biff_sasl_b64_decode(in, strlen(in), out, strlen(want), &n), BIFF_SASL_E_SPACE);
    assert_int_equal(biff_sasl_b64_decode(in, strlen(in), out, strlen(want) + 1, &n), BIFF_SASL_OK);
    assert_int_equal(biff_sasl_b64_decode("a!==", 4, out, sizeof out, &n), BIFF_SASL_E_ARG);
    assert_int_equal(biff_sasl_b64_decode("", 0, out, sizeof out, &n), BIFF_SASL_OK);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
}

static int leaks(const char *text, const char *secret)
{
    return biff_sasl_leaks_secret(text, strlen(text), "u", secret);
}

static void test_leaks_secret(void **state)
{
    (void)state;
    /* Raw bytes, non-ASCII ones included (they are compared before any mapping). */
    assert_true(leaks("NO password p\xc3\xa4"
                      "55w\xc3\xb6rd is wrong",
                      "p\xc3\xa4"
                      "55w\xc3\xb6rd"));
    assert_true(leaks("NO cut off: p\xc3\xa4", "p\xc3\xa4"
                                               "55w\xc3\xb6rd")); /* 3 bytes at the end */
    assert_false(leaks("NO cut off: p\xc3", "p\xc3\xa4"
                                            "55w\xc3\xb6rd"));
    assert_false(leaks("NO p\xc3\xa4 and more", "p\xc3\xa4"
                                                "55w\xc3\xb6rd")); /* a start, not at the end */
    /* Base64 of the secret and of the PLAIN message that carried it, in any context. */
    assert_true(leaks("NO \"cMOkNTV3w7ZyZA==\"", "p\xc3\xa4"
                                                 "55w\xc3\xb6rd"));
    assert_true(leaks("NO key=AHUAcMOkNTV3w7ZyZA==;", "p\xc3\xa4"
                                                      "55w\xc3\xb6rd"));
    assert_true(leaks("NO (AHUAcMOkNTV3w7)", "p\xc3\xa4"
                                             "55w\xc3\xb6rd")); /* cut, closed by ')' */
    /* base64url spells + and / as - and _ */
    assert_true(leaks("NO token=eD4_fng-P34", "x>?~x>?~"));
    assert_true(leaks("NO [AHUAeD4/fng+P34=]", "x>?~x>?~"));
    assert_false(leaks("NO eD4_fng-", "y>?~x>?~"));
    /* A secret too short for the alignment-free cores: the whole PLAIN message. */
    assert_true(leaks("NO AHUAYWJj", "abc"));
    assert_true(leaks("NO {dXNlcj11AWF1dGg9QmVhcmVyIHRvay0xMjM0NTYBAQ}", "tok-123456")); /* XOAUTH2 */
    assert_false(leaks("NO [AUTHENTICATIONFAILED] Authentication failed.", "tok-123456"));
    assert_false(leaks("", "abc"));
}

static int refused(const char *report, size_t len)
{
    char b64[256];
    size_t n = 0;
    assert_int_equal(mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &n, (const unsigned char *)report, len),
                     0);
    return biff_sasl_oauth_token_refused(b64, n);
}

static void test_oauth_token_refused(void **state)
{
    (void)state;
    /* Dovecot 2.3's reports (OAUTHBEARER, XOAUTH2) and Google's XOAUTH2 one. */
    static const char *const yes[] = {
        "{\"status\":\"invalid_token\"}",
        "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"}",
        "{\"status\":\"401\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}",
        "{\"status\" : \"invalid_token\"}",
        "{}",
        "not json",
        ""
    };
    static const char *const no[] = { "{\"status\":\"insufficient_scope\",\"scope\":\"mail\"}", "{\"status\":\"400\"}",
                                      "{\"status\":\"403\"}", "{\"status\":\"invalid_token_x\"}",
                                      "{\"status\":\"4011\"}" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) assert_true(refused(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) assert_false(refused(no[i], strlen(no[i])));
    /* A cut-off report is not read past its end; what is not base64 is no report. */
    assert_true(refused("{\"status\":\"40", 13));
    assert_true(biff_sasl_oauth_token_refused("%%%%", 4));
    assert_true(biff_sasl_oauth_token_refused("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),        cmocka_unit_test(test_xoauth2),
        cmocka_unit_test(test_oauthbearer),  cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_space),        cmocka_unit_test(test_names),
        cmocka_unit_test(test_decode),       cmocka_unit_test(test_oauth_token_refused),
        cmocka_unit_test(test_leaks_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Host/Origin checks of the status servers: the names a rebinding attack would send are refused,
 * the ones a user types are accepted, in the parsed and the raw-request forms alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "biff/webguard.h"

static const char *const names[] = { "router.lan", "Biff.Example" };
static const biff_webguard bound = { "127.0.0.1", names, 2 };
static const biff_webguard any = { "0.0.0.0", NULL, 0 };

static biff_webguard_status host(const biff_webguard *g, const char *h)
{
    return biff_webguard_host(g, h, h ? strlen(h) : 0);
}

static biff_webguard_status origin(const biff_webguard *g, const char *o, const char *site)
{
    return biff_webguard_origin(g, o, o ? strlen(o) : 0, site, site ? strlen(site) : 0);
}

static void hosts(void **state)
{
    (void)state;
    static const char *const good[] = { "127.0.0.1:8025", "127.0.0.1",       "localhost:8025",
                                        "LOCALHOST",      "router.lan:8025", "biff.example" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_int_equal(host(&bound, good[i]), BIFF_WEBGUARD_OK);
    static const char *const bad[] = { "evil.example:8025",
                                       "evil.example",
                                       NULL,
                                       "",
                                       ":8025",
                                       "127.0.0.2:8025",
                                       "127.0.0.1:",
                                       "127.0.0.1:80x",
                                       "127.0.0.1.evil.example",
                                       "router.lan.evil",
                                       "localhost.evil.example",
                                       "[::1]:80",
                                       "[::1",
                                       "127.0.0.1 :8025" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(host(&bound, bad[i]), BIFF_WEBGUARD_E_HOST);
    }
    /* Bound to every address: any address literal, never a name that is not configured. */
    static const char *const any_good[] = { "192.168.1.1:8025", "10.0.2.15", "[fe80::1]:80", "[::1]", "localhost" };
    for (size_t i = 0; i < sizeof any_good / sizeof *any_good; i++) {
        assert_int_equal(host(&any, any_good[i]), BIFF_WEBGUARD_OK);
    }
    static const char *const any_bad[] = { "evil.example", "1.2.3",          "1.2.3.4.5", "256.1.1.1",
                                           "1.2.3.4x",     "[evil.example]", "0x7f.0.0.1" };
    for (size_t i = 0; i < sizeof any_bad / sizeof *any_bad; i++) {
        assert_int_equal(host(&any, any_bad[i]), BIFF_WEBGUARD_E_HOST);
    }
    assert_true(biff_webguard_any("::") && biff_webguard_any("") && biff_webguard_any(NULL));
    assert_false(biff_webguard_any("::1"));
}

static void origins(void **state)
{
    (void)state;
    assert_int_equal(origin(&bound, NULL, NULL), BIFF_WEBGUARD_OK);
    assert_int_equal(origin(&bound, "http://127.0.0.1:8025", "same-origin"), BIFF_WEBGUARD_OK);
    assert_int_equal(origin(&bound, "http://router.lan:8025", NULL), BIFF_WEBGUARD_OK);
    assert_int_equal(origin(&bound, NULL, "none"), BIFF_WEBGUARD_OK);
    /* After a rebind Host and Origin agree, and both name the attacker. */
    assert_int_equal(origin(&bound, "http://evil.example:8025", "same-origin"), BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(origin(&bound, "null", NULL), BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(origin(&bound, "https://127.0.0.1:8025", NULL), BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(origin(&bound, "http://127.0.0.1:8025/x", NULL), BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(origin(&bound, NULL, "cross-site"), BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(origin(&bound, "http://127.0.0.1:8025", "same-site"), BIFF_WEBGUARD_E_ORIGIN);
}

static biff_webguard_status request(const biff_webguard *g, const char *head)
{
    return biff_webguard_request(g, head, strlen(head));
}

static void raw_requests(void **state)
{
    (void)state;
    assert_int_equal(request(&any, "GET /status.json HTTP/1.1\r\nHost: 10.0.2.15\r\n\r\n"), BIFF_WEBGUARD_OK);
    assert_int_equal(request(&any, "GET / HTTP/1.1\r\nhost:evil.example\r\n\r\n"), BIFF_WEBGUARD_E_HOST);
    assert_int_equal(request(&any, "GET / HTTP/1.0\r\n\r\n"), BIFF_WEBGUARD_E_HOST);
    assert_int_equal(request(&any, "GET / HTTP/1.0"), BIFF_WEBGUARD_E_HOST);
    /* A Host line in the body is not a header. */
    assert_int_equal(request(&any, "POST /ack HTTP/1.1\r\nX: y\r\n\r\nHost: 10.0.2.15\r\n"), BIFF_WEBGUARD_E_HOST);
    assert_int_equal(request(&any, "POST /ack HTTP/1.1\r\nHost: 10.0.2.15\r\nOrigin: http://10.0.2.15\r\n\r\ncsrf=x"),
                     BIFF_WEBGUARD_OK);
    assert_int_equal(request(&any, "POST /ack HTTP/1.1\r\nHost: 10.0.2.15\r\nORIGIN: http://evil.example\r\n\r\n"),
                     BIFF_WEBGUARD_E_ORIGIN);
    assert_int_equal(request(&any, "POST /ack HTTP/1.1\r\nHost: 10.0.2.15\r\nSec-Fetch-Site: cross-site\r\n\r\n"),
                     BIFF_WEBGUARD_E_ORIGIN);
    /* Origin matters for POST only: a GET changes nothing. */
    assert_int_equal(request(&any, "GET / HTTP/1.1\r\nHost: 10.0.2.15\r\nOrigin: http://evil.example\r\n\r\n"),
                     BIFF_WEBGUARD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hosts),
        cmocka_unit_test(origins),
        cmocka_unit_test(raw_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* OAuth2 lifecycle with a fake clock: the device flow with every poll answer RFC 8628 names,
 * refresh before expiry and after a refused token, revocation, and server failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/oauth.h"

static const biff_oauth_config cfg = { "https://auth.test:4593/api/oidc/device_authorization",
                                       "https://auth.test:4593/api/oidc/token", "tinybiff-dev", "s3cret",
                                       "openid mail" };
static char access_buf[128], refresh_buf[96], req_buf[768];
static biff_oauth O;
static uint32_t now;

#define DEVICE_OK                                                                                                      \
    "{\"device_code\":\"DEVCODE-0123456789\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":"                        \
    "\"https://auth.test/device\",\"verification_uri_complete\":\"https://auth.test/device?code=ABCD-EFGH\","          \
    "\"expires_in\":600,\"interval\":5}"
#define TOKEN(a, r)                                                                                                    \
    "{\"access_token\":\"" a "\",\"token_type\":\"Bearer\",\"expires_in\":60,\"refresh_token\":\"" r "\"}"

static void setup(const char *rt)
{
    now = 1000;
    assert_int_equal(biff_oauth_init(&O, &cfg, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, req_buf,
                                     sizeof req_buf, rt, now),
                     BIFF_OAUTH_OK);
}

/* next() must want to send now; returns the request text. */
static const char *expect_send(void)
{
    biff_oauth_request r;
    assert_int_equal(biff_oauth_next(&O, now, &r), BIFF_OAUTH_SEND);
    assert_string_equal(r.host, "auth.test");
    assert_int_equal(r.port, 4593);
    assert_int_equal(strlen(r.data), r.len);
    assert_non_null(strstr(r.data, "client_id=tinybiff-dev"));
    assert_non_null(strstr(r.data, "client_secret=s3cret"));
    return r.data;
}

static biff_oauth_action expect_action(biff_oauth_action a, uint32_t wake)
{
    biff_oauth_request r;
    biff_oauth_action got = biff_oauth_next(&O, now, &r);
    assert_int_equal(got, a);
    if (a == BIFF_OAUTH_WAIT || a == BIFF_OAUTH_READY) assert_int_equal(r.wake, wake);
    return got;
}

static void reply(unsigned status, const char *json)
{
    assert_int_equal(biff_oauth_response(&O, now, status, 1, json, strlen(json)), BIFF_OAUTH_OK);
    /* No token ever reaches the text a person sees. */
    assert_null(strstr(biff_oauth_detail(&O), "AT-"));
    assert_null(strstr(biff_oauth_detail(&O), "RT-"));
    assert_null(strstr(biff_oauth_detail(&O), "DEVCODE"));
}

/* From no token to authorized: authorize, device reply, one pending poll, approved. */
static void authorize(void)
{
    const char *rq;
    biff_oauth_authorize(&O, now);
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_STARTING);
    rq = expect_send();
    assert_non_null(strstr(rq, "POST /api/oidc/device_authorization HTTP/1.1\r\nHost: auth.test:4593\r\n"));
    assert_non_null(strstr(rq, "scope=openid+mail"));
    reply(200, DEVICE_OK);
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_WAITING_USER);
    assert_string_equal(biff_oauth_user_code(&O), "ABCD-EFGH");
    assert_string_equal(biff_oauth_verification_uri(&O), "https://auth.test/device");
    assert_string_equal(biff_oauth_verification_uri_complete(&O), "https://auth.test/device?code=ABCD-EFGH");
    assert_int_equal(biff_oauth_code_expires(&O), now + 600);
    assert_string_equal(biff_oauth_refresh_token(&O), ""); /* the device code is not shown as one */
    expect_action(BIFF_OAUTH_WAIT, now + 5);
    now += 5;
    rq = expect_send();
    assert_non_null(strstr(rq, "POST /api/oidc/token "));
    assert_non_null(strstr(rq, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"));
    assert_non_null(strstr(rq, "device_code=DEVCODE-0123456789"));
    reply(400, "{\"error\":\"authorization_pending\"}");
    assert_string_equal(biff_oauth_state_text(&O), "waiting for approval");
    expect_action(BIFF_OAUTH_WAIT, now + 5);
    now += 5;
    expect_send();
    reply(200, TOKEN("AT-1", "RT-1"));
}

static void test_device_flow(void **state)
{
    (void)state;
    uint16_t gen;
    setup(NULL);
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_NEEDS_AUTH);
    assert_string_equal(biff_oauth_state_text(&O), "needs authorization");
    expect_action(BIFF_OAUTH_STOPPED, 0);
    assert_null(biff_oauth_access_token(&O, now));
    gen = biff_oauth_refresh_gen(&O);
    authorize();
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_AUTHORIZED);
    assert_string_equal(biff_oauth_state_text(&O), "authorized");
    assert_string_equal(biff_oauth_access_token(&O, now), "AT-1");
    assert_string_equal(biff_oauth_refresh_token(&O), "RT-1");
    assert_int_not_equal(biff_oauth_refresh_gen(&O), gen);
    assert_string_equal(biff_oauth_user_code(&O), "");
    /* 60 s token: refreshed a quarter early, at 45 s. */
    expect_action(BIFF_OAUTH_READY, now + 45);
    for (int round = 0; round < 3; round++) { /* three lifetimes without the user */
        const char *rq;
        gen = biff_oauth_refresh_gen(&O);
        now += 45;
        rq = expect_send();
        assert_non_null(strstr(rq, "grant_type=refresh_token"));
        assert_non_null(strstr(rq, round ? "refresh_token=RT-2" : "refresh_token=RT-1"));
        /* Still usable while the refresh is under way. */
        assert_string_equal(biff_oauth_access_token(&O, now), round ? "AT-2" : "AT-1");
        expect_action(BIFF_OAUTH_READY, now + 15);
        if (!round) {
            reply(200, TOKEN("AT-2", "RT-2")); /* rotated: store it */
            assert_int_not_equal(biff_oauth_refresh_gen(&O), gen);
        } else {
            reply(200, "{\"access_token\":\"AT-2\",\"token_type\":\"bearer\",\"expires_in\":60}");
            assert_int_equal(biff_oauth_refresh_gen(&O), gen); /* kept as it was */
            assert_string_equal(biff_oauth_refresh_token(&O), "RT-2");
        }
    }
    /* The user revokes: invalid_grant on the next refresh. */
    now += 45;
    expect_send();
    reply(400, "{\"error\":\"invalid_grant\",\"error_description\":\"revoked\"}");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_NEEDS_AUTH);
    assert_int_equal(biff_oauth_get_why(&O), BIFF_OAUTH_WHY_REVOKED);
    assert_string_equal(biff_oauth_state_text(&O), "needs authorization: access was revoked");
    assert_string_equal(biff_oauth_refresh_token(&O), "");
    assert_null(biff_oauth_access_token(&O, now));
    expect_action(BIFF_OAUTH_STOPPED, 0);
    /* One click: the flow again. */
    authorize();
    /* glewlwyd 2.7 refuses a revoked refresh token with a bare 400 (no body, no JSON). */
    now += 45;
    expect_send();
    assert_int_equal(biff_oauth_response(&O, now, 400, 0, "", 0), BIFF_OAUTH_OK);
    assert_int_equal(biff_oauth_get_why(&O), BIFF_OAUTH_WHY_REVOKED);
    assert_string_equal(biff_oauth_refresh_token(&O), "");
    expect_action(BIFF_OAUTH_STOPPED, 0);
    authorize();
    assert_string_equal(biff_oauth_access_token(&O, now), "AT-1");
}

static void test_poll_answers(void **state)
{
    (void)state;
    setup(NULL);
    biff_oauth_authorize(&O, now);
    expect_send();
    reply(200, DEVICE_OK);
    now += 5;
    expect_send();
    reply(400, "{\"error\":\"slow_down\"}");
    assert_int_equal(biff_oauth_get_why(&O), BIFF_OAUTH_WHY_SLOW_DOWN);
    assert_string_equal(biff_oauth_state_text(&O), "waiting for approval (polling slower)");
    expect_action(BIFF_OAUTH_WAIT, now + 10);
    now += 9;
    expect_action(BIFF_OAUTH_WAIT, now + 1);
    now += 1;
    expect_send();
    reply(400, "{\"error\":\"slow_down\"}");
    expect_action(BIFF_OAUTH_WAIT, now + 15);
    now += 15;
    expect_send();
    reply(400, "{\"error\":\"access_denied\"}");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_NEEDS_AUTH);
    assert_string_equal(biff_oauth_state_text(&O), "needs authorization: access was denied");
    assert_string_equal(biff_oauth_user_code(&O), "");

    biff_oauth_authorize(&O, now);
    expect_send();
    reply(200, DEVICE_OK);
    now += 5;
    expect_send();
    reply(400, "{\"error\":\"expired_token\"}");
    assert_int_equal(biff_oauth_get_why(&O), BIFF_OAUTH_WHY_CODE_EXPIRED);
    assert_string_equal(biff_oauth_state_text(&O), "needs authorization: the code expired");

    /* The code's own deadline passes without an answer from the server saying so. */
    biff_oauth_authorize(&O, now);
    expect_send();
    reply(200, "{\"device_code\":\"DEVCODE\",\"user_code\":\"X\",\"verification_url\":\"https://g.test/device\","
               "\"expires_in\":7}");
    assert_string_equal(biff_oauth_verification_uri(&O), "https://g.test/device"); /* Google's spelling */
    expect_action(BIFF_OAUTH_WAIT, now + 5);                                       /* no interval: RFC 8628's 5 s */
    now += 5;
    expect_send();
    reply(400, "{\"error\":\"authorization_pending\"}");
    now += 5;
    expect_action(BIFF_OAUTH_STOPPED, 0);
    assert_int_equal(biff_oauth_get_why(&O), BIFF_OAUTH_WHY_CODE_EXPIRED);
}

static void test_token_refused(void **state)
{
    (void)state;
    setup("RT-stored");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_REFRESHING);
    assert_non_null(strstr(expect_send(), "refresh_token=RT-stored")); /* restart: the stored token */
    reply(200, TOKEN("AT-1", "RT-1"));
    now += 10;
    /* The mail server says the token expired (revoked early): refresh at once. */
    assert_int_equal(biff_oauth_token_refused(&O, now), BIFF_OAUTH_OK);
    assert_null(biff_oauth_access_token(&O, now));
    assert_string_equal(biff_oauth_state_text(&O), "mail server refused the token; refreshing");
    expect_send();
    reply(200, TOKEN("AT-2", "RT-2"));
    /* The fresh token is refused too: that is no token problem, and no refresh loop. */
    assert_int_equal(biff_oauth_token_refused(&O, now), BIFF_OAUTH_E_REFUSED);
    assert_non_null(strstr(biff_oauth_detail(&O), "fresh tokens refused too"));
    assert_string_equal(biff_oauth_access_token(&O, now), "AT-2");
    /* Later refusals are tried again. */
    assert_int_equal(biff_oauth_token_refused(&O, now), BIFF_OAUTH_OK);
    expect_send();
}

static void test_server_failures(void **state)
{
    (void)state;
    const char *html = "<html><body>502 Bad Gateway</body></html>";
    setup("RT-1");
    expect_send();
    assert_int_equal(biff_oauth_response(&O, now, 502, 0, html, strlen(html)), BIFF_OAUTH_OK);
    assert_string_equal(biff_oauth_detail(&O), "HTTP 502, not JSON");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_REFRESHING);
    expect_action(BIFF_OAUTH_WAIT, now + 5);
    now += 5;
    expect_send();
    assert_int_equal(biff_oauth_response(&O, now, 302, 0, "", 0), BIFF_OAUTH_OK);
    assert_string_equal(biff_oauth_detail(&O), "HTTP 302 redirect, not followed");
    expect_action(BIFF_OAUTH_WAIT, now + 10); /* backoff doubles */
    now += 10;
    expect_send();
    assert_int_equal(biff_oauth_failed(&O, now, 0, "connection refused"), BIFF_OAUTH_OK);
    assert_string_equal(biff_oauth_state_text(&O), "authorization server unreachable; retrying");
    expect_action(BIFF_OAUTH_WAIT, now + 20);
    for (int i = 0; i < 8; i++) { /* capped at 5 minutes */
        now += 300;
        expect_send();
        assert_int_equal(biff_oauth_failed(&O, now, 0, "timeout"), BIFF_OAUTH_OK);
    }
    expect_action(BIFF_OAUTH_WAIT, now + 300);
    now += 300;
    expect_send();
    assert_int_equal(biff_oauth_failed(&O, now, 1, "response body too large"), BIFF_OAUTH_OK);
    assert_string_equal(biff_oauth_state_text(&O), "authorization server failed; retrying");
    assert_string_equal(biff_oauth_detail(&O), "response body too large");
    now += 300;
    expect_send();
    reply(200, "{\"access_token\":\"AT-1\",\"token_type\":\"Bearer\",\"expires_in\":");
    assert_string_equal(biff_oauth_detail(&O), "reply: not valid JSON in expires_in");
    assert_string_equal(biff_oauth_refresh_token(&O), "RT-1"); /* a bad reply costs nothing */
    now += 300;
    expect_send();
    reply(200, "{\"access_token\":\"AT-0123456789012345678901234567890123456789012345678901234567890123456789"
               "012345678901234567890123456789012345678901234567890123456789\",\"refresh_token\":\"RT-9\"}");
    assert_string_equal(biff_oauth_detail(&O), "reply: JSON string too long in access_token");
    assert_string_equal(biff_oauth_refresh_token(&O), "RT-1");
    now += 300;
    expect_send();
    reply(200, "{\"token_type\":\"Bearer\"}");
    assert_string_equal(biff_oauth_detail(&O), "reply lacks access_token");
    now += 300;
    expect_send();
    reply(200, "{\"access_token\":\"AT-1\",\"token_type\":\"mac\"}");
    assert_string_equal(biff_oauth_detail(&O), "token type is not Bearer");
    now += 300;
    expect_send();
    reply(500, "{\"error\":\"temporarily_unavailable\"}");
    assert_string_equal(biff_oauth_detail(&O), "temporarily_unavailable");
    now += 300;
    expect_send();
    reply(400, "{\"error\":\"RT-1 is bad\"}"); /* an error code is never echoed */
    assert_string_equal(biff_oauth_detail(&O), "unreadable error code");
    /* Missing expires_in on a token reply: RFC 6749 allows it; an hour is assumed. */
    now += 300;
    expect_send();
    reply(200, "{\"access_token\":\"AT-1\",\"token_type\":\"Bearer\"}");
    expect_action(BIFF_OAUTH_READY, now + 3600 - 60);
    assert_string_equal(biff_oauth_detail(&O), "");
    /* A reply nobody asked for. */
    assert_int_equal(biff_oauth_response(&O, now, 200, 1, "{}", 2), BIFF_OAUTH_E_STATE);
}

static void test_device_failures(void **state)
{
    (void)state;
    setup(NULL);
    biff_oauth_authorize(&O, now);
    expect_send();
    reply(200, "{\"device_code\":\"DEVCODE\",\"user_code\":\"X\",\"verification_uri\":\"https://a.test/\"}");
    assert_string_equal(biff_oauth_detail(&O), "reply lacks expires_in");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_STARTING);
    assert_string_equal(biff_oauth_user_code(&O), "");
    now += 5;
    expect_send();
    reply(401, "{\"error\":\"invalid_client\"}");
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_CONFIG_ERROR);
    assert_string_equal(biff_oauth_state_text(&O), "server refused the client id or secret");
    assert_string_equal(biff_oauth_detail(&O), "invalid_client");
    expect_action(BIFF_OAUTH_STOPPED, 0);
    biff_oauth_authorize(&O, now);
    expect_send();
    reply(400, "{\"error\":\"invalid_scope\"}");
    assert_string_equal(biff_oauth_state_text(&O), "server refused the scope");
}

static void test_config(void **state)
{
    (void)state;
    biff_oauth_config c = cfg;
    char small[300];
    assert_int_equal(biff_oauth_preset("microsoft", &c), 0);
    assert_string_equal(c.token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert_non_null(strstr(c.scope, "https://outlook.office.com/IMAP.AccessAsUser.All"));
    assert_non_null(strstr(c.scope, "offline_access"));
    assert_int_equal(biff_oauth_preset("google", &c), 0);
    assert_string_equal(c.device_url, "https://oauth2.googleapis.com/device/code");
    assert_string_equal(c.scope, "https://mail.google.com/");
    assert_int_equal(biff_oauth_preset("custom", &c), 0);
    assert_string_equal(c.scope, "https://mail.google.com/");
    assert_int_equal(biff_oauth_preset("yahoo", &c), -1);
    c = cfg;
    c.token_url = "http://auth.test/token"; /* tokens go over TLS only */
    assert_int_equal(biff_oauth_init(&O, &c, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, req_buf,
                                     sizeof req_buf, NULL, 0),
                     BIFF_OAUTH_E_ARG);
    c.token_url = "https://auth.test";
    assert_int_equal(biff_oauth_init(&O, &c, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, req_buf,
                                     sizeof req_buf, NULL, 0),
                     BIFF_OAUTH_E_ARG);
    /* A request that does not fit stops with a config error, not a crash or a cut request. */
    char rt[90];
    memset(rt, 'r', sizeof rt - 1);
    rt[sizeof rt - 1] = 0;
    assert_int_equal(biff_oauth_init(&O, &cfg, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, small,
                                     sizeof small, rt, 0),
                     BIFF_OAUTH_OK);
    biff_oauth_request r;
    assert_int_equal(biff_oauth_next(&O, 0, &r), BIFF_OAUTH_STOPPED);
    assert_int_equal(biff_oauth_get_state(&O), BIFF_OAUTH_CONFIG_ERROR);
    for (size_t i = 0; i < sizeof small; i++) assert_int_equal(small[i], 0);
    c = cfg;
    c.token_url = "https://auth.test:99999/t"; /* refused before any request is written */
    assert_int_equal(biff_oauth_init(&O, &c, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, req_buf,
                                     sizeof req_buf, "RT", 0),
                     BIFF_OAUTH_E_ARG);
    /* The one URL check, shared with the config parsers. */
    assert_true(biff_oauth_url_ok("https://h/"));
    assert_true(biff_oauth_url_ok("https://auth.test:65535/t"));
    assert_false(biff_oauth_url_ok("https://auth.test:65536/t"));
    assert_false(biff_oauth_url_ok("https://auth.test:0/t"));
    assert_false(biff_oauth_url_ok("https://auth.test:/t"));
    assert_false(biff_oauth_url_ok("https://auth.test:44a/t"));
    assert_false(biff_oauth_url_ok("https://:443/t"));
    assert_false(biff_oauth_url_ok("https:///t"));
    assert_false(biff_oauth_url_ok("https://auth.test"));
    assert_false(biff_oauth_url_ok("https://auth test/t"));
    assert_false(biff_oauth_url_ok("https://auth.test/t\x7f"));
    assert_false(biff_oauth_url_ok("HTTPS://auth.test/t"));
    assert_false(biff_oauth_url_ok(NULL));
    char host[BIFF_OAUTH_HOST_MAX + 16] = "https://";
    memset(host + 8, 'h', BIFF_OAUTH_HOST_MAX - 1);
    strcpy(host + 8 + BIFF_OAUTH_HOST_MAX - 1, "/t");
    assert_true(biff_oauth_url_ok(host));
    memmove(host + 9, host + 8, strlen(host + 8) + 1);
    assert_false(biff_oauth_url_ok(host)); /* a host of BIFF_OAUTH_HOST_MAX bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_flow),     cmocka_unit_test(test_poll_answers),
        cmocka_unit_test(test_token_refused),   cmocka_unit_test(test_server_failures),
        cmocka_unit_test(test_device_failures), cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

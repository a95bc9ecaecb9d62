/*
 * OAuth2 in the step function, on a fake port: one session serves the token endpoint (a
 * scripted HTTP server: it checks each request's grant and answers the next scripted response)
 * and the mail server (the recorded Dovecot OAUTHBEARER dialogues, replayed one byte per read).
 * The fake port has no TLS server, so this test builds agent_oauth.c with
 * BIFF_AGENT_TEST_PLAIN_EXCHANGE; the TLS path runs against glewlwyd in tests/daemon.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biff/agent.h"

#define TOKEN "tok-4afe350d037fb9a356ead3a4" /* the token of the recorded dialogues */

/* ---- the mail server: a recorded dialogue (replay.h) */
#include "replay.h"

/* oauthbearer_fail.txt was recorded with another token: the refusal is of ours */
static const char auth_line[] = "bA AUTHENTICATE OAUTHBEARER bixhPXVzZXIxLAFob3N0PWxvY2FsaG9zdAFwb3J0PTM4OTMzAWF1dGg9"
                                "QmVhcmVyIHRvay00YWZlMzUwZDAzN2ZiOWEzNTZlYWQzYTQBAQ==";

/* ---- the token endpoint: each connection takes one request and gets the next response */
static const char *replies[200];
static unsigned n_replies, next_reply;
static char got[16][1024]; /* the requests, for the assertions */
static unsigned n_got;
static char req_buf[2048], resp_buf[BIFF_AGENT_TOKEN_BODY_MAX + 1024];
static size_t req_len, resp_len, resp_off;

static int32_t http_send(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    if (req_len + len >= sizeof req_buf) return BIFF_NET_E_IO;
    memcpy(req_buf + req_len, buf, len);
    req_len += len;
    req_buf[req_len] = 0;
    const char *body = strstr(req_buf, "\r\n\r\n"), *cl = strstr(req_buf, "Content-Length: ");
    if (body && cl && req_len - (size_t)(body + 4 - req_buf) == strtoul(cl + 16, NULL, 10)) {
        assert_true(next_reply < n_replies);
        if (n_got < 16) snprintf(got[n_got], sizeof got[0], "%s", body + 4);
        n_got++;
        const char *r = replies[next_reply++];
        resp_len = (size_t)snprintf(resp_buf, sizeof resp_buf,
                                    "HTTP/1.1 %.3s x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                                    "Connection: close\r\n\r\n%s",
                                    r, strlen(r + 4), r + 4);
        resp_off = 0;
    }
    return (int32_t)len;
}

static int32_t http_recv(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (!resp_len) return 0;
    if (resp_off >= resp_len) return BIFF_NET_E_IO;
    size_t n = resp_len - resp_off < len ? resp_len - resp_off : len;
    if (n > 7) n = 7; /* a few bytes at a time */
    memcpy(buf, resp_buf + resp_off, n);
    resp_off += n;
    return (int32_t)n;
}

/* ---- the port */
static biff_transport link_t;
static unsigned token_opens, mail_opens;
static const char *mail_scripts[8];
static unsigned n_mail, next_mail;
static char saved[256];
static unsigned saves;
static char codes[4][32];
static unsigned n_codes, n_auth_events;
static char events_text[8192];

static biff_net_status fake_open(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx, (void)s, (void)detail, (void)cap;
    if (op != BIFF_AGENT_OPEN_START) return BIFF_NET_E_CONNECT;
    if (!strcmp(host, "auth.example")) {
        assert_int_equal(port, 8443);
        token_opens++;
        req_len = resp_len = resp_off = 0;
        link_t = (biff_transport){ .send = http_send, .recv = http_recv };
    } else {
        assert_string_equal(host, "localhost");
        assert_true(next_mail < n_mail);
        swap_from = "AUTHENTICATE OAUTHBEARER";
        swap_to = auth_line;
        load(mail_scripts[next_mail++], -1);
        mail_opens++;
        link_t = (biff_transport){ .send = fake_send, .recv = fake_recv };
    }
    *t = &link_t;
    return BIFF_NET_OK;
}

static void fake_close(void *ctx, unsigned s)
{
    (void)ctx, (void)s;
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    size_t used = strlen(events_text);
    if (ev->text && used + strlen(ev->text) + 2 < sizeof events_text)
        snprintf(events_text + used, sizeof events_text - used, "%s\n", ev->text);
    if (ev->kind == BIFF_AGENT_EV_AUTH) n_auth_events++;
    if (ev->kind == BIFF_AGENT_EV_AUTH_CODE && n_codes < 4) {
        snprintf(codes[n_codes++], sizeof codes[0], "%s", ev->text);
        assert_string_equal(biff_oauth_verification_uri(ev->oauth), "https://auth.example/device");
        assert_int_equal(ev->count, 600);
    }
}

static int save_hook(void *ctx, size_t i, const char *token)
{
    (void)ctx;
    assert_int_equal(i, 0);
    snprintf(saved, sizeof saved, "%s", token);
    saves++;
    return 0;
}

static const biff_agent_port port = {
    .wall_time = fake_wall,
    .event = on_event,
    .now_ms = fake_now,
    .open = fake_open,
    .close = fake_close,
    .oauth_save = save_hook,
};

/* The notifier's way: no hook, the agent keeps the token in its flash store. */
static const biff_agent_port flash_port = {
    .wall_time = fake_wall,
    .event = on_event,
    .now_ms = fake_now,
    .open = fake_open,
    .close = fake_close,
};
static const biff_agent_port *cur_port = &port;
static biff_store *cur_store;
static uint8_t flash_mem[16 * 1024];
static biff_flash_ram ram;
static biff_store st;

static biff_agent ag;
static biff_agent_mailbox mb[1];
static biff_status_account model[1];
static biff_agent_account_cfg cfg[1];
static biff_poller_account sched[1];
static biff_poller_slot slot[1];
static biff_agent_session sessions[1];
static biff_agent_oauth oa;
static char access_tok[4096], refresh_tok[512], request[1024];
static const char *const inbox[] = { "INBOX" };
static const biff_oauth_config ocfg = { "https://auth.example:8443/device", "https://auth.example:8443/token",
                                        "tinybiff", "s3cret", "imap" };

static void setup(const char *stored)
{
    memset(cfg, 0, sizeof cfg);
    cfg[0].check = (biff_check_account){ .proto = BIFF_CHECK_IMAP,
                                         .security = BIFF_CHECK_SEC_NONE,
                                         .auth = BIFF_CHECK_AUTH_AUTO,
                                         .n_folders = 1,
                                         .host = "localhost",
                                         .port = 38933,
                                         .user = "user1",
                                         .secret = "",
                                         .folders = inbox };
    cfg[0].interval_ms = 30000;
    cfg[0].enabled = 1;
    cfg[0].oauth = &oa;
    n_replies = next_reply = n_got = n_mail = next_mail = token_opens = mail_opens = 0;
    saves = n_codes = n_auth_events = 0;
    events_text[0] = saved[0] = 0;
    if (cur_store) { /* a (re)boot: mount and bind as the notifier does */
        uint32_t ids[1] = { 1 }, fresh = 0;
        memset(&st, 0, sizeof st);
        assert_int_equal(biff_store_mount(&st, &ram.flash), BIFF_STORE_OK);
        assert_true(biff_sync_bind(&st, ids, 1, &fresh) != BIFF_SYNC_E_STORE);
    }
    assert_int_equal(biff_agent_init(&ag, cur_port, cur_store, mb, model, 1, 0), BIFF_AGENT_OK);
    biff_agent_account(&ag, 0, BIFF_AGENT_IMAP, 1, "acct", inbox, 1);
    assert_int_equal(biff_agent_oauth_account(&ag, 0, &oa, &ocfg, access_tok, sizeof access_tok, refresh_tok,
                                              sizeof refresh_tok, request, sizeof request, stored),
                     BIFF_AGENT_OK);
    assert_int_equal(biff_agent_drive(&ag, cfg, sched, slot, sessions, 1), BIFF_AGENT_OK);
}

static void reply(const char *r)
{
    replies[n_replies++] = r;
}

static void run_for(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 250) {
        biff_agent_step(&ag);
        clock_ms += 250;
    }
}

/* No token in anything the host is shown. */
static void no_token_shown(void)
{
    const char *secrets[] = { TOKEN, "rt-one", "rt-two", "dc-secret" };
    for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++) {
        assert_null(strstr(events_text, secrets[k]));
        assert_null(memmem(model, sizeof model, secrets[k], strlen(secrets[k])));
        assert_null(memmem(&oa.view, sizeof oa.view, secrets[k], strlen(secrets[k])));
    }
}

/* Device flow, polling (pending, slow_down), approval, a check in the same session, refresh
 * before expiry, a refused token refreshed once in the check, revocation. */
static void test_device_flow_to_revocation(void **state)
{
    (void)state;
    setup("");
    /* No refresh token: the account needs the user; nothing connects. */
    run_for(2000);
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    assert_int_equal(model[0].state, BIFF_STATE_ERROR);
    assert_int_equal(model[0].err, BIFF_ERR_AUTH_FAILED);
    assert_int_equal(biff_led_pattern_of(&model[0]), BIFF_LED_FAST);
    assert_int_equal(token_opens + mail_opens, 0);

    /* The page's button: the device authorization starts, the code is shown. */
    reply("200 {\"device_code\":\"dc-secret\",\"user_code\":\"WDJB-MJHT\",\"verification_uri\":"
          "\"https://auth.example/device\",\"expires_in\":600,\"interval\":5}");
    biff_agent_authorize(&ag, 0);
    run_for(1000);
    assert_int_equal(token_opens, 1);
    assert_non_null(strstr(got[0], "scope=imap"));
    assert_non_null(strstr(got[0], "client_id=tinybiff"));
    assert_int_equal(oa.view.state, BIFF_AUTH_WAITING);
    assert_string_equal(oa.view.code, "WDJB-MJHT");
    assert_string_equal(oa.view.uri, "https://auth.example/device");
    assert_in_range(oa.view.code_expires, fake_wall(NULL) + 598, fake_wall(NULL) + 600);
    assert_int_equal(n_codes, 1);
    assert_string_equal(codes[0], "WDJB-MJHT");
    assert_string_equal(model[0].detail, "waiting for approval: open https://auth.example/device and enter WDJB-MJHT");

    /* Polls at the server's interval: pending, then slow_down adds 5 s. */
    reply("400 {\"error\":\"authorization_pending\"}");
    reply("400 {\"error\":\"slow_down\"}");
    run_for(10000);
    assert_int_equal(token_opens, 3);
    assert_non_null(strstr(got[1], "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"));
    assert_non_null(strstr(got[1], "device_code=dc-secret"));
    assert_string_equal(oa.view.text, "waiting for approval (polling slower)");
    run_for(9000); /* 10 s between polls now */
    assert_int_equal(token_opens, 3);

    /* Approved: the token, then the check in the same session. */
    reply("200 {\"access_token\":\"" TOKEN "\",\"refresh_token\":\"rt-one\",\"expires_in\":32,"
          "\"token_type\":\"Bearer\"}");
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_ok.txt";
    run_for(2000);
    assert_int_equal(token_opens, 4);
    assert_int_equal(mail_opens, 1);
    assert_false(sc.mismatch);
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_int_equal(model[0].folder[0].unseen, 2);
    assert_int_equal(oa.view.state, BIFF_AUTH_OK);
    assert_string_equal(saved, "rt-one");
    assert_int_equal(biff_agent_session_want(&ag, 0), BIFF_AGENT_WANT_NONE);

    /* 27-33 s later the next check: the token (32 s) is due for refresh (8 s early): refresh
     * first, then the check; the new refresh token is kept. */
    reply("200 {\"access_token\":\"" TOKEN "\",\"refresh_token\":\"rt-two\",\"expires_in\":3600}");
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_ok.txt";
    run_for(31000);
    assert_int_equal(token_opens, 5);
    assert_non_null(strstr(got[4], "grant_type=refresh_token&refresh_token=rt-one"));
    assert_int_equal(mail_opens, 2);
    assert_false(sc.mismatch);
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_string_equal(saved, "rt-two");

    /* The server refuses the token as a token: one refresh, and the check again, in the same
     * session, without an error shown. */
    reply("200 {\"access_token\":\"" TOKEN "\",\"expires_in\":20}");
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_fail.txt";
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_ok.txt";
    run_for(40000);
    assert_int_equal(mail_opens, 4);
    assert_int_equal(token_opens, 6);
    assert_non_null(strstr(got[5], "refresh_token=rt-two"));
    assert_false(sc.mismatch);
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_string_equal(saved, "rt-two"); /* no new refresh token in the reply: the old one stays */

    /* Revoked: invalid_grant on the next refresh: needs authorization, the kept token erased. */
    reply("400 {\"error\":\"invalid_grant\"}");
    run_for(40000);
    assert_int_equal(token_opens, 7);
    assert_int_equal(mail_opens, 4);
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    assert_string_equal(oa.view.text, "needs authorization: access was revoked");
    assert_int_equal(model[0].err, BIFF_ERR_AUTH_FAILED);
    assert_int_equal(biff_led_pattern_of(&model[0]), BIFF_LED_FAST);
    assert_string_equal(saved, "");
    assert_true(n_auth_events >= 6);
    no_token_shown();
}

/* A stored refresh token: no approval, the first check refreshes and counts. A code that runs
 * out turns the account back to needs authorization. */
static void test_stored_token_and_expired_code(void **state)
{
    (void)state;
    setup("rt-one");
    reply("200 {\"access_token\":\"" TOKEN "\",\"expires_in\":3600}");
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_ok.txt";
    run_for(2000);
    assert_int_equal(token_opens, 1);
    assert_non_null(strstr(got[0], "refresh_token=rt-one"));
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_int_equal(saves, 0); /* unchanged: nothing to write */

    reply("200 {\"device_code\":\"dc-secret\",\"user_code\":\"AAAA-BBBB\",\"verification_uri\":"
          "\"https://auth.example/device\",\"expires_in\":600}");
    for (unsigned k = 0; k < 130; k++) reply("400 {\"error\":\"authorization_pending\"}");
    biff_agent_authorize(&ag, 0);
    run_for(1000);
    assert_int_equal(oa.view.state, BIFF_AUTH_WAITING);
    assert_string_equal(saved, ""); /* a new flow drops the old refresh token */
    run_for(60000);
    assert_in_range(token_opens, 13, 14); /* every 5 s */
    /* the code expires while nobody approves */
    run_for(560000);
    assert_in_range(token_opens, 120, 123);
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    assert_string_equal(oa.view.text, "needs authorization: the code expired");
    no_token_shown();
}

/* A token the command buffer cannot carry is an error naming the setting, not a cut command. */
static void test_token_too_long(void **state)
{
    (void)state;
    static char big[BIFF_CHECK_OUT_MAX + 200];
    static char json[sizeof big + 100];
    setup("rt-one");
    memset(big, 'A', sizeof big - 1);
    snprintf(json, sizeof json, "200 {\"access_token\":\"%s\",\"expires_in\":3600}", big);
    reply(json);
    run_for(2000);
    assert_int_equal(token_opens, 1);
    assert_int_equal(mail_opens, 0);
    assert_int_equal(model[0].err, BIFF_ERR_CONFIG);
    assert_non_null(strstr(model[0].detail, "does not fit BIFF_CHECK_OUT_MAX"));

    /* A reply larger than a session takes: the error names the setting, the token stays. */
    static char huge[BIFF_AGENT_TOKEN_BODY_MAX + 100];
    setup("rt-one");
    memset(huge, 'B', sizeof huge - 1);
    memcpy(huge, "200 {\"access_token\":\"", 21);
    memcpy(huge + sizeof huge - 4, "\"}", 3);
    reply(huge);
    run_for(2000);
    assert_int_equal(token_opens, 1);
    assert_int_equal(mail_opens, 0);
    assert_int_equal(oa.view.state, BIFF_AUTH_WORKING);
    assert_non_null(strstr(model[0].detail, "token response over"));
    assert_non_null(strstr(model[0].detail, "(BIFF_AGENT_TOKEN_BODY_MAX)"));
    assert_string_equal(biff_oauth_refresh_token(&oa.o), "rt-one");
}

/* Without the port's hook the refresh token lives in the flash store: it survives a reboot,
 * and "needs authorization" erases it. */
static void test_token_in_flash(void **state)
{
    (void)state;
    size_t n = 0;
    char buf[64];
    memset(flash_mem, 0xFF, sizeof flash_mem);
    assert_int_equal(biff_flash_ram_init(&ram, flash_mem, 4096, 4, 4, NULL), 0);
    cur_port = &flash_port;
    cur_store = &st;
    setup(NULL); /* nothing kept yet */
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    reply("200 {\"device_code\":\"dc-secret\",\"user_code\":\"WDJB-MJHT\",\"verification_uri\":"
          "\"https://auth.example/device\",\"expires_in\":600,\"interval\":5}");
    reply("200 {\"access_token\":\"" TOKEN "\",\"refresh_token\":\"rt-one\",\"expires_in\":3600}");
    mail_scripts[n_mail++] = DATA_IMAP "/oauthbearer_ok.txt";
    biff_agent_authorize(&ag, 0);
    run_for(7000);
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_int_equal(biff_store_read(&st, BIFF_AGENT_KEY_OAUTH(0), buf, sizeof buf, &n), BIFF_STORE_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "rt-one", 6);

    /* Reboot: the stored token, no approval; the revocation erases it. */
    setup(NULL);
    assert_int_equal(oa.view.state, BIFF_AUTH_OK);
    reply("400 {\"error\":\"invalid_grant\"}");
    run_for(2000);
    assert_int_equal(token_opens, 1);
    assert_non_null(strstr(got[0], "refresh_token=rt-one"));
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    assert_int_equal(biff_store_read(&st, BIFF_AGENT_KEY_OAUTH(0), buf, sizeof buf, &n), BIFF_STORE_E_NOT_FOUND);
    setup(NULL);
    assert_int_equal(oa.view.state, BIFF_AUTH_NEEDED);
    cur_port = &port;
    cur_store = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_flow_to_revocation),
        cmocka_unit_test(test_stored_token_and_expired_code),
        cmocka_unit_test(test_token_too_long),
        cmocka_unit_test(test_token_in_flash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The step function on a fake port: a fake clock, and transports that replay the recorded
 * Dovecot dialogues (components/imap/tests/data, components/pop3/tests/data) one byte per
 * recv(), checking byte for byte that the engine sends what the recording says. A server line
 * is only delivered once every client line before it in the recording was sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biff/agent.h"

#include "replay.h"

static biff_transport link_t;
static int open_calls, closes;
static unsigned n_new, new_total;

/* Two accounts on one session: the dialogue of the account being connected is replayed. */
static script sc_imap, sc_pop;
static script *cur;     /* which one sc replays (NULL: the single-account tests) */
static char trace[256]; /* i/p: IMAP/POP3 connected, I: IDLE confirmed, q: IMAP ended cleanly */
static uint64_t pop_at[32];
static unsigned n_pop, mismatches;

static void trace_add(char c)
{
    size_t n = strlen(trace);
    if (n + 1 < sizeof trace) trace[n] = c;
}

static biff_net_status fake_open(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx, (void)s, (void)host, (void)port, (void)detail, (void)cap;
    if (op != BIFF_AGENT_OPEN_START) return BIFF_NET_E_CONNECT;
    open_calls++;
    if (cur) {
        cur = port == 143 ? &sc_imap : &sc_pop;
        sc = *cur;
        trace_add(port == 143 ? 'i' : 'p');
        if (port == 110 && n_pop < 32) pop_at[n_pop++] = clock_ms;
    }
    sc.srv_off = sc.cli_off = 0;
    link_t = (biff_transport){ .send = fake_send, .recv = fake_recv };
    *t = &link_t;
    return BIFF_NET_OK;
}

static void fake_close(void *ctx, unsigned s)
{
    (void)ctx, (void)s;
    closes++;
    if (!cur) return;
    mismatches += (unsigned)sc.mismatch;
    if (cur == &sc_imap && sc.cli_off == sc.cli_len) trace_add('q'); /* DONE and LOGOUT sent */
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL) {
        n_new++;
        new_total += ev->count;
    }
    if (cur && ev->kind == BIFF_AGENT_EV_IDLE && ev->count == 1) trace_add('I');
}

static const biff_agent_port port = {
    .wall_time = fake_wall,
    .event = on_event,
    .now_ms = fake_now,
    .open = fake_open,
    .close = fake_close,
};

static biff_agent ag;
static biff_agent_mailbox mb[1];
static biff_status_account model[1];
static biff_agent_account_cfg cfg[1];
static biff_poller_account sched[1];
static biff_poller_slot slot[1];
static biff_agent_session sessions[1];
static const char *folders[4];
static char folder_buf[256];

static void setup_account(int imap, int idle)
{
    unsigned n = 0;
    snprintf(folder_buf, sizeof folder_buf, "%s", sc.folders[0] ? sc.folders : "INBOX");
    for (char *p = strtok(folder_buf, ","); p && n < 4; p = strtok(NULL, ",")) folders[n++] = p;
    memset(cfg, 0, sizeof cfg);
    cfg[0].check = (biff_check_account){
        .proto = imap ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
        .security = BIFF_CHECK_SEC_NONE,
        .auth = imap ? BIFF_CHECK_AUTH_AUTO : BIFF_CHECK_AUTH_PLAIN,
        .n_folders = (uint8_t)n,
        .idle = (uint8_t)idle,
        .host = "mail.example",
        .port = imap ? 143 : 110,
        .user = sc.user,
        .secret = sc.secret,
        .folders = folders,
    };
    cfg[0].interval_ms = 60000;
    cfg[0].enabled = 1;
    n_new = new_total = 0;
    open_calls = closes = 0;
    assert_int_equal(biff_agent_init(&ag, &port, NULL, mb, model, 1, 1), BIFF_AGENT_OK);
    biff_agent_account(&ag, 0, cfg[0].check.proto, 1, "acct", folders, n);
    assert_int_equal(biff_agent_drive(&ag, cfg, sched, slot, sessions, 1), BIFF_AGENT_OK);
}

/* Step with the clock moving on by ms each time. */
static void run_for(uint64_t ms, uint64_t step)
{
    for (uint64_t t = 0; t < ms; t += step) {
        biff_agent_step(&ag);
        clock_ms += step;
    }
}

static void test_imap_check(void **state)
{
    (void)state;
    load(DATA_IMAP "/imaps_plain_ir.txt", -1);
    setup_account(1, 0);
    run_for(1500, 100);
    assert_false(sc.mismatch);
    assert_int_equal(sc.cli_off, sc.cli_len); /* every command, LOGOUT included */
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_int_equal(model[0].folder[0].unseen, 2);
    assert_int_equal(model[0].folder[1].unseen, 1);
    assert_int_equal(model[0].folder[0].fresh, 0); /* the baseline */
    assert_int_equal(open_calls, 1);
    assert_int_equal(closes, 1);
    assert_int_equal(biff_agent_session_want(&ag, 0), BIFF_AGENT_WANT_NONE);
    assert_true(model[0].next_check > model[0].last_check);
}

/* IDLE: the results, IDLE confirmed, then the server pushes EXISTS: the agent checks again on
 * the open session and the delivery shows as new, without a new connection. */
static void test_imap_idle_delivery(void **state)
{
    (void)state;
    load(DATA_IMAP "/idle.txt", -1);
    setup_account(1, 1);
    run_for(1500, 100);
    assert_false(sc.mismatch);
    assert_int_equal(open_calls, 1);
    assert_int_equal(closes, 0); /* still in IDLE */
    assert_int_equal(slot[0].state, BIFF_ACCT_IDLING);
    assert_int_equal(model[0].folder[0].unseen, 3);
    assert_int_equal(model[0].folder[0].fresh, 1); /* message 6 arrived during IDLE */
    assert_int_equal(n_new, 1);
    assert_int_equal(new_total, 1);
    assert_int_equal(biff_agent_session_want(&ag, 0), BIFF_AGENT_WANT_READ);
    biff_agent_stop(&ag);
    assert_int_equal(closes, 1);
}

static void test_pop3_check_and_reset(void **state)
{
    (void)state;
    /* The link is reset in the middle of the UIDL listing: a network error, backoff. */
    load(DATA_POP3 "/dovecot_plain.txt", -1);
    size_t listing = (size_t)(strstr((const char *)sc.srv, "2 0000") - (const char *)sc.srv);
    load(DATA_POP3 "/dovecot_plain.txt", (int)listing);
    setup_account(0, 0);
    run_for(1500, 100);
    assert_int_equal(model[0].state, BIFF_STATE_ERROR);
    assert_int_equal(model[0].err, BIFF_ERR_NETWORK);
    assert_false(mb[0].listing);
    assert_true(slot[0].backoff_ms >= 15000u);
    /* The next try, after the backoff, gets through. */
    sc.reset_at = -1;
    run_for(20000, 500);
    assert_false(sc.mismatch);
    assert_int_equal(model[0].state, BIFF_STATE_OK);
    assert_int_equal(model[0].folder[0].unseen, 3); /* STAT */
    assert_int_equal(model[0].folder[0].fresh, 0);
    assert_int_equal(open_calls, 2);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    load(DATA_POP3 "/dovecot_plain.txt", 0); /* not even the greeting... */
    sc.reset_at = -1;
    sc.gate_need[0] = SIZE_MAX; /* ...ever arrives */
    setup_account(0, 0);
    run_for(BIFF_AGENT_CHECK_TIMEOUT_MS - 2000, 1000);
    assert_int_equal(model[0].state, BIFF_STATE_CHECKING);
    run_for(4000, 1000);
    assert_int_equal(model[0].state, BIFF_STATE_ERROR);
    assert_string_equal(model[0].detail, "no answer from the server in time");
}

/* One session (the notifier), an IMAP account in IDLE and a POP3 account polled every 10 s:
 * the IDLE session makes room whenever the POP3 account is due (DONE, LOGOUT), the POP3
 * account is checked on its interval, and the IMAP account goes back to IDLE after each. */
static void test_idle_yields_single_session(void **state)
{
    (void)state;
    static biff_agent_mailbox mb2[2];
    static biff_status_account model2[2];
    static biff_agent_account_cfg cfg2[2];
    static biff_poller_account sched2[2];
    static biff_poller_slot slot2[2];
    static const char *inbox[] = { "INBOX" };
    load(DATA_IMAP "/idle.txt", -1);
    sc_imap = sc;
    load(DATA_POP3 "/dovecot_plain.txt", -1);
    sc_pop = sc;
    cur = &sc_pop;
    trace[0] = 0;
    n_pop = mismatches = 0;
    memset(cfg2, 0, sizeof cfg2);
    snprintf(folder_buf, sizeof folder_buf, "%s", sc_imap.folders);
    unsigned n = 0;
    for (char *p = strtok(folder_buf, ","); p && n < 4; p = strtok(NULL, ",")) folders[n++] = p;
    cfg2[0].check = (biff_check_account){ .proto = BIFF_CHECK_IMAP,
                                          .security = BIFF_CHECK_SEC_NONE,
                                          .auth = BIFF_CHECK_AUTH_AUTO,
                                          .n_folders = (uint8_t)n,
                                          .idle = 1,
                                          .host = "imap.example",
                                          .port = 143,
                                          .user = sc_imap.user,
                                          .secret = sc_imap.secret,
                                          .folders = folders };
    cfg2[1].check = (biff_check_account){ .proto = BIFF_CHECK_POP3,
                                          .security = BIFF_CHECK_SEC_NONE,
                                          .auth = BIFF_CHECK_AUTH_PLAIN,
                                          .n_folders = 1,
                                          .host = "pop.example",
                                          .port = 110,
                                          .user = sc_pop.user,
                                          .secret = sc_pop.secret,
                                          .folders = inbox };
    cfg2[0].interval_ms = 60000;
    cfg2[1].interval_ms = 10000;
    cfg2[0].enabled = cfg2[1].enabled = 1;
    assert_int_equal(biff_agent_init(&ag, &port, NULL, mb2, model2, 2, 1), BIFF_AGENT_OK);
    biff_agent_account(&ag, 0, BIFF_CHECK_IMAP, 1, "imap", folders, n);
    biff_agent_account(&ag, 1, BIFF_CHECK_POP3, 2, "pop", inbox, 1);
    assert_int_equal(biff_agent_drive(&ag, cfg2, sched2, slot2, sessions, 1), BIFF_AGENT_OK);
    uint64_t t0 = clock_ms;
    run_for(70000, 100);
    fprintf(stderr, "trace %s\n", trace);
    assert_int_equal(mismatches, 0);
    assert_true(n_pop >= 6);              /* 10 s +-10 % over 70 s */
    assert_true(pop_at[0] - t0 <= 1500u); /* due in the first second */
    for (unsigned k = 1; k < n_pop; k++) assert_true(pop_at[k] - pop_at[k - 1] <= 11000u + 500u);
    /* After the first POP3 check, each one is preceded by a clean end of IDLE and followed by
     * the IMAP account idling again: ...I q p i I q p i I... */
    const char *p = strchr(trace, 'p');
    assert_non_null(p);
    for (p = strchr(p + 1, 'p'); p; p = strchr(p + 1, 'p')) {
        assert_memory_equal(p - 2, "Iqp", 3);
        assert_true(p[1] == 0 || !strncmp(p + 1, "iI", 2));
    }
    assert_int_equal(slot2[0].state, BIFF_ACCT_IDLING);
    assert_int_equal(slot2[0].failures, 0); /* yielding is no failure */
    assert_int_equal(slot2[1].failures, 0);
    assert_int_equal(model2[1].state, BIFF_STATE_OK);
    assert_int_equal(model2[1].folder[0].unseen, 3);
    assert_int_equal(model2[0].state, BIFF_STATE_OK);
    biff_agent_stop(&ag);
    cur = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imap_check),
        cmocka_unit_test(test_imap_idle_delivery),
        cmocka_unit_test(test_pop3_check_and_reset),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_idle_yields_single_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

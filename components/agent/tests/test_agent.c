/* The agent's one definition of unseen/new for IMAP and POP3, across restarts, acknowledges
 * (also in the middle of a POP3 listing), announcements, flash failures, the clock floor and
 * the request entry point other threads use. Flash is RAM behind the fault injector. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/agent.h"
#include "biff/flash_fault.h"

#define N 3
static uint8_t mem[32 * 1024], scratch[4096];
static biff_flash_ram ram;
static biff_flash_fault fault;
static biff_store st;
static biff_agent ag;
static biff_agent_mailbox mb[N];
static biff_status_account model[N];
static biff_sync_pop3_scan scan;
static uint32_t now = 1700000000u;
static unsigned n_new_events, new_count, n_problem;
static char problem[200];

static uint32_t fake_wall(void *ctx)
{
    (void)ctx;
    return now;
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL) {
        n_new_events++;
        new_count += ev->count;
    } else if (ev->kind == BIFF_AGENT_EV_PROBLEM) {
        n_problem++;
        snprintf(problem, sizeof problem, "%s", ev->text);
    }
}

static const biff_agent_port port = { .wall_time = fake_wall, .event = on_event };
static const char *const inbox[] = { "INBOX", "Lists" };

/* A (re)start: mount the flash, bind the account list, load the accounts. */
static void boot(void)
{
    memset(&st, 0, sizeof st);
    assert_int_equal(biff_store_mount(&st, &fault.flash), BIFF_STORE_OK);
    uint32_t ids[N] = { 11, 22, 33 }, fresh = 0;
    assert_true(biff_sync_bind(&st, ids, N, &fresh) != BIFF_SYNC_E_STORE);
    assert_int_equal(biff_agent_init(&ag, &port, &st, mb, model, N, 1), BIFF_AGENT_OK);
    biff_agent_account(&ag, 0, BIFF_AGENT_IMAP, 11, "imap", inbox, 2);
    biff_agent_account(&ag, 1, BIFF_AGENT_POP3, 22, "pop3", NULL, 0);
    biff_agent_account(&ag, 2, BIFF_AGENT_IMAP, 33, "other", inbox, 1);
}

static int setup(void **state)
{
    (void)state;
    memset(mem, 0xFF, sizeof mem);
    assert_int_equal(biff_flash_ram_init(&ram, mem, 4096, 8, 4, NULL), 0);
    assert_int_equal(biff_flash_fault_init(&fault, &ram.flash, scratch, 5), 0);
    n_new_events = new_count = n_problem = 0;
    boot();
    return 0;
}

static uint32_t imap_v(unsigned f, uint32_t uidvalidity, uint32_t messages, uint32_t unseen, uint32_t uidnext)
{
    biff_imap_folder_result r = { .state = BIFF_IMAP_FOLDER_OK,
                                  .messages = messages,
                                  .unseen = unseen,
                                  .uidnext = uidnext,
                                  .uidvalidity = uidvalidity };
    return biff_agent_imap_folder(&ag, 0, f, &r);
}

static uint32_t imap(unsigned f, uint32_t messages, uint32_t unseen, uint32_t uidnext)
{
    return imap_v(f, 7, messages, unseen, uidnext);
}

/* A POP3 check listing uids "m<first>".."m<last>"; ack_after: acknowledge after that many. */
static uint32_t pop3(unsigned first, unsigned last, unsigned ack_after)
{
    assert_int_equal(biff_agent_pop3_begin(&ag, 1, &scan), BIFF_AGENT_OK);
    unsigned k = 0;
    for (unsigned u = first; u <= last; u++, k++) {
        if (k == ack_after) biff_agent_acknowledge(&ag, SIZE_MAX);
        char uid[16];
        int n = snprintf(uid, sizeof uid, "m%u", u);
        biff_agent_pop3_uid(&ag, 1, uid, (size_t)n);
    }
    uint32_t fresh = biff_agent_pop3_end(&ag, 1, last - first + 1, 1);
    biff_agent_check_done(&ag, 1, BIFF_ERR_NONE, NULL);
    return fresh;
}

static void test_imap_unseen_and_new(void **state)
{
    (void)state;
    assert_int_equal(imap(0, 5, 2, 6), 0); /* the first check is the baseline */
    assert_int_equal(model[0].folder[0].unseen, 2);
    assert_int_equal(imap(0, 6, 3, 7), 1); /* a delivery */
    assert_int_equal(imap(1, 1, 1, 2), 0);
    boot(); /* a restart keeps the baseline: the delivery is still new */
    assert_int_equal(imap(0, 6, 3, 7), 1);
    assert_int_equal(model[0].folder[0].fresh, 1);
    biff_agent_acknowledge(&ag, SIZE_MAX);
    assert_int_equal(model[0].folder[0].fresh, 0);
    boot();
    assert_int_equal(imap(0, 6, 3, 7), 0);
    assert_int_equal(imap(0, 8, 5, 9), 2);
    assert_int_equal(n_new_events, 2); /* 1 (announced once, not again after the restart), 2 */
    assert_int_equal(new_count, 3);
}

/* A recreated mailbox (new UIDVALIDITY) re-bases the record: its old UIDs mean nothing, and mail
 * that comes after the re-base is new, also when no acknowledge came in between. */
static void test_imap_uidvalidity_change_rebases(void **state)
{
    (void)state;
    assert_int_equal(imap_v(0, 7, 3, 0, 4), 0);
    assert_int_equal(imap_v(0, 8, 3, 0, 4), 0); /* recreated, same UIDNEXT */
    assert_int_equal(imap_v(0, 8, 4, 1, 5), 1);
    boot();
    assert_int_equal(imap_v(0, 8, 4, 1, 5), 1);  /* the re-base was kept in flash */
    assert_int_equal(imap_v(0, 9, 9, 9, 10), 0); /* recreated with more mail than before */
    assert_int_equal(imap_v(0, 9, 10, 10, 11), 1);
    assert_int_equal(model[0].folder[0].fresh, 1);
}

static void test_pop3_unseen_is_stat_new_is_since_ack(void **state)
{
    (void)state;
    assert_int_equal(pop3(1, 3, 99), 0);
    assert_int_equal(model[1].folder[0].unseen, 3); /* STAT, not "not recorded before" */
    assert_int_equal(pop3(1, 4, 99), 1);
    assert_int_equal(model[1].folder[0].unseen, 4);
    boot();
    assert_int_equal(pop3(1, 4, 99), 1); /* still new after a restart, not announced again */
    assert_int_equal(n_new_events, 1);
    biff_agent_acknowledge(&ag, SIZE_MAX);
    assert_int_equal(pop3(1, 4, 99), 0);
    assert_int_equal(model[1].folder[0].unseen, 4);
    assert_int_equal(pop3(2, 5, 99), 1); /* the client deleted m1; m5 came */
}

static void test_pop3_ack_during_listing(void **state)
{
    (void)state;
    assert_int_equal(pop3(1, 3, 99), 0);
    assert_int_equal(pop3(1, 5, 99), 2);
    /* Acknowledge while the next listing is half way, after m4 and m5 were listed: they were
     * acknowledged and stay so; m6, delivered before this listing, counts. Without the rebase
     * the listed m4 and m5 would count against the old set: 3. */
    assert_int_equal(pop3(1, 6, 5), 1);
    boot();
    assert_int_equal(pop3(1, 6, 99), 1);
}

static void test_ack_before_any_result_and_idempotent(void **state)
{
    (void)state;
    biff_agent_acknowledge(&ag, SIZE_MAX); /* nothing seen yet: nothing to take */
    assert_int_equal(imap(0, 5, 2, 6), 0);
    assert_int_equal(imap(0, 6, 2, 7), 1);
    biff_agent_acknowledge(&ag, 2); /* another account: this one stays new */
    assert_int_equal(model[0].folder[0].fresh, 1);
    biff_agent_acknowledge(&ag, 0);
    biff_agent_acknowledge(&ag, 0);
    assert_int_equal(imap(0, 6, 2, 7), 0);
}

static void test_failure_is_recorded_and_flash_problem_reported(void **state)
{
    (void)state;
    assert_int_equal(imap(0, 5, 2, 6), 0);
    biff_agent_check_done(&ag, 0, BIFF_ERR_AUTH_FAILED, "login refused");
    assert_int_equal(model[0].state, BIFF_STATE_ERROR);
    assert_string_equal(model[0].detail, "login refused");
    boot();
    assert_int_equal(mb[0].u.imap.rec[0].last_error, BIFF_ERR_AUTH_FAILED);
    /* Without announcements one check is one write: it fails, the problem is raised, and the
     * next good write clears it. */
    biff_agent_init(&ag, &port, &st, mb, model, N, 0);
    biff_agent_account(&ag, 0, BIFF_AGENT_IMAP, 11, "imap", inbox, 2);
    /* The flash stops taking writes (a failing part): the problem is raised once, and the
     * first good write after the part recovers clears it. */
    fault.cut_at = fault.ops + 1;
    assert_int_equal(imap(0, 6, 3, 7), 1);
    assert_non_null(biff_agent_problem(&ag));
    assert_int_equal(n_problem, 1);
    assert_int_equal(imap(0, 7, 3, 8), 2);
    assert_int_equal(n_problem, 1);
    biff_flash_fault_power_on(&fault);
    assert_int_equal(imap(0, 8, 3, 9), 3);
    assert_null(biff_agent_problem(&ag));
    assert_int_equal(n_problem, 2);
    assert_string_equal(problem, "");
}

static void test_clock_floor(void **state)
{
    (void)state;
    assert_int_equal(biff_agent_floor_load(&ag, 1000), 1000);
    assert_false(biff_agent_floor_raise(&ag, 900));
    assert_true(biff_agent_floor_raise(&ag, 5000));
    assert_false(biff_agent_time_ok(&ag, 4999));
    boot();
    assert_int_equal(biff_agent_floor_load(&ag, 1000), 5000);
    assert_true(ag.floor_from_cert);
    assert_true(biff_agent_time_ok(&ag, 5000));
}

static void *requester(void *arg)
{
    (void)arg;
    for (int k = 0; k < 10000; k++) biff_agent_request(&ag, k & 1 ? BIFF_AGENT_REQ_ACK : BIFF_AGENT_REQ_RELOAD);
    return NULL;
}

/* Requests from another thread are never lost: every one is taken by some service() call. */
static void test_requests_from_another_thread(void **state)
{
    (void)state;
    pthread_t t;
    uint32_t seen = 0;
    assert_int_equal(pthread_create(&t, NULL, requester, NULL), 0);
    for (int k = 0; k < 1000; k++) seen |= biff_agent_service(&ag);
    pthread_join(t, NULL);
    seen |= biff_agent_service(&ag);
    assert_int_equal(seen, BIFF_AGENT_REQ_ACK | BIFF_AGENT_REQ_RELOAD);
    assert_int_equal(biff_agent_service(&ag), 0);
}

static void test_account_id(void **state)
{
    (void)state;
    assert_int_equal(biff_agent_account_id(1, "me", "Mail.Example", 993),
                     biff_agent_account_id(1, "me", "mail.example", 993));
    assert_int_not_equal(biff_agent_account_id(1, "me", "h", 993), biff_agent_account_id(0, "me", "h", 993));
    assert_int_equal(biff_agent_account(&ag, N, BIFF_AGENT_IMAP, 1, "x", inbox, 1), BIFF_AGENT_E_ARG);
    assert_int_equal(biff_agent_account(&ag, 0, BIFF_AGENT_IMAP, 1, "x", inbox, BIFF_AGENT_MAX_FOLDERS + 1),
                     BIFF_AGENT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_imap_unseen_and_new, setup),
        cmocka_unit_test_setup(test_imap_uidvalidity_change_rebases, setup),
        cmocka_unit_test_setup(test_pop3_unseen_is_stat_new_is_since_ack, setup),
        cmocka_unit_test_setup(test_pop3_ack_during_listing, setup),
        cmocka_unit_test_setup(test_ack_before_any_result_and_idempotent, setup),
        cmocka_unit_test_setup(test_failure_is_recorded_and_flash_problem_reported, setup),
        cmocka_unit_test_setup(test_clock_floor, setup),
        cmocka_unit_test_setup(test_requests_from_another_thread, setup),
        cmocka_unit_test_setup(test_account_id, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

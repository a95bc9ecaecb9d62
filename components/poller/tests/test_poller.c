#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "biff/poller.h"

#define MIN 60000u

static void all_due_at_start_within_a_second(void **state)
{
    (void)state;
    biff_poller_account a[5] = { { MIN, 0, 1 }, { MIN, 0, 1 }, { MIN, 0, 0 }, { MIN, 0, 1 }, { MIN, 0, 1 } };
    biff_poller_slot s[5];
    biff_poller p;
    assert_int_equal(biff_poller_init(&p, a, s, 5, 10, 1, 1000), BIFF_POLLER_OK);
    size_t idx, started = 0;
    while (biff_poller_next(&p, 2000, &idx)) {
        assert_int_not_equal(idx, 2); /* disabled */
        started++;
    }
    assert_int_equal(started, 4);
    assert_int_equal(s[2].state, BIFF_ACCT_DISABLED);
}

static void parallel_limit_and_fair_order(void **state)
{
    (void)state;
    biff_poller_account a[3] = { { MIN, 0, 1 }, { MIN, 0, 1 }, { MIN, 0, 1 } };
    biff_poller_slot s[3];
    biff_poller p;
    biff_poller_init(&p, a, s, 3, 1, 7, 0);
    size_t first, idx;
    assert_true(biff_poller_next(&p, 5000, &first));
    assert_false(biff_poller_next(&p, 5000, &idx)); /* one at a time (MCU) */
    assert_int_equal(biff_poller_done(&p, first, 5000, BIFF_ERR_NONE, 0), BIFF_POLLER_OK);
    assert_true(biff_poller_next(&p, 5000, &idx));
    assert_int_not_equal(idx, first); /* the others, still overdue, go before a re-run */
    assert_int_equal(biff_poller_done(&p, first, 5000, BIFF_ERR_NONE, 0), BIFF_POLLER_E_STATE);
}

/* A check the driver could not start stays due, first in line, and nothing is counted. */
static void defer_keeps_due_uncounted(void **state)
{
    (void)state;
    biff_poller_account a[2] = { { MIN, 0, 1 }, { MIN, 0, 1 } };
    biff_poller_slot s[2];
    biff_poller p;
    biff_poller_init(&p, a, s, 2, 1, 5, 0);
    s[0].next_due_ms = 100, s[1].next_due_ms = 200;
    size_t idx;
    assert_true(biff_poller_next(&p, 5000, &idx));
    assert_int_equal(idx, 0);
    assert_int_equal(biff_poller_defer(&p, idx), BIFF_POLLER_OK);
    assert_int_equal(biff_poller_defer(&p, idx), BIFF_POLLER_E_STATE); /* not checking any more */
    assert_int_equal(p.running, 0);
    assert_int_equal(s[0].state, BIFF_ACCT_WAITING);
    assert_int_equal(s[0].next_due_ms, 100);
    assert_int_equal(s[0].failures, 0);
    assert_int_equal(s[0].last_check_ms, 0);
    assert_true(biff_poller_next(&p, 5000, &idx));
    assert_int_equal(idx, 0); /* still the most overdue */
}

/* One check at a time: of the accounts due, the one due longest goes first, then the next. */
static void longest_overdue_first(void **state)
{
    (void)state;
    biff_poller_account a[4] = { { MIN, 0, 1 }, { MIN, 0, 1 }, { MIN, 0, 1 }, { MIN, 0, 1 } };
    biff_poller_slot s[4];
    biff_poller p;
    biff_poller_init(&p, a, s, 4, 1, 3, 0);
    s[0].next_due_ms = 300, s[1].next_due_ms = 100, s[2].next_due_ms = 400, s[3].next_due_ms = 200;
    static const size_t order[4] = { 1, 3, 0, 2 };
    size_t idx;
    for (int k = 0; k < 4; k++) {
        assert_true(biff_poller_next(&p, 5000, &idx));
        assert_int_equal(idx, order[k]);
        assert_int_equal(biff_poller_done(&p, idx, 5000, BIFF_ERR_NONE, 0), BIFF_POLLER_OK);
    }
}

static void interval_with_jitter(void **state)
{
    (void)state;
    biff_poller_account a[1] = { { 10 * MIN, 0, 1 } };
    biff_poller_slot s[1];
    biff_poller p;
    biff_poller_init(&p, a, s, 1, 1, 99, 0);
    uint64_t lo = UINT64_MAX, hi = 0, now = 0;
    size_t idx;
    for (int i = 0; i < 200; i++) {
        now = biff_poller_next_deadline(&p);
        assert_true(biff_poller_next(&p, now, &idx));
        assert_false(biff_poller_next(&p, now, &idx));
        biff_poller_done(&p, 0, now, BIFF_ERR_NONE, 0);
        uint64_t d = s[0].next_due_ms - now;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    assert_true(lo >= 9 * MIN && hi <= 11 * MIN); /* +-10% */
    assert_true(hi - lo > MIN / 2);               /* and it really varies */
}

static void backoff_doubles_to_cap_and_resets(void **state)
{
    (void)state;
    biff_poller_account a[1] = { { 5 * MIN, 0, 1 } };
    biff_poller_slot s[1];
    biff_poller p;
    biff_poller_init(&p, a, s, 1, 1, 3, 0);
    p.jitter_pct = 0;
    uint64_t now = 1000;
    size_t idx;
    uint32_t want[] = { 15000, 30000, 60000, 120000, 240000, 480000, 960000, 1800000, 1800000, 1800000 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(biff_poller_next(&p, now, &idx));
        biff_poller_done(&p, 0, now, BIFF_ERR_AUTH_FAILED, 0);
        assert_int_equal(s[0].backoff_ms, want[i]);
        assert_int_equal(s[0].next_due_ms, now + want[i]);
        assert_int_equal(s[0].last_error, BIFF_ERR_AUTH_FAILED);
        now = s[0].next_due_ms;
    }
    assert_true(biff_poller_next(&p, now, &idx));
    biff_poller_done(&p, 0, now, BIFF_ERR_NONE, 0);
    assert_int_equal(s[0].failures, 0);
    assert_int_equal(s[0].next_due_ms, now + 5 * MIN);
}

static void idle_renew_change_and_loss(void **state)
{
    (void)state;
    biff_poller_account a[2] = { { 5 * MIN, 1, 1 }, { 5 * MIN, 0, 1 } };
    biff_poller_slot s[2];
    biff_poller p;
    biff_poller_init(&p, a, s, 2, 2, 5, 0);
    size_t i0, i1;
    assert_true(biff_poller_next(&p, 2000, &i0));
    assert_true(biff_poller_next(&p, 2000, &i1));
    biff_poller_done(&p, 0, 3000, BIFF_ERR_NONE, 1);
    biff_poller_done(&p, 1, 3000, BIFF_ERR_NONE, 1); /* idling without idle config: polls */
    assert_int_equal(s[0].state, BIFF_ACCT_IDLING);
    assert_int_equal(s[1].state, BIFF_ACCT_WAITING);
    assert_int_equal(s[0].next_due_ms, 3000 + p.idle_renew_ms); /* renewed well before 29 min */
    assert_true(p.idle_renew_ms < 29u * MIN);
    size_t idx;
    assert_false(biff_poller_next(&p, 4000, &idx));
    assert_int_equal(biff_poller_changed(&p, 0, 4000), BIFF_POLLER_OK);
    assert_true(biff_poller_next(&p, 4000, &idx));
    assert_int_equal(idx, 0);
    biff_poller_done(&p, 0, 4100, BIFF_ERR_NONE, 1);
    assert_int_equal(biff_poller_idle_lost(&p, 0, 5000), BIFF_POLLER_OK);
    assert_int_equal(s[0].state, BIFF_ACCT_WAITING);
    assert_false(biff_poller_next(&p, 5000, &idx));
    assert_true(biff_poller_next(&p, 5000 + BIFF_POLLER_IDLE_RETRY_MS, &idx));
    assert_int_equal(idx, 0);
    biff_poller_done(&p, 0, 7000, BIFF_ERR_NETWORK, 0); /* server still down: back off */
    assert_true(s[0].next_due_ms >= 7000 + 13500);
    assert_int_equal(biff_poller_changed(&p, 0, 6000), BIFF_POLLER_E_STATE);
}

static void hundreds_of_accounts(void **state)
{
    (void)state;
    static biff_poller_account a[500];
    static biff_poller_slot s[500];
    for (size_t i = 0; i < 500; i++) a[i] = (biff_poller_account){ 2 * MIN, 0, 1 };
    biff_poller p;
    biff_poller_init(&p, a, s, 500, 8, 11, 0);
    static unsigned count[500];
    uint64_t now = 0;
    size_t running[8], nrun = 0, idx;
    /* Simulate 20 minutes; each check takes 200 ms. */
    while (now < 20 * MIN) {
        while (nrun < 8 && biff_poller_next(&p, now, &idx)) running[nrun++] = idx;
        assert_true(p.running <= 8);
        now += 200;
        for (size_t k = 0; k < nrun; k++) {
            biff_poller_done(&p, running[k], now, BIFF_ERR_NONE, 0);
            count[running[k]]++;
        }
        nrun = 0;
    }
    for (size_t i = 0; i < 500; i++) assert_true(count[i] >= 5); /* nobody starves */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_due_at_start_within_a_second),
        cmocka_unit_test(parallel_limit_and_fair_order),
        cmocka_unit_test(longest_overdue_first),
        cmocka_unit_test(defer_keeps_due_uncounted),
        cmocka_unit_test(interval_with_jitter),
        cmocka_unit_test(backoff_doubles_to_cap_and_resets),
        cmocka_unit_test(idle_renew_change_and_loss),
        cmocka_unit_test(hundreds_of_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

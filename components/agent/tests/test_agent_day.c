/*
 * A simulated day, deterministic from its seed, no sockets: 10 accounts (5 IMAP, 5 POP3) get
 * mail at random, are checked at random with resets, timeouts, server errors and listings cut
 * half way, acknowledged at random (also in the middle of a POP3 listing), and the power goes
 * away between flash writes (also during acknowledges). After every check that the device
 * lived through, the agent's unseen/new must equal the model's; at the end every message that
 * was ever new has been announced exactly once. The same seed gives the same day.
 *
 * BIFF_DAY_SEED=N picks the seed (default 1), BIFF_DAY_STEPS the length (default 4000).
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
#include "biff/flash_fault.h"

#define NA     10
#define NIMAP  5
#define MAXMSG 40

static uint8_t mem[32 * 1024], scratch[4096];
static biff_flash_ram ram;
static biff_flash_fault fault;
static biff_store st;
static biff_agent ag;
static biff_agent_mailbox mb[NA];
static biff_status_account model[NA];
static biff_sync_pop3_scan scan;
static uint32_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng % n;
}

/* The server and what the user did, per account. Message ids grow; an IMAP UID is its id. */
typedef struct {
    uint32_t msg[MAXMSG];
    unsigned n;
    /* The baseline the device should have: IMAP uidnext acked (0 none); POP3 the acked ids. */
    int have_base, maybe; /* maybe: an acknowledge was cut; either baseline is right */
    uint32_t base_uidnext, alt_uidnext;
    uint32_t base_set[MAXMSG], alt_set[MAXMSG];
    unsigned base_n, alt_n;
    uint32_t last_seen[MAXMSG]; /* the last check the device (still) remembers */
    unsigned last_n;
    int seen;
    uint32_t last_uid;            /* UIDs (and POP3 uid strings) count up per account */
    uint32_t last_uidnext;        /* IMAP: UIDNEXT at the last check remembered */
    uint8_t announced_ever[4096]; /* message ids that were new at a check: to be announced once */
    unsigned ledger;
    unsigned announced; /* NEW_MAIL counts raised while the device was alive */
} acct_model;

static acct_model am[NA];
static int calm; /* the end of the day: no faults */
static struct {
    unsigned checks, ok, failed, cuts, acks, deliveries, reboots, mid_listing_acks, mismatches;
} day;

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (fault.dead) return; /* raised after the power went: nobody saw it */
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL) am[ev->account].announced += ev->count;
}

static uint32_t fake_wall(void *ctx)
{
    (void)ctx;
    return 1700000000u + day.checks;
}

static const biff_agent_port port = { .wall_time = fake_wall, .event = on_event };
static const char *const inbox[] = { "INBOX" };

static void boot(void)
{
    biff_flash_fault_power_on(&fault);
    memset(&st, 0, sizeof st);
    assert_int_equal(biff_store_mount(&st, &fault.flash), BIFF_STORE_OK);
    uint32_t ids[NA], fresh[1];
    for (unsigned i = 0; i < NA; i++) ids[i] = 1000u + i;
    assert_int_not_equal(biff_sync_bind(&st, ids, NA, fresh), BIFF_SYNC_E_STORE);
    biff_agent_init(&ag, &port, &st, mb, model, NA, 1);
    for (unsigned i = 0; i < NA; i++) {
        char name[8];
        snprintf(name, sizeof name, "a%u", i);
        biff_agent_account(&ag, i, i < NIMAP ? BIFF_AGENT_IMAP : BIFF_AGENT_POP3, ids[i], name, inbox, 1);
        am[i].seen = 0; /* RAM is gone: an acknowledge has nothing to take until a check */
    }
}

static int in(const uint32_t *set, unsigned n, uint32_t id)
{
    for (unsigned k = 0; k < n; k++)
        if (set[k] == id) return 1;
    return 0;
}

/* New mail by the model for one of the two candidate baselines. */
static unsigned model_new(const acct_model *a, int alt, int imap)
{
    unsigned c = 0;
    for (unsigned k = 0; k < a->n; k++) {
        if (imap)
            c += a->msg[k] >= (alt ? a->alt_uidnext : a->base_uidnext);
        else
            c += !in(alt ? a->alt_set : a->base_set, alt ? a->alt_n : a->base_n, a->msg[k]);
    }
    return c;
}

/* Apply an acknowledge to the model, as the agent does: accounts showing new mail take their
 * last check as the baseline. cut: the power went during it, so either outcome is right. */
static void model_ack(unsigned i, int cut)
{
    acct_model *a = &am[i];
    if (!a->seen || model[i].folder[0].fresh == 0) return;
    if (cut) {
        a->maybe = 1;
        a->alt_uidnext = a->base_uidnext;
        a->alt_n = a->base_n;
        memcpy(a->alt_set, a->base_set, sizeof a->alt_set);
    }
    if (i < NIMAP) {
        a->base_uidnext = a->last_uidnext;
    } else {
        a->base_n = a->last_n;
        memcpy(a->base_set, a->last_seen, sizeof a->base_set);
    }
}

static void ack_all(void)
{
    for (unsigned i = 0; i < NA; i++)
        if (am[i].maybe) return; /* the user looks at the page again first */
    if (rnd(4) == 0) fault.cut_at = fault.ops + 1 + rnd(3);
    for (unsigned i = 0; i < NA; i++) model_ack(i, 1); /* provisional: resolved below */
    biff_agent_acknowledge(&ag, SIZE_MAX);
    day.acks++;
    if (!fault.dead) {
        fault.cut_at = 0;
        for (unsigned i = 0; i < NA; i++) am[i].maybe = 0; /* it completed: the new baseline */
    }
}

/* One check of account i; returns 1 if the device lived through it. */
static void check(unsigned i)
{
    acct_model *a = &am[i];
    int imap = i < NIMAP;
    day.checks++;
    uint32_t r = calm ? 50 : rnd(100);
    if (r < 8) fault.cut_at = fault.ops + 1 + rnd(4); /* the power goes during this check */
    if (r >= 8 && r < 20) {                           /* reset, timeout or server error before any result */
        static const biff_error_class why[] = { BIFF_ERR_NETWORK, BIFF_ERR_NETWORK, BIFF_ERR_SERVER_ERROR };
        if (!imap && rnd(2)) { /* reset in the middle of the listing */
            biff_agent_pop3_begin(&ag, i, &scan);
            for (unsigned k = 0; k < a->n / 2; k++) {
                char uid[16];
                biff_agent_pop3_uid(&ag, i, uid, (size_t)snprintf(uid, sizeof uid, "u%u", (unsigned)a->msg[k]));
            }
        }
        biff_agent_check_done(&ag, i, why[rnd(3)], "simulated failure");
        day.failed++;
        return;
    }
    if (imap) {
        biff_imap_folder_result res = { .state = BIFF_IMAP_FOLDER_OK,
                                        .messages = a->n,
                                        .unseen = a->n,
                                        .uidnext = a->last_uid + 1,
                                        .uidvalidity = 42 };
        biff_agent_imap_folder(&ag, i, 0, &res);
    } else {
        biff_agent_pop3_begin(&ag, i, &scan);
        unsigned ack_at = !calm && rnd(3) == 0 ? rnd(a->n + 1) : UINT32_MAX;
        for (unsigned k = 0; k < a->n; k++) {
            if (k == ack_at && model[i].folder[0].fresh) { /* it has new mail to acknowledge */
                day.mid_listing_acks++;
                ack_all();
            }
            char uid[16];
            biff_agent_pop3_uid(&ag, i, uid, (size_t)snprintf(uid, sizeof uid, "u%u", (unsigned)a->msg[k]));
        }
        biff_agent_pop3_end(&ag, i, a->n, 1);
    }
    biff_agent_check_done(&ag, i, BIFF_ERR_NONE, NULL);
    if (fault.dead) return;
    fault.cut_at = 0;
    day.ok++;
    /* The first check of an account is its baseline. */
    if (!a->have_base) {
        a->have_base = 1;
        a->base_uidnext = a->last_uid + 1;
        a->base_n = a->n;
        memcpy(a->base_set, a->msg, sizeof a->base_set);
    }
    unsigned want = model_new(a, 0, imap), got = model[i].folder[0].fresh;
    if (a->maybe) {
        unsigned alt = model_new(a, 1, imap);
        if (got == alt && got != want) { /* the cut acknowledge did not land */
            a->base_uidnext = a->alt_uidnext;
            a->base_n = a->alt_n;
            memcpy(a->base_set, a->alt_set, sizeof a->base_set);
            want = alt;
        }
        a->maybe = 0;
    }
    if (got != want || model[i].folder[0].unseen != a->n) {
        day.mismatches++;
        fprintf(stderr, "check %u account %u: new %u (model %u), unseen %u (model %u)\n", day.checks, i, got, want,
                (unsigned)model[i].folder[0].unseen, a->n);
    }
    memcpy(a->last_seen, a->msg, sizeof a->last_seen);
    a->last_uidnext = a->last_uid + 1;
    a->last_n = a->n;
    a->seen = 1;
    for (unsigned k = 0; k < a->n; k++) {
        uint32_t id = a->msg[k];
        int is_new = imap ? id >= a->base_uidnext : !in(a->base_set, a->base_n, id);
        if (is_new && !a->announced_ever[id]) {
            a->announced_ever[id] = 1;
            a->ledger++;
        }
    }
}

static void deliver(unsigned i)
{
    acct_model *a = &am[i];
    if (a->n == MAXMSG || a->last_uid + 1 >= sizeof a->announced_ever) return;
    a->msg[a->n++] = ++a->last_uid;
    day.deliveries++;
}

/* A mail client deletes the oldest acknowledged message (POP3 maildrops; IMAP keeps mail). */
static void client_deletes(unsigned i)
{
    acct_model *a = &am[i];
    if (i < NIMAP || a->n == 0 || a->maybe || !in(a->base_set, a->base_n, a->msg[0])) return;
    memmove(a->msg, a->msg + 1, (a->n - 1) * sizeof a->msg[0]);
    a->n--;
}

static uint64_t run_day(uint32_t seed, unsigned steps)
{
    memset(mem, 0xFF, sizeof mem);
    memset(am, 0, sizeof am);
    memset(&day, 0, sizeof day);
    calm = 0;
    rng = seed ? seed : 1;
    assert_int_equal(biff_flash_ram_init(&ram, mem, 4096, 8, 4, NULL), 0);
    assert_int_equal(biff_flash_fault_init(&fault, &ram.flash, scratch, seed), 0);
    fault.cut_mode = BIFF_FAULT_ANY;
    boot();
    /* The first start: every account's first check sets its baseline. */
    calm = 1;
    for (unsigned i = 0; i < NA; i++) check(i);
    calm = 0;
    for (unsigned s = 0; s < steps; s++) {
        uint32_t r = rnd(100);
        unsigned i = rnd(NA);
        if (r < 30)
            deliver(i);
        else if (r < 38)
            client_deletes(i);
        else if (r < 42)
            ack_all();
        else
            check(i);
        if (am[i].n > 30) client_deletes(i);
        if (fault.dead) {
            day.cuts++;
            day.reboots++;
            boot();
        }
    }
    /* The end of the day: every account checked once more without faults. */
    fault.cut_at = 0;
    calm = 1;
    for (unsigned i = 0; i < NA; i++) check(i);
    unsigned missed = 0, twice = 0;
    uint64_t digest = 1469598103934665603ull;
    for (unsigned i = 0; i < NA; i++) {
        if (am[i].announced < am[i].ledger) missed += am[i].ledger - am[i].announced;
        if (am[i].announced > am[i].ledger) twice += am[i].announced - am[i].ledger;
        digest = (digest ^ am[i].announced ^ (uint64_t)model[i].folder[0].fresh << 20) * 1099511628211ull;
    }
    digest = (digest ^ fault.ops ^ (uint64_t)day.checks << 32) * 1099511628211ull;
    printf("day seed %u: checks %u (ok %u, failed %u), deliveries %u, acknowledges %u (%u during a POP3 "
           "listing), power cuts %u, flash ops %u, mail missed %u, announced twice %u, count mismatches %u\n",
           (unsigned)seed, day.checks, day.ok, day.failed, day.deliveries, day.acks, day.mid_listing_acks, day.cuts,
           (unsigned)fault.ops, missed, twice, day.mismatches);
    assert_true(day.checks >= 1000);
    assert_true(day.cuts >= 20);
    assert_true(day.mid_listing_acks >= 5);
    assert_int_equal(missed, 0);
    assert_int_equal(twice, 0);
    assert_int_equal(day.mismatches, 0);
    return digest;
}

static void test_day(void **state)
{
    (void)state;
    const char *e = getenv("BIFF_DAY_SEED"), *n = getenv("BIFF_DAY_STEPS");
    uint32_t seed = e ? (uint32_t)strtoul(e, NULL, 10) : 1u;
    unsigned steps = n ? (unsigned)strtoul(n, NULL, 10) : 4000u;
    uint64_t a = run_day(seed, steps);
    uint64_t b = run_day(seed, steps);
    assert_true(a == b); /* the same seed, the same day */
    uint64_t c = run_day(seed + 1, steps);
    assert_true(c != a);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_day) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

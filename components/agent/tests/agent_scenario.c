/*
 * The scenario of tests/integration/test_scenario.py on the agent alone, no server: the same
 * mailbox history fed as check results, flash in RAM (a restart re-reads it). Prints one JSON
 * line per step, {"step":..,"imap":[unseen,new],"pop3":[unseen,new]}, for the test to compare
 * with what `tinybiff check --state` and `tinybiff run` report against Dovecot. The last two
 * steps only the agent can time exactly: a delivery during a check, an acknowledge in the middle
 * of a POP3 listing.
 */
#include <stdio.h>
#include <string.h>

#include "biff/agent.h"

static uint8_t mem[32 * 1024];
static biff_flash_ram ram;
static biff_store st;
static biff_agent ag;
static biff_agent_mailbox mb[2];
static biff_status_account model[2];
static biff_sync_pop3_scan scan;
static unsigned messages = 3, unseen = 1; /* the fixture's start: 3 messages, 1 unseen */

static uint32_t wall(void *ctx)
{
    (void)ctx;
    return 1700000000u;
}

static const biff_agent_port port = { .wall_time = wall };
static const char *const inbox[] = { "INBOX" };

static void boot(void)
{
    uint32_t ids[2] = { 1, 2 }, fresh = 0;
    memset(&st, 0, sizeof st);
    biff_store_mount(&st, &ram.flash);
    biff_sync_bind(&st, ids, 2, &fresh);
    biff_agent_init(&ag, &port, &st, mb, model, 2, 0);
    biff_agent_account(&ag, 0, BIFF_AGENT_IMAP, 1, "imap", inbox, 1);
    biff_agent_account(&ag, 1, BIFF_AGENT_POP3, 2, "pop3", NULL, 0);
}

static void uid(unsigned k)
{
    char u[16];
    biff_agent_pop3_uid(&ag, 1, u, (size_t)snprintf(u, sizeof u, "u%u", k));
}

/* One check of both accounts; deliver_at / ack_at: a delivery or an acknowledge after that many
 * UIDs of the POP3 listing (0 = none). */
static void check(const char *step, unsigned deliver_at, unsigned ack_at)
{
    biff_imap_folder_result r = {
        .state = BIFF_IMAP_FOLDER_OK, .messages = messages, .unseen = unseen, .uidnext = messages + 1, .uidvalidity = 7
    };
    biff_agent_imap_folder(&ag, 0, 0, &r);
    biff_agent_check_done(&ag, 0, BIFF_ERR_NONE, NULL);
    biff_agent_pop3_begin(&ag, 1, &scan);
    unsigned n = messages;
    for (unsigned k = 1; k <= n; k++) {
        uid(k);
        if (k == deliver_at) messages++, unseen++; /* the maildrop was locked at login: not listed */
        if (k == ack_at) biff_agent_acknowledge(&ag, SIZE_MAX);
    }
    biff_agent_pop3_end(&ag, 1, n, 1);
    biff_agent_check_done(&ag, 1, BIFF_ERR_NONE, NULL);
    printf("{\"step\":\"%s\",\"imap\":[%lu,%lu],\"pop3\":[%lu,%lu]}\n", step, (unsigned long)model[0].folder[0].unseen,
           (unsigned long)model[0].folder[0].fresh, (unsigned long)model[1].folder[0].unseen,
           (unsigned long)model[1].folder[0].fresh);
}

int main(void)
{
    memset(mem, 0xFF, sizeof mem);
    biff_flash_ram_init(&ram, mem, 4096, 8, 4, NULL);
    boot();
    check("first check", 0, 0);
    messages++, unseen++;
    check("a delivery", 0, 0);
    boot();
    check("a restart", 0, 0);
    biff_agent_acknowledge(&ag, SIZE_MAX);
    check("an acknowledge", 0, 0);
    messages++, unseen++;
    check("a delivery", 0, 0);
    /* A delivery while the POP3 listing runs: IMAP's STATUS came before it and POP3 shows the
     * maildrop as it was at login, so neither has it; the next check has both. */
    check("a delivery during a check", 2, 0);
    check("the check after it", 0, 0);
    /* An acknowledge in a POP3 listing, after its last line (both new messages listed) and
     * before its end, takes what the last check saw: nothing comes back as new at the end. */
    check("an acknowledge during a POP3 listing", 0, 6);
    return 0;
}

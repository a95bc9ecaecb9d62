#include "report.h"

#include <stdarg.h>
#include <stdio.h>

#include "biff/tls.h"
#include "board.h"
#include "board_net.h"
#include "mqtt_host.h"
#include "oauth_ui.h"

static const prov *cfg;
static const biff_status_account *model;
static size_t pool_size;
/* TLS pool bytes held between checks (trust anchors, config). An RSA trust anchor keeps a value
 * computed at its first use (R^2 mod N, 528 B for RSA-4096), so the level may rise once. */
static size_t pool_base;

void say(const char *fmt, ...)
{
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    biff_board_console_write(line, (size_t)n);
}

extern uint32_t __stack_limit, __stack_top; /* the linker script's stack */

void report_paint_stack(void)
{
    volatile uint32_t *p = &__stack_limit;
    uint32_t here;
    while ((uintptr_t)p < (uintptr_t)&here - 64u) *p++ = 0xDEADBEEFu;
}

static unsigned stack_used(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == 0xDEADBEEFu) p++;
    return (unsigned)((uintptr_t)&__stack_top - (uintptr_t)p);
}

void report_init(const prov *c, const biff_status_account *m, size_t tls_pool_size)
{
    cfg = c;
    model = m;
    pool_size = tls_pool_size;
    pool_base = biff_tls_heap_current();
}

const char *report_label(size_t i)
{
    static char buf[16];
    snprintf(buf, sizeof buf, "%s-%u", cfg->acct[i].acct.proto == BIFF_CHECK_IMAP ? "imap" : "pop3", (unsigned)i);
    return buf;
}

static int led_pattern = -1;

void report_leds(uint32_t now, int net_up)
{
    biff_led_summary sum;
    biff_led_pattern pat = biff_led_summarize(model, cfg->n_acct, NULL, 0, &sum);
    if ((int)pat != led_pattern) {
        led_pattern = (int)pat;
        say("led %s unseen=%lu new=%lu\n", biff_led_pattern_name(pat), (unsigned long)sum.unseen,
            (unsigned long)sum.fresh);
    }
    biff_board_leds((uint32_t)biff_led_level(pat, now) | (net_up ? 2u : 0u));
}

/* A check ended: its line on the UART, and the memory figures the budget is about. */
static void checked(const biff_agent_event *ev)
{
    size_t i = ev->account, peak = biff_tls_heap_peak();
    const char *tv = ev->tls ? biff_tls_version(ev->tls) : "";
    if (ev->count != BIFF_ERR_NONE) {
        say("check %s failed error=%s detail=%s\n", report_label(i), biff_error_class_name((biff_error_class)ev->count),
            ev->text);
    } else {
        if (cfg->acct[i].acct.proto == BIFF_CHECK_IMAP) {
            const biff_imap_folder_result *f = biff_check_folder(ev->check, 0);
            say("check %s ok messages=%lu unseen=%lu uidnext=%lu uidvalidity=%lu", report_label(i),
                (unsigned long)f->messages, (unsigned long)f->unseen, (unsigned long)f->uidnext,
                (unsigned long)f->uidvalidity);
        } else {
            const biff_pop3_result *r = biff_check_pop3(ev->check);
            say("check %s ok messages=%lu uids=%lu", report_label(i), (unsigned long)r->messages,
                (unsigned long)r->uids);
        }
        say(" new=%lu tls=%s heap_peak=%u stack_peak=%u handshake_ms=%lu ms=%lu\n",
            (unsigned long)model[i].folder[0].fresh, tv, (unsigned)peak, stack_used(), (unsigned long)ev->handshake_ms,
            (unsigned long)ev->ms);
    }
    static size_t reported_peak;
    if (peak > reported_peak) { /* the largest of any check so far */
        reported_peak = peak;
        say("mem: tls pool peak %u of %u bytes, stack peak %u of %u bytes, eth drops %lu\n", (unsigned)peak,
            (unsigned)pool_size, stack_used(), (unsigned)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit),
            (unsigned long)biff_board_netif_drops());
    }
}

void report_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
#if BIFF_FEATURE_OAUTH
    if (oauth_ui_event(ev, model)) return;
#endif
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL)
        say("NEW %s %lu\n", report_label(ev->account), (unsigned long)ev->count);
    else if (ev->kind == BIFF_AGENT_EV_PROBLEM && ev->text[0])
        say("store: cannot write\n");
    else if (ev->kind == BIFF_AGENT_EV_ACKNOWLEDGED)
        say("ack: new mail acknowledged\n");
    else if (ev->kind == BIFF_AGENT_EV_CHECKED)
        checked(ev);
    else if (ev->kind == BIFF_AGENT_EV_IDLE && ev->count == 1)
        say("idle %s on %s\n", report_label(ev->account), ev->text);
    else if (ev->kind == BIFF_AGENT_EV_IDLE && ev->count == 3)
        say("idle %s paused: another account's turn\n", report_label(ev->account));
    else if (ev->kind == BIFF_AGENT_EV_IDLE) {
        say("idle %s %s: polling\n", report_label(ev->account), ev->count ? "not offered" : "session lost");
    } else if (ev->kind == BIFF_AGENT_EV_BROKER) {
        char line[200];
        mqtt_host_line(ev, line, sizeof line);
        say("%s\n", line);
    } else if (ev->kind == BIFF_AGENT_EV_STARTED) { /* peaks per check: what each server's chain costs */
        biff_tls_heap_reset_peak();
        report_paint_stack();
    }
}

void report_pool(void)
{
    size_t cur = biff_tls_heap_current();
    if (mqtt_host_pool_moved()) { /* the broker's share changed: a new base, not a leak */
        pool_base = cur;
        return;
    }
    if (cur > pool_base) {
        say("tls heap: %u bytes more in use than after the previous check\n", (unsigned)(cur - pool_base));
        pool_base = cur;
    }
}

/*
 * tinybiff notifier: the microcontroller product. One superloop, no RTOS, no malloc:
 *
 *   Ethernet poll (board_net.h) -> lwIP timers -> DHCP -> SNTP (checks wait for it, up to 15 s)
 *   -> poller picks an account -> lwIP TCP -> TLS -> check -> the agent (sync state in flash)
 *   -> UART log + LEDs + the status page (lwIP httpd, web.c)
 *
 * One check runs at a time. Every I/O step is non-blocking, so the loop never stalls on the
 * network; a check that makes no progress is cut off at its deadline.
 *
 * Start-up arguments (QEMU semihosting command line): PROVISIONING_FILE FLASH_FILE.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "biff/agent.h"
#include "biff/check.h"
#include "biff/net_lwip.h"
#include "biff/poller.h"
#include "biff/status.h"
#include "biff/store.h"
#include "biff/tls.h"
#include "board.h"
#include "board_net.h"
#include "flash_semihost.h"
#include "lwip/dhcp.h"
#include "lwip/apps/sntp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "provision.h"
#include "web.h"

/* The mbedTLS pool, sized from the peaks measured in QEMU (README "Footprint", e2e test). With
 * 16 KB records and provider-shaped chains: up to 46.0 KB (a 5.6 KB chain of four certificates);
 * 56 KB leaves 10 KB. With 4 KB records and chains under 4 KB: up to 30.0 KB; 36 KB leaves 6 KB.
 * A peak varies by one 4.6 KB allocation between runs; the margins cover it. */
#ifndef NOTIFIER_TLS_POOL
#if BIFF_TLS_IN_RECORD < 16384
#define NOTIFIER_TLS_POOL (36 * 1024)
#else
#define NOTIFIER_TLS_POOL (56 * 1024)
#endif
#endif
#ifndef BIFF_BUILD_TIME
#define BIFF_BUILD_TIME 0
#endif
#define CHECK_TIMEOUT_MS 30000u
#define SNTP_WAIT_MS 15000u /* first checks wait this long for the time (certificate dates) */
#define FLASH_SECTOR 4096u
#define FLASH_SECTORS 4u

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- state */

static _Alignas(8) unsigned char tls_pool[NOTIFIER_TLS_POOL];
static prov cfg;
static biff_tls_ctx tls_ctx;
static biff_check check; /* also the scratch buffer for the CA file before the first check */
static biff_tls tls;
static biff_net_lwip conn;
static biff_transport plain;
static struct netif netif;
static biff_flash_sh flash;
static biff_store store;
static int store_ok;
/* What is wrong with the flash, for the page (NULL: nothing; a failed write is the agent's). */
static const char *store_problem;
static const char flash_unusable[] = "flash unusable: sync state not kept";
/* TLS pool bytes held between checks (trust anchors, config). An RSA trust anchor keeps a value
 * computed at its first use (R^2 mod N, 528 B for RSA-4096), so the level may rise once. */
static size_t pool_base;
static biff_poller poller;
static biff_poller_account pacct[PROV_MAX_ACCOUNTS];
static biff_poller_slot pslot[PROV_MAX_ACCOUNTS];
static biff_sync_pop3_scan pop3_scan;

/* The agent records results, decides unseen/new, acknowledges, announces and keeps the clock
 * floor; the status model it fills is what the LEDs and the page show. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[PROV_MAX_ACCOUNTS];
static biff_status_account model[PROV_MAX_ACCOUNTS];
static char csrf[33];

enum { RUN_IDLE, RUN_CONNECT, RUN_HANDSHAKE, RUN_CHECK };
static struct {
    uint8_t state;
    uint8_t tls_up;   /* tls holds a live mbedTLS context */
    uint8_t starttls; /* handshake was asked for by the engine */
    size_t idx;
    uint32_t deadline;
    uint32_t started;
    uint32_t handshake_ms; /* TCP connect to the end of the (first) TLS handshake */
} run;

static const uint8_t mac_addr[6] = { 0x02, 0x00, 0xB1, 0xFF, 0x00, 0x01 }; /* locally administered */

/* ---------------------------------------------------------------- log */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
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

static const char *acct_label(size_t i)
{
    static char buf[16];
    snprintf(buf, sizeof buf, "%s-%u", cfg.acct[i].acct.proto == BIFF_CHECK_IMAP ? "imap" : "pop3",
             (unsigned)i);
    return buf;
}

extern uint32_t __stack_limit, __stack_top; /* the linker script's stack */

static void paint_stack(void)
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

/* ---------------------------------------------------------------- LEDs */

/* LED0: the mail LED, the daemon's patterns (biff/status.h): off / steady = unread /
 * slow blink = new since the last acknowledge / fast blink = an account is in error.
 * LED1: network (steady once DHCP gave an address). */
static int led_pattern = -1;

static void leds_update(uint32_t now, int net_up)
{
    biff_led_summary sum;
    biff_led_pattern pat = biff_led_summarize(model, cfg.n_acct, NULL, 0, &sum);
    if ((int)pat != led_pattern) {
        led_pattern = (int)pat;
        say("led %s unseen=%lu new=%lu\n", biff_led_pattern_name(pat), (unsigned long)sum.unseen,
            (unsigned long)sum.fresh);
    }
    biff_board_leds((uint32_t)biff_led_level(pat, now) | (net_up ? 2u : 0u));
}

static uint32_t port_wall(void *ctx)
{
    (void)ctx;
    return (uint32_t)biff_board_time();
}

/* What the agent reports goes to the UART ("NEW": what a buzzer or a push message would do). */
static void on_agent_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL) say("NEW %s %lu\n", acct_label(ev->account), (unsigned long)ev->count);
    else if (ev->kind == BIFF_AGENT_EV_PROBLEM && ev->text[0]) say("store: cannot write\n");
    else if (ev->kind == BIFF_AGENT_EV_ACKNOWLEDGED) say("ack: new mail acknowledged\n");
}

static const biff_agent_port agent_port = { .wall_time = port_wall, .event = on_agent_event };

/* The page's POST /ack: lwIP's httpd runs in this same superloop, so it acknowledges at once. */
static void acknowledge(void)
{
    biff_agent_acknowledge(&agent, SIZE_MAX);
}

/* ---------------------------------------------------------------- time */

/* No time source may set the clock before its floor (the agent's: the build time raised to the
 * newest notBefore of a verified certificate chain, kept in flash). */
static uint8_t sntp_synced;

static void floor_raise(uint32_t t)
{
    if (biff_agent_floor_raise(&agent, t) && biff_board_time() < t) biff_board_set_time(t);
}

unsigned short notifier_sntp_port = 123;

/* Called by lwIP's SNTP client with an answer that echoed the request. SNTP is not
 * authenticated: a forged answer can at worst make certificates look expired (checks fail and
 * say so), never take the clock back before the floor to make an expired one look valid. */
void notifier_sntp_time(unsigned long sec)
{
    if (!biff_agent_time_ok(&agent, (uint32_t)sec)) {
        say("time: SNTP answer %lu is before the clock floor %lu, ignored\n", sec, (unsigned long)biff_agent_floor(&agent));
        return;
    }
    unsigned long was = biff_board_time();
    biff_board_set_time(sec);
    if (!sntp_synced || (sec > was ? sec - was : was - sec) > 2) {
        say("time: %lu from SNTP (clock was %lu)\n", sec, was);
    }
    sntp_synced = 1;
}

/* ---------------------------------------------------------------- status page */

static size_t render_status(char *buf, size_t cap)
{
    /* What is wrong with the device itself: the flash, or a clock no time source has set. */
    const char *clock = sntp_synced || (!cfg.ntp_host && cfg.time) ? NULL
                        : cfg.ntp_host                           ? "no answer from the NTP server"
                                                                 : "no NTP server provisioned";
    char problem[128];
    const char *flash_problem = store_problem ? store_problem : biff_agent_problem(&agent);
    snprintf(problem, sizeof problem, "%s%s%s%s", flash_problem ? flash_problem : "",
             flash_problem && clock ? "; " : "", clock ? clock : "",
             !clock ? "" : biff_agent_floor_from_cert(&agent) ? ": clock from the newest verified certificate" : ": clock at the build time");
    size_t len = 0;
    return biff_status_json(buf, cap, &len, model, cfg.n_acct, (uint32_t)biff_board_time(), problem) == BIFF_STATUS_OK
               ? len : 0;
}

/* ---------------------------------------------------------------- one check */

static void on_pop3_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    (void)ctx;
    (void)msgno;
    biff_agent_pop3_uid(&agent, run.idx, uid, len);
}

static void start_check(size_t idx, uint32_t now)
{
    prov_account *a = &cfg.acct[idx];
    memset(&run, 0, sizeof run);
    memset(&check, 0, sizeof check); /* no error or result of the previous check survives */
    run.idx = idx;
    run.started = now;
    /* Peaks per check: the UART shows what each server's chain costs. */
    biff_tls_heap_reset_peak();
    paint_stack();
    run.deadline = now + CHECK_TIMEOUT_MS;
    if (a->acct.proto == BIFF_CHECK_POP3) {
        biff_agent_pop3_begin(&agent, idx, &pop3_scan);
        a->acct.on_uid = on_pop3_uid;
    }
    biff_net_status ns = biff_net_lwip_connect(&conn, a->acct.host, (uint16_t)a->acct.port, &plain);
    run.state = RUN_CONNECT;
    model[idx].state = BIFF_STATE_CHECKING;
    if (ns != BIFF_NET_OK) {
        biff_check_abort(&check, BIFF_ERR_NETWORK, biff_net_lwip_detail(&conn));
    }
}

static biff_check_status begin_tls(void)
{
    const prov_account *a = &cfg.acct[run.idx];
    run.tls_up = 1;
    if (biff_tls_start(&tls, &tls_ctx, &plain, a->acct.host, NULL, NULL) != BIFF_TLS_OK) {
        biff_check_abort(&check, BIFF_ERR_TLS, biff_tls_detail(&tls));
        return BIFF_CHECK_FAILED;
    }
    run.state = RUN_HANDSHAKE;
    return BIFF_CHECK_OK;
}

static void finish_check(biff_check_status st, uint32_t now)
{
    size_t i = run.idx;
    prov_account *a = &cfg.acct[i];
    biff_status_account *m = &model[i];
    const char *detail = "";
    biff_error_class err = biff_check_error(&check, &detail);
    if (st != BIFF_CHECK_DONE && err == BIFF_ERR_NONE) err = BIFF_ERR_PROTOCOL;
    size_t peak = biff_tls_heap_peak();
    const char *tv = run.tls_up ? biff_tls_version(&tls) : "";

    if (err == BIFF_ERR_NONE && a->acct.proto == BIFF_CHECK_IMAP) {
        const biff_imap_folder_result *f = biff_check_folder(&check, 0);
        if (!f || f->state != BIFF_IMAP_FOLDER_OK) {
            err = BIFF_ERR_SERVER_ERROR;
            detail = "STATUS refused (no such folder?)";
        } else {
            biff_agent_imap_folder(&agent, i, 0, f);
            say("check %s ok messages=%lu unseen=%lu uidnext=%lu uidvalidity=%lu new=%lu tls=%s "
                "heap_peak=%u stack_peak=%u handshake_ms=%lu ms=%lu\n",
                acct_label(i), (unsigned long)f->messages, (unsigned long)f->unseen,
                (unsigned long)f->uidnext, (unsigned long)f->uidvalidity,
                (unsigned long)m->folder[0].fresh, tv, (unsigned)peak, stack_used(),
                (unsigned long)run.handshake_ms, (unsigned long)(now - run.started));
        }
    } else if (err == BIFF_ERR_NONE) {
        const biff_pop3_result *r = biff_check_pop3(&check);
        biff_agent_pop3_end(&agent, i, r->messages, r->uidl);
        say("check %s ok messages=%lu uids=%lu new=%lu tls=%s heap_peak=%u stack_peak=%u handshake_ms=%lu "
            "ms=%lu\n", acct_label(i), (unsigned long)r->messages, (unsigned long)r->uids,
            (unsigned long)m->folder[0].fresh, tv, (unsigned)peak, stack_used(),
            (unsigned long)run.handshake_ms, (unsigned long)(now - run.started));
    }
    biff_agent_check_done(&agent, i, err, detail);
    snprintf(m->tls, sizeof m->tls, "%s", tv);
    if (err != BIFF_ERR_NONE) {
        say("check %s failed error=%s detail=%s\n", acct_label(i), biff_error_class_name(err), detail);
    }

    biff_check_clear(&check);
    if (run.tls_up) biff_tls_close(&tls);
    biff_net_lwip_close(&conn);
    a->acct.on_uid = NULL;
    /* The figures the budget is about, whenever a check set a new pool peak. */
    static size_t reported_peak;
    if (peak > reported_peak) { /* the largest of any check so far */
        reported_peak = peak;
        say("mem: tls pool peak %u of %u bytes, stack peak %u of %u bytes, eth drops %lu\n", (unsigned)peak,
            (unsigned)sizeof tls_pool, stack_used(),
            (unsigned)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit), (unsigned long)biff_board_netif_drops());
    }
    size_t cur = biff_tls_heap_current();
    if (cur > pool_base) {
        say("tls heap: %u bytes more in use than after the previous check\n", (unsigned)(cur - pool_base));
        pool_base = cur;
    }
    biff_poller_done(&poller, i, now, err, 0);
    uint64_t due = pslot[i].next_due_ms;
    m->next_check = due == UINT64_MAX ? 0 : m->last_check + (uint32_t)((due - now) / 1000u);
    run.state = RUN_IDLE;
}

static void step_check(uint32_t now)
{
    biff_check_status st = BIFF_CHECK_OK;
    if ((int32_t)(now - run.deadline) > 0) {
        biff_check_abort(&check, BIFF_ERR_NETWORK,
                         run.state == RUN_CONNECT ? "no connection within 30 s"
                                                  : "no answer from the server within 30 s");
        finish_check(BIFF_CHECK_FAILED, now);
        return;
    }
    switch (run.state) {
    case RUN_CONNECT: {
        if (biff_check_error(&check, NULL) != BIFF_ERR_NONE) {
            finish_check(BIFF_CHECK_FAILED, now);
            return;
        }
        unsigned f = biff_net_lwip_poll(&conn);
        if (f & BIFF_NET_LWIP_FAILED) {
            biff_check_abort(&check, BIFF_ERR_NETWORK, biff_net_lwip_detail(&conn));
            finish_check(BIFF_CHECK_FAILED, now);
            return;
        }
        if (!(f & BIFF_NET_LWIP_CONNECTED)) return;
        const prov_account *a = &cfg.acct[run.idx];
        if (a->acct.security == BIFF_CHECK_SEC_TLS) {
            st = begin_tls();
        } else {
            st = biff_check_start(&check, &a->acct, &plain);
            run.state = RUN_CHECK;
        }
        break;
    }
    case RUN_HANDSHAKE: {
        biff_tls_status ts = biff_tls_handshake(&tls);
        if (ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) return;
        if (ts != BIFF_TLS_OK) {
            biff_check_abort(&check, ts == BIFF_TLS_E_NET ? BIFF_ERR_NETWORK : BIFF_ERR_TLS,
                             biff_tls_detail(&tls));
            st = BIFF_CHECK_FAILED;
            break;
        }
        floor_raise(biff_tls_verified_since(&tls));
        run.handshake_ms = now - run.started;
        run.state = RUN_CHECK;
        st = run.starttls ? biff_check_tls_started(&check, biff_tls_transport(&tls))
                          : biff_check_start(&check, &cfg.acct[run.idx].acct, biff_tls_transport(&tls));
        break;
    }
    case RUN_CHECK:
        st = biff_check_step(&check);
        if (st == BIFF_CHECK_NEED_TLS) {
            run.starttls = 1;
            st = begin_tls();
        }
        break;
    default:
        return;
    }
    if (st == BIFF_CHECK_DONE || st == BIFF_CHECK_FAILED || st == BIFF_CHECK_E_ARG) finish_check(st, now);
}

/* ---------------------------------------------------------------- start-up */

static int load_ca(const char **why)
{
    /* The CA file is read into the check's buffers: they are unused until the first check. */
    uint8_t *buf = (uint8_t *)&check;
    int fd = biff_board_sh_open(cfg.ca_path, 1);
    if (fd < 0) {
        *why = "cannot open the CA file";
        return -1;
    }
    long len = biff_board_sh_flen(fd);
    int n = len > 0 && (size_t)len < sizeof check ? biff_board_sh_read(fd, buf, (uint32_t)len) : -1;
    biff_board_sh_close(fd);
    if (n != len) {
        *why = "cannot read the CA file (or larger than the scratch buffer)";
        return -1;
    }
    buf[n] = 0; /* PEM wants its NUL counted */
    biff_tls_status ts = biff_tls_ctx_init_ca_buffer(&tls_ctx, buf, (size_t)n + 1);
    memset(&check, 0, sizeof check);
    if (ts != BIFF_TLS_OK) {
        *why = tls_ctx.detail;
        return -1;
    }
    return 0;
}

static void open_store(const char *path)
{
    if (biff_flash_sh_init(&flash, path, FLASH_SECTOR, FLASH_SECTORS, 4) != BIFF_FLASH_OK) {
        say("store: cannot open flash file %s: sync state is not kept\n", path);
        store_problem = flash_unusable;
        return;
    }
    biff_store_status ss = biff_store_mount(&store, &flash.flash);
    if (ss == BIFF_STORE_E_VERSION) {
        say("store: other format on flash, formatting\n");
        ss = biff_store_format(&store, &flash.flash);
    }
    if (ss != BIFF_STORE_OK) {
        say("store: mount failed (%d): sync state is not kept\n", (int)ss);
        store_problem = flash_unusable;
        return;
    }
    uint32_t ids[PROV_MAX_ACCOUNTS], fresh = 0;
    for (size_t i = 0; i < cfg.n_acct; i++) ids[i] = cfg.acct[i].id;
    if (biff_sync_bind(&store, ids, cfg.n_acct, &fresh) == BIFF_SYNC_E_STORE) {
        say("store: cannot bind the account list\n");
        store_problem = flash_unusable;
        return;
    }
    biff_store_stats s;
    biff_store_stats_get(&store, &s);
    say("store: mounted, %lu sectors of %lu, seq %lu, fresh accounts 0x%lx\n", (unsigned long)s.sector_count,
        (unsigned long)s.sector_size, (unsigned long)s.next_seq, (unsigned long)fresh);
    store_ok = 1;
}

static void fail_stop(const char *what, const char *why)
{
    say("FATAL %s: %s\n", what, why);
    for (;;) {
        uint32_t t = biff_board_millis();
        biff_board_leds((t / 125u) & 1u);
    }
}

int main(void)
{
    paint_stack();
    biff_board_init();
    biff_board_set_time(BIFF_BUILD_TIME);
    say("tinybiff notifier (lwIP %s, mbedTLS pool %u bytes)\n", LWIP_VERSION_STRING,
        (unsigned)sizeof tls_pool);

    char args[256];
    int alen = biff_board_sh_cmdline(args, sizeof args);
    char *argv[3] = { 0 };
    if (alen > 0 && alen < (int)sizeof args) {
        args[alen] = 0;
        char *s = args;
        for (int k = 0; k < 3 && *s; k++) {
            while (*s == ' ') s++;
            argv[k] = s;
            while (*s && *s != ' ') s++;
            if (*s) *s++ = 0;
        }
    }
    if (!argv[1] || !argv[2]) fail_stop("start-up", "usage: notifier PROVISIONING_FILE FLASH_FILE");

    const char *why = "";
    if (prov_load(&cfg, argv[1], &why) != 0) fail_stop("provisioning", why);
    if (cfg.time > BIFF_BUILD_TIME) biff_board_set_time(cfg.time);
    say("provisioned: %u accounts, clock %lu (%s)\n", cfg.n_acct, biff_board_time(),
        cfg.time > BIFF_BUILD_TIME ? "provisioned" : "build time floor");

    biff_tls_heap_use_pool(tls_pool, sizeof tls_pool);
    if (load_ca(&why) != 0) fail_stop("trust anchor", why);
    pool_base = biff_tls_heap_current();
    say("tls: trust anchor loaded, %u bytes of the pool in use\n", (unsigned)pool_base);

    open_store(argv[2]);
    biff_agent_init(&agent, &agent_port, store_ok ? &store : NULL, mailboxes, model, cfg.n_acct, 1);
    for (size_t i = 0; i < cfg.n_acct; i++) {
        biff_agent_account(&agent, i, cfg.acct[i].acct.proto, cfg.acct[i].id, acct_label(i), &cfg.acct[i].folder, 1);
    }
    uint32_t floor = biff_agent_floor_load(&agent, BIFF_BUILD_TIME);
    if (biff_board_time() < floor) biff_board_set_time(floor);
    if (biff_agent_floor_from_cert(&agent)) say("time: clock floor %lu, the newest certificate verified before\n", (unsigned long)floor);

    lwip_init();
    if (!netif_add(&netif, NULL, NULL, NULL, (void *)mac_addr, biff_board_netif_init, ethernet_input)) {
        fail_stop("ethernet", "no network controller");
    }
    netif_set_default(&netif);
    netif_set_up(&netif);
    for (unsigned i = 0; i < cfg.n_hosts; i++) {
        ip_addr_t a;
        if (!ipaddr_aton(cfg.host_addr[i], &a) || dns_local_addhost(cfg.host_name[i], &a) != ERR_OK) {
            fail_stop("host table", cfg.host_name[i]);
        }
    }
    dhcp_start(&netif);
    say("net: %s up, MAC %02x:%02x:%02x:%02x:%02x:%02x, DHCP...\n", biff_board_netif_name, mac_addr[0], mac_addr[1],
        mac_addr[2], mac_addr[3], mac_addr[4], mac_addr[5]);

    for (size_t i = 0; i < cfg.n_acct; i++) {
        pacct[i].interval_ms = cfg.interval_s * 1000u;
        pacct[i].enabled = 1;
    }
    for (int k = 0; k < 16; k++) snprintf(csrf + 2 * k, 3, "%02x", biff_board_rand() & 0xFFu);

    int net_up = 0, checking = 0;
    uint32_t net_up_at = 0;
    for (;;) {
        uint32_t now = biff_board_millis();
        biff_board_netif_poll(&netif);
        sys_check_timeouts();
        if (!net_up && dhcp_supplied_address(&netif)) {
            net_up = 1;
            const ip_addr_t *dns = dns_getserver(0);
            say("net: address %s", ip4addr_ntoa(netif_ip4_addr(&netif)));
            say(" gateway %s", ip4addr_ntoa(netif_ip4_gw(&netif)));
            say(" dns %s\n", ipaddr_ntoa(dns));
            net_up_at = now;
            web_start(render_status, acknowledge, csrf);
            say("http: status page on port 80\n");
            if (cfg.ntp_host) {
                notifier_sntp_port = cfg.ntp_port;
                sntp_setoperatingmode(SNTP_OPMODE_POLL);
                sntp_setservername(0, cfg.ntp_host);
                sntp_init();
                say("time: asking SNTP server %s port %u\n", cfg.ntp_host, (unsigned)cfg.ntp_port);
            }
        }
        if (net_up && !checking && (sntp_synced || !cfg.ntp_host || now - net_up_at >= SNTP_WAIT_MS)) {
            if (!sntp_synced && cfg.ntp_host) {
                say("time: no SNTP answer within %u s, checking with the clock at %lu\n",
                    SNTP_WAIT_MS / 1000u, biff_board_time());
            }
            biff_poller_init(&poller, pacct, pslot, cfg.n_acct, 1, biff_board_rand(), now);
            checking = 1;
        }
        if (checking) {
            size_t idx;
            if (run.state == RUN_IDLE && biff_poller_next(&poller, now, &idx)) {
                start_check(idx, now);
            }
            if (run.state != RUN_IDLE) step_check(now);
        }
        leds_update(now, net_up);
        if (run.state == RUN_IDLE) biff_board_idle();
    }
}

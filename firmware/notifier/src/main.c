/*
 * tinybiff notifier: the microcontroller product. One superloop, no RTOS, no malloc:
 *
 *   Ethernet poll (board_net.h) -> lwIP timers -> DHCP -> SNTP (checks wait for it, up to 15 s)
 *   -> the agent (components/agent): schedule, lwIP TCP through this file's port, TLS, check,
 *      IMAP IDLE, sync state in flash -> UART log + LEDs + the status page (lwIP httpd, web.c)
 *
 * This file is the agent's host: the port (lwIP links, clock, TLS trust), provisioning, page,
 * LEDs and log. One check runs at a time; nothing blocks.
 *
 * Start-up arguments (QEMU semihosting command line): PROVISIONING_FILE FLASH_FILE.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "biff/agent.h"
#include "biff/net_lwip.h"
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
#include "mqtt_host.h"
#include "netif/ethernet.h"
#include "oauth_ui.h"
#include "provision.h"
#include "web.h"

/* The mbedTLS pool, sized from the peaks measured in QEMU (README "Footprint", e2e test). With
 * 16 KB records and provider-shaped chains: up to 46.0 KB (a 5.6 KB chain of four certificates);
 * 56 KB leaves 10 KB. With 4 KB records and chains under 4 KB: up to 30.0 KB; 36 KB leaves 6 KB.
 * A peak varies by one 4.6 KB allocation between runs; the margins cover it. */
#ifndef NOTIFIER_TLS_POOL
#if BIFF_TLS_IN_RECORD < 16384
#define NOTIFIER_TLS_POOL (36 * 1024 + BIFF_FEATURE_MQTT * MQTT_HOST_TLS_SHARE)
#else
#define NOTIFIER_TLS_POOL (56 * 1024 + BIFF_FEATURE_MQTT * MQTT_HOST_TLS_SHARE)
#endif
#endif
#ifndef BIFF_BUILD_TIME
#define BIFF_BUILD_TIME 0
#endif
#define SNTP_WAIT_MS  15000u /* first checks wait this long for the time (certificate dates) */
#define FLASH_SECTOR  4096u
#define FLASH_SECTORS 4u

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- state */

static _Alignas(8) unsigned char tls_pool[NOTIFIER_TLS_POOL];
static prov cfg;
static biff_tls_ctx tls_ctx;
static biff_net_lwip conn[1 + BIFF_FEATURE_MQTT]; /* link 0: the mail session; 1: the broker */
static biff_transport plain[1 + BIFF_FEATURE_MQTT];
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
static biff_agent_account_cfg acfg[PROV_MAX_ACCOUNTS];
static biff_poller_account sched[PROV_MAX_ACCOUNTS];
static biff_poller_slot slots[PROV_MAX_ACCOUNTS];
static biff_agent_session session; /* also the scratch buffer for the CA file at start */

/* The agent records results, decides unseen/new, acknowledges, announces and keeps the clock
 * floor; the status model it fills is what the LEDs and the page show. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[PROV_MAX_ACCOUNTS];
static biff_status_account model[PROV_MAX_ACCOUNTS];
static char csrf[33];

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
    snprintf(buf, sizeof buf, "%s-%u", cfg.acct[i].acct.proto == BIFF_CHECK_IMAP ? "imap" : "pop3", (unsigned)i);
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

/* The board's millisecond counter wraps after 49 days; the agent's clock must not. */
static uint64_t port_now(void *ctx)
{
    static uint64_t hi;
    static uint32_t last;
    uint32_t t = biff_board_millis();
    (void)ctx;
    if (t < last) hi += 1ull << 32;
    last = t;
    return hi | t;
}

static uint32_t port_random(void *ctx)
{
    (void)ctx;
    return biff_board_rand();
}

static biff_tls_ctx *port_tls(void *ctx, size_t i, const char **why)
{
    (void)ctx, (void)i, (void)why;
    return &tls_ctx;
}

static void port_close(void *ctx, unsigned s)
{
    (void)ctx;
    if (s < sizeof conn / sizeof *conn) biff_net_lwip_close(&conn[s]);
}

/* One lwIP connection per link (the agent runs one session; MQTT_HOST_LINK is the broker's).
 * lwIP's connect has no per-address retry: a time-out ends it. */
static biff_net_status port_open(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx;
    if (s >= sizeof conn / sizeof *conn) return BIFF_NET_E_CONNECT;
    biff_net_status ns = BIFF_NET_PENDING;
    if (op == BIFF_AGENT_OPEN_START) {
        ns = biff_net_lwip_connect(&conn[s], host, (uint16_t)port, &plain[s]);
        if (ns == BIFF_NET_OK) ns = BIFF_NET_PENDING;
    } else if (op == BIFF_AGENT_OPEN_TIMEOUT) {
        snprintf(detail, cap, "no connection within %u s", BIFF_AGENT_CONNECT_TIMEOUT_MS / 1000u);
        return BIFF_NET_E_TIMEOUT;
    }
    unsigned f = ns == BIFF_NET_PENDING ? biff_net_lwip_poll(&conn[s]) : BIFF_NET_LWIP_FAILED;
    if (f & BIFF_NET_LWIP_FAILED) {
        snprintf(detail, cap, "%s", biff_net_lwip_detail(&conn[s]));
        return BIFF_NET_E_CONNECT;
    }
    if (!(f & BIFF_NET_LWIP_CONNECTED)) return BIFF_NET_PENDING;
    *t = &plain[s];
    return BIFF_NET_OK;
}

static void checked(const biff_agent_event *ev);

/* What the agent reports goes to the UART ("NEW": what a buzzer or a push message would do). */
static void on_agent_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
#if BIFF_FEATURE_OAUTH
    if (oauth_ui_event(ev, model)) return;
#endif
    if (ev->kind == BIFF_AGENT_EV_NEW_MAIL)
        say("NEW %s %lu\n", acct_label(ev->account), (unsigned long)ev->count);
    else if (ev->kind == BIFF_AGENT_EV_PROBLEM && ev->text[0])
        say("store: cannot write\n");
    else if (ev->kind == BIFF_AGENT_EV_ACKNOWLEDGED)
        say("ack: new mail acknowledged\n");
    else if (ev->kind == BIFF_AGENT_EV_CHECKED)
        checked(ev);
    else if (ev->kind == BIFF_AGENT_EV_IDLE && ev->count == 1)
        say("idle %s on %s\n", acct_label(ev->account), ev->text);
    else if (ev->kind == BIFF_AGENT_EV_IDLE) {
        say("idle %s %s: polling\n", acct_label(ev->account), ev->count ? "not offered" : "session lost");
    } else if (ev->kind == BIFF_AGENT_EV_BROKER) {
        char line[200];
        mqtt_host_line(ev, line, sizeof line);
        say("%s\n", line);
    } else if (ev->kind == BIFF_AGENT_EV_STARTED) { /* peaks per check: what each server's chain costs */
        biff_tls_heap_reset_peak();
        paint_stack();
    }
}

static const biff_agent_port agent_port = {
    .wall_time = port_wall,
    .event = on_agent_event,
    .now_ms = port_now,
    .open = port_open,
    .close = port_close,
    .tls = port_tls,
    .random = port_random,
};

/* The page's POST /ack: lwIP's httpd runs in this same superloop, so it acknowledges at once. */
static void acknowledge(void)
{
    biff_agent_acknowledge(&agent, SIZE_MAX);
}

/* ---------------------------------------------------------------- time */

/* No time source may set the clock before its floor (the agent's: the build time raised to the
 * newest notBefore of a verified certificate chain, kept in flash). */
static uint8_t sntp_synced;

unsigned short notifier_sntp_port = 123;

/* Called by lwIP's SNTP client with an answer that echoed the request. SNTP is not
 * authenticated: a forged answer can at worst make certificates look expired (checks fail and
 * say so), never take the clock back before the floor to make an expired one look valid. */
void notifier_sntp_time(unsigned long sec)
{
    if (!biff_agent_time_ok(&agent, (uint32_t)sec)) {
        say("time: SNTP answer %lu is before the clock floor %lu, ignored\n", sec,
            (unsigned long)biff_agent_floor(&agent));
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
                        : cfg.ntp_host                             ? "no answer from the NTP server"
                                                                   : "no NTP server provisioned";
    char problem[128];
    const char *flash_problem = store_problem ? store_problem : biff_agent_problem(&agent);
    snprintf(problem, sizeof problem, "%s%s%s%s", flash_problem ? flash_problem : "",
             flash_problem && clock ? "; " : "", clock ? clock : "",
             !clock                               ? ""
             : biff_agent_floor_from_cert(&agent) ? ": clock from the newest verified certificate"
                                                  : ": clock at the build time");
    size_t len = 0;
    return biff_status_json(buf, cap, &len, model, cfg.n_acct, (uint32_t)biff_board_time(), problem,
                            mqtt_host_model()) == BIFF_STATUS_OK
               ? len
               : 0;
}

/* ---------------------------------------------------------------- one check */

/* A check ended: its line on the UART, and the memory figures the budget is about. */
static void checked(const biff_agent_event *ev)
{
    size_t i = ev->account, peak = biff_tls_heap_peak();
    const char *tv = ev->tls ? biff_tls_version(ev->tls) : "";
    if (ev->count != BIFF_ERR_NONE) {
        say("check %s failed error=%s detail=%s\n", acct_label(i), biff_error_class_name((biff_error_class)ev->count),
            ev->text);
    } else if (cfg.acct[i].acct.proto == BIFF_CHECK_IMAP) {
        const biff_imap_folder_result *f = biff_check_folder(ev->check, 0);
        say("check %s ok messages=%lu unseen=%lu uidnext=%lu uidvalidity=%lu new=%lu tls=%s heap_peak=%u "
            "stack_peak=%u handshake_ms=%lu ms=%lu\n",
            acct_label(i), (unsigned long)f->messages, (unsigned long)f->unseen, (unsigned long)f->uidnext,
            (unsigned long)f->uidvalidity, (unsigned long)model[i].folder[0].fresh, tv, (unsigned)peak, stack_used(),
            (unsigned long)ev->handshake_ms, (unsigned long)ev->ms);
    } else {
        const biff_pop3_result *r = biff_check_pop3(ev->check);
        say("check %s ok messages=%lu uids=%lu new=%lu tls=%s heap_peak=%u stack_peak=%u handshake_ms=%lu "
            "ms=%lu\n",
            acct_label(i), (unsigned long)r->messages, (unsigned long)r->uids, (unsigned long)model[i].folder[0].fresh,
            tv, (unsigned)peak, stack_used(), (unsigned long)ev->handshake_ms, (unsigned long)ev->ms);
    }
    snprintf(model[i].tls, sizeof model[i].tls, "%s", tv);
    static size_t reported_peak;
    if (peak > reported_peak) { /* the largest of any check so far */
        reported_peak = peak;
        say("mem: tls pool peak %u of %u bytes, stack peak %u of %u bytes, eth drops %lu\n", (unsigned)peak,
            (unsigned)sizeof tls_pool, stack_used(), (unsigned)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit),
            (unsigned long)biff_board_netif_drops());
    }
}

/* Between checks the TLS pool must be back where it was: a leak shows here. */
static void check_pool(void)
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

/* ---------------------------------------------------------------- start-up */

static int load_ca(const char **why)
{
    /* The CA file is read into the session's buffers: they are unused until the first check. */
    uint8_t *buf = (uint8_t *)&session;
    int fd = biff_board_sh_open(cfg.ca_path, 1);
    if (fd < 0) {
        *why = "cannot open the CA file";
        return -1;
    }
    long len = biff_board_sh_flen(fd);
    int n = len > 0 && (size_t)len < sizeof session ? biff_board_sh_read(fd, buf, (uint32_t)len) : -1;
    biff_board_sh_close(fd);
    if (n != len) {
        *why = "cannot read the CA file (or larger than the scratch buffer)";
        return -1;
    }
    buf[n] = 0; /* PEM wants its NUL counted */
    biff_tls_status ts = biff_tls_ctx_init_ca_buffer(&tls_ctx, buf, (size_t)n + 1);
    memset(&session, 0, sizeof session);
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
    say("tinybiff notifier (lwIP %s, mbedTLS pool %u bytes)\n", LWIP_VERSION_STRING, (unsigned)sizeof tls_pool);

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
    if (biff_agent_floor_from_cert(&agent))
        say("time: clock floor %lu, the newest certificate verified before\n", (unsigned long)floor);

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
        acfg[i].check = cfg.acct[i].acct;
        acfg[i].interval_ms = cfg.interval_s * 1000u;
        acfg[i].enabled = 1;
    }
#if BIFF_FEATURE_OAUTH
    if (oauth_ui_setup(&agent, &cfg, acfg, &why) != 0) fail_stop("oauth2", why);
    web_on_authorize(oauth_ui_authorize);
#endif
    for (int k = 0; k < 16; k++) snprintf(csrf + 2 * k, 3, "%02x", biff_board_rand() & 0xFFu);

    int net_up = 0, checking = 0, was_busy = 0;
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
            web_start(render_status, acknowledge, csrf, cfg.web_name, cfg.n_web_names);
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
                say("time: no SNTP answer within %u s, checking with the clock at %lu\n", SNTP_WAIT_MS / 1000u,
                    biff_board_time());
            }
            biff_agent_drive(&agent, acfg, sched, slots, &session, 1);
#if BIFF_FEATURE_OAUTH
            oauth_ui_start();
#endif
            const char *mqtt_why = mqtt_host_start(&agent, &cfg, &tls_ctx);
            if (mqtt_why) say("mqtt: %s\n", mqtt_why);
            checking = 1;
        }
        int busy = 0;
        if (checking) {
            biff_agent_step(&agent);
            mqtt_host_step();
            busy = biff_agent_busy(&agent);
            if (!busy && was_busy) check_pool();
            was_busy = busy;
        }
        leds_update(now, net_up);
        if (!busy) biff_board_idle();
    }
}

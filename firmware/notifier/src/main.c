/*
 * tinybiff notifier: the microcontroller product. One superloop, no RTOS, no malloc:
 *
 *   Ethernet poll (board_net.h) -> lwIP timers -> DHCP -> SNTP (checks wait for it, up to 15 s)
 *   -> the agent (components/agent): schedule, lwIP TCP through the port (port.c), TLS, check,
 *      IMAP IDLE, sync state in flash -> UART log + LEDs + the status page (lwIP httpd, web.c)
 *
 * This file is the agent's host: start-up, the network, the time, the page's data. The port
 * (lwIP link, clock, trust, flash) is port.c, the UART lines and LEDs report.c. One check runs
 * at a time; nothing blocks.
 *
 * Start-up arguments (QEMU semihosting command line): PROVISIONING_FILE FLASH_FILE.
 */
#include <stdio.h>
#include <string.h>

#include "biff/agent.h"
#include "biff/status.h"
#include "biff/tls.h"
#include "board.h"
#include "board_net.h"
#include "lwip/dhcp.h"
#include "lwip/apps/sntp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "mqtt_host.h"
#include "netif/ethernet.h"
#include "oauth_ui.h"
#include "port.h"
#include "provision.h"
#include "report.h"
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
#define SNTP_WAIT_MS 15000u /* first checks wait this long for the time (certificate dates) */

/* ---------------------------------------------------------------- state */

static _Alignas(8) unsigned char tls_pool[NOTIFIER_TLS_POOL];
static prov cfg;
static struct netif netif;
/* What is wrong with the flash, for the page (NULL: nothing; a failed write is the agent's). */
static const char *store_problem;
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

static void render_status(biff_out *o, uint32_t now)
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
    biff_status_json_out(o, model, cfg.n_acct, now, problem, mqtt_host_model());
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
    report_paint_stack();
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
    /* The CA file is read into the session's buffers: they are unused until the first check. */
    if (nport_load_ca(cfg.ca_path, &session, sizeof session, &why) != 0) fail_stop("trust anchor", why);
    report_init(&cfg, model, sizeof tls_pool);
    say("tls: trust anchor loaded, %u bytes of the pool in use\n", (unsigned)biff_tls_heap_current());

    uint32_t ids[PROV_MAX_ACCOUNTS];
    for (size_t i = 0; i < cfg.n_acct; i++) ids[i] = cfg.acct[i].id;
    biff_store *store = nport_open_store(argv[2], ids, cfg.n_acct);
    if (!store) store_problem = "flash unusable: sync state not kept";
    biff_agent_init(&agent, &nport, store, mailboxes, model, cfg.n_acct, 1);
    for (size_t i = 0; i < cfg.n_acct; i++) {
        biff_agent_account(&agent, i, cfg.acct[i].acct.proto, cfg.acct[i].id, report_label(i), &cfg.acct[i].folder, 1);
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
            const char *mqtt_why = mqtt_host_start(&agent, &cfg, nport_trust());
            if (mqtt_why) say("mqtt: %s\n", mqtt_why);
            checking = 1;
        }
        int busy = 0;
        if (checking) {
            biff_agent_step(&agent);
            mqtt_host_step();
            busy = biff_agent_busy(&agent);
            if (!busy && was_busy) report_pool();
            was_busy = busy;
        }
        report_leds(now, net_up);
        if (!busy) biff_board_idle();
    }
}

/*
 * tinybiff notifier: the microcontroller product. One superloop, no RTOS, no malloc:
 *
 *   LAN9118 poll -> lwIP timers -> DHCP -> SNTP (checks wait for it, up to 15 s)
 *   -> poller picks an account -> lwIP TCP -> TLS -> check -> sync state in flash
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

#include "biff/check.h"
#include "biff/net_lwip.h"
#include "biff/poller.h"
#include "biff/status.h"
#include "biff/store.h"
#include "biff/sync.h"
#include "biff/tls.h"
#include "board.h"
#include "flash_semihost.h"
#include "lan9118.h"
#include "lwip/dhcp.h"
#include "lwip/apps/sntp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "netif/ethernet.h"
#include "provision.h"
#include "web.h"

#ifndef NOTIFIER_TLS_POOL
#define NOTIFIER_TLS_POOL (20 * 1024) /* measured peak 15.5 KB (TLS 1.3, ECDSA P-256 chain) */
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

static unsigned char tls_pool[NOTIFIER_TLS_POOL];
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
/* What is wrong with the flash, for the page (NULL: nothing). A failed write is reported until
 * a later one succeeds. */
static const char *store_problem;
static const char flash_unusable[] = "flash unusable: sync state not kept";
static const char flash_write_failed[] = "cannot write the flash (full or failing)";
static size_t pool_base; /* TLS pool bytes held between checks (trust anchor, config) */
static biff_poller poller;
static biff_poller_account pacct[PROV_MAX_ACCOUNTS];
static biff_poller_slot pslot[PROV_MAX_ACCOUNTS];
static biff_sync_uidset pop3_seen;
static biff_sync_pop3_scan pop3_scan;

/* The shared status model (biff/status.h) is what the LEDs and the page show; next to it what
 * an acknowledge needs and what was already announced. */
static biff_status_account model[PROV_MAX_ACCOUNTS];
typedef struct {
    uint32_t uidvalidity, uidnext; /* IMAP: the last STATUS, acknowledged on request */
    uint64_t modseq;
    uint8_t have_last;
} acct_rt;
static acct_rt rt[PROV_MAX_ACCOUNTS];
static biff_sync_uidset pop3_last[PROV_MAX_ACCOUNTS]; /* POP3: the last listing, saved on acknowledge */
static char csrf[33];

/* Announcements ("NEW" on the UART: what a buzzer or a push message would do) happen once per
 * message, also across reboots: the count of new mail already announced is kept in flash,
 * bound to the account, under a firmware key of the range sync.h reserves for that (it was
 * 0x2000 + slot before the sync records grew past 256 accounts). */
#define ANNOUNCED_KEY(slot) BIFF_SYNC_KEY_APP(slot)

static void stored(int ok)
{
    if (!ok) {
        say("store: cannot write\n");
        store_problem = flash_write_failed;
    } else if (store_problem == flash_write_failed) {
        store_problem = NULL;
    }
}

/* The firmware's own flash records: n <= 2 words, little-endian. */
static int record_load(uint16_t key, uint32_t *w, size_t n)
{
    uint8_t b[8];
    size_t len = 0;
    if (!store_ok || biff_store_read(&store, key, b, sizeof b, &len) != BIFF_STORE_OK || len != 4 * n) return 0;
    for (size_t k = 0; k < n; k++)
        w[k] = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 | (uint32_t)b[4 * k + 2] << 16 | (uint32_t)b[4 * k + 3] << 24;
    return 1;
}

static void record_save(uint16_t key, const uint32_t *w, size_t n)
{
    uint8_t b[8];
    for (size_t k = 0; k < n; k++)
        for (unsigned j = 0; j < 4; j++) b[4 * k + j] = (uint8_t)(w[k] >> (8 * j));
    if (store_ok) stored(biff_store_write(&store, key, b, 4 * n) == BIFF_STORE_OK);
}

static uint32_t announced_load(size_t i)
{
    uint32_t w[2]; /* account id, count */
    return record_load(ANNOUNCED_KEY(i), w, 2) && w[0] == cfg.acct[i].id ? w[1] : 0;
}

static void announced_save(size_t i, uint32_t n)
{
    const uint32_t w[2] = { cfg.acct[i].id, n };
    record_save(ANNOUNCED_KEY(i), w, 2);
}

enum { RUN_IDLE, RUN_CONNECT, RUN_HANDSHAKE, RUN_CHECK };
static struct {
    uint8_t state;
    uint8_t tls_up;   /* tls holds a live mbedTLS context */
    uint8_t starttls; /* handshake was asked for by the engine */
    size_t idx;
    uint32_t deadline;
    uint32_t started;
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

static void paint_stack(void)
{
    extern uint32_t __stack_limit;
    volatile uint32_t *p = &__stack_limit;
    uint32_t here;
    while ((uintptr_t)p < (uintptr_t)&here - 64u) *p++ = 0xDEADBEEFu;
}

static unsigned stack_used(void)
{
    extern uint32_t __stack_limit, __stack_top;
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

static void acknowledge(void)
{
    for (size_t i = 0; i < cfg.n_acct; i++) {
        biff_status_account *m = &model[i];
        const prov_account *a = &cfg.acct[i];
        if (!m->folder[0].fresh) continue;
        if (a->acct.proto == BIFF_CHECK_IMAP && rt[i].have_last) {
            biff_sync_folder rec;
            if (!store_ok || biff_sync_folder_load(&store, (unsigned)i, 0, a->id, a->folder_id, &rec) == BIFF_SYNC_E_STORE) {
                continue;
            }
            /* What the page showed is what is acknowledged: the last STATUS seen. */
            biff_sync_imap_ack(&rec, rt[i].uidvalidity, rt[i].uidnext, rt[i].modseq);
            stored(biff_sync_folder_save(&store, (unsigned)i, 0, &rec) == BIFF_SYNC_OK);
        } else if (a->acct.proto == BIFF_CHECK_POP3 && pop3_last[i].valid) {
            if (store_ok) stored(biff_sync_pop3_save(&store, (unsigned)i, &pop3_last[i]) == BIFF_SYNC_OK);
            if (run.state != RUN_IDLE && run.idx == i) {
                /* Its check is under way, comparing against the set from before: what it has
                 * listed, and lists from now on, counts against what was just acknowledged. */
                pop3_seen = pop3_last[i];
                biff_sync_pop3_rebase(&pop3_scan, &pop3_seen);
            }
        }
        m->folder[0].fresh = 0;
        announced_save(i, 0);
    }
    say("ack: new mail acknowledged\n");
}

/* ---------------------------------------------------------------- time */

/* No time source may set the clock before its floor. The floor starts at the build time and
 * rises to the newest notBefore of any certificate chain a check has verified: a CA attests
 * that moment has passed, which an unauthenticated SNTP answer cannot forge. It is kept in
 * flash, so after a power cut with no NTP answer the clock starts there, not at the build. */
#define CLOCK_FLOOR_KEY BIFF_SYNC_KEY_APP(0x100)
static uint32_t clock_floor = BIFF_BUILD_TIME;
static uint8_t floor_from_cert;
static uint8_t sntp_synced;

static void floor_raise(uint32_t t, int save)
{
    if (t <= clock_floor) return;
    clock_floor = t;
    floor_from_cert = 1;
    if (biff_board_time() < t) biff_board_set_time(t);
    if (save) record_save(CLOCK_FLOOR_KEY, &t, 1);
}

static void floor_load(void)
{
    uint32_t t;
    if (!record_load(CLOCK_FLOOR_KEY, &t, 1)) return;
    floor_raise(t, 0);
    if (floor_from_cert) say("time: clock floor %lu, the newest certificate verified before\n", (unsigned long)clock_floor);
}

unsigned short notifier_sntp_port = 123;

/* Called by lwIP's SNTP client with an answer that echoed the request. SNTP is not
 * authenticated: a forged answer can at worst make certificates look expired (checks fail and
 * say so), never take the clock back before the floor to make an expired one look valid. */
void notifier_sntp_time(unsigned long sec)
{
    if (sec < clock_floor) {
        say("time: SNTP answer %lu is before the clock floor %lu, ignored\n", sec, (unsigned long)clock_floor);
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
    snprintf(problem, sizeof problem, "%s%s%s%s", store_problem ? store_problem : "",
             store_problem && clock ? "; " : "", clock ? clock : "",
             !clock ? "" : floor_from_cert ? ": clock from the newest verified certificate" : ": clock at the build time");
    size_t len = 0;
    return biff_status_json(buf, cap, &len, model, cfg.n_acct, (uint32_t)biff_board_time(), problem) == BIFF_STATUS_OK
               ? len : 0;
}

/* ---------------------------------------------------------------- one check */

static void on_pop3_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    (void)ctx;
    (void)msgno;
    biff_sync_pop3_add(&pop3_scan, biff_sync_id(uid, len));
}

static void start_check(size_t idx, uint32_t now)
{
    prov_account *a = &cfg.acct[idx];
    memset(&run, 0, sizeof run);
    memset(&check, 0, sizeof check); /* no error or result of the previous check survives */
    run.idx = idx;
    run.started = now;
    run.deadline = now + CHECK_TIMEOUT_MS;
    if (a->acct.proto == BIFF_CHECK_POP3) {
        biff_sync_status ss = store_ok ? biff_sync_pop3_load(&store, (unsigned)idx, a->id, &pop3_seen)
                                       : BIFF_SYNC_FRESH;
        if (ss != BIFF_SYNC_OK) {
            /* No baseline: this check records one (the saved set is bound to the account). */
            memset(&pop3_seen, 0, sizeof pop3_seen);
            pop3_seen.account_id = a->id;
        }
        biff_sync_pop3_begin(&pop3_scan, &pop3_seen);
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

static void announce(size_t i, uint32_t fresh)
{
    uint32_t done = announced_load(i);
    if (fresh > done) say("NEW %s %lu\n", acct_label(i), (unsigned long)(fresh - done));
    if (fresh != done) announced_save(i, fresh);
}

static void record_imap(size_t i, const biff_imap_folder_result *f)
{
    const prov_account *a = &cfg.acct[i];
    biff_sync_folder rec, before;
    if (!store_ok || biff_sync_folder_load(&store, (unsigned)i, 0, a->id, a->folder_id, &rec) == BIFF_SYNC_E_STORE) {
        memset(&rec, 0, sizeof rec);
        rec.account_id = a->id;
        rec.folder_id = a->folder_id;
    }
    before = rec;
    if (rec.uidnext_acked == 0 || rec.uidvalidity != f->uidvalidity) {
        biff_sync_imap_ack(&rec, f->uidvalidity, f->uidnext, f->highestmodseq); /* baseline */
    }
    uint32_t fresh = biff_sync_imap_new(&rec, f->uidvalidity, f->uidnext, f->messages);
    rec.unseen = f->unseen;
    rec.last_error = BIFF_ERR_NONE;
    /* last_success alone would rewrite flash every check: it is saved with real changes only. */
    if (memcmp(&rec, &before, sizeof rec) != 0) {
        rec.last_success = (uint32_t)biff_board_time();
        if (store_ok) stored(biff_sync_folder_save(&store, (unsigned)i, 0, &rec) == BIFF_SYNC_OK);
    }
    rt[i].uidvalidity = f->uidvalidity;
    rt[i].uidnext = f->uidnext;
    rt[i].modseq = f->highestmodseq;
    rt[i].have_last = 1;
    model[i].folder[0].unseen = f->unseen;
    model[i].folder[0].fresh = fresh;
    announce(i, fresh);
}

/* POP3 has no \\Seen flag: "unseen" is what the maildrop holds, "new" what was listed after the
 * UIDs recorded at the last acknowledge (the first listing is the baseline). */
static void record_pop3(size_t i, const biff_pop3_result *r)
{
    uint32_t fresh = 0;
    if (r->uidl) {
        fresh = biff_sync_pop3_end(&pop3_scan);
        pop3_last[i] = pop3_scan.next;
        if (!pop3_seen.valid) {
            if (store_ok) stored(biff_sync_pop3_save(&store, (unsigned)i, &pop3_last[i]) == BIFF_SYNC_OK);
            fresh = 0;
        }
    }
    model[i].folder[0].unseen = r->messages;
    model[i].folder[0].fresh = fresh;
    announce(i, fresh);
}

static void finish_check(biff_check_status st, uint32_t now)
{
    size_t i = run.idx;
    prov_account *a = &cfg.acct[i];
    biff_status_account *m = &model[i];
    const char *detail = "";
    biff_error_class err = biff_check_error(&check, &detail);
    if (st != BIFF_CHECK_DONE && err == BIFF_ERR_NONE) err = BIFF_ERR_PROTOCOL;
    size_t cur = 0, blocks = 0, peak = 0, pblocks = 0;
    mbedtls_memory_buffer_alloc_max_get(&peak, &pblocks);
    const char *tv = run.tls_up ? biff_tls_version(&tls) : "";

    if (err == BIFF_ERR_NONE && a->acct.proto == BIFF_CHECK_IMAP) {
        const biff_imap_folder_result *f = biff_check_folder(&check, 0);
        if (!f || f->state != BIFF_IMAP_FOLDER_OK) {
            err = BIFF_ERR_SERVER_ERROR;
            detail = "STATUS refused (no such folder?)";
        } else {
            record_imap(i, f);
            say("check %s ok messages=%lu unseen=%lu uidnext=%lu uidvalidity=%lu new=%lu tls=%s "
                "heap_peak=%u ms=%lu\n",
                acct_label(i), (unsigned long)f->messages, (unsigned long)f->unseen,
                (unsigned long)f->uidnext, (unsigned long)f->uidvalidity,
                (unsigned long)m->folder[0].fresh, tv, (unsigned)peak, (unsigned long)(now - run.started));
        }
    } else if (err == BIFF_ERR_NONE) {
        const biff_pop3_result *r = biff_check_pop3(&check);
        record_pop3(i, r);
        say("check %s ok messages=%lu uids=%lu new=%lu tls=%s heap_peak=%u ms=%lu\n", acct_label(i),
            (unsigned long)r->messages, (unsigned long)r->uids, (unsigned long)m->folder[0].fresh, tv,
            (unsigned)peak, (unsigned long)(now - run.started));
    }
    m->err = (uint8_t)err;
    m->state = err == BIFF_ERR_NONE ? BIFF_STATE_OK : BIFF_STATE_ERROR;
    m->last_check = (uint32_t)biff_board_time();
    snprintf(m->tls, sizeof m->tls, "%s", tv);
    snprintf(m->detail, sizeof m->detail, "%s", err == BIFF_ERR_NONE ? "" : detail);
    if (err != BIFF_ERR_NONE) {
        say("check %s failed error=%s detail=%s\n", acct_label(i), biff_error_class_name(err), detail);
    }

    biff_check_clear(&check);
    if (run.tls_up) biff_tls_close(&tls);
    biff_net_lwip_close(&conn);
    a->acct.on_uid = NULL;
    /* The figures the budget is about, whenever a check set a new pool peak. */
    static size_t reported_peak;
    if (peak > reported_peak) {
        reported_peak = peak;
        say("mem: tls pool peak %u of %u bytes, stack peak %u of %u bytes, eth drops %lu\n", (unsigned)peak,
            (unsigned)sizeof tls_pool, stack_used(), 8192u, (unsigned long)biff_lan9118_drops());
    }
    mbedtls_memory_buffer_alloc_cur_get(&cur, &blocks);
    if (cur > pool_base) {
        say("tls heap: %u bytes more in use than before the check (%u blocks)\n",
            (unsigned)(cur - pool_base), (unsigned)blocks);
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
        floor_raise(biff_tls_verified_since(&tls), 1);
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

    mbedtls_memory_buffer_alloc_init(tls_pool, sizeof tls_pool);
    if (load_ca(&why) != 0) fail_stop("trust anchor", why);
    size_t nb = 0;
    mbedtls_memory_buffer_alloc_cur_get(&pool_base, &nb);
    say("tls: trust anchor loaded, %u bytes of the pool in use\n", (unsigned)pool_base);

    open_store(argv[2]);
    floor_load();

    lwip_init();
    if (!netif_add(&netif, NULL, NULL, NULL, (void *)mac_addr, biff_lan9118_init, ethernet_input)) {
        fail_stop("ethernet", "LAN9118 not found");
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
    say("net: LAN9118 up, MAC %02x:%02x:%02x:%02x:%02x:%02x, DHCP...\n", mac_addr[0], mac_addr[1],
        mac_addr[2], mac_addr[3], mac_addr[4], mac_addr[5]);

    for (size_t i = 0; i < cfg.n_acct; i++) {
        pacct[i].interval_ms = cfg.interval_s * 1000u;
        pacct[i].enabled = 1;
        biff_status_account *m = &model[i];
        snprintf(m->name, sizeof m->name, "%s", acct_label(i));
        m->proto = cfg.acct[i].acct.proto == BIFF_CHECK_IMAP ? BIFF_STATUS_IMAP : BIFF_STATUS_POP3;
        m->n_folders = 1;
        snprintf(m->folder[0].name, sizeof m->folder[0].name, "%s", cfg.acct[i].folder);
    }
    for (int k = 0; k < 16; k++) snprintf(csrf + 2 * k, 3, "%02x", biff_board_rand() & 0xFFu);

    int net_up = 0, checking = 0;
    uint32_t net_up_at = 0;
    for (;;) {
        uint32_t now = biff_board_millis();
        biff_lan9118_poll(&netif);
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
        if (run.state == RUN_IDLE) __asm__ volatile("wfi"); /* SysTick wakes us within 1 ms */
    }
}

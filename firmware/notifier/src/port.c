#include "port.h"

#include <stdio.h>
#include <string.h>

#include "biff/net_lwip.h"
#include "biff/sync.h"
#include "biff/tls.h"
#include "board.h"
#include "flash_semihost.h"
#include "report.h"

#define FLASH_SECTOR  4096u
#define FLASH_SECTORS 4u

static biff_tls_ctx tls_ctx;
static biff_net_lwip conn[1 + BIFF_FEATURE_MQTT]; /* link 0: the mail session; 1: the broker */
static biff_transport plain[1 + BIFF_FEATURE_MQTT];
static biff_flash_sh flash;
static biff_store store;

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

const biff_agent_port nport = {
    .wall_time = port_wall,
    .event = report_event,
    .now_ms = port_now,
    .open = port_open,
    .close = port_close,
    .tls = port_tls,
    .random = port_random,
};

biff_tls_ctx *nport_trust(void)
{
    return &tls_ctx;
}

int nport_load_ca(const char *path, void *scratch, size_t cap, const char **why)
{
    uint8_t *buf = scratch;
    int fd = biff_board_sh_open(path, 1);
    if (fd < 0) {
        *why = "cannot open the CA file";
        return -1;
    }
    long len = biff_board_sh_flen(fd);
    int n = len > 0 && (size_t)len < cap ? biff_board_sh_read(fd, buf, (uint32_t)len) : -1;
    biff_board_sh_close(fd);
    if (n != len) {
        *why = "cannot read the CA file (or larger than the scratch buffer)";
        return -1;
    }
    buf[n] = 0; /* PEM wants its NUL counted */
    biff_tls_status ts = biff_tls_ctx_init_ca_buffer(&tls_ctx, buf, (size_t)n + 1);
    memset(scratch, 0, cap);
    if (ts != BIFF_TLS_OK) {
        *why = tls_ctx.detail;
        return -1;
    }
    return 0;
}

biff_store *nport_open_store(const char *path, const uint32_t *ids, size_t n)
{
    if (biff_flash_sh_init(&flash, path, FLASH_SECTOR, FLASH_SECTORS, 4) != BIFF_FLASH_OK) {
        say("store: cannot open flash file %s: sync state is not kept\n", path);
        return NULL;
    }
    biff_store_status ss = biff_store_mount(&store, &flash.flash);
    if (ss == BIFF_STORE_E_VERSION) {
        say("store: other format on flash, formatting\n");
        ss = biff_store_format(&store, &flash.flash);
    }
    if (ss != BIFF_STORE_OK) {
        say("store: mount failed (%d): sync state is not kept\n", (int)ss);
        return NULL;
    }
    uint32_t fresh = 0;
    if (biff_sync_bind(&store, ids, (unsigned)n, &fresh) == BIFF_SYNC_E_STORE) {
        say("store: cannot bind the account list\n");
        return NULL;
    }
    biff_store_stats s;
    biff_store_stats_get(&store, &s);
    say("store: mounted, %lu sectors of %lu, seq %lu, fresh accounts 0x%lx\n", (unsigned long)s.sector_count,
        (unsigned long)s.sector_size, (unsigned long)s.next_seq, (unsigned long)fresh);
    return &store;
}

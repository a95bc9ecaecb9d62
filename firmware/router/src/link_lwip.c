/*
 * `tinybiff check --net lwip`: the check runs over the firmware's own network stack (lwIP,
 * raw TCP API, NO_SYS=1) inside this process, attached to a Linux TAP device. This is how the
 * lwIP transport is tested for real on the host, and a way for users to try the MCU path.
 *
 * Configuration (environment, read once when the first lwIP link opens):
 *   TINYBIFF_TAP=tap0                 TAP device to attach to (created if missing; better
 *                                     create it first: `ip tuntap add dev tap0 mode tap`, give
 *                                     the kernel side an address and `ip link set tap0 up`)
 *   TINYBIFF_LWIP_ADDR=192.0.2.2/24   lwIP's own IPv4 address and prefix length (default shown)
 *   TINYBIFF_LWIP_GW=192.0.2.1        default gateway (default: none, on-link only)
 *   TINYBIFF_LWIP_DNS=192.0.2.1       DNS server for lwIP's resolver (default: none; then
 *                                     only numeric addresses and TINYBIFF_LWIP_HOSTS work)
 *   TINYBIFF_LWIP_HOSTS=localhost=192.0.2.1[,name=addr...]
 *                                     static names looked up before DNS, so a URL can carry the
 *                                     name a certificate is issued for (lwIP itself would map
 *                                     "localhost" to its own loopback)
 *   TINYBIFF_LWIP_STATS=1             print per-connection byte, flight and frame counts to
 *                                     stderr on close
 */
/* No POSIX feature macro here on purpose: with one, lwIP's arch.h pulls in <unistd.h>, whose
 * link() clashes with link.h's `link` type. Nothing below needs more than C11. */
#include "link_lwip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/net_lwip.h"
#include "biff/tapif.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/sys.h"

#define LINGER_MS 200 /* after close: let our FIN and the server's be exchanged */

typedef struct {
    int init_done;
    biff_net_status init_status;
    char init_detail[128];
    biff_tapif tap;
    biff_net_lwip conn;
    biff_transport inner;
    int stats;
    uint32_t sent, received, flights;
    int sent_since_recv;
} lwip_link;

static lwip_link g;

static int parse_cidr(const char *text, ip4_addr_t *addr, ip4_addr_t *mask)
{
    char buf[32];
    if (strlen(text) >= sizeof buf) return -1;
    memcpy(buf, text, strlen(text) + 1);
    unsigned prefix = 24;
    char *slash = strchr(buf, '/');
    if (slash) {
        char *end;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (*end || slash[1] == 0 || p > 32) return -1;
        prefix = (unsigned)p;
        *slash = 0;
    }
    if (!ip4addr_aton(buf, addr)) return -1;
    uint32_t m = prefix ? 0xFFFFFFFFu << (32 - prefix) : 0;
    ip4_addr_set_u32(mask, lwip_htonl(m));
    return 0;
}

static int same_name(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return 1;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static biff_net_status stack_up(void)
{
    if (g.init_done) return g.init_status;
    g.init_done = 1;
    g.init_status = BIFF_NET_E_ARG;
    g.stats = getenv("TINYBIFF_LWIP_STATS") != NULL;
    const char *tap = env_or("TINYBIFF_TAP", "tap0");
    const char *addr_s = env_or("TINYBIFF_LWIP_ADDR", "192.0.2.2/24");
    const char *gw_s = env_or("TINYBIFF_LWIP_GW", "0.0.0.0");
    const char *dns_s = env_or("TINYBIFF_LWIP_DNS", NULL);
    ip4_addr_t addr, mask, gw, dns;
    if (parse_cidr(addr_s, &addr, &mask) != 0) {
        snprintf(g.init_detail, sizeof g.init_detail, "TINYBIFF_LWIP_ADDR=%s is not ADDRESS/PREFIX", addr_s);
        return g.init_status;
    }
    if (!ip4addr_aton(gw_s, &gw)) {
        snprintf(g.init_detail, sizeof g.init_detail, "TINYBIFF_LWIP_GW=%s is not an IPv4 address", gw_s);
        return g.init_status;
    }
    if (dns_s && !ip4addr_aton(dns_s, &dns)) {
        snprintf(g.init_detail, sizeof g.init_detail, "TINYBIFF_LWIP_DNS=%s is not an IPv4 address", dns_s);
        return g.init_status;
    }
    lwip_init();
    biff_tapif_status ts = biff_tapif_open(&g.tap, tap, &addr, &mask, &gw);
    if (ts != BIFF_TAPIF_OK) {
        snprintf(g.init_detail, sizeof g.init_detail, "lwIP on TAP %s: %s", tap, g.tap.detail);
        g.init_status = BIFF_NET_E_IO;
        return g.init_status;
    }
    if (dns_s) {
        ip_addr_t d;
        ip_addr_copy_from_ip4(d, dns);
        dns_setserver(0, &d);
    }
    g.init_status = BIFF_NET_OK;
    return g.init_status;
}

/* TINYBIFF_LWIP_HOSTS lookup: the mapped address into out, or host itself. */
static const char *map_host(const char *host, char *out, size_t cap)
{
    const char *list = getenv("TINYBIFF_LWIP_HOSTS");
    size_t hlen = strlen(host);
    while (list && *list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        const char *eq = memchr(list, '=', n);
        if (eq && (size_t)(eq - list) == hlen && same_name(list, host, hlen)) {
            size_t alen = n - hlen - 1;
            if (alen > 0 && alen < cap) {
                memcpy(out, eq + 1, alen);
                out[alen] = 0;
                return out;
            }
        }
        list = end ? end + 1 : NULL;
    }
    return host;
}

/* Counting wrappers: bytes each way and flights (a receive after we sent = one round trip). */
static int32_t counted_send(void *ctx, const uint8_t *buf, size_t len)
{
    lwip_link *k = ctx;
    int32_t n = k->inner.send(k->inner.ctx, buf, len);
    if (n > 0) {
        k->sent += (uint32_t)n;
        k->sent_since_recv = 1;
    }
    return n;
}

static int32_t counted_recv(void *ctx, uint8_t *buf, size_t len)
{
    lwip_link *k = ctx;
    int32_t n = k->inner.recv(k->inner.ctx, buf, len);
    if (n > 0) {
        k->received += (uint32_t)n;
        if (k->sent_since_recv) k->flights++;
        k->sent_since_recv = 0;
    }
    return n;
}

static int elapsed_ms(u32_t start)
{
    return (int)(sys_now() - start);
}

biff_net_status link_lwip_open(tb_link *l, const char *host, unsigned port, int timeout_ms)
{
    biff_net_status st = stack_up();
    if (st != BIFF_NET_OK) {
        snprintf(l->detail, sizeof l->detail, "%s", g.init_detail);
        return st;
    }
    if (port == 0 || port > 65535) return BIFF_NET_E_ARG;
    l->lwip = &g;
    g.sent = g.received = g.flights = 0;
    g.sent_since_recv = 0;
    g.tap.tx_frames = g.tap.rx_frames = 0;
    char mapped[48];
    const char *target = map_host(host, mapped, sizeof mapped);
    u32_t start = sys_now();
    st = biff_net_lwip_connect(&g.conn, target, (uint16_t)port, &g.inner);
    while (st == BIFF_NET_OK) {
        unsigned f = biff_net_lwip_poll(&g.conn);
        if (f & BIFF_NET_LWIP_FAILED) {
            st = biff_net_lwip_error(&g.conn);
            break;
        }
        if (f & BIFF_NET_LWIP_CONNECTED) {
            l->transport.send = counted_send;
            l->transport.recv = counted_recv;
            l->transport.ctx = &g;
            return BIFF_NET_OK;
        }
        int left = timeout_ms - elapsed_ms(start);
        if (left <= 0) {
            st = BIFF_NET_E_TIMEOUT;
            snprintf(l->detail, sizeof l->detail, "%s (%s port %u via lwIP)", biff_net_strerror(st), target, port);
            biff_net_lwip_close(&g.conn);
            return st;
        }
        if (biff_tapif_wait(&g.tap, left) != BIFF_TAPIF_OK) {
            st = BIFF_NET_E_IO;
            break;
        }
    }
    snprintf(l->detail, sizeof l->detail, "%s (%s port %u via lwIP: %s)", biff_net_strerror(st), target, port,
             biff_net_lwip_detail(&g.conn));
    biff_net_lwip_close(&g.conn);
    return st;
}

int link_lwip_wait(tb_link *l, int want_write, int timeout_ms)
{
    (void)l;
    unsigned want = (want_write ? BIFF_NET_LWIP_WRITABLE : BIFF_NET_LWIP_READABLE) | BIFF_NET_LWIP_FAILED;
    u32_t start = sys_now();
    for (int pumped = 0;; pumped = 1) {
        if (biff_net_lwip_poll(&g.conn) & want) return 0;
        int left = timeout_ms - elapsed_ms(start);
        if (left <= 0 && pumped) return -1;
        if (biff_tapif_wait(&g.tap, left > 0 ? left : 0) != BIFF_TAPIF_OK) return -1;
    }
}

void link_lwip_close(tb_link *l)
{
    if (l->lwip != &g) return;
    l->lwip = NULL;
    biff_net_lwip_close(&g.conn);
    if (g.stats) {
        fprintf(stderr, "tinybiff: lwIP link: %lu bytes sent, %lu received, %lu flights; TAP %lu frames out, %lu in\n",
                (unsigned long)g.sent, (unsigned long)g.received, (unsigned long)g.flights,
                (unsigned long)g.tap.tx_frames, (unsigned long)g.tap.rx_frames);
    }
    u32_t start = sys_now();
    while (elapsed_ms(start) < LINGER_MS) {
        uint32_t before = g.tap.rx_frames;
        biff_tapif_wait(&g.tap, 20);
        if (g.tap.rx_frames == before) break; /* quiet: the close handshake is done */
    }
}

/*
 * lwIP netif on a Linux TAP device. Frames move between the kernel and lwIP with readv/writev
 * straight into and out of pbuf chains, so no frame buffer is kept here; the fd is
 * non-blocking and read only from pump(), which keeps lwIP single-threaded (NO_SYS=1).
 */
#define _DEFAULT_SOURCE
#include "biff/tapif.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define TAP_MTU         1500
#define FRAME_MAX       (TAP_MTU + SIZEOF_ETH_HDR + ETH_PAD_SIZE)
#define MAX_IOV         16
#define PUMP_MAX_FRAMES 64 /* per pump, so timers still run under a flood */

static err_t tap_linkoutput(struct netif *netif, struct pbuf *p)
{
    biff_tapif *t = netif->state;
    struct iovec iov[MAX_IOV];
    int n = 0;
    for (struct pbuf *q = p; q; q = q->next) {
        if (n == MAX_IOV) return ERR_BUF;
        iov[n].iov_base = q->payload;
        iov[n].iov_len = q->len;
        n++;
    }
#if ETH_PAD_SIZE
    iov[0].iov_base = (uint8_t *)iov[0].iov_base + ETH_PAD_SIZE;
    iov[0].iov_len -= ETH_PAD_SIZE;
#endif
    ssize_t w;
    do {
        w = writev(t->fd, iov, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0) return errno == EAGAIN ? ERR_WOULDBLOCK : ERR_IF;
    t->tx_frames++;
    t->tx_bytes += (uint32_t)w;
    return ERR_OK;
}

static err_t tap_netif_init(struct netif *netif)
{
    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->output = etharp_output;
    netif->linkoutput = tap_linkoutput;
    netif->mtu = TAP_MTU;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    /* Locally administered unicast MAC; random tail so two instances do not collide. */
    unsigned r = LWIP_RAND();
    const uint8_t mac[ETH_HWADDR_LEN] = { 0x02, 0x62, 0x69, 0x66, (uint8_t)(r >> 8), (uint8_t)r };
    memcpy(netif->hwaddr, mac, sizeof mac);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

biff_tapif_status biff_tapif_open(biff_tapif *t, const char *ifname, const ip4_addr_t *addr, const ip4_addr_t *netmask,
                                  const ip4_addr_t *gw)
{
    if (!t || !ifname || !addr || !netmask || !gw) return BIFF_TAPIF_E_ARG;
    memset(t, 0, sizeof *t);
    t->fd = -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(ifname) >= sizeof ifr.ifr_name) {
        snprintf(t->detail, sizeof t->detail, "interface name too long");
        return BIFF_TAPIF_E_ARG;
    }
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        snprintf(t->detail, sizeof t->detail, "/dev/net/tun: %s", strerror(errno));
        return BIFF_TAPIF_E_TUN;
    }
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        snprintf(t->detail, sizeof t->detail, "TUNSETIFF %s: %s", ifname, strerror(errno));
        close(t->fd);
        t->fd = -1;
        return BIFF_TAPIF_E_IFACE;
    }
    if (!netif_add(&t->netif, addr, netmask, gw, t, tap_netif_init, ethernet_input)) {
        snprintf(t->detail, sizeof t->detail, "netif_add failed");
        close(t->fd);
        t->fd = -1;
        return BIFF_TAPIF_E_NETIF;
    }
    netif_set_default(&t->netif);
    netif_set_up(&t->netif);
    netif_set_link_up(&t->netif);
    return BIFF_TAPIF_OK;
}

/* One frame into a fresh pbuf chain: 1 read, 0 nothing waiting, -1 device error. */
static int read_frame(biff_tapif *t)
{
    struct pbuf *p = pbuf_alloc(PBUF_RAW, FRAME_MAX, PBUF_POOL);
    if (!p) {
        /* Pool exhausted: drop one frame so the device does not stall; TCP retransmits. */
        uint8_t scratch[FRAME_MAX];
        ssize_t n = read(t->fd, scratch, sizeof scratch);
        if (n > 0) t->rx_dropped++;
        return n > 0 ? 1 : (n < 0 && errno != EAGAIN && errno != EINTR) ? -1 : 0;
    }
    struct iovec iov[MAX_IOV];
    int k = 0;
    for (struct pbuf *q = p; q && k < MAX_IOV; q = q->next, k++) {
        iov[k].iov_base = q->payload;
        iov[k].iov_len = q->len;
    }
#if ETH_PAD_SIZE
    iov[0].iov_base = (uint8_t *)iov[0].iov_base + ETH_PAD_SIZE;
    iov[0].iov_len -= ETH_PAD_SIZE;
#endif
    ssize_t n = readv(t->fd, iov, k);
    if (n <= 0) {
        int e = errno;
        pbuf_free(p);
        return (n < 0 && (e == EAGAIN || e == EINTR)) ? 0 : -1;
    }
    pbuf_realloc(p, (u16_t)(n + ETH_PAD_SIZE));
    t->rx_frames++;
    t->rx_bytes += (uint32_t)n;
    if (t->netif.input(p, &t->netif) != ERR_OK) {
        pbuf_free(p);
        t->rx_dropped++;
    }
    return 1;
}

biff_tapif_status biff_tapif_pump(biff_tapif *t)
{
    if (!t || t->fd < 0) return BIFF_TAPIF_E_ARG;
    biff_tapif_status st = BIFF_TAPIF_OK;
    for (int i = 0; i < PUMP_MAX_FRAMES; i++) {
        int r = read_frame(t);
        if (r < 0) st = BIFF_TAPIF_E_IO;
        if (r <= 0) break;
    }
    sys_check_timeouts();
    return st;
}

biff_tapif_status biff_tapif_wait(biff_tapif *t, int timeout_ms)
{
    if (!t || t->fd < 0) return BIFF_TAPIF_E_ARG;
    u32_t next = sys_timeouts_sleeptime();
    if (timeout_ms < 0) timeout_ms = 0;
    if (next != SYS_TIMEOUTS_SLEEPTIME_INFINITE && next < (u32_t)timeout_ms) timeout_ms = (int)next;
    struct pollfd p = { .fd = t->fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR) return BIFF_TAPIF_E_IO;
    return biff_tapif_pump(t);
}

void biff_tapif_close(biff_tapif *t)
{
    if (!t || t->fd < 0) return;
    netif_remove(&t->netif);
    close(t->fd);
    t->fd = -1;
}

/*
 * Linux TAP netif for lwIP on the host (NO_SYS=1): lets the very stack the firmware runs carry
 * real Ethernet frames to the kernel, for tests inside a network namespace and for
 * `tinybiff check --net lwip`. Single-threaded: call everything from the loop that drives lwIP.
 */
#ifndef BIFF_TAPIF_H
#define BIFF_TAPIF_H

#include <stdint.h>

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

typedef enum {
    BIFF_TAPIF_OK = 0,
    BIFF_TAPIF_E_ARG = -1,
    BIFF_TAPIF_E_TUN = -2,   /* /dev/net/tun missing or not permitted */
    BIFF_TAPIF_E_IFACE = -3, /* the kernel refused to create/attach the TAP device */
    BIFF_TAPIF_E_NETIF = -4, /* lwIP refused the netif */
    BIFF_TAPIF_E_IO = -5,    /* reading the TAP device failed */
} biff_tapif_status;

typedef struct {
    int fd;
    struct netif netif;
    uint32_t rx_frames, tx_frames, rx_bytes, tx_bytes, rx_dropped;
    char detail[96]; /* why open failed */
} biff_tapif;

/**
 * Attach to TAP device ifname (created if it does not exist; an existing persistent one, e.g.
 * from `ip tuntap add dev tap0 mode tap`, is reused) and add it to lwIP as the default netif
 * with a static IPv4 address. lwip_init() must have run. The kernel side of the device is the
 * caller's to address and bring up.
 */
biff_tapif_status biff_tapif_open(biff_tapif *t, const char *ifname, const ip4_addr_t *addr, const ip4_addr_t *netmask,
                                  const ip4_addr_t *gw);

/** Feed every frame already waiting (bounded per call) to lwIP, then run lwIP's due timers. */
biff_tapif_status biff_tapif_pump(biff_tapif *t);

/**
 * Sleep until a frame arrives, the next lwIP timer is due, or timeout_ms passes (whichever is
 * first), then pump. BIFF_TAPIF_OK, or BIFF_TAPIF_E_IO when the device is gone.
 */
biff_tapif_status biff_tapif_wait(biff_tapif *t, int timeout_ms);

/** Remove the netif from lwIP and close the device (idempotent). */
void biff_tapif_close(biff_tapif *t);

#endif

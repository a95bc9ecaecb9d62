/*
 * The board's Ethernet as an lwIP netif, polled from the superloop (no interrupts):
 * mps2-an385 has a LAN9118, qemu-virt-rv32 a virtio-net device.
 */
#ifndef BIFF_BOARD_NET_H
#define BIFF_BOARD_NET_H

#include <stdint.h>

#include "lwip/err.h"

struct netif;
struct pbuf;

/** The controller's name for the log ("LAN9118", "virtio-net"). */
extern const char biff_board_netif_name[];

/** netif->state must point at the 6-byte MAC address to use. Pass to netif_add(). Fails
 *  (ERR_IF) when the controller is missing or does not come up. */
err_t biff_board_netif_init(struct netif *netif);

/** Move every received frame into lwIP (netif->input); call often from the superloop.
 *  Also follows the link state (netif_set_link_up/down). Returns frames delivered. */
unsigned biff_board_netif_poll(struct netif *netif);

/** Frames dropped for want of a pbuf, received with errors, or refused by lwIP since start
 *  (board/common counts them for the drivers through biff_netif_deliver). */
uint32_t biff_board_netif_drops(void);

/* For the drivers (board/common/src/netif_eth.c). */
#include "lwip/netif.h"
/** Make netif an Ethernet interface (ARP, broadcast, MTU 1500) with the MAC at netif->state,
 *  sending through linkoutput. */
void biff_netif_ethernet(struct netif *netif, netif_linkoutput_fn linkoutput);
/** Hand a received frame to lwIP; NULL (no pbuf, a bad frame) or a frame lwIP refuses counts
 *  as a drop. Returns 1 when delivered. */
unsigned biff_netif_deliver(struct netif *netif, struct pbuf *p);
/** Tell lwIP the link state the controller reports (netif_set_link_up/down on a change). */
void biff_netif_link(struct netif *netif, int up);

#endif

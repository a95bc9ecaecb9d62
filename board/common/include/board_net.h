/*
 * The board's Ethernet as an lwIP netif, polled from the superloop (no interrupts):
 * mps2-an385 has a LAN9118, qemu-virt-rv32 a virtio-net device.
 */
#ifndef BIFF_BOARD_NET_H
#define BIFF_BOARD_NET_H

#include <stdint.h>

#include "lwip/err.h"

struct netif;

/** The controller's name for the log ("LAN9118", "virtio-net"). */
extern const char biff_board_netif_name[];

/** netif->state must point at the 6-byte MAC address to use. Pass to netif_add(). Fails
 *  (ERR_IF) when the controller is missing or does not come up. */
err_t biff_board_netif_init(struct netif *netif);

/** Move every received frame into lwIP (netif->input); call often from the superloop.
 *  Also follows the link state (netif_set_link_up/down). Returns frames delivered. */
unsigned biff_board_netif_poll(struct netif *netif);

/** Frames dropped for want of a pbuf, received with errors, or refused by lwIP since start. */
uint32_t biff_board_netif_drops(void);

#endif

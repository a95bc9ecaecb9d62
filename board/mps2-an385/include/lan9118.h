/*
 * SMSC LAN9118 (as QEMU's mps2-an385 models it, at 0x40200000) as an lwIP netif, polled from the
 * superloop: no interrupts, no DMA, PIO through the 32-bit FIFO ports.
 */
#ifndef BIFF_LAN9118_H
#define BIFF_LAN9118_H

#include <stdint.h>

#include "lwip/err.h"

struct netif;

/** netif->state must point at the 6-byte MAC address to program. Pass to netif_add(). Fails
 *  (ERR_IF) when the chip does not answer its byte-test register or does not come out of reset. */
err_t biff_lan9118_init(struct netif *netif);

/** Move every received frame into lwIP (netif->input); call often from the superloop.
 *  Also follows the PHY link state (netif_set_link_up/down). Returns frames delivered. */
unsigned biff_lan9118_poll(struct netif *netif);

/** Frames dropped for want of a pbuf, received with errors, or refused by lwIP since start. */
uint32_t biff_lan9118_drops(void);

#endif

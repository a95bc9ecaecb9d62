/* The `--net lwip` half of link.h: link.c dispatches LINK_LWIP here (see link_lwip.c). */
#ifndef TINYBIFF_LINK_LWIP_H
#define TINYBIFF_LINK_LWIP_H

#include "link.h"

/** Bring lwIP and the TAP netif up on first use, then connect; like link_open(). */
biff_net_status link_lwip_open(tb_link *l, const char *host, unsigned port, int timeout_ms);

/** Pump the TAP device and lwIP's timers until the connection is readable/writable. */
int link_lwip_wait(tb_link *l, int want_write, int timeout_ms);

/** Close the connection; the stack stays up for the next account. */
void link_lwip_close(tb_link *l);

#endif

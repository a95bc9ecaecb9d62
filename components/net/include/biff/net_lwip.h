/*
 * lwIP raw-API backend of the transport interface (NO_SYS=1, single-threaded).
 *
 * Everything here runs in the lwIP context: call it from the same loop that feeds the netif and
 * runs sys_check_timeouts(). Nothing blocks and nothing is allocated outside lwIP's own pools:
 * received segments stay in lwIP's pbufs until the engine reads them, and the receive window is
 * only reopened (tcp_recved) for bytes the engine has consumed, so a slow reader throttles the
 * server through TCP flow control instead of exhausting the pbuf pool.
 *
 * Time is the driver's: connect() only starts the work; the driver pumps the stack, asks
 * biff_net_lwip_poll() whether stepping again makes sense, and gives up (close) at its deadline.
 */
#ifndef BIFF_NET_LWIP_H
#define BIFF_NET_LWIP_H

#include <stdint.h>

#include "biff/net.h"

struct tcp_pcb;
struct pbuf;

/* biff_net_lwip_poll() flags. */
#define BIFF_NET_LWIP_CONNECTED 0x01u /* TCP is established (stays set after a remote FIN) */
#define BIFF_NET_LWIP_READABLE  0x02u /* recv() returns data, or the final close/failure */
#define BIFF_NET_LWIP_WRITABLE  0x04u /* send() takes bytes now, or returns the failure */
#define BIFF_NET_LWIP_FAILED    0x08u /* resolve/connect failed or the link broke: see _error() */

/* Caller-allocated; fields are private. Keep it alive (or close it) while lwIP runs. */
typedef struct biff_net_lwip {
    struct biff_net_lwip *next; /* live connections, so a late DNS answer finds no stale one */
    struct tcp_pcb *pcb;        /* NULL once lwIP freed it (tcp_err) or after close */
    struct pbuf *rxq;           /* received, not yet read; bounded by the receive window */
    uint32_t gen;               /* identifies this connect() to the DNS callback */
    uint16_t port;
    uint8_t state;
    uint8_t fin;     /* the peer sent FIN: E_CLOSED once rxq is drained */
    int8_t err;      /* biff_net_status once failed */
    char detail[48]; /* why it failed (lwIP error text); never holds payload */
} biff_net_lwip;

/**
 * Start connecting to host:port: host is a dotted IPv4 (or IPv6 where lwIP has it) address or
 * a name for lwIP's DNS client (dns_setserver() first). Returns BIFF_NET_OK when the attempt is
 * under way (or already failed: poll() reports FAILED, e.g. a name answered from lwIP's cache
 * as unknown), BIFF_NET_E_ARG/E_RESOLVE/E_IO when it could not even start. Fills t with the
 * backend's send/recv; before the connection is up they return 0.
 */
biff_net_status biff_net_lwip_connect(biff_net_lwip *c, const char *host, uint16_t port, biff_transport *t);

/** Readiness flags (BIFF_NET_LWIP_*): whether stepping the engine again can make progress. */
unsigned biff_net_lwip_poll(const biff_net_lwip *c);

/** BIFF_NET_OK while the connection is pending or up, else why it failed or closed. */
biff_net_status biff_net_lwip_error(const biff_net_lwip *c);

/** Human-readable reason of the last failure ("" when none). */
const char *biff_net_lwip_detail(const biff_net_lwip *c);

/**
 * Close (idempotent): a graceful FIN (tcp_close), tcp_abort if lwIP cannot queue it. Unread
 * data is dropped. A DNS answer still in flight is ignored when it arrives.
 */
void biff_net_lwip_close(biff_net_lwip *c);

#endif

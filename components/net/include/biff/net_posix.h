/* POSIX sockets backend of the transport interface (Linux daemon and CLI). */
#ifndef BIFF_NET_POSIX_H
#define BIFF_NET_POSIX_H

#include "biff/net.h"

struct addrinfo; /* <netdb.h>; not included here, so lwIP code can include this header too */

typedef struct {
    int fd;
    unsigned port;
    struct addrinfo *res, *next; /* resolved addresses; next = the ones not tried yet */
    int timed_out;               /* the last address failed by timing out */
    char detail[96];             /* why the last connect failed: address tried and errno text */
} biff_net_posix;

/**
 * Resolve host (IPv4 and IPv6, getaddrinfo) and connect to the first address that answers,
 * giving each address at most timeout_ms. The socket is left non-blocking. Fills t with the
 * backend's send/recv. On failure s->detail says which address failed and why.
 */
biff_net_status biff_net_posix_connect(biff_net_posix *s, const char *host, unsigned port, int timeout_ms,
                                       biff_transport *t);

/**
 * The same without waiting, for a poll() loop: resolves host (getaddrinfo itself may block on
 * DNS) and starts connecting. BIFF_NET_PENDING: wait until s->fd is writable, then call
 * biff_net_posix_connect_step(); give up on a slow address with biff_net_posix_connect_next().
 */
biff_net_status biff_net_posix_connect_start(biff_net_posix *s, const char *host, unsigned port, biff_transport *t);

/** The socket became writable: BIFF_NET_OK when connected, PENDING on the next address, or an error. */
biff_net_status biff_net_posix_connect_step(biff_net_posix *s, biff_transport *t);

/** The current address took too long: move on to the next one (PENDING) or fail (E_TIMEOUT). */
biff_net_status biff_net_posix_connect_next(biff_net_posix *s, biff_transport *t);

/**
 * Wait until the socket is readable (want_write == 0) or writable, or timeout_ms passes.
 * Returns BIFF_NET_OK when ready, BIFF_NET_E_TIMEOUT, or BIFF_NET_E_IO.
 */
biff_net_status biff_net_posix_wait(biff_net_posix *s, int want_write, int timeout_ms);

/** Close the socket (idempotent). */
void biff_net_posix_close(biff_net_posix *s);

#endif

/* POSIX sockets backend of the transport interface (Linux daemon and CLI). */
#ifndef BIFF_NET_POSIX_H
#define BIFF_NET_POSIX_H

#include "biff/net.h"

typedef struct {
    int fd;
    char detail[96]; /* why the last connect failed: address tried and errno text */
} biff_net_posix;

/**
 * Resolve host (IPv4 and IPv6, getaddrinfo) and connect to the first address that answers,
 * giving each address at most timeout_ms. The socket is left non-blocking. Fills t with the
 * backend's send/recv. On failure s->detail says which address failed and why.
 */
biff_net_status biff_net_posix_connect(biff_net_posix *s, const char *host, unsigned port,
                                       int timeout_ms, biff_transport *t);

/**
 * Wait until the socket is readable (want_write == 0) or writable, or timeout_ms passes.
 * Returns BIFF_NET_OK when ready, BIFF_NET_E_TIMEOUT, or BIFF_NET_E_IO.
 */
biff_net_status biff_net_posix_wait(biff_net_posix *s, int want_write, int timeout_ms);

/** Close the socket (idempotent). */
void biff_net_posix_close(biff_net_posix *s);

#endif

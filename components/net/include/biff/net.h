/*
 * Transport interface: what the TLS layer and the engines' driver read from and write to.
 * Modelled on coreMQTT's TransportInterface_t: send/recv never block; they return the number of
 * bytes moved, 0 for "not now" (would block), and a negative biff_net_status when the link is
 * closed or failed.
 */
#ifndef BIFF_NET_H
#define BIFF_NET_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    BIFF_NET_PENDING = 1, /* a connect is under way: wait until writable, then step it */
    BIFF_NET_OK = 0,
    BIFF_NET_E_CLOSED = -1,  /* peer closed the connection */
    BIFF_NET_E_IO = -2,      /* reset or other socket error */
    BIFF_NET_E_RESOLVE = -3, /* host name did not resolve */
    BIFF_NET_E_CONNECT = -4, /* every address refused or was unreachable */
    BIFF_NET_E_TIMEOUT = -5, /* nothing happened before the deadline */
    BIFF_NET_E_ARG = -6,
} biff_net_status;

typedef struct biff_transport {
    /** Send up to len bytes: count sent, 0 if the link cannot take more now, <0 biff_net_status. */
    int32_t (*send)(void *ctx, const uint8_t *buf, size_t len);
    /** Receive up to len bytes: count read, 0 if nothing arrived yet, <0 biff_net_status. */
    int32_t (*recv)(void *ctx, uint8_t *buf, size_t len);
    void *ctx;
} biff_transport;

/** Short human-readable text for a status ("connection refused or unreachable", ...). */
const char *biff_net_strerror(biff_net_status s);

#endif

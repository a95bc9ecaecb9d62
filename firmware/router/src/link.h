/*
 * The CLI's network link: a transport plus a way to wait on it. POSIX sockets by default;
 * `--net lwip` runs the same check through the in-process lwIP stack on a TAP interface.
 */
#ifndef TINYBIFF_LINK_H
#define TINYBIFF_LINK_H

#include <stddef.h>

#include "biff/net.h"
#include "biff/net_posix.h"

typedef enum { LINK_POSIX = 0, LINK_LWIP = 1 } link_kind;

typedef struct {
    link_kind kind;
    biff_transport transport;
    biff_net_posix sock;
    void *lwip; /* lwIP connection state (link_lwip.c) */
    char detail[128];
} tb_link;

/** Connect to host:port within timeout_ms. On failure l->detail says why. */
biff_net_status link_open(tb_link *l, link_kind kind, const char *host, unsigned port, int timeout_ms);

/** Wait until the link is readable (or writable), at most timeout_ms. 0 when ready. */
int link_wait(tb_link *l, int want_write, int timeout_ms);

/** Close the link (idempotent). */
void link_close(tb_link *l);

#endif

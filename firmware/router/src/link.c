#include "link.h"

#include <stdio.h>
#include <string.h>

#include "link_lwip.h"

biff_net_status link_open(tb_link *l, link_kind kind, const char *host, unsigned port, int timeout_ms)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->sock.fd = -1;
#if BIFF_WITH_LWIP
    if (kind == LINK_LWIP) return link_lwip_open(l, host, port, timeout_ms);
#else
    if (kind == LINK_LWIP) {
        snprintf(l->detail, sizeof l->detail, "this build has no lwIP");
        return BIFF_NET_E_ARG;
    }
#endif
    biff_net_status st = biff_net_posix_connect(&l->sock, host, port, timeout_ms, &l->transport);
    if (st != BIFF_NET_OK) snprintf(l->detail, sizeof l->detail, "%s (%s)", biff_net_strerror(st), l->sock.detail);
    return st;
}

int link_wait(tb_link *l, int want_write, int timeout_ms)
{
#if BIFF_WITH_LWIP
    if (l->kind == LINK_LWIP) return link_lwip_wait(l, want_write, timeout_ms);
#endif
    return biff_net_posix_wait(&l->sock, want_write, timeout_ms) == BIFF_NET_OK ? 0 : -1;
}

void link_close(tb_link *l)
{
#if BIFF_WITH_LWIP
    if (l->kind == LINK_LWIP) {
        link_lwip_close(l);
        return;
    }
#endif
    biff_net_posix_close(&l->sock);
}

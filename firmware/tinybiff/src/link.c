#include "link.h"

#include <stdio.h>
#include <string.h>

biff_net_status link_open(link *l, link_kind kind, const char *host, unsigned port, int timeout_ms)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->sock.fd = -1;
    if (kind != LINK_POSIX) {
        snprintf(l->detail, sizeof l->detail, "this build has no lwIP link");
        return BIFF_NET_E_ARG;
    }
    biff_net_status st = biff_net_posix_connect(&l->sock, host, port, timeout_ms, &l->transport);
    if (st != BIFF_NET_OK) snprintf(l->detail, sizeof l->detail, "%s (%s)", biff_net_strerror(st), l->sock.detail);
    return st;
}

int link_wait(link *l, int want_write, int timeout_ms)
{
    return biff_net_posix_wait(&l->sock, want_write, timeout_ms) == BIFF_NET_OK ? 0 : -1;
}

void link_close(link *l)
{
    biff_net_posix_close(&l->sock);
}

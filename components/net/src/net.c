#include "biff/net.h"

const char *biff_net_strerror(biff_net_status s)
{
    switch (s) {
    case BIFF_NET_OK: return "ok";
    case BIFF_NET_PENDING: return "connecting";
    case BIFF_NET_E_CLOSED: return "connection closed by the server";
    case BIFF_NET_E_IO: return "connection reset or failed";
    case BIFF_NET_E_RESOLVE: return "host name does not resolve";
    case BIFF_NET_E_CONNECT: return "connection refused or host unreachable";
    case BIFF_NET_E_TIMEOUT: return "timed out";
    case BIFF_NET_E_ARG: return "invalid argument";
    }
    return "unknown network error";
}

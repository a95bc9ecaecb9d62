#include "biff/result.h"

const char *biff_error_class_name(biff_error_class c)
{
    switch (c) {
    case BIFF_ERR_NONE: return "none";
    case BIFF_ERR_NETWORK: return "network";
    case BIFF_ERR_TLS: return "tls";
    case BIFF_ERR_AUTH_FAILED: return "auth_failed";
    case BIFF_ERR_AUTH_METHOD_UNAVAILABLE: return "auth_method_unavailable";
    case BIFF_ERR_SERVER_ERROR: return "server_error";
    case BIFF_ERR_PROTOCOL: return "protocol";
    case BIFF_ERR_CONFIG: return "config";
    }
    return "unknown";
}

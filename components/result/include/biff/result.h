/* What one account check produced, shared by the engines, the transports and every output. */
#ifndef BIFF_RESULT_H
#define BIFF_RESULT_H

/* Error classes users see (CLI JSON "error", status page). Stable names: scripts match them. */
typedef enum {
    BIFF_ERR_NONE = 0,
    BIFF_ERR_NETWORK,                 /* connect, DNS, reset, timeout */
    BIFF_ERR_TLS,                     /* handshake, certificate, pin, STARTTLS refused */
    BIFF_ERR_AUTH_FAILED,             /* credentials rejected */
    BIFF_ERR_AUTH_METHOD_UNAVAILABLE, /* no usable mechanism, or provider disabled basic auth */
    BIFF_ERR_SERVER_ERROR,            /* NO/BAD/-ERR to a well-formed command, BYE */
    BIFF_ERR_PROTOCOL,                /* malformed or oversized reply */
    BIFF_ERR_CONFIG,                  /* bad URL, missing password */
} biff_error_class;

/** Stable lower-case name of an error class ("auth_failed", ...). Never NULL. */
const char *biff_error_class_name(biff_error_class c);

#endif

/*
 * Who may talk to a status server: the defence against DNS rebinding, shared by the daemon's
 * page and the notifier's. After a rebind a page of the attacker's reaches the server under the
 * attacker's name, and that name is what the browser sends in Host and Origin; the token and a
 * Host-vs-Origin comparison do not help, since the attacker's page reads the one and sets both.
 *
 * Allowed names: "localhost", the address the server is bound to (for a server bound to every
 * address, any IP address literal: a name that is an address cannot be rebound), and names the
 * configuration adds. Compared without case and without the port.
 *   - Host: every request must name an allowed host (else 421, no body).
 *   - Origin, for requests that change state: absent, or http:// with an allowed host; "null"
 *     and others are refused (403). Sec-Fetch-Site, when sent, must be same-origin or none.
 */
#ifndef BIFF_WEBGUARD_H
#define BIFF_WEBGUARD_H

#include <stddef.h>

typedef enum {
    BIFF_WEBGUARD_OK = 0,
    BIFF_WEBGUARD_E_HOST,   /* answer 421 Misdirected Request, no body */
    BIFF_WEBGUARD_E_ORIGIN, /* answer 403 */
} biff_webguard_status;

typedef struct {
    const char *addr;         /* bound address without brackets; "" or NULL: every address */
    const char *const *names; /* names the configuration allows besides */
    size_t n_names;
} biff_webguard;

/** Check a Host header value (len bytes; host NULL when the request had none). */
biff_webguard_status biff_webguard_host(const biff_webguard *g, const char *host, size_t len);

/** Check a state-changing request's Origin and Sec-Fetch-Site values (NULL when absent). */
biff_webguard_status biff_webguard_origin(const biff_webguard *g, const char *origin, size_t olen, const char *site,
                                          size_t slen);

/** Check a raw request head (request line and header lines, len bytes): Host for every
 *  request, Origin and Sec-Fetch-Site for a POST. For servers that do not parse headers. */
biff_webguard_status biff_webguard_request(const biff_webguard *g, const char *head, size_t len);

/** True when an address text is "any address" (0.0.0.0, ::, ""): then any literal is allowed. */
int biff_webguard_any(const char *addr);

#endif

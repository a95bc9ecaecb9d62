#include "biff/webguard.h"

#include <string.h>

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int same(const char *a, size_t n, const char *b)
{
    size_t k = 0;
    for (; k < n && b[k]; k++) {
        if (lower(a[k]) != lower(b[k])) return 0;
    }
    return k == n && !b[k];
}

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (!strchr(set, lower(s[i])) || !s[i]) return 0;
    }
    return n > 0;
}

/* Dotted IPv4 (four numbers of 1-3 digits, each at most 255) or the inside of an IPv6 [...]. */
static int is_literal(const char *s, size_t n, int bracketed)
{
    if (bracketed) return all_of(s, n, "0123456789abcdef:.") && memchr(s, ':', n);
    unsigned parts = 0, digits = 0, v = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!digits || v > 255) return 0;
            parts++, digits = 0, v = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
            v = v * 10u + (unsigned)(s[i] - '0'), digits++;
        } else {
            return 0;
        }
    }
    return parts == 4;
}

int biff_webguard_any(const char *addr)
{
    return !addr || !*addr || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

/* host[:port] or [v6][:port] */
static int host_ok(const biff_webguard *g, const char *h, size_t n)
{
    const char *name = h, *port = NULL;
    size_t nn = n;
    int br = n && h[0] == '[';
    if (br) {
        const char *close = memchr(h, ']', n);
        if (!close) return 0;
        name = h + 1;
        nn = (size_t)(close - name);
        if (close + 1 < h + n) port = close + 1;
    } else if ((port = memchr(h, ':', n)) != NULL) {
        nn = (size_t)(port - h);
    }
    if (port && (*port != ':' || !all_of(port + 1, (size_t)(h + n - port - 1), "0123456789"))) return 0;
    if (!nn) return 0;
    if (same(name, nn, "localhost")) return 1;
    if (biff_webguard_any(g->addr) ? is_literal(name, nn, br) : same(name, nn, g->addr)) return 1;
    for (size_t i = 0; i < g->n_names; i++) {
        if (same(name, nn, g->names[i])) return 1;
    }
    return 0;
}

biff_webguard_status biff_webguard_host(const biff_webguard *g, const char *host, size_t len)
{
    return host && host_ok(g, host, len) ? BIFF_WEBGUARD_OK : BIFF_WEBGUARD_E_HOST;
}

biff_webguard_status biff_webguard_origin(const biff_webguard *g, const char *origin, size_t olen, const char *site,
                                          size_t slen)
{
    if (site && !same(site, slen, "same-origin") && !same(site, slen, "none")) return BIFF_WEBGUARD_E_ORIGIN;
    if (!origin) return BIFF_WEBGUARD_OK;
    if (olen < 7 || !same(origin, 7, "http://") || !host_ok(g, origin + 7, olen - 7)) return BIFF_WEBGUARD_E_ORIGIN;
    return BIFF_WEBGUARD_OK;
}

/* The value of header name in head, spaces around it dropped; NULL when absent. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (const char *l = head, *end = head + len; l < end;) {
        const char *eol = memchr(l, '\n', (size_t)(end - l));
        if (!eol) eol = end;
        if (l == eol || *l == '\r') break; /* the blank line: the body is not headers */
        if ((size_t)(eol - l) > nl && l[nl] == ':' && same(l, nl, name)) {
            const char *v = l + nl + 1, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        l = eol + 1;
    }
    return NULL;
}

biff_webguard_status biff_webguard_request(const biff_webguard *g, const char *head, size_t len)
{
    const char *line = memchr(head, '\n', len); /* headers start after the request line */
    size_t hl = 0, ol = 0, sl = 0;
    if (!line) return BIFF_WEBGUARD_E_HOST;
    line++;
    size_t rest = len - (size_t)(line - head);
    const char *host = header(line, rest, "host", &hl);
    if (biff_webguard_host(g, host, hl) != BIFF_WEBGUARD_OK) return BIFF_WEBGUARD_E_HOST;
    if (len < 5 || memcmp(head, "POST ", 5) != 0) return BIFF_WEBGUARD_OK;
    const char *origin = header(line, rest, "origin", &ol);
    const char *site = header(line, rest, "sec-fetch-site", &sl);
    return biff_webguard_origin(g, origin, ol, site, sl);
}

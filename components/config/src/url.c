#include "biff/url.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, e) into out. Control characters (including an encoded NUL) are refused:
 * they have no place in a user name, mechanism or mailbox and would corrupt protocol lines. */
static int decode(const char *s, const char *e, char *out, size_t cap)
{
    size_t n = 0;
    while (s < e) {
        unsigned char c = (unsigned char)*s++;
        if (c == '%') {
            if (e - s < 2 || hexval(s[0]) < 0 || hexval(s[1]) < 0) return -1;
            c = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1]));
            s += 2;
        }
        if (c < 0x20 || c == 0x7f) return -1;
        if (n + 1 >= cap) return -2;
        out[n++] = (char)c;
    }
    out[n] = 0;
    return 0;
}

typedef struct {
    const char *name;
    unsigned char proto, tls;
    unsigned short port;
} scheme;

static const scheme mail_schemes[] = {
    { "imaps://", BIFF_URL_IMAP, 1, 993 },
    { "imap://", BIFF_URL_IMAP, 0, 143 },
    { "pop3s://", BIFF_URL_POP3, 1, 995 },
    { "pop3://", BIFF_URL_POP3, 0, 110 },
    { "pops://", BIFF_URL_POP3, 1, 995 },
    { "pop://", BIFF_URL_POP3, 0, 110 },
    { NULL, 0, 0, 0 },
};
/* The ports IANA registered for MQTT over TLS and over TCP. */
static const scheme mqtt_schemes[] = {
    { "mqtts://", BIFF_URL_MQTT, 1, 8883 },
    { "mqtt://", BIFF_URL_MQTT, 0, 1883 },
    { NULL, 0, 0, 0 },
};

static biff_url_status parse_scheme(const char **p, biff_url *u, const scheme *schemes)
{
    for (; schemes->name; schemes++) {
        size_t n = strlen(schemes->name);
        size_t k = 0;
        while (k < n && (*p)[k] && ((*p)[k] | 0x20) == (schemes->name[k] | 0x20)) k++;
        if (k == n) {
            u->proto = schemes->proto;
            u->implicit_tls = schemes->tls;
            u->port = schemes->port;
            *p += n;
            return BIFF_URL_OK;
        }
    }
    return BIFF_URL_E_SCHEME;
}

static biff_url_status parse_userinfo(const char *s, const char *e, biff_url *u)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *user_end = semi ? semi : e;
    if (memchr(s, ':', (size_t)(user_end - s))) return BIFF_URL_E_PASSWORD;
    int r = decode(s, user_end, u->user, sizeof u->user);
    if (r == -2) return BIFF_URL_E_TOO_LONG;
    if (r < 0 || !u->user[0]) return BIFF_URL_E_USER;
    if (semi) {
        const char *a = semi + 1;
        if ((size_t)(e - a) < 5 || strncmp(a, "AUTH=", 5) != 0) {
            /* RFC 5092 spells it ";AUTH=" in upper case; accept any case. */
            static const char k[] = "auth=";
            for (size_t i = 0; i < 5; i++) {
                if (a + i >= e || (a[i] | 0x20) != k[i]) return BIFF_URL_E_AUTH;
            }
        }
        a += 5;
        r = decode(a, e, u->auth, sizeof u->auth);
        if (r < 0 || !u->auth[0]) return BIFF_URL_E_AUTH;
        for (char *c = u->auth; *c; c++) {
            if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '*' ||
                  *c == '+')) {
                return BIFF_URL_E_AUTH;
            }
        }
        if (strcmp(u->auth, "*") == 0) u->auth[0] = 0;
    }
    return BIFF_URL_OK;
}

static biff_url_status parse_hostport(const char *s, const char *e, biff_url *u)
{
    const char *host_end;
    size_t n;
    if (s < e && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(e - s));
        if (!close) return BIFF_URL_E_HOST;
        for (const char *c = s + 1; c < close; c++) {
            if (hexval(*c) < 0 && *c != ':' && *c != '.') return BIFF_URL_E_HOST;
        }
        n = (size_t)(close - s - 1);
        if (n == 0) return BIFF_URL_E_HOST;
        if (n >= sizeof u->host) return BIFF_URL_E_TOO_LONG;
        memcpy(u->host, s + 1, n);
        host_end = close + 1;
        if (host_end < e && *host_end != ':') return BIFF_URL_E_HOST;
    } else {
        host_end = memchr(s, ':', (size_t)(e - s));
        if (!host_end) host_end = e;
        n = (size_t)(host_end - s);
        if (n == 0) return BIFF_URL_E_HOST;
        if (n >= sizeof u->host) return BIFF_URL_E_TOO_LONG;
        for (const char *c = s; c < host_end; c++) {
            unsigned char ch = (unsigned char)*c;
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '.' || ch == '_')) {
                return BIFF_URL_E_HOST;
            }
        }
        memcpy(u->host, s, n);
    }
    u->host[n] = 0;
    if (host_end < e) { /* ":port" */
        const char *p = host_end + 1;
        unsigned long port = 0;
        if (p == e) return BIFF_URL_E_PORT;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9') return BIFF_URL_E_PORT;
            port = port * 10 + (unsigned long)(*p - '0');
            if (port > 65535) return BIFF_URL_E_PORT;
        }
        if (port == 0) return BIFF_URL_E_PORT;
        u->port = (unsigned short)port;
    }
    return BIFF_URL_OK;
}

static biff_url_status parse(const char *text, biff_url *u, const scheme *schemes)
{
    memset(u, 0, sizeof *u);
    const char *p = text;
    biff_url_status st = parse_scheme(&p, u, schemes);
    if (st != BIFF_URL_OK) return st;
    const char *end = p + strlen(p);
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q) end = q; /* search criteria (RFC 5092 ?query) do not apply to a check */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = slash ? slash : end;
    /* The last '@' ends the userinfo: a user name may contain an encoded '@' only. */
    const char *at = NULL;
    for (const char *c = p; c < auth_end; c++) {
        if (*c == '@') at = c;
    }
    if (at) {
        st = parse_userinfo(p, at, u);
        if (st != BIFF_URL_OK) return st;
        p = at + 1;
    }
    st = parse_hostport(p, auth_end, u);
    if (st != BIFF_URL_OK) return st;
    const char *path = slash ? slash + 1 : end;
    if (u->proto != BIFF_URL_IMAP) {
        if (path < end) return BIFF_URL_E_PATH;
        /* ;AUTH= names a mail SASL mechanism; a broker takes a user name and a password. */
        if (u->proto == BIFF_URL_MQTT && u->auth[0]) return BIFF_URL_E_AUTH;
        return BIFF_URL_OK;
    }
    /* IMAP: strip ;UIDVALIDITY= and the like; the mailbox is the part before them. */
    const char *mb_end = memchr(path, ';', (size_t)(end - path));
    if (!mb_end) mb_end = end;
    if (mb_end > path && mb_end[-1] == '/') mb_end--;
    if (mb_end == path) {
        strcpy(u->mailbox, "INBOX");
        return BIFF_URL_OK;
    }
    int r = decode(path, mb_end, u->mailbox, sizeof u->mailbox);
    if (r == -2) return BIFF_URL_E_TOO_LONG;
    return r < 0 ? BIFF_URL_E_PATH : BIFF_URL_OK;
}

biff_url_status biff_url_parse(const char *text, biff_url *u)
{
    return parse(text, u, mail_schemes);
}

biff_url_status biff_url_parse_mqtt(const char *text, biff_url *u)
{
    return parse(text, u, mqtt_schemes);
}

const char *biff_url_redact(const char *text, char *out, size_t cap)
{
    /* Not the parser's rules: the URL may be one it refused. A ':' before the first '@' starts
     * a password, and since a password may hold '@', '/' or '?', it runs to the last '@'. */
    const char *auth = strstr(text, "://");
    auth = auth ? auth + 3 : text;
    const char *first = strchr(auth, '@'), *last = strrchr(auth, '@');
    const char *colon = first ? memchr(auth, ':', (size_t)(first - auth)) : NULL;
    if (colon)
        snprintf(out, cap, "%.*s%s", (int)(colon - text), text, last);
    else
        snprintf(out, cap, "%s", text);
    return out;
}

const char *biff_url_strerror(biff_url_status st)
{
    switch (st) {
    case BIFF_URL_OK: return "ok";
    case BIFF_URL_E_SCHEME: return "scheme must be imap://, imaps://, pop3:// or pop3s://";
    case BIFF_URL_E_PASSWORD: return "passwords do not belong in URLs: use TINYBIFF_PASSWORD or --password-file";
    case BIFF_URL_E_USER: return "missing or badly encoded user name";
    case BIFF_URL_E_AUTH: return "bad ;AUTH= mechanism";
    case BIFF_URL_E_HOST: return "missing or invalid host";
    case BIFF_URL_E_PORT: return "port must be 1-65535";
    case BIFF_URL_E_PATH: return "bad mailbox (POP URLs take none)";
    case BIFF_URL_E_TOO_LONG: return "a part of the URL is too long";
    }
    return "invalid URL";
}

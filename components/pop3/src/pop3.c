/* POP3 client engine (RFC 1939, RFC 2449 CAPA/PIPELINING, RFC 2595 STLS, RFC 5034 AUTH,
 * RFC 3206 response codes). Byte in, byte out; see biff/pop3.h for the calling contract.
 * Written for size: table lookups over repeated branches, one output area, one detail buffer. */
#include "biff/pop3.h"

#include <string.h>

#include "biff/sasl.h"
#include "mbedtls/md5.h"
#include "mbedtls/platform_util.h"

enum {
    ST_GREET,
    ST_CAPA,
    ST_CAPA_BODY,
    ST_STLS,
    ST_TLSWAIT,
    ST_USER,
    ST_PASS,
    ST_APOP,
    ST_AUTH,
    ST_STAT,
    ST_UIDL,
    ST_UIDL_BODY,
    ST_QUIT,
    ST_DONE,
    ST_ERROR,
};

/* flags */
#define F_TLS       0x01u /* link is encrypted */
#define F_CAPA      0x02u /* CAPA answered +OK */
#define F_SKIP      0x04u /* discarding the rest of an over-long CAPA line */
#define F_ALL       0x08u /* STAT/UIDL/QUIT already sent in one flight */
#define F_CONT      0x10u /* answered a SASL challenge: the next line ends the exchange */
#define F_NOT_TOKEN 0x20u /* the OAuth error report blames something a new token cannot fix */

/* caps: bit i = i-th name in cap_names */
#define C_STLS 0x01u
#define C_USER 0x02u
#define C_PIPE 0x04u
static const char cap_names[] = "STLS\0USER\0PIPELINING\0";

#define OAUTH_BITS (BIFF_SASL_BIT(BIFF_SASL_XOAUTH2) | BIFF_SASL_BIT(BIFF_SASL_OAUTHBEARER))
#define ABIT(m)    (1u << (m))

#ifdef BIFF_POP3_NO_APOP
#define APOP_NAME "APOP (not built in)"
#else
#define APOP_NAME "APOP"
#endif

static const char needs_oauth[] = "provider needs OAuth2 or an app password";
static const char token_rejected[] = "OAuth2 token rejected: ";

static char up(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

/* Case-insensitive compare of k octets; w is upper or lower case ASCII. */
static int ieq(const char *l, const char *w, size_t k)
{
    while (k && up(*l++) == up(*w++)) {
        k--;
    }
    return k == 0;
}

static int contains(const char *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++) {
        if (ieq(l + i, w, k)) {
            return 1;
        }
    }
    return 0;
}

static void dput(biff_pop3_result *r, const char *s, size_t n)
{
    size_t d = strlen(r->detail);
    for (size_t i = 0; i < n && d + 1 < sizeof r->detail; i++) {
        char c = s[i];
        r->detail[d++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    r->detail[d] = '\0';
}

static void dstr(biff_pop3_result *r, const char *s)
{
    dput(r, s, strlen(s));
}

static void dnum(biff_pop3_result *r, uint32_t v)
{
    char b[11];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    dput(r, b + i, sizeof b - i);
}

static int leaks(const biff_pop3 *e, const char *text, size_t n)
{
    return biff_sasl_leaks_secret(text, n, e->user, e->secret);
}

/* End the check with an error; with_line appends the server line being handled after msg.
 * msg NULL keeps the detail built so far. */
static void fail(biff_pop3 *e, biff_error_class cls, const char *msg, int with_line)
{
    /* Nothing more goes out after an error: not even half a command with a credential in it. */
    mbedtls_platform_zeroize(e->out, e->out_cap);
    e->out_len = 0;
    e->state = ST_ERROR;
    e->res.error = cls;
    if (msg) {
        e->res.detail[0] = '\0';
        dstr(&e->res, msg);
    }
    if (with_line) {
        dput(&e->res, ": ", 2);
        /* A server may echo what we sent: judged on the raw line, not on what dput shows. */
        if (leaks(e, e->line, e->line_len)) {
            dstr(&e->res, BIFF_SASL_WITHHELD);
        } else {
            dput(&e->res, e->line, e->line_len);
        }
    }
}

/* Append s to the output area (once the check failed, nothing is appended). */
static void put(biff_pop3 *e, const char *s)
{
    size_t k;
    if (!s || e->state == ST_ERROR) {
        return;
    }
    k = strlen(s);
    if (k > (size_t)(e->out_cap - e->out_len)) {
        fail(e, BIFF_ERR_CONFIG, "work buffer too small", 0);
        return;
    }
    memcpy(e->out + e->out_len, s, k);
    e->out_len = (uint16_t)(e->out_len + k);
}

static void cmd(biff_pop3 *e, const char *a, const char *b, const char *c)
{
    put(e, a);
    put(e, b);
    put(e, c);
    put(e, "\r\n");
}

static void to_quit(biff_pop3 *e)
{
    e->state = ST_QUIT;
    if (!(e->flags & F_ALL)) {
        cmd(e, "QUIT", NULL, NULL);
    }
}

static void after_stat(biff_pop3 *e)
{
    if (!e->on_uid) {
        to_quit(e);
    } else {
        e->state = ST_UIDL;
        if (!(e->flags & F_ALL)) {
            cmd(e, "UIDL", NULL, NULL);
        }
    }
}

static void unavailable(biff_pop3 *e, const char *msg, const char *what)
{
    fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, msg, 0);
    dstr(&e->res, what);
    if (e->sasl & OAUTH_BITS) {
        dstr(&e->res, "; server offers OAuth2: ");
        dstr(&e->res, needs_oauth);
    }
}

static void start_auth(biff_pop3 *e)
{
    unsigned m = e->cfg_auth, off;

    if (!(e->flags & F_TLS) && e->security != BIFF_POP3_SEC_NONE) {
        fail(e, BIFF_ERR_TLS, "refusing to send credentials without TLS", 0);
        return;
    }
    /* What the server offers, as BIFF_POP3_AUTH_* bits; without CAPA anything but APOP may work. */
    off = (e->flags & F_CAPA) ? ((e->caps & C_USER) ? ABIT(BIFF_POP3_AUTH_USER) : 0u) | (unsigned)e->sasl << 3
                              : ABIT(BIFF_POP3_AUTH_USER) | 7u << 3;
    off |= e->apop[0] ? ABIT(BIFF_POP3_AUTH_APOP) : 0u;
    if (m == BIFF_POP3_AUTH_OAUTH)
        m = (e->sasl & BIFF_SASL_BIT(BIFF_SASL_OAUTHBEARER)) ? BIFF_POP3_AUTH_OAUTHBEARER : BIFF_POP3_AUTH_XOAUTH2;
    if (m == BIFF_POP3_AUTH_AUTO) {
        m = (e->sasl & BIFF_SASL_BIT(BIFF_SASL_PLAIN)) ? BIFF_POP3_AUTH_PLAIN
            : (off & ABIT(BIFF_POP3_AUTH_USER))        ? BIFF_POP3_AUTH_USER
            : (off & ABIT(BIFF_POP3_AUTH_APOP))        ? BIFF_POP3_AUTH_APOP
                                                       : BIFF_POP3_AUTH_AUTO;
        if (m == BIFF_POP3_AUTH_AUTO) {
            unavailable(e, "no password login offered", "");
            return;
        }
    }
    e->mech = (uint8_t)m;
    if (!(off & ABIT(m))) {
        unavailable(e, "server does not offer ",
                    m == BIFF_POP3_AUTH_USER   ? "USER/PASS"
                    : m == BIFF_POP3_AUTH_APOP ? APOP_NAME
                                               : biff_sasl_mech_name((biff_sasl_mech)(m - 3)));
        return;
    }
    if (m == BIFF_POP3_AUTH_USER) {
        e->state = ST_USER;
        cmd(e, "USER ", e->user, NULL);
        if (e->caps & C_PIPE) {
            cmd(e, "PASS ", e->secret, NULL); /* rides along; its reply is matched in ST_PASS */
        }
    } else if (m == BIFF_POP3_AUTH_APOP) {
        e->state = ST_APOP;
        cmd(e, "APOP ", e->user, e->apop);
    } else {
        /* The initial response is written straight into the output area. */
        size_t at, n = 0;
        biff_sasl_status s;
        e->state = ST_AUTH;
        cmd(e, "AUTH ", biff_sasl_mech_name((biff_sasl_mech)(m - 3)), " ");
        if (e->state != ST_AUTH) {
            return;
        }
        at = (size_t)e->out_len - 2;
        s = biff_sasl_initial_response((biff_sasl_mech)(m - 3), e->user, e->secret, e->host, e->port, e->out + at,
                                       (size_t)e->out_cap - at - 1, &n);
        if (s != BIFF_SASL_OK) {
            fail(e, BIFF_ERR_CONFIG, s == BIFF_SASL_E_SPACE ? "work buffer too small" : "credentials unusable for SASL",
                 0);
            return;
        }
        memcpy(e->out + at + n, "\r\n", 2);
        e->out_len = (uint16_t)(at + n + 2);
    }
}

/* Login refused: tell credentials apart from "this provider wants OAuth2 / an app password". */
static void auth_refused(biff_pop3 *e, const char *l, size_t n)
{
    static const char hints[] = "[sys/\0[in-use]\0[login-delay]\0plaintext auth\0"
                                "app password\0application-specific\0oauth\0web login\0basic auth\0";
    const char *h = hints;
    unsigned i = 0;
    while (*h && !contains(l, n, h)) {
        h += strlen(h) + 1;
        i++;
    }
    if (!*h) {
        fail(e, BIFF_ERR_AUTH_FAILED, "login rejected", 1);
        if ((e->sasl & OAUTH_BITS) && e->mech < BIFF_POP3_AUTH_XOAUTH2) {
            dstr(&e->res, " (server offers OAuth2: maybe ");
            dstr(&e->res, needs_oauth);
            dstr(&e->res, ")");
        }
    } else if (i < 3) {
        fail(e, BIFF_ERR_SERVER_ERROR, "login refused by server", 1);
    } else {
        fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, i == 3 ? "login needs TLS" : needs_oauth, 1);
    }
}

static const char *parse_u32(const char *p, const char *end, uint32_t *v)
{
    const char *s = p;
    uint32_t x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        uint32_t d = (uint32_t)(*p++ - '0');
        x = x > (UINT32_MAX - d) / 10u ? UINT32_MAX : x * 10u + d;
    }
    *v = x;
    return p == s ? NULL : p;
}

static void uidl_entry(biff_pop3 *e, const char *l, size_t n)
{
    const char *end = l + n, *p;
    uint32_t msg = 0;
    size_t k;
    int bad;
    while (end > l && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    p = parse_u32(l, end, &msg);
    if (!p || msg == 0 || (e->res.have_stat && msg > e->res.messages) || p == end || *p != ' ') {
        fail(e, BIFF_ERR_PROTOCOL, "malformed UIDL line", 0);
        return;
    }
    while (*p == ' ') {
        p++;
    }
    k = (size_t)(end - p);
    bad = k == 0;
    for (size_t i = 0; i < k; i++) {
        bad |= p[i] < 0x21 || p[i] > 0x7e;
    }
    if (bad || k > BIFF_POP3_UID_MAX) {
        fail(e, BIFF_ERR_PROTOCOL, bad ? "malformed UIDL id, message " : "UIDL id longer than 70 octets, message ", 0);
        dnum(&e->res, msg);
        return;
    }
    e->res.uids++;
    e->on_uid(e->uid_ctx, msg, p, k);
}

static void after_capa(biff_pop3 *e)
{
    if (e->security == BIFF_POP3_SEC_STARTTLS && !(e->flags & F_TLS)) {
        if ((e->flags & F_CAPA) && !(e->caps & C_STLS)) {
            fail(e, BIFF_ERR_TLS, "server does not offer STLS", 0);
            return;
        }
        e->state = ST_STLS;
        cmd(e, "STLS", NULL, NULL);
        return;
    }
    start_auth(e);
}

#ifdef BIFF_POP3_NO_APOP
/* APOP compiled out: MD5 alone is about 2 KB of Cortex-M code, and no TLS suite needs it. */
#define apop_digest(e, l, n) ((void)0)
#else
static void apop_digest(biff_pop3 *e, const char *l, size_t n)
{
    const char *lt = memchr(l, '<', n), *gt;
    unsigned char d[16];
    mbedtls_md5_context c;
    if (!lt || !(gt = memchr(lt, '>', (size_t)(l + n - lt))) || !memchr(lt, '@', (size_t)(gt - lt))) {
        return;
    }
    mbedtls_md5_init(&c);
    if ((mbedtls_md5_starts(&c) | mbedtls_md5_update(&c, (const unsigned char *)lt, (size_t)(gt - lt + 1)) |
         mbedtls_md5_update(&c, (const unsigned char *)e->secret, strlen(e->secret)) | mbedtls_md5_finish(&c, d)) ==
        0) {
        /* " <32 hex>": ready to follow the user name in the APOP command */
        e->apop[0] = ' ';
        for (int i = 0; i < 32; i++) {
            e->apop[1 + i] = "0123456789abcdef"[(d[i / 2] >> (i & 1 ? 0 : 4)) & 15];
        }
    }
    mbedtls_md5_free(&c);
    mbedtls_platform_zeroize(d, sizeof d);
}
#endif

/* A SASL challenge after our initial response: for OAuth it carries the error JSON (RFC 7628
 * 3.2.2), kept for the detail; the answer lets the server finish with -ERR. */
static void challenge(biff_pop3 *e, const char *l, size_t n)
{
    char *d = e->res.detail + sizeof token_rejected - 1;
    size_t k = 0;
    e->flags |= F_CONT;
    memcpy(e->res.detail, token_rejected, sizeof token_rejected);
    if (e->mech != BIFF_POP3_AUTH_PLAIN && n > 2 &&
        biff_sasl_b64_decode(l + 2, n - 2, d, sizeof e->res.detail - sizeof token_rejected + 1, &k) == BIFF_SASL_OK) {
        if (leaks(e, d, k)) {
            memcpy(d, BIFF_SASL_WITHHELD, sizeof BIFF_SASL_WITHHELD);
            k = 0;
        }
        for (size_t i = 0; i < k; i++) {
            if (d[i] < 0x20 || d[i] > 0x7e) {
                d[i] = '?';
            }
        }
    }
    if (n > 2 && !biff_sasl_oauth_token_refused(l + 2, n - 2)) {
        e->flags |= F_NOT_TOKEN; /* PLAIN: never asked (biff_pop3_oauth_refused checks the mech) */
    }
    cmd(e, e->mech == BIFF_POP3_AUTH_OAUTHBEARER ? "AQ==" : e->mech == BIFF_POP3_AUTH_PLAIN ? "*" : NULL, NULL, NULL);
}

/* One line of a multi-line reply (CAPA or UIDL listing). */
static void body_line(biff_pop3 *e, const char *l, size_t n)
{
    int capa = e->state == ST_CAPA_BODY;
    if (n == 1 && l[0] == '.') {
        if (capa) {
            after_capa(e);
        } else {
            e->res.uidl = 1;
            to_quit(e);
        }
        return;
    }
    if (n && l[0] == '.') { /* dot-stuffing */
        l++;
        n--;
    }
    if (!capa) {
        uidl_entry(e, l, n);
        return;
    }
    const char *c = cap_names;
    for (unsigned bit = 1; *c; bit <<= 1, c += strlen(c) + 1) {
        size_t k = strlen(c);
        if (n >= k && (n == k || l[k] == ' ') && ieq(l, c, k)) {
            e->caps = (uint8_t)(e->caps | bit);
        }
    }
    if (n > 4 && l[4] == ' ' && ieq(l, "SASL", 4)) {
        e->sasl = (uint8_t)(e->sasl | biff_sasl_mech_mask(l + 4, n - 4));
    }
}

/* 0: "+OK", 1: "-ERR", -1: neither. */
static int reply_kind(const char *l, size_t n)
{
    if (n >= 3 && memcmp(l, "+OK", 3) == 0 && (n == 3 || l[3] == ' ')) {
        return 0;
    }
    if (n >= 4 && memcmp(l, "-ERR", 4) == 0 && (n == 4 || l[4] == ' ')) {
        return 1;
    }
    return -1;
}

static void line(biff_pop3 *e, const char *l, size_t n)
{
    unsigned st = e->state;
    int err;

    if (st == ST_CAPA_BODY || st == ST_UIDL_BODY) {
        body_line(e, l, n);
        return;
    }
    if (st == ST_AUTH && !(e->flags & F_CONT) && n && l[0] == '+' && (n == 1 || l[1] == ' ')) {
        challenge(e, l, n);
        return;
    }
    err = reply_kind(l, n);
    if (err < 0) {
        fail(e, BIFF_ERR_PROTOCOL, "unexpected server reply", 1);
        return;
    }
    switch (st) {
    case ST_GREET:
        if (err) {
            fail(e, BIFF_ERR_SERVER_ERROR, "server refused the session", 1);
            return;
        }
        if (e->cfg_auth == BIFF_POP3_AUTH_AUTO || e->cfg_auth == BIFF_POP3_AUTH_APOP) {
            apop_digest(e, l, n);
        }
        e->state = ST_CAPA;
        cmd(e, "CAPA", NULL, NULL);
        return;
    case ST_CAPA:
        e->caps = 0;
        e->sasl = 0;
        e->flags = (uint8_t)(err ? e->flags & ~F_CAPA : e->flags | F_CAPA);
        if (err) {
            after_capa(e); /* RFC 1939-only server: try what the config asks for */
        } else {
            e->state = ST_CAPA_BODY;
        }
        return;
    case ST_STLS:
        if (err) {
            fail(e, BIFF_ERR_TLS, "STLS refused", 1);
        } else {
            e->state = ST_TLSWAIT;
        }
        return;
    case ST_STAT: {
        const char *p = l + 3, *end = l + n;
        uint32_t m = 0;
        if (err) {
            fail(e, BIFF_ERR_SERVER_ERROR, "STAT failed", 1);
            return;
        }
        while (p < end && *p == ' ') {
            p++;
        }
        p = parse_u32(p, end, &m);
        if (!p || p == end || *p != ' ' || !parse_u32(p + 1, end, &e->res.octets) || m == UINT32_MAX) {
            fail(e, BIFF_ERR_PROTOCOL, "malformed STAT reply", 1);
            return;
        }
        e->res.messages = m;
        e->res.have_stat = 1;
        after_stat(e);
        return;
    }
    case ST_UIDL:
        if (err) {
            to_quit(e); /* no UIDL on this server: the count from STAT still stands */
        } else {
            e->state = ST_UIDL_BODY;
        }
        return;
    case ST_QUIT: e->state = ST_DONE; return;
    default: /* USER, PASS, APOP, AUTH */
        if (err) {
            if ((e->flags & F_CONT) && e->mech != BIFF_POP3_AUTH_PLAIN) {
                fail(e, BIFF_ERR_AUTH_FAILED, NULL, 0); /* keeps the decoded OAuth error */
            } else {
                auth_refused(e, l, n);
            }
        } else if (st == ST_USER) {
            e->state = ST_PASS;
            if (!(e->caps & C_PIPE)) {
                cmd(e, "PASS ", e->secret, NULL);
            }
        } else {
            e->res.detail[0] = '\0';
            e->state = ST_STAT;
            if (e->caps & C_PIPE) {
                /* RFC 2449 PIPELINING: the whole transaction in one flight. */
                cmd(e, "STAT\r\n", e->on_uid ? "UIDL\r\n" : NULL, "QUIT");
                e->flags |= F_ALL;
            } else {
                cmd(e, "STAT", NULL, NULL);
            }
        }
        return;
    }
}

biff_pop3_status biff_pop3_init(biff_pop3 *e, const biff_pop3_config *cfg, uint8_t *work, size_t work_cap, uint8_t *out,
                                size_t out_cap)
{
    if (!e || !cfg || !work || !out || !cfg->user || !cfg->secret) {
        return BIFF_POP3_E_ARG;
    }
    if (work_cap > 65535u || out_cap > 65535u || work_cap < 16u || out_cap < 64u ||
        cfg->security > BIFF_POP3_SEC_NONE || cfg->auth > BIFF_POP3_AUTH_OAUTH || strpbrk(cfg->user, "\r\n") ||
        strpbrk(cfg->secret, "\r\n")) {
        return BIFF_POP3_E_ARG;
    }
    memset(e, 0, sizeof *e);
    e->user = cfg->user;
    e->secret = cfg->secret;
    e->host = cfg->host;
    e->port = cfg->port;
    e->on_uid = cfg->on_uid;
    e->uid_ctx = cfg->uid_ctx;
    e->cfg_auth = (uint8_t)cfg->auth;
    e->security = (uint8_t)cfg->security;
    e->line = (char *)work;
    e->line_cap = (uint16_t)(work_cap - 1); /* the LF is never stored */
    e->out = (char *)out;
    e->out_cap = (uint16_t)out_cap;
    e->flags = cfg->security == BIFF_POP3_SEC_TLS ? F_TLS : 0u;
    return BIFF_POP3_OK; /* state 0 = ST_GREET */
}

static biff_pop3_status status_of(const biff_pop3 *e)
{
    switch (e->state) {
    case ST_DONE: return BIFF_POP3_EV_CLOSED;
    case ST_ERROR: return BIFF_POP3_E_FAILED;
    case ST_TLSWAIT: return BIFF_POP3_EV_STARTTLS;
    default: return BIFF_POP3_OK;
    }
}

biff_pop3_status biff_pop3_feed(biff_pop3 *e, const uint8_t *data, size_t len, size_t *consumed)
{
    const char *d = (const char *)data;
    size_t i = 0;
    if (consumed) {
        *consumed = 0;
    }
    if (!e || (!data && len)) {
        return BIFF_POP3_E_ARG;
    }
    while (i < len && e->state < ST_DONE) {
        char c = d[i++];
        if (e->state == ST_TLSWAIT) {
            i = len; /* plaintext that arrived after +OK to STLS: never read it */
        } else if (c == '\n') {
            int skip = e->flags & F_SKIP;
            if (e->line_len && e->line[e->line_len - 1] == '\r') {
                e->line_len--;
            }
            e->flags &= (uint8_t)~F_SKIP;
            if (!skip) {
                line(e, e->line, e->line_len); /* line_len stays valid for fail()'s detail */
            }
            e->line_len = 0;
        } else if (e->flags & F_SKIP) {
            continue;
        } else if (e->line_len < e->line_cap) {
            e->line[e->line_len++] = c;
        } else if (e->state == ST_CAPA_BODY) {
            e->flags |= F_SKIP; /* an over-long capability is one we would not use */
        } else {
            fail(e, BIFF_ERR_PROTOCOL, "server line longer than ", 0);
            dnum(&e->res, (uint32_t)e->line_cap + 1u);
            dstr(&e->res, " octets");
        }
    }
    if (consumed) {
        *consumed = i;
    }
    return status_of(e);
}

size_t biff_pop3_output(const biff_pop3 *e, const uint8_t **ptr)
{
    *ptr = (const uint8_t *)e->out;
    return e->out_len;
}

void biff_pop3_output_done(biff_pop3 *e, size_t n)
{
    size_t left;
    if (n > e->out_len) {
        n = e->out_len;
    }
    /* Move the unsent rest to the front and wipe what was sent: it may hold credentials. */
    left = e->out_len - n;
    memmove(e->out, e->out + n, left);
    mbedtls_platform_zeroize(e->out + left, n);
    e->out_len = (uint16_t)left;
}

biff_pop3_status biff_pop3_tls_started(biff_pop3 *e)
{
    if (e->state != ST_TLSWAIT) {
        return BIFF_POP3_E_ARG;
    }
    e->flags |= F_TLS;
    e->line_len = 0;
    e->state = ST_CAPA; /* RFC 2595: capabilities learnt in plaintext are forgotten */
    cmd(e, "CAPA", NULL, NULL);
    return status_of(e);
}

biff_pop3_status biff_pop3_eof(biff_pop3 *e)
{
    /* phase names, and each state's offset into them */
    static const char ph[] = "greeting\0CAPA\0STLS\0login\0STAT\0UIDL";
    static const uint8_t at[] = { 0, 9, 9, 14, 14, 19, 19, 19, 19, 25, 30, 30 };
    unsigned st = e->state;
    if (st == ST_QUIT) {
        e->state = ST_DONE; /* everything asked for has arrived; some servers close before +OK */
    } else if (st < ST_QUIT) {
        fail(e, BIFF_ERR_NETWORK, "connection closed during ", 0);
        dstr(&e->res, ph + at[st]);
        if (st == ST_UIDL_BODY || st == ST_CAPA_BODY) {
            dstr(&e->res, " (incomplete: no final \".\")");
        }
    }
    return status_of(e);
}

int biff_pop3_oauth_refused(const biff_pop3 *e)
{
    return e->res.error == BIFF_ERR_AUTH_FAILED && e->mech >= BIFF_POP3_AUTH_XOAUTH2 && !(e->flags & F_NOT_TOKEN);
}

const biff_pop3_result *biff_pop3_get_result(const biff_pop3 *e)
{
    return &e->res;
}

biff_error_class biff_pop3_error(const biff_pop3 *e, const char **detail)
{
    if (detail) {
        *detail = e->res.detail;
    }
    return e->res.error;
}

void biff_pop3_clear(biff_pop3 *e)
{
    if (e->line) {
        mbedtls_platform_zeroize(e->line, (size_t)e->line_cap + 1u);
        mbedtls_platform_zeroize(e->out, e->out_cap);
    }
    mbedtls_platform_zeroize(e, sizeof *e);
}

/* POP3 client engine (RFC 1939, RFC 2449 CAPA/PIPELINING, RFC 2595 STLS, RFC 5034 AUTH,
 * RFC 3206 response codes). Byte in, byte out; see biff/pop3.h for the calling contract. */
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
#define F_TLS 0x01u  /* link is encrypted */
#define F_CAPA 0x02u /* CAPA answered +OK */
#define F_SKIP 0x04u /* discarding the rest of an over-long CAPA line */
#define F_ALL 0x08u  /* STAT/UIDL/QUIT already sent in one flight */
#define F_CONT 0x10u /* answered a SASL challenge: the next line ends the exchange */

/* caps */
#define C_STLS 0x01u
#define C_USER 0x02u
#define C_PIPE 0x04u

#define OAUTH_BITS (BIFF_SASL_BIT(BIFF_SASL_XOAUTH2) | BIFF_SASL_BIT(BIFF_SASL_OAUTHBEARER))

static const char hexd[] = "0123456789abcdef";

static char up(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

/* Case-insensitive: does l[0..n) start with the word w (followed by end or a space)? */
static int word(const char *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k || (n > k && l[k] != ' ')) {
        return 0;
    }
    for (size_t i = 0; i < k; i++) {
        if (up(l[i]) != w[i]) {
            return 0;
        }
    }
    return 1;
}

/* Case-insensitive substring search; w is lower case. */
static int contains(const char *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && up(l[i + j]) == up(w[j])) {
            j++;
        }
        if (j == k) {
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

/* End the check with an error; text (server line, may be NULL) is appended after msg. */
static void fail(biff_pop3 *e, biff_error_class cls, const char *msg, const char *text, size_t n)
{
    /* Nothing more goes out after an error: not even half a command with a credential in it. */
    mbedtls_platform_zeroize(e->out, e->out_cap);
    e->out_len = e->out_sent = 0;
    e->state = ST_ERROR;
    e->res.error = cls;
    e->res.detail[0] = '\0';
    dstr(&e->res, msg);
    if (text) {
        dput(&e->res, ": ", 2);
        dput(&e->res, text, n);
    }
    /* A server may echo what we sent: mask the secret, also when the detail cut it short. */
    size_t k = strlen(e->secret), dl = strlen(e->res.detail);
    for (size_t i = 0; k && i < dl; i++) {
        size_t m = dl - i < k ? dl - i : k;
        if ((m == k || m >= 4) && memcmp(e->res.detail + i, e->secret, m) == 0) {
            memset(e->res.detail + i, '*', m);
        }
    }
}

static const char too_small[] = "work buffer too small for the command";

/* Append parts + CRLF to the output area; 0 on success. */
static int emit(biff_pop3 *e, const char *a, const char *b, const char *c)
{
    const char *p[4] = {a, b, c, "\r\n"};
    size_t need = 0;
    for (int i = 0; i < 4; i++) {
        need += p[i] ? strlen(p[i]) : 0;
    }
    if (e->out_sent) {
        memmove(e->out, e->out + e->out_sent, (size_t)(e->out_len - e->out_sent));
        e->out_len = (uint16_t)(e->out_len - e->out_sent);
        e->out_sent = 0;
    }
    if (need > (size_t)(e->out_cap - e->out_len)) {
        fail(e, BIFF_ERR_CONFIG, too_small, NULL, 0);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        size_t k = p[i] ? strlen(p[i]) : 0;
        memcpy(e->out + e->out_len, p[i] ? p[i] : "", k);
        e->out_len = (uint16_t)(e->out_len + k);
    }
    return 0;
}

static void to_quit(biff_pop3 *e)
{
    e->state = ST_QUIT;
    if (!(e->flags & F_ALL)) {
        emit(e, "QUIT", NULL, NULL);
    }
}

static void after_stat(biff_pop3 *e)
{
    if (!e->on_uid) {
        to_quit(e);
        return;
    }
    e->state = ST_UIDL;
    if (!(e->flags & F_ALL)) {
        emit(e, "UIDL", NULL, NULL);
    }
}

static void after_auth(biff_pop3 *e)
{
    e->state = ST_STAT;
    e->flags &= (uint8_t)~F_CONT;
    if (e->caps & C_PIPE) {
        /* RFC 2449 PIPELINING: the whole transaction in one flight. */
        if (emit(e, "STAT\r\n", e->on_uid ? "UIDL\r\n" : NULL, "QUIT") == 0) {
            e->flags |= F_ALL;
        }
    } else {
        emit(e, "STAT", NULL, NULL);
    }
}

static const char needs_oauth[] = "provider needs OAuth2 or an app password";

static void unavailable(biff_pop3 *e, const char *msg)
{
    fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, msg, NULL, 0);
    if (e->sasl & OAUTH_BITS) {
        dstr(&e->res, "; server offers OAuth2: ");
        dstr(&e->res, needs_oauth);
    }
}

static void start_auth(biff_pop3 *e)
{
    unsigned m = e->cfg_auth;
    int capa = (e->flags & F_CAPA) != 0;

    if (!(e->flags & F_TLS) && e->security != BIFF_POP3_SEC_NONE) {
        fail(e, BIFF_ERR_TLS, "refusing to send credentials without TLS", NULL, 0);
        return;
    }
    if (m == BIFF_POP3_AUTH_AUTO) {
        if (e->sasl & BIFF_SASL_BIT(BIFF_SASL_PLAIN)) {
            m = BIFF_POP3_AUTH_PLAIN;
        } else if (!capa || (e->caps & C_USER)) {
            m = BIFF_POP3_AUTH_USER;
        } else if (e->apop[0]) {
            m = BIFF_POP3_AUTH_APOP;
        } else {
            unavailable(e, "no password login offered");
            return;
        }
    }
    e->mech = (uint8_t)m;
    if (m == BIFF_POP3_AUTH_USER) {
        if (capa && !(e->caps & C_USER)) {
            unavailable(e, "server does not offer USER/PASS");
            return;
        }
        e->state = ST_USER;
        if (emit(e, "USER ", e->user, NULL) == 0 && (e->caps & C_PIPE)) {
            /* PASS rides along; its reply is matched in ST_PASS. */
            emit(e, "PASS ", e->secret, NULL);
        }
        return;
    }
    if (m == BIFF_POP3_AUTH_APOP) {
        if (!e->apop[0]) {
            unavailable(e, "greeting has no APOP timestamp");
            return;
        }
        e->state = ST_APOP;
        emit(e, "APOP ", e->user, e->apop);
        return;
    }
    /* SASL: PLAIN, XOAUTH2, OAUTHBEARER */
    biff_sasl_mech sm = m == BIFF_POP3_AUTH_PLAIN     ? BIFF_SASL_PLAIN
                        : m == BIFF_POP3_AUTH_XOAUTH2 ? BIFF_SASL_XOAUTH2
                                                      : BIFF_SASL_OAUTHBEARER;
    if (capa && !(e->sasl & BIFF_SASL_BIT(sm))) {
        fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, "server does not offer SASL ", NULL, 0);
        dstr(&e->res, biff_sasl_mech_name(sm));
        return;
    }
    if (emit(e, "AUTH ", biff_sasl_mech_name(sm), " ") != 0) {
        return;
    }
    /* The initial response goes straight into the output area, in place of emit()'s CRLF. */
    size_t at = (size_t)e->out_len - 2, n = 0;
    biff_sasl_status s = biff_sasl_initial_response(sm, e->user, e->secret, e->host, e->port, e->out + at,
                                                    (size_t)e->out_cap - at - 1, &n);
    if (s != BIFF_SASL_OK) {
        fail(e, BIFF_ERR_CONFIG, s == BIFF_SASL_E_SPACE ? too_small : "credentials unusable for SASL", NULL, 0);
        return;
    }
    memcpy(e->out + at + n, "\r\n", 2);
    e->out_len = (uint16_t)(at + n + 2);
    e->state = ST_AUTH;
}

/* Login refused: tell credentials apart from "this provider wants OAuth2 / an app password". */
static void auth_refused(biff_pop3 *e, const char *l, size_t n)
{
    static const char *const hints[] = {"app password", "application-specific", "oauth", "web login", "basic auth"};
    if (contains(l, n, "[sys/") || contains(l, n, "[in-use]") || contains(l, n, "[login-delay]")) {
        fail(e, BIFF_ERR_SERVER_ERROR, "login refused by server", l, n);
        return;
    }
    if (contains(l, n, "plaintext auth")) {
        fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, "server refuses this login without TLS", l, n);
        return;
    }
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        if (contains(l, n, hints[i])) {
            fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, "password login refused", NULL, 0);
            dstr(&e->res, ": ");
            dstr(&e->res, needs_oauth);
            dput(&e->res, ": ", 2);
            dput(&e->res, l, n);
            return;
        }
    }
    fail(e, BIFF_ERR_AUTH_FAILED, "login rejected", l, n);
    if ((e->sasl & OAUTH_BITS) && e->mech < BIFF_POP3_AUTH_XOAUTH2) {
        dstr(&e->res, " (server offers OAuth2: maybe ");
        dstr(&e->res, needs_oauth);
        dstr(&e->res, ")");
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
    while (end > l && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    p = parse_u32(l, end, &msg);
    if (!p || msg == 0 || (e->res.have_stat && msg > e->res.messages) || p == end || *p != ' ') {
        fail(e, BIFF_ERR_PROTOCOL, "malformed UIDL line", NULL, 0);
        return;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    size_t k = (size_t)(end - p);
    int bad = k == 0;
    for (size_t i = 0; i < k; i++) {
        bad |= p[i] < 0x21 || p[i] > 0x7e;
    }
    if (bad || k > BIFF_POP3_UID_MAX) {
        fail(e, BIFF_ERR_PROTOCOL, bad ? "malformed UIDL id, message " : "UIDL id longer than 70 octets, message ",
             NULL, 0);
        dnum(&e->res, msg);
        return;
    }
    e->res.uids++;
    e->on_uid(e->uid_ctx, msg, p, k);
}

static void capa_line(biff_pop3 *e, const char *l, size_t n)
{
    if (word(l, n, "STLS")) {
        e->caps |= C_STLS;
    } else if (word(l, n, "USER")) {
        e->caps |= C_USER;
    } else if (word(l, n, "PIPELINING")) {
        e->caps |= C_PIPE;
    } else if (word(l, n, "SASL")) {
        e->sasl = (uint8_t)(e->sasl | biff_sasl_mech_mask(l + 4, n - 4));
    }
}

static void after_capa(biff_pop3 *e)
{
    if (e->security == BIFF_POP3_SEC_STARTTLS && !(e->flags & F_TLS)) {
        if ((e->flags & F_CAPA) && !(e->caps & C_STLS)) {
            fail(e, BIFF_ERR_TLS, "server does not offer STLS", NULL, 0);
            return;
        }
        e->state = ST_STLS;
        emit(e, "STLS", NULL, NULL);
        return;
    }
    start_auth(e);
}

static void apop_digest(biff_pop3 *e, const char *l, size_t n)
{
    const char *lt = memchr(l, '<', n), *gt;
    if (!lt || !(gt = memchr(lt, '>', (size_t)(l + n - lt))) || !memchr(lt, '@', (size_t)(gt - lt))) {
        return;
    }
    unsigned char d[16];
    mbedtls_md5_context c;
    mbedtls_md5_init(&c);
    if ((mbedtls_md5_starts(&c) | mbedtls_md5_update(&c, (const unsigned char *)lt, (size_t)(gt - lt + 1)) |
         mbedtls_md5_update(&c, (const unsigned char *)e->secret, strlen(e->secret)) |
         mbedtls_md5_finish(&c, d)) == 0) {
        /* " <32 hex>": ready to follow the user name in the APOP command */
        e->apop[0] = ' ';
        for (int i = 0; i < 16; i++) {
            e->apop[1 + 2 * i] = hexd[d[i] >> 4];
            e->apop[2 + 2 * i] = hexd[d[i] & 15];
        }
    }
    mbedtls_md5_free(&c);
    mbedtls_platform_zeroize(d, sizeof d);
}

static const char token_rejected[] = "OAuth2 token rejected: ";

static void line(biff_pop3 *e, const char *l, size_t n)
{
    int ok = n >= 3 && memcmp(l, "+OK", 3) == 0 && (n == 3 || l[3] == ' ');
    int err = n >= 4 && memcmp(l, "-ERR", 4) == 0 && (n == 4 || l[4] == ' ');

    switch (e->state) {
    case ST_CAPA_BODY:
    case ST_UIDL_BODY:
        if (n == 1 && l[0] == '.') {
            if (e->state == ST_CAPA_BODY) {
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
        if (e->state == ST_CAPA_BODY) {
            capa_line(e, l, n);
        } else {
            uidl_entry(e, l, n);
        }
        return;
    case ST_AUTH:
        if (!(e->flags & F_CONT) && n >= 1 && l[0] == '+' && (n == 1 || l[1] == ' ')) {
            /* A challenge after our initial response carries the OAuth error JSON (RFC 7628 3.2.2):
             * keep it for the detail, and answer so the server can finish with -ERR. */
            char *d = e->res.detail + sizeof token_rejected - 1;
            size_t k = 0, cap = sizeof e->res.detail - sizeof token_rejected + 1;
            e->flags |= F_CONT;
            memcpy(e->res.detail, token_rejected, sizeof token_rejected);
            if (e->mech != BIFF_POP3_AUTH_PLAIN && n > 2 && biff_sasl_b64_decode(l + 2, n - 2, d, cap, &k) == BIFF_SASL_OK) {
                for (size_t i = 0; i < k; i++) {
                    if (d[i] < 0x20 || d[i] > 0x7e) {
                        d[i] = '?';
                    }
                }
            } else {
                *d = '\0';
            }
            emit(e, e->mech == BIFF_POP3_AUTH_OAUTHBEARER ? "AQ==" : (e->mech == BIFF_POP3_AUTH_PLAIN ? "*" : ""),
                 NULL, NULL);
            return;
        }
        break;
    default:
        break;
    }

    if (!ok && !err) {
        fail(e, BIFF_ERR_PROTOCOL, "unexpected server reply", l, n);
        return;
    }
    switch (e->state) {
    case ST_GREET:
        if (err) {
            fail(e, BIFF_ERR_SERVER_ERROR, "server greeting refused the session", l, n);
            return;
        }
        if (e->cfg_auth == BIFF_POP3_AUTH_AUTO || e->cfg_auth == BIFF_POP3_AUTH_APOP) {
            apop_digest(e, l, n);
        }
        e->state = ST_CAPA;
        emit(e, "CAPA", NULL, NULL);
        return;
    case ST_CAPA:
        e->caps = 0;
        e->sasl = 0;
        if (ok) {
            e->flags |= F_CAPA;
            e->state = ST_CAPA_BODY;
        } else {
            /* RFC 1939-only server: no capabilities known, try what the config asks for. */
            e->flags &= (uint8_t)~F_CAPA;
            after_capa(e);
        }
        return;
    case ST_STLS:
        if (err) {
            fail(e, BIFF_ERR_TLS, "STLS refused", l, n);
            return;
        }
        e->state = ST_TLSWAIT;
        return;
    case ST_USER:
        if (err) {
            auth_refused(e, l, n);
            return;
        }
        e->state = ST_PASS;
        if (!(e->caps & C_PIPE)) {
            emit(e, "PASS ", e->secret, NULL);
        }
        return;
    case ST_PASS:
    case ST_APOP:
    case ST_AUTH:
        if (err) {
            if ((e->flags & F_CONT) && e->mech != BIFF_POP3_AUTH_PLAIN) {
                /* The detail already holds the decoded OAuth error (RFC 7628 3.2.2). */
                mbedtls_platform_zeroize(e->out, e->out_cap);
                e->out_len = e->out_sent = 0;
                e->res.error = BIFF_ERR_AUTH_FAILED;
                e->state = ST_ERROR;
                return;
            }
            auth_refused(e, l, n);
            return;
        }
        e->res.detail[0] = '\0';
        after_auth(e);
        return;
    case ST_STAT: {
        const char *p = l + 3, *end = l + n;
        uint32_t m = 0, o = 0;
        if (err) {
            fail(e, BIFF_ERR_SERVER_ERROR, "STAT failed", l, n);
            return;
        }
        while (p < end && *p == ' ') {
            p++;
        }
        p = parse_u32(p, end, &m);
        if (!p || p == end || *p != ' ' || !parse_u32(p + 1, end, &o) || m == UINT32_MAX) {
            fail(e, BIFF_ERR_PROTOCOL, "malformed STAT reply", l, n);
            return;
        }
        e->res.messages = m;
        e->res.octets = o;
        e->res.have_stat = 1;
        after_stat(e);
        return;
    }
    case ST_UIDL:
        if (ok) {
            e->state = ST_UIDL_BODY;
        } else {
            /* No UIDL on this server: the count from STAT still stands. */
            to_quit(e);
        }
        return;
    case ST_QUIT:
        e->state = ST_DONE;
        return;
    default:
        return;
    }
}

biff_pop3_status biff_pop3_init(biff_pop3 *e, const biff_pop3_config *cfg, void *work, size_t cap)
{
    size_t ml;
    if (!e || !cfg || !work || !cfg->user || !cfg->secret) {
        return BIFF_POP3_E_ARG;
    }
    ml = cfg->max_line ? cfg->max_line : 512u;
    if (cap > 65535u || ml < 16u || cap < ml + 64u || cfg->security > BIFF_POP3_SEC_NONE ||
        cfg->auth > BIFF_POP3_AUTH_OAUTHBEARER || strpbrk(cfg->user, "\r\n") || strpbrk(cfg->secret, "\r\n")) {
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
    e->line = work;
    e->line_cap = (uint16_t)(ml - 1); /* the LF is never stored */
    e->out = (char *)work + ml;
    e->out_cap = (uint16_t)(cap - ml);
    if (cfg->security == BIFF_POP3_SEC_TLS) {
        e->flags = F_TLS;
    }
    e->state = ST_GREET;
    return BIFF_POP3_OK;
}

static biff_pop3_status status_of(const biff_pop3 *e)
{
    return e->state == ST_DONE    ? BIFF_POP3_DONE
           : e->state == ST_ERROR ? BIFF_POP3_ERROR
           : e->state == ST_TLSWAIT ? BIFF_POP3_STLS
                                    : BIFF_POP3_OK;
}

biff_pop3_status biff_pop3_feed(biff_pop3 *e, const void *data, size_t len, size_t *consumed)
{
    const char *d = data;
    size_t i = 0;
    if (consumed) {
        *consumed = 0;
    }
    if (!e || (!data && len)) {
        return BIFF_POP3_E_ARG;
    }
    while (i < len && e->state < ST_DONE) {
        char c;
        if (e->state == ST_TLSWAIT) {
            i = len; /* plaintext that arrived after +OK to STLS: never read it */
            break;
        }
        c = d[i++];
        if (c == '\n') {
            size_t n = e->line_len;
            int skip = (e->flags & F_SKIP) != 0;
            if (n && e->line[n - 1] == '\r') {
                n--;
            }
            e->line_len = 0;
            e->flags &= (uint8_t)~F_SKIP;
            if (!skip) {
                line(e, e->line, n);
            }
            if (e->state == ST_TLSWAIT) {
                i = len;
            }
        } else if (e->flags & F_SKIP) {
            continue;
        } else if (e->line_len < e->line_cap) {
            e->line[e->line_len++] = c;
        } else if (e->state == ST_CAPA_BODY) {
            e->flags |= F_SKIP; /* an over-long capability is one we would not use */
        } else {
            fail(e, BIFF_ERR_PROTOCOL, "server line longer than ", NULL, 0);
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
    if (!e || !ptr) {
        return 0;
    }
    *ptr = (const uint8_t *)e->out + e->out_sent;
    return (size_t)(e->out_len - e->out_sent);
}

void biff_pop3_output_done(biff_pop3 *e, size_t n)
{
    if (!e) {
        return;
    }
    if (n > (size_t)(e->out_len - e->out_sent)) {
        n = (size_t)(e->out_len - e->out_sent);
    }
    e->out_sent = (uint16_t)(e->out_sent + n);
    if (e->out_sent == e->out_len) {
        mbedtls_platform_zeroize(e->out, e->out_len);
        e->out_sent = e->out_len = 0;
    }
}

biff_pop3_status biff_pop3_tls_started(biff_pop3 *e)
{
    if (!e || e->state != ST_TLSWAIT) {
        return BIFF_POP3_E_ARG;
    }
    e->flags |= F_TLS;
    e->line_len = 0;
    e->state = ST_CAPA; /* RFC 2595: capabilities learnt in plaintext are forgotten */
    emit(e, "CAPA", NULL, NULL);
    return status_of(e);
}

biff_pop3_status biff_pop3_eof(biff_pop3 *e)
{
    static const char *const phase[] = {"greeting", "CAPA", "CAPA", "STLS", "STLS", "login", "login",
                                        "login",    "login", "STAT", "UIDL", "UIDL", "QUIT"};
    if (!e) {
        return BIFF_POP3_E_ARG;
    }
    if (e->state == ST_QUIT) {
        e->state = ST_DONE; /* everything asked for has arrived; some servers close before +OK */
    } else if (e->state < ST_DONE) {
        unsigned st = e->state;
        fail(e, BIFF_ERR_NETWORK, "server closed the connection during ", NULL, 0);
        dstr(&e->res, phase[st]);
        if (st == ST_UIDL_BODY || st == ST_CAPA_BODY) {
            dstr(&e->res, " (incomplete multi-line reply, no final \".\")");
        }
    }
    return status_of(e);
}

const biff_pop3_result *biff_pop3_get_result(const biff_pop3 *e)
{
    return &e->res;
}

void biff_pop3_clear(biff_pop3 *e)
{
    if (!e) {
        return;
    }
    if (e->line) {
        mbedtls_platform_zeroize(e->line, (size_t)e->line_cap + 1u + e->out_cap);
    }
    mbedtls_platform_zeroize(e, sizeof *e);
}

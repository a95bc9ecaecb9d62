/* IMAP client engine: response scanner (lines + literals), reply handlers, command writer. */
#include "biff/imap.h"

#include <string.h>

#include "biff/sasl.h"
#include "mbedtls/platform_util.h"
#include "mutf7.h"

enum { P_GREETING, P_PRE, P_TLSWAIT, P_SESSION, P_CLOSED, P_FAILED };

enum {
    TX_NONE,
    TX_CAPA,
    TX_STARTTLS,
    TX_AUTH,
    TX_AUTH_DATA,
    TX_ENABLE,
    TX_STATUS,
    TX_EXAMINE,
    TX_IDLE,
    TX_DONE,
    TX_NOOP,
    TX_LOGOUT
};

/* Tags are "b" + one letter per command (+ folder digit for STATUS); the letter's position in
 * this string is its bit in `inflight`, so a reply to a command never sent is caught. */
static const char tag_kinds[] = "CTAEXINQ";
enum { K_CAPA, K_STARTTLS, K_AUTH, K_ENABLE, K_EXAMINE, K_IDLE, K_NOOP, K_LOGOUT };

enum {
    F_SECURE = 1u << 0,   /* TLS is on (implicit or after STARTTLS) */
    F_AUTHED = 1u << 1,   /* authenticated, or LOGIN pipelined ahead of commands */
    F_UTF8 = 1u << 2,     /* ENABLE UTF8=ACCEPT sent: mailbox names go out as UTF-8 */
    F_SELECTED = 1u << 3, /* EXAMINE done: untagged EXISTS etc. concern folders[0] */
    F_IDLE_SENT = 1u << 4,
    F_IDLING = 1u << 5,   /* server confirmed IDLE with "+" */
    F_DIRTY = 1u << 6,    /* folders[0] changed since its last STATUS */
    F_CHECKING = 1u << 7, /* a STATUS round is running */
    F_REQ_CHECK = 1u << 8,
    F_REQ_LOGOUT = 1u << 9,
    F_REQ_NOOP = 1u << 10,
    F_LOGOUT = 1u << 11,    /* LOGOUT sent */
    F_OVF = 1u << 12,       /* command did not fit in out */
    F_REQ_CAPA = 1u << 13,  /* ask for the capabilities the login did not report */
    F_NOT_TOKEN = 1u << 14, /* the OAuth error report blames something a new token cannot fix */
    F_CHECKED = 1u << 15,   /* every folder answered at least once: results are complete */
};

/* Capability bits: position in cap_names (1-based). */
enum {
    C_KNOWN = 1u << 0,
    C_STARTTLS = 1u << 1,
    C_LOGINDISABLED = 1u << 2,
    C_SASLIR = 1u << 3,
    C_LITPLUS = 1u << 4,
    C_LITMINUS = 1u << 5,
    C_PLAIN = 1u << 6,
    C_XOAUTH2 = 1u << 7,
    C_OAUTHBEARER = 1u << 8,
    C_IDLE = 1u << 9,
    C_CONDSTORE = 1u << 10,
    C_ENABLE = 1u << 11,
    C_UTF8 = 1u << 12
};
/* Word lists for kw(): NUL-separated, ended by an empty word. */
static const char cap_names[] = "STARTTLS\0LOGINDISABLED\0SASL-IR\0LITERAL+\0LITERAL-\0"
                                "AUTH=PLAIN\0AUTH=XOAUTH2\0AUTH=OAUTHBEARER\0IDLE\0CONDSTORE\0"
                                "ENABLE\0UTF8=ACCEPT\0";

/* AUTHENTICATE / LOGIN progress. */
enum { AS_NONE, AS_WAIT_IR, AS_SENT_IR, AS_PIPE, AS_DUMMY, AS_LIT0, AS_LIT1 };

/* "{N}" tracker states; bit 7 marks a length past 32 bits. */
enum { LS_NONE, LS_DIGIT0, LS_DIGITS, LS_PLUS, LS_CLOSE, LS_CR, LS_TOOBIG = 0x80 };

enum { CODE_OTHER, CODE_ALERT, CODE_UNAVAILABLE, CODE_PRIVACY, CODE_CAPABILITY, CODE_NONE };
enum { R_OTHER, R_OK, R_NO, R_BAD, R_BYE, R_PREAUTH };

typedef struct {
    uint8_t *p, *end;
} cur;

/* ---------- small helpers ---------- */

static uint8_t upc(uint8_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

/* Case-insensitive equality of a token with a NUL-terminated upper-case word. */
static int tok_is(const uint8_t *s, size_t n, const char *w)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!w[i] || upc(s[i]) != (uint8_t)w[i]) return 0;
    return w[n] == 0;
}

/* 1-based index of the token in a kw list, 0 if absent. */
static unsigned kw(const uint8_t *s, size_t n, const char *list)
{
    unsigned i;
    for (i = 1; *list; i++, list += strlen(list) + 1)
        if (tok_is(s, n, list)) return i;
    return 0;
}

/* Case-insensitive search for a lower-case needle in server text. */
static int ci_find(const uint8_t *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i, j;
    for (i = 0; i + k <= n; i++) {
        for (j = 0; j < k && (s[i + j] | 0x20) == (uint8_t)needle[j]; j++) {
        }
        if (j == k) return 1;
    }
    return 0;
}

/* Position of a tag letter in tag_kinds, 8 if none (newlib's strchr costs 200 bytes). */
static unsigned tag_kind(uint8_t ch)
{
    unsigned i = 0;
    while (i < 8 && (uint8_t)tag_kinds[i] != ch) i++;
    return i;
}

static void skip_sp(cur *c)
{
    while (c->p < c->end && *c->p == ' ') c->p++;
}

/* Atom-ish token: up to SP, parenthesis, bracket or end. */
static size_t atom(cur *c, const uint8_t **s)
{
    uint8_t *b = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '(' && *c->p != ')' && *c->p != '[' && *c->p != ']') c->p++;
    *s = b;
    return (size_t)(c->p - b);
}

/* Number of at most `max`; 0 on syntax error or overflow. */
static int number(cur *c, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    uint8_t *b = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        uint64_t d = (uint64_t)(*c->p++ - '0');
        /* Bound before the multiply: x*10+d can wrap 64 bits and come back small. */
        if (x > (max - d) / 10) return 0;
        x = x * 10 + d;
    }
    *v = x;
    return c->p != b;
}

/*
 * String value: quoted (unescaped in place), literal ("{N}" then '\n' and the N bytes, as the
 * scanner stored it), or atom. Returns 1, 0 on syntax error, -1 for a literal too big to keep.
 */
static int string(cur *c, const uint8_t **s, size_t *n)
{
    uint64_t len;
    if (c->p >= c->end) return 0;
    if (*c->p == '"') {
        uint8_t *r = ++c->p, *w = r;
        *s = r;
        while (r < c->end && *r != '"') {
            if (*r == '\\' && ++r >= c->end) return 0;
            *w++ = *r++;
        }
        if (r >= c->end) return 0;
        *n = (size_t)(w - *s);
        c->p = r + 1;
        return 1;
    }
    if (*c->p == '{') {
        c->p++;
        if (!number(c, 0xFFFFFFFFu, &len)) return 0;
        if (c->p < c->end && *c->p == '+') c->p++;
        if (c->end - c->p < 2 || c->p[0] != '}') return 0;
        if (c->p[1] == '\r') {
            c->p += 2;
            return -1;
        }
        if (c->p[1] != '\n' || (uint64_t)(c->end - c->p - 2) < len) return 0;
        *s = c->p + 2;
        *n = (size_t)len;
        c->p += 2 + len;
        return 1;
    }
    *n = atom(c, s);
    return *n != 0;
}

/* Skip one value (atom, string or list nested at most 8 deep). */
static int skip_value(cur *c)
{
    unsigned depth = 0;
    const uint8_t *s;
    size_t n;
    do {
        skip_sp(c);
        if (c->p >= c->end) return 0;
        if (*c->p == '(') {
            if (++depth > 8) return 0;
            c->p++;
            continue;
        }
        if (*c->p == ')') {
            if (!depth) return 0;
            depth--;
            c->p++;
            continue;
        }
        if (string(c, &s, &n) == 0 && c->p < c->end && *c->p != '"' && *c->p != '{') {
            c->p++; /* stray bracket: step over */
        }
    } while (depth);
    return 1;
}

/* ---------- output ---------- */

static void put(biff_imap *e, const void *s, size_t n)
{
    if (n > (size_t)(e->out_cap - e->out_len)) {
        e->flags |= F_OVF;
        return;
    }
    memcpy(e->out + e->out_len, s, n);
    e->out_len = (uint16_t)(e->out_len + n);
}

static void puts_(biff_imap *e, const char *s)
{
    put(e, s, strlen(s));
}

static void putc_(biff_imap *e, char ch)
{
    put(e, &ch, 1);
}

static void put_u(biff_imap *e, uint32_t v)
{
    char b[10];
    int i = 10;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(e, b + i, (size_t)(10 - i));
}

static void put_tag(biff_imap *e, unsigned kind, const char *cmd)
{
    putc_(e, 'b');
    putc_(e, tag_kinds[kind]);
    putc_(e, ' ');
    puts_(e, cmd);
}

static void put_quoted(biff_imap *e, const uint8_t *s, size_t n)
{
    putc_(e, '"');
    while (n--) {
        if (*s == '"' || *s == '\\') putc_(e, '\\');
        putc_(e, (char)*s++);
    }
    putc_(e, '"');
}

static void put_mailbox(biff_imap *e, const char *name)
{
    biff_mutf7 m;
    int ch;
    if (e->flags & F_UTF8) {
        put_quoted(e, (const uint8_t *)name, strlen(name));
        return;
    }
    putc_(e, '"');
    biff_mutf7_start(&m, name);
    while ((ch = biff_mutf7_next(&m)) >= 0) {
        if (ch == '"' || ch == '\\') putc_(e, '\\');
        putc_(e, (char)ch);
    }
    putc_(e, '"');
}

/* ---------- errors ---------- */

/* Copy printable ASCII; anything else shows as '?'. */
static void detail_add(biff_imap *e, const char *s, size_t n)
{
    size_t d = strlen(e->detail);
    while (n-- && d + 1 < sizeof(e->detail)) {
        uint8_t ch = (uint8_t)*s++;
        e->detail[d++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
    }
    e->detail[d] = 0;
}

/* msg, then the server's text unless it gives the secret away (judged on its raw bytes). */
static void set_detail(biff_imap *e, const char *msg, const uint8_t *text, size_t n)
{
    const biff_imap_config *c = e->cfg;
    e->detail[0] = 0;
    detail_add(e, msg, strlen(msg));
    if (text && biff_sasl_leaks_secret((const char *)text, n, c->user, c->secret))
        detail_add(e, BIFF_SASL_WITHHELD, sizeof BIFF_SASL_WITHHELD - 1);
    else if (text)
        detail_add(e, (const char *)text, n);
}

static biff_imap_status fail(biff_imap *e, biff_error_class cls, const char *msg, const uint8_t *text, size_t n)
{
    set_detail(e, msg, text, n);
    e->err = (uint8_t)cls;
    e->phase = P_FAILED;
    e->tx = TX_NONE;
    memset(e->out, 0, e->out_cap); /* queued commands may hold credentials */
    e->out_len = 0;
    return BIFF_IMAP_E_FAILED;
}

static const char msg_basic_off[] = "provider needs OAuth2 or an app password: ";
static const char msg_needs_tls[] = "login needs TLS: ";

static biff_imap_status proto_err(biff_imap *e, const char *msg)
{
    return fail(e, BIFF_ERR_PROTOCOL, msg, NULL, 0);
}

/* ---------- command writer ---------- */

static biff_sasl_mech sasl_mech(uint8_t m)
{
    return m == BIFF_IMAP_AUTH_XOAUTH2       ? BIFF_SASL_XOAUTH2
           : m == BIFF_IMAP_AUTH_OAUTHBEARER ? BIFF_SASL_OAUTHBEARER
                                             : BIFF_SASL_PLAIN;
}

static void put_ir(biff_imap *e)
{
    const biff_imap_config *cfg = e->cfg;
    size_t room = (size_t)(e->out_cap - e->out_len), n = 0;
    if (room < 3 ||
        biff_sasl_initial_response(sasl_mech(e->mech), cfg->user, cfg->secret, cfg->host ? cfg->host : "", cfg->port,
                                   (char *)e->out + e->out_len, room - 2, &n) != BIFF_SASL_OK ||
        n + 3 > room) {
        e->flags |= F_OVF;
        return;
    }
    e->out_len = (uint16_t)(e->out_len + n);
    puts_(e, "\r\n");
}

static int needs_literal(const char *s)
{
    for (; *s; s++)
        if ((uint8_t)*s < 0x20 || (uint8_t)*s >= 0x7F) return 1;
    return 0;
}

/* LOGIN arguments from argument k on (body: the literal's bytes for k are due). Returns the
 * auth step to wait in: AS_PIPE when the whole command is out, AS_LITk at a sync literal. */
static uint8_t put_login(biff_imap *e, unsigned k, int body)
{
    for (; k < 2; k++) {
        const char *s = k ? e->cfg->secret : e->cfg->user;
        size_t n = strlen(s);
        if (body) {
            put(e, s, n);
            body = 0;
        } else if (!needs_literal(s)) {
            put_quoted(e, (const uint8_t *)s, n);
        } else {
            int nonsync = (e->caps & C_LITPLUS) || ((e->caps & C_LITMINUS) && n <= 4096);
            putc_(e, '{');
            put_u(e, (uint32_t)n);
            puts_(e, nonsync ? "+}\r\n" : "}\r\n");
            if (!nonsync) return (uint8_t)(AS_LIT0 + k);
            put(e, s, n);
        }
        puts_(e, k ? "\r\n" : " ");
    }
    return AS_PIPE;
}

/* Commands without arguments, by TX_*. */
static const char *const fixed_cmd[] = {
    [TX_CAPA] = "bC CAPABILITY\r\n",
    [TX_STARTTLS] = "bT STARTTLS\r\n",
    [TX_ENABLE] = "bE ENABLE UTF8=ACCEPT\r\n",
    [TX_IDLE] = "bI IDLE\r\n",
    [TX_DONE] = "DONE\r\n",
    [TX_NOOP] = "bN NOOP\r\n",
    [TX_LOGOUT] = "bQ LOGOUT\r\n",
};

/* Writes the command for e->tx; returns the next tx. State changes only if it all fit. */
static uint8_t render(biff_imap *e)
{
    const biff_imap_config *cfg = e->cfg;
    uint8_t next = TX_NONE, step = e->auth_step;
    uint16_t set = 0, clr = 0;
    int kind = -1;

    if (e->tx < sizeof(fixed_cmd) / sizeof(fixed_cmd[0]) && fixed_cmd[e->tx]) {
        const char *fx = fixed_cmd[e->tx];
        puts_(e, fx);
        if (fx[0] == 'b') kind = (int)tag_kind((uint8_t)fx[1]);
        if (e->tx == TX_ENABLE) {
            set = F_UTF8;
            next = TX_STATUS;
        } else if (e->tx == TX_IDLE) {
            set = F_IDLE_SENT;
        } else if (e->tx == TX_DONE) {
            clr = F_IDLE_SENT | F_IDLING;
        } else if (e->tx == TX_LOGOUT) {
            set = F_LOGOUT;
        }
    } else if (e->tx == TX_AUTH) {
        kind = K_AUTH;
        if (e->mech == BIFF_IMAP_AUTH_LOGIN) {
            put_tag(e, K_AUTH, "LOGIN ");
            step = put_login(e, 0, 0);
        } else {
            put_tag(e, K_AUTH, "AUTHENTICATE ");
            puts_(e, biff_sasl_mech_name(sasl_mech(e->mech)));
            if (e->caps & C_SASLIR) {
                putc_(e, ' ');
                put_ir(e);
                step = e->mech == BIFF_IMAP_AUTH_PLAIN ? AS_PIPE : AS_SENT_IR;
            } else {
                puts_(e, "\r\n");
                step = AS_WAIT_IR;
            }
        }
    } else if (e->tx == TX_AUTH_DATA) {
        if (step == AS_WAIT_IR) {
            put_ir(e);
            step = e->mech == BIFF_IMAP_AUTH_PLAIN ? AS_PIPE : AS_SENT_IR;
        } else if (step == AS_SENT_IR) {
            /* A challenge after the token is an error report: RFC 7628 3.2.3 / XOAUTH2 want a
             * dummy reply, then the server sends the tagged NO. */
            puts_(e, e->mech == BIFF_IMAP_AUTH_XOAUTH2       ? "\r\n"
                     : e->mech == BIFF_IMAP_AUTH_OAUTHBEARER ? "AQ==\r\n"
                                                             : "*\r\n");
            step = AS_DUMMY;
        } else {
            step = put_login(e, (unsigned)(step - AS_LIT0), 1);
        }
    } else if (e->tx == TX_STATUS) {
        putc_(e, 'b');
        putc_(e, 'S');
        putc_(e, (char)('0' + e->tx_idx));
        puts_(e, " STATUS ");
        put_mailbox(e, cfg->folders[e->tx_idx]);
        puts_(e, " (MESSAGES UNSEEN UIDNEXT UIDVALIDITY");
        puts_(e, (e->caps & C_CONDSTORE) ? " HIGHESTMODSEQ)\r\n" : ")\r\n");
        if (e->tx_idx + 1 < cfg->n_folders)
            next = TX_STATUS;
        else if (!cfg->idle)
            next = TX_LOGOUT;
    } else { /* TX_EXAMINE */
        put_tag(e, kind = K_EXAMINE, "EXAMINE ");
        put_mailbox(e, cfg->folders[0]);
        puts_(e, "\r\n");
    }
    if (e->flags & F_OVF) return e->tx;
    if (kind >= 0) e->inflight |= (uint8_t)(1u << kind);
    if (e->tx == TX_AUTH || e->tx == TX_AUTH_DATA) {
        e->auth_step = step;
        /* Only LOGIN has commands pipelined behind it. Cyrus (3.6 and later) re-reads its input
         * from the AUTHENTICATE line after a successful SASL exchange and loses what follows;
         * waiting for the tagged OK also brings the post-login capabilities (CONDSTORE). */
        if (step == AS_PIPE && e->mech == BIFF_IMAP_AUTH_LOGIN) set |= F_AUTHED;
    }
    if (e->tx == TX_STATUS) e->tx_idx++;
    if (next == TX_STATUS && e->tx != TX_STATUS) e->tx_idx = 0;
    e->flags = (uint16_t)((e->flags | set) & ~clr);
    return next;
}

/* Picks the next command when nothing is queued: caller requests, then IDLE. */
static void plan(biff_imap *e)
{
    uint16_t f = e->flags;
    if (e->phase != P_SESSION || !(f & F_AUTHED) || (f & F_LOGOUT)) return;
    if (f & F_IDLE_SENT) {
        /* DONE only after the server's "+": RFC 2177 */
        if ((f & F_IDLING) && (f & (F_REQ_CHECK | F_REQ_LOGOUT))) e->tx = TX_DONE;
        return;
    }
    if (f & F_REQ_CAPA) {
        e->flags &= (uint16_t)~F_REQ_CAPA;
        if (!(f & F_REQ_LOGOUT)) {
            e->tx = TX_CAPA;
            return;
        }
    }
    if (f & F_REQ_LOGOUT) {
        e->tx = TX_LOGOUT;
    } else if (f & F_REQ_CHECK) {
        memset(e->folder, 0, sizeof(e->folder));
        e->n_done = 0;
        e->flags |= F_CHECKING;
        e->tx_idx = 0;
        e->tx = ((e->caps & (C_UTF8 | C_ENABLE)) == (C_UTF8 | C_ENABLE) && !(f & F_UTF8)) ? TX_ENABLE : TX_STATUS;
    } else if (f & F_REQ_NOOP) {
        e->tx = TX_NOOP;
    } else if (e->cfg->idle && (e->caps & C_IDLE) && !e->inflight && !(f & F_CHECKING)) {
        e->tx = (f & F_SELECTED) ? TX_IDLE : TX_EXAMINE;
    }
    e->flags &= (uint16_t) ~(F_REQ_CHECK | F_REQ_LOGOUT | F_REQ_NOOP);
}

static void fill(biff_imap *e)
{
    for (;;) {
        uint16_t mark = e->out_len;
        if (e->tx == TX_NONE) plan(e);
        if (e->tx == TX_NONE || e->phase == P_FAILED) return;
        e->tx = render(e);
        if (e->flags & F_OVF) {
            e->flags &= (uint16_t)~F_OVF;
            memset(e->out + mark, 0, (size_t)(e->out_cap - mark));
            e->out_len = mark;
            if (!mark) /* alone in an empty buffer and still too long */
                fail(e, BIFF_ERR_CONFIG, "output buffer too small", NULL, 0);
            return;
        }
    }
}

/* ---------- reply handlers ---------- */

static void parse_caps(biff_imap *e, cur *c)
{
    const uint8_t *s;
    size_t n;
    uint16_t caps = C_KNOWN;
    for (;;) {
        skip_sp(c);
        if (c->p >= c->end || *c->p == ']') break;
        n = atom(c, &s);
        if (!n) {
            c->p++;
            continue;
        }
        if (c->p == c->end && e->line_trunc) break; /* cut off by the line bound */
        caps |= (uint16_t)(1u << kw(s, n, cap_names));
    }
    e->caps = caps;
}

/* resp-text: optional [code ...] then text. Returns CODE_*; CAPABILITY codes update caps. */
static uint8_t resp_text(biff_imap *e, cur *c, const uint8_t **text, size_t *tlen)
{
    uint8_t code = CODE_NONE;
    const uint8_t *s;
    size_t n;
    skip_sp(c);
    if (c->p < c->end && *c->p == '[') {
        c->p++;
        n = atom(c, &s);
        code = (uint8_t)kw(s, n, "ALERT\0UNAVAILABLE\0PRIVACYREQUIRED\0CAPABILITY\0");
        if (code == CODE_CAPABILITY) parse_caps(e, c);
        while (c->p < c->end && *c->p++ != ']') {
        }
        skip_sp(c);
    }
    *text = c->p;
    *tlen = (size_t)(c->end - c->p);
    return code;
}

static uint8_t cond_word(const uint8_t *s, size_t n)
{
    return (uint8_t)kw(s, n, "OK\0NO\0BAD\0BYE\0PREAUTH\0");
}

/* Capabilities are known: STARTTLS first if wanted, else authenticate. */
static biff_imap_status proceed(biff_imap *e)
{
    const biff_imap_config *cfg = e->cfg;
    uint8_t m = cfg->auth;
    uint16_t need;

    if (e->phase == P_SESSION) { /* PREAUTH */
        e->flags |= F_REQ_CHECK;
        return BIFF_IMAP_OK;
    }
    if (!(e->flags & F_SECURE) && cfg->security == BIFF_IMAP_SEC_STARTTLS) {
        if (!(e->caps & C_STARTTLS)) return fail(e, BIFF_ERR_TLS, "server lacks STARTTLS", NULL, 0);
        e->tx = TX_STARTTLS;
        return BIFF_IMAP_OK;
    }
    if (!(e->flags & F_SECURE) && cfg->security != BIFF_IMAP_SEC_NONE)
        return fail(e, BIFF_ERR_TLS, "TLS required", NULL, 0);
    if (m == BIFF_IMAP_AUTH_AUTO) m = (e->caps & C_PLAIN) ? BIFF_IMAP_AUTH_PLAIN : BIFF_IMAP_AUTH_LOGIN;
    if (m == BIFF_IMAP_AUTH_OAUTH) m = (e->caps & C_OAUTHBEARER) ? BIFF_IMAP_AUTH_OAUTHBEARER : BIFF_IMAP_AUTH_XOAUTH2;
    if (m == BIFF_IMAP_AUTH_LOGIN) {
        if (e->caps & C_LOGINDISABLED)
            return fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, (e->flags & F_SECURE) ? msg_basic_off : msg_needs_tls,
                        (const uint8_t *)"LOGINDISABLED", 13);
    } else {
        need = m == BIFF_IMAP_AUTH_PLAIN ? C_PLAIN : m == BIFF_IMAP_AUTH_XOAUTH2 ? C_XOAUTH2 : C_OAUTHBEARER;
        if (!(e->caps & need)) {
            const char *name = biff_sasl_mech_name(sasl_mech(m));
            return fail(e, BIFF_ERR_AUTH_METHOD_UNAVAILABLE, "server lacks AUTH=", (const uint8_t *)name, strlen(name));
        }
    }
    e->mech = m;
    e->phase = P_SESSION;
    e->tx = TX_AUTH;
    e->flags |= F_REQ_CHECK;
    return BIFF_IMAP_OK;
}

static biff_imap_status auth_failed(biff_imap *e, uint8_t code, const uint8_t *t, size_t n)
{
    biff_error_class cls = BIFF_ERR_AUTH_FAILED;
    const char *msg = "";
    /* provider wording for "passwords are off here" (Gmail, Microsoft, Yahoo) */
    const char *k = "app password\0application-specific\0web login\0web browser\0"
                    "basic auth\0basicauth\0oauth\0";
    if (code == CODE_UNAVAILABLE) {
        cls = BIFF_ERR_SERVER_ERROR;
    } else if (code == CODE_PRIVACY) {
        cls = BIFF_ERR_AUTH_METHOD_UNAVAILABLE;
        msg = msg_needs_tls;
    } else if (e->mech <= BIFF_IMAP_AUTH_LOGIN) {
        for (; *k; k += strlen(k) + 1)
            if (ci_find(t, n, k)) {
                cls = BIFF_ERR_AUTH_METHOD_UNAVAILABLE;
                msg = msg_basic_off;
            }
    }
    return fail(e, cls, msg, t, n);
}

/* Does folder i's name equal the mailbox name s/n from a reply? */
static int folder_is(const biff_imap *e, unsigned i, const uint8_t *s, size_t n)
{
    const char *name = e->cfg->folders[i];
    biff_mutf7 m;
    size_t k = 0;
    int ch;
    if (tok_is(s, n, "INBOX") && tok_is((const uint8_t *)name, strlen(name), "INBOX")) return 1;
    if (e->flags & F_UTF8) return strlen(name) == n && !memcmp(name, s, n);
    biff_mutf7_start(&m, name);
    while ((ch = biff_mutf7_next(&m)) >= 0)
        if (k >= n || s[k++] != ch) return 0;
    return k == n;
}

static biff_imap_status on_status(biff_imap *e, cur *c)
{
    const uint8_t *s;
    size_t n;
    unsigned i;
    int r;
    biff_imap_folder_result *f;

    skip_sp(c);
    r = string(c, &s, &n);
    if (!r) return proto_err(e, "bad STATUS reply");
    for (i = 0; r > 0 && i < e->cfg->n_folders; i++)
        if (folder_is(e, i, s, n)) break;
    if (r < 0 || i >= e->cfg->n_folders) return BIFF_IMAP_OK; /* not ours */
    f = &e->folder[i];
    skip_sp(c);
    if (c->p >= c->end || *c->p++ != '(') return proto_err(e, "bad STATUS reply");
    for (;;) {
        uint64_t v, max = 0xFFFFFFFFu;
        uint8_t bit = 0;
        skip_sp(c);
        if (c->p < c->end && *c->p == ')') break;
        n = atom(c, &s);
        if (!n) return proto_err(e, "bad STATUS reply");
        /* list order = BIFF_IMAP_HAVE_* bit order */
        bit = (uint8_t)((1u << kw(s, n,
                                  "MESSAGES\0UNSEEN\0UIDNEXT\0UIDVALIDITY\0"
                                  "HIGHESTMODSEQ\0")) >>
                        1);
        skip_sp(c);
        if (!bit) {
            if (!skip_value(c)) return proto_err(e, "bad STATUS reply");
            continue;
        }
        if (bit == BIFF_IMAP_HAVE_HIGHESTMODSEQ) max = 0x7FFFFFFFFFFFFFFFull; /* RFC 7162 mod-sequence-value */
        if (!number(c, max, &v)) return proto_err(e, "bad number");
        f->have |= bit;
        if (bit == BIFF_IMAP_HAVE_MESSAGES)
            f->messages = (uint32_t)v;
        else if (bit == BIFF_IMAP_HAVE_UNSEEN)
            f->unseen = (uint32_t)v;
        else if (bit == BIFF_IMAP_HAVE_UIDNEXT)
            f->uidnext = (uint32_t)v;
        else if (bit == BIFF_IMAP_HAVE_UIDVALIDITY)
            f->uidvalidity = (uint32_t)v;
        else
            f->highestmodseq = v;
    }
    if (i == 0) e->flags &= (uint16_t)~F_DIRTY;
    return BIFF_IMAP_OK;
}

static biff_imap_status on_untagged(biff_imap *e, cur *c)
{
    const uint8_t *s, *t;
    size_t n, tn;
    uint64_t num;
    uint8_t w, code;

    if (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (!number(c, 0xFFFFFFFFu, &num)) return proto_err(e, "bad number");
        skip_sp(c);
        n = atom(c, &s);
        w = (uint8_t)kw(s, n, "EXISTS\0EXPUNGE\0FETCH\0");
        if (w > 1 || (w == 1 && (!(e->folder[0].have & BIFF_IMAP_HAVE_MESSAGES) || num != e->folder[0].messages))) {
            if (!(e->flags & F_SELECTED) && !(e->inflight & (1u << K_EXAMINE))) return BIFF_IMAP_OK;
            if ((e->flags & F_IDLING) && !(e->flags & (F_REQ_CHECK | F_REQ_LOGOUT)) && e->tx == TX_NONE)
                return BIFF_IMAP_EV_CHANGED;
            e->flags |= F_DIRTY;
        }
        return BIFF_IMAP_OK;
    }
    n = atom(c, &s);
    w = cond_word(s, n);
    if (w == R_OTHER) {
        if (e->phase == P_GREETING) return proto_err(e, "bad greeting");
        w = (uint8_t)kw(s, n, "CAPABILITY\0STATUS\0");
        if (w && e->line_trunc) return proto_err(e, "line too long");
        if (w == 1) parse_caps(e, c);
        if (w == 2) return on_status(e, c);
        return BIFF_IMAP_OK;
    }
    code = resp_text(e, c, &t, &tn);
    if (w == R_BYE) {
        if ((e->flags & (F_LOGOUT | F_CHECKING)) == F_LOGOUT)
            return BIFF_IMAP_OK; /* the answer to our LOGOUT, not a cut-short check */
        return fail(e, BIFF_ERR_SERVER_ERROR, "server closed: ", t, tn);
    }
    if (code == CODE_ALERT && !e->err) set_detail(e, "", t, tn);
    if (e->phase != P_GREETING) return BIFF_IMAP_OK;
    if (w == R_OK) {
        e->phase = P_PRE;
    } else if (w == R_PREAUTH) {
        if (!(e->flags & F_SECURE) && e->cfg->security == BIFF_IMAP_SEC_STARTTLS)
            return fail(e, BIFF_ERR_TLS, "PREAUTH before STARTTLS", NULL, 0);
        e->phase = P_SESSION;
        e->flags |= F_AUTHED;
    } else {
        return proto_err(e, "bad greeting");
    }
    if (!(e->caps & C_KNOWN)) {
        e->tx = TX_CAPA;
        return BIFF_IMAP_OK;
    }
    return proceed(e);
}

static biff_imap_status on_tagged(biff_imap *e, cur *c)
{
    const uint8_t *s, *t, *ws;
    size_t n, tn, wn;
    unsigned kind = 8, idx = 0;
    uint8_t w, code;

    n = atom(c, &s);
    if (n >= 2 && s[0] == 'b') kind = tag_kind(s[1]);
    if (n == 3 && s[0] == 'b' && s[1] == 'S' && s[2] >= '0' && s[2] <= '9')
        idx = (unsigned)(s[2] - '0');
    else if (kind > 7 || n != 2)
        return proto_err(e, "unexpected reply");
    skip_sp(c);
    wn = atom(c, &ws);
    w = cond_word(ws, wn);
    if (w == R_OTHER || w > R_BAD) return proto_err(e, "unexpected reply");
    code = resp_text(e, c, &t, &tn);

    if (n == 3) {
        biff_imap_folder_result *f;
        unsigned sent = e->tx == TX_STATUS ? e->tx_idx : e->tx == TX_ENABLE ? 0 : e->cfg->n_folders;
        if (idx >= sent || !(e->flags & F_CHECKING) || (f = &e->folder[idx])->state != BIFF_IMAP_FOLDER_PENDING)
            return proto_err(e, "unexpected reply");
        f->state = w != R_OK ? BIFF_IMAP_FOLDER_ERROR : f->have ? BIFF_IMAP_FOLDER_OK : BIFF_IMAP_FOLDER_NO_DATA;
        if (w != R_OK && !e->detail[0]) set_detail(e, "STATUS: ", t, tn);
        if (++e->n_done < e->cfg->n_folders) return BIFF_IMAP_OK;
        e->flags = (uint16_t)((e->flags & ~F_CHECKING) | F_CHECKED);
        return BIFF_IMAP_EV_CHECKED;
    }
    if (!(e->inflight & (1u << kind))) return proto_err(e, "unexpected reply");
    e->inflight &= (uint8_t) ~(1u << kind);
    switch (kind) {
    case K_CAPA:
        if (w != R_OK || !(e->caps & C_KNOWN)) return fail(e, BIFF_ERR_SERVER_ERROR, "CAPABILITY: ", t, tn);
        if (e->mech != BIFF_IMAP_AUTH_AUTO)
            return BIFF_IMAP_OK; /* after login: only refreshes caps (IDLE, CONDSTORE) */
        return proceed(e);
    case K_STARTTLS:
        if (w != R_OK) return fail(e, BIFF_ERR_TLS, "STARTTLS refused: ", t, tn);
        e->phase = P_TLSWAIT;
        return BIFF_IMAP_EV_STARTTLS;
    case K_AUTH:
        e->auth_step = AS_NONE;
        if (w != R_OK) return auth_failed(e, code, t, tn);
        e->flags |= F_AUTHED;
        /* Capabilities may grow at login (RFC 3501 6.2.2). Without a list in this reply, a
         * session that stays open asks for them, in the same flight as the check, to find IDLE. */
        if (code != CODE_CAPABILITY && e->cfg->idle) e->flags |= F_REQ_CAPA;
        return BIFF_IMAP_OK;
    case K_EXAMINE:
        if (w == R_OK)
            e->flags |= F_SELECTED;
        else
            e->caps &= (uint16_t)~C_IDLE; /* cannot watch it: stay a STATUS poller */
        return BIFF_IMAP_OK;
    case K_IDLE:
        if (e->flags & F_IDLE_SENT) { /* ended or refused without our DONE */
            e->flags &= (uint16_t) ~(F_IDLE_SENT | F_IDLING);
            e->caps &= (uint16_t)~C_IDLE;
        }
        return BIFF_IMAP_OK;
    case K_NOOP:
        if (e->flags & F_DIRTY) {
            e->flags &= (uint16_t)~F_DIRTY;
            return BIFF_IMAP_EV_CHANGED;
        }
        return BIFF_IMAP_OK;
    case K_LOGOUT: e->phase = P_CLOSED; return BIFF_IMAP_EV_CLOSED;
    default: /* ENABLE: names already went out as UTF-8 */ return BIFF_IMAP_OK;
    }
}

static biff_imap_status on_continuation(biff_imap *e)
{
    uint8_t st = e->auth_step;
    if ((e->inflight & (1u << K_AUTH)) && e->tx == TX_NONE &&
        (st == AS_WAIT_IR || st == AS_SENT_IR || st == AS_LIT0 || st == AS_LIT1)) {
        if (st == AS_SENT_IR && e->mech >= BIFF_IMAP_AUTH_XOAUTH2 && e->line_len > 2 &&
            !biff_sasl_oauth_token_refused((const char *)e->work + 2, e->line_len - 2u))
            e->flags |= F_NOT_TOKEN;
        e->tx = TX_AUTH_DATA;
        return BIFF_IMAP_OK;
    }
    if ((e->flags & F_IDLE_SENT) && !(e->flags & F_IDLING)) {
        e->flags |= F_IDLING;
        if ((e->flags & F_DIRTY) && !(e->flags & (F_REQ_CHECK | F_REQ_LOGOUT))) {
            e->flags &= (uint16_t)~F_DIRTY;
            return BIFF_IMAP_EV_CHANGED;
        }
        return BIFF_IMAP_EV_IDLING;
    }
    return proto_err(e, "unexpected reply");
}

static biff_imap_status on_line(biff_imap *e)
{
    cur c;
    c.p = e->work;
    c.end = e->work + e->line_len;
    if (c.end - c.p >= 2 && c.p[0] == '*' && c.p[1] == ' ') {
        c.p += 2;
        return on_untagged(e, &c);
    }
    if (e->phase == P_GREETING) return proto_err(e, "bad greeting");
    if (c.p < c.end && *c.p == '+') return on_continuation(e);
    return on_tagged(e, &c);
}

/* ---------- scanner ---------- */

static void store(biff_imap *e, uint8_t ch)
{
    if (e->line_len < e->work_cap)
        e->work[e->line_len++] = ch;
    else
        e->line_trunc = 1;
}

/* Follows "{digits[+]}" [CR] so that a literal announced at the end of a line is recognised
 * even when the line itself no longer fits in work. */
static void track(biff_imap *e, uint8_t ch)
{
    uint8_t ls = e->lit_scan & 0x7F, big = e->lit_scan & LS_TOOBIG;
    if (ch == '{') {
        e->lit_num = 0;
        e->lit_scan = LS_DIGIT0;
    } else if (ch >= '0' && ch <= '9' && (ls == LS_DIGIT0 || ls == LS_DIGITS)) {
        uint64_t v = (uint64_t)e->lit_num * 10 + (uint64_t)(ch - '0');
        if (v > 0xFFFFFFFFu) big = LS_TOOBIG, v = 0;
        e->lit_num = (uint32_t)v;
        e->lit_scan = LS_DIGITS | big;
    } else if (ch == '+' && ls == LS_DIGITS) {
        e->lit_scan = LS_PLUS | big;
    } else if (ch == '}' && (ls == LS_DIGITS || ls == LS_PLUS)) {
        e->lit_scan = LS_CLOSE | big;
    } else if (ch == '\r' && ls == LS_CLOSE) {
        e->lit_scan = LS_CR | big;
    } else {
        e->lit_scan = LS_NONE;
    }
}

/* resp-text (continuations, OK/NO/BAD/BYE/PREAUTH) cannot carry literals: "{5}" there is text. */
static int literal_allowed(const biff_imap *e)
{
    cur c;
    const uint8_t *s;
    size_t n;
    c.p = e->work;
    c.end = e->work + e->line_len;
    if (c.p < c.end && *c.p == '+') return 0;
    atom(&c, &s);
    skip_sp(&c);
    n = atom(&c, &s);
    return cond_word(s, n) == R_OTHER;
}

static biff_imap_status line_end(biff_imap *e)
{
    uint8_t ls = e->lit_scan & 0x7F;
    biff_imap_status r;
    if (e->line_len && !e->line_trunc && e->work[e->line_len - 1] == '\r') e->line_len--;
    if ((ls == LS_CLOSE || ls == LS_CR) && literal_allowed(e)) {
        if (e->lit_scan & LS_TOOBIG) return proto_err(e, "literal too large");
        /* '\n' = literal bytes follow in work; '\r' = literal skipped (too big to keep). */
        e->lit_copy = !e->line_trunc && e->lit_num < (uint32_t)(e->work_cap - e->line_len);
        store(e, e->lit_copy ? '\n' : '\r');
        e->lit_left = e->lit_num;
        e->lit_scan = LS_NONE;
        return BIFF_IMAP_OK;
    }
    e->lit_scan = LS_NONE;
    r = on_line(e);
    e->line_len = 0;
    e->line_trunc = 0;
    return r;
}

/* ---------- public API ---------- */

_Static_assert(BIFF_IMAP_MAX_FOLDERS >= 1 && BIFF_IMAP_MAX_FOLDERS <= 10, "one-digit tags");

biff_imap_status biff_imap_init(biff_imap *e, const biff_imap_config *cfg, uint8_t *work, size_t work_cap, uint8_t *out,
                                size_t out_cap)
{
    unsigned i;
    if (!e) return BIFF_IMAP_E_ARG;
    memset(e, 0, sizeof(*e));
    if (!cfg || !work || !out || work_cap < 64 || out_cap < 64 || !cfg->user || !cfg->secret || !cfg->folders ||
        !cfg->n_folders || cfg->n_folders > BIFF_IMAP_MAX_FOLDERS || cfg->auth > BIFF_IMAP_AUTH_OAUTH ||
        cfg->security > BIFF_IMAP_SEC_NONE)
        return BIFF_IMAP_E_ARG;
    for (i = 0; i < cfg->n_folders; i++) {
        const char *s = cfg->folders[i];
        biff_mutf7 m;
        int ch;
        if (!s || !*s) return BIFF_IMAP_E_ARG;
        for (; *s; s++)
            if ((uint8_t)*s < 0x20 || *s == 0x7F) return BIFF_IMAP_E_ARG;
        biff_mutf7_start(&m, cfg->folders[i]);
        while ((ch = biff_mutf7_next(&m)) >= 0) {
        }
        if (ch == -2) return BIFF_IMAP_E_ARG;
    }
    e->cfg = cfg;
    e->work = work;
    e->out = out;
    e->work_cap = (uint16_t)(work_cap > 0xFFFF ? 0xFFFF : work_cap);
    e->out_cap = (uint16_t)(out_cap > 0xFFFF ? 0xFFFF : out_cap);
    if (cfg->security == BIFF_IMAP_SEC_TLS) e->flags = F_SECURE;
    return BIFF_IMAP_OK;
}

biff_imap_status biff_imap_feed(biff_imap *e, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t i = 0;
    biff_imap_status r = BIFF_IMAP_OK;

    if (!consumed) return BIFF_IMAP_E_ARG;
    *consumed = 0;
    if (!e || !e->cfg || (!data && len)) return BIFF_IMAP_E_ARG;
    if (e->phase == P_FAILED) return BIFF_IMAP_E_FAILED;
    if (e->phase == P_TLSWAIT || e->phase == P_CLOSED) {
        *consumed = len; /* plaintext after STARTTLS is never parsed (CVE-2021-22947) */
        return e->phase == P_TLSWAIT ? BIFF_IMAP_EV_STARTTLS : BIFF_IMAP_EV_CLOSED;
    }
    while (i < len && r == BIFF_IMAP_OK) {
        if (e->lit_left) {
            size_t k = len - i < e->lit_left ? len - i : e->lit_left;
            if (e->lit_copy) {
                memcpy(e->work + e->line_len, data + i, k);
                e->line_len = (uint16_t)(e->line_len + k);
            }
            e->lit_left -= (uint32_t)k;
            i += k;
            continue;
        }
        if (data[i] == '\n') {
            i++;
            r = line_end(e);
            fill(e);
            if (e->phase == P_FAILED) r = BIFF_IMAP_E_FAILED;
            continue;
        }
        track(e, data[i]);
        store(e, data[i++]);
    }
    if (r == BIFF_IMAP_EV_STARTTLS) i = len;
    *consumed = i;
    return r;
}

size_t biff_imap_output(const biff_imap *e, const uint8_t **data)
{
    if (!e || !data || !e->cfg) return 0;
    *data = e->out;
    return e->out_len;
}

void biff_imap_output_done(biff_imap *e, size_t n)
{
    if (!e || !e->cfg) return;
    if (n > e->out_len) n = e->out_len;
    memmove(e->out, e->out + n, e->out_len - n);
    e->out_len = (uint16_t)(e->out_len - n);
    memset(e->out + e->out_len, 0, n);
    fill(e);
}

biff_imap_status biff_imap_tls_started(biff_imap *e)
{
    if (!e || !e->cfg) return BIFF_IMAP_E_ARG;
    if (e->phase != P_TLSWAIT) return BIFF_IMAP_E_STATE;
    e->phase = P_PRE;
    e->flags |= F_SECURE;
    e->caps = 0; /* anything learnt in plaintext may be forged */
    e->line_len = 0;
    e->line_trunc = 0;
    e->lit_left = 0;
    e->lit_scan = LS_NONE;
    memset(e->out, 0, e->out_cap);
    e->out_len = 0;
    e->tx = TX_CAPA;
    fill(e);
    return e->phase == P_FAILED ? BIFF_IMAP_E_FAILED : BIFF_IMAP_OK;
}

static biff_imap_status request(biff_imap *e, uint16_t req)
{
    if (!e || !e->cfg) return BIFF_IMAP_E_ARG;
    if (e->phase != P_SESSION || !(e->flags & F_AUTHED) || (e->flags & F_LOGOUT)) return BIFF_IMAP_E_STATE;
    if (req == F_REQ_CHECK && (e->flags & F_CHECKING)) return BIFF_IMAP_OK;
    if (req == F_REQ_NOOP && (e->flags & F_IDLE_SENT)) return BIFF_IMAP_OK;
    e->flags |= req;
    fill(e);
    return e->phase == P_FAILED ? BIFF_IMAP_E_FAILED : BIFF_IMAP_OK;
}

biff_imap_status biff_imap_recheck(biff_imap *e)
{
    return request(e, F_REQ_CHECK);
}

biff_imap_status biff_imap_noop(biff_imap *e)
{
    return request(e, F_REQ_NOOP);
}

biff_imap_status biff_imap_logout(biff_imap *e)
{
    return request(e, F_REQ_LOGOUT);
}

int biff_imap_idling(const biff_imap *e)
{
    return e && e->phase == P_SESSION && (e->flags & F_IDLING) && !(e->flags & (F_REQ_CHECK | F_REQ_LOGOUT));
}

const biff_imap_folder_result *biff_imap_folder(const biff_imap *e, size_t i)
{
    if (!e || !e->cfg || i >= e->cfg->n_folders) return NULL;
    return &e->folder[i];
}

int biff_imap_oauth_refused(const biff_imap *e)
{
    return e->err == BIFF_ERR_AUTH_FAILED && e->mech >= BIFF_IMAP_AUTH_XOAUTH2 && !(e->flags & F_NOT_TOKEN);
}

biff_error_class biff_imap_error(const biff_imap *e, const char **detail)
{
    if (detail) *detail = e ? e->detail : "";
    return e ? (biff_error_class)e->err : BIFF_ERR_CONFIG;
}

biff_imap_status biff_imap_eof(biff_imap *e)
{
    if (!e || !e->cfg) return BIFF_IMAP_E_ARG;
    /* Servers may close right after the tagged LOGOUT OK or even before it. */
    if (e->flags & F_CHECKED) {
        e->phase = P_CLOSED;
        return BIFF_IMAP_EV_CLOSED;
    }
    if (e->phase == P_FAILED) return BIFF_IMAP_E_FAILED;
    return fail(e, BIFF_ERR_NETWORK, "connection closed by the server", NULL, 0);
}

void biff_imap_clear(biff_imap *e)
{
    if (!e) return;
    if (e->cfg) {
        mbedtls_platform_zeroize(e->work, e->work_cap);
        mbedtls_platform_zeroize(e->out, e->out_cap);
    }
    mbedtls_platform_zeroize(e, sizeof *e);
}

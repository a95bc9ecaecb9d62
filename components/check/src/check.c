#include "biff/check.h"

#include <stdio.h>
#include <string.h>

enum { ST_RUN = 1, ST_NEED_TLS, ST_DONE, ST_FAILED };

static biff_check_status fail(biff_check *c, biff_error_class err, const char *detail)
{
    c->state = ST_FAILED;
    c->err = err;
    snprintf(c->detail, sizeof c->detail, "%.127s", detail ? detail : "");
    return BIFF_CHECK_FAILED;
}

/* The engines have the same call shapes and status values (biff/imap.h, biff/pop3.h): each
 * step below goes through this table instead of asking for the protocol. */
struct biff_check_engine {
    int (*feed)(biff_check *c, const uint8_t *data, size_t len, size_t *used);
    size_t (*output)(const biff_check *c, const uint8_t **data);
    void (*output_done)(biff_check *c, size_t n);
    int (*tls_started)(biff_check *c);
    int (*eof)(biff_check *c);
    biff_error_class (*error)(const biff_check *c, const char **detail);
    int (*oauth_refused)(const biff_check *c);
    void (*clear)(biff_check *c);
};

#define ENGINE_OPS(p)                                                                                                  \
    static int p##_feed(biff_check *c, const uint8_t *d, size_t n, size_t *used)                                       \
    {                                                                                                                  \
        return (int)biff_##p##_feed(&c->e.p, d, n, used);                                                              \
    }                                                                                                                  \
    static size_t p##_output(const biff_check *c, const uint8_t **d)                                                   \
    {                                                                                                                  \
        return biff_##p##_output(&c->e.p, d);                                                                          \
    }                                                                                                                  \
    static void p##_output_done(biff_check *c, size_t n)                                                               \
    {                                                                                                                  \
        biff_##p##_output_done(&c->e.p, n);                                                                            \
    }                                                                                                                  \
    static int p##_tls_started(biff_check *c)                                                                          \
    {                                                                                                                  \
        return (int)biff_##p##_tls_started(&c->e.p);                                                                   \
    }                                                                                                                  \
    static int p##_eof(biff_check *c)                                                                                  \
    {                                                                                                                  \
        return (int)biff_##p##_eof(&c->e.p);                                                                           \
    }                                                                                                                  \
    static biff_error_class p##_error(const biff_check *c, const char **d)                                             \
    {                                                                                                                  \
        return biff_##p##_error(&c->e.p, d);                                                                           \
    }                                                                                                                  \
    static int p##_oauth_refused(const biff_check *c)                                                                  \
    {                                                                                                                  \
        return biff_##p##_oauth_refused(&c->e.p);                                                                      \
    }                                                                                                                  \
    static void p##_clear(biff_check *c)                                                                               \
    {                                                                                                                  \
        biff_##p##_clear(&c->e.p);                                                                                     \
    }                                                                                                                  \
    static const struct biff_check_engine p##_ops = {                                                                  \
        p##_feed, p##_output, p##_output_done, p##_tls_started, p##_eof, p##_error, p##_oauth_refused, p##_clear,      \
    };
ENGINE_OPS(imap)
ENGINE_OPS(pop3)

/* One set of event values for both engines. */
enum {
    EV_OK = BIFF_IMAP_OK,
    EV_STARTTLS = BIFF_IMAP_EV_STARTTLS,
    EV_CLOSED = BIFF_IMAP_EV_CLOSED,
};
_Static_assert((int)BIFF_POP3_OK == EV_OK && (int)BIFF_POP3_EV_STARTTLS == EV_STARTTLS &&
                   (int)BIFF_POP3_EV_CLOSED == EV_CLOSED && (int)BIFF_POP3_E_FAILED == (int)BIFF_IMAP_E_FAILED &&
                   (int)BIFF_POP3_E_ARG == (int)BIFF_IMAP_E_ARG,
               "the engines report the same events with the same values");

static biff_check_status engine_failed(biff_check *c)
{
    const char *d = "";
    biff_error_class err = c->ops->error(c, &d);
    return fail(c, err == BIFF_ERR_NONE ? BIFF_ERR_PROTOCOL : err, d);
}

int biff_check_auth_from_name(const char *name, uint8_t *auth)
{
    static const struct {
        const char *name;
        uint8_t auth;
    } map[] = {
        { "", BIFF_CHECK_AUTH_AUTO },           { "PLAIN", BIFF_CHECK_AUTH_PLAIN },
        { "LOGIN", BIFF_CHECK_AUTH_LOGIN },     { "+USER", BIFF_CHECK_AUTH_LOGIN },
        { "USER", BIFF_CHECK_AUTH_LOGIN },      { "+APOP", BIFF_CHECK_AUTH_APOP },
        { "XOAUTH2", BIFF_CHECK_AUTH_XOAUTH2 }, { "OAUTHBEARER", BIFF_CHECK_AUTH_OAUTHBEARER },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(name, map[i].name) == 0) {
            *auth = map[i].auth;
            return 0;
        }
    }
    return -1;
}

biff_check_status biff_check_start(biff_check *c, const biff_check_account *a, biff_transport *link)
{
    if (!c || !a || !link || !a->host || !a->user || !a->secret) return BIFF_CHECK_E_ARG;
    memset(c, 0, sizeof *c);
    c->acct = a;
    c->link = link;
    c->state = ST_RUN;
    if (a->proto == BIFF_CHECK_IMAP) {
        static const uint8_t auth_map[] = {
            [BIFF_CHECK_AUTH_AUTO] = BIFF_IMAP_AUTH_AUTO,
            [BIFF_CHECK_AUTH_PLAIN] = BIFF_IMAP_AUTH_PLAIN,
            [BIFF_CHECK_AUTH_LOGIN] = BIFF_IMAP_AUTH_LOGIN,
            [BIFF_CHECK_AUTH_APOP] = 0xff,
            [BIFF_CHECK_AUTH_XOAUTH2] = BIFF_IMAP_AUTH_XOAUTH2,
            [BIFF_CHECK_AUTH_OAUTHBEARER] = BIFF_IMAP_AUTH_OAUTHBEARER,
            [BIFF_CHECK_AUTH_OAUTH] = BIFF_IMAP_AUTH_OAUTH,
        };
        if (a->auth >= sizeof auth_map || auth_map[a->auth] == 0xff) {
            return fail(c, BIFF_ERR_CONFIG, "this mechanism is not available for IMAP");
        }
        /* The engine keeps a pointer to its config: it lives in the check, beside the engine. */
        biff_imap_config *cfg = &c->imap_cfg;
        cfg->user = a->user;
        cfg->secret = a->secret;
        cfg->host = a->host;
        cfg->port = a->port;
        cfg->folders = a->folders;
        cfg->idle = a->idle;
        cfg->n_folders = a->n_folders;
        cfg->auth = auth_map[a->auth];
        cfg->security = a->security == BIFF_CHECK_SEC_TLS        ? BIFF_IMAP_SEC_TLS
                        : a->security == BIFF_CHECK_SEC_STARTTLS ? BIFF_IMAP_SEC_STARTTLS
                                                                 : BIFF_IMAP_SEC_NONE;
        if (biff_imap_init(&c->e.imap, cfg, c->work, BIFF_CHECK_LINE_MAX, c->work + BIFF_CHECK_LINE_MAX,
                           BIFF_CHECK_OUT_MAX) != BIFF_IMAP_OK) {
            return fail(c, BIFF_ERR_CONFIG, "invalid IMAP account (user, password or folder names)");
        }
        c->ops = &imap_ops;
    } else {
        static const uint8_t auth_map[] = {
            [BIFF_CHECK_AUTH_AUTO] = BIFF_POP3_AUTH_AUTO,
            [BIFF_CHECK_AUTH_PLAIN] = BIFF_POP3_AUTH_PLAIN,
            [BIFF_CHECK_AUTH_LOGIN] = BIFF_POP3_AUTH_USER,
            [BIFF_CHECK_AUTH_APOP] = BIFF_POP3_AUTH_APOP,
            [BIFF_CHECK_AUTH_XOAUTH2] = BIFF_POP3_AUTH_XOAUTH2,
            [BIFF_CHECK_AUTH_OAUTHBEARER] = BIFF_POP3_AUTH_OAUTHBEARER,
            [BIFF_CHECK_AUTH_OAUTH] = BIFF_POP3_AUTH_OAUTH,
        };
        if (a->auth >= sizeof auth_map) return fail(c, BIFF_ERR_CONFIG, "unknown mechanism");
        biff_pop3_config cfg = {
            .user = a->user,
            .secret = a->secret,
            .host = a->host,
            .port = a->port,
            .auth = auth_map[a->auth],
            .security = a->security == BIFF_CHECK_SEC_TLS        ? BIFF_POP3_SEC_TLS
                        : a->security == BIFF_CHECK_SEC_STARTTLS ? BIFF_POP3_SEC_STARTTLS
                                                                 : BIFF_POP3_SEC_NONE,
            .on_uid = a->on_uid,
            .uid_ctx = a->uid_ctx,
        };
        if (biff_pop3_init(&c->e.pop3, &cfg, c->work, BIFF_CHECK_LINE_MAX, c->work + BIFF_CHECK_LINE_MAX,
                           BIFF_CHECK_OUT_MAX) != BIFF_POP3_OK) {
            return fail(c, BIFF_ERR_CONFIG, "invalid POP3 account (user or password)");
        }
        c->ops = &pop3_ops;
    }
    return BIFF_CHECK_OK;
}

/* Feed buffered input; returns a terminal/upgrade status or BIFF_CHECK_OK to go on. Plaintext
 * after a STARTTLS/STLS reply is dropped by the engines (they take the whole read), in one place
 * only, so that the integration tests fail if the engines ever stop doing it. */
static biff_check_status feed(biff_check *c)
{
    while (c->rx_off < c->rx_len) {
        size_t used = 0;
        int s = c->ops->feed(c, c->rx + c->rx_off, (size_t)(c->rx_len - c->rx_off), &used);
        c->rx_off = (uint16_t)(c->rx_off + used);
        switch (s) {
        case EV_OK: break;
        case BIFF_IMAP_EV_CHECKED: /* IMAP only, as are the two below */
            c->checked = 1;
            if (c->acct->idle) return BIFF_CHECK_RESULT;
            break;
        case BIFF_IMAP_EV_IDLING: return BIFF_CHECK_IDLING;
        case BIFF_IMAP_EV_CHANGED:
            /* News while idling: the engine leaves IDLE, rechecks, and goes back. */
            if (biff_imap_recheck(&c->e.imap) != BIFF_IMAP_OK) return engine_failed(c);
            break;
        case EV_STARTTLS: c->state = ST_NEED_TLS; return BIFF_CHECK_NEED_TLS;
        case EV_CLOSED: c->state = ST_DONE; return BIFF_CHECK_DONE;
        default: return engine_failed(c);
        }
        if (used == 0) break; /* an engine that takes nothing would loop forever */
    }
    c->rx_off = c->rx_len = 0;
    return BIFF_CHECK_OK;
}

static biff_check_status link_closed(biff_check *c, int32_t n)
{
    const char *d;
    if (n == BIFF_NET_E_CLOSED) {
        /* The engine knows whether everything it needed had arrived. */
        if (c->ops->eof(c) != EV_CLOSED) return engine_failed(c);
        c->state = ST_DONE;
        return BIFF_CHECK_DONE;
    }
    if (c->ops->error(c, &d) != BIFF_ERR_NONE) return engine_failed(c);
    return fail(c, BIFF_ERR_NETWORK, biff_net_strerror((biff_net_status)n));
}

biff_check_status biff_check_step(biff_check *c)
{
    if (c->state == ST_DONE) return BIFF_CHECK_DONE;
    if (c->state == ST_FAILED) return BIFF_CHECK_FAILED;
    if (c->state == ST_NEED_TLS) return BIFF_CHECK_NEED_TLS;
    for (;;) {
        const uint8_t *p;
        size_t n = c->ops->output(c, &p);
        while (n > 0) {
            int32_t sent = c->link->send(c->link->ctx, p, n);
            if (sent < 0) return link_closed(c, sent);
            if (sent == 0) return BIFF_CHECK_WANT_WRITE;
            c->ops->output_done(c, (size_t)sent);
            n = c->ops->output(c, &p);
        }
        biff_check_status st = feed(c);
        if (st != BIFF_CHECK_OK) return st;
        if (c->ops->output(c, &p) > 0) continue; /* replies queued by what we fed */
        int32_t got = c->link->recv(c->link->ctx, c->rx, sizeof c->rx);
        if (got < 0) return link_closed(c, got);
        if (got == 0) return BIFF_CHECK_WANT_READ;
        c->rx_off = 0;
        c->rx_len = (uint16_t)got;
    }
}

biff_check_status biff_check_tls_started(biff_check *c, biff_transport *tls)
{
    if (c->state != ST_NEED_TLS || !tls) return BIFF_CHECK_E_ARG;
    c->link = tls;
    c->state = ST_RUN;
    return c->ops->tls_started(c) == EV_OK ? BIFF_CHECK_OK : engine_failed(c);
}

biff_check_status biff_check_recheck(biff_check *c)
{
    if (c->state != ST_RUN || c->acct->proto != BIFF_CHECK_IMAP) return BIFF_CHECK_E_ARG;
    return biff_imap_recheck(&c->e.imap) == BIFF_IMAP_OK ? BIFF_CHECK_OK : engine_failed(c);
}

int biff_check_answered(const biff_check *c)
{
    return c->checked;
}

int biff_check_idling(const biff_check *c)
{
    return c->acct && c->acct->proto == BIFF_CHECK_IMAP && biff_imap_idling(&c->e.imap);
}

const char *biff_check_folder_detail(const biff_check *c)
{
    const char *d = "";
    if (c->acct && c->acct->proto == BIFF_CHECK_IMAP) (void)biff_imap_error(&c->e.imap, &d);
    return d;
}

biff_check_status biff_check_logout(biff_check *c)
{
    if (c->state != ST_RUN || c->acct->proto != BIFF_CHECK_IMAP) return BIFF_CHECK_E_ARG;
    return biff_imap_logout(&c->e.imap) == BIFF_IMAP_OK ? BIFF_CHECK_OK : engine_failed(c);
}

void biff_check_abort(biff_check *c, biff_error_class err, const char *detail)
{
    if (c->state != ST_DONE) (void)fail(c, err, detail);
}

biff_error_class biff_check_error(const biff_check *c, const char **detail)
{
    if (detail) *detail = c->detail;
    return c->state == ST_FAILED ? c->err : BIFF_ERR_NONE;
}

int biff_check_oauth_refused(const biff_check *c)
{
    if (c->state != ST_FAILED || c->err != BIFF_ERR_AUTH_FAILED) return 0;
    return c->ops->oauth_refused(c);
}

const biff_imap_folder_result *biff_check_folder(const biff_check *c, size_t i)
{
    return c->acct->proto == BIFF_CHECK_IMAP ? biff_imap_folder(&c->e.imap, i) : NULL;
}

const biff_pop3_result *biff_check_pop3(const biff_check *c)
{
    return c->acct->proto == BIFF_CHECK_POP3 ? biff_pop3_get_result(&c->e.pop3) : NULL;
}

void biff_check_clear(biff_check *c)
{
    /* The engine wipes itself and both its buffers (all of work); before start nothing is there. */
    if (c->ops) c->ops->clear(c);
}

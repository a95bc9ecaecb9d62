/*
 * OAuth2 in the step function (see "OAuth2" in biff/agent.h): before a check of an OAuth2
 * account the session asks the lifecycle (biff/oauth.h) what to do; a token request runs in the
 * session itself (the port's link, the account's TLS configuration, one HTTPS exchange with
 * Connection: close), then the same session connects to the mail server. Only a host that calls
 * biff_agent_oauth_account() links this file.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"

#define MAX_EXCHANGES 3 /* per session: a refresh, the check refused, one more refresh */

/* The default body fits the check's memory: an OAuth2 exchange costs a session nothing more. */
_Static_assert(BIFF_AGENT_TOKEN_BODY_MAX > BIFF_CHECK_LINE_MAX + BIFF_CHECK_OUT_MAX + BIFF_CHECK_RX_MAX ||
                   sizeof(biff_agent_exchange) <= sizeof(biff_check),
               "the default token body must share the check's memory");

static uint32_t secs(const biff_agent *ag)
{
    return (uint32_t)(biff_agent__now(ag) / 1000u);
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--) *v++ = 0;
}

static void emit(biff_agent *ag, uint8_t kind, size_t i, uint32_t count, const char *text, const biff_oauth *o)
{
    if (!ag->port->event) return;
    biff_agent_event ev = { .kind = kind, .account = (uint16_t)i, .count = count, .text = text, .oauth = o };
    ag->port->event(ag->port->ctx, &ev);
}

static uint8_t view_state(const biff_oauth *o)
{
    biff_oauth_why why = biff_oauth_get_why(o);
    switch (biff_oauth_get_state(o)) {
    case BIFF_OAUTH_AUTHORIZED: return BIFF_AUTH_OK;
    case BIFF_OAUTH_REFRESHING:
        return why == BIFF_OAUTH_WHY_SERVER || why == BIFF_OAUTH_WHY_NETWORK ? BIFF_AUTH_WORKING : BIFF_AUTH_OK;
    case BIFF_OAUTH_WAITING_USER: return BIFF_AUTH_WAITING;
    case BIFF_OAUTH_NEEDS_AUTH: return BIFF_AUTH_NEEDED;
    case BIFF_OAUTH_CONFIG_ERROR: return BIFF_AUTH_BROKEN;
    default: return BIFF_AUTH_WORKING;
    }
}

/* The refresh token changed: keep it (the port's hook, else the flash store). */
static void keep(biff_agent *ag, size_t i, biff_agent_oauth *oa)
{
    uint16_t gen = biff_oauth_refresh_gen(&oa->o);
    const char *tok = biff_oauth_refresh_token(&oa->o);
    size_t n = strlen(tok);
    int ok = 1;
    if (gen == oa->saved_gen) return;
    if (ag->port->oauth_save) {
        ok = ag->port->oauth_save(ag->port->ctx, i, tok) == 0;
    } else if (ag->store && i < BIFF_AGENT_ANNOUNCE_MAX) {
        if (n > BIFF_STORE_MAX_VALUE) {
            /* Said once; the account works until a restart, then needs authorization again. */
            emit(ag, BIFF_AGENT_EV_ACCOUNT_ERROR, i, BIFF_ERR_CONFIG,
                 "refresh token longer than the flash store keeps (BIFF_STORE_MAX_VALUE)", NULL);
        } else {
            biff_store_status st = n ? biff_store_write(ag->store, BIFF_AGENT_KEY_OAUTH(i), tok, n)
                                     : biff_store_delete(ag->store, BIFF_AGENT_KEY_OAUTH(i));
            ok = st == BIFF_STORE_OK || (!n && st == BIFF_STORE_E_NOT_FOUND);
        }
    }
    if (ok) oa->saved_gen = gen; /* else tried again at the next change of state */
}

/* Show the lifecycle in the model (under the host's lock), tell the host what changed, keep
 * the refresh token. */
static void publish(biff_agent *ag, size_t i, biff_agent_oauth *oa)
{
    const biff_oauth *o = &oa->o;
    biff_status_auth *v = &oa->view;
    uint8_t st = view_state(o), state = (uint8_t)biff_oauth_get_state(o), why = (uint8_t)biff_oauth_get_why(o);
    uint32_t t = secs(ag), left = 0;
    int new_code = st == BIFF_AUTH_WAITING &&
                   (v->state != BIFF_AUTH_WAITING || strncmp(v->code, biff_oauth_user_code(o), sizeof v->code));
    biff_agent__lock(ag, 1);
    v->state = st;
    snprintf(v->text, sizeof v->text, "%s", biff_oauth_state_text(o));
    if (st == BIFF_AUTH_WAITING) {
        left = (int32_t)(biff_oauth_code_expires(o) - t) > 0 ? biff_oauth_code_expires(o) - t : 0;
        snprintf(v->code, sizeof v->code, "%s", biff_oauth_user_code(o));
        snprintf(v->uri, sizeof v->uri, "%s", biff_oauth_verification_uri(o));
        v->code_expires = (ag->port->wall_time ? ag->port->wall_time(ag->port->ctx) : 0) + left;
    } else {
        v->code[0] = v->uri[0] = 0;
        v->code_expires = 0;
    }
    if (state != oa->shown_state || why != oa->shown_why) {
        oa->shown_state = state;
        oa->shown_why = why;
        emit(ag, BIFF_AGENT_EV_AUTH, i, st, v->text, o);
    }
    if (new_code) emit(ag, BIFF_AGENT_EV_AUTH_CODE, i, left, v->code, o);
    biff_agent__lock(ag, 0);
    keep(ag, i, oa);
}

/* Nothing to send and no token: the session ends saying where the account is. */
static void stopped(biff_agent *ag, biff_agent_session *s, biff_agent_oauth *oa)
{
    const biff_oauth *o = &oa->o;
    char d[BIFF_STATUS_DETAIL_MAX];
    biff_error_class err = BIFF_ERR_AUTH_FAILED;
    if (biff_oauth_get_state(o) == BIFF_OAUTH_WAITING_USER) {
        snprintf(d, sizeof d, "waiting for approval: open %s and enter %s", biff_oauth_verification_uri(o),
                 biff_oauth_user_code(o));
    } else {
        const char *more = biff_oauth_detail(o);
        snprintf(d, sizeof d, "%s%s%s", biff_oauth_state_text(o), *more ? ": " : "", more);
        if (biff_oauth_get_state(o) == BIFF_OAUTH_CONFIG_ERROR) err = BIFF_ERR_CONFIG;
        if (biff_oauth_get_why(o) == BIFF_OAUTH_WHY_SERVER) err = BIFF_ERR_SERVER_ERROR;
        if (biff_oauth_get_why(o) == BIFF_OAUTH_WHY_NETWORK) err = BIFF_ERR_NETWORK;
    }
    /* Polling for the user's approval is no news: the account says it once. */
    if (ag->model[s->acct].err == err && !strncmp(ag->model[s->acct].detail, d, sizeof ag->model[s->acct].detail))
        biff_agent__release(ag, s, err);
    else
        biff_agent__fail(ag, s, err, d);
}

static void x_failed(biff_agent *ag, biff_agent_session *s, int server_fault, const char *why);
static void x_connected(biff_agent *ag, biff_agent_session *s);

/* The SASL message with the token must fit the engine's command buffer: say so if it cannot
 * (Microsoft's tokens are 1.5-2.5 KB) instead of sending a cut one. */
static int token_fits(const biff_agent_session *s, size_t n)
{
    size_t raw = n + strlen(s->ca.user) + strlen(s->ca.host) + 48; /* user=, auth=Bearer, host=, port= */
    return 4 * (raw / 3 + 1) + 40 <= BIFF_CHECK_OUT_MAX;           /* base64, tag, AUTHENTICATE, CRLF */
}

static int begin(biff_agent *ag, biff_agent_session *s)
{
    size_t i = s->acct;
    biff_agent_oauth *oa = ag->cfg[i].oauth;
    biff_oauth_request rq;
    biff_oauth_action a = biff_oauth_next(&oa->o, secs(ag), &rq);
    publish(ag, i, oa);
    if (a == BIFF_OAUTH_READY) {
        const char *tok = biff_oauth_access_token(&oa->o, secs(ag));
        if (!token_fits(s, strlen(tok))) {
            char d[BIFF_STATUS_DETAIL_MAX];
            snprintf(d, sizeof d, "access token of %u bytes does not fit BIFF_CHECK_OUT_MAX (%u): build with more",
                     (unsigned)strlen(tok), (unsigned)BIFF_CHECK_OUT_MAX);
            biff_agent__fail(ag, s, BIFF_ERR_CONFIG, d);
            return -1;
        }
        s->ca.secret = tok;
        if (s->ca.auth == BIFF_CHECK_AUTH_AUTO) s->ca.auth = BIFF_CHECK_AUTH_OAUTH;
        return 0;
    }
    if (a != BIFF_OAUTH_SEND) {
        stopped(ag, s, oa);
        return -1;
    }
    if (s->exchanges >= MAX_EXCHANGES) { /* the rest waits for the next check */
        biff_oauth_failed(&oa->o, secs(ag), 1, "too many token requests in one check");
        stopped(ag, s, oa);
        return -1;
    }
    s->exchanges++;
    memset(&s->x, 0, sizeof s->x);
    snprintf(s->x.host, sizeof s->x.host, "%s", rq.host);
    s->x.port = rq.port;
    s->x.data = rq.data;
    s->x.len = rq.len;
    s->state = S_TOKEN_CONNECT;
    s->deadline = biff_agent__now(ag) + ag->connect_timeout_ms;
    char detail[96] = "";
    unsigned k = (unsigned)(s - ag->session);
    biff_net_status ns =
        ag->port->open(ag->port->ctx, k, BIFF_AGENT_OPEN_START, s->x.host, s->x.port, &s->plain, detail, sizeof detail);
    if (ns == BIFF_NET_OK)
        x_connected(ag, s);
    else if (ns != BIFF_NET_PENDING)
        x_failed(ag, s, 0, detail[0] ? detail : biff_net_strerror(ns));
    return 1;
}

/* After an exchange: a check with the new token, another exchange, or the end of the session. */
static void go_on(biff_agent *ag, biff_agent_session *s)
{
    if (begin(ag, s) == 0) biff_agent__connect(ag, s);
}

static void x_done(biff_agent *ag, biff_agent_session *s)
{
    biff_agent__hang_up(ag, s);
    wipe(&s->x, sizeof s->x); /* the response held tokens */
    publish(ag, s->acct, ag->cfg[s->acct].oauth);
}

static void x_failed(biff_agent *ag, biff_agent_session *s, int server_fault, const char *why)
{
    biff_agent_oauth *oa = ag->cfg[s->acct].oauth;
    char d[96];
    snprintf(d, sizeof d, "%s", why); /* why may live in the session about to be wiped */
    biff_oauth_failed(&oa->o, secs(ag), server_fault, d);
    x_done(ag, s);
    stopped(ag, s, oa);
}

static void x_connected(biff_agent *ag, biff_agent_session *s)
{
    const char *why = NULL;
    s->deadline = biff_agent__now(ag) + ag->check_timeout_ms;
#ifdef BIFF_AGENT_TEST_PLAIN_EXCHANGE
    /* test_agent_oauth only: its fake port has no TLS server (the TLS path runs in the e2e). */
    biff_http_resp_init(&s->x.resp, s->x.body, sizeof s->x.body);
    s->state = S_TOKEN_IO;
    (void)why;
    return;
#endif
    biff_tls_ctx *ctx = ag->port->tls ? ag->port->tls(ag->port->ctx, BIFF_AGENT_TLS_TOKEN, &why) : NULL;
    if (!ctx) {
        x_failed(ag, s, 0, why ? why : "TLS is not available (no trust anchors)");
        return;
    }
    s->tls_up = 1;
    if (biff_tls_start(&s->tls, ctx, s->plain, s->x.host, NULL, NULL) != BIFF_TLS_OK) {
        x_failed(ag, s, 0, biff_tls_detail(&s->tls));
        return;
    }
    s->state = S_TOKEN_HANDSHAKE;
}

static void x_finish(biff_agent *ag, biff_agent_session *s, biff_http_status hs)
{
    biff_agent_oauth *oa = ag->cfg[s->acct].oauth;
    if (hs != BIFF_HTTP_OK) {
        char d[96];
        if (hs == BIFF_HTTP_E_BODY_SIZE)
            snprintf(d, sizeof d, "token response over %u bytes (BIFF_AGENT_TOKEN_BODY_MAX)",
                     (unsigned)sizeof s->x.body);
        else
            snprintf(d, sizeof d, "token response: %s", biff_http_strerror(hs));
        x_failed(ag, s, 1, d);
        return;
    }
    biff_oauth_response(&oa->o, secs(ag), s->x.resp.status, biff_http_is_json(&s->x.resp), (const char *)s->x.body,
                        s->x.resp.body_len);
    x_done(ag, s);
    go_on(ag, s);
}

static void x_run(biff_agent *ag, biff_agent_session *s)
{
    if (s->state == S_TOKEN_CONNECT) {
        char detail[96] = "";
        biff_net_status ns = ag->port->open(ag->port->ctx, (unsigned)(s - ag->session), BIFF_AGENT_OPEN_STEP, NULL, 0,
                                            &s->plain, detail, sizeof detail);
        if (ns == BIFF_NET_PENDING) return;
        if (ns != BIFF_NET_OK) {
            x_failed(ag, s, 0, detail[0] ? detail : biff_net_strerror(ns));
            return;
        }
        x_connected(ag, s);
    }
    if (s->state == S_TOKEN_HANDSHAKE) {
        biff_tls_status ts = biff_tls_handshake(&s->tls);
        if (ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
            s->want_write = ts == BIFF_TLS_WANT_WRITE;
            return;
        }
        if (ts != BIFF_TLS_OK) {
            x_failed(ag, s, 0, biff_tls_detail(&s->tls));
            return;
        }
        biff_agent_floor_raise(ag, biff_tls_verified_since(&s->tls));
        biff_http_resp_init(&s->x.resp, s->x.body, sizeof s->x.body);
        s->state = S_TOKEN_IO;
    }
    if (s->state != S_TOKEN_IO) return;
    biff_transport *t = s->tls_up ? biff_tls_transport(&s->tls) : s->plain;
    while (s->x.off < s->x.len) {
        int32_t n = t->send(t->ctx, (const uint8_t *)s->x.data + s->x.off, s->x.len - s->x.off);
        if (n < 0) {
            x_failed(ag, s, 0, "the authorization server closed the connection");
            return;
        }
        if (n == 0) {
            s->want_write = 1;
            return;
        }
        s->x.off += (size_t)n;
    }
    s->want_write = 0;
    for (;;) {
        uint8_t buf[256];
        int32_t n = t->recv(t->ctx, buf, sizeof buf);
        if (n == 0) return;
        biff_http_status hs = n > 0 ? biff_http_feed(&s->x.resp, buf, (size_t)n, NULL) : biff_http_eof(&s->x.resp);
        wipe(buf, sizeof buf);
        if (hs != BIFF_HTTP_MORE || n < 0) {
            x_finish(ag, s, hs == BIFF_HTTP_MORE ? BIFF_HTTP_E_TRUNCATED : hs);
            return;
        }
    }
}

static int refused(biff_agent *ag, biff_agent_session *s)
{
    biff_agent_oauth *oa = ag->cfg[s->acct].oauth;
    if (!biff_check_oauth_refused(&s->check)) return 0;
    biff_oauth_status st = biff_oauth_token_refused(&oa->o, secs(ag));
    publish(ag, s->acct, oa);
    if (st != BIFF_OAUTH_OK || s->exchanges >= MAX_EXCHANGES) return 0; /* the check's error stands */
    biff_check_clear(&s->check);
    biff_agent__hang_up(ag, s);
    go_on(ag, s);
    return 1;
}

static void x_abort(biff_agent *ag, biff_agent_session *s, const char *why)
{
    x_failed(ag, s, s->state == S_TOKEN_IO, why);
}

static uint64_t tick(biff_agent *ag, uint64_t t)
{
    uint64_t wake = UINT64_MAX;
    for (size_t i = 0; i < ag->n; i++) {
        biff_agent_oauth *oa = ag->cfg[i].oauth;
        if (!oa) continue;
        uint8_t slot = ag->poller.slot[i].state;
        int free = slot == BIFF_ACCT_WAITING || slot == BIFF_ACCT_DISABLED;
        if (free && atomic_exchange(&oa->wanted, 0)) {
            biff_oauth_authorize(&oa->o, secs(ag));
            publish(ag, i, oa);
        }
        biff_oauth_state st = biff_oauth_get_state(&oa->o);
        if (st != BIFF_OAUTH_STARTING && st != BIFF_OAUTH_WAITING_USER && st != BIFF_OAUTH_REFRESHING) continue;
        if (!free || biff_oauth_in_flight(&oa->o)) continue;
        uint64_t due = (uint64_t)biff_oauth_due(&oa->o) * 1000u;
        if (due <= t) {
            if (slot == BIFF_ACCT_DISABLED) ag->poller.slot[i].state = BIFF_ACCT_WAITING;
            biff_poller_trigger(&ag->poller, i, t);
        } else if (due < wake) {
            wake = due;
        }
    }
    return wake;
}

static const struct biff_agent_oauth_ops ops = { begin, x_run, refused, x_abort, tick };

biff_agent_status biff_agent_oauth_account(biff_agent *ag, size_t i, biff_agent_oauth *oa, const biff_oauth_config *cfg,
                                           char *access, size_t access_cap, char *refresh, size_t refresh_cap,
                                           char *req, size_t req_cap, const char *stored)
{
    if (!ag || !oa || i >= ag->n || !ag->port || !ag->port->now_ms || !req || req_cap < 2) return BIFF_AGENT_E_ARG;
    memset(oa, 0, sizeof *oa);
    if (!stored && !ag->port->oauth_save && ag->store && i < BIFF_AGENT_ANNOUNCE_MAX) {
        size_t n = 0;
        /* read into the request buffer: biff_oauth_init copies it from there */
        if (biff_store_read(ag->store, BIFF_AGENT_KEY_OAUTH(i), req, req_cap - 1, &n) != BIFF_STORE_OK) n = 0;
        req[n] = 0;
        stored = req;
    }
    biff_oauth_status st =
        biff_oauth_init(&oa->o, cfg, access, access_cap, refresh, refresh_cap, req, req_cap, stored, secs(ag));
    wipe(req, req_cap);
    if (st != BIFF_OAUTH_OK) return BIFF_AGENT_E_ARG;
    oa->saved_gen = biff_oauth_refresh_gen(&oa->o);
    oa->shown_state = 0xff;
    ag->oauth = &ops;
    ag->model[i].auth = &oa->view;
    publish(ag, i, oa);
    if (biff_oauth_get_state(&oa->o) == BIFF_OAUTH_NEEDS_AUTH) { /* shown before the first check */
        biff_agent__lock(ag, 1);
        ag->model[i].state = BIFF_STATE_ERROR;
        ag->model[i].err = BIFF_ERR_AUTH_FAILED;
        snprintf(ag->model[i].detail, sizeof ag->model[i].detail, "%s", biff_oauth_state_text(&oa->o));
        biff_agent__lock(ag, 0);
    }
    return BIFF_AGENT_OK;
}

void biff_agent_authorize(biff_agent *ag, size_t i)
{
    if (!ag || !ag->cfg || i >= ag->n || !ag->cfg[i].oauth) return;
    atomic_store(&ag->cfg[i].oauth->wanted, 1);
    biff_agent_request(ag, BIFF_AGENT_REQ_AUTH);
}

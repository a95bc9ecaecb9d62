/*
 * The agent's step function: the poller picks an account, a free session connects through the
 * port, runs TLS (implicit, or STARTTLS when the engine asks), then the check, then IDLE where
 * the account wants it; results go into the recording (agent.c). Nothing here blocks: every
 * call moves what it can and the host is told what each session waits for.
 */
#include <stdio.h>
#include <string.h>

#include "agent_int.h"

uint64_t biff_agent__now(const biff_agent *ag)
{
    return ag->port->now_ms(ag->port->ctx);
}

void biff_agent__lock(const biff_agent *ag, int on)
{
    if (ag->port->lock) ag->port->lock(ag->port->ctx, on);
}

#define now  biff_agent__now
#define lock biff_agent__lock

static void idle_event(biff_agent *ag, size_t i, uint32_t what, const char *text)
{
    if (!ag->port->event) return;
    biff_agent_event ev = { .kind = BIFF_AGENT_EV_IDLE, .account = (uint16_t)i, .count = what, .text = text };
    ag->port->event(ag->port->ctx, &ev);
}

static unsigned index_of(const biff_agent *ag, const biff_agent_session *s)
{
    return (unsigned)(s - ag->session);
}

biff_agent_status biff_agent_drive(biff_agent *ag, const biff_agent_account_cfg *cfg, biff_poller_account *sched,
                                   biff_poller_slot *slot, biff_agent_session *sessions, unsigned n_sessions)
{
    if (!ag || !ag->port || !ag->port->now_ms || !ag->port->open || !ag->port->close ||
        (ag->n && (!cfg || !sched || !slot)) || !sessions || n_sessions == 0 || n_sessions > UINT16_MAX)
        return BIFF_AGENT_E_ARG;
    for (size_t i = 0; i < ag->n; i++) {
        sched[i].interval_ms = cfg[i].interval_ms;
        sched[i].idle = cfg[i].check.proto == BIFF_CHECK_IMAP && cfg[i].check.idle;
        sched[i].enabled = cfg[i].enabled;
    }
    memset(sessions, 0, n_sessions * sizeof *sessions);
    ag->cfg = cfg;
    ag->session = sessions;
    ag->n_sessions = n_sessions;
    ag->connect_timeout_ms = BIFF_AGENT_CONNECT_TIMEOUT_MS;
    ag->check_timeout_ms = BIFF_AGENT_CHECK_TIMEOUT_MS;
    uint32_t seed = ag->port->random ? ag->port->random(ag->port->ctx) : 0x5eed1u;
    return biff_poller_init(&ag->poller, sched, slot, ag->n, (uint16_t)n_sessions, seed, now(ag)) == BIFF_POLLER_OK
               ? BIFF_AGENT_OK
               : BIFF_AGENT_E_ARG;
}

/* The model's next check, in wall time. */
static void set_next_check(biff_agent *ag, size_t i)
{
    uint64_t due = ag->poller.slot[i].next_due_ms, t = now(ag);
    uint32_t wall = ag->port->wall_time ? ag->port->wall_time(ag->port->ctx) : 0;
    ag->model[i].next_check = due == UINT64_MAX ? 0 : wall + (uint32_t)((due > t ? due - t : 0) / 1000u);
}

static void checked(biff_agent *ag, biff_agent_session *s, biff_error_class err, const char *detail)
{
    if (!ag->port->event) return;
    biff_agent_event ev = { .kind = BIFF_AGENT_EV_CHECKED,
                            .account = (uint16_t)s->acct,
                            .count = err,
                            .text = detail ? detail : "",
                            .check = &s->check,
                            .tls = s->tls_up ? &s->tls : NULL,
                            .ms = (uint32_t)(now(ag) - s->started_ms),
                            .handshake_ms = s->handshake_ms };
    ag->port->event(ag->port->ctx, &ev);
}

/* The session ends (or, idling, only its check): record, schedule, release. */
static void end(biff_agent *ag, biff_agent_session *s, biff_error_class err, const char *detail, int idling)
{
    size_t i = s->acct;
    uint64_t t = now(ag);
    lock(ag, 1);
    if (s->yielding) {
        /* It made room for another account (make_room): no check ended, nothing is recorded
         * or counted. Due at once, after the more overdue account, it goes back to IDLE. */
        biff_poller_idle_lost(&ag->poller, i, t);
        biff_poller_trigger(&ag->poller, i, t);
        idle_event(ag, i, 3, NULL);
    } else {
        biff_agent_check_done(ag, i, err, detail);
        checked(ag, s, err, detail);
        if (ag->poller.slot[i].state == BIFF_ACCT_IDLING) {
            /* The idle session died: checked again shortly; if the server is gone, that backs off. */
            biff_poller_idle_lost(&ag->poller, i, t);
            idle_event(ag, i, 0, NULL);
        } else {
            biff_poller_done(&ag->poller, i, t, err, idling);
            if (!ag->cfg[i].enabled && !idling) ag->poller.slot[i].state = BIFF_ACCT_DISABLED; /* once */
        }
    }
    set_next_check(ag, i);
    lock(ag, 0);
    if (idling) return;
    biff_check_clear(&s->check);
    if (s->tls_up) {
        biff_agent_resume *keep = ag->cfg[i].resume;
        if (err == BIFF_ERR_NONE && keep) {
            /* TLS 1.3 tickets arrive after the handshake; the check has read past them by now. */
            if (keep->valid) mbedtls_ssl_session_free(&keep->session);
            mbedtls_ssl_session_init(&keep->session);
            keep->valid = biff_tls_save_session(&s->tls, &keep->session) == 0;
            if (!keep->valid) mbedtls_ssl_session_free(&keep->session);
        }
        biff_tls_close(&s->tls);
    }
    ag->port->close(ag->port->ctx, index_of(ag, s));
    memset(s, 0, sizeof *s);
}

static void fail(biff_agent *ag, biff_agent_session *s, biff_error_class err, const char *detail)
{
    end(ag, s, err, detail, 0);
}

void biff_agent__fail(biff_agent *ag, biff_agent_session *s, biff_error_class err, const char *detail)
{
    end(ag, s, err, detail, 0);
}

void biff_agent__release(biff_agent *ag, biff_agent_session *s, biff_error_class err)
{
    size_t i = s->acct;
    lock(ag, 1);
    ag->model[i].state = BIFF_STATE_ERROR;
    ag->mb[i].listing = 0;
    ag->mb[i].scan = NULL;
    biff_poller_done(&ag->poller, i, now(ag), err, 0);
    if (!ag->cfg[i].enabled) ag->poller.slot[i].state = BIFF_ACCT_DISABLED;
    set_next_check(ag, i);
    lock(ag, 0);
    ag->port->close(ag->port->ctx, index_of(ag, s));
    memset(s, 0, sizeof *s);
}

void biff_agent__hang_up(biff_agent *ag, biff_agent_session *s)
{
    if (s->tls_up) biff_tls_close(&s->tls);
    memset(&s->tls, 0, sizeof s->tls);
    s->tls_up = s->starttls = s->want_write = 0;
    ag->port->close(ag->port->ctx, index_of(ag, s));
    s->plain = NULL;
}

static int tls_begin(biff_agent *ag, biff_agent_session *s)
{
    const biff_agent_account_cfg *c = &ag->cfg[s->acct];
    const char *why = NULL;
    biff_tls_ctx *ctx = ag->port->tls ? ag->port->tls(ag->port->ctx, s->acct, &why) : NULL;
    if (!ctx) {
        fail(ag, s, BIFF_ERR_TLS, why ? why : "TLS is not available (no trust anchors)");
        return -1;
    }
    s->tls_up = 1;
    const mbedtls_ssl_session *resume = c->resume && c->resume->valid ? &c->resume->session : NULL;
    if (biff_tls_start(&s->tls, ctx, s->plain, c->check.host, c->pin, resume) != BIFF_TLS_OK) {
        fail(ag, s, BIFF_ERR_TLS, biff_tls_detail(&s->tls));
        return -1;
    }
    s->state = S_HANDSHAKE;
    return 0;
}

static void connected(biff_agent *ag, biff_agent_session *s)
{
    s->deadline = now(ag) + ag->check_timeout_ms;
    if (s->ca.security == BIFF_CHECK_SEC_TLS) {
        tls_begin(ag, s);
        return;
    }
    s->state = S_CHECK;
    s->last = biff_check_start(&s->check, &s->ca, s->plain);
}

static void on_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    biff_agent_session *s = ctx;
    (void)msgno;
    biff_agent_pop3_uid(s->agent, s->acct, uid, len);
}

/* A session's check: results into the recording. Returns 0 when the session ended. */
static int results(biff_agent *ag, biff_agent_session *s, int final)
{
    size_t i = s->acct;
    biff_error_class err = BIFF_ERR_NONE;
    const char *detail = NULL;
    lock(ag, 1);
    if (s->ca.proto == BIFF_CHECK_POP3) {
        const biff_pop3_result *r = biff_check_pop3(&s->check);
        biff_agent_pop3_end(ag, i, r ? r->messages : 0, r && r->uidl);
    } else {
        for (unsigned f = 0; f < s->ca.n_folders; f++) {
            const biff_imap_folder_result *r = biff_check_folder(&s->check, f);
            if (r && r->state == BIFF_IMAP_FOLDER_OK) {
                biff_agent_imap_folder(ag, i, f, r);
            } else if (err == BIFF_ERR_NONE) {
                err = r && r->state == BIFF_IMAP_FOLDER_NO_DATA ? BIFF_ERR_PROTOCOL : BIFF_ERR_SERVER_ERROR;
                detail =
                    err == BIFF_ERR_PROTOCOL ? "STATUS answered without counts" : biff_check_folder_detail(&s->check);
                if (!*detail) detail = "STATUS refused (no such folder?)";
            }
        }
    }
    if (final) {
        lock(ag, 0);
        end(ag, s, err, detail, 0);
        return 0;
    }
    biff_agent_check_done(ag, i, err, detail);
    checked(ag, s, err, detail);
    lock(ag, 0);
    return 1;
}

static biff_agent_session *free_session(biff_agent *ag)
{
    for (unsigned k = 0; k < ag->n_sessions; k++)
        if (ag->session[k].state == S_FREE) return &ag->session[k];
    return NULL;
}

/* A session that only waits in a confirmed IDLE: not checking, not renewing, not yielding. */
static biff_agent_session *idle_only(biff_agent *ag)
{
    for (unsigned k = 0; k < ag->n_sessions; k++) {
        biff_agent_session *s = &ag->session[k];
        if (s->state == S_CHECK && s->idling && !s->renewing && !s->yielding && biff_check_idling(&s->check) &&
            ag->poller.slot[s->acct].state == BIFF_ACCT_IDLING)
            return s;
    }
    return NULL;
}

/*
 * Account i is due and no session is free (the poller does not count IDLE sessions, as they
 * hold no check): i waits, still due, and a session that only idles makes room. It ends IDLE
 * as the engine does (DONE, LOGOUT); end() gives its account back to the poller, due at once.
 * One session (the notifier) would otherwise never check its other accounts again.
 */
static int yielding(const biff_agent *ag)
{
    for (unsigned k = 0; k < ag->n_sessions; k++)
        if (ag->session[k].yielding) return 1;
    return 0;
}

static void make_room(biff_agent *ag, size_t i, uint64_t t)
{
    biff_poller_defer(&ag->poller, i);
    biff_agent_session *s = yielding(ag) ? NULL : idle_only(ag);
    if (!s) return; /* room is being made, or every session checks: one ends soon */
    s->yielding = 1;
    s->deadline = t + ag->check_timeout_ms;
    s->last = biff_check_logout(&s->check);
}

static void start(biff_agent *ag, size_t i, biff_agent_session *s)
{
    memset(s, 0, sizeof *s);
    s->acct = i;
    s->agent = ag;
    s->state = S_CONNECT;
    s->ca = ag->cfg[i].check;
    s->ca.idle = s->ca.idle && !ag->mb[i].no_idle;
    if (s->ca.proto == BIFF_CHECK_POP3) {
        s->ca.on_uid = on_uid;
        s->ca.uid_ctx = s;
        biff_agent_pop3_begin(ag, i, &s->scan);
    }
    lock(ag, 1);
    ag->model[i].state = BIFF_STATE_CHECKING;
    if (ag->port->event) {
        biff_agent_event ev = { .kind = BIFF_AGENT_EV_STARTED, .account = (uint16_t)i };
        ag->port->event(ag->port->ctx, &ev);
    }
    lock(ag, 0);
    s->started_ms = now(ag);
    if (ag->oauth && ag->cfg[i].oauth && ag->oauth->begin(ag, s) != 0) return; /* token first, or nothing */
    biff_agent__connect(ag, s);
}

void biff_agent__connect(biff_agent *ag, biff_agent_session *s)
{
    s->state = S_CONNECT;
    s->deadline = now(ag) + ag->connect_timeout_ms;
    char detail[96] = "";
    biff_net_status ns = ag->port->open(ag->port->ctx, index_of(ag, s), BIFF_AGENT_OPEN_START, s->ca.host, s->ca.port,
                                        &s->plain, detail, sizeof detail);
    if (ns == BIFF_NET_OK)
        connected(ag, s);
    else if (ns != BIFF_NET_PENDING)
        fail(ag, s, BIFF_ERR_NETWORK, detail[0] ? detail : biff_net_strerror(ns));
}

/* Move one session as far as it goes without blocking. */
static void run(biff_agent *ag, biff_agent_session *s)
{
    size_t i = s->acct;
    if (s->state >= S_TOKEN_CONNECT) {
        ag->oauth->run(ag, s);
        if (s->state == S_FREE || s->state >= S_TOKEN_CONNECT) return; /* else the check follows it */
    }
    if (s->state == S_CONNECT) {
        char detail[96] = "";
        biff_net_status ns = ag->port->open(ag->port->ctx, index_of(ag, s), BIFF_AGENT_OPEN_STEP, NULL, 0, &s->plain,
                                            detail, sizeof detail);
        if (ns == BIFF_NET_PENDING) return;
        if (ns != BIFF_NET_OK) {
            fail(ag, s, BIFF_ERR_NETWORK, detail[0] ? detail : biff_net_strerror(ns));
            return;
        }
        connected(ag, s);
    }
    while (s->state == S_HANDSHAKE || s->state == S_CHECK) {
        if (s->state == S_HANDSHAKE) {
            biff_tls_status ts = biff_tls_handshake(&s->tls);
            if (ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
                s->want_write = ts == BIFF_TLS_WANT_WRITE;
                return;
            }
            if (ts != BIFF_TLS_OK) {
                fail(ag, s, biff_tls_error_class(ts), biff_tls_detail(&s->tls));
                return;
            }
            lock(ag, 1);
            snprintf(ag->model[i].tls, sizeof ag->model[i].tls, "%s", biff_tls_version(&s->tls));
            lock(ag, 0);
            biff_agent_floor_raise(ag, biff_tls_verified_since(&s->tls));
            if (!s->handshake_ms) s->handshake_ms = (uint32_t)(now(ag) - s->started_ms);
            s->state = S_CHECK;
            s->last = s->starttls ? biff_check_tls_started(&s->check, biff_tls_transport(&s->tls))
                                  : biff_check_start(&s->check, &s->ca, biff_tls_transport(&s->tls));
            continue;
        }
        biff_check_status st = s->last == BIFF_CHECK_OK ? biff_check_step(&s->check) : s->last;
        s->last = BIFF_CHECK_OK;
        switch (st) {
        case BIFF_CHECK_OK: break;
        case BIFF_CHECK_WANT_READ:
        case BIFF_CHECK_WANT_WRITE:
            s->want_write = st == BIFF_CHECK_WANT_WRITE;
            /* An idle session that left IDLE (news, renewal) waits for answers again: a server
             * that ignores DONE must not keep the account "ok" forever. */
            if (s->idling && s->deadline == UINT64_MAX && !biff_check_idling(&s->check)) {
                s->deadline = now(ag) + ag->check_timeout_ms;
            }
            return;
        case BIFF_CHECK_NEED_TLS:
            s->starttls = 1;
            if (tls_begin(ag, s) != 0) return;
            break;
        case BIFF_CHECK_RESULT:
            results(ag, s, 0);
            if (!s->idling) s->deadline = now(ag) + BIFF_AGENT_IDLE_CONFIRM_MS;
            break;
        case BIFF_CHECK_IDLING:
            if (!s->idling || s->renewing) {
                lock(ag, 1);
                biff_poller_done(&ag->poller, i, now(ag), BIFF_ERR_NONE, 1);
                set_next_check(ag, i);
                idle_event(ag, i, 1, s->ca.folders[0]);
                lock(ag, 0);
            }
            s->idling = 1;
            s->renewing = 0;
            s->deadline = UINT64_MAX; /* silence is normal now; renewal and keepalive watch it */
            break;
        case BIFF_CHECK_DONE:
            if (s->ca.proto == BIFF_CHECK_IMAP && !biff_check_answered(&s->check)) {
                fail(ag, s, BIFF_ERR_PROTOCOL, "server closed the session before answering");
            } else if (s->ca.proto == BIFF_CHECK_IMAP && s->ca.idle) {
                /* the results came with RESULT; the session ends politely */
                char d[BIFF_STATUS_DETAIL_MAX];
                lock(ag, 1);
                snprintf(d, sizeof d, "%s", ag->model[i].detail);
                biff_error_class err = (biff_error_class)ag->model[i].err;
                lock(ag, 0);
                end(ag, s, err, d, 0);
            } else {
                results(ag, s, 1);
            }
            return;
        default: {
            const char *d = "";
            if (ag->oauth && ag->cfg[i].oauth && ag->oauth->refused(ag, s)) {
                if (s->state == S_FREE || s->state >= S_TOKEN_CONNECT) return;
                break; /* connecting again with a fresh token */
            }
            biff_error_class err = biff_check_error(&s->check, &d);
            fail(ag, s, err == BIFF_ERR_NONE ? BIFF_ERR_PROTOCOL : err, d);
            return;
        }
        }
    }
}

static void timed_out(biff_agent *ag, biff_agent_session *s)
{
    if (s->state >= S_TOKEN_CONNECT) {
        ag->oauth->abort(ag, s, "no answer from the authorization server in time");
        return;
    }
    if (s->state == S_CONNECT) {
        char detail[96] = "";
        biff_net_status ns = ag->port->open(ag->port->ctx, index_of(ag, s), BIFF_AGENT_OPEN_TIMEOUT, NULL, 0, &s->plain,
                                            detail, sizeof detail);
        if (ns == BIFF_NET_PENDING) {
            s->deadline = now(ag) + ag->connect_timeout_ms; /* the next address */
        } else if (ns == BIFF_NET_OK) {
            connected(ag, s);
            run(ag, s);
        } else {
            fail(ag, s, BIFF_ERR_NETWORK, detail[0] ? detail : "no connection in time");
        }
        return;
    }
    if (s->state == S_CHECK && s->ca.idle && !s->idling && biff_check_answered(&s->check)) {
        /* Results came, but IDLE was not confirmed: this server cannot be watched. Poll it. */
        ag->mb[s->acct].no_idle = 1;
        s->ca.idle = 0;
        lock(ag, 1);
        idle_event(ag, s->acct, 2, NULL);
        lock(ag, 0);
        s->deadline = now(ag) + ag->check_timeout_ms;
        s->last = biff_check_logout(&s->check);
        run(ag, s);
        return;
    }
    biff_check_abort(&s->check, BIFF_ERR_NETWORK, "no answer from the server in time");
    fail(ag, s, BIFF_ERR_NETWORK, "no answer from the server in time");
}

uint64_t biff_agent_step(biff_agent *ag)
{
    if (!ag || !ag->session) return UINT64_MAX;
    lock(ag, 1);
    biff_agent_service(ag);
    lock(ag, 0);
    uint64_t t = now(ag), oauth_wake = ag->oauth ? ag->oauth->tick(ag, t) : UINT64_MAX;
    size_t i;
    int waiting = 0; /* a due account waits for a session */
    while (!waiting && biff_poller_next(&ag->poller, t, &i)) {
        biff_agent_session *open = NULL, *s;
        for (unsigned k = 0; k < ag->n_sessions; k++)
            if (ag->session[k].state != S_FREE && ag->session[k].acct == i && ag->session[k].idling)
                open = &ag->session[k];
        if (open && !open->yielding) { /* renewal of an idle session: check again on it */
            open->renewing = 1;
            open->last = biff_check_recheck(&open->check);
            open->deadline = t + ag->check_timeout_ms;
            run(ag, open);
        } else if (!open && (s = free_session(ag)) != NULL) {
            start(ag, i, s);
        } else {
            make_room(ag, i, t);
            waiting = 1;
        }
    }
    uint64_t wake = biff_poller_next_deadline(&ag->poller);
    if (waiting && wake <= t) wake = UINT64_MAX; /* not before a session is free: its link or deadline */
    if (oauth_wake < wake) wake = oauth_wake;
    for (unsigned k = 0; k < ag->n_sessions; k++) {
        biff_agent_session *s = &ag->session[k];
        if (s->state == S_FREE) continue;
        run(ag, s);
        if (s->state != S_FREE && now(ag) >= s->deadline) timed_out(ag, s);
        if (s->state != S_FREE && s->deadline < wake) wake = s->deadline;
    }
    if (waiting && (free_session(ag) || (!yielding(ag) && idle_only(ag))))
        wake = t; /* room now, or a session to make it */
    return wake;
}

unsigned biff_agent_session_want(const biff_agent *ag, unsigned k)
{
    if (!ag || k >= ag->n_sessions || ag->session[k].state == S_FREE) return BIFF_AGENT_WANT_NONE;
    return ag->session[k].want_write ? BIFF_AGENT_WANT_WRITE : BIFF_AGENT_WANT_READ;
}

int biff_agent_busy(const biff_agent *ag)
{
    for (unsigned k = 0; ag && k < ag->n_sessions; k++) {
        const biff_agent_session *s = &ag->session[k];
        if (s->state != S_FREE && !(s->idling && biff_check_idling(&s->check))) return 1;
    }
    return 0;
}

void biff_agent_timeouts(biff_agent *ag, uint32_t connect_ms, uint32_t check_ms)
{
    if (!ag) return;
    if (connect_ms) ag->connect_timeout_ms = connect_ms;
    if (check_ms) ag->check_timeout_ms = check_ms;
}

void biff_agent_idle_renew(biff_agent *ag, uint32_t ms)
{
    if (ag && ms) ag->poller.idle_renew_ms = ms;
}

void biff_agent_check_now(biff_agent *ag, size_t i)
{
    if (!ag || !ag->session || i >= ag->n) return;
    biff_poller_slot *sl = &ag->poller.slot[i];
    if (sl->state == BIFF_ACCT_DISABLED) sl->state = BIFF_ACCT_WAITING; /* then on its interval */
    biff_poller_trigger(&ag->poller, i, now(ag));
}

void biff_agent_stop(biff_agent *ag)
{
    for (unsigned k = 0; ag && k < ag->n_sessions; k++) {
        biff_agent_session *s = &ag->session[k];
        if (s->state == S_FREE) continue;
        if (s->state >= S_TOKEN_CONNECT) ag->oauth->abort(ag, s, "stopped");
        if (s->state == S_FREE) continue;
        biff_check_clear(&s->check);
        if (s->tls_up) biff_tls_close(&s->tls);
        ag->port->close(ag->port->ctx, k);
        ag->mb[s->acct].listing = 0;
        memset(s, 0, sizeof *s);
    }
}

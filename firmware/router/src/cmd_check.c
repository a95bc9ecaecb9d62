/*
 * `tinybiff check [options] URL...`: check each account once, print one JSON object per folder.
 * A host of the agent (biff/agent.h): a blocking connect as its port, waiting on the link, the
 * JSON; the agent runs TLS and the check and decides unseen/new (the options: check_opts.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h> /* optind */

#include "biff/agent.h"
#include "biff/check.h"
#include "biff/tls.h"
#include "biff/tls_heap.h"
#include "biff/url.h"
#include "check_opts.h"
#include "json.h"
#include "link.h"
#include "state.h"
#include "psa/crypto.h"

static cli_state state;
/* The agent runs each check and decides unseen/new, as in the daemon and the notifier. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[BIFF_SYNC_MAX_ACCOUNTS];
static biff_status_account model[BIFF_SYNC_MAX_ACCOUNTS];
static biff_agent_account_cfg acfg[BIFF_SYNC_MAX_ACCOUNTS];
static biff_poller_account sched[BIFF_SYNC_MAX_ACCOUNTS];
static biff_poller_slot slots[BIFF_SYNC_MAX_ACCOUNTS];
static biff_agent_session session;
static biff_tls_ctx tls_ctx;
static int tls_ok;
static tb_link l;

/* The account being checked: its URL (the check's strings point into it) and how it went. */
static struct {
    const check_opts *o;
    const char *text, *proto;
    biff_url url;
    const char *folders[BIFF_IMAP_MAX_FOLDERS];
    int64_t deadline;
    int done, rc;
} cur;

/* TLS sessions kept for resumption by a later check of the same server and user in this run
 * (the daemon keeps them across rounds). Small and fixed: the oldest slot is reused. */
typedef struct {
    char key[400];
    biff_agent_resume resume;
} session_slot;
static session_slot sessions[8];
static unsigned next_slot;

static session_slot *session_lookup(const biff_url *u)
{
    char key[sizeof sessions[0].key];
    snprintf(key, sizeof key, "%s\n%u\n%s", u->host, u->port, u->user);
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        if (sessions[i].key[0] && strcmp(sessions[i].key, key) == 0) return &sessions[i];
    }
    session_slot *s = &sessions[next_slot++ % (sizeof sessions / sizeof sessions[0])];
    if (s->resume.valid) mbedtls_ssl_session_free(&s->resume.session);
    s->resume.valid = 0;
    memcpy(s->key, key, sizeof key);
    return s;
}

static void sessions_free(void)
{
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        if (sessions[i].resume.valid) mbedtls_ssl_session_free(&sessions[i].resume.session);
        sessions[i].resume.valid = 0;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
    int64_t r = deadline - now_ms();
    return r > 0 ? (int)r : 0;
}

static void print_failure(const char *account, const char *proto, biff_error_class err, const char *detail)
{
    json_line j;
    json_begin(&j, stdout);
    json_str(&j, "account", account);
    if (proto) json_str(&j, "protocol", proto);
    json_bool(&j, "ok", 0);
    json_str(&j, "error", biff_error_class_name(err));
    json_str(&j, "detail", detail);
    json_end(&j);
}

static void print_tls(json_line *j, const biff_tls *tls, const check_opts *o)
{
    json_str(j, "tls", biff_tls_version(tls));
    json_bool(j, "tls_resumed", biff_tls_resumed(tls));
    if (o->stats && biff_tls_heap_counting()) json_u64(j, "tls_heap_peak", biff_tls_heap_peak());
}

static void print_imap(size_t slot, const biff_check *check, const biff_tls *tls)
{
    for (unsigned i = 0; i < acfg[slot].check.n_folders; i++) {
        const biff_imap_folder_result *f = biff_check_folder(check, i);
        json_line j;
        json_begin(&j, stdout);
        json_str(&j, "account", cur.text);
        json_str(&j, "protocol", cur.proto);
        json_str(&j, "folder", cur.folders[i]);
        if (!f || f->state != BIFF_IMAP_FOLDER_OK) {
            int no_data = f && f->state == BIFF_IMAP_FOLDER_NO_DATA;
            const char *why = biff_check_folder_detail(check);
            json_bool(&j, "ok", 0);
            json_str(&j, "error", no_data ? "protocol" : "server_error");
            json_str(&j, "detail",
                     no_data ? "STATUS answered OK without the folder's counts"
                     : *why  ? why
                             : "STATUS refused (no such folder?)");
            cur.rc = -1;
        } else {
            json_u64(&j, "messages", f->messages);
            json_u64(&j, "unseen", f->unseen);
            json_u64(&j, "uidnext", f->uidnext);
            json_u64(&j, "uidvalidity", f->uidvalidity);
            if (state.open) json_u64(&j, "new", model[slot].folder[i].fresh);
            if (f->have & BIFF_IMAP_HAVE_HIGHESTMODSEQ) json_u64(&j, "highestmodseq", f->highestmodseq);
            if (tls) print_tls(&j, tls, cur.o);
            json_bool(&j, "ok", 1);
        }
        json_end(&j);
    }
}

static void print_pop3(size_t slot, const biff_check *check, const biff_tls *tls)
{
    const biff_pop3_result *r = biff_check_pop3(check);
    json_line j;
    json_begin(&j, stdout);
    json_str(&j, "account", cur.text);
    json_str(&j, "protocol", cur.proto);
    json_str(&j, "folder", "INBOX");
    json_u64(&j, "messages", r->messages);
    json_u64(&j, "unseen", model[slot].folder[0].unseen);
    if (state.open && r->uidl) json_u64(&j, "new", model[slot].folder[0].fresh);
    if (r->uidl) json_u64(&j, "uids", r->uids);
    if (tls) print_tls(&j, tls, cur.o);
    json_bool(&j, "ok", 1);
    json_end(&j);
}

/* ---- the agent's port: a one-shot command may connect blocking */

static uint32_t port_wall(void *ctx)
{
    (void)ctx;
    return (uint32_t)time(NULL);
}

static uint64_t port_now(void *ctx)
{
    (void)ctx;
    return (uint64_t)now_ms();
}

static biff_net_status port_open(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx, (void)s;
    if (op != BIFF_AGENT_OPEN_START) return BIFF_NET_E_TIMEOUT; /* never left pending */
    if (link_open(&l, cur.o->net, host, port, remaining(cur.deadline)) != BIFF_NET_OK) {
        snprintf(detail, cap, "%s", l.detail);
        return BIFF_NET_E_CONNECT;
    }
    *t = &l.transport;
    return BIFF_NET_OK;
}

static void port_close(void *ctx, unsigned s)
{
    (void)ctx, (void)s;
    link_close(&l);
}

static biff_tls_ctx *port_tls(void *ctx, size_t i, const char **why)
{
    (void)ctx, (void)i, (void)why;
    return &tls_ctx;
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_PROBLEM && ev->text[0]) fprintf(stderr, "tinybiff: %s\n", ev->text);
    if (ev->kind != BIFF_AGENT_EV_CHECKED) return;
    cur.done = 1;
    /* The check itself went through: IMAP shows each folder, also one whose STATUS failed. */
    if (biff_check_error(ev->check, NULL) == BIFF_ERR_NONE && ev->count != BIFF_ERR_NETWORK &&
        ev->count != BIFF_ERR_TLS &&
        (acfg[ev->account].check.proto == BIFF_CHECK_IMAP
             ? biff_check_folder(ev->check, 0) && biff_check_folder(ev->check, 0)->state != BIFF_IMAP_FOLDER_PENDING
             : ev->count == BIFF_ERR_NONE)) {
        if (acfg[ev->account].check.proto == BIFF_CHECK_IMAP)
            print_imap(ev->account, ev->check, ev->tls);
        else
            print_pop3(ev->account, ev->check, ev->tls);
    } else {
        print_failure(cur.text, cur.proto, (biff_error_class)ev->count, ev->text);
        cur.rc = -1;
    }
}

static const biff_agent_port port = {
    .wall_time = port_wall,
    .event = on_event,
    .now_ms = port_now,
    .open = port_open,
    .close = port_close,
    .tls = port_tls,
};

/* Check the account at slot once; 0 when every folder was checked. */
static int check_one(const check_opts *o, unsigned slot, const char *text, const char *secret)
{
    biff_url_status us = biff_url_parse(text, &cur.url);
    if (us != BIFF_URL_OK) {
        char shown[512];
        print_failure(biff_url_redact(text, shown, sizeof shown), NULL, BIFF_ERR_CONFIG, biff_url_strerror(us));
        return -1;
    }
    const biff_url *u = &cur.url;
    cur.o = o;
    cur.text = text;
    cur.proto = u->proto == BIFF_URL_IMAP ? "imap" : "pop3";
    cur.done = cur.rc = 0;
    uint8_t n_folders = 0;
    cur.folders[n_folders++] = u->mailbox;
    for (int i = 0; i < o->n_extra_folders && n_folders < BIFF_IMAP_MAX_FOLDERS; i++)
        cur.folders[n_folders++] = o->folders[i];
    biff_agent_account_cfg *c = &acfg[slot];
    *c = (biff_agent_account_cfg){
        .check = { .proto = u->proto == BIFF_URL_IMAP ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
                   .security = u->implicit_tls    ? BIFF_CHECK_SEC_TLS
                               : o->security_none ? BIFF_CHECK_SEC_NONE
                                                  : BIFF_CHECK_SEC_STARTTLS,
                   .host = u->host,
                   .port = u->port,
                   .user = u->user,
                   .secret = secret,
                   .folders = cur.folders,
                   .n_folders = u->proto == BIFF_URL_IMAP ? n_folders : 0 },
        .pin = o->has_pin ? o->pin : NULL,
        .resume = &session_lookup(u)->resume,
    };
    uint32_t account_id = biff_agent_account_id(u->proto == BIFF_URL_IMAP, u->user, u->host, u->port);
    biff_agent_account(&agent, slot, c->check.proto, account_id, text, cur.folders, n_folders);
    if (biff_check_auth_from_name(u->auth, &c->check.auth) != 0) {
        print_failure(text, cur.proto, BIFF_ERR_CONFIG, "unknown ;AUTH= mechanism");
        return -1;
    }
    if (c->check.security != BIFF_CHECK_SEC_NONE && !tls_ok) {
        print_failure(text, cur.proto, BIFF_ERR_TLS, tls_ctx.detail);
        return -1;
    }
    cur.deadline = now_ms() + o->timeout_ms;
    biff_tls_heap_reset_peak();
    biff_agent_check_now(&agent, slot);
    while (!cur.done) {
        biff_agent_step(&agent);
        unsigned want = biff_agent_session_want(&agent, 0);
        if (!cur.done && want != BIFF_AGENT_WANT_NONE) (void)link_wait(&l, want == BIFF_AGENT_WANT_WRITE, 200);
    }
    if (cur.rc == 0 && o->ack) biff_agent_acknowledge(&agent, slot);
    return cur.rc;
}

int cmd_check(int argc, char **argv)
{
    check_opts o;
    int rc = check_opts_parse(argc, argv, &o);
    if (rc >= 0) return rc;
    static char secret[4096];
    if ((rc = check_opts_secret(&o, secret, sizeof secret)) != 0) return rc;
    tls_ok = biff_tls_ctx_init(&tls_ctx, o.ca) == BIFF_TLS_OK;
    if (o.ack && !o.state) {
        fprintf(stderr, "tinybiff: --ack needs --state FILE\n");
        return 2;
    }
    if (o.state) {
        static uint32_t ids[BIFF_SYNC_MAX_ACCOUNTS];
        unsigned n = (unsigned)(argc - optind);
        size_t need = 0;
        for (unsigned i = 0; i < n && i < BIFF_SYNC_MAX_ACCOUNTS; i++) {
            biff_url u;
            if (biff_url_parse(argv[optind + (int)i], &u) == BIFF_URL_OK) {
                ids[i] = biff_agent_account_id(u.proto == BIFF_URL_IMAP, u.user, u.host, u.port);
                need += state_bytes(u.proto == BIFF_URL_IMAP, 1u + (unsigned)o.n_extra_folders);
            }
        }
        if (state_open(&state, o.state, ids, n, need) == 0) {
            for (unsigned i = 0; i < n; i++) {
                if (state_fresh(&state, i)) {
                    char shown[512];
                    fprintf(stderr, "tinybiff: state: no record yet for %s; this check sets its baseline\n",
                            biff_url_redact(argv[optind + (int)i], shown, sizeof shown));
                }
            }
        }
    }
    unsigned n_accts = (unsigned)(argc - optind);
    if (n_accts > BIFF_SYNC_MAX_ACCOUNTS) {
        fprintf(stderr, "tinybiff: at most %u accounts per check\n", BIFF_SYNC_MAX_ACCOUNTS);
        return 2;
    }
    biff_agent_init(&agent, &port, state.open ? &state.st : NULL, mailboxes, model, n_accts, 0);
    biff_agent_drive(&agent, acfg, sched, slots, &session, 1);
    biff_agent_timeouts(&agent, (uint32_t)o.timeout_ms, (uint32_t)o.timeout_ms);
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        if (check_one(&o, (unsigned)(i - optind), argv[i], secret) != 0) failures++;
    }
    state_close(&state);
    sessions_free();
    biff_tls_ctx_free(&tls_ctx);
    mbedtls_psa_crypto_free();
    if (biff_tls_heap_current() != 0) {
        fprintf(stderr, "tinybiff: mbedTLS still holds %zu bytes after all checks\n", biff_tls_heap_current());
        return 3;
    }
    memset(secret, 0, sizeof secret);
    return failures ? 1 : 0;
}

/*
 * `tinybiff run -c FILE`: the daemon. One thread runs the poller and every check (non-blocking
 * sockets + poll()); libmicrohttpd serves the status page from its own thread, reading the
 * status model under a lock. SIGTERM/SIGINT stop it cleanly (state flushed), SIGHUP reloads
 * the config (a broken new config is refused and the old one kept).
 */
#define _DEFAULT_SOURCE
#include "cmd_run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "biff/agent.h"
#include "biff/check.h"
#include "biff/poller.h"
#include "biff/status.h"
#include "biff/sync.h"
#include "biff/tls.h"
#include "biff/uci.h"
#include "ctl.h"
#include "httpd.h"
#include "leds.h"
#include "link.h"
#include "log.h"
#include "psa/crypto.h"
#include "secret_env.h"
#include "state.h"
#include "trust.h"
#include "biff/safe_file.h"

#define MAX_ACCOUNTS 512
_Static_assert(MAX_ACCOUNTS <= BIFF_SYNC_MAX_ACCOUNTS, "every account keeps its sync state");
#define MAX_SESSIONS 64
#define MAX_LEDS 16
#define CONNECT_TIMEOUT_MS 10000
#define CHECK_TIMEOUT_MS 30000
#define IDLE_CONFIRM_MS 5000   /* after the results, IDLE must be confirmed within this */

typedef struct {
    int used;
    size_t acct;
    tb_link l;
    biff_tls tls;
    int tls_used;
    biff_tls_ctx *trust;   /* the account's CA, or the global one */
    biff_check check;
    biff_check_account ca;
    const char *folders[BIFF_ACCOUNT_MAX_FOLDERS];
    int64_t deadline;      /* the current step must finish by then */
    int want_write;
    int idling;
    int renewing;          /* a recheck of an idle session is in flight */
    int connecting;        /* TCP connect under way */
    uint32_t uid_count;
    biff_sync_pop3_scan scan; /* POP3: the listing compared with the recorded UIDs */
    biff_check_status last;
} session;

/* Per account, beyond the config: what the daemon has learned. */
typedef struct {
    char secret[1024];
    int has_secret;
    int no_idle;                          /* the server has no IDLE: poll it */
    mbedtls_ssl_session tls_session;
    int has_session;
} account_rt;

static biff_account accts[MAX_ACCOUNTS];
static account_rt rt[MAX_ACCOUNTS];
static biff_led_config leds[MAX_LEDS];
static biff_uci_diag diags[64];
static biff_uci_config cfg;
static biff_status_account model[MAX_ACCOUNTS];
/* The agent keeps the sync state and decides unseen/new; the model is what it shows. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[MAX_ACCOUNTS];
static biff_poller_account pacct[MAX_ACCOUNTS];
static biff_poller_slot pslot[MAX_ACCOUNTS];
static biff_poller poller;
static session sessions[MAX_SESSIONS];
static cli_state store;
static httpd_shared web = { .lock = PTHREAD_MUTEX_INITIALIZER };
static volatile sig_atomic_t got_term, got_hup;
static int wake_pipe[2] = { -1, -1 };
static const char *config_path;
static char config_text[256 * 1024];
static char secrets_text[64 * 1024];
static size_t secrets_len;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    if (sig == SIGHUP) got_hup = 1;
    else got_term = 1;
    int saved = errno;
    if (write(wake_pipe[1], "s", 1) < 0) { /* the flag is enough */ }
    errno = saved;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    *len = fread(buf, 1, cap, f);
    int too_big = *len == cap && fgetc(f) != EOF;
    fclose(f);
    return too_big ? -2 : 0;
}

/* ---- configuration ---- */

static int load_config(void)
{
    size_t len;
    int r = read_file(config_path, config_text, sizeof config_text, &len);
    if (r != 0) {
        log_msg(LOG_LVL_ERROR, "%s: %s", config_path, r == -2 ? "file too large" : strerror(errno));
        return -1;
    }
    biff_uci_init(&cfg, accts, MAX_ACCOUNTS, leds, MAX_LEDS, diags, sizeof diags / sizeof diags[0]);
    biff_uci_status st = biff_uci_parse(&cfg, config_path, config_text, len);
    for (unsigned i = 0; i < cfg.n_diags; i++) log_msg(LOG_LVL_ERROR, "%s", diags[i].text);
    if (cfg.n_errors > cfg.n_diags) log_msg(LOG_LVL_ERROR, "%s: %lu more errors", config_path,
                                            (unsigned long)(cfg.n_errors - cfg.n_diags));
    if (st == BIFF_UCI_E_INVALID) return -1;
    if (cfg.n_accounts == 0) log_msg(LOG_LVL_WARN, "%s: no accounts configured", config_path);
    if (cfg.mqtt.enabled)  /* issue 17: the section parses; the broker connection comes next */
        log_msg(LOG_LVL_WARN, "%s:%u: config mqtt: this build does not publish to MQTT yet; ignored",
                config_path, (unsigned)cfg.mqtt.line);
    /* Refused unless it is ours and private, as ssh does with a key; a missing file is fine
     * (secrets may all come from the environment). */
    const char *spath = cfg.globals.secrets;
    biff_sfile_status fs = biff_sfile_read_private(spath, secrets_text, sizeof secrets_text, &secrets_len);
    if (fs == BIFF_SFILE_E_IO && errno == ENOENT) {
        secrets_len = 0;
    } else if (fs != BIFF_SFILE_OK) {
        char why[300];
        log_msg(LOG_LVL_ERROR, "%s: secrets file %s", spath, biff_sfile_explain(fs, spath, why, sizeof why));
        explicit_bzero(secrets_text, secrets_len);
        return -1;
    } else {
        biff_uci_diag sd[8];
        size_t nd = 0;
        biff_uci_secrets_check(secrets_text, secrets_len, spath, sd, 8, &nd);
        for (size_t i = 0; i < nd && i < 8; i++) log_msg(LOG_LVL_ERROR, "%s", sd[i].text);
    }
    return 0;
}

/* What is wrong with the daemon itself, for the page: the sync state could not be opened (until
 * a reload opens it) or the last write to it failed (until one succeeds). Like every model
 * change it is made with web.lock held. */
enum { PROBLEM_NONE, PROBLEM_STATE_OPEN, PROBLEM_STATE_WRITE };
static int problem_kind;

static void set_problem(int kind, const char *text)
{
    problem_kind = kind;
    snprintf(web.problem, sizeof web.problem, "%s", text);
}

static uint32_t wall_now(void)
{
    return (uint32_t)time(NULL);
}

static uint32_t port_wall(void *ctx)
{
    (void)ctx;
    return wall_now();
}

/* Called from the loop with web.lock held (every agent call is). */
static void on_agent_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_PROBLEM) {
        if (ev->text[0]) {
            log_msg(LOG_LVL_ERROR, "state: cannot write (flash full or failing); keeping the old state");
            set_problem(PROBLEM_STATE_WRITE, ev->text);
        } else if (problem_kind == PROBLEM_STATE_WRITE) {
            set_problem(PROBLEM_NONE, "");
        }
    } else if (ev->kind == BIFF_AGENT_EV_ACKNOWLEDGED) {
        log_msg(LOG_LVL_INFO, "new mail acknowledged");
    }
}

static const biff_agent_port agent_port = { .wall_time = port_wall, .event = on_agent_event };

static void open_state(const uint32_t *ids, size_t need)
{
    if (!cfg.globals.state[0]) {
        set_problem(PROBLEM_NONE, ""); /* a reload may have taken the state file out */
    } else if (!store.open) {
        if (state_open(&store, cfg.globals.state, ids, (unsigned)cfg.n_accounts, need) != 0) {
            set_problem(PROBLEM_STATE_OPEN, "sync state file unusable (see the log): new mail is not "
                                            "remembered across restarts");
        } else {
            if (problem_kind == PROBLEM_STATE_OPEN) set_problem(PROBLEM_NONE, "");
            unsigned n_fresh = 0;
            for (size_t i = 0; i < cfg.n_accounts; i++) {
                if (state_fresh(&store, (unsigned)i) && ++n_fresh <= 8) {
                    log_msg(LOG_LVL_INFO, "state: account %s has no record yet; its first check sets the baseline",
                            accts[i].name);
                }
            }
            if (n_fresh > 8) log_msg(LOG_LVL_INFO, "state: %u accounts in all start fresh", n_fresh);
        }
    }
}

/* Entries of rt the current or an earlier config used: only these are cleared, since clearing
 * all MAX_ACCOUNTS would make 1.2 MB resident for a router with a few accounts. */
static size_t rt_touched;

static void setup_accounts(void)
{
    static uint32_t ids[MAX_ACCOUNTS];
    size_t need = 0;
    trust_load(cfg.globals.ca, accts, cfg.n_accounts);
    memset(rt, 0, (cfg.n_accounts > rt_touched ? cfg.n_accounts : rt_touched) * sizeof rt[0]);
    rt_touched = cfg.n_accounts;
    for (size_t i = 0; i < cfg.n_accounts; i++) {
        biff_account *a = &accts[i];
        account_rt *r = &rt[i];
        ids[i] = biff_agent_account_id(a->url.proto == BIFF_URL_IMAP, a->url.user, a->url.host, a->url.port);
        need += state_bytes(a->url.proto == BIFF_URL_IMAP, a->n_folders);
        if (a->secret_env[0] && secret_env_take(a->secret_env, r->secret, sizeof r->secret) == 0) {
            r->has_secret = 1;
        } else if (biff_uci_secret(secrets_text, secrets_len, a->name, r->secret, sizeof r->secret) == BIFF_UCI_OK) {
            r->has_secret = 1;
        }
        pacct[i].interval_ms = (a->interval_s ? a->interval_s : cfg.globals.interval_s) * 1000u;
        pacct[i].idle = a->url.proto == BIFF_URL_IMAP && a->idle;
        pacct[i].enabled = a->enabled && r->has_secret;
    }
    /* Each account has its copy now; the file's text is not kept. */
    explicit_bzero(secrets_text, secrets_len);
    secrets_len = 0;
    open_state(ids, need);
    biff_agent_init(&agent, &agent_port, store.open ? &store.st : NULL, mailboxes, model, cfg.n_accounts, 0);
    for (size_t i = 0; i < cfg.n_accounts; i++) {
        biff_account *a = &accts[i];
        biff_status_account *m = &model[i];
        const char *folders[BIFF_ACCOUNT_MAX_FOLDERS];
        for (unsigned f = 0; f < a->n_folders; f++) folders[f] = a->folders[f];
        biff_agent_account(&agent, i, a->url.proto == BIFF_URL_IMAP ? BIFF_AGENT_IMAP : BIFF_AGENT_POP3, ids[i], a->name,
                           folders, a->n_folders);
        if (a->bad) {
            m->state = BIFF_STATE_ERROR;
            m->err = BIFF_ERR_CONFIG;
            snprintf(m->detail, sizeof m->detail, "account section has errors (see the log)");
        } else if (!rt[i].has_secret && a->enabled) {
            m->state = BIFF_STATE_ERROR;
            m->err = BIFF_ERR_CONFIG;
            if (a->secret_env[0]) {
                snprintf(m->detail, sizeof m->detail, "no secret: set %.60s or add it to the secrets file", a->secret_env);
            } else {
                snprintf(m->detail, sizeof m->detail, "no secret: add '%.31s = ...' to %.64s", a->name, cfg.globals.secrets);
            }
            log_msg(LOG_LVL_ERROR, "account %s: %s", a->name, m->detail);
        }
    }
    if (cfg.globals.max_parallel > MAX_SESSIONS) {
        log_msg(LOG_LVL_WARN, "max_parallel %u is more than this build runs at once; using %u",
                (unsigned)cfg.globals.max_parallel, (unsigned)MAX_SESSIONS);
        cfg.globals.max_parallel = MAX_SESSIONS;
    }
    uint32_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint32_t)time(NULL);
    biff_poller_init(&poller, pacct, pslot, cfg.n_accounts, cfg.globals.max_parallel, seed, (uint64_t)mono_ms());
    poller.idle_renew_ms = cfg.globals.idle_renew_s * 1000u;
}

/* ---- results into the agent ---- */

/* Returns the error class of the first folder whose STATUS failed (BIFF_ERR_NONE if none), its
 * text in detail. */
static biff_error_class record_imap(size_t i, session *s, char *detail, size_t cap)
{
    biff_account *a = &accts[i];
    biff_error_class folder_err = BIFF_ERR_NONE;
    for (unsigned f = 0; f < a->n_folders; f++) {
        const biff_imap_folder_result *r = biff_check_folder(&s->check, f);
        if (r && r->state == BIFF_IMAP_FOLDER_OK) {
            biff_agent_imap_folder(&agent, i, f, r);
        } else if (folder_err == BIFF_ERR_NONE) {
            folder_err = r && r->state == BIFF_IMAP_FOLDER_NO_DATA ? BIFF_ERR_PROTOCOL : BIFF_ERR_SERVER_ERROR;
            snprintf(detail, cap, "folder %.40s: %.70s", a->folders[f],
                     folder_err == BIFF_ERR_PROTOCOL ? "STATUS answered without counts"
                                                     : biff_check_folder_detail(&s->check));
        }
    }
    return folder_err;
}

static void on_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    session *s = ctx;
    (void)msgno;
    s->uid_count++;
    biff_agent_pop3_uid(&agent, s->acct, uid, len);
}

static void record_pop3(size_t i, session *s)
{
    const biff_pop3_result *res = biff_check_pop3(&s->check);
    biff_agent_pop3_end(&agent, i, res ? res->messages : 0, res && res->uidl);
}

/* ---- sessions ---- */

static void set_next_check(size_t i)
{
    uint64_t due = pslot[i].next_due_ms;
    int64_t now = mono_ms();
    model[i].next_check = due == UINT64_MAX ? 0 : wall_now() + (uint32_t)(((int64_t)due - now) / 1000);
}

static void session_end(session *s, biff_error_class err, const char *detail, int idling)
{
    size_t i = s->acct;
    biff_status_account *m = &model[i];
    int64_t now = mono_ms();
    pthread_mutex_lock(&web.lock);
    biff_agent_check_done(&agent, i, err, detail);
    if (err != BIFF_ERR_NONE) {
        log_msg(LOG_LVL_WARN, "account %s: %s: %s", accts[i].name, biff_error_class_name(err), m->detail);
    }
    if (pslot[i].state == BIFF_ACCT_IDLING) {
        /* The idle session died: checked again shortly; if the server is gone, that backs off. */
        biff_poller_idle_lost(&poller, i, (uint64_t)now);
        log_msg(LOG_LVL_INFO, "account %s: idle session lost; polling until IDLE works again", accts[i].name);
    } else {
        biff_poller_done(&poller, i, (uint64_t)now, err, idling);
    }
    set_next_check(i);
    pthread_mutex_unlock(&web.lock);
    if (!idling) {
        biff_check_clear(&s->check);
        if (s->tls_used) {
            if (err == BIFF_ERR_NONE) {
                if (rt[i].has_session) mbedtls_ssl_session_free(&rt[i].tls_session);
                mbedtls_ssl_session_init(&rt[i].tls_session);
                rt[i].has_session = biff_tls_save_session(&s->tls, &rt[i].tls_session) == 0;
            }
            biff_tls_close(&s->tls);
        }
        link_close(&s->l);
        s->used = 0;
    }
}

static biff_tls_status tls_begin(session *s)
{
    size_t i = s->acct;
    s->tls_used = 1;
    return biff_tls_start(&s->tls, s->trust, &s->l.transport, accts[i].url.host,
                          accts[i].has_pin ? accts[i].pin : NULL, rt[i].has_session ? &rt[i].tls_session : NULL);
}

/* TCP is up: TLS first for implicit TLS, else the check starts on the plain link. */
static void session_connected(session *s)
{
    s->connecting = 0;
    s->deadline = mono_ms() + CHECK_TIMEOUT_MS;
    if (accts[s->acct].security == BIFF_SECURITY_TLS) {
        if (tls_begin(s) != BIFF_TLS_OK) {
            session_end(s, BIFF_ERR_TLS, biff_tls_detail(&s->tls), 0);
            return;
        }
        s->last = BIFF_CHECK_NEED_TLS; /* handshake first, then the check */
        return;
    }
    s->last = biff_check_start(&s->check, &s->ca, &s->l.transport);
}

static void session_start(size_t i)
{
    session *s = NULL;
    for (size_t k = 0; k < MAX_SESSIONS; k++) {
        if (!sessions[k].used) {
            s = &sessions[k];
            break;
        }
    }
    if (!s) { /* cannot happen while max_parallel <= MAX_SESSIONS; never drop an account silently */
        log_msg(LOG_LVL_ERROR, "account %s: no free session slot; retrying later", accts[i].name);
        biff_poller_done(&poller, i, (uint64_t)mono_ms(), BIFF_ERR_NETWORK, 0);
        return;
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->acct = i;
    biff_account *a = &accts[i];
    pthread_mutex_lock(&web.lock);
    model[i].state = BIFF_STATE_CHECKING;
    pthread_mutex_unlock(&web.lock);
    log_msg(LOG_LVL_DEBUG, "account %s: checking", a->name);
    const char *why;
    s->trust = trust_for(a->ca, &why);
    if (a->security != BIFF_SECURITY_NONE && !s->trust) {
        session_end(s, BIFF_ERR_TLS, why, 0);
        return;
    }
    for (unsigned f = 0; f < a->n_folders; f++) s->folders[f] = a->folders[f];
    s->ca = (biff_check_account){
        .proto = a->url.proto == BIFF_URL_IMAP ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
        .security = a->security, .auth = BIFF_CHECK_AUTH_AUTO,
        .n_folders = a->url.proto == BIFF_URL_IMAP ? a->n_folders : 0,
        .idle = pacct[i].idle && !rt[i].no_idle,
        .host = a->url.host, .port = a->url.port, .user = a->url.user, .secret = rt[i].secret,
        .folders = s->folders,
    };
    if (biff_check_auth_from_name(a->url.auth, &s->ca.auth) != 0) {
        session_end(s, BIFF_ERR_CONFIG, "unknown ;AUTH= mechanism in the URL", 0);
        return;
    }
    if (s->ca.proto == BIFF_CHECK_POP3) {
        s->ca.on_uid = on_uid;
        s->ca.uid_ctx = s;
        /* The listing is compared with the recorded UIDs as it streams in. */
        biff_agent_pop3_begin(&agent, i, &s->scan);
    }
    /* Connect without blocking the loop: a dead host must not hold up the other accounts. */
    s->l.sock.fd = -1;
    biff_net_status ns = biff_net_posix_connect_start(&s->l.sock, a->url.host, a->url.port, &s->l.transport);
    if (ns == BIFF_NET_PENDING) {
        s->connecting = 1;
        s->want_write = 1;
        s->deadline = mono_ms() + CONNECT_TIMEOUT_MS;
        return;
    }
    if (ns != BIFF_NET_OK) {
        session_end(s, BIFF_ERR_NETWORK, s->l.sock.detail, 0);
        return;
    }
    session_connected(s);
}

/* Advance one session as far as it goes without blocking. */
static void session_run(session *s)
{
    size_t i = s->acct;
    if (s->connecting) {
        int fd = s->l.sock.fd;
        biff_net_status ns = biff_net_posix_connect_step(&s->l.sock, &s->l.transport);
        if (ns == BIFF_NET_PENDING) {
            if (s->l.sock.fd != fd) s->deadline = mono_ms() + CONNECT_TIMEOUT_MS; /* next address */
            return;
        }
        if (ns != BIFF_NET_OK) {
            session_end(s, BIFF_ERR_NETWORK, s->l.sock.detail, 0);
            return;
        }
        session_connected(s);
        if (!s->used) return;
    }
    for (;;) {
        if (s->last == BIFF_CHECK_NEED_TLS) {
            if (!s->tls_used && tls_begin(s) != BIFF_TLS_OK) {
                session_end(s, BIFF_ERR_TLS, biff_tls_detail(&s->tls), 0);
                return;
            }
            biff_tls_status ts = biff_tls_handshake(&s->tls);
            if (ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
                s->want_write = ts == BIFF_TLS_WANT_WRITE;
                return;
            }
            if (ts != BIFF_TLS_OK) {
                session_end(s, ts == BIFF_TLS_E_NET ? BIFF_ERR_NETWORK : BIFF_ERR_TLS, biff_tls_detail(&s->tls), 0);
                return;
            }
            snprintf(model[i].tls, sizeof model[i].tls, "%s", biff_tls_version(&s->tls));
            if (accts[i].security == BIFF_SECURITY_TLS && s->check.acct == NULL) {
                s->last = biff_check_start(&s->check, &s->ca, biff_tls_transport(&s->tls));
            } else {
                s->last = biff_check_tls_started(&s->check, biff_tls_transport(&s->tls));
            }
            continue;
        }
        biff_check_status st = biff_check_step(&s->check);
        s->last = st;
        switch (st) {
        case BIFF_CHECK_WANT_READ:
        case BIFF_CHECK_WANT_WRITE:
            s->want_write = st == BIFF_CHECK_WANT_WRITE;
            /* An idle session that left IDLE (news pushed, renewal) waits for answers again:
             * a server that ignores DONE must not keep the account "ok" forever. */
            if (s->idling && s->deadline == INT64_MAX && !biff_check_idling(&s->check)) {
                s->deadline = mono_ms() + CHECK_TIMEOUT_MS;
            }
            return;
        case BIFF_CHECK_NEED_TLS:
            continue;
        case BIFF_CHECK_RESULT: {
            char fdetail[BIFF_STATUS_DETAIL_MAX] = "";
            pthread_mutex_lock(&web.lock);
            biff_agent_check_done(&agent, i, record_imap(i, s, fdetail, sizeof fdetail), fdetail);
            pthread_mutex_unlock(&web.lock);
            if (!s->idling) s->deadline = mono_ms() + IDLE_CONFIRM_MS;
            continue;
        }
        case BIFF_CHECK_IDLING:
            if (!s->idling || s->renewing) {
                log_msg(LOG_LVL_INFO, "account %s: idling on %s", accts[i].name, s->folders[0]);
                pthread_mutex_lock(&web.lock);
                biff_poller_done(&poller, i, (uint64_t)mono_ms(), BIFF_ERR_NONE, 1);
                set_next_check(i);
                pthread_mutex_unlock(&web.lock);
            }
            s->idling = 1;
            s->renewing = 0;
            s->deadline = INT64_MAX; /* silence is normal now; keepalive and renewal watch it */
            continue;
        case BIFF_CHECK_DONE: {
            biff_error_class ferr = BIFF_ERR_NONE;
            char fdetail[BIFF_STATUS_DETAIL_MAX] = "";
            pthread_mutex_lock(&web.lock);
            if (s->ca.proto == BIFF_CHECK_IMAP) {
                if (!s->check.checked) { /* closed before answering: treat as failure */
                    pthread_mutex_unlock(&web.lock);
                    session_end(s, BIFF_ERR_PROTOCOL, "server closed the session before answering", 0);
                    return;
                }
                if (!s->ca.idle) ferr = record_imap(i, s, fdetail, sizeof fdetail);
                else memcpy(fdetail, model[i].detail, sizeof fdetail);
            } else {
                record_pop3(i, s);
            }
            pthread_mutex_unlock(&web.lock);
            session_end(s, ferr, ferr == BIFF_ERR_NONE ? NULL : fdetail, 0);
            return;
        }
        default: {
            const char *d = "";
            biff_error_class err = biff_check_error(&s->check, &d);
            session_end(s, err == BIFF_ERR_NONE ? BIFF_ERR_PROTOCOL : err, d, 0);
            return;
        }
        }
    }
}

static void session_timeout(session *s)
{
    if (s->connecting) {
        biff_net_status ns = biff_net_posix_connect_next(&s->l.sock, &s->l.transport);
        if (ns == BIFF_NET_PENDING) {
            s->deadline = mono_ms() + CONNECT_TIMEOUT_MS;
        } else if (ns == BIFF_NET_OK) {
            session_connected(s);
            if (s->used) session_run(s);
        } else {
            session_end(s, BIFF_ERR_NETWORK, s->l.sock.detail, 0);
        }
        return;
    }
    if (s->check.acct && s->ca.idle && !s->idling && s->check.checked) {
        /* Results came, but IDLE was not confirmed: this server cannot be watched. Poll it. */
        rt[s->acct].no_idle = 1;
        log_msg(LOG_LVL_INFO, "account %s: server does not offer IDLE; polling", accts[s->acct].name);
        s->ca.idle = 0;
        s->deadline = mono_ms() + CHECK_TIMEOUT_MS;
        s->last = biff_check_logout(&s->check);
        session_run(s);
        return;
    }
    biff_check_abort(&s->check, BIFF_ERR_NETWORK, "no answer from the server in time");
    session_end(s, BIFF_ERR_NETWORK, "no answer from the server in time", 0);
}

static char status_buf[2 * 1024 * 1024];

static int render_status(const char **out, size_t *len)
{
    pthread_mutex_lock(&web.lock);
    biff_status_status st = biff_status_json(status_buf, sizeof status_buf, len, model, cfg.n_accounts,
                                             wall_now(), web.problem);
    pthread_mutex_unlock(&web.lock);
    *out = status_buf;
    return st == BIFF_STATUS_OK ? 0 : -1;
}

/* `tinybiff ack` (ctl.c, from this loop): carried out before the answer, so a status asked
 * right after it already shows the acknowledge. */
static void acknowledge_now(void)
{
    pthread_mutex_lock(&web.lock);
    biff_agent_request(&agent, BIFF_AGENT_REQ_ACK);
    biff_agent_service(&agent);
    pthread_mutex_unlock(&web.lock);
}

/* `tinybiff ack` / `tinybiff status` (ctl.c) */
static ctl_server ctl = { .fd = -1 };
static const ctl_ops ctl_hooks = { render_status, acknowledge_now };

static void ctl_setup(void)
{
    char detail[256];
    if (!cfg.globals.control[0]) ctl_close(&ctl);
    else if (ctl_listen(&ctl, cfg.globals.control, detail, sizeof detail) != CTL_OK)
        log_msg(LOG_LVL_ERROR, "control socket: %s; `tinybiff ack` and `status` will not work", detail);
}

static void write_status_json(void)
{
    const char *buf;
    size_t len;
    if (!cfg.globals.status_json[0]) return;
    if (render_status(&buf, &len) != 0) return;
    /* Written only when something besides "now" changed: a router's flash wears. */
    static uint32_t last_crc;
    static int written;
    const char *body = memchr(buf, ',', len);
    uint32_t crc = body ? biff_store_crc32(0, body, len - (size_t)(body - buf)) : 0;
    if (written && crc == last_crc) return;
    /* A new file renamed into place: atomic for readers, and no link at the path is followed
     * (the path may be in /tmp). */
    biff_sfile_status fs = biff_sfile_write(cfg.globals.status_json, buf, len, 0644);
    if (fs != BIFF_SFILE_OK) {
        char why[256];
        log_msg(LOG_LVL_WARN, "status_json: cannot write %s: %s", cfg.globals.status_json,
                biff_sfile_explain(fs, cfg.globals.status_json, why, sizeof why));
        return;
    }
    last_crc = crc;
    written = 1;
}

static void close_all(void)
{
    for (size_t k = 0; k < MAX_SESSIONS; k++) {
        session *s = &sessions[k];
        if (!s->used) continue;
        biff_check_clear(&s->check);
        if (s->tls_used) biff_tls_close(&s->tls);
        link_close(&s->l);
        s->used = 0;
    }
    for (size_t i = 0; i < rt_touched; i++) {
        if (rt[i].has_session) mbedtls_ssl_session_free(&rt[i].tls_session);
        rt[i].has_session = 0;
        memset(rt[i].secret, 0, sizeof rt[i].secret);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tinybiff run -c FILE [-v]\n"
               "  -c FILE   UCI config (e.g. /etc/config/tinybiff)\n"
               "  -v        debug logging\n"
               "Signals: SIGTERM/SIGINT stop (state flushed), SIGHUP reloads the config.\n");
}

int cmd_run(int argc, char **argv)
{
    int c, verbose = 0;
    optind = 1;
    while ((c = getopt(argc, argv, "c:vh")) != -1) {
        if (c == 'c') config_path = optarg;
        else if (c == 'v') verbose = 1;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!config_path) {
        usage(stderr);
        return 2;
    }
    log_setup(0, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (load_config() != 0) {
        log_msg(LOG_LVL_ERROR, "%s: not starting with this config", config_path);
        return 1;
    }
    log_setup(cfg.globals.log == BIFF_LOG_SYSLOG, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (pipe(wake_pipe) != 0) return 1;
    for (int k = 0; k < 2; k++) fcntl(wake_pipe[k], F_SETFL, O_NONBLOCK), fcntl(wake_pipe[k], F_SETFD, FD_CLOEXEC);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    setup_accounts();

    uint8_t rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return 1;
    for (int k = 0; k < 16; k++) snprintf(web.csrf + 2 * k, 3, "%02x", rnd[k]);
    web.accts = model;
    web.agent = &agent;
    web.n = cfg.n_accounts;
    web.wake_fd = wake_pipe[1];
    if (cfg.globals.status_bind[0]) {
        unsigned port = 0;
        if (httpd_start(cfg.globals.status_bind, cfg.globals.status_host, cfg.globals.n_status_hosts, &web, &port) == 0) {
            char host[64];
            snprintf(host, sizeof host, "%s", cfg.globals.status_bind);
            char *colon = strrchr(host, ':');
            if (colon) *colon = 0;
            log_msg(LOG_LVL_INFO, "status page: http://%s:%u/ (JSON: /status.json)", host, port);
        }
    }
    ctl_setup();
    log_msg(LOG_LVL_INFO, "watching %u account(s), up to %u checks at once", (unsigned)cfg.n_accounts,
            (unsigned)cfg.globals.max_parallel);

    int64_t last_json = 0;
    while (!got_term) {
        int64_t now = mono_ms();
        if (got_hup) {
            got_hup = 0;
            log_msg(LOG_LVL_INFO, "SIGHUP: reloading %s", config_path);
            static biff_account old[MAX_ACCOUNTS];
            static biff_led_config old_leds[MAX_LEDS];
            /* only the accounts in use: every page of these arrays touched is resident memory */
            uint16_t old_n = cfg.n_accounts;
            memcpy(old, accts, old_n * sizeof accts[0]);
            memcpy(old_leds, leds, sizeof leds);
            biff_uci_config saved = cfg;
            if (load_config() != 0) {
                log_msg(LOG_LVL_ERROR, "%s: reload refused; keeping the running config", config_path);
                memcpy(accts, old, old_n * sizeof accts[0]);
                memcpy(leds, old_leds, sizeof leds);
                cfg = saved;
                cfg.n_accounts = old_n;
            } else {
                close_all();
                state_close(&store); /* re-bound to the new account list below */
                pthread_mutex_lock(&web.lock);
                setup_accounts();
                web.n = cfg.n_accounts;
                pthread_mutex_unlock(&web.lock);
                ctl_setup();
            }
        }
        pthread_mutex_lock(&web.lock);
        biff_agent_service(&agent); /* an acknowledge the status page asked for */
        pthread_mutex_unlock(&web.lock);
        size_t idx;
        while (biff_poller_next(&poller, (uint64_t)now, &idx)) {
            session *open = NULL;
            for (size_t k = 0; k < MAX_SESSIONS; k++) {
                if (sessions[k].used && sessions[k].acct == idx && sessions[k].idling) open = &sessions[k];
            }
            if (open) { /* renewal of an idle session: recheck on it */
                open->renewing = 1;
                open->last = biff_check_recheck(&open->check);
                open->deadline = now + CHECK_TIMEOUT_MS;
                session_run(open);
            } else {
                session_start(idx);
                for (size_t k = 0; k < MAX_SESSIONS; k++) {
                    if (sessions[k].used && sessions[k].acct == idx && !sessions[k].idling) session_run(&sessions[k]);
                }
            }
        }
        leds_update(leds, cfg.n_leds, model, cfg.n_accounts);
        if (now - last_json >= 1000) {
            write_status_json();
            last_json = now;
        }

        struct pollfd pfd[MAX_SESSIONS + 2];
        session *who[MAX_SESSIONS + 2];
        nfds_t n = 0;
        pfd[n] = (struct pollfd){ .fd = wake_pipe[0], .events = POLLIN };
        who[n++] = NULL;
        pfd[n] = (struct pollfd){ .fd = ctl.fd, .events = POLLIN }; /* -1: poll skips it */
        who[n++] = NULL;
        int64_t wake = now + 1000; /* LEDs, status JSON */
        uint64_t due = biff_poller_next_deadline(&poller);
        if (due < (uint64_t)wake) wake = (int64_t)due;
        for (size_t k = 0; k < MAX_SESSIONS; k++) {
            session *s = &sessions[k];
            if (!s->used) continue;
            pfd[n] = (struct pollfd){ .fd = s->l.sock.fd, .events = (short)(s->want_write ? POLLOUT : POLLIN) };
            who[n++] = s;
            if (s->deadline < wake) wake = s->deadline;
        }
        int timeout = wake > now ? (int)(wake - now) : 0;
        int r = poll(pfd, n, timeout);
        if (r < 0 && errno != EINTR) break;
        if (pfd[0].revents) {
            char drain[64];
            while (read(wake_pipe[0], drain, sizeof drain) > 0) {
            }
        }
        if (pfd[1].revents & POLLIN) ctl_serve(&ctl, &ctl_hooks);
        now = mono_ms();
        for (nfds_t k = 2; k < n; k++) {
            session *s = who[k];
            if (!s->used) continue;
            if (pfd[k].revents) session_run(s);
            else if (now >= s->deadline) session_timeout(s);
        }
    }
    log_msg(LOG_LVL_INFO, "stopping");
    httpd_stop();
    ctl_close(&ctl);
    /* Idle sessions get a polite LOGOUT would be nice, but a stop must be quick: just close. */
    close_all();
    secret_env_wipe();
    write_status_json();
    leds_off(leds, cfg.n_leds);
    state_close(&store);
    trust_free();
    mbedtls_psa_crypto_free();
    return 0;
}

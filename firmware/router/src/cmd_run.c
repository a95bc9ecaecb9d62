/*
 * `tinybiff run -c FILE`: the daemon, a host of the agent (biff/agent.h). One thread runs the
 * agent's step function and polls the sockets of its sessions (run_port.c); libmicrohttpd serves
 * the status page from its own thread, reading the status model under a lock the agent takes
 * while it changes the model, and asks for an acknowledge through biff_agent_request(). SIGTERM/SIGINT stop it cleanly
 * (state flushed), SIGHUP reloads the config (a broken new config is refused and the old one kept).
 */
#define _DEFAULT_SOURCE
#include "cmd_run.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "biff/agent.h"
#include "biff/status.h"
#include "biff/tls.h"
#include "biff/uci.h"
#include "ctl.h"
#include "httpd.h"
#include "leds.h"
#include "log.h"
#include "psa/crypto.h"
#include "run_accounts.h"
#include "run_config.h"
#include "run_events.h"
#include "run_mqtt.h"
#include "run_oauth.h"
#include "run_port.h"
#include "run_wake.h"
#include "secret_env.h"
#include "state.h"
#include "status_file.h"
#include "trust.h"

#define MAX_ACCOUNTS BIFF_RUN_MAX_ACCOUNTS /* the board's settings (biff_settings.h) */
_Static_assert(MAX_ACCOUNTS <= BIFF_SYNC_MAX_ACCOUNTS, "every account keeps its sync state");
#define MAX_SESSIONS RUN_PORT_SESSIONS
#define MAX_LEDS     16

static biff_account accts[MAX_ACCOUNTS];
static run_account_rt rt[MAX_ACCOUNTS];
static biff_led_config leds[MAX_LEDS];
static biff_uci_config cfg;
static biff_status_account model[MAX_ACCOUNTS];
/* The agent keeps the sync state and decides unseen/new; the model is what it shows. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[MAX_ACCOUNTS];
static biff_agent_account_cfg acfg[MAX_ACCOUNTS];
static biff_poller_account sched[MAX_ACCOUNTS];
static biff_poller_slot slots[MAX_ACCOUNTS];
static biff_agent_session sessions[MAX_SESSIONS];
static cli_state store;
static httpd_shared web = { .lock = PTHREAD_MUTEX_INITIALIZER };
static const char *config_path;
static char secrets_text[64 * 1024];
static size_t secrets_len;

static int load_config(void)
{
    return run_config_load(config_path, &cfg, accts, MAX_ACCOUNTS, leds, MAX_LEDS, secrets_text, sizeof secrets_text,
                           &secrets_len);
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

static void port_lock(void *ctx, int on)
{
    (void)ctx;
    if (on)
        pthread_mutex_lock(&web.lock);
    else
        pthread_mutex_unlock(&web.lock);
}

/* The account's own CA (option ca in its section) or the global one (trust.c); OAuth2 token
 * endpoints get the global one. */
static biff_tls_ctx *port_tls(void *ctx, size_t i, const char **why)
{
    (void)ctx;
    return trust_for(i < cfg.n_accounts ? accts[i].ca : "", why);
}

/* Called with web.lock held. */
static void on_agent_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    const char *name = ev->account < cfg.n_accounts ? accts[ev->account].name : "";
    switch (ev->kind) {
    case BIFF_AGENT_EV_PROBLEM:
        if (ev->text[0]) {
            log_msg(LOG_LVL_ERROR, "state: cannot write (flash full or failing); keeping the old state");
            set_problem(PROBLEM_STATE_WRITE, ev->text);
        } else if (problem_kind == PROBLEM_STATE_WRITE) {
            set_problem(PROBLEM_NONE, "");
        }
        break;
    default: run_events_log(name, ev); break;
    }
}

static biff_agent_port agent_port = {
    .event = on_agent_event, .tls = port_tls, .lock = port_lock, .oauth_save = run_oauth_save
};

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
    size_t need;
    run_oauth_clear();
    memset(rt, 0, (cfg.n_accounts > rt_touched ? cfg.n_accounts : rt_touched) * sizeof rt[0]);
    rt_touched = cfg.n_accounts;
    trust_load(cfg.globals.ca, accts, cfg.n_accounts);
    run_accounts_cfg(&cfg, accts, secrets_text, secrets_len, rt, acfg, ids, &need);
    run_mqtt_secret(&cfg.mqtt, secrets_text, secrets_len);
    /* Each account has its copy now; the file's text is not kept. */
    explicit_bzero(secrets_text, secrets_len);
    secrets_len = 0;
    open_state(ids, need);
    biff_agent_init(&agent, &agent_port, store.open ? &store.st : NULL, mailboxes, model, cfg.n_accounts, 0);
    run_accounts_register(&agent, &cfg, accts, rt, ids, acfg, model);
    if (cfg.globals.max_parallel > MAX_SESSIONS) {
        log_msg(LOG_LVL_WARN, "max_parallel %u is more than this build runs at once; using %u",
                (unsigned)cfg.globals.max_parallel, (unsigned)MAX_SESSIONS);
        cfg.globals.max_parallel = MAX_SESSIONS;
    }
    biff_agent_drive(&agent, acfg, sched, slots, sessions, cfg.globals.max_parallel ? cfg.globals.max_parallel : 1);
    biff_agent_idle_renew(&agent, cfg.globals.idle_renew_s * 1000u);
}

static char status_buf[2 * 1024 * 1024];

static int render_status(const char **out, size_t *len)
{
    pthread_mutex_lock(&web.lock);
    biff_status_status st = biff_status_json(status_buf, sizeof status_buf, len, model, cfg.n_accounts,
                                             (uint32_t)time(NULL), web.problem, &web.mqtt);
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
    if (!cfg.globals.control[0])
        ctl_close(&ctl);
    else if (ctl_listen(&ctl, cfg.globals.control, detail, sizeof detail) != CTL_OK)
        log_msg(LOG_LVL_ERROR, "control socket: %s; `tinybiff ack` and `status` will not work", detail);
}

static void write_status_json(void)
{
    const char *buf;
    size_t len;
    if (cfg.globals.status_json[0] && render_status(&buf, &len) == 0)
        status_file_write(cfg.globals.status_json, buf, len);
}

static void close_all(void)
{
    run_mqtt_stop();
    biff_agent_stop(&agent);
    run_accounts_release(rt, rt_touched);
    run_oauth_clear();
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
        if (c == 'c')
            config_path = optarg;
        else if (c == 'v')
            verbose = 1;
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
    int wake_w = run_wake_setup();
    if (wake_w < 0) return 1;

    run_port_init(&agent_port);
    run_oauth_init(cfg.globals.secrets, accts, 1);
    setup_accounts();
    run_mqtt_setup(&cfg, &agent, &web.mqtt);

    uint8_t rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return 1;
    for (int k = 0; k < 16; k++) snprintf(web.csrf + 2 * k, 3, "%02x", rnd[k]);
    web.accts = model;
    web.agent = &agent;
    web.n = cfg.n_accounts;
    web.wake_fd = wake_w;
    if (cfg.globals.status_bind[0]) {
        unsigned port = 0;
        if (httpd_start(cfg.globals.status_bind, cfg.globals.status_host, cfg.globals.n_status_hosts, &web, &port) ==
            0) {
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
    while (!run_wake_term) {
        int64_t now = run_port_ms();
        if (run_wake_hup) {
            run_wake_hup = 0;
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
                run_mqtt_setup(&cfg, &agent, &web.mqtt);
                ctl_setup();
            }
        }
        uint64_t due = biff_agent_step(&agent), due_mqtt = run_mqtt_step();
        if (due_mqtt < due) due = due_mqtt;
        leds_update(leds, cfg.n_leds, model, cfg.n_accounts);
        if (now - last_json >= 1000) {
            write_status_json();
            last_json = now;
        }

        struct pollfd pfd[MAX_SESSIONS + 3];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){ .fd = run_wake_fd(), .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = ctl.fd, .events = POLLIN }; /* -1: poll skips it */
        run_port_pollfds(&agent, pfd, &n, MAX_SESSIONS + 3);
        run_mqtt_pollfds(pfd, &n, MAX_SESSIONS + 3);
        int64_t wake = now + 1000; /* LEDs, status JSON */
        if (due < (uint64_t)wake) wake = (int64_t)due;
        now = run_port_ms();
        if (poll(pfd, n, wake > now ? (int)(wake - now) : 0) < 0 && errno != EINTR) break;
        if (pfd[0].revents) run_wake_drain();
        if (pfd[1].revents & POLLIN) ctl_serve(&ctl, &ctl_hooks);
    }
    log_msg(LOG_LVL_INFO, "stopping");
    httpd_stop();
    ctl_close(&ctl);
    /* Idle sessions get a polite LOGOUT would be nice, but a stop must be quick: just close. */
    close_all();
    write_status_json();
    leds_off(leds, cfg.n_leds);
    state_close(&store);
    secret_env_wipe();
    trust_free();
    mbedtls_psa_crypto_free();
    return 0;
}

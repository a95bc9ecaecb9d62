/*
 * `tinybiff auth ACCOUNT -c FILE`: the device authorization of one OAuth2 account in the
 * terminal, for a router set up over ssh. The same agent and port as `tinybiff run`: the code is
 * printed, the agent polls until the user approved it on another device, keeps the refresh
 * token in the secrets file (run_oauth.c), checks the account once with the new token and says
 * what it found. A running daemon takes the new token at its next reload (SIGHUP).
 */
#define _DEFAULT_SOURCE
#include "cmd_auth.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "biff/agent.h"
#include "biff/uci.h"
#include "log.h"
#include "run_accounts.h"
#include "run_config.h"
#include "run_oauth.h"
#include "run_port.h"
#include "trust.h"

#define MAX_ACCOUNTS 512

static biff_account accts[MAX_ACCOUNTS];
static biff_account one[1];
static biff_led_config leds[16];
static biff_uci_config cfg;
static char secrets[64 * 1024];
static biff_agent agent;
static biff_agent_mailbox mailbox[1];
static biff_status_account model[1];
static biff_agent_account_cfg acfg[1];
static run_account_rt rt[1];
static uint32_t ids[1];
static biff_poller_account sched[1];
static biff_poller_slot slots[1];
static biff_agent_session session[1];
static int result = -1; /* 0 done, 1 failed, -1 still running */
static int started;     /* the flow has begun (a later "needs authorization" ends it) */

static biff_tls_ctx *port_tls(void *ctx, size_t i, const char **why)
{
    (void)ctx;
    return trust_for(i == BIFF_AGENT_TLS_TOKEN ? "" : one[0].ca, why);
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_AUTH_CODE) {
        printf("To authorize tinybiff for account %s, open\n\n    %s\n\nand enter the code\n\n    %s\n\n"
               "(the code expires in %u min)\n",
               one[0].name, biff_oauth_verification_uri(ev->oauth), ev->text, (unsigned)(ev->count + 59) / 60);
        fflush(stdout);
    } else if (ev->kind == BIFF_AGENT_EV_AUTH) {
        if (ev->count == BIFF_AUTH_WORKING || ev->count == BIFF_AUTH_WAITING) started = 1;
        if (!started) return; /* the state before the flow */
        const char *more = biff_oauth_detail(ev->oauth);
        printf("%s%s%s\n", ev->text, *more ? ": " : "", more);
        fflush(stdout);
        if (ev->count == BIFF_AUTH_NEEDED || ev->count == BIFF_AUTH_BROKEN) result = 1;
    } else if (ev->kind == BIFF_AGENT_EV_CHECKED && biff_oauth_get_state(&acfg[0].oauth->o) == BIFF_OAUTH_AUTHORIZED) {
        if (ev->count == BIFF_ERR_NONE) {
            printf("authorized: %s has %u unread, checked with the new token\n", one[0].name,
                   (unsigned)biff_status_total(&model[0], 0));
            result = 0;
        } else {
            printf("authorized, but the check failed: %s: %s\n", biff_error_class_name((biff_error_class)ev->count),
                   ev->text);
            result = 1;
        }
        fflush(stdout);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tinybiff auth ACCOUNT -c FILE\n"
               "  Authorize the OAuth2 account ACCOUNT (option auth 'oauth2') of the UCI config FILE:\n"
               "  shows a code to enter on another device, then keeps the refresh token in the\n"
               "  secrets file. Reload a running daemon afterwards (SIGHUP).\n");
}

int cmd_auth(int argc, char **argv)
{
    const char *path = NULL, *name = NULL;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "c:h")) != -1) {
        if (c == 'c') {
            path = optarg;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) name = argv[optind++];
    if (optind < argc && !path && !strcmp(argv[optind], "-c") && optind + 1 < argc) path = argv[optind + 1];
    if (!path || !name) {
        usage(stderr);
        return 2;
    }
    log_setup(0, LOG_LVL_INFO);
    size_t slen = 0;
    if (run_config_load(path, &cfg, accts, MAX_ACCOUNTS, leds, 16, secrets, sizeof secrets, &slen) != 0) return 1;
    size_t i = 0;
    while (i < cfg.n_accounts && strcmp(accts[i].name, name) != 0) i++;
    if (i == cfg.n_accounts) {
        fprintf(stderr, "tinybiff auth: %s has no account '%s'\n", path, name);
        return 2;
    }
    one[0] = accts[i];
    biff_account *a = &one[0];
    if (a->bad || !a->oauth2) {
        fprintf(stderr, "tinybiff auth: account '%s' %s\n", name,
                a->bad ? "has errors (see above)" : "is not an OAuth2 account (option auth 'oauth2')");
        return 2;
    }
    static biff_agent_port port = { .event = on_event, .tls = port_tls, .oauth_save = run_oauth_save };
    run_port_init(&port);
    trust_load(cfg.globals.ca, one, 1);
    run_oauth_init(cfg.globals.secrets, one, 0);
    /* The daemon's way of turning the account into what the agent runs, for this one account. */
    static biff_uci_config one_cfg;
    one_cfg = cfg;
    one_cfg.n_accounts = 1;
    size_t need;
    run_accounts_cfg(&one_cfg, one, secrets, slen, rt, acfg, ids, &need);
    explicit_bzero(secrets, slen); /* rt holds what it needs */
    biff_agent_init(&agent, &port, NULL, mailbox, model, 1, 0);
    run_accounts_register(&agent, &one_cfg, one, rt, ids, acfg, model);
    if (!acfg[0].oauth) {
        fprintf(stderr, "tinybiff auth: account '%s': %s\n", name, model[0].detail);
        return 1;
    }
    biff_agent_drive(&agent, acfg, sched, slots, session, 1);
    biff_agent_authorize(&agent, 0);
    while (result < 0) {
        uint64_t due = biff_agent_step(&agent);
        if (result >= 0) break;
        struct pollfd pfd[2];
        nfds_t n = 0;
        run_port_pollfds(&agent, pfd, &n, 2);
        int64_t now = run_port_ms(), wait = due > (uint64_t)now + 1000 ? 1000 : (int64_t)due - now;
        poll(pfd, n, wait > 0 ? (int)wait : 0);
    }
    biff_agent_stop(&agent);
    run_oauth_clear();
    run_accounts_release(rt, 1); /* the session a check kept for resumption, the secret */
    trust_free();
    return result;
}

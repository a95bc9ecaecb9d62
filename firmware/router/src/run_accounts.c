#define _DEFAULT_SOURCE /* explicit_bzero */
#include "run_accounts.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "run_oauth.h"
#include "secret_env.h"
#include "state.h"

void run_accounts_cfg(const biff_uci_config *cfg, const biff_account *accts, const char *secrets, size_t secrets_len,
                      run_account_rt *rt, biff_agent_account_cfg *acfg, uint32_t *ids, size_t *state_need)
{
    *state_need = 0;
    for (size_t i = 0; i < cfg->n_accounts; i++) {
        const biff_account *a = &accts[i];
        run_account_rt *r = &rt[i];
        int imap = a->url.proto == BIFF_URL_IMAP;
        ids[i] = biff_agent_account_id(imap, a->url.user, a->url.host, a->url.port);
        *state_need += state_bytes(imap, a->n_folders);
        if (a->secret_env[0] && secret_env_take(a->secret_env, r->secret, sizeof r->secret) == 0) {
            r->has_secret = 1;
        } else if (biff_uci_secret(secrets, secrets_len, a->name, r->secret, sizeof r->secret) == BIFF_UCI_OK) {
            r->has_secret = 1;
        }
        for (unsigned f = 0; f < a->n_folders; f++) r->folders[f] = a->folders[f];
        acfg[i] = (biff_agent_account_cfg){
            .check = { .proto = imap ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
                       .security = a->security,
                       .n_folders = imap ? a->n_folders : 0,
                       .idle = imap && a->idle,
                       .host = a->url.host,
                       .port = a->url.port,
                       .user = a->url.user,
                       .secret = r->secret,
                       .folders = r->folders },
            .pin = a->has_pin ? a->pin : NULL,
            .resume = &r->tls_session,
            .interval_ms = (a->interval_s ? a->interval_s : cfg->globals.interval_s) * 1000u,
            .enabled = a->enabled && (r->has_secret || a->oauth2),
        };
    }
}

/* Why account a cannot run, into detail[cap]; NULL when it can. */
static const char *config_problem(const biff_uci_config *cfg, const biff_account *a, const run_account_rt *r,
                                  int bad_auth, int oauth_bad, char *detail, size_t cap)
{
    if (a->bad) return "account section has errors (see the log)";
    if (bad_auth) return "unknown ;AUTH= mechanism in the URL";
    if (oauth_bad) return "OAuth2 account not run (see the log)";
    if (r->has_secret || !a->enabled || a->oauth2) return NULL;
    if (a->secret_env[0])
        snprintf(detail, cap, "no secret: set %.60s or add it to the secrets file", a->secret_env);
    else
        snprintf(detail, cap, "no secret: add '%.31s = ...' to %.64s", a->name, cfg->globals.secrets);
    return detail;
}

void run_accounts_register(biff_agent *ag, const biff_uci_config *cfg, const biff_account *accts,
                           const run_account_rt *rt, const uint32_t *ids, biff_agent_account_cfg *acfg,
                           biff_status_account *model)
{
    for (size_t i = 0; i < cfg->n_accounts; i++) {
        const biff_account *a = &accts[i];
        biff_status_account *m = &model[i];
        const char *folders[BIFF_ACCOUNT_MAX_FOLDERS];
        for (unsigned f = 0; f < a->n_folders; f++) folders[f] = a->folders[f];
        biff_agent_account(ag, i, a->url.proto == BIFF_URL_IMAP ? BIFF_AGENT_IMAP : BIFF_AGENT_POP3, ids[i], a->name,
                           folders, a->n_folders);
        int bad_auth = biff_check_auth_from_name(a->url.auth, &acfg[i].check.auth) != 0;
        /* OAuth2: the secrets file's entry is the refresh token (run_oauth.c) */
        int oauth_bad = a->oauth2 && !a->bad && !bad_auth &&
                        run_oauth_account(ag, i, a, &acfg[i], rt[i].has_secret ? rt[i].secret : "") != 0;
        char detail[sizeof m->detail];
        const char *why = config_problem(cfg, a, &rt[i], bad_auth, oauth_bad, detail, sizeof detail);
        if (!why) continue;
        if (a->bad || bad_auth || oauth_bad) acfg[i].enabled = 0;
        m->state = BIFF_STATE_ERROR;
        m->err = BIFF_ERR_CONFIG;
        snprintf(m->detail, sizeof m->detail, "%s", why);
        /* errors in the section, an unknown ;AUTH= and OAuth2 settings have their lines in the log */
        if (why == detail) log_msg(LOG_LVL_ERROR, "account %s: %s", a->name, m->detail);
    }
}

void run_accounts_release(run_account_rt *rt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rt[i].tls_session.valid) mbedtls_ssl_session_free(&rt[i].tls_session.session);
        rt[i].tls_session.valid = 0;
        explicit_bzero(rt[i].secret, sizeof rt[i].secret);
        rt[i].has_secret = 0;
    }
}

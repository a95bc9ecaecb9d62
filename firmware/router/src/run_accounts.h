/* `tinybiff run`: the config's accounts turned into what the agent runs (biff/agent.h). */
#ifndef TINYBIFF_RUN_ACCOUNTS_H
#define TINYBIFF_RUN_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "biff/agent.h"
#include "biff/status.h"
#include "biff/uci.h"

/* Per account, beyond the config: its secret, folder names and TLS session for resumption. */
typedef struct {
    char secret[2048]; /* a password, or an OAuth2 account's refresh token */
    int has_secret;
    const char *folders[BIFF_ACCOUNT_MAX_FOLDERS];
    biff_agent_resume tls_session;
} run_account_rt;

/**
 * Fill acfg[i], rt[i] and ids[i] for the cfg->n_accounts accounts in accts: the secret (the
 * environment variable the account names, else the secrets text), folders, interval, the TLS
 * resumption slot. *state_need: the sync state bytes they take (state_bytes).
 */
void run_accounts_cfg(const biff_uci_config *cfg, const biff_account *accts, const char *secrets, size_t secrets_len,
                      run_account_rt *rt, biff_agent_account_cfg *acfg, uint32_t *ids, size_t *state_need);

/**
 * Name each account to the agent (after biff_agent_init), an OAuth2 one with its token
 * lifecycle (run_oauth.c; its secret is the stored refresh token). An account that cannot run
 * (errors in its section, an unknown ;AUTH=, OAuth2 settings it cannot use, no secret) is
 * disabled in acfg[i] and its reason put into model[i] and the log.
 */
void run_accounts_register(biff_agent *ag, const biff_uci_config *cfg, const biff_account *accts,
                           const run_account_rt *rt, const uint32_t *ids, biff_agent_account_cfg *acfg,
                           biff_status_account *model);

/** Free the TLS sessions kept for resumption and wipe the secrets of rt[0..n-1] (at exit, reload). */
void run_accounts_release(run_account_rt *rt, size_t n);

#endif

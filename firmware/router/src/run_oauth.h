/*
 * OAuth2 accounts of `tinybiff run` and `tinybiff auth` (issue 16): the agent runs the token
 * lifecycle (biff/agent.h, "OAuth2"); this file gives it its buffers, keeps the refresh token in
 * the secrets file and says what happens on the log.
 *
 * The secrets file entry of an OAuth2 account (its name, as for a password) holds its refresh
 * token: written atomically (a new file renamed over the old one, synced), mode 0600, never
 * through a symlink (biff/safe_file.h), every other line kept as it was. A revoked token is
 * erased only while the entry still holds the token this process read or wrote: one that
 * `tinybiff auth` wrote since stays for the next reload.
 */
#ifndef TINYBIFF_RUN_OAUTH_H
#define TINYBIFF_RUN_OAUTH_H

#include <stddef.h>

#include "biff/account.h"
#include "biff/agent.h"

#define RUN_OAUTH_MAX 64 /* OAuth2 accounts in one config */

/** Where refresh tokens are kept (the config's secrets path; the array must stay) and the
 *  accounts whose names the port hook's index refers to. keep_erase 0: never erase an entry
 *  (`tinybiff auth` must not lose the old token before it has a new one). */
void run_oauth_init(const char *secrets_path, const biff_account *accts, int keep_erase);

/**
 * Make account i (already described to the agent) an OAuth2 account: its endpoints and client
 * from a, stored the refresh token from the secrets file ("": none). Sets acfg->oauth. Returns
 * 0, or -1 when it cannot run (too many OAuth2 accounts, bad settings), logged.
 */
int run_oauth_account(biff_agent *ag, size_t i, const biff_account *a, biff_agent_account_cfg *acfg,
                      const char *stored);

/** Wipe every token and free the slots (before the accounts are set up again, and at exit). */
void run_oauth_clear(void);

/** The port's oauth_save: keep account i's refresh token in the secrets file. */
int run_oauth_save(void *ctx, size_t i, const char *token);

/** Log an AUTH or AUTH_CODE event of the account called name (never a token). */
void run_oauth_log(const char *name, const biff_agent_event *ev);

#endif

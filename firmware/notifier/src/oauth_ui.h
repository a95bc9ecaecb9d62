/*
 * The notifier's OAuth2 accounts (issue 16, BIFF_FEATURE_OAUTH): the agent runs the lifecycle
 * (device grant, polling, refresh, the refresh token in its flash store); this file hands it the
 * buffers, puts its events on the UART and takes the page's "Authorize again". The page and
 * /status.json show the same through the status model (model[i].auth). Never a token: neither
 * the events nor the model carry one.
 */
#ifndef NOTIFIER_OAUTH_UI_H
#define NOTIFIER_OAUTH_UI_H

#include "biff/agent.h"
#include "provision.h"

#if BIFF_FEATURE_OAUTH
/* OAuth2 accounts at most (each ~1.2 KB of RAM with its token buffers). */
#define OAUTH_UI_MAX 2

/** Make the provisioned OAuth2 accounts the agent's (after biff_agent_account, before
 *  biff_agent_drive; sets acfg[i].oauth). 0, or -1 with *why (too many, bad settings). */
int oauth_ui_setup(biff_agent *ag, const prov *cfg, biff_agent_account_cfg *acfg, const char **why);

/** After biff_agent_drive: an OAuth2 account without a refresh token in flash starts the device
 *  flow at once (a new gadget shows its code; after a revocation the page's button does). */
void oauth_ui_start(void);

/** An agent event: 1 when it was an OAuth2 one (its line is on the UART), else 0. */
int oauth_ui_event(const biff_agent_event *ev, const biff_status_account *model);

/** The page's POST /authorize: 0 when account is an OAuth2 account (its flow starts again). */
int oauth_ui_authorize(unsigned account);
#endif

#endif

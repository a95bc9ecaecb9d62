/* `tinybiff run`: what the agent reports about the accounts, as log lines. */
#ifndef TINYBIFF_RUN_EVENTS_H
#define TINYBIFF_RUN_EVENTS_H

#include "biff/agent.h"

/** Log ev (acknowledged, account error, IDLE, OAuth2, the broker) of the account called name; other kinds
 *  are the caller's. Never a secret or token. */
void run_events_log(const char *name, const biff_agent_event *ev);

#endif

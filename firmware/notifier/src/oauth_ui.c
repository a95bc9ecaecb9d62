#include "oauth_ui.h"

#if BIFF_FEATURE_OAUTH
#include <stdio.h>

#include "board.h"

/* An access token goes out in one AUTHENTICATE line of at most BIFF_CHECK_OUT_MAX bytes
 * (base64 of "user=U\1auth=Bearer T\1\1", plus the command): a longer one could not be sent. */
#define ACCESS_MAX  (BIFF_CHECK_OUT_MAX * 3 / 4 - 64)
#define REFRESH_MAX (BIFF_STORE_MAX_VALUE + 1) /* as long as the flash store keeps one */
#define REQ_MAX     (REFRESH_MAX + 512)        /* the token request: form, client id and secret */

static biff_agent_oauth oa[OAUTH_UI_MAX]; /* the lifecycle and what the page shows of it */
static char access[OAUTH_UI_MAX][ACCESS_MAX];
static char refresh[OAUTH_UI_MAX][REFRESH_MAX];
/* One session on the notifier: one token request at a time, so the accounts share its buffer. */
static char req[REQ_MAX];
static biff_agent *agent;
static uint8_t account_of[OAUTH_UI_MAX];
static unsigned n_oauth;

int oauth_ui_setup(biff_agent *ag, const prov *cfg, biff_agent_account_cfg *acfg, const char **why)
{
    agent = ag;
    for (size_t i = 0; i < cfg->n_acct; i++) {
        if (!cfg->acct[i].oauth2) continue;
        unsigned k = n_oauth;
        if (k == OAUTH_UI_MAX) {
            *why = "more OAuth2 accounts than OAUTH_UI_MAX";
            return -1;
        }
        /* stored NULL: the agent reads the refresh token kept in its flash store */
        if (biff_agent_oauth_account(ag, i, &oa[k], &cfg->acct[i].oauth, access[k], sizeof access[k], refresh[k],
                                     sizeof refresh[k], req, sizeof req, NULL) != BIFF_AGENT_OK) {
            *why = "OAuth2 settings the agent refuses";
            return -1;
        }
        acfg[i].oauth = &oa[k];
        account_of[n_oauth++] = (uint8_t)i;
    }
    return 0;
}

void oauth_ui_start(void)
{
    for (unsigned k = 0; k < n_oauth; k++) {
        const biff_oauth *o = &oa[k].o;
        if (biff_oauth_get_state(o) == BIFF_OAUTH_NEEDS_AUTH && biff_oauth_get_why(o) == BIFF_OAUTH_WHY_NO_TOKEN)
            biff_agent_authorize(agent, account_of[k]);
    }
}

int oauth_ui_event(const biff_agent_event *ev, const biff_status_account *model)
{
    char line[256];
    int len;
    const char *name = model[ev->account].name;
    if (ev->kind == BIFF_AGENT_EV_AUTH_CODE) {
        len = snprintf(line, sizeof line, "oauth %s: open %s and enter %s (the code expires in %lu s)\n", name,
                       biff_oauth_verification_uri(ev->oauth), ev->text, (unsigned long)ev->count);
    } else if (ev->kind == BIFF_AGENT_EV_AUTH) {
        len = snprintf(line, sizeof line, "oauth %s: %s\n", name, ev->text);
    } else {
        return 0;
    }
    if (len > 0) biff_board_console_write(line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
    return 1;
}

int oauth_ui_authorize(unsigned account)
{
    for (unsigned k = 0; k < n_oauth; k++) {
        if (account_of[k] == account) {
            biff_agent_authorize(agent, account);
            return 0;
        }
    }
    return -1;
}
#endif

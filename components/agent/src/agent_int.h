/* Between the step function (drive.c) and its OAuth2 part (agent_oauth.c): not public. */
#ifndef BIFF_AGENT_INT_H
#define BIFF_AGENT_INT_H

#include "biff/agent.h"

/* Session states (biff_agent_session.state). */
enum { S_FREE = 0, S_CONNECT, S_HANDSHAKE, S_CHECK, S_TOKEN_CONNECT, S_TOKEN_HANDSHAKE, S_TOKEN_IO };

/* What drive.c calls when an account has OAuth2; linked only by biff_agent_oauth_account(). */
struct biff_agent_oauth_ops {
    /** A session starts on account s->acct: 0 = go on with the check (token in s->ca), 1 = a
     *  token exchange is under way in the session, -1 = the session ended (nothing to do now). */
    int (*begin)(biff_agent *ag, biff_agent_session *s);
    /** Move a token exchange (S_TOKEN_*) as far as it goes. */
    void (*run)(biff_agent *ag, biff_agent_session *s);
    /** The check failed: 1 when the token was refused and the session goes on with a refresh. */
    int (*refused)(biff_agent *ag, biff_agent_session *s);
    /** A session in S_TOKEN_* is ended from outside (time-out, stop). */
    void (*abort)(biff_agent *ag, biff_agent_session *s, const char *why);
    /** Requests and schedule: accounts whose token work is due are triggered; returns the
     *  earliest time (ms) one will be. */
    uint64_t (*tick)(biff_agent *ag, uint64_t now_ms);
};

uint64_t biff_agent__now(const biff_agent *ag);
void biff_agent__lock(const biff_agent *ag, int on);
/* End session s: record err/detail, schedule, close, free. */
void biff_agent__fail(biff_agent *ag, biff_agent_session *s, biff_error_class err, const char *detail);
/* Connect session s to the account's mail server (S_CONNECT). */
void biff_agent__connect(biff_agent *ag, biff_agent_session *s);
/* End session s, which the model already shows as failing with err: schedule and free it
 * without recording the same failure again. */
void biff_agent__release(biff_agent *ag, biff_agent_session *s, biff_error_class err);
/* Close the session's TLS and link, keeping the session. */
void biff_agent__hang_up(biff_agent *ag, biff_agent_session *s);

#endif

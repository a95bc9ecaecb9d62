/*
 * One check of one account: drives the IMAP or POP3 engine over a transport until the result is
 * in. Never blocks: biff_check_step() moves what it can and says what it waits for, so a poll()
 * loop on Linux and the lwIP superloop on the MCU drive it the same way. TLS is the caller's
 * (it owns the sockets and the mbedTLS context): for STARTTLS/STLS the step returns
 * BIFF_CHECK_NEED_TLS and the caller hands back the TLS transport.
 */
#ifndef BIFF_CHECK_H
#define BIFF_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/imap.h"
#include "biff/net.h"
#include "biff/pop3.h"
#include "biff/result.h"

#ifndef BIFF_CHECK_LINE_MAX
#define BIFF_CHECK_LINE_MAX 1024 /* longest server line kept; longer ones are skipped or fail */
#endif
#ifndef BIFF_CHECK_OUT_MAX
/* Longest command: AUTHENTICATE with an OAuth2 token (about 0.7 KB at Google, 1.5-2.5 KB at
 * Microsoft); hosted builds (the daemon) set 3072 in CMakeLists.txt. A token that does not fit
 * is an error that names this setting, never a cut command. */
#define BIFF_CHECK_OUT_MAX 1024
#endif
#ifndef BIFF_CHECK_RX_MAX
#define BIFF_CHECK_RX_MAX 512 /* receive chunk */
#endif

typedef enum { BIFF_CHECK_IMAP = 0, BIFF_CHECK_POP3 = 1 } biff_check_proto;
typedef enum {
    BIFF_CHECK_SEC_TLS = 0,      /* implicit TLS: the transport given to start() is already TLS */
    BIFF_CHECK_SEC_STARTTLS = 1, /* upgrade first; fail if the server cannot */
    BIFF_CHECK_SEC_NONE = 2,     /* plaintext on purpose (the account says security=none) */
} biff_check_security;

typedef enum {
    BIFF_CHECK_AUTH_AUTO = 0,
    BIFF_CHECK_AUTH_PLAIN,
    BIFF_CHECK_AUTH_LOGIN, /* IMAP LOGIN, POP3 USER/PASS */
    BIFF_CHECK_AUTH_APOP,  /* POP3 only */
    BIFF_CHECK_AUTH_XOAUTH2,
    BIFF_CHECK_AUTH_OAUTHBEARER,
    BIFF_CHECK_AUTH_OAUTH, /* an OAuth2 token: OAUTHBEARER where offered, else XOAUTH2 */
} biff_check_auth;

typedef struct {
    uint8_t proto;     /* biff_check_proto */
    uint8_t security;  /* biff_check_security */
    uint8_t auth;      /* biff_check_auth */
    uint8_t n_folders; /* IMAP: 1..BIFF_IMAP_MAX_FOLDERS */
    uint8_t idle;      /* IMAP: stay logged in after the check, IDLE where offered */
    const char *host;
    unsigned port;
    const char *user;
    const char *secret;         /* never logged or copied into results */
    const char *const *folders; /* IMAP folder names, UTF-8 */
    biff_pop3_uid_fn on_uid;    /* POP3: each UIDL entry as it streams in (may be NULL) */
    void *uid_ctx;
} biff_check_account;

typedef enum {
    BIFF_CHECK_OK = 0,     /* started */
    BIFF_CHECK_WANT_READ,  /* wait until the link is readable, then step again */
    BIFF_CHECK_WANT_WRITE, /* wait until the link is writable, then step again */
    BIFF_CHECK_NEED_TLS,   /* start TLS on the plain link now, then biff_check_tls_started() */
    BIFF_CHECK_RESULT,     /* idle session: results ready, the session stays open */
    BIFF_CHECK_IDLING,     /* idle session: the server confirmed IDLE; wait for news */
    BIFF_CHECK_DONE,       /* result complete */
    BIFF_CHECK_FAILED,     /* biff_check_error() says why */
    BIFF_CHECK_E_ARG,
} biff_check_status;

/* Caller-allocated; about 4 KB with the default buffer sizes. Fields are private. */
typedef struct {
    const biff_check_account *acct;
    const struct biff_check_engine *ops; /* the engine's calls, chosen at start */
    biff_transport *link;
    union {
        biff_imap imap;
        biff_pop3 pop3;
    } e;
    biff_imap_config imap_cfg;
    uint8_t state;
    uint8_t checked; /* IMAP: every folder answered (biff_check_answered) */
    uint16_t rx_len, rx_off;
    biff_error_class err;
    char detail[128];
    uint8_t rx[BIFF_CHECK_RX_MAX];
    uint8_t work[BIFF_CHECK_LINE_MAX + BIFF_CHECK_OUT_MAX];
} biff_check;

/**
 * The mechanism an account URL's ";AUTH=" names ("" = AUTO, PLAIN, LOGIN, +USER, +APOP,
 * XOAUTH2, OAUTHBEARER; upper case). Returns 0, or -1 for a name this client does not know.
 */
int biff_check_auth_from_name(const char *name, uint8_t *auth);

/** Begin a check of acct over link (TLS already up for BIFF_CHECK_SEC_TLS). */
biff_check_status biff_check_start(biff_check *c, const biff_check_account *acct, biff_transport *link);

/** Move bytes both ways as far as possible without blocking. */
biff_check_status biff_check_step(biff_check *c);

/** TLS is up after BIFF_CHECK_NEED_TLS: continue over tls (nothing read before it is kept). */
biff_check_status biff_check_tls_started(biff_check *c, biff_transport *tls);

/** Idle session: check every folder again now (renewal before the server's 30-minute limit). */
biff_check_status biff_check_recheck(biff_check *c);

/** Idle session: non-zero while the server has confirmed IDLE and nothing is in flight. */
int biff_check_idling(const biff_check *c);

/**
 * IMAP: non-zero once every folder has answered in this session, so the results are complete
 * (a server that closes before that failed the check; one that answers but never confirms
 * IDLE cannot be watched). Always 0 for POP3, whose results are complete at DONE.
 */
int biff_check_answered(const biff_check *c);

/** IMAP: the server's text for a folder STATUS that failed (may be empty). */
const char *biff_check_folder_detail(const biff_check *c);

/** Idle session: end it politely (DONE, LOGOUT); DONE follows. */
biff_check_status biff_check_logout(biff_check *c);

/** The caller gave up on the link (timeout, TLS failure): record why; the check is FAILED. */
void biff_check_abort(biff_check *c, biff_error_class err, const char *detail);

/** Why the check failed (BIFF_ERR_NONE if it did not); *detail gets a printable line. */
biff_error_class biff_check_error(const biff_check *c, const char **detail);

/**
 * The check failed because the server refused the OAuth2 access token in a way a fresh one may
 * fix (expired, revoked): the OAuth2 lifecycle refreshes (biff_oauth_token_refused) and retries.
 */
int biff_check_oauth_refused(const biff_check *c);

/** IMAP: result of folder i (NULL when out of range or not IMAP). */
const biff_imap_folder_result *biff_check_folder(const biff_check *c, size_t i);

/** POP3: STAT/UIDL result (NULL when not POP3). */
const biff_pop3_result *biff_check_pop3(const biff_check *c);

/** Wipe buffers that held commands or credentials. */
void biff_check_clear(biff_check *c);

#endif

/* Sans-I/O IMAP4rev1 client engine: checks folders with STATUS, optionally stays in IDLE.
 *
 * The engine owns no sockets, timers or heap. The caller feeds it whatever bytes the server
 * sent (any split) and sends whatever biff_imap_output() hands out. Memory is the struct below
 * plus two caller buffers: `work` holds one logical response line (small literals included)
 * and `out` holds commands waiting to be sent.
 *
 * Typical one-shot check (implicit TLS, capabilities in the greeting): the greeting arrives,
 * the engine sends AUTHENTICATE, and after its tagged OK every STATUS + LOGOUT in one flight;
 * the replies come back, feed() returns BIFF_IMAP_EV_CHECKED, later BIFF_IMAP_EV_CLOSED.
 * Nothing is pipelined behind AUTHENTICATE (Cyrus IMAP loses such commands), and the login's
 * capability list (CONDSTORE, IDLE) decides the STATUS items. LOGIN with quoted strings or
 * LITERAL+ carries the STATUS commands in its own flight (one round trip less, but then
 * HIGHESTMODSEQ is asked only if the greeting listed CONDSTORE); sync literals wait.
 * A session that stays open (cfg.idle) and got no capability list with the login asks
 * CAPABILITY in the check's flight, so IDLE offered only after login is used.
 *
 * With cfg.idle the session stays open: after the check the engine EXAMINEs folders[0] and
 * sends IDLE (EV_IDLING); news gives EV_CHANGED; biff_imap_recheck() does DONE + STATUS... +
 * IDLE. Without IDLE on the server the session just stays logged in for rechecks/NOOP.
 *
 * Driving loop: after every engine call, send biff_imap_output() and confirm it with
 * biff_imap_output_done(); feed what arrives; on an event, act and feed the unconsumed rest
 * (except after EV_STARTTLS, where the rest is plaintext that must be dropped). When the
 * server closes the link call biff_imap_eof(); when done with the engine, biff_imap_clear().
 *
 * The POP3 engine (biff/pop3.h) has the same shape: the same init buffers, feed, output,
 * tls_started, eof, error and clear calls, and the same status values for the same events.
 */
#ifndef BIFF_IMAP_H
#define BIFF_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/result.h"

#ifndef BIFF_IMAP_MAX_FOLDERS
#define BIFF_IMAP_MAX_FOLDERS 8 /* tags carry the folder index as one digit: keep <= 10 */
#endif
#ifndef BIFF_IMAP_DETAIL_MAX
#define BIFF_IMAP_DETAIL_MAX 96 /* error/alert text incl. NUL */
#endif

/* biff_pop3_status uses the same values for the same events: keep the order. */
typedef enum {
    BIFF_IMAP_OK = 0,      /* input consumed; send pending output, feed more when it arrives */
    BIFF_IMAP_EV_STARTTLS, /* start TLS now, then call biff_imap_tls_started() */
    BIFF_IMAP_EV_CHECKED,  /* every folder has a STATUS result (biff_imap_folder) */
    BIFF_IMAP_EV_CHANGED,  /* EXISTS/EXPUNGE/FETCH seen while idling: call biff_imap_recheck */
    BIFF_IMAP_EV_IDLING,   /* server confirmed IDLE: wait for news; recheck before 29 min */
    BIFF_IMAP_EV_CLOSED,   /* LOGOUT completed; close the connection */
    BIFF_IMAP_E_FAILED,    /* session failed: biff_imap_error() says why; close it */
    BIFF_IMAP_E_ARG,       /* bad argument or config */
    BIFF_IMAP_E_STATE,     /* call not valid in the current state */
} biff_imap_status;

typedef enum {
    BIFF_IMAP_AUTH_AUTO = 0, /* password: AUTHENTICATE PLAIN if offered, else LOGIN */
    BIFF_IMAP_AUTH_PLAIN,
    BIFF_IMAP_AUTH_LOGIN,   /* the IMAP LOGIN command */
    BIFF_IMAP_AUTH_XOAUTH2, /* secret is an OAuth2 access token */
    BIFF_IMAP_AUTH_OAUTHBEARER,
    BIFF_IMAP_AUTH_OAUTH, /* an OAuth2 token: OAUTHBEARER if offered, else XOAUTH2 */
} biff_imap_auth;

typedef enum {
    BIFF_IMAP_SEC_TLS = 0,  /* connection is already TLS (imaps, port 993) */
    BIFF_IMAP_SEC_STARTTLS, /* plaintext connection; upgrade before anything secret is sent */
    BIFF_IMAP_SEC_NONE,     /* plaintext on purpose (security=none): credentials in clear */
} biff_imap_security;

typedef struct {
    const char *user;
    const char *secret;         /* password or OAuth2 token; never echoed anywhere */
    const char *host;           /* OAUTHBEARER only (may be NULL otherwise) */
    unsigned port;              /* OAUTHBEARER only */
    const char *const *folders; /* UTF-8 names; folders[0] is the one IDLE watches */
    uint8_t n_folders;          /* 1..BIFF_IMAP_MAX_FOLDERS */
    uint8_t auth;               /* biff_imap_auth */
    uint8_t security;           /* biff_imap_security */
    uint8_t idle;               /* stay logged in after the check; IDLE when offered */
} biff_imap_config;

/* Which fields of a folder result the server sent. */
#define BIFF_IMAP_HAVE_MESSAGES      0x01u
#define BIFF_IMAP_HAVE_UNSEEN        0x02u
#define BIFF_IMAP_HAVE_UIDNEXT       0x04u
#define BIFF_IMAP_HAVE_UIDVALIDITY   0x08u
#define BIFF_IMAP_HAVE_HIGHESTMODSEQ 0x10u

typedef enum {
    BIFF_IMAP_FOLDER_PENDING = 0,
    BIFF_IMAP_FOLDER_OK,
    BIFF_IMAP_FOLDER_ERROR,   /* STATUS got NO/BAD (e.g. no such mailbox) */
    BIFF_IMAP_FOLDER_NO_DATA, /* STATUS got OK but no usable STATUS data: a broken reply */
} biff_imap_folder_state;

typedef struct {
    uint64_t highestmodseq;
    uint32_t messages;
    uint32_t unseen;
    uint32_t uidnext;
    uint32_t uidvalidity;
    uint8_t have;  /* BIFF_IMAP_HAVE_* */
    uint8_t state; /* biff_imap_folder_state */
} biff_imap_folder_result;

/* Fully declared so callers can place it statically; treat the fields as private. */
typedef struct biff_imap {
    const biff_imap_config *cfg;
    uint8_t *work, *out;
    uint16_t work_cap, out_cap;
    uint16_t line_len;  /* bytes of the current logical line in work */
    uint16_t out_len;   /* bytes queued in out */
    uint16_t flags;     /* engine flags */
    uint32_t lit_left;  /* literal bytes still to read */
    uint32_t lit_num;   /* literal length being scanned */
    uint16_t caps;      /* capability bits */
    uint8_t phase;      /* receive side state */
    uint8_t tx;         /* next command to render */
    uint8_t tx_idx;     /* folder index for STATUS */
    uint8_t inflight;   /* commands awaiting their tagged reply, one bit per kind */
    uint8_t lit_scan;   /* "{N}" tracker */
    uint8_t lit_copy;   /* literal bytes go to work */
    uint8_t line_trunc; /* line exceeded work */
    uint8_t auth_step;  /* AUTHENTICATE/LOGIN progress */
    uint8_t mech;       /* chosen mechanism (biff_imap_auth) */
    uint8_t n_done;     /* folders answered this round */
    uint8_t err;        /* biff_error_class */
    char detail[BIFF_IMAP_DETAIL_MAX];
    biff_imap_folder_result folder[BIFF_IMAP_MAX_FOLDERS];
} biff_imap;

/**
 * Start a session. cfg (and the strings it points to) and both buffers must outlive the engine.
 * work_cap bounds one response line (512 is plenty for real servers; minimum 64); out_cap
 * bounds one command (512 for passwords; OAuth2 tokens need about 4/3 of the token + 100).
 * Returns BIFF_IMAP_E_ARG on a bad config (no folders, control characters or bad UTF-8 in a
 * folder name, missing user/secret).
 */
biff_imap_status biff_imap_init(biff_imap *e, const biff_imap_config *cfg, uint8_t *work, size_t work_cap, uint8_t *out,
                                size_t out_cap);

/**
 * Consume server bytes. Stops after the line that caused an event and reports the bytes used in
 * *consumed; feed the rest again after handling the event. At BIFF_IMAP_EV_STARTTLS every byte
 * after the server's OK is discarded (*consumed == len): the caller must also drop anything it
 * still holds from the plaintext link.
 */
biff_imap_status biff_imap_feed(biff_imap *e, const uint8_t *data, size_t len, size_t *consumed);

/** Bytes waiting to be sent (0 = nothing). *data stays valid until the next engine call. */
size_t biff_imap_output(const biff_imap *e, const uint8_t **data);

/** The first n bytes from biff_imap_output() were sent; they are wiped (they may hold secrets). */
void biff_imap_output_done(biff_imap *e, size_t n);

/** TLS is up after BIFF_IMAP_EV_STARTTLS; capabilities are asked for again. */
biff_imap_status biff_imap_tls_started(biff_imap *e);

/**
 * Check every folder again on the open session (after EV_CHANGED, or on a timer: also renews
 * IDLE before the server's 30-minute limit). Leaves IDLE first and re-enters it afterwards.
 */
biff_imap_status biff_imap_recheck(biff_imap *e);

/** Keep-alive NOOP on a logged-in session that is not idling; EV_CHANGED if it saw news. */
biff_imap_status biff_imap_noop(biff_imap *e);

/** End the session politely (DONE if idling, then LOGOUT); EV_CLOSED follows. */
biff_imap_status biff_imap_logout(biff_imap *e);

/** Non-zero while the server confirmed IDLE and the engine waits for news. */
int biff_imap_idling(const biff_imap *e);

/** Result of folder i (NULL if out of range). Valid from EV_CHECKED until the next recheck
 *  starts (a recheck resets every folder to PENDING). */
const biff_imap_folder_result *biff_imap_folder(const biff_imap *e, size_t i);

/**
 * Why the session failed (BIFF_ERR_NONE if it did not). *detail (optional) gets a short
 * printable-ASCII text: the server's words where it gave any, or the server's [ALERT] text.
 */
biff_error_class biff_imap_error(const biff_imap *e, const char **detail);

/** Failed with XOAUTH2/OAUTHBEARER in a way a fresh access token may fix (expired, revoked). */
int biff_imap_oauth_refused(const biff_imap *e);

/**
 * The server closed the link: EV_CLOSED if every folder had answered (servers may close right
 * after LOGOUT's OK, or before it), else E_FAILED (a network error, unless the session had
 * already failed for another reason).
 */
biff_imap_status biff_imap_eof(biff_imap *e);

/** Wipe the engine and both buffers (they may hold credentials). Call when done with it. */
void biff_imap_clear(biff_imap *e);

/**
 * Encode a UTF-8 mailbox name as modified UTF-7 (RFC 3501 5.1.3) into out (NUL-terminated).
 * Returns BIFF_IMAP_E_ARG for invalid UTF-8 or when out is too small.
 */
biff_imap_status biff_imap_mutf7_encode(const char *utf8, char *out, size_t cap, size_t *out_len);

#endif

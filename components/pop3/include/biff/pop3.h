/* Sans-I/O POP3 client engine: one mail check (greeting, CAPA, STLS, auth, STAT, UIDL, QUIT).
 *
 * The engine owns no socket, timer or heap. Its API has the shape of the IMAP engine's
 * (biff/imap.h): the same init buffers, feed, output, tls_started, eof, error and clear calls,
 * and status values that mean the same in both. The caller:
 *   1. biff_pop3_init() with a config, a line buffer and an output buffer;
 *   2. loops: send what biff_pop3_output() exposes (then biff_pop3_output_done()), feed every byte
 *      received to biff_pop3_feed(), until the status is EV_CLOSED or E_FAILED;
 *   3. on BIFF_POP3_EV_STARTTLS performs the TLS handshake and calls biff_pop3_tls_started();
 *   4. on connection close calls biff_pop3_eof() (which settles EV_CLOSED or a clear "incomplete").
 * RAM: sizeof(biff_pop3) plus the two buffers.
 * Setting BIFF_POP3_NO_APOP (the board's biff_settings.h) drops APOP and with it the need for mbedTLS MD5 (~2 KB).
 */
#ifndef BIFF_POP3_H
#define BIFF_POP3_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/result.h"

/* The values are those of the same events in biff_imap_status, so one caller handles both. */
typedef enum {
    BIFF_POP3_OK = 0,          /* input consumed; send pending output, feed more */
    BIFF_POP3_EV_STARTTLS = 1, /* server said +OK to STLS: start TLS now, then biff_pop3_tls_started() */
    BIFF_POP3_EV_CLOSED = 5,   /* check complete (QUIT answered or link closed after it) */
    BIFF_POP3_E_FAILED = 6,    /* check failed: biff_pop3_error() says why */
    BIFF_POP3_E_ARG = 7,       /* bad arguments to init/feed, or tls_started without EV_STARTTLS */
} biff_pop3_status;

typedef enum {
    BIFF_POP3_AUTH_AUTO = 0,    /* best offered: SASL PLAIN > USER/PASS > APOP */
    BIFF_POP3_AUTH_USER,        /* USER/PASS (RFC 1939) */
    BIFF_POP3_AUTH_APOP,        /* APOP (needs the greeting's timestamp) */
    BIFF_POP3_AUTH_PLAIN,       /* AUTH PLAIN with initial response (RFC 5034, RFC 4616) */
    BIFF_POP3_AUTH_XOAUTH2,     /* AUTH XOAUTH2, secret is the bearer token */
    BIFF_POP3_AUTH_OAUTHBEARER, /* AUTH OAUTHBEARER (RFC 7628), secret is the bearer token */
    BIFF_POP3_AUTH_OAUTH,       /* an OAuth2 token: OAUTHBEARER if offered, else XOAUTH2 */
} biff_pop3_auth;

typedef enum {
    BIFF_POP3_SEC_TLS = 0,  /* implicit TLS (pop3s): the link is already encrypted */
    BIFF_POP3_SEC_STARTTLS, /* STLS is required before any credential is sent */
    BIFF_POP3_SEC_NONE,     /* plaintext allowed (account says security=none) */
} biff_pop3_security;

/* Called once per UIDL entry while the listing streams in. uid is 1..70 printable octets,
 * not NUL-terminated. Entries are only trustworthy once the check ends in BIFF_POP3_EV_CLOSED. */
typedef void (*biff_pop3_uid_fn)(void *ctx, uint32_t msgno, const char *uid, size_t len);

typedef struct {
    const char *user;
    const char *secret; /* password or bearer token; must outlive the check; never logged */
    const char *host;   /* OAUTHBEARER "host=" (may be NULL) */
    unsigned port;      /* OAUTHBEARER "port=" (0 = omit) */
    biff_pop3_auth auth;
    biff_pop3_security security;
    biff_pop3_uid_fn on_uid; /* NULL: no UIDL, STAT only */
    void *uid_ctx;
} biff_pop3_config;

#define BIFF_POP3_DETAIL_MAX 160
#define BIFF_POP3_UID_MAX    70

typedef struct {
    biff_error_class error;            /* BIFF_ERR_NONE on EV_CLOSED */
    uint32_t messages;                 /* STAT count */
    uint32_t octets;                   /* STAT size (saturates at UINT32_MAX) */
    uint32_t uids;                     /* UIDL entries delivered to on_uid */
    uint8_t have_stat;                 /* STAT answered */
    uint8_t uidl;                      /* 1: complete UIDL listing; 0: not asked, or server has no UIDL */
    char detail[BIFF_POP3_DETAIL_MAX]; /* printable ASCII, NUL-terminated; server text, no secret */
} biff_pop3_result;

/* Fully declared so the caller can allocate it (static or stack); fields are private. */
typedef struct biff_pop3 {
    const char *user, *secret, *host;
    unsigned port;
    biff_pop3_uid_fn on_uid;
    void *uid_ctx;
    char *line;
    char *out;
    uint16_t line_cap, line_len;
    uint16_t out_cap, out_len;
    uint8_t state, cfg_auth, security, mech;
    uint8_t flags;
    uint8_t caps;
    uint8_t sasl;
    char apop[34];
    biff_pop3_result res;
} biff_pop3;

/**
 * Prepare one check. work[work_cap] bounds one server line incl. CRLF (512 per RFC 1939;
 * minimum 16); out[out_cap] must fit the longest command (64 minimum; AUTH with a base64 token
 * for OAuth needs about 4/3 of the token + 100). Both buffers must outlive the check.
 * cfg is copied; the strings it points to must stay valid until the check ends.
 * Returns BIFF_POP3_OK or BIFF_POP3_E_ARG (a buffer too small or over 65535, NULLs,
 * unknown enum values, CR or LF in user or secret).
 */
biff_pop3_status biff_pop3_init(biff_pop3 *e, const biff_pop3_config *cfg, uint8_t *work, size_t work_cap, uint8_t *out,
                                size_t out_cap);

/**
 * Feed received bytes (any split). *consumed says how many were used: all of them unless an
 * event (EV_CLOSED/E_FAILED) ended the check mid-buffer. On EV_STARTTLS the rest of the buffer is
 * consumed and dropped, and so is anything fed before biff_pop3_tls_started(): bytes that arrived
 * in plaintext must never be read as if TLS protected them (CVE-2021-22947).
 */
biff_pop3_status biff_pop3_feed(biff_pop3 *e, const uint8_t *data, size_t len, size_t *consumed);

/** Pending bytes to send: sets *ptr and returns their count (0 = nothing to send). */
size_t biff_pop3_output(const biff_pop3 *e, const uint8_t **ptr);

/** n of the pending bytes were sent. Sent commands (which may hold credentials) are wiped. */
void biff_pop3_output_done(biff_pop3 *e, size_t n);

/** The TLS handshake after BIFF_POP3_EV_STARTTLS succeeded: the engine re-issues CAPA (RFC 2595). */
biff_pop3_status biff_pop3_tls_started(biff_pop3 *e);

/** The server closed the link: EV_CLOSED if everything needed arrived, else E_FAILED "incomplete". */
biff_pop3_status biff_pop3_eof(biff_pop3 *e);

/** Result so far (final once EV_CLOSED/E_FAILED). */
const biff_pop3_result *biff_pop3_get_result(const biff_pop3 *e);

/** Why the check failed (BIFF_ERR_NONE if it did not); *detail (optional) gets the text. */
biff_error_class biff_pop3_error(const biff_pop3 *e, const char **detail);

/** Failed with XOAUTH2/OAUTHBEARER in a way a fresh access token may fix (expired, revoked). */
int biff_pop3_oauth_refused(const biff_pop3 *e);

/** Wipe the engine (APOP digest, buffers' secrets). Call when done with it. */
void biff_pop3_clear(biff_pop3 *e);

#endif

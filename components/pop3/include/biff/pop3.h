/* Sans-I/O POP3 client engine: one mail check (greeting, CAPA, STLS, auth, STAT, UIDL, QUIT).
 *
 * The engine owns no socket, timer or heap. The caller:
 *   1. biff_pop3_init() with a config and a work buffer;
 *   2. loops: send what biff_pop3_output() exposes (then biff_pop3_output_done()), feed every byte
 *      received to biff_pop3_feed(), until the status is DONE or ERROR;
 *   3. on BIFF_POP3_STLS performs the TLS handshake and calls biff_pop3_tls_started();
 *   4. on connection close calls biff_pop3_eof() (which settles DONE or a clear "incomplete").
 * RAM: sizeof(biff_pop3) plus the work buffer (line bound + output area).
 * Build option: -DBIFF_POP3_NO_APOP drops APOP and with it the need for mbedTLS MD5 (~2 KB).
 */
#ifndef BIFF_POP3_H
#define BIFF_POP3_H

#include <stddef.h>
#include <stdint.h>

#include "biff/result.h"

typedef enum {
    BIFF_POP3_OK = 0, /* input consumed; send pending output, feed more */
    BIFF_POP3_STLS,   /* server said +OK to STLS: start TLS now, then biff_pop3_tls_started() */
    BIFF_POP3_DONE,   /* check complete: see biff_pop3_get_result() */
    BIFF_POP3_ERROR,  /* check failed: error class and detail in biff_pop3_get_result() */
    BIFF_POP3_E_ARG,  /* bad arguments to init/feed */
} biff_pop3_status;

typedef enum {
    BIFF_POP3_AUTH_AUTO = 0,    /* best offered: SASL PLAIN > USER/PASS > APOP */
    BIFF_POP3_AUTH_USER,        /* USER/PASS (RFC 1939) */
    BIFF_POP3_AUTH_APOP,        /* APOP (needs the greeting's timestamp) */
    BIFF_POP3_AUTH_PLAIN,       /* AUTH PLAIN with initial response (RFC 5034, RFC 4616) */
    BIFF_POP3_AUTH_XOAUTH2,     /* AUTH XOAUTH2, secret is the bearer token */
    BIFF_POP3_AUTH_OAUTHBEARER, /* AUTH OAUTHBEARER (RFC 7628), secret is the bearer token */
} biff_pop3_auth;

typedef enum {
    BIFF_POP3_SEC_TLS = 0,  /* implicit TLS (pop3s): the link is already encrypted */
    BIFF_POP3_SEC_STARTTLS, /* STLS is required before any credential is sent */
    BIFF_POP3_SEC_NONE,     /* plaintext allowed (account says security=none) */
} biff_pop3_security;

/* Called once per UIDL entry while the listing streams in. uid is 1..70 printable octets,
 * not NUL-terminated. Entries are only trustworthy once the check ends in BIFF_POP3_DONE. */
typedef void (*biff_pop3_uid_fn)(void *ctx, uint32_t msgno, const char *uid, size_t len);

typedef struct {
    const char *user;
    const char *secret;      /* password or bearer token; must outlive the check; never logged */
    const char *host;        /* OAUTHBEARER "host=" (may be NULL) */
    unsigned port;           /* OAUTHBEARER "port=" (0 = omit) */
    biff_pop3_auth auth;
    biff_pop3_security security;
    uint16_t max_line;       /* longest accepted server line incl. CRLF; 0 = 512 (RFC 1939) */
    biff_pop3_uid_fn on_uid; /* NULL: no UIDL, STAT only */
    void *uid_ctx;
} biff_pop3_config;

#define BIFF_POP3_DETAIL_MAX 160
#define BIFF_POP3_UID_MAX 70

typedef struct {
    biff_error_class error;  /* BIFF_ERR_NONE on DONE */
    uint32_t messages;       /* STAT count */
    uint32_t octets;         /* STAT size (saturates at UINT32_MAX) */
    uint32_t uids;           /* UIDL entries delivered to on_uid */
    uint8_t have_stat;       /* STAT answered */
    uint8_t uidl;            /* 1: complete UIDL listing; 0: not asked, or server has no UIDL */
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
 * Prepare one check. work[cap] is split into a line buffer of cfg->max_line octets and the
 * output area (the rest, which must fit the longest command: AUTH with a base64 token for OAuth).
 * cfg is copied; the strings it points to must stay valid until the check ends.
 * Returns BIFF_POP3_OK or BIFF_POP3_E_ARG (output area under 64 octets, cap > 65535, NULLs,
 * unknown enum values, CR or LF in user or secret).
 */
biff_pop3_status biff_pop3_init(biff_pop3 *e, const biff_pop3_config *cfg, void *work, size_t cap);

/**
 * Feed received bytes (any split). *consumed says how many were used: all of them unless an
 * event (DONE/ERROR) ended the check mid-buffer. On STLS the rest of the buffer is consumed and
 * dropped, and so is anything fed before biff_pop3_tls_started(): bytes that arrived in plaintext
 * must never be read as if TLS protected them (CVE-2021-22947).
 */
biff_pop3_status biff_pop3_feed(biff_pop3 *e, const void *data, size_t len, size_t *consumed);

/** Pending bytes to send: sets *ptr and returns their count (0 = nothing to send). */
size_t biff_pop3_output(const biff_pop3 *e, const uint8_t **ptr);

/** n of the pending bytes were sent. Sent commands (which may hold credentials) are wiped. */
void biff_pop3_output_done(biff_pop3 *e, size_t n);

/** The TLS handshake after BIFF_POP3_STLS succeeded: the engine re-issues CAPA (RFC 2595). */
biff_pop3_status biff_pop3_tls_started(biff_pop3 *e);

/** The server closed the link: DONE if everything needed arrived, else ERROR "incomplete". */
biff_pop3_status biff_pop3_eof(biff_pop3 *e);

/** Result so far (final once DONE/ERROR). */
const biff_pop3_result *biff_pop3_get_result(const biff_pop3 *e);

/** Failed with XOAUTH2/OAUTHBEARER in a way a fresh access token may fix (expired, revoked). */
int biff_pop3_oauth_refused(const biff_pop3 *e);

/** Wipe the engine (APOP digest, buffers' secrets). Call when done with it. */
void biff_pop3_clear(biff_pop3 *e);

#endif

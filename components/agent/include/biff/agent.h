/*
 * The agent: what a mail notifier decides, written once for every host (the CLI, the Linux
 * daemon, the notifier firmware, anyone's own firmware).
 *
 * It owns, per account, the sync state kept in flash and the counts the status model shows, and
 * it is the one place that defines them:
 *
 *   IMAP  unseen = STATUS UNSEEN of each watched folder
 *         new    = messages with a UID at or past the UIDNEXT of the last acknowledge (bounded
 *                  by MESSAGES; re-baselined when UIDVALIDITY changes)
 *   POP3  unseen = what the maildrop holds (STAT): POP3 has no \Seen flag and mail clients
 *                  usually delete what they fetched
 *         new    = UIDs listed that were not in the set recorded at the last acknowledge
 *                  (CRC-32 digests, at most BIFF_SYNC_POP3_MAX, pruned to the listing)
 *   The first check of an account (no record in flash) sets the baseline: nothing is new.
 *
 * Acknowledge makes what the last check saw the baseline. It may come while a check is under
 * way, also in the middle of a POP3 listing: what was listed and what is still to come then
 * count against the set just acknowledged, so acknowledged mail never comes back as new.
 *
 * New mail can be announced (an event, e.g. a buzzer or a push message) once per message, also
 * across restarts: the count already announced is kept in flash beside the sync records.
 *
 * The clock floor: certificates have dates, so a device without a time source starts its clock
 * at a floor, the build time raised to the newest notBefore of any certificate chain a check
 * has verified (a CA vouches that this moment has passed); the agent keeps it in flash.
 *
 * Threads: every function but biff_agent_request() is called from the host's one loop (or under
 * the host's lock). biff_agent_request() may be called from any thread or an interrupt; the loop
 * picks the request up at its next biff_agent_service().
 *
 * Memory: caller-owned. The host passes arrays of biff_agent_mailbox and biff_status_account,
 * one per account; the agent keeps pointers to them and allocates nothing.
 */
#ifndef BIFF_AGENT_H
#define BIFF_AGENT_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/check.h"
#include "biff/http.h"
#include "biff/imap.h"
#include "biff/oauth.h"
#include "biff/poller.h"
#include "biff/result.h"
#include "biff/status.h"
#include "biff/store.h"
#include "biff/sync.h"
#include "biff/tls.h"

/* Watched folders per IMAP account: as many as the status model shows (one on a small part). */
#ifndef BIFF_AGENT_MAX_FOLDERS
#define BIFF_AGENT_MAX_FOLDERS BIFF_STATUS_MAX_FOLDERS
#endif

/* Firmware keys of the sync store's APP range (biff/sync.h) the agent uses. */
#define BIFF_AGENT_KEY_ANNOUNCED(slot) BIFF_SYNC_KEY_APP(slot) /* slot < 0x100 */
#define BIFF_AGENT_KEY_CLOCK_FLOOR     BIFF_SYNC_KEY_APP(0x100)
#define BIFF_AGENT_ANNOUNCE_MAX        0x100u                            /* slots that can announce */
#define BIFF_AGENT_KEY_OAUTH(slot)     BIFF_SYNC_KEY_APP(0x200 + (slot)) /* refresh token, slot < 0x100 */

typedef enum {
    BIFF_AGENT_OK = 0,
    BIFF_AGENT_FRESH,   /* the account had no usable record: its first check sets the baseline */
    BIFF_AGENT_E_ARG,   /* index out of range, wrong protocol, NULL */
    BIFF_AGENT_E_STORE, /* the sync state could not be read or written; RAM goes on */
} biff_agent_status;

typedef enum { BIFF_AGENT_IMAP = 0, BIFF_AGENT_POP3 = 1 } biff_agent_proto; /* = biff_check_proto */

/* What the agent tells its host (biff_agent_port.event). */
typedef enum {
    BIFF_AGENT_EV_COUNTS = 0,    /* an account's unseen or new changed: repaint LEDs and page */
    BIFF_AGENT_EV_NEW_MAIL,      /* count messages arrived that were never announced before */
    BIFF_AGENT_EV_ACCOUNT_ERROR, /* a check failed; text is its detail (never a secret) */
    BIFF_AGENT_EV_PROBLEM,       /* the device's problem changed; text is it ("" = solved) */
    BIFF_AGENT_EV_ACKNOWLEDGED,  /* new mail was acknowledged */
    BIFF_AGENT_EV_IDLE,          /* IMAP IDLE: count 1 = the account idles (text: the folder),
                                    0 = the session was lost (polling until IDLE works again),
                                    2 = the server confirmed no IDLE (polled from now on) */
    BIFF_AGENT_EV_STARTED,       /* the step function starts a check of the account */
    BIFF_AGENT_EV_CHECKED,       /* the step function finished a check (also each one in IDLE):
                                    count is its biff_error_class, text its detail, check and tls
                                    its results while the event runs */
    BIFF_AGENT_EV_AUTH,          /* OAuth2: the account's authorization changed: count is its
                                    biff_auth_state, text the plain-language state, oauth the
                                    lifecycle (biff_oauth_detail() says more; never a token) */
    BIFF_AGENT_EV_AUTH_CODE,     /* OAuth2: show this code: text is the user code, oauth gives
                                    biff_oauth_verification_uri() and _code_expires() (count: the
                                    seconds it is valid) */
    BIFF_AGENT_EV_BROKER,        /* the MQTT broker's state changed (biff/broker.h): count is
                                    its biff_broker_state, text why it failed ("" otherwise) */
} biff_agent_event_kind;

typedef struct {
    uint8_t kind;     /* biff_agent_event_kind */
    uint16_t account; /* index; 0 for device-wide events */
    uint32_t count;   /* NEW_MAIL: messages; COUNTS: new of the account */
    const char *text;
    const biff_check *check; /* CHECKED: the check (biff_check_folder, biff_check_pop3) */
    const biff_tls *tls;     /* CHECKED: its TLS connection, NULL without TLS */
    uint32_t ms;             /* CHECKED: how long it took (ms, from the connect) */
    uint32_t handshake_ms;   /* CHECKED: connect to the end of the first TLS handshake */
    const biff_oauth *oauth; /* AUTH, AUTH_CODE: the account's OAuth2 lifecycle */
} biff_agent_event;

/* Requests other threads or interrupts may make (biff_agent_request). */
#define BIFF_AGENT_REQ_ACK    0x1u /* acknowledge all new mail */
#define BIFF_AGENT_REQ_RELOAD 0x2u /* the host re-reads its configuration (returned to it) */
#define BIFF_AGENT_REQ_AUTH   0x4u /* OAuth2: restart the device flow (biff_agent_authorize) */

/* For the port's tls(): the trust anchors for OAuth2 token endpoints rather than an account's. */
#define BIFF_AGENT_TLS_TOKEN SIZE_MAX

/* For the port's open(): what the agent asks for. */
typedef enum {
    BIFF_AGENT_OPEN_START = 0, /* begin connecting session s to host:port */
    BIFF_AGENT_OPEN_STEP,      /* the link of session s became ready (or the host polls it) */
    BIFF_AGENT_OPEN_TIMEOUT,   /* the current address took BIFF_AGENT_CONNECT_TIMEOUT_MS */
} biff_agent_open_op;

/*
 * The host's side, in the style of coreMQTT's transport interface: a few functions and a
 * context. Every function is called from the agent's loop, never from another thread. Only
 * wall_time and event are needed to record results (biff_agent_imap_folder & co.); the rest
 * is for the step function (biff_agent_step), which then connects and checks by itself.
 */
typedef struct {
    void *ctx; /* passed back to every function */
    /** Wall time, unix seconds (for last_success in the records and the status model). */
    uint32_t (*wall_time)(void *ctx);
    /** Something the host may want to show or send on (may be NULL). Called from the loop. */
    void (*event)(void *ctx, const biff_agent_event *ev);
    /** A monotonic millisecond clock (the schedule, time-outs). */
    uint64_t (*now_ms)(void *ctx);
    /**
     * Open the plain link of session s (s < n_sessions) without blocking. op says what to do;
     * host and port are given with BIFF_AGENT_OPEN_START. Returns BIFF_NET_OK with *t set
     * when connected, BIFF_NET_PENDING while under way, or a failure (<0) with a reason in
     * detail[cap] (never a secret). A host with a blocking connect may simply connect at START.
     */
    biff_net_status (*open)(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                            biff_transport **t, char *detail, size_t cap);
    /** Close the link of session s (idempotent). */
    void (*close)(void *ctx, unsigned s);
    /** The TLS configuration (trust anchors) for account i; NULL: TLS is not available, and
     *  *why (when set) says why, for the account's error. i == BIFF_AGENT_TLS_TOKEN: for an
     *  OAuth2 token endpoint (the device's own trust anchors, not an account's own CA). */
    biff_tls_ctx *(*tls)(void *ctx, size_t i, const char **why);
    /** Random bits (the schedule's jitter). NULL: a fixed seed. */
    uint32_t (*random)(void *ctx);
    /**
     * Where another thread reads the status model (the daemon's web server): the step function
     * holds this lock (on = 1, released with on = 0) while it changes the model, and only then;
     * events come with it held. NULL: single-threaded.
     */
    void (*lock)(void *ctx, int on);
    /**
     * OAuth2 (optional): the refresh token of account i changed; keep token ("" = erase what is
     * kept). Returns 0 when it is kept. NULL: the agent keeps it in its flash store (APP key
     * BIFF_AGENT_KEY_OAUTH, at most BIFF_STORE_MAX_VALUE bytes), or nowhere without a store.
     */
    int (*oauth_save)(void *ctx, size_t i, const char *token);
} biff_agent_port;

/* One account's RAM state. Caller-allocated, one per account; fields are private. */
typedef struct {
    uint32_t account_id; /* biff_sync_id of the account identity */
    uint8_t proto;       /* biff_agent_proto */
    uint8_t n_folders;
    uint8_t seen;              /* bit f: folder f has a result an acknowledge can take */
    uint8_t listing;           /* POP3: a listing is under way (scan valid) */
    uint8_t no_idle;           /* the server confirmed no IDLE: poll it */
    uint32_t announced;        /* new messages already announced */
    uint32_t announced_sig;    /* the baseline that count is from */
    biff_sync_pop3_scan *scan; /* POP3: the listing under way (caller's, one per running check) */
    union {
        struct {
            biff_sync_folder rec[BIFF_AGENT_MAX_FOLDERS]; /* mirror of the flash records */
            uint32_t uidvalidity[BIFF_AGENT_MAX_FOLDERS]; /* the last STATUS seen */
            uint32_t uidnext[BIFF_AGENT_MAX_FOLDERS];
            uint64_t modseq[BIFF_AGENT_MAX_FOLDERS];
        } imap;
        struct {
            biff_sync_folder rec;   /* folder 0 record: unseen, last error */
            biff_sync_uidset acked; /* recorded at the last acknowledge (the baseline) */
            biff_sync_uidset last;  /* the last complete listing: what an acknowledge takes */
        } pop3;
    } u;
} biff_agent_mailbox;

typedef struct {
    const biff_agent_port *port;
    biff_store *store; /* NULL: no flash, state in RAM only */
    biff_agent_mailbox *mb;
    biff_status_account *model; /* what LEDs and pages show */
    size_t n;
    _Atomic uint32_t requests; /* BIFF_AGENT_REQ_*: the one field other threads touch */
    uint8_t announce;          /* raise NEW_MAIL events (and keep their count in flash) */
    uint8_t write_failed;      /* the last flash write failed */
    uint8_t floor_from_cert;
    uint32_t clock_floor;
    /* The step function's (biff_agent_drive); NULL/0 when the host drives the checks. */
    const struct biff_agent_account_cfg_s *cfg;
    biff_poller poller;
    struct biff_agent_session_s *session;
    unsigned n_sessions;
    uint32_t connect_timeout_ms, check_timeout_ms;
    const struct biff_agent_oauth_ops *oauth; /* set by biff_agent_oauth_account (else unlinked) */
} biff_agent;

/**
 * Set up an agent for n accounts over caller arrays mb[n] and model[n] (both zeroed here).
 * store may be NULL (nothing kept across restarts); it must already be bound to the account
 * list (biff_sync_bind). announce: raise BIFF_AGENT_EV_NEW_MAIL and keep its count in flash
 * (slots below BIFF_AGENT_ANNOUNCE_MAX).
 */
biff_agent_status biff_agent_init(biff_agent *ag, const biff_agent_port *port, biff_store *store,
                                  biff_agent_mailbox *mb, biff_status_account *model, size_t n, int announce);

/**
 * Describe account i and load its records from flash: proto (biff_agent_proto), its identity,
 * its display name and, for IMAP, its watched folders (n_folders <= BIFF_AGENT_MAX_FOLDERS,
 * UTF-8 names); POP3 ignores folders and shows one folder, "INBOX". Returns BIFF_AGENT_FRESH
 * when flash holds no record of it (its first check sets the baseline).
 */
biff_agent_status biff_agent_account(biff_agent *ag, size_t i, uint8_t proto, uint32_t account_id, const char *name,
                                     const char *const *folders, unsigned n_folders);

/** The account's identity for the sync state: protocol, user, host and port, no secret. */
uint32_t biff_agent_account_id(int imap, const char *user, const char *host, unsigned port);

/**
 * An IMAP folder's STATUS came in: records unseen, reports "new", writes flash only when a
 * record really changed. Returns the folder's new count (0 on E_ARG).
 */
uint32_t biff_agent_imap_folder(biff_agent *ag, size_t i, unsigned folder, const biff_imap_folder_result *r);

/** POP3: a UIDL listing begins; scan is the caller's (one per check under way). */
biff_agent_status biff_agent_pop3_begin(biff_agent *ag, size_t i, biff_sync_pop3_scan *scan);

/** POP3: the next listed UID (as biff_pop3_uid_fn streams it). */
void biff_agent_pop3_uid(biff_agent *ag, size_t i, const char *uid, size_t len);

/**
 * POP3: the check is done; messages is STAT's count, uidl says whether a listing was read
 * (without one nothing is new). Returns the account's new count.
 */
uint32_t biff_agent_pop3_end(biff_agent *ag, size_t i, uint32_t messages, int uidl);

/**
 * A check of account i ended (after the results above): err BIFF_ERR_NONE or why it failed,
 * detail for people (NULL: none). Sets the model's state, error and last check; a failure ends
 * a POP3 listing and is kept in the record's last_error (written only when it changed).
 */
void biff_agent_check_done(biff_agent *ag, size_t i, biff_error_class err, const char *detail);

/**
 * Acknowledge account i's new mail now (from the loop): what its last check saw becomes the
 * baseline. i == SIZE_MAX: every account. Works while a check of the account is under way.
 */
void biff_agent_acknowledge(biff_agent *ag, size_t i);

/**
 * Ask for BIFF_AGENT_REQ_ACK and/or BIFF_AGENT_REQ_RELOAD from any thread or an interrupt
 * (an atomic OR; the host then wakes its loop). Safe against every other function.
 */
void biff_agent_request(biff_agent *ag, uint32_t req);

/**
 * From the loop: take the pending requests (atomically), carry out an acknowledge, and return
 * the mask taken so the host can do its part (reload its configuration).
 */
uint32_t biff_agent_service(biff_agent *ag);

/** What is wrong with the device, for the status model's "problem" (NULL: nothing). */
const char *biff_agent_problem(const biff_agent *ag);

/** Load the clock floor: build_time raised to the one kept in flash. Returns the floor. */
uint32_t biff_agent_floor_load(biff_agent *ag, uint32_t build_time);

/**
 * A check verified a certificate chain whose newest notBefore is t: raise the floor to it (kept
 * in flash). Returns 1 when it rose (the host then sets its clock if it is behind).
 */
int biff_agent_floor_raise(biff_agent *ag, uint32_t t);

/** The clock floor now (unix seconds). */
static inline uint32_t biff_agent_floor(const biff_agent *ag)
{
    return ag->clock_floor;
}

/** Did the floor come from a verified certificate (rather than the build time)? */
static inline int biff_agent_floor_from_cert(const biff_agent *ag)
{
    return ag->floor_from_cert;
}

/** Is t a time a time source may set (not before the floor)? */
static inline int biff_agent_time_ok(const biff_agent *ag, uint32_t t)
{
    return t >= ag->clock_floor;
}

/* ---------------------------------------------------------------- the step function */

#ifndef BIFF_AGENT_CONNECT_TIMEOUT_MS
#define BIFF_AGENT_CONNECT_TIMEOUT_MS 10000u /* per address; then the next one */
#endif
#ifndef BIFF_AGENT_CHECK_TIMEOUT_MS
#define BIFF_AGENT_CHECK_TIMEOUT_MS 30000u /* a check (or an answer in IDLE) may take this */
#endif
#ifndef BIFF_AGENT_IDLE_CONFIRM_MS
#define BIFF_AGENT_IDLE_CONFIRM_MS 5000u /* after the results, IDLE must be confirmed */
#endif

/* A TLS session kept for resumption; accounts on the same server and user may share one. */
typedef struct {
    mbedtls_ssl_session session;
    uint8_t valid;
} biff_agent_resume;

/*
 * OAuth2 for one account (biff_agent_oauth_account): the lifecycle of biff/oauth.h run by the
 * step function in the account's sessions, and what the page shows of it. Caller-allocated, one
 * per OAuth2 account; fields are private but for o, which the host may read from the loop.
 */
typedef struct biff_agent_oauth_s {
    biff_oauth o;            /* the lifecycle: state, code, tokens */
    biff_status_auth view;   /* what the model shows (model[i].auth points here) */
    _Atomic uint32_t wanted; /* biff_agent_authorize() asked for a new flow (a word: RV32 has no byte swap) */
    uint8_t shown_state, shown_why;
    uint16_t saved_gen; /* the refresh token's generation last kept */
} biff_agent_oauth;

/* What to check and how, per account (the host's; it must outlive the agent's use of it). */
typedef struct biff_agent_account_cfg_s {
    biff_check_account check;  /* protocol, security, auth, host, port, user, secret, folders,
                                  idle (IMAP: stay in IDLE where the server offers it) */
    const uint8_t *pin;        /* SHA-256 of the server's key (32 bytes), or NULL */
    biff_agent_resume *resume; /* where the TLS session is kept for resumption, or NULL */
    uint32_t interval_ms;      /* between checks; failures back off (biff/poller.h) */
    uint8_t enabled;           /* 0: checked only when the host asks (biff_agent_check_now) */
    biff_agent_oauth *oauth;   /* OAuth2 account (biff_agent_oauth_account): check.secret is
                                  then the access token of the moment; NULL: password */
} biff_agent_account_cfg;

/* The largest token response a session takes: by default what the check's own buffers hold
 * (the exchange shares their memory); hosted builds set 6 KB in CMakeLists.txt for Microsoft's
 * replies (an access token of up to 2.5 KB and a refresh token of up to 2 KB). */
#ifndef BIFF_AGENT_TOKEN_BODY_MAX
#define BIFF_AGENT_TOKEN_BODY_MAX (BIFF_CHECK_LINE_MAX + BIFF_CHECK_OUT_MAX + BIFF_CHECK_RX_MAX)
#endif

/* A token exchange (OAuth2) in a session: it uses the memory of the check, which is idle then. */
typedef struct {
    biff_http_resp resp;
    const char *data; /* the request (in the lifecycle's buffer) */
    size_t len, off;
    char host[BIFF_OAUTH_HOST_MAX];
    uint16_t port;
    uint8_t body[BIFF_AGENT_TOKEN_BODY_MAX]; /* the token response */
} biff_agent_exchange;

/* One connection at a time per session; caller-allocated (about 5 KB + mbedTLS's share). */
typedef struct biff_agent_session_s {
    uint8_t state; /* private */
    uint8_t tls_up, starttls, want_write, idling, renewing;
    size_t acct;
    void *agent; /* the biff_agent it belongs to */
    uint64_t deadline;
    uint64_t started_ms;
    uint32_t handshake_ms;
    biff_transport *plain;
    biff_check_account ca; /* the account as this check runs it (IDLE may be dropped) */
    biff_tls tls;
    union {
        biff_check check;
        biff_agent_exchange x; /* OAuth2: a token exchange before the check */
    };
    uint8_t exchanges; /* token exchanges in this session (bounded) */
    biff_sync_pop3_scan scan;
    biff_check_status last;
} biff_agent_session;

/* What a session waits for (biff_agent_session_want). */
#define BIFF_AGENT_WANT_NONE  0u
#define BIFF_AGENT_WANT_READ  1u
#define BIFF_AGENT_WANT_WRITE 2u

/**
 * Let the agent run the checks: cfg[n] (the n of biff_agent_init, each account described with
 * biff_agent_account first), sched[n] and slot[n] for the schedule, sessions[n_sessions]
 * (at most that many checks at once; 1 on a small part). Every enabled account is due within
 * the first second. All arrays are the caller's and must stay.
 */
biff_agent_status biff_agent_drive(biff_agent *ag, const biff_agent_account_cfg *cfg, biff_poller_account *sched,
                                   biff_poller_slot *slot, biff_agent_session *sessions, unsigned n_sessions);

/**
 * The step function: take requests (biff_agent_service), start the checks that are due, move
 * every session as far as it goes without blocking, give up on what took too long. Returns
 * the time (port now_ms) by which it wants to be called again; call it sooner when a link is
 * ready (biff_agent_session_want says for what).
 */
uint64_t biff_agent_step(biff_agent *ag);

/** What session s waits for: BIFF_AGENT_WANT_NONE (free or not waiting on its link), READ or WRITE. */
unsigned biff_agent_session_want(const biff_agent *ag, unsigned s);

/** Non-zero while a check is under way (a session that only waits in IDLE is not busy): a host
 *  may sleep until its next tick when this is 0. */
int biff_agent_busy(const biff_agent *ag);

/** Time-outs other than the defaults: per address while connecting, and for a check (or an
 *  answer in IDLE) once connected. 0 keeps a value. */
void biff_agent_timeouts(biff_agent *ag, uint32_t connect_ms, uint32_t check_ms);

/** Renew IDLE sessions this often (default 25 min: servers drop them after 30, NATs sooner). */
void biff_agent_idle_renew(biff_agent *ag, uint32_t ms);

/** Check account i as soon as a session is free (a "check now" button), also one that is not
 *  enabled for the schedule (the CLI checks each account once that way). */
void biff_agent_check_now(biff_agent *ag, size_t i);

/** End every session (links closed, buffers wiped); the schedule stays. */
void biff_agent_stop(biff_agent *ag);

/* ---------------------------------------------------------------- OAuth2 (agent_oauth.c) */

/*
 * An account with auth oauth2: its sessions get an access token from the token endpoint before
 * they log in (the device authorization grant when there is no refresh token yet, RFC 8628; a
 * refresh when the token is due or the mail server refused it as expired), over the same port
 * open/close and TLS configuration as the checks: one session serves checks and token requests
 * in turn, there is never a second TLS context for it. The mechanism is the one the account
 * names, or (auth AUTO) OAUTHBEARER where the server offers it, else XOAUTH2.
 *
 * States for people, in the model (model[i].auth) and BIFF_AGENT_EV_AUTH: asking for a code;
 * waiting for approval (BIFF_AGENT_EV_AUTH_CODE: show the URI and code, with its expiry),
 * polling at the server's interval (slow_down slows it); authorized; refreshing; needs
 * authorization (the code expired, access was denied, or the refresh token was revoked:
 * invalid_grant), an error of class auth_failed, so the LEDs blink the error pattern; the server
 * refused the client (config). biff_agent_authorize() starts the flow again.
 *
 * The refresh token is kept by port->oauth_save (the daemon: its secrets file) or, without
 * that hook, in the agent's flash store (the notifier: an APP key an erase wipes). Tokens never
 * appear in events, details or the model.
 */

/**
 * Make account i (described with biff_agent_account) an OAuth2 account run by the step
 * function: oa is the caller's, and cfg[i].oauth of biff_agent_drive must be the same oa. cfg
 * (strings too) must stay. access, refresh, req are the lifecycle's buffers (biff_oauth_init:
 * the access token, the refresh token, the request). stored: the kept refresh token ("": none;
 * NULL: read it from the flash store when port->oauth_save is NULL). E_ARG: bad settings.
 */
biff_agent_status biff_agent_oauth_account(biff_agent *ag, size_t i, biff_agent_oauth *oa, const biff_oauth_config *cfg,
                                           char *access, size_t access_cap, char *refresh, size_t refresh_cap,
                                           char *req, size_t req_cap, const char *stored);

/**
 * Start the device authorization of OAuth2 account i again (the page's "authorize again"
 * button). From any thread, like biff_agent_request(): the loop carries it out at its next step.
 */
void biff_agent_authorize(biff_agent *ag, size_t i);

#endif

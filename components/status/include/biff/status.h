/*
 * The status model every output reads, and the outputs that are pure functions of it: LED
 * patterns, /status.json, the HTML status page and the terminal LED line. No I/O, no malloc,
 * no printf: the same code runs in the Linux daemon and on the MCU.
 *
 * The model holds no secret by construction (there is no field for one); renderers read every
 * string field bounded by its array size, so an unterminated field cannot pull in neighbours.
 * Renderers write into a caller buffer and return BIFF_STATUS_E_SPACE with the needed length
 * when it does not fit (the buffer then holds an empty string, never a truncated document).
 */
#ifndef BIFF_STATUS_H
#define BIFF_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "biff/out.h"
#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#ifndef BIFF_STATUS_NAME_MAX
#define BIFF_STATUS_NAME_MAX 32 /* account name incl. NUL */
#endif
#ifndef BIFF_STATUS_MAX_FOLDERS
#define BIFF_STATUS_MAX_FOLDERS 8
#endif
#ifndef BIFF_STATUS_FOLDER_MAX
#define BIFF_STATUS_FOLDER_MAX 128 /* folder name incl. NUL */
#endif
#ifndef BIFF_STATUS_DETAIL_MAX
#define BIFF_STATUS_DETAIL_MAX 128 /* error text incl. NUL */
#endif

typedef enum {
    BIFF_STATUS_OK = 0,
    BIFF_STATUS_E_SPACE, /* output does not fit; *len says how much is needed */
    BIFF_STATUS_E_ARG,
} biff_status_status;

typedef enum {
    BIFF_STATE_IDLE = 0, /* waiting for the first or next check (or in IDLE) */
    BIFF_STATE_CHECKING,
    BIFF_STATE_OK,    /* last check succeeded */
    BIFF_STATE_ERROR, /* last check failed: err and detail say why */
} biff_status_state;

typedef enum { BIFF_STATUS_IMAP = 0, BIFF_STATUS_POP3 = 1 } biff_status_proto; /* = biff_url_proto */

typedef struct {
    char name[BIFF_STATUS_FOLDER_MAX]; /* UTF-8 as the server/config gave it */
    uint32_t unseen;                   /* IMAP STATUS UNSEEN; POP3: UIDLs not recorded before */
    uint32_t fresh;                    /* "new": arrived since the last acknowledge */
} biff_status_folder;

#ifndef BIFF_STATUS_CODE_MAX
#define BIFF_STATUS_CODE_MAX 24 /* OAuth2 user code incl. NUL */
#endif
#ifndef BIFF_STATUS_URI_MAX
#define BIFF_STATUS_URI_MAX 160 /* OAuth2 verification URI incl. NUL */
#endif

/* Where an OAuth2 account's authorization is (what the page's panel shows). */
typedef enum {
    BIFF_AUTH_OK = 0,  /* authorized: an access token is valid or being refreshed */
    BIFF_AUTH_WORKING, /* asking the server for a code, or retrying after a failure */
    BIFF_AUTH_WAITING, /* showing the code: the user opens uri and enters code */
    BIFF_AUTH_NEEDED,  /* needs the user: the page offers "authorize again" */
    BIFF_AUTH_BROKEN,  /* the server refused the client itself: only the config can fix it */
} biff_auth_state;

/* An OAuth2 account's authorization, for people: never a token (there is no field for one). */
typedef struct {
    uint8_t state;                   /* biff_auth_state */
    char text[64];                   /* plain language: "waiting for approval", ... */
    char code[BIFF_STATUS_CODE_MAX]; /* WAITING: the user code */
    char uri[BIFF_STATUS_URI_MAX];   /* WAITING: where to enter it */
    uint32_t code_expires;           /* WAITING: unix seconds when the code expires */
} biff_status_auth;

typedef struct {
    char name[BIFF_STATUS_NAME_MAX];
    uint8_t proto; /* biff_status_proto */
    uint8_t state; /* biff_status_state */
    uint8_t err;   /* biff_error_class of the last check; NONE after a good one */
    uint8_t n_folders;
    uint32_t last_check;                 /* unix seconds of the last finished check; 0 = never */
    uint32_t next_check;                 /* unix seconds of the next planned check; 0 = none planned */
    char tls[12];                        /* "TLSv1.3", "TLSv1.2"; "" = plaintext or not connected */
    char detail[BIFF_STATUS_DETAIL_MAX]; /* error text for people; never a secret */
    biff_status_folder folder[BIFF_STATUS_MAX_FOLDERS];
    const biff_status_auth *auth; /* OAuth2 accounts (the host's memory); NULL: password */
} biff_status_account;

/* The MQTT broker Home Assistant listens on (components/broker), as the page shows it. */
typedef enum {
    BIFF_BROKER_OFF = 0,    /* not configured: no "mqtt" on the page */
    BIFF_BROKER_CONNECTING, /* connecting, or waiting to try again after a clean end */
    BIFF_BROKER_CONNECTED,  /* logged in and subscribed: publishing */
    BIFF_BROKER_ERROR,      /* the last attempt failed: detail says why; retried with back-off */
} biff_broker_state;

typedef struct {
    uint8_t state;                       /* biff_broker_state */
    char detail[BIFF_STATUS_DETAIL_MAX]; /* why it failed (never a secret); "" otherwise */
} biff_status_broker;

/** The name /status.json gives a biff_broker_state ("connecting", "connected", "error"). */
const char *biff_broker_state_name(uint8_t st);

/* LED patterns, strongest last: an LED fed by several accounts shows the strongest. */
typedef enum {
    BIFF_LED_OFF = 0, /* nothing unread */
    BIFF_LED_STEADY,  /* unread mail */
    BIFF_LED_SLOW,    /* new mail since the last acknowledge */
    BIFF_LED_FAST,    /* an account is in error */
} biff_led_pattern;

/* What one LED shows, with the numbers the terminal line prints. */
typedef struct {
    uint8_t pattern;        /* biff_led_pattern */
    uint8_t err;            /* first error class among the accounts (FAST) */
    uint16_t n_errors;      /* accounts in error */
    uint32_t unseen, fresh; /* sums over the accounts' folders (saturating) */
} biff_led_summary;

/** Sum of unseen (fresh when want_fresh) over an account's folders, saturating. */
uint32_t biff_status_total(const biff_status_account *a, int want_fresh);

/** Pattern of one account: error beats new beats unread beats off. */
biff_led_pattern biff_led_pattern_of(const biff_status_account *a);

/**
 * Summary of the LED fed by accounts idx[0..n_idx) of accts[0..n_accts) (idx == NULL or
 * n_idx == 0: all of them; indices out of range are skipped). Returns the pattern.
 */
biff_led_pattern biff_led_summarize(const biff_status_account *accts, size_t n_accts, const uint16_t *idx, size_t n_idx,
                                    biff_led_summary *out);

/**
 * LED level (1 lit, 0 dark) of pattern p at t_ms (any free-running millisecond counter, may wrap).
 * Slow blink: 1024 ms period (~1 Hz), fast blink: 256 ms (~4 Hz), each half on, half off;
 * powers of two so the counter can wrap at 2^32 without a glitch and no division is needed.
 */
int biff_led_level(biff_led_pattern p, uint32_t t_ms);

/** On/off times in ms for a hardware/sysfs timer trigger (0/0 for off and steady). */
void biff_led_timing(biff_led_pattern p, uint16_t *on_ms, uint16_t *off_ms);

/** "off", "steady", "slow", "fast". */
const char *biff_led_pattern_name(biff_led_pattern p);

/**
 * Terminal line for a LED, e.g. "[LED work: ●  steady  (3 unread)]"; lit is the current level
 * (biff_led_level). ascii selects "*"/"-" instead of "●"/"○". Writes a NUL-terminated line
 * without newline; *len (may be NULL) gets its length, or the needed length on E_SPACE.
 */
biff_status_status biff_led_line(char *buf, size_t cap, size_t *len, const char *led_name, const biff_led_summary *s,
                                 int lit, int ascii);

/**
 * /status.json: {"now":..,"unseen":..,"new":..,"problem":..,"accounts":[{"name","protocol",
 * "state","last_check","next_check","tls","error","detail","unseen","new","folders":[{"name",
 * "unseen","new"}]}]}. Times are unix seconds or null; "error" is the class name or null.
 * problem is what is wrong with the device rather than an account (sync state not kept, clock
 * not set); NULL or "" for none, which is "problem":null. mqtt: the broker's state,
 * "mqtt":{"state":"connecting"|"connected"|"error","detail":..} (NULL or OFF: "mqtt":null).
 * An OAuth2 account adds "auth":{"state" (ok, working, waiting, needed, broken),"text",
 * "user_code","verification_uri","code_expires"} (the last three null unless waiting).
 */
biff_status_status biff_status_json(char *buf, size_t cap, size_t *len, const biff_status_account *accts, size_t n,
                                    uint32_t now, const char *problem, const biff_status_broker *mqtt);

/**
 * biff_status_json into the writer o, which may keep only a window of it (biff/out.h): the same
 * model, now, problem and mqtt give the same bytes, so a server can send the document in pieces
 * through a small buffer, rendering it again for each piece (o->sum of the whole rendering
 * tells whether the model changed meanwhile). Never fails; o->pos grows by the length.
 */
void biff_status_json_out(biff_out *o, const biff_status_account *accts, size_t n, uint32_t now, const char *problem,
                          const biff_status_broker *mqtt);

/**
 * The status page: self-contained HTML (inline CSS, no scripts), refreshing itself every
 * refresh_s seconds (0: no refresh). problem and mqtt as for biff_status_json, shown under the
 * totals.
 * csrf_token (NULL: no button) goes into a hidden field of the "Acknowledge" form that POSTs
 * to /ack, and of each OAuth2 account's "Authorize again" form that POSTs account=INDEX to
 * /authorize. An OAuth2 account waiting for approval gets a panel "Open URI and enter CODE" with
 * the code's time left.
 */
biff_status_status biff_status_html(char *buf, size_t cap, size_t *len, const biff_status_account *accts, size_t n,
                                    uint32_t now, const char *problem, const biff_status_broker *mqtt,
                                    unsigned refresh_s, const char *csrf_token);

#endif

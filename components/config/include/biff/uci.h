/*
 * The daemon's config file in OpenWrt UCI syntax, so it drops into /etc/config/tinybiff:
 *
 *   config tinybiff 'main'
 *       option interval '300'
 *       option status_bind '127.0.0.1:8025'
 *   config account 'work'
 *       option url 'imaps://alice@mail.example.com'
 *       list folder 'INBOX'
 *       list folder 'Lists/dev'
 *   config led 'green'
 *       option sysfs 'green:status'
 *       list account 'work'
 *   config mqtt 'ha'                         (at most one; see biff_mqtt_config)
 *       option url 'mqtts://broker.lan'
 *       option username 'tinybiff'
 *
 * Syntax: one statement per line; words unquoted, in '...' (taken literally) or "..." (\\ and
 * \" escapes), adjacent pieces join into one word; '#' starts a comment outside quotes; a quote
 * must close on its line. `package <name>` is accepted and ignored (uci export writes it).
 *
 * The parser reads from a caller buffer and writes into caller arrays: no file I/O, no malloc.
 * Every problem becomes a diagnostic "FILE:LINE: what is wrong". A problem inside an account
 * (LED, mqtt) section rejects that section only (bad = 1, enabled = 0); the others stay usable.
 * Values are never echoed for options that could carry a secret (url). Secrets live in a
 * separate file, read with biff_uci_secret().
 */
#ifndef BIFF_UCI_H
#define BIFF_UCI_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/account.h"

#ifndef BIFF_UCI_DIAG_MAX
#define BIFF_UCI_DIAG_MAX 200 /* one message incl. NUL; longer ones are cut */
#endif
#ifndef BIFF_UCI_TOKEN_MAX
#define BIFF_UCI_TOKEN_MAX 512 /* longest word in the config file */
#endif

typedef enum {
    BIFF_UCI_OK = 0,      /* no diagnostics */
    BIFF_UCI_PARTIAL,     /* some account/LED sections rejected; the rest is usable */
    BIFF_UCI_E_INVALID,   /* an error outside account/LED sections: do not run with it */
    BIFF_UCI_E_NOT_FOUND, /* biff_uci_secret(): no entry for the account */
    BIFF_UCI_E_TOO_LONG,  /* biff_uci_secret(): the secret does not fit the buffer */
    BIFF_UCI_E_ARG,
} biff_uci_status;

typedef struct {
    uint32_t line;                /* 1-based; 0 = about the whole file */
    int32_t account;              /* index of the account it rejected, -1 if none */
    char text[BIFF_UCI_DIAG_MAX]; /* "FILE:LINE: what", never holds a secret */
} biff_uci_diag;

/* The parse result; the arrays are the caller's (see biff_uci_init()). */
typedef struct {
    biff_globals globals;
    biff_mqtt_config mqtt; /* mqtt.given: a config mqtt section was there */
    biff_account *accounts;
    biff_led_config *leds;
    biff_uci_diag *diags;
    uint16_t max_accounts, n_accounts;
    uint16_t max_leds, n_leds;
    uint16_t max_diags, n_diags;
    uint32_t n_errors; /* every error, including those that did not fit diags */
} biff_uci_config;

/** Point cfg at the caller's arrays and set the globals to their defaults. */
void biff_uci_init(biff_uci_config *cfg, biff_account *accounts, size_t max_accounts, biff_led_config *leds,
                   size_t max_leds, biff_uci_diag *diags, size_t max_diags);

/**
 * Parse a whole config file (len bytes, need not be NUL-terminated) into cfg. file names the
 * file in messages. Accounts and LEDs are appended in file order; each LED's account list is
 * resolved to indices once the whole file is read, so sections may come in any order.
 */
biff_uci_status biff_uci_parse(biff_uci_config *cfg, const char *file, const char *text, size_t len);

/**
 * Secrets file: one `<account name> = <secret>` per line; blank lines and lines starting with
 * '#' are skipped; spaces around the name and the secret are dropped (so a secret cannot start
 * or end with a space or tab); everything after the first '=' is the secret. The file should be
 * mode 600. Copies the secret of account into out (cap bytes incl. NUL). Malformed lines are
 * skipped here; biff_uci_secrets_check() reports them.
 */
biff_uci_status biff_uci_secret(const char *text, size_t len, const char *account, char *out, size_t cap);

/**
 * Report malformed lines and duplicate names of a secrets file into diags (as
 * biff_uci_parse() does, never quoting a secret). Returns OK or E_INVALID; *n_diags gets the
 * number written.
 */
biff_uci_status biff_uci_secrets_check(const char *text, size_t len, const char *file, biff_uci_diag *diags,
                                       size_t max_diags, size_t *n_diags);

/**
 * Write a secrets file with entry name set to value (NULL or "": removed) into out[cap], for the
 * daemon to store a refresh token with biff_sfile_write() (atomic, mode 600). Every other line
 * stays as it was, comments and order too; the first entry of that name is replaced where it
 * is, later ones are dropped (only the first is used anyway); a new entry goes at the end.
 * *out_len gets the length (out is NUL-terminated). E_ARG: name not 1 to 31 letters, digits or
 * _, or a value with a control byte or space at either end (it would not read back the same);
 * E_TOO_LONG: out is too small (out is then wiped).
 */
biff_uci_status biff_uci_secret_set(const char *text, size_t len, const char *name, const char *value, char *out,
                                    size_t cap, size_t *out_len);

/** Longest check interval, in seconds, either product accepts (interval_s * 1000 must fit
 *  32 bits where it is counted in milliseconds). */
#define BIFF_UCI_INTERVAL_MAX 86400u

/** Parse a decimal of digits only into *out if it lies in [min, max]; 0 on success, -1 not. */
int biff_uci_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/** 1 when v is one word of printable ASCII (no spaces), at least one byte: a client id or secret. */
int biff_uci_word_ok(const char *v);

/** A pin as `option pin` takes it ("sha256/" and the base64 of 32 bytes) into out; 0 on
 *  success, -1 not. */
int biff_uci_pin(const char *s, uint8_t out[32]);

/** 1 when s is an MQTT topic for a prefix or base (no wildcard, no empty level) of 1 to max
 *  bytes, else 0. */
int biff_uci_topic_ok(const char *s, size_t max);

/** 1 when s is 1 to max letters, digits, _ or - (an MQTT client id that is also Home
 *  Assistant's node id), else 0. */
int biff_uci_node_id_ok(const char *s, size_t max);

/** One-line meaning of a status. */
const char *biff_uci_strerror(biff_uci_status st);

#endif

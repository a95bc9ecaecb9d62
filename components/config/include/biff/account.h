/*
 * What the config file says, as plain fixed-size structs: the daemon's globals, the accounts
 * and the LEDs. Filled by biff_uci_parse() (biff/uci.h) on Linux; an MCU image may fill them
 * from constants instead. Secrets are never stored here (see biff_uci_secret()), with one
 * exception: an OAuth2 client secret, which a device-flow client cannot keep secret anyway (it
 * ships with the app: RFC 8252 section 8.5); it is still never quoted in a message.
 */
#ifndef BIFF_ACCOUNT_H
#define BIFF_ACCOUNT_H

#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/url.h"

#ifndef BIFF_ACCOUNT_NAME_MAX
#define BIFF_ACCOUNT_NAME_MAX 32 /* section name incl. NUL: [A-Za-z0-9_-], 1..31 chars */
#endif
#ifndef BIFF_ACCOUNT_MAX_FOLDERS
#define BIFF_ACCOUNT_MAX_FOLDERS 8 /* matches BIFF_IMAP_MAX_FOLDERS */
#endif
#ifndef BIFF_ACCOUNT_FOLDER_MAX
#define BIFF_ACCOUNT_FOLDER_MAX 128 /* folder name incl. NUL, UTF-8 */
#endif
#ifndef BIFF_CONFIG_PATH_MAX
#define BIFF_CONFIG_PATH_MAX 128 /* file paths incl. NUL */
#endif
#ifndef BIFF_ACCOUNT_OAUTH_URL_MAX
#define BIFF_ACCOUNT_OAUTH_URL_MAX 192 /* token_url, device_url incl. NUL */
#endif
#ifndef BIFF_STATUS_HOSTS_MAX
#define BIFF_STATUS_HOSTS_MAX 4 /* list status_host entries */
#endif
#ifndef BIFF_DEFAULT_INTERVAL_S
#define BIFF_DEFAULT_INTERVAL_S 300 /* seconds between checks when the config says nothing */
#endif
#ifndef BIFF_LED_MAX_ACCOUNTS
#define BIFF_LED_MAX_ACCOUNTS 16 /* accounts one LED can watch */
#endif

/* Same values as biff_check_security (biff/check.h) so the daemon can pass it straight on. */
typedef enum {
    BIFF_SECURITY_TLS = 0,      /* implicit TLS: imaps://, pop3s:// */
    BIFF_SECURITY_STARTTLS = 1, /* imap://, pop3:// upgraded; the default for those schemes */
    BIFF_SECURITY_NONE = 2,     /* plaintext, only when the account says security 'none' */
} biff_security;

typedef enum { BIFF_LOG_STDERR = 0, BIFF_LOG_SYSLOG = 1 } biff_log_target;

/* config tinybiff 'main' */
typedef struct {
    uint32_t interval_s;                         /* default check interval; default 300 */
    uint32_t idle_renew_s;                       /* re-issue IDLE after this; default 1500 (25 min) */
    uint16_t max_parallel;                       /* checks in flight at once; default 8 */
    uint8_t log;                                 /* biff_log_target; default stderr */
    char status_bind[64];                        /* "127.0.0.1:8025" (default), "[::1]:8025"; "" = no page */
    char status_host[BIFF_STATUS_HOSTS_MAX][64]; /* list status_host: names the page answers to
                                                    besides localhost and the bound address */
    uint8_t n_status_hosts;
    char status_json[BIFF_CONFIG_PATH_MAX]; /* also write status JSON here; "" (default) = no */
    char ca[BIFF_CONFIG_PATH_MAX];          /* CA bundle; default /etc/ssl/certs/ca-certificates.crt */
    char secrets[BIFF_CONFIG_PATH_MAX];     /* secrets file; default /etc/tinybiff/secrets */
    char state[BIFF_CONFIG_PATH_MAX];       /* sync state flash image; "" (default) = RAM only */
    char control[108];                      /* control socket (`tinybiff ack`/`status`); "" (default) =
                                             * none; 107 bytes at most, a unix socket path's limit */
} biff_globals;

/* config account '<name>' */
typedef struct {
    char name[BIFF_ACCOUNT_NAME_MAX];
    biff_url url;     /* protocol, user, ;AUTH=, host, port */
    uint8_t enabled;  /* 0: option enabled '0', or the section had an error */
    uint8_t bad;      /* 1: the section had an error (diagnostics say which) */
    uint8_t security; /* biff_security, resolved from url + option security */
    uint8_t idle;     /* use IMAP IDLE when offered; default 1 */
    uint8_t has_pin;
    uint8_t n_folders;   /* IMAP: 1..MAX (list folder, else the URL's mailbox);
                            POP3: 0 */
    uint16_t line;       /* line of the `config account` line, for later messages */
    uint32_t interval_s; /* 0 = the global interval */
    uint8_t pin[32];     /* SHA-256 of the server's public key (option pin) */
    char folders[BIFF_ACCOUNT_MAX_FOLDERS][BIFF_ACCOUNT_FOLDER_MAX];
    char ca[BIFF_CONFIG_PATH_MAX]; /* "" = the global CA bundle */
    char secret_env[64];           /* environment variable with the secret; "" = the
                                      secrets file entry named like the account */
    /* option auth 'oauth2': the access token comes from the device flow (biff/oauth.h); a
     * preset's endpoints and scope are filled in here, so the strings are complete. */
    uint8_t oauth2;
    char oauth_provider[16];                    /* "google", "microsoft" or "custom" */
    char token_url[BIFF_ACCOUNT_OAUTH_URL_MAX]; /* https://host[:port]/path */
    char device_url[BIFF_ACCOUNT_OAUTH_URL_MAX];
    char client_id[128];
    char client_secret[128]; /* "" = a public client */
    char scope[256];         /* space-separated */
} biff_account;

/* config led '<name>' */
typedef struct {
    char name[BIFF_ACCOUNT_NAME_MAX];
    char sysfs[64];                          /* /sys/class/leds/<sysfs>; "" = none */
    uint8_t terminal;                        /* also draw it as a terminal line (demo) */
    uint8_t bad;                             /* the section had an error; do not drive it */
    uint8_t n_accounts;                      /* 0 = every account feeds this LED */
    uint16_t account[BIFF_LED_MAX_ACCOUNTS]; /* indices into the account array */
} biff_led_config;

/* config mqtt '<name>': the MQTT broker Home Assistant listens on (components/ha). At most one. */
typedef struct {
    char name[BIFF_ACCOUNT_NAME_MAX]; /* the section's: its secrets file entry is the password */
    biff_url url;                     /* mqtts://host[:8883] or mqtt://host[:1883] */
    uint8_t given;                    /* a config mqtt section was there */
    uint8_t enabled;                  /* given, without errors and not option enabled '0' */
    uint8_t bad;                      /* the section had an error (diagnostics say which) */
    uint8_t has_pin;
    uint16_t line;
    uint8_t pin[32];               /* SHA-256 of the broker's public key (option pin) */
    char username[128];            /* option username; "" = none */
    char ca[BIFF_CONFIG_PATH_MAX]; /* "" = the global CA bundle */
    char secret_env[64];           /* environment variable with the password; "" = the
                                      secrets file entry named like the section */
    char client_id[33];            /* [A-Za-z0-9_-]; also HA's node id; default "tinybiff" */
    char discovery_prefix[33];     /* default "homeassistant" */
    char base_topic[65];           /* default "tinybiff/<client_id>" */
} biff_mqtt_config;

#endif

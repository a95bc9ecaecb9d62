/*
 * The notifier's provisioning: accounts, trust anchor, host table, time, read once at start.
 * On QEMU it comes from a host file through semihosting (the e2e test writes it); a product
 * would read the same text from a provisioning area of its flash. Text, one directive a line:
 *
 *   time 1718000000                  provisioner's clock (Unix seconds), see board README "Time"
 *   ntp pool.ntp.org [123]           SNTP server (name or address) and port
 *   host localhost 10.0.2.2          static host table entry, asked before DNS
 *   interval 20                      seconds between checks of an account (5..86400, default 300)
 *   ca /path/to/ca.pem               trust anchor (PEM or DER), read at start
 *   web_name biff.lan                a name the status page answers to besides addresses and
 *                                    localhost (at most 2)
 *   account imaps://user@host:993/INBOX SECRET [idle]   idle: stay in IMAP IDLE (new mail at once)
 *   account pop3s://user@host:995 SECRET
 *   mqtt_url mqtts://broker.lan      the Home Assistant broker, and its other mqtt_ lines
 *                                    (prov_mqtt.h)
 *
 * OAuth2 (RFC 8628 device grant; BIFF_FEATURE_OAUTH): the lines after an account line that
 * carry the router's UCI option names make it an OAuth2 account, which takes no secret (its
 * tokens come from the device flow; the refresh token is kept in flash):
 *
 *   account imaps://user@outlook.office365.com/INBOX [idle]
 *   auth oauth2                      password (the default) or oauth2
 *   oauth_provider microsoft         google, microsoft (endpoints and scope filled in) or custom
 *   client_id 0123-abcd              issued by the provider
 *   client_secret ...                optional: a confidential client
 *   token_url https://host[:port]/path    custom only, as device_url
 *   device_url https://host[:port]/path
 *   scope mail offline_access        the rest of the line; custom: needed; a preset: replaces
 *                                    the preset's scope
 *
 * Secrets stay in the provisioning buffer and are only ever handed to the protocol engines
 * (and the client secret to the token endpoint).
 */
#ifndef NOTIFIER_PROVISION_H
#define NOTIFIER_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "biff/check.h"
#ifndef BIFF_FEATURE_OAUTH
#define BIFF_FEATURE_OAUTH 1 /* the OAuth2 device grant (until the board settings header sets it) */
#endif
#if BIFF_FEATURE_OAUTH
#include "biff/oauth.h"
#endif
#include "prov_mqtt.h"

#ifndef BIFF_NOTIFIER_MAX_ACCOUNTS /* the MCU boards' settings name it; the host's unit test takes this */
#define BIFF_NOTIFIER_MAX_ACCOUNTS 6
#endif
#define PROV_MAX_ACCOUNTS  BIFF_NOTIFIER_MAX_ACCOUNTS
#define PROV_MAX_HOSTS     2
#define PROV_MAX_WEB_NAMES 2
#define PROV_TEXT_MAX      1536

typedef struct {
    biff_check_account acct; /* points into prov.text */
    const char *folder;      /* IMAP folder (one per account on the MCU) */
    uint32_t id;             /* biff_sync_id of the URL (no secret in it) */
#if BIFF_FEATURE_OAUTH
    uint8_t oauth2;          /* auth oauth2: tokens from the device flow, acct.secret NULL */
    biff_oauth_config oauth; /* strings in prov.text or a preset's; complete when oauth2 */
#endif
} prov_account;

typedef struct {
    char text[PROV_TEXT_MAX];
    prov_account acct[PROV_MAX_ACCOUNTS];
    unsigned n_acct;
    const char *host_name[PROV_MAX_HOSTS];
    const char *host_addr[PROV_MAX_HOSTS];
    unsigned n_hosts;
    const char *web_name[PROV_MAX_WEB_NAMES];
    unsigned n_web_names;
    const char *ca_path;
    unsigned long time;   /* 0: not given */
    const char *ntp_host; /* NULL: no SNTP */
    uint16_t ntp_port;
    uint32_t interval_s;
    prov_mqtt mqtt; /* mqtt.url NULL: no broker */
} prov;

/** Read and parse the file at path (semihosting). 0 on success; on failure *why says what. */
int prov_load(prov *p, const char *path, const char **why);

#endif

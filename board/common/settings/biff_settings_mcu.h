/*
 * The build-time sizes the MCU boards share (mps2-an385, qemu-virt-rv32), included by each one's
 * biff_settings.h after its features, as they share lwipopts.h and biff_mbedtls_board.h. A
 * setting not named here keeps the default its component header documents; each value is
 * guarded, so a board's own header or a -D for a whole build can choose another.
 *
 * RAM figures are per account unless said otherwise; README "Footprint" has the measured ones.
 */
#ifndef BIFF_SETTINGS_MCU_H
#define BIFF_SETTINGS_MCU_H

/* ---------------------------------------------------------------- TLS (biff_mbedtls_board.h) */

/* Largest incoming TLS record: 16384 takes any server's records; 4096 is the small build for
 * small chains on servers that honour max_fragment_length (also the CMake option
 * -DBIFF_TLS_IN_RECORD=4096). */
#ifndef BIFF_TLS_IN_RECORD
#define BIFF_TLS_IN_RECORD 16384
#endif
/* The notifier's mbedTLS pool follows from the record size and the features (firmware/notifier
 * main.c, NOTIFIER_TLS_POOL: 56 KB for 16 KB records, 36 KB for 4 KB, 24 KB more with MQTT;
 * README "Footprint" has the measured peaks); the CMake option -DNOTIFIER_TLS_POOL=BYTES sets it. */

/* ---------------------------------------------------------------- accounts */

/* Accounts the notifier's provisioning takes; each costs 800 B of static RAM on Cortex-M (status
 * model 196, the agent's mailbox 464, its config 56, schedule 40, provisioning 44). One check
 * runs at a time (one TLS pool, one 3.9 KB session): that is not a setting. */
#ifndef BIFF_NOTIFIER_MAX_ACCOUNTS
#define BIFF_NOTIFIER_MAX_ACCOUNTS 6
#endif
/* Seconds between checks of an account when the provisioning says nothing. */
#ifndef BIFF_DEFAULT_INTERVAL_S
#define BIFF_DEFAULT_INTERVAL_S 300
#endif

/* ---------------------------------------------------------------- status model (biff/status.h) */

/* One folder per account, short folder names and error texts: 196 B of model per account
 * instead of over 1 KB with the component defaults. The agent watches as many folders as the model shows
 * (BIFF_AGENT_MAX_FOLDERS follows it). */
#ifndef BIFF_STATUS_MAX_FOLDERS
#define BIFF_STATUS_MAX_FOLDERS 1
#endif
#ifndef BIFF_STATUS_FOLDER_MAX
#define BIFF_STATUS_FOLDER_MAX 32
#endif
#ifndef BIFF_STATUS_DETAIL_MAX
#define BIFF_STATUS_DETAIL_MAX 96
#endif

/* ---------------------------------------------------------------- OAuth2 (biff/oauth.h, biff/status.h) */

/* Verification URIs in 96 bytes, not 160: three copies per OAuth2 account (the lifecycle's two
 * and the page's). Google's and Microsoft's are about 30, with the code in them about 60; a
 * longer one is refused with "reply: JSON string too long in verification_uri". 384 B of RAM
 * with two OAuth2 accounts, which the image with MQTT as well needs to fit its 128 KB. */
#ifndef BIFF_STATUS_URI_MAX
#define BIFF_STATUS_URI_MAX 96
#endif
#ifndef BIFF_OAUTH_URI_MAX
#define BIFF_OAUTH_URI_MAX 96
#endif

/* ---------------------------------------------------------------- protocol buffers (biff/check.h) */

/* Per check session (one on the notifier): the longest server line kept, the longest command
 * (AUTHENTICATE with a ~700-byte OAuth2 token fits) and the receive chunk. */
#ifndef BIFF_CHECK_LINE_MAX
#define BIFF_CHECK_LINE_MAX 1024
#endif
#ifndef BIFF_CHECK_OUT_MAX
#define BIFF_CHECK_OUT_MAX 1024
#endif
#ifndef BIFF_CHECK_RX_MAX
#define BIFF_CHECK_RX_MAX 512
#endif

/* APOP (MD5 challenge logins) is for servers older than TLS: left out, and MD5 with it (2 KB). */
#define BIFF_POP3_NO_APOP

#endif

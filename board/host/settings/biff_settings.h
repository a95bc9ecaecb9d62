/*
 * tinybiff's build-time settings for Linux: the CLI, the daemon (also the router builds) and the
 * tests. Every component header with a setting includes this file by its well-known name before
 * its own defaults, so the board chooses here, in one place (each MCU board has its own in
 * board/<name>/settings). A setting not named here keeps the default its component header
 * documents; each value is guarded, so a -D for a whole build still wins.
 */
#ifndef BIFF_SETTINGS_H
#define BIFF_SETTINGS_H

/* ---------------------------------------------------------------- features (0 or 1) */

/* OAuth2 device grant (issue 16; `tinybiff auth`, the daemon's token lifecycle). */
#ifndef BIFF_FEATURE_OAUTH
#define BIFF_FEATURE_OAUTH 1
#endif
/* Counts published to an MQTT broker / Home Assistant (issue 17). */
#ifndef BIFF_FEATURE_MQTT
#define BIFF_FEATURE_MQTT 1
#endif

/* ---------------------------------------------------------------- the daemon */

/* Accounts `tinybiff run` takes (at most BIFF_SYNC_MAX_ACCOUNTS, all with sync state). Its
 * static arrays are sized by it; only the pages of the accounts in use become resident
 * (README "Footprint": <= 2 MiB RSS with 10 accounts). */
#ifndef BIFF_RUN_MAX_ACCOUNTS
#define BIFF_RUN_MAX_ACCOUNTS 512
#endif
/* Checks the daemon runs at once at the most (option max_parallel is capped to it): a session
 * of 6.2 KB each (socket, TLS context, check buffers), and mbedTLS's heap while it runs. */
#ifndef BIFF_RUN_SESSIONS
#define BIFF_RUN_SESSIONS 64
#endif

/* ---------------------------------------------------------------- accounts */

/* Seconds between checks of an account when the config says nothing (option interval). */
#ifndef BIFF_DEFAULT_INTERVAL_S
#define BIFF_DEFAULT_INTERVAL_S 300
#endif

/* ---------------------------------------------------------------- protocol buffers (biff/check.h) */

/* The longest command: AUTHENTICATE with Microsoft's OAuth2 tokens (1.5-2.5 KB). */
#ifndef BIFF_CHECK_OUT_MAX
#define BIFF_CHECK_OUT_MAX 3072
#endif

/* The agent's buffer for a token endpoint's response (biff/agent.h): 6 KB for Microsoft's. */
#ifndef BIFF_AGENT_TOKEN_BODY_MAX
#define BIFF_AGENT_TOKEN_BODY_MAX 6144
#endif

/* The status model, the IMAP folders and the other buffers keep their component defaults:
 * 8 folders per account (BIFF_STATUS_MAX_FOLDERS: 1,280 B of model per account), 1 KB lines
 * (BIFF_CHECK_LINE_MAX). */

#endif

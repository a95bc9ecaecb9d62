/*
 * tinybiff's build-time settings for mps2-an385 (QEMU Cortex-M3): the board's choice of
 * features; the sizes it shares with the other MCU boards are in biff_settings_mcu.h
 * (board/common/settings). Every component header with a setting, lwipopts.h and
 * biff_mbedtls_board.h include this file by its well-known name before their own defaults, so a
 * board chooses here, in one place, instead of with -D flags on other folders' targets. Each value
 * is guarded: a -D for a whole build still wins (the notifier's base image is built with both
 * features 0, README "Footprint").
 */
#ifndef BIFF_SETTINGS_H
#define BIFF_SETTINGS_H

/* ---------------------------------------------------------------- features (0 or 1) */

/* OAuth2 device grant on the device (issue 16): its provisioning, the token kept in flash, the
 * code shown on the UART and the page. */
#ifndef BIFF_FEATURE_OAUTH
#define BIFF_FEATURE_OAUTH 1
#endif
/* Counts published to an MQTT broker / Home Assistant (issue 17): a second TLS session in the
 * mbedTLS pool (+24 KB), lwIP's ALTCP layer and one more TCP pcb. */
#ifndef BIFF_FEATURE_MQTT
#define BIFF_FEATURE_MQTT 1
#endif

#include "biff_settings_mcu.h"

#endif

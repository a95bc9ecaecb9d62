/*
 * tinybiff's build-time settings for qemu-virt-rv32 (QEMU RV32IMAC): the board's choice of
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
/* Counts published to an MQTT broker / Home Assistant (issue 17): off here. Its second TLS
 * session needs 24 KB more of the mbedTLS pool, and this board's virtio-net rings and frame
 * buffers already take 9.4 KB of the 128 KB RAM (board README). */
#ifndef BIFF_FEATURE_MQTT
#define BIFF_FEATURE_MQTT 0
#endif

#include "biff_settings_mcu.h"

#endif

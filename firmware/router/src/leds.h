/* LED outputs of the daemon: terminal lines (demo) and Linux sysfs LEDs. */
#ifndef TINYBIFF_LEDS_H
#define TINYBIFF_LEDS_H

#include <stddef.h>

#include "biff/account.h"
#include "biff/status.h"

/**
 * Drive every configured LED from the status model: a terminal line when a terminal LED's
 * pattern or counts change, and for sysfs LEDs brightness plus the timer trigger for blinking
 * (under $TINYBIFF_SYSFS_LEDS, default /sys/class/leds, so tests can use a directory tree).
 */
void leds_update(const biff_led_config *leds, size_t n_leds, const biff_status_account *accts, size_t n_accts);

/** Turn every sysfs LED off (shutdown). */
void leds_off(const biff_led_config *leds, size_t n_leds);

#endif

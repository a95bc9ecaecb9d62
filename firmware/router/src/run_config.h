/* `tinybiff run`: reading the UCI config and the secrets file, every problem logged with its
 * file and line. */
#ifndef TINYBIFF_RUN_CONFIG_H
#define TINYBIFF_RUN_CONFIG_H

#include <stddef.h>

#include "biff/uci.h"

/**
 * Parse the config at path into cfg (accounts into accts[max_accts], LEDs into leds[max_leds])
 * and read the secrets file it names into secrets[cap] (*secrets_len = 0 when there is none).
 * Returns 0, or -1 when the config cannot be used (its errors are logged).
 */
int run_config_load(const char *path, biff_uci_config *cfg, biff_account *accts, size_t max_accts,
                    biff_led_config *leds, size_t max_leds, char *secrets, size_t cap, size_t *secrets_len);

#endif

#define _POSIX_C_SOURCE 200809L
#include "leds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_LEDS 16

static biff_led_summary shown[MAX_LEDS];
static int shown_valid[MAX_LEDS];

static int sysfs_write(const char *led, const char *file, const char *value)
{
    const char *root = getenv("TINYBIFF_SYSFS_LEDS");
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root && *root ? root : "/sys/class/leds", led, file);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(value, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void sysfs_apply(const biff_led_config *l, biff_led_pattern p)
{
    int rc = 0;
    if (p == BIFF_LED_SLOW || p == BIFF_LED_FAST) {
        uint16_t on, off;
        char v[16];
        biff_led_timing(p, &on, &off);
        rc |= sysfs_write(l->sysfs, "trigger", "timer");
        snprintf(v, sizeof v, "%u", on);
        rc |= sysfs_write(l->sysfs, "delay_on", v);
        snprintf(v, sizeof v, "%u", off);
        rc |= sysfs_write(l->sysfs, "delay_off", v);
    } else {
        rc |= sysfs_write(l->sysfs, "trigger", "none");
        rc |= sysfs_write(l->sysfs, "brightness", p == BIFF_LED_STEADY ? "1" : "0");
    }
    if (rc) log_msg(LOG_LVL_WARN, "LED %s: cannot write to its sysfs files", l->name);
}

void leds_update(const biff_led_config *leds, size_t n_leds, const biff_status_account *accts, size_t n_accts)
{
    static uint16_t all[1024];
    for (size_t i = 0; i < n_leds && i < MAX_LEDS; i++) {
        const biff_led_config *l = &leds[i];
        if (l->bad) continue;
        const uint16_t *idx = l->account;
        size_t n_idx = l->n_accounts;
        if (n_idx == 0) { /* no list: every account feeds it */
            n_idx = n_accts < 1024 ? n_accts : 1024;
            for (size_t k = 0; k < n_idx; k++) all[k] = (uint16_t)k;
            idx = all;
        }
        biff_led_summary s;
        biff_led_summarize(accts, n_accts, idx, n_idx, &s);
        if (shown_valid[i] && memcmp(&s, &shown[i], sizeof s) == 0) continue;
        if (!shown_valid[i] || s.pattern != shown[i].pattern) {
            if (l->sysfs[0]) sysfs_apply(l, (biff_led_pattern)s.pattern);
        }
        shown[i] = s;
        shown_valid[i] = 1;
        if (l->terminal) {
            char line[160];
            size_t len;
            if (biff_led_line(line, sizeof line, &len, l->name, &s, s.pattern != BIFF_LED_OFF, 0) == BIFF_STATUS_OK) {
                printf("%s\n", line);
                fflush(stdout);
            }
        }
    }
}

void leds_off(const biff_led_config *leds, size_t n_leds)
{
    for (size_t i = 0; i < n_leds; i++) {
        if (!leds[i].bad && leds[i].sysfs[0]) sysfs_apply(&leds[i], BIFF_LED_OFF);
    }
}

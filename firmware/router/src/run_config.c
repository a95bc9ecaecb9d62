#define _DEFAULT_SOURCE /* explicit_bzero */
#include "run_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "biff/safe_file.h"
#include "log.h"

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    *len = fread(buf, 1, cap, f);
    int too_big = *len == cap && fgetc(f) != EOF;
    fclose(f);
    return too_big ? -2 : 0;
}

int run_config_load(const char *path, biff_uci_config *cfg, biff_account *accts, size_t max_accts,
                    biff_led_config *leds, size_t max_leds, char *secrets, size_t cap, size_t *secrets_len)
{
    static char text[256 * 1024];
    static biff_uci_diag diags[64];
    size_t len;
    int r = read_file(path, text, sizeof text, &len);
    if (r != 0) {
        log_msg(LOG_LVL_ERROR, "%s: %s", path, r == -2 ? "file too large" : strerror(errno));
        return -1;
    }
    biff_uci_init(cfg, accts, max_accts, leds, max_leds, diags, sizeof diags / sizeof diags[0]);
    biff_uci_status st = biff_uci_parse(cfg, path, text, len);
    for (unsigned i = 0; i < cfg->n_diags; i++) log_msg(LOG_LVL_ERROR, "%s", diags[i].text);
    if (cfg->n_errors > cfg->n_diags) {
        log_msg(LOG_LVL_ERROR, "%s: %lu more errors", path, (unsigned long)(cfg->n_errors - cfg->n_diags));
    }
    if (st == BIFF_UCI_E_INVALID) return -1;
    if (cfg->n_accounts == 0) log_msg(LOG_LVL_WARN, "%s: no accounts configured", path);
    /* Refused unless it is ours and private, as ssh does with a key; a missing file is fine
     * (secrets may all come from the environment). */
    const char *spath = cfg->globals.secrets;
    biff_sfile_status fs = biff_sfile_read_private(spath, secrets, cap, secrets_len);
    if (fs == BIFF_SFILE_E_IO && errno == ENOENT) {
        *secrets_len = 0;
    } else if (fs != BIFF_SFILE_OK) {
        char why[300];
        log_msg(LOG_LVL_ERROR, "%s: secrets file %s", spath, biff_sfile_explain(fs, spath, why, sizeof why));
        explicit_bzero(secrets, *secrets_len);
        return -1;
    } else {
        biff_uci_diag sd[8];
        size_t nd = 0;
        biff_uci_secrets_check(secrets, *secrets_len, spath, sd, 8, &nd);
        for (size_t i = 0; i < nd && i < 8; i++) log_msg(LOG_LVL_ERROR, "%s", sd[i].text);
    }
    return 0;
}

/* libFuzzer: any byte string as a config file and as a secrets file; results must stay sane. */
#include <stdint.h>
#include <string.h>

#include "biff/uci.h"

static biff_account accts[4];
static biff_led_config leds[3];
static biff_uci_diag diags[6];

static void need(int ok)
{
    if (!ok) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    biff_uci_config cfg;
    biff_uci_init(&cfg, accts, 4, leds, 3, diags, 6);
    biff_uci_status st = biff_uci_parse(&cfg, "fuzz.conf", (const char *)data, size);
    need(st == BIFF_UCI_OK || st == BIFF_UCI_PARTIAL || st == BIFF_UCI_E_INVALID);
    need(cfg.n_accounts <= 4 && cfg.n_leds <= 3 && cfg.n_diags <= 6);
    need((st == BIFF_UCI_OK) == (cfg.n_errors == 0));
    for (size_t i = 0; i < cfg.n_diags; i++) {
        need(memchr(diags[i].text, 0, sizeof diags[i].text) != NULL);
        need(strncmp(diags[i].text, "fuzz.conf:", 10) == 0);
        need(diags[i].account < (int32_t)cfg.n_accounts);
    }
    for (size_t i = 0; i < cfg.n_accounts; i++) {
        const biff_account *a = &accts[i];
        need(memchr(a->name, 0, sizeof a->name) != NULL);
        need(a->n_folders <= BIFF_ACCOUNT_MAX_FOLDERS);
        need(!a->bad || !a->enabled);
        if (!a->bad) {
            need(a->security <= BIFF_SECURITY_NONE);
            need(a->url.proto == BIFF_URL_POP3 ? a->n_folders == 0 : a->n_folders >= 1);
        }
        for (size_t f = 0; f < a->n_folders; f++) need(memchr(a->folders[f], 0, sizeof a->folders[f]) != NULL);
    }
    for (size_t i = 0; i < cfg.n_leds; i++) {
        if (leds[i].bad) continue;
        need(leds[i].n_accounts <= BIFF_LED_MAX_ACCOUNTS);
        for (size_t k = 0; k < leds[i].n_accounts; k++) need(leds[i].account[k] < cfg.n_accounts);
    }
    char out[32];
    biff_uci_status s2 = biff_uci_secret((const char *)data, size, "work", out, sizeof out);
    need(s2 == BIFF_UCI_OK || s2 == BIFF_UCI_E_NOT_FOUND || s2 == BIFF_UCI_E_TOO_LONG);
    need(memchr(out, 0, sizeof out) != NULL);
    size_t n = 0;
    biff_uci_secrets_check((const char *)data, size, "fuzz.sec", diags, 6, &n);
    need(n <= 6);
    /* Storing a token into any file: it reads back, and so does every other entry asked for. */
    static char upd[8192];
    size_t ulen = 0;
    biff_uci_status s3 = biff_uci_secret_set((const char *)data, size, "work", "tok/en=1", upd, sizeof upd, &ulen);
    need(s3 == BIFF_UCI_OK || s3 == BIFF_UCI_E_TOO_LONG);
    if (s3 == BIFF_UCI_OK) {
        need(ulen < sizeof upd && upd[ulen] == 0);
        need(biff_uci_secret(upd, ulen, "work", out, sizeof out) == BIFF_UCI_OK && strcmp(out, "tok/en=1") == 0);
        char before[32], after[32];
        biff_uci_status b1 = biff_uci_secret((const char *)data, size, "home", before, sizeof before);
        need(biff_uci_secret(upd, ulen, "home", after, sizeof after) == b1);
        need(b1 != BIFF_UCI_OK || strcmp(before, after) == 0);
    }
    return 0;
}

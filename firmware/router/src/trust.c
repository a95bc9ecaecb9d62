#include "trust.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define MAX_CAS 8 /* distinct CA files in one config, the global one included */

static struct {
    char path[BIFF_CONFIG_PATH_MAX]; /* "" = the global CA */
    biff_tls_ctx ctx;
    int ok;
} cas[MAX_CAS];
static size_t n_cas;

static const char too_many[] = "more distinct CA files than this build loads (8)";

static void load(const char *path, const char *file)
{
    for (size_t k = 0; k < n_cas; k++) {
        if (strcmp(cas[k].path, path) == 0) return;
    }
    if (n_cas == MAX_CAS) {
        log_msg(LOG_LVL_ERROR, "CA %s: %s", file, too_many);
        return;
    }
    size_t k = n_cas++;
    snprintf(cas[k].path, sizeof cas[k].path, "%s", path);
    cas[k].ok = biff_tls_ctx_init(&cas[k].ctx, file[0] ? file : NULL) == BIFF_TLS_OK;
    if (!cas[k].ok) log_msg(LOG_LVL_ERROR, "TLS: %s; accounts using it will fail", cas[k].ctx.detail);
}

void trust_load(const char *global_ca, const biff_account *accts, size_t n)
{
    trust_free();
    load("", global_ca);
    for (size_t i = 0; i < n; i++) {
        if (accts[i].ca[0]) load(accts[i].ca, accts[i].ca);
    }
}

void trust_add(const char *ca)
{
    if (ca[0]) load(ca, ca);
}

biff_tls_ctx *trust_for(const char *account_ca, const char **why)
{
    for (size_t k = 0; k < n_cas; k++) {
        if (strcmp(cas[k].path, account_ca) == 0) {
            *why = cas[k].ctx.detail;
            return cas[k].ok ? &cas[k].ctx : NULL;
        }
    }
    *why = too_many;
    return NULL;
}

void trust_free(void)
{
    /* only the slots in use: the others were never touched (resident memory) */
    for (size_t k = 0; k < n_cas; k++) {
        biff_tls_ctx_free(&cas[k].ctx);
        memset(&cas[k], 0, sizeof cas[k]);
    }
    n_cas = 0;
}

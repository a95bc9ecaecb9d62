/*
 * The daemon's trust anchors: the global CA bundle and each account's own `option ca`, each
 * file loaded once per config. An account with its own CA trusts only that CA, not the global
 * bundle as well.
 */
#ifndef TINYBIFF_TRUST_H
#define TINYBIFF_TRUST_H

#include <stddef.h>

#include "biff/account.h"
#include "biff/tls.h"

/** Load the global CA (global_ca, "" for the system bundle) and every account's own CA;
 *  failures are logged and show on the accounts that need them. Frees an earlier load. */
void trust_load(const char *global_ca, const biff_account *accts, size_t n);

/** Load one more CA file (the MQTT broker's `option ca`; "" = the global one, loaded already). */
void trust_add(const char *ca);

/** The context for an account's CA ("" = the global one), or NULL with *why saying what is
 *  wrong with its CA. */
biff_tls_ctx *trust_for(const char *account_ca, const char **why);

/** Release every context. */
void trust_free(void);

#endif

/*
 * Secrets from environment variables (an account's `option secret_env`), taken once: the value
 * is kept here, overwritten in the process's environment block and the variable unset, so that
 * neither /proc/PID/environ nor a program started later shows it. A config reload finds the
 * value here.
 */
#ifndef TINYBIFF_SECRET_ENV_H
#define TINYBIFF_SECRET_ENV_H

#include <stddef.h>

/** Copy the secret in variable name into out (cap bytes incl. NUL). 0 on success; -1 when the
 *  variable is unset or empty (and was never taken), or the value does not fit. */
int secret_env_take(const char *name, char *out, size_t cap);

/** Forget every value taken (at exit). */
void secret_env_wipe(void);

#endif

#define _DEFAULT_SOURCE /* explicit_bzero */
#include "secret_env.h"

#include <stdlib.h>
#include <string.h>

#define TAKEN_MAX 16
#define VALUE_MAX 1024

static struct {
    char name[64];
    char value[VALUE_MAX];
} taken[TAKEN_MAX];

static int copy(const char *value, char *out, size_t cap)
{
    size_t n = strlen(value);
    if (n >= cap) return -1;
    memcpy(out, value, n + 1);
    return 0;
}

int secret_env_take(const char *name, char *out, size_t cap)
{
    size_t k;
    for (k = 0; k < TAKEN_MAX && taken[k].name[0]; k++) {
        if (strcmp(taken[k].name, name) == 0) return copy(taken[k].value, out, cap);
    }
    char *v = getenv(name);
    if (!v || !*v) return -1;
    int r = copy(v, out, cap);
    if (r == 0 && k < TAKEN_MAX && strlen(name) < sizeof taken[k].name && strlen(v) < VALUE_MAX) {
        strcpy(taken[k].name, name);
        strcpy(taken[k].value, v);
    }
    /* The value lives in the environment block that /proc/PID/environ shows: wipe it there. */
    explicit_bzero(v, strlen(v));
    unsetenv(name);
    return r;
}

void secret_env_wipe(void)
{
    explicit_bzero(taken, sizeof taken);
}

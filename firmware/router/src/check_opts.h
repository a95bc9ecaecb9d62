/* `tinybiff check`: its command line. */
#ifndef TINYBIFF_CHECK_OPTS_H
#define TINYBIFF_CHECK_OPTS_H

#include <stdint.h>

#include "biff/imap.h"
#include "link.h"

typedef struct {
    const char *ca;
    const char *password_file;
    int timeout_ms;
    int security_none;
    int security_starttls_only;
    uint8_t pin[32];
    int has_pin;
    link_kind net;
    int stats;
    int ack;
    const char *state;
    const char *folders[BIFF_IMAP_MAX_FOLDERS];
    int n_extra_folders;
} check_opts;

/**
 * Parse argv into o (getopt_long; optind is left at the first URL). Returns -1 when the
 * command goes on, else its exit status (0 after --help, 2 for a usage error, said on stderr).
 */
int check_opts_parse(int argc, char **argv, check_opts *o);

/** The secret from --password-file (its first line) or $TINYBIFF_PASSWORD; 0, or 2 (said why). */
int check_opts_secret(const check_opts *o, char *out, size_t cap);

#endif

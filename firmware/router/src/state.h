/*
 * `tinybiff check --state FILE` and `tinybiff run`: the file-backed flash image that holds the
 * power-safe sync state (components/store). What goes into it is the agent's (biff/agent.h).
 *
 * Image size: the smallest of 8 x 4 KB (32 KB, what the CLI has always used), then 32 sectors
 * of 4, 8, 16, 32 or 64 KB (128 KB .. 2 MB) whose room holds twice the records the caller
 * expects (state_bytes). An existing image of one of these sizes is kept if it is big enough
 * (never shrunk); if it is too small, its sync records are copied into a bigger image
 * (FILE.new, synced, then renamed over FILE: a cut leaves the old file whole). A file of any
 * other size is moved to FILE.bad and started fresh.
 */
#ifndef TINYBIFF_STATE_H
#define TINYBIFF_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "biff/flash_file.h"
#include "biff/store.h"
#include "biff/sync.h"

typedef struct {
    biff_flash_file ff;
    biff_flash kill_flash; /* test hook wrapper, see state.c */
    biff_store st;
    int open;
    uint32_t fresh[BIFF_SYNC_FRESH_WORDS(BIFF_SYNC_MAX_ACCOUNTS)]; /* slots that started fresh */
} cli_state;

/**
 * Open (or create) the state file and bind it to the account list (ids[i] for account slot i,
 * n <= BIFF_SYNC_MAX_ACCOUNTS). need: the sum of state_bytes() over the accounts; it sizes the
 * image (see above). A file that is corrupt or from another format is set aside (FILE.bad) and
 * started fresh; a changed account list starts the changed accounts fresh. Both are said on
 * stderr. Returns 0, or -1 when the file cannot be used at all (then checks run without state).
 */
int state_open(cli_state *s, const char *path, const uint32_t *ids, unsigned n, size_t need);

/** Store bytes (records and their descriptors) one account's state takes. */
size_t state_bytes(int imap, unsigned n_folders);

/** Did account slot i start fresh (no usable record) at state_open? */
int state_fresh(const cli_state *s, unsigned slot);

/** Close the file. */
void state_close(cli_state *s);

#endif

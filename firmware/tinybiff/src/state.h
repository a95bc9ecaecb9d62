/*
 * `tinybiff check --state FILE`: the power-safe sync state (components/store on a file-backed
 * flash image) so a check can say how much mail is new since the last acknowledged check.
 */
#ifndef TINYBIFF_STATE_H
#define TINYBIFF_STATE_H

#include <stdint.h>

#include "biff/check.h"
#include "biff/flash_file.h"
#include "biff/store.h"
#include "biff/sync.h"

typedef struct {
    biff_flash_file ff;
    biff_flash kill_flash;  /* test hook wrapper, see state.c */
    biff_store st;
    int open;
    uint32_t fresh;         /* account slots that started fresh this run */
    biff_sync_uidset seen;  /* POP3 scan in progress */
    biff_sync_pop3_scan scan;
} cli_state;

/**
 * Open (or create) the state file and bind it to the account list (ids[i] for argument i).
 * A file that is corrupt or from another format is set aside (FILE.bad) and started fresh; a
 * changed account list starts the changed accounts fresh. Both are said on stderr. Returns 0,
 * or -1 when the file cannot be used at all (then checks run without state).
 */
int state_open(cli_state *s, const char *path, const uint32_t *ids, unsigned n);

/** Identity of an account for the state: protocol, user, host and port (no secret). */
uint32_t state_account_id(int imap, const char *user, const char *host, unsigned port);

/**
 * An IMAP folder was checked: returns "new" (UIDs past the acknowledged UIDNEXT, 0 on the
 * first check, which sets the baseline) and records unseen; ack makes this check the baseline.
 * The record is written only when something changed.
 */
uint32_t state_imap_folder(cli_state *s, unsigned slot, unsigned folder, uint32_t account_id,
                           const char *folder_name, const biff_imap_folder_result *f, int ack);

/** POP3: start comparing a UIDL listing with the recorded set. */
void state_pop3_begin(cli_state *s, unsigned slot, uint32_t account_id);

/** POP3: one listed uid. */
void state_pop3_uid(cli_state *s, const char *uid, size_t len);

/** POP3: listing complete; returns new; *unseen = uids never recorded. Saves on ack or baseline. */
uint32_t state_pop3_end(cli_state *s, unsigned slot, int ack, uint32_t *unseen);

/** A check failed: remember its error class (written only if it changed). */
void state_failed(cli_state *s, unsigned slot, unsigned n_folders, uint32_t account_id,
                  const char *const *folders, int imap, biff_error_class err);

/** Close the file. */
void state_close(cli_state *s);

#endif

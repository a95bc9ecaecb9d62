/* Per-account sync state in the store: what was already reported, so that a reboot neither
 * re-announces old mail nor misses mail that arrived while the device was off.
 *
 * Keys (16-bit store keys):
 *   0x0F00                    format 1 account list (<= 16 ids, no header): read once, then
 *                             replaced by the chunks below (bind converts it, nothing starts fresh)
 *   0x0F01 + c                account list chunk c (c < 16): ids of slots 63c .. 63c+62
 *   BIFF_SYNC_KEY(slot, f)    0x1000 + slot*16 + f, slot < BIFF_SYNC_MAX_ACCOUNTS (up to 0x4EFF):
 *                             IMAP folder record (f 0..14, the index in the account's watched
 *                             folder list; POP3 uses f 0 for its counters), f 15: a POP3
 *                             account's recorded UIDL digests
 *   BIFF_SYNC_KEY_APP(n)      0xF000 + n, n < 0xFFF: reserved for the firmware's own records
 *                             (never touched by this module; not carried over by biff_sync_copy)
 *   All other keys are unused; new users take them from the APP range.
 * Every record carries a record version, its account id and (folders) its folder id, so a
 * record written for another account, folder or format is never taken for this one: it reads
 * as BIFF_SYNC_FRESH and is overwritten by the next save.
 * Records are little-endian byte strings (see sync.c), identical on host and MCU.
 * Saving an unchanged record costs nothing (the store skips equal values). Note last_success
 * changes every check: a caller that wants to spare flash keeps it in RAM and saves it only
 * together with another change.
 */
#ifndef BIFF_SYNC_H
#define BIFF_SYNC_H

#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/result.h"
#include "biff/store.h"

#define BIFF_SYNC_MAX_ACCOUNTS 1008u /* 16 list chunks of 63 ids */
#define BIFF_SYNC_MAX_FOLDERS  15u
#ifndef BIFF_SYNC_POP3_MAX
#define BIFF_SYNC_POP3_MAX 48u /* recorded UIDL digests per POP3 account (at most 62) */
#endif
#define BIFF_SYNC_KEY_ACCOUNTS      0x0F00u /* format 1 list; chunks follow it */
#define BIFF_SYNC_LIST_IDS          63u     /* account ids per list chunk (4-byte header + 63 * 4) */
#define BIFF_SYNC_KEY(slot, folder) ((uint16_t)(0x1000u + (slot)*16u + (folder)))
#define BIFF_SYNC_KEY_APP(n)        ((uint16_t)(0xF000u + (n)))
/* Words of the fresh bitmap biff_sync_bind fills for n accounts. */
#define BIFF_SYNC_FRESH_WORDS(n) (((n) + 31u) / 32u)

typedef enum {
    BIFF_SYNC_OK = 0,
    BIFF_SYNC_FRESH,   /* no usable record (none, corrupt, other account/folder/version): the
                          state starts fresh; worth a log line, not an error */
    BIFF_SYNC_E_ARG,   /* slot/folder out of range, NULL pointer */
    BIFF_SYNC_E_STORE, /* the store failed (I/O error, unknown store format, full) */
} biff_sync_status;

/* One watched folder (IMAP) or one POP3 maildrop (folder 0). uidnext_acked == 0 means "no
 * baseline yet": the first check establishes it and reports nothing as new. */
typedef struct {
    uint32_t account_id;    /* biff_sync_id() of the account identity */
    uint32_t folder_id;     /* biff_sync_id() of the folder name (0 for POP3) */
    uint32_t uidvalidity;   /* UIDVALIDITY the acknowledged UIDNEXT belongs to */
    uint32_t uidnext_acked; /* UIDNEXT at the last acknowledged check */
    uint32_t unseen;        /* last unseen count */
    uint32_t last_success;  /* Unix seconds of the last successful check (unsigned: to 2106) */
    uint64_t highestmodseq; /* HIGHESTMODSEQ at that check (0: server has no CONDSTORE) */
    biff_error_class last_error;
} biff_sync_folder;

/* The UIDL digests a POP3 account has recorded, oldest first (maildrop order). */
typedef struct {
    uint32_t account_id;
    uint16_t count;
    uint8_t valid; /* a baseline exists */
    uint32_t digest[BIFF_SYNC_POP3_MAX];
} biff_sync_uidset;

/* Streaming comparison of a UIDL listing against the recorded set. */
typedef struct {
    const biff_sync_uidset *seen;
    biff_sync_uidset next; /* the newest listed digests: the set to save (pruned to the listing) */
    uint32_t listed;       /* uids fed */
    uint32_t unknown;      /* uids fed that are not in the recorded set */
    uint32_t run;          /* unknown uids since the last known one */
    uint8_t any_known;
} biff_sync_pop3_scan;

/** CRC-32 of a string: account identity (URL without secrets), folder name, or POP3 UIDL.
 *  As a UIDL digest: a new uid is falsely taken for a recorded one with probability
 *  count/2^32 (about 1e-8 for 48 recorded uids); CRC-32 never confuses two uids that differ
 *  in up to 3 bits, which covers servers that hand out sequential uids. */
uint32_t biff_sync_id(const void *s, size_t len);

/** Bind the state to the configured account list (ids[i] = biff_sync_id of account slot i,
 *  n <= BIFF_SYNC_MAX_ACCOUNTS). fresh is the caller's bitmap of BIFF_SYNC_FRESH_WORDS(n) words
 *  (one uint32_t up to 32 accounts): bit i % 32 of fresh[i / 32] is set for slot i if its id
 *  differs from the stored one (or the slot is new); such a slot starts fresh. Records of slots
 *  that changed or went away are deleted, then the new list is saved (chunk by chunk: a cut
 *  in between is safe, the next bind finishes the job; a slot the cut bind had already
 *  switched is not reported fresh again, but its records are gone, so its loads say FRESH).
 *  A format 1 list (single record) is read as it was and converted. Returns BIFF_SYNC_FRESH
 *  if any bit is set. */
biff_sync_status biff_sync_bind(biff_store *st, const uint32_t *ids, unsigned n, uint32_t *fresh);

/** Copy every sync record (account list and the records of each listed slot) from one store
 *  into another, e.g. into a bigger image. Keys of the APP range are not copied. */
biff_sync_status biff_sync_copy(biff_store *to, biff_store *from);

/** Load slot/folder's record. BIFF_SYNC_FRESH (and *rec zeroed but for the ids) if there is no
 *  usable record for exactly this account and folder id. */
biff_sync_status biff_sync_folder_load(biff_store *st, unsigned slot, unsigned folder, uint32_t account_id,
                                       uint32_t folder_id, biff_sync_folder *rec);

/** Save slot/folder's record (no flash write if unchanged). */
biff_sync_status biff_sync_folder_save(biff_store *st, unsigned slot, unsigned folder, const biff_sync_folder *rec);

/** IMAP "new" from STATUS only (UIDNEXT, MESSAGES): uidnext - uidnext_acked, at most messages.
 *  0 without a baseline or when UIDVALIDITY changed (old UIDs mean nothing: re-baseline).
 *  An approximation: UIDs taken by mail that was expunged again (or moved away) since the
 *  acknowledged check are counted too, hence the bound by MESSAGES; an exact count needs
 *  UID SEARCH UID <uidnext_acked>:* and biff_sync_imap_uid_is_new() per UID. */
uint32_t biff_sync_imap_new(const biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uidnext, uint32_t messages);

/** Is uid new, i.e. >= the acknowledged UIDNEXT of the same UIDVALIDITY? */
int biff_sync_imap_uid_is_new(const biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uid);

/** Acknowledge a check: what the server reported becomes the baseline. */
void biff_sync_imap_ack(biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uidnext, uint64_t highestmodseq);

/** Load a POP3 account's recorded set; BIFF_SYNC_FRESH (set->valid = 0) if none usable. */
biff_sync_status biff_sync_pop3_load(biff_store *st, unsigned slot, uint32_t account_id, biff_sync_uidset *set);

/** Save a POP3 account's recorded set (normally scan->next after biff_sync_pop3_end()). */
biff_sync_status biff_sync_pop3_save(biff_store *st, unsigned slot, const biff_sync_uidset *set);

/** Start comparing a listing (UIDL order) against seen (may be NULL or not valid). */
void biff_sync_pop3_begin(biff_sync_pop3_scan *sc, const biff_sync_uidset *seen);

/** Feed the digest of the next listed uid. Returns 1 if it is not in the recorded set. */
int biff_sync_pop3_add(biff_sync_pop3_scan *sc, uint32_t digest);

/** The recorded set changed while the listing streamed in (an acknowledge during the check):
 *  compare what was listed so far, and what follows, against seen instead. Listed uids older
 *  than the window sc->next keeps count as known. */
void biff_sync_pop3_rebase(biff_sync_pop3_scan *sc, const biff_sync_uidset *seen);

/** Finish: the number of new messages; sc->next holds the newest BIFF_SYNC_POP3_MAX listed
 *  digests (so the recorded set is pruned to what the server still lists). With a bounded set
 *  the rule is: new = unknown uids listed after the last recorded one (maildrops append new
 *  mail at the end; unknown uids before a recorded one are older mail that fell out of the
 *  window); if no listed uid is recorded, all listed are new (the recorded mail was deleted,
 *  e.g. by a client that downloads and deletes). 0 without a baseline. */
uint32_t biff_sync_pop3_end(biff_sync_pop3_scan *sc);

#endif

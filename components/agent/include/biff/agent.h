/*
 * The agent: what a mail notifier decides, written once for every host (the CLI, the Linux
 * daemon, the notifier firmware, anyone's own firmware).
 *
 * It owns, per account, the sync state kept in flash and the counts the status model shows, and
 * it is the one place that defines them:
 *
 *   IMAP  unseen = STATUS UNSEEN of each watched folder
 *         new    = messages with a UID at or past the UIDNEXT of the last acknowledge (bounded
 *                  by MESSAGES; re-baselined when UIDVALIDITY changes)
 *   POP3  unseen = what the maildrop holds (STAT): POP3 has no \Seen flag and mail clients
 *                  usually delete what they fetched
 *         new    = UIDs listed that were not in the set recorded at the last acknowledge
 *                  (CRC-32 digests, at most BIFF_SYNC_POP3_MAX, pruned to the listing)
 *   The first check of an account (no record in flash) sets the baseline: nothing is new.
 *
 * Acknowledge makes what the last check saw the baseline. It may come while a check is under
 * way, also in the middle of a POP3 listing: what was listed and what is still to come then
 * count against the set just acknowledged, so acknowledged mail never comes back as new.
 *
 * New mail can be announced (an event, e.g. a buzzer or a push message) once per message, also
 * across restarts: the count already announced is kept in flash beside the sync records.
 *
 * The clock floor: certificates have dates, so a device without a time source starts its clock
 * at a floor, the build time raised to the newest notBefore of any certificate chain a check
 * has verified (a CA vouches that this moment has passed); the agent keeps it in flash.
 *
 * Threads: every function but biff_agent_request() is called from the host's one loop (or under
 * the host's lock). biff_agent_request() may be called from any thread or an interrupt; the loop
 * picks the request up at its next biff_agent_service().
 *
 * Memory: caller-owned. The host passes arrays of biff_agent_mailbox and biff_status_account,
 * one per account; the agent keeps pointers to them and allocates nothing.
 */
#ifndef BIFF_AGENT_H
#define BIFF_AGENT_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "biff/imap.h"
#include "biff/result.h"
#include "biff/status.h"
#include "biff/store.h"
#include "biff/sync.h"

/* Watched folders per IMAP account: as many as the status model shows (one on a small part). */
#ifndef BIFF_AGENT_MAX_FOLDERS
#define BIFF_AGENT_MAX_FOLDERS BIFF_STATUS_MAX_FOLDERS
#endif

/* Firmware keys of the sync store's APP range (biff/sync.h) the agent uses. */
#define BIFF_AGENT_KEY_ANNOUNCED(slot) BIFF_SYNC_KEY_APP(slot)   /* slot < 0x100 */
#define BIFF_AGENT_KEY_CLOCK_FLOOR BIFF_SYNC_KEY_APP(0x100)
#define BIFF_AGENT_ANNOUNCE_MAX 0x100u                            /* slots that can announce */

typedef enum {
    BIFF_AGENT_OK = 0,
    BIFF_AGENT_FRESH,   /* the account had no usable record: its first check sets the baseline */
    BIFF_AGENT_E_ARG,   /* index out of range, wrong protocol, NULL */
    BIFF_AGENT_E_STORE, /* the sync state could not be read or written; RAM goes on */
} biff_agent_status;

typedef enum { BIFF_AGENT_IMAP = 0, BIFF_AGENT_POP3 = 1 } biff_agent_proto; /* = biff_check_proto */

/* What the agent tells its host (biff_agent_port.event). */
typedef enum {
    BIFF_AGENT_EV_COUNTS = 0,   /* an account's unseen or new changed: repaint LEDs and page */
    BIFF_AGENT_EV_NEW_MAIL,     /* count messages arrived that were never announced before */
    BIFF_AGENT_EV_ACCOUNT_ERROR,/* a check failed; text is its detail (never a secret) */
    BIFF_AGENT_EV_PROBLEM,      /* the device's problem changed; text is it ("" = solved) */
    BIFF_AGENT_EV_ACKNOWLEDGED, /* new mail was acknowledged */
} biff_agent_event_kind;

typedef struct {
    uint8_t kind;               /* biff_agent_event_kind */
    uint16_t account;           /* index; 0 for device-wide events */
    uint32_t count;             /* NEW_MAIL: messages; COUNTS: new of the account */
    const char *text;
} biff_agent_event;

/* Requests other threads or interrupts may make (biff_agent_request). */
#define BIFF_AGENT_REQ_ACK 0x1u    /* acknowledge all new mail */
#define BIFF_AGENT_REQ_RELOAD 0x2u /* the host re-reads its configuration (returned to it) */

/*
 * The host's side. Only what the recording needs today; transports, TLS configuration, the
 * monotonic clock and entropy join it when the agent drives the checks itself.
 */
typedef struct {
    void *ctx;                                        /* passed back to every function */
    /** Wall time, unix seconds (for last_success in the records and the status model). */
    uint32_t (*wall_time)(void *ctx);
    /** Something the host may want to show or send on (may be NULL). Called from the loop. */
    void (*event)(void *ctx, const biff_agent_event *ev);
} biff_agent_port;

/* One account's RAM state. Caller-allocated, one per account; fields are private. */
typedef struct {
    uint32_t account_id;      /* biff_sync_id of the account identity */
    uint8_t proto;            /* biff_agent_proto */
    uint8_t n_folders;
    uint8_t seen;             /* bit f: folder f has a result an acknowledge can take */
    uint8_t listing;          /* POP3: a listing is under way (scan valid) */
    uint32_t announced;       /* new messages already announced */
    uint32_t announced_sig;   /* the baseline that count is from */
    biff_sync_pop3_scan *scan;/* POP3: the listing under way (caller's, one per running check) */
    union {
        struct {
            biff_sync_folder rec[BIFF_AGENT_MAX_FOLDERS];   /* mirror of the flash records */
            uint32_t uidvalidity[BIFF_AGENT_MAX_FOLDERS];   /* the last STATUS seen */
            uint32_t uidnext[BIFF_AGENT_MAX_FOLDERS];
            uint64_t modseq[BIFF_AGENT_MAX_FOLDERS];
        } imap;
        struct {
            biff_sync_folder rec;  /* folder 0 record: unseen, last error */
            biff_sync_uidset acked;/* recorded at the last acknowledge (the baseline) */
            biff_sync_uidset last; /* the last complete listing: what an acknowledge takes */
        } pop3;
    } u;
} biff_agent_mailbox;

typedef struct {
    const biff_agent_port *port;
    biff_store *store;           /* NULL: no flash, state in RAM only */
    biff_agent_mailbox *mb;
    biff_status_account *model;  /* what LEDs and pages show */
    size_t n;
    _Atomic uint32_t requests;   /* BIFF_AGENT_REQ_*: the one field other threads touch */
    uint8_t announce;            /* raise NEW_MAIL events (and keep their count in flash) */
    uint8_t write_failed;        /* the last flash write failed */
    uint8_t floor_from_cert;
    uint32_t clock_floor;
} biff_agent;

/**
 * Set up an agent for n accounts over caller arrays mb[n] and model[n] (both zeroed here).
 * store may be NULL (nothing kept across restarts); it must already be bound to the account
 * list (biff_sync_bind). announce: raise BIFF_AGENT_EV_NEW_MAIL and keep its count in flash
 * (slots below BIFF_AGENT_ANNOUNCE_MAX).
 */
biff_agent_status biff_agent_init(biff_agent *ag, const biff_agent_port *port, biff_store *store,
                                  biff_agent_mailbox *mb, biff_status_account *model, size_t n,
                                  int announce);

/**
 * Describe account i and load its records from flash: proto (biff_agent_proto), its identity,
 * its display name and, for IMAP, its watched folders (n_folders <= BIFF_AGENT_MAX_FOLDERS,
 * UTF-8 names); POP3 ignores folders and shows one folder, "INBOX". Returns BIFF_AGENT_FRESH
 * when flash holds no record of it (its first check sets the baseline).
 */
biff_agent_status biff_agent_account(biff_agent *ag, size_t i, uint8_t proto, uint32_t account_id,
                                     const char *name, const char *const *folders,
                                     unsigned n_folders);

/** The account's identity for the sync state: protocol, user, host and port, no secret. */
uint32_t biff_agent_account_id(int imap, const char *user, const char *host, unsigned port);

/**
 * An IMAP folder's STATUS came in: records unseen, reports "new", writes flash only when a
 * record really changed. Returns the folder's new count (0 on E_ARG).
 */
uint32_t biff_agent_imap_folder(biff_agent *ag, size_t i, unsigned folder,
                                const biff_imap_folder_result *r);

/** POP3: a UIDL listing begins; scan is the caller's (one per check under way). */
biff_agent_status biff_agent_pop3_begin(biff_agent *ag, size_t i, biff_sync_pop3_scan *scan);

/** POP3: the next listed UID (as biff_pop3_uid_fn streams it). */
void biff_agent_pop3_uid(biff_agent *ag, size_t i, const char *uid, size_t len);

/**
 * POP3: the check is done; messages is STAT's count, uidl says whether a listing was read
 * (without one nothing is new). Returns the account's new count.
 */
uint32_t biff_agent_pop3_end(biff_agent *ag, size_t i, uint32_t messages, int uidl);

/**
 * A check of account i ended (after the results above): err BIFF_ERR_NONE or why it failed,
 * detail for people (NULL: none). Sets the model's state, error and last check; a failure ends
 * a POP3 listing and is kept in the record's last_error (written only when it changed).
 */
void biff_agent_check_done(biff_agent *ag, size_t i, biff_error_class err, const char *detail);

/**
 * Acknowledge account i's new mail now (from the loop): what its last check saw becomes the
 * baseline. i == SIZE_MAX: every account. Works while a check of the account is under way.
 */
void biff_agent_acknowledge(biff_agent *ag, size_t i);

/**
 * Ask for BIFF_AGENT_REQ_ACK and/or BIFF_AGENT_REQ_RELOAD from any thread or an interrupt
 * (an atomic OR; the host then wakes its loop). Safe against every other function.
 */
void biff_agent_request(biff_agent *ag, uint32_t req);

/**
 * From the loop: take the pending requests (atomically), carry out an acknowledge, and return
 * the mask taken so the host can do its part (reload its configuration).
 */
uint32_t biff_agent_service(biff_agent *ag);

/** What is wrong with the device, for the status model's "problem" (NULL: nothing). */
const char *biff_agent_problem(const biff_agent *ag);

/** Load the clock floor: build_time raised to the one kept in flash. Returns the floor. */
uint32_t biff_agent_floor_load(biff_agent *ag, uint32_t build_time);

/**
 * A check verified a certificate chain whose newest notBefore is t: raise the floor to it (kept
 * in flash). Returns 1 when it rose (the host then sets its clock if it is behind).
 */
int biff_agent_floor_raise(biff_agent *ag, uint32_t t);

/** The clock floor now (unix seconds). */
static inline uint32_t biff_agent_floor(const biff_agent *ag) { return ag->clock_floor; }

/** Did the floor come from a verified certificate (rather than the build time)? */
static inline int biff_agent_floor_from_cert(const biff_agent *ag) { return ag->floor_from_cert; }

/** Is t a time a time source may set (not before the floor)? */
static inline int biff_agent_time_ok(const biff_agent *ag, uint32_t t) { return t >= ag->clock_floor; }

#endif

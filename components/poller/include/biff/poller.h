/*
 * The poller decides when each account is checked: its own interval with jitter, exponential
 * backoff with a cap after failures, at most max_parallel checks at once (1 on an MCU), and
 * IMAP IDLE sessions that are renewed before servers or NATs drop them. It does no I/O and
 * reads no clock: the driver passes the time in and runs the checks it is told to start.
 */
#ifndef BIFF_POLLER_H
#define BIFF_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "biff/result.h"

typedef enum {
    BIFF_POLLER_OK = 0,
    BIFF_POLLER_E_ARG,
    BIFF_POLLER_E_STATE, /* report for an account that is not checking / idling */
} biff_poller_status;

typedef enum {
    BIFF_ACCT_WAITING = 0, /* until next_due */
    BIFF_ACCT_CHECKING,    /* a check runs */
    BIFF_ACCT_IDLING,      /* logged in, in IMAP IDLE, until news or renewal */
    BIFF_ACCT_DISABLED,
} biff_acct_state;

typedef struct {
    uint32_t interval_ms; /* time between checks when all is well */
    uint8_t idle;         /* stay in IDLE between checks where the server offers it */
    uint8_t enabled;
} biff_poller_account;

typedef struct {
    uint64_t next_due_ms;   /* WAITING: when to start; IDLING: when to renew */
    uint64_t last_check_ms; /* when the last check ended (0: never) */
    uint64_t last_ok_ms;    /* when the last check succeeded (0: never) */
    uint32_t backoff_ms;    /* current failure delay (0 after a success) */
    uint16_t failures;      /* consecutive failures */
    uint8_t state;          /* biff_acct_state */
    uint8_t last_error;     /* biff_error_class of the last check */
} biff_poller_slot;

typedef struct {
    const biff_poller_account *acct;
    biff_poller_slot *slot;
    size_t n;
    uint16_t max_parallel;
    uint16_t running;         /* accounts CHECKING */
    uint32_t backoff_base_ms; /* first retry delay after a failure */
    uint32_t backoff_cap_ms;  /* longest retry delay */
    uint32_t idle_renew_ms;   /* renew IDLE this often (RFC 9051 servers drop it after 30 min) */
    uint8_t jitter_pct;       /* +- this share of each delay, so accounts do not move in lockstep */
    uint32_t rng;
} biff_poller;

/**
 * Set up scheduling for n accounts (caller-owned arrays acct[n] and slot[n]). Every enabled
 * account is due at start, spread over the first second so they do not all dial at once.
 * max_parallel >= 1; seed feeds the jitter.
 */
biff_poller_status biff_poller_init(biff_poller *p, const biff_poller_account *acct, biff_poller_slot *slot, size_t n,
                                    uint16_t max_parallel, uint32_t seed, uint64_t now_ms);

/**
 * The next account to check now, if any (and if a parallel slot is free): returns 1 and sets
 * *idx, with the account marked CHECKING. Also returns IDLING accounts whose renewal is due
 * (they are CHECKING again: the driver rechecks on the open session). 0 when nothing is due.
 */
int biff_poller_next(biff_poller *p, uint64_t now_ms, size_t *idx);

/** Earliest time something is due (UINT64_MAX when nothing is scheduled): the driver's sleep. */
uint64_t biff_poller_next_deadline(const biff_poller *p);

/**
 * A check of account idx ended. err == BIFF_ERR_NONE is a success; idling says the session
 * stays open in IDLE. Failures back off: base, 2x, 4x ... up to the cap, each with jitter.
 */
biff_poller_status biff_poller_done(biff_poller *p, size_t idx, uint64_t now_ms, biff_error_class err, int idling);

/** News arrived on an idling account (EXISTS/EXPUNGE): check it now. */
biff_poller_status biff_poller_changed(biff_poller *p, size_t idx, uint64_t now_ms);

#define BIFF_POLLER_IDLE_RETRY_MS 2000u

/**
 * The IDLE session of idx died (reset, timeout, BYE): fall back to polling. The account is
 * checked again after BIFF_POLLER_IDLE_RETRY_MS; if that fails it backs off like any failure.
 */
biff_poller_status biff_poller_idle_lost(biff_poller *p, size_t idx, uint64_t now_ms);

/**
 * The driver could not start the check poller_next just gave it (no session free yet): idx
 * is WAITING again and stays due, nothing is counted. The driver makes room and asks again.
 */
biff_poller_status biff_poller_defer(biff_poller *p, size_t idx);

/** Check idx as soon as a slot is free (a "check now" button, SIGHUP). */
biff_poller_status biff_poller_trigger(biff_poller *p, size_t idx, uint64_t now_ms);

#endif

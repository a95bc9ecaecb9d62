#include "biff/poller.h"

#include <string.h>

static uint32_t next_rand(biff_poller *p)
{
    /* xorshift32: jitter only needs to differ between accounts, not to be secret */
    uint32_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p->rng = x;
    return x;
}

static uint64_t jittered(biff_poller *p, uint32_t delay_ms)
{
    uint32_t span = (uint32_t)((uint64_t)delay_ms * p->jitter_pct / 100u);
    if (span == 0) return delay_ms;
    uint32_t r = next_rand(p) % (2u * span + 1u);
    return (uint64_t)delay_ms - span + r;
}

biff_poller_status biff_poller_init(biff_poller *p, const biff_poller_account *acct, biff_poller_slot *slot, size_t n,
                                    uint16_t max_parallel, uint32_t seed, uint64_t now_ms)
{
    if (!p || (n && (!acct || !slot)) || max_parallel == 0) return BIFF_POLLER_E_ARG;
    memset(p, 0, sizeof *p);
    p->acct = acct;
    p->slot = slot;
    p->n = n;
    p->max_parallel = max_parallel;
    p->backoff_base_ms = 15u * 1000u;
    p->backoff_cap_ms = 30u * 60u * 1000u;
    p->idle_renew_ms = 25u * 60u * 1000u;
    p->jitter_pct = 10;
    p->rng = seed ? seed : 0x2545f491u;
    for (size_t i = 0; i < n; i++) {
        memset(&slot[i], 0, sizeof slot[i]);
        slot[i].state = acct[i].enabled ? BIFF_ACCT_WAITING : BIFF_ACCT_DISABLED;
        slot[i].next_due_ms = now_ms + next_rand(p) % 1000u;
    }
    return BIFF_POLLER_OK;
}

int biff_poller_next(biff_poller *p, uint64_t now_ms, size_t *idx)
{
    if (p->running >= p->max_parallel) return 0;
    size_t best = p->n;
    for (size_t i = 0; i < p->n; i++) {
        biff_poller_slot *s = &p->slot[i];
        if ((s->state == BIFF_ACCT_WAITING || s->state == BIFF_ACCT_IDLING) && s->next_due_ms <= now_ms &&
            (best == p->n || s->next_due_ms < p->slot[best].next_due_ms)) {
            best = i; /* the longest-overdue account first: none starves behind a busy one */
        }
    }
    if (best == p->n) return 0;
    p->slot[best].state = BIFF_ACCT_CHECKING;
    p->running++;
    *idx = best;
    return 1;
}

uint64_t biff_poller_next_deadline(const biff_poller *p)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < p->n; i++) {
        const biff_poller_slot *s = &p->slot[i];
        if ((s->state == BIFF_ACCT_WAITING || s->state == BIFF_ACCT_IDLING) && s->next_due_ms < t) {
            t = s->next_due_ms;
        }
    }
    return t;
}

biff_poller_status biff_poller_done(biff_poller *p, size_t idx, uint64_t now_ms, biff_error_class err, int idling)
{
    if (idx >= p->n) return BIFF_POLLER_E_ARG;
    biff_poller_slot *s = &p->slot[idx];
    if (s->state != BIFF_ACCT_CHECKING) return BIFF_POLLER_E_STATE;
    p->running--;
    s->last_check_ms = now_ms;
    s->last_error = (uint8_t)err;
    if (err == BIFF_ERR_NONE) {
        s->last_ok_ms = now_ms;
        s->failures = 0;
        s->backoff_ms = 0;
        if (idling && p->acct[idx].idle) {
            s->state = BIFF_ACCT_IDLING;
            s->next_due_ms = now_ms + p->idle_renew_ms;
        } else {
            s->state = BIFF_ACCT_WAITING;
            s->next_due_ms = now_ms + jittered(p, p->acct[idx].interval_ms);
        }
        return BIFF_POLLER_OK;
    }
    if (s->failures < UINT16_MAX) s->failures++;
    /* base, 2x base, 4x base ... capped; never longer than the cap, never shorter than base */
    uint64_t b = p->backoff_base_ms;
    for (uint16_t k = 1; k < s->failures && b < p->backoff_cap_ms; k++) b *= 2u;
    if (b > p->backoff_cap_ms) b = p->backoff_cap_ms;
    s->backoff_ms = (uint32_t)b;
    s->state = BIFF_ACCT_WAITING;
    s->next_due_ms = now_ms + jittered(p, s->backoff_ms);
    return BIFF_POLLER_OK;
}

biff_poller_status biff_poller_changed(biff_poller *p, size_t idx, uint64_t now_ms)
{
    if (idx >= p->n) return BIFF_POLLER_E_ARG;
    if (p->slot[idx].state != BIFF_ACCT_IDLING) return BIFF_POLLER_E_STATE;
    p->slot[idx].next_due_ms = now_ms;
    return BIFF_POLLER_OK;
}

biff_poller_status biff_poller_idle_lost(biff_poller *p, size_t idx, uint64_t now_ms)
{
    if (idx >= p->n) return BIFF_POLLER_E_ARG;
    biff_poller_slot *s = &p->slot[idx];
    if (s->state != BIFF_ACCT_IDLING) return BIFF_POLLER_E_STATE;
    s->state = BIFF_ACCT_WAITING;
    /* A server that just dropped its sessions is often restarting: a moment's grace avoids a
     * doomed retry and the backoff it would cost. */
    s->next_due_ms = now_ms + BIFF_POLLER_IDLE_RETRY_MS;
    return BIFF_POLLER_OK;
}

biff_poller_status biff_poller_defer(biff_poller *p, size_t idx)
{
    if (idx >= p->n) return BIFF_POLLER_E_ARG;
    if (p->slot[idx].state != BIFF_ACCT_CHECKING) return BIFF_POLLER_E_STATE;
    p->slot[idx].state = BIFF_ACCT_WAITING; /* next_due_ms unchanged: still the most overdue */
    p->running--;
    return BIFF_POLLER_OK;
}

biff_poller_status biff_poller_trigger(biff_poller *p, size_t idx, uint64_t now_ms)
{
    if (idx >= p->n) return BIFF_POLLER_E_ARG;
    biff_poller_slot *s = &p->slot[idx];
    if (s->state == BIFF_ACCT_WAITING || s->state == BIFF_ACCT_IDLING) s->next_due_ms = now_ms;
    return BIFF_POLLER_OK;
}

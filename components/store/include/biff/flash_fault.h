/* Fault-injection wrapper around any biff_flash, for power-loss and corruption tests.
 *
 * It counts program and erase calls ("ops", 1-based). At op number cut_at the power goes away:
 * that op lands according to cut_mode and every later call returns BIFF_FLASH_E_CUT until
 * biff_flash_fault_power_on(). At op number fail_at the op lands the same way but only that call
 * reports BIFF_FLASH_E_IO (a program/erase error on a live part). Reads can get bit flips.
 * Portable C, no malloc: the caller provides a scratch buffer of one sector.
 */
#ifndef BIFF_FLASH_FAULT_H
#define BIFF_FLASH_FAULT_H

#include "biff/flash.h"

typedef enum {
    BIFF_FAULT_ATOMIC = 0, /* the interrupted op did not happen at all */
    BIFF_FAULT_PREFIX,     /* program: a prefix of the bytes landed (the next byte half-done);
                              erase: a prefix of the sector is 0xFF, the rest unchanged */
    BIFF_FAULT_SCATTER,    /* program: a random subset of the 1->0 transitions happened;
                              erase: random bytes are 0xFF, old, or partly set */
    BIFF_FAULT_ANY,        /* pick one of the three at random for each fault */
} biff_fault_mode;

typedef struct {
    biff_flash flash;        /* the faulty view: hand &fault.flash to the store */
    const biff_flash *inner; /* the real backend */
    uint8_t *scratch;        /* sector_size bytes */
    uint32_t ops;            /* program+erase calls seen so far */
    uint32_t cut_at;         /* op number that loses power (0 = never) */
    uint32_t fail_at;        /* op number that fails with E_IO (0 = never) */
    uint8_t cut_mode;        /* biff_fault_mode for cut_at and fail_at */
    uint8_t dead;            /* power is off */
    uint32_t reads;          /* read calls seen so far */
    uint32_t flip_read_at;   /* read number whose result gets one flipped bit (0 = never) */
    uint32_t flip_every;     /* additionally flip one bit in every Nth read (0 = never) */
    uint32_t flips;          /* bits flipped so far */
    uint32_t reprograms;     /* programs that hit bytes not 0xFF (the store never should) */
    uint32_t rng;            /* xorshift32 state, never 0 */
} biff_flash_fault;

/** Wrap inner. seed feeds the PRNG that shapes partial writes and bit flips. */
biff_flash_status biff_flash_fault_init(biff_flash_fault *f, const biff_flash *inner, uint8_t *scratch, uint32_t seed);

/** Power back on after a cut: ops work again (counters are kept; cut_at is cleared). */
void biff_flash_fault_power_on(biff_flash_fault *f);

#endif

/* Flash HAL: the few operations a NOR-like part offers, behind a small vtable.
 *
 * NOR rules every emulating backend enforces, because the store is only correct on real parts
 * if the emulations are at least as strict:
 *   - program can only clear bits; asking to set a 0 bit back to 1 fails with BIFF_FLASH_E_NOR
 *     and changes nothing;
 *   - erase sets a whole sector to 0xFF;
 *   - program addresses and lengths are multiples of program_unit.
 * Addresses are byte offsets from the start of the flash region (sector * sector_size + offset).
 */
#ifndef BIFF_FLASH_H
#define BIFF_FLASH_H

#include <stdint.h>

typedef enum {
    BIFF_FLASH_OK = 0,
    BIFF_FLASH_E_RANGE, /* address/length outside the part, misaligned, or bad geometry */
    BIFF_FLASH_E_NOR,   /* program would turn a 0 bit into 1 */
    BIFF_FLASH_E_IO,    /* the part (or file) reported an error */
    BIFF_FLASH_E_CUT,   /* power is gone (fault injection): nothing works until power-on */
} biff_flash_status;

typedef struct biff_flash {
    /** Read len bytes at addr into buf. Any alignment. */
    biff_flash_status (*read)(void *ctx, uint32_t addr, void *buf, uint32_t len);
    /** Program len bytes at addr (both multiples of program_unit); only clears bits. */
    biff_flash_status (*program)(void *ctx, uint32_t addr, const void *data, uint32_t len);
    /** Erase one sector to 0xFF. */
    biff_flash_status (*erase)(void *ctx, uint32_t sector);
    uint32_t sector_size;  /* bytes per erase sector */
    uint32_t sector_count; /* sectors in the region */
    uint32_t program_unit; /* write granularity in bytes (power of two, e.g. 1, 4, 8) */
    void *ctx;             /* backend state handed to every call */
} biff_flash;

/** Range/alignment check shared by backends: OK when [addr, addr+len) lies inside the part and,
 *  if aligned is non-zero, addr and len are multiples of program_unit. */
biff_flash_status biff_flash_check(const biff_flash *f, uint32_t addr, uint32_t len, int aligned);

/** Fill f with a backend's functions, geometry and context. BIFF_FLASH_E_RANGE for a geometry no
 *  part has: a zero size, a program unit that is not a power of two or does not divide the
 *  sector, or more than 4 GiB in all. Every backend starts with this. */
biff_flash_status biff_flash_init(biff_flash *f, biff_flash_status (*read)(void *, uint32_t, void *, uint32_t),
                                  biff_flash_status (*program)(void *, uint32_t, const void *, uint32_t),
                                  biff_flash_status (*erase)(void *, uint32_t), uint32_t sector_size,
                                  uint32_t sector_count, uint32_t program_unit, void *ctx);

/* ---- RAM-backed flash (tests, fuzzing, the QEMU board) ---- */

typedef struct {
    biff_flash flash;       /* hand &ram.flash to the store */
    uint8_t *mem;           /* sector_size * sector_count bytes, owned by the caller */
    uint32_t *erase_counts; /* optional (NULL): per-sector erase counters, for wear tests */
} biff_flash_ram;

/** Wrap caller memory as flash. The memory is used as is (an existing image); fill it with 0xFF
 *  for a blank part. Returns BIFF_FLASH_E_RANGE for a geometry that is not usable. */
biff_flash_status biff_flash_ram_init(biff_flash_ram *r, void *mem, uint32_t sector_size, uint32_t sector_count,
                                      uint32_t program_unit, uint32_t *erase_counts);

#endif

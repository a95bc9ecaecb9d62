/*
 * Flash for the store, kept in a host file through semihosting, so the sync state survives a
 * QEMU restart the way a real part's flash survives a power cycle. NOR rules are enforced
 * like the RAM backend does (program only clears bits, erase sets 0xFF), so the store is
 * exercised exactly as on silicon. Nothing is cached in RAM.
 */
#ifndef BIFF_FLASH_SEMIHOST_H
#define BIFF_FLASH_SEMIHOST_H

#include "biff/flash.h"

typedef struct {
    biff_flash flash; /* hand &f.flash to the store */
    int fd;
} biff_flash_sh;

/** Open (or create, blank) the host file path as sector_count sectors of sector_size bytes.
 *  A file of another size is extended with 0xFF (or used in part). */
biff_flash_status biff_flash_sh_init(biff_flash_sh *f, const char *path, uint32_t sector_size, uint32_t sector_count,
                                     uint32_t program_unit);

#endif

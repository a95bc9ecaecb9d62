/* Host flash backend: a regular file that is a flash image (same bytes as on the MCU), so the
 * Linux daemon uses the very store the MCU uses.
 *
 * Write policy: every program and every erase is a pwrite() followed by fdatasync() before the
 * call returns (unless BIFF_FLASH_FILE_NOSYNC). The store's power-loss safety rests on order
 * (a record's data is durable before its commit, a collected sector before its header), and
 * sync after each op is what gives that order on a real power cut; a kill -9 alone would not
 * need it. A store write costs 2-3 syncs, and the store writes only changed values.
 * The backend enforces NOR rules like the RAM one (program only clears bits).
 */
#ifndef BIFF_FLASH_FILE_H
#define BIFF_FLASH_FILE_H

#include <stdint.h>

#include "biff/flash.h"
#include "biff/safe_file.h"

#define BIFF_FLASH_FILE_NOSYNC 1u /* skip fdatasync (tests, tmpfs) */
#define BIFF_FLASH_FILE_NEW    2u /* create the file; fail if anything is at path already */

typedef struct {
    biff_flash flash; /* hand &ff.flash to the store */
    int fd;
    unsigned flags;
    biff_sfile_status file_status; /* why the open failed (biff_sfile_explain()) */
} biff_flash_file;

/** Open path as a flash image of sector_count sectors of sector_size bytes, creating it blank
 *  (all 0xFF, mode 0600) if it does not exist or is empty. The file rules of biff/safe_file.h
 *  apply: a symlink or a file of another user is refused (BIFF_FLASH_E_IO, file_status says
 *  why). An existing file of another size is refused with BIFF_FLASH_E_RANGE and left alone.
 *  BIFF_FLASH_E_IO for open/IO errors. */
biff_flash_status biff_flash_file_open(biff_flash_file *ff, const char *path, uint32_t sector_size,
                                       uint32_t sector_count, uint32_t program_unit, unsigned flags);

/** Close the file (safe on a closed or never-opened handle after a failed open). */
void biff_flash_file_close(biff_flash_file *ff);

#endif

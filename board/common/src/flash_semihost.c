#include "flash_semihost.h"

#include <string.h>

#include "board.h"

#define CHUNK 64u

static biff_flash_status sh_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    biff_flash_sh *f = ctx;
    biff_flash_status st = biff_flash_check(&f->flash, addr, len, 0);
    if (st != BIFF_FLASH_OK) return st;
    if (len == 0) return BIFF_FLASH_OK;
    if (biff_board_sh_seek(f->fd, addr) != 0) return BIFF_FLASH_E_IO;
    return biff_board_sh_read(f->fd, buf, len) == (int)len ? BIFF_FLASH_OK : BIFF_FLASH_E_IO;
}

static biff_flash_status sh_program(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    biff_flash_sh *f = ctx;
    biff_flash_status st = biff_flash_check(&f->flash, addr, len, 1);
    if (st != BIFF_FLASH_OK) return st;
    /* First check the whole range, so a refused program changes nothing. */
    uint8_t old[CHUNK];
    const uint8_t *d = data;
    for (uint32_t off = 0; off < len; off += CHUNK) {
        uint32_t n = len - off < CHUNK ? len - off : CHUNK;
        st = sh_read(ctx, addr + off, old, n);
        if (st != BIFF_FLASH_OK) return st;
        for (uint32_t i = 0; i < n; i++) {
            if ((old[i] & d[off + i]) != d[off + i]) return BIFF_FLASH_E_NOR;
        }
    }
    if (biff_board_sh_seek(f->fd, addr) != 0 || biff_board_sh_write(f->fd, data, len) != 0) {
        return BIFF_FLASH_E_IO;
    }
    return BIFF_FLASH_OK;
}

static biff_flash_status fill_ff(biff_flash_sh *f, uint32_t addr, uint32_t len)
{
    uint8_t ff[CHUNK];
    memset(ff, 0xFF, sizeof ff);
    if (biff_board_sh_seek(f->fd, addr) != 0) return BIFF_FLASH_E_IO;
    for (uint32_t off = 0; off < len; off += CHUNK) {
        uint32_t n = len - off < CHUNK ? len - off : CHUNK;
        if (biff_board_sh_write(f->fd, ff, n) != 0) return BIFF_FLASH_E_IO;
    }
    return BIFF_FLASH_OK;
}

static biff_flash_status sh_erase(void *ctx, uint32_t sector)
{
    biff_flash_sh *f = ctx;
    if (sector >= f->flash.sector_count) return BIFF_FLASH_E_RANGE;
    return fill_ff(f, sector * f->flash.sector_size, f->flash.sector_size);
}

biff_flash_status biff_flash_sh_init(biff_flash_sh *f, const char *path, uint32_t sector_size, uint32_t sector_count,
                                     uint32_t program_unit)
{
    memset(f, 0, sizeof *f);
    if (biff_flash_init(&f->flash, sh_read, sh_program, sh_erase, sector_size, sector_count, program_unit, f) !=
        BIFF_FLASH_OK) {
        return BIFF_FLASH_E_RANGE;
    }
    f->fd = biff_board_sh_open(path, 3 /* r+b: keep what is there */);
    long have = 0;
    if (f->fd < 0) {
        f->fd = biff_board_sh_open(path, 7 /* w+b: a blank part */);
        if (f->fd < 0) return BIFF_FLASH_E_IO;
    } else {
        have = biff_board_sh_flen(f->fd);
        if (have < 0) have = 0;
    }
    uint32_t size = sector_size * sector_count;
    if ((uint32_t)have < size) return fill_ff(f, (uint32_t)have, size - (uint32_t)have);
    return BIFF_FLASH_OK;
}

/* Flash HAL argument checks and the RAM-backed NOR emulation. */
#include "biff/flash.h"

#include <string.h>

biff_flash_status biff_flash_check(const biff_flash *f, uint32_t addr, uint32_t len, int aligned)
{
    uint32_t total = f->sector_size * f->sector_count;
    if (addr > total || len > total - addr) return BIFF_FLASH_E_RANGE;
    if (aligned && ((addr | len) & (f->program_unit - 1u)) != 0) return BIFF_FLASH_E_RANGE;
    return BIFF_FLASH_OK;
}

biff_flash_status biff_flash_init(biff_flash *f, biff_flash_status (*read)(void *, uint32_t, void *, uint32_t),
                                  biff_flash_status (*program)(void *, uint32_t, const void *, uint32_t),
                                  biff_flash_status (*erase)(void *, uint32_t), uint32_t sector_size,
                                  uint32_t sector_count, uint32_t program_unit, void *ctx)
{
    f->read = read;
    f->program = program;
    f->erase = erase;
    f->sector_size = sector_size;
    f->sector_count = sector_count;
    f->program_unit = program_unit;
    f->ctx = ctx;
    if (sector_size == 0 || sector_count == 0 || program_unit == 0 || (program_unit & (program_unit - 1u)) != 0 ||
        sector_size % program_unit != 0 || sector_count > UINT32_MAX / sector_size)
        return BIFF_FLASH_E_RANGE;
    return BIFF_FLASH_OK;
}

static biff_flash_status ram_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    biff_flash_ram *r = ctx;
    biff_flash_status s = biff_flash_check(&r->flash, addr, len, 0);
    if (s == BIFF_FLASH_OK && len) memcpy(buf, r->mem + addr, len);
    return s;
}

static biff_flash_status ram_program(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    biff_flash_ram *r = ctx;
    const uint8_t *d = data;
    biff_flash_status s = biff_flash_check(&r->flash, addr, len, 1);
    if (s != BIFF_FLASH_OK) return s;
    /* Check everything first so a refused program leaves the part untouched. */
    for (uint32_t i = 0; i < len; i++)
        if ((uint8_t)(~r->mem[addr + i] & d[i]) != 0) return BIFF_FLASH_E_NOR;
    for (uint32_t i = 0; i < len; i++) r->mem[addr + i] &= d[i];
    return BIFF_FLASH_OK;
}

static biff_flash_status ram_erase(void *ctx, uint32_t sector)
{
    biff_flash_ram *r = ctx;
    if (sector >= r->flash.sector_count) return BIFF_FLASH_E_RANGE;
    memset(r->mem + sector * r->flash.sector_size, 0xFF, r->flash.sector_size);
    if (r->erase_counts) r->erase_counts[sector]++;
    return BIFF_FLASH_OK;
}

biff_flash_status biff_flash_ram_init(biff_flash_ram *r, void *mem, uint32_t sector_size, uint32_t sector_count,
                                      uint32_t program_unit, uint32_t *erase_counts)
{
    if (!r || !mem) return BIFF_FLASH_E_RANGE;
    r->mem = mem;
    r->erase_counts = erase_counts;
    return biff_flash_init(&r->flash, ram_read, ram_program, ram_erase, sector_size, sector_count, program_unit, r);
}

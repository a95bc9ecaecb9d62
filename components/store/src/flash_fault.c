/* Fault-injection flash wrapper: power cuts with partial effects, op errors, read bit flips. */
#include "biff/flash_fault.h"

static uint32_t rnd(biff_flash_fault *f)
{
    uint32_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f->rng = x;
    return x;
}

static int faulting(const biff_flash_fault *f)
{
    return f->ops == f->cut_at || f->ops == f->fail_at;
}

static uint8_t pick_mode(biff_flash_fault *f)
{
    return f->cut_mode == BIFF_FAULT_ANY ? (uint8_t)(rnd(f) % 3u) : f->cut_mode;
}

/* The op already landed in the chosen way; now report what the caller would observe. */
static biff_flash_status fault_result(biff_flash_fault *f, biff_flash_status inner)
{
    if (f->ops == f->cut_at) {
        f->dead = 1;
        return BIFF_FLASH_E_CUT;
    }
    return inner != BIFF_FLASH_OK ? inner : BIFF_FLASH_E_IO;
}

static biff_flash_status fault_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    biff_flash_fault *f = ctx;
    if (f->dead) return BIFF_FLASH_E_CUT;
    biff_flash_status s = f->inner->read(f->inner->ctx, addr, buf, len);
    f->reads++;
    if (s == BIFF_FLASH_OK && len &&
        (f->reads == f->flip_read_at || (f->flip_every && f->reads % f->flip_every == 0))) {
        uint32_t bit = rnd(f) % (len * 8u);
        ((uint8_t *)buf)[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        f->flips++;
    }
    return s;
}

static biff_flash_status fault_program(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    biff_flash_fault *f = ctx;
    const uint8_t *d = data;
    uint8_t *cur = f->scratch;
    if (f->dead) return BIFF_FLASH_E_CUT;
    f->ops++;
    biff_flash_status s = biff_flash_check(&f->flash, addr, len, 1);
    if (s == BIFF_FLASH_OK && len > f->flash.sector_size) s = BIFF_FLASH_E_RANGE; /* the scratch holds one sector */
    if (s == BIFF_FLASH_OK) s = f->inner->read(f->inner->ctx, addr, cur, len);
    if (s != BIFF_FLASH_OK) return s;
    for (uint32_t i = 0; i < len; i++) {
        if (cur[i] != 0xFF) {
            f->reprograms++;
            break;
        }
    }
    if (!faulting(f)) return f->inner->program(f->inner->ctx, addr, data, len);

    uint8_t mode = pick_mode(f);
    if (mode != BIFF_FAULT_ATOMIC && len) {
        uint32_t k = mode == BIFF_FAULT_PREFIX ? rnd(f) % len : len;
        for (uint32_t i = 0; i < len; i++) {
            if (i < k && mode == BIFF_FAULT_PREFIX)
                cur[i] &= d[i];
            else if (i == k || mode == BIFF_FAULT_SCATTER)
                cur[i] &= (uint8_t)(d[i] | rnd(f)); /* some of the wanted 1->0 transitions */
        }
        s = f->inner->program(f->inner->ctx, addr, cur, len);
    }
    return fault_result(f, s);
}

static biff_flash_status fault_erase(void *ctx, uint32_t sector)
{
    biff_flash_fault *f = ctx;
    uint32_t size = f->flash.sector_size;
    if (f->dead) return BIFF_FLASH_E_CUT;
    f->ops++;
    if (sector >= f->flash.sector_count) return BIFF_FLASH_E_RANGE;
    if (!faulting(f)) return f->inner->erase(f->inner->ctx, sector);

    biff_flash_status s = BIFF_FLASH_OK;
    uint8_t mode = pick_mode(f);
    if (mode != BIFF_FAULT_ATOMIC) {
        uint8_t *img = f->scratch;
        s = f->inner->read(f->inner->ctx, sector * size, img, size);
        if (s == BIFF_FLASH_OK) s = f->inner->erase(f->inner->ctx, sector);
        if (s == BIFF_FLASH_OK) {
            uint32_t k = rnd(f) % size;
            for (uint32_t i = 0; i < size; i++) {
                if (mode == BIFF_FAULT_PREFIX) {
                    if (i < k) img[i] = 0xFF;
                } else {
                    uint32_t r = rnd(f);
                    if (r % 3u == 0)
                        img[i] = 0xFF;
                    else if (r % 3u == 1)
                        img[i] |= (uint8_t)(r >> 8); /* weakly erased: some bits back to 1 */
                }
            }
            /* From the fresh 0xFF state any image is a legal program. */
            s = f->inner->program(f->inner->ctx, sector * size, img, size);
        }
    }
    return fault_result(f, s);
}

biff_flash_status biff_flash_fault_init(biff_flash_fault *f, const biff_flash *inner, uint8_t *scratch, uint32_t seed)
{
    if (!f || !inner || !scratch) return BIFF_FLASH_E_RANGE;
    *f = (biff_flash_fault){ 0 };
    f->flash = *inner;
    f->flash.read = fault_read;
    f->flash.program = fault_program;
    f->flash.erase = fault_erase;
    f->flash.ctx = f;
    f->inner = inner;
    f->scratch = scratch;
    f->rng = seed ? seed : 0x9E3779B9u;
    return BIFF_FLASH_OK;
}

void biff_flash_fault_power_on(biff_flash_fault *f)
{
    f->dead = 0;
    f->cut_at = 0;
}

/* libFuzzer: mount an arbitrary flash image (RAM backend), then read, write and delete a few
 * keys as the input's tail says. The store must never crash, never read or write outside the
 * part, and never program over bytes that are not erased. Input: 1 geometry byte, then the
 * image (zero-padded), then operations. With geometry bit 4 set the image is first written by
 * the store itself and the input is XORed onto it, so mutations start from valid headers and
 * records (whose CRCs random bytes would never hit). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "biff/flash_fault.h"
#include "biff/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mem[4 * 512], scratch[512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t units[4] = { 1, 4, 8, 16 };
    biff_flash_ram ram;
    biff_flash_fault fault;
    biff_store st;
    uint8_t buf[BIFF_STORE_MAX_VALUE];
    size_t len;
    if (size < 1) return 0;
    uint32_t unit = units[data[0] & 3], sectors = 2 + (data[0] >> 2 & 1) * 2; /* 2 or 4 */
    uint32_t ssize = data[0] & 8 ? 512 : 256, bytes = ssize * sectors;
    data++;
    size--;
    size_t img = size < bytes ? size : bytes;
    int prepared = data[-1] & 16;
    memset(mem, prepared ? 0xFF : 0, sizeof mem);
    if (biff_flash_ram_init(&ram, mem, ssize, sectors, unit, NULL) ||
        biff_flash_fault_init(&fault, &ram.flash, scratch, 1))
        __builtin_trap();
    if (prepared) {
        if (biff_store_mount(&st, &ram.flash) != BIFF_STORE_OK) __builtin_trap();
        for (uint32_t i = 0; i < 40; i++) {
            memset(buf, (int)i, 40);
            biff_store_write(&st, (uint16_t)(i % 5), buf, 5 + i % 30); /* FULL on small parts */
        }
        biff_store_delete(&st, 2);
        for (size_t i = 0; i < img; i++) mem[i] ^= data[i];
    } else {
        memcpy(mem, data, img);
    }
    data += img;
    size -= img;
    if (biff_store_mount(&st, &fault.flash) != BIFF_STORE_OK) return 0;
    biff_store_stats stats;
    biff_store_stats_get(&st, &stats);
    for (size_t i = 0; i + 2 <= size; i += 2) {
        uint16_t key = data[i + 1] & 7;
        switch (data[i] & 3) {
        case 0: biff_store_read(&st, key, buf, data[i] >> 2, &len); break;
        case 1: {
            uint32_t n = (uint32_t)(data[i] >> 2) * 4u;
            memset(buf, data[i + 1], n);
            if (biff_store_write(&st, key, buf, n) == BIFF_STORE_OK &&
                (biff_store_read(&st, key, buf, sizeof buf, &len) != BIFF_STORE_OK || len != n))
                __builtin_trap(); /* a write that returned OK must read back */
            break;
        }
        case 2:
            if (biff_store_delete(&st, key) == BIFF_STORE_OK &&
                biff_store_read(&st, key, buf, sizeof buf, &len) != BIFF_STORE_E_NOT_FOUND)
                __builtin_trap();
            break;
        default:
            if (biff_store_mount(&st, &fault.flash) != BIFF_STORE_OK) return 0;
        }
    }
    if (fault.reprograms) __builtin_trap();
    return 0;
}

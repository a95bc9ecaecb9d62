/* Store behaviour: basics, geometry, full store, corrupt images, read bit errors, version
 * mismatch, on-flash byte layout, wear spreading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/flash_fault.h"
#include "biff/store.h"

#define MAX_BYTES (16u * 4096u)

typedef struct {
    uint8_t mem[MAX_BYTES];
    uint8_t scratch[4096];
    uint32_t erases[32];
    biff_flash_ram ram;
    biff_flash_fault fault;
    biff_store st;
} rig;

static rig R;

static const biff_flash *rig_init(uint32_t size, uint32_t count, uint32_t unit)
{
    memset(&R, 0, sizeof R);
    memset(R.mem, 0xFF, sizeof R.mem);
    assert_int_equal(biff_flash_ram_init(&R.ram, R.mem, size, count, unit, R.erases), BIFF_FLASH_OK);
    assert_int_equal(biff_flash_fault_init(&R.fault, &R.ram.flash, R.scratch, 1), BIFF_FLASH_OK);
    return &R.fault.flash;
}

static void fill(uint8_t *buf, size_t len, uint32_t tag)
{
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(tag * 31u + i * 7u + (tag >> 8));
}

static void check_value(biff_store *st, uint16_t key, const uint8_t *want, size_t wlen)
{
    uint8_t buf[BIFF_STORE_MAX_VALUE];
    size_t len = 0;
    assert_int_equal(biff_store_read(st, key, buf, sizeof buf, &len), BIFF_STORE_OK);
    assert_int_equal(len, wlen);
    assert_memory_equal(buf, want, wlen);
}

static void test_crc32_known_answer(void **state)
{
    (void)state;
    assert_int_equal(biff_store_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(biff_store_crc32(biff_store_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_ram_flash_is_nor(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(256, 2, 4);
    uint8_t a[4] = { 0x0F, 0xF0, 0x00, 0xFF }, b[4] = { 0xFF, 0xFF, 0xFF, 0xFF }, r[4];
    assert_int_equal(f->program(f->ctx, 0, a, 4), BIFF_FLASH_OK);
    assert_int_equal(f->program(f->ctx, 0, b, 4), BIFF_FLASH_E_NOR);   /* would set bits */
    assert_int_equal(f->program(f->ctx, 2, a, 4), BIFF_FLASH_E_RANGE); /* misaligned */
    assert_int_equal(f->program(f->ctx, 512, a, 4), BIFF_FLASH_E_RANGE);
    assert_int_equal(f->read(f->ctx, 0, r, 4), BIFF_FLASH_OK);
    assert_memory_equal(r, a, 4);
    assert_int_equal(f->erase(f->ctx, 0), BIFF_FLASH_OK);
    assert_int_equal(f->read(f->ctx, 0, r, 4), BIFF_FLASH_OK);
    assert_memory_equal(r, b, 4);
    assert_int_equal(f->erase(f->ctx, 2), BIFF_FLASH_E_RANGE);
}

static void test_basic_roundtrip_and_remount(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(1024, 4, 8);
    uint8_t v[100], buf[8];
    size_t len;
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&R.st, 1, buf, sizeof buf, &len), BIFF_STORE_E_NOT_FOUND);
    fill(v, sizeof v, 1);
    assert_int_equal(biff_store_write(&R.st, 1, v, sizeof v), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 2, "", 0), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 3, "abc", 3), BIFF_STORE_OK);
    check_value(&R.st, 1, v, sizeof v);
    check_value(&R.st, 2, v, 0);
    /* Too small a buffer reports the size needed. */
    assert_int_equal(biff_store_read(&R.st, 1, buf, sizeof buf, &len), BIFF_STORE_E_TOO_BIG);
    assert_int_equal(len, sizeof v);
    assert_int_equal(biff_store_delete(&R.st, 3), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&R.st, 3, buf, sizeof buf, &len), BIFF_STORE_E_NOT_FOUND);

    memset(&R.st, 0, sizeof R.st);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    check_value(&R.st, 1, v, sizeof v);
    check_value(&R.st, 2, v, 0);
    assert_int_equal(biff_store_read(&R.st, 3, buf, sizeof buf, &len), BIFF_STORE_E_NOT_FOUND);
    /* Limits. */
    uint8_t big[BIFF_STORE_MAX_VALUE + 1] = { 0 };
    assert_int_equal(biff_store_write(&R.st, 4, big, sizeof big), BIFF_STORE_E_TOO_BIG);
    assert_int_equal(biff_store_write(&R.st, 4, big, BIFF_STORE_MAX_VALUE), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 0xFFFF, "x", 1), BIFF_STORE_E_ARG);
    assert_int_equal(biff_store_write(&R.st, 5, NULL, 3), BIFF_STORE_E_ARG);
    assert_int_equal(R.fault.reprograms, 0);
}

static void test_unchanged_values_not_rewritten(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(1024, 4, 4);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 7, "hello", 5), BIFF_STORE_OK);
    uint32_t ops = R.fault.ops;
    assert_int_equal(biff_store_write(&R.st, 7, "hello", 5), BIFF_STORE_OK);
    assert_int_equal(biff_store_delete(&R.st, 99), BIFF_STORE_OK); /* absent: nothing to do */
    assert_int_equal(R.fault.ops, ops);
    assert_int_equal(biff_store_write(&R.st, 7, "hellO", 5), BIFF_STORE_OK);
    assert_true(R.fault.ops > ops);
    ops = R.fault.ops;
    assert_int_equal(biff_store_delete(&R.st, 7), BIFF_STORE_OK);
    assert_true(R.fault.ops > ops);
    ops = R.fault.ops;
    assert_int_equal(biff_store_delete(&R.st, 7), BIFF_STORE_OK);
    assert_int_equal(R.fault.ops, ops);
}

/* Many updates over every supported program unit and a few sector counts: values survive
 * garbage collection and remounts. */
static void test_geometries_with_gc(void **state)
{
    (void)state;
    static const uint32_t units[] = { 1, 2, 4, 8, 16, 32 };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (uint32_t n = 2; n <= 5; n++) {
            const biff_flash *f = rig_init(1024, n, units[u]);
            uint8_t model[6][64];
            size_t mlen[6] = { 0 };
            assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
            for (uint32_t i = 0; i < 300; i++) {
                uint16_t key = (uint16_t)(i % 6);
                mlen[key] = 1 + (i * 13) % 60;
                fill(model[key], mlen[key], i);
                assert_int_equal(biff_store_write(&R.st, key, model[key], mlen[key]), BIFF_STORE_OK);
                if (i % 50 == 49) {
                    memset(&R.st, 0, sizeof R.st);
                    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
                }
            }
            for (uint16_t k = 0; k < 6; k++) check_value(&R.st, k, model[k], mlen[k]);
            biff_store_stats s;
            assert_int_equal(biff_store_stats_get(&R.st, &s), BIFF_STORE_OK);
            assert_int_equal(R.fault.reprograms, 0);
        }
    }
}

static void test_full_store(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(512, 3, 8);
    uint8_t v[200];
    uint16_t k;
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    biff_store_status s = BIFF_STORE_OK;
    for (k = 0; k < 100 && s == BIFF_STORE_OK; k++) {
        fill(v, sizeof v, k);
        s = biff_store_write(&R.st, k, v, sizeof v);
    }
    assert_int_equal(s, BIFF_STORE_E_FULL);
    uint16_t stored = (uint16_t)(k - 1); /* keys 0..stored-1 are in */
    assert_true(stored >= 2);
    printf("full store: %u values of 200 bytes in 3 x 512 bytes\n", stored);
    /* Old values stay, a rewrite of a live key with a larger value also reports FULL. */
    for (k = 0; k < stored; k++) {
        fill(v, sizeof v, k);
        check_value(&R.st, k, v, sizeof v);
    }
    assert_int_equal(biff_store_write(&R.st, stored, v, sizeof v), BIFF_STORE_E_FULL);
    /* Deleting works when full, and makes room. */
    assert_int_equal(biff_store_delete(&R.st, 0), BIFF_STORE_OK);
    fill(v, sizeof v, 500);
    assert_int_equal(biff_store_write(&R.st, 0x55, v, sizeof v), BIFF_STORE_OK);
    check_value(&R.st, 0x55, v, sizeof v);
    for (k = 1; k < stored; k++) {
        uint8_t w[200];
        fill(w, sizeof w, k);
        check_value(&R.st, k, w, sizeof w);
    }
    /* Fill up with small values, then delete everything, one by one. */
    for (k = 100; s != BIFF_STORE_E_FULL; k++) s = biff_store_write(&R.st, k, "0123456789", 10);
    for (uint16_t d = 0; d < k; d++) assert_int_equal(biff_store_delete(&R.st, d), BIFF_STORE_OK);
    memset(&R.st, 0, sizeof R.st);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    size_t len;
    for (uint16_t d = 0; d < k; d++)
        assert_int_equal(biff_store_read(&R.st, d, v, sizeof v, &len), BIFF_STORE_E_NOT_FOUND);
    assert_int_equal(R.fault.reprograms, 0);
}

/* A value write keeps one descriptor free: on a store full of live values (nothing for garbage
 * collection to reclaim) each delete still finds room, the first right after the FULL. */
static void test_delete_when_full_of_live_values(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(512, 3, 8);
    biff_store_status s = BIFF_STORE_OK;
    uint16_t k;
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    for (k = 0; k < 200 && s == BIFF_STORE_OK; k++) s = biff_store_write(&R.st, k, "live value", 10);
    assert_int_equal(s, BIFF_STORE_E_FULL);
    for (uint16_t d = 0; d + 1u < k; d++) assert_int_equal(biff_store_delete(&R.st, d), BIFF_STORE_OK);
}

static uint32_t xs(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random images and images with random damage: mount succeeds (or reports VERSION), and the
 * store keeps working afterwards. */
static void test_corrupt_images(void **state)
{
    (void)state;
    uint32_t x = 12345;
    uint8_t v[64], buf[BIFF_STORE_MAX_VALUE];
    size_t len;
    for (int round = 0; round < 200; round++) {
        const biff_flash *f = rig_init(512, 4, 4);
        if (round % 2 == 0) {
            for (size_t i = 0; i < 2048; i++) R.mem[i] = (uint8_t)xs(&x);
        } else {
            assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
            for (uint16_t i = 0; i < 40; i++) {
                fill(v, sizeof v, i);
                assert_int_equal(biff_store_write(&R.st, i % 5, v, 10 + i), BIFF_STORE_OK);
            }
            for (int d = 0; d < 1 + round % 7; d++) R.mem[xs(&x) % 2048] ^= (uint8_t)(1u << (xs(&x) % 8));
        }
        memset(&R.st, 0, sizeof R.st);
        assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
        for (uint16_t k = 0; k < 5; k++) {
            biff_store_status s = biff_store_read(&R.st, k, buf, sizeof buf, &len);
            assert_true(s == BIFF_STORE_OK || s == BIFF_STORE_E_NOT_FOUND);
        }
        for (uint16_t i = 0; i < 30; i++) {
            fill(v, sizeof v, i + 1000);
            assert_int_equal(biff_store_write(&R.st, i % 3, v, 20), BIFF_STORE_OK);
            check_value(&R.st, i % 3, v, 20);
        }
    }
}

/* A damaged record is never returned: the key reads as its previous value or as absent. */
static void test_damaged_record_not_returned(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(1024, 3, 4);
    uint8_t v1[40], v2[40], buf[64];
    size_t len;
    fill(v1, sizeof v1, 1);
    fill(v2, sizeof v2, 2);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 9, v1, sizeof v1), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 9, v2, sizeof v2), BIFF_STORE_OK);
    /* Second value's data sits right after the first one's, after the 20-byte header. */
    R.mem[20 + 40 + 5] ^= 0x10;
    memset(&R.st, 0, sizeof R.st);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&R.st, 9, buf, sizeof buf, &len), BIFF_STORE_OK);
    assert_memory_equal(buf, v1, sizeof v1);
}

/* One flipped bit in any single read: every value still reads back exactly (a failed CRC is
 * re-read), and the store never returns garbage. */
static void test_read_bit_errors(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(512, 3, 4);
    uint8_t v[8][48];
    uint8_t buf[BIFF_STORE_MAX_VALUE];
    size_t len;
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    for (uint16_t i = 0; i < 60; i++) {
        fill(v[i % 8], 48, i);
        assert_int_equal(biff_store_write(&R.st, i % 8, v[i % 8], 48), BIFF_STORE_OK);
    }
    uint32_t base = R.fault.reads, checked = 0;
    for (uint16_t k = 0; k < 8; k++) check_value(&R.st, k, v[k], 48);
    uint32_t per_pass = R.fault.reads - base;
    for (uint32_t at = 1; at <= per_pass; at++) {
        R.fault.reads = 0;
        R.fault.flip_read_at = at;
        for (uint16_t k = 0; k < 8; k++) {
            assert_int_equal(biff_store_read(&R.st, k, buf, sizeof buf, &len), BIFF_STORE_OK);
            assert_int_equal(len, 48);
            assert_memory_equal(buf, v[k], 48);
            checked++;
        }
    }
    R.fault.flip_read_at = 0;
    /* Mount with a flip at every read position of the mount. */
    R.fault.reads = 0;
    memset(&R.st, 0, sizeof R.st);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    uint32_t mount_reads = R.fault.reads;
    for (uint32_t at = 1; at <= mount_reads; at++) {
        R.fault.reads = 0;
        R.fault.flip_read_at = at;
        memset(&R.st, 0, sizeof R.st);
        assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
        R.fault.flip_read_at = 0;
        for (uint16_t k = 0; k < 8; k++) check_value(&R.st, k, v[k], 48);
    }
    /* Noisy reads (a flip in every 7th read): results are right or an error, never garbage. */
    R.fault.flip_every = 7;
    uint32_t errors = 0;
    for (int pass = 0; pass < 50; pass++) {
        for (uint16_t k = 0; k < 8; k++) {
            biff_store_status s = biff_store_read(&R.st, k, buf, sizeof buf, &len);
            if (s == BIFF_STORE_OK) {
                assert_int_equal(len, 48);
                assert_memory_equal(buf, v[k], 48);
            } else {
                errors++;
            }
        }
    }
    R.fault.flip_every = 0;
    printf("read bit errors: %u single-flip reads exact; noisy pass %u errors of 400, %u flips\n", checked, errors,
           R.fault.flips);
}

static void test_version_mismatch(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(512, 3, 4);
    uint8_t h[20], buf[8];
    size_t len;
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&R.st, 1, "old", 3), BIFF_STORE_OK);
    /* Rewrite sector 1 as a valid header of format version 2. */
    memset(R.mem + 512, 0xFF, 512);
    memcpy(h, R.mem, 20);
    h[4] = 2;
    uint32_t crc = biff_store_crc32(0, h, 16);
    for (int i = 0; i < 4; i++) h[16 + i] = (uint8_t)(crc >> (8 * i));
    memcpy(R.mem + 512, h, 20);
    uint32_t ops = R.fault.ops;
    memset(&R.st, 0, sizeof R.st);
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_E_VERSION);
    assert_int_equal(R.fault.ops, ops); /* nothing written */
    assert_int_equal(biff_store_read(&R.st, 1, buf, sizeof buf, &len), BIFF_STORE_E_VERSION);
    assert_int_equal(biff_store_write(&R.st, 1, "x", 1), BIFF_STORE_E_VERSION);
    /* Another geometry (program unit) is refused the same way. */
    biff_flash other = R.ram.flash;
    other.program_unit = 8;
    memset(&R.st, 0, sizeof R.st);
    memset(R.mem + 512, 0xFF, 512);
    assert_int_equal(biff_store_mount(&R.st, &other), BIFF_STORE_E_VERSION);
    /* The caller may decide to start over. */
    assert_int_equal(biff_store_format(&R.st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&R.st, 1, buf, sizeof buf, &len), BIFF_STORE_E_NOT_FOUND);
    assert_int_equal(biff_store_write(&R.st, 1, "new", 3), BIFF_STORE_OK);
}

/* Pin the on-flash bytes: images must be the same on a little-endian host and a big-endian one. */
static void test_on_flash_layout(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(256, 2, 4);
    static const uint8_t hdr[16] = { 'B', 'F', 'S', 'T', 1, 4, 0xFF, 0x00, 1, 0, 0, 0, 1, 0, 0, 0 };
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    assert_memory_equal(R.mem, hdr, 16);
    assert_int_equal(biff_store_write(&R.st, 0x1234, "abcde", 5), BIFF_STORE_OK);
    assert_memory_equal(R.mem + 20, "abcde\xFF\xFF\xFF", 8);
    const uint8_t *a = R.mem + 256 - 16;
    static const uint8_t ate_head[8] = { 0x34, 0x12, 5, 0, 1, 0, 0, 0 };
    assert_memory_equal(a, ate_head, 8);
    assert_int_equal(a[12] | a[13] << 8, 20); /* data offset */
    uint32_t dcrc = biff_store_crc32(biff_store_crc32(0, ate_head, 8), "abcde", 5);
    assert_int_equal((uint32_t)a[8] | (uint32_t)a[9] << 8 | (uint32_t)a[10] << 16 | (uint32_t)a[11] << 24, dcrc);
}

/* Wear: erase counts stay within a small ratio across sectors. */
static void test_wear_spread(void **state)
{
    (void)state;
    const biff_flash *f = rig_init(1024, 8, 8);
    uint8_t v[64];
    assert_int_equal(biff_store_mount(&R.st, f), BIFF_STORE_OK);
    /* A mostly static store (20 keys written once) plus two hot keys. */
    for (uint16_t k = 0; k < 20; k++) {
        fill(v, sizeof v, k);
        assert_int_equal(biff_store_write(&R.st, (uint16_t)(100 + k), v, 40), BIFF_STORE_OK);
    }
    const uint32_t updates = 20000;
    for (uint32_t i = 0; i < updates; i++) {
        fill(v, sizeof v, i);
        assert_int_equal(biff_store_write(&R.st, (uint16_t)(i % 2), v, 24), BIFF_STORE_OK);
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t s = 0; s < 8; s++) {
        lo = R.erases[s] < lo ? R.erases[s] : lo;
        hi = R.erases[s] > hi ? R.erases[s] : hi;
    }
    printf("wear: %u updates, 8 sectors, erase counts min %u max %u (ratio %.3f)\n", updates, lo, hi,
           (double)hi / (double)lo);
    assert_true(lo > 0);
    assert_true(hi * 100 <= lo * 105); /* within 5 % */
    /* The header's count is carried from erase to erase (a blank sector starts from its
     * neighbour's, so it may run ahead by up to the ring's length). */
    biff_store_stats stt;
    assert_int_equal(biff_store_stats_get(&R.st, &stt), BIFF_STORE_OK);
    assert_true(stt.active_erase_count >= R.erases[stt.active_sector]);
    assert_true(stt.active_erase_count <= R.erases[stt.active_sector] + 8u);
    for (uint16_t k = 0; k < 20; k++) {
        fill(v, sizeof v, k);
        check_value(&R.st, (uint16_t)(100 + k), v, 40);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_answer),
        cmocka_unit_test(test_ram_flash_is_nor),
        cmocka_unit_test(test_basic_roundtrip_and_remount),
        cmocka_unit_test(test_unchanged_values_not_rewritten),
        cmocka_unit_test(test_geometries_with_gc),
        cmocka_unit_test(test_full_store),
        cmocka_unit_test(test_corrupt_images),
        cmocka_unit_test(test_damaged_record_not_returned),
        cmocka_unit_test(test_read_bit_errors),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_on_flash_layout),
        cmocka_unit_test(test_delete_when_full_of_live_values),
        cmocka_unit_test(test_wear_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Host file-backed flash (board/host/flash_file.c): NOR rules, persistence across reopen, the
 * file is byte-for-byte the image a RAM (MCU) flash gets from the same writes, and a file of
 * the wrong size is refused untouched. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "biff/flash_file.h"
#include "biff/store.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/biff_flash_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* open() creates it blank */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void test_file_is_nor_and_persists(void **state)
{
    (void)state;
    biff_flash_file ff;
    uint8_t a[4] = { 0x0F, 0, 0, 0 }, b[4] = { 0xF0, 0, 0, 0 }, r[4];
    assert_int_equal(biff_flash_file_open(&ff, path, 512, 4, 4, BIFF_FLASH_FILE_NOSYNC), BIFF_FLASH_OK);
    const biff_flash *f = &ff.flash;
    assert_int_equal(f->read(f->ctx, 0, r, 4), BIFF_FLASH_OK);
    assert_int_equal(r[0], 0xFF);
    assert_int_equal(f->program(f->ctx, 0, a, 4), BIFF_FLASH_OK);
    assert_int_equal(f->program(f->ctx, 0, b, 4), BIFF_FLASH_E_NOR);
    assert_int_equal(f->program(f->ctx, 1, a, 4), BIFF_FLASH_E_RANGE);
    assert_int_equal(f->read(f->ctx, 2046, r, 4), BIFF_FLASH_E_RANGE);
    assert_int_equal(f->erase(f->ctx, 0), BIFF_FLASH_OK);
    assert_int_equal(f->erase(f->ctx, 4), BIFF_FLASH_E_RANGE);

    biff_store st;
    assert_int_equal(biff_store_mount(&st, f), BIFF_STORE_OK);
    assert_int_equal(biff_store_write(&st, 42, "persist", 7), BIFF_STORE_OK);
    biff_flash_file_close(&ff);
    /* Synced variant this time, as the daemon uses it. */
    assert_int_equal(biff_flash_file_open(&ff, path, 512, 4, 4, 0), BIFF_FLASH_OK);
    char buf[16];
    size_t len;
    assert_int_equal(biff_store_mount(&st, &ff.flash), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&st, 42, buf, sizeof buf, &len), BIFF_STORE_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "persist", 7);
    assert_int_equal(biff_store_write(&st, 43, "synced", 6), BIFF_STORE_OK);
    biff_flash_file_close(&ff);
    biff_flash_file_close(&ff); /* harmless twice */

    /* Another geometry: refused, file untouched. */
    assert_int_equal(biff_flash_file_open(&ff, path, 1024, 4, 4, 0), BIFF_FLASH_E_RANGE);
    assert_int_equal(biff_flash_file_open(&ff, "/nonexistent-dir/x", 512, 4, 4, 0), BIFF_FLASH_E_IO);
    assert_int_equal(biff_flash_file_open(&ff, path, 512, 4, 4, 0), BIFF_FLASH_OK);
    assert_int_equal(biff_store_mount(&st, &ff.flash), BIFF_STORE_OK);
    assert_int_equal(biff_store_read(&st, 43, buf, sizeof buf, &len), BIFF_STORE_OK);
    biff_flash_file_close(&ff);
}

static void test_file_matches_ram_image(void **state)
{
    (void)state;
    static uint8_t mem[4 * 512], file_img[4 * 512];
    biff_flash_ram ram;
    biff_flash_file ff;
    biff_store a, b;
    memset(mem, 0xFF, sizeof mem);
    assert_int_equal(biff_flash_ram_init(&ram, mem, 512, 4, 8, NULL), BIFF_FLASH_OK);
    assert_int_equal(biff_flash_file_open(&ff, path, 512, 4, 8, BIFF_FLASH_FILE_NOSYNC), BIFF_FLASH_OK);
    assert_int_equal(biff_store_mount(&a, &ram.flash), BIFF_STORE_OK);
    assert_int_equal(biff_store_mount(&b, &ff.flash), BIFF_STORE_OK);
    for (uint16_t i = 0; i < 100; i++) {
        uint8_t v[40];
        memset(v, i, sizeof v);
        assert_int_equal(biff_store_write(&a, i % 7, v, 1 + i % 40), BIFF_STORE_OK);
        assert_int_equal(biff_store_write(&b, i % 7, v, 1 + i % 40), BIFF_STORE_OK);
    }
    assert_true(a.gc_count > 0);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(file_img, 1, sizeof file_img, fp), sizeof file_img);
    fclose(fp);
    assert_memory_equal(file_img, mem, sizeof mem);
    biff_flash_file_close(&ff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_is_nor_and_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_matches_ram_image, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The counted allocator mbedTLS gets: pool exhaustion is counted (that is how a handshake that
 * ran out of memory is told apart from an untrusted chain), freed neighbours merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "biff/tls_heap.h"
#include "mbedtls/platform.h"

static _Alignas(8) unsigned char pool[4096];

static void pool_exhaustion_is_counted(void **state)
{
    (void)state;
    biff_tls_heap_use_pool(pool, sizeof pool);
    assert_int_equal(biff_tls_heap_capacity(), sizeof pool);
    unsigned char *a = mbedtls_calloc(1, 3000);
    assert_non_null(a);
    assert_int_equal(biff_tls_heap_failures(), 0);
    assert_null(mbedtls_calloc(1, 2000));
    assert_int_equal(biff_tls_heap_failures(), 1);
    assert_null(mbedtls_calloc(SIZE_MAX / 2, 4)); /* n * size overflows: refused, not wrapped */
    assert_int_equal(biff_tls_heap_failures(), 2);
    assert_true(biff_tls_heap_peak() >= 3000 && biff_tls_heap_peak() < 3100);
    mbedtls_free(a);
    assert_int_equal(biff_tls_heap_current(), 0);
}

static void freed_neighbours_merge_and_memory_is_zeroed(void **state)
{
    (void)state;
    biff_tls_heap_use_pool(pool + 1, sizeof pool - 1); /* unaligned start: aligned inside */
    unsigned char *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = mbedtls_calloc(1, 900);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 8, 0);
        memset(p[i], 0xAB, 900);
    }
    assert_null(mbedtls_calloc(1, 1500));
    /* Free the middle two in either order: together they hold 1,800 bytes. */
    mbedtls_free(p[2]);
    mbedtls_free(p[1]);
    unsigned char *big = mbedtls_calloc(1, 1800);
    assert_ptr_equal(big, p[1]);
    for (int i = 0; i < 1800; i++) assert_int_equal(big[i], 0);
    mbedtls_free(big);
    mbedtls_free(p[0]);
    mbedtls_free(p[3]);
    assert_int_equal(biff_tls_heap_current(), 0);
    unsigned char *all = mbedtls_calloc(1, 4000); /* everything merged back into one block */
    assert_non_null(all);
    mbedtls_free(all);
}

static void system_heap_with_a_limit(void **state)
{
    (void)state;
    biff_tls_heap_use_system(1000);
    void *a = mbedtls_calloc(10, 60);
    assert_non_null(a);
    assert_null(mbedtls_calloc(1, 401));
    assert_int_equal(biff_tls_heap_failures(), 1);
    void *b = mbedtls_calloc(1, 400);
    assert_non_null(b);
    assert_int_equal(biff_tls_heap_peak(), 1000);
    mbedtls_free(a);
    mbedtls_free(b);
    biff_tls_heap_reset_peak();
    assert_int_equal(biff_tls_heap_peak(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_exhaustion_is_counted),
        cmocka_unit_test(freed_neighbours_merge_and_memory_is_zeroed),
        cmocka_unit_test(system_heap_with_a_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* X.509 times as unix seconds: the clock floor a notifier keeps rests on this conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "biff/tls.h"

static uint32_t at(int year, int mon, int day, int hour, int min, int sec)
{
    mbedtls_x509_time t = { .year = year, .mon = mon, .day = day, .hour = hour, .min = min, .sec = sec };
    return biff_tls_x509_time_unix(&t);
}

/* Expected values from Python's calendar.timegm. */
static void known_dates(void **state)
{
    (void)state;
    assert_int_equal(at(1970, 1, 1, 0, 0, 0), 0u);
    assert_int_equal(at(1999, 12, 31, 23, 59, 59), 946684799u);
    assert_int_equal(at(2000, 2, 29, 12, 0, 0), 951825600u); /* leap day of a year divisible by 400 */
    assert_int_equal(at(2024, 12, 31, 23, 59, 59), 1735689599u);
    assert_int_equal(at(2026, 11, 26, 3, 0, 0), 1795662000u);
    assert_int_equal(at(2038, 1, 19, 3, 14, 8), 2147483648u); /* past int32 */
    assert_int_equal(at(2100, 3, 1, 0, 0, 0), 4107542400u);   /* 2100 has no 29 February */
    assert_int_equal(at(2106, 2, 7, 6, 28, 15), 4294967295u);
}

static void out_of_range_is_clamped(void **state)
{
    (void)state;
    assert_int_equal(at(1969, 12, 31, 23, 59, 59), 0u);
    assert_int_equal(at(1950, 1, 1, 0, 0, 0), 0u);
    assert_int_equal(at(2106, 2, 7, 6, 28, 16), UINT32_MAX);
    assert_int_equal(at(9999, 12, 31, 23, 59, 59), UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_dates),
        cmocka_unit_test(out_of_range_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

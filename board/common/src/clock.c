/*
 * The wall clock over the board's millisecond tick (an offset SNTP or the clock floor sets),
 * the calendar mbedTLS needs for certificate dates, lwIP's sys_now(), lwIP's random numbers
 * and its assertion stop. Shared by every board that has no RTC of its own.
 */
#include <string.h>

#include "board.h"

static int64_t epoch_offset_ms; /* set by SNTP; 0 means "time unknown" */

void biff_board_set_time(unsigned long sec)
{
    epoch_offset_ms = (int64_t)sec * 1000 - (int64_t)biff_board_millis();
}

unsigned long biff_board_time(void)
{
    return (unsigned long)((epoch_offset_ms + (int64_t)biff_board_millis()) / 1000);
}

/** Milliseconds since 1970 (for the C library's gettimeofday hook). */
int64_t biff_board_epoch_ms(void);
int64_t biff_board_epoch_ms(void)
{
    return epoch_offset_ms + (int64_t)biff_board_millis();
}

/* ---- mbedTLS platform hooks ---- */
#include "mbedtls/platform_time.h"

mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t)biff_board_millis();
}

/* Certificate validity checks need a calendar date. Days to year/month/day with the usual
 * era arithmetic (400-year cycles of 146097 days, years starting in March). */
#include "mbedtls/platform_util.h"
struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
    int64_t t = *tt;
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    memset(tm_buf, 0, sizeof *tm_buf);
    tm_buf->tm_hour = (int)(rem / 3600);
    tm_buf->tm_min = (int)(rem % 3600 / 60);
    tm_buf->tm_sec = (int)(rem % 60);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    tm_buf->tm_year = (int)(y - 1900);
    tm_buf->tm_mon = (int)(m - 1);
    tm_buf->tm_mday = (int)d;
    return tm_buf;
}

/* mbedTLS and lwIP take their randomness from the board's entropy source, the port function
 * biff_board_entropy(): nothing else makes random bytes. */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    (void)data;
    *olen = len;
    return biff_board_entropy(output, len);
}

unsigned int biff_board_rand(void)
{
    unsigned char b[4] = { 0 };
    (void)biff_board_entropy(b, sizeof b);
    return (unsigned)b[0] | (unsigned)b[1] << 8 | (unsigned)b[2] << 16 | (unsigned)b[3] << 24;
}

/* ---- lwIP ---- */
#include "lwip/sys.h"

u32_t sys_now(void)
{
    return biff_board_millis();
}

void biff_board_panic(const char *msg, const char *file, int line);
void biff_board_panic(const char *msg, const char *file, int line)
{
    (void)line;
    biff_board_console_write("PANIC ", 6);
    biff_board_console_write(msg, strlen(msg));
    biff_board_console_write(" ", 1);
    biff_board_console_write(file, strlen(file));
    biff_board_console_write("\n", 1);
    biff_board_exit(70);
}

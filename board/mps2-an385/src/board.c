/* mps2-an385 board support: CMSDK UART console, SysTick, semihosting exit, newlib hooks. */
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "board.h"

#define SYSCLK_HZ 25000000u /* AN385 runs the M3 at 25 MHz */

/* CMSDK APB UART0 */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TXFULL 0x1u
#define UART_CTRL_TXEN 0x1u

/* SysTick */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t millis;
static int64_t epoch_offset_ms; /* set by SNTP; 0 means "time unknown" */

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    millis++;
}

void biff_board_init(void)
{
    UART_BAUDDIV = SYSCLK_HZ / 115200u;
    UART_CTRL = UART_CTRL_TXEN;
    SYST_RVR = SYSCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7; /* processor clock, interrupt, enable */
}

void biff_board_console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (UART_STATE & UART_STATE_TXFULL) {
        }
        UART_DATA = (uint8_t)s[i];
    }
}

uint32_t biff_board_millis(void)
{
    return millis;
}

static int semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* ---- semihosting host files (QEMU -semihosting-config enable=on,target=native) ---- */
#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0A
#define SYS_FLEN 0x0C
#define SYS_GET_CMDLINE 0x15

int biff_board_sh_open(const char *path, int mode)
{
    uint32_t a[3] = { (uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path) };
    return semihost(SYS_OPEN, a);
}

void biff_board_sh_close(int fd)
{
    uint32_t a[1] = { (uint32_t)fd };
    (void)semihost(SYS_CLOSE, a);
}

int biff_board_sh_read(int fd, void *buf, uint32_t len)
{
    uint32_t a[3] = { (uint32_t)fd, (uint32_t)(uintptr_t)buf, len };
    int left = semihost(SYS_READ, a); /* bytes NOT read */
    return left < 0 || (uint32_t)left > len ? -1 : (int)(len - (uint32_t)left);
}

int biff_board_sh_write(int fd, const void *buf, uint32_t len)
{
    uint32_t a[3] = { (uint32_t)fd, (uint32_t)(uintptr_t)buf, len };
    return semihost(SYS_WRITE, a) == 0 ? 0 : -1; /* returns bytes NOT written */
}

int biff_board_sh_seek(int fd, uint32_t pos)
{
    uint32_t a[2] = { (uint32_t)fd, pos };
    return semihost(SYS_SEEK, a) == 0 ? 0 : -1;
}

long biff_board_sh_flen(int fd)
{
    uint32_t a[1] = { (uint32_t)fd };
    return semihost(SYS_FLEN, a);
}

int biff_board_sh_cmdline(char *buf, uint32_t cap)
{
    uint32_t a[2] = { (uint32_t)(uintptr_t)buf, cap };
    if (semihost(SYS_GET_CMDLINE, a) != 0) return -1;
    return (int)a[1];
}

/* ---- LEDs: FPGAIO LED0 register (bits 0..1 on AN385; QEMU shows writes as mps2_fpgaio_write) */
#define FPGAIO_LED0 (*(volatile uint32_t *)0x40028000u)

void biff_board_leds(uint32_t mask)
{
    if (FPGAIO_LED0 != mask) FPGAIO_LED0 = mask;
}

void biff_board_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20) carries the status code to QEMU's exit status. */
    uint32_t block[2] = { 0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code };
    semihost(0x20, block);
    for (;;) {
    }
}

void biff_board_panic(const char *msg, const char *file, int line);
void biff_board_panic(const char *msg, const char *file, int line)
{
    (void)line;
    biff_board_console_write("PANIC ", 6);
    for (const char *p = msg; *p; p++) biff_board_console_write(p, 1);
    biff_board_console_write(" ", 1);
    for (const char *p = file; *p; p++) biff_board_console_write(p, 1);
    biff_board_console_write("\n", 1);
    biff_board_exit(70);
}

void biff_board_set_time(unsigned long sec)
{
    epoch_offset_ms = (int64_t)sec * 1000 - (int64_t)millis;
}

unsigned long biff_board_time(void)
{
    return (unsigned long)((epoch_offset_ms + (int64_t)millis) / 1000);
}

/* ---- mbedTLS platform hooks ---- */
#include "mbedtls/platform_time.h"

mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t)millis;
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
 * biff_board_entropy(): nothing else on the board makes random bytes. */
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

/* The SysTick counter's phase, for the emulator's stand-in (insecure_rng.c). */
uint32_t biff_board_tick_phase(void)
{
    return SYST_CVR + millis;
}

/* ---- newlib hooks: console output, time of day, and no heap (all memory is static) ---- */
int _write(int fd, const char *buf, int len);
int _write(int fd, const char *buf, int len)
{
    (void)fd;
    biff_board_console_write(buf, (size_t)len);
    return len;
}

void *_sbrk(int incr);
void *_sbrk(int incr)
{
    (void)incr;
    errno = ENOMEM; /* malloc is not used: a call that reaches here fails loudly */
    return (void *)-1;
}

int _gettimeofday(struct timeval *tv, void *tz);
int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    int64_t ms = epoch_offset_ms + (int64_t)millis;
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return 0;
}

/* lwIP's clock for NO_SYS timers. */
#include "lwip/sys.h"
u32_t sys_now(void)
{
    return millis;
}

/* -nostartfiles drops crti's _init; newlib's __libc_init_array still calls it. */
void _init(void);
void _init(void)
{
}

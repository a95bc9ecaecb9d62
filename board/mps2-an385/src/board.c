/* mps2-an385 board support: CMSDK UART console, SysTick, LEDs, entropy, semihosting trap,
 * newlib hooks. The wall clock and the semihosting calls are board/common's. */
#include <errno.h>
#include <stdint.h>
#include <sys/time.h>

#include "board.h"

#define SYSCLK_HZ 25000000u /* AN385 runs the M3 at 25 MHz */

/* CMSDK APB UART0 */
#define UART0_BASE        0x40004000u
#define UART_DATA         (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE        (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL         (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV      (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TXFULL 0x1u
#define UART_CTRL_TXEN    0x1u

/* SysTick */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t millis;

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

void biff_board_idle(void)
{
    __asm__ volatile("wfi"); /* SysTick wakes us within 1 ms */
}

int biff_board_semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* ---- LEDs: FPGAIO LED0 register (bits 0..1 on AN385; QEMU shows writes as mps2_fpgaio_write) */
#define FPGAIO_LED0 (*(volatile uint32_t *)0x40028000u)

void biff_board_leds(uint32_t mask)
{
    if (FPGAIO_LED0 != mask) FPGAIO_LED0 = mask;
}

/* The SysTick counter's phase, for the emulator's stand-in entropy (board/common insecure_rng.c):
 * QEMU's mps2 has no TRNG. */
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

int64_t biff_board_epoch_ms(void);
int _gettimeofday(struct timeval *tv, void *tz);
int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    int64_t ms = biff_board_epoch_ms();
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return 0;
}

/* -nostartfiles drops crti's _init; newlib's __libc_init_array still calls it. */
void _init(void);
void _init(void) {}

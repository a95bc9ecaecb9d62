/* QEMU virt (RV32IMAC) board support: ns16550 console, CLINT mtime as the millisecond clock and
 * wfi wake-up, the LED word, entropy, the semihosting trap, picolibc hooks. The wall clock and
 * the semihosting calls are board/common's; the netif is virtio_net.c. */
#include <stdint.h>
#include <sys/time.h>

#include "board.h"

/* ns16550a UART0 (byte registers, QEMU ignores the baud rate) */
#define UART0_BASE    0x10000000u
#define UART_THR      (*(volatile uint8_t *)(UART0_BASE + 0))
#define UART_IER      (*(volatile uint8_t *)(UART0_BASE + 1))
#define UART_FCR      (*(volatile uint8_t *)(UART0_BASE + 2))
#define UART_LCR      (*(volatile uint8_t *)(UART0_BASE + 3))
#define UART_LSR      (*(volatile uint8_t *)(UART0_BASE + 5))
#define UART_LSR_THRE 0x20u

/* CLINT (SiFive layout): mtime runs at 10 MHz on virt; mtimecmp of hart 0. */
#define CLINT_BASE   0x02000000u
#define MTIMECMP_LO  (*(volatile uint32_t *)(CLINT_BASE + 0x4000))
#define MTIMECMP_HI  (*(volatile uint32_t *)(CLINT_BASE + 0x4004))
#define MTIME_LO     (*(volatile uint32_t *)(CLINT_BASE + 0xBFF8))
#define MTIME_HI     (*(volatile uint32_t *)(CLINT_BASE + 0xBFFC))
#define MTIME_PER_MS 10000u
#define MIE_MTIE     0x80u

static uint64_t mtime(void)
{
    uint32_t hi, lo;
    do { /* the low word may carry into the high one between the two reads */
        hi = MTIME_HI;
        lo = MTIME_LO;
    } while (hi != MTIME_HI);
    return (uint64_t)hi << 32 | lo;
}

void biff_board_init(void)
{
    UART_IER = 0;
    UART_LCR = 0x03; /* 8N1 */
    UART_FCR = 0x01; /* FIFO on */
    /* The machine timer interrupt is enabled in mie but never globally (mstatus.MIE stays 0): a
     * pending one only ends wfi, no handler runs. */
    MTIMECMP_HI = UINT32_MAX;
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrs mie, %0\n.option pop" ::"r"(MIE_MTIE));
}

void biff_board_console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(UART_LSR & UART_LSR_THRE)) {
        }
        UART_THR = (uint8_t)s[i];
    }
}

uint32_t biff_board_millis(void)
{
    return (uint32_t)(mtime() / MTIME_PER_MS);
}

void biff_board_idle(void)
{
    /* Wake at the next millisecond (as SysTick does on mps2); the high word first, so the
     * compare never passes through a value below now (the privileged spec's sequence). */
    uint64_t at = (mtime() / MTIME_PER_MS + 1u) * MTIME_PER_MS;
    MTIMECMP_LO = UINT32_MAX;
    MTIMECMP_HI = (uint32_t)(at >> 32);
    MTIMECMP_LO = (uint32_t)at;
    __asm__ volatile("wfi");
}

/* RISC-V semihosting: an ebreak between two marker instructions, uncompressed and not across a
 * page (hence the alignment); op and arg arrive in a0 and a1 and the answer leaves in a0. */
__attribute__((naked, aligned(16), noinline)) int biff_board_semihost(int op, void *arg)
{
    (void)op;
    (void)arg;
    __asm__ volatile(".option push\n"
                     ".option norvc\n"
                     "slli x0, x0, 0x1f\n"
                     "ebreak\n"
                     "srai x0, x0, 7\n"
                     "ret\n"
                     ".option pop\n");
}

/* ---- LEDs. virt has no GPIO, so the LEDs are one word of RAM at a fixed address outside the
 * image (the linker script's LEDS region, 0x801FF000): bit 0 mail, bit 1 network, as on mps2's
 * FPGAIO LED0. The e2e test reads it through QEMU's monitor (xp /1wx 0x801ff000). */
__attribute__((section(".leds"))) volatile uint32_t biff_board_led_word;

void biff_board_leds(uint32_t mask)
{
    biff_board_led_word = mask;
}

/* mtime's phase, for the emulator's stand-in entropy (board/common insecure_rng.c): QEMU's virt
 * has no TRNG the firmware could use without a driver of its own (virtio-rng would be one). A
 * real part (the ESP32-C3's RNG register) supplies biff_board_entropy() instead. */
uint32_t biff_board_tick_phase(void)
{
    return MTIME_LO;
}

/* ---- picolibc hook: time() (mbedTLS's clock for certificate dates) reads gettimeofday. The
 * heap is empty (the linker script's __heap_start = __heap_end): malloc is not used, and a call
 * that reaches it fails. */
int64_t biff_board_epoch_ms(void);
int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    (void)tz;
    int64_t ms = biff_board_epoch_ms();
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return 0;
}

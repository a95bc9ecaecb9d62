/* RV32 start-up on QEMU virt: hart 0 sets gp, sp and a trap vector, copies .data, clears .bss,
 * then main(). Other harts (none with the default -smp 1) spin where they are. */
#include <stdint.h>
#include <string.h>

#include "board.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(void);
void _start(void);
void biff_board_reset(void);
void biff_board_trap(void);

__attribute__((naked, section(".text.start"))) void _start(void)
{
    __asm__ volatile(".option push\n"
                     ".option norelax\n"
                     ".option arch, +zicsr\n" /* binutils 2.40 wants it named; the multilib is rv32imac */
                     "la gp, __global_pointer$\n"
                     "csrr t0, mhartid\n"
                     "1: bnez t0, 1b\n"
                     "la sp, __stack_top\n"
                     "la t0, biff_board_trap\n"
                     "csrw mtvec, t0\n"
                     ".option pop\n"
                     "j biff_board_reset\n");
}

void biff_board_reset(void)
{
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    (void)main();
    for (;;) {
    }
}

/* No interrupt is ever enabled (the timer only wakes wfi), so a trap is an exception: say which
 * and where, and stop QEMU with a status a test sees. mtvec needs 4-byte alignment. */
__attribute__((interrupt("machine"), aligned(4))) void biff_board_trap(void)
{
    static const char hex[] = "0123456789abcdef";
    static int trapped; /* a trap in here (say, semihosting is off) must not recurse */
    uint32_t cause, epc;
    if (trapped++) {
        for (;;) {
        }
    }
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mcause\ncsrr %1, mepc\n.option pop"
                     : "=r"(cause), "=r"(epc));
    char msg[] = "TRAP mcause=00000000 mepc=00000000\n";
    for (int i = 0; i < 8; i++) {
        msg[12 + i] = hex[(cause >> (28 - 4 * i)) & 0xFu];
        msg[26 + i] = hex[(epc >> (28 - 4 * i)) & 0xFu];
    }
    biff_board_console_write(msg, sizeof msg - 1);
    biff_board_exit(71);
}

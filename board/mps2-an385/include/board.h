/* QEMU mps2-an385 (ARM MPS2 with the AN385 Cortex-M3 FPGA image): what the firmware needs. */
#ifndef BIFF_BOARD_H
#define BIFF_BOARD_H

#include <stddef.h>
#include <stdint.h>

/** Bring up clocks, the console UART and the SysTick millisecond tick. */
void biff_board_init(void);

/** Write bytes to the console UART (blocking; the UART is fast next to everything else). */
void biff_board_console_write(const char *s, size_t len);

/** Milliseconds since start-up (SysTick). */
uint32_t biff_board_millis(void);

/** Leave QEMU with a status code through semihosting (tests); loops forever on real parts. */
void biff_board_exit(int code);

/** Called by SNTP with seconds since 1970; until then the clock counts from 0 (time unknown). */
void biff_board_set_time(unsigned long sec);

/** 32 random bits for lwIP (ports, ISNs); see mbedtls_hardware_poll() for the source. */
unsigned int biff_board_rand(void);

#endif

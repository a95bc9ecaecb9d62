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

/**
 * The entropy source: len bytes from the part's TRNG into out; 0 on success. The port function
 * every board must supply (mbedTLS and lwIP draw on it through the two below). The emulator has
 * none: its stand-in (insecure_rng.c) is only built with BIFF_INSECURE_EMULATOR_RNG.
 */
int biff_board_entropy(unsigned char *out, size_t len);

/** 32 random bits for lwIP (ports, ISNs, SNTP), from biff_board_entropy(). */
unsigned int biff_board_rand(void);

/** SysTick counter and millisecond tick mixed (for the emulator's stand-in entropy only). */
uint32_t biff_board_tick_phase(void);

/** Seconds since 1970 as the board believes it (whatever biff_board_set_time() said last,
 *  advanced by SysTick); counts from 0 until something sets it. */
unsigned long biff_board_time(void);

/** Drive the user LEDs (bit i = LED i; AN385 has two on FPGAIO LED0). */
void biff_board_leds(uint32_t mask);

/* Semihosting host-file access (QEMU with -semihosting-config enable=on,target=native). Modes
 * are the ARM ones: 0 "r", 1 "rb", 3 "r+b", 7 "w+b". A handle < 0 means failure. read returns
 * the bytes read (0 at end of file) or -1; write and seek return 0 or -1. */
int biff_board_sh_open(const char *path, int mode);
void biff_board_sh_close(int fd);
int biff_board_sh_read(int fd, void *buf, uint32_t len);
int biff_board_sh_write(int fd, const void *buf, uint32_t len);
int biff_board_sh_seek(int fd, uint32_t pos);
long biff_board_sh_flen(int fd);
/** The command line given to QEMU with -semihosting-config ...,arg=A,arg=B ("A B"); its length
 *  or -1. */
int biff_board_sh_cmdline(char *buf, uint32_t cap);

#endif

/*
 * The board interface: what the notifier firmware needs from a board. Every board under board/
 * (except host) implements it; board/common has the parts the emulated boards share (the
 * semihosting files, the wall clock over biff_board_millis(), the flash in a host file).
 * board/README.md is the porting guide.
 */
#ifndef BIFF_BOARD_H
#define BIFF_BOARD_H

#include <stddef.h>
#include <stdint.h>

/** Bring up clocks, the console UART and the millisecond tick. */
void biff_board_init(void);

/** Write bytes to the console UART (blocking; the UART is fast next to everything else). */
void biff_board_console_write(const char *s, size_t len);

/** Milliseconds since start-up. */
uint32_t biff_board_millis(void);

/** Sleep until something may have happened: at most until the next millisecond tick. */
void biff_board_idle(void);

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

/** A fast-running counter of the board (SysTick, mtime), for the emulator's stand-in entropy
 *  only (board/common/src/insecure_rng.c). */
uint32_t biff_board_tick_phase(void);

/** Seconds since 1970 as the board believes it (whatever biff_board_set_time() said last,
 *  advanced by the millisecond tick); counts from 0 until something sets it. */
unsigned long biff_board_time(void);

/** Drive the user LEDs (bit 0 = the mail LED, bit 1 = the network LED). */
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

/** The board's semihosting trap (ARM: BKPT 0xAB; RISC-V: the slli/ebreak/srai sequence):
 *  operation op with its parameter block, the host's answer. board/common builds the calls
 *  above on it. */
int biff_board_semihost(int op, void *arg);

#endif

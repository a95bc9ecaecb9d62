/* mbedTLS platform choices for the MCU boards (mps2-an385, qemu-virt-rv32): no OS, a fixed pool. */
#ifndef BIFF_MBEDTLS_BOARD_H
#define BIFF_MBEDTLS_BOARD_H

/* No OS entropy: the board supplies mbedtls_hardware_poll(). QEMU's is not a product's source. */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT

/* Time comes from the board (SysTick + SNTP); mbedtls_ms_time() is the board's. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_MS_TIME_ALT
/* newlib's gmtime() allocates its result through _REENT (malloc): the board converts itself. */
#define MBEDTLS_PLATFORM_GMTIME_R_ALT

/* All mbedTLS allocations come from one fixed pool handed over at start-up. */
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_MEMORY_DEBUG /* peak use of the pool is reported on the UART */

/* 4 KB records in, which keeps the RAM budget; servers that ignore max_fragment_length and
 * send 16 KB records fail the handshake with a clear error (documented in the README). */
#define MBEDTLS_SSL_IN_CONTENT_LEN  4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048

/* One key slot per live TLS session plus the handshake's ephemeral keys. */
#define MBEDTLS_PSA_KEY_SLOT_COUNT 8

/* Flash and RAM trims for a small part:
 * - mbedtls_strerror()'s text table is 13 KB of flash; errors are logged as codes instead
 *   (tls.c still calls mbedtls_strerror(), which then prints the hex code).
 * - AES tables in flash instead of 2.5 KB of RAM filled at start-up. */
/* MD5 serves only POP3 APOP, which this board leaves out (BIFF_POP3_NO_APOP): about 2 KB. */
#undef MBEDTLS_MD5_C

#undef MBEDTLS_ERROR_C
#define MBEDTLS_ERROR_STRERROR_DUMMY
#define MBEDTLS_AES_ROM_TABLES

#endif

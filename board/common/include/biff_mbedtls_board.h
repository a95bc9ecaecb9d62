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

/* All mbedTLS allocations come from one fixed pool that the firmware hands to
 * biff_tls_heap_use_pool() (components/tls): counted, so running out of it is reported as that. */

/* Incoming records: BIFF_TLS_IN_RECORD of the board's settings (biff_settings.h), 16 KB by
 * default, what every server may send (many provider front ends ignore max_fragment_length).
 * 4096 is the small build, for small chains on servers that honour max_fragment_length: mbedTLS
 * reassembles a handshake message in this buffer, so no Certificate message over it can be
 * taken, split or not. That build also offers TLS 1.3 record_size_limit (RFC 8449). */
#include "biff_settings.h"
#define MBEDTLS_SSL_IN_CONTENT_LEN  BIFF_TLS_IN_RECORD
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048
#if BIFF_TLS_IN_RECORD < 16384
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT
#endif

/* One key slot per live TLS session plus the handshake's ephemeral keys. */
#define MBEDTLS_PSA_KEY_SLOT_COUNT 8

/* Flash and RAM trims for a small part:
 * - mbedtls_strerror()'s text table is 13 KB of flash: without it tls.c reports the error code
 *   in hex and the handshake step.
 * - AES tables in flash instead of 2.5 KB of RAM filled at start-up. */
/* MD5 serves only POP3 APOP, which this board leaves out (BIFF_POP3_NO_APOP): about 2 KB. */
#undef MBEDTLS_MD5_C

#undef MBEDTLS_ERROR_C
#define MBEDTLS_AES_ROM_TABLES

#endif

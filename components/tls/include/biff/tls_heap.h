/*
 * mbedTLS's memory, counted: every product hands mbedTLS its allocator through here, so that a
 * handshake that ran out of memory is reported as that and not as the error mbedTLS makes of it
 * (a chain whose signature could not be checked looks untrusted).
 *
 * Two backends: a fixed pool (the MCU; first fit, freed blocks merged with their neighbours) or
 * the C library's calloc with an optional limit (Linux). Not thread-safe: one thread uses TLS.
 */
#ifndef BIFF_TLS_HEAP_H
#define BIFF_TLS_HEAP_H

#include <stddef.h>
#include <stdint.h>

/** mbedTLS allocates from buf (len bytes, caller-owned, never freed). Call before any TLS use. */
void biff_tls_heap_use_pool(void *buf, size_t len);

/** mbedTLS allocates with calloc(); limit > 0 refuses what would put more than limit in use. */
void biff_tls_heap_use_system(size_t limit);

/** Bytes in use now (pool: with block headers; system: as requested). */
size_t biff_tls_heap_current(void);

/** Most bytes in use since the last biff_tls_heap_reset_peak(). */
size_t biff_tls_heap_peak(void);

/** Start a new peak measurement from what is in use now. */
void biff_tls_heap_reset_peak(void);

/** Allocations refused so far (the pool or the limit was exhausted). */
uint32_t biff_tls_heap_failures(void);

/** The pool's size or the limit; 0 for calloc without a limit. */
size_t biff_tls_heap_capacity(void);

/** 1 when mbedTLS's allocations go through here; 0 with a system mbedTLS built without
 * MBEDTLS_PLATFORM_MEMORY, whose allocations cannot be counted. */
int biff_tls_heap_counting(void);

#endif

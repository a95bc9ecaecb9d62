/* Counting allocator for mbedTLS: the peak heap of a TLS connection, measured, not guessed. */
#ifndef TINYBIFF_HEAPSTAT_H
#define TINYBIFF_HEAPSTAT_H

#include <stddef.h>

/** Route mbedTLS's calloc/free through the counter (call before any mbedTLS allocation). */
void heapstat_install(void);

/** 1 when mbedTLS lets its allocations be counted (MBEDTLS_PLATFORM_MEMORY), else 0. */
int heapstat_available(void);

/** Forget the peak so far (the current use stays counted). */
void heapstat_reset_peak(void);

/** Largest number of bytes mbedTLS held at once since the last reset. */
size_t heapstat_peak(void);

/** Bytes mbedTLS holds now (0 after every connection is freed: a leak check). */
size_t heapstat_current(void);

#endif

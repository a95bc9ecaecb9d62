#include "heapstat.h"

#include <stdint.h>
#include <stdlib.h>

#include "mbedtls/platform.h"

/* Each block carries its size in front; max_align_t keeps the payload aligned. */
typedef union {
    size_t size;
    max_align_t align;
} header;

static size_t current, peak;

static void *count_calloc(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - sizeof(header)) / size) return NULL;
    size_t bytes = n * size;
    header *h = calloc(1, sizeof(header) + bytes);
    if (!h) return NULL;
    h->size = bytes;
    current += bytes;
    if (current > peak) peak = current;
    return h + 1;
}

static void count_free(void *p)
{
    if (!p) return;
    header *h = (header *)p - 1;
    current -= h->size;
    free(h);
}

void heapstat_install(void)
{
#if defined(MBEDTLS_PLATFORM_MEMORY)
    mbedtls_platform_set_calloc_free(count_calloc, count_free);
#else
    /* A system mbedTLS built without MBEDTLS_PLATFORM_MEMORY (the default) cannot be counted. */
    (void)count_calloc;
    (void)count_free;
#endif
}

int heapstat_available(void)
{
#if defined(MBEDTLS_PLATFORM_MEMORY)
    return 1;
#else
    return 0;
#endif
}

void heapstat_reset_peak(void)
{
    peak = current;
}

size_t heapstat_peak(void)
{
    return peak;
}

size_t heapstat_current(void)
{
    return current;
}

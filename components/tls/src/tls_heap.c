#include "biff/tls_heap.h"

#include <stdlib.h>
#include <string.h>

#include "mbedtls/platform.h"

/* Pool blocks: a header with the block's whole size; a free block keeps the next free block's
 * address after it. The free list is in address order, so neighbours merge on free. */
#define ALIGN 8u
typedef struct free_blk {
    size_t size;
    struct free_blk *next;
} free_blk;
#define HDR       ((sizeof(size_t) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define MIN_BLOCK ((sizeof(free_blk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static struct {
    free_blk *free;
    size_t capacity, current, peak;
    uint32_t failures;
} h;

static void count(size_t add)
{
    h.current += add;
    if (h.current > h.peak) h.peak = h.current;
}

static void *pool_calloc(size_t n, size_t size)
{
    if (size && n > (h.capacity ? h.capacity : 1) / size) {
        h.failures++;
        return NULL;
    }
    size_t need = (n * size + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < MIN_BLOCK) need = MIN_BLOCK;
    for (free_blk **pp = &h.free; *pp; pp = &(*pp)->next) {
        free_blk *b = *pp;
        if (b->size < need) continue;
        if (b->size - need >= MIN_BLOCK) {
            free_blk *rest = (free_blk *)((unsigned char *)b + need);
            rest->size = b->size - need;
            rest->next = b->next;
            *pp = rest;
            b->size = need;
        } else {
            *pp = b->next;
        }
        count(b->size);
        void *p = (unsigned char *)b + HDR;
        memset(p, 0, b->size - HDR);
        return p;
    }
    h.failures++;
    return NULL;
}

static void pool_free(void *p)
{
    if (!p) return;
    free_blk *b = (free_blk *)((unsigned char *)p - HDR), **pp = &h.free, *prev = NULL;
    h.current -= b->size;
    while (*pp && *pp < b) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    b->next = *pp;
    *pp = b;
    if (b->next && (unsigned char *)b + b->size == (unsigned char *)b->next) {
        b->size += b->next->size;
        b->next = b->next->next;
    }
    if (prev && (unsigned char *)prev + prev->size == (unsigned char *)b) {
        prev->size += b->size;
        prev->next = b->next;
    }
}

void biff_tls_heap_use_pool(void *buf, size_t len)
{
    uintptr_t a = ((uintptr_t)buf + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    size_t skip = (size_t)(a - (uintptr_t)buf);
    memset(&h, 0, sizeof h);
    if (len < skip + MIN_BLOCK) return; /* every allocation fails, and is counted */
    h.capacity = (len - skip) & ~(size_t)(ALIGN - 1);
    h.free = (free_blk *)a;
    h.free->size = h.capacity;
    h.free->next = NULL;
#if defined(MBEDTLS_PLATFORM_MEMORY)
    mbedtls_platform_set_calloc_free(pool_calloc, pool_free);
#else
    (void)pool_calloc;
    (void)pool_free;
#endif
}

/* ---- the C library's heap, each block with its size in front (max_align_t keeps alignment) */
typedef union {
    size_t size;
    max_align_t align;
} sys_hdr;

static void *sys_calloc(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - sizeof(sys_hdr)) / size) {
        h.failures++;
        return NULL;
    }
    size_t bytes = n * size;
    sys_hdr *b = NULL;
    if (!h.capacity || bytes <= h.capacity - h.current) b = calloc(1, sizeof(sys_hdr) + bytes);
    if (!b) {
        h.failures++;
        return NULL;
    }
    b->size = bytes;
    count(bytes);
    return b + 1;
}

static void sys_free(void *p)
{
    if (!p) return;
    sys_hdr *b = (sys_hdr *)p - 1;
    h.current -= b->size;
    free(b);
}

void biff_tls_heap_use_system(size_t limit)
{
    memset(&h, 0, sizeof h);
    h.capacity = limit;
#if defined(MBEDTLS_PLATFORM_MEMORY)
    mbedtls_platform_set_calloc_free(sys_calloc, sys_free);
#else
    (void)sys_calloc;
    (void)sys_free;
#endif
}

/* A system mbedTLS built without MBEDTLS_PLATFORM_MEMORY (its default config) allocates with the
 * C library directly: nothing can be counted or limited, and the figures above stay 0. */
int biff_tls_heap_counting(void)
{
#if defined(MBEDTLS_PLATFORM_MEMORY)
    return 1;
#else
    return 0;
#endif
}

size_t biff_tls_heap_current(void)
{
    return h.current;
}
size_t biff_tls_heap_peak(void)
{
    return h.peak;
}
void biff_tls_heap_reset_peak(void)
{
    h.peak = h.current;
}
uint32_t biff_tls_heap_failures(void)
{
    return h.failures;
}
size_t biff_tls_heap_capacity(void)
{
    return h.capacity;
}

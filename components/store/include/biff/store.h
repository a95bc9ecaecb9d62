/* Power-loss-safe key/value store on NOR flash (log-structured; ideas from Zephyr NVS and
 * littlefs metadata pairs, own code).
 *
 * Guarantee: a power cut at any point leaves every key at its old or its new value. Every write
 * that returned BIFF_STORE_OK survives; the write that was in flight may or may not.
 *
 * On-flash format (version 1, all integers little-endian, so host and MCU images are the same):
 *   The region is a ring of sectors. Each used sector starts with a header
 *     magic "BFST" u32 | layout u32 (format version, program unit, sector size) |
 *     sector sequence u32 | erase count u32 | CRC-32 of the previous 16 bytes
 *   Record data grows up from the header; record descriptors (16 bytes, or one program unit if
 *   larger) grow down from the sector end:
 *     key u16 | len u16 (0xFFFF = deleted) | record sequence u32 | data CRC-32 u32 |
 *     data offset u16 | descriptor check u16 (low half of CRC-32 of the other 14 bytes)
 *   The data CRC covers key, len and sequence and the data, not the position, so garbage
 *   collection can move data. A record is committed by its descriptor, programmed after its
 *   data; a torn descriptor ends that sector's list and the sector takes no more records.
 * Which sector is written: the valid header with the highest sector sequence ("active"). The
 *   sector after it in the ring is the spare; its contents are ignored. When the active sector
 *   is full, garbage collection erases the spare, copies the live records of the sector after
 *   the spare (the oldest) into it, then programs its header: that header is the commit point.
 *   A cut before it leaves the old state visible, a cut after it the new one.
 * Reading a key returns the valid record with the highest record sequence (32-bit: at one write
 *   a second it lasts 136 years; there is no wrap handling).
 * Wear: every garbage collection erases exactly the next sector of the ring, so erase counts
 *   stay within one of each other; live records are copied along the ring.
 * Space: a value write keeps one descriptor slot free in the active sector, so a delete always
 *   finds room after at most one garbage collection. Each sector can hold at most
 *   sector_size - header - descriptor bytes of live data.
 *
 * Limits: 2..32 sectors of at most 64 KiB; program unit 1..32 bytes; keys 0..0xFFFE; values up
 * to BIFF_STORE_MAX_VALUE bytes (and no more than fit an empty sector with its reserve).
 * RAM: sizeof(biff_store) (40 bytes on Cortex-M) plus ~400 bytes of stack; no malloc.
 */
#ifndef BIFF_STORE_H
#define BIFF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "biff/flash.h"

#define BIFF_STORE_MAX_VALUE      256u
#define BIFF_STORE_FORMAT_VERSION 1u
#define BIFF_STORE_MAX_SECTORS    32u

typedef enum {
    BIFF_STORE_OK = 0,
    BIFF_STORE_E_NOT_FOUND, /* key never written, or deleted */
    BIFF_STORE_E_FULL,      /* the value does not fit even after garbage collection; old values stay */
    BIFF_STORE_E_TOO_BIG,   /* value longer than the limit, or read buffer too small (*len = size) */
    BIFF_STORE_E_ARG,       /* bad argument or unusable flash geometry */
    BIFF_STORE_E_IO,        /* the flash reported an error (or lost power); remounts on next call */
    BIFF_STORE_E_CORRUPT,   /* the value failed its CRC twice while being read */
    BIFF_STORE_E_VERSION,   /* formatted by another format version or geometry; untouched */
} biff_store_status;

/* Caller-allocated; all fields private. */
typedef struct {
    const biff_flash *flash;
    uint32_t next_seq;     /* record sequence for the next write */
    uint32_t active_seq;   /* sector sequence of the active sector */
    uint32_t active_erase; /* erase count of the active sector */
    uint32_t valid;        /* bit i: sector i has a valid header */
    uint32_t gc_count;     /* garbage collections since mount */
    uint32_t data_wra;     /* next free data offset in the active sector */
    uint32_t ate_wra;      /* offset of the lowest used descriptor slot (sector size if none) */
    uint16_t active;
    uint8_t hdr_size;
    uint8_t ate_size;
    uint8_t closed;     /* active sector takes no more records (torn descriptor or write error) */
    uint8_t need_mount; /* RAM state may disagree with flash after an error */
    uint8_t gc_idle;    /* garbage collections since the last record write */
} biff_store;

typedef struct {
    uint32_t sector_count;
    uint32_t sector_size;
    uint32_t active_sector;
    uint32_t active_erase_count; /* erases of the active sector, from its header */
    uint32_t free_bytes;         /* room left in the active sector */
    uint32_t next_seq;
    uint32_t gc_count;
} biff_store_stats;

/** Mount the store on flash. A blank or unrecognisable region is formatted (one sector is
 *  erased); sectors with bad headers are ignored. BIFF_STORE_E_VERSION if any sector carries a
 *  valid header of another format version/geometry: nothing is written, the caller may
 *  biff_store_format() after saying so. Reads only, unless it formats. */
biff_store_status biff_store_mount(biff_store *st, const biff_flash *flash);

/** Erase the whole region and mount it empty. */
biff_store_status biff_store_format(biff_store *st, const biff_flash *flash);

/** Copy the value of key into buf (capacity cap); *len gets its length. If cap is too small,
 *  BIFF_STORE_E_TOO_BIG and *len is the size needed. */
biff_store_status biff_store_read(biff_store *st, uint16_t key, void *buf, size_t cap, size_t *len);

/** Set key to data[0..len). A value equal to the stored one is not rewritten. */
biff_store_status biff_store_write(biff_store *st, uint16_t key, const void *data, size_t len);

/** Remove key (no-op if absent). Works when the store is full. */
biff_store_status biff_store_delete(biff_store *st, uint16_t key);

/** Fill *out with counters for logs and the status page. */
biff_store_status biff_store_stats_get(biff_store *st, biff_store_stats *out);

/** CRC-32 (IEEE, reflected, as zlib), continued from crc (start with 0). */
uint32_t biff_store_crc32(uint32_t crc, const void *data, size_t len);

#endif

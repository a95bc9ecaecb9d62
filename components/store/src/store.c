/* Log-structured key/value store; the on-flash format is described in biff/store.h. */
#include "biff/store.h"

#include <string.h>

#define MAGIC     0x54534642u /* "BFST" read as a little-endian u32 */
#define HDR_BYTES 20u
#define ATE_BYTES 16u
#define TOMB      0xFFFFu
#define CHUNK     64u /* stack buffer for streaming data; a multiple of every program unit */

enum { HDR_NONE, HDR_VALID, HDR_OTHER, HDR_IO };
enum { ATE_EMPTY, ATE_VALID, ATE_BAD, ATE_IO };

typedef struct {
    uint32_t slot;  /* offset of the current descriptor */
    uint32_t floor; /* end of the data of the records walked so far */
    int end;        /* why the walk stopped */
    uint8_t a[ATE_BYTES];
} walk_t;

typedef struct {
    int found;
    uint32_t sec;
    uint8_t a[ATE_BYTES];
} loc_t;

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static uint32_t pad(const biff_store *st, uint32_t n)
{
    uint32_t w = st->flash->program_unit;
    return (n + w - 1u) & ~(w - 1u);
}

static uint32_t data_len(const uint8_t *a)
{
    uint32_t len = get16(a + 2);
    return len == TOMB ? 0 : len;
}

static uint32_t layout(const biff_store *st)
{
    return BIFF_STORE_FORMAT_VERSION | st->flash->program_unit << 8 | (st->flash->sector_size - 1u) << 16;
}

static int visible(const biff_store *st, uint32_t sec)
{
    return (st->valid >> sec & 1u) && sec != (st->active + 1u) % st->flash->sector_count;
}

static biff_store_status fl_read(biff_store *st, uint32_t sec, uint32_t off, void *buf, uint32_t len)
{
    const biff_flash *f = st->flash;
    if (f->read(f->ctx, sec * f->sector_size + off, buf, len) == BIFF_FLASH_OK) return BIFF_STORE_OK;
    st->need_mount = 1;
    return BIFF_STORE_E_IO;
}

static biff_store_status fl_prog(biff_store *st, uint32_t sec, uint32_t off, const void *buf, uint32_t len)
{
    const biff_flash *f = st->flash;
    if (f->program(f->ctx, sec * f->sector_size + off, buf, len) == BIFF_FLASH_OK) return BIFF_STORE_OK;
    st->need_mount = 1; /* the part may hold more or less than we think */
    return BIFF_STORE_E_IO;
}

/* Header of sector sec. A failed check is read twice so one flipped bit does not hide a sector. */
static int read_hdr(biff_store *st, uint32_t sec, uint32_t *seq, uint32_t *erase)
{
    uint8_t h[HDR_BYTES];
    for (int tries = 0; tries < 2; tries++) {
        if (fl_read(st, sec, 0, h, HDR_BYTES)) return HDR_IO;
        if (get32(h) == MAGIC && get32(h + 16) == biff_store_crc32(0, h, 16)) {
            *seq = get32(h + 8);
            *erase = get32(h + 12);
            return get32(h + 4) == layout(st) ? HDR_VALID : HDR_OTHER;
        }
    }
    return HDR_NONE;
}

static int read_ate(biff_store *st, uint32_t sec, uint32_t slot, uint8_t *a)
{
    for (int tries = 0; tries < 2; tries++) {
        uint8_t all = 0xFF;
        if (fl_read(st, sec, slot, a, ATE_BYTES)) return ATE_IO;
        for (uint32_t i = 0; i < ATE_BYTES; i++) all &= a[i];
        if (all == 0xFF) return ATE_EMPTY;
        if ((biff_store_crc32(0, a, 14) & 0xFFFFu) == get16(a + 14)) return ATE_VALID;
    }
    return ATE_BAD;
}

static void walk_init(const biff_store *st, walk_t *w)
{
    w->slot = st->flash->sector_size;
    w->floor = st->hdr_size;
    w->end = ATE_BAD;
}

/* Next committed descriptor of sec, in write order. The walk stops at the first empty or torn
 * slot, and at anything whose data would not lie between the previous data and its own slot:
 * that is how a legitimate list looks, so data bytes are never taken for descriptors. */
static int walk_next(biff_store *st, uint32_t sec, walk_t *w)
{
    uint32_t slot = w->slot - st->ate_size;
    if (w->slot < (uint32_t)st->hdr_size + st->ate_size || slot < w->floor) return 0; /* sector full */
    w->end = read_ate(st, sec, slot, w->a);
    if (w->end != ATE_VALID) return 0;
    uint32_t len = get16(w->a + 2), off = get16(w->a + 12);
    uint32_t end = off + (len == TOMB ? 0 : pad(st, len));
    if ((len != TOMB && len > BIFF_STORE_MAX_VALUE) || get16(w->a) == TOMB || off < w->floor ||
        get32(w->a + 4) == UINT32_MAX || (off & (st->flash->program_unit - 1u)) || end > slot) {
        w->end = ATE_BAD;
        return 0;
    }
    w->floor = end;
    w->slot = slot;
    return 1;
}

enum { S_CHECK, S_READ, S_SAME, S_COPY };

/* Stream the data of record a (in sector sec) through a small buffer, checking its CRC and,
 * by op, copying it to out, comparing it with cmp, or programming it at sector `to`, offset dw.
 * Reads are tried twice before a record is called bad, so one flipped bit costs nothing. */
static biff_store_status stream(biff_store *st, uint32_t sec, const uint8_t *a, int op, uint8_t *out,
                                const uint8_t *cmp, uint32_t to, uint32_t dw)
{
    uint8_t buf[CHUNK];
    uint32_t len = data_len(a);
    for (int tries = op == S_COPY ? 1 : 0; tries < 2; tries++) {
        uint32_t crc = biff_store_crc32(0, a, 8);
        for (uint32_t done = 0, n; done < len; done += n) {
            n = len - done < CHUNK ? len - done : CHUNK;
            if (fl_read(st, sec, get16(a + 12) + done, buf, n)) return BIFF_STORE_E_IO;
            crc = biff_store_crc32(crc, buf, n);
            if (op == S_READ) memcpy(out + done, buf, n);
            if (op == S_SAME && memcmp(cmp + done, buf, n)) return BIFF_STORE_E_CORRUPT;
            if (op == S_COPY) {
                memset(buf + n, 0xFF, pad(st, n) - n);
                if (fl_prog(st, to, dw + done, buf, pad(st, n))) return BIFF_STORE_E_IO;
            }
        }
        if (crc == get32(a + 8)) return BIFF_STORE_OK;
    }
    return BIFF_STORE_E_CORRUPT;
}

/* The valid record of key with the highest sequence, over all visible sectors. */
static biff_store_status find(biff_store *st, uint32_t key, loc_t *best)
{
    walk_t w;
    best->found = 0;
    for (uint32_t sec = 0; sec < st->flash->sector_count; sec++) {
        if (!visible(st, sec)) continue;
        walk_init(st, &w);
        while (walk_next(st, sec, &w)) {
            if (get16(w.a) != key || (best->found && get32(w.a + 4) <= get32(best->a + 4))) continue;
            biff_store_status s = stream(st, sec, w.a, S_CHECK, NULL, NULL, 0, 0);
            if (s == BIFF_STORE_E_IO) return s;
            if (s == BIFF_STORE_OK) {
                best->found = 1;
                best->sec = sec;
                memcpy(best->a, w.a, ATE_BYTES);
            }
        }
        if (w.end == ATE_IO) return BIFF_STORE_E_IO;
    }
    return BIFF_STORE_OK;
}

static biff_store_status prog_slot(biff_store *st, uint32_t sec, uint32_t off, const uint8_t *src, uint32_t len,
                                   uint32_t size)
{
    uint8_t buf[32];
    memset(buf, 0xFF, sizeof buf);
    memcpy(buf, src, len);
    return fl_prog(st, sec, off, buf, size);
}

static void seal_ate(uint8_t *a, uint32_t off)
{
    put16(a + 12, off);
    put16(a + 14, biff_store_crc32(0, a, 14));
}

static biff_store_status write_hdr(biff_store *st, uint32_t sec, uint32_t seq, uint32_t erase)
{
    uint8_t h[HDR_BYTES];
    put32(h, MAGIC);
    put32(h + 4, layout(st));
    put32(h + 8, seq);
    put32(h + 12, erase);
    put32(h + 16, biff_store_crc32(0, h, 16));
    return prog_slot(st, sec, 0, h, HDR_BYTES, st->hdr_size);
}

/* Copy one record into the spare being filled; the CRC is checked on the bytes copied, so a
 * read that went bad meanwhile aborts the collection instead of committing a bad copy. */
static biff_store_status copy_rec(biff_store *st, uint32_t from, uint32_t to, uint8_t *a, uint32_t *dw, uint32_t *aw)
{
    uint32_t len = data_len(a);
    if (*dw + pad(st, len) + st->ate_size > *aw)
        return BIFF_STORE_E_CORRUPT; /* cannot happen: a spare holds what one sector held */
    if (stream(st, from, a, S_COPY, NULL, NULL, to, *dw) != BIFF_STORE_OK) return BIFF_STORE_E_IO;
    seal_ate(a, *dw);
    *dw += pad(st, len);
    *aw -= st->ate_size;
    return prog_slot(st, to, *aw, a, ATE_BYTES, st->ate_size);
}

/* Erase the spare, copy the oldest sector's live records into it, commit it with its header. */
static biff_store_status gc(biff_store *st)
{
    const biff_flash *f = st->flash;
    uint32_t e = (st->active + 1u) % f->sector_count, c = (e + 1u) % f->sector_count;
    uint32_t seq, erase, dw = st->hdr_size, aw = f->sector_size;
    biff_store_status s;
    int h = read_hdr(st, e, &seq, &erase);
    if (h == HDR_IO) return BIFF_STORE_E_IO;
    erase = (h == HDR_VALID ? erase : st->active_erase) + 1u;
    st->valid &= ~(1u << e);
    if (f->erase(f->ctx, e) != BIFF_FLASH_OK) {
        st->need_mount = 1;
        return BIFF_STORE_E_IO;
    }
    if (visible(st, c)) {
        walk_t w;
        loc_t l;
        walk_init(st, &w);
        while (walk_next(st, c, &w)) {
            /* Tombstones are dropped: every older record of their key is in this sector. */
            if (get16(w.a + 2) == TOMB) continue;
            if ((s = find(st, get16(w.a), &l)) != BIFF_STORE_OK) return s;
            if (!l.found || l.sec != c || get16(l.a + 12) != get16(w.a + 12)) continue;
            if ((s = copy_rec(st, c, e, w.a, &dw, &aw)) != BIFF_STORE_OK) return s;
        }
        if (w.end == ATE_IO) return BIFF_STORE_E_IO;
    }
    if ((s = write_hdr(st, e, st->active_seq + 1u, erase)) != BIFF_STORE_OK) return s;
    st->valid |= 1u << e;
    st->active = (uint16_t)e;
    st->active_seq++;
    st->active_erase = erase;
    st->data_wra = dw;
    st->ate_wra = aw;
    st->closed = 0;
    st->gc_idle++;
    st->gc_count++;
    return BIFF_STORE_OK;
}

static biff_store_status do_mount(biff_store *st)
{
    const biff_flash *f = st->flash;
    uint32_t n = f->sector_count, seq, erase, best_seq = 0;
    int best = -1;
    walk_t w;
    st->need_mount = 1;
    st->valid = 0;
    st->gc_idle = 0;
    for (uint32_t sec = 0; sec < n; sec++) {
        int h = read_hdr(st, sec, &seq, &erase);
        if (h == HDR_IO) return BIFF_STORE_E_IO;
        if (h == HDR_OTHER) return BIFF_STORE_E_VERSION;
        if (h == HDR_VALID) {
            st->valid |= 1u << sec;
            if (best < 0 || seq > best_seq) {
                best = (int)sec;
                best_seq = seq;
                st->active_erase = erase;
            }
        }
    }
    if (best < 0) { /* blank or unrecognisable: start the ring at sector 0 */
        if (f->erase(f->ctx, 0) != BIFF_FLASH_OK || write_hdr(st, 0, 1, 1) != BIFF_STORE_OK) return BIFF_STORE_E_IO;
        st->valid = 1;
        best = 0;
        best_seq = 1;
        st->active_erase = 1;
    }
    st->active = (uint16_t)best;
    st->active_seq = best_seq;
    st->next_seq = 1;
    for (uint32_t sec = 0; sec < n; sec++) {
        if (!visible(st, sec)) continue;
        walk_init(st, &w);
        while (walk_next(st, sec, &w))
            if (get32(w.a + 4) >= st->next_seq) st->next_seq = get32(w.a + 4) + 1u;
        if (w.end == ATE_IO) return BIFF_STORE_E_IO;
        if (sec == (uint32_t)best) {
            st->closed = w.end != ATE_EMPTY;
            st->ate_wra = w.slot;
            st->data_wra = w.floor;
        }
    }
    if (!st->closed) {
        /* Data of an uncommitted write may sit above the last record: never program over it. */
        uint8_t buf[CHUNK];
        uint32_t top = st->ate_wra - st->ate_size;
        for (uint32_t off = st->data_wra, k; off < top; off += k) {
            k = top - off < CHUNK ? top - off : CHUNK;
            if (fl_read(st, (uint32_t)best, off, buf, k)) return BIFF_STORE_E_IO;
            for (uint32_t i = 0; i < k; i++)
                if (buf[i] != 0xFF) st->data_wra = off + i + 1u;
        }
        st->data_wra = pad(st, st->data_wra);
    }
    st->need_mount = 0;
    return BIFF_STORE_OK;
}

biff_store_status biff_store_mount(biff_store *st, const biff_flash *flash)
{
    if (!st || !flash) return BIFF_STORE_E_ARG;
    uint32_t w = flash->program_unit, size = flash->sector_size;
    memset(st, 0, sizeof *st);
    st->flash = flash;
    st->ate_size = (uint8_t)(w > ATE_BYTES ? w : ATE_BYTES);
    st->hdr_size = (uint8_t)pad(st, HDR_BYTES);
    if (flash->sector_count < 2 || flash->sector_count > BIFF_STORE_MAX_SECTORS || w == 0 || w > 32 || (w & (w - 1u)) ||
        size % w || size > 65536u || size < st->hdr_size + 4u * st->ate_size) {
        st->flash = NULL;
        return BIFF_STORE_E_ARG;
    }
    return do_mount(st);
}

biff_store_status biff_store_format(biff_store *st, const biff_flash *flash)
{
    if (!flash) return BIFF_STORE_E_ARG;
    for (uint32_t sec = 0; sec < flash->sector_count; sec++)
        if (flash->erase(flash->ctx, sec) != BIFF_FLASH_OK) return BIFF_STORE_E_IO;
    return biff_store_mount(st, flash);
}

static biff_store_status begin(biff_store *st)
{
    if (!st || !st->flash) return BIFF_STORE_E_ARG;
    return st->need_mount ? do_mount(st) : BIFF_STORE_OK;
}

biff_store_status biff_store_read(biff_store *st, uint16_t key, void *buf, size_t cap, size_t *len)
{
    loc_t l;
    biff_store_status s = begin(st);
    if (s == BIFF_STORE_OK && (!len || (!buf && cap))) s = BIFF_STORE_E_ARG;
    if (s == BIFF_STORE_OK) s = find(st, key, &l);
    if (s != BIFF_STORE_OK) return s;
    if (!l.found || get16(l.a + 2) == TOMB) return BIFF_STORE_E_NOT_FOUND;
    *len = data_len(l.a);
    if (*len > cap) return BIFF_STORE_E_TOO_BIG;
    return stream(st, l.sec, l.a, S_READ, buf, NULL, 0, 0);
}

/* Is the stored record l equal to data[0..len)? (len TOMB: is it a tombstone?) */
static int unchanged(biff_store *st, const loc_t *l, const uint8_t *data, uint32_t len)
{
    if (!l->found) return len == TOMB;
    return get16(l->a + 2) == len && stream(st, l->sec, l->a, S_SAME, NULL, data, 0, 0) == BIFF_STORE_OK;
}

static biff_store_status put(biff_store *st, uint16_t key, const uint8_t *data, uint32_t len)
{
    loc_t l;
    uint8_t a[ATE_BYTES];
    biff_store_status s = begin(st);
    if (s != BIFF_STORE_OK) return s;
    uint32_t dl = len == TOMB ? 0 : pad(st, len), w = st->flash->program_unit;
    uint32_t reserve = len == TOMB ? 0 : st->ate_size; /* keep room for a later delete */
    if (key == TOMB || (len && len != TOMB && !data)) return BIFF_STORE_E_ARG;
    if ((len != TOMB && len > BIFF_STORE_MAX_VALUE) || st->hdr_size + dl + 2u * st->ate_size > st->flash->sector_size)
        return BIFF_STORE_E_TOO_BIG;
    if ((s = find(st, key, &l)) != BIFF_STORE_OK) return s;
    if (unchanged(st, &l, data, len)) return BIFF_STORE_OK;
    if (st->next_seq == UINT32_MAX) /* 2^32 - 1 writes: more than a lifetime */
        return BIFF_STORE_E_FULL;
    while (st->closed || st->data_wra + dl + st->ate_size + reserve > st->ate_wra) {
        /* Once every sector was collected with no write in between, nothing more can free up. */
        if (st->gc_idle >= st->flash->sector_count - 1u) return BIFF_STORE_E_FULL;
        if ((s = gc(st)) != BIFF_STORE_OK) return s;
    }
    uint32_t whole = len == TOMB ? 0 : len & ~(w - 1u);
    put16(a, key);
    put16(a + 2, len);
    put32(a + 4, st->next_seq);
    put32(a + 8, biff_store_crc32(biff_store_crc32(0, a, 8), data, len == TOMB ? 0 : len));
    seal_ate(a, st->data_wra);
    if (whole) s = fl_prog(st, st->active, st->data_wra, data, whole);
    if (s == BIFF_STORE_OK && dl > whole)
        s = prog_slot(st, st->active, st->data_wra + whole, data + whole, len - whole, w);
    if (s == BIFF_STORE_OK) s = prog_slot(st, st->active, st->ate_wra - st->ate_size, a, ATE_BYTES, st->ate_size);
    if (s != BIFF_STORE_OK) {
        st->closed = 1;
        return s;
    }
    st->data_wra += dl;
    st->ate_wra -= st->ate_size;
    st->next_seq++;
    st->gc_idle = 0;
    return BIFF_STORE_OK;
}

biff_store_status biff_store_write(biff_store *st, uint16_t key, const void *data, size_t len)
{
    if (len > BIFF_STORE_MAX_VALUE) return BIFF_STORE_E_TOO_BIG;
    return put(st, key, data, (uint32_t)len);
}

biff_store_status biff_store_delete(biff_store *st, uint16_t key)
{
    return put(st, key, NULL, TOMB);
}

biff_store_status biff_store_stats_get(biff_store *st, biff_store_stats *out)
{
    biff_store_status s = begin(st);
    if (s != BIFF_STORE_OK || !out) return s ? s : BIFF_STORE_E_ARG;
    out->sector_count = st->flash->sector_count;
    out->sector_size = st->flash->sector_size;
    out->active_sector = st->active;
    out->active_erase_count = st->active_erase;
    out->free_bytes =
        !st->closed && st->ate_wra >= st->data_wra + st->ate_size ? st->ate_wra - st->ate_size - st->data_wra : 0;
    out->next_seq = st->next_seq;
    out->gc_count = st->gc_count;
    return BIFF_STORE_OK;
}

/* Sync records over the store. Record layouts (little-endian):
 *   account list chunk c (4 + 4n bytes, n <= 63): version u8 (2) | 0xFFFFFF | id u32 [n], the
 *       ids of slots 63c..63c+n-1; format 1 was one bare record of <= 16 ids at 0x0F00
 *   folder (36 bytes): version u8 | last_error u8 | 0xFFFF | account_id u32 | folder_id u32 |
 *       uidvalidity u32 | uidnext_acked u32 | unseen u32 | last_success u32 | highestmodseq u64
 *   POP3 set (8 + 4n bytes): version u8 | 0xFF | count u16 | account_id u32 | digest u32 [count]
 */
#include "biff/sync.h"

#include <stddef.h>
#include <string.h>

#define REC_VERSION  1u
#define FOLDER_BYTES 36u
#define SET_SLOT     15u
#define SET_HDR      8u
#define LIST_VERSION 2u
#define LIST_CHUNKS  ((BIFF_SYNC_MAX_ACCOUNTS + BIFF_SYNC_LIST_IDS - 1u) / BIFF_SYNC_LIST_IDS)
#define LIST_KEY(c)  ((uint16_t)(BIFF_SYNC_KEY_ACCOUNTS + 1u + (c)))

/* The u32 fields of a folder record, in record order after the 4-byte head. */
static const uint8_t folder_u32[] = {
    offsetof(biff_sync_folder, account_id),  offsetof(biff_sync_folder, folder_id),
    offsetof(biff_sync_folder, uidvalidity), offsetof(biff_sync_folder, uidnext_acked),
    offsetof(biff_sync_folder, unseen),      offsetof(biff_sync_folder, last_success),
};

_Static_assert(BIFF_SYNC_MAX_ACCOUNTS % BIFF_SYNC_LIST_IDS == 0, "whole list chunks");
_Static_assert(4u + 4u * BIFF_SYNC_LIST_IDS <= BIFF_STORE_MAX_VALUE, "list chunk too big");
_Static_assert(LIST_KEY(LIST_CHUNKS) <= BIFF_SYNC_KEY(0, 0), "list chunks overlap slot keys");
_Static_assert(BIFF_SYNC_KEY(BIFF_SYNC_MAX_ACCOUNTS, 0) <= BIFF_SYNC_KEY_APP(0), "slots reach the APP keys");
_Static_assert(BIFF_SYNC_POP3_MAX <= (BIFF_STORE_MAX_VALUE - SET_HDR) / 4u, "UIDL set too big");

static uint32_t get_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    while (n--) v = v << 8 | p[n];
    return v;
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8) p[i] = (uint8_t)v;
}

/* Store outcomes that mean "nothing usable here" start fresh; the rest is a store failure. */
static biff_sync_status from_store(biff_store_status s)
{
    if (s == BIFF_STORE_OK) return BIFF_SYNC_OK;
    if (s == BIFF_STORE_E_NOT_FOUND || s == BIFF_STORE_E_CORRUPT || s == BIFF_STORE_E_TOO_BIG) return BIFF_SYNC_FRESH;
    return BIFF_SYNC_E_STORE;
}

/* Read a record of this module: version byte first, account id at offset 4. */
static biff_sync_status load(biff_store *st, uint16_t key, uint8_t *b, size_t cap, size_t *len, uint32_t account_id)
{
    biff_sync_status s = from_store(biff_store_read(st, key, b, cap, len));
    if (s == BIFF_SYNC_OK && (*len < 8 || b[0] != REC_VERSION || get_le(b + 4, 4) != account_id)) s = BIFF_SYNC_FRESH;
    return s;
}

static biff_sync_status save(biff_store *st, uint16_t key, const uint8_t *b, size_t len)
{
    return biff_store_write(st, key, b, len) == BIFF_STORE_OK ? BIFF_SYNC_OK : BIFF_SYNC_E_STORE;
}

uint32_t biff_sync_id(const void *s, size_t len)
{
    return biff_store_crc32(0, s, len);
}

/* The ids of list chunk c, at b + 4 (b holds BIFF_STORE_MAX_VALUE bytes): how many there are
 * (0 if none or unusable), -1 if the store failed. Chunk 0 falls back to the format 1 list. */
static int list_read(biff_store *st, unsigned c, uint8_t *b)
{
    size_t len = 0;
    biff_sync_status s = from_store(biff_store_read(st, LIST_KEY(c), b, BIFF_STORE_MAX_VALUE, &len));
    if (s == BIFF_SYNC_FRESH && c == 0) {
        len = 0;
        s = from_store(biff_store_read(st, BIFF_SYNC_KEY_ACCOUNTS, b + 4, 64, &len));
        b[0] = LIST_VERSION;
        len += 4;
    }
    if (s == BIFF_SYNC_E_STORE) return -1;
    return s == BIFF_SYNC_OK && b[0] == LIST_VERSION && len >= 4u && len % 4u == 0 ? (int)(len / 4u) - 1 : 0;
}

/* Every chunk is visited (a few reads), so chunks and records left by a bind cut short in any
 * order are found and cleaned up by the next one. */
biff_sync_status biff_sync_bind(biff_store *st, const uint32_t *ids, unsigned n, uint32_t *fresh)
{
    uint8_t b[BIFF_STORE_MAX_VALUE];
    biff_sync_status r = BIFF_SYNC_OK;
    if (n > BIFF_SYNC_MAX_ACCOUNTS || (n && !ids) || !fresh) return BIFF_SYNC_E_ARG;
    memset(fresh, 0, 4u * BIFF_SYNC_FRESH_WORDS(n));
    for (unsigned c = 0; c < LIST_CHUNKS; c++) {
        int old = list_read(st, c, b);
        unsigned i0 = c * BIFF_SYNC_LIST_IDS, cnt = n > i0 ? n - i0 : 0;
        if (old < 0) return BIFF_SYNC_E_STORE;
        if (cnt > BIFF_SYNC_LIST_IDS) cnt = BIFF_SYNC_LIST_IDS;
        for (unsigned k = 0, i = i0; k < BIFF_SYNC_LIST_IDS; k++, i++) {
            uint8_t *p = b + 4u + 4u * k;
            int was = (int)k < old;
            if (k < cnt && was && get_le(p, 4) == ids[i]) continue;
            if (k < cnt) {
                fresh[i / 32u] |= 1u << (i % 32u);
                r = BIFF_SYNC_FRESH;
                put_le(p, ids[i], 4);
            }
            /* Drop what an old account left behind; ids in records guard against the rest. */
            for (unsigned f = 0; was && f <= SET_SLOT; f++)
                if (biff_store_delete(st, BIFF_SYNC_KEY(i, f)) != BIFF_STORE_OK) return BIFF_SYNC_E_STORE;
        }
        put_le(b, LIST_VERSION | 0xFFFFFF00u, 4);
        if (cnt ? biff_store_write(st, LIST_KEY(c), b, 4u + 4u * cnt) != BIFF_STORE_OK
                : biff_store_delete(st, LIST_KEY(c)) != BIFF_STORE_OK)
            return BIFF_SYNC_E_STORE;
    }
    if (biff_store_delete(st, BIFF_SYNC_KEY_ACCOUNTS) != BIFF_STORE_OK) return BIFF_SYNC_E_STORE;
    return r;
}

biff_sync_status biff_sync_copy(biff_store *to, biff_store *from)
{
    uint8_t b[BIFF_STORE_MAX_VALUE];
    unsigned slots = 0;
    for (unsigned c = 0; c < LIST_CHUNKS; c++) {
        int k = list_read(from, c, b);
        if (k < 0) return BIFF_SYNC_E_STORE;
        if (k) slots = c * BIFF_SYNC_LIST_IDS + (unsigned)k;
    }
    /* The format 1 list and the chunks, then the records of every listed slot. */
    for (unsigned key = BIFF_SYNC_KEY_ACCOUNTS; key < BIFF_SYNC_KEY(slots, 0);
         key = key == LIST_KEY(LIST_CHUNKS - 1u) ? BIFF_SYNC_KEY(0, 0) : key + 1u) {
        size_t len = 0;
        biff_sync_status s = from_store(biff_store_read(from, (uint16_t)key, b, sizeof b, &len));
        if (s == BIFF_SYNC_OK) s = save(to, (uint16_t)key, b, len);
        if (s == BIFF_SYNC_E_STORE) return s;
    }
    return BIFF_SYNC_OK;
}

biff_sync_status biff_sync_folder_load(biff_store *st, unsigned slot, unsigned folder, uint32_t account_id,
                                       uint32_t folder_id, biff_sync_folder *rec)
{
    uint8_t b[FOLDER_BYTES];
    size_t len = 0;
    if (slot >= BIFF_SYNC_MAX_ACCOUNTS || folder >= BIFF_SYNC_MAX_FOLDERS || !rec) return BIFF_SYNC_E_ARG;
    memset(rec, 0, sizeof *rec);
    rec->account_id = account_id;
    rec->folder_id = folder_id;
    biff_sync_status s = load(st, BIFF_SYNC_KEY(slot, folder), b, sizeof b, &len, account_id);
    if (s != BIFF_SYNC_OK) return s;
    if (len != FOLDER_BYTES || b[1] > BIFF_ERR_CONFIG || get_le(b + 8, 4) != folder_id) return BIFF_SYNC_FRESH;
    for (unsigned i = 0; i < sizeof folder_u32; i++)
        *(uint32_t *)((uint8_t *)rec + folder_u32[i]) = get_le(b + 4 + 4 * i, 4);
    rec->highestmodseq = (uint64_t)get_le(b + 32, 4) << 32 | get_le(b + 28, 4);
    rec->last_error = (biff_error_class)b[1];
    return BIFF_SYNC_OK;
}

biff_sync_status biff_sync_folder_save(biff_store *st, unsigned slot, unsigned folder, const biff_sync_folder *rec)
{
    uint8_t b[FOLDER_BYTES];
    if (slot >= BIFF_SYNC_MAX_ACCOUNTS || folder >= BIFF_SYNC_MAX_FOLDERS || !rec) return BIFF_SYNC_E_ARG;
    put_le(b, REC_VERSION | (uint32_t)rec->last_error << 8 | 0xFFFF0000u, 4);
    for (unsigned i = 0; i < sizeof folder_u32; i++)
        put_le(b + 4 + 4 * i, *(const uint32_t *)((const uint8_t *)rec + folder_u32[i]), 4);
    put_le(b + 28, (uint32_t)rec->highestmodseq, 4);
    put_le(b + 32, (uint32_t)(rec->highestmodseq >> 32), 4);
    return save(st, BIFF_SYNC_KEY(slot, folder), b, sizeof b);
}

uint32_t biff_sync_imap_new(const biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uidnext, uint32_t messages)
{
    if (!rec->uidnext_acked || rec->uidvalidity != uidvalidity || uidnext <= rec->uidnext_acked) return 0;
    uint32_t d = uidnext - rec->uidnext_acked;
    return d < messages ? d : messages;
}

int biff_sync_imap_uid_is_new(const biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uid)
{
    return rec->uidnext_acked && rec->uidvalidity == uidvalidity && uid >= rec->uidnext_acked;
}

void biff_sync_imap_ack(biff_sync_folder *rec, uint32_t uidvalidity, uint32_t uidnext, uint64_t highestmodseq)
{
    rec->uidvalidity = uidvalidity;
    rec->uidnext_acked = uidnext;
    rec->highestmodseq = highestmodseq;
}

biff_sync_status biff_sync_pop3_load(biff_store *st, unsigned slot, uint32_t account_id, biff_sync_uidset *set)
{
    uint8_t b[SET_HDR + 4u * BIFF_SYNC_POP3_MAX];
    size_t len = 0;
    if (slot >= BIFF_SYNC_MAX_ACCOUNTS || !set) return BIFF_SYNC_E_ARG;
    memset(set, 0, sizeof *set);
    set->account_id = account_id;
    biff_sync_status s = load(st, BIFF_SYNC_KEY(slot, SET_SLOT), b, sizeof b, &len, account_id);
    if (s != BIFF_SYNC_OK) return s;
    uint32_t count = get_le(b + 2, 2);
    if (count > BIFF_SYNC_POP3_MAX || len != SET_HDR + 4u * count) return BIFF_SYNC_FRESH;
    for (uint32_t i = 0; i < count; i++) set->digest[i] = get_le(b + SET_HDR + 4u * i, 4);
    set->count = (uint16_t)count;
    set->valid = 1;
    return BIFF_SYNC_OK;
}

biff_sync_status biff_sync_pop3_save(biff_store *st, unsigned slot, const biff_sync_uidset *set)
{
    uint8_t b[SET_HDR + 4u * BIFF_SYNC_POP3_MAX];
    if (slot >= BIFF_SYNC_MAX_ACCOUNTS || !set || set->count > BIFF_SYNC_POP3_MAX) return BIFF_SYNC_E_ARG;
    put_le(b, REC_VERSION | 0xFF00u | (uint32_t)set->count << 16, 4);
    put_le(b + 4, set->account_id, 4);
    for (uint32_t i = 0; i < set->count; i++) put_le(b + SET_HDR + 4u * i, set->digest[i], 4);
    return save(st, BIFF_SYNC_KEY(slot, SET_SLOT), b, SET_HDR + 4u * set->count);
}

void biff_sync_pop3_begin(biff_sync_pop3_scan *sc, const biff_sync_uidset *seen)
{
    memset(sc, 0, sizeof *sc);
    sc->seen = seen && seen->valid ? seen : NULL;
    sc->next.account_id = seen ? seen->account_id : 0;
    sc->next.valid = 1;
}

static int recorded(const biff_sync_pop3_scan *sc, uint32_t digest)
{
    for (uint32_t i = 0; sc->seen && i < sc->seen->count; i++)
        if (sc->seen->digest[i] == digest) return 1;
    return 0;
}

static void tally(biff_sync_pop3_scan *sc, int known)
{
    if (known) {
        sc->any_known = 1;
        sc->run = 0;
    } else {
        sc->unknown++;
        sc->run++;
    }
}

int biff_sync_pop3_add(biff_sync_pop3_scan *sc, uint32_t digest)
{
    int known = recorded(sc, digest);
    biff_sync_uidset *n = &sc->next;
    if (n->count == BIFF_SYNC_POP3_MAX) /* keep the newest: drop the oldest */
        memmove(n->digest, n->digest + 1, sizeof n->digest - sizeof n->digest[0]);
    else
        n->count++;
    n->digest[n->count - 1u] = digest;
    sc->listed++;
    tally(sc, known);
    return !known;
}

void biff_sync_pop3_rebase(biff_sync_pop3_scan *sc, const biff_sync_uidset *seen)
{
    /* Listed uids that fell out of the window are older mail: taken as known. */
    sc->seen = seen && seen->valid ? seen : NULL;
    sc->any_known = sc->listed > sc->next.count;
    sc->unknown = sc->run = 0;
    for (uint32_t i = 0; i < sc->next.count; i++) tally(sc, recorded(sc, sc->next.digest[i]));
}

uint32_t biff_sync_pop3_end(biff_sync_pop3_scan *sc)
{
    if (!sc->seen) return 0;
    return sc->any_known ? sc->run : sc->listed;
}

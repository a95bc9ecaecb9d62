#define _POSIX_C_SOURCE 200809L
#include "state.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_UNIT 4u

/* Image geometries, smallest first; sizes differ, so a file's size names its geometry. 8 x 4 KB
 * is the CLI's image since the start (16 accounts of 8 folders fit with room for GC). */
static const struct {
    uint32_t size, count;
} geos[] = { { 4096, 8 }, { 4096, 32 }, { 8192, 32 }, { 16384, 32 }, { 32768, 32 }, { 65536, 32 } };
#define N_GEOS (sizeof geos / sizeof geos[0])

/* Live data a geometry holds comfortably: one sector is the spare, each loses its header and
 * some tail; half of that so garbage collection frees plenty per erase. */
static size_t geo_room(size_t g)
{
    return (size_t)(geos[g].count - 1u) * (geos[g].size - 64u) / 2u;
}

/* Test hook: TINYBIFF_TEST_KILL_AT_FLASH_OP=N kills the process with SIGKILL in the middle of
 * the Nth program or erase (half of it written), a real power cut on a real file. Only the
 * power-cut tests set it. */
static unsigned long kill_at, flash_ops;
static biff_flash *inner;

static void maybe_die(void)
{
    if (kill_at && ++flash_ops == kill_at) {
        fprintf(stderr, "tinybiff: test hook: power cut at flash op %lu\n", flash_ops);
        kill(getpid(), SIGKILL);
    }
}

static biff_flash_status hook_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    return inner->read(inner->ctx, addr, buf, len);
}

static biff_flash_status hook_program(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    (void)ctx;
    if (kill_at && flash_ops + 1 == kill_at && len >= 2 * STATE_UNIT) {
        uint32_t half = (len / 2) / STATE_UNIT * STATE_UNIT;
        inner->program(inner->ctx, addr, data, half);
    }
    maybe_die();
    return inner->program(inner->ctx, addr, data, len);
}

static biff_flash_status hook_erase(void *ctx, uint32_t sector)
{
    (void)ctx;
    maybe_die();
    return inner->erase(inner->ctx, sector);
}

size_t state_bytes(int imap, unsigned n_folders)
{
    /* A folder record: 36 bytes + 16-byte descriptor. POP3: its folder 0 record (errors) and
     * its UIDL set (8 + 4 per digest). */
    return imap ? 52u * n_folders : 52u + 8u + 4u * BIFF_SYNC_POP3_MAX + 16u;
}

int state_fresh(const cli_state *s, unsigned slot)
{
    return slot < BIFF_SYNC_MAX_ACCOUNTS && (s->fresh[slot / 32u] >> (slot % 32u) & 1u);
}

/* Which geometry a file of this size has, N_GEOS if none (or no file, or empty: -1). */
static int geo_of(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || sb.st_size == 0) return -1;
    for (size_t g = 0; g < N_GEOS; g++) {
        if ((off_t)geos[g].size * geos[g].count == sb.st_size) return (int)g;
    }
    return (int)N_GEOS;
}

/* Copy the sync records of path (geometry from) into a new image of geometry to, then put it in
 * place of path. 0 on success; on failure path is untouched. */
static int grow(const char *path, size_t from, size_t to)
{
    char tmp[1024];
    biff_flash_file a, b;
    biff_store sa, sb;
    int ok = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp) return -1;
    (void)unlink(tmp); /* left by a cut during an earlier attempt (a link there is removed, not followed) */
    if (biff_flash_file_open(&a, path, geos[from].size, geos[from].count, STATE_UNIT, 0) != BIFF_FLASH_OK) return -1;
    if (biff_flash_file_open(&b, tmp, geos[to].size, geos[to].count, STATE_UNIT, BIFF_FLASH_FILE_NEW) ==
        BIFF_FLASH_OK) {
        memset(&sa, 0, sizeof sa);
        memset(&sb, 0, sizeof sb);
        ok = biff_store_mount(&sa, &a.flash) == BIFF_STORE_OK && biff_store_format(&sb, &b.flash) == BIFF_STORE_OK &&
             biff_sync_copy(&sb, &sa) == BIFF_SYNC_OK;
        biff_flash_file_close(&b);
    }
    biff_flash_file_close(&a);
    if (ok) return biff_sfile_replace(tmp, path, 1) == BIFF_SFILE_OK ? 0 : -1;
    (void)unlink(tmp);
    return -1;
}

int state_open(cli_state *s, const char *path, const uint32_t *ids, unsigned n, size_t need)
{
    memset(s, 0, sizeof *s);
    if (n > BIFF_SYNC_MAX_ACCOUNTS) {
        fprintf(stderr, "tinybiff: state keeps at most %u accounts; running without state\n", BIFF_SYNC_MAX_ACCOUNTS);
        return -1;
    }
    need += (n / BIFF_SYNC_LIST_IDS + 1u) * (BIFF_STORE_MAX_VALUE + 16u); /* the account list */
    size_t g = 0;
    while (g + 1 < N_GEOS && geo_room(g) < need) g++;
    int have = geo_of(path);
    if (have >= 0 && have < (int)N_GEOS && (size_t)have >= g) {
        g = (size_t)have; /* big enough: kept, never shrunk */
    } else if (have >= 0 && have < (int)N_GEOS) {
        if (grow(path, (size_t)have, g) == 0) {
            fprintf(stderr, "tinybiff: state file %s grown to %u KB for %u accounts\n", path,
                    (unsigned)(geos[g].size / 1024u * geos[g].count), n);
        } else {
            fprintf(stderr, "tinybiff: state file %s could not be grown for %u accounts; keeping its size\n", path, n);
            g = (size_t)have;
        }
    }
    biff_flash_status fs = biff_flash_file_open(&s->ff, path, geos[g].size, geos[g].count, STATE_UNIT, 0);
    if (fs == BIFF_FLASH_E_RANGE) {
        /* Another size: not ours, or from another release. Keep it for inspection, start anew. */
        char bad[1024];
        snprintf(bad, sizeof bad, "%s.bad", path);
        fprintf(stderr, "tinybiff: state file %s has an unknown layout; moved to %s, starting fresh\n", path, bad);
        if (rename(path, bad) == 0) fs = biff_flash_file_open(&s->ff, path, geos[g].size, geos[g].count, STATE_UNIT, 0);
    }
    if (fs != BIFF_FLASH_OK) {
        char why[256];
        fprintf(stderr, "tinybiff: cannot open state file %s (%s); checking without state\n", path,
                fs == BIFF_FLASH_E_IO ? biff_sfile_explain(s->ff.file_status, path, why, sizeof why) : "wrong size");
        return -1;
    }
    const biff_flash *flash = &s->ff.flash;
    const char *k = getenv("TINYBIFF_TEST_KILL_AT_FLASH_OP");
    if (k && *k) {
        kill_at = strtoul(k, NULL, 10);
        inner = &s->ff.flash;
        s->kill_flash = s->ff.flash;
        s->kill_flash.read = hook_read;
        s->kill_flash.program = hook_program;
        s->kill_flash.erase = hook_erase;
        flash = &s->kill_flash;
    }
    biff_store_status ss = biff_store_mount(&s->st, flash);
    if (ss == BIFF_STORE_E_VERSION || ss == BIFF_STORE_E_CORRUPT) {
        fprintf(stderr, "tinybiff: state file %s is from another version or damaged; starting fresh\n", path);
        ss = biff_store_format(&s->st, flash);
    }
    if (ss != BIFF_STORE_OK) {
        fprintf(stderr, "tinybiff: state file %s unusable (store error %d); checking without state\n", path, ss);
        biff_flash_file_close(&s->ff);
        return -1;
    }
    biff_sync_status sy = biff_sync_bind(&s->st, ids, n, s->fresh);
    if (sy != BIFF_SYNC_OK && sy != BIFF_SYNC_FRESH) {
        fprintf(stderr, "tinybiff: state file %s: cannot record the account list; checking without state\n", path);
        biff_flash_file_close(&s->ff);
        return -1;
    }
    s->open = 1;
    return 0;
}

void state_close(cli_state *s)
{
    if (s->open) biff_flash_file_close(&s->ff);
    s->open = 0;
}

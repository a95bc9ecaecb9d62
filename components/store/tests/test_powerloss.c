/* Power-loss sweep: a scripted workload is cut at every program/erase it issues, in atomic,
 * prefix and scattered-bit modes. After every cut the store must mount and each key must hold
 * its old or its new value (only the key being written may be either; every earlier committed
 * write must be there). Then work continues after the remount with a second cut somewhere in
 * the next writes (often inside the recovery garbage collection), and the state is checked
 * again, then once more after some clean writes.
 *
 * Every check after power-on also meets bit errors, so that the sweep needs the store's CRCs
 * and read retries, not only its write order:
 *   read disturb  every FLIP_EVERY-th read returns one flipped bit (the next read is right);
 *   stuck bit     the spare sector's stale header has a sequence bit stuck at 1 until that
 *                 sector is erased: read as valid it would outrank the real active sector.
 * Bit errors in live records are not injected: one that stays would lose the record (the format
 * detects corruption, it has no error correction). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biff/flash_fault.h"
#include "biff/store.h"

#define KEYS    6
#define MAXV    200
#define MAX_MEM (8u * 1024u)
/* At most one flipped read among the 8 reads of one record's two tries (256 B in 64 B chunks). */
#define FLIP_EVERY 9u

typedef struct {
    uint8_t present[KEYS];
    uint16_t len[KEYS];
    uint8_t val[KEYS][MAXV];
} model_t;

typedef struct {
    uint32_t sector_size, sectors, unit, steps;
} geometry_t;

static const uint16_t key_ids[KEYS] = { 0x1000, 0x1001, 0x1010, 0x1011, 0x1020, 0x102F };

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

static void fill(uint8_t *buf, size_t len, uint32_t tag)
{
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)mix(tag * 977u + (uint32_t)i);
}

/* Step i of the workload, applied to the store and (in *m) to the model of what it should hold
 * if it succeeds. Key 5 is a large value (like a POP3 UIDL digest set) changed rarely. */
static biff_store_status step(biff_store *st, model_t *m, uint32_t i)
{
    uint32_t h = mix(i + 0x5EED);
    unsigned k = (h >> 8) % 20 == 0 ? 5 : (h >> 8) % 5;
    unsigned kind = h % 10; /* 0: delete, 1: rewrite the same value, else: new value */
    if (kind == 0) {
        m->present[k] = 0;
        return biff_store_delete(st, key_ids[k]);
    }
    if (kind != 1 || !m->present[k]) {
        m->len[k] = (uint16_t)(k == 5 ? 100 + (h >> 16) % 101 : (h >> 16) % 61);
        fill(m->val[k], m->len[k], i);
        m->present[k] = 1;
    }
    return biff_store_write(st, key_ids[k], m->val[k], m->len[k]);
}

/* Every key is as in *old, except key `flight` which may also be as in *new. Returns how the
 * in-flight key ended up (1: new) so the caller can continue from the real state. */
static int verify(biff_store *st, const model_t *old, const model_t *new, int flight)
{
    uint8_t buf[BIFF_STORE_MAX_VALUE];
    int landed = 0;
    for (int k = 0; k < KEYS; k++) {
        size_t len = 0;
        biff_store_status s = biff_store_read(st, key_ids[k], buf, sizeof buf, &len);
        assert_true(s == BIFF_STORE_OK || s == BIFF_STORE_E_NOT_FOUND);
        int present = s == BIFF_STORE_OK;
        int is_old = present == old->present[k] && (!present || (len == old->len[k] && !memcmp(buf, old->val[k], len)));
        int is_new = k == flight && present == new->present[k] &&
                     (!present || (len == new->len[k] && !memcmp(buf, new->val[k], len)));
        if (!is_old && !is_new) {
            fprintf(stderr, "key %d: present %d len %zu (old: %d/%u new: %d/%u) flight %d\n", k, present, len,
                    old->present[k], old->len[k], new->present[k], new->len[k], flight);
            fail();
        }
        if (k == flight && !is_old) landed = 1;
    }
    return landed;
}

static int flight_key(uint32_t i)
{
    uint32_t h = mix(i + 0x5EED);
    return (h >> 8) % 20 == 0 ? 5 : (int)((h >> 8) % 5);
}

typedef struct {
    uint32_t cuts;      /* first cuts made (one per program/erase of the workload) */
    uint32_t second;    /* second cuts that landed during the continuation */
    uint32_t landed;    /* first cuts after which the in-flight write was already visible */
    uint32_t total_ops; /* program/erase ops of the uncut workload */
    uint32_t gcs;       /* garbage collections in the uncut workload */
    uint32_t flips;     /* reads that returned a flipped bit */
    uint32_t stuck;     /* spare headers with a stuck sequence bit */
} sweep_result;

static uint8_t golden_mem[MAX_MEM], snap_mem[MAX_MEM], test_mem[MAX_MEM], scratch[MAX_MEM];

/* The spare follows the active sector (highest valid header sequence) in the ring; the on-flash
 * header layout is the one biff/store.h documents. If the spare's stale header is intact, set
 * the top bit of its sequence, as a cell stuck at 1 would. Returns 1 if a bit was set. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int header_ok(const uint8_t *h)
{
    return !memcmp(h, "BFST", 4) && le32(h + 16) == biff_store_crc32(0, h, 16);
}

static int stick_spare_seq_bit(uint8_t *mem, const geometry_t *g)
{
    uint32_t best = 0, active = 0;
    int any = 0;
    for (uint32_t sec = 0; sec < g->sectors; sec++) {
        const uint8_t *h = mem + sec * g->sector_size;
        uint32_t seq = le32(h + 8);
        if (header_ok(h) && (!any || seq > best)) {
            any = 1;
            best = seq;
            active = sec;
        }
    }
    uint8_t *spare = mem + (active + 1u) % g->sectors * g->sector_size;
    if (!any || !header_ok(spare) || (spare[11] & 0x80u)) return 0;
    spare[11] |= 0x80u;
    return 1;
}

/* Power on and mount through bit errors (see the top of the file). */
static void mount_noisy(biff_store *st, biff_flash_fault *tf, const geometry_t *g, uint32_t *stuck)
{
    biff_flash_fault_power_on(tf);
    *stuck += (uint32_t)stick_spare_seq_bit(test_mem, g);
    tf->flip_every = FLIP_EVERY;
    memset(st, 0, sizeof *st);
    assert_int_equal(biff_store_mount(st, &tf->flash), BIFF_STORE_OK);
}

static void run_sweep(const geometry_t *g, uint8_t mode, uint32_t seed, sweep_result *res)
{
    biff_flash_ram gram, tram;
    biff_flash_fault gf, tf;
    biff_store gst, tst;
    model_t gm, before;
    const uint32_t bytes = g->sector_size * g->sectors;
    memset(res, 0, sizeof *res);
    memset(golden_mem, 0xFF, bytes);
    memset(&gm, 0, sizeof gm);
    assert_int_equal(biff_flash_ram_init(&gram, golden_mem, g->sector_size, g->sectors, g->unit, NULL), 0);
    assert_int_equal(biff_flash_fault_init(&gf, &gram.flash, scratch, 1), 0);
    assert_int_equal(biff_flash_ram_init(&tram, test_mem, g->sector_size, g->sectors, g->unit, NULL), 0);

    for (uint32_t i = 0; i < g->steps; i++) {
        /* Golden: a fresh mount then the step, exactly what each cut run does (the mount of the
         * blank part in step 0 formats, so the format is swept too). */
        memcpy(snap_mem, golden_mem, bytes);
        before = gm;
        uint32_t ops0 = gf.ops;
        memset(&gst, 0, sizeof gst);
        assert_int_equal(biff_store_mount(&gst, &gf.flash), BIFF_STORE_OK);
        assert_int_equal(step(&gst, &gm, i), BIFF_STORE_OK);
        res->gcs += gst.gc_count;
        uint32_t nops = gf.ops - ops0;
        res->total_ops += nops;

        for (uint32_t r = 1; r <= nops; r++) {
            model_t want = before, tmp, cur;
            memcpy(test_mem, snap_mem, bytes);
            assert_int_equal(biff_flash_fault_init(&tf, &tram.flash, scratch, mix(seed * 65599u + i * 131u + r)), 0);
            tf.cut_at = r;
            tf.cut_mode = mode;
            memset(&tst, 0, sizeof tst);
            biff_store_status s = biff_store_mount(&tst, &tf.flash);
            if (s == BIFF_STORE_OK) s = step(&tst, &want, i);
            assert_true(tf.dead); /* the cut landed on op r of this step */
            assert_int_not_equal(s, BIFF_STORE_OK);
            res->cuts++;

            /* Power back: mount and check. */
            mount_noisy(&tst, &tf, g, &res->stuck);
            int landed = verify(&tst, &before, &want, flight_key(i));
            tf.flip_every = 0;
            res->landed += (uint32_t)landed;
            cur = landed ? want : before;

            /* Continue with the following steps (redoing the interrupted one), second cut at a
             * random op soon after: often inside the garbage collection that recovers. */
            uint32_t end = i + 10 < g->steps ? i + 10 : g->steps;
            tf.cut_at = tf.ops + 1 + mix(seed + i * 7u + r * 13u) % 40u;
            tf.cut_mode = mode;
            for (uint32_t j = i; j < end; j++) {
                tmp = cur;
                s = step(&tst, &tmp, j);
                if (tf.dead) {
                    res->second++;
                    mount_noisy(&tst, &tf, g, &res->stuck);
                    if (verify(&tst, &cur, &tmp, flight_key(j))) cur = tmp;
                    tf.flip_every = 0;
                    continue; /* that step may or may not have landed; go on from the truth */
                }
                assert_int_equal(s, BIFF_STORE_OK);
                cur = tmp;
            }
            tf.cut_at = 0;
            /* A few clean steps, remount: the state must be exact. */
            for (uint32_t j = end; j < end + 5 && j < g->steps; j++)
                assert_int_equal(step(&tst, &cur, j), BIFF_STORE_OK);
            mount_noisy(&tst, &tf, g, &res->stuck);
            verify(&tst, &cur, &cur, -1);
            tf.flip_every = 0;
            res->flips += tf.flips;
            /* The store never programs over bytes that are not erased. */
            assert_int_equal(tf.reprograms, 0);
        }
    }
}

static const char *mode_name(uint8_t mode)
{
    static const char *const names[] = { "atomic", "prefix", "scatter", "any" };
    return names[mode & 3];
}

static unsigned env_seeds(void)
{
    const char *s = getenv("BIFF_POWERLOSS_SEEDS");
    unsigned n = s ? (unsigned)strtoul(s, NULL, 10) : 0;
    return n ? n : 4;
}

static void sweep_modes(const geometry_t *g)
{
    static const uint8_t modes[] = { BIFF_FAULT_ATOMIC, BIFF_FAULT_PREFIX, BIFF_FAULT_SCATTER, BIFF_FAULT_ANY };
    uint32_t all = 0;
    for (size_t m = 0; m < sizeof modes; m++) {
        /* Atomic cuts have no randomness but for the second cut: fewer seeds do. */
        unsigned seeds = modes[m] == BIFF_FAULT_ATOMIC ? 1 : env_seeds();
        for (unsigned seed = 1; seed <= seeds; seed++) {
            sweep_result res;
            run_sweep(g, modes[m], seed, &res);
            assert_int_equal(res.cuts, res.total_ops);
            assert_true(res.gcs >= 5);
            assert_true(res.flips >= res.cuts && res.stuck > 0); /* the bit errors happened */
            printf("powerloss %ux%u unit %u, %u steps, %s seed %u: %u cut points (every op), "
                   "%u gcs in workload, %u second cuts, %u in-flight writes had landed, %u flipped reads, "
                   "%u stuck spare header bits\n",
                   g->sectors, g->sector_size, g->unit, g->steps, mode_name(modes[m]), seed, res.cuts, res.gcs,
                   res.second, res.landed, res.flips, res.stuck);
            all += res.cuts + res.second;
        }
    }
    printf("powerloss %ux%u unit %u: %u cuts in total\n", g->sectors, g->sector_size, g->unit, all);
}

static void test_sweep_5x512_unit8(void **state)
{
    (void)state;
    const geometry_t g = { 512, 5, 8, 300 };
    sweep_modes(&g);
}

static void test_sweep_3x384_unit4(void **state)
{
    (void)state;
    const geometry_t g = { 384, 3, 4, 150 };
    sweep_modes(&g);
}

static void test_sweep_2x1024_unit1(void **state)
{
    (void)state;
    const geometry_t g = { 1024, 2, 1, 150 };
    sweep_modes(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_5x512_unit8),
        cmocka_unit_test(test_sweep_3x384_unit4),
        cmocka_unit_test(test_sweep_2x1024_unit1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

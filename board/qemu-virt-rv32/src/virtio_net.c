/*
 * virtio-net over virtio-mmio as a polled lwIP netif (NO_SYS, no interrupts), written from the
 * virtio 1.2 specification: the MMIO register layout of 4.2.2 (version 2, the modern interface;
 * QEMU needs -global virtio-mmio.force-legacy=false for it), the initialisation sequence of
 * 3.1.1, split virtqueues (2.7) and the network device (5.1).
 *
 * Feature negotiation: VIRTIO_F_VERSION_1 is required (a legacy-only device is refused);
 * VIRTIO_NET_F_STATUS is taken when offered, for the link state. Nothing else: no checksum or
 * segmentation offload (lwIP computes checksums), no merged RX buffers (so every RX buffer holds
 * a whole frame), no control queue, and not VIRTIO_NET_F_MAC: the driver uses the MAC address
 * the firmware gives it. One RX and one TX queue; frames are copied between the rings' buffers
 * and pbufs, which keeps pbufs out of the device's hands.
 */
#include <string.h>

#include "board_net.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* virtio-mmio transports of QEMU's virt machine: 8 slots of 0x1000 from 0x10001000. */
#define MMIO_FIRST  0x10001000u
#define MMIO_SLOTS  8u
#define MMIO_STRIDE 0x1000u

#define R_MAGIC               0x000u
#define R_VERSION             0x004u
#define R_DEVICE_ID           0x008u
#define R_DEVICE_FEATURES     0x010u
#define R_DEVICE_FEATURES_SEL 0x014u
#define R_DRIVER_FEATURES     0x020u
#define R_DRIVER_FEATURES_SEL 0x024u
#define R_QUEUE_SEL           0x030u
#define R_QUEUE_NUM_MAX       0x034u
#define R_QUEUE_NUM           0x038u
#define R_QUEUE_READY         0x044u
#define R_QUEUE_NOTIFY        0x050u
#define R_INTERRUPT_STATUS    0x060u
#define R_INTERRUPT_ACK       0x064u
#define R_STATUS              0x070u
#define R_QUEUE_DESC_LOW      0x080u
#define R_QUEUE_DESC_HIGH     0x084u
#define R_QUEUE_DRIVER_LOW    0x090u
#define R_QUEUE_DRIVER_HIGH   0x094u
#define R_QUEUE_DEVICE_LOW    0x0a0u
#define R_QUEUE_DEVICE_HIGH   0x0a4u
#define R_CONFIG              0x100u

#define MAGIC      0x74726976u /* "virt" */
#define DEVICE_NET 1u

#define ST_ACKNOWLEDGE 1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u
#define ST_FAILED      128u

#define F_NET_STATUS  16u /* bit in the low feature word */
#define F_VERSION_1   0u  /* bit 32: bit 0 of the high feature word */
#define NET_S_LINK_UP 1u
#define CONFIG_STATUS 6u /* offset of le16 status in struct virtio_net_config (after mac[6]) */

#define DESC_F_WRITE 2u

#define RXQ  0u
#define TXQ  1u
#define RX_N 4u /* frames the device can hold for us between polls */
#define TX_N 2u
/* struct virtio_net_hdr with VERSION_1: flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset, num_buffers: 12 bytes, all zero on TX (no offloads). */
#define NET_HDR   12u
#define FRAME_MAX 1514u
#define BUF_SIZE  (NET_HDR + FRAME_MAX) /* without merged buffers each RX buffer takes a frame */

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* The three parts of a split virtqueue of n entries; the device's layout rules: descriptors
 * 16-byte aligned, the available ring 2, the used ring 4. */
#define VQ(n)                                                                                                          \
    struct {                                                                                                           \
        struct vq_desc desc[n] __attribute__((aligned(16)));                                                           \
        struct {                                                                                                       \
            uint16_t flags, idx, ring[n], used_event;                                                                  \
        } avail __attribute__((aligned(2)));                                                                           \
        struct {                                                                                                       \
            uint16_t flags, idx;                                                                                       \
            struct {                                                                                                   \
                uint32_t id, len;                                                                                      \
            } ring[n];                                                                                                 \
            uint16_t avail_event;                                                                                      \
        } used __attribute__((aligned(4)));                                                                            \
    }

static VQ(RX_N) rxq;
static VQ(TX_N) txq;
static uint8_t rx_buf[RX_N][BUF_SIZE] __attribute__((aligned(4)));
static uint8_t tx_buf[TX_N][BUF_SIZE] __attribute__((aligned(4)));
static uint16_t rx_used_seen, tx_used_seen;
static uint16_t tx_free[TX_N], tx_nfree; /* TX buffers (= descriptors) the driver holds */
static uintptr_t base;
static int has_status;

const char biff_board_netif_name[] = "virtio-net";

static uint32_t rd(uint32_t off)
{
    return *(volatile uint32_t *)(base + off);
}

static void wr(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(base + off) = v;
}

/* Ring updates must reach memory in order before the device is told (and reads of what the
 * device wrote must not be hoisted above its index): a full fence on both sides. */
static void barrier(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint16_t used_idx(volatile uint16_t *idx)
{
    barrier();
    uint16_t v = *idx;
    barrier();
    return v;
}

static int queue_setup(uint32_t q, uint32_t n, void *desc, void *avail, void *used)
{
    wr(R_QUEUE_SEL, q);
    if (rd(R_QUEUE_READY) != 0 || rd(R_QUEUE_NUM_MAX) < n) return -1;
    wr(R_QUEUE_NUM, n);
    wr(R_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)desc);
    wr(R_QUEUE_DESC_HIGH, 0);
    wr(R_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)avail);
    wr(R_QUEUE_DRIVER_HIGH, 0);
    wr(R_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)used);
    wr(R_QUEUE_DEVICE_HIGH, 0);
    wr(R_QUEUE_READY, 1);
    return 0;
}

/* Offer RX buffer i to the device again. */
static void rx_give(uint16_t i)
{
    rxq.avail.ring[rxq.avail.idx % RX_N] = i;
    barrier();
    rxq.avail.idx++;
    barrier();
}

static int link_up(void)
{
    return !has_status || (*(volatile uint16_t *)(base + R_CONFIG + CONFIG_STATUS) & NET_S_LINK_UP);
}

/* Take back the TX buffers the device has sent (in whatever order it used them). */
static void tx_reap(void)
{
    uint16_t idx = used_idx(&txq.used.idx);
    while (tx_used_seen != idx && tx_nfree < TX_N) {
        uint32_t id = txq.used.ring[tx_used_seen % TX_N].id;
        tx_used_seen++;
        if (id < TX_N) tx_free[tx_nfree++] = (uint16_t)id;
    }
}

static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
    (void)netif;
    if (p->tot_len > FRAME_MAX) return ERR_BUF;
    /* QEMU sends from a bottom half, so a buffer comes back soon after the notify; wait a
     * little for one rather than drop the frame. */
    for (uint32_t spin = 0; tx_nfree == 0; spin++) {
        if (spin == 1000000u) return ERR_MEM;
        tx_reap();
    }
    uint16_t slot = tx_free[--tx_nfree];
    uint8_t *b = tx_buf[slot];
    memset(b, 0, NET_HDR);
    pbuf_copy_partial(p, b + NET_HDR, p->tot_len, 0);
    txq.desc[slot].addr = (uint32_t)(uintptr_t)b;
    txq.desc[slot].len = NET_HDR + p->tot_len;
    txq.desc[slot].flags = 0;
    txq.avail.ring[txq.avail.idx % TX_N] = slot;
    barrier();
    txq.avail.idx++;
    barrier();
    wr(R_QUEUE_NOTIFY, TXQ);
    return ERR_OK;
}

static uintptr_t find_device(void)
{
    for (uint32_t i = 0; i < MMIO_SLOTS; i++) {
        uintptr_t b = MMIO_FIRST + i * MMIO_STRIDE;
        volatile uint32_t *r = (volatile uint32_t *)b;
        if (r[R_MAGIC / 4] == MAGIC && r[R_DEVICE_ID / 4] == DEVICE_NET) return b;
    }
    return 0;
}

err_t biff_board_netif_init(struct netif *netif)
{
    base = find_device();
    if (!base || rd(R_VERSION) != 2) return ERR_IF; /* none, or legacy only (version 1) */

    /* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (and read it back), queues,
     * DRIVER_OK. */
    wr(R_STATUS, 0);
    for (uint32_t spin = 0; rd(R_STATUS) != 0; spin++) {
        if (spin == 1000000u) return ERR_IF; /* the reset never completes */
    }
    wr(R_STATUS, ST_ACKNOWLEDGE);
    wr(R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
    wr(R_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(R_DEVICE_FEATURES);
    wr(R_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(R_DEVICE_FEATURES);
    if (!(hi & (1u << F_VERSION_1))) {
        wr(R_STATUS, ST_FAILED);
        return ERR_IF;
    }
    has_status = (lo >> F_NET_STATUS) & 1u;
    wr(R_DRIVER_FEATURES_SEL, 0);
    wr(R_DRIVER_FEATURES, has_status ? 1u << F_NET_STATUS : 0);
    wr(R_DRIVER_FEATURES_SEL, 1);
    wr(R_DRIVER_FEATURES, 1u << F_VERSION_1);
    wr(R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK);
    if (!(rd(R_STATUS) & ST_FEATURES_OK)) {
        wr(R_STATUS, ST_FAILED);
        return ERR_IF;
    }

    memset(&rxq, 0, sizeof rxq);
    memset(&txq, 0, sizeof txq);
    rx_used_seen = tx_used_seen = 0;
    for (tx_nfree = 0; tx_nfree < TX_N; tx_nfree++) tx_free[tx_nfree] = tx_nfree;
    for (uint16_t i = 0; i < RX_N; i++) {
        rxq.desc[i].addr = (uint32_t)(uintptr_t)rx_buf[i];
        rxq.desc[i].len = BUF_SIZE;
        rxq.desc[i].flags = DESC_F_WRITE;
        rx_give(i);
    }
    if (queue_setup(RXQ, RX_N, rxq.desc, &rxq.avail, &rxq.used) ||
        queue_setup(TXQ, TX_N, txq.desc, &txq.avail, &txq.used)) {
        wr(R_STATUS, ST_FAILED);
        return ERR_IF;
    }
    wr(R_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    wr(R_QUEUE_NOTIFY, RXQ);

    biff_netif_ethernet(netif, linkoutput);
    return ERR_OK;
}

unsigned biff_board_netif_poll(struct netif *netif)
{
    unsigned got = 0;
    biff_netif_link(netif, link_up());
    /* Polled: interrupts are never enabled, but the status bits are acknowledged so the device
     * does not keep a pending interrupt line up for nothing. */
    uint32_t isr = rd(R_INTERRUPT_STATUS);
    if (isr) wr(R_INTERRUPT_ACK, isr);

    uint16_t idx = used_idx(&rxq.used.idx);
    if (idx == rx_used_seen) return 0;
    while (rx_used_seen != idx) {
        uint32_t id = rxq.used.ring[rx_used_seen % RX_N].id;
        uint32_t len = rxq.used.ring[rx_used_seen % RX_N].len; /* header + frame */
        rx_used_seen++;
        struct pbuf *p = NULL;
        if (id < RX_N && len >= NET_HDR + 14u && len <= BUF_SIZE) {
            p = pbuf_alloc(PBUF_RAW, (u16_t)(len - NET_HDR), PBUF_POOL);
            if (p) pbuf_take(p, rx_buf[id] + NET_HDR, (u16_t)(len - NET_HDR));
        }
        if (id < RX_N) rx_give((uint16_t)id);
        got += biff_netif_deliver(netif, p);
    }
    wr(R_QUEUE_NOTIFY, RXQ);
    return got;
}

/*
 * LAN9118 Ethernet driver for lwIP (NO_SYS, polled). Register map from the SMSC LAN9118 data
 * sheet; what the emulator actually implements was checked against QEMU's hw/net/lan9118.c
 * (notably: the RX fast-forward of RX_DP_CTRL does not release FIFO space there, so unwanted
 * frames are drained by reading them; MII and MAC CSR accesses complete at once, but the busy
 * bits are still honoured for real silicon).
 */
#include "board_net.h"

#include <string.h>

#include "lwip/netif.h"
#include "lwip/pbuf.h"

#define ETH_BASE 0x40200000u
#define REG(off) (*(volatile uint32_t *)(ETH_BASE + (off)))

#define RX_DATA_FIFO   0x00u
#define TX_DATA_FIFO   0x20u
#define RX_STATUS_FIFO 0x40u
#define TX_STATUS_FIFO 0x48u
#define ID_REV         0x50u
#define IRQ_CFG        0x54u
#define INT_STS        0x58u
#define INT_EN         0x5Cu
#define BYTE_TEST      0x64u
#define RX_CFG         0x6Cu
#define TX_CFG         0x70u
#define HW_CFG         0x74u
#define RX_FIFO_INF    0x7Cu
#define TX_FIFO_INF    0x80u
#define PMT_CTRL       0x84u
#define MAC_CSR_CMD    0xA4u
#define MAC_CSR_DATA   0xA8u
#define AFC_CFG        0xACu

#define HW_CFG_SRST     0x1u
#define PMT_CTRL_READY  0x1u
#define TX_CFG_TX_ON    0x2u
#define TX_CFG_TXS_DUMP 0x8000u
#define RX_CFG_RX_DUMP  0x8000u
#define CSR_BUSY        0x80000000u
#define CSR_READ        0x40000000u

/* MAC CSR indices and bits */
#define MAC_CR       1u
#define MAC_ADDRH    2u
#define MAC_ADDRL    3u
#define MAC_MII_ACC  6u
#define MAC_MII_DATA 7u
#define MAC_CR_RXEN  0x4u
#define MAC_CR_TXEN  0x8u
#define MAC_CR_FDPX  0x100000u

/* TX command words */
#define TXA_FIRST_SEG 0x2000u
#define TXA_LAST_SEG  0x1000u

/* RX status word */
#define RXS_ERROR  0x8000u
#define RXS_LEN(s) (((s) >> 16) & 0x3FFFu)

/* PHY (internal, address 1) */
#define PHY_ADDR       1u
#define PHY_BMCR       0u
#define PHY_BMSR       1u
#define PHY_ANAR       4u
#define BMCR_ANENABLE  0x1000u
#define BMCR_ANRESTART 0x0200u
#define BMSR_LINK      0x0004u

#define SPIN_LIMIT 100000u

const char biff_board_netif_name[] = "LAN9118";

static uint16_t tx_tag;

static int wait_clear(uint32_t off, uint32_t mask)
{
    for (uint32_t i = 0; i < SPIN_LIMIT; i++) {
        if (!(REG(off) & mask)) return 0;
    }
    return -1;
}

static int mac_write(uint32_t idx, uint32_t val)
{
    if (wait_clear(MAC_CSR_CMD, CSR_BUSY)) return -1;
    REG(MAC_CSR_DATA) = val;
    REG(MAC_CSR_CMD) = CSR_BUSY | idx;
    return wait_clear(MAC_CSR_CMD, CSR_BUSY);
}

static uint32_t mac_read(uint32_t idx)
{
    if (wait_clear(MAC_CSR_CMD, CSR_BUSY)) return 0;
    REG(MAC_CSR_CMD) = CSR_BUSY | CSR_READ | idx;
    (void)wait_clear(MAC_CSR_CMD, CSR_BUSY);
    return REG(MAC_CSR_DATA);
}

/* MII_ACC: PHY address 15:11, register 10:6, bit 1 write, bit 0 busy. */
static uint32_t phy_read(uint32_t reg)
{
    if (mac_write(MAC_MII_ACC, PHY_ADDR << 11 | reg << 6 | 1u)) return 0;
    for (uint32_t i = 0; i < SPIN_LIMIT && (mac_read(MAC_MII_ACC) & 1u); i++) {
    }
    return mac_read(MAC_MII_DATA) & 0xFFFFu;
}

static void phy_write(uint32_t reg, uint32_t val)
{
    (void)mac_write(MAC_MII_DATA, val);
    (void)mac_write(MAC_MII_ACC, PHY_ADDR << 11 | reg << 6 | 2u | 1u);
    for (uint32_t i = 0; i < SPIN_LIMIT && (mac_read(MAC_MII_ACC) & 1u); i++) {
    }
}

/* The TX FIFO takes little-endian words; frames come as pbuf chains of any alignment, so bytes
 * are packed into words across pbuf boundaries and the frame goes out as one buffer. */
static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
    (void)netif;
    uint32_t len = p->tot_len;
    if (len > 1514u) return ERR_BUF;
    uint32_t words = (len + 3u) / 4u;
    /* TXFREE (bytes) must hold both command words and the data. */
    if ((REG(TX_FIFO_INF) & 0xFFFFu) < words * 4u + 8u) return ERR_MEM;
    tx_tag++;
    REG(TX_DATA_FIFO) = TXA_FIRST_SEG | TXA_LAST_SEG | len;
    REG(TX_DATA_FIFO) = (uint32_t)tx_tag << 16 | len;
    uint32_t acc = 0, n = 0;
    for (struct pbuf *q = p; q; q = q->next) {
        const uint8_t *b = q->payload;
        for (uint16_t i = 0; i < q->len; i++) {
            acc |= (uint32_t)b[i] << (8u * n);
            if (++n == 4u) {
                REG(TX_DATA_FIFO) = acc;
                acc = 0;
                n = 0;
            }
        }
    }
    if (n) REG(TX_DATA_FIFO) = acc;
    /* Nobody waits for TX status: drop it so the status FIFO never fills. */
    while (REG(TX_FIFO_INF) & 0x00FF0000u) (void)REG(TX_STATUS_FIFO);
    return ERR_OK;
}

err_t biff_board_netif_init(struct netif *netif)
{
    const uint8_t *mac = netif->state;
    if (REG(BYTE_TEST) != 0x87654321u) return ERR_IF;
    REG(HW_CFG) = HW_CFG_SRST;
    if (wait_clear(HW_CFG, HW_CFG_SRST)) return ERR_IF;
    for (uint32_t i = 0; !(REG(PMT_CTRL) & PMT_CTRL_READY); i++) {
        if (i == SPIN_LIMIT) return ERR_IF;
    }
    REG(INT_EN) = 0;
    REG(INT_STS) = 0xFFFFFFFFu;
    REG(IRQ_CFG) = 0;

    (void)mac_write(MAC_ADDRL,
                    (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 | (uint32_t)mac[3] << 24);
    (void)mac_write(MAC_ADDRH, (uint32_t)mac[4] | (uint32_t)mac[5] << 8);

    phy_write(PHY_ANAR, 0x01E1u); /* 10/100, half and full duplex */
    phy_write(PHY_BMCR, BMCR_ANENABLE | BMCR_ANRESTART);

    REG(RX_CFG) = RX_CFG_RX_DUMP; /* payload at offset 0, no end padding */
    REG(TX_CFG) = TX_CFG_TXS_DUMP | TX_CFG_TX_ON;
    /* Broadcast on (ARP, DHCP), unicast to our address only, no promiscuous mode. */
    if (mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX)) return ERR_IF;

    biff_netif_ethernet(netif, linkoutput);
    return ERR_OK;
}

/* Copy nbytes of the RX data FIFO into the chain (or nowhere when p is NULL), then discard the
 * rest of the frame's words (the CRC). */
static void rx_read(struct pbuf *p, uint32_t words, uint32_t nbytes)
{
    struct pbuf *q = p;
    uint16_t off = 0;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t v = REG(RX_DATA_FIFO);
        for (uint32_t k = 0; k < 4u && nbytes && q; k++, nbytes--) {
            ((uint8_t *)q->payload)[off++] = (uint8_t)(v >> (8u * k));
            if (off == q->len) {
                q = q->next;
                off = 0;
            }
        }
    }
}

unsigned biff_board_netif_poll(struct netif *netif)
{
    unsigned got = 0;
    static uint32_t next_link_check = 255u; /* first poll looks at the PHY at once */
    if (++next_link_check >= 256u) {
        next_link_check = 0;
        biff_netif_link(netif, (phy_read(PHY_BMSR) & BMSR_LINK) != 0);
    }
    while (REG(RX_FIFO_INF) & 0x00FF0000u) {
        uint32_t st = REG(RX_STATUS_FIFO);
        uint32_t len = RXS_LEN(st); /* includes the 4-byte FCS */
        uint32_t words = (len + 3u) / 4u;
        struct pbuf *p = NULL;
        if (!(st & RXS_ERROR) && len >= 14u + 4u && len <= 1518u) {
            p = pbuf_alloc(PBUF_RAW, (u16_t)(len - 4u), PBUF_POOL);
        }
        rx_read(p, words, p ? len - 4u : 0);
        got += biff_netif_deliver(netif, p);
    }
    return got;
}

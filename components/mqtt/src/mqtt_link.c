/* lwIP's MQTT client over a biff_transport: an altcp pcb whose lower side is the transport. */
#include "biff/mqtt_link.h"

#include <string.h>

#include "lwip/altcp.h"
#include "lwip/altcp_tls.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/altcp_priv.h"

#if !LWIP_ALTCP || !LWIP_ALTCP_TLS
#error "biff_mqtt_link needs LWIP_ALTCP and LWIP_ALTCP_TLS in lwipopts.h"
#endif

/* Enough for a burst of the broker's messages per poll without a big stack frame. */
#define RX_CHUNK 512

static biff_mqtt_link *link_of(struct altcp_pcb *conn)
{
    return (biff_mqtt_link *)conn->state;
}

/* The pcb goes back to lwIP's pool; the link may be polled again and says closed. */
static void drop(biff_mqtt_link *l)
{
    struct altcp_pcb *c = l->pcb;
    l->pcb = NULL;
    l->connect_due = 0;
    if (c) altcp_free(c);
}

static void link_set_poll(struct altcp_pcb *conn, u8_t interval)
{
    (void)conn;
    (void)interval;
}
static void link_recved(struct altcp_pcb *conn, u16_t len)
{
    (void)conn;
    (void)len;
}

static err_t link_bind(struct altcp_pcb *conn, const ip_addr_t *ip, u16_t port)
{
    (void)conn;
    (void)ip;
    (void)port;
    return ERR_OK;
}

/* The transport is already connected: the address lwIP's client passes is not used. The
 * connected callback must not run inside mqtt_client_connect(), which sets its own state after
 * this returns, so it runs from the next poll. */
static err_t link_connect(struct altcp_pcb *conn, const ip_addr_t *ip, u16_t port, altcp_connected_fn connected)
{
    (void)ip;
    (void)port;
    conn->connected = connected;
    link_of(conn)->connect_due = 1;
    return ERR_OK;
}

static struct altcp_pcb *link_listen(struct altcp_pcb *conn, u8_t backlog, err_t *err)
{
    (void)conn;
    (void)backlog;
    if (err) *err = ERR_VAL;
    return NULL;
}

static void link_abort(struct altcp_pcb *conn)
{
    drop(link_of(conn));
}

static err_t link_close(struct altcp_pcb *conn)
{
    drop(link_of(conn));
    return ERR_OK;
}

static err_t link_shutdown(struct altcp_pcb *conn, int rx, int tx)
{
    (void)conn;
    (void)rx;
    (void)tx;
    return ERR_VAL;
}

/* Copies always (lwIP's client reuses its ring); the client asks sndbuf first, so a refusal
 * is only for a caller that did not. */
static err_t link_write(struct altcp_pcb *conn, const void *data, u16_t len, u8_t flags)
{
    biff_mqtt_link *l = link_of(conn);
    (void)flags;
    if (len > BIFF_MQTT_LINK_TX - l->tx_len) return ERR_MEM;
    memcpy(l->tx + l->tx_len, data, len);
    l->tx_len = (uint16_t)(l->tx_len + len);
    return ERR_OK;
}

static err_t link_output(struct altcp_pcb *conn)
{
    (void)conn;
    return ERR_OK;
}
static u16_t link_mss(struct altcp_pcb *conn)
{
    (void)conn;
    return BIFF_MQTT_LINK_TX;
}

static u16_t link_sndbuf(struct altcp_pcb *conn)
{
    return (u16_t)(BIFF_MQTT_LINK_TX - link_of(conn)->tx_len);
}

static u16_t link_sndqueuelen(struct altcp_pcb *conn)
{
    return link_of(conn)->tx_len ? 1 : 0;
}
static void link_nagle(struct altcp_pcb *conn)
{
    (void)conn;
}
static int link_nagle_disabled(struct altcp_pcb *conn)
{
    (void)conn;
    return 1;
}
static void link_setprio(struct altcp_pcb *conn, u8_t prio)
{
    (void)conn;
    (void)prio;
}
static void link_dealloc(struct altcp_pcb *conn)
{
    (void)conn;
}

static err_t link_addrinfo(struct altcp_pcb *conn, int local, ip_addr_t *addr, u16_t *port)
{
    (void)conn;
    (void)local;
    (void)addr;
    (void)port;
    return ERR_VAL;
}

static ip_addr_t *link_getip(struct altcp_pcb *conn, int local)
{
    (void)conn;
    (void)local;
    return NULL;
}

static u16_t link_getport(struct altcp_pcb *conn, int local)
{
    (void)conn;
    (void)local;
    return 0;
}

#if LWIP_TCP_KEEPALIVE
static void link_keepalive_off(struct altcp_pcb *conn)
{
    (void)conn;
}
static void link_keepalive_on(struct altcp_pcb *conn, u32_t idle, u32_t intvl, u32_t count)
{
    (void)conn;
    (void)idle;
    (void)intvl;
    (void)count;
}
#endif

#ifdef LWIP_DEBUG
static enum tcp_state link_state(struct altcp_pcb *conn)
{
    (void)conn;
    return ESTABLISHED;
}
#endif

static const struct altcp_functions link_fns = {
    link_set_poll,      link_recved,         link_bind,    link_connect, link_listen,   link_abort,       link_close,
    link_shutdown,      link_write,          link_output,  link_mss,     link_sndbuf,   link_sndqueuelen, link_nagle,
    link_nagle,         link_nagle_disabled, link_setprio, link_dealloc, link_addrinfo, link_getip,       link_getport,
#if LWIP_TCP_KEEPALIVE
    link_keepalive_off, link_keepalive_on,
#endif
#ifdef LWIP_DEBUG
    link_state,
#endif
};

struct altcp_pcb *altcp_tls_new(struct altcp_tls_config *config, u8_t ip_type)
{
    (void)ip_type;
    if (!config || !config->t || config->used) return NULL;
    struct altcp_pcb *c = altcp_alloc();
    if (!c) return NULL;
    c->fns = &link_fns;
    c->state = config;
    config->pcb = c;
    config->used = 1;
    return c;
}

void biff_mqtt_link_lwip_init(void)
{
    mem_init();
    memp_init();
}

void biff_mqtt_link_init(biff_mqtt_link *l, biff_transport *t)
{
    memset(l, 0, sizeof *l);
    l->t = t;
}

/* The transport failed: lwIP's error callback, as for a reset TCP connection (the pcb is
 * already gone when it runs). */
static void fail(biff_mqtt_link *l, biff_net_status st)
{
    struct altcp_pcb *c = l->pcb;
    altcp_err_fn err = c->err;
    void *arg = c->arg;
    l->failure = st;
    drop(l);
    if (err) err(arg, ERR_ABRT);
}

static void pump_out(biff_mqtt_link *l)
{
    if (!l->tx_len) return;
    int32_t n = l->t->send(l->t->ctx, l->tx, l->tx_len);
    if (n < 0) {
        fail(l, (biff_net_status)n);
        return;
    }
    if (n == 0) return;
    memmove(l->tx, l->tx + n, (size_t)(l->tx_len - n));
    l->tx_len = (uint16_t)(l->tx_len - n);
    struct altcp_pcb *c = l->pcb;
    if (c->sent) c->sent(c->arg, c, (u16_t)n);
}

static void pump_in(biff_mqtt_link *l)
{
    uint8_t buf[RX_CHUNK];
    for (int i = 0; i < 4 && l->pcb; i++) {
        struct altcp_pcb *c = l->pcb;
        int32_t n = l->t->recv(l->t->ctx, buf, sizeof buf);
        if (n == 0) return;
        if (n == BIFF_NET_E_CLOSED) {
            /* An orderly close is a NULL pbuf, as lwIP's TCP reports it. */
            if (c->recv)
                c->recv(c->arg, c, NULL, ERR_OK);
            else
                drop(l);
            return;
        }
        if (n < 0) {
            fail(l, (biff_net_status)n);
            return;
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
        if (!p) {
            fail(l, BIFF_NET_E_IO);
            return;
        }
        pbuf_take(p, buf, (u16_t)n);
        if (c->recv)
            c->recv(c->arg, c, p, ERR_OK);
        else
            pbuf_free(p);
    }
}

biff_mqtt_link_status biff_mqtt_link_poll(biff_mqtt_link *l)
{
    if (l->pcb && l->connect_due) {
        struct altcp_pcb *c = l->pcb;
        l->connect_due = 0;
        if (c->connected) c->connected(c->arg, c, ERR_OK);
    }
    if (l->pcb) pump_out(l);
    if (l->pcb) pump_in(l);
    if (l->pcb && l->pcb->poll) l->pcb->poll(l->pcb->arg, l->pcb);
    if (l->pcb) pump_out(l); /* what the received packets made due (PUBACK, PINGRESP handling) */
    return l->pcb || !l->used ? BIFF_MQTT_LINK_OK : BIFF_MQTT_LINK_E_CLOSED;
}

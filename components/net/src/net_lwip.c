/*
 * lwIP raw TCP backend of the transport interface. See biff/net_lwip.h for the contract.
 *
 * Ownership rules that keep this safe without malloc:
 * - lwIP frees the pcb itself before calling the tcp_err callback, so that callback only
 *   forgets the pointer; nothing here touches a pcb after an error.
 * - close() detaches every callback before handing the pcb back, so lwIP never calls into a
 *   connection the caller may already have reused.
 * - lwIP's DNS client cannot cancel a query. Its callback gets a generation number, not a
 *   pointer, and looks the connection up among the live ones; a stale answer finds nothing.
 */
#include "biff/net_lwip.h"

#include <stdio.h>
#include <string.h>

#include "lwip/dns.h"
#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/opt.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

enum {
    ST_IDLE = 0,
    ST_RESOLVING,
    ST_CONNECTING,
    ST_CONNECTED,
    ST_FAILED,
    ST_CLOSED, /* closed by us */
};

/* pbuf chains count in u16: beyond this the recv callback defers (lwIP keeps refused data). */
#define RXQ_MAX 0xFFFFu

static biff_net_lwip *live;
static uint32_t last_gen;

static void unlink_conn(biff_net_lwip *c)
{
    for (biff_net_lwip **pp = &live; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = NULL;
}

static const char *err_text(err_t e)
{
    switch (e) {
    case ERR_MEM: return "out of memory";
    case ERR_BUF: return "buffer error";
    case ERR_TIMEOUT: return "timeout";
    case ERR_RTE: return "no route to host";
    case ERR_VAL: return "illegal value";
    case ERR_USE: return "address in use";
    case ERR_ISCONN: return "already connected";
    case ERR_CONN: return "not connected";
    case ERR_IF: return "low-level netif error";
    case ERR_ABRT: return "connection aborted";
    case ERR_RST: return "connection reset";
    case ERR_CLSD: return "connection closed";
    case ERR_ARG: return "illegal argument";
    default: return "lwIP error";
    }
}

static void fail(biff_net_lwip *c, biff_net_status st, const char *why)
{
    c->state = ST_FAILED;
    c->err = (int8_t)st;
    snprintf(c->detail, sizeof c->detail, "%s", why);
}

static void detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_err(pcb, NULL);
}

/* ---------------------------------------------------------------- lwIP callbacks */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    biff_net_lwip *c = arg;
    if (!p) {
        if (c) c->fin = 1;
        return ERR_OK;
    }
    if (!c || err != ERR_OK) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    if (!c->rxq) {
        c->rxq = p;
    } else if ((uint32_t)c->rxq->tot_len + p->tot_len > RXQ_MAX) {
        return ERR_MEM; /* lwIP holds it as refused data and offers it again later */
    } else {
        pbuf_cat(c->rxq, p);
    }
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    biff_net_lwip *c = arg;
    if (!c) return;
    c->pcb = NULL; /* already freed by lwIP */
    if (c->state == ST_CONNECTING) {
        fail(c, BIFF_NET_E_CONNECT, err == ERR_RST ? "connection refused" : err_text(err));
    } else {
        fail(c, err == ERR_CLSD ? BIFF_NET_E_CLOSED : BIFF_NET_E_IO, err_text(err));
    }
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    biff_net_lwip *c = arg;
    if (c && err == ERR_OK) c->state = ST_CONNECTED;
    return ERR_OK;
}

static void start_tcp(biff_net_lwip *c, const ip_addr_t *addr)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(addr));
    if (!pcb) {
        fail(c, BIFF_NET_E_IO, "no free TCP PCB");
        return;
    }
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
    /* Request/response traffic with whole TLS records: Nagle would only hold a flight's last
     * record back for the peer's delayed ACK. */
    tcp_nagle_disable(pcb);
    c->pcb = pcb;
    c->state = ST_CONNECTING;
    err_t e = tcp_connect(pcb, addr, c->port, on_connected);
    if (e != ERR_OK) {
        detach(pcb);
        if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
        c->pcb = NULL;
        fail(c, BIFF_NET_E_CONNECT, err_text(e));
    }
}

#if LWIP_DNS
static void on_dns(const char *name, const ip_addr_t *addr, void *arg)
{
    (void)name;
    uint32_t gen = (uint32_t)(uintptr_t)arg;
    biff_net_lwip *c = live;
    while (c && c->gen != gen) c = c->next;
    if (!c || c->state != ST_RESOLVING) return; /* closed or reused meanwhile */
    if (!addr)
        fail(c, BIFF_NET_E_RESOLVE, "name not found (or no DNS answer)");
    else
        start_tcp(c, addr);
}
#endif

/* ---------------------------------------------------------------- transport */

static int32_t lwip_send(void *ctx, const uint8_t *buf, size_t len)
{
    biff_net_lwip *c = ctx;
    if (c->state == ST_FAILED) return c->err;
    if (c->state == ST_CLOSED) return BIFF_NET_E_CLOSED;
    if (c->state != ST_CONNECTED || len == 0) return 0;
    size_t room = tcp_sndbuf(c->pcb);
    if (room == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN) return 0;
    if (len > room) len = room;
    if (len > 0xFFFFu) len = 0xFFFFu;
    err_t e = tcp_write(c->pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
    if (e == ERR_MEM) {
        tcp_output(c->pcb);
        return 0;
    }
    if (e != ERR_OK) {
        fail(c, BIFF_NET_E_IO, err_text(e));
        return c->err;
    }
    /* Errors here are transient (no ARP entry yet, netif busy): lwIP retransmits on its timer. */
    tcp_output(c->pcb);
    return (int32_t)len;
}

static int32_t lwip_recv(void *ctx, uint8_t *buf, size_t len)
{
    biff_net_lwip *c = ctx;
    if (c->rxq && len > 0) {
        if (len > c->rxq->tot_len) len = c->rxq->tot_len;
        u16_t n = pbuf_copy_partial(c->rxq, buf, (u16_t)len, 0);
        c->rxq = pbuf_free_header(c->rxq, n);
        if (c->pcb) tcp_recved(c->pcb, n); /* reopen the window only for what was consumed */
        return n;
    }
    if (c->state == ST_FAILED) return c->err;
    if (c->state == ST_CLOSED || c->fin) return BIFF_NET_E_CLOSED;
    return 0;
}

/* ---------------------------------------------------------------- API */

biff_net_status biff_net_lwip_connect(biff_net_lwip *c, const char *host, uint16_t port, biff_transport *t)
{
    if (!c || !host || !*host || !t || port == 0) return BIFF_NET_E_ARG;
    unlink_conn(c);
    memset(c, 0, sizeof *c);
    c->port = port;
    if (++last_gen == 0) last_gen = 1;
    c->gen = last_gen;
    c->next = live;
    live = c;
    t->send = lwip_send;
    t->recv = lwip_recv;
    t->ctx = c;

    ip_addr_t addr;
    c->state = ST_RESOLVING;
#if LWIP_DNS
    /* The callback may run before this returns (no usable server): it then sets the state. */
    err_t e = dns_gethostbyname(host, &addr, on_dns, (void *)(uintptr_t)c->gen);
    if (e == ERR_OK) {
        start_tcp(c, &addr);
    } else if (e != ERR_INPROGRESS) {
        fail(c, BIFF_NET_E_RESOLVE,
             e == ERR_VAL   ? "no DNS server configured"
             : e == ERR_MEM ? "DNS query table full"
                            : "name not resolvable");
        return BIFF_NET_E_RESOLVE;
    }
#else
    if (!ipaddr_aton(host, &addr)) {
        fail(c, BIFF_NET_E_RESOLVE, "not an address (no DNS in this build)");
        return BIFF_NET_E_RESOLVE;
    }
    start_tcp(c, &addr);
#endif
    return BIFF_NET_OK;
}

unsigned biff_net_lwip_poll(const biff_net_lwip *c)
{
    if (!c) return 0;
    switch (c->state) {
    case ST_FAILED:
    case ST_CLOSED: return BIFF_NET_LWIP_FAILED | BIFF_NET_LWIP_READABLE | BIFF_NET_LWIP_WRITABLE;
    case ST_CONNECTED: {
        unsigned f = BIFF_NET_LWIP_CONNECTED;
        if (c->rxq || c->fin) f |= BIFF_NET_LWIP_READABLE;
        if (tcp_sndbuf(c->pcb) > 0 && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN) f |= BIFF_NET_LWIP_WRITABLE;
        return f;
    }
    default: return 0;
    }
}

biff_net_status biff_net_lwip_error(const biff_net_lwip *c)
{
    if (!c) return BIFF_NET_E_ARG;
    if (c->state == ST_FAILED) return (biff_net_status)c->err;
    if (c->state == ST_CLOSED || (c->fin && !c->rxq)) return BIFF_NET_E_CLOSED;
    return BIFF_NET_OK;
}

const char *biff_net_lwip_detail(const biff_net_lwip *c)
{
    return c ? c->detail : "";
}

void biff_net_lwip_close(biff_net_lwip *c)
{
    if (!c) return;
    unlink_conn(c);
    if (c->pcb) {
        struct tcp_pcb *pcb = c->pcb;
        c->pcb = NULL;
        detach(pcb);
        /* Unread data would make lwIP answer the close with RST; the server did nothing wrong. */
        if (c->rxq) tcp_recved(pcb, c->rxq->tot_len);
        if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
    }
    if (c->rxq) {
        pbuf_free(c->rxq);
        c->rxq = NULL;
    }
    if (c->state != ST_IDLE && c->state != ST_FAILED) c->state = ST_CLOSED;
}

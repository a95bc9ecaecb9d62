/*
 * The lwIP backend against a real lwIP peer in the same process: both ends run over lwIP's
 * loopback netif (127.0.0.1), so flow control, FIN, RST and refusals are lwIP's own behaviour,
 * not a mock's. The TAP/Dovecot test (tests/integration/lwip) covers the kernel side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "biff/net_lwip.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/dns.h"
#include "lwip/udp.h"

/* A fresh port per test: the previous test's pcbs may still sit in TIME_WAIT. */
static uint16_t PORT = 4320;

/* The server side: raw lwIP, as simple as a test peer can be. */
static struct {
    struct tcp_pcb *listener, *conn;
    uint32_t received;
    uint8_t expect; /* next byte of the client's pattern */
    int bad_byte;
} srv;

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (!p) return ERR_OK;
    for (struct pbuf *q = p; q; q = q->next) {
        const uint8_t *d = q->payload;
        for (u16_t i = 0; i < q->len; i++) {
            if (d[i] != srv.expect) srv.bad_byte = 1;
            srv.expect = (uint8_t)(srv.expect * 5 + 1);
        }
    }
    srv.received += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void srv_err(void *arg, err_t err)
{
    (void)arg;
    (void)err;
    srv.conn = NULL;
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    (void)err;
    srv.conn = pcb;
    tcp_recv(pcb, srv_recv);
    tcp_err(pcb, srv_err);
    return ERR_OK;
}

static void pump(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        netif_poll_all();
        sys_check_timeouts();
    }
}

static int setup(void **state)
{
    (void)state;
    static int up;
    if (!up) {
        lwip_init();
        up = 1;
    }
    memset(&srv, 0, sizeof srv);
    PORT++;
    srv.listener = tcp_new_ip_type(IPADDR_TYPE_V4);
    assert_non_null(srv.listener);
    assert_int_equal(tcp_bind(srv.listener, IP4_ADDR_ANY, PORT), ERR_OK);
    srv.listener = tcp_listen(srv.listener);
    assert_non_null(srv.listener);
    tcp_accept(srv.listener, srv_accept);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (srv.conn) {
        tcp_arg(srv.conn, NULL);
        tcp_recv(srv.conn, NULL);
        tcp_err(srv.conn, NULL);
        tcp_abort(srv.conn);
    }
    tcp_close(srv.listener);
    pump(50);
    return 0;
}

static void connect_ok(biff_net_lwip *c, biff_transport *t)
{
    assert_int_equal(biff_net_lwip_connect(c, "127.0.0.1", PORT, t), BIFF_NET_OK);
    uint8_t b;
    assert_int_equal(t->send(t->ctx, &b, 1), 0); /* not connected yet: "not now" */
    for (int i = 0; i < 100 && !(biff_net_lwip_poll(c) & BIFF_NET_LWIP_CONNECTED); i++) pump(1);
    assert_true(biff_net_lwip_poll(c) & BIFF_NET_LWIP_CONNECTED);
    assert_true(biff_net_lwip_poll(c) & BIFF_NET_LWIP_WRITABLE);
    assert_false(biff_net_lwip_poll(c) & BIFF_NET_LWIP_READABLE);
    pump(5);
    assert_non_null(srv.conn);
}

/* Server pushes as much as lwIP lets it; returns bytes queued this round. */
static uint32_t srv_push(uint8_t *next, uint32_t limit)
{
    uint8_t chunk[512];
    uint32_t pushed = 0;
    while (pushed < limit && srv.conn && tcp_sndbuf(srv.conn) > 0) {
        u16_t n = (u16_t)LWIP_MIN(sizeof chunk, tcp_sndbuf(srv.conn));
        if (n > limit - pushed) n = (u16_t)(limit - pushed);
        for (u16_t i = 0; i < n; i++) {
            chunk[i] = *next;
            *next = (uint8_t)(*next * 5 + 1);
        }
        if (tcp_write(srv.conn, chunk, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
        pushed += n;
    }
    if (srv.conn) tcp_output(srv.conn);
    return pushed;
}

static void test_slow_reader_throttles_the_sender(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    connect_ok(&c, &t);
    const uint32_t total = 200000; /* far beyond window + send buffer */
    uint8_t gen = 0, want = 0;
    uint32_t pushed = 0, got = 0;
    uint8_t buf[700];
    int stalled_seen = 0;
    for (int round = 0; got < total && round < 20000; round++) {
        pushed += srv_push(&gen, total - pushed);
        pump(2);
        uint32_t queued = c.rxq ? c.rxq->tot_len : 0;
        assert_true(queued <= TCP_WND); /* lwIP's window bounds what waits for the engine */
        if (queued == TCP_WND) stalled_seen = 1;
        /* Read only every third round, in small pieces: the engine is slower than the link. */
        if (round % 3 == 0) {
            int32_t n = t.recv(t.ctx, buf, sizeof buf);
            assert_true(n >= 0);
            for (int32_t i = 0; i < n; i++) {
                assert_int_equal(buf[i], want);
                want = (uint8_t)(want * 5 + 1);
            }
            got += (uint32_t)n;
        }
    }
    assert_int_equal(got, total);
    assert_true(stalled_seen); /* the window really filled up and the sender waited */

    /* FIN after the data: still READABLE, then E_CLOSED, and it stays closed. */
    assert_int_equal(tcp_close(srv.conn), ERR_OK);
    srv.conn = NULL;
    pump(5);
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_READABLE);
    assert_int_equal(t.recv(t.ctx, buf, sizeof buf), BIFF_NET_E_CLOSED);
    assert_int_equal(biff_net_lwip_error(&c), BIFF_NET_E_CLOSED);
    biff_net_lwip_close(&c);
    biff_net_lwip_close(&c); /* idempotent */
}

static void test_data_before_fin_is_delivered_first(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    connect_ok(&c, &t);
    assert_int_equal(tcp_write(srv.conn, "* BYE\r\n", 7, TCP_WRITE_FLAG_COPY), ERR_OK);
    assert_int_equal(tcp_close(srv.conn), ERR_OK);
    srv.conn = NULL;
    pump(5);
    uint8_t buf[32];
    assert_int_equal(t.recv(t.ctx, buf, 3), 3);
    assert_int_equal(biff_net_lwip_error(&c), BIFF_NET_OK); /* data still queued */
    assert_int_equal(t.recv(t.ctx, buf + 3, sizeof buf - 3), 4);
    assert_memory_equal(buf, "* BYE\r\n", 7);
    assert_int_equal(t.recv(t.ctx, buf, sizeof buf), BIFF_NET_E_CLOSED);
    biff_net_lwip_close(&c);
}

static void test_send_returns_zero_when_full_and_everything_arrives(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    connect_ok(&c, &t);
    const uint32_t total = 100000;
    uint8_t gen = 0, chunk[3000];
    uint32_t sent = 0;
    int saw_full = 0;
    for (int round = 0; sent < total && round < 20000; round++) {
        /* Write until the stack says "not now", as the TLS layer would, then let lwIP run. */
        for (;;) {
            uint8_t g = gen;
            uint32_t n = LWIP_MIN(sizeof chunk, total - sent);
            if (n == 0) break;
            for (uint32_t i = 0; i < n; i++) {
                chunk[i] = g;
                g = (uint8_t)(g * 5 + 1);
            }
            int32_t w = t.send(t.ctx, chunk, n);
            assert_true(w >= 0);
            if (w == 0) {
                saw_full = 1;
                assert_false(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_WRITABLE);
                break;
            }
            for (int32_t i = 0; i < w; i++) gen = (uint8_t)(gen * 5 + 1);
            sent += (uint32_t)w;
        }
        pump(1);
    }
    pump(20);
    assert_int_equal(sent, total);
    assert_true(saw_full);
    assert_int_equal(srv.received, total);
    assert_false(srv.bad_byte);
    biff_net_lwip_close(&c);
}

static void test_reset_is_io_error_after_queued_data(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    connect_ok(&c, &t);
    assert_int_equal(tcp_write(srv.conn, "abc", 3, TCP_WRITE_FLAG_COPY), ERR_OK);
    tcp_output(srv.conn);
    pump(5);
    struct tcp_pcb *p = srv.conn;
    srv.conn = NULL;
    tcp_err(p, NULL);
    tcp_abort(p); /* sends RST: the client's pcb is freed by lwIP */
    pump(5);
    assert_null(c.pcb);
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_FAILED);
    uint8_t buf[8];
    assert_int_equal(t.recv(t.ctx, buf, sizeof buf), 3);
    assert_int_equal(t.recv(t.ctx, buf, sizeof buf), BIFF_NET_E_IO);
    assert_int_equal(t.send(t.ctx, buf, 1), BIFF_NET_E_IO);
    assert_string_not_equal(biff_net_lwip_detail(&c), "");
    biff_net_lwip_close(&c); /* must not touch the freed pcb */
}

static void test_refused_port(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    assert_int_equal(biff_net_lwip_connect(&c, "127.0.0.1", PORT + 1, &t), BIFF_NET_OK);
    for (int i = 0; i < 50 && !biff_net_lwip_poll(&c); i++) pump(1);
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_FAILED);
    assert_int_equal(biff_net_lwip_error(&c), BIFF_NET_E_CONNECT);
    assert_string_equal(biff_net_lwip_detail(&c), "connection refused");
    biff_net_lwip_close(&c);
}

static void test_name_without_dns_server_and_bad_args(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    assert_int_equal(biff_net_lwip_connect(&c, "mail.example", PORT, &t), BIFF_NET_E_RESOLVE);
    assert_int_equal(biff_net_lwip_error(&c), BIFF_NET_E_RESOLVE);
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_FAILED);
    biff_net_lwip_close(&c);
    assert_int_equal(biff_net_lwip_connect(&c, "", PORT, &t), BIFF_NET_E_ARG);
    assert_int_equal(biff_net_lwip_connect(&c, "127.0.0.1", 0, &t), BIFF_NET_E_ARG);
}

static void test_close_while_connecting_and_reuse(void **state)
{
    (void)state;
    biff_net_lwip c;
    biff_transport t;
    /* Closed before lwIP ran at all: the SYN never gets an answer to deliver. */
    assert_int_equal(biff_net_lwip_connect(&c, "127.0.0.1", PORT, &t), BIFF_NET_OK);
    biff_net_lwip_close(&c);
    pump(10);
    assert_int_equal(biff_net_lwip_error(&c), BIFF_NET_E_CLOSED);
    uint8_t b;
    assert_int_equal(t.recv(t.ctx, &b, 1), BIFF_NET_E_CLOSED);
    /* The same memory serves the next connection. */
    if (srv.conn) {
        tcp_abort(srv.conn);
        srv.conn = NULL;
    }
    connect_ok(&c, &t);
    biff_net_lwip_close(&c);
}

/* A DNS server on lwIP's own loopback: every A query gets 127.0.0.1, names starting with
 * "stale" get 127.0.0.2 (nothing there), so a misrouted answer shows. */
static int dns_queries;

static void dns_srv_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    (void)arg;
    uint8_t q[256];
    u16_t n = pbuf_copy_partial(p, q, sizeof q, 0);
    pbuf_free(p);
    if (n < 17 || (size_t)n + 16 > sizeof q) return;
    dns_queries++;
    q[2] = 0x81; /* response, recursion desired+available, no error */
    q[3] = 0x80;
    q[7] = 1; /* one answer */
    static const uint8_t answer[16] = { 0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1 };
    memcpy(q + n, answer, sizeof answer);
    if (memcmp(q + 13, "stale", 5) == 0) q[n + 15] = 2;
    struct pbuf *r = pbuf_alloc(PBUF_TRANSPORT, (u16_t)(n + sizeof answer), PBUF_RAM);
    assert_non_null(r);
    pbuf_take(r, q, (u16_t)(n + sizeof answer));
    udp_sendto(pcb, r, addr, port);
    pbuf_free(r);
}

static void test_dns_name_and_stale_answer_after_close(void **state)
{
    (void)state;
    struct udp_pcb *dns_srv = udp_new_ip_type(IPADDR_TYPE_V4);
    assert_non_null(dns_srv);
    assert_int_equal(udp_bind(dns_srv, IP4_ADDR_ANY, 53), ERR_OK);
    udp_recv(dns_srv, dns_srv_recv, NULL);
    ip_addr_t lo;
    IP_ADDR4(&lo, 127, 0, 0, 1);
    dns_setserver(0, &lo);
    dns_queries = 0;

    /* A name through lwIP's resolver, then TCP to the answer. */
    biff_net_lwip c;
    biff_transport t;
    assert_int_equal(biff_net_lwip_connect(&c, "mail.test", PORT, &t), BIFF_NET_OK);
    for (int i = 0; i < 100 && !(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_CONNECTED); i++) pump(1);
    assert_int_equal(dns_queries, 1);
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_CONNECTED);
    biff_net_lwip_close(&c);
    pump(5);
    if (srv.conn) {
        tcp_abort(srv.conn);
        srv.conn = NULL;
    }

    /* Closed while the query is out, memory reused at once for another name: the late answer
     * (127.0.0.2) must not land in the new connection, which must get its own (127.0.0.1). */
    assert_int_equal(biff_net_lwip_connect(&c, "stale.test", PORT, &t), BIFF_NET_OK);
    biff_net_lwip_close(&c);
    assert_int_equal(biff_net_lwip_connect(&c, "mail2.test", PORT, &t), BIFF_NET_OK);
    for (int i = 0; i < 100 && !biff_net_lwip_poll(&c); i++) pump(1);
    assert_int_equal(dns_queries, 3); /* the stale answer did arrive */
    assert_true(biff_net_lwip_poll(&c) & BIFF_NET_LWIP_CONNECTED);
    biff_net_lwip_close(&c);

    dns_setserver(0, NULL);
    udp_remove(dns_srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slow_reader_throttles_the_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_before_fin_is_delivered_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_returns_zero_when_full_and_everything_arrives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_is_io_error_after_queued_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_without_dns_server_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_connecting_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_name_and_stale_answer_after_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

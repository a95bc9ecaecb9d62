#include "status_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/tcp.h"

#define RESP_MAX 3072  /* the HTML page with its inline CSS for a few accounts */
#define HEAD_ROOM 160  /* the header is written in front of the body, right-aligned */
#define REQ_MAX 768 /* request line, headers and the /ack form; longer requests are cut */

static status_render_fn renderer;
static status_ack_fn acker;
static const char *token;

/* One response in flight; lwIP copies what it queues, in pieces as the send buffer frees up. */
static struct {
    struct tcp_pcb *pcb;
    char buf[RESP_MAX];
    size_t off, len;
    char req[REQ_MAX];
    size_t req_len;
} r;

static void finish(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
    if (r.pcb == pcb) r.pcb = NULL;
}

static void pump(struct tcp_pcb *pcb)
{
    while (r.off < r.len) {
        size_t n = r.len - r.off;
        size_t room = tcp_sndbuf(pcb);
        if (room == 0) break;
        if (n > room) n = room;
        if (tcp_write(pcb, r.buf + r.off, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
        r.off += n;
    }
    tcp_output(pcb);
}

static void respond(struct tcp_pcb *pcb, const char *status, int html, size_t body_len)
{
    char head[HEAD_ROOM];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %u\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n",
                     status, html ? "text/html; charset=utf-8" : "application/json", (unsigned)body_len);
    if (h < 0 || (size_t)h >= HEAD_ROOM) h = 0;
    memcpy(r.buf + HEAD_ROOM - (size_t)h, head, (size_t)h);
    r.off = HEAD_ROOM - (size_t)h;
    r.len = HEAD_ROOM + body_len;
    pump(pcb);
    /* Everything queued: close now (the FIN follows the data), so the next client need not
     * wait for our ACKs. Otherwise on_sent() queues the rest and closes. */
    if (r.off == r.len) finish(pcb);
}

static void handle(struct tcp_pcb *pcb)
{
    const char *q = r.req;
    if (strncmp(q, "GET /status.json ", 17) == 0 || strncmp(q, "GET / ", 6) == 0) {
        int html = q[5] == ' ';
        size_t n = renderer(r.buf + HEAD_ROOM, sizeof r.buf - HEAD_ROOM, html);
        respond(pcb, n ? "200 OK" : "500 Internal Server Error", html, n);
    } else if (strncmp(q, "POST /ack ", 10) == 0) {
        /* The token in the form body proves the request came from our own page. */
        char want[64];
        snprintf(want, sizeof want, "csrf=%s", token);
        const char *body = strstr(q, "\r\n\r\n");
        int ok = body && strncmp(body + 4, want, strlen(want)) == 0;
        if (ok) acker();
        size_t n = (size_t)snprintf(r.buf + HEAD_ROOM, sizeof r.buf - HEAD_ROOM, "{\"acknowledged\":%s}\n",
                                    ok ? "true" : "false");
        respond(pcb, ok ? "200 OK" : "403 Forbidden", 0, n);
    } else {
        respond(pcb, "404 Not Found", 0, 0);
    }
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)arg;
    (void)len;
    if (r.pcb != pcb) return ERR_OK;
    pump(pcb);
    if (r.off == r.len) finish(pcb);
    return ERR_OK;
}

static int request_complete(void)
{
    const char *end = strstr(r.req, "\r\n\r\n");
    if (!end) return r.req_len == sizeof r.req - 1; /* oversized: handle what we have */
    if (strncmp(r.req, "POST ", 5) != 0) return 1;
    const char *cl = strstr(r.req, "Content-Length: ");
    unsigned long want = cl ? strtoul(cl + 16, NULL, 10) : 0;
    return (size_t)(r.req + r.req_len - (end + 4)) >= want || r.req_len == sizeof r.req - 1;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    if (!p || err != ERR_OK) {
        if (p) pbuf_free(p);
        finish(pcb);
        return ERR_OK;
    }
    tcp_recved(pcb, p->tot_len);
    if (r.pcb == pcb && r.len == 0) {
        r.req_len += pbuf_copy_partial(p, r.req + r.req_len, (u16_t)(sizeof r.req - 1 - r.req_len), 0);
        r.req[r.req_len] = 0;
        if (request_complete()) handle(pcb);
    }
    pbuf_free(p);
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    (void)arg;
    (void)err;
    r.pcb = NULL; /* lwIP freed it */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb) return ERR_VAL;
    if (r.pcb) { /* busy with another client */
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    r.pcb = pcb;
    r.off = r.len = r.req_len = 0;
    r.req[0] = 0;
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    return ERR_OK;
}

int status_http_start(unsigned port, status_render_fn render, status_ack_fn ack, const char *csrf)
{
    renderer = render;
    acker = ack;
    token = csrf;
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
    if (!pcb) return -1;
    if (tcp_bind(pcb, IP_ANY_TYPE, (u16_t)port) != ERR_OK) {
        tcp_close(pcb);
        return -1;
    }
    struct tcp_pcb *l = tcp_listen_with_backlog(pcb, 1);
    if (!l) {
        tcp_close(pcb);
        return -1;
    }
    tcp_accept(l, on_accept);
    return 0;
}

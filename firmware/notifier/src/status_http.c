#include "status_http.h"

#include <stdio.h>
#include <string.h>

#include "lwip/tcp.h"

#define RESP_MAX 1400
#define HEAD_ROOM 128 /* the header is written in front of the body, right-aligned */

static status_render_fn renderer;
static char resp[RESP_MAX]; /* one response at a time: lwIP copies it (TCP_WRITE_FLAG_COPY) */

static void respond(struct tcp_pcb *pcb, const char *req)
{
    int html = 0, found = 1;
    if (strncmp(req, "GET /status.json", 16) == 0 && (req[16] == ' ' || req[16] == '?')) html = 0;
    else if (strncmp(req, "GET / ", 6) == 0) html = 1;
    else found = 0;
    size_t body = 0;
    if (found) body = renderer(resp + HEAD_ROOM, sizeof resp - HEAD_ROOM, html);
    char head[HEAD_ROOM];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %u\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n",
                     found ? "200 OK" : "404 Not Found",
                     html ? "text/html; charset=utf-8" : "application/json", (unsigned)body);
    if (h < 0 || (size_t)h >= HEAD_ROOM) return;
    memcpy(resp + HEAD_ROOM - (size_t)h, head, (size_t)h);
    size_t len = (size_t)h + body;
    if (len > tcp_sndbuf(pcb)) len = tcp_sndbuf(pcb); /* the page fits TCP_SND_BUF; never more */
    (void)tcp_write(pcb, resp + HEAD_ROOM - (size_t)h, (u16_t)len, TCP_WRITE_FLAG_COPY);
    (void)tcp_output(pcb);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    if (!p || err != ERR_OK) {
        if (p) pbuf_free(p);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        if (tcp_close(pcb) != ERR_OK) {
            tcp_abort(pcb);
            return ERR_ABRT;
        }
        return ERR_OK;
    }
    char req[40];
    u16_t n = pbuf_copy_partial(p, req, sizeof req - 1, 0);
    req[n] = 0;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    /* The request line arrives in the first segment from every client that matters; the
     * rest of the request is not needed. */
    tcp_recv(pcb, NULL);
    respond(pcb, req);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb) return ERR_VAL;
    tcp_recv(pcb, on_recv);
    return ERR_OK;
}

int status_http_start(unsigned port, status_render_fn render)
{
    renderer = render;
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

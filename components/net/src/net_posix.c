#define _DEFAULT_SOURCE
#include "biff/net_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int32_t posix_send(void *ctx, const uint8_t *buf, size_t len)
{
    biff_net_posix *s = ctx;
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int32_t)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    return errno == EPIPE ? BIFF_NET_E_CLOSED : BIFF_NET_E_IO;
}

static int32_t posix_recv(void *ctx, uint8_t *buf, size_t len)
{
    biff_net_posix *s = ctx;
    if (len > INT32_MAX) len = INT32_MAX;
    ssize_t n = recv(s->fd, buf, len, 0);
    if (n > 0) return (int32_t)n;
    if (n == 0) return BIFF_NET_E_CLOSED;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    return BIFF_NET_E_IO;
}

static void connected(biff_net_posix *s, biff_transport *t)
{
    freeaddrinfo(s->res);
    s->res = s->next = NULL;
    /* The engines already batch a whole flight into one write; Nagle would only hold back the
     * TLS record that follows and cost a delayed-ACK wait (about 40 ms) per flight. */
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* An IDLE session is silent for up to 25 minutes: keepalive probes find a dead peer within
     * about 90 s and keep NAT mappings open meanwhile. */
    int idle = 60, intvl = 10, cnt = 3;
    setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    t->send = posix_send;
    t->recv = posix_recv;
    t->ctx = s;
}

static void note_failure(biff_net_posix *s, const struct addrinfo *ai, int err)
{
    char addr[64] = "?";
    getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    snprintf(s->detail, sizeof s->detail, "%s port %u: %s", addr, s->port, strerror(err));
    s->timed_out = err == ETIMEDOUT;
}

/* Start on the next untried address: PENDING, OK (connected at once) or the final error. */
static biff_net_status try_next(biff_net_posix *s, biff_transport *t)
{
    while (s->next) {
        const struct addrinfo *ai = s->next;
        s->next = ai->ai_next;
        s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (s->fd < 0) {
            note_failure(s, ai, errno);
            continue;
        }
        if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            connected(s, t);
            return BIFF_NET_OK;
        }
        if (errno == EINPROGRESS) return BIFF_NET_PENDING;
        note_failure(s, ai, errno);
        close(s->fd);
        s->fd = -1;
    }
    freeaddrinfo(s->res);
    s->res = NULL;
    return s->timed_out ? BIFF_NET_E_TIMEOUT : BIFF_NET_E_CONNECT;
}

/* The address being tried: the one before s->next in the list. */
static const struct addrinfo *current(const biff_net_posix *s)
{
    const struct addrinfo *ai = s->res;
    while (ai && ai->ai_next != s->next) ai = ai->ai_next;
    return ai;
}

biff_net_status biff_net_posix_connect_start(biff_net_posix *s, const char *host, unsigned port, biff_transport *t)
{
    if (!s || !host || !t || port == 0 || port > 65535) return BIFF_NET_E_ARG;
    s->fd = -1;
    s->port = port;
    s->res = s->next = NULL;
    s->timed_out = 0;
    s->detail[0] = 0;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
    int gai = getaddrinfo(host, service, &hints, &s->res);
    if (gai != 0) {
        s->res = NULL;
        snprintf(s->detail, sizeof s->detail, "%s: %s", host, gai_strerror(gai));
        return BIFF_NET_E_RESOLVE;
    }
    s->next = s->res;
    return try_next(s, t);
}

biff_net_status biff_net_posix_connect_step(biff_net_posix *s, biff_transport *t)
{
    /* SO_ERROR is also 0 while the handshake is still under way: only a writable socket is done. */
    struct pollfd p = { .fd = s->fd, .events = POLLOUT };
    if (poll(&p, 1, 0) == 0) return BIFF_NET_PENDING;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
        connected(s, t);
        return BIFF_NET_OK;
    }
    note_failure(s, current(s), err);
    close(s->fd);
    s->fd = -1;
    return try_next(s, t);
}

biff_net_status biff_net_posix_connect_next(biff_net_posix *s, biff_transport *t)
{
    note_failure(s, current(s), ETIMEDOUT);
    close(s->fd);
    s->fd = -1;
    return try_next(s, t);
}

biff_net_status biff_net_posix_connect(biff_net_posix *s, const char *host, unsigned port, int timeout_ms,
                                       biff_transport *t)
{
    biff_net_status st = biff_net_posix_connect_start(s, host, port, t);
    while (st == BIFF_NET_PENDING) {
        st = biff_net_posix_wait(s, 1, timeout_ms) == BIFF_NET_OK ? biff_net_posix_connect_step(s, t)
                                                                  : biff_net_posix_connect_next(s, t);
    }
    return st;
}

biff_net_status biff_net_posix_wait(biff_net_posix *s, int want_write, int timeout_ms)
{
    struct pollfd p = { .fd = s->fd, .events = want_write ? POLLOUT : POLLIN };
    int r;
    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return BIFF_NET_E_IO;
    return r == 0 ? BIFF_NET_E_TIMEOUT : BIFF_NET_OK;
}

void biff_net_posix_close(biff_net_posix *s)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    if (s->res) freeaddrinfo(s->res);
    s->res = s->next = NULL;
}

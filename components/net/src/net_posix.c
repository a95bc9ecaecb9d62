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

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int r;
    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        *err = ETIMEDOUT;
        close(fd);
        return -1;
    }
    socklen_t len = sizeof *err;
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) != 0 || *err != 0) {
        if (r < 0) *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

biff_net_status biff_net_posix_connect(biff_net_posix *s, const char *host, unsigned port,
                                       int timeout_ms, biff_transport *t)
{
    if (!s || !host || !t || port == 0 || port > 65535) return BIFF_NET_E_ARG;
    s->fd = -1;
    s->detail[0] = 0;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_ADDRCONFIG }, *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        snprintf(s->detail, sizeof s->detail, "%s: %s", host, gai_strerror(gai));
        return BIFF_NET_E_RESOLVE;
    }
    int err = 0, timed_out = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        s->fd = connect_one(ai, timeout_ms, &err);
        if (s->fd >= 0) break;
        char addr[64] = "?";
        getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
        snprintf(s->detail, sizeof s->detail, "%s port %u: %s", addr, port, strerror(err));
        timed_out = err == ETIMEDOUT;
    }
    freeaddrinfo(res);
    if (s->fd < 0) return timed_out ? BIFF_NET_E_TIMEOUT : BIFF_NET_E_CONNECT;
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
    return BIFF_NET_OK;
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
    if (s && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

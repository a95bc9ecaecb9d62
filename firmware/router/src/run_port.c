#define _DEFAULT_SOURCE
#include "run_port.h"

#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "biff/net_posix.h"

static biff_net_posix socks[RUN_PORT_BROKER + 1];
static biff_transport links[RUN_PORT_BROKER + 1];

int64_t run_port_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t port_now(void *ctx)
{
    (void)ctx;
    return (uint64_t)run_port_ms();
}

static uint32_t port_wall(void *ctx)
{
    (void)ctx;
    return (uint32_t)time(NULL);
}

static uint32_t port_random(void *ctx)
{
    uint32_t seed;
    (void)ctx;
    return getrandom(&seed, sizeof seed, 0) == (ssize_t)sizeof seed ? seed : (uint32_t)time(NULL);
}

static biff_net_status port_open(void *ctx, unsigned k, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx;
    biff_net_status ns;
    if (k > RUN_PORT_BROKER) return BIFF_NET_E_ARG;
    if (op == BIFF_AGENT_OPEN_START) {
        socks[k].fd = -1;
        ns = biff_net_posix_connect_start(&socks[k], host, port, &links[k]);
    } else if (op == BIFF_AGENT_OPEN_STEP) {
        ns = biff_net_posix_connect_step(&socks[k], &links[k]);
    } else {
        ns = biff_net_posix_connect_next(&socks[k], &links[k]);
    }
    if (ns == BIFF_NET_OK)
        *t = &links[k];
    else if (ns != BIFF_NET_PENDING)
        snprintf(detail, cap, "%s", socks[k].detail);
    return ns;
}

static void port_close(void *ctx, unsigned k)
{
    (void)ctx;
    if (k <= RUN_PORT_BROKER) biff_net_posix_close(&socks[k]);
}

void run_port_init(biff_agent_port *p)
{
    p->now_ms = port_now;
    p->wall_time = port_wall;
    p->random = port_random;
    p->open = port_open;
    p->close = port_close;
}

void run_port_pollfd(unsigned k, unsigned want, struct pollfd *pfd, nfds_t *n, nfds_t cap)
{
    if (k > RUN_PORT_BROKER || want == BIFF_AGENT_WANT_NONE || socks[k].fd < 0 || *n >= cap) return;
    pfd[(*n)++] = (struct pollfd){ .fd = socks[k].fd,
                                   .events = (short)(((want & BIFF_AGENT_WANT_READ) ? POLLIN : 0) |
                                                     ((want & BIFF_AGENT_WANT_WRITE) ? POLLOUT : 0)) };
}

void run_port_pollfds(const biff_agent *ag, struct pollfd *pfd, nfds_t *n, nfds_t cap)
{
    for (unsigned k = 0; k < RUN_PORT_SESSIONS; k++) run_port_pollfd(k, biff_agent_session_want(ag, k), pfd, n, cap);
}

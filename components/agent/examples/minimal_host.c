/*
 * A minimal host of the agent (README "Embedding tinybiff"): one account from the command line,
 * POSIX sockets, the CA bundle given (or the system's), no flash (nothing kept across runs).
 * It prints the counts whenever they change. Usage:
 *
 *   TINYBIFF_PASSWORD=... minimal_host imaps://user@host/INBOX [CA_FILE [SECONDS]]
 *
 * An MCU host differs only in its port: lwIP instead of sockets, its board's clock and flash.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "biff/agent.h"
#include "biff/net_posix.h"
#include "biff/tls_heap.h"
#include "biff/url.h"

static biff_net_posix sock = { .fd = -1 };
static biff_transport link_t;
static biff_tls_ctx tls;

/* ---- the port: a clock, a link, TLS trust, and what to do with events */

static uint64_t now_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t wall(void *ctx)
{
    (void)ctx;
    return (uint32_t)time(NULL);
}

static biff_net_status open_link(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx, (void)s;
    biff_net_status ns = op == BIFF_AGENT_OPEN_START  ? biff_net_posix_connect_start(&sock, host, port, &link_t)
                         : op == BIFF_AGENT_OPEN_STEP ? biff_net_posix_connect_step(&sock, &link_t)
                                                      : biff_net_posix_connect_next(&sock, &link_t);
    if (ns == BIFF_NET_OK)
        *t = &link_t;
    else if (ns != BIFF_NET_PENDING)
        snprintf(detail, cap, "%s", sock.detail);
    return ns;
}

static void close_link(void *ctx, unsigned s)
{
    (void)ctx, (void)s;
    biff_net_posix_close(&sock);
}

static biff_tls_ctx *tls_for(void *ctx, size_t account, const char **why)
{
    (void)ctx, (void)account, (void)why;
    return &tls;
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    const biff_status_account *m = ctx;
    if (ev->kind == BIFF_AGENT_EV_COUNTS) {
        printf("%s: %lu unseen, %lu new\n", m->name, (unsigned long)biff_status_total(m, 0),
               (unsigned long)biff_status_total(m, 1));
    } else if (ev->kind == BIFF_AGENT_EV_ACCOUNT_ERROR) {
        printf("%s: %s: %s\n", m->name, biff_error_class_name((biff_error_class)ev->count), ev->text);
    }
    fflush(stdout);
}

/* ---- the agent's memory: all of it the host's */

static biff_status_account model[1];
static biff_agent_mailbox mailbox[1];
static biff_agent_account_cfg cfg[1];
static biff_poller_account sched[1];
static biff_poller_slot slot[1];
static biff_agent_session session[1];
static biff_agent agent;

int main(int argc, char **argv)
{
    static biff_url url;
    const char *secret = getenv("TINYBIFF_PASSWORD");
    if (argc < 2 || !secret || biff_url_parse(argv[1], &url) != BIFF_URL_OK) {
        fprintf(stderr, "usage: TINYBIFF_PASSWORD=... minimal_host imaps://user@host/INBOX [CA_FILE [SECONDS]]\n");
        return 2;
    }
    biff_tls_heap_use_system(0);
    if (biff_tls_ctx_init(&tls, argc > 2 ? argv[2] : NULL) != BIFF_TLS_OK) {
        fprintf(stderr, "minimal_host: %s\n", tls.detail);
        return 1;
    }
    const char *folders[1] = { url.mailbox };
    int imap = url.proto == BIFF_URL_IMAP;
    cfg[0] = (biff_agent_account_cfg){
        .check = { .proto = imap ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
                   .security = url.implicit_tls ? BIFF_CHECK_SEC_TLS : BIFF_CHECK_SEC_STARTTLS,
                   .n_folders = imap,
                   .idle = 1,
                   .host = url.host,
                   .port = url.port,
                   .user = url.user,
                   .secret = secret,
                   .folders = folders },
        .interval_ms = 60000,
        .enabled = 1,
    };
    static const biff_agent_port port = { .ctx = &model[0],
                                          .wall_time = wall,
                                          .event = on_event,
                                          .now_ms = now_ms,
                                          .open = open_link,
                                          .close = close_link,
                                          .tls = tls_for };
    biff_agent_init(&agent, &port, NULL, mailbox, model, 1, 0);
    biff_agent_account(&agent, 0, cfg[0].check.proto, biff_agent_account_id(imap, url.user, url.host, url.port),
                       argv[1], folders, 1);
    biff_agent_drive(&agent, cfg, sched, slot, session, 1);

    uint64_t end = argc > 3 ? now_ms(NULL) + strtoull(argv[3], NULL, 10) * 1000u : UINT64_MAX;
    while (now_ms(NULL) < end) {
        uint64_t due = biff_agent_step(&agent), t = now_ms(NULL);
        if (due > end) due = end;
        unsigned want = biff_agent_session_want(&agent, 0);
        struct pollfd p = { .fd = want ? sock.fd : -1, .events = want == BIFF_AGENT_WANT_WRITE ? POLLOUT : POLLIN };
        (void)poll(&p, 1, due > t ? (int)(due - t < 1000 ? due - t : 1000) : 0);
    }
    biff_agent_stop(&agent);
    biff_tls_ctx_free(&tls);
    return 0;
}

/*
 * The agent's broker connection against a broker on loopback, for tests/hostile/test_hostile_mqtt.py:
 *   broker_tool HOST PORT SUBACK_MS
 * Plain mqtt:// (the framing is under test), no accounts, the password from MQTT_PASSWORD. Prints
 * the broker's state as the page would get it ("CONNECTED", "ERROR <detail>") and ends there, or
 * "TIMEOUT" after 20 s, so a test never waits on a stuck tool.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "biff/broker.h"
#include "biff/net_posix.h"

static biff_net_posix sock = { .fd = -1 };
static biff_transport plain;
static int done;

static uint64_t now_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A blocking connect at START is allowed (biff_agent_port.open). */
static biff_net_status open_link(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                                 biff_transport **t, char *detail, size_t cap)
{
    (void)ctx;
    (void)s;
    if (op != BIFF_AGENT_OPEN_START) return BIFF_NET_E_TIMEOUT;
    biff_net_status ns = biff_net_posix_connect(&sock, host, port, 5000, &plain);
    if (ns == BIFF_NET_OK)
        *t = &plain;
    else
        snprintf(detail, cap, "%s", biff_net_strerror(ns));
    return ns;
}

static void close_link(void *ctx, unsigned s)
{
    (void)ctx;
    (void)s;
    biff_net_posix_close(&sock);
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind != BIFF_AGENT_EV_BROKER) return;
    if (ev->count == BIFF_BROKER_CONNECTED) {
        printf("CONNECTED\n");
        done = 1;
    } else if (ev->count == BIFF_BROKER_ERROR) {
        printf("ERROR %s\n", ev->text);
        done = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: broker_tool HOST PORT SUBACK_MS\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const biff_agent_port port = { .now_ms = now_ms, .open = open_link, .close = close_link, .event = on_event };
    static biff_agent ag;
    static biff_broker b;
    static biff_status_broker model;
    static biff_broker_cfg cfg;
    cfg = (biff_broker_cfg){ .host = argv[1],
                             .port = (unsigned)atoi(argv[2]),
                             .client_id = "tb_hostile",
                             .user = "device",
                             .password = getenv("MQTT_PASSWORD"),
                             .suback_timeout_ms = (uint32_t)atoi(argv[3]),
                             .dev = { .base = "tinybiff/tb_hostile",
                                      .node_id = "tb_hostile",
                                      .name = "hostile",
                                      .model = "broker_tool",
                                      .sw_version = "0" } };
    biff_mqtt_link_lwip_init();
    if (biff_agent_init(&ag, &port, NULL, NULL, NULL, 0, 0) != BIFF_AGENT_OK ||
        biff_broker_init(&b, &ag, &cfg, NULL, NULL, &model) != BIFF_BROKER_OK) {
        printf("INIT FAILED\n");
        return 1;
    }
    uint64_t deadline = now_ms(NULL) + 20000;
    while (!done) {
        uint64_t t = now_ms(NULL);
        if (t > deadline) {
            printf("TIMEOUT\n");
            break;
        }
        uint64_t due = biff_broker_step(&b);
        if (done) break;
        unsigned want = biff_broker_want(&b);
        struct pollfd p = { .fd = sock.fd,
                            .events = (short)(((want & BIFF_AGENT_WANT_READ) ? POLLIN : 0) |
                                              ((want & BIFF_AGENT_WANT_WRITE) ? POLLOUT : 0)) };
        int ms = due <= t ? 0 : due - t > 100 ? 100 : (int)(due - t);
        poll(&p, want && sock.fd >= 0 ? 1 : 0, ms);
    }
    biff_broker_stop(&b);
    return model.state == BIFF_BROKER_CONNECTED ? 0 : 1;
}

/*
 * lwIP's MQTT client over biff_mqtt_link to a real broker, for tests/test_mqtt_link.py:
 *   mqtt_link_tool HOST PORT CA|- CLIENT_ID USER BASE
 * The password comes from the environment (MQTT_PASSWORD), never the command line. CA "-" is
 * plain mqtt://. Connects with the will "offline" (retained) on BASE/availability, publishes
 * "online" there (retained), subscribes to BASE/ack and prints each message as
 * "IN <topic> <payload>"; exits after the first one, or when the connection ends.
 * Prints "CONNECTED", "SUBSCRIBED", "REFUSED <code>", "TLS <detail>", "CLOSED <why>", and
 * "TIMEOUT" after 20 s without an end, so a test never waits on a stuck tool.
 * With MQTT_LINK_POOL=BYTES mbedTLS allocates from a pool of that size (the notifier's
 * allocator) and the tool prints, on stderr, what the CA, the handshake (peak) and the
 * established session (in use, and the peak while it ran) took from it: the broker's share of
 * the notifier's pool (components/mqtt/README.md "RAM").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "biff/mqtt_link.h"
#include "biff/net_posix.h"
#include "biff/tls.h"
#include "lwip/apps/mqtt.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"

static int done, connected, subscribed;
static mqtt_connection_status_t conn_status = MQTT_CONNECT_ACCEPTED;
static char in_topic[128];
static char in_payload[256];
static size_t in_len;
static const char *base;

static void on_sub(void *arg, err_t err)
{
    (void)arg;
    printf("SUBSCRIBED %d\n", (int)err);
    subscribed = 1;
}

static void on_pub(void *arg, err_t err)
{
    (void)arg;
    if (err != ERR_OK) printf("PUBLISH FAILED %d\n", (int)err);
}

static void on_conn(mqtt_client_t *c, void *arg, mqtt_connection_status_t st)
{
    (void)arg;
    conn_status = st;
    if (st != MQTT_CONNECT_ACCEPTED) {
        done = 1;
        return;
    }
    connected = 1;
    printf("CONNECTED\n");
    char topic[160];
    snprintf(topic, sizeof topic, "%s/availability", base);
    mqtt_publish(c, topic, "online", 6, 1, 1, on_pub, NULL);
    snprintf(topic, sizeof topic, "%s/ack", base);
    mqtt_subscribe(c, topic, 1, on_sub, NULL);
}

static void on_topic(void *arg, const char *topic, u32_t len)
{
    (void)arg;
    (void)len;
    snprintf(in_topic, sizeof in_topic, "%s", topic);
    in_len = 0;
}

static void on_data(void *arg, const u8_t *data, u16_t len, u8_t flags)
{
    (void)arg;
    size_t n = len < sizeof in_payload - 1 - in_len ? len : sizeof in_payload - 1 - in_len;
    memcpy(in_payload + in_len, data, n);
    in_len += n;
    if (flags & MQTT_DATA_FLAG_LAST) {
        in_payload[in_len] = 0;
        printf("IN %s %s\n", in_topic, in_payload);
        done = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mqtt_link_tool HOST PORT CA|- CLIENT_ID USER BASE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *host = argv[1], *ca = argv[3], *pass = getenv("MQTT_PASSWORD");
    base = argv[6];
    biff_net_posix sock;
    biff_transport plain, *t = &plain;
    biff_net_status ns = biff_net_posix_connect(&sock, host, (unsigned)atoi(argv[2]), 5000, &plain);
    if (ns != BIFF_NET_OK) {
        printf("NET %s\n", biff_net_strerror(ns));
        return 1;
    }
    static biff_tls_ctx ctx;
    static biff_tls tls;
    static _Alignas(8) unsigned char pool[256 * 1024];
    const char *pool_env = getenv("MQTT_LINK_POOL");
    size_t pool_len = pool_env ? strtoul(pool_env, NULL, 10) : 0;
    size_t ca_bytes = 0;
    if (pool_len) biff_tls_heap_use_pool(pool, pool_len < sizeof pool ? pool_len : sizeof pool);
    if (strcmp(ca, "-") != 0) {
        if (biff_tls_ctx_init(&ctx, ca) != BIFF_TLS_OK) {
            printf("TLS %s\n", ctx.detail);
            return 1;
        }
        ca_bytes = biff_tls_heap_current();
        biff_tls_heap_reset_peak();
        biff_tls_status ts = biff_tls_start(&tls, &ctx, &plain, host, NULL, NULL);
        while (ts == BIFF_TLS_OK || ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
            ts = biff_tls_handshake(&tls);
            if (ts == BIFF_TLS_OK) break;
            if ((ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) &&
                biff_net_posix_wait(&sock, ts == BIFF_TLS_WANT_WRITE, 5000) != BIFF_NET_OK) {
                printf("TLS timeout\n");
                return 1;
            }
        }
        if (ts != BIFF_TLS_OK) {
            printf("TLS %s\n", biff_tls_detail(&tls));
            return 1;
        }
        t = biff_tls_transport(&tls);
        if (pool_len) {
            fprintf(stderr, "POOL ca=%zu handshake_peak=%zu established=%zu %s\n", ca_bytes,
                    biff_tls_heap_peak() - ca_bytes, biff_tls_heap_current() - ca_bytes, biff_tls_version(&tls));
        }
        biff_tls_heap_reset_peak();
    }

    lwip_init();
    static biff_mqtt_link link;
    biff_mqtt_link_init(&link, t);
    static char will_topic[160];
    snprintf(will_topic, sizeof will_topic, "%s/availability", base);
    struct mqtt_connect_client_info_t ci = {
        .client_id = argv[4],
        .client_user = argv[5],
        .client_pass = pass,
        .keep_alive = 30,
        .will_topic = will_topic,
        .will_msg = "offline",
        .will_msg_len = 7,
        .will_qos = 1,
        .will_retain = 1,
        .tls_config = &link,
    };
    mqtt_client_t *c = mqtt_client_new();
    mqtt_set_inpub_callback(c, on_topic, on_data, NULL);
    ip_addr_t unused = { 0 };
    if (mqtt_client_connect(c, &unused, 0, on_conn, NULL, &ci) != ERR_OK) {
        printf("CONNECT FAILED\n");
        return 1;
    }
    int rc = 0;
    time_t deadline = time(NULL) + 20;
    while (!done) {
        if (time(NULL) > deadline) {
            printf("TIMEOUT\n");
            rc = 1;
            break;
        }
        if (biff_mqtt_link_poll(&link) != BIFF_MQTT_LINK_OK) {
            if (!connected && conn_status != MQTT_CONNECT_ACCEPTED)
                break; /* the broker's CONNACK said no: reported below */
            printf("CLOSED %s\n", link.failure ? biff_net_strerror(link.failure) : "by the broker");
            rc = 1;
            break;
        }
        sys_check_timeouts();
        biff_net_posix_wait(&sock, link.tx_len > 0, 50);
    }
    if (pool_len && strcmp(ca, "-") != 0) fprintf(stderr, "POOL session_peak=%zu\n", biff_tls_heap_peak() - ca_bytes);
    if (conn_status != MQTT_CONNECT_ACCEPTED && !connected) {
        printf("REFUSED %d\n", (int)conn_status);
        rc = 1;
    }
    if (mqtt_client_is_connected(c)) mqtt_disconnect(c);
    while (biff_mqtt_link_poll(&link) == BIFF_MQTT_LINK_OK && link.pcb && link.tx_len)
        ;
    mqtt_client_free(c);
    if (strcmp(ca, "-") != 0) {
        biff_tls_close(&tls);
        biff_tls_ctx_free(&ctx);
    }
    biff_net_posix_close(&sock);
    return rc;
}

/*
 * The agent's broker connection on a fake port: a fake clock, a link whose far end is this
 * test playing the broker (it reads the packets lwIP's client sends and answers with the
 * bytes a broker would). What goes out after CONNACK and SUBACK, states only on change, PRESS
 * to the agent's acknowledge request, HA's birth message, deleting a removed account's entity,
 * a refused login with its back-off, a broker that never gets to SUBACK (an endless packet),
 * a dead broker, and a connection that ends.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "biff/broker.h"
#include "lwip/init.h"

#define N 2

static biff_agent ag;
static biff_agent_mailbox mb[N];
static biff_status_account model[N];
static uint32_t ids[N];
static biff_ha_shown shown[N];
static biff_broker br;
static biff_status_broker bmodel;
static uint64_t t_ms;
static unsigned n_open, n_close, n_broker_events;
static int refuse_connect, endless, peer_closed;
static char last_event[BIFF_STATUS_DETAIL_MAX];

/* client -> broker bytes, broker -> client bytes */
static uint8_t out[64 * 1024], in[8 * 1024];
static size_t out_len, out_pos, in_len, in_pos;

static const char password[] = "s3cret-Pa55";
static const biff_broker_cfg cfg = {
    .host = "broker.lan",
    .port = 1883,
    .client_id = "tb_kitchen",
    .user = "device",
    .password = password,
    .link = 4,
    .dev = { .base = "tinybiff/kitchen",
             .node_id = "tb_kitchen",
             .name = "Kitchen",
             .model = "test",
             .sw_version = "0.1" },
};

static int32_t t_send(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    assert_true(out_len + len <= sizeof out);
    memcpy(out + out_len, buf, len);
    out_len += len;
    return (int32_t)len;
}

static int32_t t_recv(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (in_pos < in_len) {
        size_t n = in_len - in_pos < len ? in_len - in_pos : len;
        memcpy(buf, in + in_pos, n);
        in_pos += n;
        return (int32_t)n;
    }
    if (endless) { /* the rest of a packet that never ends */
        memset(buf, 'x', len);
        return (int32_t)len;
    }
    return peer_closed ? BIFF_NET_E_CLOSED : 0;
}

static biff_transport link_t = { t_send, t_recv, NULL };

static uint64_t p_now(void *ctx)
{
    (void)ctx;
    return t_ms;
}

static biff_net_status p_open(void *ctx, unsigned s, biff_agent_open_op op, const char *host, unsigned port,
                              biff_transport **t, char *detail, size_t cap)
{
    (void)ctx;
    assert_int_equal(s, 4); /* the broker's own link, not a mail session's */
    if (op == BIFF_AGENT_OPEN_START) {
        assert_string_equal(host, "broker.lan");
        assert_int_equal(port, 1883);
        n_open++;
    }
    if (refuse_connect) {
        snprintf(detail, cap, "connection refused (broker.lan:1883)");
        return BIFF_NET_E_CONNECT;
    }
    out_len = out_pos = in_len = in_pos = 0;
    peer_closed = endless = 0;
    *t = &link_t;
    return BIFF_NET_OK;
}

static void p_close(void *ctx, unsigned s)
{
    (void)ctx;
    assert_int_equal(s, 4);
    n_close++;
}

static void p_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind != BIFF_AGENT_EV_BROKER) return;
    n_broker_events++;
    snprintf(last_event, sizeof last_event, "%s", ev->text);
    assert_null(strstr(ev->text, password));
}

static const biff_agent_port port = { .now_ms = p_now, .open = p_open, .close = p_close, .event = p_event };

/* ---- the broker's side */

static void feed(const uint8_t *b, size_t n)
{
    assert_true(in_len + n <= sizeof in);
    memcpy(in + in_len, b, n);
    in_len += n;
}

/* A PUBLISH from the broker (QoS 0). */
static void feed_publish(const char *topic, const char *payload, int retain)
{
    size_t tl = strlen(topic), pl = strlen(payload), rem = 2 + tl + pl;
    assert_true(rem < 128);
    uint8_t h[4] = { (uint8_t)(0x30 | (retain ? 1 : 0)), (uint8_t)rem, (uint8_t)(tl >> 8), (uint8_t)tl };
    feed(h, 4);
    feed((const uint8_t *)topic, tl);
    feed((const uint8_t *)payload, pl);
}

typedef struct {
    uint8_t type, flags;
    const uint8_t *body;
    size_t len;
} packet;

/* The next whole packet the client sent, if any. */
static int next_packet(packet *p)
{
    if (out_pos + 2 > out_len) return 0;
    size_t rem = 0, k = out_pos + 1;
    for (unsigned shift = 0;; shift += 7) {
        if (k >= out_len) return 0;
        rem |= (size_t)(out[k] & 0x7f) << shift;
        if (!(out[k++] & 0x80)) break;
    }
    if (k + rem > out_len) return 0;
    p->type = out[out_pos] >> 4;
    p->flags = out[out_pos] & 0x0f;
    p->body = out + k;
    p->len = rem;
    out_pos = k + rem;
    return 1;
}

typedef struct {
    char topic[BIFF_HA_TOPIC_MAX];
    char payload[BIFF_HA_PAYLOAD_MAX];
    size_t len;
    int retain;
} pub;

static pub pubs[64];
static unsigned n_pubs, n_subs, n_connects;
static uint8_t connect_body[512];
static size_t connect_len;
static uint16_t sub_ids[8];

/* Read what the client sent: PUBLISHes into pubs, SUBSCRIBEs' packet ids into sub_ids. */
static void drain(void)
{
    packet p;
    while (next_packet(&p)) {
        if (p.type == 3) {
            assert_true(n_pubs < 64);
            pub *u = &pubs[n_pubs++];
            size_t tl = (size_t)p.body[0] << 8 | p.body[1];
            assert_true(tl < sizeof u->topic);
            memcpy(u->topic, p.body + 2, tl);
            u->topic[tl] = 0;
            u->len = p.len - 2 - tl;
            memcpy(u->payload, p.body + 2 + tl, u->len);
            u->payload[u->len] = 0;
            u->retain = p.flags & 1;
        } else if (p.type == 1) {
            assert_true(p.len <= sizeof connect_body);
            memcpy(connect_body, p.body, p.len);
            connect_len = p.len;
            n_connects++;
        } else if (p.type == 8) {
            sub_ids[n_subs++] = (uint16_t)(p.body[0] << 8 | p.body[1]);
        }
    }
}

static const pub *find(const char *topic)
{
    for (unsigned k = 0; k < n_pubs; k++)
        if (!strcmp(pubs[k].topic, topic)) return &pubs[k];
    return NULL;
}

static void step(void)
{
    for (int k = 0; k < 8; k++) biff_broker_step(&br);
    drain();
}

/* The CONNECT: client id, the will "offline" (retained) on the availability topic, the login. */
static void expect_connect(void)
{
    assert_int_equal(n_connects, 1);
    n_connects = 0;
    assert_int_equal(connect_body[7] & 0x20, 0x20); /* will retain */
    assert_int_equal(connect_body[7] & 0xc0, 0xc0); /* user name and password */
    assert_non_null(memmem(connect_body, connect_len, "tb_kitchen", 10));
    assert_non_null(memmem(connect_body, connect_len, "tinybiff/kitchen/availability", 29));
    assert_non_null(memmem(connect_body, connect_len, "offline", 7));
    assert_non_null(memmem(connect_body, connect_len, password, strlen(password)));
}

static void connack(uint8_t rc)
{
    const uint8_t b[4] = { 0x20, 0x02, 0x00, rc };
    feed(b, 4);
}

static void subacks(void)
{
    for (unsigned k = 0; k < n_subs; k++) {
        const uint8_t b[5] = { 0x90, 0x03, (uint8_t)(sub_ids[k] >> 8), (uint8_t)sub_ids[k], 0x00 };
        feed(b, 5);
    }
    n_subs = 0;
}

static void counts(size_t i, uint32_t unseen, uint32_t uidnext)
{
    biff_imap_folder_result r = {
        .state = BIFF_IMAP_FOLDER_OK, .messages = uidnext - 1, .unseen = unseen, .uidnext = uidnext, .uidvalidity = 7
    };
    biff_agent_imap_folder(&ag, i, 0, &r);
    biff_agent_check_done(&ag, i, BIFF_ERR_NONE, NULL);
}

static int setup(void **state)
{
    (void)state;
    static const char *const inbox[] = { "INBOX" };
    assert_int_equal(biff_agent_init(&ag, &port, NULL, mb, model, N, 0), BIFF_AGENT_OK);
    for (size_t i = 0; i < N; i++) {
        ids[i] = biff_agent_account_id(1, i ? "bob" : "alice", "mail.lan", 993);
        biff_agent_account(&ag, i, BIFF_AGENT_IMAP, ids[i], i ? "bob" : "alice", inbox, 1);
        counts(i, 3, 10);
    }
    memset(&bmodel, 0, sizeof bmodel);
    t_ms = 1000000;
    n_open = n_close = n_broker_events = n_pubs = n_subs = n_connects = 0;
    refuse_connect = endless = peer_closed = 0;
    out_len = out_pos = in_len = in_pos = 0;
    assert_int_equal(biff_broker_init(&br, &ag, &cfg, ids, shown, &bmodel), BIFF_BROKER_OK);
    assert_int_equal(bmodel.state, BIFF_BROKER_CONNECTING);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    biff_broker_stop(&br);
    return 0;
}

/* Up to the SUBACKs: returns with the broker connected and what it published in pubs. */
static void bring_up(void)
{
    t_ms += 1000; /* the first attempt is due within a second */
    step();
    assert_int_equal(n_open, 1);
    expect_connect();
    connack(0);
    step();
    /* before subscribing, the button's topic is cleared of a retained PRESS */
    assert_true(n_pubs >= 1);
    assert_string_equal(pubs[0].topic, "tinybiff/kitchen/ack");
    assert_int_equal(pubs[0].len, 0);
    assert_int_equal(pubs[0].retain, 1);
    assert_int_equal(n_subs, BIFF_HA_SUBSCRIPTIONS);
    assert_int_equal(bmodel.state, BIFF_BROKER_CONNECTING);
    subacks();
    step();
    assert_int_equal(bmodel.state, BIFF_BROKER_CONNECTED);
    assert_string_equal(bmodel.detail, "");
}

static void publishes_and_acknowledges(void **state)
{
    (void)state;
    bring_up();
    /* availability, 3 + 3n configs, the totals, each account: all retained */
    assert_int_equal(n_pubs, 1 + 1 + 3 + 3 * N + 1 + N);
    const pub *av = find("tinybiff/kitchen/availability");
    assert_non_null(av);
    assert_string_equal(av->payload, "online");
    assert_true(av->retain);
    assert_non_null(find("homeassistant/button/tb_kitchen/ack/config"));
    char topic[BIFF_HA_TOPIC_MAX];
    snprintf(topic, sizeof topic, "tinybiff/kitchen/account/%08x", (unsigned)ids[1]);
    const pub *acct = find(topic);
    assert_non_null(acct);
    assert_string_equal(acct->payload, "{\"unread\":3,\"new\":0,\"problem\":\"OFF\",\"error\":null}");
    assert_string_equal(find("tinybiff/kitchen/state")->payload, "{\"unread\":6,\"new\":0}");
    for (unsigned k = 1; k < n_pubs; k++) assert_true(pubs[k].retain);

    /* nothing changed: nothing goes out */
    n_pubs = 0;
    t_ms += 60000;
    step();
    assert_int_equal(n_pubs, 0);

    /* a delivery to bob: his state and the totals, nothing else */
    counts(1, 4, 11);
    step();
    assert_int_equal(n_pubs, 2);
    assert_string_equal(find("tinybiff/kitchen/state")->payload, "{\"unread\":7,\"new\":1}");
    assert_string_equal(find(topic)->payload, "{\"unread\":4,\"new\":1,\"problem\":\"OFF\",\"error\":null}");

    /* PRESS on the button: the agent's acknowledge request, as the status page makes it */
    n_pubs = 0;
    assert_int_equal(atomic_load(&ag.requests), 0);
    feed_publish("tinybiff/kitchen/ack", "PRESS", 0);
    assert_int_equal(biff_broker_step(&br), t_ms); /* wake at once: the agent acknowledges */
    assert_int_equal(atomic_load(&ag.requests), BIFF_AGENT_REQ_ACK);
    biff_agent_service(&ag);
    step();
    assert_string_equal(find("tinybiff/kitchen/state")->payload, "{\"unread\":7,\"new\":0}");
    /* not a near miss */
    feed_publish("tinybiff/kitchen/ack", "PRESSED", 0);
    step();
    assert_int_equal(atomic_load(&ag.requests), 0);

    /* Home Assistant restarted: configs and states again */
    n_pubs = 0;
    feed_publish("homeassistant/status", "online", 0);
    step();
    assert_true(n_pubs >= 3 + 3 * N + 1 + N);
    assert_non_null(find("homeassistant/button/tb_kitchen/ack/config"));

    /* a removed account's retained entity comes back from the broker: deleted */
    n_pubs = 0;
    feed_publish("homeassistant/sensor/tb_kitchen/0badc0de_unread/config", "{\"name\":\"gone\"}", 1);
    step();
    const pub *del = find("homeassistant/sensor/tb_kitchen/0badc0de_unread/config");
    assert_non_null(del);
    assert_int_equal(del->len, 0);
    assert_true(del->retain);
    assert_null(strstr(bmodel.detail, password));
}

/* The broker closes a connection that was up: tried again soon, not backed off. */
static void reconnects_after_a_drop(void **state)
{
    (void)state;
    bring_up();
    peer_closed = 1;
    step();
    assert_int_equal(n_close, 1);
    assert_int_equal(bmodel.state, BIFF_BROKER_CONNECTING);
    assert_string_equal(bmodel.detail, "the broker closed the connection");
    t_ms += BIFF_BROKER_RECONNECT_MS * 2;
    n_pubs = 0;
    step();
    assert_int_equal(n_open, 2);
    expect_connect();
}

/* A refused login: a clear error, the link closed, and the next try only after the back-off. */
static void refused_login_backs_off(void **state)
{
    (void)state;
    t_ms += 1000;
    step();
    expect_connect();
    connack(5);
    step();
    assert_int_equal(bmodel.state, BIFF_BROKER_ERROR);
    assert_string_equal(bmodel.detail, "the broker refused the login: not authorized (wrong user name or password?)");
    assert_string_equal(last_event, bmodel.detail);
    assert_int_equal(n_close, 1);
    t_ms += 10000; /* the accounts' first back-off is 15 s (+-10 %) */
    step();
    assert_int_equal(n_open, 1);
    t_ms += 10000;
    step();
    assert_int_equal(n_open, 2);
    assert_int_equal(bmodel.state, BIFF_BROKER_ERROR); /* shown until a connection works */
}

/* CONNACK, then one endless packet: every byte feeds lwIP's watchdog; the bound ends it. */
static void endless_packet_before_suback(void **state)
{
    (void)state;
    t_ms += 1000;
    step();
    expect_connect();
    connack(0);
    const uint8_t huge[] = { 0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x03, 'a', '/', 'b' };
    feed(huge, sizeof huge);
    endless = 1;
    biff_broker_step(&br);
    uint64_t t0 = t_ms;
    while (t_ms - t0 < BIFF_BROKER_SUBACK_TIMEOUT_MS - 1000) {
        t_ms += 1000;
        biff_broker_step(&br);
        assert_int_equal(bmodel.state, BIFF_BROKER_CONNECTING);
    }
    t_ms += 1000;
    biff_broker_step(&br);
    assert_int_equal(bmodel.state, BIFF_BROKER_ERROR);
    assert_string_equal(bmodel.detail, "no CONNACK and SUBACK from the broker in time");
    assert_int_equal(n_close, 1);
}

/* Nobody listens: the error, at once, and the step never waits. */
static void dead_broker(void **state)
{
    (void)state;
    refuse_connect = 1;
    t_ms += 1000;
    uint64_t wake = biff_broker_step(&br);
    assert_int_equal(n_open, 1);
    assert_int_equal(bmodel.state, BIFF_BROKER_ERROR);
    assert_string_equal(bmodel.detail, "connection refused (broker.lan:1883)");
    assert_true(wake > t_ms + 10000); /* backed off */
    assert_int_equal(biff_broker_want(&br), BIFF_AGENT_WANT_NONE);
}

int main(void)
{
    lwip_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publishes_and_acknowledges, setup, teardown),
        cmocka_unit_test_setup_teardown(reconnects_after_a_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_login_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(endless_packet_before_suback, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_broker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

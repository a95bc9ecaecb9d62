/*
 * The agent's broker connection: the port's link, TLS as for a mail account, lwIP's MQTT
 * client over biff_mqtt_link, components/ha's messages. Nothing here blocks: every call moves
 * what it can, and the host is told what the link waits for.
 */
#include "biff/broker.h"

#include <stdio.h>
#include <string.h>

#include "lwip/timeouts.h"

/* Every subscription, the clearing of the button's topic and one publish are requests of
 * lwIP's client at once (a QoS 0 publish holds one until it is sent). */
#if MQTT_REQ_MAX_IN_FLIGHT < BIFF_HA_SUBSCRIPTIONS + 2
#error "biff_broker needs MQTT_REQ_MAX_IN_FLIGHT >= BIFF_HA_SUBSCRIPTIONS + 2 in lwipopts.h"
#endif

enum { S_OFF = 0, S_WAIT, S_CONNECT, S_HANDSHAKE, S_MQTT, S_UP };

static uint64_t now(const biff_broker *b)
{
    return b->ag->port->now_ms(b->ag->port->ctx);
}

/* The state the page shows, and the event the host logs; only changes are passed on. */
static void show(biff_broker *b, biff_broker_state st, const char *detail)
{
    const biff_agent_port *p = b->ag->port;
    if (st == b->pstate && strcmp(detail, b->detail) == 0) return;
    b->pstate = (uint8_t)st;
    snprintf(b->detail, sizeof b->detail, "%s", detail);
    if (p->lock) p->lock(p->ctx, 1);
    if (b->model) {
        b->model->state = (uint8_t)st;
        memcpy(b->model->detail, b->detail, sizeof b->detail);
    }
    if (p->event) {
        biff_agent_event ev = { .kind = BIFF_AGENT_EV_BROKER, .count = (uint32_t)st, .text = b->detail };
        p->event(p->ctx, &ev);
    }
    if (p->lock) p->lock(p->ctx, 0);
}

static void teardown(biff_broker *b)
{
    if (b->state >= S_MQTT) {
        mqtt_disconnect(&b->client); /* no DISCONNECT goes out: the broker publishes the will */
        biff_ha_disconnected(&b->ha);
    }
    if (b->tls_up) biff_tls_close(&b->tls);
    b->tls_up = 0;
    if (b->state >= S_CONNECT) b->ag->port->close(b->ag->port->ctx, b->cfg->link);
    b->plain = NULL;
    b->want_write = 0;
}

/* The attempt ends: a failure backs off as an account's does; a connection that was up is
 * tried again soon. */
static void end_attempt(biff_broker *b, int failed, const char *detail)
{
    teardown(b);
    b->state = S_WAIT;
    biff_poller_done(&b->poller, 0, now(b), failed ? BIFF_ERR_NETWORK : BIFF_ERR_NONE, 0);
    show(b, failed ? BIFF_BROKER_ERROR : BIFF_BROKER_CONNECTING, detail);
}

static void fail(biff_broker *b, const char *detail)
{
    end_attempt(b, 1, detail);
}

/* ---- lwIP's client calls these (from biff_mqtt_link_poll and sys_check_timeouts) */

static void on_sub(void *arg, err_t err)
{
    biff_broker *b = arg;
    if (err != ERR_OK) {
        b->sub_failed = 1;
        return;
    }
    if (++b->subs_acked == BIFF_HA_SUBSCRIPTIONS && b->state == S_MQTT) {
        b->state = S_UP;
        b->deadline = UINT64_MAX;
        show(b, BIFF_BROKER_CONNECTED, "");
    }
}

static void on_conn(mqtt_client_t *c, void *arg, mqtt_connection_status_t st)
{
    biff_broker *b = arg;
    if (b->state != S_MQTT) return;
    if (st != MQTT_CONNECT_ACCEPTED) {
        if (!b->refused) b->refused = (uint16_t)st; /* reported when the link closes */
        return;
    }
    char subs[BIFF_HA_SUBSCRIPTIONS][BIFF_HA_TOPIC_MAX];
    size_t n = biff_ha_subscriptions(&b->ha, subs);
    /* A PRESS someone left retained on the button's topic would acknowledge at every connect
     * (lwIP's client does not pass the retain flag on): clear it before subscribing. */
    if (mqtt_publish(c, subs[0], "", 0, 0, 1, NULL, NULL) != ERR_OK) b->sub_failed = 1;
    for (size_t k = 0; k < n; k++)
        if (mqtt_subscribe(c, subs[k], 0, on_sub, b) != ERR_OK) b->sub_failed = 1;
    biff_ha_connected(&b->ha);
}

static void on_topic(void *arg, const char *topic, u32_t len)
{
    biff_broker *b = arg;
    size_t tl = strlen(topic);
    (void)len;
    b->in_len = 0;
    b->in_skip = tl >= sizeof b->in_topic; /* longer than any topic of ours */
    if (!b->in_skip) memcpy(b->in_topic, topic, tl + 1);
}

static void on_data(void *arg, const u8_t *data, u16_t len, u8_t flags)
{
    biff_broker *b = arg;
    if (b->in_len < sizeof b->in_payload) {
        size_t room = sizeof b->in_payload - b->in_len;
        memcpy(b->in_payload + b->in_len, data, len < room ? len : room);
    }
    b->in_len = b->in_len + len < b->in_len ? UINT32_MAX : b->in_len + len;
    if (!(flags & MQTT_DATA_FLAG_LAST) || b->in_skip) return;
    /* A longer payload is passed as its first bytes: never exactly "PRESS" or "online". */
    size_t plen = b->in_len < sizeof b->in_payload ? b->in_len : sizeof b->in_payload;
    switch (biff_ha_incoming(&b->ha, b->in_topic, strlen(b->in_topic), b->in_payload, plen, 0, &b->msg)) {
    case BIFF_HA_IN_PRESS:
        biff_agent_request(b->ag, BIFF_AGENT_REQ_ACK); /* as the status page does */
        b->ack_due = 1;
        break;
    case BIFF_HA_IN_STALE: /* no room now: the broker hands it back at the next connect */
        mqtt_publish(&b->client, b->msg.topic, b->msg.payload, (u16_t)b->msg.len, 0, b->msg.retain, NULL, NULL);
        break;
    default: break;
    }
}

/* ---- the attempt */

static void mqtt_begin(biff_broker *b, biff_transport *t)
{
    const biff_broker_cfg *c = b->cfg;
    biff_mqtt_link_init(&b->link, t);
    biff_ha_will(&b->ha, &b->msg); /* lwIP's client copies it into the CONNECT at once */
    struct mqtt_connect_client_info_t ci = {
        .client_id = c->client_id,
        .client_user = c->user && c->user[0] ? c->user : NULL,
        .client_pass = c->password,
        .keep_alive = c->keep_alive_s ? c->keep_alive_s : BIFF_BROKER_KEEPALIVE_S,
        .will_topic = b->msg.topic,
        .will_msg = b->msg.payload,
        .will_msg_len = (u8_t)b->msg.len,
        .will_qos = 1,
        .will_retain = 1,
        .tls_config = &b->link,
    };
    ip_addr_t unused;
    memset(&unused, 0, sizeof unused); /* the link is connected already: no address is used */
    b->refused = 0;
    b->subs_acked = 0;
    b->sub_failed = 0;
    b->state = S_MQTT;
    b->deadline = now(b) + (c->suback_timeout_ms ? c->suback_timeout_ms : BIFF_BROKER_SUBACK_TIMEOUT_MS);
    if (mqtt_client_connect(&b->client, &unused, (u16_t)c->port, on_conn, b, &ci) != ERR_OK)
        fail(b, "MQTT client could not start (client id, user name or will too long?)");
}

static void connected(biff_broker *b)
{
    const biff_broker_cfg *c = b->cfg;
    uint32_t check_ms = b->ag->check_timeout_ms ? b->ag->check_timeout_ms : BIFF_AGENT_CHECK_TIMEOUT_MS;
    if (!c->tls) {
        mqtt_begin(b, b->plain);
        return;
    }
    if (!c->trust) {
        fail(b, c->trust_why && c->trust_why[0] ? c->trust_why : "TLS is not available (no trust anchors)");
        return;
    }
    b->tls_up = 1;
    if (biff_tls_start(&b->tls, c->trust, b->plain, c->host, c->pin, NULL) != BIFF_TLS_OK) {
        fail(b, biff_tls_detail(&b->tls));
        return;
    }
    b->state = S_HANDSHAKE;
    b->deadline = now(b) + check_ms;
}

static void opened(biff_broker *b, biff_net_status ns, const char *detail)
{
    if (ns == BIFF_NET_OK)
        connected(b);
    else if (ns != BIFF_NET_PENDING)
        fail(b, detail[0] ? detail : biff_net_strerror(ns));
}

static void start(biff_broker *b)
{
    const biff_agent_port *p = b->ag->port;
    char detail[96] = "";
    b->state = S_CONNECT;
    b->deadline = now(b) + (b->ag->connect_timeout_ms ? b->ag->connect_timeout_ms : BIFF_AGENT_CONNECT_TIMEOUT_MS);
    opened(b,
           p->open(p->ctx, b->cfg->link, BIFF_AGENT_OPEN_START, b->cfg->host, b->cfg->port, &b->plain, detail,
                   sizeof detail),
           detail);
}

static void handshake(biff_broker *b)
{
    biff_tls_status ts = biff_tls_handshake(&b->tls);
    if (ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
        b->want_write = ts == BIFF_TLS_WANT_WRITE;
        return;
    }
    if (ts != BIFF_TLS_OK) {
        char d[BIFF_STATUS_DETAIL_MAX];
        snprintf(d, sizeof d, "TLS: %s", biff_tls_detail(&b->tls));
        fail(b, d);
        return;
    }
    b->want_write = 0;
    mqtt_begin(b, biff_tls_transport(&b->tls));
}

static const char *refusal(uint16_t st)
{
    switch (st) {
    case MQTT_CONNECT_REFUSED_PROTOCOL_VERSION: return "the broker refused the login: protocol version (MQTT 3.1.1)";
    case MQTT_CONNECT_REFUSED_IDENTIFIER: return "the broker refused the login: client id not allowed";
    case MQTT_CONNECT_REFUSED_SERVER: return "the broker refused the login: server unavailable";
    case MQTT_CONNECT_REFUSED_USERNAME_PASS: return "the broker refused the login: bad user name or password";
    case MQTT_CONNECT_REFUSED_NOT_AUTHORIZED_:
        return "the broker refused the login: not authorized (wrong user name or password?)";
    case MQTT_CONNECT_TIMEOUT: return "no answer from the broker to the login in time";
    default: return NULL;
    }
}

/* The connection is gone: why, for the page. */
static void closed(biff_broker *b)
{
    char d[BIFF_STATUS_DETAIL_MAX];
    const char *why = refusal(b->refused);
    int was_up = b->state == S_UP;
    if (!why) {
        if (b->link.failure != BIFF_NET_OK)
            snprintf(d, sizeof d, "connection lost: %s",
                     b->tls_up && biff_tls_detail(&b->tls)[0] ? biff_tls_detail(&b->tls)
                                                              : biff_net_strerror(b->link.failure));
        else
            snprintf(d, sizeof d, "the broker closed the connection");
        why = d;
    }
    end_attempt(b, !was_up || b->refused, why);
}

static void publish_due(biff_broker *b)
{
    for (unsigned k = 0; k < 64; k++) {
        biff_ha_status hs = biff_ha_next(&b->ha, &b->msg);
        if (hs == BIFF_HA_E_SPACE) continue; /* skipped by biff_ha */
        if (hs != BIFF_HA_OK) return;
        if (mqtt_publish(&b->client, b->msg.topic, b->msg.payload, (u16_t)b->msg.len, 0, b->msg.retain, NULL, NULL) !=
            ERR_OK)
            return; /* no room in the client's ring: due again once the transport took some */
        biff_ha_sent(&b->ha);
    }
}

static void run_mqtt(biff_broker *b)
{
    for (unsigned k = 0; k < 16; k++) {
        uint16_t queued = b->link.tx_len;
        if (biff_mqtt_link_poll(&b->link) != BIFF_MQTT_LINK_OK) {
            closed(b);
            return;
        }
        if (b->sub_failed) {
            fail(b, "the broker refused a subscription (its ACL must let the device read its topics)");
            return;
        }
        if (b->ha.connected) publish_due(b);
        if (!b->link.tx_len || (b->link.tx_len >= queued && k)) break; /* all sent, or the link is full */
    }
    b->want_write = b->link.tx_len > 0;
}

static void timed_out(biff_broker *b)
{
    const biff_agent_port *p = b->ag->port;
    if (b->state == S_CONNECT) {
        char detail[96] = "";
        biff_net_status ns =
            p->open(p->ctx, b->cfg->link, BIFF_AGENT_OPEN_TIMEOUT, NULL, 0, &b->plain, detail, sizeof detail);
        if (ns == BIFF_NET_PENDING)
            b->deadline = now(b) + (b->ag->connect_timeout_ms ? b->ag->connect_timeout_ms
                                                              : BIFF_AGENT_CONNECT_TIMEOUT_MS); /* the next address */
        else
            opened(b, ns, detail[0] ? detail : "no connection to the broker in time");
        return;
    }
    /* A broker that streams one endless packet feeds lwIP's watchdog for ever: the bound. */
    fail(b, b->state == S_HANDSHAKE ? "TLS: no answer from the broker in time"
                                    : "no CONNACK and SUBACK from the broker in time");
}

biff_broker_status biff_broker_init(biff_broker *b, biff_agent *ag, const biff_broker_cfg *cfg, const uint32_t *ids,
                                    biff_ha_shown *shown, biff_status_broker *model)
{
    if (!b || !ag || !ag->port || !ag->port->now_ms || !ag->port->open || !ag->port->close || !cfg || !cfg->host ||
        !cfg->client_id || (ag->n && (!ids || !shown)))
        return BIFF_BROKER_E_ARG;
    memset(b, 0, sizeof *b);
    if (biff_ha_init(&b->ha, &cfg->dev, ag->model, ids, shown, ag->n) != BIFF_HA_OK) return BIFF_BROKER_E_ARG;
    b->ag = ag;
    b->cfg = cfg;
    b->model = model;
    mqtt_set_inpub_callback(&b->client, on_topic, on_data, b);
    b->sched = (biff_poller_account){ .interval_ms = BIFF_BROKER_RECONNECT_MS, .enabled = 1 };
    uint32_t seed = ag->port->random ? ag->port->random(ag->port->ctx) : 0xb20c3u;
    if (biff_poller_init(&b->poller, &b->sched, &b->slot, 1, 1, seed, now(b)) != BIFF_POLLER_OK)
        return BIFF_BROKER_E_ARG;
    if (cfg->backoff_base_ms) b->poller.backoff_base_ms = cfg->backoff_base_ms;
    b->state = S_WAIT;
    b->pstate = BIFF_BROKER_OFF;
    show(b, BIFF_BROKER_CONNECTING, "");
    return BIFF_BROKER_OK;
}

uint64_t biff_broker_step(biff_broker *b)
{
    if (!b || !b->ag || b->state == S_OFF) return UINT64_MAX;
    size_t i;
    if (b->state == S_WAIT && biff_poller_next(&b->poller, now(b), &i)) start(b);
    if (b->state == S_CONNECT) {
        const biff_agent_port *p = b->ag->port;
        char detail[96] = "";
        opened(b, p->open(p->ctx, b->cfg->link, BIFF_AGENT_OPEN_STEP, NULL, 0, &b->plain, detail, sizeof detail),
               detail);
    }
    if (b->state == S_HANDSHAKE) handshake(b);
    sys_check_timeouts(); /* lwIP's client: keep-alive, its CONNACK and request time-outs */
    if (b->state >= S_MQTT) run_mqtt(b);
    uint64_t t = now(b);
    if (b->state >= S_CONNECT && t >= b->deadline) timed_out(b);
    uint64_t wake = b->state == S_WAIT ? biff_poller_next_deadline(&b->poller) : b->deadline;
    if (b->state >= S_MQTT) { /* lwIP's client's timer */
        u32_t lwip_ms = sys_timeouts_sleeptime();
        if (lwip_ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE && t + lwip_ms < wake) wake = t + lwip_ms;
    }
    if (b->ack_due) { /* the agent's next step carries the acknowledge out: at once */
        b->ack_due = 0;
        wake = t;
    }
    return wake;
}

unsigned biff_broker_want(const biff_broker *b)
{
    if (!b || b->state < S_CONNECT) return BIFF_AGENT_WANT_NONE;
    if (b->state == S_CONNECT) return BIFF_AGENT_WANT_WRITE; /* a connect completes writable */
    if (b->state == S_HANDSHAKE) return b->want_write ? BIFF_AGENT_WANT_WRITE : BIFF_AGENT_WANT_READ;
    return BIFF_AGENT_WANT_READ | (b->want_write ? BIFF_AGENT_WANT_WRITE : 0u);
}

void biff_broker_stop(biff_broker *b)
{
    if (!b || !b->ag || b->state == S_OFF) return;
    teardown(b);
    b->state = S_OFF;
}

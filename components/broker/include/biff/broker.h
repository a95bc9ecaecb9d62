/*
 * The agent's connection to the MQTT broker Home Assistant listens on, prefix biff_broker_.
 * Written once for every host: it connects through the agent's port (open/close on a link the
 * host keeps for it, TLS with the host's trust anchors, the broker's pin and verification
 * always on, exactly as for a mail account), logs in with lwIP's MQTT client
 * (components/mqtt), publishes what components/ha says is due and turns the Acknowledge
 * button's PRESS into biff_agent_request(BIFF_AGENT_REQ_ACK), as the status page does.
 *
 * Mail never waits on the broker: biff_broker_step() is a sibling of biff_agent_step() that
 * only moves what moves without blocking. A failed attempt backs off as a failed check of an
 * account does (the poller's base, doubling, cap and jitter); a connection that was up and
 * ends is tried again after BIFF_BROKER_RECONNECT_MS. From the connect to the last SUBACK the
 * broker has BIFF_BROKER_SUBACK_TIMEOUT_MS: lwIP's client feeds its own watchdog with any byte,
 * so a broker streaming one endless packet would otherwise hold the connection for ever.
 *
 * The broker's state and why it failed go into the host's biff_status_broker (under the port's
 * lock, like every model change) and out as a BIFF_AGENT_EV_BROKER event (for the log). The
 * password never appears in either.
 *
 * Needs lwIP initialised (lwip_init) and LWIP_ALTCP/LWIP_ALTCP_TLS (components/mqtt); the step
 * function runs lwIP's timers (sys_check_timeouts). Memory is the caller's: one biff_broker
 * (lwIP's client with its output ring, the link's queue, one message) and one biff_ha_shown per
 * account.
 */
#ifndef BIFF_BROKER_H
#define BIFF_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "biff/agent.h"
#include "biff/ha.h"
#include "biff/mqtt_link.h"
#include "biff/status.h"
#include "biff/tls.h"
#include "lwip/apps/mqtt.h"
#include "lwip/apps/mqtt_priv.h"

#ifndef BIFF_BROKER_SUBACK_TIMEOUT_MS
#define BIFF_BROKER_SUBACK_TIMEOUT_MS 30000u /* from the connect to the last SUBACK */
#endif
#ifndef BIFF_BROKER_RECONNECT_MS
#define BIFF_BROKER_RECONNECT_MS 2000u /* after a connection that was up ends */
#endif
#ifndef BIFF_BROKER_KEEPALIVE_S
#define BIFF_BROKER_KEEPALIVE_S 60u
#endif

typedef enum {
    BIFF_BROKER_OK = 0,
    BIFF_BROKER_E_ARG, /* NULL, an agent without a port clock and links, a bad device (biff_ha_init) */
} biff_broker_status;

/* The broker and how to log in (the host's; strings must outlive the broker's use of them). */
typedef struct {
    const char *host;
    unsigned port;
    uint8_t tls;                /* 1: mqtts:// (TLS); 0: mqtt://, only when configured so */
    biff_tls_ctx *trust;        /* TLS: the trust anchors; NULL: TLS cannot run, trust_why says why */
    const char *trust_why;      /* (may be NULL) */
    const uint8_t *pin;         /* SHA-256 of the broker's public key (32 bytes), or NULL */
    const char *client_id;      /* MQTT client id */
    const char *user;           /* NULL or "": no user name */
    const char *password;       /* NULL: none; never logged, never in the status */
    unsigned link;              /* the port's link index for the broker: not a mail session's */
    uint16_t keep_alive_s;      /* 0: BIFF_BROKER_KEEPALIVE_S */
    uint32_t backoff_base_ms;   /* 0: as the accounts (biff/poller.h) */
    uint32_t suback_timeout_ms; /* 0: BIFF_BROKER_SUBACK_TIMEOUT_MS */
    biff_ha_device dev;         /* topics and the device Home Assistant shows */
} biff_broker_cfg;

/* One broker connection. Caller-allocated; fields are private. */
typedef struct {
    biff_agent *ag;
    const biff_broker_cfg *cfg;
    biff_status_broker *model;
    uint8_t state; /* private */
    uint8_t tls_up, want_write, subs_acked, sub_failed, ack_due, pstate;
    uint16_t refused; /* the CONNACK's refusal (mqtt_connection_status_t), 0: none */
    uint64_t deadline;
    biff_transport *plain;
    biff_tls tls;
    biff_mqtt_link link;
    mqtt_client_t client;
    biff_ha ha;
    biff_ha_msg msg;
    biff_poller poller; /* one "account": the broker, for the accounts' back-off */
    biff_poller_account sched;
    biff_poller_slot slot;
    char detail[BIFF_STATUS_DETAIL_MAX];
    char in_topic[BIFF_HA_TOPIC_MAX];
    char in_payload[16]; /* only "PRESS" and "online" are read */
    uint32_t in_len;
    uint8_t in_skip; /* the topic did not fit: not ours */
} biff_broker;

/**
 * Set up the broker connection of agent ag (biff_agent_init done; its port has now_ms, open
 * and close): ids[n] are the accounts' identities (biff_agent_account_id), shown[n] memory for
 * what was published, n = the agent's accounts; model is where the page reads the broker's
 * state (may be NULL). The first attempt is due within a second. Everything stays the caller's.
 */
biff_broker_status biff_broker_init(biff_broker *b, biff_agent *ag, const biff_broker_cfg *cfg, const uint32_t *ids,
                                    biff_ha_shown *shown, biff_status_broker *model);

/**
 * The step function: connect when due, move the TLS handshake and lwIP's client as far as they
 * go, publish what is due while the client has room, hand PRESS to the agent, give up on what
 * took too long. Returns the time (port now_ms) by which it wants to be called again; call it
 * sooner when its link is ready (biff_broker_want).
 */
uint64_t biff_broker_step(biff_broker *b);

/** What the broker's link waits for: BIFF_AGENT_WANT_NONE, or READ and/or WRITE (bits). */
unsigned biff_broker_want(const biff_broker *b);

/** End the connection (the link closed, TLS wiped; the broker publishes the last will). */
void biff_broker_stop(biff_broker *b);

#endif

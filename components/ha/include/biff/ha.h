/*
 * Home Assistant through MQTT, without I/O: what a tinybiff publishes, when, and what the
 * messages it receives mean. The host owns the MQTT connection (lwIP's client on the notifier,
 * the daemon's own); it asks this module for the next message to send whenever its transport
 * has room, and hands it every message that arrives. Nothing here waits, allocates or reads a
 * clock, so a slow or dead broker can never hold up a mail check.
 *
 * Topics (prefix = discovery prefix, default "homeassistant"; base = the base topic; node =
 * this tinybiff's id; id = the account's identity as 8 hex digits):
 *
 *   <prefix>/button/<node>/ack/config              button "Acknowledge"
 *   <prefix>/sensor/<node>/unread/config           totals
 *   <prefix>/sensor/<node>/new/config
 *   <prefix>/sensor/<node>/<id>_unread/config      per account
 *   <prefix>/sensor/<node>/<id>_new/config
 *   <prefix>/binary_sensor/<node>/<id>_problem/config   device_class problem, attribute "error"
 *   <base>/availability      "online" / "offline" (the last will), retained
 *   <base>/state             {"unread":N,"new":N}, retained
 *   <base>/account/<id>      {"unread":N,"new":N,"problem":"ON"|"OFF","error":"tls"|null}, retained
 *   <base>/ack               PRESS acknowledges (what the status page's button does)
 *
 * unique_id = <node>_<object id>. The account part is the agent's account identity
 * (biff_agent_account_id: protocol, user, host, port), not its name or its place in the list:
 * renaming or reordering accounts keeps every entity; a different mailbox is a new one.
 *
 * State is one retained JSON document per account (and one for the totals) that the entities
 * read with value_templates, rather than one plain value per entity: an account's counts and
 * its problem change together in one message, there are half as many retained messages, and
 * the problem's error class comes from the same document as an attribute. It is published
 * only when it differs from what was last published on this connection.
 *
 * Removed accounts: the host subscribes to this node's configs and account states
 * (biff_ha_subscriptions); a retained one that belongs to no configured account comes back
 * from biff_ha_incoming as a deletion (an empty retained message) to send. No flash needed.
 */
#ifndef BIFF_HA_H
#define BIFF_HA_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#include "biff/status.h"

#define BIFF_HA_TOPIC_MAX 128 /* every topic and filter, incl. NUL (bounds below) */
#ifndef BIFF_HA_PAYLOAD_MAX
#define BIFF_HA_PAYLOAD_MAX 1024 /* the longest config with the longest names (929 B) fits */
#endif
#define BIFF_HA_PREFIX_MAX    32 /* discovery prefix, excl. NUL */
#define BIFF_HA_BASE_MAX      64 /* base topic, excl. NUL */
#define BIFF_HA_NODE_MAX      32 /* node id, excl. NUL */
#define BIFF_HA_TEXT_MAX      48 /* device name, model, sw_version, excl. NUL */
#define BIFF_HA_SUBSCRIPTIONS 4

typedef enum {
    BIFF_HA_OK = 0,
    BIFF_HA_IDLE,    /* nothing to publish now */
    BIFF_HA_E_SPACE, /* a message did not fit BIFF_HA_PAYLOAD_MAX: skipped */
    BIFF_HA_E_ARG,   /* bad device description (see biff_ha_init), NULL */
} biff_ha_status;

/* What an incoming message means (biff_ha_incoming). */
typedef enum {
    BIFF_HA_IN_NONE = 0,  /* not ours, or nothing to do */
    BIFF_HA_IN_PRESS,     /* the Acknowledge button: biff_agent_request(BIFF_AGENT_REQ_ACK) */
    BIFF_HA_IN_HA_ONLINE, /* Home Assistant (re)started: everything is due again */
    BIFF_HA_IN_STALE,     /* a removed account's retained message: send *reply to delete it */
} biff_ha_in;

/* This tinybiff as Home Assistant's device registry shows it. Strings are the caller's. */
typedef struct {
    const char *prefix;  /* discovery prefix; NULL or "" = "homeassistant" */
    const char *base;    /* base topic, e.g. "tinybiff/kitchen" */
    const char *node_id; /* [A-Za-z0-9_-]+: the device identifier and every unique_id's head */
    const char *name;    /* device name */
    const char *model;
    const char *sw_version;
} biff_ha_device;

/* What was last published for one account (or the totals) on this connection. */
typedef struct {
    uint32_t unread, fresh;
    uint8_t err; /* biff_error_class */
    uint8_t problem;
    uint8_t valid; /* published since the connection (or HA) came up */
} biff_ha_shown;

/* One message to publish. */
typedef struct {
    char topic[BIFF_HA_TOPIC_MAX];
    char payload[BIFF_HA_PAYLOAD_MAX]; /* NUL-terminated for logs; len bytes go out */
    size_t len;                        /* 0: an empty retained message (deletes) */
    uint8_t retain;
} biff_ha_msg;

typedef struct {
    const biff_ha_device *dev;
    const char *prefix;              /* dev->prefix or the default */
    const biff_status_account *acct; /* the agent's status model */
    const uint32_t *ids;             /* account identities, as acct */
    biff_ha_shown *shown;            /* caller's, one per account */
    size_t n;
    biff_ha_shown total;
    uint16_t cfg_next; /* next config to publish; 3 + 3n = all sent */
    uint8_t connected;
    uint8_t online_due;
    uint8_t pend_kind; /* what the last biff_ha_next returned */
    uint16_t pend_idx;
    biff_ha_shown pend;
} biff_ha;

/**
 * Set up over the status model acct[n] and the account identities ids[n] (both the caller's,
 * read at every biff_ha_next) with shown[n] as memory. Checks the device: node_id of
 * [A-Za-z0-9_-], prefix and base without wildcards or empty levels, each within its bound,
 * and name/model/sw_version without control characters. Nothing is due until biff_ha_connected.
 */
biff_ha_status biff_ha_init(biff_ha *ha, const biff_ha_device *dev, const biff_status_account *acct,
                            const uint32_t *ids, biff_ha_shown *shown, size_t n);

/** The CONNECT's last will: "offline", retained, on the availability topic. */
void biff_ha_will(const biff_ha *ha, biff_ha_msg *m);

/**
 * Topic filters to subscribe to after CONNACK (the button, HA's status, this node's configs
 * and account states). Fills topics[0..BIFF_HA_SUBSCRIPTIONS) and returns how many.
 */
size_t biff_ha_subscriptions(const biff_ha *ha, char topics[][BIFF_HA_TOPIC_MAX]);

/** The broker accepted the connection: availability, every config and every state are due. */
void biff_ha_connected(biff_ha *ha);

/** The connection is gone: nothing is due until the next biff_ha_connected. */
void biff_ha_disconnected(biff_ha *ha);

/** Configs and states are due again (HA restarted; the accounts were renamed). */
void biff_ha_republish(biff_ha *ha);

/**
 * The next message due, in this order: availability, configs, the totals' state, the
 * accounts' states (only those that changed). BIFF_HA_IDLE: nothing is due. The message stays
 * due until biff_ha_sent, so a transport that has no room now is asked again later.
 * BIFF_HA_E_SPACE: a config did not fit and is skipped (m is empty).
 */
biff_ha_status biff_ha_next(biff_ha *ha, biff_ha_msg *m);

/** The transport took the message the last biff_ha_next returned. */
void biff_ha_sent(biff_ha *ha);

/**
 * A message arrived: topic[tlen], payload[plen] (the first part is enough: only "PRESS" and
 * "online" are read), retained as the broker flagged it (0 when the client cannot tell). A
 * retained PRESS is ignored: a command someone left on the broker must not acknowledge at every
 * connect. BIFF_HA_IN_STALE fills reply with the deletion to publish.
 */
biff_ha_in biff_ha_incoming(biff_ha *ha, const char *topic, size_t tlen, const char *payload, size_t plen, int retained,
                            biff_ha_msg *reply);

#endif

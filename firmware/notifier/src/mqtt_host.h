/*
 * Home Assistant through MQTT on the notifier (issue 17): the host side of the agent's broker
 * connection (components/broker). The broker is provisioned (prov_mqtt.h), reached through the
 * port's second link (MQTT_HOST_LINK; the mail session's is 0) with the accounts' trust anchor,
 * and stepped from the superloop beside the agent; its state goes to the page, /status.json and
 * the UART. Without BIFF_FEATURE_MQTT these do nothing and the image carries no MQTT code.
 */
#ifndef NOTIFIER_MQTT_HOST_H
#define NOTIFIER_MQTT_HOST_H

#include <stddef.h>

#include "biff/agent.h"
#include "biff/status.h"
#include "provision.h"

#define MQTT_HOST_LINK 1u /* the port's link index for the broker */
/* What the broker's TLS session adds to the mbedTLS pool (README "RAM"): it stays open beside
 * any mail check, so the pool holds it on top of the largest mail handshake. */
#define MQTT_HOST_TLS_SHARE (24 * 1024)

#if BIFF_FEATURE_MQTT
/** Start the broker connection of ag (lwIP up, the accounts driven) when one is provisioned,
 *  with trust as the broker's trust anchors. NULL, or why it cannot start. */
const char *mqtt_host_start(biff_agent *ag, const prov *cfg, biff_tls_ctx *trust);

/** Move the broker's connection as far as it goes without blocking (every loop). */
void mqtt_host_step(void);

/** What the page shows of the broker; NULL when none is provisioned. */
const biff_status_broker *mqtt_host_model(void);

/** The UART line for a BIFF_AGENT_EV_BROKER event (never the password), into line[cap]. */
void mqtt_host_line(const biff_agent_event *ev, char *line, size_t cap);

/** 1 when the broker's share of the TLS pool may have moved since the last call (it changed
 *  state, or is connecting): the pool's leak check then takes a new base. */
int mqtt_host_pool_moved(void);
#else
static inline const char *mqtt_host_start(biff_agent *ag, const prov *cfg, biff_tls_ctx *trust)
{
    (void)ag, (void)cfg, (void)trust;
    return NULL;
}
static inline void mqtt_host_step(void) {}
static inline const biff_status_broker *mqtt_host_model(void)
{
    return NULL;
}
static inline void mqtt_host_line(const biff_agent_event *ev, char *line, size_t cap)
{
    (void)ev, (void)line, (void)cap;
}
static inline int mqtt_host_pool_moved(void)
{
    return 0;
}
#endif

#endif

/*
 * `tinybiff run`: the broker Home Assistant listens on (config mqtt), through the agent's broker
 * connection (components/broker) on the port's link RUN_PORT_BROKER. Everything runs in the
 * daemon's loop; the page reads the state from httpd_shared.mqtt under its lock.
 */
#ifndef TINYBIFF_RUN_MQTT_H
#define TINYBIFF_RUN_MQTT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "biff/agent.h"
#include "biff/uci.h"

/** Take the broker's password (option secret_env, or the secrets file entry named like the
 *  section) before the secrets text is wiped. */
void run_mqtt_secret(const biff_mqtt_config *m, const char *secrets, size_t len);

/** Start publishing for ag's accounts when config mqtt is on (after trust_load and the agent's
 *  set-up; not under the port's lock, which it takes); model is where the page reads the
 *  broker's state. */
void run_mqtt_setup(const biff_uci_config *cfg, biff_agent *ag, biff_status_broker *model);

/** The step: the time (run_port_ms) by which it wants to run again (UINT64_MAX: never). */
uint64_t run_mqtt_step(void);

/** Add the broker's socket to pfd[*n..cap) when it waits for something. */
void run_mqtt_pollfds(struct pollfd *pfd, nfds_t *n, nfds_t cap);

/** BIFF_AGENT_EV_BROKER: log connects and errors (never the password). */
void run_mqtt_log(const biff_agent_event *ev);

/** End the connection and forget the password (reload, exit). */
void run_mqtt_stop(void);

#endif

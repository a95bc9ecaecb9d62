/*
 * `tinybiff run`: the agent's port on Linux. Connects never block the loop (a host that does
 * not answer gets BIFF_AGENT_CONNECT_TIMEOUT_MS per address while the other accounts go on);
 * each session has one socket, which the loop polls for what the session waits for.
 */
#ifndef TINYBIFF_RUN_PORT_H
#define TINYBIFF_RUN_PORT_H

#include <poll.h>
#include <stdint.h>

#include "biff/agent.h"

#define RUN_PORT_SESSIONS BIFF_RUN_SESSIONS /* the board's settings (biff_settings.h) */
#define RUN_PORT_BROKER   RUN_PORT_SESSIONS /* the MQTT broker's link (run_mqtt.c), after the sessions' */

/** Fill the port's clock, randomness and link functions (the host adds the rest). */
void run_port_init(biff_agent_port *p);

/** Milliseconds of CLOCK_MONOTONIC. */
int64_t run_port_ms(void);

/** Add link k's socket to pfd[*n..cap) when want (BIFF_AGENT_WANT_* bits) asks for something. */
void run_port_pollfd(unsigned k, unsigned want, struct pollfd *pfd, nfds_t *n, nfds_t cap);

/** Add the sockets of the sessions that wait for something to pfd[*n..cap). */
void run_port_pollfds(const biff_agent *ag, struct pollfd *pfd, nfds_t *n, nfds_t cap);

#endif

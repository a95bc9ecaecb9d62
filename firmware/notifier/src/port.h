/*
 * The agent's port on the notifier (biff/agent.h): lwIP connections (link 0 the mail session,
 * link 1 the broker's with BIFF_FEATURE_MQTT), the board's clock and randomness, one trust
 * anchor for every account, and the sync state in the board's flash.
 */
#ifndef NOTIFIER_PORT_H
#define NOTIFIER_PORT_H

#include <stddef.h>

#include "biff/agent.h"
#include "biff/store.h"
#include "biff/tls.h"

/** The port: its events go to report_event (report.h). */
extern const biff_agent_port nport;

/** The trust anchor of every account (and of the broker, mqtt_host.h). */
biff_tls_ctx *nport_trust(void);

/**
 * Read the CA file at path (semihosting) into scratch[cap], which is wiped afterwards, and make
 * it the trust anchor. Returns 0, or -1 with *why saying what failed.
 */
int nport_load_ca(const char *path, void *scratch, size_t cap, const char **why);

/**
 * Open the flash at path, mount the store (formatting one of another format) and bind the
 * account list ids[n]. Returns the store, or NULL when the sync state cannot be kept (said on
 * the UART).
 */
biff_store *nport_open_store(const char *path, const uint32_t *ids, size_t n);

#endif

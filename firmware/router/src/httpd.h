/* The daemon's status page (/, /status.json, POST /ack) on libmicrohttpd. */
#ifndef TINYBIFF_HTTPD_H
#define TINYBIFF_HTTPD_H

#include <pthread.h>
#include <stddef.h>

#include "biff/agent.h"
#include "biff/status.h"

typedef struct {
    pthread_mutex_t lock; /* guards the model while the HTTP thread reads it */
    const biff_status_account *accts;
    size_t n;
    char csrf[33];           /* per-run token for the acknowledge form */
    char problem[160];       /* what is wrong with the daemon itself ("" if nothing) */
    biff_status_broker mqtt; /* the MQTT broker's state (run_mqtt.c) */
    biff_agent *agent;       /* POST /ack asks it (biff_agent_request, any thread) */
    int wake_fd;             /* written to wake the main loop */
} httpd_shared;

/**
 * Serve on bind ("127.0.0.1:8025", "[::1]:8025"; port 0 picks one). Requests must name
 * localhost, the bound address or one of the n_hosts names in Host (biff/webguard.h). Returns
 * 0 and logs the URL, or -1 with the reason logged. *port gets the port actually bound.
 */
int httpd_start(const char *bind, const char (*hosts)[64], size_t n_hosts, httpd_shared *sh, unsigned *port);

/** Stop serving (idempotent). */
void httpd_stop(void);

#endif

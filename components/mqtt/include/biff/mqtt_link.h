/*
 * lwIP's MQTT client (src/apps/mqtt) over a biff_transport, prefix biff_mqtt_link_.
 *
 * lwIP's client makes its connection with altcp_tls_new(client_info.tls_config, ...). This
 * module is that altcp_tls_new(): the "TLS config" is a biff_mqtt_link holding a transport the
 * caller has already connected (and, for mqtts://, taken through the project's TLS handshake,
 * with its CA, pin and verification), so the broker gets the mail accounts' rules. A plain
 * mqtt:// link goes the same way over the bare socket transport; lwIP's own TCP is not used.
 *
 * Nothing blocks: the caller's loop calls biff_mqtt_link_poll(), which moves what the
 * transport takes and gives and runs lwIP's callbacks, and sys_check_timeouts() (the client's
 * keep-alive timer). Needs LWIP_ALTCP and LWIP_ALTCP_TLS in lwipopts.h.
 */
#ifndef BIFF_MQTT_LINK_H
#define BIFF_MQTT_LINK_H

#include <stdint.h>

#include "biff/net.h"

/* Bytes the link queues towards the transport; lwIP's output ring (MQTT_OUTPUT_RINGBUF_SIZE)
 * feeds it in pieces, so this only bounds how much one poll can hand on. */
#define BIFF_MQTT_LINK_TX 1024

typedef enum {
    BIFF_MQTT_LINK_OK = 0,
    BIFF_MQTT_LINK_E_CLOSED = -1, /* the connection is gone: closed by either side or failed */
} biff_mqtt_link_status;

struct altcp_pcb;

/* lwIP's altcp_tls.h declares this type for the port to define: the link is the config. */
typedef struct altcp_tls_config {
    biff_transport *t;
    struct altcp_pcb *pcb; /* what lwIP's client holds; NULL when there is none */
    uint8_t tx[BIFF_MQTT_LINK_TX];
    uint16_t tx_len;
    uint8_t connect_due;     /* altcp_connect() was asked; report it from the next poll */
    uint8_t used;            /* a pcb was made on this link (one connection per link) */
    biff_net_status failure; /* why the transport failed (BIFF_NET_OK: closed in order) */
} biff_mqtt_link;

/** lwIP's memory for the client (its heap and pools, mem_init and memp_init) in a host that runs
 *  no lwIP stack, the daemon; a host that does (the notifier) has called lwip_init instead. */
void biff_mqtt_link_lwip_init(void);

/** Prepare a link over t, a connected transport; pass the link as client_info.tls_config. */
void biff_mqtt_link_init(biff_mqtt_link *l, biff_transport *t);

/**
 * Move what the transport takes (and report it sent) and what it gives (to the client), run
 * the client's poll; BIFF_MQTT_LINK_E_CLOSED once the connection is gone (l->failure says
 * whether the transport failed). The caller closes the transport after that.
 */
biff_mqtt_link_status biff_mqtt_link_poll(biff_mqtt_link *l);

#endif

#include "mqtt_host.h"

#if BIFF_FEATURE_MQTT
#include <stdio.h>
#include <string.h>

#include "biff/broker.h"
#include "biff/tls_heap.h"

static biff_broker broker;
static biff_broker_cfg bcfg;
static biff_status_broker bmodel;
static biff_ha_shown shown[PROV_MAX_ACCOUNTS];
static uint32_t ids[PROV_MAX_ACCOUNTS];
static uint8_t running, moved;

const char *mqtt_host_start(biff_agent *ag, const prov *cfg, biff_tls_ctx *trust)
{
    const prov_mqtt *m = &cfg->mqtt;
    if (!m->url) return NULL;
    for (size_t i = 0; i < cfg->n_acct; i++) {
        const biff_check_account *a = &cfg->acct[i].acct;
        ids[i] = biff_agent_account_id(a->proto == BIFF_CHECK_IMAP, a->user, a->host, a->port);
    }
    bcfg = (biff_broker_cfg){
        .host = m->host,
        .port = m->port,
        .tls = m->tls,
        .trust = trust,
        .pin = m->has_pin ? m->pin : NULL,
        .client_id = m->client_id,
        .user = m->username,
        .password = m->password,
        .link = MQTT_HOST_LINK,
        .dev = { .prefix = m->prefix,
                 .base = m->base,
                 .node_id = m->client_id,
                 .name = m->client_id,
                 .model = "tinybiff notifier",
                 .sw_version = BIFF_VERSION },
    };
    if (biff_broker_init(&broker, ag, &bcfg, ids, shown, &bmodel) != BIFF_BROKER_OK)
        return "the broker's settings are not usable";
    running = moved = 1;
    return NULL;
}

void mqtt_host_step(void)
{
    if (running) biff_broker_step(&broker);
}

const biff_status_broker *mqtt_host_model(void)
{
    return running ? &bmodel : NULL;
}

void mqtt_host_line(const biff_agent_event *ev, char *line, size_t cap)
{
    moved = 1;
    snprintf(line, cap, "mqtt: %s%s%s (tls pool in use %u, peak %u)", biff_broker_state_name((uint8_t)ev->count),
             ev->text && ev->text[0] ? ": " : "", ev->text ? ev->text : "", (unsigned)biff_tls_heap_current(),
             (unsigned)biff_tls_heap_peak());
}

int mqtt_host_pool_moved(void)
{
    int r = moved || (running && bmodel.state == BIFF_BROKER_CONNECTING);
    moved = 0;
    return r;
}
#endif

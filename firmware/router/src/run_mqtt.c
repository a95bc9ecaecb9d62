/* `tinybiff run` and Home Assistant: config mqtt wired to the agent's broker connection. */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "run_mqtt.h"

#include <stdio.h>
#include <string.h>

#include "biff/broker.h"
#include "log.h"
#include "run_port.h"
#include "secret_env.h"
#include "trust.h"

#define MAX_SHOWN 512 /* accounts (cmd_run.c's MAX_ACCOUNTS) */

static biff_broker broker;
static biff_broker_cfg bcfg;
static biff_ha_shown shown[MAX_SHOWN];
static uint32_t ids[MAX_SHOWN]; /* the accounts' identities, as biff_ha reads them */
static char password[256];
static int has_password, running;
static char where[300]; /* host:port for the log */

void run_mqtt_secret(const biff_mqtt_config *m, const char *secrets, size_t len)
{
    explicit_bzero(password, sizeof password);
    has_password = 0;
    if (!m->enabled) return;
    if (m->secret_env[0])
        has_password = secret_env_take(m->secret_env, password, sizeof password) == 0;
    else
        has_password = biff_uci_secret(secrets, len, m->name, password, sizeof password) == BIFF_UCI_OK;
}

void run_mqtt_setup(const biff_uci_config *cfg, biff_agent *ag, biff_status_broker *model)
{
    const biff_mqtt_config *m = &cfg->mqtt;
    static int lwip_up;
    if (running) biff_broker_stop(&broker);
    running = 0;
    ag->port->lock(ag->port->ctx, 1);
    memset(model, 0, sizeof *model);
    ag->port->lock(ag->port->ctx, 0);
    if (!m->enabled) {
        if (m->given)
            log_msg(LOG_LVL_INFO, "mqtt '%s': not enabled (or the section has errors); not publishing", m->name);
        return;
    }
    if (ag->n > MAX_SHOWN) return; /* cannot happen: the config takes fewer accounts */
    for (size_t i = 0; i < ag->n; i++) ids[i] = ag->mb[i].account_id;
    if (!lwip_up) { /* lwIP's heap and pools for its MQTT client; no IP stack, no netif */
        biff_mqtt_link_lwip_init();
        lwip_up = 1;
    }
    const char *why = NULL;
    int tls = m->url.implicit_tls;
    if (tls) trust_add(m->ca);
    bcfg = (biff_broker_cfg){
        .host = m->url.host,
        .port = m->url.port,
        .tls = (uint8_t)tls,
        .trust = tls ? trust_for(m->ca, &why) : NULL,
        .pin = m->has_pin ? m->pin : NULL,
        .client_id = m->client_id,
        .user = m->username,
        .password = has_password ? password : NULL,
        .link = RUN_PORT_BROKER,
        .dev = { .prefix = m->discovery_prefix,
                 .base = m->base_topic,
                 .node_id = m->client_id,
                 .name = "tinybiff",
                 .model = "tinybiff router daemon",
                 .sw_version = "0.1.0" },
    };
    bcfg.trust_why = why;
    snprintf(where, sizeof where, "%s://%s:%u", tls ? "mqtts" : "mqtt", m->url.host, (unsigned)m->url.port);
    if (m->username[0] && !has_password)
        log_msg(LOG_LVL_WARN, "mqtt '%s': no password: set %s or add '%s = ...' to %s", m->name,
                m->secret_env[0] ? m->secret_env : "option secret_env", m->name, cfg->globals.secrets);
    if (!tls)
        log_msg(LOG_LVL_WARN, "mqtt '%s': %s is plaintext: the login and the counts cross the network as they are",
                m->name, where);
    if (biff_broker_init(&broker, ag, &bcfg, ids, shown, model) != BIFF_BROKER_OK) {
        log_msg(LOG_LVL_ERROR, "mqtt '%s': cannot publish with this configuration", m->name);
        return;
    }
    running = 1;
    log_msg(LOG_LVL_INFO, "mqtt '%s': publishing to %s as %s (base topic %s)", m->name, where, m->client_id,
            m->base_topic);
}

uint64_t run_mqtt_step(void)
{
    return running ? biff_broker_step(&broker) : UINT64_MAX;
}

void run_mqtt_pollfds(struct pollfd *pfd, nfds_t *n, nfds_t cap)
{
    if (running) run_port_pollfd(RUN_PORT_BROKER, biff_broker_want(&broker), pfd, n, cap);
}

/* Called with the page's lock held (the agent's port lock), from the loop. */
void run_mqtt_log(const biff_agent_event *ev)
{
    if (ev->count == BIFF_BROKER_CONNECTED)
        log_msg(LOG_LVL_INFO, "mqtt: connected to %s as %s; publishing", where, bcfg.client_id);
    else if (ev->count == BIFF_BROKER_ERROR)
        log_msg(LOG_LVL_WARN, "mqtt: %s: %s; trying again later", where, ev->text);
    else if (ev->text[0])
        log_msg(LOG_LVL_INFO, "mqtt: %s: %s; reconnecting", where, ev->text);
}

void run_mqtt_stop(void)
{
    if (running) biff_broker_stop(&broker);
    running = 0;
    explicit_bzero(password, sizeof password);
    has_password = 0;
}

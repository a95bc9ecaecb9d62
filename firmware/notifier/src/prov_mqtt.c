#include "prov_mqtt.h"

#include <stdio.h>
#include <string.h>

#include "biff/ha.h"
#include "biff/uci.h"
#include "biff/url.h"

int prov_mqtt_directive(prov_mqtt *m, const char *name, const char *value, const char **why)
{
#if !BIFF_FEATURE_MQTT
    (void)m, (void)name, (void)value;
    *why = "this image is built without MQTT (BIFF_FEATURE_MQTT 0)";
    return -1;
#else
    if (!strcmp(name, "url")) {
        biff_url u; /* ~670 bytes of stack, only while provisioning */
        biff_url_status us = biff_url_parse_mqtt(value, &u);
        if (us == BIFF_URL_E_SCHEME) {
            *why = "mqtt_url: scheme must be mqtts:// or mqtt://";
        } else if (us != BIFF_URL_OK) {
            *why = biff_url_strerror(us);
        } else if (u.user[0]) {
            *why = "mqtt_url: the broker's user name goes in mqtt_username";
        } else if (strlen(u.host) >= sizeof m->host) {
            *why = "mqtt_url: host name too long";
        } else {
            memcpy(m->host, u.host, strlen(u.host) + 1);
            m->port = u.port;
            m->tls = u.implicit_tls;
            m->url = value;
            return 0;
        }
        return -1;
    }
    if (!strcmp(name, "username")) {
        m->username = value;
    } else if (!strcmp(name, "password")) {
        m->password = value;
    } else if (!strcmp(name, "pin")) {
        if (biff_uci_pin(value, m->pin) != 0) {
            *why = "mqtt_pin: expected sha256/ and the base64 of 32 bytes";
            return -1;
        }
        m->has_pin = 1;
    } else if (!strcmp(name, "client_id")) {
        if (!biff_uci_node_id_ok(value, BIFF_HA_NODE_MAX)) {
            *why = "mqtt_client_id: 1 to 32 letters, digits, _ or -";
            return -1;
        }
        m->client_id = value;
    } else if (!strcmp(name, "discovery_prefix") || !strcmp(name, "base_topic")) {
        int base = name[0] == 'b';
        if (!biff_uci_topic_ok(value, base ? BIFF_HA_BASE_MAX : BIFF_HA_PREFIX_MAX)) {
            *why = base ? "mqtt_base_topic: 1 to 64 bytes, no +, # or empty levels"
                        : "mqtt_discovery_prefix: 1 to 32 bytes, no +, # or empty levels";
            return -1;
        }
        *(base ? &m->base : &m->prefix) = value;
    } else {
        *why = "unknown mqtt_ directive";
        return -1;
    }
    return 0;
#endif
}

int prov_mqtt_finish(prov_mqtt *m, const char **why)
{
    if (!m->url) {
        if (m->username || m->password || m->has_pin || m->client_id || m->prefix || m->base) {
            *why = "mqtt_ lines without mqtt_url";
            return -1;
        }
        return 0;
    }
    if (!m->client_id) m->client_id = "tinybiff";
    if (!m->prefix) m->prefix = "homeassistant";
    if (!m->base) {
        snprintf(m->base_buf, sizeof m->base_buf, "tinybiff/%s", m->client_id);
        m->base = m->base_buf;
    }
    return 0;
}

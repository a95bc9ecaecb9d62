/*
 * The notifier's broker provisioning (Home Assistant through MQTT, issue 17): the fields of the
 * router's `config mqtt` section, one directive a line in the provisioning file:
 *
 *   mqtt_url mqtts://broker.lan[:8883]   or mqtt://host[:1883] (no TLS: only when given so)
 *   mqtt_username tinybiff               broker login (optional)
 *   mqtt_password SECRET                 stays in the provisioning buffer, like account secrets
 *   mqtt_pin sha256/BASE64               SHA-256 of the broker's public key (optional)
 *   mqtt_client_id kitchen               [A-Za-z0-9_-], also Home Assistant's node id
 *                                        (default "tinybiff")
 *   mqtt_discovery_prefix homeassistant  (the default)
 *   mqtt_base_topic tinybiff/kitchen     (default "tinybiff/<client id>")
 *
 * The broker's certificate is checked against the provisioned `ca`, as the accounts' are:
 * verification is always on. An image built without MQTT (BIFF_FEATURE_MQTT 0) refuses these
 * lines rather than ignoring a broker it would never reach.
 */
#ifndef NOTIFIER_PROV_MQTT_H
#define NOTIFIER_PROV_MQTT_H

#include <stdint.h>

#include "lwipopts.h" /* BIFF_FEATURE_MQTT */

typedef struct {
    const char *url; /* NULL: no broker */
    char host[64];   /* from the URL (lwIP's DNS names are shorter) */
    uint16_t port;
    uint8_t tls;
    uint8_t has_pin;
    uint8_t pin[32];
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none; never logged */
    const char *client_id; /* defaults filled in by prov_mqtt_finish() */
    const char *prefix;
    const char *base;
    char base_buf[72]; /* "tinybiff/<client id>" when no base topic is given */
} prov_mqtt;

/** One `mqtt_<name> value` line (name without "mqtt_"); value stays in the caller's buffer.
 *  0 on success; -1 with *why saying what is wrong. */
int prov_mqtt_directive(prov_mqtt *m, const char *name, const char *value, const char **why);

/** After the last line: defaults, and a broker line without mqtt_url is an error (-1, *why). */
int prov_mqtt_finish(prov_mqtt *m, const char **why);

#endif

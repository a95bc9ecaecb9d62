/*
 * Every message biff_ha publishes, checked against Home Assistant's documented MQTT discovery
 * rules (no HA install needed). The rules, from
 *   https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery   (discovery topic, payload,
 *       abbreviations, "~", device, availability, birth message homeassistant/status)
 *   https://www.home-assistant.io/integrations/sensor.mqtt/           (sensor keys)
 *   https://www.home-assistant.io/integrations/binary_sensor.mqtt/    (binary_sensor keys)
 *   https://www.home-assistant.io/integrations/button.mqtt/           (button keys)
 * as written below:
 *  R1 The config topic is <discovery_prefix>/<component>/[<node_id>/]<object_id>/config;
 *     node_id and object_id consist of [a-zA-Z0-9_-] only.
 *  R2 The payload is a JSON object (an empty payload deletes the entity).
 *  R3 Abbreviated keys are those of HA's table; every key, expanded, must be one the platform
 *     documents (an unknown key is an error here, where HA would log and drop the config).
 *  R4 "~" at the start or end of a *_topic value stands for the value of "~".
 *  R5 Required: sensor and binary_sensor state_topic, button command_topic.
 *  R6 Types: name, unique_id, *_topic, *_template, payload_*, device_class, state_class
 *     strings; device an object with identifiers (string or list of strings) or connections,
 *     and name, model, sw_version, manufacturer strings; a device needs a unique_id.
 *  R7 binary_sensor device_class from HA's list (problem is one); sensor state_class one of
 *     measurement, total, total_increasing.
 *  R8 unique_ids are unique per platform.
 *  R9 Topics are valid MQTT topic names (no wildcard, non-empty).
 * and what the entities will read: each state topic carries JSON with the key its value
 * template reads; a binary_sensor's value is payload_on/payload_off (default ON/OFF); a sensor
 * with a state_class reads a number; the availability topic carries payload_available
 * (default online) and the last will payload_not_available (default offline).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/ha.h"
#include "biff/out.h"
#include "biff/result.h"

/* ---- a small JSON reader (only what the checks need: objects, arrays, strings, numbers) ---- */

enum { J_NULL, J_STR, J_NUM, J_OBJ, J_ARR, J_BOOL };
typedef struct {
    int type;
    char key[64];
    char str[256];
    int first, next;
} jnode;
static jnode nodes[256];
static int n_nodes;

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static const char *jstr(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p++ != '"') return NULL;
    while (*p && *p != '"') {
        char c = *p++;
        if ((unsigned char)c < 0x20) return NULL;
        if (c == '\\') {
            c = *p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++)
                    if (!p[i]) return NULL;
                p += 4;
                c = '?';
            } else if (!strchr("\"\\/bfnrt", c))
                return NULL;
        }
        if (n + 1 < cap) out[n++] = c;
    }
    if (*p != '"') return NULL;
    out[n] = 0;
    return p + 1;
}

static const char *jvalue(const char *p, int *idx, int depth)
{
    if (depth > 8 || n_nodes >= (int)(sizeof nodes / sizeof nodes[0])) return NULL;
    int me = n_nodes++;
    jnode *j = &nodes[me];
    memset(j, 0, sizeof *j);
    j->first = j->next = -1;
    *idx = me;
    p = ws(p);
    if (*p == '"') {
        j->type = J_STR;
        return jstr(p, j->str, sizeof j->str);
    }
    if (*p == '{' || *p == '[') {
        int obj = *p == '{';
        j->type = obj ? J_OBJ : J_ARR;
        p = ws(p + 1);
        int *link = &nodes[me].first;
        if (*p == (obj ? '}' : ']')) return p + 1;
        for (;;) {
            char key[64] = "";
            if (obj) {
                p = jstr(ws(p), key, sizeof key);
                if (!p || *(p = ws(p)) != ':') return NULL;
                p++;
            }
            int c;
            p = jvalue(p, &c, depth + 1);
            if (!p) return NULL;
            strcpy(nodes[c].key, key);
            *link = c;
            link = &nodes[c].next;
            p = ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == (obj ? '}' : ']')) return p + 1;
            return NULL;
        }
    }
    if (!strncmp(p, "null", 4)) {
        j->type = J_NULL;
        return p + 4;
    }
    if (!strncmp(p, "true", 4)) {
        j->type = J_BOOL;
        return p + 4;
    }
    if (!strncmp(p, "false", 5)) {
        j->type = J_BOOL;
        return p + 5;
    }
    char *e;
    (void)strtod(p, &e);
    if (e == p) return NULL;
    j->type = J_NUM;
    snprintf(j->str, sizeof j->str, "%.*s", (int)(e - p), p);
    return e;
}

static int jparse(const char *s)
{
    int root;
    n_nodes = 0;
    const char *end = jvalue(s, &root, 0);
    if (!end || *ws(end)) return -1;
    return root;
}

static const jnode *jget(int obj, const char *key)
{
    for (int c = nodes[obj].first; c >= 0; c = nodes[c].next)
        if (!strcmp(nodes[c].key, key)) return &nodes[c];
    return NULL;
}

/* ---- HA's rules ---- */

/* R3: HA's abbreviation table, the entries a tinybiff config may use. */
static const char *const abbrev[][2] = {
    { "avty_t", "availability_topic" },
    { "cmd_t", "command_topic" },
    { "dev", "device" },
    { "dev_cla", "device_class" },
    { "json_attr_t", "json_attributes_topic" },
    { "json_attr_tpl", "json_attributes_template" },
    { "pl_avail", "payload_available" },
    { "pl_not_avail", "payload_not_available" },
    { "pl_on", "payload_on" },
    { "pl_off", "payload_off" },
    { "pl_prs", "payload_press" },
    { "stat_cla", "state_class" },
    { "stat_t", "state_topic" },
    { "uniq_id", "unique_id" },
    { "val_tpl", "value_template" },
    { "unit_of_meas", "unit_of_measurement" },
    { "obj_id", "object_id" },
};
static const char *const dev_abbrev[][2] = {
    { "ids", "identifiers" }, { "cns", "connections" }, { "mf", "manufacturer" },
    { "mdl", "model" },       { "sw", "sw_version" },   { "name", "name" },
};

/* Documented keys per platform (the subset of each page's list a tinybiff may ever send). */
static const char *const common_keys[] = {
    "~",
    "name",
    "unique_id",
    "object_id",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "device",
    "json_attributes_topic",
    "json_attributes_template",
    "device_class",
    NULL,
};
static const char *const sensor_keys[] = { "state_topic", "value_template", "state_class", "unit_of_measurement",
                                           NULL };
static const char *const binary_keys[] = { "state_topic", "value_template", "payload_on", "payload_off", NULL };
static const char *const button_keys[] = { "command_topic", "payload_press", NULL };
/* binary_sensor device classes (R7). */
static const char *const bin_classes[] = {
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
    NULL,
};

static int in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s)) return 1;
    return 0;
}

static const char *expand(const char *const (*t)[2], size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i][0], k)) return t[i][1];
    return k;
}

static int idchars(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i])) return 0;
    return 1;
}

static int topic_name_ok(const char *t)
{
    return *t && !strchr(t, '+') && !strchr(t, '#');
}

/* What a checked config asks of the states: kept to check them after publication. */
typedef struct {
    char comp[32], uid[96], state_topic[BIFF_HA_TOPIC_MAX], tpl_key[32], avail[BIFF_HA_TOPIC_MAX];
    char cmd_topic[BIFF_HA_TOPIC_MAX], attr_topic[BIFF_HA_TOPIC_MAX];
    int numeric;
} entity;

/* Expanded, "~"-substituted value of key k, or NULL; fails the test on a wrong type. */
static const char *val(int root, const char *k, char *buf, size_t cap)
{
    for (int c = nodes[root].first; c >= 0; c = nodes[c].next) {
        const char *full = expand(abbrev, sizeof abbrev / sizeof abbrev[0], nodes[c].key);
        if (strcmp(full, k)) continue;
        assert_int_equal(nodes[c].type, J_STR); /* R6 */
        const char *v = nodes[c].str;
        size_t n = strlen(v), tl = strlen(k);
        const jnode *tilde = jget(root, "~");
        if (tl > 6 && !strcmp(k + tl - 6, "_topic") && tilde && n && (v[0] == '~' || v[n - 1] == '~')) {
            biff_out o = { .buf = buf, .cap = cap - 1 }; /* R4 */
            if (v[0] == '~')
                biff_out_str(&o, tilde->str), biff_out_str(&o, v + 1);
            else
                biff_out_put(&o, v, n - 1), biff_out_str(&o, tilde->str);
            assert_true(o.pos < cap);
            buf[o.pos] = 0;
        } else {
            assert_true(n < cap);
            memcpy(buf, v, n + 1);
        }
        return buf;
    }
    return NULL;
}

static void check_config(const char *prefix, const biff_ha_msg *m, entity *e)
{
    /* R1 */
    size_t pl = strlen(prefix);
    assert_memory_equal(m->topic, prefix, pl);
    assert_int_equal(m->topic[pl], '/');
    char comp[16], node[64], obj[64], last[16];
    assert_int_equal(sscanf(m->topic + pl + 1, "%15[^/]/%63[^/]/%63[^/]/%15s", comp, node, obj, last), 4);
    assert_string_equal(last, "config");
    assert_true(idchars(node, strlen(node)));
    assert_true(idchars(obj, strlen(obj)));
    assert_true(!strcmp(comp, "sensor") || !strcmp(comp, "binary_sensor") || !strcmp(comp, "button"));
    /* R2 */
    int root = jparse(m->payload);
    assert_true(root >= 0);
    assert_int_equal(nodes[root].type, J_OBJ);
    /* R3 */
    const char *const *plat = !strcmp(comp, "sensor")          ? sensor_keys
                              : !strcmp(comp, "binary_sensor") ? binary_keys
                                                               : button_keys;
    for (int c = nodes[root].first; c >= 0; c = nodes[c].next) {
        const char *full = expand(abbrev, sizeof abbrev / sizeof abbrev[0], nodes[c].key);
        if (!in_list(common_keys, full) && !in_list(plat, full))
            fail_msg("%s: key %s is not documented for %s", m->topic, nodes[c].key, comp);
        if (strcmp(full, "device")) assert_int_equal(nodes[c].type, J_STR); /* R6 */
    }
    memset(e, 0, sizeof *e);
    memcpy(e->comp, comp, sizeof comp);
    char b[256];
    /* R5, R9 */
    if (!strcmp(comp, "button")) {
        assert_non_null(val(root, "command_topic", e->cmd_topic, sizeof e->cmd_topic));
        assert_true(topic_name_ok(e->cmd_topic));
    } else {
        assert_non_null(val(root, "state_topic", e->state_topic, sizeof e->state_topic));
        assert_true(topic_name_ok(e->state_topic));
        assert_non_null(val(root, "value_template", b, sizeof b));
        assert_int_equal(sscanf(b, "{{ value_json.%31[a-z_] }}", e->tpl_key), 1);
    }
    if (val(root, "json_attributes_topic", e->attr_topic, sizeof e->attr_topic))
        assert_true(topic_name_ok(e->attr_topic));
    if (val(root, "availability_topic", e->avail, sizeof e->avail)) assert_true(topic_name_ok(e->avail));
    assert_non_null(val(root, "name", b, sizeof b));
    /* R6: a device needs a unique_id; identifiers or connections */
    assert_non_null(val(root, "unique_id", e->uid, sizeof e->uid));
    assert_true(e->uid[0]);
    const jnode *d = jget(root, "dev");
    if (!d) d = jget(root, "device");
    assert_non_null(d);
    assert_int_equal(d->type, J_OBJ);
    int has_id = 0;
    for (int c = d->first; c >= 0; c = nodes[c].next) {
        const char *full = expand(dev_abbrev, sizeof dev_abbrev / sizeof dev_abbrev[0], nodes[c].key);
        if (!strcmp(full, "identifiers")) {
            has_id = 1;
            if (nodes[c].type == J_ARR) {
                assert_true(nodes[c].first >= 0);
                for (int i = nodes[c].first; i >= 0; i = nodes[i].next) assert_int_equal(nodes[i].type, J_STR);
            } else {
                assert_int_equal(nodes[c].type, J_STR);
            }
        } else if (!strcmp(full, "connections")) {
            has_id = 1;
            assert_int_equal(nodes[c].type, J_ARR);
        } else if (!strcmp(full, "name") || !strcmp(full, "model") || !strcmp(full, "sw_version") ||
                   !strcmp(full, "manufacturer")) {
            assert_int_equal(nodes[c].type, J_STR);
        } else {
            fail_msg("device key %s is not documented", nodes[c].key);
        }
    }
    assert_true(has_id);
    /* R7 */
    if (val(root, "device_class", b, sizeof b)) {
        assert_string_equal(comp, "binary_sensor");
        assert_true(in_list(bin_classes, b));
    }
    if (val(root, "state_class", b, sizeof b)) {
        assert_string_equal(comp, "sensor");
        assert_true(!strcmp(b, "measurement") || !strcmp(b, "total") || !strcmp(b, "total_increasing"));
        e->numeric = 1;
    }
    /* binary_sensor: tinybiff relies on the default payloads */
    if (!strcmp(comp, "binary_sensor")) {
        assert_null(val(root, "payload_on", b, sizeof b));
        assert_null(val(root, "payload_off", b, sizeof b));
    }
}

/* The state an entity reads: JSON with its template's key, of the right kind. */
static void check_state(const entity *e, const char *payload)
{
    int root = jparse(payload);
    assert_true(root >= 0);
    assert_int_equal(nodes[root].type, J_OBJ);
    const jnode *v = jget(root, e->tpl_key);
    if (!v) fail_msg("%s: state on %s lacks %s", e->uid, e->state_topic, e->tpl_key);
    if (!strcmp(e->comp, "binary_sensor")) {
        assert_int_equal(v->type, J_STR);
        assert_true(!strcmp(v->str, "ON") || !strcmp(v->str, "OFF"));
    } else if (e->numeric) {
        assert_int_equal(v->type, J_NUM);
    }
    if (e->attr_topic[0]) {
        /* the attribute template reads value_json.error: present, a class name or null */
        const jnode *err = jget(root, "error");
        assert_non_null(err);
        assert_true(err->type == J_NULL || err->type == J_STR);
    }
}

/* Publish everything a device with these accounts publishes, check all of it. */
static void check_device(const biff_ha_device *dev, biff_status_account *acct, const uint32_t *ids, size_t n)
{
    static biff_ha_shown shown[8];
    static entity ent[3 + 3 * 8];
    static char last_state[16][BIFF_HA_TOPIC_MAX], last_payload[16][BIFF_HA_PAYLOAD_MAX];
    int n_ent = 0, n_states = 0;
    biff_ha ha;
    biff_ha_msg m;
    assert_int_equal(biff_ha_init(&ha, dev, acct, ids, shown, n), BIFF_HA_OK);
    biff_ha_connected(&ha);
    char avail[BIFF_HA_TOPIC_MAX] = "";
    const char *prefix = dev->prefix && dev->prefix[0] ? dev->prefix : "homeassistant";
    size_t pl = strlen(prefix);
    biff_ha_status st;
    int sent = 0;
    while ((st = biff_ha_next(&ha, &m)) == BIFF_HA_OK && sent++ < 100) {
        biff_ha_sent(&ha);
        assert_true(topic_name_ok(m.topic)); /* R9 */
        assert_int_equal(m.retain, 1);
        if (!strncmp(m.topic, prefix, pl) && m.topic[pl] == '/') {
            assert_true(n_ent < (int)(sizeof ent / sizeof ent[0]));
            check_config(prefix, &m, &ent[n_ent++]);
        } else if (!strcmp(m.payload, "online")) {
            snprintf(avail, sizeof avail, "%s", m.topic);
        } else {
            assert_true(n_states < 16);
            snprintf(last_state[n_states], BIFF_HA_TOPIC_MAX, "%s", m.topic);
            snprintf(last_payload[n_states++], BIFF_HA_PAYLOAD_MAX, "%s", m.payload);
        }
    }
    assert_int_equal(st, BIFF_HA_IDLE);
    assert_int_equal(n_ent, (int)(3 + 3 * n));
    for (int i = 0; i < n_ent; i++) {
        /* R8 */
        for (int j = 0; j < i; j++)
            if (!strcmp(ent[i].comp, ent[j].comp)) assert_string_not_equal(ent[i].uid, ent[j].uid);
        /* availability: online on the topic, the will offline on the same */
        assert_string_equal(ent[i].avail, avail);
        if (!ent[i].state_topic[0]) continue;
        int found = 0;
        for (int s = 0; s < n_states; s++)
            if (!strcmp(last_state[s], ent[i].state_topic)) check_state(&ent[i], last_payload[s]), found = 1;
        if (!found) fail_msg("%s: nothing published on %s", ent[i].uid, ent[i].state_topic);
    }
    biff_ha_will(&ha, &m);
    assert_string_equal(m.topic, avail);
    assert_string_equal(m.payload, "offline");
    /* The button's command topic is one the device subscribes to. */
    char subs[BIFF_HA_SUBSCRIPTIONS][BIFF_HA_TOPIC_MAX];
    biff_ha_subscriptions(&ha, subs);
    for (int i = 0; i < n_ent; i++)
        if (ent[i].cmd_topic[0]) assert_string_equal(ent[i].cmd_topic, subs[0]);
    char birth[BIFF_HA_TOPIC_MAX];
    snprintf(birth, sizeof birth, "%s/status", prefix);
    assert_string_equal(subs[1], birth);
}

static void set(biff_status_account *a, const char *name, uint32_t unseen, uint32_t fresh, uint8_t err)
{
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->n_folders = 2;
    a->folder[0].unseen = unseen;
    a->folder[1].fresh = fresh;
    a->err = err;
    a->state = err ? BIFF_STATE_ERROR : BIFF_STATE_OK;
}

static void typical_device(void **state)
{
    (void)state;
    biff_status_account a[3];
    uint32_t ids[3] = { 1, 0xffffffffu, 0x00c0ffeeu };
    set(&a[0], "work", 12, 2, BIFF_ERR_NONE);
    set(&a[1], "home \"&\" <pop>", 0, 0, BIFF_ERR_AUTH_FAILED);
    set(&a[2], "Zürich \\ 😀", 1, 0, BIFF_ERR_NONE);
    biff_ha_device d = { NULL, "tinybiff/ab-12", "tb_ab-12", "tinybiff \"ab\"", "notifier mps2-an385", "0.1.0" };
    check_device(&d, a, ids, 3);
}

static void no_accounts(void **state)
{
    (void)state;
    biff_ha_device d = { "discover/ha", "x", "n", "", "", "" };
    check_device(&d, NULL, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typical_device),
        cmocka_unit_test(no_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

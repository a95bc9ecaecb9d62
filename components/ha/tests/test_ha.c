/* biff_ha: what is published when, exactly; commands; removal of deleted accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "biff/ha.h"
#include "biff/result.h"

static const biff_ha_device dev = {
    .prefix = NULL,
    .base = "tinybiff/kitchen",
    .node_id = "tb_kitchen",
    .name = "Kitchen biff",
    .model = "router daemon",
    .sw_version = "0.1.0",
};

static biff_status_account acct[2];
static uint32_t ids[2] = { 0x0badcafeu, 0x12345678u };
static biff_ha_shown shown[2];
static biff_ha ha;
static biff_ha_msg m;

static void set(size_t i, const char *name, uint32_t unseen, uint32_t fresh, uint8_t err)
{
    snprintf(acct[i].name, sizeof acct[i].name, "%s", name);
    acct[i].n_folders = 1;
    acct[i].folder[0].unseen = unseen;
    acct[i].folder[0].fresh = fresh;
    acct[i].err = err;
    acct[i].state = err ? BIFF_STATE_ERROR : BIFF_STATE_OK;
}

static int setup(void **state)
{
    (void)state;
    memset(acct, 0, sizeof acct);
    set(0, "work", 3, 1, BIFF_ERR_NONE);
    set(1, "home", 0, 0, BIFF_ERR_TLS);
    assert_int_equal(biff_ha_init(&ha, &dev, acct, ids, shown, 2), BIFF_HA_OK);
    return 0;
}

/* Next message: must be due, and is taken by the transport. */
static void take(const char *topic, const char *payload)
{
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
    assert_string_equal(m.topic, topic);
    if (payload) assert_string_equal(m.payload, payload);
    assert_int_equal(m.len, strlen(m.payload));
    assert_int_equal(m.retain, 1);
    biff_ha_sent(&ha);
}

static void pass_on(int n)
{
    for (int k = 0; k < n; k++) {
        assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
        biff_ha_sent(&ha);
    }
}

static void drain_configs(void)
{
    for (int k = 0; k < 3 + 3 * 2; k++) {
        assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
        assert_non_null(strstr(m.topic, "/config"));
        biff_ha_sent(&ha);
    }
}

static void init_rejects(void **state)
{
    (void)state;
    biff_ha h;
    biff_ha_device d = dev;
    d.node_id = "tb kitchen"; /* HA's discovery topic takes [a-zA-Z0-9_-] only */
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d = dev;
    d.base = "tinybiff/+";
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d.base = "tinybiff//x";
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d.base = "tinybiff/";
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d = dev;
    d.prefix = "home#";
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d = dev;
    d.name = "a\nb";
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d = dev;
    d.model = "0123456789012345678901234567890123456789012345678"; /* 49 > BIFF_HA_TEXT_MAX */
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
    d = dev;
    d.node_id = "012345678901234567890123456789012"; /* 33 */
    assert_int_equal(biff_ha_init(&h, &d, acct, ids, shown, 2), BIFF_HA_E_ARG);
}

static void nothing_before_connect(void **state)
{
    (void)state;
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    biff_ha_will(&ha, &m);
    assert_string_equal(m.topic, "tinybiff/kitchen/availability");
    assert_string_equal(m.payload, "offline");
    assert_int_equal(m.len, 7);
    assert_int_equal(m.retain, 1);
}

static void subscriptions(void **state)
{
    (void)state;
    char t[BIFF_HA_SUBSCRIPTIONS][BIFF_HA_TOPIC_MAX];
    assert_int_equal(biff_ha_subscriptions(&ha, t), 4);
    assert_string_equal(t[0], "tinybiff/kitchen/ack");
    assert_string_equal(t[1], "homeassistant/status");
    assert_string_equal(t[2], "homeassistant/+/tb_kitchen/+/config");
    assert_string_equal(t[3], "tinybiff/kitchen/account/+");
}

/* The whole first publication, byte for byte (the MQTT test compares the broker's copy too). */
static void connect_publishes_everything_once(void **state)
{
    (void)state;
    biff_ha_connected(&ha);
    take("tinybiff/kitchen/availability", "online");
    const char *devj = "\"avty_t\":\"~/availability\",\"dev\":{\"ids\":[\"tb_kitchen\"],"
                       "\"name\":\"Kitchen biff\",\"mdl\":\"router daemon\",\"sw\":\"0.1.0\","
                       "\"mf\":\"tinybiff\"}}";
    char want[1024];
    snprintf(want, sizeof want,
             "{\"~\":\"tinybiff/kitchen\",\"name\":\"Acknowledge\","
             "\"uniq_id\":\"tb_kitchen_ack\",\"cmd_t\":\"~/ack\",\"pl_prs\":\"PRESS\",%s",
             devj);
    take("homeassistant/button/tb_kitchen/ack/config", want);
    snprintf(want, sizeof want,
             "{\"~\":\"tinybiff/kitchen\",\"name\":\"Unread\","
             "\"uniq_id\":\"tb_kitchen_unread\",\"stat_t\":\"~/state\","
             "\"val_tpl\":\"{{ value_json.unread }}\",\"stat_cla\":\"measurement\",%s",
             devj);
    take("homeassistant/sensor/tb_kitchen/unread/config", want);
    take("homeassistant/sensor/tb_kitchen/new/config", NULL);
    snprintf(want, sizeof want,
             "{\"~\":\"tinybiff/kitchen\",\"name\":\"work unread\","
             "\"uniq_id\":\"tb_kitchen_0badcafe_unread\",\"stat_t\":\"~/account/0badcafe\","
             "\"val_tpl\":\"{{ value_json.unread }}\",\"stat_cla\":\"measurement\",%s",
             devj);
    take("homeassistant/sensor/tb_kitchen/0badcafe_unread/config", want);
    take("homeassistant/sensor/tb_kitchen/0badcafe_new/config", NULL);
    snprintf(want, sizeof want,
             "{\"~\":\"tinybiff/kitchen\",\"name\":\"work problem\","
             "\"uniq_id\":\"tb_kitchen_0badcafe_problem\",\"stat_t\":\"~/account/0badcafe\","
             "\"val_tpl\":\"{{ value_json.problem }}\",\"dev_cla\":\"problem\","
             "\"json_attr_t\":\"~/account/0badcafe\","
             "\"json_attr_tpl\":\"{{ {'error': value_json.error} | tojson }}\",%s",
             devj);
    take("homeassistant/binary_sensor/tb_kitchen/0badcafe_problem/config", want);
    take("homeassistant/sensor/tb_kitchen/12345678_unread/config", NULL);
    take("homeassistant/sensor/tb_kitchen/12345678_new/config", NULL);
    take("homeassistant/binary_sensor/tb_kitchen/12345678_problem/config", NULL);
    take("tinybiff/kitchen/state", "{\"unread\":3,\"new\":1}");
    take("tinybiff/kitchen/account/0badcafe", "{\"unread\":3,\"new\":1,\"problem\":\"OFF\",\"error\":null}");
    take("tinybiff/kitchen/account/12345678", "{\"unread\":0,\"new\":0,\"problem\":\"ON\",\"error\":\"tls\"}");
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
}

static void state_only_on_change(void **state)
{
    (void)state;
    biff_ha_connected(&ha);
    take("tinybiff/kitchen/availability", "online");
    drain_configs();
    take("tinybiff/kitchen/state", NULL);
    take("tinybiff/kitchen/account/0badcafe", NULL);
    take("tinybiff/kitchen/account/12345678", NULL);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    /* A check that finds the same counts publishes nothing. */
    acct[0].state = BIFF_STATE_CHECKING;
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    acct[0].state = BIFF_STATE_OK;
    /* A delivery to account 1, which recovered: its document and the totals, nothing else. */
    set(1, "home", 1, 1, BIFF_ERR_NONE);
    take("tinybiff/kitchen/state", "{\"unread\":4,\"new\":2}");
    take("tinybiff/kitchen/account/12345678", "{\"unread\":1,\"new\":1,\"problem\":\"OFF\",\"error\":null}");
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    /* Acknowledge: new goes to 0 on both. */
    acct[0].folder[0].fresh = 0;
    acct[1].folder[0].fresh = 0;
    take("tinybiff/kitchen/state", "{\"unread\":4,\"new\":0}");
    take("tinybiff/kitchen/account/0badcafe", "{\"unread\":3,\"new\":0,\"problem\":\"OFF\",\"error\":null}");
    take("tinybiff/kitchen/account/12345678", "{\"unread\":1,\"new\":0,\"problem\":\"OFF\",\"error\":null}");
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
}

/* A transport without room: the message stays due; gone connection: nothing is due. */
static void unsent_stays_due(void **state)
{
    (void)state;
    biff_ha_connected(&ha);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
        assert_string_equal(m.topic, "tinybiff/kitchen/availability");
    }
    biff_ha_sent(&ha);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
    assert_string_equal(m.topic, "homeassistant/button/tb_kitchen/ack/config");
    biff_ha_disconnected(&ha);
    biff_ha_sent(&ha); /* late completion of a publish that died with the connection */
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    /* Reconnect: everything again, from availability on (the broker may have lost it). */
    biff_ha_connected(&ha);
    take("tinybiff/kitchen/availability", "online");
    take("homeassistant/button/tb_kitchen/ack/config", NULL);
}

static void commands(void **state)
{
    (void)state;
    biff_ha_msg r;
    biff_ha_connected(&ha);
    const char *t = "tinybiff/kitchen/ack";
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "PRESS", 5, 0, &r), BIFF_HA_IN_PRESS);
    /* A PRESS somebody left retained on the broker must not acknowledge at every connect. */
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "PRESS", 5, 1, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "PRESSED", 7, 0, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "PRES", 4, 0, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t) - 1, "PRESS", 5, 0, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_incoming(&ha, "tinybiff/kitchen/ack/x", 22, "PRESS", 5, 0, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_incoming(&ha, "tinybiff/kitchenx/ack", 21, "PRESS", 5, 0, &r), BIFF_HA_IN_NONE);
}

/* HA announces itself: configs and states are due again, availability is not. */
static void ha_online_republishes(void **state)
{
    (void)state;
    biff_ha_msg r;
    biff_ha_connected(&ha);
    take("tinybiff/kitchen/availability", "online");
    drain_configs();
    pass_on(3);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    const char *t = "homeassistant/status";
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "offline", 7, 0, &r), BIFF_HA_IN_NONE);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
    assert_int_equal(biff_ha_incoming(&ha, t, strlen(t), "online", 6, 0, &r), BIFF_HA_IN_HA_ONLINE);
    take("homeassistant/button/tb_kitchen/ack/config", NULL);
    pass_on(8);
    take("tinybiff/kitchen/state", NULL);
    take("tinybiff/kitchen/account/0badcafe", NULL);
    take("tinybiff/kitchen/account/12345678", NULL);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_IDLE);
}

static biff_ha_in in(const char *topic, const char *payload, biff_ha_msg *r)
{
    return biff_ha_incoming(&ha, topic, strlen(topic), payload, strlen(payload), 1, r);
}

/* Retained messages of accounts no longer configured come back as deletions; nothing else. */
static void removed_account_deleted(void **state)
{
    (void)state;
    biff_ha_msg r;
    biff_ha_connected(&ha);
    const char *old = "homeassistant/binary_sensor/tb_kitchen/deadbeef_problem/config";
    assert_int_equal(in(old, "{}", &r), BIFF_HA_IN_STALE);
    assert_string_equal(r.topic, old);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.retain, 1);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/deadbeef_new/config", "{}", &r), BIFF_HA_IN_STALE);
    assert_int_equal(in("tinybiff/kitchen/account/deadbeef", "{}", &r), BIFF_HA_IN_STALE);
    assert_string_equal(r.topic, "tinybiff/kitchen/account/deadbeef");
    /* An entity this version no longer has, on our node: also removed. */
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/0badcafe_flagged/config", "{}", &r), BIFF_HA_IN_STALE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/ack/config", "{}", &r), BIFF_HA_IN_STALE);
    /* Today's configs and states, deletions already done, other nodes: left alone. */
    assert_int_equal(in("homeassistant/binary_sensor/tb_kitchen/0badcafe_problem/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/12345678_unread/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/button/tb_kitchen/ack/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/unread/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("tinybiff/kitchen/account/0badcafe", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in(old, "", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen2/deadbeef_new/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/other/deadbeef_new/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/deadbeef_new/state", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor/tb_kitchen/a/b/config", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("tinybiff/kitchen/account/deadbeef/x", "{}", &r), BIFF_HA_IN_NONE);
    assert_int_equal(in("homeassistant/sensor", "{}", &r), BIFF_HA_IN_NONE);
    /* A NUL inside a topic (MQTT forbids it; found by fuzz_ha_incoming): never a cut deletion. */
    static const char nul[] = "homeassistant/sensor/tb_kitchen/dead\0beef_new/config";
    assert_int_equal(biff_ha_incoming(&ha, nul, sizeof nul - 1, "{}", 2, 1, &r), BIFF_HA_IN_NONE);
}

/* Renaming an account changes its names, never its unique_ids or topics. */
static void rename_keeps_ids(void **state)
{
    (void)state;
    biff_ha_connected(&ha);
    pass_on(4); /* availability and the device's three configs */
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
    char before[BIFF_HA_PAYLOAD_MAX], topic[BIFF_HA_TOPIC_MAX];
    strcpy(before, m.payload);
    strcpy(topic, m.topic);
    assert_non_null(strstr(before, "\"name\":\"work unread\",\"uniq_id\":\"tb_kitchen_0badcafe_unread\""));
    set(0, "Work \"mail\"", 3, 1, BIFF_ERR_NONE);
    biff_ha_republish(&ha);
    pass_on(3);
    assert_int_equal(biff_ha_next(&ha, &m), BIFF_HA_OK);
    assert_string_equal(m.topic, topic);
    assert_non_null(
        strstr(m.payload, "\"name\":\"Work \\\"mail\\\" unread\",\"uniq_id\":\"tb_kitchen_0badcafe_unread\""));
}

/* The longest names of the worst characters still fit BIFF_HA_PAYLOAD_MAX and the topic bound. */
static void worst_case_fits(void **state)
{
    (void)state;
    char pfx[BIFF_HA_PREFIX_MAX + 1], base[BIFF_HA_BASE_MAX + 1], node[BIFF_HA_NODE_MAX + 1];
    char text[BIFF_HA_TEXT_MAX + 1];
    memset(pfx, 'p', sizeof pfx - 1), pfx[sizeof pfx - 1] = 0;
    memset(base, 'b', sizeof base - 1), base[sizeof base - 1] = 0;
    memset(node, 'n', sizeof node - 1), node[sizeof node - 1] = 0;
    memset(text, '"', sizeof text - 1), text[sizeof text - 1] = 0; /* each escapes to 2 bytes */
    biff_ha_device d = { pfx, base, node, text, text, text };
    memset(acct[0].name, 0x01, sizeof acct[0].name - 1); /* each escapes to 6 bytes */
    acct[0].name[sizeof acct[0].name - 1] = 0;
    acct[0].err = BIFF_ERR_AUTH_METHOD_UNAVAILABLE;
    acct[0].folder[0].unseen = acct[0].folder[0].fresh = UINT32_MAX;
    assert_int_equal(biff_ha_init(&ha, &d, acct, ids, shown, 2), BIFF_HA_OK);
    biff_ha_connected(&ha);
    size_t longest = 0;
    biff_ha_status st;
    int n = 0;
    while ((st = biff_ha_next(&ha, &m)) == BIFF_HA_OK && n < 100) {
        if (m.len > longest) longest = m.len;
        biff_ha_sent(&ha);
        n++;
    }
    assert_int_equal(st, BIFF_HA_IDLE);
    assert_int_equal(n, 1 + 9 + 3);
    printf("longest message with the longest names: %zu of %d bytes\n", longest, BIFF_HA_PAYLOAD_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(init_rejects, setup),
        cmocka_unit_test_setup(nothing_before_connect, setup),
        cmocka_unit_test_setup(subscriptions, setup),
        cmocka_unit_test_setup(connect_publishes_everything_once, setup),
        cmocka_unit_test_setup(state_only_on_change, setup),
        cmocka_unit_test_setup(unsent_stays_due, setup),
        cmocka_unit_test_setup(commands, setup),
        cmocka_unit_test_setup(ha_online_republishes, setup),
        cmocka_unit_test_setup(removed_account_deleted, setup),
        cmocka_unit_test_setup(rename_keeps_ids, setup),
        cmocka_unit_test_setup(worst_case_fits, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

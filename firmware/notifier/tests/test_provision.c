/* The notifier's provisioning parser on the host. Semihosting file access is QEMU's; here the
 * same calls read host files through stdio, which is what QEMU does with them. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "board.h"
#include "provision.h"

static FILE *files[4];

int biff_board_sh_open(const char *path, int mode)
{
    (void)mode;
    for (int i = 0; i < 4; i++) {
        if (!files[i]) {
            files[i] = fopen(path, "rb");
            return files[i] ? i : -1;
        }
    }
    return -1;
}

void biff_board_sh_close(int fd)
{
    fclose(files[fd]);
    files[fd] = NULL;
}

int biff_board_sh_read(int fd, void *buf, uint32_t len)
{
    return (int)fread(buf, 1, len, files[fd]);
}

long biff_board_sh_flen(int fd)
{
    fseek(files[fd], 0, SEEK_END);
    long n = ftell(files[fd]);
    fseek(files[fd], 0, SEEK_SET);
    return n;
}

static prov P;
static char path[] = "/tmp/test_provision_XXXXXX";

static int load(const char *text, const char **why)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    *why = "";
    return prov_load(&P, path, why);
}

#define BASE "ca /ca.pem\naccount imaps://u@h/INBOX pw\n"

static void interval_is_bounded(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(BASE "interval 20\n", &why), 0);
    assert_int_equal(P.interval_s, 20);
    assert_int_equal(load(BASE "interval 86400\n", &why), 0);
    assert_int_equal(P.interval_s, 86400);
    assert_int_equal(load(BASE, &why), 0);
    assert_int_equal(P.interval_s, 300);
    /* 4,294,968 s is the first value whose milliseconds wrap 32 bits (to 32 ms). */
    static const char *const bad[] = { "4294968", "86401", "4", "0", "-1", "20s", "99999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128];
        snprintf(text, sizeof text, BASE "interval %s\n", bad[i]);
        assert_int_equal(load(text, &why), -1);
        assert_string_equal(why, "interval: not a number of seconds from 5 to 86400");
    }
}

static void idle_is_an_imap_option(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(BASE, &why), 0);
    assert_false(P.acct[0].acct.idle);
    assert_int_equal(load("ca /ca.pem\naccount imaps://u@h/INBOX pw idle\naccount pop3s://u@h pw idle\n", &why), 0);
    assert_true(P.acct[0].acct.idle);
    assert_false(P.acct[1].acct.idle); /* POP3 has no IDLE: polled */
    assert_int_equal(load("ca /ca.pem\naccount imaps://u@h/INBOX pw idel\n", &why), -1);
    assert_string_equal(why, "account: the only word after the secret can be 'idle'");
}

static void mqtt_broker_fields(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(BASE, &why), 0);
    assert_null(P.mqtt.url); /* no broker */
    assert_int_equal(load(BASE "mqtt_url mqtts://broker.lan\nmqtt_username tb\nmqtt_password s3cret\n", &why), 0);
    assert_string_equal(P.mqtt.host, "broker.lan");
    assert_int_equal(P.mqtt.port, 8883);
    assert_int_equal(P.mqtt.tls, 1);
    assert_string_equal(P.mqtt.username, "tb");
    assert_string_equal(P.mqtt.password, "s3cret");
    assert_false(P.mqtt.has_pin);
    assert_string_equal(P.mqtt.client_id, "tinybiff"); /* the router's defaults */
    assert_string_equal(P.mqtt.prefix, "homeassistant");
    assert_string_equal(P.mqtt.base, "tinybiff/tinybiff");
    assert_int_equal(load(BASE "mqtt_url mqtt://10.0.2.2:1884\nmqtt_client_id kitchen-1\n"
                               "mqtt_discovery_prefix ha\nmqtt_pin sha256/"
                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                          &why),
                     0);
    assert_string_equal(P.mqtt.host, "10.0.2.2");
    assert_int_equal(P.mqtt.port, 1884);
    assert_int_equal(P.mqtt.tls, 0);
    assert_true(P.mqtt.has_pin);
    assert_string_equal(P.mqtt.prefix, "ha");
    assert_string_equal(P.mqtt.base, "tinybiff/kitchen-1");
    assert_int_equal(load(BASE "mqtt_url mqtts://b\nmqtt_base_topic home/biff\n", &why), 0);
    assert_string_equal(P.mqtt.base, "home/biff");

    static const struct {
        const char *line, *why;
    } bad[] = {
        { "mqtt_url imaps://b\n", "mqtt_url: scheme must be mqtts:// or mqtt://" },
        { "mqtt_url mqtts://u@b\n", "mqtt_url: the broker's user name goes in mqtt_username" },
        { "mqtt_url mqtts://b\nmqtt_client_id kit.chen\n", "mqtt_client_id: 1 to 32 letters, digits, _ or -" },
        { "mqtt_url mqtts://b\nmqtt_base_topic a/#\n", "mqtt_base_topic: 1 to 64 bytes, no +, # or empty levels" },
        { "mqtt_url mqtts://b\nmqtt_discovery_prefix ha//x\n",
          "mqtt_discovery_prefix: 1 to 32 bytes, no +, # or empty levels" },
        { "mqtt_url mqtts://b\nmqtt_pin sha1/xyz\n", "mqtt_pin: expected sha256/ and the base64 of 32 bytes" },
        { "mqtt_url mqtts://b\nmqtt_qos 1\n", "unknown mqtt_ directive" },
        { "mqtt_password pw\n", "mqtt_ lines without mqtt_url" },
        { "mqtt_url mqtts://b extra\n", "mqtt_ directives take one value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[256];
        snprintf(text, sizeof text, BASE "%s", bad[i].line);
        assert_int_equal(load(text, &why), -1);
        assert_string_equal(why, bad[i].why);
    }
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    return fd < 0 ? -1 : close(fd);
}

static int teardown(void **state)
{
    (void)state;
    return remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_is_bounded),
        cmocka_unit_test(idle_is_an_imap_option),
        cmocka_unit_test(mqtt_broker_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

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

#define OAUTH_ACCT "ca /ca.pem\naccount imaps://u@h/INBOX idle\nauth oauth2\n"
#define CUSTOM                                                                                                         \
    "oauth_provider custom\nclient_id dev-1\ntoken_url https://as.example:8443/token\n"                                \
    "device_url https://as.example:8443/device\n"

static void oauth_custom_account(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(OAUTH_ACCT CUSTOM "client_secret cs-1\nscope  mail\t offline_access \n", &why), 0);
    const prov_account *a = &P.acct[0];
    assert_true(a->oauth2);
    assert_null(a->acct.secret); /* no password: the tokens come from the device flow */
    assert_true(a->acct.idle);
    assert_string_equal(a->oauth.token_url, "https://as.example:8443/token");
    assert_string_equal(a->oauth.device_url, "https://as.example:8443/device");
    assert_string_equal(a->oauth.client_id, "dev-1");
    assert_string_equal(a->oauth.client_secret, "cs-1");
    assert_string_equal(a->oauth.scope, "mail offline_access");
    /* a public client; a password account after it is unchanged */
    assert_int_equal(load(OAUTH_ACCT CUSTOM "scope mail\naccount pop3s://u@h pw\n", &why), 0);
    assert_null(P.acct[0].oauth.client_secret);
    assert_false(P.acct[1].oauth2);
    assert_string_equal(P.acct[1].acct.secret, "pw");
}

static void oauth_presets(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(OAUTH_ACCT "oauth_provider microsoft\nclient_id abc\n", &why), 0);
    assert_string_equal(P.acct[0].oauth.token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert_non_null(strstr(P.acct[0].oauth.scope, "IMAP.AccessAsUser.All"));
    assert_int_equal(load(OAUTH_ACCT "oauth_provider google\nclient_id abc\nscope https://mail.google.com/ x\n", &why),
                     0);
    assert_string_equal(P.acct[0].oauth.device_url, "https://oauth2.googleapis.com/device/code");
    assert_string_equal(P.acct[0].oauth.scope, "https://mail.google.com/ x");
    assert_int_equal(load("ca /ca.pem\naccount imaps://u;AUTH=XOAUTH2@h/INBOX\nauth oauth2\n"
                          "oauth_provider google\nclient_id abc\n",
                          &why),
                     0);
    assert_int_equal(P.acct[0].acct.auth, BIFF_CHECK_AUTH_XOAUTH2);
    assert_false(P.acct[0].acct.idle);
}

static void oauth_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        { OAUTH_ACCT "oauth_provider yahoo\n", "oauth_provider: not google, microsoft or custom" },
        { OAUTH_ACCT "client_id abc\n", "auth oauth2: oauth_provider is missing (google, microsoft or custom)" },
        { OAUTH_ACCT "oauth_provider google\n", "auth oauth2: client_id is missing (the provider issues it)" },
        { OAUTH_ACCT "oauth_provider custom\nclient_id a\ntoken_url https://h/t\nscope m\n",
          "oauth_provider custom: token_url, device_url and scope are all needed" },
        { OAUTH_ACCT CUSTOM, "oauth_provider custom: token_url, device_url and scope are all needed" },
        { OAUTH_ACCT "oauth_provider google\nclient_id a\ntoken_url https://h/t\n",
          "token_url and device_url need oauth_provider custom" },
        { OAUTH_ACCT "token_url http://h/t\n", "token_url: not https://HOST[:PORT]/PATH" },
        { OAUTH_ACCT "device_url https://h:99999/d\n", "device_url: not https://HOST[:PORT]/PATH" },
        { OAUTH_ACCT "device_url https://h\n", "device_url: not https://HOST[:PORT]/PATH" },
        { OAUTH_ACCT "client_id a b\n", "client_id: one word of printable characters" },
        { OAUTH_ACCT "client_secret a\x01\n", "client_secret: one word of printable characters" },
        { OAUTH_ACCT "auth kerberos\n", "auth: not password or oauth2" },
        { "ca /ca.pem\nclient_id a\n", "OAuth2 settings before any account line" },
        { "ca /ca.pem\naccount imaps://u@h/INBOX pw\nclient_id a\n", "client_id: needs 'auth oauth2' above it" },
        { "ca /ca.pem\naccount imaps://u@h/INBOX pw\nauth oauth2\noauth_provider google\nclient_id a\n",
          "account: an oauth2 account takes no secret, only 'idle' after its URL" },
        { "ca /ca.pem\naccount imaps://u;AUTH=PLAIN@h/INBOX\nauth oauth2\noauth_provider google\nclient_id a\n",
          "auth oauth2: the URL's ;AUTH= must be XOAUTH2 or OAUTHBEARER" },
        { "ca /ca.pem\naccount imaps://u@h/INBOX\n", "account without a secret" },
        { "ca /ca.pem\naccount imaps://u@h/INBOX pw idle x\n", "account: too many words" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why;
        assert_int_equal(load(bad[i].text, &why), -1);
        assert_string_equal(why, bad[i].why);
    }
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
        cmocka_unit_test(interval_is_bounded),  cmocka_unit_test(idle_is_an_imap_option),
        cmocka_unit_test(oauth_custom_account), cmocka_unit_test(oauth_presets),
        cmocka_unit_test(oauth_errors),         cmocka_unit_test(mqtt_broker_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

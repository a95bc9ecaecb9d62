#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "biff/url.h"

static void good_urls(void **state)
{
    (void)state;
    static const struct {
        const char *in, *user, *auth, *host, *mailbox;
        unsigned port, proto, tls;
    } cases[] = {
        { "imaps://alice@mail.example/INBOX", "alice", "", "mail.example", "INBOX", 993, BIFF_URL_IMAP, 1 },
        { "imap://bob;AUTH=PLAIN@127.0.0.1:1143/Archive", "bob", "PLAIN", "127.0.0.1", "Archive", 1143, BIFF_URL_IMAP,
          0 },
        { "IMAPS://carol;auth=xoauth2@[::1]:9993", "carol", "XOAUTH2", "::1", "INBOX", 9993, BIFF_URL_IMAP, 1 },
        { "imaps://d%40corp@host/Entw%C3%BCrfe;UIDVALIDITY=7", "d@corp", "", "host",
          "Entw\xc3\xbc"
          "rfe",
          993, BIFF_URL_IMAP, 1 },
        { "imaps://e@host/a%2Fb/", "e", "", "host", "a/b", 993, BIFF_URL_IMAP, 1 },
        { "imaps://f;AUTH=*@host", "f", "", "host", "INBOX", 993, BIFF_URL_IMAP, 1 },
        { "pop3s://gina@pop.example", "gina", "", "pop.example", "", 995, BIFF_URL_POP3, 1 },
        { "pop3://hal;AUTH=+APOP@pop.example:1110", "hal", "+APOP", "pop.example", "", 1110, BIFF_URL_POP3, 0 },
        { "pop://ivy@h", "ivy", "", "h", "", 110, BIFF_URL_POP3, 0 },
        { "imap://jo@host?SUBJECT%20x", "jo", "", "host", "INBOX", 143, BIFF_URL_IMAP, 0 },
        /* an e-mail address as the user name: the last '@' ends it, as curl reads it */
        { "imaps://kim@example.org@mail.example/INBOX", "kim@example.org", "", "mail.example", "INBOX", 993,
          BIFF_URL_IMAP, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        biff_url u;
        assert_int_equal(biff_url_parse(cases[i].in, &u), BIFF_URL_OK);
        assert_string_equal(u.user, cases[i].user);
        assert_string_equal(u.auth, cases[i].auth);
        assert_string_equal(u.host, cases[i].host);
        assert_string_equal(u.mailbox, cases[i].mailbox);
        assert_int_equal(u.port, cases[i].port);
        assert_int_equal(u.proto, cases[i].proto);
        assert_int_equal(u.implicit_tls, cases[i].tls);
    }
}

static void bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        biff_url_status want;
    } cases[] = {
        { "http://a@b/", BIFF_URL_E_SCHEME },
        { "imaps:/a@b", BIFF_URL_E_SCHEME },
        { "", BIFF_URL_E_SCHEME },
        { "imaps://alice:secret@host/INBOX", BIFF_URL_E_PASSWORD },
        { "imaps://@host", BIFF_URL_E_USER },
        { "imaps://a%00b@host", BIFF_URL_E_USER },
        { "imaps://a%4@host", BIFF_URL_E_USER },
        { "imaps://a;AUTH=@host", BIFF_URL_E_AUTH },
        { "imaps://a;FOO=X@host", BIFF_URL_E_AUTH },
        { "imaps://a;AUTH=PL AIN@host", BIFF_URL_E_AUTH },
        { "imaps://a@", BIFF_URL_E_HOST },
        { "imaps://a@ho st", BIFF_URL_E_HOST },
        { "imaps://a@[::1", BIFF_URL_E_HOST },
        { "imaps://a@[]:1", BIFF_URL_E_HOST },
        { "imaps://a@[::1]x", BIFF_URL_E_HOST },
        { "imaps://a@host:", BIFF_URL_E_PORT },
        { "imaps://a@host:0", BIFF_URL_E_PORT },
        { "imaps://a@host:65536", BIFF_URL_E_PORT },
        { "imaps://a@host:99999999999999999999", BIFF_URL_E_PORT },
        { "imaps://a@host:12a", BIFF_URL_E_PORT },
        { "pop3s://a@host/INBOX", BIFF_URL_E_PATH },
        { "imaps://a@host/IN%0ABOX", BIFF_URL_E_PATH },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        biff_url u;
        biff_url_status st = biff_url_parse(cases[i].in, &u);
        if (st != cases[i].want) fail_msg("%s: got %d want %d", cases[i].in, st, cases[i].want);
        assert_true(strlen(biff_url_strerror(st)) > 3);
    }
}

static void overlong_parts(void **state)
{
    (void)state;
    char big[600];
    biff_url u;
    memcpy(big, "imaps://", 8);
    memset(big + 8, 'u', 300);
    strcpy(big + 308, "@host");
    assert_int_equal(biff_url_parse(big, &u), BIFF_URL_E_TOO_LONG);
    strcpy(big, "imaps://a@h/");
    memset(big + 12, 'm', 400);
    big[412] = 0;
    assert_int_equal(biff_url_parse(big, &u), BIFF_URL_E_TOO_LONG);
}

static void redact(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "imaps://alice:hunter2@mail.example/INBOX", "imaps://alice@mail.example/INBOX" },
        { "imaps://alice:pw;AUTH=PLAIN@h:993", "imaps://alice@h:993" },
        { "pop3s://bob:p@ss/w?rd:x@pop.example", "pop3s://bob@pop.example" },
        { "imaps://carol@h:993/a:b@c", "imaps://carol@h:993/a:b@c" },
        { "imaps://dave@h/INBOX", "imaps://dave@h/INBOX" },
        { "alice:pw@h/no-scheme", "alice@h/no-scheme" },
        { "imap://e:@h", "imap://e@h" },
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(biff_url_redact(cases[i][0], out, sizeof out), cases[i][1]);
    }
    assert_string_equal(biff_url_redact("imaps://f:secret@h", out, 10), "imaps://f");
}

/* Broker URLs: their own schemes, and mail URLs and broker URLs never cross over. */
static void mqtt_urls(void **state)
{
    (void)state;
    biff_url u;
    assert_int_equal(biff_url_parse_mqtt("mqtts://broker.lan", &u), BIFF_URL_OK);
    assert_int_equal(u.proto, BIFF_URL_MQTT);
    assert_int_equal(u.implicit_tls, 1);
    assert_int_equal(u.port, 8883);
    assert_string_equal(u.host, "broker.lan");
    assert_string_equal(u.user, "");
    assert_int_equal(biff_url_parse_mqtt("MQTT://127.0.0.1:18830/tinybiff", &u), BIFF_URL_E_PATH);
    assert_int_equal(biff_url_parse_mqtt("mqtt://127.0.0.1:18830", &u), BIFF_URL_OK);
    assert_int_equal(u.implicit_tls, 0);
    assert_int_equal(u.port, 18830);
    assert_int_equal(biff_url_parse_mqtt("mqtts://ha@[::1]", &u), BIFF_URL_OK);
    assert_string_equal(u.user, "ha");
    assert_string_equal(u.host, "::1");
    assert_int_equal(biff_url_parse_mqtt("mqtts://ha:pw@b", &u), BIFF_URL_E_PASSWORD);
    assert_int_equal(biff_url_parse_mqtt("mqtts://ha;AUTH=PLAIN@b", &u), BIFF_URL_E_AUTH);
    assert_int_equal(biff_url_parse_mqtt("mqtts://b:0", &u), BIFF_URL_E_PORT);
    assert_int_equal(biff_url_parse_mqtt("mqtts://", &u), BIFF_URL_E_HOST);
    assert_int_equal(biff_url_parse_mqtt("imaps://a@b", &u), BIFF_URL_E_SCHEME);
    assert_int_equal(biff_url_parse_mqtt("mqttx://b", &u), BIFF_URL_E_SCHEME);
    assert_int_equal(biff_url_parse("mqtts://a@b", &u), BIFF_URL_E_SCHEME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_urls), cmocka_unit_test(bad_urls),  cmocka_unit_test(overlong_parts),
        cmocka_unit_test(redact),    cmocka_unit_test(mqtt_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

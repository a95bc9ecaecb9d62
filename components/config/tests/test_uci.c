#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "biff/uci.h"

#define MAXA 4
#define MAXL 3
#define MAXD 8

static biff_account accts[MAXA];
static biff_led_config leds[MAXL];
static biff_uci_diag diags[MAXD];
static biff_uci_config cfg;

static biff_uci_status parse(const char *text)
{
    memset(accts, 0xa5, sizeof accts); /* stale garbage must not leak into results */
    memset(leds, 0xa5, sizeof leds);
    biff_uci_init(&cfg, accts, MAXA, leds, MAXL, diags, MAXD);
    return biff_uci_parse(&cfg, "t.conf", text, strlen(text));
}

static const char good_file[] = "# tinybiff on a router\n"
                                "package tinybiff\n"
                                "\n"
                                "config tinybiff 'main'\n"
                                "\toption interval '120'\n"
                                "\toption status_bind '[::1]:8080'\n"
                                "\toption status_json \"/tmp/tinybiff.json\"\n"
                                "\toption ca /etc/ssl/ca.pem   # trailing comment\n"
                                "\toption secrets '/etc/tinybiff/secrets'\n"
                                "\toption log 'syslog'\n"
                                "\toption idle_renew '600'\n"
                                "\toption max_parallel '32'\n"
                                "\tlist status_host 'router.lan'\n"
                                "\tlist status_host Biff-1.example\n"
                                "\toption control '/var/run/tinybiff/control'\n"
                                "\r\n"
                                "config led 'green'\n"
                                "\toption sysfs 'green:mail'\n"
                                "\tlist account 'home'\n"
                                "\tlist account work\n"
                                "config led 'all'\n"
                                "\toption terminal 'yes'\n"
                                "\n"
                                "config account 'work'\r\n"
                                "\toption url 'imaps://alice;AUTH=PLAIN@mail.example.com/INBOX'\n"
                                "\tlist folder 'INBOX'\n"
                                "\tlist folder 'Lists/dev team'\n"
                                "\tlist folder \"Entw\xc3\xbc"
                                "rfe \\\"x\\\"\"\n"
                                "\toption interval '60'\n"
                                "\toption idle '0'\n"
                                "\toption pin 'sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='\n"
                                "\toption secret_env 'WORK_PASSWORD'\n"
                                "\toption ca '/etc/ssl/work.pem'\n"
                                "config account 'home'\n"
                                "\toption url 'pop3://bob@pop.example:1110'\n"
                                "\toption security 'none'\n"
                                "\toption enabled 'off'\n"
                                "config account imap_plain\n"
                                "\toption url imap://carol@h/Archive\n";

static void good_round_trip(void **state)
{
    (void)state;
    assert_int_equal(parse(good_file), BIFF_UCI_OK);
    assert_int_equal(cfg.n_diags, 0);
    assert_int_equal(cfg.n_errors, 0);

    const biff_globals *g = &cfg.globals;
    assert_int_equal(g->interval_s, 120);
    assert_string_equal(g->status_bind, "[::1]:8080");
    assert_string_equal(g->status_json, "/tmp/tinybiff.json");
    assert_string_equal(g->ca, "/etc/ssl/ca.pem");
    assert_string_equal(g->secrets, "/etc/tinybiff/secrets");
    assert_int_equal(g->log, BIFF_LOG_SYSLOG);
    assert_int_equal(g->idle_renew_s, 600);
    assert_int_equal(g->max_parallel, 32);
    assert_int_equal(g->n_status_hosts, 2);
    assert_string_equal(g->status_host[0], "router.lan");
    assert_string_equal(g->status_host[1], "Biff-1.example");
    assert_string_equal(g->control, "/var/run/tinybiff/control");

    assert_int_equal(cfg.n_accounts, 3);
    const biff_account *w = &accts[0];
    assert_string_equal(w->name, "work");
    assert_int_equal(w->line, 24);
    assert_int_equal(w->enabled, 1);
    assert_int_equal(w->bad, 0);
    assert_int_equal(w->url.proto, BIFF_URL_IMAP);
    assert_string_equal(w->url.user, "alice");
    assert_string_equal(w->url.auth, "PLAIN");
    assert_string_equal(w->url.host, "mail.example.com");
    assert_int_equal(w->url.port, 993);
    assert_int_equal(w->security, BIFF_SECURITY_TLS);
    assert_int_equal(w->n_folders, 3);
    assert_string_equal(w->folders[0], "INBOX");
    assert_string_equal(w->folders[1], "Lists/dev team");
    assert_string_equal(w->folders[2], "Entw\xc3\xbc"
                                       "rfe \"x\"");
    assert_int_equal(w->interval_s, 60);
    assert_int_equal(w->idle, 0);
    assert_int_equal(w->has_pin, 1);
    for (int i = 0; i < 32; i++) assert_int_equal(w->pin[i], i);
    assert_string_equal(w->secret_env, "WORK_PASSWORD");
    assert_string_equal(w->ca, "/etc/ssl/work.pem");

    const biff_account *h = &accts[1];
    assert_string_equal(h->name, "home");
    assert_int_equal(h->url.proto, BIFF_URL_POP3);
    assert_int_equal(h->url.port, 1110);
    assert_int_equal(h->security, BIFF_SECURITY_NONE);
    assert_int_equal(h->enabled, 0);
    assert_int_equal(h->bad, 0);
    assert_int_equal(h->n_folders, 0);
    assert_int_equal(h->idle, 1);
    assert_int_equal(h->has_pin, 0);
    assert_int_equal(h->interval_s, 0);
    assert_string_equal(h->ca, "");
    assert_string_equal(h->secret_env, "");

    const biff_account *c = &accts[2];
    assert_string_equal(c->name, "imap_plain");
    assert_int_equal(c->security, BIFF_SECURITY_STARTTLS);
    assert_int_equal(c->n_folders, 1);
    assert_string_equal(c->folders[0], "Archive");

    assert_int_equal(cfg.n_leds, 2);
    assert_string_equal(leds[0].name, "green");
    assert_string_equal(leds[0].sysfs, "green:mail");
    assert_int_equal(leds[0].terminal, 0);
    assert_int_equal(leds[0].bad, 0);
    assert_int_equal(leds[0].n_accounts, 2);
    assert_int_equal(leds[0].account[0], 1); /* home */
    assert_int_equal(leds[0].account[1], 0); /* work */
    assert_string_equal(leds[1].name, "all");
    assert_string_equal(leds[1].sysfs, "");
    assert_int_equal(leds[1].terminal, 1);
    assert_int_equal(leds[1].n_accounts, 0);
}

static void defaults(void **state)
{
    (void)state;
    assert_int_equal(parse("config account a\n option url 'imaps://u@h'\n"), BIFF_UCI_OK);
    const biff_globals *g = &cfg.globals;
    assert_int_equal(g->interval_s, 300);
    assert_int_equal(g->idle_renew_s, 1500);
    assert_int_equal(g->max_parallel, 8);
    assert_int_equal(g->log, BIFF_LOG_STDERR);
    assert_string_equal(g->status_bind, "127.0.0.1:8025");
    assert_string_equal(g->status_json, "");
    assert_string_equal(g->control, "");
    assert_string_equal(g->ca, "/etc/ssl/certs/ca-certificates.crt");
    assert_string_equal(g->secrets, "/etc/tinybiff/secrets");
    assert_int_equal(accts[0].n_folders, 1);
    assert_string_equal(accts[0].folders[0], "INBOX");
    assert_int_equal(accts[0].idle, 1);
    assert_int_equal(accts[0].enabled, 1);
    /* An empty file is a valid (if useless) config. */
    assert_int_equal(parse(""), BIFF_UCI_OK);
    assert_int_equal(cfg.n_accounts, 0);
}

#define ACC "config account 'a'\n option url 'imaps://u@h'\n"

/* Each broken file with its exact first message and the status it yields. */
static const struct {
    const char *text;
    biff_uci_status st;
    const char *msg;
} broken[] = {
    { "config tinybiff\n list status_host 'evil.example:80'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: list status_host: 'evil.example:80' is not a host name (letters, digits, '.', '-'; at most 63)" },
    { "config tinybiff\n option status_host x\n", BIFF_UCI_E_INVALID,
      "t.conf:2: 'status_host' is a list: write list status_host '...'" },
    { "config tinybiff\n list status_host a\n list status_host b\n list status_host c\n list status_host d\n"
      " list status_host e\n",
      BIFF_UCI_E_INVALID, "t.conf:6: list status_host: more than 4 names" },
    { "config acount 'x'\n", BIFF_UCI_E_INVALID,
      "t.conf:1: unknown section type 'acount' (expected tinybiff, account, led or mqtt)" },
    { "config tinybiff\n option intervall 5\n", BIFF_UCI_E_INVALID,
      "t.conf:2: unknown option 'intervall' in config tinybiff" },
    { ACC " option folder INBOX\n", BIFF_UCI_PARTIAL, "t.conf:3: 'folder' is a list: write list folder '...'" },
    { ACC " list url x\n", BIFF_UCI_PARTIAL, "t.conf:3: 'url' is an option, not a list" },
    { ACC " option colour red\n", BIFF_UCI_PARTIAL, "t.conf:3: unknown option 'colour' in config account 'a'" },
    { "option interval 5\n", BIFF_UCI_E_INVALID, "t.conf:1: option before the first config line" },
    { "config account 'a'\n option url 'imaps://u@h\n", BIFF_UCI_PARTIAL, "t.conf:2: unterminated single quote" },
    { "config account 'a'\n option url \"imaps://u@h\\\"\n", BIFF_UCI_PARTIAL, "t.conf:2: unterminated double quote" },
    { "config account 'a'\n option url 'imaps://u@h' extra\n", BIFF_UCI_PARTIAL,
      "t.conf:2: unexpected text after the value (quote values that contain spaces)" },
    { "config account 'a'\n option url\n", BIFF_UCI_PARTIAL, "t.conf:2: option url needs a value" },
    { "config account 'a'\n option url 'imaps://u@h'\\\n", BIFF_UCI_PARTIAL,
      "t.conf:2: backslash at the end of the line (lines cannot be continued)" },
    { "config account 'a'\n option url 'imaps://u\tx@h'\n", BIFF_UCI_PARTIAL,
      "t.conf:2: control character (byte 0x09) in a value" },
    { "config account 'a'\n", BIFF_UCI_PARTIAL, "t.conf:1: account 'a': option url is missing" },
    { ACC "config\n option url x\n", BIFF_UCI_E_INVALID, "t.conf:3: config needs a section type" },
    { "config account\n", BIFF_UCI_PARTIAL, "t.conf:1: config account needs a name, e.g. config account 'work'" },
    { "config account 'a b'\n", BIFF_UCI_PARTIAL, "t.conf:1: section name 'a b' must be 1 to 31 letters, digits or _" },
    { ACC ACC, BIFF_UCI_PARTIAL, "t.conf:3: account 'a' defined twice (first on line 1)" },
    /* The password is never quoted back. */
    { "config account 'a'\n option url 'imaps://u:hunter2@h'\n", BIFF_UCI_PARTIAL,
      "t.conf:2: option url: passwords do not belong in URLs: use the secrets file or option secret_env" },
    { ACC " option url 'imaps://v@h'\n", BIFF_UCI_PARTIAL, "t.conf:3: option url given twice" },
    { ACC " option interval '5m'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option interval: '5m' is not a number of seconds from 1 to 86400" },
    { ACC " option interval '0'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option interval: '0' is not a number of seconds from 1 to 86400" },
    { ACC " option interval '99999999999999'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option interval: '99999999999999' is not a number of seconds from 1 to 86400" },
    { ACC " option security 'ssl'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option security: 'ssl' is not tls, starttls or none" },
    { ACC " option security 'starttls'\n", BIFF_UCI_PARTIAL,
      "t.conf:1: account 'a': security 'starttls' contradicts the imaps:// URL (implicit TLS)" },
    { "config account a\n option url pop3s://u@h\n option security none\n", BIFF_UCI_PARTIAL,
      "t.conf:1: account 'a': security 'none' contradicts the pop3s:// URL (implicit TLS)" },
    { "config account a\n option url imap://u@h\n option security tls\n", BIFF_UCI_PARTIAL,
      "t.conf:1: account 'a': security 'tls' needs an imaps:// or pop3s:// URL" },
    { "config account a\n list folder INBOX\n option url pop3s://u@h\n", BIFF_UCI_PARTIAL,
      "t.conf:1: account 'a': list folder is for IMAP accounts only" },
    { ACC " list folder INBOX\n list folder INBOX\n", BIFF_UCI_PARTIAL, "t.conf:4: list folder: 'INBOX' listed twice" },
    { ACC " list folder ''\n", BIFF_UCI_PARTIAL, "t.conf:3: list folder: empty folder name" },
    { ACC " list folder 1\n list folder 2\n list folder 3\n list folder 4\n list folder 5\n list folder 6\n"
          " list folder 7\n list folder 8\n list folder 9\n",
      BIFF_UCI_PARTIAL, "t.conf:11: list folder: more than 8 folders" },
    { ACC " option pin 'sha1/AAAA'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option pin: expected sha256/ and the base64 of 32 bytes" },
    { ACC " option pin 'sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9='\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option pin: expected sha256/ and the base64 of 32 bytes" }, /* non-canonical tail */
    { ACC " option pin 'sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAAA='\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option pin: expected sha256/ and the base64 of 32 bytes" },
    { ACC " option idle 'maybe'\n", BIFF_UCI_PARTIAL, "t.conf:3: option idle: 'maybe' is not 1 or 0" },
    { ACC " option secret_env '1PASS'\n", BIFF_UCI_PARTIAL,
      "t.conf:3: option secret_env: '1PASS' is not an environment variable name" },
    { ACC " option ca ''\n", BIFF_UCI_PARTIAL, "t.conf:3: option ca: empty path" },
    { "config tinybiff\n option status_bind '127.0.0.1'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: option status_bind: '127.0.0.1' is not ADDRESS:PORT (e.g. 127.0.0.1:8025)" },
    { "config tinybiff\n option status_bind 'localhost:70000'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: option status_bind: 'localhost:70000' is not ADDRESS:PORT (e.g. 127.0.0.1:8025)" },
    { "config tinybiff\n option log 'file'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: option log: 'file' is not stderr or syslog" },
    { "config tinybiff\n option idle_renew '1800'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: option idle_renew: '1800' is not a number of seconds from 60 to 1740" },
    { "config tinybiff\n option max_parallel '0'\n", BIFF_UCI_E_INVALID,
      "t.conf:2: option max_parallel: '0' is not a number from 1 to 1024" },
    { "config tinybiff\nconfig tinybiff\n", BIFF_UCI_E_INVALID, "t.conf:2: second config tinybiff section" },
    { "config tinybiff\n optoin x y\n", BIFF_UCI_E_INVALID,
      "t.conf:2: unknown statement 'optoin' (expected config, option or list)" },
    { ACC "package x\n", BIFF_UCI_PARTIAL, "t.conf:3: package must come first and name the package" },
    { "config led l\n", BIFF_UCI_PARTIAL, "t.conf:1: led 'l': needs option sysfs or option terminal '1'" },
    { "config led l\n option sysfs '../../etc'\n", BIFF_UCI_PARTIAL,
      "t.conf:2: option sysfs: '../../etc' is not a LED name under /sys/class/leds" },
    { "config led l\n option terminal 1\n list account nobody\n", BIFF_UCI_PARTIAL,
      "t.conf:3: led 'l': no account named 'nobody'" },
    { "config led l\n option terminal 1\n list account a\n list account a\n" ACC, BIFF_UCI_PARTIAL,
      "t.conf:4: led 'l': account 'a' listed twice" },
    { "config led l\n option terminal 1\nconfig led l\n option terminal 1\n", BIFF_UCI_PARTIAL,
      "t.conf:3: led 'l' defined twice" },
    /* A typo in a led section is an error too, named with the section, as in the others. */
    { "config led l\n option terminal 1\n option colour red\n", BIFF_UCI_PARTIAL,
      "t.conf:3: unknown option 'colour' in config led 'l'" },
    { "config led l\n option terminal 1\n list acount a\n" ACC, BIFF_UCI_PARTIAL,
      "t.conf:3: unknown list 'acount' in config led 'l'" },
    { "config led l\n option terminal 1\n option account a\n" ACC, BIFF_UCI_PARTIAL,
      "t.conf:3: 'account' is a list: write list account '...'" },
    { "config led l\n list terminal 1\n", BIFF_UCI_PARTIAL, "t.conf:2: 'terminal' is an option, not a list" },
    { ACC "config account b\n option url imaps://u@h\nconfig account c\n option url imaps://u@h\n"
          "config account d\n option url imaps://u@h\nconfig account e\n option url imaps://u@h\n",
      BIFF_UCI_PARTIAL, "t.conf:9: more than 4 account sections" },
};

static void broken_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        biff_uci_status st = parse(broken[i].text);
        if (st != broken[i].st || cfg.n_diags < 1 || strcmp(diags[0].text, broken[i].msg) != 0) {
            print_error("case %zu: status %d, %u diags, first: %s\n", i, (int)st, (unsigned)cfg.n_diags,
                        cfg.n_diags ? diags[0].text : "(none)");
        }
        assert_int_equal(st, broken[i].st);
        assert_true(cfg.n_diags >= 1);
        assert_string_equal(diags[0].text, broken[i].msg);
        assert_null(strstr(diags[0].text, "hunter2"));
    }
}

/* One bad account is reported and switched off; the others are untouched. */
static void bad_account_does_not_stop_others(void **state)
{
    (void)state;
    const char *text = "config account good1\n option url imaps://u@h\n"
                       "config account bad\n option url imaps://u@h\n option colour red\n option interval x\n"
                       "config account good2\n option url pop3s://u@h\n";
    assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
    assert_int_equal(cfg.n_accounts, 3);
    assert_int_equal(accts[0].enabled, 1);
    assert_int_equal(accts[0].bad, 0);
    assert_int_equal(accts[1].enabled, 0);
    assert_int_equal(accts[1].bad, 1);
    assert_int_equal(accts[2].enabled, 1);
    assert_int_equal(accts[2].bad, 0);
    assert_int_equal(accts[2].url.proto, BIFF_URL_POP3);
    assert_int_equal(cfg.n_diags, 2);
    assert_int_equal(diags[0].account, 1);
    assert_int_equal(diags[0].line, 5);
    assert_string_equal(diags[0].text, "t.conf:5: unknown option 'colour' in config account 'bad'");
    assert_int_equal(diags[1].account, 1);
    assert_string_equal(diags[1].text, "t.conf:6: option interval: 'x' is not a number of seconds from 1 to 86400");
}

static void mqtt_section(void **state)
{
    (void)state;
    /* No section: not given, not enabled. */
    assert_int_equal(parse("config account a\n option url imaps://u@h\n"), BIFF_UCI_OK);
    assert_int_equal(cfg.mqtt.given, 0);
    assert_int_equal(cfg.mqtt.enabled, 0);
    /* Everything given. */
    assert_int_equal(parse("config mqtt 'ha'\n"
                           " option url 'mqtts://broker.lan'\n"
                           " option username 'biff'\n"
                           " option ca '/etc/ssl/broker.pem'\n"
                           " option pin 'sha256//AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='\n"
                           " option client_id 'tb-kitchen_1'\n"
                           " option discovery_prefix 'ha/discovery'\n"
                           " option base_topic 'home/tinybiff'\n"
                           " option secret_env 'MQTT_PASS'\n"
                           "config account a\n option url imaps://u@h\n"),
                     BIFF_UCI_OK);
    assert_int_equal(cfg.mqtt.given, 1);
    assert_int_equal(cfg.mqtt.enabled, 1);
    assert_string_equal(cfg.mqtt.name, "ha");
    assert_int_equal(cfg.mqtt.url.proto, BIFF_URL_MQTT);
    assert_int_equal(cfg.mqtt.url.implicit_tls, 1);
    assert_int_equal(cfg.mqtt.url.port, 8883);
    assert_string_equal(cfg.mqtt.url.host, "broker.lan");
    assert_string_equal(cfg.mqtt.username, "biff");
    assert_string_equal(cfg.mqtt.ca, "/etc/ssl/broker.pem");
    assert_int_equal(cfg.mqtt.has_pin, 1);
    assert_int_equal(cfg.mqtt.pin[31], 31);
    assert_string_equal(cfg.mqtt.client_id, "tb-kitchen_1");
    assert_string_equal(cfg.mqtt.discovery_prefix, "ha/discovery");
    assert_string_equal(cfg.mqtt.base_topic, "home/tinybiff");
    assert_string_equal(cfg.mqtt.secret_env, "MQTT_PASS");
    assert_int_equal(cfg.n_accounts, 1);
    /* Defaults. */
    assert_int_equal(parse("config mqtt m\n option url mqtt://[::1]\n"), BIFF_UCI_OK);
    assert_int_equal(cfg.mqtt.url.implicit_tls, 0);
    assert_int_equal(cfg.mqtt.url.port, 1883);
    assert_string_equal(cfg.mqtt.url.host, "::1");
    assert_string_equal(cfg.mqtt.client_id, "tinybiff");
    assert_string_equal(cfg.mqtt.discovery_prefix, "homeassistant");
    assert_string_equal(cfg.mqtt.base_topic, "tinybiff/tinybiff");
    assert_string_equal(cfg.mqtt.ca, "");
    assert_int_equal(parse("config mqtt m\n option url mqtts://b:1\n option client_id x\n"), BIFF_UCI_OK);
    assert_string_equal(cfg.mqtt.base_topic, "tinybiff/x");
    assert_int_equal(cfg.mqtt.url.port, 1);
    assert_int_equal(parse("config mqtt m\n option url mqtts://b\n option enabled 0\n"), BIFF_UCI_OK);
    assert_int_equal(cfg.mqtt.given, 1);
    assert_int_equal(cfg.mqtt.enabled, 0);
}

/* A bad broker section is rejected alone: the accounts go on. Messages never quote a URL. */
static void mqtt_errors_spare_the_mail(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *want;
    } t[] = {
        { " option url 'imaps://b'\n", "t.conf:3: option url: scheme must be mqtts:// or mqtt://" },
        { " option url 'mqtts://u:hunter2@b'\n",
          "t.conf:3: option url: passwords do not belong in URLs: use the secrets file or option secret_env" },
        { " option url 'mqtts://u@b'\n", "t.conf:3: option url: the broker's user name goes in option username" },
        { " option url 'mqtts://b/x'\n", "t.conf:3: option url: " },
        { " option url 'mqtts://b;AUTH=PLAIN@c'\n", "t.conf:3: option url: " },
        { " option username u\n", "t.conf:2: mqtt 'ha': option url is missing" },
        { " option url mqtts://b\n option client_id 'a b'\n",
          "t.conf:4: option client_id: 'a b' must be 1 to 32 letters, digits, _ or -" },
        { " option url mqtts://b\n option client_id '123456789012345678901234567890123'\n",
          "t.conf:4: option client_id: " },
        { " option url mqtts://b\n option base_topic 'a/+/b'\n",
          "t.conf:4: option base_topic: 'a/+/b' is not a topic of 1 to 64 bytes without +, # or empty levels" },
        { " option url mqtts://b\n option base_topic 'a//b'\n", "t.conf:4: option base_topic: " },
        { " option url mqtts://b\n option discovery_prefix 'ha/'\n", "t.conf:4: option discovery_prefix: " },
        { " option url mqtts://b\n option discovery_prefix '#'\n", "t.conf:4: option discovery_prefix: " },
        { " option url mqtts://b\n option pin 'sha256/x'\n", "t.conf:4: option pin: " },
        { " option url mqtts://b\n option qos 1\n", "t.conf:4: unknown option 'qos' in config mqtt 'ha'" },
        { " option url mqtts://b\n option url mqtts://c\n", "t.conf:4: option url given twice" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "config account a\n option url imaps://u@h\nconfig mqtt 'ha'\n%s", t[i].body);
        /* lines in the table count from a blank line 1; the account section adds one */
        char want[200];
        unsigned line;
        const char *rest;
        assert_int_equal(sscanf(t[i].want, "t.conf:%u:", &line), 1);
        rest = strchr(t[i].want + 7, ':') + 1;
        snprintf(want, sizeof want, "t.conf:%u:%s", line + 1, rest);
        assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
        assert_int_equal(cfg.mqtt.given, 1);
        assert_int_equal(cfg.mqtt.enabled, 0);
        assert_int_equal(cfg.mqtt.bad, 1);
        assert_int_equal(cfg.n_accounts, 1);
        assert_int_equal(accts[0].enabled, 1);
        assert_true(cfg.n_diags >= 1);
        assert_int_equal(diags[0].account, -1);
        if (strncmp(diags[0].text, want, strlen(want)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, diags[0].text, want);
        assert_null(strstr(diags[0].text, "hunter2"));
    }
    /* A second section, a missing name, an account of the same name. */
    assert_int_equal(parse("config mqtt a\n option url mqtts://b\nconfig mqtt b\n option url mqtts://c\n"),
                     BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text, "t.conf:3: second config mqtt section (first on line 1)");
    assert_string_equal(cfg.mqtt.url.host, "b");
    assert_int_equal(parse("config mqtt\n option url mqtts://b\n"), BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text,
                        "t.conf:1: config mqtt needs a name (its secrets file entry), e.g. config mqtt 'ha'");
    assert_int_equal(parse("config mqtt a\n option url mqtts://b\nconfig account a\n option url imaps://u@h\n"),
                     BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text,
                        "t.conf:1: mqtt 'a': an account has this name too (they would share a secrets file entry)");
    assert_int_equal(cfg.mqtt.enabled, 0);
    assert_int_equal(accts[0].enabled, 1);
}

/* More errors than diagnostics slots: counted, not written past the array. */
static void diagnostics_are_bounded(void **state)
{
    (void)state;
    char text[1024] = "config tinybiff\n";
    for (int i = 0; i < 20; i++) strcat(text, " option x y\n");
    assert_int_equal(parse(text), BIFF_UCI_E_INVALID);
    assert_int_equal(cfg.n_diags, MAXD);
    assert_int_equal(cfg.n_errors, 20);
    assert_string_equal(diags[MAXD - 1].text, "t.conf:9: unknown option 'x' in config tinybiff");
}

static void long_file_name_is_cut(void **state)
{
    (void)state;
    char name[400];
    memset(name, 'f', sizeof name - 1);
    name[sizeof name - 1] = 0;
    biff_uci_init(&cfg, accts, MAXA, leds, MAXL, diags, MAXD);
    const char *text = "config x\n";
    assert_int_equal(biff_uci_parse(&cfg, name, text, strlen(text)), BIFF_UCI_E_INVALID);
    assert_int_equal(strlen(diags[0].text), BIFF_UCI_DIAG_MAX - 1);
}

static void not_nul_terminated_and_nul_bytes(void **state)
{
    (void)state;
    /* The buffer ends without a newline and is not NUL-terminated. */
    char text[] = { 'c', 'o', 'n', 'f', 'i', 'g', ' ', 'l', 'e', 'd', ' ', 'x', '\n',
                    ' ', 't', 'e', 'r', 'm', 'i', 'n', 'a', 'l', ' ', '1', 'X' };
    /* "terminal" is not a statement: the X must not be read past the given length. */
    biff_uci_init(&cfg, accts, MAXA, leds, MAXL, diags, MAXD);
    assert_int_equal(biff_uci_parse(&cfg, "t.conf", text, sizeof text - 1), BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text, "t.conf:2: unknown statement 'terminal' (expected config, option or list)");
    const char nul[] = "config tinybiff\n option log 'sys\0log'\n";
    biff_uci_init(&cfg, accts, MAXA, leds, MAXL, diags, MAXD);
    assert_int_equal(biff_uci_parse(&cfg, "t.conf", nul, sizeof nul - 1), BIFF_UCI_E_INVALID);
    assert_string_equal(diags[0].text, "t.conf:2: control character (byte 0x00) in a value");
}

static void long_value(void **state)
{
    (void)state;
    static char text[2048];
    strcpy(text, "config account a\n option url 'imaps://u@h'\n list folder '");
    size_t n = strlen(text);
    memset(text + n, 'x', 600);
    strcpy(text + n + 600, "'\n");
    assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text, "t.conf:3: line longer than 511 bytes");
    strcpy(text, "config account a\n option url 'imaps://u@h'\n list folder '");
    n = strlen(text);
    memset(text + n, 'y', 200);
    strcpy(text + n + 200, "'\n");
    assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text, "t.conf:3: list folder: name longer than 127 bytes");
    /* Words filling all 512 bytes, then empty words: their terminators have no room left. */
    strcpy(text, "config account a\n option url 'imaps://u@h'\n ");
    n = strlen(text);
    memset(text + n, 'z', 511);
    strcpy(text + n + 511, " '' ''\n");
    assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
    assert_string_equal(diags[0].text, "t.conf:3: line longer than 511 bytes");
}

static const char secrets[] = "# name = secret\n"
                              "work = s3cr=t with spaces  \r\n"
                              "\n"
                              "  home=pw\n"
                              "work = 0ther\n"
                              "broken line hunter2\n"
                              "bad:hunter2 = x\n"
                              "empty =   \n"
                              " = orphan\n"
                              "last=tail";

static void secrets_lookup(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "work", out, sizeof out), BIFF_UCI_OK);
    assert_string_equal(out, "s3cr=t with spaces");
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "home", out, sizeof out), BIFF_UCI_OK);
    assert_string_equal(out, "pw");
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "last", out, sizeof out), BIFF_UCI_OK);
    assert_string_equal(out, "tail");
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "empty", out, sizeof out), BIFF_UCI_E_NOT_FOUND);
    assert_string_equal(out, "");
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "wor", out, sizeof out), BIFF_UCI_E_NOT_FOUND);
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "work", out, 18), BIFF_UCI_E_TOO_LONG);
    assert_string_equal(out, "");
    assert_int_equal(biff_uci_secret(secrets, strlen(secrets), "work", out, 19), BIFF_UCI_OK);
    assert_int_equal(biff_uci_secret(NULL, 0, "work", out, sizeof out), BIFF_UCI_E_NOT_FOUND);
    assert_int_equal(biff_uci_secret(secrets, 5, "work", NULL, 0), BIFF_UCI_E_ARG);
}

static void secrets_diagnostics(void **state)
{
    (void)state;
    biff_uci_diag d[8];
    size_t n = 0;
    assert_int_equal(biff_uci_secrets_check(secrets, strlen(secrets), "sec", d, 8, &n), BIFF_UCI_E_INVALID);
    assert_int_equal(n, 5);
    assert_string_equal(d[0].text, "sec:5: second entry for account 'work' (line 2 is used)");
    assert_string_equal(d[1].text, "sec:6: expected 'account = secret'");
    assert_string_equal(d[2].text, "sec:7: the text before '=' is not an account name (letters, digits, _)");
    assert_string_equal(d[3].text, "sec:8: empty secret for account 'empty'");
    assert_string_equal(d[4].text, "sec:9: missing account name before '='");
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(d[i].text, "hunter2"));
        assert_null(strstr(d[i].text, "s3cr"));
        assert_null(strstr(d[i].text, "0ther"));
    }
    const char ok[] = "a = 1\nb = 2\n";
    assert_int_equal(biff_uci_secrets_check(ok, strlen(ok), "sec", d, 8, &n), BIFF_UCI_OK);
    assert_int_equal(n, 0);
}

/* option auth 'oauth2': a custom provider keeps what it was given, a preset fills its endpoints. */
static void oauth_accounts(void **state)
{
    (void)state;
    const char *text = "config account corp\n"
                       " option url 'imaps://alice;AUTH=OAUTHBEARER@mail.example.com'\n"
                       " option auth 'oauth2'\n"
                       " option oauth_provider 'custom'\n"
                       " option token_url 'https://idp.example.com:8443/api/oidc/token'\n"
                       " option device_url 'https://idp.example.com:8443/api/oidc/device_authorization'\n"
                       " option client_id 'tinybiff-1'\n"
                       " option client_secret 'cl1ent-s3cret'\n"
                       " option scope 'openid mail'\n"
                       "config account gmail\n"
                       " option url 'imaps://bob@imap.gmail.com'\n"
                       " option auth oauth2\n"
                       " option oauth_provider google\n"
                       " option client_id 123.apps.googleusercontent.com\n"
                       "config account plain\n"
                       " option url 'pop3s://carol@pop.example.com'\n"
                       " option auth 'password'\n";
    assert_int_equal(parse(text), BIFF_UCI_OK);
    assert_int_equal(cfg.n_accounts, 3);
    const biff_account *c = &accts[0], *g = &accts[1], *pl = &accts[2];
    assert_int_equal(c->oauth2, 1);
    assert_int_equal(c->enabled, 1);
    assert_string_equal(c->oauth_provider, "custom");
    assert_string_equal(c->token_url, "https://idp.example.com:8443/api/oidc/token");
    assert_string_equal(c->device_url, "https://idp.example.com:8443/api/oidc/device_authorization");
    assert_string_equal(c->client_id, "tinybiff-1");
    assert_string_equal(c->client_secret, "cl1ent-s3cret");
    assert_string_equal(c->scope, "openid mail");
    assert_int_equal(g->oauth2, 1);
    assert_string_equal(g->token_url, "https://oauth2.googleapis.com/token");
    assert_string_equal(g->device_url, "https://oauth2.googleapis.com/device/code");
    assert_string_equal(g->scope, "https://mail.google.com/");
    assert_string_equal(g->client_id, "123.apps.googleusercontent.com");
    assert_string_equal(g->client_secret, "");
    assert_int_equal(pl->oauth2, 0);
    assert_string_equal(pl->token_url, "");
    /* A preset's scope may be narrowed (Microsoft: IMAP only). */
    assert_int_equal(parse("config account m\n option url imaps://u@outlook.office365.com\n option auth oauth2\n"
                           " option oauth_provider microsoft\n option client_id x\n"
                           " option scope 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access'\n"),
                     BIFF_UCI_OK);
    assert_string_equal(accts[0].scope, "https://outlook.office.com/IMAP.AccessAsUser.All offline_access");
    assert_string_equal(accts[0].token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
}

/* Every incomplete or contradictory OAuth2 account is rejected alone, with its line; the
 * client secret is never quoted. */
static void oauth_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body; /* after "config account a\n option url imaps://u@h\n" */
        const char *msg;
    } cases[] = {
        { " option auth kerberos\n", "t.conf:3: option auth: 'kerberos' is not password or oauth2" },
        { " option auth oauth2\n option client_id x\n",
          "t.conf:1: account 'a': option oauth_provider is missing (google, microsoft or custom)" },
        { " option auth oauth2\n option oauth_provider yahoo\n",
          "t.conf:4: option oauth_provider: 'yahoo' is not google, microsoft or custom" },
        { " option auth oauth2\n option oauth_provider google\n",
          "t.conf:1: account 'a': option client_id is missing (the provider issues it)" },
        { " option auth oauth2\n option oauth_provider custom\n option client_id x\n option scope s\n"
          " option device_url https://h/d\n",
          "t.conf:1: account 'a': option token_url is missing (provider custom)" },
        { " option auth oauth2\n option oauth_provider custom\n option client_id x\n"
          " option device_url https://h/d\n option token_url https://h/t\n",
          "t.conf:1: account 'a': option scope is missing (provider custom)" },
        { " option auth oauth2\n option oauth_provider google\n option client_id x\n option token_url https://h/t\n",
          "t.conf:1: account 'a': option token_url comes from provider google (use custom to set it)" },
        { " option client_id x\n", "t.conf:1: account 'a': option client_id needs option auth 'oauth2'" },
        { " option client_secret hunter2\n", "t.conf:1: account 'a': option client_secret needs option auth 'oauth2'" },
        { " option token_url http://h/t\n", "t.conf:3: option token_url: 'http://h/t' is not https://HOST[:PORT]/PATH "
                                            "(host up to 63 bytes, URL up to 191)" },
        { " option device_url https://h:99999/d\n", "t.conf:3: option device_url: 'https://h:99999/d' is not "
                                                    "https://HOST[:PORT]/PATH (host up to 63 bytes, URL up to 191)" },
        { " option device_url https://h\n", "t.conf:3: option device_url: 'https://h' is not https://HOST[:PORT]/PATH "
                                            "(host up to 63 bytes, URL up to 191)" },
        { " option client_id 'a b'\n",
          "t.conf:3: option client_id: 'a b' must be 1 to 127 printable characters without spaces" },
        { " option client_secret 'hunter2 x'\n",
          "t.conf:3: option client_secret: must be 1 to 127 printable characters without spaces" },
        { " option scope ''\n", "t.conf:3: option scope: must be 1 to 255 bytes" },
    };
    char text[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 "config account a\n option url imaps://u@h\n%s"
                 "config account b\n option url imaps://u@h\n",
                 cases[i].body);
        assert_int_equal(parse(text), BIFF_UCI_PARTIAL);
        assert_true(cfg.n_diags >= 1);
        assert_string_equal(diags[0].text, cases[i].msg);
        assert_int_equal(diags[0].account, 0);
        assert_int_equal(accts[0].enabled, 0);
        assert_int_equal(accts[1].enabled, 1);
        for (size_t d = 0; d < cfg.n_diags; d++) assert_null(strstr(diags[d].text, "hunter2"));
    }
    /* A URL mechanism that cannot carry a token. */
    assert_int_equal(parse("config account a\n option url 'imaps://u;AUTH=PLAIN@h'\n option auth oauth2\n"
                           " option oauth_provider google\n option client_id x\n"),
                     BIFF_UCI_PARTIAL);
    assert_string_equal(
        diags[0].text,
        "t.conf:1: account 'a': ;AUTH=PLAIN in the URL cannot carry an OAuth2 token (XOAUTH2 or OAUTHBEARER can)");
}

/* Storing a refresh token: the entry changes, nothing else does, and it reads back. */
static void secrets_update(void **state)
{
    (void)state;
    static const char text[] = "# tinybiff secrets\n"
                               "work = hunter2\n"
                               "\n"
                               "mail_oauth = old-token\n"
                               "broken line\n"
                               "mail_oauth = stale-duplicate\n"
                               "last = x";
    char out[256], got[64];
    size_t n = 0;
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "mail_oauth", "1//0gNEW-token.x", out, sizeof out, &n),
                     BIFF_UCI_OK);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out,
                        "# tinybiff secrets\nwork = hunter2\n\nmail_oauth = 1//0gNEW-token.x\nbroken line\nlast = x\n");
    assert_int_equal(biff_uci_secret(out, n, "mail_oauth", got, sizeof got), BIFF_UCI_OK);
    assert_string_equal(got, "1//0gNEW-token.x");
    assert_int_equal(biff_uci_secret(out, n, "work", got, sizeof got), BIFF_UCI_OK);
    assert_string_equal(got, "hunter2");
    /* New entry: appended. Removal: gone, the rest kept. */
    assert_int_equal(biff_uci_secret_set(out, n, "other", "v", out + 0, 0, &n), BIFF_UCI_E_ARG);
    char out2[256];
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "new_one", "v=1", out2, sizeof out2, &n), BIFF_UCI_OK);
    assert_non_null(strstr(out2, "mail_oauth = old-token\n"));
    assert_int_equal(strcmp(out2 + n - strlen("new_one = v=1\n"), "new_one = v=1\n"), 0);
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "mail_oauth", NULL, out2, sizeof out2, &n), BIFF_UCI_OK);
    assert_string_equal(out2, "# tinybiff secrets\nwork = hunter2\n\nbroken line\nlast = x\n");
    assert_int_equal(biff_uci_secret(out2, n, "mail_oauth", got, sizeof got), BIFF_UCI_E_NOT_FOUND);
    /* An empty file. */
    assert_int_equal(biff_uci_secret_set(NULL, 0, "a", "b", out2, sizeof out2, &n), BIFF_UCI_OK);
    assert_string_equal(out2, "a = b\n");
    /* Values that would not read back the same, names that are not names. */
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "a", "x\ny", out2, sizeof out2, &n), BIFF_UCI_E_ARG);
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "a", " x", out2, sizeof out2, &n), BIFF_UCI_E_ARG);
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "a", "x ", out2, sizeof out2, &n), BIFF_UCI_E_ARG);
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "a.b", "x", out2, sizeof out2, &n), BIFF_UCI_E_ARG);
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "", "x", out2, sizeof out2, &n), BIFF_UCI_E_ARG);
    /* Too small: an error, and no half-written secret left behind. */
    assert_int_equal(biff_uci_secret_set(text, strlen(text), "mail_oauth", "tok", out2, 40, &n), BIFF_UCI_E_TOO_LONG);
    for (size_t i = 0; i < 40; i++) assert_int_equal(out2[i], 0);
    size_t exact = strlen("a = b\n") + 1;
    assert_int_equal(biff_uci_secret_set(NULL, 0, "a", "b", out2, exact, &n), BIFF_UCI_OK);
    assert_int_equal(biff_uci_secret_set(NULL, 0, "a", "b", out2, exact - 1, &n), BIFF_UCI_E_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_round_trip),
        cmocka_unit_test(defaults),
        cmocka_unit_test(broken_files),
        cmocka_unit_test(bad_account_does_not_stop_others),
        cmocka_unit_test(mqtt_section),
        cmocka_unit_test(mqtt_errors_spare_the_mail),
        cmocka_unit_test(diagnostics_are_bounded),
        cmocka_unit_test(long_file_name_is_cut),
        cmocka_unit_test(not_nul_terminated_and_nul_bytes),
        cmocka_unit_test(long_value),
        cmocka_unit_test(secrets_lookup),
        cmocka_unit_test(secrets_diagnostics),
        cmocka_unit_test(oauth_accounts),
        cmocka_unit_test(oauth_errors),
        cmocka_unit_test(secrets_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

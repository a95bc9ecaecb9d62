#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "biff/result.h"
#include "biff/status.h"

static biff_status_account mk(const char *name, uint8_t state, uint8_t err, uint32_t unseen, uint32_t fresh)
{
    biff_status_account a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "%s", name);
    a.state = state;
    a.err = err;
    a.n_folders = 1;
    strcpy(a.folder[0].name, "INBOX");
    a.folder[0].unseen = unseen;
    a.folder[0].fresh = fresh;
    return a;
}

static void led_priority(void **state)
{
    (void)state;
    static const struct {
        uint8_t st, err;
        uint32_t unseen, fresh;
        biff_led_pattern want;
    } t[] = {
        { BIFF_STATE_IDLE, BIFF_ERR_NONE, 0, 0, BIFF_LED_OFF },
        { BIFF_STATE_OK, BIFF_ERR_NONE, 0, 0, BIFF_LED_OFF },
        { BIFF_STATE_OK, BIFF_ERR_NONE, 3, 0, BIFF_LED_STEADY },
        { BIFF_STATE_OK, BIFF_ERR_NONE, 3, 1, BIFF_LED_SLOW },
        { BIFF_STATE_OK, BIFF_ERR_NONE, 0, 1, BIFF_LED_SLOW }, /* read elsewhere, not acknowledged */
        { BIFF_STATE_CHECKING, BIFF_ERR_NONE, 2, 0, BIFF_LED_STEADY },
        { BIFF_STATE_ERROR, BIFF_ERR_AUTH_FAILED, 0, 0, BIFF_LED_FAST },
        { BIFF_STATE_ERROR, BIFF_ERR_NETWORK, 5, 2, BIFF_LED_FAST }, /* error wins over new */
        { BIFF_STATE_CHECKING, BIFF_ERR_TLS, 5, 0, BIFF_LED_FAST },  /* retrying keeps the error */
        { BIFF_STATE_ERROR, BIFF_ERR_NONE, 0, 0, BIFF_LED_FAST },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        biff_status_account a = mk("a", t[i].st, t[i].err, t[i].unseen, t[i].fresh);
        assert_int_equal(biff_led_pattern_of(&a), t[i].want);
    }
}

static void led_summary(void **state)
{
    (void)state;
    biff_status_account a[4] = {
        mk("a", BIFF_STATE_OK, BIFF_ERR_NONE, 3, 0),
        mk("b", BIFF_STATE_OK, BIFF_ERR_NONE, 4, 2),
        mk("c", BIFF_STATE_ERROR, BIFF_ERR_AUTH_FAILED, 0, 0),
        mk("d", BIFF_STATE_OK, BIFF_ERR_NONE, UINT32_MAX, 0),
    };
    biff_led_summary s;
    const uint16_t only_a[] = { 0 };
    assert_int_equal(biff_led_summarize(a, 4, only_a, 1, &s), BIFF_LED_STEADY);
    assert_int_equal(s.unseen, 3);
    assert_int_equal(s.fresh, 0);
    const uint16_t ab[] = { 1, 0 };
    assert_int_equal(biff_led_summarize(a, 4, ab, 2, &s), BIFF_LED_SLOW);
    assert_int_equal(s.unseen, 7);
    assert_int_equal(s.fresh, 2);
    const uint16_t abc_bad[] = { 0, 2, 1, 99 };
    assert_int_equal(biff_led_summarize(a, 4, abc_bad, 4, &s), BIFF_LED_FAST);
    assert_int_equal(s.err, BIFF_ERR_AUTH_FAILED);
    assert_int_equal(s.n_errors, 1);
    assert_int_equal(s.unseen, 7);
    /* NULL list = every account; sums saturate. */
    assert_int_equal(biff_led_summarize(a, 4, NULL, 0, &s), BIFF_LED_FAST);
    assert_int_equal(s.unseen, UINT32_MAX);
    const uint16_t only_bad[] = { 7 };
    assert_int_equal(biff_led_summarize(a, 4, only_bad, 1, &s), BIFF_LED_OFF);
    assert_int_equal(biff_led_summarize(NULL, 0, NULL, 0, &s), BIFF_LED_OFF);
}

static void blink_timing(void **state)
{
    (void)state;
    static const struct {
        biff_led_pattern p;
        uint32_t t;
        int lit;
    } t[] = {
        { BIFF_LED_OFF, 0, 0 },           { BIFF_LED_OFF, 700, 0 },
        { BIFF_LED_STEADY, 0, 1 },        { BIFF_LED_STEADY, 513, 1 },
        { BIFF_LED_SLOW, 0, 1 },          { BIFF_LED_SLOW, 511, 1 },
        { BIFF_LED_SLOW, 512, 0 },        { BIFF_LED_SLOW, 1023, 0 },
        { BIFF_LED_SLOW, 1024, 1 },       { BIFF_LED_FAST, 0, 1 },
        { BIFF_LED_FAST, 127, 1 },        { BIFF_LED_FAST, 128, 0 },
        { BIFF_LED_FAST, 255, 0 },        { BIFF_LED_FAST, 256, 1 },
        { BIFF_LED_FAST, UINT32_MAX, 0 }, /* last phase before the wrap is dark... */
        { BIFF_LED_SLOW, UINT32_MAX, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) assert_int_equal(biff_led_level(t[i].p, t[i].t), t[i].lit);
    /* ...and the counter wraps into a lit phase: no double-length phase at the wrap. */
    assert_int_equal(biff_led_level(BIFF_LED_FAST, 0), 1);
    /* Count transitions over 10 s: ~1 Hz and ~4 Hz, 50 % duty. */
    int changes_slow = 0, changes_fast = 0, on_slow = 0, on_fast = 0;
    for (uint32_t ms = 1; ms < 10240; ms++) {
        changes_slow += biff_led_level(BIFF_LED_SLOW, ms) != biff_led_level(BIFF_LED_SLOW, ms - 1);
        changes_fast += biff_led_level(BIFF_LED_FAST, ms) != biff_led_level(BIFF_LED_FAST, ms - 1);
        on_slow += biff_led_level(BIFF_LED_SLOW, ms);
        on_fast += biff_led_level(BIFF_LED_FAST, ms);
    }
    assert_int_equal(changes_slow, 19); /* 10 periods of 1024 ms */
    assert_int_equal(changes_fast, 79); /* 40 periods of 256 ms */
    assert_int_equal(on_slow, 5119);
    assert_int_equal(on_fast, 5119);
    uint16_t on, off;
    biff_led_timing(BIFF_LED_SLOW, &on, &off);
    assert_int_equal(on, 512);
    assert_int_equal(off, 512);
    biff_led_timing(BIFF_LED_FAST, &on, &off);
    assert_int_equal(on, 128);
    assert_int_equal(off, 128);
    biff_led_timing(BIFF_LED_STEADY, &on, &off);
    assert_int_equal(on + off, 0);
}

static void led_lines(void **state)
{
    (void)state;
    char buf[128];
    size_t len = 0;
    biff_led_summary s = { .pattern = BIFF_LED_STEADY, .unseen = 3 };
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "work", &s, 1, 0), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED work: \xe2\x97\x8f  steady  (3 unread)]");
    assert_int_equal(len, strlen(buf));
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "work", &s, 1, 1), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED work: *  steady  (3 unread)]");
    s = (biff_led_summary){ .pattern = BIFF_LED_SLOW, .unseen = 3, .fresh = 1 };
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "work", &s, 0, 0), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED work: \xe2\x97\x8b  slow    (1 new, 3 unread)]");
    s = (biff_led_summary){ .pattern = BIFF_LED_OFF };
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "g", &s, 0, 1), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED g: -  off     (nothing unread)]");
    s = (biff_led_summary){ .pattern = BIFF_LED_FAST, .err = BIFF_ERR_AUTH_FAILED, .n_errors = 1, .unseen = 9 };
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "red", &s, 1, 1), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED red: *  fast    (error: auth_failed)]");
    /* A terminal escape in a name is neutralised. */
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "x\x1b[2J", &s, 1, 1), BIFF_STATUS_OK);
    assert_string_equal(buf, "[LED x?[2J: *  fast    (error: auth_failed)]");
    /* Too small: needed length, empty buffer. */
    assert_int_equal(biff_led_line(buf, 10, &len, "red", &s, 1, 1), BIFF_STATUS_E_SPACE);
    assert_int_equal(len, strlen("[LED red: *  fast    (error: auth_failed)]"));
    assert_string_equal(buf, "");
    assert_int_equal(biff_led_line(NULL, 0, &len, "red", &s, 1, 1), BIFF_STATUS_E_SPACE);
    assert_int_equal(biff_led_line(buf, sizeof buf, &len, "red", NULL, 1, 1), BIFF_STATUS_E_ARG);
}

/* ---- a tiny strict JSON validator (depth-bounded) ---- */

typedef struct {
    const char *s;
    size_t n, i;
    int depth;
} jv;

static void ws(jv *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\n' || j->s[j->i] == '\t' || j->s[j->i] == '\r')) j->i++;
}

static int lit(jv *j, const char *w)
{
    size_t l = strlen(w);
    if (j->n - j->i < l || memcmp(j->s + j->i, w, l) != 0) return 0;
    j->i += l;
    return 1;
}

static int utf8_ok(const unsigned char *s, size_t n, size_t *used)
{
    unsigned c = s[0], len, cp;
    if (c < 0x80) {
        *used = 1;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (unsigned k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    *used = len;
    return 1;
}

static int jstring(jv *j)
{
    if (!lit(j, "\"")) return 0;
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"') {
            j->i++;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c == '\\') {
            j->i++;
            if (j->i >= j->n) return 0;
            char e = j->s[j->i++];
            if (e == 'u') {
                for (int k = 0; k < 4; k++, j->i++)
                    if (j->i >= j->n || !strchr("0123456789abcdefABCDEF", j->s[j->i])) return 0;
            } else if (!strchr("\"\\/bfnrt", e))
                return 0;
            continue;
        }
        size_t used;
        if (!utf8_ok((const unsigned char *)j->s + j->i, j->n - j->i, &used)) return 0;
        j->i += used;
    }
    return 0;
}

static int jvalue(jv *j);

static int jcontainer(jv *j, char open, char close, int keyed)
{
    if (!lit(j, (char[]){ open, 0 }) || ++j->depth > 16) return 0;
    ws(j);
    if (lit(j, (char[]){ close, 0 })) {
        j->depth--;
        return 1;
    }
    for (;;) {
        ws(j);
        if (keyed) {
            if (!jstring(j)) return 0;
            ws(j);
            if (!lit(j, ":")) return 0;
        }
        if (!jvalue(j)) return 0;
        ws(j);
        if (lit(j, ",")) continue;
        if (lit(j, (char[]){ close, 0 })) {
            j->depth--;
            return 1;
        }
        return 0;
    }
}

static int jvalue(jv *j)
{
    ws(j);
    if (j->i >= j->n) return 0;
    char c = j->s[j->i];
    if (c == '{') return jcontainer(j, '{', '}', 1);
    if (c == '[') return jcontainer(j, '[', ']', 0);
    if (c == '"') return jstring(j);
    if (lit(j, "null") || lit(j, "true") || lit(j, "false")) return 1;
    size_t st = j->i;
    if (c == '-') j->i++;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
    return j->i > st;
}

static int json_valid(const char *s)
{
    jv j = { s, strlen(s), 0, 0 };
    if (!jvalue(&j)) return 0;
    ws(&j);
    return j.i == j.n;
}

static void validator_rejects(void **state)
{
    (void)state; /* the validator itself must be able to fail */
    assert_true(json_valid("{\"a\":[1,\"x\\n\",null]}"));
    assert_false(json_valid("{\"a\":}"));
    assert_false(json_valid("{\"a\":\"\x01\"}"));
    assert_false(json_valid("{\"a\":\"\xff\"}"));
    assert_false(json_valid("[1,]"));
    assert_false(json_valid("{\"a\":\"x\"} x"));
}

static void fill_model(biff_status_account a[2])
{
    a[0] = mk("work", BIFF_STATE_OK, BIFF_ERR_NONE, 3, 1);
    a[0].last_check = 990;
    a[0].next_check = 1290;
    strcpy(a[0].tls, "TLSv1.3");
    a[0].n_folders = 2;
    strcpy(a[0].folder[1].name, "Lists/dev");
    a[0].folder[1].unseen = 4;
    a[1] = mk("home", BIFF_STATE_ERROR, BIFF_ERR_AUTH_FAILED, 0, 0);
    a[1].proto = BIFF_STATUS_POP3;
    a[1].n_folders = 1;
    strcpy(a[1].detail, "-ERR [AUTH] \"bad\" login\n");
}

static void json_exact(void **state)
{
    (void)state;
    biff_status_account a[2];
    fill_model(a);
    static char buf[4096];
    size_t len = 0;
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, a, 2, 1000, NULL, NULL), BIFF_STATUS_OK);
    assert_string_equal(
        buf,
        "{\"now\":1000,\"unseen\":7,\"new\":1,\"problem\":null,\"mqtt\":null,\"accounts\":["
        "{\"name\":\"work\",\"protocol\":\"imap\",\"state\":\"ok\",\"last_check\":990,\"next_check\":1290,"
        "\"tls\":\"TLSv1.3\",\"error\":null,\"detail\":null,\"unseen\":7,\"new\":1,\"folders\":["
        "{\"name\":\"INBOX\",\"unseen\":3,\"new\":1},{\"name\":\"Lists/dev\",\"unseen\":4,\"new\":0}]},"
        "{\"name\":\"home\",\"protocol\":\"pop3\",\"state\":\"error\",\"last_check\":null,\"next_check\":null,"
        "\"tls\":null,\"error\":\"auth_failed\",\"detail\":\"-ERR [AUTH] \\\"bad\\\" login\\n\",\"unseen\":0,\"new\":0,"
        "\"folders\":[{\"name\":\"INBOX\",\"unseen\":0,\"new\":0}]}]}");
    assert_int_equal(len, strlen(buf));
    assert_true(json_valid(buf));
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, NULL, NULL), BIFF_STATUS_OK);
    assert_string_equal(buf, "{\"now\":5,\"unseen\":0,\"new\":0,\"problem\":null,\"mqtt\":null,\"accounts\":[]}");
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, "", NULL), BIFF_STATUS_OK);
    assert_string_equal(buf, "{\"now\":5,\"unseen\":0,\"new\":0,\"problem\":null,\"mqtt\":null,\"accounts\":[]}");
}

/* What is wrong with the device itself: escaped like any text, cut after 160 bytes (a character
 * the cut splits becomes U+FFFD, so the JSON stays valid UTF-8). */
/* The broker Home Assistant listens on: its state and why it failed, escaped; none without one. */
static void broker_state(void **state)
{
    (void)state;
    static char buf[4096];
    size_t len = 0;
    biff_status_broker b = { .state = BIFF_BROKER_ERROR };
    snprintf(b.detail, sizeof b.detail, "refused <login> \"x\"");
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b), BIFF_STATUS_OK);
    assert_string_equal(buf, "{\"now\":5,\"unseen\":0,\"new\":0,\"problem\":null,\"mqtt\":{\"state\":\"error\","
                             "\"detail\":\"refused <login> \\\"x\\\"\"},\"accounts\":[]}");
    assert_true(json_valid(buf));
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b, 0, NULL), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "<p class=\"err\" id=\"mqtt\">Home Assistant (MQTT): error: refused &lt;login&gt; "
                                "&quot;x&quot;</p>"));
    b = (biff_status_broker){ .state = BIFF_BROKER_CONNECTED };
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "\"mqtt\":{\"state\":\"connected\",\"detail\":null}"));
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b, 0, NULL), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "<p id=\"mqtt\">Home Assistant (MQTT): connected</p>"));
    b.state = BIFF_BROKER_OFF;
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "\"mqtt\":null"));
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 5, NULL, &b, 0, NULL), BIFF_STATUS_OK);
    assert_null(strstr(buf, "id=\"mqtt\""));
}

static void device_problem(void **state)
{
    (void)state;
    static char buf[4096];
    size_t len = 0;
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, "flash \"state\" <full>\n", NULL),
                     BIFF_STATUS_OK);
    assert_string_equal(buf, "{\"now\":5,\"unseen\":0,\"new\":0,\"problem\":\"flash \\\"state\\\" <full>\\n\","
                             "\"mqtt\":null,\"accounts\":[]}");
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 5, "flash <full> & \"so\"", NULL, 0, NULL),
                     BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "<p class=\"err\" id=\"problem\">flash &lt;full&gt; &amp; &quot;so&quot;</p>"));
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 5, NULL, NULL, 0, NULL), BIFF_STATUS_OK);
    assert_null(strstr(buf, "id=\"problem\""));
    char longp[400];
    memset(longp, 'x', sizeof longp - 3);
    memcpy(longp + 159, "\xc3\xbc", 2); /* a two-byte character across the 160-byte cut */
    longp[sizeof longp - 3] = 0;
    assert_int_equal(biff_status_json(buf, sizeof buf, &len, NULL, 0, 5, longp, NULL), BIFF_STATUS_OK);
    assert_true(json_valid(buf));
    const char *p = strstr(buf, "\"problem\":\"");
    assert_non_null(p);
    assert_int_equal(strchr(p + 11, '"') - (p + 11), 159 + 3);
    assert_memory_equal(p + 11 + 159, "\xef\xbf\xbd", 3);
}

static void json_hostile_strings(void **state)
{
    (void)state;
    biff_status_account a = mk("x", BIFF_STATE_ERROR, BIFF_ERR_PROTOCOL, 1, 0);
    /* valid UTF-8 kept; bad bytes (lone, overlong, surrogate, truncated) become U+FFFD */
    strcpy(a.folder[0].name, "Entw\xc3\xbc"
                             "rfe \xf0\x9f\x93\xa7 \xff \xc0\xaf \xed\xa0\x80 \x01\x1f\x7f \"\\ \xe2\x82");
    strcpy(a.detail, "\t</script>");
    static char buf[4096];
    assert_int_equal(biff_status_json(buf, sizeof buf, NULL, &a, 1, 1, NULL, NULL), BIFF_STATUS_OK);
    assert_true(json_valid(buf));
    assert_non_null(
        strstr(buf, "\"name\":\"Entw\xc3\xbc"
                    "rfe \xf0\x9f\x93\xa7 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \\u0001\\u001f\x7f \\\"\\\\ \xef\xbf\xbd\xef\xbf\xbd\""));
    assert_non_null(strstr(buf, "\"detail\":\"\\t</script>\""));
}

static void html_page(void **state)
{
    (void)state;
    biff_status_account a[2];
    fill_model(a);
    strcpy(a[0].folder[1].name, "<script>alert(1)</script>");
    strcpy(a[1].detail, "bad \"login\" & 'stuff' <b>");
    static char buf[8192];
    size_t len = 0;
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, a, 2, 1000, NULL, NULL, 30, "c0ffee\"><x"),
                     BIFF_STATUS_OK);
    assert_int_equal(len, strlen(buf));
    assert_non_null(strstr(buf, "<meta http-equiv=\"refresh\" content=\"30\">"));
    assert_non_null(strstr(buf, "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"));
    assert_non_null(strstr(buf, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(buf, "<title>(7) tinybiff</title>"));
    assert_non_null(strstr(buf, "<td class=\"folder\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert_null(strstr(buf, "<script"));
    assert_non_null(strstr(buf, "<b>auth_failed</b>: bad &quot;login&quot; &amp; &#39;stuff&#39; &lt;b&gt;</p>"));
    assert_non_null(strstr(buf, "<form method=\"post\" action=\"/ack\"><input type=\"hidden\" name=\"csrf\" "
                                "value=\"c0ffee&quot;&gt;&lt;x\"><button type=\"submit\">Acknowledge</button></form>"));
    assert_non_null(strstr(buf, "<span id=\"unseen\">7</span>"));
    assert_non_null(strstr(buf, "<span id=\"new\" class=\"new\">1</span>"));
    assert_non_null(strstr(
        buf, "<section class=\"acct ok\" data-account=\"work\"><h2>work <small>imap &middot; TLSv1.3</small></h2>"));
    assert_non_null(strstr(buf, "<span class=\"state\">ok</span> &middot; checked 10 s ago &middot; next in 4 min"));
    assert_non_null(strstr(buf, "<span class=\"state\">error</span> &middot; not checked yet</small>"));
    assert_non_null(strstr(buf, "<td class=\"n unseen\">3</td><td class=\"n new\">1</td>"));
    assert_non_null(strstr(buf, "1 account has a problem"));
    /* Self-contained: no external assets, no script. */
    assert_null(strstr(buf, "src="));
    assert_null(strstr(buf, "href="));
    assert_null(strstr(buf, "http://"));
    assert_null(strstr(buf, "https://"));
    /* No refresh, no form when asked. */
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, a, 2, 1000, NULL, NULL, 0, NULL), BIFF_STATUS_OK);
    assert_null(strstr(buf, "refresh"));
    assert_null(strstr(buf, "<form"));
    assert_int_equal(biff_status_html(buf, sizeof buf, &len, NULL, 0, 1000, NULL, NULL, 10, "t"), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "No accounts configured."));
    assert_non_null(strstr(buf, "<title>tinybiff</title>"));
}

static void html_times(void **state)
{
    (void)state;
    static const struct {
        uint32_t last, next;
        const char *want;
    } t[] = {
        { 1000000, 1000000, "checked just now &middot; next now" },
        { 1000001, 999999, "checked just now &middot; next now" }, /* clock stepped back */
        { 999941, 1000059, "checked 59 s ago &middot; next in 59 s" },
        { 999940, 1000060, "checked 1 min ago &middot; next in 1 min" },
        { 1000000 - 7199, 1000000 + 86399, "checked 1 h ago &middot; next in 23 h" },
        { 1000000 - 86400 * 3, 0, "checked 3 d ago</small>" },
        { 0, 900, "not checked yet &middot; next now" },
    };
    static char buf[8192];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        biff_status_account a = mk("a", BIFF_STATE_OK, BIFF_ERR_NONE, 0, 0);
        a.last_check = t[i].last;
        a.next_check = t[i].next;
        assert_int_equal(biff_status_html(buf, sizeof buf, NULL, &a, 1, 1000000, NULL, NULL, 0, NULL), BIFF_STATUS_OK);
        if (!strstr(buf, t[i].want)) print_error("case %zu: %s\n", i, strstr(buf, "state"));
        assert_non_null(strstr(buf, t[i].want));
    }
}

/* Every capacity below the need: E_SPACE, the exact need, an empty string, no byte past cap. */
static void too_small(void **state)
{
    (void)state;
    biff_status_account a[2];
    fill_model(a);
    static char full[8192], buf[8200];
    size_t need_json = 0, need_html = 0, len;
    assert_int_equal(biff_status_json(full, sizeof full, &need_json, a, 2, 1000, NULL, NULL), BIFF_STATUS_OK);
    for (size_t cap = 0; cap <= need_json; cap++) {
        memset(buf, 'Z', sizeof buf);
        len = 0;
        assert_int_equal(biff_status_json(cap ? buf : NULL, cap, &len, a, 2, 1000, NULL, NULL), BIFF_STATUS_E_SPACE);
        assert_int_equal(len, need_json);
        if (cap) assert_int_equal(buf[0], 0);
        assert_int_equal(buf[cap], 'Z');
    }
    assert_int_equal(biff_status_json(buf, need_json + 1, &len, a, 2, 1000, NULL, NULL), BIFF_STATUS_OK);
    assert_string_equal(buf, full);
    assert_int_equal(biff_status_html(full, sizeof full, &need_html, a, 2, 1000, NULL, NULL, 30, "tok"),
                     BIFF_STATUS_OK);
    for (size_t cap = 0; cap <= need_html; cap += 7) {
        memset(buf, 'Z', sizeof buf);
        assert_int_equal(biff_status_html(buf, cap, &len, a, 2, 1000, NULL, NULL, 30, "tok"), BIFF_STATUS_E_SPACE);
        assert_int_equal(len, need_html);
        assert_int_equal(buf[cap], 'Z');
    }
    assert_int_equal(biff_status_html(buf, need_html, &len, a, 2, 1000, NULL, NULL, 30, "tok"), BIFF_STATUS_E_SPACE);
    assert_int_equal(biff_status_html(buf, need_html + 1, &len, a, 2, 1000, NULL, NULL, 30, "tok"), BIFF_STATUS_OK);
    assert_string_equal(buf, full);
    assert_int_equal(biff_status_json(NULL, 10, &len, a, 2, 1000, NULL, NULL), BIFF_STATUS_E_ARG);
    assert_int_equal(biff_status_html(buf, 10, &len, NULL, 2, 1000, NULL, NULL, 30, NULL), BIFF_STATUS_E_ARG);
}

/*
 * The model has no secret field; what remains is that a renderer never reads past a field. A
 * secret placed right behind a model whose every string fills its array without a NUL must
 * not show up in any output.
 */
/* An OAuth2 account: the code and its countdown while waiting, the button when it needs the user;
 * JSON gives the code only while waiting. */
static void oauth_panel(void **state)
{
    (void)state;
    static biff_status_account a[2];
    static biff_status_auth au = { .state = BIFF_AUTH_WAITING,
                                   .text = "waiting for approval",
                                   .code = "WDJB-MJHT",
                                   .uri = "https://example.com/device?a=1&b=<2>",
                                   .code_expires = 1000 + 125 };
    static char buf[32768];
    memset(a, 0, sizeof a);
    strcpy(a[0].name, "pw");
    strcpy(a[1].name, "oa");
    a[1].auth = &au;
    assert_int_equal(biff_status_json(buf, sizeof buf, NULL, a, 2, 1000, NULL, NULL), BIFF_STATUS_OK);
    assert_true(json_valid(buf));
    assert_non_null(strstr(buf, "\"auth\":{\"state\":\"waiting\",\"text\":\"waiting for approval\",\"user_code\":"
                                "\"WDJB-MJHT\",\"verification_uri\":\"https://example.com/device?a=1&b=<2>\","
                                "\"code_expires\":1125}"));
    char *oa = strstr(buf, "\"name\":\"oa\"");
    assert_non_null(oa);
    *oa = 0;
    assert_null(strstr(buf, "\"auth\"")); /* the password account has none */
    assert_int_equal(biff_status_html(buf, sizeof buf, NULL, a, 2, 1000, NULL, NULL, 5, "tok"), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "Open <a class=\"uri\" href=\"https://example.com/device?a=1&amp;b=&lt;2&gt;\">"));
    assert_non_null(strstr(buf, "enter <span class=\"code\">WDJB-MJHT</span>"));
    assert_non_null(strstr(buf, "the code expires in 2 min"));
    assert_non_null(strstr(buf, "name=\"account\" value=\"1\"><button type=\"submit\">New code</button>"));
    au.state = BIFF_AUTH_NEEDED;
    strcpy(au.text, "needs authorization: access was revoked");
    assert_int_equal(biff_status_html(buf, sizeof buf, NULL, a, 2, 1000, NULL, NULL, 5, "tok"), BIFF_STATUS_OK);
    assert_null(strstr(buf, "WDJB"));
    assert_non_null(strstr(buf, "needs authorization: access was revoked"));
    assert_non_null(strstr(buf, "<input type=\"hidden\" name=\"csrf\" value=\"tok\"><input type=\"hidden\" "
                                "name=\"account\" value=\"1\"><button type=\"submit\">Authorize again</button>"));
    assert_int_equal(biff_status_html(buf, sizeof buf, NULL, a, 2, 1000, NULL, NULL, 5, NULL), BIFF_STATUS_OK);
    assert_null(strstr(buf, "/authorize")); /* no token, no button */
    assert_int_equal(biff_status_json(buf, sizeof buf, NULL, a, 2, 1000, NULL, NULL), BIFF_STATUS_OK);
    assert_non_null(strstr(buf, "\"auth\":{\"state\":\"needed\",\"text\":\"needs authorization: access was revoked\","
                                "\"user_code\":null,\"verification_uri\":null,\"code_expires\":null}"));
}

static void no_secret_in_output(void **state)
{
    (void)state;
    static struct {
        biff_status_account a;
        char secret[32];
    } mem;
    memset(&mem.a, 'A', sizeof mem.a);
    mem.a.state = BIFF_STATE_ERROR;
    mem.a.err = BIFF_ERR_AUTH_FAILED;
    mem.a.proto = BIFF_STATUS_IMAP;
    mem.a.n_folders = 200; /* out of range: clamped to the array */
    mem.a.auth = NULL;     /* a pointer, not text */
    strcpy(mem.secret, "hunter2-SECRET");
    static char buf[32768];
    assert_int_equal(biff_status_json(buf, sizeof buf, NULL, &mem.a, 1, 1, NULL, NULL), BIFF_STATUS_OK);
    assert_true(json_valid(buf));
    assert_null(strstr(buf, "hunter2"));
    assert_int_equal(biff_status_html(buf, sizeof buf, NULL, &mem.a, 1, 1, NULL, NULL, 5, "t"), BIFF_STATUS_OK);
    assert_null(strstr(buf, "hunter2"));
    biff_led_summary s;
    biff_led_summarize(&mem.a, 1, NULL, 0, &s);
    assert_int_equal(biff_led_line(buf, sizeof buf, NULL, mem.a.name, &s, 1, 1), BIFF_STATUS_OK);
    assert_null(strstr(buf, "hunter2"));
    /* Names are cut at their array size: 31 'A's + terminator slot also 'A' = 32 bytes. */
    assert_int_equal(biff_status_json(buf, sizeof buf, NULL, &mem.a, 1, 1, NULL, NULL), BIFF_STATUS_OK);
    char want[64] = "{\"name\":\"";
    memset(want + 9, 'A', BIFF_STATUS_NAME_MAX);
    want[9 + BIFF_STATUS_NAME_MAX] = '"';
    assert_non_null(strstr(buf, want));
}

/* Every string at its array's size and made of what escapes longest (a quote: 2 bytes, a control
 * character: 6, a two-byte UTF-8 character that a piece may cut in half), every folder, an
 * error, an OAuth2 account waiting with the longest code and URI: the largest account. */
static void fill_worst(biff_status_account *a, size_t n, biff_status_auth *au)
{
    memset(a, 0, n * sizeof *a);
    memset(au, 0, sizeof *au);
    au->state = BIFF_AUTH_WAITING;
    memset(au->text, '\x01', sizeof au->text - 1);
    memset(au->code, '"', sizeof au->code - 1);
    for (size_t i = 0; i + 2 < sizeof au->uri; i += 2) memcpy(au->uri + i, "\xc3\xa9", 2);
    au->code_expires = 4000000000u;
    for (size_t i = 0; i < n; i++) {
        memset(a[i].name, '"', sizeof a[i].name - 1);
        a[i].name[0] = (char)('0' + i);
        a[i].proto = (uint8_t)(i & 1);
        a[i].state = BIFF_STATE_ERROR;
        a[i].err = BIFF_ERR_AUTH_FAILED;
        a[i].last_check = a[i].next_check = 4000000000u;
        strcpy(a[i].tls, "TLSv1.3");
        memset(a[i].detail, '\x01', sizeof a[i].detail - 1);
        a[i].n_folders = BIFF_STATUS_MAX_FOLDERS;
        for (size_t f = 0; f < BIFF_STATUS_MAX_FOLDERS; f++) {
            for (size_t k = 0; k + 3 < sizeof a[i].folder[f].name; k += 3)
                memcpy(a[i].folder[f].name + k, "\xc3\xa9\\", 3);
            a[i].folder[f].unseen = a[i].folder[f].fresh = 4000000000u;
        }
        a[i].auth = au;
    }
}

/* The document rendered in windows of `piece` bytes, put together: what a server sending it in
 * pieces through a buffer of that size sends. Each window's rendering counts the whole. */
static size_t json_pieces(char *out, size_t cap, size_t piece, const biff_status_account *a, size_t n,
                          const biff_status_broker *mqtt, uint32_t *sum)
{
    size_t at = 0, total = SIZE_MAX;
    while (at < total) {
        assert_true(at + piece <= cap);
        biff_out o = { .buf = out + at, .cap = piece, .skip = at, .sum = 7 };
        biff_status_json_out(&o, a, n, 1000, "no NTP \"answer\"", mqtt);
        if (total == SIZE_MAX) *sum = o.sum;
        assert_int_equal(o.pos, total == SIZE_MAX ? o.pos : total);
        assert_int_equal(o.sum, *sum);
        total = o.pos;
        at += piece;
    }
    return total;
}

/* /status.json in pieces of any size is the whole document, byte for byte, however large the
 * model (the notifier sends it so, web.c); the checksum tells a changed model. */
static void json_in_pieces(void **state)
{
    (void)state;
    static biff_status_account a[6]; /* the notifier's most accounts (PROV_MAX_ACCOUNTS) */
    static biff_status_auth au;
    static biff_status_broker mqtt = { .state = BIFF_BROKER_ERROR };
    static char whole[65536], pieces[65536 + 4096];
    memset(mqtt.detail, '\x1f', sizeof mqtt.detail - 1);
    fill_worst(a, 6, &au);
    size_t len = 0;
    assert_int_equal(biff_status_json(whole, sizeof whole, &len, a, 6, 1000, "no NTP \"answer\"", &mqtt),
                     BIFF_STATUS_OK);
    assert_true(json_valid(whole));
    assert_true(len > 16384); /* far past any one buffer the notifier has */
    uint32_t sum = 0, sum2 = 0;
    const size_t sizes[] = { 97, 256, 536, 1072, 2144, len - 1, len, len + 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        memset(pieces, 'Z', sizeof pieces);
        assert_int_equal(json_pieces(pieces, sizeof pieces, sizes[i], a, 6, &mqtt, &sum), len);
        assert_memory_equal(pieces, whole, len);
    }
    /* Every small piece size, so each escape and UTF-8 sequence is cut at each of its bytes. */
    a[0].n_folders = 2;
    assert_int_equal(biff_status_json(whole, sizeof whole, &len, a, 1, 1000, "no NTP \"answer\"", &mqtt),
                     BIFF_STATUS_OK);
    for (size_t piece = 1; piece <= 64; piece++) {
        memset(pieces, 'Z', sizeof pieces);
        assert_int_equal(json_pieces(pieces, sizeof pieces, piece, a, 1, &mqtt, &sum), len);
        assert_memory_equal(pieces, whole, len);
    }
    /* A count that changes but keeps the length: the same length, another checksum. */
    a[0].folder[1].unseen = 4000000001u;
    assert_int_equal(json_pieces(pieces, sizeof pieces, len, a, 1, &mqtt, &sum2), len);
    assert_true(sum2 != sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(led_priority),         cmocka_unit_test(led_summary),
        cmocka_unit_test(blink_timing),         cmocka_unit_test(led_lines),
        cmocka_unit_test(validator_rejects),    cmocka_unit_test(json_exact),
        cmocka_unit_test(json_hostile_strings), cmocka_unit_test(device_problem),
        cmocka_unit_test(broker_state),         cmocka_unit_test(html_page),
        cmocka_unit_test(html_times),           cmocka_unit_test(too_small),
        cmocka_unit_test(no_secret_in_output),  cmocka_unit_test(oauth_panel),
        cmocka_unit_test(json_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Status model outputs: LED patterns and the JSON, HTML and terminal renderers. */
#include "biff/status.h"

#include <string.h>

#include "biff/result.h"

/* ---- bounded writer: counts everything, stores what fits ---- */

typedef struct {
    char *buf;
    size_t cap;
    size_t pos;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->pos < o->cap) {
        size_t room = o->cap - o->pos;
        memcpy(o->buf + o->pos, s, n < room ? n : room);
    }
    o->pos += n;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_u32(out *o, uint32_t v)
{
    char tmp[10];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof tmp - i);
}

static biff_status_status finish(out *o, size_t *len)
{
    if (len) *len = o->pos;
    if (o->pos < o->cap) {
        o->buf[o->pos] = 0;
        return BIFF_STATUS_OK;
    }
    /* Never hand out a cut document: a half JSON object parses as garbage downstream. */
    if (o->cap) o->buf[0] = 0;
    return BIFF_STATUS_E_SPACE;
}

/* ---- text escaping over UTF-8 ---- */

enum { ESC_JSON, ESC_HTML, ESC_PLAIN };

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid (overlong, surrogate...). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07u;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
    return len;
}

static const char hexd[] = "0123456789abcdef";

/* String field s of at most max bytes (it may lack its NUL), escaped for mode. */
static void put_text(out *o, const char *s, size_t max, int mode)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (n < max && s[n]) n++;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t l = utf8_len(u + i, n - i);
            if (l) put(o, s + i, l);
            else if (mode == ESC_PLAIN) put(o, "?", 1);
            else put(o, "\xef\xbf\xbd", 3); /* U+FFFD for each bad byte */
            i += l ? l : 1;
            continue;
        }
        i++;
        if (mode == ESC_JSON) {
            if (c == '"') puts_(o, "\\\"");
            else if (c == '\\') puts_(o, "\\\\");
            else if (c == '\n') puts_(o, "\\n");
            else if (c == '\r') puts_(o, "\\r");
            else if (c == '\t') puts_(o, "\\t");
            else if (c < 0x20) {
                char e[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
                put(o, e, 6);
            } else put(o, (const char *)&c, 1);
        } else if (c < 0x20 || c == 0x7f) {
            /* No terminal escapes or odd controls on a page or a console line. */
            if (mode == ESC_PLAIN) put(o, "?", 1);
            else put(o, "\xef\xbf\xbd", 3);
        } else if (mode == ESC_HTML) {
            if (c == '&') puts_(o, "&amp;");
            else if (c == '<') puts_(o, "&lt;");
            else if (c == '>') puts_(o, "&gt;");
            else if (c == '"') puts_(o, "&quot;");
            else if (c == '\'') puts_(o, "&#39;");
            else put(o, (const char *)&c, 1);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
}

#define FIELD(o, f, mode) put_text((o), (f), sizeof(f), (mode))

/* ---- model queries and LEDs ---- */

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a + b < a ? UINT32_MAX : a + b;
}

uint32_t biff_status_total(const biff_status_account *a, int want_fresh)
{
    uint32_t t = 0;
    size_t n = a->n_folders < BIFF_STATUS_MAX_FOLDERS ? a->n_folders : BIFF_STATUS_MAX_FOLDERS;
    for (size_t i = 0; i < n; i++) t = sat_add(t, want_fresh ? a->folder[i].fresh : a->folder[i].unseen);
    return t;
}

static int in_error(const biff_status_account *a)
{
    return a->err != BIFF_ERR_NONE || a->state == BIFF_STATE_ERROR;
}

biff_led_pattern biff_led_pattern_of(const biff_status_account *a)
{
    if (in_error(a)) return BIFF_LED_FAST;
    if (biff_status_total(a, 1)) return BIFF_LED_SLOW;
    if (biff_status_total(a, 0)) return BIFF_LED_STEADY;
    return BIFF_LED_OFF;
}

biff_led_pattern biff_led_summarize(const biff_status_account *accts, size_t n_accts,
                                    const uint16_t *idx, size_t n_idx, biff_led_summary *out_)
{
    biff_led_summary s;
    memset(&s, 0, sizeof s);
    size_t n = (idx && n_idx) ? n_idx : n_accts;
    for (size_t i = 0; i < n; i++) {
        size_t k = (idx && n_idx) ? idx[i] : i;
        if (!accts || k >= n_accts) continue;
        const biff_status_account *a = &accts[k];
        biff_led_pattern p = biff_led_pattern_of(a);
        if (p > s.pattern) s.pattern = (uint8_t)p;
        if (p == BIFF_LED_FAST) {
            if (!s.n_errors) s.err = a->err;
            if (s.n_errors < UINT16_MAX) s.n_errors++;
        }
        s.unseen = sat_add(s.unseen, biff_status_total(a, 0));
        s.fresh = sat_add(s.fresh, biff_status_total(a, 1));
    }
    if (out_) *out_ = s;
    return (biff_led_pattern)s.pattern;
}

int biff_led_level(biff_led_pattern p, uint32_t t_ms)
{
    switch (p) {
    case BIFF_LED_STEADY: return 1;
    case BIFF_LED_SLOW: return ((t_ms >> 9) & 1u) == 0; /* 512 on, 512 off */
    case BIFF_LED_FAST: return ((t_ms >> 7) & 1u) == 0; /* 128 on, 128 off */
    default: return 0;
    }
}

void biff_led_timing(biff_led_pattern p, uint16_t *on_ms, uint16_t *off_ms)
{
    uint16_t t = p == BIFF_LED_SLOW ? 512 : p == BIFF_LED_FAST ? 128 : 0;
    if (on_ms) *on_ms = t;
    if (off_ms) *off_ms = t;
}

const char *biff_led_pattern_name(biff_led_pattern p)
{
    switch (p) {
    case BIFF_LED_OFF: return "off";
    case BIFF_LED_STEADY: return "steady";
    case BIFF_LED_SLOW: return "slow";
    case BIFF_LED_FAST: return "fast";
    }
    return "off";
}

biff_status_status biff_led_line(char *buf, size_t cap, size_t *len, const char *led_name,
                                 const biff_led_summary *s, int lit, int ascii)
{
    if ((!buf && cap) || !s) return BIFF_STATUS_E_ARG;
    out o = { buf, cap, 0 };
    const char *name = biff_led_pattern_name((biff_led_pattern)s->pattern);
    puts_(&o, "[LED ");
    put_text(&o, led_name ? led_name : "", 64, ESC_PLAIN);
    puts_(&o, ": ");
    puts_(&o, ascii ? (lit ? "*" : "-") : (lit ? "\xe2\x97\x8f" : "\xe2\x97\x8b")); /* ● ○ */
    puts_(&o, "  ");
    puts_(&o, name);
    put(&o, "      ", 6 - strlen(name));
    puts_(&o, "  (");
    if (s->pattern == BIFF_LED_FAST) {
        puts_(&o, "error: ");
        puts_(&o, biff_error_class_name((biff_error_class)s->err));
    } else if (!s->unseen && !s->fresh) {
        puts_(&o, "nothing unread");
    } else {
        if (s->fresh) {
            put_u32(&o, s->fresh);
            puts_(&o, " new, ");
        }
        put_u32(&o, s->unseen);
        puts_(&o, " unread");
    }
    puts_(&o, ")]");
    return finish(&o, len);
}

/* ---- /status.json ---- */

static const char *state_name(uint8_t st)
{
    static const char *const names[] = { "idle", "checking", "ok", "error" };
    return st < 4 ? names[st] : "idle";
}

static void json_key(out *o, const char *k)
{
    put(o, "\"", 1);
    puts_(o, k);
    put(o, "\":", 2);
}

static void json_time(out *o, const char *k, uint32_t t)
{
    json_key(o, k);
    if (t) put_u32(o, t);
    else puts_(o, "null");
}

static void json_counts(out *o, uint32_t unseen, uint32_t fresh)
{
    json_key(o, "unseen");
    put_u32(o, unseen);
    puts_(o, ",\"new\":");
    put_u32(o, fresh);
}

/* Device problems are short sentences; longer ones are cut after this many bytes. */
#define PROBLEM_MAX 160

/* A JSON string, or null when s is empty. */
static void json_text_or_null(out *o, const char *s, size_t max)
{
    if (!*s) {
        puts_(o, "null");
        return;
    }
    put(o, "\"", 1);
    put_text(o, s, max, ESC_JSON);
    put(o, "\"", 1);
}

biff_status_status biff_status_json(char *buf, size_t cap, size_t *len,
                                    const biff_status_account *accts, size_t n, uint32_t now,
                                    const char *problem)
{
    if ((!buf && cap) || (!accts && n)) return BIFF_STATUS_E_ARG;
    out o = { buf, cap, 0 };
    biff_led_summary all;
    biff_led_summarize(accts, n, NULL, 0, &all);
    puts_(&o, "{\"now\":");
    put_u32(&o, now);
    put(&o, ",", 1);
    json_counts(&o, all.unseen, all.fresh);
    puts_(&o, ",\"problem\":");
    json_text_or_null(&o, problem ? problem : "", PROBLEM_MAX);
    puts_(&o, ",\"accounts\":[");
    for (size_t i = 0; i < n; i++) {
        const biff_status_account *a = &accts[i];
        if (i) put(&o, ",", 1);
        puts_(&o, "{\"name\":\"");
        FIELD(&o, a->name, ESC_JSON);
        puts_(&o, a->proto == BIFF_STATUS_POP3 ? "\",\"protocol\":\"pop3\",\"state\":\""
                                               : "\",\"protocol\":\"imap\",\"state\":\"");
        puts_(&o, state_name(a->state));
        puts_(&o, "\",");
        json_time(&o, "last_check", a->last_check);
        put(&o, ",", 1);
        json_time(&o, "next_check", a->next_check);
        puts_(&o, ",\"tls\":");
        json_text_or_null(&o, a->tls, sizeof a->tls);
        puts_(&o, ",\"error\":");
        if (a->err != BIFF_ERR_NONE) {
            put(&o, "\"", 1);
            puts_(&o, biff_error_class_name((biff_error_class)a->err));
            puts_(&o, "\",\"detail\":\"");
            FIELD(&o, a->detail, ESC_JSON);
            put(&o, "\"", 1);
        } else {
            puts_(&o, "null,\"detail\":null");
        }
        put(&o, ",", 1);
        json_counts(&o, biff_status_total(a, 0), biff_status_total(a, 1));
        puts_(&o, ",\"folders\":[");
        size_t nf = a->n_folders < BIFF_STATUS_MAX_FOLDERS ? a->n_folders : BIFF_STATUS_MAX_FOLDERS;
        for (size_t f = 0; f < nf; f++) {
            if (f) put(&o, ",", 1);
            puts_(&o, "{\"name\":\"");
            FIELD(&o, a->folder[f].name, ESC_JSON);
            puts_(&o, "\",");
            json_counts(&o, a->folder[f].unseen, a->folder[f].fresh);
            put(&o, "}", 1);
        }
        puts_(&o, "]}");
    }
    puts_(&o, "]}");
    return finish(&o, len);
}

/* ---- HTML page ---- */

static const char css[] =
    "body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:40em;padding:1em;"
    "background:#f4f4f4;color:#222}"
    "h1{font-size:1.2em;margin:0}"
    ".total{font-size:3em;font-weight:700;margin:.1em 0 .3em}"
    ".total small{font-size:.4em;font-weight:400}"
    "section{background:#fff;border-left:.4em solid #999;border-radius:.3em;padding:.5em 1em;margin:.7em 0}"
    ".ok{border-color:#2a2}.error{border-color:#c22}.checking{border-color:#c90}"
    "h2{font-size:1.1em;margin:0}small{color:#666}p{margin:.2em 0}"
    "table{width:100%;border-collapse:collapse}th{text-align:left;font-weight:400;color:#666}"
    "td,th{padding:.15em 0}td.n,th.n{text-align:right;width:3.5em}"
    "td.n{font-size:1.8em;font-weight:700}.new{color:#c60}.err{color:#c22}"
    "button{font-size:1.2em;padding:.6em 1.4em;margin:.5em 0}"
    "@media(prefers-color-scheme:dark){body{background:#111;color:#eee}section{background:#222}"
    "small,th{color:#aaa}}";

/* "12 s", "4 min", "3 h", "2 d" */
static void put_span(out *o, uint32_t d)
{
    static const struct { uint32_t div; const char *unit; } u[] = {
        { 86400, " d" }, { 3600, " h" }, { 60, " min" }, { 1, " s" },
    };
    size_t i = 0;
    while (i < 3 && d < u[i].div) i++;
    put_u32(o, d / u[i].div);
    puts_(o, u[i].unit);
}

static void html_account(out *o, const biff_status_account *a, uint32_t now)
{
    puts_(o, "<section class=\"acct ");
    puts_(o, state_name(a->state));
    puts_(o, "\" data-account=\"");
    FIELD(o, a->name, ESC_HTML);
    puts_(o, "\"><h2>");
    FIELD(o, a->name, ESC_HTML);
    puts_(o, a->proto == BIFF_STATUS_POP3 ? " <small>pop3" : " <small>imap");
    if (a->tls[0]) {
        puts_(o, " &middot; ");
        FIELD(o, a->tls, ESC_HTML);
    }
    puts_(o, "</small></h2><p><small><span class=\"state\">");
    puts_(o, state_name(a->state));
    puts_(o, "</span> &middot; ");
    if (!a->last_check) {
        puts_(o, "not checked yet");
    } else {
        puts_(o, "checked ");
        if (a->last_check >= now) puts_(o, "just now");
        else {
            put_span(o, now - a->last_check);
            puts_(o, " ago");
        }
    }
    if (a->next_check) {
        puts_(o, " &middot; next ");
        if (a->next_check <= now) puts_(o, "now");
        else {
            puts_(o, "in ");
            put_span(o, a->next_check - now);
        }
    }
    puts_(o, "</small></p>");
    if (a->err != BIFF_ERR_NONE) {
        puts_(o, "<p class=\"err\"><b>");
        puts_(o, biff_error_class_name((biff_error_class)a->err));
        puts_(o, "</b>");
        if (a->detail[0]) {
            puts_(o, ": ");
            FIELD(o, a->detail, ESC_HTML);
        }
        puts_(o, "</p>");
    }
    size_t nf = a->n_folders < BIFF_STATUS_MAX_FOLDERS ? a->n_folders : BIFF_STATUS_MAX_FOLDERS;
    if (nf) {
        puts_(o, "<table><tr><th>Folder</th><th class=\"n\">Unread</th><th class=\"n\">New</th></tr>");
        for (size_t f = 0; f < nf; f++) {
            const biff_status_folder *fo = &a->folder[f];
            puts_(o, "<tr><td class=\"folder\">");
            FIELD(o, fo->name, ESC_HTML);
            puts_(o, "</td><td class=\"n unseen\">");
            put_u32(o, fo->unseen);
            puts_(o, "</td><td class=\"n new\">");
            put_u32(o, fo->fresh);
            puts_(o, "</td></tr>");
        }
        puts_(o, "</table>");
    }
    puts_(o, "</section>");
}

biff_status_status biff_status_html(char *buf, size_t cap, size_t *len,
                                    const biff_status_account *accts, size_t n, uint32_t now,
                                    const char *problem, unsigned refresh_s, const char *csrf_token)
{
    if ((!buf && cap) || (!accts && n)) return BIFF_STATUS_E_ARG;
    out o = { buf, cap, 0 };
    biff_led_summary all;
    biff_led_summarize(accts, n, NULL, 0, &all);
    puts_(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    if (refresh_s) {
        puts_(&o, "<meta http-equiv=\"refresh\" content=\"");
        put_u32(&o, refresh_s);
        puts_(&o, "\">");
    }
    puts_(&o, "<title>");
    if (all.unseen) {
        put(&o, "(", 1);
        put_u32(&o, all.unseen);
        puts_(&o, ") ");
    }
    puts_(&o, "tinybiff</title><style>");
    puts_(&o, css);
    puts_(&o, "</style></head><body><h1>tinybiff</h1><p class=\"total\"><span id=\"unseen\">");
    put_u32(&o, all.unseen);
    puts_(&o, "</span> <small>unread</small> <span id=\"new\" class=\"new\">");
    put_u32(&o, all.fresh);
    puts_(&o, "</span> <small>new</small></p>");
    if (problem && *problem) {
        puts_(&o, "<p class=\"err\" id=\"problem\">");
        put_text(&o, problem, PROBLEM_MAX, ESC_HTML);
        puts_(&o, "</p>");
    }
    if (all.n_errors) {
        puts_(&o, "<p class=\"err\">");
        put_u32(&o, all.n_errors);
        puts_(&o, all.n_errors == 1 ? " account has a problem</p>" : " accounts have a problem</p>");
    }
    if (csrf_token) {
        puts_(&o, "<form method=\"post\" action=\"/ack\"><input type=\"hidden\" name=\"csrf\" value=\"");
        put_text(&o, csrf_token, 128, ESC_HTML);
        puts_(&o, "\"><button type=\"submit\">Acknowledge</button></form>");
    }
    if (!n) puts_(&o, "<p>No accounts configured.</p>");
    for (size_t i = 0; i < n; i++) html_account(&o, &accts[i], now);
    puts_(&o, "</body></html>\n");
    return finish(&o, len);
}

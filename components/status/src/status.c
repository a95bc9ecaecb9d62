/* Status model outputs: LED patterns and the JSON, HTML and terminal renderers. */
#include "biff/status.h"

#include <string.h>

#include "biff/out.h"
#include "biff/result.h"

/* ---- the documents end whole or not at all ---- */

static biff_status_status finish(biff_out *o, size_t *len)
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

#define FIELD(o, f, mode) biff_out_text((o), (f), sizeof(f), (mode))

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

biff_led_pattern biff_led_summarize(const biff_status_account *accts, size_t n_accts, const uint16_t *idx, size_t n_idx,
                                    biff_led_summary *out_)
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

biff_status_status biff_led_line(char *buf, size_t cap, size_t *len, const char *led_name, const biff_led_summary *s,
                                 int lit, int ascii)
{
    if ((!buf && cap) || !s) return BIFF_STATUS_E_ARG;
    biff_out o = { .buf = buf, .cap = cap };
    const char *name = biff_led_pattern_name((biff_led_pattern)s->pattern);
    biff_out_str(&o, "[LED ");
    biff_out_text(&o, led_name ? led_name : "", 64, BIFF_OUT_PLAIN);
    biff_out_str(&o, ": ");
    biff_out_str(&o, ascii ? (lit ? "*" : "-") : (lit ? "\xe2\x97\x8f" : "\xe2\x97\x8b")); /* ● ○ */
    biff_out_str(&o, "  ");
    biff_out_str(&o, name);
    biff_out_put(&o, "      ", 6 - strlen(name));
    biff_out_str(&o, "  (");
    if (s->pattern == BIFF_LED_FAST) {
        biff_out_str(&o, "error: ");
        biff_out_str(&o, biff_error_class_name((biff_error_class)s->err));
    } else if (!s->unseen && !s->fresh) {
        biff_out_str(&o, "nothing unread");
    } else {
        if (s->fresh) {
            biff_out_u32(&o, s->fresh);
            biff_out_str(&o, " new, ");
        }
        biff_out_u32(&o, s->unseen);
        biff_out_str(&o, " unread");
    }
    biff_out_str(&o, ")]");
    return finish(&o, len);
}

/* ---- /status.json ---- */

static const char *state_name(uint8_t st)
{
    static const char *const names[] = { "idle", "checking", "ok", "error" };
    return st < 4 ? names[st] : "idle";
}

static void json_key(biff_out *o, const char *k)
{
    biff_out_put(o, "\"", 1);
    biff_out_str(o, k);
    biff_out_put(o, "\":", 2);
}

static void json_time(biff_out *o, const char *k, uint32_t t)
{
    json_key(o, k);
    if (t)
        biff_out_u32(o, t);
    else
        biff_out_str(o, "null");
}

static void json_counts(biff_out *o, uint32_t unseen, uint32_t fresh)
{
    json_key(o, "unseen");
    biff_out_u32(o, unseen);
    biff_out_str(o, ",\"new\":");
    biff_out_u32(o, fresh);
}

/* Device problems are short sentences; longer ones are cut after this many bytes. */
#define PROBLEM_MAX 160

/* A JSON string, or null when s is empty. */
static void json_text_or_null(biff_out *o, const char *s, size_t max)
{
    if (!*s) {
        biff_out_str(o, "null");
        return;
    }
    biff_out_put(o, "\"", 1);
    biff_out_text(o, s, max, BIFF_OUT_JSON);
    biff_out_put(o, "\"", 1);
}

static const char *auth_name(uint8_t st)
{
    static const char *const names[] = { "ok", "working", "waiting", "needed", "broken" };
    return st < 5 ? names[st] : "working";
}

#if BIFF_FEATURE_OAUTH /* a build without OAuth2 (the notifier's base image) has no auth panels */
/* "auth":{...} of an OAuth2 account: the code only while it is waiting for the user. */
static void json_auth(biff_out *o, const biff_status_auth *au)
{
    int waiting = au->state == BIFF_AUTH_WAITING;
    biff_out_str(o, ",\"auth\":{\"state\":\"");
    biff_out_str(o, auth_name(au->state));
    biff_out_str(o, "\",\"text\":\"");
    FIELD(o, au->text, BIFF_OUT_JSON);
    biff_out_str(o, "\",\"user_code\":");
    json_text_or_null(o, waiting ? au->code : "", sizeof au->code);
    biff_out_str(o, ",\"verification_uri\":");
    json_text_or_null(o, waiting ? au->uri : "", sizeof au->uri);
    biff_out_put(o, ",", 1);
    json_time(o, "code_expires", waiting ? au->code_expires : 0);
    biff_out_put(o, "}", 1);
}
#endif

const char *biff_broker_state_name(uint8_t st)
{
    static const char *const names[] = { "off", "connecting", "connected", "error" };
    return st < 4 ? names[st] : "error";
}

/* "mqtt": the broker's state; null without one (always in a build without MQTT). */
static void json_broker(biff_out *o, const biff_status_broker *b)
{
#if BIFF_FEATURE_MQTT
    biff_out_str(o, ",\"mqtt\":");
    if (!b || b->state == BIFF_BROKER_OFF) {
        biff_out_str(o, "null");
        return;
    }
    biff_out_str(o, "{\"state\":\"");
    biff_out_str(o, biff_broker_state_name(b->state));
    biff_out_str(o, "\",\"detail\":");
    json_text_or_null(o, b->detail, sizeof b->detail);
    biff_out_put(o, "}", 1);
#else
    (void)b;
    biff_out_str(o, ",\"mqtt\":null");
#endif
}

void biff_status_json_out(biff_out *o, const biff_status_account *accts, size_t n, uint32_t now, const char *problem,
                          const biff_status_broker *mqtt)
{
    biff_led_summary all;
    biff_led_summarize(accts, n, NULL, 0, &all);
    biff_out_str(o, "{\"now\":");
    biff_out_u32(o, now);
    biff_out_put(o, ",", 1);
    json_counts(o, all.unseen, all.fresh);
    biff_out_str(o, ",\"problem\":");
    json_text_or_null(o, problem ? problem : "", PROBLEM_MAX);
    json_broker(o, mqtt);
    biff_out_str(o, ",\"accounts\":[");
    for (size_t i = 0; i < n; i++) {
        const biff_status_account *a = &accts[i];
        if (i) biff_out_put(o, ",", 1);
        biff_out_str(o, "{\"name\":\"");
        FIELD(o, a->name, BIFF_OUT_JSON);
        biff_out_str(o, a->proto == BIFF_STATUS_POP3 ? "\",\"protocol\":\"pop3\",\"state\":\""
                                                     : "\",\"protocol\":\"imap\",\"state\":\"");
        biff_out_str(o, state_name(a->state));
        biff_out_str(o, "\",");
        json_time(o, "last_check", a->last_check);
        biff_out_put(o, ",", 1);
        json_time(o, "next_check", a->next_check);
        biff_out_str(o, ",\"tls\":");
        json_text_or_null(o, a->tls, sizeof a->tls);
        biff_out_str(o, ",\"error\":");
        if (a->err != BIFF_ERR_NONE) {
            biff_out_put(o, "\"", 1);
            biff_out_str(o, biff_error_class_name((biff_error_class)a->err));
            biff_out_str(o, "\",\"detail\":\"");
            FIELD(o, a->detail, BIFF_OUT_JSON);
            biff_out_put(o, "\"", 1);
        } else {
            biff_out_str(o, "null,\"detail\":null");
        }
#if BIFF_FEATURE_OAUTH
        if (a->auth) json_auth(o, a->auth);
#endif
        biff_out_put(o, ",", 1);
        json_counts(o, biff_status_total(a, 0), biff_status_total(a, 1));
        biff_out_str(o, ",\"folders\":[");
        size_t nf = a->n_folders < BIFF_STATUS_MAX_FOLDERS ? a->n_folders : BIFF_STATUS_MAX_FOLDERS;
        for (size_t f = 0; f < nf; f++) {
            if (f) biff_out_put(o, ",", 1);
            biff_out_str(o, "{\"name\":\"");
            FIELD(o, a->folder[f].name, BIFF_OUT_JSON);
            biff_out_str(o, "\",");
            json_counts(o, a->folder[f].unseen, a->folder[f].fresh);
            biff_out_put(o, "}", 1);
        }
        biff_out_str(o, "]}");
    }
    biff_out_str(o, "]}");
}

biff_status_status biff_status_json(char *buf, size_t cap, size_t *len, const biff_status_account *accts, size_t n,
                                    uint32_t now, const char *problem, const biff_status_broker *mqtt)
{
    if ((!buf && cap) || (!accts && n)) return BIFF_STATUS_E_ARG;
    biff_out o = { .buf = buf, .cap = cap };
    biff_status_json_out(&o, accts, n, now, problem, mqtt);
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
    ".auth{background:#ffe;border:1px solid #cc9;padding:.5em;margin:.4em 0}.code{font:700 1.6em monospace}"
    "@media(prefers-color-scheme:dark){body{background:#111;color:#eee}section{background:#222}"
    "small,th{color:#aaa}}";

/* "12 s", "4 min", "3 h", "2 d" */
static void put_span(biff_out *o, uint32_t d)
{
    static const struct {
        uint32_t div;
        const char *unit;
    } u[] = {
        { 86400, " d" },
        { 3600, " h" },
        { 60, " min" },
        { 1, " s" },
    };
    size_t i = 0;
    while (i < 3 && d < u[i].div) i++;
    biff_out_u32(o, d / u[i].div);
    biff_out_str(o, u[i].unit);
}

/* An OAuth2 account's panel: the code to enter while waiting, the button when it needs the user. */
static void html_auth(biff_out *o, const biff_status_auth *au, size_t idx, uint32_t now, const char *csrf)
{
    biff_out_str(o, "<div class=\"auth\" data-auth=\"");
    biff_out_str(o, auth_name(au->state));
    biff_out_str(o, "\"><p>");
    FIELD(o, au->text, BIFF_OUT_HTML);
    biff_out_str(o, "</p>");
    if (au->state == BIFF_AUTH_WAITING) {
        biff_out_str(o, "<p>Open <a class=\"uri\" href=\"");
        FIELD(o, au->uri, BIFF_OUT_HTML);
        biff_out_str(o, "\">");
        FIELD(o, au->uri, BIFF_OUT_HTML);
        biff_out_str(o, "</a> and enter <span class=\"code\">");
        FIELD(o, au->code, BIFF_OUT_HTML);
        biff_out_str(o, "</span></p><p><small>the code expires ");
        if (au->code_expires > now) {
            biff_out_str(o, "in ");
            put_span(o, au->code_expires - now);
        } else {
            biff_out_str(o, "now");
        }
        biff_out_str(o, "</small></p>");
    }
    if (csrf && (au->state == BIFF_AUTH_NEEDED || au->state == BIFF_AUTH_WAITING)) {
        biff_out_str(o, "<form method=\"post\" action=\"/authorize\"><input type=\"hidden\" name=\"csrf\" value=\"");
        biff_out_text(o, csrf, 128, BIFF_OUT_HTML);
        biff_out_str(o, "\"><input type=\"hidden\" name=\"account\" value=\"");
        biff_out_u32(o, (uint32_t)idx);
        biff_out_str(o, au->state == BIFF_AUTH_NEEDED ? "\"><button type=\"submit\">Authorize again</button></form>"
                                                      : "\"><button type=\"submit\">New code</button></form>");
    }
    biff_out_str(o, "</div>");
}

static void html_account(biff_out *o, const biff_status_account *a, size_t idx, uint32_t now, const char *csrf)
{
    biff_out_str(o, "<section class=\"acct ");
    biff_out_str(o, state_name(a->state));
    biff_out_str(o, "\" data-account=\"");
    FIELD(o, a->name, BIFF_OUT_HTML);
    biff_out_str(o, "\"><h2>");
    FIELD(o, a->name, BIFF_OUT_HTML);
    biff_out_str(o, a->proto == BIFF_STATUS_POP3 ? " <small>pop3" : " <small>imap");
    if (a->tls[0]) {
        biff_out_str(o, " &middot; ");
        FIELD(o, a->tls, BIFF_OUT_HTML);
    }
    biff_out_str(o, "</small></h2><p><small><span class=\"state\">");
    biff_out_str(o, state_name(a->state));
    biff_out_str(o, "</span> &middot; ");
    if (!a->last_check) {
        biff_out_str(o, "not checked yet");
    } else {
        biff_out_str(o, "checked ");
        if (a->last_check >= now)
            biff_out_str(o, "just now");
        else {
            put_span(o, now - a->last_check);
            biff_out_str(o, " ago");
        }
    }
    if (a->next_check) {
        biff_out_str(o, " &middot; next ");
        if (a->next_check <= now)
            biff_out_str(o, "now");
        else {
            biff_out_str(o, "in ");
            put_span(o, a->next_check - now);
        }
    }
    biff_out_str(o, "</small></p>");
    if (a->auth) html_auth(o, a->auth, idx, now, csrf);
    if (a->err != BIFF_ERR_NONE) {
        biff_out_str(o, "<p class=\"err\"><b>");
        biff_out_str(o, biff_error_class_name((biff_error_class)a->err));
        biff_out_str(o, "</b>");
        if (a->detail[0]) {
            biff_out_str(o, ": ");
            FIELD(o, a->detail, BIFF_OUT_HTML);
        }
        biff_out_str(o, "</p>");
    }
    size_t nf = a->n_folders < BIFF_STATUS_MAX_FOLDERS ? a->n_folders : BIFF_STATUS_MAX_FOLDERS;
    if (nf) {
        biff_out_str(o, "<table><tr><th>Folder</th><th class=\"n\">Unread</th><th class=\"n\">New</th></tr>");
        for (size_t f = 0; f < nf; f++) {
            const biff_status_folder *fo = &a->folder[f];
            biff_out_str(o, "<tr><td class=\"folder\">");
            FIELD(o, fo->name, BIFF_OUT_HTML);
            biff_out_str(o, "</td><td class=\"n unseen\">");
            biff_out_u32(o, fo->unseen);
            biff_out_str(o, "</td><td class=\"n new\">");
            biff_out_u32(o, fo->fresh);
            biff_out_str(o, "</td></tr>");
        }
        biff_out_str(o, "</table>");
    }
    biff_out_str(o, "</section>");
}

biff_status_status biff_status_html(char *buf, size_t cap, size_t *len, const biff_status_account *accts, size_t n,
                                    uint32_t now, const char *problem, const biff_status_broker *mqtt,
                                    unsigned refresh_s, const char *csrf_token)
{
    if ((!buf && cap) || (!accts && n)) return BIFF_STATUS_E_ARG;
    biff_out o = { .buf = buf, .cap = cap };
    biff_led_summary all;
    biff_led_summarize(accts, n, NULL, 0, &all);
    biff_out_str(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    if (refresh_s) {
        biff_out_str(&o, "<meta http-equiv=\"refresh\" content=\"");
        biff_out_u32(&o, refresh_s);
        biff_out_str(&o, "\">");
    }
    biff_out_str(&o, "<title>");
    if (all.unseen) {
        biff_out_put(&o, "(", 1);
        biff_out_u32(&o, all.unseen);
        biff_out_str(&o, ") ");
    }
    biff_out_str(&o, "tinybiff</title><style>");
    biff_out_str(&o, css);
    biff_out_str(&o, "</style></head><body><h1>tinybiff</h1><p class=\"total\"><span id=\"unseen\">");
    biff_out_u32(&o, all.unseen);
    biff_out_str(&o, "</span> <small>unread</small> <span id=\"new\" class=\"new\">");
    biff_out_u32(&o, all.fresh);
    biff_out_str(&o, "</span> <small>new</small></p>");
    if (problem && *problem) {
        biff_out_str(&o, "<p class=\"err\" id=\"problem\">");
        biff_out_text(&o, problem, PROBLEM_MAX, BIFF_OUT_HTML);
        biff_out_str(&o, "</p>");
    }
    if (mqtt && mqtt->state != BIFF_BROKER_OFF) {
        biff_out_str(&o, mqtt->state == BIFF_BROKER_ERROR ? "<p class=\"err\" id=\"mqtt\">" : "<p id=\"mqtt\">");
        biff_out_str(&o, "Home Assistant (MQTT): ");
        biff_out_str(&o, biff_broker_state_name(mqtt->state));
        if (mqtt->detail[0]) {
            biff_out_str(&o, ": ");
            FIELD(&o, mqtt->detail, BIFF_OUT_HTML);
        }
        biff_out_str(&o, "</p>");
    }
    if (all.n_errors) {
        biff_out_str(&o, "<p class=\"err\">");
        biff_out_u32(&o, all.n_errors);
        biff_out_str(&o, all.n_errors == 1 ? " account has a problem</p>" : " accounts have a problem</p>");
    }
    if (csrf_token) {
        biff_out_str(&o, "<form method=\"post\" action=\"/ack\"><input type=\"hidden\" name=\"csrf\" value=\"");
        biff_out_text(&o, csrf_token, 128, BIFF_OUT_HTML);
        biff_out_str(&o, "\"><button type=\"submit\">Acknowledge</button></form>");
    }
    if (!n) biff_out_str(&o, "<p>No accounts configured.</p>");
    for (size_t i = 0; i < n; i++) html_account(&o, &accts[i], i, now, csrf_token);
    biff_out_str(&o, "</body></html>\n");
    return finish(&o, len);
}

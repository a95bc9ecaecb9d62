/* Sans-I/O HTTP/1.1 client: form POST writer and bounded response parser (see biff/http.h). */
#include "biff/http.h"

#include <string.h>

enum {
    S_STATUS,
    S_HEAD,
    S_BODY_LEN,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_DATA,
    S_CHUNK_CRLF,
    S_TRAILER,
    S_DONE,
    S_DEAD
};

#define F_LEN     0x01u /* Content-Length seen */
#define F_CHUNKED 0x02u /* Transfer-Encoding: chunked */
#define F_JSON    0x04u /* Content-Type is JSON */
#define F_LONG    0x08u /* the current line was longer than the line buffer */
#define F_CR      0x10u /* chunk CRLF: the CR is in */

/* ---------- request ---------- */

typedef struct {
    char *p;
    size_t len, cap;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (w->len + n < w->cap) memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void puts_(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void putu(wbuf *w, unsigned long v)
{
    char d[12];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, d + i, sizeof d - i);
}

/* application/x-www-form-urlencoded (WHATWG URL, as browsers send forms): unreserved bytes as
 * they are, space as '+', the rest %XX. */
static void put_form(wbuf *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '*') {
            put(w, (const char *)&c, 1);
        } else if (c == ' ') {
            put(w, "+", 1);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            put(w, e, 3);
        }
    }
}

static void put_body(wbuf *w, const biff_http_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) put(w, "&", 1);
        put_form(w, f[i].name);
        put(w, "=", 1);
        put_form(w, f[i].value);
    }
}

static int bad_token(const char *s)
{
    if (!s || !*s) return 1;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) return 1;
    return 0;
}

biff_http_status biff_http_post_form(char *out, size_t cap, size_t *len, const char *host, unsigned port,
                                     const char *path, const biff_http_field *fields, size_t n_fields)
{
    wbuf w = { out, 0, cap }, body;
    if (len) *len = 0;
    if (!out || bad_token(host) || bad_token(path) || path[0] != '/' || port > 65535 || (n_fields && !fields))
        return BIFF_HTTP_E_ARG;
    for (size_t i = 0; i < n_fields; i++)
        if (bad_token(fields[i].name) || !fields[i].value) return BIFF_HTTP_E_ARG;
    /* The body's length is needed first: measure it by writing into nothing. */
    body = (wbuf){ NULL, 0, 0 };
    put_body(&body, fields, n_fields);
    puts_(&w, "POST ");
    puts_(&w, path);
    puts_(&w, " HTTP/1.1\r\nHost: ");
    puts_(&w, host);
    if (port && port != 443) {
        put(&w, ":", 1);
        putu(&w, port);
    }
    puts_(&w, "\r\nUser-Agent: tinybiff\r\nAccept: application/json\r\nConnection: close\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
    putu(&w, (unsigned long)body.len);
    puts_(&w, "\r\n\r\n");
    put_body(&w, fields, n_fields);
    if (w.len >= cap) { /* one byte kept for the NUL */
        if (cap) memset(out, 0, cap);
        return BIFF_HTTP_E_SPACE;
    }
    out[w.len] = 0;
    if (len) *len = w.len;
    return BIFF_HTTP_OK;
}

/* ---------- response ---------- */

void biff_http_resp_init(biff_http_resp *r, uint8_t *body, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->body = body;
    r->body_cap = body ? cap : 0;
}

static int ci_prefix(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != p[i]) return 0;
    }
    return 1;
}

static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t')) (*n)--;
    return s;
}

static biff_http_status dead(biff_http_resp *r, biff_http_status s)
{
    r->state = S_DEAD;
    r->err = (uint8_t)s;
    return s;
}

static biff_http_status status_line(biff_http_resp *r, const char *l, size_t n)
{
    unsigned code = 0;
    if (n < 12 || memcmp(l, "HTTP/1.", 7) || (l[7] != '0' && l[7] != '1') || l[8] != ' ') return BIFF_HTTP_E_STATUS;
    for (int i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9') return BIFF_HTTP_E_STATUS;
        code = code * 10 + (unsigned)(l[i] - '0');
    }
    if (code < 100 || code > 599 || (n > 12 && l[12] != ' ')) return BIFF_HTTP_E_STATUS;
    r->status = (uint16_t)code;
    r->flags = 0; /* a 1xx response's fields do not carry over */
    r->content_length = 0;
    r->state = S_HEAD;
    return BIFF_HTTP_MORE;
}

static biff_http_status header_line(biff_http_resp *r, const char *l, size_t n, int truncated)
{
    const char *colon = memchr(l, ':', n), *v;
    size_t vn;
    if (!colon || colon == l || l[0] == ' ' || l[0] == '\t' || colon[-1] == ' ' || colon[-1] == '\t')
        return BIFF_HTTP_E_HEADER;
    vn = n - (size_t)(colon + 1 - l);
    v = trim(colon + 1, &vn);
    if (ci_prefix(l, n, "content-length:")) {
        uint32_t cl = 0;
        if (truncated || !vn) return BIFF_HTTP_E_HEADER;
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9' || cl > (UINT32_MAX - 9) / 10) return BIFF_HTTP_E_HEADER;
            cl = cl * 10 + (uint32_t)(v[i] - '0');
        }
        if ((r->flags & F_LEN) && cl != r->content_length) return BIFF_HTTP_E_HEADER;
        r->flags |= F_LEN;
        r->content_length = cl;
    } else if (ci_prefix(l, n, "transfer-encoding:")) {
        if (truncated || vn != 7 || !ci_prefix(v, vn, "chunked")) return BIFF_HTTP_E_HEADER;
        r->flags |= F_CHUNKED;
    } else if (ci_prefix(l, n, "content-type:")) {
        size_t k = 0;
        while (k < vn && v[k] != ';' && v[k] != ' ') k++;
        if ((k == 16 && ci_prefix(v, k, "application/json")) || (k > 5 && ci_prefix(v + k - 5, 5, "+json")))
            r->flags |= F_JSON;
    }
    return BIFF_HTTP_MORE;
}

/* The empty line after the fields: decide how the body is framed. */
static biff_http_status head_done(biff_http_resp *r)
{
    if (r->status < 200) {
        r->state = S_STATUS;
        return BIFF_HTTP_MORE;
    }
    if ((r->flags & F_LEN) && (r->flags & F_CHUNKED))
        return BIFF_HTTP_E_HEADER; /* ambiguous framing is how requests get smuggled */
    if (r->status == 204 || r->status == 304) {
        r->state = S_DONE;
    } else if (r->flags & F_CHUNKED) {
        r->state = S_CHUNK_SIZE;
    } else if (r->flags & F_LEN) {
        if (r->content_length > r->body_cap) return BIFF_HTTP_E_BODY_SIZE;
        r->state = r->content_length ? S_BODY_LEN : S_DONE;
    } else {
        r->state = S_BODY_CLOSE;
    }
    return r->state == S_DONE ? BIFF_HTTP_OK : BIFF_HTTP_MORE;
}

static biff_http_status chunk_size(biff_http_resp *r, const char *l, size_t n, int truncated)
{
    uint32_t v = 0;
    size_t i = 0;
    if (truncated) return BIFF_HTTP_E_CHUNK;
    for (; i < n; i++) {
        char c = l[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16) break;
        if (v > 0x0FFFFFFFu) return BIFF_HTTP_E_CHUNK;
        v = v * 16 + d;
    }
    if (!i || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t')) return BIFF_HTTP_E_CHUNK;
    if (v > r->body_cap - r->body_len) return BIFF_HTTP_E_BODY_SIZE;
    r->chunk_left = v;
    r->state = v ? S_CHUNK_DATA : S_TRAILER;
    return BIFF_HTTP_MORE;
}

/* A complete line (without its CRLF) in the state that collects lines. */
static biff_http_status on_line(biff_http_resp *r)
{
    size_t n = r->line_len;
    int truncated = (r->flags & F_LONG) != 0;
    r->flags &= (uint8_t)~F_LONG;
    r->line_len = 0;
    switch (r->state) {
    case S_STATUS: return status_line(r, r->line, n);
    case S_HEAD:
        if (!n && !truncated) return head_done(r);
        return header_line(r, r->line, n, truncated);
    case S_CHUNK_SIZE: return chunk_size(r, r->line, n, truncated);
    default: /* S_TRAILER: fields after the last chunk are read over */
        if (!n && !truncated) {
            r->state = S_DONE;
            return BIFF_HTTP_OK;
        }
        return memchr(r->line, ':', n) ? BIFF_HTTP_MORE : BIFF_HTTP_E_HEADER;
    }
}

biff_http_status biff_http_feed(biff_http_resp *r, const uint8_t *data, size_t len, size_t *used)
{
    size_t i = 0;
    biff_http_status st = BIFF_HTTP_MORE;
    if (used) *used = 0;
    if (r->state == S_DONE) return BIFF_HTTP_OK;
    if (r->state == S_DEAD) return (biff_http_status)r->err;
    while (i < len && st == BIFF_HTTP_MORE) {
        uint8_t c = data[i];
        size_t take;
        switch (r->state) {
        case S_BODY_LEN:
        case S_CHUNK_DATA:
        case S_BODY_CLOSE:
            take = len - i;
            if (r->state == S_BODY_LEN && take > r->content_length - r->body_len)
                take = r->content_length - r->body_len;
            if (r->state == S_CHUNK_DATA && take > r->chunk_left) take = r->chunk_left;
            if (take > r->body_cap - r->body_len) return dead(r, BIFF_HTTP_E_BODY_SIZE);
            memcpy(r->body + r->body_len, data + i, take);
            r->body_len += take;
            i += take;
            if (r->state == S_BODY_LEN && r->body_len == r->content_length) {
                r->state = S_DONE;
                st = BIFF_HTTP_OK;
            } else if (r->state == S_CHUNK_DATA && !(r->chunk_left -= (uint32_t)take)) {
                r->state = S_CHUNK_CRLF;
            }
            continue;
        case S_CHUNK_CRLF:
            i++;
            if (c == '\r' && !(r->flags & F_CR)) {
                r->flags |= F_CR;
            } else if (c == '\n') {
                r->flags &= (uint8_t)~F_CR;
                r->state = S_CHUNK_SIZE;
            } else {
                return dead(r, BIFF_HTTP_E_CHUNK);
            }
            continue;
        default: /* line states */
            i++;
            if (r->state != S_CHUNK_SIZE && ++r->head_bytes > BIFF_HTTP_HEAD_MAX) return dead(r, BIFF_HTTP_E_HEAD_SIZE);
            if (c == '\n') {
                if (r->line_len && r->line[r->line_len - 1] == '\r') r->line_len--;
                st = on_line(r);
            } else if (r->line_len < sizeof r->line) {
                r->line[r->line_len++] = (char)c;
            } else {
                if (r->state == S_CHUNK_SIZE) return dead(r, BIFF_HTTP_E_CHUNK);
                r->flags |= F_LONG;
            }
            continue;
        }
    }
    if (used) *used = i;
    if (st != BIFF_HTTP_MORE && st != BIFF_HTTP_OK) return dead(r, st);
    return st;
}

biff_http_status biff_http_eof(biff_http_resp *r)
{
    if (r->state == S_BODY_CLOSE || r->state == S_DONE) {
        r->state = S_DONE;
        return BIFF_HTTP_OK;
    }
    return dead(r, r->state == S_DEAD ? (biff_http_status)r->err : BIFF_HTTP_E_TRUNCATED);
}

int biff_http_is_json(const biff_http_resp *r)
{
    return (r->flags & F_JSON) != 0;
}

const char *biff_http_strerror(biff_http_status s)
{
    switch (s) {
    case BIFF_HTTP_OK: return "ok";
    case BIFF_HTTP_MORE: return "response incomplete";
    case BIFF_HTTP_E_ARG: return "bad argument";
    case BIFF_HTTP_E_SPACE: return "request too large";
    case BIFF_HTTP_E_STATUS: return "no HTTP status line";
    case BIFF_HTTP_E_HEADER: return "bad response header";
    case BIFF_HTTP_E_HEAD_SIZE: return "response header too large";
    case BIFF_HTTP_E_BODY_SIZE: return "response body too large";
    case BIFF_HTTP_E_CHUNK: return "bad chunked body";
    case BIFF_HTTP_E_TRUNCATED: return "response cut short";
    }
    return "unknown";
}

/* The bounded writer and UTF-8-safe escaping every renderer shares. */
#include "biff/out.h"

#include <string.h>

/* ---- bounded writer: counts everything, stores what fits ---- */

void biff_out_put(biff_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) o->sum = (o->sum ^ (unsigned char)s[i]) * 16777619u;
    size_t from = o->pos < o->skip ? o->skip - o->pos : 0; /* bytes of s before the window */
    if (from < n && o->pos + from - o->skip < o->cap) {
        size_t at = o->pos + from - o->skip, k = n - from;
        memcpy(o->buf + at, s + from, k < o->cap - at ? k : o->cap - at);
    }
    o->pos += n;
}

void biff_out_str(biff_out *o, const char *s)
{
    biff_out_put(o, s, strlen(s));
}

void biff_out_u32(biff_out *o, uint32_t v)
{
    char tmp[10];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    biff_out_put(o, tmp + i, sizeof tmp - i);
}

/* ---- text escaping over UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid (overlong, surrogate...). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07u;
    else
        return 0;
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
void biff_out_text(biff_out *o, const char *s, size_t max, biff_out_esc mode)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (n < max && s[n]) n++;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t l = utf8_len(u + i, n - i);
            if (l)
                biff_out_put(o, s + i, l);
            else if (mode == BIFF_OUT_PLAIN)
                biff_out_put(o, "?", 1);
            else
                biff_out_put(o, "\xef\xbf\xbd", 3); /* U+FFFD for each bad byte */
            i += l ? l : 1;
            continue;
        }
        i++;
        if (mode == BIFF_OUT_JSON) {
            if (c == '"')
                biff_out_str(o, "\\\"");
            else if (c == '\\')
                biff_out_str(o, "\\\\");
            else if (c == '\n')
                biff_out_str(o, "\\n");
            else if (c == '\r')
                biff_out_str(o, "\\r");
            else if (c == '\t')
                biff_out_str(o, "\\t");
            else if (c < 0x20) {
                char e[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
                biff_out_put(o, e, 6);
            } else
                biff_out_put(o, (const char *)&c, 1);
        } else if (c < 0x20 || c == 0x7f) {
            /* No terminal escapes or odd controls on a page or a console line. */
            if (mode == BIFF_OUT_PLAIN)
                biff_out_put(o, "?", 1);
            else
                biff_out_put(o, "\xef\xbf\xbd", 3);
        } else if (mode == BIFF_OUT_HTML) {
            if (c == '&')
                biff_out_str(o, "&amp;");
            else if (c == '<')
                biff_out_str(o, "&lt;");
            else if (c == '>')
                biff_out_str(o, "&gt;");
            else if (c == '"')
                biff_out_str(o, "&quot;");
            else if (c == '\'')
                biff_out_str(o, "&#39;");
            else
                biff_out_put(o, (const char *)&c, 1);
        } else {
            biff_out_put(o, (const char *)&c, 1);
        }
    }
}

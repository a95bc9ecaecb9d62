#include "mutf7.h"

#include <string.h>

#include "biff/imap.h"

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

void biff_mutf7_start(biff_mutf7 *m, const char *utf8)
{
    memset(m, 0, sizeof(*m));
    m->s = (const uint8_t *)utf8;
}

/* One code point; rejects overlong forms, surrogates and values past U+10FFFF. */
static int32_t utf8_get(const uint8_t **ps)
{
    const uint8_t *s = *ps;
    uint32_t c = *s++, min = 0;
    int n = 0;

    if (c >= 0x80) {
        if ((c & 0xE0) == 0xC0) {
            c &= 0x1F, n = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            c &= 0x0F, n = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            c &= 0x07, n = 3, min = 0x10000;
        } else {
            return -1;
        }
    }
    while (n--) {
        if ((*s & 0xC0) != 0x80) /* also stops at the NUL terminator */
            return -1;
        c = (c << 6) | (*s++ & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return -1;
    *ps = s;
    return (int32_t)c;
}

static void push(biff_mutf7 *m, char c)
{
    m->q[m->q_len++] = c;
}

static void flush(biff_mutf7 *m)
{
    if (m->nbits) push(m, b64chars[(m->bits << (6 - m->nbits)) & 63]);
    m->nbits = 0;
    m->bits = 0;
    m->b64 = 0;
    push(m, '-');
}

static void add16(biff_mutf7 *m, uint32_t u)
{
    m->bits = (m->bits << 16) | u;
    m->nbits += 16;
    while (m->nbits >= 6) {
        m->nbits -= 6;
        push(m, b64chars[(m->bits >> m->nbits) & 63]);
    }
    m->bits &= (1u << m->nbits) - 1;
}

int biff_mutf7_next(biff_mutf7 *m)
{
    if (m->q_pos < m->q_len) return (uint8_t)m->q[m->q_pos++];
    m->q_pos = m->q_len = 0;
    if (!*m->s) {
        if (!m->b64) return -1;
        flush(m);
    } else {
        int32_t c = utf8_get(&m->s);
        if (c < 0) return -2;
        if (c >= 0x20 && c < 0x7F) {
            if (m->b64) flush(m);
            push(m, (char)c);
            if (c == '&') push(m, '-');
        } else {
            if (!m->b64) {
                push(m, '&');
                m->b64 = 1;
            }
            if (c >= 0x10000) {
                c -= 0x10000;
                add16(m, 0xD800u | ((uint32_t)c >> 10));
                c = 0xDC00 | (c & 0x3FF);
            }
            add16(m, (uint32_t)c);
        }
    }
    return (uint8_t)m->q[m->q_pos++];
}

biff_imap_status biff_imap_mutf7_encode(const char *utf8, char *out, size_t cap, size_t *out_len)
{
    biff_mutf7 m;
    size_t n = 0;
    int c;

    if (!utf8 || !out || !cap) return BIFF_IMAP_E_ARG;
    biff_mutf7_start(&m, utf8);
    while ((c = biff_mutf7_next(&m)) >= 0) {
        if (n + 1 >= cap) {
            out[0] = 0;
            return BIFF_IMAP_E_ARG;
        }
        out[n++] = (char)c;
    }
    out[n] = 0;
    if (c == -2) {
        out[0] = 0;
        return BIFF_IMAP_E_ARG;
    }
    if (out_len) *out_len = n;
    return BIFF_IMAP_OK;
}

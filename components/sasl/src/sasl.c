/* SASL initial responses. The raw message (which holds the secret) is never stored: pieces
 * stream through a 3-byte base64 accumulator straight into the caller's buffer. */
#include "biff/sasl.h"

#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/platform_util.h"

typedef struct {
    char *out;
    size_t cap, len;
    unsigned char acc[3];
    unsigned nacc;
    int full;
} b64w;

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_flush(b64w *w)
{
    /* Keep room for the terminating NUL. */
    if (w->nacc == 0 || w->full) {
        return;
    }
    if (w->cap - w->len < 5) {
        w->full = 1;
        return;
    }
    unsigned v = ((unsigned)w->acc[0] << 16) | ((unsigned)w->acc[1] << 8) | w->acc[2];
    char *o = w->out + w->len;
    o[0] = b64_alpha[(v >> 18) & 63];
    o[1] = b64_alpha[(v >> 12) & 63];
    o[2] = w->nacc > 1 ? b64_alpha[(v >> 6) & 63] : '=';
    o[3] = w->nacc > 2 ? b64_alpha[v & 63] : '=';
    w->len += 4;
    w->nacc = 0;
    w->acc[0] = w->acc[1] = w->acc[2] = 0;
}

static void b64_put(b64w *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !w->full; i++) {
        w->acc[w->nacc++] = (unsigned char)s[i];
        if (w->nacc == 3) {
            b64_flush(w);
        }
    }
}

static void b64_str(b64w *w, const char *s)
{
    b64_put(w, s, strlen(s));
}

/* RFC 7628 / RFC 5801 saslname: ',' and '=' travel as =2C and =3D. */
static void b64_saslname(b64w *w, const char *s)
{
    for (; *s; s++) {
        if (*s == ',') {
            b64_str(w, "=2C");
        } else if (*s == '=') {
            b64_str(w, "=3D");
        } else {
            b64_put(w, s, 1);
        }
    }
}

/* Key/value fields of the OAuth mechanisms are ^A-separated; control bytes cannot appear. */
static int has_ctl(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) {
            return 1;
        }
    }
    return 0;
}

biff_sasl_status biff_sasl_initial_response(biff_sasl_mech mech, const char *user, const char *secret, const char *host,
                                            unsigned port, char *out, size_t cap, size_t *out_len)
{
    biff_sasl_status st = BIFF_SASL_OK;
    b64w w = { out, cap, 0, { 0, 0, 0 }, 0, 0 };

    if (out_len) {
        *out_len = 0;
    }
    if (!out || cap == 0) {
        return BIFF_SASL_E_SPACE;
    }
    out[0] = '\0';
    if (!user || !secret || !*user || !*secret) {
        return BIFF_SASL_E_ARG;
    }
    if (host && !*host) {
        host = NULL;
    }
    if (mech == BIFF_SASL_PLAIN) {
        /* authzid empty: NUL authcid NUL passwd. C strings cannot carry NUL, so nothing to reject. */
        b64_put(&w, "", 1);
        b64_str(&w, user);
        b64_put(&w, "", 1);
        b64_str(&w, secret);
    } else if (mech == BIFF_SASL_XOAUTH2 || mech == BIFF_SASL_OAUTHBEARER) {
        if (has_ctl(user) || has_ctl(secret) || (host && has_ctl(host)) || port > 65535u) {
            return BIFF_SASL_E_ARG;
        }
        if (mech == BIFF_SASL_XOAUTH2) {
            b64_str(&w, "user=");
            b64_str(&w, user);
        } else {
            b64_str(&w, "n,a=");
            b64_saslname(&w, user);
            b64_str(&w, ",");
            if (host) {
                b64_str(&w, "\x01"
                            "host=");
                b64_str(&w, host);
            }
            if (port) {
                char digits[6];
                unsigned i = sizeof digits;
                digits[--i] = '\0';
                do {
                    digits[--i] = (char)('0' + port % 10u);
                    port /= 10u;
                } while (port);
                b64_str(&w, "\x01"
                            "port=");
                b64_str(&w, digits + i);
            }
        }
        b64_str(&w, "\x01"
                    "auth=Bearer ");
        b64_str(&w, secret);
        b64_str(&w, "\x01\x01");
    } else {
        return BIFF_SASL_E_ARG;
    }
    b64_flush(&w);
    if (w.full) {
        st = BIFF_SASL_E_SPACE;
        mbedtls_platform_zeroize(out, cap);
        w.len = 0;
    }
    out[w.len] = '\0';
    mbedtls_platform_zeroize(w.acc, sizeof w.acc);
    if (out_len) {
        *out_len = w.len;
    }
    return st;
}

const char *biff_sasl_mech_name(biff_sasl_mech mech)
{
    switch (mech) {
    case BIFF_SASL_PLAIN: return "PLAIN";
    case BIFF_SASL_XOAUTH2: return "XOAUTH2";
    case BIFF_SASL_OAUTHBEARER: return "OAUTHBEARER";
    }
    return "";
}

int biff_sasl_mech_parse(const char *name, size_t len, biff_sasl_mech *out)
{
    for (unsigned m = 0; m < BIFF_SASL_MECH_COUNT; m++) {
        const char *n = biff_sasl_mech_name((biff_sasl_mech)m);
        size_t i = 0;
        for (; i < len && n[i]; i++) {
            char c = name[i];
            if (c >= 'a' && c <= 'z') {
                c = (char)(c - 'a' + 'A');
            }
            if (c != n[i]) {
                break;
            }
        }
        if (i == len && n[i] == '\0') {
            *out = (biff_sasl_mech)m;
            return 0;
        }
    }
    return -1;
}

unsigned biff_sasl_mech_mask(const char *list, size_t len)
{
    unsigned mask = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (list[i] == ' ' || list[i] == '\t')) {
            i++;
        }
        size_t start = i;
        while (i < len && list[i] != ' ' && list[i] != '\t') {
            i++;
        }
        biff_sasl_mech m;
        if (i > start && biff_sasl_mech_parse(list + start, i - start, &m) == 0) {
            mask |= BIFF_SASL_BIT(m);
        }
    }
    return mask;
}

int biff_sasl_oauth_token_refused(const char *challenge, size_t len)
{
    /* Dovecot and Google write the member without spaces: "status":"401". Anything else (no
     * report, another shape, a cut-off value) is read as no reason, i.e. the token. */
    static const char key[] = "\"status\":\"";
    const char *v;
    char r[128];
    if (biff_sasl_b64_decode(challenge, len, r, sizeof r, NULL) != BIFF_SASL_OK || !(v = strstr(r, key))) return 1;
    v += sizeof key - 1; /* r is NUL-terminated: the comparisons stop at its end */
    return !strncmp(v, "401\"", 4) || !strncmp(v, "invalid_token\"", 14) || !strchr(v, '"');
}

biff_sasl_status biff_sasl_b64_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    if (out_len) {
        *out_len = 0;
    }
    if (!out || cap == 0) {
        return BIFF_SASL_E_SPACE;
    }
    out[0] = '\0';
    int rc = mbedtls_base64_decode((unsigned char *)out, cap - 1, &n, (const unsigned char *)in, len);
    if (rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL) {
        return BIFF_SASL_E_SPACE;
    }
    if (rc != 0) {
        return BIFF_SASL_E_ARG;
    }
    out[n] = '\0';
    if (out_len) {
        *out_len = n;
    }
    return BIFF_SASL_OK;
}

/* ---------- does server text give the secret away? ---------- */

typedef struct {
    const unsigned char *s;
    size_t start; /* base64 cores: offset of the first whole 3-byte group of the secret */
} pattern;

static char raw_at(const pattern *p, size_t t)
{
    return (char)p->s[t];
}

/* t-th character of the base64 of the secret's bytes from p->start on, in whole groups: the
 * characters that stay the same whatever bytes come before or after the secret. */
static char core_at(const pattern *p, size_t t)
{
    const unsigned char *g = p->s + p->start + t / 4u * 3u;
    unsigned v = ((unsigned)g[0] << 16) | ((unsigned)g[1] << 8) | g[2];
    return b64_alpha[(v >> (18u - 6u * (t % 4u))) & 63u];
}

static int b64_same(char a, char b)
{
    if (a == '-')
        a = '+'; /* base64url */
    else if (a == '_')
        a = '/';
    return a == b;
}

/* Does text hold the n-character pattern, or its first min_end or more characters where the
 * text ends, or its first min_any or more anywhere? b64: compare as base64, with base64url's
 * two letters allowed. */
static int holds(const char *text, size_t len, char (*at)(const pattern *, size_t), const pattern *p, size_t n,
                 size_t min_end, size_t min_any, int b64)
{
    for (size_t i = 0; i < len; i++) {
        size_t t = 0;
        while (t < n && i + t < len && (b64 ? b64_same(text[i + t], at(p, t)) : text[i + t] == at(p, t))) t++;
        if (t == n || t >= min_any || (i + t == len && t >= min_end)) return 1;
    }
    return 0;
}

int biff_sasl_leaks_secret(const char *text, size_t len, const char *user, const char *secret)
{
    size_t sl = strlen(secret), n = 0;
    pattern p = { (const unsigned char *)secret, 0 };
    if (sl >= 3 && holds(text, len, raw_at, &p, sl, 3, sl, 0)) return 1;
    for (p.start = 0; p.start < 3; p.start++) {
        size_t groups = sl > p.start ? (sl - p.start) / 3u : 0;
        if (groups && holds(text, len, core_at, &p, groups * 4u, 4, 8, 1)) return 1;
    }
    /* From 5 bytes on every alignment has a core, so the cores cover every message that
     * carried the secret. A shorter one (a password: tokens are long) went out in PLAIN. */
    char ir[256];
    if (sl >= 5 ||
        biff_sasl_initial_response(BIFF_SASL_PLAIN, user, secret, NULL, 0, ir, sizeof ir, &n) != BIFF_SASL_OK)
        return 0;
    p.s = (const unsigned char *)ir;
    while (n && ir[n - 1] == '=') n--; /* padding may be dropped */
    int hit = holds(text, len, raw_at, &p, n, n, n, 1);
    mbedtls_platform_zeroize(ir, sizeof ir);
    return hit;
}

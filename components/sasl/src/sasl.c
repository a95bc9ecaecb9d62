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

biff_sasl_status biff_sasl_initial_response(biff_sasl_mech mech, const char *user, const char *secret,
                                            const char *host, unsigned port, char *out, size_t cap,
                                            size_t *out_len)
{
    biff_sasl_status st = BIFF_SASL_OK;
    b64w w = {out, cap, 0, {0, 0, 0}, 0, 0};

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
                b64_str(&w, "\x01" "host=");
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
                b64_str(&w, "\x01" "port=");
                b64_str(&w, digits + i);
            }
        }
        b64_str(&w, "\x01" "auth=Bearer ");
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
    case BIFF_SASL_PLAIN:
        return "PLAIN";
    case BIFF_SASL_XOAUTH2:
        return "XOAUTH2";
    case BIFF_SASL_OAUTHBEARER:
        return "OAUTHBEARER";
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
    if (biff_sasl_b64_decode(challenge, len, r, sizeof r, NULL) != BIFF_SASL_OK || !(v = strstr(r, key)))
        return 1;
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

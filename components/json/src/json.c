/* Bounded JSON reader (see biff/json.h): recursive descent, at most BIFF_JSON_DEPTH_MAX deep. */
#include "biff/json.h"

#include <string.h>

typedef struct {
    const char *p, *end, *start;
    biff_json_field *f;
    size_t n;
    const char *member;
} rd;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16) return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* A string at r->p ('"'): checked, and unescaped into out[cap] when out is given.
 * *n gets the unescaped length (counted even when out is NULL). */
static biff_json_status string(rd *r, char *out, size_t cap, size_t *n)
{
    size_t k = 0;
    r->p++;
    for (;;) {
        char b[4];
        size_t bn = 1;
        unsigned char c;
        if (r->p >= r->end) return BIFF_JSON_E_SYNTAX;
        c = (unsigned char)*r->p++;
        if (c == '"') break;
        if (c < 0x20) return BIFF_JSON_E_SYNTAX;
        b[0] = (char)c;
        if (c == '\\') {
            unsigned u, lo;
            if (r->p >= r->end) return BIFF_JSON_E_SYNTAX;
            c = (unsigned char)*r->p++;
            switch (c) {
            case '"':
            case '\\':
            case '/': b[0] = (char)c; break;
            case 'b': b[0] = '\b'; break;
            case 'f': b[0] = '\f'; break;
            case 'n': b[0] = '\n'; break;
            case 'r': b[0] = '\r'; break;
            case 't': b[0] = '\t'; break;
            case 'u':
                if (r->end - r->p < 4 || hex4(r->p, &u)) return BIFF_JSON_E_SYNTAX;
                r->p += 4;
                if (u >= 0xDC00 && u <= 0xDFFF) return BIFF_JSON_E_SYNTAX; /* lone low surrogate */
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return BIFF_JSON_E_SYNTAX;
                    r->p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (!u) return BIFF_JSON_E_SYNTAX; /* a NUL would cut the C string short */
                bn = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
                for (size_t i = bn - 1; i > 0; i--, u >>= 6) b[i] = (char)(0x80 | (u & 0x3F));
                b[0] = (char)(bn == 1 ? u : ((0xFF00u >> bn) & 0xFFu) | u);
                break;
            default: return BIFF_JSON_E_SYNTAX;
            }
        }
        if (out) {
            if (k + bn >= cap) return BIFF_JSON_E_TOO_LONG;
            memcpy(out + k, b, bn);
        }
        k += bn;
    }
    if (out) out[k] = 0;
    if (n) *n = k;
    return BIFF_JSON_OK;
}

/* A number at r->p: checked; *v gets its value when it is an integer 0..UINT32_MAX, else *ok=0. */
static biff_json_status number(rd *r, uint32_t *v, int *ok)
{
    const char *p = r->p;
    uint64_t x = 0;
    *ok = 1;
    if (p < r->end && *p == '-') {
        *ok = 0;
        p++;
    }
    if (p >= r->end || *p < '0' || *p > '9') return BIFF_JSON_E_SYNTAX;
    if (*p == '0' && p + 1 < r->end && p[1] >= '0' && p[1] <= '9') return BIFF_JSON_E_SYNTAX; /* no leading zeros */
    while (p < r->end && *p >= '0' && *p <= '9') {
        x = x * 10 + (uint64_t)(*p++ - '0');
        if (x > UINT32_MAX) {
            *ok = 0;
            x = UINT32_MAX;
        }
    }
    if (p < r->end && *p == '.') {
        *ok = 0;
        if (++p >= r->end || *p < '0' || *p > '9') return BIFF_JSON_E_SYNTAX;
        while (p < r->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        *ok = 0;
        if (++p < r->end && (*p == '+' || *p == '-')) p++;
        if (p >= r->end || *p < '0' || *p > '9') return BIFF_JSON_E_SYNTAX;
        while (p < r->end && *p >= '0' && *p <= '9') p++;
    }
    r->p = p;
    *v = (uint32_t)x;
    return BIFF_JSON_OK;
}

static int word(rd *r, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n)) return 0;
    r->p += n;
    return 1;
}

static biff_json_status value(rd *r, unsigned depth, biff_json_field *want);

/* An object or array at r->p; depth counts this one. Members of the top object are matched. */
static biff_json_status container(rd *r, unsigned depth)
{
    int obj = *r->p == '{';
    char close = obj ? '}' : ']';
    biff_json_status s;
    if (depth > BIFF_JSON_DEPTH_MAX) return BIFF_JSON_E_DEPTH;
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return BIFF_JSON_OK;
    }
    for (;;) {
        biff_json_field *want = NULL;
        ws(r);
        if (obj) {
            const char *key;
            size_t kn;
            if (r->p >= r->end || *r->p != '"') return BIFF_JSON_E_SYNTAX;
            key = r->p + 1;
            if ((s = string(r, NULL, 0, &kn)) != BIFF_JSON_OK) return s;
            /* Wanted names are plain ASCII: a key with escapes in it is none of them. */
            if (depth == 1 && (size_t)(r->p - 1 - key) == kn) {
                for (size_t i = 0; i < r->n; i++) {
                    if (strlen(r->f[i].name) == kn && !memcmp(r->f[i].name, key, kn)) {
                        want = &r->f[i];
                        r->member = want->name;
                        if (want->found) return BIFF_JSON_E_DUPLICATE;
                    }
                }
            }
            ws(r);
            if (r->p >= r->end || *r->p != ':') return BIFF_JSON_E_SYNTAX;
            r->p++;
            ws(r);
        }
        if ((s = value(r, depth, want)) != BIFF_JSON_OK) return s;
        r->member = NULL;
        ws(r);
        if (r->p >= r->end) return BIFF_JSON_E_SYNTAX;
        if (*r->p == close) {
            r->p++;
            return BIFF_JSON_OK;
        }
        if (*r->p++ != ',') return BIFF_JSON_E_SYNTAX;
    }
}

static biff_json_status value(rd *r, unsigned depth, biff_json_field *want)
{
    biff_json_status s;
    if (r->p >= r->end) return BIFF_JSON_E_SYNTAX;
    switch (*r->p) {
    case '{':
    case '[':
        if (want) return BIFF_JSON_E_TYPE;
        return container(r, depth + 1);
    case '"':
        if (want && want->type == BIFF_JSON_UINT) {
            const char *q = r->p + 1;
            uint64_t x = 0;
            size_t n;
            if ((s = string(r, NULL, 0, &n)) != BIFF_JSON_OK) return s;
            if (!n || n > 10 || (size_t)(r->p - 1 - q) != n) return BIFF_JSON_E_TYPE;
            for (size_t i = 0; i < n; i++) {
                if (q[i] < '0' || q[i] > '9') return BIFF_JSON_E_TYPE;
                x = x * 10 + (uint64_t)(q[i] - '0');
            }
            if (x > UINT32_MAX) return BIFF_JSON_E_TYPE;
            *want->num = (uint32_t)x;
            want->found = 1;
            return BIFF_JSON_OK;
        }
        if (want) want->found = 1; /* before the copy: a failed copy is wiped with the others */
        return string(r, want ? want->str : NULL, want ? want->cap : 0, NULL);
    case 't':
    case 'f':
        if (!word(r, "true") && !word(r, "false")) return BIFF_JSON_E_SYNTAX;
        return want ? BIFF_JSON_E_TYPE : BIFF_JSON_OK;
    case 'n':
        if (!word(r, "null")) return BIFF_JSON_E_SYNTAX;
        return BIFF_JSON_OK; /* null: as if absent */
    default: {
        uint32_t v;
        int ok;
        if ((s = number(r, &v, &ok)) != BIFF_JSON_OK) return s;
        if (want) {
            if (want->type != BIFF_JSON_UINT || !ok) return BIFF_JSON_E_TYPE;
            *want->num = v;
            want->found = 1;
        }
        return BIFF_JSON_OK;
    }
    }
}

biff_json_status biff_json_read(const char *in, size_t len, biff_json_field *fields, size_t n_fields, size_t *where,
                                const char **member)
{
    rd r = { in, in + len, in, fields, n_fields, NULL };
    biff_json_status s;
    if (where) *where = 0;
    if (member) *member = NULL;
    if ((!in && len) || (n_fields && !fields)) return BIFF_JSON_E_ARG;
    for (size_t i = 0; i < n_fields; i++) {
        biff_json_field *f = &fields[i];
        if (!f->name || (f->type == BIFF_JSON_STRING ? !f->str || !f->cap : !f->num)) return BIFF_JSON_E_ARG;
        f->found = 0;
    }
    ws(&r);
    if (r.p >= r.end)
        s = BIFF_JSON_E_SYNTAX;
    else if (*r.p != '{')
        s = (*r.p == '[' || *r.p == '"' || *r.p == 't' || *r.p == 'f' || *r.p == 'n' || *r.p == '-' ||
             (*r.p >= '0' && *r.p <= '9'))
                ? BIFF_JSON_E_NOT_OBJECT
                : BIFF_JSON_E_SYNTAX;
    else if ((s = container(&r, 1)) == BIFF_JSON_OK) {
        ws(&r);
        if (r.p != r.end) s = BIFF_JSON_E_SYNTAX;
    }
    if (s != BIFF_JSON_OK) {
        if (where) *where = (size_t)(r.p - r.start);
        if (member) *member = r.member;
        for (size_t i = 0; i < n_fields; i++) {
            if (fields[i].type == BIFF_JSON_STRING && fields[i].found)
                memset(fields[i].str, 0, fields[i].cap); /* may hold half a token */
            fields[i].found = 0;
        }
    }
    return s;
}

const char *biff_json_strerror(biff_json_status s)
{
    switch (s) {
    case BIFF_JSON_OK: return "ok";
    case BIFF_JSON_E_ARG: return "bad argument";
    case BIFF_JSON_E_SYNTAX: return "not valid JSON";
    case BIFF_JSON_E_NOT_OBJECT: return "JSON is not an object";
    case BIFF_JSON_E_DEPTH: return "JSON nested too deep";
    case BIFF_JSON_E_TOO_LONG: return "JSON string too long";
    case BIFF_JSON_E_TYPE: return "JSON member has the wrong type";
    case BIFF_JSON_E_DUPLICATE: return "JSON member appears twice";
    }
    return "unknown";
}

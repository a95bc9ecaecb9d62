/* Replays POP3 transcripts (the .txt files in tests/data: recorded from Dovecot, or hand-written for what
 * Dovecot will not do) through the engine whole, byte by byte, at every split point and in random
 * chunks, checking after every feed that the engine has sent exactly the client bytes the
 * transcript shows up to that point, and the final result. Format: data/README. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biff/pop3.h"

#ifndef POP3_DATA_DIR
#error "POP3_DATA_DIR must point at components/pop3/tests/data"
#endif

#define MAXB 16384
#define MAXC 64

typedef struct {
    char name[128];
    char user[128], secret[4096], host[64];
    biff_pop3_config cfg;
    size_t max_line; /* line buffer (0 = 512); the rest of workcap is the output buffer */
    size_t workcap;
    char server[MAXB];
    size_t slen;
    long tls_at;
    char client[MAXB];
    size_t clen;
    size_t cdue[MAXC], cend[MAXC]; /* C line i is due once the server stream reached cdue[i] */
    int ctls[MAXC];                /* ... and, if set, TLS has started */
    int ncl;
    int eof, nouidl;
    biff_pop3_status expect;
    long messages;
    int uidl;
    char uids[MAXB];
    char error[32];
    int oauth_refused; /* "@oauth_refused n": biff_pop3_oauth_refused() must say n (-1: unchecked) */
    char detail[256];
} transcript;

static size_t unescape(const char *s, char *out)
{
    size_t n = 0;
    while (*s && *s != '\n') {
        if (s[0] == '\\' && s[1] == '\\') {
            out[n++] = '\\';
            s += 2;
        } else if (s[0] == '\\' && s[1] == 'x') {
            char h[3] = { s[2], s[3], 0 };
            out[n++] = (char)strtoul(h, NULL, 16);
            s += 4;
        } else if (s[0] == '\\' && s[1] == 'R') { /* \R<count>:<char> repeats (long lines) */
            char *end;
            unsigned long k = strtoul(s + 2, &end, 10);
            while (k--) {
                out[n++] = end[1];
            }
            s = end + 2;
        } else {
            out[n++] = *s++;
        }
    }
    return n;
}

static void load(transcript *t, const char *path)
{
    FILE *f = fopen(path, "r");
    char ln[MAXB];
    assert_non_null(f);
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", strrchr(path, '/') + 1);
    t->tls_at = -1;
    t->workcap = 1024;
    t->expect = BIFF_POP3_EV_CLOSED;
    t->messages = -1;
    t->oauth_refused = -1;
    t->uidl = -1;
    t->cfg.user = t->user;
    t->cfg.secret = t->secret;
    t->cfg.security = BIFF_POP3_SEC_NONE;
    while (fgets(ln, sizeof ln, f)) {
        char *v = strchr(ln, ' ');
        v = v ? v + 1 : ln + strlen(ln);
        ln[strcspn(ln, "\n")] = '\0';
        if (ln[0] == '#' || ln[0] == '\0') {
            continue;
        } else if (!strncmp(ln, "S: ", 3) || !strncmp(ln, "S~ ", 3) || !strncmp(ln, "X: ", 3)) {
            t->slen += unescape(ln + 3, t->server + t->slen);
            if (ln[1] == ':') {
                memcpy(t->server + t->slen, "\r\n", 2);
                t->slen += 2;
            }
        } else if (!strncmp(ln, "L: ", 3)) { /* server line ending in a bare LF */
            t->slen += unescape(ln + 3, t->server + t->slen);
            t->server[t->slen++] = '\n';
        } else if (!strncmp(ln, "C: ", 3) || !strcmp(ln, "C:")) {
            assert_true(t->ncl < MAXC);
            t->cdue[t->ncl] = t->slen;
            t->ctls[t->ncl] = t->tls_at >= 0;
            t->clen += unescape(ln[2] ? ln + 3 : "", t->client + t->clen);
            memcpy(t->client + t->clen, "\r\n", 2);
            t->clen += 2;
            t->cend[t->ncl++] = t->clen;
        } else if (!strcmp(ln, "T:")) {
            t->tls_at = (long)t->slen;
        } else if (!strncmp(ln, "@user ", 6)) {
            snprintf(t->user, sizeof t->user, "%s", v);
        } else if (!strncmp(ln, "@secret ", 8)) {
            size_t k = unescape(v, t->secret);
            t->secret[k] = '\0';
        } else if (!strncmp(ln, "@host ", 6)) {
            snprintf(t->host, sizeof t->host, "%s", v);
            t->cfg.host = t->host;
        } else if (!strncmp(ln, "@port ", 6)) {
            t->cfg.port = (unsigned)atoi(v);
        } else if (!strncmp(ln, "@maxline ", 9)) {
            t->max_line = (size_t)atoi(v);
        } else if (!strncmp(ln, "@workcap ", 9)) {
            t->workcap = (size_t)atoi(v);
        } else if (!strcmp(ln, "@nouidl")) {
            t->nouidl = 1;
        } else if (!strcmp(ln, "@eof")) {
            t->eof = 1;
        } else if (!strncmp(ln, "@auth ", 6)) {
            static const char *const a[] = { "AUTO", "USER", "APOP", "PLAIN", "XOAUTH2", "OAUTHBEARER" };
            int found = 0;
            for (int i = 0; i < 6; i++) {
                if (!strcmp(v, a[i])) {
                    t->cfg.auth = (biff_pop3_auth)i;
                    found = 1;
                }
            }
            assert_true(found);
        } else if (!strncmp(ln, "@security ", 10)) {
            t->cfg.security = !strcmp(v, "TLS")        ? BIFF_POP3_SEC_TLS
                              : !strcmp(v, "STARTTLS") ? BIFF_POP3_SEC_STARTTLS
                                                       : BIFF_POP3_SEC_NONE;
        } else if (!strncmp(ln, "@expect ", 8)) {
            t->expect = !strcmp(v, "DONE") ? BIFF_POP3_EV_CLOSED : BIFF_POP3_E_FAILED;
        } else if (!strncmp(ln, "@messages ", 10)) {
            t->messages = atol(v);
        } else if (!strncmp(ln, "@uidl ", 6)) {
            t->uidl = atoi(v);
        } else if (!strncmp(ln, "@uid ", 5)) {
            size_t k = strlen(t->uids);
            k += unescape(v, t->uids + k);
            t->uids[k++] = '\n';
            t->uids[k] = '\0';
        } else if (!strncmp(ln, "@error ", 7)) {
            snprintf(t->error, sizeof t->error, "%s", v);
        } else if (!strncmp(ln, "@oauth_refused ", 15)) {
            t->oauth_refused = atoi(v);
        } else if (!strncmp(ln, "@detail ", 8)) {
            snprintf(t->detail, sizeof t->detail, "%s", v);
        } else {
            fail_msg("%s: bad transcript line '%s'", path, ln);
        }
    }
    fclose(f);
    assert_true(t->slen < MAXB && t->clen < MAXB);
}

typedef struct {
    char buf[MAXB];
    size_t len;
} uidsink;

static void on_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    uidsink *s = ctx;
    int k = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%lu ", (unsigned long)msgno);
    assert_true(k > 0 && (size_t)k + len + 2 < sizeof s->buf - s->len);
    s->len += (size_t)k;
    memcpy(s->buf + s->len, uid, len);
    s->len += len;
    s->buf[s->len++] = '\n';
    s->buf[s->len] = '\0';
}

static size_t due(const transcript *t, size_t pos, int tls)
{
    size_t c = 0;
    for (int i = 0; i < t->ncl && t->cdue[i] <= pos && (tls || !t->ctls[i]); i++) {
        c = t->cend[i];
    }
    return c;
}

static void drain(biff_pop3 *e, char *got, size_t *glen, int piecewise)
{
    const uint8_t *p;
    size_t n;
    while ((n = biff_pop3_output(e, &p)) > 0) {
        if (piecewise && n > 3) {
            n = 3; /* a transport that sends a few bytes at a time */
        }
        assert_true(*glen + n < MAXB);
        memcpy(got + *glen, p, n);
        *glen += n;
        biff_pop3_output_done(e, n);
    }
}

static unsigned rng_state;
static size_t rnd(size_t max)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return 1 + (rng_state >> 8) % max;
}

/* mode: 0 whole, 1 byte by byte, 2 split at `split`, 3 random chunks */
static void run(const transcript *t, int mode, size_t split)
{
    static char got[MAXB];
    size_t glen = 0, pos = 0;
    int tls = 0;
    uidsink sink = { { 0 }, 0 };
    biff_pop3_config cfg = t->cfg;
    biff_pop3 e;
    biff_pop3_status st = BIFF_POP3_OK;
    size_t line_cap = t->max_line ? t->max_line : 512, out_cap = t->workcap - line_cap;
    uint8_t *work = malloc(line_cap), *out = malloc(out_cap); /* exact sizes so ASan sees any overrun */

    assert_non_null(work);
    assert_non_null(out);
    cfg.on_uid = t->nouidl ? NULL : on_uid;
    cfg.uid_ctx = &sink;
    assert_int_equal(biff_pop3_init(&e, &cfg, work, line_cap, out, out_cap), BIFF_POP3_OK);
    drain(&e, got, &glen, 0);
    assert_int_equal(glen, 0);

    while (pos < t->slen) {
        size_t n = t->slen - pos, used = 0;
        if (mode == 1) {
            n = 1;
        } else if (mode == 2 && pos < split) {
            n = split - pos;
        } else if (mode == 3) {
            n = rnd(n < 24 ? n : 24);
        }
        if (t->tls_at >= 0 && pos < (size_t)t->tls_at && pos + n > (size_t)t->tls_at) {
            n = (size_t)t->tls_at - pos;
        }
        st = biff_pop3_feed(&e, (const uint8_t *)t->server + pos, n, &used);
        assert_true(used <= n);
        if (st == BIFF_POP3_OK || st == BIFF_POP3_EV_STARTTLS) {
            assert_int_equal(used, n);
        }
        pos += used;
        drain(&e, got, &glen, mode == 3);
        /* Exactly the due bytes; after ERROR the engine drops what it had not yet handed out. */
        if ((st == BIFF_POP3_E_FAILED ? glen > due(t, pos, tls) : glen != due(t, pos, tls)) ||
            memcmp(got, t->client, glen) != 0) {
            fail_msg("%s mode %d split %zu: at server offset %zu sent %zu bytes '%.*s', transcript says %zu", t->name,
                     mode, split, pos, glen, (int)glen, got, due(t, pos, tls));
        }
        if (st == BIFF_POP3_EV_STARTTLS) {
            assert_true(t->tls_at >= 0 && pos <= (size_t)t->tls_at);
            if (pos == (size_t)t->tls_at) {
                tls = 1;
                st = biff_pop3_tls_started(&e);
                assert_int_equal(st, BIFF_POP3_OK);
                drain(&e, got, &glen, 0);
                assert_int_equal(glen, due(t, pos, tls));
            }
        }
        if (st == BIFF_POP3_EV_CLOSED || st == BIFF_POP3_E_FAILED) {
            break;
        }
    }
    if (t->eof && st == BIFF_POP3_OK) {
        st = biff_pop3_eof(&e);
        drain(&e, got, &glen, 0);
    }
    const biff_pop3_result *r = biff_pop3_get_result(&e);
    if (st != t->expect) {
        fail_msg("%s mode %d split %zu: status %d, want %d (%s: %s)", t->name, mode, split, st, t->expect,
                 biff_error_class_name(r->error), r->detail);
    }
    if (st == BIFF_POP3_EV_CLOSED) {
        assert_int_equal(pos, t->slen);
        assert_int_equal(glen, t->clen);
        assert_int_equal(r->error, BIFF_ERR_NONE);
    }
    if (mode == 0 && getenv("POP3_VERBOSE")) {
        printf("%-36s %-6s %-24s %s\n", t->name, st == BIFF_POP3_EV_CLOSED ? "DONE" : "ERROR",
               biff_error_class_name(r->error), r->detail);
    }
    if (t->messages >= 0) {
        assert_int_equal(r->messages, t->messages);
        assert_int_equal(r->have_stat, 1);
    }
    if (t->uidl >= 0) {
        assert_int_equal(r->uidl, t->uidl);
    }
    if (st == BIFF_POP3_EV_CLOSED || t->uids[0]) {
        assert_string_equal(sink.buf, t->uids);
    }
    if (st == BIFF_POP3_EV_CLOSED) {
        uint32_t lines = 0;
        for (const char *p = t->uids; *p; p++) {
            lines += *p == '\n';
        }
        assert_int_equal(r->uids, lines);
    }
    if (t->oauth_refused >= 0) {
        assert_int_equal(biff_pop3_oauth_refused(&e), t->oauth_refused);
    }
    if (t->error[0]) {
        assert_string_equal(biff_error_class_name(r->error), t->error);
    }
    if (t->detail[0] && !strstr(r->detail, t->detail)) {
        fail_msg("%s: detail '%s' lacks '%s'", t->name, r->detail, t->detail);
    }
    for (const char *d = r->detail; *d; d++) {
        assert_true(*d >= 0x20 && *d < 0x7f);
    }
    assert_true(strlen(r->detail) < BIFF_POP3_DETAIL_MAX);
    if (strlen(t->secret) >= 4) {
        assert_null(strstr(r->detail, t->secret));
    }
    biff_pop3_clear(&e);
    for (size_t i = 0; i < line_cap; i++) {
        assert_int_equal(work[i], 0);
    }
    for (size_t i = 0; i < out_cap; i++) {
        assert_int_equal(out[i], 0);
    }
    free(work);
    free(out);
}

static void replay(void **state)
{
    const char *path = *state;
    static transcript t;
    load(&t, path);
    run(&t, 0, 0);
    run(&t, 1, 0);
    for (size_t k = 1; k < t.slen; k++) {
        run(&t, 2, k);
    }
    rng_state = 12345u;
    for (int i = 0; i < 50; i++) {
        run(&t, 3, 0);
    }
}

/* API contract outside the transcripts. */
static void api(void **state)
{
    (void)state;
    static uint8_t work[512], out[512];
    biff_pop3 e;
    biff_pop3_config cfg = { .user = "joe", .secret = "pw" };
    const uint8_t *p;
    size_t used = 9;

#define BUFS work, sizeof work, out, sizeof out
    assert_int_equal(biff_pop3_init(&e, NULL, BUFS), BIFF_POP3_E_ARG);
    assert_int_equal(biff_pop3_init(&e, &cfg, NULL, sizeof work, out, sizeof out), BIFF_POP3_E_ARG);
    assert_int_equal(biff_pop3_init(&e, &cfg, work, sizeof work, NULL, sizeof out), BIFF_POP3_E_ARG);
    assert_int_equal(biff_pop3_init(&e, &cfg, work, sizeof work, out, 63), BIFF_POP3_E_ARG); /* output area < 64 */
    assert_int_equal(biff_pop3_init(&e, &cfg, work, 70000, out, sizeof out), BIFF_POP3_E_ARG);
    assert_int_equal(biff_pop3_init(&e, &cfg, work, sizeof work, out, 70000), BIFF_POP3_E_ARG);
    assert_int_equal(biff_pop3_init(&e, &cfg, work, 8, out, sizeof out), BIFF_POP3_E_ARG); /* line bound < 16 */
    cfg.secret = "p\r\nDELE 1";
    assert_int_equal(biff_pop3_init(&e, &cfg, BUFS), BIFF_POP3_E_ARG);
    cfg.secret = "pw";
    cfg.user = "joe\n";
    assert_int_equal(biff_pop3_init(&e, &cfg, BUFS), BIFF_POP3_E_ARG);
    cfg.user = "joe";
    cfg.auth = (biff_pop3_auth)7;
    assert_int_equal(biff_pop3_init(&e, &cfg, BUFS), BIFF_POP3_E_ARG);
    cfg.auth = BIFF_POP3_AUTH_AUTO;
    cfg.security = (biff_pop3_security)3;
    assert_int_equal(biff_pop3_init(&e, &cfg, BUFS), BIFF_POP3_E_ARG);
    cfg.security = BIFF_POP3_SEC_NONE;
    assert_int_equal(biff_pop3_init(&e, &cfg, BUFS), BIFF_POP3_OK);
    assert_int_equal(biff_pop3_feed(&e, NULL, 1, &used), BIFF_POP3_E_ARG);
#undef BUFS
    assert_int_equal(used, 0);
    assert_int_equal(biff_pop3_tls_started(&e), BIFF_POP3_E_ARG); /* not after STLS */
    assert_int_equal(biff_pop3_feed(&e, (const uint8_t *)"+OK hi\r\n", 8, &used), BIFF_POP3_OK);
    assert_int_equal(used, 8);
    assert_int_equal(biff_pop3_output(&e, &p), 6);
    assert_memory_equal(p, "CAPA\r\n", 6);
    biff_pop3_output_done(&e, 2); /* partial send keeps the rest in order */
    assert_int_equal(biff_pop3_output(&e, &p), 4);
    assert_memory_equal(p, "PA\r\n", 4);
    biff_pop3_output_done(&e, 99); /* more than pending: clamps */
    assert_int_equal(biff_pop3_output(&e, &p), 0);
    /* Events stop consumption: DONE mid-buffer leaves the rest unconsumed. */
    assert_int_equal(biff_pop3_feed(&e, (const uint8_t *)"HELLO\r\nmore", 11, &used), BIFF_POP3_E_FAILED);
    assert_int_equal(used, 7);
    assert_int_equal(biff_pop3_feed(&e, (const uint8_t *)"x", 1, &used), BIFF_POP3_E_FAILED);
    assert_int_equal(used, 0);
    assert_int_equal(biff_pop3_eof(&e), BIFF_POP3_E_FAILED);
    assert_int_equal(biff_pop3_get_result(&e)->error, BIFF_ERR_PROTOCOL);
    {
        const char *d = NULL;
        assert_int_equal(biff_pop3_error(&e, &d), BIFF_ERR_PROTOCOL);
        assert_ptr_equal(d, biff_pop3_get_result(&e)->detail);
    }
    biff_pop3_clear(&e);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    static char *paths[256];
    static struct CMUnitTest tests[256];
    size_t n = 0;
    DIR *d = opendir(POP3_DATA_DIR);
    struct dirent *de;
    if (!d) {
        fprintf(stderr, "cannot open %s\n", POP3_DATA_DIR);
        return 1;
    }
    while ((de = readdir(d)) && n < 255) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".txt")) {
            paths[n] = malloc(sizeof POP3_DATA_DIR + l + 2);
            sprintf(paths[n], "%s/%s", POP3_DATA_DIR, de->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(paths, n, sizeof paths[0], cmp);
    tests[n].name = "api";
    tests[n].test_func = api;
    for (size_t i = 0; i < n; i++) {
        tests[i].name = strrchr(paths[i], '/') + 1;
        tests[i].test_func = replay;
        tests[i].initial_state = paths[i];
    }
    return _cmocka_run_group_tests("pop3", tests, n + 1, NULL, NULL);
}

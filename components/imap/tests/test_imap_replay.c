/* Replays every transcript in tests/data through the engine: whole, one byte at a time (with
 * output taken one byte at a time too), at every split point, and with a small output buffer.
 * Each run must produce exactly the recorded client bytes, events, results and error class.
 *
 * Transcript lines:  "@ key=value ..." config; "S: text" server line (+CRLF); "S= text" server
 * bytes without CRLF; "C: text" expected client line; "T:" TLS starts (server bytes after the
 * STARTTLS OK in the same segment are injected plaintext and must be dropped); "E: event
 * [action]"; "R: idx state messages unseen uidnext uidvalidity highestmodseq"; "X: class
 * [detail substring]"; "S* N c" N copies of byte c. Text uses \\ and \xHH escapes.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r, opendir */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "biff/imap.h"

#define MAX_SEG   4
#define MAX_BYTES 65536
#define MAX_EV    32

typedef struct {
    char name[128];
    char user[128], secret[512], host[32];
    int auth, security, idle;
    unsigned port;
    size_t out_cap, work_cap;
    char fbuf[512];
    const char *folders[BIFF_IMAP_MAX_FOLDERS];
    int nf;
    uint8_t seg[MAX_SEG][MAX_BYTES];
    size_t seg_len[MAX_SEG];
    int nseg;
    /* Server bytes after a client line cannot arrive before the client sent it: offsets where
     * such a "flight" starts bound every chunk. */
    size_t flight[MAX_SEG][64];
    int nflight[MAX_SEG];
    int last_c;
    uint8_t client[MAX_BYTES];
    size_t client_len;
    char ev[MAX_EV][16], act[MAX_EV][16];
    int nev;
    unsigned long long res[BIFF_IMAP_MAX_FOLDERS][7];
    int nres;
    char err[40], detail[128];
    int oauth_refused; /* "O: n": biff_imap_oauth_refused() must say n (-1: not checked) */
} script;

static script S;
static uint8_t got[MAX_BYTES];
static size_t got_len;

static size_t unescape(const char *in, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*in && n < cap) {
        if (in[0] == '\\' && in[1] == '\\') {
            out[n++] = '\\';
            in += 2;
        } else if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
            char h[3] = { in[2], in[3], 0 };
            out[n++] = (uint8_t)strtoul(h, NULL, 16);
            in += 4;
        } else {
            out[n++] = (uint8_t)*in++;
        }
    }
    return n;
}

static void append(uint8_t *buf, size_t *len, const uint8_t *s, size_t n)
{
    assert_true(*len + n <= MAX_BYTES);
    memcpy(buf + *len, s, n);
    *len += n;
}

static int parse_auth(const char *v)
{
    static const char *const names[] = { "auto", "plain", "login", "xoauth2", "oauthbearer" };
    for (int i = 0; i < 5; i++)
        if (!strcmp(v, names[i])) return i;
    fail_msg("auth %s", v);
    return 0;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    uint8_t tmp[4096];
    assert_non_null(f);
    memset(&S, 0, sizeof(S));
    S.oauth_refused = -1;
    snprintf(S.name, sizeof(S.name), "%.*s", (int)sizeof(S.name) - 1, path);
    S.out_cap = 1024;
    S.work_cap = 512;
    S.nseg = 1;
    strcpy(S.host, "localhost");
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line), n;
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        if (line[0] == '@') {
            char *fl = strstr(line, " folders="), *tok, *p, *sv;
            assert_non_null(fl);
            *fl = 0; /* folder names may hold spaces: the rest of the line */
            S.fbuf[unescape(fl + 9, (uint8_t *)S.fbuf, sizeof(S.fbuf) - 1)] = 0;
            for (p = strtok_r(S.fbuf, ",", &sv); p; p = strtok_r(NULL, ",", &sv)) S.folders[S.nf++] = p;
            tok = strtok(line + 1, " ");
            for (; tok; tok = strtok(NULL, " ")) {
                char *v = strchr(tok, '=');
                assert_non_null(v);
                *v++ = 0;
                if (!strcmp(tok, "user"))
                    S.user[unescape(v, (uint8_t *)S.user, sizeof(S.user) - 1)] = 0;
                else if (!strcmp(tok, "secret"))
                    S.secret[unescape(v, (uint8_t *)S.secret, sizeof(S.secret) - 1)] = 0;
                else if (!strcmp(tok, "auth"))
                    S.auth = parse_auth(v);
                else if (!strcmp(tok, "security"))
                    S.security = !strcmp(v, "tls") ? 0 : !strcmp(v, "starttls") ? 1 : 2;
                else if (!strcmp(tok, "idle"))
                    S.idle = atoi(v);
                else if (!strcmp(tok, "port"))
                    S.port = (unsigned)atoi(v);
                else if (!strcmp(tok, "out"))
                    S.out_cap = (size_t)atoi(v);
                else if (!strcmp(tok, "work"))
                    S.work_cap = (size_t)atoi(v);
                else
                    fail_msg("unknown key %s", tok);
            }
        } else if (!strncmp(line, "S: ", 3) || !strncmp(line, "S= ", 3) || !strcmp(line, "S:")) {
            if (S.last_c) {
                assert_true(S.nflight[S.nseg - 1] < 64);
                S.flight[S.nseg - 1][S.nflight[S.nseg - 1]++] = S.seg_len[S.nseg - 1];
                S.last_c = 0;
            }
            n = l > 3 ? unescape(line + 3, tmp, sizeof(tmp)) : 0;
            append(S.seg[S.nseg - 1], &S.seg_len[S.nseg - 1], tmp, n);
            if (line[1] == ':') append(S.seg[S.nseg - 1], &S.seg_len[S.nseg - 1], (const uint8_t *)"\r\n", 2);
        } else if (!strncmp(line, "S* ", 3)) { /* "S* N c": N copies of byte c */
            unsigned long cnt = strtoul(line + 3, NULL, 10);
            char *c = strchr(line + 3, ' ');
            assert_non_null(c);
            for (unsigned long i = 0; i < cnt; i++)
                append(S.seg[S.nseg - 1], &S.seg_len[S.nseg - 1], (const uint8_t *)c + 1, 1);
        } else if (!strncmp(line, "C: ", 3) || !strcmp(line, "C:")) {
            n = l > 3 ? unescape(line + 3, tmp, sizeof(tmp)) : 0;
            append(S.client, &S.client_len, tmp, n);
            append(S.client, &S.client_len, (const uint8_t *)"\r\n", 2);
            S.last_c = 1;
        } else if (!strcmp(line, "T:")) {
            S.last_c = 0;
            assert_true(S.nseg < MAX_SEG);
            S.nseg++;
        } else if (!strncmp(line, "E: ", 3)) {
            assert_true(S.nev < MAX_EV);
            sscanf(line + 3, "%15s %15s", S.ev[S.nev], S.act[S.nev]);
            S.nev++;
        } else if (!strncmp(line, "R: ", 3)) {
            unsigned long long *r = S.res[S.nres++];
            assert_int_equal(
                sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu", &r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]),
                7);
        } else if (!strncmp(line, "O: ", 3)) {
            S.oauth_refused = atoi(line + 3);
        } else if (!strncmp(line, "X: ", 3)) {
            char *sp;
            snprintf(S.err, sizeof(S.err), "%.*s", (int)sizeof(S.err) - 1, line + 3);
            if ((sp = strchr(S.err, ' ')) != NULL) {
                *sp = 0;
                snprintf(S.detail, sizeof(S.detail), "%s", strchr(line + 3, ' ') + 1);
            }
        }
    }
    fclose(f);
    assert_true(S.nf > 0);
}

static const char *ev_name(biff_imap_status r)
{
    switch (r) {
    case BIFF_IMAP_EV_STARTTLS: return "starttls";
    case BIFF_IMAP_EV_CHECKED: return "checked";
    case BIFF_IMAP_EV_CHANGED: return "changed";
    case BIFF_IMAP_EV_IDLING: return "idling";
    case BIFF_IMAP_EV_CLOSED: return "closed";
    case BIFF_IMAP_E_FAILED: return "failed";
    default: return "bad";
    }
}

/* The engine config the transcript's "@" line describes. */
static void script_config(biff_imap_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->user = S.user;
    cfg->secret = S.secret;
    cfg->host = S.host;
    cfg->port = S.port;
    cfg->folders = S.folders;
    cfg->n_folders = (uint8_t)S.nf;
    cfg->auth = (uint8_t)S.auth;
    cfg->security = (uint8_t)S.security;
    cfg->idle = (uint8_t)S.idle;
}

static void drain(biff_imap *e, int bytewise)
{
    const uint8_t *p;
    size_t n;
    while ((n = biff_imap_output(e, &p)) != 0) {
        if (bytewise) n = 1;
        assert_true(got_len + n <= MAX_BYTES);
        memcpy(got + got_len, p, n);
        got_len += n;
        biff_imap_output_done(e, n);
    }
}

/* chunk: 0 = whole segment, 1 = one byte at a time, else split the whole stream at offset
 * chunk-2 (an offset past a segment end leaves that segment whole). */
static void run(size_t chunk, size_t out_cap)
{
    static biff_imap e;
    static uint8_t work[65536], out[8192];
    biff_imap_config cfg;
    int evi = 0, stop = 0, bytewise = chunk == 1;
    size_t base = 0, split = chunk >= 2 ? chunk - 2 : 0;
    char msg[600];

    script_config(&cfg);
    got_len = 0;
    assert_int_equal(biff_imap_init(&e, &cfg, work, S.work_cap, out, out_cap), BIFF_IMAP_OK);

    for (int sg = 0; sg < S.nseg && !stop; sg++) {
        const uint8_t *d = S.seg[sg];
        size_t len = S.seg_len[sg], pos = 0;
        while (pos < len && !stop) {
            size_t end = len, used;
            biff_imap_status r;
            if (bytewise)
                end = pos + 1;
            else if (split > base + pos && split < base + len)
                end = split - base;
            for (int fl = 0; fl < S.nflight[sg]; fl++)
                if (S.flight[sg][fl] > pos && S.flight[sg][fl] < end) end = S.flight[sg][fl];
            r = biff_imap_feed(&e, d + pos, end - pos, &used);
            assert_true(used <= end - pos);
            pos += used;
            drain(&e, bytewise);
            if (r == BIFF_IMAP_OK) {
                snprintf(msg, sizeof(msg), "%s chunk %zu: not all consumed", S.name, chunk);
                if (pos != end) fail_msg("%s", msg);
                continue;
            }
            if (evi >= S.nev || strcmp(S.ev[evi], ev_name(r))) {
                const char *dt;
                biff_imap_error(&e, &dt);
                fail_msg("%s chunk %zu out %zu: event %s (%s) at offset %zu, expected %s", S.name, chunk, out_cap,
                         ev_name(r), dt, base + pos, evi < S.nev ? S.ev[evi] : "none");
            }
            if (!strcmp(S.act[evi], "recheck"))
                assert_int_equal(biff_imap_recheck(&e), BIFF_IMAP_OK);
            else if (!strcmp(S.act[evi], "logout"))
                assert_int_equal(biff_imap_logout(&e), BIFF_IMAP_OK);
            else if (!strcmp(S.act[evi], "noop"))
                assert_int_equal(biff_imap_noop(&e), BIFF_IMAP_OK);
            evi++;
            drain(&e, bytewise);
            if (r == BIFF_IMAP_EV_STARTTLS) {
                assert_int_equal(pos, end); /* everything after the OK was dropped */
                /* a later read before the handshake is dropped too */
                assert_int_equal(biff_imap_feed(&e, (const uint8_t *)"* OK x\r\n", 8, &used), BIFF_IMAP_EV_STARTTLS);
                assert_int_equal(used, 8);
                assert_int_equal(biff_imap_tls_started(&e), BIFF_IMAP_OK);
                drain(&e, bytewise);
                break;
            }
            if (r == BIFF_IMAP_E_FAILED || r == BIFF_IMAP_EV_CLOSED) stop = 1;
        }
        base += len;
    }
    if (evi != S.nev) fail_msg("%s chunk %zu: %d of %d events", S.name, chunk, evi, S.nev);
    if (got_len != S.client_len || memcmp(got, S.client, got_len)) {
        fprintf(stderr, "%s chunk %zu out %zu: client bytes differ\n--- got\n%.*s--- want\n%.*s", S.name, chunk,
                out_cap, (int)got_len, got, (int)S.client_len, S.client);
        fail();
    }
    for (int i = 0; i < S.nres; i++) {
        const biff_imap_folder_result *f = biff_imap_folder(&e, (size_t)S.res[i][0]);
        assert_non_null(f);
        assert_int_equal(f->state, S.res[i][1]);
        assert_int_equal(f->messages, S.res[i][2]);
        assert_int_equal(f->unseen, S.res[i][3]);
        assert_int_equal(f->uidnext, S.res[i][4]);
        assert_int_equal(f->uidvalidity, S.res[i][5]);
        assert_true(f->highestmodseq == S.res[i][6]);
    }
    {
        const char *detail;
        biff_error_class c = biff_imap_error(&e, &detail);
        if (strcmp(biff_error_class_name(c), S.err))
            fail_msg("%s: error %s (%s), expected %s", S.name, biff_error_class_name(c), detail, S.err);
        if (S.detail[0] && !strstr(detail, S.detail)) fail_msg("%s: detail '%s' lacks '%s'", S.name, detail, S.detail);
        if (S.oauth_refused >= 0 && biff_imap_oauth_refused(&e) != S.oauth_refused)
            fail_msg("%s: oauth_refused %d, expected %d", S.name, biff_imap_oauth_refused(&e), S.oauth_refused);
        if (strlen(S.secret) >= 3 && strstr(detail, S.secret)) fail_msg("%s: secret in detail", S.name);
        for (const char *p = detail; *p; p++) assert_true(*p >= 0x20 && *p < 0x7F);
    }
}

static unsigned long n_runs;

static void replay_file(const char *path)
{
    size_t total = 0;
    load(path);
    for (int i = 0; i < S.nseg; i++) total += S.seg_len[i];
    n_runs += 3 + total;
    run(0, S.out_cap);
    run(1, S.out_cap);
    run(0, 160); /* commands trickle out as the small buffer drains */
    /* every split point; long transcripts (huge literals) at a stride to stay O(n) */
    for (size_t k = 1; k<total; k += total> 8192 ? 97 : 1) run(k + 2, S.out_cap);
}

static void test_all_transcripts(void **state)
{
    DIR *d = opendir(IMAP_DATA_DIR);
    struct dirent *de;
    char path[1024];
    int n = 0;
    (void)state;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt")) continue;
        snprintf(path, sizeof(path), "%s/%s", IMAP_DATA_DIR, de->d_name);
        replay_file(path);
        n++;
    }
    closedir(d);
    print_message("replayed %d transcripts, about %lu runs\n", n, n_runs);
    assert_true(n >= 20);
}

/* data/lost/: real Cyrus dialogues recorded with the engine that pipelined STATUS and LOGOUT
 * behind AUTHENTICATE; Cyrus answered the AUTHENTICATE twice ("bA BAD Already authenticated"
 * or "* BAD Invalid tag") and lost the commands. Replayed up to Cyrus's tagged OK, the engine
 * must have sent nothing behind the authentication; after that OK (with the capability list
 * Cyrus gives only after login) the check goes out with HIGHESTMODSEQ. */
static void replay_lost(const char *path)
{
    static biff_imap e;
    static uint8_t work[1024], out[1024];
    static const char want[] = "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY "
                               "HIGHESTMODSEQ)\r\n";
    biff_imap_config cfg;
    const uint8_t *seg, *p;
    size_t len, ok_at = 0, pos = 0, used, n;

    load(path);
    seg = S.seg[0];
    len = S.seg_len[0];
    while (ok_at + 5 <= len && memcmp(seg + ok_at, "bA OK", 5))
        while (ok_at < len && seg[ok_at++] != '\n') {
        }
    assert_true(ok_at + 5 <= len);
    script_config(&cfg);
    assert_int_equal(biff_imap_init(&e, &cfg, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    got_len = 0;
    while (pos < ok_at) { /* one byte at a time: the engine answers each line as it completes */
        assert_int_equal(biff_imap_feed(&e, seg + pos, 1, &used), BIFF_IMAP_OK);
        pos += used;
        n = biff_imap_output(&e, &p);
        append(got, &got_len, p, n);
        biff_imap_output_done(&e, n);
    }
    got[got_len] = 0;
    if (strstr((const char *)got, "bS") || strstr((const char *)got, "bQ"))
        fail_msg("%s: commands pipelined behind AUTHENTICATE:\n%s", path, (const char *)got);
    while (seg[pos] != '\n') pos++;
    assert_int_equal(biff_imap_feed(&e, seg + ok_at, pos + 1 - ok_at, &used), BIFF_IMAP_OK);
    n = biff_imap_output(&e, &p);
    assert_true(n >= sizeof(want) - 1);
    assert_memory_equal(p, want, sizeof(want) - 1);
}

static void test_lost_behind_authenticate(void **state)
{
    static const char *const names[] = { "cyrus_pipelined_lost.txt", "cyrus_pipelined_lost_noir.txt" };
    char path[1024];
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/lost/%s", IMAP_DATA_DIR, names[i]);
        replay_lost(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_transcripts),
        cmocka_unit_test(test_lost_behind_authenticate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * OAuth2 for real, until the agent hosts it: the device authorization grant and token refresh
 * (components/oauth) over the project's own transport, TLS and HTTP client against glewlwyd,
 * and the access token used for IMAP (XOAUTH2 or OAUTHBEARER) and POP3 (the other one) checks
 * against Dovecot. Driven by test_oauth.py, which approves the code in Chromium.
 *
 * stdout, one event per line (never a token):
 *   CODE <user_code> <verification_uri>   the test approves this
 *   AUTHORIZED | REFRESHED <n> | COUNTS imap <messages> <unseen> | COUNTS pop3 <messages>
 *   REFUSED-EXPIRED <imap|pop3>            an expired token was refused, and said so
 *   FRESH-TOKEN-REFUSED <detail>           a token fresh from a refusal was refused too
 *   WAITING-REVOKE                         the test revokes, then writes a line to stdin
 *   NEEDS-AUTH <state text>                the lifecycle's verdict after the revocation
 *   FAIL <why>                             anything unexpected (exit status 1)
 * --probe (the hostile suite): run the flow against a broken server until its first failure:
 *   RESULT <state text> | <detail> | <elapsed> ms
 * --token-file gets each token this program held (mode 0600), so the test can prove that none
 * of them appears in any output or log.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "biff/check.h"
#include "biff/http.h"
#include "biff/net_posix.h"
#include "biff/oauth.h"
#include "biff/tls.h"

#define IO_TIMEOUT_MS 10000

static biff_tls_ctx tls_ctx;
static unsigned exchange_timeout = 10; /* seconds for a whole HTTPS exchange: a slow drip ends */
static const char *token_file;
static char access_buf[2048], refresh_buf[1024], req_buf[2048], body[4096];
static biff_check check;

static uint32_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_sec;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void die(const char *why, const char *detail)
{
    say("FAIL %s%s%s", why, detail && *detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void keep_token(const char *t)
{
    int fd;
    if (!token_file || !t || !*t) return;
    fd = open(token_file, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0 || write(fd, t, strlen(t)) < 0 || write(fd, "\n", 1) < 0) die("cannot write the token file", token_file);
    close(fd);
}

/* Connect and handshake; the caller closes both. */
static int open_tls(biff_net_posix *s, biff_transport *t, biff_tls *tls, const char *host, unsigned port, char *why,
                    size_t cap)
{
    biff_tls_status ts;
    if (biff_net_posix_connect(s, host, port, IO_TIMEOUT_MS, t) != BIFF_NET_OK) {
        snprintf(why, cap, "connect: %s", s->detail);
        return -1;
    }
    ts = biff_tls_start(tls, &tls_ctx, t, host, NULL, NULL);
    while (ts == BIFF_TLS_OK || ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) {
        ts = biff_tls_handshake(tls);
        if (ts == BIFF_TLS_OK) return 0;
        if ((ts == BIFF_TLS_WANT_READ || ts == BIFF_TLS_WANT_WRITE) &&
            biff_net_posix_wait(s, ts == BIFF_TLS_WANT_WRITE, IO_TIMEOUT_MS) != BIFF_NET_OK)
            break;
    }
    snprintf(why, cap, "TLS: %s", biff_tls_detail(tls));
    return -1;
}

/* One HTTPS exchange for the lifecycle: the request it wrote, its response handed back. */
static void exchange(biff_oauth *o, const biff_oauth_request *rq)
{
    biff_net_posix s;
    biff_transport t, *up;
    biff_tls tls;
    biff_http_resp r;
    biff_http_status hs = BIFF_HTTP_MORE;
    char why[160];
    size_t off = 0;
    uint32_t deadline = now_s() + exchange_timeout;
    int timed_out = 0;
    memset(&tls, 0, sizeof tls);
    if (open_tls(&s, &t, &tls, rq->host, rq->port, why, sizeof why)) {
        biff_tls_close(&tls);
        biff_net_posix_close(&s);
        biff_oauth_failed(o, now_s(), 0, why);
        return;
    }
    up = biff_tls_transport(&tls);
    while (off < rq->len) {
        int32_t n = up->send(up->ctx, (const uint8_t *)rq->data + off, rq->len - off);
        if (n < 0 || (n == 0 && biff_net_posix_wait(&s, 1, IO_TIMEOUT_MS) != BIFF_NET_OK)) break;
        off += (size_t)n;
    }
    biff_http_resp_init(&r, (uint8_t *)body, sizeof body);
    while (off == rq->len && hs == BIFF_HTTP_MORE && !timed_out) {
        uint8_t buf[512];
        int32_t n = up->recv(up->ctx, buf, sizeof buf);
        if (n > 0)
            hs = biff_http_feed(&r, buf, (size_t)n, NULL);
        else if (n < 0)
            hs = biff_http_eof(&r);
        else if ((int32_t)(now_s() - deadline) >= 0 || biff_net_posix_wait(&s, 0, 1000) == BIFF_NET_E_IO)
            timed_out = 1;
    }
    biff_tls_close(&tls);
    biff_net_posix_close(&s);
    if (hs == BIFF_HTTP_OK) {
        biff_oauth_response(o, now_s(), r.status, biff_http_is_json(&r), body, r.body_len);
    } else if (timed_out) {
        snprintf(why, sizeof why, "no complete response within %u s", exchange_timeout);
        biff_oauth_failed(o, now_s(), 1, why);
    } else {
        biff_oauth_failed(o, now_s(), off == rq->len, off < rq->len ? "send failed" : biff_http_strerror(hs));
    }
}

/* Drive the lifecycle until it is READY or STOPPED; prints the code once when it has one. */
static biff_oauth_action drive(biff_oauth *o, unsigned *refreshes, uint32_t give_up)
{
    static char shown[BIFF_OAUTH_USER_CODE_MAX];
    for (;;) {
        biff_oauth_request rq;
        uint16_t gen = biff_oauth_refresh_gen(o);
        biff_oauth_action a = biff_oauth_next(o, now_s(), &rq);
        uint8_t before = (uint8_t)biff_oauth_get_state(o); /* what the request is for */
        if (a == BIFF_OAUTH_SEND) {
            exchange(o, &rq);
        } else if (a == BIFF_OAUTH_READY || a == BIFF_OAUTH_STOPPED) {
            return a;
        } else {
            if ((int32_t)(now_s() - give_up) >= 0) die("gave up waiting", biff_oauth_state_text(o));
            sleep(1);
        }
        if (biff_oauth_get_state(o) == BIFF_OAUTH_WAITING_USER && strcmp(shown, biff_oauth_user_code(o))) {
            snprintf(shown, sizeof shown, "%s", biff_oauth_user_code(o));
            say("CODE %s %s", biff_oauth_user_code(o), biff_oauth_verification_uri(o));
        }
        if (biff_oauth_get_state(o) == BIFF_OAUTH_AUTHORIZED && before != BIFF_OAUTH_AUTHORIZED) {
            keep_token(biff_oauth_access_token(o, now_s()));
            if (before == BIFF_OAUTH_WAITING_USER)
                say("AUTHORIZED");
            else if (refreshes && before == BIFF_OAUTH_REFRESHING)
                say("REFRESHED %u", ++*refreshes);
        }
        if (biff_oauth_refresh_gen(o) != gen) keep_token(biff_oauth_refresh_token(o));
    }
}

typedef struct {
    const char *host, *user;
    unsigned port;
    uint8_t proto, auth;
} mailbox;

/* One check with token; 0 ok (counts printed), 1 the token was refused, -1 other failure. */
static int run_check(const mailbox *m, const char *token)
{
    static const char *const inbox[] = { "INBOX" };
    biff_check_account a = { .proto = m->proto,
                             .security = BIFF_CHECK_SEC_TLS,
                             .auth = m->auth,
                             .n_folders = 1,
                             .host = m->host,
                             .port = m->port,
                             .user = m->user,
                             .secret = token,
                             .folders = inbox };
    biff_net_posix s;
    biff_transport t;
    biff_tls tls;
    char why[160];
    const char *detail = "";
    biff_check_status st;
    int rc;
    memset(&tls, 0, sizeof tls);
    if (open_tls(&s, &t, &tls, m->host, m->port, why, sizeof why)) die("mail server", why);
    st = biff_check_start(&check, &a, biff_tls_transport(&tls));
    while (st != BIFF_CHECK_DONE && st != BIFF_CHECK_FAILED && st != BIFF_CHECK_E_ARG) {
        st = biff_check_step(&check);
        if ((st == BIFF_CHECK_WANT_READ || st == BIFF_CHECK_WANT_WRITE) &&
            biff_net_posix_wait(&s, st == BIFF_CHECK_WANT_WRITE, IO_TIMEOUT_MS) != BIFF_NET_OK) {
            biff_check_abort(&check, BIFF_ERR_NETWORK, "timeout");
            st = BIFF_CHECK_FAILED;
        }
    }
    if (st == BIFF_CHECK_DONE && m->proto == BIFF_CHECK_IMAP) {
        /* DONE without an answered STATUS (a BYE after login, a STATUS refused, as under load)
         * has no counts: printing its zeroes made "COUNTS imap 0 0" */
        const biff_imap_folder_result *f = biff_check_folder(&check, 0);
        if (biff_check_answered(&check) && f && f->state == BIFF_IMAP_FOLDER_OK) {
            say("COUNTS imap %lu %lu", (unsigned long)f->messages, (unsigned long)f->unseen);
            rc = 0;
        } else {
            say("CHECK-FAILED imap no STATUS answer: %s",
                *biff_check_folder_detail(&check) ? biff_check_folder_detail(&check) : "session ended before it");
            rc = -1;
        }
    } else if (st == BIFF_CHECK_DONE) {
        say("COUNTS pop3 %lu", (unsigned long)biff_check_pop3(&check)->messages);
        rc = 0;
    } else {
        rc = biff_check_oauth_refused(&check) ? 1 : -1;
        biff_check_error(&check, &detail);
        if (rc < 0) say("CHECK-FAILED %s %s", m->proto == BIFF_CHECK_IMAP ? "imap" : "pop3", detail);
    }
    biff_check_clear(&check);
    biff_tls_close(&tls);
    biff_net_posix_close(&s);
    return rc;
}

/* Check both mailboxes with the current token; a refusal refreshes once and tries again. */
static void check_both(biff_oauth *o, const mailbox *mb, unsigned *refreshes, uint32_t give_up)
{
    for (int i = 0; i < 2; i++) {
        int rc;
        if (drive(o, refreshes, give_up) != BIFF_OAUTH_READY) return;
        rc = run_check(&mb[i], biff_oauth_access_token(o, now_s()));
        if (rc == 1) {
            if (biff_oauth_token_refused(o, now_s()) != BIFF_OAUTH_OK) {
                /* the lifecycle's verdict: auth_failed for this round, no refresh loop */
                say("FRESH-TOKEN-REFUSED %s", biff_oauth_detail(o));
                return;
            }
            if (drive(o, refreshes, give_up) != BIFF_OAUTH_READY)
                return; /* the refresh was refused: needs authorization */
            rc = run_check(&mb[i], biff_oauth_access_token(o, now_s()));
        }
        if (rc) die("check failed", mb[i].proto == BIFF_CHECK_IMAP ? "imap" : "pop3");
    }
}

/* --probe: against a hostile server, run the flow until the first failure and report it. */
static int probe(biff_oauth *o)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    biff_oauth_authorize(o, now_s());
    for (int i = 0; i < 4; i++) {
        biff_oauth_request rq;
        biff_oauth_action a = biff_oauth_next(o, now_s(), &rq);
        if (a == BIFF_OAUTH_SEND)
            exchange(o, &rq);
        else if (a == BIFF_OAUTH_WAIT)
            sleep(1);
        else
            break;
        if (*biff_oauth_detail(o) || biff_oauth_get_state(o) == BIFF_OAUTH_AUTHORIZED) break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    say("RESULT %s | %s | %ld ms", biff_oauth_state_text(o), biff_oauth_detail(o),
        (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    return 0;
}

static int has(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

static const char *arg(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    fprintf(stderr, "oauth_flow: %s missing\n", name);
    exit(2);
}

int main(int argc, char **argv)
{
    static char secret[256], expired[sizeof access_buf];
    biff_oauth_config cfg = { arg(argc, argv, "--device-url"), arg(argc, argv, "--token-url"),
                              arg(argc, argv, "--client-id"), secret, arg(argc, argv, "--scope") };
    int is_probe = has(argc, argv, "--probe");
    FILE *f = fopen(arg(argc, argv, "--secret-file"), "r");
    biff_oauth o;
    uint32_t end;
    char line[16];

    if (has(argc, argv, "--exchange-timeout")) exchange_timeout = (unsigned)atoi(arg(argc, argv, "--exchange-timeout"));
    if (!is_probe) token_file = arg(argc, argv, "--token-file");
    if (!f || !fgets(secret, sizeof secret, f)) die("cannot read the client secret", NULL);
    fclose(f);
    secret[strcspn(secret, "\r\n")] = 0;
    if (biff_tls_ctx_init(&tls_ctx, arg(argc, argv, "--ca")) != BIFF_TLS_OK) die("CA", tls_ctx.detail);
    if (biff_oauth_init(&o, &cfg, access_buf, sizeof access_buf, refresh_buf, sizeof refresh_buf, req_buf,
                        sizeof req_buf, NULL, now_s()) != BIFF_OAUTH_OK)
        die("oauth settings", NULL);
    if (is_probe) return probe(&o);

    int xoauth2 = !strcmp(arg(argc, argv, "--imap-mech"), "xoauth2");
    mailbox mb[2] = {
        { "localhost", arg(argc, argv, "--user"), (unsigned)atoi(arg(argc, argv, "--imaps-port")), BIFF_CHECK_IMAP,
          xoauth2 ? BIFF_CHECK_AUTH_XOAUTH2 : BIFF_CHECK_AUTH_OAUTHBEARER },
        { "localhost", mb[0].user, (unsigned)atoi(arg(argc, argv, "--pop3s-port")), BIFF_CHECK_POP3,
          xoauth2 ? BIFF_CHECK_AUTH_OAUTHBEARER : BIFF_CHECK_AUTH_XOAUTH2 },
    };
    unsigned lifetime = (unsigned)atoi(arg(argc, argv, "--lifetime")), refreshes = 0;
    unsigned lifetimes = (unsigned)atoi(arg(argc, argv, "--lifetimes"));

    /* 1. The device flow: the test approves the code in the browser. */
    biff_oauth_authorize(&o, now_s());
    if (drive(&o, NULL, now_s() + 120) != BIFF_OAUTH_READY) die(biff_oauth_state_text(&o), biff_oauth_detail(&o));

    /* 2. Hold on to the first token past its lifetime, then use it: the server refuses it, the
     *    engine says a fresh token may help, one refresh later the check succeeds. */
    snprintf(expired, sizeof expired, "%s", biff_oauth_access_token(&o, now_s()));
    sleep(lifetime + 2);
    for (int i = 0; i < 2; i++) {
        if (run_check(&mb[i], expired) != 1) die("an expired token was not refused as one", NULL);
        say("REFUSED-EXPIRED %s", i ? "pop3" : "imap");
    }
    memset(expired, 0, sizeof expired);
    if (biff_oauth_token_refused(&o, now_s()) != BIFF_OAUTH_OK) die("token_refused", biff_oauth_detail(&o));

    /* 3. Counts, again and again, past several lifetimes: refreshes happen before expiry. */
    end = now_s() + lifetime * lifetimes;
    while ((int32_t)(now_s() - end) < 0) {
        check_both(&o, mb, &refreshes, now_s() + 60);
        sleep(1);
    }

    /* 4. The user revokes access: the next refresh turns the account to "needs authorization". */
    say("WAITING-REVOKE");
    if (!fgets(line, sizeof line, stdin)) die("no go-ahead on stdin", NULL);
    end = now_s() + 3 * lifetime;
    while (biff_oauth_get_state(&o) != BIFF_OAUTH_NEEDS_AUTH && (int32_t)(now_s() - end) < 0) {
        check_both(&o, mb, &refreshes, end);
        sleep(1);
    }
    if (biff_oauth_get_state(&o) != BIFF_OAUTH_NEEDS_AUTH)
        die("still not refused after the revocation", biff_oauth_state_text(&o));
    say("NEEDS-AUTH %s (%s)", biff_oauth_state_text(&o), biff_oauth_detail(&o));
    biff_oauth_clear(&o);
    biff_tls_ctx_free(&tls_ctx);
    return 0;
}

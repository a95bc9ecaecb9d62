/* Unit tests for what the transcripts cannot show: config checks, modified UTF-7 vectors,
 * the flights (AUTHENTICATE alone, then one), STARTTLS discard inside one read, buffer bounds, API misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/imap.h"

static biff_imap E;
static uint8_t work[512], out[1024];
static const char *folders3[] = { "INBOX", "Archive", "Entw\xc3\xbcrfe" };

static biff_imap_config cfg_tls(void)
{
    biff_imap_config c;
    memset(&c, 0, sizeof(c));
    c.user = "u";
    c.secret = "pw-secret";
    c.folders = folders3;
    c.n_folders = 3;
    c.security = BIFF_IMAP_SEC_TLS;
    return c;
}

static biff_imap_status feed_str(biff_imap *e, const char *s, size_t *used)
{
    return biff_imap_feed(e, (const uint8_t *)s, strlen(s), used);
}

/* Output as a NUL-terminated string, marked sent. */
static const char *take(biff_imap *e)
{
    static char buf[2048];
    const uint8_t *p;
    size_t n = biff_imap_output(e, &p);
    assert_true(n < sizeof(buf));
    memcpy(buf, p, n);
    buf[n] = 0;
    biff_imap_output_done(e, n);
    return buf;
}

static void test_mutf7_vectors(void **state)
{
    static const char *const v[][2] = {
        { "INBOX", "INBOX" },
        { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
        { "R&D", "R&-D" },
        { "&", "&-" },
        { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
        { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
          "~peter/mail/&U,BTFw-/&ZeVnLIqe-" }, /* RFC 3501 5.1.3 */
        { "\xf0\x9f\x98\x80", "&2D3eAA-" },    /* U+1F600 as a surrogate pair */
        { "a\xc3\xa9z", "a&AOk-z" },
        { "", "" },
    };
    char buf[64];
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(biff_imap_mutf7_encode(v[i][0], buf, sizeof(buf), &n), BIFF_IMAP_OK);
        assert_string_equal(buf, v[i][1]);
        assert_int_equal(n, strlen(v[i][1]));
    }
    /* invalid UTF-8: lone continuation, overlong, surrogate, truncated, past U+10FFFF */
    assert_int_equal(biff_imap_mutf7_encode("\x80", buf, sizeof(buf), &n), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_mutf7_encode("\xc0\xaf", buf, sizeof(buf), &n), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_mutf7_encode("\xed\xa0\x80", buf, sizeof(buf), &n), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_mutf7_encode("a\xe6\x97", buf, sizeof(buf), &n), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_mutf7_encode("\xf4\x90\x80\x80", buf, sizeof(buf), &n), BIFF_IMAP_E_ARG);
    /* too small: "Entw&APw-rfe" needs 13 bytes with the NUL */
    assert_int_equal(biff_imap_mutf7_encode("Entw\xc3\xbcrfe", buf, 12, &n), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_mutf7_encode("Entw\xc3\xbcrfe", buf, 13, &n), BIFF_IMAP_OK);
}

static void test_init_rejects_bad_config(void **state)
{
    biff_imap_config c = cfg_tls();
    const char *bad_utf8[] = { "IN\xffX" };
    const char *ctrl[] = { "IN\tBOX" };
    const char *empty[] = { "" };
    (void)state;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_init(NULL, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_init(&E, &c, work, 63, out, sizeof(out)), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, 63), BIFF_IMAP_E_ARG);
    c.n_folders = 0;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c.n_folders = BIFF_IMAP_MAX_FOLDERS + 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c = cfg_tls();
    c.n_folders = 1;
    c.folders = bad_utf8;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c.folders = ctrl;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c.folders = empty;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c = cfg_tls();
    c.secret = NULL;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
    c = cfg_tls();
    c.auth = 9;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_E_ARG);
}

/* AUTHENTICATE goes out alone (Cyrus loses what is pipelined behind it); after its tagged OK
 * the whole check is one flight, asking HIGHESTMODSEQ when the login's capabilities list
 * CONDSTORE although the greeting did not. */
static void test_auth_then_one_flight(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used;
    const uint8_t *p;
    (void)state;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_output(&E, &p), 0); /* client speaks after the greeting */
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA AUTHENTICATE PLAIN AHUAcHctc2VjcmV0\r\n");
    /* the sent bytes were wiped: they held the password */
    for (size_t i = 0; i < sizeof(out); i++) assert_int_equal(out[i], 0);
    assert_int_equal(feed_str(&E, "bA OK [CAPABILITY IMAP4rev1 CONDSTORE IDLE] in\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ)\r\n"
                                  "bS1 STATUS \"Archive\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ)\r\n"
                                  "bS2 STATUS \"Entw&APw-rfe\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY "
                                  "HIGHESTMODSEQ)\r\n"
                                  "bQ LOGOUT\r\n");
    assert_int_equal(feed_str(&E,
                              "* STATUS INBOX (MESSAGES 5 UNSEEN 2 UIDNEXT 6 UIDVALIDITY 7 "
                              "HIGHESTMODSEQ 12)\r\n"
                              "bS0 OK\r\n"
                              "* STATUS Archive (MESSAGES 0 UNSEEN 0 UIDNEXT 1 UIDVALIDITY 8)\r\n"
                              "bS1 OK\r\n"
                              "* STATUS Entw&APw-rfe (MESSAGES 1 UNSEEN 1 UIDNEXT 2 "
                              "UIDVALIDITY 9)\r\n"
                              "bS2 OK\r\n* BYE\r\nbQ OK\r\n",
                              &used),
                     BIFF_IMAP_EV_CHECKED);
    assert_int_equal(biff_imap_output(&E, &p), 0); /* nothing more to say */
    assert_int_equal(biff_imap_folder(&E, 0)->unseen, 2);
    assert_true(biff_imap_folder(&E, 0)->highestmodseq == 12);
    assert_int_equal(biff_imap_folder(&E, 1)->messages, 0); /* empty mailbox is fine */
    assert_int_equal(biff_imap_folder(&E, 1)->state, BIFF_IMAP_FOLDER_OK);
    assert_int_equal(biff_imap_folder(&E, 2)->uidvalidity, 9);
    assert_null(biff_imap_folder(&E, 3));
    assert_int_equal(biff_imap_error(&E, NULL), BIFF_ERR_NONE);
}

/* LOGIN keeps the one-flight check: servers (Cyrus included) read commands behind it. */
static void test_login_one_flight(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used;
    (void)state;
    c.auth = BIFF_IMAP_AUTH_LOGIN;
    c.n_folders = 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA LOGIN \"u\" \"pw-secret\"\r\n"
                                  "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n"
                                  "bQ LOGOUT\r\n");
}

/* IDLE offered only after login: without a capability list in the login's OK, a session that
 * stays open asks CAPABILITY in the check's flight and then idles. */
static void test_idle_found_after_login(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used;
    (void)state;
    c.n_folders = 1;
    c.idle = 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA AUTHENTICATE PLAIN AHUAcHctc2VjcmV0\r\n");
    assert_int_equal(feed_str(&E, "bA OK in\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bC CAPABILITY\r\n"
                                  "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n");
    assert_int_equal(feed_str(&E,
                              "* CAPABILITY IMAP4rev1 IDLE CONDSTORE\r\nbC OK\r\n"
                              "* STATUS INBOX (MESSAGES 1 UNSEEN 1 UIDNEXT 2 UIDVALIDITY 3)\r\n"
                              "bS0 OK\r\n",
                              &used),
                     BIFF_IMAP_EV_CHECKED);
    assert_string_equal(take(&E), "bX EXAMINE \"INBOX\"\r\n");
    assert_int_equal(feed_str(&E, "bX OK\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bI IDLE\r\n");
    assert_int_equal(feed_str(&E, "+ idling\r\n", &used), BIFF_IMAP_EV_IDLING);
    assert_int_equal(biff_imap_recheck(&E), BIFF_IMAP_OK); /* the daemon's renewal */
    assert_string_equal(take(&E), "DONE\r\nbS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT "
                                  "UIDVALIDITY HIGHESTMODSEQ)\r\n");
}

/* CVE-2021-22947: a response injected in the same read as the STARTTLS OK is never parsed. */
static void test_starttls_discards_same_read(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used;
    const char *inj = "bT OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nbC OK\r\n";
    (void)state;
    c.security = BIFF_IMAP_SEC_STARTTLS;
    c.n_folders = 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bT STARTTLS\r\n"); /* nothing else in clear */
    assert_int_equal(feed_str(&E, inj, &used), BIFF_IMAP_EV_STARTTLS);
    assert_int_equal(used, strlen(inj));
    assert_int_equal(biff_imap_recheck(&E), BIFF_IMAP_E_STATE);
    assert_int_equal(biff_imap_tls_started(&E), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_tls_started(&E), BIFF_IMAP_E_STATE);
    assert_string_equal(take(&E), "bC CAPABILITY\r\n"); /* nothing learnt before TLS is kept */
    assert_int_equal(feed_str(&E, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nbC OK\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA AUTHENTICATE PLAIN\r\n"); /* no SASL-IR after TLS */
}

/* Capabilities seen in plaintext are forgotten at the upgrade: a server that answers the
 * CAPABILITY after TLS without any fails the session; it does not log in on the old ones. */
static void test_starttls_forgets_plaintext_capabilities(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used;
    const char *d;
    (void)state;
    c.security = BIFF_IMAP_SEC_STARTTLS;
    c.n_folders = 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR] hi\r\n", &used),
                     BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bT STARTTLS\r\n");
    assert_int_equal(feed_str(&E, "bT OK go\r\n", &used), BIFF_IMAP_EV_STARTTLS);
    assert_int_equal(biff_imap_tls_started(&E), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bC CAPABILITY\r\n");
    assert_int_equal(feed_str(&E, "bC OK none today\r\n", &used), BIFF_IMAP_E_FAILED);
    assert_string_equal(take(&E), ""); /* no AUTHENTICATE on what plaintext said */
    assert_int_equal(biff_imap_error(&E, &d), BIFF_ERR_SERVER_ERROR);
}

/* With a small output buffer the STATUS commands go out one by one: a tagged reply for one
 * not yet sent is a protocol error, not a result. */
static void test_status_reply_before_its_command(void **state)
{
    biff_imap_config c = cfg_tls();
    uint8_t small[64];
    size_t used;
    const char *d;
    (void)state;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), small, sizeof small), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA AUTHENTICATE PLAIN AHUAcHctc2VjcmV0\r\n");
    assert_int_equal(feed_str(&E, "bA OK in\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n");
    /* bS1 is queued behind it now; bS2 is not */
    assert_int_equal(feed_str(&E,
                              "* STATUS Entw&APw-rfe (MESSAGES 1 UNSEEN 1 UIDNEXT 2 UIDVALIDITY 3)\r\n"
                              "bS2 OK\r\n",
                              &used),
                     BIFF_IMAP_E_FAILED);
    assert_int_equal(biff_imap_error(&E, &d), BIFF_ERR_PROTOCOL);
}

/* A command that cannot fit even an empty output buffer is a config error, never a write past
 * the end; commands that fit go out as the buffer drains. */
static void test_output_bounds(void **state)
{
    static char longtok[600];
    biff_imap_config c = cfg_tls();
    uint8_t small[64 + 16];
    size_t used;
    const char *d;
    (void)state;
    memset(longtok, 'T', sizeof(longtok) - 1);
    c.secret = longtok;
    c.auth = BIFF_IMAP_AUTH_XOAUTH2;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), small, 64), BIFF_IMAP_OK);
    small[64] = 0xA5;
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n", &used),
                     BIFF_IMAP_E_FAILED);
    assert_int_equal(small[64], 0xA5);
    assert_int_equal(biff_imap_error(&E, &d), BIFF_ERR_CONFIG);
    assert_null(strstr(d, "TTT"));
    /* sticky */
    assert_int_equal(feed_str(&E, "* OK\r\n", &used), BIFF_IMAP_E_FAILED);
    assert_int_equal(used, 0);

    c = cfg_tls();
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), small, 64), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bA AUTHENTICATE PLAIN AHUAcHctc2VjcmV0\r\n");
    assert_int_equal(feed_str(&E, "bA OK\r\n", &used), BIFF_IMAP_OK);
    assert_string_equal(take(&E), "bS0 STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n");
    assert_string_equal(take(&E), "bS1 STATUS \"Archive\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n");
}

/* A literal is kept in work only if it fits with the byte that marks it: one exactly as long
 * as the room left is copied up to the last byte of work, one byte longer is skipped. work sits
 * inside a bigger array here, so a write past its end hits a canary, not a sanitizer. */
static void test_literal_exact_fit(void **state)
{
    enum { CAP = 64, GUARD = 16 };
    static uint8_t guarded[CAP + GUARD];
    static const char *inbox[] = { "INBOX" };
    biff_imap_config c = cfg_tls();
    char line[160];
    size_t used;
    (void)state;
    c.folders = inbox;
    c.n_folders = 1;
    memset(guarded, 0xA5, sizeof guarded);
    assert_int_equal(biff_imap_init(&E, &c, guarded, CAP, out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", &used), BIFF_IMAP_OK);
    take(&E);
    assert_int_equal(feed_str(&E, "bA OK in\r\n", &used), BIFF_IMAP_OK);
    /* "* 1 FETCH (BODY[] {NN}" is 22 bytes: 42 are left, one for the marker, 41 for the data. */
    for (unsigned n = 40; n <= 43; n++) {
        char lit[64];
        memset(lit, 'x', n);
        lit[n] = 0;
        snprintf(line, sizeof line, "* 1 FETCH (BODY[] {%u}\r\n%s)\r\n", n, lit);
        assert_int_equal(feed_str(&E, line, &used), BIFF_IMAP_OK);
        assert_int_equal(used, strlen(line));
        for (size_t i = CAP; i < sizeof guarded; i++)
            assert_int_equal(guarded[i], 0xA5); /* nothing written past work */
    }
    assert_int_equal(feed_str(&E,
                              "* STATUS INBOX (MESSAGES 4 UNSEEN 1 UIDNEXT 9 UIDVALIDITY 3)\r\n"
                              "bS0 OK\r\n",
                              &used),
                     BIFF_IMAP_EV_CHECKED);
    assert_int_equal(biff_imap_folder(&E, 0)->uidnext, 9);
    for (size_t i = CAP; i < sizeof guarded; i++) assert_int_equal(guarded[i], 0xA5);
}

static void test_api_misuse(void **state)
{
    biff_imap_config c = cfg_tls();
    size_t used = 99;
    const uint8_t *p;
    (void)state;
    assert_int_equal(biff_imap_feed(&E, NULL, 0, NULL), BIFF_IMAP_E_ARG);
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_feed(&E, NULL, 5, &used), BIFF_IMAP_E_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(biff_imap_feed(&E, NULL, 0, &used), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_recheck(&E), BIFF_IMAP_E_STATE);
    assert_int_equal(biff_imap_noop(&E), BIFF_IMAP_E_STATE);
    assert_int_equal(biff_imap_logout(&E), BIFF_IMAP_E_STATE);
    assert_int_equal(biff_imap_tls_started(&E), BIFF_IMAP_E_STATE);
    assert_int_equal(biff_imap_idling(&E), 0);
    assert_int_equal(biff_imap_output(NULL, &p), 0);
    biff_imap_output_done(&E, 1000); /* more than queued: clamps */
    assert_int_equal(biff_imap_output(&E, &p), 0);
}

/* Footprint: the instance itself (buffers are the caller's). */
/* eof: complete once every folder answered (servers close before LOGOUT's OK), else a network
 * failure; clear wipes the engine and both buffers. */
static void test_eof_and_clear(void **state)
{
    biff_imap_config c = cfg_tls();
    const char *d;
    size_t used;
    (void)state;
    c.auth = BIFF_IMAP_AUTH_LOGIN;
    c.n_folders = 1;
    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1] hi\r\n", &used), BIFF_IMAP_OK);
    assert_int_equal(biff_imap_eof(&E), BIFF_IMAP_E_FAILED);
    assert_int_equal(biff_imap_error(&E, &d), BIFF_ERR_NETWORK);
    assert_string_equal(d, "connection closed by the server");
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0); /* the queued LOGIN (with the password) is gone */

    assert_int_equal(biff_imap_init(&E, &c, work, sizeof(work), out, sizeof(out)), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* OK [CAPABILITY IMAP4rev1] hi\r\n", &used), BIFF_IMAP_OK);
    (void)take(&E);
    assert_int_equal(feed_str(&E, "bA OK in\r\n", &used), BIFF_IMAP_OK);
    assert_int_equal(feed_str(&E, "* STATUS INBOX (MESSAGES 1 UNSEEN 1 UIDNEXT 2 UIDVALIDITY 3)\r\nbS0 OK\r\n", &used),
                     BIFF_IMAP_EV_CHECKED);
    assert_int_equal(biff_imap_eof(&E), BIFF_IMAP_EV_CLOSED);
    assert_int_equal(biff_imap_error(&E, NULL), BIFF_ERR_NONE);
    assert_int_equal(biff_imap_folder(&E, 0)->unseen, 1);
    biff_imap_clear(&E);
    for (size_t i = 0; i < sizeof(out); i++) assert_int_equal(out[i], 0);
    for (size_t i = 0; i < sizeof(work); i++) assert_int_equal(work[i], 0);
    assert_null(biff_imap_folder(&E, 0));
}

static void test_instance_size(void **state)
{
    (void)state;
    print_message("sizeof(biff_imap) = %zu\n", sizeof(biff_imap));
    assert_true(sizeof(biff_imap) <= 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutf7_vectors),
        cmocka_unit_test(test_init_rejects_bad_config),
        cmocka_unit_test(test_auth_then_one_flight),
        cmocka_unit_test(test_login_one_flight),
        cmocka_unit_test(test_idle_found_after_login),
        cmocka_unit_test(test_starttls_discards_same_read),
        cmocka_unit_test(test_starttls_forgets_plaintext_capabilities),
        cmocka_unit_test(test_status_reply_before_its_command),
        cmocka_unit_test(test_output_bounds),
        cmocka_unit_test(test_literal_exact_fit),
        cmocka_unit_test(test_api_misuse),
        cmocka_unit_test(test_eof_and_clear),
        cmocka_unit_test(test_instance_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * `tinybiff check [options] URL...`: check each account once, print one JSON object per folder.
 * The POSIX driver around biff_check: connect, (implicit) TLS, then step the check with poll()
 * until it is done, failed, or out of time.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd_check.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "biff/agent.h"
#include "biff/check.h"
#include "biff/tls.h"
#include "biff/url.h"
#include "json.h"
#include "link.h"
#include "state.h"
#include "mbedtls/base64.h"
#include "psa/crypto.h"

typedef struct {
    const char *ca;
    const char *password_file;
    int timeout_ms;
    int security_none;
    int security_starttls_only;
    uint8_t pin[32];
    int has_pin;
    link_kind net;
    int stats;
    int ack;
    const char *state;
    const char *folders[BIFF_IMAP_MAX_FOLDERS];
    int n_extra_folders;
} check_opts;

static biff_check check; /* ~5 KB: static rather than on the stack */
static cli_state state;
/* The agent decides unseen/new and keeps the sync state, as in the daemon and the notifier. */
static biff_agent agent;
static biff_agent_mailbox mailboxes[BIFF_SYNC_MAX_ACCOUNTS];
static biff_status_account model[BIFF_SYNC_MAX_ACCOUNTS];
static biff_sync_pop3_scan scan;

static uint32_t wall_time(void *ctx)
{
    (void)ctx;
    return (uint32_t)time(NULL);
}

static void on_event(void *ctx, const biff_agent_event *ev)
{
    (void)ctx;
    if (ev->kind == BIFF_AGENT_EV_PROBLEM && ev->text[0]) fprintf(stderr, "tinybiff: %s\n", ev->text);
}

static const biff_agent_port port = { .wall_time = wall_time, .event = on_event };

/* TLS sessions kept for resumption by a later check of the same server and user in this run
 * (the daemon keeps them across rounds). Small and fixed: the oldest slot is reused. */
typedef struct {
    char key[400];
    mbedtls_ssl_session session;
    int valid;
} session_slot;
static session_slot sessions[8];
static unsigned next_slot;

static session_slot *session_lookup(const biff_url *u, int create)
{
    char key[sizeof sessions[0].key];
    snprintf(key, sizeof key, "%s\n%u\n%s", u->host, u->port, u->user);
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        if (sessions[i].valid && strcmp(sessions[i].key, key) == 0) return &sessions[i];
    }
    if (!create) return NULL;
    session_slot *s = &sessions[next_slot++ % (sizeof sessions / sizeof sessions[0])];
    if (s->valid) mbedtls_ssl_session_free(&s->session);
    mbedtls_ssl_session_init(&s->session);
    memcpy(s->key, key, sizeof key);
    s->valid = 0;
    return s;
}

static void sessions_free(void)
{
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        if (sessions[i].valid) mbedtls_ssl_session_free(&sessions[i].session);
        sessions[i].valid = 0;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
    int64_t r = deadline - now_ms();
    return r > 0 ? (int)r : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tinybiff check [options] URL...\n"
            "  URL            imaps://user@host[:port]/FOLDER, imap://..., pop3s://user@host, pop3://...\n"
            "                 (;AUTH=PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|+APOP after the user picks the mechanism)\n"
            "  --ca FILE|DIR  trusted CA certificates (default: the system bundle)\n"
            "  --pin sha256/BASE64   also require this SHA-256 of the server's public key\n"
            "  --password-file FILE  password or OAuth2 token (first line); default: $TINYBIFF_PASSWORD\n"
            "  --folder NAME  check this IMAP folder too (repeatable)\n"
            "  --security none       allow plaintext imap:// and pop3:// (credentials in clear!)\n"
            "  --timeout SEC  give up on an account after SEC seconds (default 30)\n"
            "  --net lwip     use the in-process lwIP stack on a TAP interface (see README)\n"
            "  --stats        add the peak mbedTLS heap of each check (tls_heap_peak) to its JSON\n"
            "  --state FILE   keep sync state in FILE (a flash image): adds \"new\" (mail since the\n"
            "                 last acknowledged check; the first check sets the baseline)\n"
            "  --ack          acknowledge: what this check saw is no longer new next time\n"
            "Prints one JSON object per folder; exit status 0 when every check succeeded.\n");
}

static int parse_pin(const char *arg, uint8_t out[32])
{
    const char *b64 = NULL;
    if (strncmp(arg, "sha256//", 8) == 0) b64 = arg + 8; /* curl's spelling */
    else if (strncmp(arg, "sha256/", 7) == 0) b64 = arg + 7;
    if (!b64) return -1;
    size_t n = 0;
    if (mbedtls_base64_decode(out, 32, &n, (const unsigned char *)b64, strlen(b64)) != 0 || n != 32) return -1;
    return 0;
}

static int read_secret_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tinybiff: cannot read password file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fprintf(stderr, "tinybiff: warning: %s is readable by other users (chmod 600 it)\n", path);
    }
    if (!fgets(out, (int)cap, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0]) {
        fprintf(stderr, "tinybiff: password file %s is empty\n", path);
        return -1;
    }
    return 0;
}

static void print_failure(const char *account, const char *proto, biff_error_class err, const char *detail)
{
    json_line j;
    json_begin(&j, stdout);
    json_str(&j, "account", account);
    if (proto) json_str(&j, "protocol", proto);
    json_bool(&j, "ok", 0);
    json_str(&j, "error", biff_error_class_name(err));
    json_str(&j, "detail", detail);
    json_end(&j);
}

static biff_tls_status handshake(biff_tls *tls, tb_link *l, int64_t deadline)
{
    for (;;) {
        biff_tls_status st = biff_tls_handshake(tls);
        if (st != BIFF_TLS_WANT_READ && st != BIFF_TLS_WANT_WRITE) return st;
        if (link_wait(l, st == BIFF_TLS_WANT_WRITE, remaining(deadline)) != 0) {
            snprintf(tls->detail, sizeof tls->detail, "TLS handshake timed out");
            return BIFF_TLS_E_NET;
        }
    }
}

/* Each UIDL entry as it streams in: compared with the recorded set. */
static void on_uid(void *ctx, uint32_t msgno, const char *uid, size_t len)
{
    (void)msgno;
    biff_agent_pop3_uid(&agent, *(const unsigned *)ctx, uid, len);
}

static void print_tls(json_line *j, const biff_tls *tls, const check_opts *o)
{
    json_str(j, "tls", biff_tls_version(tls));
    json_bool(j, "tls_resumed", biff_tls_resumed(tls));
    if (o->stats && biff_tls_heap_counting()) json_u64(j, "tls_heap_peak", biff_tls_heap_peak());
}

static int check_one(const check_opts *o, unsigned slot, const char *text, const char *secret,
                     biff_tls_ctx *tls_ctx, int tls_ctx_ok)
{
    biff_url u;
    biff_url_status us = biff_url_parse(text, &u);
    if (us != BIFF_URL_OK) {
        print_failure(text, NULL, BIFF_ERR_CONFIG, biff_url_strerror(us));
        return -1;
    }
    const char *proto = u.proto == BIFF_URL_IMAP ? "imap" : "pop3";
    const char *folders[BIFF_IMAP_MAX_FOLDERS];
    uint8_t n_folders = 0;
    folders[n_folders++] = u.mailbox;
    for (int i = 0; i < o->n_extra_folders && n_folders < BIFF_IMAP_MAX_FOLDERS; i++) {
        folders[n_folders++] = o->folders[i];
    }
    biff_check_account acct = {
        .proto = u.proto == BIFF_URL_IMAP ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3,
        .security = u.implicit_tls ? BIFF_CHECK_SEC_TLS
                  : o->security_none ? BIFF_CHECK_SEC_NONE : BIFF_CHECK_SEC_STARTTLS,
        .host = u.host, .port = u.port, .user = u.user, .secret = secret,
        .folders = folders, .n_folders = n_folders,
    };
    uint32_t account_id = biff_agent_account_id(acct.proto == BIFF_CHECK_IMAP, u.user, u.host, u.port);
    biff_agent_account(&agent, slot, acct.proto, account_id, text, folders, n_folders);
    if (acct.proto == BIFF_CHECK_POP3) {
        acct.on_uid = on_uid;
        acct.uid_ctx = &slot;
        biff_agent_pop3_begin(&agent, slot, &scan);
    }
    if (biff_check_auth_from_name(u.auth, &acct.auth) != 0) {
        print_failure(text, proto, BIFF_ERR_CONFIG, "unknown ;AUTH= mechanism");
        return -1;
    }
    if (acct.security != BIFF_CHECK_SEC_NONE && !tls_ctx_ok) {
        print_failure(text, proto, BIFF_ERR_TLS, tls_ctx->detail);
        return -1;
    }

    int64_t deadline = now_ms() + o->timeout_ms;
    static tb_link l;
    biff_tls tls;
    int tls_used = 0;
    if (link_open(&l, o->net, u.host, u.port, remaining(deadline)) != BIFF_NET_OK) {
        print_failure(text, proto, BIFF_ERR_NETWORK, l.detail);
        link_close(&l);
        return -1;
    }
    biff_transport *plain = &l.transport, *conn = plain;
    const uint8_t *pin = o->has_pin ? o->pin : NULL;
    session_slot *cached = session_lookup(&u, 0);
    const mbedtls_ssl_session *resume = cached ? &cached->session : NULL;
    biff_tls_heap_reset_peak();
    biff_check_status st = BIFF_CHECK_OK;
    if (acct.security == BIFF_CHECK_SEC_TLS) {
        tls_used = 1;
        biff_tls_status ts = biff_tls_start(&tls, tls_ctx, plain, u.host, pin, resume);
        if (ts == BIFF_TLS_OK) ts = handshake(&tls, &l, deadline);
        if (ts != BIFF_TLS_OK) {
            print_failure(text, proto, ts == BIFF_TLS_E_NET ? BIFF_ERR_NETWORK : BIFF_ERR_TLS, biff_tls_detail(&tls));
            biff_tls_close(&tls);
            link_close(&l);
            return -1;
        }
        conn = biff_tls_transport(&tls);
    }
    st = biff_check_start(&check, &acct, conn);
    while (st != BIFF_CHECK_DONE && st != BIFF_CHECK_FAILED && st != BIFF_CHECK_E_ARG) {
        st = biff_check_step(&check);
        if (st == BIFF_CHECK_WANT_READ || st == BIFF_CHECK_WANT_WRITE) {
            if (link_wait(&l, st == BIFF_CHECK_WANT_WRITE, remaining(deadline)) != 0) {
                char d[96];
                snprintf(d, sizeof d, "no answer from the server within %d s", o->timeout_ms / 1000);
                biff_check_abort(&check, BIFF_ERR_NETWORK, d);
                st = BIFF_CHECK_FAILED;
            }
        } else if (st == BIFF_CHECK_NEED_TLS) {
            tls_used = 1;
            biff_tls_status ts = biff_tls_start(&tls, tls_ctx, plain, u.host, pin, resume);
            if (ts == BIFF_TLS_OK) ts = handshake(&tls, &l, deadline);
            if (ts != BIFF_TLS_OK) {
                biff_check_abort(&check, ts == BIFF_TLS_E_NET ? BIFF_ERR_NETWORK : BIFF_ERR_TLS, biff_tls_detail(&tls));
                st = BIFF_CHECK_FAILED;
            } else {
                st = biff_check_tls_started(&check, biff_tls_transport(&tls));
            }
        }
    }
    int rc = 0;
    const char *detail = "";
    biff_error_class err = biff_check_error(&check, &detail);
    if (st != BIFF_CHECK_DONE) {
        err = err == BIFF_ERR_NONE ? BIFF_ERR_PROTOCOL : err;
        print_failure(text, proto, err, detail);
        biff_agent_check_done(&agent, slot, err, detail);
        rc = -1;
    } else if (acct.proto == BIFF_CHECK_IMAP) {
        for (size_t i = 0; i < n_folders; i++) {
            const biff_imap_folder_result *f = biff_check_folder(&check, i);
            json_line j;
            json_begin(&j, stdout);
            json_str(&j, "account", text);
            json_str(&j, "protocol", proto);
            json_str(&j, "folder", folders[i]);
            if (!f || f->state != BIFF_IMAP_FOLDER_OK) {
                int no_data = f && f->state == BIFF_IMAP_FOLDER_NO_DATA;
                const char *why = biff_check_folder_detail(&check);
                json_bool(&j, "ok", 0);
                json_str(&j, "error", no_data ? "protocol" : "server_error");
                json_str(&j, "detail", no_data ? "STATUS answered OK without the folder's counts"
                                       : *why ? why : "STATUS refused (no such folder?)");
                rc = -1;
            } else {
                json_u64(&j, "messages", f->messages);
                json_u64(&j, "unseen", f->unseen);
                json_u64(&j, "uidnext", f->uidnext);
                json_u64(&j, "uidvalidity", f->uidvalidity);
                uint32_t fresh = biff_agent_imap_folder(&agent, slot, (unsigned)i, f);
                if (state.open) json_u64(&j, "new", fresh);
                if (f->have & BIFF_IMAP_HAVE_HIGHESTMODSEQ) json_u64(&j, "highestmodseq", f->highestmodseq);
                if (tls_used) print_tls(&j, &tls, o);
                json_bool(&j, "ok", 1);
            }
            json_end(&j);
        }
    } else {
        const biff_pop3_result *r = biff_check_pop3(&check);
        json_line j;
        json_begin(&j, stdout);
        json_str(&j, "account", text);
        json_str(&j, "protocol", proto);
        json_str(&j, "folder", "INBOX");
        json_u64(&j, "messages", r->messages);
        uint32_t fresh = biff_agent_pop3_end(&agent, slot, r->messages, r->uidl);
        json_u64(&j, "unseen", agent.model[slot].folder[0].unseen);
        if (state.open && r->uidl) json_u64(&j, "new", fresh);
        if (r->uidl) json_u64(&j, "uids", r->uids);
        if (tls_used) print_tls(&j, &tls, o);
        json_bool(&j, "ok", 1);
        json_end(&j);
    }
    if (st == BIFF_CHECK_DONE) {
        biff_agent_check_done(&agent, slot, BIFF_ERR_NONE, NULL);
        if (o->ack) biff_agent_acknowledge(&agent, slot);
    }
    biff_check_clear(&check);
    if (tls_used && rc == 0) {
        /* TLS 1.3 tickets arrive after the handshake; the check has read past them by now. */
        session_slot *saved = session_lookup(&u, 1);
        saved->valid = biff_tls_save_session(&tls, &saved->session) == 0;
        if (!saved->valid) mbedtls_ssl_session_free(&saved->session);
    }
    if (tls_used) biff_tls_close(&tls);
    link_close(&l);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    check_opts o = { .timeout_ms = 30000 };
    static const struct option longopts[] = {
        { "ca", required_argument, 0, 'c' },      { "pin", required_argument, 0, 'p' },
        { "password-file", required_argument, 0, 'w' }, { "folder", required_argument, 0, 'f' },
        { "security", required_argument, 0, 's' }, { "timeout", required_argument, 0, 't' },
        { "net", required_argument, 0, 'n' },      { "stats", no_argument, 0, 'S' },
        { "state", required_argument, 0, 'F' },    { "ack", no_argument, 0, 'A' },      { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.ca = optarg; break;
        case 'p':
            if (parse_pin(optarg, o.pin) != 0) {
                fprintf(stderr, "tinybiff: --pin wants sha256/BASE64 of the server's public key (32 bytes)\n");
                return 2;
            }
            o.has_pin = 1;
            break;
        case 'w': o.password_file = optarg; break;
        case 'f':
            if (o.n_extra_folders + 1 >= BIFF_IMAP_MAX_FOLDERS) {
                fprintf(stderr, "tinybiff: at most %d folders per account\n", BIFF_IMAP_MAX_FOLDERS);
                return 2;
            }
            o.folders[o.n_extra_folders++] = optarg;
            break;
        case 's':
            if (strcmp(optarg, "none") == 0) o.security_none = 1;
            else if (strcmp(optarg, "starttls") != 0) {
                fprintf(stderr, "tinybiff: --security is starttls (default for imap:// and pop3://) or none\n");
                return 2;
            }
            break;
        case 't': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 1 || s > 3600) {
                fprintf(stderr, "tinybiff: --timeout wants seconds (1-3600)\n");
                return 2;
            }
            o.timeout_ms = (int)s * 1000;
            break;
        }
        case 'n':
            if (strcmp(optarg, "lwip") == 0) {
#if !BIFF_WITH_LWIP
                fprintf(stderr, "tinybiff: this build has no lwIP (built with BIFF_WITH_LWIP=OFF)\n");
                return 2;
#endif
                o.net = LINK_LWIP;
            } else if (strcmp(optarg, "posix") == 0) o.net = LINK_POSIX;
            else {
                fprintf(stderr, "tinybiff: --net is posix (default) or lwip\n");
                return 2;
            }
            break;
        case 'S': o.stats = 1; break;
        case 'F': o.state = optarg; break;
        case 'A': o.ack = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    static char secret[4096];
    if (o.password_file) {
        if (read_secret_file(o.password_file, secret, sizeof secret) != 0) return 2;
    } else {
        const char *env = getenv("TINYBIFF_PASSWORD");
        if (!env || !*env) {
            fprintf(stderr, "tinybiff: no password: set TINYBIFF_PASSWORD or use --password-file\n");
            return 2;
        }
        snprintf(secret, sizeof secret, "%s", env);
    }
    static biff_tls_ctx tls_ctx;
    int tls_ok = biff_tls_ctx_init(&tls_ctx, o.ca) == BIFF_TLS_OK;
    if (o.ack && !o.state) {
        fprintf(stderr, "tinybiff: --ack needs --state FILE\n");
        return 2;
    }
    if (o.state) {
        static uint32_t ids[BIFF_SYNC_MAX_ACCOUNTS];
        unsigned n = (unsigned)(argc - optind);
        size_t need = 0;
        for (unsigned i = 0; i < n && i < BIFF_SYNC_MAX_ACCOUNTS; i++) {
            biff_url u;
            if (biff_url_parse(argv[optind + (int)i], &u) == BIFF_URL_OK) {
                ids[i] = biff_agent_account_id(u.proto == BIFF_URL_IMAP, u.user, u.host, u.port);
                need += state_bytes(u.proto == BIFF_URL_IMAP, 1u + (unsigned)o.n_extra_folders);
            }
        }
        if (state_open(&state, o.state, ids, n, need) == 0) {
            for (unsigned i = 0; i < n; i++) {
                if (state_fresh(&state, i)) {
                    fprintf(stderr, "tinybiff: state: no record yet for %s; this check sets its baseline\n",
                            argv[optind + (int)i]);
                }
            }
        }
    }
    unsigned n_accts = (unsigned)(argc - optind);
    if (n_accts > BIFF_SYNC_MAX_ACCOUNTS) {
        fprintf(stderr, "tinybiff: at most %u accounts per check\n", BIFF_SYNC_MAX_ACCOUNTS);
        return 2;
    }
    biff_agent_init(&agent, &port, state.open ? &state.st : NULL, mailboxes, model, n_accts, 0);
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        if (check_one(&o, (unsigned)(i - optind), argv[i], secret, &tls_ctx, tls_ok) != 0) failures++;
    }
    state_close(&state);
    sessions_free();
    biff_tls_ctx_free(&tls_ctx);
    mbedtls_psa_crypto_free();
    if (biff_tls_heap_current() != 0) {
        fprintf(stderr, "tinybiff: mbedTLS still holds %zu bytes after all checks\n", biff_tls_heap_current());
        return 3;
    }
    memset(secret, 0, sizeof secret);
    return failures ? 1 : 0;
}

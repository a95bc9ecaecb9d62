#include "provision.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/sync.h"
#include "biff/uci.h"
#include "biff/url.h"
#include "board.h"

static char *next_token(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return NULL;
    char *t = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (*p) *p++ = 0;
    *s = p;
    return t;
}

/* Copy s into the free tail of the text buffer (parsed URL parts outlive the parse). */
static const char *keep(prov *p, size_t *used, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*used + n > sizeof p->text) return NULL;
    char *d = p->text + sizeof p->text - *used - n;
    memcpy(d, s, n);
    *used += n;
    return d;
}

static int add_account(prov *p, char *url_text, size_t *tail, const char **why)
{
    biff_url u; /* ~900 bytes of stack, only while provisioning, before anything else runs */
    if (p->n_acct == PROV_MAX_ACCOUNTS) {
        *why = "too many accounts";
        return -1;
    }
    biff_url_status us = biff_url_parse(url_text, &u);
    if (us != BIFF_URL_OK) {
        *why = biff_url_strerror(us);
        return -1;
    }
    prov_account *a = &p->acct[p->n_acct];
    memset(a, 0, sizeof *a);
    a->acct.proto = u.proto == BIFF_URL_IMAP ? BIFF_CHECK_IMAP : BIFF_CHECK_POP3;
    /* On a gadget there is no "security none": plaintext URLs are upgraded with STARTTLS. */
    a->acct.security = u.implicit_tls ? BIFF_CHECK_SEC_TLS : BIFF_CHECK_SEC_STARTTLS;
    if (biff_check_auth_from_name(u.auth, &a->acct.auth) != 0) {
        *why = "unknown ;AUTH= mechanism";
        return -1;
    }
    a->acct.port = u.port;
    a->acct.host = keep(p, tail, u.host);
    a->acct.user = keep(p, tail, u.user);
    a->folder = u.proto == BIFF_URL_IMAP ? keep(p, tail, u.mailbox) : "INBOX";
    if (!a->acct.host || !a->acct.user || !a->folder) {
        *why = "provisioning text too long";
        return -1;
    }
    a->acct.folders = &a->folder;
    a->acct.n_folders = 1;
    a->id = biff_sync_id(url_text, strlen(url_text));
    p->n_acct++;
    return 0;
}

/* The words after an account's URL: SECRET [idle] for a password, [idle] for OAuth2. Which it
 * is shows only in the lines after it, so they are read when the account is complete. */
typedef struct {
    char *w1, *w2, *w3;
#if BIFF_FEATURE_OAUTH
    const char *provider;
#endif
} pending_words;

#if BIFF_FEATURE_OAUTH
/* The OAuth2 lines (the router's UCI option names) and where their values go. */
enum { K_AUTH, K_PROVIDER, K_URL, K_WORD, K_SCOPE };
static const struct {
    char name[15];
    uint8_t kind, off; /* off: the field of biff_oauth_config */
} oauth_keys[] = {
    { "auth", K_AUTH, 0 },
    { "oauth_provider", K_PROVIDER, 0 },
    { "token_url", K_URL, offsetof(biff_oauth_config, token_url) },
    { "device_url", K_URL, offsetof(biff_oauth_config, device_url) },
    { "client_id", K_WORD, offsetof(biff_oauth_config, client_id) },
    { "client_secret", K_WORD, offsetof(biff_oauth_config, client_secret) },
    { "scope", K_SCOPE, offsetof(biff_oauth_config, scope) },
};

/* An OAuth2 line of the account above it: 0 taken, -1 bad (*why), 1 not an OAuth2 key. */
static int oauth_line(prov *p, pending_words *pw, const char *key, char *v, int more, char *eol, const char **why)
{
    size_t k = 0;
    while (k < sizeof oauth_keys / sizeof *oauth_keys && strcmp(key, oauth_keys[k].name) != 0) k++;
    if (k == sizeof oauth_keys / sizeof *oauth_keys) return 1;
    if (!p->n_acct) {
        *why = "OAuth2 settings before any account line";
        return -1;
    }
    prov_account *a = &p->acct[p->n_acct - 1];
    const char **field = (const char **)((char *)&a->oauth + oauth_keys[k].off);
    const char *bad = NULL;
    switch (oauth_keys[k].kind) {
    case K_AUTH:
        if (!strcmp(v, "oauth2"))
            a->oauth2 = 1;
        else if (strcmp(v, "password") != 0)
            bad = "not password or oauth2";
        break;
    case K_PROVIDER: {
        biff_oauth_config probe = { 0 };
        if (biff_oauth_preset(v, &probe) != 0) bad = "not google, microsoft or custom";
        pw->provider = v;
        break;
    }
    case K_URL:
        if (!biff_oauth_url_ok(v)) bad = "not https://HOST[:PORT]/PATH";
        *field = v;
        break;
    case K_WORD:
        if (!biff_uci_word_ok(v) || more) bad = "one word of printable characters";
        *field = v;
        break;
    default: { /* scope: the rest of the line, its words joined by one space */
        char *w = v;
        for (char *q = v; q < eol; q++) {
            char ch = *q && *q != '\t' ? *q : ' ';
            if (ch != ' ' || w[-1] != ' ') *w++ = ch;
        }
        while (w[-1] == ' ') w--;
        *w = 0;
        *field = v;
    }
    }
    if (!bad && k && !a->oauth2) bad = "needs 'auth oauth2' above it";
    if (bad) {
        /* "KEY: what is wrong", at the end of the text buffer: nothing there is used after a
         * failure, and the lines (key among them) fill at most its first half */
        char *msg = p->text + sizeof p->text - 64;
        snprintf(msg, 64, "%s: %s", key, bad);
        *why = msg;
        return -1;
    }
    return 0;
}

static int oauth_finish(prov_account *a, const pending_words *pw, const char **why)
{
    biff_oauth_config *c = &a->oauth;
    if (a->acct.auth != BIFF_CHECK_AUTH_AUTO && a->acct.auth != BIFF_CHECK_AUTH_XOAUTH2 &&
        a->acct.auth != BIFF_CHECK_AUTH_OAUTHBEARER) {
        *why = "auth oauth2: the URL's ;AUTH= must be XOAUTH2 or OAUTHBEARER";
        return -1;
    }
    if (!pw->provider) {
        *why = "auth oauth2: oauth_provider is missing (google, microsoft or custom)";
        return -1;
    }
    if (!c->client_id) {
        *why = "auth oauth2: client_id is missing (the provider issues it)";
        return -1;
    }
    if (!strcmp(pw->provider, "custom")) {
        if (!c->token_url || !c->device_url || !c->scope) {
            *why = "oauth_provider custom: token_url, device_url and scope are all needed";
            return -1;
        }
        return 0;
    }
    /* A preset's endpoints are its provider's: a URL given too is a mix-up, not an override. */
    if (c->token_url || c->device_url) {
        *why = "token_url and device_url need oauth_provider custom";
        return -1;
    }
    const char *scope = c->scope;
    biff_oauth_preset(pw->provider, c);
    if (scope) c->scope = scope;
    return 0;
}
#endif

/* The account above is complete: its words after the URL mean what its auth says. */
static int finish_account(prov *p, pending_words *pw, const char **why)
{
    if (!p->n_acct) return 0;
    prov_account *a = &p->acct[p->n_acct - 1];
    char *idle = pw->w2;
#if BIFF_FEATURE_OAUTH
    if (a->oauth2) {
        if (pw->w2 || (pw->w1 && strcmp(pw->w1, "idle") != 0)) {
            *why = "account: an oauth2 account takes no secret, only 'idle' after its URL";
            return -1;
        }
        idle = pw->w1;
        if (oauth_finish(a, pw, why) != 0) return -1;
    } else
#endif
    {
        if (!pw->w1) {
            *why = "account without a secret";
            return -1;
        }
        if (pw->w2 && strcmp(pw->w2, "idle") != 0) {
            *why = "account: the only word after the secret can be 'idle'";
            return -1;
        }
        a->acct.secret = pw->w1; /* in place, in the line buffer */
    }
    if (pw->w3) {
        *why = "account: too many words";
        return -1;
    }
    /* IMAP IDLE where the server offers it: new mail shows at once */
    a->acct.idle = idle && a->acct.proto == BIFF_CHECK_IMAP;
    memset(pw, 0, sizeof *pw);
    return 0;
}

int prov_load(prov *p, const char *path, const char **why)
{
    memset(p, 0, sizeof *p);
    p->interval_s = BIFF_DEFAULT_INTERVAL_S;
    int fd = biff_board_sh_open(path, 0);
    if (fd < 0) {
        *why = "cannot open the provisioning file";
        return -1;
    }
    long len = biff_board_sh_flen(fd);
    /* The parsed host/user/folder copies grow down from the end of the same buffer. */
    if (len <= 0 || (size_t)len >= sizeof p->text / 2) {
        biff_board_sh_close(fd);
        *why = len <= 0 ? "empty provisioning file" : "provisioning file too large";
        return -1;
    }
    int n = biff_board_sh_read(fd, p->text, (uint32_t)len);
    biff_board_sh_close(fd);
    if (n != len) {
        *why = "cannot read the provisioning file";
        return -1;
    }
    p->text[n] = 0;
    size_t tail = sizeof p->text - (size_t)n - 1; /* bytes after the text still free ... */
    size_t used = 0;                              /* ... of which the copies took this much */
    char *line = p->text;
    pending_words pw = { 0 };
    while (line && *line) {
        char *end = strchr(line, '\n');
        if (end) *end++ = 0;
        char *cr = strchr(line, '\r');
        if (cr) *cr = 0;
        char *s = line;
#if BIFF_FEATURE_OAUTH
        char *eol = line + strlen(line); /* scope takes the rest of the line */
        int oauth;
#endif
        char *key = next_token(&s);
        if (key && *key != '#') {
            char *a1 = next_token(&s);
            char *a2 = next_token(&s);
            if (!a1) {
                *why = "directive without a value";
                return -1;
            }
            if (!strcmp(key, "time")) {
                p->time = strtoul(a1, NULL, 10);
            } else if (!strcmp(key, "ntp")) {
                unsigned long port = a2 ? strtoul(a2, NULL, 10) : 123;
                if (port == 0 || port > 65535) {
                    *why = "bad ntp port";
                    return -1;
                }
                p->ntp_host = a1;
                p->ntp_port = (uint16_t)port;
            } else if (!strcmp(key, "interval")) {
                /* Bounded, not clamped: the poller counts it in 32-bit milliseconds. */
                if (biff_uci_uint(a1, 5, BIFF_UCI_INTERVAL_MAX, &p->interval_s) != 0) {
                    *why = "interval: not a number of seconds from 5 to 86400";
                    return -1;
                }
            } else if (!strcmp(key, "ca")) {
                p->ca_path = a1;
            } else if (!strcmp(key, "host")) {
                if (!a2 || p->n_hosts == PROV_MAX_HOSTS) {
                    *why = "bad host line";
                    return -1;
                }
                p->host_name[p->n_hosts] = a1;
                p->host_addr[p->n_hosts++] = a2;
            } else if (!strcmp(key, "web_name")) {
                if (p->n_web_names == PROV_MAX_WEB_NAMES) {
                    *why = "more than 2 web_name lines";
                    return -1;
                }
                p->web_name[p->n_web_names++] = a1;
            } else if (!strcmp(key, "account")) {
                if (finish_account(p, &pw, why) != 0) return -1;
                pw.w1 = a2;
                pw.w2 = next_token(&s);
                pw.w3 = next_token(&s);
                if (add_account(p, a1, &used, why) != 0) return -1;
                if (used > tail) {
                    *why = "provisioning text too long";
                    return -1;
                }
            } else if (!strncmp(key, "mqtt_", 5)) {
                if (a2) {
                    *why = "mqtt_ directives take one value";
                    return -1;
                }
                if (prov_mqtt_directive(&p->mqtt, key + 5, a1, why) != 0) return -1;
#if BIFF_FEATURE_OAUTH
            } else if ((oauth = oauth_line(p, &pw, key, a1, a2 != NULL, eol, why)) <= 0) {
                if (oauth < 0) return -1; /* else an OAuth2 line, taken */
#endif
            } else {
                *why = "unknown directive";
                return -1;
            }
        }
        line = end;
    }
    if (finish_account(p, &pw, why) != 0) return -1;
    if (p->n_acct == 0) {
        *why = "no account";
        return -1;
    }
    if (!p->ca_path) {
        *why = "no ca";
        return -1;
    }
    return prov_mqtt_finish(&p->mqtt, why);
}

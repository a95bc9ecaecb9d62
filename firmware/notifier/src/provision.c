#include "provision.h"

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

static int add_account(prov *p, char *url_text, char *secret, size_t *tail, const char **why)
{
    biff_url u; /* ~900 bytes of stack, only while provisioning, before anything else runs */
    if (p->n_acct == PROV_MAX_ACCOUNTS) {
        *why = "too many accounts";
        return -1;
    }
    if (!secret) {
        *why = "account without a secret";
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
    a->acct.secret = secret; /* in place, in the line buffer */
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

int prov_load(prov *p, const char *path, const char **why)
{
    memset(p, 0, sizeof *p);
    p->interval_s = 300;
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
    while (line && *line) {
        char *end = strchr(line, '\n');
        if (end) *end++ = 0;
        char *cr = strchr(line, '\r');
        if (cr) *cr = 0;
        char *s = line;
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
                char *opt = next_token(&s);
                if (opt && strcmp(opt, "idle") != 0) {
                    *why = "account: the only word after the secret can be 'idle'";
                    return -1;
                }
                if (add_account(p, a1, a2, &used, why) != 0) return -1;
                /* IMAP IDLE where the server offers it: new mail shows at once */
                p->acct[p->n_acct - 1].acct.idle = opt && p->acct[p->n_acct - 1].acct.proto == BIFF_CHECK_IMAP;
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
            } else {
                *why = "unknown directive";
                return -1;
            }
        }
        line = end;
    }
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

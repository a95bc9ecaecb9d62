/* UCI config parser: see biff/uci.h for the syntax and the error policy. */
#include "biff/uci.h"

#include "biff/oauth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { SEC_NONE, SEC_MAIN, SEC_ACCOUNT, SEC_LED, SEC_MQTT, SEC_SKIP };

/* Keys a section accepts; the id picks the handler, the bit tracks "given twice". */
enum {
    K_INTERVAL,
    K_STATUS_BIND,
    K_STATUS_HOST,
    K_STATUS_JSON,
    K_STATE,
    K_CA,
    K_SECRETS,
    K_LOG,
    K_IDLE_RENEW,
    K_MAX_PARALLEL,
    K_CONTROL,
    K_URL,
    K_FOLDER,
    K_SECURITY,
    K_PIN,
    K_IDLE,
    K_ENABLED,
    K_SECRET_ENV,
    K_SYSFS,
    K_TERMINAL,
    K_ACCOUNT,
    K_USERNAME,
    K_CLIENT_ID,
    K_DISCOVERY_PREFIX,
    K_BASE_TOPIC,
    K_AUTH,
    K_OAUTH_PROVIDER,
    K_TOKEN_URL,
    K_DEVICE_URL,
    K_CLIENT_SECRET,
    K_SCOPE,
    K_COUNT /* at most 32: the "given twice" bits are a uint32_t */
};
_Static_assert(K_COUNT <= 32, "option ids must fit parser.seen");

typedef struct {
    const char *key;
    uint8_t sec;
    uint8_t is_list;
    uint8_t id;
} key_def;

static const key_def keys[] = {
    { "interval", SEC_MAIN, 0, K_INTERVAL },
    { "status_bind", SEC_MAIN, 0, K_STATUS_BIND },
    { "status_json", SEC_MAIN, 0, K_STATUS_JSON },
    { "ca", SEC_MAIN, 0, K_CA },
    { "secrets", SEC_MAIN, 0, K_SECRETS },
    { "state", SEC_MAIN, 0, K_STATE },
    { "log", SEC_MAIN, 0, K_LOG },
    { "idle_renew", SEC_MAIN, 0, K_IDLE_RENEW },
    { "max_parallel", SEC_MAIN, 0, K_MAX_PARALLEL },
    { "status_host", SEC_MAIN, 1, K_STATUS_HOST },
    { "control", SEC_MAIN, 0, K_CONTROL },
    { "url", SEC_ACCOUNT, 0, K_URL },
    { "folder", SEC_ACCOUNT, 1, K_FOLDER },
    { "interval", SEC_ACCOUNT, 0, K_INTERVAL },
    { "security", SEC_ACCOUNT, 0, K_SECURITY },
    { "ca", SEC_ACCOUNT, 0, K_CA },
    { "pin", SEC_ACCOUNT, 0, K_PIN },
    { "idle", SEC_ACCOUNT, 0, K_IDLE },
    { "enabled", SEC_ACCOUNT, 0, K_ENABLED },
    { "secret_env", SEC_ACCOUNT, 0, K_SECRET_ENV },
    { "auth", SEC_ACCOUNT, 0, K_AUTH },
    { "oauth_provider", SEC_ACCOUNT, 0, K_OAUTH_PROVIDER },
    { "token_url", SEC_ACCOUNT, 0, K_TOKEN_URL },
    { "device_url", SEC_ACCOUNT, 0, K_DEVICE_URL },
    { "client_id", SEC_ACCOUNT, 0, K_CLIENT_ID },
    { "client_secret", SEC_ACCOUNT, 0, K_CLIENT_SECRET },
    { "scope", SEC_ACCOUNT, 0, K_SCOPE },
    { "sysfs", SEC_LED, 0, K_SYSFS },
    { "terminal", SEC_LED, 0, K_TERMINAL },
    { "account", SEC_LED, 1, K_ACCOUNT },
    { "url", SEC_MQTT, 0, K_URL },
    { "username", SEC_MQTT, 0, K_USERNAME },
    { "ca", SEC_MQTT, 0, K_CA },
    { "pin", SEC_MQTT, 0, K_PIN },
    { "secret_env", SEC_MQTT, 0, K_SECRET_ENV },
    { "enabled", SEC_MQTT, 0, K_ENABLED },
    { "client_id", SEC_MQTT, 0, K_CLIENT_ID },
    { "discovery_prefix", SEC_MQTT, 0, K_DISCOVERY_PREFIX },
    { "base_topic", SEC_MQTT, 0, K_BASE_TOPIC },
};

#define SEC_UNSET 0xff

typedef struct {
    biff_uci_config *cfg;
    const char *file;
    const char *text;
    size_t len;
    uint32_t line;
    uint32_t sec_line;
    uint32_t seen; /* option bits given in this section */
    uint8_t kind;
    uint8_t seen_main;
    uint8_t global_err;
    uint8_t partial;
    uint8_t security; /* SEC_UNSET or biff_security from option security */
    uint8_t have_url;
    uint8_t folder_list; /* list folder given */
    uint16_t idx;        /* account or LED being filled */
    char tok[BIFF_UCI_TOKEN_MAX];
    uint16_t tok_off[3];
} parser;

static const char *sec_type(uint8_t kind)
{
    return kind == SEC_MAIN ? "tinybiff" : kind == SEC_ACCOUNT ? "account" : kind == SEC_MQTT ? "mqtt" : "led";
}

__attribute__((format(printf, 4, 5))) static void diag_at(parser *p, uint32_t line, int section_scoped, const char *fmt,
                                                          ...)
{
    biff_uci_config *c = p->cfg;
    int32_t acct = -1;
    c->n_errors++;
    if (section_scoped && p->kind == SEC_ACCOUNT) {
        c->accounts[p->idx].bad = 1;
        c->accounts[p->idx].enabled = 0;
        acct = (int32_t)p->idx;
        p->partial = 1;
    } else if (section_scoped && p->kind == SEC_LED) {
        c->leds[p->idx].bad = 1;
        p->partial = 1;
    } else if (section_scoped && p->kind == SEC_MQTT) {
        /* A broker problem must not stop the mail checks. */
        c->mqtt.bad = 1;
        c->mqtt.enabled = 0;
        p->partial = 1;
    } else if (section_scoped && p->kind == SEC_SKIP) {
        p->partial = 1;
    } else {
        p->global_err = 1;
    }
    if (c->n_diags >= c->max_diags) return;
    biff_uci_diag *d = &c->diags[c->n_diags++];
    d->line = line;
    d->account = acct;
    int n = line ? snprintf(d->text, sizeof d->text, "%s:%lu: ", p->file, (unsigned long)line)
                 : snprintf(d->text, sizeof d->text, "%s: ", p->file);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof d->text) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text + n, sizeof d->text - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Errors in the current section (or outside any section) at the current line. */
#define ERR(p, ...) diag_at((p), (p)->line, 1, __VA_ARGS__)

static int is_ident(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) return 0;
    }
    return n > 0 && n < max;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/*
 * Split one line into at most 3 words in p->tok. Returns the word count, or -1 after reporting
 * the problem. Control bytes are refused so values cannot smuggle line breaks into logs.
 */
static int tokenize(parser *p, const char *s, size_t n)
{
    size_t i = 0, out = 0;
    int count = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= n || s[i] == '#') return count;
        if (count == 3) {
            ERR(p, "unexpected text after the value (quote values that contain spaces)");
            return -1;
        }
        p->tok_off[count++] = (uint16_t)out;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '#') {
            char q = s[i];
            if (q == '\'' || q == '"') {
                i++;
                for (;;) {
                    if (i >= n) {
                        ERR(p, "unterminated %s quote", q == '\'' ? "single" : "double");
                        return -1;
                    }
                    if (s[i] == q) break;
                    if (q == '"' && s[i] == '\\') {
                        if (++i >= n) {
                            ERR(p, "unterminated double quote");
                            return -1;
                        }
                    }
                    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) goto ctrl;
                    if (out + 1 >= sizeof p->tok) goto toolong;
                    p->tok[out++] = s[i++];
                }
                i++;
                continue;
            }
            if (q == '\\') {
                if (++i >= n) {
                    ERR(p, "backslash at the end of the line (lines cannot be continued)");
                    return -1;
                }
            }
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) goto ctrl;
            if (out + 1 >= sizeof p->tok) goto toolong;
            p->tok[out++] = s[i++];
        }
        /* An empty word ('') after a full buffer has no room for its terminator either. */
        if (out >= sizeof p->tok) goto toolong;
        p->tok[out++] = 0;
    }
ctrl:
    ERR(p, "control character (byte 0x%02x) in a value", (unsigned)(unsigned char)s[i]);
    return -1;
toolong:
    ERR(p, "line longer than %u bytes", (unsigned)(BIFF_UCI_TOKEN_MAX - 1));
    return -1;
}

int biff_uci_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > (max - (uint32_t)(*s - '0')) / 10) return -1;
        v = v * 10 + (uint32_t)(*s - '0');
    }
    if (v < min) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s)
{
    static const char *const yes[] = { "1", "yes", "on", "true" };
    static const char *const no[] = { "0", "no", "off", "false" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0) return 1;
        if (strcmp(s, no[i]) == 0) return 0;
    }
    return -1;
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* "sha256/" (or curl's "sha256//") + base64 of exactly 32 bytes: 43 symbols, optional '='. */
int biff_uci_pin(const char *s, uint8_t out[32])
{
    if (strncmp(s, "sha256//", 8) == 0)
        s += 8;
    else if (strncmp(s, "sha256/", 7) == 0)
        s += 7;
    else
        return -1;
    size_t n = strlen(s);
    if (n == 44 && s[43] == '=') n = 43;
    if (n != 43) return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* 43 symbols = 258 bits: the two spare bits must be zero (canonical encoding). */
    if (o != 32 || (acc & ((1u << bits) - 1)) != 0) return -1;
    return 0;
}

/* host:port or [v6]:port, port 1..65535; "" disables the page. */
static int valid_bind(const char *s)
{
    if (!*s) return 1;
    const char *colon;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end == s + 1 || end[1] != ':') return 0;
        for (const char *q = s + 1; q < end; q++) {
            char ch = *q;
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == ':' ||
                  ch == '.'))
                return 0;
        }
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s) return 0;
        for (const char *q = s; q < colon; q++) {
            char ch = *q;
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '-'))
                return 0;
        }
    }
    uint32_t port;
    return biff_uci_uint(colon + 1, 1, 65535, &port) == 0;
}

/* A LED name under /sys/class/leds: no '/', not "." or "..". */
static int valid_sysfs(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((biff_led_config *)0)->sysfs)) return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == ':' ||
              ch == '_' || ch == '-' || ch == '.' || ch == '+'))
            return 0;
    }
    return 1;
}

static void set_path(parser *p, char *dst, size_t cap, const char *key, const char *v, int allow_empty)
{
    if (!*v && !allow_empty) {
        ERR(p, "option %s: empty path", key);
    } else if (copy_str(dst, cap, v) != 0) {
        ERR(p, "option %s: path longer than %u bytes", key, (unsigned)(cap - 1));
    }
}

static void set_interval(parser *p, const char *key, const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    if (biff_uci_uint(v, min, max, out) != 0)
        ERR(p, "option %s: '%.20s' is not a number of seconds from %lu to %lu", key, v, (unsigned long)min,
            (unsigned long)max);
}

static void set_bool(parser *p, const char *key, const char *v, uint8_t *out)
{
    int b = parse_bool(v);
    if (b < 0)
        ERR(p, "option %s: '%.20s' is not 1 or 0", key, v);
    else
        *out = (uint8_t)b;
}

/* option pin and option secret_env, the same for an account and the broker. */
static void set_pin(parser *p, const char *v, uint8_t pin[32], uint8_t *has_pin)
{
    if (biff_uci_pin(v, pin) != 0)
        ERR(p, "option pin: expected sha256/ and the base64 of 32 bytes");
    else
        *has_pin = 1;
}

static void set_env_name(parser *p, const char *v, char *dst, size_t cap)
{
    if (!is_ident(v, cap) || (v[0] >= '0' && v[0] <= '9'))
        ERR(p, "option secret_env: '%.64s' is not an environment variable name", v);
    else
        memcpy(dst, v, strlen(v) + 1);
}

static void main_option(parser *p, uint8_t id, const char *key, const char *v)
{
    biff_globals *g = &p->cfg->globals;
    uint32_t u;
    switch (id) {
    case K_INTERVAL: set_interval(p, key, v, 1, BIFF_UCI_INTERVAL_MAX, &g->interval_s); break;
    case K_IDLE_RENEW: set_interval(p, key, v, 60, 1740, &g->idle_renew_s); break;
    case K_MAX_PARALLEL:
        if (biff_uci_uint(v, 1, 1024, &u) != 0)
            ERR(p, "option max_parallel: '%.20s' is not a number from 1 to 1024", v);
        else
            g->max_parallel = (uint16_t)u;
        break;
    case K_STATUS_BIND:
        if (!valid_bind(v) || copy_str(g->status_bind, sizeof g->status_bind, v) != 0)
            ERR(p, "option status_bind: '%.64s' is not ADDRESS:PORT (e.g. 127.0.0.1:8025)", v);
        break;
    case K_STATUS_HOST: {
        /* A DNS name (letters, digits, '.', '-') the status page may be reached by. */
        size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
        if (!*v || v[n] || n >= sizeof g->status_host[0])
            ERR(p, "list status_host: '%.64s' is not a host name (letters, digits, '.', '-'; at most 63)", v);
        else if (g->n_status_hosts >= BIFF_STATUS_HOSTS_MAX)
            ERR(p, "list status_host: more than %u names", (unsigned)BIFF_STATUS_HOSTS_MAX);
        else
            memcpy(g->status_host[g->n_status_hosts++], v, n + 1);
        break;
    }
    case K_STATUS_JSON: set_path(p, g->status_json, sizeof g->status_json, key, v, 1); break;
    case K_CA: set_path(p, g->ca, sizeof g->ca, key, v, 0); break;
    case K_SECRETS: set_path(p, g->secrets, sizeof g->secrets, key, v, 0); break;
    case K_STATE: set_path(p, g->state, sizeof g->state, key, v, 1); break;
    case K_CONTROL: set_path(p, g->control, sizeof g->control, key, v, 1); break;
    case K_LOG:
        if (strcmp(v, "stderr") == 0)
            g->log = BIFF_LOG_STDERR;
        else if (strcmp(v, "syslog") == 0)
            g->log = BIFF_LOG_SYSLOG;
        else
            ERR(p, "option log: '%.20s' is not stderr or syslog", v);
        break;
    default: break;
    }
}

int biff_uci_word_ok(const char *v)
{
    if (!*v) return 0;
    for (; *v; v++) {
        if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 0x7f) return 0;
    }
    return 1;
}

static void account_option(parser *p, uint8_t id, const char *key, const char *v)
{
    biff_account *a = &p->cfg->accounts[p->idx];
    switch (id) {
    case K_URL: {
        /* The URL is not quoted back: a user:password@ URL is one of the errors. */
        biff_url_status st = biff_url_parse(v, &a->url);
        if (st == BIFF_URL_E_PASSWORD)
            ERR(p, "option url: passwords do not belong in URLs: use the secrets file or option secret_env");
        else if (st != BIFF_URL_OK)
            ERR(p, "option url: %s", biff_url_strerror(st));
        else
            p->have_url = 1;
        break;
    }
    case K_FOLDER:
        p->folder_list = 1;
        if (!*v) {
            ERR(p, "list folder: empty folder name");
        } else if (strlen(v) >= BIFF_ACCOUNT_FOLDER_MAX) {
            ERR(p, "list folder: name longer than %u bytes", (unsigned)(BIFF_ACCOUNT_FOLDER_MAX - 1));
        } else if (a->n_folders >= BIFF_ACCOUNT_MAX_FOLDERS) {
            ERR(p, "list folder: more than %u folders", (unsigned)BIFF_ACCOUNT_MAX_FOLDERS);
        } else {
            for (size_t i = 0; i < a->n_folders; i++) {
                if (strcmp(a->folders[i], v) == 0) {
                    ERR(p, "list folder: '%.64s' listed twice", v);
                    return;
                }
            }
            memcpy(a->folders[a->n_folders++], v, strlen(v) + 1);
        }
        break;
    case K_INTERVAL: set_interval(p, key, v, 1, BIFF_UCI_INTERVAL_MAX, &a->interval_s); break;
    case K_SECURITY:
        if (strcmp(v, "tls") == 0)
            p->security = BIFF_SECURITY_TLS;
        else if (strcmp(v, "starttls") == 0)
            p->security = BIFF_SECURITY_STARTTLS;
        else if (strcmp(v, "none") == 0)
            p->security = BIFF_SECURITY_NONE;
        else
            ERR(p, "option security: '%.20s' is not tls, starttls or none", v);
        break;
    case K_CA: set_path(p, a->ca, sizeof a->ca, key, v, 0); break;
    case K_PIN: set_pin(p, v, a->pin, &a->has_pin); break;
    case K_IDLE: set_bool(p, key, v, &a->idle); break;
    case K_ENABLED: set_bool(p, key, v, &a->enabled); break;
    case K_SECRET_ENV: set_env_name(p, v, a->secret_env, sizeof a->secret_env); break;
    case K_AUTH:
        if (strcmp(v, "oauth2") == 0)
            a->oauth2 = 1;
        else if (strcmp(v, "password") != 0)
            ERR(p, "option auth: '%.20s' is not password or oauth2", v);
        break;
    case K_OAUTH_PROVIDER: {
        biff_oauth_config oc = { 0 };
        if (strlen(v) >= sizeof a->oauth_provider || biff_oauth_preset(v, &oc) != 0)
            ERR(p, "option oauth_provider: '%.20s' is not google, microsoft or custom", v);
        else
            memcpy(a->oauth_provider, v, strlen(v) + 1);
        break;
    }
    case K_TOKEN_URL:
    case K_DEVICE_URL: {
        char *dst = id == K_TOKEN_URL ? a->token_url : a->device_url;
        if (!biff_oauth_url_ok(v) || copy_str(dst, BIFF_ACCOUNT_OAUTH_URL_MAX, v) != 0)
            ERR(p, "option %s: '%.64s' is not https://HOST[:PORT]/PATH (host up to %u bytes, URL up to %u)", key, v,
                (unsigned)(BIFF_OAUTH_HOST_MAX - 1), (unsigned)(BIFF_ACCOUNT_OAUTH_URL_MAX - 1));
        break;
    }
    case K_CLIENT_ID:
        /* Sent in a form body: printable ASCII without spaces keeps it one word everywhere. */
        if (!biff_uci_word_ok(v) || copy_str(a->client_id, sizeof a->client_id, v) != 0)
            ERR(p, "option client_id: '%.40s' must be 1 to %u printable characters without spaces", v,
                (unsigned)(sizeof a->client_id - 1));
        break;
    case K_CLIENT_SECRET:
        if (!biff_uci_word_ok(v) || copy_str(a->client_secret, sizeof a->client_secret, v) != 0)
            ERR(p, "option client_secret: must be 1 to %u printable characters without spaces",
                (unsigned)(sizeof a->client_secret - 1));
        break;
    case K_SCOPE:
        if (!*v || copy_str(a->scope, sizeof a->scope, v) != 0)
            ERR(p, "option scope: must be 1 to %u bytes", (unsigned)(sizeof a->scope - 1));
        break;
    default: break;
    }
}

static void led_option(parser *p, uint8_t id, const char *key, const char *v)
{
    biff_led_config *l = &p->cfg->leds[p->idx];
    switch (id) {
    case K_SYSFS:
        if (!valid_sysfs(v))
            ERR(p, "option sysfs: '%.64s' is not a LED name under /sys/class/leds", v);
        else
            memcpy(l->sysfs, v, strlen(v) + 1);
        break;
    case K_TERMINAL: set_bool(p, key, v, &l->terminal); break;
    case K_ACCOUNT:
        if (!is_ident(v, BIFF_ACCOUNT_NAME_MAX)) {
            ERR(p, "list account: '%.64s' is not an account name", v);
        } else if (l->n_accounts >= BIFF_LED_MAX_ACCOUNTS) {
            ERR(p, "list account: more than %u accounts", (unsigned)BIFF_LED_MAX_ACCOUNTS);
        } else {
            /* Accounts may be defined further down: keep the line, resolve at the end. */
            l->account[l->n_accounts++] = (uint16_t)p->line;
        }
        break;
    default: break;
    }
}

int biff_uci_topic_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//")) return 0;
    return strpbrk(s, "+#") == NULL;
}

int biff_uci_node_id_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    int ok = n > 0 && n <= max;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = s[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    }
    return ok;
}

static void mqtt_option(parser *p, uint8_t id, const char *key, const char *v)
{
    biff_mqtt_config *m = &p->cfg->mqtt;
    switch (id) {
    case K_URL: {
        biff_url_status st = biff_url_parse_mqtt(v, &m->url);
        if (st == BIFF_URL_E_PASSWORD)
            ERR(p, "option url: passwords do not belong in URLs: use the secrets file or option secret_env");
        else if (st == BIFF_URL_E_SCHEME)
            ERR(p, "option url: scheme must be mqtts:// or mqtt://");
        else if (st != BIFF_URL_OK)
            ERR(p, "option url: %s", biff_url_strerror(st));
        else if (m->url.user[0])
            ERR(p, "option url: the broker's user name goes in option username");
        else
            p->have_url = 1;
        break;
    }
    case K_USERNAME:
        if (copy_str(m->username, sizeof m->username, v) != 0)
            ERR(p, "option username: longer than %u bytes", (unsigned)(sizeof m->username - 1));
        break;
    case K_CA: set_path(p, m->ca, sizeof m->ca, key, v, 0); break;
    case K_PIN: set_pin(p, v, m->pin, &m->has_pin); break;
    case K_ENABLED: set_bool(p, key, v, &m->enabled); break;
    case K_SECRET_ENV: set_env_name(p, v, m->secret_env, sizeof m->secret_env); break;
    case K_CLIENT_ID: {
        if (!biff_uci_node_id_ok(v, sizeof m->client_id - 1))
            ERR(p, "option client_id: '%.40s' must be 1 to %u letters, digits, _ or -", v,
                (unsigned)(sizeof m->client_id - 1));
        else
            memcpy(m->client_id, v, strlen(v) + 1);
        break;
    }
    case K_DISCOVERY_PREFIX:
    case K_BASE_TOPIC: {
        char *dst = id == K_BASE_TOPIC ? m->base_topic : m->discovery_prefix;
        size_t cap = id == K_BASE_TOPIC ? sizeof m->base_topic : sizeof m->discovery_prefix;
        if (!biff_uci_topic_ok(v, cap - 1))
            ERR(p, "option %s: '%.64s' is not a topic of 1 to %u bytes without +, # or empty levels", key, v,
                (unsigned)(cap - 1));
        else
            memcpy(dst, v, strlen(v) + 1);
        break;
    }
    default: break;
    }
}

/* option auth 'oauth2' and its companions: complete, or none of them. */
static void finish_oauth(parser *p, biff_account *a)
{
    static const uint8_t ids[] = { K_OAUTH_PROVIDER, K_TOKEN_URL, K_DEVICE_URL, K_CLIENT_ID, K_CLIENT_SECRET, K_SCOPE };
    static const char *const names[] = { "oauth_provider", "token_url",     "device_url",
                                         "client_id",      "client_secret", "scope" };
    uint32_t l = p->sec_line;
    if (!a->oauth2) {
        for (size_t i = 0; i < sizeof ids; i++) {
            if (p->seen & (1u << ids[i])) {
                diag_at(p, l, 1, "account '%s': option %s needs option auth 'oauth2'", a->name, names[i]);
                return;
            }
        }
        return;
    }
    if (p->have_url && a->url.auth[0] && strcmp(a->url.auth, "XOAUTH2") != 0 && strcmp(a->url.auth, "OAUTHBEARER") != 0)
        diag_at(p, l, 1, "account '%s': ;AUTH=%s in the URL cannot carry an OAuth2 token (XOAUTH2 or OAUTHBEARER can)",
                a->name, a->url.auth);
    if (!(p->seen & (1u << K_OAUTH_PROVIDER))) {
        diag_at(p, l, 1, "account '%s': option oauth_provider is missing (google, microsoft or custom)", a->name);
        return;
    }
    if (!a->oauth_provider[0]) return; /* reported where it was given */
    if (!(p->seen & (1u << K_CLIENT_ID)))
        diag_at(p, l, 1, "account '%s': option client_id is missing (the provider issues it)", a->name);
    biff_oauth_config oc = { 0 };
    biff_oauth_preset(a->oauth_provider, &oc);
    if (strcmp(a->oauth_provider, "custom") == 0) {
        for (size_t i = 1; i < 3; i++) {
            if (!(p->seen & (1u << ids[i])))
                diag_at(p, l, 1, "account '%s': option %s is missing (provider custom)", a->name, names[i]);
        }
        if (!(p->seen & (1u << K_SCOPE)))
            diag_at(p, l, 1, "account '%s': option scope is missing (provider custom)", a->name);
        return;
    }
    /* A preset's endpoints are its provider's: a URL given too is a mix-up, not an override. */
    for (size_t i = 1; i < 3; i++) {
        if (p->seen & (1u << ids[i]))
            diag_at(p, l, 1, "account '%s': option %s comes from provider %s (use custom to set it)", a->name, names[i],
                    a->oauth_provider);
    }
    copy_str(a->token_url, sizeof a->token_url, oc.token_url);
    copy_str(a->device_url, sizeof a->device_url, oc.device_url);
    if (!(p->seen & (1u << K_SCOPE))) copy_str(a->scope, sizeof a->scope, oc.scope);
}

/* The checks that need the whole section. */
static void finish_section(parser *p)
{
    if (p->kind == SEC_ACCOUNT) {
        biff_account *a = &p->cfg->accounts[p->idx];
        uint32_t l = p->sec_line;
        if (!p->have_url) {
            if (!(p->seen & (1u << K_URL))) diag_at(p, l, 1, "account '%s': option url is missing", a->name);
        } else {
            uint8_t sec = p->security;
            if (a->url.implicit_tls) {
                if (sec != SEC_UNSET && sec != BIFF_SECURITY_TLS)
                    diag_at(p, l, 1, "account '%s': security '%s' contradicts the %s:// URL (implicit TLS)", a->name,
                            sec == BIFF_SECURITY_NONE ? "none" : "starttls",
                            a->url.proto == BIFF_URL_IMAP ? "imaps" : "pop3s");
                a->security = BIFF_SECURITY_TLS;
            } else if (sec == BIFF_SECURITY_TLS) {
                diag_at(p, l, 1, "account '%s': security 'tls' needs an imaps:// or pop3s:// URL", a->name);
            } else {
                a->security = sec == SEC_UNSET ? BIFF_SECURITY_STARTTLS : sec;
            }
            if (a->url.proto == BIFF_URL_POP3) {
                if (p->folder_list) diag_at(p, l, 1, "account '%s': list folder is for IMAP accounts only", a->name);
                a->n_folders = 0;
            } else if (!p->folder_list) {
                if (copy_str(a->folders[0], sizeof a->folders[0], a->url.mailbox) != 0)
                    diag_at(p, l, 1, "account '%s': URL mailbox longer than %u bytes", a->name,
                            (unsigned)(BIFF_ACCOUNT_FOLDER_MAX - 1));
                else
                    a->n_folders = 1;
            }
        }
        finish_oauth(p, a);
        if (a->bad) a->enabled = 0; /* an `option enabled 1` after the error must not undo it */
    } else if (p->kind == SEC_MQTT) {
        biff_mqtt_config *m = &p->cfg->mqtt;
        if (!p->have_url && !(p->seen & (1u << K_URL)))
            diag_at(p, p->sec_line, 1, "mqtt '%s': option url is missing", m->name);
        if (!m->client_id[0]) memcpy(m->client_id, "tinybiff", sizeof "tinybiff");
        if (!m->discovery_prefix[0]) memcpy(m->discovery_prefix, "homeassistant", sizeof "homeassistant");
        if (!m->base_topic[0]) snprintf(m->base_topic, sizeof m->base_topic, "tinybiff/%s", m->client_id);
        if (m->bad) m->enabled = 0;
    } else if (p->kind == SEC_LED) {
        biff_led_config *led = &p->cfg->leds[p->idx];
        if (!led->sysfs[0] && !led->terminal)
            diag_at(p, p->sec_line, 1, "led '%s': needs option sysfs or option terminal '1'", led->name);
    }
    p->kind = SEC_NONE;
}

static void begin_section(parser *p, const char *type, const char *name)
{
    biff_uci_config *c = p->cfg;
    finish_section(p);
    p->sec_line = p->line;
    p->seen = 0;
    p->security = SEC_UNSET;
    p->have_url = 0;
    p->folder_list = 0;
    p->kind = SEC_SKIP; /* until the header is known to be good: no follow-up noise */
    if (!type) {
        p->kind = SEC_NONE;
        ERR(p, "config needs a section type");
        p->kind = SEC_SKIP;
        return;
    }
    if (name && !is_ident(name, BIFF_ACCOUNT_NAME_MAX)) {
        diag_at(p, p->line, strcmp(type, "tinybiff") != 0, "section name '%.40s' must be 1 to %u letters, digits or _",
                name, (unsigned)(BIFF_ACCOUNT_NAME_MAX - 1));
        return;
    }
    if (strcmp(type, "tinybiff") == 0) {
        if (p->seen_main) {
            p->kind = SEC_NONE;
            ERR(p, "second config tinybiff section");
            p->kind = SEC_SKIP;
            return;
        }
        p->seen_main = 1;
        p->kind = SEC_MAIN;
    } else if (strcmp(type, "account") == 0 || strcmp(type, "led") == 0) {
        int is_acct = type[0] == 'a';
        if (!name) {
            ERR(p, "config %s needs a name, e.g. config %s 'work'", type, type);
            return;
        }
        uint16_t n = is_acct ? c->n_accounts : c->n_leds;
        for (uint16_t i = 0; i < n; i++) {
            const char *other = is_acct ? c->accounts[i].name : c->leds[i].name;
            if (strcmp(other, name) == 0) {
                if (is_acct)
                    ERR(p, "account '%s' defined twice (first on line %u)", name, (unsigned)c->accounts[i].line);
                else
                    ERR(p, "led '%s' defined twice", name);
                return;
            }
        }
        if (n >= (is_acct ? c->max_accounts : c->max_leds)) {
            ERR(p, "more than %u %s sections", (unsigned)n, type);
            return;
        }
        if (is_acct) {
            biff_account *a = &c->accounts[c->n_accounts];
            memset(a, 0, sizeof *a);
            memcpy(a->name, name, strlen(name) + 1);
            a->enabled = 1;
            a->idle = 1;
            a->line = (uint16_t)p->line;
            p->idx = c->n_accounts++;
            p->kind = SEC_ACCOUNT;
        } else {
            biff_led_config *l = &c->leds[c->n_leds];
            memset(l, 0, sizeof *l);
            memcpy(l->name, name, strlen(name) + 1);
            p->idx = c->n_leds++;
            p->kind = SEC_LED;
        }
    } else if (strcmp(type, "mqtt") == 0) {
        if (!name) {
            ERR(p, "config mqtt needs a name (its secrets file entry), e.g. config mqtt 'ha'");
            return;
        }
        if (c->mqtt.given) {
            ERR(p, "second config mqtt section (first on line %u)", (unsigned)c->mqtt.line);
            return;
        }
        memset(&c->mqtt, 0, sizeof c->mqtt);
        memcpy(c->mqtt.name, name, strlen(name) + 1);
        c->mqtt.given = 1;
        c->mqtt.enabled = 1;
        c->mqtt.line = (uint16_t)p->line;
        p->kind = SEC_MQTT;
    } else {
        p->kind = SEC_NONE;
        ERR(p, "unknown section type '%.40s' (expected tinybiff, account, led or mqtt)", type);
        p->kind = SEC_SKIP;
    }
}

static void option(parser *p, int is_list, const char *key, const char *v)
{
    if (p->kind == SEC_SKIP) return;
    if (p->kind == SEC_NONE) {
        ERR(p, "%s before the first config line", is_list ? "list" : "option");
        return;
    }
    const key_def *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].sec == p->kind && strcmp(keys[i].key, key) == 0) k = &keys[i];
    }
    if (!k) {
        if (p->kind == SEC_MAIN)
            ERR(p, "unknown option '%.40s' in config tinybiff", key);
        else
            ERR(p, "unknown %s '%.40s' in config %s '%s'", is_list ? "list" : "option", key, sec_type(p->kind),
                p->kind == SEC_ACCOUNT ? p->cfg->accounts[p->idx].name
                : p->kind == SEC_MQTT  ? p->cfg->mqtt.name
                                       : p->cfg->leds[p->idx].name);
        return;
    }
    if (k->is_list != is_list) {
        if (k->is_list)
            ERR(p, "'%s' is a list: write list %s '...'", key, key);
        else
            ERR(p, "'%s' is an option, not a list", key);
        return;
    }
    if (!is_list) {
        if (p->seen & (1u << k->id)) {
            ERR(p, "option %s given twice", key);
            return;
        }
        p->seen |= 1u << k->id;
    }
    if (p->kind == SEC_MAIN)
        main_option(p, k->id, key, v);
    else if (p->kind == SEC_ACCOUNT)
        account_option(p, k->id, key, v);
    else if (p->kind == SEC_MQTT)
        mqtt_option(p, k->id, key, v);
    else
        led_option(p, k->id, key, v);
}

static void statement(parser *p, int n)
{
    const char *t0 = p->tok + p->tok_off[0];
    const char *t1 = n > 1 ? p->tok + p->tok_off[1] : NULL;
    const char *t2 = n > 2 ? p->tok + p->tok_off[2] : NULL;
    if (strcmp(t0, "config") == 0) {
        begin_section(p, t1, t2);
    } else if (strcmp(t0, "option") == 0 || strcmp(t0, "list") == 0) {
        int is_list = t0[0] == 'l';
        if (p->kind == SEC_SKIP) return;
        if (!t1 || !is_ident(t1, 64))
            ERR(p, "%s needs a name of letters, digits or _", t0);
        else if (!t2)
            ERR(p, "%s %s needs a value", t0, t1);
        else
            option(p, is_list, t1, t2);
    } else if (strcmp(t0, "package") == 0) {
        if (n != 2 || p->kind != SEC_NONE || p->cfg->n_accounts || p->cfg->n_leds || p->seen_main)
            ERR(p, "package must come first and name the package");
    } else if (p->kind != SEC_SKIP) {
        ERR(p, "unknown statement '%.20s' (expected config, option or list)", t0);
    }
}

/* Start of line `line` (1-based) in the text, or NULL. */
static const char *line_start(const parser *p, uint32_t line, size_t *n)
{
    size_t i = 0;
    for (uint32_t l = 1; l < line; l++) {
        const char *nl = memchr(p->text + i, '\n', p->len - i);
        if (!nl) return NULL;
        i = (size_t)(nl - p->text) + 1;
    }
    const char *nl = memchr(p->text + i, '\n', p->len - i);
    *n = nl ? (size_t)(nl - p->text) - i : p->len - i;
    return p->text + i;
}

/* Turn each LED's `list account` lines into account indices. */
static void resolve_leds(parser *p)
{
    biff_uci_config *c = p->cfg;
    for (uint16_t i = 0; i < c->n_leds; i++) {
        biff_led_config *l = &c->leds[i];
        p->kind = SEC_LED;
        p->idx = i;
        for (uint8_t j = 0; j < l->n_accounts; j++) {
            size_t n = 0;
            const char *s = line_start(p, l->account[j], &n);
            p->line = l->account[j];
            if (!s || tokenize(p, s, n) != 3) { /* cannot happen: the line parsed before */
                l->bad = 1;
                continue;
            }
            const char *name = p->tok + p->tok_off[2];
            uint16_t k = 0;
            while (k < c->n_accounts && strcmp(c->accounts[k].name, name) != 0) k++;
            if (k == c->n_accounts) {
                ERR(p, "led '%s': no account named '%s'", l->name, name);
                l->account[j] = 0xffff;
            } else {
                for (uint8_t m = 0; m < j; m++) {
                    if (l->account[m] == k) ERR(p, "led '%s': account '%s' listed twice", l->name, name);
                }
                l->account[j] = k;
            }
        }
    }
    p->kind = SEC_NONE;
}

void biff_uci_init(biff_uci_config *cfg, biff_account *accounts, size_t max_accounts, biff_led_config *leds,
                   size_t max_leds, biff_uci_diag *diags, size_t max_diags)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->accounts = accounts;
    cfg->leds = leds;
    cfg->diags = diags;
    cfg->max_accounts = (uint16_t)(max_accounts > 0xffff ? 0xffff : max_accounts);
    cfg->max_leds = (uint16_t)(max_leds > 0xffff ? 0xffff : max_leds);
    cfg->max_diags = (uint16_t)(max_diags > 0xffff ? 0xffff : max_diags);
    if (!accounts) cfg->max_accounts = 0;
    if (!leds) cfg->max_leds = 0;
    if (!diags) cfg->max_diags = 0;
    biff_globals *g = &cfg->globals;
    g->interval_s = BIFF_DEFAULT_INTERVAL_S;
    g->idle_renew_s = 1500;
    g->max_parallel = 8;
    g->log = BIFF_LOG_STDERR;
    memcpy(g->status_bind, "127.0.0.1:8025", sizeof "127.0.0.1:8025");
    memcpy(g->ca, "/etc/ssl/certs/ca-certificates.crt", sizeof "/etc/ssl/certs/ca-certificates.crt");
    memcpy(g->secrets, "/etc/tinybiff/secrets", sizeof "/etc/tinybiff/secrets");
}

biff_uci_status biff_uci_parse(biff_uci_config *cfg, const char *file, const char *text, size_t len)
{
    if (!cfg || (!text && len)) return BIFF_UCI_E_ARG;
    parser p;
    memset(&p, 0, sizeof p);
    p.cfg = cfg;
    p.file = file ? file : "config";
    p.text = text;
    p.len = len;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - i;
        p.line++;
        if (p.line > 0xffff) {
            diag_at(&p, 0, 0, "more than 65535 lines");
            break;
        }
        if (n && text[i + n - 1] == '\r') n--;
        int t = tokenize(&p, text + i, n);
        if (t > 0) statement(&p, t);
        i = end + 1;
    }
    finish_section(&p);
    for (uint16_t k = 0; cfg->mqtt.given && k < cfg->n_accounts; k++) {
        if (strcmp(cfg->accounts[k].name, cfg->mqtt.name) != 0) continue;
        p.kind = SEC_MQTT; /* the broker section is the one rejected: mail goes on */
        diag_at(&p, cfg->mqtt.line, 1,
                "mqtt '%s': an account has this name too (they would share a secrets file entry)", cfg->mqtt.name);
        p.kind = SEC_NONE;
    }
    if (!p.global_err)
        resolve_leds(&p);
    else {
        for (uint16_t k = 0; k < cfg->n_leds; k++) cfg->leds[k].n_accounts = 0, cfg->leds[k].bad = 1;
    }
    if (p.global_err) return BIFF_UCI_E_INVALID;
    return p.partial ? BIFF_UCI_PARTIAL : BIFF_UCI_OK;
}

/* Walk a secrets file: calls back with trimmed name and secret of each well-formed line. */
typedef struct {
    const char *name, *secret;
    size_t name_len, secret_len;
    uint32_t line;
    int malformed; /* 1 no '=', 2 empty name, 3 empty secret */
} secret_line;

static int next_secret_line(const char *text, size_t len, size_t *pos, secret_line *sl)
{
    while (*pos < len) {
        size_t i = *pos;
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        *pos = end + 1;
        sl->line++;
        while (i < end && (text[i] == ' ' || text[i] == '\t')) i++;
        size_t e = end;
        while (e > i && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) e--;
        if (i == e || text[i] == '#') continue;
        const char *eq = memchr(text + i, '=', e - i);
        sl->malformed = 0;
        if (!eq) {
            sl->malformed = 1;
            return 1;
        }
        size_t ne = (size_t)(eq - text);
        while (ne > i && (text[ne - 1] == ' ' || text[ne - 1] == '\t')) ne--;
        size_t s = (size_t)(eq - text) + 1;
        while (s < e && (text[s] == ' ' || text[s] == '\t')) s++;
        sl->name = text + i;
        sl->name_len = ne - i;
        sl->secret = text + s;
        sl->secret_len = e - s;
        if (!sl->name_len)
            sl->malformed = 2;
        else if (!sl->secret_len)
            sl->malformed = 3;
        return 1;
    }
    return 0;
}

biff_uci_status biff_uci_secret(const char *text, size_t len, const char *account, char *out, size_t cap)
{
    if ((!text && len) || !account || !out || cap == 0) return BIFF_UCI_E_ARG;
    out[0] = 0;
    size_t pos = 0, alen = strlen(account);
    secret_line sl;
    memset(&sl, 0, sizeof sl);
    while (next_secret_line(text, len, &pos, &sl)) {
        if (sl.malformed || sl.name_len != alen || memcmp(sl.name, account, alen) != 0) continue;
        if (sl.secret_len >= cap) return BIFF_UCI_E_TOO_LONG;
        memcpy(out, sl.secret, sl.secret_len);
        out[sl.secret_len] = 0;
        return BIFF_UCI_OK;
    }
    return BIFF_UCI_E_NOT_FOUND;
}

/* Append n bytes to out; 0 when they do not fit (with room for the NUL). */
static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (n >= cap - *o) return 0;
    memcpy(out + *o, s, n);
    *o += n;
    return 1;
}

static int put_entry(char *out, size_t cap, size_t *o, const char *name, const char *value, size_t vlen)
{
    return put(out, cap, o, name, strlen(name)) && put(out, cap, o, " = ", 3) && put(out, cap, o, value, vlen) &&
           put(out, cap, o, "\n", 1);
}

biff_uci_status biff_uci_secret_set(const char *text, size_t len, const char *name, const char *value, char *out,
                                    size_t cap, size_t *out_len)
{
    if ((!text && len) || !name || !out || cap == 0 || !is_ident(name, BIFF_ACCOUNT_NAME_MAX)) return BIFF_UCI_E_ARG;
    size_t vlen = value ? strlen(value) : 0;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch < 0x20 || ch == 0x7f || ((i == 0 || i == vlen - 1) && ch == ' ')) return BIFF_UCI_E_ARG;
    }
    size_t o = 0, pos = 0, nlen = strlen(name);
    int done = 0, ok = 1;
    /* Walk the lines as biff_uci_secret() reads them; copy each one that is not the entry. */
    while (ok && pos < len) {
        size_t start = pos;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t probe = start;
        secret_line one;
        memset(&one, 0, sizeof one);
        int is_entry = next_secret_line(text, end, &probe, &one) && !one.malformed && one.name_len == nlen &&
                       memcmp(one.name, name, nlen) == 0;
        pos = end + 1;
        if (!is_entry) {
            ok = put(out, cap, &o, text + start, end - start) && put(out, cap, &o, "\n", 1);
        } else if (!done) {
            done = 1;
            if (vlen) ok = put_entry(out, cap, &o, name, value, vlen);
        }
    }
    if (ok && !done && vlen) ok = put_entry(out, cap, &o, name, value, vlen);
    if (!ok) {
        memset(out, 0, cap);
        return BIFF_UCI_E_TOO_LONG;
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    return BIFF_UCI_OK;
}

biff_uci_status biff_uci_secrets_check(const char *text, size_t len, const char *file, biff_uci_diag *diags,
                                       size_t max_diags, size_t *n_diags)
{
    if ((!text && len) || (!diags && max_diags)) return BIFF_UCI_E_ARG;
    biff_uci_config cfg;
    biff_uci_init(&cfg, NULL, 0, NULL, 0, diags, max_diags);
    parser p;
    memset(&p, 0, sizeof p);
    p.cfg = &cfg;
    p.file = file ? file : "secrets";
    size_t pos = 0;
    secret_line sl;
    memset(&sl, 0, sizeof sl);
    while (next_secret_line(text, len, &pos, &sl)) {
        p.line = sl.line;
        if (sl.malformed == 1) {
            ERR(&p, "expected 'account = secret'");
            continue;
        }
        if (sl.malformed == 2) {
            ERR(&p, "missing account name before '='");
            continue;
        }
        char name[BIFF_ACCOUNT_NAME_MAX];
        if (sl.name_len >= sizeof name) {
            ERR(&p, "the text before '=' is longer than an account name (%u bytes)", (unsigned)(sizeof name - 1));
            continue;
        }
        memcpy(name, sl.name, sl.name_len);
        name[sl.name_len] = 0;
        if (!is_ident(name, sizeof name)) {
            /* Not quoted: with a ':' or ' ' typo the "name" holds part of the secret. */
            ERR(&p, "the text before '=' is not an account name (letters, digits, _)");
            continue;
        }
        if (sl.malformed == 3) {
            ERR(&p, "empty secret for account '%s'", name);
            continue;
        }
        /* Duplicate: only the first entry is used, so a later one is almost surely a mistake. */
        size_t pos2 = 0;
        secret_line s2;
        memset(&s2, 0, sizeof s2);
        while (next_secret_line(text, len, &pos2, &s2) && s2.line < sl.line) {
            if (!s2.malformed && s2.name_len == sl.name_len && memcmp(s2.name, sl.name, sl.name_len) == 0) {
                ERR(&p, "second entry for account '%s' (line %lu is used)", name, (unsigned long)s2.line);
                break;
            }
        }
    }
    if (n_diags) *n_diags = cfg.n_diags;
    return p.global_err ? BIFF_UCI_E_INVALID : BIFF_UCI_OK;
}

const char *biff_uci_strerror(biff_uci_status st)
{
    switch (st) {
    case BIFF_UCI_OK: return "ok";
    case BIFF_UCI_PARTIAL: return "some sections were rejected";
    case BIFF_UCI_E_INVALID: return "the config file has errors";
    case BIFF_UCI_E_NOT_FOUND: return "no secret for this account";
    case BIFF_UCI_E_TOO_LONG: return "secret too long";
    case BIFF_UCI_E_ARG: return "bad argument";
    }
    return "unknown";
}

/* OAuth2 device authorization grant and token refresh for one account (see biff/oauth.h). */
#include "biff/oauth.h"

#include <string.h>

#include "biff/http.h"
#include "biff/json.h"

#define POLL_DEFAULT     5u /* RFC 8628 3.2: interval when the server names none */
#define SLOW_DOWN_STEP   5u /* RFC 8628 3.5 */
#define RETRY_FIRST      5u
#define RETRY_MAX        300u
#define ASSUMED_LIFETIME 3600u /* a token response without expires_in (RFC 6749 5.1 allows it) */

enum { IN_NONE = 0, IN_DEVICE, IN_POLL, IN_REFRESH };

static const char grant_device[] = "urn:ietf:params:oauth:grant-type:device_code";

static void wipe(char *p, size_t n)
{
    volatile char *v = p;
    while (n--) *v++ = 0;
}

static void set_detail(biff_oauth *o, const char *a, const char *b)
{
    size_t n = strlen(a), m = b ? strlen(b) : 0;
    if (n >= sizeof o->detail) n = sizeof o->detail - 1;
    memcpy(o->detail, a, n);
    if (m > sizeof o->detail - 1 - n) m = sizeof o->detail - 1 - n;
    if (m) memcpy(o->detail + n, b, m);
    o->detail[n + m] = 0;
}

static void to_state(biff_oauth *o, biff_oauth_state st, biff_oauth_why why)
{
    o->state = (uint8_t)st;
    o->why = (uint8_t)why;
}

static void drop_refresh(biff_oauth *o)
{
    wipe(o->refresh, o->refresh_cap);
    o->gen++;
}

/* The account needs the user: nothing runs until biff_oauth_authorize(). */
static void needs_auth(biff_oauth *o, biff_oauth_why why)
{
    drop_refresh(o); /* a dead refresh token, or the device code of a flow that ended */
    o->user_code[0] = o->uri[0] = o->uri_complete[0] = 0;
    o->detail[0] = 0;
    to_state(o, BIFF_OAUTH_NEEDS_AUTH, why);
}

/* https://HOST[:PORT]/PATH, the one URL form taken (biff_oauth_url_ok): the path, the host into
 * host[BIFF_OAUTH_HOST_MAX] and the port when asked for; NULL for anything else. */
static const char *split(const char *u, char *host, uint16_t *port)
{
    const char *h, *p;
    unsigned long n = 443;
    size_t hn;
    if (!u || strncmp(u, "https://", 8)) return NULL;
    for (p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return NULL; /* goes into a request line */
    h = u + 8;
    hn = strcspn(h, ":/");
    p = h + hn;
    if (*p == ':') {
        n = 0;
        while (*++p >= '0' && *p <= '9' && n <= 65535) n = n * 10 + (unsigned long)(*p - '0');
    }
    if (*p != '/' || !hn || hn >= BIFF_OAUTH_HOST_MAX || !n || n > 65535) return NULL;
    if (host) {
        memcpy(host, h, hn);
        host[hn] = 0;
    }
    if (port) *port = (uint16_t)n;
    return p;
}

int biff_oauth_url_ok(const char *url)
{
    return split(url, NULL, NULL) != NULL;
}

biff_oauth_status biff_oauth_init(biff_oauth *o, const biff_oauth_config *cfg, char *access, size_t access_cap,
                                  char *refresh, size_t refresh_cap, char *req, size_t req_cap,
                                  const char *refresh_token, uint32_t now)
{
    if (!o) return BIFF_OAUTH_E_ARG;
    memset(o, 0, sizeof *o);
    if (!cfg || !split(cfg->device_url, NULL, NULL) || !split(cfg->token_url, NULL, NULL) || !cfg->client_id ||
        !cfg->client_id[0] || !cfg->scope || !access || access_cap < 16 || !refresh || refresh_cap < 16 || !req ||
        req_cap < 256)
        return BIFF_OAUTH_E_ARG;
    o->cfg = cfg;
    o->access = access;
    o->access_cap = access_cap;
    o->refresh = refresh;
    o->refresh_cap = refresh_cap;
    o->req = req;
    o->req_cap = req_cap;
    wipe(access, access_cap);
    wipe(refresh, refresh_cap);
    if (refresh_token && refresh_token[0]) {
        size_t n = strlen(refresh_token);
        if (n >= refresh_cap) return BIFF_OAUTH_E_ARG;
        memcpy(refresh, refresh_token, n);
        to_state(o, BIFF_OAUTH_REFRESHING, BIFF_OAUTH_WHY_NONE);
        o->due = now;
    } else {
        to_state(o, BIFF_OAUTH_NEEDS_AUTH, BIFF_OAUTH_WHY_NO_TOKEN);
    }
    return BIFF_OAUTH_OK;
}

void biff_oauth_authorize(biff_oauth *o, uint32_t now)
{
    wipe(o->access, o->access_cap);
    o->have_access = 0;
    if (o->refresh[0]) drop_refresh(o);
    o->backoff = 0;
    o->inflight = IN_NONE;
    o->due = now;
    o->detail[0] = 0;
    to_state(o, BIFF_OAUTH_STARTING, BIFF_OAUTH_WHY_NONE);
}

/* Write the POST for the current state into req; 0 on success. */
static int build(biff_oauth *o, biff_oauth_request *req)
{
    const biff_oauth_config *c = o->cfg;
    const char *path = split(o->state == BIFF_OAUTH_STARTING ? c->device_url : c->token_url, o->host, &req->port);
    biff_http_field f[4];
    size_t n = 0, len = 0;
    if (!path) return -1;
    if (o->state == BIFF_OAUTH_STARTING) {
        f[n++] = (biff_http_field){ "scope", c->scope };
        o->inflight = IN_DEVICE;
    } else if (o->state == BIFF_OAUTH_WAITING_USER) {
        f[n++] = (biff_http_field){ "grant_type", grant_device };
        f[n++] = (biff_http_field){ "device_code", o->refresh };
        o->inflight = IN_POLL;
    } else {
        f[n++] = (biff_http_field){ "grant_type", "refresh_token" };
        f[n++] = (biff_http_field){ "refresh_token", o->refresh };
        o->inflight = IN_REFRESH;
    }
    f[n++] = (biff_http_field){ "client_id", c->client_id };
    if (c->client_secret && c->client_secret[0]) f[n++] = (biff_http_field){ "client_secret", c->client_secret };
    if (biff_http_post_form(o->req, o->req_cap, &len, o->host, req->port, path, f, n) != BIFF_HTTP_OK) {
        o->inflight = IN_NONE;
        return -1;
    }
    req->host = o->host;
    req->data = o->req;
    req->len = len;
    return 0;
}

biff_oauth_action biff_oauth_next(biff_oauth *o, uint32_t now, biff_oauth_request *req)
{
    int valid;
    memset(req, 0, sizeof *req);
    if (o->state == BIFF_OAUTH_NEEDS_AUTH || o->state == BIFF_OAUTH_CONFIG_ERROR || !o->cfg) return BIFF_OAUTH_STOPPED;
    if (o->state == BIFF_OAUTH_WAITING_USER && (int32_t)(now - o->code_expires) >= 0) {
        needs_auth(o, BIFF_OAUTH_WHY_CODE_EXPIRED);
        return BIFF_OAUTH_STOPPED;
    }
    valid = o->have_access && (int32_t)(now - o->expires) < 0;
    if (o->state == BIFF_OAUTH_AUTHORIZED && (int32_t)(now - o->due) >= 0) {
        if (o->refresh[0]) {
            to_state(o, BIFF_OAUTH_REFRESHING, BIFF_OAUTH_WHY_NONE);
        } else if (!valid) { /* the server gave no refresh token: only the user can go on */
            needs_auth(o, BIFF_OAUTH_WHY_NO_TOKEN);
            return BIFF_OAUTH_STOPPED;
        } else {
            o->due = o->expires;
        }
    }
    if (o->inflight == IN_NONE && (int32_t)(now - o->due) >= 0 && o->state != BIFF_OAUTH_AUTHORIZED) {
        if (build(o, req)) {
            wipe(o->req, o->req_cap);
            to_state(o, BIFF_OAUTH_CONFIG_ERROR, BIFF_OAUTH_WHY_CLIENT);
            set_detail(o, "request too large, or a bad URL", NULL);
            return BIFF_OAUTH_STOPPED;
        }
        return BIFF_OAUTH_SEND;
    }
    req->wake = o->inflight ? now : o->due; /* in flight: the response comes first */
    if (valid && (o->inflight || (int32_t)(o->expires - o->due) < 0)) req->wake = o->expires;
    return valid ? BIFF_OAUTH_READY : BIFF_OAUTH_WAIT;
}

static void retry(biff_oauth *o, uint32_t now, biff_oauth_why why)
{
    o->backoff = o->backoff ? (o->backoff * 2 > RETRY_MAX ? RETRY_MAX : o->backoff * 2) : RETRY_FIRST;
    /* While polling, the server's interval rules; otherwise back off. */
    o->due = now + (o->state == BIFF_OAUTH_WAITING_USER ? o->interval : o->backoff);
    o->why = (uint8_t)why;
}

biff_oauth_status biff_oauth_failed(biff_oauth *o, uint32_t now, int server_fault, const char *why)
{
    if (!o->inflight) return BIFF_OAUTH_E_STATE;
    o->inflight = IN_NONE;
    wipe(o->req, o->req_cap);
    set_detail(o, why && why[0] ? why : "exchange failed", NULL);
    retry(o, now, server_fault ? BIFF_OAUTH_WHY_SERVER : BIFF_OAUTH_WHY_NETWORK);
    return BIFF_OAUTH_OK;
}

/* An error code from the server is shown only when it is a plain word (never echoed bytes). */
static int plain_word(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    return 1;
}

static void token_ok(biff_oauth *o, uint32_t now, uint32_t expires_in, int has_expires)
{
    uint32_t life = has_expires && expires_in ? expires_in : ASSUMED_LIFETIME, margin;
    if (life > 0x7FFFFFFFu) life = 0x7FFFFFFFu;
    /* Refresh a quarter of the lifetime early, at most a minute: a check that starts just before
     * expiry still logs in, and a 60 s test token is refreshed every 45 s. */
    margin = life / 4 > 60 ? 60 : life / 4;
    o->have_access = 1;
    o->expires = now + life;
    o->due = now + life - margin;
    o->backoff = 0;
    o->refusal = o->refusal == 1 ? 2 : 0;
    o->user_code[0] = o->uri[0] = o->uri_complete[0] = 0;
    o->detail[0] = 0;
    to_state(o, BIFF_OAUTH_AUTHORIZED, BIFF_OAUTH_WHY_NONE);
}

/* The server failed this exchange: say how (a, then b), and try again later. */
static biff_oauth_status server_fail(biff_oauth *o, uint32_t now, const char *a, const char *b)
{
    set_detail(o, a, b);
    retry(o, now, BIFF_OAUTH_WHY_SERVER);
    return BIFF_OAUTH_OK;
}

/* A refresh was refused: the user must authorize again. */
static biff_oauth_status revoked(biff_oauth *o, const char *detail)
{
    wipe(o->access, o->access_cap);
    o->have_access = 0;
    needs_auth(o, BIFF_OAUTH_WHY_REVOKED);
    set_detail(o, detail, NULL);
    return BIFF_OAUTH_OK;
}

static int is(const char *s, const char *word)
{
    return !strcmp(s, word);
}

/* The error member of a reply (RFC 6749 5.2, RFC 8628 3.5). */
static biff_oauth_status on_error(biff_oauth *o, uint32_t now, uint8_t in, const char *err)
{
    if (in == IN_POLL && is(err, "authorization_pending")) {
        o->why = BIFF_OAUTH_WHY_PENDING;
    } else if (in == IN_POLL && is(err, "slow_down")) {
        o->interval += SLOW_DOWN_STEP;
        o->why = BIFF_OAUTH_WHY_SLOW_DOWN;
    } else if (in == IN_POLL && (is(err, "expired_token") || is(err, "invalid_grant") || is(err, "access_denied"))) {
        needs_auth(o, err[0] == 'a' ? BIFF_OAUTH_WHY_DENIED : BIFF_OAUTH_WHY_CODE_EXPIRED);
        return BIFF_OAUTH_OK;
    } else if (in == IN_REFRESH && is(err, "invalid_grant")) {
        return revoked(o, err);
    } else if (is(err, "invalid_client") || is(err, "unauthorized_client") || is(err, "unsupported_grant_type") ||
               is(err, "invalid_scope")) {
        if (in != IN_REFRESH) needs_auth(o, BIFF_OAUTH_WHY_NONE); /* the device code is of no use now */
        to_state(o, BIFF_OAUTH_CONFIG_ERROR, err[8] == 's' ? BIFF_OAUTH_WHY_SCOPE : BIFF_OAUTH_WHY_CLIENT);
        set_detail(o, err, NULL);
        return BIFF_OAUTH_OK;
    } else {
        return server_fail(o, now, plain_word(err) ? err : "unreadable error code", NULL);
    }
    o->due = now + o->interval;
    return BIFF_OAUTH_OK;
}

biff_oauth_status biff_oauth_response(biff_oauth *o, uint32_t now, unsigned http_status, int is_json, const char *body,
                                      size_t len)
{
    char err[32], type[16], hs[9] = "HTTP 000";
    uint32_t expires_in = 0, interval = 0;
    uint8_t in = o->inflight;
    biff_json_status js;
    const char *member = NULL;
    biff_json_field f[] = {
        { "error", BIFF_JSON_STRING, 0, err, sizeof err, NULL },
        { "token_type", BIFF_JSON_STRING, 0, type, sizeof type, NULL },
        { "expires_in", BIFF_JSON_UINT, 0, NULL, 0, &expires_in },
        { "interval", BIFF_JSON_UINT, 0, NULL, 0, &interval },
        { "user_code", BIFF_JSON_STRING, 0, o->user_code, sizeof o->user_code, NULL },
        { "verification_uri", BIFF_JSON_STRING, 0, o->uri, sizeof o->uri, NULL },
        { "verification_url", BIFF_JSON_STRING, 0, o->uri, sizeof o->uri, NULL }, /* Google's name */
        { "verification_uri_complete", BIFF_JSON_STRING, 0, o->uri_complete, sizeof o->uri_complete, NULL },
        { "device_code", BIFF_JSON_STRING, 0, o->refresh, o->refresh_cap, NULL },
    };
    if (!in) return BIFF_OAUTH_E_STATE;
    o->inflight = IN_NONE;
    wipe(o->req, o->req_cap);
    hs[5] = (char)('0' + http_status / 100 % 10);
    hs[6] = (char)('0' + http_status / 10 % 10);
    hs[7] = (char)('0' + http_status % 10);
    if (http_status >= 300 && http_status < 400) return server_fail(o, now, hs, " redirect, not followed");
    if (in == IN_REFRESH && http_status == 400 && (!is_json || !len))
        return revoked(o, "HTTP 400 without an error code"); /* glewlwyd 2.7's invalid_grant */
    if (!is_json) return server_fail(o, now, hs, ", not JSON");
    err[0] = type[0] = 0;
    /* Tokens and the device code are read only once the reply is known to be a success, so an
     * error reply never touches the ones held. */
    js = biff_json_read(body, len, f, in == IN_DEVICE ? 8 : 4, NULL, &member);
    if (js == BIFF_JSON_OK && f[0].found) return on_error(o, now, in, err);
    if (js == BIFF_JSON_OK && http_status != 200) return server_fail(o, now, hs, NULL);
    if (js == BIFF_JSON_OK && in == IN_DEVICE) {
        /* The device code goes where the refresh token would be (there is none now). */
        js = biff_json_read(body, len, f + 8, 1, NULL, &member);
        if (js == BIFF_JSON_OK) {
            const char *lacks = !f[8].found        ? "device_code"
                                : !o->user_code[0] ? "user_code"
                                : !o->uri[0]       ? "verification_uri"
                                : !f[2].found      ? "expires_in"
                                                   : NULL;
            if (lacks) {
                needs_auth(o, BIFF_OAUTH_WHY_NONE);
                to_state(o, BIFF_OAUTH_STARTING, BIFF_OAUTH_WHY_NONE);
                return server_fail(o, now, "reply lacks ", lacks);
            }
            o->interval = f[3].found && interval ? (interval > 300 ? 300 : interval) : POLL_DEFAULT;
            o->code_expires = now + (expires_in > 86400 ? 86400 : expires_in);
            o->due = now + o->interval;
            o->backoff = 0;
            o->detail[0] = 0;
            to_state(o, BIFF_OAUTH_WAITING_USER, BIFF_OAUTH_WHY_PENDING);
            return BIFF_OAUTH_OK;
        }
    } else if (js == BIFF_JSON_OK) {
        biff_json_field t[] = {
            { "access_token", BIFF_JSON_STRING, 0, o->access, o->access_cap, NULL },
            { "refresh_token", BIFF_JSON_STRING, 0, o->refresh, o->refresh_cap, NULL },
        };
        if (type[0] && strcmp(type, "Bearer") && strcmp(type, "bearer") && strcmp(type, "BEARER"))
            return server_fail(o, now, "token type is not Bearer", NULL);
        /* The refresh token (or the device code) is replaced only when the reply has one. */
        js = biff_json_read(body, len, t, 2, NULL, &member);
        if (js == BIFF_JSON_OK && t[0].found && o->access[0]) {
            if (t[1].found)
                o->gen++;
            else if (in == IN_POLL)
                drop_refresh(o); /* the device code is not a refresh token */
            token_ok(o, now, expires_in, f[2].found);
            return BIFF_OAUTH_OK;
        }
        o->have_access = 0; /* a failed read wiped what it wrote */
        if (t[1].found || (member && is(member, "refresh_token"))) o->gen++;
        if (js == BIFF_JSON_OK) return server_fail(o, now, "reply lacks access_token", NULL);
    }
    if (!o->refresh[0] && in != IN_DEVICE)
        needs_auth(o, BIFF_OAUTH_WHY_NO_TOKEN); /* a half-read reply cost the refresh token or code */
    else
        retry(o, now, BIFF_OAUTH_WHY_SERVER);
    set_detail(o, "reply: ", biff_json_strerror(js));
    if (member) {
        size_t n = strlen(o->detail), m = strlen(member);
        if (n + 4 + m < sizeof o->detail) {
            memcpy(o->detail + n, " in ", 4);
            memcpy(o->detail + n + 4, member, m + 1);
        }
    }
    return BIFF_OAUTH_OK;
}

biff_oauth_status biff_oauth_token_refused(biff_oauth *o, uint32_t now)
{
    if (o->state != BIFF_OAUTH_AUTHORIZED && o->state != BIFF_OAUTH_REFRESHING) return BIFF_OAUTH_E_STATE;
    if (o->refusal == 2 && o->have_access) {
        /* This token is the one the last refusal got us: refreshing again would loop. */
        o->refusal = 0;
        set_detail(o, "fresh tokens refused too", NULL);
        return BIFF_OAUTH_E_REFUSED;
    }
    wipe(o->access, o->access_cap);
    o->have_access = 0;
    if (!o->refresh[0]) {
        needs_auth(o, BIFF_OAUTH_WHY_NO_TOKEN);
        return BIFF_OAUTH_OK;
    }
    o->refusal = 1;
    if (!o->inflight) {
        o->due = now;
        to_state(o, BIFF_OAUTH_REFRESHING, BIFF_OAUTH_WHY_TOKEN_REFUSED);
    }
    return BIFF_OAUTH_OK;
}

biff_oauth_state biff_oauth_get_state(const biff_oauth *o)
{
    return (biff_oauth_state)o->state;
}

biff_oauth_why biff_oauth_get_why(const biff_oauth *o)
{
    return (biff_oauth_why)o->why;
}

const char *biff_oauth_state_text(const biff_oauth *o)
{
    /* The reason, when there is one, says more than the state. */
    static const char *const why[] = {
        NULL,
        "needs authorization",
        "waiting for approval",
        "waiting for approval (polling slower)",
        "needs authorization: the code expired",
        "needs authorization: access was denied",
        "needs authorization: access was revoked",
        "server refused the client id or secret",
        "server refused the scope",
        "authorization server failed; retrying",
        "authorization server unreachable; retrying",
        "mail server refused the token; refreshing",
    };
    static const char *const state[] = { "needs authorization", "asking for a code",    "waiting for approval",
                                         "authorized",          "refreshing the token", "server refused the client" };
    return why[o->why] ? why[o->why] : state[o->state];
}

const char *biff_oauth_detail(const biff_oauth *o)
{
    return o->detail;
}

const char *biff_oauth_user_code(const biff_oauth *o)
{
    return o->user_code;
}

const char *biff_oauth_verification_uri(const biff_oauth *o)
{
    return o->uri;
}

const char *biff_oauth_verification_uri_complete(const biff_oauth *o)
{
    return o->uri_complete;
}

uint32_t biff_oauth_code_expires(const biff_oauth *o)
{
    return o->code_expires;
}

const char *biff_oauth_access_token(const biff_oauth *o, uint32_t now)
{
    return o->have_access && (int32_t)(now - o->expires) < 0 ? o->access : NULL;
}

const char *biff_oauth_refresh_token(const biff_oauth *o)
{
    return o->state == BIFF_OAUTH_WAITING_USER || o->state == BIFF_OAUTH_STARTING ? "" : o->refresh;
}

uint16_t biff_oauth_refresh_gen(const biff_oauth *o)
{
    return o->gen;
}

uint32_t biff_oauth_due(const biff_oauth *o)
{
    if (o->state == BIFF_OAUTH_WAITING_USER && (int32_t)(o->code_expires - o->due) < 0) return o->code_expires;
    return o->due;
}

int biff_oauth_in_flight(const biff_oauth *o)
{
    return o->inflight != 0;
}

void biff_oauth_clear(biff_oauth *o)
{
    if (o->access) wipe(o->access, o->access_cap);
    if (o->refresh) wipe(o->refresh, o->refresh_cap);
    if (o->req) wipe(o->req, o->req_cap);
    o->have_access = 0;
}

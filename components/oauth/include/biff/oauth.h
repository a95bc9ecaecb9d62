/*
 * OAuth2 for one mail account, sans-I/O: the device authorization grant (RFC 8628) and the
 * refresh of access tokens (RFC 6749 section 6). It never touches the network or a clock: the
 * caller passes the time in (seconds, monotonic), asks biff_oauth_next() what to do, sends the
 * HTTPS request it wrote over the project's transport + TLS layers, and hands back the response.
 * Client authentication is client_secret_post (RFC 6749 2.3.1) or none (public client).
 *
 * Buffers are the caller's. The device code is kept in the refresh-token buffer while the flow
 * runs: there is no refresh token then. Tokens never appear in biff_oauth_detail().
 */
#ifndef BIFF_OAUTH_H
#define BIFF_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#ifndef BIFF_OAUTH_USER_CODE_MAX
#define BIFF_OAUTH_USER_CODE_MAX 24
#endif
#ifndef BIFF_OAUTH_URI_MAX
#define BIFF_OAUTH_URI_MAX 160
#endif
#ifndef BIFF_OAUTH_HOST_MAX
#define BIFF_OAUTH_HOST_MAX 64
#endif

typedef enum {
    BIFF_OAUTH_OK = 0,
    BIFF_OAUTH_E_ARG,     /* missing setting, URL not https://host[:port]/path, buffer too small */
    BIFF_OAUTH_E_STATE,   /* call out of order (a response nobody asked for) */
    BIFF_OAUTH_E_REFUSED, /* the mail server refused a token fresh from a refresh: not a token problem */
} biff_oauth_status;

/** Account settings (strings stay the caller's). A preset fills the three URLs/scope. */
typedef struct {
    const char *device_url; /* https://host[:port]/path of the device authorization endpoint */
    const char *token_url;  /* https://host[:port]/path of the token endpoint */
    const char *client_id;
    const char *client_secret; /* NULL or "": a public client */
    const char *scope;         /* space-separated */
} biff_oauth_config;

/** Where the account is; each has a plain-language text (biff_oauth_state_text). */
typedef enum {
    BIFF_OAUTH_NEEDS_AUTH = 0, /* no usable refresh token: start the device flow (why: biff_oauth_why) */
    BIFF_OAUTH_STARTING,       /* asking the server for a user code */
    BIFF_OAUTH_WAITING_USER,   /* showing the code, polling until the user approves */
    BIFF_OAUTH_AUTHORIZED,     /* an access token is valid */
    BIFF_OAUTH_REFRESHING,     /* getting a new access token with the refresh token */
    BIFF_OAUTH_CONFIG_ERROR,   /* the server refused the client itself (id, secret, grant, scope) */
} biff_oauth_state;

/** The last thing that happened, for the status page and log. */
typedef enum {
    BIFF_OAUTH_WHY_NONE = 0,
    BIFF_OAUTH_WHY_NO_TOKEN,      /* never authorized */
    BIFF_OAUTH_WHY_PENDING,       /* authorization_pending */
    BIFF_OAUTH_WHY_SLOW_DOWN,     /* slow_down: polling 5 s slower */
    BIFF_OAUTH_WHY_CODE_EXPIRED,  /* expired_token, or the code's time ran out */
    BIFF_OAUTH_WHY_DENIED,        /* access_denied */
    BIFF_OAUTH_WHY_REVOKED,       /* invalid_grant on refresh: access revoked or password changed */
    BIFF_OAUTH_WHY_CLIENT,        /* invalid_client, unauthorized_client, unsupported_grant_type */
    BIFF_OAUTH_WHY_SCOPE,         /* invalid_scope */
    BIFF_OAUTH_WHY_SERVER,        /* HTTP error, not JSON, malformed reply: retried */
    BIFF_OAUTH_WHY_NETWORK,       /* the caller could not complete the exchange: retried */
    BIFF_OAUTH_WHY_TOKEN_REFUSED, /* the mail server refused the access token: refreshing */
} biff_oauth_why;

/** What the caller does next. */
typedef enum {
    BIFF_OAUTH_SEND = 0, /* send req->data (req->len bytes) over TLS to req->host:req->port, then
                            biff_oauth_response() or biff_oauth_failed() */
    BIFF_OAUTH_WAIT,     /* nothing to do before req->wake */
    BIFF_OAUTH_READY,    /* biff_oauth_access_token() is valid; call again at req->wake */
    BIFF_OAUTH_STOPPED,  /* needs the user (biff_oauth_authorize) or a config fix */
} biff_oauth_action;

typedef struct {
    const char *host; /* server name for the connection, SNI and certificate check */
    uint16_t port;
    const char *data; /* the HTTP request (holds secrets: send it, do not log it) */
    size_t len;
    uint32_t wake; /* WAIT/READY: when to call biff_oauth_next() again */
} biff_oauth_request;

/* Caller-allocated; fields are private. */
typedef struct {
    const biff_oauth_config *cfg;
    char *access, *refresh, *req; /* caller's buffers */
    size_t access_cap, refresh_cap, req_cap;
    uint32_t due;          /* next request (poll, retry, refresh) */
    uint32_t expires;      /* access token valid before this */
    uint32_t code_expires; /* the user code's deadline */
    uint32_t interval;     /* device flow poll interval */
    uint32_t backoff;      /* retry delay after a failure */
    uint16_t gen;          /* changes whenever the refresh token changes: persist it then */
    uint8_t state, why, inflight, have_access;
    uint8_t refusal; /* 1: refreshing because the mail server refused; 2: token from that */
    char user_code[BIFF_OAUTH_USER_CODE_MAX];
    char uri[BIFF_OAUTH_URI_MAX];
    char uri_complete[BIFF_OAUTH_URI_MAX];
    char host[BIFF_OAUTH_HOST_MAX];
    char detail[96];
} biff_oauth;

/**
 * Prepare an account. access/refresh/req are the caller's buffers (tokens: ~2 KB for
 * Microsoft, the request must hold the refresh token plus ~300 bytes). refresh_token is a
 * stored refresh token (NULL/"": none, the account needs authorization).
 */
biff_oauth_status biff_oauth_init(biff_oauth *o, const biff_oauth_config *cfg, char *access, size_t access_cap,
                                  char *refresh, size_t refresh_cap, char *req, size_t req_cap,
                                  const char *refresh_token, uint32_t now);

/**
 * 1 when url is an endpoint biff_oauth_init() takes: https://HOST[:PORT]/PATH, the host shorter
 * than BIFF_OAUTH_HOST_MAX, a port 1-65535, no spaces or control characters; else 0.
 */
int biff_oauth_url_ok(const char *url);

/**
 * Endpoints and scope of a preset: "google", "microsoft" (tenant "common"); "custom" leaves
 * cfg as it is. Returns -1 for an unknown name. The client id is always the user's.
 */
int biff_oauth_preset(const char *name, biff_oauth_config *cfg);

/** What to do now (fills *req). */
biff_oauth_action biff_oauth_next(biff_oauth *o, uint32_t now, biff_oauth_request *req);

/**
 * The response to the request from biff_oauth_next(): HTTP status, whether it said JSON, and
 * its body. A 302 or an HTML error page is a server failure, retried with backoff.
 */
biff_oauth_status biff_oauth_response(biff_oauth *o, uint32_t now, unsigned http_status, int is_json, const char *body,
                                      size_t len);

/**
 * The exchange failed without a usable response: retried with backoff. server_fault: the server
 * answered but broke HTTP (framing, sizes, too slow to finish); 0: the link failed (connect,
 * TLS, reset). why is shown to the user (never put response bytes in it).
 */
biff_oauth_status biff_oauth_failed(biff_oauth *o, uint32_t now, int server_fault, const char *why);

/**
 * The mail server refused the access token (the engines' biff_check_oauth_refused()): refresh
 * now. Returns BIFF_OAUTH_E_REFUSED when the refused token came from a refresh made for the
 * previous refusal, so a server that refuses every token does not cause a refresh loop.
 */
biff_oauth_status biff_oauth_token_refused(biff_oauth *o, uint32_t now);

/** Start (or restart) the device authorization: the user asked for it. */
void biff_oauth_authorize(biff_oauth *o, uint32_t now);

/** Where the account is. */
biff_oauth_state biff_oauth_get_state(const biff_oauth *o);
/** The reason for the last change of state (BIFF_OAUTH_WHY_NONE when none). */
biff_oauth_why biff_oauth_get_why(const biff_oauth *o);
/** "waiting for approval", "needs authorization: access was revoked", ... */
const char *biff_oauth_state_text(const biff_oauth *o);
/** What went wrong last, for a person (never a token); "" when nothing did. */
const char *biff_oauth_detail(const biff_oauth *o);
/** WAITING_USER: the code the user enters ("" otherwise). */
const char *biff_oauth_user_code(const biff_oauth *o);
/** WAITING_USER: the page to enter it on. */
const char *biff_oauth_verification_uri(const biff_oauth *o);
/** WAITING_USER: the page with the code in it, or "" when the server sends none (Microsoft). */
const char *biff_oauth_verification_uri_complete(const biff_oauth *o);
/** WAITING_USER: when the code expires (for a countdown). */
uint32_t biff_oauth_code_expires(const biff_oauth *o);
/** The access token while READY, else NULL. */
const char *biff_oauth_access_token(const biff_oauth *o, uint32_t now);
/** The refresh token to store ("" when there is none: erase the stored one). */
const char *biff_oauth_refresh_token(const biff_oauth *o);
/** Changes whenever the refresh token does: store it when this differs from the stored gen. */
uint16_t biff_oauth_refresh_gen(const biff_oauth *o);
/**
 * When biff_oauth_next() next has something to do (send, or the code runs out), without doing
 * it: a host with several accounts plans its sessions by this. Meaningful while STARTING,
 * WAITING_USER, REFRESHING and AUTHORIZED (the refresh).
 */
uint32_t biff_oauth_due(const biff_oauth *o);
/** Non-zero while a request from biff_oauth_next() awaits its response or failure. */
int biff_oauth_in_flight(const biff_oauth *o);
/** Wipe the tokens and the request buffer. */
void biff_oauth_clear(biff_oauth *o);

#endif

#define _DEFAULT_SOURCE
#include "httpd.h"

#include <arpa/inet.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "biff/account.h"
#include "biff/webguard.h"
#include "log.h"

#define PAGE_MAX     (2u * 1024u * 1024u)
#define ACK_BODY_MAX 256

static struct MHD_Daemon *daemon_handle;
static httpd_shared *shared;
static char page[PAGE_MAX];
/* Who may ask (DNS rebinding): copies, so a config reload cannot change them under the thread. */
static char bound_addr[64];
static char host_names[BIFF_STATUS_HOSTS_MAX][64];
static const char *host_list[BIFF_STATUS_HOSTS_MAX];
static biff_webguard guard;

typedef struct {
    char body[ACK_BODY_MAX];
    size_t len;
    int too_long;
} post_ctx;

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *type, const char *body,
                                 size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    /* not no-referrer: with it browsers send "Origin: null" on our own form, which the
     * acknowledge check must refuse (sandboxed frames send it too) */
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result plain(struct MHD_Connection *c, unsigned code, const char *msg)
{
    return send_text(c, code, "text/plain; charset=utf-8", msg, strlen(msg));
}

static int same_text(const char *a, const char *b, size_t n)
{
    unsigned char d = 0; /* constant time: the token is a secret of sorts */
    for (size_t i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static const char *header(struct MHD_Connection *c, const char *name, size_t *len)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    *len = v ? strlen(v) : 0;
    return v;
}

/* A POST (acknowledge, authorize again) must come from our own page: right token, and a
 * browser's Origin (or Sec-Fetch-Site) must name one of our names, not merely agree with Host. */
static const char *post_refusal(struct MHD_Connection *c, const post_ctx *p)
{
    size_t ol, sl;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "application/x-www-form-urlencoded", 33) != 0) return "form expected";
    const char *origin = header(c, "Origin", &ol), *site = header(c, "Sec-Fetch-Site", &sl);
    if (biff_webguard_origin(&guard, origin, ol, site, sl) != BIFF_WEBGUARD_OK) return "cross-site request refused";
    if (p->too_long) return "bad form";
    const char *tok = NULL;
    for (const char *f = p->body; f && *f; f = strchr(f, '&') ? strchr(f, '&') + 1 : NULL) {
        if (strncmp(f, "csrf=", 5) == 0) tok = f + 5;
    }
    if (!tok) return "missing token";
    size_t len = strcspn(tok, "&");
    if (len != 32 || !same_text(tok, shared->csrf, 32)) return "wrong token (reload the page)";
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req)
{
    (void)cls;
    (void)version;
    size_t hl;
    const char *host = header(c, "Host", &hl);
    if (biff_webguard_host(&guard, host, hl) != BIFF_WEBGUARD_OK) {
        /* answered at the first call, so nothing was allocated for it */
        log_msg(LOG_LVL_WARN, "status page: request for another host refused (DNS rebinding?)");
        struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(c, 421, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(method, "POST") == 0) {
        int authorize = strcmp(url, "/authorize") == 0;
        if (!authorize && strcmp(url, "/ack") != 0) return plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
        post_ctx *p = *req;
        if (!p) {
            p = calloc(1, sizeof *p);
            if (!p) return MHD_NO;
            *req = p;
            return MHD_YES;
        }
        if (*upload_size) {
            if (p->len + *upload_size >= sizeof p->body)
                p->too_long = 1;
            else {
                memcpy(p->body + p->len, upload, *upload_size);
                p->len += *upload_size;
                p->body[p->len] = 0;
            }
            *upload_size = 0;
            return MHD_YES;
        }
        const char *why = post_refusal(c, p);
        if (why) {
            log_msg(LOG_LVL_WARN, "status page: %s refused: %s", authorize ? "authorize" : "acknowledge", why);
            return plain(c, MHD_HTTP_FORBIDDEN, why);
        }
        if (authorize) {
            const char *f = strstr(p->body, "account=");
            char *end = NULL;
            unsigned long i = f && (f == p->body || f[-1] == '&') ? strtoul(f + 8, &end, 10) : ULONG_MAX;
            pthread_mutex_lock(&shared->lock); /* the account list may be reloaded meanwhile */
            int ok = end && end != f + 8 && (*end == 0 || *end == '&') && i < shared->n && shared->accts[i].auth;
            if (ok) {
                log_msg(LOG_LVL_INFO, "status page: account %s: authorization started again", shared->accts[i].name);
                biff_agent_authorize(shared->agent, i);
            }
            pthread_mutex_unlock(&shared->lock);
            if (!ok) return plain(c, MHD_HTTP_BAD_REQUEST, "no such OAuth2 account\n");
        } else {
            biff_agent_request(shared->agent, BIFF_AGENT_REQ_ACK);
        }
        if (write(shared->wake_fd, "a", 1) < 0) { /* the main loop also polls the request */
        }
        struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "Location", "/");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    int json = strcmp(url, "/status.json") == 0;
    if (!json && strcmp(url, "/") != 0) return plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
    size_t len = 0;
    biff_status_status st;
    pthread_mutex_lock(&shared->lock);
    uint32_t now = (uint32_t)time(NULL);
    st = json ? biff_status_json(page, sizeof page, &len, shared->accts, shared->n, now, shared->problem, &shared->mqtt)
              : biff_status_html(page, sizeof page, &len, shared->accts, shared->n, now, shared->problem, &shared->mqtt,
                                 10, shared->csrf);
    enum MHD_Result ret;
    if (st != BIFF_STATUS_OK)
        ret = plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "status too large\n");
    else
        ret = send_text(c, MHD_HTTP_OK, json ? "application/json" : "text/html; charset=utf-8", page, len);
    pthread_mutex_unlock(&shared->lock);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **req, enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    free(*req);
    *req = NULL;
}

int httpd_start(const char *bind, const char (*hosts)[64], size_t n_hosts, httpd_shared *sh, unsigned *port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    char host[64];
    const char *colon = strrchr(bind, ':');
    if (!colon || (size_t)(colon - bind) >= sizeof host) {
        log_msg(LOG_LVL_ERROR, "status_bind '%s' is not ADDRESS:PORT", bind);
        return -1;
    }
    memcpy(host, bind, (size_t)(colon - bind));
    host[colon - bind] = 0;
    unsigned p = (unsigned)atoi(colon + 1);
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        size_t hl = strlen(host);
        if (hl < 2 || host[hl - 1] != ']') return -1;
        host[hl - 1] = 0;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return -1;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            log_msg(LOG_LVL_ERROR, "status_bind '%s': not a numeric address", bind);
            return -1;
        }
    }
    shared = sh;
    snprintf(bound_addr, sizeof bound_addr, "%s", host[0] == '[' ? host + 1 : host);
    for (size_t i = 0; i < n_hosts && i < BIFF_STATUS_HOSTS_MAX; i++) {
        snprintf(host_names[i], sizeof host_names[i], "%s", hosts[i]);
        host_list[i] = host_names[i];
    }
    guard = (biff_webguard){ bound_addr, host_list, n_hosts < BIFF_STATUS_HOSTS_MAX ? n_hosts : BIFF_STATUS_HOSTS_MAX };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    daemon_handle = MHD_start_daemon(flags, (uint16_t)p, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &ss,
                                     MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_CONNECTION_LIMIT,
                                     (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!daemon_handle) {
        log_msg(LOG_LVL_ERROR, "status page: cannot listen on %s (in use, or no such address)", bind);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : p;
    return 0;
}

void httpd_stop(void)
{
    if (daemon_handle) MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}

#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biff/webguard.h"
#include "board.h"
#include "lwip/apps/fs.h"
#include "lwip/apps/httpd.h"
#include "lwip/priv/tcp_priv.h" /* tcp_listen_pcbs: the listener httpd_init() made */

static web_render_fn renderer;
static web_ack_fn acker;
static const char *token;

static void *post_conn; /* the one POST being received */
static char post_body[64];
static size_t post_len;

#define RESPONSE(status, body)                                                                                         \
    "HTTP/1.0 " status "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"                             \
    "X-Content-Type-Options: nosniff\r\n\r\n" body "\n"
static const char r_404[] = RESPONSE("404 Not Found", "{\"error\":\"not found\"}");
static const char r_busy[] = RESPONSE("503 Service Unavailable", "{\"error\":\"busy, try again\"}");
static const char r_acked[] = RESPONSE("200 OK", "{\"acknowledged\":true}");
static const char r_refused[] = RESPONSE("403 Forbidden", "{\"acknowledged\":false}");
static const char r_misdirected[] = "HTTP/1.0 421 Misdirected Request\r\nContent-Length: 0\r\n\r\n";
static const char r_cross_site[] = "HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n";

/* Internal names for the POST answers: httpd looks a POST's response up like a file. A client
 * asking for them by name only gets the text, nothing is acknowledged. */
#define URI_ACKED   "/.acked"
#define URI_REFUSED "/.refused"
#if BIFF_FEATURE_OAUTH
#define URI_AUTHORIZING "/.authorizing"
static const char r_authorizing[] = RESPONSE("200 OK", "{\"authorizing\":true}");
static web_authorize_fn authorizer;
static unsigned char post_authorize; /* the POST being received is /authorize */

void web_on_authorize(web_authorize_fn fn)
{
    authorizer = fn;
}
#endif

static int serve(struct fs_file *f, const void *data, size_t len)
{
    f->data = (const char *)data;
    f->len = f->index = (int)len;
    f->flags = FS_FILE_FLAGS_HEADER_INCLUDED;
    return 1;
}

/* ---- /status.json in pieces ----
 * httpd reads the response piece by piece (dynamic file read) into its own buffer, and each
 * piece renders the whole response again, keeping only its window (biff/out.h): no buffer holds
 * the whole, so no model is too big for it. The first pass fixes the clock, the length for
 * Content-Length and the checksum of the whole; a piece whose rendering differs (the agent
 * changed the model between two pieces) ends the response short of its Content-Length, which
 * no client takes for a whole document. A change before the first byte went out starts over. */
#define HEAD_MAX 192 /* the header with a 32-character token */
static struct json_resp {
    const struct fs_file *file; /* NULL: free */
    uint32_t now;               /* the clock every piece renders */
    uint32_t sum;               /* checksum of the whole response */
    size_t body;                /* the body's length */
} resp[MEMP_NUM_TCP_PCB];       /* every connection may be reading one */

static struct json_resp *resp_of(const struct fs_file *f)
{
    for (size_t k = 0; k < MEMP_NUM_TCP_PCB; k++) {
        if (resp[k].file == f) return &resp[k];
    }
    return NULL;
}

static void render_response(biff_out *o, const struct json_resp *r)
{
    char head[HEAD_MAX];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %lu\r\n"
                     "Cache-Control: no-store\r\nX-CSRF-Token: %s\r\n\r\n",
                     (unsigned long)r->body, token);
    biff_out_put(o, head, h < 0 ? 0 : h < HEAD_MAX ? (size_t)h : HEAD_MAX - 1);
    renderer(o, r->now);
}

/* The first pass: length and checksum of the response as the model is now. */
static void measure(struct fs_file *f, struct json_resp *r)
{
    biff_out o = { .buf = NULL };
    renderer(&o, r->now);
    r->body = o.pos;
    o = (biff_out){ .buf = NULL };
    render_response(&o, r);
    r->sum = o.sum;
    f->len = (int)o.pos;
}

static int serve_json(struct fs_file *f)
{
    struct json_resp *r = resp_of(NULL);
    if (!r) return serve(f, r_busy, sizeof r_busy - 1);
    r->file = f;
    r->now = (uint32_t)biff_board_time();
    measure(f, r);
    f->data = NULL; /* httpd reads it: fs_read_custom */
    f->index = 0;
    f->flags = FS_FILE_FLAGS_HEADER_INCLUDED;
    return 1;
}

int fs_read_custom(struct fs_file *file, char *buffer, int count)
{
    struct json_resp *r = resp_of(file);
    if (!r || count <= 0) return FS_READ_EOF;
    for (int again = file->index == 0; /* until a rendering matches the first pass */; again = 0) {
        int left = file->len - file->index;
        int n = count < left ? count : left;
        if (n <= 0) return FS_READ_EOF;
        biff_out o = { .buf = buffer, .cap = (size_t)n, .skip = (size_t)file->index };
        render_response(&o, r);
        if (o.pos == (size_t)file->len && o.sum == r->sum) {
            file->index += n;
            return n;
        }
        if (!again) return FS_READ_EOF; /* the model changed while the response was going out */
        measure(file, r);
    }
}

/* ---- Host and Origin, before httpd sees a request (DNS rebinding, biff/webguard.h) ----
 * lwIP's httpd shows nobody a GET's headers before it answers, so the check sits between TCP
 * and httpd: a connection's bytes go on to httpd as they come (it keeps them until the request
 * head is whole), but the piece that completes the head goes on only after the whole head was
 * judged. A refused request gets its method's first byte spoiled: httpd then takes it for an
 * unknown method and asks for its 501 page, which is the refusal (421 or 403, no body).
 * With LWIP_ALTCP (the MQTT builds) httpd sits on altcp_tcp, whose callbacks are then the ones
 * on the TCP pcb: the guard stays under them, and `hs` is altcp's pcb instead (only a key). */
static biff_webguard guard;
static struct {
    void *hs;          /* the connection's callback argument: httpd's state, or altcp's pcb */
    struct pbuf *head; /* its first piece, httpd's chain of the head so far */
} pending[MEMP_NUM_TCP_PCB];
static char head_copy[LWIP_HTTPD_MAX_REQ_LENGTH + 1];
static const char *refusal; /* the answer to the 501 page httpd asks for next */
static tcp_accept_fn httpd_accept;
static tcp_recv_fn httpd_recv;
static tcp_err_fn httpd_err;

static unsigned slot_of(void *hs)
{
    unsigned k = 0;
    while (k < MEMP_NUM_TCP_PCB && pending[k].hs != hs) k++;
    return k;
}

static void guard_err(void *arg, err_t err)
{
    unsigned k = slot_of(arg);
    if (k < MEMP_NUM_TCP_PCB) pending[k].hs = NULL;
    httpd_err(arg, err);
}

static err_t guard_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    unsigned k = slot_of(arg);
    if (k == MEMP_NUM_TCP_PCB) { /* its slot went to a newer connection */
        if (p) pbuf_free(p);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    struct pbuf *head = pending[k].head ? pending[k].head : p;
    size_t n = 0;
    if (p && err == ERR_OK) {
        n = pbuf_copy_partial(head, head_copy, sizeof head_copy - 1, 0);
        if (head != p) n += pbuf_copy_partial(p, head_copy + n, (u16_t)(sizeof head_copy - 1 - n), 0);
        head_copy[n] = 0;
        if (!strstr(head_copy, "\r\n\r\n") && n < sizeof head_copy - 1) {
            pending[k].head = head;
            return httpd_recv(arg, pcb, p, err);
        }
        biff_webguard_status st = biff_webguard_request(&guard, head_copy, n);
        if (st != BIFF_WEBGUARD_OK) {
            refusal = st == BIFF_WEBGUARD_E_HOST ? r_misdirected : r_cross_site;
            ((char *)head->payload)[0] = '!';
        }
    }
    pending[k].hs = NULL;
    tcp_recv(pcb, httpd_recv);
    tcp_err(pcb, httpd_err);
    err_t r = httpd_recv(arg, pcb, p, err);
    refusal = NULL;
    return r;
}

static err_t guard_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    err_t r = httpd_accept(arg, pcb, err);
    if (r != ERR_OK || !pcb || !pcb->callback_arg) return r;
    unsigned k = slot_of(pcb->callback_arg); /* left by a connection httpd closed mid-head */
    if (k == MEMP_NUM_TCP_PCB) k = slot_of(NULL);
    if (k == MEMP_NUM_TCP_PCB) k = (unsigned)(pcb->local_port ^ pcb->remote_port) % MEMP_NUM_TCP_PCB;
    pending[k].hs = pcb->callback_arg;
    pending[k].head = NULL;
    httpd_recv = pcb->recv;
    httpd_err = pcb->errf;
    tcp_recv(pcb, guard_recv);
    tcp_err(pcb, guard_err);
    return ERR_OK;
}

int fs_open_custom(struct fs_file *file, const char *name)
{
    if (!strcmp(name, "/501.html") && refusal) return serve(file, refusal, strlen(refusal));
    if (!strcmp(name, "/index.html")) return serve(file, web_page, web_page_len);
    if (!strcmp(name, "/status.json")) return serve_json(file);
    if (!strcmp(name, URI_ACKED)) return serve(file, r_acked, sizeof r_acked - 1);
    if (!strcmp(name, URI_REFUSED)) return serve(file, r_refused, sizeof r_refused - 1);
#if BIFF_FEATURE_OAUTH
    if (!strcmp(name, URI_AUTHORIZING)) return serve(file, r_authorizing, sizeof r_authorizing - 1);
#endif
    if (!strcmp(name, "/404.html")) return serve(file, r_404, sizeof r_404 - 1);
    return 0;
}

void fs_close_custom(struct fs_file *file)
{
    struct json_resp *r = resp_of(file);
    if (r) r->file = NULL;
}

err_t httpd_post_begin(void *connection, const char *uri, const char *http_request, u16_t http_request_len,
                       int content_len, char *response_uri, u16_t response_uri_len, u8_t *post_auto_wnd)
{
    (void)http_request;
    (void)http_request_len;
    (void)post_auto_wnd;
    int authorize = 0;
#if BIFF_FEATURE_OAUTH
    authorize = authorizer && !strcmp(uri, "/authorize");
#endif
    if (!authorize && strcmp(uri, "/ack") != 0) {
        snprintf(response_uri, response_uri_len, "/404.html");
        return ERR_VAL;
    }
    if (post_conn || content_len < 0 || (size_t)content_len >= sizeof post_body) {
        snprintf(response_uri, response_uri_len, URI_REFUSED);
        return ERR_VAL;
    }
    post_conn = connection;
    post_len = 0;
#if BIFF_FEATURE_OAUTH
    post_authorize = (unsigned char)authorize; /* of the one POST taken, not of one refused meanwhile */
#endif
    return ERR_OK;
}

err_t httpd_post_receive_data(void *connection, struct pbuf *p)
{
    if (connection == post_conn) {
        post_len += pbuf_copy_partial(p, post_body + post_len, (u16_t)(sizeof post_body - 1 - post_len), 0);
    }
    pbuf_free(p);
    return ERR_OK;
}

/* Same time for every wrong token of the right length. */
static int token_ok(char *body)
{
#if BIFF_FEATURE_OAUTH
    /* /authorize: "csrf=TOKEN&account=N"; the token is judged up to the '&' */
    char *amp = strchr(body, '&');
    if (post_authorize != (amp != NULL)) return 0;
    if (amp) {
        if (strncmp(amp + 1, "account=", 8) != 0 || amp[9] < '0' || amp[9] > '9') return 0;
        *amp = 0;
    }
#endif
    size_t n = strlen(token);
    if (strncmp(body, "csrf=", 5) != 0 || strlen(body + 5) != n) return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(body[5 + i] ^ token[i]);
    return diff == 0;
}

void httpd_post_finished(void *connection, char *response_uri, u16_t response_uri_len)
{
    int ok = 0;
    const char *answer = URI_ACKED;
    if (connection == post_conn) {
        post_body[post_len] = 0;
        ok = token_ok(post_body);
        post_conn = NULL;
    }
#if BIFF_FEATURE_OAUTH
    if (ok && post_authorize) {
        unsigned long account = strtoul(post_body + strlen(post_body) + 9, NULL, 10);
        ok = authorizer((unsigned)(account > 0xFFFFu ? 0xFFFFu : account)) == 0;
        answer = URI_AUTHORIZING;
    } else if (ok) {
        acker();
    }
#else
    if (ok) acker();
#endif
    snprintf(response_uri, response_uri_len, "%s", ok ? answer : URI_REFUSED);
}

void web_start(web_render_fn render, web_ack_fn ack, const char *csrf, const char *const *names, size_t n_names)
{
    renderer = render;
    acker = ack;
    token = csrf;
    guard = (biff_webguard){ "", names, n_names }; /* bound to every address: literals */
    httpd_init();
    for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
        if (l->local_port == HTTPD_SERVER_PORT && l->accept != guard_accept) {
            httpd_accept = l->accept;
            tcp_accept((struct tcp_pcb *)l, guard_accept);
        }
    }
}

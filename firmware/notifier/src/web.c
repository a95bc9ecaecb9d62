#include "web.h"

#include <stdio.h>
#include <string.h>

#include "lwip/apps/fs.h"
#include "lwip/apps/httpd.h"

#define JSON_MAX 2048 /* a few accounts of status JSON, header included */
#define HEAD_ROOM 160 /* the header is written in front of the body, right-aligned */

static web_render_fn renderer;
static web_ack_fn acker;
static const char *token;

static char json[JSON_MAX];
static unsigned char json_busy; /* httpd reads json[] until it closes the file */

static void *post_conn; /* the one POST /ack being received */
static char post_body[48];
static size_t post_len;

#define RESPONSE(status, body)                                                                  \
    "HTTP/1.0 " status "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"      \
    "X-Content-Type-Options: nosniff\r\n\r\n" body "\n"
static const char r_404[] = RESPONSE("404 Not Found", "{\"error\":\"not found\"}");
static const char r_busy[] = RESPONSE("503 Service Unavailable", "{\"error\":\"busy, try again\"}");
static const char r_acked[] = RESPONSE("200 OK", "{\"acknowledged\":true}");
static const char r_refused[] = RESPONSE("403 Forbidden", "{\"acknowledged\":false}");

/* Internal names for the POST answers: httpd looks a POST's response up like a file. A client
 * asking for them by name only gets the text, nothing is acknowledged. */
#define URI_ACKED "/.acked"
#define URI_REFUSED "/.refused"

static int serve(struct fs_file *f, const void *data, size_t len)
{
    f->data = (const char *)data;
    f->len = f->index = (int)len;
    f->flags = FS_FILE_FLAGS_HEADER_INCLUDED;
    return 1;
}

static int serve_json(struct fs_file *f)
{
    if (json_busy) return serve(f, r_busy, sizeof r_busy - 1);
    size_t n = renderer(json + HEAD_ROOM, sizeof json - HEAD_ROOM);
    char head[HEAD_ROOM];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: application/json\r\nContent-Length: %u\r\n"
                     "Cache-Control: no-store\r\nX-CSRF-Token: %s\r\n\r\n",
                     n ? "200 OK" : "500 Internal Server Error", (unsigned)n, token);
    if (h < 0 || h >= HEAD_ROOM) return serve(f, r_busy, sizeof r_busy - 1);
    memcpy(json + HEAD_ROOM - h, head, (size_t)h);
    json_busy = 1;
    return serve(f, json + HEAD_ROOM - h, (size_t)h + n);
}

int fs_open_custom(struct fs_file *file, const char *name)
{
    if (!strcmp(name, "/index.html")) return serve(file, web_page, web_page_len);
    if (!strcmp(name, "/status.json")) return serve_json(file);
    if (!strcmp(name, URI_ACKED)) return serve(file, r_acked, sizeof r_acked - 1);
    if (!strcmp(name, URI_REFUSED)) return serve(file, r_refused, sizeof r_refused - 1);
    if (!strcmp(name, "/404.html")) return serve(file, r_404, sizeof r_404 - 1);
    return 0;
}

void fs_close_custom(struct fs_file *file)
{
    if (file->data >= json && file->data < json + sizeof json) json_busy = 0;
}

err_t httpd_post_begin(void *connection, const char *uri, const char *http_request,
                       u16_t http_request_len, int content_len, char *response_uri,
                       u16_t response_uri_len, u8_t *post_auto_wnd)
{
    (void)http_request;
    (void)http_request_len;
    (void)post_auto_wnd;
    if (strcmp(uri, "/ack") != 0) {
        snprintf(response_uri, response_uri_len, "/404.html");
        return ERR_VAL;
    }
    if (post_conn || content_len < 0 || (size_t)content_len >= sizeof post_body) {
        snprintf(response_uri, response_uri_len, URI_REFUSED);
        return ERR_VAL;
    }
    post_conn = connection;
    post_len = 0;
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
static int token_ok(const char *body)
{
    size_t n = strlen(token);
    if (strncmp(body, "csrf=", 5) != 0 || strlen(body + 5) != n) return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(body[5 + i] ^ token[i]);
    return diff == 0;
}

void httpd_post_finished(void *connection, char *response_uri, u16_t response_uri_len)
{
    int ok = 0;
    if (connection == post_conn) {
        post_body[post_len] = 0;
        ok = token_ok(post_body);
        post_conn = NULL;
    }
    if (ok) acker();
    snprintf(response_uri, response_uri_len, "%s", ok ? URI_ACKED : URI_REFUSED);
}

void web_start(web_render_fn render, web_ack_fn ack, const char *csrf)
{
    renderer = render;
    acker = ack;
    token = csrf;
    httpd_init();
}

/*
 * The status page: a tiny HTTP/1.0 server on lwIP raw TCP, one request per connection and one
 * connection at a time (a second one gets 503). GET /status.json, GET / (HTML, no scripts),
 * POST /ack with the page's CSRF token (acknowledge new mail); anything else is 404.
 * Bodies come from the firmware's renderer (biff/status.h), which holds no secrets.
 */
#ifndef NOTIFIER_STATUS_HTTP_H
#define NOTIFIER_STATUS_HTTP_H

#include <stddef.h>

/** Render JSON (html == 0) or HTML into buf; returns the length, 0 when it does not fit. */
typedef size_t (*status_render_fn)(char *buf, size_t cap, int html);
/** Acknowledge new mail (a POST /ack with the right token). */
typedef void (*status_ack_fn)(void);

/** Listen on TCP port; csrf (kept by the caller) must come back in the /ack form. 0 on success. */
int status_http_start(unsigned port, status_render_fn render, status_ack_fn ack, const char *csrf);

#endif

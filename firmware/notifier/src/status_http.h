/*
 * The status page: a tiny HTTP/1.0 server on lwIP raw TCP (port 80), one request per
 * connection. GET /status.json or GET / (HTML, no scripts, no external assets); anything
 * else is 404. The body comes from the firmware's renderer, which never writes secrets.
 */
#ifndef NOTIFIER_STATUS_HTTP_H
#define NOTIFIER_STATUS_HTTP_H

#include <stddef.h>

/** Render the status into buf (capacity cap) as JSON (html == 0) or HTML; returns length. */
typedef size_t (*status_render_fn)(char *buf, size_t cap, int html);

/** Listen on TCP port; 0 on success. */
int status_http_start(unsigned port, status_render_fn render);

#endif

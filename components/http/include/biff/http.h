/*
 * A sans-I/O HTTP/1.1 client for one request per connection: the OAuth2 token and device
 * endpoints. biff_http_post_form() writes a POST of an application/x-www-form-urlencoded body
 * into a caller buffer; biff_http_feed() takes the response in pieces of any size and puts the
 * body, de-chunked, into a caller buffer. No sockets, no timers, no malloc; every size bounded.
 */
#ifndef BIFF_HTTP_H
#define BIFF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#ifndef BIFF_HTTP_LINE_MAX
#define BIFF_HTTP_LINE_MAX 96 /* bytes of a header line kept: enough for the names and values read */
#endif
#ifndef BIFF_HTTP_HEAD_MAX
#define BIFF_HTTP_HEAD_MAX 8192 /* status line + header fields, in all */
#endif

typedef enum {
    BIFF_HTTP_OK = 0,      /* request written / response complete */
    BIFF_HTTP_MORE,        /* feed more bytes (or biff_http_eof() when the peer closed) */
    BIFF_HTTP_E_ARG,       /* bad argument, or a name/value the request cannot carry */
    BIFF_HTTP_E_SPACE,     /* the request does not fit the caller's buffer */
    BIFF_HTTP_E_STATUS,    /* no "HTTP/1.x NNN" status line */
    BIFF_HTTP_E_HEADER,    /* malformed header field, or a Transfer-Encoding other than chunked */
    BIFF_HTTP_E_HEAD_SIZE, /* header over BIFF_HTTP_HEAD_MAX */
    BIFF_HTTP_E_BODY_SIZE, /* body larger than the caller's buffer */
    BIFF_HTTP_E_CHUNK,     /* malformed chunk size or chunk framing */
    BIFF_HTTP_E_TRUNCATED, /* the peer closed before the body was complete */
} biff_http_status;

/** One form field: name and value, both NUL-terminated; the value is percent-encoded on output. */
typedef struct {
    const char *name;
    const char *value;
} biff_http_field;

/**
 * Write "POST path HTTP/1.1" with Host, Content-Type, Content-Length, Accept: application/json
 * and Connection: close, then the form body, into out[cap]. *len gets the request's length.
 * On BIFF_HTTP_E_SPACE out is wiped (the body may hold a client secret or a refresh token).
 */
biff_http_status biff_http_post_form(char *out, size_t cap, size_t *len, const char *host, unsigned port,
                                     const char *path, const biff_http_field *fields, size_t n_fields);

/* Response parser; caller-allocated, fields private except the results below. */
typedef struct {
    uint8_t *body; /* caller's body buffer */
    size_t body_cap;
    size_t body_len;     /* body bytes received so far */
    uint32_t head_bytes; /* status line and header bytes seen */
    uint32_t chunk_left; /* chunked: bytes left in the current chunk */
    uint32_t content_length;
    uint16_t status; /* HTTP status code, once the status line is in */
    uint8_t state;
    uint8_t flags;
    uint8_t line_len;
    uint8_t err; /* the error that ended it */
    char line[BIFF_HTTP_LINE_MAX];
} biff_http_resp;

/** Start parsing a response; its body goes into body[cap]. */
void biff_http_resp_init(biff_http_resp *r, uint8_t *body, size_t cap);

/**
 * Feed len bytes received. Returns BIFF_HTTP_MORE while the response is incomplete,
 * BIFF_HTTP_OK when it is complete (bytes after its end are ignored; *used, when not NULL,
 * says how many were part of it), or an error, after which the response is dead.
 */
biff_http_status biff_http_feed(biff_http_resp *r, const uint8_t *data, size_t len, size_t *used);

/** The peer closed: OK when that ends a body without length, else BIFF_HTTP_E_TRUNCATED. */
biff_http_status biff_http_eof(biff_http_resp *r);

/** Non-zero when the response said Content-Type application/json (or a +json type). */
int biff_http_is_json(const biff_http_resp *r);

/** Short text for a status ("response header too large", ...). */
const char *biff_http_strerror(biff_http_status s);

#endif

/* HTTP client: the request writer byte for byte, and every response fed whole, one byte at a
 * time and split at every point, giving the same result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "biff/http.h"

static void test_post_form(void **state)
{
    (void)state;
    char out[512];
    size_t n = 0;
    const biff_http_field f[] = { { "grant_type", "urn:ietf:params:oauth:grant-type:device_code" },
                                  { "scope", "openid g_profile" },
                                  { "client_id", "a&b=c~" } };
    const char want[] = "POST /api/oidc/token HTTP/1.1\r\nHost: auth.example:4593\r\nUser-Agent: tinybiff\r\n"
                        "Accept: application/json\r\nConnection: close\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 111\r\n\r\n"
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&scope=openid+g_profile"
                        "&client_id=a%26b%3Dc%7E";
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "auth.example", 4593, "/api/oidc/token", f, 3),
                     BIFF_HTTP_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    /* Port 443 is implied. */
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "h", 443, "/t", f, 1), BIFF_HTTP_OK);
    assert_non_null(strstr(out, "\r\nHost: h\r\n"));
    /* Exactly the size it needs (plus its NUL), and one byte less. */
    assert_int_equal(biff_http_post_form(out, strlen(want) + 1, &n, "auth.example", 4593, "/api/oidc/token", f, 3),
                     BIFF_HTTP_OK);
    assert_int_equal(biff_http_post_form(out, strlen(want), &n, "auth.example", 4593, "/api/oidc/token", f, 3),
                     BIFF_HTTP_E_SPACE);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < strlen(want); i++) assert_int_equal(out[i], 0); /* wiped: the body may hold a secret */
    /* Header injection and bad arguments. */
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "h\r\nX: y", 443, "/t", f, 1), BIFF_HTTP_E_ARG);
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "h", 443, "t", f, 1), BIFF_HTTP_E_ARG);
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "h", 443, "/a b", f, 1), BIFF_HTTP_E_ARG);
    const biff_http_field bad[] = { { "a b", "x" } };
    assert_int_equal(biff_http_post_form(out, sizeof out, &n, "h", 443, "/t", bad, 1), BIFF_HTTP_E_ARG);
}

typedef struct {
    const char *name;
    const char *wire;
    biff_http_status want; /* after feeding everything (and eof when close_ok) */
    int eof;               /* the peer closes after the bytes */
    unsigned status;
    const char *body;
    int json;
} vec;

static const vec vecs[] = {
    { "content-length",
      "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: 13\r\n\r\n"
      "{\"a\":\"b\",\"c\":1}",
      BIFF_HTTP_OK, 0, 200, "{\"a\":\"b\",\"c\":", 1 },
    { "chunked",
      "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"err\r\nA;ext=1\r\nor\":\"x\"}\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n",
      BIFF_HTTP_OK, 0, 400, "{\"error\":\"x\"}\r\n", 1 },
    { "bare LF", "HTTP/1.0 200 OK\nContent-Length: 2\n\nhi", BIFF_HTTP_OK, 0, 200, "hi", 0 },
    { "until close", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", BIFF_HTTP_OK, 1, 200, "<html>", 0 },
    { "100 continue first", "HTTP/1.1 100 Continue\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
      BIFF_HTTP_OK, 0, 204, "", 0 },
    { "302", "HTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\nContent-Length: 0\r\n\r\n", BIFF_HTTP_OK, 0, 302,
      "", 0 },
    { "vendor json type", "HTTP/1.1 200 OK\r\nContent-Type: application/problem+json\r\nContent-Length: 2\r\n\r\n{}",
      BIFF_HTTP_OK, 0, 200, "{}", 1 },
    { "long ignored header",
      "HTTP/1.1 200 OK\r\nX-Long: "
      "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
      "89012345678901234567890123456789\r\nContent-Length: 1\r\n\r\nz",
      BIFF_HTTP_OK, 0, 200, "z", 0 },
    { "truncated length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", BIFF_HTTP_E_TRUNCATED, 1, 200, NULL, 0 },
    { "truncated chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", BIFF_HTTP_E_TRUNCATED, 1,
      200, NULL, 0 },
    { "chunk longer than said", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
      BIFF_HTTP_E_CHUNK, 0, 200, NULL, 0 },
    { "chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", BIFF_HTTP_E_CHUNK, 0, 200,
      NULL, 0 },
    { "chunk size huge", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFF\r\n", BIFF_HTTP_E_CHUNK, 0,
      200, NULL, 0 },
    { "chunk over body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", BIFF_HTTP_E_BODY_SIZE, 0, 200,
      NULL, 0 },
    { "length over body", "HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", BIFF_HTTP_E_BODY_SIZE, 0, 200, NULL, 0 },
    { "close over body",
      "HTTP/1.1 200 OK\r\n\r\n"
      "01234567890123456789012345678901234567890123456789012345678901234",
      BIFF_HTTP_E_BODY_SIZE, 1, 200, NULL, 0 },
    { "two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200,
      NULL, 0 },
    { "length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      BIFF_HTTP_E_HEADER, 0, 200, NULL, 0 },
    { "gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200, NULL,
      0 },
    { "length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200, NULL, 0 },
    { "length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200, NULL,
      0 },
    { "folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200, NULL, 0 },
    { "no colon", "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", BIFF_HTTP_E_HEADER, 0, 200, NULL, 0 },
    { "not http", "<html>hello</html>\r\n", BIFF_HTTP_E_STATUS, 0, 0, NULL, 0 },
    { "status 999", "HTTP/1.1 999 What\r\n\r\n", BIFF_HTTP_E_STATUS, 0, 0, NULL, 0 },
    { "http/2 text", "HTTP/2 200\r\n\r\n", BIFF_HTTP_E_STATUS, 0, 0, NULL, 0 },
    { "nothing", "", BIFF_HTTP_E_TRUNCATED, 1, 0, NULL, 0 },
};

#define BODY_CAP 64

/* Feed v->wire in pieces cut at the given points (sorted, may be empty). */
static void run(const vec *v, const size_t *cuts, size_t n_cuts, const char *how)
{
    uint8_t body[BODY_CAP];
    biff_http_resp r;
    size_t len = strlen(v->wire), at = 0, used;
    biff_http_status s = BIFF_HTTP_MORE;
    biff_http_resp_init(&r, body, sizeof body);
    for (size_t k = 0; k <= n_cuts && s == BIFF_HTTP_MORE; k++) {
        size_t end = k < n_cuts ? cuts[k] : len;
        s = biff_http_feed(&r, (const uint8_t *)v->wire + at, end - at, &used);
        if (s == BIFF_HTTP_MORE && used != end - at) {
            print_error("%s (%s): MORE but used %zu of %zu\n", v->name, how, used, end - at);
            fail();
        }
        at = end;
    }
    if (s == BIFF_HTTP_MORE && v->eof) s = biff_http_eof(&r);
    if (s != v->want) {
        print_error("%s (%s): got %s, want %s\n", v->name, how, biff_http_strerror(s), biff_http_strerror(v->want));
        fail();
    }
    if (v->status) assert_int_equal(r.status, v->status);
    if (s == BIFF_HTTP_OK) {
        assert_int_equal(r.body_len, strlen(v->body));
        assert_memory_equal(body, v->body, r.body_len);
        assert_int_equal(biff_http_is_json(&r), v->json);
        /* Complete stays complete. */
        assert_int_equal(biff_http_feed(&r, (const uint8_t *)"x", 1, NULL), BIFF_HTTP_OK);
    } else {
        /* An error is final. */
        assert_int_equal(biff_http_feed(&r, (const uint8_t *)"\r\n", 2, NULL), v->want);
    }
}

static void test_responses(void **state)
{
    (void)state;
    static size_t cuts[600];
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const vec *v = &vecs[i];
        size_t len = strlen(v->wire);
        assert_true(len < sizeof cuts / sizeof cuts[0]);
        run(v, NULL, 0, "whole");
        for (size_t k = 0; k < len; k++) cuts[k] = k + 1;
        run(v, cuts, len ? len - 1 : 0, "byte by byte");
        for (size_t k = 1; k < len; k++) {
            char how[32];
            snprintf(how, sizeof how, "split at %zu", k);
            cuts[0] = k;
            run(v, cuts, 1, how);
        }
    }
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    uint8_t body[16];
    biff_http_resp r;
    size_t used = 0;
    const char w[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    biff_http_resp_init(&r, body, sizeof body);
    assert_int_equal(biff_http_feed(&r, (const uint8_t *)w, strlen(w), &used), BIFF_HTTP_OK);
    assert_int_equal(used, strlen(w) - 5);
    assert_int_equal(r.body_len, 2);
}

static void test_header_bound(void **state)
{
    (void)state;
    uint8_t body[16];
    biff_http_resp r;
    const char head[] = "HTTP/1.1 200 OK\r\n";
    const char field[] = "X-Pad: 0123456789abcdef0123456789abcdef\r\n";
    biff_http_status s;
    size_t fed = 0;
    biff_http_resp_init(&r, body, sizeof body);
    assert_int_equal(biff_http_feed(&r, (const uint8_t *)head, strlen(head), NULL), BIFF_HTTP_MORE);
    fed += strlen(head);
    do {
        s = biff_http_feed(&r, (const uint8_t *)field, strlen(field), NULL);
        fed += strlen(field);
    } while (s == BIFF_HTTP_MORE && fed < 100000);
    assert_int_equal(s, BIFF_HTTP_E_HEAD_SIZE);
    assert_true(fed <= BIFF_HTTP_HEAD_MAX + strlen(field));
    /* One endless line without a newline is bounded the same way. */
    biff_http_resp_init(&r, body, sizeof body);
    fed = 0;
    do {
        s = biff_http_feed(&r, (const uint8_t *)"aaaaaaaaaaaaaaaa", 16, NULL);
        fed += 16;
    } while (s == BIFF_HTTP_MORE && fed < 100000);
    assert_int_equal(s, BIFF_HTTP_E_HEAD_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_form),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_header_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

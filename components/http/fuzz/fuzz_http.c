/* libFuzzer: an HTTP response fed in pieces whose size comes from its first byte (which is fed too,
 * so real responses work as seeds). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "biff/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t body[512];
    biff_http_resp r;
    biff_http_status s = BIFF_HTTP_MORE;
    size_t step, at = 0, used = 0;
    if (!size) return 0;
    step = (size_t)(data[0] % 17) + 1;
    biff_http_resp_init(&r, body, sizeof body);
    while (at < size && s == BIFF_HTTP_MORE) {
        size_t n = size - at < step ? size - at : step;
        s = biff_http_feed(&r, data + at, n, &used);
        if (used > n) __builtin_trap();
        at += n;
    }
    if (s == BIFF_HTTP_MORE) s = biff_http_eof(&r);
    if (r.body_len > sizeof body || (s == BIFF_HTTP_OK && r.status < 200)) __builtin_trap();
    return 0;
}

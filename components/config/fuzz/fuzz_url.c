/* libFuzzer: any byte string as an account URL; the parser must stay in its buffers. */
#include <stdint.h>
#include <string.h>

#include "biff/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1024];
    if (size >= sizeof text) size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = 0;
    biff_url u;
    if (biff_url_parse(text, &u) == BIFF_URL_OK) {
        /* Every field must be a terminated string within its buffer. */
        if (memchr(u.user, 0, sizeof u.user) == NULL || memchr(u.host, 0, sizeof u.host) == NULL ||
            memchr(u.mailbox, 0, sizeof u.mailbox) == NULL || u.port == 0) {
            __builtin_trap();
        }
    }
    if (biff_url_parse_mqtt(text, &u) == BIFF_URL_OK) {
        if (memchr(u.user, 0, sizeof u.user) == NULL || memchr(u.host, 0, sizeof u.host) == NULL || u.port == 0 ||
            u.proto != BIFF_URL_MQTT || u.mailbox[0]) {
            __builtin_trap();
        }
    }
    return 0;
}

/* libFuzzer: the token-response field list over arbitrary bytes; strings must stay in bounds
 * and NUL-terminated, and a failed read leaves nothing found. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "biff/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char at[64] = "", rt[48] = "", code[16] = "", err[32] = "";
    uint32_t exp_in = 0, interval = 0;
    biff_json_field f[] = {
        { "access_token", BIFF_JSON_STRING, 0, at, sizeof at, NULL },
        { "refresh_token", BIFF_JSON_STRING, 0, rt, sizeof rt, NULL },
        { "user_code", BIFF_JSON_STRING, 0, code, sizeof code, NULL },
        { "error", BIFF_JSON_STRING, 0, err, sizeof err, NULL },
        { "expires_in", BIFF_JSON_UINT, 0, NULL, 0, &exp_in },
        { "interval", BIFF_JSON_UINT, 0, NULL, 0, &interval },
    };
    size_t where = 0;
    biff_json_status s = biff_json_read((const char *)data, size, f, 6, &where, NULL);
    if (where > size) __builtin_trap();
    for (size_t i = 0; i < 6; i++) {
        if (s != BIFF_JSON_OK && f[i].found) __builtin_trap();
        if (f[i].type == BIFF_JSON_STRING && !memchr(f[i].str, 0, f[i].cap)) __builtin_trap();
    }
    return 0;
}

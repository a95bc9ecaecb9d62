/* libFuzzer: any bytes as a request head, for a server bound to one address and to every one. */
#include <stdint.h>
#include <string.h>

#include "biff/webguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = { "router.lan" };
    const biff_webguard bound = { "127.0.0.1", names, 1 }, any = { "", NULL, 0 };
    biff_webguard_status a = biff_webguard_request(&bound, (const char *)data, size);
    biff_webguard_status b = biff_webguard_request(&any, (const char *)data, size);
    if (a > BIFF_WEBGUARD_E_ORIGIN || b > BIFF_WEBGUARD_E_ORIGIN) __builtin_trap();
    return 0;
}

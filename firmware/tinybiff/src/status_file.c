#include "status_file.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "biff/store.h"
#include "log.h"

void status_file_write(const char *path, const char *json, size_t len)
{
    static uint32_t last_crc;
    static int written;
    const char *body = memchr(json, ',', len);
    uint32_t crc = body ? biff_store_crc32(0, body, len - (size_t)(body - json)) : 0;
    if (written && crc == last_crc) return;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        log_msg(LOG_LVL_WARN, "status_json: cannot write %s", tmp);
        return;
    }
    /* rename() makes the update atomic for readers; no fsync: the file is rebuilt after a reboot. */
    int ok = fwrite(json, 1, len, f) == len;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        log_msg(LOG_LVL_WARN, "status_json: cannot write %s", tmp);
        return;
    }
    last_crc = crc;
    written = 1;
}

#include "status_file.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "biff/safe_file.h"
#include "biff/store.h"
#include "log.h"

void status_file_write(const char *path, const char *json, size_t len)
{
    static uint32_t last_crc;
    static int written;
    const char *body = memchr(json, ',', len);
    uint32_t crc = body ? biff_store_crc32(0, body, len - (size_t)(body - json)) : 0;
    if (written && crc == last_crc) return;
    /* A new file renamed into place: atomic for readers, and no link at the path is followed
     * (the path may be in /tmp). No fsync: the file is rebuilt after a reboot. */
    biff_sfile_status fs = biff_sfile_write(path, json, len, 0644);
    if (fs != BIFF_SFILE_OK) {
        char why[256];
        log_msg(LOG_LVL_WARN, "status_json: cannot write %s: %s", path, biff_sfile_explain(fs, path, why, sizeof why));
        return;
    }
    last_crc = crc;
    written = 1;
}

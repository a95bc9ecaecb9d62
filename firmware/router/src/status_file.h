/* `tinybiff run`: /status.json also as a file (option status_json), for scripts and LuCI. */
#ifndef TINYBIFF_STATUS_FILE_H
#define TINYBIFF_STATUS_FILE_H

#include <stddef.h>

/**
 * Put json[len] (a biff_status_json document) at path atomically (a temporary file renamed
 * over it). Skipped when nothing but the leading "now" changed since the last write: a router's
 * flash wears. Failures are logged.
 */
void status_file_write(const char *path, const char *json, size_t len);

#endif

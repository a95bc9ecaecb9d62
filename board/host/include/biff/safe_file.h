/* Files the daemon writes as root, and the secrets file it reads: the rules in one place.
 *
 *   - The last path component is never followed when it is a symlink (O_NOFOLLOW).
 *   - A file that exists must be a regular file owned by the user the program runs as.
 *   - A private file (secrets) must also have no group or other permission bits, as ssh
 *     demands of a private key; the message names the exact chmod that fixes it.
 *   - Temporary files are new files (O_CREAT|O_EXCL, a random name next to the target) and are
 *     renamed over the target, which must pass the same rules if it exists.
 *
 * Directories on the path are trusted: whoever may write them may replace the file anyway.
 */
#ifndef BIFF_SAFE_FILE_H
#define BIFF_SAFE_FILE_H

#include <stddef.h>
#include <sys/types.h>

typedef enum {
    BIFF_SFILE_OK = 0,
    BIFF_SFILE_E_SYMLINK,   /* the path is a symlink */
    BIFF_SFILE_E_TYPE,      /* not a regular file */
    BIFF_SFILE_E_OWNER,     /* owned by another user */
    BIFF_SFILE_E_MODE,      /* private file with group/other permission bits */
    BIFF_SFILE_E_TOO_LARGE, /* does not fit the caller's buffer */
    BIFF_SFILE_E_IO,        /* open/read/write/rename failed: see errno */
} biff_sfile_status;

/** Open path with flags (O_NOFOLLOW and O_CLOEXEC added; O_CREAT makes it with mode) into
 *  *fd and check it is a regular file of ours; on failure *fd is -1 and nothing stays open. */
biff_sfile_status biff_sfile_open(const char *path, int flags, mode_t mode, int *fd);

/** Read a whole private file into buf (cap bytes, not NUL-terminated) by read(2), so that no
 *  stdio buffer keeps a copy; *len gets its length. */
biff_sfile_status biff_sfile_read_private(const char *path, char *buf, size_t cap, size_t *len);

/** Create a new temporary file next to path ("path.XXXXXX", mode) for writing; its name goes to
 *  tmp (cap bytes). */
biff_sfile_status biff_sfile_temp(const char *path, mode_t mode, char *tmp, size_t cap, int *fd);

/** Rename tmp over path if path is absent or passes the rules (tmp is removed otherwise); with
 *  durable, sync the directory too so that the rename survives a power cut. */
biff_sfile_status biff_sfile_replace(const char *tmp, const char *path, int durable);

/** Replace path atomically with len bytes of data (biff_sfile_temp + write + replace; no
 *  sync: for files rebuilt after a reboot). */
biff_sfile_status biff_sfile_write(const char *path, const void *data, size_t len, mode_t mode);

/** What went wrong, for a message "PATH: <this>"; for E_MODE and E_OWNER it ends with the
 *  command that fixes it, which is why it needs path. Writes into buf (cap bytes). */
const char *biff_sfile_explain(biff_sfile_status st, const char *path, char *buf, size_t cap);

#endif

/* Symlink- and owner-safe file access for the Linux host; the rules are in biff/safe_file.h. */
#define _DEFAULT_SOURCE /* mkstemp, O_NOFOLLOW */

#include "biff/safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static biff_sfile_status judge(const struct stat *sb, int private_file)
{
    if (S_ISLNK(sb->st_mode)) return BIFF_SFILE_E_SYMLINK;
    if (!S_ISREG(sb->st_mode)) return BIFF_SFILE_E_TYPE;
    if (sb->st_uid != geteuid()) return BIFF_SFILE_E_OWNER;
    if (private_file && (sb->st_mode & 077)) return BIFF_SFILE_E_MODE;
    return BIFF_SFILE_OK;
}

static biff_sfile_status open_checked(const char *path, int flags, mode_t mode, int private_file, int *fd)
{
    struct stat sb;
    *fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (*fd < 0) {
        /* O_NOFOLLOW on a symlink fails with ELOOP: say what it is, not "too many links" */
        if (errno == ELOOP && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) return BIFF_SFILE_E_SYMLINK;
        return BIFF_SFILE_E_IO;
    }
    biff_sfile_status st = fstat(*fd, &sb) != 0 ? BIFF_SFILE_E_IO : judge(&sb, private_file);
    if (st != BIFF_SFILE_OK) {
        int e = errno;
        close(*fd);
        *fd = -1;
        errno = e;
    }
    return st;
}

biff_sfile_status biff_sfile_open(const char *path, int flags, mode_t mode, int *fd)
{
    return open_checked(path, flags, mode, 0, fd);
}

biff_sfile_status biff_sfile_read_private(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd;
    biff_sfile_status st = open_checked(path, O_RDONLY, 0, 1, &fd);
    *len = 0;
    if (st != BIFF_SFILE_OK) return st;
    for (;;) {
        if (*len == cap) {
            char extra;
            ssize_t n = read(fd, &extra, 1);
            st = n == 0 ? BIFF_SFILE_OK : n > 0 ? BIFF_SFILE_E_TOO_LARGE : BIFF_SFILE_E_IO;
            break;
        }
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            st = n == 0 ? BIFF_SFILE_OK : BIFF_SFILE_E_IO;
            break;
        }
        *len += (size_t)n;
    }
    close(fd);
    return st;
}

biff_sfile_status biff_sfile_temp(const char *path, mode_t mode, char *tmp, size_t cap, int *fd)
{
    *fd = -1;
    if ((size_t)snprintf(tmp, cap, "%s.XXXXXX", path) >= cap) {
        errno = ENAMETOOLONG;
        return BIFF_SFILE_E_IO;
    }
    *fd = mkstemp(tmp); /* O_CREAT|O_EXCL: never an existing file or link */
    if (*fd < 0) return BIFF_SFILE_E_IO;
    if (fcntl(*fd, F_SETFD, FD_CLOEXEC) != 0 || fchmod(*fd, mode) != 0) {
        int e = errno;
        close(*fd);
        unlink(tmp);
        *fd = -1;
        errno = e;
        return BIFF_SFILE_E_IO;
    }
    return BIFF_SFILE_OK;
}

static void sync_dir_of(const char *path)
{
    char dir[1024];
    if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir) return;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

biff_sfile_status biff_sfile_replace(const char *tmp, const char *path, int durable)
{
    struct stat sb;
    biff_sfile_status st = BIFF_SFILE_OK;
    if (lstat(path, &sb) == 0)
        st = judge(&sb, 0);
    else if (errno != ENOENT)
        st = BIFF_SFILE_E_IO;
    if (st == BIFF_SFILE_OK && rename(tmp, path) != 0) st = BIFF_SFILE_E_IO;
    if (st != BIFF_SFILE_OK) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return st;
    }
    if (durable) sync_dir_of(path);
    return BIFF_SFILE_OK;
}

biff_sfile_status biff_sfile_write(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[1024];
    int fd;
    biff_sfile_status st = biff_sfile_temp(path, mode, tmp, sizeof tmp, &fd);
    if (st != BIFF_SFILE_OK) return st;
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0 || len) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return BIFF_SFILE_E_IO;
    }
    return biff_sfile_replace(tmp, path, 0);
}

const char *biff_sfile_explain(biff_sfile_status st, const char *path, char *buf, size_t cap)
{
    unsigned uid = (unsigned)geteuid();
    switch (st) {
    case BIFF_SFILE_OK: snprintf(buf, cap, "ok"); break;
    case BIFF_SFILE_E_SYMLINK: snprintf(buf, cap, "is a symlink; refused (give the real file's path)"); break;
    case BIFF_SFILE_E_TYPE: snprintf(buf, cap, "not a regular file; refused"); break;
    case BIFF_SFILE_E_OWNER:
        snprintf(buf, cap, "owned by another user; refused (fix: chown %u '%s')", uid, path);
        break;
    case BIFF_SFILE_E_MODE:
        snprintf(buf, cap, "readable or writable by other users; refused (fix: chmod 600 '%s')", path);
        break;
    case BIFF_SFILE_E_TOO_LARGE: snprintf(buf, cap, "file too large"); break;
    default: snprintf(buf, cap, "%s", strerror(errno)); break;
    }
    return buf;
}

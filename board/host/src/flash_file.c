/* File-backed NOR flash emulation for the Linux host; policy in biff/flash_file.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "biff/flash_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 256u

static int pread_all(int fd, uint8_t *p, uint32_t len, uint32_t off)
{
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

static int pwrite_all(int fd, const uint8_t *p, uint32_t len, uint32_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

static biff_flash_status sync_fd(const biff_flash_file *ff)
{
    if (ff->flags & BIFF_FLASH_FILE_NOSYNC) return BIFF_FLASH_OK;
    return fdatasync(ff->fd) == 0 ? BIFF_FLASH_OK : BIFF_FLASH_E_IO;
}

static biff_flash_status file_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    biff_flash_file *ff = ctx;
    biff_flash_status s = biff_flash_check(&ff->flash, addr, len, 0);
    if (s == BIFF_FLASH_OK && pread_all(ff->fd, buf, len, addr)) s = BIFF_FLASH_E_IO;
    return s;
}

static biff_flash_status file_program(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    biff_flash_file *ff = ctx;
    const uint8_t *d = data;
    uint8_t cur[BLOCK];
    biff_flash_status s = biff_flash_check(&ff->flash, addr, len, 1);
    if (s != BIFF_FLASH_OK) return s;
    /* Check the whole range first, so a refused program changes nothing. */
    for (uint32_t done = 0, n; done < len; done += n) {
        n = len - done < BLOCK ? len - done : BLOCK;
        if (pread_all(ff->fd, cur, n, addr + done)) return BIFF_FLASH_E_IO;
        for (uint32_t i = 0; i < n; i++)
            if ((uint8_t)(~cur[i] & d[done + i]) != 0) return BIFF_FLASH_E_NOR;
    }
    if (pwrite_all(ff->fd, d, len, addr)) return BIFF_FLASH_E_IO;
    return sync_fd(ff);
}

static biff_flash_status file_erase(void *ctx, uint32_t sector)
{
    biff_flash_file *ff = ctx;
    uint8_t ones[BLOCK];
    uint32_t size = ff->flash.sector_size;
    if (sector >= ff->flash.sector_count) return BIFF_FLASH_E_RANGE;
    memset(ones, 0xFF, sizeof ones);
    for (uint32_t done = 0, n; done < size; done += n) {
        n = size - done < BLOCK ? size - done : BLOCK;
        if (pwrite_all(ff->fd, ones, n, sector * size + done)) return BIFF_FLASH_E_IO;
    }
    return sync_fd(ff);
}

biff_flash_status biff_flash_file_open(biff_flash_file *ff, const char *path, uint32_t sector_size,
                                       uint32_t sector_count, uint32_t program_unit, unsigned flags)
{
    struct stat sb;
    if (!ff) return BIFF_FLASH_E_RANGE;
    memset(ff, 0, sizeof *ff);
    ff->fd = -1;
    if (!path || biff_flash_init(&ff->flash, file_read, file_program, file_erase, sector_size, sector_count,
                                 program_unit, ff) != BIFF_FLASH_OK)
        return BIFF_FLASH_E_RANGE;
    ff->flags = flags;
    int oflags = O_RDWR | O_CREAT | ((flags & BIFF_FLASH_FILE_NEW) ? O_EXCL : 0);
    ff->file_status = biff_sfile_open(path, oflags, 0600, &ff->fd);
    if (ff->file_status != BIFF_SFILE_OK) return BIFF_FLASH_E_IO;
    biff_flash_status s = BIFF_FLASH_OK;
    uint64_t total = (uint64_t)sector_size * sector_count;
    if (fstat(ff->fd, &sb) != 0) {
        s = BIFF_FLASH_E_IO;
    } else if (sb.st_size == 0) {
        for (uint32_t i = 0; i < sector_count && s == BIFF_FLASH_OK; i++) s = file_erase(ff, i); /* a blank part */
    } else if ((uint64_t)sb.st_size != total) {
        s = BIFF_FLASH_E_RANGE; /* someone else's file, or another geometry: do not touch */
    }
    if (s != BIFF_FLASH_OK) biff_flash_file_close(ff);
    return s;
}

void biff_flash_file_close(biff_flash_file *ff)
{
    if (ff && ff->fd >= 0) {
        close(ff->fd);
        ff->fd = -1;
    }
}

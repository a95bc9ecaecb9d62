/* Semihosting host files, command line and exit, over the board's trap (biff_board_semihost). */
#include <string.h>

#include "board.h"

#define SYS_OPEN          0x01
#define SYS_CLOSE         0x02
#define SYS_WRITE         0x05
#define SYS_READ          0x06
#define SYS_SEEK          0x0A
#define SYS_FLEN          0x0C
#define SYS_GET_CMDLINE   0x15
#define SYS_EXIT_EXTENDED 0x20

int biff_board_sh_open(const char *path, int mode)
{
    uint32_t a[3] = { (uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path) };
    return biff_board_semihost(SYS_OPEN, a);
}

void biff_board_sh_close(int fd)
{
    uint32_t a[1] = { (uint32_t)fd };
    (void)biff_board_semihost(SYS_CLOSE, a);
}

int biff_board_sh_read(int fd, void *buf, uint32_t len)
{
    uint32_t a[3] = { (uint32_t)fd, (uint32_t)(uintptr_t)buf, len };
    int left = biff_board_semihost(SYS_READ, a); /* bytes NOT read */
    return left < 0 || (uint32_t)left > len ? -1 : (int)(len - (uint32_t)left);
}

int biff_board_sh_write(int fd, const void *buf, uint32_t len)
{
    uint32_t a[3] = { (uint32_t)fd, (uint32_t)(uintptr_t)buf, len };
    return biff_board_semihost(SYS_WRITE, a) == 0 ? 0 : -1; /* returns bytes NOT written */
}

int biff_board_sh_seek(int fd, uint32_t pos)
{
    uint32_t a[2] = { (uint32_t)fd, pos };
    return biff_board_semihost(SYS_SEEK, a) == 0 ? 0 : -1;
}

long biff_board_sh_flen(int fd)
{
    uint32_t a[1] = { (uint32_t)fd };
    return biff_board_semihost(SYS_FLEN, a);
}

int biff_board_sh_cmdline(char *buf, uint32_t cap)
{
    uint32_t a[2] = { (uint32_t)(uintptr_t)buf, cap };
    if (biff_board_semihost(SYS_GET_CMDLINE, a) != 0) return -1;
    return (int)a[1];
}

void biff_board_exit(int code)
{
    /* SYS_EXIT_EXTENDED carries the status code to QEMU's exit status on 32-bit targets. */
    uint32_t block[2] = { 0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code };
    biff_board_semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

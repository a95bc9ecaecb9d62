/* The notifier's provisioning parser on the host. Semihosting file access is QEMU's; here the
 * same calls read host files through stdio, which is what QEMU does with them. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "board.h"
#include "provision.h"

static FILE *files[4];

int biff_board_sh_open(const char *path, int mode)
{
    (void)mode;
    for (int i = 0; i < 4; i++) {
        if (!files[i]) {
            files[i] = fopen(path, "rb");
            return files[i] ? i : -1;
        }
    }
    return -1;
}

void biff_board_sh_close(int fd)
{
    fclose(files[fd]);
    files[fd] = NULL;
}

int biff_board_sh_read(int fd, void *buf, uint32_t len)
{
    return (int)fread(buf, 1, len, files[fd]);
}

long biff_board_sh_flen(int fd)
{
    fseek(files[fd], 0, SEEK_END);
    long n = ftell(files[fd]);
    fseek(files[fd], 0, SEEK_SET);
    return n;
}

static prov P;
static char path[] = "/tmp/test_provision_XXXXXX";

static int load(const char *text, const char **why)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    *why = "";
    return prov_load(&P, path, why);
}

#define BASE "ca /ca.pem\naccount imaps://u@h/INBOX pw\n"

static void interval_is_bounded(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(load(BASE "interval 20\n", &why), 0);
    assert_int_equal(P.interval_s, 20);
    assert_int_equal(load(BASE "interval 86400\n", &why), 0);
    assert_int_equal(P.interval_s, 86400);
    assert_int_equal(load(BASE, &why), 0);
    assert_int_equal(P.interval_s, 300);
    /* 4,294,968 s is the first value whose milliseconds wrap 32 bits (to 32 ms). */
    static const char *const bad[] = { "4294968", "86401", "4", "0", "-1", "20s", "99999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128];
        snprintf(text, sizeof text, BASE "interval %s\n", bad[i]);
        assert_int_equal(load(text, &why), -1);
        assert_string_equal(why, "interval: not a number of seconds from 5 to 86400");
    }
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    return fd < 0 ? -1 : close(fd);
}

static int teardown(void **state)
{
    (void)state;
    return remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

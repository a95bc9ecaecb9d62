/* Safe files (board/host/safe_file.c) and the flash image that uses them: symlinks, files of
 * other users and open secrets files are refused, and the file a link points to is untouched. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "biff/flash_file.h"
#include "biff/safe_file.h"

static char dir[64], victim[128], link_path[128], file[128];

static void put(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void victim_untouched(void)
{
    char buf[64] = { 0 };
    FILE *f = fopen(victim, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    assert_int_equal(n, 7);
    assert_string_equal(buf, "victim\n");
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/biff_sfile_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(link_path, sizeof link_path, "%s/link", dir);
    snprintf(file, sizeof file, "%s/file", dir);
    put(victim, "victim\n", 0644);
    return symlink(victim, link_path);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void symlinks_are_refused(void **state)
{
    (void)state;
    int fd;
    char why[256];
    assert_int_equal(biff_sfile_open(link_path, O_RDWR | O_CREAT, 0600, &fd), BIFF_SFILE_E_SYMLINK);
    assert_int_equal(fd, -1);
    assert_string_equal(biff_sfile_explain(BIFF_SFILE_E_SYMLINK, link_path, why, sizeof why),
                        "is a symlink; refused (give the real file's path)");
    size_t len;
    assert_int_equal(biff_sfile_read_private(link_path, why, sizeof why, &len), BIFF_SFILE_E_SYMLINK);
    /* The state image: a link at its path is not followed into the file it names. */
    biff_flash_file ff;
    assert_int_equal(biff_flash_file_open(&ff, link_path, 512, 4, 4, BIFF_FLASH_FILE_NOSYNC), BIFF_FLASH_E_IO);
    assert_int_equal(ff.file_status, BIFF_SFILE_E_SYMLINK);
    /* A new image (the state's growth copy) must be new: nothing may sit at its path. */
    assert_int_equal(biff_flash_file_open(&ff, link_path, 512, 4, 4, BIFF_FLASH_FILE_NOSYNC | BIFF_FLASH_FILE_NEW),
                     BIFF_FLASH_E_IO);
    victim_untouched();
}

static void temp_and_replace(void **state)
{
    (void)state;
    char tmp[160];
    int fd;
    assert_int_equal(biff_sfile_temp(file, 0644, tmp, sizeof tmp, &fd), BIFF_SFILE_OK);
    assert_int_equal(strncmp(tmp, file, strlen(file)), 0);
    assert_int_equal(write(fd, "{}\n", 3), 3);
    close(fd);
    struct stat sb;
    assert_int_equal(stat(tmp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    assert_int_equal(biff_sfile_replace(tmp, file, 1), BIFF_SFILE_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_size, 3);
    /* A link where the result goes is refused, not replaced, and the temporary file removed. */
    assert_int_equal(biff_sfile_temp(link_path, 0644, tmp, sizeof tmp, &fd), BIFF_SFILE_OK);
    close(fd);
    assert_int_equal(biff_sfile_replace(tmp, link_path, 0), BIFF_SFILE_E_SYMLINK);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(lstat(link_path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    victim_untouched();
}

static void private_files(void **state)
{
    (void)state;
    char buf[64], why[256];
    size_t len;
    put(file, "a = b\n", 0600);
    assert_int_equal(biff_sfile_read_private(file, buf, sizeof buf, &len), BIFF_SFILE_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "a = b\n", 6);
    assert_int_equal(biff_sfile_read_private(file, buf, 5, &len), BIFF_SFILE_E_TOO_LARGE);
    static const mode_t open_modes[] = { 0640, 0604, 0620, 0602, 0610 };
    for (size_t i = 0; i < sizeof open_modes / sizeof *open_modes; i++) {
        assert_int_equal(chmod(file, open_modes[i]), 0);
        assert_int_equal(biff_sfile_read_private(file, buf, sizeof buf, &len), BIFF_SFILE_E_MODE);
        assert_int_equal(len, 0);
    }
    char want[256];
    snprintf(want, sizeof want, "readable or writable by other users; refused (fix: chmod 600 '%s')", file);
    assert_string_equal(biff_sfile_explain(BIFF_SFILE_E_MODE, file, why, sizeof why), want);
}

static void other_users_files(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip(); /* only root can give a file away; the test command runs as root */
    }
    char buf[64];
    size_t len;
    int fd;
    put(file, "a = b\n", 0600);
    assert_int_equal(chown(file, 65534, 65534), 0);
    assert_int_equal(biff_sfile_read_private(file, buf, sizeof buf, &len), BIFF_SFILE_E_OWNER);
    assert_int_equal(biff_sfile_open(file, O_RDWR, 0, &fd), BIFF_SFILE_E_OWNER);
    char tmp[160];
    assert_int_equal(biff_sfile_temp(file, 0644, tmp, sizeof tmp, &fd), BIFF_SFILE_OK);
    close(fd);
    assert_int_equal(biff_sfile_replace(tmp, file, 1), BIFF_SFILE_E_OWNER);
    assert_int_equal(unlink(file), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(symlinks_are_refused),
        cmocka_unit_test(temp_and_replace),
        cmocka_unit_test(private_files),
        cmocka_unit_test(other_users_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

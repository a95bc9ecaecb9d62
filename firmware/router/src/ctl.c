#define _GNU_SOURCE /* struct ucred */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define IO_TIMEOUT_S 2

/* detail = "what: the errno's text" */
static ctl_status fail(ctl_status st, char *detail, size_t cap, const char *what)
{
    snprintf(detail, cap, "%s: %s", what, strerror(errno));
    return st;
}

static int make_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof a->sun_path) return -1;
    memcpy(a->sun_path, path, n);
    return 0;
}

static void set_timeouts(int fd)
{
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The directory keeps everyone but the daemon's user away from the socket, whatever a umask or
 * a kernel's handling of socket permissions does; a directory others could enter is refused. */
static ctl_status own_dir(const char *path, char *detail, size_t cap)
{
    char dir[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        snprintf(detail, cap, "%s: the socket needs a directory of its own (e.g. /var/run/tinybiff/control)", path);
        return CTL_E_PATH;
    }
    *slash = 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return fail(CTL_E_DIR, detail, cap, dir);
    struct stat st;
    if (lstat(dir, &st) != 0) return fail(CTL_E_DIR, detail, cap, dir);
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        snprintf(detail, cap, "%s: not a directory of this user with mode 0700", dir);
        return CTL_E_DIR;
    }
    return CTL_OK;
}

ctl_status ctl_listen(ctl_server *s, const char *path, char *detail, size_t cap)
{
    if (s->fd >= 0 && strcmp(s->path, path) == 0) return CTL_OK;
    ctl_close(s);
    struct sockaddr_un a;
    if (make_addr(path, &a) != 0) {
        snprintf(detail, cap, "control socket path empty or longer than %u bytes", (unsigned)sizeof a.sun_path - 1);
        return CTL_E_PATH;
    }
    ctl_status st = own_dir(path, detail, cap);
    if (st != CTL_OK) return st;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) unlink(path); /* left by a daemon killed earlier */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail(CTL_E_SOCKET, detail, cap, path);
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r != 0 || chmod(path, 0600) != 0 || listen(fd, 4) != 0) {
        ctl_status e = fail(CTL_E_SOCKET, detail, cap, path);
        close(fd);
        return e;
    }
    s->fd = fd;
    snprintf(s->path, sizeof s->path, "%s", path);
    return CTL_OK;
}

static void reply(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0) return; /* the client went away or stalled past the timeout */
        p += w;
        len -= (size_t)w;
    }
}

void ctl_serve(ctl_server *s, const ctl_ops *ops)
{
    int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    set_timeouts(fd);
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || (cred.uid != 0 && cred.uid != geteuid())) {
        log_msg(LOG_LVL_WARN, "control socket: request from uid %ld refused",
                clen == sizeof cred ? (long)cred.uid : -1L);
        close(fd);
        return;
    }
    char cmd[16];
    size_t n = 0;
    while (n < sizeof cmd - 1) {
        ssize_t r = recv(fd, cmd + n, sizeof cmd - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
        if (memchr(cmd, '\n', n)) break;
    }
    cmd[n] = 0;
    const char *out;
    size_t len;
    if (strcmp(cmd, "ack\n") == 0) {
        ops->ack();
        reply(fd, "ok\n", 3);
    } else if (strcmp(cmd, "status\n") == 0 && ops->status(&out, &len) == 0) {
        reply(fd, out, len);
    } else {
        static const char bad[] = "error: requests are ack or status\n";
        reply(fd, bad, sizeof bad - 1);
    }
    close(fd);
}

void ctl_close(ctl_server *s)
{
    if (s->fd < 0) return;
    close(s->fd);
    unlink(s->path);
    s->fd = -1;
}

ctl_status ctl_request(const char *path, const char *cmd, FILE *out, char *detail, size_t cap)
{
    struct sockaddr_un a;
    if (make_addr(path, &a) != 0) {
        snprintf(detail, cap, "control socket path empty or too long");
        return CTL_E_PATH;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(CTL_E_SOCKET, detail, cap, path);
    set_timeouts(fd);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(detail, cap, "%s: %s (is the daemon running?)", path, strerror(errno));
        close(fd);
        return CTL_E_CONNECT;
    }
    char line[16];
    int len = snprintf(line, sizeof line, "%s\n", cmd);
    reply(fd, line, (size_t)len);
    char buf[4096];
    ssize_t r;
    int first = 1, refused = 0, got = 0;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
        if (first && r >= 6 && memcmp(buf, "error:", 6) == 0) refused = 1;
        first = 0;
        got = 1;
        fwrite(buf, 1, (size_t)r, refused ? stderr : out);
    }
    close(fd);
    if (refused) {
        snprintf(detail, cap, "the daemon refused the request");
        return CTL_E_REFUSED;
    }
    if (!got) {
        snprintf(detail, cap, "%s: no answer (only root or the daemon's user may ask)", path);
        return CTL_E_REFUSED;
    }
    return CTL_OK;
}

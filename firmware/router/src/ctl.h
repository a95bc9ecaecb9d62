/*
 * The daemon's control socket: `tinybiff ack` and `tinybiff status` (a UI, a button script, a
 * hotplug handler) talk to the running daemon without HTTP. One request per connection: the
 * client sends "ack\n" or "status\n"; the daemon answers "ok\n" or the status JSON, then closes.
 * Root-only: the socket has mode 0600 in a directory of mode 0700 owned by the daemon's user,
 * and every peer's uid is checked (SO_PEERCRED): root or the daemon's own user.
 */
#ifndef TINYBIFF_CTL_H
#define TINYBIFF_CTL_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CTL_OK = 0,
    CTL_E_PATH = -1,    /* empty, too long for a unix socket, or no directory part */
    CTL_E_DIR = -2,     /* the directory cannot be made, is not ours or others can enter it */
    CTL_E_SOCKET = -3,  /* socket/bind/listen failed */
    CTL_E_CONNECT = -4, /* client: no daemon listening there */
    CTL_E_REFUSED = -5, /* client: the daemon answered with an error */
} ctl_status;

/* What the daemon does for a request; both run on the daemon's main loop. */
typedef struct {
    /** Render the status JSON; 0 (out and len set) on success. */
    int (*status)(const char **out, size_t *len);
    /** Acknowledge all new mail, as the page button does. */
    void (*ack)(void);
} ctl_ops;

typedef struct {
    int fd; /* -1 while not listening */
    char path[108];
} ctl_server;

/** Listen on path (the directory is made 0700 if missing). A server already listening on the
 * same path is kept. On failure detail says why. */
ctl_status ctl_listen(ctl_server *s, const char *path, char *detail, size_t cap);

/** Serve one pending connection (call when ctl_server.fd is readable). Blocks at most ~2 s on a
 * client that connects but does not speak. */
void ctl_serve(ctl_server *s, const ctl_ops *ops);

/** Stop listening and remove the socket (idempotent). */
void ctl_close(ctl_server *s);

/** Client: send cmd ("ack" or "status") to the daemon at path; the answer goes to out.
 * On failure detail says why. */
ctl_status ctl_request(const char *path, const char *cmd, FILE *out, char *detail, size_t cap);

#endif

#define _DEFAULT_SOURCE /* sigaction, pipe */
#include "run_wake.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

volatile sig_atomic_t run_wake_term, run_wake_hup;
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        run_wake_hup = 1;
    else
        run_wake_term = 1;
    int saved = errno;
    if (write(wake_pipe[1], "s", 1) < 0) { /* the flag is enough */
    }
    errno = saved;
}

int run_wake_setup(void)
{
    if (pipe(wake_pipe) != 0) return -1;
    for (int k = 0; k < 2; k++) fcntl(wake_pipe[k], F_SETFL, O_NONBLOCK), fcntl(wake_pipe[k], F_SETFD, FD_CLOEXEC);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return wake_pipe[1];
}

int run_wake_fd(void)
{
    return wake_pipe[0];
}

void run_wake_drain(void)
{
    char drain[64];
    while (read(wake_pipe[0], drain, sizeof drain) > 0) {
    }
}

/* `tinybiff run`: what wakes the loop from poll(): signals and the web server's thread. */
#ifndef TINYBIFF_RUN_WAKE_H
#define TINYBIFF_RUN_WAKE_H

#include <signal.h>

/** Set by SIGTERM/SIGINT (stop) and SIGHUP (reload); the loop clears reload. */
extern volatile sig_atomic_t run_wake_term, run_wake_hup;

/**
 * Make the wake pipe and install the handlers (SIGPIPE ignored). Returns the pipe's write end
 * (for the web server's thread), or -1.
 */
int run_wake_setup(void);

/** The pipe's read end, for poll(). */
int run_wake_fd(void);

/** Empty the pipe after poll() said it is readable. */
void run_wake_drain(void);

#endif

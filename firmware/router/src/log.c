#define _DEFAULT_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static int to_syslog, max_lvl = LOG_LVL_INFO;

void log_setup(int use_syslog, int max_level)
{
    to_syslog = use_syslog;
    max_lvl = max_level;
    if (use_syslog) openlog("tinybiff", LOG_PID, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    if (level > max_lvl) return;
    va_list ap;
    va_start(ap, fmt);
    if (to_syslog) {
        vsyslog(prio[level], fmt, ap);
    } else {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(ts, sizeof ts, "%H:%M:%S", localtime_r(&now, &tm));
        fprintf(stderr, "%s tinybiff %s: ", ts, names[level]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

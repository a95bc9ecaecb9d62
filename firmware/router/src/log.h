/* Daemon log: levels, to stderr (with time) or syslog. Callers never pass secrets. */
#ifndef TINYBIFF_LOG_H
#define TINYBIFF_LOG_H

enum { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/** Send messages to syslog (1) or stderr (0); show messages up to level max. */
void log_setup(int use_syslog, int max_level);

/** printf-style message at level. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* log.h — leveled logging to stderr, one line per record. Never pass
 * secrets (tokens, passwords, Authorization headers) to these. */
#ifndef PLUE_LOG_H
#define PLUE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Parses s, one of "debug", "info", "warn", "error", into *out; returns 0
 * or -1. */
int log_parse_level(enum log_level *out, const char *s);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

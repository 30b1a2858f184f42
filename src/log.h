/* log.h: the error log and the access log. Each line is written with one
 * write(2) so lines from concurrent threads never interleave. Callable from
 * any thread, with or without a GIL. */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one log line, its prefix included; a longer one is cut. */
#define SW_LOG_LINE_MAX 8192

typedef enum { SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR } sw_log_level_t;

/* Opens the logs: "stderr", "off" (access log only) or a path (appended).
 * Returns 0, or -1 with a message in err. Before it is called, both go to
 * stderr. */
int sw_log_open(const char *error_log, const char *access_log,
                char *err, size_t errlen);
void sw_log_close(void);

/* Reopens the log files sw_log_open opened (not stderr), for log rotation
 * (SIGUSR1): the same file descriptors then point at new files of the same
 * names, so concurrent writers never see a closed one; and the apps' own
 * log files (applog.h). Returns 0, or -1 with a message in err (that log
 * keeps writing to its old file). */
int sw_log_reopen(char *err, size_t errlen);

/* "2026-11-26T15:40:51.123Z LEVEL [APP] message"; app NULL means the server.
 * Control bytes of the message but tab (and DEL) are written as \xHH, so
 * client or app data in it can neither start a line nor drive a terminal;
 * sw_log_text likewise, after splitting at line feeds. A line that names
 * an app is also kept in that app's ring (applog.h) for the admin API and
 * written to the app's log file, if it has one. */
void sw_log(sw_log_level_t level, const char *app, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "debug" | "info" | "warn" | "error". */
const char *sw_log_level_name(sw_log_level_t level);

/* Logs possibly multi-line text, one prefixed log line per text line. */
void sw_log_text(sw_log_level_t level, const char *app, const char *text,
                 size_t len);

/* One access log line: time, app, method, uri, status, bytes, duration.
 * app, method and uri (NULL or empty: "-") are escaped as nginx's
 * log_format escape=default does, and the space too: every byte < 0x21 or
 * >= 0x7f, '"' and '\\' become \xHH, so a line has exactly 7 fields. */
void sw_log_access(const char *app, const char *method, const char *uri,
                   int status, uint64_t bytes, double duration_ms);

/* Writes an access log line as it is (host mode's master relays its
 * workers' lines, already escaped and checked for their shape). */
void sw_log_access_line(const char *line, size_t len);

/* Writes an RFC 3339 UTC timestamp with milliseconds (24 bytes + NUL). */
void sw_log_timestamp(char out[32]);

#endif

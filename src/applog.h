/* applog.h: each app's log beyond the error log: its last lines, kept in
 * memory for the admin API (GET /v1/apps/NAME/log) in a bounded ring per
 * app name, and its own file (LOG_DIR/NAME.log, DESIGN section 9) when its
 * owner has a log-dir. log.c feeds both with every error-log line that
 * names the app; the error log itself is unchanged.
 *
 * Ownership: a ring is reference-counted and registered under its app's
 * name; each app holds one reference (app->log), so an app that a SIGHUP
 * replaced by a new one of the same name shares its ring (and file), and
 * its lines carry on. The last sw_applog_put unregisters and frees it.
 *
 * The file is opened by the process that runs the app, as its user: the
 * loader's keeper thread sets it before it builds a generation (in host
 * mode the worker has dropped to the owner's run-as user by then, so the
 * file is the owner's), and SIGUSR1 reopens it (sw_log_reopen).
 *
 * Locks (the whole order is in server.h): the registry lock, then a ring's
 * lock; a ring's file lock alone. All three are leaves (nothing else is
 * taken under them), so log.c may feed a ring and write its file from any
 * thread, holding any other lock or a GIL. No file is ever opened under
 * one of them (an open may block: NFS). */
#ifndef SW_APPLOG_H
#define SW_APPLOG_H

#include <stddef.h>

#include "log.h"

#define SW_APPLOG_MAX_LINES 1000
#define SW_APPLOG_MAX_BYTES (256 * 1024)
#define SW_APPLOG_LINE_MAX 4096    /* a longer line is cut, ending in the marker */
#define SW_APPLOG_CUT_MARKER "...[cut]"

typedef struct sw_applog sw_applog_t;

/* One line as read: copies, owned by the array sw_applog_read returns. */
typedef struct {
    char time[32];                 /* RFC 3339 UTC with milliseconds */
    sw_log_level_t level;
    char *text;                    /* NUL-terminated */
} sw_applog_line_t;

/* The ring registered for name (a new reference), created with the default
 * caps if there is none; NULL when out of memory. */
sw_applog_t *sw_applog_get(const char *name);

/* A ring registered under no name (unit tests), with one reference. A line
 * longer than line_max bytes is cut to line_max, marker included. */
sw_applog_t *sw_applog_new(size_t max_lines, size_t max_bytes, size_t line_max);

/* Drops a reference; the last one frees the ring. log may be NULL. */
void sw_applog_put(sw_applog_t *log);

/* Appends a line to the ring registered for app (if any): text is what
 * log.c wrote after its prefix, already escaped for control bytes; and
 * when that ring has a file, writes line (line_len bytes: the whole
 * error-log line, its '\n' included; NULL: none) to it with one write. */
void sw_applog_add(const char *app, sw_log_level_t level, const char *time,
                   const char *text, size_t len, const char *line, size_t line_len);

/* Points log's file at path (appended, created mode 0640 minus umask), or
 * at none when path is NULL; nothing changes when it already is at path.
 * Opened by this process as its current user, never following a symbolic
 * link and only if it is a regular file with one link (see applog.c).
 * Returns 0, or -1 with a message in err (log then has no file). Not under
 * any lock a Python thread takes: it opens a file. */
int sw_applog_set_file(sw_applog_t *log, const char *path, char *err, size_t errlen);

/* Reopens every ring's file at its path (SIGUSR1, log rotation: the old
 * file was renamed away). Returns 0, or -1 with the first failure in err
 * (that ring keeps writing to its old file). */
int sw_applog_reopen_files(char *err, size_t errlen);

/* Appends a line to log, bytes as they are (they may not be UTF-8: a
 * client's path in a line; the JSON builder replaces what is not). */
void sw_applog_push(sw_applog_t *log, sw_log_level_t level, const char *time,
                    const char *text, size_t len);

/* Copies the newest max lines, oldest first, into *lines (malloc'd, free
 * with sw_applog_lines_free; NULL when *n is 0). log may be NULL (no
 * lines). Returns 0, or -1 when out of memory. */
int sw_applog_read(sw_applog_t *log, size_t max, sw_applog_line_t **lines, size_t *n);
void sw_applog_lines_free(sw_applog_line_t *lines, size_t n);

#endif

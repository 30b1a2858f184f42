/* applog.h: each app's last log lines, kept in memory for the admin API
 * (GET /v1/apps/NAME/log): a bounded ring per app name, fed by log.c with
 * every error-log line that names the app. The log itself is unchanged;
 * this is a copy.
 *
 * Ownership: a ring is reference-counted and registered under its app's
 * name; each app holds one reference (app->log), so an app that a SIGHUP
 * replaced by a new one of the same name shares its ring, and its lines
 * carry on. The last sw_applog_put unregisters and frees it.
 *
 * Locks (the whole order is in server.h): the registry lock, then a ring's
 * lock; both are leaves (nothing else is taken under them), so log.c may
 * feed a ring from any thread, holding any other lock or a GIL. */
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

/* Appends a line to the ring registered for app (if any): what log.c
 * wrote after its prefix, already escaped for control bytes. */
void sw_applog_add(const char *app, sw_log_level_t level, const char *time,
                   const char *text, size_t len);

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

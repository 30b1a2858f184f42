/* watch.h: reloads triggered by files: `watch = yes` (the app's own loaded
 * source files) and `touch-reload = FILE` (its mtime changes; Passenger's
 * tmp/restart.txt convention). One inotify thread watches the directories
 * holding those files (editors replace files by rename, which a watch on
 * the file itself would miss) and asks for a reload, debounced, through
 * sw_app_reload. */
#ifndef SW_WATCH_H
#define SW_WATCH_H

#include "config.h"

struct sw_app;

/* Starts the thread. Returns 0, or -1 with a message in err. */
int sw_watch_start(char *err, size_t errlen);

/* Adds files to watch for app (paths are copied); reason names the trigger
 * in the reload's requested_by ("(watch)", "(touch-reload)"). */
void sw_watch_add(struct sw_app *app, const sw_strv_t *files, const char *reason);

/* Stops watching for app (before it is freed). */
void sw_watch_forget(struct sw_app *app);

void sw_watch_stop(void);

#endif

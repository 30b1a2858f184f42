/* server.h: the whole server's life: listeners, apps, Python, the I/O
 * thread, the loader, the admin port, signals, the graceful shutdown; and
 * the read-only view of it that the admin port uses.
 *
 * Lock: the server lock (a rwlock) guards the set of apps and the current
 * config (users, tokens); SIGHUP takes it for writing to swap them. Order:
 * server lock, then app->lock, then app->queue.lock. */
#ifndef SW_SERVER_H
#define SW_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct sw_app;
typedef struct sw_server sw_server_t;

/* Runs the server until SIGTERM/SIGINT or a handover to a successor. Takes
 * ownership of cfg. quick: started by --app (the admin port then needs no
 * token).
 *
 * Returns (exit code 2) only when start-up fails before any thread was
 * started (log, bind, pid file, privileges, Python, the watch thread).
 * From the moment the loader runs it does not return: it ends the process
 * with _exit, 0 after a clean shutdown or a handover, 2 when start-up
 * failed (an app did not load). Not exit(): worker threads may still be
 * inside Python (an interpreter left alive after drain-timeout), and
 * exit() would run atexit handlers and library destructors under them. */
int sw_server_run(sw_config_t *cfg, int quick);

/* ---- the admin port's view (hold the read lock while using any of it) ---- */

void sw_server_read_lock(sw_server_t *s);
void sw_server_read_unlock(sw_server_t *s);

const sw_config_t *sw_server_config(sw_server_t *s);   /* users and tokens */
int sw_server_is_quick(sw_server_t *s);
size_t sw_server_n_apps(sw_server_t *s);
struct sw_app *sw_server_app(sw_server_t *s, size_t i);
struct sw_app *sw_server_find_app(sw_server_t *s, const char *name);

typedef struct {
    const char *version;
    long pid;
    char python[128];             /* "Python 3.11.2 (own-gil ...)" */
    double uptime_s;
    struct timespec started_at;   /* CLOCK_REALTIME: this process's start */
    const char *const *listeners; /* addresses as text, borrowed */
    size_t n_listeners;
    unsigned long handovers;
    uint64_t rss_bytes;           /* current resident set */
    uint64_t rss_budget_bytes;    /* 0: no budget */
    unsigned long total, active, queued, rejected, timeouts;   /* over all apps */
} sw_server_info_t;

void sw_server_info(sw_server_t *s, sw_server_info_t *out);

/* Asks for a process handover (the main thread runs it); waits up to
 * wait_s (< 0: not at all) for the outcome: DONE, FAILED (msg has the new
 * process's error and traceback), TIMEOUT or ACCEPTED. */
#include "app.h"
sw_cmd_result_t sw_server_recycle(sw_server_t *s, const char *user, double wait_s, char *msg,
                                  size_t msglen);

#endif

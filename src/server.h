/* server.h: the whole server's life: listeners, apps, Python, the I/O
 * thread, the loader, the admin port, signals, the graceful shutdown; and
 * the read-only view of it that the admin port uses.
 *
 * ---- Locks: the whole process's order (take them top to bottom only) ----
 *
 * rank  lock                        guards
 *  1    server lock (rwlock,        s->apps, s->cfg (users, tokens), every
 *       server.c; also the I/O      listener's route table; SIGHUP writes. Held
 *       thread's "routes lock")     only briefly: the admin backend holds it
 *                                   inside a call, never while a command
 *                                   waits (admin/backend_server.c).
 *  2    recycle_lock (server.c)     the handover request/result fields
 *  3    create_end_lock (interp.c)  one interpreter created or ended at a
 *                                   time; always taken WITHOUT a GIL
 *  4    a GIL (CPython)             that interpreter's Python objects. Never
 *                                   waited for while holding a lock of rank
 *                                   5 or more.
 *  5    app->lock (app.h)           the app's state machine, generations
 *                                   (gen/old/building and their fields marked
 *                                   "lock"), reload record, latency ring
 *  6    L.lock (loader.c)           command queue, keeper count (a leaf:
 *                                   taken under app->lock by sw_loader_post,
 *                                   and under the server lock by SIGHUP's
 *                                   ADD)
 *  6    main_app_lock (loader.c)    which app runs in the main interpreter
 *  6    W.lock (watch.c)            watched files, pending reloads
 *  7    app->queue.lock (queue.h)   the request queue (a leaf)
 *  8    reg_lock (applog.c)         the registry of log rings by app name
 *  9    app->log->lock (applog.c)   one app's last log lines. 8 and 9 are
 *                                   leaves: log.c takes them under any lock
 *                                   above (or a GIL) to copy an app's line
 * 10    app->log->file_lock         one app's log file (fd, path): a leaf,
 *       (applog.c)                  taken alone (never with 8 or 9) under
 *                                   any lock above to write a line; no file
 *                                   is ever opened while it is held
 * 11    W.lock (host_control.c)     a host-mode worker's running admin
 *                                   commands and its asks to the master
 *                                   (waited on by their condition only): a
 *                                   leaf, taken with nothing else held
 *  -    view_lock (host_admin.c)    host mode's master (no Python, none of
 *                                   the locks above): its view of the
 *                                   workers, pending commands and recycles;
 *                                   a leaf. The master's loop (host.c) has
 *                                   one thread and no lock of its own.
 *  -    atomics                     counters, app->cfg and app->refs,
 *                                   request contexts' refs and finished flag
 *                                   (reqctx.h), worker seq/deadline
 *                                   (interp.h), the loader's left_alive
 *
 * Objects shared across threads are reference-counted: apps (app.h),
 * request contexts (reqctx.h); generations have one owner, their keeper
 * thread (loader.c). Replaced configs stay alive until exit (apps may
 * still point into them). */
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

/* loader.h: the loader: a coordinator thread that takes commands (reload,
 * destroy, add, remove) and does the housekeeping (load-timeout,
 * drain-timeout, idle-timeout), and one keeper thread per generation that
 * creates its interpreters, imports the app and, once the generation is
 * retired and its workers are gone, ends them (FACTS.md section 6: an
 * interpreter is ended by the thread that created it). A wedged import
 * wedges only its own keeper. Serving never waits for any of it. */
#ifndef SW_LOADER_H
#define SW_LOADER_H

#include <stddef.h>

struct sw_app;

typedef enum { SW_LOADER_RELOAD, SW_LOADER_DESTROY, SW_LOADER_ADD, SW_LOADER_REMOVE } sw_loader_cmd_t;

/* Starts the thread (main thread, after sw_python_init and with the main
 * thread state released) and waits until every app has loaded its first
 * generation (recorded as action by user in each app's last_reload). Returns 0, or -1 when one failed (the loader then keeps
 * running: call sw_loader_shutdown). apps is copied. */
int sw_loader_start(struct sw_app **apps, size_t n, const char *user, const char *action,
                    char *err, size_t errlen);

/* Queues a command. app->lock may be held by the caller. ADD starts
 * managing (and loads) a new app; REMOVE drains and ends one, after which
 * the loader lets it go. Returns 0, or -1 (out of memory, logged) when the
 * command could not be queued: the caller must undo what waits for it. */
int sw_loader_post(sw_loader_cmd_t cmd, struct sw_app *app, const char *user);

/* Does what a REMOVE command does, on the caller's thread: for a REMOVE
 * that sw_loader_post could not queue (the caller had already taken the
 * app out of its list and routes, so it cannot keep it). The app drains,
 * its generations end, and the loader lets it go once quiet, as after a
 * queued REMOVE. Takes app->lock: the caller holds no app lock. */
void sw_loader_remove_now(struct sw_app *app, const char *user);

/* Wakes the loader (a worker exited: a retired generation may be done). */
void sw_loader_wake(void);

/* Closes every app's queue (queued requests are still served), waits up to
 * drain_s for the workers, ends every interpreter, stops the thread.
 * Returns the number of interpreters that had to be left alive (then
 * Python must not be finalised). */
int sw_loader_shutdown(double drain_s);

#endif

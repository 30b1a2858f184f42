/* backend.h: the one interface between the admin port's HTTP layer
 * (http.c: auth decisions, routes, connection bounds, Host/Origin checks,
 * visibility, audit, panel files, JSON answers and their status codes) and
 * whatever holds the apps. http.c calls nothing else about apps or the
 * server. Single mode implements it on this process's server
 * (backend_server.c); host mode's master implements it on what its workers
 * last reported and on their control channels (DESIGN section 9), so both
 * serve the same routes, JSON, auth and panel.
 *
 * ---- The contract every implementation keeps ----
 *
 * Threads: libmicrohttpd runs a thread per connection, so any call may come
 *   from any thread, many at once: each call is thread-safe by itself. Calls
 *   come only between sw_admin_start and the return of sw_admin_stop (which
 *   joins every connection thread); ctx must stay valid that long.
 * Locks: http.c holds no lock of its own across a call. A call takes what
 *   locks it needs and releases them before it returns; none outlives a
 *   call, so http.c holds no lock of the backend between two calls either.
 * Blocking: every call but the three commands (app_reload, app_destroy,
 *   recycle) answers from what is at hand: it may take short locks, but
 *   never waits for a GIL, for an app's work or for another process (the
 *   master answers from its workers' last reports, so status answers while
 *   a worker is stuck, starting or gone). A command waits for its outcome up
 *   to wait_s seconds (at most 3600: http.c bounds ?wait=), and while it
 *   waits it holds no lock that SIGHUP, a signal or the loader takes:
 *   signals never wait for an admin request. With wait_s < 0 (reload,
 *   recycle) it does not wait for the outcome; a backend that posts the
 *   command to another process may still wait for the post to be taken,
 *   a few seconds at most (then TIMEOUT).
 * JSON: every json_t returned is a new reference, the caller's (http.c
 *   decrefs it on every path); NULL means it could not be built (out of
 *   memory), which http.c answers with 500. The documents are status.h's.
 * Strings: arguments are the caller's, valid for the call only; a returned
 *   string is borrowed or the caller's as each call says.
 * Commands: msg (msglen bytes, never 0) gets a one-line reason for FAILED,
 *   TIMEOUT and CONFLICT, or "" (http.c then says a generic one); FAILED's
 *   may hold the error and traceback. The results and their status codes
 *   are app.h's sw_cmd_result_t: DONE 200, ACCEPTED 202, FAILED 422,
 *   TIMEOUT 504, CONFLICT 409. */
#ifndef SW_ADMIN_BACKEND_H
#define SW_ADMIN_BACKEND_H

#include <jansson.h>
#include <stddef.h>

#include "app.h"      /* sw_cmd_result_t */
#include "config.h"   /* sw_user_config_t, sw_role_t */

/* One app, pinned by app_find until app_release: it stays valid for the
 * calls below however the config changes meanwhile (a SIGHUP that removes
 * it, or gives it to another owner, does not pull it from under a waiting
 * command). Opaque to http.c. */
typedef struct sw_backend_app sw_backend_app_t;

typedef struct {
    void *ctx;                     /* passed back to every call */

    /* Quick mode (--app): no tokens; every caller is an admin, and http.c
     * checks the Host and Origin itself. authenticate is never called. */
    int quick;

    /* 1 when recycle takes an owner (host mode: that owner's worker
     * alone); 0: http.c answers ?owner= with 400 (single mode: one process
     * serves every owner, so only the whole of it can be handed over). */
    int recycle_by_owner;

    /* The user whose token is in authorization (the Authorization header's
     * value, "Bearer TOKEN", may be NULL), decided by sw_auth_user (auth.h:
     * SHA-256, constant time) against the current users. Returns 0 with
     * *out = {name: a malloc'd copy, the caller frees it; role; the other
     * fields zero}, or -1 with *out zeroed (no such user: 401; or out of
     * memory). A copy, not the config's: the request stays authorised as it
     * was when it arrived, even if a SIGHUP drops the user while it waits. */
    int (*authenticate)(void *ctx, const char *authorization, sw_user_config_t *out);

    /* A JSON array of APP (status.h), in config order, of the apps user may
     * see by sw_auth_can_see_owner (auth.h). The one call that applies the
     * visibility rule itself (filtering a whole list in http.c would build
     * every app's JSON for every user's request). */
    json_t *(*apps)(void *ctx, const sw_user_config_t *user);

    /* The app named name, pinned (release it with app_release), or NULL
     * when there is none. *owner gets its owner's name (NULL: no owner,
     * admins only), borrowed until app_release: http.c decides from it
     * whether the caller may see the app, before any other call on it, and
     * answers one it may not see exactly like a missing one. */
    sw_backend_app_t *(*app_find)(void *ctx, const char *name, const char **owner);
    void (*app_release)(void *ctx, sw_backend_app_t *app);

    /* The app's APP now (host mode: as last reported). */
    json_t *(*app_json)(void *ctx, sw_backend_app_t *app);

    /* GET /v1/apps/NAME/log: {"app": NAME, "lines": [...]} of its last
     * lines (at most lines, <= SW_APPLOG_MAX_LINES), oldest first
     * (sw_status_log_json). */
    json_t *(*app_log)(void *ctx, sw_backend_app_t *app, size_t lines);

    /* Commands on one app, asked by user (its name, for the app's reload
     * record): as sw_app_reload and sw_app_destroy (app.h). Reload with
     * wait_s < 0 does not wait (ACCEPTED); destroy with wait_s < 0 waits
     * the app's own bound (drain-timeout + 5 s), since DESIGN answers a
     * destroy once the app has ended. A backend that cannot reach the app
     * now (host mode: its worker is gone) answers CONFLICT or TIMEOUT,
     * never blocks beyond the wait. http.c then asks app_json for the
     * answer's APP. */
    sw_cmd_result_t (*app_reload)(void *ctx, sw_backend_app_t *app, const char *user,
                                  double wait_s, char *msg, size_t msglen);
    sw_cmd_result_t (*app_destroy)(void *ctx, sw_backend_app_t *app, const char *user,
                                   double wait_s, char *msg, size_t msglen);

    /* GET /v1/server (sw_status_server_json; host mode adds its workers). */
    json_t *(*server)(void *ctx);

    /* A graceful handover to a fresh process, asked by user. owner: NULL
     * for the whole service (host mode: every worker, then the master);
     * else that owner's process alone (only when recycle_by_owner; an
     * owner with no process: CONFLICT). wait_s < 0: ACCEPTED at once.
     * FAILED: msg has the new process's error and traceback (http.c gives
     * 4096 bytes). On DONE and ACCEPTED http.c answers with server(). */
    sw_cmd_result_t (*recycle)(void *ctx, const char *owner, const char *user, double wait_s,
                               char *msg, size_t msglen);

    /* GET /metrics: Prometheus text (sw_status_metrics), malloc'd (the
     * caller frees it), or NULL. */
    char *(*metrics)(void *ctx);
} sw_backend_t;

#endif

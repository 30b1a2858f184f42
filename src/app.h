/* app.h: one configured app: its request queue, its generations of
 * interpreters, its counters, and its state machine. Every change of an
 * app's state happens in app.c, through the events below; the loader
 * (loader.c) only runs the Python work (building and ending generations)
 * and reports back through these events.
 *
 * Ownership: an app is reference-counted (sw_app_ref/sw_app_unref). The
 * server's app list holds one reference; so do each queued loader command,
 * the loader's list of managed apps, each generation (for its workers and
 * keeper thread), and whoever uses an app without holding the server lock
 * (an admin handler, the watch thread). The last unref frees it, so an app
 * that SIGHUP removed lives on while a stuck worker still serves it.
 *
 * Locks (the whole order is in server.h): app->lock guards every field
 * marked (lock) below; it is taken after the server lock and before
 * app->queue.lock (a leaf). Counters are atomics. Nothing here ever takes
 * a GIL, so status readers (the admin port) answer while every worker spins
 * in Python.
 *
 * State machine (app->state; "gen" = the serving generation):
 *
 *   state \ event   reload asked    config changed  request       built          build failed    build timed out   destroy asked   drained(*)
 *   loading         join it         hold one (**)   queue         serving        failed          failed            409 (busy)      -
 *   serving         reloading       reloading       serve         -              -               -                 draining        -
 *   reloading       join it         hold one (**)   serve         serving(swap)  serving(old)    serving(old)      409 (busy)      -
 *   draining        409             409             queue         -              -               -                 wait            idle
 *   idle            loading         loading         loading       -              -               -                 (done)          -
 *   failed          loading         loading         queue(503 at  -              -               -                 idle            -
 *                                                   load-timeout)
 *
 *   (*) every generation retired by the destroy has ended or is stuck.
 *   (**) "config changed" is a reload asked because SIGHUP gave the app a
 *   new config. A build that already began read the older one, so it
 *   cannot stand for the new: one more reload is held and asked once that
 *   build is answered (built, failed or timed out), i.e. "reload asked" in
 *   the state that brings; however many configs come meanwhile, it is one
 *   build, with the newest. A build queued but not yet begun reads the new
 *   config: that is "join it". A destroy or a newer load drops what is held.
 *   A build that outlives load-timeout is answered as timed out (its
 *   waiters get 504, queued requests 503) and no longer blocks the app's
 *   commands; if its import finishes later it still serves, unless a newer
 *   reload or a destroy came meanwhile (then it is ended unused). A reload that must be a process handover goes to
 *   server.c instead (sw_app_set_process_reload). */
#ifndef SW_APP_H
#define SW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "queue.h"

struct sw_interp;

typedef enum {
    SW_APP_LOADING = 0,   /* first generation being built */
    SW_APP_SERVING,
    SW_APP_RELOADING,     /* serving, with the next generation being built */
    SW_APP_DRAINING,      /* being destroyed or shut down */
    SW_APP_IDLE,          /* destroyed; the next request loads it */
    SW_APP_FAILED         /* no generation could be loaded */
} sw_app_state_t;

typedef struct {
    atomic_ulong total;
    atomic_ulong active;
    atomic_ulong status_2xx, status_3xx, status_4xx, status_5xx;
    atomic_ulong rejected;
    atomic_ulong timeouts;
    /* Clients that went away before sending the whole body they announced
     * (a short body, client abort): their fault, so neither a response nor
     * an error of the app's. */
    atomic_ulong client_aborts;
} sw_app_counters_t;

typedef enum {
    SW_CMD_DONE = 0,     /* finished (200) */
    SW_CMD_ACCEPTED,     /* started, not waited for (202) */
    SW_CMD_FAILED,       /* the new code failed to load; old serves (422) */
    SW_CMD_TIMEOUT,      /* still running when the wait ended (504) */
    SW_CMD_CONFLICT      /* not possible now or for this app (409) */
} sw_cmd_result_t;

/* One set of interpreters loaded from the same code, built, served and
 * ended by one keeper thread of the loader (its interpreters' creator).
 * Owned by its app's lists (app->gen, app->old, app->building) and freed
 * by its keeper when it ends; it holds a reference to its app. */
typedef struct sw_generation {
    struct sw_app *app;           /* counted reference */
    /* The config it is built from: app->cfg when the build began, read
     * once, so a SIGHUP during the build changes nothing of it (and shows
     * whether it read an older config than the app's). Configs stay alive. */
    const sw_app_config_t *cfg;
    int number;
    unsigned long ticket;         /* the load/reload it answers */
    char action[16];              /* "load" | "reload" | "handover" ... (who asked
                                   * is in app->last.requested_by) */
    struct sw_interp **interps;   /* keeper thread only */
    size_t n_interps;
    int retired;                  /* app->queue.lock: workers stop taking requests */
    int live_workers;             /* lock */
    int serving;                  /* lock: swapped in (it has been app->gen) */
    int abandoned;                /* lock: the build outlived load-timeout: its
                                   * waiters were answered; it serves only if
                                   * nothing newer was asked meanwhile */
    unsigned long destroys_before; /* app->destroys when the build began */
    int end_asked;                /* lock: retired; end once its workers are gone */
    int stuck;                    /* lock: could not be ended: left alive (reported) */
    char stuck_reason[320];       /* lock */
    struct timespec build_deadline; /* CLOCK_MONOTONIC: load-timeout */
    struct timespec retired_at;   /* CLOCK_MONOTONIC, lock */
    int max_requests;             /* the app's max-requests when it was built */
    atomic_int_fast64_t served;   /* requests its workers finished */
    struct sw_generation *next;   /* on app->old or app->building (lock) */
} sw_generation_t;

/* The last reload or destroy. */
typedef struct {
    int generation;               /* the one it built (0 for destroy) */
    char action[16];              /* "reload" | "destroy" | "load" */
    /* Who asked, whole (user names have no length limit): malloc'd, owned
     * by the record; NULL only when out of memory (status shows null). */
    char *requested_by;
    struct timespec started_at;   /* CLOCK_REALTIME */
    struct timespec finished_at;
    double duration_ms;
    char result[16];              /* "running" | "ok" | "failed" | "timeout" */
    char *error;                  /* the error and traceback, or NULL */
} sw_reload_record_t;

#define SW_LATENCY_RING 1024

typedef struct sw_app {
    /* Swapped by SIGHUP while other threads read it: an atomic pointer.
     * Replaced configs stay alive (server.c keeps them), so a pointer read
     * once stays valid. */
    const sw_app_config_t *_Atomic cfg;
    const char *name;             /* from the first config; never changes */
    atomic_int refs;
    sw_queue_t queue;
    sw_app_counters_t counters;
    double request_timeout;       /* seconds; 0 = none */
    double drain_timeout;
    double load_timeout;

    pthread_mutex_t lock;
    pthread_cond_t changed;       /* state, generations, worker counts */
    sw_app_state_t state;
    sw_generation_t *gen;         /* serving generation, or NULL */
    sw_generation_t *old;         /* retired ones not yet ended */
    sw_generation_t *building;    /* builds running, newest first (abandoned ones too) */
    int removed;                  /* SIGHUP removed it: it only drains */
    unsigned long destroys;       /* destroys so far (a late build must not undo one) */
    int next_generation;
    int busy_loading;             /* a load/reload is queued or running */
    unsigned long ticket_seq;     /* reload requests: the last ticket given */
    unsigned long pending_ticket; /* the load/reload queued or running */
    unsigned long done_ticket;    /* the last one finished ... */
    sw_cmd_result_t done_result;  /* ... and how */
    int reload_held;              /* "config changed" during a build of an older
                                   * config: one more reload once it is answered */
    char *held_by;                /* lock: who asked it ("(SIGHUP)"), malloc'd, or NULL */
    int destroy_pending;
    unsigned long reloads;
    sw_reload_record_t last;
    int has_last;
    sw_isolation_t isolation;     /* the mode the interpreters got */
    char isolation_reason[512];   /* why auto fell back; "" when it did not */
    int reload_in_process;        /* reload_mode: 0 interpreter, 1 process */
    char reload_mode_reason[512];
    double latency_ms[SW_LATENCY_RING];
    size_t latency_n;             /* samples written (ring index = n % size) */
    struct timespec last_request; /* CLOCK_MONOTONIC, for idle-timeout */
    /* Its last log lines (applog.h), a counted reference shared with any
     * app of the same name; set at creation, never changes (NULL when out
     * of memory: no lines). Guarded by its own lock. */
    struct sw_applog *log;
} sw_app_t;

const char *sw_app_state_name(sw_app_state_t s);

/* A new app with one reference (the caller's). */
sw_app_t *sw_app_new(const sw_app_config_t *cfg, const sw_config_t *server_cfg);
sw_app_t *sw_app_ref(sw_app_t *app);
void sw_app_unref(sw_app_t *app);   /* the last one frees it */

/* ---- status (any thread, never a GIL) ------------------------------------ */

typedef struct {
    int64_t id;
    int generation;
    const char *state;            /* "serving" | "draining" | "stuck" */
    int threads;
    int busy;
    unsigned long requests;
    time_t created_at;
    char stuck_reason[320];       /* "" = null: why it could not be ended */
} sw_interp_status_t;

typedef struct {
    int generation;
    double age_s;
    int abandoned;                /* it outlived load-timeout ("overdue") */
} sw_load_status_t;

typedef struct {
    const char *name, *owner, *wsgi;          /* borrowed from the config */
    sw_app_state_t state;
    sw_isolation_t isolation;
    char isolation_reason[512];               /* "" = null */
    const char *reload_mode;                  /* "interpreter" | "process" */
    char reload_mode_reason[512];             /* "" = null */
    int generation;
    sw_interp_status_t *interps;              /* malloc'd */
    size_t n_interps;
    unsigned long total, active, queued, status_2xx, status_3xx, status_4xx,
        status_5xx, rejected, timeouts, client_aborts;
    double p50_ms, p99_ms;
    unsigned long reloads;
    int has_last;
    sw_reload_record_t last;                  /* last.error and last.requested_by
                                               * are copies (sw_app_status_free) */
    sw_load_status_t loads[8];                /* builds running, newest first */
    size_t n_loads;
} sw_app_status_t;

void sw_app_get_status(sw_app_t *app, sw_app_status_t *out);
void sw_app_status_free(sw_app_status_t *st);

/* ---- commands (admin, watcher, signals) ------------------------------------ */


/* Reload: builds the next generation while the current one serves, then
 * swaps. Never waits holding a lock other than app->lock's condition. A reload asked while one is loading joins it. wait_s < 0: do not
 * wait (ACCEPTED). msg gets a one-line reason for FAILED/CONFLICT. */
sw_cmd_result_t sw_app_reload(sw_app_t *app, const char *user, double wait_s,
                              char *msg, size_t msglen);

/* The app's config changed (SIGHUP swapped app->cfg): the event "config
 * changed" of the table above. Like sw_app_reload without waiting, except
 * during a build that began with an older config: then one more reload is
 * held until that build is answered (coalesced: one, whatever the number
 * of calls). ACCEPTED, or CONFLICT or FAILED (out of memory) with msg's
 * one-line reason. */
sw_cmd_result_t sw_app_config_changed(sw_app_t *app, const char *user, char *msg,
                                      size_t msglen);

/* A reload that must be a process handover (reload_mode process, or the
 * memory budget spent) is handed to this hook (server.c); over_budget says
 * whether the budget is spent. */
void sw_app_set_process_reload(sw_cmd_result_t (*reload)(const char *user, double wait_s,
                                                         char *msg, size_t msglen),
                               int (*over_budget)(void));

/* Destroy: drains and ends the current generation; the app becomes idle.
 * Waits up to wait_s for it (DONE or TIMEOUT). */
sw_cmd_result_t sw_app_destroy(sw_app_t *app, const char *user, double wait_s,
                               char *msg, size_t msglen);

/* ---- workers and the I/O thread -------------------------------------------- */

/* Queues r (I/O thread). An idle app starts loading. Returns 0, or -1 when
 * the queue is full (r stays with the caller). */
int sw_app_submit(sw_app_t *app, sw_request_t *r);

void sw_app_worker_started(sw_app_t *app, sw_generation_t *g);
/* A worker of g, started before g was swapped in, waits for the swap (so
 * what it serves is already reported as g's) and returns 1, or 0 when g
 * will never serve (the worker leaves). */
int sw_app_worker_wait_serving(sw_app_t *app, sw_generation_t *g);
void sw_app_worker_exited(sw_app_t *app, sw_generation_t *g);
void sw_app_count_response(sw_app_t *app, int status, double duration_ms);

/* ---- events from the loader (loader.c): the state machine's transitions ---- */

/* The loader takes the reload queued (busy_loading): a new generation,
 * numbered and put on app->building, with the reload record started.
 * NULL when out of memory (the reload then fails). */
sw_generation_t *sw_app_build_begin(sw_app_t *app, const char *user, const char *action);

/* g's interpreters are loaded and their workers started: it serves and
 * the one before retires. Returns 0, or -1 when g was abandoned meanwhile
 * (load-timeout) or the app is being removed: then g does not serve and
 * the caller ends it. */
int sw_app_build_done(sw_app_t *app, sw_generation_t *g, sw_isolation_t mode,
                      const char *reason, int in_process, const char *mode_reason);

/* g could not be loaded (error: the traceback, taken; may be NULL). The
 * caller frees g (sw_app_generation_free). */
void sw_app_build_failed(sw_app_t *app, sw_generation_t *g, char *error);

/* Abandons builds that outlived load-timeout (their keeper threads go on
 * and end what they built if the import ever returns). Returns 1 when one
 * was abandoned. */
int sw_app_expire_builds(sw_app_t *app);

/* Retires the serving generation (destroy, idle-timeout, removal,
 * shutdown): it takes no new request and ends once its workers are gone.
 * removing: the app was removed from the config (it only drains now). */
void sw_app_retire(sw_app_t *app, const char *user, int removing);

/* Marks retired generations whose workers outlived drain-timeout (or all
 * of them when final) as stuck, for status. */
void sw_app_check_drain(sw_app_t *app, int final);

/* Keeper of g: waits until g is retired and its workers are gone, then
 * takes it off app->old (status no longer shows it while it ends). */
int sw_app_wait_retired(sw_app_t *app, sw_generation_t *g);

/* Draining with nothing left to drain: the app becomes idle. */
void sw_app_drained(sw_app_t *app);

/* A retired generation ended (why == NULL; it is unlinked and freed) or
 * must stay alive (why says which threads; it stays on app->old, stuck). */
void sw_app_generation_ended(sw_app_t *app, sw_generation_t *g, const char *why);

/* idle-timeout: retires the generation of an app nobody asked for lately;
 * returns 1 when it did. */
int sw_app_check_idle(sw_app_t *app);

/* Whether nothing of the app runs or builds any more (every generation
 * ended or stuck): a removed app can then be let go. */
int sw_app_quiet(sw_app_t *app);

/* Frees a generation that holds no interpreter (loader). */
void sw_app_generation_free(sw_generation_t *g);

#endif

/* app.h: one configured app: its request queue, its generations of
 * interpreters, its counters, and the commands that change it (load,
 * reload, destroy), which the loader thread (loader.c) carries out.
 *
 * Locks: app->lock guards state, gen/old lists, live worker counts, the
 * reload record and the latency ring; it is taken after the server lock and
 * before app->queue.lock (which is a leaf). Counters are atomics. Nothing
 * here ever takes a GIL, so status readers (the admin port) answer while
 * every worker spins in Python. */
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
} sw_app_counters_t;

typedef enum {
    SW_CMD_DONE = 0,     /* finished (200) */
    SW_CMD_ACCEPTED,     /* started, not waited for (202) */
    SW_CMD_FAILED,       /* the new code failed to load; old serves (422) */
    SW_CMD_TIMEOUT,      /* still running when the wait ended (504) */
    SW_CMD_CONFLICT      /* not possible now or for this app (409) */
} sw_cmd_result_t;

/* One set of interpreters loaded from the same code. */
typedef struct sw_generation {
    int number;
    struct sw_interp **interps;
    size_t n_interps;
    int retired;                  /* app->queue.lock: workers stop taking requests */
    int live_workers;             /* app->lock */
    int stuck;                    /* could not be ended: left alive (reported) */
    char stuck_reason[320];
    struct timespec retired_at;   /* CLOCK_MONOTONIC */
    int max_requests;             /* the app's max-requests when it was built */
    atomic_int_fast64_t served;   /* requests its workers finished */
    struct sw_generation *next;   /* on app->old */
} sw_generation_t;

/* The last reload or destroy. */
typedef struct {
    int generation;               /* the one it built (0 for destroy) */
    char action[16];              /* "reload" | "destroy" | "load" */
    char requested_by[64];
    struct timespec started_at;   /* CLOCK_REALTIME */
    struct timespec finished_at;
    double duration_ms;
    char result[16];              /* "running" | "ok" | "failed" | "timeout" */
    char *error;                  /* the error and traceback, or NULL */
} sw_reload_record_t;

#define SW_LATENCY_RING 1024

typedef struct sw_app {
    const sw_app_config_t *cfg;   /* owned by the server's current config */
    const char *name;
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
    int next_generation;
    int busy_loading;             /* a load/reload is queued or running */
    unsigned long ticket_seq;     /* reload requests: the last ticket given */
    unsigned long pending_ticket; /* the load/reload queued or running */
    unsigned long done_ticket;    /* the last one finished ... */
    sw_cmd_result_t done_result;  /* ... and how */
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
} sw_app_t;

const char *sw_app_state_name(sw_app_state_t s);

sw_app_t *sw_app_new(const sw_app_config_t *cfg, const sw_config_t *server_cfg);
void sw_app_free(sw_app_t *app);

/* ---- status (any thread, never a GIL) ------------------------------------ */

typedef struct {
    int64_t id;
    int generation;
    const char *state;            /* "serving" | "draining" | "stuck" */
    int threads;
    int busy;
    unsigned long requests;
    time_t created_at;
} sw_interp_status_t;

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
        status_5xx, rejected, timeouts;
    double p50_ms, p99_ms;
    unsigned long reloads;
    int has_last;
    sw_reload_record_t last;                  /* last.error is a copy */
} sw_app_status_t;

void sw_app_get_status(sw_app_t *app, sw_app_status_t *out);
void sw_app_status_free(sw_app_status_t *st);

/* ---- commands (admin, watcher, signals) ------------------------------------ */


/* Reload: builds the next generation while the current one serves, then
 * swaps. A reload asked while one is loading joins it. wait_s < 0: do not
 * wait (ACCEPTED). msg gets a one-line reason for FAILED/CONFLICT. */
sw_cmd_result_t sw_app_reload(sw_app_t *app, const char *user, double wait_s,
                              char *msg, size_t msglen);

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
void sw_app_worker_exited(sw_app_t *app, sw_generation_t *g);
void sw_app_count_response(sw_app_t *app, int status, double duration_ms);

#endif

/* app.h: one configured app: its request queue, its current generation of
 * interpreters, and its counters. Counters are atomics so status readers
 * (admin, logs) never take a lock or a GIL. app->lock guards live_workers;
 * it is a leaf lock. */
#ifndef SW_APP_H
#define SW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "queue.h"

struct sw_interp;

typedef struct {
    atomic_ulong total;
    atomic_ulong active;
    atomic_ulong status_2xx, status_3xx, status_4xx, status_5xx;
    atomic_ulong rejected;
    atomic_ulong timeouts;
} sw_app_counters_t;

typedef struct sw_app {
    const sw_app_config_t *cfg;
    const char *name;
    sw_queue_t queue;
    int generation;
    struct sw_interp **interps;
    size_t n_interps;
    sw_isolation_t isolation;       /* the mode the interpreters got */
    char isolation_reason[512];     /* why auto fell back; "" when it did not */
    sw_app_counters_t counters;
    double request_timeout;         /* seconds; 0 = none ([server] request-timeout) */

    pthread_mutex_t lock;
    pthread_cond_t workers_done;
    int live_workers;
} sw_app_t;

sw_app_t *sw_app_new(const sw_app_config_t *cfg, size_t queue_size, double request_timeout);

/* Builds generation 1: creates every interpreter (one at a time; FACTS.md
 * section 2) and starts its workers. Main thread, main thread state
 * current. Returns 0, or -1 after logging the app's error. */
int sw_app_load(sw_app_t *app);

/* Closes the queue (queued requests are still served) and waits until every
 * worker has exited or the deadline (CLOCK_MONOTONIC) passes. Returns the
 * number of workers still running. No GIL needed. */
int sw_app_drain(sw_app_t *app, const struct timespec *deadline);

/* Ends the interpreters; only after sw_app_drain returned 0. Main thread,
 * main thread state current. */
void sw_app_end(sw_app_t *app);

void sw_app_free(sw_app_t *app);

/* Worker bookkeeping. */
void sw_app_worker_started(sw_app_t *app);
void sw_app_worker_exited(sw_app_t *app);
void sw_app_count_response(sw_app_t *app, int status);

#endif

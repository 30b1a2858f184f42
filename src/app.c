/* app.c: an app's state as the rest of the server sees it: counters,
 * generations, status snapshots, and the reload/destroy commands, which it
 * hands to the loader thread (loader.c) and waits on (see app.h). */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "loader.h"
#include "log.h"

static void deadline_after(struct timespec *abs, double seconds);

static sw_cmd_result_t (*process_reload)(const char *, double, char *, size_t);
static int (*memory_over_budget)(void);

void sw_app_set_process_reload(sw_cmd_result_t (*reload)(const char *user, double wait_s,
                                                         char *msg, size_t msglen),
                               int (*over_budget)(void))
{
    process_reload = reload;
    memory_over_budget = over_budget;
}
static int wait_until(sw_app_t *app, const struct timespec *abs);

const char *sw_app_state_name(sw_app_state_t s)
{
    switch (s) {
    case SW_APP_LOADING:   return "loading";
    case SW_APP_SERVING:   return "serving";
    case SW_APP_RELOADING: return "reloading";
    case SW_APP_DRAINING:  return "draining";
    case SW_APP_IDLE:      return "idle";
    case SW_APP_FAILED:    return "failed";
    }
    return "?";
}

sw_app_t *sw_app_new(const sw_app_config_t *cfg, const sw_config_t *server_cfg)
{
    sw_app_t *app = calloc(1, sizeof *app);
    if (!app)
        return NULL;
    app->cfg = cfg;
    app->name = cfg->name;
    app->request_timeout = server_cfg->request_timeout;
    app->drain_timeout = server_cfg->drain_timeout;
    app->load_timeout = server_cfg->load_timeout;
    app->state = SW_APP_LOADING;
    app->next_generation = 1;
    if (sw_queue_init(&app->queue, (size_t)server_cfg->queue_size) != 0) {
        free(app);
        return NULL;
    }
    pthread_mutex_init(&app->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&app->changed, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &app->last_request);
    return app;
}

void sw_app_free(sw_app_t *app)
{
    if (!app)
        return;
    sw_queue_destroy(&app->queue);
    pthread_cond_destroy(&app->changed);
    pthread_mutex_destroy(&app->lock);
    free(app->last.error);
    free(app);
}

/* ---- status ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void add_interps(sw_app_status_t *out, const sw_generation_t *g, const char *state)
{
    for (size_t i = 0; i < g->n_interps; i++) {
        const sw_interp_t *it = g->interps[i];
        sw_interp_status_t *st = &out->interps[out->n_interps++];
        int busy = 0;
        for (int w = 0; w < it->n_workers; w++)
            busy += (int)(it->workers[w].seq & 1);
        *st = (sw_interp_status_t){
            .id = it->id,
            .generation = g->number,
            .state = g->stuck ? "stuck" : state,
            .threads = it->n_workers,
            .busy = busy,
            .requests = it->requests,
            .created_at = it->created_at,
        };
    }
}

void sw_app_get_status(sw_app_t *app, sw_app_status_t *out)
{
    memset(out, 0, sizeof *out);
    const sw_app_config_t *cfg = app->cfg;
    out->name = app->name;
    out->owner = cfg->owner;
    out->wsgi = cfg->wsgi;
    out->total = app->counters.total;
    out->active = app->counters.active;
    out->queued = sw_queue_count(&app->queue);
    out->status_2xx = app->counters.status_2xx;
    out->status_3xx = app->counters.status_3xx;
    out->status_4xx = app->counters.status_4xx;
    out->status_5xx = app->counters.status_5xx;
    out->rejected = app->counters.rejected;
    out->timeouts = app->counters.timeouts;

    double *lat = malloc(sizeof app->latency_ms);
    pthread_mutex_lock(&app->lock);
    out->state = app->state;
    out->isolation = app->isolation;
    snprintf(out->isolation_reason, sizeof out->isolation_reason, "%s", app->isolation_reason);
    out->reload_mode = app->reload_in_process ? "process" : "interpreter";
    snprintf(out->reload_mode_reason, sizeof out->reload_mode_reason, "%s",
             app->reload_mode_reason);
    out->generation = app->gen ? app->gen->number : 0;
    size_t n = 0;
    for (const sw_generation_t *g = app->gen; g; g = NULL)
        n += g->n_interps;
    for (const sw_generation_t *g = app->old; g; g = g->next)
        n += g->n_interps;
    out->interps = calloc(n ? n : 1, sizeof *out->interps);
    if (out->interps) {
        if (app->gen)
            add_interps(out, app->gen, "serving");
        for (const sw_generation_t *g = app->old; g; g = g->next)
            add_interps(out, g, "draining");
    }
    out->reloads = app->reloads;
    out->has_last = app->has_last;
    out->last = app->last;
    out->last.error = app->last.error ? strdup(app->last.error) : NULL;
    size_t samples = app->latency_n < SW_LATENCY_RING ? app->latency_n : SW_LATENCY_RING;
    if (lat)
        memcpy(lat, app->latency_ms, samples * sizeof *lat);
    pthread_mutex_unlock(&app->lock);

    if (lat && samples > 0) {
        qsort(lat, samples, sizeof *lat, cmp_double);
        out->p50_ms = lat[(samples - 1) / 2];
        out->p99_ms = lat[(samples * 99 - 1) / 100];
    }
    free(lat);
}

void sw_app_status_free(sw_app_status_t *st)
{
    free(st->interps);
    free(st->last.error);
    st->interps = NULL;
    st->last.error = NULL;
}

/* ---- commands -------------------------------------------------------------- */

static void deadline_after(struct timespec *abs, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, abs);
    long long ns = abs->tv_nsec + (long long)(seconds * 1e9);
    abs->tv_sec += (time_t)(ns / 1000000000LL);
    abs->tv_nsec = (long)(ns % 1000000000LL);
}

/* Waits on app->changed (app->lock held). Returns 0, or ETIMEDOUT. */
static int wait_until(sw_app_t *app, const struct timespec *abs)
{
    return pthread_cond_timedwait(&app->changed, &app->lock, abs);
}

/* Whether this app's reload must be a process handover. app->lock held. */
static int reload_by_process(sw_app_t *app)
{
    return app->gen && (app->isolation == SW_ISOLATION_MAIN || app->reload_in_process);
}

/* Why this app's reload cannot be done now; NULL when it can. app->lock
 * held. */
static const char *reload_conflict(sw_app_t *app)
{
    if (reload_by_process(app) && !process_reload)
        return "this app reloads by process handover (reload_mode process), which is not "
               "available here";
    if (app->destroy_pending || app->state == SW_APP_DRAINING)
        return "the app is being destroyed";
    return NULL;
}

sw_cmd_result_t sw_app_reload(sw_app_t *app, const char *user, double wait_s,
                              char *msg, size_t msglen)
{
    msg[0] = '\0';
    pthread_mutex_lock(&app->lock);
    const char *why = reload_conflict(app);
    if (why) {
        snprintf(msg, msglen, "%s", why);
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_CONFLICT;
    }
    /* Some reloads CPython cannot do in-process, and in-process reloads
     * leak: past the memory budget the next one is a fresh process. */
    if (process_reload && (reload_by_process(app) || (app->gen && memory_over_budget &&
                                                      memory_over_budget()))) {
        pthread_mutex_unlock(&app->lock);
        return process_reload(user, wait_s, msg, msglen);
    }
    /* A reload asked while one is loading joins it. */
    unsigned long ticket;
    if (app->busy_loading) {
        ticket = app->pending_ticket;
    } else {
        ticket = ++app->ticket_seq;
        app->pending_ticket = ticket;
        app->busy_loading = 1;
        if (app->state == SW_APP_SERVING)
            app->state = SW_APP_RELOADING;
        else if (app->state == SW_APP_IDLE || app->state == SW_APP_FAILED)
            app->state = SW_APP_LOADING;
        sw_loader_post(SW_LOADER_RELOAD, app, user);
    }
    if (wait_s < 0) {
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_ACCEPTED;
    }
    struct timespec abs;
    deadline_after(&abs, wait_s);
    while (app->done_ticket < ticket) {
        if (wait_until(app, &abs) == ETIMEDOUT && app->done_ticket < ticket) {
            pthread_mutex_unlock(&app->lock);
            snprintf(msg, msglen, "the new generation was not serving after %gs", wait_s);
            return SW_CMD_TIMEOUT;
        }
    }
    sw_cmd_result_t r = app->done_ticket == ticket ? app->done_result : SW_CMD_DONE;
    if (r == SW_CMD_FAILED)
        snprintf(msg, msglen, "the new code failed to load; the old generation keeps serving");
    pthread_mutex_unlock(&app->lock);
    return r;
}

sw_cmd_result_t sw_app_destroy(sw_app_t *app, const char *user, double wait_s,
                               char *msg, size_t msglen)
{
    msg[0] = '\0';
    pthread_mutex_lock(&app->lock);
    if (app->isolation == SW_ISOLATION_MAIN && app->gen) {
        snprintf(msg, msglen, "the main interpreter cannot be destroyed (isolation = main)");
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_CONFLICT;
    }
    if (app->busy_loading) {
        snprintf(msg, msglen, "a load or reload is in progress");
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_CONFLICT;
    }
    if (!app->destroy_pending && app->state != SW_APP_IDLE) {
        app->destroy_pending = 1;
        sw_loader_post(SW_LOADER_DESTROY, app, user);
    }
    struct timespec abs;
    deadline_after(&abs, wait_s);
    while (app->destroy_pending || app->state == SW_APP_DRAINING) {
        if (wait_until(app, &abs) == ETIMEDOUT &&
            (app->destroy_pending || app->state == SW_APP_DRAINING)) {
            pthread_mutex_unlock(&app->lock);
            snprintf(msg, msglen, "still draining after %gs", wait_s);
            return SW_CMD_TIMEOUT;
        }
    }
    pthread_mutex_unlock(&app->lock);
    return SW_CMD_DONE;
}

/* ---- requests and workers -------------------------------------------------- */

int sw_app_submit(sw_app_t *app, sw_request_t *r)
{
    if (sw_queue_push(&app->queue, r) < 0)
        return -1;
    pthread_mutex_lock(&app->lock);
    clock_gettime(CLOCK_MONOTONIC, &app->last_request);
    /* Destroyed (or idle-timed-out): the request waits while a fresh
     * generation loads. */
    if (app->state == SW_APP_IDLE && !app->busy_loading && !app->destroy_pending) {
        app->busy_loading = 1;
        app->pending_ticket = ++app->ticket_seq;
        app->state = SW_APP_LOADING;
        sw_loader_post(SW_LOADER_RELOAD, app, "(request)");
    }
    pthread_mutex_unlock(&app->lock);
    return 0;
}

void sw_app_worker_started(sw_app_t *app, sw_generation_t *g)
{
    pthread_mutex_lock(&app->lock);
    g->live_workers++;
    pthread_mutex_unlock(&app->lock);
}

void sw_app_worker_exited(sw_app_t *app, sw_generation_t *g)
{
    pthread_mutex_lock(&app->lock);
    g->live_workers--;
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);
    sw_loader_wake();
}

void sw_app_count_response(sw_app_t *app, int status, double duration_ms)
{
    atomic_fetch_add(&app->counters.total, 1);
    if (status >= 200 && status < 300)
        atomic_fetch_add(&app->counters.status_2xx, 1);
    else if (status >= 300 && status < 400)
        atomic_fetch_add(&app->counters.status_3xx, 1);
    else if (status >= 400 && status < 500)
        atomic_fetch_add(&app->counters.status_4xx, 1);
    else if (status >= 500)
        atomic_fetch_add(&app->counters.status_5xx, 1);
    pthread_mutex_lock(&app->lock);
    app->latency_ms[app->latency_n++ % SW_LATENCY_RING] = duration_ms;
    clock_gettime(CLOCK_MONOTONIC, &app->last_request);
    pthread_mutex_unlock(&app->lock);
}

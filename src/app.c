/* app.c: an app's state machine and everything around it: reference
 * counting, counters, generations, status snapshots, the reload/destroy
 * commands (handed to the loader, loader.c, and waited on) and the events
 * by which the loader reports its work. Every assignment of app->state is
 * in this file (the table is in app.h). */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applog.h"
#include "clock.h"
#include "fault.h"
#include "interp.h"
#include "loader.h"
#include "log.h"

static sw_cmd_result_t (*process_reload)(const char *, double, char *, size_t);
static int (*memory_over_budget)(void);

void sw_app_set_process_reload(sw_cmd_result_t (*reload)(const char *user, double wait_s,
                                                         char *msg, size_t msglen),
                               int (*over_budget)(void))
{
    process_reload = reload;
    memory_over_budget = over_budget;
}
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
    sw_app_t *app = SW_FAULT("app_new") ? NULL : calloc(1, sizeof *app);
    if (!app)
        return NULL;
    app->cfg = cfg;
    app->name = cfg->name;
    atomic_init(&app->refs, 1);
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
    app->log = sw_applog_get(app->name);
    return app;
}

sw_app_t *sw_app_ref(sw_app_t *app)
{
    atomic_fetch_add(&app->refs, 1);
    return app;
}

void sw_app_unref(sw_app_t *app)
{
    if (!app || atomic_fetch_sub(&app->refs, 1) != 1)
        return;
    /* Requests still queued get an answer before the queue goes. */
    sw_request_t *r = sw_queue_take_all(&app->queue);
    while (r) {
        sw_request_t *next = r->next;
        sw_request_reply(r, 503, "Service Unavailable", "the app was removed");
        sw_request_free(r);
        r = next;
    }
    sw_queue_destroy(&app->queue);
    pthread_cond_destroy(&app->changed);
    pthread_mutex_destroy(&app->lock);
    free(app->last.error);
    free(app->last.requested_by);
    free(app->held_by);
    sw_applog_put(app->log);
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
        if (g->stuck)
            snprintf(st->stuck_reason, sizeof st->stuck_reason, "%s", g->stuck_reason);
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
    out->client_aborts = app->counters.client_aborts;

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
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (const sw_generation_t *b = app->building;
         b && out->n_loads < sizeof out->loads / sizeof out->loads[0]; b = b->next) {
        /* the deadline is load-timeout after the start */
        double left = (double)(b->build_deadline.tv_sec - now.tv_sec) +
                      (double)(b->build_deadline.tv_nsec - now.tv_nsec) / 1e9;
        out->loads[out->n_loads++] = (sw_load_status_t){
            .generation = b->number, .age_s = app->load_timeout - left,
            .abandoned = b->abandoned};
    }
    out->reloads = app->reloads;
    out->has_last = app->has_last;
    out->last = app->last;
    out->last.error = app->last.error ? strdup(app->last.error) : NULL;
    out->last.requested_by = app->last.requested_by ? strdup(app->last.requested_by) : NULL;
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
    free(st->last.requested_by);
    st->interps = NULL;
    st->last.error = NULL;
    st->last.requested_by = NULL;
}

/* ---- commands -------------------------------------------------------------- */

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
    if (app->removed)
        return "the app was removed from the config";
    if (app->destroy_pending || app->state == SW_APP_DRAINING)
        return "the app is being destroyed";
    return NULL;
}

static void record_start(sw_app_t *app, const char *action, const char *user, int generation);
static void record_finish(sw_app_t *app, const char *result, char *error);

/* Queues a load or reload for the loader (app->lock held): the event
 * "reload asked" (or "request" for an idle app). Returns its ticket. */
static unsigned long queue_load(sw_app_t *app, const char *user)
{
    unsigned long ticket = ++app->ticket_seq;
    if (sw_loader_post(SW_LOADER_RELOAD, app, user) < 0) {
        /* Nothing may wait for a command that was never queued. */
        record_start(app, "reload", user, app->next_generation);
        record_finish(app, "failed", strdup("out of memory queueing the reload"));
        app->done_ticket = ticket;
        app->done_result = SW_CMD_FAILED;
        pthread_cond_broadcast(&app->changed);
        return ticket;
    }
    app->pending_ticket = ticket;
    app->busy_loading = 1;
    app->reload_held = 0;   /* this build reads the newest config: it stands for it */
    if (app->state == SW_APP_SERVING)
        app->state = SW_APP_RELOADING;
    else if (app->state == SW_APP_IDLE || app->state == SW_APP_FAILED)
        app->state = SW_APP_LOADING;
    return ticket;
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
    unsigned long ticket = app->busy_loading ? app->pending_ticket : queue_load(app, user);
    if (app->done_ticket >= ticket) {   /* never queued (queue_load): failed already */
        snprintf(msg, msglen, "out of memory queueing the reload; the old generation keeps "
                 "serving");
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_FAILED;
    }
    if (wait_s < 0) {
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_ACCEPTED;
    }
    struct timespec abs;
    sw_clock_deadline(&abs, CLOCK_MONOTONIC, wait_s);
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
    else if (r == SW_CMD_TIMEOUT)
        snprintf(msg, msglen, "the new code did not load within load-timeout (%gs); the "
                 "old generation keeps serving", app->load_timeout);
    pthread_mutex_unlock(&app->lock);
    return r;
}

/* The build answering the load queued or running, once it began; NULL
 * before (app->lock held). */
static const sw_generation_t *pending_build(const sw_app_t *app)
{
    for (const sw_generation_t *b = app->building; b; b = b->next)
        if (b->ticket == app->pending_ticket)
            return b;
    return NULL;
}

sw_cmd_result_t sw_app_config_changed(sw_app_t *app, const char *user, char *msg,
                                      size_t msglen)
{
    pthread_mutex_lock(&app->lock);
    if (app->busy_loading && !reload_conflict(app)) {
        /* Joining the build would leave the older config serving if that
         * build read it already; one not begun reads app->cfg, the new. */
        const sw_generation_t *b = pending_build(app);
        if (b && b->cfg != app->cfg) {
            app->reload_held = 1;
            /* Out of memory: the reload is still held, by "-". */
            char *by = strdup(user);
            free(app->held_by);
            app->held_by = by;
        }
        pthread_mutex_unlock(&app->lock);
        msg[0] = '\0';
        return SW_CMD_ACCEPTED;
    }
    pthread_mutex_unlock(&app->lock);
    return sw_app_reload(app, user, -1, msg, msglen);
}

/* Asks the held reload (sw_app_config_changed) once nothing loads any
 * more: called after each event that answers a build. No lock held (a
 * process reload takes the server's). */
static void run_held_reload(sw_app_t *app)
{
    char *held_by = NULL;   /* taken from the app */
    pthread_mutex_lock(&app->lock);
    int due = app->reload_held && !app->busy_loading;
    if (due) {
        app->reload_held = 0;
        held_by = app->held_by;
        app->held_by = NULL;
    }
    pthread_mutex_unlock(&app->lock);
    if (!due)
        return;
    const char *user = held_by ? held_by : "-";
    char msg[256];
    sw_cmd_result_t r = sw_app_reload(app, user, -1, msg, sizeof msg);
    if (r == SW_CMD_CONFLICT || r == SW_CMD_FAILED)
        sw_log(SW_LOG_WARN, app->name, "%s: cannot reload: %s", user, msg);
    free(held_by);
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
    if (app->removed) {
        snprintf(msg, msglen, "the app was removed from the config");
        pthread_mutex_unlock(&app->lock);
        return SW_CMD_CONFLICT;
    }
    if (!app->destroy_pending && app->state != SW_APP_IDLE) {
        if (sw_loader_post(SW_LOADER_DESTROY, app, user) < 0) {
            snprintf(msg, msglen, "out of memory");
            pthread_mutex_unlock(&app->lock);
            return SW_CMD_CONFLICT;
        }
        app->destroy_pending = 1;
        app->reload_held = 0;   /* the next load, after it, reads the newest config */
    }
    struct timespec abs;
    sw_clock_deadline(&abs, CLOCK_MONOTONIC, wait_s);
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
    if (app->state == SW_APP_IDLE && !app->busy_loading && !app->destroy_pending &&
        !app->removed)
        queue_load(app, "(request)");
    pthread_mutex_unlock(&app->lock);
    return 0;
}

void sw_app_worker_started(sw_app_t *app, sw_generation_t *g)
{
    pthread_mutex_lock(&app->lock);
    g->live_workers++;
    pthread_mutex_unlock(&app->lock);
}

int sw_app_worker_wait_serving(sw_app_t *app, sw_generation_t *g)
{
    pthread_mutex_lock(&app->lock);
    while (!g->serving && !g->end_asked)
        pthread_cond_wait(&app->changed, &app->lock);
    int serve = g->serving;
    pthread_mutex_unlock(&app->lock);
    return serve;
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

/* ---- events from the loader ------------------------------------------------- */

/* The reload record (app->lock held). */
static void record_start(sw_app_t *app, const char *action, const char *user, int generation)
{
    free(app->last.error);
    free(app->last.requested_by);
    memset(&app->last, 0, sizeof app->last);
    app->has_last = 1;
    app->last.generation = generation;
    snprintf(app->last.action, sizeof app->last.action, "%s", action);
    app->last.requested_by = strdup(user);   /* NULL when out of memory: shown as null */
    snprintf(app->last.result, sizeof app->last.result, "running");
    clock_gettime(CLOCK_REALTIME, &app->last.started_at);
}

static void record_finish(sw_app_t *app, const char *result, char *error /* taken */)
{
    clock_gettime(CLOCK_REALTIME, &app->last.finished_at);
    app->last.duration_ms =
        (double)(app->last.finished_at.tv_sec - app->last.started_at.tv_sec) * 1e3 +
        (double)(app->last.finished_at.tv_nsec - app->last.started_at.tv_nsec) / 1e6;
    snprintf(app->last.result, sizeof app->last.result, "%s", result);
    free(app->last.error);
    app->last.error = error;
}

/* Unlinks g from the list at *head (app->lock held); 1 if it was there. */
static int unlink_gen(sw_generation_t **head, sw_generation_t *g)
{
    for (sw_generation_t **link = head; *link; link = &(*link)->next)
        if (*link == g) {
            *link = g->next;
            g->next = NULL;
            return 1;
        }
    return 0;
}

void sw_app_generation_free(sw_generation_t *g)
{
    if (!g)
        return;
    sw_app_t *app = g->app;
    free(g->interps);
    free(g);
    sw_app_unref(app);
}

/* The build of ticket ended (app->lock held): waiters get result. */
static void build_answered(sw_app_t *app, unsigned long ticket, sw_cmd_result_t result)
{
    if (ticket > app->done_ticket) {
        app->done_ticket = ticket;
        app->done_result = result;
    }
    if (ticket == app->pending_ticket)
        app->busy_loading = 0;
    pthread_cond_broadcast(&app->changed);
}

sw_generation_t *sw_app_build_begin(sw_app_t *app, const char *user, const char *action)
{
    sw_generation_t *g = calloc(1, sizeof *g);
    pthread_mutex_lock(&app->lock);
    if (!g || app->removed) {
        if (!g) {
            record_start(app, action, user, app->next_generation);
            record_finish(app, "failed", strdup("out of memory"));
        }
        build_answered(app, app->pending_ticket, SW_CMD_FAILED);
        if (!app->gen && app->state != SW_APP_DRAINING)
            app->state = SW_APP_FAILED;
        else if (app->gen)
            app->state = SW_APP_SERVING;
        pthread_mutex_unlock(&app->lock);
        free(g);
        run_held_reload(app);
        return NULL;
    }
    g->app = sw_app_ref(app);
    g->cfg = app->cfg;
    g->number = app->next_generation++;
    g->ticket = app->pending_ticket;
    g->destroys_before = app->destroys;
    g->max_requests = g->cfg->max_requests;
    snprintf(g->action, sizeof g->action, "%s", action);
    sw_clock_deadline(&g->build_deadline, CLOCK_MONOTONIC, app->load_timeout);
    g->next = app->building;
    app->building = g;
    record_start(app, action, user, g->number);
    pthread_mutex_unlock(&app->lock);
    return g;
}

int sw_app_build_done(sw_app_t *app, sw_generation_t *g, sw_isolation_t mode,
                      const char *reason, int in_process, const char *mode_reason)
{
    pthread_mutex_lock(&app->lock);
    unlink_gen(&app->building, g);
    /* A build that outlived load-timeout still serves when it is the
     * newest thing asked for: no later reload started, no destroy since
     * it began. */
    int superseded = app->removed || app->destroys != g->destroys_before;
    for (sw_generation_t *b = app->building; b && !superseded; b = b->next)
        superseded = b->number > g->number;
    if (app->gen && app->gen->number > g->number)
        superseded = 1;
    if (superseded) {
        /* It never serves: it retires at once and its keeper ends it. */
        g->end_asked = 1;
        sw_queue_retire(&app->queue, &g->retired);
        pthread_cond_broadcast(&app->changed);   /* its waiting workers leave */
        pthread_mutex_unlock(&app->lock);
        return -1;
    }
    sw_generation_t *old = app->gen;
    app->gen = g;
    g->serving = 1;   /* its workers start taking requests (below: broadcast) */
    app->isolation = mode;
    snprintf(app->isolation_reason, sizeof app->isolation_reason, "%s", reason);
    app->reload_in_process = in_process;
    snprintf(app->reload_mode_reason, sizeof app->reload_mode_reason, "%s", mode_reason);
    app->state = SW_APP_SERVING;
    if (old) {
        /* The swap: the new generation already takes requests; the old
         * one finishes what it has and takes nothing more. */
        sw_queue_retire(&app->queue, &old->retired);
        clock_gettime(CLOCK_MONOTONIC, &old->retired_at);
        old->end_asked = 1;
        old->next = app->old;
        app->old = old;
        app->reloads++;
    }
    if (app->last.generation == g->number)
        record_finish(app, "ok", NULL);   /* late, after "timeout": now it serves */
    if (!g->abandoned)
        build_answered(app, g->ticket, SW_CMD_DONE);
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);
    run_held_reload(app);
    return 0;
}

void sw_app_build_failed(sw_app_t *app, sw_generation_t *g, char *error)
{
    pthread_mutex_lock(&app->lock);
    unlink_gen(&app->building, g);
    if (g->abandoned) {
        /* Already answered (timeout); keep the record's timeout. */
        free(error);
    } else {
        if (app->state != SW_APP_DRAINING)
            app->state = app->gen ? SW_APP_SERVING : SW_APP_FAILED;
        record_finish(app, "failed", error);
        build_answered(app, g->ticket, SW_CMD_FAILED);
    }
    pthread_mutex_unlock(&app->lock);
    run_held_reload(app);
}

int sw_app_expire_builds(sw_app_t *app)
{
    int expired = 0;
    pthread_mutex_lock(&app->lock);
    for (sw_generation_t *g = app->building; g; g = g->next) {
        if (g->abandoned || !sw_clock_passed(&g->build_deadline))
            continue;
        g->abandoned = 1;
        expired = 1;
        if (g->ticket == app->pending_ticket && app->busy_loading) {
            if (app->state != SW_APP_DRAINING)
                app->state = app->gen ? SW_APP_SERVING : SW_APP_FAILED;
            char *why = NULL;
            if (asprintf(&why, "generation %d did not load within load-timeout (%gs); its "
                         "import goes on, and it serves if it finishes before another "
                         "reload or a destroy", g->number, app->load_timeout) < 0)
                why = NULL;
            if (app->last.generation == g->number)
                record_finish(app, "timeout", why);
            else
                free(why);
            build_answered(app, g->ticket, SW_CMD_TIMEOUT);
        }
        sw_log(SW_LOG_ERROR, app->name, "%s of generation %d: still importing after "
               "load-timeout (%gs): answered as timed out%s", g->action, g->number,
               app->load_timeout, app->gen ? "; the previous generation keeps serving" : "");
    }
    pthread_mutex_unlock(&app->lock);
    if (expired)
        run_held_reload(app);
    return expired;
}

void sw_app_retire(sw_app_t *app, const char *user, int removing)
{
    pthread_mutex_lock(&app->lock);
    if (removing) {
        app->removed = 1;
        app->reload_held = 0;
        /* Builds still running never serve. */
        for (sw_generation_t *b = app->building; b; b = b->next)
            b->abandoned = 1;
        if (app->busy_loading)
            build_answered(app, app->pending_ticket, SW_CMD_CONFLICT);
    } else {
        app->destroys++;
        record_start(app, "destroy", user, 0);
    }
    sw_generation_t *g = app->gen;
    app->gen = NULL;
    if (g) {
        /* Removed (or shutting down): closing, not retiring, lets the
         * workers serve what is queued first. */
        if (removing)
            sw_queue_close(&app->queue);
        else
            sw_queue_retire(&app->queue, &g->retired);
        clock_gettime(CLOCK_MONOTONIC, &g->retired_at);
        g->end_asked = 1;
        g->next = app->old;
        app->old = g;
    } else if (removing) {
        sw_queue_close(&app->queue);
    }
    int draining = 0;
    for (sw_generation_t *o = app->old; o; o = o->next)
        draining += !o->stuck;
    if (draining || removing) {
        app->state = SW_APP_DRAINING;
    } else {
        app->state = SW_APP_IDLE;
        app->destroy_pending = 0;
        record_finish(app, "ok", NULL);
    }
    int number = g ? g->number : 0;   /* g is its keeper's once the lock goes */
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);
    sw_log(SW_LOG_INFO, app->name, "%s (by %s): draining generation %d",
           removing ? "ending" : "destroy", user, number);
}

void sw_app_check_drain(sw_app_t *app, int final)
{
    pthread_mutex_lock(&app->lock);
    for (sw_generation_t *g = app->old; g; g = g->next) {
        if (g->stuck || g->live_workers == 0 ||
            !(final || sw_clock_since(&g->retired_at) > app->drain_timeout))
            continue;
        g->stuck = 1;
        snprintf(g->stuck_reason, sizeof g->stuck_reason,
                 "%d workers still busy after drain-timeout", g->live_workers);
        sw_log(SW_LOG_WARN, app->name, "generation %d: %s; left running", g->number,
               g->stuck_reason);
    }
    pthread_mutex_unlock(&app->lock);
    sw_app_drained(app);
}

/* Draining with nothing left to drain -> idle ("drained"); requests that
 * came meanwhile then load a fresh generation. */
void sw_app_drained(sw_app_t *app)
{
    pthread_mutex_lock(&app->lock);
    if (app->state == SW_APP_DRAINING && !app->gen && !app->removed) {
        int draining = 0;
        for (sw_generation_t *g = app->old; g; g = g->next)
            draining += !g->stuck;
        if (!draining) {
            app->state = SW_APP_IDLE;
            app->destroy_pending = 0;
            record_finish(app, "ok", NULL);
            pthread_cond_broadcast(&app->changed);
            if (sw_queue_count(&app->queue) > 0 && !app->busy_loading)
                queue_load(app, "(request)");
        }
    }
    pthread_mutex_unlock(&app->lock);
}

int sw_app_wait_retired(sw_app_t *app, sw_generation_t *g)
{
    pthread_mutex_lock(&app->lock);
    while (!(g->end_asked && g->live_workers == 0))
        pthread_cond_wait(&app->changed, &app->lock);
    /* Out of status while its interpreters end (they are freed). */
    unlink_gen(&app->old, g);
    pthread_mutex_unlock(&app->lock);
    return 0;
}

void sw_app_generation_ended(sw_app_t *app, sw_generation_t *g, const char *why)
{
    sw_app_ref(app);   /* g's reference may be the last one: it goes with g */
    pthread_mutex_lock(&app->lock);
    if (why) {
        g->stuck = 1;
        snprintf(g->stuck_reason, sizeof g->stuck_reason, "%s", why);
        g->next = app->old;
        app->old = g;
    }
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);
    if (why) {
        sw_log(SW_LOG_WARN, app->name, "generation %d left alive: %s", g->number, why);
    } else {
        sw_log(SW_LOG_INFO, app->name, "generation %d ended", g->number);
        sw_app_generation_free(g);
    }
    sw_app_drained(app);
    sw_app_unref(app);
}

int sw_app_check_idle(sw_app_t *app)
{
    const sw_app_config_t *cfg = app->cfg;
    if (cfg->idle_timeout <= 0)
        return 0;
    pthread_mutex_lock(&app->lock);
    int due = app->state == SW_APP_SERVING && !app->busy_loading && !app->destroy_pending &&
              !app->removed && app->counters.active == 0 &&
              sw_queue_count(&app->queue) == 0 &&
              sw_clock_since(&app->last_request) > cfg->idle_timeout &&
              app->isolation != SW_ISOLATION_MAIN;
    if (due)
        app->destroy_pending = 1;
    pthread_mutex_unlock(&app->lock);
    if (due)
        sw_app_retire(app, "(idle-timeout)", 0);
    return due;
}

int sw_app_quiet(sw_app_t *app)
{
    pthread_mutex_lock(&app->lock);
    int busy = app->gen != NULL || app->building != NULL;
    for (sw_generation_t *g = app->old; g && !busy; g = g->next)
        busy = !g->stuck;
    pthread_mutex_unlock(&app->lock);
    return !busy;
}

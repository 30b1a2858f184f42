/* loader.c: the loader thread (see loader.h). It holds a main-interpreter
 * thread state of its own and takes the main GIL only while it creates or
 * ends interpreters. Locks: L.lock (the command queue) is a leaf, taken
 * under app->lock by sw_loader_post; L.apps_lock comes before app->lock
 * (sw_loader_tick) and is never taken while holding another lock. */
#include "loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "interp.h"
#include "log.h"
#include "request.h"
#include "watch.h"

#define TICK_NS 50000000L          /* housekeeping every 50 ms */
#define APP_THREAD_STOP_S 2.0      /* app threads get this long to stop at an end */

typedef struct cmd {
    sw_loader_cmd_t kind;
    sw_app_t *app;
    char user[64];
    struct cmd *next;
} cmd_t;

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cmd_t *head, *tail;
    int woken;
    int stopping;
    double drain_s;
    int left_alive;                 /* interpreters that could not be ended */
    pthread_mutex_t apps_lock;      /* guards apps/n_apps against sw_loader_tick */
    sw_app_t **apps;                /* managed apps (written by the loader only) */
    size_t n_apps;
    /* start-up handshake */
    int started;
    int start_failed;
    char start_err[256];
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
       .apps_lock = PTHREAD_MUTEX_INITIALIZER};

static void *loader_main(void *arg);
static int build_generation(sw_app_t *app, const char *user, const char *action);
static void destroy_app(sw_app_t *app, const char *user);
static void reap(sw_app_t *app, int final);
static void expire_waiting(sw_app_t *app);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ---- the command queue ------------------------------------------------------ */

void sw_loader_post(sw_loader_cmd_t kind, sw_app_t *app, const char *user)
{
    cmd_t *c = calloc(1, sizeof *c);
    if (!c) {
        sw_log(SW_LOG_ERROR, app->name, "out of memory queueing a command");
        return;
    }
    c->kind = kind;
    c->app = app;
    snprintf(c->user, sizeof c->user, "%s", user ? user : "-");
    pthread_mutex_lock(&L.lock);
    if (L.tail)
        L.tail->next = c;
    else
        L.head = c;
    L.tail = c;
    pthread_cond_signal(&L.wake);
    pthread_mutex_unlock(&L.lock);
}

void sw_loader_wake(void)
{
    pthread_mutex_lock(&L.lock);
    L.woken = 1;
    pthread_cond_signal(&L.wake);
    pthread_mutex_unlock(&L.lock);
}

/* Waits up to one tick for a command; returns it (caller frees) or NULL. */
static cmd_t *next_command(void)
{
    pthread_mutex_lock(&L.lock);
    if (!L.head && !L.woken && !L.stopping) {
        struct timespec abs;
        clock_gettime(CLOCK_REALTIME, &abs);
        abs.tv_nsec += TICK_NS;
        if (abs.tv_nsec >= 1000000000L) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&L.wake, &L.lock, &abs);
    }
    L.woken = 0;
    cmd_t *c = L.head;
    if (c) {
        L.head = c->next;
        if (!L.head)
            L.tail = NULL;
    }
    pthread_mutex_unlock(&L.lock);
    return c;
}

/* ---- start / stop --------------------------------------------------------- */

static char start_user[64], start_action[16];

int sw_loader_start(sw_app_t **apps, size_t n, const char *user, const char *action,
                    char *err, size_t errlen)
{
    snprintf(start_user, sizeof start_user, "%s", user);
    snprintf(start_action, sizeof start_action, "%s", action);
    pthread_mutex_lock(&L.apps_lock);
    L.apps = calloc(n ? n : 1, sizeof *L.apps);
    if (L.apps) {
        memcpy(L.apps, apps, n * sizeof *apps);
        L.n_apps = n;
    }
    pthread_mutex_unlock(&L.apps_lock);
    if (!L.apps) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = pthread_create(&L.thread, NULL, loader_main, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the loader thread: %s", strerror(rc));
        return -1;
    }
    pthread_mutex_lock(&L.lock);
    while (!L.started)
        pthread_cond_wait(&L.wake, &L.lock);
    int failed = L.start_failed;
    snprintf(err, errlen, "%s", L.start_err);
    pthread_mutex_unlock(&L.lock);
    return failed ? -1 : 0;
}

int sw_loader_shutdown(double drain_s)
{
    pthread_mutex_lock(&L.lock);
    L.drain_s = drain_s;
    L.stopping = 1;
    pthread_cond_signal(&L.wake);
    pthread_mutex_unlock(&L.lock);
    pthread_join(L.thread, NULL);
    for (cmd_t *c = L.head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    L.head = L.tail = NULL;
    pthread_mutex_lock(&L.apps_lock);
    free(L.apps);
    L.apps = NULL;
    L.n_apps = 0;
    pthread_mutex_unlock(&L.apps_lock);
    return L.left_alive;
}

/* ---- generations ------------------------------------------------------------ */

/* The modes to try, best first: explicit modes are tried alone; auto goes
 * own-gil (where safe) -> shared-gil -> main. */
static sw_app_t *main_interpreter_app;

static size_t candidate_modes(const sw_app_t *app, sw_isolation_t out[3])
{
    size_t n = 0;
    if (app->cfg->isolation != SW_ISOLATION_AUTO) {
        out[n++] = app->cfg->isolation;
        return n;
    }
    if (sw_python_auto_own_gil())
        out[n++] = SW_ISOLATION_OWN_GIL;
    out[n++] = SW_ISOLATION_SHARED_GIL;
    if (!main_interpreter_app || main_interpreter_app == app)
        out[n++] = SW_ISOLATION_MAIN;
    return n;
}

/* Builds the interpreters of g. Returns 0, or -1 with *error set. The
 * main GIL is held (loader thread state current). */
static int create_interpreters(sw_app_t *app, sw_generation_t *g, sw_isolation_t *mode_out,
                               char *reason, size_t reason_len, char **error)
{
    size_t want = (size_t)app->cfg->interpreters;
    sw_isolation_t modes[3];
    size_t n_modes = candidate_modes(app, modes);
    char refusal[400];
    reason[0] = '\0';
    g->interps = calloc(want, sizeof *g->interps);
    if (!g->interps) {
        *error = strdup("out of memory");
        return -1;
    }
    for (size_t m = 0; m < n_modes && g->n_interps == 0; m++) {
        sw_isolation_t mode = modes[m];
        if (mode == SW_ISOLATION_MAIN && main_interpreter_app && main_interpreter_app != app) {
            free(*error);
            *error = strdup("isolation = main: another app already uses the main interpreter");
            return -1;
        }
        size_t n = mode == SW_ISOLATION_MAIN ? 1 : want;
        /* One at a time: concurrent creation crashed (FACTS.md section 2). */
        for (size_t i = 0; i < n; i++) {
            free(*error);
            *error = NULL;
            sw_interp_t *it = sw_interp_create(app, g, mode, refusal, sizeof refusal, error);
            if (it) {
                g->interps[g->n_interps++] = it;
                continue;
            }
            if (!refusal[0] || app->cfg->isolation != SW_ISOLATION_AUTO)
                goto fail;
            if (i > 0) {
                /* e.g. Cython's "Interpreter change detected": one
                 * interpreter per process can import it. Serve with those
                 * that loaded rather than not at all. */
                snprintf(reason, reason_len, "%zu of %zu interpreters: %s", i, want, refusal);
                free(*error);
                *error = NULL;
                break;
            }
            snprintf(reason, reason_len, "%s refused: %s", sw_isolation_name(mode), refusal);
            sw_log(SW_LOG_WARN, app->name, "isolation %s refused (%s); trying the next mode",
                   sw_isolation_name(mode), refusal);
            break;
        }
        if (g->n_interps > 0)
            *mode_out = mode;
    }
    if (g->n_interps > 0)
        return 0;
fail:
    for (size_t i = 0; i < g->n_interps; i++) {
        char why[256];
        if (sw_interp_end(g->interps[i], APP_THREAD_STOP_S, why, sizeof why) < 0)
            L.left_alive++;
    }
    g->n_interps = 0;
    if (!*error)
        *error = strdup("the app could not be loaded");
    return -1;
}

static void record_start(sw_app_t *app, const char *action, const char *user, int generation)
{
    pthread_mutex_lock(&app->lock);
    free(app->last.error);
    memset(&app->last, 0, sizeof app->last);
    app->has_last = 1;
    app->last.generation = generation;
    snprintf(app->last.action, sizeof app->last.action, "%s", action);
    snprintf(app->last.requested_by, sizeof app->last.requested_by, "%s", user);
    snprintf(app->last.result, sizeof app->last.result, "running");
    clock_gettime(CLOCK_REALTIME, &app->last.started_at);
    pthread_mutex_unlock(&app->lock);
}

/* app->lock held. */
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

/* Answers every queued request 503 (no generation will serve them). */
static void fail_queued(sw_app_t *app, const char *why)
{
    sw_request_t *r = sw_queue_take_all(&app->queue);
    while (r) {
        sw_request_t *next = r->next;
        sw_request_reply(r, 503, "Service Unavailable", why);
        atomic_fetch_add(&app->counters.rejected, 1);
        sw_log_access(app->name, sw_request_header(r, "REQUEST_METHOD"),
                      sw_request_header(r, "REQUEST_URI"), 503, 0, sw_elapsed_ms(&r->accepted));
        sw_request_free(r);
        r = next;
    }
}

/* load-timeout: while an app has no generation (loading after a destroy or
 * an idle-timeout), queued requests wait for it, but not longer than this;
 * older ones get 503. Runs on the watch thread's tick (sw_loader_tick), since
 * the loader itself may be busy importing for longer. */
static void expire_waiting(sw_app_t *app)
{
    pthread_mutex_lock(&app->lock);
    int waiting = app->gen == NULL;
    pthread_mutex_unlock(&app->lock);
    if (!waiting || sw_queue_count(&app->queue) == 0)
        return;
    sw_request_t *r = sw_queue_take_all(&app->queue);
    while (r) {
        sw_request_t *next = r->next;
        r->next = NULL;
        if (sw_elapsed_ms(&r->accepted) > app->load_timeout * 1e3 ||
            sw_queue_push(&app->queue, r) < 0) {
            sw_request_reply(r, 503, "Service Unavailable", "the app did not load within load-timeout");
            atomic_fetch_add(&app->counters.rejected, 1);
            sw_log_access(app->name, sw_request_header(r, "REQUEST_METHOD"),
                          sw_request_header(r, "REQUEST_URI"), 503, 0,
                          sw_elapsed_ms(&r->accepted));
            sw_request_free(r);
        }
        r = next;
    }
}

/* Loads the next generation; on success it serves and the previous one
 * retires. Main GIL held. Returns 0 or -1. */
static int build_generation(sw_app_t *app, const char *user, const char *action)
{
    pthread_mutex_lock(&app->lock);
    int number = app->next_generation;
    unsigned long ticket = app->pending_ticket;
    pthread_mutex_unlock(&app->lock);

    record_start(app, action, user, number);
    sw_generation_t *g = calloc(1, sizeof *g);
    char reason[512] = "", mode_reason[512] = "", *error = NULL;
    sw_isolation_t mode = SW_ISOLATION_SHARED_GIL;
    int in_process = 0;
    int rc = -1;
    if (!g) {
        error = strdup("out of memory");
    } else {
        g->number = number;
        g->max_requests = app->cfg->max_requests;
        rc = create_interpreters(app, g, &mode, reason, sizeof reason, &error);
    }
    if (rc == 0) {
        if (app->cfg->reload == SW_RELOAD_PROCESS) {
            in_process = 1;
            snprintf(mode_reason, sizeof mode_reason, "reload = process in the config");
        } else if (app->cfg->reload == SW_RELOAD_AUTO) {
            in_process = sw_interp_needs_process_reload(g->interps[0], mode_reason,
                                                        sizeof mode_reason);
            if (!in_process && strstr(reason, " of ")) {
                in_process = 1;
                snprintf(mode_reason, sizeof mode_reason, "%s", reason);
            }
        }
        for (size_t i = 0; i < g->n_interps; i++)
            if (sw_interp_start_workers(g->interps[i]) < 0)
                sw_log(SW_LOG_ERROR, app->name, "interpreter %lld has fewer workers than asked",
                       (long long)g->interps[i]->id);
        if (mode == SW_ISOLATION_MAIN)
            main_interpreter_app = app;
    }

    pthread_mutex_lock(&app->lock);
    if (rc == 0) {
        sw_generation_t *old = app->gen;
        app->gen = g;
        app->next_generation = number + 1;
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
            old->next = app->old;
            app->old = old;
            app->reloads++;
        }
        record_finish(app, "ok", NULL);
        app->done_result = SW_CMD_DONE;
        free(error);
    } else {
        app->state = app->gen ? SW_APP_SERVING : SW_APP_FAILED;
        record_finish(app, "failed", error);
        app->done_result = SW_CMD_FAILED;
        free(g);
    }
    app->done_ticket = ticket;
    app->busy_loading = 0;
    int failed_without_generation = rc != 0 && !app->gen;
    double ms = app->last.duration_ms;
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);

    if (rc == 0 && (app->cfg->watch || app->cfg->touch_reload)) {
        sw_watch_forget(app);
        sw_strv_t files = {0};
        if (app->cfg->watch)
            sw_interp_source_files(g->interps[0], &files);
        sw_watch_add(app, &files, "(watch)");
        sw_strv_free(&files);
        if (app->cfg->touch_reload) {
            sw_strv_push(&files, app->cfg->touch_reload);
            sw_watch_add(app, &files, "(touch-reload)");
            sw_strv_free(&files);
        }
    }
    if (rc == 0)
        sw_log(SW_LOG_INFO, app->name, "%s: generation %d serving (%s%s%s, reload_mode %s) "
               "after %.0f ms", action, number, sw_isolation_name(mode), reason[0] ? ": " : "",
               reason, in_process ? "process" : "interpreter", ms);
    else
        sw_log(SW_LOG_ERROR, app->name, "%s of generation %d failed after %.0f ms%s", action,
               number, ms, app->gen ? "; the previous generation keeps serving" : "");
    if (failed_without_generation)
        fail_queued(app, "the app failed to load");
    return rc;
}

static void destroy_app(sw_app_t *app, const char *user)
{
    record_start(app, "destroy", user, 0);
    pthread_mutex_lock(&app->lock);
    sw_generation_t *g = app->gen;
    app->gen = NULL;
    if (g) {
        sw_queue_retire(&app->queue, &g->retired);
        clock_gettime(CLOCK_MONOTONIC, &g->retired_at);
        g->next = app->old;
        app->old = g;
        app->state = SW_APP_DRAINING;
    } else {
        app->state = SW_APP_IDLE;
    }
    pthread_cond_broadcast(&app->changed);
    pthread_mutex_unlock(&app->lock);
    sw_log(SW_LOG_INFO, app->name, "destroy (by %s): draining generation %d", user,
           g ? g->number : 0);
}

/* Ends retired generations whose workers are gone; marks the ones past
 * drain-timeout. final: at shutdown, wait for nothing more. Main GIL held. */
static void reap(sw_app_t *app, int final)
{
    pthread_mutex_lock(&app->lock);
    sw_generation_t **link = &app->old;
    while (*link) {
        sw_generation_t *g = *link;
        if (g->stuck) {
            link = &g->next;
            continue;
        }
        if (g->live_workers > 0) {
            if ((final || since(&g->retired_at) > app->drain_timeout) && !g->stuck) {
                g->stuck = 1;
                snprintf(g->stuck_reason, sizeof g->stuck_reason,
                         "%d workers still busy after drain-timeout", g->live_workers);
                sw_log(SW_LOG_WARN, app->name, "generation %d: %s; left running", g->number,
                       g->stuck_reason);
            }
            link = &g->next;
            continue;
        }
        /* Every worker is gone: end it, without the app lock (ending runs
         * Python and may take a while). */
        *link = g->next;
        pthread_mutex_unlock(&app->lock);
        size_t alive = 0;
        for (size_t i = 0; i < g->n_interps; i++) {
            char why[300];
            if (sw_interp_end(g->interps[i], APP_THREAD_STOP_S, why, sizeof why) < 0) {
                g->interps[alive++] = g->interps[i];
                snprintf(g->stuck_reason, sizeof g->stuck_reason, "%s", why);
            }
        }
        pthread_mutex_lock(&app->lock);
        if (alive) {
            g->n_interps = alive;
            g->stuck = 1;
            g->next = app->old;
            app->old = g;
            L.left_alive += (int)alive;
        } else {
            sw_log(SW_LOG_INFO, app->name, "generation %d ended", g->number);
            free(g->interps);
            free(g);
        }
        link = &app->old;   /* the list changed while unlocked */
    }
    if (app->state == SW_APP_DRAINING && !app->gen) {
        int draining = 0;
        for (sw_generation_t *g = app->old; g; g = g->next)
            draining += !g->stuck;
        if (!draining) {
            app->state = SW_APP_IDLE;
            app->destroy_pending = 0;
            record_finish(app, "ok", NULL);
            pthread_cond_broadcast(&app->changed);
            /* Requests that came meanwhile wait for a fresh generation. */
            if (!final && sw_queue_count(&app->queue) > 0 && !app->busy_loading) {
                app->busy_loading = 1;
                app->pending_ticket = ++app->ticket_seq;
                app->state = SW_APP_LOADING;
                sw_loader_post(SW_LOADER_RELOAD, app, "(request)");
            }
        }
    }
    pthread_mutex_unlock(&app->lock);
}

/* idle-timeout: destroy apps nobody asked for lately. */
static void check_idle(sw_app_t *app)
{
    if (app->cfg->idle_timeout <= 0)
        return;
    pthread_mutex_lock(&app->lock);
    int due = app->state == SW_APP_SERVING && !app->busy_loading && !app->destroy_pending &&
              app->counters.active == 0 && sw_queue_count(&app->queue) == 0 &&
              since(&app->last_request) > app->cfg->idle_timeout &&
              app->isolation != SW_ISOLATION_MAIN;
    if (due)
        app->destroy_pending = 1;
    pthread_mutex_unlock(&app->lock);
    if (due)
        destroy_app(app, "(idle-timeout)");
}

/* L.apps changes only on the loader thread, under L.apps_lock
 * (sw_loader_tick reads it from the watch thread). */
static void manage(sw_app_t *app)
{
    pthread_mutex_lock(&L.apps_lock);
    sw_app_t **grown = realloc(L.apps, (L.n_apps + 1) * sizeof *grown);
    if (grown) {
        L.apps = grown;
        L.apps[L.n_apps++] = app;
    }
    pthread_mutex_unlock(&L.apps_lock);
}

static void unmanage(sw_app_t *app)
{
    pthread_mutex_lock(&L.apps_lock);
    for (size_t i = 0; i < L.n_apps; i++)
        if (L.apps[i] == app) {
            L.apps[i] = L.apps[--L.n_apps];
            break;
        }
    pthread_mutex_unlock(&L.apps_lock);
}

void sw_loader_tick(void)
{
    pthread_mutex_lock(&L.apps_lock);
    for (size_t i = 0; i < L.n_apps; i++)
        expire_waiting(L.apps[i]);
    pthread_mutex_unlock(&L.apps_lock);
}

/* Drains and ends every generation of app (final): shutdown and removal. */
static void finish_app(sw_app_t *app, double deadline)
{
    pthread_mutex_lock(&app->lock);
    sw_generation_t *g = app->gen;
    app->gen = NULL;
    if (g) {
        clock_gettime(CLOCK_MONOTONIC, &g->retired_at);
        g->next = app->old;
        app->old = g;
    }
    app->state = SW_APP_DRAINING;
    pthread_mutex_unlock(&app->lock);
    /* Closing (not retiring) lets the workers serve what is queued first. */
    sw_queue_close(&app->queue);
    for (;;) {
        reap(app, 0);
        pthread_mutex_lock(&app->lock);
        int busy = 0;
        for (sw_generation_t *o = app->old; o; o = o->next)
            busy += !o->stuck;
        pthread_mutex_unlock(&app->lock);
        if (!busy || now_s() >= deadline)
            break;
        PyThreadState *ts = PyEval_SaveThread();
        struct timespec nap = {0, 10000000L};
        nanosleep(&nap, NULL);
        PyEval_RestoreThread(ts);
    }
    reap(app, 1);
}

static void *loader_main(void *arg)
{
    (void)arg;
    sw_python_loader_attach();
    int failed = 0;
    for (size_t i = 0; i < L.n_apps && !failed; i++) {
        pthread_mutex_lock(&L.apps[i]->lock);
        L.apps[i]->pending_ticket = ++L.apps[i]->ticket_seq;
        L.apps[i]->busy_loading = 1;
        pthread_mutex_unlock(&L.apps[i]->lock);
        if (build_generation(L.apps[i], start_user, start_action) < 0) {
            failed = 1;
            pthread_mutex_lock(&L.lock);
            snprintf(L.start_err, sizeof L.start_err, "app %s failed to load", L.apps[i]->name);
            pthread_mutex_unlock(&L.lock);
        }
    }
    PyThreadState *ts = PyEval_SaveThread();
    pthread_mutex_lock(&L.lock);
    L.started = 1;
    L.start_failed = failed;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);

    for (;;) {
        cmd_t *c = next_command();
        pthread_mutex_lock(&L.lock);
        int stopping = L.stopping;
        pthread_mutex_unlock(&L.lock);
        if (stopping) {
            free(c);
            break;
        }
        PyEval_RestoreThread(ts);
        if (c) {
            switch (c->kind) {
            case SW_LOADER_RELOAD:
                build_generation(c->app, c->user, c->app->gen ? "reload" : "load");
                break;
            case SW_LOADER_DESTROY:
                destroy_app(c->app, c->user);
                break;
            case SW_LOADER_ADD:
                manage(c->app);
                build_generation(c->app, c->user, "load");
                break;
            case SW_LOADER_REMOVE:
                sw_watch_forget(c->app);
                unmanage(c->app);
                finish_app(c->app, now_s() + c->app->drain_timeout);
                sw_app_free(c->app);
                break;
            }
            free(c);
        }
        for (size_t i = 0; i < L.n_apps; i++) {
            reap(L.apps[i], 0);
            check_idle(L.apps[i]);
        }
        ts = PyEval_SaveThread();
    }

    PyEval_RestoreThread(ts);
    double deadline = now_s() + L.drain_s;
    for (size_t i = 0; i < L.n_apps; i++)
        finish_app(L.apps[i], deadline);
    /* What could not be ended (busy workers, app threads) stays alive. */
    L.left_alive = 0;
    for (size_t i = 0; i < L.n_apps; i++)
        for (sw_generation_t *g = L.apps[i]->old; g; g = g->next)
            L.left_alive += (int)g->n_interps;
    sw_python_loader_detach();
    return NULL;
}

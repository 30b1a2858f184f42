/* app.c: an app's lifetime: queue, generation of interpreters, counters,
 * draining and ending (see app.h). */
#include "app.h"

#include <errno.h>
#include <stdlib.h>

#include "interp.h"
#include "log.h"
#include "watchdog.h"

sw_app_t *sw_app_new(const sw_app_config_t *cfg, size_t queue_size, double request_timeout)
{
    sw_app_t *app = calloc(1, sizeof *app);
    if (!app)
        return NULL;
    app->cfg = cfg;
    app->name = cfg->name;
    app->request_timeout = request_timeout;
    if (sw_queue_init(&app->queue, queue_size) != 0) {
        free(app);
        return NULL;
    }
    pthread_mutex_init(&app->lock, NULL);
    pthread_cond_init(&app->workers_done, NULL);
    return app;
}

/* The main interpreter can host one app (DESIGN section 1). Start-up
 * runs on the main thread only, so no lock. */
static sw_app_t *main_interpreter_app;

/* The modes to try, best first: explicit modes are tried alone; auto goes
 * own-gil (where safe) -> shared-gil -> main. */
static size_t candidate_modes(const sw_app_t *app, sw_isolation_t out[3])
{
    size_t n = 0;
    switch (app->cfg->isolation) {
    case SW_ISOLATION_AUTO:
        if (sw_python_auto_own_gil())
            out[n++] = SW_ISOLATION_OWN_GIL;
        out[n++] = SW_ISOLATION_SHARED_GIL;
        if (!main_interpreter_app)
            out[n++] = SW_ISOLATION_MAIN;
        break;
    default:
        out[n++] = app->cfg->isolation;
    }
    return n;
}

int sw_app_load(sw_app_t *app)
{
    size_t want = (size_t)app->cfg->interpreters;
    app->interps = calloc(want, sizeof *app->interps);
    if (!app->interps)
        return -1;
    app->generation = 1;
    app->isolation_reason[0] = '\0';

    sw_isolation_t modes[3];
    size_t n_modes = candidate_modes(app, modes);
    char refusal[400];
    for (size_t m = 0; m < n_modes && app->n_interps == 0; m++) {
        sw_isolation_t mode = modes[m];
        if (mode == SW_ISOLATION_MAIN && main_interpreter_app) {
            sw_log(SW_LOG_ERROR, app->name, "isolation = main: app %s already uses the main "
                   "interpreter", main_interpreter_app->name);
            return -1;
        }
        /* The main interpreter is one interpreter, whatever was asked. */
        size_t n = mode == SW_ISOLATION_MAIN ? 1 : want;
        /* One at a time: concurrent creation crashed (FACTS.md section 2). */
        for (size_t i = 0; i < n; i++) {
            sw_interp_t *it = sw_interp_create(app, app->generation, mode, refusal, sizeof refusal);
            if (it) {
                app->interps[app->n_interps++] = it;
                continue;
            }
            if (!refusal[0] || app->cfg->isolation != SW_ISOLATION_AUTO)
                return -1;
            if (i > 0) {
                /* e.g. Cython's "Interpreter change detected": one
                 * interpreter per process can import it. Serve with those
                 * that loaded rather than not at all. */
                snprintf(app->isolation_reason, sizeof app->isolation_reason,
                         "%zu of %zu interpreters: %s", i, want, refusal);
                break;
            }
            snprintf(app->isolation_reason, sizeof app->isolation_reason,
                     "%s refused: %s", sw_isolation_name(mode), refusal);
            sw_log(SW_LOG_WARN, app->name, "isolation %s refused (%s); trying the next mode",
                   sw_isolation_name(mode), refusal);
            break;
        }
        if (app->n_interps > 0) {
            app->isolation = mode;
            if (mode == SW_ISOLATION_MAIN)
                main_interpreter_app = app;
        }
    }
    if (app->n_interps == 0)
        return -1;
    sw_log(SW_LOG_INFO, app->name, "isolation %s%s%s", sw_isolation_name(app->isolation),
           app->isolation_reason[0] ? ": " : "", app->isolation_reason);
    return 0;
}

int sw_app_drain(sw_app_t *app, const struct timespec *deadline)
{
    sw_queue_close(&app->queue);
    pthread_mutex_lock(&app->lock);
    while (app->live_workers > 0) {
        /* workers_done uses CLOCK_REALTIME; convert the monotonic deadline. */
        struct timespec now_mono, now_real, abs;
        clock_gettime(CLOCK_MONOTONIC, &now_mono);
        clock_gettime(CLOCK_REALTIME, &now_real);
        long long left_ns = (long long)(deadline->tv_sec - now_mono.tv_sec) * 1000000000LL +
                            (deadline->tv_nsec - now_mono.tv_nsec);
        if (left_ns <= 0)
            break;
        long long abs_ns = (long long)now_real.tv_nsec + left_ns;
        abs.tv_sec = now_real.tv_sec + (time_t)(abs_ns / 1000000000LL);
        abs.tv_nsec = (long)(abs_ns % 1000000000LL);
        if (pthread_cond_timedwait(&app->workers_done, &app->lock, &abs) == ETIMEDOUT)
            continue;   /* re-check the deadline */
    }
    int left = app->live_workers;
    pthread_mutex_unlock(&app->lock);
    if (left == 0)
        for (size_t i = 0; i < app->n_interps; i++)
            sw_watchdog_stop(app->interps[i]);
    return left;
}

void sw_app_end(sw_app_t *app)
{
    for (size_t i = 0; i < app->n_interps; i++)
        sw_interp_end(app->interps[i]);
    app->n_interps = 0;
}

void sw_app_free(sw_app_t *app)
{
    if (!app)
        return;
    sw_queue_destroy(&app->queue);
    pthread_cond_destroy(&app->workers_done);
    pthread_mutex_destroy(&app->lock);
    free(app->interps);
    free(app);
}

void sw_app_worker_started(sw_app_t *app)
{
    pthread_mutex_lock(&app->lock);
    app->live_workers++;
    pthread_mutex_unlock(&app->lock);
}

void sw_app_worker_exited(sw_app_t *app)
{
    pthread_mutex_lock(&app->lock);
    if (--app->live_workers == 0)
        pthread_cond_broadcast(&app->workers_done);
    pthread_mutex_unlock(&app->lock);
}

void sw_app_count_response(sw_app_t *app, int status)
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
}

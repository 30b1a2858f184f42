/* loader.c: the loader (see loader.h): a coordinator thread that never runs
 * Python, and one keeper thread per generation that does all of that
 * generation's Python work.
 *
 * The coordinator takes commands (reload, destroy, add, remove) and runs
 * the housekeeping every 50 ms: builds past load-timeout are abandoned,
 * generations past drain-timeout are marked stuck, idle apps are
 * destroyed, requests waiting for a load past load-timeout get 503, and
 * removed apps are let go once quiet. It changes no app state itself: it
 * reports events to app.c.
 *
 * A keeper thread builds its generation's interpreters (their creator,
 * FACTS.md section 6: an interpreter is ended by the thread that created
 * it, with the creator's thread state), starts their workers, reports the
 * outcome, then sleeps until the generation is retired and its workers are
 * gone, and ends it. So a wedged import wedges one keeper thread, never
 * the coordinator nor another app's lifecycle.
 *
 * Locks: L.lock guards the command queue and the keeper count;
 * it is a leaf (taken under app->lock by sw_loader_post, never the other
 * way round). L.apps is touched by the coordinator thread only.
 * main_app_lock (a leaf) guards main_interpreter_app. */
#include "loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "applog.h"
#include "clock.h"
#include "fault.h"
#include "interp.h"
#include "log.h"
#include "request.h"
#include "watch.h"

#define TICK_S 0.05                /* housekeeping every 50 ms */
#define APP_THREAD_STOP_S 2.0      /* app threads get this long to stop at an end */

typedef struct cmd {
    sw_loader_cmd_t kind;
    sw_app_t *app;                 /* counted reference */
    struct cmd *next;
    char user[];                   /* whole: user names have no length limit */
} cmd_t;

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    cmd_t *head, *tail;            /* L.lock */
    int woken;                     /* L.lock */
    int stopping;                  /* L.lock */
    int keepers;                   /* L.lock: keeper threads running */
    atomic_int left_alive;         /* interpreters keepers had to leave alive */
    sw_app_t **apps;               /* managed apps, counted references: coordinator only */
    size_t n_apps;
    char start_action[16];         /* action of the first loads ("load", "handover") */
    atomic_int started;            /* first loads done: later ones are "load" */
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t main_app_lock = PTHREAD_MUTEX_INITIALIZER;
static const sw_app_t *main_interpreter_app;   /* the app in the main interpreter */

static void *coordinator_main(void *arg);
static void *keeper_main(void *arg);

/* ---- the command queue ------------------------------------------------------ */

int sw_loader_post(sw_loader_cmd_t kind, sw_app_t *app, const char *user)
{
    if (!user)
        user = "-";
    size_t len = strlen(user);
    cmd_t *c = SW_FAULT("loader_post") ? NULL : calloc(1, sizeof *c + len + 1);
    if (!c) {
        sw_log(SW_LOG_ERROR, app->name, "out of memory queueing a command; it is dropped");
        return -1;
    }
    c->kind = kind;
    c->app = sw_app_ref(app);
    memcpy(c->user, user, len + 1);
    pthread_mutex_lock(&L.lock);
    if (L.tail)
        L.tail->next = c;
    else
        L.head = c;
    L.tail = c;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);
    return 0;
}

void sw_loader_wake(void)
{
    pthread_mutex_lock(&L.lock);
    L.woken = 1;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);
}

/* Waits up to one tick for a command; returns it (caller frees) or NULL.
 * *stopping gets L.stopping. */
static cmd_t *next_command(int *stopping)
{
    pthread_mutex_lock(&L.lock);
    if (!L.head && !L.woken && !L.stopping) {
        struct timespec abs;
        sw_clock_deadline(&abs, CLOCK_REALTIME, TICK_S);
        pthread_cond_timedwait(&L.wake, &L.lock, &abs);
    }
    L.woken = 0;
    cmd_t *c = L.head;
    if (c) {
        L.head = c->next;
        if (!L.head)
            L.tail = NULL;
    }
    *stopping = L.stopping;
    pthread_mutex_unlock(&L.lock);
    return c;
}

static void free_command(cmd_t *c)
{
    if (c) {
        sw_app_unref(c->app);
        free(c);
    }
}

/* ---- keeper threads: building -------------------------------------------------- */

/* The modes to try, best first: explicit modes are tried alone; auto goes
 * own-gil (where safe) -> shared-gil -> main. */
static size_t candidate_modes(const sw_app_t *app, const sw_app_config_t *cfg,
                              sw_isolation_t out[3])
{
    size_t n = 0;
    if (cfg->isolation != SW_ISOLATION_AUTO) {
        out[n++] = cfg->isolation;
        return n;
    }
    if (sw_python_auto_own_gil())
        out[n++] = SW_ISOLATION_OWN_GIL;
    out[n++] = SW_ISOLATION_SHARED_GIL;
    pthread_mutex_lock(&main_app_lock);
    if (!main_interpreter_app || main_interpreter_app == app)
        out[n++] = SW_ISOLATION_MAIN;
    pthread_mutex_unlock(&main_app_lock);
    return n;
}

/* Ends the interpreters of g that were created; returns how many had to
 * be left alive (the reason in why). Main GIL held. */
static size_t end_interpreters(sw_generation_t *g, char *why, size_t whylen)
{
    size_t alive = 0;
    for (size_t i = 0; i < g->n_interps; i++) {
        char one[300];
        if (sw_interp_end(g->interps[i], APP_THREAD_STOP_S, one, sizeof one) < 0) {
            g->interps[alive++] = g->interps[i];
            snprintf(why, whylen, "%s", one);
        }
    }
    g->n_interps = alive;
    return alive;
}

/* Builds the interpreters of g. Returns 0, or -1 with *error set. The
 * main GIL is held (the keeper's thread state current). */
static int create_interpreters(sw_app_t *app, const sw_app_config_t *cfg, sw_generation_t *g,
                               sw_isolation_t *mode_out, char *reason, size_t reason_len,
                               char **error)
{
    size_t want = (size_t)cfg->interpreters;
    sw_isolation_t modes[3];
    size_t n_modes = candidate_modes(app, cfg, modes);
    char refusal[400];
    reason[0] = '\0';
    g->interps = calloc(want, sizeof *g->interps);
    if (!g->interps) {
        *error = strdup("out of memory");
        return -1;
    }
    for (size_t m = 0; m < n_modes && g->n_interps == 0; m++) {
        sw_isolation_t mode = modes[m];
        size_t n = mode == SW_ISOLATION_MAIN ? 1 : want;
        for (size_t i = 0; i < n; i++) {
            free(*error);
            *error = NULL;
            sw_interp_t *it = sw_interp_create(app, g, mode, refusal, sizeof refusal, error);
            if (it) {
                g->interps[g->n_interps++] = it;
                continue;
            }
            if (!refusal[0] || cfg->isolation != SW_ISOLATION_AUTO)
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
fail:;
    char why[300];
    atomic_fetch_add(&L.left_alive, (int)end_interpreters(g, why, sizeof why));
    if (!*error)
        *error = strdup("the app could not be loaded");
    return -1;
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

/* Whether reloading in-process is unsafe for this generation, and why. */
static int needs_process_reload(const sw_app_config_t *cfg, sw_generation_t *g,
                                const char *reason, char *mode_reason, size_t len)
{
    mode_reason[0] = '\0';
    if (cfg->reload == SW_RELOAD_PROCESS) {
        snprintf(mode_reason, len, "reload = process in the config");
        return 1;
    }
    if (cfg->reload != SW_RELOAD_AUTO)
        return 0;
    if (sw_interp_needs_process_reload(g->interps[0], mode_reason, len))
        return 1;
    if (strstr(reason, " of ")) {
        snprintf(mode_reason, len, "%s", reason);
        return 1;
    }
    return 0;
}

/* Builds g; on success it serves (sw_app_build_done). Main GIL held on
 * entry and return. Returns 0 when g serves. */
static int build(sw_generation_t *g)
{
    sw_app_t *app = g->app;
    const sw_app_config_t *cfg = g->cfg;
    char reason[512] = "", mode_reason[512] = "", *error = NULL;
    sw_isolation_t mode = SW_ISOLATION_SHARED_GIL;
    int rc = create_interpreters(app, cfg, g, &mode, reason, sizeof reason, &error);
    int in_process = 0;
    sw_strv_t files = {0};
    if (rc == 0) {
        in_process = needs_process_reload(cfg, g, reason, mode_reason, sizeof mode_reason);
        for (size_t i = 0; i < g->n_interps; i++)
            if (sw_interp_start_workers(g->interps[i]) < 0)
                sw_log(SW_LOG_ERROR, app->name, "interpreter %lld has fewer workers than asked",
                       (long long)g->interps[i]->id);
        if (cfg->watch)
            sw_interp_source_files(g->interps[0], &files);
    }
    PyThreadState *ts = PyEval_SaveThread();
    if (rc != 0) {
        sw_log(SW_LOG_ERROR, app->name, "%s of generation %d failed", g->action, g->number);
        sw_app_build_failed(app, g, error);
        pthread_mutex_lock(&app->lock);
        int no_generation = !app->gen && !app->busy_loading;
        pthread_mutex_unlock(&app->lock);
        if (no_generation)
            fail_queued(app, "the app failed to load");
        PyEval_RestoreThread(ts);
        return -1;
    }
    if (mode == SW_ISOLATION_MAIN) {
        pthread_mutex_lock(&main_app_lock);
        main_interpreter_app = app;
        pthread_mutex_unlock(&main_app_lock);
    }
    if (sw_app_build_done(app, g, mode, reason, in_process, mode_reason) < 0) {
        sw_log(SW_LOG_WARN, app->name, "%s of generation %d finished after it was abandoned "
               "(load-timeout) or the app was removed: ending it", g->action, g->number);
    } else {
        sw_log(SW_LOG_INFO, app->name, "%s: generation %d serving (%s%s%s, reload_mode %s)",
               g->action, g->number, sw_isolation_name(mode), reason[0] ? ": " : "", reason,
               in_process ? "process" : "interpreter");
        if (cfg->watch || cfg->touch_reload) {
            sw_watch_forget(app);
            sw_watch_add(app, &files, "(watch)");
            sw_strv_free(&files);
            if (cfg->touch_reload) {
                sw_strv_push(&files, cfg->touch_reload);
                sw_watch_add(app, &files, "(touch-reload)");
            }
        }
    }
    sw_strv_free(&files);
    PyEval_RestoreThread(ts);
    return 0;
}

static void keeper_exit(void)
{
    pthread_mutex_lock(&L.lock);
    L.keepers--;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);
}

/* One generation's life on its own thread: build, serve, end. */
static void *keeper_main(void *arg)
{
    sw_generation_t *g = arg;
    sw_app_t *app = g->app;
    /* The app's log file (applog.h) before its code runs, so the import's
     * lines are in it. Here: this process runs as its final user by now
     * (in host mode the owner's run-as), and this thread holds no lock and
     * no GIL yet, so an open that blocks (NFS) stalls this build alone. */
    char err[512];
    if (sw_applog_set_file(app->log, g->cfg->log_file, err, sizeof err) < 0)
        sw_log(SW_LOG_ERROR, app->name, "%s; its lines go to the error log only", err);
    sw_python_loader_attach();
    if (build(g) < 0) {
        sw_python_loader_detach();
        sw_app_generation_free(g);
        keeper_exit();
        return NULL;
    }
    PyThreadState *ts = PyEval_SaveThread();
    sw_app_wait_retired(app, g);
    PyEval_RestoreThread(ts);
    char why[320] = "";
    size_t alive = end_interpreters(g, why, sizeof why);
    int was_main = 0;
    if (!alive) {
        pthread_mutex_lock(&main_app_lock);
        was_main = main_interpreter_app == app;
        if (was_main)
            main_interpreter_app = NULL;
        pthread_mutex_unlock(&main_app_lock);
    }
    sw_python_loader_detach();
    atomic_fetch_add(&L.left_alive, (int)alive);
    sw_app_generation_ended(app, g, alive ? why : NULL);   /* frees g unless alive */
    keeper_exit();
    return NULL;
}

/* Starts the keeper of a new generation for the reload queued on app. */
static void start_build(sw_app_t *app, const char *user)
{
    const char *action = !atomic_load(&L.started) ? L.start_action : "load";
    pthread_mutex_lock(&app->lock);
    if (app->gen)
        action = "reload";
    pthread_mutex_unlock(&app->lock);
    sw_generation_t *g = sw_app_build_begin(app, user, action);
    if (!g)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    pthread_mutex_lock(&L.lock);
    L.keepers++;
    pthread_mutex_unlock(&L.lock);
    int rc = pthread_create(&t, &attr, keeper_main, g);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        keeper_exit();
        char *err = NULL;
        if (asprintf(&err, "cannot start a loader thread: %s", strerror(rc)) < 0)
            err = NULL;
        sw_log(SW_LOG_ERROR, app->name, "%s", err ? err : "cannot start a loader thread");
        sw_app_build_failed(app, g, err);
        sw_app_generation_free(g);
    }
}

/* ---- the coordinator -------------------------------------------------------------- */

/* load-timeout: while an app has no generation (loading after a destroy or
 * an idle-timeout), queued requests wait for it, but not longer than this;
 * older ones get 503. */
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

static void manage(sw_app_t *app)
{
    sw_app_t **grown = realloc(L.apps, (L.n_apps + 1) * sizeof *grown);
    if (!grown) {
        sw_log(SW_LOG_ERROR, app->name, "out of memory: the loader cannot manage this app");
        return;
    }
    L.apps = grown;
    L.apps[L.n_apps++] = sw_app_ref(app);
}

/* Housekeeping of one app; returns 1 when the app was let go (removed and
 * quiet). */
static int housekeep(sw_app_t *app, size_t index)
{
    sw_app_expire_builds(app);
    sw_app_check_drain(app, 0);
    sw_app_check_idle(app);
    expire_waiting(app);
    pthread_mutex_lock(&app->lock);
    int removed = app->removed;
    pthread_mutex_unlock(&app->lock);
    if (!removed || !sw_app_quiet(app))
        return 0;
    fail_queued(app, "the app was removed");
    L.apps[index] = L.apps[--L.n_apps];
    sw_log(SW_LOG_INFO, app->name, "removed");
    sw_app_unref(app);
    return 1;
}

static void run_command(cmd_t *c)
{
    switch (c->kind) {
    case SW_LOADER_RELOAD:
        start_build(c->app, c->user);
        break;
    case SW_LOADER_DESTROY:
        sw_app_retire(c->app, c->user, 0);
        break;
    case SW_LOADER_ADD: {
        char msg[256];
        manage(c->app);
        if (sw_app_reload(c->app, c->user, -1, msg, sizeof msg) == SW_CMD_CONFLICT)
            sw_log(SW_LOG_ERROR, c->app->name, "cannot load: %s", msg);
        break;
    }
    case SW_LOADER_REMOVE:
        sw_loader_remove_now(c->app, c->user);
        break;
    }
}

/* Neither Python nor the coordinator's own state: any thread may run it.
 * The coordinator keeps the app on L.apps and lets it go in housekeep once
 * it is removed and quiet. */
void sw_loader_remove_now(sw_app_t *app, const char *user)
{
    sw_watch_forget(app);   /* a touch-reload must not rebuild it */
    sw_app_retire(app, user, 1);
}

static void *coordinator_main(void *arg)
{
    (void)arg;
    for (;;) {
        int stopping;
        cmd_t *c = next_command(&stopping);
        if (stopping) {
            free_command(c);
            break;
        }
        if (c)
            run_command(c);
        free_command(c);
        for (size_t i = L.n_apps; i-- > 0;)
            housekeep(L.apps[i], i);
    }
    return NULL;
}

/* ---- start / stop --------------------------------------------------------- */

int sw_loader_start(sw_app_t **apps, size_t n, const char *user, const char *action,
                    char *err, size_t errlen)
{
    snprintf(L.start_action, sizeof L.start_action, "%s", action);
    for (size_t i = 0; i < n; i++)
        manage(apps[i]);
    if (L.n_apps != n) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = pthread_create(&L.thread, NULL, coordinator_main, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the loader thread: %s", strerror(rc));
        return -1;
    }
    /* Every app's first generation, then wait for each. */
    unsigned long *tickets = calloc(n ? n : 1, sizeof *tickets);
    if (!tickets) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        sw_app_reload(apps[i], user, -1, msg, sizeof msg);
        pthread_mutex_lock(&apps[i]->lock);
        tickets[i] = apps[i]->pending_ticket;
        pthread_mutex_unlock(&apps[i]->lock);
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        sw_app_t *app = apps[i];
        pthread_mutex_lock(&app->lock);
        while (app->done_ticket < tickets[i])
            pthread_cond_wait(&app->changed, &app->lock);
        int ok = app->done_ticket == tickets[i] && app->done_result == SW_CMD_DONE;
        pthread_mutex_unlock(&app->lock);
        if (!ok && !failed) {
            failed = 1;
            snprintf(err, errlen, "app %s failed to load", app->name);
        }
    }
    free(tickets);
    atomic_store(&L.started, 1);
    return failed ? -1 : 0;
}

int sw_loader_shutdown(double drain_s)
{
    pthread_mutex_lock(&L.lock);
    L.stopping = 1;
    pthread_cond_broadcast(&L.wake);
    pthread_mutex_unlock(&L.lock);
    pthread_join(L.thread, NULL);
    for (cmd_t *c = L.head, *next; c; c = next) {
        next = c->next;
        free_command(c);
    }
    L.head = L.tail = NULL;

    /* Queued requests are still served; then every generation ends. */
    double deadline = sw_clock_now() + drain_s;
    for (size_t i = 0; i < L.n_apps; i++)
        sw_app_retire(L.apps[i], "(shutdown)", 1);
    pthread_mutex_lock(&L.lock);
    while (L.keepers > 0 && sw_clock_now() < deadline) {
        struct timespec abs;
        sw_clock_deadline(&abs, CLOCK_REALTIME, TICK_S);
        pthread_cond_timedwait(&L.wake, &L.lock, &abs);
    }
    int running = L.keepers;
    pthread_mutex_unlock(&L.lock);
    for (size_t i = 0; i < L.n_apps; i++)
        sw_app_check_drain(L.apps[i], 1);
    /* What could not be ended (busy workers, app threads, an import that
     * never returned) stays alive, and so Python is not finalised. */
    int left = running + atomic_load(&L.left_alive);
    if (left == 0) {
        for (size_t i = 0; i < L.n_apps; i++)
            sw_app_unref(L.apps[i]);
        free(L.apps);
        L.apps = NULL;
        L.n_apps = 0;
    }
    return left;
}

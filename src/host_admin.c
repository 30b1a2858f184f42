/* host_admin.c: the master's view of its workers and the admin backend on
 * it (see host_admin.h). */
#include "host_admin.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../admin/auth.h"
#include "../admin/status.h"
#include "applog.h"
#include "host_control.h"
#include "log.h"

/* Beyond a command's own wait, how long the worker may take to answer
 * (it answers a reload without ?wait at once, a destroy after its drain). */
#define ANSWER_MARGIN_S 5.0

typedef enum { V_STARTING, V_SERVING, V_DOWN } vstate_t;

typedef struct {
    const sw_user_config_t *user;
    vstate_t state;
    pid_t pid;                 /* -1 when none */
    int ctl;                   /* the master's end of its control channel; -1 */
    struct timespec started_at;
    int started;               /* a worker was ever started */
    unsigned restarts;         /* workers started after a death */
    char last_exit[128];       /* "" when it never ended */
    double restart_at;         /* V_DOWN: CLOCK_MONOTONIC of the next start, < 0: none */
    json_t *server;            /* its last report's "server", or NULL */
    int removed;               /* a SIGHUP took its owner out: not shown */
    /* Recycles: asked (not yet taken by the loop), running (taken), and
     * how many have ended with their last outcome; an admin request waits
     * until ended passes the count it saw when it asked. */
    int recycle_asked, recycle_running;
    unsigned recycles_ended;
    sw_cmd_result_t recycle_result;
    char recycle_msg[1200];
} wview_t;

typedef struct {
    const sw_app_config_t *cfg;
    size_t owner;
    json_t *json;              /* its APP as last reported, or NULL */
    sw_applog_t *log;          /* fed by the master's relay of the worker's lines */
} aview_t;

typedef struct pending {
    json_int_t id;
    size_t owner;
    int done;
    sw_cmd_result_t result;
    char msg[4096];
    struct pending *next;
} pending_t;

static struct {
    pthread_mutex_t lock;      /* view_lock: everything below */
    pthread_cond_t answered;   /* a pending command got its result */
    const sw_config_t *cfg;
    wview_t *w;
    size_t n_w;
    aview_t *a;
    size_t n_a;
    pending_t *pending;
    json_int_t next_id;
    struct timespec started_real;
    double started_mono;
    int wakefd;
    struct retired {
        aview_t *a;
        size_t n;
    } *retired;                /* app views a SIGHUP replaced: admin handlers may still
                                * hold one (app_find), so they live until the end */
    size_t n_retired;
} V = {.lock = PTHREAD_MUTEX_INITIALIZER, .answered = PTHREAD_COND_INITIALIZER};

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The app views of cfg (its apps whose owner is one of V.w's), each with
 * what old (n_old, may be NULL) had for the app of that name and owner. */
static aview_t *app_views(const sw_config_t *cfg, const aview_t *old, size_t n_old, size_t *n)
{
    aview_t *a = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof *a);
    *n = 0;
    for (size_t i = 0; a && i < cfg->n_apps; i++) {
        const sw_app_config_t *app = &cfg->apps[i];
        for (size_t o = 0; app->owner && o < V.n_w; o++) {
            if (V.w[o].removed || strcmp(V.w[o].user->name, app->owner) != 0)
                continue;
            json_t *json = NULL;
            for (size_t k = 0; k < n_old; k++)
                if (old[k].owner == o && strcmp(old[k].cfg->name, app->name) == 0)
                    json = json_deep_copy(old[k].json);
            a[(*n)++] = (aview_t){.cfg = app, .owner = o, .json = json,
                                  .log = sw_applog_get(app->name)};
            break;
        }
    }
    return a;
}

int sw_hostview_init(const sw_config_t *cfg, const sw_user_config_t *const *owners,
                     size_t n_owners, int wakefd)
{
    V.cfg = cfg;
    V.wakefd = wakefd;
    clock_gettime(CLOCK_REALTIME, &V.started_real);
    V.started_mono = now_mono();
    V.w = calloc(n_owners ? n_owners : 1, sizeof *V.w);
    if (!V.w)
        return -1;
    V.n_w = n_owners;
    for (size_t i = 0; i < n_owners; i++)
        V.w[i] = (wview_t){.user = owners[i], .state = V_DOWN, .pid = -1, .ctl = -1,
                           .restart_at = -1};
    V.a = app_views(cfg, NULL, 0, &V.n_a);
    return V.a ? 0 : -1;
}

static void free_views(aview_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(a[i].json);
        sw_applog_put(a[i].log);
    }
    free(a);
}

int sw_hostview_set_config(const sw_config_t *cfg, const sw_user_config_t *const *owners)
{
    pthread_mutex_lock(&V.lock);
    size_t n;
    struct retired *retired = realloc(V.retired, (V.n_retired + 1) * sizeof *retired);
    if (retired)
        V.retired = retired;
    aview_t *a = retired ? app_views(cfg, V.a, V.n_a, &n) : NULL;
    if (!a) {
        pthread_mutex_unlock(&V.lock);
        return -1;
    }
    /* Handles of the old views may be held by admin requests: retired,
     * not freed. */
    V.retired[V.n_retired++] = (struct retired){V.a, V.n_a};
    V.a = a;
    V.n_a = n;
    V.cfg = cfg;
    for (size_t i = 0; i < V.n_w; i++)
        if (owners[i])
            V.w[i].user = owners[i];
    pthread_mutex_unlock(&V.lock);
    return 0;
}

int sw_hostview_add_owner(const sw_user_config_t *user)
{
    pthread_mutex_lock(&V.lock);
    wview_t *w = realloc(V.w, (V.n_w + 1) * sizeof *w);
    int index = -1;
    if (w) {
        V.w = w;
        V.w[V.n_w] = (wview_t){.user = user, .state = V_DOWN, .pid = -1, .ctl = -1,
                               .restart_at = -1};
        index = (int)V.n_w++;
    }
    pthread_mutex_unlock(&V.lock);
    return index;
}

void sw_hostview_remove_owner(size_t owner)
{
    pthread_mutex_lock(&V.lock);
    V.w[owner].removed = 1;
    pthread_mutex_unlock(&V.lock);
}

void sw_hostview_free(void)
{
    pthread_mutex_lock(&V.lock);
    free_views(V.a, V.n_a);
    for (size_t i = 0; i < V.n_retired; i++)
        free_views(V.retired[i].a, V.retired[i].n);
    free(V.retired);
    V.retired = NULL;
    V.n_retired = 0;
    for (size_t i = 0; i < V.n_w; i++)
        json_decref(V.w[i].server);
    free(V.w);
    V.a = NULL;
    V.w = NULL;
    V.n_a = V.n_w = 0;
    pthread_mutex_unlock(&V.lock);
}

/* ---- what the loop reports --------------------------------------------------- */

void sw_hostview_started(size_t owner, pid_t pid, int ctl, unsigned restarts,
                         int new_process)
{
    pthread_mutex_lock(&V.lock);
    wview_t *w = &V.w[owner];
    w->state = V_STARTING;
    w->pid = pid;
    w->ctl = ctl;
    w->restarts = restarts;
    w->restart_at = -1;
    if (new_process) {
        w->started = 1;
        clock_gettime(CLOCK_REALTIME, &w->started_at);
    }
    pthread_mutex_unlock(&V.lock);
}

void sw_hostview_serving(size_t owner)
{
    pthread_mutex_lock(&V.lock);
    V.w[owner].state = V_SERVING;
    pthread_mutex_unlock(&V.lock);
}

void sw_hostview_died(size_t owner, const char *how, double restart_in_s)
{
    pthread_mutex_lock(&V.lock);
    wview_t *w = &V.w[owner];
    w->state = V_DOWN;
    w->pid = -1;
    w->ctl = -1;
    snprintf(w->last_exit, sizeof w->last_exit, "%s", how);
    w->restart_at = restart_in_s >= 0 ? now_mono() + restart_in_s : -1;
    for (pending_t *p = V.pending; p; p = p->next) {
        if (p->owner != owner || p->done)
            continue;
        p->done = 1;
        p->result = SW_CMD_FAILED;
        snprintf(p->msg, sizeof p->msg, "the app's process ended (%s) before it answered", how);
    }
    pthread_cond_broadcast(&V.answered);
    pthread_mutex_unlock(&V.lock);
}

int sw_hostview_take_recycle(size_t owner)
{
    pthread_mutex_lock(&V.lock);
    wview_t *w = &V.w[owner];
    int asked = w->recycle_asked && !w->recycle_running;
    if (asked) {
        w->recycle_asked = 0;
        w->recycle_running = 1;
    }
    pthread_mutex_unlock(&V.lock);
    return asked;
}

void sw_hostview_recycled(size_t owner, sw_cmd_result_t result, const char *msg)
{
    pthread_mutex_lock(&V.lock);
    wview_t *w = &V.w[owner];
    if (w->recycle_running) {
        w->recycle_running = 0;
        w->recycle_result = result;
        snprintf(w->recycle_msg, sizeof w->recycle_msg, "%s", msg);
        w->recycles_ended++;
        pthread_cond_broadcast(&V.answered);
    }
    pthread_mutex_unlock(&V.lock);
}

static aview_t *owned_app(size_t owner, const char *name)
{
    for (size_t i = 0; i < V.n_a; i++)
        if (V.a[i].owner == owner && strcmp(V.a[i].cfg->name, name) == 0)
            return &V.a[i];
    return NULL;
}

void sw_hostview_message(size_t owner, json_t *msg)
{
    const char *op = json_string_value(json_object_get(msg, "op"));
    if (!op)
        return;
    pthread_mutex_lock(&V.lock);
    if (strcmp(op, "report") == 0) {
        json_t *apps = json_object_get(msg, "apps"), *app;
        size_t i;
        json_array_foreach(apps, i, app) {
            const char *name = json_string_value(json_object_get(app, "name"));
            aview_t *a = name ? owned_app(owner, name) : NULL;
            if (!a || !json_is_object(app))
                continue;   /* a worker speaks for its owner's apps only */
            /* Copies: the cache is touched under view_lock only, and
             * shares no object (nor its reference count) with the
             * message, which the loop frees without the lock. */
            json_decref(a->json);
            a->json = json_deep_copy(app);
        }
        json_t *server = json_object_get(msg, "server");
        if (json_is_object(server)) {
            json_decref(V.w[owner].server);
            V.w[owner].server = json_deep_copy(server);
        }
    } else if (strcmp(op, "result") == 0) {
        json_int_t id = json_integer_value(json_object_get(msg, "id"));
        json_int_t r = json_integer_value(json_object_get(msg, "result"));
        const char *text = json_string_value(json_object_get(msg, "msg"));
        for (pending_t *p = V.pending; p; p = p->next) {
            if (p->id != id || p->owner != owner || p->done)
                continue;
            p->done = 1;
            p->result = r >= SW_CMD_DONE && r <= SW_CMD_CONFLICT ? (sw_cmd_result_t)r
                                                                  : SW_CMD_FAILED;
            snprintf(p->msg, sizeof p->msg, "%s", text ? text : "");
            pthread_cond_broadcast(&V.answered);
            break;
        }
    }
    pthread_mutex_unlock(&V.lock);
}

/* ---- JSON ------------------------------------------------------------------------ */

static const char *vstate_name(vstate_t s)
{
    return s == V_STARTING ? "starting" : s == V_SERVING ? "serving" : "down";
}

/* APP.process (DESIGN section 9), plus its state and, when it is down, the
 * seconds to its next start (extensions). Under view_lock. */
static json_t *process_json(const wview_t *w)
{
    char started[32] = "";
    int have_start = w->started && sw_status_rfc3339(w->started_at.tv_sec, started) == 0;
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "pid", w->pid > 0 ? json_integer(w->pid) : json_null());
    json_object_set_new(j, "user", json_string(w->user->run_as ? w->user->run_as : ""));
    json_object_set_new(j, "state", json_string(vstate_name(w->state)));
    json_object_set_new(j, "started_at", have_start ? json_string(started) : json_null());
    json_object_set_new(j, "restarts", json_integer(w->restarts));
    json_object_set_new(j, "last_exit", w->last_exit[0] ? json_string(w->last_exit)
                                                        : json_null());
    double left = w->restart_at >= 0 ? w->restart_at - now_mono() : -1;
    json_object_set_new(j, "restart_in_s", w->state == V_DOWN && w->restart_at >= 0
                                               ? json_real(left > 0 ? round(left * 10) / 10 : 0)
                                               : json_null());
    return j;
}

/* An app's APP: as its worker last reported it, with the master's own
 * facts on top (its name and owner from the config; state "loading" while
 * its worker starts, "failed" while it is down), or from the config alone
 * when no report came yet. Under view_lock. */
static json_t *app_json_locked(const aview_t *a)
{
    const wview_t *w = &V.w[a->owner];
    json_t *j;
    if (a->json) {
        j = json_deep_copy(a->json);
    } else {
        sw_app_status_t st = {.name = a->cfg->name, .owner = a->cfg->owner, .wsgi = a->cfg->wsgi,
                              .state = SW_APP_LOADING, .reload_mode = "interpreter",
                              .isolation = a->cfg->isolation};
        j = sw_status_app_json(&st);
    }
    if (!j)
        return NULL;
    json_object_set_new(j, "name", json_string(a->cfg->name));
    json_object_set_new(j, "owner", json_string(a->cfg->owner));
    if (w->state == V_STARTING && !a->json)
        json_object_set_new(j, "state", json_string("loading"));
    else if (w->state == V_DOWN)
        json_object_set_new(j, "state", json_string(w->started ? "failed" : "loading"));
    json_object_set_new(j, "process", process_json(w));
    return j;
}

/* ---- the backend ------------------------------------------------------------------- */

static aview_t *view_of(sw_backend_app_t *h)
{
    return (aview_t *)(void *)h;
}

/* The users are read under view_lock (a SIGHUP swaps the config); the
 * copy is the caller's. */
static int authenticate(void *ctx, const char *authorization, sw_user_config_t *out)
{
    (void)ctx;
    *out = (sw_user_config_t){0};
    pthread_mutex_lock(&V.lock);   /* a SIGHUP swaps the config */
    const sw_user_config_t *u = sw_auth_user(V.cfg, authorization);
    if (u) {
        out->name = strdup(u->name);
        out->role = u->role;
    }
    pthread_mutex_unlock(&V.lock);
    return out->name ? 0 : -1;
}

static json_t *apps(void *ctx, const sw_user_config_t *user)
{
    (void)ctx;
    json_t *arr = json_array();
    pthread_mutex_lock(&V.lock);
    for (size_t i = 0; arr && i < V.n_a; i++) {
        if (!sw_auth_can_see_owner(user, V.a[i].cfg->owner))
            continue;
        if (json_array_append_new(arr, app_json_locked(&V.a[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    pthread_mutex_unlock(&V.lock);
    return arr;
}

static sw_backend_app_t *app_find(void *ctx, const char *name, const char **owner)
{
    (void)ctx;
    aview_t *found = NULL;
    pthread_mutex_lock(&V.lock);
    for (size_t i = 0; i < V.n_a && !found; i++)
        if (strcmp(V.a[i].cfg->name, name) == 0) {
            *owner = V.a[i].cfg->owner;
            found = &V.a[i];
        }
    pthread_mutex_unlock(&V.lock);
    return (sw_backend_app_t *)(void *)found;
}

static void app_release(void *ctx, sw_backend_app_t *h)
{
    (void)ctx;
    (void)h;   /* views live as long as the master (a SIGHUP retires them) */
}

static json_t *app_json(void *ctx, sw_backend_app_t *h)
{
    (void)ctx;
    pthread_mutex_lock(&V.lock);
    json_t *j = app_json_locked(view_of(h));
    pthread_mutex_unlock(&V.lock);
    return j;
}

static json_t *app_log(void *ctx, sw_backend_app_t *h, size_t want)
{
    (void)ctx;
    aview_t *a = view_of(h);
    sw_applog_line_t *lines;
    size_t n;
    if (sw_applog_read(a->log, want, &lines, &n) != 0)
        return NULL;
    json_t *j = sw_status_log_json(a->cfg->name, lines, n);
    sw_applog_lines_free(lines, n);
    return j;
}

/* Sends op for app to its worker and waits for the result: up to wait_s
 * (and the worker's margin to answer) under view_lock's condition, no
 * other lock held. */
static sw_cmd_result_t command(aview_t *a, const char *op, const char *user, double wait_s,
                               double answer_within, char *msg, size_t msglen)
{
    msg[0] = '\0';
    pthread_mutex_lock(&V.lock);
    wview_t *w = &V.w[a->owner];
    if (w->state != V_SERVING || w->ctl < 0) {
        pthread_mutex_unlock(&V.lock);
        snprintf(msg, msglen, "the app's process is %s: try again when it serves",
                 w->state == V_STARTING ? "starting" : "not running (it is restarted)");
        return SW_CMD_CONFLICT;
    }
    pending_t p = {.id = ++V.next_id, .owner = a->owner, .next = V.pending};
    json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:f}", "op", op, "id", p.id, "app", a->cfg->name,
                          "user", user, "wait", wait_s);
    /* Sent under the lock: the loop closes w->ctl only after it told the
     * view the worker died (sw_hostview_died, same lock). */
    if (!m || sw_ctl_send(w->ctl, m) < 0) {
        pthread_mutex_unlock(&V.lock);
        json_decref(m);
        snprintf(msg, msglen, "cannot reach the app's process: %s", strerror(errno));
        return SW_CMD_CONFLICT;
    }
    json_decref(m);
    V.pending = &p;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double limit = answer_within + ANSWER_MARGIN_S;
    until.tv_sec += (time_t)limit;
    until.tv_nsec += (long)((limit - floor(limit)) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!p.done)
        if (pthread_cond_timedwait(&V.answered, &V.lock, &until) == ETIMEDOUT)
            break;
    for (pending_t **pp = &V.pending; *pp; pp = &(*pp)->next)
        if (*pp == &p) {
            *pp = p.next;
            break;
        }
    pthread_mutex_unlock(&V.lock);
    if (!p.done) {
        snprintf(msg, msglen, "the app's process did not answer in time");
        return SW_CMD_TIMEOUT;
    }
    snprintf(msg, msglen, "%s", p.msg);
    return p.result;
}

static sw_cmd_result_t app_reload(void *ctx, sw_backend_app_t *h, const char *user,
                                  double wait_s, char *msg, size_t msglen)
{
    (void)ctx;
    return command(view_of(h), "reload", user, wait_s, wait_s > 0 ? wait_s : 0, msg, msglen);
}

static sw_cmd_result_t app_destroy(void *ctx, sw_backend_app_t *h, const char *user,
                                   double wait_s, char *msg, size_t msglen)
{
    (void)ctx;
    /* Without a wait the worker waits its own drain bound (backend.h). */
    double within = wait_s >= 0 ? wait_s : V.cfg->drain_timeout + ANSWER_MARGIN_S;
    return command(view_of(h), "destroy", user, wait_s, within, msg, msglen);
}

static uint64_t own_rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* GET /v1/server: the master (it runs no Python), its totals over what the
 * workers reported, and the workers (an extension: "mode", "workers"). */
static json_t *server_json(void *ctx)
{
    (void)ctx;
    const char **names = calloc(V.cfg->scgi.n + 1, sizeof *names);
    for (size_t i = 0; names && i < V.cfg->scgi.n; i++)
        names[i] = V.cfg->scgi.items[i];
    sw_server_info_t info = {.version = SW_VERSION, .pid = (long)getpid(),
                             .started_at = V.started_real,
                             .uptime_s = now_mono() - V.started_mono,
                             .listeners = names, .n_listeners = names ? V.cfg->scgi.n : 0,
                             .rss_bytes = own_rss()};
    snprintf(info.python, sizeof info.python, "none: the host-mode master runs no Python");
    json_t *workers = json_array();
    pthread_mutex_lock(&V.lock);
    for (size_t i = 0; i < V.n_w; i++) {
        const wview_t *w = &V.w[i];
        if (w->removed)
            continue;
        json_t *tot = json_object_get(w->server, "totals");
        info.total += (unsigned long)json_integer_value(json_object_get(tot, "total"));
        info.active += (unsigned long)json_integer_value(json_object_get(tot, "active"));
        info.queued += (unsigned long)json_integer_value(json_object_get(tot, "queued"));
        info.rejected += (unsigned long)json_integer_value(json_object_get(tot, "rejected"));
        info.timeouts += (unsigned long)json_integer_value(json_object_get(tot, "timeouts"));
        json_t *p = process_json(w);
        if (p) {
            json_object_set_new(p, "owner", json_string(w->user->name));
            /* Copies of the values: the answer leaves the lock. */
            json_t *rss = json_object_get(w->server, "rss_bytes");
            const char *python = json_string_value(json_object_get(w->server, "python"));
            json_object_set_new(p, "rss_bytes", w->state != V_DOWN && json_is_integer(rss)
                                                    ? json_integer(json_integer_value(rss))
                                                    : json_null());
            json_object_set_new(p, "python", python ? json_string(python) : json_null());
            json_array_append_new(workers, p);
        }
    }
    pthread_mutex_unlock(&V.lock);
    json_t *j = sw_status_server_json(&info);
    free(names);
    if (j) {
        json_object_set_new(j, "mode", json_string("host"));
        json_object_set_new(j, "workers", workers ? workers : json_array());
    } else {
        json_decref(workers);
    }
    return j;
}

/* The time wait_s from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(double wait_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)wait_s;
    until.tv_nsec += (long)((wait_s - floor(wait_s)) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

/* A handover of one owner's worker, or of every worker (owner NULL; the
 * master itself is not replaced: that needs a restart of the service). The
 * loop runs it (host.c hand_over); a request asked while one runs waits
 * for the next, so it sees a process started after it asked. */
static sw_cmd_result_t recycle(void *ctx, const char *owner, const char *user, double wait_s,
                               char *msg, size_t msglen)
{
    (void)ctx;
    msg[0] = '\0';
    pthread_mutex_lock(&V.lock);   /* a SIGHUP may add owners meanwhile */
    size_t first = 0, last = V.n_w;
    if (owner) {
        while (first < V.n_w && (V.w[first].removed || strcmp(V.w[first].user->name, owner) != 0))
            first++;
        if (first == V.n_w) {
            pthread_mutex_unlock(&V.lock);
            snprintf(msg, msglen, "no process of owner %s (an owner of no app has none)", owner);
            return SW_CMD_CONFLICT;
        }
        last = first + 1;
    }
    unsigned *target = calloc(last + 1, sizeof *target);
    if (!target) {
        pthread_mutex_unlock(&V.lock);
        snprintf(msg, msglen, "out of memory");
        return SW_CMD_CONFLICT;
    }
    for (size_t i = first; i < last; i++) {
        wview_t *w = &V.w[i];
        if (w->removed)
            continue;
        /* One running now started before this request: wait for the next. */
        target[i] = w->recycles_ended + 1 + (w->recycle_running ? 1 : 0);
        w->recycle_asked = 1;
    }
    pthread_mutex_unlock(&V.lock);
    sw_log(SW_LOG_INFO, NULL, "recycle of %s asked by %s", owner ? owner : "every worker", user);
    uint64_t one = 1;
    ssize_t ignored = write(V.wakefd, &one, sizeof one);
    (void)ignored;
    if (wait_s < 0) {
        free(target);
        return SW_CMD_ACCEPTED;
    }
    struct timespec until = deadline_in(wait_s);
    sw_cmd_result_t result = SW_CMD_DONE;
    pthread_mutex_lock(&V.lock);
    for (size_t i = first; i < last; i++) {
        wview_t *w = &V.w[i];
        if (w->removed)
            continue;
        while (w->recycles_ended < target[i])
            if (pthread_cond_timedwait(&V.answered, &V.lock, &until) == ETIMEDOUT)
                break;
        if (w->recycles_ended < target[i]) {
            result = SW_CMD_TIMEOUT;
            snprintf(msg, msglen, "the new process of %s was not ready in time",
                     w->user->name);
            break;
        }
        if (w->recycle_result != SW_CMD_DONE && result == SW_CMD_DONE) {
            result = w->recycle_result;
            snprintf(msg, msglen, "%s: %s", w->user->name, w->recycle_msg);
        }
    }
    pthread_mutex_unlock(&V.lock);
    free(target);
    return result;
}

/* Per worker: up, restarts; per app: its requests by status class, from
 * the last report. */
static char *metrics(void *ctx)
{
    (void)ctx;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    pthread_mutex_lock(&V.lock);
    fputs("# HELP subwsgi_worker_up Whether the owner's worker process serves.\n"
          "# TYPE subwsgi_worker_up gauge\n", f);
    for (size_t i = 0; i < V.n_w; i++)
        if (!V.w[i].removed)
            fprintf(f, "subwsgi_worker_up{owner=\"%s\"} %d\n", V.w[i].user->name,
                    V.w[i].state == V_SERVING);
    fputs("# HELP subwsgi_worker_restarts_total Worker processes started after a death.\n"
          "# TYPE subwsgi_worker_restarts_total counter\n", f);
    for (size_t i = 0; i < V.n_w; i++)
        if (!V.w[i].removed)
            fprintf(f, "subwsgi_worker_restarts_total{owner=\"%s\"} %u\n", V.w[i].user->name,
                    V.w[i].restarts);
    fputs("# HELP subwsgi_requests_total Responses sent by the app, by status class.\n"
          "# TYPE subwsgi_requests_total counter\n", f);
    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
    static const char *const keys[] = {"status_2xx", "status_3xx", "status_4xx", "status_5xx"};
    for (size_t i = 0; i < V.n_a; i++) {
        json_t *req = json_object_get(V.a[i].json, "requests");
        for (size_t k = 0; req && k < 4; k++)
            fprintf(f, "subwsgi_requests_total{app=\"%s\",class=\"%s\"} %lld\n",
                    V.a[i].cfg->name, classes[k],
                    (long long)json_integer_value(json_object_get(req, keys[k])));
    }
    pthread_mutex_unlock(&V.lock);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

sw_backend_t sw_hostview_backend(void)
{
    return (sw_backend_t){
        .ctx = NULL,
        .quick = 0,
        .recycle_by_owner = 1,
        .authenticate = authenticate,
        .apps = apps,
        .app_find = app_find,
        .app_release = app_release,
        .app_json = app_json,
        .app_log = app_log,
        .app_reload = app_reload,
        .app_destroy = app_destroy,
        .server = server_json,
        .recycle = recycle,
        .metrics = metrics,
    };
}

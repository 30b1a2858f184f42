/* server.c: the server's life from start-up to exit: builds apps and
 * listeners, binds, drops privileges, starts Python, the loader (which
 * loads the apps), the I/O thread and the admin port, then waits for
 * signals in the main thread (sigwait: no Python signal handlers): SIGHUP
 * re-reads the config and applies the difference, SIGTERM/SIGINT shut down
 * gracefully. Also the admin port's read-only view of the server. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "backend_server.h"
#include "handover.h"
#include "host.h"
#include "host_control.h"
#include "http.h"
#include "interp.h"
#include "io.h"
#include "listen.h"
#include "loader.h"
#include "log.h"
#include "watch.h"

/* Send/receive timeout of a worker's client socket: a vanished client must
 * not hold a worker for ever. */

struct sw_server {
    pthread_rwlock_t lock;        /* apps, cfg, routes (see server.h) */
    sw_config_t *cfg;             /* current config */
    sw_config_t **old_cfgs;       /* replaced by SIGHUP; kept: apps may point into them */
    size_t n_old_cfgs;
    int quick;
    sw_app_t **apps;
    size_t n_apps;
    sw_listener_t *listeners;
    size_t n_listeners;
    const char **listener_names;
    /* The admin socket: admin_fd is libmicrohttpd's once it started (then
     * -1 here); admin_listen_fd, a close-on-exec copy kept for handovers,
     * is >= 0 for as long as the admin port is on (admin_on()). Main
     * thread only. */
    int admin_fd;
    int admin_listen_fd;
    char admin_name[256];
    int admin_bound_here;         /* see sw_listener_t.bound_here */
    sw_admin_t *admin;
    sw_io_t *io;
    int pid_file_written;
    struct timespec started;      /* CLOCK_MONOTONIC */
    struct timespec started_real; /* CLOCK_REALTIME, for status */
    pthread_t main_thread;
    char python_desc[128];        /* sw_python_describe, once, before any thread */
    /* process handover (main thread; recycle_* under recycle_lock) */
    unsigned long handovers;      /* over the life of the service */
    /* Who asked for the handover that started us: malloc'd (whole; user
     * names have no length limit), NULL for "-". */
    char *handover_by;
    int handed_over;              /* a successor serves: leave the sockets */
    /* recycle-rss, read by whoever asks for a reload (admin, watch, worker
     * threads) without the server lock: atomics. */
    _Atomic uint64_t rss_baseline; /* at ready (0 before) */
    _Atomic uint64_t rss_budget;   /* recycle-rss in bytes, 0 = none; SIGHUP updates it */
    pthread_mutex_t recycle_lock;
    pthread_cond_t recycle_done_cond;
    int recycle_pending;
    unsigned long recycle_asked, recycle_done;
    sw_cmd_result_t recycle_result;
    char recycle_msg[4096];
    char *recycle_user;           /* malloc'd (whole), NULL for "-" */
};

static sw_server_t *the_server;   /* for the process-reload hook */

static int build_routes(sw_server_t *s, char *err, size_t errlen);
static int bind_all(sw_server_t *s, char *err, size_t errlen);
static int drop_privileges(const char *user, char *err, size_t errlen);
static int write_pid_file(const char *path, char *err, size_t errlen);
static int reload_config(sw_server_t *s, sw_config_t **handover_cfg);
static int shutdown_gracefully(sw_server_t *s);
static void cleanup(sw_server_t *s);
static int handover(sw_server_t *s, const char *signal_name, const sw_config_t *next);
static void restore_state(sw_server_t *s);
static sw_cmd_result_t recycle_for_reload(const char *user, double wait_s, char *msg, size_t len);
static int over_budget(void);
static uint64_t rss_bytes(void);

/* ---- the admin port's view ------------------------------------------------- */

void sw_server_read_lock(sw_server_t *s)
{
    pthread_rwlock_rdlock(&s->lock);
}

void sw_server_read_unlock(sw_server_t *s)
{
    pthread_rwlock_unlock(&s->lock);
}

const sw_config_t *sw_server_config(sw_server_t *s)
{
    return s->cfg;
}

int sw_server_is_quick(sw_server_t *s)
{
    return s->quick;
}

size_t sw_server_n_apps(sw_server_t *s)
{
    return s->n_apps;
}

sw_app_t *sw_server_app(sw_server_t *s, size_t i)
{
    return i < s->n_apps ? s->apps[i] : NULL;
}

sw_app_t *sw_server_find_app(sw_server_t *s, const char *name)
{
    for (size_t i = 0; i < s->n_apps; i++)
        if (strcmp(s->apps[i]->name, name) == 0)
            return s->apps[i];
    return NULL;
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void sw_server_info(sw_server_t *s, sw_server_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->version = SW_VERSION;
    out->pid = (long)getpid();
    /* Described once at start-up: Py_GetVersion() formats into a static
     * buffer, so two admin threads asking at once would race on it. */
    snprintf(out->python, sizeof out->python, "%s", s->python_desc);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    out->uptime_s = (double)(now.tv_sec - s->started.tv_sec) +
                    (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
    out->started_at = s->started_real;
    out->listeners = s->listener_names;
    out->n_listeners = s->n_listeners;
    out->rss_bytes = rss_bytes();
    out->handovers = s->handovers;
    out->rss_budget_bytes = (uint64_t)(s->cfg->recycle_rss * 1024 * 1024);
    for (size_t i = 0; i < s->n_apps; i++) {
        sw_app_t *a = s->apps[i];
        out->total += a->counters.total;
        out->active += a->counters.active;
        out->queued += sw_queue_count(&a->queue);
        out->rejected += a->counters.rejected;
        out->timeouts += a->counters.timeouts;
    }
}

/* ---- listeners and routes ---------------------------------------------------- */

static sw_listener_t *listener_for(sw_server_t *s, const char *text)
{
    for (size_t i = 0; i < s->n_listeners; i++)
        if (strcmp(s->listeners[i].addr.text, text) == 0)
            return &s->listeners[i];
    return NULL;
}

/* Whether the admin port is on. Not admin_fd: libmicrohttpd owns that one
 * once it started, and it is -1 here from then on. */
static int admin_on(const sw_server_t *s)
{
    return s->admin_listen_fd >= 0;
}

static sw_listener_t *add_listener(sw_server_t *s, const char *spec, char *err, size_t errlen)
{
    sw_addr_t a;
    if (sw_addr_parse(spec, &a, err, errlen) < 0)
        return NULL;
    sw_listener_t *ls = listener_for(s, a.text);
    if (ls)
        return ls;
    sw_listener_t *grown = realloc(s->listeners, (s->n_listeners + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->listeners = grown;
    ls = &s->listeners[s->n_listeners++];
    *ls = (sw_listener_t){.addr = a, .fd = -1, .shared = 0};
    return ls;
}

static sw_app_t *app_named(sw_server_t *s, const char *name)
{
    return sw_server_find_app(s, name);
}

/* (Re)builds every listener's mount table from s->cfg. Shared listeners
 * route every app's mounts; an app's own `scgi =` listeners route only to
 * it (its mounts give SCRIPT_NAME, and a root catch-all takes every other
 * path). Listeners the config no longer names keep an empty table. With
 * bind_new == 0 (SIGHUP, after listeners_changed said no) an unknown
 * address is only reported. */
static int routes_for(sw_server_t *s, int bind_new, char *err, size_t errlen)
{
    const sw_config_t *cfg = s->cfg;
    for (size_t i = 0; i < s->n_listeners; i++)
        sw_route_free(&s->listeners[i].routes);
    for (size_t k = 0; k < cfg->scgi.n; k++) {
        sw_addr_t a;
        if (sw_addr_parse(cfg->scgi.items[k], &a, err, errlen) < 0)
            return -1;
        sw_listener_t *ls = listener_for(s, a.text);
        if (!ls && !bind_new) {
            sw_log(SW_LOG_WARN, NULL, "new listener %s not bound (internal: SIGHUP should have handed over)", a.text);
            continue;
        }
        if (!ls && !(ls = add_listener(s, cfg->scgi.items[k], err, errlen)))
            return -1;
        ls->shared = 1;
        for (size_t ai = 0; ai < cfg->n_apps; ai++) {
            const sw_app_config_t *ac = &cfg->apps[ai];
            sw_app_t *app = app_named(s, ac->name);
            if (ac->scgi.n > 0 || !app)
                continue;   /* an app with its own listener is served there only */
            for (size_t m = 0; m < ac->n_mounts; m++)
                if (sw_route_add(&ls->routes, ac->mounts[m].host, ac->mounts[m].prefix, app) < 0)
                    goto nomem;
        }
    }
    for (size_t ai = 0; ai < cfg->n_apps; ai++) {
        const sw_app_config_t *ac = &cfg->apps[ai];
        sw_app_t *app = app_named(s, ac->name);
        for (size_t k = 0; app && k < ac->scgi.n; k++) {
            sw_addr_t a;
            if (sw_addr_parse(ac->scgi.items[k], &a, err, errlen) < 0)
                return -1;
            sw_listener_t *ls = listener_for(s, a.text);
            if (!ls && !bind_new) {
                sw_log(SW_LOG_WARN, ac->name, "new listener %s not bound (internal: SIGHUP should have handed over)", a.text);
                continue;
            }
            if (!ls && !(ls = add_listener(s, ac->scgi.items[k], err, errlen)))
                return -1;
            for (size_t m = 0; m < ac->n_mounts; m++)
                if (sw_route_add(&ls->routes, ac->mounts[m].host, ac->mounts[m].prefix, app) < 0)
                    goto nomem;
            if (sw_route_add(&ls->routes, NULL, "", app) < 0)
                goto nomem;
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int build_routes(sw_server_t *s, char *err, size_t errlen)
{
    if (routes_for(s, 1, err, errlen) < 0)
        return -1;
    s->listener_names = calloc(s->n_listeners ? s->n_listeners : 1, sizeof *s->listener_names);
    if (!s->listener_names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->n_listeners; i++)
        s->listener_names[i] = s->listeners[i].addr.text;
    return 0;
}

static int bind_all(sw_server_t *s, char *err, size_t errlen)
{
    /* Sockets a handover or systemd passed in are used as they are: the
     * connections waiting on them are not lost. */
    for (size_t i = 0; i < s->n_listeners; i++) {
        sw_listener_t *ls = &s->listeners[i];
        ls->fd = sw_handover_take_fd(ls->addr.text);
        int inherited = ls->fd >= 0;
        if (!inherited)
            ls->fd = sw_listen_bind(&ls->addr, s->cfg->socket_mode, 1024, err, errlen);
        ls->bound_here = !inherited;
        if (ls->fd < 0)
            return -1;
        /* In a host-mode worker, a shared listener stays in the master,
         * and what comes in its place is a channel passing connections. */
        int listening = 1;
        socklen_t optlen = sizeof listening;
        if (inherited && sw_host_is_worker() &&
            getsockopt(ls->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == 0 && !listening)
            ls->passed = 1;
        sw_log(SW_LOG_INFO, NULL, "SCGI listening on %s%s", ls->addr.text,
               ls->passed ? " (connections passed by the master)"
               : inherited ? " (inherited)" : "");
    }
    if (s->cfg->admin) {
        sw_addr_t a;
        if (sw_addr_parse(s->cfg->admin, &a, err, errlen) < 0)
            return -1;
        snprintf(s->admin_name, sizeof s->admin_name, "%s", a.text);
        s->admin_fd = sw_handover_take_fd(a.text);
        int inherited = s->admin_fd >= 0;
        if (!inherited)
            s->admin_fd = sw_listen_bind(&a, s->cfg->socket_mode, 64, err, errlen);
        s->admin_bound_here = !inherited;
        if (s->admin_fd < 0)
            return -1;
        s->admin_listen_fd = fcntl(s->admin_fd, F_DUPFD_CLOEXEC, 3);
        if (s->admin_listen_fd < 0) {
            snprintf(err, errlen, "admin socket %s: %s", a.text, strerror(errno));
            return -1;
        }
        sw_log(SW_LOG_INFO, NULL, "admin listening on %s%s%s", a.text,
               s->cfg->admin_tls_cert ? " (TLS)" : "", inherited ? " (inherited)" : "");
    }
    sw_handover_close_unused();
    return 0;
}

static int drop_privileges(const char *user, char *err, size_t errlen)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "user %s does not exist", user);
        return -1;
    }
    if (getuid() == pw->pw_uid)
        return 0;
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        snprintf(err, errlen, "cannot become user %s: %s", user, strerror(errno));
        return -1;
    }
    sw_log(SW_LOG_INFO, NULL, "running as user %s", user);
    return 0;
}

static int write_pid_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "we");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write pid-file %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return 0;
}

/* ---- SIGHUP ------------------------------------------------------------------ */


/* Whether the app's code or interpreters must be rebuilt. Mounts, owner and
 * listeners apply without a reload. */
static int needs_reload(const sw_app_config_t *a, const sw_app_config_t *b)
{
    return !sw_str_equal(a->wsgi_file, b->wsgi_file) ||
           !sw_str_equal(a->wsgi_module, b->wsgi_module) ||
           !sw_str_equal(a->callable, b->callable) ||
           !sw_strv_equal(&a->python_path, &b->python_path) ||
           !sw_str_equal(a->venv, b->venv) || a->isolation != b->isolation ||
           a->interpreters != b->interpreters || a->threads != b->threads ||
           !sw_strv_equal(&a->environ, &b->environ) || !sw_strv_equal(&a->env, &b->env);
}

/* Whether address text (as sw_addr_parse prints it) is among specs. */
static int addr_listed(const sw_strv_t *specs, const char *text)
{
    for (size_t i = 0; i < specs->n; i++) {
        sw_addr_t a;
        char err[128];
        if (sw_addr_parse(specs->items[i], &a, err, sizeof err) == 0 &&
            strcmp(a.text, text) == 0)
            return 1;
    }
    return 0;
}

/* Appends the SCGI listeners cfg names ([server] and the apps' own), as
 * written in it. */
static void config_scgi(const sw_config_t *cfg, sw_strv_t *out)
{
    for (size_t i = 0; i < cfg->scgi.n; i++)
        sw_strv_push(out, cfg->scgi.items[i]);
    for (size_t ai = 0; ai < cfg->n_apps; ai++)
        for (size_t k = 0; k < cfg->apps[ai].scgi.n; k++)
            sw_strv_push(out, cfg->apps[ai].scgi.items[k]);
}

/* Whether cfg names the socket at address text (as sw_addr_parse prints
 * it): an SCGI listener or the admin port. */
static int config_names(const sw_config_t *cfg, const char *text)
{
    sw_strv_t want = {0};
    config_scgi(cfg, &want);
    if (cfg->admin)
        sw_strv_push(&want, cfg->admin);
    int listed = addr_listed(&want, text);
    sw_strv_free(&want);
    return listed;
}

/* Whether next binds other sockets than this process holds: an SCGI listener
 * added or removed, or the admin port moved or its TLS files changed. Those
 * take a new process (a handover: it inherits what stays, binds what is new
 * and closes the rest). Says what changed in why. */
static int listeners_changed(const sw_server_t *s, const sw_config_t *next, char *why,
                             size_t len)
{
    sw_strv_t want = {0};
    config_scgi(next, &want);
    int changed = 0;
    for (size_t i = 0; i < want.n && !changed; i++) {
        sw_addr_t a;
        char err[128];
        if (sw_addr_parse(want.items[i], &a, err, sizeof err) == 0 &&
            !listener_for((sw_server_t *)s, a.text)) {
            snprintf(why, len, "new listener %s", a.text);
            changed = 1;
        }
    }
    for (size_t i = 0; i < s->n_listeners && !changed; i++) {
        if (s->listeners[i].fd >= 0 && !addr_listed(&want, s->listeners[i].addr.text)) {
            snprintf(why, len, "listener %s removed", s->listeners[i].addr.text);
            changed = 1;
        }
    }
    sw_strv_free(&want);
    if (changed)
        return 1;
    const char *admin_now = admin_on(s) ? s->admin_name : NULL;
    char admin_next[256] = "";
    if (next->admin) {
        sw_addr_t a;
        char err[128];
        if (sw_addr_parse(next->admin, &a, err, sizeof err) == 0)
            snprintf(admin_next, sizeof admin_next, "%s", a.text);
    }
    if (!sw_str_equal(admin_now, next->admin ? admin_next : NULL)) {
        snprintf(why, len, "admin port %.200s -> %.200s", admin_now ? admin_now : "off",
                 next->admin ? admin_next : "off");
        return 1;
    }
    if (next->admin && (!sw_str_equal(s->cfg->admin_tls_cert, next->admin_tls_cert) ||
                        !sw_str_equal(s->cfg->admin_tls_key, next->admin_tls_key))) {
        snprintf(why, len, "admin TLS certificate or key changed");
        return 1;
    }
    return 0;
}

/* Applies the config file again. Returns 1 when it changes the sockets:
 * then nothing was applied here, *handover_cfg gets the new config (the
 * caller's, to free; it says which sockets the new process needs) and the
 * caller hands over to a new process (which reads the file itself); else
 * 0. */
static int reload_config(sw_server_t *s, sw_config_t **handover_cfg)
{
    *handover_cfg = NULL;
    sw_errors_t errs = {0};
    sw_config_t *next = sw_config_load(s->cfg->file, &errs);
    if (!next) {
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: %s is invalid; nothing changed:", s->cfg->file);
        for (size_t i = 0; i < errs.lines.n; i++)
            sw_log(SW_LOG_ERROR, NULL, "  %s", errs.lines.items[i]);
        sw_errors_free(&errs);
        return 0;
    }
    sw_errors_free(&errs);
    char why[512];
    if (listeners_changed(s, next, why, sizeof why)) {
        sw_log(SW_LOG_INFO, NULL, "SIGHUP: %s: handing over to a new process with the new "
               "config (if it fails, this one keeps the old config)", why);
        *handover_cfg = next;
        return 1;
    }

    sw_app_t **added = calloc(next->n_apps + 1, sizeof *added);
    sw_app_t **reload = calloc(next->n_apps + 1, sizeof *reload);
    sw_app_t **removed = calloc(s->n_apps + 1, sizeof *removed);
    sw_app_t **apps = calloc(next->n_apps + 1, sizeof *apps);
    sw_config_t **olds = realloc(s->old_cfgs, (s->n_old_cfgs + 1) * sizeof *olds);
    if (!added || !reload || !removed || !apps || !olds) {
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: out of memory; nothing changed");
        free(added); free(reload); free(removed); free(apps);
        if (olds)
            s->old_cfgs = olds;
        sw_config_free(next);
        return 0;
    }
    s->old_cfgs = olds;
    size_t n_added = 0, n_reload = 0, n_removed = 0, n_apps = 0, n_not_added = 0;

    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < next->n_apps; i++) {
        const sw_app_config_t *ac = &next->apps[i];
        sw_app_t *app = sw_server_find_app(s, ac->name);
        if (!app) {
            app = sw_app_new(ac, next);
            if (!app) {
                sw_log(SW_LOG_ERROR, ac->name, "SIGHUP: out of memory: this new app is not "
                       "added; the next SIGHUP retries");
                n_not_added++;
                continue;
            }
            /* Queued before the app is published, so that an app the
             * loader will never know is never routed: only the loader
             * loads it and answers its queued requests (load-timeout), so
             * routed without its ADD it would take requests and answer
             * none. Not added, its requests get 404 at once, as when
             * sw_app_new fails. Nothing after this loop can fail, so the
             * ADD never runs for an app that is then left out; the loader
             * may begin loading it before the routes below exist, which
             * only means it serves sooner. (L.lock under the server lock:
             * top to bottom in server.h's order.) */
            if (sw_loader_post(SW_LOADER_ADD, app, "(SIGHUP)") < 0) {
                sw_log(SW_LOG_ERROR, ac->name, "SIGHUP: out of memory queueing its load: this "
                       "new app is not added; the next SIGHUP retries");
                sw_app_unref(app);   /* never shared: this frees it */
                n_not_added++;
                continue;
            }
            added[n_added++] = app;
        } else {
            if (needs_reload(app->cfg, ac))
                reload[n_reload++] = app;
            pthread_mutex_lock(&app->lock);
            app->cfg = ac;   /* the old config stays alive: see old_cfgs */
            pthread_mutex_unlock(&app->lock);
        }
        apps[n_apps++] = app;
    }
    for (size_t i = 0; i < s->n_apps; i++) {
        int kept = 0;
        for (size_t k = 0; k < n_apps && !kept; k++)
            kept = apps[k] == s->apps[i];
        if (!kept)
            removed[n_removed++] = s->apps[i];
    }
    free(s->apps);
    s->apps = apps;
    s->n_apps = n_apps;
    s->old_cfgs[s->n_old_cfgs++] = s->cfg;
    s->cfg = next;
    atomic_store(&s->rss_budget, (uint64_t)(next->recycle_rss * 1024 * 1024));
    char err[256];
    if (routes_for(s, 0, err, sizeof err) < 0)
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: routes: %s", err);
    pthread_rwlock_unlock(&s->lock);

    for (size_t i = 0; i < n_removed; i++) {
        /* Out of the list and the routes already, and the new config may
         * give its mount to another app: keeping it is not possible, so a
         * REMOVE that cannot be queued is done here (it needs no loader
         * thread). Dropped, its generation would never be retired. */
        if (sw_loader_post(SW_LOADER_REMOVE, removed[i], "(SIGHUP)") < 0)
            sw_loader_remove_now(removed[i], "(SIGHUP)");
        sw_app_unref(removed[i]);   /* the app list's reference */
    }
    for (size_t i = 0; i < n_reload; i++) {
        /* After the swap above: a build that begins from now on reads the
         * new config; one running that read the old is followed by one
         * more (app.c, the event "config changed"). */
        char msg[256];
        sw_cmd_result_t r = sw_app_config_changed(reload[i], "(SIGHUP)", msg, sizeof msg);
        if (r == SW_CMD_CONFLICT || r == SW_CMD_FAILED)
            sw_log(SW_LOG_WARN, reload[i]->name, "SIGHUP: cannot reload: %s", msg);
    }
    char not_added[96] = "";
    if (n_not_added > 0)
        snprintf(not_added, sizeof not_added, "; %zu new apps not added (out of memory: "
                 "see above)", n_not_added);
    sw_log(SW_LOG_INFO, NULL, "SIGHUP: %s applied: %zu apps added, %zu removed, %zu reloading, "
           "%zu users%s", next->file, n_added, n_removed, n_reload, next->n_users, not_added);
    free(added);
    free(reload);
    free(removed);
    return 0;
}


/* ---- process handover ---------------------------------------------------------- */

/* What a successor continues: handovers so far, and per app the next
 * generation number, reloads and counters. */
static char *state_json(sw_server_t *s, const char *user)
{
    json_t *root = json_object(), *apps = json_object();
    if (!root || !apps) {
        json_decref(root);
        json_decref(apps);
        return NULL;
    }
    for (size_t i = 0; i < s->n_apps; i++) {
        sw_app_t *a = s->apps[i];
        pthread_mutex_lock(&a->lock);
        json_t *o = json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                              "next_generation", a->next_generation,
                              "reloads", (json_int_t)a->reloads,
                              "total", (json_int_t)a->counters.total,
                              "status_2xx", (json_int_t)a->counters.status_2xx,
                              "status_3xx", (json_int_t)a->counters.status_3xx,
                              "status_4xx", (json_int_t)a->counters.status_4xx,
                              "status_5xx", (json_int_t)a->counters.status_5xx,
                              "rejected", (json_int_t)a->counters.rejected,
                              "timeouts", (json_int_t)a->counters.timeouts,
                              "client_aborts", (json_int_t)a->counters.client_aborts);
        pthread_mutex_unlock(&a->lock);
        if (o)
            json_object_set_new(apps, a->name, o);
    }
    json_object_set_new(root, "handovers", json_integer((json_int_t)s->handovers + 1));
    json_object_set_new(root, "requested_by", json_string(user));
    json_object_set_new(root, "apps", apps);
    /* The socket files a subwsgi created (not systemd): the successor
     * removes them when it is the last to exit. */
    json_t *owned = json_array();
    for (size_t i = 0; owned && i < s->n_listeners; i++)
        if (s->listeners[i].fd >= 0 && s->listeners[i].bound_here)
            json_array_append_new(owned, json_string(s->listeners[i].addr.text));
    if (owned && admin_on(s) && s->admin_bound_here)
        json_array_append_new(owned, json_string(s->admin_name));
    json_object_set_new(root, "owned_sockets", owned);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void restore_state(sw_server_t *s)
{
    const char *text = sw_handover_state();
    if (!text[0])
        return;
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root) {
        sw_log(SW_LOG_WARN, NULL, "handover state unreadable: %s", je.text);
        return;
    }
    s->handovers = (unsigned long)json_integer_value(json_object_get(root, "handovers"));
    size_t k;
    json_t *addr;
    json_array_foreach(json_object_get(root, "owned_sockets"), k, addr) {
        const char *text = json_string_value(addr);
        sw_listener_t *ls = text ? listener_for(s, text) : NULL;
        if (ls)
            ls->bound_here = 1;
        if (text && admin_on(s) && strcmp(text, s->admin_name) == 0)
            s->admin_bound_here = 1;
    }
    const char *by = json_string_value(json_object_get(root, "requested_by"));
    free(s->handover_by);
    s->handover_by = by ? strdup(by) : NULL;   /* NULL when out of memory too: "-" */
    json_t *apps = json_object_get(root, "apps");
    for (size_t i = 0; i < s->n_apps; i++) {
        sw_app_t *a = s->apps[i];
        json_t *o = json_object_get(apps, a->name);
        if (!o)
            continue;
        a->next_generation = (int)json_integer_value(json_object_get(o, "next_generation"));
        if (a->next_generation < 1)
            a->next_generation = 1;
        a->reloads = (unsigned long)json_integer_value(json_object_get(o, "reloads"));
#define RESTORE(f) a->counters.f = (unsigned long)json_integer_value(json_object_get(o, #f))
        RESTORE(total);
        RESTORE(status_2xx);
        RESTORE(status_3xx);
        RESTORE(status_4xx);
        RESTORE(status_5xx);
        RESTORE(rejected);
        RESTORE(timeouts);
        RESTORE(client_aborts);
#undef RESTORE
    }
    json_decref(root);
    sw_log(SW_LOG_INFO, NULL, "continuing after handover %lu", s->handovers);
}

/* A SIGHUP that came while the successor started (the main thread was
 * busy here) may be for a config it did not read: it gets the SIGHUP
 * instead of this process, which will not read the file again. */
static void forward_sighup(pid_t successor)
{
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    struct timespec now = {0, 0};
    if (sigtimedwait(&hup, NULL, &now) == SIGHUP) {
        sw_log(SW_LOG_INFO, NULL, "SIGHUP during the handover: passed on to process %ld",
               (long)successor);
        kill(successor, SIGHUP);
    }
}

/* After a handover, the socket files this process's listeners own that the
 * successor's config (cfg) no longer names: nobody listens there now. */
static void remove_unpassed_socket_files(sw_server_t *s, const sw_config_t *cfg)
{
    for (size_t i = 0; i < s->n_listeners; i++) {
        const sw_listener_t *ls = &s->listeners[i];
        if (ls->addr.is_unix && ls->bound_here && !config_names(cfg, ls->addr.text))
            unlink(ls->addr.text + 5);   /* "unix:" */
    }
    if (admin_on(s) && s->admin_bound_here && strncmp(s->admin_name, "unix:", 5) == 0 &&
        !config_names(cfg, s->admin_name))
        unlink(s->admin_name + 5);
}

/* Adds a socket to a handover's; past SW_HANDOVER_MAX_FDS it is only
 * counted, and sw_handover_run refuses with that count. */
static void pass_socket(int *fds, const char **names, size_t *n, int fd, const char *name)
{
    if (*n < SW_HANDOVER_MAX_FDS) {
        fds[*n] = fd;
        names[*n] = name;
    }
    (*n)++;
}

/* Runs a handover (main thread: SIGUSR2, a recycle asked through
 * sw_server_recycle, or a SIGHUP whose config next changes the sockets;
 * else next is NULL). The successor gets exactly the sockets its config
 * names: next's, or else the current ones. Returns 1 when it serves. */
static int handover(sw_server_t *s, const char *signal_name, const sw_config_t *next)
{
    pthread_mutex_lock(&s->recycle_lock);
    unsigned long asked = s->recycle_asked;
    /* A copy: recycle_user may be replaced once the lock goes. */
    const char *asker = !s->recycle_pending ? signal_name
                        : s->recycle_user   ? s->recycle_user
                                            : "-";
    char *user_copy = strdup(asker);
    pthread_mutex_unlock(&s->recycle_lock);
    const char *user = user_copy ? user_copy : signal_name;   /* out of memory: the signal */

    const sw_config_t *cfg = next ? next : s->cfg;
    int fds[SW_HANDOVER_MAX_FDS];
    const char *names[SW_HANDOVER_MAX_FDS];
    size_t n = 0;
    for (size_t i = 0; i < s->n_listeners; i++)
        if (s->listeners[i].fd >= 0 && config_names(cfg, s->listeners[i].addr.text))
            pass_socket(fds, names, &n, s->listeners[i].fd, s->listeners[i].addr.text);
    if (admin_on(s) && config_names(cfg, s->admin_name))
        pass_socket(fds, names, &n, s->admin_listen_fd, s->admin_name);
    char *state = state_json(s, user);
    char why[4096];
    pid_t successor = 0;
    sw_log(SW_LOG_INFO, NULL, "handover asked by %s", user);
    sw_handover_notify("RELOADING=1");
    int rc = sw_handover_run(fds, names, n, state, s->cfg->load_timeout + 30, why, sizeof why,
                             &successor);
    free(state);
    if (rc == 0) {
        s->handed_over = 1;
        sw_log(SW_LOG_INFO, NULL, "handover: process %ld serves; this one drains and exits",
               (long)successor);
        char main_pid[64];
        snprintf(main_pid, sizeof main_pid, "MAINPID=%ld\nREADY=1", (long)successor);
        sw_handover_notify(main_pid);
        forward_sighup(successor);
        /* Stop taking SCGI connections before anyone is told: a request
         * sent after the answer must reach the new code. What this process
         * accepted already is still served. This closes every SCGI
         * listener here, so one the successor did not take (removed by
         * SIGHUP) refuses connections from now on. */
        if (s->io) {
            sw_io_stop(s->io, s->cfg->drain_timeout);
            s->io = NULL;
        }
        remove_unpassed_socket_files(s, cfg);
    } else {
        sw_handover_notify("READY=1");
        sw_log(SW_LOG_ERROR, NULL, "handover aborted; this process keeps serving:");
        sw_log_text(SW_LOG_ERROR, NULL, why, strlen(why));
    }
    pthread_mutex_lock(&s->recycle_lock);
    s->recycle_done = asked;
    s->recycle_result = rc == 0 ? SW_CMD_DONE : SW_CMD_FAILED;
    snprintf(s->recycle_msg, sizeof s->recycle_msg, "%s",
             rc == 0 ? "a new process serves" : why);
    s->recycle_pending = 0;
    pthread_cond_broadcast(&s->recycle_done_cond);
    pthread_mutex_unlock(&s->recycle_lock);
    free(user_copy);
    return rc == 0;
}

sw_cmd_result_t sw_server_recycle(sw_server_t *s, const char *user, double wait_s, char *msg,
                                  size_t msglen)
{
    msg[0] = '\0';
    pthread_mutex_lock(&s->recycle_lock);
    if (!s->recycle_pending) {
        s->recycle_pending = 1;
        s->recycle_asked++;
        free(s->recycle_user);
        s->recycle_user = user ? strdup(user) : NULL;   /* NULL (out of memory too): "-" */
        /* Every other thread blocks SIGUSR2: the main thread takes it. */
        kill(getpid(), SIGUSR2);
    }
    unsigned long ticket = s->recycle_asked;
    if (wait_s < 0) {
        pthread_mutex_unlock(&s->recycle_lock);
        return SW_CMD_ACCEPTED;
    }
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    long long ns = abs.tv_nsec + (long long)(wait_s * 1e9);
    abs.tv_sec += (time_t)(ns / 1000000000LL);
    abs.tv_nsec = (long)(ns % 1000000000LL);
    while (s->recycle_done < ticket) {
        if (pthread_cond_timedwait(&s->recycle_done_cond, &s->recycle_lock, &abs) == ETIMEDOUT &&
            s->recycle_done < ticket) {
            pthread_mutex_unlock(&s->recycle_lock);
            snprintf(msg, msglen, "the new process was not serving after %gs", wait_s);
            return SW_CMD_TIMEOUT;
        }
    }
    sw_cmd_result_t r = s->recycle_result;
    snprintf(msg, msglen, "%s", s->recycle_msg);
    pthread_mutex_unlock(&s->recycle_lock);
    return r;
}

static sw_cmd_result_t recycle_for_reload(const char *user, double wait_s, char *msg, size_t len)
{
    /* A host-mode worker is handed over by its master, which holds its
     * sockets and starts its successor (host.h). */
    if (sw_host_is_worker())
        return sw_ctl_worker_recycle(user, wait_s, msg, len);
    return sw_server_recycle(the_server, user, wait_s, msg, len);
}

static int over_budget(void)
{
    sw_server_t *s = the_server;
    uint64_t baseline = atomic_load(&s->rss_baseline), budget = atomic_load(&s->rss_budget);
    return baseline > 0 && budget > 0 && rss_bytes() > baseline + budget;
}

/* ---- signals and shutdown ---------------------------------------------------- */

static sigset_t handled_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGUSR1);
    return set;
}

static void serve_until_stopped(sw_server_t *s)
{
    sigset_t set = handled_signals();
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP && sw_host_is_worker()) {
            sw_log(SW_LOG_WARN, NULL, "SIGHUP: a host-mode worker's config is its master's: "
                   "send SIGHUP to the master");
            continue;
        }
        if (sig == SIGUSR2 && sw_host_is_worker()) {
            char msg[256];
            sw_ctl_worker_recycle("(SIGUSR2)", -1, msg, sizeof msg);
            continue;
        }
        if (sig == SIGHUP) {
            sw_config_t *next = NULL;
            if (s->quick) {
                sw_log(SW_LOG_WARN, NULL, "SIGHUP: quick mode has no config file; ignored");
            } else if (reload_config(s, &next)) {
                int handed_over = handover(s, "(SIGHUP)", next);
                sw_config_free(next);
                if (handed_over)
                    return;   /* the successor serves the new config */
            }
            continue;
        }
        if (sig == SIGUSR1) {
            /* logrotate's postrotate: the log files were renamed away. */
            char err[512];
            if (sw_log_reopen(err, sizeof err) < 0)
                sw_log(SW_LOG_ERROR, NULL, "SIGUSR1: %s", err);
            else
                sw_log(SW_LOG_INFO, NULL, "SIGUSR1: log files reopened");
            continue;
        }
        if (sig == SIGUSR2) {
            if (handover(s, "(SIGUSR2)", NULL))
                return;   /* the successor serves: drain and leave */
            continue;
        }
        sw_log(SW_LOG_INFO, NULL, "%s: shutting down, draining in-flight requests",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
}

/* Returns 0, or -1 when interpreters had to be left alive (then Python is
 * not finalised). */
static int shutdown_gracefully(sw_server_t *s)
{
    double drain = s->cfg->drain_timeout;
    if (s->io) {
        sw_io_stop(s->io, drain);
        s->io = NULL;
    }
    sw_admin_stop(s->admin);
    s->admin = NULL;
    sw_watch_stop();
    int left = sw_loader_shutdown(drain);
    if (left > 0) {
        /* Ending an interpreter with a running thread is fatal (FACTS.md
         * section 6): leave Python as it is and exit. */
        sw_log(SW_LOG_WARN, NULL, "%d interpreters still busy after drain-timeout (%.0fs); "
               "exiting without finalising Python", left, drain);
        return -1;
    }
    sw_python_acquire_main();
    sw_python_fini();
    sw_log(SW_LOG_INFO, NULL, "stopped");
    return 0;
}

static void cleanup(sw_server_t *s)
{
    for (size_t i = 0; i < s->n_listeners; i++) {
        sw_listener_t *ls = &s->listeners[i];
        if (ls->fd >= 0)
            close(ls->fd);
        if (ls->addr.is_unix && ls->bound_here && !s->handed_over)
            unlink(ls->addr.text + 5);   /* "unix:" */
        sw_route_free(&ls->routes);
    }
    free(s->listeners);
    free(s->listener_names);
    if (s->admin_fd >= 0)
        close(s->admin_fd);
    if (s->admin_listen_fd >= 0)
        close(s->admin_listen_fd);
    /* Socket files: only those a subwsgi created are removed (one systemd
     * holds must stay: the socket unit keeps listening on it for the next
     * start). After a handover the successor owns them, and the pid file. */
    if (s->cfg->admin && strncmp(s->cfg->admin, "unix:", 5) == 0 && s->admin_bound_here &&
        !s->handed_over)
        unlink(s->cfg->admin + 5);
    if (s->pid_file_written && !s->handed_over)
        unlink(s->cfg->pid_file);
}

static void free_all(sw_server_t *s)
{
    for (size_t i = 0; i < s->n_apps; i++)
        sw_app_unref(s->apps[i]);
    free(s->apps);
    for (size_t i = 0; i < s->n_old_cfgs; i++)
        sw_config_free(s->old_cfgs[i]);
    free(s->old_cfgs);
    sw_config_free(s->cfg);
    free(s->handover_by);
    free(s->recycle_user);
    s->handover_by = s->recycle_user = NULL;   /* the struct lives until _exit */
    pthread_rwlock_destroy(&s->lock);
}

int sw_server_run(sw_config_t *cfg, int quick)
{
    static sw_server_t server;   /* lives until _exit: threads may still look */
    sw_server_t *s = &server;
    *s = (sw_server_t){.cfg = cfg, .quick = quick, .admin_fd = -1, .admin_listen_fd = -1};
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->recycle_lock, NULL);
    pthread_cond_init(&s->recycle_done_cond, NULL);
    s->main_thread = pthread_self();
    the_server = s;
    clock_gettime(CLOCK_MONOTONIC, &s->started);
    clock_gettime(CLOCK_REALTIME, &s->started_real);
    char err[512] = "";

    if (sw_log_open(cfg->error_log, cfg->access_log, err, sizeof err) < 0) {
        fprintf(stderr, "subwsgi: %s\n", err);
        free_all(s);
        return 2;
    }
    /* Every thread inherits this mask; only the main thread takes the
     * signals, with sigwait. */
    sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    s->apps = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof *s->apps);
    if (!s->apps)
        goto fail;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        s->apps[i] = sw_app_new(&cfg->apps[i], cfg);
        if (!s->apps[i])
            goto fail;
        s->n_apps++;
    }
    if (build_routes(s, err, sizeof err) < 0 || bind_all(s, err, sizeof err) < 0)
        goto fail;
    restore_state(s);
    if (cfg->pid_file) {
        if (write_pid_file(cfg->pid_file, err, sizeof err) < 0)
            goto fail;
        s->pid_file_written = 1;
    }
    if (cfg->user && drop_privileges(cfg->user, err, sizeof err) < 0)
        goto fail;
    sw_host_worker_after_privileges();
    /* Apps get this process's user: root, without [server] user, unless it
     * is a host-mode worker (its master made it the owner's run-as). */
    if (geteuid() == 0 && !sw_host_is_worker())
        sw_log(SW_LOG_WARN, NULL, "running as root: every app runs as root too; set "
               "[server] user (single mode) or use mode = host with a run-as per owner");

    if (sw_python_init(cfg, err, sizeof err) < 0)
        goto fail;
    sw_python_describe(s->python_desc, sizeof s->python_desc);
    sw_log(SW_LOG_INFO, NULL, "subwsgi %s, %s", SW_VERSION, s->python_desc);
    sw_python_release_main();

    /* Before any other thread starts: they read these without a lock. */
    atomic_store(&s->rss_budget, (uint64_t)(cfg->recycle_rss * 1024 * 1024));
    sw_app_set_process_reload(recycle_for_reload, over_budget);
    if (sw_watch_start(err, sizeof err) < 0)
        goto fail_python;
    /* The loader creates (and will end) every interpreter. */
    /* A successor's first load is the handover's: recorded as such, for the
     * user who asked (the control panel shows it as the last reload). */
    /* A host-mode worker is started like a successor (host.h) but its
     * first load is a load. */
    int successor = sw_handover_is_successor() && !sw_host_is_worker();
    if (sw_loader_start(s->apps, s->n_apps,
                        successor ? (s->handover_by ? s->handover_by : "-") : "(start-up)",
                        successor ? "handover" : "load", err, sizeof err) < 0)
        goto fail_started;
    sw_io_limits_t limits = {
        .max_header_size = cfg->max_header_size,
        .max_body_size = cfg->max_body_size,
        .header_timeout = cfg->header_timeout,
        .body_buffer_size = cfg->body_buffer_size,
        .body_timeout = cfg->body_timeout,
        .body_temp_dir = cfg->body_temp_dir,
    };
    s->io = sw_io_start(s->listeners, s->n_listeners, &limits, &s->lock, err, sizeof err);
    if (!s->io)
        goto fail_started;
    if (s->admin_fd >= 0) {
        sw_backend_t backend = sw_backend_server(s);
        s->admin = sw_admin_start(s->admin_fd, &backend, cfg->admin_tls_cert,
                                  cfg->admin_tls_key, err, sizeof err);
        if (!s->admin)
            goto fail_started;
        s->admin_fd = -1;
    }
    atomic_store(&s->rss_baseline, rss_bytes());
    sw_log(SW_LOG_INFO, NULL, "ready: %zu apps, %zu SCGI listeners", s->n_apps, s->n_listeners);
    if (sw_handover_is_successor())
        sw_handover_ready();
    else
        sw_handover_notify("READY=1");

    sw_host_worker_serving(s);
    serve_until_stopped(s);
    sw_host_worker_stopping();
    if (!s->handed_over)
        sw_handover_notify("STOPPING=1");
    int rc = shutdown_gracefully(s);
    cleanup(s);
    if (rc == 0)
        free_all(s);
    sw_log_close();
    /* With workers still stuck in Python, a normal exit would run
     * destructors under their feet: leave at once. The stop was asked for,
     * so the exit status is 0 either way. */
    fflush(NULL);
    _exit(0);

fail_started:
    sw_log(SW_LOG_ERROR, NULL, "%s", err);
    if (sw_handover_is_successor()) {
        /* Tell the old process why, with the app's traceback. */
        char *why = NULL;
        for (size_t i = 0; i < s->n_apps && !why; i++) {
            sw_app_t *a = s->apps[i];
            pthread_mutex_lock(&a->lock);
            if (a->state == SW_APP_FAILED && asprintf(&why, "app %s failed to load:\n%s", a->name,
                                                      a->last.error ? a->last.error : "") < 0)
                why = NULL;
            pthread_mutex_unlock(&a->lock);
        }
        sw_handover_failed(why ? why : err);
        free(why);
    }
    shutdown_gracefully(s);
    cleanup(s);
    fflush(NULL);
    _exit(2);
fail_python:
    sw_python_acquire_main();
    sw_python_fini();
fail:
    sw_log(SW_LOG_ERROR, NULL, "%s", err[0] ? err : "start-up failed");
    cleanup(s);
    free_all(s);
    return 2;
}

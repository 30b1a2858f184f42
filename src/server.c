/* server.c: the server's life from start-up to exit: builds apps and
 * listeners, binds, drops privileges, starts Python and the apps, starts the
 * I/O thread and the admin port, then waits for signals in the main thread
 * (sigwait: no Python signal handlers) and shuts down gracefully. */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "http.h"
#include "interp.h"
#include "io.h"
#include "listen.h"
#include "log.h"

/* Send/receive timeout of a worker's client socket: a vanished client must
 * not hold a worker for ever. */
#define SOCKET_TIMEOUT_S 60.0

typedef struct {
    sw_config_t *cfg;
    sw_app_t **apps;
    size_t n_apps;
    sw_listener_t *listeners;
    size_t n_listeners;
    int admin_fd;
    sw_admin_t *admin;
    sw_io_t *io;
    int python_up;
    int pid_file_written;
} server_t;

static int build_listeners(server_t *s, char *err, size_t errlen);
static int bind_all(server_t *s, char *err, size_t errlen);
static int drop_privileges(const char *user, char *err, size_t errlen);
static int write_pid_file(const char *path, char *err, size_t errlen);
static void wait_for_stop(void);
static int shutdown_gracefully(server_t *s);
static void cleanup(server_t *s);

static sw_listener_t *listener_for(server_t *s, const char *text)
{
    for (size_t i = 0; i < s->n_listeners; i++)
        if (strcmp(s->listeners[i].addr.text, text) == 0)
            return &s->listeners[i];
    return NULL;
}

static sw_listener_t *add_listener(server_t *s, const char *spec, char *err, size_t errlen)
{
    sw_addr_t a;
    if (sw_addr_parse(spec, &a, err, errlen) < 0)
        return NULL;
    if (listener_for(s, a.text)) {
        snprintf(err, errlen, "listener %s is configured twice", a.text);
        return NULL;
    }
    sw_listener_t *grown = realloc(s->listeners, (s->n_listeners + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->listeners = grown;
    sw_listener_t *ls = &s->listeners[s->n_listeners++];
    *ls = (sw_listener_t){.addr = a, .fd = -1};
    return ls;
}

/* Shared listeners route every app's mounts; an app's own `scgi =`
 * listeners route only to it (its mounts give SCRIPT_NAME, and a root
 * catch-all takes every other path). */
static int build_listeners(server_t *s, char *err, size_t errlen)
{
    const sw_config_t *cfg = s->cfg;
    size_t n_shared = cfg->scgi.n;
    for (size_t i = 0; i < n_shared; i++)
        if (!add_listener(s, cfg->scgi.items[i], err, errlen))
            return -1;
    for (size_t i = 0; i < n_shared; i++)
        for (size_t a = 0; a < s->n_apps; a++)
            for (size_t m = 0; m < s->apps[a]->cfg->n_mounts; m++) {
                const sw_mount_t *mt = &s->apps[a]->cfg->mounts[m];
                if (sw_route_add(&s->listeners[i].routes, mt->host, mt->prefix, s->apps[a]) < 0)
                    goto nomem;
            }
    for (size_t a = 0; a < s->n_apps; a++) {
        const sw_app_config_t *ac = s->apps[a]->cfg;
        for (size_t k = 0; k < ac->scgi.n; k++) {
            sw_listener_t *ls = add_listener(s, ac->scgi.items[k], err, errlen);
            if (!ls)
                return -1;
            for (size_t m = 0; m < ac->n_mounts; m++)
                if (sw_route_add(&ls->routes, ac->mounts[m].host, ac->mounts[m].prefix,
                                 s->apps[a]) < 0)
                    goto nomem;
            if (sw_route_add(&ls->routes, NULL, "", s->apps[a]) < 0)
                goto nomem;
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int bind_all(server_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_listeners; i++) {
        sw_listener_t *ls = &s->listeners[i];
        ls->fd = sw_listen_bind(&ls->addr, s->cfg->socket_mode, 1024, err, errlen);
        if (ls->fd < 0)
            return -1;
        sw_log(SW_LOG_INFO, NULL, "SCGI listening on %s", ls->addr.text);
    }
    if (s->cfg->admin) {
        sw_addr_t a;
        if (sw_addr_parse(s->cfg->admin, &a, err, errlen) < 0)
            return -1;
        s->admin_fd = sw_listen_bind(&a, s->cfg->socket_mode, 64, err, errlen);
        if (s->admin_fd < 0)
            return -1;
        sw_log(SW_LOG_INFO, NULL, "admin listening on %s", a.text);
    }
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

static sigset_t handled_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

static void wait_for_stop(void)
{
    sigset_t set = handled_signals();
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            sw_log(SW_LOG_WARN, NULL, "SIGHUP: re-reading the config is not supported yet; ignored");
            continue;
        }
        sw_log(SW_LOG_INFO, NULL, "%s: shutting down, draining in-flight requests",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
}

/* Returns the exit code. */
static int shutdown_gracefully(server_t *s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double drain = s->cfg->drain_timeout;
    deadline.tv_sec += (time_t)drain;
    deadline.tv_nsec += (long)((drain - (double)(time_t)drain) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    sw_admin_stop(s->admin);
    s->admin = NULL;
    if (s->io) {
        sw_io_stop(s->io, drain);
        s->io = NULL;
    }
    int stuck = 0;
    for (size_t i = 0; i < s->n_apps; i++) {
        int left = sw_app_drain(s->apps[i], &deadline);
        if (left > 0)
            sw_log(SW_LOG_WARN, s->apps[i]->name,
                   "%d workers still busy after drain-timeout (%.0fs)", left, drain);
        stuck += left;
    }
    if (stuck) {
        /* Ending an interpreter with a running thread is fatal (FACTS.md
         * section 6): leave Python as it is and exit. */
        sw_log(SW_LOG_WARN, NULL, "exiting without finalising Python");
        return -1;
    }
    sw_python_acquire_main();
    for (size_t i = 0; i < s->n_apps; i++)
        sw_app_end(s->apps[i]);
    sw_python_fini();
    s->python_up = 0;
    sw_log(SW_LOG_INFO, NULL, "stopped");
    return 0;
}

static void cleanup(server_t *s)
{
    for (size_t i = 0; i < s->n_listeners; i++) {
        sw_listener_t *ls = &s->listeners[i];
        if (ls->fd >= 0)
            close(ls->fd);
        if (ls->addr.is_unix)
            unlink(ls->addr.text + 5);   /* "unix:" */
        sw_route_free(&ls->routes);
    }
    free(s->listeners);
    if (s->cfg->admin && strncmp(s->cfg->admin, "unix:", 5) == 0)
        unlink(s->cfg->admin + 5);
    if (s->pid_file_written)
        unlink(s->cfg->pid_file);
}

int sw_server_run(sw_config_t *cfg)
{
    server_t s = {.cfg = cfg, .admin_fd = -1};
    char err[512] = "";
    int code = 2;

    if (sw_log_open(cfg->error_log, cfg->access_log, err, sizeof err) < 0) {
        fprintf(stderr, "subwsgi: %s\n", err);
        sw_config_free(cfg);
        return 2;
    }
    /* Every thread inherits this mask; only the main thread takes the
     * signals, with sigwait. */
    sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    s.apps = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof *s.apps);
    if (!s.apps)
        goto fail;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        s.apps[i] = sw_app_new(&cfg->apps[i], (size_t)cfg->queue_size, cfg->request_timeout);
        if (!s.apps[i])
            goto fail;
        s.n_apps++;
    }
    if (build_listeners(&s, err, sizeof err) < 0 || bind_all(&s, err, sizeof err) < 0)
        goto fail;
    if (cfg->pid_file) {
        if (write_pid_file(cfg->pid_file, err, sizeof err) < 0)
            goto fail;
        s.pid_file_written = 1;
    }
    if (cfg->user && drop_privileges(cfg->user, err, sizeof err) < 0)
        goto fail;

    if (sw_python_init(cfg, err, sizeof err) < 0)
        goto fail;
    s.python_up = 1;
    char pyver[128];
    sw_python_describe(pyver, sizeof pyver);
    sw_log(SW_LOG_INFO, NULL, "subwsgi %s, %s", SW_VERSION, pyver);
    for (size_t i = 0; i < s.n_apps; i++) {
        if (sw_app_load(s.apps[i]) < 0) {
            snprintf(err, sizeof err, "app %s failed to load", s.apps[i]->name);
            goto fail_python;
        }
    }
    sw_python_release_main();

    sw_io_limits_t limits = {
        .max_header_size = cfg->max_header_size,
        .max_body_size = cfg->max_body_size,
        .header_timeout = cfg->header_timeout,
        .socket_timeout = SOCKET_TIMEOUT_S,
    };
    s.io = sw_io_start(s.listeners, s.n_listeners, &limits, err, sizeof err);
    if (!s.io)
        goto fail_started;
    if (s.admin_fd >= 0) {
        s.admin = sw_admin_start(s.admin_fd, err, sizeof err);
        if (!s.admin)
            goto fail_started;
        s.admin_fd = -1;
    }
    sw_log(SW_LOG_INFO, NULL, "ready: %zu apps, %zu SCGI listeners", s.n_apps, s.n_listeners);

    wait_for_stop();
    shutdown_gracefully(&s);   /* exit 0 even when workers were stuck: the stop was asked for */
    code = 0;
    cleanup(&s);
    for (size_t i = 0; i < s.n_apps; i++)
        sw_app_free(s.apps[i]);
    free(s.apps);
    sw_config_free(cfg);
    sw_log_close();
    /* With workers still stuck in Python, a normal exit would run
     * destructors under their feet: leave at once. */
    fflush(NULL);
    _exit(code);

fail_started:
    sw_log(SW_LOG_ERROR, NULL, "%s", err);
    shutdown_gracefully(&s);
    cleanup(&s);
    _exit(2);
fail_python:
    /* Apps already loaded have workers blocked on their queues: let them
     * leave before the process does. */
    sw_python_release_main();
    sw_log(SW_LOG_ERROR, NULL, "%s", err);
    shutdown_gracefully(&s);
    cleanup(&s);
    _exit(2);
fail:
    sw_log(SW_LOG_ERROR, NULL, "%s", err[0] ? err : "start-up failed");
    if (s.admin_fd >= 0)
        close(s.admin_fd);
    cleanup(&s);
    for (size_t i = 0; i < s.n_apps; i++)
        sw_app_free(s.apps[i]);
    free(s.apps);
    if (s.python_up)
        sw_python_fini();
    sw_config_free(cfg);
    return code;
}

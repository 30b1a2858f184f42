/* backend_server.c: the admin backend (backend.h) of single mode, on this
 * process's server and apps, as admin/http.c used them before the backend
 * interface. Each call takes the server read lock (server.h, rank 1) only
 * while it reads the app list or the config, never while a command waits:
 * a pinned app is a counted reference (app.h), and its owner string is
 * from a config, which stays alive until exit (server.h). So a SIGHUP (a
 * write lock), and every signal queued behind it, never waits for an admin
 * request. Nothing here takes a GIL. */
#include "backend_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applog.h"
#include "auth.h"
#include "status.h"

#define DESTROY_EXTRA_WAIT_S 5.0   /* destroy waits drain-timeout + this by default */

static int authenticate(void *ctx, const char *authorization, sw_user_config_t *out);
static json_t *apps(void *ctx, const sw_user_config_t *user);
static sw_backend_app_t *app_find(void *ctx, const char *name, const char **owner);
static void app_release(void *ctx, sw_backend_app_t *h);
static json_t *app_json(void *ctx, sw_backend_app_t *h);
static json_t *app_log(void *ctx, sw_backend_app_t *h, size_t lines);
static sw_cmd_result_t app_reload(void *ctx, sw_backend_app_t *h, const char *user,
                                  double wait_s, char *msg, size_t msglen);
static sw_cmd_result_t app_destroy(void *ctx, sw_backend_app_t *h, const char *user,
                                   double wait_s, char *msg, size_t msglen);
static json_t *server_json(void *ctx);
static sw_cmd_result_t recycle(void *ctx, const char *owner, const char *user, double wait_s,
                               char *msg, size_t msglen);
static char *metrics(void *ctx);
static json_t *status_json(sw_app_t *app);
static sw_app_t *app_of(sw_backend_app_t *h);

sw_backend_t sw_backend_server(sw_server_t *s)
{
    return (sw_backend_t){
        .ctx = s,
        .quick = sw_server_is_quick(s),
        .recycle_by_owner = 0,
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

/* The read lock guards the users (a SIGHUP replaces the config); what
 * leaves it is a copy. */
static int authenticate(void *ctx, const char *authorization, sw_user_config_t *out)
{
    sw_server_t *s = ctx;
    *out = (sw_user_config_t){0};
    sw_server_read_lock(s);
    const sw_user_config_t *u = sw_auth_user(sw_server_config(s), authorization);
    if (u) {
        out->name = strdup(u->name ? u->name : "");
        out->role = u->role;
    }
    sw_server_read_unlock(s);
    return out->name ? 0 : -1;
}

/* One read lock for the whole list: the apps of one config, in its order. */
static json_t *apps(void *ctx, const sw_user_config_t *user)
{
    sw_server_t *s = ctx;
    json_t *arr = json_array();
    sw_server_read_lock(s);
    for (size_t i = 0, n = sw_server_n_apps(s); arr && i < n; i++) {
        sw_app_t *app = sw_server_app(s, i);
        if (app && sw_auth_can_see(user, app) &&
            json_array_append_new(arr, status_json(app)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sw_server_read_unlock(s);
    return arr;
}

/* The handle is the app itself, with a reference of its own; owner is
 * read once, under the lock that SIGHUP changes the apps under. */
static sw_backend_app_t *app_find(void *ctx, const char *name, const char **owner)
{
    sw_server_t *s = ctx;
    sw_server_read_lock(s);
    sw_app_t *app = sw_server_find_app(s, name);
    if (app) {
        sw_app_ref(app);
        const sw_app_config_t *cfg = app->cfg;
        *owner = cfg ? cfg->owner : NULL;
    }
    sw_server_read_unlock(s);
    return (sw_backend_app_t *)(void *)app;
}

static void app_release(void *ctx, sw_backend_app_t *h)
{
    (void)ctx;
    sw_app_unref(app_of(h));
}

static json_t *app_json(void *ctx, sw_backend_app_t *h)
{
    (void)ctx;
    return status_json(app_of(h));
}

/* The copy is taken under the ring's lock only. */
static json_t *app_log(void *ctx, sw_backend_app_t *h, size_t want)
{
    (void)ctx;
    sw_app_t *app = app_of(h);
    sw_applog_line_t *lines;
    size_t n;
    if (sw_applog_read(app->log, want, &lines, &n) != 0)
        return NULL;
    json_t *j = sw_status_log_json(app->name, lines, n);
    sw_applog_lines_free(lines, n);
    return j;
}

static sw_cmd_result_t app_reload(void *ctx, sw_backend_app_t *h, const char *user,
                                  double wait_s, char *msg, size_t msglen)
{
    (void)ctx;
    return sw_app_reload(app_of(h), user, wait_s, msg, msglen);
}

static sw_cmd_result_t app_destroy(void *ctx, sw_backend_app_t *h, const char *user,
                                   double wait_s, char *msg, size_t msglen)
{
    (void)ctx;
    sw_app_t *app = app_of(h);
    if (wait_s < 0)
        wait_s = app->drain_timeout + DESTROY_EXTRA_WAIT_S;
    return sw_app_destroy(app, user, wait_s, msg, msglen);
}

/* Under the lock: the totals walk the apps, and the listener names are
 * borrowed from the server. */
static json_t *server_json(void *ctx)
{
    sw_server_t *s = ctx;
    sw_server_info_t info;
    sw_server_read_lock(s);
    sw_server_info(s, &info);
    json_t *j = sw_status_server_json(&info);
    sw_server_read_unlock(s);
    return j;
}

/* sw_server_recycle waits under recycle_lock's condition only. */
static sw_cmd_result_t recycle(void *ctx, const char *owner, const char *user, double wait_s,
                               char *msg, size_t msglen)
{
    if (owner) {   /* recycle_by_owner is 0: http.c never asks this */
        snprintf(msg, msglen, "recycling one owner's process needs mode = host");
        return SW_CMD_CONFLICT;
    }
    return sw_server_recycle(ctx, user, wait_s, msg, msglen);
}

static char *metrics(void *ctx)
{
    sw_server_t *s = ctx;
    char *text = NULL;
    sw_server_read_lock(s);
    size_t n = sw_server_n_apps(s);
    sw_app_status_t *st = calloc(n ? n : 1, sizeof *st);
    if (st) {
        for (size_t i = 0; i < n; i++)
            sw_app_get_status(sw_server_app(s, i), &st[i]);
        sw_server_info_t info;
        sw_server_info(s, &info);
        text = sw_status_metrics(st, n, &info);
        for (size_t i = 0; i < n; i++)
            sw_app_status_free(&st[i]);
        free(st);
    }
    sw_server_read_unlock(s);
    return text;
}

/* APP of app now (a new reference, or NULL). Takes app->lock briefly. */
static json_t *status_json(sw_app_t *app)
{
    sw_app_status_t st;
    sw_app_get_status(app, &st);
    json_t *j = sw_status_app_json(&st);
    sw_app_status_free(&st);
    return j;
}

static sw_app_t *app_of(sw_backend_app_t *h)
{
    return (sw_app_t *)(void *)h;
}

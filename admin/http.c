/* http.c: the admin HTTP port (DESIGN section 6): routes from one table
 * {method, path pattern, handler, permission}, the caller's token checked
 * from the row before dispatch, JSON bodies owned by their responses, every
 * error through one emitter, an audit line for every state-changing request.
 * libmicrohttpd runs a thread per connection, so a handler that waits for a
 * reload (?wait=) holds up no other request. Handlers never take a GIL.
 * It also serves the control panel's files (GET / and /panel/NAME), compiled
 * in from admin/panel/ (panel_assets.h), with their security headers. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "log.h"
#include "panel_assets.h"
#include "status.h"

#define BODY_LIMIT (64 * 1024)     /* request bodies: none is needed; 413 beyond */
#define WAIT_MAX_S 3600.0          /* ?wait= bounds: 0 .. 1 hour */
#define DESTROY_EXTRA_WAIT_S 5.0   /* destroy waits drain-timeout + this */
#define PEM_MAX (1024 * 1024)
#define NAME_MAX_LEN 256           /* an app name segment; longer ones match no app */
#define JSON_TYPE "application/json"

struct sw_admin {
    struct MHD_Daemon *daemon;
    sw_server_t *server;
    char *tls_cert;                /* PEM text, kept for the daemon's life */
    char *tls_key;
    size_t tls_key_len;
};

typedef enum { PERM_NONE, PERM_USER, PERM_ADMIN } perm_t;

/* One request as a handler sees it. */
typedef struct {
    struct MHD_Connection *conn;
    sw_admin_t *admin;
    const sw_user_config_t *user;  /* &user_copy once authenticated */
    sw_user_config_t user_copy;    /* name and role, copied from the config */
    char user_name[64];
    int locked;                    /* holds the server read lock (see unlock_to_wait) */
    char name[NAME_MAX_LEN];       /* the '*' segment of the path, "" if none
                                    * or too long */
    unsigned status;               /* the status queued, for the audit line */
} req_t;

typedef enum MHD_Result (*handler_fn)(req_t *rq);

typedef struct {
    const char *method;            /* a GET row also answers HEAD */
    const char *pattern;           /* '*' matches one non-empty path segment */
    handler_fn handler;
    perm_t perm;
    const char *audit;             /* action named in the audit line, or NULL */
} route_t;

/* Per request, from libmicrohttpd's first call until it completes. */
typedef struct {
    size_t body_bytes;
    int too_large;
} conn_state_t;

static enum MHD_Result h_healthz(req_t *rq);
static enum MHD_Result h_panel(req_t *rq);
static enum MHD_Result h_panel_file(req_t *rq);
static enum MHD_Result h_apps(req_t *rq);
static enum MHD_Result h_app(req_t *rq);
static enum MHD_Result h_reload(req_t *rq);
static enum MHD_Result h_destroy(req_t *rq);
static enum MHD_Result h_server(req_t *rq);
static enum MHD_Result h_recycle(req_t *rq);
static enum MHD_Result h_metrics(req_t *rq);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls);
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe);
static void on_mhd_log(void *cls, const char *fmt, va_list ap);
static enum MHD_Result route(sw_admin_t *a, struct MHD_Connection *conn, const char *url,
                             const char *method, int too_large);
static int match(const char *pattern, const char *path, char *name, size_t namelen);
static int method_ok(const char *row_method, const char *method);
static enum MHD_Result respond(req_t *rq, unsigned status, char *body, const char *content_type,
                               const char *const *headers);
static enum MHD_Result queue(req_t *rq, unsigned status, struct MHD_Response *resp,
                             const char *content_type, const char *const *headers);
static enum MHD_Result respond_panel_file(req_t *rq, const char *name);
static enum MHD_Result respond_json(req_t *rq, unsigned status, json_t *j,
                                    const char *const *headers);
static enum MHD_Result respond_error(req_t *rq, unsigned status, const char *code,
                                     const char *message, json_t *app,
                                     const char *const *headers);
static enum MHD_Result respond_not_found_app(req_t *rq);
static enum MHD_Result respond_too_large(req_t *rq);
static enum MHD_Result respond_command(req_t *rq, sw_app_t *app, sw_cmd_result_t r,
                                       const char *msg);
static sw_app_t *visible_app(req_t *rq);
static json_t *app_json(sw_app_t *app);
static int parse_wait(req_t *rq, double dflt, double *out);
static void audit(const req_t *rq, const char *action, double ms);
static void unlock_to_wait(req_t *rq, sw_app_t *app);
static const char *result_word(unsigned status);
static void clean_name(const char *in, char *out, size_t outlen);
static double now_ms(void);
static char *read_pem(const char *path, size_t *len, char *err, size_t errlen);
static const char *quick_mode_refusal(req_t *rq, const char *method);
static int same_origin(const char *origin, const char *host);

/* The whole API. State changes only by POST. perm decides, before the
 * handler runs, whether a token is needed (user) and whether it must be an
 * admin's; what a user may see inside a row is the handler's (visible_app). */
static const route_t routes[] = {
    {"GET", "/healthz", h_healthz, PERM_NONE, NULL},
    {"GET", "/", h_panel, PERM_NONE, NULL},
    {"GET", "/panel/*", h_panel_file, PERM_NONE, NULL},
    {"GET", "/v1/apps", h_apps, PERM_USER, NULL},
    {"GET", "/v1/apps/*", h_app, PERM_USER, NULL},
    {"POST", "/v1/apps/*/reload", h_reload, PERM_USER, "reload"},
    {"POST", "/v1/apps/*/destroy", h_destroy, PERM_USER, "destroy"},
    {"GET", "/v1/server", h_server, PERM_ADMIN, NULL},
    {"POST", "/v1/server/recycle", h_recycle, PERM_ADMIN, "recycle"},
    {"GET", "/metrics", h_metrics, PERM_ADMIN, NULL},
};

/* Quick mode has no tokens: the listener is loopback or a unix socket and
 * every caller is an admin. */
static const sw_user_config_t quick_user = {.name = "(quick)", .role = SW_ROLE_ADMIN};

/* The control panel's files (admin/panel/) carry these on top of respond()'s
 * Cache-Control: no-store and nosniff. The page's script and style are
 * files from this origin, so the policy allows no inline code at all: data
 * from the API that slipped into markup could not run. fetch() goes only to
 * this origin; the page may not be framed (clickjacking a Destroy button)
 * and sends no Referer. */
static const char *const panel_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options", "DENY",
    "Referrer-Policy", "no-referrer",
    NULL};

/* ---- start and stop ---------------------------------------------------------- */

/* On failure listen_fd is left to the caller (server.c closes it): this
 * gives libmicrohttpd a duplicate, because libmicrohttpd 0.9.75 closes the
 * socket it was given on some of its failure paths and not on others. */
sw_admin_t *sw_admin_start(int listen_fd, sw_server_t *server, const char *tls_cert,
                           const char *tls_key, char *err, size_t errlen)
{
    if ((tls_cert == NULL) != (tls_key == NULL)) {
        snprintf(err, errlen, "admin TLS needs both a certificate and a key");
        return NULL;
    }
    if (tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS");
        return NULL;
    }
    sw_admin_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->server = server;
    size_t cert_len = 0;
    if (tls_cert) {
        a->tls_cert = read_pem(tls_cert, &cert_len, err, errlen);
        if (!a->tls_cert)
            goto fail;
        a->tls_key = read_pem(tls_key, &a->tls_key_len, err, errlen);
        if (!a->tls_key)
            goto fail;
    }
    int fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        snprintf(err, errlen, "admin socket: %s", strerror(errno));
        goto fail;
    }
    struct MHD_OptionItem tls_ops[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_ops[] = {{MHD_OPTION_END, 0, NULL}};
    /* Thread per connection: a handler blocked in ?wait= holds up no other
     * request. poll, not select: fds above FD_SETSIZE are common in a busy
     * server. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     (tls_cert ? MHD_USE_TLS : 0);
    /* The logger first: libmicrohttpd logs option errors as it parses. */
    a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                 MHD_OPTION_ARRAY, tls_cert ? tls_ops : no_ops,
                                 MHD_OPTION_END);
    if (!a->daemon) {
        /* fd may or may not have been closed by libmicrohttpd: leave it. */
        snprintf(err, errlen, "libmicrohttpd could not start on the admin socket%s",
                 tls_cert ? " (check admin-tls-cert and admin-tls-key)" : "");
        goto fail;
    }
    close(listen_fd);   /* the daemon serves on the duplicate */
    return a;

fail:
    if (a->tls_key)
        explicit_bzero(a->tls_key, a->tls_key_len);
    free(a->tls_key);
    free(a->tls_cert);
    free(a);
    return NULL;
}

void sw_admin_stop(sw_admin_t *admin)
{
    if (!admin)
        return;
    /* Stop accepting, then give answers in flight (a recycle's, sent just
     * before this process leaves) up to 2 s to be sent before the
     * connections are closed. */
    MHD_socket fd = MHD_quiesce_daemon(admin->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (int i = 0; i < 200; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(admin->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        struct timespec nap = {0, 10000000L};
        nanosleep(&nap, NULL);
    }
    /* Joins the connection threads, so it returns once every handler has
     * (a waiting reload or destroy ends with its wait). */
    MHD_stop_daemon(admin->daemon);
    if (admin->tls_key)
        explicit_bzero(admin->tls_key, admin->tls_key_len);
    free(admin->tls_key);
    free(admin->tls_cert);
    free(admin);
}

/* ---- dispatch ------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    sw_admin_t *a = cls;
    conn_state_t *cs = *req_cls;
    if (!cs) {
        /* First call: headers only. A response can be queued now or once
         * the whole request is in, not in between; so a declared body over
         * the limit is refused now, before it is read. */
        cs = calloc(1, sizeof *cs);
        if (!cs)
            return MHD_NO;
        *req_cls = cs;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > BODY_LIMIT)
            return route(a, conn, url, method, 1);
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Bodies are ignored: count them (chunked ones have no length). */
        cs->body_bytes += *upload_data_size;
        if (cs->body_bytes > BODY_LIMIT)
            cs->too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return route(a, conn, url, method, cs->too_large);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\r\n")] = '\0';
    sw_log(SW_LOG_WARN, NULL, "admin: %s", buf);
}

/* Finds the row, then decides auth from it, then runs the handler; a body
 * over the limit (too_large) answers 413 in the handler's place. */
static enum MHD_Result route(sw_admin_t *a, struct MHD_Connection *conn, const char *url,
                             const char *method, int too_large)
{
    req_t rq = {.conn = conn, .admin = a};
    const route_t *row = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, url, rq.name, sizeof rq.name))
            continue;
        if (method_ok(routes[i].method, method)) {
            row = &routes[i];
            break;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s%s", used ? ", " : "",
                 routes[i].method, strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
    if (!row && allow[0]) {
        const char *hdr[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
        return respond_error(&rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                             "this path does not take that method", NULL, hdr);
    }
    if (!row)
        return respond_error(&rq, MHD_HTTP_NOT_FOUND, "not_found", "no such resource", NULL,
                             NULL);
    if (row->perm == PERM_NONE)
        return too_large ? respond_too_large(&rq) : row->handler(&rq);

    double t0 = now_ms();
    enum MHD_Result rc;
    /* The read lock guards the config (users) and the set of apps; the
     * user found and any app looked up stay valid until it is released. */
    sw_server_read_lock(a->server);
    const char *refusal = NULL;
    if (sw_server_is_quick(a->server)) {
        rq.user = &quick_user;
        refusal = quick_mode_refusal(&rq, method);
    } else {
        const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_AUTHORIZATION);
        rq.user = sw_auth_user(sw_server_config(a->server), authz);
    }
    rq.locked = 1;
    if (rq.user) {
        /* The caller's name and role outlive the lock (a SIGHUP may
         * replace the config while a handler waits). */
        snprintf(rq.user_name, sizeof rq.user_name, "%s", rq.user->name ? rq.user->name : "");
        rq.user_copy = (sw_user_config_t){.name = rq.user_name, .role = rq.user->role};
        rq.user = &rq.user_copy;
    }
    if (refusal) {
        sw_log(SW_LOG_WARN, NULL, "admin: refused %s %s: %s", method, url, refusal);
        rc = respond_error(&rq, MHD_HTTP_FORBIDDEN, "forbidden", refusal, NULL, NULL);
    } else if (!rq.user) {
        const char *hdr[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer", NULL};
        rc = respond_error(&rq, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                           "a valid token is needed: Authorization: Bearer TOKEN", NULL, hdr);
    } else if (row->perm == PERM_ADMIN && rq.user->role != SW_ROLE_ADMIN) {
        rc = respond_error(&rq, MHD_HTTP_FORBIDDEN, "forbidden", "this needs an admin token",
                           NULL, NULL);
    } else if (too_large) {
        rc = respond_too_large(&rq);
    } else {
        rc = row->handler(&rq);
    }
    if (row->audit)
        audit(&rq, row->audit, now_ms() - t0);
    if (rq.locked)
        sw_server_read_unlock(a->server);
    return rc;
}

/* Whether a browser's Origin ("http://HOST[:PORT]", or "null") names host,
 * the request's Host header. */
static int same_origin(const char *origin, const char *host)
{
    const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                             : NULL;
    return rest && host && strcasecmp(rest, host) == 0;
}

/* Quick mode has no tokens, so a browser on the same machine is the one
 * risk: a web page could make it send requests to the loopback port. Two
 * answers to that: the Host must name the loopback (a DNS-rebound name is
 * refused), and a POST that carries an Origin must come from this origin
 * (a cross-site form or fetch is refused). curl sends no Origin. With
 * tokens neither is needed: a browser never adds a bearer token by itself.
 * Returns NULL, or why the request is refused. */
static const char *quick_mode_refusal(req_t *rq, const char *method)
{
    const char *host = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_HOST);
    if (host && *host) {
        size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
        static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
        int ok = 0;
        for (size_t i = 0; i < 3 && !ok; i++)
            ok = strlen(loopback[i]) == n && strncasecmp(host, loopback[i], n) == 0;
        if (!ok)
            return "quick mode answers only requests addressed to localhost";
    }
    if (strcmp(method, "POST") == 0) {
        const char *origin = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Origin");
        if (origin && !same_origin(origin, host))
            return "a cross-origin request cannot change anything in quick mode";
    }
    return NULL;
}

/* 1 when path matches pattern; the segment matched by '*' is copied into
 * name ("" when it is NAME_MAX_LEN or longer: such a name matches no app). */
static int match(const char *pattern, const char *path, char *name, size_t namelen)
{
    const char *p = pattern, *u = path;
    while (*p) {
        if (*p == '*') {
            size_t n = strcspn(u, "/");
            if (n == 0)
                return 0;
            if (n < namelen) {
                memcpy(name, u, n);
                name[n] = '\0';
            } else {
                name[0] = '\0';
            }
            u += n;
            p++;
            continue;
        }
        if (*p != *u)
            return 0;
        p++;
        u++;
    }
    return *u == '\0';
}

static int method_ok(const char *row_method, const char *method)
{
    if (strcmp(row_method, method) == 0)
        return 1;
    /* libmicrohttpd sends no body for HEAD. */
    return strcmp(row_method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* ---- handlers ------------------------------------------------------------------- */

static enum MHD_Result h_healthz(req_t *rq)
{
    return respond(rq, MHD_HTTP_OK, strdup("ok\n"), "text/plain; charset=utf-8", NULL);
}

/* The control panel's page; it loads /panel/panel.css and /panel/panel.js. */
static enum MHD_Result h_panel(req_t *rq)
{
    return respond_panel_file(rq, "index.html");
}

static enum MHD_Result h_panel_file(req_t *rq)
{
    return respond_panel_file(rq, rq->name);
}

/* {"apps": [APP...]}: the caller's apps, in config order. */
static enum MHD_Result h_apps(req_t *rq)
{
    sw_server_t *s = rq->admin->server;
    json_t *arr = json_array();
    for (size_t i = 0, n = sw_server_n_apps(s); arr && i < n; i++) {
        sw_app_t *app = sw_server_app(s, i);
        if (app && sw_auth_can_see(rq->user, app) &&
            json_array_append_new(arr, app_json(app)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    /* json_pack takes arr, even on failure; NULL (out of memory) is a 500. */
    return respond_json(rq, MHD_HTTP_OK, json_pack("{s:o}", "apps", arr), NULL);
}

static enum MHD_Result h_app(req_t *rq)
{
    sw_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    return respond_json(rq, MHD_HTTP_OK, app_json(app), NULL);
}

static enum MHD_Result h_reload(req_t *rq)
{
    double wait_s;
    if (parse_wait(rq, -1.0, &wait_s) != 0)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "wait must be a number of seconds from 0 to 3600", NULL, NULL);
    sw_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    char msg[512] = "";
    unlock_to_wait(rq, app);
    sw_cmd_result_t r = sw_app_reload(app, rq->user->name, wait_s, msg, sizeof msg);
    enum MHD_Result rc = respond_command(rq, app, r, msg);
    sw_app_unref(app);
    return rc;
}

static enum MHD_Result h_destroy(req_t *rq)
{
    double wait_s;
    if (parse_wait(rq, -1.0, &wait_s) != 0)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "wait must be a number of seconds from 0 to 3600", NULL, NULL);
    sw_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    if (wait_s < 0)
        wait_s = app->drain_timeout + DESTROY_EXTRA_WAIT_S;
    char msg[512] = "";
    unlock_to_wait(rq, app);
    sw_cmd_result_t r = sw_app_destroy(app, rq->user->name, wait_s, msg, sizeof msg);
    enum MHD_Result rc = respond_command(rq, app, r, msg);
    sw_app_unref(app);
    return rc;
}

static enum MHD_Result h_server(req_t *rq)
{
    sw_server_info_t info;
    sw_server_info(rq->admin->server, &info);
    return respond_json(rq, MHD_HTTP_OK, sw_status_server_json(&info), NULL);
}

static enum MHD_Result h_recycle(req_t *rq)
{
    double wait_s;
    if (parse_wait(rq, -1.0, &wait_s) != 0)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "wait must be a number of seconds from 0 to 3600", NULL, NULL);
    char msg[4096] = "";
    sw_server_t *s = rq->admin->server;
    unlock_to_wait(rq, NULL);
    sw_cmd_result_t r = sw_server_recycle(s, rq->user->name, wait_s, msg, sizeof msg);
    if (r == SW_CMD_FAILED)
        return respond_error(rq, 422, "load_failed", msg, NULL, NULL);
    if (r == SW_CMD_TIMEOUT)
        return respond_error(rq, MHD_HTTP_GATEWAY_TIMEOUT, "timeout", msg, NULL, NULL);
    sw_server_info_t info;
    sw_server_read_lock(s);   /* the app list, for the totals */
    rq->locked = 1;
    sw_server_info(s, &info);
    return respond_json(rq, r == SW_CMD_ACCEPTED ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK,
                        sw_status_server_json(&info), NULL);
}

static enum MHD_Result h_metrics(req_t *rq)
{
    sw_server_t *s = rq->admin->server;
    size_t n = sw_server_n_apps(s);
    sw_app_status_t *st = calloc(n ? n : 1, sizeof *st);
    if (!st)
        return respond_json(rq, MHD_HTTP_OK, NULL, NULL);   /* answers 500 */
    for (size_t i = 0; i < n; i++)
        sw_app_get_status(sw_server_app(s, i), &st[i]);
    sw_server_info_t info;
    sw_server_info(s, &info);
    char *text = sw_status_metrics(st, n, &info);
    for (size_t i = 0; i < n; i++)
        sw_app_status_free(&st[i]);
    free(st);
    if (!text)
        return respond_json(rq, MHD_HTTP_OK, NULL, NULL);   /* answers 500 */
    return respond(rq, MHD_HTTP_OK, text, "text/plain; version=0.0.4; charset=utf-8", NULL);
}

/* ---- responses ------------------------------------------------------------------ */

/* Queues body (malloc'd, NUL-terminated; the response owns it on every
 * path, NULL answers nothing and closes). headers: name, value, ...,
 * NULL; may be NULL. */
static enum MHD_Result respond(req_t *rq, unsigned status, char *body, const char *content_type,
                               const char *const *headers)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(strlen(body), body, free);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    return queue(rq, status, resp, content_type, headers);
}

/* Adds the headers every answer has and headers (as for respond()), queues
 * resp and releases it. */
static enum MHD_Result queue(req_t *rq, unsigned status, struct MHD_Response *resp,
                             const char *content_type, const char *const *headers)
{
    int ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) ==
                 MHD_YES &&
             MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") ==
                 MHD_YES &&
             MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
    for (size_t i = 0; ok && headers && headers[i]; i += 2)
        ok = MHD_add_response_header(resp, headers[i], headers[i + 1]) == MHD_YES;
    enum MHD_Result rc = ok ? MHD_queue_response(rq->conn, status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    if (rc == MHD_YES)
        rq->status = status;
    return rc;
}

/* A control panel file compiled into the binary (panel_assets.h), or 404. */
static enum MHD_Result respond_panel_file(req_t *rq, const char *name)
{
    for (size_t i = 0; i < sw_panel_n_assets; i++) {
        const sw_panel_asset_t *f = &sw_panel_assets[i];
        if (strcmp(f->name, name) != 0)
            continue;
        /* PERSISTENT: the bytes are static, libmicrohttpd neither copies
         * nor frees them. */
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        return queue(rq, MHD_HTTP_OK, resp, f->content_type, panel_headers);
    }
    return respond_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no such resource", NULL, NULL);
}

/* j (taken) as the compact JSON body plus a newline (for curl users); a
 * NULL j (a builder ran out of memory) answers 500. */
static enum MHD_Result respond_json(req_t *rq, unsigned status, json_t *j,
                                    const char *const *headers)
{
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body) {
        size_t len = strlen(body);
        char *nl = realloc(body, len + 2);
        if (nl) {
            memcpy(nl + len, "\n", 2);
            return respond(rq, status, nl, JSON_TYPE, headers);
        }
        free(body);
    }
    return respond(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                   strdup("{\"error\":\"internal_error\",\"message\":\"out of memory\"}\n"),
                   JSON_TYPE, NULL);
}

/* The one error emitter: {"error": CODE, "message": TEXT} plus, for a
 * command's outcome, "app": APP (app is taken; may be NULL). */
static enum MHD_Result respond_error(req_t *rq, unsigned status, const char *code,
                                     const char *message, json_t *app,
                                     const char *const *headers)
{
    /* "o*": app is taken (even on failure) and left out when NULL. */
    json_t *o = json_pack("{s:s, s:s, s:o*}", "error", code, "message", message, "app", app);
    return respond_json(rq, status, o, headers);
}

/* An app that does not exist and an app of another user answer with the
 * same bytes: nothing in the body depends on the name asked for. */
static enum MHD_Result respond_not_found_app(req_t *rq)
{
    return respond_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no such app", NULL, NULL);
}

static enum MHD_Result respond_too_large(req_t *rq)
{
    return respond_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "bad_request",
                         "the request body is over 64 KiB (no route takes a body)", NULL, NULL);
}

/* A reload's or destroy's outcome (app.h: DONE 200, ACCEPTED 202, FAILED
 * 422, TIMEOUT 504, CONFLICT 409). */
static enum MHD_Result respond_command(req_t *rq, sw_app_t *app, sw_cmd_result_t r,
                                       const char *msg)
{
    switch (r) {
    case SW_CMD_DONE:
        return respond_json(rq, MHD_HTTP_OK, app_json(app), NULL);
    case SW_CMD_ACCEPTED:
        return respond_json(rq, MHD_HTTP_ACCEPTED, app_json(app), NULL);
    case SW_CMD_FAILED:
        /* app.last_reload.error holds the error and its traceback. */
        return respond_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "load_failed",
                             msg[0] ? msg : "the new code failed to load", app_json(app),
                             NULL);
    case SW_CMD_TIMEOUT:
        return respond_error(rq, MHD_HTTP_GATEWAY_TIMEOUT, "timeout",
                             msg[0] ? msg : "not finished when the wait ended", app_json(app),
                             NULL);
    case SW_CMD_CONFLICT:
        return respond_error(rq, MHD_HTTP_CONFLICT, "conflict",
                             msg[0] ? msg : "not possible now", NULL, NULL);
    }
    return respond_json(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
}

/* ---- helpers -------------------------------------------------------------------- */

/* Before a handler waits (a reload, destroy or recycle with ?wait=): it
 * takes a reference to app (may be NULL) and lets the server lock go, so
 * that a SIGHUP, and every signal queued behind it, never waits for an
 * admin request. The handler unrefs app when done. */
static void unlock_to_wait(req_t *rq, sw_app_t *app)
{
    if (app)
        sw_app_ref(app);
    if (rq->locked) {
        sw_server_read_unlock(rq->admin->server);
        rq->locked = 0;
    }
}

/* The app named by the path if the caller may see it, else NULL (the
 * caller then answers as for a missing app). Server read lock held. */
static sw_app_t *visible_app(req_t *rq)
{
    if (!rq->name[0])
        return NULL;
    sw_app_t *app = sw_server_find_app(rq->admin->server, rq->name);
    return app && sw_auth_can_see(rq->user, app) ? app : NULL;
}

/* APP of app now (a new reference, or NULL). Takes app->lock briefly. */
static json_t *app_json(sw_app_t *app)
{
    sw_app_status_t st;
    sw_app_get_status(app, &st);
    json_t *j = sw_status_app_json(&st);
    sw_app_status_free(&st);
    return j;
}

/* ?wait=SECONDS: 1*DIGIT ["." 1*DIGIT], at most 3600. Absent: dflt.
 * Returns -1 when present but anything else (empty, negative, "1e3",
 * "inf"...). */
static int parse_wait(req_t *rq, double dflt, double *out)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, "wait", 4, &v, &len) !=
        MHD_YES) {
        *out = dflt;
        return 0;
    }
    if (!v || len == 0 || len > 16)
        return -1;
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < len && v[i] >= '0' && v[i] <= '9')
        i++, int_digits++;
    if (i < len && v[i] == '.') {
        i++;
        while (i < len && v[i] >= '0' && v[i] <= '9')
            i++, frac_digits++;
        if (frac_digits == 0)
            return -1;
    }
    if (int_digits == 0 || i != len)
        return -1;
    double w = strtod(v, NULL);
    if (!(w >= 0.0 && w <= WAIT_MAX_S))
        return -1;
    *out = w;
    return 0;
}

/* audit user=NAME app=NAME action=ACTION result=WORD duration_ms=N. Never
 * the token. Names are from the config or the URL: anything but
 * [A-Za-z0-9._-] is shown as '?', so a name cannot forge a field or a line. */
static void audit(const req_t *rq, const char *action, double ms)
{
    char user[64], app[NAME_MAX_LEN];
    clean_name(rq->user ? rq->user->name : NULL, user, sizeof user);
    clean_name(rq->name, app, sizeof app);
    sw_log(SW_LOG_INFO, NULL, "audit user=%s app=%s action=%s result=%s duration_ms=%lld", user,
           app, action, result_word(rq->status), (long long)llround(ms));
}

static const char *result_word(unsigned status)
{
    switch (status) {
    case MHD_HTTP_OK:                     return "ok";
    case MHD_HTTP_ACCEPTED:               return "accepted";
    case MHD_HTTP_UNPROCESSABLE_CONTENT:  return "failed";
    case MHD_HTTP_GATEWAY_TIMEOUT:        return "timeout";
    case MHD_HTTP_CONFLICT:               return "conflict";
    case MHD_HTTP_NOT_FOUND:              return "not_found";
    case MHD_HTTP_UNAUTHORIZED:           return "unauthorized";
    case MHD_HTTP_FORBIDDEN:              return "forbidden";
    case MHD_HTTP_BAD_REQUEST:            return "bad_request";
    case MHD_HTTP_CONTENT_TOO_LARGE:      return "too_large";
    default:                              return "error";
    }
}

static void clean_name(const char *in, char *out, size_t outlen)
{
    if (!in || !*in) {
        snprintf(out, outlen, "-");
        return;
    }
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++) {
        char c = in[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[i] = ok ? c : '?';
    }
    out[i] = '\0';
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The whole PEM file, NUL-terminated (malloc'd), or NULL with err. */
static char *read_pem(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n == 0 || n > PEM_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 !buf ? "out of memory" : n > PEM_MAX ? "larger than 1 MiB" : "cannot read it");
        if (buf)
            explicit_bzero(buf, n > PEM_MAX ? PEM_MAX + 1 : n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

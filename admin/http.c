/* http.c: the admin HTTP port (DESIGN section 6): routes from one table
 * {method, path pattern, handler, permission}, the caller's token checked
 * from the row before dispatch, JSON bodies owned by their responses, every
 * error through one emitter, an audit line for every state-changing request.
 * What it says about apps and the server, and where commands go, is the
 * backend's (backend.h): the same code serves single mode (backend_server.c)
 * and host mode's master. libmicrohttpd runs a thread per connection, so a
 * handler that waits for a reload (?wait=) holds up no other request.
 * Connections are guarded (the conn_* functions): those that have not shown
 * a valid token are bounded, and the oldest of them are closed to make room,
 * so idle or trickling clients cannot lock the panel out (issue 11).
 * It also serves the control panel's files (GET / and /panel/NAME), compiled
 * in from admin/panel/ (panel_assets.h), with their security headers. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "applog.h"
#include "auth.h"
#include "log.h"
#include "panel_assets.h"
#include "target.h"

#define BODY_LIMIT (64 * 1024)     /* request bodies: none is needed; 413 beyond */
#define WAIT_MAX_S 3600.0          /* ?wait= bounds: 0 .. 1 hour */
#define LOG_LINES_DEFAULT 100      /* GET /v1/apps/NAME/log?lines= */
#define LOG_LINES_MAX SW_APPLOG_MAX_LINES
#define PEM_MAX (1024 * 1024)
#define NAME_MAX_LEN 256           /* an app name segment; longer ones match no app */
#define RECYCLE_MSG_MAX 4096       /* a failed recycle's error and traceback */
#define JSON_TYPE "application/json"

/* Connections (issue 11). Until a request on it shows a valid token a
 * connection is "pending": at most PENDING_MAX of them, at most
 * PENDING_PER_ADDR per client address (loopback and unix clients excepted:
 * every local user shares those), none older than PENDING_MAX_AGE_S once
 * another connection arrives; the oldest go first. CONN_LIMIT leaves
 * CONN_LIMIT - PENDING_MAX slots that only authenticated connections can
 * hold. */
#define PENDING_MAX 192
#define PENDING_PER_ADDR 16
#define PENDING_MAX_AGE_S 10.0
#define CONN_LIMIT 256
#define IDLE_TIMEOUT_S 10u          /* libmicrohttpd's, between two reads */
/* libmicrohttpd's memory per connection; HEAD_MAX fits in it, so this
 * code, not libmicrohttpd's HTML page, answers heads up to HEAD_MAX.
 * The pool is mmap'ed: only what a client sends is ever touched. */
#define POOL_SIZE (128 * 1024)
#define HEAD_MAX (64 * 1024)        /* request line + headers; 431 beyond */
#define EVICT_LOG_EVERY_S 10.0

/* One connection, from libmicrohttpd's STARTED notice to its CLOSED one
 * (both on its listening thread, while the socket is still open). */
typedef struct conn {
    struct conn *prev, *next;      /* accept order: the oldest first */
    int fd;
    double started_ms;
    int authed;                    /* a request on it had a valid token */
    int evicted;                   /* shut down; libmicrohttpd will close it */
    int exempt;                    /* loopback or unix client: no per-address bound */
    struct sockaddr_storage addr;  /* remote clients only */
} conn_t;

struct sw_admin {
    struct MHD_Daemon *daemon;
    sw_backend_t be;               /* a copy; be.ctx outlives the daemon */
    char *tls_cert;                /* PEM text, kept for the daemon's life */
    char *tls_key;
    size_t tls_key_len;
    pthread_mutex_t conn_lock;     /* guards the conn_* fields below and
                                    * every conn_t; taken alone */
    conn_t *conn_head, *conn_tail; /* conn_lock */
    size_t n_pending;              /* conn_lock: not authed, not evicted */
    size_t n_evicted;              /* conn_lock: since the last log line */
    double evict_logged_ms;        /* conn_lock */
};

typedef enum { PERM_NONE, PERM_USER, PERM_ADMIN } perm_t;

/* One request as a handler sees it. */
typedef struct {
    struct MHD_Connection *conn;
    sw_admin_t *admin;
    const sw_user_config_t *user;  /* &user_copy once authenticated (or
                                    * &quick_user), else NULL */
    sw_user_config_t user_copy;    /* name (malloc'd, whole: names have no
                                    * length limit) and role, the backend's
                                    * copy (authenticate) */
    char name[NAME_MAX_LEN];       /* the '*' segment of the path, "" if none
                                    * or too long */
    unsigned status;               /* the status queued, for the audit line */
} req_t;

typedef enum MHD_Result (*handler_fn)(req_t *rq);

/* A command on one app (backend.h: app_reload, app_destroy). */
typedef sw_cmd_result_t (*command_fn)(void *ctx, sw_backend_app_t *app, const char *user,
                                      double wait_s, char *msg, size_t msglen);

typedef struct {
    const char *method;            /* a GET row also answers HEAD */
    const char *pattern;           /* '*' matches one non-empty path segment */
    handler_fn handler;
    perm_t perm;
    const char *audit;             /* action named in the audit line, or NULL */
} route_t;

/* Per request, from its request line (on_uri) until it completes. */
typedef struct {
    size_t body_bytes;
    int too_large;
    int seen;                      /* on_request was called for it */
    sw_target_verdict_t target;    /* the raw target's check */
    const char *target_end;        /* where the target's C string ends (see
                                    * on_request; never read through) */
    char target_text[80];          /* its start, printable, for log lines */
} conn_state_t;

static enum MHD_Result h_healthz(req_t *rq);
static enum MHD_Result h_panel(req_t *rq);
static enum MHD_Result h_panel_file(req_t *rq);
static enum MHD_Result h_apps(req_t *rq);
static enum MHD_Result h_app(req_t *rq);
static enum MHD_Result h_app_log(req_t *rq);
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
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
static enum MHD_Result refuse_head(sw_admin_t *a, struct MHD_Connection *conn,
                                   const char *method, const conn_state_t *cs);
static void conn_started(sw_admin_t *a, conn_t *c);
static void conn_evict(sw_admin_t *a, conn_t *c);
static void conn_authed(sw_admin_t *a, struct MHD_Connection *conn);
static int addr_is_local(const struct sockaddr *sa);
static void on_mhd_log(void *cls, const char *fmt, va_list ap);
static enum MHD_Result route(sw_admin_t *a, struct MHD_Connection *conn, const char *url,
                             const char *method, int too_large);
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
static enum MHD_Result respond_bad_wait(req_t *rq);
static enum MHD_Result respond_command(req_t *rq, sw_backend_app_t *app, sw_cmd_result_t r,
                                       const char *msg);
static enum MHD_Result app_command(req_t *rq, command_fn command);
static sw_backend_app_t *visible_app(req_t *rq);
static void release_app(req_t *rq, sw_backend_app_t *app);
static json_t *app_json(req_t *rq, sw_backend_app_t *app);
static int parse_wait(req_t *rq, double dflt, double *out);
static int parse_lines(req_t *rq, size_t *out);
static int parse_owner(req_t *rq, const char **out);
static void audit(const req_t *rq, const char *action, double ms);
static const char *result_word(unsigned status);
static int name_char(char c);
static void clean_name(const char *in, char *out, size_t outlen);
static void printable(const char *in, char *out, size_t outlen);
/* in as printable ASCII (others '?'), cut to outlen - 1 bytes with "..."
 * at the end when longer: a request's bytes in a log line. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t n = in ? strlen(in) : 0, i = 0;
    for (; i < n && i + 1 < outlen; i++)
        out[i] = in[i] > 0x20 && in[i] < 0x7f ? in[i] : '?';
    out[i] = '\0';
    if (i < n && outlen > 4)
        memcpy(out + outlen - 4, "...", 4);
}

static double now_ms(void);
static char *read_pem(const char *path, size_t *len, char *err, size_t errlen);
static const char *quick_mode_refusal(req_t *rq, const char *method);
static int same_origin(const char *origin, const char *host);

/* The whole API. State changes only by POST. perm decides, before the
 * handler runs, whether a token is needed (user) and whether it must be an
 * admin's; what a user may see inside a row is the handler's (visible_app;
 * for the list, the backend's apps call). */
static const route_t routes[] = {
    {"GET", "/healthz", h_healthz, PERM_NONE, NULL},
    {"GET", "/", h_panel, PERM_NONE, NULL},
    {"GET", "/panel/*", h_panel_file, PERM_NONE, NULL},
    {"GET", "/v1/apps", h_apps, PERM_USER, NULL},
    {"GET", "/v1/apps/*", h_app, PERM_USER, NULL},
    {"GET", "/v1/apps/*/log", h_app_log, PERM_USER, NULL},
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
sw_admin_t *sw_admin_start(int listen_fd, const sw_backend_t *backend, const char *tls_cert,
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
    a->be = *backend;
    pthread_mutex_init(&a->conn_lock, NULL);
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
     * request (a thread pool would let one hold up its whole share). poll,
     * not select: fds above FD_SETSIZE are common in a busy server.
     * libmicrohttpd's own per-IP limit is not used: it would count every
     * local client, the panel's proxy included, as one; on_connection
     * bounds what matters, the connections without a token. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     (tls_cert ? MHD_USE_TLS : 0);
    /* The logger first: libmicrohttpd logs option errors as it parses. */
    a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)POOL_SIZE,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
                                 MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
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
    pthread_mutex_destroy(&a->conn_lock);
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
    pthread_mutex_destroy(&admin->conn_lock);   /* every conn_t went at CLOSED */
    free(admin);
}

/* ---- dispatch ------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)upload_data;
    sw_admin_t *a = cls;
    conn_state_t *cs = *req_cls;
    if (!cs)
        return MHD_NO;   /* on_uri ran out of memory */
    if (!cs->seen) {
        /* First call: headers only. A response can be queued now or once
         * the whole request is in, not in between; so a bad head, or a
         * declared body over the limit, is refused now, before the body
         * is read. */
        cs->seen = 1;
        /* A raw NUL byte in the request line also cuts the target short.
         * libmicrohttpd 0.9.75 parses the line in place, ending the target
         * with a NUL where the space before the version was: unless the
         * target's C string ends right there, it held a NUL of its own. */
        if (cs->target == SW_TARGET_OK && cs->target_end && version != cs->target_end + 1)
            cs->target = SW_TARGET_NUL;
        const union MHD_ConnectionInfo *hs =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if (cs->target != SW_TARGET_OK || (hs && hs->header_size > HEAD_MAX))
            return refuse_head(a, conn, method, cs);
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

/* The request line is in: the raw target is checked here, before
 * libmicrohttpd decodes it, and the request's state starts (it is the
 * *req_cls of on_request and on_completed; NULL: out of memory). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    conn_state_t *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    size_t len = uri ? strlen(uri) : 0;
    cs->target = sw_target_check(uri, len);
    cs->target_end = uri ? uri + len : NULL;
    printable(uri, cs->target_text, sizeof cs->target_text);
    return cs;
}

/* A head refused before routing, before any token is looked at: a target
 * over SW_TARGET_MAX (414), an encoded NUL (400), a head over HEAD_MAX
 * (431). JSON like every other error (libmicrohttpd's own answers to the
 * first and last, beyond POOL_SIZE, are HTML). */
static enum MHD_Result refuse_head(sw_admin_t *a, struct MHD_Connection *conn,
                                   const char *method, const conn_state_t *cs)
{
    req_t rq = {.conn = conn, .admin = a};
    unsigned status = MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
    const char *why = "the request head is over 64 KiB";
    if (cs->target == SW_TARGET_TOO_LONG) {
        status = MHD_HTTP_URI_TOO_LONG;
        why = "the request target is over 8 KiB";
    } else if (cs->target == SW_TARGET_NUL) {
        status = MHD_HTTP_BAD_REQUEST;
        why = "the request target holds a NUL (%00)";
    }
    char m[16];
    printable(method, m, sizeof m);
    sw_log(SW_LOG_WARN, NULL, "admin: refused %s %s: %s", m, cs->target_text, why);
    return respond_error(&rq, status, "bad_request", why, NULL, NULL);
}

/* libmicrohttpd's connection notices, on its listening thread: STARTED
 * before the connection's thread exists, CLOSED before its socket is
 * closed (daemon.c of 0.9.75); so a conn_t's fd is that connection's for as
 * long as the conn_t is in the list. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    sw_admin_t *a = cls;
    conn_t *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!c)
            return;
        pthread_mutex_lock(&a->conn_lock);
        if (!c->authed && !c->evicted)
            a->n_pending--;
        *(c->prev ? &c->prev->next : &a->conn_head) = c->next;
        *(c->next ? &c->next->prev : &a->conn_tail) = c->prev;
        pthread_mutex_unlock(&a->conn_lock);
        free(c);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c = calloc(1, sizeof *c);
    if (!c || !fi) {
        /* Untracked, no room could ever be made for others: refuse it. */
        if (fi)
            shutdown(fi->connect_fd, SHUT_RDWR);
        free(c);
        return;
    }
    c->fd = fi->connect_fd;
    c->started_ms = now_ms();
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ai ? ai->client_addr : NULL;
    c->exempt = addr_is_local(sa);
    if (!c->exempt)
        memcpy(&c->addr, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                       : sizeof(struct sockaddr_in));
    *socket_context = c;
    conn_started(a, c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\r\n")] = '\0';
    sw_log(SW_LOG_WARN, NULL, "admin: %s", buf);
}

/* ---- connections --------------------------------------------------------------- */

/* Whether two remote clients are one host (the port aside). */
static int same_host(const conn_t *x, const conn_t *y)
{
    if (x->addr.ss_family != y->addr.ss_family)
        return 0;
    if (x->addr.ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)&x->addr)->sin_addr,
                      &((const struct sockaddr_in *)&y->addr)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    return memcmp(&((const struct sockaddr_in6 *)&x->addr)->sin6_addr,
                  &((const struct sockaddr_in6 *)&y->addr)->sin6_addr,
                  sizeof(struct in6_addr)) == 0;
}

static int pending(const conn_t *c)
{
    return !c->authed && !c->evicted;
}

/* c has just been accepted: it joins the list, and pending connections
 * are closed, the oldest first, until the bounds of PENDING_MAX hold
 * again. c itself is never closed for the total bound: a client that sends
 * its token at once is served however many others wait. */
static void conn_started(sw_admin_t *a, conn_t *c)
{
    size_t n_log = 0, still = 0;
    pthread_mutex_lock(&a->conn_lock);
    c->prev = a->conn_tail;
    *(a->conn_tail ? &a->conn_tail->next : &a->conn_head) = c;
    a->conn_tail = c;
    a->n_pending++;
    /* Too old: no token after PENDING_MAX_AGE_S (a trickled head). The
     * list is in accept order, so the walk stops at the first young one. */
    for (conn_t *x = a->conn_head;
         x && c->started_ms - x->started_ms > PENDING_MAX_AGE_S * 1e3; x = x->next)
        if (pending(x))
            conn_evict(a, x);
    /* Too many from one remote host. */
    if (!c->exempt) {
        size_t n = 0;
        for (conn_t *x = a->conn_head; x; x = x->next)
            n += pending(x) && !x->exempt && same_host(x, c);
        for (conn_t *x = a->conn_head; x && x != c && n > PENDING_PER_ADDR; x = x->next)
            if (pending(x) && !x->exempt && same_host(x, c)) {
                conn_evict(a, x);
                n--;
            }
    }
    /* Too many in all. */
    for (conn_t *x = a->conn_head; x && x != c && a->n_pending > PENDING_MAX; x = x->next)
        if (pending(x))
            conn_evict(a, x);
    double now = now_ms();
    if (a->n_evicted &&
        (a->evict_logged_ms == 0 || now - a->evict_logged_ms >= EVICT_LOG_EVERY_S * 1e3)) {
        n_log = a->n_evicted;
        still = a->n_pending;
        a->n_evicted = 0;
        a->evict_logged_ms = now;
    }
    pthread_mutex_unlock(&a->conn_lock);
    /* At most one line per EVICT_LOG_EVERY_S: a flood must not flood the log. */
    if (n_log)
        sw_log(SW_LOG_WARN, NULL,
               "admin: %zu unauthenticated connections closed to make room "
               "(%zu still without a token)", n_log, still);
}

/* Shuts c's socket down: libmicrohttpd's thread for it sees the end of the
 * stream and closes it. shutdown, not close: the fd stays libmicrohttpd's
 * to close. conn_lock held. */
static void conn_evict(sw_admin_t *a, conn_t *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->evicted = 1;
    a->n_pending--;
    a->n_evicted++;
}

/* A request on conn showed a valid token: the connection is no longer
 * pending, so no flood of pending ones can close it. */
static void conn_authed(sw_admin_t *a, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_t *c = info ? info->socket_context : NULL;
    if (!c)
        return;
    pthread_mutex_lock(&a->conn_lock);
    if (pending(c))
        a->n_pending--;
    c->authed = 1;
    pthread_mutex_unlock(&a->conn_lock);
}

/* Loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) or unix clients: any
 * local user can take those addresses, so a bound per address would let
 * one lock out the rest; on a shared host, file permissions on a unix
 * socket are what keeps local users apart. */
static int addr_is_local(const struct sockaddr *sa)
{
    if (!sa || sa->sa_family == AF_UNIX)
        return 1;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return 1;
}

/* ---- routing ----------------------------------------------------------------- */

/* Finds the row, then decides auth from it, then runs the handler; a body
 * over the limit (too_large) answers 413 in the handler's place. */
static enum MHD_Result route(sw_admin_t *a, struct MHD_Connection *conn, const char *url,
                             const char *method, int too_large)
{
    req_t rq = {.conn = conn, .admin = a};
    const route_t *row = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!sw_target_match(routes[i].pattern, url, rq.name, sizeof rq.name))
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
    const char *refusal = NULL;
    if (a->be.quick) {
        rq.user = &quick_user;
        refusal = quick_mode_refusal(&rq, method);
    } else {
        const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_AUTHORIZATION);
        /* A copy of the caller's name and role: it outlives any config
         * change while a handler waits. -1 (also out of memory): 401. */
        if (a->be.authenticate(a->be.ctx, authz, &rq.user_copy) == 0)
            rq.user = &rq.user_copy;
    }
    if (rq.user && !refusal)
        conn_authed(a, conn);
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
    free(rq.user_copy.name);
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
    const sw_backend_t *be = &rq->admin->be;
    json_t *arr = be->apps(be->ctx, rq->user);
    /* json_pack takes arr, even on failure; NULL (out of memory) is a 500. */
    return respond_json(rq, MHD_HTTP_OK, json_pack("{s:o}", "apps", arr), NULL);
}

static enum MHD_Result h_app(req_t *rq)
{
    sw_backend_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    json_t *j = app_json(rq, app);
    release_app(rq, app);
    return respond_json(rq, MHD_HTTP_OK, j, NULL);
}

/* The app's last log lines (applog.h), oldest first: the same visibility
 * as GET /v1/apps/NAME. */
static enum MHD_Result h_app_log(req_t *rq)
{
    size_t want;
    if (parse_lines(rq, &want) != 0)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "lines must be a whole number from 0 to 1000", NULL, NULL);
    sw_backend_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    json_t *j = rq->admin->be.app_log(rq->admin->be.ctx, app, want);
    release_app(rq, app);
    return respond_json(rq, MHD_HTTP_OK, j, NULL);   /* NULL answers 500 */
}

static enum MHD_Result h_reload(req_t *rq)
{
    return app_command(rq, rq->admin->be.app_reload);
}

/* Without ?wait= the backend waits for the app to end (DESIGN: "200 + APP
 * once ended"). */
static enum MHD_Result h_destroy(req_t *rq)
{
    return app_command(rq, rq->admin->be.app_destroy);
}

static enum MHD_Result h_server(req_t *rq)
{
    return respond_json(rq, MHD_HTTP_OK, rq->admin->be.server(rq->admin->be.ctx), NULL);
}

/* ?owner=NAME hands over that owner's process alone, where there is one
 * per owner (host mode); elsewhere it is refused rather than taken for the
 * whole: whoever asked for one owner did not ask for every other one. */
static enum MHD_Result h_recycle(req_t *rq)
{
    const sw_backend_t *be = &rq->admin->be;
    double wait_s;
    if (parse_wait(rq, -1.0, &wait_s) != 0)
        return respond_bad_wait(rq);
    const char *owner;
    if (parse_owner(rq, &owner) != 0)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "owner must be a user name ([A-Za-z0-9_.-]+)", NULL, NULL);
    if (owner && !be->recycle_by_owner)
        return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                             "owner= needs mode = host: here one process serves every "
                             "owner, so only all of it can be recycled", NULL, NULL);
    char msg[RECYCLE_MSG_MAX] = "";
    sw_cmd_result_t r = be->recycle(be->ctx, owner, rq->user->name, wait_s, msg, sizeof msg);
    if (r == SW_CMD_FAILED)
        return respond_error(rq, 422, "load_failed", msg, NULL, NULL);
    if (r == SW_CMD_TIMEOUT)
        return respond_error(rq, MHD_HTTP_GATEWAY_TIMEOUT, "timeout", msg, NULL, NULL);
    if (r == SW_CMD_CONFLICT)
        return respond_error(rq, MHD_HTTP_CONFLICT, "conflict",
                             msg[0] ? msg : "not possible now", NULL, NULL);
    return respond_json(rq, r == SW_CMD_ACCEPTED ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK,
                        be->server(be->ctx), NULL);
}

static enum MHD_Result h_metrics(req_t *rq)
{
    char *text = rq->admin->be.metrics(rq->admin->be.ctx);
    if (!text)
        return respond_json(rq, MHD_HTTP_OK, NULL, NULL);   /* answers 500 */
    return respond(rq, MHD_HTTP_OK, text, "text/plain; version=0.0.4; charset=utf-8", NULL);
}

/* A reload or destroy of the app named by the path, waiting (?wait=) inside
 * the backend, which holds no lock while it waits (backend.h). */
static enum MHD_Result app_command(req_t *rq, command_fn command)
{
    double wait_s;
    if (parse_wait(rq, -1.0, &wait_s) != 0)
        return respond_bad_wait(rq);
    sw_backend_app_t *app = visible_app(rq);
    if (!app)
        return respond_not_found_app(rq);
    char msg[512] = "";
    sw_cmd_result_t r = command(rq->admin->be.ctx, app, rq->user->name, wait_s, msg, sizeof msg);
    enum MHD_Result rc = respond_command(rq, app, r, msg);
    release_app(rq, app);
    return rc;
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
    /* Without a token, a connection is not kept for a next request: its
     * slot is for whoever comes next (see PENDING_MAX). */
    if (ok && !rq->user)
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
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

static enum MHD_Result respond_bad_wait(req_t *rq)
{
    return respond_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request",
                         "wait must be a number of seconds from 0 to 3600", NULL, NULL);
}

static enum MHD_Result respond_too_large(req_t *rq)
{
    return respond_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "bad_request",
                         "the request body is over 64 KiB (no route takes a body)", NULL, NULL);
}

/* A reload's or destroy's outcome (app.h: DONE 200, ACCEPTED 202, FAILED
 * 422, TIMEOUT 504, CONFLICT 409). */
static enum MHD_Result respond_command(req_t *rq, sw_backend_app_t *app, sw_cmd_result_t r,
                                       const char *msg)
{
    switch (r) {
    case SW_CMD_DONE:
        return respond_json(rq, MHD_HTTP_OK, app_json(rq, app), NULL);
    case SW_CMD_ACCEPTED:
        return respond_json(rq, MHD_HTTP_ACCEPTED, app_json(rq, app), NULL);
    case SW_CMD_FAILED:
        /* app.last_reload.error holds the error and its traceback. */
        return respond_error(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, "load_failed",
                             msg[0] ? msg : "the new code failed to load", app_json(rq, app),
                             NULL);
    case SW_CMD_TIMEOUT:
        return respond_error(rq, MHD_HTTP_GATEWAY_TIMEOUT, "timeout",
                             msg[0] ? msg : "not finished when the wait ended", app_json(rq, app),
                             NULL);
    case SW_CMD_CONFLICT:
        return respond_error(rq, MHD_HTTP_CONFLICT, "conflict",
                             msg[0] ? msg : "not possible now", NULL, NULL);
    }
    return respond_json(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL);
}

/* ---- helpers -------------------------------------------------------------------- */

/* The app named by the path, pinned, if the caller may see it (auth.h's
 * rule on the owner the backend found it with), else NULL: the caller then
 * answers as for a missing app. Release it with release_app. */
static sw_backend_app_t *visible_app(req_t *rq)
{
    if (!rq->name[0])
        return NULL;
    const sw_backend_t *be = &rq->admin->be;
    const char *owner = NULL;
    sw_backend_app_t *app = be->app_find(be->ctx, rq->name, &owner);
    if (app && !sw_auth_can_see_owner(rq->user, owner)) {
        be->app_release(be->ctx, app);
        return NULL;
    }
    return app;
}

static void release_app(req_t *rq, sw_backend_app_t *app)
{
    rq->admin->be.app_release(rq->admin->be.ctx, app);
}

/* APP of app now (a new reference, or NULL). */
static json_t *app_json(req_t *rq, sw_backend_app_t *app)
{
    return rq->admin->be.app_json(rq->admin->be.ctx, app);
}

/* ?wait=SECONDS (sw_target_wait), at most WAIT_MAX_S; absent: dflt.
 * Returns -1 when present but not that. */
static int parse_wait(req_t *rq, double dflt, double *out)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, "wait", 4, &v, &len) !=
        MHD_YES) {
        *out = dflt;
        return 0;
    }
    return sw_target_wait(v, len, WAIT_MAX_S, out);
}

/* ?lines=N, 0 .. LOG_LINES_MAX in decimal digits; absent: LOG_LINES_DEFAULT.
 * Returns -1 when present but not that. */
static int parse_lines(req_t *rq, size_t *out)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, "lines", 5, &v, &len) !=
        MHD_YES) {
        *out = LOG_LINES_DEFAULT;
        return 0;
    }
    /* At most 4 digits: no overflow, and "lines=" alone is refused. */
    if (!v || len == 0 || len > 4)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    if (n > LOG_LINES_MAX)
        return -1;
    *out = n;
    return 0;
}

/* ?owner=NAME: *out is NAME (libmicrohttpd's, for the request's life), or
 * NULL when absent. Returns -1 when present but not a user name
 * ([A-Za-z0-9_.-]+, as config.c takes them). */
static int parse_owner(req_t *rq, const char **out)
{
    const char *v = NULL;
    size_t len = 0;
    *out = NULL;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, "owner", 5, &v, &len) !=
        MHD_YES)
        return 0;
    if (!v || len == 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!name_char(v[i]))   /* a NUL too: v is then not all of the value */
            return -1;
    *out = v;
    return 0;
}

/* audit user=NAME app=NAME action=ACTION result=WORD duration_ms=N. Never
 * the token. Names are from the config or the URL: anything but
 * [A-Za-z0-9._-] is shown as '?', so a name cannot forge a field or a line. */
static void audit(const req_t *rq, const char *action, double ms)
{
    const char *uname = rq->user ? rq->user->name : NULL;
    size_t ulen = uname ? strlen(uname) + 2 : 2;   /* whole: a cut name could be another's */
    char *user = malloc(ulen), app[NAME_MAX_LEN];
    if (user)
        clean_name(uname, user, ulen);
    clean_name(rq->name, app, sizeof app);
    sw_log(SW_LOG_INFO, NULL, "audit user=%s app=%s action=%s result=%s duration_ms=%lld",
           user ? user : "?", app, action, result_word(rq->status), (long long)llround(ms));
    free(user);
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
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = name_char(in[i]) ? in[i] : '?';
    out[i] = '\0';
}

/* [A-Za-z0-9._-]: what config.c allows in user and app names. */
static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
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

/* http.c: the admin HTTP port: routes from one table, JSON error bodies
 * through one emitter (jansson), libmicrohttpd's own polling thread. */
#include "http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct sw_admin {
    struct MHD_Daemon *daemon;
};

typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *conn);

typedef struct {
    const char *method;
    const char *path;
    handler_fn handler;
} route_t;

static enum MHD_Result handle_healthz(struct MHD_Connection *conn);

static const route_t routes[] = {
    {"GET", "/healthz", handle_healthz},
};

static void free_buffer(void *p)
{
    free(p);
}

/* Queues body (malloc'd; the response takes it on every path). */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               char *body, const char *content_type)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
        strlen(body), body, free_buffer);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* The one error emitter: {"error": CODE, "message": TEXT}. */
static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *code, const char *message)
{
    json_t *j = json_pack("{s:s, s:s}", "error", code, "message", message);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return MHD_NO;
    size_t len = strlen(body);
    char *nl = realloc(body, len + 2);   /* a trailing newline for curl users */
    if (nl) {
        body = nl;
        memcpy(body + len, "\n", 2);
    }
    return respond(conn, status, body, "application/json");
}

static enum MHD_Result handle_healthz(struct MHD_Connection *conn)
{
    return respond(conn, MHD_HTTP_OK, strdup("ok\n"), "text/plain; charset=utf-8");
}

static enum MHD_Result dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **req_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    /* First call per request: headers only; answer on the second. */
    if (*req_cls == NULL) {
        static int marker;
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;   /* no route takes a body yet */
        return MHD_YES;
    }
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) != 0)
            continue;
        path_known = 1;
        if (strcmp(method, routes[i].method) == 0)
            return routes[i].handler(conn);
    }
    if (path_known)
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                             "this path does not take that method");
    return respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
}

sw_admin_t *sw_admin_start(int listen_fd, sw_server_t *server, const char *tls_cert,
                           const char *tls_key, char *err, size_t errlen)
{
    (void)server;
    (void)tls_cert;
    (void)tls_key;
    sw_admin_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                     MHD_USE_ERROR_LOG,
                                 0, NULL, NULL, dispatch, NULL,
                                 MHD_OPTION_LISTEN_SOCKET, listen_fd,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                 MHD_OPTION_END);
    if (!a->daemon) {
        snprintf(err, errlen, "libmicrohttpd could not start on the admin socket");
        free(a);
        return NULL;
    }
    return a;
}

void sw_admin_stop(sw_admin_t *admin)
{
    if (!admin)
        return;
    MHD_stop_daemon(admin->daemon);
    free(admin);
}

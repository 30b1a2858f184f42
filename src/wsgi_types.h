/* wsgi_types.h: internal to wsgi*.c: the per-request context shared by the
 * Python objects of one request, and the types of module _subwsgi
 * (wsgi.input, start_response, wsgi.errors, wsgi.file_wrapper). The objects
 * point at the context only while the request runs; afterwards ctx is NULL
 * and using them raises instead of touching freed memory. */
#ifndef SW_WSGI_TYPES_H
#define SW_WSGI_TYPES_H

#include <Python.h>
#include <stdint.h>

#include "interp.h"
#include "log.h"
#include "request.h"

typedef struct sw_reqctx {
    sw_request_t *req;
    sw_interp_t *interp;
    const char *app_name;
    /* request body (wsgi.input) */
    const char *in_ptr;          /* unread buffered bytes */
    size_t in_avail;
    char *in_buf;                /* refill buffer, allocated on first use */
    uint64_t in_socket_left;     /* bytes still to receive from the socket */
    /* response */
    char *head;                  /* "Status: ...\r\n" + headers + "\r\n" */
    size_t head_len;
    int status_code;             /* 0 until start_response */
    int headers_sent;
    int client_gone;             /* a send failed: stop producing */
    int64_t content_length;      /* from the app's headers, -1 if none */
    uint64_t bytes_sent;         /* body bytes */
} sw_reqctx_t;

typedef struct {
    PyObject_HEAD
    sw_reqctx_t *ctx;
} sw_ctxobject_t;                /* InputStream and StartResponse */

typedef struct {
    PyObject_HEAD
    const char *app_name;        /* borrowed from the config: outlives us */
    sw_log_level_t level;
} sw_errors_object_t;

typedef struct {
    PyObject_HEAD
    PyObject *filelike;
    Py_ssize_t blksize;
} sw_file_wrapper_object_t;

typedef struct {
    PyTypeObject *input_type;
    PyTypeObject *start_response_type;
    PyTypeObject *errors_type;
    PyTypeObject *file_wrapper_type;
} sw_module_state_t;

/* Type specs, defined in wsgi_input.c and wsgi_response.c. */
extern PyType_Spec sw_input_spec;
extern PyType_Spec sw_start_response_spec;
extern PyType_Spec sw_errors_spec;
extern PyType_Spec sw_file_wrapper_spec;

/* wsgi_input.c: sets up the body reader for r; frees its buffer. */
void sw_input_begin(sw_reqctx_t *ctx);
void sw_input_end(sw_reqctx_t *ctx);

/* wsgi_response.c: sends the head (once) and data; GIL released inside.
 * Returns 0, or -1 when the client is gone (ctx->client_gone set; no
 * Python exception). */
int sw_response_send(sw_reqctx_t *ctx, const char *data, size_t len);

/* Sends a file with sendfile(2) from offset, count bytes. Same returns. */
int sw_response_sendfile(sw_reqctx_t *ctx, int fd, off_t offset, uint64_t count);

/* Answers a plain-text error when nothing was sent yet. */
void sw_response_error(sw_reqctx_t *ctx, int status, const char *reason);

/* A new errors stream object (new reference). */
PyObject *sw_errors_new(sw_module_state_t *st, const char *app_name,
                        sw_log_level_t level);

#endif

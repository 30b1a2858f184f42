/* wsgi_types.h: internal to wsgi*.c: the types of module _subwsgi
 * (wsgi.input, start_response, wsgi.errors, wsgi.file_wrapper). The objects
 * of a request each hold a reference to its context (reqctx.h), dropped in
 * their tp_dealloc; once the request ended, using them raises OSError. */
#ifndef SW_WSGI_TYPES_H
#define SW_WSGI_TYPES_H

#include <Python.h>
#include <stdint.h>

#include "interp.h"
#include "log.h"
#include "reqctx.h"
#include "request.h"

typedef struct {
    PyObject_HEAD
    sw_reqctx_t *ctx;            /* a reference, set at creation, never NULL */
    int body_cut;                /* StartResponse: the cut at Content-Length
                                  * was logged (once per request) */
} sw_ctxobject_t;                /* InputStream and StartResponse */

/* wsgi.errors, sys.stdout, sys.stderr: line-buffered into the error log
 * (and so the app's ring and log file). The buffer is guarded by the GIL
 * of the object's interpreter: no method releases it. */
typedef struct {
    PyObject_HEAD
    const char *app_name;        /* borrowed from the config: outlives us */
    sw_log_level_t level;
    int cutting;                 /* the line outgrew buf: drop to its '\n' */
    size_t len;                  /* bytes in buf: the line not ended yet */
    char buf[SW_LOG_LINE_MAX];
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
    /* This interpreter's streams (strong references, set by
     * sw_wsgi_prepare), flushed at each request's end. */
    PyObject *out, *err, *errors;
} sw_module_state_t;

/* Type specs, defined in wsgi_input.c and wsgi_response.c. */
extern PyType_Spec sw_input_spec;
extern PyType_Spec sw_start_response_spec;
extern PyType_Spec sw_errors_spec;
extern PyType_Spec sw_file_wrapper_spec;

/* wsgi_input.c: sets up the body reader for ctx->req (its buffer is freed
 * with the context). */
void sw_input_begin(sw_reqctx_t *ctx);

/* wsgi.c: the context of a request object if its request is still
 * running, else NULL with OSError(ENOTCONN, "WHAT: the request has ended")
 * set. */
sw_reqctx_t *sw_wsgi_live_ctx(sw_ctxobject_t *self, const char *what);

/* Sets that OSError. */
void sw_wsgi_raise_ended(const char *what);

/* tp_dealloc of both types: drops the object's reference to its context. */
void sw_wsgi_ctxobject_dealloc(PyObject *self);

/* wsgi_response.c: sends the head (once) and data; GIL released inside.
 * Never sends more body than the app's Content-Length (PEP 3333: "the
 * server should not transmit more bytes to the client than the header
 * allows"). Returns 0; 1 when data went past Content-Length and the rest
 * was dropped (what fitted was sent); or -1 when the client is gone or
 * the request ended (ctx->client_gone set; no Python exception). */
int sw_response_send(sw_reqctx_t *ctx, const char *data, size_t len);

/* The body bytes Content-Length still allows (UINT64_MAX without one). */
uint64_t sw_response_room(const sw_reqctx_t *ctx);

/* Logs, once per request (sr is its StartResponse), that the app's body
 * was cut at its Content-Length. */
void sw_response_note_cut(sw_ctxobject_t *sr);

/* Sends a file with sendfile(2) from offset, count bytes (the caller keeps
 * count within sw_response_room). Returns 0 or -1 as sw_response_send. */
int sw_response_sendfile(sw_reqctx_t *ctx, int fd, off_t offset, uint64_t count);

/* Answers a plain-text error when nothing was sent yet. */
void sw_response_error(sw_reqctx_t *ctx, int status, const char *reason);

/* A new errors stream object (new reference). */
PyObject *sw_errors_new(sw_module_state_t *st, const char *app_name,
                        sw_log_level_t level);

/* Logs what the stream holds of a line not ended yet (GIL held). */
void sw_errors_flush_line(PyObject *stream);

#endif

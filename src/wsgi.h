/* wsgi.h: serving one request with PEP 3333 inside a worker's interpreter,
 * and the per-interpreter set-up that it needs. */
#ifndef SW_WSGI_H
#define SW_WSGI_H

#include <Python.h>
#include <stdint.h>

#include "interp.h"
#include "request.h"

struct sw_reqctx;

typedef struct {
    int status;          /* HTTP status sent (0: nothing could be sent) */
    uint64_t bytes;      /* body bytes sent */
    int truncated;       /* failed after the head was sent: reset, don't close */
    struct sw_reqctx *ctx;   /* the worker's reference, for sw_wsgi_end */
} sw_wsgi_result_t;

/* Registers the built-in module "_subwsgi" (before Py_Initialize). */
int sw_wsgi_register_module(void);

/* In a new interpreter (its GIL held): imports _subwsgi, points sys.stdout
 * and sys.stderr at the error log (line by line, credited to the app),
 * builds the environ template. Returns 0, or -1 with a Python exception
 * set. */
int sw_wsgi_prepare(sw_interp_t *it);

/* Logs the lines the interpreter's sys.stdout, sys.stderr and wsgi.errors
 * hold without their '\n' yet (its GIL held): after the import, at each
 * request's end, at the end. */
void sw_wsgi_flush_logs(sw_interp_t *it);

/* Releases what sw_wsgi_prepare and the loader stored in it (GIL held). */
void sw_wsgi_release(sw_interp_t *it);

/* Serves r in worker w's interpreter; w's thread state is current. The GIL
 * is released around every socket operation. Never raises. An error after
 * the watchdog fired (w->timed_out) answers 504 instead of 500. */
void sw_wsgi_serve(sw_worker_t *w, sw_request_t *r, sw_wsgi_result_t *out);

/* Ends the request sw_wsgi_serve served (r stays valid until then): the
 * client's connection ends now (reset when out->truncated), objects the
 * app kept raise OSError from now on, and r is freed, its fd closed, when
 * the last of them goes. Exactly once per sw_wsgi_serve; no GIL needed. */
void sw_wsgi_end(sw_request_t *r, sw_wsgi_result_t *res);

#endif

/* interp.h: CPython embedding: the main interpreter, sub-interpreters, and
 * the worker threads that each own one thread state of one sub-interpreter
 * for their whole life (FACTS.md sections 1 and 6). */
#ifndef SW_INTERP_H
#define SW_INTERP_H

#include <Python.h>
#include <pthread.h>
#include <time.h>

#include "config.h"

struct sw_app;

typedef struct sw_worker {
    struct sw_interp *interp;
    pthread_t thread;
    int index;
    int started;
    PyThreadState *ts;          /* created and deleted on the worker's thread */
    unsigned long thread_ident; /* what PyThreadState_SetAsyncExc matches */
    /* request-timeout (watchdog.h): written with this interpreter's GIL held */
    _Atomic unsigned long seq;      /* requests begun; odd while one runs */
    _Atomic long long deadline_ns;  /* CLOCK_MONOTONIC; 0 = none */
    int timed_out;                  /* the watchdog raised in this request */
} sw_worker_t;

typedef struct sw_interp {
    struct sw_app *app;
    int generation;
    sw_isolation_t mode;        /* OWN_GIL, SHARED_GIL or MAIN */
    int64_t id;                 /* PyInterpreterState_GetID */
    PyInterpreterState *state;
    PyThreadState *creator_ts;  /* kept until the end: see FACTS.md 1, 6 */
    time_t created_at;
    /* Python objects of this interpreter (GIL of this interpreter) */
    PyObject *module;           /* our _subwsgi module instance */
    PyObject *callable;         /* the WSGI application */
    PyObject *environ_template; /* constant part of every environ */
    PyObject *environ_extra;    /* the app's environ = entries */
    PyObject *format_exception; /* traceback.format_exception */
    sw_worker_t *workers;
    int n_workers;
    /* the watchdog (watchdog.c) */
    pthread_t watchdog;
    int watchdog_started;
    _Atomic int watchdog_stop;
    double request_timeout;
} sw_interp_t;

/* Initialises the main interpreter (no signal handlers), registers our
 * built-in module and imports the preload modules. Leaves the main thread
 * state current. Returns 0, or -1 with a message in err. */
int sw_python_init(const sw_config_t *cfg, char *err, size_t errlen);

/* Releases / re-takes the main thread state around the serving phase. */
void sw_python_release_main(void);
void sw_python_acquire_main(void);

/* Finalises the main interpreter (every sub-interpreter must be ended). */
void sw_python_fini(void);

/* Version line for --version. */
void sw_python_describe(char *out, size_t len);

/* Creates an interpreter of the given mode (OWN_GIL, SHARED_GIL, or MAIN:
 * the main interpreter itself) for app, imports its code and starts its
 * workers. Main thread, main thread state current (and current again on
 * return). Returns NULL after logging the error with its traceback; when
 * the import failed because a module refuses this kind of interpreter,
 * refusal gets the exception line (else it is set to ""). */
sw_interp_t *sw_interp_create(struct sw_app *app, int generation, sw_isolation_t mode,
                              char *refusal, size_t refusal_len);

/* Whether this build can create own-GIL interpreters (CPython 3.12+), and
 * whether `auto` may choose them (3.13+: FACTS.md sections 4 and 5). */
int sw_python_has_own_gil(void);
int sw_python_auto_own_gil(void);

/* Ends an interpreter whose workers have all exited, then frees it. */
void sw_interp_end(sw_interp_t *it);

/* Logs the current Python exception (with traceback) for app; clears it.
 * Needs the interpreter's GIL; it may be NULL for format_exception. */
void sw_interp_log_exception(sw_interp_t *it, const char *app_name,
                             const char *what);

#endif

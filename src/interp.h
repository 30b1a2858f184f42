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
struct sw_generation;

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
    struct sw_generation *gen;  /* the generation it belongs to */
    int generation;
    _Atomic unsigned long requests;  /* served, for status */
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

/* Releases / re-takes the main thread's thread state around the serving
 * phase (the loader thread then creates and ends interpreters with a main
 * interpreter thread state of its own). */
void sw_python_release_main(void);
void sw_python_acquire_main(void);

/* The loader thread: creates / deletes its main-interpreter thread state
 * (current, with the main GIL, after attach; released by detach). */
void sw_python_loader_attach(void);
void sw_python_loader_detach(void);

/* Finalises the main interpreter (every sub-interpreter must be ended). */
void sw_python_fini(void);

/* Version line for --version. */
void sw_python_describe(char *out, size_t len);

/* The path of the CPython library this binary runs (no Python call), or
 * NULL when it cannot be told. */
const char *sw_python_library(void);

/* Creates an interpreter of the given mode (OWN_GIL, SHARED_GIL, or MAIN:
 * the main interpreter itself) for generation g of app and imports its
 * code; no workers yet. Loader thread, its main thread state current (and
 * current again on return). Returns NULL after logging the error with its
 * traceback, which *error gets (malloc'd); when the import failed because a
 * module refuses this kind of interpreter, refusal gets the exception line
 * (else it is set to ""). */
sw_interp_t *sw_interp_create(struct sw_app *app, struct sw_generation *g, sw_isolation_t mode,
                              char *refusal, size_t refusal_len, char **error);

/* Starts the interpreter's worker threads and its watchdog. Returns 0 or -1
 * (then the workers already started leave when the generation retires). */
int sw_interp_start_workers(sw_interp_t *it);

/* Whether reloading this app in-process is safe (FACTS.md section 5):
 * returns 1 and a reason when a compiled module from outside the standard
 * library uses single-phase init and was not preloaded in the main
 * interpreter. Loader thread, main thread state current. */
int sw_interp_needs_process_reload(sw_interp_t *it, char *reason, size_t len);

/* The app's own source files loaded in it (the wsgi file, and modules from
 * its directory and its python-path, not from site-packages), appended to
 * out. Loader thread, main thread state current. */
void sw_interp_source_files(sw_interp_t *it, sw_strv_t *out);

/* Whether `auto` may choose own-GIL interpreters (3.13+: FACTS.md sections
 * 4 and 5; explicit own-gil needs 3.12+). */
int sw_python_auto_own_gil(void);

/* Ends an interpreter whose workers have all exited and frees it. App
 * threads still running are asked to stop (threading's exit hooks, then
 * SystemExit injected) for up to stop_s seconds; if one will not, the
 * interpreter is left alive (never a hang: FACTS.md section 6) and -1
 * returned with the reason in why. Loader thread, main thread state
 * current. */
int sw_interp_end(sw_interp_t *it, double stop_s, char *why, size_t whylen);

/* Logs the current Python exception (with traceback) for app; clears it.
 * Needs the interpreter's GIL; it may be NULL for format_exception. */
void sw_interp_log_exception(sw_interp_t *it, const char *app_name,
                             const char *what);

#endif

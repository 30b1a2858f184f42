/* interp.c: CPython embedding: the main interpreter, creating and ending
 * sub-interpreters, and the worker threads that each hold one thread state
 * of one sub-interpreter for their whole life. Call sequences follow
 * ../shared/FACTS.md sections 1, 2 and 6 (never PyGILState_*; thread states
 * created and deleted on the thread that uses them; the creator's thread
 * state kept until Py_EndInterpreter, which runs on the creator's thread). */
#include "interp.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "crashpad.h"
#include "log.h"
#include "queue.h"
#include "reqctx.h"
#include "watchdog.h"
#include "wsgi.h"

static void *worker_main(void *arg);
static void reload_after_max_requests(sw_app_t *app, const sw_generation_t *gen);
static int load_app(sw_interp_t *it);

/* The main interpreter's thread state of the thread creating and ending
 * interpreters: the main thread's at start-up (preload), then each keeper
 * thread's own (loader.c): one per thread. */
static _Thread_local PyThreadState *main_ts;
/* Serialises creating and ending interpreters across keeper threads. */
static pthread_mutex_t create_end_lock = PTHREAD_MUTEX_INITIALIZER;
static PyThreadState *init_ts;   /* the main thread's, from Py_Initialize */
static sw_strv_t preloaded;      /* modules in main's sys.modules after preload */
static sw_strv_t startup_env;    /* the process environment at start-up */

/* Messages of imports that fail because of the kind of interpreter, not
 * because of the app (FACTS.md section 4). */
static const char *const refusal_markers[] = {
    "does not support loading in subinterpreters",
    "Interpreter change detected",
    "PyO3 modules",
    "subinterpreter",
};

/* Run in each new interpreter: sys.path set-up and loading the app. Kept
 * in Python because it is Python's own machinery (importlib, site). */
static const char loader_source[] =
    "def _subwsgi_private_environ(base_env, app_env):\n"
    "    # os.environ writes reach the whole process through putenv (FACTS.md\n"
    "    # section 9): keep them in this interpreter, starting from the server's\n"
    "    # start-up environment plus the app's env = entries.\n"
    "    import os\n"
    "    os.putenv = lambda key, value: None\n"
    "    os.unsetenv = lambda key: None\n"
    "    os.environ.clear()\n"
    "    for entry in list(base_env) + list(app_env):\n"
    "        key, _, value = entry.partition('=')\n"
    "        os.environ[key] = value\n"
    "\n"
    "def _subwsgi_load(python_path, venv, wsgi_file, wsgi_module, callable_name, app_name,\n"
    "                  base_env, app_env):\n"
    "    import sys, os, site, importlib, importlib.util\n"
    "    _subwsgi_private_environ(base_env, app_env)\n"
    "    front = list(python_path)\n"
    "    if wsgi_file:\n"
    "        front.append(os.path.dirname(wsgi_file))\n"
    "    if venv:\n"
    "        before = list(sys.path)\n"
    "        site.addsitedir(os.path.join(venv, 'lib', 'python%d.%d' % sys.version_info[:2],\n"
    "                                     'site-packages'))\n"
    "        front += [p for p in sys.path if p not in before]\n"
    "    sys.path[:] = front + [p for p in sys.path if p not in front]\n"
    "    if wsgi_file:\n"
    "        name = os.path.splitext(os.path.basename(wsgi_file))[0]\n"
    "        if name in sys.modules or not name.isidentifier():\n"
    "            name = '_subwsgi_app_' + app_name.replace('-', '_').replace('.', '_')\n"
    "        spec = importlib.util.spec_from_file_location(name, wsgi_file)\n"
    "        module = importlib.util.module_from_spec(spec)\n"
    "        sys.modules[name] = module\n"
    "        spec.loader.exec_module(module)\n"
    "    else:\n"
    "        module = importlib.import_module(wsgi_module)\n"
    "    app = getattr(module, callable_name, None)\n"
    "    if app is None:\n"
    "        raise AttributeError('%s has no attribute %r (the WSGI callable)'\n"
    "                             % (wsgi_file or wsgi_module, callable_name))\n"
    "    if not callable(app):\n"
    "        raise TypeError('%s.%s is not callable' % (wsgi_file or wsgi_module, callable_name))\n"
    "    return app\n";

/* ---- main interpreter ------------------------------------------------ */

int sw_python_auto_own_gil(void)
{
    /* 3.12.1 aborts at teardown after common imports (FACTS.md section 4). */
    return PY_VERSION_HEX >= 0x030D0000;
}

int sw_python_init(const sw_config_t *cfg, char *err, size_t errlen)
{
    extern char **environ;
    for (char **e = environ; *e; e++)
        sw_strv_push(&startup_env, *e);
    if (sw_wsgi_register_module() < 0) {
        snprintf(err, errlen, "cannot register module _subwsgi");
        return -1;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    /* Signals belong to the server's main thread (sigwait), not Python. */
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    char *argv[] = {"subwsgi"};
    PyStatus status = PyConfig_SetBytesArgv(&config, 1, argv);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        snprintf(err, errlen, "cannot initialise Python: %s",
                 status.err_msg ? status.err_msg : "unknown error");
        return -1;
    }
    main_ts = init_ts = PyThreadState_Get();

    /* Modules imported here, before any sub-interpreter exists, stay valid
     * across interpreter ends (FACTS.md section 5). */
    sw_strv_t preload = {0};
#if PY_VERSION_HEX >= 0x030C0000
    sw_strv_push(&preload, "datetime");
#endif
    for (size_t i = 0; i < cfg->preload.n; i++)
        sw_strv_push(&preload, cfg->preload.items[i]);
    int rc = 0;
    for (size_t i = 0; i < preload.n && rc == 0; i++) {
        PyObject *m = PyImport_ImportModule(preload.items[i]);
        if (m) {
            Py_DECREF(m);
            sw_log(SW_LOG_INFO, NULL, "preloaded %s", preload.items[i]);
        } else {
            PyErr_Print();
            snprintf(err, errlen, "preload: cannot import %s", preload.items[i]);
            rc = -1;
        }
    }
    sw_strv_free(&preload);
    /* Everything imported in main by now (the preload and what it pulled
     * in) stays valid across interpreter ends. */
    PyObject *mods = PySys_GetObject("modules");   /* borrowed */
    PyObject *key;
    Py_ssize_t pos = 0;
    while (mods && PyDict_Next(mods, &pos, &key, NULL)) {
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (name)
            sw_strv_push(&preloaded, name);
        else
            PyErr_Clear();
    }
    return rc;
}

void sw_python_loader_attach(void)
{
    main_ts = PyThreadState_New(PyInterpreterState_Main());
    PyEval_RestoreThread(main_ts);
}

void sw_python_loader_detach(void)
{
    PyThreadState_Clear(main_ts);
    PyThreadState_DeleteCurrent();
    main_ts = NULL;
}

void sw_python_release_main(void)
{
    PyEval_SaveThread();
}

void sw_python_acquire_main(void)
{
    PyEval_RestoreThread(init_ts);
}

void sw_python_fini(void)
{
    if (Py_FinalizeEx() < 0)
        sw_log(SW_LOG_WARN, NULL, "Python finalisation reported an error");
    sw_strv_free(&startup_env);
    sw_strv_free(&preloaded);
}

const char *sw_python_library(void)
{
    /* The file Py_GetVersion was loaded from: libpython (or this binary,
     * when CPython is linked in statically). */
    Dl_info info;
    if (dladdr((void *)Py_GetVersion, &info) && info.dli_fname && info.dli_fname[0] == '/')
        return info.dli_fname;
    return NULL;
}

void sw_python_describe(char *out, size_t len)
{
    const char *v = Py_GetVersion();
    size_t vl = strcspn(v, " ");
    snprintf(out, len, "Python %.*s (own-gil %s)", (int)vl, v,
#if PY_VERSION_HEX >= 0x030C0000
             "available"
#else
             "unavailable: needs CPython 3.12+"
#endif
    );
}

/* ---- errors ---------------------------------------------------------- */

/* Logs the current exception like sw_interp_log_exception; when it looks
 * like an interpreter refusal, copies its last line into refusal. */
static char *format_exception_text(sw_interp_t *it, PyObject *type, PyObject *value,
                                   PyObject *tb);

static void log_load_error(sw_interp_t *it, const char *app_name, char *refusal,
                           size_t refusal_len, char **error)
{
    refusal[0] = '\0';
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return;
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *line = value ? PyObject_Str(value) : NULL;
    const char *msg = line ? PyUnicode_AsUTF8(line) : NULL;
    if (!msg)
        PyErr_Clear();
    for (size_t i = 0; msg && i < sizeof refusal_markers / sizeof refusal_markers[0]; i++) {
        if (strstr(msg, refusal_markers[i])) {
            snprintf(refusal, refusal_len, "%s: %s", ((PyTypeObject *)type)->tp_name, msg);
            break;
        }
    }
    Py_XDECREF(line);
    if (error)
        *error = format_exception_text(it, type, value, tb);
    PyErr_Restore(type, value, tb);
    sw_interp_log_exception(it, app_name, "cannot load the app");
}

/* The traceback text of an exception (malloc'd), or NULL. References are
 * borrowed; no exception is left set. */
static char *format_exception_text(sw_interp_t *it, PyObject *type, PyObject *value,
                                   PyObject *tb)
{
    PyObject *lines = NULL, *text = NULL;
    char *out = NULL;
    if (it && it->format_exception && value)
        lines = PyObject_CallFunctionObjArgs(it->format_exception, type, value,
                                             tb ? tb : Py_None, NULL);
    if (lines) {
        PyObject *sep = PyUnicode_FromString("");
        text = sep ? PyUnicode_Join(sep, lines) : NULL;
        Py_XDECREF(sep);
    }
    if (!text) {
        PyErr_Clear();
        text = PyObject_Str(value ? value : type);
    }
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    if (s)
        out = strdup(s);
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(lines);
    return out;
}

void sw_interp_log_exception(sw_interp_t *it, const char *app_name, const char *what)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb)
        PyException_SetTraceback(value, tb);
    sw_log(SW_LOG_ERROR, app_name, "%s:", what);
    char *text = format_exception_text(it, type, value, tb);
    if (text)
        sw_log_text(SW_LOG_ERROR, app_name, text, strlen(text));
    free(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* ---- sub-interpreters ------------------------------------------------ */

static PyObject *strv_to_list(const sw_strv_t *v)
{
    PyObject *l = PyList_New((Py_ssize_t)v->n);
    for (size_t i = 0; l && i < v->n; i++) {
        PyObject *s = PyUnicode_DecodeFSDefault(v->items[i]);
        if (!s) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, s);
    }
    return l;
}

static PyObject *str_or_none(const char *s)
{
    if (s)
        return PyUnicode_DecodeFSDefault(s);
    Py_RETURN_NONE;
}

/* Sets up sys.path and imports the app in the current (new) interpreter.
 * Returns 0, or -1 with a Python exception set. */
static int load_app(sw_interp_t *it)
{
    const sw_app_config_t *cfg = it->gen->cfg;   /* what its generation is built from */
    int rc = -1;
    PyObject *globals = PyDict_New(), *code = NULL, *fn = NULL, *args = NULL;
    if (!globals || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        goto done;
    code = PyRun_String(loader_source, Py_file_input, globals, globals);
    if (!code)
        goto done;
    fn = PyDict_GetItemString(globals, "_subwsgi_load");   /* borrowed */
    if (!fn) {
        PyErr_SetString(PyExc_RuntimeError, "loader not defined");
        goto done;
    }
    args = Py_BuildValue("(NNNNssNN)", strv_to_list(&cfg->python_path), str_or_none(cfg->venv),
                         str_or_none(cfg->wsgi_file), str_or_none(cfg->wsgi_module),
                         cfg->callable, cfg->name, strv_to_list(&startup_env),
                         strv_to_list(&cfg->env));
    if (!args)
        goto done;
    it->callable = PyObject_CallObject(fn, args);
    if (it->callable)
        rc = 0;
done:
    Py_XDECREF(args);
    Py_XDECREF(code);
    Py_XDECREF(globals);
    return rc;
}

/* Makes a new interpreter of mode current (main thread; on entry main_ts
 * is current with the main GIL). Returns its thread state, or NULL. */
static PyThreadState *new_interpreter(sw_isolation_t mode, char *err, size_t errlen)
{
    if (mode == SW_ISOLATION_MAIN)
        return main_ts;
    if (mode == SW_ISOLATION_SHARED_GIL) {
        /* Legacy settings: the main GIL stays held, the new thread state
         * becomes current. */
        PyThreadState *ts = Py_NewInterpreter();
        if (!ts) {
            snprintf(err, errlen, "Py_NewInterpreter failed");
            PyThreadState_Swap(main_ts);
        }
        return ts;
    }
#if PY_VERSION_HEX >= 0x030C0000
    /* Own GIL and isolated settings; on return the new thread state is
     * current with its own GIL held and the main GIL released (FACTS.md
     * section 2). */
    PyInterpreterConfig config = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    PyThreadState *ts = NULL;
    PyStatus status = Py_NewInterpreterFromConfig(&ts, &config);
    if (PyStatus_Exception(status) || !ts) {
        snprintf(err, errlen, "Py_NewInterpreterFromConfig failed: %s",
                 status.err_msg ? status.err_msg : "unknown error");
        return NULL;   /* CPython swapped main_ts back in */
    }
    return ts;
#else
    snprintf(err, errlen, "isolation = own-gil needs CPython 3.12 or newer (this is %s)",
             Py_GetVersion());
    return NULL;
#endif
}

/* Makes main_ts current again after working in the interpreter of it. */
static void back_to_main(sw_interp_t *it)
{
    if (it->mode == SW_ISOLATION_OWN_GIL) {
        PyEval_SaveThread();
        PyEval_RestoreThread(main_ts);
    } else {
        PyThreadState_Swap(main_ts);
    }
}

/* Ends the interpreter of it (its workers are gone); main_ts current before and
 * after. Runs on the creator's thread with the creator's thread state, the
 * last one left (FACTS.md section 6). */
static void end_interpreter(sw_interp_t *it)
{
    if (it->mode == SW_ISOLATION_MAIN) {
        sw_wsgi_release(it);
        return;
    }
    if (it->mode == SW_ISOLATION_OWN_GIL) {
        PyEval_SaveThread();
        PyEval_RestoreThread(it->creator_ts);
    } else {
        PyThreadState_Swap(it->creator_ts);
    }
    sw_wsgi_release(it);
    /* Not while another keeper creates one (see sw_interp_create); the
     * lock is taken without the GIL, as there (with a shared GIL, its
     * holder may be waiting for the GIL). */
    PyThreadState *creator = PyEval_SaveThread();
    pthread_mutex_lock(&create_end_lock);
    PyEval_RestoreThread(creator);
    Py_EndInterpreter(it->creator_ts);
    pthread_mutex_unlock(&create_end_lock);
    if (it->mode == SW_ISOLATION_OWN_GIL)
        PyEval_RestoreThread(main_ts);   /* 3.12+: End leaves no GIL held */
    else
        PyThreadState_Swap(main_ts);     /* legacy: the main GIL is still held */
}

int sw_interp_start_workers(sw_interp_t *it)
{
    sw_app_t *app = it->app;
    int n = it->gen->cfg->threads;
    it->workers = calloc((size_t)n, sizeof *it->workers);
    if (!it->workers)
        return -1;
    it->n_workers = n;
    it->request_timeout = app->request_timeout;   /* before the workers read it */
    for (int i = 0; i < n; i++) {
        sw_worker_t *w = &it->workers[i];
        w->interp = it;
        w->index = i;
        sw_app_worker_started(app, it->gen);
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            sw_app_worker_exited(app, it->gen);
            sw_log(SW_LOG_ERROR, app->name, "cannot start worker thread: %s", strerror(rc));
            return -1;
        }
        w->started = 1;
    }
    return sw_watchdog_start(it, app->request_timeout);
}

sw_interp_t *sw_interp_create(sw_app_t *app, sw_generation_t *g, sw_isolation_t mode,
                              char *refusal, size_t refusal_len, char **error)
{
    refusal[0] = '\0';
    *error = NULL;
    sw_interp_t *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->app = app;
    it->gen = g;
    it->generation = g->number;
    it->mode = mode;
    it->created_at = time(NULL);

    char err[256];
    /* One creation at a time in the process (FACTS.md section 2), across
     * keeper threads; the app's import that follows runs in parallel with
     * other builds, so a wedged import holds nobody else up. The lock is
     * taken without the GIL (its holder may need the GIL to finish). */
    PyThreadState *saved = PyEval_SaveThread();
    pthread_mutex_lock(&create_end_lock);
    PyEval_RestoreThread(saved);
    PyThreadState *ts = new_interpreter(mode, err, sizeof err);
    pthread_mutex_unlock(&create_end_lock);
    if (!ts) {
        sw_log(SW_LOG_ERROR, app->name, "cannot create a %s interpreter: %s",
               sw_isolation_name(mode), err);
        *error = strdup(err);
        free(it);
        return NULL;
    }
    it->creator_ts = mode == SW_ISOLATION_MAIN ? NULL : ts;
    it->state = PyThreadState_GetInterpreter(ts);
    it->id = PyInterpreterState_GetID(it->state);

    /* A crash in the import (a C extension's) names the app (crashpad.h). */
    sw_crashpad_enter(app->name, "import", g->cfg->wsgi);
    int loaded = sw_wsgi_prepare(it) == 0 && load_app(it) == 0;
    sw_crashpad_leave();
    /* What the import printed without a final '\n' comes before the
     * outcome (no Python call: fine with the exception still set). */
    sw_wsgi_flush_logs(it);
    if (!loaded) {
        log_load_error(it, app->name, refusal, refusal_len, error);
        back_to_main(it);
        end_interpreter(it);
        free(it);
        return NULL;
    }
    back_to_main(it);
    sw_log(SW_LOG_INFO, app->name, "interpreter %lld (%s, generation %d) loaded %s",
           (long long)it->id, sw_isolation_name(mode), g->number, g->cfg->wsgi);
    return it;
}

/* Asks the app's own threads to stop before the interpreter ends: the hooks
 * of threading._register_atexit (concurrent.futures uses them), then
 * SystemExit injected into each thread still alive (FACTS.md section 6).
 * Runs in the interpreter; returns the names of threads still alive. */
static const char stop_threads_source[] =
    "def _subwsgi_stop_threads(stop_s, inject):\n"
    "    import sys, time\n"
    "    threading = sys.modules.get('threading')\n"
    "    if threading is None:\n"
    "        return ''\n"
    "    # The interpreter's main thread is the loader (its creator), not the app's.\n"
    "    # Daemon threads count too: a thread started in a request inherits\n"
    "    # daemon=True from the worker's _DummyThread (FACTS.md section 10), and\n"
    "    # any thread left makes Py_EndInterpreter fatal. The _DummyThreads are\n"
    "    # the server's workers, already gone.\n"
    "    mine = (threading.current_thread(), threading.main_thread())\n"
    "    def alive():\n"
    "        return [t for t in threading.enumerate() if t not in mine and t.is_alive()\n"
    "                and not isinstance(t, threading._DummyThread)]\n"
    "    # 3.13: a _DummyThread (a worker seen by threading) whose helper object\n"
    "    # outlives its thread runs __del__ during the end, when the module's\n"
    "    # globals are gone, and prints a TypeError. The interpreter is going:\n"
    "    # there is nothing left for it to clean.\n"
    "    helper = getattr(threading, '_DeleteDummyThreadOnDel', None)\n"
    "    if helper is not None:\n"
    "        helper.__del__ = lambda self: None\n"
    "    if not alive():\n"
    "        return ''\n"
    "    for hook in reversed(list(getattr(threading, '_threading_atexits', []))):\n"
    "        try:\n"
    "            hook()\n"
    "        except Exception:\n"
    "            pass\n"
    "    deadline = time.monotonic() + stop_s\n"
    "    injected = False\n"
    "    while alive() and time.monotonic() < deadline:\n"
    "        if not injected and time.monotonic() > deadline - stop_s / 2:\n"
    "            for t in alive():\n"
    "                inject(t.ident)\n"
    "            injected = True\n"
    "        time.sleep(0.01)\n"
    "    return ', '.join('%s%s' % (t.name, ' (daemon)' if t.daemon else '') for t in alive())\n";

static PyObject *inject_system_exit(PyObject *self, PyObject *arg)
{
    (void)self;
    unsigned long ident = PyLong_AsUnsignedLong(arg);
    if (ident == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(PyThreadState_SetAsyncExc(ident, PyExc_SystemExit));
}

static PyMethodDef inject_def = {"inject", inject_system_exit, METH_O, NULL};

/* Returns the names of app threads that would not stop (malloc'd, "" when
 * none). The interpreter's creator thread state is current. */
static char *stop_app_threads(double stop_s)
{
    char *left = NULL;
    PyObject *globals = PyDict_New(), *code = NULL, *inject = NULL, *res = NULL;
    if (!globals || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        goto done;
    code = PyRun_String(stop_threads_source, Py_file_input, globals, globals);
    inject = PyCFunction_New(&inject_def, NULL);
    PyObject *fn = code ? PyDict_GetItemString(globals, "_subwsgi_stop_threads") : NULL;
    if (fn && inject)
        res = PyObject_CallFunction(fn, "dO", stop_s, inject);
    const char *names = res && PyUnicode_Check(res) ? PyUnicode_AsUTF8(res) : NULL;
    left = strdup(names ? names : "");
done:
    PyErr_Clear();
    Py_XDECREF(res);
    Py_XDECREF(inject);
    Py_XDECREF(code);
    Py_XDECREF(globals);
    return left;
}

/* Thread states of it's interpreter other than its creator's, i.e. threads
 * the app started; with inject, SystemExit is raised in each. The creator's
 * thread state is current. */
static int other_thread_states(sw_interp_t *it, int inject)
{
    int n = 0;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(it->state); t;
         t = PyThreadState_Next(t)) {
        if (t == it->creator_ts)
            continue;
        n++;
        if (inject)
            PyThreadState_SetAsyncExc(t->thread_id, PyExc_SystemExit);
    }
    return n;
}

/* Asks the threads threading does not list to stop (SystemExit) and waits
 * up to stop_s for them; returns how many are left. */
static int stop_unlisted_threads(sw_interp_t *it, double stop_s)
{
    int n = other_thread_states(it, 1);
    for (int waited_ms = 0; n > 0 && waited_ms < stop_s * 1000; waited_ms += 10) {
        Py_BEGIN_ALLOW_THREADS
        struct timespec nap = {0, 10000000L};
        nanosleep(&nap, NULL);
        Py_END_ALLOW_THREADS
        n = other_thread_states(it, 0);
    }
    return n;
}

/* Whether the extension module file at path carries Cython's guard that
 * refuses every interpreter but the first one in a process (FACTS.md
 * section 10: "Interpreter change detected"). */
static int refuses_other_interpreters(const char *path)
{
    static const char marker[] = "Interpreter change detected - this module can only be "
                                 "loaded into one interpreter per process";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    int found = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            found = memmem(map, (size_t)st.st_size, marker, sizeof marker - 1) != NULL;
            munmap(map, (size_t)st.st_size);
        }
    }
    close(fd);
    return found;
}

/* Extension modules that keep per-process state (single-phase init) break
 * a later generation once this one ends, unless main imported them first
 * (FACTS.md section 5). The standard library's are safe: CPython keeps
 * them working across interpreters. */
int sw_interp_needs_process_reload(sw_interp_t *it, char *reason, size_t len)
{
    reason[0] = '\0';
    if (it->mode == SW_ISOLATION_OWN_GIL)
        return 0;   /* every module passed the multi-interpreter check */
    if (it->mode == SW_ISOLATION_MAIN) {
        snprintf(reason, len, "the app runs in the main interpreter");
        return 1;
    }
    int found = 0;
    if (it->mode == SW_ISOLATION_SHARED_GIL)
        PyThreadState_Swap(it->creator_ts);
    PyObject *sysconfig = PyImport_ImportModule("sysconfig");
    PyObject *paths = sysconfig ? PyObject_CallMethod(sysconfig, "get_paths", NULL) : NULL;
    PyObject *stdlib = paths ? PyDict_GetItemString(paths, "platstdlib") : NULL;
    const char *std = stdlib && PyUnicode_Check(stdlib) ? PyUnicode_AsUTF8(stdlib) : NULL;
    PyObject *mods = PySys_GetObject("modules");   /* borrowed */
    PyObject *key, *mod;
    Py_ssize_t pos = 0;
    while (!found && mods && PyDict_Next(mods, &pos, &key, &mod)) {
        if (!PyModule_Check(mod))
            continue;
        PyModuleDef *def = PyModule_GetDef(mod);
        if (!def)
            continue;   /* pure Python */
        PyObject *file = PyModule_GetFilenameObject(mod);
        const char *path = file ? PyUnicode_AsUTF8(file) : NULL;
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        int stdlib_module = path && std && strncmp(path, std, strlen(std)) == 0;
        if (def->m_slots) {
            /* Multi-phase init, but Cython 0.29's modules still refuse a
             * second interpreter, even after the first one ended; a preload
             * does not help (main would be that first one). */
            if (path && name && !stdlib_module && refuses_other_interpreters(path)) {
                snprintf(reason, len, "module %s (%s) can be loaded into one interpreter per "
                         "process (Cython)", name, path);
                found = 1;
            }
        } else if (path && name && !stdlib_module) {
            int pre = 0;
            for (size_t i = 0; i < preloaded.n && !pre; i++)
                pre = strcmp(preloaded.items[i], name) == 0;
            if (!pre) {
                snprintf(reason, len, "module %s (%s) uses single-phase init and was not "
                         "preloaded: add it to [server] preload", name, path);
                found = 1;
            }
        }
        Py_XDECREF(file);
        PyErr_Clear();
    }
    PyErr_Clear();
    Py_XDECREF(paths);
    Py_XDECREF(sysconfig);
    if (it->mode == SW_ISOLATION_SHARED_GIL)
        PyThreadState_Swap(main_ts);
    return found;
}

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

void sw_interp_source_files(sw_interp_t *it, sw_strv_t *out)
{
    const sw_app_config_t *cfg = it->gen->cfg;
    char appdir[PATH_MAX] = "";
    if (cfg->wsgi_file) {
        sw_strv_push(out, cfg->wsgi_file);
        snprintf(appdir, sizeof appdir, "%s", cfg->wsgi_file);
        char *slash = strrchr(appdir, '/');
        if (slash)
            *slash = '\0';
    }
    if (it->mode == SW_ISOLATION_OWN_GIL) {
        PyEval_SaveThread();
        PyEval_RestoreThread(it->creator_ts);
    } else if (it->mode == SW_ISOLATION_SHARED_GIL) {
        PyThreadState_Swap(it->creator_ts);
    }
    PyObject *mods = PySys_GetObject("modules");   /* borrowed */
    PyObject *key, *mod;
    Py_ssize_t pos = 0;
    while (mods && PyDict_Next(mods, &pos, &key, &mod)) {
        PyObject *file = PyModule_Check(mod) ? PyModule_GetFilenameObject(mod) : NULL;
        const char *path = file ? PyUnicode_AsUTF8(file) : NULL;
        if (path && !strstr(path, "-packages/")) {
            int mine = appdir[0] && under(path, appdir);
            for (size_t i = 0; !mine && i < cfg->python_path.n; i++)
                mine = under(path, cfg->python_path.items[i]);
            if (mine && (!cfg->wsgi_file || strcmp(path, cfg->wsgi_file) != 0))
                sw_strv_push(out, path);
        }
        Py_XDECREF(file);
        PyErr_Clear();
    }
    back_to_main(it);
}

int sw_interp_end(sw_interp_t *it, double stop_s, char *why, size_t whylen)
{
    /* Without the GIL: the watchdog deletes its thread state on its own
     * thread, which needs this interpreter's GIL (the main one, if shared). */
    PyThreadState *saved = PyEval_SaveThread();
    sw_watchdog_stop(it);
    for (int i = 0; i < it->n_workers; i++)
        if (it->workers[i].started)
            pthread_join(it->workers[i].thread, NULL);
    PyEval_RestoreThread(saved);
    if (it->mode != SW_ISOLATION_MAIN) {
        /* Py_EndInterpreter joins non-daemon threads for ever: stop them
         * first, and give up (leave the interpreter alive) if one won't. */
        if (it->mode == SW_ISOLATION_OWN_GIL) {
            PyEval_SaveThread();
            PyEval_RestoreThread(it->creator_ts);
        } else {
            PyThreadState_Swap(it->creator_ts);
        }
        char *left = stop_app_threads(stop_s);
        /* What threading does not list (_thread.start_new_thread) still has
         * a thread state: the last word before Py_EndInterpreter, which
         * aborts the process if any other thread state is left. */
        int unlisted = left && left[0] ? 0 : stop_unlisted_threads(it, stop_s / 2);
        back_to_main(it);
        if ((left && left[0]) || unlisted) {
            if (unlisted)
                snprintf(why, whylen, "app threads did not stop within %gs: %d thread%s not "
                         "known to threading (_thread.start_new_thread)", stop_s, unlisted,
                         unlisted == 1 ? "" : "s");
            else
                snprintf(why, whylen, "app threads did not stop within %gs: %s", stop_s, left);
            sw_log(SW_LOG_WARN, it->app->name, "interpreter %lld left alive: %s",
                   (long long)it->id, why);
            free(left);
            return -1;
        }
        free(left);
    }
    end_interpreter(it);
    free(it->workers);
    free(it);
    return 0;
}

/* ---- workers --------------------------------------------------------- */

/* max-requests: the generation served its share (uWSGI's max-requests,
 * mod_wsgi's maximum-requests), for apps that leak. A reload, like any
 * other: the next generation loads while this one serves. No GIL held. */
static void reload_after_max_requests(sw_app_t *app, const sw_generation_t *gen)
{
    char msg[256];
    sw_log(SW_LOG_INFO, app->name, "generation %d served max-requests (%d): reloading",
           gen->number, gen->max_requests);
    if (sw_app_reload(app, "(max-requests)", -1, msg, sizeof msg) == SW_CMD_CONFLICT)
        sw_log(SW_LOG_WARN, app->name, "max-requests: cannot reload: %s", msg);
}

static void *worker_main(void *arg)
{
    sw_worker_t *w = arg;
    sw_interp_t *it = w->interp;
    sw_app_t *app = it->app;

    /* Created on this thread, so its thread id is this thread's. */
    w->ts = PyThreadState_New(it->state);
    w->thread_ident = PyThread_get_thread_ident();
    sw_request_t *r;
    /* Not before the generation is swapped in: a request it answers must
     * already show as this generation's in status. */
    int serve = sw_app_worker_wait_serving(app, it->gen);
    while (serve && (r = sw_queue_pop_unless(&app->queue, &it->gen->retired))) {
        atomic_fetch_add(&app->counters.active, 1);
        sw_wsgi_result_t res = {0};
        PyEval_RestoreThread(w->ts);
        sw_watchdog_request_begin(w, it->request_timeout);
        sw_crashpad_enter(app->name, sw_request_header(r, "REQUEST_METHOD"),
                          sw_request_header(r, "REQUEST_URI"));
        sw_wsgi_serve(w, r, &res);
        sw_crashpad_leave();
        sw_watchdog_request_end(w);
        /* A streamed body cut short by the client (read under the GIL, as
         * reqctx.h wants): the client's doing, counted apart. */
        int aborted = res.ctx && res.ctx->client_aborted;
        PyEval_SaveThread();
        it->requests++;
        atomic_fetch_sub(&app->counters.active, 1);
        if (aborted)
            atomic_fetch_add(&app->counters.client_aborts, 1);
        else
            sw_app_count_response(app, res.status, sw_elapsed_ms(&r->accepted));
        sw_log_access(app->name, sw_request_header(r, "REQUEST_METHOD"),
                      sw_request_header(r, "REQUEST_URI"), res.status, res.bytes,
                      sw_elapsed_ms(&r->accepted));
        sw_wsgi_end(r, &res);   /* ends the connection; r is gone after */
        if (it->gen->max_requests > 0 &&
            atomic_fetch_add(&it->gen->served, 1) + 1 == it->gen->max_requests)
            reload_after_max_requests(app, it->gen);
    }
    PyEval_RestoreThread(w->ts);
    PyThreadState_Clear(w->ts);
    PyThreadState_DeleteCurrent();
    sw_app_worker_exited(app, it->gen);
    return NULL;
}

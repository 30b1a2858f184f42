/* wsgi.c: one WSGI request end to end in a worker (environ, calling the
 * app, iterating and sending the result, close(), errors), the built-in
 * module _subwsgi that holds our types per interpreter (multi-phase init,
 * so isolated interpreters accept it: FACTS.md section 9), and wsgi.errors. */
#include "wsgi.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "wsgi_types.h"

static int module_exec(PyObject *module);
static int build_environ_template(sw_interp_t *it, sw_module_state_t *st);
static PyObject *build_environ(sw_interp_t *it, sw_reqctx_t *ctx, PyObject *input);
static int send_result(sw_interp_t *it, sw_ctxobject_t *sr, PyObject *result);
static int try_sendfile(sw_ctxobject_t *sr, sw_file_wrapper_object_t *fw);

/* ---- module _subwsgi ------------------------------------------------- */

static sw_module_state_t *module_state(PyObject *module)
{
    return (sw_module_state_t *)PyModule_GetState(module);
}

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
    sw_module_state_t *st = module_state(m);
    Py_VISIT(st->input_type);
    Py_VISIT(st->start_response_type);
    Py_VISIT(st->errors_type);
    Py_VISIT(st->file_wrapper_type);
    Py_VISIT(st->out);
    Py_VISIT(st->err);
    Py_VISIT(st->errors);
    return 0;
}

static int module_clear(PyObject *m)
{
    sw_module_state_t *st = module_state(m);
    Py_CLEAR(st->input_type);
    Py_CLEAR(st->start_response_type);
    Py_CLEAR(st->errors_type);
    Py_CLEAR(st->file_wrapper_type);
    Py_CLEAR(st->out);
    Py_CLEAR(st->err);
    Py_CLEAR(st->errors);
    return 0;
}

static void module_free(void *m)
{
    module_clear((PyObject *)m);
}

static PyTypeObject *add_type(PyObject *module, PyType_Spec *spec)
{
    PyObject *t = PyType_FromModuleAndSpec(module, spec, NULL);
    if (!t)
        return NULL;
    if (PyModule_AddType(module, (PyTypeObject *)t) < 0) {
        Py_DECREF(t);
        return NULL;
    }
    return (PyTypeObject *)t;
}

static int module_exec(PyObject *module)
{
    sw_module_state_t *st = module_state(module);
    if (!(st->input_type = add_type(module, &sw_input_spec)) ||
        !(st->start_response_type = add_type(module, &sw_start_response_spec)) ||
        !(st->errors_type = add_type(module, &sw_errors_spec)) ||
        !(st->file_wrapper_type = add_type(module, &sw_file_wrapper_spec)))
        return -1;
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_subwsgi",
    .m_doc = "subwsgi's per-interpreter WSGI types",
    .m_size = sizeof(sw_module_state_t),
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

static PyObject *init_module(void)
{
    return PyModuleDef_Init(&module_def);
}

int sw_wsgi_register_module(void)
{
    return PyImport_AppendInittab("_subwsgi", init_module);
}

/* ---- wsgi.errors / sys.stdout / sys.stderr --------------------------- */

/* Logs the line held in buf (if any) and empties it. Empty lines are not
 * logged: a line of nothing says nothing in the error log. */
static void errors_emit(sw_errors_object_t *self)
{
    if (self->len > 0)
        sw_log_text(self->level, self->app_name, self->buf, self->len);
    self->len = 0;
}

void sw_errors_flush_line(PyObject *stream)
{
    sw_errors_object_t *self = (sw_errors_object_t *)stream;
    if (!stream)
        return;
    errors_emit(self);
    /* The next text begins a line of its own (a new request's). */
    self->cutting = 0;
}

/* Line by line: print("a", 1) writes "a", " ", "1" and "\n" in four
 * calls, and they make one line. A line longer than the buffer (the
 * error log's bound) is logged cut there and the rest of it dropped, as
 * the error log cuts its lines; text without a '\n' is logged when the
 * buffer fills, at the request's end, or when the interpreter ends. No
 * allocation per line: the buffer is part of the object. */
static PyObject *errors_write(PyObject *op, PyObject *arg)
{
    sw_errors_object_t *self = (sw_errors_object_t *)op;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!s)
        return NULL;
    size_t left = (size_t)len;
    while (left > 0) {
        const char *nl = memchr(s, '\n', left);
        size_t piece = nl ? (size_t)(nl - s) : left;
        if (!self->cutting) {
            size_t room = sizeof self->buf - self->len;
            size_t take = piece < room ? piece : room;
            memcpy(self->buf + self->len, s, take);
            self->len += take;
            if (nl || self->len == sizeof self->buf) {
                errors_emit(self);
                /* Full without its end: drop the rest of this line. */
                self->cutting = !nl;
            }
        } else if (nl) {
            self->cutting = 0;   /* the end of the line being dropped */
        }
        if (!nl)
            break;
        s = nl + 1;
        left -= piece + 1;
    }
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

static PyObject *errors_writelines(PyObject *op, PyObject *seq)
{
    PyObject *it = PyObject_GetIter(seq), *item;
    if (!it)
        return NULL;
    while ((item = PyIter_Next(it))) {
        PyObject *r = errors_write(op, item);
        Py_DECREF(item);
        if (!r) {
            Py_DECREF(it);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *errors_flush(PyObject *op, PyObject *unused)
{
    (void)op;
    (void)unused;
    Py_RETURN_NONE;
}

static PyObject *errors_false(PyObject *op, PyObject *unused)
{
    (void)op;
    (void)unused;
    Py_RETURN_FALSE;
}

static void errors_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* The interpreter ends (or the app dropped its stream): what it held
     * of a line is not lost. */
    sw_errors_flush_line(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyMethodDef errors_methods[] = {
    {"write", errors_write, METH_O, "write(str): to the error log"},
    {"writelines", errors_writelines, METH_O, "writelines(seq)"},
    {"flush", errors_flush, METH_NOARGS, "flush()"},
    {"isatty", errors_false, METH_NOARGS, "isatty() -> False"},
    {"seekable", errors_false, METH_NOARGS, "seekable() -> False"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot errors_slots[] = {
    {Py_tp_dealloc, errors_dealloc},
    {Py_tp_methods, errors_methods},
    {Py_tp_doc, "wsgi.errors: lines go to subwsgi's error log, prefixed with the app"},
    {0, NULL},
};

PyType_Spec sw_errors_spec = {
    .name = "_subwsgi.ErrorStream",
    .basicsize = sizeof(sw_errors_object_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = errors_slots,
};

PyObject *sw_errors_new(sw_module_state_t *st, const char *app_name, sw_log_level_t level)
{
    sw_errors_object_t *o = PyObject_New(sw_errors_object_t, st->errors_type);
    if (!o)
        return NULL;
    o->app_name = app_name;
    o->level = level;
    o->cutting = 0;
    o->len = 0;
    return (PyObject *)o;
}

/* ---- per-interpreter set-up ------------------------------------------ */

static int set_item(PyObject *d, const char *key, PyObject *value /* stolen */)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

static int build_environ_template(sw_interp_t *it, sw_module_state_t *st)
{
    const sw_app_config_t *cfg = it->gen->cfg;
    PyObject *t = PyDict_New();
    if (!t)
        return -1;
    it->environ_template = t;
    if (set_item(t, "wsgi.version", Py_BuildValue("(ii)", 1, 0)) < 0 ||
        PyDict_SetItemString(t, "wsgi.errors", st->errors) < 0 ||
        set_item(t, "wsgi.multithread", PyBool_FromLong(cfg->threads > 1)) < 0 ||
        set_item(t, "wsgi.multiprocess", PyBool_FromLong(0)) < 0 ||
        set_item(t, "wsgi.run_once", PyBool_FromLong(0)) < 0 ||
        set_item(t, "wsgi.input_terminated", PyBool_FromLong(1)) < 0 ||
        PyDict_SetItemString(t, "wsgi.file_wrapper", (PyObject *)st->file_wrapper_type) < 0 ||
        set_item(t, "subwsgi.app", PyUnicode_FromString(it->app->name)) < 0 ||
        set_item(t, "subwsgi.generation", PyLong_FromLong(it->generation)) < 0 ||
        set_item(t, "subwsgi.interpreter", PyLong_FromLongLong(it->id)) < 0 ||
        set_item(t, "subwsgi.isolation", PyUnicode_FromString(sw_isolation_name(it->mode))) < 0)
        return -1;

    PyObject *extra = PyDict_New();
    if (!extra)
        return -1;
    it->environ_extra = extra;
    for (size_t i = 0; i < cfg->environ.n; i++) {
        const char *kv = cfg->environ.items[i];
        const char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        PyObject *k = PyUnicode_DecodeUTF8(kv, eq - kv, "surrogateescape");
        PyObject *v = PyUnicode_DecodeUTF8(eq + 1, (Py_ssize_t)strlen(eq + 1), "surrogateescape");
        int rc = (k && v) ? PyDict_SetItem(extra, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int sw_wsgi_prepare(sw_interp_t *it)
{
    PyObject *mod = PyImport_ImportModule("_subwsgi");
    if (!mod)
        return -1;
    it->module = mod;
    sw_module_state_t *st = module_state(mod);
    /* The module state keeps them, for the flush at each request's end
     * (the main interpreter's module outlives an app that ran in it). */
    Py_CLEAR(st->out);
    Py_CLEAR(st->err);
    Py_CLEAR(st->errors);
    if (!(st->out = sw_errors_new(st, it->app->name, SW_LOG_INFO)) ||
        !(st->err = sw_errors_new(st, it->app->name, SW_LOG_WARN)) ||
        !(st->errors = sw_errors_new(st, it->app->name, SW_LOG_WARN)) ||
        PySys_SetObject("stdout", st->out) < 0 || PySys_SetObject("stderr", st->err) < 0)
        return -1;
    PyObject *tb = PyImport_ImportModule("traceback");
    if (!tb)
        return -1;
    it->format_exception = PyObject_GetAttrString(tb, "format_exception");
    Py_DECREF(tb);
    if (!it->format_exception)
        return -1;
    return build_environ_template(it, st);
}

void sw_wsgi_flush_logs(sw_interp_t *it)
{
    if (!it->module)
        return;
    sw_module_state_t *st = module_state(it->module);
    sw_errors_flush_line(st->out);
    sw_errors_flush_line(st->err);
    sw_errors_flush_line(st->errors);
}

void sw_wsgi_release(sw_interp_t *it)
{
    sw_wsgi_flush_logs(it);
    Py_CLEAR(it->callable);
    Py_CLEAR(it->environ_template);
    Py_CLEAR(it->environ_extra);
    Py_CLEAR(it->format_exception);
    Py_CLEAR(it->module);
}

/* ---- one request ----------------------------------------------------- */

static PyObject *latin1_str(const char *s, size_t len)
{
    /* PEP 3333: environ strings are "bytes-as-latin-1" native strings. */
    return PyUnicode_DecodeLatin1(s, (Py_ssize_t)len, NULL);
}

static int is_https(sw_request_t *r)
{
    const char *https = sw_request_header(r, "HTTPS");
    const char *scheme = sw_request_header(r, "REQUEST_SCHEME");
    return (https && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0)) ||
           (scheme && strcasecmp(scheme, "https") == 0);
}

/* PEP 3333 reserves the wsgi. prefix for the server, and subwsgi.* are
 * ours: an SCGI header (a front end's scgi_param, or anyone who can reach
 * the SCGI port) named so would replace the server's value, so it never
 * reaches the environ. */
static int server_key(const char *name, size_t len)
{
    return (len >= 5 && memcmp(name, "wsgi.", 5) == 0) ||
           (len >= 8 && memcmp(name, "subwsgi.", 8) == 0);
}

/* Returns a new environ dict, or NULL with an exception set. */
static PyObject *build_environ(sw_interp_t *it, sw_reqctx_t *ctx, PyObject *input)
{
    sw_request_t *r = ctx->req;
    PyObject *env = PyDict_Copy(it->environ_template);
    if (!env)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++) {
        const sw_scgi_header_t *h = &r->headers[i];
        if (server_key(h->name, h->name_len)) {
            sw_log(SW_LOG_INFO, ctx->app_name,
                   "SCGI header %s dropped: wsgi.* and subwsgi.* keys are the server's", h->name);
            continue;
        }
        PyObject *k = latin1_str(h->name, h->name_len);
        PyObject *v = latin1_str(h->value, h->value_len);
        int rc = (k && v) ? PyDict_SetItem(env, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0)
            goto fail;
    }
    size_t sn = r->script_name_len;
    if (set_item(env, "SCRIPT_NAME", latin1_str(r->path, sn)) < 0 ||
        set_item(env, "PATH_INFO", latin1_str(r->path + sn, strlen(r->path + sn))) < 0 ||
        set_item(env, "wsgi.url_scheme", PyUnicode_FromString(is_https(r) ? "https" : "http")) < 0 ||
        PyDict_SetItemString(env, "wsgi.input", input) < 0 ||
        PyDict_Update(env, it->environ_extra) < 0)
        goto fail;
    return env;
fail:
    Py_DECREF(env);
    return NULL;
}

/* A new InputStream or StartResponse holding a reference to ctx (new
 * Python reference), or NULL with an exception set. */
static PyObject *new_ctx_object(PyTypeObject *type, sw_reqctx_t *ctx)
{
    sw_ctxobject_t *o = PyObject_New(sw_ctxobject_t, type);
    if (o) {
        sw_reqctx_retain(ctx);
        o->ctx = ctx;
        o->body_cut = 0;
    }
    return (PyObject *)o;
}

sw_reqctx_t *sw_wsgi_live_ctx(sw_ctxobject_t *self, const char *what)
{
    if (sw_reqctx_finished(self->ctx)) {
        sw_wsgi_raise_ended(what);
        return NULL;
    }
    return self->ctx;
}

void sw_wsgi_raise_ended(const char *what)
{
    /* OSError, like any use of a closed connection; ENOTCONN because the
     * object no longer has one. */
    PyObject *args = Py_BuildValue("(is)", ENOTCONN,
                                   what ? what : "the request has ended");
    if (args) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
    }
}

void sw_wsgi_ctxobject_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    sw_reqctx_t *ctx = ((sw_ctxobject_t *)self)->ctx;
    tp->tp_free(self);
    Py_DECREF(tp);
    sw_reqctx_release(ctx);   /* may close the request's fd: no Python after it */
}

/* Sends the app's result; sr is the request's start_response. Returns 0,
 * or -1 with a Python exception set. */
static int send_result(sw_interp_t *it, sw_ctxobject_t *sr, PyObject *result)
{
    sw_reqctx_t *ctx = sr->ctx;
    sw_module_state_t *st = module_state(it->module);
    if (Py_IS_TYPE(result, st->file_wrapper_type)) {
        int rc = try_sendfile(sr, (sw_file_wrapper_object_t *)result);
        if (rc <= 0)
            return rc;   /* sent (or failed); 1 means iterate instead */
    }
    PyObject *iter = PyObject_GetIter(result), *item;
    if (!iter)
        return -1;
    while (!ctx->client_gone && (item = PyIter_Next(iter))) {
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "the app yielded %.100s, not bytes",
                         Py_TYPE(item)->tp_name);
            Py_DECREF(item);
            Py_DECREF(iter);
            return -1;
        }
        Py_ssize_t n = PyBytes_GET_SIZE(item);
        /* "start_response must not actually transmit the response headers
         * [until] the application's return value yields its first
         * non-empty bytestring". */
        if (n > 0) {
            if (!ctx->status_code) {
                PyErr_SetString(PyExc_AssertionError,
                                "the app produced body data before calling start_response");
                Py_DECREF(item);
                Py_DECREF(iter);
                return -1;
            }
            if (sw_response_send(ctx, PyBytes_AS_STRING(item), (size_t)n) == 1) {
                /* Content-Length is reached: the rest would be dropped,
                 * so stop asking for it (close() is still called). */
                sw_response_note_cut(sr);
                Py_DECREF(item);
                break;
            }
        }
        Py_DECREF(item);
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return -1;
    if (!ctx->headers_sent && !ctx->client_gone) {
        if (!ctx->status_code) {
            PyErr_SetString(PyExc_AssertionError, "the app returned without calling start_response");
            return -1;
        }
        sw_response_send(ctx, NULL, 0);
    }
    return 0;
}

/* wsgi.file_wrapper over a regular file: sendfile(2) from the file's
 * current position. Returns 0 when sent, 1 when the object must be iterated
 * instead (no usable fileno, not a regular file, or a size of 0), -1 with
 * an exception set. */
static int try_sendfile(sw_ctxobject_t *sr, sw_file_wrapper_object_t *fw)
{
    sw_reqctx_t *ctx = sr->ctx;
    PyObject *fileno = PyObject_CallMethod(fw->filelike, "fileno", NULL);
    if (!fileno) {
        PyErr_Clear();
        return 1;
    }
    int fd = PyLong_AsLong(fileno);
    Py_DECREF(fileno);
    /* sendfile only where the size is real: files in /proc (and others
     * the kernel makes up as they are read) say 0 but have content, and
     * iterating, i.e. read() until EOF, sends it. A truly empty file costs
     * one read. */
    struct stat sb;
    if (fd < 0 || PyErr_Occurred() || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        sb.st_size <= 0) {
        PyErr_Clear();
        return 1;
    }
    /* Python's buffered file may have read ahead: its tell() is the truth. */
    off_t offset;
    PyObject *pos = PyObject_CallMethod(fw->filelike, "tell", NULL);
    if (pos) {
        offset = (off_t)PyLong_AsLongLong(pos);
        Py_DECREF(pos);
        if (PyErr_Occurred())
            return -1;
    } else {
        PyErr_Clear();
        offset = lseek(fd, 0, SEEK_CUR);
        if (offset < 0)
            return 1;
    }
    if (!ctx->status_code) {
        PyErr_SetString(PyExc_AssertionError, "file_wrapper returned before start_response");
        return -1;
    }
    uint64_t count = sb.st_size > offset ? (uint64_t)(sb.st_size - offset) : 0;
    /* What write() sent already counts against Content-Length. */
    if (count > sw_response_room(ctx)) {
        count = sw_response_room(ctx);
        sw_response_note_cut(sr);
    }
    sw_response_sendfile(ctx, fd, offset, count);
    return 0;
}

static void call_close(sw_interp_t *it, sw_reqctx_t *ctx, PyObject *result)
{
    /* "If the iterable returned by the application has a close() method,
     * the server or gateway must call that method upon completion of the
     * current request, whether the request was completed normally, or
     * terminated early due to an application error". */
    PyObject *close = PyObject_GetAttrString(result, "close");
    if (!close) {
        PyErr_Clear();
        return;
    }
    PyObject *r = PyObject_CallNoArgs(close);
    Py_DECREF(close);
    if (r)
        Py_DECREF(r);
    else
        sw_interp_log_exception(it, ctx->app_name, "close() of the response raised");
}

void sw_wsgi_serve(sw_worker_t *w, sw_request_t *r, sw_wsgi_result_t *out)
{
    sw_interp_t *it = w->interp;
    sw_module_state_t *st = module_state(it->module);
    PyObject *input = NULL, *start_response = NULL, *environ = NULL, *result = NULL;
    /* On the heap: the app may keep its objects (and threads using them)
     * past this request; they hold references (reqctx.h). */
    sw_reqctx_t *ctx = sw_reqctx_new(r, it->app->name);
    out->ctx = ctx;
    if (!ctx) {
        Py_BEGIN_ALLOW_THREADS
        sw_request_reply(r, 503, "Service Unavailable", "out of memory");
        Py_END_ALLOW_THREADS
        out->status = 503;
        return;
    }

    sw_input_begin(ctx);
    input = new_ctx_object(st->input_type, ctx);
    start_response = new_ctx_object(st->start_response_type, ctx);
    if (!input || !start_response)
        goto error;
    environ = build_environ(it, ctx, input);
    if (!environ)
        goto error;
    result = PyObject_CallFunctionObjArgs(it->callable, environ, start_response, NULL);
    if (!result)
        goto error;
    if (send_result(it, (sw_ctxobject_t *)start_response, result) < 0)
        goto error;
    goto done;

error:
    /* The app's own lines first, then why it failed. */
    sw_wsgi_flush_logs(it);
    if (ctx->client_aborted) {
        /* The client left mid-body (wsgi.input raised, and the app let it
         * through): the client's doing, not the app's. One line, no
         * traceback, and no answer: nobody is there to read it. */
        PyErr_Clear();
        sw_log(SW_LOG_INFO, ctx->app_name, "client abort on %s %s: the connection closed "
               "before the whole body (%llu bytes not received); no response",
               sw_request_header(ctx->req, "REQUEST_METHOD") ?
                   sw_request_header(ctx->req, "REQUEST_METHOD") : "-",
               sw_request_header(ctx->req, "REQUEST_URI") ?
                   sw_request_header(ctx->req, "REQUEST_URI") : "-",
               (unsigned long long)ctx->in_left);
        ctx->client_gone = 1;
    } else if (ctx->headers_sent) {
        sw_interp_log_exception(it, ctx->app_name,
                                "error after the response started; connection reset");
        ctx->client_gone = 1;
        out->truncated = 1;
    } else if (w->timed_out) {
        sw_interp_log_exception(it, ctx->app_name, "request-timeout exceeded");
        sw_response_error(ctx, 504, "Gateway Timeout");
    } else {
        sw_interp_log_exception(it, ctx->app_name, "error in the app");
        sw_response_error(ctx, 500, "Internal Server Error");
    }
done:
    if (result) {
        call_close(it, ctx, result);
        Py_DECREF(result);
    }
    if (PyErr_Occurred())
        sw_interp_log_exception(it, ctx->app_name, "unexpected error");
    /* A line the app left open ends with its request. */
    sw_wsgi_flush_logs(it);
    out->status = ctx->headers_sent ? ctx->status_code : 0;
    out->bytes = ctx->bytes_sent;
    /* The objects may outlive the request (an app can keep references):
     * they keep ctx alive, and sw_wsgi_end makes them raise. Usually they
     * go here and the worker's reference is the last. */
    Py_XDECREF(environ);
    Py_XDECREF(start_response);
    Py_XDECREF(input);
}

void sw_wsgi_end(sw_request_t *r, sw_wsgi_result_t *res)
{
    if (res->ctx)
        sw_reqctx_end(res->ctx, res->truncated);   /* owns r */
    else
        sw_request_free(r);
    res->ctx = NULL;
}

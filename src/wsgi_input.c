/* wsgi_input.c: wsgi.input, the request body (PEP 3333). The I/O thread
 * usually read the whole body before queuing (request.h: in buf, or in an
 * unlinked temporary file read here with pread); with request-buffering =
 * off the bytes it read are served first and the rest is received from the
 * socket on demand (polling while the client is slow, at most
 * SW_CLIENT_WAIT_MS per wait). The GIL is released around file and socket
 * reads, which never go past CONTENT_LENGTH ("the server must not read past
 * the end of the input" is what makes wsgi.input_terminated True). Once the
 * request has ended (a thread of the app kept the stream), every read
 * raises OSError without touching the socket; a read blocked at that moment
 * wakes and raises. */
#include "wsgi_types.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define INPUT_CHUNK 65536

static PyObject *input_read(sw_ctxobject_t *self, PyObject *args);
static PyObject *input_readline(sw_ctxobject_t *self, PyObject *args);
static PyObject *input_readlines(sw_ctxobject_t *self, PyObject *args);
static PyObject *input_iternext(sw_ctxobject_t *self);

void sw_input_begin(sw_reqctx_t *ctx)
{
    sw_request_t *r = ctx->req;
    size_t have = r->body_state == SW_BODY_FILE ? 0 : r->len - r->body_off;
    if (have > r->content_length)
        have = (size_t)r->content_length;
    ctx->in_ptr = r->buf + r->body_off;
    ctx->in_avail = have;
    ctx->in_left = r->content_length - have;
    ctx->in_file_off = 0;
    ctx->in_buf = NULL;
}

static sw_reqctx_t *live_ctx(sw_ctxobject_t *self)
{
    return sw_wsgi_live_ctx(self, "wsgi.input: the request has ended");
}

/* Reads up to len bytes of the buffered body's file into dst with the GIL
 * released. Returns the count (> 0), or -1 with OSError set. */
static Py_ssize_t pread_some(sw_reqctx_t *ctx, char *dst, size_t len)
{
    if (sw_reqctx_finished(ctx)) {
        sw_wsgi_raise_ended("wsgi.input: the request has ended");
        return -1;
    }
    ssize_t n;
    int err = 0;
    Py_BEGIN_ALLOW_THREADS
    do
        n = pread(ctx->req->body_fd, dst, len, (off_t)ctx->in_file_off);
    while (n < 0 && (err = errno) == EINTR);
    Py_END_ALLOW_THREADS
    if (n > 0) {
        ctx->in_file_off += (uint64_t)n;
        ctx->in_left -= (uint64_t)n;
        return n;
    }
    if (n == 0)
        PyErr_SetString(PyExc_OSError, "the buffered request body ended early");
    else {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
    }
    return -1;
}

/* Fetches up to len more body bytes into dst: from the buffered body's
 * file, or from the socket (with the GIL released). Returns the count
 * (> 0), or -1 with OSError set (timeout, reset, early EOF, the request
 * ended). */
static Py_ssize_t recv_some(sw_reqctx_t *ctx, char *dst, size_t len)
{
    if (ctx->req->body_state == SW_BODY_FILE)
        return pread_some(ctx, dst, len);
    ssize_t n = -1;
    int err = 0, ended = 0;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        /* Before each syscall: after the end, the fd may be a placeholder
         * (reqctx.h); a wait in progress was woken by the end. */
        if ((ended = sw_reqctx_finished(ctx)))
            break;
        n = recv(ctx->req->fd, dst, len, 0);
        if (n >= 0)
            break;
        err = errno;
        if (err == EINTR)
            continue;
        if (err != EAGAIN && err != EWOULDBLOCK)
            break;
        /* The client has not sent more yet: wait (non-blocking socket). */
        int ready = sw_request_wait(ctx->req->fd, POLLIN);
        if (ready > 0)
            continue;
        if (ready < 0)
            err = errno;
        break;
    }
    Py_END_ALLOW_THREADS
    /* Bytes received after the end came from our own client (the fd is
     * the socket until the placeholder replaces it); drop them anyway. */
    if (ended || sw_reqctx_finished(ctx)) {
        sw_wsgi_raise_ended("wsgi.input: the request has ended");
        return -1;
    }
    if (n > 0) {
        ctx->in_left -= (uint64_t)n;
        return n;
    }
    /* The client left mid-body: a client abort, not an app error (the
     * worker counts it apart). */
    if (n == 0 || err == ECONNRESET)
        ctx->client_aborted = 1;
    if (n == 0)
        PyErr_SetString(PyExc_OSError,
                        "client closed the connection before sending the whole body");
    else if (err == EAGAIN || err == EWOULDBLOCK)
        PyErr_SetString(PyExc_TimeoutError, "timed out reading the request body");
    else {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
    }
    return -1;
}

/* Makes buffered bytes available. Returns in_avail (0 at the end of the
 * body) or -1 with an exception set. */
static Py_ssize_t fill(sw_reqctx_t *ctx)
{
    if (ctx->in_avail > 0 || ctx->in_left == 0)
        return (Py_ssize_t)ctx->in_avail;
    if (!ctx->in_buf) {
        ctx->in_buf = PyMem_RawMalloc(INPUT_CHUNK);
        if (!ctx->in_buf) {
            PyErr_NoMemory();
            return -1;
        }
    }
    size_t want = ctx->in_left < INPUT_CHUNK ? (size_t)ctx->in_left : INPUT_CHUNK;
    Py_ssize_t n = recv_some(ctx, ctx->in_buf, want);
    if (n < 0)
        return -1;
    ctx->in_ptr = ctx->in_buf;
    ctx->in_avail = (size_t)n;
    return n;
}

static int parse_size(PyObject *args, Py_ssize_t *size)
{
    PyObject *arg = Py_None;
    *size = -1;
    if (!PyArg_ParseTuple(args, "|O", &arg))
        return -1;
    if (arg == Py_None)
        return 0;
    *size = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (*size == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

static PyObject *input_read(sw_ctxobject_t *self, PyObject *args)
{
    Py_ssize_t size;
    sw_reqctx_t *ctx = live_ctx(self);
    if (!ctx || parse_size(args, &size) < 0)
        return NULL;
    uint64_t left = ctx->in_avail + ctx->in_left;
    if (size < 0 || (uint64_t)size > left)
        size = (Py_ssize_t)left;
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (!out)
        return NULL;
    char *dst = PyBytes_AS_STRING(out);
    size_t done = ctx->in_avail < (size_t)size ? ctx->in_avail : (size_t)size;
    memcpy(dst, ctx->in_ptr, done);
    ctx->in_ptr += done;
    ctx->in_avail -= done;
    /* The rest goes straight from the socket into the new bytes object,
     * which nobody else can see yet, so the GIL can be released. */
    while (done < (size_t)size) {
        Py_ssize_t n = recv_some(ctx, dst + done, (size_t)size - done);
        if (n < 0) {
            Py_DECREF(out);
            return NULL;
        }
        done += (size_t)n;
    }
    return out;
}

/* Reads one line (up to and including '\n'), at most limit bytes if
 * limit >= 0. */
static PyObject *read_line(sw_reqctx_t *ctx, Py_ssize_t limit)
{
    char *acc = NULL;
    size_t acc_len = 0;
    PyObject *out = NULL;
    for (;;) {
        Py_ssize_t avail = fill(ctx);
        if (avail < 0)
            goto done;
        if (avail == 0)
            break;
        size_t take = (size_t)avail;
        if (limit >= 0 && take > (size_t)limit - acc_len)
            take = (size_t)limit - acc_len;
        const char *nl = memchr(ctx->in_ptr, '\n', take);
        if (nl)
            take = (size_t)(nl - ctx->in_ptr) + 1;
        char *grown = PyMem_RawRealloc(acc, acc_len + take + 1);
        if (!grown) {
            PyErr_NoMemory();
            goto done;
        }
        acc = grown;
        memcpy(acc + acc_len, ctx->in_ptr, take);
        acc_len += take;
        ctx->in_ptr += take;
        ctx->in_avail -= take;
        if (nl || (limit >= 0 && acc_len >= (size_t)limit))
            break;
    }
    out = PyBytes_FromStringAndSize(acc ? acc : "", (Py_ssize_t)acc_len);
done:
    PyMem_RawFree(acc);
    return out;
}

static PyObject *input_readline(sw_ctxobject_t *self, PyObject *args)
{
    Py_ssize_t size;
    sw_reqctx_t *ctx = live_ctx(self);
    if (!ctx || parse_size(args, &size) < 0)
        return NULL;
    return read_line(ctx, size);
}

static PyObject *input_readlines(sw_ctxobject_t *self, PyObject *args)
{
    Py_ssize_t hint;
    sw_reqctx_t *ctx = live_ctx(self);
    if (!ctx || parse_size(args, &hint) < 0)
        return NULL;
    PyObject *lines = PyList_New(0);
    if (!lines)
        return NULL;
    Py_ssize_t total = 0;
    for (;;) {
        PyObject *line = read_line(ctx, -1);
        if (!line) {
            Py_DECREF(lines);
            return NULL;
        }
        Py_ssize_t n = PyBytes_GET_SIZE(line);
        if (n == 0) {
            Py_DECREF(line);
            break;
        }
        int rc = PyList_Append(lines, line);
        Py_DECREF(line);
        if (rc < 0) {
            Py_DECREF(lines);
            return NULL;
        }
        total += n;
        if (hint > 0 && total >= hint)
            break;
    }
    return lines;
}

static PyObject *input_iternext(sw_ctxobject_t *self)
{
    sw_reqctx_t *ctx = live_ctx(self);
    if (!ctx)
        return NULL;
    PyObject *line = read_line(ctx, -1);
    if (line && PyBytes_GET_SIZE(line) == 0) {
        Py_DECREF(line);
        return NULL;   /* StopIteration */
    }
    return line;
}

static PyMethodDef input_methods[] = {
    {"read", (PyCFunction)input_read, METH_VARARGS, "read([size]) -> bytes"},
    {"readline", (PyCFunction)input_readline, METH_VARARGS, "readline([size]) -> bytes"},
    {"readlines", (PyCFunction)input_readlines, METH_VARARGS, "readlines([hint]) -> list"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot input_slots[] = {
    {Py_tp_dealloc, sw_wsgi_ctxobject_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, input_iternext},
    {Py_tp_methods, input_methods},
    {Py_tp_doc, "wsgi.input: the request body, streamed from the socket"},
    {0, NULL},
};

PyType_Spec sw_input_spec = {
    .name = "_subwsgi.InputStream",
    .basicsize = sizeof(sw_ctxobject_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = input_slots,
};

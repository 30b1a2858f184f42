/* wsgi_response.c: start_response, write(), wsgi.file_wrapper, and putting
 * the CGI-style response on the socket (PEP 3333 "The start_response()
 * Callable" and "Buffering and Streaming"). Sends on the non-blocking
 * client socket, polling (SW_CLIENT_WAIT_MS at most) while it is full, the
 * GIL released around each send and wait. Once the request has ended (an
 * app thread kept `write`), nothing is sent: write() raises OSError, and a
 * send waiting for room at that moment wakes and stops. */
#include "wsgi_types.h"
#include "wsgi_header.h"

#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

static int build_head(sw_reqctx_t *ctx, PyObject *status, PyObject *headers);
static int send_iov(sw_reqctx_t *ctx, struct iovec *iov, int n);
static int wait_for_room(int fd);

/* ---- sending --------------------------------------------------------- */

/* The socket is full: waits for room. Returns 0 to retry the send, or the
 * errno to report: ETIMEDOUT when the client read nothing for
 * SW_CLIENT_WAIT_MS. */
static int wait_for_room(int fd)
{
    int rc = sw_request_wait(fd, POLLOUT);
    return rc > 0 ? 0 : rc == 0 ? ETIMEDOUT : errno;
}

/* Sends every byte of iov; GIL released. Returns 0 or -1 (client gone,
 * or the request ended). */
static int send_iov(sw_reqctx_t *ctx, struct iovec *iov, int n)
{
    int rc = 0, err = 0, ended = 0;
    Py_BEGIN_ALLOW_THREADS
    while (n > 0) {
        /* Before each syscall: after the end, the fd may be a placeholder
         * (reqctx.h); a wait in progress was woken by the end. */
        if ((ended = sw_reqctx_finished(ctx))) {
            rc = -1;
            break;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(ctx->req->fd, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            err = errno;
            if (err == EINTR || (err == EAGAIN && (err = wait_for_room(ctx->req->fd)) == 0))
                continue;
            rc = -1;
            break;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        ctx->client_gone = 1;
        if (!ended && !sw_reqctx_finished(ctx))
            sw_log(SW_LOG_INFO, ctx->app_name, "client gone while sending the response: %s",
                   strerror(err));
    }
    return rc;
}

uint64_t sw_response_room(const sw_reqctx_t *ctx)
{
    if (ctx->content_length < 0)
        return UINT64_MAX;
    uint64_t cl = (uint64_t)ctx->content_length;
    return ctx->bytes_sent < cl ? cl - ctx->bytes_sent : 0;
}

void sw_response_note_cut(sw_ctxobject_t *sr)
{
    if (sr->body_cut)
        return;
    sr->body_cut = 1;
    sw_log(SW_LOG_WARN, sr->ctx->app_name,
           "the app's body is longer than its Content-Length %lld: the rest is not sent",
           (long long)sr->ctx->content_length);
}

int sw_response_send(sw_reqctx_t *ctx, const char *data, size_t len)
{
    struct iovec iov[2];
    int n = 0, cut = 0;
    if (ctx->client_gone)
        return -1;
    uint64_t room = sw_response_room(ctx);
    if (len > room) {
        len = (size_t)room;
        cut = 1;
    }
    if (!ctx->headers_sent) {
        iov[n++] = (struct iovec){ctx->head, ctx->head_len};
        ctx->headers_sent = 1;
    }
    if (len > 0)
        iov[n++] = (struct iovec){(void *)data, len};
    if (n == 0)
        return cut;
    if (send_iov(ctx, iov, n) < 0)
        return -1;
    ctx->bytes_sent += len;
    return cut;
}

int sw_response_sendfile(sw_reqctx_t *ctx, int fd, off_t offset, uint64_t count)
{
    if (sw_response_send(ctx, NULL, 0) < 0)
        return -1;
    int rc = 0, err = 0;
    uint64_t sent = 0;
    Py_BEGIN_ALLOW_THREADS
    while (sent < count) {
        if (sw_reqctx_finished(ctx)) {   /* as in send_iov */
            rc = -1;
            err = ENOTCONN;
            break;
        }
        size_t chunk = count - sent > (1u << 30) ? (1u << 30) : (size_t)(count - sent);
        ssize_t w = sendfile(ctx->req->fd, fd, &offset, chunk);
        if (w < 0) {
            err = errno;
            if (err == EINTR || (err == EAGAIN && (err = wait_for_room(ctx->req->fd)) == 0))
                continue;
        }
        if (w == 0 && ctx->content_length < 0)
            break;      /* EOF: without a Content-Length, that is the end
                         * (a file in /sys says 4096 and has less) */
        if (w <= 0) {   /* 0: the file shrank under us */
            rc = -1;
            break;
        }
        sent += (uint64_t)w;
    }
    Py_END_ALLOW_THREADS
    ctx->bytes_sent += sent;
    if (rc < 0) {
        ctx->client_gone = 1;
        sw_log(SW_LOG_INFO, ctx->app_name, "sendfile stopped after %llu of %llu bytes: %s",
               (unsigned long long)sent, (unsigned long long)count,
               err ? strerror(err) : "file ended early");
    }
    return rc;
}

void sw_response_error(sw_reqctx_t *ctx, int status, const char *reason)
{
    if (ctx->headers_sent)
        return;
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "Status: %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n\r\n%s\n",
                     status, reason, strlen(reason) + 1, reason);
    struct iovec iov = {buf, (size_t)n};
    ctx->headers_sent = 1;
    ctx->status_code = status;
    if (send_iov(ctx, &iov, 1) == 0)
        ctx->bytes_sent = strlen(reason) + 1;
}

/* ---- start_response -------------------------------------------------- */

/* Latin-1 bytes of a str, or NULL with an exception naming what. */
static PyObject *latin1(PyObject *s, const char *what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
        return NULL;
    }
    PyObject *b = PyUnicode_AsLatin1String(s);
    if (!b) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s is not latin-1: %R", what, s);
    }
    return b;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 512);
        while (ncap < *len + n)
            ncap *= 2;
        char *g = PyMem_RawRealloc(*buf, ncap);
        if (!g) {
            PyErr_NoMemory();
            return -1;
        }
        *buf = g;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

/* Validates status and headers (wsgi_header.c) and builds ctx->head. On
 * error raises and leaves ctx unchanged. */
static int build_head(sw_reqctx_t *ctx, PyObject *status, PyObject *headers)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    sw_wsgi_head_t head = SW_WSGI_HEAD_INIT;
    PyObject *sb = NULL, *seq = NULL;

    sb = latin1(status, "status");
    if (!sb)
        goto fail;
    const char *s = PyBytes_AS_STRING(sb), *why;
    Py_ssize_t slen = PyBytes_GET_SIZE(sb);
    int code = sw_wsgi_status_check(s, (size_t)slen, &why);
    if (code < 0) {
        PyErr_Format(PyExc_ValueError, "%s: %R", why, status);
        goto fail;
    }
    if (append(&buf, &len, &cap, "Status: ", 8) < 0 || append(&buf, &len, &cap, s, (size_t)slen) < 0 ||
        append(&buf, &len, &cap, "\r\n", 2) < 0)
        goto fail;

    if (!PyList_Check(headers)) {
        PyErr_Format(PyExc_TypeError, "response_headers must be a list, not %.100s",
                     Py_TYPE(headers)->tp_name);
        goto fail;
    }
    seq = PySequence_Fast(headers, "response_headers");
    if (!seq)
        goto fail;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "response header %zd must be a (name, value) tuple, got %R",
                         i, item);
            goto fail;
        }
        PyObject *nb = latin1(PyTuple_GET_ITEM(item, 0), "header name");
        if (!nb)
            goto fail;
        PyObject *vb = latin1(PyTuple_GET_ITEM(item, 1), "header value");
        if (!vb) {
            Py_DECREF(nb);
            goto fail;
        }
        const char *name = PyBytes_AS_STRING(nb), *value = PyBytes_AS_STRING(vb);
        Py_ssize_t nlen = PyBytes_GET_SIZE(nb), vlen = PyBytes_GET_SIZE(vb);
        size_t bad = SIZE_MAX;
        if (sw_wsgi_header_check(&head, name, (size_t)nlen, value, (size_t)vlen, &why, &bad) < 0) {
            char byte[8];
            if (bad < (size_t)vlen) {
                snprintf(byte, sizeof byte, "0x%02x", (unsigned char)value[bad]);
                PyErr_Format(PyExc_ValueError, "%s: byte %s in header %R", why, byte,
                             PyTuple_GET_ITEM(item, 0));
            } else
                PyErr_Format(PyExc_ValueError, "%s: %R", why, PyTuple_GET_ITEM(item, 0));
            goto item_fail;
        }
        if (append(&buf, &len, &cap, name, (size_t)nlen) < 0 || append(&buf, &len, &cap, ": ", 2) < 0 ||
            append(&buf, &len, &cap, value, (size_t)vlen) < 0 || append(&buf, &len, &cap, "\r\n", 2) < 0)
            goto item_fail;
        Py_DECREF(nb);
        Py_DECREF(vb);
        continue;
    item_fail:
        Py_DECREF(nb);
        Py_DECREF(vb);
        goto fail;
    }
    if (append(&buf, &len, &cap, "\r\n", 2) < 0)
        goto fail;

    PyMem_RawFree(ctx->head);
    ctx->head = buf;
    ctx->head_len = len;
    ctx->status_code = code;
    ctx->content_length = head.content_length;
    Py_DECREF(sb);
    Py_DECREF(seq);
    return 0;
fail:
    PyMem_RawFree(buf);
    Py_XDECREF(sb);
    Py_XDECREF(seq);
    return -1;
}

/* start_response(status, response_headers, exc_info=None) -> write */
static PyObject *start_response_call(PyObject *op, PyObject *args, PyObject *kwargs)
{
    sw_ctxobject_t *self = (sw_ctxobject_t *)op;
    static char *kwlist[] = {"status", "response_headers", "exc_info", NULL};
    PyObject *status, *headers, *exc_info = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response", kwlist,
                                     &status, &headers, &exc_info))
        return NULL;
    sw_reqctx_t *ctx = sw_wsgi_live_ctx(self, "start_response: the request has ended");
    if (!ctx)
        return NULL;
    if (exc_info != Py_None) {
        /* "if exc_info is provided, and the HTTP headers have already been
         * sent, start_response must raise an error, and should re-raise
         * using the exc_info tuple." */
        if (ctx->headers_sent) {
            if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
                PyErr_SetString(PyExc_TypeError, "exc_info must be a 3-tuple");
                return NULL;
            }
            PyObject *t = PyTuple_GET_ITEM(exc_info, 0), *v = PyTuple_GET_ITEM(exc_info, 1),
                     *tb = PyTuple_GET_ITEM(exc_info, 2);
            Py_INCREF(t);
            Py_INCREF(v);
            Py_INCREF(tb);
            PyErr_Restore(t, v, tb == Py_None ? (Py_DECREF(tb), NULL) : tb);
            return NULL;
        }
    } else if (ctx->status_code) {
        PyErr_SetString(PyExc_AssertionError,
                        "start_response called a second time without exc_info");
        return NULL;
    }
    if (build_head(ctx, status, headers) < 0)
        return NULL;
    return PyObject_GetAttrString(op, "write");
}

/* write(data): the imperative API; sends at once. */
static PyObject *start_response_write(sw_ctxobject_t *self, PyObject *data)
{
    sw_reqctx_t *ctx = sw_wsgi_live_ctx(self, "write: the request has ended");
    if (!ctx)
        return NULL;
    if (!ctx->status_code) {
        PyErr_SetString(PyExc_AssertionError, "write() before start_response()");
        return NULL;
    }
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %.100s",
                     Py_TYPE(data)->tp_name);
        return NULL;
    }
    /* A bytes object is immutable and we hold a reference (the argument),
     * so sending it with the GIL released is safe. */
    int rc = sw_response_send(ctx, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data));
    if (rc < 0) {
        if (sw_reqctx_finished(ctx))
            sw_wsgi_raise_ended("write: the request has ended");
        else
            PyErr_SetString(PyExc_ConnectionError, "client closed the connection");
        return NULL;
    }
    /* Past Content-Length: dropped and logged, as for a returned body,
     * not an error the app has to handle. */
    if (rc == 1)
        sw_response_note_cut(self);
    Py_RETURN_NONE;
}

static PyMethodDef start_response_methods[] = {
    {"write", (PyCFunction)start_response_write, METH_O, "write(data): send body bytes now"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot start_response_slots[] = {
    {Py_tp_dealloc, sw_wsgi_ctxobject_dealloc},
    {Py_tp_call, start_response_call},
    {Py_tp_methods, start_response_methods},
    {Py_tp_doc, "start_response(status, response_headers, exc_info=None)"},
    {0, NULL},
};

PyType_Spec sw_start_response_spec = {
    .name = "_subwsgi.StartResponse",
    .basicsize = sizeof(sw_ctxobject_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = start_response_slots,
};

/* ---- wsgi.file_wrapper ----------------------------------------------- */

static PyObject *file_wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"filelike", "block_size", NULL};
    PyObject *filelike;
    Py_ssize_t blksize = 8192;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:file_wrapper", kwlist, &filelike, &blksize))
        return NULL;
    if (blksize <= 0) {
        PyErr_SetString(PyExc_ValueError, "block_size must be positive");
        return NULL;
    }
    sw_file_wrapper_object_t *self = (sw_file_wrapper_object_t *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    Py_INCREF(filelike);
    self->filelike = filelike;
    self->blksize = blksize;
    return (PyObject *)self;
}

static PyObject *file_wrapper_iternext(PyObject *op)
{
    sw_file_wrapper_object_t *self = (sw_file_wrapper_object_t *)op;
    PyObject *data = PyObject_CallMethod(self->filelike, "read", "n", self->blksize);
    if (!data)
        return NULL;
    if (PyBytes_Check(data) && PyBytes_GET_SIZE(data) == 0) {
        Py_DECREF(data);
        return NULL;
    }
    return data;
}

static PyObject *file_wrapper_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    sw_file_wrapper_object_t *self = (sw_file_wrapper_object_t *)op;
    if (PyObject_HasAttrString(self->filelike, "close"))
        return PyObject_CallMethod(self->filelike, "close", NULL);
    Py_RETURN_NONE;
}

static int file_wrapper_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(((sw_file_wrapper_object_t *)op)->filelike);
    Py_VISIT(Py_TYPE(op));
    return 0;
}

static int file_wrapper_clear(PyObject *op)
{
    Py_CLEAR(((sw_file_wrapper_object_t *)op)->filelike);
    return 0;
}

static void file_wrapper_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    file_wrapper_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef file_wrapper_methods[] = {
    {"close", file_wrapper_close, METH_NOARGS, "close the wrapped file"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot file_wrapper_slots[] = {
    {Py_tp_new, file_wrapper_new},
    {Py_tp_dealloc, file_wrapper_dealloc},
    {Py_tp_traverse, file_wrapper_traverse},
    {Py_tp_clear, file_wrapper_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, file_wrapper_iternext},
    {Py_tp_methods, file_wrapper_methods},
    {Py_tp_doc, "wsgi.file_wrapper(filelike, block_size=8192): sent with sendfile(2) when possible"},
    {0, NULL},
};

PyType_Spec sw_file_wrapper_spec = {
    .name = "_subwsgi.FileWrapper",
    .basicsize = sizeof(sw_file_wrapper_object_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = file_wrapper_slots,
};

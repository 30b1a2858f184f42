/* reqctx.h: the per-request context shared by a worker and the Python
 * objects of its request (wsgi.input, start_response/write), and its
 * lifetime: on the heap, reference-counted, so that nothing an app keeps
 * after its request ended can reach another request's socket (DESIGN
 * section 7).
 *
 * A streamed body (request-buffering = off) the app did not read to its end
 * is drained by sw_reqctx_end before the connection is closed, bounded in
 * time and bytes: closing a socket with unread input sends a reset, and a
 * proxy still sending the body (nginx) then reports 502 instead of the
 * response it already has.
 *
 * Lifetime: sw_reqctx_new() gives the worker the first reference; each
 * Python object holding ctx takes one (sw_reqctx_retain) and drops it in
 * its tp_dealloc. The worker ends the request with sw_reqctx_end(): from
 * then on `finished` is set, every I/O path raises instead of making a
 * syscall, and the client's connection is ended at once; the socket's fd
 * NUMBER stays reserved (a placeholder is dup'ed over it) until the last
 * reference goes, so the I/O thread cannot hand it to a new client while
 * an app thread may still name it. The last sw_reqctx_release() closes the
 * number and frees the request.
 *
 * Guards:
 *   refs, finished    atomics; any thread, with or without a GIL.
 *   req, app_name     set by sw_reqctx_new, read-only until freed; req->fd
 *                     may be read without the GIL (it is the socket, or the
 *                     placeholder after the end, until the last release).
 *   everything else   the interpreter's GIL (the worker and the app's
 *                     threads run in one interpreter). The GIL is released
 *                     around socket syscalls; what they touch (in_buf, the
 *                     bytes being sent) lives until the last release.
 *   After `finished`, only the holder of the last reference (and a call
 *   already inside a syscall, which returns without another) uses the
 *   context. */
#ifndef SW_REQCTX_H
#define SW_REQCTX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

typedef struct sw_reqctx {
    atomic_int refs;
    atomic_int finished;         /* the request ended: no more I/O */
    sw_request_t *req;           /* owned: freed by the last release */
    const char *app_name;        /* the app's name: outlives its interpreter */
    /* request body (wsgi.input) */
    const char *in_ptr;          /* unread buffered bytes */
    size_t in_avail;
    char *in_buf;                /* refill buffer (PyMem_Raw), allocated on first use */
    uint64_t in_left;            /* bytes still to fetch: from req->body_fd at
                                  * in_file_off (SW_BODY_FILE), else from the
                                  * socket (SW_BODY_STREAM) */
    uint64_t in_file_off;
    int client_aborted;          /* the client closed before the whole body */
    /* response */
    char *head;                  /* "Status: ...\r\n" + headers + "\r\n" (PyMem_Raw) */
    size_t head_len;
    int status_code;             /* 0 until start_response */
    int headers_sent;
    int client_gone;             /* a send failed: stop producing */
    int64_t content_length;      /* from the app's headers, -1 if none */
    uint64_t bytes_sent;         /* body bytes */
} sw_reqctx_t;

/* A new context owning r (on success only), with one reference: the
 * caller's. NULL when out of memory (r is still the caller's). */
sw_reqctx_t *sw_reqctx_new(sw_request_t *r, const char *app_name);

void sw_reqctx_retain(sw_reqctx_t *ctx);

/* Drops a reference; the last one closes the fd and frees the request and
 * buffers. Any thread; no GIL needed. */
void sw_reqctx_release(sw_reqctx_t *ctx);

/* Ends the request and drops the caller's reference (the worker's). Sets
 * finished, then ends the connection for the client now even if app
 * objects remain: a truncated response is reset (SO_LINGER 0, as nginx
 * needs to see it as incomplete), a complete one closed normally (after
 * draining an unread streamed body, at most SW_REQCTX_DRAIN_SECONDS); a
 * thread blocked on the socket wakes up. No GIL needed. */
void sw_reqctx_end(sw_reqctx_t *ctx, int truncated);

#define SW_REQCTX_DRAIN_SECONDS 5.0

/* Whether the request ended; checked before each socket syscall. */
static inline int sw_reqctx_finished(sw_reqctx_t *ctx)
{
    return atomic_load(&ctx->finished);
}

#endif

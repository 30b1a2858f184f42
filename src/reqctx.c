/* reqctx.c: the per-request context's lifetime: references, the end of a
 * request (draining an unread streamed body, ending the client's
 * connection while keeping its fd number reserved), and the last release
 * that closes it (see reqctx.h). */
#include "reqctx.h"

#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void make_placeholder(void);
static void end_connection(int fd, int truncated);
static void drain(int fd, uint64_t left);

/* An unconnected socket, dup'ed over a request's fd when the request ends
 * while app objects still name it: the real socket is released, the
 * number stays taken (accept cannot reuse it), and a stray syscall on it
 * fails (ENOTCONN) instead of reaching anyone. One for the process. */
static pthread_once_t placeholder_once = PTHREAD_ONCE_INIT;
static int placeholder_fd = -1;

sw_reqctx_t *sw_reqctx_new(sw_request_t *r, const char *app_name)
{
    sw_reqctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    atomic_init(&ctx->refs, 1);
    atomic_init(&ctx->finished, 0);
    ctx->req = r;
    ctx->app_name = app_name;
    ctx->content_length = -1;
    return ctx;
}

void sw_reqctx_retain(sw_reqctx_t *ctx)
{
    atomic_fetch_add(&ctx->refs, 1);
}

void sw_reqctx_release(sw_reqctx_t *ctx)
{
    if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1)
        return;
    /* The last reference: nobody can name the fd any more, so the number
     * (the socket, or the placeholder since the end) may go back. The raw
     * allocator needs no GIL. */
    sw_request_free(ctx->req);
    PyMem_RawFree(ctx->in_buf);
    PyMem_RawFree(ctx->head);
    free(ctx);
}

void sw_reqctx_end(sw_reqctx_t *ctx, int truncated)
{
    int fd = ctx->req->fd;
    /* Before anything happens to the socket: a thread that sees it clear
     * and makes a syscall anyway meets the socket still connected (its own
     * client), shut down, or the placeholder; never another connection. */
    atomic_store(&ctx->finished, 1);
    if (truncated) {
        /* A reset, not a FIN: SCGI has no framing, so only an abortive
         * close tells nginx (and through it the client) that the body is
         * incomplete. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    /* No object left (the usual case): our release closes the socket. The
     * count cannot grow any more: objects are only made during the
     * request. */
    if (fd >= 0 && atomic_load(&ctx->refs) > 1)
        end_connection(fd, truncated);
    else if (fd >= 0 && !truncated && !ctx->client_gone && !ctx->client_aborted &&
             ctx->req->body_state == SW_BODY_STREAM && ctx->in_left > 0)
        /* Nobody else reads the socket (last reference), so the body the
         * app left unread can be read off here. */
        drain(fd, ctx->in_left);
    sw_reqctx_release(ctx);
}

/* Ends fd's connection for the client now although app objects still name
 * fd, and wakes a thread blocked in poll() on it (poll keeps the socket
 * alive while it waits, so closing the number alone would end nothing). */
static void end_connection(int fd, int truncated)
{
    /* connect(AF_UNSPEC) disconnects a TCP socket: it sends the reset now
     * and wakes its waiters with an error. A unix socket refuses it; it has
     * no reset to send anyway. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    if (!truncated || connect(fd, &unspec, sizeof unspec) < 0)
        shutdown(fd, SHUT_RDWR);   /* FIN; waiters see HUP */
    pthread_once(&placeholder_once, make_placeholder);
    /* dup3 replaces the number atomically: it never names a free slot. */
    if (placeholder_fd < 0 || dup3(placeholder_fd, fd, O_CLOEXEC) < 0)
        sw_log(SW_LOG_WARN, NULL, "cannot release the socket of an ended request (%s): "
               "it stays open, shut down, until the app drops its objects",
               placeholder_fd < 0 ? "no placeholder socket" : strerror(errno));
}

static void make_placeholder(void)
{
    placeholder_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads and discards the left bytes of a streamed body the app did not
 * read, for at most SW_REQCTX_DRAIN_SECONDS, so that the close that
 * follows is a FIN, not a reset: a proxy still sending the body (nginx)
 * would otherwise fail its write and answer 502 although the response
 * came. The response is complete, so the client is told first (SHUT_WR).
 * The bytes are bounded by CONTENT_LENGTH (itself <= max-body-size). */
static void drain(int fd, uint64_t left)
{
    char sink[65536];
    shutdown(fd, SHUT_WR);
    double deadline = mono_s() + SW_REQCTX_DRAIN_SECONDS;
    while (left > 0) {
        ssize_t n = recv(fd, sink, left < sizeof sink ? (size_t)left : sizeof sink, 0);
        if (n > 0) {
            left -= (uint64_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;
        double wait = deadline - mono_s();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (wait <= 0 || poll(&p, 1, (int)(wait * 1000) + 1) == 0) {
            sw_log(SW_LOG_INFO, NULL, "gave up draining an unread request body after "
                   "%.0fs (%llu bytes left)", SW_REQCTX_DRAIN_SECONDS,
                   (unsigned long long)left);
            return;
        }
    }
}

/* io.c: the SCGI I/O thread (see io.h). Connections waiting for their
 * header live on one list, those receiving their body on a second, and
 * lingering ones (answered with an error, now discarding what the client
 * still sends) on a third; every connection on a list got the same timeout
 * when appended, so each list is sorted by deadline and expiry only looks
 * at its head. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "fault.h"
#include "dlist.h"
#include "log.h"
#include "request.h"
#include "scgi.h"

/* With request-buffering = off, bodies up to this size are still read
 * before the request is queued (a form costs no worker while it trickles);
 * larger ones are streamed by wsgi.input. */
#define BODY_PREFETCH (64 * 1024)
#define LINGER_SECONDS 2.0
#define LINGER_MAX_BYTES (1024 * 1024)
#define READ_CHUNK 16384
#define FILE_CHUNK 65536           /* one recv+write of a body going to a file */
/* Out of descriptors (EMFILE...), the listeners rest this long before the
 * next try: a pending connection keeps a level-triggered listener readable,
 * so retrying at once is a busy loop writing an error line per turn. */
#define ACCEPT_PAUSE 0.1
#define ACCEPT_REPORT_INTERVAL 10.0   /* at most one log line per interval */

enum { KIND_LISTENER, KIND_CONN, KIND_WAKE };
enum { CONN_HEADER, CONN_BODY, CONN_LINGER };

/* Counts accept() failures for lack of descriptors, for the rate-limited
 * report. I/O thread only. */
typedef struct {
    int paused;               /* the listeners are out of the epoll set's reach */
    double resume_at;         /* CLOCK_MONOTONIC seconds */
    unsigned long failures;   /* since the last report */
    unsigned long total;      /* since the shortage began */
    double reported_at;       /* 0: nothing reported for this shortage */
    int err;                  /* errno of the last failure */
} accept_pause_t;

typedef struct conn {
    int kind;                 /* KIND_CONN; first, like the other epoll tags */
    int fd;
    int state;
    int watched;              /* in the epoll set (added only when needed) */
    sw_listener_t *listener;
    char *buf;
    size_t len, cap;
    size_t discarded;         /* LINGER: bytes thrown away */
    int body_fd;              /* BODY into a temporary file; else -1 */
    uint64_t body_got;        /* BODY: body bytes received (in buf or the file) */
    sw_scgi_parser_t parser;
    struct timespec accepted;
    double deadline;          /* CLOCK_MONOTONIC seconds */
    /* set once the header is parsed */
    sw_scgi_header_t *headers;
    size_t n_headers;
    uint64_t content_length;
    char *path;
    const char *host;         /* HTTP_HOST or SERVER_NAME, into buf */
    const sw_route_t *route;  /* valid only under the routes lock */
    struct conn *prev, *next;
} conn_t;

typedef struct {
    conn_t *head, *tail;
    size_t count;
} conn_list_t;

typedef struct {
    int kind;                 /* KIND_LISTENER */
    sw_listener_t *listener;
} listener_tag_t;

struct sw_io {
    int epfd;
    int wakefd;
    int wake_kind;            /* KIND_WAKE: the eventfd's epoll tag */
    pthread_t thread;
    sw_listener_t *listeners;
    size_t n_listeners;
    listener_tag_t *tags;
    sw_io_limits_t limits;
    pthread_rwlock_t *routes_lock;
    conn_list_t reading;      /* CONN_HEADER */
    conn_list_t bodies;       /* CONN_BODY */
    conn_list_t lingering;
    char *temp_dir;           /* where bodies over body_buffer_size go */
    accept_pause_t pause;
    /* Set by sw_io_stop (on the signal thread) and read by the I/O thread
     * on every turn of its loop, woken or not: atomic. stop_deadline is
     * written before stopping is set and read only once it is seen set. */
    atomic_int stopping;
    double stop_deadline;
};

static void *io_main(void *arg);
static void accept_all(sw_io_t *io, sw_listener_t *ls);
static void start_conn(sw_io_t *io, sw_listener_t *ls, int fd, const char *read, size_t len);
static void receive_passed(sw_io_t *io, sw_listener_t *ls);
static void parse_header(sw_io_t *io, conn_t *c);
static int grow(conn_t *c, size_t want);
static void on_readable(sw_io_t *io, conn_t *c);
static void on_header(sw_io_t *io, conn_t *c);
static void read_body(sw_io_t *io, conn_t *c);
static int open_body_file(sw_io_t *io, conn_t *c);
static void client_abort(sw_io_t *io, conn_t *c, const char *why);
static void pause_accepting(sw_io_t *io, sw_listener_t *ls, int err);
static void resume_accepting(sw_io_t *io);
static void dispatch(sw_io_t *io, conn_t *c);
static void queue_on(sw_io_t *io, conn_t *c, sw_app_t *app);
static void answer(sw_io_t *io, conn_t *c, int status, const char *reason,
                   const char *extra_header, const char *detail);
static void close_conn(sw_io_t *io, conn_t *c);
static void watch(sw_io_t *io, conn_t *c);
static void unwatch(sw_io_t *io, conn_t *c);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void list_append(conn_list_t *l, conn_t *c)
{
    SW_DLIST_APPEND(l, c);
}

static void list_remove(conn_list_t *l, conn_t *c)
{
    SW_DLIST_REMOVE(l, c);
}

static conn_list_t *list_of(sw_io_t *io, conn_t *c)
{
    return c->state == CONN_LINGER ? &io->lingering
           : c->state == CONN_BODY ? &io->bodies : &io->reading;
}

/* ---- start / stop ---------------------------------------------------- */

sw_io_t *sw_io_start(sw_listener_t *listeners, size_t n, const sw_io_limits_t *limits,
                     pthread_rwlock_t *routes_lock, char *err, size_t errlen)
{
    sw_io_t *io = calloc(1, sizeof *io);
    if (!io)
        goto nomem;
    io->epfd = io->wakefd = -1;   /* not 0 (stdin) for the failure path */
    io->routes_lock = routes_lock;
    io->listeners = listeners;
    io->n_listeners = n;
    io->limits = *limits;
    io->limits.body_temp_dir = NULL;   /* borrowed: io->temp_dir is the copy */
    /* Read here, on the main thread: getenv is not safe against setenv. */
    const char *tmp = limits->body_temp_dir ? limits->body_temp_dir : getenv("TMPDIR");
    io->temp_dir = strdup(tmp && *tmp ? tmp : "/tmp");
    if (!io->temp_dir)
        goto nomem;
    io->wake_kind = KIND_WAKE;
    io->tags = SW_FAULT("io_alloc") ? NULL : calloc(n ? n : 1, sizeof *io->tags);
    if (!io->tags)
        goto nomem;
    io->epfd = SW_FAULT("io_epoll") ? -1 : epoll_create1(EPOLL_CLOEXEC);
    io->wakefd = SW_FAULT("io_eventfd") ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (io->epfd < 0 || io->wakefd < 0) {
        snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &io->wake_kind};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wakefd, &ev) < 0)
        goto fail_errno;
    for (size_t i = 0; i < n; i++) {
        io->tags[i] = (listener_tag_t){KIND_LISTENER, &listeners[i]};
        ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &io->tags[i]};
        if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, listeners[i].fd, &ev) < 0)
            goto fail_errno;
    }
    int rc = pthread_create(&io->thread, NULL, io_main, io);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the I/O thread: %s", strerror(rc));
        goto fail;
    }
    return io;
nomem:
    snprintf(err, errlen, "out of memory");
    goto fail;
fail_errno:
    snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
fail:
    if (io) {
        if (io->epfd >= 0)
            close(io->epfd);
        if (io->wakefd >= 0)
            close(io->wakefd);
        free(io->tags);
        free(io->temp_dir);
        free(io);
    }
    return NULL;
}

void sw_io_stop(sw_io_t *io, double drain_seconds)
{
    /* The eventfd only wakes the thread: it may be reading stopping at
     * this very moment, hence the atomic (see struct sw_io). */
    io->stop_deadline = now_s() + drain_seconds;
    atomic_store(&io->stopping, 1);
    uint64_t one = 1;
    if (write(io->wakefd, &one, sizeof one) < 0)
        sw_log(SW_LOG_WARN, NULL, "cannot wake the I/O thread: %s", strerror(errno));
    pthread_join(io->thread, NULL);
    while (io->reading.head)
        close_conn(io, io->reading.head);
    while (io->bodies.head)
        close_conn(io, io->bodies.head);
    while (io->lingering.head)
        close_conn(io, io->lingering.head);
    close(io->epfd);
    close(io->wakefd);
    free(io->tags);
    free(io->temp_dir);
    free(io);
}

/* ---- the loop -------------------------------------------------------- */

static void stop_listening(sw_io_t *io)
{
    for (size_t i = 0; i < io->n_listeners; i++) {
        sw_listener_t *ls = &io->listeners[i];
        if (ls->fd < 0)
            continue;
        /* Take what the kernel already accepted before closing. Not from a
         * host-mode master's channel: its connections wait there for this
         * worker's successor (the master keeps the channel open). */
        if (!ls->passed)
            accept_all(io, ls);
        epoll_ctl(io->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
        close(ls->fd);
        ls->fd = -1;
    }
}

static void expire(sw_io_t *io, double now)
{
    while (io->reading.head && io->reading.head->deadline <= now) {
        conn_t *c = io->reading.head;
        sw_log(SW_LOG_WARN, NULL,
               "header timeout on %s after %.1fs (%zu bytes received): connection closed",
               c->listener->addr.text, io->limits.header_timeout, c->len);
        close_conn(io, c);
    }
    /* A client trickling its body for ever is cut off: body-timeout bounds
     * the whole body, not the gap between two reads. */
    while (io->bodies.head && io->bodies.head->deadline <= now) {
        conn_t *c = io->bodies.head;
        char detail[160];
        snprintf(detail, sizeof detail,
                 "body not received within body-timeout (%.1fs): %llu of %llu bytes",
                 io->limits.body_timeout, (unsigned long long)c->body_got,
                 (unsigned long long)c->content_length);
        answer(io, c, 408, "Request Timeout", NULL, detail);
    }
    while (io->lingering.head && io->lingering.head->deadline <= now)
        close_conn(io, io->lingering.head);
}

static int next_timeout_ms(sw_io_t *io, double now)
{
    double next = -1;
    if (io->reading.head)
        next = io->reading.head->deadline;
    if (io->bodies.head && (next < 0 || io->bodies.head->deadline < next))
        next = io->bodies.head->deadline;
    if (io->pause.paused && (next < 0 || io->pause.resume_at < next))
        next = io->pause.resume_at;
    if (io->lingering.head && (next < 0 || io->lingering.head->deadline < next))
        next = io->lingering.head->deadline;
    if (atomic_load(&io->stopping) && (next < 0 || io->stop_deadline < next))
        next = io->stop_deadline;
    if (next < 0)
        return -1;
    double ms = (next - now) * 1000.0 + 1.0;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static void *io_main(void *arg)
{
    sw_io_t *io = arg;
    struct epoll_event events[64];
    int stopped_listening = 0;
    for (;;) {
        double now = now_s();
        if (atomic_load(&io->stopping)) {
            if (!stopped_listening) {
                stop_listening(io);
                stopped_listening = 1;
            }
            if ((!io->reading.head && !io->bodies.head) || now >= io->stop_deadline)
                break;
        } else if (io->pause.paused && now >= io->pause.resume_at) {
            resume_accepting(io);
        }
        int n = epoll_wait(io->epfd, events, 64, next_timeout_ms(io, now));
        if (n < 0 && errno != EINTR) {
            sw_log(SW_LOG_ERROR, NULL, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int kind = *(int *)events[i].data.ptr;
            if (kind == KIND_WAKE) {
                uint64_t v;
                if (read(io->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
                    sw_log(SW_LOG_WARN, NULL, "eventfd read: %s", strerror(errno));
            } else if (kind == KIND_LISTENER) {
                sw_listener_t *ls = ((listener_tag_t *)events[i].data.ptr)->listener;
                if (!atomic_load(&io->stopping))
                    (ls->passed ? receive_passed : accept_all)(io, ls);
            } else {
                on_readable(io, events[i].data.ptr);
            }
        }
        expire(io, now_s());
    }
    return NULL;
}

static void accept_all(sw_io_t *io, sw_listener_t *ls)
{
    for (;;) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_accepting(io, ls, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                sw_log(SW_LOG_WARN, NULL, "accept on %s: %s", ls->addr.text, strerror(errno));
            return;
        }
        if (io->pause.total) {
            sw_log(SW_LOG_INFO, NULL, "accepting again on %s after %lu refusals for lack "
                   "of file descriptors", ls->addr.text, io->pause.total);
            io->pause = (accept_pause_t){0};
        }
        start_conn(io, ls, fd, NULL, 0);
    }
}

/* A new connection on ls: fd, with the bytes already read from it (a
 * host-mode master read them to route it). */
static void start_conn(sw_io_t *io, sw_listener_t *ls, int fd, const char *read, size_t len)
{
    conn_t *c = calloc(1, sizeof *c);
    if (!c || (len > 0 && grow(c, len + READ_CHUNK) < 0)) {
        if (c)
            free(c->buf);
        free(c);
        close(fd);
        sw_log(SW_LOG_ERROR, NULL, "out of memory accepting a connection");
        return;
    }
    c->kind = KIND_CONN;
    c->fd = fd;
    c->body_fd = -1;
    c->state = CONN_HEADER;
    c->listener = ls;
    clock_gettime(CLOCK_MONOTONIC, &c->accepted);
    c->deadline = now_s() + io->limits.header_timeout;
    sw_scgi_init(&c->parser, io->limits.max_header_size);
    list_append(&io->reading, c);
    if (len > 0) {
        memcpy(c->buf, read, len);
        c->len = len;
        parse_header(io, c);
        return;
    }
    /* A front end usually sends the header with its connect: read it
     * now, and involve epoll only if it has not all arrived yet. */
    on_readable(io, c);
}

/* A listener that is host mode's channel from the master (host.h): each
 * message is one connection (its descriptor) and the bytes the master read
 * from it. */
static void receive_passed(sw_io_t *io, sw_listener_t *ls)
{
    size_t cap = io->limits.max_header_size + READ_CHUNK;
    char *data = malloc(cap);
    if (!data) {
        sw_log(SW_LOG_ERROR, NULL, "out of memory receiving a connection");
        return;
    }
    for (;;) {
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {data, cap};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
                             .msg_controllen = sizeof ctl.space};
        ssize_t n = recvmsg(ls->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                /* The master is gone; so will this process be (its parent
                 * death signal). */
                sw_log(SW_LOG_WARN, NULL, "the master's channel for %s closed", ls->addr.text);
                epoll_ctl(io->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
            }
            break;
        }
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        int fd = -1;
        if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        if (fd < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            sw_log(SW_LOG_ERROR, NULL, "a malformed message on the master's channel for %s",
                   ls->addr.text);
            if (fd >= 0)
                close(fd);
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        start_conn(io, ls, fd, data, (size_t)n);
    }
    free(data);
}

/* Makes sure epoll reports c's input (it is added only once c has to wait
 * for more). On failure c is closed. */
static void watch(sw_io_t *io, conn_t *c)
{
    if (c->watched)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        sw_log(SW_LOG_WARN, NULL, "epoll_ctl: %s", strerror(errno));
        close_conn(io, c);
        return;
    }
    c->watched = 1;
}

static void unwatch(sw_io_t *io, conn_t *c)
{
    if (!c->watched)
        return;
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->watched = 0;
}

static void close_conn(sw_io_t *io, conn_t *c)
{
    list_remove(list_of(io, c), c);
    if (c->fd >= 0) {
        unwatch(io, c);
        close(c->fd);
    }
    if (c->body_fd >= 0)
        close(c->body_fd);
    free(c->buf);
    free(c->headers);
    free(c->path);
    free(c);
}

/* ---- reading --------------------------------------------------------- */

/* Grows the buffer; the parsed headers (and host) point into it, so they
 * move with it. */
static int grow(conn_t *c, size_t want)
{
    if (c->cap >= want)
        return 0;
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < want)
        cap *= 2;
    size_t n_off = 2 * c->n_headers + 1;
    size_t *off = malloc(n_off * sizeof *off);
    if (!off)
        return -1;
    for (size_t i = 0; i < c->n_headers; i++) {
        off[2 * i] = (size_t)(c->headers[i].name - c->buf);
        off[2 * i + 1] = (size_t)(c->headers[i].value - c->buf);
    }
    off[n_off - 1] = c->host ? (size_t)(c->host - c->buf) : 0;
    char *b = realloc(c->buf, cap);
    if (!b) {
        free(off);
        return -1;
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        c->headers[i].name = b + off[2 * i];
        c->headers[i].value = b + off[2 * i + 1];
    }
    if (c->host)
        c->host = b + off[n_off - 1];
    free(off);
    c->buf = b;
    c->cap = cap;
    return 0;
}

static void on_readable(sw_io_t *io, conn_t *c)
{
    if (c->state == CONN_LINGER) {
        char sink[READ_CHUNK];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0)
            c->discarded += (size_t)n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
            c->discarded > LINGER_MAX_BYTES)
            close_conn(io, c);
        return;
    }
    if (c->state == CONN_BODY) {
        read_body(io, c);
        return;
    }
    if (grow(c, c->len + READ_CHUNK) < 0) {
        sw_log(SW_LOG_ERROR, NULL, "out of memory reading a request");
        close_conn(io, c);
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            watch(io, c);
        else
            close_conn(io, c);
        return;
    }
    if (n == 0) {
        /* The client gave up (or half-closed) before we could answer. */
        if (c->len > 0) {
            answer(io, c, 400, "Bad Request", NULL, "incomplete SCGI header");
            return;
        }
        close_conn(io, c);
        return;
    }
    c->len += (size_t)n;
    parse_header(io, c);
}

/* Feeds what c has read to its SCGI parser and acts on the verdict. */
static void parse_header(sw_io_t *io, conn_t *c)
{
    switch (sw_scgi_feed(&c->parser, c->buf, c->len)) {
    case SW_SCGI_MORE:
        watch(io, c);
        return;
    case SW_SCGI_TOO_BIG:
        answer(io, c, 431, "Request Header Fields Too Large", NULL,
               "SCGI header larger than max-header-size");
        return;
    case SW_SCGI_BAD:
        answer(io, c, 400, "Bad Request", NULL, "malformed SCGI netstring");
        return;
    case SW_SCGI_DONE:
        on_header(io, c);
        return;
    }
}

static size_t count_nuls(const char *s, size_t len)
{
    size_t n = 0;
    for (const char *p = s; (p = memchr(p, '\0', len - (size_t)(p - s))); p++)
        n++;
    return n;
}

static void on_header(sw_io_t *io, conn_t *c)
{
    const char *header = c->buf + c->parser.header_off;
    size_t max = count_nuls(header, c->parser.header_len) / 2 + 1;
    c->headers = malloc(max * sizeof *c->headers);
    if (!c->headers) {
        answer(io, c, 503, "Service Unavailable", NULL, "out of memory");
        return;
    }
    const char *why = NULL;
    int n = sw_scgi_split(header, c->parser.header_len, c->headers, max,
                          &c->content_length, &why);
    if (n < 0) {
        answer(io, c, 400, "Bad Request", NULL, why);
        return;
    }
    c->n_headers = (size_t)n;
    if (c->content_length > io->limits.max_body_size) {
        answer(io, c, 413, "Content Too Large", NULL, "body larger than max-body-size");
        return;
    }
    c->path = sw_request_full_path(c->headers, c->n_headers);
    if (!c->path) {
        answer(io, c, 400, "Bad Request", NULL, "unusable request path");
        return;
    }
    const sw_scgi_header_t *host = sw_scgi_find(c->headers, c->n_headers, "HTTP_HOST");
    if (!host)
        host = sw_scgi_find(c->headers, c->n_headers, "SERVER_NAME");
    c->host = host ? host->value : NULL;
    size_t have = c->len - c->parser.body_off;
    if (have >= c->content_length) {
        dispatch(io, c);
        return;
    }
    /* The app's choice (its config may change under SIGHUP: read it under
     * the routes lock; dispatch routes again once the body is in). An
     * unmounted path is answered now rather than after its body. */
    int buffering = 1, routed;
    pthread_rwlock_rdlock(io->routes_lock);
    const sw_route_t *rt = sw_route_match(&c->listener->routes, c->host, c->path);
    if ((routed = rt != NULL))
        buffering = rt->app->cfg->request_buffering;
    pthread_rwlock_unlock(io->routes_lock);
    if (!routed) {
        answer(io, c, 404, "Not Found", NULL, "no app is mounted here");
        return;
    }
    if (!buffering && c->content_length > BODY_PREFETCH) {
        dispatch(io, c);   /* wsgi.input streams the rest */
        return;
    }
    c->body_got = have;
    if (c->content_length > io->limits.body_buffer_size) {
        if (open_body_file(io, c) < 0)
            return;
    } else if (grow(c, c->parser.body_off + c->content_length) < 0) {
        answer(io, c, 503, "Service Unavailable", NULL, "out of memory");
        return;
    }
    list_remove(&io->reading, c);
    c->state = CONN_BODY;
    c->deadline = now_s() + io->limits.body_timeout;
    list_append(&io->bodies, c);
    watch(io, c);
}

/* Receives more of the body: into buf (which has room for all of it), or
 * through a fixed window of buf into the temporary file. Never reads past
 * CONTENT_LENGTH. */
static void read_body(sw_io_t *io, conn_t *c)
{
    uint64_t left = c->content_length - c->body_got;
    char *dst;
    size_t room;
    if (c->body_fd >= 0) {
        if (grow(c, c->parser.body_off + FILE_CHUNK) < 0) {
            answer(io, c, 503, "Service Unavailable", NULL, "out of memory");
            return;
        }
        dst = c->buf + c->parser.body_off;
        room = FILE_CHUNK;
    } else {
        dst = c->buf + c->len;
        room = c->cap - c->len;
    }
    if (room > left)
        room = (size_t)left;
    ssize_t n = recv(c->fd, dst, room, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            client_abort(io, c, strerror(errno));
        return;
    }
    if (n == 0) {
        client_abort(io, c, "connection closed");
        return;
    }
    if (c->body_fd >= 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c->body_fd, dst + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                char detail[320];
                snprintf(detail, sizeof detail, "cannot write the body to a temporary file "
                         "in %s: %s", io->temp_dir, w < 0 ? strerror(errno) : "short write");
                answer(io, c, 503, "Service Unavailable", NULL, detail);
                return;
            }
            off += w;
        }
    } else {
        c->len += (size_t)n;
    }
    c->body_got += (uint64_t)n;
    if (c->body_got == c->content_length)
        dispatch(io, c);
}

/* The body goes to an unlinked temporary file (O_TMPFILE, or mkstemp and
 * unlink where the file system lacks it), so it costs no memory and
 * disappears with its last descriptor. What came with the header moves
 * there too. Returns 0, or -1 after answering 503. */
static int open_body_file(sw_io_t *io, conn_t *c)
{
    int fd = open(io->temp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/subwsgi-body-XXXXXX", io->temp_dir) <
            (int)sizeof path) {
            fd = mkostemp(path, O_CLOEXEC);
            if (fd >= 0)
                unlink(path);
        } else {
            errno = ENAMETOOLONG;
        }
    }
    char detail[320];
    if (fd < 0) {
        snprintf(detail, sizeof detail, "cannot create a temporary file for the body in %s: %s",
                 io->temp_dir, strerror(errno));
        answer(io, c, 503, "Service Unavailable", NULL, detail);
        return -1;
    }
    c->body_fd = fd;
    const char *p = c->buf + c->parser.body_off;
    size_t have = (size_t)c->body_got;
    while (have > 0) {
        ssize_t w = write(fd, p, have);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(detail, sizeof detail, "cannot write the body to a temporary file in "
                     "%s: %s", io->temp_dir, w < 0 ? strerror(errno) : "short write");
            answer(io, c, 503, "Service Unavailable", NULL, detail);
            return -1;
        }
        p += w;
        have -= (size_t)w;
    }
    c->len = c->parser.body_off;   /* buf keeps the header only */
    return 0;
}

/* The client left before sending the body it announced: its doing, not the
 * app's, so the app is not called, nothing is answered (nobody would read
 * it), and the request is counted apart from the responses. */
static void client_abort(sw_io_t *io, conn_t *c, const char *why)
{
    pthread_rwlock_rdlock(io->routes_lock);
    const sw_route_t *rt = sw_route_match(&c->listener->routes, c->host, c->path);
    if (rt)
        atomic_fetch_add(&rt->app->counters.client_aborts, 1);
    sw_log(SW_LOG_INFO, rt ? rt->app->name : NULL,
           "client abort on %s: %s after %llu of %llu body bytes; the app was not called",
           c->listener->addr.text, why, (unsigned long long)c->body_got,
           (unsigned long long)c->content_length);
    pthread_rwlock_unlock(io->routes_lock);
    close_conn(io, c);
}

/* ---- handing over ---------------------------------------------------- */

/* Routes the request and queues it on its app. The routes lock is held
 * from the lookup until the app has the request: SIGHUP may swap the
 * tables and free removed apps only once it can take the lock for writing. */
static void dispatch(sw_io_t *io, conn_t *c)
{
    pthread_rwlock_rdlock(io->routes_lock);
    c->route = sw_route_match(&c->listener->routes, c->host, c->path);
    if (!c->route) {
        pthread_rwlock_unlock(io->routes_lock);
        answer(io, c, 404, "Not Found", NULL, "no app is mounted here");
        return;
    }
    queue_on(io, c, c->route->app);
    c = NULL;   /* queue_on freed it or made it linger */
    pthread_rwlock_unlock(io->routes_lock);
}

static void queue_on(sw_io_t *io, conn_t *c, sw_app_t *app)
{
    sw_request_t *r = calloc(1, sizeof *r);
    if (!r) {
        answer(io, c, 503, "Service Unavailable", NULL, "out of memory");
        return;
    }
    /* Once queued, a worker may close the fd at any moment: it must leave
     * the epoll set first, or a late event would name a freed conn. */
    unwatch(io, c);
    int state = c->body_fd >= 0 ? SW_BODY_FILE
                : c->len - c->parser.body_off >= c->content_length ? SW_BODY_MEMORY
                : SW_BODY_STREAM;
    *r = (sw_request_t){
        .fd = c->fd,
        .buf = c->buf,
        .len = c->len,
        .body_off = c->parser.body_off,
        .headers = c->headers,
        .n_headers = c->n_headers,
        .content_length = c->content_length,
        .body_state = state,
        .body_fd = c->body_fd,
        .app = app,
        .path = c->path,
        .script_name_len = c->route->prefix_len,
        .accepted = c->accepted,
    };
    if (sw_app_submit(app, r) == 0) {
        /* The request owns fd, body_fd, buf, headers and path now. */
        list_remove(list_of(io, c), c);
        free(c);
        return;
    }
    /* Queue full (or closed while stopping): the connection stays ours. */
    r->fd = -1;
    r->body_state = SW_BODY_STREAM;   /* body_fd too */
    r->buf = NULL;
    r->headers = NULL;
    r->path = NULL;
    sw_request_free(r);
    atomic_fetch_add(&app->counters.rejected, 1);
    answer(io, c, 503, "Service Unavailable", "Retry-After: 1\r\n", "the app's queue is full");
}

/* Answers bad input without Python, logs it, and lingers: the client may
 * still be sending, and closing with unread data would reset the
 * connection before it reads the answer. */
static void answer(sw_io_t *io, conn_t *c, int status, const char *reason,
                   const char *extra_header, const char *detail)
{
    char resp[1024];
    size_t n = sw_request_format_error(resp, sizeof resp, status, reason, extra_header, detail);
    const char *body = strstr(resp, "\r\n\r\n");
    size_t blen = body ? n - (size_t)(body + 4 - resp) : 0;
    if (send(c->fd, resp, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        sw_log(SW_LOG_INFO, NULL, "could not send %d: %s", status, strerror(errno));
    const char *uri = NULL, *method = NULL;
    if (c->headers && c->n_headers) {
        const sw_scgi_header_t *h = sw_scgi_find(c->headers, c->n_headers, "REQUEST_URI");
        const sw_scgi_header_t *m = sw_scgi_find(c->headers, c->n_headers, "REQUEST_METHOD");
        uri = h ? h->value : NULL;
        method = m ? m->value : NULL;
    }
    const char *app = c->route ? c->route->app->name : NULL;
    sw_log(status >= 500 ? SW_LOG_WARN : SW_LOG_INFO, app, "%d on %s: %s", status,
           c->listener->addr.text, detail);
    sw_log_access(app, method, uri, status, (uint64_t)blen, sw_elapsed_ms(&c->accepted));
    shutdown(c->fd, SHUT_WR);
    list_remove(list_of(io, c), c);
    c->state = CONN_LINGER;
    c->deadline = now_s() + LINGER_SECONDS;
    list_append(&io->lingering, c);
    watch(io, c);   /* to discard what the client still sends */
}

/* ---- out of file descriptors ------------------------------------------- */

/* accept() failed for lack of descriptors (or kernel memory): every
 * listener leaves epoll's attention for ACCEPT_PAUSE (a pending connection
 * would report it readable again at once), and the failure is logged at
 * most once per ACCEPT_REPORT_INTERVAL, with a count. Connections wait in
 * the listen backlog meanwhile; they are taken once a descriptor is free. */
static void pause_accepting(sw_io_t *io, sw_listener_t *ls, int err)
{
    accept_pause_t *p = &io->pause;
    double now = now_s();
    p->failures++;
    p->total++;
    p->err = err;
    if (p->reported_at == 0 || now - p->reported_at >= ACCEPT_REPORT_INTERVAL) {
        sw_log(SW_LOG_WARN, NULL, "accept on %s: %s (%lu times since the last report); "
               "retrying every %.1fs", ls->addr.text, strerror(err), p->failures,
               ACCEPT_PAUSE);
        p->reported_at = now;
        p->failures = 0;
    }
    p->resume_at = now + ACCEPT_PAUSE;
    if (p->paused)
        return;
    for (size_t i = 0; i < io->n_listeners; i++) {
        struct epoll_event ev = {.events = 0, .data.ptr = &io->tags[i]};
        if (io->listeners[i].fd >= 0)
            epoll_ctl(io->epfd, EPOLL_CTL_MOD, io->listeners[i].fd, &ev);
    }
    p->paused = 1;
}

static void resume_accepting(sw_io_t *io)
{
    for (size_t i = 0; i < io->n_listeners; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &io->tags[i]};
        if (io->listeners[i].fd >= 0)
            epoll_ctl(io->epfd, EPOLL_CTL_MOD, io->listeners[i].fd, &ev);
    }
    io->pause.paused = 0;
}

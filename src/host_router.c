/* host_router.c: host mode's shared listener in the master (see
 * host_router.h). Connections reading their header are on one list and
 * those waiting for their owner's worker on another; every connection on a
 * list got the same timeout when appended, so each list is in deadline
 * order and expiry looks at its head only (as io.c does). */
#include "host_router.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dlist.h"
#include "log.h"
#include "request.h"
#include "route.h"
#include "scgi.h"

#define READ_CHUNK 16384
/* Out of descriptors, accepting rests this long (a pending connection
 * keeps the listener readable: retrying at once would spin). */
#define ACCEPT_PAUSE 0.1
/* A worker's channel full: try again this soon. */
#define RETRY_PASS 0.02

typedef struct hconn {
    sw_host_tag_t tag;         /* SW_TAG_ROUTER; first, like every tag */
    int is_listener;           /* 0 */
    int fd;
    size_t listener;
    char *buf;
    size_t len, cap;
    sw_scgi_parser_t parser;
    double deadline;
    int waiting;               /* routed; waits for its owner's worker */
    int watched;
    size_t owner;
    struct hconn *prev, *next;
} hconn_t;

typedef struct {
    hconn_t *head, *tail;
    size_t count;
} hlist_t;

typedef struct {
    sw_host_tag_t tag;         /* SW_TAG_ROUTER */
    int is_listener;           /* 1 */
    int fd;
    size_t index;
} rlistener_t;

/* What a route leads to: an owner. Routes hold it as their app pointer
 * (route.h knows apps only by pointer and never looks inside). */
typedef struct {
    size_t owner;
} target_t;

struct sw_router {
    int epfd;
    const sw_config_t *cfg;
    size_t n_listeners, n_owners;
    rlistener_t *listeners;
    sw_route_table_t *routes;  /* per listener */
    target_t **targets;        /* per owner; each allocated apart: routes point at them */
    int *channels;             /* [owner * n_listeners + listener], -1: none */
    int *serving;              /* per owner */
    size_t *waiting_for;       /* per owner: connections waiting */
    hlist_t reading, waiting;
    double paused_until;       /* accepting paused (no descriptors) until */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void list_append(hlist_t *l, hconn_t *c)
{
    SW_DLIST_APPEND(l, c);
}

static void list_remove(hlist_t *l, hconn_t *c)
{
    SW_DLIST_REMOVE(l, c);
}

static void drop(sw_router_t *r, hconn_t *c)
{
    if (c->waiting) {
        list_remove(&r->waiting, c);
        r->waiting_for[c->owner]--;
    } else {
        list_remove(&r->reading, c);
    }
    if (c->watched)
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

/* An error response, then the connection is closed. */
static void answer(sw_router_t *r, hconn_t *c, int status, const char *reason,
                   const char *detail)
{
    char resp[1024];
    size_t n = sw_request_format_error(resp, sizeof resp, status, reason, NULL, detail);
    ssize_t ignored = send(c->fd, resp, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
    sw_log(SW_LOG_INFO, NULL, "shared listener %s: %d %s", r->cfg->scgi.items[c->listener],
           status, detail);
    drop(r, c);
}

/* ---- set-up ------------------------------------------------------------------- */

/* The same routes the workers build for their shared listeners (server.c
 * routes_for): an app with a listener of its own is served there only.
 * Into routes (one table per listener, empty). Returns 0 or -1. */
static int build_routes(sw_router_t *r, const sw_config_t *cfg, const char *const *owners,
                        sw_route_table_t *routes)
{
    for (size_t a = 0; a < cfg->n_apps; a++) {
        const sw_app_config_t *app = &cfg->apps[a];
        if (app->scgi.n > 0 || !app->owner)
            continue;
        size_t o = 0;
        while (o < r->n_owners && (!owners[o] || strcmp(owners[o], app->owner) != 0))
            o++;
        if (o == r->n_owners)
            continue;
        for (size_t l = 0; l < r->n_listeners; l++)
            for (size_t m = 0; m < app->n_mounts; m++)
                if (sw_route_add(&routes[l], app->mounts[m].host, app->mounts[m].prefix,
                                 (struct sw_app *)(void *)r->targets[o]) < 0)
                    return -1;
    }
    return 0;
}

int sw_router_set_config(sw_router_t *r, const sw_config_t *cfg, const char *const *owners)
{
    sw_route_table_t *routes = calloc(r->n_listeners + 1, sizeof *routes);
    if (!routes || build_routes(r, cfg, owners, routes) < 0) {
        for (size_t l = 0; routes && l < r->n_listeners; l++)
            sw_route_free(&routes[l]);
        free(routes);
        return -1;
    }
    for (size_t l = 0; l < r->n_listeners; l++)
        sw_route_free(&r->routes[l]);
    free(r->routes);
    r->routes = routes;
    r->cfg = cfg;
    return 0;
}

sw_router_t *sw_router_new(int epfd, const sw_config_t *cfg, const char *const *owners,
                           size_t n_owners, char *err, size_t errlen)
{
    sw_router_t *r = calloc(1, sizeof *r);
    size_t nl = cfg->scgi.n, no = n_owners;
    if (!r)
        goto nomem;
    r->epfd = epfd;
    r->cfg = cfg;
    r->n_listeners = nl;
    r->listeners = calloc(nl ? nl : 1, sizeof *r->listeners);
    r->routes = calloc(nl ? nl : 1, sizeof *r->routes);
    if (!r->listeners || !r->routes)
        goto nomem;
    for (size_t o = 0; o < no; o++)
        if (sw_router_add_owner(r) < 0)
            goto nomem;
    for (size_t i = 0; i < nl; i++)
        r->listeners[i] = (rlistener_t){.tag = SW_TAG_ROUTER, .is_listener = 1, .fd = -1,
                                        .index = i};
    if (build_routes(r, cfg, owners, r->routes) < 0)
        goto nomem;
    return r;
nomem:
    snprintf(err, errlen, "out of memory");
    sw_router_free(r);
    return NULL;
}

int sw_router_add_owner(sw_router_t *r)
{
    size_t o = r->n_owners, nl = r->n_listeners;
    target_t *t = calloc(1, sizeof *t);
    target_t **targets = realloc(r->targets, (o + 1) * sizeof *targets);
    if (targets)
        r->targets = targets;
    int *channels = realloc(r->channels, ((o + 1) * nl + 1) * sizeof *channels);
    if (channels)
        r->channels = channels;
    int *serving = realloc(r->serving, (o + 1) * sizeof *serving);
    if (serving)
        r->serving = serving;
    size_t *waiting_for = realloc(r->waiting_for, (o + 1) * sizeof *waiting_for);
    if (waiting_for)
        r->waiting_for = waiting_for;
    if (!t || !targets || !channels || !serving || !waiting_for) {
        free(t);
        return -1;
    }
    t->owner = o;
    r->targets[o] = t;
    for (size_t l = 0; l < nl; l++)
        r->channels[o * nl + l] = -1;
    r->serving[o] = 0;
    r->waiting_for[o] = 0;
    r->n_owners++;
    return (int)o;
}

int sw_router_listen(sw_router_t *r, size_t listener, int fd, char *err, size_t errlen)
{
    rlistener_t *ls = &r->listeners[listener];
    ls->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ls};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void sw_router_set_channel(sw_router_t *r, size_t listener, size_t owner, int fd)
{
    r->channels[owner * r->n_listeners + listener] = fd;
}

/* ---- passing on --------------------------------------------------------------- */

/* Sends c (its descriptor and bytes) to its owner's worker. Returns 1 when
 * passed (c is freed), 0 when the channel is full (try again), -1 when it
 * failed (c answered and freed). */
static int pass(sw_router_t *r, hconn_t *c)
{
    int ch = r->channels[c->owner * r->n_listeners + c->listener];
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {c->buf, c->len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
                         .msg_controllen = sizeof ctl.space};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &c->fd, sizeof c->fd);
    for (;;) {
        ssize_t n = sendmsg(ch, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            drop(r, c);   /* the worker has its own copy of the descriptor */
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            return 0;
        sw_log(SW_LOG_ERROR, NULL, "passing a connection to worker %zu: %s", c->owner,
               strerror(errno));
        answer(r, c, 502, "Bad Gateway", "cannot pass the connection to its app's process");
        return -1;
    }
}

static void wait_for_owner(sw_router_t *r, hconn_t *c)
{
    if (r->waiting_for[c->owner] >= (size_t)r->cfg->queue_size) {
        answer(r, c, 503, "Service Unavailable", "too many requests wait for this app's process");
        return;
    }
    list_remove(&r->reading, c);
    if (c->watched) {
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->watched = 0;
    }
    c->waiting = 1;
    c->deadline = now_s() + r->cfg->load_timeout;
    r->waiting_for[c->owner]++;
    list_append(&r->waiting, c);
}

static void route(sw_router_t *r, hconn_t *c)
{
    const char *header = c->buf + c->parser.header_off;
    size_t max = 1;
    for (size_t i = 0; i < c->parser.header_len; i++)
        max += header[i] == '\0';
    sw_scgi_header_t *h = malloc((max / 2 + 1) * sizeof *h);
    if (!h) {
        answer(r, c, 503, "Service Unavailable", "out of memory");
        return;
    }
    uint64_t content_length;
    const char *why = NULL;
    int n = sw_scgi_split(header, c->parser.header_len, h, max / 2 + 1, &content_length, &why);
    if (n < 0) {
        free(h);
        answer(r, c, 400, "Bad Request", why);
        return;
    }
    char *path = sw_request_full_path(h, (size_t)n);
    const sw_scgi_header_t *host = sw_scgi_find(h, (size_t)n, "HTTP_HOST");
    if (!host)
        host = sw_scgi_find(h, (size_t)n, "SERVER_NAME");
    const sw_route_t *rt = path ? sw_route_match(&r->routes[c->listener],
                                                 host ? host->value : NULL, path) : NULL;
    free(h);
    if (!path) {
        answer(r, c, 400, "Bad Request", "unusable request path");
        return;
    }
    free(path);
    if (!rt) {
        answer(r, c, 404, "Not Found", "no app is mounted here");
        return;
    }
    c->owner = ((const target_t *)(const void *)rt->app)->owner;
    if (r->serving[c->owner] && pass(r, c) != 0)
        return;
    wait_for_owner(r, c);
}

/* ---- reading -------------------------------------------------------------------- */

static void on_readable(sw_router_t *r, hconn_t *c)
{
    size_t limit = r->cfg->max_header_size + READ_CHUNK;
    if (c->cap - c->len < READ_CHUNK && c->cap < limit) {
        size_t cap = c->cap + READ_CHUNK < limit ? c->cap + READ_CHUNK : limit;
        char *buf = realloc(c->buf, cap);
        if (!buf) {
            answer(r, c, 503, "Service Unavailable", "out of memory");
            return;
        }
        c->buf = buf;
        c->cap = cap;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!c->watched) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
            if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
                drop(r, c);
                return;
            }
            c->watched = 1;
        }
        return;
    }
    if (n <= 0) {
        if (n == 0 && c->len > 0)
            answer(r, c, 400, "Bad Request", "incomplete SCGI header");
        else
            drop(r, c);
        return;
    }
    c->len += (size_t)n;
    switch (sw_scgi_feed(&c->parser, c->buf, c->len)) {
    case SW_SCGI_MORE:
        if (c->len == c->cap)
            answer(r, c, 431, "Request Header Fields Too Large",
                   "SCGI header larger than max-header-size");
        else
            on_readable(r, c);   /* read on until EAGAIN, then watch */
        return;
    case SW_SCGI_TOO_BIG:
        answer(r, c, 431, "Request Header Fields Too Large",
               "SCGI header larger than max-header-size");
        return;
    case SW_SCGI_BAD:
        answer(r, c, 400, "Bad Request", "malformed SCGI netstring");
        return;
    case SW_SCGI_DONE:
        route(r, c);
        return;
    }
}

static void set_accepting(sw_router_t *r, int on)
{
    for (size_t i = 0; i < r->n_listeners; i++) {
        if (r->listeners[i].fd < 0)
            continue;
        struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &r->listeners[i]};
        epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->listeners[i].fd, &ev);
    }
}

static void accept_all(sw_router_t *r, rlistener_t *ls)
{
    for (;;) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                sw_log(SW_LOG_WARN, NULL, "shared listener %s: %s; accepting rests %.1f s",
                       r->cfg->scgi.items[ls->index], strerror(errno), ACCEPT_PAUSE);
                r->paused_until = now_s() + ACCEPT_PAUSE;
                set_accepting(r, 0);
            }
            return;
        }
        hconn_t *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            return;
        }
        c->tag = SW_TAG_ROUTER;
        c->fd = fd;
        c->listener = ls->index;
        c->deadline = now_s() + r->cfg->header_timeout;
        sw_scgi_init(&c->parser, r->cfg->max_header_size);
        list_append(&r->reading, c);
        on_readable(r, c);
    }
}

void sw_router_on_event(sw_router_t *r, void *tag)
{
    hconn_t *c = tag;
    if (c->is_listener)
        accept_all(r, tag);
    else
        on_readable(r, c);
}

/* ---- serving and deadlines ----------------------------------------------------------- */

/* Passes on what waits for owner (when it serves), in arrival order; stops
 * at a full channel. */
static void flush(sw_router_t *r, size_t owner)
{
    hconn_t *next;
    for (hconn_t *c = r->waiting.head; c && r->serving[owner]; c = next) {
        next = c->next;
        if (c->owner == owner && pass(r, c) == 0)
            return;
    }
}

void sw_router_owner_serving(sw_router_t *r, size_t owner, int serving)
{
    r->serving[owner] = serving;
    if (serving)
        flush(r, owner);
}

double sw_router_next_deadline(const sw_router_t *r)
{
    double next = -1;
    if (r->reading.head)
        next = r->reading.head->deadline;
    if (r->waiting.head && (next < 0 || r->waiting.head->deadline < next))
        next = r->waiting.head->deadline;
    for (hconn_t *c = r->waiting.head; c; c = c->next)
        if (r->serving[c->owner]) {   /* a full channel: try again soon */
            double retry = now_s() + RETRY_PASS;
            if (next < 0 || retry < next)
                next = retry;
            break;
        }
    if (r->paused_until > 0 && (next < 0 || r->paused_until < next))
        next = r->paused_until;
    return next;
}

void sw_router_expire(sw_router_t *r, double now)
{
    while (r->reading.head && r->reading.head->deadline <= now)
        answer(r, r->reading.head, 408, "Request Timeout", "SCGI header not received in time");
    while (r->waiting.head && r->waiting.head->deadline <= now)
        answer(r, r->waiting.head, 503, "Service Unavailable",
               "the app's process is not serving (starting or restarting)");
    for (size_t o = 0; o < r->n_owners; o++)
        if (r->serving[o] && r->waiting_for[o] > 0)
            flush(r, o);
    if (r->paused_until > 0 && now >= r->paused_until) {
        r->paused_until = 0;
        set_accepting(r, 1);
    }
}

void sw_router_free(sw_router_t *r)
{
    if (!r)
        return;
    while (r->waiting.head)
        answer(r, r->waiting.head, 503, "Service Unavailable", "the server is stopping");
    while (r->reading.head)
        drop(r, r->reading.head);
    for (size_t i = 0; r->listeners && i < r->n_listeners; i++)
        if (r->listeners[i].fd >= 0)
            epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->listeners[i].fd, NULL);
    for (size_t i = 0; r->routes && i < r->n_listeners; i++)
        sw_route_free(&r->routes[i]);
    free(r->listeners);
    free(r->routes);
    for (size_t o = 0; r->targets && o < r->n_owners; o++)
        free(r->targets[o]);
    free(r->targets);
    free(r->channels);
    free(r->serving);
    free(r->waiting_for);
    free(r);
}

/* host_control.c: the control channel's messages, and its worker side (see
 * host_control.h). */
#include "host_control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../admin/backend_server.h"
#include "log.h"

/* Commands running at once in a worker (each waits for its app). More are
 * refused: the master sends one per admin request, which it bounds. */
#define MAX_COMMANDS 32

int sw_ctl_send(int fd, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    int rc = 0;
    if (len > SW_CTL_MAX) {
        errno = EMSGSIZE;
        rc = -1;
    } else {
        ssize_t n;
        do
            n = send(fd, text, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        rc = n == (ssize_t)len ? 0 : -1;
    }
    free(text);
    return rc;
}

json_t *sw_ctl_recv(int fd, int *status)
{
    char *buf = malloc(SW_CTL_MAX + 1);
    *status = 0;
    if (!buf)
        return NULL;
    ssize_t n;
    do
        n = recv(fd, buf, SW_CTL_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    json_t *j = NULL;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        *status = 1;
    } else if (n > SW_CTL_MAX) {
        *status = -1;   /* longer than any message may be: cut, so dropped */
    } else if (n > 0) {
        j = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            j = NULL;
            *status = -1;
        }
    }
    free(buf);
    return j;
}

void sw_ctl_size_buffers(int fd)
{
    int size = 2 * SW_CTL_MAX;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

/* ---- the worker's side ------------------------------------------------------ */

static struct {
    int fd;
    sw_backend_t backend;
    pthread_t thread;
    atomic_int started;        /* the control thread runs (read by command threads) */
    atomic_int stopping;
    pthread_mutex_t lock;      /* commands, asks, and their conditions */
    pthread_cond_t ended;
    int commands;              /* command threads running now */
    /* What this worker asked the master (a recycle of itself), waiting
     * for the master's result. */
    pthread_cond_t replied;
    struct ask *asks;
    json_int_t next_ask;
} W = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .ended = PTHREAD_COND_INITIALIZER,
       .replied = PTHREAD_COND_INITIALIZER};

typedef struct ask {
    json_int_t id;
    int done;
    sw_cmd_result_t result;
    char msg[1200];
    struct ask *next;
} ask_t;

/* A result the master sent for one of this worker's asks. */
static void on_reply(json_t *m)
{
    json_int_t id = json_integer_value(json_object_get(m, "id"));
    json_int_t r = json_integer_value(json_object_get(m, "result"));
    const char *text = json_string_value(json_object_get(m, "msg"));
    pthread_mutex_lock(&W.lock);
    for (ask_t *a = W.asks; a; a = a->next) {
        if (a->id != id || a->done)
            continue;
        a->done = 1;
        a->result = r >= SW_CMD_DONE && r <= SW_CMD_CONFLICT ? (sw_cmd_result_t)r : SW_CMD_FAILED;
        snprintf(a->msg, sizeof a->msg, "%s", text ? text : "");
        pthread_cond_broadcast(&W.replied);
    }
    pthread_mutex_unlock(&W.lock);
}

/* Bounds the wait of sw_ctl_worker_stop for commands still running. */
#define STOP_WAIT_S 10

/* Every app, as an admin sees them: the master decides who sees what. */
static const sw_user_config_t everything = {.name = "(master)", .role = SW_ROLE_ADMIN};

static void report(void)
{
    json_t *apps = W.backend.apps(W.backend.ctx, &everything);
    json_t *server = W.backend.server(W.backend.ctx);
    json_t *msg = json_pack("{s:s, s:o*, s:o*}", "op", "report", "apps", apps, "server", server);
    if (msg && sw_ctl_send(W.fd, msg) < 0 && errno == EMSGSIZE)
        sw_log(SW_LOG_WARN, NULL, "status report over %d bytes: not sent", SW_CTL_MAX);
    json_decref(msg);
}

typedef struct {
    char op[16];
    json_int_t id;
    char *app, *user;
    double wait;
} command_t;

static void *run_command(void *arg)
{
    command_t *c = arg;
    char msg[4096] = "";
    sw_cmd_result_t r = SW_CMD_CONFLICT;
    const char *owner = NULL;
    sw_backend_app_t *app = W.backend.app_find(W.backend.ctx, c->app, &owner);
    if (!app) {
        snprintf(msg, sizeof msg, "no app %s in this process", c->app);
    } else {
        if (strcmp(c->op, "reload") == 0)
            r = W.backend.app_reload(W.backend.ctx, app, c->user, c->wait, msg, sizeof msg);
        else
            r = W.backend.app_destroy(W.backend.ctx, app, c->user, c->wait, msg, sizeof msg);
        W.backend.app_release(W.backend.ctx, app);
    }
    /* The state the command left first: the master answers the admin
     * request with it as soon as the result comes (messages keep their
     * order on the channel). */
    report();
    json_t *res = json_pack("{s:s, s:I, s:i, s:s}", "op", "result", "id", c->id, "result", (int)r,
                            "msg", msg);
    if (res)
        sw_ctl_send(W.fd, res);
    json_decref(res);
    free(c->app);
    free(c->user);
    free(c);
    /* Under the lock, so that the stop that waits for it also sees
     * everything it did (they are detached: no join). */
    pthread_mutex_lock(&W.lock);
    W.commands--;
    pthread_cond_broadcast(&W.ended);
    pthread_mutex_unlock(&W.lock);
    return NULL;
}

static void on_command(json_t *m)
{
    const char *op = NULL, *app = NULL, *user = NULL;
    json_int_t id = 0;
    double wait = -1;
    if (json_unpack(m, "{s:s, s:I, s:s, s:s, s?F}", "op", &op, "id", &id, "app", &app, "user",
                    &user, "wait", &wait) < 0 ||
        (strcmp(op, "reload") != 0 && strcmp(op, "destroy") != 0)) {
        sw_log(SW_LOG_WARN, NULL, "a control message not understood: dropped");
        return;
    }
    command_t *c = calloc(1, sizeof *c);
    if (c) {
        snprintf(c->op, sizeof c->op, "%s", op);
        c->id = id;
        c->app = strdup(app);
        c->user = strdup(user);
        c->wait = wait;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int started = 0;
    if (c && c->app && c->user) {
        pthread_mutex_lock(&W.lock);
        if (W.commands < MAX_COMMANDS && pthread_create(&t, &attr, run_command, c) == 0) {
            W.commands++;
            started = 1;
        }
        pthread_mutex_unlock(&W.lock);
    }
    if (!started) {
        json_t *res = json_pack("{s:s, s:I, s:i, s:s}", "op", "result", "id", id, "result",
                                (int)SW_CMD_CONFLICT, "msg", "too many commands at once");
        if (res)
            sw_ctl_send(W.fd, res);
        json_decref(res);
        if (c) {
            free(c->app);
            free(c->user);
            free(c);
        }
    }
    pthread_attr_destroy(&attr);
}

/* At the stop: the master's replies already sent (a handover this worker
 * asked for answers it just before telling it to drain) still reach the
 * threads waiting for them. */
static void take_last_replies(void)
{
    int status;
    json_t *m;
    while ((m = sw_ctl_recv(W.fd, &status)) != NULL || status == -1) {
        const char *op = m ? json_string_value(json_object_get(m, "op")) : NULL;
        if (op && strcmp(op, "result") == 0)
            on_reply(m);
        json_decref(m);
    }
}

static void *control_main(void *arg)
{
    (void)arg;
    report();
    while (!atomic_load(&W.stopping)) {
        struct pollfd p = {W.fd, POLLIN, 0};
        int n = poll(&p, 1, (int)(SW_CTL_REPORT_INTERVAL * 1000));
        if (atomic_load(&W.stopping))
            break;
        if (n == 0) {
            report();
            continue;
        }
        if (n < 0)
            continue;
        int status;
        json_t *m = sw_ctl_recv(W.fd, &status);
        if (m) {
            const char *op = json_string_value(json_object_get(m, "op"));
            if (op && strcmp(op, "result") == 0)
                on_reply(m);
            else
                on_command(m);
            json_decref(m);
        } else if (status == 1) {
            /* The master is gone: so is this worker (its parent death
             * signal does the same; this also covers a master that closed
             * the channel on purpose). */
            sw_log(SW_LOG_WARN, NULL, "the master closed the control channel: stopping");
            kill(getpid(), SIGTERM);   /* to the process: its main thread takes it */
            break;
        }
    }
    return NULL;
}

int sw_ctl_worker_start(struct sw_server *s, int fd)
{
    W.fd = fd;
    W.backend = sw_backend_server(s);
    atomic_store(&W.started, 1);   /* before any thread that reads it */
    if (pthread_create(&W.thread, NULL, control_main, NULL) != 0) {
        atomic_store(&W.started, 0);
        return -1;
    }
    return 0;
}

void sw_ctl_worker_stop(void)
{
    if (!atomic_load(&W.started))
        return;
    atomic_store(&W.stopping, 1);
    pthread_join(W.thread, NULL);
    take_last_replies();
    atomic_store(&W.started, 0);
    /* Commands still running read the server, which shuts down next. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&W.lock);
    while (W.commands > 0)
        if (pthread_cond_timedwait(&W.ended, &W.lock, &until) != 0)
            break;
    if (W.commands > 0)
        sw_log(SW_LOG_WARN, NULL, "%d admin commands still running at shutdown", W.commands);
    pthread_mutex_unlock(&W.lock);
}

sw_cmd_result_t sw_ctl_worker_recycle(const char *user, double wait_s, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (!atomic_load(&W.started)) {
        snprintf(msg, msglen, "no control channel to the master");
        return SW_CMD_CONFLICT;
    }
    ask_t a = {.result = SW_CMD_TIMEOUT};
    pthread_mutex_lock(&W.lock);
    a.id = ++W.next_ask;
    a.next = W.asks;
    W.asks = &a;
    pthread_mutex_unlock(&W.lock);
    json_t *m = json_pack("{s:s, s:I, s:s}", "op", "recycle", "id", a.id, "user", user);
    int sent = m && sw_ctl_send(W.fd, m) == 0;
    json_decref(m);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_s > 0 ? (time_t)wait_s + 1 : 0;
    pthread_mutex_lock(&W.lock);
    while (sent && wait_s >= 0 && !a.done)
        if (pthread_cond_timedwait(&W.replied, &W.lock, &until) != 0)
            break;
    for (ask_t **pp = &W.asks; *pp; pp = &(*pp)->next)
        if (*pp == &a) {
            *pp = a.next;
            break;
        }
    pthread_mutex_unlock(&W.lock);
    if (!sent) {
        snprintf(msg, msglen, "cannot reach the master");
        return SW_CMD_CONFLICT;
    }
    if (wait_s < 0)
        return SW_CMD_ACCEPTED;
    if (!a.done) {
        snprintf(msg, msglen, "the new process was not ready in time");
        return SW_CMD_TIMEOUT;
    }
    snprintf(msg, msglen, "%s", a.msg);
    return a.result;
}

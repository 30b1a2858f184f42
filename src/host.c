/* host.c: host mode's master (see host.h, DESIGN section 9).
 *
 * Owns: the owner table (one worker process each), every listening socket
 * of host mode, the workers' log pipes, the crash/backoff bookkeeping. One
 * thread, an epoll loop: signals come through a signalfd, the workers'
 * readiness pipes and their stdout (access log lines) and stderr (error
 * log lines) are read here, and a backoff restart is a deadline of that
 * loop. No Python is ever loaded in this process.
 *
 * What a worker writes is untrusted (its apps run in it): lines are cut at
 * a bound, an error line is credited to an app only when that app is the
 * worker's owner's, anything else is written under the owner's name, and
 * an access line must have the access log's shape and one of the owner's
 * apps or it is dropped. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "applog.h"
#include "handover.h"
#include "crashpad.h"
#include "host_admin.h"
#include "host_control.h"
#include "../admin/http.h"
#include "host_router.h"
#include "host_sighup.h"
#include "listen.h"
#include "log.h"

/* A worker that served this long before it died starts a new crash streak:
 * a crash a day is restarted at once every time. */
#define STREAK_RESET_S 30.0
#define BACKOFF_MAX_S 60.0
/* Bytes of one relayed line; a longer one is cut (log.c's own bound). */
#define RELAY_LINE_MAX 8192

typedef enum { W_STARTING, W_SERVING, W_BACKOFF, W_STOPPING, W_STOPPED } worker_state_t;

struct owner;

/* One pipe read by the loop: a worker's readiness pipe, stdout or stderr. */
typedef enum { P_READY, P_OUT, P_ERR } pipe_kind_t;
typedef struct {
    sw_host_tag_t tag;         /* SW_TAG_RELAY; first, like every epoll tag */
    struct owner *owner;
    pipe_kind_t kind;
    int fd;
    char buf[RELAY_LINE_MAX];
    size_t len;
    int cutting;               /* inside a line longer than buf: drop to its end */
} relay_t;

/* The master's end of a worker's control channel (host_control.h). */
typedef struct {
    sw_host_tag_t tag;         /* SW_TAG_CONTROL */
    struct owner *owner;
    int fd;                    /* -1 when no worker runs */
} control_t;

typedef struct owner {
    size_t index;              /* in M.owners, the router's and the view's owner index */
    int removed;               /* a SIGHUP took it out: its worker stops, none restarts */
    const sw_user_config_t *user;
    const char **apps;         /* names of the owner's apps (borrowed from cfg) */
    size_t n_apps;
    sw_applog_t **logs;        /* each app's ring, fed from the worker's lines */
    int *fds;                  /* the owner's listeners: its [user] scgi, its apps' scgi, and
                                * for each shared listener the worker's end of a channel */
    char **fd_names;
    size_t n_fds;
    int *channels;             /* per shared listener l: [2l] the master's end of the
                                * channel (host_router.h), [2l+1] the worker's */

    worker_state_t state;
    pid_t pid;
    relay_t ready, out, err;
    control_t control;
    /* A handover (recycle): the previous worker drains while the new one
     * (above) starts; once that one serves, this one gets SIGTERM. Its
     * logs are still relayed until it ends. */
    struct {
        pid_t pid;             /* -1: no handover */
        relay_t out, err;
        control_t control;
        int told_to_stop;
        void *pad;
        int pad_fd;
    } prev;
    void *pad;                 /* what the worker runs (crashpad.h), one per process */
    int pad_fd;
    char failed_why[1024];     /* the FAILED reason of a start, for a handover */
    int handover_waiting;      /* asked while the last one's old process drained */
    int handover_when_serving; /* a SIGHUP changed its config while it started */
    int reopen_when_serving;   /* a SIGUSR1 came while it started */
    /* Handovers the worker asked for itself (host_control.h "recycle":
     * a process reload, recycle-rss, SIGUSR2): their ids, answered on the
     * asking (old) worker's channel when the handover ends. */
    json_int_t asks[8];
    size_t n_asks;
    double started_mono;       /* when the current worker was started */
    struct timespec started_real;
    unsigned restarts;         /* workers started after the first */
    unsigned streak;           /* deaths in a row without STREAK_RESET_S of service */
    double restart_at;         /* W_BACKOFF: when to start again (monotonic) */
    char last_exit[128];       /* "signal 11 (SIGSEGV) at 2026-..." or "" */
} owner_t;

typedef struct {
    sw_addr_t addr;
    int fd;
    int bound_here;            /* a socket file this process created */
} host_listener_t;

static struct {
    sw_config_t *cfg;
    int config_fd;             /* memfd: the config text, sealed, for every worker */
    int devnull;
    int epfd, sigfd;
    owner_t **owners;          /* each allocated apart (epoll tags point into them); a
                                * SIGHUP appends, never removes (removed: marked) */
    size_t n_owners;
    host_listener_t *listeners;
    size_t n_listeners;
    sw_router_t *router;       /* the shared listeners ([server] scgi) */
    sw_admin_t *admin;         /* the admin port, on host_admin.h's view */
    int admin_fd;
    int admin_bound_here;
    sw_addr_t admin_addr;
    int wakefd;                /* eventfd: the admin port asked for a recycle */
    char *text;                /* the config text M.cfg was parsed from */
    sw_config_t **old_cfgs;    /* replaced by SIGHUP: kept (names are borrowed from them) */
    size_t n_old_cfgs;
    int pid_file_written;
    int stopping;
    double stop_deadline;
    int told_ready;            /* READY=1 sent to systemd */
} M = {.config_fd = -1, .devnull = -1, .epfd = -1, .sigfd = -1, .admin_fd = -1, .wakefd = -1};

static void handover_ended(owner_t *o, control_t *asker, sw_cmd_result_t r, const char *msg);
static void hand_over(owner_t *o);

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}


/* ---- set-up ------------------------------------------------------------------- */

/* The listener for address text, bound (or taken from systemd) once. */
static int listener_fd(const char *spec, char *err, size_t errlen)
{
    sw_addr_t a;
    if (sw_addr_parse(spec, &a, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < M.n_listeners; i++)
        if (strcmp(M.listeners[i].addr.text, a.text) == 0)
            return M.listeners[i].fd;
    host_listener_t *grown = realloc(M.listeners, (M.n_listeners + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    M.listeners = grown;
    host_listener_t *ls = &M.listeners[M.n_listeners];
    *ls = (host_listener_t){.addr = a, .fd = sw_handover_take_fd(a.text)};
    int inherited = ls->fd >= 0;
    if (!inherited)
        ls->fd = sw_listen_bind(&a, M.cfg->socket_mode, 1024, err, errlen);
    if (ls->fd < 0)
        return -1;
    ls->bound_here = !inherited;
    M.n_listeners++;
    sw_log(SW_LOG_INFO, NULL, "SCGI listening on %s%s", a.text, inherited ? " (inherited)" : "");
    return ls->fd;
}

/* Adds fd, named name (copied), to what o's workers get. */
static int pass_to_owner(owner_t *o, int fd, const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->n_fds; i++)
        if (o->fds[i] == fd)
            return 0;
    int *fds = realloc(o->fds, (o->n_fds + 1) * sizeof *fds);
    if (fds)
        o->fds = fds;
    char **names = realloc(o->fd_names, (o->n_fds + 1) * sizeof *names);
    if (names)
        o->fd_names = names;
    if (!fds || !names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* A copy: M.listeners grows (realloc) while owners are built. */
    if (!(o->fd_names[o->n_fds] = strdup(name))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    o->fds[o->n_fds++] = fd;
    return 0;
}

static const char *listener_name(int fd)
{
    for (size_t i = 0; i < M.n_listeners; i++)
        if (M.listeners[i].fd == fd)
            return M.listeners[i].addr.text;
    return "?";
}

static int add_owner_socket(owner_t *o, const char *spec, char *err, size_t errlen)
{
    int fd = listener_fd(spec, err, errlen);
    if (fd < 0)
        return -1;
    /* The text form of the address: what the worker's config names. */
    return pass_to_owner(o, fd, listener_name(fd), err, errlen);
}

/* The shared listeners stay here; each owner's worker gets, in place of
 * each, the end of a channel its connections come through, under the
 * listener's name (so its routes are built as for the listener). The
 * master keeps both ends: what a dead worker had not taken yet is there
 * for the next one. */
static int owner_join_router(owner_t *o, char *err, size_t errlen)
{
    const sw_config_t *cfg = M.cfg;
    int sndbuf = (int)(2 * (cfg->max_header_size + 16384));
    for (size_t l = 0; l < cfg->scgi.n; l++) {
        int fd = listener_fd(cfg->scgi.items[l], err, errlen);
        if (fd < 0)
            return -1;
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
            snprintf(err, errlen, "socketpair: %s", strerror(errno));
            return -1;
        }
        /* One message carries a whole header: room for the largest. */
        if (setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
            setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        o->channels[2 * l] = pair[0];
        o->channels[2 * l + 1] = pair[1];
        sw_router_set_channel(M.router, l, o->index, pair[0]);
        if (pass_to_owner(o, pair[1], listener_name(fd), err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int build_router(char *err, size_t errlen)
{
    const sw_config_t *cfg = M.cfg;
    const char **names = calloc(M.n_owners + 1, sizeof *names);
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < M.n_owners; i++)
        names[i] = M.owners[i]->user->name;
    M.router = sw_router_new(M.epfd, cfg, names, M.n_owners, err, errlen);
    free(names);
    if (!M.router)
        return -1;
    for (size_t l = 0; l < cfg->scgi.n; l++) {
        int fd = listener_fd(cfg->scgi.items[l], err, errlen);
        if (fd < 0 || sw_router_listen(M.router, l, fd, err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < M.n_owners; i++)
        if (owner_join_router(M.owners[i], err, errlen) < 0)
            return -1;
    return 0;
}

static int owner_apps(owner_t *o, const sw_config_t *cfg);

/* A new owner of cfg's apps, appended to M.owners with the next index, with
 * its listeners (bound here unless already bound); not yet in the router
 * or the view. Returns it, or NULL with a message in err. */
static owner_t *owner_new(const sw_config_t *cfg, const sw_user_config_t *user, char *err,
                          size_t errlen)
{
    owner_t **owners = realloc(M.owners, (M.n_owners + 1) * sizeof *owners);
    owner_t *o = calloc(1, sizeof *o);
    if (owners)
        M.owners = owners;
    if (!owners || !o) {
        free(o);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *o = (owner_t){.index = M.n_owners, .user = user, .state = W_STOPPED, .pid = -1};
    o->ready.fd = o->out.fd = o->err.fd = -1;
    o->control = (control_t){.tag = SW_TAG_CONTROL, .owner = o, .fd = -1};
    o->prev.pid = -1;
    o->prev.out.fd = o->prev.err.fd = -1;
    o->pad_fd = o->prev.pad_fd = -1;
    o->prev.control = (control_t){.tag = SW_TAG_CONTROL, .owner = o, .fd = -1};
    o->channels = calloc(2 * cfg->scgi.n + 1, sizeof *o->channels);
    if (!o->channels || owner_apps(o, cfg) < 0) {
        free(o->channels);
        free(o);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    M.owners[M.n_owners++] = o;   /* cleanup() frees it from here on */
    for (size_t i = 0; i < 2 * cfg->scgi.n; i++)
        o->channels[i] = -1;
    for (size_t i = 0; i < user->scgi.n; i++)
        if (add_owner_socket(o, user->scgi.items[i], err, errlen) < 0)
            return NULL;
    for (size_t a = 0; a < cfg->n_apps; a++) {
        const sw_app_config_t *app = &cfg->apps[a];
        if (!app->owner || strcmp(app->owner, user->name) != 0)
            continue;
        for (size_t i = 0; i < app->scgi.n; i++)
            if (add_owner_socket(o, app->scgi.items[i], err, errlen) < 0)
                return NULL;
    }
    return o;
}

/* Whether user owns an app of cfg (only owners of apps get a worker). */
static int owns_apps(const sw_config_t *cfg, const char *user)
{
    for (size_t a = 0; a < cfg->n_apps; a++)
        if (cfg->apps[a].owner && strcmp(cfg->apps[a].owner, user) == 0)
            return 1;
    return 0;
}

/* The owners that have apps, each with its apps and its listeners. */
static int build_owners(char *err, size_t errlen)
{
    const sw_config_t *cfg = M.cfg;
    for (size_t u = 0; u < cfg->n_users; u++)
        if (owns_apps(cfg, cfg->users[u].name) && !owner_new(cfg, &cfg->users[u], err, errlen))
            return -1;
    const sw_user_config_t **users = calloc(M.n_owners + 1, sizeof *users);
    for (size_t i = 0; users && i < M.n_owners; i++)
        users[i] = M.owners[i]->user;
    int rc = users ? sw_hostview_init(cfg, users, M.n_owners, M.wakefd) : -1;
    free(users);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The config text in a sealed memfd: every worker parses exactly what the
 * master parsed, even if the file changes meanwhile, and cannot change it
 * for the next worker. */
static int config_memfd(const char *text, size_t len, char *err, size_t errlen)
{
    int fd = memfd_create("subwsgi-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "writing the config memfd: %s", strerror(errno));
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        snprintf(err, errlen, "sealing the config memfd: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The admin port: bound (or inherited) here, served by admin/http.c on the
 * master's view of its workers (host_admin.h). */
static int start_admin(char *err, size_t errlen)
{
    if (sw_addr_parse(M.cfg->admin, &M.admin_addr, err, errlen) < 0)
        return -1;
    int fd = sw_handover_take_fd(M.admin_addr.text);
    M.admin_bound_here = fd < 0;
    if (fd < 0)
        fd = sw_listen_bind(&M.admin_addr, M.cfg->socket_mode, 64, err, errlen);
    if (fd < 0)
        return -1;
    sw_backend_t backend = sw_hostview_backend();
    M.admin = sw_admin_start(fd, &backend, M.cfg->admin_tls_cert, M.cfg->admin_tls_key, err,
                             errlen);
    if (!M.admin) {
        close(fd);
        return -1;
    }
    sw_log(SW_LOG_INFO, NULL, "admin listening on %s%s", M.admin_addr.text,
           M.cfg->admin_tls_cert ? " (TLS)" : "");
    return 0;
}

/* ---- the workers' output ------------------------------------------------------- */

static int owns_app(const owner_t *o, const char *name, size_t len)
{
    for (size_t i = 0; i < o->n_apps; i++)
        if (strlen(o->apps[i]) == len && memcmp(o->apps[i], name, len) == 0)
            return 1;
    return 0;
}

static int parse_level(const char *s, size_t len, sw_log_level_t *out)
{
    static const sw_log_level_t levels[] = {SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN,
                                            SW_LOG_ERROR};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        const char *name = sw_log_level_name(levels[i]);
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            *out = levels[i];
            return 0;
        }
    }
    return -1;
}

/* One error-log line of a worker: "TIME LEVEL [APP] message" as log.c
 * writes it. Logged again here (with this process's time), as the app's
 * when the app is the owner's, else under the owner's name; a line that is
 * not of that shape (an app writing to its stderr itself) is the owner's
 * output. */
static void relay_error_line(owner_t *o, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
    sw_log_level_t level;
    if (sp2 && sp2 + 1 < line + len && sp2[1] == '[' &&
        parse_level(sp1 + 1, (size_t)(sp2 - sp1 - 1), &level) == 0) {
        const char *app = sp2 + 2;
        const char *end = memchr(app, ']', len - (size_t)(app - line));
        if (end && end + 1 < line + len && end[1] == ' ') {
            const char *msg = end + 2;
            size_t msg_len = len - (size_t)(msg - line);
            if (owns_app(o, app, (size_t)(end - app))) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(end - app), app);
                sw_log_text(level, name, msg, msg_len);
            } else {
                sw_log(level, NULL, "worker %s: %.*s", o->user->name, (int)msg_len, msg);
            }
            return;
        }
    }
    sw_log(SW_LOG_INFO, NULL, "worker %s output: %.*s", o->user->name, (int)len, line);
}

/* One access-log line: "TIME APP METHOD URI STATUS BYTES DURATION", every
 * field already escaped by the worker's log.c. Written as it is when it has
 * that shape and one of the owner's apps; else dropped (a worker's app
 * forging lines for another owner's app). */
static void relay_access_line(owner_t *o, const char *line, size_t len)
{
    const char *field[7];
    size_t flen[7], n = 0, i = 0;
    while (i < len && n < 7) {
        size_t j = i;
        while (j < len && line[j] != ' ')
            j++;
        field[n] = line + i;
        flen[n++] = j - i;
        i = j + 1;
    }
    int ok = n == 7 && i >= len;
    for (size_t k = 0; ok && k < len; k++)
        if ((unsigned char)line[k] < 0x20 || (unsigned char)line[k] >= 0x7f)
            ok = 0;
    if (ok && owns_app(o, field[1], flen[1])) {
        sw_log_access_line(line, len);
        return;
    }
    sw_log(SW_LOG_WARN, NULL, "worker %s: an access log line not of its apps was dropped",
           o->user->name);
}

static void worker_ready(owner_t *o, const char *text)
{
    if (o->removed)
        return;   /* a SIGHUP took its owner out while it started: it stops */
    if (strncmp(text, "READY", 5) == 0) {
        if (o->state == W_STARTING)
            o->state = W_SERVING;
        if (o->prev.pid > 0 && !o->prev.told_to_stop) {
            /* A handover: the new worker serves, the previous one drains. */
            kill(o->prev.pid, SIGTERM);
            o->prev.told_to_stop = 1;
            sw_log(SW_LOG_INFO, NULL, "worker %s: handed over from process %ld to %ld",
                   o->user->name, (long)o->prev.pid, (long)o->pid);
            handover_ended(o, &o->prev.control, SW_CMD_DONE, "");
        }
        sw_router_owner_serving(M.router, o->index, 1);
        sw_hostview_serving(o->index);
        if (o->reopen_when_serving) {
            o->reopen_when_serving = 0;
            kill(o->pid, SIGUSR1);
        }
        if (o->handover_when_serving && o->prev.pid <= 0) {
            o->handover_when_serving = 0;
            hand_over(o);
        }
        sw_log(SW_LOG_INFO, NULL, "worker %s (pid %ld, user %s) serves %zu apps",
               o->user->name, (long)o->pid, o->user->run_as ? o->user->run_as : "-", o->n_apps);
    } else if (strncmp(text, "FAILED ", 7) == 0) {
        sw_log_text(SW_LOG_ERROR, NULL, text + 7, strlen(text + 7));
        snprintf(o->failed_why, sizeof o->failed_why, "%s", text + 7);
    }
}

static void relay_line(relay_t *r, const char *line, size_t len)
{
    if (r->kind == P_ERR)
        relay_error_line(r->owner, line, len);
    else if (r->kind == P_OUT)
        relay_access_line(r->owner, line, len);
}

static void close_relay(relay_t *r)
{
    if (r->fd < 0)
        return;
    if (r->kind == P_READY) {
        r->buf[r->len < sizeof r->buf ? r->len : sizeof r->buf - 1] = '\0';
        if (r->len > 0)
            worker_ready(r->owner, r->buf);
    } else if (r->len > 0 && !r->cutting) {
        relay_line(r, r->buf, r->len);
    }
    epoll_ctl(M.epfd, EPOLL_CTL_DEL, r->fd, NULL);
    close(r->fd);
    r->fd = -1;
    r->len = 0;
    r->cutting = 0;
}

/* Reads what the pipe has (all of it when draining: the worker is gone).
 * The readiness pipe keeps its bytes until EOF; the logs go line by line. */
static void read_relay(relay_t *r, int drain)
{
    int rounds = 0;
    while (r->fd >= 0) {
        if (r->len == sizeof r->buf) {
            /* A line longer than the bound: log its start, drop its rest. */
            if (r->kind != P_READY)
                relay_line(r, r->buf, r->len);
            r->len = 0;
            r->cutting = r->kind != P_READY;
        }
        ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got == 0 || (got < 0 && errno != EAGAIN)) {
            close_relay(r);
            return;
        }
        if (got < 0)
            return;
        size_t start = 0, end = r->len + (size_t)got;
        if (r->kind != P_READY) {
            for (size_t i = r->len; i < end; i++) {
                if (r->buf[i] != '\n')
                    continue;
                if (!r->cutting)
                    relay_line(r, r->buf + start, i - start);
                r->cutting = 0;
                start = i + 1;
            }
            memmove(r->buf, r->buf + start, end - start);
            end -= start;
        }
        r->len = end;
        /* One worker flooding its stderr must not starve the loop. */
        if (!drain && ++rounds == 16)
            return;
    }
}

static int watch_relay(relay_t *r, owner_t *o, pipe_kind_t kind, int fd)
{
    *r = (relay_t){.tag = SW_TAG_RELAY, .owner = o, .kind = kind, .fd = fd};
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
    return epoll_ctl(M.epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- starting and reaping workers ------------------------------------------------ */

static void close_control(owner_t *o)
{
    if (o->control.fd < 0)
        return;
    epoll_ctl(M.epfd, EPOLL_CTL_DEL, o->control.fd, NULL);
    close(o->control.fd);
    o->control.fd = -1;
}

/* Moves a relay or control channel to another place in memory: epoll
 * holds its address. */
static void move_relay(relay_t *to, relay_t *from)
{
    *to = *from;
    from->fd = -1;
    from->len = 0;
    if (to->fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = to};
        epoll_ctl(M.epfd, EPOLL_CTL_MOD, to->fd, &ev);
    }
}

static void move_control(control_t *to, control_t *from)
{
    to->fd = from->fd;
    from->fd = -1;
    if (to->fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = to};
        epoll_ctl(M.epfd, EPOLL_CTL_MOD, to->fd, &ev);
    }
}

static void start_worker(owner_t *o);

/* A handover ended (result r): the admin requests waiting for it are
 * answered (host_admin.h), and so are the asks of the old worker, on its
 * channel (asker). */
static void handover_ended(owner_t *o, control_t *asker, sw_cmd_result_t r, const char *msg)
{
    sw_hostview_recycled(o->index, r, msg);
    for (size_t i = 0; i < o->n_asks; i++) {
        json_t *m = json_pack("{s:s, s:I, s:i, s:s}", "op", "result", "id", o->asks[i],
                              "result", (int)r, "msg", msg);
        if (m && asker->fd >= 0)
            sw_ctl_send(asker->fd, m);
        json_decref(m);
    }
    o->n_asks = 0;
}

/* A graceful handover of o's worker: a new one starts with the same
 * sockets while the current one serves on; when the new one is ready the
 * old one drains (worker_ready), and when it fails to start the old one
 * simply carries on (worker_died). */
static void hand_over(owner_t *o)
{
    if (o->prev.pid > 0) {
        /* The last handover's old process still drains: this one starts
         * when it has ended (previous_ended). */
        o->handover_waiting = 1;
        return;
    }
    if (o->state != W_SERVING) {
        handover_ended(o, &o->control, SW_CMD_CONFLICT, "the owner's process is not serving");
        return;
    }
    sw_log(SW_LOG_INFO, NULL, "worker %s: handing over process %ld to a new one", o->user->name,
           (long)o->pid);
    o->prev.pid = o->pid;
    o->prev.told_to_stop = 0;
    move_relay(&o->prev.out, &o->out);
    move_relay(&o->prev.err, &o->err);
    move_control(&o->prev.control, &o->control);
    o->prev.pad = o->pad;
    o->prev.pad_fd = o->pad_fd;
    o->pad = NULL;
    o->pad_fd = -1;
    close_relay(&o->ready);
    o->failed_why[0] = '\0';
    start_worker(o);
}

/* The new worker of a handover died before it served: the previous one,
 * still serving, is the owner's worker again. */
static void hand_back(owner_t *o, const char *how)
{
    size_t idx = o->index;
    o->pid = o->prev.pid;
    o->prev.pid = -1;
    move_relay(&o->out, &o->prev.out);
    move_relay(&o->err, &o->prev.err);
    move_control(&o->control, &o->prev.control);
    sw_crashpad_destroy(o->pad, o->pad_fd);
    o->pad = o->prev.pad;
    o->pad_fd = o->prev.pad_fd;
    o->prev.pad = NULL;
    o->prev.pad_fd = -1;
    o->state = W_SERVING;
    sw_hostview_started(idx, o->pid, o->control.fd, o->restarts, 0);
    sw_hostview_serving(idx);
    sw_router_owner_serving(M.router, idx, 1);
    char why[1200];
    snprintf(why, sizeof why, "the new process %s: %s", how,
             o->failed_why[0] ? o->failed_why : "it did not say why");
    sw_log(SW_LOG_ERROR, NULL, "worker %s: handover failed (%s); process %ld serves on",
           o->user->name, why, (long)o->pid);
    handover_ended(o, &o->control, SW_CMD_FAILED, why);
}

static void start_worker(owner_t *o)
{
    char why[1024];
    int out[2] = {-1, -1}, err[2] = {-1, -1}, ctl[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
        snprintf(why, sizeof why, "pipe: %s", strerror(errno));
        goto fail;
    }
    sw_ctl_size_buffers(ctl[0]);
    sw_ctl_size_buffers(ctl[1]);
    sw_crashpad_destroy(o->pad, o->pad_fd);
    o->pad = sw_crashpad_create(&o->pad_fd);   /* without one, crashes name no app */
    char config_env[48], control_env[48], pad_env[48];
    snprintf(config_env, sizeof config_env, "SUBWSGI_CONFIG_FD=%zu", 3 + o->n_fds + 1);
    snprintf(control_env, sizeof control_env, "SUBWSGI_CONTROL_FD=%zu", 3 + o->n_fds + 2);
    snprintf(pad_env, sizeof pad_env, "SUBWSGI_CRASHPAD_FD=%zu", 3 + o->n_fds + 3);
    const char *env[] = {config_env, control_env, o->pad ? pad_env : NULL, NULL};
    const int extra[] = {M.config_fd, ctl[1], o->pad_fd};
    char *argv[] = {(char *)sw_handover_exe(), "--host-worker", (char *)o->user->name, "-c",
                    M.cfg->file, NULL};
    sw_spawn_t sp = {.fds = o->fds, .names = (const char *const *)o->fd_names, .n = o->n_fds,
                     .extra_fds = extra, .n_extra = o->pad ? 3 : 2, .extra_env = env,
                     .argv = argv,
                     .stdin_fd = M.devnull, .stdout_fd = out[1], .stderr_fd = err[1]};
    int ready;
    if (sw_handover_spawn(&sp, &o->pid, &ready, why, sizeof why) < 0)
        goto fail;
    close(out[1]);
    close(err[1]);
    close(ctl[1]);
    watch_relay(&o->ready, o, P_READY, ready);
    watch_relay(&o->out, o, P_OUT, out[0]);
    watch_relay(&o->err, o, P_ERR, err[0]);
    o->control.fd = ctl[0];
    fcntl(ctl[0], F_SETFL, fcntl(ctl[0], F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &o->control};
    epoll_ctl(M.epfd, EPOLL_CTL_ADD, ctl[0], &ev);
    o->state = W_STARTING;
    o->started_mono = now_mono();
    clock_gettime(CLOCK_REALTIME, &o->started_real);
    sw_hostview_started(o->index, o->pid, ctl[0], o->restarts, 1);
    sw_log(SW_LOG_INFO, NULL, "worker %s: started process %ld", o->user->name, (long)o->pid);
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
        if (ctl[i] >= 0)
            close(ctl[i]);
    }
    if (o->prev.pid > 0) {
        snprintf(o->failed_why, sizeof o->failed_why, "%s", why);
        hand_back(o, "could not be started");
        return;
    }
    /* Counted as a death: it is retried with the same backoff. */
    sw_log(SW_LOG_ERROR, NULL, "worker %s: cannot start: %s", o->user->name, why);
    o->pid = -1;
    o->streak++;
    o->state = W_BACKOFF;
    o->restart_at = now_mono() + BACKOFF_MAX_S;
    sw_hostview_died(o->index, why, BACKOFF_MAX_S);
}

/* One message of a worker (host_control.h). A draining previous worker no
 * longer speaks for the apps (its reports are dropped), but answers the
 * commands it was sent. */
static void on_control_message(owner_t *o, control_t *c, json_t *m)
{
    const char *op = json_string_value(json_object_get(m, "op"));
    if (op && strcmp(op, "recycle") == 0) {
        json_t *id = json_object_get(m, "id");
        if (c != &o->control || !json_is_integer(id))
            return;
        if (o->n_asks == sizeof o->asks / sizeof o->asks[0]) {
            json_t *r = json_pack("{s:s, s:O, s:i, s:s}", "op", "result", "id", id, "result",
                                  (int)SW_CMD_CONFLICT, "msg", "too many handovers asked");
            if (r)
                sw_ctl_send(c->fd, r);
            json_decref(r);
            return;
        }
        o->asks[o->n_asks++] = json_integer_value(id);
        sw_log(SW_LOG_INFO, NULL, "worker %s asked for a handover of itself", o->user->name);
        hand_over(o);
        return;
    }
    if (c == &o->control || (op && strcmp(op, "result") == 0))
        sw_hostview_message(o->index, m);
}

/* Messages from a worker's control channel (c: the current worker's or a
 * previous one's); its end: the worker died (its death is handled when it
 * is reaped). */
static void read_control(owner_t *o, control_t *c)
{
    for (int i = 0; i < 64 && c->fd >= 0; i++) {
        int status;
        json_t *m = sw_ctl_recv(c->fd, &status);
        if (m) {
            on_control_message(o, c, m);
            json_decref(m);
        } else if (status == 1) {
            epoll_ctl(M.epfd, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        } else if (status == 0) {
            return;
        }
    }
}

/* "signal 11 (SIGSEGV)" or "exit 3". */
static void describe_status(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(out, len, "signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core file written" : "");
    } else {
        snprintf(out, len, "exit %d", WEXITSTATUS(status));
    }
}

static void worker_died(owner_t *o, int status)
{
    /* Its last words first: a traceback or the FAILED reason. */
    read_relay(&o->err, 1);
    read_relay(&o->out, 1);
    read_relay(&o->ready, 1);
    close_relay(&o->ready);
    close_relay(&o->out);
    close_relay(&o->err);

    char how[64], at[32], running[512];
    describe_status(status, how, sizeof how);
    sw_log_timestamp(at);
    snprintf(o->last_exit, sizeof o->last_exit, "%s at %s", how, at);
    /* What it was running when it died (its apps may have written over
     * that memory: describe treats it as untrusted). */
    sw_crashpad_describe(o->pad, running, sizeof running);
    if (running[0] && !M.stopping)
        sw_log(SW_LOG_ERROR, NULL, "worker %s (pid %ld) was running: %s", o->user->name,
               (long)o->pid, running);
    pid_t pid = o->pid;
    o->pid = -1;
    size_t idx = o->index;
    if (o->removed) {
        o->state = W_STOPPED;
        sw_hostview_died(idx, o->last_exit, -1);
        close_control(o);
        sw_log(SW_LOG_INFO, NULL, "worker %s (pid %ld) of a removed owner ended: %s",
               o->user->name, (long)pid, how);
        return;
    }
    if (o->prev.pid > 0 && !o->prev.told_to_stop && !M.stopping) {
        close_control(o);
        hand_back(o, how);
        return;
    }
    sw_router_owner_serving(M.router, idx, 0);
    if (M.stopping) {
        o->state = W_STOPPED;
        sw_hostview_died(idx, o->last_exit, -1);
        close_control(o);
        sw_log(SW_LOG_INFO, NULL, "worker %s (pid %ld) stopped: %s", o->user->name, (long)pid,
               how);
        return;
    }
    double now = now_mono();
    if (o->state == W_SERVING && now - o->started_mono >= STREAK_RESET_S)
        o->streak = 0;
    o->streak++;
    /* The first death restarts at once; then 1 s, 2 s, 4 s ... 60 s. */
    double delay = 0;
    if (o->streak > 1) {
        delay = 1;
        for (unsigned i = 2; i < o->streak && delay < BACKOFF_MAX_S; i++)
            delay *= 2;
        if (delay > BACKOFF_MAX_S)
            delay = BACKOFF_MAX_S;
    }
    char then[64] = "restarting now";
    if (delay > 0)
        snprintf(then, sizeof then, "restarting in %.0f s (it keeps dying)", delay);
    sw_log(SW_LOG_ERROR, NULL, "worker %s (pid %ld, user %s, apps %zu) died: %s; %s",
           o->user->name, (long)pid, o->user->run_as ? o->user->run_as : "-", o->n_apps, how,
           then);
    o->restarts++;
    sw_hostview_died(idx, o->last_exit, delay);
    close_control(o);
    if (delay == 0) {
        start_worker(o);
    } else {
        o->state = W_BACKOFF;
        o->restart_at = now + delay;
    }
}

/* The previous worker of a handover ended (it drained, or died). */
static void previous_ended(owner_t *o, int status)
{
    read_relay(&o->prev.err, 1);
    read_relay(&o->prev.out, 1);
    close_relay(&o->prev.out);
    close_relay(&o->prev.err);
    if (o->prev.control.fd >= 0) {
        epoll_ctl(M.epfd, EPOLL_CTL_DEL, o->prev.control.fd, NULL);
        close(o->prev.control.fd);
        o->prev.control.fd = -1;
    }
    char how[64];
    describe_status(status, how, sizeof how);
    sw_log(SW_LOG_INFO, NULL, "worker %s: the previous process %ld ended (%s)", o->user->name,
           (long)o->prev.pid, how);
    sw_crashpad_destroy(o->prev.pad, o->prev.pad_fd);
    o->prev.pad = NULL;
    o->prev.pad_fd = -1;
    if (!o->prev.told_to_stop) {
        /* It died while its successor was starting: the successor is the
         * owner's worker now (or dies too, and is restarted as usual). */
        handover_ended(o, &o->prev.control, SW_CMD_DONE, "");
    }
    o->prev.pid = -1;
    if (o->handover_waiting && !M.stopping) {
        o->handover_waiting = 0;
        hand_over(o);
    }
}

static void reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < M.n_owners; i++) {
            if (M.owners[i]->pid == pid)
                worker_died(M.owners[i], status);
            else if (M.owners[i]->prev.pid == pid)
                previous_ended(M.owners[i], status);
        }
    }
}

/* ---- the loop ------------------------------------------------------------------- */

/* SIGTERM to o's worker (and a handover's previous one): they drain and
 * exit; none is started after them while stopping or once removed. */
static void stop_worker(owner_t *o)
{
    if (o->prev.pid > 0 && !o->prev.told_to_stop) {
        kill(o->prev.pid, SIGTERM);
        o->prev.told_to_stop = 1;
    }
    if (o->pid > 0) {
        kill(o->pid, SIGTERM);
        o->state = W_STOPPING;
    } else {
        o->state = W_STOPPED;
    }
}

static void begin_stop(const char *why)
{
    if (M.stopping)
        return;
    M.stopping = 1;
    /* Each worker drains for drain-timeout itself; past that (and a
     * margin for its start-up or a wedged shutdown) it is killed. */
    M.stop_deadline = now_mono() + M.cfg->drain_timeout + 10;
    sw_log(SW_LOG_INFO, NULL, "%s: stopping %zu workers", why, M.n_owners);
    sw_handover_notify("STOPPING=1");
    for (size_t i = 0; i < M.n_owners; i++) {
        owner_t *o = M.owners[i];
        stop_worker(o);
    }
}

/* ---- SIGHUP ------------------------------------------------------------------------ */

/* The listeners of owner in cfg, as their text forms, sorted into out
 * (one per line). */
static void owner_listeners(const sw_config_t *cfg, const char *owner, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    const sw_user_config_t *u = sw_config_user(cfg, owner);
    for (size_t i = 0; u && i < u->scgi.n; i++)
        o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s\n", u->scgi.items[i]);
    for (size_t a = 0; a < cfg->n_apps; a++)
        if (cfg->apps[a].owner && strcmp(cfg->apps[a].owner, owner) == 0)
            for (size_t i = 0; i < cfg->apps[a].scgi.n; i++)
                o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s\n",
                                      cfg->apps[a].scgi.items[i]);
}

/* What the master itself holds and SIGHUP cannot change in place; why in
 * why when something of it changed. */
static int master_unchanged(const sw_config_t *next, char *why, size_t len)
{
    const sw_config_t *cur = M.cfg;
    const char *what = next->mode != SW_MODE_HOST ? "mode"
                       : !sw_strv_equal(&cur->scgi, &next->scgi) ? "[server] scgi"
                       : !sw_str_equal(cur->admin, next->admin) ? "admin"
                       : !sw_str_equal(cur->admin_tls_cert, next->admin_tls_cert) ||
                         !sw_str_equal(cur->admin_tls_key, next->admin_tls_key) ? "admin TLS"
                       : !sw_str_equal(cur->error_log, next->error_log) ||
                         !sw_str_equal(cur->access_log, next->access_log) ? "a log file"
                       : !sw_str_equal(cur->pid_file, next->pid_file) ? "pid-file"
                       : cur->socket_mode != next->socket_mode ? "socket-mode" : NULL;
    if (what) {
        snprintf(why, len, "%s changed", what);
        return 0;
    }
    /* An owner that stays keeps its sockets (new owners bring new ones;
     * a removed one's go with it). */
    for (size_t i = 0; i < M.n_owners; i++) {
        const char *name = M.owners[i]->user->name;
        if (M.owners[i]->removed || !owns_apps(next, name))
            continue;
        char was[2048], now[2048];
        owner_listeners(cur, name, was, sizeof was);
        owner_listeners(next, name, now, sizeof now);
        if (strcmp(was, now) != 0) {
            snprintf(why, len, "the listeners of owner %s changed", name);
            return 0;
        }
    }
    return 1;
}

/* An owner's apps (names and log rings) from cfg. */
static int owner_apps(owner_t *o, const sw_config_t *cfg)
{
    const char **apps = calloc(cfg->n_apps + 1, sizeof *apps);
    sw_applog_t **logs = calloc(cfg->n_apps + 1, sizeof *logs);
    if (!apps || !logs) {
        free(apps);
        free(logs);
        return -1;
    }
    size_t n = 0;
    for (size_t a = 0; a < cfg->n_apps; a++) {
        if (!cfg->apps[a].owner || strcmp(cfg->apps[a].owner, o->user->name) != 0)
            continue;
        logs[n] = sw_applog_get(cfg->apps[a].name);
        apps[n++] = cfg->apps[a].name;
    }
    for (size_t i = 0; i < o->n_apps; i++)
        sw_applog_put(o->logs[i]);
    free(o->apps);
    free(o->logs);
    o->apps = apps;
    o->logs = logs;
    o->n_apps = n;
    return 0;
}

/* The owner named name that has not been removed, or NULL. */
static owner_t *live_owner(const char *name)
{
    for (size_t i = 0; i < M.n_owners; i++)
        if (!M.owners[i]->removed && strcmp(M.owners[i]->user->name, name) == 0)
            return M.owners[i];
    return NULL;
}

/* A listener no live owner passes to its worker any more: closed (its
 * socket file removed). */
static void close_if_unused(int fd)
{
    for (size_t i = 0; i < M.n_owners; i++)
        for (size_t k = 0; !M.owners[i]->removed && k < M.owners[i]->n_fds; k++)
            if (M.owners[i]->fds[k] == fd)
                return;
    for (size_t i = 0; i < M.n_listeners; i++) {
        host_listener_t *ls = &M.listeners[i];
        if (ls->fd != fd)
            continue;
        close(ls->fd);
        if (ls->addr.is_unix && ls->bound_here)
            unlink(ls->addr.text + 5);
        sw_log(SW_LOG_INFO, NULL, "SCGI listener %s closed", ls->addr.text);
        M.listeners[i] = M.listeners[--M.n_listeners];
        return;
    }
}

/* A SIGHUP took owner o out: its worker drains and stops, none follows;
 * its own listeners close once no owner passes them on. */
static void remove_owner(owner_t *o)
{
    o->removed = 1;
    o->handover_when_serving = o->handover_waiting = 0;
    sw_router_owner_serving(M.router, o->index, 0);
    sw_hostview_remove_owner(o->index);
    stop_worker(o);
    sw_log(SW_LOG_INFO, NULL, "SIGHUP: owner %s removed: its worker drains and stops",
           o->user->name);
    for (size_t k = 0; k < o->n_fds; k++)
        close_if_unused(o->fds[k]);
}

/* A SIGHUP brought a new owner of apps: it gets the same index in
 * M.owners, the router and the view, its listeners and channels; its
 * worker is started by the caller. Returns 0, or -1 (logged; the owner is
 * kept as removed, so the indices stay aligned). */
static int add_owner(const sw_user_config_t *user)
{
    char err[512] = "";
    size_t n = M.n_owners;
    owner_t *o = owner_new(M.cfg, user, err, sizeof err);
    int ok = o != NULL;
    if (M.n_owners == n) {   /* not even appended: out of memory */
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: owner %s not added: %s", user->name, err);
        return -1;
    }
    o = M.owners[n];
    int router_index = sw_router_add_owner(M.router);
    int view_index = sw_hostview_add_owner(user);
    if (router_index != (int)n || view_index != (int)n)
        ok = 0;   /* out of memory: the indices no longer agree */
    if (ok && owner_join_router(o, err, sizeof err) < 0)
        ok = 0;
    if (!ok) {
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: owner %s not added: %s", user->name,
               err[0] ? err : "out of memory");
        o->removed = 1;
        if (view_index == (int)n)
            sw_hostview_remove_owner(n);
        return -1;
    }
    sw_log(SW_LOG_INFO, NULL, "SIGHUP: owner %s added", user->name);
    return 0;
}

/* SIGHUP (DESIGN section 9): the config file again; each owner whose part
 * of it changed gets a new worker by a handover, the others never notice.
 * What the master holds itself (its listeners, the admin port, the logs,
 * the owners of apps and their sockets) needs a restart of the service:
 * then nothing changes and the log says why. */
static void reload_config(void)
{
    sw_errors_t errs = {0};
    char *text = sw_config_read(M.cfg->file, &errs);
    sw_config_t *next = text ? sw_config_parse_string(M.cfg->file, text, &errs) : NULL;
    char why[512];
    if (!next) {
        for (size_t i = 0; i < errs.lines.n; i++)
            sw_log(SW_LOG_ERROR, NULL, "SIGHUP: %s", errs.lines.items[i]);
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: the config has errors: nothing changed");
        goto out;
    }
    if (!master_unchanged(next, why, sizeof why)) {
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: %s: that needs a restart of the service; "
               "nothing changed", why);
        goto out;
    }
    sw_config_t **old = realloc(M.old_cfgs, (M.n_old_cfgs + 1) * sizeof *old);
    if (old)
        M.old_cfgs = old;
    int fd = old ? config_memfd(text, strlen(text), why, sizeof why) : -1;
    if (fd < 0) {
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: %s: nothing changed", old ? why : "out of memory");
        goto out;
    }
    /* Which owners changed, before the swap (the fingerprints compare the
     * old text with the new). */
    size_t n_before = M.n_owners;
    int *changed = calloc(n_before + 1, sizeof *changed);
    for (size_t i = 0; changed && i < n_before; i++) {
        owner_t *o = M.owners[i];
        if (o->removed || !owns_apps(next, o->user->name))
            continue;
        char *was = sw_host_owner_fingerprint(M.text, M.cfg, o->user->name);
        char *now = sw_host_owner_fingerprint(text, next, o->user->name);
        changed[i] = !was || !now || strcmp(was, now) != 0;
        free(was);
        free(now);
    }
    M.old_cfgs[M.n_old_cfgs++] = M.cfg;
    M.cfg = next;
    next = NULL;
    free(M.text);
    M.text = text;
    text = NULL;
    close(M.config_fd);
    M.config_fd = fd;

    size_t n_changed = 0, n_added = 0, n_removed = 0;
    /* Owners that stay or go. */
    for (size_t i = 0; i < n_before; i++) {
        owner_t *o = M.owners[i];
        if (o->removed)
            continue;
        const sw_user_config_t *u = sw_config_user(M.cfg, o->user->name);
        if (!u || !owns_apps(M.cfg, o->user->name)) {
            remove_owner(o);
            n_removed++;
            continue;
        }
        o->user = u;
        owner_apps(o, M.cfg);
        if (changed && !changed[i])
            continue;
        n_changed++;
        /* Its next process reads the new config (the memfd above). */
        if (o->state == W_SERVING) {
            hand_over(o);
        } else if (o->state == W_STARTING) {
            o->handover_when_serving = 1;
        } else if (o->state == W_BACKOFF) {
            o->restart_at = now_mono();   /* the new config may be the fix */
            o->streak = 0;
        }
    }
    free(changed);
    /* New owners: a worker each (their routes come with the new config). */
    for (size_t u = 0; u < M.cfg->n_users; u++) {
        const sw_user_config_t *user = &M.cfg->users[u];
        if (!owns_apps(M.cfg, user->name) || live_owner(user->name))
            continue;
        if (add_owner(user) == 0)
            n_added++;
    }
    const sw_user_config_t **users = calloc(M.n_owners + 1, sizeof *users);
    const char **names = calloc(M.n_owners + 1, sizeof *names);
    for (size_t i = 0; users && names && i < M.n_owners; i++) {
        owner_t *o = M.owners[i];
        users[i] = o->removed ? NULL : o->user;
        names[i] = o->removed ? NULL : o->user->name;
    }
    if (!users || !names || sw_router_set_config(M.router, M.cfg, names) < 0 ||
        sw_hostview_set_config(M.cfg, users) < 0)
        sw_log(SW_LOG_ERROR, NULL, "SIGHUP: out of memory: routes or status may show the "
               "old config until the next SIGHUP");
    free(users);
    free(names);
    for (size_t i = n_before; i < M.n_owners; i++)
        if (!M.owners[i]->removed)
            start_worker(M.owners[i]);
    sw_log(SW_LOG_INFO, NULL, "SIGHUP: applied: %zu of %zu owners' workers handed over to the "
           "new config, %zu owners added, %zu removed, the others unchanged", n_changed,
           n_before - n_removed, n_added, n_removed);
out:
    sw_errors_free(&errs);
    sw_config_free(next);
    free(text);
}

/* The admin port asked for recycles (host_admin.h). */
static void on_wake(void)
{
    uint64_t n;
    ssize_t ignored = read(M.wakefd, &n, sizeof n);
    (void)ignored;
    for (size_t i = 0; i < M.n_owners; i++)
        if (sw_hostview_take_recycle(i))
            hand_over(M.owners[i]);
}

static void on_signal(void)
{
    struct signalfd_siginfo si;
    while (read(M.sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap();
            break;
        case SIGTERM:
        case SIGINT:
            begin_stop(si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        case SIGUSR1: {
            char err[512];
            if (sw_log_reopen(err, sizeof err) < 0)
                sw_log(SW_LOG_ERROR, NULL, "SIGUSR1: %s", err);
            else
                sw_log(SW_LOG_INFO, NULL, "SIGUSR1: log files reopened");
            /* The workers write their apps' LOG_DIR files (applog.h). Not
             * one still starting: until it blocks SIGUSR1 the signal
             * would kill it. */
            for (size_t i = 0; i < M.n_owners; i++) {
                owner_t *o = M.owners[i];
                if (o->state == W_SERVING && o->pid > 0)
                    kill(o->pid, SIGUSR1);
                else if (o->state == W_STARTING)
                    o->reopen_when_serving = 1;   /* sent once it serves */
            }
            break;
        }
        case SIGHUP:
            if (!M.stopping)
                reload_config();
            break;
        default:
            sw_log(SW_LOG_WARN, NULL, "SIG%s: replacing the master is not available in host "
                   "mode yet (restart the service; POST /v1/server/recycle replaces every "
                   "worker)", sigabbrev_np((int)si.ssi_signo));
            break;
        }
    }
}

/* Milliseconds to the next deadline (a backoff restart, the stop's), -1:
 * none. */
static int next_timeout(double now)
{
    double next = -1;
    for (size_t i = 0; i < M.n_owners; i++)
        if (M.owners[i]->state == W_BACKOFF && (next < 0 || M.owners[i]->restart_at < next))
            next = M.owners[i]->restart_at;
    if (M.stopping && (next < 0 || M.stop_deadline < next))
        next = M.stop_deadline;
    double routing = M.router ? sw_router_next_deadline(M.router) : -1;
    if (routing >= 0 && (next < 0 || routing < next))
        next = routing;
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)((next - now) * 1000) + 1;
}

static void on_deadlines(double now)
{
    if (M.router)
        sw_router_expire(M.router, now);
    for (size_t i = 0; i < M.n_owners; i++) {
        owner_t *o = M.owners[i];
        if (o->state == W_BACKOFF && o->restart_at <= now)
            start_worker(o);
    }
    if (M.stopping && now >= M.stop_deadline) {
        for (size_t i = 0; i < M.n_owners; i++) {
            owner_t *o = M.owners[i];
            if (o->pid > 0) {
                sw_log(SW_LOG_WARN, NULL, "worker %s (pid %ld) did not stop in time: killed",
                       o->user->name, (long)o->pid);
                kill(o->pid, SIGKILL);
            }
            if (o->prev.pid > 0)
                kill(o->prev.pid, SIGKILL);
        }
        M.stop_deadline = now + 3600;
    }
}

static int all_stopped(void)
{
    for (size_t i = 0; i < M.n_owners; i++)
        if (M.owners[i]->state != W_STOPPED || M.owners[i]->prev.pid > 0)
            return 0;
    return 1;
}

/* Once every worker served or failed its first start: READY=1 for systemd
 * (a customer's broken app does not hold the machine's service back). */
static void maybe_ready(void)
{
    if (M.told_ready)
        return;
    for (size_t i = 0; i < M.n_owners; i++)
        if (M.owners[i]->state == W_STARTING)
            return;
    M.told_ready = 1;
    sw_log(SW_LOG_INFO, NULL, "ready: %zu owners, %zu listeners", M.n_owners, M.n_listeners);
    sw_handover_notify("READY=1");
}

static void serve(void)
{
    while (!(M.stopping && all_stopped())) {
        struct epoll_event evs[32];
        int n = epoll_wait(M.epfd, evs, 32, next_timeout(now_mono()));
        if (n < 0 && errno != EINTR) {
            sw_log(SW_LOG_ERROR, NULL, "epoll_wait: %s", strerror(errno));
            begin_stop("epoll failed");
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == NULL)
                on_signal();
            else if (*(sw_host_tag_t *)tag == SW_TAG_RELAY)
                read_relay(tag, 0);
            else if (*(sw_host_tag_t *)tag == SW_TAG_CONTROL)
                read_control(((control_t *)tag)->owner, tag);
            else if (*(sw_host_tag_t *)tag == SW_TAG_WAKE)
                on_wake();
            else
                sw_router_on_event(M.router, tag);
        }
        on_deadlines(now_mono());
        maybe_ready();
    }
}

static void cleanup(void)
{
    sw_admin_stop(M.admin);
    M.admin = NULL;
    if (M.admin_fd >= 0)
        close(M.admin_fd);
    if (M.admin_bound_here && M.admin_addr.is_unix)
        unlink(M.admin_addr.text + 5);
    sw_router_free(M.router);
    M.router = NULL;
    for (size_t i = 0; i < M.n_owners; i++) {
        owner_t *o = M.owners[i];
        close_relay(&o->ready);
        close_relay(&o->out);
        close_relay(&o->err);
        close_control(o);
        close_relay(&o->prev.out);
        close_relay(&o->prev.err);
        if (o->prev.control.fd >= 0)
            close(o->prev.control.fd);
        sw_crashpad_destroy(o->pad, o->pad_fd);
        sw_crashpad_destroy(o->prev.pad, o->prev.pad_fd);
        for (size_t a = 0; a < o->n_apps; a++)
            sw_applog_put(o->logs[a]);
        free(o->apps);
        free(o->logs);
        for (size_t l = 0; o->channels && l < 2 * M.cfg->scgi.n; l++)
            if (o->channels[l] >= 0)
                close(o->channels[l]);
        free(o->channels);
        free(o->fds);
        for (size_t k = 0; k < o->n_fds; k++)
            free(o->fd_names[k]);
        free(o->fd_names);
        free(o);
    }
    free(M.owners);
    sw_hostview_free();
    for (size_t i = 0; i < M.n_listeners; i++) {
        host_listener_t *ls = &M.listeners[i];
        close(ls->fd);
        if (ls->addr.is_unix && ls->bound_here)
            unlink(ls->addr.text + 5);   /* "unix:" */
    }
    free(M.listeners);
    if (M.pid_file_written)
        unlink(M.cfg->pid_file);
    if (M.config_fd >= 0)
        close(M.config_fd);
    if (M.devnull >= 0)
        close(M.devnull);
    if (M.sigfd >= 0)
        close(M.sigfd);
    if (M.wakefd >= 0)
        close(M.wakefd);
    if (M.epfd >= 0)
        close(M.epfd);
}

/* The config and those SIGHUP replaced (their strings were borrowed). */
static void free_configs(void)
{
    sw_config_free(M.cfg);
    for (size_t i = 0; i < M.n_old_cfgs; i++)
        sw_config_free(M.old_cfgs[i]);
    free(M.old_cfgs);
    free(M.text);
    M.cfg = NULL;
}

int sw_host_run(sw_config_t *cfg, const char *text, size_t len)
{
    char err[512] = "";
    M.cfg = cfg;
    M.text = strndup(text, len);
    if (sw_log_open(cfg->error_log, cfg->access_log, err, sizeof err) < 0) {
        fprintf(stderr, "subwsgi: %s\n", err);
        free(M.text);
        free_configs();
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    M.epfd = epoll_create1(EPOLL_CLOEXEC);
    M.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    M.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (M.epfd < 0 || M.sigfd < 0 || M.devnull < 0) {
        snprintf(err, sizeof err, "host mode set-up: %s", strerror(errno));
        goto fail;
    }
    static const sw_host_tag_t wake_tag = SW_TAG_WAKE;
    M.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = (void *)&wake_tag};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (M.wakefd < 0 || epoll_ctl(M.epfd, EPOLL_CTL_ADD, M.wakefd, &wake) < 0 ||
        epoll_ctl(M.epfd, EPOLL_CTL_ADD, M.sigfd, &ev) < 0) {
        snprintf(err, sizeof err, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }
    M.config_fd = config_memfd(text, len, err, sizeof err);
    if (M.config_fd < 0 || build_owners(err, sizeof err) < 0 || build_router(err, sizeof err) < 0)
        goto fail;
    if (cfg->admin && start_admin(err, sizeof err) < 0)
        goto fail;
    sw_handover_close_unused();
    if (cfg->pid_file) {
        FILE *f = fopen(cfg->pid_file, "we");
        if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
            snprintf(err, sizeof err, "cannot write pid-file %s: %s", cfg->pid_file,
                     strerror(errno));
            if (f)
                fclose(f);
            goto fail;
        }
        M.pid_file_written = 1;
    }
    sw_log(SW_LOG_INFO, NULL, "subwsgi %s, host mode: %zu owners with apps", SW_VERSION,
           M.n_owners);
    for (size_t i = 0; i < M.n_owners; i++)
        start_worker(M.owners[i]);
    maybe_ready();
    serve();
    sw_log(SW_LOG_INFO, NULL, "stopped");
    cleanup();
    sw_log_close();
    free_configs();
    return 0;
fail:
    sw_log(SW_LOG_ERROR, NULL, "%s", err);
    for (size_t i = 0; i < M.n_owners; i++)
        if (M.owners[i]->pid > 0)
            kill(M.owners[i]->pid, SIGKILL);
    cleanup();
    sw_log_close();
    free_configs();
    return 2;
}

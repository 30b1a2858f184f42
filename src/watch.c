/* watch.c: file-triggered reloads (see watch.h). Lock: W.lock guards the
 * entry and pending lists; it is a leaf (sw_app_reload is called without
 * it). Each entry holds a reference to its app, and the thread takes one
 * before it drops the lock to reload an app. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "fault.h"
#include "log.h"

/* Editors write a file in several steps: wait for quiet before reloading. */
#define DEBOUNCE_MS 300
#define TICK_MS 200

typedef struct entry {
    struct sw_app *app;
    int wd;                  /* watch on the file's directory */
    char *name;              /* the file's name in it */
    char reason[24];
    struct entry *next;
} entry_t;

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    int started;
    int ifd, stopfd;
    entry_t *entries;
    /* apps with a change seen, and when to reload them */
    struct pending { struct sw_app *app; char reason[24]; long long due_ms; } pending[64];
    size_t n_pending;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER, .ifd = -1, .stopfd = -1};

static void *watch_main(void *arg);

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sw_watch_start(char *err, size_t errlen)
{
    W.ifd = SW_FAULT("watch_inotify") ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    W.stopfd = SW_FAULT("watch_eventfd") ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (W.ifd < 0 || W.stopfd < 0) {
        snprintf(err, errlen, "%s: %s", W.ifd < 0 ? "inotify" : "eventfd", strerror(errno));
        goto fail;
    }
    int rc = pthread_create(&W.thread, NULL, watch_main, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the watch thread: %s", strerror(rc));
        goto fail;
    }
    W.started = 1;
    return 0;
fail:
    if (W.ifd >= 0)
        close(W.ifd);
    if (W.stopfd >= 0)
        close(W.stopfd);
    W.ifd = W.stopfd = -1;
    return -1;
}

void sw_watch_stop(void)
{
    if (!W.started)
        return;
    uint64_t one = 1;
    if (write(W.stopfd, &one, sizeof one) < 0)
        sw_log(SW_LOG_WARN, NULL, "cannot stop the watch thread: %s", strerror(errno));
    pthread_join(W.thread, NULL);
    W.started = 0;
    pthread_mutex_lock(&W.lock);
    while (W.entries) {
        entry_t *e = W.entries;
        W.entries = e->next;
        sw_app_unref(e->app);
        free(e->name);
        free(e);
    }
    pthread_mutex_unlock(&W.lock);
    close(W.ifd);
    close(W.stopfd);
}

/* W.lock held. Watches are per directory and shared by entries; a
 * directory's watch is removed with its last entry. */
static void forget_locked(struct sw_app *app)
{
    entry_t **link = &W.entries;
    while (*link) {
        entry_t *e = *link;
        if (e->app != app) {
            link = &e->next;
            continue;
        }
        *link = e->next;
        int shared = 0;
        for (entry_t *o = W.entries; o && !shared; o = o->next)
            shared = o->wd == e->wd;
        if (!shared)
            inotify_rm_watch(W.ifd, e->wd);
        sw_app_unref(e->app);
        free(e->name);
        free(e);
    }
    for (size_t i = 0; i < W.n_pending;)
        if (W.pending[i].app == app)
            W.pending[i] = W.pending[--W.n_pending];
        else
            i++;
}

void sw_watch_forget(struct sw_app *app)
{
    pthread_mutex_lock(&W.lock);
    forget_locked(app);
    pthread_mutex_unlock(&W.lock);
}

void sw_watch_add(struct sw_app *app, const sw_strv_t *files, const char *reason)
{
    if (!W.started)
        return;
    pthread_mutex_lock(&W.lock);
    for (size_t i = 0; i < files->n; i++) {
        char dir[PATH_MAX], base[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", files->items[i]);
        snprintf(base, sizeof base, "%s", files->items[i]);
        int wd = inotify_add_watch(W.ifd, dirname(dir),
                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB |
                                       IN_DELETE);
        entry_t *e = wd >= 0 ? calloc(1, sizeof *e) : NULL;
        if (!e) {
            sw_log(SW_LOG_WARN, app->name, "cannot watch %s: %s", files->items[i],
                   wd < 0 ? strerror(errno) : "out of memory");
            continue;
        }
        e->app = sw_app_ref(app);   /* until forgotten */
        e->wd = wd;
        e->name = strdup(basename(base));
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        e->next = W.entries;
        W.entries = e;
    }
    pthread_mutex_unlock(&W.lock);
}

/* W.lock held: a change to (wd, name). */
static void changed(int wd, const char *name)
{
    for (entry_t *e = W.entries; e; e = e->next) {
        if (e->wd != wd || strcmp(e->name, name) != 0)
            continue;
        size_t i = 0;
        while (i < W.n_pending && W.pending[i].app != e->app)
            i++;
        if (i == W.n_pending) {
            if (W.n_pending == sizeof W.pending / sizeof W.pending[0])
                return;
            W.n_pending++;
        }
        W.pending[i].app = e->app;
        snprintf(W.pending[i].reason, sizeof W.pending[i].reason, "%s", e->reason);
        W.pending[i].due_ms = now_ms() + DEBOUNCE_MS;
    }
}

static void *watch_main(void *arg)
{
    (void)arg;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        int timeout = -1;
        pthread_mutex_lock(&W.lock);
        for (size_t i = 0; i < W.n_pending; i++) {
            long long left = W.pending[i].due_ms - now_ms();
            int t = left < 0 ? 0 : (int)left;
            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        pthread_mutex_unlock(&W.lock);
        if (timeout < 0 || timeout > TICK_MS)
            timeout = TICK_MS;
        struct pollfd fds[2] = {{W.ifd, POLLIN, 0}, {W.stopfd, POLLIN, 0}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (fds[0].revents & POLLIN) {
            ssize_t n;
            while ((n = read(W.ifd, buf, sizeof buf)) > 0) {
                pthread_mutex_lock(&W.lock);
                for (char *p = buf; p < buf + n;) {
                    struct inotify_event *ev = (struct inotify_event *)p;
                    if (ev->len)
                        changed(ev->wd, ev->name);
                    p += sizeof *ev + ev->len;
                }
                pthread_mutex_unlock(&W.lock);
            }
        }
        /* Reload the apps whose files have been quiet long enough. */
        for (;;) {
            struct sw_app *app = NULL;
            char reason[24] = "";
            pthread_mutex_lock(&W.lock);
            for (size_t i = 0; i < W.n_pending; i++) {
                if (W.pending[i].due_ms <= now_ms()) {
                    /* A reference: a SIGHUP may remove the app once the
                     * lock is dropped. */
                    app = sw_app_ref(W.pending[i].app);
                    snprintf(reason, sizeof reason, "%s", W.pending[i].reason);
                    W.pending[i] = W.pending[--W.n_pending];
                    break;
                }
            }
            pthread_mutex_unlock(&W.lock);
            if (!app)
                break;
            char msg[256];
            sw_log(SW_LOG_INFO, app->name, "%s: a watched file changed; reloading", reason);
            if (sw_app_reload(app, reason, -1, msg, sizeof msg) == SW_CMD_CONFLICT)
                sw_log(SW_LOG_WARN, app->name, "%s: cannot reload: %s", reason, msg);
            sw_app_unref(app);
        }
    }
    return NULL;
}

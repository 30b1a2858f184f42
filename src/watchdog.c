/* watchdog.c: request-timeout enforcement (see watchdog.h). One thread per
 * interpreter: it sleeps without any GIL, and takes this interpreter's GIL
 * only to raise. A request stuck in a long C call cannot be interrupted:
 * taking the GIL waits until the call returns (FACTS.md section 8). */
#include "watchdog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "interp.h"
#include "log.h"

#define POLL_NS 50000000LL          /* look every 50 ms */
#define REFIRE_NS 1000000000LL      /* again every second if swallowed */

static void *watchdog_main(void *arg);

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int sw_watchdog_start(sw_interp_t *it, double timeout_s)
{
    /* it->request_timeout is not written here: the workers, already
     * running, read it without a lock, so their creator sets it before
     * starting them (a write now races with them: TSan). */
    if (timeout_s <= 0)
        return 0;
    int rc = pthread_create(&it->watchdog, NULL, watchdog_main, it);
    if (rc != 0) {
        sw_log(SW_LOG_ERROR, it->app->name, "cannot start the watchdog: %s", strerror(rc));
        return -1;
    }
    it->watchdog_started = 1;
    return 0;
}

void sw_watchdog_stop(sw_interp_t *it)
{
    if (!it->watchdog_started)
        return;
    it->watchdog_stop = 1;
    pthread_join(it->watchdog, NULL);
    it->watchdog_started = 0;
}

void sw_watchdog_request_begin(sw_worker_t *w, double timeout_s)
{
    w->timed_out = 0;
    w->deadline_ns = timeout_s > 0 ? now_ns() + (long long)(timeout_s * 1e9) : 0;
    w->seq++;   /* odd: busy */
}

void sw_watchdog_request_end(sw_worker_t *w)
{
    w->seq++;   /* even: idle */
    w->deadline_ns = 0;
    /* An exception raised after the app was done would fire in the next
     * request on this thread: drop it. */
    PyThreadState_SetAsyncExc(w->thread_ident, NULL);
}

/* With the GIL of it held: raises in every worker still past its deadline
 * in the request the scan saw. */
static void fire(sw_interp_t *it, const unsigned long *seen_seq)
{
    long long now = now_ns();
    for (int i = 0; i < it->n_workers; i++) {
        sw_worker_t *w = &it->workers[i];
        long long deadline = w->deadline_ns;
        if (!w->started || w->seq != seen_seq[i] || !(w->seq & 1) || deadline == 0 ||
            now < deadline)
            continue;
        if (PyThreadState_SetAsyncExc(w->thread_ident, PyExc_TimeoutError) == 1) {
            if (!w->timed_out)
                atomic_fetch_add(&it->app->counters.timeouts, 1);
            w->timed_out = 1;
            sw_log(SW_LOG_WARN, it->app->name,
                   "request-timeout (%gs) exceeded: TimeoutError raised in worker %d",
                   it->request_timeout, w->index);
        }
        w->deadline_ns = now + REFIRE_NS;
    }
}

static void *watchdog_main(void *arg)
{
    sw_interp_t *it = arg;
    PyThreadState *ts = PyThreadState_New(it->state);
    unsigned long *seen = calloc((size_t)it->n_workers, sizeof *seen);
    while (!it->watchdog_stop) {
        struct timespec nap = {0, POLL_NS};
        nanosleep(&nap, NULL);
        long long now = now_ns();
        int due = 0;
        for (int i = 0; i < it->n_workers && seen; i++) {
            sw_worker_t *w = &it->workers[i];
            seen[i] = w->seq;
            long long deadline = w->deadline_ns;
            if ((seen[i] & 1) && deadline && now >= deadline)
                due = 1;
        }
        if (!due || it->watchdog_stop)
            continue;
        PyEval_RestoreThread(ts);
        fire(it, seen);
        PyEval_SaveThread();
    }
    free(seen);
    /* Deleted on its own thread before the interpreter ends. */
    PyEval_RestoreThread(ts);
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
    return NULL;
}

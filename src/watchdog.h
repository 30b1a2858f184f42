/* watchdog.h: request-timeout enforcement for one interpreter. A thread
 * that owns a thread state of the same interpreter (PyThreadState_SetAsyncExc
 * only reaches thread states of the caller's interpreter: FACTS.md section
 * 8) raises TimeoutError in a worker whose request ran past its deadline.
 *
 * Worker fields it reads (sw_worker_t in interp.h): seq and deadline_ns are
 * atomics written by the worker with its GIL held; the watchdog re-checks
 * them with the same GIL held before raising, so a request that finished in
 * between is never hit. */
#ifndef SW_WATCHDOG_H
#define SW_WATCHDOG_H

struct sw_interp;
struct sw_worker;

/* Starts the watchdog of it when timeout_s > 0 (it->request_timeout, which
 * the workers read, must already be set). Returns 0 or -1. */
int sw_watchdog_start(struct sw_interp *it, double timeout_s);

/* Stops and joins it; call without holding any GIL, after the workers of
 * it have exited (its thread state is deleted on its own thread). */
void sw_watchdog_stop(struct sw_interp *it);

/* Worker side, GIL held: a request begins / ends. end clears an exception
 * that was raised too late to matter (FACTS.md section 8). */
void sw_watchdog_request_begin(struct sw_worker *w, double timeout_s);
void sw_watchdog_request_end(struct sw_worker *w);

#endif

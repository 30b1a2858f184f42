/* clock.h: the time arithmetic the lifecycle files share (app.c, loader.c):
 * now in seconds, a deadline some seconds ahead, whether one passed, the
 * seconds since a moment. CLOCK_MONOTONIC unless a clock is named (a
 * pthread condition without a clock attribute waits on CLOCK_REALTIME).
 * Header-only: each is a few lines, called from hot loops. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double sw_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* *abs = now on clock + seconds (may be negative), normalised. */
static inline void sw_clock_deadline(struct timespec *abs, clockid_t clock, double seconds)
{
    clock_gettime(clock, abs);
    long long ns = (long long)abs->tv_nsec + (long long)(seconds * 1e9);
    abs->tv_sec += (time_t)(ns / 1000000000LL);
    abs->tv_nsec = (long)(ns % 1000000000LL);
    if (abs->tv_nsec < 0) {
        abs->tv_nsec += 1000000000L;
        abs->tv_sec--;
    }
}

/* Whether the CLOCK_MONOTONIC deadline abs has passed. */
static inline int sw_clock_passed(const struct timespec *abs)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > abs->tv_sec || (now.tv_sec == abs->tv_sec && now.tv_nsec >= abs->tv_nsec);
}

/* Seconds since t (CLOCK_MONOTONIC). */
static inline double sw_clock_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

#endif

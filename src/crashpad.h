/* crashpad.h: what a host-mode worker was running, so that its master can
 * say it after the worker died (DESIGN section 9: a dead worker is logged
 * with the app and request that were running when the signal came).
 *
 * A small shared memory region (a memfd the master creates, mapped
 * MAP_SHARED by both): each thread that runs app code (a request, an
 * import) writes "APP\tWHAT" into a slot of its own when it starts and
 * clears it when it is done. Nothing is written when the worker crashes:
 * the slots simply still say what was running. Each slot has one writer
 * (its thread); the master reads only after the worker died, and treats
 * what it reads as untrusted (the worker's apps could have scribbled on
 * it): bounded, printable, never trusted as a C string. */
#ifndef SW_CRASHPAD_H
#define SW_CRASHPAD_H

#include <stddef.h>

#define SW_CRASHPAD_SLOTS 128
#define SW_CRASHPAD_SLOT 256
#define SW_CRASHPAD_SIZE (SW_CRASHPAD_SLOTS * SW_CRASHPAD_SLOT)

/* ---- the worker ---- */

/* Maps the master's memfd (then closed); without it, enter/leave do
 * nothing (single mode). Returns 0 or -1. */
int sw_crashpad_attach(int fd);

/* The calling thread starts running app code: what, detail (may be NULL),
 * e.g. ("blog", "GET", "/admin/") or ("blog", "import", "/srv/blog/wsgi.py"). */
void sw_crashpad_enter(const char *app, const char *what, const char *detail);
void sw_crashpad_leave(void);

/* ---- the master ---- */

/* A new zeroed region: its memfd in *fd (close-on-exec) and its mapping,
 * or NULL. */
void *sw_crashpad_create(int *fd);
void sw_crashpad_destroy(void *pad, int fd);

/* What the slots say was running, "APP WHAT DETAIL; ..." (at most len
 * bytes, printable ASCII), "" when nothing. */
void sw_crashpad_describe(const void *pad, char *out, size_t len);

#endif

/* host_admin.h: what host mode's master knows of its workers, for its admin
 * port (DESIGN section 9): each worker's process (pid, user, start,
 * restarts, last exit, backoff), its apps as the worker last reported them,
 * and the commands sent to it and waiting for their result. It implements
 * the admin backend (admin/backend.h) on that, so the master serves the
 * same routes, JSON and panel as single mode, and answers status while a
 * worker is starting, stuck or gone.
 *
 * The master's loop (host.c) tells it what happens (the sw_hostview_*
 * calls below, loop thread only); the admin port's threads read it. One
 * lock, view_lock (host_admin.c), guards all of it: a leaf, never held
 * while waiting for anything but its own condition (a command's result). */
#ifndef SW_HOST_ADMIN_H
#define SW_HOST_ADMIN_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "../admin/backend.h"
#include "config.h"

/* Before anything else: the owners (index = the master's owner index),
 * their [user:NAME] entries borrowed from cfg, which outlives the view;
 * wakefd: an eventfd of the loop's, written when a recycle is asked. */
int sw_hostview_init(const sw_config_t *cfg, const sw_user_config_t *const *owners,
                     size_t n_owners, int wakefd);
void sw_hostview_free(void);

/* After a SIGHUP: the new config's apps and users (owners[i]: owner i's
 * [user:NAME] of cfg; NULL for a removed owner). Returns 0, or -1 (out of
 * memory: the old ones stay). */
int sw_hostview_set_config(const sw_config_t *cfg, const sw_user_config_t *const *owners);

/* A SIGHUP added an owner (its index, the next one; -1: out of memory) or
 * took one out (it is no longer shown; its index stays taken). */
int sw_hostview_add_owner(const sw_user_config_t *user);
void sw_hostview_remove_owner(size_t owner);

/* A worker of owner was started (ctl: the master's end of its control
 * channel, still the loop's to close; restarts: after deaths so far;
 * new_process 0: the previous worker is back after a failed handover), is
 * serving, died (how: "signal 11
 * (SIGSEGV) at ...", restart_in_s: its backoff, < 0 when it stays down);
 * every command waiting on it then fails. */
void sw_hostview_started(size_t owner, pid_t pid, int ctl, unsigned restarts,
                         int new_process);
void sw_hostview_serving(size_t owner);
void sw_hostview_died(size_t owner, const char *how, double restart_in_s);

/* A message owner's worker sent (host_control.h): validated here (a
 * report speaks for the owner's apps only; a result answers a command
 * sent to that owner). Borrowed. */
void sw_hostview_message(size_t owner, json_t *msg);

/* Recycles (POST /v1/server/recycle[?owner=]): whether one of owner's
 * was asked since the loop last looked (then it is the loop's to run), and
 * its outcome, which answers every admin request waiting for it. */
int sw_hostview_take_recycle(size_t owner);
void sw_hostview_recycled(size_t owner, sw_cmd_result_t result, const char *msg);

/* The admin backend on this view. */
sw_backend_t sw_hostview_backend(void);

#endif

/* host.h: host mode (DESIGN section 9): one master process for the machine
 * and one worker process per owner of apps.
 *
 * The master (host.c) runs no Python: it binds every listener, starts a
 * worker per owner with only that owner's sockets, restarts a dead one at
 * once (backing off when it keeps dying), relays the workers' logs into the
 * server's logs with the owner's name, and stops them on SIGTERM.
 *
 * A worker (host_worker.c) is the single-mode server (server.h) restricted
 * to one owner's apps: it reads the exact config text the master read,
 * keeps that owner's apps, drops to the owner's run-as user before any
 * Python is loaded and holds no admin port and no token. */
#ifndef SW_HOST_H
#define SW_HOST_H

#include <stddef.h>

#include "config.h"

/* The master. Takes ownership of cfg; text (len bytes) is the config file
 * as it was parsed, passed to every worker. Returns the exit code: 0 after
 * SIGTERM/SIGINT, 2 when start-up failed (a log, a listener, the pid
 * file). */
int sw_host_run(sw_config_t *cfg, const char *text, size_t len);

/* A worker, started by the master as `subwsgi --host-worker OWNER -c FILE`
 * with the config text on SUBWSGI_CONFIG_FD. Returns the exit code when it
 * cannot start (1: config, 2: runtime); else ends the process as
 * sw_server_run does. */
int sw_host_worker_main(const char *owner, const char *file);

/* Whether this process is a host-mode worker. */
int sw_host_is_worker(void);

/* In a worker, right after it dropped to its run-as user (server.c): asks
 * the kernel to stop it when the master dies (credential changes clear
 * that setting, so it is set here and not before). No-op elsewhere. */
void sw_host_worker_after_privileges(void);

/* In a worker: once it serves, the control channel's thread starts
 * (host_control.h); when it stops serving, that thread stops. No-ops
 * elsewhere. */
struct sw_server;
void sw_host_worker_serving(struct sw_server *s);
void sw_host_worker_stopping(void);

#endif

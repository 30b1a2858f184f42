/* server.h: the whole server's life: listeners, apps, Python, the I/O
 * thread, the admin port, signals, and the graceful shutdown. */
#ifndef SW_SERVER_H
#define SW_SERVER_H

#include "config.h"

/* Runs until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
 * shutdown, 2 on a runtime failure (bind, load). Takes ownership of cfg. */
int sw_server_run(sw_config_t *cfg);

#endif

/* http.h: the admin HTTP port (libmicrohttpd): the JSON API of DESIGN
 * section 6 and the control panel page. Handlers never take a GIL: they read
 * counters and post commands (app.h). */
#ifndef SW_ADMIN_HTTP_H
#define SW_ADMIN_HTTP_H

#include <stddef.h>

#include "server.h"

typedef struct sw_admin sw_admin_t;

/* Serves on an already bound, listening socket (TCP or unix); takes it on
 * success (on failure it stays the caller's).
 * tls_cert/tls_key: PEM file paths, or NULL for plain HTTP. Returns NULL
 * with a message in err. */
sw_admin_t *sw_admin_start(int listen_fd, sw_server_t *server, const char *tls_cert,
                           const char *tls_key, char *err, size_t errlen);
void sw_admin_stop(sw_admin_t *admin);

#endif

/* http.h: the admin HTTP port (libmicrohttpd): the JSON API of DESIGN
 * section 6 and the control panel page, on a backend (backend.h) that holds
 * the apps: this process's (single mode) or the workers' (host mode). */
#ifndef SW_ADMIN_HTTP_H
#define SW_ADMIN_HTTP_H

#include <stddef.h>

#include "backend.h"

typedef struct sw_admin sw_admin_t;

/* Serves on an already bound, listening socket (TCP or unix); takes it on
 * success (on failure it stays the caller's). backend is copied; its ctx
 * must stay valid until sw_admin_stop returns (backend.h).
 * tls_cert/tls_key: PEM file paths, or NULL for plain HTTP. Returns NULL
 * with a message in err. */
sw_admin_t *sw_admin_start(int listen_fd, const sw_backend_t *backend, const char *tls_cert,
                           const char *tls_key, char *err, size_t errlen);
void sw_admin_stop(sw_admin_t *admin);

#endif

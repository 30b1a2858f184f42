/* http.h: the admin HTTP port (libmicrohttpd). For now it answers
 * GET /healthz; the JSON API of DESIGN section 6 is added by the admin
 * issue. Handlers never take a GIL. */
#ifndef SW_ADMIN_HTTP_H
#define SW_ADMIN_HTTP_H

#include <stddef.h>

typedef struct sw_admin sw_admin_t;

/* Serves on an already bound, listening socket (TCP or unix); takes it.
 * Returns NULL with a message in err. */
sw_admin_t *sw_admin_start(int listen_fd, char *err, size_t errlen);
void sw_admin_stop(sw_admin_t *admin);

#endif

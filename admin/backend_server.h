/* backend_server.h: the admin backend (backend.h) of single mode: this
 * process's server and its apps (server.h's admin view, app.h). */
#ifndef SW_ADMIN_BACKEND_SERVER_H
#define SW_ADMIN_BACKEND_SERVER_H

#include "backend.h"
#include "server.h"

/* The backend on s (its ctx; s outlives the admin port). Call it once s is
 * set up (it reads whether s runs in quick mode). */
sw_backend_t sw_backend_server(sw_server_t *s);

#endif

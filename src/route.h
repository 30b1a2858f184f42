/* route.h: a listener's mount table: host + longest path prefix -> app.
 * Built at start-up and rebuilt by SIGHUP under the server lock (written
 * with it held for writing; read, by the I/O thread, with it held for
 * reading: see server.h). */
#ifndef SW_ROUTE_H
#define SW_ROUTE_H

#include <stddef.h>

struct sw_app;

typedef struct {
    const char *host;       /* lowercase; NULL = any host */
    const char *prefix;     /* "" = root, else "/a/b" without trailing '/' */
    size_t prefix_len;
    struct sw_app *app;
} sw_route_t;

typedef struct {
    sw_route_t *routes;
    size_t n;
} sw_route_table_t;

/* Adds a route (strings are borrowed from the config). Returns 0 or -1. */
int sw_route_add(sw_route_table_t *t, const char *host, const char *prefix,
                 struct sw_app *app);

/* Finds the route for host (may be NULL; compared case-insensitively, any
 * ":port" ignored) and path. Routes naming the host beat host-less ones;
 * among those, the longest prefix that matches on a segment boundary wins.
 * NULL when nothing matches. */
const sw_route_t *sw_route_match(const sw_route_table_t *t, const char *host,
                                 const char *path);

void sw_route_free(sw_route_table_t *t);

#endif

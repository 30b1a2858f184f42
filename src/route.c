/* route.c: mount table lookup (see route.h). */
#include "route.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sw_route_add(sw_route_table_t *t, const char *host, const char *prefix,
                 struct sw_app *app)
{
    sw_route_t *grown = realloc(t->routes, (t->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    t->routes = grown;
    t->routes[t->n++] = (sw_route_t){
        .host = host && *host ? host : NULL,
        .prefix = prefix ? prefix : "",
        .prefix_len = prefix ? strlen(prefix) : 0,
        .app = app,
    };
    return 0;
}

/* Compares hosts without case, port or IPv6 brackets ("[::1]:443" is "::1"). */
static void host_part(const char *h, const char **start, size_t *len)
{
    if (h[0] == '[') {
        *start = h + 1;
        *len = strcspn(h + 1, "]");
    } else {
        *start = h;
        *len = strcspn(h, ":");
    }
}

static int host_matches(const char *route_host, const char *host)
{
    const char *a, *b;
    size_t alen, blen;
    if (route_host[0] == '[') {
        host_part(route_host, &a, &alen);
    } else {
        a = route_host;
        alen = strlen(route_host);
    }
    host_part(host, &b, &blen);
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* "/blog" matches "/blog" and "/blog/x", never "/blogger". */
static int prefix_matches(const sw_route_t *r, const char *path)
{
    if (r->prefix_len == 0)
        return 1;
    return strncmp(path, r->prefix, r->prefix_len) == 0 &&
           (path[r->prefix_len] == '\0' || path[r->prefix_len] == '/');
}

const sw_route_t *sw_route_match(const sw_route_table_t *t, const char *host,
                                 const char *path)
{
    const sw_route_t *best = NULL;
    for (int pass = 0; pass < 2 && !best; pass++) {
        for (size_t i = 0; i < t->n; i++) {
            const sw_route_t *r = &t->routes[i];
            if (pass == 0 && (!r->host || !host || !host_matches(r->host, host)))
                continue;
            if (pass == 1 && r->host)
                continue;
            if (prefix_matches(r, path) && (!best || r->prefix_len > best->prefix_len))
                best = r;
        }
    }
    return best;
}

void sw_route_free(sw_route_table_t *t)
{
    free(t->routes);
    t->routes = NULL;
    t->n = 0;
}

/* io.h: the I/O thread: one epoll loop that accepts SCGI connections, reads
 * each request's header and body without blocking (the body in memory up to
 * body-buffer-size, beyond it into an unlinked temporary file, as nginx
 * does; an app with request-buffering = off gets only what came with the
 * header and streams the rest), answers bad input itself
 * (400/404/408/413/431/503; none of it reaches Python), routes good
 * requests and pushes them onto their app's queue. It never touches Python.
 * When the process runs out of file descriptors it stops accepting for a
 * moment instead of spinning on accept(). */
#ifndef SW_IO_H
#define SW_IO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "listen.h"
#include "route.h"

struct sw_app;

typedef struct sw_listener {
    sw_addr_t addr;
    int fd;
    int shared;                /* a [server] listener (else an app's own) */
    int bound_here;            /* created by this process or by the subwsgi
                                * it took over from (not by systemd): its
                                * socket file is removed at exit */
    int passed;                /* not a listening socket: host mode's channel from
                                * the master, which passes connections (host.h) */
    sw_route_table_t routes;   /* guarded by the routes lock (see sw_io_start) */
} sw_listener_t;

typedef struct {
    size_t max_header_size;
    uint64_t max_body_size;
    double header_timeout;     /* seconds to receive the header */
    size_t body_buffer_size;   /* bodies up to it in memory, larger in a file */
    double body_timeout;       /* seconds to receive the body after the header */
    const char *body_temp_dir; /* NULL: $TMPDIR, else /tmp (copied) */
} sw_io_limits_t;

typedef struct sw_io sw_io_t;

/* Starts the I/O thread over the listeners (borrowed; they must outlive it).
 * routes_lock is read-locked around routing and queueing (SIGHUP swaps the
 * mount tables and apps under it). Returns NULL with a message in err. */
sw_io_t *sw_io_start(sw_listener_t *listeners, size_t n, const sw_io_limits_t *limits,
                     pthread_rwlock_t *routes_lock, char *err, size_t errlen);

/* Stops accepting, lets connections still sending their header finish
 * (they are bounded by the header timeout, and by drain_seconds), then ends
 * the thread and frees io. */
void sw_io_stop(sw_io_t *io, double drain_seconds);

#endif

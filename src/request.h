/* request.h: one SCGI request on its way from the I/O thread to a worker.
 * Ownership: the I/O thread builds it, the app queue holds it, one worker
 * serves it; sw_request_free() (called exactly once, by whoever owns it
 * last) closes the socket and frees everything. */
#ifndef SW_REQUEST_H
#define SW_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "scgi.h"

struct sw_app;
struct sw_listener;

enum { SW_BODY_STREAM = 0, SW_BODY_MEMORY, SW_BODY_FILE };

typedef struct sw_request {
    int fd;                       /* client socket, non-blocking for life */
    char *buf;                    /* every byte the I/O thread read */
    size_t len;
    size_t body_off;              /* first body byte in buf */
    sw_scgi_header_t *headers;    /* point into buf */
    size_t n_headers;
    uint64_t content_length;
    /* Where the body is. STREAM: the bytes in buf past body_off, then the
     * socket (request-buffering = off); MEMORY: all of it in buf; FILE:
     * all of it in body_fd, an unlinked temporary file (buf holds none of
     * it), closed by sw_request_free. Zero (STREAM) for a calloc'd
     * request, so its body_fd is never taken for an fd. */
    int body_state;
    int body_fd;

    struct sw_app *app;           /* where routing sent it */
    char *path;                   /* full decoded path used for routing */
    size_t script_name_len;       /* SCRIPT_NAME = path[0, len) */
    struct timespec accepted;     /* CLOCK_MONOTONIC */

    struct sw_request *next;      /* queue link */
} sw_request_t;

/* Header value by name as a NUL-terminated string (pointing into buf);
 * NULL when absent. */
const char *sw_request_header(const sw_request_t *r, const char *name);

/* Derives the full request path (see DESIGN section 5): SCRIPT_NAME +
 * PATH_INFO when PATH_INFO was sent (Apache), else DOCUMENT_URI (nginx),
 * else the path of REQUEST_URI made as nginx makes $document_uri
 * (percent-decoded, %2F included, slashes merged). Dot segments are removed
 * from all three (RFC 3986 5.2.4). Returns a new string, or NULL when the
 * path is unusable (a bad escape, an encoded NUL, ".." above the root). */
char *sw_request_full_path(const sw_scgi_header_t *h, size_t n);

/* Decodes %XX escapes in place; returns -1, as nginx answers 400, on an
 * encoded NUL or a '%' not followed by two hex digits (s is then garbage). */
int sw_percent_decode(char *s);

double sw_elapsed_ms(const struct timespec *since);

/* Formats a plain-text error response into buf; returns its length. */
size_t sw_request_format_error(char *buf, size_t len, int status, const char *reason,
                               const char *extra_header, const char *detail);

/* Client sockets stay non-blocking from accept to close (no fcntl or
 * setsockopt per request); a worker that must wait for its client polls,
 * for at most this long per wait, so a vanished client cannot hold a
 * worker for ever. */
#define SW_CLIENT_WAIT_MS 60000

/* Waits until fd is ready for events (POLLIN or POLLOUT). Returns 1 when
 * ready, 0 after SW_CLIENT_WAIT_MS, -1 on error (errno set). No GIL
 * business: callers release it around the wait. */
int sw_request_wait(int fd, short events);

/* Sends such a response on r's socket (waiting for room if needed); best
 * effort. */
void sw_request_reply(sw_request_t *r, int status, const char *reason, const char *detail);

void sw_request_free(sw_request_t *r);

#endif

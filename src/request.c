/* request.c: request helpers: header lookup, path derivation, freeing. */
#include "request.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

const char *sw_request_header(const sw_request_t *r, const char *name)
{
    const sw_scgi_header_t *h = sw_scgi_find(r->headers, r->n_headers, name);
    return h ? h->value : NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sw_percent_decode(char *s)
{
    char *out = s;
    for (char *in = s; *in; in++) {
        int hi, lo;
        if (in[0] == '%' && (hi = hexval((unsigned char)in[1])) >= 0 &&
            (lo = hexval((unsigned char)in[2])) >= 0) {
            int c = hi * 16 + lo;
            if (c == 0)
                return -1;
            *out++ = (char)c;
            in += 2;
        } else {
            *out++ = *in;   /* a stray '%' stays as it is, like nginx */
        }
    }
    *out = '\0';
    return 0;
}

/* The percent-decoded path of REQUEST_URI (query and fragment dropped), or
 * NULL (also for an encoded NUL). */
static char *decoded_request_uri(const sw_scgi_header_t *ru)
{
    char *path = strndup(ru->value, strcspn(ru->value, "?#"));
    if (path && sw_percent_decode(path) < 0) {
        free(path);
        return NULL;
    }
    return path;
}

char *sw_request_full_path(const sw_scgi_header_t *h, size_t n)
{
    const sw_scgi_header_t *pi = sw_scgi_find(h, n, "PATH_INFO");
    const sw_scgi_header_t *sn = sw_scgi_find(h, n, "SCRIPT_NAME");
    const sw_scgi_header_t *ru = sw_scgi_find(h, n, "REQUEST_URI");
    char *path;
    if (pi) {
        /* Apache already split and decoded the path: honour it. */
        size_t snl = sn ? sn->value_len : 0;
        path = malloc(snl + pi->value_len + 1);
        if (!path)
            return NULL;
        if (snl)
            memcpy(path, sn->value, snl);
        memcpy(path + snl, pi->value, pi->value_len + 1);
        /* Except mod_proxy_scgi with proxy-scgi-pathinfo set: it sends the
         * whole decoded path as SCRIPT_NAME and the still-encoded rest as
         * PATH_INFO. SCRIPT_NAME equal to the request's own path says so. */
        char *uri = snl && pi->value_len && ru && ru->value_len ? decoded_request_uri(ru) : NULL;
        if (uri && strcmp(uri, sn->value) == 0) {
            free(path);
            path = uri;
        } else {
            free(uri);
        }
    } else {
        const sw_scgi_header_t *du = sw_scgi_find(h, n, "DOCUMENT_URI");
        if (du && du->value_len) {
            /* nginx's $document_uri is already decoded and normalised. */
            path = strdup(du->value);
        } else if (ru && ru->value_len) {
            path = decoded_request_uri(ru);
            if (!path)
                return NULL;
        } else if (sn) {
            path = strdup(sn->value);
        } else {
            path = strdup("/");
        }
    }
    if (path && path[0] == '\0') {
        free(path);
        path = strdup("/");
    }
    return path;
}

double sw_elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

void sw_request_free(sw_request_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->body_state == SW_BODY_FILE && r->body_fd >= 0)
        close(r->body_fd);
    free(r->buf);
    free(r->headers);
    free(r->path);
    free(r);
}

size_t sw_request_format_error(char *buf, size_t len, int status, const char *reason,
                               const char *extra_header, const char *detail)
{
    char body[512];
    int blen = snprintf(body, sizeof body, "%d %s: %s\n", status, reason, detail);
    if (blen < 0 || (size_t)blen >= sizeof body)
        blen = (int)strlen(body);
    int n = snprintf(buf, len,
                     "Status: %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %d\r\n%s\r\n%s",
                     status, reason, blen, extra_header ? extra_header : "", body);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

void sw_request_reply(sw_request_t *r, int status, const char *reason, const char *detail)
{
    char buf[1024];
    size_t n = sw_request_format_error(buf, sizeof buf, status, reason,
                                       status == 503 ? "Retry-After: 1\r\n" : NULL, detail);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(r->fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && errno == EAGAIN && sw_request_wait(r->fd, POLLOUT) > 0)
            continue;
        else
            return;   /* the client is gone or stuck: nothing more to do */
    }
}

int sw_request_wait(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&p, 1, SW_CLIENT_WAIT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -1 : n > 0 ? 1 : 0;
    }
}

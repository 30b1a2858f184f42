/* request.c: request helpers: header lookup, path derivation (decoding and
 * normalising as nginx does), freeing. */
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

static int pop_segment(const char *s, size_t *u);

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
    for (const char *in = s; *in; in++) {
        if (*in != '%') {
            *out++ = *in;
            continue;
        }
        /* As nginx (ngx_http_parse_complex_uri): a '%' not followed by two
         * hex digits, or an encoded NUL, makes the request invalid. */
        int hi = hexval((unsigned char)in[1]);
        int lo = hi >= 0 ? hexval((unsigned char)in[2]) : -1;
        if (lo < 0 || (hi | lo) == 0)
            return -1;
        *out++ = (char)(hi * 16 + lo);
        in += 2;
    }
    *out = '\0';
    return 0;
}

/* Removes "." and ".." segments in place (RFC 3986 5.2.4) and, with merge,
 * collapses runs of '/': the state machine of nginx's
 * ngx_http_parse_complex_uri (merge_slashes on, its default) run on an
 * already decoded path. nginx re-runs each decoded byte through it, so %2F
 * is a separator and %2E%2E a ".." segment; decoding first and normalising
 * after gives the same path. Returns -1 when ".." climbs above the root
 * (nginx answers 400). Never writes more than it read, so in place is safe. */
static int remove_dot_segments(char *s, int merge)
{
    enum { USUAL, SLASH, DOT, DOT_DOT } state = USUAL;
    size_t u = 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        switch (state) {
        case USUAL:
            if (ch == '/')
                state = SLASH;
            s[u++] = ch;
            break;
        case SLASH:
            if (ch == '/') {
                if (!merge)
                    s[u++] = ch;
                break;
            }
            state = ch == '.' ? DOT : USUAL;
            s[u++] = ch;
            break;
        case DOT:                 /* output ends with "/." */
            if (ch == '/') {
                u--;              /* drop the '.', keep the '/' */
                state = SLASH;
            } else {
                state = ch == '.' ? DOT_DOT : USUAL;
                s[u++] = ch;
            }
            break;
        case DOT_DOT:             /* output ends with "/.." */
            if (ch == '/') {
                if (pop_segment(s, &u) < 0)
                    return -1;
                state = SLASH;
            } else {
                state = USUAL;
                s[u++] = ch;
            }
            break;
        }
    }
    if (state == DOT)
        u--;
    else if (state == DOT_DOT && pop_segment(s, &u) < 0)
        return -1;
    s[u] = '\0';
    return 0;
}

/* The output s[0, *u) ends with "/..": drops that and the segment before
 * it, keeping the '/' that starts it. -1 when there is none (above root). */
static int pop_segment(const char *s, size_t *u)
{
    if (*u < 4)
        return -1;
    size_t i = *u - 4;    /* the byte before "/.." */
    while (s[i] != '/') {
        if (i == 0)
            return -1;
        i--;
    }
    *u = i + 1;
    return 0;
}

/* The path of REQUEST_URI (query and fragment dropped) as nginx makes
 * $document_uri of it: decoded, slashes merged, dot segments removed. A
 * new string, or NULL when nginx would refuse it (bad escape, encoded NUL,
 * ".." above the root) or out of memory. */
static char *decoded_request_uri(const sw_scgi_header_t *ru)
{
    char *path = strndup(ru->value, strcspn(ru->value, "?#"));
    if (path && (sw_percent_decode(path) < 0 || remove_dot_segments(path, 1) < 0)) {
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
    /* Routing must never see a ".." segment, whichever front end built the
     * path: a normalised one is unchanged by this (no slash merging here:
     * nginx may run with merge_slashes off, and Apache has its own say). */
    if (path && remove_dot_segments(path, 0) < 0) {
        free(path);
        return NULL;
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

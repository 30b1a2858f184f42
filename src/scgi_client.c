/* scgi_client.c: a small blocking SCGI client for scgi-request and the
 * tests: builds the request netstring the way a web server would, sends it
 * with the body while reading whatever the server answers, then splits the
 * CGI-style response into status, head and body. */
#include "scgi_client.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int oom;
} buf_t;

typedef struct {
    char *name;              /* CGI name: HTTP_X_FOO, CONTENT_TYPE */
    char *value;
} pair_t;

typedef struct {
    const char *data;
    size_t len;
} seg_t;

static int build_header(buf_t *out, const sw_addr_t *addr, const char *method,
                        const char *uri, const char *const *headers,
                        size_t n_headers, size_t body_len,
                        char *err, size_t errlen);
static int collect_headers(const char *const *headers, size_t n,
                           pair_t **out, size_t *n_out, char *err, size_t errlen);
static void free_pairs(pair_t *p, size_t n);
static int add_pair(buf_t *b, const char *name, const char *value);
static char *document_uri(const char *uri);
static char *server_name(const pair_t *p, size_t n);
static int exchange(const sw_addr_t *addr, const seg_t *segs, size_t n_segs,
                    int shut_write, double timeout_s, sw_scgi_response_t *resp,
                    char *err, size_t errlen);
static int connect_timeout(const sw_addr_t *a, double timeout_s,
                           char *err, size_t errlen);
static int parse_response(sw_scgi_response_t *resp);
static int parse_status_line(const char *line, size_t len, int http);
static const char *find_line_value(const char *head, const char *name, size_t *vlen);
static void buf_add(buf_t *b, const void *p, size_t n);
static void buf_reserve(buf_t *b, size_t extra);

/* Upper bound on a response kept in memory; far above anything a test or
 * health check expects, it only stops a runaway server from eating RAM. */
#define SW_CLIENT_MAX_RESPONSE ((size_t) 1 << 30)

int
sw_scgi_client_request(const sw_addr_t *addr, const char *method,
                       const char *uri, const char *const *headers,
                       size_t n_headers, const char *body, size_t body_len,
                       double timeout_s, sw_scgi_response_t *resp,
                       char *err, size_t errlen)
{
    buf_t hdr = { 0 };
    char prefix[32];
    seg_t segs[4];
    int rc = -1, n;

    memset(resp, 0, sizeof(*resp));
    if (build_header(&hdr, addr, method, uri, headers, n_headers, body_len,
                     err, errlen) != 0)
        goto fail;

    /* SCGI spec: "The netstring consists of the length of the header as a
     * decimal number, a colon, the header bytes, then a comma." */
    n = snprintf(prefix, sizeof(prefix), "%zu:", hdr.len);
    segs[0] = (seg_t) { prefix, (size_t) n };
    segs[1] = (seg_t) { hdr.data, hdr.len };
    segs[2] = (seg_t) { ",", 1 };
    segs[3] = (seg_t) { body != NULL ? body : "", body != NULL ? body_len : 0 };

    /* No half-close: some servers take EOF on the request side as the
     * client going away, and web servers do not half-close either. */
    rc = exchange(addr, segs, 4, 0, timeout_s, resp, err, errlen);

fail:
    free(hdr.data);
    return rc;
}

int
sw_scgi_client_raw(const sw_addr_t *addr, const char *bytes, size_t len,
                   int shut_write, double timeout_s,
                   sw_scgi_response_t *resp, char *err, size_t errlen)
{
    seg_t seg = { bytes != NULL ? bytes : "", bytes != NULL ? len : 0 };

    memset(resp, 0, sizeof(*resp));
    return exchange(addr, &seg, 1, shut_write, timeout_s, resp, err, errlen);
}

char *
sw_scgi_response_header(const sw_scgi_response_t *resp, const char *name)
{
    const char *v;
    char *out;
    size_t vlen;

    if (resp == NULL || resp->head == NULL || name == NULL)
        return NULL;
    v = find_line_value(resp->head, name, &vlen);
    if (v == NULL)
        return NULL;
    out = malloc(vlen + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return out;
}

void
sw_scgi_response_free(sw_scgi_response_t *resp)
{
    if (resp == NULL)
        return;
    free(resp->head);
    free(resp->body);
    free(resp->raw);
    memset(resp, 0, sizeof(*resp));
}

/* ---- request header ----------------------------------------------------- */

static int
build_header(buf_t *out, const sw_addr_t *addr, const char *method,
             const char *uri, const char *const *headers, size_t n_headers,
             size_t body_len, char *err, size_t errlen)
{
    pair_t *pairs = NULL;
    size_t n_pairs = 0, i;
    char num[32], port[16];
    char *docuri = NULL, *sname = NULL;
    const char *q;
    int rc = -1;

    if (method == NULL || method[0] == '\0')
        method = "GET";
    if (uri == NULL || uri[0] == '\0')
        uri = "/";
    if (collect_headers(headers, n_headers, &pairs, &n_pairs, err, errlen) != 0)
        return -1;

    docuri = document_uri(uri);
    sname = server_name(pairs, n_pairs);
    if (docuri == NULL || sname == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    q = strchr(uri, '?');

    if (addr->is_unix)
        snprintf(port, sizeof(port), "80");
    else if (addr->sa.ss_family == AF_INET6)
        snprintf(port, sizeof(port), "%u",
                 ntohs(((const struct sockaddr_in6 *) &addr->sa)->sin6_port));
    else
        snprintf(port, sizeof(port), "%u",
                 ntohs(((const struct sockaddr_in *) &addr->sa)->sin_port));

    /* SCGI spec: "The first request header must have the name
     * CONTENT_LENGTH", and "SCGI" with value "1" must be present. */
    snprintf(num, sizeof(num), "%zu", body_len);
    add_pair(out, "CONTENT_LENGTH", num);
    add_pair(out, "SCGI", "1");
    add_pair(out, "REQUEST_METHOD", method);
    add_pair(out, "REQUEST_URI", uri);
    add_pair(out, "DOCUMENT_URI", docuri);
    add_pair(out, "QUERY_STRING", q != NULL ? q + 1 : "");
    add_pair(out, "SERVER_PROTOCOL", "HTTP/1.1");
    add_pair(out, "SERVER_NAME", sname);
    add_pair(out, "SERVER_PORT", port);
    add_pair(out, "REMOTE_ADDR", "127.0.0.1");
    add_pair(out, "REMOTE_PORT", "0");
    for (i = 0; i < n_pairs; i++)
        add_pair(out, pairs[i].name, pairs[i].value);
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = 0;

fail:
    free(docuri);
    free(sname);
    free_pairs(pairs, n_pairs);
    return rc;
}

/* "Name: value" lines to CGI pairs. Content-Length is dropped (we send our
 * own), Content-Type becomes CONTENT_TYPE, the rest HTTP_NAME. A name given
 * twice is merged into one pair ("a, b"; cookies with "; "), as SCGI
 * forbids duplicate names. */
static int
collect_headers(const char *const *headers, size_t n, pair_t **out,
                size_t *n_out, char *err, size_t errlen)
{
    pair_t *p = NULL;
    size_t np = 0, i, j, nlen;
    const char *h, *colon, *v, *ve;
    char *name = NULL, *value = NULL;

    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    p = calloc(n, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        h = headers[i];
        colon = h != NULL ? strchr(h, ':') : NULL;
        if (colon == NULL || colon == h) {
            snprintf(err, errlen, "bad header \"%s\" (want \"Name: value\")",
                     h != NULL ? h : "(null)");
            goto fail;
        }
        nlen = (size_t) (colon - h);
        for (j = 0; j < nlen; j++) {
            unsigned char c = (unsigned char) h[j];
            /* RFC 9110 token characters */
            if (!isalnum(c) && strchr("!#$%&'*+-.^_`|~", c) == NULL) {
                snprintf(err, errlen, "bad header name in \"%s\"", h);
                goto fail;
            }
        }
        if (nlen == 14 && strncasecmp(h, "Content-Length", 14) == 0)
            continue;

        name = malloc(nlen + 6);
        if (name == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (nlen == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
            strcpy(name, "CONTENT_TYPE");
        } else {
            memcpy(name, "HTTP_", 5);
            for (j = 0; j < nlen; j++)
                name[5 + j] = h[j] == '-' ? '_' : (char) toupper((unsigned char) h[j]);
            name[5 + nlen] = '\0';
        }

        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        for (ve = v + strlen(v); ve > v && (ve[-1] == ' ' || ve[-1] == '\t'
                                            || ve[-1] == '\r' || ve[-1] == '\n'); ve--)
            ;

        for (j = 0; j < np; j++)
            if (strcmp(p[j].name, name) == 0)
                break;
        if (j < np) {
            const char *sep = strcmp(name, "HTTP_COOKIE") == 0 ? "; " : ", ";
            size_t old = strlen(p[j].value);
            value = realloc(p[j].value, old + 2 + (size_t) (ve - v) + 1);
            if (value == NULL) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            memcpy(value + old, sep, 2);
            memcpy(value + old + 2, v, (size_t) (ve - v));
            value[old + 2 + (size_t) (ve - v)] = '\0';
            p[j].value = value;
            value = NULL;
            free(name);
            name = NULL;
            continue;
        }
        value = strndup(v, (size_t) (ve - v));
        if (value == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        p[np].name = name;
        p[np].value = value;
        np++;
        name = value = NULL;
    }
    *out = p;
    *n_out = np;
    return 0;

fail:
    free(name);
    free_pairs(p, np);
    return -1;
}

static void
free_pairs(pair_t *p, size_t n)
{
    size_t i;

    for (i = 0; p != NULL && i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static int
add_pair(buf_t *b, const char *name, const char *value)
{
    buf_add(b, name, strlen(name) + 1);
    buf_add(b, value, strlen(value) + 1);
    return b->oom ? -1 : 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Like nginx's $document_uri: the path before '?', percent-decoded, with
 * "//" merged and "." and ".." segments resolved (never above "/"). "%00"
 * is left encoded: a NUL cannot travel in an SCGI value. */
static char *
document_uri(const char *uri)
{
    size_t n = strcspn(uri, "?#"), o = 0, i, olen = 0, seglen;
    const char *s;
    char *dec, *out;
    int hi, lo, trailing = 0;

    dec = malloc(n + 1);
    if (dec == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (uri[i] == '%' && i + 2 < n && (hi = hexval(uri[i + 1])) >= 0
            && (lo = hexval(uri[i + 2])) >= 0 && (hi | lo) != 0) {
            dec[o++] = (char) (hi * 16 + lo);
            i += 2;
        } else {
            dec[o++] = uri[i];
        }
    }
    dec[o] = '\0';
    if (dec[0] != '/')
        return dec;               /* "*" or a relative form: left as is */

    out = malloc(o + 2);
    if (out == NULL) {
        free(dec);
        return NULL;
    }
    /* segments are appended as "/seg"; "." and ".." only set trailing, so
     * "/a/." and "/a/b/.." both end in "/" as nginx has them */
    s = dec;
    while (*s != '\0') {
        while (*s == '/')
            s++;
        seglen = strcspn(s, "/");
        trailing = s[seglen] == '/' || seglen == 0;
        if (seglen == 0)
            break;
        if (seglen == 1 && s[0] == '.') {
            trailing = 1;
        } else if (seglen == 2 && s[0] == '.' && s[1] == '.') {
            while (olen > 0 && out[olen - 1] != '/')
                olen--;
            if (olen > 0)
                olen--;           /* drop the '/' before the removed segment */
            trailing = 1;
        } else {
            out[olen++] = '/';
            memcpy(out + olen, s, seglen);
            olen += seglen;
        }
        s += seglen;
    }
    if (olen == 0 || trailing)
        out[olen++] = '/';
    out[olen] = '\0';
    free(dec);
    return out;
}

/* SERVER_NAME from a Host header without its port, else "localhost". */
static char *
server_name(const pair_t *p, size_t n)
{
    size_t i, len;
    const char *h, *c;

    for (i = 0; i < n; i++) {
        if (strcmp(p[i].name, "HTTP_HOST") != 0)
            continue;
        h = p[i].value;
        if (h[0] == '[') {
            c = strchr(h, ']');
            len = c != NULL ? (size_t) (c - h) + 1 : strlen(h);
        } else {
            c = strchr(h, ':');
            len = c != NULL ? (size_t) (c - h) : strlen(h);
        }
        if (len > 0)
            return strndup(h, len);
    }
    return strdup("localhost");
}

/* ---- transfer ----------------------------------------------------------- */

/* Sends segs while reading whatever the server answers, so a server that
 * answers early (400, 413) and stops reading cannot deadlock us. A send
 * error after that (EPIPE, ECONNRESET) is not fatal, nor is a reset once
 * some bytes arrived. Returns -1 only when the connect fails, or when
 * nothing arrived and the wait timed out or failed for another reason. */
static int
exchange(const sw_addr_t *addr, const seg_t *segs, size_t n_segs,
         int shut_write, double timeout_s, sw_scgi_response_t *resp,
         char *err, size_t errlen)
{
    buf_t in = { 0 };
    size_t si = 0, off = 0;
    int fd, rc = -1, sending = 1, timed_out = 0, rerr = 0, ms;
    ssize_t r;

    fd = connect_timeout(addr, timeout_s, err, errlen);
    if (fd < 0)
        return -1;
    if (timeout_s <= 0)
        ms = -1;                  /* no timeout */
    else if (timeout_s * 1000.0 >= (double) INT32_MAX)
        ms = INT32_MAX;
    else
        ms = (int) (timeout_s * 1000.0) + 1;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int prc;

        while (sending && si < n_segs && off >= segs[si].len) {
            si++;
            off = 0;
        }
        if (sending && si == n_segs) {
            sending = 0;
            if (shut_write)
                shutdown(fd, SHUT_WR);
        }
        if (sending)
            p.events |= POLLOUT;

        prc = poll(&p, 1, ms);
        if (prc < 0) {
            if (errno == EINTR)
                continue;
            rerr = errno;
            break;
        }
        if (prc == 0) {
            timed_out = 1;
            break;
        }

        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            buf_reserve(&in, 65536);
            if (in.oom) {
                rerr = ENOMEM;
                break;
            }
            r = recv(fd, in.data + in.len, in.cap - in.len - 1, MSG_DONTWAIT);
            if (r > 0) {
                in.len += (size_t) r;
                if (in.len > SW_CLIENT_MAX_RESPONSE) {
                    rerr = EFBIG;
                    break;
                }
            } else if (r == 0) {
                break;            /* EOF: the response is complete */
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                rerr = errno;
                break;
            }
        }
        /* no "continue" above: a server that never stops talking must not
         * starve the sending side */

        if (sending && (p.revents & (POLLOUT | POLLERR))) {
            r = send(fd, segs[si].data + off, segs[si].len - off,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (r >= 0)
                off += (size_t) r;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sending = 0;      /* the server stopped reading: keep reading */
        }
    }
    close(fd);

    if (in.len == 0 && timed_out) {
        snprintf(err, errlen, "timed out after %gs waiting for %s", timeout_s,
                 addr->text);
        goto fail;
    }
    if (in.len == 0 && rerr != 0 && rerr != ECONNRESET && rerr != EPIPE) {
        snprintf(err, errlen, "reading from %s: %s", addr->text, strerror(rerr));
        goto fail;
    }
    if (rerr == ENOMEM || rerr == EFBIG) {
        snprintf(err, errlen, "response from %s: %s", addr->text, strerror(rerr));
        goto fail;
    }
    if (in.data == NULL) {
        in.len = 0;
        in.data = malloc(1);
        if (in.data == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    in.data[in.len] = '\0';
    resp->raw = in.data;
    resp->raw_len = in.len;
    in.data = NULL;
    if (parse_response(resp) != 0) {
        snprintf(err, errlen, "out of memory");
        sw_scgi_response_free(resp);
        goto fail;
    }
    rc = 0;

fail:
    free(in.data);
    return rc;
}

/* sw_addr_connect() with SO_SNDTIMEO/SO_RCVTIMEO set before connect, which
 * Linux also applies to connect itself. */
static int
connect_timeout(const sw_addr_t *a, double timeout_s, char *err, size_t errlen)
{
    struct timeval tv;
    int fd;

    fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", a->text, strerror(errno));
        return -1;
    }
    if (timeout_s > 0) {
        tv.tv_sec = (time_t) timeout_s;
        tv.tv_usec = (suseconds_t) ((timeout_s - (double) tv.tv_sec) * 1e6);
        if (tv.tv_sec == 0 && tv.tv_usec == 0)
            tv.tv_usec = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0
            || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
            snprintf(err, errlen, "socket timeouts for %s: %s", a->text,
                     strerror(errno));
            close(fd);
            return -1;
        }
    }
    while (connect(fd, (const struct sockaddr *) &a->sa, a->len) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS || errno == EAGAIN)
            snprintf(err, errlen, "cannot connect to %s: timed out after %gs",
                     a->text, timeout_s);
        else
            snprintf(err, errlen, "cannot connect to %s: %s", a->text,
                     strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- response ----------------------------------------------------------- */

/* Splits resp->raw: the head is everything before the first blank line
 * ("\r\n\r\n" or "\n\n"), the body everything after. Status: a "Status:"
 * line, else an "HTTP/1.x NNN" first line, else 200 when a head was found;
 * 0 when there is no head or the status is malformed. Returns -1 only when
 * out of memory. */
static int
parse_response(sw_scgi_response_t *resp)
{
    const char *raw = resp->raw, *line, *nl;
    size_t n = resp->raw_len, i, head_len = 0, body_off = n;
    int found = 0, status = 0;
    size_t vlen;
    const char *v;

    if (n > 0 && raw[0] == '\n') {
        found = 1;
        body_off = 1;
    } else if (n > 1 && raw[0] == '\r' && raw[1] == '\n') {
        found = 1;
        body_off = 2;
    }
    for (i = 0; !found && i < n; i++) {
        size_t j;
        if (raw[i] != '\n')
            continue;
        j = i + 1;
        if (j < n && raw[j] == '\r')
            j++;
        if (j < n && raw[j] == '\n') {
            found = 1;
            head_len = i > 0 && raw[i - 1] == '\r' ? i - 1 : i;
            body_off = j + 1;
        }
    }

    resp->head = strndup(raw, head_len);
    resp->body_len = n - body_off;
    resp->body = malloc(resp->body_len + 1);
    if (resp->head == NULL || resp->body == NULL)
        return -1;
    memcpy(resp->body, raw + body_off, resp->body_len);
    resp->body[resp->body_len] = '\0';

    if (!found || head_len == 0) {
        resp->status = 0;
        return 0;
    }
    v = find_line_value(resp->head, "Status", &vlen);
    if (v != NULL) {
        status = parse_status_line(v, vlen, 0);
    } else {
        line = resp->head;
        nl = strchr(line, '\n');
        vlen = nl != NULL ? (size_t) (nl - line) : strlen(line);
        if (vlen > 0 && line[vlen - 1] == '\r')
            vlen--;
        if (vlen >= 5 && strncmp(line, "HTTP/", 5) == 0)
            status = parse_status_line(line, vlen, 1);
        else
            status = 200;
    }
    resp->status = status;
    return 0;
}

/* "NNN reason" (or "HTTP/1.x NNN reason" when http): the code, or 0. */
static int
parse_status_line(const char *s, size_t len, int http)
{
    size_t i = 0;

    if (http) {
        while (i < len && s[i] != ' ')
            i++;
        while (i < len && s[i] == ' ')
            i++;
    }
    if (len - i < 3 || !isdigit((unsigned char) s[i])
        || !isdigit((unsigned char) s[i + 1]) || !isdigit((unsigned char) s[i + 2]))
        return 0;
    if (len - i > 3 && s[i + 3] != ' ' && s[i + 3] != '\t')
        return 0;
    if (s[i] < '1')
        return 0;
    return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

/* Finds "name:" (case-insensitive) at the start of a line of head; returns
 * the value with surrounding blanks and the line's '\r' trimmed. */
static const char *
find_line_value(const char *head, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name), len;
    const char *line = head, *nl, *v, *e;

    while (*line != '\0') {
        nl = strchr(line, '\n');
        len = nl != NULL ? (size_t) (nl - line) : strlen(line);
        if (len > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            v = line + nlen + 1;
            e = line + len;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *vlen = (size_t) (e - v);
            return v;
        }
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return NULL;
}

static void
buf_reserve(buf_t *b, size_t extra)
{
    size_t cap;
    char *p;

    if (b->oom || b->cap - b->len > extra)
        return;
    cap = b->cap != 0 ? b->cap : 4096;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static void
buf_add(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* listen.c: listener addresses (HOST:PORT, [IPV6]:PORT, unix:/path): parsing
 * into a sockaddr with a normalised text form, binding listening sockets
 * (replacing a stale unix socket file) and blocking connects. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int parse_unix(const char *text, sw_addr_t *out, char *err, size_t errlen);
static int parse_inet(const char *text, sw_addr_t *out, char *err, size_t errlen);
static int parse_port(const char *s, const char *text, unsigned *port,
                      char *err, size_t errlen);
static int resolve_host(const char *host, int v6_only, unsigned port,
                        const char *text, sw_addr_t *out,
                        char *err, size_t errlen);
static void format_text(sw_addr_t *a);
static int unix_clear_stale(const char *path, char *err, size_t errlen);
static int connect_wait(int fd);

int
sw_addr_parse(const char *text, sw_addr_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0') {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    if (strncmp(text, "unix:", 5) == 0)
        return parse_unix(text, out, err, errlen);
    return parse_inet(text, out, err, errlen);
}

int
sw_listen_bind(const sw_addr_t *a, unsigned socket_mode, int backlog,
               char *err, size_t errlen)
{
    int fd = -1, one = 1, bound = 0;
    const char *path = NULL;

    if (a->is_unix) {
        path = ((const struct sockaddr_un *) &a->sa)->sun_path;
        if (unix_clear_stale(path, err, errlen) != 0)
            return -1;
    }

    fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", a->text, strerror(errno));
        goto fail;
    }
    if (!a->is_unix
        && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        snprintf(err, errlen, "SO_REUSEADDR on %s: %s", a->text, strerror(errno));
        goto fail;
    }
    /* One family per listener: "[::]:80" must not also take 0.0.0.0:80,
     * or a second listener on "0.0.0.0:80" would fail to bind. */
    if (a->sa.ss_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
        snprintf(err, errlen, "IPV6_V6ONLY on %s: %s", a->text, strerror(errno));
        goto fail;
    }
    if (bind(fd, (const struct sockaddr *) &a->sa, a->len) != 0) {
        if (errno == EADDRINUSE)
            snprintf(err, errlen, "cannot bind %s: address in use", a->text);
        else
            snprintf(err, errlen, "cannot bind %s: %s", a->text, strerror(errno));
        goto fail;
    }
    bound = 1;
    /* fchmod() on a socket fd does not reach the file bind() creates, so
     * the mode is set by path right after bind. */
    if (a->is_unix && chmod(path, socket_mode & 07777) != 0) {
        snprintf(err, errlen, "chmod %04o %s: %s", socket_mode & 07777, path,
                 strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) != 0) {
        snprintf(err, errlen, "listen on %s: %s", a->text, strerror(errno));
        goto fail;
    }
    return fd;

fail:
    if (fd >= 0)
        close(fd);
    if (bound && path != NULL)
        unlink(path);
    return -1;
}

int
sw_addr_connect(const sw_addr_t *a, char *err, size_t errlen)
{
    int fd;

    fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", a->text, strerror(errno));
        return -1;
    }
    if (connect(fd, (const struct sockaddr *) &a->sa, a->len) != 0) {
        /* An interrupted connect goes on in the background: wait for it
         * instead of calling connect() again (that gives EALREADY). */
        if (errno != EINTR || connect_wait(fd) != 0) {
            snprintf(err, errlen, "cannot connect to %s: %s", a->text,
                     strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* ---- helpers ------------------------------------------------------------ */

static int
parse_unix(const char *text, sw_addr_t *out, char *err, size_t errlen)
{
    struct sockaddr_un *sun = (struct sockaddr_un *) &out->sa;
    const char *path = text + 5;
    size_t n = strlen(path);

    if (n == 0) {
        snprintf(err, errlen, "empty unix socket path in \"%s\"", text);
        return -1;
    }
    if (path[0] != '/') {
        snprintf(err, errlen, "unix socket path must be absolute in \"%s\"", text);
        return -1;
    }
    if (n >= sizeof(sun->sun_path)) {
        snprintf(err, errlen, "unix socket path too long (%zu bytes, max %zu) in \"%s\"",
                 n, sizeof(sun->sun_path) - 1, text);
        return -1;
    }
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, n + 1);
    out->len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
    out->is_unix = 1;
    snprintf(out->text, sizeof(out->text), "unix:%s", path);
    return 0;
}

static int
parse_inet(const char *text, sw_addr_t *out, char *err, size_t errlen)
{
    char host[256];
    const char *colon, *hs, *he;
    unsigned port;
    int v6 = 0;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL) {
            snprintf(err, errlen, "missing ']' in \"%s\"", text);
            return -1;
        }
        if (close[1] != ':') {
            snprintf(err, errlen, "missing \":PORT\" after ']' in \"%s\"", text);
            return -1;
        }
        hs = text + 1;
        he = close;
        colon = close + 1;
        v6 = 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            snprintf(err, errlen, "missing \":PORT\" in \"%s\"", text);
            return -1;
        }
        hs = text;
        he = colon;
        if (memchr(hs, ':', (size_t) (he - hs)) != NULL) {
            snprintf(err, errlen, "IPv6 address must be in brackets, "
                     "like \"[::1]:9000\", in \"%s\"", text);
            return -1;
        }
    }
    if (he == hs) {
        snprintf(err, errlen, "missing host in \"%s\" (use 0.0.0.0 or [::] "
                 "for all addresses)", text);
        return -1;
    }
    if ((size_t) (he - hs) >= sizeof(host)) {
        snprintf(err, errlen, "host name too long in \"%.64s...\"", text);
        return -1;
    }
    memcpy(host, hs, (size_t) (he - hs));
    host[he - hs] = '\0';

    if (parse_port(colon + 1, text, &port, err, errlen) != 0)
        return -1;
    return resolve_host(host, v6, port, text, out, err, errlen);
}

static int
parse_port(const char *s, const char *text, unsigned *port,
           char *err, size_t errlen)
{
    unsigned long v = 0;
    const char *p;

    for (p = s; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned long) (*p - '0');
        if (v > 65535)
            break;
    }
    if (p == s || *p != '\0' || v < 1 || v > 65535) {
        snprintf(err, errlen, "bad port \"%s\" in \"%s\" (want 1..65535)", s, text);
        return -1;
    }
    *port = (unsigned) v;
    return 0;
}

/* Numeric forms are taken as they are; a name is resolved and, when it has
 * both, the IPv4 address is preferred (localhost -> 127.0.0.1), so the
 * address bound is the one most clients try first. */
static int
resolve_host(const char *host, int v6_only, unsigned port, const char *text,
             sw_addr_t *out, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
    const char *p;
    int rc, digits_dots = 1;

    if (!v6_only) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &out->sa;
        if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons((uint16_t) port);
            out->len = sizeof(*sin);
            format_text(out);
            return 0;
        }
        /* getaddrinfo() would take "127.1" or "10.1.2" (inet_aton forms);
         * a dotted number that is not a dotted quad is a typo. */
        for (p = host; *p != '\0'; p++)
            if (!(*p == '.' || (*p >= '0' && *p <= '9')))
                digits_dots = 0;
        if (digits_dots) {
            snprintf(err, errlen, "bad IPv4 address \"%s\" in \"%s\"", host, text);
            return -1;
        }
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = v6_only ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (v6_only)
        hints.ai_flags = AI_NUMERICHOST;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        if (v6_only)
            snprintf(err, errlen, "bad IPv6 address \"%s\" in \"%s\"", host, text);
        else
            snprintf(err, errlen, "cannot resolve \"%s\" in \"%s\": %s", host,
                     text, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (ai->ai_family == AF_INET6 && pick == NULL)
            pick = ai;
    }
    if (pick == NULL || pick->ai_addrlen > sizeof(out->sa)) {
        snprintf(err, errlen, "no IPv4 or IPv6 address for \"%s\" in \"%s\"",
                 host, text);
        freeaddrinfo(res);
        return -1;
    }
    memcpy(&out->sa, pick->ai_addr, pick->ai_addrlen);
    out->len = pick->ai_addrlen;
    if (pick->ai_family == AF_INET)
        ((struct sockaddr_in *) &out->sa)->sin_port = htons((uint16_t) port);
    else
        ((struct sockaddr_in6 *) &out->sa)->sin6_port = htons((uint16_t) port);
    freeaddrinfo(res);
    format_text(out);
    return 0;
}

static void
format_text(sw_addr_t *a)
{
    char host[128];           /* numeric v6 + "%scope" fits */
    unsigned port;

    if (getnameinfo((const struct sockaddr *) &a->sa, a->len, host, sizeof(host),
                    NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(host, sizeof(host), "?");
    if (a->sa.ss_family == AF_INET6) {
        port = ntohs(((const struct sockaddr_in6 *) &a->sa)->sin6_port);
        snprintf(a->text, sizeof(a->text), "[%s]:%u", host, port);
    } else {
        port = ntohs(((const struct sockaddr_in *) &a->sa)->sin_port);
        snprintf(a->text, sizeof(a->text), "%s:%u", host, port);
    }
}

/* A socket file left by a process that died is removed; a live one (connect
 * works, or its backlog is full) or any other kind of file is left alone. */
static int
unix_clear_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, rc, e;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; not replacing it", path);
        return -1;
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for unix:%s: %s", path, strerror(errno));
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    rc = connect(fd, (const struct sockaddr *) &sun, sizeof(sun));
    e = errno;
    close(fd);

    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
        snprintf(err, errlen, "cannot bind unix:%s: address in use "
                 "(another process listens there)", path);
        return -1;
    }
    if (e == ENOENT)
        return 0;                 /* removed meanwhile */
    if (e != ECONNREFUSED) {
        snprintf(err, errlen, "cannot probe unix:%s: %s", path, strerror(e));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove stale socket %s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Waits for a connect interrupted by a signal; 0 when connected, else -1
 * with errno set. */
static int
connect_wait(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    socklen_t len = sizeof(int);
    int rc, soerr = 0;

    do
        rc = poll(&p, 1, -1);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

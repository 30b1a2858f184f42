/* test_listen.c: address parsing, binding and connecting (src/listen.c),
 * and the SCGI client (src/scgi_client.c) against a tiny in-test SCGI
 * server thread. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "scgi_client.h"

/* One timeout for every test that uses sockets: Criterion 2.4.1's runner
 * leaks a timer entry (seen by LSan) when tests of different timeouts run
 * in parallel. */
#define TEST_TIMEOUT 60

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void
tmpdir_make(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw_test_listen_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void
tmpdir_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void
tmpdir_remove(void)
{
    static const char *names[] = { "s.sock", "file", "srv.sock" };
    char p[128];
    size_t i;

    if (tmpdir[0] == '\0')
        return;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tmpdir_path(p, sizeof(p), names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

/* A port the kernel just handed out, free again once closed. */
static unsigned
free_tcp_port(int family)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;
    unsigned port;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*s4);
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    cr_assert_eq(bind(fd, (struct sockaddr *) &ss, len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(getsockname(fd, (struct sockaddr *) &ss, &len), 0);
    port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *) &ss)->sin6_port)
                              : ntohs(((struct sockaddr_in *) &ss)->sin_port);
    close(fd);
    return port;
}

static void
parse_ok(const char *text, sw_addr_t *a)
{
    char err[256] = "";

    cr_assert_eq(sw_addr_parse(text, a, err, sizeof(err)), 0,
                 "parse \"%s\": %s", text, err);
}

static int
accept_one(int lfd)
{
    struct pollfd p = { .fd = lfd, .events = POLLIN };

    if (poll(&p, 1, 5000) != 1)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Checks that c (client) and s (server side) carry bytes both ways. */
static void
check_pipe(int c, int s)
{
    char b[8] = "";

    cr_assert_eq(send(c, "ping", 4, MSG_NOSIGNAL), 4);
    cr_assert_eq(recv(s, b, sizeof(b), 0), 4);
    cr_assert_eq(memcmp(b, "ping", 4), 0);
    cr_assert_eq(send(s, "pong", 4, MSG_NOSIGNAL), 4);
    cr_assert_eq(recv(c, b, sizeof(b), 0), 4);
    cr_assert_eq(memcmp(b, "pong", 4), 0);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the test SCGI server ----------------------------------------------- */

typedef enum {
    SRV_SCGI,        /* read netstring + CONTENT_LENGTH body, then reply */
    SRV_UNTIL_EOF,   /* read until the client half-closes, then reply */
    SRV_CLOSE,       /* accept and close at once */
    SRV_SILENT,      /* read until the client goes, never answer */
    SRV_EARLY        /* read 64 bytes, reply, close with the rest unread */
} srv_mode_t;

typedef struct {
    int lfd;
    srv_mode_t mode;
    const char *reply;
    size_t reply_len;
    int echo;                /* SRV_SCGI: reply "Status: 200 OK" + the body */
    /* results, read after srv_join */
    char *in;
    size_t in_len, in_cap;
    size_t hdr_off, hdr_len, body_off;
    size_t content_length;
    int n_pairs;
    char fail[256];
    pthread_t th;
} srv_t;

static int
srv_read(srv_t *s, int fd)
{
    ssize_t r;

    if (s->in_cap - s->in_len < 65536) {
        s->in_cap = s->in_cap != 0 ? s->in_cap * 2 : 131072;
        s->in = realloc(s->in, s->in_cap);
        if (s->in == NULL)
            abort();
    }
    do
        r = recv(fd, s->in + s->in_len, s->in_cap - s->in_len - 1, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        s->in_len += (size_t) r;
        s->in[s->in_len] = '\0';
    }
    return (int) (r > 0 ? 1 : r);
}

static int
write_all(int fd, const char *p, size_t n)
{
    ssize_t r;

    while (n > 0) {
        r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

/* Reads one SCGI request; checks the netstring and the pair layout. */
static int
srv_read_scgi(srv_t *s, int fd)
{
    size_t len = 0, i, colon;
    const char *p, *e, *names[64];
    int k;

    for (;;) {
        for (colon = 0; colon < s->in_len && s->in[colon] != ':'; colon++)
            ;
        if (colon < s->in_len)
            break;
        if (s->in_len > 20 || srv_read(s, fd) <= 0) {
            snprintf(s->fail, sizeof(s->fail), "no netstring length");
            return -1;
        }
    }
    for (i = 0; i < colon; i++) {
        if (s->in[i] < '0' || s->in[i] > '9') {
            snprintf(s->fail, sizeof(s->fail), "bad netstring length");
            return -1;
        }
        len = len * 10 + (size_t) (s->in[i] - '0');
    }
    while (s->in_len < colon + len + 2)
        if (srv_read(s, fd) <= 0) {
            snprintf(s->fail, sizeof(s->fail), "short netstring");
            return -1;
        }
    if (s->in[colon + 1 + len] != ',' || len == 0 || s->in[colon + len] != '\0') {
        snprintf(s->fail, sizeof(s->fail), "netstring not closed by \"\\0,\"");
        return -1;
    }
    s->hdr_off = colon + 1;
    s->hdr_len = len;
    s->body_off = colon + len + 2;

    p = s->in + s->hdr_off;
    e = p + len;
    for (k = 0; p < e; k++) {
        const char *name = p;
        p += strlen(p) + 1;
        if (p >= e || name[0] == '\0' || k >= 64) {
            snprintf(s->fail, sizeof(s->fail), "bad pair %d", k);
            return -1;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(names[j], name) == 0) {
                snprintf(s->fail, sizeof(s->fail), "duplicate %s", name);
                return -1;
            }
        names[k] = name;
        if (k == 0) {
            if (strcmp(name, "CONTENT_LENGTH") != 0) {
                snprintf(s->fail, sizeof(s->fail), "first pair is %s", name);
                return -1;
            }
            s->content_length = strtoul(p, NULL, 10);
        }
        p += strlen(p) + 1;
    }
    s->n_pairs = k;
    while (s->in_len < s->body_off + s->content_length)
        if (srv_read(s, fd) <= 0) {
            snprintf(s->fail, sizeof(s->fail), "short body");
            return -1;
        }
    if (s->in_len != s->body_off + s->content_length) {
        snprintf(s->fail, sizeof(s->fail), "bytes after the body");
        return -1;
    }
    return 0;
}

static void *
srv_main(void *arg)
{
    srv_t *s = arg;
    struct timeval tv = { .tv_sec = 10 };
    static const char echo_head[] = "Status: 200 OK\r\nContent-Type: x/y\r\n\r\n";
    int fd, r;

    fd = accept_one(s->lfd);
    if (fd < 0) {
        snprintf(s->fail, sizeof(s->fail), "no connection");
        return NULL;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    switch (s->mode) {
    case SRV_SCGI:
        if (srv_read_scgi(s, fd) != 0)
            break;
        if (s->echo) {
            if (write_all(fd, echo_head, sizeof(echo_head) - 1) != 0
                || write_all(fd, s->in + s->body_off, s->content_length) != 0)
                snprintf(s->fail, sizeof(s->fail), "write: %s", strerror(errno));
        } else if (write_all(fd, s->reply, s->reply_len) != 0) {
            snprintf(s->fail, sizeof(s->fail), "write: %s", strerror(errno));
        }
        break;
    case SRV_UNTIL_EOF:
        while ((r = srv_read(s, fd)) > 0)
            ;
        if (r < 0)
            snprintf(s->fail, sizeof(s->fail), "read: %s", strerror(errno));
        else if (write_all(fd, s->reply, s->reply_len) != 0)
            snprintf(s->fail, sizeof(s->fail), "write: %s", strerror(errno));
        break;
    case SRV_CLOSE:
        break;
    case SRV_SILENT:
        while (srv_read(s, fd) > 0)
            ;
        break;
    case SRV_EARLY:
        while (s->in_len < 64)
            if (srv_read(s, fd) <= 0)
                break;
        if (write_all(fd, s->reply, s->reply_len) != 0)
            snprintf(s->fail, sizeof(s->fail), "write: %s", strerror(errno));
        break;
    }
    close(fd);
    return NULL;
}

/* Listens on tmpdir/srv.sock (through sw_listen_bind) or on a free TCP port
 * of 127.0.0.1, and starts the server thread. */
static void
srv_start(srv_t *s, int tcp, sw_addr_t *addr)
{
    char text[160], err[256] = "";

    if (tcp) {
        snprintf(text, sizeof(text), "127.0.0.1:%u", free_tcp_port(AF_INET));
    } else {
        snprintf(text, sizeof(text), "unix:%s/srv.sock", tmpdir);
    }
    parse_ok(text, addr);
    s->lfd = sw_listen_bind(addr, 0600, 16, err, sizeof(err));
    cr_assert(s->lfd >= 0, "bind %s: %s", text, err);
    cr_assert_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_join(srv_t *s)
{
    char p[128];

    pthread_join(s->th, NULL);
    close(s->lfd);
    tmpdir_path(p, sizeof(p), "srv.sock");
    unlink(p);
}

static void
srv_free(srv_t *s)
{
    free(s->in);
    s->in = NULL;
}

/* Value of pair NAME in the received header, or NULL. */
static const char *
hget(const srv_t *s, const char *name)
{
    const char *p = s->in + s->hdr_off, *e = p + s->hdr_len, *n;

    while (p < e) {
        n = p;
        p += strlen(p) + 1;
        if (strcmp(n, name) == 0)
            return p;
        p += strlen(p) + 1;
    }
    return NULL;
}

#define EXPECT_PAIR(s, name, want)                                            \
    do {                                                                      \
        const char *v_ = hget((s), (name));                                   \
        cr_expect(v_ != NULL && strcmp(v_, (want)) == 0,                      \
                  "%s: got \"%s\", want \"%s\"", (name),                      \
                  v_ != NULL ? v_ : "(absent)", (want));                      \
    } while (0)

/* ---- sw_addr_parse ------------------------------------------------------ */

typedef struct {
    const char *in;
    const char *text;        /* good: normalised text */
    int family;
} good_case_t;

static const good_case_t good_cases[] = {
    { "127.0.0.1:9000", "127.0.0.1:9000", AF_INET },
    { "0.0.0.0:80", "0.0.0.0:80", AF_INET },
    { "10.1.2.3:65535", "10.1.2.3:65535", AF_INET },
    { "127.0.0.1:1", "127.0.0.1:1", AF_INET },
    { "127.0.0.1:09000", "127.0.0.1:9000", AF_INET },
    { "localhost:9000", "127.0.0.1:9000", AF_INET },
    { "[::1]:9000", "[::1]:9000", AF_INET6 },
    { "[::]:443", "[::]:443", AF_INET6 },
    { "[0:0:0:0:0:0:0:1]:8080", "[::1]:8080", AF_INET6 },
    { "[2001:DB8::A]:80", "[2001:db8::a]:80", AF_INET6 },
    { "[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", AF_INET6 },
    { "unix:/run/x.sock", "unix:/run/x.sock", AF_UNIX },
    { "unix:/tmp/a b/c:d.sock", "unix:/tmp/a b/c:d.sock", AF_UNIX },
};

Test(addr_parse, good_table)
{
    size_t i;

    for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const good_case_t *c = &good_cases[i];
        sw_addr_t a;
        char err[256] = "";
        int rc = sw_addr_parse(c->in, &a, err, sizeof(err));

        cr_expect_eq(rc, 0, "\"%s\": rc %d, err %s", c->in, rc, err);
        if (rc != 0)
            continue;
        cr_expect_str_eq(a.text, c->text, "\"%s\": text \"%s\"", c->in, a.text);
        cr_expect_eq(a.sa.ss_family, c->family, "\"%s\": family", c->in);
        cr_expect_eq(a.is_unix, c->family == AF_UNIX, "\"%s\": is_unix", c->in);
        if (c->family == AF_INET)
            cr_expect_eq(a.len, sizeof(struct sockaddr_in), "\"%s\": len", c->in);
        if (c->family == AF_INET6)
            cr_expect_eq(a.len, sizeof(struct sockaddr_in6), "\"%s\": len", c->in);
    }
}

Test(addr_parse, unix_sockaddr)
{
    sw_addr_t a;
    const struct sockaddr_un *sun = (const struct sockaddr_un *) &a.sa;

    parse_ok("unix:/run/x.sock", &a);
    cr_assert_str_eq(sun->sun_path, "/run/x.sock");
    cr_assert_eq(a.len, offsetof(struct sockaddr_un, sun_path) + strlen("/run/x.sock") + 1);
}

Test(addr_parse, port_in_network_order)
{
    sw_addr_t a;

    parse_ok("127.0.0.1:9000", &a);
    cr_assert_eq(ntohs(((struct sockaddr_in *) &a.sa)->sin_port), 9000);
    cr_assert_eq(ntohl(((struct sockaddr_in *) &a.sa)->sin_addr.s_addr), INADDR_LOOPBACK);
    parse_ok("[::1]:9001", &a);
    cr_assert_eq(ntohs(((struct sockaddr_in6 *) &a.sa)->sin6_port), 9001);
}

typedef struct {
    const char *in;
    const char *err;         /* expected substring of the message */
} bad_case_t;

static char long_unix[160];

static const bad_case_t bad_cases[] = {
    { "", "empty address" },
    { "127.0.0.1:x", "bad port \"x\" in \"127.0.0.1:x\"" },
    { "127.0.0.1:0", "bad port \"0\"" },
    { "127.0.0.1:65536", "bad port \"65536\"" },
    { "127.0.0.1:99999999999999999999", "bad port" },
    { "127.0.0.1:", "bad port \"\"" },
    { "127.0.0.1:-1", "bad port" },
    { "127.0.0.1:+80", "bad port" },
    { "127.0.0.1: 80", "bad port" },
    { "127.0.0.1:80x", "bad port" },
    { "127.0.0.1", "missing \":PORT\"" },
    { ":9000", "missing host" },
    { "::1:9000", "in brackets" },
    { "[::1:9000", "missing ']'" },
    { "[::1]", "missing \":PORT\"" },
    { "[::1]9000", "missing \":PORT\"" },
    { "[::1]:", "bad port" },
    { "[]:80", "missing host" },
    { "[nothost]:80", "bad IPv6 address" },
    { "[127.0.0.1]:80", "bad IPv6 address" },
    { "256.1.1.1:80", "bad IPv4 address" },
    { "127.1:80", "bad IPv4 address" },
    { "1.2.3.4.5:80", "bad IPv4 address" },
    { "no-such-host.invalid:80", "cannot resolve \"no-such-host.invalid\"" },
    { "unix:", "empty unix socket path" },
    { "unix:relative.sock", "must be absolute" },
    { long_unix, "too long" },
};

Test(addr_parse, bad_table)
{
    size_t i;

    /* "unix:/" + 107 more bytes: 108 bytes of path, one over sun_path */
    memset(long_unix, 'a', sizeof(long_unix));
    memcpy(long_unix, "unix:/", 6);
    long_unix[5 + sizeof(((struct sockaddr_un *) 0)->sun_path)] = '\0';

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case_t *c = &bad_cases[i];
        sw_addr_t a;
        char err[256] = "";
        int rc = sw_addr_parse(c->in, &a, err, sizeof(err));

        cr_expect_eq(rc, -1, "\"%s\": accepted as %s", c->in, a.text);
        cr_expect(strstr(err, c->err) != NULL, "\"%s\": err \"%s\", want \"%s\"",
                  c->in, err, c->err);
    }
}

Test(addr_parse, longest_unix_path_fits)
{
    char text[160];
    size_t max = sizeof(((struct sockaddr_un *) 0)->sun_path) - 1;
    sw_addr_t a;

    memset(text, 'b', sizeof(text));
    memcpy(text, "unix:/", 6);
    text[5 + max] = '\0';
    parse_ok(text, &a);
    cr_assert_str_eq(a.text, text);
}

/* ---- TCP ---------------------------------------------------------------- */

Test(listen_tcp, bind_and_connect)
{
    char text[64], err[256] = "";
    sw_addr_t a;
    int lfd, c, s, v = 0;
    socklen_t len = sizeof(v);
    struct sockaddr_in sin;
    unsigned port = free_tcp_port(AF_INET);

    snprintf(text, sizeof(text), "127.0.0.1:%u", port);
    parse_ok(text, &a);
    lfd = sw_listen_bind(&a, 0660, 16, err, sizeof(err));
    cr_assert(lfd >= 0, "bind: %s", err);
    cr_expect(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    cr_expect(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    cr_expect_eq(getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    cr_expect_neq(v, 0, "SO_REUSEADDR not set");
    len = sizeof(v);
    cr_expect_eq(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    cr_expect_neq(v, 0, "not listening");
    len = sizeof(sin);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *) &sin, &len), 0);
    cr_expect_eq(ntohs(sin.sin_port), port);

    c = sw_addr_connect(&a, err, sizeof(err));
    cr_assert(c >= 0, "connect: %s", err);
    cr_expect(fcntl(c, F_GETFD) & FD_CLOEXEC);
    cr_expect_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0, "connect fd must block");
    s = accept_one(lfd);
    cr_assert(s >= 0);
    check_pipe(c, s);
    close(s);
    close(c);
    close(lfd);
}

Test(listen_tcp, address_in_use)
{
    char text[64], err[256] = "";
    sw_addr_t a;
    int l1, l2;

    snprintf(text, sizeof(text), "127.0.0.1:%u", free_tcp_port(AF_INET));
    parse_ok(text, &a);
    l1 = sw_listen_bind(&a, 0660, 16, err, sizeof(err));
    cr_assert(l1 >= 0, "bind: %s", err);
    l2 = sw_listen_bind(&a, 0660, 16, err, sizeof(err));
    cr_expect_eq(l2, -1);
    cr_expect(strstr(err, "address in use") != NULL, "err: %s", err);
    cr_expect(strstr(err, text) != NULL, "err names the address: %s", err);
    close(l1);
}

Test(listen_tcp, connect_refused)
{
    char text[64], err[256] = "";
    sw_addr_t a;

    snprintf(text, sizeof(text), "127.0.0.1:%u", free_tcp_port(AF_INET));
    parse_ok(text, &a);
    cr_assert_eq(sw_addr_connect(&a, err, sizeof(err)), -1);
    cr_expect(strstr(err, "cannot connect to 127.0.0.1:") != NULL, "err: %s", err);
    cr_expect(strstr(err, strerror(ECONNREFUSED)) != NULL, "err: %s", err);
}

Test(listen_tcp, ipv6_only)
{
    char t6[64], t4[64], err[256] = "";
    sw_addr_t a6, a4;
    int l6, l4, c, s, v = 0;
    socklen_t len = sizeof(v);
    unsigned port;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);

    if (probe < 0)
        cr_skip_test("no IPv6: %s", strerror(errno));
    close(probe);
    port = free_tcp_port(AF_INET6);
    snprintf(t6, sizeof(t6), "[::]:%u", port);
    snprintf(t4, sizeof(t4), "0.0.0.0:%u", port);
    parse_ok(t6, &a6);
    parse_ok(t4, &a4);
    l6 = sw_listen_bind(&a6, 0660, 16, err, sizeof(err));
    cr_assert(l6 >= 0, "bind %s: %s", t6, err);
    cr_expect_eq(getsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
    cr_expect_eq(v, 1, "IPV6_V6ONLY not set");
    /* with V6ONLY the IPv4 wildcard on the same port is still free */
    l4 = sw_listen_bind(&a4, 0660, 16, err, sizeof(err));
    cr_expect(l4 >= 0, "bind %s next to %s: %s", t4, t6, err);

    snprintf(t6, sizeof(t6), "[::1]:%u", port);
    parse_ok(t6, &a6);
    c = sw_addr_connect(&a6, err, sizeof(err));
    cr_assert(c >= 0, "connect %s: %s", t6, err);
    s = accept_one(l6);
    cr_assert(s >= 0);
    check_pipe(c, s);
    close(s);
    close(c);
    if (l4 >= 0)
        close(l4);
    close(l6);
}

/* ---- unix sockets ------------------------------------------------------- */

static void
unix_addr(sw_addr_t *a, const char *name)
{
    char text[160];

    snprintf(text, sizeof(text), "unix:%s/%s", tmpdir, name);
    parse_ok(text, a);
}

Test(listen_unix, mode_and_connect, .init = tmpdir_make, .fini = tmpdir_remove)
{
    static const unsigned modes[] = { 0660, 0600, 0666, 0640 };
    char path[128], err[256] = "";
    struct stat st;
    sw_addr_t a;
    int lfd, c, s;
    size_t i;

    unix_addr(&a, "s.sock");
    tmpdir_path(path, sizeof(path), "s.sock");
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        lfd = sw_listen_bind(&a, modes[i], 16, err, sizeof(err));
        cr_assert(lfd >= 0, "bind: %s", err);
        cr_expect(fcntl(lfd, F_GETFL) & O_NONBLOCK);
        cr_expect(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(stat(path, &st), 0);
        cr_expect(S_ISSOCK(st.st_mode));
        cr_expect_eq(st.st_mode & 07777, modes[i], "mode %04o, want %04o",
                     st.st_mode & 07777, modes[i]);

        c = sw_addr_connect(&a, err, sizeof(err));
        cr_assert(c >= 0, "connect: %s", err);
        cr_expect(fcntl(c, F_GETFD) & FD_CLOEXEC);
        s = accept_one(lfd);
        cr_assert(s >= 0);
        check_pipe(c, s);
        close(s);
        close(c);
        /* closed without unlink: the next round must replace it */
        close(lfd);
    }
}

Test(listen_unix, stale_socket_replaced, .init = tmpdir_make, .fini = tmpdir_remove)
{
    char err[256] = "";
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    const char *path = sun.sun_path;
    struct stat st;
    sw_addr_t a;
    int fd, lfd, c;

    tmpdir_path(sun.sun_path, sizeof(sun.sun_path), "s.sock");
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    cr_assert_eq(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    cr_assert_eq(listen(fd, 1), 0);
    close(fd);                /* a crashed server leaves this behind */
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));

    unix_addr(&a, "s.sock");
    lfd = sw_listen_bind(&a, 0640, 16, err, sizeof(err));
    cr_assert(lfd >= 0, "stale socket not replaced: %s", err);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0640);
    /* (inode numbers are reused at once on tmpfs: connect instead) */
    c = sw_addr_connect(&a, err, sizeof(err));
    cr_expect(c >= 0, "connect: %s", err);
    if (c >= 0)
        close(c);
    close(lfd);
}

Test(listen_unix, non_socket_refused, .init = tmpdir_make, .fini = tmpdir_remove)
{
    char path[128], err[256] = "", b[16] = "";
    sw_addr_t a;
    FILE *f;

    tmpdir_path(path, sizeof(path), "s.sock");
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("precious", f);
    fclose(f);

    unix_addr(&a, "s.sock");
    cr_assert_eq(sw_listen_bind(&a, 0660, 16, err, sizeof(err)), -1);
    cr_expect(strstr(err, "not a socket") != NULL, "err: %s", err);
    f = fopen(path, "r");
    cr_assert_not_null(f, "the file was removed");
    cr_expect_not_null(fgets(b, sizeof(b), f));
    cr_expect_str_eq(b, "precious");
    fclose(f);
}

Test(listen_unix, live_listener_refused, .init = tmpdir_make, .fini = tmpdir_remove)
{
    char path[128], err[256] = "";
    struct stat st;
    sw_addr_t a;
    int l1, c, s;

    unix_addr(&a, "s.sock");
    tmpdir_path(path, sizeof(path), "s.sock");
    l1 = sw_listen_bind(&a, 0660, 16, err, sizeof(err));
    cr_assert(l1 >= 0, "bind: %s", err);
    cr_assert_eq(sw_listen_bind(&a, 0660, 16, err, sizeof(err)), -1);
    cr_expect(strstr(err, "address in use") != NULL, "err: %s", err);
    cr_expect(strstr(err, path) != NULL, "err names the path: %s", err);

    /* the first listener still owns its file and works; the probe that
     * found it alive is first in its backlog, already closed */
    cr_assert_eq(stat(path, &st), 0);
    c = sw_addr_connect(&a, err, sizeof(err));
    cr_assert(c >= 0, "connect: %s", err);
    s = accept_one(l1);
    cr_assert(s >= 0);
    cr_expect_eq(recv(s, err, sizeof(err), 0), 0, "probe connection not closed");
    close(s);
    s = accept_one(l1);
    cr_assert(s >= 0);
    check_pipe(c, s);
    close(s);
    close(c);
    close(l1);
}

Test(listen_unix, missing_dir_and_connect_fail, .init = tmpdir_make, .fini = tmpdir_remove)
{
    char err[256] = "";
    sw_addr_t a;

    unix_addr(&a, "nodir/s.sock");
    cr_expect_eq(sw_listen_bind(&a, 0660, 16, err, sizeof(err)), -1);
    cr_expect(strstr(err, "nodir/s.sock") != NULL, "err: %s", err);
    unix_addr(&a, "s.sock");
    cr_expect_eq(sw_addr_connect(&a, err, sizeof(err)), -1);
    cr_expect(strstr(err, "cannot connect to unix:") != NULL, "err: %s", err);
}

/* ---- SCGI client -------------------------------------------------------- */

static const char reply_201[] = "Status: 201 Created\r\nX-A: b\r\n\r\nhello";

Test(scgi_client, request_round_trip, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    static const char *const headers[] = {
        "Host: example.com:8080",
        "Content-Type: text/plain",
        "Content-Length: 999",
        "X-Foo-Bar:   baz  ",
        "Accept: a",
        "accept: b",
        "Cookie: a=1",
        "Cookie: b=2",
    };
    static const char body[] = "hello=world";
    srv_t s = { .mode = SRV_SCGI, .reply = reply_201, .reply_len = sizeof(reply_201) - 1 };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "", port[16], *v;
    int rc;

    srv_start(&s, 1, &a);
    rc = sw_scgi_client_request(&a, "POST", "/a%20b/./c/../d?x=1&y=%20", headers,
                                sizeof(headers) / sizeof(headers[0]), body,
                                sizeof(body) - 1, 10, &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "request: %s", err);
    cr_assert_str_empty(s.fail, "server: %s", s.fail);

    snprintf(port, sizeof(port), "%u", ntohs(((struct sockaddr_in *) &a.sa)->sin_port));
    cr_expect_str_eq(s.in + s.hdr_off, "CONTENT_LENGTH", "CONTENT_LENGTH not first");
    EXPECT_PAIR(&s, "CONTENT_LENGTH", "11");
    EXPECT_PAIR(&s, "SCGI", "1");
    EXPECT_PAIR(&s, "REQUEST_METHOD", "POST");
    EXPECT_PAIR(&s, "REQUEST_URI", "/a%20b/./c/../d?x=1&y=%20");
    EXPECT_PAIR(&s, "DOCUMENT_URI", "/a b/d");
    EXPECT_PAIR(&s, "QUERY_STRING", "x=1&y=%20");
    EXPECT_PAIR(&s, "SERVER_PROTOCOL", "HTTP/1.1");
    EXPECT_PAIR(&s, "SERVER_NAME", "example.com");
    EXPECT_PAIR(&s, "SERVER_PORT", port);
    EXPECT_PAIR(&s, "REMOTE_ADDR", "127.0.0.1");
    EXPECT_PAIR(&s, "REMOTE_PORT", "0");
    EXPECT_PAIR(&s, "HTTP_HOST", "example.com:8080");
    EXPECT_PAIR(&s, "CONTENT_TYPE", "text/plain");
    EXPECT_PAIR(&s, "HTTP_X_FOO_BAR", "baz");
    EXPECT_PAIR(&s, "HTTP_ACCEPT", "a, b");
    EXPECT_PAIR(&s, "HTTP_COOKIE", "a=1; b=2");
    cr_expect_null(hget(&s, "HTTP_CONTENT_LENGTH"));
    cr_expect_null(hget(&s, "HTTP_CONTENT_TYPE"));
    cr_expect_eq(s.n_pairs, 16);
    cr_expect_eq(s.content_length, sizeof(body) - 1);
    cr_expect_eq(memcmp(s.in + s.body_off, body, sizeof(body) - 1), 0);

    cr_expect_eq(r.status, 201);
    cr_expect_str_eq(r.head, "Status: 201 Created\r\nX-A: b");
    cr_expect_eq(r.body_len, 5);
    cr_expect_str_eq(r.body, "hello");
    cr_expect_eq(r.raw_len, sizeof(reply_201) - 1);
    cr_expect_eq(memcmp(r.raw, reply_201, r.raw_len), 0);
    v = sw_scgi_response_header(&r, "x-a");
    cr_expect_str_eq(v != NULL ? v : "(null)", "b");
    free(v);
    v = sw_scgi_response_header(&r, "STATUS");
    cr_expect_str_eq(v != NULL ? v : "(null)", "201 Created");
    free(v);
    cr_expect_null(sw_scgi_response_header(&r, "X"));
    cr_expect_null(sw_scgi_response_header(&r, "X-Missing"));
    sw_scgi_response_free(&r);
    cr_expect_null(r.raw);
    sw_scgi_response_free(&r);    /* twice is harmless */
    srv_free(&s);
}

Test(scgi_client, unix_get_defaults, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    srv_t s = { .mode = SRV_SCGI, .reply = reply_201, .reply_len = sizeof(reply_201) - 1 };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "";
    int rc;

    srv_start(&s, 0, &a);
    rc = sw_scgi_client_request(&a, "GET", "//x//y/", NULL, 0, NULL, 0, 10,
                                &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "request: %s", err);
    cr_assert_str_empty(s.fail, "server: %s", s.fail);
    EXPECT_PAIR(&s, "CONTENT_LENGTH", "0");
    EXPECT_PAIR(&s, "REQUEST_METHOD", "GET");
    EXPECT_PAIR(&s, "REQUEST_URI", "//x//y/");
    EXPECT_PAIR(&s, "DOCUMENT_URI", "/x/y/");
    EXPECT_PAIR(&s, "QUERY_STRING", "");
    EXPECT_PAIR(&s, "SERVER_NAME", "localhost");
    EXPECT_PAIR(&s, "SERVER_PORT", "80");
    cr_expect_eq(s.n_pairs, 11);
    cr_expect_eq(r.status, 201);
    sw_scgi_response_free(&r);
    srv_free(&s);
}

Test(scgi_client, document_uri_table, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    static const struct { const char *uri, *doc, *qs; } cases[] = {
        { "/", "/", "" },
        { "/a/b", "/a/b", "" },
        { "/a/b/", "/a/b/", "" },
        { "/a/./b/.", "/a/b/", "" },
        { "/a/../../b", "/b", "" },
        { "/..", "/", "" },
        { "/%7Euser/%41%42?q=%41", "/~user/AB", "q=%41" },
        { "/bad%zz%4", "/bad%zz%4", "" },
        { "/nul%00x", "/nul%00x", "" },
        { "/p?", "/p", "" },
        { "/p?a?b", "/p", "a?b" },
        { "/%2e%2e/x", "/x", "" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_t s = { .mode = SRV_SCGI, .reply = reply_201,
                    .reply_len = sizeof(reply_201) - 1 };
        sw_scgi_response_t r;
        sw_addr_t a;
        char err[256] = "";
        int rc;

        srv_start(&s, 0, &a);
        rc = sw_scgi_client_request(&a, "GET", cases[i].uri, NULL, 0, NULL, 0, 10,
                                    &r, err, sizeof(err));
        srv_join(&s);
        cr_assert_eq(rc, 0, "%s: %s", cases[i].uri, err);
        cr_assert_str_empty(s.fail, "server: %s", s.fail);
        EXPECT_PAIR(&s, "REQUEST_URI", cases[i].uri);
        EXPECT_PAIR(&s, "DOCUMENT_URI", cases[i].doc);
        EXPECT_PAIR(&s, "QUERY_STRING", cases[i].qs);
        sw_scgi_response_free(&r);
        srv_free(&s);
    }
}

Test(scgi_client, bad_header_refused)
{
    static const char *const bad[] = { "NoColon", ": value", "Bad Name: x" };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256];
    size_t i;

    parse_ok("unix:/nonexistent/never-used.sock", &a);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_expect_eq(sw_scgi_client_request(&a, "GET", "/", &bad[i], 1, NULL, 0, 1,
                                            &r, err, sizeof(err)), -1, "%s", bad[i]);
        cr_expect(strstr(err, "bad header") != NULL, "%s: err %s", bad[i], err);
        sw_scgi_response_free(&r);
    }
}

Test(scgi_client, connect_failure)
{
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "";

    parse_ok("unix:/nonexistent/never-used.sock", &a);
    cr_expect_eq(sw_scgi_client_request(&a, "GET", "/", NULL, 0, NULL, 0, 1,
                                        &r, err, sizeof(err)), -1);
    cr_expect(strstr(err, "cannot connect") != NULL, "err: %s", err);
    cr_expect_null(r.raw);
    sw_scgi_response_free(&r);
}

static char *
pattern(size_t n)
{
    char *p = malloc(n);
    size_t i;

    cr_assert_not_null(p);
    for (i = 0; i < n; i++)
        p[i] = (char) ((i * 131) ^ (i >> 11));
    return p;
}

Test(scgi_client, five_mib_body_echo, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    const size_t n = 5u << 20;
    char *body = pattern(n), err[256] = "";
    srv_t s = { .mode = SRV_SCGI, .echo = 1 };
    sw_scgi_response_t r;
    sw_addr_t a;
    int rc;

    srv_start(&s, 1, &a);
    rc = sw_scgi_client_request(&a, "PUT", "/upload", NULL, 0, body, n, 20,
                                &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "request: %s", err);
    cr_assert_str_empty(s.fail, "server: %s", s.fail);
    cr_expect_eq(s.content_length, n);
    cr_expect_eq(r.status, 200);
    cr_assert_eq(r.body_len, n);
    cr_expect_eq(memcmp(r.body, body, n), 0, "echoed body differs");
    cr_expect_eq(r.body[n], '\0');
    sw_scgi_response_free(&r);
    srv_free(&s);
    free(body);
}

Test(scgi_client, twelve_mib_response, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    static const char head[] = "Status: 200 OK\r\nContent-Type: x/y\r\n\r\n";
    const size_t n = 12u << 20;
    char *reply = malloc(sizeof(head) - 1 + n), *data = pattern(n), err[256] = "";
    srv_t s = { .mode = SRV_SCGI };
    sw_scgi_response_t r;
    sw_addr_t a;
    int rc;

    cr_assert_not_null(reply);
    memcpy(reply, head, sizeof(head) - 1);
    memcpy(reply + sizeof(head) - 1, data, n);
    s.reply = reply;
    s.reply_len = sizeof(head) - 1 + n;
    srv_start(&s, 0, &a);
    rc = sw_scgi_client_request(&a, "GET", "/big", NULL, 0, NULL, 0, 20,
                                &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "request: %s", err);
    cr_assert_str_empty(s.fail, "server: %s", s.fail);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.raw_len, s.reply_len);
    cr_assert_eq(r.body_len, n);
    cr_expect_eq(memcmp(r.body, data, n), 0);
    sw_scgi_response_free(&r);
    srv_free(&s);
    free(reply);
    free(data);
}

/* ---- response parsing --------------------------------------------------- */

typedef struct {
    const char *reply;
    int status;
    const char *head;
    const char *body;
} resp_case_t;

static const resp_case_t resp_cases[] = {
    { "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope", 404,
      "Status: 404 Not Found\r\nContent-Type: text/plain", "nope" },
    { "Content-Type: text/plain\r\nstatus: 302 Found\r\n\r\n", 302,
      "Content-Type: text/plain\r\nstatus: 302 Found", "" },
    { "STATUS:503 Busy\nRetry-After: 1\n\nlater", 503,
      "STATUS:503 Busy\nRetry-After: 1", "later" },
    { "HTTP/1.1 418 I'm a teapot\r\nX: y\r\n\r\ntea", 418,
      "HTTP/1.1 418 I'm a teapot\r\nX: y", "tea" },
    { "HTTP/1.0 204\r\n\r\n", 204, "HTTP/1.0 204", "" },
    { "HTTP/1.1 200 OK\r\nStatus: 500 Oops\r\n\r\n", 500,
      "HTTP/1.1 200 OK\r\nStatus: 500 Oops", "" },
    { "Content-Type: text/html\r\n\r\n<p>hi</p>", 200, "Content-Type: text/html", "<p>hi</p>" },
    { "Status: 200\r\n\r\nx", 200, "Status: 200", "x" },
    { "X: 1\r\n\r\nfirst\r\n\r\nsecond", 200, "X: 1", "first\r\n\r\nsecond" },
    { "X: 1\n\r\nbody", 200, "X: 1", "body" },
    { "Status: abc\r\n\r\nx", 0, "Status: abc", "x" },
    { "Status: 2000 Big\r\n\r\nx", 0, "Status: 2000 Big", "x" },
    { "Status: 099 Low\r\n\r\nx", 0, "Status: 099 Low", "x" },
    { "HTTP/1.1 xyz\r\n\r\n", 0, "HTTP/1.1 xyz", "" },
    { "garbage without a blank line", 0, "", "" },
    { "\r\n\r\nbody", 0, "", "\r\nbody" },
    { "", 0, "", "" },
};

Test(scgi_client, response_table, .init = tmpdir_make, .fini = tmpdir_remove,
     .timeout = TEST_TIMEOUT)
{
    size_t i;

    for (i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
        const resp_case_t *c = &resp_cases[i];
        srv_t s = { .mode = SRV_SCGI, .reply = c->reply, .reply_len = strlen(c->reply) };
        sw_scgi_response_t r;
        sw_addr_t a;
        char err[256] = "";
        int rc;

        srv_start(&s, 0, &a);
        rc = sw_scgi_client_request(&a, "GET", "/", NULL, 0, NULL, 0, 10,
                                    &r, err, sizeof(err));
        srv_join(&s);
        cr_assert_eq(rc, 0, "case %zu: %s", i, err);
        cr_expect_eq(r.status, c->status, "case %zu: status %d, want %d",
                     i, r.status, c->status);
        cr_expect_str_eq(r.head, c->head, "case %zu: head", i);
        cr_expect_str_eq(r.body, c->body, "case %zu: body", i);
        cr_expect_eq(r.body_len, strlen(c->body), "case %zu: body_len", i);
        cr_expect_eq(r.raw_len, strlen(c->reply), "case %zu: raw_len", i);
        sw_scgi_response_free(&r);
        srv_free(&s);
    }
}

/* ---- sw_scgi_client_raw ------------------------------------------------- */

Test(scgi_client_raw, bytes_as_is_then_half_close, .init = tmpdir_make,
     .fini = tmpdir_remove, .timeout = TEST_TIMEOUT)
{
    static const char bytes[] = "5:hello,\0junk\xff";
    static const char reply[] = "Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nbad";
    srv_t s = { .mode = SRV_UNTIL_EOF, .reply = reply, .reply_len = sizeof(reply) - 1 };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "", *v;
    int rc;

    srv_start(&s, 0, &a);
    rc = sw_scgi_client_raw(&a, bytes, sizeof(bytes) - 1, 1, 10, &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "raw: %s", err);
    cr_assert_str_empty(s.fail, "server: %s", s.fail);
    cr_expect_eq(s.in_len, sizeof(bytes) - 1);
    cr_expect_eq(memcmp(s.in, bytes, sizeof(bytes) - 1), 0);
    cr_expect_eq(r.status, 400);
    cr_expect_str_eq(r.body, "bad");
    v = sw_scgi_response_header(&r, "content-type");
    cr_expect_str_eq(v != NULL ? v : "(null)", "text/plain");
    free(v);
    sw_scgi_response_free(&r);
    srv_free(&s);
}

Test(scgi_client_raw, server_closes_without_answer, .init = tmpdir_make,
     .fini = tmpdir_remove, .timeout = TEST_TIMEOUT)
{
    srv_t s = { .mode = SRV_CLOSE };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "";
    int rc;

    srv_start(&s, 1, &a);
    rc = sw_scgi_client_raw(&a, "x", 1, 0, 10, &r, err, sizeof(err));
    srv_join(&s);
    cr_assert_eq(rc, 0, "raw: %s", err);
    cr_expect_eq(r.raw_len, 0);
    cr_expect_eq(r.status, 0);
    cr_expect_not_null(r.raw);
    cr_expect_str_eq(r.head, "");
    cr_expect_eq(r.body_len, 0);
    sw_scgi_response_free(&r);
    srv_free(&s);
}

Test(scgi_client_raw, timeout_with_nothing, .init = tmpdir_make,
     .fini = tmpdir_remove, .timeout = TEST_TIMEOUT)
{
    srv_t s = { .mode = SRV_SILENT };
    sw_scgi_response_t r;
    sw_addr_t a;
    char err[256] = "";
    double t0, dt;
    int rc;

    srv_start(&s, 0, &a);
    t0 = now_s();
    rc = sw_scgi_client_raw(&a, "10:", 3, 0, 0.3, &r, err, sizeof(err));
    dt = now_s() - t0;
    srv_join(&s);
    cr_expect_eq(rc, -1);
    cr_expect(strstr(err, "timed out") != NULL, "err: %s", err);
    cr_expect(dt >= 0.25 && dt < 5, "took %.2fs", dt);
    cr_expect_eq(s.in_len, 3);
    sw_scgi_response_free(&r);
    srv_free(&s);
}

/* A server that answers 413 after 64 bytes and closes with megabytes
 * unread (over TCP that sends a reset): the send fails, the answer must
 * still come back. */
Test(scgi_client_raw, early_answer_with_big_body, .init = tmpdir_make,
     .fini = tmpdir_remove, .timeout = TEST_TIMEOUT)
{
    static const char reply[] = "Status: 413 Payload Too Large\r\n\r\ntoo big";
    const size_t n = 8u << 20;
    char *bytes = pattern(n);
    int tcp;

    for (tcp = 0; tcp <= 1; tcp++) {
        srv_t s = { .mode = SRV_EARLY, .reply = reply, .reply_len = sizeof(reply) - 1 };
        sw_scgi_response_t r;
        sw_addr_t a;
        char err[256] = "";
        int rc;

        srv_start(&s, tcp, &a);
        rc = sw_scgi_client_raw(&a, bytes, n, 1, 10, &r, err, sizeof(err));
        srv_join(&s);
        cr_assert_eq(rc, 0, "%s: %s", a.text, err);
        cr_assert_str_empty(s.fail, "server: %s", s.fail);
        cr_expect_eq(r.status, 413, "%s: status %d", a.text, r.status);
        cr_expect_str_eq(r.body, "too big", "%s", a.text);
        sw_scgi_response_free(&r);
        srv_free(&s);
    }
    free(bytes);
}

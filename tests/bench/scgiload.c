/* scgiload.c: closed-loop SCGI load generator for tests/bench. Each of -c
 * connections repeats connect, send one SCGI request, read until EOF, and
 * records the latency of every request (all samples kept, exact percentiles).
 * Self-contained on purpose: it must also drive servers that are not ours. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 2048           /* response bytes kept for the status line */
#define READ_CHUNK 65536
#define RETRY_NS 1000000ull     /* pause before a slot retries after an error */
#define NS 1000000000ull

enum { ST_IDLE, ST_CONNECTING, ST_WRITING, ST_READING };

typedef struct {
    int fd;
    int state;
    size_t woff;
    uint64_t t0;                /* when the connect started */
    uint64_t retry_at;          /* ST_IDLE: when to start again */
    size_t hlen;
    char head[HEAD_MAX];
} conn_t;

typedef struct {
    uint64_t requests, errors, connect_errors, io_errors, timeouts, empty;
    uint64_t status[6];         /* [1..5] = 1xx..5xx, [0] = none/unparsed */
    uint64_t bytes;
} counts_t;

typedef struct {
    pthread_t tid;
    int ep;
    int nconn;
    conn_t *conns;
    uint64_t *lat;              /* ns, one per request completed in the window */
    size_t nlat, cap;
    counts_t n;
    char *scratch;
} worker_t;

/* Shared, read-only once the workers start (except the atomics). */
static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *req;
    size_t reqlen;
    uint64_t t_measure;         /* window start (after warm-up) */
    uint64_t t_end;             /* window end */
    uint64_t timeout_ns;
    long long max_requests;     /* -n: 0 = unlimited */
    atomic_llong started;
} g;

static void usage(FILE *f);
static int parse_addr(const char *text);
static int build_request(const char *method, const char *path, const char **hdrs,
                         size_t nh, const char *body, size_t blen);
static int read_file(const char *path, char **out, size_t *len);
static void *worker_main(void *arg);
static void conn_start(worker_t *w, conn_t *c, uint64_t now);
static void conn_event(worker_t *w, conn_t *c, uint32_t ev, uint64_t now);
static void conn_done(worker_t *w, conn_t *c, uint64_t now);
static void conn_fail(worker_t *w, conn_t *c, uint64_t now, int kind);
static int parse_status(const char *h, size_t len);
static uint64_t now_ns(void);
static int cmp_u64(const void *a, const void *b);
static double pct_ms(const uint64_t *s, size_t n, double p);

enum { FAIL_CONNECT, FAIL_IO, FAIL_TIMEOUT, FAIL_EMPTY };

int
main(int argc, char **argv)
{
    int conc = 8, nthreads = 1, opt;
    double dur = 10, warm = 0, tmo = 30;
    const char *method = "GET", *bodyfile = NULL;
    const char **hdrs = calloc((size_t) argc + 1, sizeof(*hdrs));
    size_t nh = 0, blen = 0;
    char *body = NULL;

    if (hdrs == NULL)
        return 2;
    while ((opt = getopt(argc, argv, "c:d:w:X:b:H:t:n:T:h")) != -1) {
        switch (opt) {
        case 'c': conc = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'X': method = optarg; break;
        case 'b': bodyfile = optarg; break;
        case 'H': hdrs[nh++] = optarg; break;
        case 't': nthreads = atoi(optarg); break;
        case 'n': g.max_requests = atoll(optarg); break;
        case 'T': tmo = atof(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || conc < 1 || nthreads < 1 || dur <= 0 || warm < 0
        || tmo <= 0 || g.max_requests < 0) {
        usage(stderr);
        return 2;
    }
    if (nthreads > conc)
        nthreads = conc;
    if (parse_addr(argv[optind]) != 0)
        return 2;
    if (bodyfile != NULL && read_file(bodyfile, &body, &blen) != 0)
        return 2;
    if (build_request(method, argv[optind + 1], hdrs, nh, body, blen) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    uint64_t t_start = now_ns();
    g.t_measure = t_start + (uint64_t) (warm * NS);
    g.t_end = g.t_measure + (uint64_t) (dur * NS);
    g.timeout_ns = (uint64_t) (tmo * NS);

    worker_t *w = calloc((size_t) nthreads, sizeof(*w));
    if (w == NULL)
        return 2;
    for (int i = 0; i < nthreads; i++) {
        w[i].nconn = conc / nthreads + (i < conc % nthreads);
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "scgiload: pthread_create failed\n");
            return 2;
        }
    }

    counts_t t = { 0 };
    size_t nlat = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].tid, NULL);
        nlat += w[i].nlat;
    }
    uint64_t t_stop = now_ns();
    uint64_t *all = malloc((nlat ? nlat : 1) * sizeof(*all));
    if (all == NULL)
        return 2;
    size_t k = 0;
    for (int i = 0; i < nthreads; i++) {
        counts_t *n = &w[i].n;
        t.requests += n->requests; t.errors += n->errors;
        t.connect_errors += n->connect_errors; t.io_errors += n->io_errors;
        t.timeouts += n->timeouts; t.empty += n->empty; t.bytes += n->bytes;
        for (int s = 0; s < 6; s++)
            t.status[s] += n->status[s];
        memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
        k += w[i].nlat;
    }
    qsort(all, nlat, sizeof(*all), cmp_u64);

    /* With -n the run may end before -d: the window is what really ran. */
    uint64_t wend = t_stop < g.t_end ? t_stop : g.t_end;
    double window = wend > g.t_measure ? (double) (wend - g.t_measure) / NS : dur;
    double sum = 0;
    for (size_t i = 0; i < nlat; i++)
        sum += (double) all[i];
    double rps = (double) t.requests / window;
    double mean = nlat ? sum / (double) nlat / 1e6 : 0;
    double p50 = pct_ms(all, nlat, 50), p90 = pct_ms(all, nlat, 90);
    double p99 = pct_ms(all, nlat, 99), p999 = pct_ms(all, nlat, 99.9);
    double mx = nlat ? (double) all[nlat - 1] / 1e6 : 0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double client_cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec
                        + ((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec) / 1e6;

    printf("requests=%llu duration_s=%.3f rps=%.1f mean_ms=%.3f p50_ms=%.3f "
           "p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%llu "
           "connect_errors=%llu io_errors=%llu timeouts=%llu empty=%llu "
           "status_1xx=%llu status_2xx=%llu status_3xx=%llu status_4xx=%llu "
           "status_5xx=%llu status_other=%llu bytes=%llu concurrency=%d "
           "client_cpu_s=%.3f\n",
           (unsigned long long) t.requests, window, rps, mean, p50, p90, p99,
           p999, mx, (unsigned long long) t.errors,
           (unsigned long long) t.connect_errors,
           (unsigned long long) t.io_errors, (unsigned long long) t.timeouts,
           (unsigned long long) t.empty, (unsigned long long) t.status[1],
           (unsigned long long) t.status[2], (unsigned long long) t.status[3],
           (unsigned long long) t.status[4], (unsigned long long) t.status[5],
           (unsigned long long) t.status[0], (unsigned long long) t.bytes, conc,
           client_cpu);
    printf("# %s %s: %d conns, %.1f s: %llu requests, %.1f req/s; latency ms "
           "p50 %.3f p99 %.3f max %.3f; %llu errors; %llu non-2xx\n",
           argv[optind], argv[optind + 1], conc, window,
           (unsigned long long) t.requests, rps, p50, p99, mx,
           (unsigned long long) t.errors,
           (unsigned long long) (t.requests - t.status[2]));
    fflush(stdout);
    for (int i = 0; i < nthreads; i++) {
        free(w[i].lat);
        free(w[i].conns);
        free(w[i].scratch);
    }
    free(w);
    free(all);
    free(hdrs);
    free(body);
    free(g.req);
    return (t.requests > 0 && t.errors == 0 && t.status[2] == t.requests) ? 0 : 1;
}

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: scgiload [-c CONCURRENCY] [-d SECONDS] [-w WARMUP_SECONDS]\n"
        "                [-X METHOD] [-b BODYFILE] [-H 'Name: value']...\n"
        "                [-t THREADS] [-n MAX_REQUESTS] [-T TIMEOUT_S] ADDR PATH\n"
        "ADDR: unix:/path, HOST:PORT or [IPV6]:PORT. PATH may carry ?QUERY.\n"
        "Prints one key=value summary line and one '# ' human line; exit 0 when\n"
        "every request got a 2xx, 1 otherwise, 2 on bad usage.\n");
}

static int
parse_addr(const char *text)
{
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *) &g.addr;
        size_t n = strlen(text + 5);
        if (n == 0 || n >= sizeof(un->sun_path)) {
            fprintf(stderr, "scgiload: bad unix socket path \"%s\"\n", text + 5);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, text + 5, n + 1);
        g.addrlen = (socklen_t) sizeof(*un);
        return 0;
    }
    char host[256];
    const char *colon, *port;
    if (text[0] == '[') {
        const char *rb = strchr(text, ']');
        if (rb == NULL || rb[1] != ':' || (size_t) (rb - text - 1) >= sizeof(host))
            goto bad;
        memcpy(host, text + 1, (size_t) (rb - text - 1));
        host[rb - text - 1] = '\0';
        port = rb + 2;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || (size_t) (colon - text) >= sizeof(host))
            goto bad;
        memcpy(host, text, (size_t) (colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "scgiload: %s: %s\n", text, gai_strerror(rc));
        return -1;
    }
    memcpy(&g.addr, res->ai_addr, res->ai_addrlen);
    g.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
bad:
    fprintf(stderr, "scgiload: bad address \"%s\" (unix:/path, HOST:PORT)\n", text);
    return -1;
}

/* Append NAME\0VALUE\0 to buf; returns the new length, or 0 when full. */
static size_t
put_pair(char *buf, size_t cap, size_t len, const char *name, const char *val)
{
    size_t a = strlen(name) + 1, b = strlen(val) + 1;
    if (len + a + b > cap)
        return 0;
    memcpy(buf + len, name, a);
    memcpy(buf + len + a, val, b);
    return len + a + b;
}

/* The SCGI spec: "The first header must have the name CONTENT_LENGTH" and
 * "the request headers [are] a netstring": LEN ":" HEADERS ",". Built once. */
static int
build_request(const char *method, const char *path, const char **hdrs, size_t nh,
              const char *body, size_t blen)
{
    size_t cap = 65536, len = 0;
    char *h = malloc(cap), clen[32], docuri[4096], name[512];
    const char *q = strchr(path, '?');
    int have_host = 0;

    if (h == NULL)
        return -1;
    size_t plen = q ? (size_t) (q - path) : strlen(path);
    if (plen >= sizeof(docuri)) {
        fprintf(stderr, "scgiload: path too long\n");
        return -1;
    }
    memcpy(docuri, path, plen);
    docuri[plen] = '\0';
    snprintf(clen, sizeof(clen), "%zu", blen);
    len = put_pair(h, cap, len, "CONTENT_LENGTH", clen);
    len = put_pair(h, cap, len, "SCGI", "1");
    len = put_pair(h, cap, len, "REQUEST_METHOD", method);
    len = put_pair(h, cap, len, "REQUEST_URI", path);
    len = put_pair(h, cap, len, "DOCUMENT_URI", docuri);
    len = put_pair(h, cap, len, "QUERY_STRING", q ? q + 1 : "");
    len = put_pair(h, cap, len, "SERVER_NAME", "localhost");
    len = put_pair(h, cap, len, "SERVER_PORT", "80");
    len = put_pair(h, cap, len, "SERVER_PROTOCOL", "HTTP/1.1");
    len = put_pair(h, cap, len, "REMOTE_ADDR", "127.0.0.1");
    len = put_pair(h, cap, len, "REMOTE_PORT", "40000");
    for (size_t i = 0; i < nh && len != 0; i++) {
        const char *colon = strchr(hdrs[i], ':');
        size_t n = colon ? (size_t) (colon - hdrs[i]) : 0;
        if (n == 0 || n + 6 >= sizeof(name)) {
            fprintf(stderr, "scgiload: bad header \"%s\" (Name: value)\n", hdrs[i]);
            return -1;
        }
        const char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        size_t off = 0;
        if (!(n == 12 && strncasecmp(hdrs[i], "Content-Type", 12) == 0)) {
            memcpy(name, "HTTP_", 5);
            off = 5;
        }
        for (size_t j = 0; j < n; j++) {
            char ch = hdrs[i][j];
            name[off + j] = ch == '-' ? '_' : (char) toupper((unsigned char) ch);
        }
        name[off + n] = '\0';
        if (strcmp(name, "HTTP_HOST") == 0)
            have_host = 1;
        if (strcmp(name, "HTTP_CONTENT_LENGTH") == 0)
            continue;           /* CONTENT_LENGTH comes from -b */
        len = put_pair(h, cap, len, name, val);
    }
    if (len != 0 && !have_host)
        len = put_pair(h, cap, len, "HTTP_HOST", "localhost");
    if (len == 0) {
        fprintf(stderr, "scgiload: request header over %zu bytes\n", cap);
        return -1;
    }
    char pre[32];
    int pl = snprintf(pre, sizeof(pre), "%zu:", len);
    g.reqlen = (size_t) pl + len + 1 + blen;
    g.req = malloc(g.reqlen);
    if (g.req == NULL)
        return -1;
    memcpy(g.req, pre, (size_t) pl);
    memcpy(g.req + pl, h, len);
    g.req[(size_t) pl + len] = ',';
    if (blen)
        memcpy(g.req + pl + len + 1, body, blen);
    free(h);
    return 0;
}

static int
read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "scgiload: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    *len = (size_t) st.st_size;
    *out = malloc(*len ? *len : 1);
    if (*out == NULL || fread(*out, 1, *len, f) != *len) {
        fprintf(stderr, "scgiload: %s: short read\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static void *
worker_main(void *arg)
{
    worker_t *w = arg;
    struct epoll_event evs[256];

    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->conns = calloc((size_t) w->nconn, sizeof(*w->conns));
    w->scratch = malloc(READ_CHUNK);
    w->cap = 1 << 16;
    w->lat = malloc(w->cap * sizeof(*w->lat));
    if (w->ep < 0 || w->conns == NULL || w->scratch == NULL || w->lat == NULL) {
        fprintf(stderr, "scgiload: worker setup failed\n");
        exit(2);
    }
    uint64_t now = now_ns(), next_scan = now + NS / 10;
    for (int i = 0; i < w->nconn; i++) {
        w->conns[i].fd = -1;
        conn_start(w, &w->conns[i], now);
    }
    for (;;) {
        now = now_ns();
        if (now >= g.t_end)
            break;
        int idle = 0, live = 0, tmo;
        for (int i = 0; i < w->nconn; i++) {
            conn_t *c = &w->conns[i];
            if (c->state == ST_IDLE && c->retry_at <= now)
                conn_start(w, c, now);
            else if (c->state != ST_IDLE && now >= next_scan
                     && now - c->t0 > g.timeout_ns)
                conn_fail(w, c, now, FAIL_TIMEOUT);
            if (c->state != ST_IDLE || c->retry_at != UINT64_MAX)
                live = 1;
            if (c->state == ST_IDLE && c->retry_at != UINT64_MAX)
                idle = 1;
        }
        if (now >= next_scan)
            next_scan = now + NS / 10;
        if (!live)
            break;              /* -n reached: every slot has finished */
        uint64_t left = g.t_end - now;
        tmo = idle ? 1 : (int) (left / 1000000ull) + 1;
        if (tmo > 100)
            tmo = 100;
        int n = epoll_wait(w->ep, evs, 256, tmo);
        if (n < 0 && errno != EINTR)
            break;
        now = now_ns();
        for (int i = 0; i < n; i++)
            conn_event(w, evs[i].data.ptr, evs[i].events, now);
    }
    for (int i = 0; i < w->nconn; i++)
        if (w->conns[i].fd >= 0)
            close(w->conns[i].fd);
    close(w->ep);
    return NULL;
}

static int
in_window(uint64_t now)
{
    return now >= g.t_measure && now < g.t_end;
}

/* Starts a request on slot c: connect, and if the connect completes at once
 * (usual for unix sockets) write the request at once too. */
static void
conn_start(worker_t *w, conn_t *c, uint64_t now)
{
    if (g.max_requests > 0 && atomic_fetch_add(&g.started, 1) >= g.max_requests) {
        c->state = ST_IDLE;
        c->retry_at = UINT64_MAX;
        return;
    }
    c->t0 = now;
    c->hlen = 0;
    c->woff = 0;
    c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(w, c, now, FAIL_CONNECT);
        return;
    }
    struct epoll_event ev = { .data.ptr = c };
    if (connect(c->fd, (struct sockaddr *) &g.addr, g.addrlen) != 0) {
        if (errno != EINPROGRESS) {
            conn_fail(w, c, now, FAIL_CONNECT);
            return;
        }
        c->state = ST_CONNECTING;
        ev.events = EPOLLOUT;
        epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
        return;
    }
    ssize_t r = write(c->fd, g.req, g.reqlen);
    if (r < 0 && errno != EAGAIN) {
        conn_fail(w, c, now, FAIL_IO);
        return;
    }
    c->woff = r > 0 ? (size_t) r : 0;
    c->state = c->woff == g.reqlen ? ST_READING : ST_WRITING;
    ev.events = c->state == ST_READING ? EPOLLIN : EPOLLOUT;
    epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
conn_event(worker_t *w, conn_t *c, uint32_t ev, uint64_t now)
{
    if (c->fd < 0)
        return;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            conn_fail(w, c, now, FAIL_CONNECT);
            return;
        }
        c->state = ST_WRITING;
    }
    if (c->state == ST_WRITING) {
        ssize_t r = write(c->fd, g.req + c->woff, g.reqlen - c->woff);
        if (r < 0) {
            if (errno != EAGAIN)
                conn_fail(w, c, now, FAIL_IO);
            return;
        }
        c->woff += (size_t) r;
        if (c->woff < g.reqlen)
            return;
        c->state = ST_READING;
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
        return;                 /* the answer cannot be there yet */
    }
    if (c->state != ST_READING)
        return;
    (void) ev;
    for (;;) {
        ssize_t r = read(c->fd, w->scratch, READ_CHUNK);
        if (r > 0) {
            if (c->hlen < HEAD_MAX) {
                size_t k = (size_t) r < HEAD_MAX - c->hlen ? (size_t) r : HEAD_MAX - c->hlen;
                memcpy(c->head + c->hlen, w->scratch, k);
                c->hlen += k;
            }
            if (in_window(now))
                w->n.bytes += (uint64_t) r;
            continue;
        }
        if (r == 0) {
            conn_done(w, c, now_ns());
            return;
        }
        if (errno == EAGAIN || errno == EINTR)
            return;
        conn_fail(w, c, now, FAIL_IO);
        return;
    }
}

static void
conn_done(worker_t *w, conn_t *c, uint64_t now)
{
    close(c->fd);
    c->fd = -1;
    if (c->hlen == 0) {
        conn_fail(w, c, now, FAIL_EMPTY);
        return;
    }
    if (in_window(now)) {
        if (w->nlat == w->cap) {
            uint64_t *n = realloc(w->lat, 2 * w->cap * sizeof(*n));
            if (n == NULL) {
                fprintf(stderr, "scgiload: out of memory\n");
                exit(2);
            }
            w->lat = n;
            w->cap *= 2;
        }
        w->lat[w->nlat++] = now - c->t0;
        w->n.requests++;
        int s = parse_status(c->head, c->hlen);
        w->n.status[(s >= 100 && s <= 599) ? s / 100 : 0]++;
    }
    conn_start(w, c, now);
}

static void
conn_fail(worker_t *w, conn_t *c, uint64_t now, int kind)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = ST_IDLE;
    c->retry_at = now + RETRY_NS;
    if (!in_window(now))
        return;
    w->n.errors++;
    switch (kind) {
    case FAIL_CONNECT: w->n.connect_errors++; break;
    case FAIL_IO: w->n.io_errors++; break;
    case FAIL_TIMEOUT: w->n.timeouts++; break;
    default: w->n.empty++; break;
    }
}

/* CGI-style "Status: NNN reason" anywhere in the head (subwsgi, RFC 3875
 * section 6.3.3), or an "HTTP/1.x NNN" first line (uWSGI's SCGI answers). */
static int
parse_status(const char *h, size_t len)
{
    if (len >= 12 && strncmp(h, "HTTP/", 5) == 0) {
        const char *sp = memchr(h, ' ', len);
        if (sp && (size_t) (sp - h) + 4 <= len && isdigit((unsigned char) sp[1]))
            return atoi(sp + 1);
        return 0;
    }
    size_t i = 0;
    while (i < len) {
        const char *line = h + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t ll = nl ? (size_t) (nl - line) : len - i;
        if (ll == 0 || (ll == 1 && line[0] == '\r'))
            break;              /* end of the head */
        if (ll > 7 && strncasecmp(line, "Status:", 7) == 0) {
            const char *p = line + 7;
            while (p < line + ll && (*p == ' ' || *p == '\t'))
                p++;
            return atoi(p);
        }
        i += ll + 1;
    }
    return 0;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * NS + (uint64_t) ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in ms. */
static double
pct_ms(const uint64_t *s, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t r = (size_t) ((p / 100.0) * (double) n + 0.999999);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return (double) s[r - 1] / 1e6;
}

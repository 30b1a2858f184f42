/* test_edge_io.c: the I/O thread at the edges (issue 11): running out of
 * file descriptors (no busy loop, no log flood, serving again after),
 * slow uploads (bodies buffered before queuing, so they hold no worker),
 * unread bodies (drained, not reset: nginx answers 200, not 502) and
 * bodies cut short by the client (a client abort, not an app 500).
 * App: tests/apps/edge_io.py. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

TestSuite(edge_io, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* printf %s TOKEN | sha256sum */
#define ROOT "root-token-ZYXWVUTSRQ"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

typedef struct {
    h_server_t *srv;
    char *dir;
    char *addr;
    int port;
    int admin_port;
    char *hits;      /* SW_TEST_HITS: the paths that reached Python */
} bench_t;

/* A server with the edge app at "/" (threads, and extra [app] lines). */
static bench_t start(int threads, const char *server_extra, const char *app_extra)
{
    bench_t b;
    b.port = h_free_port();
    b.admin_port = h_free_port();
    b.srv = h_server_at(b.port,
                        h_fmt("admin = 127.0.0.1:%d\n"
                              "%s"
                              "\n"
                              "[user:root]\n"
                              "token-sha256 = " ROOT_SHA "\n"
                              "role = admin\n"
                              "\n"
                              "[app:edge]\n"
                              "wsgi = %s\n"
                              "mount = /\n"
                              "threads = %d\n"
                              "%s",
                              b.admin_port, server_extra ? server_extra : "",
                              h_app("edge_io.py"), threads, app_extra ? app_extra : ""),
                        &b.hits);
    b.dir = b.srv->dir;
    b.addr = b.srv->scgi;
    return b;
}

/* ---- raw client sockets --------------------------------------------------- */

static int tcp_connect(int port)
{
    int fd = h_tcp_connect(port);
    cr_assert(fd >= 0, "connect to port %d: %s", port, strerror(errno));
    return fd;
}

/* An SCGI POST of uri with body_len bytes of body (built, not sent). */
static char *build_post(const char *uri, const char *body, size_t body_len, size_t *len)
{
    const char *kv[] = {"REQUEST_METHOD", "POST", "REQUEST_URI", uri,
                        "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                        "SERVER_PROTOCOL", "HTTP/1.1"};
    return h_scgi_build(kv, 5, body, body_len, len);
}

static char *pattern_body(size_t len, unsigned long *sum)
{
    char *body = malloc(len);
    unsigned long s = 0;
    for (size_t i = 0; i < len; i++) {
        body[i] = (char)('a' + i % 23);
        s = (s + (unsigned char)body[i]) & 0xffffffffUL;
    }
    *sum = s;
    return body;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* CPU seconds (user + system) the process used so far, from /proc. */
static double cpu_seconds(long pid)
{
    char *text = h_read_file(h_fmt("/proc/%ld/stat", pid), NULL);
    cr_assert_not_null(text, "cannot read /proc/%ld/stat", pid);
    /* Field 2 (comm) may hold spaces: count from its closing parenthesis. */
    char *p = strrchr(text, ')');
    unsigned long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14)
            ut = strtoul(tok, NULL, 10);
        else if (field == 15) {
            st = strtoul(tok, NULL, 10);
            break;
        }
    }
    free(text);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static json_t *app_requests(const bench_t *b)
{
    json_t *j = NULL;
    int st = h_admin_call(b->admin_port, ROOT, "GET", "/v1/apps/edge", &j, H_IO_TIMEOUT);
    cr_assert_eq(st, 200, "GET /v1/apps/edge: %d", st);
    json_t *req = json_object_get(j, "requests");
    cr_assert(json_is_object(req), "no requests object in the app's status");
    json_incref(req);
    json_decref(j);
    return req;
}

static long counter(json_t *req, const char *name)
{
    json_t *v = json_object_get(req, name);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* ---- item 2: EMFILE ------------------------------------------------------- */

#define FD_LIMIT 64
#define N_HOGS 120   /* connections held open: more than the server's fds */

Test(edge_io, out_of_fds_backs_off_and_recovers)
{
    h_spawn_fd_limit(FD_LIMIT);
    bench_t b = start(1, "header-timeout = 30\n", NULL);
    h_spawn_fd_limit(0);
    cr_assert_str_eq(h_status_body(b.addr, "/hello"), "200 hello");

    /* Connections that send nothing: the server holds each until its
     * header timeout, and the rest wait in the listen backlog. */
    int hogs[N_HOGS];
    for (int i = 0; i < N_HOGS; i++)
        hogs[i] = tcp_connect(b.port);
    h_nap(0.5);   /* the server runs out of fds */
    long log0 = file_size(b.srv->log);
    double cpu0 = cpu_seconds(b.srv->proc->pid), t0 = h_now();
    h_nap(3.0);
    double cpu = cpu_seconds(b.srv->proc->pid) - cpu0, wall = h_now() - t0;
    long grown = file_size(b.srv->log) - log0;
    char *log = h_log(b.srv);
    int saw_emfile = strstr(log, "Too many open files") != NULL;
    free(log);
    for (int i = 0; i < N_HOGS; i++)
        close(hogs[i]);

    cr_log_info("out of fds: %.2f CPU s in %.2f s (%.0f%% of a core), error log +%ld bytes "
                "(%.0f bytes/min)", cpu, wall, 100 * cpu / wall, grown, grown * 60 / wall);
    cr_expect(saw_emfile, "the server never ran out of fds (it should, with %d of them "
              "and %d clients):\n%s", FD_LIMIT, N_HOGS, h_log_tail(b.srv));
    /* A busy loop burns a whole core and writes megabytes a second. */
    cr_expect(cpu < 0.3 * wall, "out of fds: the server used %.2f CPU seconds in %.2f s",
              cpu, wall);
    cr_expect(grown < 16384, "out of fds: the error log grew by %ld bytes in %.2f s:\n%s",
              grown, wall, h_log_tail(b.srv));

    /* It serves again once the clients are gone. */
    double deadline = h_now() + 10;
    char *got = NULL;
    while (h_now() < deadline) {
        sw_scgi_response_t r;
        char err[256];
        if (h_request_try(b.addr, "GET", "/hello", NULL, 0, NULL, 0, 5, &r, err,
                          sizeof err) == 0) {
            got = h_fmt("%d %.*s", r.status, (int)r.body_len, r.body);
            sw_scgi_response_free(&r);
            if (strcmp(got, "200 hello") == 0)
                break;
        }
        h_nap(0.1);
    }
    cr_expect(got && strcmp(got, "200 hello") == 0,
              "no 200 after the clients went (last: %s):\n%s", got ? got : "(none)",
              h_log_tail(b.srv));
    h_server_stop_clean(b.srv);
}

/* ---- item 4: slow uploads ------------------------------------------------- */

#define SLOW_BODY (200 * 1024)
#define SLOW_SECONDS 4.0

typedef struct {
    int port;
    char *req;
    size_t len, body_len;
    char answer[128];
    atomic_int done;
} trickle_t;

/* Sends the header at once, then the body in pieces over SLOW_SECONDS,
 * then reads the answer. */
static void *trickle(void *arg)
{
    trickle_t *t = arg;
    int fd = h_tcp_connect(t->port);
    if (fd < 0) {
        snprintf(t->answer, sizeof t->answer, "connect failed");
        atomic_store(&t->done, 1);
        return NULL;
    }
    size_t head = t->len - t->body_len, off = 0;
    int pieces = 40;
    size_t piece = t->body_len / (size_t)pieces + 1;
    int rc = h_send_all(fd, t->req, head);
    for (int i = 0; rc == 0 && off < t->body_len; i++) {
        size_t n = t->body_len - off < piece ? t->body_len - off : piece;
        rc = h_send_all(fd, t->req + head + off, n);
        off += n;
        h_nap(SLOW_SECONDS / pieces);
    }
    size_t got;
    char *resp = h_read_all(fd, 30, &got, NULL);
    char *body = strstr(resp, "\r\n\r\n");
    snprintf(t->answer, sizeof t->answer, "%s", body ? body + 4 : "(no response)");
    free(resp);
    close(fd);
    atomic_store(&t->done, 1);
    return NULL;
}

static void slow_uploads(const char *app_extra)
{
    bench_t b = start(2, NULL, app_extra);
    unsigned long sum;
    char *body = pattern_body(SLOW_BODY, &sum);
    trickle_t t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        t[i] = (trickle_t){.port = b.port, .body_len = SLOW_BODY};
        t[i].req = build_post("/len", body, SLOW_BODY, &t[i].len);
        atomic_init(&t[i].done, 0);
        pthread_create(&th[i], NULL, trickle, &t[i]);
    }
    free(body);
    h_nap(0.5);   /* both uploads under way */
    double worst = 0;
    int n = 0, failed = 0;
    char failure[256] = "";
    while (!atomic_load(&t[0].done) && !atomic_load(&t[1].done) && n < 50) {
        double t0 = h_now();
        sw_scgi_response_t r;
        char err[200];
        if (h_request_try(b.addr, "GET", "/hello", NULL, 0, NULL, 0, 10, &r, err,
                          sizeof err) != 0) {
            failed++;
            snprintf(failure, sizeof failure, "%s", err);
        } else {
            if (r.status != 200) {
                failed++;
                snprintf(failure, sizeof failure, "status %d", r.status);
            }
            sw_scgi_response_free(&r);
        }
        double dt = h_now() - t0;
        if (dt > worst)
            worst = dt;
        n++;
        h_nap(0.05);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        free(t[i].req);
    }
    cr_log_info("slow uploads: %d GET /hello meanwhile, the slowest took %.1f ms", n,
                worst * 1000);
    cr_expect(n >= 5, "only %d GET /hello during the uploads (the slowest: %.2f s)", n,
              worst);
    cr_expect_eq(failed, 0, "%d GET /hello failed during the uploads: %s", failed, failure);
    cr_expect(worst < 0.1, "a GET /hello took %.0f ms while two uploads trickled",
              worst * 1000);
    char *want = h_fmt("%d %lu", SLOW_BODY, sum);
    for (int i = 0; i < 2; i++)
        cr_expect_str_eq(t[i].answer, want, "upload %d: the app saw \"%s\", not \"%s\"", i,
                         t[i].answer, want);
    h_server_stop_clean(b.srv);
}

Test(edge_io, slow_uploads_do_not_hold_workers)
{
    slow_uploads(NULL);
}

/* A body over body-buffer-size goes to a temporary file: the app still
 * reads every byte, in order, and the file is gone afterwards. */
Test(edge_io, large_body_is_buffered_in_a_file)
{
    bench_t b = start(1, "body-buffer-size = 16384\nbody-temp-dir = /tmp\n", NULL);
    unsigned long sum;
    size_t len = 3 * 1024 * 1024 + 17;
    char *body = pattern_body(len, &sum);
    sw_scgi_response_t r;
    h_request(b.addr, "POST", "/len", NULL, 0, body, len, &r);
    free(body);
    cr_expect_eq(r.status, 200);
    char *got = h_fmt("%.*s", (int)r.body_len, r.body);
    cr_expect_str_eq(got, h_fmt("%zu %lu", len, sum));
    sw_scgi_response_free(&r);
    /* A small body stays in memory and is served the same. */
    h_request(b.addr, "POST", "/len", NULL, 0, "abc", 3, &r);
    got = h_fmt("%.*s", (int)r.body_len, r.body);
    cr_expect_str_eq(got, "3 294");
    sw_scgi_response_free(&r);
    /* The server holds no temporary file after the requests. */
    char *listing = NULL;
    h_proc_fds(b.srv->proc->pid, NULL, &listing);
    cr_expect(listing && !strstr(listing, "/tmp/#") && !strstr(listing, "(deleted)"),
              "a temporary body file is still open:\n%s", listing ? listing : "");
    h_server_stop_clean(b.srv);
}

/* ---- item 5: unread bodies through nginx ---------------------------------- */

static void require_nginx(void)
{
    const char *ng = h_nginx();
    if (*ng == '\0' || access(ng, X_OK) != 0)
        cr_skip_test("nginx is not installed");
}

#define UNREAD_BODY (5 * 1024 * 1024)

static void unread_through_nginx(const char *app_extra)
{
    require_nginx();
    bench_t b = start(2, NULL, app_extra);
    int port = h_free_port();
    char *server = h_fmt("server {\n"
                         "    listen 127.0.0.1:%d;\n"
                         "    client_max_body_size 64m;\n"
                         "    location / { include /etc/nginx/scgi_params; scgi_pass %s; }\n"
                         "}\n",
                         port, b.addr);
    h_nginx_t ng = h_nginx_start(server, port);
    char *body = malloc(UNREAD_BODY);
    memset(body, 'x', UNREAD_BODY);
    int ok = 0;
    char statuses[128] = "";
    for (int i = 0; i < 10; i++) {
        h_http_resp_t r;
        char err[256] = "";
        int rc = h_http(port, "POST", "/ignore", NULL, 0, body, UNREAD_BODY, H_IO_TIMEOUT,
                        &r, err, sizeof err);
        int st = rc == 0 ? r.status : -1;
        if (st == 200)
            ok++;
        snprintf(statuses + strlen(statuses), sizeof statuses - strlen(statuses), " %d", st);
        if (rc == 0)
            h_http_free(&r);
    }
    free(body);
    cr_log_info("unread 5 MB POSTs through nginx: %d/10 answered 200", ok);
    cr_expect_eq(ok, 10, "unread 5 MB POSTs through nginx: %d/10 answered 200 (statuses:%s)"
                 "\nnginx log:\n%s", ok, statuses, h_nginx_log(&ng));
    h_server_stop_clean(b.srv);
}

Test(edge_io, unread_body_through_nginx_is_200)
{
    unread_through_nginx(NULL);
}

Test(edge_io, unread_body_through_nginx_is_200_when_streaming)
{
    unread_through_nginx("request-buffering = off\n");
}

/* ---- item 13: a body shorter than CONTENT_LENGTH --------------------------- */

static void short_body(const char *app_extra, int app_called, int check_traceback)
{
    bench_t b = start(1, NULL, app_extra);
    unsigned long sum;
    size_t len = 200 * 1024, sent = 100 * 1024, reqlen;
    char *body = pattern_body(len, &sum);
    char *req = build_post("/len", body, len, &reqlen);
    free(body);
    int fd = tcp_connect(b.port);
    cr_assert_eq(h_send_all(fd, req, reqlen - len + sent), 0);
    free(req);
    h_nap(0.3);
    close(fd);   /* the client is gone */

    if (check_traceback) {
        cr_expect(h_log_wait(b.srv, "client abort", 10),
                  "no client abort logged:\n%s", h_log_tail(b.srv));
        h_nap(0.3);
        char *log = h_log(b.srv);
        cr_expect(strstr(log, "Traceback") == NULL, "a short body logged a traceback:\n%s",
                  log);
        free(log);
    } else {
        cr_expect(h_log_wait(b.srv, "POST /len", 10), "the request was not logged:\n%s",
                  h_log_tail(b.srv));
    }
    json_t *req_counts = app_requests(&b);
    cr_expect_eq(counter(req_counts, "status_5xx"), 0, "a short body counted as a 5xx");
    cr_expect_eq(counter(req_counts, "client_aborts"), 1, "client_aborts: %ld",
                 counter(req_counts, "client_aborts"));
    json_decref(req_counts);
    char *hits = h_read_file(b.hits, NULL);
    int called = hits && strstr(hits, "/len") != NULL;
    free(hits);
    cr_expect_eq(called, app_called, "the app was%s called for a body cut short",
                 called ? "" : " not");
    /* And it still serves. */
    cr_expect_str_eq(h_status_body(b.addr, "/hello"), "200 hello");
    h_server_stop_clean(b.srv);
}

Test(edge_io, short_body_is_a_client_abort)
{
    short_body(NULL, 0, 1);
}

/* Streamed, the app meets the short body itself (an OSError from
 * wsgi.input); the request is still a client abort: counted apart, one
 * line, no traceback, no 500 written to nobody. */
Test(edge_io, short_streamed_body_is_counted_as_a_client_abort)
{
    short_body("request-buffering = off\n", 1, 1);
}

/* test_reqctx.c: a request's data reaches only its own connection (DESIGN
 * section 7, issue 10 defect 3): an app thread that keeps a request's
 * `write` callable or `wsgi.input` after the request ended gets OSError and
 * never writes to, or reads from, the next clients' connections, which
 * reuse the fd number; the first client sees its response end when the
 * request ends, not when the thread lets go. App: tests/apps/outlive.py. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(reqctx, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define N_OTHERS 4   /* next clients: one of them gets the freed fd number */
#define THREADS 2    /* the app's workers: fewer than N_OTHERS */

typedef struct {
    h_server_t *srv;
    char *addr;
    int port;
    char *dir;       /* the server's */
    char *results;   /* where the app records what its threads saw */
} bench_t;

static bench_t start_ex(const char *app_extra)
{
    bench_t b;
    b.dir = h_tmpdir();
    b.results = h_tmpdir();
    b.port = h_free_port();
    b.addr = h_fmt("127.0.0.1:%d", b.port);
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "admin = off\n"
                      "header-timeout = 60\n"   /* the next clients wait */
                      "\n"
                      "[app:outlive]\n"
                      "wsgi = %s\n"
                      "mount = /\n"
                      "threads = %d\n"
                      "%s",
                      b.addr, h_app("outlive.py"), THREADS, app_extra);
    b.srv = h_server_config(b.dir, b.addr, ini, NULL);
    return b;
}

static bench_t start(void)
{
    return start_ex("");
}

/* ---- raw client sockets --------------------------------------------------- */

static int tcp_connect(int port)
{
    int fd = h_tcp_connect(port);
    cr_assert(fd >= 0, "connect: %s", strerror(errno));
    return fd;
}

static void send_all(int fd, const char *p, size_t len)
{
    cr_assert_eq(h_send_all(fd, p, len), 0, "send: %s", strerror(errno));
}

/* An SCGI request for POST uri with body (CONTENT_LENGTH = body_len). */
static char *build(const char *uri, const char *query, const void *body, size_t body_len,
                   size_t *len)
{
    const char *kv[] = {"REQUEST_METHOD", "POST", "REQUEST_URI", uri,
                        "QUERY_STRING", query, "SERVER_NAME", "localhost",
                        "SERVER_PORT", "80", "SERVER_PROTOCOL", "HTTP/1.1"};
    return h_scgi_build(kv, 6, body, body_len, len);
}

/* The next clients. Each connects and sends the first bytes of its
 * request only (others_connect), so the server holds their connections
 * open while the test lets the old request's thread loose; or each sends
 * its whole request at once, and its app waits inside the request until
 * the test says go (others_send_held): every worker then serves one of
 * them, which a server that kept a finished request's context on the
 * worker's stack would hand to the old request's thread as its own. */
typedef struct {
    int fd;
    char *req;
    size_t len, sent;
    char body[32];
} other_t;

static void others_connect(bench_t *b, other_t *o)
{
    for (int i = 0; i < N_OTHERS; i++) {
        snprintf(o[i].body, sizeof o[i].body, "B%d's own body", i);
        o[i].req = build("/echo", "", o[i].body, strlen(o[i].body), &o[i].len);
        o[i].fd = tcp_connect(b->port);
        o[i].sent = 8;
        send_all(o[i].fd, o[i].req, o[i].sent);
    }
    h_nap(0.3);   /* accepted by the server */
}

static void others_send_held(bench_t *b, other_t *o, int workers)
{
    for (int i = 0; i < N_OTHERS; i++) {
        snprintf(o[i].body, sizeof o[i].body, "B%d's own body", i);
        o[i].req = build("/echo", h_fmt("hold=%s&name=B%d", b->results, i), o[i].body,
                         strlen(o[i].body), &o[i].len);
        o[i].fd = tcp_connect(b->port);
        o[i].sent = o[i].len;
        send_all(o[i].fd, o[i].req, o[i].len);
    }
    /* Every worker is inside one of these requests. */
    int held = 0;
    for (double until = h_now() + 10; held < workers && h_now() < until; h_nap(0.02)) {
        held = 0;
        for (int i = 0; i < N_OTHERS; i++)
            held += access(h_fmt("%s/B%d.held", b->results, i), F_OK) == 0;
    }
    cr_assert_geq(held, workers, "only %d of %d workers took a next client's request\n%s",
                  held, workers, h_log_tail(b->srv));
}

/* Sends the rest of each request; each must get exactly its own answer,
 * within a deadline: the status line first, its own body, nothing of
 * anyone else's. */
static void others_check(other_t *o)
{
    for (int i = 0; i < N_OTHERS; i++) {
        if (o[i].sent < o[i].len)
            send_all(o[i].fd, o[i].req + o[i].sent, o[i].len - o[i].sent);
        size_t len;
        int eof;
        char *got = h_read_all(o[i].fd, 5, &len, &eof);
        cr_expect(strncmp(got, "Status: 200 OK\r\n", 16) == 0,
                  "client B%d: its response does not start with its status line; "
                  "%zu bytes, starting \"%.80s\"", i, len, got);
        cr_expect(memchr(got, 'X', len) == NULL,
                  "client B%d received the other request's body bytes (%zu bytes "
                  "in all)", i, len);
        char *end = strstr(got, "\r\n\r\n");
        cr_expect(end && strcmp(end + 4, o[i].body) == 0,
                  "client B%d: body \"%.80s\", want \"%s\"", i, end ? end + 4 : "",
                  o[i].body);
        cr_expect(eof, "client B%d: no end of response", i);
        free(got);
        free(o[i].req);
        close(o[i].fd);
    }
}

static char *wait_result(const char *path, double timeout)
{
    if (!h_wait_file(path, timeout))
        return NULL;
    size_t len;
    return h_read_file(path, &len);
}

/* ---- tests ------------------------------------------------------------------ */

/* Client A's request: the app's thread blocks in write() (A reads
 * nothing), the app returns (or raises, with fail: a truncated response).
 * Then other clients connect, A reads: A must see its response end (a
 * reset when truncated), the thread's write must raise OSError, the others
 * must get only their own responses. */
static void write_kept(int fail)
{
    bench_t b = start();
    char *query = h_fmt("dir=%s%s", b.results, fail ? "&fail=1" : "");
    size_t len;
    char *req = build("/keep_write", query, "", 0, &len);
    int a = tcp_connect(b.port);
    send_all(a, req, len);
    free(req);
    cr_assert(h_wait_file(h_fmt("%s/returned", b.results), 20),
              "the app did not return; log:\n%s", h_log_tail(b.srv));
    h_nap(0.3);   /* the worker ends the request */

    other_t o[N_OTHERS];
    others_send_held(&b, o, THREADS);

    /* A reads now: that frees room, so a thread still sending on A's old
     * fd number, or with A's old context, would go on; A must see the end
     * of its response. */
    int eof;
    char *got = h_read_all(a, 5, &len, &eof);
    cr_expect(eof, "client A: no end of its response within 5 s (%zu bytes)", len);
    if (fail)
        cr_expect(eof == 2, "client A: a truncated response must end with a reset, "
                  "not a FIN (%zu bytes)", len);
    cr_expect(len == 0 || strncmp(got, "Status: 200 OK\r\n", 16) == 0,
              "client A got \"%.80s\"", got);
    free(got);
    close(a);

    char *res = wait_result(h_fmt("%s/write.result", b.results), 5);
    cr_expect(res != NULL, "the app's thread recorded nothing; log:\n%s", h_log_tail(b.srv));
    h_write_file(h_fmt("%s/go", b.results), "", 0);   /* the next clients' apps answer */
    others_check(o);
    if (res)
        cr_expect(strncmp(res, "OSError=1 ", 10) == 0,
                  "write() after the request ended: want OSError, got \"%s\"", res);
    free(res);
    h_wait_file(h_fmt("%s/write.done", b.results), 20);
    h_server_stop_clean(b.srv);
}

Test(reqctx, write_kept_by_a_thread_reaches_no_other_client)
{
    write_kept(0);
}

Test(reqctx, truncated_response_with_write_kept_is_reset_at_once)
{
    write_kept(1);
}

Test(reqctx, input_kept_by_a_thread_reads_no_other_body)
{
    /* Streamed (not buffered before queuing), so that the thread blocks
     * reading the socket. */
    bench_t b = start_ex("request-buffering = off\n");
    char *query = h_fmt("dir=%s", b.results);
    /* A body far larger than what the server reads ahead (64 KiB), of which
     * client A sends only the first 100 KiB: the thread blocks in read(). */
    size_t body_len = 1 << 20, sent_body = 100 << 10, len;
    char *body = malloc(body_len);
    memset(body, 'a', body_len);
    char *req = build("/keep_input", query, body, body_len, &len);
    free(body);
    int a = tcp_connect(b.port);
    send_all(a, req, len - body_len + sent_body);
    free(req);

    /* The request ends (the app answers at once): A must see its
     * response end then, although the thread still holds wsgi.input. */
    int eof;
    char *got = h_read_all(a, 5, &len, &eof);
    cr_expect(eof, "client A: no end of its response within 5 s (got \"%.200s\")", got);
    char *end = strstr(got, "\r\n\r\n");
    cr_expect(end && strcmp(end + 4, "A answered") == 0, "client A got \"%.200s\"", got);
    free(got);

    other_t o[N_OTHERS];
    others_connect(&b, o);
    /* A hangs up: a thread still waiting on A's old fd number wakes up. */
    close(a);

    char *res = wait_result(h_fmt("%s/input.result", b.results), 5);
    cr_expect(res != NULL, "the app's thread recorded nothing; log:\n%s", h_log_tail(b.srv));
    if (res) {
        cr_expect(strstr(res, "FOREIGN=1") == NULL,
                  "wsgi.input read another client's bytes: %s", res);
        cr_expect(strncmp(res, "OSError=1 ", 10) == 0,
                  "wsgi.input.read() after the request ended: want OSError, got \"%s\"",
                  res);
    }
    free(res);
    others_check(o);
    h_wait_file(h_fmt("%s/input.done", b.results), 20);
    h_server_stop_clean(b.srv);
}

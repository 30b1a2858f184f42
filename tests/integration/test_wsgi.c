/* test_wsgi.c: PEP 3333 behaviour end to end: wsgiref.validate on GET and
 * POST bodies, large streamed responses and request bodies byte-exact, app
 * errors (before and after headers, bad headers), close(), write(),
 * exc_info, wsgi.file_wrapper, wsgi.errors, the environ and url_scheme. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(wsgi, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define KV(a) (a), (sizeof(a) / sizeof((a)[0]) / 2)

typedef struct {
    h_server_t *srv;
    char *addr;
    char *dir;
} bench_t;

/* wsgi_suite.py as [app:suite] at the root, envecho.py as [app:env] at
 * /env with environ = entries. */
static bench_t start(void)
{
    bench_t b;
    b.dir = h_tmpdir();
    b.addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "admin = off\n"
                      "\n"
                      "[app:suite]\n"
                      "wsgi = %s\n"
                      "mount = /\n"
                      "threads = 2\n"
                      "\n"
                      "[app:env]\n"
                      "wsgi = %s\n"
                      "mount = /env\n"
                      "environ = SW_FOO=bar\n"
                      "environ = SW_SPACES = hello world\n"
                      "environ = SW_EQ=a=b\n",
                      b.addr, h_app("wsgi_suite.py"), h_app("envecho.py"));
    b.srv = h_server_config(b.dir, b.addr, ini, NULL);
    return b;
}

static void post(bench_t *b, const char *uri, const void *body, size_t len,
                 sw_scgi_response_t *r)
{
    const char *hdr[] = {"Content-Type: application/octet-stream"};
    h_request(b->addr, "POST", uri, hdr, 1, body, len, r);
}

static void expect_echo(const sw_scgi_response_t *r, const char *what,
                        const char *body, size_t len)
{
    cr_expect_eq(r->status, 200, "%s: status %d; response:\n%.2000s", what,
                 r->status, r->raw);
    cr_expect(r->body_len == len && memcmp(r->body, body, len) == 0,
              "%s: echoed %zu bytes, sent %zu; got \"%.200s\", want "
              "\"%.200s\"", what, r->body_len, len, r->body, body);
}

/* A multi-line body of about n bytes, with CRLF and LF lines and no final
 * newline (malloc'd). */
static char *lines_body(size_t n, size_t *len)
{
    char *s = malloc(n + 64);
    size_t o = 0;
    for (int i = 0; o < n; i++)
        o += (size_t)sprintf(s + o, i % 3 ? "line %d of the body\n"
                                          : "crlf line %d\r\n", i);
    o += (size_t)sprintf(s + o, "last line without newline");
    *len = o;
    return s;
}

/* ---- wsgiref.validate --------------------------------------------------------- */

Test(wsgi, validator_get_and_post_reads)
{
    bench_t b = start();
    sw_scgi_response_t r;

    h_get(b.addr, "/v/get?x=1", &r);
    cr_expect_eq(r.status, 200, "GET /v/get: %d\n%s", r.status, r.raw);
    cr_expect_str_eq(r.body, "validated get\n");
    sw_scgi_response_free(&r);

    static const char small[] = "first line\nsecond line\r\n\nthird, no newline";
    size_t big_len;
    char *big = lines_body(200000, &big_len);
    static const char *const endpoints[] = {"/v/read", "/v/readline",
                                            "/v/iter", "/v/readlines"};
    for (size_t i = 0; i < 4; i++) {
        post(&b, endpoints[i], small, sizeof small - 1, &r);
        expect_echo(&r, h_fmt("POST %s (small)", endpoints[i]), small,
                    sizeof small - 1);
        sw_scgi_response_free(&r);
        post(&b, endpoints[i], big, big_len, &r);
        expect_echo(&r, h_fmt("POST %s (%zu bytes)", endpoints[i], big_len),
                    big, big_len);
        sw_scgi_response_free(&r);
        post(&b, endpoints[i], "", 0, &r);
        expect_echo(&r, h_fmt("POST %s (empty)", endpoints[i]), "", 0);
        sw_scgi_response_free(&r);
    }
    free(big);

    /* The validator reports violations as AssertionError (also from
     * __del__ when close() was not called): the log must have none. */
    h_server_stop_clean(b.srv);
    char *log = h_log(b.srv);
    cr_expect(strstr(log, "AssertionError") == NULL,
              "wsgiref.validate found a PEP 3333 violation; log:\n%s",
              h_log_tail(b.srv));
    cr_expect(strstr(log, "Traceback") == NULL, "a traceback was logged:\n%s",
              h_log_tail(b.srv));
    cr_expect(strstr(log, "WSGIWarning") == NULL,
              "wsgiref.validate warned about the environ:\n%s",
              h_log_tail(b.srv));
    free(log);
}

Test(wsgi, input_read_all_iter_readlines_and_bounds)
{
    bench_t b = start();
    sw_scgi_response_t r;
    size_t len;
    char *body = lines_body(100000, &len);

    static const char *const endpoints[] = {"/read_all", "/iter", "/readlines",
                                            "/echo"};
    for (size_t i = 0; i < 4; i++) {
        post(&b, endpoints[i], body, len, &r);
        expect_echo(&r, h_fmt("POST %s", endpoints[i]), body, len);
        sw_scgi_response_free(&r);
    }
    free(body);

    /* wsgi.input never reads past CONTENT_LENGTH, even when more bytes
     * follow on the connection. */
    const char *kv[] = {"REQUEST_METHOD", "POST", "REQUEST_URI", "/read_all",
                        "QUERY_STRING", "", "SERVER_NAME", "localhost",
                        "SERVER_PORT", "80", "SERVER_PROTOCOL", "HTTP/1.1"};
    size_t n;
    char *req = h_scgi_build(KV(kv), "hello", 5, &n);
    char *more = malloc(n + 16);
    memcpy(more, req, n);
    memcpy(more + n, "EXTRA-BYTES", 11);
    char err[256] = "";
    int rc = h_raw(b.addr, more, n + 11, 0, H_IO_TIMEOUT, &r, err, sizeof err);
    free(req);
    free(more);
    cr_assert_eq(rc, 0, "request failed: %s", err);
    expect_echo(&r, "read() with bytes past CONTENT_LENGTH", "hello", 5);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

/* Reads from fd into *buf (growing it) until pred says enough, EOF, an
 * error or timeout. Returns 1 on EOF/reset, 0 when pred was met, -1 on
 * timeout. */
static int read_until(int fd, char **buf, size_t *len, size_t *cap,
                      int (*pred)(const char *, size_t), double timeout)
{
    double end = h_now() + timeout;
    for (;;) {
        if (pred && pred(*buf, *len))
            return 0;
        double left = end - h_now();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return -1;
        if (*len + 65536 + 1 > *cap) {
            *cap = (*len + 65536 + 1) * 2;
            *buf = realloc(*buf, *cap);
        }
        ssize_t n = recv(fd, *buf + *len, *cap - *len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 1;
        *len += (size_t)n;
        (*buf)[*len] = '\0';
    }
}

/* wsgi.input "blocks only its own worker": while one request waits for the
 * rest of its body, the app's other thread (threads = 2) keeps serving. */
Test(wsgi, slow_body_blocks_only_its_worker)
{
    bench_t b = start();
    const size_t size = 1u << 20, first = 100000;
    char *body = malloc(size);
    for (size_t i = 0; i < size; i++)
        body[i] = (char)('a' + i % 26);
    const char *kv[] = {"REQUEST_METHOD", "POST", "REQUEST_URI", "/echo",
                        "DOCUMENT_URI", "/echo", "QUERY_STRING", "",
                        "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                        "SERVER_PROTOCOL", "HTTP/1.1"};
    size_t n;
    char *req = h_scgi_build(KV(kv), body, size, &n);
    size_t head = n - size;

    sw_addr_t a;
    char err[256] = "";
    cr_assert_eq(sw_addr_parse(b.addr, &a, err, sizeof err), 0, "%s", err);
    int fd = sw_addr_connect(&a, err, sizeof err);
    cr_assert(fd >= 0, "connect: %s", err);
    /* The header and the first part of the body only. */
    size_t off = 0;
    while (off < head + first) {
        ssize_t w = send(fd, req + off, head + first - off, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        off += (size_t)w;
    }

    /* Meanwhile other requests are served. */
    for (int i = 0; i < 3; i++) {
        sw_scgi_response_t r;
        int rc = h_request_try(b.addr, "GET", "/v/get", NULL, 0, NULL, 0, 15,
                               &r, err, sizeof err);
        cr_expect(rc == 0 && r.status == 200, "while a body is pending, GET "
                  "/v/get: rc %d status %d %s", rc, r.status, err);
        sw_scgi_response_free(&r);
    }

    /* The rest of the body: the echo is complete and exact. */
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        off += (size_t)w;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = read_until(fd, &buf, &len, &cap, NULL, 30);
    close(fd);
    cr_assert_eq(rc, 1, "the response did not end");
    const char *sep = buf ? strstr(buf, "\r\n\r\n") : NULL;
    cr_assert(sep, "no response head:\n%.300s", buf ? buf : "");
    size_t blen = len - (size_t)(sep + 4 - buf);
    cr_expect(blen == size && memcmp(sep + 4, body, size) == 0,
              "echo of the slowly sent body: %zu bytes, want %zu", blen, size);
    free(buf);
    free(req);
    free(body);
    h_server_stop_clean(b.srv);
}

/* ---- big transfers --------------------------------------------------------------- */

Test(wsgi, streamed_10mib_response_is_exact)
{
    bench_t b = start();
    sw_scgi_response_t r;
    const size_t size = 10u << 20;

    h_get(b.addr, h_fmt("/stream?size=%zu", size), &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_assert_eq(r.body_len, size, "got %zu bytes, want %zu", r.body_len,
                 size);
    size_t bad = size;
    for (size_t i = 0; i < size; i++)
        if ((unsigned char)r.body[i] != i % 251) {
            bad = i;
            break;
        }
    cr_expect_eq(bad, size, "first wrong byte at offset %zu", bad);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

Test(wsgi, post_5mib_body_is_exact)
{
    bench_t b = start();
    sw_scgi_response_t r;
    const size_t size = 5u << 20;
    char *body = malloc(size);
    for (size_t i = 0; i < size; i++)
        body[i] = (char)((i * 7 + (i >> 13)) & 0xff);

    post(&b, "/echo", body, size, &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_assert_eq(r.body_len, size, "echoed %zu bytes, sent %zu", r.body_len,
                 size);
    size_t bad = size;
    for (size_t i = 0; i < size; i++)
        if (r.body[i] != body[i]) {
            bad = i;
            break;
        }
    cr_expect_eq(bad, size, "first differing byte at offset %zu", bad);
    sw_scgi_response_free(&r);
    free(body);
    h_server_stop_clean(b.srv);
}

/* ---- app errors ---------------------------------------------------------------------- */

Test(wsgi, exception_before_response_is_500_and_logged)
{
    bench_t b = start();
    sw_scgi_response_t r;

    h_get(b.addr, "/raise", &r);
    cr_expect_eq(r.status, 500, "status %d; response:\n%s", r.status, r.raw);
    cr_expect(r.body_len < 1024 && strstr(r.body, "Traceback") == NULL,
              "the 500 should have a short body, not the traceback:\n%s",
              r.body);
    sw_scgi_response_free(&r);
    cr_expect(h_log_wait(b.srv, "ZeroDivisionError", 10),
              "no ZeroDivisionError in the log:\n%s", h_log_tail(b.srv));
    cr_expect(h_log_wait(b.srv, "Traceback", 1), "no traceback in the log:\n%s",
              h_log_tail(b.srv));
    cr_expect(h_log_wait(b.srv, "[suite]", 1),
              "error lines should carry the app name [suite]:\n%s",
              h_log_tail(b.srv));

    h_get(b.addr, "/v/get", &r);
    cr_expect_eq(r.status, 200, "the app still serves after an exception");
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

Test(wsgi, bad_header_is_500_and_logged)
{
    bench_t b = start();
    static const char *const kinds[] = {"crlf", "lf", "nul", "name", "colon",
                                        "latin1", "bytes"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char *before = h_log(b.srv);
        size_t n0 = h_count(before, "[suite]");
        free(before);

        sw_scgi_response_t r;
        h_get(b.addr, h_fmt("/badheader?kind=%s", kinds[i]), &r);
        cr_expect_eq(r.status, 500, "bad header (%s): status %d; response:\n%s",
                     kinds[i], r.status, r.raw);
        cr_expect(strstr(r.raw, "Injected") == NULL,
                  "bad header (%s) leaked into the response:\n%s", kinds[i],
                  r.raw);
        cr_expect(strstr(r.raw, "must not be sent") == NULL,
                  "bad header (%s): the app's body was sent:\n%s", kinds[i],
                  r.raw);
        sw_scgi_response_free(&r);

        double end = h_now() + 10;
        size_t n1 = n0;
        while (n1 <= n0 && h_now() < end) {
            char *after = h_log(b.srv);
            n1 = h_count(after, "[suite]");
            free(after);
            if (n1 <= n0)
                h_nap(0.02);
        }
        cr_expect(n1 > n0, "bad header (%s) was not logged under [suite]; "
                  "log:\n%s", kinds[i], h_log_tail(b.srv));
    }
    h_server_stop_clean(b.srv);
}

/* The head and the first 1000 body bytes have arrived. */
static int got_first_block(const char *buf, size_t len)
{
    const char *sep = buf ? strstr(buf, "\r\n\r\n") : NULL;
    return sep && len - (size_t)(sep + 4 - buf) >= 1000;
}

Test(wsgi, exception_after_headers_truncates)
{
    bench_t b = start();
    char *gate = h_fmt("%s/after-gate", b.dir);
    char *qs = h_fmt("gate=%s", gate);
    const char *kv[] = {"REQUEST_METHOD", "GET",
                        "REQUEST_URI", h_fmt("/after?%s", qs),
                        "DOCUMENT_URI", "/after", "QUERY_STRING", qs,
                        "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                        "SERVER_PROTOCOL", "HTTP/1.1"};
    size_t n;
    char *req = h_scgi_build(KV(kv), NULL, 0, &n);
    sw_addr_t a;
    char err[256] = "";
    cr_assert_eq(sw_addr_parse(b.addr, &a, err, sizeof err), 0, "%s", err);
    int fd = sw_addr_connect(&a, err, sizeof err);
    cr_assert(fd >= 0, "connect: %s", err);
    cr_assert_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    free(req);

    /* The app sends its head and a first block of 1000 bytes, then waits
     * for the gate before raising: read that block first. */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = read_until(fd, &buf, &len, &cap, got_first_block, 30);
    cr_assert_eq(rc, 0, "head and first block did not arrive (rc %d); got "
                 "%zu bytes:\n%.300s", rc, len, buf ? buf : "");
    cr_expect(strncmp(buf, "Status: 200", 11) == 0, "response:\n%.300s", buf);
    cr_expect(strstr(buf, "Content-Length: 100000") != NULL,
              "Content-Length missing:\n%.300s", buf);
    size_t head = (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf);

    /* Now the exception: the connection must end, without the rest. */
    h_write_file(gate, "", 0);
    rc = read_until(fd, &buf, &len, &cap, NULL, 30);
    close(fd);
    cr_expect_eq(rc, 1, "the connection was not closed after the exception");
    cr_expect_eq(len - head, 1000, "body should stop at the 1000 bytes sent "
                 "before the exception, got %zu", len - head);
    free(buf);
    cr_expect(h_log_wait(b.srv, "boom-after-headers", 10),
              "the exception after the headers was not logged:\n%s",
              h_log_tail(b.srv));

    sw_scgi_response_t r;
    h_get(b.addr, "/v/get", &r);
    cr_expect_eq(r.status, 200);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

/* ---- close(), write(), exc_info ------------------------------------------------------- */

Test(wsgi, close_is_always_called)
{
    bench_t b = start();
    static const struct {
        const char *mode, *body;
        int status;
    } cases[] = {
        {"ok", "first;second", 200},
        {"raise", NULL, 0},            /* error after the first block */
        {"early", NULL, 500},          /* error before any block */
    };
    for (size_t i = 0; i < 3; i++) {
        char *marker = h_fmt("%s/closed-%s", b.dir, cases[i].mode);
        sw_scgi_response_t r;
        h_get(b.addr, h_fmt("/close?marker=%s&mode=%s", marker, cases[i].mode),
              &r);
        /* After the first block the connection is aborted: the client
         * may or may not still read that block (a reset can discard it),
         * but it never gets a complete response. */
        if (cases[i].status)
            cr_expect_eq(r.status, cases[i].status, "mode %s: status %d:\n%s",
                         cases[i].mode, r.status, r.raw);
        else
            cr_expect(r.raw_len == 0 || (r.status == 200 &&
                                         strcmp(r.body, "first;") == 0),
                      "mode %s: want the first block or nothing, got:\n%s",
                      cases[i].mode, r.raw);
        if (cases[i].body)
            cr_expect_str_eq(r.body, cases[i].body, "mode %s: body",
                             cases[i].mode);
        sw_scgi_response_free(&r);
        cr_expect(h_wait_file(marker, 10), "mode %s: close() of the iterable "
                  "was not called; log:\n%s", cases[i].mode,
                  h_log_tail(b.srv));
    }
    h_server_stop_clean(b.srv);
}

Test(wsgi, write_callable)
{
    bench_t b = start();
    sw_scgi_response_t r;
    h_get(b.addr, "/write", &r);
    cr_expect_eq(r.status, 200, "status %d:\n%s", r.status, r.raw);
    cr_expect_str_eq(r.body, "written;returned");
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

Test(wsgi, exc_info_replaces_headers_before_sending)
{
    bench_t b = start();
    sw_scgi_response_t r;

    h_get(b.addr, "/excinfo", &r);
    cr_expect_eq(r.status, 500, "status %d:\n%s", r.status, r.raw);
    char *rep = h_header(&r, "X-Replaced");
    cr_expect(rep && strcmp(rep, "yes") == 0, "X-Replaced missing:\n%s",
              r.raw);
    cr_expect(h_header(&r, "X-First") == NULL,
              "headers of the first start_response were sent:\n%s", r.raw);
    cr_expect_str_eq(r.body, "replaced");
    sw_scgi_response_free(&r);

    /* A second start_response without exc_info is an error. */
    h_get(b.addr, "/double_start", &r);
    cr_expect_eq(r.status, 500, "start_response twice without exc_info: "
                 "status %d:\n%s", r.status, r.raw);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

/* ---- file_wrapper --------------------------------------------------------------------- */

Test(wsgi, file_wrapper_is_exact)
{
    bench_t b = start();
    const size_t size = (3u << 20) + 123;
    char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)((i * 13 + (i >> 11)) & 0xff);
    char *path = h_fmt("%s/payload.bin", b.dir);
    h_write_file(path, data, size);

    sw_scgi_response_t r;
    h_get(b.addr, h_fmt("/file?path=%s", path), &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_expect(r.body_len == size && memcmp(r.body, data, size) == 0,
              "file_wrapper on a real file: %zu bytes, want %zu, or content "
              "differs", r.body_len, size);
    sw_scgi_response_free(&r);
    free(data);

    /* Not a real file: iterated in blocks. */
    const size_t n = 300000;
    h_get(b.addr, h_fmt("/filelike?size=%zu", n), &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_assert_eq(r.body_len, n, "file_wrapper on BytesIO: %zu bytes",
                 r.body_len);
    size_t bad = n;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r.body[i] != i % 251) {
            bad = i;
            break;
        }
    cr_expect_eq(bad, n, "BytesIO body differs at %zu", bad);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b.srv);
}

/* ---- wsgi.errors ------------------------------------------------------------------------ */

Test(wsgi, wsgi_errors_line_has_app_prefix)
{
    bench_t b = start();
    sw_scgi_response_t r;
    h_get(b.addr, "/errors?token=tok-7f3a", &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    sw_scgi_response_free(&r);
    const char *needles[] = {"[suite]", "wsgi-errors-line tok-7f3a", NULL};
    cr_expect(h_log_wait_line(b.srv, needles, 10) != NULL,
              "no log line with [suite] and the wsgi.errors text; log:\n%s",
              h_log_tail(b.srv));
    h_server_stop_clean(b.srv);
}

/* ---- environ ------------------------------------------------------------------------------ */

static void expect_key(const char *json, const char *key, const char *want)
{
    char *v = h_json_get(json, key);
    cr_expect(v && strcmp(v, want) == 0, "environ[%s] = %s%s%s, want \"%s\"",
              key, v ? "\"" : "", v ? v : "(missing)", v ? "\"" : "", want);
}

static void expect_present(const char *json, const char *key)
{
    cr_expect(h_json_get(json, key) != NULL, "environ lacks %s", key);
}

Test(wsgi, environ_keys)
{
    bench_t b = start();
    sw_scgi_response_t r;
    const char *hdr[] = {"Content-Type: text/plain", "X-Custom: custom value",
                         "Host: example.org:8080"};
    h_request(b.addr, "POST", "/env/x/y?q=1&r=2", hdr, 3, "abc", 3, &r);
    cr_assert_eq(r.status, 200, "status %d:\n%s", r.status, r.raw);
    const char *j = r.body;

    /* Every SCGI header. */
    expect_key(j, "REQUEST_METHOD", "POST");
    expect_key(j, "CONTENT_LENGTH", "3");
    expect_key(j, "CONTENT_TYPE", "text/plain");
    expect_key(j, "QUERY_STRING", "q=1&r=2");
    expect_key(j, "REQUEST_URI", "/env/x/y?q=1&r=2");
    expect_key(j, "DOCUMENT_URI", "/env/x/y");
    expect_key(j, "SCGI", "1");
    expect_key(j, "HTTP_X_CUSTOM", "custom value");
    expect_key(j, "HTTP_HOST", "example.org:8080");
    expect_key(j, "SERVER_NAME", "example.org");
    expect_key(j, "REMOTE_ADDR", "127.0.0.1");
    expect_present(j, "SERVER_PORT");
    expect_present(j, "SERVER_PROTOCOL");
    cr_expect(h_json_get(j, "HTTP_CONTENT_TYPE") == NULL &&
                  h_json_get(j, "HTTP_CONTENT_LENGTH") == NULL,
              "HTTP_CONTENT_TYPE/HTTP_CONTENT_LENGTH must not be in environ");
    /* Routing results. */
    expect_key(j, "SCRIPT_NAME", "/env");
    expect_key(j, "PATH_INFO", "/x/y");
    /* PEP 3333 keys. */
    expect_key(j, "wsgi.version", "(1, 0)");
    expect_key(j, "type:wsgi.version", "tuple");
    expect_key(j, "wsgi.url_scheme", "http");
    expect_present(j, "wsgi.input");
    expect_present(j, "wsgi.errors");
    expect_key(j, "wsgi.input_terminated", "True");
    expect_key(j, "type:wsgi.multithread", "bool");
    expect_key(j, "wsgi.multiprocess", "False");
    expect_key(j, "type:wsgi.multiprocess", "bool");
    expect_key(j, "wsgi.run_once", "False");
    expect_key(j, "type:wsgi.run_once", "bool");
    expect_key(j, "_file_wrapper_callable", "True");
    /* subwsgi keys and environ = entries. */
    expect_key(j, "subwsgi.app", "env");
    expect_key(j, "subwsgi.generation", "1");
    expect_key(j, "type:subwsgi.generation", "int");
    expect_key(j, "SW_FOO", "bar");
    expect_key(j, "SW_SPACES", "hello world");
    expect_key(j, "SW_EQ", "a=b");
    /* The body through read(CONTENT_LENGTH). */
    expect_key(j, "_body", "abc");
    /* Every str value is a str (PEP 3333 "native strings"). */
    static const char *const strs[] = {"REQUEST_METHOD", "SCRIPT_NAME",
                                       "PATH_INFO", "QUERY_STRING",
                                       "SERVER_NAME", "SERVER_PORT",
                                       "wsgi.url_scheme", "SW_FOO"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        expect_key(j, h_fmt("type:%s", strs[i]), "str");
    sw_scgi_response_free(&r);

    h_server_stop_clean(b.srv);
}

Test(wsgi, url_scheme_https)
{
    bench_t b = start();
    static const struct {
        const char *name, *value, *want;
    } cases[] = {
        {"HTTPS", "on", "https"},
        {"HTTPS", "1", "https"},
        {"REQUEST_SCHEME", "https", "https"},
        {"HTTPS", "off", "http"},
        {"REQUEST_SCHEME", "http", "http"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *kv[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/env/s",
                            "DOCUMENT_URI", "/env/s", "QUERY_STRING", "",
                            "SERVER_NAME", "localhost", "SERVER_PORT", "443",
                            "SERVER_PROTOCOL", "HTTP/1.1",
                            cases[i].name, cases[i].value};
        sw_scgi_response_t r;
        h_scgi_send(b.addr, KV(kv), NULL, 0, &r);
        cr_expect_eq(r.status, 200, "status %d", r.status);
        char *v = h_json_get(r.body, "wsgi.url_scheme");
        cr_expect(v && strcmp(v, cases[i].want) == 0,
                  "%s=%s: wsgi.url_scheme %s, want %s", cases[i].name,
                  cases[i].value, v ? v : "(missing)", cases[i].want);
        sw_scgi_response_free(&r);
    }
    h_server_stop_clean(b.srv);
}

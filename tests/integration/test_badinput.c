/* test_badinput.c: bad SCGI input gets its status code (400, 431, 413, 404,
 * 503 + Retry-After, or a closed connection on header timeout), never
 * reaches Python, and the server answers the next normal request. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(badinput, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* Limits of the server under test. */
#define MAX_HEADER 1024
#define MAX_BODY 1000

typedef struct {
    h_server_t *srv;
    char *addr;
    char *dir;
    char *hits;              /* one line per request that reached hello.py */
    int good;                /* requests we expect in hits */
} bench_t;

/* hello.py at /ok and only.example.com/h; gate.py at /gate. One worker per
 * app and a queue of one, so the queue is easy to fill. */
static bench_t start(void)
{
    bench_t b = {0};
    b.srv = h_server_at(h_free_port(),
                        h_fmt("admin = off\n"
                              "header-timeout = 1\n"
                              "max-header-size = %d\n"
                              "max-body-size = %d\n"
                              "queue-size = 1\n"
                              "\n"
                              "[app:hello]\n"
                              "wsgi = %s\n"
                              "mount = /ok\n"
                              "mount = only.example.com/h\n"
                              "interpreters = 1\n"
                              "threads = 1\n"
                              "\n"
                              "[app:gate]\n"
                              "wsgi = %s\n"
                              "mount = /gate\n"
                              "interpreters = 1\n"
                              "threads = 1\n",
                              MAX_HEADER, MAX_BODY, h_app("hello.py"), h_app("gate.py")),
                        &b.hits);
    b.dir = b.srv->dir;
    b.addr = b.srv->scgi;
    return b;
}

/* A normal request must still be served. */
static void expect_alive(bench_t *b, const char *after)
{
    sw_scgi_response_t r;
    char err[256] = "";
    int rc = h_request_try(b->addr, "GET", "/ok/alive", NULL, 0, NULL, 0,
                           H_IO_TIMEOUT, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "after %s, a normal request failed: %s; log:\n%s",
                 after, err, h_log_tail(b->srv));
    cr_expect(r.status == 200 && r.body &&
                  strcmp(r.body, "Hello, world!\n") == 0,
              "after %s, a normal request got status %d:\n%s", after,
              r.status, r.raw);
    sw_scgi_response_free(&r);
    b->good++;
}

/* Stops the server cleanly and checks that only the good requests reached
 * Python. */
static void finish(bench_t *b)
{
    h_server_stop_clean(b->srv);
    char *hits = h_read_file(b->hits, NULL);
    size_t n = h_count(hits ? hits : "", "\n");
    cr_expect_eq(n, (size_t)b->good, "%zu requests reached Python, want %d "
                 "(bad input must not); hits:\n%s", n, b->good,
                 hits ? hits : "");
    free(hits);
}

/* ---- 400 ------------------------------------------------------------------------ */

#define LIT(s) s, sizeof(s) - 1

static const struct {
    const char *what;
    const char *bytes;
    size_t len;
} malformed[] = {
    {"an HTTP request", LIT("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
    {"a non-digit in the length", LIT("2x:CONTENT_LENGTH\0" "0\0,")},
    {"an empty length", LIT(":CONTENT_LENGTH\0" "0\0,")},
    {"a missing comma", LIT("24:CONTENT_LENGTH\0" "0\0" "SCGI\0" "1\0;")},
    {"CONTENT_LENGTH not first",
     LIT("24:SCGI\0" "1\0" "CONTENT_LENGTH\0" "0\0,")},
    {"no CONTENT_LENGTH", LIT("26:SCGI\0" "1\0" "REQUEST_METHOD\0" "GET\0,")},
    {"an empty header", LIT("0:,")},
    {"CONTENT_LENGTH abc", LIT("26:CONTENT_LENGTH\0" "abc\0" "SCGI\0" "1\0,")},
    {"CONTENT_LENGTH -1", LIT("25:CONTENT_LENGTH\0" "-1\0" "SCGI\0" "1\0,")},
    {"CONTENT_LENGTH empty", LIT("23:CONTENT_LENGTH\0" "\0" "SCGI\0" "1\0,")},
    {"CONTENT_LENGTH 1e3", LIT("26:CONTENT_LENGTH\0" "1e3\0" "SCGI\0" "1\0,")},
    {"CONTENT_LENGTH with a space", LIT("25:CONTENT_LENGTH\0" " 0\0" "SCGI\0" "1\0,")},
    {"a name without a value", LIT("22:CONTENT_LENGTH\0" "0\0" "SCGI\0,")},
    {"a value without its NUL", LIT("23:CONTENT_LENGTH\0" "0\0" "SCGI\0" "1,")},
    {"an empty name", LIT("20:CONTENT_LENGTH\0" "0\0" "\0" "x\0,")},
    {"a duplicate name", LIT("25:CONTENT_LENGTH\0" "0\0" "X\0" "a\0" "X\0" "b\0,")},
};

Test(badinput, malformed_header_is_400)
{
    bench_t b = start();
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        sw_scgi_response_t r;
        char err[256] = "";
        int rc = h_raw(b.addr, malformed[i].bytes, malformed[i].len, 0, 15,
                       &r, err, sizeof err);
        cr_expect_eq(rc, 0, "%s: no answer: %s", malformed[i].what, err);
        if (rc == 0)
            cr_expect_eq(r.status, 400, "%s: status %d, want 400; "
                         "response:\n%s", malformed[i].what, r.status,
                         r.raw_len ? r.raw : "(connection closed, nothing "
                                             "sent)");
        sw_scgi_response_free(&r);
        expect_alive(&b, malformed[i].what);
    }
    finish(&b);
}

/* "SCGI=1 is expected but its absence is tolerated" (nginx sends it only
 * through scgi_params). */
Test(badinput, missing_scgi_header_is_tolerated)
{
    bench_t b = start();
    static const char req[] = "74:CONTENT_LENGTH\0" "0\0"
                              "REQUEST_METHOD\0" "GET\0"
                              "REQUEST_URI\0" "/ok/no-scgi\0"
                              "SERVER_NAME\0" "x\0,";
    sw_scgi_response_t r;
    char err[256] = "";
    int rc = h_raw(b.addr, req, sizeof req - 1, 0, 15, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "no answer: %s", err);
    cr_expect_eq(r.status, 200, "a request without SCGI=1: status %d:\n%s",
                 r.status, r.raw_len ? r.raw : "(nothing)");
    sw_scgi_response_free(&r);
    b.good++;
    finish(&b);
}

/* ---- 431 and 413 ------------------------------------------------------------------ */

Test(badinput, header_over_limit_is_431)
{
    bench_t b = start();
    sw_scgi_response_t r;
    char err[256] = "";

    /* The length alone says it is too big. */
    static const char big[] = "100000:CONTENT_LENGTH\0" "0\0";
    int rc = h_raw(b.addr, big, sizeof big - 1, 0, 15, &r, err, sizeof err);
    cr_expect_eq(rc, 0, "no answer: %s", err);
    cr_expect_eq(r.status, 431, "announced 100000-byte header: status %d, "
                 "response:\n%s", r.status, r.raw_len ? r.raw : "(none)");
    sw_scgi_response_free(&r);
    expect_alive(&b, "a 100000-byte header length");

    /* A real request whose header is just over the limit. */
    char *pad = malloc(MAX_HEADER + 1);
    memset(pad, 'p', MAX_HEADER);
    pad[MAX_HEADER] = '\0';
    const char *hdr[] = {h_fmt("X-Padding: %s", pad)};
    free(pad);
    h_request(b.addr, "GET", "/ok/big", hdr, 1, NULL, 0, &r);
    cr_expect_eq(r.status, 431, "header of %d+ bytes: status %d, "
                 "response:\n%s", MAX_HEADER, r.status,
                 r.raw_len ? r.raw : "(none)");
    sw_scgi_response_free(&r);
    expect_alive(&b, "a header over max-header-size");
    finish(&b);
}

Test(badinput, body_over_limit_is_413)
{
    bench_t b = start();
    sw_scgi_response_t r;
    char err[256] = "";

    /* Announced only: the server must answer without waiting for it. */
    static const char hdr_only[] =
        "31:CONTENT_LENGTH\0" "5000\0" "SCGI\0" "1\0" "X\0" "y\0,";
    int rc = h_raw(b.addr, hdr_only, sizeof hdr_only - 1, 0, 15, &r, err,
                   sizeof err);
    cr_expect_eq(rc, 0, "no answer: %s", err);
    cr_expect_eq(r.status, 413, "CONTENT_LENGTH 5000 > %d: status %d, "
                 "response:\n%s", MAX_BODY, r.status,
                 r.raw_len ? r.raw : "(none)");
    sw_scgi_response_free(&r);
    expect_alive(&b, "an announced oversized body");

    /* Sent in full, one byte over. */
    char *body = malloc(MAX_BODY + 1);
    memset(body, 'b', MAX_BODY + 1);
    h_request(b.addr, "POST", "/ok/post", NULL, 0, body, MAX_BODY + 1, &r);
    cr_expect_eq(r.status, 413, "body of %d bytes: status %d, response:\n%s",
                 MAX_BODY + 1, r.status, r.raw_len ? r.raw : "(none)");
    sw_scgi_response_free(&r);
    expect_alive(&b, "an oversized body");

    /* Exactly at the limit is fine. */
    h_request(b.addr, "POST", "/ok/post", NULL, 0, body, MAX_BODY, &r);
    cr_expect_eq(r.status, 200, "body of exactly max-body-size: status %d",
                 r.status);
    sw_scgi_response_free(&r);
    b.good++;
    free(body);
    finish(&b);
}

/* ---- 404 ------------------------------------------------------------------------------ */

Test(badinput, no_app_is_404)
{
    bench_t b = start();
    static const struct {
        const char *uri, *host;
    } cases[] = {
        {"/", NULL},
        {"/nothing/here", NULL},
        {"/okay", NULL},                  /* not /ok: segment boundary */
        {"/h", NULL},                     /* /h only on only.example.com */
        {"/h", "other.example.com"},
        {"/ok2/x", "only.example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sw_scgi_response_t r;
        const char *hdr[1];
        size_t nh = 0;
        if (cases[i].host)
            hdr[nh++] = h_fmt("Host: %s", cases[i].host);
        h_request(b.addr, "GET", cases[i].uri, hdr, nh, NULL, 0, &r);
        cr_expect_eq(r.status, 404, "GET %s (Host %s): status %d, want 404; "
                     "response:\n%s", cases[i].uri,
                     cases[i].host ? cases[i].host : "none", r.status, r.raw);
        sw_scgi_response_free(&r);
        expect_alive(&b, h_fmt("a 404 for %s", cases[i].uri));
    }
    /* The host mount itself works. */
    sw_scgi_response_t r;
    const char *hdr[] = {"Host: only.example.com:8080"};
    h_request(b.addr, "GET", "/h/x", hdr, 1, NULL, 0, &r);
    cr_expect_eq(r.status, 200, "GET /h/x on only.example.com: status %d",
                 r.status);
    sw_scgi_response_free(&r);
    b.good++;
    finish(&b);
}

/* ---- 503 ------------------------------------------------------------------------------- */

Test(badinput, full_queue_is_503_with_retry_after)
{
    bench_t b = start();
    char *gate = h_fmt("%s/gate", b.dir), *started = h_fmt("%s/started", b.dir);

    /* One request running (it waits for the gate file)... */
    h_async_t *running = h_async_get(
        b.addr, h_fmt("/gate/slow?gate=%s&started=%s&max=60", gate, started),
        90);
    cr_assert(h_wait_file(started, 20), "the first slow request never "
              "started; log:\n%s", h_log_tail(b.srv));
    /* ...then two more: one fills the queue (size 1), the other must get a
     * 503 at once. Which is which depends on arrival order. */
    char *uri = h_fmt("/gate/slow?gate=%s&max=60", gate);
    h_async_t *x = h_async_get(b.addr, uri, 90);
    h_async_t *y = h_async_get(b.addr, uri, 90);
    double end = h_now() + 20;
    while (!atomic_load(&x->done) && !atomic_load(&y->done) && h_now() < end)
        h_nap(0.01);
    h_async_t *first = atomic_load(&x->done) ? x : atomic_load(&y->done) ? y
                                                                        : NULL;
    h_async_t *other = first == x ? y : x;
    if (!first)
        h_write_file(gate, "", 0);   /* let everything finish */
    cr_assert(first, "with one request running and one queued, a third got "
              "no immediate answer (want 503); log:\n%s", h_log_tail(b.srv));
    h_async_wait(first, 5);
    cr_expect_eq(first->rc, 0, "rejected request: %s", first->err);
    cr_expect_eq(first->resp.status, 503, "queue full: status %d, want 503; "
                 "response:\n%s", first->resp.status,
                 first->resp.raw ? first->resp.raw : "(none)");
    char *ra = h_header(&first->resp, "Retry-After");
    cr_expect(ra && *ra, "the 503 has no Retry-After header:\n%s",
              first->resp.raw ? first->resp.raw : "");
    cr_expect(atomic_load(&running->done) == 0, "the running request ended "
              "early");

    /* Open the gate: the running and the queued request complete. */
    h_write_file(gate, "", 0);
    cr_assert(h_async_wait(running, 30), "running request did not finish");
    cr_assert(h_async_wait(other, 30), "queued request did not finish");
    cr_expect(running->rc == 0 && running->resp.status == 200 &&
                  strcmp(running->resp.body, "released") == 0,
              "running request: rc %d status %d body %s", running->rc,
              running->resp.status,
              running->resp.body ? running->resp.body : "");
    cr_expect(other->rc == 0 && other->resp.status == 200 &&
                  strcmp(other->resp.body, "released") == 0,
              "queued request: rc %d status %d body %s", other->rc,
              other->resp.status, other->resp.body ? other->resp.body : "");
    expect_alive(&b, "a 503");
    finish(&b);
}

/* ---- header timeout ------------------------------------------------------------------- */

Test(badinput, header_timeout_closes_and_logs)
{
    bench_t b = start();
    sw_scgi_response_t r;
    char err[256] = "";

    /* Half a header, then silence (header-timeout = 1). */
    static const char partial[] = "70:CONTENT_LENGTH\0" "0\0SCGI";
    double t0 = h_now();
    int rc = h_raw(b.addr, partial, sizeof partial - 1, 0, 20, &r, err,
                   sizeof err);
    double took = h_now() - t0;
    cr_expect_eq(rc, 0, "the server did not close a connection with an "
                 "incomplete header within 20 s: %s", err);
    cr_expect_eq(r.raw_len, 0, "nothing should be sent on a header timeout, "
                 "got:\n%s", r.raw ? r.raw : "");
    cr_expect(took >= 0.5, "closed after %.2f s, before header-timeout (1 s)",
              took);
    sw_scgi_response_free(&r);
    cr_expect(h_log_wait(b.srv, "timeout", 10), "no \"timeout\" in the log "
              "after a header timeout; log:\n%s", h_log_tail(b.srv));
    expect_alive(&b, "a header timeout");

    /* A connection that sends nothing at all. */
    rc = h_raw(b.addr, "", 0, 0, 20, &r, err, sizeof err);
    cr_expect_eq(rc, 0, "an idle connection was not closed within 20 s: %s",
                 err);
    cr_expect_eq(r.raw_len, 0, "nothing should be sent to an idle "
                 "connection, got:\n%s", r.raw ? r.raw : "");
    sw_scgi_response_free(&r);
    expect_alive(&b, "an idle connection");
    finish(&b);
}

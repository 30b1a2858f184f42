/* test_edge_wsgi.c: the edges of PEP 3333 and SCGI (issue 11): response
 * header values with control characters, CGI-style Status and duplicate or
 * bad Content-Length headers; bodies cut at Content-Length (iterable,
 * write(), file_wrapper); SCGI headers that would override wsgi.* and
 * subwsgi.* keys; routing on a normalised path, compared with what a real
 * nginx makes of the same URIs; control bytes in the logs;
 * wsgi.file_wrapper over a file whose size reads as 0. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "request.h"

TestSuite(edge_wsgi, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define KV(a) (a), (sizeof(a) / sizeof((a)[0]) / 2)

/* edge.py at the root, envecho.py as [app:bob] at /bob and [app:env] at
 * /env. Error and access log both go to the server's stderr. */
static h_server_t *start(void)
{
    return h_server_at(h_free_port(),
                       h_fmt("admin = off\n\n"
                             "[app:edge]\nwsgi = %s\nmount = /\n\n"
                             "[app:bob]\nwsgi = %s\nmount = /bob\n\n"
                             "[app:env]\nwsgi = %s\nmount = /env\n",
                             h_app("edge.py"), h_app("envecho.py"), h_app("envecho.py")),
                       NULL);
}

/* A request with exactly these SCGI headers (besides CONTENT_LENGTH and
 * SCGI): no DOCUMENT_URI unless kv has one. */
static void send_kv(h_server_t *b, const char *const *kv, size_t n, sw_scgi_response_t *r)
{
    h_scgi_send(b->scgi, kv, n, NULL, 0, r);
}

/* ---- response headers ------------------------------------------------------ */

Test(edge_wsgi, header_value_controls_status_and_content_length_are_500)
{
    h_server_t *b = start();
    sw_scgi_response_t r;
    /* Every C0 control but HTAB, and DEL: RFC 9110 field-value is VCHAR,
     * obs-text, SP and HTAB only. */
    for (int c = 0; c < 0x80; c++) {
        if ((c >= 0x20 && c < 0x7f) || c == '\t')
            continue;
        h_get(b->scgi, h_fmt("/hdr?byte=%d", c), &r);
        cr_expect_eq(r.status, 500, "header value with byte 0x%02x: status %d:\n%.300s", c,
                     r.status, r.raw);
        cr_expect(strstr(r.raw, "hello") == NULL, "0x%02x: the app's body was sent", c);
        sw_scgi_response_free(&r);
    }
    static const char *const bad[] = {"status", "cl2", "clbad", "del", "conn", "te", "upgrade"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h_get(b->scgi, h_fmt("/hdr?kind=%s", bad[i]), &r);
        cr_expect_eq(r.status, 500, "kind %s: status %d:\n%.300s", bad[i], r.status, r.raw);
        cr_expect_eq(h_count(r.raw, "Status:"), 1, "kind %s: not one Status line:\n%.300s",
                     bad[i], r.raw);
        sw_scgi_response_free(&r);
    }
    cr_expect(h_log_wait(b, "Status", 10), "the Status header was not logged:\n%s",
              h_log_tail(b));
    cr_expect(h_log_wait(b, "0x0b", 1) || h_log_wait(b, "\\x0b", 1),
              "the control character was not named in the log:\n%s", h_log_tail(b));

    /* A tab is valid. */
    h_get(b->scgi, "/hdr?kind=tab", &r);
    cr_expect_eq(r.status, 200, "tab in a value: status %d:\n%.300s", r.status, r.raw);
    cr_expect(strstr(r.raw, "X-Tab: a\tb\r\n") != NULL, "tab header:\n%.300s", r.raw);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b);
}

Test(edge_wsgi, body_cut_at_content_length)
{
    h_server_t *b = start();
    /* writefile: write() sent 5 bytes, so 5 of the file fit. */
    static const char *const modes[][2] = {
        {"iter", "0123456789"}, {"write", "0123456789"}, {"mixed", "0123456789"},
        {"file", "0123456789"}, {"writefile", "0123401234"}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        sw_scgi_response_t r;
        h_get(b->scgi, h_fmt("/long?mode=%s", modes[i][0]), &r);
        cr_expect_eq(r.status, 200, "mode %s: status %d:\n%.300s", modes[i][0], r.status, r.raw);
        cr_expect(r.body_len == 10 && memcmp(r.body, modes[i][1], 10) == 0,
                  "mode %s: want the 10 bytes of Content-Length (%s), got %zu: \"%.40s\"",
                  modes[i][0], modes[i][1], r.body_len, r.body);
        sw_scgi_response_free(&r);
    }
    const char *const want[] = {"[edge]", "Content-Length 10", NULL};
    cr_expect(h_log_wait_line(b, want, 10), "the cut was not logged:\n%s",
              h_log_tail(b));
    h_server_stop_clean(b);
}

/* ---- environ ------------------------------------------------------------------ */

Test(edge_wsgi, scgi_headers_cannot_override_server_keys)
{
    h_server_t *b = start();
    const char *kv[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/env/x",
                        "DOCUMENT_URI", "/env/x", "SERVER_NAME", "localhost",
                        "SERVER_PORT", "80", "SERVER_PROTOCOL", "HTTP/1.1",
                        "wsgi.errors", "x", "wsgi.version", "forged",
                        "wsgi.multiprocess", "yes", "subwsgi.app", "forged",
                        "subwsgi.generation", "999", "subwsgi.forged", "1"};
    sw_scgi_response_t r;
    send_kv(b, KV(kv), &r);
    cr_assert_eq(r.status, 200, "status %d:\n%.500s", r.status, r.raw);
    h_expect_json(r.body, "forged headers", "subwsgi.app", "env");
    h_expect_json(r.body, "forged headers", "type:wsgi.errors", "ErrorStream");
    h_expect_json(r.body, "forged headers", "type:wsgi.version", "tuple");
    h_expect_json(r.body, "forged headers", "type:wsgi.multiprocess", "bool");
    h_expect_json(r.body, "forged headers", "type:subwsgi.generation", "int");
    cr_expect_null(h_json_get(r.body, "subwsgi.forged"), "subwsgi.forged reached the app");
    sw_scgi_response_free(&r);
    const char *const want[] = {"[env]", "wsgi.errors", NULL};
    cr_expect(h_log_wait_line(b, want, 10), "the dropped header was not logged:\n%s",
              h_log_tail(b));
    h_server_stop_clean(b);
}

/* ---- routing ------------------------------------------------------------------ */

Test(edge_wsgi, routing_on_the_normalised_path)
{
    h_server_t *b = start();
    static const struct {
        const char *uri;
        int status;
        const char *app, *script_name, *path_info;
    } cases[] = {
        {"/bob/../env/x", 200, "env", "/env", "/x"},
        {"/bob/%2e%2E/env", 200, "env", "/env", ""},
        {"/bob%2F..%2Fenv/y?q=1", 200, "env", "/env", "/y"},
        {"/bob/./x/.", 200, "bob", "/bob", "/x/"},
        {"//bob//x", 200, "bob", "/bob", "/x"},
        {"/bob/a/../b", 200, "bob", "/bob", "/b"},
        {"/bob/a%2fb", 200, "bob", "/bob", "/a/b"},
        {"/../env", 400, NULL, NULL, NULL},
        {"/env/%2e%2e/..", 400, NULL, NULL, NULL},
        {"/env/%zz", 400, NULL, NULL, NULL},
        {"/env/x%", 400, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *kv[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", cases[i].uri,
                            "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                            "SERVER_PROTOCOL", "HTTP/1.1"};
        sw_scgi_response_t r;
        send_kv(b, KV(kv), &r);
        cr_expect_eq(r.status, cases[i].status, "%s: status %d, want %d:\n%.300s",
                     cases[i].uri, r.status, cases[i].status, r.raw);
        if (cases[i].app && r.status == 200) {
            const char *what = cases[i].uri;
            h_expect_json(r.body, what, "subwsgi.app", cases[i].app);
            h_expect_json(r.body, what, "SCRIPT_NAME", cases[i].script_name);
            h_expect_json(r.body, what, "PATH_INFO", cases[i].path_info);
        }
        sw_scgi_response_free(&r);
    }
    h_server_stop_clean(b);
}

/* Our REQUEST_URI path against a real nginx's $document_uri: for each URI,
 * nginx refuses it (400) and so do we, or nginx's DOCUMENT_URI is the path
 * sw_request_full_path derives from REQUEST_URI alone. */
Test(edge_wsgi, request_uri_path_matches_nginx_document_uri)
{
    const char *ng = h_nginx();
    if (*ng == '\0' || access(ng, X_OK) != 0)
        cr_skip_test("nginx is not installed (SW_NGINX=%s)", ng);
    char *dir = h_tmpdir();
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    h_server_t *srv = h_server_config(
        dir, scgi, h_fmt("[server]\nscgi = %s\nadmin = off\n\n[app:env]\nwsgi = %s\nmount = /\n",
                         scgi, h_app("envecho.py")), NULL);
    int port = h_free_port();
    h_nginx_t nginx = h_nginx_start(
        h_fmt("server {\n    listen 127.0.0.1:%d;\n    location / {\n"
              "        scgi_param REQUEST_URI $request_uri;\n"
              "        scgi_param DOCUMENT_URI $document_uri;\n"
              "        scgi_param REQUEST_METHOD $request_method;\n"
              "        scgi_pass %s;\n    }\n}\n", port, scgi), port);
    static const char *const uris[] = {
        "/a/b", "/a/../b", "/a/./b", "/a//b", "//a//../b", "/./a", "/a/%2e%2e/b",
        "/a%2F..%2Fb", "/a/%2F/b", "/a/..%2fb", "/a/b/..", "/a/b/.", "/a/b/%2e",
        "/a/b/.%2F", "/a/.../b", "/a/..b/c", "/a/.%2e/b", "/a/%2e./b",
        "/a/%252e%252e/b", "/a/%3F/x", "/a/%23/x", "/a/%41%62c", "/a/b/..?x=1",
        "/a/b%2F%2E%2E", "/a/b%2F%2E%2E%2F%2E%2E%2F", "/%2e%2e/x", "/a/../../x",
        "/a/%2e%2e/%2e%2e/x", "/a/%zz", "/a/x%", "/a/%2", "/a/%00b",
    };
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        h_http_resp_t r;
        char err[256] = "";
        int rc = h_http(port, "GET", uris[i], NULL, 0, NULL, 0, H_IO_TIMEOUT, &r, err,
                        sizeof err);
        cr_assert_eq(rc, 0, "GET %s through nginx: %s", uris[i], err);
        sw_scgi_header_t h[2] = {{"CONTENT_LENGTH", 14, "0", 1},
                                 {"REQUEST_URI", 11, uris[i], strlen(uris[i])}};
        char *ours = sw_request_full_path(h, 2);
        if (r.status == 400) {
            cr_expect_null(ours, "%s: nginx says 400, we route on %s", uris[i], ours);
        } else {
            cr_expect_eq(r.status, 200, "%s: nginx gave %d:\n%s\nnginx log:\n%s", uris[i], r.status,
                         r.body, h_nginx_log(&nginx));
            char *doc = h_json_get(r.body, "DOCUMENT_URI");
            cr_expect(doc && ours && strcmp(doc, ours) == 0,
                      "%s: nginx's DOCUMENT_URI is %s, our path %s", uris[i],
                      doc ? doc : "(none)", ours ? ours : "(refused)");
        }
        free(ours);
        h_http_free(&r);
    }
    h_server_stop_clean(srv);
}

/* ---- logs ------------------------------------------------------------------------ */

Test(edge_wsgi, control_bytes_are_escaped_in_the_logs)
{
    h_server_t *b = start();
    const char *kv[] = {"REQUEST_METHOD", "GET\nforged-method",
                        "REQUEST_URI", "/env/x\n2026-01-01T00:00:00.000Z forged GET /a 200 0 0.001ms",
                        "DOCUMENT_URI", "/env/x", "SERVER_NAME", "localhost",
                        "SERVER_PORT", "80", "SERVER_PROTOCOL", "HTTP/1.1"};
    sw_scgi_response_t r;
    send_kv(b, KV(kv), &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    sw_scgi_response_free(&r);
    /* The same through a 404 answered by the I/O thread. */
    const char *kv404[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/x\r\nforged-404",
                           "DOCUMENT_URI", "/x", "HTTP_HOST", "nowhere",
                           "SERVER_NAME", "localhost", "SERVER_PORT", "80"};
    send_kv(b, KV(kv404), &r);
    sw_scgi_response_free(&r);
    h_get(b->scgi, "/errs", &r);
    cr_expect_eq(r.status, 200);
    sw_scgi_response_free(&r);

    const char *const got[] = {"GET\\x0aforged-method", "\\x0a2026-01-01T00:00:00.000Z", NULL};
    cr_expect(h_log_wait_line(b, got, 10), "no escaped access line:\n%s", h_log_tail(b));
    const char *const errs[] = {"edge-errs a\\x1b[31mred\\x0dforged", NULL};
    cr_expect(h_log_wait_line(b, errs, 10), "wsgi.errors line not escaped:\n%s",
              h_log_tail(b));
    h_server_stop_clean(b);
    char *log = h_log(b);
    cr_expect(strstr(log, "\n2026-01-01T00:00:00.000Z forged") == NULL,
              "a forged access line:\n%s", h_log_tail(b));
    cr_expect(strstr(log, "\nforged") == NULL && strstr(log, "\rforged") == NULL &&
              strchr(log, '\x1b') == NULL,
              "a raw control byte from client or app data reached the log:\n%s",
              h_log_tail(b));
    free(log);
}

/* ---- wsgi.file_wrapper ------------------------------------------------------------ */

Test(edge_wsgi, file_wrapper_over_a_proc_file)
{
    h_server_t *b = start();
    sw_scgi_response_t r;
    /* st_size is 0 but reading gives the text. */
    h_get(b->scgi, "/file?path=/proc/self/status", &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_expect(r.body_len > 0 && strstr(r.body, "Name:") != NULL,
              "/proc/self/status through file_wrapper: %zu bytes:\n%.200s", r.body_len,
              r.body);
    sw_scgi_response_free(&r);
    /* st_size says 4096 and there are a few bytes: their end is the end of
     * the body, not an error. */
    h_get(b->scgi, "/file?path=/sys/kernel/uevent_seqnum", &r);
    cr_expect_eq(r.status, 200, "status %d", r.status);
    cr_expect(r.body_len > 0 && r.body_len < 4096, "/sys file: %zu bytes", r.body_len);
    sw_scgi_response_free(&r);
    h_server_stop_clean(b);
    char *log = h_log(b);
    cr_expect(strstr(log, "sendfile stopped") == NULL, "EOF of a /sys file logged as an error:\n%s",
              h_log_tail(b));
    free(log);
}

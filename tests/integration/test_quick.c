/* test_quick.c: the command line and the basics, against the real binary:
 * quick mode, --version, --check, config mode with several apps (routing by
 * host and prefix, SCRIPT_NAME/PATH_INFO for nginx, Apache and bare
 * REQUEST_URI requests, private and unix-socket listeners), concurrency
 * across interpreters and threads, the access log, and a drain on SIGTERM. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(quick, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* Asserts status and body of a response, showing what came instead. */
#define EXPECT_RESP(r, st, bodytext)                                            \
    do {                                                                        \
        cr_expect_eq((r)->status, (st), "status %d, want %d; response:\n%s",     \
                     (r)->status, (st), (r)->raw ? (r)->raw : "(none)");       \
        cr_expect_str_eq((r)->body ? (r)->body : "", (bodytext),               \
                         "body differs; response:\n%s",                        \
                         (r)->raw ? (r)->raw : "(none)");                      \
    } while (0)

/* A name/value array and its number of pairs, for h_scgi_send. */
#define KV(a) (a), (sizeof(a) / sizeof((a)[0]) / 2)

static char *tcp_addr(void)
{
    return h_fmt("127.0.0.1:%d", h_free_port());
}

/* ---- quick mode ------------------------------------------------------------- */

Test(quick, serves_hello)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    h_server_t *s = h_server_quick(dir, h_app("hello.py"), addr, NULL);
    sw_scgi_response_t r;

    h_get(addr, "/", &r);
    EXPECT_RESP(&r, 200, "Hello, world!\n");
    char *ct = h_header(&r, "Content-Type");
    cr_expect(ct && strcmp(ct, "text/plain; charset=utf-8") == 0,
              "Content-Type \"%s\"", ct ? ct : "(none)");
    cr_expect(strncmp(r.raw, "Status: 200", 11) == 0,
              "a CGI-style response starts with \"Status: 200\", got:\n%s",
              r.raw);
    sw_scgi_response_free(&r);

    /* Mounted at the root: any path reaches it. */
    h_get(addr, "/some/deep/path?q=1", &r);
    EXPECT_RESP(&r, 200, "Hello, world!\n");
    sw_scgi_response_free(&r);

    h_server_stop_clean(s);
}

/* Apps run as the server's user: as root, it says so loudly (an operator
 * who forgot [server] user learns it from the log, not from an incident). */
Test(quick, running_as_root_is_warned_about)
{
    if (geteuid() != 0)
        cr_skip_test("the warning is for a server running as root; this test runs as uid %u",
                     (unsigned)geteuid());
    char *dir = h_tmpdir(), *addr = tcp_addr();
    h_server_t *s = h_server_quick(dir, h_app("hello.py"), addr, NULL);
    cr_expect(h_log_wait(s, "running as root: every app runs as root too", 5),
              "no warning about apps running as root:\n%s", h_log_tail(s));
    h_server_stop_clean(s);
}

Test(quick, callable_and_counts)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    const char *extra[] = {"--interpreters", "1", "--threads", "2", NULL};
    h_server_t *s = h_server_quick(dir, h_fmt("%s:other", h_app("hello.py")),
                                   addr, extra);
    sw_scgi_response_t r;

    h_get(addr, "/", &r);
    EXPECT_RESP(&r, 200, "other callable\n");
    sw_scgi_response_free(&r);
    h_server_stop_clean(s);
}

/* Exit codes (DESIGN section 3): 1 config error, 2 runtime failure. */
Test(quick, exit_codes_for_bad_app_and_busy_port)
{
    char *out = NULL;
    char *addr = tcp_addr();
    char *const bad_app[] = {h_binary(), "--app", "/nonexistent/app.py",
                             "--scgi", addr, NULL};
    int st = h_run(bad_app, 30, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1,
              "--app of a missing file: %s (want exit 1); output:\n%s",
              h_status_text(st), out);
    free(out);

    /* Someone else listens on the port. */
    int port = h_free_port();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              listen(fd, 4) == 0, "cannot occupy port %d", port);
    char *const busy[] = {h_binary(), "--app", h_app("hello.py"), "--scgi",
                          h_fmt("127.0.0.1:%d", port), NULL};
    st = h_run(busy, 30, &out);
    close(fd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2,
              "listener port already in use: %s (want exit 2); output:\n%s",
              h_status_text(st), out);
    free(out);
}

/* ---- --version and --check -------------------------------------------------- */

/* PACKAGE_VERSION from configure.ac's AC_INIT, or NULL. */
static char *package_version(void)
{
    char *ac = h_read_file(h_fmt("%s/configure.ac", h_srcdir()), NULL);
    char *p = ac ? strstr(ac, "AC_INIT(") : NULL, *v = NULL;
    if (p && (p = strchr(p, ',')) && (p = strchr(p, '['))) {
        size_t n = strcspn(p + 1, "]");
        v = h_fmt("%.*s", (int)n, p + 1);
    }
    free(ac);
    return v;
}

Test(quick, version)
{
    char *out = NULL;
    char *const argv[] = {h_binary(), "--version", NULL};
    int st = h_run(argv, 30, &out);

    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--version %s:\n%s",
              h_status_text(st), out);
    char *ver = package_version();
    if (ver)
        cr_expect(strstr(out, ver) != NULL, "version %s not in:\n%s", ver, out);
    unsigned maj, min, mic;
    const char *py = strstr(out, "Python 3.");
    cr_expect(py && sscanf(py, "Python %u.%u.%u", &maj, &min, &mic) == 3,
              "no \"Python X.Y.Z\" in --version output:\n%s", out);
    cr_expect(strstr(out, "own-gil") != NULL,
              "--version should say whether own-gil is available:\n%s", out);
    free(out);
}

Test(quick, check_good_config)
{
    char *dir = h_tmpdir();
    char *ini = h_fmt("%s/good.ini", dir);
    char *text = h_fmt("[server]\n"
                       "scgi = 127.0.0.1:%d\n"
                       "admin = off\n"
                       "queue-size = 10\n"
                       "\n"
                       "[app:hello]\n"
                       "wsgi = %s\n"
                       "mount = /\n"
                       "threads = 2\n",
                       h_free_port(), h_app("hello.py"));
    h_write_file(ini, text, strlen(text));
    char *out = NULL;
    char *const argv[] = {h_binary(), "-c", ini, "--check", NULL};
    int st = h_run(argv, 30, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "--check on a valid config: %s, output:\n%s", h_status_text(st),
              out);
    /* An error would be "FILE:LINE: message". */
    for (const char *p = strstr(out, ini); p; p = strstr(p + 1, ini)) {
        const char *q = p + strlen(ini);
        cr_expect(!(q[0] == ':' && q[1] >= '0' && q[1] <= '9'),
                  "a valid config reported errors:\n%s", out);
    }
    free(out);
}

Test(quick, check_bad_config_reports_every_error)
{
    char *dir = h_tmpdir();
    char *ini = h_fmt("%s/bad.ini", dir);
    /* Errors on lines 4, 5, 9 (missing file; 8 is accepted too), 11, 12
     * and 14 (the unknown section; 15 accepted too). */
    char *text = h_fmt("; a config with several errors\n"        /* 1 */
                       "[server]\n"                              /* 2 */
                       "scgi = 127.0.0.1:%d\n"                   /* 3 */
                       "queue-size = lots\n"                     /* 4 */
                       "no-such-key = 1\n"                       /* 5 */
                       "admin = off\n"                           /* 6 */
                       "\n"                                      /* 7 */
                       "[app:broken]\n"                          /* 8 */
                       "wsgi = %s/missing.py\n"                  /* 9 */
                       "mount = /a\n"                            /* 10 */
                       "threads = 0\n"                           /* 11 */
                       "isolation = sideways\n"                  /* 12 */
                       "\n"                                      /* 13 */
                       "[bogus-section]\n"                       /* 14 */
                       "x = 1\n",                                /* 15 */
                       h_free_port(), dir);
    h_write_file(ini, text, strlen(text));
    char *out = NULL;
    char *const argv[] = {h_binary(), "-c", ini, "--check", NULL};
    int st = h_run(argv, 30, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1,
              "--check on a bad config should exit 1: %s, output:\n%s",
              h_status_text(st), out);

    static const int allowed[] = {4, 5, 8, 9, 11, 12, 14, 15};
    int seen[16] = {0};
    size_t prefix_len = strlen(ini);
    char *copy = h_fmt("%s", out), *save = NULL;
    int nlines = 0;
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (*line == '\0')
            continue;
        nlines++;
        int ln = -1, used = 0;
        int ok = strncmp(line, ini, prefix_len) == 0 &&
                 sscanf(line + prefix_len, ":%d:%n", &ln, &used) == 1 &&
                 used > 0;
        cr_expect(ok, "error line does not start with \"%s:LINE:\": %s", ini,
                  line);
        if (!ok)
            continue;
        int good = 0;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            good |= allowed[i] == ln;
        cr_expect(good, "error reported on line %d, which is valid: %s", ln,
                  line);
        if (ln >= 0 && ln < 16)
            seen[ln] = 1;
    }
    cr_expect(nlines >= 5, "expected at least 5 error lines, got:\n%s", out);
    cr_expect(seen[4], "no error for line 4 (queue-size = lots):\n%s", out);
    cr_expect(seen[5], "no error for line 5 (unknown key):\n%s", out);
    cr_expect(seen[8] || seen[9], "no error for the missing wsgi file:\n%s",
              out);
    cr_expect(seen[11], "no error for line 11 (threads = 0):\n%s", out);
    cr_expect(seen[12], "no error for line 12 (isolation = sideways):\n%s",
              out);
    cr_expect(seen[14] || seen[15], "no error for the unknown section:\n%s",
              out);
    free(out);
}

/* ---- config mode: several apps ---------------------------------------------- */

typedef struct {
    h_server_t *srv;
    char *shared;            /* [server] TCP listener */
    char *private_;          /* [app:gamma] private listener */
    char *sock;              /* [server] unix socket path */
} three_apps_t;

/* alpha: "/" and "/a"; beta: "/a/b" and host beta.example.com (any path);
 * gamma: only its own listener. All three are envecho.py, which reports
 * subwsgi.app. */
static three_apps_t start_three_apps(void)
{
    three_apps_t t;
    char *dir = h_tmpdir();
    char *app = h_app("envecho.py");
    t.shared = tcp_addr();
    t.private_ = tcp_addr();
    t.sock = h_fmt("%s/shared.sock", dir);
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "scgi = unix:%s\n"
                      "socket-mode = 0600\n"
                      "admin = off\n"
                      "\n"
                      "[app:alpha]\n"
                      "wsgi = %s\n"
                      "mount = /\n"
                      "mount = /a\n"
                      "\n"
                      "[app:beta]\n"
                      "wsgi = %s\n"
                      "mount = /a/b\n"
                      "mount = beta.example.com\n"
                      "\n"
                      "[app:gamma]\n"
                      "wsgi = %s\n"
                      "scgi = %s\n",
                      t.shared, t.sock, app, app, app, t.private_);
    t.srv = h_server_config(dir, t.shared, ini, NULL);
    return t;
}

/* Checks which app answered and the SCRIPT_NAME / PATH_INFO it saw. */
static void expect_route(const sw_scgi_response_t *r, const char *what,
                         const char *app, const char *script,
                         const char *path_info)
{
    cr_expect_eq(r->status, 200, "%s: status %d; response:\n%s", what,
                 r->status, r->raw);
    if (r->status != 200)
        return;
    char *got_app = h_json_get(r->body, "subwsgi.app");
    char *sn = h_json_get(r->body, "SCRIPT_NAME");
    char *pi = h_json_get(r->body, "PATH_INFO");
    cr_expect(got_app && strcmp(got_app, app) == 0,
              "%s: served by \"%s\", want \"%s\"", what,
              got_app ? got_app : "(none)", app);
    cr_expect(sn && strcmp(sn, script) == 0, "%s: SCRIPT_NAME \"%s\", want "
              "\"%s\"", what, sn ? sn : "(missing)", script);
    cr_expect(pi && strcmp(pi, path_info) == 0, "%s: PATH_INFO \"%s\", want "
              "\"%s\"", what, pi ? pi : "(missing)", path_info);
}

Test(quick, routing_by_host_and_longest_prefix)
{
    three_apps_t t = start_three_apps();
    static const struct {
        const char *uri, *host, *app, *script, *path_info;
    } cases[] = {
        {"/", NULL, "alpha", "", "/"},
        {"/x/y", NULL, "alpha", "", "/x/y"},
        {"/a", NULL, "alpha", "/a", ""},
        {"/a/", NULL, "alpha", "/a", "/"},
        {"/a/x", NULL, "alpha", "/a", "/x"},
        {"/ab", NULL, "alpha", "", "/ab"},          /* segment boundary */
        {"/a/bc", NULL, "alpha", "/a", "/bc"},      /* segment boundary */
        {"/a/b", NULL, "beta", "/a/b", ""},
        {"/a/b/", NULL, "beta", "/a/b", "/"},
        {"/a/b/c/d", NULL, "beta", "/a/b", "/c/d"},
        {"/a/x", "beta.example.com", "beta", "", "/a/x"},
        {"/a/x", "beta.example.com:8080", "beta", "", "/a/x"},
        {"/a/x", "BETA.example.com", "beta", "", "/a/x"},
        {"/a/x", "other.example.com", "alpha", "/a", "/x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sw_scgi_response_t r;
        const char *hdr[1];
        size_t nh = 0;
        if (cases[i].host)
            hdr[nh++] = h_fmt("Host: %s", cases[i].host);
        h_request(t.shared, "GET", cases[i].uri, hdr, nh, NULL, 0, &r);
        expect_route(&r, h_fmt("GET %s (Host %s)", cases[i].uri,
                               cases[i].host ? cases[i].host : "none"),
                     cases[i].app, cases[i].script, cases[i].path_info);
        sw_scgi_response_free(&r);
    }

    /* No HTTP_HOST: SERVER_NAME decides. */
    sw_scgi_response_t r;
    const char *kv[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/a/x",
                        "DOCUMENT_URI", "/a/x", "QUERY_STRING", "",
                        "SERVER_NAME", "beta.example.com", "SERVER_PORT", "80",
                        "SERVER_PROTOCOL", "HTTP/1.1", "REMOTE_ADDR",
                        "127.0.0.1"};
    h_scgi_send(t.shared, KV(kv), NULL, 0, &r);
    expect_route(&r, "SERVER_NAME fallback", "beta", "", "/a/x");
    sw_scgi_response_free(&r);

    h_server_stop_clean(t.srv);
}

Test(quick, path_sources_nginx_apache_request_uri)
{
    three_apps_t t = start_three_apps();
    sw_scgi_response_t r;

    /* nginx style: DOCUMENT_URI wins over REQUEST_URI (e.g. after a rewrite)
     * and is used as sent (nginx already decoded it). */
    const char *nginx[] = {"REQUEST_METHOD", "GET",
                           "REQUEST_URI", "/original%20uri?k=v",
                           "DOCUMENT_URI", "/a/b/rewritten x",
                           "QUERY_STRING", "k=v",
                           "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                           "SERVER_PROTOCOL", "HTTP/1.1"};
    h_scgi_send(t.shared, KV(nginx), NULL, 0, &r);
    expect_route(&r, "nginx style", "beta", "/a/b", "/rewritten x");
    char *qs = h_json_get(r.body, "QUERY_STRING");
    cr_expect(qs && strcmp(qs, "k=v") == 0, "QUERY_STRING \"%s\"",
              qs ? qs : "(missing)");
    char *ru = h_json_get(r.body, "REQUEST_URI");
    cr_expect(ru && strcmp(ru, "/original%20uri?k=v") == 0,
              "REQUEST_URI must be passed as sent, got \"%s\"",
              ru ? ru : "(missing)");
    sw_scgi_response_free(&r);

    /* Apache style: SCRIPT_NAME + PATH_INFO as sent is the path; the
     * server re-splits it at the mount. */
    const char *apache[] = {"REQUEST_METHOD", "GET",
                            "REQUEST_URI", "/a/b/c%20d",
                            "SCRIPT_NAME", "/a",
                            "PATH_INFO", "/b/c d",
                            "QUERY_STRING", "",
                            "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                            "SERVER_PROTOCOL", "HTTP/1.1"};
    h_scgi_send(t.shared, KV(apache), NULL, 0, &r);
    expect_route(&r, "Apache style", "beta", "/a/b", "/c d");
    sw_scgi_response_free(&r);

    const char *apache2[] = {"REQUEST_METHOD", "GET",
                             "REQUEST_URI", "/ignored",
                             "SCRIPT_NAME", "",
                             "PATH_INFO", "/a/q",
                             "QUERY_STRING", "",
                             "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                             "SERVER_PROTOCOL", "HTTP/1.1"};
    h_scgi_send(t.shared, KV(apache2), NULL, 0, &r);
    expect_route(&r, "Apache style, empty SCRIPT_NAME", "alpha", "/a", "/q");
    sw_scgi_response_free(&r);

    /* Only REQUEST_URI: its path, percent-decoded, without the query. */
    const char *bare[] = {"REQUEST_METHOD", "GET",
                          "REQUEST_URI", "/a/b/x%20y/%C3%A9?q=%20z",
                          "QUERY_STRING", "q=%20z",
                          "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                          "SERVER_PROTOCOL", "HTTP/1.1"};
    h_scgi_send(t.shared, KV(bare), NULL, 0, &r);
    /* PEP 3333: environ strings are latin-1 decoded bytes, so "é" (UTF-8
     * C3 A9) arrives as "\u00c3\u00a9". */
    expect_route(&r, "REQUEST_URI only", "beta", "/a/b", "/x y/\xc3\x83\xc2\xa9");
    sw_scgi_response_free(&r);

    const char *bare2[] = {"REQUEST_METHOD", "GET",
                           "REQUEST_URI", "/a/a%20b",
                           "SERVER_NAME", "localhost", "SERVER_PORT", "80",
                           "SERVER_PROTOCOL", "HTTP/1.1"};
    h_scgi_send(t.shared, KV(bare2), NULL, 0, &r);
    expect_route(&r, "REQUEST_URI only (/a/a%20b)", "alpha", "/a", "/a b");
    sw_scgi_response_free(&r);

    h_server_stop_clean(t.srv);
}

Test(quick, private_listener_serves_only_its_app)
{
    three_apps_t t = start_three_apps();
    sw_scgi_response_t r;

    /* gamma has no mount: its listener's root. */
    h_get(t.private_, "/a/b/c", &r);
    expect_route(&r, "private listener /a/b/c", "gamma", "", "/a/b/c");
    sw_scgi_response_free(&r);
    h_get(t.private_, "/", &r);
    expect_route(&r, "private listener /", "gamma", "", "/");
    sw_scgi_response_free(&r);

    /* ... and gamma is not reachable through the shared listener. */
    for (int i = 0; i < 3; i++) {
        const char *uri = i == 0 ? "/" : i == 1 ? "/gamma" : "/a/b/c";
        h_get(t.shared, uri, &r);
        char *app = h_json_get(r.body, "subwsgi.app");
        cr_expect(r.status == 404 || (app && strcmp(app, "gamma") != 0),
                  "GET %s on the shared listener reached gamma", uri);
        sw_scgi_response_free(&r);
    }
    h_server_stop_clean(t.srv);
}

Test(quick, unix_socket_listener_and_mode)
{
    three_apps_t t = start_three_apps();
    struct stat st;

    cr_assert(stat(t.sock, &st) == 0, "no unix socket at %s", t.sock);
    cr_expect(S_ISSOCK(st.st_mode), "%s is not a socket", t.sock);
    cr_expect((st.st_mode & 0777) == 0600, "socket mode %o, want 600 "
              "(socket-mode = 0600)", st.st_mode & 0777);

    sw_scgi_response_t r;
    h_get(h_fmt("unix:%s", t.sock), "/a/b/z", &r);
    expect_route(&r, "unix socket /a/b/z", "beta", "/a/b", "/z");
    sw_scgi_response_free(&r);
    h_server_stop_clean(t.srv);
}

Test(quick, unix_socket_default_mode)
{
    char *dir = h_tmpdir();
    char *sock = h_fmt("%s/quick.sock", dir);
    char *addr = h_fmt("unix:%s", sock);
    h_server_t *s = h_server_quick(dir, h_app("hello.py"), addr, NULL);
    struct stat st;
    cr_assert(stat(sock, &st) == 0, "no unix socket at %s", sock);
    cr_expect((st.st_mode & 0777) == 0660, "default socket mode %o, want 660",
              st.st_mode & 0777);
    sw_scgi_response_t r;
    h_get(addr, "/", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body ? r.body : "", "Hello, world!\n");
    sw_scgi_response_free(&r);
    h_server_stop_clean(s);
}

/* ---- concurrency -------------------------------------------------------------- */

Test(quick, two_interpreters_two_threads_serve_concurrently)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    char *barrier = h_fmt("%s/barrier", dir);
    cr_assert(mkdir(barrier, 0755) == 0);
    const char *extra[] = {"--interpreters", "2", "--threads", "2", NULL};
    h_server_t *s = h_server_quick(dir, h_app("gate.py"), addr, extra);

    /* Four requests that each wait until all four have arrived: they can
     * only all succeed if four workers run them at the same time. */
    enum { N = 4 };
    h_async_t *a[N];
    for (int i = 0; i < N; i++)
        a[i] = h_async_get(addr, h_fmt("/barrier?dir=%s&n=%d&id=%d&max=20",
                                       barrier, N, i), 60);
    char tokens[N][64];
    for (int i = 0; i < N; i++) {
        cr_assert(h_async_wait(a[i], 60), "request %d did not finish", i);
        cr_assert_eq(a[i]->rc, 0, "request %d: %s", i, a[i]->err);
        cr_expect_eq(a[i]->resp.status, 200, "request %d status %d", i,
                     a[i]->resp.status);
        char word[16] = "";
        unsigned long tid = 0;
        tokens[i][0] = '\0';
        sscanf(a[i]->resp.body ? a[i]->resp.body : "", "%15s %63s %lu", word,
               tokens[i], &tid);
        cr_expect_str_eq(word, "met", "request %d ran alone (\"%s\"): the "
                         "requests were not served concurrently", i,
                         a[i]->resp.body ? a[i]->resp.body : "");
    }
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= strcmp(tokens[i], tokens[j]) == 0;
        distinct += !dup;
    }
    cr_expect_eq(distinct, 2, "four concurrent requests ran in %d "
                 "interpreter(s), want 2", distinct);
    h_server_stop_clean(s);
}

/* ---- access log ---------------------------------------------------------------- */

Test(quick, access_log_line)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    h_server_t *s = h_server_quick(dir, h_app("hello.py"), addr, NULL);
    sw_scgi_response_t r;

    h_get(addr, "/logged/path?y=1", &r);
    cr_expect_eq(r.status, 200);
    sw_scgi_response_free(&r);

    const char *needles[] = {" hello ", "GET", "/logged/path?y=1", NULL};
    char *line = h_log_wait_line(s, needles, 10);
    cr_assert(line, "no access log line for GET /logged/path?y=1; log:\n%s",
              h_log_tail(s));
    /* time app method uri status bytes duration */
    char *copy = h_fmt("%s", line), *save = NULL, *tok[16];
    int n = 0;
    for (char *w = strtok_r(copy, " ", &save); w && n < 16;
         w = strtok_r(NULL, " ", &save))
        tok[n++] = w;
    int at = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tok[i], "hello") == 0) {
            at = i;
            break;
        }
    cr_assert(at >= 1 && at + 4 < n,
              "access log line has an unexpected shape: %s", line);
    cr_expect(strchr(tok[0], 'T') != NULL || strchr(tok[0], ':') != NULL,
              "access log line should start with a time: %s", line);
    cr_expect_str_eq(tok[at + 1], "GET", "method in: %s", line);
    cr_expect_str_eq(tok[at + 2], "/logged/path?y=1", "uri in: %s", line);
    cr_expect_str_eq(tok[at + 3], "200", "status in: %s", line);
    cr_expect_str_eq(tok[at + 4], "14", "bytes (body of 14) in: %s", line);
    cr_expect(at + 5 < n && tok[at + 5][0] >= '0' && tok[at + 5][0] <= '9',
              "duration missing in: %s", line);
    h_server_stop_clean(s);
}

Test(quick, log_files_and_pid_file)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    char *access = h_fmt("%s/access.log", dir);
    char *error = h_fmt("%s/error.log", dir);
    char *pid = h_fmt("%s/subwsgi.pid", dir);
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "admin = off\n"
                      "access-log = %s\n"
                      "error-log = %s\n"
                      "pid-file = %s\n"
                      "\n"
                      "[app:hello]\n"
                      "wsgi = %s\n"
                      "mount = /\n",
                      addr, access, error, pid, h_app("hello.py"));
    h_write_file(h_fmt("%s/subwsgi.ini", dir), ini, strlen(ini));
    const char *args[] = {"-c", h_fmt("%s/subwsgi.ini", dir), NULL};
    h_server_t *s = h_server_start_ex(dir, addr, args, NULL, error);

    char *pidtext = h_read_file(pid, NULL);
    cr_expect(pidtext && atoi(pidtext) == (int)s->proc->pid,
              "pid-file holds \"%s\", want %d", pidtext ? pidtext : "(none)",
              (int)s->proc->pid);
    free(pidtext);

    sw_scgi_response_t r;
    h_get(addr, "/to-the-file", &r);
    cr_expect_eq(r.status, 200);
    sw_scgi_response_free(&r);
    double end = h_now() + 10;
    char *text = NULL;
    for (;;) {
        text = h_read_file(access, NULL);
        if ((text && strstr(text, "GET /to-the-file 200")) || h_now() > end)
            break;
        free(text);
        h_nap(0.02);
    }
    cr_expect(text && strstr(text, "hello GET /to-the-file 200 14"),
              "no access line in %s:\n%s", access, text ? text : "(no file)");
    free(text);
    h_server_stop_clean(s);

    char *out = h_read_file(s->out, NULL);
    cr_expect(!out || strstr(out, "/to-the-file") == NULL,
              "the access line also went to stderr:\n%s", out);
    free(out);
}

Test(quick, access_log_off)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = off\naccess-log = off\n"
                      "\n[app:hello]\nwsgi = %s\nmount = /\n",
                      addr, h_app("hello.py"));
    h_server_t *s = h_server_config(dir, addr, ini, NULL);
    sw_scgi_response_t r;
    h_get(addr, "/not-logged", &r);
    cr_expect_eq(r.status, 200);
    sw_scgi_response_free(&r);
    h_server_stop_clean(s);   /* flushes everything */
    char *log = h_log(s);
    cr_expect(strstr(log, "/not-logged") == NULL,
              "access-log = off, yet the request was logged:\n%s", log);
    free(log);
}

/* ---- SIGTERM drains ------------------------------------------------------------- */

Test(quick, sigterm_finishes_inflight_request)
{
    char *dir = h_tmpdir(), *addr = tcp_addr();
    h_server_t *s = h_server_quick(dir, h_app("gate.py"), addr, NULL);
    char *started = h_fmt("%s/started", dir);

    /* The request takes 2 s (its gate never opens); SIGTERM comes while it
     * runs. The drain (default 30 s) must let it finish. */
    h_async_t *a = h_async_get(
        addr, h_fmt("/slow?gate=%s/never&started=%s&max=2", dir, started), 60);
    cr_assert(h_wait_file(started, 20), "the slow request never started; "
              "log:\n%s", h_log_tail(s));
    cr_assert_eq(kill(s->proc->pid, SIGTERM), 0);

    cr_assert(h_async_wait(a, 60), "in-flight request did not finish");
    cr_expect_eq(a->rc, 0, "in-flight request failed: %s", a->err);
    cr_expect_eq(a->resp.status, 200, "in-flight request: status %d, "
                 "response:\n%s", a->resp.status,
                 a->resp.raw ? a->resp.raw : "(none)");
    cr_expect_str_eq(a->resp.body ? a->resp.body : "", "expired");

    cr_assert(h_proc_wait(s->proc, H_STOP_TIMEOUT),
              "subwsgi did not exit after SIGTERM; log:\n%s", h_log_tail(s));
    int st = s->proc->status;
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "exit after SIGTERM: %s; log:\n%s", h_status_text(st),
              h_log_tail(s));
    h_assert_no_crash(s);
}

/* test_edge_admin.c: the admin port's edges of issue 11 against the real
 * binary: a token hash given to two users and a non-loopback admin without
 * TLS are config errors (--check names the lines); a NUL in an admin path is
 * a 400, not a shorter path; an over-long URI or header answers JSON (414,
 * 431) like every other error; and idle or trickling unauthenticated
 * connections cannot lock the panel out (an authenticated GET /v1/apps
 * answers within 1 s with 100, and with more than the port keeps for them).
 * A user name of any length is the caller's whole name, in the visibility
 * check, the audit line, the app's last_reload and the log. POST /v1/server/recycle?owner= (host mode)
 * is a 400 in single mode.
 *
 * Servers get root (admin) and alice (user), and two apps: ablog (owner
 * alice) and ops (admins only), both tests/apps/hello.py. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(edge_admin, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define ALICE "alice-token-0123456789"
#define ROOT "root-token-ZYXWVUTSRQ"
/* printf %s TOKEN | sha256sum */
#define ALICE_SHA "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

#define IO_TIMEOUT 30.0
#define ANSWER_WITHIN_S 1.0   /* the acceptance bound of issue 11 */

typedef struct {
    h_server_t *srv;
    int port;                 /* admin */
} edge_t;

/* ---- helpers ----------------------------------------------------------------- */

/* The [user:...] and [app:...] sections every config here uses. */
static char *users_and_apps(void)
{
    return h_fmt("[user:root]\n"
                 "token-sha256 = " ROOT_SHA "\n"
                 "role = admin\n"
                 "\n"
                 "[user:alice]\n"
                 "token-sha256 = " ALICE_SHA "\n"
                 "role = user\n"
                 "\n"
                 "[app:ablog]\n"
                 "owner = alice\n"
                 "wsgi = %s\n"
                 "mount = /alice\n"
                 "\n"
                 "[app:ops]\n"
                 "wsgi = %s\n"
                 "mount = /ops\n",
                 h_app("hello.py"), h_app("hello.py"));
}

static edge_t start_edge(void)
{
    edge_t e;
    char *dir = h_tmpdir();
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.port = h_free_port();
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\n\n%s", scgi, e.port,
                      users_and_apps());
    e.srv = h_server_config(dir, scgi, ini, NULL);
    return e;
}

/* subwsgi -c (text written to a temp file) --check: the exit status; *out
 * gets the output (registry-owned) and *path the file's path. */
static int check_config(const char *text, char **path, char **out)
{
    *path = h_fmt("%s/subwsgi.ini", h_tmpdir());
    h_write_file(*path, text, strlen(text));
    char *const argv[] = {h_binary(), "-c", *path, "--check", NULL};
    char *o = NULL;
    int st = h_run(argv, 30, &o);
    *out = h_fmt("%s", o ? o : "");
    free(o);
    return st;
}

/* One request to the admin port with optional extra header lines. */
static void call(const edge_t *e, const char *method, const char *path, const char *token,
                 const char *extra_header, h_http_resp_t *r)
{
    const char *hdr[2];
    size_t nh = 0;
    if (token)
        hdr[nh++] = h_fmt("Authorization: Bearer %s", token);
    if (extra_header)
        hdr[nh++] = extra_header;
    char err[256] = "";
    int rc = h_http(e->port, method, path, hdr, nh, NULL, 0, IO_TIMEOUT, r, err, sizeof err);
    cr_assert_eq(rc, 0, "%s %.60s: %s; log:\n%s", method, path, err, h_log_tail(e->srv));
}

/* Expects status and a JSON error body {"error": code, "message": "..."}
 * served as application/json. */
static void expect_json_error(const h_http_resp_t *r, int status, const char *code,
                              const char *what)
{
    cr_expect_eq(r->status, status, "%s: status %d, want %d; head:\n%s\nbody: %.300s", what,
                 r->status, status, r->head ? r->head : "", r->body ? r->body : "(none)");
    cr_expect(r->head && strcasestr(r->head, "\nContent-Type: application/json"),
              "%s: not served as JSON; head:\n%s", what, r->head ? r->head : "");
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &je);
    cr_expect_not_null(j, "%s: body is not JSON (%s): %.300s", what, je.text,
                       r->body ? r->body : "(none)");
    const char *got = json_string_value(json_object_get(j, "error"));
    cr_expect(got && strcmp(got, code) == 0, "%s: error \"%s\", want \"%s\"", what,
              got ? got : "(none)", code);
    cr_expect(json_is_string(json_object_get(j, "message")), "%s: no message", what);
    json_decref(j);
}

/* A connected TCP socket to 127.0.0.1:port, or -1. */
static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends len raw bytes to the admin port and reads until it closes: the
 * answer (registry-owned), "" when none came. */
static char *raw_exchange(const edge_t *e, const char *bytes, size_t len)
{
    int fd = connect_to(e->port);
    cr_assert(fd >= 0, "connect: %s", strerror(errno));
    struct timeval tv = {(time_t)IO_TIMEOUT, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof buf && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    return h_fmt("%s", buf);
}

/* Hostile clients: fds[0..n) connected; the odd ones trickle a request
 * head one byte per interval (never finishing it), the even ones stay
 * silent. */
typedef struct {
    int *fds;
    size_t n;
    double interval;
    h_bg_t *bg;
} flood_t;

/* h_bg thread: trickles until stopped. */
static void trickle(void *arg, const atomic_int *stop)
{
    flood_t *f = arg;
    static const char head[] = "GET /v1/apps HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (size_t i = 1; i < f->n; i += 2)
        if (f->fds[i] >= 0)
            (void)send(f->fds[i], head, sizeof head - 1, MSG_NOSIGNAL);
    while (!atomic_load(stop)) {
        for (size_t i = 1; i < f->n; i += 2)
            if (f->fds[i] >= 0)
                (void)send(f->fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (double t = 0; t < f->interval && !atomic_load(stop); t += 0.05)
            h_nap(0.05);
    }
}

static flood_t *flood_start(int port, size_t n, double interval)
{
    flood_t *f = calloc(1, sizeof *f);
    f->fds = calloc(n, sizeof *f->fds);
    f->n = n;
    f->interval = interval;
    for (size_t i = 0; i < n; i++) {
        f->fds[i] = connect_to(port);
        cr_assert(f->fds[i] >= 0, "connection %zu: %s", i, strerror(errno));
    }
    f->bg = h_bg_start(trickle, f);
    return f;
}

static void flood_stop(flood_t *f)
{
    h_bg_join(f->bg);
    for (size_t i = 0; i < f->n; i++)
        if (f->fds[i] >= 0)
            close(f->fds[i]);
    free(f->fds);
    free(f);
}

/* For `seconds`, once a second: an authenticated GET /v1/apps must answer
 * 200 within ANSWER_WITHIN_S. Returns the slowest answer in seconds. */
static double panel_keeps_answering(const edge_t *e, double seconds, const char *what)
{
    double worst = 0;
    int n = 0;
    for (double end = h_now() + seconds; h_now() < end; n++) {
        h_http_resp_t r;
        char err[256] = "";
        double t0 = h_now();
        int rc = h_http(e->port, "GET", "/v1/apps",
                        (const char *const[]){"Authorization: Bearer " ROOT}, 1, NULL, 0,
                        IO_TIMEOUT, &r, err, sizeof err);
        double took = h_now() - t0;
        cr_assert_eq(rc, 0, "%s: GET /v1/apps #%d after %.1f s: %s; log:\n%s", what, n,
                     seconds - (end - h_now()), err, h_log_tail(e->srv));
        cr_expect_eq(r.status, 200, "%s: GET /v1/apps #%d: %d %s", what, n, r.status, r.body);
        cr_expect(took < ANSWER_WITHIN_S, "%s: GET /v1/apps #%d took %.3f s", what, n, took);
        h_http_free(&r);
        if (took > worst)
            worst = took;
        h_nap(1.0);
    }
    fprintf(stderr, "edge_admin: %s: %d authenticated GET /v1/apps, slowest %.1f ms\n", what,
            n, worst * 1e3);
    return worst;
}

/* ---- careless configs (--check) -------------------------------------------- */

/* Issue 11, finding 1: alice (user) and mallory (admin) with one hash made
 * alice's token an admin's. DESIGN section 7: a config error, naming both
 * lines. */
Test(edge_admin, token_hash_given_to_two_users_is_refused)
{
    char *ini = h_fmt("[server]\n"                                   /* 1 */
                      "scgi = 127.0.0.1:%d\n"                        /* 2 */
                      "\n"                                           /* 3 */
                      "[user:alice]\n"                               /* 4 */
                      "token-sha256 = " ALICE_SHA "\n"               /* 5 */
                      "role = user\n"                                /* 6 */
                      "\n"                                           /* 7 */
                      "[user:mallory]\n"                             /* 8 */
                      "role = admin\n"                               /* 9 */
                      "token-sha256 = " ALICE_SHA "\n"               /* 10 */
                      "\n"
                      "[app:ablog]\nowner = alice\nwsgi = %s\nmount = /\n",
                      h_free_port(), h_app("hello.py"));
    char *path, *out;
    int st = check_config(ini, &path, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--check: %s, want exit 1; output:\n%s",
              h_status_text(st), out);
    cr_expect(strstr(out, h_fmt("%s:10: [user:mallory] token-sha256: the same hash as "
                                "[user:alice] (line 5)", path)),
              "--check must name both lines; output:\n%s", out);
}

/* Issue 11, finding 11: DESIGN section 7, "a non-loopback admin address
 * without TLS is a config error". With TLS it is fine. */
Test(edge_admin, non_loopback_admin_needs_tls)
{
    static const char *const addrs[] = {"0.0.0.0", "[::]", "192.0.2.7"};
    char *rest = users_and_apps();
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        char *admin = h_fmt("%s:%d", addrs[i], h_free_port());
        char *ini = h_fmt("[server]\nscgi = 127.0.0.1:%d\nadmin = %s\n\n%s", h_free_port(),
                          admin, rest);
        char *path, *out;
        int st = check_config(ini, &path, &out);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "admin = %s: --check %s; output:\n%s",
                  admin, h_status_text(st), out);
        cr_expect(strstr(out, h_fmt("%s:3: [server] admin: \"%s\" is not a loopback address",
                                    path, admin)),
                  "admin = %s: output:\n%s", admin, out);
    }
    /* --check reads the PEM files only for readability: any file will do. */
    char *ini = h_fmt("[server]\nscgi = 127.0.0.1:%d\nadmin = 0.0.0.0:%d\n"
                      "admin-tls-cert = %s\nadmin-tls-key = %s\n\n%s",
                      h_free_port(), h_free_port(), h_app("hello.py"), h_app("hello.py"), rest);
    char *path, *out;
    int st = check_config(ini, &path, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "with TLS: --check %s; output:\n%s",
              h_status_text(st), out);
}

/* ---- hostile requests ---------------------------------------------------------- */

/* Issue 11, finding 10: "%00" ended the path libmicrohttpd handed over, so
 * /v1/apps/ablog%00 answered for ablog and /panel/panel.js%00.html served
 * the script. Now any NUL in the request target is a 400 (JSON), logged,
 * and nothing is done. */
Test(edge_admin, nul_in_the_request_target_is_400)
{
    edge_t e = start_edge();
    static const struct {
        const char *method, *path, *token;
    } cases[] = {
        {"GET", "/v1/apps/ablog%00", ROOT},
        {"GET", "/v1/apps/ablog%00x", ROOT},
        {"GET", "/v1/apps%00/ablog", ROOT},
        {"POST", "/v1/apps/ablog%00/destroy", ALICE},
        {"POST", "/v1/apps/ablog/destroy?wait=1%00", ALICE},
        {"GET", "/panel/panel.js%00.html", NULL},
        {"GET", "/healthz%00", NULL},
        {"GET", "/v1/apps?x=%00", ROOT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_http_resp_t r;
        call(&e, cases[i].method, cases[i].path, cases[i].token, NULL, &r);
        expect_json_error(&r, 400, "bad_request",
                          h_fmt("%s %s", cases[i].method, cases[i].path));
        h_http_free(&r);
    }
    /* Nothing was destroyed: ablog never went idle. */
    json_t *app = NULL;
    cr_expect_eq(h_admin_call(e.port, ROOT, "GET", "/v1/apps/ablog", &app, IO_TIMEOUT), 200);
    const char *state = json_string_value(json_object_get(app, "state"));
    cr_expect(state && strcmp(state, "serving") == 0, "ablog is %s", state ? state : "?");
    json_decref(app);
    cr_expect(h_log_wait(e.srv, "admin: refused GET /v1/apps/ablog%00: ", 5), "no log line:\n%s",
              h_log_tail(e.srv));
    /* A raw NUL byte in the request line: the same cut, the same answer. */
    static const char raw[] = "GET /v1/apps/ablog\0x HTTP/1.0\r\n"
                              "Authorization: Bearer " ROOT "\r\n\r\n";
    char *ans = raw_exchange(&e, raw, sizeof raw - 1);
    cr_expect(strncmp(ans, "HTTP/1.1 400 ", 13) == 0 && strstr(ans, "\"bad_request\""),
              "a raw NUL in the target got:\n%s", ans);
    static const char raw2[] = "GET /v1/apps/ablog\0HTTP/1.1 HTTP/1.1\r\n"
                               "Authorization: Bearer " ROOT "\r\n\r\n";
    ans = raw_exchange(&e, raw2, sizeof raw2 - 1);
    cr_expect(strncmp(ans, "HTTP/1.1 400 ", 13) == 0, "a raw NUL before a fake version got:\n%s",
              ans);
    /* An escaped '%' is just part of a name. */
    h_http_resp_t r;
    call(&e, "GET", "/v1/apps/ablog%2500", ROOT, NULL, &r);
    expect_json_error(&r, 404, "not_found", "GET /v1/apps/ablog%2500");
    h_http_free(&r);
    h_server_stop_clean(e.srv);
}

/* Issue 11, finding 10: libmicrohttpd answered an over-long URI or header
 * with its own HTML page. A target over 8 KiB is a 414, a head over 64 KiB
 * a 431, both JSON (up to libmicrohttpd's 128 KiB pool, beyond which it
 * still answers 431 itself: README). */
Test(edge_admin, over_long_uri_and_headers_answer_json)
{
    edge_t e = start_edge();
    h_http_resp_t r;
    size_t n = 40 * 1024;
    char *pad = malloc(n + 1);
    memset(pad, 'a', n);
    pad[n] = '\0';
    call(&e, "GET", h_fmt("/v1/apps/%.10240s", pad), ROOT, NULL, &r);
    expect_json_error(&r, 414, "bad_request", "a 10 KiB URI");
    h_http_free(&r);
    call(&e, "GET", h_fmt("/v1/apps/%s", pad), ROOT, NULL, &r);
    expect_json_error(&r, 414, "bad_request", "a 40 KiB URI");
    h_http_free(&r);
    call(&e, "GET", "/v1/apps", ROOT, h_fmt("X-Pad: %s%s", pad, pad), &r);
    expect_json_error(&r, 431, "bad_request", "an 80 KiB header");
    h_http_free(&r);
    free(pad);
    cr_expect(h_log_wait(e.srv, "the request head is over 64 KiB", 5), "no log line:\n%s",
              h_log_tail(e.srv));
    /* The port still answers. */
    cr_expect_eq(h_admin_call(e.port, ROOT, "GET", "/v1/apps", NULL, IO_TIMEOUT), 200);
    h_server_stop_clean(e.srv);
}

/* ---- long user names ------------------------------------------------------------ */

/* User names have no length limit ([A-Za-z0-9_.-]+), but the admin port
 * copied the caller's name into 64 bytes: a user whose name was 66 bytes
 * saw no app of its own, and saw and controlled every app of the user
 * named by its first 63 bytes; its audit lines named that user too. */
/* longapp's last_reload.requested_by is want. */
static void expect_requested_by(int port, const char *token, const char *want, const char *when)
{
    json_t *j = NULL;
    cr_assert_eq(h_admin_call(port, token, "GET", "/v1/apps/longapp", &j, IO_TIMEOUT), 200);
    const char *by = json_string_value(
        json_object_get(json_object_get(j, "last_reload"), "requested_by"));
    cr_expect(by && strcmp(by, want) == 0, "%s: requested_by %s, want %s", when,
              by ? by : "(none)", want);
    json_decref(j);
}

Test(edge_admin, long_user_name_is_not_cut_short)
{
    char *shortname = h_fmt("%063d", 7);          /* "000...07", 63 bytes */
    char *longname = h_fmt("%sXYZ", shortname);   /* 66 bytes, shortname a prefix */
    char *dir = h_tmpdir();
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    edge_t e = {.port = h_free_port()};
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\n\n"
                      "[user:%s]\ntoken-sha256 = "
                      "57f3540dfffd92a4ac54d7c9c6c248d0c58045a2061ca2549826aa2a2eefbfc7\n"
                      "role = user\n\n"
                      "[user:%s]\ntoken-sha256 = "
                      "2274f7949724b40254ac42373bbec35575205f0239c1ccac83b9ff98a4978cad\n"
                      "role = user\n\n"
                      "[app:shortapp]\nowner = %s\nwsgi = %s\nmount = /s\n\n"
                      "[app:longapp]\nowner = %s\nwsgi = %s\nmount = /l\n",
                      scgi, e.port, shortname, longname, shortname, h_app("hello.py"),
                      longname, h_app("hello.py"));
    e.srv = h_server_config(dir, scgi, ini, NULL);
    const char *token = "long-name-token-0123";   /* longname's */
    json_t *j = NULL;
    cr_assert_eq(h_admin_call(e.port, token, "GET", "/v1/apps", &j, IO_TIMEOUT), 200);
    json_t *apps = json_object_get(j, "apps");
    cr_expect_eq(json_array_size(apps), 1, "the long-named user's list: %s",
                 json_dumps(j, JSON_COMPACT));
    const char *name = json_string_value(json_object_get(json_array_get(apps, 0), "name"));
    cr_expect(name && strcmp(name, "longapp") == 0, "it lists %s, want longapp",
              name ? name : "nothing");
    json_decref(j);
    cr_expect_eq(h_admin_call(e.port, token, "GET", "/v1/apps/longapp", NULL, IO_TIMEOUT), 200);
    cr_expect_eq(h_admin_call(e.port, token, "GET", "/v1/apps/shortapp", NULL, IO_TIMEOUT), 404);
    cr_expect_eq(h_admin_call(e.port, token, "POST", "/v1/apps/shortapp/destroy?wait=5", NULL,
                              IO_TIMEOUT), 404);
    cr_expect_eq(h_admin_call(e.port, token, "POST", "/v1/apps/longapp/reload?wait=30", NULL,
                              IO_TIMEOUT), 200);
    /* The audit line names the caller in full. */
    const char *audit[] = {h_fmt("audit user=%s app=longapp action=reload result=ok", longname),
                           NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, audit, 10), "no audit line naming %s; log:\n%s",
                       longname, h_log_tail(e.srv));
    /* So does the app's status: last_reload.requested_by went through the
     * loader's command and the reload record, each of which cut it at 63
     * bytes (to shortname, another user) before they copied it whole. */
    expect_requested_by(e.port, token, longname, "after the reload");
    cr_expect_eq(h_admin_call(e.port, token, "POST", "/v1/apps/longapp/destroy?wait=30", NULL,
                              IO_TIMEOUT), 200);
    expect_requested_by(e.port, token, longname, "after the destroy");
    const char *ending[] = {"[longapp]", h_fmt("destroy (by %s): draining", longname), NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, ending, 10), "no destroy line naming %s; log:\n%s",
                       longname, h_log_tail(e.srv));
    h_server_stop_clean(e.srv);
}

/* ---- recycle by owner ----------------------------------------------------------- */

/* POST /v1/server/recycle?owner=NAME is host mode's (DESIGN section 9: that
 * owner's process alone). In single mode one process serves every owner,
 * so it is refused, not taken for a recycle of the whole: nothing is handed
 * over. A malformed owner is refused first. */
Test(edge_admin, recycle_by_owner_is_400_in_single_mode)
{
    edge_t e = start_edge();
    static const char *const paths[] = {
        "/v1/server/recycle?owner=alice",
        "/v1/server/recycle?owner=alice&wait=5",
        "/v1/server/recycle?owner=",
        "/v1/server/recycle?owner=a%20b",
        "/v1/server/recycle?owner",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        h_http_resp_t r;
        call(&e, "POST", paths[i], ROOT, NULL, &r);
        expect_json_error(&r, 400, "bad_request", h_fmt("POST %s", paths[i]));
        h_http_free(&r);
    }
    /* A user token is still a 403 before any of that. */
    cr_expect_eq(h_admin_call(e.port, ALICE, "POST", "/v1/server/recycle?owner=alice", NULL,
                              IO_TIMEOUT), 403);
    json_t *j = NULL;
    cr_assert_eq(h_admin_call(e.port, ROOT, "GET", "/v1/server", &j, IO_TIMEOUT), 200);
    cr_expect_eq(json_integer_value(json_object_get(j, "handovers")), 0,
                 "a handover happened: %s", json_dumps(j, JSON_COMPACT));
    json_decref(j);
    cr_expect(!h_proc_exited(e.srv->proc), "the server left");
    h_server_stop_clean(e.srv);
}

/* ---- connection exhaustion ------------------------------------------------------ */

/* n hostile connections (half idle, half trickling a byte per interval)
 * held while the panel is asked for seconds; with log_needle, the server
 * must also have logged it. */
static void flood_test(size_t n, double interval, double seconds, const char *log_needle)
{
    edge_t e = start_edge();
    flood_t *f = flood_start(e.port, n, interval);
    h_nap(0.5);
    panel_keeps_answering(&e, seconds, h_fmt("%zu idle/trickling", n));
    if (log_needle)
        cr_expect(h_log_wait(e.srv, log_needle, 5), "no \"%s\" in the log:\n%s", log_needle,
                  h_log_tail(e.srv));
    flood_stop(f);
    h_server_stop_clean(e.srv);
}

/* Issue 11, finding 3: 64 idle connections took every slot, and a client
 * trickling a byte every few seconds kept its slot forever. The
 * acceptance: "With 100 idle or trickling unauthenticated connections on
 * the admin port, an authenticated GET /v1/apps answers within 1 s", over
 * longer than the connection timeout. */
Test(edge_admin, hundred_idle_or_trickling_connections_do_not_lock_out)
{
    flood_test(100, 1.0, 15.0, NULL);
}

/* More unauthenticated connections than the port keeps for them (192):
 * the oldest are closed to make room, and the panel still answers. */
Test(edge_admin, more_connections_than_the_port_keeps)
{
    flood_test(400, 2.0, 5.0, "unauthenticated connections closed to make room");
}

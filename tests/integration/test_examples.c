/* test_examples.c: runs the files under examples/ for real, so the examples
 * the README points to cannot rot: each app example (hello, Flask, Django,
 * Bottle) with its own subwsgi.ini; the nginx site and upstream configs in
 * front of subwsgi over unix sockets (one instance stopped, the other keeps
 * answering); the Apache mod_proxy_scgi configs, over TCP and over a unix
 * socket, with SCRIPT_NAME/PATH_INFO checked for the /app prefix; and the
 * multiuser hosting configs (--check, the admin API over each admin socket
 * with curl --unix-socket, nginx routing by host); and host mode's hosting
 * example (as root, with two OS users made for it: --check, the master and
 * its two workers, each token's view, each customer's site through nginx,
 * one via the shared listener and one via the owner's own).
 *
 * Each test copies examples/ into a temp dir (relative paths in an ini are
 * relative to its directory, so the copy keeps the layout) and rewrites only
 * addresses and paths: ports from h_free_port, /run/subwsgi and /home into
 * the temp dir, and on a CPython other than Debian's 3.11 the python-path of
 * Debian's packages (plus, on 3.13+, tests/apps/cgi313 for Django and
 * Bottle: see there). Everything else runs as written. */
#include <criterion/criterion.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(examples, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* Debian's apache2-bin puts the modules here; the example files name the
 * same directory in their LoadModule lines. */
#define APACHE_MODULES "/usr/lib/apache2/modules"
#define CURL "/usr/bin/curl"

/* ---- the example files ------------------------------------------------------ */

/* A fresh copy of the source tree's examples/ (registry-owned path). */
static char *copy_examples(void)
{
    char *dir = h_tmpdir();
    char *src = h_fmt("%s/examples", h_srcdir());
    char *const argv[] = {"/bin/cp", "-R", src, dir, NULL};
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cp -R %s %s: %s\n%s",
              src, dir, h_status_text(st), out ? out : "");
    free(out);
    return h_fmt("%s/examples", dir);
}

/* The whole file as a registry-owned string; asserts it exists. */
static char *read_text(const char *path)
{
    char *t = h_read_file(path, NULL);
    cr_assert(t != NULL, "cannot read %s", path);
    char *r = h_fmt("%s", t);
    free(t);
    return r;
}

static void write_text(const char *path, const char *text)
{
    h_write_file(path, text, strlen(text));
}

/* text with every from replaced by to (registry-owned). Asserts that from
 * occurs: a rewrite that matches nothing means the example changed and the
 * test would no longer run what it claims to. */
static char *rewrite(const char *text, const char *from, const char *to,
                     const char *file)
{
    cr_assert(strstr(text, from) != NULL,
              "%s no longer contains \"%s\": update the test with the example",
              file, from);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    size_t flen = strlen(from);
    for (const char *p = text, *hit; *p; p = hit + flen) {
        hit = strstr(p, from);
        if (hit == NULL) {
            fputs(p, m);
            break;
        }
        fwrite(p, 1, (size_t)(hit - p), m);
        fputs(to, m);
    }
    fclose(m);
    char *r = h_fmt("%s", buf);
    free(buf);
    return r;
}

/* Reads path, applies the n (from, to) pairs of pairs, writes it back. */
static void rewrite_file(const char *path, const char *const *pairs, size_t n)
{
    char *t = read_text(path);
    for (size_t i = 0; i < n; i++)
        t = rewrite(t, pairs[2 * i], pairs[2 * i + 1], path);
    write_text(path, t);
}

static void make_dir(const char *path)
{
    cr_assert(mkdir(path, 0755) == 0, "mkdir %s: %m", path);
}

/* subwsgi -c ini, its log in a fresh dir; scgi is where requests go. */
static h_server_t *start_ini(const char *ini, const char *scgi)
{
    const char *args[] = {"-c", ini, NULL};
    return h_server_start(h_tmpdir(), scgi, args, NULL);
}

/* Lines of the server's log containing needle (its access log is stderr). */
static size_t log_count(h_server_t *s, const char *needle)
{
    char *log = h_log(s);
    size_t n = h_count(log, needle);
    free(log);
    return n;
}

/* Polls until the log has at least n lines with needle; returns the count. */
static size_t log_wait_count(h_server_t *s, const char *needle, size_t n,
                             double timeout)
{
    double end = h_now() + timeout;
    size_t have;
    while ((have = log_count(s, needle)) < n && h_now() < end)
        h_nap(0.05);
    return have;
}

/* ---- front ends ----------------------------------------------------------------- */

static void require_curl(void)
{
    cr_assert(access(CURL, X_OK) == 0, CURL " is missing: packaging/bootstrap "
              "installs it (apt-get install curl)");
}

/* nginx (h_nginx_start) running one example site file; the site's
 * "include scgi_params" needs Debian's file. */
static h_nginx_t start_nginx(const char *site_text, int port)
{
    const char *ng = h_nginx();
    cr_assert(*ng != '\0' && access(ng, X_OK) == 0,
              "nginx is missing (SW_NGINX=\"%s\"): packaging/bootstrap installs "
              "it (apt-get install nginx); then re-run ./configure", ng);
    cr_assert(access("/etc/nginx/scgi_params", R_OK) == 0, "/etc/nginx/scgi_params is "
              "missing: it comes with Debian's nginx (apt-get install nginx)");
    return h_nginx_start(site_text, port);
}

/* GET through nginx, asserting the transport; the response is checked by
 * the caller. */
static void nginx_get(h_nginx_t *n, const char *path, h_http_resp_t *r)
{
    char err[256] = "";
    int rc = h_http(n->port, "GET", path, NULL, 0, NULL, 0, H_IO_TIMEOUT, r,
                    err, sizeof err);
    cr_assert_eq(rc, 0, "GET %s through nginx: %s\nnginx log:\n%s", path, err,
                 h_nginx_log(n));
}

/* Apache with a private config: ServerRoot, pid file, logs and runtime
 * files in dir, one Listen, the MPM and authz_core (every request needs an
 * authorization provider), then Include of the example file, which loads
 * the proxy modules itself. -X: one process, in the foreground; as root it
 * then serves without switching user (no User directive: Apache refuses to
 * serve as User root, and another user could not reach the temp dir). */
typedef struct {
    h_proc_t *proc;
    int port;
    char *dir;
} apache_t;

static char *apache_log(apache_t *a)
{
    char *e = h_read_file(h_fmt("%s/error.log", a->dir), NULL);
    char *r = h_fmt("%s", e ? e : "");
    free(e);
    return r;
}

static apache_t start_apache(const char *include_path)
{
    const char *ap = h_apache();
    cr_assert(*ap != '\0' && access(ap, X_OK) == 0,
              "Apache is missing (SW_APACHE=\"%s\"): packaging/bootstrap "
              "installs it (apt-get install apache2-bin); then re-run "
              "./configure", ap);
    apache_t a = {.port = h_free_port(), .dir = h_tmpdir()};
    char *conf = h_fmt(
        "ServerRoot \"%s\"\n"
        "DefaultRuntimeDir \"%s\"\n"
        "PidFile \"%s/httpd.pid\"\n"
        "ErrorLog \"%s/error.log\"\n"
        "LogLevel warn\n"
        "Listen 127.0.0.1:%d\n"
        "ServerName localhost\n"
        "LoadModule mpm_event_module " APACHE_MODULES "/mod_mpm_event.so\n"
        "LoadModule authz_core_module " APACHE_MODULES "/mod_authz_core.so\n"
        "Include \"%s\"\n",
        a.dir, a.dir, a.dir, a.dir, a.port, include_path);
    char *conf_path = h_fmt("%s/httpd.conf", a.dir);
    write_text(conf_path, conf);
    char *argv[] = {(char *)ap, "-X", "-f", conf_path, NULL};
    char *out = h_fmt("%s/apache.out", a.dir);
    a.proc = h_spawn("apache2", argv, out, NULL);
    if (!h_wait_tcp(a.port, a.proc, 15)) {
        char *o = h_read_file(out, NULL);
        cr_assert_fail("apache2 did not start listening on %d (%s); output:\n"
                       "%s\nerror log:\n%s", a.port,
                       h_proc_exited(a.proc) ? h_status_text(a.proc->status)
                                             : "running",
                       o ? o : "", apache_log(&a));
    }
    return a;
}

/* ---- the app examples ------------------------------------------------------------ */

typedef struct {
    const char *name;        /* examples/NAME and its [app:NAME] */
    const char *scgi, *admin;/* the addresses its subwsgi.ini listens on */
    const char *title;       /* first word of its index page */
    int imports_cgi;         /* Debian 12's framework imports cgi */
} app_example_t;

/* The python-path lines an example app needs here. */
static const char *framework_paths(const app_example_t *e)
{
    return e->imports_cgi ? h_framework_paths() : h_debian_packages();
}

/* Starts examples/NAME/subwsgi.ini (ports rewritten) and checks the admin
 * API answers the demo token for the app. Returns the SCGI address. */
static char *start_app_example(const app_example_t *e)
{
    char *ex = copy_examples();
    char *ini = h_fmt("%s/%s/subwsgi.ini", ex, e->name);
    int admin_port = h_free_port();
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    const char *pairs[] = {
        e->scgi, scgi,
        e->admin, h_fmt("127.0.0.1:%d", admin_port),
        h_fmt("[app:%s]\n", e->name),
        h_fmt("[app:%s]\n%s", e->name, framework_paths(e)),
    };
    rewrite_file(ini, pairs, 3);
    start_ini(ini, scgi);

    /* The demo token of the ini's header comment works. */
    const char *auth[] = {"Authorization: Bearer demo-token-change-me"};
    h_http_resp_t r;
    char err[256] = "";
    char *path = h_fmt("/v1/apps/%s", e->name);
    int rc = h_http(admin_port, "GET", path, auth, 1, NULL, 0, H_IO_TIMEOUT,
                    &r, err, sizeof err);
    cr_assert_eq(rc, 0, "admin GET %s: %s", path, err);
    cr_expect_eq(r.status, 200, "admin GET %s with the demo token: %d\n%s",
                 path, r.status, r.body);
    cr_expect(strstr(r.body, h_fmt("\"%s\"", e->name)) != NULL,
              "admin GET %s does not name the app:\n%s", path, r.body);
    h_http_free(&r);
    return scgi;
}

/* The Flask, Django and Bottle examples answer the same three routes. */
static void check_framework_example(const app_example_t *e)
{
    char *addr = start_app_example(e);
    sw_scgi_response_t r;

    h_get(addr, "/", &r);
    cr_expect_eq(r.status, 200, "%s GET /: %d\n%s", e->name, r.status, r.raw);
    cr_expect_str_eq(r.body ? r.body : "",
                     h_fmt("%s on subwsgi. Try /hello/world\n", e->title),
                     "%s GET / body", e->name);
    sw_scgi_response_free(&r);

    h_get(addr, "/hello/Ada%20Lovelace", &r);
    cr_expect_eq(r.status, 200, "%s GET /hello: %d\n%s", e->name, r.status,
                 r.raw);
    cr_expect_str_eq(r.body ? r.body : "", "Hello, Ada Lovelace!\n",
                     "%s GET /hello body", e->name);
    sw_scgi_response_free(&r);

    static const char form[] = "a=1&b=x+y%26z";
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded"};
    h_request(addr, "POST", "/echo", hdr, 1, form, sizeof form - 1, &r);
    cr_expect_eq(r.status, 200, "%s POST /echo: %d\n%s", e->name, r.status,
                 r.raw);
    h_expect_json(r.body ? r.body : "", e->name, "a", "1");
    h_expect_json(r.body ? r.body : "", e->name, "b", "x y&z");
    sw_scgi_response_free(&r);
}

Test(examples, hello)
{
    const app_example_t e = {.name = "hello", .scgi = "127.0.0.1:9000",
                             .admin = "127.0.0.1:9001"};
    char *addr = start_app_example(&e);
    sw_scgi_response_t r;
    h_get(addr, "/some/where", &r);
    cr_expect_eq(r.status, 200, "hello GET: %d\n%s", r.status, r.raw);
    cr_expect_str_eq(r.body ? r.body : "",
                     "Hello from subwsgi! app=hello generation=1 "
                     "path=/some/where\n");
    sw_scgi_response_free(&r);
}

Test(examples, flask)
{
    const app_example_t e = {.name = "flask", .scgi = "127.0.0.1:9010",
                             .admin = "127.0.0.1:9011", .title = "Flask"};
    check_framework_example(&e);
}

Test(examples, django)
{
    const app_example_t e = {.name = "django", .scgi = "127.0.0.1:9020",
                             .admin = "127.0.0.1:9021", .title = "Django",
                             .imports_cgi = 1};
    check_framework_example(&e);
}

Test(examples, bottle)
{
    const app_example_t e = {.name = "bottle", .scgi = "127.0.0.1:9030",
                             .admin = "127.0.0.1:9031", .title = "Bottle",
                             .imports_cgi = 1};
    check_framework_example(&e);
}

/* ---- nginx ------------------------------------------------------------------------ */

/* examples/nginx/subwsgi.ini behind examples/nginx/site.conf, over the unix
 * socket both name. */
Test(examples, nginx_site)
{
    char *ex = copy_examples();
    char *run = h_tmpdir();                 /* stands for /run/subwsgi */
    char *run_slash = h_fmt("%s/", run);
    const char *ini_pairs[] = {"/run/subwsgi/", run_slash};
    char *ini = h_fmt("%s/nginx/subwsgi.ini", ex);
    rewrite_file(ini, ini_pairs, 1);
    start_ini(ini, h_fmt("unix:%s/subwsgi.sock", run));

    int port = h_free_port();
    char *site = read_text(h_fmt("%s/nginx/site.conf", ex));
    site = rewrite(site, "/run/subwsgi/", run_slash, "site.conf");
    site = rewrite(site, "listen 80;", h_fmt("listen 127.0.0.1:%d;", port),
                   "site.conf");
    h_nginx_t n = start_nginx(site, port);

    h_http_resp_t r;
    nginx_get(&n, "/", &r);
    cr_expect_eq(r.status, 200, "GET / via nginx: %d\n%s\nnginx log:\n%s",
                 r.status, r.body, h_nginx_log(&n));
    cr_expect_str_eq(r.body, "Hello from subwsgi! app=hello generation=1 "
                             "path=/\n");
    h_http_free(&r);

    nginx_get(&n, "/a%20b/c", &r);
    cr_expect_eq(r.status, 200, "GET /a%%20b/c via nginx: %d", r.status);
    cr_expect_str_eq(r.body, "Hello from subwsgi! app=hello generation=1 "
                             "path=/a b/c\n");
    h_http_free(&r);
}

/* examples/nginx/pool-a.ini and pool-b.ini behind the upstream of
 * examples/nginx/upstream.conf: both serve; with one stopped, every request
 * still gets its answer from the other. */
Test(examples, nginx_upstream)
{
    char *ex = copy_examples();
    char *run = h_tmpdir();
    const char *pairs[] = {"/run/subwsgi/", h_fmt("%s/", run)};
    h_server_t *pool[2];
    for (int i = 0; i < 2; i++) {
        char *ini = h_fmt("%s/nginx/pool-%c.ini", ex, 'a' + i);
        rewrite_file(ini, pairs, 1);
        pool[i] = start_ini(ini, h_fmt("unix:%s/pool-%c.sock", run, 'a' + i));
    }

    int port = h_free_port();
    char *site = read_text(h_fmt("%s/nginx/upstream.conf", ex));
    site = rewrite(site, "/run/subwsgi/", pairs[1], "upstream.conf");
    site = rewrite(site, "listen 80;", h_fmt("listen 127.0.0.1:%d;", port),
                   "upstream.conf");
    h_nginx_t n = start_nginx(site, port);

    /* Both instances take requests (nginx's round robin). */
    enum { N = 6 };
    h_http_resp_t r;
    for (int i = 0; i < N; i++) {
        nginx_get(&n, "/round-one", &r);
        cr_expect_eq(r.status, 200, "GET %d via the upstream: %d\n%s", i,
                     r.status, r.body);
        h_http_free(&r);
    }
    /* Access log lines can trail the responses a little. */
    size_t a, b;
    double end = h_now() + 10;
    while ((a = log_count(pool[0], "GET /round-one")) +
               (b = log_count(pool[1], "GET /round-one")) < N &&
           h_now() < end)
        h_nap(0.05);
    cr_expect(a >= 1 && b >= 1 && a + b == N,
              "requests per instance: a=%zu b=%zu, want both >= 1, total %d",
              a, b, N);

    /* Instance a goes away (its socket with it): nginx's next upstream. */
    h_server_stop_clean(pool[0]);
    for (int i = 0; i < N; i++) {
        nginx_get(&n, "/round-two", &r);
        cr_expect_eq(r.status, 200, "GET %d with instance a stopped: %d\n%s\n"
                     "nginx log:\n%s", i, r.status, r.body, h_nginx_log(&n));
        cr_expect_str_eq(r.body, "Hello from subwsgi! app=hello generation=1 "
                                 "path=/round-two\n");
        h_http_free(&r);
    }
    cr_expect_eq(log_wait_count(pool[1], "GET /round-two", N, 10), N,
                 "instance b did not serve all %d requests", N);
    h_server_stop_clean(pool[1]);
}

/* ---- Apache ------------------------------------------------------------------------ */

/* examples/apache/subwsgi.ini (its app swapped for tests/apps/envecho.py,
 * which shows the environ the app gets) behind one of the two Apache
 * examples, with extra_conf (or NULL) appended to it. */
static void check_apache(const char *conf_name, const char *extra_conf)
{
    char *ex = copy_examples();
    char *run = h_fmt("%s/", h_tmpdir());   /* stands for /run/subwsgi/ */
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    const char *ini_pairs[] = {
        "127.0.0.1:9040", scgi,
        "127.0.0.1:9041", h_fmt("127.0.0.1:%d", h_free_port()),
        "/run/subwsgi/", run,
        "wsgi = ../hello/hello.py", h_fmt("wsgi = %s", h_app("envecho.py")),
    };
    char *ini = h_fmt("%s/apache/subwsgi.ini", ex);
    rewrite_file(ini, ini_pairs, 4);
    h_server_t *srv = start_ini(ini, scgi);

    /* Each example file names one of the two listeners. */
    char *conf = h_fmt("%s/apache/%s", ex, conf_name);
    const char *conf_pair[2] = {"127.0.0.1:9040", scgi};
    if (strstr(conf_name, "unix") != NULL) {
        conf_pair[0] = "/run/subwsgi/";
        conf_pair[1] = run;
    }
    rewrite_file(conf, conf_pair, 1);
    if (extra_conf) {
        char *text = read_text(conf);
        write_text(conf, h_fmt("%s\n%s", text, extra_conf));
    }
    apache_t a = start_apache(conf);

    h_http_resp_t r;
    char err[256] = "";
    int rc = h_http(a.port, "GET", "/app/env/a%20b?q=1", NULL, 0, NULL, 0,
                    H_IO_TIMEOUT, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "GET through Apache: %s", err);
    cr_assert_eq(r.status, 200, "GET /app/env/a%%20b via Apache: %d\n%s\n%s\n"
                 "Apache log:\n%s\nsubwsgi log:\n%s", r.status, r.head, r.body,
                 apache_log(&a), h_log_tail(srv));
    char *sw = h_json_get(r.body, "SERVER_SOFTWARE");
    cr_expect(sw && strncmp(sw, "Apache", 6) == 0,
              "SERVER_SOFTWARE %s: the request did not come through Apache",
              sw ? sw : "(missing)");
    h_expect_json(r.body, conf_name, "SCRIPT_NAME", "/app");
    h_expect_json(r.body, conf_name, "PATH_INFO", "/env/a b");
    h_expect_json(r.body, conf_name, "QUERY_STRING", "q=1");
    h_expect_json(r.body, conf_name, "REQUEST_URI", "/app/env/a%20b?q=1");
    h_http_free(&r);

    rc = h_http(a.port, "GET", "/app/", NULL, 0, NULL, 0, H_IO_TIMEOUT, &r,
                err, sizeof err);
    cr_assert_eq(rc, 0, "GET /app/ through Apache: %s", err);
    cr_expect_eq(r.status, 200, "GET /app/ via Apache: %d", r.status);
    h_expect_json(r.body, conf_name, "SCRIPT_NAME", "/app");
    h_expect_json(r.body, conf_name, "PATH_INFO", "/");
    h_http_free(&r);

    /* POST: a form, then a body far bigger than one socket buffer. */
    static const char form[] = "name=Ada+Lovelace&x=%26";
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded"};
    rc = h_http(a.port, "POST", "/app/form", hdr, 1, form, sizeof form - 1,
                H_IO_TIMEOUT, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "POST through Apache: %s", err);
    cr_expect_eq(r.status, 200, "POST /app/form via Apache: %d\n%s", r.status,
                 r.body);
    h_expect_json(r.body, conf_name, "REQUEST_METHOD", "POST");
    h_expect_json(r.body, conf_name, "PATH_INFO", "/form");
    h_expect_json(r.body, conf_name, "CONTENT_TYPE",
                "application/x-www-form-urlencoded");
    h_expect_json(r.body, conf_name, "_body", form);
    h_http_free(&r);

    enum { BIG = 300000 };
    char *big = malloc(BIG + 1);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    big[BIG] = '\0';
    const char *oct[] = {"Content-Type: application/octet-stream"};
    rc = h_http(a.port, "POST", "/app/big", oct, 1, big, BIG, H_IO_TIMEOUT,
                &r, err, sizeof err);
    cr_assert_eq(rc, 0, "big POST through Apache: %s", err);
    cr_expect_eq(r.status, 200, "big POST via Apache: %d", r.status);
    h_expect_json(r.body, conf_name, "CONTENT_LENGTH", h_fmt("%d", BIG));
    char *got = h_json_get(r.body, "_body");
    cr_expect(got && strcmp(got, big) == 0, "big POST: the app got %zu bytes, "
              "want the %d sent", got ? strlen(got) : 0, BIG);
    free(big);
    h_http_free(&r);

    /* Outside the ProxyPass prefix Apache answers itself. */
    rc = h_http(a.port, "GET", "/elsewhere", NULL, 0, NULL, 0, H_IO_TIMEOUT,
                &r, err, sizeof err);
    cr_assert_eq(rc, 0, "GET /elsewhere: %s", err);
    cr_expect_eq(r.status, 404, "GET /elsewhere via Apache: %d", r.status);
    h_http_free(&r);
    cr_expect_eq(log_count(srv, "GET /elsewhere"), 0,
                 "a request outside /app/ reached subwsgi");

    h_server_stop_clean(srv);
}

Test(examples, apache_tcp)
{
    check_apache("subwsgi-proxy.conf", NULL);
}

Test(examples, apache_unix_socket)
{
    check_apache("subwsgi-proxy-unix.conf", NULL);
}

/* With proxy-scgi-pathinfo Apache sends a PATH_INFO that is still
 * percent-encoded next to a SCRIPT_NAME holding the whole decoded path: the
 * app must see the same SCRIPT_NAME and PATH_INFO as without it. */
Test(examples, apache_with_proxy_scgi_pathinfo)
{
    check_apache("subwsgi-proxy.conf",
                 "LoadModule setenvif_module " APACHE_MODULES "/mod_setenvif.so\n"
                 "SetEnvIf Request_URI . proxy-scgi-pathinfo\n");
}

/* ---- multiuser hosting ----------------------------------------------------------------- */

/* curl over a unix socket to the admin API; returns the HTTP status and
 * the body in *body (registry-owned). */
static int admin_curl(const char *sock, const char *token, const char *path,
                      char **body)
{
    char *out_file = h_fmt("%s/curl-body", h_tmpdir());
    char *const argv[] = {CURL, "-sS", "--max-time", "20", "--unix-socket",
                          (char *)sock, "-o", out_file, "-w", "%{http_code}",
                          "-H", h_fmt("Authorization: Bearer %s", token),
                          h_fmt("http://localhost%s", path), NULL};
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "curl --unix-socket %s %s: %s\n%s", sock, path,
              h_status_text(st), out ? out : "");
    int code = atoi(out ? out : "0");
    free(out);
    *body = read_text(out_file);
    return code;
}

static const char *const customers[] = {"alice", "bob"};

/* examples/multiuser: each customer's ini passes --check and runs (paths
 * under /run/subwsgi/USER and /home/USER moved into a temp dir), answers
 * its tokens on its admin socket, and nginx.conf routes each host to its
 * customer's instance. */
Test(examples, multiuser)
{
    require_curl();
    char *ex = copy_examples();
    char *base = h_tmpdir();
    char *hello = read_text(h_fmt("%s/hello/hello.py", ex));
    h_server_t *srv[2];
    char *admin_sock[2];
    make_dir(h_fmt("%s/run", base));
    make_dir(h_fmt("%s/home", base));

    for (int i = 0; i < 2; i++) {
        const char *u = customers[i];
        char *run = h_fmt("%s/run/%s", base, u);
        char *home = h_fmt("%s/home/%s", base, u);
        make_dir(run);
        make_dir(home);
        make_dir(h_fmt("%s/www", home));
        /* The customer's code: the hello app, as the README's step 1. */
        write_text(h_fmt("%s/www/app.py", home), hello);

        char *ini = h_fmt("%s/multiuser/%s.ini", ex, u);
        const char *pairs[] = {
            h_fmt("/run/subwsgi/%s/", u), h_fmt("%s/", run),
            h_fmt("/home/%s/", u), h_fmt("%s/", home),
            "[app:www]\n", h_fmt("[app:www]\n%s", h_debian_packages()),
        };
        rewrite_file(ini, pairs, 3);

        char *const check[] = {h_binary(), "-c", ini, "--check", NULL};
        char *out = NULL;
        int st = h_run(check, 30, &out);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "subwsgi -c %s --check: %s\n%s", ini, h_status_text(st),
                  out ? out : "");
        free(out);

        srv[i] = start_ini(ini, h_fmt("unix:%s/scgi.sock", run));
        admin_sock[i] = h_fmt("%s/admin.sock", run);
    }

    for (int i = 0; i < 2; i++) {
        const char *u = customers[i], *other = customers[1 - i];
        char *body;
        /* The panel's admin token sees the instance's app and the server. */
        int code = admin_curl(admin_sock[i], "panel-token-change-me",
                              "/v1/apps", &body);
        cr_expect_eq(code, 200, "%s: panel GET /v1/apps: %d\n%s", u, code,
                     body);
        cr_expect(strstr(body, "\"www\"") && strstr(body, h_fmt("\"%s\"", u)),
                  "%s: panel GET /v1/apps lacks app www owned by %s:\n%s", u,
                  u, body);
        code = admin_curl(admin_sock[i], "panel-token-change-me",
                          "/v1/server", &body);
        cr_expect_eq(code, 200, "%s: panel GET /v1/server: %d\n%s", u, code,
                     body);
        /* The customer's own token sees their app, but not the server. */
        code = admin_curl(admin_sock[i], h_fmt("%s-token-change-me", u),
                          "/v1/apps/www", &body);
        cr_expect_eq(code, 200, "%s: own GET /v1/apps/www: %d\n%s", u, code,
                     body);
        code = admin_curl(admin_sock[i], h_fmt("%s-token-change-me", u),
                          "/v1/server", &body);
        cr_expect_eq(code, 403, "%s: own GET /v1/server: %d\n%s", u, code,
                     body);
        /* The other customer's token means nothing here. */
        code = admin_curl(admin_sock[i], h_fmt("%s-token-change-me", other),
                          "/v1/apps/www", &body);
        cr_expect_eq(code, 401, "%s's token on %s's admin socket: %d\n%s",
                     other, u, code, body);
    }

    /* nginx.conf: each host to its customer's socket. */
    int port = h_free_port();
    char *site = read_text(h_fmt("%s/multiuser/nginx.conf", ex));
    site = rewrite(site, "/run/subwsgi/", h_fmt("%s/run/", base),
                   "multiuser/nginx.conf");
    site = rewrite(site, "listen 80;", h_fmt("listen 127.0.0.1:%d;", port),
                   "multiuser/nginx.conf");
    h_nginx_t n = start_nginx(site, port);
    for (int i = 0; i < 2; i++) {
        const char *u = customers[i];
        char *out_file = h_fmt("%s/curl-body", h_tmpdir());
        char *const argv[] = {CURL, "-sS", "--max-time", "20", "-o", out_file,
                              "-w", "%{http_code}", "-H",
                              h_fmt("Host: %s.example.com", u),
                              h_fmt("http://127.0.0.1:%d/for-%s", port, u),
                              NULL};
        char *out = NULL;
        int st = h_run(argv, 30, &out);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl: %s\n%s",
                  h_status_text(st), out ? out : "");
        cr_expect_str_eq(out, "200", "%s.example.com via nginx: %s\n%s", u,
                         out, h_nginx_log(&n));
        free(out);
        cr_expect_str_eq(read_text(out_file), h_fmt("Hello from subwsgi! "
                         "app=www generation=1 path=/for-%s\n", u));
    }
    cr_expect_eq(log_wait_count(srv[0], "GET /for-alice", 1, 10), 1,
                 "alice.example.com did not reach alice's instance");
    cr_expect_eq(log_wait_count(srv[1], "GET /for-bob", 1, 10), 1,
                 "bob.example.com did not reach bob's instance");
    cr_expect_eq(log_count(srv[0], "GET /for-bob") +
                 log_count(srv[1], "GET /for-alice"), 0,
                 "a host reached the other customer's instance");
    for (int i = 0; i < 2; i++)
        h_server_stop_clean(srv[i]);
}

/* ---- host mode: examples/hosting ------------------------------------------------------ */

static char hosting_users[2][32];   /* the OS users the hosting test made */

/* The master first (userdel refuses a user with processes; the workers end
 * with it), then the users. */
static void hosting_fini(void)
{
    h_cleanup();
    for (int i = 0; i < 2; i++) {
        if (!hosting_users[i][0])
            continue;
        char *const argv[] = {"/usr/sbin/userdel", hosting_users[i], NULL};
        char *out = NULL;
        h_run(argv, 30, &out);
        free(out);
        hosting_users[i][0] = '\0';
    }
}

/* GET path with Host: host through nginx on port: "STATUS BODY". */
static char *host_get(int port, const char *host, const char *path)
{
    char *out_file = h_fmt("%s/curl-body", h_tmpdir());
    char *const argv[] = {CURL, "-sS", "--max-time", "20", "-o", out_file, "-w",
                          "%{http_code}", "-H", h_fmt("Host: %s", host),
                          h_fmt("http://127.0.0.1:%d%s", port, path), NULL};
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl: %s\n%s", h_status_text(st),
              out ? out : "");
    char *r = h_fmt("%s %s", out ? out : "", read_text(out_file));
    free(out);
    return r;
}

/* The admin API on port with token: the status, the body in *body. */
static int admin_get(int port, const char *token, const char *path, char **body)
{
    const char *auth[] = {h_fmt("Authorization: Bearer %s", token)};
    h_http_resp_t r;
    char err[256] = "";
    int rc = h_http(port, "GET", path, auth, 1, NULL, 0, H_IO_TIMEOUT, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "admin GET %s: %s", path, err);
    int status = r.status;
    *body = h_fmt("%s", r.body ? r.body : "");
    h_http_free(&r);
    return status;
}

/* examples/hosting: host mode as the README there runs it, with two OS
 * users made for the test standing in for alice and bob, and /run/subwsgi
 * and /home moved into a temp dir. The config passes --check, the master
 * starts a worker per customer as that user, the panel token sees both
 * apps with their processes and each customer's token only their own,
 * nginx.conf brings alice.example.com through alice's own listener and
 * bob.example.com through the shared one (the master routes it), and
 * bob's requests are in his app's log (GET /v1/apps/NAME/log). Needs
 * root: it skips, saying so, without. */
Test(examples, hosting, .fini = hosting_fini)
{
    h_require_host_mode();
    require_curl();
    char *ex = copy_examples();
    char *base = h_tmpdir();
    cr_assert(chmod(base, 0755) == 0);   /* the workers, as the customers, go below it */
    char *run = h_fmt("%s/run", base);
    make_dir(run);
    make_dir(h_fmt("%s/home", base));

    char *ini = h_fmt("%s/hosting/subwsgi.ini", ex);
    int admin_port = h_free_port();
    const char *rewrites[] = {
        "/run/subwsgi/", h_fmt("%s/", run),
        "admin = 127.0.0.1:9001", h_fmt("admin = 127.0.0.1:%d", admin_port),
    };
    rewrite_file(ini, rewrites, 2);
    for (int i = 0; i < 2; i++) {
        const char *u = customers[i];
        snprintf(hosting_users[i], sizeof hosting_users[i], "swe%ld%c", (long)getpid(), u[0]);
        char *const add[] = {"/usr/sbin/useradd", "--system", "--no-create-home", "--shell",
                             "/usr/sbin/nologin", hosting_users[i], NULL};
        char *out = NULL;
        int st = h_run(add, 30, &out);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "useradd %s: %s\n%s",
                  hosting_users[i], h_status_text(st), out ? out : "");
        free(out);
        struct passwd *pw = getpwnam(hosting_users[i]);
        cr_assert(pw, "no user %s after useradd", hosting_users[i]);
        uid_t uid = pw->pw_uid;
        gid_t gid = pw->pw_gid;

        /* The README's step 2: the customer's code, and alice's log-dir. */
        char *home = h_fmt("%s/home/%s", base, u);
        make_dir(home);
        make_dir(h_fmt("%s/www", home));
        char *app = h_fmt("%s/www/app.py", home);
        write_text(app, read_text(h_fmt("%s/hosting/%s/app.py", ex, u)));
        cr_assert(chown(home, uid, gid) == 0 && chown(h_fmt("%s/www", home), uid, gid) == 0
                  && chown(app, uid, gid) == 0);
        if (i == 0) {   /* --check: a log-dir its owner can write */
            make_dir(h_fmt("%s/logs", home));
            cr_assert(chown(h_fmt("%s/logs", home), uid, gid) == 0);
        }
        const char *pairs[] = {
            h_fmt("/home/%s/", u), h_fmt("%s/", home),
            h_fmt("run-as = %s\n", u), h_fmt("run-as = %s\n", hosting_users[i]),
        };
        rewrite_file(ini, pairs, 2);
    }

    char *const check[] = {h_binary(), "-c", ini, "--check", NULL};
    char *out = NULL;
    int st = h_run(check, 30, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0 && out &&
              strstr(out, "OK (2 apps, host mode, 2 owners)"),
              "subwsgi -c %s --check: %s\n%s", ini, h_status_text(st), out ? out : "");
    free(out);

    h_server_t *srv = start_ini(ini, h_fmt("unix:%s/subwsgi.sock", run));
    cr_assert(h_log_wait(srv, "ready: 2 owners", 30), "the master is not ready:\n%s",
              h_log_tail(srv));

    /* Each customer's site through nginx: alice's on her own listener,
     * bob's on the shared one; each runs as its customer. */
    int port = h_free_port();
    char *site = read_text(h_fmt("%s/hosting/nginx.conf", ex));
    site = rewrite(site, "/run/subwsgi/", h_fmt("%s/", run), "hosting/nginx.conf");
    site = rewrite(site, "listen 80;", h_fmt("listen 127.0.0.1:%d;", port), "hosting/nginx.conf");
    h_nginx_t n = start_nginx(site, port);
    for (int i = 0; i < 2; i++) {
        const char *u = customers[i];
        char *r = host_get(port, h_fmt("%s.example.com", u), h_fmt("/for-%s", u));
        char *want = h_fmt("200 Hello from %s's site! user=%s pid=", u, hosting_users[i]);
        cr_expect(strncmp(r, want, strlen(want)) == 0, "%s.example.com via nginx: %s\n"
                  "want: %s...\nnginx log:\n%s\nsubwsgi log:\n%s", u, r, want,
                  h_nginx_log(&n), h_log_tail(srv));
        cr_expect(strstr(r, h_fmt("app=%s-www path=/for-%s\n", u, u)) != NULL,
                  "%s.example.com: %s", u, r);
    }
    cr_expect(strncmp(host_get(port, "nobody.example.com", "/"), "404 ", 4) == 0,
              "a host no app is mounted on: not 404 from the master");

    /* The panel's token sees both apps and their workers; a customer's
     * token only their own. */
    char *body;
    int code = admin_get(admin_port, "panel-token-change-me", "/v1/apps", &body);
    cr_expect_eq(code, 200, "panel GET /v1/apps: %d\n%s", code, body);
    for (int i = 0; i < 2; i++) {
        cr_expect(strstr(body, h_fmt("\"%s-www\"", customers[i])) != NULL,
                  "panel GET /v1/apps lacks %s-www:\n%s", customers[i], body);
        cr_expect(strstr(body, h_fmt("\"user\": \"%s\"", hosting_users[i])) ||
                  strstr(body, h_fmt("\"user\":\"%s\"", hosting_users[i])),
                  "panel GET /v1/apps: no process of user %s:\n%s", hosting_users[i], body);
    }
    code = admin_get(admin_port, "alice-token-change-me", "/v1/apps", &body);
    cr_expect(code == 200 && strstr(body, "\"alice-www\"") && !strstr(body, "bob-www"),
              "alice's GET /v1/apps: %d\n%s", code, body);
    code = admin_get(admin_port, "alice-token-change-me", "/v1/apps/bob-www", &body);
    cr_expect_eq(code, 404, "alice's GET /v1/apps/bob-www: %d\n%s", code, body);
    code = admin_get(admin_port, "bob-token-change-me", "/v1/server", &body);
    cr_expect_eq(code, 403, "bob's GET /v1/server: %d\n%s", code, body);

    /* bob's app logs each request (wsgi.errors); the master relays it. */
    double end = h_now() + 10;
    do {
        code = admin_get(admin_port, "bob-token-change-me", "/v1/apps/bob-www/log?lines=50",
                         &body);
    } while (!strstr(body, "bob's site served /for-bob") && h_now() < end && (h_nap(0.1), 1));
    cr_expect(code == 200 && strstr(body, "bob's site served /for-bob"),
              "bob's GET /v1/apps/bob-www/log: %d\n%s", code, body);

    h_server_stop_clean(srv);
}

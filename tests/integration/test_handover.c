/* test_handover.c: process handover: under load nothing is lost and the pid
 * changes each time; a successor that cannot load the app is aborted and the
 * old process keeps serving (422 with the traceback); a reload that must be
 * a process handover (Flask with markupsafe's compiled speedups, not
 * preloaded, on 3.11) serves the new code. Successors inherit no extra
 * descriptors and handovers work under a low `ulimit -n`; SIGHUP hands over
 * only when the sockets change (a removed listener then refuses
 * connections), and a burst of SIGHUPs ends with the last config. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"

#include "harness.h"

#define TOKEN "handover-test-token-0123456789"
#define TOKEN_SHA256 "79447fad422053d4c5b72df6c3729804bf4f0d2484d51b505bd521cb9316fc50"

/* Successors are not the test's children: stop the one serving at the end,
 * found through the pid file. */
static char pid_file[512];

static void stop_successor(void)
{
    h_stop_pid_file(pid_file);
    pid_file[0] = '\0';
    h_cleanup();
}

TestSuite(handover, .fini = stop_successor, .timeout = H_SUITE_TIMEOUT);

typedef struct {
    h_server_t *srv;
    char *dir, *app;
    int admin_port;
} env_t;

static void write_app(const env_t *e, const char *body)
{
    h_replace_file(e->app, body);
}

static const char *plain_app(const char *version)
{
    return h_fmt("import time\n"
                 "def application(environ, start_response):\n"
                 "    if environ['PATH_INFO'] == '/slow':\n"
                 "        time.sleep(0.2)\n"
                 "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                 "    return [b'%s ' + str(environ['subwsgi.generation']).encode()]\n", version);
}

static env_t start_with(const char *server_keys, const char *app_src, const char *app_keys);

static env_t start(const char *app_src, const char *app_keys)
{
    return start_with("", app_src, app_keys);
}

static env_t start_with(const char *server_keys, const char *app_src, const char *app_keys)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.app = h_fmt("%s/app.py", e.dir);
    write_app(&e, app_src);
    e.admin_port = h_free_port();
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", e.dir);
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\naccess-log = off\n"
                      "pid-file = %s\ndrain-timeout = 10\n%s"
                      "[user:panel]\ntoken-sha256 = " TOKEN_SHA256 "\nrole = admin\n"
                      "[app:site]\nowner = panel\nwsgi = %s\nmount = /\n%s%s",
                      addr, e.admin_port, pid_file, server_keys, e.app, app_keys,
                      h_debian_packages());
    e.srv = h_server_config(e.dir, addr, ini, NULL);
    return e;
}

/* The pid of the process answering the admin port. While a handover ends,
 * the old process may close an admin connection it had just accepted: a
 * client (a control panel) asks again. */
static long serving_pid(const env_t *e)
{
    const char *hdr[] = {"Authorization: Bearer " TOKEN};
    for (int tries = 0; tries < 20; tries++) {
        h_http_resp_t r;
        char err[256];
        if (h_http(e->admin_port, "GET", "/v1/server", hdr, 1, NULL, 0, 30, &r, err,
                   sizeof err) == 0 && r.status == 200) {
            json_t *srv = json_loadb(r.body, r.body_len, 0, NULL);
            long pid = (long)json_integer_value(json_object_get(srv, "pid"));
            json_decref(srv);
            h_http_free(&r);
            return pid;
        }
        h_nap(0.05);
    }
    cr_assert_fail("the admin port did not answer GET /v1/server");
    return 0;
}

Test(handover, ten_handovers_under_load_lose_nothing)
{
    env_t e = start(plain_app("v"), "interpreters = 2\nthreads = 2\n");
    enum { CLIENTS = 8, HANDOVERS = 10 };
    h_async_t *load[CLIENTS];
    unsigned long sent = 0, failed = 0;
    for (int i = 0; i < CLIENTS; i++)
        load[i] = h_async_get(e.srv->scgi, i % 5 == 0 ? "/slow" : "/", H_IO_TIMEOUT);
    long pid = serving_pid(&e);
    for (int n = 1; n <= HANDOVERS; n++) {
        json_t *body = NULL;
        int st = h_admin_call(e.admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60", &body, 120);
        cr_expect_eq(st, 200, "handover %d answered %d: %s", n, st, json_dumps(body, 0));
        json_decref(body);
        /* For a moment both processes accept: ask until the new one answers. */
        long now = serving_pid(&e);
        for (int tries = 0; now == pid && tries < 200; tries++) {
            h_nap(0.05);
            now = serving_pid(&e);
        }
        cr_expect_neq(now, pid, "handover %d: the pid did not change", n);
        pid = now;
        for (int i = 0; i < CLIENTS; i++) {
            if (!h_async_wait(load[i], 0))
                continue;
            sent++;
            if (load[i]->rc != 0 || load[i]->resp.status != 200) {
                failed++;
                cr_expect_fail("request failed around handover %d: rc %d status %d %s", n,
                               load[i]->rc, load[i]->resp.status, load[i]->err);
            }
            load[i] = h_async_get(e.srv->scgi, sent % 5 == 0 ? "/slow" : "/", H_IO_TIMEOUT);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        cr_assert(h_async_wait(load[i], 60));
        sent++;
        failed += load[i]->rc != 0 || load[i]->resp.status != 200;
    }
    cr_expect_eq(failed, 0, "%lu of %lu requests failed", failed, sent);
    /* The first process left cleanly; counters and generations continued. */
    cr_expect(h_proc_wait(e.srv->proc, 30) && WIFEXITED(e.srv->proc->status) &&
              WEXITSTATUS(e.srv->proc->status) == 0, "the first process did not exit 0");
    json_t *srv = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/server", &srv, 120);
    cr_expect_eq(json_integer_value(json_object_get(srv, "handovers")), HANDOVERS);
    json_decref(srv);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 v 11"), "generation did not continue: %s",
              h_status_body(e.srv->scgi, "/"));
    /* The control panel sees the handover as the app's last reload. */
    json_t *app = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 120);
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(json_string_value(json_object_get(last, "action")), "handover");
    cr_expect_str_eq(json_string_value(json_object_get(last, "requested_by")), "panel");
    cr_expect_str_eq(json_string_value(json_object_get(last, "result")), "ok");
    json_decref(app);
}

/* A recycle by a user whose name is longer than 64 bytes (names have no
 * length limit): the successor records the handover for that whole name.
 * The asker went through three 64-byte copies (the recycle request, the
 * handover, the successor's start-up), each of which cut it to another
 * user's name. */
Test(handover, long_user_name_is_recorded_whole_across_a_handover)
{
    char *longname = h_fmt("%070d-admin", 7);   /* 76 bytes */
    env_t e = start_with(h_fmt("[user:%s]\ntoken-sha256 = "
                               "83d9645c69aefd4e48ad799f7d05e3f586ecd4cd56efb50e145729439460f8b3\n"
                               "role = admin\n", longname),
                         plain_app("v"), "");
    const char *long_token = "long-admin-token-0123456789";
    int st = h_admin_call(e.admin_port, long_token, "POST", "/v1/server/recycle?wait=60", NULL,
                          120);
    cr_assert_eq(st, 200, "recycle: %d\n%s", st, h_log_tail(e.srv));
    json_t *app = NULL;
    cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 120), 200);
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(json_string_value(json_object_get(last, "action")), "handover");
    const char *by = json_string_value(json_object_get(last, "requested_by"));
    cr_expect(by && strcmp(by, longname) == 0, "requested_by %s, want %s", by ? by : "(none)",
              longname);
    json_decref(app);
    const char *asked[] = {h_fmt("handover asked by %s", longname), NULL};
    cr_expect(h_log_wait_line(e.srv, asked, 5), "no log line naming %s\n%s", longname,
              h_log_tail(e.srv));
}

Test(handover, broken_new_code_aborts_and_the_old_process_serves)
{
    env_t e = start(plain_app("old"), "");
    long pid = serving_pid(&e);
    write_app(&e, "import nonexistent_module_for_the_test\n");
    json_t *body = NULL;
    int st = h_admin_call(e.admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60", &body, 120);
    char *text = json_dumps(body, 0);
    cr_expect_eq(st, 422, "%s", text);
    cr_expect(text && strstr(text, "Traceback") &&
              strstr(text, "No module named 'nonexistent_module_for_the_test'"),
              "no traceback in %s", text);
    free(text);
    json_decref(body);
    cr_expect_eq(serving_pid(&e), pid);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 old 1"));
    cr_expect(h_log_wait(e.srv, "handover aborted", 5), "%s", h_log_tail(e.srv));
    pid_file[0] = '\0';   /* no successor: the harness stops the server */
    h_server_stop_clean(e.srv);
}

/* On Debian's 3.11 Flask (markupsafe's compiled single-phase speedups, not
 * preloaded) must reload by handover; elsewhere (3.13 own-GIL; or 3.12,
 * where that 3.11 extension does not load and markupsafe is pure Python)
 * the same app reloads in-process. */
Test(handover, process_reload_mode_reloads_by_handover)
{
    int in_process = h_python_version() != 311;
    const char *flask = "from flask import Flask\n"
                        "application = Flask(__name__)\n"
                        "@application.route('/')\n"
                        "def index():\n"
                        "    return '%s'\n";
    env_t e = start(h_fmt(flask, "first"), "");
    json_t *app = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 120);
    cr_expect_str_eq(json_string_value(json_object_get(app, "reload_mode")),
                     in_process ? "interpreter" : "process");
    const char *reason = json_string_value(json_object_get(app, "reload_mode_reason"));
    if (!in_process)
        cr_expect(reason && strstr(reason, "markupsafe"), "reason: %s", reason ? reason : "null");
    json_decref(app);
    long pid = serving_pid(&e);
    write_app(&e, h_fmt(flask, "second"));
    cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=60", NULL, 120), 200);
    long now = serving_pid(&e);
    if (in_process) {
        cr_expect_eq(now, pid, "this reload should stay in-process");
    } else {
        for (int tries = 0; now == pid && tries < 200; tries++) {
            h_nap(0.05);
            now = serving_pid(&e);
        }
        cr_expect_neq(now, pid, "the reload was not a handover");
    }
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 second"), "%s", h_status_body(e.srv->scgi, "/"));
    if (in_process) {
        pid_file[0] = '\0';
        h_server_stop_clean(e.srv);
    }
}

Test(handover, starts_from_sockets_passed_like_systemd)
{
    /* A listening unix socket made here, passed as fd 3 with LISTEN_FDS=1
     * and LISTEN_PID set to the server's pid (the shell's, which exec
     * keeps), as a systemd socket unit does. */
    char *dir = h_tmpdir();
    char *app = h_fmt("%s/app.py", dir);
    const char *src = plain_app("activated");
    h_write_file(app, src, strlen(src));
    char *sock = h_fmt("%s/scgi.sock", dir);
    char *addr = h_fmt("unix:%s", sock);
    sw_addr_t a;
    char err[256];
    cr_assert_eq(sw_addr_parse(addr, &a, err, sizeof err), 0, "%s", err);
    int fd = sw_listen_bind(&a, 0660, 16, err, sizeof err);
    cr_assert(fd >= 0, "%s", err);
    /* A request that arrives before the server runs waits in the backlog. */
    h_async_t *early = h_async_get(addr, "/early", H_IO_TIMEOUT);
    h_nap(0.2);
    char *ini = h_fmt("[server]\nscgi = %s\n[app:site]\nwsgi = %s\nmount = /\n", addr, app);
    char *ini_path = h_fmt("%s/subwsgi.ini", dir);
    h_write_file(ini_path, ini, strlen(ini));
    char *script = h_fmt("export LISTEN_FDS=1 LISTEN_PID=$$; exec %s -c %s", h_binary(),
                         ini_path);
    char *const argv[] = {"/bin/sh", "-c", script, NULL};
    char *log = h_fmt("%s/server.log", dir);
    /* Not h_spawn: it closes every fd above 2. */
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    cr_assert(out >= 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(out, 1);
        dup2(out, 2);
        if (fd != 3 && dup2(fd, 3) < 0)
            _exit(127);
        fcntl(3, F_SETFD, 0);
        execv("/bin/sh", argv);
        _exit(127);
    }
    close(out);
    close(fd);
    cr_assert(h_async_wait(early, 30), "the early request was never answered");
    cr_expect_eq(early->rc, 0, "%s", early->err);
    cr_expect_eq(early->resp.status, 200);
    cr_expect(early->resp.body && strstr(early->resp.body, "activated"));
    char *text = h_read_file(log, NULL);
    cr_expect(text && strstr(text, h_fmt("SCGI listening on %s (inherited)", addr)),
              "the socket was not taken over:\n%s", text ? text : "");
    free(text);
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 600 && waitpid(pid, &st, WNOHANG) == 0; i++)
        h_nap(0.05);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", h_status_text(st));
    /* The socket file belongs to whoever passed the socket (systemd keeps
     * listening on it for the next start): the server must not remove it. */
    cr_expect_eq(access(sock, F_OK), 0, "the server removed the inherited socket file");
}

Test(handover, recycle_rss_turns_a_reload_into_a_handover)
{
    /* Each generation leaks 24 MiB outside Python's reach (as C extensions
     * do); with recycle-rss = 40 the third reload must be a handover. */
    const char *leaky = "import ctypes\n"
                        "libc = ctypes.CDLL(None)\n"
                        "libc.malloc.restype = ctypes.c_void_p\n"
                        "p = libc.malloc(24 << 20)\n"
                        "ctypes.memset(p, 1, 24 << 20)\n"
                        "def application(environ, start_response):\n"
                        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                        "    return [b'%s']\n";
    env_t f = start_with("recycle-rss = 40\n", h_fmt(leaky, "v0"), "");
    for (int n = 1; n <= 3; n++) {
        write_app(&f, h_fmt(leaky, h_fmt("v%d", n)));
        cr_expect_eq(h_admin_call(f.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=60", NULL, 120), 200, "reload %d", n);
    }
    json_t *srv = NULL;
    json_int_t handovers = 0;
    for (int i = 0; i < 100 && handovers == 0; i++) {
        h_admin_call(f.admin_port, TOKEN, "GET", "/v1/server", &srv, 120);
        handovers = json_integer_value(json_object_get(srv, "handovers"));
        cr_expect_eq(json_integer_value(json_object_get(srv, "rss_budget_bytes")), 40 << 20);
        json_decref(srv);
        h_nap(0.05);
    }
    cr_expect(handovers >= 1, "no handover after three leaking reloads");
    cr_expect(strstr(h_status_body(f.srv->scgi, "/"), "200 v3"), "%s", h_status_body(f.srv->scgi, "/"));
}

/* Reads one datagram from the notify socket (or "" after timeout s). */
static char *notify_recv(int fd, double timeout)
{
    struct timeval tv = {(time_t)timeout, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return h_fmt("%s", buf);
}

Test(handover, tells_systemd_ready_reloading_mainpid_stopping)
{
    char *dir = h_tmpdir();
    char *path = h_fmt("%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    /* The harness passes extra environment only through h_server_config:
     * set NOTIFY_SOCKET in ours for the child to inherit. */
    setenv("NOTIFY_SOCKET", path, 1);
    env_t e = start(plain_app("n"), "");
    unsetenv("NOTIFY_SOCKET");
    cr_expect(strstr(notify_recv(fd, 10), "READY=1"));
    cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60", NULL, 120), 200);
    cr_expect(strstr(notify_recv(fd, 10), "RELOADING=1"));
    char *msg = notify_recv(fd, 10);
    cr_expect(strstr(msg, "MAINPID=") && strstr(msg, "READY=1"), "got %s", msg);
    long successor = strtol(strstr(msg, "MAINPID=") ? strstr(msg, "MAINPID=") + 8 : "0", NULL, 10);
    cr_expect_neq(successor, (long)e.srv->proc->pid);
    kill((pid_t)successor, SIGTERM);
    cr_expect(strstr(notify_recv(fd, 10), "STOPPING=1"));
    close(fd);
}

/* What GET / on addr gives: the status, or REFUSED when nothing listens
 * there (connect: ECONNREFUSED, what lets nginx fail over at once), or
 * NO_ANSWER when the connection is taken (a socket still listens) but no
 * answer comes within 5 s, or it fails otherwise. The two differ for a
 * front end: a refused upstream costs nothing, a silent one a timeout. */
enum { REFUSED = -1, NO_ANSWER = -2 };

static int status_at(const char *addr)
{
    sw_scgi_response_t r;
    char err[256];
    if (h_request_try(addr, "GET", "/", NULL, 0, NULL, 0, 5, &r, err, sizeof err) == 0) {
        int st = r.status;
        sw_scgi_response_free(&r);
        return st;
    }
    sw_addr_t a;
    cr_assert_eq(sw_addr_parse(addr, &a, err, sizeof err), 0, "%s", err);
    int fd = socket(a.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    int rc = connect(fd, (struct sockaddr *)&a.sa, a.len), e = errno;
    close(fd);
    return rc != 0 && e == ECONNREFUSED ? REFUSED : NO_ANSWER;
}

/* Polls status_at(addr) until it gives want or timeout seconds pass;
 * returns the last result. */
static int wait_status(const char *addr, int want, double timeout)
{
    double until = h_now() + timeout;
    int st = status_at(addr);
    while (st != want && h_now() < until) {
        h_nap(0.05);
        st = status_at(addr);
    }
    return st;
}

static const char *status_name(int st)
{
    return st == REFUSED ? "refused" : st == NO_ANSWER ? "taken but not answered"
                                                       : h_fmt("status %d", st);
}

/* SIGHUP cannot bind or close sockets in place: a config that adds or
 * removes a listener is applied by a handover to a new process. */
Test(handover, sighup_that_changes_listeners_hands_over)
{
    env_t e = start(plain_app("v"), "");
    long pid = serving_pid(&e);
    char *path = h_fmt("%s/subwsgi.ini", e.dir);
    char *orig = h_read_file(path, NULL);
    cr_assert(orig && strncmp(orig, "[server]\n", 9) == 0);
    char *addr2 = h_fmt("127.0.0.1:%d", h_free_port());
    cr_assert_eq(status_at(addr2), REFUSED);

    char *more = h_fmt("[server]\nscgi = %s\n%s", addr2, orig + 9);
    h_write_file(path, more, strlen(more));
    kill(e.srv->proc->pid, SIGHUP);
    int st = wait_status(addr2, 200, 15);
    cr_expect_eq(st, 200, "the new listener: %s; %s", status_name(st), h_log_tail(e.srv));
    cr_expect(h_log_wait(e.srv, "SIGHUP: new listener", 5), "%s", h_log_tail(e.srv));
    long pid2 = serving_pid(&e);
    for (int i = 0; i < 200 && pid2 == pid; i++, h_nap(0.05))
        pid2 = serving_pid(&e);
    cr_expect_neq(pid2, pid, "no new process");
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 v"), "the first listener: %s", h_status_body(e.srv->scgi, "/"));
    cr_expect(h_proc_wait(e.srv->proc, 30) && WIFEXITED(e.srv->proc->status) &&
              WEXITSTATUS(e.srv->proc->status) == 0, "the first process did not exit 0");

    /* Back to one listener: the successor hands over again and the second
     * address refuses connections (no process keeps it listening), soon:
     * the old process closes its sockets as soon as its successor serves. */
    h_write_file(path, orig, strlen(orig));
    kill((pid_t)pid2, SIGHUP);
    st = wait_status(addr2, REFUSED, 15);
    cr_expect_eq(st, REFUSED, "the removed listener %s: %s", addr2, status_name(st));
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 v"), "the first listener: %s", h_status_body(e.srv->scgi, "/"));
    free(orig);
}

/* A unix socket the first process created survives its handovers (the
 * successor inherits it and its file) and is removed by the last process
 * when it stops. */
Test(handover, unix_socket_file_follows_the_handover)
{
    char *dir = h_tmpdir();
    char *app = h_fmt("%s/app.py", dir);
    const char *src = plain_app("u");
    h_write_file(app, src, strlen(src));
    char *sock = h_fmt("%s/scgi.sock", dir);
    char *addr = h_fmt("unix:%s", sock);
    int admin_port = h_free_port();
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", dir);
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\npid-file = %s\n"
                      "[user:panel]\ntoken-sha256 = " TOKEN_SHA256 "\nrole = admin\n"
                      "[app:site]\nowner = panel\nwsgi = %s\nmount = /\n",
                      addr, admin_port, pid_file, app);
    h_server_t *srv = h_server_config(dir, addr, ini, NULL);
    cr_assert_eq(h_admin_call(admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60", NULL, 120),
                 200);
    cr_expect(h_proc_wait(srv->proc, 30), "the first process did not exit");
    cr_expect_eq(access(sock, F_OK), 0, "the first process removed the socket its successor uses");
    cr_expect(strstr(h_status_body(addr, "/"), "200 u"), "the successor does not answer");

    char *text = h_read_file(pid_file, NULL);
    long pid = text ? strtol(text, NULL, 10) : 0;
    free(text);
    cr_assert(pid > 1 && pid != (long)srv->proc->pid, "no successor pid");
    kill((pid_t)pid, SIGTERM);
    for (int i = 0; i < 300 && kill((pid_t)pid, 0) == 0; i++)
        h_nap(0.05);
    cr_expect_neq(kill((pid_t)pid, 0), 0, "the successor did not stop");
    cr_expect_neq(access(sock, F_OK), 0, "the last process left its socket file behind");
    pid_file[0] = '\0';
}

/* The pid answering the admin port once it is no longer old: for a moment
 * after a handover both processes answer. */
static long next_serving_pid(const env_t *e, long old)
{
    long now = serving_pid(e);
    for (int tries = 0; now == old && tries < 200; tries++) {
        h_nap(0.05);
        now = serving_pid(e);
    }
    cr_expect_neq(now, old, "the pid did not change");
    return now;
}

/* pid's descriptors without the connections it is still closing (an
 * admin or SCGI request just answered): the fewest seen over a second,
 * with h_proc_fds's inheritable count and listing. */
static int settled_fds(long pid, int *inheritable, char **listing)
{
    int best = -1;
    for (int i = 0; i < 10; i++, h_nap(0.1)) {
        int open_on_exec = 0;
        char *text = NULL;
        int n = h_proc_fds(pid, &open_on_exec, &text);
        if (n >= 0 && (best < 0 || n < best)) {
            best = n;
            *inheritable = open_on_exec;
            *listing = text;
        }
    }
    cr_assert(best > 0, "cannot read /proc/%ld/fd", pid);
    return best;
}

/* A successor holds the same descriptors as the first process: a handover
 * passes exactly the sockets the successor needs, and nothing else of the
 * old process (its own copies included) is inherited. */
Test(handover, successors_hold_no_more_descriptors_than_the_first_process)
{
    env_t e = start(plain_app("fd"), "");
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 fd"));
    long pid = serving_pid(&e);
    char *first = NULL, *now = NULL;
    int inheritable = 0;
    int want = settled_fds(pid, &inheritable, &first);
    cr_expect_eq(inheritable, 0, "descriptors that an exec would pass on:\n%s", first);
    for (int n = 1; n <= 3; n++) {
        cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60",
                                  NULL, 120), 200, "handover %d", n);
        pid = next_serving_pid(&e, pid);
    }
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 fd"));
    serving_pid(&e);
    int got = settled_fds(pid, &inheritable, &now);
    cr_expect_eq(got, want, "after 3 handovers: %d descriptors, the first process had %d.\n"
                 "first process:\n%s\nthird successor:\n%s", got, want, first, now);
    cr_expect_eq(inheritable, 0, "descriptors that an exec would pass on:\n%s", now);
}

/* With `ulimit -n 64` a handover must still find descriptors for the
 * sockets it passes (it used to ask for fd 1000 and above). */
Test(handover, works_under_a_low_descriptor_limit)
{
    h_spawn_fd_limit(64);
    env_t e = start(plain_app("low"), "");
    long pid = serving_pid(&e);
    for (int n = 1; n <= 2; n++) {
        json_t *body = NULL;
        int st = h_admin_call(e.admin_port, TOKEN, "POST", "/v1/server/recycle?wait=60", &body,
                              120);
        char *text = json_dumps(body, 0);
        cr_expect_eq(st, 200, "handover %d under ulimit -n 64: %d %s\n%s", n, st, text,
                     h_log_tail(e.srv));
        free(text);
        json_decref(body);
        if (st != 200)
            break;
        pid = next_serving_pid(&e, pid);
        cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 low"));
    }
}

/* Whether the log has a line for the SIGHUP's outcome (applied in place,
 * handed over, or invalid): polls up to timeout. */
static int sighup_done(h_server_t *s, size_t before, double timeout)
{
    double until = h_now() + timeout;
    for (;;) {
        char *log = h_log(s);
        size_t n = h_count(log, "SIGHUP: ");
        free(log);
        if (n > before && (h_log_wait(s, " applied: ", 0) || h_log_wait(s, "handing over", 0) ||
                           h_log_wait(s, "nothing changed", 0)))
            return 1;
        if (h_now() >= until)
            return 0;
        h_nap(0.05);
    }
}

/* SIGHUP with the same file (and an admin port, once read as "off" after
 * start-up) changes nothing: same process, no handover. */
Test(handover, sighup_with_an_unchanged_config_keeps_the_process)
{
    env_t e = start(plain_app("same"), "");
    long pid = serving_pid(&e);
    kill(e.srv->proc->pid, SIGHUP);
    cr_assert(sighup_done(e.srv, 0, 15), "no SIGHUP outcome logged:\n%s", h_log_tail(e.srv));
    char *log = h_log(e.srv);
    cr_expect(strstr(log, "handing over") == NULL, "an unchanged config handed over:\n%s",
              h_log_tail(e.srv));
    free(log);
    cr_expect(h_log_wait(e.srv, "0 apps added, 0 removed, 0 reloading", 0), "%s",
              h_log_tail(e.srv));
    h_nap(0.5);
    cr_expect_eq(serving_pid(&e), pid, "the process changed");
    cr_expect(!h_proc_exited(e.srv->proc), "the first process exited");
    json_t *srv = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/server", &srv, 120);
    cr_expect_eq(json_integer_value(json_object_get(srv, "handovers")), 0);
    json_decref(srv);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 same 1"));
    pid_file[0] = '\0';
    h_server_stop_clean(e.srv);
}

/* A burst of SIGHUPs, each after a change of the app's environment: the
 * changes may be coalesced but the last one always wins, even when it
 * arrives while a reload for an earlier one is loading (the app imports
 * slowly) or, before the admin port's state was read right, during a
 * handover. */
Test(handover, burst_of_sighups_ends_with_the_last_config)
{
    env_t e = start("import os, time\n"
                    "time.sleep(0.2)\n"
                    "def application(environ, start_response):\n"
                    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                    "    return [os.environ.get('K', '-').encode()]\n",
                    "env = K=v0\n");
    long pid = serving_pid(&e);
    cr_expect_str_eq(h_status_body(e.srv->scgi, "/"), "200 v0");
    char *path = h_fmt("%s/subwsgi.ini", e.dir);
    char *orig = h_read_file(path, NULL);
    char *at = orig ? strstr(orig, "env = K=v0\n") : NULL;
    cr_assert(at, "no env line in %s", orig ? orig : "(none)");
    enum { BURST = 50 };
    for (int i = 1; i <= BURST; i++) {
        h_replace_file(path, h_fmt("%.*senv = K=v%d\n%s", (int)(at - orig), orig, i,
                                   at + strlen("env = K=v0\n")));
        kill(e.srv->proc->pid, SIGHUP);
        h_nap(0.01);
    }
    free(orig);
    char *want = h_fmt("200 v%d", BURST), *got = h_status_body(e.srv->scgi, "/");
    for (double until = h_now() + 60; strcmp(got, want) != 0 && h_now() < until; h_nap(0.1))
        got = h_status_body(e.srv->scgi, "/");
    cr_expect_str_eq(got, want, "the last config was not applied:\n%s", h_log_tail(e.srv));
    /* And it stays: no reload of an older config comes after it. */
    h_nap(1);
    cr_expect_str_eq(h_status_body(e.srv->scgi, "/"), want);
    cr_expect_eq(serving_pid(&e), pid, "a config that changes no socket handed over");
}

/* A unix listener removed by SIGHUP: after the handover nobody listens
 * there and its socket file (this subwsgi's) is gone. */
Test(handover, sighup_that_removes_a_unix_listener_removes_its_file)
{
    char *sock = h_fmt("%s/extra.sock", h_tmpdir());
    char *line = h_fmt("scgi = unix:%s\n", sock);
    env_t e = start_with(line, plain_app("x"), "");
    cr_assert_eq(status_at(h_fmt("unix:%s", sock)), 200);
    long pid = serving_pid(&e);
    char *path = h_fmt("%s/subwsgi.ini", e.dir);
    char *orig = h_read_file(path, NULL);
    char *at = orig ? strstr(orig, line) : NULL;
    cr_assert(at, "no unix listener in %s", orig ? orig : "(none)");
    h_replace_file(path, h_fmt("%.*s%s", (int)(at - orig), orig, at + strlen(line)));
    free(orig);
    kill(e.srv->proc->pid, SIGHUP);
    next_serving_pid(&e, pid);
    double until = h_now() + 15;
    while (access(sock, F_OK) == 0 && h_now() < until)
        h_nap(0.05);
    cr_expect_neq(access(sock, F_OK), 0, "%s is still there", sock);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 x"), "the TCP listener");
}

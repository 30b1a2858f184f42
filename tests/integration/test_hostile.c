/* test_hostile.c: what an app can do to the server that hosts it, and must
 * not be able to (issue 10): start threads that outlive their request and
 * then be reloaded, destroyed or idle-timed-out; be removed by SIGHUP while
 * a request of it is stuck; hang in its import; keep an admin request
 * waiting while signals arrive; load a module (Cython) that only one
 * interpreter per process may import. The hostile app is
 * tests/apps/hostile/app.py. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define ROOT "root-token-ZYXWVUTSRQ"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

/* Successors of a handover are not the test's children: stop the one
 * serving at the end, found through the pid file. */
static char pid_file[512];

static void stop_successor(void)
{
    h_stop_pid_file(pid_file);
    pid_file[0] = '\0';
    h_cleanup();
}

TestSuite(hostile, .fini = stop_successor, .timeout = H_SUITE_TIMEOUT);

typedef struct {
    h_server_t *srv;
    char *dir, *ini, *scgi, *wedge;
    int admin_port;               /* 0: "admin = off" */
    int load_timeout;
} env_t;

/* The config: an admin port with root's token (unless e->admin_port is
 * 0), short drain/load timeouts,
 * and the [app:...] sections in apps (each "%s" in it becomes the hostile
 * app's path, each "%w" the path of the file that wedges its import). */
static char *config_text(const env_t *e, const char *apps)
{
    const char *app = h_app("hostile/app.py");
    char *sections = h_fmt("%s", apps);
    for (char *p; (p = strstr(sections, "%s"));) {
        *p = '\0';
        sections = h_fmt("%s%s%s", sections, app, p + 2);
    }
    for (char *p; (p = strstr(sections, "%w"));) {
        *p = '\0';
        sections = h_fmt("%s%s%s", sections, e->wedge, p + 2);
    }
    char *admin = e->admin_port ? h_fmt("127.0.0.1:%d", e->admin_port) : "off";
    return h_fmt("[server]\nscgi = %s\nadmin = %s\ndrain-timeout = 2\n"
                 "load-timeout = %d\npid-file = %s\n"
                 "[user:root]\ntoken-sha256 = " ROOT_SHA "\nrole = admin\n%s",
                 e->scgi, admin, e->load_timeout, pid_file, sections);
}

static env_t start_on(const char *apps, int load_timeout, int with_admin)
{
    env_t e = {.load_timeout = load_timeout};
    e.dir = h_tmpdir();
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = with_admin ? h_free_port() : 0;
    e.wedge = h_fmt("%s/wedge", e.dir);
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", e.dir);
    e.ini = h_fmt("%s/subwsgi.ini", e.dir);
    e.srv = h_server_config(e.dir, e.scgi, config_text(&e, apps), NULL);
    return e;
}

static env_t start_ex(const char *apps, int load_timeout)
{
    return start_on(apps, load_timeout, 1);
}

static env_t start(const char *apps)
{
    return start_ex(apps, 3);
}

/* GET path until its "STATUS BODY" contains want; asserts. */
static void wait_body(const env_t *e, const char *path, const char *want, double timeout)
{
    double until = h_now() + timeout;
    char *b;
    do {
        b = h_status_body(e->scgi, path);
        if (strstr(b, want))
            return;
        h_nap(0.05);
    } while (h_now() < until);
    cr_assert_fail("GET %s never answered \"%s\" (last: %s)\n%s", path, want, b,
                   h_log_tail(e->srv));
}

static int admin(const env_t *e, const char *method, const char *path, json_t **out)
{
    return h_admin_call(e->admin_port, ROOT, method, path, out, 60);
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

/* The server is still the process the test started, and running. */
static void expect_alive(const env_t *e, const char *after)
{
    cr_expect(!h_proc_exited(e->srv->proc), "the server died after %s: %s\n%s", after,
              h_status_text(e->srv->proc->status), h_log_tail(e->srv));
}

/* ---- 1. threads an app started ------------------------------------------------------ */

/* A thread started in a request (daemon by inheritance, or a bare
 * _thread one) blocked for ever: the reload, destroy or idle-timeout that
 * ends its generation must not end the interpreter under it (that aborts
 * the process: "Py_EndInterpreter: not the last thread"). The generation
 * stays, reported stuck with the thread's name, and everything else goes on. */
static void thread_survives(const char *spawn_path, const char *thread_name)
{
    env_t e = start("[app:h]\nwsgi = %s\nmount = /h\nthreads = 1\n"
                    "[app:idle]\nwsgi = %s\nmount = /idle\nthreads = 1\nidle-timeout = 1\n");
    cr_assert(strstr(h_status_body(e.scgi, h_fmt("/h%s", spawn_path)), "200 h generation=1"));
    cr_assert(strstr(h_status_body(e.scgi, h_fmt("/idle%s", spawn_path)), "200 idle generation=1"));

    /* reload */
    cr_expect_eq(admin(&e, "POST", "/v1/apps/h/reload?wait=30", NULL), 200);
    wait_body(&e, "/h/", "h generation=2", 10);
    cr_expect(h_log_wait(e.srv, "left alive", 10), "no 'left alive' line\n%s", h_log_tail(e.srv));
    expect_alive(&e, "the reload");
    json_t *app = NULL;
    cr_expect_eq(admin(&e, "GET", "/v1/apps/h", &app), 200);
    json_t *its = json_object_get(app, "interpreters");
    int stuck = 0;
    const char *reason = "";
    for (size_t i = 0; i < json_array_size(its); i++)
        if (strcmp(jstr(json_array_get(its, i), "state"), "stuck") == 0) {
            stuck++;
            reason = jstr(json_array_get(its, i), "stuck_reason");
        }
    cr_expect_eq(stuck, 1, "generation 1 is not reported stuck: %s",
                 json_dumps(app, JSON_COMPACT));
    /* Status says which threads hold it. */
    cr_expect(strstr(reason, thread_name), "stuck_reason \"%s\" does not name %s", reason,
              thread_name);
    json_decref(app);

    /* destroy of the new generation, which started one too */
    cr_assert(strstr(h_status_body(e.scgi, h_fmt("/h%s", spawn_path)), "200 h generation=2"));
    admin(&e, "POST", "/v1/apps/h/destroy?wait=10", NULL);
    expect_alive(&e, "the destroy");
    wait_body(&e, "/h/", "h generation=3", 10);

    /* idle-timeout */
    h_nap(2.5);
    expect_alive(&e, "the idle-timeout");
    wait_body(&e, "/idle/", "idle generation=2", 10);
    h_server_stop_clean(e.srv);
}

Test(hostile, daemon_thread_from_a_request_never_aborts_the_end)
{
    thread_survives("/daemon", "app-waiter");
}

Test(hostile, bare_thread_from_a_request_never_aborts_the_end)
{
    thread_survives("/raw", "not known to threading");
}

/* ---- 2. an app removed while a request of it is stuck ------------------------------ */

Test(hostile, removed_app_with_a_stuck_request_is_not_freed_under_it)
{
    /* No admin port: SIGHUP must remove b in this process (an admin port
     * once made every SIGHUP a handover, defect 7, which hid this). The
     * request outlives drain-timeout (2 s) by 2 s, so the removal's end of
     * b comes while its worker still runs: b must not be freed under it
     * (a use-after-free: ASan in the sanitizer build, a corrupted heap at
     * exit otherwise). */
    env_t e = start_on("[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"
                       "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n", 3, 0);
    h_async_t *stuck = h_async_get(e.scgi, "/b/sleep/4", 30);
    h_nap(0.5);
    h_replace_file(e.ini, config_text(&e, "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"));
    kill(e.srv->proc->pid, SIGHUP);
    cr_assert(h_log_wait(e.srv, "1 removed", 10), "SIGHUP did not remove b in-process\n%s",
              h_log_tail(e.srv));
    /* b is gone from the routes while its request still runs. */
    cr_expect(strncmp(h_status_body(e.scgi, "/b/"), "404 ", 4) == 0,
              "the removed app still routed: %s", h_status_body(e.scgi, "/b/"));
    cr_expect(!atomic_load(&stuck->done), "the stuck request ended before drain-timeout");
    /* drain-timeout passes with the request still running; then it ends
     * and its worker leaves, touching its app. */
    cr_assert(h_async_wait(stuck, 20));
    cr_expect(stuck->rc == 0 && stuck->resp.status == 200, "the stuck request: %d %s",
              stuck->resp.status, stuck->err);
    h_nap(0.5);
    cr_assert(!h_proc_exited(e.srv->proc), "the server died after the removed app's request "
              "ended: %s\n%s", h_status_text(e.srv->proc->status), h_log_tail(e.srv));
    for (int i = 0; i < 20; i++)
        cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
    /* Let go once quiet, and no sanitizer report (a use-after-free in the
     * ASan build) until SIGTERM, which exits 0. */
    cr_expect(h_log_wait(e.srv, "[b] removed", 10), "b was never let go\n%s", h_log_tail(e.srv));
    h_assert_no_crash(e.srv);
    h_server_stop_clean(e.srv);
}

/* ---- 3. a wedged import -------------------------------------------------------------- */

Test(hostile, wedged_import_wedges_only_its_app)
{
    env_t e = start("[app:wedge]\nwsgi = %s\nmount = /wedge\nthreads = 1\n"
                    "env = HOSTILE_WEDGE=%w\n"
                    "[app:other]\nwsgi = %s\nmount = /other\nthreads = 1\n");
    h_write_file(e.wedge, "1", 1);
    cr_expect_eq(admin(&e, "POST", "/v1/apps/wedge/reload", NULL), 202);
    h_nap(0.3);
    /* The other app's lifecycle goes on. */
    double t0 = h_now();
    cr_expect_eq(admin(&e, "POST", "/v1/apps/other/reload?wait=20", NULL), 200,
                 "another app's reload while one import hangs\n%s", h_log_tail(e.srv));
    cr_expect(h_now() - t0 < 10, "the other reload took %.1fs", h_now() - t0);
    cr_expect_eq(admin(&e, "POST", "/v1/apps/other/destroy?wait=20", NULL), 200);
    wait_body(&e, "/other/", "other generation=3", 10);
    /* The wedged app's old generation serves; its reload is reported. */
    cr_expect(strstr(h_status_body(e.scgi, "/wedge/"), "200 wedge generation=1"));
    json_t *app = NULL;
    h_nap(3.5);   /* past load-timeout */
    cr_expect_eq(admin(&e, "GET", "/v1/apps/wedge", &app), 200);
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(jstr(last, "result"), "timeout", "%s", json_dumps(app, JSON_COMPACT));
    cr_expect_str_eq(jstr(app, "state"), "serving", "%s", json_dumps(app, JSON_COMPACT));
    /* The import still running shows, with its age. */
    json_t *load = json_array_get(json_object_get(app, "loading"), 0);
    cr_expect(json_is_true(json_object_get(load, "overdue")) &&
                  json_real_value(json_object_get(load, "age_s")) > 3.0,
              "no overdue load in status: %s", json_dumps(app, JSON_COMPACT));
    json_decref(app);
    /* Destroying it is possible again, and a request then waits for a
     * load that hangs too: 503 after load-timeout, not for ever. */
    cr_expect_eq(admin(&e, "POST", "/v1/apps/wedge/destroy?wait=20", NULL), 200);
    sw_scgi_response_t r;
    t0 = h_now();
    h_get(e.scgi, "/wedge/", &r);
    cr_expect_eq(r.status, 503, "a request for an app whose load hangs: %d", r.status);
    cr_expect(h_now() - t0 < 10, "the 503 took %.1fs", h_now() - t0);
    sw_scgi_response_free(&r);
    /* Shutdown does not wait for the import: drain-timeout (2 s), then out. */
    t0 = h_now();
    h_server_stop_clean(e.srv);
    cr_expect(h_now() - t0 < 8, "SIGTERM took %.1fs", h_now() - t0);
}

/* ---- 4. signals while an admin request waits ----------------------------------------- */

typedef struct {
    int port;
    int status;
} reload_t;

/* POST /v1/apps/slow/reload?wait=60 (h_bg thread). */
static void bg_reload(void *arg, const atomic_int *stop)
{
    (void)stop;   /* it ends with its request */
    reload_t *b = arg;
    h_http_resp_t r;
    char err[256];
    const char *hdr[] = {"Authorization: Bearer " ROOT};
    if (h_http(b->port, "POST", "/v1/apps/slow/reload?wait=60", hdr, 1, NULL, 0, 90, &r, err,
               sizeof err) == 0) {
        b->status = r.status;
        h_http_free(&r);
    }
}

Test(hostile, signals_never_wait_for_an_admin_request)
{
    /* Each generation of "slow" takes 4 s to import. */
    env_t e = start_ex("[app:slow]\nwsgi = %s\nmount = /slow\nthreads = 1\n"
                       "env = HOSTILE_SLOW_IMPORT=4\n"
                       "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\nenv = K=1\n", 30);
    reload_t b = {.port = e.admin_port};
    h_bg_t *bg = h_bg_start(bg_reload, &b);
    h_nap(1.0);
    /* While it waits: a SIGHUP that changes b, then SIGUSR1. Each is
     * handled at once. */
    h_replace_file(e.ini, config_text(&e, "[app:slow]\nwsgi = %s\nmount = /slow\nthreads = 1\n"
                                          "env = HOSTILE_SLOW_IMPORT=4\n"
                                          "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n"
                                          "env = K=2\n"));
    double t0 = h_now();
    kill(e.srv->proc->pid, SIGHUP);
    h_nap(0.2);
    kill(e.srv->proc->pid, SIGUSR1);
    cr_expect(h_log_wait(e.srv, "SIGUSR1: log files reopened", 3),
              "SIGUSR1 waited for the admin request\n%s", h_log_tail(e.srv));
    cr_expect(h_now() - t0 < 3, "signals took %.1fs", h_now() - t0);
    cr_expect(!h_bg_done(bg), "the reload ended before the signals were checked");
    wait_body(&e, "/b/env/K", "200 2", 10);
    h_bg_join(bg);
    cr_expect_eq(b.status, 200);
    h_server_stop_clean(e.srv);
}

/* ---- 5. a module only one interpreter per process may load ---------------------------- */

/* Debian's Falcon is compiled with Cython 0.29 for 3.11: its modules
 * refuse every interpreter after the first one in a process ("Interpreter
 * change detected"), so its reload must be a process handover, known from
 * the first load. On other versions Falcon runs as pure Python: a reload
 * in-process works there, and the test checks only that it reloads. */
Test(hostile, cython_module_makes_reload_a_process_handover)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = h_free_port();
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", e.dir);
    char *app = h_fmt("%s/falcon_app.py", e.dir);
    const char *src = "import falcon\n"
                      "class R:\n"
                      "    def on_get(self, req, resp):\n"
                      "        resp.text = 'falcon %s' % req.env['subwsgi.generation']\n"
                      "application = falcon.App()\n"
                      "application.add_sink(R().on_get, '/')\n";
    h_write_file(app, src, strlen(src));
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\npid-file = %s\n"
                      "drain-timeout = 2\n"
                      "[user:root]\ntoken-sha256 = " ROOT_SHA "\nrole = admin\n"
                      "[app:falcon]\nwsgi = %s\nmount = /\nthreads = 1\n%s",
                      e.scgi, e.admin_port, pid_file, app, h_framework_paths());
    e.srv = h_server_config(e.dir, e.scgi, ini, NULL);
    cr_assert(strstr(h_status_body(e.scgi, "/x"), "200 falcon 1"), "%s", h_log_tail(e.srv));
    json_t *a = NULL;
    cr_assert_eq(admin(&e, "GET", "/v1/apps/falcon", &a), 200);
    if (h_python_version() == 311) {
        cr_expect_str_eq(jstr(a, "reload_mode"), "process", "%s", json_dumps(a, JSON_COMPACT));
        cr_expect(strstr(jstr(a, "reload_mode_reason"), "one interpreter per process"),
                  "%s", json_dumps(a, JSON_COMPACT));
    }
    json_decref(a);
    json_t *body = NULL;
    int st = admin(&e, "POST", "/v1/apps/falcon/reload?wait=60", &body);
    cr_expect_eq(st, 200, "reload: %d %s\n%s", st, body ? json_dumps(body, 0) : "",
                 h_log_tail(e.srv));
    json_decref(body);
    wait_body(&e, "/x", "falcon", 10);
    cr_expect(!strstr(h_log_tail(e.srv), "Interpreter change detected"), "%s", h_log_tail(e.srv));
}

/* A handover waits for its successor to load (here 8 s): SIGTERM meanwhile
 * calls it off and stops at once, instead of after the load. */
Test(hostile, sigterm_during_a_handover_does_not_wait_for_it)
{
    env_t e = start_ex("[app:slow]\nwsgi = %s\nmount = /slow\nthreads = 1\n"
                       "env = HOSTILE_SLOW_IMPORT=8\n", 30);
    cr_assert_eq(admin(&e, "POST", "/v1/server/recycle", NULL), 202);
    cr_assert(h_log_wait(e.srv, "handover: started process", 10), "%s", h_log_tail(e.srv));
    h_nap(0.5);
    double t0 = h_now();
    h_server_stop_clean(e.srv);
    cr_expect(h_now() - t0 < 4.0, "SIGTERM took %.1fs during an 8 s handover", h_now() - t0);
    cr_expect(h_log_wait(e.srv, "a stop signal came during the handover", 1), "%s",
              h_log_tail(e.srv));
    /* The successor it started is gone too. */
    pid_file[0] = '\0';
}

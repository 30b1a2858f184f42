/* test_pool.c: the interpreter pool (issue "interpreter pool"): own-GIL
 * parallelism, auto isolation fallback, queue-full isolation between apps,
 * request-timeout, private os.environ per app, two Django settings modules
 * in one process. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

TestSuite(pool, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

static h_server_t *start_ini(const char *body, char *const env[])
{
    char *dir = h_tmpdir();
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\naccess-log = off\n%s", addr, body);
    return h_server_config(dir, addr, ini, env);
}

/* Two requests, one per interpreter, each raising its flag in a shared
 * memory map and then spinning in pure Python (never releasing its GIL)
 * until it sees the other's flag. Both can only "meet" when both run Python
 * at the same moment; with one shared GIL the first spins alone until its
 * timeout. Returns how many of the two met. */
static int rendezvous(const char *isolation)
{
    char *dir = h_tmpdir();
    char *shared = h_fmt("%s/flags", dir);
    h_write_file(shared, "\0\0\0\0\0\0\0\0", 8);
    h_server_t *s = start_ini(h_fmt("[app:cpu]\nwsgi = %s\nmount = /\nisolation = %s\n"
                                    "interpreters = 2\nthreads = 1\n"
                                    "env = POOL_SWITCH_INTERVAL=60\n",
                                    h_app("pool.py"), isolation), NULL);
    h_async_t *a = h_async_get(s->scgi, h_fmt("/rendezvous?f=%s&me=0&timeout=3", shared),
                               H_IO_TIMEOUT);
    h_async_t *b = h_async_get(s->scgi, h_fmt("/rendezvous?f=%s&me=1&timeout=3", shared),
                               H_IO_TIMEOUT);
    cr_assert(h_async_wait(a, 60) && h_async_wait(b, 60));
    cr_assert_eq(a->rc, 0, "%s", a->err);
    cr_assert_eq(b->rc, 0, "%s", b->err);
    cr_assert_eq(a->resp.status, 200, "%s\n%s", a->resp.raw, h_log_tail(s));
    cr_assert_eq(b->resp.status, 200, "%s\n%s", b->resp.raw, h_log_tail(s));
    const char *ja = a->resp.body, *jb = b->resp.body;
    cr_expect_str_neq(h_json_get(ja, "interpreter"), h_json_get(jb, "interpreter"),
                      "both requests ran in one interpreter: %s / %s", ja, jb);
    int met = !strcmp(h_json_get(ja, "rendezvous"), "met") +
              !strcmp(h_json_get(jb, "rendezvous"), "met");
    h_server_stop_clean(s);
    return met;
}

Test(pool, own_gil_runs_python_in_parallel)
{
    int v = h_python_version();
    if (v < 313) {
        cr_skip_test("own-gil parallelism is tested on CPython 3.13+ builds; this build embeds "
                     "%d.%d (3.12.1 aborts at teardown after common imports: FACTS.md 4)",
                     v / 100, v % 100);
    }
    cr_expect_eq(rendezvous("own-gil"), 2, "two own-GIL interpreters did not run Python at the "
                 "same moment");
}

Test(pool, shared_gil_control_never_meets)
{
    /* The control for the test above: it can fail. */
    cr_expect_lt(rendezvous("shared-gil"), 2, "two shared-GIL interpreters ran Python at the "
                 "same moment?");
}

Test(pool, auto_isolation_falls_back_and_says_why)
{
    int v = h_python_version();
    if (v != 311) {
        cr_skip_test("Debian's Falcon (Cython) is built for CPython 3.11; this build embeds %d.%d",
                     v / 100, v % 100);
    }
    char *dir = h_tmpdir();
    char *falcon = h_fmt("%s/falcon_app.py", dir);
    const char *src = "import falcon\n"
                      "class Hello:\n"
                      "    def on_get(self, req, resp):\n"
                      "        resp.text = 'falcon ' + req.env['subwsgi.isolation']\n"
                      "application = falcon.App()\n"
                      "application.add_sink(Hello().on_get, '/')\n";
    h_write_file(falcon, src, strlen(src));
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\n"
                      "[app:falcon]\nwsgi = %s\nmount = /falcon\ninterpreters = 2\n"
                      "[app:flask]\nwsgi = %s\nmount = /flask\ninterpreters = 2\n",
                      addr, falcon, h_app("flask_app.py"));
    h_server_t *s = h_server_config(dir, addr, ini, NULL);
    sw_scgi_response_t r;
    h_get(s->scgi, "/falcon/x", &r);
    cr_expect_eq(r.status, 200, "falcon: %s\n%s", r.raw, h_log_tail(s));
    cr_expect(strstr(r.body, "falcon shared-gil") != NULL, "got %s", r.body);
    sw_scgi_response_free(&r);
    h_get(s->scgi, "/flask/", &r);
    cr_expect_eq(r.status, 200, "flask: %s", r.raw);
    sw_scgi_response_free(&r);
    /* The mode each app got, and why, is logged (and shown in status). */
    const char *falcon_line[] = {"[falcon] load: generation 1 serving (shared-gil",
                                 "1 of 2 interpreters", "Interpreter change detected", NULL};
    cr_expect_not_null(h_log_wait_line(s, falcon_line, 5), "%s", h_log_tail(s));
    const char *flask_line[] = {"[flask] load: generation 1 serving (shared-gil,", NULL};
    cr_expect_not_null(h_log_wait_line(s, flask_line, 5), "%s", h_log_tail(s));
    h_server_stop_clean(s);
}

Test(pool, full_queue_rejects_one_app_only)
{
    char *dir = h_tmpdir();
    char *gate = h_fmt("%s/open", dir);
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\nqueue-size = 2\naccess-log = off\n"
                      "[app:stuck]\nwsgi = %s\nmount = /stuck\n"
                      "[app:free]\nwsgi = %s\nmount = /free\n",
                      addr, h_app("pool.py"), h_app("pool.py"));
    h_server_t *s = h_server_config(dir, addr, ini, NULL);
    char *uri = h_fmt("/stuck/gate?f=%s", gate);
    /* One request runs (blocked on the gate), two wait in the queue. */
    h_async_t *held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = h_async_get(s->scgi, uri, H_IO_TIMEOUT);
        h_nap(0.15);
    }
    sw_scgi_response_t r;
    h_get(s->scgi, uri, &r);
    cr_expect_eq(r.status, 503, "a full queue answers 503, got %d: %s", r.status, r.raw);
    cr_expect_not_null(h_header(&r, "Retry-After"), "503 without Retry-After: %s", r.raw);
    sw_scgi_response_free(&r);
    /* The other app is not slowed by the stuck one. */
    for (int i = 0; i < 20; i++) {
        double t0 = h_now();
        h_get(s->scgi, "/free/spin?cpu=0", &r);
        double took = h_now() - t0;
        cr_expect_eq(r.status, 200);
        cr_expect(took < 1.0, "request %d to the free app took %.3fs", i, took);
        sw_scgi_response_free(&r);
    }
    h_write_file(gate, "", 0);
    for (int i = 0; i < 3; i++) {
        cr_assert(h_async_wait(held[i], 30), "held request %d never finished", i);
        cr_expect_eq(held[i]->resp.status, 200, "held request %d: %d", i, held[i]->resp.status);
    }
    h_server_stop_clean(s);
}

Test(pool, request_timeout_504_then_the_worker_serves_again)
{
    h_server_t *s = start_ini(h_fmt("request-timeout = 1\n[app:p]\nwsgi = %s\nmount = /\n",
                                    h_app("pool.py")), NULL);
    sw_scgi_response_t r;
    h_get(s->scgi, "/", &r);
    char *interp = h_json_get(r.body, "interpreter");
    sw_scgi_response_free(&r);
    double t0 = h_now();
    h_get(s->scgi, "/forever", &r);
    double took = h_now() - t0;
    cr_expect_eq(r.status, 504, "a spinning request gets 504, got %d", r.status);
    cr_expect(took >= 0.9 && took < 5, "504 after %.2fs (timeout 1s)", took);
    sw_scgi_response_free(&r);
    /* The only worker is usable again, in the same interpreter. */
    h_get(s->scgi, "/", &r);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(h_json_get(r.body, "interpreter"), interp);
    sw_scgi_response_free(&r);
    const char *line[] = {"[p]", "request-timeout", "exceeded", NULL};
    cr_expect_not_null(h_log_wait_line(s, line, 5), "%s", h_log_tail(s));
    h_server_stop_clean(s);
}

Test(pool, request_timeout_waits_for_a_c_call)
{
    /* The known limit: a thread inside a C call (time.sleep here) gets the
     * exception only when the call returns. */
    h_server_t *s = start_ini(h_fmt("request-timeout = 0.5\n[app:p]\nwsgi = %s\nmount = /\n",
                                    h_app("pool.py")), NULL);
    sw_scgi_response_t r;
    double t0 = h_now();
    h_get(s->scgi, "/sleep?s=2", &r);
    double took = h_now() - t0;
    cr_expect_eq(r.status, 504, "got %d", r.status);
    cr_expect(took >= 1.9, "answered after %.2fs, before the C call returned", took);
    sw_scgi_response_free(&r);
    h_server_stop_clean(s);
}

Test(pool, os_environ_is_private_to_each_app)
{
    char *env[] = {"POOL_FROM_SERVER=yes", NULL};
    h_server_t *s = start_ini(h_fmt("[app:a]\nwsgi = %s\nmount = /a\nenv = POOL_X=from-a\n"
                                    "[app:b]\nwsgi = %s\nmount = /b\nenv = POOL_X=from-b\n",
                                    h_app("pool.py"), h_app("pool.py")), env);
    sw_scgi_response_t r;
    h_get(s->scgi, "/a/env?set=POOL_WRITTEN_BY_A", &r);
    cr_expect_str_eq(h_json_get(r.body, "POOL_X"), "from-a");
    cr_expect_str_eq(h_json_get(r.body, "POOL_FROM_SERVER"), "yes");
    sw_scgi_response_free(&r);
    h_get(s->scgi, "/b/env", &r);
    cr_expect_str_eq(h_json_get(r.body, "POOL_X"), "from-b");
    cr_expect_str_eq(h_json_get(r.body, "POOL_FROM_SERVER"), "yes");
    cr_expect_null(h_json_get(r.body, "POOL_WRITTEN_BY_A"), "b sees a's write: %s", r.body);
    sw_scgi_response_free(&r);
    h_get(s->scgi, "/a/env", &r);
    cr_expect_str_eq(h_json_get(r.body, "POOL_WRITTEN_BY_A"), "1", "a lost its own write: %s",
                     r.body);
    sw_scgi_response_free(&r);
    h_server_stop_clean(s);
}

Test(pool, two_django_projects_keep_their_settings)
{
    char *root = h_fmt("%s/tests/apps/django_multi", h_srcdir());
    h_server_t *s = start_ini(h_fmt("[app:a]\nwsgi = %s/wsgi_a.py\nmount = /a\n%s"
                                    "[app:b]\nwsgi = %s/wsgi_b.py\nmount = /b\n%s",
                                    root, h_framework_paths(), root, h_framework_paths()),
                              NULL);
    for (int round = 0; round < 2; round++) {
        sw_scgi_response_t r;
        h_get(s->scgi, "/a/", &r);
        cr_expect_eq(r.status, 200, "%s\n%s", r.raw, h_log_tail(s));
        cr_expect_str_eq(r.body, "site a");
        sw_scgi_response_free(&r);
        h_get(s->scgi, "/b/", &r);
        cr_expect_eq(r.status, 200, "%s\n%s", r.raw, h_log_tail(s));
        cr_expect_str_eq(r.body, "site b");
        sw_scgi_response_free(&r);
    }
    h_server_stop_clean(s);
}

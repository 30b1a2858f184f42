/* test_reload.c: reloads through the admin API as the hosting panel does
 * them: 50 reloads with changing code under continuous load, failures at
 * import time, idle-timeout, status while every worker spins, and what
 * status says about an interpreter that could not be ended. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(reload, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define TOKEN "reload-test-token-0123456789"
#define TOKEN_SHA256 "7a29c072f93eaeaad0c64839976c448baf611e5d65b81249df0bccca0ae63c79"

typedef struct {
    h_server_t *srv;
    char *dir;
    char *app;              /* path of the app file the tests rewrite */
    int admin_port;
} env_t;

/* version: what the app answers; extra: more module-level code. */
static void write_app(const env_t *e, const char *version, const char *extra)
{
    char *src = h_fmt("import os, time\n%s\n"
                      "VERSION = %s\n"
                      "def application(environ, start_response):\n"
                      "    if environ['PATH_INFO'] == '/slow':\n"
                      "        time.sleep(0.2)\n"
                      "    if environ['PATH_INFO'] == '/spin':\n"
                      "        t = time.monotonic()\n"
                      "        while time.monotonic() - t < float(environ['QUERY_STRING'] or 3):\n"
                      "            pass\n"
                      "    body = ('%%s %%s %%s' %% (VERSION, environ['subwsgi.interpreter'],\n"
                      "            environ['subwsgi.generation'])).encode()\n"
                      "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                      "    return [body]\n",
                      extra ? extra : "", version);
    h_replace_file(e->app, src);
}

static env_t start_ex(const char *server_keys, const char *app_keys, const char *version);

static env_t start(const char *app_keys, const char *version)
{
    return start_ex("", app_keys, version);
}

/* The config file's text: the server keys, then the app's. */
static char *config_text(const env_t *e, const char *addr, const char *server_keys,
                         const char *app_keys)
{
    return h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\naccess-log = off\n"
                 "drain-timeout = 10\n%s"
                 "[user:panel]\ntoken-sha256 = " TOKEN_SHA256 "\nrole = user\n"
                 "[app:site]\nowner = panel\nwsgi = %s\nmount = /\n%s",
                 addr, e->admin_port, server_keys, e->app, app_keys);
}

static env_t start_ex(const char *server_keys, const char *app_keys, const char *version)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.app = h_fmt("%s/app.py", e.dir);
    write_app(&e, version, NULL);
    e.admin_port = h_free_port();
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    e.srv = h_server_config(e.dir, addr, config_text(&e, addr, server_keys, app_keys), NULL);
    return e;
}

Test(reload, fifty_reloads_under_load_lose_nothing)
{
    env_t e = start("interpreters = 2\nthreads = 2\n", "0");
    enum { CLIENTS = 8, RELOADS = 50 };
    h_async_t *load[CLIENTS];
    unsigned long sent = 0, failed = 0;
    /* 8 clients in a closed loop; every fifth request is slow (0.2 s). */
    for (int i = 0; i < CLIENTS; i++)
        load[i] = h_async_get(e.srv->scgi, i % 5 == 0 ? "/slow" : "/", H_IO_TIMEOUT);
    for (int n = 1; n <= RELOADS; n++) {
        write_app(&e, h_fmt("%d", n), NULL);
        json_t *app = NULL;
        int st = h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=60", &app, 90);
        cr_expect_eq(st, 200, "reload %d answered %d: %s", n, st, json_dumps(app, 0));
        cr_expect_eq(json_integer_value(json_object_get(app, "generation")), n + 1);
        json_decref(app);
        for (int i = 0; i < CLIENTS; i++) {
            if (!h_async_wait(load[i], 0))
                continue;
            sent++;
            if (load[i]->rc != 0 || load[i]->resp.status != 200) {
                failed++;
                cr_expect_fail("request failed during reload %d: rc %d status %d %s", n,
                               load[i]->rc, load[i]->resp.status, load[i]->err);
            }
            load[i] = h_async_get(e.srv->scgi, (sent % 5) == 0 ? "/slow" : "/", H_IO_TIMEOUT);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        cr_assert(h_async_wait(load[i], 60));
        sent++;
        failed += load[i]->rc != 0 || load[i]->resp.status != 200;
    }
    cr_expect_eq(failed, 0, "%lu of %lu requests failed", failed, sent);
    /* Every interpreter serves the last code: 4 slow requests at once
     * occupy all 2 x 2 workers, so both interpreters answer. */
    char *first_interp = NULL;
    int other_seen = 0;
    h_async_t *wide[4];
    for (int i = 0; i < 4; i++)
        wide[i] = h_async_get(e.srv->scgi, "/slow", H_IO_TIMEOUT);
    for (int i = 0; i < 4; i++) {
        cr_assert(h_async_wait(wide[i], 60));
        cr_assert_eq(wide[i]->resp.status, 200, "%s", wide[i]->err);
        char version[16], interp[32];
        cr_assert(sscanf(wide[i]->resp.body, "%15s %31s", version, interp) == 2, "%s",
                  wide[i]->resp.body);
        cr_expect_str_eq(version, "50", "an interpreter serves old code: %s", wide[i]->resp.body);
        if (!first_interp)
            first_interp = h_fmt("%s", interp);
        else if (strcmp(first_interp, interp) != 0)
            other_seen = 1;
    }
    cr_expect(other_seen, "4 concurrent requests were all answered by interpreter %s",
              first_interp);
    json_t *app = NULL;
    cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10), 200);
    json_t *interps = json_object_get(app, "interpreters");
    size_t serving = 0, i;
    json_t *it;
    json_array_foreach(interps, i, it) {
        if (!strcmp(json_string_value(json_object_get(it, "state")), "serving")) {
            serving++;
            cr_expect_eq(json_integer_value(json_object_get(it, "generation")), RELOADS + 1);
        }
    }
    cr_expect_eq(serving, 2, "%s", json_dumps(app, 0));
    cr_expect_eq(json_integer_value(json_object_get(app, "reloads")), RELOADS);
    json_decref(app);
    h_server_stop_clean(e.srv);
}

Test(reload, exception_at_import_is_422_and_old_code_serves)
{
    env_t e = start("", "'good'");
    write_app(&e, "'bad'", "raise RuntimeError('database is down')");
    json_t *body = NULL;
    int st = h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=30", &body, 60);
    cr_expect_eq(st, 422, "%s", json_dumps(body, 0));
    char *text = json_dumps(body, 0);
    cr_expect(strstr(text, "Traceback") && strstr(text, "RuntimeError: database is down"),
              "no traceback in %s", text);
    free(text);
    json_decref(body);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 good 1") != NULL || strstr(h_status_body(e.srv->scgi, "/"), "good"));
    json_t *app = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10);
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(json_string_value(json_object_get(last, "result")), "failed");
    cr_expect(strstr(json_string_value(json_object_get(last, "error")), "database is down"));
    cr_expect_eq(json_integer_value(json_object_get(app, "generation")), 1);
    json_decref(app);
    /* Fixed code reloads fine afterwards. */
    write_app(&e, "'fixed'", NULL);
    cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=30", NULL, 60), 200);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 fixed"));
    h_server_stop_clean(e.srv);
}

Test(reload, idle_timeout_destroys_and_the_next_request_loads)
{
    env_t e = start("idle-timeout = 1\n", "'v'");
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 v"));
    double until = h_now() + 20;
    const char *state = NULL;
    json_t *app = NULL;
    while (h_now() < until) {
        json_decref(app);
        h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10);
        state = json_string_value(json_object_get(app, "state"));
        if (state && !strcmp(state, "idle"))
            break;
        h_nap(0.1);
    }
    cr_expect_str_eq(state, "idle", "never went idle: %s", json_dumps(app, 0));
    json_decref(app);
    write_app(&e, "'fresh'", NULL);
    char *b = h_status_body(e.srv->scgi, "/");
    cr_expect(strstr(b, "200 fresh") && strstr(b, " 2"), "after idle: %s", b);
    h_server_stop_clean(e.srv);
}

/* max-requests = 5: the first generation answers exactly five requests
 * (one interpreter, one thread: in order), then a new generation serves;
 * the reload is recorded like any other. */
Test(reload, max_requests_reloads_after_that_many)
{
    env_t e = start("max-requests = 5\n", "'v'");
    for (int i = 1; i <= 5; i++) {
        char *b = h_status_body(e.srv->scgi, "/");
        cr_expect(strstr(b, "200 v") && strstr(b, " 1"), "request %d: %s", i, b);
    }
    char *b = NULL;
    double until = h_now() + 20;
    do {
        b = h_status_body(e.srv->scgi, "/");
        if (strstr(b, "200 v") && strstr(b, " 2"))
            break;
        h_nap(0.05);
    } while (h_now() < until);
    cr_expect(strstr(b, " 2"), "no second generation after max-requests: %s\n%s", b,
              h_log_tail(e.srv));
    cr_expect(h_log_wait(e.srv, "generation 1 served max-requests (5): reloading", 5),
              "%s", h_log_tail(e.srv));
    json_t *app = NULL;
    h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10);
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(json_string_value(json_object_get(last, "requested_by")), "(max-requests)");
    cr_expect_str_eq(json_string_value(json_object_get(last, "result")), "ok");
    json_decref(app);
    h_server_stop_clean(e.srv);
}

Test(reload, status_answers_while_every_worker_spins)
{
    env_t e = start("interpreters = 2\nthreads = 1\n", "'v'");
    h_async_t *spin[2];
    for (int i = 0; i < 2; i++)
        spin[i] = h_async_get(e.srv->scgi, "/spin?3", H_IO_TIMEOUT);
    /* Wait until both workers are busy. */
    double until = h_now() + 10;
    json_int_t active = 0;
    while (h_now() < until && active < 2) {
        json_t *app = NULL;
        h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10);
        active = json_integer_value(json_object_get(json_object_get(app, "requests"), "active"));
        json_decref(app);
        h_nap(0.02);
    }
    cr_assert_eq(active, 2, "the workers never got busy");
    double worst = 0;
    for (int i = 0; i < 20; i++) {
        double t0 = h_now();
        cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", NULL, 10), 200);
        double took = h_now() - t0;
        worst = took > worst ? took : worst;
    }
    /* A generous bound (the ASan build is slow); the benchmark has the p99. */
    cr_expect(worst < 0.05, "GET /v1/apps/site took %.1f ms while workers spin", worst * 1e3);
    for (int i = 0; i < 2; i++)
        cr_assert(h_async_wait(spin[i], 30));
    h_server_stop_clean(e.srv);
}

Test(reload, status_reports_an_interpreter_left_alive)
{
    env_t e = start("", "'one'");
    write_app(&e, "'two'", "import threading\n"
                           "threading.Thread(target=threading.Event().wait, name='stuck').start()");
    cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=30", NULL, 60), 200);
    write_app(&e, "'three'", NULL);
    cr_expect_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/reload?wait=30", NULL, 60), 200);
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 three"));
    /* Generation 2 cannot end (its thread waits for ever in C): status
     * shows it as stuck instead of the server hanging. */
    double until = h_now() + 20;
    int stuck = 0;
    while (h_now() < until && !stuck) {
        json_t *app = NULL;
        h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(app, "interpreters"), i, it) {
            const char *st = json_string_value(json_object_get(it, "state"));
            if (st && !strcmp(st, "stuck") &&
                json_integer_value(json_object_get(it, "generation")) == 2)
                stuck = 1;
        }
        json_decref(app);
        h_nap(0.1);
    }
    cr_expect(stuck, "no stuck interpreter in status\n%s", h_log_tail(e.srv));
    h_server_stop_clean(e.srv);
}

Test(reload, load_timeout_answers_503_while_a_slow_load_runs)
{
    env_t e = start_ex("load-timeout = 1\n", "", "'v'");
    /* From now on the app takes 3 s to import. */
    write_app(&e, "'slow'", "time.sleep(3)");
    json_t *app = NULL;
    cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "POST", "/v1/apps/site/destroy", &app, 30), 200, "%s",
                 json_dumps(app, 0));
    json_decref(app);
    double t0 = h_now();
    sw_scgi_response_t r;
    h_get(e.srv->scgi, "/", &r);
    double took = h_now() - t0;
    cr_expect_eq(r.status, 503, "a request waiting for a load got %d: %s", r.status, r.raw);
    cr_expect(took >= 0.9 && took < 2.9, "503 after %.2fs (load-timeout 1s, load 3s)", took);
    sw_scgi_response_free(&r);
    /* The load goes on; once it is done the app serves. */
    char *b = NULL;
    double until = h_now() + 20;
    do {
        h_nap(0.2);
        b = h_status_body(e.srv->scgi, "/");
    } while (!strstr(b, "200 slow") && h_now() < until);
    cr_expect(strstr(b, "200 slow"), "after the slow load: %s", b);
    h_server_stop_clean(e.srv);
}

/* Rewrites the config with app_keys and sends SIGHUP; waits until it is
 * applied (one more "applied" line in the log). */
static void sighup_with(const env_t *e, const char *app_keys)
{
    char *log = h_log(e->srv);
    size_t before = h_count(log, "applied:");
    free(log);
    h_replace_file(h_fmt("%s/subwsgi.ini", e->dir),
                   config_text(e, e->srv->scgi, "", app_keys));
    kill(e->srv->proc->pid, SIGHUP);
    for (double until = h_now() + 10;; h_nap(0.02)) {
        log = h_log(e->srv);
        size_t now = h_count(log, "applied:");
        free(log);
        if (now > before)
            return;
        cr_assert(h_now() < until, "SIGHUP (%s) not applied\n%s", app_keys, h_log_tail(e->srv));
    }
}

/* SIGHUP while a load that read the previous config runs: that load
 * cannot serve the new config, so exactly one more build follows it, with
 * the newest config however many SIGHUPs came meanwhile (coalesced); a
 * SIGHUP must never end with an older config serving. */
Test(reload, sighup_during_a_load_of_an_older_config_builds_once_more)
{
    /* Each build from now on takes 1.5 s to import and serves the K its
     * config says. */
    env_t e = start("env = K=k0\n", "os.environ['K']");
    write_app(&e, "os.environ['K']", "time.sleep(1.5)");
    cr_assert(strstr(h_status_body(e.srv->scgi, "/"), "200 k0 "));
    long pid = e.srv->proc->pid;

    sighup_with(&e, "env = K=k1\n");
    /* Generation 2 is importing with k1: status lists its load. */
    json_t *app = NULL;
    double until = h_now() + 10;
    for (;;) {
        cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10), 200);
        if (json_array_size(json_object_get(app, "loading")) > 0)
            break;
        cr_assert(h_now() < until, "no load after SIGHUP: %s\n%s", json_dumps(app, 0),
                  h_log_tail(e.srv));
        json_decref(app);
        h_nap(0.02);
    }
    json_decref(app);
    /* Two more configs while it imports: one more build, with the last. */
    sighup_with(&e, "env = K=k2\n");
    sighup_with(&e, "env = K=k3\n");
    cr_expect(strstr(h_status_body(e.srv->scgi, "/"), "200 k0 "),
              "the import of generation 2 (1.5 s) ended before the test's SIGHUPs");

    /* Generation 2 serves what it read, k1, while generation 3 imports
     * (1.5 s); then generation 3 serves k3. "STATUS VERSION INTERPRETER
     * GENERATION" */
    char *got, version[16] = "";
    int status = 0, interp = 0, generation = 0, k1_seen = 0;
    for (until = h_now() + 30;; h_nap(0.05)) {
        got = h_status_body(e.srv->scgi, "/");
        version[0] = '\0';
        sscanf(got, "%d %15s %d %d", &status, version, &interp, &generation);
        k1_seen |= strcmp(version, "k1") == 0 && generation == 2;
        if (strcmp(version, "k3") == 0 || h_now() > until)
            break;
    }
    cr_expect(k1_seen, "generation 2 never served k1, the config it began with");
    cr_expect(status == 200 && strcmp(version, "k3") == 0 && generation == 3,
              "want k3 served by generation 3 (2 read k1, 3 the last config), got \"%s\"\n%s",
              got, h_log_tail(e.srv));
    /* And no other build after it (the coalesced SIGHUPs built once). */
    h_nap(2.5);
    cr_assert_eq(h_admin_call(e.admin_port, TOKEN, "GET", "/v1/apps/site", &app, 10), 200);
    cr_expect_eq(json_integer_value(json_object_get(app, "generation")), 3, "%s",
                 json_dumps(app, 0));
    cr_expect_eq(json_integer_value(json_object_get(app, "reloads")), 2, "%s",
                 json_dumps(app, 0));
    cr_expect_eq(json_array_size(json_object_get(app, "loading")), 0, "%s", json_dumps(app, 0));
    json_decref(app);
    cr_expect_eq(e.srv->proc->pid, pid);
    cr_expect(!h_proc_exited(e.srv->proc), "a SIGHUP that changes no socket ended the server");
    h_server_stop_clean(e.srv);
}

/* test_faults.c: the error paths that need an allocation or a system call
 * to fail (issue 10, defect 9), through the fault points of
 * src/subwsgi-fault (src/fault.h; SUBWSGI_FAULTS=NAME[@N],...): a reload
 * or destroy whose loader command cannot be allocated fails with an error
 * and leaves the app serving; an I/O thread or watch thread that cannot
 * start closes what it opened, never fd 0, and start-up fails with its
 * reason; a handover whose successor's environment cannot be built is
 * refused and the old process keeps serving; a new app that SIGHUP cannot
 * allocate, or whose loader command cannot be queued, is not added (404,
 * logged, the next SIGHUP retries) and the others go on; an app whose
 * removal cannot be queued is removed all the same. And the shipped binary
 * has no fault points.
 *
 * Every test runs src/subwsgi-fault, whatever SW_SUBWSGI says: only that
 * binary has fault points, so under make check-tsan (SW_SUBWSGI = the
 * TSan server) this suite still runs it rather than skip (a skip would
 * pass there while testing nothing). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ROOT "root-token-ZYXWVUTSRQ"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

/* Set when a test makes a handover possible: a successor is not the
 * test's child and would outlive it. */
static char pid_file[512];

static void use_fault_binary(void)
{
    setenv("SW_SUBWSGI", h_fmt("%s/src/subwsgi-fault", h_builddir()), 1);
}

static void stop_all(void)
{
    h_stop_pid_file(pid_file);
    pid_file[0] = '\0';
    h_cleanup();
}

TestSuite(faults, .init = use_fault_binary, .fini = stop_all, .timeout = H_SUITE_TIMEOUT);

typedef struct {
    h_server_t *srv;
    char *dir, *ini, *scgi;
    int admin_port;
} env_t;

/* The config: admin port with root's token, short timeouts, a pid file,
 * then apps (each "%s" becomes the path of tests/apps/hostile/app.py,
 * which answers "NAME generation=N"). */
static char *config_text(const env_t *e, const char *apps)
{
    const char *app = h_app("hostile/app.py");
    char *sections = h_fmt("%s", apps);
    for (char *p; (p = strstr(sections, "%s"));) {
        *p = '\0';
        sections = h_fmt("%s%s%s", sections, app, p + 2);
    }
    return h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\ndrain-timeout = 2\n"
                 "load-timeout = 10\npid-file = %s\n"
                 "[user:root]\ntoken-sha256 = " ROOT_SHA "\nrole = admin\n%s",
                 e->scgi, e->admin_port, pid_file, sections);
}

/* A server with faults (SUBWSGI_FAULTS) and one app, "a" at /a. */
static env_t start(const char *faults, const char *apps)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = h_free_port();
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", e.dir);
    e.ini = h_fmt("%s/subwsgi.ini", e.dir);
    char *const env[] = {h_fmt("SUBWSGI_FAULTS=%s", faults), NULL};
    e.srv = h_server_config(e.dir, e.scgi, config_text(&e, apps), env);
    return e;
}

static const char *one_app = "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n";

static int admin(const env_t *e, const char *method, const char *path, json_t **out)
{
    return h_admin_call(e->admin_port, ROOT, method, path, out, 60);
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    char *kept = h_fmt("%s", s ? s : "(null)");
    free(s);
    return kept;
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

/* The app's state in GET /v1/apps/NAME. */
static char *app_state(const env_t *e, const char *name)
{
    json_t *j = NULL;
    cr_assert_eq(admin(e, "GET", h_fmt("/v1/apps/%s", name), &j), 200);
    char *state = h_fmt("%s", jstr(j, "state"));
    json_decref(j);
    return state;
}

/* ---- 1. a loader command that cannot be allocated ------------------------------------ */

/* loader_post@2: the start-up load is the 1st command, the reload the 2nd.
 * The reload answers an error at once (without ?wait too: nothing will
 * ever load), the app is not left "reloading", the old generation serves,
 * and the next reload works. Before the fix the app stayed "reloading"
 * and every wait ended in 504. */
static void reload_fails(const char *query)
{
    env_t e = start("loader_post@2", one_app);
    cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"), "%s",
              h_log_tail(e.srv));
    json_t *body = NULL;
    int st = admin(&e, "POST", h_fmt("/v1/apps/a/reload%s", query), &body);
    cr_expect_eq(st, 422, "reload%s with its command not queued: %d %s\n%s", query, st,
                 dump(body), h_log_tail(e.srv));
    cr_expect_str_eq(jstr(body, "error"), "load_failed", "%s", dump(body));
    cr_expect(strstr(jstr(body, "message"), "out of memory"), "message: %s", dump(body));
    json_t *app = json_object_get(body, "app");
    cr_expect_str_eq(jstr(app, "state"), "serving", "%s", dump(body));
    json_t *last = json_object_get(app, "last_reload");
    cr_expect_str_eq(jstr(last, "result"), "failed", "%s", dump(body));
    cr_expect(strstr(jstr(last, "error"), "out of memory queueing the reload"), "%s",
              dump(body));
    json_decref(body);
    const char *line[] = {"error [a]", "out of memory queueing a command", NULL};
    cr_expect(h_log_wait_line(e.srv, line, 5), "no log line\n%s", h_log_tail(e.srv));

    cr_expect_str_eq(app_state(&e, "a"), "serving");
    cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
    /* Nothing is stuck: the 3rd command is queued and runs. */
    st = admin(&e, "POST", "/v1/apps/a/reload?wait=30", NULL);
    cr_expect_eq(st, 200, "the next reload: %d\n%s", st, h_log_tail(e.srv));
    wait_body(&e, "/a/", "200 a generation=2", 10);
    h_server_stop_clean(e.srv);
}

Test(faults, reload_whose_command_cannot_be_queued_fails_waited_for)
{
    reload_fails("?wait=10");
}

Test(faults, reload_whose_command_cannot_be_queued_fails_not_waited_for)
{
    reload_fails("");
}

/* The destroy is refused (409 with the reason) and the app keeps serving;
 * before the fix it stayed "destroy pending" and every wait ended in 504. */
Test(faults, destroy_whose_command_cannot_be_queued_is_refused)
{
    env_t e = start("loader_post@2", one_app);
    cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"), "%s",
              h_log_tail(e.srv));
    json_t *body = NULL;
    int st = admin(&e, "POST", "/v1/apps/a/destroy?wait=10", &body);
    cr_expect_eq(st, 409, "destroy with its command not queued: %d %s\n%s", st, dump(body),
                 h_log_tail(e.srv));
    cr_expect_str_eq(jstr(body, "error"), "conflict", "%s", dump(body));
    cr_expect(strstr(jstr(body, "message"), "out of memory"), "message: %s", dump(body));
    json_decref(body);
    const char *line[] = {"error [a]", "out of memory queueing a command", NULL};
    cr_expect(h_log_wait_line(e.srv, line, 5), "no log line\n%s", h_log_tail(e.srv));
    cr_expect_str_eq(app_state(&e, "a"), "serving");
    cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
    /* The next destroy (3rd command) runs; a request then loads a fresh
     * generation. */
    st = admin(&e, "POST", "/v1/apps/a/destroy?wait=30", NULL);
    cr_expect_eq(st, 200, "the next destroy: %d\n%s", st, h_log_tail(e.srv));
    wait_body(&e, "/a/", "200 a generation=2", 10);
    h_server_stop_clean(e.srv);
}

/* ---- 2. start-up that fails after Python started ---------------------------------------- */

/* tests/apps/fdprobe.py, preloaded into the main interpreter, writes the
 * open descriptors when Python is finalised: on these failure paths that
 * is just before the process exits, after the failed start-up code closed
 * what it opened. The server's stdin is /dev/null (h_spawn). */
typedef struct {
    const char *fault;
    const char *message;      /* in the error line */
} startup_case_t;

static void startup_fails(const startup_case_t *c)
{
    char *dir = h_tmpdir();
    char *fds = h_fmt("%s/fds", dir);
    char *ini = h_fmt("%s/subwsgi.ini", dir);
    char *text = h_fmt("[server]\nscgi = 127.0.0.1:%d\ndrain-timeout = 2\npreload = fdprobe\n"
                       "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n",
                       h_free_port(), h_app("hostile/app.py"));
    h_write_file(ini, text, strlen(text));
    /* PYTHONPATH through setenv: h_spawn appends its extra variables after
     * the test's own, and getenv would find an inherited PYTHONPATH first. */
    setenv("PYTHONPATH", h_fmt("%s/tests/apps", h_srcdir()), 1);
    char *const env[] = {h_fmt("SUBWSGI_FAULTS=%s", c->fault), h_fmt("FDPROBE_OUT=%s", fds),
                         NULL};
    char *const argv[] = {h_binary(), "-c", ini, NULL};
    char *out = h_fmt("%s/server.log", dir);
    h_proc_t *p = h_spawn("subwsgi-fault", argv, out, env);
    cr_assert(h_proc_wait(p, 60), "%s: the server did not exit", c->fault);
    char *log = h_read_file(out, NULL);
    cr_assert_not_null(log);
    char *log_copy = h_fmt("%s", log);
    free(log);
    cr_expect(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 2, "%s: %s, not exit 2\n%s",
              c->fault, h_status_text(p->status), log_copy);
    cr_expect(strstr(log_copy, h_fmt("fault injected: %s", c->fault)), "%s: not injected\n%s",
              c->fault, log_copy);
    const char *const marks[] = {"Fatal Python error", "AddressSanitizer", "runtime error:",
                                 "Segmentation fault", NULL};
    for (size_t i = 0; marks[i]; i++)
        cr_expect(!strstr(log_copy, marks[i]), "%s: crashed\n%s", c->fault, log_copy);
    /* The reason, on an error line. */
    int said = 0;
    char *save = NULL;
    for (char *one = strtok_r(h_fmt("%s", log_copy), "\n", &save); one && !said;
         one = strtok_r(NULL, "\n", &save))
        said = strstr(one, " error [subwsgi] ") && strstr(one, c->message);
    cr_expect(said, "%s: no error line with \"%s\"\n%s", c->fault, c->message, log_copy);

    char *listing = h_read_file(fds, NULL);
    cr_assert_not_null(listing, "%s: the probe wrote nothing (Python not finalised?)\n%s",
                       c->fault, log_copy);
    char *l = h_fmt("\n%s", listing);
    free(listing);
    cr_expect(strstr(l, "\n0 -> /dev/null\n"), "%s: fd 0 is not stdin any more:%s\n%s",
              c->fault, l, log_copy);
    /* Nothing the failed start-up opened is left: the server's own
     * anonymous inodes (epoll, eventfd, inotify) are all closed by now. */
    cr_expect(!strstr(l, "anon_inode:"), "%s: left open:%s", c->fault, l);
}

/* io_alloc: before the fix the descriptors were still 0 from calloc and
 * fd 0 was closed, twice. */
Test(faults, io_thread_that_cannot_start_closes_its_own_fds_only)
{
    static const startup_case_t cases[] = {
        {"io_alloc", "out of memory"},
        {"io_epoll", "epoll/eventfd: Cannot allocate memory"},
        {"io_eventfd", "epoll/eventfd: Cannot allocate memory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        startup_fails(&cases[i]);
}

/* watch_eventfd: before the fix the inotify descriptor stayed open. */
Test(faults, watch_thread_that_cannot_start_closes_what_it_opened)
{
    static const startup_case_t cases[] = {
        {"watch_eventfd", "eventfd: Cannot allocate memory"},
        {"watch_inotify", "inotify: Cannot allocate memory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        startup_fails(&cases[i]);
}

/* ---- 3. a handover whose successor's environment cannot be built ------------------------ */

/* Its fd count, once stable (an admin connection may take a moment to
 * close): polls until two readings 0.2 s apart agree. */
static int stable_fds(const env_t *e)
{
    int last = h_proc_fds(e->srv->proc->pid, NULL, NULL);
    for (double until = h_now() + 10; h_now() < until;) {
        h_nap(0.2);
        int now = h_proc_fds(e->srv->proc->pid, NULL, NULL);
        if (now == last)
            return now;
        last = now;
    }
    return last;
}

Test(faults, handover_that_cannot_build_its_environment_is_refused)
{
    static const char *const faults[] = {"handover_memstream", "handover_envp",
                                         "handover_state"};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        env_t e = start(faults[i], one_app);
        cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
        cr_assert_eq(admin(&e, "GET", "/v1/server", NULL), 200);
        int before = stable_fds(&e);
        json_t *body = NULL;
        int st = admin(&e, "POST", "/v1/server/recycle?wait=30", &body);
        cr_expect_eq(st, 422, "%s: recycle: %d %s\n%s", faults[i], st, dump(body),
                     h_log_tail(e.srv));
        cr_expect(strstr(jstr(body, "message"), "out of memory"), "%s: %s", faults[i],
                  dump(body));
        json_decref(body);
        const char *aborted[] = {"error [subwsgi]", "handover aborted; this process keeps serving",
                                 NULL};
        cr_expect(h_log_wait_line(e.srv, aborted, 5), "%s\n%s", faults[i], h_log_tail(e.srv));
        const char *why[] = {"error [subwsgi]", "out of memory", NULL};
        cr_expect(h_log_wait_line(e.srv, why, 5), "%s\n%s", faults[i], h_log_tail(e.srv));
        char *log = h_log(e.srv);
        cr_expect(!strstr(log, "handover: started process"), "%s: a successor was started\n%s",
                  faults[i], log);
        free(log);
        /* The same process serves, with no descriptor more (the pipe for
         * the successor is closed). */
        cr_expect(!h_proc_exited(e.srv->proc), "%s: the server died: %s\n%s", faults[i],
                  h_status_text(e.srv->proc->status), h_log_tail(e.srv));
        cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
        int after = stable_fds(&e);
        cr_expect_eq(after, before, "%s: %d fds before the handover, %d after", faults[i],
                     before, after);
        h_server_stop_clean(e.srv);
    }
}

/* ---- 4. a new app that SIGHUP cannot allocate ------------------------------------------- */

/* app_new@2: a is the 1st app made, b (added by SIGHUP) the 2nd. b is
 * logged and left out, c is added, a serves on; the next SIGHUP adds b.
 * Before the fix b was dropped without a word. */
Test(faults, sighup_app_that_cannot_be_allocated_is_logged_and_others_go_on)
{
    env_t e = start("app_new@2", one_app);
    cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
    h_replace_file(e.ini, config_text(&e, "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"
                                          "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n"
                                          "[app:c]\nwsgi = %s\nmount = /c\nthreads = 1\n"));
    kill(e.srv->proc->pid, SIGHUP);
    const char *applied[] = {"SIGHUP", "applied: 1 apps added", NULL};
    cr_assert(h_log_wait_line(e.srv, applied, 10), "%s", h_log_tail(e.srv));
    const char *dropped[] = {"error [b]", "out of memory: this new app is not added", NULL};
    cr_expect(h_log_wait_line(e.srv, dropped, 1), "no line for the app left out\n%s",
              h_log_tail(e.srv));
    wait_body(&e, "/c/", "200 c generation=1", 20);
    cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));
    cr_expect(strstr(h_status_body(e.scgi, "/b/"), "404"));
    cr_expect_eq(admin(&e, "GET", "/v1/apps/b", NULL), 404);
    cr_expect(!h_proc_exited(e.srv->proc), "%s", h_log_tail(e.srv));

    /* The config still names b: the next SIGHUP makes it. */
    kill(e.srv->proc->pid, SIGHUP);
    const char *again[] = {"SIGHUP", "applied: 1 apps added, 0 removed", NULL};
    cr_expect(h_log_wait_line(e.srv, again, 10), "%s", h_log_tail(e.srv));
    wait_body(&e, "/b/", "200 b generation=1", 20);
    h_server_stop_clean(e.srv);
}

/* ---- 5. a new or removed app whose loader command SIGHUP cannot queue ------------------- */

/* loader_post@2: a's start-up load is the 1st command, the ADD of b (new
 * in the SIGHUP's config) the 2nd. Before the fix the ADD's failure was
 * ignored: b was routed and reported added, but the loader never knew it,
 * so it never loaded and nothing (not even load-timeout, which only the
 * loader enforces) ever answered its requests: they hung.
 *
 * What an operator wants at 3 a.m.: b is not added, exactly as when b
 * itself cannot be allocated (section 4). Its routes are not installed, so
 * its requests get 404 at once (b never served anyone, so nobody depended
 * on it: nothing of the running site changes), GET /v1/apps/b is 404, an
 * error line under [b] says why and that the next SIGHUP retries, the
 * summary line does not count b as added and says one was not, and the
 * next SIGHUP adds b. The alternative, b added but answering 503 after
 * load-timeout until something retries, would be one more state ("routed
 * but unmanaged") with a retry path that runs only when memory runs out. */
Test(faults, sighup_app_whose_add_cannot_be_queued_is_not_added)
{
    env_t e = start("loader_post@2", one_app);
    cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"), "%s",
              h_log_tail(e.srv));
    h_replace_file(e.ini, config_text(&e, "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"
                                          "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n"));
    kill(e.srv->proc->pid, SIGHUP);
    const char *any[] = {"SIGHUP", "applied:", NULL};
    cr_assert(h_log_wait_line(e.srv, any, 10), "%s", h_log_tail(e.srv));
    const char *applied[] = {"SIGHUP", "applied: 0 apps added, 0 removed", NULL};
    cr_expect(h_log_wait_line(e.srv, applied, 1), "b counted as added\n%s", h_log_tail(e.srv));
    const char *why[] = {"error [b]", "this new app is not added", "the next SIGHUP retries",
                         NULL};
    cr_expect(h_log_wait_line(e.srv, why, 1), "no line for the app left out\n%s",
              h_log_tail(e.srv));
    const char *failed[] = {"SIGHUP", "1 new apps not added", NULL};
    cr_expect(h_log_wait_line(e.srv, failed, 1), "the summary does not say b failed\n%s",
              h_log_tail(e.srv));
    /* Answered at once, not after the client gives up. */
    h_async_t *req = h_async_get(e.scgi, "/b/", 15);
    cr_assert(h_async_wait(req, 20), "GET /b/ never returned");
    cr_expect_eq(req->rc, 0, "GET /b/ was not answered within 15 s: %s\n%s", req->err,
                 h_log_tail(e.srv));
    cr_expect_eq(req->resp.status, 404, "GET /b/: %d", req->resp.status);
    cr_expect_eq(admin(&e, "GET", "/v1/apps/b", NULL), 404);
    cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));

    /* The config still names b: the next SIGHUP (3rd command) adds it. */
    kill(e.srv->proc->pid, SIGHUP);
    const char *again[] = {"SIGHUP", "applied: 1 apps added, 0 removed", NULL};
    cr_expect(h_log_wait_line(e.srv, again, 10), "%s", h_log_tail(e.srv));
    wait_body(&e, "/b/", "200 b generation=1", 20);
    cr_expect_str_eq(app_state(&e, "b"), "serving");
    h_server_stop_clean(e.srv);
}

/* loader_post@3: a's and b's start-up loads are the 1st and 2nd commands,
 * the REMOVE of b (gone from the SIGHUP's config) the 3rd. Before the fix
 * b left the app list and its routes, but its generation was never
 * retired: its interpreters and workers lived on, unreachable, until exit
 * (and its touch-reload could still rebuild them). The config no longer
 * names b and another app may now own its mount, so keeping b is not an
 * option: it is removed all the same (the REMOVE needs no loader thread),
 * i.e. it drains, its generation ends and the loader lets it go, as after
 * a queued REMOVE. Re-adding b later starts afresh. */
Test(faults, sighup_app_whose_remove_cannot_be_queued_is_removed_all_the_same)
{
    env_t e = start("loader_post@3", "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"
                                     "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n");
    cr_assert(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"), "%s",
              h_log_tail(e.srv));
    cr_assert(strstr(h_status_body(e.scgi, "/b/"), "200 b generation=1"), "%s",
              h_log_tail(e.srv));
    h_replace_file(e.ini, config_text(&e, one_app));
    kill(e.srv->proc->pid, SIGHUP);
    const char *applied[] = {"SIGHUP", "applied: 0 apps added, 1 removed", NULL};
    cr_assert(h_log_wait_line(e.srv, applied, 10), "%s", h_log_tail(e.srv));
    const char *oom[] = {"error [b]", "out of memory queueing a command", NULL};
    cr_expect(h_log_wait_line(e.srv, oom, 5), "not injected?\n%s", h_log_tail(e.srv));
    const char *draining[] = {"[b]", "ending (by (SIGHUP)): draining generation 1", NULL};
    cr_expect(h_log_wait_line(e.srv, draining, 10), "b's generation was never retired\n%s",
              h_log_tail(e.srv));
    const char *ended[] = {"[b]", "generation 1 ended", NULL};
    cr_expect(h_log_wait_line(e.srv, ended, 10), "b's generation never ended\n%s",
              h_log_tail(e.srv));
    const char *gone[] = {"[b] removed", NULL};
    cr_expect(h_log_wait_line(e.srv, gone, 10), "the loader never let b go\n%s",
              h_log_tail(e.srv));
    cr_expect(strstr(h_status_body(e.scgi, "/b/"), "404"));
    cr_expect_eq(admin(&e, "GET", "/v1/apps/b", NULL), 404);
    cr_expect(strstr(h_status_body(e.scgi, "/a/"), "200 a generation=1"));

    /* Added again, b is a new app: one b, loaded afresh. */
    h_replace_file(e.ini, config_text(&e, "[app:a]\nwsgi = %s\nmount = /a\nthreads = 1\n"
                                          "[app:b]\nwsgi = %s\nmount = /b\nthreads = 1\n"));
    kill(e.srv->proc->pid, SIGHUP);
    const char *again[] = {"SIGHUP", "applied: 1 apps added, 0 removed", NULL};
    cr_expect(h_log_wait_line(e.srv, again, 10), "%s", h_log_tail(e.srv));
    wait_body(&e, "/b/", "200 b generation=1", 20);
    h_server_stop_clean(e.srv);
}

/* ---- 6. the facility itself ------------------------------------------------------------- */

static int file_has(const char *path, const char *needle)
{
    size_t len = 0;
    char *data = h_read_file(path, &len);
    cr_assert_not_null(data, "cannot read %s", path);
    int found = memmem(data, len, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

/* SW_FAULT is the constant 0 in src/subwsgi: no hook, no variable name;
 * the fault build has both (so this test can tell). */
Test(faults, shipped_binary_has_no_fault_points)
{
    char *shipped = h_fmt("%s/src/subwsgi", h_builddir());
    char *fault = h_fmt("%s/src/subwsgi-fault", h_builddir());
    const char *const marks[] = {"sw_fault_hit", "SUBWSGI_FAULTS", "fault injected", NULL};
    for (size_t i = 0; marks[i]; i++) {
        cr_expect(!file_has(shipped, marks[i]), "%s contains \"%s\"", shipped, marks[i]);
        cr_expect(file_has(fault, marks[i]), "%s lacks \"%s\"", fault, marks[i]);
    }
}

/* A malformed SUBWSGI_FAULTS stops the fault build at once with the
 * reason, rather than run a test without the fault it expects. */
Test(faults, malformed_fault_list_is_refused)
{
    static const char *const bad[] = {"loader_post@0", "loader_post@x", "@3", "io_alloc@-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *dir = h_tmpdir();
        char *out = h_fmt("%s/server.log", dir);
        char *app = h_fmt("%s:application", h_app("hostile/app.py"));
        char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
        char *const argv[] = {h_binary(), "--app", app, "--scgi", scgi, NULL};
        char *const env[] = {h_fmt("SUBWSGI_FAULTS=%s", bad[i]), NULL};
        h_proc_t *p = h_spawn("subwsgi-fault", argv, out, env);
        cr_assert(h_proc_wait(p, 30), "%s: still running", bad[i]);
        char *log = h_read_file(out, NULL);
        cr_expect(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 2, "%s: %s\n%s", bad[i],
                  h_status_text(p->status), log ? log : "");
        cr_expect(log && strstr(log, "SUBWSGI_FAULTS"), "%s: no reason\n%s", bad[i],
                  log ? log : "");
        free(log);
    }
}

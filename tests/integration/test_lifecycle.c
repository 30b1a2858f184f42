/* test_lifecycle.c: reloads that do not come from the admin API: touch-reload,
 * watch = yes, SIGHUP (apps added, removed, reloaded; an invalid file changes
 * nothing), and ending old generations whose app started threads. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(lifecycle, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* Copies the lifecycle app into dir (the tests rewrite its files). */
static void copy_app(const char *dir)
{
    const char *files[] = {"app.py", "helper.py"};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *src = h_read_file(h_fmt("%s/tests/apps/lifecycle/%s", h_srcdir(), files[i]), &len);
        cr_assert_not_null(src, "cannot read the lifecycle app");
        h_write_file(h_fmt("%s/%s", dir, files[i]), src, len);
        free(src);
    }
}

/* Polls GET path until its "STATUS BODY" contains want; returns it. */
static char *wait_body(h_server_t *s, const char *path, const char *want, double timeout)
{
    double until = h_now() + timeout;
    char *b;
    do {
        b = h_status_body(s->scgi, path);
        if (strstr(b, want))
            return b;
        h_nap(0.05);
    } while (h_now() < until);
    cr_assert_fail("GET %s never answered \"%s\" (last: %s)\n%s", path, want, b, h_log_tail(s));
    return b;
}

static h_server_t *start(const char *dir, const char *app_keys, char *const env[])
{
    copy_app(dir);
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\ndrain-timeout = 5\n"
                      "[app:life]\nwsgi = %s/app.py\nmount = /\n%s",
                      addr, dir, app_keys);
    return h_server_config(dir, addr, ini, env);
}

Test(lifecycle, touch_reload_builds_a_new_generation)
{
    char *dir = h_tmpdir();
    char *restart = h_fmt("%s/restart.txt", dir);
    h_server_t *s = start(dir, h_fmt("touch-reload = %s\n", restart), NULL);
    cr_expect(strstr(h_status_body(s->scgi, "/"), "200 generation=1 value=one"), "%s", h_log_tail(s));
    h_write_file(restart, "now", 3);
    wait_body(s, "/", "generation=2 value=one", 15);
    const char *line[] = {"[life]", "(touch-reload)", NULL};
    cr_expect_not_null(h_log_wait_line(s, line, 5));
    h_server_stop_clean(s);
}

Test(lifecycle, watch_reloads_when_a_source_file_changes)
{
    char *dir = h_tmpdir();
    h_server_t *s = start(dir, "watch = yes\n", NULL);
    cr_expect(strstr(h_status_body(s->scgi, "/"), "value=one"));
    /* Written like an editor does: a new file renamed over the old one. */
    const char *src = "VALUE = \"two\"\n";
    h_write_file(h_fmt("%s/helper.py.tmp", dir), src, strlen(src));
    cr_assert_eq(rename(h_fmt("%s/helper.py.tmp", dir), h_fmt("%s/helper.py", dir)), 0);
    wait_body(s, "/", "generation=2 value=two", 15);
    /* A file the app did not load changes nothing. */
    h_write_file(h_fmt("%s/unrelated.py", dir), "X = 1\n", 6);
    h_nap(1.0);
    cr_expect(strstr(h_status_body(s->scgi, "/"), "generation=2"), "an unrelated file caused a reload");
    h_server_stop_clean(s);
}

Test(lifecycle, sighup_applies_the_difference)
{
    char *dir = h_tmpdir();
    copy_app(dir);
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *app = h_fmt("%s/app.py", dir);
    char *ini1 = h_fmt("[server]\nscgi = %s\n"
                       "[app:a]\nwsgi = %s\nmount = /a\n"
                       "[app:b]\nwsgi = %s\nmount = /b\n", addr, app, app);
    h_server_t *s = h_server_config(dir, addr, ini1, NULL);
    cr_expect(strstr(h_status_body(s->scgi, "/a/"), "200 generation=1"));
    cr_expect(strstr(h_status_body(s->scgi, "/b/"), "200 generation=1"));

    /* a changes (reload), b goes, c comes. */
    char *ini2 = h_fmt("[server]\nscgi = %s\n"
                       "[app:a]\nwsgi = %s\nmount = /a\ninterpreters = 2\n"
                       "[app:c]\nwsgi = %s\nmount = /c\n", addr, app, app);
    char *path = h_fmt("%s/subwsgi.ini", dir);
    h_write_file(path, ini2, strlen(ini2));
    kill(s->proc->pid, SIGHUP);
    wait_body(s, "/a/", "200 generation=2", 15);
    wait_body(s, "/c/", "200 generation=1", 15);
    wait_body(s, "/b/", "404", 15);

    /* An invalid file changes nothing. */
    const char *bad = "[server]\nscgi = 127.0.0.1:0\n[app:a]\ninterpreters = many\n";
    h_write_file(path, bad, strlen(bad));
    kill(s->proc->pid, SIGHUP);
    cr_expect(h_log_wait(s, "is invalid; nothing changed", 10), "%s", h_log_tail(s));
    cr_expect(strstr(h_status_body(s->scgi, "/a/"), "200 generation=2"));
    cr_expect(strstr(h_status_body(s->scgi, "/c/"), "200 generation=1"));
    h_server_stop_clean(s);
}

Test(lifecycle, app_thread_is_stopped_when_its_generation_ends)
{
    char *dir = h_tmpdir();
    char *restart = h_fmt("%s/restart.txt", dir);
    h_server_t *s = start(dir, h_fmt("touch-reload = %s\nenv = LIFECYCLE_THREAD=loop\n", restart),
                          NULL);
    h_write_file(restart, "1", 1);
    wait_body(s, "/", "generation=2", 15);
    cr_expect(h_log_wait(s, "generation 1 ended", 15), "%s", h_log_tail(s));
    h_server_stop_clean(s);
}

Test(lifecycle, app_thread_that_never_stops_leaves_its_interpreter_alive)
{
    char *dir = h_tmpdir();
    char *restart = h_fmt("%s/restart.txt", dir);
    h_server_t *s = start(dir, h_fmt("touch-reload = %s\nenv = LIFECYCLE_THREAD=block\n",
                                     restart), NULL);
    h_write_file(restart, "1", 1);
    wait_body(s, "/", "generation=2", 15);
    /* Reported, not a hang nor an abort; the new code keeps serving. */
    cr_expect(h_log_wait(s, "left alive: app threads did not stop", 20), "%s", h_log_tail(s));
    cr_expect(strstr(h_status_body(s->scgi, "/"), "200 generation=2"));
    h_server_stop_clean(s);
    cr_expect(h_log_wait(s, "exiting without finalising Python", 1), "%s", h_log_tail(s));
}

Test(lifecycle, reloads_under_load_lose_nothing)
{
    char *dir = h_tmpdir();
    char *restart = h_fmt("%s/restart.txt", dir);
    h_server_t *s = start(dir, h_fmt("touch-reload = %s\ninterpreters = 2\nthreads = 2\n",
                                     restart), NULL);
    h_async_t *load[8];
    int failed = 0, done = 0;
    double until = h_now() + 4.0;
    int reloads = 0;
    for (int i = 0; i < 8; i++)
        load[i] = h_async_get(s->scgi, i % 5 == 0 ? "/slow" : "/", H_IO_TIMEOUT);
    while (h_now() < until) {
        for (int i = 0; i < 8; i++) {
            if (!h_async_wait(load[i], 0))
                continue;
            done++;
            if (load[i]->rc != 0 || load[i]->resp.status != 200)
                failed++;
            load[i] = h_async_get(s->scgi, i % 5 == 0 ? "/slow" : "/", H_IO_TIMEOUT);
        }
        /* Touches further apart than the watcher's debounce (0.3 s), so
         * each one is a reload of its own. */
        if (h_now() > until - 4.0 + 0.45 * (reloads + 1) && reloads < 10) {
            h_write_file(restart, "x", 1);
            reloads++;
        }
        h_nap(0.005);
    }
    for (int i = 0; i < 8; i++) {
        cr_assert(h_async_wait(load[i], 30));
        done++;
        failed += load[i]->rc != 0 || load[i]->resp.status != 200;
    }
    cr_expect_eq(failed, 0, "%d of %d requests failed across the reloads", failed, done);
    cr_expect(done > 100, "only %d requests", done);
    /* The reloads did happen, under that load. */
    int generation = 0;
    char *b = h_status_body(s->scgi, "/");
    cr_assert(sscanf(b, "200 generation=%d", &generation) == 1, "%s", b);
    cr_expect(generation >= 4, "%d touches under load, but generation %d serves", reloads,
              generation);
    h_server_stop_clean(s);
}

/* Whether the file at path contains needle (polls up to timeout seconds:
 * the access line is written just after the response). */
static int file_has(const char *path, const char *needle, double timeout)
{
    double until = h_now() + timeout;
    do {
        char *text = h_read_file(path, NULL);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
        h_nap(0.05);
    } while (h_now() < until);
    return 0;
}

/* logrotate renames the file, then sends SIGUSR1: lines go on to the
 * renamed file until then, and to a new file of the old name after. */
Test(lifecycle, sigusr1_reopens_the_log_files)
{
    char *dir = h_tmpdir();
    char *addr = h_fmt("127.0.0.1:%d", h_free_port());
    char *access = h_fmt("%s/access.log", dir);
    char *rotated = h_fmt("%s/access.log.1", dir);
    char *ini = h_fmt("[server]\nscgi = %s\naccess-log = %s\n"
                      "[app:hello]\nwsgi = %s\nmount = /\n", addr, access, h_app("hello.py"));
    h_server_t *s = h_server_config(dir, addr, ini, NULL);
    cr_expect(strstr(h_status_body(s->scgi, "/before"), "200 "));
    cr_assert(file_has(access, "/before", 10), "no access line for /before");
    cr_assert_eq(rename(access, rotated), 0);
    cr_expect(strstr(h_status_body(s->scgi, "/between"), "200 "));
    cr_expect(file_has(rotated, "/between", 10), "the renamed file lost /between");

    kill(s->proc->pid, SIGUSR1);
    cr_assert(h_log_wait(s, "SIGUSR1: log files reopened", 10), "%s", h_log_tail(s));
    cr_expect(strstr(h_status_body(s->scgi, "/after"), "200 "));
    cr_expect(file_has(access, "/after", 10), "no new access.log with /after");
    cr_expect(!file_has(rotated, "/after", 0.2), "/after went to the rotated file");
    cr_expect(!file_has(access, "/before", 0), "the new file has old lines");
    h_server_stop_clean(s);
}

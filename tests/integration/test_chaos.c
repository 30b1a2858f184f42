/* test_chaos.c: everything at once (issue 10). Two apps serve a steady load
 * while a third is reloaded, destroyed, removed and re-added by SIGHUP, with
 * app threads that never stop, threads that keep writing with a finished
 * request's write callable, and an import that hangs for a while; and the
 * whole process is handed over now and then. The two apps must lose no
 * request, nothing may crash, the last process must hold no more file
 * descriptors than the first, and it must stop cleanly.
 *
 * Counts: SW_CHAOS_RELOADS (default 30), SW_CHAOS_SIGHUPS (6) and
 * SW_CHAOS_HANDOVERS (3); the acceptance run used 100, 20 and 10. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ROOT "root-token-ZYXWVUTSRQ"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"
#define CLIENTS 6

static char pid_file[512];

/* The process serving at the end is a successor, not the test's child:
 * stopped through the pid file. */
static void stop_successor(void)
{
    h_stop_pid_file(pid_file);
    pid_file[0] = '\0';
    h_cleanup();
}

TestSuite(chaos, .fini = stop_successor, .timeout = 600);

static int count_from_env(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

typedef struct {
    char *dir, *ini, *scgi, *wedge, *app;
    int admin_port;
    h_server_t *srv;
} env_t;

static void write_config(const env_t *e, int with_third)
{
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\npid-file = %s\n"
                      "drain-timeout = 2\nload-timeout = 3\nrecycle-rss = 256\n"
                      "[user:root]\ntoken-sha256 = " ROOT_SHA "\nrole = admin\n"
                      "[app:one]\nwsgi = %s\nmount = /one\nthreads = 2\n"
                      "[app:two]\nwsgi = %s\nmount = /two\ninterpreters = 2\nthreads = 1\n"
                      "%s",
                      e->scgi, e->admin_port, pid_file, e->app, e->app,
                      with_third ? h_fmt("[app:third]\nwsgi = %s\nmount = /third\nthreads = 2\n"
                                         "env = HOSTILE_WEDGE=%s\n", e->app, e->wedge)
                                 : "");
    h_replace_file(e->ini, ini);
}

static int admin(const env_t *e, const char *method, const char *path)
{
    json_t *body = NULL;
    int st = h_admin_call(e->admin_port, ROOT, method, path, &body, 60);
    json_decref(body);
    return st;
}

/* GET /v1/server's integer key. */
static long long server_number(const env_t *e, const char *key)
{
    json_t *srv = NULL;
    cr_assert_eq(h_admin_call(e->admin_port, ROOT, "GET", "/v1/server", &srv, 30), 200);
    long long v = (long long)json_integer_value(json_object_get(srv, key));
    json_decref(srv);
    return v;
}

static long serving_pid(const env_t *e)
{
    for (int tries = 0; tries < 100; tries++) {
        json_t *srv = NULL;
        if (h_admin_call(e->admin_port, ROOT, "GET", "/v1/server", &srv, 30) == 200) {
            long pid = (long)json_integer_value(json_object_get(srv, "pid"));
            json_decref(srv);
            return pid;
        }
        json_decref(srv);
        h_nap(0.05);
    }
    cr_assert_fail("the admin port did not answer GET /v1/server");
    return 0;
}

/* The steady load: CLIENTS requests always in flight on /one and /two. */
typedef struct {
    const env_t *e;
    h_async_t *a[CLIENTS];
    unsigned long done, failed;
    char first_failure[512];
} load_t;

static const char *load_path(unsigned long n)
{
    return n % 2 ? "/two/" : "/one/";
}

static void load_start(load_t *l, const env_t *e)
{
    memset(l, 0, sizeof *l);
    l->e = e;
    for (int i = 0; i < CLIENTS; i++)
        l->a[i] = h_async_get(e->scgi, load_path((unsigned long)i), H_IO_TIMEOUT);
}

static void load_check(load_t *l, h_async_t *a)
{
    l->done++;
    if (a->rc != 0 || a->resp.status != 200) {
        if (!l->failed++)
            snprintf(l->first_failure, sizeof l->first_failure, "rc %d status %d %s %s", a->rc,
                     a->resp.status, a->err, a->resp.raw ? a->resp.raw : "");
    }
}

/* Collects finished requests and starts new ones. */
static void load_poll(load_t *l)
{
    for (int i = 0; i < CLIENTS; i++) {
        if (!h_async_wait(l->a[i], 0))
            continue;
        load_check(l, l->a[i]);
        l->a[i] = h_async_get(l->e->scgi, load_path(l->done + (unsigned long)i), H_IO_TIMEOUT);
    }
}

static void load_stop(load_t *l)
{
    for (int i = 0; i < CLIENTS; i++) {
        cr_assert(h_async_wait(l->a[i], 60), "a load request never finished");
        load_check(l, l->a[i]);
    }
}

/* Runs the load for about s seconds. */
static void load_for(load_t *l, double s)
{
    double until = h_now() + s;
    while (h_now() < until) {
        load_poll(l);
        h_nap(0.002);
    }
}

Test(chaos, two_apps_lose_nothing_while_a_third_is_abused)
{
    int reloads = count_from_env("SW_CHAOS_RELOADS", 30);
    int sighups = count_from_env("SW_CHAOS_SIGHUPS", 6);
    int handovers = count_from_env("SW_CHAOS_HANDOVERS", 3);
    env_t e = {0};
    e.dir = h_tmpdir();
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = h_free_port();
    e.wedge = h_fmt("%s/wedge", e.dir);
    e.ini = h_fmt("%s/subwsgi.ini", e.dir);
    e.app = h_app("hostile/app.py");
    snprintf(pid_file, sizeof pid_file, "%s/subwsgi.pid", e.dir);
    write_config(&e, 1);
    char *ini = h_read_file(e.ini, NULL);
    e.srv = h_server_config(e.dir, e.scgi, ini, NULL);
    free(ini);
    long first_pid = serving_pid(&e);
    h_nap(0.3);
    int first_fds = h_proc_fds(first_pid, NULL, NULL);
    cr_assert(first_fds > 0);
    long long first_rss = server_number(&e, "rss_bytes");
    long long max_rss = first_rss;

    load_t l;
    load_start(&l, &e);
    int done_reloads = 0, done_sighups = 0, done_handovers = 0, third_present = 1;
    int wedged = 0;
    unsigned long timeouts = 0;
    /* Spread the SIGHUPs (in pairs: remove, re-add) and handovers over the
     * reloads. */
    int sighup_every = reloads / (sighups / 2 + 1) + 1;
    int handover_every = reloads / (handovers + 1) + 1;
    for (int step = 1; done_reloads < reloads || done_sighups < sighups ||
                       done_handovers < handovers; step++) {
        load_poll(&l);
        if (third_present && step % 3 == 0) {
            /* Things the third app leaves behind. */
            h_status_body(e.scgi, "/third/daemon");
            h_status_body(e.scgi, "/third/raw");
            h_status_body(e.scgi, "/third/keepwrite");
        }
        if (third_present && step % 11 == 0 && !wedged) {
            /* Its next import hangs until the file goes. */
            h_write_file(e.wedge, "1", 1);
            wedged = step;
        } else if (wedged && step - wedged >= 2) {
            unlink(e.wedge);
            wedged = 0;
        }
        if (third_present && done_reloads < reloads) {
            int st = admin(&e, "POST", "/v1/apps/third/reload?wait=10");
            cr_expect(st == 200 || st == 504 || st == 409,
                      "reload %d of the third app: %d", done_reloads, st);
            timeouts += st == 504;
            done_reloads++;
        }
        if (third_present && step % 7 == 0)
            cr_expect_eq(admin(&e, "POST", "/v1/apps/third/destroy?wait=10") / 100, 2);
        load_poll(&l);
        if (done_sighups < sighups && step % sighup_every == 0) {
            /* Removed with whatever it left running, then added again. */
            write_config(&e, !third_present);
            kill((pid_t)serving_pid(&e), SIGHUP);
            third_present = !third_present;
            done_sighups++;
            load_for(&l, 0.3);
        }
        long long rss = server_number(&e, "rss_bytes");
        if (rss > max_rss)
            max_rss = rss;
        if (done_handovers < handovers && step % handover_every == 0) {
            cr_expect_eq(admin(&e, "POST", "/v1/server/recycle?wait=60"), 200,
                         "handover %d\n%s", done_handovers, h_log_tail(e.srv));
            done_handovers++;
        }
        if (done_reloads >= reloads && !third_present && done_sighups >= sighups) {
            write_config(&e, 1);   /* end with it back */
            kill((pid_t)serving_pid(&e), SIGHUP);
            third_present = 1;
        }
        load_for(&l, 0.05);
    }
    unlink(e.wedge);
    /* The last handover leaves a process with nothing the chaos left
     * behind: its descriptors must be the first process's. */
    cr_expect_eq(admin(&e, "POST", "/v1/server/recycle?wait=60"), 200, "%s", h_log_tail(e.srv));
    load_for(&l, 1.0);
    load_stop(&l);
    cr_expect_eq(l.failed, 0, "%lu of %lu requests to the two apps failed; the first: %s\n%s",
                 l.failed, l.done, l.first_failure, h_log_tail(e.srv));
    cr_expect(l.done > 200, "only %lu requests", l.done);
    long last_pid = serving_pid(&e);
    cr_expect(last_pid != first_pid);
    h_nap(0.5);
    char *listing = NULL;
    int last_fds = h_proc_fds(last_pid, NULL, &listing);
    cr_expect_eq(last_fds, first_fds, "the first process had %d descriptors, the last %d:\n%s",
                 first_fds, last_fds, listing);
    /* Memory: in-process reloads leak (FACTS.md section 7); recycle-rss
     * turns a reload into a handover once the budget is spent, so the
     * process never grows far past it. */
    long long budget = 256LL << 20;
    cr_expect(max_rss < first_rss + budget + (64LL << 20),
              "RSS reached %lld MiB, from %lld MiB with a 256 MiB budget", max_rss >> 20,
              first_rss >> 20);
    cr_log_info("chaos: %lu requests, 0 failed expected (%lu); %d reloads (%lu timed out), "
                "%d SIGHUPs, %d handovers (+%lld by recycle-rss); fds %d -> %d; RSS %lld MiB "
                "at start, at most %lld MiB",
                l.done, l.failed, done_reloads, timeouts, done_sighups, done_handovers + 1,
                server_number(&e, "handovers") - done_handovers - 1, first_fds, last_fds,
                first_rss >> 20, max_rss >> 20);
    /* A clean stop: the log shows it, and no crash anywhere in it. */
    kill((pid_t)last_pid, SIGTERM);
    for (int i = 0; i < 600 && kill((pid_t)last_pid, 0) == 0; i++)
        h_nap(0.05);
    cr_expect(kill((pid_t)last_pid, 0) != 0, "the last process did not stop");
    pid_file[0] = '\0';
    h_assert_no_crash(e.srv);
    /* Every process that said "ready" also ended by the book (old ones
     * after their handover, the last one on SIGTERM). */
    char *log = h_log(e.srv);
    cr_assert_not_null(log);
    size_t ready = h_count(log, "] ready: "),
           ended = h_count(log, "] stopped\n") + h_count(log, "exiting without finalising Python");
    cr_expect_eq(ended, ready, "%zu processes were ready, %zu ended cleanly\n%s", ready, ended,
                 h_log_tail(e.srv));
    cr_expect(ready >= (size_t)done_handovers + 2, "%zu ready lines", ready);
    free(log);
}

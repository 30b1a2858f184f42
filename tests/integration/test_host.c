/* test_host.c: host mode (DESIGN section 9, issue 12) with real OS users:
 * the master runs as root and starts one worker per owner as that owner's
 * run-as user; a worker that crashes is restarted, at once the first time
 * and backing off when it keeps dying, while other owners never notice.
 *
 * Needs root (useradd, setuid): each test creates two system users and
 * removes them at the end; without root it skips and says so. The app is
 * tests/apps/host_owner.py, copied into each owner's own directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ADMIN_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"
#define ALICE_SHA "27ac99c5df7770b0aea0e32a1da73fbaff1475fa9146eb176fbb8a11531499db"
#define BOB_SHA "c740a1395099bfb18471a027c52f05706e244541f6a06cff1ab9e8de3b869684"

static char users[2][32];   /* the OS users this test made */

static void run_quiet(char *const argv[])
{
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (%s): %s", argv[0],
              h_status_text(st), out ? out : "");
    free(out);
}

static void remove_users(void)
{
    h_cleanup();   /* the server first: userdel refuses a user with processes */
    for (int i = 0; i < 2; i++) {
        if (!users[i][0])
            continue;
        char *argv[] = {"/usr/sbin/userdel", users[i], NULL};
        char *out = NULL;
        h_run(argv, 30, &out);
        free(out);
        users[i][0] = '\0';
    }
}

TestSuite(host, .fini = remove_users, .timeout = H_SUITE_TIMEOUT);

typedef struct {
    h_server_t *srv;
    char *dir;
    char *alice, *bob;          /* OS user names */
    uid_t alice_uid, bob_uid;
    gid_t alice_gid, bob_gid;
    char *alice_scgi, *bob_scgi;
    char *shared;               /* [server] scgi: the master routes it */
    char *bob_secret;           /* a file only bob may read */
    int admin_port;             /* 0: no admin port */
    char *ini;                  /* the config's text */
} env_t;

/* Two OS users, each with a directory holding a copy of the app; bob's also
 * holds a secret only he can read. Skips without root. */
static env_t make_owners(void)
{
    h_require_host_mode();
    env_t e = {0};
    e.dir = h_tmpdir();
    chmod(e.dir, 0755);   /* the workers, running as the owners, read below it */
    const char *role[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        snprintf(users[i], sizeof users[i], "swt%ld%s", (long)getpid(), role[i]);
        char *argv[] = {"/usr/sbin/useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", users[i], NULL};
        run_quiet(argv);
    }
    e.alice = users[0];
    e.bob = users[1];
    struct passwd *pw = getpwnam(e.alice);
    cr_assert(pw);
    e.alice_uid = pw->pw_uid;
    e.alice_gid = pw->pw_gid;
    pw = getpwnam(e.bob);
    cr_assert(pw);
    e.bob_uid = pw->pw_uid;
    e.bob_gid = pw->pw_gid;

    size_t len;
    char *app = h_read_file(h_app("host_owner.py"), &len);
    cr_assert(app);
    const char *owner[2] = {"alice", "bob"};
    uid_t uid[2] = {e.alice_uid, e.bob_uid};
    gid_t gid[2] = {e.alice_gid, e.bob_gid};
    for (int i = 0; i < 2; i++) {
        char *d = h_fmt("%s/%s", e.dir, owner[i]);
        cr_assert(mkdir(d, 0700) == 0);
        char *f = h_fmt("%s/app.py", d);
        h_write_file(f, app, len);
        cr_assert(chown(d, uid[i], gid[i]) == 0 && chown(f, uid[i], gid[i]) == 0);
    }
    free(app);
    e.bob_secret = h_fmt("%s/bob/secret", e.dir);
    h_write_file(e.bob_secret, "bob's!", 6);
    cr_assert(chown(e.bob_secret, e.bob_uid, e.bob_gid) == 0 && chmod(e.bob_secret, 0600) == 0);
    e.alice_scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.bob_scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.shared = h_fmt("127.0.0.1:%d", h_free_port());
    return e;
}

/* Starts the master: alice's apps mounted on her own listener (her
 * [user] scgi) and the shared one, bob's site on its private [app] scgi
 * listener and his blog mounted on the shared one. alice_extra are extra
 * [app] sections for alice ("%d" = the test's dir). */
static void start(env_t *e, const char *alice_extra)
{
    char *extra = h_fmt("%s", alice_extra ? alice_extra : "");
    for (char *p; (p = strstr(extra, "%d"));) {
        *p = '\0';
        extra = h_fmt("%s%s%s", extra, e->dir, p + 2);
    }
    char *ini = h_fmt(
        "[server]\nmode = host\nscgi = %s\ndrain-timeout = 2\nload-timeout = 20\n"
        "pid-file = %s/master.pid\n%s"
        "[user:admin]\ntoken-sha256 = " ADMIN_SHA "\nrole = admin\n"
        "[user:alice]\ntoken-sha256 = " ALICE_SHA "\nrun-as = %s\nscgi = %s\n"
        "[user:bob]\ntoken-sha256 = " BOB_SHA "\nrun-as = %s\n"
        "[app:alice-site]\nwsgi = %s/alice/app.py\nowner = alice\nmount = /site\n"
        "environ = HOST_APP=alice-site\n"
        "[app:bob-site]\nwsgi = %s/bob/app.py\nowner = bob\nscgi = %s\n"
        "environ = HOST_APP=bob-site\n"
        "[app:bob-blog]\nwsgi = %s/bob/app.py\nowner = bob\nmount = /blog\n"
        "environ = HOST_APP=bob-blog\n%s",
        e->shared, e->dir,
        e->admin_port ? h_fmt("admin = 127.0.0.1:%d\n", e->admin_port) : "", e->alice, e->alice_scgi, e->bob, e->dir, e->dir, e->bob_scgi, e->dir,
        extra);
    /* The apps crash their workers on purpose (SIGSEGV): a sanitizer build
     * must let the signal kill the process as it would a normal build,
     * not report it (a report in the log fails the test). */
    const char *asan = getenv("ASAN_OPTIONS"), *tsan = getenv("TSAN_OPTIONS");
    char *env[] = {h_fmt("ASAN_OPTIONS=%s%shandle_segv=0", asan ? asan : "", asan ? ":" : ""),
                   h_fmt("TSAN_OPTIONS=%s%shandle_segv=0", tsan ? tsan : "", tsan ? " " : ""),
                   NULL};
    e->ini = ini;
    e->srv = h_server_config(e->dir, e->alice_scgi, ini, env);
    cr_assert(h_log_wait(e->srv, "ready: 2 owners", 30), "master not ready:\n%s",
              h_log_tail(e->srv));
}

/* GET uri on addr: "STATUS BODY" ("0 " when the connection closed without
 * a response), or "error: ..." when the transport failed (no assertion: a
 * crash is expected on some). */
static char *try_get(const char *addr, const char *uri, double timeout)
{
    sw_scgi_response_t r;
    char err[256];
    if (h_request_try(addr, "GET", uri, NULL, 0, NULL, 0, timeout, &r, err, sizeof err) < 0)
        return h_fmt("error: %s", err);
    char *s = h_fmt("%d %.*s", r.status, (int)r.body_len, r.body ? r.body : "");
    sw_scgi_response_free(&r);
    return s;
}

/* The "Uid:" or "Gid:" line of /proc/PID/status: the four ids. */
static void proc_ids(long pid, const char *key, long ids[4])
{
    char *status = h_read_file(h_fmt("/proc/%ld/status", pid), NULL);
    cr_assert(status, "no process %ld", pid);
    char *line = strstr(status, key);
    cr_assert(line, "no %s in /proc/%ld/status", key, pid);
    cr_assert(sscanf(line + strlen(key), "%ld %ld %ld %ld", &ids[0], &ids[1], &ids[2],
                     &ids[3]) == 4);
    free(status);
}

static long proc_threads(long pid)
{
    char *status = h_read_file(h_fmt("/proc/%ld/status", pid), NULL);
    cr_assert(status);
    char *line = strstr(status, "Threads:");
    long n = line ? strtol(line + 8, NULL, 10) : -1;
    free(status);
    return n;
}

/* The pid of the worker serving uri on addr (the app says). */
static long worker_pid(const char *addr, const char *uri)
{
    char *r = try_get(addr, uri, 30);
    cr_assert(strncmp(r, "200 ", 4) == 0, "%s on %s: %s", uri, addr, r);
    char *pid = h_json_get(r + 4, "pid");
    cr_assert(pid, "no pid in %s", r);
    return strtol(pid, NULL, 10);
}

/* The pid serving uri on addr once it is no longer old (up to 10 s: an
 * old process may take a connection or two more before it stops
 * accepting, as it drains); old when it never changes. */
static long new_worker_pid(const char *addr, const char *uri, long old)
{
    long pid = old;
    double t0 = h_now();
    while (pid == old && h_now() - t0 < 10)
        pid = worker_pid(addr, uri);
    return pid;
}

Test(host, each_owner_runs_in_a_process_of_their_own_as_their_user)
{
    env_t e = make_owners();
    start(&e, NULL);
    long master = e.srv->proc->pid;
    long a = worker_pid(e.alice_scgi, "/site/whoami");
    long b = worker_pid(e.bob_scgi, "/whoami");
    cr_expect_neq(a, master);
    cr_expect_neq(b, master);
    cr_expect_neq(a, b);

    /* Real, effective, saved and filesystem ids are all the owner's. */
    long ids[4];
    const struct { long pid; uid_t uid; gid_t gid; } want[2] = {
        {a, e.alice_uid, e.alice_gid}, {b, e.bob_uid, e.bob_gid}};
    for (int i = 0; i < 2; i++) {
        proc_ids(want[i].pid, "Uid:", ids);
        for (int k = 0; k < 4; k++)
            cr_expect_eq(ids[k], (long)want[i].uid, "worker %ld: Uid %ld, want %ld",
                         want[i].pid, ids[k], (long)want[i].uid);
        proc_ids(want[i].pid, "Gid:", ids);
        for (int k = 0; k < 4; k++)
            cr_expect_eq(ids[k], (long)want[i].gid, "worker %ld: Gid %ld, want %ld",
                         want[i].pid, ids[k], (long)want[i].gid);
    }
    /* The master stays root and runs no Python: one thread, no
     * interpreter, no worker pool. */
    proc_ids(master, "Uid:", ids);
    cr_expect_eq(ids[1], 0);
    cr_expect_eq(proc_threads(master), 1, "the master runs %ld threads", proc_threads(master));

    /* An app of alice cannot read what only bob may; bob's can. */
    char *r = try_get(e.alice_scgi, h_fmt("/site/read?%s", e.bob_secret), 30);
    cr_expect(strstr(r, "refused: Permission denied") != NULL, "alice read bob's file: %s", r);
    r = try_get(e.bob_scgi, h_fmt("/read?%s", e.bob_secret), 30);
    cr_expect_str_eq(r, "200 read 6 bytes");

    /* Each owner's listener reaches that owner's apps only. */
    r = try_get(e.bob_scgi, "/site/whoami", 30);
    cr_expect(strstr(r, "bob-site") != NULL, "bob's listener: %s", r);

    /* The shared listener: the master routes each request to its owner's
     * worker, and answers what no app is mounted at itself. */
    cr_expect_eq(worker_pid(e.shared, "/site/whoami"), a);
    cr_expect_eq(worker_pid(e.shared, "/blog/whoami"), b);
    r = try_get(e.shared, "/blog/", 30);
    cr_expect_str_eq(r, "200 hello from bob-blog");
    r = try_get(e.shared, "/elsewhere", 30);
    cr_expect(strncmp(r, "404 ", 4) == 0, "unmounted path on the shared listener: %s", r);
    cr_expect(h_log_wait(e.srv, "shared listener", 5), "the master did not log its 404");

    h_server_stop_clean(e.srv);
    /* The workers stop with the master. */
    double t0 = h_now();
    while ((kill((pid_t)a, 0) == 0 || kill((pid_t)b, 0) == 0) && h_now() - t0 < 10)
        h_nap(0.05);
    cr_expect(kill((pid_t)a, 0) < 0 && errno == ESRCH, "alice's worker outlived the master");
    cr_expect(kill((pid_t)b, 0) < 0 && errno == ESRCH, "bob's worker outlived the master");
}

/* Load on an app from a thread: requests until told to stop. */
typedef struct {
    const char *addr;
    const char *uri;            /* NULL: "/" */
    atomic_int stop;
    atomic_long ok, failed;
    char last_error[256];
} load_t;

static void *load_loop(void *arg)
{
    load_t *l = arg;
    while (!atomic_load(&l->stop)) {
        sw_scgi_response_t r;
        char err[256];
        if (h_request_try(l->addr, "GET", l->uri ? l->uri : "/", NULL, 0, NULL, 0, 10, &r, err,
                          sizeof err) == 0 &&
            r.status == 200) {
            atomic_fetch_add(&l->ok, 1);
        } else {
            atomic_fetch_add(&l->failed, 1);
            snprintf(l->last_error, sizeof l->last_error, "%s", err);
        }
        if (err[0] == '\0')
            sw_scgi_response_free(&r);
    }
    return NULL;
}

/* Starts load on addr (uri NULL: "/") on a thread of its own. */
static void load_start(load_t *l, pthread_t *t, const char *addr, const char *uri)
{
    *l = (load_t){.addr = addr, .uri = uri};
    cr_assert(pthread_create(t, NULL, load_loop, l) == 0);
}

/* Stops it and expects that it lost nothing (and served some). */
static void load_stop(load_t *l, pthread_t t, const char *who)
{
    atomic_store(&l->stop, 1);
    pthread_join(t, NULL);
    cr_expect_eq(atomic_load(&l->failed), 0, "%s lost %ld of %ld requests (%s)", who,
                 atomic_load(&l->failed), atomic_load(&l->ok) + atomic_load(&l->failed),
                 l->last_error);
    cr_expect_gt(atomic_load(&l->ok), 10, "%s: too few requests to tell", who);
}

Test(host, a_crashing_worker_is_restarted_and_other_owners_never_notice)
{
    env_t e = make_owners();
    start(&e, "[app:alice-crash]\nwsgi = %d/alice/app.py\nowner = alice\nmount = /crash\n");
    long bob_before = worker_pid(e.bob_scgi, "/whoami");
    long alice_before = worker_pid(e.alice_scgi, "/site/whoami");

    load_t load;
    pthread_t t;
    load_start(&load, &t, e.bob_scgi, NULL);

    /* A segfault in one of alice's apps takes her worker down... */
    char *r = try_get(e.alice_scgi, "/crash/segv", 30);
    cr_expect(strncmp(r, "200", 3) != 0, "the crashing request answered: %s", r);
    /* ...and a connection made to her listener right then waits in the
     * backlog for the new worker: served, not refused. */
    double t0 = h_now();
    r = try_get(e.alice_scgi, "/site/whoami", 30);
    cr_expect(strncmp(r, "200 ", 4) == 0, "alice after the crash: %s\n%s", r, h_log_tail(e.srv));
    double took = h_now() - t0;
    long alice_after = strtol(h_json_get(r + 4, "pid") ? h_json_get(r + 4, "pid") : "0", NULL, 10);
    cr_expect_neq(alice_after, alice_before, "the same worker answered after a crash");
    /* Through the shared listener too: the master holds the connection
     * until her next worker serves. */
    r = try_get(e.alice_scgi, "/crash/segv", 30);
    cr_expect(strncmp(r, "200", 3) != 0, "the second crashing request answered: %s", r);
    r = try_get(e.shared, "/site/", 30);
    cr_expect_str_eq(r, "200 hello from alice-site");
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "died: signal 11 (SIGSEGV)",
                                                           "restarting now", NULL}, 10),
              "no crash line:\n%s", h_log_tail(e.srv));
    cr_log_info("alice answered again %.2f s after her worker's crash", took);
    /* The log names the app and the request that were running. */
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "was running:",
                                                           "alice-crash GET /crash/segv", NULL},
                              5),
              "no line naming the crashing request:\n%s", h_log_tail(e.srv));

    /* os._exit(3) in an app: the third death in a row backs off 2 s. */
    r = try_get(e.alice_scgi, "/crash/exit", 30);
    cr_expect(strncmp(r, "200", 3) != 0, "the exiting request answered: %s", r);
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "died: exit 3",
                                                           "restarting in 2 s", NULL}, 10),
              "no exit line:\n%s", h_log_tail(e.srv));
    r = try_get(e.alice_scgi, "/site/", 30);
    cr_expect_str_eq(r, "200 hello from alice-site");

    load_stop(&load, t, "bob");
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), bob_before, "bob's worker was replaced");
    h_server_stop_clean(e.srv);
}

Test(host, a_worker_that_keeps_crashing_backs_off)
{
    env_t e = make_owners();
    /* alice's second app crashes its process at import: every worker of
     * hers dies during start-up. */
    start(&e, "[app:alice-broken]\nwsgi = %d/alice/app.py\nowner = alice\nmount = /broken\n"
              "env = HOST_CRASH_AT_IMPORT=1\n");
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "restarting now",
                                                           NULL}, 30),
              "no first restart:\n%s", h_log_tail(e.srv));
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "was running:",
                                                           "alice-broken import", NULL}, 5),
              "no line naming the crashing import:\n%s", h_log_tail(e.srv));
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "restarting in 1 s",
                                                           NULL}, 30),
              "no 1 s backoff:\n%s", h_log_tail(e.srv));
    cr_expect(h_log_wait_line(e.srv, (const char *const[]){"worker alice", "restarting in 2 s",
                                                           NULL}, 30),
              "no 2 s backoff:\n%s", h_log_tail(e.srv));
    /* bob serves throughout. */
    cr_expect_str_eq(try_get(e.bob_scgi, "/", 30), "200 hello from bob-site");
    h_server_stop_clean(e.srv);
}

#define ADMIN "Authorization: Bearer root-token-ZYXWVUTSRQ"
#define ADMIN_TOKEN "root-token-ZYXWVUTSRQ"
#define ALICE_TOKEN "alice-token-ABCDEFGHIJ"
#define BOB_TOKEN "bob-token-KLMNOPQRSTU"

/* The names in a GET /v1/apps answer, comma-separated. */
static char *app_names(json_t *list)
{
    char *names = h_fmt("%s", "");
    size_t i;
    json_t *app;
    json_array_foreach(json_object_get(list, "apps"), i, app)
        names = h_fmt("%s%s%s", names, i ? "," : "",
                      json_string_value(json_object_get(app, "name")));
    return names;
}

/* APP.process.KEY of app as the admin sees it. */
static json_t *process_of(int port, const char *app)
{
    json_t *j = NULL;
    cr_assert_eq(h_admin_call(port, ADMIN_TOKEN, "GET", h_fmt("/v1/apps/%s", app), &j, 30), 200);
    json_t *p = json_incref(json_object_get(j, "process"));
    json_decref(j);
    cr_assert(json_is_object(p), "no process object in %s's APP", app);
    return p;
}

Test(host, one_admin_port_serves_every_owner_from_the_master)
{
    env_t e = make_owners();
    e.admin_port = h_free_port();
    start(&e, "[app:alice-crash]\nwsgi = %d/alice/app.py\nowner = alice\nmount = /crash\n");
    long a = worker_pid(e.alice_scgi, "/site/whoami");
    json_t *j = NULL;

    /* Each token sees its owner's apps; the admin's, all of them. */
    cr_assert_eq(h_admin_call(e.admin_port, ADMIN_TOKEN, "GET", "/v1/apps", &j, 30), 200);
    cr_expect_str_eq(app_names(j), "alice-site,bob-site,bob-blog,alice-crash");
    json_decref(j);
    cr_assert_eq(h_admin_call(e.admin_port, ALICE_TOKEN, "GET", "/v1/apps", &j, 30), 200);
    cr_expect_str_eq(app_names(j), "alice-site,alice-crash");
    json_decref(j);
    cr_expect_eq(h_admin_call(e.admin_port, ALICE_TOKEN, "POST", "/v1/apps/bob-site/reload",
                              NULL, 30), 404, "alice reached bob's app");

    /* APP.process names the worker. */
    json_t *p = process_of(e.admin_port, "alice-site");
    cr_expect_eq(json_integer_value(json_object_get(p, "pid")), a);
    cr_expect_str_eq(json_string_value(json_object_get(p, "user")), e.alice);
    cr_expect_eq(json_integer_value(json_object_get(p, "restarts")), 0);
    cr_expect(json_is_null(json_object_get(p, "last_exit")));
    json_decref(p);

    /* A reload goes to her worker, which builds generation 2 in place. */
    cr_assert_eq(h_admin_call(e.admin_port, ALICE_TOKEN, "POST",
                              "/v1/apps/alice-site/reload?wait=30", &j, 40), 200);
    cr_expect_eq(json_integer_value(json_object_get(j, "generation")), 2, "%s",
                 json_dumps(j, 0));
    json_decref(j);
    cr_expect_eq(worker_pid(e.alice_scgi, "/site/whoami"), a, "a reload replaced the process");
    cr_assert_eq(h_admin_call(e.admin_port, BOB_TOKEN, "POST",
                              "/v1/apps/bob-blog/destroy", &j, 40), 200);
    cr_expect_str_eq(json_string_value(json_object_get(j, "state")), "idle");
    json_decref(j);

    /* GET /v1/server lists the workers; the master runs no Python. */
    cr_assert_eq(h_admin_call(e.admin_port, ADMIN_TOKEN, "GET", "/v1/server", &j, 30), 200);
    cr_expect_str_eq(json_string_value(json_object_get(j, "mode")), "host");
    cr_expect_eq(json_array_size(json_object_get(j, "workers")), 2);
    cr_expect(strstr(json_string_value(json_object_get(j, "python")), "no Python") != NULL);
    json_decref(j);

    /* The app's log, from the master. */
    cr_assert_eq(h_admin_call(e.admin_port, ALICE_TOKEN, "GET", "/v1/apps/alice-site/log?lines=50",
                              &j, 30), 200);
    char *text = json_dumps(j, 0);
    cr_expect(strstr(text, "generation 2 serving") != NULL, "alice-site's log: %s", text);
    free(text);
    json_decref(j);

    /* A crash shows in status: the master answers while the worker is
     * gone, and after, with restarts and the last exit. */
    try_get(e.alice_scgi, "/crash/segv", 30);
    cr_assert(h_log_wait(e.srv, "died: signal 11", 10));
    worker_pid(e.alice_scgi, "/site/whoami");
    double t0 = h_now();
    do {
        p = process_of(e.admin_port, "alice-site");
        int done = json_integer_value(json_object_get(p, "restarts")) == 1 &&
                   json_is_string(json_object_get(p, "last_exit"));
        if (done)
            break;
        json_decref(p);
        p = NULL;
        h_nap(0.1);
    } while (h_now() - t0 < 10);
    cr_assert(p, "status never showed the restart");
    cr_expect(strstr(json_string_value(json_object_get(p, "last_exit")), "signal 11 (SIGSEGV)"),
              "last_exit: %s", json_string_value(json_object_get(p, "last_exit")));
    json_decref(p);
    h_server_stop_clean(e.srv);
}

Test(host, recycling_one_owner_drops_nothing_and_leaves_the_other_alone)
{
    env_t e = make_owners();
    e.admin_port = h_free_port();
    start(&e, NULL);
    long a = worker_pid(e.alice_scgi, "/site/whoami");
    long b = worker_pid(e.bob_scgi, "/whoami");
    load_t la, lb, ls;
    pthread_t ta, tb, ts;
    load_start(&la, &ta, e.alice_scgi, "/site/");
    load_start(&lb, &tb, e.bob_scgi, NULL);
    load_start(&ls, &ts, e.shared, "/site/");
    h_nap(0.3);

    /* Under load: alice's worker is handed over to a new process. */
    json_t *j = NULL;
    cr_expect_eq(h_admin_call(e.admin_port, ADMIN_TOKEN, "POST",
                              "/v1/server/recycle?owner=alice&wait=30", &j, 40), 200);
    json_decref(j);
    long a2 = new_worker_pid(e.alice_scgi, "/site/whoami", a);
    cr_expect_neq(a2, a, "alice's worker was not replaced");
    h_nap(0.3);

    /* A deploy that cannot load: the handover fails with the traceback,
     * and the running process serves on. */
    char *broken = h_fmt("%s/alice/broken", e.dir);
    h_write_file(broken, "", 0);
    cr_expect_eq(h_admin_call(e.admin_port, ADMIN_TOKEN, "POST",
                              "/v1/server/recycle?owner=alice&wait=30", &j, 40), 422);
    char *text = json_dumps(j, 0);
    cr_expect(strstr(text, "this deploy is broken") != NULL, "the failure: %s", text);
    free(text);
    json_decref(j);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(worker_pid(e.alice_scgi, "/site/whoami"), a2,
                     "the failed handover replaced it");
    unlink(broken);

    load_stop(&la, ta, "alice's listener");
    load_stop(&lb, tb, "bob's listener");
    load_stop(&ls, ts, "the shared listener");
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), b, "bob's worker was replaced");
    h_server_stop_clean(e.srv);
}

Test(host, a_process_reload_hands_over_that_owners_worker_alone)
{
    env_t e = make_owners();
    e.admin_port = h_free_port();
    start(&e, "[app:alice-proc]\nwsgi = %d/alice/app.py\nowner = alice\nmount = /proc\n"
              "reload = process\n");
    long a = worker_pid(e.alice_scgi, "/proc/whoami");
    long b = worker_pid(e.bob_scgi, "/whoami");
    load_t lb, la;
    pthread_t tb, ta;
    load_start(&lb, &tb, e.bob_scgi, NULL);
    load_start(&la, &ta, e.alice_scgi, "/site/");

    json_t *j = NULL;
    cr_expect_eq(h_admin_call(e.admin_port, ALICE_TOKEN, "POST",
                              "/v1/apps/alice-proc/reload?wait=30", &j, 40), 200,
                 "%s\n%s", j ? json_dumps(j, 0) : "", h_log_tail(e.srv));
    json_decref(j);
    cr_expect_neq(new_worker_pid(e.alice_scgi, "/proc/whoami", a), a,
                  "a process reload kept alice's process");
    cr_expect(h_log_wait(e.srv, "worker alice asked for a handover of itself", 5));

    load_stop(&lb, tb, "bob");
    load_stop(&la, ta, "alice");
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), b, "bob's worker was replaced");
    h_server_stop_clean(e.srv);
}

/* nginx in front, as a hosting machine has it: bob's blog through the
 * shared listener (the master routes), alice's site through her own. */
Test(host, nginx_serves_one_site_by_the_shared_listener_and_one_by_an_owners)
{
    const char *ng = h_nginx();
    if (*ng == '\0' || access(ng, X_OK) != 0)
        cr_skip_test("nginx is not installed (SW_NGINX=\"%s\"): apt-get install nginx and "
                     "re-run configure", ng);
    env_t e = make_owners();
    start(&e, NULL);
    int port = h_free_port();
    const char *params = access("/etc/nginx/scgi_params", R_OK) == 0
                             ? "include /etc/nginx/scgi_params;"
                             : "scgi_param REQUEST_METHOD $request_method; "
                               "scgi_param REQUEST_URI $request_uri; "
                               "scgi_param QUERY_STRING $query_string; "
                               "scgi_param DOCUMENT_URI $document_uri; "
                               "scgi_param SERVER_PROTOCOL $server_protocol; "
                               "scgi_param SERVER_NAME $server_name; "
                               "scgi_param SERVER_PORT $server_port; "
                               "scgi_param CONTENT_LENGTH $content_length;";
    char *server = h_fmt("server {\n"
                         "    listen 127.0.0.1:%d;\n"
                         "    server_name localhost;\n"
                         "    location /blog/ { %s scgi_pass %s; }\n"
                         "    location /blog-not/ { %s scgi_pass %s; }\n"
                         "    location /site/ { %s scgi_pass %s; }\n"
                         "}\n",
                         port, params, e.shared, params, e.shared, params, e.alice_scgi);
    h_nginx_t n = h_nginx_start(server, port);
    const struct { const char *path, *body; } want[] = {
        {"/blog/", "hello from bob-blog"},
        {"/site/", "hello from alice-site"},
    };
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < 2; i++) {
            h_http_resp_t r;
            char err[256] = "";
            int rc = h_http(port, "GET", want[i].path, NULL, 0, NULL, 0, H_IO_TIMEOUT, &r, err,
                            sizeof err);
            cr_assert_eq(rc, 0, "GET %s through nginx: %s", want[i].path, err);
            cr_expect_eq(r.status, 200, "GET %s: %d %s\nnginx:\n%s", want[i].path, r.status,
                         r.body, h_nginx_log(&n));
            cr_expect(r.body && strcmp(r.body, want[i].body) == 0, "GET %s: %s", want[i].path,
                      r.body);
            h_http_free(&r);
        }
    }
    /* Through nginx too, a path no app is mounted at is the master's 404. */
    h_http_resp_t r;
    char err[256] = "";
    cr_assert_eq(h_http(port, "GET", "/blog-not/", NULL, 0, NULL, 0, H_IO_TIMEOUT, &r, err,
                        sizeof err), 0, "%s", err);
    cr_expect_eq(r.status, 404, "GET /blog-not/: %d %s", r.status, r.body);
    h_http_free(&r);
    h_server_stop_clean(e.srv);
}

/* ini with the first "from" replaced by "to". */
static char *replaced(const char *ini, const char *from, const char *to)
{
    const char *at = strstr(ini, from);
    cr_assert(at, "no \"%s\" in the config", from);
    return h_fmt("%.*s%s%s", (int)(at - ini), ini, to, at + strlen(from));
}

static void sighup_with(env_t *e, const char *ini, const char *expect)
{
    h_replace_file(h_fmt("%s/subwsgi.ini", e->dir), ini);
    size_t before = h_count(h_log(e->srv), expect);
    kill(e->srv->proc->pid, SIGHUP);
    double t0 = h_now();
    char *log = NULL;
    while (h_now() - t0 < 10) {
        free(log);
        log = h_log(e->srv);
        if (h_count(log, expect) > before)
            break;
        h_nap(0.05);
    }
    cr_expect(h_count(log, expect) > before, "no \"%s\" after SIGHUP:\n%s", expect,
              h_log_tail(e->srv));
    free(log);
}

Test(host, sighup_hands_over_the_owners_whose_config_changed_and_no_other)
{
    env_t e = make_owners();
    e.admin_port = h_free_port();
    start(&e, NULL);
    long a = worker_pid(e.alice_scgi, "/site/whoami");
    long b = worker_pid(e.bob_scgi, "/whoami");
    load_t lb, la;
    pthread_t tb, ta;
    load_start(&lb, &tb, e.bob_scgi, NULL);
    load_start(&la, &ta, e.alice_scgi, "/site/");

    /* The same config: nobody notices. */
    sighup_with(&e, e.ini, "SIGHUP: applied: 0 of 2 owners");
    cr_expect_eq(worker_pid(e.alice_scgi, "/site/whoami"), a);
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), b);

    /* alice's app changes: her worker alone is handed over. */
    char *next = replaced(e.ini, "environ = HOST_APP=alice-site\n",
                          "environ = HOST_APP=alice-site-v2\n");
    sighup_with(&e, next, "SIGHUP: applied: 1 of 2 owners");
    double t0 = h_now();
    char *r = NULL;
    while (h_now() - t0 < 10) {
        r = try_get(e.alice_scgi, "/site/", 30);
        if (strcmp(r, "200 hello from alice-site-v2") == 0)
            break;
        h_nap(0.05);
    }
    cr_expect_str_eq(r, "200 hello from alice-site-v2");
    cr_expect_neq(new_worker_pid(e.alice_scgi, "/site/whoami", a), a);
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), b, "bob's worker was replaced");

    /* What the master holds itself needs a restart: nothing changes. */
    sighup_with(&e, replaced(next, h_fmt("admin = 127.0.0.1:%d\n", e.admin_port),
                             "admin = 127.0.0.1:1\n"),
                "needs a restart of the service; nothing changed");
    sighup_with(&e, replaced(next, "[server]\n", "[server]\nno-such-key = 1\n"),
                "the config has errors: nothing changed");
    cr_expect_eq(worker_pid(e.bob_scgi, "/whoami"), b);

    load_stop(&lb, tb, "bob");
    load_stop(&la, ta, "alice");
    h_server_stop_clean(e.srv);
}

/* ini without the sections from "from" up to and including "to". */
static char *cut(const char *ini, const char *from, const char *to)
{
    const char *a = strstr(ini, from), *b = a ? strstr(a, to) : NULL;
    cr_assert(a && b, "no \"%s\" ... \"%s\" in the config", from, to);
    return h_fmt("%.*s%s", (int)(a - ini), ini, b + strlen(to));
}

Test(host, sighup_adds_and_removes_owners_and_the_others_never_notice)
{
    env_t e = make_owners();
    e.admin_port = h_free_port();
    start(&e, NULL);
    long a = worker_pid(e.alice_scgi, "/site/whoami");
    long b = worker_pid(e.bob_scgi, "/whoami");
    load_t la;
    pthread_t ta;
    load_start(&la, &ta, e.alice_scgi, "/site/");

    /* bob's apps leave the config: his worker drains and stops, his own
     * listener closes, the shared listener no longer routes to him. */
    char *without_bob = cut(e.ini, "[app:bob-site]", "environ = HOST_APP=bob-blog\n");
    sighup_with(&e, without_bob, "1 removed");
    double t0 = h_now();
    while (kill((pid_t)b, 0) == 0 && h_now() - t0 < 10)
        h_nap(0.05);
    cr_expect(kill((pid_t)b, 0) < 0, "bob's worker still runs after his removal");
    char *r = try_get(e.bob_scgi, "/whoami", 5);
    cr_expect(strncmp(r, "error", 5) == 0, "bob's removed listener answered: %s", r);
    r = try_get(e.shared, "/blog/", 30);
    cr_expect(strncmp(r, "404 ", 4) == 0, "the shared listener still routes to bob: %s", r);
    json_t *j = NULL;
    cr_assert_eq(h_admin_call(e.admin_port, ADMIN_TOKEN, "GET", "/v1/server", &j, 30), 200);
    cr_expect_eq(json_array_size(json_object_get(j, "workers")), 1);
    json_decref(j);

    /* And back: a new owner gets a worker of his own, running as him. */
    sighup_with(&e, e.ini, "1 owners added");
    long b2 = worker_pid(e.bob_scgi, "/whoami");
    cr_expect_neq(b2, b);
    long ids[4];
    proc_ids(b2, "Uid:", ids);
    cr_expect_eq(ids[1], (long)e.bob_uid);
    cr_expect_str_eq(try_get(e.shared, "/blog/", 30), "200 hello from bob-blog");
    cr_assert_eq(h_admin_call(e.admin_port, BOB_TOKEN, "GET", "/v1/apps", &j, 30), 200);
    cr_expect_str_eq(app_names(j), "bob-site,bob-blog");
    json_decref(j);

    load_stop(&la, ta, "alice");
    cr_expect_eq(worker_pid(e.alice_scgi, "/site/whoami"), a, "alice's worker was replaced");
    h_server_stop_clean(e.srv);
}

/* --check, as root, refuses a run-as that cannot read the CPython the
 * binary runs (its worker could not start Python): with pyenv's CPython
 * under /root it must say so; with one every user can read, it passes. */
Test(host, check_refuses_a_run_as_that_cannot_read_the_embedded_python)
{
    if (geteuid() != 0)
        cr_skip_test("--check tries run-as users only as root: run make check as root, as CI does");
    char *dir = h_tmpdir();
    char *ini = h_fmt("%s/host.ini", dir);
    char *text = h_fmt("[server]\nmode = host\n"
                       "[user:web]\ntoken-sha256 = " ALICE_SHA "\nrun-as = nobody\n"
                       "scgi = 127.0.0.1:%d\n"
                       "[app:site]\nwsgi = %s\nowner = web\nmount = /\n",
                       h_free_port(), h_app("hello.py"));
    h_write_file(ini, text, strlen(text));
    char *const argv[] = {h_binary(), "-c", ini, "--check", NULL};
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    const char *unreadable = h_python_unreadable();
    if (unreadable) {
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--check: %s\n%s", h_status_text(st),
                  out);
        cr_expect(out && strstr(out, "cannot read the CPython") && strstr(out, unreadable),
                  "--check did not name the unreadable CPython: %s", out);
    } else {
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--check: %s\n%s", h_status_text(st),
                  out);
    }
    free(out);
}

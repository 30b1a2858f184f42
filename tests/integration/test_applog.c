/* test_applog.c: per-app logs (DESIGN section 9 "Logs", issue 12): an
 * app's print() (sys.stdout), sys.stderr, wsgi.errors and its tracebacks
 * reach the error log as [APP] lines, line by line, and with its owner's
 * log-dir also LOG_DIR/APP.log; the admin API's GET /v1/apps/APP/log shows
 * them; SIGUSR1 reopens the file after logrotate renamed it. In host mode
 * (needs root: it creates an OS user) the file is written by the owner's
 * worker, so it belongs to the owner. The app is tests/apps/printer.py. */
#include <criterion/criterion.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(applog, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define ALICE "alice-token-0123456789"
/* printf %s TOKEN | sha256sum */
#define ALICE_SHA "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"

/* What GET /talk, /raise and the import write, as the log lines they must
 * make: "LEVEL [printer] TEXT". */
static const char *const talk_lines[] = {
    "info [printer] out pieces 42",          /* print("out", "pieces", 42): one line */
    "info [printer] partial joined",         /* print(end="") then print(): one line */
    "warn [printer] err line",               /* sys.stderr */
    "warn [printer] werr line",              /* wsgi.errors */
    "info [printer] no newline at the end",  /* flushed at the request's end */
};

typedef struct {
    h_server_t *srv;
    char *dir, *logs, *file;    /* the test's dir, alice's log-dir, printer.log */
    char *scgi;
    int admin_port;
} env_t;

static env_t start_single(void)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.logs = h_fmt("%s/logs", e.dir);
    cr_assert(mkdir(e.logs, 0755) == 0);
    e.file = h_fmt("%s/printer.log", e.logs);
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = h_free_port();
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\n"
                      "[user:alice]\ntoken-sha256 = " ALICE_SHA "\nlog-dir = %s\n"
                      "[app:printer]\nwsgi = %s\nowner = alice\nmount = /\n",
                      e.scgi, e.admin_port, e.logs, h_app("printer.py"));
    e.srv = h_server_config(e.dir, e.scgi, ini, NULL);
    return e;
}

static void get_ok(const env_t *e, const char *uri, int status)
{
    sw_scgi_response_t r;
    h_get(e->scgi, uri, &r);
    cr_assert_eq(r.status, status, "%s: %d\n%s", uri, r.status, h_log_tail(e->srv));
    sw_scgi_response_free(&r);
}

/* text has a line containing needle whose start is an error-log line's:
 * "YYYY-MM-DDTHH:MM:SS.mmmZ ". */
static int has_log_line(const char *text, const char *needle)
{
    for (const char *p = text; p && (p = strstr(p, needle)); p++) {
        const char *bol = p;
        while (bol > text && bol[-1] != '\n')
            bol--;
        if (p - bol == 25 && bol[4] == '-' && bol[10] == 'T' && bol[23] == 'Z' && bol[24] == ' ')
            return 1;
    }
    return 0;
}

/* Polls path until it has a line ending in needle (one written whole). */
static char *wait_file_line(const char *path, const char *needle, double timeout)
{
    char *want = h_fmt("%s\n", needle);
    for (double end = h_now() + timeout;; h_nap(0.05)) {
        char *text = h_read_file(path, NULL);
        if (text && strstr(text, want)) {
            char *copy = h_fmt("%s", text);
            free(text);
            return copy;
        }
        free(text);
        if (h_now() > end)
            return NULL;
    }
}

Test(applog, stdout_stderr_errors_and_tracebacks_reach_the_file_the_log_and_the_api)
{
    env_t e = start_single();
    get_ok(&e, "/talk", 200);
    get_ok(&e, "/raise", 500);

    char *file = wait_file_line(e.file, "RuntimeError: boom-marker", 10);
    cr_assert(file, "%s has no traceback; error log:\n%s", e.file, h_log_tail(e.srv));
    cr_expect(has_log_line(file, "info [printer] imported ok"), "import-time print:\n%s", file);
    for (size_t i = 0; i < sizeof talk_lines / sizeof talk_lines[0]; i++)
        cr_expect(has_log_line(file, talk_lines[i]), "no \"%s\" line in the file:\n%s",
                  talk_lines[i], file);
    cr_expect(has_log_line(file, "error [printer] error in the app:"), "%s", file);
    cr_expect_eq(h_count(file, "[printer] out\n"), 0, "print's pieces made lines:\n%s", file);
    cr_expect_eq(h_count(file, "[subwsgi]"), 0, "only the app's lines:\n%s", file);

    char *log = h_log(e.srv);
    cr_expect(has_log_line(log, "info [printer] imported ok"), "%s", log);
    for (size_t i = 0; i < sizeof talk_lines / sizeof talk_lines[0]; i++)
        cr_expect(has_log_line(log, talk_lines[i]), "no \"%s\" line in the error log:\n%s",
                  talk_lines[i], log);
    cr_expect(strstr(log, "RuntimeError: boom-marker"), "%s", log);
    free(log);

    json_t *doc = NULL;
    int st = h_admin_call(e.admin_port, ALICE, "GET", "/v1/apps/printer/log?lines=200", &doc, 30);
    cr_assert_eq(st, 200);
    json_t *lines = json_object_get(doc, "lines"), *l;
    size_t i;
    int seen[5] = {0}, tb = 0;
    json_array_foreach(lines, i, l) {
        const char *text = json_string_value(json_object_get(l, "text"));
        const char *level = json_string_value(json_object_get(l, "level"));
        char *both = h_fmt("%s [printer] %s", level ? level : "?", text ? text : "");
        for (size_t k = 0; k < 5; k++)
            seen[k] |= strcmp(both, talk_lines[k]) == 0;
        tb |= text && strcmp(text, "RuntimeError: boom-marker") == 0;
    }
    for (size_t k = 0; k < 5; k++)
        cr_expect(seen[k], "GET /v1/apps/printer/log lacks \"%s\"", talk_lines[k]);
    cr_expect(tb, "GET /v1/apps/printer/log lacks the traceback");
    json_decref(doc);
    h_server_stop_clean(e.srv);
}

/* A line longer than the error log's bound is cut there, its rest
 * dropped; the next line is whole. */
Test(applog, a_long_line_is_cut_at_the_bound)
{
    env_t e = start_single();
    get_ok(&e, "/long?50000", 200);
    char *file = wait_file_line(e.file, "info [printer] after-long", 10);
    cr_assert(file, "no line after the long one:\n%s", h_log_tail(e.srv));
    const char *x = strstr(file, "[printer] xxx");
    cr_assert(x, "%s", file);
    const char *bol = x, *eol = strchr(x, '\n');
    while (bol > file && bol[-1] != '\n')
        bol--;
    cr_expect(eol - bol < 8192, "the long line is %zu bytes", (size_t)(eol - bol));
    cr_expect(eol - bol > 8000, "the long line is cut at the bound, not before: %zu bytes",
              (size_t)(eol - bol));
    cr_expect_eq(h_count(file, "[printer] xxx"), 1, "the rest of the line was dropped");
    h_server_stop_clean(e.srv);
}

Test(applog, sigusr1_reopens_the_file_after_a_rename)
{
    env_t e = start_single();
    get_ok(&e, "/talk", 200);
    cr_assert(wait_file_line(e.file, talk_lines[4], 10), "%s", h_log_tail(e.srv));
    char *rotated = h_fmt("%s.1", e.file);
    cr_assert(rename(e.file, rotated) == 0);
    kill(e.srv->proc->pid, SIGUSR1);
    cr_assert(h_log_wait(e.srv, "SIGUSR1: log files reopened", 10), "%s", h_log_tail(e.srv));
    struct stat st;
    cr_expect(stat(e.file, &st) == 0, "SIGUSR1 made a new %s", e.file);
    get_ok(&e, "/talk", 200);
    char *fresh = wait_file_line(e.file, talk_lines[4], 10);
    cr_assert(fresh, "the new file gets the lines:\n%s", h_log_tail(e.srv));
    cr_expect_eq(h_count(fresh, "out pieces 42"), 1, "%s", fresh);
    char *old = h_read_file(rotated, NULL);
    cr_expect(old && h_count(old, "out pieces 42") == 1, "the rotated file keeps only the "
              "lines from before:\n%s", old ? old : "(none)");
    free(old);
    h_server_stop_clean(e.srv);
}

/* Four threads print while the file is renamed and reopened again and
 * again: every line lands whole in one of the files, none is lost. (Each
 * round's lines were seen split between the renamed file and the new
 * one: the reopen does happen mid-print.) */
Test(applog, no_line_is_lost_or_torn_across_rotations)
{
    env_t e = {0};
    e.dir = h_tmpdir();
    e.logs = h_fmt("%s/logs", e.dir);
    cr_assert(mkdir(e.logs, 0755) == 0);
    e.file = h_fmt("%s/printer.log", e.logs);
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\n"
                      "[user:alice]\ntoken-sha256 = " ALICE_SHA "\nlog-dir = %s\n"
                      "[app:printer]\nwsgi = %s\nowner = alice\nmount = /\nthreads = 4\n",
                      e.scgi, e.logs, h_app("printer.py"));
    e.srv = h_server_config(e.dir, e.scgi, ini, NULL);
    enum { ROUNDS = 6, CLIENTS = 8, LINES = 2000 };
    for (int round = 0; round < ROUNDS; round++) {
        h_async_t *a[CLIENTS];
        for (int c = 0; c < CLIENTS; c++)
            a[c] = h_async_get(e.scgi, h_fmt("/many?%d", LINES), 30);
        /* Rotate while they print. */
        h_nap(0.01);
        cr_assert(rename(e.file, h_fmt("%s.%d", e.file, round)) == 0);
        kill(e.srv->proc->pid, SIGUSR1);
        for (int c = 0; c < CLIENTS; c++) {
            cr_assert(h_async_wait(a[c], 30), "request %d of round %d hangs", c, round);
            cr_assert_eq(a[c]->rc, 0, "%s", a[c]->err);
            cr_assert_eq(a[c]->resp.status, 200);
            sw_scgi_response_free(&a[c]->resp);
        }
        cr_assert(h_wait_file(e.file, 10), "no new file after SIGUSR1 %d", round);
    }
    h_server_stop_clean(e.srv);   /* every line written by now */
    size_t lines = 0, bad = 0;
    for (int round = -1; round < ROUNDS; round++) {
        char *path = round < 0 ? e.file : h_fmt("%s.%d", e.file, round);
        char *text = h_read_file(path, NULL);
        cr_assert(text, "%s is gone", path);
        for (char *l = text, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            cr_assert(nl, "%s ends in a torn line: %s", path, l);
            *nl = '\0';
            if (!strstr(l, "[printer] many "))
                continue;
            lines++;
            char *bad_line = NULL;
            if (strlen(l) < 25 || l[23] != 'Z' || strncmp(l + 25, "info [printer] many ", 20) != 0)
                bad_line = l;
            bad += bad_line != NULL;
            cr_expect(!bad_line, "a torn line in %s: %s", path, l);
            if (bad > 5)
                break;
        }
        free(text);
    }
    cr_expect_eq(lines, (size_t)ROUNDS * CLIENTS * LINES, "%zu of %d lines in the files", lines,
                 ROUNDS * CLIENTS * LINES);
}

/* APP.log planted as a symbolic link: not followed (applog.c says why);
 * the app serves and its lines still reach the error log. */
Test(applog, a_symlink_as_the_file_is_refused)
{
    char *dir = h_tmpdir();
    char *victim = h_fmt("%s/victim", dir), *logs = h_fmt("%s/logs", dir);
    h_write_file(victim, "", 0);
    cr_assert(mkdir(logs, 0755) == 0);
    cr_assert(symlink(victim, h_fmt("%s/printer.log", logs)) == 0);
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nscgi = %s\n[user:alice]\ntoken-sha256 = " ALICE_SHA
                      "\nlog-dir = %s\n[app:printer]\nwsgi = %s\nowner = alice\nmount = /\n",
                      scgi, logs, h_app("printer.py"));
    h_server_t *srv = h_server_config(dir, scgi, ini, NULL);
    env_t e = {.srv = srv, .scgi = scgi};
    get_ok(&e, "/talk", 200);
    cr_expect(h_log_wait(srv, talk_lines[0], 10), "%s", h_log_tail(srv));
    cr_expect(h_log_wait(srv, "it is a symbolic link", 10), "%s", h_log_tail(srv));
    char *v = h_read_file(victim, NULL);
    cr_expect(v && v[0] == '\0', "written through the link: %s", v ? v : "(gone)");
    free(v);
    h_server_stop_clean(srv);
}

/* ---- host mode: the file is the owner's ------------------------------------ */

static char os_user[32];

static void remove_user(void)
{
    h_cleanup();   /* the server first: userdel refuses a user with processes */
    if (os_user[0]) {
        char *argv[] = {"/usr/sbin/userdel", os_user, NULL}, *out = NULL;
        h_run(argv, 30, &out);
        free(out);
        os_user[0] = '\0';
    }
}

TestSuite(applog_host, .fini = remove_user, .timeout = H_SUITE_TIMEOUT);

Test(applog_host, the_workers_file_belongs_to_the_owner_and_sigusr1_reaches_it)
{
    h_require_host_mode();
    snprintf(os_user, sizeof os_user, "swl%ld", (long)getpid());
    char *add[] = {"/usr/sbin/useradd", "--system", "--no-create-home", "--shell",
                   "/usr/sbin/nologin", os_user, NULL}, *out = NULL;
    int rc = h_run(add, 30, &out);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "useradd: %s", out ? out : "");
    free(out);
    struct passwd *pw = getpwnam(os_user);
    cr_assert(pw);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;

    char *dir = h_tmpdir();
    chmod(dir, 0755);   /* the worker, running as the owner, reads below it */
    char *home = h_fmt("%s/alice", dir), *logs = h_fmt("%s/logs", home);
    char *app = h_fmt("%s/printer.py", home), *file = h_fmt("%s/printer.log", logs);
    cr_assert(mkdir(home, 0755) == 0 && mkdir(logs, 0755) == 0);
    size_t len;
    char *src = h_read_file(h_app("printer.py"), &len);
    cr_assert(src);
    h_write_file(app, src, len);
    free(src);
    cr_assert(chown(home, uid, gid) == 0 && chown(logs, uid, gid) == 0 &&
              chown(app, uid, gid) == 0);

    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    char *ini = h_fmt("[server]\nmode = host\ndrain-timeout = 2\n"
                      "[user:alice]\ntoken-sha256 = " ALICE_SHA "\nrun-as = %s\nscgi = %s\n"
                      "log-dir = %s\n"
                      "[app:printer]\nwsgi = %s\nowner = alice\nmount = /\n",
                      os_user, scgi, logs, app);
    h_server_t *srv = h_server_config(dir, scgi, ini, NULL);
    cr_assert(h_log_wait(srv, "ready: 1 owners", 30), "master not ready:\n%s", h_log_tail(srv));
    env_t e = {.srv = srv, .scgi = scgi};
    get_ok(&e, "/talk", 200);
    get_ok(&e, "/raise", 500);

    char *text = wait_file_line(file, "RuntimeError: boom-marker", 10);
    cr_assert(text, "%s has no traceback; master's log:\n%s", file, h_log_tail(srv));
    for (size_t i = 0; i < sizeof talk_lines / sizeof talk_lines[0]; i++)
        cr_expect(has_log_line(text, talk_lines[i]), "no \"%s\" in the file:\n%s",
                  talk_lines[i], text);
    struct stat st;
    cr_assert(stat(file, &st) == 0);
    cr_expect_eq(st.st_uid, uid, "%s belongs to uid %ld, not the owner's %ld", file,
                 (long)st.st_uid, (long)uid);
    cr_expect_eq(st.st_gid, gid);
    /* The master relays the worker's lines into the server's error log. */
    cr_expect(h_log_wait(srv, "info [printer] out pieces 42", 10), "%s", h_log_tail(srv));

    /* logrotate signals the master, which passes it on to the worker. */
    cr_assert(rename(file, h_fmt("%s.1", file)) == 0);
    long master = srv->proc->pid;
    kill((pid_t)master, SIGUSR1);
    cr_assert(h_wait_file(file, 10), "the worker did not reopen %s after SIGUSR1:\n%s", file,
              h_log_tail(srv));
    cr_assert(stat(file, &st) == 0);
    cr_expect_eq(st.st_uid, uid, "the new file is the owner's too");
    get_ok(&e, "/talk", 200);
    cr_expect(wait_file_line(file, talk_lines[4], 10), "the new file gets the lines:\n%s",
              h_log_tail(srv));
    h_server_stop_clean(srv);
}

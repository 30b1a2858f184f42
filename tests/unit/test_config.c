/* test_config.c: sw_config_load() and sw_config_quick(): values, defaults,
 * "FILE:LINE:" errors naming their key, mounts, wsgi forms.
 * Small configs are written to a temp dir that also holds app.py; kept
 * samples are in tests/data/config (found through SW_SRCDIR). */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];   /* the temp dir of the current test */

/* ---- helpers -------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    char path[PATH_MAX];

    snprintf(tmp, sizeof tmp, "/tmp/sw_test_config_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    write_file(tmp, "app.py", "def application(e, s):\n    return []\n");
    snprintf(path, sizeof path, "%s/dir.py", tmp);   /* not a regular file */
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/venv", tmp);
    cr_assert_eq(mkdir(path, 0755), 0);
}

static void teardown(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text to TMP/name and loads it; path receives the file's path. */
static sw_config_t *load_text(const char *name, const char *text,
                              sw_errors_t *errs, char *path, size_t n)
{
    write_file(tmp, name, text);
    snprintf(path, n, "%s/%s", tmp, name);
    return sw_config_load(path, errs);
}

/* All errors on one line each, for assertion messages. */
static const char *joined(const sw_errors_t *errs)
{
    static char buf[8192];
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < errs->lines.n && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "\n  %s",
                              errs->lines.items[i]);
    return errs->lines.n ? buf : " (none)";
}

/* Does error i start with "FILE:LINE: " and contain want? */
static int error_is(const sw_errors_t *errs, size_t i, const char *file,
                    int line, const char *want)
{
    char prefix[PATH_MAX + 32];

    snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
    return i < errs->lines.n &&
           strncmp(errs->lines.items[i], prefix, strlen(prefix)) == 0 &&
           strstr(errs->lines.items[i], want) != NULL;
}

/* The data directory: $SW_SRCDIR/tests/data/config, else next to this file. */
static void data_path(const char *name, char *out, size_t n)
{
    const char *src = getenv("SW_SRCDIR");

    if (src != NULL && *src != '\0') {
        snprintf(out, n, "%s/tests/data/config/%s", src, name);
    } else {
        const char *f = __FILE__;
        const char *slash = strrchr(f, '/');
        int dl = slash != NULL ? (int)(slash - f) : 1;

        snprintf(out, n, "%.*s/../data/config/%s", dl,
                 slash != NULL ? f : ".", name);
    }
}

static int same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    return realpath(a, ra) != NULL && realpath(b, rb) != NULL &&
           strcmp(ra, rb) == 0;
}

static int ends_with(const char *s, const char *tail)
{
    size_t ls = strlen(s), lt = strlen(tail);

    return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

/* A valid rest around the line under test, which is always line 6. */
#define SRV(x) "[app:a]\nwsgi = app.py\nmount = /\n" \
               "[server]\nscgi = 127.0.0.1:9000\n" x "\n"
#define APP(x) "[server]\nscgi = 127.0.0.1:9000\n" \
               "[app:a]\nwsgi = app.py\nmount = /\n" x "\n"
#define A10 "aaaaaaaaaa"

typedef struct {
    const char *text;
    int line;
    const char *want;    /* substring of the one error expected */
} err_case_t;

/* Each case must give exactly one error, at line, containing want. */
static void run_cases(const err_case_t *cases, size_t n)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        sw_errors_t errs = {0};
        sw_config_t *cfg = load_text("case.ini", cases[i].text, &errs, path,
                                     sizeof path);

        cr_expect_null(cfg, "case %zu should fail:\n%s", i, cases[i].text);
        cr_expect(errs.lines.n == 1 &&
                  error_is(&errs, 0, path, cases[i].line, cases[i].want),
                  "case %zu: want one error \"%s:%d: ...%s...\", got:%s\n"
                  "for:\n%s", i, path, cases[i].line, cases[i].want,
                  joined(&errs), cases[i].text);
        sw_config_free(cfg);
        sw_errors_free(&errs);
    }
}

/* Each case must load. */
static void run_ok(const char *const *texts, size_t n)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        sw_errors_t errs = {0};
        sw_config_t *cfg = load_text("ok.ini", texts[i], &errs, path,
                                     sizeof path);

        cr_expect_not_null(cfg, "case %zu should load, got:%s\nfor:\n%s", i,
                           joined(&errs), texts[i]);
        sw_config_free(cfg);
        sw_errors_free(&errs);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- good files ------------------------------------------------------------- */

Test(config, good_file_values)
{
    char path[PATH_MAX], want[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    sw_app_config_t *a;

    data_path("good.ini", path, sizeof path);
    cfg = sw_config_load(path, &errs);
    cr_assert_not_null(cfg, "good.ini:%s", joined(&errs));
    cr_expect_eq(errs.lines.n, 0);

    cr_expect_str_eq(cfg->file, path);
    cr_assert_eq(cfg->scgi.n, 2);
    cr_expect_str_eq(cfg->scgi.items[0], "127.0.0.1:9000");
    cr_expect_str_eq(cfg->scgi.items[1], "unix:/run/subwsgi/shared.sock");
    cr_expect_str_eq(cfg->admin, "127.0.0.1:9001");
    cr_expect_eq(cfg->socket_mode, 0640);
    cr_expect_eq(cfg->queue_size, 64);
    cr_expect(cfg->request_timeout == 0);
    cr_expect(cfg->header_timeout == 2.5);
    cr_expect_eq(cfg->max_header_size, 8192);
    cr_expect_eq(cfg->max_body_size, 1048576);
    cr_expect(cfg->drain_timeout == 5);
    cr_expect_str_eq(cfg->access_log, "off");
    cr_expect(cfg->error_log[0] == '/' &&
              ends_with(cfg->error_log, "/data/config/logs/error.log"),
              "error_log %s", cfg->error_log);
    cr_expect_str_eq(cfg->pid_file, "/run/subwsgi.pid");
    cr_expect_str_eq(cfg->user, "root");
    cr_assert_eq(cfg->preload.n, 3);
    cr_expect_str_eq(cfg->preload.items[0], "json");
    cr_expect_str_eq(cfg->preload.items[1], "os.path");
    cr_expect_str_eq(cfg->preload.items[2], "email.mime.text");

    cr_assert_eq(cfg->n_apps, 3);
    a = &cfg->apps[0];
    cr_expect_str_eq(a->name, "blog");
    cr_expect_eq(a->line, 22);
    cr_expect_str_eq(a->wsgi, "app.py:app");
    data_path("app.py", want, sizeof want);
    cr_expect(a->wsgi_file[0] == '/' && same_file(a->wsgi_file, want),
              "wsgi_file %s", a->wsgi_file);
    cr_expect_null(a->wsgi_module);
    cr_expect_str_eq(a->callable, "app");
    cr_assert_eq(a->python_path.n, 3);
    cr_expect(a->python_path.items[0][0] == '/' &&
              ends_with(a->python_path.items[0], "/data/config/lib"));
    cr_expect_str_eq(a->python_path.items[1], "/opt/shared");
    cr_expect(ends_with(a->python_path.items[2], "/data/config/vendor"));
    data_path("venv", want, sizeof want);
    cr_expect(a->venv != NULL && same_file(a->venv, want));
    cr_assert_eq(a->n_mounts, 2);
    cr_expect_str_eq(a->mounts[0].host, "example.com");
    cr_expect_str_eq(a->mounts[0].prefix, "/blog");
    cr_expect_null(a->mounts[1].host);
    cr_expect_str_eq(a->mounts[1].prefix, "/blog");
    cr_expect_eq(a->scgi.n, 0);
    cr_expect_eq(a->isolation, SW_ISOLATION_SHARED_GIL);
    cr_expect_eq(a->interpreters, 2);
    cr_expect_eq(a->threads, 4);
    cr_assert_eq(a->environ.n, 2);
    cr_expect_str_eq(a->environ.items[0], "APP_MODE=production");
    cr_expect_str_eq(a->environ.items[1], "EMPTY=");

    a = &cfg->apps[1];
    cr_expect_str_eq(a->name, "api");
    cr_expect_null(a->wsgi_file);
    cr_expect_str_eq(a->wsgi_module, "api.server");
    cr_expect_str_eq(a->callable, "make_app");
    cr_assert_eq(a->n_mounts, 1);
    cr_expect_str_eq(a->mounts[0].host, "api.example.com");
    cr_expect_str_eq(a->mounts[0].prefix, "");
    cr_assert_eq(a->scgi.n, 1);
    cr_expect_str_eq(a->scgi.items[0], "unix:/run/subwsgi/api.sock");
    cr_expect_eq(a->isolation, SW_ISOLATION_AUTO);
    cr_expect_eq(a->interpreters, 1);
    cr_expect_eq(a->threads, 1);
    cr_expect_null(a->venv);

    a = &cfg->apps[2];
    cr_expect_str_eq(a->name, "root-site.v2");
    cr_expect_str_eq(a->callable, "application");
    data_path("app.py", want, sizeof want);
    cr_expect(same_file(a->wsgi_file, want));
    cr_expect(strstr(a->wsgi_file, "/./") == NULL, "%s", a->wsgi_file);
    cr_expect_null(a->mounts[0].host);
    cr_expect_str_eq(a->mounts[0].prefix, "");

    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, defaults)
{
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg = load_text("min.ini", APP(""), &errs, path, sizeof path);
    sw_app_config_t *a;

    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_null(cfg->admin);
    cr_expect_eq(cfg->socket_mode, 0660);
    cr_expect_eq(cfg->queue_size, 1024);
    cr_expect(cfg->request_timeout == 60);
    cr_expect(cfg->header_timeout == 10);
    cr_expect_eq(cfg->max_header_size, 65536);
    cr_expect_eq(cfg->max_body_size, 104857600);
    cr_expect(cfg->drain_timeout == 30);
    cr_expect_str_eq(cfg->access_log, "stderr");
    cr_expect_str_eq(cfg->error_log, "stderr");
    cr_expect_null(cfg->pid_file);
    cr_expect_null(cfg->user);
    cr_expect_eq(cfg->preload.n, 0);
    cr_assert_eq(cfg->n_apps, 1);
    a = &cfg->apps[0];
    cr_expect_str_eq(a->name, "a");
    cr_expect_eq(a->line, 3);
    cr_expect_str_eq(a->callable, "application");
    cr_expect_eq(a->isolation, SW_ISOLATION_AUTO);
    cr_expect_eq(a->interpreters, 1);
    cr_expect_eq(a->threads, 1);
    cr_expect_eq(a->python_path.n, 0);
    cr_expect_null(a->venv);
    cr_expect_eq(a->environ.n, 0);
    cr_expect_eq(a->scgi.n, 0);
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

/* ---- errors: "FILE:LINE: [section] key: message" ------------------------- */

Test(config, server_value_errors)
{
    static const err_case_t cases[] = {
        {SRV("scgi = nohost"), 6, "[server] scgi: expected HOST:PORT"},
        {SRV("scgi = 127.0.0.1:0"), 6, "[server] scgi: port must be"},
        {SRV("scgi = 127.0.0.1:65536"), 6, "[server] scgi: port must be"},
        {SRV("scgi = localhost:http"), 6, "[server] scgi: port must be"},
        {SRV("scgi = :9000"), 6, "[server] scgi: expected HOST:PORT"},
        {SRV("scgi = unix:relative.sock"), 6, "[server] scgi: a unix socket "
         "path must be absolute"},
        {SRV("scgi = unix:/" A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10), 6,
         "[server] scgi: unix socket path is 111 bytes long"},
        {SRV("scgi = ::1:9000"), 6, "[server] scgi: an IPv6 address needs "
         "brackets"},
        {SRV("scgi = [::g]:9000"), 6, "[server] scgi: bad IPv6 address"},
        {SRV("scgi = [::1]9000"), 6, "[server] scgi: expected [IPV6]:PORT"},
        {SRV("scgi = 300.1.1.1:80"), 6, "[server] scgi: bad IPv4 address"},
        {SRV("scgi = ex ample:80"), 6, "[server] scgi: bad host name"},
        {SRV("scgi = 127.0.0.1:9000"), 6, "[server] scgi: \"127.0.0.1:9000\" "
         "is listed twice"},
        {SRV("admin = nope"), 6, "[server] admin: expected HOST:PORT"},
        {SRV("admin = 127.0.0.1:9000"), 6, "[server] admin: \"127.0.0.1:9000\""
         " is also an scgi listener"},
        {SRV("socket-mode = 0999"), 6, "[server] socket-mode: must be an "
         "octal mode"},
        {SRV("socket-mode = 01000"), 6, "[server] socket-mode: must be an "
         "octal mode"},
        {SRV("socket-mode = rw"), 6, "[server] socket-mode: must be an octal"},
        {SRV("queue-size = 0"), 6, "[server] queue-size: must be an integer "
         "between 1 and 1000000, got \"0\""},
        {SRV("queue-size = 1000001"), 6, "[server] queue-size: must be an "
         "integer between 1 and 1000000"},
        {SRV("queue-size = 12x"), 6, "[server] queue-size: must be an "
         "integer"},
        {SRV("queue-size = 99999999999999999999999"), 6, "[server] "
         "queue-size: must be an integer"},
        {SRV("request-timeout = -1"), 6, "[server] request-timeout: must be "
         "a number of seconds"},
        {SRV("header-timeout = 0"), 6, "[server] header-timeout: must be a "
         "number of seconds greater than 0"},
        {SRV("header-timeout = inf"), 6, "[server] header-timeout: must be"},
        {SRV("header-timeout = 1e3"), 6, "[server] header-timeout: must be"},
        {SRV("max-header-size = 255"), 6, "[server] max-header-size: must be "
         "a size in bytes between 256 and 16777216"},
        {SRV("max-header-size = 16777217"), 6, "[server] max-header-size: "
         "must be a size in bytes"},
        {SRV("max-body-size = -1"), 6, "[server] max-body-size: must be a "
         "size in bytes"},
        {SRV("max-body-size = 10M"), 6, "[server] max-body-size: must be a "
         "size in bytes"},
        {SRV("drain-timeout = 1.2.3"), 6, "[server] drain-timeout: must be a "
         "number of seconds from 0"},
        {SRV("drain-timeout = ."), 6, "[server] drain-timeout: must be"},
        {SRV("error-log = off"), 6, "[server] error-log: must be stderr or "
         "a path"},
        {SRV("pid-file ="), 6, "[server] pid-file: empty value"},
        {SRV("preload = json, 2bad"), 6, "[server] preload: \"2bad\" is not "
         "a Python module name"},
        {SRV("preload = a,,b"), 6, "[server] preload: \"\" is not a Python "
         "module name"},
        {SRV("preload = a..b"), 6, "[server] preload: \"a..b\" is not"},
        {SRV("user = no-such-user-sw-test"), 6, "[server] user: no such user "
         "\"no-such-user-sw-test\""},
    };

    run_cases(cases, N(cases));
}

Test(config, app_value_errors)
{
    static const err_case_t cases[] = {
        {APP("wsgi = app.py"), 6, "[app:a] wsgi: given twice (first on line "
         "4)"},
        {APP("python-path = a::b"), 6, "[app:a] python-path: empty element"},
        {APP("python-path = a:"), 6, "[app:a] python-path: empty element"},
        {APP("venv = app.py"), 6, "[app:a] venv: \""},
        {APP("venv = app.py"), 6, "/app.py\" is not a directory"},
        {APP("venv = nowhere"), 6, "[app:a] venv: cannot access \""},
        {APP("mount = example.com:8080/x"), 6, "[app:a] mount: a port in the "
         "host is not supported"},
        {APP("mount = /a//b"), 6, "[app:a] mount: empty, '.' or '..' path "
         "segment"},
        {APP("mount = /a/../b"), 6, "[app:a] mount: empty, '.' or '..'"},
        {APP("mount = /a/./b"), 6, "[app:a] mount: empty, '.' or '..'"},
        {APP("mount = /a b"), 6, "[app:a] mount: space, control character"},
        {APP("mount = /a?b"), 6, "[app:a] mount: space, control character"},
        {APP("mount = ex!ample.com/"), 6, "[app:a] mount: bad host name"},
        {APP("mount = /"), 6, "[app:a] mount: \"/\" is listed twice"},
        {APP("mount = //"), 6, "[app:a] mount: \"//\" is listed twice"},
        {APP("scgi = 127.0.0.1"), 6, "[app:a] scgi: expected HOST:PORT"},
        {APP("isolation = bogus"), 6, "[app:a] isolation: must be one of "
         "auto, own-gil, shared-gil, main; got \"bogus\""},
        {APP("interpreters = x"), 6, "[app:a] interpreters: must be an "
         "integer between 1 and 256, got \"x\""},
        {APP("interpreters = 0"), 6, "[app:a] interpreters: must be an "
         "integer between 1 and 256, got \"0\""},
        {APP("interpreters = 257"), 6, "[app:a] interpreters: must be an "
         "integer between 1 and 256"},
        {APP("threads = 1025"), 6, "[app:a] threads: must be an integer "
         "between 1 and 1024"},
        {APP("threads = -1"), 6, "[app:a] threads: must be an integer"},
        {APP("watch = maybe"), 6, "[app:a] watch: must be yes or no"},
        {APP("idle-timeout = soon"), 6, "[app:a] idle-timeout: must be a "
         "number of seconds"},
        {APP("environ = NOEQ"), 6, "[app:a] environ: must be KEY=VALUE"},
        {APP("environ = =v"), 6, "[app:a] environ: empty KEY"},
        {APP("environ = A B=1"), 6, "[app:a] environ: KEY must not contain "
         "whitespace"},
        {APP("environ = A=1\nenviron = A = 2"), 7, "[app:a] environ: A is "
         "set twice"},
        {APP("reload = sometimes"), 6, "[app:a] reload: must be one of auto, "
         "interpreter, process"},
        {APP("threads = 2\nthreads = 3"), 7, "[app:a] threads: given twice "
         "(first on line 6)"},
    };

    run_cases(cases, N(cases));
}

Test(config, wsgi_errors)
{
    static const err_case_t cases[] = {
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = missing.py\n", 5, "[app:w] wsgi: cannot read \""},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = missing.py:app\n", 5, "/missing.py\": No such file or "
         "directory"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = dir.py\n", 5, "[app:w] wsgi: \""},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = dir.py\n", 5, "/dir.py\" is not a regular file"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = some/where\n", 5, "[app:w] wsgi: must be PATH.py[:callable]"
         " or module.path[:callable], got \"some/where\""},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = app.py:\n", 5, "[app:w] wsgi: callable must be a Python "
         "identifier"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = pkg.mod:1app\n", 5, "[app:w] wsgi: callable must be"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi = pkg..mod:app\n", 5, "[app:w] wsgi: must be PATH.py"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:w]\nmount = /\n"
         "wsgi =\n", 5, "[app:w] wsgi: empty value"},
    };

    run_cases(cases, N(cases));
}

Test(config, unknown_keys_and_sections)
{
    static const err_case_t cases[] = {
        {SRV("colour = blue"), 6, "[server] colour: unknown key"},
        {APP("colour = blue"), 6, "[app:a] colour: unknown key"},
        {APP("queue-size = 4"), 6, "[app:a] queue-size: unknown key here (it "
         "belongs in [server])"},
        {SRV("threads = 4"), 6, "[server] threads: unknown key here (it "
         "belongs in [app:NAME])"},
        {SRV("Queue-Size = 4"), 6, "[server] Queue-Size: unknown key"},
        {APP("[extra]\nfoo = 1"), 6, "[extra]: unknown section"},
        {APP("[server:x]"), 6, "[server:x]: unknown section"},
        {APP("[app:]\nwsgi = app.py"), 6, "[app:]: invalid app name"},
        {APP("[app:a b]"), 6, "[app:a b]: invalid app name: NAME must match "
         "[A-Za-z0-9_.-]+"},
        {APP("[app:a/b]"), 6, "[app:a/b]: invalid app name"},
        {APP("[user:alice]\ntoken-sha256 = 00\nrole = admin"), 7,
         "[user:alice] token-sha256: must be 64 hex digits"},
        {APP("[user:alice]\ntoken-sha256 = " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nrole = root"), 8, "[user:alice] role: must be one of user, admin"},
        {APP("[user:al ice]\nrole = user"), 6, "[user:al ice]: invalid user name"},
        {APP("owner = nobody"), 6, "[app:a] owner: no [user:nobody] section"},
        {APP("[user:bob]\nrole = user"), 6, "[user:bob] token-sha256: required key is missing"},
        {"scgi = 127.0.0.1:9000\n" APP(""), 1, "scgi: key outside of any "
         "section"},
    };

    run_cases(cases, N(cases));
}

Test(config, syntax_errors)
{
    static const err_case_t cases[] = {
        {APP("[server"), 6, "section header without a closing ']'"},
        {APP("[app:b] junk"), 6, "unexpected text after the section header"},
        {APP("this line has no equals sign"), 6, "expected \"key = value\" "
         "or \"[section]\""},
        {APP("threads ; = 4"), 6, "expected \"key = value\""},
        {APP("= 4"), 6, "missing key name before '='"},
        {APP("[app:a]\nwsgi = app.py"), 6, "[app:a]: duplicate section (first "
         "on line 3)"},
        {SRV("[server]\nscgi = 127.0.0.1:9001"), 6, "[server]: duplicate "
         "section (first on line 4)"},
    };

    run_cases(cases, N(cases));
}

Test(config, missing_required)
{
    static const err_case_t cases[] = {
        /* an app without wsgi: reported at its header */
        {"[server]\nscgi = 127.0.0.1:9000\n\n[app:x]\nmount = /\n", 4,
         "[app:x] wsgi: required key is missing"},
        /* without mount or scgi */
        {"[server]\nscgi = 127.0.0.1:9000\n[app:x]\nwsgi = app.py\n", 3,
         "[app:x] mount: missing"},
        /* no listener at all, with and without a [server] section */
        {"[app:x]\nwsgi = app.py\nmount = /\n", 0, "scgi: no SCGI listener"},
        {"[server]\nqueue-size = 4\n[app:x]\nwsgi = app.py\nmount = /\n", 1,
         "[server] scgi: no SCGI listener"},
        /* a mount with nothing shared to mount on */
        {"[app:x]\nwsgi = app.py\nscgi = unix:/run/x.sock\n"
         "[app:y]\nwsgi = app.py\nmount = /y\n", 6, "[app:y] mount: no "
         "[server] scgi listener to mount on"},
        /* no app at all */
        {"[server]\nscgi = 127.0.0.1:9000\n", 0, "no [app:NAME] section"},
        {"", 0, "no [app:NAME] section"},
        /* a bad value is reported once, not also as missing */
        {"[server]\nscgi = 127.0.0.1:9000\n[app:x]\nwsgi = nope.py\n"
         "mount = /x\n", 4, "[app:x] wsgi: cannot read"},
        {"[server]\nscgi = 127.0.0.1:9000\n[app:x]\nwsgi = app.py\n"
         "mount = a:1/x\n", 5, "[app:x] mount: a port in the host"},
        /* ... nor as a conflict: a rejected mount is not a root mount */
        {APP("[app:b]\nwsgi = app.py\nmount = a:1/x"), 8, "[app:b] mount: a "
         "port in the host"},
        {APP("[app:b]\nwsgi = app.py\nscgi = nope"), 8, "[app:b] scgi: "
         "expected HOST:PORT"},
    };

    run_cases(cases, N(cases));
}

Test(config, listener_and_mount_conflicts)
{
    static const err_case_t cases[] = {
        /* two apps on the shared listeners with the same mount */
        {APP("[app:b]\nwsgi = app.py\nmount = /"), 8, "[app:b] mount: \"/\" "
         "on the same listener is already mounted by [app:a] (line 5)"},
        /* after normalisation: host lowercased, trailing slashes removed */
        {"[server]\nscgi = 127.0.0.1:9000\n[app:a]\nwsgi = app.py\n"
         "mount = Example.com/x\n[app:b]\nwsgi = app.py\nmount = /y\n"
         "mount = example.COM/x/\n", 9, "[app:b] mount: \"example.com/x\" on "
         "the same listener is already mounted by [app:a] (line 5)"},
        /* two apps sharing a private listener, both at its root */
        {"[server]\nscgi = 127.0.0.1:9000\n[app:a]\nwsgi = app.py\n"
         "scgi = unix:/run/s.sock\n[app:b]\nwsgi = app.py\n"
         "scgi = unix:/run/s.sock\n", 6, "[app:b] mount: \"/\" on the same "
         "listener is already mounted by [app:a] (line 3)"},
        /* a private listener that is also a shared one */
        {APP("[app:b]\nwsgi = app.py\nscgi = 127.0.0.1:9000"), 8,
         "[app:b] scgi: \"127.0.0.1:9000\" is already a [server] scgi "
         "listener (line 2)"},
        {APP("scgi = unix:/run/a.sock\nscgi = unix:/run/a.sock"), 7,
         "[app:a] scgi: \"unix:/run/a.sock\" is listed twice"},
    };
    static const char *const ok[] = {
        /* same mount, different listeners */
        APP("[app:b]\nwsgi = app.py\nmount = /\nscgi = unix:/run/b.sock"),
        /* same prefix, different hosts; a host and no host differ */
        APP("[app:b]\nwsgi = app.py\nmount = example.com"),
        APP("[app:b]\nwsgi = app.py\nmount = example.com/\n"
            "[app:c]\nwsgi = app.py\nmount = example.org"),
        /* nested prefixes are distinct mounts */
        APP("[app:b]\nwsgi = app.py\nmount = /b\n"
            "[app:c]\nwsgi = app.py\nmount = /b/c"),
        /* an app with only a private listener serves its root */
        "[app:a]\nwsgi = app.py\nscgi = 127.0.0.1:9100\n",
    };

    run_cases(cases, N(cases));
    run_ok(ok, N(ok));
}

/* ---- values that ask for nothing ----------------------------------------- */

Test(config, values_asking_for_nothing_are_accepted)
{
    static const char *const ok[] = {
        SRV("request-timeout = 0"),
        SRV("request-timeout = 0.0"),
        SRV("admin = off"),
        SRV("access-log = off"),
        APP("watch = no"),
        APP("watch = off"),
        APP("watch = False"),
        APP("watch = 0"),
        APP("idle-timeout = 0"),
        APP("isolation = auto"),
        APP("isolation = shared-gil"),
        APP("reload = auto"),
    };

    run_ok(ok, N(ok));
}

Test(config, value_forms)
{
    static const char *const ok[] = {
        SRV("scgi = [::1]:9001"),
        SRV("scgi = localhost:9001"),
        SRV("scgi = unix:/run/subwsgi/a.sock"),
        SRV("scgi = 0.0.0.0:65535"),
        SRV("admin = [::1]:9001"),
        SRV("admin = unix:/run/subwsgi/admin.sock"),
        SRV("socket-mode = 600"),
        SRV("socket-mode = 0777"),
        SRV("header-timeout = 0.25"),
        SRV("max-header-size = 256"),
        SRV("max-header-size = 16777216"),
        SRV("max-body-size = 0"),
        SRV("drain-timeout = 0"),
        SRV("access-log = stderr"),
        SRV("access-log = /var/log/subwsgi/access.log"),
        SRV("error-log = relative.log"),
        SRV("preload = _private , a.b.c,d"),
        APP("interpreters = 256\nthreads = 1024"),
        APP("environ = URL=http://x/?a=b;c"),
        APP("python-path = /a : b :/c"),
        APP("venv = venv/"),
    };

    run_ok(ok, N(ok));
}

/* ---- several errors, lines and parsing details ------------------------------ */

Test(config, bad_file_reports_every_error)
{
    static const struct {
        int line;
        const char *want;
    } want[] = {
        {4, "[server] scgi: port must be a number from 1 to 65535"},
        {5, "[server] queue-size: must be an integer between 1 and 1000000, "
            "got \"lots\""},
        {6, "[server] load-timeout: must be"},
        {7, "[server] colour: unknown key"},
        {11, "[app:blog] mount: a port in the host is not supported"},
        {12, "[app:blog] interpreters: must be an integer between 1 and 256, "
             "got \"x\""},
        {13, "[app:blog] isolation: must be one of auto, own-gil, shared-gil, "
             "main; got \"turbo\""},
        {14, "[app:blog] watch: must be yes or no"},
        {15, "expected \"key = value\""},
        {17, "[app:blog]: duplicate section (first on line 9)"},
        {21, "[user:alice] token-sha256: must be 64 hex digits"},
        {23, "[app:nowsgi] wsgi: required key is missing"},
    };
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;

    data_path("bad.ini", path, sizeof path);
    cfg = sw_config_load(path, &errs);
    cr_expect_null(cfg);
    cr_expect_eq(errs.lines.n, N(want), "got:%s", joined(&errs));
    for (size_t i = 0; i < N(want); i++)
        cr_expect(error_is(&errs, i, path, want[i].line, want[i].want),
                  "error %zu: want \"%s:%d: ...%s...\", got:%s", i, path,
                  want[i].line, want[i].want, joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, errors_are_appended_to_existing_ones)
{
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;

    sw_errors_add(&errs, "earlier: %d", 1);
    cfg = load_text("two.ini", SRV("queue-size = 0\nbogus = 1"), &errs, path,
                    sizeof path);
    cr_expect_null(cfg);
    cr_assert_eq(errs.lines.n, 3, "%s", joined(&errs));
    cr_expect_str_eq(errs.lines.items[0], "earlier: 1");
    cr_expect(error_is(&errs, 1, path, 6, "queue-size"));
    cr_expect(error_is(&errs, 2, path, 7, "bogus: unknown key"));
    sw_config_free(cfg);
    sw_errors_free(&errs);

    /* a NULL error list still fails the load */
    cr_expect_null(load_text("two.ini", SRV("queue-size = 0"), NULL, path,
                             sizeof path));
}

Test(config, missing_file)
{
    char path[PATH_MAX];
    sw_errors_t errs = {0};

    snprintf(path, sizeof path, "%s/none.ini", tmp);
    cr_expect_null(sw_config_load(path, &errs));
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, path, 0, "cannot open: No such file"),
              "%s", joined(&errs));
    sw_errors_free(&errs);

    cr_expect_null(sw_config_load(tmp, &errs));   /* a directory */
    cr_expect(errs.lines.n == 1 && error_is(&errs, 0, tmp, 0, "cannot read"),
              "%s", joined(&errs));
    sw_errors_free(&errs);
}

Test(config, line_numbers_with_comments_crlf_bom_and_indent)
{
    static const err_case_t cases[] = {
        /* comments and blank lines count */
        {"; comment\n# comment\n\n" APP("threads = x"), 9, "[app:a] threads"},
        /* CRLF line ends and a UTF-8 BOM */
        {"\xEF\xBB\xBF[server]\r\nscgi = 127.0.0.1:9000\r\n[app:a]\r\n"
         "wsgi = app.py\r\nmount = /\r\n\r\nthreads = x\r\n", 7,
         "[app:a] threads: must be an integer between 1 and 1024, got \"x\""},
        /* an indented key is a key, not a continuation of the one above */
        {APP("  environ = A=1\n    threads = x"), 7, "[app:a] threads: must "
         "be an integer"},
        /* an inline comment needs whitespace before ';' */
        {APP("threads = 2;3"), 6, "got \"2;3\""},
    };
    static const char *const ok[] = {
        APP("   threads = 2   ; two\n\t interpreters=3 # not a comment;x"
            "\n"),
    };
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;

    run_cases(cases, N(cases));

    /* ';' after whitespace starts a comment; '#' only at the line start,
     * so the second value is bad on purpose */
    cfg = load_text("c.ini", ok[0], &errs, path, sizeof path);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, path, 7, "[app:a] interpreters: must be an "
                       "integer between 1 and 256, got \"3 # not a comment;x\""),
              "%s", joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);

    cfg = load_text("c.ini", APP("  threads = 2 ; two\n\n  ; indented "
                                 "comment\n\tinterpreters = 3"),
                    &errs, path, sizeof path);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_eq(cfg->apps[0].threads, 2);
    cr_expect_eq(cfg->apps[0].interpreters, 3);
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, repeated_keys_each_count)
{
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg = load_text("r.ini",
        "[server]\nscgi = 127.0.0.1:9000\nscgi = 127.0.0.1:9001\n"
        "scgi = unix:/run/x.sock\npreload = a\npreload = b, c\n"
        "[app:a]\nwsgi = app.py\nmount = /a\nmount = /b\nmount = c.example\n"
        "environ = X=1\nenviron = Y=2\nenviron = Z=\n"
        "python-path = /p1:/p2\npython-path = /p3\n"
        "scgi = 127.0.0.1:9100\nscgi = 127.0.0.1:9101\n",
        &errs, path, sizeof path);
    sw_app_config_t *a;

    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_eq(cfg->scgi.n, 3);
    cr_expect_eq(cfg->preload.n, 3);
    cr_expect_str_eq(cfg->preload.items[2], "c");
    a = &cfg->apps[0];
    cr_expect_eq(a->n_mounts, 3);
    cr_expect_eq(a->environ.n, 3);
    cr_expect_eq(a->python_path.n, 3);
    cr_expect_str_eq(a->python_path.items[1], "/p2");
    cr_expect_eq(a->scgi.n, 2);
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, long_lines)
{
    char text[1024], val[256], path[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    const char *head = "[server]\nscgi = 127.0.0.1:9000\n[app:a]\n"
                       "wsgi = app.py\nmount = /\n";

    /* "environ = X=" is 12 bytes: a 198-byte line is the longest that
     * libinih (200-byte buffer in Debian) reads whole */
    memset(val, 'v', 186);
    val[186] = '\0';
    snprintf(text, sizeof text, "%senviron = X=%s\n", head, val);
    cfg = load_text("l.ini", text, &errs, path, sizeof path);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_eq(strlen(cfg->apps[0].environ.items[0]), 188);
    sw_config_free(cfg);

    val[186] = 'v';
    val[187] = '\0';
    snprintf(text, sizeof text, "%senviron = X=%s\nthreads = 2\n", head, val);
    cfg = load_text("l.ini", text, &errs, path, sizeof path);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, path, 6, "line is longer than 198"),
              "%s", joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

/* ---- mounts and wsgi forms ---------------------------------------------------- */

Test(config, mount_normalisation)
{
    static const struct {
        const char *in;
        const char *host;    /* NULL: any host */
        const char *prefix;
    } cases[] = {
        {"/", NULL, ""},
        {"///", NULL, ""},
        {"/blog", NULL, "/blog"},
        {"/blog/", NULL, "/blog"},
        {"/blog///", NULL, "/blog"},
        {"/a/b/c/", NULL, "/a/b/c"},
        {"example.com", "example.com", ""},
        {"Example.COM/", "example.com", ""},
        {"example.com/Blog/", "example.com", "/Blog"},
        {"localhost/x", "localhost", "/x"},
        {"my_host-1.example/a.b", "my_host-1.example", "/a.b"},
    };
    char text[512], path[PATH_MAX];

    for (size_t i = 0; i < N(cases); i++) {
        sw_errors_t errs = {0};
        sw_config_t *cfg;
        sw_mount_t *m;

        snprintf(text, sizeof text, "[server]\nscgi = 127.0.0.1:9000\n"
                 "[app:a]\nwsgi = app.py\nmount = %s\n", cases[i].in);
        cfg = load_text("m.ini", text, &errs, path, sizeof path);
        cr_assert_not_null(cfg, "%s:%s", cases[i].in, joined(&errs));
        cr_assert_eq(cfg->apps[0].n_mounts, 1);
        m = &cfg->apps[0].mounts[0];
        if (cases[i].host == NULL)
            cr_expect_null(m->host, "%s: host %s", cases[i].in, m->host);
        else
            cr_expect(m->host != NULL && strcmp(m->host, cases[i].host) == 0,
                      "%s: host %s", cases[i].in, m->host);
        cr_expect_str_eq(m->prefix, cases[i].prefix, "%s: prefix \"%s\"",
                         cases[i].in, m->prefix);
        sw_config_free(cfg);
        sw_errors_free(&errs);
    }
}

Test(config, wsgi_forms)
{
    static const struct {
        const char *in;
        int is_file;         /* else module */
        const char *what;    /* file name under tmp, or the module */
        const char *callable;
    } cases[] = {
        {"app.py", 1, "/app.py", "application"},
        {"app.py:app", 1, "/app.py", "app"},
        {"./app.py:create_app", 1, "/app.py", "create_app"},
        {"venv/../app.py", 1, "/venv/../app.py", "application"},
        {"TMP/app.py:_x", 1, "/app.py", "_x"},
        {"pkg.mod:app", 0, "pkg.mod", "app"},
        {"pkg.mod", 0, "pkg.mod", "application"},
        {"wsgi", 0, "wsgi", "application"},
        {"_a.b2.c:App2", 0, "_a.b2.c", "App2"},
    };
    char text[PATH_MAX + 256], in[PATH_MAX + 64], path[PATH_MAX];

    for (size_t i = 0; i < N(cases); i++) {
        sw_errors_t errs = {0};
        sw_config_t *cfg;
        sw_app_config_t *a;

        if (strncmp(cases[i].in, "TMP", 3) == 0)
            snprintf(in, sizeof in, "%s%s", tmp, cases[i].in + 3);
        else
            snprintf(in, sizeof in, "%s", cases[i].in);
        snprintf(text, sizeof text, "[server]\nscgi = 127.0.0.1:9000\n"
                 "[app:a]\nmount = /\nwsgi = %s\n", in);
        cfg = load_text("w.ini", text, &errs, path, sizeof path);
        cr_assert_not_null(cfg, "%s:%s", in, joined(&errs));
        a = &cfg->apps[0];
        cr_expect_str_eq(a->wsgi, in);
        cr_expect_str_eq(a->callable, cases[i].callable, "%s", in);
        if (cases[i].is_file) {
            char want[PATH_MAX];

            snprintf(want, sizeof want, "%s%s", tmp, cases[i].what);
            cr_expect(a->wsgi_file != NULL && a->wsgi_file[0] == '/' &&
                      ends_with(a->wsgi_file, cases[i].what) &&
                      same_file(a->wsgi_file, want), "%s: file %s", in,
                      a->wsgi_file);
            cr_expect_null(a->wsgi_module, "%s", in);
        } else {
            cr_expect_null(a->wsgi_file, "%s", in);
            cr_expect(a->wsgi_module != NULL &&
                      strcmp(a->wsgi_module, cases[i].what) == 0, "%s: %s",
                      in, a->wsgi_module);
        }
        sw_config_free(cfg);
        sw_errors_free(&errs);
    }
}

Test(config, relative_config_path)
{
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    char want[PATH_MAX];

    write_file(tmp, "rel.ini", APP("python-path = lib"));
    cr_assert_eq(chdir(tmp), 0);
    cfg = sw_config_load("rel.ini", &errs);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    snprintf(want, sizeof want, "%s/app.py", tmp);
    cr_expect(cfg->apps[0].wsgi_file[0] == '/' &&
              same_file(cfg->apps[0].wsgi_file, want), "%s",
              cfg->apps[0].wsgi_file);
    cr_expect(cfg->apps[0].python_path.items[0][0] == '/' &&
              ends_with(cfg->apps[0].python_path.items[0], "/lib"));
    sw_config_free(cfg);

    cfg = load_text("e.ini", SRV("bogus = 1"), &errs, want, sizeof want);
    cr_expect_null(cfg);
    sw_errors_free(&errs);
    cfg = sw_config_load("e.ini", &errs);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, "e.ini", 6, "[server] bogus: unknown key"),
              "messages use the path as given:%s", joined(&errs));
    sw_errors_free(&errs);
}

/* ---- quick mode ----------------------------------------------------------------- */

Test(config, quick_mode_good)
{
    char spec[PATH_MAX], want[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    sw_app_config_t *a;

    snprintf(spec, sizeof spec, "%s/app.py:app", tmp);
    cfg = sw_config_quick(spec, "127.0.0.1:9000", "127.0.0.1:9001", 0, 0,
                          NULL, 0, &errs);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_str_eq(cfg->file, "(command line)");
    cr_assert_eq(cfg->scgi.n, 1);
    cr_expect_str_eq(cfg->scgi.items[0], "127.0.0.1:9000");
    cr_expect_str_eq(cfg->admin, "127.0.0.1:9001");
    cr_expect_eq(cfg->queue_size, 1024);
    cr_expect_eq(cfg->socket_mode, 0660);
    cr_expect_str_eq(cfg->access_log, "stderr");
    cr_assert_eq(cfg->n_apps, 1);
    a = &cfg->apps[0];
    cr_expect_str_eq(a->name, "app");
    cr_expect_str_eq(a->wsgi, spec);
    snprintf(want, sizeof want, "%s/app.py", tmp);
    cr_expect(same_file(a->wsgi_file, want));
    cr_expect_null(a->wsgi_module);
    cr_expect_str_eq(a->callable, "app");
    cr_assert_eq(a->n_mounts, 1);
    cr_expect_null(a->mounts[0].host);
    cr_expect_str_eq(a->mounts[0].prefix, "");
    cr_expect_eq(a->scgi.n, 0);
    cr_expect_eq(a->interpreters, 1);
    cr_expect_eq(a->threads, 1);
    cr_expect_eq(a->isolation, SW_ISOLATION_AUTO);
    sw_config_free(cfg);

    /* relative to the current directory; name sanitised; options */
    write_file(tmp, "my site!.py", "application = None\n");
    cr_assert_eq(chdir(tmp), 0);
    cfg = sw_config_quick("my site!.py", "unix:/run/q.sock", NULL, 3, 8,
                          "shared-gil", 0, &errs);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    a = &cfg->apps[0];
    cr_expect_str_eq(a->name, "my_site_");
    cr_expect(a->wsgi_file[0] == '/' && ends_with(a->wsgi_file,
                                                  "/my site!.py"));
    cr_expect_str_eq(a->callable, "application");
    cr_expect_null(cfg->admin);
    cr_expect_eq(a->interpreters, 3);
    cr_expect_eq(a->threads, 8);
    cr_expect_eq(a->isolation, SW_ISOLATION_SHARED_GIL);
    sw_config_free(cfg);

    static const char *const admins[] = {
        "[::1]:9001", "localhost:9001", "127.1.2.3:9001",
        "unix:/run/admin.sock", "off",
    };
    for (size_t i = 0; i < N(admins); i++) {
        cfg = sw_config_quick("app.py", "127.0.0.1:9000", admins[i], -1, -1,
                              "auto", 0, &errs);
        cr_expect_not_null(cfg, "admin %s:%s", admins[i], joined(&errs));
        sw_config_free(cfg);
    }
    cr_expect_eq(errs.lines.n, 0);
    sw_errors_free(&errs);
}

Test(config, quick_mode_errors)
{
    static const struct {
        const char *app, *scgi, *admin;
        int interpreters, threads;
        const char *isolation;
        int watch;
        const char *want;
    } cases[] = {
        {"app.py", NULL, NULL, 0, 0, NULL, 0, "--scgi: required"},
        {"app.py", "127.0.0.1", NULL, 0, 0, NULL, 0, "--scgi: expected "
         "HOST:PORT"},
        {NULL, "127.0.0.1:9000", NULL, 0, 0, NULL, 0, "--app: required"},
        {"missing.py", "127.0.0.1:9000", NULL, 0, 0, NULL, 0, "--app: cannot "
         "read \""},
        {"pkg.mod:app", "127.0.0.1:9000", NULL, 0, 0, NULL, 0, "--app: must "
         "be PATH.py[:CALLABLE], got \"pkg.mod:app\""},
        {"app.py:", "127.0.0.1:9000", NULL, 0, 0, NULL, 0, "--app: callable "
         "must be a Python identifier"},
        {"app.py", "127.0.0.1:9000", "10.0.0.1:9001", 0, 0, NULL, 0,
         "--admin: must be a loopback address"},
        {"app.py", "127.0.0.1:9000", "0.0.0.0:9001", 0, 0, NULL, 0,
         "--admin: must be a loopback address"},
        {"app.py", "127.0.0.1:9000", "[::]:9001", 0, 0, NULL, 0,
         "--admin: must be a loopback address"},
        {"app.py", "127.0.0.1:9000", "127.0.0.1:0", 0, 0, NULL, 0,
         "--admin: port must be"},
        {"app.py", "127.0.0.1:9000", "127.0.0.1:9000", 0, 0, NULL, 0,
         "--admin: same address as --scgi"},
        {"app.py", "127.0.0.1:9000", NULL, 257, 0, NULL, 0, "--interpreters: "
         "must be an integer between 1 and 256, got 257"},
        {"app.py", "127.0.0.1:9000", NULL, 0, 1025, NULL, 0, "--threads: "
         "must be an integer between 1 and 1024"},
        {"app.py", "127.0.0.1:9000", NULL, 0, 0, "fast", 0, "--isolation: "
         "must be one of auto, own-gil, shared-gil, main"},
    };

    cr_assert_eq(chdir(tmp), 0);
    for (size_t i = 0; i < N(cases); i++) {
        sw_errors_t errs = {0};
        sw_config_t *cfg = sw_config_quick(cases[i].app, cases[i].scgi,
                                           cases[i].admin,
                                           cases[i].interpreters,
                                           cases[i].threads,
                                           cases[i].isolation, cases[i].watch,
                                           &errs);

        cr_expect_null(cfg, "case %zu", i);
        cr_expect(errs.lines.n == 1 &&
                  strncmp(errs.lines.items[0], "--", 2) == 0 &&
                  strstr(errs.lines.items[0], cases[i].want) != NULL,
                  "case %zu: want one \"%s\", got:%s", i, cases[i].want,
                  joined(&errs));
        sw_config_free(cfg);
        sw_errors_free(&errs);
    }
}

Test(config, quick_mode_collects_all_errors)
{
    sw_errors_t errs = {0};
    sw_config_t *cfg;

    cr_assert_eq(chdir(tmp), 0);
    cfg = sw_config_quick("nope.py", "bad", "10.1.1.1:1", 999, 9999, "fast",
                          1, &errs);
    cr_expect_null(cfg);
    cr_expect_eq(errs.lines.n, 6, "%s", joined(&errs));
    sw_errors_free(&errs);
}

/* ---- small helpers ------------------------------------------------------------- */

Test(config, isolation_names)
{
    cr_expect_str_eq(sw_isolation_name(SW_ISOLATION_AUTO), "auto");
    cr_expect_str_eq(sw_isolation_name(SW_ISOLATION_OWN_GIL), "own-gil");
    cr_expect_str_eq(sw_isolation_name(SW_ISOLATION_SHARED_GIL),
                     "shared-gil");
    cr_expect_str_eq(sw_isolation_name(SW_ISOLATION_MAIN), "main");
}

Test(config, strv_and_errors)
{
    sw_strv_t v = {0};
    sw_errors_t e = {0};
    char s[] = "abc";

    sw_strv_push(&v, s);
    s[0] = 'x';   /* the list holds a copy */
    sw_strv_push(&v, "");
    cr_assert_eq(v.n, 2);
    cr_expect_str_eq(v.items[0], "abc");
    cr_expect_str_eq(v.items[1], "");
    sw_strv_free(&v);
    cr_expect_eq(v.n, 0);
    cr_expect_null(v.items);
    sw_strv_free(&v);   /* twice is harmless */

    sw_errors_add(&e, "%s:%d: %s", "f.ini", 3, "boom");
    sw_errors_add(NULL, "ignored");
    cr_assert_eq(e.lines.n, 1);
    cr_expect_str_eq(e.lines.items[0], "f.ini:3: boom");
    sw_errors_free(&e);
    sw_errors_free(NULL);
    sw_config_free(NULL);
}

Test(config, issue3_keys_accepted)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/iso.ini", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "[server]\nscgi = 127.0.0.1:9000\nrequest-timeout = 2.5\n"
               "[app:a]\nwsgi = app.py\nmount = /a\nisolation = own-gil\n"
               "env = A=1\nenv = B = two\n"
               "[app:b]\nwsgi = app.py\nmount = /b\nisolation = main\n");
    fclose(f);
    sw_errors_t errs = {0};
    sw_config_t *cfg = sw_config_load(path, &errs);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect(cfg->request_timeout == 2.5);
    cr_expect_eq(cfg->apps[0].isolation, SW_ISOLATION_OWN_GIL);
    cr_expect_eq(cfg->apps[1].isolation, SW_ISOLATION_MAIN);
    cr_assert_eq(cfg->apps[0].env.n, 2);
    cr_expect_str_eq(cfg->apps[0].env.items[0], "A=1");
    cr_expect_str_eq(cfg->apps[0].env.items[1], "B=two");
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, second_main_app_rejected)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/main2.ini", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "[server]\nscgi = 127.0.0.1:9000\n"
               "[app:a]\nwsgi = app.py\nmount = /a\nisolation = main\n"
               "[app:b]\nwsgi = app.py\nmount = /b\nisolation = main\n");
    fclose(f);
    sw_errors_t errs = {0};
    sw_config_t *cfg = sw_config_load(path, &errs);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 && strstr(errs.lines.items[0], ":10: [app:b] isolation: only one app") != NULL,
              "got:%s", joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

/* ---- issue 11: careless configs ---------------------------------------------- */

#define HASH_A "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"
#define HASH_B "7e875e1af05facc87c6a24cde83d270e00e03acf38b117e6778f9ac7d9536d8e"

/* Two users with one token hash: whoever holds the token would be both, and
 * the last one won (a user token acting as an admin). An error naming both
 * lines; case does not hide a duplicate (hex digits are case-insensitive). */
Test(config, token_hash_given_to_two_users_is_an_error)
{
    static const err_case_t cases[] = {
        {APP("[user:alice]\ntoken-sha256 = " HASH_A "\nrole = user\n"     /* 6-8 */
             "[user:mallory]\nrole = admin\ntoken-sha256 = " HASH_A),     /* 9-11 */
         11, "[user:mallory] token-sha256: the same hash as [user:alice] (line 7)"},
        {APP("[user:alice]\ntoken-sha256 = " HASH_A "\n"                  /* 6-7 */
             "[user:bob]\ntoken-sha256 = " HASH_B "\n"                    /* 8-9 */
             "[user:carol]\ntoken-sha256 = 965B04F03A8200D4BFF70F6DF635C1D4"
             "D3E9C9A1D164D415EFC95B9304BFBAF2"),                          /* 10-11 */
         11, "[user:carol] token-sha256: the same hash as [user:alice] (line 7)"},
    };

    run_cases(cases, N(cases));
}

/* DESIGN section 7: "a non-loopback admin address without TLS is a config
 * error". Loopback: 127.0.0.0/8, [::1], localhost; unix sockets are fine. */
Test(config, non_loopback_admin_needs_tls)
{
    static const err_case_t cases[] = {
        {SRV("admin = 0.0.0.0:9001"), 6, "[server] admin: \"0.0.0.0:9001\" is not a "
         "loopback address: it needs admin-tls-cert and admin-tls-key"},
        {SRV("admin = [::]:9001"), 6, "[server] admin: \"[::]:9001\" is not a loopback"},
        {SRV("admin = 192.168.1.10:9001"), 6, "[server] admin: \"192.168.1.10:9001\" is not"},
        {SRV("admin = example.com:9001"), 6, "[server] admin: \"example.com:9001\" is not"},
        {SRV("admin = 128.0.0.1:9001"), 6, "[server] admin: \"128.0.0.1:9001\" is not"},
    };
    static const char *const ok[] = {
        SRV("admin = 127.0.0.1:9001"),
        SRV("admin = 127.1.2.3:9001"),
        SRV("admin = localhost:9001"),
        SRV("admin = [::1]:9001"),
        SRV("admin = unix:/run/subwsgi/admin.sock"),
        /* app.py stands in for the PEM files: the loader checks only that
         * they can be read. */
        SRV("admin = 0.0.0.0:9001\nadmin-tls-cert = app.py\nadmin-tls-key = app.py"),
        SRV("admin = [::]:9001\nadmin-tls-cert = app.py\nadmin-tls-key = app.py"),
    };

    run_cases(cases, N(cases));
    run_ok(ok, N(ok));
}

/* ---- text already read: sw_config_read() and sw_config_parse_string() ------- */

/* The host-mode master parses the bytes it read and hands the same bytes to
 * its workers: the label stands for the file everywhere. */
Test(config, parse_string_uses_the_label)
{
    char label[PATH_MAX], want[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;

    /* relative paths resolve against the label's directory, not the cwd */
    cr_assert_eq(chdir("/"), 0);
    snprintf(label, sizeof label, "%s/never-written.ini", tmp);
    cfg = sw_config_parse_string(label, APP("python-path = lib"), &errs);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_str_eq(cfg->file, label);
    snprintf(want, sizeof want, "%s/app.py", tmp);
    cr_expect(same_file(cfg->apps[0].wsgi_file, want), "%s",
              cfg->apps[0].wsgi_file);
    snprintf(want, sizeof want, "%s/lib", tmp);
    cr_expect_str_eq(cfg->apps[0].python_path.items[0], want);
    sw_config_free(cfg);

    cfg = sw_config_parse_string(label, SRV("bogus = 1"), &errs);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, label, 6, "[server] bogus: unknown key"),
              "%s", joined(&errs));
    sw_errors_free(&errs);

    /* the text needs no final newline; an empty text has no app */
    cfg = sw_config_parse_string(label, "[server]\nscgi = 127.0.0.1:9000\n"
                                 "[app:a]\nwsgi = app.py\nmount = /\nthreads = x",
                                 &errs);
    cr_expect_null(cfg);
    cr_expect(errs.lines.n == 1 && error_is(&errs, 0, label, 6, "threads"),
              "%s", joined(&errs));
    sw_errors_free(&errs);
    cr_expect_null(sw_config_parse_string(label, "", &errs));
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, label, 0, "no [app:NAME] section"),
              "%s", joined(&errs));
    sw_errors_free(&errs);
}

Test(config, read_gives_the_bytes_or_an_error)
{
    static const char good[] = APP("threads = 2");
    static const char with_nul[] = "[server]\nscgi = 127.0.0.1:9000\n"
                                   "[app:a]\nwsgi = app.py\0junk\nmount = /\n"
                                   "\0\n";
    char path[PATH_MAX];
    sw_errors_t errs = {0};
    char *text;
    FILE *f;

    write_file(tmp, "r.ini", good);
    snprintf(path, sizeof path, "%s/r.ini", tmp);
    text = sw_config_read(path, &errs);
    cr_assert_not_null(text, "%s", joined(&errs));
    cr_expect_str_eq(text, good);
    free(text);

    /* a NUL would end the text early: each line holding one is an error,
     * and sw_config_load() says so too */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(with_nul, 1, sizeof with_nul - 1, f),
                 sizeof with_nul - 1);
    cr_assert_eq(fclose(f), 0);
    cr_expect_null(sw_config_read(path, &errs));
    cr_expect(errs.lines.n == 2 &&
              error_is(&errs, 0, path, 4, "line contains a NUL byte") &&
              error_is(&errs, 1, path, 6, "line contains a NUL byte"),
              "%s", joined(&errs));
    sw_errors_free(&errs);
    cr_expect_null(sw_config_load(path, &errs));
    cr_expect_eq(errs.lines.n, 2, "%s", joined(&errs));
    sw_errors_free(&errs);

    /* an endless file is refused, not read into memory */
    cr_expect_null(sw_config_read("/dev/zero", &errs));
    cr_expect(errs.lines.n == 1 &&
              error_is(&errs, 0, "/dev/zero", 0, "cannot read: larger than"),
              "%s", joined(&errs));
    sw_errors_free(&errs);
}

/* ---- host mode (issue 12, DESIGN section 9) ---------------------------------- */

/* One owner, alice, of app a; x starts at line 10, in alice's section. */
#define OWNED(mode, x) "[server]\nmode = " mode "\nscgi = 127.0.0.1:9000\n" \
                       "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n" \
                       "[user:alice]\ntoken-sha256 = " HASH_A "\n" x "\n"
/* The same in host mode with run-as (line 10); x starts at line 11. */
#define HOSTU(x) OWNED("host", "run-as = nobody\n" x)

/* Makes TMP/name a directory with mode (after umask: chmod), TMP itself
 * searchable by everyone, so that only name's own bits decide. */
static void make_dir(const char *name, mode_t mode, gid_t gid)
{
    char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/%s", tmp, name);
    cr_assert_eq(chmod(tmp, 0755), 0);
    if (mkdir(path, 0700) != 0)
        cr_assert_eq(errno, EEXIST, "mkdir %s: %s", path, strerror(errno));
    if (geteuid() == 0)   /* else it is the user's own, which is as good */
        cr_assert_eq(chown(path, 0, gid), 0, "chown %s: %s", path,
                     strerror(errno));
    cr_assert_eq(chmod(path, mode), 0);
}

/* Tests that act as another OS user need root; they skip, saying so. */
static bool not_root(void)
{
    return geteuid() != 0;
}

Test(config, host_mode_values)
{
    char path[PATH_MAX], want[PATH_MAX];
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    const sw_user_config_t *u;

    make_dir("logs", 0777, 0);
    cfg = load_text("host.ini",
        "[server]\nmode = host\nscgi = 127.0.0.1:9000\nrecycle-rss = 512\n"
        "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
        "scgi = unix:/run/subwsgi/alice.sock\nscgi = 127.0.0.1:9100\n"
        "recycle-rss = 256.5\nlog-dir = logs/\n"
        "[user:bob]\ntoken-sha256 = " HASH_B "\nrun-as = daemon\n"
        "[user:ops]\ntoken-sha256 = 0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef\nrole = admin\n"
        "[app:a]\nowner = alice\nwsgi = app.py\nmount = /a\n"
        "[app:a2]\nowner = alice\nwsgi = app.py\nmount = /a2\n"
        "[app:b]\nowner = bob\nwsgi = app.py\nmount = /b\n",
        &errs, path, sizeof path);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_eq(cfg->mode, SW_MODE_HOST);
    cr_expect_eq(sw_config_n_owners(cfg), 2, "alice and bob; ops owns nothing");

    u = sw_config_user(cfg, "alice");
    cr_assert_not_null(u);
    cr_expect_str_eq(u->run_as, "nobody");
    cr_assert_eq(u->scgi.n, 2);
    cr_expect_str_eq(u->scgi.items[0], "unix:/run/subwsgi/alice.sock");
    cr_expect_str_eq(u->scgi.items[1], "127.0.0.1:9100");
    cr_expect(u->recycle_rss == 256.5, "%f", u->recycle_rss);
    snprintf(want, sizeof want, "%s/logs", tmp);
    cr_expect(u->log_dir != NULL && u->log_dir[0] == '/' &&
              same_file(u->log_dir, want), "log_dir %s", u->log_dir);

    /* without a budget of its own, an owner's worker has the server's */
    u = sw_config_user(cfg, "bob");
    cr_assert_not_null(u);
    cr_expect_str_eq(u->run_as, "daemon");
    cr_expect_eq(u->scgi.n, 0);
    cr_expect(u->recycle_rss == 512, "%f", u->recycle_rss);
    cr_expect_null(u->log_dir);
    sw_config_free(cfg);
    sw_errors_free(&errs);

    /* single mode is the default; the new fields are empty */
    cfg = load_text("single.ini", APP("[user:alice]\ntoken-sha256 = " HASH_A),
                    &errs, path, sizeof path);
    cr_assert_not_null(cfg, "%s", joined(&errs));
    cr_expect_eq(cfg->mode, SW_MODE_SINGLE);
    cr_expect_eq(sw_config_n_owners(cfg), 0);
    cr_expect_null(cfg->users[0].run_as);
    cr_expect_eq(cfg->users[0].scgi.n, 0);
    cr_expect(cfg->users[0].recycle_rss == 0);
    cr_expect_null(cfg->users[0].log_dir);
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

Test(config, host_mode_accepted)
{
    static const char *const ok[] = {
        OWNED("single", ""),
        OWNED("host", "run-as = nobody"),
        /* log-dir is also for single mode (the server writes APP.log);
         * venv is a directory the server's user, root here, can write */
        OWNED("single", "log-dir = venv"),
        /* a user who owns no app has no worker: no run-as needed */
        HOSTU("[user:bob]\ntoken-sha256 = " HASH_B),
        /* [server] last: the mode applies to the sections above it */
        "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
        "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
        "scgi = unix:/run/alice.sock\n[server]\nmode = host\n",
        /* an owner's listener alone is enough to mount on */
        "[server]\nmode = host\n"
        "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
        "[app:b]\nowner = bob\nwsgi = app.py\nmount = /\n"
        "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
        "scgi = unix:/run/alice.sock\n"
        "[user:bob]\ntoken-sha256 = " HASH_B "\nrun-as = daemon\n"
        "scgi = unix:/run/bob.sock\n",
        /* isolation = main: once per process, and each owner has one */
        "[server]\nmode = host\nscgi = 127.0.0.1:9000\n"
        "[app:a]\nowner = alice\nwsgi = app.py\nmount = /a\nisolation = main\n"
        "[app:b]\nowner = bob\nwsgi = app.py\nmount = /b\nisolation = main\n"
        "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
        "[user:bob]\ntoken-sha256 = " HASH_B "\nrun-as = daemon\n",
    };

    run_ok(ok, N(ok));
}

Test(config, host_mode_errors)
{
    static const err_case_t cases[] = {
        {SRV("mode = hosting"), 6, "[server] mode: must be one of single, "
         "host; got \"hosting\""},
        {SRV("mode = single\nmode = host"), 7, "[server] mode: given twice"},
        /* the keys of an owner's worker need one */
        {OWNED("single", "run-as = nobody"), 10, "[user:alice] run-as: needs "
         "mode = host in [server]"},
        {OWNED("single", "scgi = unix:/run/a.sock"), 10, "[user:alice] scgi: "
         "needs mode = host"},
        {OWNED("single", "recycle-rss = 64"), 10, "[user:alice] recycle-rss: "
         "needs mode = host"},
        {APP("[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody"), 8,
         "[user:alice] run-as: needs mode = host"},
        /* ... but a bad mode is reported alone, not with what it implies */
        {OWNED("hots", "run-as = nobody\nscgi = unix:/run/a.sock"), 2,
         "[server] mode: must be one of single, host"},
        /* run-as: an existing OS user that is not root */
        {OWNED("host", "run-as = no-such-user-sw-test"), 10, "[user:alice] "
         "run-as: no such user \"no-such-user-sw-test\""},
        {OWNED("host", "run-as = root"), 10, "[user:alice] run-as: \"root\" "
         "has uid 0: an owner's apps must not run as root"},
        {HOSTU("run-as = daemon"), 11, "[user:alice] run-as: given twice "
         "(first on line 10)"},
        /* values */
        {HOSTU("recycle-rss = lots"), 11, "[user:alice] recycle-rss: must be "
         "a number of MiB from 0 to 1048576, got \"lots\""},
        {HOSTU("recycle-rss = 1048577"), 11, "[user:alice] recycle-rss: must "
         "be a number of MiB"},
        {SRV("recycle-rss = -1"), 6, "[server] recycle-rss: must be a number "
         "of MiB"},
        {HOSTU("scgi = nope"), 11, "[user:alice] scgi: expected HOST:PORT"},
        {HOSTU("scgi = unix:/run/a.sock\nscgi = unix:/run/a.sock"), 12,
         "[user:alice] scgi: \"unix:/run/a.sock\" is listed twice"},
        {HOSTU("log-dir = nowhere"), 11, "[user:alice] log-dir: cannot access "
         "\""},
        {HOSTU("log-dir = app.py"), 11, "/app.py\" is not a directory"},
        {HOSTU("log-dir ="), 11, "[user:alice] log-dir: empty value"},
        /* the keys of a section, named when given in another */
        {APP("run-as = nobody"), 6, "[app:a] run-as: unknown key here (it "
         "belongs in [user:NAME])"},
        {SRV("log-dir = /tmp"), 6, "[server] log-dir: unknown key here (it "
         "belongs in [user:NAME])"},
        {HOSTU("threads = 2"), 11, "[user:alice] threads: unknown key here "
         "(it belongs in [app:NAME])"},
        {HOSTU("admin = off"), 11, "[user:alice] admin: unknown key here (it "
         "belongs in [server])"},
        /* the master keeps root to start each worker as its run-as */
        {"[server]\nmode = host\nscgi = 127.0.0.1:9000\nuser = daemon\n"
         "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
         "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n", 4,
         "[server] user: cannot be used with mode = host: the master keeps "
         "root to start each owner's process as its run-as"},
        /* the master runs no Python: an app needs an owner's worker */
        {HOSTU("[app:b]\nwsgi = app.py\nmount = /b"), 11, "[app:b] owner: "
         "required in host mode: the master runs no Python"},
        /* isolation = main: once per worker */
        {HOSTU("[app:b]\nowner = alice\nwsgi = app.py\nmount = /b\n"
               "isolation = main\n[app:c]\nowner = alice\nwsgi = app.py\n"
               "mount = /c\nisolation = main"), 20, "[app:c] isolation: only "
         "one app per process can use isolation = main ([app:b] already "
         "does)"},
    };

    run_cases(cases, N(cases));
}

/* An owner's listener leads to its worker only: no other listener, and not
 * the admin port, may have its address. */
Test(config, host_mode_listener_conflicts)
{
    static const err_case_t cases[] = {
        {HOSTU("scgi = 127.0.0.1:9000"), 11, "[user:alice] scgi: "
         "\"127.0.0.1:9000\" is already a [server] scgi listener (line 3)"},
        /* an app's own listener (app b, line 16) */
        {HOSTU("scgi = unix:/run/b.sock\n[app:b]\nowner = alice\n"
               "wsgi = app.py\nmount = /b\nscgi = unix:/run/b.sock"), 11,
         "[user:alice] scgi: \"unix:/run/b.sock\" is already an scgi "
         "listener of [app:b] (line 16)"},
        {"[server]\nmode = host\nscgi = 127.0.0.1:9000\n"
         "admin = 127.0.0.1:9001\n"
         "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
         "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
         "scgi = 127.0.0.1:9001\n", 12, "[user:alice] scgi: \"127.0.0.1:9001\" "
         "is the admin address (line 4)"},
        /* another owner's, compared as listeners are (host names ignore
         * case) */
        {HOSTU("scgi = localhost:9100\n[user:bob]\ntoken-sha256 = " HASH_B
               "\nscgi = LocalHost:9100"), 14, "[user:bob] scgi: "
         "\"LocalHost:9100\" is already an scgi listener of [user:alice] "
         "(line 11)"},
        /* two apps of one owner on its listener: the same mount twice */
        {"[server]\nmode = host\n"
         "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
         "[app:b]\nowner = alice\nwsgi = app.py\nmount = /\n"
         "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
         "scgi = unix:/run/alice.sock\n", 10, "[app:b] mount: \"/\" on the "
         "same listener is already mounted by [app:a] (line 6)"},
        /* an owner's listener serves its own apps only: bob's app has none */
        {"[server]\nmode = host\n"
         "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
         "[app:b]\nowner = bob\nwsgi = app.py\nmount = /b\n"
         "[user:alice]\ntoken-sha256 = " HASH_A "\nrun-as = nobody\n"
         "scgi = unix:/run/alice.sock\n"
         "[user:bob]\ntoken-sha256 = " HASH_B "\nrun-as = daemon\n", 10,
         "[app:b] mount: no [server] scgi listener to mount on"},
    };

    run_cases(cases, N(cases));
}

/* As root, a worker without run-as would run its apps as root. */
Test(config, host_mode_as_root_needs_run_as)
{
    static const err_case_t cases[] = {
        {OWNED("host", "role = user"), 8, "[user:alice] run-as: required in "
         "host mode when the server runs as root: the OS user for [app:a]"},
        {OWNED("host", "[app:b]\nowner = alice\nwsgi = app.py\nmount = /b"),
         8, "the OS user for [app:a], [app:b]"},
    };

    if (not_root())
        cr_skip_test("needs root: run-as is optional for a master that is "
                     "not root");
    run_cases(cases, N(cases));
}

/* log-dir is checked as the OS user who will write there, for real. */
Test(config, log_dir_writable_by_its_writer)
{
    char text[1024], path[PATH_MAX], want[PATH_MAX + 128];
    struct passwd *nobody = getpwnam("nobody");
    gid_t nogroup;
    sw_errors_t errs = {0};
    sw_config_t *cfg;
    static const struct {
        mode_t mode;
        bool by_group;       /* group-owned by nobody's primary group */
        int nobody_ok;       /* run-as = nobody may write */
        int daemon_ok;       /* run-as = daemon may write */
    } cases[] = {
        {0755, false, 0, 0},
        {0777, false, 1, 1},
        {0776, false, 0, 0},   /* writable but not searchable */
        {0770, true, 1, 0},    /* run-as's primary group counts */
        {0750, true, 0, 0},
    };

    if (not_root())
        cr_skip_test("needs root to check as another OS user");
    cr_assert_not_null(nobody);
    nogroup = nobody->pw_gid;   /* getpwnam()'s buffer is reused */

    for (size_t i = 0; i < N(cases); i++) {
        for (int as = 0; as < 2; as++) {
            const char *user = as == 0 ? "nobody" : "daemon";
            int ok = as == 0 ? cases[i].nobody_ok : cases[i].daemon_ok;

            make_dir("logs", cases[i].mode, cases[i].by_group ? nogroup : 0);
            snprintf(text, sizeof text, OWNED("host", "run-as = %s\n"
                     "log-dir = logs"), user);
            cfg = load_text("log.ini", text, &errs, path, sizeof path);
            snprintf(want, sizeof want, "[user:alice] log-dir: \"%s/logs\" is "
                     "not writable and searchable by OS user \"%s\": "
                     "Permission denied", tmp, user);
            if (ok)
                cr_expect_not_null(cfg, "mode %o as %s:%s", cases[i].mode,
                                   user, joined(&errs));
            else
                cr_expect(cfg == NULL && errs.lines.n == 1 &&
                          error_is(&errs, 0, path, 11, want),
                          "mode %o as %s: want %s, got:%s", cases[i].mode,
                          user, want, joined(&errs));
            sw_config_free(cfg);
            sw_errors_free(&errs);
        }
    }

    /* single mode: the server's user writes, [server] user if set */
    make_dir("logs", 0755, 0);
    cfg = load_text("log.ini", "[server]\nscgi = 127.0.0.1:9000\nuser = nobody\n"
                    "[app:a]\nowner = alice\nwsgi = app.py\nmount = /\n"
                    "[user:alice]\ntoken-sha256 = " HASH_A "\nlog-dir = logs\n",
                    &errs, path, sizeof path);
    snprintf(want, sizeof want, "\"%s/logs\" is not writable and searchable "
             "by OS user \"nobody\"", tmp);
    cr_expect(cfg == NULL && errs.lines.n == 1 &&
              error_is(&errs, 0, path, 10, want), "got:%s", joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);
    /* ... else the current user, root here, who may write anywhere */
    cfg = load_text("log.ini", OWNED("single", "log-dir = logs"), &errs, path,
                    sizeof path);
    cr_expect_not_null(cfg, "%s", joined(&errs));
    sw_config_free(cfg);
    sw_errors_free(&errs);
}

/* What a child that became nobody gets from text: 0 when it loads and
 * want is NULL, or when it fails with exactly one error at line containing
 * want; else 1, the errors on stderr. */
static int parse_as_nobody(const char *text, int line, const char *want)
{
    struct passwd *pw = getpwnam("nobody");
    char label[PATH_MAX];
    pid_t pid;
    int status;

    cr_assert_not_null(pw);
    snprintf(label, sizeof label, "%s/as-nobody.ini", tmp);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        sw_errors_t errs = {0};
        sw_config_t *cfg;
        int ok;

        if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0)
            _exit(2);
        cfg = sw_config_parse_string(label, text, &errs);
        ok = want == NULL ? cfg != NULL
                          : cfg == NULL && errs.lines.n == 1 &&
                            error_is(&errs, 0, label, line, want);
        if (!ok)
            fprintf(stderr, "as nobody, want %s, got:%s\n",
                    want ? want : "no error", joined(&errs));
        sw_config_free(cfg);
        sw_errors_free(&errs);
        _exit(ok ? 0 : 1);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

/* A master that is not root starts its workers as itself: run-as is
 * optional, and log-dir is checked as the server's user, which is said. */
Test(config, host_mode_when_not_root)
{
    char want[PATH_MAX + 160];

    if (not_root())
        cr_skip_test("needs root to become another user for the test");
    make_dir("logs", 0755, 0);
    cr_expect_eq(parse_as_nobody(OWNED("host", ""), 0, NULL), 0);
    snprintf(want, sizeof want, "[user:alice] log-dir: \"%s/logs\" is not "
             "writable and searchable by OS user \"nobody\" (the server's "
             "user: only root can check as \"daemon\"): Permission denied",
             tmp);
    cr_expect_eq(parse_as_nobody(OWNED("host", "run-as = daemon\n"
                                       "log-dir = logs"), 11, want), 0);
    make_dir("logs", 0777, 0);
    cr_expect_eq(parse_as_nobody(OWNED("host", "run-as = daemon\n"
                                       "log-dir = logs"), 0, NULL), 0);
}

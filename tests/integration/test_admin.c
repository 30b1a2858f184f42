/* test_admin.c: the admin HTTP API of DESIGN section 6 against the real
 * binary: tokens (401 + WWW-Authenticate), roles (403), users seeing only
 * their apps (another user's app answers byte for byte like a missing one),
 * 404/405/400/413, /healthz, the panel page, /v1/server, /metrics, reload
 * with and without ?wait (new code serves; a SyntaxError answers 422 and the
 * old code keeps serving), destroy (idle, then a request loads it again),
 * 409 passed through from the core, audit lines, quick mode and TLS, and
 * an app's last log lines (GET /v1/apps/NAME/log).
 *
 * Every server gets alice and bob (role user) and root (role admin), and
 * three apps written into its temp dir: ablog (owner alice, /alice), bshop
 * (owner bob, /bob) and ops (no owner: admins only, /ops). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(admin, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

#define ALICE "alice-token-0123456789"
#define BOB "bob-token-abcdefghij"
#define ROOT "root-token-ZYXWVUTSRQ"
/* printf %s TOKEN | sha256sum (test_auth checks the hashing itself) */
#define ALICE_SHA "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"
#define BOB_SHA "7e875e1af05facc87c6a24cde83d270e00e03acf38b117e6778f9ac7d9536d8e"
#define ROOT_SHA "2bc5c9142143b9435949a3ac425c19a4411d5edc77762d0579d066c8ab842e9c"

#define WAIT_IO 60.0   /* each admin request; reload/destroy waits are shorter */

typedef struct {
    h_server_t *srv;
    char *dir;
    char *scgi;
    int admin_port;
} env_t;

/* ---- helpers ----------------------------------------------------------------- */

/* An app that answers "NAME VERSION\n". Versions of different lengths make
 * each rewrite change the file's size, so no stale bytecode can match. */
static void write_app(const char *dir, const char *name, const char *version)
{
    char *path = h_fmt("%s/%s.py", dir, name);
    char *code = h_fmt("NAME = '%s'\n"
                       "VERSION = '%s'\n"
                       "\n"
                       "\n"
                       "def application(environ, start_response):\n"
                       "    body = ('%%s %%s\\n' %% (NAME, VERSION)).encode()\n"
                       "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
                       "                              ('Content-Length', str(len(body)))])\n"
                       "    return [body]\n",
                       name, version);
    h_write_file(path, code, strlen(code));
}

static void write_broken_app(const char *dir, const char *name)
{
    char *path = h_fmt("%s/%s.py", dir, name);
    const char *code = "NAME = 'broken'\n"
                       "\n"
                       "def application(environ, start_response:\n"
                       "    return []\n";
    h_write_file(path, code, strlen(code));
}

/* Replaces every "%DIR%" in text with dir (registry-owned). */
static char *with_dir(const char *text, const char *dir)
{
    char *out = h_fmt("%s", "");
    for (const char *p = text;;) {
        const char *q = strstr(p, "%DIR%");
        if (!q)
            return h_fmt("%s%s", out, p);
        out = h_fmt("%s%.*s%s", out, (int)(q - p), p, dir);
        p = q + 5;
    }
}

/* Starts a server with the three users and apps. extra_ini (may be NULL) is
 * appended to the config, with %DIR% standing for the server's dir;
 * extra_app (may be NULL) names one more app file to write there. */
static env_t start_env_ex(const char *extra_ini, const char *extra_app)
{
    env_t e;
    e.dir = h_tmpdir();
    e.scgi = h_fmt("127.0.0.1:%d", h_free_port());
    e.admin_port = h_free_port();
    write_app(e.dir, "ablog", "v1");
    write_app(e.dir, "bshop", "v1");
    write_app(e.dir, "ops", "v1");
    if (extra_app)
        write_app(e.dir, extra_app, "v1");
    const char *extra_apps = extra_ini ? with_dir(extra_ini, e.dir) : NULL;
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "admin = 127.0.0.1:%d\n"
                      "drain-timeout = 5\n"
                      "\n"
                      "[user:alice]\n"
                      "token-sha256 = " ALICE_SHA "\n"
                      "role = user\n"
                      "\n"
                      "[user:bob]\n"
                      "token-sha256 = " BOB_SHA "\n"
                      "role = user\n"
                      "\n"
                      "[user:root]\n"
                      "token-sha256 = " ROOT_SHA "\n"
                      "role = admin\n"
                      "\n"
                      "[app:ablog]\n"
                      "owner = alice\n"
                      "wsgi = %s/ablog.py\n"
                      "mount = /alice\n"
                      "\n"
                      "[app:bshop]\n"
                      "owner = bob\n"
                      "wsgi = %s/bshop.py\n"
                      "mount = /bob\n"
                      "\n"
                      "[app:ops]\n"
                      "wsgi = %s/ops.py\n"
                      "mount = /ops\n"
                      "%s",
                      e.scgi, e.admin_port, e.dir, e.dir, e.dir, extra_apps ? extra_apps : "");
    e.srv = h_server_config(e.dir, e.scgi, ini, NULL);
    return e;
}

static env_t start_env(void)
{
    return start_env_ex(NULL, NULL);
}

/* One admin request with an optional header line (e.g. "Authorization:
 * Basic ...") and an optional body; asserts the transport worked. */
static void adm_raw(const env_t *e, const char *method, const char *path, const char *header,
                    const char *body, size_t body_len, h_http_resp_t *r)
{
    const char *hdr[1];
    size_t nh = 0;
    if (header)
        hdr[nh++] = header;
    char err[256] = "";
    int rc = h_http(e->admin_port, method, path, hdr, nh, body, body_len, WAIT_IO, r, err,
                    sizeof err);
    cr_assert_eq(rc, 0, "%s %s: %s; log:\n%s", method, path, err, h_log_tail(e->srv));
}

/* With "Authorization: Bearer TOKEN" when token is not NULL. */
static void adm(const env_t *e, const char *method, const char *path, const char *token,
                h_http_resp_t *r)
{
    adm_raw(e, method, path, token ? h_fmt("Authorization: Bearer %s", token) : NULL, NULL, 0,
            r);
}

/* A response header's value (registry-owned) or NULL. */
static char *http_header(const h_http_resp_t *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->head; p && (p = strstr(p, "\n")); p++) {
        const char *line = p + 1;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            return h_fmt("%.*s", (int)len, v);
        }
    }
    return NULL;
}

/* The body as JSON (a new reference); asserts it parses. */
static json_t *body_json(const h_http_resp_t *r, const char *what)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &je);
    cr_assert_not_null(j, "%s: body is not JSON (%s): %s", what, je.text,
                       r->body ? r->body : "(none)");
    return j;
}

static void expect_status(const h_http_resp_t *r, int want, const char *what)
{
    cr_expect_eq(r->status, want, "%s: status %d, want %d; body: %s", what, r->status, want,
                 r->body ? r->body : "(none)");
}

/* Like expect_status, but ends the test: what follows depends on it. */
static void assert_status(const env_t *e, const h_http_resp_t *r, int want, const char *what)
{
    cr_assert_eq(r->status, want, "%s: status %d, want %d; body: %s\nlog:\n%s", what,
                 r->status, want, r->body ? r->body : "(none)", h_log_tail(e->srv));
}

/* Asserts an error answer: status, JSON {"error": code, "message": "..."},
 * application/json. */
static void expect_error(const h_http_resp_t *r, int status, const char *code,
                         const char *what)
{
    expect_status(r, status, what);
    char *ct = http_header(r, "Content-Type");
    cr_expect(ct && strncmp(ct, "application/json", 16) == 0, "%s: Content-Type %s", what,
              ct ? ct : "(none)");
    json_t *j = body_json(r, what);
    const char *got = json_string_value(json_object_get(j, "error"));
    cr_expect(got && strcmp(got, code) == 0, "%s: error \"%s\", want \"%s\"; body %s", what,
              got ? got : "(none)", code, r->body);
    cr_expect(json_is_string(json_object_get(j, "message")), "%s: no message: %s", what,
              r->body);
    json_decref(j);
}

/* GET /v1/apps/NAME as root: the APP (new reference). */
static json_t *app_as_root(const env_t *e, const char *name)
{
    h_http_resp_t r;
    adm(e, "GET", h_fmt("/v1/apps/%s", name), ROOT, &r);
    cr_assert_eq(r.status, 200, "GET /v1/apps/%s as root: %d %s", name, r.status, r.body);
    json_t *j = body_json(&r, "APP");
    h_http_free(&r);
    return j;
}

static json_int_t jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "\"%s\" is not an integer in %s", key,
              json_dumps(o, JSON_COMPACT));
    return json_integer_value(v);
}

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The body the SCGI side answers for uri (registry-owned). */
static char *scgi_body(const env_t *e, const char *uri)
{
    sw_scgi_response_t r;
    char err[256] = "";
    int rc = h_request_try(e->scgi, "GET", uri, NULL, 0, NULL, 0, WAIT_IO, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "SCGI GET %s: %s; log:\n%s", uri, err, h_log_tail(e->srv));
    cr_expect_eq(r.status, 200, "SCGI %s: status %d: %s", uri, r.status,
                 r.raw ? r.raw : "(none)");
    char *b = h_fmt("%s", r.body ? r.body : "");
    sw_scgi_response_free(&r);
    return b;
}

/* Asserts the APP object's shape (every field of DESIGN section 6). */
static void expect_app_shape(const json_t *a, const char *what)
{
    static const char *const keys[] = {
        "name", "owner", "state", "isolation", "isolation_reason", "reload_mode",
        "reload_mode_reason", "wsgi", "generation", "interpreters", "requests", "latency_ms",
        "reloads", "last_reload"};
    cr_assert(json_is_object(a), "%s: APP is not an object", what);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_not_null(json_object_get(a, keys[i]), "%s: APP has no \"%s\"", what,
                           keys[i]);
    cr_expect(json_is_string(json_object_get(a, "name")), "%s: name", what);
    cr_expect(json_is_string(json_object_get(a, "state")), "%s: state", what);
    cr_expect(json_is_string(json_object_get(a, "isolation")), "%s: isolation", what);
    cr_expect(json_is_string(json_object_get(a, "reload_mode")), "%s: reload_mode", what);
    cr_expect(json_is_string(json_object_get(a, "wsgi")), "%s: wsgi", what);
    cr_expect(json_is_integer(json_object_get(a, "generation")), "%s: generation", what);
    cr_expect(json_is_integer(json_object_get(a, "reloads")), "%s: reloads", what);
    json_t *its = json_object_get(a, "interpreters");
    cr_expect(json_is_array(its), "%s: interpreters", what);
    size_t i;
    json_t *it;
    json_array_foreach(its, i, it) {
        static const char *const ik[] = {"id", "generation", "threads", "busy", "requests"};
        for (size_t k = 0; k < sizeof ik / sizeof ik[0]; k++)
            cr_expect(json_is_integer(json_object_get(it, ik[k])), "%s: interpreters[%zu].%s",
                      what, i, ik[k]);
        cr_expect(json_is_string(json_object_get(it, "state")), "%s: interp state", what);
        const char *c = jstr(it, "created_at");
        cr_expect(c && strlen(c) == 20 && c[10] == 'T' && c[19] == 'Z',
                  "%s: created_at \"%s\" is not RFC 3339 UTC", what, c ? c : "(none)");
    }
    json_t *rq = json_object_get(a, "requests");
    static const char *const rk[] = {"total", "active", "queued", "status_2xx", "status_3xx",
                                     "status_4xx", "status_5xx", "rejected", "timeouts"};
    for (size_t k = 0; k < sizeof rk / sizeof rk[0]; k++)
        cr_expect(json_is_integer(json_object_get(rq, rk[k])), "%s: requests.%s", what, rk[k]);
    json_t *lat = json_object_get(a, "latency_ms");
    cr_expect(json_is_number(json_object_get(lat, "p50")), "%s: latency_ms.p50", what);
    cr_expect(json_is_number(json_object_get(lat, "p99")), "%s: latency_ms.p99", what);
    json_t *last = json_object_get(a, "last_reload");
    cr_expect(json_is_null(last) || json_is_object(last), "%s: last_reload", what);
    if (json_is_object(last)) {
        static const char *const lk[] = {"generation", "requested_by", "started_at",
                                         "finished_at", "duration_ms", "result", "error"};
        for (size_t k = 0; k < sizeof lk / sizeof lk[0]; k++)
            cr_expect_not_null(json_object_get(last, lk[k]), "%s: last_reload.%s", what,
                               lk[k]);
    }
}

/* The value of the first /metrics line starting with prefix, or -1. */
static double metric(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static char *get_metrics(const env_t *e)
{
    h_http_resp_t r;
    adm(e, "GET", "/metrics", ROOT, &r);
    expect_status(&r, 200, "GET /metrics");
    char *t = h_fmt("%s", r.body ? r.body : "");
    h_http_free(&r);
    return t;
}

/* ---- no auth: /healthz and the page ---------------------------------------------- */

Test(admin, healthz_and_panel_need_no_token)
{
    env_t e = start_env();
    h_http_resp_t r;

    adm(&e, "GET", "/healthz", NULL, &r);
    expect_status(&r, 200, "GET /healthz");
    cr_expect_str_eq(r.body, "ok\n");
    h_http_free(&r);

    /* The control panel: compiled into the binary, so it answers with no
     * files installed; a CSP with no inline script, and the page's script
     * and style from their own routes with their own types. */
    adm(&e, "GET", "/", NULL, &r);
    expect_status(&r, 200, "GET /");
    char *ct = http_header(&r, "Content-Type");
    cr_expect(ct && strncmp(ct, "text/html", 9) == 0, "GET / Content-Type %s", ct ? ct : "");
    cr_expect(strstr(r.body, "subwsgi admin") != NULL, "GET / body: %s", r.body);
    cr_expect(strstr(r.body, "src=\"/panel/panel.js\"") != NULL &&
                  strstr(r.body, "href=\"/panel/panel.css\"") != NULL,
              "GET / does not load the panel's script and style: %s", r.body);
    char *csp = http_header(&r, "Content-Security-Policy");
    cr_expect(csp && strstr(csp, "default-src 'none'") && strstr(csp, "script-src 'self'") &&
                  strstr(csp, "frame-ancestors 'none'") && !strstr(csp, "unsafe-inline"),
              "GET / Content-Security-Policy: %s", csp ? csp : "(none)");
    char *xfo = http_header(&r, "X-Frame-Options");
    cr_expect(xfo && strcmp(xfo, "DENY") == 0, "X-Frame-Options: %s", xfo ? xfo : "(none)");
    char *rp = http_header(&r, "Referrer-Policy");
    cr_expect(rp && strcmp(rp, "no-referrer") == 0, "Referrer-Policy: %s", rp ? rp : "(none)");
    char *nosniff = http_header(&r, "X-Content-Type-Options");
    cr_expect(nosniff && strcmp(nosniff, "nosniff") == 0, "X-Content-Type-Options: %s",
              nosniff ? nosniff : "(none)");
    char *cc = http_header(&r, "Cache-Control");
    cr_expect(cc && strcmp(cc, "no-store") == 0, "Cache-Control: %s", cc ? cc : "(none)");
    h_http_free(&r);

    const char *files[][3] = {{"/panel/panel.js", "text/javascript", "sessionStorage"},
                              {"/panel/panel.css", "text/css", "font"}};
    for (size_t i = 0; i < 2; i++) {
        adm(&e, "GET", files[i][0], NULL, &r);
        expect_status(&r, 200, files[i][0]);
        ct = http_header(&r, "Content-Type");
        cr_expect(ct && strncmp(ct, files[i][1], strlen(files[i][1])) == 0,
                  "%s Content-Type %s", files[i][0], ct ? ct : "(none)");
        csp = http_header(&r, "Content-Security-Policy");
        cr_expect(csp != NULL, "%s has no Content-Security-Policy", files[i][0]);
        cr_expect(strstr(r.body, files[i][2]) != NULL, "%s body: %.200s", files[i][0], r.body);
        h_http_free(&r);
    }
    adm(&e, "GET", "/panel/missing.js", NULL, &r);
    expect_error(&r, 404, "not_found", "GET /panel/missing.js");
    h_http_free(&r);

    adm(&e, "POST", "/healthz", NULL, &r);
    expect_error(&r, 405, "method_not_allowed", "POST /healthz");
    char *allow = http_header(&r, "Allow");
    cr_expect(allow && strstr(allow, "GET"), "Allow: %s", allow ? allow : "(none)");
    h_http_free(&r);
    h_server_stop_clean(e.srv);
}

/* ---- 401 ---------------------------------------------------------------------------- */

Test(admin, missing_or_wrong_token_is_401)
{
    env_t e = start_env();
    static const struct {
        const char *method, *path;
    } routes[] = {
        {"GET", "/v1/apps"},
        {"GET", "/v1/apps/ablog"},
        {"GET", "/v1/apps/nosuch"},
        {"POST", "/v1/apps/ablog/reload"},
        {"POST", "/v1/apps/ablog/reload?wait=30"},
        {"POST", "/v1/apps/ablog/destroy"},
        {"GET", "/v1/server"},
        {"POST", "/v1/server/recycle"},
        {"GET", "/metrics"},
    };
    static const char *const headers[] = {
        NULL,                                            /* none */
        "Authorization: Bearer wrong-token-0000000000",
        "Authorization: Bearer alice-token-012345678",  /* alice's, one char short */
        "Authorization: Bearer " ALICE "x",
        "Authorization: Bearer " ALICE_SHA,              /* the hash is not the token */
        "Authorization: Basic YWxpY2U6c2VjcmV0",
        "Authorization: " ALICE,
        "Authorization: Bearer",
        "Authorization: Bearer ",
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        for (size_t k = 0; k < sizeof headers / sizeof headers[0]; k++) {
            h_http_resp_t r;
            char *what = h_fmt("%s %s with [%s]", routes[i].method, routes[i].path,
                               headers[k] ? headers[k] : "no header");
            adm_raw(&e, routes[i].method, routes[i].path, headers[k], NULL, 0, &r);
            expect_error(&r, 401, "unauthorized", what);
            char *www = http_header(&r, "WWW-Authenticate");
            cr_expect(www && strncmp(www, "Bearer", 6) == 0, "%s: WWW-Authenticate %s", what,
                      www ? www : "(none)");
            h_http_free(&r);
        }
    }
    /* None of it reached the app. */
    json_t *a = app_as_root(&e, "ablog");
    cr_expect_eq(jint(a, "generation"), 1, "a 401 reload reloaded");
    cr_expect_str_eq(jstr(a, "state"), "serving");
    json_decref(a);
    h_server_stop_clean(e.srv);
}

/* ---- who sees what -------------------------------------------------------------------- */

/* The names in {"apps": [...]}, comma-separated (registry-owned). */
static char *listed(const env_t *e, const char *token)
{
    h_http_resp_t r;
    adm(e, "GET", "/v1/apps", token, &r);
    expect_status(&r, 200, "GET /v1/apps");
    json_t *j = body_json(&r, "GET /v1/apps");
    json_t *apps = json_object_get(j, "apps");
    cr_assert(json_is_array(apps), "no apps array: %s", r.body);
    char *names = h_fmt("%s", "");
    size_t i;
    json_t *a;
    json_array_foreach(apps, i, a) {
        expect_app_shape(a, h_fmt("apps[%zu] for %s", i, token));
        names = h_fmt("%s%s%s", names, i ? "," : "", jstr(a, "name"));
    }
    json_decref(j);
    h_http_free(&r);
    return names;
}

Test(admin, list_shows_only_own_apps)
{
    env_t e = start_env();
    cr_expect_str_eq(listed(&e, ALICE), "ablog");
    cr_expect_str_eq(listed(&e, BOB), "bshop");
    cr_expect_str_eq(listed(&e, ROOT), "ablog,bshop,ops");

    h_http_resp_t r;
    adm(&e, "GET", "/v1/apps/ablog", ALICE, &r);
    expect_status(&r, 200, "alice GET her app");
    json_t *a = body_json(&r, "APP");
    expect_app_shape(a, "ablog");
    cr_expect_str_eq(jstr(a, "name"), "ablog");
    cr_expect_str_eq(jstr(a, "owner"), "alice");
    cr_expect_str_eq(jstr(a, "state"), "serving");
    cr_expect_eq(jint(a, "generation"), 1);
    cr_expect(strstr(jstr(a, "wsgi"), "ablog.py") != NULL, "wsgi %s", jstr(a, "wsgi"));
    char *ct = http_header(&r, "Content-Type");
    cr_expect(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct);
    char *cc = http_header(&r, "Cache-Control");
    cr_expect(cc && strcmp(cc, "no-store") == 0, "Cache-Control %s", cc ? cc : "(none)");
    json_decref(a);
    h_http_free(&r);

    a = app_as_root(&e, "ops");
    cr_expect(json_is_null(json_object_get(a, "owner")), "ops has no owner");
    json_decref(a);
    h_server_stop_clean(e.srv);
}

Test(admin, other_users_apps_answer_like_missing_ones)
{
    env_t e = start_env();
    static const struct {
        const char *method, *fmt;
    } routes[] = {
        {"GET", "/v1/apps/%s"},
        {"POST", "/v1/apps/%s/reload"},
        {"POST", "/v1/apps/%s/reload?wait=30"},
        {"POST", "/v1/apps/%s/destroy"},
    };
    static const struct {
        const char *token, *hidden;
    } who[] = {
        {ALICE, "bshop"}, {ALICE, "ops"}, {BOB, "ablog"}, {BOB, "ops"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        for (size_t k = 0; k < sizeof who / sizeof who[0]; k++) {
            h_http_resp_t missing, hidden;
            adm(&e, routes[i].method, h_fmt(routes[i].fmt, "nosuch"), who[k].token, &missing);
            adm(&e, routes[i].method, h_fmt(routes[i].fmt, who[k].hidden), who[k].token,
                &hidden);
            char *what = h_fmt("%s %s as %.5s", routes[i].method,
                               h_fmt(routes[i].fmt, who[k].hidden), who[k].token);
            expect_error(&missing, 404, "not_found", "missing app");
            expect_error(&hidden, 404, "not_found", what);
            cr_expect_eq(hidden.body_len, missing.body_len, "%s: body length differs", what);
            cr_expect(hidden.body && missing.body &&
                          memcmp(hidden.body, missing.body, missing.body_len) == 0,
                      "%s: body differs from a missing app's:\n%s\nvs\n%s", what, hidden.body,
                      missing.body);
            h_http_free(&missing);
            h_http_free(&hidden);
        }
    }
    /* Nothing happened to them: still generation 1, never reloaded, serving. */
    static const char *const apps[] = {"ablog", "bshop", "ops"};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = app_as_root(&e, apps[i]);
        cr_expect_eq(jint(a, "generation"), 1, "%s was reloaded", apps[i]);
        cr_expect_eq(jint(a, "reloads"), 0, "%s was reloaded", apps[i]);
        cr_expect_str_eq(jstr(a, "state"), "serving", "%s", apps[i]);
        json_decref(a);
    }
    cr_expect_str_eq(scgi_body(&e, "/bob"), "bshop v1\n");
    cr_expect_str_eq(scgi_body(&e, "/ops"), "ops v1\n");
    /* The attempts are audited, as not_found. */
    const char *needles[] = {"audit user=alice", "app=bshop", "action=reload",
                             "result=not_found", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, needles, 10), "no audit line for alice's "
                       "attempt on bshop; log:\n%s", h_log_tail(e.srv));
    h_server_stop_clean(e.srv);
}

Test(admin, admin_routes_forbid_user_tokens)
{
    env_t e = start_env();
    static const struct {
        const char *method, *path;
    } routes[] = {
        {"GET", "/v1/server"},
        {"POST", "/v1/server/recycle"},
        {"GET", "/metrics"},
    };
    static const char *const users[] = {ALICE, BOB};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        for (size_t k = 0; k < 2; k++) {
            h_http_resp_t r;
            adm(&e, routes[i].method, routes[i].path, users[k], &r);
            expect_error(&r, 403, "forbidden",
                         h_fmt("%s %s as %.5s", routes[i].method, routes[i].path, users[k]));
            h_http_free(&r);
        }
    h_server_stop_clean(e.srv);
}

/* ---- 404, 405, 400, 413 ------------------------------------------------------------------ */

Test(admin, unknown_paths_and_wrong_methods)
{
    env_t e = start_env();
    static const struct {
        const char *method, *path;
        int status;
        const char *allow;   /* a method the Allow header must list, for 405 */
    } cases[] = {
        {"GET", "/v1/nothing", 404, NULL},
        {"GET", "/v1/apps/ablog/extra", 404, NULL},
        {"GET", "/v1/apps/", 404, NULL},
        {"GET", "/v1/apps/ablog/", 404, NULL},
        {"POST", "/v1/apps/ablog/restart", 404, NULL},
        {"GET", "/v2/apps", 404, NULL},
        {"GET", "/metrics/", 404, NULL},
        {"GET", "/v1/apps/ablog/reload", 405, "POST"},
        {"GET", "/v1/apps/ablog/destroy", 405, "POST"},
        {"DELETE", "/v1/apps/ablog", 405, "GET"},
        {"POST", "/v1/apps/ablog", 405, "GET"},
        {"PUT", "/v1/apps", 405, "GET"},
        {"POST", "/v1/apps", 405, "GET"},
        {"GET", "/v1/server/recycle", 405, "POST"},
        {"POST", "/v1/server", 405, "GET"},
        {"POST", "/metrics", 405, "GET"},
        /* a wrong method on another user's or a missing app: 405 too, so
         * the method tells nothing about which apps exist */
        {"GET", "/v1/apps/bshop/reload", 405, "POST"},
        {"GET", "/v1/apps/nosuch/reload", 405, "POST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_http_resp_t r;
        char *what = h_fmt("%s %s", cases[i].method, cases[i].path);
        adm(&e, cases[i].method, cases[i].path, ALICE, &r);
        expect_error(&r, cases[i].status,
                     cases[i].status == 404 ? "not_found" : "method_not_allowed", what);
        if (cases[i].allow) {
            char *allow = http_header(&r, "Allow");
            cr_expect(allow && strstr(allow, cases[i].allow), "%s: Allow \"%s\", want %s",
                      what, allow ? allow : "(none)", cases[i].allow);
            cr_expect(allow && strstr(allow, cases[i].method) == NULL,
                      "%s: Allow \"%s\" lists the refused method", what, allow ? allow : "");
        }
        h_http_free(&r);
    }
    h_server_stop_clean(e.srv);
}

Test(admin, bad_wait_is_400)
{
    env_t e = start_env();
    static const char *const waits[] = {"abc", "-1", "3601", "1e3", "", "%205", "inf",
                                        "nan", "0x10", "5s", "1.", ".5", "99999999999",
                                        "-0.5"};
    static const struct {
        const char *path, *token;
    } routes[] = {
        {"/v1/apps/ablog/reload", ALICE},
        {"/v1/apps/ablog/destroy", ALICE},
        {"/v1/server/recycle", ROOT},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
            h_http_resp_t r;
            char *path = h_fmt("%s?wait=%s", routes[i].path, waits[k]);
            adm(&e, "POST", path, routes[i].token, &r);
            expect_error(&r, 400, "bad_request", h_fmt("POST %s", path));
            h_http_free(&r);
        }
    json_t *a = app_as_root(&e, "ablog");
    cr_expect_eq(jint(a, "generation"), 1, "a 400 reload or destroy acted");
    cr_expect_str_eq(jstr(a, "state"), "serving");
    json_decref(a);
    h_server_stop_clean(e.srv);
}

Test(admin, request_body_over_64k_is_413)
{
    env_t e = start_env();
    size_t n = 70 * 1024;
    char *big = malloc(n);
    cr_assert_not_null(big);
    memset(big, 'x', n);
    h_http_resp_t r;
    adm_raw(&e, "POST", "/v1/apps/ablog/reload", "Authorization: Bearer " ALICE, big, n, &r);
    expect_error(&r, 413, "bad_request", "POST with a 70 KiB body");
    h_http_free(&r);
    /* Auth is still decided first. */
    adm_raw(&e, "POST", "/v1/apps/ablog/reload", NULL, big, n, &r);
    expect_error(&r, 401, "unauthorized", "POST with a 70 KiB body and no token");
    h_http_free(&r);
    free(big);
    const char *audit[] = {"audit user=alice app=ablog action=reload result=too_large", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, audit, 10), "no audit line for the 413; log:\n%s",
                       h_log_tail(e.srv));
    /* A small body is ignored. */
    adm_raw(&e, "POST", "/v1/apps/ablog/reload?wait=30", "Authorization: Bearer " ALICE,
            "{}", 2, &r);
    expect_status(&r, 200, "POST with a 2-byte body");
    h_http_free(&r);
    json_t *a = app_as_root(&e, "ablog");
    cr_expect_eq(jint(a, "generation"), 2, "only the small-body reload ran");
    json_decref(a);
    h_server_stop_clean(e.srv);
}

/* ---- server, metrics, recycle ------------------------------------------------------------- */

Test(admin, server_info)
{
    env_t e = start_env();
    h_http_resp_t r;
    adm(&e, "GET", "/v1/server", ROOT, &r);
    expect_status(&r, 200, "GET /v1/server");
    json_t *j = body_json(&r, "server");
    cr_expect(json_is_string(json_object_get(j, "version")), "version: %s", r.body);
    cr_expect_eq(jint(j, "pid"), (json_int_t)e.srv->proc->pid);
    const char *py = jstr(j, "python");
    cr_expect(py && strncmp(py, "Python 3.", 9) == 0, "python \"%s\"", py ? py : "(none)");
    cr_expect(json_is_number(json_object_get(j, "uptime_s")) &&
                  json_number_value(json_object_get(j, "uptime_s")) >= 0,
              "uptime_s: %s", r.body);
    json_t *ls = json_object_get(j, "listeners");
    cr_expect(json_is_array(ls), "listeners: %s", r.body);
    int found = 0;
    size_t i;
    json_t *l;
    json_array_foreach(ls, i, l) found |= json_is_string(l) && strcmp(json_string_value(l),
                                                                      e.scgi) == 0;
    cr_expect(found, "listeners lack %s: %s", e.scgi, r.body);
    json_t *t = json_object_get(j, "totals");
    cr_expect(json_is_object(t), "totals: %s", r.body);
    static const char *const tk[] = {"total", "active", "queued", "rejected", "timeouts"};
    for (size_t k = 0; k < sizeof tk / sizeof tk[0]; k++)
        cr_expect(json_is_integer(json_object_get(t, tk[k])), "totals.%s: %s", tk[k], r.body);
    cr_expect(json_is_integer(json_object_get(j, "handovers")), "handovers: %s", r.body);
    cr_expect(jint(j, "rss_bytes") > 0, "rss_bytes: %s", r.body);
    json_t *budget = json_object_get(j, "rss_budget_bytes");
    cr_expect(json_is_null(budget) || json_is_integer(budget), "rss_budget_bytes: %s", r.body);
    json_decref(j);
    h_http_free(&r);
    h_server_stop_clean(e.srv);
}

Test(admin, metrics_counters_move)
{
    env_t e = start_env();
    h_http_resp_t r;
    adm(&e, "GET", "/metrics", ROOT, &r);
    expect_status(&r, 200, "GET /metrics");
    char *ct = http_header(&r, "Content-Type");
    cr_expect(ct && strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "Content-Type %s",
              ct ? ct : "(none)");
    static const char *const lines[] = {
        "# TYPE subwsgi_requests_total counter", "# TYPE subwsgi_requests_active gauge",
        "# TYPE subwsgi_requests_queued gauge", "# TYPE subwsgi_requests_rejected_total counter",
        "# TYPE subwsgi_request_timeouts_total counter", "# TYPE subwsgi_reloads_total counter",
        "# TYPE subwsgi_generation gauge", "# TYPE subwsgi_interpreters gauge",
        "# TYPE subwsgi_rss_bytes gauge", "# TYPE subwsgi_uptime_seconds gauge",
        "# HELP subwsgi_requests_total "};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_expect(strstr(r.body, lines[i]) != NULL, "no \"%s\" in:\n%s", lines[i], r.body);
    h_http_free(&r);

    const char *series = "subwsgi_requests_total{app=\"ablog\",status=\"2xx\"}";
    char *m = get_metrics(&e);
    double before = metric(m, series);
    cr_assert(before >= 0, "no %s in:\n%s", series, m);
    cr_expect_eq(metric(m, "subwsgi_generation{app=\"bshop\"}"), 1, "%s", m);
    cr_expect(metric(m, "subwsgi_rss_bytes") > 0, "%s", m);
    for (int i = 0; i < 3; i++)
        cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");
    double after = before, end = h_now() + 10;
    while (after < before + 3 && h_now() < end) {
        h_nap(0.05);
        after = metric(get_metrics(&e), series);
    }
    cr_expect_eq(after, before + 3, "%s went from %g to %g after 3 requests", series, before,
                 after);
    /* bshop's did not move. */
    cr_expect_eq(metric(get_metrics(&e), "subwsgi_requests_total{app=\"bshop\",status=\"2xx\"}"),
                 0);
    h_server_stop_clean(e.srv);
}

Test(admin, recycle_is_admin_only_and_hands_over)
{
    env_t e = start_env();
    h_http_resp_t r;
    adm(&e, "POST", "/v1/server/recycle", ALICE, &r);
    expect_error(&r, 403, "forbidden", "POST /v1/server/recycle as a user");
    h_http_free(&r);
    adm(&e, "GET", "/v1/server", ROOT, &r);
    json_t *j = body_json(&r, "server");
    json_int_t old_pid = jint(j, "pid");
    json_decref(j);
    h_http_free(&r);
    adm(&e, "POST", "/v1/server/recycle?wait=60", ROOT, &r);
    expect_status(&r, 200, "POST /v1/server/recycle?wait=60");
    h_http_free(&r);
    /* The old process leaves by itself; the new one answers. */
    cr_expect(h_proc_wait(e.srv->proc, 30), "the old process did not leave");
    json_int_t new_pid = old_pid;
    for (int i = 0; i < 100 && new_pid == old_pid; i++) {
        adm(&e, "GET", "/v1/server", ROOT, &r);
        j = body_json(&r, "server");
        new_pid = jint(j, "pid");
        cr_expect_eq(jint(j, "handovers"), 1);
        json_decref(j);
        h_http_free(&r);
    }
    cr_expect_neq(new_pid, old_pid);
    kill((pid_t)new_pid, SIGTERM);
    for (int i = 0; i < 300 && kill((pid_t)new_pid, 0) == 0; i++)
        h_nap(0.05);
}

/* ---- reload ------------------------------------------------------------------------------ */

Test(admin, reload_with_wait_serves_new_code)
{
    env_t e = start_env();
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");

    write_app(e.dir, "ablog", "v22");
    h_http_resp_t r;
    adm(&e, "POST", "/v1/apps/ablog/reload?wait=30", ALICE, &r);
    assert_status(&e, &r, 200, "reload?wait=30");
    json_t *a = body_json(&r, "reload");
    expect_app_shape(a, "reload answer");
    cr_expect_eq(jint(a, "generation"), 2, "generation after the first reload: %s", r.body);
    cr_expect_str_eq(jstr(a, "state"), "serving", "%s", r.body);
    cr_expect_eq(jint(a, "reloads"), 1, "%s", r.body);
    json_t *last = json_object_get(a, "last_reload");
    cr_expect_str_eq(jstr(last, "result"), "ok", "%s", r.body);
    cr_expect_str_eq(jstr(last, "requested_by"), "alice", "%s", r.body);
    cr_expect_eq(jint(last, "generation"), 2, "%s", r.body);
    cr_expect(json_is_null(json_object_get(last, "error")), "%s", r.body);
    const char *fin = jstr(last, "finished_at");
    cr_expect(fin && fin[10] == 'T' && fin[strlen(fin) - 1] == 'Z', "finished_at %s",
              fin ? fin : "(none)");
    json_decref(a);
    h_http_free(&r);
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v22\n");

    /* Without wait: 202 and the APP at once; the new generation comes. */
    write_app(e.dir, "ablog", "v333");
    adm(&e, "POST", "/v1/apps/ablog/reload", ALICE, &r);
    assert_status(&e, &r, 202, "reload without wait");
    a = body_json(&r, "reload 202");
    expect_app_shape(a, "reload 202 answer");
    json_decref(a);
    h_http_free(&r);
    double end = h_now() + 30;
    json_int_t gen = 0;
    const char *state = "";
    for (;;) {
        a = app_as_root(&e, "ablog");
        gen = jint(a, "generation");
        state = h_fmt("%s", jstr(a, "state"));
        json_decref(a);
        if ((gen == 3 && strcmp(state, "serving") == 0) || h_now() > end)
            break;
        h_nap(0.05);
    }
    cr_expect_eq(gen, 3, "generation %lld after the 202 reload (state %s)", (long long)gen,
                 state);
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v333\n");

    /* bob's app was not touched. */
    cr_expect_str_eq(scgi_body(&e, "/bob"), "bshop v1\n");

    const char *ok[] = {"audit user=alice app=ablog action=reload result=ok duration_ms=",
                        NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, ok, 10), "no audit line; log:\n%s",
                       h_log_tail(e.srv));
    const char *acc[] = {"audit user=alice app=ablog action=reload result=accepted", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, acc, 10), "no audit line for the 202; log:\n%s",
                       h_log_tail(e.srv));
    h_server_stop_clean(e.srv);
    char *log = h_log(e.srv);
    cr_expect(strstr(log, ALICE) == NULL && strstr(log, ROOT) == NULL &&
                  strstr(log, ALICE_SHA) == NULL,
              "a token or its hash is in the log:\n%s", log);
    free(log);
}

Test(admin, reload_of_broken_code_is_422_and_old_code_serves)
{
    env_t e = start_env();
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");

    write_broken_app(e.dir, "ablog");
    h_http_resp_t r;
    adm(&e, "POST", "/v1/apps/ablog/reload?wait=30", ALICE, &r);
    assert_status(&e, &r, 422, "reload of a SyntaxError");
    json_t *j = body_json(&r, "422");
    cr_expect(json_is_string(json_object_get(j, "error")), "422 error: %s", r.body);
    cr_expect(json_is_string(json_object_get(j, "message")), "422 message: %s", r.body);
    cr_expect(strstr(r.body, "SyntaxError") != NULL && strstr(r.body, "Traceback") != NULL,
              "no traceback in the 422 body: %s", r.body);
    json_t *a = json_object_get(j, "app");
    expect_app_shape(a, "422 app");
    cr_expect_eq(jint(a, "generation"), 1, "the failed generation replaced the old: %s",
                 r.body);
    cr_expect_str_eq(jstr(a, "state"), "serving", "%s", r.body);
    json_t *last = json_object_get(a, "last_reload");
    cr_expect_str_eq(jstr(last, "result"), "failed", "%s", r.body);
    const char *err = jstr(last, "error");
    cr_expect(err && strstr(err, "SyntaxError"), "last_reload.error: %s",
              err ? err : "(null)");
    json_decref(j);
    h_http_free(&r);

    /* The old code keeps serving, and GET shows the failure too. */
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");
    a = app_as_root(&e, "ablog");
    cr_expect_str_eq(jstr(json_object_get(a, "last_reload"), "result"), "failed");
    json_decref(a);
    const char *failed[] = {"audit user=alice app=ablog action=reload result=failed", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, failed, 10), "no audit line; log:\n%s",
                       h_log_tail(e.srv));

    /* Fixed: the next reload works. */
    write_app(e.dir, "ablog", "fixed");
    adm(&e, "POST", "/v1/apps/ablog/reload?wait=30", ALICE, &r);
    expect_status(&r, 200, "reload after the fix");
    h_http_free(&r);
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog fixed\n");
    h_server_stop_clean(e.srv);
}

/* A reload request waiting (?wait=) holds up no other admin request: the
 * port runs a thread per connection, and status reads take no GIL. */
typedef struct {
    int port;
    h_http_resp_t resp;
    int rc;
    char err[256];
    atomic_int done;
} bg_reload_t;

static void *bg_reload(void *arg)
{
    bg_reload_t *b = arg;
    const char *hdr[] = {"Authorization: Bearer " ALICE};
    b->rc = h_http(b->port, "POST", "/v1/apps/ablog/reload?wait=60", hdr, 1, NULL, 0, WAIT_IO,
                   &b->resp, b->err, sizeof b->err);
    atomic_store(&b->done, 1);
    return NULL;
}

Test(admin, other_requests_answer_while_a_reload_waits)
{
    env_t e = start_env();
    /* The new code takes a few seconds to import. */
    char *slow = h_fmt("import time\n"
                       "time.sleep(4)\n"
                       "\n"
                       "\n"
                       "def application(environ, start_response):\n"
                       "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                       "    return [b'ablog slow\\n']\n");
    h_write_file(h_fmt("%s/ablog.py", e.dir), slow, strlen(slow));
    bg_reload_t b = {.port = e.admin_port};
    atomic_init(&b.done, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, bg_reload, &b), 0);

    /* While it waits: the app shows "reloading", and old code serves. */
    int seen = 0;
    double end = h_now() + 30;
    while (!seen && !atomic_load(&b.done) && h_now() < end) {
        json_t *a = app_as_root(&e, "ablog");
        seen = strcmp(jstr(a, "state"), "reloading") == 0 && !atomic_load(&b.done);
        json_decref(a);
        if (!seen)
            h_nap(0.05);
    }
    cr_expect(seen, "never saw state \"reloading\" while the reload waited");
    if (seen) {
        h_http_resp_t r;
        adm(&e, "GET", "/healthz", NULL, &r);
        expect_status(&r, 200, "GET /healthz during a reload");
        h_http_free(&r);
        adm(&e, "GET", "/v1/apps", BOB, &r);
        expect_status(&r, 200, "bob's GET /v1/apps during alice's reload");
        h_http_free(&r);
        cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");
        cr_expect(!atomic_load(&b.done), "the reload ended before the checks ran");
    }
    pthread_join(t, NULL);
    cr_assert_eq(b.rc, 0, "reload request: %s", b.err);
    cr_expect_eq(b.resp.status, 200, "reload?wait=60 of slow code: %d %s", b.resp.status,
                 b.resp.body);
    h_http_free(&b.resp);
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog slow\n");
    h_server_stop_clean(e.srv);
}

/* ---- destroy ---------------------------------------------------------------------------- */

Test(admin, destroy_then_a_request_loads_it_again)
{
    env_t e = start_env();
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");
    json_t *a = app_as_root(&e, "ablog");
    json_int_t gen_before = jint(a, "generation");
    json_decref(a);

    h_http_resp_t r;
    adm(&e, "POST", "/v1/apps/ablog/destroy", ALICE, &r);
    assert_status(&e, &r, 200, "destroy");
    a = body_json(&r, "destroy");
    expect_app_shape(a, "destroy answer");
    cr_expect_str_eq(jstr(a, "state"), "idle", "after destroy: %s", r.body);
    json_decref(a);
    h_http_free(&r);
    const char *ok[] = {"audit user=alice app=ablog action=destroy result=ok", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, ok, 10), "no audit line; log:\n%s",
                       h_log_tail(e.srv));

    /* The next request loads a fresh generation and is served. */
    cr_expect_str_eq(scgi_body(&e, "/alice"), "ablog v1\n");
    a = app_as_root(&e, "ablog");
    cr_expect(jint(a, "generation") > gen_before, "generation %lld, was %lld",
              (long long)jint(a, "generation"), (long long)gen_before);
    cr_expect_str_eq(jstr(a, "state"), "serving");
    json_decref(a);
    /* Others were not touched. */
    cr_expect_str_eq(scgi_body(&e, "/bob"), "bshop v1\n");
    h_server_stop_clean(e.srv);
}

/* ---- 409 from the core ------------------------------------------------------------------- */

Test(admin, conflict_from_the_core_is_409)
{
    /* isolation = main: its reload is a process handover (not done yet)
     * and it cannot be destroyed, so the core answers CONFLICT. */
    env_t e = start_env_ex("\n[app:mainapp]\n"
                           "owner = alice\n"
                           "wsgi = %DIR%/mainapp.py\n"
                           "isolation = main\n"
                           "mount = /main\n",
                           "mainapp");
    cr_expect_str_eq(scgi_body(&e, "/main"), "mainapp v1\n");
    /* (Its reload is a process handover: test_handover.c.) */
    static const char *const paths[] = {"/v1/apps/mainapp/destroy",
                                        "/v1/apps/mainapp/destroy?wait=10"};
    for (size_t i = 0; i < 2; i++) {
        h_http_resp_t r;
        adm(&e, "POST", paths[i], ALICE, &r);
        expect_error(&r, 409, "conflict", h_fmt("POST %s (isolation = main)", paths[i]));
        h_http_free(&r);
    }
    const char *c[] = {"audit user=alice app=mainapp action=destroy result=conflict", NULL};
    cr_expect_not_null(h_log_wait_line(e.srv, c, 10), "no audit line; log:\n%s",
                       h_log_tail(e.srv));
    cr_expect_str_eq(scgi_body(&e, "/main"), "mainapp v1\n");
    h_server_stop_clean(e.srv);
}

/* ---- quick mode and TLS --------------------------------------------------------------------- */

/* Quick mode serving hello.py, with its admin port on the loopback. */
static env_t start_quick(void)
{
    char *dir = h_tmpdir();
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    int port = h_free_port();
    const char *extra[] = {"--admin", h_fmt("127.0.0.1:%d", port), NULL};
    h_server_t *s = h_server_quick(dir, h_app("hello.py"), scgi, extra);
    return (env_t){.srv = s, .dir = dir, .scgi = scgi, .admin_port = port};
}

Test(admin, quick_mode_needs_no_token)
{
    env_t e = start_quick();
    h_server_t *s = e.srv;

    h_http_resp_t r;
    adm(&e, "GET", "/v1/apps", NULL, &r);
    expect_status(&r, 200, "quick GET /v1/apps");
    json_t *j = body_json(&r, "quick apps");
    json_t *apps = json_object_get(j, "apps");
    cr_expect(json_is_array(apps) && json_array_size(apps) == 1, "%s", r.body);
    cr_expect_str_eq(jstr(json_array_get(apps, 0), "name"), "hello", "%s", r.body);
    json_decref(j);
    h_http_free(&r);
    adm(&e, "GET", "/v1/server", NULL, &r);
    expect_status(&r, 200, "quick GET /v1/server");
    h_http_free(&r);
    adm(&e, "GET", "/metrics", NULL, &r);
    expect_status(&r, 200, "quick GET /metrics");
    h_http_free(&r);
    adm(&e, "POST", "/v1/apps/hello/reload?wait=30", NULL, &r);
    expect_status(&r, 200, "quick reload");
    h_http_free(&r);
    h_server_stop_clean(s);
}

/* Quick mode has no tokens: a web page in a browser on the same machine
 * must not be able to drive it. A POST from another origin is refused, and
 * so is any request whose Host is not the loopback (DNS rebinding). */
Test(admin, quick_mode_refuses_other_origins_and_hosts)
{
    env_t e = start_quick();
    h_server_t *s = e.srv;
    char *scgi = e.scgi;
    int port = e.admin_port;
    h_http_resp_t r;

    adm_raw(&e, "POST", "/v1/apps/hello/destroy", "Origin: http://evil.example", NULL, 0, &r);
    expect_status(&r, 403, "cross-origin destroy");
    cr_expect(strstr(r.body, "cross-origin"), "%s", r.body);
    h_http_free(&r);
    adm_raw(&e, "POST", "/v1/apps/hello/reload", "Origin: null", NULL, 0, &r);
    expect_status(&r, 403, "reload from an opaque origin");
    h_http_free(&r);
    cr_expect(strstr(h_status_body(scgi, "/"), "200 "), "the app was touched");

    /* The panel's own page (same origin) and curl (no Origin) may. */
    adm_raw(&e, "POST", "/v1/apps/hello/reload?wait=30",
            h_fmt("Origin: http://127.0.0.1:%d", port), NULL, 0, &r);
    expect_status(&r, 200, "same-origin reload");
    h_http_free(&r);

    /* A DNS-rebound name: the browser sends its own Host. */
    char *out = NULL;
    char *const curl[] = {"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "-H", "Host: rebound.evil.example",
                          h_fmt("http://127.0.0.1:%d/v1/apps", port), NULL};
    cr_assert(access(curl[0], X_OK) == 0, "curl is missing (packaging/bootstrap installs it)");
    h_run(curl, 30, &out);
    cr_expect(out && strcmp(out, "403") == 0, "a foreign Host got %s", out ? out : "nothing");
    free(out);
    cr_expect(h_log_wait(s, "quick mode answers only requests addressed to localhost", 5),
              "%s", h_log_tail(s));
    h_server_stop_clean(s);
}

Test(admin, tls_when_a_certificate_is_configured)
{
    if (access("/usr/bin/openssl", X_OK) != 0 || access("/usr/bin/curl", X_OK) != 0)
        cr_skip_test("openssl or curl missing");
    char *dir = h_tmpdir();
    char *cert = h_fmt("%s/cert.pem", dir), *key = h_fmt("%s/key.pem", dir);
    char *const gen[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                         cert, "-days", "2", "-subj", "/CN=127.0.0.1", NULL};
    char *out = NULL;
    int st = h_run(gen, 60, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "openssl: %s", out);
    free(out);
    write_app(dir, "ablog", "v1");
    char *scgi = h_fmt("127.0.0.1:%d", h_free_port());
    int port = h_free_port();
    char *ini = h_fmt("[server]\nscgi = %s\nadmin = 127.0.0.1:%d\n"
                      "admin-tls-cert = %s\nadmin-tls-key = %s\n\n"
                      "[user:root]\ntoken-sha256 = " ROOT_SHA "\nrole = admin\n\n"
                      "[app:ablog]\nwsgi = %s/ablog.py\nmount = /\n",
                      scgi, port, cert, key, dir);
    h_server_t *s = h_server_config(dir, scgi, ini, NULL);

    char *url = h_fmt("https://127.0.0.1:%d/healthz", port);
    char *const get[] = {"/usr/bin/curl", "-sS", "-k", "--max-time", "30", url, NULL};
    st = h_run(get, 60, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %s: %s", url, out);
    cr_expect(strstr(out, "ok") != NULL, "curl %s printed: %s", url, out);
    free(out);
    char *url2 = h_fmt("https://127.0.0.1:%d/v1/apps", port);
    char *const apps[] = {"/usr/bin/curl", "-sS", "-k", "--max-time", "30", "-H",
                          "Authorization: Bearer " ROOT, url2, NULL};
    st = h_run(apps, 60, &out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "\"ablog\""),
              "curl %s: %s", url2, out);
    free(out);

    /* Plain HTTP to the TLS port gets no HTTP answer. */
    h_http_resp_t r;
    char err[256];
    int rc = h_http(port, "GET", "/healthz", NULL, 0, NULL, 0, 10, &r, err, sizeof err);
    cr_expect(rc != 0 || r.status != 200, "plain HTTP was answered on the TLS port");
    if (rc == 0)
        h_http_free(&r);
    h_server_stop_clean(s);
}

/* ---- GET /v1/apps/NAME/log (issue 12) ----------------------------------------- */

/* alice's app "noisy" (mount /noisy): /noisy/fail writes to wsgi.errors
 * and raises; /noisy/many writes 1500 numbered lines to wsgi.errors. */
static env_t start_noisy(void)
{
    char *dir = h_tmpdir();
    char *path = h_fmt("%s/noisy.py", dir);
    const char *code =
        "def application(environ, start_response):\n"
        "    errors = environ['wsgi.errors']\n"
        "    if environ.get('PATH_INFO') == '/many':\n"
        "        for i in range(1500):\n"
        "            errors.write('many %05d\\n' % i)\n"
        "        start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [b'many\\n']\n"
        "    errors.write('noisy says hello on wsgi.errors\\n')\n"
        "    raise ValueError('noisy failed on purpose')\n";
    h_write_file(path, code, strlen(code));
    return start_env_ex(h_fmt("\n[app:noisy]\nowner = alice\nwsgi = %s\nmount = /noisy\n",
                              path),
                        NULL);
}

/* GET path with token: asserts 200 and the body's shape; returns "lines"
 * (a borrowed reference into *doc, which the caller decrefs). */
static json_t *log_lines(const env_t *e, const char *path, const char *token, json_t **doc)
{
    h_http_resp_t r;
    adm(e, "GET", path, token, &r);
    assert_status(e, &r, 200, h_fmt("GET %s", path));
    *doc = body_json(&r, path);
    cr_expect_str_eq(json_string_value(json_object_get(*doc, "app")), "noisy", "%s", r.body);
    json_t *lines = json_object_get(*doc, "lines");
    cr_assert(json_is_array(lines), "no lines array: %s", r.body);
    json_t *l;
    size_t i;
    json_array_foreach(lines, i, l) {
        const char *t = json_string_value(json_object_get(l, "time"));
        cr_expect(t && strlen(t) == 24 && t[23] == 'Z', "line %zu time: %s", i, r.body);
        cr_expect(json_is_string(json_object_get(l, "level")), "line %zu level", i);
        cr_expect(json_is_string(json_object_get(l, "text")), "line %zu text", i);
    }
    return lines;
}

/* Whether some line of lines has text containing needle. */
static int has_line(json_t *lines, const char *needle)
{
    json_t *l;
    size_t i;
    json_array_foreach(lines, i, l) {
        const char *t = json_string_value(json_object_get(l, "text"));
        if (t && strstr(t, needle))
            return 1;
    }
    return 0;
}

Test(admin, app_log_has_errors_and_traceback)
{
    env_t e = start_noisy();
    char *sb = h_status_body(e.scgi, "/noisy/fail");
    cr_expect(strncmp(sb, "500 ", 4) == 0, "a raising app answers 500: %s", sb);
    cr_assert(h_log_wait(e.srv, "noisy failed on purpose", 30), "no traceback in the log");

    json_t *doc;
    json_t *lines = log_lines(&e, "/v1/apps/noisy/log", ALICE, &doc);
    char *text = json_dumps(doc, 0);
    cr_expect(has_line(lines, "noisy says hello on wsgi.errors"), "no wsgi.errors line: %s",
              text);
    cr_expect(has_line(lines, "ValueError: noisy failed on purpose"),
              "no traceback's last line: %s", text);
    cr_expect(!has_line(lines, "audit "), "a server line not about the app: %s", text);
    size_t n = json_array_size(lines);
    cr_expect(n >= 3 && n <= 100, "%zu lines", n);
    json_t *last = json_array_get(lines, n - 1);
    cr_expect_str_eq(json_string_value(json_object_get(last, "level")), "error", "%s", text);
    free(text);
    json_decref(doc);

    lines = log_lines(&e, "/v1/apps/noisy/log?lines=2", ROOT, &doc);
    cr_expect_eq(json_array_size(lines), 2, "lines=2");
    cr_expect(has_line(lines, "ValueError: noisy failed on purpose"), "the newest two");
    json_decref(doc);

    /* Another user's app answers like a missing one. */
    h_http_resp_t r, missing;
    adm(&e, "GET", "/v1/apps/noisy/log", BOB, &r);
    expect_error(&r, 404, "not_found", "bob reads alice's log");
    adm(&e, "GET", "/v1/apps/nosuch/log", BOB, &missing);
    cr_expect_str_eq(r.body, missing.body, "bob's 404 differs from a missing app's");
    adm(&e, "GET", "/v1/apps/noisy/log", NULL, &r);
    expect_error(&r, 401, "unauthorized", "no token");
    for (size_t i = 0; i < 4; i++) {
        static const char *const bad[] = {"abc", "-1", "1001", ""};
        adm(&e, "GET", h_fmt("/v1/apps/noisy/log?lines=%s", bad[i]), ALICE, &r);
        expect_error(&r, 400, "bad_request", h_fmt("lines=%s", bad[i]));
    }
    adm(&e, "POST", "/v1/apps/noisy/log", ALICE, &r);
    expect_status(&r, 405, "POST to the log");
    h_server_stop_clean(e.srv);
}

Test(admin, app_log_is_bounded)
{
    env_t e = start_noisy();
    char *sb = h_status_body(e.scgi, "/noisy/many");
    cr_assert(strncmp(sb, "200 ", 4) == 0, "%s", sb);
    json_t *doc;
    json_t *lines = log_lines(&e, "/v1/apps/noisy/log?lines=1000", ALICE, &doc);
    size_t n = json_array_size(lines);
    cr_expect(n > 100 && n <= 1000, "%zu lines: at most the cap (1000)", n);
    const char *last = json_string_value(json_object_get(json_array_get(lines, n - 1), "text"));
    cr_expect(last && strcmp(last, "many 01499") == 0, "the newest line last: %s", last);
    const char *first = json_string_value(json_object_get(json_array_get(lines, 0), "text"));
    cr_expect(first && strcmp(first, "many 00500") >= 0 && strncmp(first, "many ", 5) == 0,
              "the oldest kept is among the newest 1000: %s", first);
    json_decref(doc);

    lines = log_lines(&e, "/v1/apps/noisy/log", ALICE, &doc);
    cr_expect_eq(json_array_size(lines), 100, "lines defaults to 100");
    json_decref(doc);
    h_server_stop_clean(e.srv);
}

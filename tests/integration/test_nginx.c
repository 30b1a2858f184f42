/* test_nginx.c: a real nginx (scgi_pass with Debian's scgi_params) in front
 * of one subwsgi serving Flask at /flask and Django at /django. Checks what
 * users actually deploy: GET and POST through nginx, SCRIPT_NAME/PATH_INFO
 * derived from nginx's DOCUMENT_URI, and a 404 for an unmounted path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(nginx, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

typedef struct {
    h_server_t *srv;
    h_nginx_t nginx;
    int port;                /* nginx's HTTP port */
    char *dir;
} bench_t;

static void require_nginx(void)
{
    const char *ng = h_nginx();
    if (*ng == '\0')
        cr_skip_test("nginx is not installed (SW_NGINX is empty): install "
                     "it (apt-get install nginx) and re-run configure");
    if (access(ng, X_OK) != 0)
        cr_skip_test("nginx is not installed: SW_NGINX=%s is not executable",
                     ng);
}

/* The scgi_params every location includes: Debian's file when present,
 * else the same list inline. */
static const char *scgi_params(void)
{
    if (access("/etc/nginx/scgi_params", R_OK) == 0)
        return "include /etc/nginx/scgi_params;";
    return "scgi_param REQUEST_METHOD $request_method; "
           "scgi_param REQUEST_URI $request_uri; "
           "scgi_param QUERY_STRING $query_string; "
           "scgi_param CONTENT_TYPE $content_type; "
           "scgi_param DOCUMENT_URI $document_uri; "
           "scgi_param DOCUMENT_ROOT $document_root; "
           "scgi_param SCGI 1; "
           "scgi_param SERVER_PROTOCOL $server_protocol; "
           "scgi_param REQUEST_SCHEME $scheme; "
           "scgi_param HTTPS $https if_not_empty; "
           "scgi_param REMOTE_ADDR $remote_addr; "
           "scgi_param REMOTE_PORT $remote_port; "
           "scgi_param SERVER_PORT $server_port; "
           "scgi_param SERVER_NAME $server_name;";
}

static bench_t start(void)
{
    require_nginx();
    bench_t b;
    b.dir = h_tmpdir();
    int scgi_port = h_free_port();
    char *scgi = h_fmt("127.0.0.1:%d", scgi_port);
    char *ini = h_fmt("[server]\n"
                      "scgi = %s\n"
                      "admin = off\n"
                      "\n"
                      "[app:flask]\n"
                      "wsgi = %s\n"
                      "mount = /flask\n"
                      "%s"
                      "\n"
                      "[app:django]\n"
                      "wsgi = %s\n"
                      "mount = /django\n"
                      "%s",
                      scgi, h_app("flask_app.py"), h_debian_packages(), h_app("django_app.py"),
                      h_debian_packages());
    b.srv = h_server_config(b.dir, scgi, ini, NULL);

    b.port = h_free_port();
    const char *params = scgi_params();
    char *server = h_fmt("server {\n"
                         "    listen 127.0.0.1:%d;\n"
                         "    server_name localhost;\n"
                         "    location /flask/ { %s scgi_pass %s; }\n"
                         "    location /django/ { %s scgi_pass %s; }\n"
                         "    location / { %s scgi_pass %s; }\n"
                         "}\n",
                         b.port, params, scgi, params, scgi, params, scgi);
    b.nginx = h_nginx_start(server, b.port);
    return b;
}

static void get(bench_t *b, const char *path, h_http_resp_t *r)
{
    char err[256] = "";
    int rc = h_http(b->port, "GET", path, NULL, 0, NULL, 0, H_IO_TIMEOUT, r,
                    err, sizeof err);
    cr_assert_eq(rc, 0, "GET %s through nginx: %s", path, err);
}

static void check_framework(bench_t *b, const char *fw)
{
    h_http_resp_t r;
    char *pre = h_fmt("/%s", fw);

    get(b, h_fmt("%s/", pre), &r);
    cr_expect_eq(r.status, 200, "GET %s/ via nginx: %d\n%s\n%s\nnginx log:\n%s",
                 pre, r.status, r.head, r.body, h_nginx_log(&b->nginx));
    cr_expect_str_eq(r.body, h_fmt("%s index\n", fw));
    h_http_free(&r);

    get(b, h_fmt("%s/env/a%%20b", pre), &r);
    cr_expect_eq(r.status, 200, "GET %s/env/a%%20b via nginx: %d\n%s", pre,
                 r.status, r.body);
    h_expect_json(r.body, fw, "SCRIPT_NAME", pre);
    h_expect_json(r.body, fw, "PATH_INFO", "/env/a b");
    h_expect_json(r.body, fw, "rest", "a b");
    h_expect_json(r.body, fw, "app", fw);
    h_http_free(&r);

    static const char form[] = "name=Ada+Lovelace&lang=C%2B%2B";
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded"};
    char err[256] = "";
    int rc = h_http(b->port, "POST", h_fmt("%s/form", pre), hdr, 1, form,
                    sizeof form - 1, H_IO_TIMEOUT, &r, err, sizeof err);
    cr_assert_eq(rc, 0, "POST %s/form through nginx: %s", pre, err);
    cr_expect_eq(r.status, 200, "POST %s/form via nginx: %d\n%s", pre,
                 r.status, r.body);
    h_expect_json(r.body, fw, "name", "Ada Lovelace");
    h_expect_json(r.body, fw, "lang", "C++");
    h_expect_json(r.body, fw, "_method", "POST");
    h_http_free(&r);

    get(b, h_fmt("%s/urls", pre), &r);
    cr_expect_eq(r.status, 200, "GET %s/urls via nginx: %d", pre, r.status);
    h_expect_json(r.body, fw, "index", h_fmt("%s/", pre));
    h_expect_json(r.body, fw, "env", h_fmt("%s/env/x/y", pre));
    h_http_free(&r);
}

Test(nginx, flask_through_nginx)
{
    bench_t b = start();
    check_framework(&b, "flask");
    h_server_stop_clean(b.srv);
}

Test(nginx, django_through_nginx)
{
    bench_t b = start();
    check_framework(&b, "django");
    h_server_stop_clean(b.srv);
}

Test(nginx, unmounted_path_is_404_from_subwsgi)
{
    bench_t b = start();
    h_http_resp_t r;
    static const char *const paths[] = {"/", "/nothing/here", "/flasky/x"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get(&b, paths[i], &r);
        cr_expect_eq(r.status, 404, "GET %s via nginx: %d\n%s", paths[i],
                     r.status, r.body);
        /* nginx's own error page would mean the request never reached
         * subwsgi (scgi_intercept_errors is off). */
        cr_expect(strstr(r.body, "<center>nginx") == NULL,
                  "GET %s: the 404 came from nginx, not subwsgi:\n%s\nnginx "
                  "log:\n%s", paths[i], r.body, h_nginx_log(&b.nginx));
        h_http_free(&r);
    }
    /* And the mounted apps still answer. */
    get(&b, "/flask/", &r);
    cr_expect_eq(r.status, 200, "GET /flask/ via nginx: %d", r.status);
    h_http_free(&r);
    h_server_stop_clean(b.srv);
}

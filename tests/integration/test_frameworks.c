/* test_frameworks.c: Flask and Django (Debian's packages) served directly
 * over SCGI, each mounted under a prefix: GET, POST of form data, and URL
 * building (url_for / reverse) that must include the mount prefix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(frameworks, .fini = h_cleanup, .timeout = H_SUITE_TIMEOUT);

/* flask_app.py at /flask and django_app.py at /django, two interpreters
 * each (every interpreter imports the framework on its own). */
static h_server_t *start(void)
{
    return h_server_at(h_free_port(),
                       h_fmt("admin = off\n"
                             "\n"
                             "[app:flask]\n"
                             "wsgi = %s\n"
                             "mount = /flask\n"
                             "%s"
                             "interpreters = 2\n"
                             "\n"
                             "[app:django]\n"
                             "wsgi = %s\n"
                             "mount = /django\n"
                             "%s"
                             "interpreters = 2\n",
                             h_app("flask_app.py"), h_debian_packages(),
                             h_app("django_app.py"), h_debian_packages()),
                       NULL);
}

static const char form_body[] = "name=Ada+Lovelace&lang=C%2B%2B&empty=";

/* The checks both frameworks share; fw is "flask" or "django". */
static void check_framework(h_server_t *b, const char *fw)
{
    sw_scgi_response_t r;
    char *pre = h_fmt("/%s", fw);

    /* GET the index. */
    h_get(b->scgi, h_fmt("%s/", pre), &r);
    cr_expect_eq(r.status, 200, "GET %s/: status %d:\n%.1000s", pre, r.status,
                 r.raw);
    cr_expect_str_eq(r.body ? r.body : "", h_fmt("%s index\n", fw),
                     "GET %s/ body", pre);
    char *ct = h_header(&r, "Content-Type");
    cr_expect(ct && strncmp(ct, "text/plain", 10) == 0, "Content-Type %s",
              ct ? ct : "(none)");
    sw_scgi_response_free(&r);

    /* SCRIPT_NAME/PATH_INFO as the framework sees them. */
    h_get(b->scgi, h_fmt("%s/env/a%%20b", pre), &r);
    cr_expect_eq(r.status, 200, "GET %s/env/a%%20b: status %d:\n%.1000s", pre,
                 r.status, r.raw);
    h_expect_json(r.body, fw, "SCRIPT_NAME", pre);
    h_expect_json(r.body, fw, "PATH_INFO", "/env/a b");
    h_expect_json(r.body, fw, "rest", "a b");
    h_expect_json(r.body, fw, "app", fw);
    if (strcmp(fw, "django") == 0) {
        h_expect_json(r.body, fw, "path", "/django/env/a b");
        h_expect_json(r.body, fw, "path_info", "/env/a b");
    } else {
        h_expect_json(r.body, fw, "script_root", "/flask");
        h_expect_json(r.body, fw, "path", "/env/a b");
    }
    sw_scgi_response_free(&r);

    /* POST form data: echoed back. */
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded"};
    h_request(b->scgi, "POST", h_fmt("%s/form", pre), hdr, 1, form_body,
              sizeof form_body - 1, &r);
    cr_expect_eq(r.status, 200, "POST %s/form: status %d:\n%.2000s", pre,
                 r.status, r.raw);
    h_expect_json(r.body, fw, "name", "Ada Lovelace");
    h_expect_json(r.body, fw, "lang", "C++");
    h_expect_json(r.body, fw, "empty", "");
    h_expect_json(r.body, fw, "_method", "POST");
    if (strcmp(fw, "django") == 0)
        h_expect_json(r.body, fw, "_body", form_body);
    sw_scgi_response_free(&r);

    /* URL building carries the mount prefix. */
    const char *host[] = {"Host: example.org"};
    h_request(b->scgi, "GET", h_fmt("%s/urls", pre), host, 1, NULL, 0, &r);
    cr_expect_eq(r.status, 200, "GET %s/urls: status %d:\n%.1000s", pre,
                 r.status, r.raw);
    h_expect_json(r.body, fw, "index", h_fmt("%s/", pre));
    h_expect_json(r.body, fw, "env", h_fmt("%s/env/x/y", pre));
    h_expect_json(r.body, fw, "form", h_fmt("%s/form", pre));
    h_expect_json(r.body, fw, strcmp(fw, "django") == 0 ? "absolute" : "external",
                h_fmt("http://example.org%s/", pre));
    sw_scgi_response_free(&r);

    /* The framework's own 404 for an unknown path under its mount. */
    h_get(b->scgi, h_fmt("%s/no/such/page", pre), &r);
    cr_expect_eq(r.status, 404, "GET %s/no/such/page: status %d", pre,
                 r.status);
    sw_scgi_response_free(&r);
}

Test(frameworks, flask)
{
    h_server_t *b = start();
    check_framework(b, "flask");
    h_server_stop_clean(b);
    char *log = h_log(b);
    cr_expect(strstr(log, "Traceback") == NULL, "a traceback was logged:\n%s",
              h_log_tail(b));
    free(log);
}

Test(frameworks, django)
{
    h_server_t *b = start();
    check_framework(b, "django");
    h_server_stop_clean(b);
    char *log = h_log(b);
    cr_expect(strstr(log, "Traceback") == NULL, "a traceback was logged:\n%s",
              h_log_tail(b));
    free(log);
}

/* Both at once, concurrently, with requests alternating between them. */
Test(frameworks, both_side_by_side)
{
    h_server_t *b = start();
    enum { N = 8 };
    h_async_t *a[N];
    for (int i = 0; i < N; i++)
        a[i] = h_async_get(b->scgi, i % 2 ? "/flask/env/p" : "/django/env/p",
                           60);
    for (int i = 0; i < N; i++) {
        cr_assert(h_async_wait(a[i], 60), "request %d did not finish", i);
        cr_expect_eq(a[i]->rc, 0, "request %d: %s", i, a[i]->err);
        cr_expect_eq(a[i]->resp.status, 200, "request %d: status %d", i,
                     a[i]->resp.status);
        h_expect_json(a[i]->resp.body, "side by side", "app",
                    i % 2 ? "flask" : "django");
    }
    h_server_stop_clean(b);
}

/* test_route.c: mount table lookup: host precedence, longest prefix on
 * segment boundaries, ports and case in Host. */
#include <criterion/criterion.h>

#include "route.h"

/* Stand-in apps: the table only stores and returns the pointer. */
static int app_root, app_blog, app_blog_admin, app_host_root, app_host_blog, app_v6;
#define APP(x) ((struct sw_app *)&(x))

static sw_route_table_t table;

static void setup(void)
{
    table = (sw_route_table_t){0};
    cr_assert_eq(sw_route_add(&table, NULL, "", APP(app_root)), 0);
    cr_assert_eq(sw_route_add(&table, NULL, "/blog", APP(app_blog)), 0);
    cr_assert_eq(sw_route_add(&table, NULL, "/blog/admin", APP(app_blog_admin)), 0);
    cr_assert_eq(sw_route_add(&table, "example.com", "", APP(app_host_root)), 0);
    cr_assert_eq(sw_route_add(&table, "example.com", "/blog", APP(app_host_blog)), 0);
    cr_assert_eq(sw_route_add(&table, "::1", "/v6", APP(app_v6)), 0);
}

static void teardown(void)
{
    sw_route_free(&table);
}

typedef struct {
    const char *host;
    const char *path;
    const void *want;
    size_t want_prefix_len;
} route_case_t;

/* Table-driven in one test: Criterion re-executes the binary per test, so
 * pointers cannot travel as parameters. */
Test(route, match, .init = setup, .fini = teardown)
{
    static const route_case_t cases[] = {
        {NULL, "/", &app_root, 0},
        {NULL, "/x/y", &app_root, 0},
        {NULL, "/blog", &app_blog, 5},
        {NULL, "/blog/", &app_blog, 5},
        {NULL, "/blog/post/1", &app_blog, 5},
        {NULL, "/blogger", &app_root, 0},
        {NULL, "/blog/admin/users", &app_blog_admin, 11},
        {NULL, "/blog/administrator", &app_blog, 5},
        {"other.org", "/blog/x", &app_blog, 5},
        {"example.com", "/", &app_host_root, 0},
        {"example.com", "/blog/x", &app_host_blog, 5},
        /* a mount naming the host beats a longer host-less prefix */
        {"example.com", "/blog/admin", &app_host_blog, 5},
        {"EXAMPLE.com:8080", "/blog", &app_host_blog, 5},
        {"example.com.evil", "/blog", &app_blog, 5},
        {"[::1]:443", "/v6/a", &app_v6, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const route_case_t *c = &cases[i];
        const sw_route_t *r = sw_route_match(&table, c->host, c->path);
        cr_assert_not_null(r, "no route for %s %s", c->host ? c->host : "-", c->path);
        cr_expect_eq((void *)r->app, c->want, "wrong app for %s %s", c->host ? c->host : "-",
                     c->path);
        cr_expect_eq(r->prefix_len, c->want_prefix_len, "prefix length for %s", c->path);
    }
}

Test(route, no_match_without_root)
{
    sw_route_table_t t = {0};
    cr_assert_eq(sw_route_add(&t, NULL, "/only", APP(app_blog)), 0);
    cr_expect_null(sw_route_match(&t, NULL, "/other"));
    cr_expect_null(sw_route_match(&t, "host", "/onlyx"));
    cr_expect_not_null(sw_route_match(&t, "host", "/only/x"));
    sw_route_free(&t);
}

Test(route, host_only_mount_does_not_serve_other_hosts)
{
    sw_route_table_t t = {0};
    cr_assert_eq(sw_route_add(&t, "a.example", "", APP(app_host_root)), 0);
    cr_expect_null(sw_route_match(&t, "b.example", "/"));
    cr_expect_null(sw_route_match(&t, NULL, "/"));
    cr_expect_not_null(sw_route_match(&t, "A.EXAMPLE", "/x"));
    sw_route_free(&t);
}

/* test_request.c: deriving the request path from nginx-, Apache- and
 * bare-style SCGI headers, and percent-decoding. */
#include <criterion/criterion.h>
#include <string.h>

#include "request.h"

typedef struct {
    const char *script_name, *path_info, *document_uri, *request_uri;
    const char *want;   /* NULL: the path is refused */
} path_case_t;

static const path_case_t cases[] = {
        /* nginx: DOCUMENT_URI is decoded and normalised already */
        {NULL, NULL, "/app/a b", "/app/a%20b?x=1", "/app/a b"},
        /* bare client: REQUEST_URI decoded, query dropped */
        {NULL, NULL, NULL, "/app/a%20b?x=%41", "/app/a b"},
        /* ... and normalised as nginx builds $document_uri
         * (ngx_http_parse_complex_uri): %2F is a separator like '/', runs of
         * '/' merge, "." and ".." segments go (RFC 3986 5.2.4), climbing
         * above the root or a bad escape is refused (nginx: 400) */
        {NULL, NULL, NULL, "/caf%C3%A9/%2Fx#frag", "/caf\xC3\xA9/x"},
        {NULL, NULL, NULL, "/bob/../env", "/env"},
        {NULL, NULL, NULL, "/bob%2F..%2Fenv/x", "/env/x"},
        {NULL, NULL, NULL, "/a/%2e%2E/b", "/b"},
        {NULL, NULL, NULL, "/a/./b/.", "/a/b/"},
        {NULL, NULL, NULL, "/a/b/..", "/a/"},
        {NULL, NULL, NULL, "//a///b//", "/a/b/"},
        {NULL, NULL, NULL, "/a/.../..b/.c", "/a/.../..b/.c"},
        {NULL, NULL, NULL, "/a/%252e%252e/b", "/a/%2e%2e/b"},
        {NULL, NULL, NULL, "/a/%3F/%23", "/a/?/#"},
        {NULL, NULL, NULL, "/..", NULL},
        {NULL, NULL, NULL, "/a/../../b", NULL},
        {NULL, NULL, NULL, "/bad%zzescape", NULL},
        {NULL, NULL, NULL, "/bad%", NULL},
        {NULL, NULL, NULL, "/bad%4", NULL},
        {NULL, NULL, NULL, "/nul%00byte", NULL},
        /* nginx's DOCUMENT_URI and Apache's paths: dot segments only (they
         * are normalised already; this is defence in depth) */
        {NULL, NULL, "/bob/../env", "/bob/../env", "/env"},
        {NULL, NULL, "/a//b", "/a//b", "/a//b"},
        {NULL, NULL, "/../x", "/../x", NULL},
        {"/bob", "/../env", NULL, NULL, "/env"},
        /* Apache: SCRIPT_NAME + PATH_INFO as sent */
        {"/app", "/x/y", NULL, "/app/x/y", "/app/x/y"},
        {"", "/x", NULL, "/x", "/x"},
        {NULL, "/only-info", NULL, NULL, "/only-info"},
        /* Apache with proxy-scgi-pathinfo: SCRIPT_NAME is the whole decoded
         * path and PATH_INFO the encoded rest; the path is SCRIPT_NAME */
        {"/app/env/a b", "/env/a%20b", NULL, "/app/env/a%20b?q=1", "/app/env/a b"},
        {"/app/x", "/x", NULL, "/app/x", "/app/x"},
        /* ... but a real split whose parts happen to repeat is kept */
        {"/a/b", "/b", NULL, "/a/b/b", "/a/b/b"},
        /* nothing usable: the root */
        {NULL, NULL, NULL, NULL, "/"},
        {NULL, NULL, NULL, "", "/"},
};

static size_t add(sw_scgi_header_t *h, size_t n, const char *name, const char *value)
{
    if (!value)
        return n;
    h[n] = (sw_scgi_header_t){name, strlen(name), value, strlen(value)};
    return n + 1;
}

static void check_case(const path_case_t *c)
{
    sw_scgi_header_t h[8];
    size_t n = add(h, 0, "CONTENT_LENGTH", "0");
    n = add(h, n, "SCRIPT_NAME", c->script_name);
    n = add(h, n, "PATH_INFO", c->path_info);
    n = add(h, n, "DOCUMENT_URI", c->document_uri);
    n = add(h, n, "REQUEST_URI", c->request_uri);
    char *got = sw_request_full_path(h, n);
    if (!c->want) {
        cr_expect_null(got, "path should be refused, got %s", got);
    } else {
        cr_assert_not_null(got);
        cr_expect_str_eq(got, c->want);
    }
    free(got);
}

/* Table-driven in one test: Criterion re-executes the binary per test, so
 * pointers cannot travel as parameters. */
Test(request, full_path)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

Test(request, percent_decode_in_place)
{
    char s[] = "%41%62c%2f%2F%25";
    cr_assert_eq(sw_percent_decode(s), 0);
    cr_expect_str_eq(s, "Abc//%");
    /* nginx refuses a '%' not followed by two hex digits (400) */
    char bad1[] = "a%zz", bad2[] = "a%", bad3[] = "a%4", nul[] = "a%00";
    cr_expect_eq(sw_percent_decode(bad1), -1);
    cr_expect_eq(sw_percent_decode(bad2), -1);
    cr_expect_eq(sw_percent_decode(bad3), -1);
    cr_expect_eq(sw_percent_decode(nul), -1);
}

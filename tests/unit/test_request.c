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
        {NULL, NULL, NULL, "/caf%C3%A9/%2Fx#frag", "/caf\xC3\xA9//x"},
        {NULL, NULL, NULL, "/bad%zzescape%", "/bad%zzescape%"},
        {NULL, NULL, NULL, "/nul%00byte", NULL},
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
    char s[] = "%41%62c%2f%2F%";
    cr_assert_eq(sw_percent_decode(s), 0);
    cr_expect_str_eq(s, "Abc//%");
}

/* test_wsgi_header.c: the response status and header checks
 * (src/wsgi_header.c), table-driven; tests/fuzz/fuzz_wsgi_header.c fuzzes
 * the same functions against a model. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "wsgi_header.h"

typedef struct {
    const char *name, *value;
    size_t vlen;          /* 0: strlen(value) */
    int ok;
} header_case_t;

static const header_case_t headers[] = {
    {"Content-Type", "text/plain", 0, 1},
    {"X-Tab", "a\tb", 0, 1},
    {"X-Latin1", "caf\xe9", 0, 1},
    {"X-Empty", "", 0, 1},
    {"!#$%&'*+-.^_`|~09azAZ", "v", 0, 1},
    {"X-VT", "a\x0b" "b", 0, 0},
    {"X-ESC", "\x1b[31m", 0, 0},
    {"X-DEL", "a\x7f", 0, 0},
    {"X-CR", "a\rb", 0, 0},
    {"X-LF", "a\nb", 0, 0},
    {"X-NUL", "a\0b", 3, 0},
    {"X-US", "\x1f", 0, 0},
    {"", "v", 0, 0},
    {"Bad Name", "v", 0, 0},
    {"X:Y", "v", 0, 0},
    {"X\x7f", "v", 0, 0},
    {"Caf\xe9", "v", 0, 0},
    {"Status", "302 Found", 0, 0},
    {"STATUS", "200 OK", 0, 0},
    {"Content-Length", "5x", 0, 0},
    {"Content-Length", "", 0, 0},
    {"Content-Length", " 5", 0, 0},
    {"Content-Length", "-1", 0, 0},
    {"Content-Length", "1234567890123456789", 0, 0},
    {"Content-Length", "123456789012345678", 0, 1},
};

Test(wsgi_header, headers)
{
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        const header_case_t *c = &headers[i];
        sw_wsgi_head_t h = SW_WSGI_HEAD_INIT;
        const char *why = NULL;
        size_t vlen = c->vlen ? c->vlen : strlen(c->value);
        int rc = sw_wsgi_header_check(&h, c->name, strlen(c->name), c->value, vlen, &why, NULL);
        cr_expect_eq(rc, c->ok ? 0 : -1, "header %zu (%s): rc %d (%s)", i, c->name, rc,
                     why ? why : "");
        if (!c->ok)
            cr_expect(why && why[0], "header %zu: no reason", i);
    }
}

Test(wsgi_header, content_length_once_and_bad_byte_offset)
{
    sw_wsgi_head_t h = SW_WSGI_HEAD_INIT;
    const char *why;
    size_t bad = SIZE_MAX;
    cr_expect_eq(sw_wsgi_header_check(&h, "Content-Length", 14, "42", 2, &why, &bad), 0);
    cr_expect_eq(h.content_length, 42);
    cr_expect_eq(sw_wsgi_header_check(&h, "content-length", 14, "42", 2, &why, &bad), -1);
    cr_expect_eq(h.content_length, 42);
    cr_expect_eq(sw_wsgi_header_check(&h, "X", 1, "ab\x0b", 3, &why, &bad), -1);
    cr_expect_eq(bad, 2);
}

Test(wsgi_header, status)
{
    const char *why;
    cr_expect_eq(sw_wsgi_status_check("200 OK", 6, &why), 200);
    cr_expect_eq(sw_wsgi_status_check("404 ", 4, &why), 404);
    cr_expect_eq(sw_wsgi_status_check("599 x\ty", 7, &why), 599);
    static const char *const bad[] = {"200", "200OK", "20 OK", "099 x", "2x0 OK",
                                      "200 O\nK", "200 O\x0bK", "200 \x7f", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(sw_wsgi_status_check(bad[i], strlen(bad[i]), &why), -1, "status %zu", i);
}

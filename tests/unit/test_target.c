/* test_target.c: admin/target.c, the admin request target as pure
 * functions: the raw-target check (length, encoded NUL), the route pattern
 * match and the ?wait= parser. Table-driven. */
#include "target.h"

#include <criterion/criterion.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(target, check)
{
    static const struct {
        const char *target;
        sw_target_verdict_t want;
    } cases[] = {
        {"/v1/apps", SW_TARGET_OK},
        {"/v1/apps/ablog%00", SW_TARGET_NUL},
        {"/v1/apps%00/ablog", SW_TARGET_NUL},
        {"/panel/panel.js%00.html", SW_TARGET_NUL},
        {"/v1/apps?x=%00", SW_TARGET_NUL},
        {"/v1/apps/a%2500", SW_TARGET_OK},     /* an escaped '%', then "00" */
        {"/v1/apps/a%0", SW_TARGET_OK},
        {"/v1/apps/a%20", SW_TARGET_OK},
        {"", SW_TARGET_OK},
    };
    for (size_t i = 0; i < N(cases); i++)
        cr_expect_eq(sw_target_check(cases[i].target, strlen(cases[i].target)), cases[i].want,
                     "%s", cases[i].target);
    cr_expect_eq(sw_target_check(NULL, 0), SW_TARGET_OK);
    /* Only len bytes are looked at: "%00" just past them does not count. */
    cr_expect_eq(sw_target_check("/a%00", 3), SW_TARGET_OK);

    static char big[SW_TARGET_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    cr_expect_eq(sw_target_check(big, SW_TARGET_MAX), SW_TARGET_OK);
    cr_expect_eq(sw_target_check(big, SW_TARGET_MAX + 1), SW_TARGET_TOO_LONG);
}

Test(target, match)
{
    static const struct {
        const char *pattern, *path;
        int want;
        const char *name;
    } cases[] = {
        {"/v1/apps", "/v1/apps", 1, ""},
        {"/v1/apps", "/v1/apps/", 0, ""},
        {"/v1/apps/*", "/v1/apps/blog", 1, "blog"},
        {"/v1/apps/*", "/v1/apps/", 0, ""},
        {"/v1/apps/*", "/v1/apps/blog/", 0, ""},
        {"/v1/apps/*/reload", "/v1/apps/blog/reload", 1, "blog"},
        {"/v1/apps/*/reload", "/v1/apps//reload", 0, ""},
        {"/v1/apps/*/reload", "/v1/apps/blog/destroy", 0, ""},
        {"/panel/*", "/panel/panel.js", 1, "panel.js"},
        {"/", "/", 1, ""},
        {"/", "", 0, ""},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char name[16] = "junk";
        int m = sw_target_match(cases[i].pattern, cases[i].path, name, sizeof name);
        cr_expect_eq(m, cases[i].want, "%s vs %s", cases[i].pattern, cases[i].path);
        if (m)
            cr_expect_str_eq(name, cases[i].name, "%s vs %s", cases[i].pattern, cases[i].path);
    }
    /* A segment too long for the buffer matches with name "": no app. */
    char name[4] = "x";
    cr_expect_eq(sw_target_match("/v1/apps/*", "/v1/apps/abcd", name, sizeof name), 1);
    cr_expect_str_eq(name, "");
    cr_expect_eq(sw_target_match("/v1/apps/*", "/v1/apps/abc", name, sizeof name), 1);
    cr_expect_str_eq(name, "abc");
}

Test(target, wait)
{
    static const struct {
        const char *v;
        int ok;
        double want;
    } cases[] = {
        {"0", 1, 0},       {"30", 1, 30},      {"2.5", 1, 2.5},   {"3600", 1, 3600},
        {"3600.0", 1, 3600}, {"3600.1", 0, 0}, {"", 0, 0},        {"-1", 0, 0},
        {"1e3", 0, 0},     {"inf", 0, 0},      {"nan", 0, 0},     {".5", 0, 0},
        {"5.", 0, 0},      {"1.2.3", 0, 0},    {" 1", 0, 0},      {"0x10", 0, 0},
        {"00000000000000001", 0, 0},            /* 17 bytes */
        {"0000000000000001", 1, 1},             /* 16 */
    };
    for (size_t i = 0; i < N(cases); i++) {
        double w = -1;
        int rc = sw_target_wait(cases[i].v, strlen(cases[i].v), 3600.0, &w);
        cr_expect_eq(rc, cases[i].ok ? 0 : -1, "\"%s\"", cases[i].v);
        if (cases[i].ok)
            cr_expect(w == cases[i].want, "\"%s\": %g", cases[i].v, w);
    }
    /* A NUL inside the given length is not a number's end. */
    double w;
    cr_expect_eq(sw_target_wait("1\0", 2, 3600.0, &w), -1);
    /* len, not the NUL, ends the value. */
    cr_expect_eq(sw_target_wait("12x", 2, 3600.0, &w), 0);
    cr_expect(w == 12);
}

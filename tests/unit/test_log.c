/* test_log.c: log lines carry client and app bytes escaped: one line per
 * call whatever the bytes (src/log.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(log, access_fields_are_escaped)
{
    char dir[] = "/tmp/sw-test-log-XXXXXX", err[256];
    cr_assert_not_null(mkdtemp(dir));
    char *e = NULL, *a = NULL;
    cr_assert(asprintf(&e, "%s/error.log", dir) > 0 && asprintf(&a, "%s/access.log", dir) > 0);
    cr_assert_eq(sw_log_open(e, a, err, sizeof err), 0, "%s", err);
    sw_log_access("app", "GET\nforged", "/x\r\n2026 forged \"q\" \\ \x1b\xff", 200, 5, 1.0);
    sw_log_access(NULL, "", NULL, 404, 0, 0.5);
    sw_log(SW_LOG_INFO, NULL, "path %s", "/a\nb\x1b[0m\tc");
    sw_log_text(SW_LOG_WARN, "app", "one\rtwo\nthree\x7f", 14);
    sw_log_close();

    char *acc = slurp(a);
    cr_expect_eq(lines(acc), 2, "access log:\n%s", acc);
    cr_expect(strstr(acc, " app GET\\x0aforged /x\\x0d\\x0a2026\\x20forged\\x20\\x22q\\x22"
                          "\\x20\\x5c\\x20\\x1b\\xff 200 5 1.000ms\n") != NULL,
              "access log:\n%s", acc);
    cr_expect(strstr(acc, " - - - 404 0 0.500ms\n") != NULL, "access log:\n%s", acc);
    char *err_log = strdup(slurp(e));
    cr_expect_eq(lines(err_log), 3, "error log:\n%s", err_log);
    cr_expect(strstr(err_log, "info [subwsgi] path /a\\x0ab\\x1b[0m\tc\n") != NULL,
              "error log:\n%s", err_log);
    cr_expect(strstr(err_log, "warn [app] one\\x0dtwo\n") != NULL, "error log:\n%s", err_log);
    cr_expect(strstr(err_log, "warn [app] three\\x7f\n") != NULL, "error log:\n%s", err_log);
    free(err_log);
    unlink(e);
    unlink(a);
    rmdir(dir);
    free(e);
    free(a);
}

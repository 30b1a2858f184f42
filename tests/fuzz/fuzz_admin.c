/* fuzz_admin.c: libFuzzer target for the admin port's request target
 * (admin/target.c): the raw-target check, the route pattern match and the
 * ?wait= parser, each on an exact-size copy of the input (so ASan sees a
 * read past its end), with their invariants. Any broken one traps. See
 * tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_target(const char *buf, size_t len);
static void check_routes(const char *path);
static void check_match(const char *pattern, const char *path, size_t namelen);
static void check_wait(const char *buf, size_t len);

/* The patterns of admin/http.c's route table. */
static const char *const patterns[] = {
    "/healthz", "/", "/panel/*", "/v1/apps", "/v1/apps/*", "/v1/apps/*/log",
    "/v1/apps/*/reload", "/v1/apps/*/destroy", "/v1/server", "/v1/server/recycle", "/metrics",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *exact = malloc(size ? size : 1);
    char *str = malloc(size + 1);
    if (!exact || !str) {
        free(exact);
        free(str);
        return 0;
    }
    memcpy(exact, data, size);
    memcpy(str, data, size);
    str[size] = '\0';

    check_target(exact, size);
    check_wait(exact, size);
    /* As a decoded path (up to its first NUL, as libmicrohttpd hands it). */
    check_routes(str);
    /* As "PATTERN\nPATH": any pattern against any path. */
    char *nl = strchr(str, '\n');
    if (nl) {
        *nl = '\0';
        check_match(str, nl + 1, 1 + (size % 300));
        CHECK(strchr(str, '*') || sw_target_match(str, str, NULL, 0) == 1);
    }
    free(exact);
    free(str);
    return 0;
}

/* TOO_LONG exactly over SW_TARGET_MAX; else NUL exactly when "%00" is in it. */
static void check_target(const char *buf, size_t len)
{
    sw_target_verdict_t v = sw_target_check(buf, len);
    if (len > SW_TARGET_MAX) {
        CHECK(v == SW_TARGET_TOO_LONG);
        return;
    }
    int has_nul = 0;
    for (size_t i = 0; i + 2 < len && !has_nul; i++)
        has_nul = buf[i] == '%' && buf[i + 1] == '0' && buf[i + 2] == '0';
    CHECK(v == (has_nul ? SW_TARGET_NUL : SW_TARGET_OK));
}

static void check_routes(const char *path)
{
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        check_match(patterns[i], path, 256);
        check_match(patterns[i], path, 4);
    }
}

/* A pattern without '*' matches only itself; with one, the name is
 * NUL-terminated within namelen, and when not "" it is a non-empty segment
 * of path, without '/'. */
static void check_match(const char *pattern, const char *path, size_t namelen)
{
    char *name = malloc(namelen);
    if (!name)
        return;
    memset(name, 'x', namelen);
    int m = sw_target_match(pattern, path, name, namelen);
    CHECK(m == 0 || m == 1);
    CHECK(memchr(name, '\0', namelen) != NULL);
    if (!strchr(pattern, '*'))
        CHECK(m == (strcmp(pattern, path) == 0));
    if (m && strchr(pattern, '*') && name[0]) {
        CHECK(strlen(name) < namelen);
        CHECK(strchr(name, '/') == NULL);
        CHECK(strstr(path, name) != NULL);
    }
    free(name);
}

/* Accepted: 1*DIGIT ["." 1*DIGIT], at most 16 bytes, value in 0..3600. */
static void check_wait(const char *buf, size_t len)
{
    double w = -1;
    if (sw_target_wait(buf, len, 3600.0, &w) != 0)
        return;
    CHECK(len >= 1 && len <= 16);
    CHECK(w >= 0.0 && w <= 3600.0);
    size_t dots = 0;
    for (size_t i = 0; i < len; i++) {
        CHECK((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.');
        dots += buf[i] == '.';
    }
    CHECK(dots <= 1 && buf[0] != '.' && buf[len - 1] != '.');
}

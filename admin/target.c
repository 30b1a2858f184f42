/* target.c: the admin port's request target as pure functions: refusing a
 * raw target that is too long or holds an encoded NUL, matching a path
 * against a route pattern, and parsing ?wait=. See target.h. */
#include "target.h"

#include <stdlib.h>
#include <string.h>

sw_target_verdict_t sw_target_check(const char *target, size_t len)
{
    if (len > SW_TARGET_MAX)
        return SW_TARGET_TOO_LONG;
    /* Path and query alike: libmicrohttpd decodes both, and a query value
     * ends at a NUL in the lookups other code may make. */
    for (size_t i = 0; target && i + 2 < len; i++)
        if (target[i] == '%' && target[i + 1] == '0' && target[i + 2] == '0')
            return SW_TARGET_NUL;
    return SW_TARGET_OK;
}

int sw_target_match(const char *pattern, const char *path, char *name, size_t namelen)
{
    const char *p = pattern, *u = path;
    if (namelen)
        name[0] = '\0';
    while (*p) {
        if (*p == '*') {
            size_t n = strcspn(u, "/");
            if (n == 0)
                return 0;
            if (n < namelen) {
                memcpy(name, u, n);
                name[n] = '\0';
            } else if (namelen) {
                name[0] = '\0';
            }
            u += n;
            p++;
            continue;
        }
        if (*p != *u)
            return 0;
        p++;
        u++;
    }
    return *u == '\0';
}

int sw_target_wait(const char *v, size_t len, double max, double *out)
{
    char buf[17];
    if (!v || len == 0 || len >= sizeof buf)
        return -1;
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < len && v[i] >= '0' && v[i] <= '9')
        i++, int_digits++;
    if (i < len && v[i] == '.') {
        i++;
        while (i < len && v[i] >= '0' && v[i] <= '9')
            i++, frac_digits++;
        if (frac_digits == 0)
            return -1;
    }
    if (int_digits == 0 || i != len)
        return -1;
    /* strtod on a NUL-terminated copy: v need not end where len does. */
    memcpy(buf, v, len);
    buf[len] = '\0';
    double w = strtod(buf, NULL);
    if (!(w >= 0.0 && w <= max))
        return -1;
    *out = w;
    return 0;
}

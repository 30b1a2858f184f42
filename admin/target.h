/* target.h: the admin port's request target (the "/path?query" of the
 * request line), as pure functions on bytes: the checks made on the raw
 * target before anything is decoded, the route pattern match and the
 * ?wait= value. No state, no lock, no libmicrohttpd: tests/fuzz/fuzz_admin.c
 * calls them on arbitrary input. */
#ifndef SW_ADMIN_TARGET_H
#define SW_ADMIN_TARGET_H

#include <stddef.h>

#define SW_TARGET_MAX 8192   /* bytes of a raw target; no route needs 300 */

typedef enum {
    SW_TARGET_OK = 0,
    SW_TARGET_TOO_LONG,      /* over SW_TARGET_MAX: 414 */
    SW_TARGET_NUL,           /* "%00" in the path or query: 400 */
} sw_target_verdict_t;

/* Checks the raw target (len bytes, not decoded; NULL is an empty one).
 * libmicrohttpd hands handlers the decoded path as a C string, so a
 * decoded NUL would end it early ("/v1/apps/evil%00x" would be read as
 * "/v1/apps/evil"): such a target is refused before any decoding. */
sw_target_verdict_t sw_target_check(const char *target, size_t len);

/* 1 when path matches pattern, else 0. '*' in pattern matches one
 * non-empty path segment, which is copied into name (NUL-terminated;
 * "" when it does not fit in namelen bytes: such a name matches no app;
 * name may be NULL when namelen is 0). */
int sw_target_match(const char *pattern, const char *path, char *name, size_t namelen);

/* ?wait=SECONDS: 1*DIGIT ["." 1*DIGIT], from 0 to max, given as len bytes
 * (not NUL-terminated, may hold NULs). Returns 0 with *out set, or -1 for
 * anything else (empty, negative, "1e3", "inf", over 16 bytes...). */
int sw_target_wait(const char *v, size_t len, double max, double *out);

#endif

/* test_applog.c: an app's ring of last log lines (src/applog.c): oldest
 * first, bounded by lines and bytes, long lines cut with the marker (never
 * inside a character), and the registry feeding a ring by the
 * app's name (as log.c does) and sharing it between apps of one name. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "applog.h"

#define T "2026-12-07T10:00:00.000Z"

static void push(sw_applog_t *log, const char *text)
{
    sw_applog_push(log, SW_LOG_ERROR, T, text, strlen(text));
}

/* The newest max lines of log, asserting there are want of them (free
 * with sw_applog_lines_free(l, want)). */
static sw_applog_line_t *read_n(sw_applog_t *log, size_t max, size_t want)
{
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, max, &l, &n), 0);
    cr_assert_eq(n, want, "%zu lines, want %zu", n, want);
    return l;
}

Test(applog, oldest_first_and_at_most_max)
{
    sw_applog_t *log = sw_applog_new(10, 4096, 64);
    cr_assert_not_null(log);
    push(log, "one");
    push(log, "two");
    push(log, "three");
    size_t n = 3;
    sw_applog_line_t *l = read_n(log, 100, n);
    cr_expect_str_eq(l[0].text, "one");
    cr_expect_str_eq(l[2].text, "three");
    cr_expect_str_eq(l[0].time, T);
    cr_expect_eq(l[0].level, SW_LOG_ERROR);
    sw_applog_lines_free(l, n);
    l = read_n(log, 2, 2);
    cr_expect_str_eq(l[0].text, "two", "the newest 2, oldest first");
    cr_expect_str_eq(l[1].text, "three");
    sw_applog_lines_free(l, 2);
    l = read_n(log, 0, 0);
    cr_expect_null(l);
    sw_applog_put(log);
}

/* Each row pushes "line NNNNN" (10 bytes) pushes times into a ring of the caps
 * given; the newest lines stay, oldest first. */
static const struct {
    const char *what;
    size_t max_lines, max_bytes;
    int pushes;
    size_t kept;
    const char *first, *last;
} bounds[] = {
    {"by lines", 5, 4096, 23, 5, "line 00018", "line 00022"},
    {"by bytes (10 a line, 100 in all)", 1000, 100, 50, 10, "line 00040", "line 00049"},
    {"under both caps", 1000, 4096, 3, 3, "line 00000", "line 00002"},
};

Test(applog, bounded_by_lines_and_bytes)
{
    for (size_t t = 0; t < sizeof bounds / sizeof bounds[0]; t++) {
        sw_applog_t *log = sw_applog_new(bounds[t].max_lines, bounds[t].max_bytes, 32);
        cr_assert_not_null(log);
        char text[32];
        for (int i = 0; i < bounds[t].pushes; i++) {
            snprintf(text, sizeof text, "line %05d", i);
            push(log, text);
        }
        sw_applog_line_t *l;
        size_t n;
        cr_assert_eq(sw_applog_read(log, 1000, &l, &n), 0);
        cr_expect_eq(n, bounds[t].kept, "%s: %zu kept", bounds[t].what, n);
        if (n == bounds[t].kept) {
            cr_expect_str_eq(l[0].text, bounds[t].first, "%s", bounds[t].what);
            cr_expect_str_eq(l[n - 1].text, bounds[t].last, "%s", bounds[t].what);
        }
        sw_applog_lines_free(l, n);
        sw_applog_put(log);
    }
}

Test(applog, long_line_cut_with_marker)
{
    sw_applog_t *log = sw_applog_new(10, 4096, 32);
    char text[200];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    push(log, text);
    push(log, "short");
    size_t n = 2;
    sw_applog_line_t *l = read_n(log, 10, n);
    cr_expect_eq(strlen(l[0].text), 32);
    size_t m = strlen(SW_APPLOG_CUT_MARKER);
    cr_expect_str_eq(l[0].text + 32 - m, SW_APPLOG_CUT_MARKER);
    cr_expect_str_eq(l[1].text, "short");
    sw_applog_lines_free(l, n);
    sw_applog_put(log);
}

Test(applog, cut_never_splits_a_character)
{
    /* 27 bytes over 26: the 18 bytes left before the marker end inside
     * the second "\u00e9", so only the first one stays. */
    sw_applog_t *log = sw_applog_new(10, 4096, 26);
    push(log, "abcdefghijklmno\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9zzzz");
    size_t n = 1;
    sw_applog_line_t *l = read_n(log, 10, n);
    cr_expect_str_eq(l[0].text, "abcdefghijklmno\xc3\xa9" SW_APPLOG_CUT_MARKER);
    sw_applog_lines_free(l, n);
    sw_applog_put(log);
}

Test(applog, registry_feeds_by_name_and_shares)
{
    sw_applog_t *a = sw_applog_get("ut-app");
    sw_applog_t *b = sw_applog_get("ut-app");
    cr_assert_not_null(a);
    cr_expect_eq(a, b, "two apps of one name share the ring");
    sw_applog_add("ut-app", SW_LOG_INFO, T, "hello", 5, NULL, 0);
    sw_applog_add("ut-other", SW_LOG_INFO, T, "not ours", 8, NULL, 0);
    sw_applog_add(NULL, SW_LOG_INFO, T, "the server's", 12, NULL, 0);
    sw_applog_put(b);
    size_t n = 1;
    sw_applog_line_t *l = read_n(a, 10, n);
    cr_expect_str_eq(l[0].text, "hello");
    cr_expect_eq(l[0].level, SW_LOG_INFO);
    sw_applog_lines_free(l, n);
    sw_applog_put(a);
}

Test(applog, log_lines_reach_the_ring)
{
    sw_applog_t *a = sw_applog_get("ut-logged");
    char err[128];
    cr_assert_eq(sw_log_open("/dev/null", "off", err, sizeof err), 0, "%s", err);
    sw_log(SW_LOG_WARN, "ut-logged", "bad \x01 byte %d", 7);
    sw_log_text(SW_LOG_ERROR, "ut-logged", "first\nsecond", 12);
    sw_log(SW_LOG_WARN, NULL, "the server's own");
    sw_log_close();
    size_t n = 3;
    sw_applog_line_t *l = read_n(a, 10, n);
    cr_expect_str_eq(l[0].text, "bad \\x01 byte 7");
    cr_expect_eq(l[0].level, SW_LOG_WARN);
    cr_expect_eq(strlen(l[0].time), 24);
    cr_expect_str_eq(l[1].text, "first");
    cr_expect_str_eq(l[2].text, "second");
    sw_applog_lines_free(l, n);
    sw_applog_put(a);
}

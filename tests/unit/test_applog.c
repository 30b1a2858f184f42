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

Test(applog, oldest_first_and_at_most_max)
{
    sw_applog_t *log = sw_applog_new(10, 4096, 64);
    cr_assert_not_null(log);
    push(log, "one");
    push(log, "two");
    push(log, "three");
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, 100, &l, &n), 0);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(l[0].text, "one");
    cr_expect_str_eq(l[2].text, "three");
    cr_expect_str_eq(l[0].time, T);
    cr_expect_eq(l[0].level, SW_LOG_ERROR);
    sw_applog_lines_free(l, n);
    cr_assert_eq(sw_applog_read(log, 2, &l, &n), 0);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(l[0].text, "two", "the newest 2, oldest first");
    cr_expect_str_eq(l[1].text, "three");
    sw_applog_lines_free(l, n);
    cr_assert_eq(sw_applog_read(log, 0, &l, &n), 0);
    cr_expect_eq(n, 0);
    sw_applog_put(log);
}

Test(applog, bounded_by_lines)
{
    sw_applog_t *log = sw_applog_new(5, 4096, 64);
    char text[32];
    for (int i = 0; i < 23; i++) {
        snprintf(text, sizeof text, "line %d", i);
        push(log, text);
    }
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, 100, &l, &n), 0);
    cr_assert_eq(n, 5);
    cr_expect_str_eq(l[0].text, "line 18");
    cr_expect_str_eq(l[4].text, "line 22");
    sw_applog_lines_free(l, n);
    sw_applog_put(log);
}

Test(applog, bounded_by_bytes)
{
    /* 10 bytes a line, 100 bytes in all: at most 10 lines kept. */
    sw_applog_t *log = sw_applog_new(1000, 100, 32);
    char text[32];
    for (int i = 0; i < 50; i++) {
        snprintf(text, sizeof text, "line %05d", i);
        push(log, text);
    }
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, 1000, &l, &n), 0);
    cr_assert_eq(n, 10);
    cr_expect_str_eq(l[9].text, "line 00049");
    cr_expect_str_eq(l[0].text, "line 00040");
    sw_applog_lines_free(l, n);
    sw_applog_put(log);
}

Test(applog, long_line_cut_with_marker)
{
    sw_applog_t *log = sw_applog_new(10, 4096, 32);
    char text[200];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    push(log, text);
    push(log, "short");
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, 10, &l, &n), 0);
    cr_assert_eq(n, 2);
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
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(log, 10, &l, &n), 0);
    cr_assert_eq(n, 1);
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
    sw_applog_add("ut-app", SW_LOG_INFO, T, "hello", 5);
    sw_applog_add("ut-other", SW_LOG_INFO, T, "not ours", 8);
    sw_applog_add(NULL, SW_LOG_INFO, T, "the server's", 12);
    sw_applog_put(b);
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(a, 10, &l, &n), 0);
    cr_assert_eq(n, 1);
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
    sw_applog_line_t *l;
    size_t n;
    cr_assert_eq(sw_applog_read(a, 10, &l, &n), 0);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(l[0].text, "bad \\x01 byte 7");
    cr_expect_eq(l[0].level, SW_LOG_WARN);
    cr_expect_eq(strlen(l[0].time), 24);
    cr_expect_str_eq(l[1].text, "first");
    cr_expect_str_eq(l[2].text, "second");
    sw_applog_lines_free(l, n);
    sw_applog_put(a);
}

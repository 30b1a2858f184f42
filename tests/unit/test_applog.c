/* test_applog.c: an app's ring of last log lines (src/applog.c): oldest
 * first, bounded by lines and bytes, long lines cut with the marker (never
 * inside a character), and the registry feeding a ring by the
 * app's name (as log.c does) and sharing it between apps of one name; and
 * the app's log file: written line by line, reopened after a rename, never
 * a symbolic link, a FIFO or a hard link. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- the app's log file ------------------------------------------------- */

static char *tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sw-applog-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void add(const char *app, const char *line)
{
    sw_applog_add(app, SW_LOG_INFO, T, line, strlen(line), line, strlen(line));
}

Test(applog, file_gets_the_lines_and_reopens_after_a_rename)
{
    char *dir = tmpdir(), path[128], moved[128], err[256] = "";
    snprintf(path, sizeof path, "%s/ut-file.log", dir);
    snprintf(moved, sizeof moved, "%s/ut-file.log.1", dir);
    sw_applog_t *log = sw_applog_get("ut-file");
    cr_assert_not_null(log);
    add("ut-file", "before any file\n");
    cr_assert_eq(sw_applog_set_file(log, path, err, sizeof err), 0, "%s", err);
    add("ut-file", "one\n");
    add("ut-other", "not ours\n");
    sw_applog_add(NULL, SW_LOG_INFO, T, "server\n", 7, "server\n", 7);
    cr_expect_str_eq(slurp(path), "one\n");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0640 & ~umask(022), "mode %o", st.st_mode & 0777);
    cr_expect_eq(sw_applog_set_file(log, path, err, sizeof err), 0, "the same path: kept");
    add("ut-file", "two\n");
    cr_expect_str_eq(slurp(path), "one\ntwo\n");

    /* logrotate: rename, then SIGUSR1 */
    cr_assert_eq(rename(path, moved), 0);
    add("ut-file", "three\n");
    cr_assert_eq(sw_applog_reopen_files(err, sizeof err), 0, "%s", err);
    add("ut-file", "four\n");
    cr_expect_str_eq(slurp(moved), "one\ntwo\nthree\n");
    cr_expect_str_eq(slurp(path), "four\n");

    cr_expect_eq(sw_applog_set_file(log, NULL, err, sizeof err), 0);
    add("ut-file", "five\n");
    cr_expect_str_eq(slurp(path), "four\n", "no file: nothing written");
    sw_applog_put(log);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

Test(applog, file_is_never_a_link_fifo_or_hard_link)
{
    char *dir = tmpdir(), path[128], victim[128], err[256];
    snprintf(path, sizeof path, "%s/ut-hostile.log", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    int fd = open(victim, O_WRONLY | O_CREAT, 0600);
    cr_assert(fd >= 0);
    close(fd);
    sw_applog_t *log = sw_applog_get("ut-hostile");

    cr_assert_eq(symlink(victim, path), 0);
    err[0] = '\0';
    cr_expect_eq(sw_applog_set_file(log, path, err, sizeof err), -1);
    cr_expect(strstr(err, "symbolic link"), "%s", err);
    add("ut-hostile", "through the link?\n");
    cr_expect_str_eq(slurp(victim), "", "nothing written through the link");
    unlink(path);

    /* A FIFO without a reader: an open for writing would block forever. */
    cr_assert_eq(mkfifo(path, 0600), 0);
    err[0] = '\0';
    cr_expect_eq(sw_applog_set_file(log, path, err, sizeof err), -1);
    cr_expect(strstr(err, "cannot open log file"), "%s", err);
    unlink(path);

    cr_assert_eq(link(victim, path), 0);
    err[0] = '\0';
    cr_expect_eq(sw_applog_set_file(log, path, err, sizeof err), -1);
    cr_expect(strstr(err, "hard links"), "%s", err);
    add("ut-hostile", "through the hard link?\n");
    cr_expect_str_eq(slurp(victim), "");
    unlink(path);

    /* A planted link found at reopen time (after a rotation) is refused too:
     * the old file keeps the lines. */
    cr_assert_eq(sw_applog_set_file(log, path, err, sizeof err), 0, "%s", err);
    char moved[160];
    snprintf(moved, sizeof moved, "%s.1", path);
    cr_assert_eq(rename(path, moved), 0);
    cr_assert_eq(symlink(victim, path), 0);
    err[0] = '\0';
    cr_expect_eq(sw_applog_reopen_files(err, sizeof err), -1);
    cr_expect(strstr(err, "symbolic link"), "%s", err);
    add("ut-hostile", "kept\n");
    cr_expect_str_eq(slurp(victim), "");
    cr_expect_str_eq(slurp(moved), "kept\n");
    sw_applog_put(log);
    unlink(path);
    unlink(moved);
    unlink(victim);
    rmdir(dir);
}

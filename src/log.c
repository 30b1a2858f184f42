/* log.c: the error log and the access log (see log.h), and escaping what
 * goes into them: a client's or an app's bytes never forge a line or send
 * a terminal escape. */
#include "log.h"

#include "applog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES SW_LOG_LINE_MAX

static int error_fd = STDERR_FILENO;
static int access_fd = STDERR_FILENO;   /* -1 when off */
/* The files behind error_fd and access_fd (NULL for stderr or off), for
 * sw_log_reopen. Set before the server's threads start. */
static char *error_path, *access_path;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* What escape() rewrites as \xHH. */
typedef enum {
    ESC_TEXT,    /* error log messages: C0 controls but tab, and DEL */
    ESC_FIELD,   /* access log fields: nginx's escape=default (controls,
                  * '"', '\\', bytes >= 0x7f) and the space that separates
                  * our fields */
} esc_mode_t;

static size_t escape(char *dst, size_t room, const char *src, size_t len, esc_mode_t mode);

static int open_log(const char *spec, int *fd, char *err, size_t errlen)
{
    if (!spec || strcmp(spec, "stderr") == 0) {
        *fd = STDERR_FILENO;
        return 0;
    }
    if (strcmp(spec, "off") == 0) {
        *fd = -1;
        return 0;
    }
    int f = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        snprintf(err, errlen, "cannot open log %s: %s", spec, strerror(errno));
        return -1;
    }
    *fd = f;
    return 0;
}

int sw_log_open(const char *error_log, const char *access_log,
                char *err, size_t errlen)
{
    int efd, afd;
    if (error_log && strcmp(error_log, "off") == 0) {
        snprintf(err, errlen, "error-log cannot be off");
        return -1;
    }
    if (open_log(error_log, &efd, err, errlen) < 0)
        return -1;
    if (open_log(access_log, &afd, err, errlen) < 0) {
        if (efd > STDERR_FILENO)
            close(efd);
        return -1;
    }
    error_fd = efd;
    access_fd = afd;
    error_path = efd > STDERR_FILENO ? strdup(error_log) : NULL;
    access_path = afd > STDERR_FILENO ? strdup(access_log) : NULL;
    return 0;
}

/* Points fd at a fresh open of path: dup3 swaps the file under the number
 * atomically, so a write in another thread goes to the old or the new file,
 * never to a closed descriptor. */
static int reopen_one(const char *path, int fd, char *err, size_t errlen)
{
    if (!path || fd <= STDERR_FILENO)
        return 0;
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        snprintf(err, errlen, "cannot reopen log %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = dup3(f, fd, O_CLOEXEC);
    if (rc < 0)
        snprintf(err, errlen, "cannot reopen log %s: %s", path, strerror(errno));
    close(f);
    return rc < 0 ? -1 : 0;
}

int sw_log_reopen(char *err, size_t errlen)
{
    int rc_error = reopen_one(error_path, error_fd, err, errlen);
    int rc_access = reopen_one(access_path, access_fd, err, errlen);
    /* The apps' own files (applog.h), rotated with the rest. */
    int rc_apps = sw_applog_reopen_files(err, errlen);
    return rc_error < 0 || rc_access < 0 || rc_apps < 0 ? -1 : 0;
}

void sw_log_close(void)
{
    if (error_fd > STDERR_FILENO)
        close(error_fd);
    if (access_fd > STDERR_FILENO && access_fd != error_fd)
        close(access_fd);
    error_fd = STDERR_FILENO;
    access_fd = STDERR_FILENO;
    free(error_path);
    free(access_path);
    error_path = access_path = NULL;
}

void sw_log_timestamp(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static void write_all(int fd, const char *line, size_t len)
{
    while (fd >= 0 && len > 0) {
        ssize_t w = write(fd, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        line += w;
        len -= (size_t)w;
    }
}

/* Ends line (len bytes, cut at the bound) with its '\n'; returns the new
 * length. line has LINE_MAX_BYTES of room. */
static size_t end_line(char *line, size_t len)
{
    if (len >= LINE_MAX_BYTES)
        len = LINE_MAX_BYTES - 1;
    line[len++] = '\n';
    return len;
}

static void write_line(int fd, char *line, size_t len)
{
    if (fd >= 0)
        write_all(fd, line, end_line(line, len));
}

/* An error-log line (its text at line + p, n bytes in all): to the error
 * log, and when it names an app to that app's ring and log file too. */
static void emit(sw_log_level_t level, const char *app, const char *ts, char *line,
                 size_t p, size_t n)
{
    size_t total = end_line(line, n);
    sw_applog_add(app, level, ts, line + p, total - 1 - p, line, total);
    write_all(error_fd, line, total);
}

const char *sw_log_level_name(sw_log_level_t level)
{
    return level_names[level];
}

/* Formats "TIME LEVEL [APP] " into line, the time also into ts; returns its
 * length. */
static size_t prefix(char *line, char ts[32], sw_log_level_t level, const char *app)
{
    sw_log_timestamp(ts);
    int n = snprintf(line, LINE_MAX_BYTES, "%s %s [%s] ", ts,
                     level_names[level], app ? app : "subwsgi");
    /* snprintf returns the length it wanted: never more than fits. */
    return n < 0 ? 0 : (size_t)n < LINE_MAX_BYTES - 1 ? (size_t)n : LINE_MAX_BYTES - 1;
}

void sw_log(sw_log_level_t level, const char *app, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES], msg[LINE_MAX_BYTES], ts[32];
    size_t n = prefix(line, ts, level, app), p = n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The arguments may carry client data (a path, a header name). */
    if (m > 0)
        n += escape(line + n, LINE_MAX_BYTES - 1 - n, msg,
                    (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1, ESC_TEXT);
    /* Also the app's copy for the admin API (GET /v1/apps/NAME/log) and
     * its log file. */
    emit(level, app, ts, line, p, n);
}

void sw_log_text(sw_log_level_t level, const char *app, const char *text,
                 size_t len)
{
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t piece = nl ? (size_t)(nl - text) : len;
        char line[LINE_MAX_BYTES], ts[32];
        size_t n = prefix(line, ts, level, app), p = n;
        n += escape(line + n, LINE_MAX_BYTES - 1 - n, text, piece, ESC_TEXT);
        emit(level, app, ts, line, p, n);
        if (!nl)
            break;
        text = nl + 1;
        len -= piece + 1;
    }
}

void sw_log_access(const char *app, const char *method, const char *uri,
                   int status, uint64_t bytes, double duration_ms)
{
    if (access_fd < 0)
        return;
    char ts[32], line[LINE_MAX_BYTES];
    const char *fields[] = {app, method, uri};
    sw_log_timestamp(ts);
    size_t n = strlen(ts), room = LINE_MAX_BYTES - 1;
    memcpy(line, ts, n);
    /* One line per request whatever the client sent: REQUEST_URI and
     * REQUEST_METHOD come from the client (or a front end passing them
     * on), so a line feed in them would forge lines. */
    for (size_t i = 0; i < 3 && n + 1 < room; i++) {
        line[n++] = ' ';
        if (fields[i] && fields[i][0])
            n += escape(line + n, room - n, fields[i], strlen(fields[i]), ESC_FIELD);
        else if (n < room)
            line[n++] = '-';
    }
    int m = snprintf(line + n, LINE_MAX_BYTES - n, " %d %llu %.3fms", status,
                     (unsigned long long)bytes, duration_ms);
    if (m > 0)
        n += (size_t)m < LINE_MAX_BYTES - n ? (size_t)m : LINE_MAX_BYTES - n - 1;
    write_line(access_fd, line, n);
}

void sw_log_access_line(const char *line, size_t len)
{
    char copy[LINE_MAX_BYTES];
    if (len >= sizeof copy)
        len = sizeof copy - 1;
    memcpy(copy, line, len);
    write_line(access_fd, copy, len);
}

/* Copies src[0, len) to dst, at most room bytes and never half an escape,
 * writing the bytes mode names as \xHH (as nginx's log_format
 * escape=default does). Returns the bytes written. */
static size_t escape(char *dst, size_t room, const char *src, size_t len, esc_mode_t mode)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        int esc = mode == ESC_TEXT ? (c < 0x20 && c != '\t') || c == 0x7f
                                   : c <= 0x20 || c >= 0x7f || c == '"' || c == '\\';
        if (!esc) {
            if (o + 1 > room)
                break;
            dst[o++] = (char)c;
            continue;
        }
        if (o + 4 > room)
            break;
        dst[o++] = '\\';
        dst[o++] = 'x';
        dst[o++] = hex[c >> 4];
        dst[o++] = hex[c & 15];
    }
    return o;
}

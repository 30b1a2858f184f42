/* applog.c: each app's log beyond the error log (see applog.h): the
 * registry of rings by app name, the bounded rings, reading them back as
 * copies for the admin API, and the app's own log file. */
#include "applog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char time[32];
    sw_log_level_t level;
    char *text;                    /* malloc'd, NUL-terminated */
    size_t len;
} slot_t;

struct sw_applog {
    char *name;                    /* NULL: not registered (sw_applog_new) */
    int refs;                      /* reg_lock when registered */
    struct sw_applog *next;        /* reg_lock: the registry's list */
    size_t max_lines, max_bytes, line_max;   /* never change */
    pthread_mutex_t lock;          /* guards the fields below; a leaf */
    slot_t *slots;                 /* lock: max_lines of them, made at the first line */
    size_t head;                   /* lock: index of the oldest line */
    size_t count;                  /* lock */
    size_t bytes;                  /* lock: the text bytes of the lines kept */
    pthread_mutex_t file_lock;     /* guards fd and path; a leaf: held while
                                    * writing, never while opening */
    int fd;                        /* file_lock: the app's log file, or -1 */
    char *path;                    /* file_lock: what fd was opened from */
    atomic_int has_file;           /* fd >= 0, read without a lock: a ring
                                    * without a file costs a writer nothing */
};

/* The registry: rings by app name. Taken before a ring's lock, and under
 * nothing of this module; a leaf for the rest of the process. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sw_applog_t *reg_head;      /* reg_lock */

sw_applog_t *sw_applog_new(size_t max_lines, size_t max_bytes, size_t line_max)
{
    /* A line must always fit, marker included, once older ones are gone. */
    if (max_lines == 0 || line_max < sizeof SW_APPLOG_CUT_MARKER + 4 || max_bytes < line_max)
        return NULL;
    sw_applog_t *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    log->refs = 1;
    log->max_lines = max_lines;
    log->max_bytes = max_bytes;
    log->line_max = line_max;
    log->fd = -1;
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->file_lock, NULL);
    return log;
}

sw_applog_t *sw_applog_get(const char *name)
{
    pthread_mutex_lock(&reg_lock);
    sw_applog_t *log = reg_head;
    while (log && strcmp(log->name, name) != 0)
        log = log->next;
    if (log) {
        log->refs++;
    } else if ((log = sw_applog_new(SW_APPLOG_MAX_LINES, SW_APPLOG_MAX_BYTES,
                                    SW_APPLOG_LINE_MAX)) != NULL) {
        log->name = strdup(name);
        if (!log->name) {
            pthread_mutex_destroy(&log->lock);
            pthread_mutex_destroy(&log->file_lock);
            free(log);
            log = NULL;
        } else {
            log->next = reg_head;
            reg_head = log;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return log;
}

void sw_applog_put(sw_applog_t *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&reg_lock);
    int last = --log->refs == 0;
    if (last && log->name) {
        sw_applog_t **p = &reg_head;
        while (*p != log)
            p = &(*p)->next;
        *p = log->next;
    }
    pthread_mutex_unlock(&reg_lock);
    if (!last)
        return;
    for (size_t i = 0; i < log->count; i++)
        free(log->slots[(log->head + i) % log->max_lines].text);
    free(log->slots);
    free(log->name);
    if (log->fd >= 0)
        close(log->fd);
    free(log->path);
    pthread_mutex_destroy(&log->lock);
    pthread_mutex_destroy(&log->file_lock);
    free(log);
}

static void write_file(sw_applog_t *log, const char *line, size_t len)
{
    pthread_mutex_lock(&log->file_lock);
    /* One write per line, O_APPEND: lines of several threads (or of an old
     * and a new process during a handover) never interleave. */
    while (log->fd >= 0 && len > 0) {
        ssize_t w = write(log->fd, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;   /* disk full, quota: the error log still has the line */
        line += w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&log->file_lock);
}

void sw_applog_add(const char *app, sw_log_level_t level, const char *time,
                   const char *text, size_t len, const char *line, size_t line_len)
{
    if (!app)
        return;
    /* Held while pushing, so the ring cannot be freed under us; both locks
     * are leaves, so this is safe from wherever log.c is called. The file
     * is written after reg_lock is let go (a slow disk must not stall
     * every app's logging), under a reference instead. */
    sw_applog_t *to_file = NULL;
    pthread_mutex_lock(&reg_lock);
    sw_applog_t *log = reg_head;
    while (log && strcmp(log->name, app) != 0)
        log = log->next;
    if (log) {
        sw_applog_push(log, level, time, text, len);
        if (line && atomic_load(&log->has_file)) {
            log->refs++;
            to_file = log;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    if (to_file) {
        write_file(to_file, line, line_len);
        sw_applog_put(to_file);
    }
}

/* Opens an app's log file for appending, as this process's user.
 * - O_NOFOLLOW: LOG_DIR may be writable by others than the user who opens
 *   the file (a shared group directory; in single mode the server's user
 *   opens files in every owner's LOG_DIR). A symbolic link planted as
 *   NAME.log would make us append the app's lines (which carry client
 *   data: paths, headers) to whatever the link names that this user may
 *   write: another owner's log, the user's ~/.bashrc. In host mode the
 *   worker runs as the owner, who could write that target anyway; the
 *   flag still stops a third user with write access to LOG_DIR.
 * - a regular file with one link: not a FIFO (an open for writing with no
 *   reader would block; O_NONBLOCK makes it fail instead), not a device,
 *   and not a hard link to someone else's file (where
 *   fs.protected_hardlinks is off).
 * - O_CLOEXEC: the app's subprocesses do not inherit it.
 * O_NONBLOCK stays set: it changes nothing for a regular file. */
static int open_file(const char *path, char *err, size_t errlen)
{
    int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
                 O_NOCTTY, 0640);
    if (f < 0) {
        snprintf(err, errlen, "cannot open log file %s: %s", path,
                 errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = fstat(f, &st) < 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                      : st.st_nlink > 1 ? "it has other hard links"
                      : NULL;
    if (why) {
        snprintf(err, errlen, "cannot open log file %s: %s", path, why);
        close(f);
        return -1;
    }
    return f;
}

/* Puts f (-1: none) and path as log's file; closes the one it replaces. */
static void swap_file(sw_applog_t *log, int f, char *path /* taken */)
{
    pthread_mutex_lock(&log->file_lock);
    int old = log->fd;
    char *old_path = log->path;
    log->fd = f;
    log->path = path;
    atomic_store(&log->has_file, f >= 0);
    pthread_mutex_unlock(&log->file_lock);
    if (old >= 0)
        close(old);
    free(old_path);
}

int sw_applog_set_file(sw_applog_t *log, const char *path, char *err, size_t errlen)
{
    if (!log)
        return 0;
    pthread_mutex_lock(&log->file_lock);
    int same = path && log->path && log->fd >= 0 && strcmp(path, log->path) == 0;
    pthread_mutex_unlock(&log->file_lock);
    if (same)
        return 0;
    if (!path) {
        swap_file(log, -1, NULL);
        return 0;
    }
    char *copy = strdup(path);
    int f = copy ? open_file(path, err, errlen) : -1;
    if (!copy)
        snprintf(err, errlen, "out of memory");
    if (f < 0) {
        free(copy);
        swap_file(log, -1, NULL);
        return -1;
    }
    swap_file(log, f, copy);
    return 0;
}

int sw_applog_reopen_files(char *err, size_t errlen)
{
    /* References to the rings with a file, taken under reg_lock; the
     * files are opened without any of our locks held. */
    pthread_mutex_lock(&reg_lock);
    size_t n = 0, k = 0;
    for (sw_applog_t *log = reg_head; log; log = log->next)
        n += atomic_load(&log->has_file) != 0;
    sw_applog_t **logs = n ? calloc(n, sizeof *logs) : NULL;
    for (sw_applog_t *log = reg_head; logs && log && k < n; log = log->next) {
        if (atomic_load(&log->has_file)) {
            log->refs++;
            logs[k++] = log;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    if (n && !logs) {
        snprintf(err, errlen, "out of memory reopening the apps' log files");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        sw_applog_t *log = logs[i];
        pthread_mutex_lock(&log->file_lock);
        char *path = log->path ? strdup(log->path) : NULL;
        pthread_mutex_unlock(&log->file_lock);
        char why[512];
        int f = path ? open_file(path, why, sizeof why) : -1;
        if (path && f < 0 && rc == 0) {
            snprintf(err, errlen, "%s", why);
            rc = -1;
        }
        if (f >= 0) {
            /* Unless set_file moved it elsewhere meanwhile. */
            pthread_mutex_lock(&log->file_lock);
            int still = log->path && log->fd >= 0 && strcmp(log->path, path) == 0;
            if (still) {
                int old = log->fd;
                log->fd = f;
                f = old;
            }
            pthread_mutex_unlock(&log->file_lock);
            close(f);   /* the old file, or the new one when unused */
        }
        free(path);
        sw_applog_put(log);
    }
    free(logs);
    return rc;
}

void sw_applog_push(sw_applog_t *log, sw_log_level_t level, const char *time,
                    const char *text, size_t len)
{
    /* Cut before the lock: the ring's lock is held only to link the line
     * in and drop old ones. */
    size_t n = len;
    if (n > log->line_max) {
        size_t mlen = strlen(SW_APPLOG_CUT_MARKER);
        n = log->line_max - mlen;
        /* Not inside a UTF-8 character: back to its first byte. */
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
            n--;
    }
    char *buf = malloc(n + sizeof SW_APPLOG_CUT_MARKER);
    if (!buf)
        return;
    memcpy(buf, text, n);
    if (n < len) {
        memcpy(buf + n, SW_APPLOG_CUT_MARKER, sizeof SW_APPLOG_CUT_MARKER);
        n += sizeof SW_APPLOG_CUT_MARKER - 1;
    }
    buf[n] = '\0';

    pthread_mutex_lock(&log->lock);
    if (!log->slots && !(log->slots = calloc(log->max_lines, sizeof *log->slots))) {
        pthread_mutex_unlock(&log->lock);
        free(buf);
        return;
    }
    /* n <= line_max <= max_bytes: once old lines go, the new one fits. */
    while (log->count > 0 &&
           (log->count == log->max_lines || log->bytes + n > log->max_bytes)) {
        slot_t *old = &log->slots[log->head];
        log->bytes -= old->len;
        free(old->text);
        old->text = NULL;
        log->head = (log->head + 1) % log->max_lines;
        log->count--;
    }
    slot_t *s = &log->slots[(log->head + log->count) % log->max_lines];
    snprintf(s->time, sizeof s->time, "%s", time ? time : "");
    s->level = level;
    s->text = buf;
    s->len = n;
    log->count++;
    log->bytes += n;
    pthread_mutex_unlock(&log->lock);
}

int sw_applog_read(sw_applog_t *log, size_t max, sw_applog_line_t **lines, size_t *n)
{
    *lines = NULL;
    *n = 0;
    if (!log || max == 0)
        return 0;
    pthread_mutex_lock(&log->lock);
    size_t k = log->count < max ? log->count : max;
    sw_applog_line_t *out = k ? calloc(k, sizeof *out) : NULL;
    size_t done = 0;
    for (size_t first = log->count - k; out && done < k; done++) {
        const slot_t *s = &log->slots[(log->head + first + done) % log->max_lines];
        memcpy(out[done].time, s->time, sizeof out[done].time);
        out[done].level = s->level;
        if (!(out[done].text = strdup(s->text)))
            break;
    }
    pthread_mutex_unlock(&log->lock);
    if (done < k) {
        sw_applog_lines_free(out, done);
        return -1;
    }
    *lines = out;
    *n = k;
    return 0;
}

void sw_applog_lines_free(sw_applog_line_t *lines, size_t n)
{
    for (size_t i = 0; lines && i < n; i++)
        free(lines[i].text);
    free(lines);
}

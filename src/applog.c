/* applog.c: each app's last log lines in memory (see applog.h): the
 * registry of rings by app name, the bounded rings, and reading them back
 * as copies for the admin API. */
#include "applog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    pthread_mutex_init(&log->lock, NULL);
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
    pthread_mutex_destroy(&log->lock);
    free(log);
}

void sw_applog_add(const char *app, sw_log_level_t level, const char *time,
                   const char *text, size_t len)
{
    if (!app)
        return;
    /* Held while pushing, so the ring cannot be freed under us; both locks
     * are leaves, so this is safe from wherever log.c is called. */
    pthread_mutex_lock(&reg_lock);
    sw_applog_t *log = reg_head;
    while (log && strcmp(log->name, app) != 0)
        log = log->next;
    if (log)
        sw_applog_push(log, level, time, text, len);
    pthread_mutex_unlock(&reg_lock);
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

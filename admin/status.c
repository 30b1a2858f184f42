/* status.c: the admin port's documents, built from snapshots: APP and
 * server JSON (jansson) and the Prometheus text of GET /metrics. */
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* A per-app series of /metrics: one sample per app. */
typedef struct {
    const char *name;
    const char *type;     /* "counter" | "gauge" */
    const char *help;
    unsigned long long (*get)(const sw_app_status_t *st);
} app_metric_t;

static int set(json_t *obj, const char *key, json_t *value);
static json_t *text(const char *s);
static json_t *text_or_null(const char *s);
static json_t *time_or_null(time_t t);
static json_t *timespec_or_null(const struct timespec *ts);
static json_t *interps_json(const sw_app_status_t *st);
static json_t *requests_json(const sw_app_status_t *st);
static json_t *loads_json(const sw_app_status_t *st);
static json_t *latency_json(const sw_app_status_t *st);
static json_t *last_reload_json(const sw_app_status_t *st);
static size_t utf8_seq_len(const unsigned char *p);
static void put_label_value(FILE *f, const char *s);
static unsigned long long m_active(const sw_app_status_t *st);
static unsigned long long m_queued(const sw_app_status_t *st);
static unsigned long long m_rejected(const sw_app_status_t *st);
static unsigned long long m_timeouts(const sw_app_status_t *st);
static unsigned long long m_client_aborts(const sw_app_status_t *st);
static unsigned long long m_reloads(const sw_app_status_t *st);
static unsigned long long m_generation(const sw_app_status_t *st);
static unsigned long long m_interpreters(const sw_app_status_t *st);

static const app_metric_t app_metrics[] = {
    {"subwsgi_requests_active", "gauge", "Requests being handled by a worker now.", m_active},
    {"subwsgi_requests_queued", "gauge", "Requests waiting in the app's queue.", m_queued},
    {"subwsgi_requests_rejected_total", "counter",
     "Requests refused with 503 because the app's queue was full.", m_rejected},
    {"subwsgi_request_timeouts_total", "counter",
     "Requests stopped by request-timeout.", m_timeouts},
    {"subwsgi_client_aborts_total", "counter",
     "Requests whose client left before sending the whole body.", m_client_aborts},
    {"subwsgi_reloads_total", "counter", "Reloads of the app.", m_reloads},
    {"subwsgi_generation", "gauge", "The app's serving generation (0: none).", m_generation},
    {"subwsgi_interpreters", "gauge",
     "Live interpreters of the app (serving and draining).", m_interpreters},
};

/* ---- APP ------------------------------------------------------------------ */

json_t *sw_status_app_json(const sw_app_status_t *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    rc |= set(o, "name", text(st->name ? st->name : ""));
    rc |= set(o, "owner", st->owner ? text(st->owner) : json_null());
    rc |= set(o, "state", text(sw_app_state_name(st->state)));
    rc |= set(o, "isolation", text(sw_isolation_name(st->isolation)));
    rc |= set(o, "isolation_reason", text_or_null(st->isolation_reason));
    rc |= set(o, "reload_mode", text(st->reload_mode ? st->reload_mode : "interpreter"));
    rc |= set(o, "reload_mode_reason", text_or_null(st->reload_mode_reason));
    rc |= set(o, "wsgi", st->wsgi ? text(st->wsgi) : json_null());
    rc |= set(o, "generation", json_integer(st->generation));
    rc |= set(o, "interpreters", interps_json(st));
    rc |= set(o, "requests", requests_json(st));
    rc |= set(o, "latency_ms", latency_json(st));
    rc |= set(o, "reloads", json_integer((json_int_t)st->reloads));
    rc |= set(o, "last_reload", last_reload_json(st));
    rc |= set(o, "loading", loads_json(st));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *interps_json(const sw_app_status_t *st)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < st->n_interps; i++) {
        const sw_interp_status_t *it = &st->interps[i];
        json_t *o = json_object();
        int rc = o ? 0 : -1;
        if (o) {
            rc |= set(o, "id", json_integer((json_int_t)it->id));
            rc |= set(o, "generation", json_integer(it->generation));
            rc |= set(o, "state", text(it->state ? it->state : "serving"));
            rc |= set(o, "threads", json_integer(it->threads));
            rc |= set(o, "busy", json_integer(it->busy));
            rc |= set(o, "requests", json_integer((json_int_t)it->requests));
            rc |= set(o, "created_at", time_or_null(it->created_at));
            rc |= set(o, "stuck_reason", text_or_null(it->stuck_reason[0] ? it->stuck_reason
                                                                            : NULL));
        }
        if (rc != 0 || json_array_append_new(a, o) != 0) {
            if (rc != 0)
                json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Builds running now: a wedged import shows here with its age, and as
 * overdue once it outlived load-timeout. */
static json_t *loads_json(const sw_app_status_t *st)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < st->n_loads; i++) {
        json_t *o = json_pack("{s:i, s:f, s:b}", "generation", st->loads[i].generation,
                              "age_s", st->loads[i].age_s, "overdue", st->loads[i].abandoned);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *requests_json(const sw_app_status_t *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    rc |= set(o, "total", json_integer((json_int_t)st->total));
    rc |= set(o, "active", json_integer((json_int_t)st->active));
    rc |= set(o, "queued", json_integer((json_int_t)st->queued));
    rc |= set(o, "status_2xx", json_integer((json_int_t)st->status_2xx));
    rc |= set(o, "status_3xx", json_integer((json_int_t)st->status_3xx));
    rc |= set(o, "status_4xx", json_integer((json_int_t)st->status_4xx));
    rc |= set(o, "status_5xx", json_integer((json_int_t)st->status_5xx));
    rc |= set(o, "rejected", json_integer((json_int_t)st->rejected));
    rc |= set(o, "timeouts", json_integer((json_int_t)st->timeouts));
    rc |= set(o, "client_aborts", json_integer((json_int_t)st->client_aborts));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *latency_json(const sw_app_status_t *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    /* Always numbers (reals), 0.0 before the first request; to the
     * microsecond, which keeps the text short. */
    double p50 = isfinite(st->p50_ms) ? round(st->p50_ms * 1000.0) / 1000.0 : 0.0;
    double p99 = isfinite(st->p99_ms) ? round(st->p99_ms * 1000.0) / 1000.0 : 0.0;
    int rc = 0;
    rc |= set(o, "p50", json_real(p50));
    rc |= set(o, "p99", json_real(p99));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* null before the first reload or destroy. "action" (reload | destroy |
 * load) is an extension of the contract. */
static json_t *last_reload_json(const sw_app_status_t *st)
{
    if (!st->has_last)
        return json_null();
    const sw_reload_record_t *r = &st->last;
    int running = strcmp(r->result, "running") == 0 || r->result[0] == '\0';
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    rc |= set(o, "generation", json_integer(r->generation));
    rc |= set(o, "action", text_or_null(r->action));
    rc |= set(o, "requested_by", text_or_null(r->requested_by));
    rc |= set(o, "started_at", timespec_or_null(&r->started_at));
    rc |= set(o, "finished_at", running ? json_null() : timespec_or_null(&r->finished_at));
    rc |= set(o, "duration_ms", running || !isfinite(r->duration_ms)
                                    ? json_null()
                                    : json_integer((json_int_t)llround(r->duration_ms)));
    rc |= set(o, "result", text(r->result[0] ? r->result : "running"));
    rc |= set(o, "error", r->error ? text(r->error) : json_null());
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- server ------------------------------------------------------------------ */

json_t *sw_status_log_json(const char *app, const sw_applog_line_t *lines, size_t n)
{
    json_t *doc = json_object(), *arr = json_array();
    if (!doc || !arr || set(doc, "app", text(app)) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_object();
        /* The line's text as the log has it (control bytes already \xHH);
         * jansson escapes it for JSON. */
        if (!l || set(l, "time", text(lines[i].time)) != 0 ||
            set(l, "level", text(sw_log_level_name(lines[i].level))) != 0 ||
            set(l, "text", text(lines[i].text)) != 0) {
            json_decref(l);
            goto fail;
        }
        if (json_array_append_new(arr, l) != 0)   /* takes l, even on failure */
            goto fail;
    }
    /* Takes arr, even on failure. */
    int rc = json_object_set_new(doc, "lines", arr);
    arr = NULL;
    if (rc != 0)
        goto fail;
    return doc;
fail:
    json_decref(arr);
    json_decref(doc);
    return NULL;
}

json_t *sw_status_server_json(const sw_server_info_t *info)
{
    json_t *o = json_object(), *ls = json_array(), *tot = json_object();
    int rc = o && ls && tot ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < info->n_listeners; i++)
        rc |= json_array_append_new(ls, text(info->listeners[i]));
    if (rc == 0) {
        rc |= set(tot, "total", json_integer((json_int_t)info->total));
        rc |= set(tot, "active", json_integer((json_int_t)info->active));
        rc |= set(tot, "queued", json_integer((json_int_t)info->queued));
        rc |= set(tot, "rejected", json_integer((json_int_t)info->rejected));
        rc |= set(tot, "timeouts", json_integer((json_int_t)info->timeouts));
    }
    if (rc == 0) {
        rc |= set(o, "version", text(info->version ? info->version : ""));
        rc |= set(o, "pid", json_integer((json_int_t)info->pid));
        rc |= set(o, "python", text(info->python));
        rc |= set(o, "started_at", timespec_or_null(&info->started_at));
        rc |= set(o, "uptime_s", json_real(isfinite(info->uptime_s)
                                               ? round(info->uptime_s * 1000.0) / 1000.0
                                               : 0.0));
        rc |= set(o, "listeners", ls);
        ls = NULL;   /* set() took it, even on failure */
        rc |= set(o, "totals", tot);
        tot = NULL;
        rc |= set(o, "handovers", json_integer((json_int_t)info->handovers));
        rc |= set(o, "rss_bytes", json_integer((json_int_t)info->rss_bytes));
        rc |= set(o, "rss_budget_bytes", info->rss_budget_bytes
                                             ? json_integer((json_int_t)info->rss_budget_bytes)
                                             : json_null());
    }
    json_decref(ls);
    json_decref(tot);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- /metrics -------------------------------------------------------------- */

char *sw_status_metrics(const sw_app_status_t *apps, size_t n_apps,
                        const sw_server_info_t *info)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;

    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
    fputs("# HELP subwsgi_requests_total Responses sent by the app, by status class.\n"
          "# TYPE subwsgi_requests_total counter\n", f);
    for (size_t i = 0; i < n_apps; i++) {
        const sw_app_status_t *st = &apps[i];
        const unsigned long counts[] = {st->status_2xx, st->status_3xx, st->status_4xx,
                                        st->status_5xx};
        for (size_t c = 0; c < 4; c++) {
            fputs("subwsgi_requests_total{app=\"", f);
            put_label_value(f, st->name);
            fprintf(f, "\",status=\"%s\"} %lu\n", classes[c], counts[c]);
        }
    }
    for (size_t m = 0; m < sizeof app_metrics / sizeof app_metrics[0]; m++) {
        const app_metric_t *am = &app_metrics[m];
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", am->name, am->help, am->name, am->type);
        for (size_t i = 0; i < n_apps; i++) {
            fprintf(f, "%s{app=\"", am->name);
            put_label_value(f, apps[i].name);
            fprintf(f, "\"} %llu\n", am->get(&apps[i]));
        }
    }
    fprintf(f,
            "# HELP subwsgi_rss_bytes Resident set size of the process.\n"
            "# TYPE subwsgi_rss_bytes gauge\n"
            "subwsgi_rss_bytes %llu\n"
            "# HELP subwsgi_uptime_seconds Seconds since the process started.\n"
            "# TYPE subwsgi_uptime_seconds gauge\n"
            "subwsgi_uptime_seconds %.3f\n"
            "# HELP subwsgi_handovers_total Process handovers so far.\n"
            "# TYPE subwsgi_handovers_total counter\n"
            "subwsgi_handovers_total %lu\n",
            (unsigned long long)info->rss_bytes,
            isfinite(info->uptime_s) ? info->uptime_s : 0.0, info->handovers);

    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Text format: "label_value can be any sequence of UTF-8 characters, but
 * the backslash (\), double-quote ("), and line feed (\n) characters have
 * to be escaped as \\, \", and \n, respectively." */
static void put_label_value(FILE *f, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        switch (*p) {
        case '\\': fputs("\\\\", f); break;
        case '"':  fputs("\\\"", f); break;
        case '\n': fputs("\\n", f); break;
        default:   fputc(*p, f); break;
        }
    }
}

static unsigned long long m_active(const sw_app_status_t *st) { return st->active; }
static unsigned long long m_queued(const sw_app_status_t *st) { return st->queued; }
static unsigned long long m_rejected(const sw_app_status_t *st) { return st->rejected; }
static unsigned long long m_timeouts(const sw_app_status_t *st) { return st->timeouts; }
static unsigned long long m_client_aborts(const sw_app_status_t *st)
{
    return st->client_aborts;
}
static unsigned long long m_reloads(const sw_app_status_t *st) { return st->reloads; }

static unsigned long long m_generation(const sw_app_status_t *st)
{
    return st->generation > 0 ? (unsigned long long)st->generation : 0;
}

static unsigned long long m_interpreters(const sw_app_status_t *st)
{
    return st->n_interps;
}

/* ---- times ------------------------------------------------------------------ */

int sw_status_rfc3339(time_t t, char out[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -1;
    return 0;
}

int sw_status_rfc3339_ms(const struct timespec *ts, char out[32])
{
    struct tm tm;
    char sec[24];
    if (!gmtime_r(&ts->tv_sec, &tm) || strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return -1;
    long ms = ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L ? ts->tv_nsec / 1000000L : 0;
    int n = snprintf(out, 32, "%s.%03ldZ", sec, ms);
    return n > 0 && n < 32 ? 0 : -1;
}

/* ---- helpers -------------------------------------------------------------------- */

/* json_object_set_new that also fails on a NULL value (a failed
 * constructor); the value is taken on every path. */
static int set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -1;
    return json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}

/* A JSON string of s. jansson refuses invalid UTF-8, and tracebacks or
 * paths may contain some: each byte that does not start a valid sequence
 * becomes U+FFFD instead. */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s);
    char *clean = malloc(n * 3 + 1), *w = clean;
    if (!clean)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = utf8_seq_len(p);
        if (len == 0) {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            p++;
        } else {
            memcpy(w, p, len);
            w += len;
            p += len;
        }
    }
    *w = '\0';
    j = json_string(clean);
    free(clean);
    return j;
}

static json_t *text_or_null(const char *s)
{
    return s && *s ? text(s) : json_null();
}

static json_t *time_or_null(time_t t)
{
    char buf[32];
    if (t <= 0 || sw_status_rfc3339(t, buf) != 0)
        return json_null();
    return json_string(buf);
}

static json_t *timespec_or_null(const struct timespec *ts)
{
    char buf[32];
    if ((ts->tv_sec == 0 && ts->tv_nsec == 0) || sw_status_rfc3339_ms(ts, buf) != 0)
        return json_null();
    return json_string(buf);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when p does not
 * start one (stray continuation byte, overlong form, surrogate, beyond
 * U+10FFFF, truncated). */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned c = p[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)   /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

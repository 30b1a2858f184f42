/* test_status.c: admin/status.c: the APP JSON of DESIGN section 6 from a
 * hand-filled snapshot (every field, its type, nulls), RFC 3339 times, the
 * GET /v1/server JSON, and the Prometheus text (families, escaping). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

TestSuite(status);

#define T_2026_11_26_13_00_00 ((time_t)1795698000)   /* date -u -d ... +%s */

static sw_interp_status_t interps[2];

/* The snapshot of DESIGN section 6's example, with distinct counters. */
static void fill(sw_app_status_t *st)
{
    memset(st, 0, sizeof *st);
    memset(interps, 0, sizeof interps);
    st->name = "blog";
    st->owner = "alice";
    st->wsgi = "/home/alice/blog/wsgi.py:application";
    st->state = SW_APP_SERVING;
    st->isolation = SW_ISOLATION_OWN_GIL;
    st->reload_mode = "interpreter";
    st->generation = 3;
    interps[0] = (sw_interp_status_t){.id = 7, .generation = 3, .state = "serving",
                                      .threads = 4, .busy = 1, .requests = 1234,
                                      .created_at = T_2026_11_26_13_00_00};
    interps[1] = (sw_interp_status_t){.id = 5, .generation = 2, .state = "draining",
                                      .threads = 4, .busy = 0, .requests = 99,
                                      .created_at = T_2026_11_26_13_00_00 - 3600};
    st->interps = interps;
    st->n_interps = 2;
    st->total = 101;
    st->active = 1;
    st->queued = 2;
    st->status_2xx = 90;
    st->status_3xx = 3;
    st->status_4xx = 4;
    st->status_5xx = 5;
    st->rejected = 6;
    st->timeouts = 7;
    st->client_aborts = 8;
    st->p50_ms = 1.5;
    st->p99_ms = 12.25;
    st->reloads = 2;
    st->has_last = 1;
    st->last.generation = 3;
    snprintf(st->last.action, sizeof st->last.action, "reload");
    st->last.requested_by = "alice";   /* never freed here: sw_app_status_free is not called */
    st->last.started_at = (struct timespec){T_2026_11_26_13_00_00, 123000000};
    st->last.finished_at = (struct timespec){T_2026_11_26_13_00_00, 535999999};
    st->last.duration_ms = 412.4;
    snprintf(st->last.result, sizeof st->last.result, "ok");
    st->last.error = NULL;
}

/* Asserts that o has exactly the keys of want (NULL-terminated). */
static void expect_keys(const json_t *o, const char *what, const char *const *want)
{
    cr_assert(json_is_object(o), "%s is not an object", what);
    size_t n = 0;
    for (; want[n]; n++)
        cr_expect_not_null(json_object_get(o, want[n]), "%s has no \"%s\"", what, want[n]);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= strcmp(key, want[i]) == 0;
        cr_expect(known, "%s has an unexpected key \"%s\"", what, key);
    }
}

static json_int_t int_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static const char *str_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "\"%s\" is not a string", key);
    return json_string_value(v);
}

/* ---- APP ---------------------------------------------------------------------------- */

Test(status, app_has_every_field_with_its_type)
{
    sw_app_status_t st;
    fill(&st);
    json_t *j = sw_status_app_json(&st);
    cr_assert_not_null(j);

    static const char *const app_keys[] = {
        "name", "owner", "state", "isolation", "isolation_reason", "reload_mode",
        "reload_mode_reason", "wsgi", "generation", "interpreters", "requests",
        "latency_ms", "reloads", "last_reload", "loading", NULL};
    expect_keys(j, "APP", app_keys);
    cr_expect_str_eq(str_at(j, "name"), "blog");
    cr_expect_str_eq(str_at(j, "owner"), "alice");
    cr_expect_str_eq(str_at(j, "state"), "serving");
    cr_expect_str_eq(str_at(j, "isolation"), "own-gil");
    cr_expect(json_is_null(json_object_get(j, "isolation_reason")));
    cr_expect_str_eq(str_at(j, "reload_mode"), "interpreter");
    cr_expect(json_is_null(json_object_get(j, "reload_mode_reason")));
    cr_expect_str_eq(str_at(j, "wsgi"), "/home/alice/blog/wsgi.py:application");
    cr_expect_eq(int_at(j, "generation"), 3);
    cr_expect_eq(int_at(j, "reloads"), 2);
    cr_expect(json_is_array(json_object_get(j, "loading")));
    cr_expect_eq(json_array_size(json_object_get(j, "loading")), 0);

    json_t *its = json_object_get(j, "interpreters");
    cr_assert(json_is_array(its));
    cr_assert_eq(json_array_size(its), 2);
    static const char *const interp_keys[] = {"id", "generation", "state", "threads", "busy",
                                              "requests", "created_at", "stuck_reason", NULL};
    json_t *it = json_array_get(its, 0);
    expect_keys(it, "interpreters[0]", interp_keys);
    cr_expect_eq(int_at(it, "id"), 7);
    cr_expect_eq(int_at(it, "generation"), 3);
    cr_expect_str_eq(str_at(it, "state"), "serving");
    cr_expect_eq(int_at(it, "threads"), 4);
    cr_expect_eq(int_at(it, "busy"), 1);
    cr_expect_eq(int_at(it, "requests"), 1234);
    cr_expect_str_eq(str_at(it, "created_at"), "2026-11-26T13:00:00Z");
    it = json_array_get(its, 1);
    expect_keys(it, "interpreters[1]", interp_keys);
    cr_expect_eq(int_at(it, "id"), 5);
    cr_expect_str_eq(str_at(it, "state"), "draining");
    cr_expect_str_eq(str_at(it, "created_at"), "2026-11-26T12:00:00Z");

    json_t *rq = json_object_get(j, "requests");
    static const struct {
        const char *key;
        json_int_t want;
    } counters[] = {{"total", 101},     {"active", 1},     {"queued", 2},
                    {"status_2xx", 90}, {"status_3xx", 3}, {"status_4xx", 4},
                    {"status_5xx", 5},  {"rejected", 6},   {"timeouts", 7},
                    {"client_aborts", 8}};
    static const char *const req_keys[] = {"total", "active", "queued", "status_2xx",
                                           "status_3xx", "status_4xx", "status_5xx",
                                           "rejected", "timeouts", "client_aborts",
                                           NULL};
    expect_keys(rq, "requests", req_keys);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cr_expect_eq(int_at(rq, counters[i].key), counters[i].want, "requests.%s",
                     counters[i].key);

    json_t *lat = json_object_get(j, "latency_ms");
    static const char *const lat_keys[] = {"p50", "p99", NULL};
    expect_keys(lat, "latency_ms", lat_keys);
    cr_expect(json_is_real(json_object_get(lat, "p50")), "p50 is a number (real)");
    cr_expect(json_is_real(json_object_get(lat, "p99")), "p99 is a number (real)");
    cr_expect_float_eq(json_real_value(json_object_get(lat, "p50")), 1.5, 1e-9);
    cr_expect_float_eq(json_real_value(json_object_get(lat, "p99")), 12.25, 1e-9);
    char *lt = json_dumps(lat, JSON_COMPACT);
    cr_expect_str_eq(lt, "{\"p50\":1.5,\"p99\":12.25}");
    free(lt);

    json_t *last = json_object_get(j, "last_reload");
    static const char *const last_keys[] = {"generation", "action", "requested_by",
                                            "started_at", "finished_at", "duration_ms",
                                            "result", "error", NULL};
    expect_keys(last, "last_reload", last_keys);
    cr_expect_eq(int_at(last, "generation"), 3);
    cr_expect_str_eq(str_at(last, "action"), "reload");
    cr_expect_str_eq(str_at(last, "requested_by"), "alice");
    cr_expect_str_eq(str_at(last, "started_at"), "2026-11-26T13:00:00.123Z");
    cr_expect_str_eq(str_at(last, "finished_at"), "2026-11-26T13:00:00.535Z");
    cr_expect_eq(int_at(last, "duration_ms"), 412);
    cr_expect_str_eq(str_at(last, "result"), "ok");
    cr_expect(json_is_null(json_object_get(last, "error")));

    /* It serialises (jansson refuses nothing in it). */
    char *text = json_dumps(j, JSON_COMPACT);
    cr_expect_not_null(text);
    free(text);
    json_decref(j);
}

Test(status, nulls_and_texts)
{
    sw_app_status_t st;
    fill(&st);
    st.owner = NULL;
    st.has_last = 0;
    st.n_interps = 0;
    st.interps = NULL;
    st.state = SW_APP_IDLE;
    st.generation = 0;
    st.isolation = SW_ISOLATION_SHARED_GIL;
    snprintf(st.isolation_reason, sizeof st.isolation_reason,
             "numpy refused an own-GIL interpreter");
    st.reload_mode = "process";
    snprintf(st.reload_mode_reason, sizeof st.reload_mode_reason,
             "_cffi_backend uses single-phase init");
    json_t *j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    cr_expect(json_is_null(json_object_get(j, "owner")), "no owner: null");
    cr_expect(json_is_null(json_object_get(j, "last_reload")), "no reload yet: null");
    cr_expect(json_is_array(json_object_get(j, "interpreters")));
    cr_expect_eq(json_array_size(json_object_get(j, "interpreters")), 0);
    cr_expect_str_eq(str_at(j, "state"), "idle");
    cr_expect_eq(int_at(j, "generation"), 0);
    cr_expect_str_eq(str_at(j, "isolation"), "shared-gil");
    cr_expect_str_eq(str_at(j, "isolation_reason"), "numpy refused an own-GIL interpreter");
    cr_expect_str_eq(str_at(j, "reload_mode"), "process");
    cr_expect_str_eq(str_at(j, "reload_mode_reason"), "_cffi_backend uses single-phase init");
    json_decref(j);

    /* Latencies to the microsecond; never NaN in the JSON. */
    fill(&st);
    st.p50_ms = 0.21820500000000001;
    st.p99_ms = NAN;
    j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    char *lt = json_dumps(json_object_get(j, "latency_ms"), JSON_COMPACT);
    cr_expect_str_eq(lt, "{\"p50\":0.218,\"p99\":0.0}");
    free(lt);
    json_decref(j);
}

Test(status, every_state_and_isolation_name)
{
    static const struct {
        sw_app_state_t state;
        const char *name;
    } states[] = {{SW_APP_LOADING, "loading"},     {SW_APP_SERVING, "serving"},
                  {SW_APP_RELOADING, "reloading"}, {SW_APP_DRAINING, "draining"},
                  {SW_APP_IDLE, "idle"},           {SW_APP_FAILED, "failed"}};
    static const struct {
        sw_isolation_t iso;
        const char *name;
    } isos[] = {{SW_ISOLATION_AUTO, "auto"},
                {SW_ISOLATION_OWN_GIL, "own-gil"},
                {SW_ISOLATION_SHARED_GIL, "shared-gil"},
                {SW_ISOLATION_MAIN, "main"}};
    sw_app_status_t st;
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        fill(&st);
        st.state = states[i].state;
        json_t *j = sw_status_app_json(&st);
        cr_assert_not_null(j);
        cr_expect_str_eq(str_at(j, "state"), states[i].name);
        json_decref(j);
    }
    for (size_t i = 0; i < sizeof isos / sizeof isos[0]; i++) {
        fill(&st);
        st.isolation = isos[i].iso;
        json_t *j = sw_status_app_json(&st);
        cr_assert_not_null(j);
        cr_expect_str_eq(str_at(j, "isolation"), isos[i].name);
        json_decref(j);
    }
}

Test(status, failed_and_running_reloads)
{
    sw_app_status_t st;
    fill(&st);
    snprintf(st.last.result, sizeof st.last.result, "failed");
    st.last.generation = 4;
    /* A traceback, with a byte that is not UTF-8 (a latin-1 path). */
    char err[] = "Traceback (most recent call last):\n  File \"/srv/caf\xe9/wsgi.py\", "
                 "line 3\n    def broken(:\nSyntaxError: invalid syntax";
    st.last.error = err;
    json_t *j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    json_t *last = json_object_get(j, "last_reload");
    cr_expect_str_eq(str_at(last, "result"), "failed");
    const char *e = str_at(last, "error");
    cr_expect(strstr(e, "SyntaxError: invalid syntax") != NULL, "error text: %s", e);
    cr_expect(strstr(e, "caf\xef\xbf\xbd/wsgi.py") != NULL,
              "an invalid byte becomes U+FFFD: %s", e);
    json_decref(j);

    fill(&st);
    snprintf(st.last.result, sizeof st.last.result, "running");
    st.last.finished_at = (struct timespec){0, 0};
    j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    last = json_object_get(j, "last_reload");
    cr_expect_str_eq(str_at(last, "result"), "running");
    cr_expect(json_is_null(json_object_get(last, "finished_at")), "running: no finished_at");
    cr_expect(json_is_null(json_object_get(last, "duration_ms")), "running: no duration");
    cr_expect_str_eq(str_at(last, "started_at"), "2026-11-26T13:00:00.123Z");
    json_decref(j);

    /* A destroy record: generation 0, action destroy. */
    fill(&st);
    snprintf(st.last.action, sizeof st.last.action, "destroy");
    st.last.generation = 0;
    j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    last = json_object_get(j, "last_reload");
    cr_expect_str_eq(str_at(last, "action"), "destroy");
    cr_expect_eq(int_at(last, "generation"), 0);
    json_decref(j);
}

Test(status, interpreter_without_creation_time)
{
    sw_app_status_t st;
    fill(&st);
    interps[0].created_at = 0;
    json_t *j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    json_t *it = json_array_get(json_object_get(j, "interpreters"), 0);
    cr_expect(json_is_null(json_object_get(it, "created_at")));
    json_decref(j);
}

/* ---- times ----------------------------------------------------------------------------- */

Test(status, rfc3339)
{
    static const struct {
        time_t t;
        const char *want;
    } secs[] = {
        {0, "1970-01-01T00:00:00Z"},
        {T_2026_11_26_13_00_00, "2026-11-26T13:00:00Z"},
        {1709251199, "2024-02-29T23:59:59Z"},
        {1709251200, "2024-03-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        char out[32];
        cr_assert_eq(sw_status_rfc3339(secs[i].t, out), 0);
        cr_expect_str_eq(out, secs[i].want);
    }
    static const struct {
        struct timespec ts;
        const char *want;
    } ms[] = {
        {{T_2026_11_26_13_00_00, 0}, "2026-11-26T13:00:00.000Z"},
        {{T_2026_11_26_13_00_00, 1000000}, "2026-11-26T13:00:00.001Z"},
        {{T_2026_11_26_13_00_00, 999999999}, "2026-11-26T13:00:00.999Z"},
        {{1709251199, 500000000}, "2024-02-29T23:59:59.500Z"},
    };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        char out[32];
        cr_assert_eq(sw_status_rfc3339_ms(&ms[i].ts, out), 0);
        cr_expect_str_eq(out, ms[i].want);
    }
}

/* ---- server --------------------------------------------------------------------------- */

Test(status, server_json)
{
    static const char *const ls[] = {"127.0.0.1:9000", "unix:/run/subwsgi/a.sock"};
    sw_server_info_t info = {.version = "0.1.0", .pid = 4242, .uptime_s = 12.5,
                             .listeners = ls, .n_listeners = 2, .handovers = 1,
                             .rss_bytes = 123456789, .rss_budget_bytes = 0,
                             .total = 10, .active = 2, .queued = 3, .rejected = 4,
                             .timeouts = 5};
    snprintf(info.python, sizeof info.python, "Python 3.11.2 (own-gil: no)");
    info.started_at = (struct timespec){.tv_sec = 1795000000, .tv_nsec = 0};
    json_t *j = sw_status_server_json(&info);
    cr_assert_not_null(j);
    static const char *const keys[] = {"version", "pid", "python", "started_at", "uptime_s",
                                       "listeners", "totals", "handovers", "rss_bytes",
                                       "rss_budget_bytes", NULL};
    expect_keys(j, "server", keys);
    cr_expect_str_eq(str_at(j, "version"), "0.1.0");
    cr_expect_eq(int_at(j, "pid"), 4242);
    cr_expect_str_eq(str_at(j, "started_at"), "2026-11-18T11:06:40.000Z");
    cr_expect_str_eq(str_at(j, "python"), "Python 3.11.2 (own-gil: no)");
    cr_expect(json_is_number(json_object_get(j, "uptime_s")));
    cr_expect_float_eq(json_number_value(json_object_get(j, "uptime_s")), 12.5, 1e-9);
    json_t *l = json_object_get(j, "listeners");
    cr_assert(json_is_array(l));
    cr_assert_eq(json_array_size(l), 2);
    cr_expect_str_eq(json_string_value(json_array_get(l, 1)), "unix:/run/subwsgi/a.sock");
    json_t *t = json_object_get(j, "totals");
    static const char *const tkeys[] = {"total", "active", "queued", "rejected", "timeouts",
                                        NULL};
    expect_keys(t, "totals", tkeys);
    cr_expect_eq(int_at(t, "total"), 10);
    cr_expect_eq(int_at(t, "timeouts"), 5);
    cr_expect_eq(int_at(j, "handovers"), 1);
    cr_expect_eq(int_at(j, "rss_bytes"), 123456789);
    cr_expect(json_is_null(json_object_get(j, "rss_budget_bytes")), "no budget: null");
    json_decref(j);

    info.rss_budget_bytes = 512ull << 20;
    info.n_listeners = 0;
    j = sw_status_server_json(&info);
    cr_assert_not_null(j);
    cr_expect_eq(int_at(j, "rss_budget_bytes"), (json_int_t)(512ll << 20));
    cr_expect_eq(json_array_size(json_object_get(j, "listeners")), 0);
    json_decref(j);
}

/* ---- Prometheus --------------------------------------------------------------------------- */

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

Test(status, metrics_text)
{
    sw_app_status_t apps[2];
    fill(&apps[0]);
    fill(&apps[1]);
    apps[1].name = "we\"ird\\app\nx";
    apps[1].status_2xx = 1;
    apps[1].n_interps = 1;
    apps[1].generation = 9;
    sw_server_info_t info = {.rss_bytes = 1048576, .uptime_s = 3.25, .handovers = 0};
    char *m = sw_status_metrics(apps, 2, &info);
    cr_assert_not_null(m);

    static const char *const lines[] = {
        "# TYPE subwsgi_requests_total counter",
        "subwsgi_requests_total{app=\"blog\",status=\"2xx\"} 90",
        "subwsgi_requests_total{app=\"blog\",status=\"3xx\"} 3",
        "subwsgi_requests_total{app=\"blog\",status=\"4xx\"} 4",
        "subwsgi_requests_total{app=\"blog\",status=\"5xx\"} 5",
        "subwsgi_requests_total{app=\"we\\\"ird\\\\app\\nx\",status=\"2xx\"} 1",
        "# TYPE subwsgi_requests_active gauge",
        "subwsgi_requests_active{app=\"blog\"} 1",
        "# TYPE subwsgi_requests_queued gauge",
        "subwsgi_requests_queued{app=\"blog\"} 2",
        "# TYPE subwsgi_requests_rejected_total counter",
        "subwsgi_requests_rejected_total{app=\"blog\"} 6",
        "# TYPE subwsgi_request_timeouts_total counter",
        "subwsgi_request_timeouts_total{app=\"blog\"} 7",
        "# TYPE subwsgi_client_aborts_total counter",
        "subwsgi_client_aborts_total{app=\"blog\"} 8",
        "# TYPE subwsgi_reloads_total counter",
        "subwsgi_reloads_total{app=\"blog\"} 2",
        "# TYPE subwsgi_generation gauge",
        "subwsgi_generation{app=\"blog\"} 3",
        "subwsgi_generation{app=\"we\\\"ird\\\\app\\nx\"} 9",
        "# TYPE subwsgi_interpreters gauge",
        "subwsgi_interpreters{app=\"blog\"} 2",
        "subwsgi_interpreters{app=\"we\\\"ird\\\\app\\nx\"} 1",
        "# TYPE subwsgi_rss_bytes gauge",
        "subwsgi_rss_bytes 1048576",
        "# TYPE subwsgi_uptime_seconds gauge",
        "subwsgi_uptime_seconds 3.250",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_expect(has_line(m, lines[i]), "no line \"%s\" in:\n%s", lines[i], m);

    /* Every family: one HELP and one TYPE, before its samples; every sample
     * line is NAME[{...}] VALUE; no raw newline inside a label. */
    char *copy = strdup(m), *save = NULL;
    char families[32][64];
    size_t nf = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        if (strncmp(line, "# HELP ", 7) == 0) {
            cr_assert_eq(sscanf(line + 7, "%63s", name), 1);
            for (size_t k = 0; k < nf; k++)
                cr_expect(strcmp(families[k], name) != 0, "HELP for %s twice", name);
            cr_assert_lt(nf, 32);
            snprintf(families[nf++], 64, "%s", name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[16];
            cr_assert_eq(sscanf(line + 7, "%63s %15s", name, type), 2, "%s", line);
            cr_expect(nf > 0 && strcmp(families[nf - 1], name) == 0,
                      "TYPE %s does not follow its HELP", name);
            cr_expect(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0, "%s", line);
            continue;
        }
        cr_expect(line[0] != '#', "unknown comment: %s", line);
        size_t n = strcspn(line, "{ ");
        snprintf(name, sizeof name, "%.*s", (int)n, line);
        cr_expect(nf > 0 && strcmp(families[nf - 1], name) == 0,
                  "sample of %s outside its family: %s", name, line);
        const char *value = strrchr(line, ' ');
        cr_assert_not_null(value, "%s", line);
        char *end = NULL;
        strtod(value + 1, &end);
        cr_expect(end && *end == '\0' && end != value + 1, "bad value in: %s", line);
        if (strncmp(name, "subwsgi_", 8) != 0)
            cr_expect_fail("sample without the subwsgi_ prefix: %s", line);
    }
    free(copy);
    cr_expect_geq(nf, 10, "families: %zu", nf);
    free(m);

    /* No apps: the process-wide series only, still valid. */
    m = sw_status_metrics(NULL, 0, &info);
    cr_assert_not_null(m);
    cr_expect(has_line(m, "subwsgi_rss_bytes 1048576"), "%s", m);
    cr_expect(strstr(m, "app=") == NULL, "%s", m);
    free(m);
}

/* A stuck interpreter says why; a build running shows with its age, and
 * as overdue past load-timeout. */
Test(status, stuck_reason_and_loading)
{
    sw_app_status_t st;
    fill(&st);
    st.interps[1].state = "stuck";
    snprintf(st.interps[1].stuck_reason, sizeof st.interps[1].stuck_reason,
             "app threads did not stop within 2s: app-waiter (daemon)");
    st.loads[0] = (sw_load_status_t){.generation = 4, .age_s = 61.5, .abandoned = 1};
    st.n_loads = 1;
    json_t *j = sw_status_app_json(&st);
    cr_assert_not_null(j);
    json_t *its = json_object_get(j, "interpreters");
    cr_expect(json_is_null(json_object_get(json_array_get(its, 0), "stuck_reason")));
    cr_expect_str_eq(str_at(json_array_get(its, 1), "stuck_reason"),
                     "app threads did not stop within 2s: app-waiter (daemon)");
    json_t *load = json_array_get(json_object_get(j, "loading"), 0);
    cr_assert_not_null(load);
    cr_expect_eq(int_at(load, "generation"), 4);
    cr_expect(json_real_value(json_object_get(load, "age_s")) == 61.5);
    cr_expect(json_is_true(json_object_get(load, "overdue")));
    json_decref(j);
}

/* GET /v1/apps/NAME/log: the lines in the order given, every field a
 * string, and bytes that are not UTF-8 (a client's path in a line) still
 * give a JSON string. */
Test(status, log_lines_json)
{
    sw_applog_line_t lines[2] = {
        {.time = "2026-12-07T10:00:00.000Z", .level = SW_LOG_INFO, .text = "first"},
        {.time = "2026-12-07T10:00:01.000Z", .level = SW_LOG_ERROR, .text = "bad \xff byte"},
    };
    json_t *j = sw_status_log_json("blog", lines, 2);
    cr_assert_not_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    cr_expect_str_eq(s, "{\"app\":\"blog\",\"lines\":["
                        "{\"time\":\"2026-12-07T10:00:00.000Z\",\"level\":\"info\",\"text\":\"first\"},"
                        "{\"time\":\"2026-12-07T10:00:01.000Z\",\"level\":\"error\","
                        "\"text\":\"bad \xef\xbf\xbd byte\"}]}");
    free(s);
    json_decref(j);
    j = sw_status_log_json("blog", NULL, 0);
    s = json_dumps(j, JSON_COMPACT);
    cr_expect_str_eq(s, "{\"app\":\"blog\",\"lines\":[]}");
    free(s);
    json_decref(j);
}

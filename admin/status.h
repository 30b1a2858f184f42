/* status.h: what the admin port says about apps and the server: the APP
 * JSON of DESIGN section 6, the GET /v1/server JSON, and the Prometheus text
 * of GET /metrics. Builders work on snapshots (sw_app_status_t,
 * sw_server_info_t) taken by the caller, so they take no lock and never a
 * GIL. Every JSON value returned is a new reference (the caller decrefs);
 * NULL means out of memory. */
#ifndef SW_ADMIN_STATUS_H
#define SW_ADMIN_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "app.h"
#include "applog.h"
#include "server.h"

/* APP: name, owner, state, isolation, isolation_reason, reload_mode,
 * reload_mode_reason, wsgi, generation, interpreters[], requests{},
 * latency_ms{}, reloads, last_reload (null or an object). Empty reasons,
 * a missing owner and a missing error are null. */
json_t *sw_status_app_json(const sw_app_status_t *st);

/* GET /v1/apps/NAME/log: {"app": NAME, "lines": [{"time", "level",
 * "text"}...]}, lines in the order given (oldest first). */
json_t *sw_status_log_json(const char *app, const sw_applog_line_t *lines, size_t n);

/* GET /v1/server: version, pid, python, uptime_s, listeners[], totals{},
 * handovers, rss_bytes, rss_budget_bytes (null when there is no budget). */
json_t *sw_status_server_json(const sw_server_info_t *info);

/* GET /metrics: Prometheus text exposition format 0.0.4, per-app series
 * labelled app="NAME" plus process-wide ones. A malloc'd string (the caller
 * frees it), or NULL. */
char *sw_status_metrics(const sw_app_status_t *apps, size_t n_apps,
                        const sw_server_info_t *info);

/* RFC 3339 UTC: "2026-11-26T13:00:00Z" (seconds) and
 * "2026-11-26T13:00:00.123Z" (milliseconds). Return 0, or -1 when the time
 * cannot be represented. */
int sw_status_rfc3339(time_t t, char out[32]);
int sw_status_rfc3339_ms(const struct timespec *ts, char out[32]);

#endif

/* harness.h: shared code of the integration tests: spawning the real subwsgi
 * binary (and nginx) on free ports, waiting for readiness, stopping them with
 * TERM then KILL, temp dirs, log polling, SCGI/HTTP requests, a flat JSON
 * reader. Prefix h_ ("harness").
 *
 * Everything a test creates through the harness (processes, temp dirs, the
 * strings returned by h_fmt) is recorded in a per-process registry and
 * released by h_cleanup(), which every suite installs as its Criterion .fini,
 * so servers are stopped even when an assertion fails. Spawned processes also
 * get PR_SET_PDEATHSIG(SIGKILL), so a crashed or timed-out test process does
 * not leave them behind.
 *
 * Threads: only h_async_*, h_request_try and the raw clients (h_http,
 * h_tcp_connect...) may be used off the test's main thread (h_bg_*);
 * everything else asserts (Criterion aborts the test) or touches the
 * registry, which is not locked. */
#ifndef SW_HARNESS_H
#define SW_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "scgi_client.h"

/* Generous bounds: the ASan build is 2-3x slower. */
#define H_READY_TIMEOUT 30.0     /* server start-up until its "ready" line */
#define H_STOP_TIMEOUT 30.0      /* SIGTERM until exit, then SIGKILL */
#define H_IO_TIMEOUT 30.0        /* each socket operation of a request */
#define H_SUITE_TIMEOUT 240.0    /* Criterion per-test timeout */

/* ---- environment, strings, files ------------------------------------------ */

/* $SW_BUILDDIR, $SW_SRCDIR (both default "."), $SW_NGINX and $SW_APACHE
 * (default ""). */
const char *h_builddir(void);
const char *h_srcdir(void);
const char *h_nginx(void);
const char *h_apache(void);

/* printf into a new string owned by the registry (freed by h_cleanup). */
char *h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Path of tests/apps/NAME in the source tree (registry-owned). */
char *h_app(const char *name);

/* A fresh directory /tmp/subwsgi-it-XXXXXX, removed by h_cleanup. */
char *h_tmpdir(void);

/* A TCP port on 127.0.0.1 that is free, below the ephemeral range (so no
 * client socket takes it), and reserved against other test processes
 * until h_cleanup. */
int h_free_port(void);

/* Writes/reads whole files; h_read_file returns a malloc'd NUL-terminated
 * buffer (caller frees) or NULL. h_write_file asserts. */
void h_write_file(const char *path, const void *data, size_t len);
char *h_read_file(const char *path, size_t *len);

/* Replaces path's content by renaming a new file over it, as deploy tools
 * do (a watcher sees one complete change). Asserts. */
void h_replace_file(const char *path, const char *text);

/* Polls until PATH exists; returns 1, or 0 after timeout seconds. */
int h_wait_file(const char *path, double timeout);

/* Occurrences of needle in hay. */
size_t h_count(const char *hay, const char *needle);

/* Monotonic seconds; sleep for a short polling interval. */
double h_now(void);
void h_nap(double seconds);

/* ---- processes -------------------------------------------------------------- */

typedef struct h_proc {
    pid_t pid;
    char *name;              /* for messages */
    char *log;               /* file receiving the child's stdout and stderr */
    int reaped;
    int status;              /* wait status once reaped */
} h_proc_t;

/* Spawns argv (argv[0] is a path) with stdout+stderr appended to log and
 * stdin from /dev/null; extra_env (NULL-terminated "K=V" list or NULL) is
 * added to the environment, replacing inherited variables of those names. Registered for h_cleanup. Asserts on failure. */
h_proc_t *h_spawn(const char *name, char *const argv[], const char *log,
                  char *const extra_env[]);

/* Soft RLIMIT_NOFILE (`ulimit -n`) of the processes h_spawn starts from
 * now on, e.g. a server under a low limit; 0 (the default, restored by
 * h_cleanup): they inherit the test's. */
void h_spawn_fd_limit(unsigned long limit);

/* The open file descriptors of process pid (/proc/PID/fd): returns how many
 * (-1 when it cannot be read); *inheritable (may be NULL) gets how many of
 * those above 2 lack close-on-exec; *listing (may be NULL) one line per fd,
 * "FD -> TARGET", marked "(inheritable)" where it applies (registry-owned). */
int h_proc_fds(long pid, int *inheritable, char **listing);

/* Reaps the process if it has exited; returns 1 when it has exited. */
int h_proc_exited(h_proc_t *p);

/* Waits up to timeout seconds; returns 1 when it exited. */
int h_proc_wait(h_proc_t *p, double timeout);

/* Stops the process named by a pid file (a handover's successor is not the
 * test's child): SIGTERM, up to 15 s, then SIGKILL. No-op for "" or a file
 * that names no live process. */
void h_stop_pid_file(const char *path);

/* SIGTERM, wait up to timeout, then SIGKILL. Returns the wait status. */
int h_proc_stop(h_proc_t *p, double timeout);

/* Runs argv to completion (at most timeout seconds, then killed); returns the
 * wait status and the combined output as a malloc'd string in *out. */
int h_run(char *const argv[], double timeout, char **out);

/* "exited 0", "killed by signal 11"... (registry-owned). */
char *h_status_text(int status);

/* ---- subwsgi ---------------------------------------------------------------- */

typedef struct h_server {
    h_proc_t *proc;
    char *dir;               /* temp dir holding its config and logs */
    char *out;               /* dir/server.log: its stdout and stderr */
    char *log;               /* its error log: out, unless error-log = PATH */
    char *scgi;              /* address of its first listener, for requests */
    int checked;             /* h_assert_no_crash ran after it exited */
} h_server_t;

/* Path of the binary: $SW_SUBWSGI when set (make check-tsan sets it to the
 * ThreadSanitizer build, src/subwsgi-tsan), else $SW_BUILDDIR/src/subwsgi. */
char *h_binary(void);

/* The CPython the binary embeds, as major*100+minor (311, 313...). */
int h_python_version(void);

/* NULL when a user other than root can read the CPython library the binary
 * embeds; else its path (registry-owned): a build against a CPython under
 * /root (pyenv's) cannot run host mode's workers, which run as their
 * owners. Checked as "nobody" (runuser). */
const char *h_python_unreadable(void);

/* Skips the test, saying why, unless host mode can run here with real OS
 * users: root, useradd, and a CPython other users can read. */
void h_require_host_mode(void);

/* Config lines that make Debian's Python packages (Flask, Django...,
 * installed for 3.11 in /usr/lib/python3/dist-packages) importable:
 * "" on 3.11, whose sys.path has them, else a python-path line. */
const char *h_debian_packages(void);

/* h_debian_packages() plus, on CPython 3.13+ (which removed the cgi module
 * that Debian 12's Django 3.2 and Bottle 0.12 import), a python-path line
 * for tests/apps/cgi313, a small stand-in. */
const char *h_framework_paths(void);

/* Starts subwsgi with args (NULL-terminated, without argv[0]) in dir, its
 * stderr in dir/server.log, and waits for its "ready" line (asserts, showing
 * the log, if the process exits or the line does not come in time). scgi is
 * the address requests go to by default. extra_env as in h_spawn. */
h_server_t *h_server_start(const char *dir, const char *scgi,
                           const char *const args[], char *const extra_env[]);

/* Like h_server_start, for a server whose error log goes to error_log
 * (its "error-log = PATH"); NULL means stderr. */
h_server_t *h_server_start_ex(const char *dir, const char *scgi,
                              const char *const args[],
                              char *const extra_env[], const char *error_log);

/* Writes text to dir/subwsgi.ini and starts `subwsgi -c dir/subwsgi.ini`. */
h_server_t *h_server_config(const char *dir, const char *scgi,
                            const char *ini_text, char *const extra_env[]);

/* A config-mode server in a fresh temp dir (->dir) listening for SCGI on
 * 127.0.0.1:port (->scgi): its config is "[server]", "scgi = ADDRESS", then
 * rest (more [server] keys, then the other sections). With hits (may be
 * NULL), the test apps' SW_TEST_HITS file (one line per request that
 * reached Python) is DIR/hits and *hits gets its path (registry-owned). */
h_server_t *h_server_at(int port, const char *rest, char **hits);

/* Quick mode: --app app_spec --scgi scgi plus extra args (may be NULL). */
h_server_t *h_server_quick(const char *dir, const char *app_spec,
                           const char *scgi, const char *const extra[]);

/* Stops the server (SIGTERM, then SIGKILL after H_STOP_TIMEOUT) and asserts
 * that it exited with status 0 and that its log shows no crash. */
void h_server_stop_clean(h_server_t *s);

/* Asserts that neither its stderr nor its error log shows a crash
 * (sanitizer report, fatal Python error...). A ThreadSanitizer report counts
 * as a crash: the TSan build (.ci/run) keeps the server running after one
 * (no halt_on_error), so this scan, here and in h_cleanup, is what fails the
 * test. */
void h_assert_no_crash(h_server_t *s);

/* The last few KiB of the server's log, for failure messages
 * (registry-owned). */
char *h_log_tail(h_server_t *s);

/* The server's log so far (malloc'd; caller frees). */
char *h_log(h_server_t *s);

/* Polls the log until it contains needle; returns 1, or 0 after timeout. */
int h_log_wait(h_server_t *s, const char *needle, double timeout);

/* Polls the log until a single line contains every needle (NULL-terminated
 * list); returns that line as a registry-owned string, or NULL on timeout. */
char *h_log_wait_line(h_server_t *s, const char *const needles[],
                      double timeout);

/* ---- SCGI requests ---------------------------------------------------------- */

/* One request through sw_scgi_client_request; asserts that it succeeded at
 * the transport level (any status). headers are "Name: value" strings. */
void h_request(const char *addr, const char *method, const char *uri,
               const char *const *headers, size_t n_headers,
               const void *body, size_t body_len, sw_scgi_response_t *resp);

/* GET without headers or body. */
void h_get(const char *addr, const char *uri, sw_scgi_response_t *resp);

/* GET uri; "STATUS BODY" as one registry-owned string, easy to compare. */
char *h_status_body(const char *addr, const char *uri);

/* Like h_request but returns 0 or -1 with err filled; no assertion, so it can
 * run on any thread. */
int h_request_try(const char *addr, const char *method, const char *uri,
                  const char *const *headers, size_t n_headers,
                  const void *body, size_t body_len, double timeout,
                  sw_scgi_response_t *resp, char *err, size_t errlen);

/* Sends bytes through sw_scgi_client_raw; returns its result. */
int h_raw(const char *addr, const void *bytes, size_t len, int shut_write,
          double timeout, sw_scgi_response_t *resp, char *err, size_t errlen);

/* Builds an SCGI request: netstring of CONTENT_LENGTH (= body_len), SCGI=1,
 * then the n name/value pairs of kv (kv[2i], kv[2i+1]) in order, then the
 * body. Returns a malloc'd buffer and its length in *out_len. */
char *h_scgi_build(const char *const *kv, size_t n, const void *body,
                   size_t body_len, size_t *out_len);

/* Builds the request with h_scgi_build, sends it with h_raw (no half-close)
 * and asserts the transport succeeded. */
void h_scgi_send(const char *addr, const char *const *kv, size_t n,
                 const void *body, size_t body_len, sw_scgi_response_t *resp);

/* A header of the response (registry-owned) or NULL. */
char *h_header(const sw_scgi_response_t *resp, const char *name);

/* A request running on its own thread. */
typedef struct h_async {
    pthread_t thread;
    char *addr, *method, *uri;
    double timeout;
    sw_scgi_response_t resp;
    int rc;
    char err[256];
    atomic_int done;
} h_async_t;

/* Starts a GET of uri on a new thread (registry-owned handle). */
h_async_t *h_async_get(const char *addr, const char *uri, double timeout);

/* Waits up to timeout seconds for it to finish; 1 when finished (then joined
 * and resp/rc/err valid), 0 otherwise. */
int h_async_wait(h_async_t *a, double timeout);

/* Work on its own thread: fn(arg, stop) runs until it returns; stop is set
 * by h_bg_join (and h_cleanup), for an fn that loops until told. arg must
 * stay valid until h_bg_join. fn may use only what may run off the main
 * thread (see the top of this file). */
typedef struct h_bg h_bg_t;
h_bg_t *h_bg_start(void (*fn)(void *arg, const atomic_int *stop), void *arg);

/* Whether fn has returned. */
int h_bg_done(h_bg_t *b);

/* Sets stop, waits for fn to return and frees b. */
void h_bg_join(h_bg_t *b);

/* ---- HTTP/1.0 client (for nginx) -------------------------------------------- */

typedef struct {
    int status;
    char *head;              /* status line and headers, NUL-terminated */
    char *body;
    size_t body_len;
} h_http_resp_t;

/* One HTTP/1.0 request to 127.0.0.1:port; reads until the server closes.
 * Returns 0, or -1 with err filled. */
int h_http(int port, const char *method, const char *path,
           const char *const *headers, size_t n_headers, const void *body,
           size_t body_len, double timeout, h_http_resp_t *resp, char *err,
           size_t errlen);
void h_http_free(h_http_resp_t *resp);

/* Raw client sockets (any thread: nothing asserts). h_tcp_connect: a
 * connected TCP socket to 127.0.0.1:port, or -1 (errno set). h_send_all:
 * sends every byte; 0, or -1 on error. h_read_all: reads until EOF, a reset
 * or timeout seconds; returns a malloc'd NUL-terminated buffer (caller
 * frees), its length in *len; *eof (may be NULL) is 1 at EOF, 2 at a reset,
 * 0 on timeout. */
int h_tcp_connect(int port);
int h_send_all(int fd, const void *data, size_t len);
char *h_read_all(int fd, double timeout, size_t *len, int *eof);
/* Polls until a TCP connect to 127.0.0.1:port succeeds; 1 on success, 0 on
 * timeout or when p (may be NULL) exited. */
int h_wait_tcp(int port, h_proc_t *p, double timeout);

/* ---- nginx ------------------------------------------------------------------- */

/* A private nginx in front of the tests: daemon off, one worker, its pid,
 * logs and temp files in a fresh directory (dir), server_text (server
 * blocks listening on port) inside its http block. Debian's
 * /etc/nginx/scgi_params, when present, is copied next to its nginx.conf so
 * that "include scgi_params;" works as on a real machine. Asserts that it
 * listens. Callers check first that nginx is installed (h_nginx()). */
typedef struct {
    h_proc_t *proc;
    int port;
    char *dir;
} h_nginx_t;

h_nginx_t h_nginx_start(const char *server_text, int port);

/* Its error log, for failure messages (registry-owned). */
char *h_nginx_log(const h_nginx_t *n);

/* ---- flat JSON ---------------------------------------------------------------- */

/* In a JSON object whose values are strings (what the test apps emit), the
 * value of key, unescaped, as a registry-owned string; NULL when the key is
 * absent, its value is not a string, or the text is not such an object. */
char *h_json_get(const char *json, const char *key);

/* Expects (cr_expect) that the flat JSON has key = want; what names the
 * request in the message. */
void h_expect_json(const char *json, const char *what, const char *key, const char *want);

/* One admin API call on 127.0.0.1:port with "Authorization: Bearer token";
 * asserts the transport succeeded and returns the HTTP status. With out,
 * the body must be JSON: *out gets it (the caller json_decref()s). */
int h_admin_call(int port, const char *token, const char *method, const char *path,
                 json_t **out, double timeout);

/* ---- cleanup ------------------------------------------------------------------ */

/* Stops every process (newest first), removes temp dirs, frees registry
 * strings. Criterion .fini of every suite. A sanitizer report (ASan, UBSan,
 * TSan) in the log of a server not checked by h_server_stop_clean fails the
 * test: Criterion ignores assertions in a .fini, so this goes through a
 * verdict file and a POST_FINI report hook (harness.c). */
void h_cleanup(void);

#endif
